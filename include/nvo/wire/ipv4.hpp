// File: nvo/wire/ipv4.hpp
// IPv4 header (RFC 791), options carried opaquely.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// |Version|  IHL  |Type of Service|          Total Length         |
// |         Identification        |Flags|      Fragment Offset    |
// |  Time to Live |    Protocol   |         Header Checksum       |
// |                       Source Address                          |
// |                    Destination Address                        |
// |                    Options (IHL > 5)                          |
#pragma once

#include <array>

#include "nvo/base/address.hpp"
#include "nvo/base/byte_order.hpp"
#include "nvo/base/checksum.hpp"
#include "nvo/base/protocol.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::ipv4 {

// min_header_size and the protocol numbers: nvo/base/protocol.hpp.
inline constexpr std::size_t max_header_size = 60;

inline constexpr std::uint16_t flag_dont_fragment = 0x4000;
inline constexpr std::uint16_t flag_more_fragments = 0x2000;
inline constexpr std::uint16_t fragment_offset_mask = 0x1FFF;

struct header {
  std::uint8_t ihl = 5;  // header length in 32-bit words
  std::uint8_t tos = 0;  // DSCP (6 bits) | ECN (2 bits)
  std::uint16_t total_length = 0;
  std::uint16_t identification = 0;
  std::uint16_t flags_fragment_offset = 0;
  std::uint8_t ttl = 64;
  std::uint8_t protocol = 0;
  std::uint16_t checksum = 0;  // parse: as received; encode: ignored, recomputed
  ipv4_address src{};
  ipv4_address dst{};
  std::array<std::uint8_t, max_header_size - min_header_size> options{};  // first (ihl-5)*4 bytes used

  [[nodiscard]] constexpr std::size_t size() const noexcept { return std::size_t{ihl} * 4; }
  [[nodiscard]] constexpr std::size_t payload_length() const noexcept { return total_length - size(); }
  [[nodiscard]] constexpr bool is_fragment() const noexcept {
    return (flags_fragment_offset & (flag_more_fragments | fragment_offset_mask)) != 0;
  }
  friend constexpr bool operator==(const header&, const header&) = default;
};

namespace detail {
// parse()'s checks alone: dissect reads the few fields it needs itself rather
// than copy a header with 40 bytes of options.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure check(const_bytes in) noexcept {
  if (in.size() < min_header_size) return errc::truncated;
  const std::uint8_t vihl = load_u8(in, 0);
  if ((vihl >> 4) != 4) return errc::ipv4_bad_version;
  const std::size_t size = std::size_t{vihl & 0x0Fu} * 4;
  if (size < min_header_size || size > in.size()) return errc::ipv4_bad_header_length;
  const std::uint16_t total_length = load_be16(in, 2);
  if (total_length < size || total_length > in.size()) return errc::ipv4_bad_total_length;
  if (!checksum_verifies_words(in.first(size))) return errc::ipv4_bad_checksum;
  return std::nullopt;
}
}  // namespace detail

// Parses and validates: version 4, 5 <= IHL, header and total length within the
// buffer (trailing link padding is allowed), header checksum correct.
[[nodiscard]] constexpr result<header> parse(const_bytes in) noexcept {
  if (const auto error = detail::check(in)) return *error;
  header h;
  h.ihl = load_u8(in, 0) & 0x0F;
  h.total_length = load_be16(in, 2);
  h.tos = load_u8(in, 1);
  h.identification = load_be16(in, 4);
  h.flags_fragment_offset = load_be16(in, 6);
  h.ttl = load_u8(in, 8);
  h.protocol = load_u8(in, 9);
  h.checksum = load_be16(in, 10);
  load_raw(in, 12, h.src.octets);
  load_raw(in, 16, h.dst.octets);
  for (std::size_t i = 0; i < h.size() - min_header_size; ++i) h.options[i] = load_u8(in, min_header_size + i);
  return h;
}

// Writes h with a freshly computed header checksum; returns bytes written.
[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (h.ihl < 5 || h.ihl > 15 || h.total_length < h.size()) return errc::field_out_of_range;
  if (out.size() < h.size()) return errc::output_too_small;
  store_u8(out, 0, static_cast<std::uint8_t>(0x40 | h.ihl));
  store_u8(out, 1, h.tos);
  store_be16(out, 2, h.total_length);
  store_be16(out, 4, h.identification);
  store_be16(out, 6, h.flags_fragment_offset);
  store_u8(out, 8, h.ttl);
  store_u8(out, 9, h.protocol);
  store_be16(out, 10, 0);
  store_raw(out, 12, h.src.octets);
  store_raw(out, 16, h.dst.octets);
  for (std::size_t i = 0; i < h.size() - min_header_size; ++i) store_u8(out, min_header_size + i, h.options[i]);
  store_be16(out, 10, checksum_finalize(checksum_accumulate(out.first(h.size()))));
  return h.size();
}

}  // namespace wire::ipv4
NVO_END_NAMESPACE
