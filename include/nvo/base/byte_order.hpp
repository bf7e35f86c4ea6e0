// File: nvo/base/byte_order.hpp
// Constexpr big-endian (network order) loads and stores over byte spans.
//
// nvo/base/ is the vocabulary both nvo/wire/ codecs and nvo/simd/ kernels use
// (byte spans, addresses, protocol numbers, the scalar RFC 1071 sum). It sits
// below both, so wire/ can call simd/ kernels without a cycle; its names are
// nvo::wire's, and nvo/wire/ headers of the same name include it.
//
// Wire headers in nvo are never overlaid on packet memory: there are no packed
// structs, no bitfields and no pointer casts. Codecs read and write fields through
// these helpers, which are usable in constant expressions (byte by byte) and
// compile to a single load/store plus byte swap at run time.
//
// PRECONDITION for every function here: offset + width <= bytes.size(). Codecs
// check lengths once, up front, and then use these unchecked accessors.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

using bytes = std::span<std::byte>;
using const_bytes = std::span<const std::byte>;

namespace detail {

template <class T>
NVO_ALWAYS_INLINE constexpr T load_be(const_bytes b, std::size_t off, std::size_t width) noexcept {
  if (std::is_constant_evaluated()) {
    T v = 0;
    for (std::size_t i = 0; i < width; ++i) v = static_cast<T>((v << 8) | std::to_integer<T>(b[off + i]));
    return v;
  }
  if (width == sizeof(T)) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof(T));
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(v));
      if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
      if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
    }
    return v;
  }
  T v = 0;
  for (std::size_t i = 0; i < width; ++i) v = static_cast<T>((v << 8) | std::to_integer<T>(b[off + i]));
  return v;
}

template <class T>
NVO_ALWAYS_INLINE constexpr void store_be(bytes b, std::size_t off, std::size_t width, T v) noexcept {
  if (!std::is_constant_evaluated() && width == sizeof(T)) {
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(v));
      if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
      if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
    }
    std::memcpy(b.data() + off, &v, sizeof(T));
    return;
  }
  for (std::size_t i = width; i-- > 0;) {
    b[off + i] = static_cast<std::byte>(v & 0xFF);
    v = static_cast<T>(v >> 8);
  }
}

}  // namespace detail

[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint8_t load_u8(const_bytes b, std::size_t off) noexcept {
  return std::to_integer<std::uint8_t>(b[off]);
}
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint16_t load_be16(const_bytes b, std::size_t off) noexcept {
  return detail::load_be<std::uint16_t>(b, off, 2);
}
// 24-bit fields: VXLAN VNI, NVGRE VSID.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint32_t load_be24(const_bytes b, std::size_t off) noexcept {
  return detail::load_be<std::uint32_t>(b, off, 3);
}
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint32_t load_be32(const_bytes b, std::size_t off) noexcept {
  return detail::load_be<std::uint32_t>(b, off, 4);
}
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint64_t load_be64(const_bytes b, std::size_t off) noexcept {
  return detail::load_be<std::uint64_t>(b, off, 8);
}

NVO_ALWAYS_INLINE constexpr void store_u8(bytes b, std::size_t off, std::uint8_t v) noexcept {
  b[off] = static_cast<std::byte>(v);
}
NVO_ALWAYS_INLINE constexpr void store_be16(bytes b, std::size_t off, std::uint16_t v) noexcept {
  detail::store_be<std::uint16_t>(b, off, 2, v);
}
NVO_ALWAYS_INLINE constexpr void store_be24(bytes b, std::size_t off, std::uint32_t v) noexcept {
  detail::store_be<std::uint32_t>(b, off, 3, v);
}
NVO_ALWAYS_INLINE constexpr void store_be32(bytes b, std::size_t off, std::uint32_t v) noexcept {
  detail::store_be<std::uint32_t>(b, off, 4, v);
}
NVO_ALWAYS_INLINE constexpr void store_be64(bytes b, std::size_t off, std::uint64_t v) noexcept {
  detail::store_be<std::uint64_t>(b, off, 8, v);
}

// Copies n raw bytes (addresses, MACs) into the front of out, in either
// evaluation context. PRECONDITION: n <= out.size().
template <class Out>
NVO_ALWAYS_INLINE constexpr void load_raw(const_bytes b, std::size_t off, Out& out, std::size_t n) noexcept {
  if (!std::is_constant_evaluated()) {
    std::memcpy(out.data(), b.data() + off, n);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = std::to_integer<std::uint8_t>(b[off + i]);
}
template <class Out>
NVO_ALWAYS_INLINE constexpr void load_raw(const_bytes b, std::size_t off, Out& out) noexcept {
  load_raw(b, off, out, out.size());
}
template <class In>
NVO_ALWAYS_INLINE constexpr void store_raw(bytes b, std::size_t off, const In& in) noexcept {
  for (std::size_t i = 0; i < in.size(); ++i) b[off + i] = static_cast<std::byte>(in[i]);
}

}  // namespace wire
NVO_END_NAMESPACE
