// Checksum kernels: every ISA path this machine runs against wire::checksum_accumulate
// (the constexpr reference) over sampled lengths x every start alignment 0..63,
// plus RFC 1071 / RFC 1624 / OVS oracles and real packets confirmed by tshark.
#include "nvo/simd/checksum.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string_view>
#include <vector>

#include "simd_test_util.hpp"

namespace {

using nvo::simd::isa;
using nvo_simd_test::random_bytes;

std::vector<std::byte> hex(std::string_view s) {
  std::vector<std::byte> out;
  auto nib = [](char c) { return static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<std::byte>(nib(s[i]) << 4 | nib(s[i + 1])));
  return out;
}

constexpr std::array<std::byte, 8> rfc1071_example{std::byte{0x00}, std::byte{0x01}, std::byte{0xf2}, std::byte{0x03},
                                                   std::byte{0xf4}, std::byte{0xf5}, std::byte{0xf6}, std::byte{0xf7}};
// The constexpr reference and the RFC 1624 update are checked at compile time.
static_assert(nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(rfc1071_example)) == 0xddf2);
static_assert(nvo::simd::checksum_update(0xDD2F, 0x5555, 0x3285) == 0x0000);
static_assert(nvo::simd::udp_checksum_field(0) == 0xFFFF && nvo::simd::udp_checksum_field(0x1234) == 0x1234);

class ChecksumPaths : public testing::TestWithParam<isa> {
 protected:
  const nvo::simd::checksum_kernels& k = nvo::simd::checksum_kernels_for(GetParam());
};

TEST_P(ChecksumPaths, KernelTableIsThePath) { EXPECT_EQ(k.id, GetParam()); }

TEST_P(ChecksumPaths, MatchesScalarAtEveryAlignment) {
  const auto lengths = nvo_simd_test::sampled_lengths(17);
  const auto buf = random_bytes(70000 + 64, 1);
  std::mt19937_64 rng(2);
  for (std::size_t align = 0; align < 64; ++align) {
    for (std::size_t n : lengths) {
      const std::span<const std::byte> s(buf.data() + align, n);
      const std::uint64_t seed = rng() >> 40;  // a running sum from earlier chunks
      ASSERT_EQ(nvo::wire::checksum_fold(k.accumulate(s.data(), n, seed)),
                nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(s, seed)))
          << "align " << align << " len " << n;
    }
  }
}

TEST_P(ChecksumPaths, WorstCaseWordsAcrossReductionBlocks) {
  // All-0xFF words maximise every lane; 3 MiB + 7 crosses the 1 MiB block twice.
  std::vector<std::byte> ff(3 * 1024 * 1024 + 7, std::byte{0xFF});
  EXPECT_EQ(nvo::wire::checksum_fold(k.accumulate(ff.data(), ff.size(), 0)),
            nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(ff)));
  std::vector<std::byte> zero(3 * 1024 * 1024 + 7);
  EXPECT_EQ(k.accumulate(zero.data(), zero.size(), 0), 0u);  // an all-zero buffer sums to +0, not -0
  std::vector<std::byte> w80(2 * 1024 * 1024 + 64);  // 0x8000 words: the bias edge
  for (std::size_t i = 0; i < w80.size(); i += 2) w80[i] = std::byte{0x80};
  EXPECT_EQ(nvo::wire::checksum_fold(k.accumulate(w80.data(), w80.size(), 0)),
            nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(w80)));
}

TEST_P(ChecksumPaths, CopyAndChecksumCopiesExactlyAndSums) {
  const auto src = random_bytes(70000 + 64, 3);
  std::vector<std::byte> dst(70000 + 64 + 128);
  for (std::size_t align : {0u, 1u, 7u, 31u, 63u}) {
    for (std::size_t n : nvo_simd_test::sampled_lengths(5)) {
      std::fill(dst.begin(), dst.end(), std::byte{0xA5});
      const std::span<const std::byte> s(src.data() + align, n);
      std::byte* d = dst.data() + 64 + (63 - align);
      const std::uint64_t sum = k.copy_accumulate(d, s.data(), n, 9);
      ASSERT_EQ(nvo::wire::checksum_fold(sum), nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(s, 9)))
          << "len " << n;
      ASSERT_EQ(std::memcmp(d, s.data(), n), 0) << "len " << n;
      ASSERT_EQ(d[-1], std::byte{0xA5}) << "wrote before dst, len " << n;
      ASSERT_EQ(d[n], std::byte{0xA5}) << "wrote past dst + n, len " << n;
    }
  }
}

// The plain copy (the STT reassembler's): exact bytes, nothing written
// outside, at every relative alignment.
TEST_P(ChecksumPaths, CopyCopiesExactly) {
  const auto src = random_bytes(9000 + 64, 9);
  std::vector<std::byte> dst(9000 + 256);
  for (const std::size_t s_align : {0u, 1u, 17u, 63u}) {
    for (const std::size_t d_align : {0u, 5u, 32u, 63u}) {
      for (std::size_t n = 0; n <= 9000; n = n < 300 ? n + 1 : n * 3 / 2) {
        std::fill(dst.begin(), dst.end(), std::byte{0xA5});
        std::byte* d = dst.data() + 64 + d_align;
        k.copy(d, src.data() + s_align, n);
        ASSERT_EQ(std::memcmp(d, src.data() + s_align, n), 0) << "len " << n;
        ASSERT_EQ(d[-1], std::byte{0xA5}) << "wrote before dst, len " << n;
        ASSERT_EQ(d[n], std::byte{0xA5}) << "wrote past dst + n, len " << n;
      }
    }
  }
}

TEST_P(ChecksumPaths, Rfc1071Example) {
  EXPECT_EQ(nvo::wire::checksum_fold(k.accumulate(rfc1071_example.data(), 8, 0)), 0xddf2);
  EXPECT_EQ(nvo::wire::checksum_finalize(k.accumulate(rfc1071_example.data(), 8, 0)), 0x220d);
}

TEST_P(ChecksumPaths, OvsVectors) {
  const auto ip = hex("450000281ffd400080060000c0a83b0ac0a83b32");
  EXPECT_EQ(nvo::wire::checksum_finalize(k.accumulate(ip.data(), ip.size(), 0)), 0xe345);
  const auto b = hex("865eac60712a81b5");
  EXPECT_EQ(nvo::wire::checksum_finalize(k.accumulate(b.data(), b.size(), 0)), 0xda60);
}

TEST_P(ChecksumPaths, Rfc1624HeaderVerifies) {
  // OVS test_rfc1624(): a 32-byte header realizing RFC 1624 4 (last word m = 0x5555).
  auto h = hex("fe8fc1144b6f702a802978c0588177aa6664fc96639764ee12531da92da95555");
  const std::uint16_t hc = nvo::wire::checksum_finalize(k.accumulate(h.data(), h.size(), 0));
  EXPECT_EQ(hc, 0xDD2F);
  h[30] = std::byte{0x32};
  h[31] = std::byte{0x85};
  EXPECT_EQ(nvo::wire::checksum_finalize(k.accumulate(h.data(), h.size(), 0)), 0x0000);
  EXPECT_EQ(nvo::simd::checksum_update(hc, 0x5555, 0x3285), 0x0000);  // eqn. 3, not RFC 1141's 0xFFFF
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ChecksumPaths, testing::ValuesIn(nvo_simd_test::isas_here()),
                         nvo_simd_test::isa_name);

#if NVO_SIMD_X86
// The avx512 table entry holds whichever of BW / VNNI the CPU favours; test both.
TEST(ChecksumAvx512Variants, BwAndVnniMatchScalarAtEveryAlignment) {
  if (!nvo::simd::supported(isa::avx512)) GTEST_SKIP() << "no AVX-512 BW/VL on this machine";
  const auto lengths = nvo_simd_test::sampled_lengths(23);
  const auto buf = random_bytes(70000 + 64, 4);
  const bool vnni = nvo::simd::cpu().avx512_vnni;
  for (std::size_t align = 0; align < 64; ++align) {
    for (std::size_t n : lengths) {
      const std::span<const std::byte> s(buf.data() + align, n);
      const std::uint16_t ref = nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(s, 3));
      ASSERT_EQ(nvo::wire::checksum_fold(nvo::simd::avx512::checksum_accumulate_bw(s.data(), n, 3)), ref) << n;
      if (vnni) {
        ASSERT_EQ(nvo::wire::checksum_fold(nvo::simd::avx512::checksum_accumulate_vnni(s.data(), n, 3)), ref) << n;
      }
    }
  }
}

// The line-aligned kernel: masked first and last lines, the odd-address swap and
// the 8-, 4- and 1-vector steps, at every length to 2048 and every alignment,
// with copies landing at a different alignment, plus large odd lengths.
TEST(ChecksumAvx512Variants, EveryLengthTo2048AtEveryAlignment) {
  if (!nvo::simd::supported(isa::avx512)) GTEST_SKIP() << "no AVX-512 BW/VL on this machine";
  const bool vnni = nvo::simd::cpu().avx512_vnni;
  const auto rnd = random_bytes(2048 + 64, 21);
  const std::vector<std::byte> ff(2048 + 64, std::byte{0xFF});
  std::vector<std::byte> dst(2048 + 64 + 128);
  for (const auto* buf : {&rnd, &ff}) {
    for (std::size_t align = 0; align < 64; ++align) {
      for (std::size_t n = 0; n <= 2048; ++n) {
        const std::span<const std::byte> s(buf->data() + align, n);
        const std::uint64_t seed = n % 2 == 0 ? 0 : 0xFFFF'FFFFu;
        const std::uint16_t ref = nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(s, seed));
        ASSERT_EQ(nvo::wire::checksum_fold(nvo::simd::avx512::checksum_accumulate_bw(s.data(), n, seed)), ref)
            << "align " << align << " len " << n;
        if (vnni) {
          ASSERT_EQ(nvo::wire::checksum_fold(nvo::simd::avx512::checksum_accumulate_vnni(s.data(), n, seed)), ref)
              << "align " << align << " len " << n;
        }
        if (n % 7 == 0 || n < 200) {
          std::byte* d = dst.data() + 64 + (align * 5 + 3) % 64;
          std::fill(dst.begin(), dst.end(), std::byte{0xA5});
          ASSERT_EQ(nvo::wire::checksum_fold(nvo::simd::avx512::copy_checksum_accumulate(d, s.data(), n, seed)), ref)
              << "copy align " << align << " len " << n;
          ASSERT_EQ(std::memcmp(d, s.data(), n), 0) << "copy align " << align << " len " << n;
          ASSERT_EQ(d[-1], std::byte{0xA5});
          ASSERT_EQ(d[n], std::byte{0xA5});
        }
      }
    }
  }
  const auto big = random_bytes(300000 + 64, 22);
  for (std::size_t n : {65535u, 65537u, 131071u, 262145u, 300001u - 64}) {
    for (std::size_t align : {0u, 1u, 2u, 31u, 63u}) {
      const std::span<const std::byte> s(big.data() + align, n);
      const std::uint16_t ref = nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(s, 5));
      ASSERT_EQ(nvo::wire::checksum_fold(nvo::simd::avx512::checksum_accumulate_bw(s.data(), n, 5)), ref) << n;
      if (vnni) {
        ASSERT_EQ(nvo::wire::checksum_fold(nvo::simd::avx512::checksum_accumulate_vnni(s.data(), n, 5)), ref) << n;
      }
    }
  }
}
#endif

// Real frames (Ethernet + IP + L4) whose IP/UDP/TCP checksums tshark marks Good:
// tshark -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE
// -T fields -e ip.checksum -e ip.checksum.status -e udp.checksum -e tcp.checksum ...
struct real_packet {
  std::string_view hex;
  std::uint16_t ip_checksum;  // 0 for IPv6
  std::size_t l4_offset;
  std::size_t l4_checksum_offset;  // within L4
  std::uint16_t l4_checksum;
};

constexpr real_packet real_packets[] = {
    // IPv4/UDP 192.168.1.10:51234 -> 10.0.0.1:4789, 21-byte (odd) payload
    {"0200000000020200000000010800450000311c464000401152c3c0a8010a0a000001c82212b5001d908268656c6c6f2c206e766f2063"
     "6865636b73756d2121",
     0x52c3, 34, 6, 0x9082},
    // IPv4 with 4 bytes of options / TCP 172.16.0.5:443 -> 172.16.0.9:40000, 37-byte payload
    {"0200000000020200000000010800460000511c4640004006c331ac100005ac1000090101010001bb9c40010203040a0b0c0d5018ffff"
     "481a0000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324",
     0xc331, 38, 16, 0x481a},
    // IPv6/UDP 2001:db8::1:5353 -> 2001:db8::2:53
    {"02000000000202000000000186dd60000000001c114020010db800000000000000000000000120010db8000000000000000000000002"
     "14e90035001c88756970763620756470207061796c6f616420313233",
     0, 54, 6, 0x8875},
};

TEST(ChecksumPackets, TsharkConfirmedChecksums) {
  for (isa path : nvo_simd_test::isas_here()) {
    ASSERT_TRUE(nvo::simd::set_active(path));
    for (const auto& p : real_packets) {
      auto f = hex(p.hex);
      const std::span<std::byte> frame(f);
      const auto l4 = frame.subspan(p.l4_offset);
      std::uint64_t pseudo;
      if (p.ip_checksum != 0) {
        const auto ip = frame.subspan(14, p.l4_offset - 14);
        EXPECT_TRUE(nvo::simd::ipv4_header_checksum_ok(ip));
        EXPECT_EQ(nvo::simd::ipv4_header_checksum(ip), p.ip_checksum);  // ignores the filled-in field
        pseudo = nvo::simd::pseudo_header_sum(nvo::wire::ipv4_address{{std::to_integer<std::uint8_t>(ip[12]),
                                                                        std::to_integer<std::uint8_t>(ip[13]),
                                                                        std::to_integer<std::uint8_t>(ip[14]),
                                                                        std::to_integer<std::uint8_t>(ip[15])}},
                                              nvo::wire::ipv4_address{{std::to_integer<std::uint8_t>(ip[16]),
                                                                        std::to_integer<std::uint8_t>(ip[17]),
                                                                        std::to_integer<std::uint8_t>(ip[18]),
                                                                        std::to_integer<std::uint8_t>(ip[19])}},
                                              std::to_integer<std::uint8_t>(ip[9]),
                                              static_cast<std::uint32_t>(l4.size()));
      } else {
        nvo::wire::ipv6_address s{}, d{};
        for (std::size_t i = 0; i < 16; ++i) {
          s.octets[i] = std::to_integer<std::uint8_t>(frame[22 + i]);
          d.octets[i] = std::to_integer<std::uint8_t>(frame[38 + i]);
        }
        pseudo = nvo::simd::pseudo_header_sum(s, d, std::to_integer<std::uint8_t>(frame[20]),
                                              static_cast<std::uint32_t>(l4.size()));
      }
      EXPECT_EQ(nvo::simd::checksum_fold(nvo::simd::checksum_accumulate(l4, pseudo)), 0xFFFF) << "verifies";
      l4[p.l4_checksum_offset] = std::byte{0};
      l4[p.l4_checksum_offset + 1] = std::byte{0};
      const bool udp = p.l4_checksum_offset == 6;
      EXPECT_EQ(udp ? nvo::simd::udp_checksum(pseudo, l4) : nvo::simd::l4_checksum(pseudo, l4), p.l4_checksum)
          << to_string(path);
    }
  }
}

TEST(ChecksumHelpers, Ipv4HeaderFastPathMatchesReferenceWithAndWithoutOptions) {
  const auto buf = random_bytes(64 * 61, 21);
  for (std::size_t len = 20; len <= 60; len += 4) {
    for (std::size_t off = 0; off + 60 <= buf.size(); off += 61) {
      std::vector<std::byte> h(buf.begin() + static_cast<std::ptrdiff_t>(off),
                               buf.begin() + static_cast<std::ptrdiff_t>(off + len));
      const std::uint16_t fast = nvo::simd::ipv4_header_checksum(h);
      h[10] = h[11] = std::byte{0};
      ASSERT_EQ(fast, nvo::wire::checksum_finalize(nvo::wire::checksum_accumulate(h))) << "len " << len;
      h[10] = static_cast<std::byte>(fast >> 8);
      h[11] = static_cast<std::byte>(fast);
      ASSERT_TRUE(nvo::simd::ipv4_header_checksum_ok(h));
      // The verify reads native words: it must agree with the big-endian sum
      // on every corruption, and one flipped bit always fails it.
      for (std::size_t bit = 0; bit < 8 * len; bit += 5) {
        h[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        ASSERT_EQ(nvo::wire::checksum_verifies_words(h),
                  nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(h)) == 0xFFFF);
        ASSERT_FALSE(nvo::simd::ipv4_header_checksum_ok(h)) << "len " << len << " bit " << bit;
        h[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
      }
    }
  }
}

// A length that is not whole words takes the general sum: same verdict, no
// read past the region.
TEST(ChecksumHelpers, VerifyOfPartialWordsMatchesReference) {
  const auto buf = random_bytes(64, 31);
  for (std::size_t n = 0; n <= 41; ++n) {
    std::vector<std::byte> r(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));  // exact size: ASan sees overreads
    EXPECT_EQ(nvo::wire::checksum_verifies_words(r),
              nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(r)) == 0xFFFF) << "len " << n;
  }
  std::vector<std::byte> odd{std::byte{0xFF}, std::byte{0xFF}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}};
  EXPECT_TRUE(nvo::wire::checksum_verifies_words(odd));  // 0xFFFF + 0x0000 + 0x00 << 8
}

// The constexpr path agrees with the reference: the RFC 1071 example words
// fail as they are and verify once their checksum follows them.
static_assert(!nvo::wire::checksum_verifies_words(rfc1071_example));
static_assert([] {
  std::array<std::byte, 12> region{};
  for (std::size_t i = 0; i < rfc1071_example.size(); ++i) region[i] = rfc1071_example[i];
  const std::uint16_t c = nvo::wire::checksum_finalize(nvo::wire::checksum_accumulate(region));
  region[8] = static_cast<std::byte>(c >> 8);
  region[9] = static_cast<std::byte>(c);
  return nvo::wire::checksum_verifies_words(region);
}());

TEST(ChecksumHelpers, IncrementalUpdateMatchesRecomputation) {
  std::mt19937 rng(8);
  for (int trial = 0; trial < 20000; ++trial) {
    auto h = random_bytes(20, rng());
    h[10] = h[11] = std::byte{0};
    if (trial % 7 == 0) std::fill(h.begin(), h.end(), std::byte{0});  // drive sums to the 0 / 0xFFFF edge
    const std::uint16_t hc = nvo::wire::checksum_finalize(nvo::wire::checksum_accumulate(h));
    const std::size_t w = 2 * (rng() % 10);
    if (w == 10) continue;  // the checksum field itself
    const auto old_word = static_cast<std::uint16_t>(std::to_integer<unsigned>(h[w]) << 8 | std::to_integer<unsigned>(h[w + 1]));
    const auto new_word = static_cast<std::uint16_t>(rng());
    h[w] = static_cast<std::byte>(new_word >> 8);
    h[w + 1] = static_cast<std::byte>(new_word);
    const std::uint16_t recomputed = nvo::wire::checksum_finalize(nvo::wire::checksum_accumulate(h));
    const std::uint16_t updated = nvo::simd::checksum_update(hc, old_word, new_word);
    // Both are valid encodings; RFC 1624 eqn. 3 yields the recomputed one unless every word is zero.
    const bool all_zero = std::all_of(h.begin(), h.end(), [](std::byte b) { return b == std::byte{0}; });
    if (!all_zero) {
      ASSERT_EQ(updated, recomputed);
    }
  }
}

TEST(ChecksumHelpers, Update32MatchesTwo16BitUpdates) {
  std::mt19937 rng(9);
  for (int i = 0; i < 10000; ++i) {
    const auto hc = static_cast<std::uint16_t>(rng());
    const std::uint32_t o = rng(), n = rng();
    const std::uint16_t step = nvo::simd::checksum_update(nvo::simd::checksum_update(hc, static_cast<std::uint16_t>(o >> 16),
                                                                                     static_cast<std::uint16_t>(n >> 16)),
                                                          static_cast<std::uint16_t>(o), static_cast<std::uint16_t>(n));
    ASSERT_EQ(nvo::simd::checksum_fold(static_cast<std::uint16_t>(~nvo::simd::checksum_update32(hc, o, n))),
              nvo::simd::checksum_fold(static_cast<std::uint16_t>(~step)));
  }
}

TEST(ChecksumHelpers, UdpZeroRules) {
  EXPECT_EQ(nvo::simd::udp_checksum_update(0, 0x1234, 0x5678), 0) << "no checksum stays none";
  // An update that lands on 0 must be sent as 0xFFFF.
  EXPECT_EQ(nvo::simd::checksum_update(0xDD2F, 0x5555, 0x3285), 0x0000);
  EXPECT_EQ(nvo::simd::udp_checksum_update(0xDD2F, 0x5555, 0x3285), 0xFFFF);
  // A datagram whose computed checksum is 0 is sent as 0xFFFF: pick a payload
  // word that makes the one's-complement sum 0xFFFF.
  std::array<std::byte, 10> d{};
  d[0] = std::byte{0x12};
  d[1] = std::byte{0x34};
  d[8] = std::byte{0xED};
  d[9] = std::byte{0xCB};
  EXPECT_EQ(nvo::simd::l4_checksum(0, d), 0x0000);
  EXPECT_EQ(nvo::simd::udp_checksum(0, d), 0xFFFF);
}

TEST(ChecksumHelpers, DispatchedEntryPointsAgreeWithReference) {
  const auto buf = random_bytes(9000, 12);
  std::vector<std::byte> out(9000);
  for (isa path : nvo_simd_test::isas_here()) {
    ASSERT_TRUE(nvo::simd::set_active(path));
    EXPECT_EQ(nvo::simd::active(), path);
    EXPECT_EQ(nvo::simd::active_checksum_kernels().id, path);
    EXPECT_EQ(nvo::simd::checksum(buf), nvo::wire::checksum_finalize(nvo::wire::checksum_accumulate(buf)));
    EXPECT_EQ(nvo::simd::checksum_fold(nvo::simd::copy_checksum_accumulate(out, buf)),
              nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(buf)));
    EXPECT_EQ(out, buf);
  }
}


// The inlined short path and its hand-off to the kernels: every length up to
// 4 x short_checksum_bytes at every start alignment, odd lengths included, with a
// running sum, random and all-0xFF data, under every path.
TEST(ChecksumHelpers, ShortPathMatchesReferenceAtEveryLengthAndAlignment) {
  const std::size_t limit = 4 * nvo::simd::short_checksum_bytes + 8;
  const auto rnd = random_bytes(limit + 64, 13);
  const std::vector<std::byte> ff(limit + 64, std::byte{0xFF});
  for (isa path : nvo_simd_test::isas_here()) {
    ASSERT_TRUE(nvo::simd::set_active(path));
    for (const auto* buf : {&rnd, &ff}) {
      for (std::size_t align = 0; align < 64; ++align) {
        for (std::size_t n = 0; n <= limit; ++n) {
          const std::span<const std::byte> s(buf->data() + align, n);
          const std::uint64_t seed = 0xFFFF'FFFFu * (n % 3);
          ASSERT_EQ(nvo::simd::checksum_fold(nvo::simd::checksum_accumulate(s, seed)),
                    nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(s, seed)))
              << to_string(path) << " align " << align << " len " << n;
          ASSERT_EQ(nvo::simd::checksum(s),
                    static_cast<std::uint16_t>(~nvo::wire::checksum_fold(nvo::wire::checksum_accumulate(s))))
              << to_string(path) << " align " << align << " len " << n;
        }
      }
    }
  }
}

}  // namespace
