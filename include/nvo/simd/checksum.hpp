// File: nvo/simd/checksum.hpp
// Vectorised Internet checksum (RFC 1071) with the contract of nvo/base/checksum.hpp,
// which stays the constexpr scalar reference: for every buffer,
//   checksum_fold(simd::checksum_accumulate(b, s)) == checksum_fold(wire::checksum_accumulate(b, s)).
//
// Kernels sum native-order 16-bit words (RFC 1071 2(B): byte-order independence)
// and swap the folded result once. SIMD lanes hold signed words biased by 0x8000
// (x ^ 0x8000 == x - 32768 as int16), so pmaddwd / vpdpwssd can add word pairs
// into 32-bit lanes; the bias is added back per word at the end.
//
// Also: the IPv4 header fast path, pseudo-header sums (re-exported from wire),
// UDP's "computed 0 is sent as 0xFFFF" rule, RFC 1624 incremental update and a
// fused copy-and-checksum for segmentation.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nvo/base/checksum.hpp"
#include "nvo/simd/dispatch.hpp"

NVO_BEGIN_NAMESPACE
namespace simd {

using wire::checksum_finalize;
using wire::checksum_fold;
using wire::pseudo_header_sum;

namespace detail {
// checksum_fold's value in fewer steps: a 32-bit add with end-around carry, then
// (t + rotl(t, 16)) >> 16, whose top half is the end-around sum of t's halves.
[[nodiscard]] NVO_ALWAYS_INLINE std::uint16_t fold(std::uint64_t sum) noexcept {
  const auto lo = static_cast<std::uint32_t>(sum);
  std::uint32_t t = lo + static_cast<std::uint32_t>(sum >> 32);
  t += t < lo ? 1u : 0u;
  return static_cast<std::uint16_t>((t + std::rotl(t, 16)) >> 16);
}

// Adds a native-order word sum to a big-endian-domain sum (one swap, RFC 1071 2(B)).
[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t merge_native(std::uint64_t sum, std::uint64_t native) noexcept {
  std::uint16_t folded = fold(native);
  if constexpr (std::endian::native == std::endian::little) folded = __builtin_bswap16(folded);
  return sum + folded;
}
// Every signed 32-bit lane takes at most 65536 per vector, so each
// accumulator stays exact for 16384 vectors (1 MiB of 64-byte vectors)
// between reductions, however many accumulators a kernel keeps.
inline constexpr std::size_t block_vectors = 16384;
inline constexpr std::int64_t word_bias = 32768;

[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t load_native64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Native-order word sum of a short buffer, as plain code the compiler
// vectorizes for the TU's flags. From 64 bytes, one loop of 8-byte words, each
// adding its two 32-bit halves; below, the bits of n (32, 16, 8) pick
// fixed-count pieces, with no loop and vector epilogue to enter. The last 1..7
// bytes come from one load ending at the buffer's end with the bytes already
// summed shifted out, which leaves them at word-aligned places of a zero-filled
// word (RFC 1071's odd-byte rule). Exact below 2^31 bytes.
template <std::size_t Bytes>
[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t dword_sum(const std::byte* p) noexcept {
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < Bytes; i += 4) {
    std::uint32_t w;
    std::memcpy(&w, p + i, 4);
    acc += w;
  }
  return acc;
}

[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t short_native_sum(const std::byte* p, std::size_t n) noexcept {
  std::uint64_t acc = 0;
  const auto add_tail = [&](std::size_t left) noexcept {
    const std::uint64_t last = load_native64(p + n - 8);
    const auto drop = static_cast<unsigned>(64 - 8 * left);
    const std::uint64_t w = std::endian::native == std::endian::little ? last >> drop : last << drop;
    acc += (w & 0xFFFFFFFFu) + (w >> 32);
  };
  if (n >= 64) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const std::uint64_t w = load_native64(p + i);
      acc += (w & 0xFFFFFFFFu) + (w >> 32);
    }
    if (i != n) add_tail(n - i);
    return acc;
  }
  if (n >= 8) {
    const std::byte* q = p;
    if ((n & 32) != 0) {
      acc += dword_sum<32>(q);
      q += 32;
    }
    if ((n & 16) != 0) {
      acc += dword_sum<16>(q);
      q += 16;
    }
    if ((n & 8) != 0) acc += dword_sum<8>(q);
    if ((n & 7) != 0) add_tail(n & 7);
    return acc;
  }
  std::size_t i = 0;
  if (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    i = 4;
  }
  if (i + 2 <= n) {
    std::uint16_t w;
    std::memcpy(&w, p + i, 2);
    acc += w;
    i += 2;
  }
  if (i < n) {
    const std::uint64_t b = static_cast<std::uint8_t>(p[i]);
    acc += std::endian::native == std::endian::little ? b : b << 8;
  }
  return acc;
}
}  // namespace detail

namespace scalar {
[[nodiscard]] inline std::uint64_t checksum_accumulate(const std::byte* p, std::size_t n, std::uint64_t sum) noexcept {
  return wire::checksum_accumulate({p, n}, sum);
}
[[nodiscard]] inline std::uint64_t copy_checksum_accumulate(std::byte* dst, const std::byte* src, std::size_t n,
                                                            std::uint64_t sum) noexcept {
  if (n != 0) std::memcpy(dst, src, n);
  return wire::checksum_accumulate({dst, n}, sum);
}
inline void copy(std::byte* dst, const std::byte* src, std::size_t n) noexcept {
  if (n != 0) std::memcpy(dst, src, n);
}
}  // namespace scalar

#if NVO_SIMD_X86
namespace sse42 {

[[gnu::target(NVO_SIMD_TARGET_SSE42)]] NVO_ALWAYS_INLINE std::int64_t reduce(__m128i v) noexcept {
  const __m128i lo = _mm_cvtepi32_epi64(v);
  const __m128i hi = _mm_cvtepi32_epi64(_mm_unpackhi_epi64(v, v));
  const __m128i s = _mm_add_epi64(lo, hi);
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

[[gnu::target(NVO_SIMD_TARGET_SSE42)]] [[nodiscard]] inline std::uint64_t checksum_accumulate(
    const std::byte* p, std::size_t n, std::uint64_t sum) noexcept {
  const __m128i bias = _mm_set1_epi16(static_cast<std::int16_t>(0x8000));
  const __m128i ones = _mm_set1_epi16(1);
  std::int64_t total = 0;
  while (n >= 16) {
    const std::size_t vecs = std::min(n / 16, simd::detail::block_vectors);
    __m128i a0 = _mm_setzero_si128(), a1 = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 2 <= vecs; i += 2) {
      const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i + 16));
      a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_xor_si128(v0, bias), ones));
      a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_xor_si128(v1, bias), ones));
    }
    if (i < vecs) {
      const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_xor_si128(v0, bias), ones));
    }
    total += reduce(_mm_add_epi32(a0, a1)) + simd::detail::word_bias * 8 * static_cast<std::int64_t>(vecs);
    p += 16 * vecs;
    n -= 16 * vecs;
  }
  return wire::checksum_accumulate({p, n}, simd::detail::merge_native(sum, static_cast<std::uint64_t>(total)));
}

[[gnu::target(NVO_SIMD_TARGET_SSE42)]] [[nodiscard]] inline std::uint64_t copy_checksum_accumulate(
    std::byte* dst, const std::byte* src, std::size_t n, std::uint64_t sum) noexcept {
  if (n != 0) std::memcpy(dst, src, n);
  return checksum_accumulate(dst, n, sum);
}

}  // namespace sse42

namespace avx2 {

[[gnu::target(NVO_SIMD_TARGET_AVX2)]] NVO_ALWAYS_INLINE std::int64_t reduce(__m256i v) noexcept {
  const __m256i s = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)),
                                     _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
  const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  return _mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1);
}

[[gnu::target(NVO_SIMD_TARGET_AVX2)]] NVO_ALWAYS_INLINE __m256i step(__m256i acc, __m256i v) noexcept {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_xor_si256(v, _mm256_set1_epi16(static_cast<std::int16_t>(0x8000))),
                                                 _mm256_set1_epi16(1)));
}

// Sums full 32-byte vectors; returns the native word sum and advances p/n.
template <bool Copy>
[[gnu::target(NVO_SIMD_TARGET_AVX2)]] NVO_ALWAYS_INLINE std::int64_t vector_sum(std::byte*& dst, const std::byte*& p,
                                                                                std::size_t& n) noexcept {
  std::int64_t total = 0;
  while (n >= 32) {
    const std::size_t vecs = std::min(n / 32, simd::detail::block_vectors);
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 2 <= vecs; i += 2) {
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i + 32));
      if constexpr (Copy) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * i), v0);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * i + 32), v1);
      }
      a0 = step(a0, v0);
      a1 = step(a1, v1);
    }
    if (i < vecs) {
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
      if constexpr (Copy) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * i), v0);
      a0 = step(a0, v0);
    }
    total += reduce(_mm256_add_epi32(a0, a1)) +
             simd::detail::word_bias * 16 * static_cast<std::int64_t>(vecs);
    p += 32 * vecs;
    if constexpr (Copy) dst += 32 * vecs;
    n -= 32 * vecs;
  }
  return total;
}

[[gnu::target(NVO_SIMD_TARGET_AVX2)]] [[nodiscard]] inline std::uint64_t checksum_accumulate(
    const std::byte* p, std::size_t n, std::uint64_t sum) noexcept {
  std::byte* unused = nullptr;
  const std::int64_t total = vector_sum<false>(unused, p, n);
  return wire::checksum_accumulate({p, n}, simd::detail::merge_native(sum, static_cast<std::uint64_t>(total)));
}

[[gnu::target(NVO_SIMD_TARGET_AVX2)]] [[nodiscard]] inline std::uint64_t copy_checksum_accumulate(
    std::byte* dst, const std::byte* src, std::size_t n, std::uint64_t sum) noexcept {
  const std::int64_t total = vector_sum<true>(dst, src, n);
  if (n != 0) std::memcpy(dst, src, n);
  return wire::checksum_accumulate({src, n}, simd::detail::merge_native(sum, static_cast<std::uint64_t>(total)));
}

}  // namespace avx2

// GCC 12's AVX-512 intrinsics start from _mm*_undefined_*() and trip a false
// -W(maybe-)uninitialized (GCC PR 105593) once inlined here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
namespace avx512 {

[[gnu::target(NVO_SIMD_TARGET_AVX512)]] NVO_ALWAYS_INLINE std::int64_t reduce(__m512i v) noexcept {
  return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)),
                                                  _mm512_cvtepi32_epi64(_mm512_maskz_extracti64x4_epi64(0xFF, v, 1))));
}

// Cheaper when the lanes' total provably fits in int32: each vector adds at most
// 2^20 in magnitude across its 16 lanes, so below 2048 vectors.
[[gnu::target(NVO_SIMD_TARGET_AVX512)]] NVO_ALWAYS_INLINE std::int64_t reduce_small(__m512i v) noexcept {
  return _mm512_reduce_add_epi32(v);
}
inline constexpr std::size_t small_reduce_vectors = 2048;

[[gnu::target(NVO_SIMD_TARGET_AVX512)]] NVO_ALWAYS_INLINE __m512i biased(__m512i v) noexcept {
  return _mm512_xor_si512(v, _mm512_set1_epi16(static_cast<std::int16_t>(0x8000)));
}

[[gnu::target(NVO_SIMD_TARGET_AVX512)]] NVO_ALWAYS_INLINE __m512i step_bw(__m512i acc, __m512i v) noexcept {
  return _mm512_add_epi32(acc, _mm512_madd_epi16(biased(v), _mm512_set1_epi16(1)));
}

[[gnu::target(NVO_SIMD_TARGET_AVX512VNNI)]] NVO_ALWAYS_INLINE __m512i step_vnni(__m512i acc, __m512i v) noexcept {
  return _mm512_dpwssd_epi32(acc, biased(v), _mm512_set1_epi16(1));
}

// The loads run over the 64-byte lines the buffer touches (a copy: the lines of
// the destination, so no store splits a line), so none splits a cache line: the
// first and last are zero-filling masked loads (masked-off bytes are neither read
// nor fault), and zero fill is RFC 1071's odd-byte rule. Lanes hold words in the
// order of that line grid, so from an odd offset every word is byte-swapped and
// the folded sum is swapped back (RFC 1071 2(B)). Eight accumulators cover the
// multiply-add latency at one vector per cycle; they meet once per block.
// Step is step_bw or step_vnni; the caller's target decides which may inline.
#define NVO_SIMD_AVX512_CHECKSUM_BODY(STEP, COPY)                                                          \
  if (n == 0) return sum;                                                                                  \
  /* a copy aligns to dst: a split store costs more than a split load */                                  \
  const auto off = static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(COPY ? dst : p) & 63);          \
  const auto* q = reinterpret_cast<const std::byte*>(reinterpret_cast<std::uintptr_t>(p) - off);           \
  std::byte* d = COPY ? reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(dst) - off) : nullptr; \
  const std::size_t lines = (off + n + 63) / 64;                                                           \
  const auto end_bits = static_cast<unsigned>((off + n) & 63);                                             \
  const __mmask64 last_mask = end_bits == 0 ? ~__mmask64{0} : _bzhi_u64(~std::uint64_t{0}, end_bits);      \
  const __mmask64 head_mask = lines == 1 ? (~__mmask64{0} << off) & last_mask : ~__mmask64{0} << off;      \
  const __m512i zero = _mm512_setzero_si512();                                                             \
  std::int64_t total = 0;                                                                                  \
  __m512i edge; /* the head and tail vectors */                                                            \
  {                                                                                                        \
    const __m512i v = _mm512_maskz_loadu_epi8(head_mask, q);                                               \
    if (COPY) _mm512_mask_storeu_epi8(d, head_mask, v);                                                    \
    edge = STEP(zero, v);                                                                                  \
  }                                                                                                        \
  __m512i acc = zero;                                                                                      \
  if (lines > 1) {                                                                                         \
    std::size_t mid = lines - 2;                                                                           \
    const std::byte* r = q + 64;                                                                           \
    std::byte* w = COPY ? d + 64 : nullptr;                                                                \
    for (;;) {                                                                                             \
      /* Room for the head and tail vectors in the first and last blocks. */                               \
      const std::size_t c = std::min(mid, simd::detail::block_vectors - 2);                                      \
      __m512i a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;      \
      std::size_t i = 0;                                                                                   \
      for (; i + 8 <= c; i += 8) {                                                                         \
        const __m512i v0 = _mm512_loadu_si512(r + 64 * i);                                                  \
        const __m512i v1 = _mm512_loadu_si512(r + 64 * i + 64);                                             \
        const __m512i v2 = _mm512_loadu_si512(r + 64 * i + 128);                                            \
        const __m512i v3 = _mm512_loadu_si512(r + 64 * i + 192);                                            \
        const __m512i v4 = _mm512_loadu_si512(r + 64 * i + 256);                                            \
        const __m512i v5 = _mm512_loadu_si512(r + 64 * i + 320);                                            \
        const __m512i v6 = _mm512_loadu_si512(r + 64 * i + 384);                                            \
        const __m512i v7 = _mm512_loadu_si512(r + 64 * i + 448);                                            \
        if (COPY) {                                                                                        \
          _mm512_storeu_si512(w + 64 * i, v0);                                                             \
          _mm512_storeu_si512(w + 64 * i + 64, v1);                                                        \
          _mm512_storeu_si512(w + 64 * i + 128, v2);                                                       \
          _mm512_storeu_si512(w + 64 * i + 192, v3);                                                       \
          _mm512_storeu_si512(w + 64 * i + 256, v4);                                                       \
          _mm512_storeu_si512(w + 64 * i + 320, v5);                                                       \
          _mm512_storeu_si512(w + 64 * i + 384, v6);                                                       \
          _mm512_storeu_si512(w + 64 * i + 448, v7);                                                       \
        }                                                                                                  \
        a0 = STEP(a0, v0);                                                                                 \
        a1 = STEP(a1, v1);                                                                                 \
        a2 = STEP(a2, v2);                                                                                 \
        a3 = STEP(a3, v3);                                                                                 \
        a4 = STEP(a4, v4);                                                                                 \
        a5 = STEP(a5, v5);                                                                                 \
        a6 = STEP(a6, v6);                                                                                 \
        a7 = STEP(a7, v7);                                                                                 \
      }                                                                                                    \
      /* The 0..7 left over spread over the accumulators too: no serial chain. */                         \
      if (i + 4 <= c) {                                                                                    \
        const __m512i v0 = _mm512_loadu_si512(r + 64 * i);                                                  \
        const __m512i v1 = _mm512_loadu_si512(r + 64 * i + 64);                                             \
        const __m512i v2 = _mm512_loadu_si512(r + 64 * i + 128);                                            \
        const __m512i v3 = _mm512_loadu_si512(r + 64 * i + 192);                                            \
        if (COPY) {                                                                                        \
          _mm512_storeu_si512(w + 64 * i, v0);                                                             \
          _mm512_storeu_si512(w + 64 * i + 64, v1);                                                        \
          _mm512_storeu_si512(w + 64 * i + 128, v2);                                                       \
          _mm512_storeu_si512(w + 64 * i + 192, v3);                                                       \
        }                                                                                                  \
        a0 = STEP(a0, v0);                                                                                 \
        a1 = STEP(a1, v1);                                                                                 \
        a2 = STEP(a2, v2);                                                                                 \
        a3 = STEP(a3, v3);                                                                                 \
        i += 4;                                                                                            \
      }                                                                                                    \
      if (i < c) {                                                                                         \
        const __m512i v = _mm512_loadu_si512(r + 64 * i);                                                   \
        if (COPY) _mm512_storeu_si512(w + 64 * i, v);                                                      \
        a4 = STEP(a4, v);                                                                                  \
      }                                                                                                    \
      if (i + 1 < c) {                                                                                     \
        const __m512i v = _mm512_loadu_si512(r + 64 * i + 64);                                              \
        if (COPY) _mm512_storeu_si512(w + 64 * i + 64, v);                                                 \
        a5 = STEP(a5, v);                                                                                  \
      }                                                                                                    \
      if (i + 2 < c) {                                                                                     \
        const __m512i v = _mm512_loadu_si512(r + 64 * i + 128);                                             \
        if (COPY) _mm512_storeu_si512(w + 64 * i + 128, v);                                                \
        a6 = STEP(a6, v);                                                                                  \
      }                                                                                                    \
      r += 64 * c;                                                                                         \
      if (COPY) w += 64 * c;                                                                               \
      mid -= c;                                                                                            \
      acc = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),         \
                             _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));        \
      if (mid == 0) break;                                                                                 \
      total += reduce(acc);                                                                                \
    }                                                                                                      \
    const __m512i v = _mm512_maskz_loadu_epi8(last_mask, r);                                               \
    if (COPY) _mm512_mask_storeu_epi8(w, last_mask, v);                                                    \
    edge = STEP(edge, v);                                                                                  \
  }                                                                                                        \
  acc = _mm512_add_epi32(acc, edge);                                                                       \
  total += (lines < small_reduce_vectors ? reduce_small(acc) : reduce(acc)) +                              \
           simd::detail::word_bias * 32 * static_cast<std::int64_t>(lines);                                       \
  return (off & 1) != 0 ? sum + simd::detail::fold(static_cast<std::uint64_t>(total))                            \
                        : simd::detail::merge_native(sum, static_cast<std::uint64_t>(total));

[[gnu::target(NVO_SIMD_TARGET_AVX512)]] [[nodiscard]] inline std::uint64_t checksum_accumulate_bw(
    const std::byte* p, std::size_t n, std::uint64_t sum) noexcept {
  std::byte* dst = nullptr;
  NVO_SIMD_AVX512_CHECKSUM_BODY(step_bw, false)
}

[[gnu::target(NVO_SIMD_TARGET_AVX512VNNI)]] [[nodiscard]] inline std::uint64_t checksum_accumulate_vnni(
    const std::byte* p, std::size_t n, std::uint64_t sum) noexcept {
  std::byte* dst = nullptr;
  NVO_SIMD_AVX512_CHECKSUM_BODY(step_vnni, false)
}

[[gnu::target(NVO_SIMD_TARGET_AVX512)]] [[nodiscard]] inline std::uint64_t copy_checksum_accumulate(
    std::byte* dst, const std::byte* p, std::size_t n, std::uint64_t sum) noexcept {
  NVO_SIMD_AVX512_CHECKSUM_BODY(step_bw, true)
}
#undef NVO_SIMD_AVX512_CHECKSUM_BODY

// A plain copy (reassembly: segment payloads into a frame buffer) whose stores
// are aligned to the destination's lines: a line-splitting store costs two
// cache accesses, a line-splitting load less. The head and tail vectors
// overlap the body. PRECONDITION: the ranges do not overlap.
[[gnu::target(NVO_SIMD_TARGET_AVX512)]] inline void copy(std::byte* dst, const std::byte* src,
                                                         std::size_t n) noexcept {
  if (n <= 64) {
    const __mmask64 m = _bzhi_u64(~std::uint64_t{0}, static_cast<unsigned>(n));
    _mm512_mask_storeu_epi8(dst, m, _mm512_maskz_loadu_epi8(m, src));
    return;
  }
  const __m512i head = _mm512_loadu_si512(src);
  const __m512i tail = _mm512_loadu_si512(src + n - 64);
  const std::size_t skip = 64 - (reinterpret_cast<std::uintptr_t>(dst) & 63);  // 1..64
  std::byte* d = dst + skip;
  const std::byte* s = src + skip;
  std::size_t left = n - skip;  // the body: whole lines from d, then the tail
  for (; left >= 256; left -= 256, d += 256, s += 256) {
    const __m512i v0 = _mm512_loadu_si512(s);
    const __m512i v1 = _mm512_loadu_si512(s + 64);
    const __m512i v2 = _mm512_loadu_si512(s + 128);
    const __m512i v3 = _mm512_loadu_si512(s + 192);
    _mm512_store_si512(d, v0);
    _mm512_store_si512(d + 64, v1);
    _mm512_store_si512(d + 128, v2);
    _mm512_store_si512(d + 192, v3);
  }
  for (; left >= 64; left -= 64, d += 64, s += 64) _mm512_store_si512(d, _mm512_loadu_si512(s));
  _mm512_storeu_si512(dst, head);
  _mm512_storeu_si512(dst + n - 64, tail);
}

// VNNI fuses the multiply-add and the accumulate: one fewer uop per vector.
// PRECONDITION: supported(isa::avx512).
[[nodiscard]] inline std::uint64_t checksum_accumulate(const std::byte* p, std::size_t n, std::uint64_t sum) noexcept {
  return cpu().avx512_vnni ? checksum_accumulate_vnni(p, n, sum) : checksum_accumulate_bw(p, n, sum);
}

}  // namespace avx512
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // NVO_SIMD_X86

// One ISA's kernels, for per-object capture: read once, call many times.
// copy is copy_accumulate without the sum, for copies that need none.
struct checksum_kernels {
  isa id;
  std::uint64_t (*accumulate)(const std::byte* p, std::size_t n, std::uint64_t sum) noexcept;
  std::uint64_t (*copy_accumulate)(std::byte* dst, const std::byte* src, std::size_t n, std::uint64_t sum) noexcept;
  void (*copy)(std::byte* dst, const std::byte* src, std::size_t n) noexcept;
};

// PRECONDITION: supported(i).
[[nodiscard]] inline const checksum_kernels& checksum_kernels_for(isa i) noexcept {
  NVO_ASSERT(supported(i));
  static const std::array<checksum_kernels, isa_count> table = [] {
    std::array<checksum_kernels, isa_count> t{};
    for (auto& k : t) k = {isa::scalar, &scalar::checksum_accumulate, &scalar::copy_checksum_accumulate, &scalar::copy};
#if NVO_SIMD_X86
    t[1] = {isa::sse42, &sse42::checksum_accumulate, &sse42::copy_checksum_accumulate, &scalar::copy};
    t[2] = {isa::avx2, &avx2::checksum_accumulate, &avx2::copy_checksum_accumulate, &scalar::copy};
    t[3] = {isa::avx512,
            cpu().avx512_vnni ? &avx512::checksum_accumulate_vnni : &avx512::checksum_accumulate_bw,
            &avx512::copy_checksum_accumulate, &avx512::copy};
#endif
    return t;
  }();
  return table[static_cast<std::size_t>(i)];
}

[[nodiscard]] inline const checksum_kernels& active_checksum_kernels() noexcept {
  return checksum_kernels_for(active());
}

// Below this many bytes the sum is inlined generic code: no dispatch (a relaxed
// load and an indirect call), and the compiler vectorizes it for the TU's flags,
// as it does DPDK's rte_raw_cksum. Above it the kernel's throughput outweighs
// the call.
inline constexpr std::size_t short_checksum_bytes = 1024;

// Adds data to a running one's-complement sum (same contract as wire::checksum_accumulate).
[[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t checksum_accumulate(wire::const_bytes data,
                                                                 std::uint64_t sum = 0) noexcept {
  if (data.size() < short_checksum_bytes) {
    return detail::merge_native(sum, detail::short_native_sum(data.data(), data.size()));
  }
  return active_checksum_kernels().accumulate(data.data(), data.size(), sum);
}

// Copies src to dst (dst.size() >= src.size()) and returns the sum of the copied bytes.
[[nodiscard]] inline std::uint64_t copy_checksum_accumulate(wire::bytes dst, wire::const_bytes src,
                                                            std::uint64_t sum = 0) noexcept {
  NVO_ASSERT(dst.size() >= src.size());
  return active_checksum_kernels().copy_accumulate(dst.data(), src.data(), src.size(), sum);
}

[[nodiscard]] NVO_ALWAYS_INLINE std::uint16_t checksum(wire::const_bytes data) noexcept {
  if (data.size() < short_checksum_bytes) {  // one fold: no running sum to merge into
    std::uint16_t folded = detail::fold(detail::short_native_sum(data.data(), data.size()));
    if constexpr (std::endian::native == std::endian::little) folded = __builtin_bswap16(folded);
    return static_cast<std::uint16_t>(~folded);
  }
  return static_cast<std::uint16_t>(~detail::fold(active_checksum_kernels().accumulate(data.data(), data.size(), 0)));
}

// IPv4 header checksum with the checksum field (bytes 10-11) taken as zero.
// PRECONDITION: header.size() is the IHL length, 20..60 and a multiple of 4.
[[nodiscard]] inline std::uint16_t ipv4_header_checksum(wire::const_bytes header) noexcept {
  NVO_ASSERT(header.size() >= 20 && header.size() <= 60 && header.size() % 4 == 0);
  const std::byte* h = header.data();
  std::uint64_t a, b;
  std::uint32_t c;
  std::memcpy(&a, h, 8);
  std::memcpy(&b, h + 8, 8);
  std::memcpy(&c, h + 16, 4);
  if constexpr (std::endian::native == std::endian::little) {
    b &= ~(std::uint64_t{0xFFFF} << 16);
  } else {
    b &= ~(std::uint64_t{0xFFFF} << 32);
  }
  std::uint64_t s = (a & 0xFFFFFFFFu) + (a >> 32) + (b & 0xFFFFFFFFu) + (b >> 32) + c;
  for (std::size_t off = 20; off < header.size(); off += 4) {
    std::uint32_t o;
    std::memcpy(&o, h + off, 4);
    s += o;
  }
  return checksum_finalize(detail::merge_native(0, s));
}

// True when a received header (checksum field included) verifies.
[[nodiscard]] inline bool ipv4_header_checksum_ok(wire::const_bytes header) noexcept {
  return wire::checksum_verifies_words(header);
}

// TCP (or any L4 using the pseudo-header) checksum field value for a segment
// whose checksum field is zero.
[[nodiscard]] inline std::uint16_t l4_checksum(std::uint64_t pseudo_sum, wire::const_bytes segment) noexcept {
  return checksum_finalize(checksum_accumulate(segment, pseudo_sum));
}

// RFC 768: a computed UDP checksum of zero is transmitted as 0xFFFF (zero means "none").
[[nodiscard]] constexpr std::uint16_t udp_checksum_field(std::uint16_t computed) noexcept {
  return computed == 0 ? std::uint16_t{0xFFFF} : computed;
}

[[nodiscard]] inline std::uint16_t udp_checksum(std::uint64_t pseudo_sum, wire::const_bytes datagram) noexcept {
  return udp_checksum_field(l4_checksum(pseudo_sum, datagram));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Unlike RFC 1141's HC + m + ~m' it never
// turns a checksum that should be 0x0000 into -0 (0xFFFF).
[[nodiscard]] constexpr std::uint16_t checksum_update(std::uint16_t hc, std::uint16_t old_word,
                                                      std::uint16_t new_word) noexcept {
  return checksum_finalize(std::uint64_t{static_cast<std::uint16_t>(~hc)} +
                           static_cast<std::uint16_t>(~old_word) + new_word);
}

// The same for a 32-bit field (an IPv4 address).
[[nodiscard]] constexpr std::uint16_t checksum_update32(std::uint16_t hc, std::uint32_t old_value,
                                                        std::uint32_t new_value) noexcept {
  return checksum_finalize(std::uint64_t{static_cast<std::uint16_t>(~hc)} +
                           static_cast<std::uint16_t>(~(old_value >> 16)) +
                           static_cast<std::uint16_t>(~old_value) + (new_value >> 16) + (new_value & 0xFFFF));
}

// UDP: a zero field means "no checksum" and stays zero; an updated value of zero
// is sent as 0xFFFF.
[[nodiscard]] constexpr std::uint16_t udp_checksum_update(std::uint16_t hc, std::uint16_t old_word,
                                                          std::uint16_t new_word) noexcept {
  return hc == 0 ? std::uint16_t{0} : udp_checksum_field(checksum_update(hc, old_word, new_word));
}

}  // namespace simd
NVO_END_NAMESPACE
