// What each translation unit of the ODR test computes through nvo's dispatched
// entry points, so main() can compare a TU built with AVX-512 flags, one built
// for the x86-64 baseline and a scalar reference.
#pragma once

#include <cstdint>
#include <vector>

namespace nvo_odr {

struct results {
  std::uint8_t active = 0;         // simd::active() as this TU sees it
  std::uint8_t checksum_path = 0;  // simd::active_checksum_kernels().id
  bool toeplitz_gfni = false;
  bool table_vector_scan = false;
  std::vector<std::uint64_t> values;  // every computed value, in a fixed order
};

// Defined once per TU (probe_impl.hpp), under different names.
results probe_wide();
results probe_base();

}  // namespace nvo_odr
