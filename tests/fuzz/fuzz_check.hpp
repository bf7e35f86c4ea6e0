// Shared by the libFuzzer targets: a property violation must crash the fuzzer
// (and so be saved as a reproducer), not print and go on.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "nvo/wire/byte_order.hpp"

namespace nvo_fuzz {

using nvo::wire::bytes;
using nvo::wire::const_bytes;

inline void check(bool property) {
  if (!property) __builtin_trap();
}

inline const_bytes as_bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

inline bool same_bytes(const_bytes a, const_bytes b) { return std::ranges::equal(a, b); }

// True when inner lies inside outer (an empty span anywhere counts as inside).
inline bool within(const_bytes inner, const_bytes outer) {
  if (inner.empty()) return true;
  const auto* lo = outer.data();
  const auto* hi = outer.data() + outer.size();
  return inner.data() >= lo && inner.data() + inner.size() <= hi;
}

}  // namespace nvo_fuzz
