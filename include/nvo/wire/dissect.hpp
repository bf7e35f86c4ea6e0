// File: nvo/wire/dissect.hpp
// dissect(frame): classify an outer Ethernet frame as VXLAN, NVGRE, STT or none,
// validate it the way a receiving tunnel endpoint must, and return the outer
// addresses, the overlay identifiers and the inner frame.
//
//   Ethernet [802.1Q] -> IPv4 | IPv6 -> UDP dst vxlan_port -> VXLAN -> inner Ethernet
//                                    -> GRE proto 0x6558   -> NVGRE -> inner Ethernet
//                                    -> TCP dst 7471       -> STT segment [-> frame header -> inner Ethernet]
//
// Checks, in order of the layers: IPv4 version, IHL, total length and header
// checksum (IPv6: version, payload length, no extension header before the tunnel
// header); no outer fragments; UDP length == IP payload, a non-zero UDP checksum
// verifies (zero accepted over IPv4, over IPv6 only if configured); the tunnel
// header's own rules (see vxlan.hpp, nvgre.hpp, stt.hpp); the TCP checksum of
// STT segments; and an inner Ethernet header present where one must start.
// A frame that is IP but not a tunnel candidate is encapsulation::none.
//
// The UDP/TCP checksum covers the whole segment, so it runs on the dispatched
// SIMD kernel, or not at all when the NIC has verified it (rx_checksum).
#pragma once

#include <cstdint>

#include "nvo/wire/checksum.hpp"
#include "nvo/wire/encapsulation.hpp"
#include "nvo/wire/ethernet.hpp"
#include "nvo/wire/ipv4.hpp"
#include "nvo/wire/ipv6.hpp"
#include "nvo/wire/nvgre.hpp"
#include "nvo/wire/stt.hpp"
#include "nvo/wire/tcp.hpp"
#include "nvo/wire/udp.hpp"
#include "nvo/wire/vxlan.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

struct dissect_options {
  std::uint16_t vxlan_port = vxlan::default_port;
  reserved_bits reserved = reserved_bits::strict;
  // RFC 6935/6936: zero UDP checksums over IPv6 only on ports enabled for it.
  bool accept_zero_udp6_checksum = false;
};

// The receiving NIC's verdict on the outer UDP/TCP checksum, per frame (DPDK's
// RTE_MBUF_F_RX_L4_CKSUM_*, Linux's CHECKSUM_UNNECESSARY). unknown: dissect
// verifies in software; good: trusted, not recomputed (map DPDK's L4_CKSUM_NONE,
// "data verified", here too); bad: dropped as udp_bad_checksum or
// tcp_bad_checksum, as the software check would have. A zero UDP checksum is
// "none transmitted" whatever the NIC says, and is judged by dissect_options.
enum class rx_checksum : std::uint8_t { unknown, good, bad };

struct dissection {
  encapsulation encap = encapsulation::none;
  ethernet::header outer_ethernet{};
  std::uint8_t ip_version = 0;  // 0: the outer frame is not IP
  ip_address outer_src{};
  ip_address outer_dst{};
  std::uint8_t outer_tos = 0;  // IPv4 TOS or IPv6 traffic class (DSCP | ECN)
  std::uint8_t outer_ttl = 0;  // TTL or hop limit
  std::uint16_t src_port = 0;  // UDP (VXLAN) or TCP (STT) ports; 0 for NVGRE
  std::uint16_t dst_port = 0;
  std::uint32_t vni = 0;       // VXLAN
  nvgre::header nvgre{};         // VSID, FlowID
  stt::segment stt{};            // frame length, fragment offset, frame id
  bool has_stt_frame_header = false;
  stt::frame_header stt_frame{};
  // VXLAN/NVGRE: the inner Ethernet frame. STT: the bytes of the STT frame this
  // segment carries, minus the frame header on the first segment, so it starts
  // an inner Ethernet frame exactly when has_stt_frame_header.
  const_bytes inner{};

  [[nodiscard]] constexpr bool inner_starts_frame() const noexcept {
    return encap == encapsulation::vxlan || encap == encapsulation::nvgre || has_stt_frame_header;
  }
};

namespace detail {

// The outer L4 checksum of a tunnel candidate, or the NIC's verdict in its place.
// addresses are the IP source and destination, for the pseudo-header; the
// upper-layer length there equals the IP payload length.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr bool l4_checksum_ok(rx_checksum nic, const_bytes addresses,
                                                             std::uint8_t protocol, const_bytes segment) noexcept {
  if (nic != rx_checksum::unknown) return nic == rx_checksum::good;
  const std::uint64_t pseudo = checksum_accumulate(addresses, protocol + segment.size());
  return checksum_fold(checksum_accumulate_dispatched(segment, pseudo)) == 0xFFFF;
}

// What is behind IPv6 extension headers (next: the first one's type, payload:
// the IPv6 payload). nvo terminates no tunnel behind them (a routing header
// would change the pseudo-header's destination, a fragment holds only part
// of a packet): a tunnel candidate there is refused. Anything else behind
// them is no tunnel, as the MLD behind hop-by-hop options on every IPv6
// underlay is. The walk is bounded; ESP and fragments end it, since what
// follows them cannot be read.
[[nodiscard]] constexpr failure classify_behind_extensions(std::uint8_t next, const_bytes payload,
                                                           const dissect_options& opt) noexcept {
  constexpr int max_headers = 8;
  for (int i = 0; i < max_headers && ipv6::is_extension_header(next); ++i) {
    if (next == ipv6::next_fragment || next == ipv6::next_esp) return errc::ipv6_extension_header_unsupported;
    if (payload.size() < 8) return errc::truncated;
    const std::size_t units = load_u8(payload, 1);
    const std::size_t length = next == ipv6::next_ah ? (units + 2) * 4 : (units + 1) * 8;  // RFC 4302 2.2, RFC 8200 4
    if (length > payload.size()) return errc::truncated;
    next = load_u8(payload, 0);
    payload = payload.subspan(length);
  }
  if (ipv6::is_extension_header(next)) return errc::ipv6_extension_header_unsupported;
  const std::uint16_t word1 = payload.size() >= 4 ? load_be16(payload, 2) : 0;  // UDP/TCP dst port, GRE protocol
  const bool candidate = (next == ipv4::protocol_udp && word1 == opt.vxlan_port) ||
                         (next == ipv4::protocol_gre && word1 == nvgre::protocol) ||
                         (next == ipv4::protocol_tcp && word1 == stt::default_port);
  if (candidate) return errc::ipv6_extension_header_unsupported;
  return std::nullopt;
}

// The layers fill one dissection in place and report only an error: passing
// and returning the 136-byte dissection by value cost more than the parsing.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr failure dissect_vxlan(dissection& d, const_bytes udp_payload,
                                                                const dissect_options& opt) noexcept {
  auto vx = vxlan::parse(udp_payload, opt.reserved);  // non-const: see dissect() below
  if (!vx) return vx.error();
  d.encap = encapsulation::vxlan;
  d.vni = vx->vni;
  d.inner = udp_payload.subspan(vxlan::header_size);
  if (d.inner.size() < ethernet::header_size) return errc::inner_truncated;
  return std::nullopt;
}

[[nodiscard]] NVO_ALWAYS_INLINE constexpr failure dissect_nvgre(dissection& d, const_bytes ip_payload,
                                                                const dissect_options& opt) noexcept {
  // Only TEB makes GRE an NVGRE candidate; other GRE (PPTP's version 1, IP in
  // GRE) is plain traffic whose flags NVGRE's rules do not judge.
  if (ip_payload.size() >= gre::base_header_size && load_be16(ip_payload, 2) != nvgre::protocol) return std::nullopt;
  if (const auto error = nvgre::detail::parse_into(ip_payload, opt.reserved, d.nvgre)) return error;
  d.inner = ip_payload.subspan(nvgre::header_size);
  if (const auto error = nvgre::detail::check_inner(d.inner)) return error;
  d.encap = encapsulation::nvgre;
  return std::nullopt;
}

[[nodiscard]] NVO_ALWAYS_INLINE constexpr failure dissect_stt(dissection& d, const_bytes ip_payload,
                                                              const_bytes addresses, const dissect_options& opt,
                                                              rx_checksum nic) noexcept {
  // The caller checked the length and read the ports; tcp::parse would add
  // only the data offset check.
  if ((load_u8(ip_payload, 12) >> 4) != 5) return errc::tcp_bad_data_offset;
  if (!l4_checksum_ok(nic, addresses, ipv4::protocol_tcp, ip_payload)) return errc::tcp_bad_checksum;
  const std::uint32_t seq = load_be32(ip_payload, 4);
  d.stt.src_port = d.src_port;
  d.stt.dst_port = d.dst_port;
  d.stt.frame_length = static_cast<std::uint16_t>(seq >> 16);
  d.stt.fragment_offset = static_cast<std::uint16_t>(seq);
  d.stt.frame_id = load_be32(ip_payload, 8);
  if (const auto error = stt::detail::segment_error(d.stt, ip_payload.size() - tcp::header_size)) return error;
  d.encap = encapsulation::stt;
  d.inner = ip_payload.subspan(tcp::header_size);
  if (d.stt.carries_frame_header()) {
    if (const auto error = stt::detail::parse_frame_header_into(d.inner, opt.reserved, d.stt_frame)) return error;
    d.has_stt_frame_header = true;
    d.inner = d.inner.subspan(stt::frame_header_size);
    if (d.inner.size() < ethernet::header_size) return errc::inner_truncated;
  }
  return std::nullopt;
}

[[nodiscard]] NVO_ALWAYS_INLINE constexpr failure dissect_into(dissection& d, const_bytes frame,
                                                              const dissect_options& opt, rx_checksum nic) noexcept {
  // The MACs go straight into d and the EtherType stays in a register:
  // reading it back from d would wait on store forwarding at the head of
  // every frame, and a local header copied into d is a 16-byte load over its
  // narrow stores.
  if (frame.size() < ethernet::header_size) return errc::truncated;
  ethernet::header& oe = d.outer_ethernet;
  load_raw(frame, 0, oe.dst.octets);
  load_raw(frame, 6, oe.src.octets);
  std::uint16_t ethertype = load_be16(frame, 12);
  std::size_t l2 = ethernet::header_size;
  if (ethertype == ethernet::ethertype_vlan) {
    if (frame.size() < ethernet::header_size + ethernet::vlan_tag_size) return errc::truncated;
    oe.has_vlan = true;
    oe.vlan_tci = load_be16(frame, 14);
    ethertype = load_be16(frame, 16);
    l2 += ethernet::vlan_tag_size;
  }
  oe.ethertype = ethertype;
  const_bytes l3 = frame.subspan(l2);

  const_bytes l4;
  std::uint8_t protocol = 0;
  const_bytes addresses;  // source and destination, for the pseudo-header sum (l4_checksum_ok)
  // The IP fields go straight from the packet into d: building a parsed header
  // and copying it over stalls on store forwarding.
  if (ethertype == ethernet::ethertype_ipv4) {
    if (const auto error = ipv4::detail::check(l3)) return error;
    d.ip_version = 4;
    d.outer_src.version = 4;
    d.outer_dst.version = 4;
    load_raw(l3, 12, d.outer_src.octets, 4);
    load_raw(l3, 16, d.outer_dst.octets, 4);
    d.outer_tos = load_u8(l3, 1);
    d.outer_ttl = load_u8(l3, 8);
    protocol = load_u8(l3, 9);
    const std::size_t header_length = std::size_t{load_u8(l3, 0) & 0x0Fu} * 4;
    l4 = l3.subspan(header_length, load_be16(l3, 2) - header_length);
    const bool candidate =
        protocol == ipv4::protocol_udp || protocol == ipv4::protocol_gre || protocol == ipv4::protocol_tcp;
    const bool fragment = (load_be16(l3, 6) & (ipv4::flag_more_fragments | ipv4::fragment_offset_mask)) != 0;
    if (candidate && fragment) return errc::ipv4_fragment;
    addresses = l3.subspan(12, 8);
  } else if (ethertype == ethernet::ethertype_ipv6) {
    if (const auto error = ipv6::detail::check(l3)) return error;
    d.ip_version = 6;
    d.outer_src.version = 6;
    d.outer_dst.version = 6;
    load_raw(l3, 8, d.outer_src.octets);
    load_raw(l3, 24, d.outer_dst.octets);
    d.outer_tos = static_cast<std::uint8_t>(load_be16(l3, 0) >> 4);
    d.outer_ttl = load_u8(l3, 7);
    protocol = load_u8(l3, 6);
    l4 = l3.subspan(ipv6::header_size, load_be16(l3, 4));
    if (ipv6::is_extension_header(protocol)) return classify_behind_extensions(protocol, l4, opt);
    addresses = l3.subspan(8, 32);
  } else {
    return std::nullopt;  // not IP: no tunnel
  }
  if (protocol == ipv4::protocol_udp) {
    if (l4.size() < udp::header_size) return errc::truncated;
    d.src_port = load_be16(l4, 0);
    d.dst_port = load_be16(l4, 2);
    if (d.dst_port != opt.vxlan_port) return std::nullopt;
    if (const auto error = udp::detail::check(l4)) return error;
    if (load_be16(l4, 6) == 0) {
      if (d.ip_version == 6 && !opt.accept_zero_udp6_checksum) return errc::udp_zero_checksum_ipv6;
    } else if (!detail::l4_checksum_ok(nic, addresses, protocol, l4)) {
      return errc::udp_bad_checksum;
    }
    return detail::dissect_vxlan(d, l4.subspan(udp::header_size), opt);
  }
  if (protocol == ipv4::protocol_gre) return detail::dissect_nvgre(d, l4, opt);
  if (protocol == ipv4::protocol_tcp) {
    if (l4.size() < tcp::header_size) return errc::truncated;
    d.src_port = load_be16(l4, 0);
    d.dst_port = load_be16(l4, 2);
    if (d.dst_port != stt::default_port) return std::nullopt;
    return detail::dissect_stt(d, l4, addresses, opt, nic);
  }
  return std::nullopt;
}

}  // namespace detail

// Always inlined into the caller's loop with every layer below it, as
// hand-written decap code is (benchmarks/wire_benchmark.cpp compares the two):
// a layer left out of line takes the dissection's address and keeps it in
// memory. In a hot loop bind the result to a non-const local,
// `auto d = dissect(frame)`: g++ 12's SRA pass skips read-only objects, so a
// const one stays in memory.
// nic: the receiving NIC's verdict on the outer UDP/TCP checksum, if it gave one.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr result<dissection> dissect(const_bytes frame, const dissect_options& opt = {},
                                                                   rx_checksum nic = rx_checksum::unknown) noexcept {
  // Filled in place and returned by name (NRVO) on every path.
  result<dissection> out{dissection{}};
  if (const auto error = detail::dissect_into(*out, frame, opt, nic)) out = *error;
  return out;
}

}  // namespace wire
NVO_END_NAMESPACE
