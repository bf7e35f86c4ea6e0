// File: nvo/wire/gre.hpp
// GRE header (RFC 2784) with the key and sequence extensions (RFC 2890).
// Optional words appear in this order: checksum + reserved1, key, sequence.
//
// |C| |K|S| Reserved0       | Ver |         Protocol Type         |
// |      Checksum (optional)      |       Reserved1 (Optional)    |
// |                         Key (optional)                        |
// |                 Sequence Number (Optional)                    |
#pragma once

#include "nvo/base/byte_order.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::gre {

inline constexpr std::size_t base_header_size = 4;  // IP protocol: ipv4::protocol_gre

inline constexpr std::uint16_t flag_checksum = 0x8000;  // C
inline constexpr std::uint16_t flag_key = 0x2000;       // K (RFC 2890)
inline constexpr std::uint16_t flag_sequence = 0x1000;  // S (RFC 2890)
// RFC 2784 2.3: bits 1-5 non-zero MUST be discarded (bits 2 and 3 became K and S).
inline constexpr std::uint16_t must_be_zero_mask = 0x4C00;
// Bits 6-12: "MUST be sent as zero and MUST be ignored on receipt".
inline constexpr std::uint16_t reserved0_mask = 0x03F8;
inline constexpr std::uint16_t version_mask = 0x0007;

struct header {
  bool checksum_present = false;
  bool key_present = false;
  bool sequence_present = false;
  std::uint16_t reserved0 = 0;  // bits 6-12, in place (masked by reserved0_mask)
  std::uint8_t version = 0;
  std::uint16_t protocol = 0;
  std::uint16_t checksum = 0;
  std::uint16_t reserved1 = 0;
  std::uint32_t key = 0;
  std::uint32_t sequence = 0;

  [[nodiscard]] constexpr std::size_t size() const noexcept {
    return base_header_size + 4 * (std::size_t{checksum_present} + key_present + sequence_present);
  }
  friend constexpr bool operator==(const header&, const header&) = default;
};

// Parses version 0 GRE. Version 1 (PPTP, RFC 2637) lays out its optional words
// differently and is rejected. Reserved0 bits are judged by the policy.
[[nodiscard]] constexpr result<header> parse(const_bytes in, reserved_bits policy = reserved_bits::strict) noexcept {
  if (in.size() < base_header_size) return errc::truncated;
  const std::uint16_t word = load_be16(in, 0);
  if (word & must_be_zero_mask) return errc::gre_reserved_flags;
  header h;
  h.version = word & version_mask;
  if (h.version != 0) return errc::gre_bad_version;
  h.reserved0 = word & reserved0_mask;
  if (policy == reserved_bits::strict && h.reserved0 != 0) return errc::gre_reserved_bits;
  h.checksum_present = (word & flag_checksum) != 0;
  h.key_present = (word & flag_key) != 0;
  h.sequence_present = (word & flag_sequence) != 0;
  h.protocol = load_be16(in, 2);
  if (in.size() < h.size()) return errc::truncated;
  std::size_t off = base_header_size;
  if (h.checksum_present) {
    h.checksum = load_be16(in, off);
    h.reserved1 = load_be16(in, off + 2);
    if (policy == reserved_bits::strict && h.reserved1 != 0) return errc::gre_reserved_bits;
    off += 4;
  }
  if (h.key_present) {
    h.key = load_be32(in, off);
    off += 4;
  }
  if (h.sequence_present) h.sequence = load_be32(in, off);
  return h;
}

[[nodiscard]] constexpr result<std::size_t> encode(const header& h, bytes out) noexcept {
  if (h.version > version_mask || (h.reserved0 & ~reserved0_mask) != 0) return errc::field_out_of_range;
  if (out.size() < h.size()) return errc::output_too_small;
  const auto word = static_cast<std::uint16_t>((h.checksum_present ? flag_checksum : 0) |
                                               (h.key_present ? flag_key : 0) |
                                               (h.sequence_present ? flag_sequence : 0) | h.reserved0 | h.version);
  store_be16(out, 0, word);
  store_be16(out, 2, h.protocol);
  std::size_t off = base_header_size;
  if (h.checksum_present) {
    store_be16(out, off, h.checksum);
    store_be16(out, off + 2, h.reserved1);
    off += 4;
  }
  if (h.key_present) {
    store_be32(out, off, h.key);
    off += 4;
  }
  if (h.sequence_present) store_be32(out, off, h.sequence);
  return h.size();
}

}  // namespace wire::gre
NVO_END_NAMESPACE
