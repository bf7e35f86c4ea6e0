// File: nvo/base/mix.hpp
// The integer mixers behind nvo's keyed hashes (table/hash.hpp's keyed_hash,
// the STT reassembler's frame index): a 64x64 -> 128-bit multiply folded to 64
// bits, and splitmix64 to expand a seed into secrets. Like all of nvo/base/,
// its names are nvo::wire's (see byte_order.hpp).
#pragma once

#include <cstdint>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace wire::detail {

__extension__ using uint128 = unsigned __int128;

// Every output bit depends non-linearly on every input bit.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint64_t mum(std::uint64_t a, std::uint64_t b) noexcept {
  const uint128 r = static_cast<uint128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

// splitmix64: the next of a sequence of well-mixed words from state x.
[[nodiscard]] constexpr std::uint64_t splitmix(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace wire::detail
NVO_END_NAMESPACE
