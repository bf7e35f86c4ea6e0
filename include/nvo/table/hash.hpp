// File: nvo/table/hash.hpp
// Hash policies for nvo's tables: keyed_hash (the default) and crc32c_hash.
//
// A table takes its primary bucket from the low 32 bits of the hash and its
// secondary (cuckoo) bucket from the high 32 bits, so the two halves must be
// independent: keys that share one bucket must not share the other.
//
// HASH FLOODING
//   Keys come from tenants: a VM picks the source MACs that learning inserts,
//   and anyone on the underlay picks outer addresses. A hash an attacker can
//   evaluate offline lets them pick keys that all land in the same two
//   buckets. keyed_hash mixes the key with a 128-bit secret drawn per table
//   from the kernel's entropy source (getrandom), through 64x64->128-bit
//   multiplies, which are not linear over GF(2). This is the design of Go's
//   runtime maps and of Abseil's per-process seeded hash: not a MAC, but no
//   key set can be precomputed against a secret the attacker never sees.
//   The table adds defence in depth: a stash, at most one growth per call, no
//   growth at low load, so even colliding keys cost rejections, not memory.
//
//   crc32c_hash gives DPDK rte_hash's bucket placement (CRC32C of the key
//   words). CRC is linear over GF(2): for any seed, the key bit patterns that
//   leave it unchanged form a subspace that anyone can compute, so a few
//   chosen MACs collide in both buckets. Use it only for keys no tenant
//   controls (a controller-populated table) or for DPDK-identical placement.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <random>

#if defined(__linux__)
#include <sys/random.h>
#endif

#include "nvo/base/mix.hpp"
#include "nvo/config.hpp"
#include "nvo/simd/crc32c.hpp"
#include "nvo/simd/dispatch.hpp"

NVO_BEGIN_NAMESPACE
namespace table {

// The secret of a keyed hash. Pass a fixed one (table_options::seed) only for
// reproducible tests; production tables draw their own.
struct hash_seed {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
  friend constexpr bool operator==(const hash_seed&, const hash_seed&) = default;
};

// random_hash_seed(): 128 bits from getrandom(2) (the kernel CSPRNG), falling
// back to std::random_device where getrandom is unavailable. Control path.
[[nodiscard]] inline hash_seed random_hash_seed() {
  std::array<std::uint64_t, 2> k{};
#if defined(__linux__)
  if (getrandom(k.data(), sizeof(k), 0) == static_cast<ssize_t>(sizeof(k))) return {k[0], k[1]};
#endif
  std::random_device rd;
  for (auto& w : k) w = (std::uint64_t{rd()} << 32) ^ rd();
  return {k[0], k[1]};
}

namespace detail {
using wire::detail::mum;
using wire::detail::splitmix;

// load_bytes<N>(p): N <= 8 bytes at p as one little-endian word, zero-
// extended, by loads of 4, 2 and 1 bytes. Never a wide load over narrow
// stores: a copy into a zeroed array reloaded 8 bytes wide stalls on store
// forwarding.
template <std::size_t N>
[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t load_bytes(const unsigned char* p) noexcept {
  if constexpr (N >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  } else if constexpr (N >= 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v | load_bytes<N - 4>(p + 4) << 32;
  } else if constexpr (N >= 2) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v | load_bytes<N - 2>(p + 2) << 16;
  } else if constexpr (N == 1) {
    return p[0];
  } else {
    return 0;
  }
}

// object_words(t): the bytes of t as 64-bit words, the last zero-padded.
template <std::size_t I, std::size_t Size, std::size_t N>
NVO_ALWAYS_INLINE void fill_words(std::array<std::uint64_t, N>& w, const unsigned char* p) noexcept {
  if constexpr (I < N) {
    w[I] = load_bytes<std::min<std::size_t>(8, Size - 8 * I)>(p + 8 * I);
    fill_words<I + 1, Size>(w, p);
  }
}
template <class T>
[[nodiscard]] NVO_ALWAYS_INLINE std::array<std::uint64_t, (sizeof(T) + 7) / 8> object_words(const T& t) noexcept {
  std::array<std::uint64_t, (sizeof(T) + 7) / 8> w;
  fill_words<0, sizeof(T)>(w, reinterpret_cast<const unsigned char*>(&t));
  return w;
}
}  // namespace detail

// keyed_hash: the default policy. Keys of up to 64 bytes as 64-bit words,
// two words per multiply (one for a 12-byte {VNI, MAC} key, two for a
// 24-byte {VSID, IP} key), plus one final multiply. A default-constructed
// keyed_hash draws a random secret; keyed_hash(seed) is reproducible.
class keyed_hash {
 public:
  keyed_hash() : keyed_hash(random_hash_seed()) {}
  // Every secret word depends on both seed halves.
  explicit constexpr keyed_hash(hash_seed seed) noexcept {
    std::uint64_t x = seed.k0;
    std::uint64_t y = seed.k1 ^ 0x6A09E667F3BCC908ull;
    for (std::size_t i = 0; i < secrets_; ++i) s_[i] = detail::splitmix(x) ^ detail::splitmix(y);
  }

  template <class Key>
  [[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t operator()(const Key& k) const noexcept {
    const auto w = detail::object_words(k);
    constexpr std::size_t n = w.size();
    static_assert(n <= 8, "keyed_hash: keys of up to 64 bytes");
    std::uint64_t h = s_[0];
    for (std::size_t i = 0; i + 1 < n; i += 2) h = detail::mum(w[i] ^ s_[1 + i], w[i + 1] ^ s_[2 + i] ^ h);
    if constexpr (n % 2 == 1) h = detail::mum(w[n - 1] ^ s_[n], h ^ s_[9]);
    return detail::mum(h ^ s_[10], s_[11] ^ sizeof(Key));
  }

 private:
  static constexpr std::size_t secrets_ = 12;
  std::array<std::uint64_t, secrets_> s_{};
};

// crc32c_hash: DPDK-identical placement, NOT flood-resistant (see above).
// The low lane is the CRC32C of the key words (seed 0x9E3779B9); the high
// lane a multiplicative mix of it, as DPDK derives its alternative bucket
// from the one signature. Whether the CPU has the crc32 instruction is read
// once per object (when the table is built), not per key word.
class crc32c_hash {
 public:
  static constexpr std::uint32_t seed = 0x9E3779B9u;

  crc32c_hash() noexcept : hw_(simd::active() >= simd::isa::sse42) {}

  template <class Key>
  [[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t operator()(const Key& k) const noexcept {
    std::uint32_t lo = seed;
#if NVO_SIMD_X86
    if (NVO_PREDICT_TRUE(hw_)) {
      for (const std::uint64_t x : detail::object_words(k)) lo = simd::sse42::crc32c_u64(x, lo);
    } else
#endif
    {
      for (const std::uint64_t x : detail::object_words(k)) lo = simd::scalar::crc32c_u64(x, lo);
    }
    const std::uint64_t hi = (static_cast<std::uint64_t>(lo) * 0x9E3779B97F4A7C15ull) >> 32;
    return hi << 32 | lo;
  }

 private:
  bool hw_;
};

}  // namespace table
NVO_END_NAMESPACE
