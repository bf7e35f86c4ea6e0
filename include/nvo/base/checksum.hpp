// File: nvo/base/checksum.hpp
// The Internet checksum (RFC 1071) in the accumulate -> fold -> finalize shape,
// plus the IPv4/IPv6 pseudo-header sums used by UDP and TCP.
//
// This is the portable (constexpr) reference: the codecs use it for headers and
// in constant evaluation, and nvo/simd/checksum.hpp's kernels share its contract
// and sum their tails with it. Like all of nvo/base/, its names are nvo::wire's.
//
//   sum = checksum_accumulate(bytes, sum)   // any number of times
//   csum = checksum_finalize(sum)           // ~fold(sum): the value for the header field
//
// A region whose checksum field is included verifies when checksum_fold(sum) == 0xFFFF.
// PRECONDITION for chaining: every chunk but the last has even length (an odd
// chunk's last byte is the high byte of a 16-bit word padded with zero).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "nvo/base/address.hpp"
#include "nvo/base/byte_order.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

// Folds a wide one's-complement sum to 16 bits with end-around carry.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint16_t checksum_fold(std::uint64_t sum) noexcept {
  sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
  sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
  sum = (sum & 0xFFFFu) + (sum >> 16);
  sum = (sum & 0xFFFFu) + (sum >> 16);
  sum = (sum & 0xFFFFu) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

[[nodiscard]] constexpr std::uint16_t checksum_finalize(std::uint64_t sum) noexcept {
  return static_cast<std::uint16_t>(~checksum_fold(sum));
}

// Adds the big-endian 16-bit words of data to sum.
// Always inlined: header-sized calls (IPv4 header, pseudo-header) are common
// and a call costs as much as the sum.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint64_t checksum_accumulate(const_bytes data,
                                                                           std::uint64_t sum = 0) noexcept {
  const std::size_t n = data.size();
  std::size_t i = 0;
  if (std::is_constant_evaluated()) {
    for (; i + 1 < n; i += 2) sum += load_be16(data, i);
    if (i < n) sum += static_cast<std::uint64_t>(load_u8(data, i)) << 8;
    return sum;
  }
  // RFC 1071 2(B): the sum is byte-order independent, so add native 32-bit
  // words (no carries lost in a 64-bit accumulator below 2^34 bytes) and swap
  // the folded result once at the end. Plain word adds are a reduction g++
  // vectorizes where the target allows.
  std::uint64_t acc = 0;
  for (; i + 4 <= n; i += 4) {
    std::uint32_t w;
    std::memcpy(&w, data.data() + i, 4);
    acc += w;
  }
  if (i + 2 <= n) {
    std::uint16_t w;
    std::memcpy(&w, data.data() + i, 2);
    acc += w;
    i += 2;
  }
  std::uint16_t folded = checksum_fold(acc);
  if constexpr (std::endian::native == std::endian::little) folded = __builtin_bswap16(folded);
  sum += folded;
  if (i < n) sum += static_cast<std::uint64_t>(load_u8(data, i)) << 8;
  return sum;
}

// Whether a region that holds its own checksum field verifies. A region of
// whole 32-bit words (an IPv4 header, whose IHL * 4 lets the compiler drop the
// other branch) takes one fold of native words and no byte swap, since the
// all-ones verdict reads the same in either byte order; any other length the
// general sum.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr bool checksum_verifies_words(const_bytes region) noexcept {
  if (std::is_constant_evaluated() || region.size() % 4 != 0) return checksum_fold(checksum_accumulate(region)) == 0xFFFF;
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < region.size(); i += 4) {
    std::uint32_t w;
    std::memcpy(&w, region.data() + i, 4);
    acc += w;
  }
  return checksum_fold(acc) == 0xFFFF;
}

// RFC 768 / RFC 793 pseudo-header for IPv4: src, dst, zero, protocol, length.
[[nodiscard]] constexpr std::uint64_t pseudo_header_sum(const ipv4_address& src, const ipv4_address& dst,
                                                        std::uint8_t protocol, std::uint32_t length) noexcept {
  const std::uint32_t s = src.to_u32();
  const std::uint32_t d = dst.to_u32();
  return std::uint64_t{s >> 16} + (s & 0xFFFF) + (d >> 16) + (d & 0xFFFF) + protocol + (length >> 16) +
         (length & 0xFFFF);
}

// RFC 8200 8.1 pseudo-header for IPv6: src, dst, 32-bit length, zero, next header.
[[nodiscard]] constexpr std::uint64_t pseudo_header_sum(const ipv6_address& src, const ipv6_address& dst,
                                                        std::uint8_t next_header, std::uint32_t length) noexcept {
  std::uint64_t sum = std::uint64_t{next_header} + (length >> 16) + (length & 0xFFFF);
  for (std::size_t i = 0; i < 16; i += 2) {
    sum += static_cast<std::uint64_t>(src.octets[i]) << 8 | src.octets[i + 1];
    sum += static_cast<std::uint64_t>(dst.octets[i]) << 8 | dst.octets[i + 1];
  }
  return sum;
}

[[nodiscard]] constexpr std::uint64_t pseudo_header_sum(const ip_address& src, const ip_address& dst,
                                                        std::uint8_t protocol, std::uint32_t length) noexcept {
  return src.is_v4() ? pseudo_header_sum(src.v4(), dst.v4(), protocol, length)
                     : pseudo_header_sum(src.v6(), dst.v6(), protocol, length);
}

}  // namespace wire
NVO_END_NAMESPACE
