// File: nvo/simd/hash.hpp
// A fast non-cryptographic hash for table keys: 64x64->128 multiply-fold mixing
// (the wyhash construction), 16 bytes per round, overlapping loads for the tail so
// short keys (12- and 36-byte flow tuples) take two or three multiplies. Not
// collision-resistant against an adversary: seed it per table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace simd {

namespace detail {
__extension__ using uint128 = unsigned __int128;

inline constexpr std::uint64_t mix_k0 = 0x9E3779B97F4A7C15u;
inline constexpr std::uint64_t mix_k1 = 0xD6E8FEB86659FD93u;
inline constexpr std::uint64_t mix_k2 = 0xA0761D6478BD642Fu;

[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t mum(std::uint64_t a, std::uint64_t b) noexcept {
  const uint128 r = static_cast<uint128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t load64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t load32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace detail

[[nodiscard]] inline std::uint64_t hash_bytes(std::span<const std::byte> data, std::uint64_t seed = 0) noexcept {
  using namespace detail;
  const std::byte* p = data.data();
  std::size_t n = data.size();
  std::uint64_t h = seed ^ mum(seed ^ mix_k0, n ^ mix_k1);
  for (; n > 16; n -= 16, p += 16) h = mum(load64(p) ^ mix_k1, load64(p + 8) ^ h);
  std::uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else if (n > 0) {
    a = (std::uint64_t{static_cast<std::uint8_t>(p[0])} << 16) |
        (std::uint64_t{static_cast<std::uint8_t>(p[n / 2])} << 8) | static_cast<std::uint8_t>(p[n - 1]);
  }
  h = mum(a ^ mix_k1, b ^ h ^ mix_k2);
  return mum(h ^ mix_k0, h ^ mix_k2 ^ data.size());
}

}  // namespace simd
NVO_END_NAMESPACE
