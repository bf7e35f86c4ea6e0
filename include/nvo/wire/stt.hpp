// File: nvo/wire/stt.hpp
// STT (draft-davie-stt-08), a legacy encapsulation kept for interoperability:
// OVS removed it in 3.6 and no other datapath carries it, so nvo keeps the codec
// small and does not let it shape the pipeline.
//
// An STT frame = 18-byte frame header + inner Ethernet frame (<= 64 KiB in all),
// segmented into TCP-looking segments to port 7471. The TCP header's
//   SEQ = frame length << 16 | offset of this segment within the frame
//   ACK = frame identifier (constant across one frame's segments)
//
// Frame header (3.1, Figure 3):
// |  Version      | Flags         |  L4 Offset    |  Reserved     |
// |    Max. Segment Size          | PCP |V|     VLAN ID           |
// |                     Context ID (64 bits)                      |
// |     Padding                   |    data                       |
//
// Flag values: the draft numbers bits MSB-first, but the reference
// implementation (OVS) and Wireshark use C=0x01 P=0x02 V=0x04 T=0x08, and
// wire compatibility follows them.
#pragma once

#include "nvo/base/byte_order.hpp"
#include "nvo/base/protocol.hpp"
#include "nvo/wire/result.hpp"
#include "nvo/wire/tcp.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::stt {

// default_port: nvo/base/protocol.hpp.
inline constexpr std::size_t frame_header_size = 18;

inline constexpr std::uint8_t flag_checksum_verified = 0x01;  // C
inline constexpr std::uint8_t flag_checksum_partial = 0x02;   // P
inline constexpr std::uint8_t flag_ipv4 = 0x04;               // V: inner packet is IPv4
inline constexpr std::uint8_t flag_tcp = 0x08;                // T: inner packet is TCP
inline constexpr std::uint8_t flags_reserved_mask = 0xF0;

inline constexpr std::uint16_t vlan_present = 0x1000;  // V bit of the TCI word

struct frame_header {
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  std::uint8_t l4_offset = 0;
  std::uint8_t reserved = 0;
  std::uint16_t mss = 0;
  std::uint16_t vlan_tci = 0;  // PCP | V | VID
  std::uint64_t context_id = 0;
  std::uint16_t padding = 0;

  friend constexpr bool operator==(const frame_header&, const frame_header&) = default;
};

namespace detail {
// parse_frame_header() into caller-owned storage, so dissect fills its result in place.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure parse_frame_header_into(const_bytes in,
                                                                                       reserved_bits policy,
                                                                                       frame_header& h) noexcept {
  if (in.size() < frame_header_size) return errc::truncated;
  h.version = load_u8(in, 0);
  if (h.version != 0) return errc::stt_bad_version;
  h.flags = load_u8(in, 1);
  h.l4_offset = load_u8(in, 2);
  h.reserved = load_u8(in, 3);
  h.mss = load_be16(in, 4);
  h.vlan_tci = load_be16(in, 6);
  h.context_id = load_be64(in, 8);
  h.padding = load_be16(in, 16);
  if (policy == reserved_bits::strict &&
      ((h.flags & flags_reserved_mask) != 0 || h.reserved != 0 || h.padding != 0 ||
       (h.flags & (flag_checksum_verified | flag_checksum_partial)) ==
           (flag_checksum_verified | flag_checksum_partial)))
    return errc::stt_reserved_bits;
  return std::nullopt;
}
}  // namespace detail

// Validates version 0; under reserved_bits::strict also zero reserved flag bits,
// reserved byte and padding, and never C and P together (3.1: "cannot both be set").
[[nodiscard]] constexpr result<frame_header> parse_frame_header(
    const_bytes in, reserved_bits policy = reserved_bits::strict) noexcept {
  frame_header h;
  if (const auto error = detail::parse_frame_header_into(in, policy, h)) return *error;
  return h;
}

[[nodiscard]] constexpr result<std::size_t> encode_frame_header(const frame_header& h, bytes out) noexcept {
  if (out.size() < frame_header_size) return errc::output_too_small;
  store_u8(out, 0, h.version);
  store_u8(out, 1, h.flags);
  store_u8(out, 2, h.l4_offset);
  store_u8(out, 3, h.reserved);
  store_be16(out, 4, h.mss);
  store_be16(out, 6, h.vlan_tci);
  store_be64(out, 8, h.context_id);
  store_be16(out, 16, h.padding);
  return frame_header_size;
}

// The STT meaning of one segment's TCP header.
struct segment {
  std::uint16_t src_port = 0;  // flow entropy, constant for the frame
  std::uint16_t dst_port = default_port;
  std::uint16_t frame_length = 0;     // frame header + inner frame, bytes
  std::uint16_t fragment_offset = 0;  // of this segment's payload within the frame
  std::uint32_t frame_id = 0;         // TCP ACK

  [[nodiscard]] constexpr bool carries_frame_header() const noexcept { return fragment_offset == 0; }
  friend constexpr bool operator==(const segment&, const segment&) = default;
};

[[nodiscard]] constexpr segment segment_of(const tcp::header& t) noexcept {
  return {t.src_port, t.dst_port, static_cast<std::uint16_t>(t.seq >> 16), static_cast<std::uint16_t>(t.seq),
          t.ack};
}

// The TCP header for a segment (checksum left 0 for the caller to fill):
// ACK always set, PSH on the last segment (3.2), window and urgent zero.
[[nodiscard]] constexpr tcp::header tcp_header_of(const segment& s, bool last_segment) noexcept {
  tcp::header t;
  t.src_port = s.src_port;
  t.dst_port = s.dst_port;
  t.seq = std::uint32_t{s.frame_length} << 16 | s.fragment_offset;
  t.ack = s.frame_id;
  t.flags = static_cast<std::uint8_t>(tcp::flag_ack | (last_segment ? tcp::flag_psh : 0));
  return t;
}

// Checks a segment's place in its frame: a non-empty payload that lies inside a
// frame of at least the frame header's length.
namespace detail {
// check_segment()'s verdict alone, for dissect, which fills its segment in place.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr wire::detail::failure segment_error(const segment& s,
                                                                             std::size_t payload_length) noexcept {
  if (payload_length == 0) return errc::stt_empty_segment;
  if (s.frame_length < frame_header_size || std::size_t{s.fragment_offset} + payload_length > s.frame_length)
    return errc::stt_bad_frame_length;
  return std::nullopt;
}
}  // namespace detail

[[nodiscard]] constexpr result<segment> check_segment(const segment& s, std::size_t payload_length) noexcept {
  if (const auto error = detail::segment_error(s, payload_length)) return *error;
  return s;
}

}  // namespace wire::stt
NVO_END_NAMESPACE
