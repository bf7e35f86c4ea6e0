// File: nvo/wire/udp.hpp
// UDP header (RFC 768).
//
// |          Source Port          |       Destination Port        |
// |            Length             |           Checksum            |
#pragma once

#include "nvo/base/byte_order.hpp"
#include "nvo/wire/checksum.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::udp {

inline constexpr std::size_t header_size = 8;

struct header {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint16_t length = 0;  // header + payload
  std::uint16_t checksum = 0;  // 0: none transmitted (IPv4; IPv6 only where RFC 6935 allows)

  [[nodiscard]] static constexpr std::size_t size() noexcept { return header_size; }
  friend constexpr bool operator==(const header&, const header&) = default;
};

namespace detail {
// parse()'s checks alone, for dissect, which reads its fields in place.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure check(const_bytes in) noexcept {
  if (in.size() < header_size) return errc::truncated;
  const std::uint16_t length = load_be16(in, 4);
  if (length < header_size || length != in.size()) return errc::udp_bad_length;
  return std::nullopt;
}
}  // namespace detail

// in is the IP payload. Validates 8 <= length == in.size().
[[nodiscard]] constexpr result<header> parse(const_bytes in) noexcept {
  if (const auto error = detail::check(in)) return *error;
  return header{load_be16(in, 0), load_be16(in, 2), load_be16(in, 4), load_be16(in, 6)};
}

[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (out.size() < header_size) return errc::output_too_small;
  store_be16(out, 0, h.src_port);
  store_be16(out, 2, h.dst_port);
  store_be16(out, 4, h.length);
  store_be16(out, 6, h.checksum);
  return header_size;
}

// The checksum field value for a datagram whose checksum field is zero:
// RFC 768 sends a computed 0 as 0xFFFF, since 0 means "no checksum".
[[nodiscard]] constexpr std::uint16_t checksum_field(std::uint64_t pseudo_sum, const_bytes datagram) noexcept {
  const std::uint16_t c = checksum_finalize(checksum_accumulate_dispatched(datagram, pseudo_sum));
  return c == 0 ? 0xFFFF : c;
}

// True when a datagram carrying a non-zero checksum verifies.
[[nodiscard]] constexpr bool checksum_ok(std::uint64_t pseudo_sum, const_bytes datagram) noexcept {
  return checksum_fold(checksum_accumulate_dispatched(datagram, pseudo_sum)) == 0xFFFF;
}

}  // namespace wire::udp
NVO_END_NAMESPACE
