// File: nvo/simd/crc32c.hpp
// CRC-32C (Castagnoli, iSCSI/SCTP polynomial 0x1EDC6F41, reflected 0x82F63B78).
//
// Chaining convention as zlib's crc32(): seed is the CRC of the preceding bytes
// (0 for none), so crc32c(b, crc32c(a)) == crc32c(a ++ b) and
// crc32c("123456789") == 0xE3069283. crc32c_u64(v, seed) equals crc32c over the
// 8 bytes of v in memory (little-endian) order. The SSE4.2 crc32 instruction path
// and the constexpr table path return identical values; which one runs is
// chosen at run time (nvo/simd/dispatch.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "nvo/simd/dispatch.hpp"

NVO_BEGIN_NAMESPACE
namespace simd {

namespace scalar {

inline constexpr std::array<std::uint32_t, 256> crc32c_table = [] {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    t[i] = c;
  }
  return t;
}();

// Raw register update: no pre/post inversion (what the crc32 instruction does).
[[nodiscard]] constexpr std::uint32_t crc32c_update(std::uint32_t reg, std::span<const std::byte> data) noexcept {
  for (std::byte b : data) reg = (reg >> 8) ^ crc32c_table[(reg ^ static_cast<std::uint32_t>(b)) & 0xFFu];
  return reg;
}

[[nodiscard]] constexpr std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t seed = 0) noexcept {
  return ~crc32c_update(~seed, data);
}

[[nodiscard]] constexpr std::uint32_t crc32c_u64(std::uint64_t value, std::uint32_t seed) noexcept {
  std::uint32_t reg = ~seed;
  for (int k = 0; k < 8; ++k, value >>= 8) reg = (reg >> 8) ^ crc32c_table[(reg ^ value) & 0xFFu];
  return ~reg;
}

}  // namespace scalar

#if NVO_SIMD_X86
// The crc32 instruction through inline asm rather than intrinsics: the assembler
// takes it whatever the TU's -m flags, so these inline into any caller (a
// [[gnu::target]] function would be an out-of-line call from a baseline TU).
// PRECONDITION for everything in sse42::: the CPU has SSE4.2.
namespace sse42 {
namespace detail {
[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t crc_u64(std::uint64_t reg, std::uint64_t v) noexcept {
  asm("crc32q %1, %0" : "+r"(reg) : "rm"(v));
  return reg;
}
[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t crc_u32(std::uint32_t reg, std::uint32_t v) noexcept {
  asm("crc32l %1, %0" : "+r"(reg) : "rm"(v));
  return reg;
}
[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t crc_u16(std::uint32_t reg, std::uint16_t v) noexcept {
  asm("crc32w %1, %0" : "+r"(reg) : "rm"(v));
  return reg;
}
[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t crc_u8(std::uint32_t reg, std::uint8_t v) noexcept {
  asm("crc32b %1, %0" : "+r"(reg) : "rm"(v));
  return reg;
}
}  // namespace detail

[[nodiscard]] inline std::uint32_t crc32c_update(std::uint32_t reg, const std::byte* p, std::size_t n) noexcept {
  std::uint64_t r = reg;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    r = detail::crc_u64(r, w);
  }
  auto r32 = static_cast<std::uint32_t>(r);
  if (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    r32 = detail::crc_u32(r32, w);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    r32 = detail::crc_u16(r32, w);
    p += 2;
    n -= 2;
  }
  if (n != 0) r32 = detail::crc_u8(r32, static_cast<std::uint8_t>(*p));
  return r32;
}

[[nodiscard]] inline std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t seed = 0) noexcept {
  return ~crc32c_update(~seed, data.data(), data.size());
}

[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t crc32c_u64(std::uint64_t value, std::uint32_t seed) noexcept {
  return ~static_cast<std::uint32_t>(detail::crc_u64(~seed, value));
}

}  // namespace sse42
#endif

// Dispatched entry points: the crc32 instruction when the active path is sse42
// or better (one relaxed load and a predicted branch), the table otherwise.
[[nodiscard]] inline std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t seed = 0) noexcept {
#if NVO_SIMD_X86
  if (NVO_PREDICT_TRUE(active() >= isa::sse42)) return sse42::crc32c(data, seed);
#endif
  return scalar::crc32c(data, seed);
}

[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t crc32c_u64(std::uint64_t value, std::uint32_t seed) noexcept {
#if NVO_SIMD_X86
  if (NVO_PREDICT_TRUE(active() >= isa::sse42)) return sse42::crc32c_u64(value, seed);
#endif
  return scalar::crc32c_u64(value, seed);
}

}  // namespace simd
NVO_END_NAMESPACE
