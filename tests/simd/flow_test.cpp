// Flow-key extraction from inner Ethernet frames, flow hashes and entropy helpers.
#include "nvo/simd/flow.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "simd_test_util.hpp"

namespace {

using nvo::simd::flow_kind;

std::vector<std::byte> frame(std::initializer_list<int> bytes) {
  std::vector<std::byte> out;
  for (int b : bytes) out.push_back(static_cast<std::byte>(b));
  return out;
}

void append(std::vector<std::byte>& f, std::initializer_list<int> bytes) {
  for (int b : bytes) f.push_back(static_cast<std::byte>(b));
}

std::vector<std::byte> eth(int ethertype) {
  return frame({2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ethertype >> 8, ethertype & 0xFF});
}

std::vector<std::byte> ipv4_frame(int proto, int frag = 0) {
  auto f = eth(0x0800);
  append(f, {0x45, 0, 0, 28, 0, 0, frag >> 8, frag & 0xFF, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2});
  append(f, {0x30, 0x39, 0x12, 0xB5, 0, 8, 0, 0});  // ports 12345 -> 4789
  return f;
}

std::vector<std::byte> ipv6_frame(int next_header) {
  auto f = eth(0x86DD);
  append(f, {0x60, 0, 0, 0, 0, 8, next_header, 64});
  for (int i = 0; i < 16; ++i) f.push_back(static_cast<std::byte>(i == 15 ? 1 : (i < 2 ? 0x20 : 0)));
  for (int i = 0; i < 16; ++i) f.push_back(static_cast<std::byte>(i == 15 ? 2 : (i < 2 ? 0x20 : 0)));
  append(f, {0x01, 0xBB, 0x9C, 0x40, 0, 8, 0, 0});  // ports 443 -> 40000
  return f;
}

TEST(FlowKey, Ipv4UdpFiveTuple) {
  const auto k = nvo::simd::extract_flow_key(ipv4_frame(17));
  EXPECT_EQ(k.kind, flow_kind::ipv4);
  EXPECT_EQ(k.protocol, 17);
  EXPECT_TRUE(k.has_ports);
  EXPECT_EQ(k.src_ip, nvo::wire::ip_address(nvo::wire::ipv4_address{{10, 0, 0, 1}}));
  EXPECT_EQ(k.dst_ip, nvo::wire::ip_address(nvo::wire::ipv4_address{{10, 0, 0, 2}}));
  EXPECT_EQ(k.src_port, 12345);
  EXPECT_EQ(k.dst_port, 4789);
}

TEST(FlowKey, Ipv4OtherProtocolAndFragmentsGiveAddressesOnly) {
  for (const auto& f : {ipv4_frame(47), ipv4_frame(6, 0x2000), ipv4_frame(17, 0x0010)}) {
    const auto k = nvo::simd::extract_flow_key(f);
    EXPECT_EQ(k.kind, flow_kind::ipv4);
    EXPECT_FALSE(k.has_ports);
    EXPECT_EQ(k.src_port, 0);
    EXPECT_EQ(k.src_ip, nvo::wire::ip_address(nvo::wire::ipv4_address{{10, 0, 0, 1}}));
  }
  const auto df = nvo::simd::extract_flow_key(ipv4_frame(6, 0x4000));  // DF alone is not a fragment
  EXPECT_TRUE(df.has_ports);
}

TEST(FlowKey, Ipv6TcpAndExtensionHeaders) {
  const auto k = nvo::simd::extract_flow_key(ipv6_frame(6));
  EXPECT_EQ(k.kind, flow_kind::ipv6);
  EXPECT_TRUE(k.has_ports);
  EXPECT_EQ(k.src_port, 443);
  EXPECT_EQ(k.dst_port, 40000);
  EXPECT_EQ(k.src_ip.octets[15], 1);
  EXPECT_EQ(k.dst_ip.octets[15], 2);
  const auto hbh = nvo::simd::extract_flow_key(ipv6_frame(0));
  EXPECT_EQ(hbh.kind, flow_kind::ipv6);
  EXPECT_FALSE(hbh.has_ports);
  EXPECT_EQ(hbh.protocol, 0);
}

TEST(FlowKey, NonIpAndMalformedFallBackToL2) {
  auto arp = eth(0x0806);
  append(arp, {0, 1, 8, 0});
  const auto k = nvo::simd::extract_flow_key(arp);
  EXPECT_EQ(k.kind, flow_kind::l2);
  EXPECT_EQ(k.ethertype, 0x0806);
  EXPECT_EQ(k.src_mac.octets[5], 1);
  EXPECT_EQ(k.dst_mac.octets[5], 2);
  auto truncated_ip = ipv4_frame(17);
  truncated_ip.resize(14 + 19);
  EXPECT_EQ(nvo::simd::extract_flow_key(truncated_ip).kind, flow_kind::l2);
  EXPECT_EQ(nvo::simd::extract_flow_key(std::span(arp).first(13)).kind, flow_kind::none);
}

TEST(FlowHash, ToeplitzOfKeyEqualsRssOfTuple) {
  const nvo::simd::toeplitz_key key{};
  const auto k = nvo::simd::extract_flow_key(ipv4_frame(17));
  EXPECT_EQ(nvo::simd::flow_hash_toeplitz(key, k),
            nvo::simd::toeplitz(key, nvo::simd::ipv4_tuple{{{10, 0, 0, 1}}, {{10, 0, 0, 2}}, 12345, 4789}));
  // Reply direction hashes equal in symmetric mode, differ otherwise.
  auto reply = ipv4_frame(17);
  std::swap_ranges(reply.begin() + 26, reply.begin() + 30, reply.begin() + 30);
  std::swap_ranges(reply.begin() + 34, reply.begin() + 36, reply.begin() + 36);
  const auto r = nvo::simd::extract_flow_key(reply);
  EXPECT_NE(nvo::simd::flow_hash_toeplitz(key, k), nvo::simd::flow_hash_toeplitz(key, r));
  EXPECT_EQ(nvo::simd::flow_hash_toeplitz(key, k, nvo::simd::rss_direction::symmetric),
            nvo::simd::flow_hash_toeplitz(key, r, nvo::simd::rss_direction::symmetric));
}

TEST(FlowHash, DistinctFlowsSpreadAndEqualKeysAgree) {
  const nvo::simd::toeplitz_key key{};
  std::set<std::uint32_t> toeplitz_hashes, crc_hashes;
  for (int port = 0; port < 1000; ++port) {
    auto f = ipv4_frame(17);
    f[34] = static_cast<std::byte>(port >> 8);
    f[35] = static_cast<std::byte>(port);
    const auto k = nvo::simd::extract_flow_key(f);
    toeplitz_hashes.insert(nvo::simd::flow_hash_toeplitz(key, k));
    crc_hashes.insert(nvo::simd::flow_hash_crc32c(k));
    EXPECT_EQ(nvo::simd::flow_hash_crc32c(k), nvo::simd::flow_hash_crc32c(nvo::simd::extract_flow_key(f)));
  }
  EXPECT_EQ(toeplitz_hashes.size(), 1000u);  // Toeplitz is linear: distinct ports, distinct hashes
  EXPECT_EQ(crc_hashes.size(), 1000u);       // CRC of inputs differing in < 32 bits never collides
  const auto v6 = nvo::simd::extract_flow_key(ipv6_frame(17));
  const auto l2 = nvo::simd::extract_flow_key(eth(0x0806));
  EXPECT_NE(nvo::simd::flow_hash_crc32c(v6), nvo::simd::flow_hash_crc32c(l2));
  EXPECT_NE(nvo::simd::flow_hash_toeplitz(key, l2), 0u);
}

// flow_hash_crc32c(frame) reads the fields straight from the frame; it must
// equal the hash of extract_flow_key's key for every frame, malformed and
// truncated ones included (every prefix and single-byte corruption of
// IPv4/IPv6 TCP/UDP, fragment, VLAN-tagged and non-IP frames).
TEST(FlowHash, HashOfFrameEqualsHashOfItsKey) {
  std::vector<std::vector<std::byte>> frames = {ipv4_frame(17), ipv4_frame(6), ipv4_frame(1), ipv4_frame(17, 0x2000),
                                                ipv4_frame(17, 0x0010), ipv6_frame(17), ipv6_frame(6), ipv6_frame(0),
                                                eth(0x0806), eth(0)};
  auto tagged = frame({2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0, 0, 5});
  auto v4 = ipv4_frame(6);
  tagged.insert(tagged.end(), v4.begin() + 12, v4.end());
  frames.push_back(tagged);
  std::size_t checked = 0;
  for (const auto& base : frames) {
    for (std::size_t n = 0; n <= base.size(); ++n) {
      const std::span<const std::byte> f(base.data(), n);
      EXPECT_EQ(nvo::simd::flow_hash_crc32c(f), nvo::simd::flow_hash_crc32c(nvo::simd::extract_flow_key(f))) << n;
      ++checked;
    }
    for (std::size_t i = 0; i < base.size(); ++i) {
      auto f = base;
      f[i] ^= std::byte{0x5A};
      EXPECT_EQ(nvo::simd::flow_hash_crc32c(std::span<const std::byte>(f)),
                nvo::simd::flow_hash_crc32c(nvo::simd::extract_flow_key(f)))
          << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 900u);
}

TEST(Entropy, UdpSourcePortStaysInRangeAndCoversIt) {
  EXPECT_EQ(nvo::simd::udp_source_port(0), 49152);
  EXPECT_EQ(nvo::simd::udp_source_port(0xFFFFFFFFu), 65535);
  EXPECT_EQ(nvo::simd::udp_source_port(0x80000000u), 49152 + 8192);
  EXPECT_EQ(nvo::simd::udp_source_port(0xFFFFFFFFu, 1000, 1000), 1000);
  std::set<std::uint16_t> seen;
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const std::uint16_t p = nvo::simd::udp_source_port(i * 65536u + 7, 30000, 30099);
    ASSERT_GE(p, 30000);
    ASSERT_LE(p, 30099);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Entropy, NarrowFieldsDependOnEveryHashByte) {
  static_assert(nvo::simd::nvgre_flow_id(0x01000000u) == 0x01);
  static_assert(nvo::simd::nvgre_flow_id(0x00000080u) == 0x80);
  static_assert(nvo::simd::stt_source_port(0x12340000u) == 0x1234);
  static_assert(nvo::simd::stt_source_port(0x00005678u) == 0x5678);
  for (int shift = 0; shift < 32; ++shift) {
    EXPECT_NE(nvo::simd::nvgre_flow_id(1u << shift), 0) << shift;
    EXPECT_NE(nvo::simd::stt_source_port(1u << shift), 0) << shift;
  }
}

}  // namespace
