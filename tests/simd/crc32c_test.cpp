// CRC-32C: known answers (RFC 3720 B.4 / the "123456789" check value), chaining,
// and the SSE4.2 path against the constexpr table path on random data.
#include "nvo/simd/crc32c.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

namespace {

using nvo::simd::isa;

template <std::size_t N>
constexpr std::array<std::byte, N - 1> bytes_of(const char (&s)[N]) {
  std::array<std::byte, N - 1> out{};
  for (std::size_t i = 0; i + 1 < N; ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

constexpr auto check_input = bytes_of("123456789");
static_assert(nvo::simd::scalar::crc32c(check_input) == 0xE3069283u);
static_assert(nvo::simd::scalar::crc32c({}) == 0u);

std::vector<std::byte> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(nvo::simd::crc32c(check_input), 0xE3069283u);
  // RFC 3720 B.4: 32 bytes of zeros -> 0x8A9136AA, 32 bytes of 0xFF -> 0x62A8AB43.
  std::array<std::byte, 32> zeros{};
  std::array<std::byte, 32> ones{};
  ones.fill(std::byte{0xFF});
  EXPECT_EQ(nvo::simd::crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(nvo::simd::crc32c(ones), 0x62A8AB43u);
  std::array<std::byte, 32> ascending{};
  for (std::size_t i = 0; i < 32; ++i) ascending[i] = static_cast<std::byte>(i);
  EXPECT_EQ(nvo::simd::crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32c, ChainsLikeOneBuffer) {
  const auto data = random_bytes(1000, 7);
  const std::span<const std::byte> all(data);
  for (std::size_t cut : {0u, 1u, 7u, 8u, 13u, 500u, 999u, 1000u}) {
    EXPECT_EQ(nvo::simd::crc32c(all.subspan(cut), nvo::simd::crc32c(all.first(cut))), nvo::simd::crc32c(all))
        << "cut " << cut;
  }
}

TEST(Crc32c, U64MatchesBytes) {
  std::mt19937_64 rng(3);
  for (int k = 0; k < 1000; ++k) {
    const std::uint64_t v = rng();
    const auto seed = static_cast<std::uint32_t>(rng());
    std::array<std::byte, 8> b{};
    std::memcpy(b.data(), &v, 8);
    EXPECT_EQ(nvo::simd::crc32c_u64(v, seed), nvo::simd::scalar::crc32c(b, seed));
    EXPECT_EQ(nvo::simd::scalar::crc32c_u64(v, seed), nvo::simd::scalar::crc32c(b, seed));
  }
}

#if NVO_SIMD_X86
TEST(Crc32c, Sse42MatchesScalar) {
  if (!nvo::simd::supported(isa::sse42)) GTEST_SKIP() << "no SSE4.2 on this machine";
  const auto data = random_bytes(4096 + 64, 11);
  const std::span<const std::byte> all(data);
  std::mt19937 rng(5);
  for (std::size_t align = 0; align < 64; ++align) {
    for (std::size_t len : {0u, 1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 36u, 63u, 64u, 65u, 1500u, 4096u}) {
      const auto seed = static_cast<std::uint32_t>(rng());
      const auto s = all.subspan(align, len);
      ASSERT_EQ(nvo::simd::sse42::crc32c(s, seed), nvo::simd::scalar::crc32c(s, seed))
          << "align " << align << " len " << len;
    }
  }
  for (int k = 0; k < 1000; ++k) {
    const std::uint64_t v = (std::uint64_t{rng()} << 32) | rng();
    const auto seed = static_cast<std::uint32_t>(rng());
    ASSERT_EQ(nvo::simd::sse42::crc32c_u64(v, seed), nvo::simd::scalar::crc32c_u64(v, seed));
  }
}
#endif

}  // namespace
