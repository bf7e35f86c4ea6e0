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
#pragma once

#include <string_view>

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

enum class encapsulation : std::uint8_t { none, vxlan, nvgre, stt };

[[nodiscard]] constexpr std::string_view to_string(encapsulation e) noexcept {
  switch (e) {
    case encapsulation::vxlan:
      return "vxlan";
    case encapsulation::nvgre:
      return "nvgre";
    case encapsulation::stt:
      return "stt";
    case encapsulation::none:
      break;
  }
  return "none";
}

struct dissect_options {
  std::uint16_t vxlan_port = vxlan::default_port;
  reserved_bits reserved = reserved_bits::strict;
  // RFC 6935/6936: zero UDP checksums over IPv6 only on ports enabled for it.
  bool accept_zero_udp6_checksum = false;
};

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

[[nodiscard]] constexpr result<dissection> dissect_vxlan(dissection d, const_bytes udp_payload,
                                                         const dissect_options& opt) noexcept {
  const auto vx = vxlan::parse(udp_payload, opt.reserved);
  if (!vx) return vx.error();
  d.encap = encapsulation::vxlan;
  d.vni = vx->vni;
  d.inner = udp_payload.subspan(vxlan::header_size);
  if (d.inner.size() < ethernet::header_size) return errc::inner_truncated;
  return d;
}

[[nodiscard]] constexpr result<dissection> dissect_nvgre(dissection d, const_bytes ip_payload,
                                                         const dissect_options& opt) noexcept {
  // Only TEB makes GRE an NVGRE candidate; other GRE (PPTP's version 1, IP in
  // GRE) is plain traffic whose flags NVGRE's rules do not judge.
  if (ip_payload.size() >= gre::base_header_size && load_be16(ip_payload, 2) != nvgre::protocol) return d;
  const auto g = gre::parse(ip_payload, opt.reserved);
  if (!g) return g.error();
  const auto nv = nvgre::from_gre(*g);
  if (!nv) return nv.error();
  d.inner = ip_payload.subspan(g->size());
  if (const auto inner = nvgre::parse_inner(d.inner); !inner) return inner.error();
  d.encap = encapsulation::nvgre;
  d.nvgre = *nv;
  return d;
}

[[nodiscard]] constexpr result<dissection> dissect_stt(dissection d, const_bytes ip_payload, std::uint64_t pseudo,
                                                       const dissect_options& opt) noexcept {
  const auto t = tcp::parse(ip_payload);
  if (!t) return t.error();
  if (!tcp::checksum_ok(pseudo, ip_payload)) return errc::tcp_bad_checksum;
  const auto seg = stt::check_segment(stt::segment_of(*t), ip_payload.size() - tcp::header_size);
  if (!seg) return seg.error();
  d.encap = encapsulation::stt;
  d.stt = *seg;
  d.inner = ip_payload.subspan(tcp::header_size);
  if (seg->carries_frame_header()) {
    const auto fh = stt::parse_frame_header(d.inner, opt.reserved);
    if (!fh) return fh.error();
    d.has_stt_frame_header = true;
    d.stt_frame = *fh;
    d.inner = d.inner.subspan(stt::frame_header_size);
    if (d.inner.size() < ethernet::header_size) return errc::inner_truncated;
  }
  return d;
}

}  // namespace detail

[[nodiscard]] constexpr result<dissection> dissect(const_bytes frame, const dissect_options& opt = {}) noexcept {
  dissection d;
  const auto eth = ethernet::parse(frame);
  if (!eth) return eth.error();
  d.outer_ethernet = *eth;
  const_bytes l3 = frame.subspan(eth->size());

  const_bytes l4;
  std::uint8_t protocol = 0;
  std::uint64_t pseudo = 0;  // pseudo-header sum without the length
  if (eth->ethertype == ethernet::ethertype_ipv4) {
    const auto ip = ipv4::parse(l3);
    if (!ip) return ip.error();
    d.ip_version = 4;
    d.outer_src = ip->src;
    d.outer_dst = ip->dst;
    d.outer_tos = ip->tos;
    d.outer_ttl = ip->ttl;
    protocol = ip->protocol;
    l4 = l3.subspan(ip->size(), ip->payload_length());
    const bool candidate =
        protocol == ipv4::protocol_udp || protocol == ipv4::protocol_gre || protocol == ipv4::protocol_tcp;
    if (candidate && ip->is_fragment()) return errc::ipv4_fragment;
    pseudo = pseudo_header_sum(ip->src, ip->dst, protocol, 0);
  } else if (eth->ethertype == ethernet::ethertype_ipv6) {
    const auto ip = ipv6::parse(l3);
    if (!ip) return ip.error();
    d.ip_version = 6;
    d.outer_src = ip->src;
    d.outer_dst = ip->dst;
    d.outer_tos = ip->traffic_class;
    d.outer_ttl = ip->hop_limit;
    protocol = ip->next_header;
    if (ipv6::is_extension_header(protocol)) return errc::ipv6_extension_header_unsupported;
    l4 = l3.subspan(ipv6::header_size, ip->payload_length);
    pseudo = pseudo_header_sum(ip->src, ip->dst, protocol, 0);
  } else {
    return d;  // not IP: no tunnel
  }
  pseudo += l4.size();  // the upper-layer length, equal to the IP payload length here

  if (protocol == ipv4::protocol_udp) {
    if (l4.size() < udp::header_size) return errc::truncated;
    d.src_port = load_be16(l4, 0);
    d.dst_port = load_be16(l4, 2);
    if (d.dst_port != opt.vxlan_port) return d;
    const auto u = udp::parse(l4);
    if (!u) return u.error();
    if (u->checksum == 0) {
      if (d.ip_version == 6 && !opt.accept_zero_udp6_checksum) return errc::udp_zero_checksum_ipv6;
    } else if (!udp::checksum_ok(pseudo, l4)) {
      return errc::udp_bad_checksum;
    }
    return detail::dissect_vxlan(d, l4.subspan(udp::header_size), opt);
  }
  if (protocol == ipv4::protocol_gre) return detail::dissect_nvgre(d, l4, opt);
  if (protocol == ipv4::protocol_tcp) {
    if (l4.size() < tcp::header_size) return errc::truncated;
    d.src_port = load_be16(l4, 0);
    d.dst_port = load_be16(l4, 2);
    if (d.dst_port != stt::default_port) return d;
    return detail::dissect_stt(d, l4, pseudo, opt);
  }
  return d;
}

}  // namespace wire
NVO_END_NAMESPACE
