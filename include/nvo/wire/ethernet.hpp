// File: nvo/wire/ethernet.hpp
// Ethernet II header with at most one IEEE 802.1Q tag (the FCS is never part of
// tunnelled frames: RFC 7348 5, RFC 7637 3.2).
//
//   | dst MAC (6) | src MAC (6) | [TPID 0x8100 (2) | TCI (2)] | EtherType (2) |
#pragma once

#include "nvo/base/address.hpp"
#include "nvo/base/byte_order.hpp"
#include "nvo/base/protocol.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::ethernet {

// header_size, vlan_tag_size and the EtherTypes: nvo/base/protocol.hpp.

inline constexpr std::uint16_t vlan_vid_mask = 0x0FFF;  // of the TCI

struct header {
  mac_address dst{};
  mac_address src{};
  bool has_vlan = false;
  std::uint16_t vlan_tci = 0;  // meaningful when has_vlan
  std::uint16_t ethertype = 0;

  [[nodiscard]] constexpr std::size_t size() const noexcept { return header_size + (has_vlan ? vlan_tag_size : 0); }
  friend constexpr bool operator==(const header&, const header&) = default;
};

[[nodiscard]] constexpr bool is_vlan_tpid(std::uint16_t ethertype) noexcept {
  return ethertype == ethertype_vlan || ethertype == ethertype_qinq;
}

namespace detail {
// parse() into caller-owned storage, so dissect fills its result in place.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure parse_into(const_bytes in, header& h) noexcept {
  if (in.size() < header_size) return errc::truncated;
  load_raw(in, 0, h.dst.octets);
  load_raw(in, 6, h.src.octets);
  h.ethertype = load_be16(in, 12);
  if (h.ethertype == ethertype_vlan) {
    if (in.size() < header_size + vlan_tag_size) return errc::truncated;
    h.has_vlan = true;
    h.vlan_tci = load_be16(in, 14);
    h.ethertype = load_be16(in, 16);
  }
  return std::nullopt;
}
}  // namespace detail

// Parses the header and one 802.1Q (0x8100) tag. A second tag, or an S-tag,
// is left as the EtherType for the caller to judge.
[[nodiscard]] constexpr result<header> parse(const_bytes in) noexcept {
  header h;
  if (const auto error = detail::parse_into(in, h)) return *error;
  return h;
}

// Writes h; returns the number of bytes written.
[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (out.size() < h.size()) return errc::output_too_small;
  store_raw(out, 0, h.dst.octets);
  store_raw(out, 6, h.src.octets);
  std::size_t off = 12;
  if (h.has_vlan) {
    store_be16(out, 12, ethertype_vlan);
    store_be16(out, 14, h.vlan_tci);
    off = 16;
  }
  store_be16(out, off, h.ethertype);
  return h.size();
}

}  // namespace wire::ethernet
NVO_END_NAMESPACE
