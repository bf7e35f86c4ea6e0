// File: nvo/simd/toeplitz.hpp
// The Toeplitz hash exactly as NIC RSS computes it (Microsoft "RSS hashing
// functions"): for each input bit, MSB of byte 0 first, XOR in the 32 key bits
// that start at that bit position.
//
// Two paths, bit-identical:
//  - scalar: per-key table of each input byte position's contribution for all 256
//    byte values (36 x 256 x 4 bytes), so a hash is one load and XOR per byte;
//  - GFNI: hash byte j gathers input byte i through the 8x8 GF(2) matrix N(i+j) made
//    of key bits 8(i+j) .. 8(i+j)+14. A vpermb lays input bytes out so every 64-bit
//    lane t holds x[t], x[t-1], x[t-2], x[t-3]; one gf2p8affineqb per 8 lanes applies
//    N(t), and XOR-folding the lanes leaves the four hash bytes.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "nvo/base/address.hpp"
#include "nvo/simd/dispatch.hpp"

NVO_BEGIN_NAMESPACE
namespace simd {

// Microsoft's default RSS key (also Intel's and DPDK's test key).
inline constexpr std::array<std::uint8_t, 40> default_rss_key{
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

class toeplitz_key {
 public:
  static constexpr std::size_t max_key_size = 40;
  static constexpr std::size_t max_input_size = 36;  // IPv6 addresses + ports

  // Keys shorter than 40 bytes hash inputs of at most key.size() - 4 bytes.
  constexpr explicit toeplitz_key(std::span<const std::uint8_t> key = default_rss_key) noexcept
      : key_size_(key.size()) {
    NVO_ASSERT(key.size() >= 4 && key.size() <= max_key_size);
    for (std::size_t i = 0; i < key.size(); ++i) key_[i] = key[i];
    // Each byte value's contribution is its lowest set bit's key window XOR the rest.
    for (std::size_t i = 0; i < max_input_size; ++i) {
      std::array<std::uint32_t, 8> window{};
      for (std::size_t c = 0; c < 8; ++c) window[c] = key_window(8 * i + c);
      for (std::size_t v = 1; v < 256; ++v) {
        const auto low = static_cast<std::size_t>(std::countr_zero(v));
        table_[i][v] = table_[i][v & (v - 1)] ^ window[7 - low];
      }
    }
    for (std::size_t t = 0; t < gfni_lanes; ++t) {
      std::uint64_t m = 0;
      for (std::size_t r = 0; r < 8; ++r) {
        std::uint64_t row = 0;
        for (std::size_t c = 0; c < 8; ++c) row |= std::uint64_t{key_bit(8 * t + c + r)} << (7 - c);
        m |= row << (8 * r);
      }
      gfni_[t] = m;
    }
  }

  [[nodiscard]] constexpr std::size_t max_input() const noexcept {
    return std::min(max_input_size, key_size_ - 4);
  }
  [[nodiscard]] constexpr std::uint32_t byte_contribution(std::size_t pos, std::uint8_t v) const noexcept {
    return table_[pos][v];
  }
  [[nodiscard]] const std::uint64_t* gfni_matrices() const noexcept { return gfni_.data(); }

 private:
  static constexpr std::size_t gfni_lanes = 40;  // 5 vectors of 8 lanes: t = 0..39

  [[nodiscard]] constexpr std::uint32_t key_bit(std::size_t bit) const noexcept {
    return bit / 8 < key_size_ ? (key_[bit / 8] >> (7 - bit % 8)) & 1u : 0u;
  }
  // The 32 key bits starting at bit position `bit`, MSB first.
  [[nodiscard]] constexpr std::uint32_t key_window(std::size_t bit) const noexcept {
    std::uint32_t w = 0;
    for (std::size_t k = 0; k < 32; ++k) w = (w << 1) | key_bit(bit + k);
    return w;
  }

  std::array<std::uint8_t, max_key_size> key_{};
  std::size_t key_size_;
  alignas(64) std::array<std::uint64_t, gfni_lanes> gfni_{};
  std::array<std::array<std::uint32_t, 256>, max_input_size> table_{};
};

namespace scalar {
[[nodiscard]] constexpr std::uint32_t toeplitz(const toeplitz_key& key, std::span<const std::byte> input) noexcept {
  NVO_ASSERT(input.size() <= key.max_input());
  std::uint32_t h = 0;
  for (std::size_t i = 0; i < input.size(); ++i) h ^= key.byte_contribution(i, static_cast<std::uint8_t>(input[i]));
  return h;
}
}  // namespace scalar

#if NVO_SIMD_X86
// GCC 12's AVX-512 intrinsics start from _mm*_undefined_*() and trip a false
// -W(maybe-)uninitialized (GCC PR 105593) once inlined here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
namespace gfni {

// vpermb indices: lane t = 8c + q, byte k < 4 takes input byte t - k; everything
// else takes byte 63, which the masked load leaves zero (inputs are <= 36 bytes).
inline constexpr auto permute_indices = [] {
  std::array<std::array<std::uint8_t, 64>, 5> idx{};
  for (std::size_t c = 0; c < 5; ++c) {
    for (std::size_t q = 0; q < 8; ++q) {
      for (std::size_t k = 0; k < 8; ++k) {
        const std::size_t t = 8 * c + q;
        idx[c][8 * q + k] = static_cast<std::uint8_t>(k < 4 && t >= k ? t - k : 63);
      }
    }
  }
  return idx;
}();

// Inputs up to 36 bytes; bytes past n load as zero, which adds nothing to the hash.
[[gnu::target(NVO_SIMD_TARGET_GFNI)]] NVO_ALWAYS_INLINE std::uint32_t hash_bytes(const toeplitz_key& key,
                                                                                const std::byte* in,
                                                                                std::size_t n) noexcept {
  const __m512i x = _mm512_maskz_loadu_epi8(_bzhi_u64(~std::uint64_t{0}, static_cast<unsigned>(n)), in);
  const std::size_t chunks = (n + 3 + 7) / 8;  // lanes t = 0 .. n+2
  __m512i acc = _mm512_setzero_si512();
  for (std::size_t c = 0; c < chunks; ++c) {
    const __m512i idx = _mm512_loadu_si512(permute_indices[c].data());
    const __m512i m = _mm512_load_si512(key.gfni_matrices() + 8 * c);
    acc = _mm512_xor_si512(acc, _mm512_gf2p8affine_epi64_epi8(_mm512_permutexvar_epi8(idx, x), m, 0));
  }
  const __m256i h256 = _mm256_xor_si256(_mm512_castsi512_si256(acc), _mm512_maskz_extracti64x4_epi64(0xFF, acc, 1));
  const __m128i h128 = _mm_xor_si128(_mm256_castsi256_si128(h256), _mm256_extracti128_si256(h256, 1));
  const auto lanes = static_cast<std::uint64_t>(_mm_cvtsi128_si64(h128) ^ _mm_extract_epi64(h128, 1));
  return __builtin_bswap32(static_cast<std::uint32_t>(lanes));  // lane byte j = hash byte j (MSB first)
}

[[gnu::target(NVO_SIMD_TARGET_GFNI)]] [[nodiscard]] inline std::uint32_t toeplitz(
    const toeplitz_key& key, std::span<const std::byte> input) noexcept {
  NVO_ASSERT(input.size() <= key.max_input());
  return hash_bytes(key, input.data(), input.size());
}

// Fixed sizes let the chunk loop unroll.
[[gnu::target(NVO_SIMD_TARGET_GFNI)]] [[nodiscard]] inline std::uint32_t toeplitz12(const toeplitz_key& key,
                                                                                  const std::byte* in) noexcept {
  return hash_bytes(key, in, 12);
}
[[gnu::target(NVO_SIMD_TARGET_GFNI)]] [[nodiscard]] inline std::uint32_t toeplitz36(const toeplitz_key& key,
                                                                                  const std::byte* in) noexcept {
  return hash_bytes(key, in, 36);
}


// Bulk: one vector carries two tuples. Lane bytes 0-3 serve tuple a as above and
// bytes 4-7 serve tuple b (vpermt2b index 64 + t - k), since a lane's matrix N(t)
// has only four useful products per tuple. The folded lane holds both hashes.
inline constexpr auto pair_permute_indices = [] {
  std::array<std::array<std::uint8_t, 64>, 5> idx{};
  for (std::size_t c = 0; c < 5; ++c) {
    for (std::size_t q = 0; q < 8; ++q) {
      for (std::size_t k = 0; k < 8; ++k) {
        const std::size_t t = 8 * c + q;
        const std::size_t back = k % 4;
        const std::size_t base = k < 4 ? 0 : 64;
        idx[c][8 * q + k] = static_cast<std::uint8_t>(t >= back ? base + t - back : 63);
      }
    }
  }
  return idx;
}();

[[gnu::target(NVO_SIMD_TARGET_GFNI)]] NVO_ALWAYS_INLINE void hash_pair(const toeplitz_key& key, const std::byte* a,
                                                                      const std::byte* b, std::size_t n,
                                                                      std::uint32_t* out) noexcept {
  const __mmask64 m = _bzhi_u64(~std::uint64_t{0}, static_cast<unsigned>(n));
  const __m512i xa = _mm512_maskz_loadu_epi8(m, a);
  const __m512i xb = _mm512_maskz_loadu_epi8(m, b);
  const std::size_t chunks = (n + 3 + 7) / 8;
  __m512i acc = _mm512_setzero_si512();
  for (std::size_t c = 0; c < chunks; ++c) {
    const __m512i idx = _mm512_loadu_si512(pair_permute_indices[c].data());
    const __m512i mat = _mm512_load_si512(key.gfni_matrices() + 8 * c);
    acc = _mm512_xor_si512(acc, _mm512_gf2p8affine_epi64_epi8(_mm512_permutex2var_epi8(xa, idx, xb), mat, 0));
  }
  const __m256i h256 = _mm256_xor_si256(_mm512_castsi512_si256(acc), _mm512_maskz_extracti64x4_epi64(0xFF, acc, 1));
  const __m128i h128 = _mm_xor_si128(_mm256_castsi256_si128(h256), _mm256_extracti128_si256(h256, 1));
  const auto lanes = static_cast<std::uint64_t>(_mm_cvtsi128_si64(h128) ^ _mm_extract_epi64(h128, 1));
  out[0] = __builtin_bswap32(static_cast<std::uint32_t>(lanes));
  out[1] = __builtin_bswap32(static_cast<std::uint32_t>(lanes >> 32));
}

template <std::size_t N>
[[gnu::target(NVO_SIMD_TARGET_GFNI)]] NVO_ALWAYS_INLINE void bulk_loop(const toeplitz_key& key,
                                                                      const std::byte* const* in, std::size_t count,
                                                                      std::size_t len, std::uint32_t* out) noexcept {
  const std::size_t n = N != 0 ? N : len;  // N fixes the common sizes so the chunk loop unrolls
  std::size_t i = 0;
  for (; i + 2 <= count; i += 2) hash_pair(key, in[i], in[i + 1], n, out + i);
  if (i < count) out[i] = hash_bytes(key, in[i], n);
}

[[gnu::target(NVO_SIMD_TARGET_GFNI)]] inline void toeplitz_bulk(const toeplitz_key& key,
                                                               std::span<const std::byte* const> inputs,
                                                               std::size_t len, std::uint32_t* out) noexcept {
  if (len == 12) {
    bulk_loop<12>(key, inputs.data(), inputs.size(), len, out);
  } else if (len == 36) {
    bulk_loop<36>(key, inputs.data(), inputs.size(), len, out);
  } else {
    bulk_loop<0>(key, inputs.data(), inputs.size(), len, out);
  }
}

}  // namespace gfni
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// GFNI rides on the avx512 level: forcing a lower ISA selects the table path.
[[nodiscard]] inline bool toeplitz_uses_gfni() noexcept {
#if NVO_SIMD_X86
  return active() == isa::avx512 && cpu().gfni_avx512;
#else
  return false;
#endif
}

[[nodiscard]] inline std::uint32_t toeplitz(const toeplitz_key& key, std::span<const std::byte> input) noexcept {
#if NVO_SIMD_X86
  if (toeplitz_uses_gfni()) return gfni::toeplitz(key, input);
#endif
  return scalar::toeplitz(key, input);
}

namespace scalar {
inline void toeplitz_bulk(const toeplitz_key& key, std::span<const std::byte* const> inputs, std::size_t len,
                          std::uint32_t* out) noexcept {
  for (std::size_t i = 0; i < inputs.size(); ++i) out[i] = scalar::toeplitz(key, {inputs[i], len});
}
}  // namespace scalar

// One path's Toeplitz entry points, for per-object capture (read once at setup).
struct toeplitz_kernels {
  bool gfni;
  std::uint32_t (*hash)(const toeplitz_key& key, std::span<const std::byte> input) noexcept;
  void (*bulk)(const toeplitz_key& key, std::span<const std::byte* const> inputs, std::size_t len,
               std::uint32_t* out) noexcept;
};

[[nodiscard]] inline toeplitz_kernels active_toeplitz_kernels() noexcept {
#if NVO_SIMD_X86
  if (toeplitz_uses_gfni()) return {true, &gfni::toeplitz, &gfni::toeplitz_bulk};
#endif
  return {false, &scalar::toeplitz, &scalar::toeplitz_bulk};
}

// Hashes many inputs of one length, choosing the path once.
// PRECONDITION: out.size() >= inputs.size(); each input holds len bytes.
inline void toeplitz_bulk(const toeplitz_key& key, std::span<const std::byte* const> inputs, std::size_t len,
                          std::span<std::uint32_t> out) noexcept {
  NVO_ASSERT(out.size() >= inputs.size() && len <= key.max_input());
  active_toeplitz_kernels().bulk(key, inputs, len, out.data());
}

// RSS inputs in network byte order, source first (the MS tables list destination first).
struct ipv4_tuple {
  wire::ipv4_address src, dst;
  std::uint16_t src_port = 0, dst_port = 0;  // host order
};
struct ipv6_tuple {
  wire::ipv6_address src, dst;
  std::uint16_t src_port = 0, dst_port = 0;
};

enum class rss_fields : std::uint8_t { addresses, addresses_ports };
// symmetric: hash the tuple with the lower (address, port) end first, so both
// directions of a flow land on the same value (and one of them equals plain RSS).
enum class rss_direction : std::uint8_t { as_is, symmetric };

namespace detail {
template <std::size_t A>
constexpr void put_rss_input(std::array<std::byte, 2 * A + 4>& out, const std::array<std::uint8_t, A>& s,
                             const std::array<std::uint8_t, A>& d, std::uint16_t sp, std::uint16_t dp,
                             rss_direction dir) noexcept {
  const bool swap = dir == rss_direction::symmetric && (d < s || (d == s && dp < sp));
  const auto& a = swap ? d : s;
  const auto& b = swap ? s : d;
  if (swap) std::swap(sp, dp);
  for (std::size_t i = 0; i < A; ++i) {
    out[i] = static_cast<std::byte>(a[i]);
    out[A + i] = static_cast<std::byte>(b[i]);
  }
  out[2 * A] = static_cast<std::byte>(sp >> 8);
  out[2 * A + 1] = static_cast<std::byte>(sp);
  out[2 * A + 2] = static_cast<std::byte>(dp >> 8);
  out[2 * A + 3] = static_cast<std::byte>(dp);
}
}  // namespace detail

[[nodiscard]] inline std::uint32_t toeplitz(const toeplitz_key& key, const ipv4_tuple& t,
                                            rss_fields fields = rss_fields::addresses_ports,
                                            rss_direction dir = rss_direction::as_is) noexcept {
  std::array<std::byte, 12> in{};
  detail::put_rss_input(in, t.src.octets, t.dst.octets, t.src_port, t.dst_port, dir);
  const std::size_t n = fields == rss_fields::addresses ? 8 : 12;
#if NVO_SIMD_X86
  if (toeplitz_uses_gfni()) return n == 12 ? gfni::toeplitz12(key, in.data()) : gfni::toeplitz(key, {in.data(), n});
#endif
  return scalar::toeplitz(key, {in.data(), n});
}

[[nodiscard]] inline std::uint32_t toeplitz(const toeplitz_key& key, const ipv6_tuple& t,
                                            rss_fields fields = rss_fields::addresses_ports,
                                            rss_direction dir = rss_direction::as_is) noexcept {
  std::array<std::byte, 36> in{};
  detail::put_rss_input(in, t.src.octets, t.dst.octets, t.src_port, t.dst_port, dir);
  const std::size_t n = fields == rss_fields::addresses ? 32 : 36;
#if NVO_SIMD_X86
  if (toeplitz_uses_gfni()) return n == 36 ? gfni::toeplitz36(key, in.data()) : gfni::toeplitz(key, {in.data(), n});
#endif
  return scalar::toeplitz(key, {in.data(), n});
}

}  // namespace simd
NVO_END_NAMESPACE
