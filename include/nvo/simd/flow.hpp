// File: nvo/simd/flow.hpp
// Flow keys from an inner Ethernet frame, flow hashes over them, and the entropy
// fields overlays carry: the VXLAN UDP source port (RFC 7348 5: a hash of the inner
// headers, in the dynamic range 49152-65535 by default), the 8-bit NVGRE FlowID
// (RFC 7637 3.2) and the 16-bit STT source port.
//
// Extraction reads only the fields it needs and never fails: IPv4/IPv6 TCP/UDP
// give the 5-tuple; other L3 protocols, IPv4 fragments and IPv6 packets behind
// extension headers give addresses and protocol; non-IP (or malformed IP) frames
// give MAC addresses and EtherType; a frame shorter than an Ethernet header gives
// flow_kind::none.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "nvo/base/address.hpp"
#include "nvo/base/byte_order.hpp"
#include "nvo/base/protocol.hpp"
#include "nvo/simd/crc32c.hpp"
#include "nvo/simd/toeplitz.hpp"

NVO_BEGIN_NAMESPACE
namespace simd {

enum class flow_kind : std::uint8_t { none, l2, ipv4, ipv6 };

struct flow_key {
  flow_kind kind = flow_kind::none;
  std::uint8_t protocol = 0;    // IP protocol / next header (ipv4, ipv6)
  bool has_ports = false;       // TCP or UDP with the ports present
  std::uint16_t ethertype = 0;  // after one 802.1Q tag
  std::uint16_t src_port = 0, dst_port = 0;
  wire::ip_address src_ip{}, dst_ip{};
  wire::mac_address src_mac{}, dst_mac{};
  friend constexpr bool operator==(const flow_key&, const flow_key&) = default;
};

namespace detail {
// TCP/UDP source << 16 | destination, or 0.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint32_t ports_of(std::uint8_t protocol, wire::const_bytes l4) noexcept {
  return (protocol == wire::ipv4::protocol_tcp || protocol == wire::ipv4::protocol_udp) && l4.size() >= 4
             ? wire::load_be32(l4, 0)
             : 0;
}
constexpr void read_ports(flow_key& k, wire::const_bytes l4) noexcept {
  if ((k.protocol == wire::ipv4::protocol_tcp || k.protocol == wire::ipv4::protocol_udp) && l4.size() >= 4) {
    k.has_ports = true;
    k.src_port = wire::load_be16(l4, 0);
    k.dst_port = wire::load_be16(l4, 2);
  }
}
}  // namespace detail

[[nodiscard]] constexpr flow_key extract_flow_key(wire::const_bytes frame) noexcept {
  namespace ethernet = wire::ethernet;
  flow_key k;
  // The Ethernet header and one 802.1Q tag, read as wire::ethernet::parse does.
  if (frame.size() < ethernet::header_size) return k;
  std::size_t l3_offset = ethernet::header_size;
  std::uint16_t ethertype = wire::load_be16(frame, 12);
  if (ethertype == ethernet::ethertype_vlan) {
    l3_offset += ethernet::vlan_tag_size;
    if (frame.size() < l3_offset) return k;
    ethertype = wire::load_be16(frame, 16);
  }
  k.kind = flow_kind::l2;
  wire::load_raw(frame, 0, k.dst_mac.octets);
  wire::load_raw(frame, 6, k.src_mac.octets);
  k.ethertype = ethertype;
  const auto l3 = frame.subspan(l3_offset);
  if (ethertype == ethernet::ethertype_ipv4 && l3.size() >= wire::ipv4::min_header_size &&
      (wire::load_u8(l3, 0) >> 4) == 4) {
    const std::size_t ihl = std::size_t{wire::load_u8(l3, 0) & 0x0Fu} * 4;
    if (ihl < wire::ipv4::min_header_size || ihl > l3.size()) return k;
    k.kind = flow_kind::ipv4;
    k.protocol = wire::load_u8(l3, 9);
    k.src_ip = wire::ipv4_address::from_u32(wire::load_be32(l3, 12));
    k.dst_ip = wire::ipv4_address::from_u32(wire::load_be32(l3, 16));
    // Only the first fragment carries ports; hashing them would split the flow.
    if ((wire::load_be16(l3, 6) & 0x3FFFu) == 0) detail::read_ports(k, l3.subspan(ihl));
  } else if (ethertype == ethernet::ethertype_ipv6 && l3.size() >= wire::ipv6::header_size &&
             (wire::load_u8(l3, 0) >> 4) == 6) {
    k.kind = flow_kind::ipv6;
    k.protocol = wire::load_u8(l3, 6);
    wire::ipv6_address s{}, d{};
    wire::load_raw(l3, 8, s.octets);
    wire::load_raw(l3, 24, d.octets);
    k.src_ip = s;
    k.dst_ip = d;
    detail::read_ports(k, l3.subspan(wire::ipv6::header_size));
  }
  return k;
}

// Toeplitz over the key's RSS input (addresses, plus ports when present); L2 keys
// hash MACs and EtherType the same way so every frame gets entropy.
[[nodiscard]] inline std::uint32_t flow_hash_toeplitz(const toeplitz_key& key, const flow_key& k,
                                                      rss_direction dir = rss_direction::as_is) noexcept {
  const rss_fields f = k.has_ports ? rss_fields::addresses_ports : rss_fields::addresses;
  switch (k.kind) {
    case flow_kind::ipv4:
      return toeplitz(key, ipv4_tuple{k.src_ip.v4(), k.dst_ip.v4(), k.src_port, k.dst_port}, f, dir);
    case flow_kind::ipv6:
      return toeplitz(key, ipv6_tuple{k.src_ip.v6(), k.dst_ip.v6(), k.src_port, k.dst_port}, f, dir);
    case flow_kind::l2: {
      std::array<std::byte, 14> in{};
      for (std::size_t i = 0; i < 6; ++i) {
        in[i] = static_cast<std::byte>(k.src_mac.octets[i]);
        in[6 + i] = static_cast<std::byte>(k.dst_mac.octets[i]);
      }
      in[12] = static_cast<std::byte>(k.ethertype >> 8);
      in[13] = static_cast<std::byte>(k.ethertype);
      return toeplitz(key, in);
    }
    case flow_kind::none: break;
  }
  return 0;
}

// CRC-32C over the key's fields: the cheap software flow hash (no NIC RSS to match).
[[nodiscard]] inline std::uint32_t flow_hash_crc32c(const flow_key& k, std::uint32_t seed = 0) noexcept {
  std::uint32_t h = crc32c_u64(
      (std::uint64_t{static_cast<std::uint8_t>(k.kind)} << 56) | (std::uint64_t{k.protocol} << 48) |
          (std::uint64_t{k.ethertype} << 32) | (std::uint64_t{k.src_port} << 16) | k.dst_port,
      seed);
  if (k.kind == flow_kind::l2) return crc32c_u64(k.src_mac.to_u64() ^ (k.dst_mac.to_u64() << 16), h);
  const std::size_t n = k.kind == flow_kind::ipv4 ? 4 : 16;
  h = crc32c(std::as_bytes(std::span(k.src_ip.octets).first(n)), h);
  return crc32c(std::as_bytes(std::span(k.dst_ip.octets).first(n)), h);
}

// flow_hash_crc32c(extract_flow_key(frame)) from fields a caller has parsed
// already, reading only the addresses from the frame: l3_offset and ethertype
// after at most one 802.1Q tag (ethertype 802.1Q at offset 14: the tag is
// truncated, a flow_kind::none frame), ip_version 0 for a non-IP (or
// malformed IP) frame, protocol, and ports = source << 16 | destination (0
// without them, and for IPv4 fragments). No flow_key is built: its byte-wise
// address stores, reloaded as words, would stall on store forwarding.
// PRECONDITION: frame.size() >= 14; with ip_version 4 or 6, a complete IP
// header at l3_offset.
[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t flow_hash_crc32c_parsed(wire::const_bytes frame, std::size_t l3_offset,
                                                                      std::uint16_t ethertype, std::uint8_t ip_version,
                                                                      std::uint8_t protocol, std::uint32_t ports,
                                                                      std::uint32_t seed = 0) noexcept {
  const flow_kind kind = ip_version == 4   ? flow_kind::ipv4
                         : ip_version == 6 ? flow_kind::ipv6
                         : ethertype == wire::ethernet::ethertype_vlan && l3_offset == wire::ethernet::header_size
                             ? flow_kind::none
                             : flow_kind::l2;
  const std::uint8_t p = kind == flow_kind::ipv4 || kind == flow_kind::ipv6 ? protocol : 0;
  const std::uint16_t type = kind == flow_kind::none ? 0 : ethertype;
  const std::uint32_t pp = kind == flow_kind::ipv4 || kind == flow_kind::ipv6 ? ports : 0;
  std::uint32_t h = crc32c_u64((std::uint64_t{static_cast<std::uint8_t>(kind)} << 56) | (std::uint64_t{p} << 48) |
                                   (std::uint64_t{type} << 32) | pp,
                               seed);
  // crc32c_u64 takes the bytes in little-endian order.
  std::uint64_t w;
  if (kind == flow_kind::ipv4) {  // source and destination are adjacent: one 8-byte step for both
    std::memcpy(&w, frame.data() + l3_offset + 12, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return crc32c_u64(w, h);
  }
  if (kind == flow_kind::ipv6) {
    for (std::size_t off = 8; off < 40; off += 8) {
      std::memcpy(&w, frame.data() + l3_offset + off, 8);
      if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
      h = crc32c_u64(w, h);
    }
    return h;
  }
  if (kind == flow_kind::none) {  // flow_key{}: zero addresses
    for (int i = 0; i < 4; ++i) h = crc32c_u64(0, h);
    return h;
  }
  const std::uint64_t dst = wire::load_be64(frame, 0) >> 16;
  const std::uint64_t src = wire::load_be64(frame, 6) >> 16;
  return crc32c_u64(src ^ (dst << 16), h);
}

// flow_hash_crc32c(extract_flow_key(frame)) in one pass over the frame.
[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t flow_hash_crc32c(wire::const_bytes frame, std::uint32_t seed = 0) noexcept {
  namespace ethernet = wire::ethernet;
  if (frame.size() < ethernet::header_size) return flow_hash_crc32c(flow_key{}, seed);
  std::size_t l3_offset = ethernet::header_size;
  std::uint16_t ethertype = wire::load_be16(frame, 12);
  if (ethertype == ethernet::ethertype_vlan) {
    if (frame.size() < l3_offset + ethernet::vlan_tag_size) return flow_hash_crc32c(flow_key{}, seed);
    l3_offset += ethernet::vlan_tag_size;
    ethertype = wire::load_be16(frame, 16);
  }
  const auto l3 = frame.subspan(l3_offset);
  std::uint8_t version = 0, protocol = 0;
  std::uint32_t ports = 0;
  if (ethertype == ethernet::ethertype_ipv4 && l3.size() >= wire::ipv4::min_header_size &&
      (wire::load_u8(l3, 0) >> 4) == 4) {
    const std::size_t ihl = std::size_t{wire::load_u8(l3, 0) & 0x0Fu} * 4;
    if (ihl >= wire::ipv4::min_header_size && ihl <= l3.size()) {
      version = 4;
      protocol = wire::load_u8(l3, 9);
      // Only the first fragment carries ports; hashing them would split the flow.
      if ((wire::load_be16(l3, 6) & 0x3FFFu) == 0) ports = detail::ports_of(protocol, l3.subspan(ihl));
    }
  } else if (ethertype == ethernet::ethertype_ipv6 && l3.size() >= wire::ipv6::header_size &&
             (wire::load_u8(l3, 0) >> 4) == 6) {
    version = 6;
    protocol = wire::load_u8(l3, 6);
    ports = detail::ports_of(protocol, l3.subspan(wire::ipv6::header_size));
  }
  return flow_hash_crc32c_parsed(frame, l3_offset, ethertype, version, protocol, ports, seed);
}

// A source port in [lo, hi] from a 32-bit hash (multiply-shift keeps it uniform
// without a division). Default: RFC 7348's recommended dynamic range.
[[nodiscard]] constexpr std::uint16_t udp_source_port(std::uint32_t hash,
                                                      std::uint16_t lo = wire::vxlan::source_port_min,
                                                      std::uint16_t hi = wire::vxlan::source_port_max) noexcept {
  NVO_ASSERT(lo <= hi);
  const std::uint64_t range = std::uint64_t{hi} - lo + 1;
  return static_cast<std::uint16_t>(lo + ((std::uint64_t{hash} * range) >> 32));
}

// Fold every hash bit into the narrow fields so no input bits are lost.
[[nodiscard]] constexpr std::uint8_t nvgre_flow_id(std::uint32_t hash) noexcept {
  hash ^= hash >> 16;
  return static_cast<std::uint8_t>(hash ^ (hash >> 8));
}

[[nodiscard]] constexpr std::uint16_t stt_source_port(std::uint32_t hash) noexcept {
  return static_cast<std::uint16_t>(hash ^ (hash >> 16));
}

}  // namespace simd
NVO_END_NAMESPACE
