// File: nvo/table/hash.hpp
// Default hash policy for nvo's tables: CRC32C of the key plus a
// multiplicative mix of it.
//
// The table picks the primary bucket from the low 32 bits and the secondary
// (cuckoo) bucket from the high 32 bits. CRC32C is what DPDK's rte_hash and the
// peers in the benchmark use; nvo::simd::crc32c_u64 runs the crc32 instruction
// when the build or the CPU has SSE4.2.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "nvo/config.hpp"
#include "nvo/simd/crc32c.hpp"

NVO_BEGIN_NAMESPACE
namespace table {

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
    for (std::size_t i = 0; i < words; ++i) lo = simd::crc32c_u64(w[i], lo);
    const std::uint64_t hi = (static_cast<std::uint64_t>(lo) * 0x9E3779B97F4A7C15ull) >> 32;
    return hi << 32 | lo;
  }
};

}  // namespace table
NVO_END_NAMESPACE
