// File: nvo/wire/ipv6.hpp
// IPv6 fixed header (RFC 8200 3). Extension headers are recognised so that a
// tunnel header hidden behind one is reported as unsupported, never misparsed.
//
// |Version| Traffic Class |           Flow Label                  |
// |         Payload Length        |  Next Header  |   Hop Limit   |
// |                  Source Address (128 bits)                    |
// |               Destination Address (128 bits)                  |
#pragma once

#include "nvo/base/address.hpp"
#include "nvo/base/byte_order.hpp"
#include "nvo/base/protocol.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::ipv6 {

// header_size: nvo/base/protocol.hpp.

struct header {
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;  // 20 bits
  std::uint16_t payload_length = 0;
  std::uint8_t next_header = 0;
  std::uint8_t hop_limit = 64;
  ipv6_address src{};
  ipv6_address dst{};

  [[nodiscard]] static constexpr std::size_t size() noexcept { return header_size; }
  friend constexpr bool operator==(const header&, const header&) = default;
};

inline constexpr std::uint8_t next_fragment = 44;
inline constexpr std::uint8_t next_esp = 50;
inline constexpr std::uint8_t next_ah = 51;

// RFC 8200 4 and the IANA "IPv6 Extension Header Types" registry.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr bool is_extension_header(std::uint8_t next_header) noexcept {
  switch (next_header) {
    case 0:    // Hop-by-Hop Options
    case 43:   // Routing
    case 44:   // Fragment
    case 50:   // ESP
    case 51:   // AH
    case 60:   // Destination Options
    case 135:  // Mobility
    case 139:  // HIP
    case 140:  // Shim6
    case 253:  // experimentation
    case 254:
      return true;
    default:
      return false;
  }
}

namespace detail {
// parse()'s checks alone, for dissect, which reads its fields in place.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure check(const_bytes in) noexcept {
  if (in.size() < header_size) return errc::truncated;
  if ((load_u8(in, 0) >> 4) != 6) return errc::ipv6_bad_version;
  const std::uint16_t payload_length = load_be16(in, 4);
  if (payload_length == 0 || payload_length > in.size() - header_size) return errc::ipv6_bad_payload_length;
  return std::nullopt;
}
}  // namespace detail

// Parses and validates: version 6, payload within the buffer (trailing link
// padding allowed). A zero payload length (jumbogram) is rejected.
[[nodiscard]] constexpr result<header> parse(const_bytes in) noexcept {
  if (const auto error = detail::check(in)) return *error;
  const std::uint32_t vtcfl = load_be32(in, 0);
  header h;
  h.traffic_class = static_cast<std::uint8_t>(vtcfl >> 20);
  h.flow_label = vtcfl & 0xFFFFF;
  h.payload_length = load_be16(in, 4);
  h.next_header = load_u8(in, 6);
  h.hop_limit = load_u8(in, 7);
  load_raw(in, 8, h.src.octets);
  load_raw(in, 24, h.dst.octets);
  return h;
}

[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (h.flow_label > 0xFFFFF) return errc::field_out_of_range;
  if (out.size() < header_size) return errc::output_too_small;
  store_be32(out, 0, 6u << 28 | std::uint32_t{h.traffic_class} << 20 | h.flow_label);
  store_be16(out, 4, h.payload_length);
  store_u8(out, 6, h.next_header);
  store_u8(out, 7, h.hop_limit);
  store_raw(out, 8, h.src.octets);
  store_raw(out, 24, h.dst.octets);
  return header_size;
}

}  // namespace wire::ipv6
NVO_END_NAMESPACE
