// Shared helpers for the simd tests: the ISA parameter list and sampled lengths.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "nvo/simd/dispatch.hpp"

namespace nvo_simd_test {

inline std::vector<nvo::simd::isa> isas_here() {
  const auto a = nvo::simd::available();
  return {a.begin(), a.end()};
}

inline std::string isa_name(const testing::TestParamInfo<nvo::simd::isa>& info) {
  return std::string(nvo::simd::to_string(info.param));
}

inline std::vector<std::byte> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

// Every length up to 300, both sides of each 16/32/64-byte vector boundary up to
// 4 KiB and of the 1 MiB reduction block, and a random spread up to 70000.
inline std::vector<std::size_t> sampled_lengths(std::uint32_t seed) {
  std::vector<std::size_t> out;
  for (std::size_t n = 0; n <= 300; ++n) out.push_back(n);
  for (std::size_t n = 320; n <= 4096; n += 64) {
    for (std::size_t d : {n - 17, n - 1, n, n + 1, n + 15, n + 33}) out.push_back(d);
  }
  std::mt19937 rng(seed);
  for (int k = 0; k < 24; ++k) out.push_back(std::uniform_int_distribution<std::size_t>(4097, 70000)(rng));
  out.push_back(65535);
  out.push_back(65536);
  out.push_back(70000);
  return out;
}

}  // namespace nvo_simd_test
