// File: nvo/wire/nvgre.hpp
// NVGRE (RFC 7637 3.2): GRE with K=1, C=S=0, version 0, protocol 0x6558, and a
// key split into a 24-bit Virtual Subnet ID and an 8-bit FlowID (entropy).
//
// |0| |1|0|   Reserved0     | Ver |   Protocol Type 0x6558        |
// |               Virtual Subnet ID (VSID)        |    FlowID     |
#pragma once

#include "nvo/base/protocol.hpp"
#include "nvo/wire/ethernet.hpp"
#include "nvo/wire/gre.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::nvgre {

inline constexpr std::size_t header_size = 8;
inline constexpr std::uint16_t protocol = ethernet::ethertype_teb;
inline constexpr std::uint32_t max_vsid = 0xFFFFFF;
// RFC 7637 3.4: 0-0xFFF reserved for future use, 0xFFFFFF vendor specific.
inline constexpr std::uint32_t min_tenant_vsid = 0x1000;
// Outer Ethernet + IPv4 + GRE with key (IPv6 underlay: 62).
inline constexpr std::size_t overhead_ipv4 = ethernet::header_size + ipv4::min_header_size + header_size;
inline constexpr std::size_t overhead_ipv6 = ethernet::header_size + ipv6::header_size + header_size;

struct header {
  std::uint32_t vsid = 0;     // 24 bits
  std::uint8_t flow_id = 0;   // 0 when no entropy is generated
  std::uint16_t reserved0 = 0;  // GRE bits 6-12, in place

  friend constexpr bool operator==(const header&, const header&) = default;
};

// Error for a GRE header that carries TEB but breaks an RFC 7637 rule.
[[nodiscard]] constexpr result<header> from_gre(const gre::header& g) noexcept {
  if (g.protocol != protocol) return errc::nvgre_bad_protocol;
  if (!g.key_present) return errc::nvgre_key_absent;
  if (g.checksum_present) return errc::nvgre_checksum_present;
  if (g.sequence_present) return errc::nvgre_sequence_present;
  return header{g.key >> 8, static_cast<std::uint8_t>(g.key), g.reserved0};
}

namespace detail {
// parse() into caller-owned storage (dissect fills its result in place).
// RFC 7637 allows one GRE layout, K only and version 0, read here directly;
// any other breaks a rule that gre::parse or from_gre names.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure parse_into(const_bytes in, reserved_bits policy,
                                                                          header& h) noexcept {
  if (in.size() >= header_size) {
    // Flags, version and protocol in one compare, as hand-written code does.
    constexpr std::uint32_t expected = std::uint32_t{gre::flag_key} << 16 | protocol;
    constexpr std::uint32_t reserved0_bits = std::uint32_t{gre::reserved0_mask} << 16;
    const std::uint32_t word = load_be32(in, 0);
    const std::uint32_t checked = policy == reserved_bits::strict ? word : word & ~reserved0_bits;
    if (checked == expected) {
      const std::uint32_t key = load_be32(in, 4);
      h.vsid = key >> 8;
      h.flow_id = static_cast<std::uint8_t>(key);
      h.reserved0 = static_cast<std::uint16_t>((word & reserved0_bits) >> 16);
      return std::nullopt;
    }
  }
  const auto g = gre::parse(in, policy);
  if (!g) return g.error();
  return from_gre(*g).error();
}
}  // namespace detail

[[nodiscard]] constexpr result<header> parse(const_bytes in, reserved_bits policy = reserved_bits::strict) noexcept {
  header h;
  if (const auto error = detail::parse_into(in, policy, h)) return *error;
  return h;
}

[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (h.vsid > max_vsid) return errc::field_out_of_range;
  gre::header g;
  g.key_present = true;
  g.reserved0 = h.reserved0;
  g.protocol = protocol;
  g.key = h.vsid << 8 | h.flow_id;
  return gre::encode(g, out);
}

namespace detail {
// parse_inner()'s verdict without building the header (dissect needs none).
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure check_inner(const_bytes inner) noexcept {
  if (inner.size() < ethernet::header_size) return errc::inner_truncated;
  const std::uint16_t type = load_be16(inner, 12);
  if (type == ethernet::ethertype_vlan && inner.size() < ethernet::header_size + ethernet::vlan_tag_size)
    return errc::inner_truncated;
  if (ethernet::is_vlan_tpid(type)) return errc::nvgre_inner_vlan;
  return std::nullopt;
}
}  // namespace detail

// RFC 7637 3.3: a decapsulating NVE MUST drop inner frames carrying 802.1Q.
[[nodiscard]] constexpr result<ethernet::header> parse_inner(const_bytes inner) noexcept {
  if (const auto error = detail::check_inner(inner)) return *error;
  return ethernet::parse(inner);
}

}  // namespace wire::nvgre
NVO_END_NAMESPACE
