// File: nvo/wire/tcp.hpp
// TCP header (RFC 9293), without options: nvo only builds and reads STT's
// TCP-like segments, whose data offset is always 5.
//
// |          Source Port          |       Destination Port        |
// |                        Sequence Number                        |
// |                    Acknowledgment Number                      |
// |  Data |       |C|E|U|A|P|R|S|F|                               |
// | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
// |           Checksum            |         Urgent Pointer        |
#pragma once

#include "nvo/base/byte_order.hpp"
#include "nvo/wire/checksum.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::tcp {

inline constexpr std::size_t header_size = 20;

// The flags STT segments carry.
inline constexpr std::uint8_t flag_psh = 0x08;
inline constexpr std::uint8_t flag_ack = 0x10;

struct header {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t data_offset = 5;  // 32-bit words
  std::uint8_t reserved = 0;     // the 4 bits between data offset and flags
  std::uint8_t flags = 0;
  std::uint16_t window = 0;
  std::uint16_t checksum = 0;
  std::uint16_t urgent = 0;

  [[nodiscard]] static constexpr std::size_t size() noexcept { return header_size; }
  friend constexpr bool operator==(const header&, const header&) = default;
};

// in is the IP payload. Rejects options (data offset != 5) as unsupported.
[[nodiscard]] constexpr result<header> parse(const_bytes in) noexcept {
  if (in.size() < header_size) return errc::truncated;
  header h;
  h.src_port = load_be16(in, 0);
  h.dst_port = load_be16(in, 2);
  h.seq = load_be32(in, 4);
  h.ack = load_be32(in, 8);
  const std::uint8_t off = load_u8(in, 12);
  h.data_offset = off >> 4;
  h.reserved = off & 0x0F;
  if (h.data_offset != 5) return errc::tcp_bad_data_offset;
  h.flags = load_u8(in, 13);
  h.window = load_be16(in, 14);
  h.checksum = load_be16(in, 16);
  h.urgent = load_be16(in, 18);
  return h;
}

// Writes h as given (checksum included; see checksum_field).
[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (h.data_offset != 5 || h.reserved > 0x0F) return errc::field_out_of_range;
  if (out.size() < header_size) return errc::output_too_small;
  store_be16(out, 0, h.src_port);
  store_be16(out, 2, h.dst_port);
  store_be32(out, 4, h.seq);
  store_be32(out, 8, h.ack);
  store_u8(out, 12, static_cast<std::uint8_t>(h.data_offset << 4 | h.reserved));
  store_u8(out, 13, h.flags);
  store_be16(out, 14, h.window);
  store_be16(out, 16, h.checksum);
  store_be16(out, 18, h.urgent);
  return header_size;
}

// Checksum field value for a segment whose checksum field is zero.
[[nodiscard]] constexpr std::uint16_t checksum_field(std::uint64_t pseudo_sum, const_bytes segment) noexcept {
  return checksum_finalize(checksum_accumulate_dispatched(segment, pseudo_sum));
}

[[nodiscard]] constexpr bool checksum_ok(std::uint64_t pseudo_sum, const_bytes segment) noexcept {
  return checksum_fold(checksum_accumulate_dispatched(segment, pseudo_sum)) == 0xFFFF;
}

}  // namespace wire::tcp
NVO_END_NAMESPACE
