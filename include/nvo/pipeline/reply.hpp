// File: nvo/pipeline/reply.hpp
// Frames the pipeline builds itself, towards the tenant:
//   - ARP replies (RFC 826) and Neighbor Advertisements (RFC 4861 4.4, 7.2.4)
//     that answer, with the CA MAC, a tenant's ARP request or Neighbor
//     Solicitation for a CA the HNV table knows (so it is never flooded);
//   - ICMPv4 "fragmentation needed" (RFC 792, RFC 1191) and ICMPv6 "packet
//     too big" (RFC 4443 3.2) back to the sender of an inner packet the
//     underlay MTU cannot carry, which OVS users otherwise never get.
// Every builder reads a tenant frame (untrusted: each length is checked) and
// writes a complete frame into a caller's buffer, returning its size.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "nvo/base/address.hpp"
#include "nvo/base/byte_order.hpp"
#include "nvo/base/checksum.hpp"
#include "nvo/base/protocol.hpp"
#include "nvo/config.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace pipeline {

namespace arp {
inline constexpr std::size_t packet_size = 28;  // Ethernet/IPv4 ARP
inline constexpr std::uint16_t op_request = 1;
inline constexpr std::uint16_t op_reply = 2;
}  // namespace arp

namespace nd {
inline constexpr std::uint8_t protocol_icmpv6 = 58;
inline constexpr std::uint8_t type_neighbor_solicitation = 135;
inline constexpr std::uint8_t type_neighbor_advertisement = 136;
inline constexpr std::uint8_t option_source_link_layer = 1;
inline constexpr std::uint8_t option_target_link_layer = 2;
inline constexpr std::uint32_t flag_solicited = 0x40000000;
inline constexpr std::uint32_t flag_override = 0x20000000;
inline constexpr std::size_t advertisement_size = 24 + 8;  // with a target link-layer option
}  // namespace nd

namespace icmp {
inline constexpr std::uint8_t protocol_icmp = 1;
inline constexpr std::uint8_t type_unreachable = 3;
inline constexpr std::uint8_t code_fragmentation_needed = 4;
inline constexpr std::uint8_t type6_packet_too_big = 2;
inline constexpr std::size_t max_ipv4_error = 576;   // RFC 1812 4.3.2.3: the error datagram at most 576 bytes
inline constexpr std::size_t max_ipv6_error = 1280;  // RFC 4443 2.4(c): at most the minimum IPv6 MTU
}  // namespace icmp

// The start of a tenant frame's L3 header, after at most one 802.1Q tag.
struct inner_l2 {
  std::size_t l3_offset = 0;
  std::uint16_t ethertype = 0;
};
[[nodiscard]] constexpr std::optional<inner_l2> parse_inner_l2(wire::const_bytes frame) noexcept {
  namespace eth = wire::ethernet;
  if (frame.size() < eth::header_size) return std::nullopt;
  std::uint16_t type = wire::load_be16(frame, 12);
  std::size_t off = eth::header_size;
  if (type == eth::ethertype_vlan) {
    if (frame.size() < eth::header_size + eth::vlan_tag_size) return std::nullopt;
    type = wire::load_be16(frame, 16);
    off += eth::vlan_tag_size;
  }
  return inner_l2{off, type};
}

// What an ARP request or a Neighbor Solicitation asks for: the target CA.
// nullopt for anything else, or a malformed one.
[[nodiscard]] constexpr std::optional<wire::ip_address> resolution_target(wire::const_bytes frame) noexcept {
  const auto l2 = parse_inner_l2(frame);
  if (!l2) return std::nullopt;
  const auto l3 = frame.subspan(l2->l3_offset);
  if (l2->ethertype == wire::ethernet::ethertype_arp) {
    if (l3.size() < arp::packet_size) return std::nullopt;
    if (wire::load_be32(l3, 0) != 0x00010800u || wire::load_be16(l3, 4) != 0x0604u ||
        wire::load_be16(l3, 6) != arp::op_request)
      return std::nullopt;
    return wire::ipv4_address::from_u32(wire::load_be32(l3, 24));
  }
  if (l2->ethertype == wire::ethernet::ethertype_ipv6) {
    // RFC 4861 7.1.1: hop limit 255, ICMPv6 code 0, length >= 24, checksum valid.
    if (l3.size() < wire::ipv6::header_size + 24 || (wire::load_u8(l3, 0) >> 4) != 6) return std::nullopt;
    const std::size_t payload = wire::load_be16(l3, 4);
    if (wire::load_u8(l3, 6) != nd::protocol_icmpv6 || wire::load_u8(l3, 7) != 255 || payload < 24 ||
        wire::ipv6::header_size + payload > l3.size())
      return std::nullopt;
    const auto msg = l3.subspan(wire::ipv6::header_size, payload);
    if (wire::load_u8(msg, 0) != nd::type_neighbor_solicitation || wire::load_u8(msg, 1) != 0) return std::nullopt;
    const std::uint64_t pseudo = wire::checksum_accumulate(l3.subspan(8, 32), nd::protocol_icmpv6 + payload);
    if (wire::checksum_fold(wire::checksum_accumulate(msg, pseudo)) != 0xFFFF) return std::nullopt;
    wire::ipv6_address target;
    wire::load_raw(msg, 8, target.octets);
    return target;
  }
  return std::nullopt;
}

namespace detail {
// The reply's Ethernet header: back to the requester, from ca_mac, with the
// request's 802.1Q tag if it had one. Returns the L3 offset.
constexpr std::size_t reply_ethernet(wire::const_bytes request, const wire::mac_address& from, std::size_t l3_offset,
                                     wire::bytes out) noexcept {
  for (std::size_t i = 0; i < 6; ++i) {
    out[i] = request[6 + i];
    out[6 + i] = static_cast<std::byte>(from.octets[i]);
  }
  for (std::size_t i = 12; i < l3_offset; ++i) out[i] = request[i];
  return l3_offset;
}
}  // namespace detail

// build_resolution_reply(): the ARP reply or Neighbor Advertisement that
// answers request (for which resolution_target() gave a value) with ca_mac.
// PRECONDITION: resolution_target(request) has a value.
[[nodiscard]] constexpr wire::result<std::size_t> build_resolution_reply(wire::const_bytes request,
                                                                         const wire::mac_address& ca_mac,
                                                                         wire::bytes out) noexcept {
  const auto l2 = parse_inner_l2(request);
  NVO_ASSERT(l2.has_value());
  const std::size_t l3 = l2->l3_offset;
  const auto rq = request.subspan(l3);
  if (l2->ethertype == wire::ethernet::ethertype_arp) {
    const std::size_t n = l3 + arp::packet_size;
    if (out.size() < n) return wire::errc::output_too_small;
    detail::reply_ethernet(request, ca_mac, l3, out);
    wire::store_be32(out, l3, 0x00010800u);
    wire::store_be16(out, l3 + 4, 0x0604u);
    wire::store_be16(out, l3 + 6, arp::op_reply);
    for (std::size_t i = 0; i < 6; ++i) out[l3 + 8 + i] = static_cast<std::byte>(ca_mac.octets[i]);  // sender: the CA
    for (std::size_t i = 0; i < 4; ++i) out[l3 + 14 + i] = rq[24 + i];                                // its IP
    for (std::size_t i = 0; i < 10; ++i) out[l3 + 18 + i] = rq[8 + i];  // target: the requester's MAC and IP
    return n;
  }
  // Neighbor Advertisement: from the target address to the solicitation's
  // source (all-nodes when that was unspecified, 7.2.4), Solicited (unless to
  // all-nodes) and Override, with the target link-layer option.
  const std::size_t n = l3 + wire::ipv6::header_size + nd::advertisement_size;
  if (out.size() < n) return wire::errc::output_too_small;
  detail::reply_ethernet(request, ca_mac, l3, out);
  bool unspecified = true;
  for (std::size_t i = 0; i < 16; ++i) unspecified = unspecified && rq[8 + i] == std::byte{0};
  wire::store_be32(out, l3, 0x60000000u);
  wire::store_be16(out, l3 + 4, nd::advertisement_size);
  wire::store_u8(out, l3 + 6, nd::protocol_icmpv6);
  wire::store_u8(out, l3 + 7, 255);
  const auto msg_in = rq.subspan(wire::ipv6::header_size);
  for (std::size_t i = 0; i < 16; ++i) out[l3 + 8 + i] = msg_in[8 + i];  // source: the target address
  if (unspecified) {
    for (std::size_t i = 0; i < 16; ++i) out[l3 + 24 + i] = std::byte{0};  // ff02::1, all-nodes
    out[l3 + 24] = std::byte{0xff};
    out[l3 + 25] = std::byte{0x02};
    out[l3 + 39] = std::byte{0x01};
    for (std::size_t i = 0; i < 6; ++i) out[i] = std::byte{0};  // 33:33:00:00:00:01
    out[0] = out[1] = std::byte{0x33};
    out[5] = std::byte{0x01};
  } else {
    for (std::size_t i = 0; i < 16; ++i) out[l3 + 24 + i] = rq[8 + i];
  }
  const std::size_t m = l3 + wire::ipv6::header_size;
  wire::store_u8(out, m, nd::type_neighbor_advertisement);
  wire::store_u8(out, m + 1, 0);
  wire::store_be16(out, m + 2, 0);
  wire::store_be32(out, m + 4, (unspecified ? 0 : nd::flag_solicited) | nd::flag_override);
  for (std::size_t i = 0; i < 16; ++i) out[m + 8 + i] = msg_in[8 + i];
  wire::store_u8(out, m + 24, nd::option_target_link_layer);
  wire::store_u8(out, m + 25, 1);  // length in units of 8 bytes
  for (std::size_t i = 0; i < 6; ++i) out[m + 26 + i] = static_cast<std::byte>(ca_mac.octets[i]);
  const std::uint64_t pseudo =
      wire::checksum_accumulate(wire::const_bytes(out.data() + l3 + 8, 32), nd::protocol_icmpv6 + nd::advertisement_size);
  wire::store_be16(out, m + 2,
                   wire::checksum_finalize(wire::checksum_accumulate(out.subspan(m, nd::advertisement_size), pseudo)));
  return n;
}

// build_too_big(): the ICMP message that tells the sender of the inner IP
// packet in `frame` that at most `mtu` bytes fit. As Linux's bridged tunnels
// do (iptunnel_pmtud_build_icmp), the message comes from the packet's
// destination, with the MACs swapped, and quotes as much of the packet as the
// ICMP rules allow. Refused (field_out_of_range) for non-IP frames, ICMP error
// messages (RFC 1122 3.2.2, RFC 4443 2.4(e)) and multicast or broadcast sources.
[[nodiscard]] constexpr wire::result<std::size_t> build_too_big(wire::const_bytes frame, std::uint16_t mtu,
                                                                wire::bytes out) noexcept {
  const auto l2 = parse_inner_l2(frame);
  if (!l2) return wire::errc::inner_truncated;
  if (wire::load_u8(frame, 6) & 0x01) return wire::errc::field_out_of_range;
  const std::size_t l3 = l2->l3_offset;
  const auto pkt = frame.subspan(l3);
  const auto copy_ethernet = [&] {
    for (std::size_t i = 0; i < 6; ++i) {
      out[i] = frame[6 + i];
      out[6 + i] = frame[i];
    }
    for (std::size_t i = 12; i < l3; ++i) out[i] = frame[i];
  };
  if (l2->ethertype == wire::ethernet::ethertype_ipv4) {
    if (pkt.size() < wire::ipv4::min_header_size || (wire::load_u8(pkt, 0) >> 4) != 4) return wire::errc::truncated;
    const std::size_t ihl = std::size_t{wire::load_u8(pkt, 0) & 0x0Fu} * 4;
    if (ihl < wire::ipv4::min_header_size || ihl > pkt.size()) return wire::errc::ipv4_bad_header_length;
    if ((wire::load_u8(pkt, 12) & 0xF0) == 0xE0 || wire::load_be32(pkt, 12) == 0xFFFFFFFFu)
      return wire::errc::field_out_of_range;
    if (wire::load_u8(pkt, 9) == icmp::protocol_icmp && ihl + 1 <= pkt.size()) {
      const std::uint8_t type = wire::load_u8(pkt, ihl);
      if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) return wire::errc::field_out_of_range;
    }
    const std::size_t quoted =
        std::min({pkt.size(), std::size_t{wire::load_be16(pkt, 2)}, icmp::max_ipv4_error - wire::ipv4::min_header_size - 8});
    const std::size_t n = l3 + wire::ipv4::min_header_size + 8 + quoted;
    if (out.size() < n) return wire::errc::output_too_small;
    copy_ethernet();
    const auto ip = out.subspan(l3);
    wire::store_u8(ip, 0, 0x45);
    wire::store_u8(ip, 1, 0xC0);  // DSCP CS6, as ICMP from routers
    wire::store_be16(ip, 2, static_cast<std::uint16_t>(wire::ipv4::min_header_size + 8 + quoted));
    wire::store_be32(ip, 4, 0);
    wire::store_u8(ip, 8, 64);
    wire::store_u8(ip, 9, icmp::protocol_icmp);
    wire::store_be16(ip, 10, 0);
    for (std::size_t i = 0; i < 4; ++i) {
      ip[12 + i] = pkt[16 + i];
      ip[16 + i] = pkt[12 + i];
    }
    wire::store_be16(ip, 10, wire::checksum_finalize(wire::checksum_accumulate(ip.first(wire::ipv4::min_header_size))));
    const auto msg = ip.subspan(wire::ipv4::min_header_size);
    wire::store_u8(msg, 0, icmp::type_unreachable);
    wire::store_u8(msg, 1, icmp::code_fragmentation_needed);
    wire::store_be16(msg, 2, 0);
    wire::store_be16(msg, 4, 0);
    wire::store_be16(msg, 6, mtu);
    for (std::size_t i = 0; i < quoted; ++i) msg[8 + i] = pkt[i];
    wire::store_be16(msg, 2, wire::checksum_finalize(wire::checksum_accumulate(msg.first(8 + quoted))));
    return n;
  }
  if (l2->ethertype == wire::ethernet::ethertype_ipv6) {
    if (pkt.size() < wire::ipv6::header_size || (wire::load_u8(pkt, 0) >> 4) != 6) return wire::errc::truncated;
    if (wire::load_u8(pkt, 8) == 0xFF) return wire::errc::field_out_of_range;  // multicast source
    if (wire::load_u8(pkt, 6) == nd::protocol_icmpv6 && pkt.size() > wire::ipv6::header_size &&
        wire::load_u8(pkt, wire::ipv6::header_size) < 128)
      return wire::errc::field_out_of_range;
    const std::size_t quoted =
        std::min({pkt.size(), wire::ipv6::header_size + wire::load_be16(pkt, 4), icmp::max_ipv6_error - wire::ipv6::header_size - 8});
    const std::size_t n = l3 + wire::ipv6::header_size + 8 + quoted;
    if (out.size() < n) return wire::errc::output_too_small;
    copy_ethernet();
    const auto ip = out.subspan(l3);
    wire::store_be32(ip, 0, 0x60000000u);
    wire::store_be16(ip, 4, static_cast<std::uint16_t>(8 + quoted));
    wire::store_u8(ip, 6, nd::protocol_icmpv6);
    wire::store_u8(ip, 7, 64);
    for (std::size_t i = 0; i < 16; ++i) {
      ip[8 + i] = pkt[24 + i];
      ip[24 + i] = pkt[8 + i];
    }
    const auto msg = ip.subspan(wire::ipv6::header_size);
    wire::store_u8(msg, 0, icmp::type6_packet_too_big);
    wire::store_u8(msg, 1, 0);
    wire::store_be16(msg, 2, 0);
    wire::store_be32(msg, 4, mtu);
    for (std::size_t i = 0; i < quoted; ++i) msg[8 + i] = pkt[i];
    const std::uint64_t pseudo = wire::checksum_accumulate(ip.subspan(8, 32), nd::protocol_icmpv6 + 8 + quoted);
    wire::store_be16(msg, 2, wire::checksum_finalize(wire::checksum_accumulate(msg.first(8 + quoted), pseudo)));
    return n;
  }
  return wire::errc::field_out_of_range;
}

}  // namespace pipeline
NVO_END_NAMESPACE
