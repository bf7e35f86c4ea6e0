// File: nvo/table/hash.hpp
// Default hash policy for nvo's tables: two independent 32-bit CRC32C lanes.
//
// The table picks the primary bucket from the low 32 bits and the secondary
// (cuckoo) bucket from the high 32 bits, so the lanes use different seeds.
// CRC32C is what DPDK's rte_hash and the peers in the benchmark use.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "nvo/config.hpp"

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

NVO_BEGIN_NAMESPACE
namespace table {
namespace detail {

inline constexpr std::array<std::uint32_t, 256> crc32c_table = [] {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    t[i] = c;
  }
  return t;
}();

// crc32c_step: one 64-bit CRC32C (Castagnoli) step; the instruction when the
// build targets SSE4.2, else a byte table (same results, portable builds).
[[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t crc32c_step(std::uint32_t crc, std::uint64_t v) noexcept {
#if defined(__SSE4_2__)
  return static_cast<std::uint32_t>(_mm_crc32_u64(crc, v));
#else
  for (int i = 0; i < 8; ++i, v >>= 8) crc = (crc >> 8) ^ crc32c_table[(crc ^ v) & 0xFF];
  return crc;
#endif
}

}  // namespace detail

// crc32c_hash: hashes any key of up to 64 bytes as 64-bit words.
// The low lane is the CRC32C of the key. CRC is linear over GF(2), so a second
// CRC lane with another seed would differ from the first by a constant and
// pick correlated buckets; the high lane is instead a multiplicative mix of
// the low one (as DPDK derives its alternative bucket from one CRC).
struct crc32c_hash {
  static constexpr std::uint32_t seed = 0x9E3779B9u;

  template <class Key>
  [[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t operator()(const Key& k) const noexcept {
    constexpr std::size_t words = (sizeof(Key) + 7) / 8;
    std::array<std::uint64_t, words> w{};
    std::memcpy(w.data(), &k, sizeof(Key));
    std::uint32_t lo = seed;
    for (std::size_t i = 0; i < words; ++i) lo = detail::crc32c_step(lo, w[i]);
    const std::uint64_t hi = (static_cast<std::uint64_t>(lo) * 0x9E3779B97F4A7C15ull) >> 32;
    return hi << 32 | lo;
  }
};

}  // namespace table
NVO_END_NAMESPACE
