// Toeplitz: the Microsoft/Intel RSS verification table bit for bit on every path,
// GFNI against the table path on random keys and inputs, a bit-serial model of
// the MS pseudocode as an independent check, and symmetric mode.
#include "nvo/simd/toeplitz.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "simd_test_util.hpp"

namespace {

using nvo::simd::isa;
using nvo::simd::rss_direction;
using nvo::simd::rss_fields;
using nvo::wire::ipv4_address;
using nvo::wire::ipv6_address;

// MS pseudocode, one bit at a time: result ^= leftmost 32 key bits; shift key left.
std::uint32_t bit_serial(std::span<const std::uint8_t> key, std::span<const std::byte> in) {
  std::uint32_t result = 0;
  for (std::size_t bit = 0; bit < 8 * in.size(); ++bit) {
    if ((std::to_integer<unsigned>(in[bit / 8]) >> (7 - bit % 8)) & 1u) {
      std::uint32_t window = 0;
      for (std::size_t k = 0; k < 32; ++k) {
        const std::size_t kb = bit + k;
        window = (window << 1) | (kb / 8 < key.size() ? (key[kb / 8] >> (7 - kb % 8)) & 1u : 0u);
      }
      result ^= window;
    }
  }
  return result;
}

constexpr ipv4_address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return {{a, b, c, d}}; }

ipv6_address v6(std::initializer_list<std::uint16_t> groups) {
  ipv6_address r{};
  std::size_t i = 0;
  for (auto g : groups) {
    r.octets[i++] = static_cast<std::uint8_t>(g >> 8);
    r.octets[i++] = static_cast<std::uint8_t>(g);
  }
  return r;
}

struct v4_vector {
  nvo::simd::ipv4_tuple t;
  std::uint32_t addr_hash, tcp_hash;
};

// wire-facts 1.7 (82599 datasheet / MS "Verifying the RSS Hash Calculation"): source first.
const v4_vector v4_table[] = {
    {{v4(66, 9, 149, 187), v4(161, 142, 100, 80), 2794, 1766}, 0x323e8fc2, 0x51ccc178},
    {{v4(199, 92, 111, 2), v4(65, 69, 140, 83), 14230, 4739}, 0xd718262a, 0xc626b0ea},
    {{v4(24, 19, 198, 95), v4(12, 22, 207, 184), 12898, 38024}, 0xd2d0a5de, 0x5c2b394a},
    {{v4(38, 27, 205, 30), v4(209, 142, 163, 6), 48228, 2217}, 0x82989176, 0xafc7327f},
    {{v4(153, 39, 163, 191), v4(202, 188, 127, 2), 44251, 1303}, 0x5d1809c5, 0x10e828a2},
};

struct v6_vector {
  nvo::simd::ipv6_tuple t;
  std::uint32_t addr_hash, tcp_hash;
};

const v6_vector v6_table[] = {
    {{v6({0x3ffe, 0x2501, 0x200, 0x1fff, 0, 0, 0, 7}), v6({0x3ffe, 0x2501, 0x200, 3, 0, 0, 0, 1}), 2794, 1766},
     0x2cc18cd5, 0x40207d3d},
    {{v6({0x3ffe, 0x501, 8, 0, 0x260, 0x97ff, 0xfe40, 0xefab}), v6({0xff02, 0, 0, 0, 0, 0, 0, 1}), 14230, 4739},
     0x0f0c461c, 0xdde51bbf},
    {{v6({0x3ffe, 0x1900, 0x4545, 3, 0x200, 0xf8ff, 0xfe21, 0x67cf}), v6({0xfe80, 0, 0, 0, 0x200, 0xf8ff, 0xfe21, 0x67cf}),
      44251, 38024},
     0x4b61e985, 0x02d1feef},
};

class ToeplitzPaths : public testing::TestWithParam<isa> {
 protected:
  void SetUp() override { ASSERT_TRUE(nvo::simd::set_active(GetParam())); }
  void TearDown() override { (void)nvo::simd::set_active(nvo::simd::best_isa()); }
  const nvo::simd::toeplitz_key key{};
};

TEST_P(ToeplitzPaths, GfniOnlyOnTheAvx512Level) {
  const bool gfni = GetParam() == isa::avx512 && nvo::simd::cpu().gfni_avx512;
  EXPECT_EQ(nvo::simd::toeplitz_uses_gfni(), gfni);
  const auto k = nvo::simd::active_toeplitz_kernels();
  EXPECT_EQ(k.gfni, gfni);
  const auto in = nvo_simd_test::random_bytes(36, 1);
  EXPECT_EQ(k.hash(key, in), nvo::simd::scalar::toeplitz(key, in));
}

TEST_P(ToeplitzPaths, RssVerificationTableIpv4) {
  for (const auto& v : v4_table) {
    EXPECT_EQ(nvo::simd::toeplitz(key, v.t, rss_fields::addresses), v.addr_hash);
    EXPECT_EQ(nvo::simd::toeplitz(key, v.t, rss_fields::addresses_ports), v.tcp_hash);
  }
}

TEST_P(ToeplitzPaths, RssVerificationTableIpv6) {
  for (const auto& v : v6_table) {
    EXPECT_EQ(nvo::simd::toeplitz(key, v.t, rss_fields::addresses), v.addr_hash);
    EXPECT_EQ(nvo::simd::toeplitz(key, v.t, rss_fields::addresses_ports), v.tcp_hash);
  }
}

TEST_P(ToeplitzPaths, SymmetricModeIgnoresDirection) {
  for (const auto& v : v4_table) {
    nvo::simd::ipv4_tuple r{v.t.dst, v.t.src, v.t.dst_port, v.t.src_port};
    const auto h = nvo::simd::toeplitz(key, v.t, rss_fields::addresses_ports, rss_direction::symmetric);
    EXPECT_EQ(h, nvo::simd::toeplitz(key, r, rss_fields::addresses_ports, rss_direction::symmetric));
    // It is plain RSS of whichever direction has the lower source.
    EXPECT_TRUE(h == v.tcp_hash || h == nvo::simd::toeplitz(key, r));
  }
  for (const auto& v : v6_table) {
    nvo::simd::ipv6_tuple r{v.t.dst, v.t.src, v.t.dst_port, v.t.src_port};
    EXPECT_EQ(nvo::simd::toeplitz(key, v.t, rss_fields::addresses, rss_direction::symmetric),
              nvo::simd::toeplitz(key, r, rss_fields::addresses, rss_direction::symmetric));
  }
}

TEST_P(ToeplitzPaths, CallerKeysAndAllLengthsMatchBitSerialModel) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 200; ++trial) {
    std::array<std::uint8_t, 40> raw{};
    for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
    const std::size_t key_len = trial % 3 == 0 ? 40 : 4 + rng() % 37;
    const nvo::simd::toeplitz_key k{std::span(raw).first(key_len)};
    const auto in = nvo_simd_test::random_bytes(k.max_input(), rng());
    for (std::size_t n = 0; n <= k.max_input(); ++n) {
      const std::span<const std::byte> s(in.data(), n);
      const std::uint32_t expect = bit_serial(std::span(raw).first(key_len), s);
      ASSERT_EQ(nvo::simd::toeplitz(k, s), expect) << "key " << key_len << " len " << n;
      ASSERT_EQ(nvo::simd::scalar::toeplitz(k, s), expect);
    }
  }
}

TEST_P(ToeplitzPaths, BulkMatchesOneAtATime) {
  const auto buf = nvo_simd_test::random_bytes(36 * 64, 9);
  std::vector<const std::byte*> ptrs;
  for (std::size_t i = 0; i < 64; ++i) ptrs.push_back(buf.data() + 36 * ((i * 7) % 64));
  for (std::size_t len : {0u, 4u, 8u, 12u, 13u, 32u, 36u}) {
    for (std::size_t count : {0u, 1u, 2u, 3u, 7u, 64u}) {
      std::vector<std::uint32_t> out(count + 1, 0xDEADBEEF);
      nvo::simd::toeplitz_bulk(key, std::span(ptrs).first(count), len, out);
      for (std::size_t i = 0; i < count; ++i) {
        ASSERT_EQ(out[i], nvo::simd::scalar::toeplitz(key, {ptrs[i], len})) << "len " << len << " i " << i;
      }
      EXPECT_EQ(out[count], 0xDEADBEEF) << "wrote past the batch";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ToeplitzPaths, testing::ValuesIn(nvo_simd_test::isas_here()),
                         nvo_simd_test::isa_name);

#if NVO_SIMD_X86
TEST(ToeplitzGfni, MatchesTablePathOnRandomTuples) {
  if (!nvo::simd::cpu().gfni_avx512) GTEST_SKIP() << "no GFNI + AVX512-VBMI on this machine";
  const nvo::simd::toeplitz_key key{};
  const auto buf = nvo_simd_test::random_bytes(36 * 5000, 6);
  for (std::size_t i = 0; i < 5000; ++i) {
    const std::byte* p = buf.data() + 36 * i;
    ASSERT_EQ(nvo::simd::gfni::toeplitz12(key, p), nvo::simd::scalar::toeplitz(key, {p, 12}));
    ASSERT_EQ(nvo::simd::gfni::toeplitz36(key, p), nvo::simd::scalar::toeplitz(key, {p, 36}));
  }
}
#endif

}  // namespace
