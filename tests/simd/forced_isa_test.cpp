// NVO_FORCE_SIMD takes effect: ctest runs this binary once per ISA this machine
// supports with NVO_FORCE_SIMD set and NVO_EXPECT_ISA naming the same path; the
// first use of dispatch must report it, and the kernel tables must follow it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "nvo/simd/simd.hpp"

namespace {

TEST(ForcedIsa, EnvironmentSelectsThePath) {
  const char* expect = std::getenv("NVO_EXPECT_ISA");
  ASSERT_NE(expect, nullptr) << "run through ctest, which sets NVO_FORCE_SIMD and NVO_EXPECT_ISA";
  const auto want = nvo::simd::parse_isa(expect);
  ASSERT_TRUE(want.has_value());
  EXPECT_EQ(nvo::simd::active(), *want);
  EXPECT_EQ(nvo::simd::active_checksum_kernels().id, *want);
  EXPECT_EQ(nvo::simd::toeplitz_uses_gfni(), *want == nvo::simd::isa::avx512 && nvo::simd::cpu().gfni_avx512);
}

TEST(ForcedIsa, SetActiveSwitchesAndRefusesUnsupported) {
  for (auto i : nvo::simd::available()) {
    ASSERT_TRUE(nvo::simd::set_active(i));
    EXPECT_EQ(nvo::simd::active(), i);
    EXPECT_EQ(nvo::simd::active_checksum_kernels().id, i);
  }
  for (auto i : nvo::simd::all_isas) {
    if (!nvo::simd::supported(i)) {
      const auto before = nvo::simd::active();
      EXPECT_FALSE(nvo::simd::set_active(i));
      EXPECT_EQ(nvo::simd::active(), before);
    }
  }
  EXPECT_EQ(nvo::simd::available().back(), nvo::simd::isa::scalar);
  EXPECT_FALSE(nvo::simd::parse_isa("avx1024").has_value());
}

}  // namespace
