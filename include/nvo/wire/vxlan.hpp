// File: nvo/wire/vxlan.hpp
// VXLAN header (RFC 7348 5), carried in UDP to port 4789.
//
// |R|R|R|R|I|R|R|R|            Reserved                           |
// |                VXLAN Network Identifier (VNI) |   Reserved    |
#pragma once

#include "nvo/base/byte_order.hpp"
#include "nvo/base/protocol.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::vxlan {

// default_port and the entropy source_port_min/max: nvo/base/protocol.hpp.
inline constexpr std::size_t header_size = 8;
inline constexpr std::uint8_t flag_i = 0x08;  // VNI valid
inline constexpr std::uint32_t max_vni = 0xFFFFFF;
// Outer Ethernet + IPv4 + UDP + VXLAN (IPv6 underlay: 70).
inline constexpr std::size_t overhead_ipv4 = ethernet::header_size + ipv4::min_header_size + 8 + header_size;
inline constexpr std::size_t overhead_ipv6 = ethernet::header_size + ipv6::header_size + 8 + header_size;

struct header {
  std::uint8_t flags = flag_i;
  std::uint32_t reserved1 = 0;  // 24 bits after the flags
  std::uint32_t vni = 0;        // 24 bits
  std::uint8_t reserved2 = 0;

  friend constexpr bool operator==(const header&, const header&) = default;
};

// Requires the I flag; under reserved_bits::strict also that every reserved bit
// is zero (OVS, VPP and Linux behaviour; RFC 7348 says ignore).
[[nodiscard]] NVO_ALWAYS_INLINE constexpr result<header> parse(const_bytes in,
                                                           reserved_bits policy = reserved_bits::strict) noexcept {
  if (in.size() < header_size) return errc::truncated;
  const std::uint32_t w0 = load_be32(in, 0);
  const std::uint32_t w1 = load_be32(in, 4);
  const header h{static_cast<std::uint8_t>(w0 >> 24), w0 & 0xFFFFFF, w1 >> 8, static_cast<std::uint8_t>(w1)};
  // The common case, I set and nothing reserved, in one compare per word.
  if (w0 == std::uint32_t{flag_i} << 24 && h.reserved2 == 0) return h;
  if ((h.flags & flag_i) == 0) return errc::vxlan_i_flag_clear;
  if (policy == reserved_bits::strict) return errc::vxlan_reserved_bits;
  return h;
}

[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (h.vni > max_vni || h.reserved1 > 0xFFFFFF) return errc::field_out_of_range;
  if (out.size() < header_size) return errc::output_too_small;
  store_be32(out, 0, std::uint32_t{h.flags} << 24 | h.reserved1);
  store_be32(out, 4, h.vni << 8 | h.reserved2);
  return header_size;
}

}  // namespace wire::vxlan
NVO_END_NAMESPACE
