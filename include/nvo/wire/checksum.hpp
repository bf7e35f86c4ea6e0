// File: nvo/wire/checksum.hpp
// The Internet checksum as the codecs use it: the constexpr scalar reference
// (nvo/base/checksum.hpp) for headers and pseudo-headers, and
// checksum_accumulate_dispatched for whole UDP datagrams and TCP segments,
// which at run time goes to the SIMD kernel this CPU supports
// (nvo/simd/checksum.hpp).
#pragma once

#include <cstdint>
#include <type_traits>

#include "nvo/base/checksum.hpp"
#include "nvo/simd/checksum.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

// checksum_accumulate's contract; the scalar loop in constant evaluation.
[[nodiscard]] NVO_ALWAYS_INLINE constexpr std::uint64_t checksum_accumulate_dispatched(const_bytes data,
                                                                                      std::uint64_t sum = 0) noexcept {
  if (std::is_constant_evaluated()) return checksum_accumulate(data, sum);
  return simd::checksum_accumulate(data, sum);
}

}  // namespace wire
NVO_END_NAMESPACE
