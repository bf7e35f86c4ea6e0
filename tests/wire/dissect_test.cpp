// Whole-frame tests for wire::dissect: randomized frames built with the
// encoders, golden frames produced by scapy, one test per validation rule with
// the exact errc, and every-prefix / bit-flip runs on exactly sized heap
// buffers so ASan (sanitizer preset) catches any read past the frame.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "test_frames.hpp"

namespace {

namespace w = nvo::wire;
using nvo_test::byte_vector;
using nvo_test::from_hex;
using nvo_test::outer_params;

constexpr std::uint64_t seed = 0x646973736563740A;  // "dissect\n"

template <class T>
T rnd(std::mt19937_64& rng) {
  return static_cast<T>(rng());
}
bool coin(std::mt19937_64& rng) { return (rng() & 1) != 0; }

outer_params random_outer(std::mt19937_64& rng) {
  outer_params o;
  o.dst_mac = w::mac_address::from_u64(rng() & 0xFFFFFFFFFFFF);
  o.src_mac = w::mac_address::from_u64(rng() & 0xFFFFFFFFFFFF);
  o.vlan = coin(rng);
  o.vlan_tci = rnd<std::uint16_t>(rng);
  o.tos = rnd<std::uint8_t>(rng);
  o.ttl = rnd<std::uint8_t>(rng);
  if (coin(rng)) {
    o.src = w::ipv4_address::from_u32(rnd<std::uint32_t>(rng));
    o.dst = w::ipv4_address::from_u32(rnd<std::uint32_t>(rng));
    o.ipv4_id = rnd<std::uint16_t>(rng);
    o.ipv4_flags_fragment = coin(rng) ? w::ipv4::flag_dont_fragment : 0;
    o.ipv4_ihl = static_cast<std::uint8_t>(rng() % 3 == 0 ? 5 + rng() % 11 : 5);
    for (auto& b : o.ipv4_options) b = rnd<std::uint8_t>(rng);
  } else {
    w::ipv6_address s, d;
    for (auto& b : s.octets) b = rnd<std::uint8_t>(rng);
    for (auto& b : d.octets) b = rnd<std::uint8_t>(rng);
    o.src = s;
    o.dst = d;
    o.ipv6_flow_label = rnd<std::uint32_t>(rng) & 0xFFFFF;
  }
  return o;
}

byte_vector random_inner(std::mt19937_64& rng) {
  byte_vector f = nvo_test::make_inner_frame(rng() % 200, rnd<std::uint8_t>(rng), rnd<std::uint16_t>(rng) | 0x0600);
  for (std::size_t i = 0; i < 12; ++i) f[i] = rnd<std::byte>(rng);  // MACs
  return f;
}

// The fields every tunnel reports about the outer headers.
void expect_outer(const w::dissection& d, const outer_params& o) {
  EXPECT_EQ(d.outer_ethernet.dst, o.dst_mac);
  EXPECT_EQ(d.outer_ethernet.src, o.src_mac);
  EXPECT_EQ(d.outer_ethernet.has_vlan, o.vlan);
  if (o.vlan) {
    EXPECT_EQ(d.outer_ethernet.vlan_tci, o.vlan_tci);
  }
  EXPECT_EQ(d.outer_ethernet.ethertype, o.src.is_v4() ? 0x0800 : 0x86DD);
  EXPECT_EQ(d.ip_version, o.src.version);
  EXPECT_EQ(d.outer_src, o.src);
  EXPECT_EQ(d.outer_dst, o.dst);
  EXPECT_EQ(d.outer_tos, o.tos);
  EXPECT_EQ(d.outer_ttl, o.ttl);
}

// The inner span has the expected bytes and points into the frame.
void expect_inner(const w::dissection& d, std::span<const std::byte> frame, std::span<const std::byte> expected) {
  ASSERT_EQ(d.inner.size(), expected.size());
  EXPECT_TRUE(std::equal(d.inner.begin(), d.inner.end(), expected.begin()));
  EXPECT_GE(d.inner.data(), frame.data());
  EXPECT_LE(d.inner.data() + d.inner.size(), frame.data() + frame.size());
}

template <class R>
void expect_error(const R& r, w::errc e) {
  ASSERT_FALSE(r.has_value()) << "expected " << w::to_string(e);
  EXPECT_EQ(r.error(), e) << "got " << w::to_string(r.error()) << ", expected " << w::to_string(e);
}

w::result<w::dissection> dissect(const byte_vector& f, const w::dissect_options& opt = {}) { return w::dissect(f, opt); }

// ---- randomized round trips ----------------------------------------------------

TEST(wire_dissect_round_trip, vxlan) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 3000; ++i) {
    nvo_test::vxlan_params p;
    p.outer = random_outer(rng);
    p.src_port = rnd<std::uint16_t>(rng);
    const std::uint16_t ports[] = {4789, 8472, 48879};
    p.dst_port = ports[rng() % 3];
    p.udp_checksum = coin(rng);
    p.vni = rnd<std::uint32_t>(rng) & 0xFFFFFF;
    p.inner = random_inner(rng);
    const auto f = nvo_test::make_vxlan_frame(p);
    w::dissect_options opt;
    opt.vxlan_port = p.dst_port;
    opt.accept_zero_udp6_checksum = !p.udp_checksum;
    const auto d = dissect(f, opt);
    ASSERT_TRUE(d.has_value()) << i << " " << w::to_string(d.error());
    EXPECT_EQ(d->encap, w::encapsulation::vxlan);
    expect_outer(*d, p.outer);
    EXPECT_EQ(d->src_port, p.src_port);
    EXPECT_EQ(d->dst_port, p.dst_port);
    EXPECT_EQ(d->vni, p.vni);
    EXPECT_TRUE(d->inner_starts_frame());
    expect_inner(*d, f, p.inner);
    if (::testing::Test::HasFailure()) FAIL() << "iteration " << i;
  }
}

TEST(wire_dissect_round_trip, nvgre) {
  std::mt19937_64 rng(seed + 1);
  for (int i = 0; i < 3000; ++i) {
    nvo_test::nvgre_params p;
    p.outer = random_outer(rng);
    p.vsid = rnd<std::uint32_t>(rng) & 0xFFFFFF;
    p.flow_id = rnd<std::uint8_t>(rng);
    p.inner = random_inner(rng);
    const auto f = nvo_test::make_nvgre_frame(p);
    const auto d = dissect(f);
    ASSERT_TRUE(d.has_value()) << i << " " << w::to_string(d.error());
    EXPECT_EQ(d->encap, w::encapsulation::nvgre);
    expect_outer(*d, p.outer);
    EXPECT_EQ(d->nvgre.vsid, p.vsid);
    EXPECT_EQ(d->nvgre.flow_id, p.flow_id);
    EXPECT_EQ(d->src_port, 0);
    EXPECT_TRUE(d->inner_starts_frame());
    expect_inner(*d, f, p.inner);
    if (::testing::Test::HasFailure()) FAIL() << "iteration " << i;
  }
}

TEST(wire_dissect_round_trip, stt_segmented) {
  std::mt19937_64 rng(seed + 2);
  for (int i = 0; i < 1500; ++i) {
    nvo_test::stt_params p;
    p.outer = random_outer(rng);
    p.src_port = rnd<std::uint16_t>(rng);
    p.frame_id = rnd<std::uint32_t>(rng);
    p.frame_header.flags = static_cast<std::uint8_t>(rng() % 16) & 0x0D;
    p.frame_header.l4_offset = rnd<std::uint8_t>(rng);
    p.frame_header.mss = rnd<std::uint16_t>(rng);
    p.frame_header.vlan_tci = rnd<std::uint16_t>(rng);
    p.frame_header.context_id = rng();
    p.inner = random_inner(rng);
    const byte_vector stt_frame = nvo_test::make_stt_frame(p);
    // The first segment must hold the frame header and the inner Ethernet header.
    const std::size_t max_payload = 32 + rng() % 200;
    const auto segments = nvo_test::make_stt_segments(p, max_payload);
    std::size_t offset = 0;
    for (std::size_t k = 0; k < segments.size(); ++k) {
      const auto& f = segments[k];
      const auto d = dissect(f);
      ASSERT_TRUE(d.has_value()) << i << "/" << k << " " << w::to_string(d.error());
      EXPECT_EQ(d->encap, w::encapsulation::stt);
      expect_outer(*d, p.outer);
      EXPECT_EQ(d->src_port, p.src_port);
      EXPECT_EQ(d->dst_port, 7471);
      EXPECT_EQ(d->stt.src_port, p.src_port);
      EXPECT_EQ(d->stt.frame_length, stt_frame.size());
      EXPECT_EQ(d->stt.fragment_offset, offset);
      EXPECT_EQ(d->stt.frame_id, p.frame_id);
      const std::size_t n = std::min(max_payload, stt_frame.size() - offset);
      if (k == 0) {
        EXPECT_TRUE(d->has_stt_frame_header);
        EXPECT_EQ(d->stt_frame, p.frame_header);
        EXPECT_TRUE(d->inner_starts_frame());
        expect_inner(*d, f, std::span(stt_frame).subspan(18, n - 18));
      } else {
        EXPECT_FALSE(d->has_stt_frame_header);
        EXPECT_FALSE(d->inner_starts_frame());
        expect_inner(*d, f, std::span(stt_frame).subspan(offset, n));
      }
      offset += n;
      if (::testing::Test::HasFailure()) FAIL() << "iteration " << i << " segment " << k;
    }
    EXPECT_EQ(offset, stt_frame.size());
  }
}

// Link padding after the IP datagram is not part of the inner frame.
TEST(wire_dissect_round_trip, trailing_link_padding_is_excluded) {
  nvo_test::vxlan_params p;
  p.inner = nvo_test::make_inner_frame(4);
  auto f = nvo_test::make_vxlan_frame(p);
  f.resize(f.size() + 16, std::byte{0xEE});
  const auto d = dissect(f);
  ASSERT_TRUE(d.has_value());
  expect_inner(*d, f, p.inner);
}

// ---- golden frames from scapy ----------------------------------------------------

// Ether(dst='02:00:00:00:00:02', src='02:00:00:00:00:01')
//  /IP(src='192.0.2.1', dst='192.0.2.2', ttl=64, id=0x1234, flags='DF', tos=0x10)
//  /UDP(sport=54321, dport=4789)/VXLAN(flags=0x08, NextProtocol=0, vni=0x123456)
//  /Ether(dst='00:11:22:33:44:55', src='66:77:88:99:aa:bb')/IP(src='10.1.1.1', dst='10.1.1.2')
//  /ICMP(id=7, seq=1)/Raw(b'hello nvo')          (scapy fills in the UDP checksum 0x1be3)
constexpr std::string_view scapy_vxlan_ipv4 =
    "020000000002020000000001080045100057123440004011a44ec0000201c0000202d43112b500431be3080000001234560000112233445566"
    "778899aabb08004500002500010000400164d30a0101010a0101020800d68e0007000168656c6c6f206e766f";
// The same, but with scapy's default VXLAN() stacked on Ether: it sets the GPE
// P flag and NextProtocol=3 (flags byte 0x0C, reserved 00 00 03).
constexpr std::string_view scapy_vxlan_gpe_default =
    "020000000002020000000001080045100057123440004011a44ec0000201c0000202d43112b5004317e00c0000031234560000112233445566"
    "778899aabb08004500002500010000400164d30a0101010a0101020800d68e0007000168656c6c6f206e766f";
// Ether(dst='02:00:00:00:00:02', src='02:00:00:00:00:01')
//  /IPv6(src='2001:db8::1', dst='2001:db8::2', hlim=63, tc=0xb8, fl=0x12345)
//  /GRE(key_present=1, proto=0x6558, key=(0xABCDEF << 8) | 0x42)
//  /Ether(dst='00:11:22:33:44:55', src='66:77:88:99:aa:bb')/IPv6(src='fd00::1', dst='fd00::2')
//  /UDP(sport=1000, dport=2000)/Raw(b'tenant')
constexpr std::string_view scapy_nvgre_ipv6 =
    "02000000000202000000000186dd6b812345004c2f3f20010db800000000000000000000000120010db80000000000000000000000022000"
    "6558abcdef4200112233445566778899aabb86dd60000000000e1140fd000000000000000000000000000001fd0000000000000000000000"
    "0000000203e807d0000ea8da74656e616e74";
// Ether(dst='02:00:00:00:00:02', src='02:00:00:00:00:01')/Dot1Q(prio=5, vlan=100)
//  /IPv6(src='2001:db8::a', dst='2001:db8::b', hlim=255)/UDP(sport=60000, dport=4789)
//  /VXLAN(flags=0x08, NextProtocol=0, vni=0xFFFFFF)/<the same inner frame as scapy_vxlan_ipv4>
constexpr std::string_view scapy_vxlan_ipv6_vlan =
    "0200000000020200000000018100a06486dd60000000004311ff20010db800000000000000000000000a20010db800000000000000000000"
    "000bea6012b50043976408000000ffffff0000112233445566778899aabb08004500002500010000400164d30a0101010a0101020800d68e"
    "0007000168656c6c6f206e766f";
// scapy has no STT layer; the frame header is struct-packed:
//   hdr = struct.pack('!BBBBHHQH', 0, 0x0d, 34, 0, 0, 0x1064, 0x0123456789ABCDEF, 0)  # C|V|T, V=1 VID 100
//   Ether(dst='02:00:00:00:00:02', src='02:00:00:00:00:01')
//    /IP(src='198.51.100.1', dst='198.51.100.2', ttl=64, flags='DF')
//    /TCP(sport=40000, dport=7471, seq=len(hdr + inner) << 16, ack=0xCAFEF00D, flags='PA', window=0)
//    /Raw(hdr + bytes(<the inner frame of scapy_vxlan_ipv4>))   (scapy fills in the TCP checksum 0x0d5f)
constexpr std::string_view scapy_stt_ipv4 =
    "02000000000202000000000108004500006d000140004006e61fc6336401c63364029c401d2f00450000cafef00d501800000d5f0000000d"
    "2200000010640123456789abcdef000000112233445566778899aabb08004500002500010000400164d30a0101010a0101020800d68e0007"
    "000168656c6c6f206e766f";

// The inner frame scapy_vxlan_ipv4 and scapy_stt_ipv4 carry (51 bytes).
constexpr std::string_view scapy_inner_icmp =
    "00112233445566778899aabb08004500002500010000400164d30a0101010a0101020800d68e0007000168656c6c6f206e766f";

w::ipv6_address v6(std::string_view hex) {
  w::ipv6_address a;
  const auto b = from_hex(hex);
  for (std::size_t i = 0; i < 16; ++i) a.octets[i] = std::to_integer<std::uint8_t>(b[i]);
  return a;
}

TEST(wire_dissect_golden, scapy_vxlan_over_ipv4_with_udp_checksum) {
  const auto f = from_hex(scapy_vxlan_ipv4);
  ASSERT_EQ(f.size(), 101u);
  const auto d = dissect(f);
  ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
  EXPECT_EQ(d->encap, w::encapsulation::vxlan);
  EXPECT_EQ(d->outer_ethernet.dst, w::mac_address::from_u64(0x020000000002));
  EXPECT_EQ(d->outer_ethernet.src, w::mac_address::from_u64(0x020000000001));
  EXPECT_FALSE(d->outer_ethernet.has_vlan);
  EXPECT_EQ(d->ip_version, 4);
  EXPECT_EQ(d->outer_src, w::ip_address(nvo_test::ipv4(192, 0, 2, 1)));
  EXPECT_EQ(d->outer_dst, w::ip_address(nvo_test::ipv4(192, 0, 2, 2)));
  EXPECT_EQ(d->outer_tos, 0x10);
  EXPECT_EQ(d->outer_ttl, 64);
  EXPECT_EQ(d->src_port, 54321);
  EXPECT_EQ(d->dst_port, 4789);
  EXPECT_EQ(d->vni, 0x123456u);
  expect_inner(*d, f, from_hex(scapy_inner_icmp));
  // Any single flipped bit in the UDP datagram (past the length field) is caught.
  for (std::size_t bit = (14 + 20 + 6) * 8; bit < f.size() * 8; ++bit) {
    auto g = f;
    g[bit / 8] ^= static_cast<std::byte>(0x80 >> (bit % 8));
    const auto r = dissect(g);
    ASSERT_FALSE(r.has_value()) << bit;
  }
}

TEST(wire_dissect_golden, scapy_vxlan_gpe_flags_need_ignore_policy) {
  const auto f = from_hex(scapy_vxlan_gpe_default);
  expect_error(dissect(f), w::errc::vxlan_reserved_bits);
  w::dissect_options opt;
  opt.reserved = w::reserved_bits::ignore;
  const auto d = dissect(f, opt);
  ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
  EXPECT_EQ(d->encap, w::encapsulation::vxlan);
  EXPECT_EQ(d->vni, 0x123456u);
  expect_inner(*d, f, from_hex(scapy_inner_icmp));
}

TEST(wire_dissect_golden, scapy_nvgre_over_ipv6) {
  const auto f = from_hex(scapy_nvgre_ipv6);
  ASSERT_EQ(f.size(), 130u);
  const auto d = dissect(f);
  ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
  EXPECT_EQ(d->encap, w::encapsulation::nvgre);
  EXPECT_EQ(d->ip_version, 6);
  EXPECT_EQ(d->outer_src, w::ip_address(v6("20010db8000000000000000000000001")));
  EXPECT_EQ(d->outer_dst, w::ip_address(v6("20010db8000000000000000000000002")));
  EXPECT_EQ(d->outer_tos, 0xB8);
  EXPECT_EQ(d->outer_ttl, 63);
  EXPECT_EQ(d->nvgre.vsid, 0xABCDEFu);
  EXPECT_EQ(d->nvgre.flow_id, 0x42);
  const auto inner = from_hex(
      "00112233445566778899aabb86dd60000000000e1140fd000000000000000000000000000001fd000000000000000000000000000002"
      "03e807d0000ea8da74656e616e74");
  expect_inner(*d, f, inner);
}

TEST(wire_dissect_golden, scapy_vxlan_over_ipv6_with_outer_vlan) {
  const auto f = from_hex(scapy_vxlan_ipv6_vlan);
  const auto d = dissect(f);
  ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
  EXPECT_EQ(d->encap, w::encapsulation::vxlan);
  EXPECT_TRUE(d->outer_ethernet.has_vlan);
  EXPECT_EQ(d->outer_ethernet.vlan_tci, 0xA064);  // PCP 5, VID 100
  EXPECT_EQ(d->outer_ethernet.ethertype, 0x86DD);
  EXPECT_EQ(d->ip_version, 6);
  EXPECT_EQ(d->outer_src, w::ip_address(v6("20010db800000000000000000000000a")));
  EXPECT_EQ(d->outer_dst, w::ip_address(v6("20010db800000000000000000000000b")));
  EXPECT_EQ(d->outer_ttl, 255);
  EXPECT_EQ(d->src_port, 60000);
  EXPECT_EQ(d->vni, 0xFFFFFFu);
  expect_inner(*d, f, from_hex(scapy_inner_icmp));
}

TEST(wire_dissect_golden, scapy_stt_over_ipv4) {
  const auto f = from_hex(scapy_stt_ipv4);
  const auto d = dissect(f);
  ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
  EXPECT_EQ(d->encap, w::encapsulation::stt);
  EXPECT_EQ(d->outer_src, w::ip_address(nvo_test::ipv4(198, 51, 100, 1)));
  EXPECT_EQ(d->src_port, 40000);
  EXPECT_EQ(d->dst_port, 7471);
  EXPECT_EQ(d->stt.frame_length, 69);  // 18 + 51
  EXPECT_EQ(d->stt.fragment_offset, 0);
  EXPECT_EQ(d->stt.frame_id, 0xCAFEF00Du);
  ASSERT_TRUE(d->has_stt_frame_header);
  EXPECT_EQ(d->stt_frame.version, 0);
  EXPECT_EQ(d->stt_frame.flags, w::stt::flag_checksum_verified | w::stt::flag_ipv4 | w::stt::flag_tcp);
  EXPECT_EQ(d->stt_frame.l4_offset, 34);
  EXPECT_EQ(d->stt_frame.mss, 0);
  EXPECT_EQ(d->stt_frame.vlan_tci, w::stt::vlan_present | 100);
  EXPECT_EQ(d->stt_frame.context_id, 0x0123456789ABCDEFu);
  expect_inner(*d, f, from_hex(scapy_inner_icmp));
}

// Our builders produce scapy's bytes for the same fields (checksums included).
TEST(wire_dissect_golden, builders_match_scapy) {
  nvo_test::vxlan_params p;
  p.outer.src = nvo_test::ipv4(192, 0, 2, 1);
  p.outer.dst = nvo_test::ipv4(192, 0, 2, 2);
  p.outer.tos = 0x10;
  p.outer.ipv4_id = 0x1234;
  p.src_port = 54321;
  p.vni = 0x123456;
  p.inner = from_hex(scapy_inner_icmp);
  EXPECT_EQ(nvo_test::make_vxlan_frame(p), from_hex(scapy_vxlan_ipv4));

  nvo_test::stt_params s;
  s.outer.src = nvo_test::ipv4(198, 51, 100, 1);
  s.outer.dst = nvo_test::ipv4(198, 51, 100, 2);
  s.outer.ipv4_id = 1;
  s.src_port = 40000;
  s.frame_id = 0xCAFEF00D;
  s.frame_header.flags = 0x0D;
  s.frame_header.l4_offset = 34;
  s.frame_header.vlan_tci = 0x1064;
  s.frame_header.context_id = 0x0123456789ABCDEF;
  s.inner = from_hex(scapy_inner_icmp);
  EXPECT_EQ(nvo_test::make_stt_segment(s), from_hex(scapy_stt_ipv4));
}

// ---- one test per validation rule -----------------------------------------------

outer_params v6_outer() {
  outer_params o;
  o.src = v6("20010db8000000000000000000000001");
  o.dst = v6("20010db8000000000000000000000002");
  return o;
}

byte_vector first(const byte_vector& f, std::size_t n) {
  return byte_vector(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n));
}

TEST(wire_dissect_errors, truncated_at_every_layer) {
  nvo_test::vxlan_params p;
  p.outer.vlan = true;
  const auto f = nvo_test::make_vxlan_frame(p);
  expect_error(dissect(first(f, 13)), w::errc::truncated);  // Ethernet
  expect_error(dissect(first(f, 17)), w::errc::truncated);  // 802.1Q tag
  expect_error(dissect(first(f, 18 + 19)), w::errc::truncated);  // IPv4
  nvo_test::vxlan_params p6;
  p6.outer = v6_outer();
  expect_error(dissect(first(nvo_test::make_vxlan_frame(p6), 14 + 39)), w::errc::truncated);  // IPv6

  // L4 shorter than its header while the IP lengths agree with the buffer.
  const auto four = nvo_test::to_bytes({0x12, 0xB5, 0x12, 0xB5});
  expect_error(dissect(nvo_test::make_ip_frame({}, w::ipv4::protocol_udp, four)), w::errc::truncated);
  expect_error(dissect(nvo_test::make_ip_frame(v6_outer(), w::ipv4::protocol_tcp, four)), w::errc::truncated);
  expect_error(dissect(nvo_test::make_ip_frame({}, w::ipv4::protocol_gre, std::span(four).first(3))),
               w::errc::truncated);
  // GRE says K but the key is missing.
  expect_error(dissect(nvo_test::make_ip_frame({}, w::ipv4::protocol_gre, nvo_test::to_bytes({0x20, 0, 0x65, 0x58, 0, 0}))),
               w::errc::truncated);
  // VXLAN header cut short inside a consistent UDP datagram (zero checksum).
  nvo_test::vxlan_params short_vx;
  short_vx.udp_checksum = false;
  short_vx.inner.clear();
  auto vx = nvo_test::make_vxlan_frame(short_vx);
  const std::size_t l4 = nvo_test::l4_offset(short_vx.outer);
  vx.resize(l4 + 8 + 7);
  w::store_be16(vx, 16, static_cast<std::uint16_t>(20 + 15));  // IPv4 total length
  w::store_be16(vx, l4 + 4, 15);                                // UDP length
  nvo_test::fix_checksums(vx, short_vx.outer);
  expect_error(dissect(vx), w::errc::truncated);
  // STT first segment shorter than the frame header.
  nvo_test::stt_params s;
  const auto fh = nvo_test::make_stt_frame(s);
  expect_error(dissect(nvo_test::make_stt_segment(s, static_cast<std::uint16_t>(fh.size()), 0, std::span(fh).first(17))),
               w::errc::truncated);
}

TEST(wire_dissect_errors, inner_ethernet_truncated) {
  nvo_test::vxlan_params vx;
  vx.inner = nvo_test::make_inner_frame(0);
  ASSERT_TRUE(dissect(nvo_test::make_vxlan_frame(vx)).has_value());  // 14 bytes: enough
  vx.inner.resize(13);
  expect_error(dissect(nvo_test::make_vxlan_frame(vx)), w::errc::inner_truncated);
  vx.inner.clear();
  expect_error(dissect(nvo_test::make_vxlan_frame(vx)), w::errc::inner_truncated);

  nvo_test::nvgre_params nv;
  nv.inner.resize(13);
  expect_error(dissect(nvo_test::make_nvgre_frame(nv)), w::errc::inner_truncated);
  nv.inner.clear();
  expect_error(dissect(nvo_test::make_nvgre_frame(nv)), w::errc::inner_truncated);

  nvo_test::stt_params s;
  s.inner.resize(13);
  expect_error(dissect(nvo_test::make_stt_segment(s)), w::errc::inner_truncated);
}

TEST(wire_dissect_errors, ipv4_rules) {
  const outer_params o;
  const std::size_t l3 = nvo_test::l3_offset(o);
  const auto good = nvo_test::make_vxlan_frame({});
  ASSERT_TRUE(dissect(good).has_value());

  auto f = good;
  f[l3] = std::byte{0x55};
  expect_error(dissect(f), w::errc::ipv4_bad_version);
  f[l3] = std::byte{0x44};
  expect_error(dissect(f), w::errc::ipv4_bad_header_length);
  f[l3] = std::byte{0x40};
  expect_error(dissect(f), w::errc::ipv4_bad_header_length);
  // IHL 15 (60 bytes) with only 59 bytes after the Ethernet header.
  f = first(good, l3 + 59);
  f[l3] = std::byte{0x4F};
  expect_error(dissect(f), w::errc::ipv4_bad_header_length);

  f = good;
  w::store_be16(f, l3 + 2, 19);
  nvo_test::fix_checksums(f, o);
  expect_error(dissect(f), w::errc::ipv4_bad_total_length);
  f = good;
  w::store_be16(f, l3 + 2, static_cast<std::uint16_t>(good.size() - l3 + 1));
  nvo_test::fix_checksums(f, o);
  expect_error(dissect(f), w::errc::ipv4_bad_total_length);

  f = good;
  f[l3 + 8] ^= std::byte{0x01};  // TTL changed, checksum not
  expect_error(dissect(f), w::errc::ipv4_bad_checksum);

  // With options the checksum covers them too.
  nvo_test::vxlan_params opt;
  opt.outer.ipv4_ihl = 8;
  opt.outer.ipv4_options[0] = 0x94;
  opt.outer.ipv4_options[1] = 0x04;
  f = nvo_test::make_vxlan_frame(opt);
  ASSERT_TRUE(dissect(f).has_value());
  f[l3 + 31] ^= std::byte{0x01};
  expect_error(dissect(f), w::errc::ipv4_bad_checksum);

  // Fragments of tunnel candidates are refused (MF set, or a non-zero offset).
  for (std::uint16_t frag : {std::uint16_t{w::ipv4::flag_more_fragments}, std::uint16_t{1}, std::uint16_t{0x1FFF},
                             std::uint16_t{w::ipv4::flag_more_fragments | 0x10}}) {
    nvo_test::vxlan_params vp;
    vp.outer.ipv4_flags_fragment = frag;
    expect_error(dissect(nvo_test::make_vxlan_frame(vp)), w::errc::ipv4_fragment);
    nvo_test::nvgre_params np;
    np.outer.ipv4_flags_fragment = frag;
    expect_error(dissect(nvo_test::make_nvgre_frame(np)), w::errc::ipv4_fragment);
    nvo_test::stt_params sp;
    sp.outer.ipv4_flags_fragment = frag;
    expect_error(dissect(nvo_test::make_stt_segment(sp)), w::errc::ipv4_fragment);
    // Other protocols are not tunnel candidates: classified, not rejected.
    const auto icmp = nvo_test::make_ip_frame(vp.outer, 1, nvo_test::make_inner_frame(8));
    const auto d = dissect(icmp);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->encap, w::encapsulation::none);
    EXPECT_EQ(d->ip_version, 4);
  }
  // DF alone is not a fragment.
  nvo_test::vxlan_params df;
  df.outer.ipv4_flags_fragment = w::ipv4::flag_dont_fragment;
  EXPECT_TRUE(dissect(nvo_test::make_vxlan_frame(df)).has_value());
}

TEST(wire_dissect_errors, ipv6_rules) {
  nvo_test::vxlan_params p;
  p.outer = v6_outer();
  const std::size_t l3 = nvo_test::l3_offset(p.outer);
  const auto good = nvo_test::make_vxlan_frame(p);
  ASSERT_TRUE(dissect(good).has_value());

  auto f = good;
  f[l3] = std::byte{0x40};
  expect_error(dissect(f), w::errc::ipv6_bad_version);
  f = good;
  w::store_be16(f, l3 + 4, 0);
  expect_error(dissect(f), w::errc::ipv6_bad_payload_length);
  f = good;
  w::store_be16(f, l3 + 4, static_cast<std::uint16_t>(good.size() - l3 - 40 + 1));
  expect_error(dissect(f), w::errc::ipv6_bad_payload_length);

  // with_extensions(frame, types, last_next): frame with one 8-byte extension
  // header per type inserted after the IPv6 header, the last one's next
  // header last_next (the frame's own upper layer by default).
  const auto with_extensions = [&](std::vector<std::byte> g, std::vector<int> types, int last_next = -1) {
    const auto upper = std::to_integer<int>(g[l3 + 6]);
    std::vector<std::byte> chain;
    for (std::size_t i = 0; i < types.size(); ++i) {
      const int next = i + 1 < types.size() ? types[i + 1] : (last_next >= 0 ? last_next : upper);
      // next header, length 0 (8 bytes, for AH too: (0 + 2) * 4), a PadN option
      const std::array<int, 8> h{next, 0, 1, 4, 0, 0, 0, 0};
      for (int b : h) chain.push_back(static_cast<std::byte>(b));
    }
    if (!types.empty()) g[l3 + 6] = static_cast<std::byte>(types[0]);
    g.insert(g.begin() + static_cast<std::ptrdiff_t>(l3 + 40), chain.begin(), chain.end());
    w::store_be16(g, l3 + 4, static_cast<std::uint16_t>(w::load_be16(g, l3 + 4) + chain.size()));
    return g;
  };
  // Every extension header type in front of the tunnel header: refused.
  for (int ext : {0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254}) {
    expect_error(dissect(with_extensions(good, {ext})), w::errc::ipv6_extension_header_unsupported);
  }
  expect_error(dissect(with_extensions(good, {0, 60, 43})), w::errc::ipv6_extension_header_unsupported);
  // Behind them, what is not a tunnel is no tunnel: MLD behind hop-by-hop
  // options (every IPv6 host sends it), UDP to another port.
  for (const auto& g : {with_extensions(good, {0}, 58), with_extensions(good, {0, 60}, 58), with_extensions(good, {51}, 59)}) {
    const auto d = dissect(g);
    ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
    EXPECT_EQ(d->encap, w::encapsulation::none);
  }
  {
    auto g = with_extensions(good, {0});
    w::store_be16(g, l3 + 40 + 8 + 2, 53);  // UDP destination port
    const auto d = dissect(g);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->encap, w::encapsulation::none);
  }
  // The walk is bounded and checked: nine headers, and a length past the end.
  expect_error(dissect(with_extensions(good, std::vector<int>(9, 60), 58)), w::errc::ipv6_extension_header_unsupported);
  {
    auto g = with_extensions(good, {0}, 58);
    g[l3 + 40 + 1] = std::byte{200};  // 1608 bytes
    expect_error(dissect(g), w::errc::truncated);
  }
  // Fragments and ESP end the walk: what follows cannot be read.
  for (int ext : {44, 50}) {
    expect_error(dissect(with_extensions(good, {ext}, 58)), w::errc::ipv6_extension_header_unsupported);
  }
  // An unrelated upper layer (ICMPv6, no next header) is simply not a tunnel.
  for (int other : {58, 59}) {
    f = good;
    f[l3 + 6] = static_cast<std::byte>(other);
    const auto d = dissect(f);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->encap, w::encapsulation::none);
    EXPECT_EQ(d->ip_version, 6);
  }
}

TEST(wire_dissect_errors, udp_rules) {
  for (const outer_params& o : {outer_params{}, v6_outer()}) {
    nvo_test::vxlan_params p;
    p.outer = o;
    const std::size_t l4 = nvo_test::l4_offset(o);
    const auto good = nvo_test::make_vxlan_frame(p);
    for (int len : {0, 7, static_cast<int>(good.size() - l4 - 1), static_cast<int>(good.size() - l4 + 1)}) {
      auto f = good;
      w::store_be16(f, l4 + 4, static_cast<std::uint16_t>(len));
      nvo_test::fix_checksums(f, o);
      expect_error(dissect(f), w::errc::udp_bad_length);
    }
    auto f = good;
    f.back() ^= std::byte{0x40};  // inner payload changed, checksum not
    expect_error(dissect(f), w::errc::udp_bad_checksum);
    f = good;
    w::store_be16(f, l4 + 6, static_cast<std::uint16_t>(w::load_be16(f, l4 + 6) + 1));
    expect_error(dissect(f), w::errc::udp_bad_checksum);
  }
}

TEST(wire_dissect_errors, zero_udp_checksum) {
  nvo_test::vxlan_params p;
  p.udp_checksum = false;
  const auto v4 = nvo_test::make_vxlan_frame(p);
  ASSERT_EQ(w::load_be16(v4, nvo_test::l4_offset(p.outer) + 6), 0);
  const auto d4 = dissect(v4);  // RFC 7348: MUST be accepted over IPv4
  ASSERT_TRUE(d4.has_value());
  EXPECT_EQ(d4->encap, w::encapsulation::vxlan);

  p.outer = v6_outer();
  const auto v6f = nvo_test::make_vxlan_frame(p);
  expect_error(dissect(v6f), w::errc::udp_zero_checksum_ipv6);
  w::dissect_options opt;
  opt.accept_zero_udp6_checksum = true;
  const auto d6 = dissect(v6f, opt);
  ASSERT_TRUE(d6.has_value());
  EXPECT_EQ(d6->encap, w::encapsulation::vxlan);
}

// RFC 768: a computed checksum of zero is sent as 0xFFFF, and must verify.
TEST(wire_dissect_errors, udp_checksum_computed_zero_is_sent_as_ffff) {
  for (const outer_params& o : {outer_params{}, v6_outer()}) {
    nvo_test::vxlan_params p;
    p.outer = o;
    const auto f = nvo_test::make_vxlan_frame(p);
    const std::uint16_t c = w::load_be16(f, nvo_test::l4_offset(o) + 6);
    // Adding c (one's complement) to one word makes the datagram sum 0xFFFF,
    // so the checksum computes to zero. Inner byte 14 is word aligned in UDP.
    std::uint32_t word = w::load_be16(p.inner, 14) + std::uint32_t{c};
    word = (word & 0xFFFF) + (word >> 16);
    w::store_be16(p.inner, 14, static_cast<std::uint16_t>(word));
    const auto g = nvo_test::make_vxlan_frame(p);
    ASSERT_EQ(w::load_be16(g, nvo_test::l4_offset(o) + 6), 0xFFFF);
    const auto d = dissect(g);
    ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
    EXPECT_EQ(d->encap, w::encapsulation::vxlan);
    expect_inner(*d, g, p.inner);
  }
}

TEST(wire_dissect_errors, vxlan_rules) {
  nvo_test::vxlan_params p;
  p.flags = 0x00;
  expect_error(dissect(nvo_test::make_vxlan_frame(p)), w::errc::vxlan_i_flag_clear);
  w::dissect_options ignore;
  ignore.reserved = w::reserved_bits::ignore;
  expect_error(dissect(nvo_test::make_vxlan_frame(p), ignore), w::errc::vxlan_i_flag_clear);

  p.flags = 0x88;  // I + a reserved flag (the GBP G bit)
  p.vni = 0x000123;
  const auto f = nvo_test::make_vxlan_frame(p);
  expect_error(dissect(f), w::errc::vxlan_reserved_bits);
  const auto d = dissect(f, ignore);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->vni, 0x000123u);

  // The trailing reserved byte of the VNI word.
  p.flags = w::vxlan::flag_i;
  auto g = nvo_test::make_vxlan_frame(p);
  g[nvo_test::l4_offset(p.outer) + 8 + 7] = std::byte{0x01};
  nvo_test::fix_checksums(g, p.outer);
  expect_error(dissect(g), w::errc::vxlan_reserved_bits);
  EXPECT_TRUE(dissect(g, ignore).has_value());
}

TEST(wire_dissect_errors, vxlan_port_is_configurable) {
  nvo_test::vxlan_params p;
  p.dst_port = 8472;
  p.src_port = 50001;
  const auto f = nvo_test::make_vxlan_frame(p);
  const auto none = dissect(f);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->encap, w::encapsulation::none);
  EXPECT_EQ(none->src_port, 50001);
  EXPECT_EQ(none->dst_port, 8472);
  w::dissect_options opt;
  opt.vxlan_port = 8472;
  const auto d = dissect(f, opt);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->encap, w::encapsulation::vxlan);
  // With a custom port configured, 4789 is no longer VXLAN.
  const auto std_port = dissect(nvo_test::make_vxlan_frame({}), opt);
  ASSERT_TRUE(std_port.has_value());
  EXPECT_EQ(std_port->encap, w::encapsulation::none);
}

TEST(wire_dissect_errors, gre_rules) {
  const outer_params o;
  const std::size_t l4 = nvo_test::l4_offset(o);
  const auto good = nvo_test::make_nvgre_frame({});
  ASSERT_TRUE(dissect(good).has_value());
  w::dissect_options ignore;
  ignore.reserved = w::reserved_bits::ignore;

  for (std::uint16_t bit : {0x4000, 0x0800, 0x0400}) {  // RFC 2784 bits 1, 4, 5
    auto f = good;
    w::store_be16(f, l4, static_cast<std::uint16_t>(w::load_be16(f, l4) | bit));
    expect_error(dissect(f), w::errc::gre_reserved_flags);
    expect_error(dissect(f, ignore), w::errc::gre_reserved_flags);
  }
  for (std::uint16_t ver = 1; ver < 8; ++ver) {
    auto f = good;
    w::store_be16(f, l4, static_cast<std::uint16_t>(0x2000 | ver));
    expect_error(dissect(f), w::errc::gre_bad_version);
  }
  // Reserved0 (bits 6-12): strict rejects; ignore accepts and reports them.
  auto f = good;
  w::store_be16(f, l4, 0x2000 | 0x0200);
  expect_error(dissect(f), w::errc::gre_reserved_bits);
  const auto d = dissect(f, ignore);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->encap, w::encapsulation::nvgre);
  EXPECT_EQ(d->nvgre.reserved0, 0x0200);
  // Reserved1 only exists with C=1, which NVGRE then refuses on its own rule.
  w::gre::header g = nvo_test::nvgre_gre_header(0x1000, 0);
  g.checksum_present = true;
  g.reserved1 = 1;
  const auto c = nvo_test::make_gre_frame(o, g, nvo_test::make_inner_frame(46));
  expect_error(dissect(c), w::errc::gre_reserved_bits);
  expect_error(dissect(c, ignore), w::errc::nvgre_checksum_present);
}

TEST(wire_dissect_errors, nvgre_rules) {
  const outer_params o;
  const auto inner = nvo_test::make_inner_frame(46);
  w::gre::header g = nvo_test::nvgre_gre_header(0x1000, 7);
  g.key_present = false;
  expect_error(dissect(nvo_test::make_gre_frame(o, g, inner)), w::errc::nvgre_key_absent);
  g = nvo_test::nvgre_gre_header(0x1000, 7);
  g.checksum_present = true;
  expect_error(dissect(nvo_test::make_gre_frame(o, g, inner)), w::errc::nvgre_checksum_present);
  g = nvo_test::nvgre_gre_header(0x1000, 7);
  g.sequence_present = true;
  expect_error(dissect(nvo_test::make_gre_frame(o, g, inner)), w::errc::nvgre_sequence_present);

  // GRE carrying something other than Ethernet is not NVGRE and not an error.
  for (std::uint16_t proto : {0x0800, 0x86DD, 0x88BE, 0x6559}) {
    g = nvo_test::nvgre_gre_header(0x1000, 7);
    g.protocol = proto;
    const auto d = dissect(nvo_test::make_gre_frame(o, g, inner));
    ASSERT_TRUE(d.has_value()) << proto;
    EXPECT_EQ(d->encap, w::encapsulation::none);
    EXPECT_EQ(d->ip_version, 4);
    g.key_present = false;  // not even a key
    const auto plain = dissect(nvo_test::make_gre_frame(o, g, inner));
    ASSERT_TRUE(plain.has_value()) << proto;
    EXPECT_EQ(plain->encap, w::encapsulation::none);
  }

  // Non-TEB GRE is not judged by GRE/NVGRE rules at all: PPTP's enhanced GRE
  // (RFC 2637: K, S, A, version 1, protocol 0x880B) and IP-in-GRE with flags
  // RFC 2784 would discard are plain traffic.
  for (const auto& gre_bytes :
       {nvo_test::to_bytes({0x30, 0x81, 0x88, 0x0B, 0x00, 0x04, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0}),
        nvo_test::to_bytes({0x40, 0x00, 0x08, 0x00}), nvo_test::to_bytes({0x00, 0x0F, 0x08, 0x00}),
        nvo_test::to_bytes({0x20, 0x00, 0x08, 0x00, 0x00})}) {
    const auto d = dissect(nvo_test::make_ip_frame(o, w::ipv4::protocol_gre, gre_bytes));
    ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
    EXPECT_EQ(d->encap, w::encapsulation::none);
  }

  // RFC 7637 3.3: inner 802.1Q (and 802.1ad) frames are dropped.
  for (std::uint16_t tpid : {w::ethernet::ethertype_vlan, w::ethernet::ethertype_qinq}) {
    nvo_test::nvgre_params p;
    w::store_be16(p.inner, 12, tpid);
    expect_error(dissect(nvo_test::make_nvgre_frame(p)), w::errc::nvgre_inner_vlan);
    p.inner.resize(14);  // TPID present, tag missing
    expect_error(dissect(nvo_test::make_nvgre_frame(p)),
                 tpid == w::ethernet::ethertype_vlan ? w::errc::inner_truncated : w::errc::nvgre_inner_vlan);
    // VXLAN leaves the inner VLAN policy (RFC 7348 6.1 SHOULD) to the caller.
    nvo_test::vxlan_params v;
    v.inner = p.inner;
    const auto d = dissect(nvo_test::make_vxlan_frame(v));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->encap, w::encapsulation::vxlan);
  }
}

TEST(wire_dissect_errors, stt_rules) {
  w::dissect_options ignore;
  ignore.reserved = w::reserved_bits::ignore;
  nvo_test::stt_params p;
  ASSERT_TRUE(dissect(nvo_test::make_stt_segment(p)).has_value());

  auto bad = p;
  bad.frame_header.version = 1;
  expect_error(dissect(nvo_test::make_stt_segment(bad)), w::errc::stt_bad_version);
  expect_error(dissect(nvo_test::make_stt_segment(bad), ignore), w::errc::stt_bad_version);

  // Reserved flags, reserved byte, padding, C and P together.
  for (int which = 0; which < 4; ++which) {
    bad = p;
    if (which == 0) bad.frame_header.flags = 0x40;
    if (which == 1) bad.frame_header.reserved = 0x01;
    if (which == 2) bad.frame_header.padding = 0x8000;
    if (which == 3) bad.frame_header.flags = w::stt::flag_checksum_verified | w::stt::flag_checksum_partial;
    const auto f = nvo_test::make_stt_segment(bad);
    expect_error(dissect(f), w::errc::stt_reserved_bits);
    const auto d = dissect(f, ignore);
    ASSERT_TRUE(d.has_value()) << which;
    EXPECT_EQ(d->stt_frame, bad.frame_header);
  }

  const auto frame = nvo_test::make_stt_frame(p);
  const auto whole = std::span<const std::byte>(frame);
  expect_error(dissect(nvo_test::make_stt_segment(p, 17, 0, whole.first(17))), w::errc::stt_bad_frame_length);
  expect_error(dissect(nvo_test::make_stt_segment(p, 0, 0, whole.first(10))), w::errc::stt_bad_frame_length);
  // A later segment that ends exactly at the frame length is fine...
  const auto tail = dissect(nvo_test::make_stt_segment(p, static_cast<std::uint16_t>(frame.size()), 40, whole.subspan(40)));
  ASSERT_TRUE(tail.has_value());
  EXPECT_EQ(tail->stt.fragment_offset, 40);
  // ...one byte beyond it is not.
  expect_error(
      dissect(nvo_test::make_stt_segment(p, static_cast<std::uint16_t>(frame.size() - 1), 40, whole.subspan(40))),
      w::errc::stt_bad_frame_length);
  expect_error(dissect(nvo_test::make_stt_segment(p, 100, 0, {})), w::errc::stt_empty_segment);
  expect_error(dissect(nvo_test::make_stt_segment(p, 100, 50, {})), w::errc::stt_empty_segment);

  // TCP data offset other than 5 (checksum fixed so only the offset is wrong).
  for (int off : {0, 4, 6, 15}) {
    auto f = nvo_test::make_stt_segment(p);
    f[nvo_test::l4_offset(p.outer) + 12] = static_cast<std::byte>(off << 4);
    nvo_test::fix_checksums(f, p.outer);
    expect_error(dissect(f), w::errc::tcp_bad_data_offset);
  }
  auto f = nvo_test::make_stt_segment(p);
  f.back() ^= std::byte{0x01};
  expect_error(dissect(f), w::errc::tcp_bad_checksum);
  bad = p;
  bad.tcp_checksum = false;
  expect_error(dissect(nvo_test::make_stt_segment(bad)), w::errc::tcp_bad_checksum);
  bad.outer = v6_outer();
  expect_error(dissect(nvo_test::make_stt_segment(bad)), w::errc::tcp_bad_checksum);

  // TCP to another port is ordinary traffic.
  bad = p;
  bad.dst_port = 7472;
  bad.tcp_checksum = false;
  const auto d = dissect(nvo_test::make_stt_segment(bad));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->encap, w::encapsulation::none);
  EXPECT_EQ(d->dst_port, 7472);
}

// Frames long enough that the UDP/TCP checksum runs on the SIMD kernel.
TEST(wire_dissect_errors, large_frames_verify_on_the_dispatched_checksum) {
  for (const outer_params& o : {outer_params{}, v6_outer()}) {
    for (std::size_t payload : {242u, 243u, 1000u, 1449u}) {
      nvo_test::vxlan_params vx;
      vx.outer = o;
      vx.inner = nvo_test::make_inner_frame(payload, static_cast<std::uint8_t>(payload));
      nvo_test::stt_params st;
      st.outer = o;
      st.inner = vx.inner;
      for (auto f : {nvo_test::make_vxlan_frame(vx), nvo_test::make_stt_segment(st)}) {
        const bool is_vxlan = w::load_u8(f, nvo_test::l3_offset(o) + (o.src.is_v4() ? 9 : 6)) == w::ipv4::protocol_udp;
        ASSERT_TRUE(dissect(f).has_value()) << payload;
        f[f.size() - 1 - payload / 2] ^= std::byte{0x10};
        expect_error(dissect(f), is_vxlan ? w::errc::udp_bad_checksum : w::errc::tcp_bad_checksum);
      }
    }
  }
}

// The NIC's receive-checksum verdict replaces the software check of the outer
// UDP/TCP checksum: good is trusted, bad is dropped, unknown is verified.
TEST(wire_dissect_errors, nic_checksum_verdict) {
  const w::dissect_options opt;
  for (const outer_params& o : {outer_params{}, v6_outer()}) {
    nvo_test::vxlan_params vx;
    vx.outer = o;
    nvo_test::stt_params st;
    st.outer = o;
    const struct {
      byte_vector frame;
      w::errc bad_checksum;
    } cases[] = {{nvo_test::make_vxlan_frame(vx), w::errc::udp_bad_checksum},
                 {nvo_test::make_stt_segment(st), w::errc::tcp_bad_checksum}};
    for (const auto& c : cases) {
      auto corrupted = c.frame;
      corrupted.back() ^= std::byte{0x01};
      expect_error(dissect(corrupted), c.bad_checksum);
      expect_error(w::dissect(corrupted, opt, w::rx_checksum::unknown), c.bad_checksum);
      const auto trusted = w::dissect(corrupted, opt, w::rx_checksum::good);
      ASSERT_TRUE(trusted.has_value()) << w::to_string(trusted.error());
      EXPECT_NE(trusted->encap, w::encapsulation::none);
      expect_error(w::dissect(corrupted, opt, w::rx_checksum::bad), c.bad_checksum);
      // bad is final, even when the bytes in memory verify.
      expect_error(w::dissect(c.frame, opt, w::rx_checksum::bad), c.bad_checksum);
      EXPECT_TRUE(w::dissect(c.frame, opt, w::rx_checksum::good).has_value());
    }
  }
  // A zero UDP checksum means none was sent: accepted over IPv4, and over IPv6
  // still refused unless configured, whatever the NIC reports.
  nvo_test::vxlan_params zero;
  zero.udp_checksum = false;
  EXPECT_TRUE(w::dissect(nvo_test::make_vxlan_frame(zero), opt, w::rx_checksum::bad).has_value());
  zero.outer = v6_outer();
  expect_error(w::dissect(nvo_test::make_vxlan_frame(zero), opt, w::rx_checksum::good),
               w::errc::udp_zero_checksum_ipv6);
  // Checks before the checksum still run when the NIC vouches for it.
  nvo_test::stt_params st;
  auto f = nvo_test::make_stt_segment(st);
  f[nvo_test::l4_offset(st.outer) + 12] = std::byte{0x60};
  expect_error(w::dissect(f, opt, w::rx_checksum::good), w::errc::tcp_bad_data_offset);
  // Frames that carry no verified L4 checksum ignore the verdict.
  const auto nvgre = nvo_test::make_nvgre_frame({});
  const auto d = w::dissect(nvgre, opt, w::rx_checksum::bad);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->encap, w::encapsulation::nvgre);
}

TEST(wire_dissect_errors, non_tunnel_frames_are_none) {
  // ARP: not IP at all.
  const auto arp = nvo_test::make_inner_frame(28, 0, w::ethernet::ethertype_arp);
  const auto d = dissect(arp);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->encap, w::encapsulation::none);
  EXPECT_EQ(d->ip_version, 0);
  EXPECT_EQ(d->outer_ethernet.ethertype, w::ethernet::ethertype_arp);
  EXPECT_TRUE(d->inner.empty());
  EXPECT_FALSE(d->inner_starts_frame());
  // An 802.1ad outer tag is not parsed: the frame is reported as non-IP.
  const auto qinq = nvo_test::make_inner_frame(40, 0, w::ethernet::ethertype_qinq);
  const auto q = dissect(qinq);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->encap, w::encapsulation::none);
  EXPECT_EQ(q->ip_version, 0);
  // Plain UDP to another port.
  nvo_test::vxlan_params p;
  p.dst_port = 53;
  const auto dns = dissect(nvo_test::make_vxlan_frame(p));
  ASSERT_TRUE(dns.has_value());
  EXPECT_EQ(dns->encap, w::encapsulation::none);
  EXPECT_EQ(dns->dst_port, 53);
}

// ---- no reads past the buffer --------------------------------------------------

std::vector<byte_vector> sample_frames() {
  std::vector<byte_vector> frames;
  std::mt19937_64 rng(seed + 3);
  for (int i = 0; i < 4; ++i) {
    nvo_test::vxlan_params vx;
    vx.outer = random_outer(rng);
    vx.vni = 0x123456;
    vx.inner = nvo_test::make_inner_frame(static_cast<std::size_t>(i) * 9);
    frames.push_back(nvo_test::make_vxlan_frame(vx));
    nvo_test::nvgre_params nv;
    nv.outer = random_outer(rng);
    nv.inner = nvo_test::make_inner_frame(static_cast<std::size_t>(i) * 7);
    frames.push_back(nvo_test::make_nvgre_frame(nv));
    nvo_test::stt_params st;
    st.outer = random_outer(rng);
    st.inner = nvo_test::make_inner_frame(static_cast<std::size_t>(i) * 11 + 40);
    for (auto& s : nvo_test::make_stt_segments(st, 40)) frames.push_back(std::move(s));
  }
  frames.push_back(from_hex(scapy_vxlan_ipv4));
  frames.push_back(from_hex(scapy_nvgre_ipv6));
  frames.push_back(from_hex(scapy_vxlan_ipv6_vlan));
  frames.push_back(from_hex(scapy_stt_ipv4));
  return frames;
}

// dissect on a heap buffer of exactly len bytes (ASan redzone right after it).
w::result<w::dissection> dissect_exact(std::span<const std::byte> src, std::size_t len,
                                       std::unique_ptr<std::byte[]>& holder) {
  holder = std::make_unique<std::byte[]>(len);
  std::copy_n(src.begin(), len, holder.get());
  return w::dissect(w::const_bytes(holder.get(), len));
}

TEST(wire_dissect_bounds, every_prefix_of_valid_frames_is_rejected) {
  const auto frames = sample_frames();
  ASSERT_GE(frames.size(), 20u);
  for (const auto& f : frames) {
    std::unique_ptr<std::byte[]> holder;
    ASSERT_TRUE(dissect_exact(f, f.size(), holder).has_value());
    // Each prefix is shorter than the IP header's length says: an error, never a
    // successful parse and never a read past `len`.
    for (std::size_t len = 0; len < f.size(); ++len) {
      const auto r = dissect_exact(f, len, holder);
      ASSERT_FALSE(r.has_value()) << "prefix " << len << " of " << f.size();
    }
  }
  // A non-IP frame: prefixes of 14+ bytes are consistent `none` results.
  const auto arp = nvo_test::make_inner_frame(28, 0, w::ethernet::ethertype_arp);
  for (std::size_t len = 0; len <= arp.size(); ++len) {
    std::unique_ptr<std::byte[]> holder;
    const auto r = dissect_exact(arp, len, holder);
    ASSERT_EQ(r.has_value(), len >= 14) << len;
    if (r) {
      EXPECT_EQ(r->encap, w::encapsulation::none);
      EXPECT_TRUE(r->inner.empty());
    }
  }
}

// ---- differential check against the per-layer parsers -------------------------

// dissect's documented pipeline written with the public per-layer parsers only
// (ethernet/ipv4/ipv6/udp/gre/nvgre/tcp/stt), in the order dissect.hpp lists its
// checks. dissect may be optimised freely; it must agree with this.
w::result<w::dissection> reference_dissect(w::const_bytes frame, const w::dissect_options& opt) {
  w::dissection d;
  const auto eth = w::ethernet::parse(frame);
  if (!eth) return eth.error();
  d.outer_ethernet = *eth;
  const auto l3 = frame.subspan(eth->size());
  w::const_bytes l4;
  std::uint8_t protocol = 0;
  if (eth->ethertype == w::ethernet::ethertype_ipv4) {
    const auto ip = w::ipv4::parse(l3);
    if (!ip) return ip.error();
    d.ip_version = 4;
    d.outer_src = ip->src;
    d.outer_dst = ip->dst;
    d.outer_tos = ip->tos;
    d.outer_ttl = ip->ttl;
    protocol = ip->protocol;
    l4 = l3.subspan(ip->size(), ip->payload_length());
    if ((protocol == 6 || protocol == 17 || protocol == 47) && ip->is_fragment()) return w::errc::ipv4_fragment;
  } else if (eth->ethertype == w::ethernet::ethertype_ipv6) {
    const auto ip = w::ipv6::parse(l3);
    if (!ip) return ip.error();
    d.ip_version = 6;
    d.outer_src = ip->src;
    d.outer_dst = ip->dst;
    d.outer_tos = ip->traffic_class;
    d.outer_ttl = ip->hop_limit;
    protocol = ip->next_header;
    l4 = l3.subspan(40, ip->payload_length);
    if (w::ipv6::is_extension_header(protocol)) {
      // The chain walked with RFC 8200 4.3-4.6 and RFC 4302 2.2's lengths; at
      // most 8 headers; a tunnel candidate behind them refused, anything else
      // no tunnel.
      std::uint8_t next = protocol;
      w::const_bytes rest = l4;
      for (int seen = 0; w::ipv6::is_extension_header(next); ++seen) {
        if (seen == 8 || next == 44 || next == 50) return w::errc::ipv6_extension_header_unsupported;
        if (rest.size() < 8) return w::errc::truncated;
        const std::size_t n = next == 51 ? 4u * (w::load_u8(rest, 1) + 2u) : 8u * (w::load_u8(rest, 1) + 1u);
        if (rest.size() < n) return w::errc::truncated;
        next = w::load_u8(rest, 0);
        rest = rest.subspan(n);
      }
      const std::uint16_t word = rest.size() >= 4 ? w::load_be16(rest, 2) : 0;
      if ((next == 17 && word == opt.vxlan_port) || (next == 47 && word == w::nvgre::protocol) ||
          (next == 6 && word == w::stt::default_port))
        return w::errc::ipv6_extension_header_unsupported;
      return d;
    }
  } else {
    return d;
  }
  const auto pseudo = w::pseudo_header_sum(d.outer_src, d.outer_dst, protocol, static_cast<std::uint32_t>(l4.size()));
  if (protocol == 17) {
    if (l4.size() < 8) return w::errc::truncated;
    d.src_port = w::load_be16(l4, 0);
    d.dst_port = w::load_be16(l4, 2);
    if (d.dst_port != opt.vxlan_port) return d;
    const auto u = w::udp::parse(l4);
    if (!u) return u.error();
    if (u->checksum == 0) {
      if (d.ip_version == 6 && !opt.accept_zero_udp6_checksum) return w::errc::udp_zero_checksum_ipv6;
    } else if (!w::udp::checksum_ok(pseudo, l4)) {
      return w::errc::udp_bad_checksum;
    }
    const auto vx = w::vxlan::parse(l4.subspan(8), opt.reserved);
    if (!vx) return vx.error();
    d.encap = w::encapsulation::vxlan;
    d.vni = vx->vni;
    d.inner = l4.subspan(16);
    if (d.inner.size() < 14) return w::errc::inner_truncated;
    return d;
  }
  if (protocol == 47) {
    if (l4.size() >= 4 && w::load_be16(l4, 2) != w::nvgre::protocol) return d;  // not TEB: plain GRE
    const auto g = w::gre::parse(l4, opt.reserved);
    if (!g) return g.error();
    const auto nv = w::nvgre::from_gre(*g);
    if (!nv) return nv.error();
    d.inner = l4.subspan(g->size());
    if (const auto in = w::nvgre::parse_inner(d.inner); !in) return in.error();
    d.encap = w::encapsulation::nvgre;
    d.nvgre = *nv;
    return d;
  }
  if (protocol == 6) {
    if (l4.size() < 20) return w::errc::truncated;
    d.src_port = w::load_be16(l4, 0);
    d.dst_port = w::load_be16(l4, 2);
    if (d.dst_port != w::stt::default_port) return d;
    const auto t = w::tcp::parse(l4);
    if (!t) return t.error();
    if (!w::tcp::checksum_ok(pseudo, l4)) return w::errc::tcp_bad_checksum;
    const auto seg = w::stt::check_segment(w::stt::segment_of(*t), l4.size() - 20);
    if (!seg) return seg.error();
    d.encap = w::encapsulation::stt;
    d.stt = *seg;
    d.inner = l4.subspan(20);
    if (seg->carries_frame_header()) {
      const auto fh = w::stt::parse_frame_header(d.inner, opt.reserved);
      if (!fh) return fh.error();
      d.has_stt_frame_header = true;
      d.stt_frame = *fh;
      d.inner = d.inner.subspan(18);
      if (d.inner.size() < 14) return w::errc::inner_truncated;
    }
    return d;
  }
  return d;
}

void expect_same(const w::result<w::dissection>& got, const w::result<w::dissection>& want, int i) {
  ASSERT_EQ(got.has_value(), want.has_value())
      << i << ": got " << (got ? "ok" : w::to_string(got.error())) << ", want "
      << (want ? "ok" : w::to_string(want.error()));
  if (!want) {
    ASSERT_EQ(got.error(), want.error()) << i << ": got " << w::to_string(got.error()) << ", want "
                                         << w::to_string(want.error());
    return;
  }
  const auto& a = *got;
  const auto& b = *want;
  ASSERT_EQ(a.encap, b.encap) << i;
  EXPECT_EQ(a.outer_ethernet, b.outer_ethernet) << i;
  EXPECT_EQ(a.ip_version, b.ip_version) << i;
  EXPECT_EQ(a.outer_src, b.outer_src) << i;
  EXPECT_EQ(a.outer_dst, b.outer_dst) << i;
  EXPECT_EQ(a.outer_tos, b.outer_tos) << i;
  EXPECT_EQ(a.outer_ttl, b.outer_ttl) << i;
  EXPECT_EQ(a.src_port, b.src_port) << i;
  EXPECT_EQ(a.dst_port, b.dst_port) << i;
  EXPECT_EQ(a.inner.data(), b.inner.data()) << i;
  EXPECT_EQ(a.inner.size(), b.inner.size()) << i;
  if (b.encap == w::encapsulation::vxlan) {
    EXPECT_EQ(a.vni, b.vni) << i;
  }
  if (b.encap == w::encapsulation::nvgre) {
    EXPECT_EQ(a.nvgre, b.nvgre) << i;
  }
  if (b.encap == w::encapsulation::stt) {
    EXPECT_EQ(a.stt, b.stt) << i;
    EXPECT_EQ(a.has_stt_frame_header, b.has_stt_frame_header) << i;
    EXPECT_EQ(a.stt_frame, b.stt_frame) << i;
  }
}

TEST(wire_dissect_bounds, agrees_with_per_layer_parsers_on_corrupted_frames) {
  const auto frames = sample_frames();
  std::mt19937_64 rng(seed + 5);
  for (int i = 0; i < 30000; ++i) {
    byte_vector f = frames[rng() % frames.size()];
    const int flips = static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) f[rng() % f.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
    if (rng() % 4 == 0) f.resize(rng() % (f.size() + 1));
    w::dissect_options opt;
    if (coin(rng)) opt.reserved = w::reserved_bits::ignore;
    opt.accept_zero_udp6_checksum = coin(rng);
    expect_same(w::dissect(f, opt), reference_dissect(f, opt), i);
    if (::testing::Test::HasFailure()) FAIL() << "frame " << i;
  }
}

// Random corruption of valid frames: any result, but a successful one must be
// self-consistent and its inner span must lie inside the buffer.
TEST(wire_dissect_bounds, corrupted_frames_never_read_outside) {
  const auto frames = sample_frames();
  std::mt19937_64 rng(seed + 4);
  w::dissect_options lax;
  lax.reserved = w::reserved_bits::ignore;
  lax.accept_zero_udp6_checksum = true;
  for (int i = 0; i < 20000; ++i) {
    byte_vector f = frames[rng() % frames.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) f[rng() % f.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
    if (coin(rng)) f.resize(rng() % (f.size() + 1));
    // Exactly sized heap copy, dissected under both policies.
    auto copy = std::make_unique<std::byte[]>(f.size());
    std::copy(f.begin(), f.end(), copy.get());
    const w::const_bytes buf(copy.get(), f.size());
    const auto r = w::dissect(buf);
    const auto r2 = w::dissect(buf, lax);
    for (const auto* res : {&r, &r2}) {
      if (!res->has_value()) continue;
      const auto& d = **res;
      if (d.encap == w::encapsulation::none) continue;
      ASSERT_TRUE(d.ip_version == 4 || d.ip_version == 6);
      ASSERT_GE(d.inner.data(), copy.get());
      ASSERT_LE(d.inner.data() + d.inner.size(), copy.get() + f.size());
      if (d.inner_starts_frame()) {
        ASSERT_GE(d.inner.size(), 14u);
      }
    }
  }
}

}  // namespace
