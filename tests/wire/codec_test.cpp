// Per-codec tests for include/nvo/wire/: randomized encode -> parse round trips,
// golden encodings written out by hand from the RFC diagrams, every parser and
// encoder error, and errc names.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_frames.hpp"

namespace {

namespace w = nvo::wire;
using nvo_test::byte_vector;
using nvo_test::to_bytes;

constexpr int iterations = 5000;
constexpr std::uint64_t seed = 0x6E766F2D77697265;  // "nvo-wire"

template <class T>
T rnd(std::mt19937_64& rng) {
  return static_cast<T>(rng());
}
bool coin(std::mt19937_64& rng) { return (rng() & 1) != 0; }

w::mac_address rnd_mac(std::mt19937_64& rng) { return w::mac_address::from_u64(rng() & 0xFFFFFFFFFFFF); }
w::ipv4_address rnd_v4(std::mt19937_64& rng) { return w::ipv4_address::from_u32(rnd<std::uint32_t>(rng)); }
w::ipv6_address rnd_v6(std::mt19937_64& rng) {
  w::ipv6_address a;
  for (auto& o : a.octets) o = rnd<std::uint8_t>(rng);
  return a;
}

// Encodes h into a buffer of exactly `size` bytes and returns it.
template <class H, class Encode>
byte_vector encode_exact(const H& h, std::size_t size, Encode encode) {
  byte_vector out(size);
  const auto n = encode(h, std::span<std::byte>(out));
  EXPECT_TRUE(n.has_value());
  if (n) {
    EXPECT_EQ(*n, size);
  }
  return out;
}

// ---- randomized round trips --------------------------------------------------

TEST(wire_codec_round_trip, ethernet) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < iterations; ++i) {
    w::ethernet::header h;
    h.dst = rnd_mac(rng);
    h.src = rnd_mac(rng);
    h.has_vlan = coin(rng);
    if (h.has_vlan) h.vlan_tci = rnd<std::uint16_t>(rng);
    // An untagged header whose EtherType is 0x8100 would read back as tagged.
    do h.ethertype = rnd<std::uint16_t>(rng);
    while (h.ethertype == w::ethernet::ethertype_vlan);
    const auto bytes = encode_exact(h, h.size(), [](const auto& x, w::bytes o) { return w::ethernet::encode(x, o); });
    const auto p = w::ethernet::parse(bytes);
    ASSERT_TRUE(p.has_value()) << i;
    ASSERT_EQ(*p, h) << i;
  }
}

TEST(wire_codec_round_trip, ipv4_with_options) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < iterations; ++i) {
    w::ipv4::header h;
    h.ihl = static_cast<std::uint8_t>(5 + rng() % 11);
    h.tos = rnd<std::uint8_t>(rng);
    const std::size_t payload = rng() % 64;
    h.total_length = static_cast<std::uint16_t>(h.size() + payload);
    h.identification = rnd<std::uint16_t>(rng);
    h.flags_fragment_offset = rnd<std::uint16_t>(rng);
    h.ttl = rnd<std::uint8_t>(rng);
    h.protocol = rnd<std::uint8_t>(rng);
    h.src = rnd_v4(rng);
    h.dst = rnd_v4(rng);
    for (std::size_t k = 0; k < h.size() - 20; ++k) h.options[k] = rnd<std::uint8_t>(rng);
    byte_vector buf(h.total_length);
    const auto n = w::ipv4::encode(h, buf);
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(*n, h.size());
    const auto p = w::ipv4::parse(buf);
    ASSERT_TRUE(p.has_value()) << i << " " << w::to_string(p.error());
    EXPECT_EQ(p->checksum, w::load_be16(buf, 10));
    auto got = *p;
    got.checksum = 0;
    ASSERT_EQ(got, h) << i;
    EXPECT_EQ(p->payload_length(), payload);
  }
}

TEST(wire_codec_round_trip, ipv6) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < iterations; ++i) {
    w::ipv6::header h;
    h.traffic_class = rnd<std::uint8_t>(rng);
    h.flow_label = rnd<std::uint32_t>(rng) & 0xFFFFF;
    h.payload_length = static_cast<std::uint16_t>(1 + rng() % 100);
    h.next_header = rnd<std::uint8_t>(rng);
    h.hop_limit = rnd<std::uint8_t>(rng);
    h.src = rnd_v6(rng);
    h.dst = rnd_v6(rng);
    byte_vector buf(40 + h.payload_length);
    ASSERT_TRUE(w::ipv6::encode(h, buf).has_value());
    const auto p = w::ipv6::parse(buf);
    ASSERT_TRUE(p.has_value()) << i;
    ASSERT_EQ(*p, h) << i;
  }
}

TEST(wire_codec_round_trip, udp_and_tcp) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < iterations; ++i) {
    const std::size_t len = 8 + rng() % 32;
    const w::udp::header u{rnd<std::uint16_t>(rng), rnd<std::uint16_t>(rng), static_cast<std::uint16_t>(len),
                           rnd<std::uint16_t>(rng)};
    byte_vector ub(len);
    ASSERT_TRUE(w::udp::encode(u, ub).has_value());
    const auto up = w::udp::parse(ub);
    ASSERT_TRUE(up.has_value()) << i;
    ASSERT_EQ(*up, u);

    w::tcp::header t;
    t.src_port = rnd<std::uint16_t>(rng);
    t.dst_port = rnd<std::uint16_t>(rng);
    t.seq = rnd<std::uint32_t>(rng);
    t.ack = rnd<std::uint32_t>(rng);
    t.reserved = rnd<std::uint8_t>(rng) & 0x0F;
    t.flags = rnd<std::uint8_t>(rng);
    t.window = rnd<std::uint16_t>(rng);
    t.checksum = rnd<std::uint16_t>(rng);
    t.urgent = rnd<std::uint16_t>(rng);
    const auto tb = encode_exact(t, 20, [](const auto& x, w::bytes o) { return w::tcp::encode(x, o); });
    const auto tp = w::tcp::parse(tb);
    ASSERT_TRUE(tp.has_value()) << i;
    ASSERT_EQ(*tp, t);
  }
}

TEST(wire_codec_round_trip, gre_every_flag_combination) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < iterations; ++i) {
    w::gre::header h;
    h.checksum_present = (i & 1) != 0;
    h.key_present = (i & 2) != 0;
    h.sequence_present = (i & 4) != 0;
    const bool with_reserved = (i & 8) != 0;
    h.protocol = rnd<std::uint16_t>(rng);
    if (h.checksum_present) h.checksum = rnd<std::uint16_t>(rng);
    if (h.key_present) h.key = rnd<std::uint32_t>(rng);
    if (h.sequence_present) h.sequence = rnd<std::uint32_t>(rng);
    if (with_reserved) {
      h.reserved0 = rnd<std::uint16_t>(rng) & w::gre::reserved0_mask;
      if (h.checksum_present) h.reserved1 = rnd<std::uint16_t>(rng);
    }
    const auto bytes = encode_exact(h, h.size(), [](const auto& x, w::bytes o) { return w::gre::encode(x, o); });
    const auto p = w::gre::parse(bytes, w::reserved_bits::ignore);
    ASSERT_TRUE(p.has_value()) << i;
    ASSERT_EQ(*p, h) << i;
    const auto strict = w::gre::parse(bytes);
    if (h.reserved0 == 0 && h.reserved1 == 0) {
      ASSERT_TRUE(strict.has_value());
      EXPECT_EQ(*strict, h);
    } else {
      ASSERT_FALSE(strict.has_value());
      EXPECT_EQ(strict.error(), w::errc::gre_reserved_bits);
    }
  }
}

TEST(wire_codec_round_trip, vxlan_nvgre_stt) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < iterations; ++i) {
    w::vxlan::header vx;
    vx.vni = rnd<std::uint32_t>(rng) & 0xFFFFFF;
    const bool dirty = coin(rng);
    if (dirty) {  // reserved bits only survive under reserved_bits::ignore
      vx.flags = rnd<std::uint8_t>(rng) | w::vxlan::flag_i;
      vx.reserved1 = rnd<std::uint32_t>(rng) & 0xFFFFFF;
      vx.reserved2 = rnd<std::uint8_t>(rng);
    }
    const auto vb = encode_exact(vx, 8, [](const auto& x, w::bytes o) { return w::vxlan::encode(x, o); });
    const auto vp = w::vxlan::parse(vb, dirty ? w::reserved_bits::ignore : w::reserved_bits::strict);
    ASSERT_TRUE(vp.has_value()) << i;
    ASSERT_EQ(*vp, vx);

    const w::nvgre::header nv{rnd<std::uint32_t>(rng) & 0xFFFFFF, rnd<std::uint8_t>(rng), 0};
    const auto nb = encode_exact(nv, 8, [](const auto& x, w::bytes o) { return w::nvgre::encode(x, o); });
    const auto np = w::nvgre::parse(nb);
    ASSERT_TRUE(np.has_value()) << i;
    ASSERT_EQ(*np, nv);
    // The key is VSID << 8 | FlowID.
    EXPECT_EQ(w::load_be32(nb, 4), nv.vsid << 8 | nv.flow_id);

    w::stt::frame_header fh;
    fh.flags = rnd<std::uint8_t>(rng) & 0x0D;  // never C and P together under strict
    fh.l4_offset = rnd<std::uint8_t>(rng);
    fh.mss = rnd<std::uint16_t>(rng);
    fh.vlan_tci = rnd<std::uint16_t>(rng);
    fh.context_id = rng();
    const auto sb = encode_exact(fh, 18, [](const auto& x, w::bytes o) { return w::stt::encode_frame_header(x, o); });
    const auto sp = w::stt::parse_frame_header(sb);
    ASSERT_TRUE(sp.has_value()) << i;
    ASSERT_EQ(*sp, fh);

    const w::stt::segment s{rnd<std::uint16_t>(rng), rnd<std::uint16_t>(rng), rnd<std::uint16_t>(rng),
                            rnd<std::uint16_t>(rng), rnd<std::uint32_t>(rng)};
    const auto t = w::stt::tcp_header_of(s, coin(rng));
    const auto tb = encode_exact(t, 20, [](const auto& x, w::bytes o) { return w::tcp::encode(x, o); });
    const auto tp = w::tcp::parse(tb);
    ASSERT_TRUE(tp.has_value());
    ASSERT_EQ(w::stt::segment_of(*tp), s) << i;
  }
}

// ---- byte order ------------------------------------------------------------------

// Every width at every alignment, at run time (memcpy + bswap, or the byte loop
// for 24 bits); the constexpr paths are covered by wire_constexpr_test.
TEST(wire_codec_byte_order, big_endian_loads_and_stores) {
  byte_vector b(24);
  for (std::size_t off = 0; off + 9 <= b.size(); ++off) {
    std::fill(b.begin(), b.end(), std::byte{0xEE});
    w::store_be64(b, off, 0x0102030405060708);
    for (std::size_t k = 0; k < 8; ++k) ASSERT_EQ(std::to_integer<int>(b[off + k]), static_cast<int>(k + 1));
    if (off > 0) {
      EXPECT_EQ(b[off - 1], std::byte{0xEE});
    }
    if (off + 8 < b.size()) {
      EXPECT_EQ(b[off + 8], std::byte{0xEE});
    }
    EXPECT_EQ(w::load_be64(b, off), 0x0102030405060708u);
    EXPECT_EQ(w::load_be32(b, off), 0x01020304u);
    EXPECT_EQ(w::load_be24(b, off), 0x010203u);
    EXPECT_EQ(w::load_be16(b, off), 0x0102u);
    EXPECT_EQ(w::load_u8(b, off), 0x01u);
    w::store_be32(b, off, 0xA1B2C3D4);
    w::store_be24(b, off + 4, 0xE5F607);
    w::store_be16(b, off + 7, 0x0809);
    EXPECT_EQ(nvo_test::to_bytes({0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x08, 0x09}),
              byte_vector(b.begin() + static_cast<std::ptrdiff_t>(off), b.begin() + static_cast<std::ptrdiff_t>(off) + 9));
  }
  // store_be24 writes exactly three bytes and drops bits above 24.
  std::fill(b.begin(), b.end(), std::byte{0xEE});
  w::store_be24(b, 1, 0xFF123456);
  EXPECT_EQ(byte_vector(b.begin(), b.begin() + 5), nvo_test::to_bytes({0xEE, 0x12, 0x34, 0x56, 0xEE}));
}

// ---- golden encodings ------------------------------------------------------------

template <class H, class Encode>
void expect_encoding(const H& h, const byte_vector& expected, Encode encode) {
  byte_vector out(expected.size());
  const auto n = encode(h, std::span<std::byte>(out));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, expected.size());
  EXPECT_EQ(out, expected);
}

TEST(wire_codec_golden, vxlan_rfc7348) {
  w::vxlan::header vx;
  vx.vni = 0x123456;
  // Flags 0x08 (I), 24 reserved bits, VNI, 8 reserved bits.
  expect_encoding(vx, to_bytes({0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x00}),
                  [](const auto& x, w::bytes o) { return w::vxlan::encode(x, o); });
  const auto p = w::vxlan::parse(to_bytes({0x08, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00}));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->vni, 0xFFFFFFu);
}

TEST(wire_codec_golden, nvgre_rfc7637) {
  // |0| |1|0| Reserved0 | Ver | = 0x2000, protocol 0x6558, VSID | FlowID.
  expect_encoding(w::nvgre::header{0xABCDEF, 0x42, 0}, to_bytes({0x20, 0x00, 0x65, 0x58, 0xAB, 0xCD, 0xEF, 0x42}),
                  [](const auto& x, w::bytes o) { return w::nvgre::encode(x, o); });
  const auto p = w::nvgre::parse(to_bytes({0x20, 0x00, 0x65, 0x58, 0x00, 0x10, 0x00, 0xFF}));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->vsid, 0x1000u);
  EXPECT_EQ(p->flow_id, 0xFF);
}

TEST(wire_codec_golden, gre_all_optional_fields_rfc2890_order) {
  w::gre::header g;
  g.checksum_present = g.key_present = g.sequence_present = true;
  g.protocol = 0x0800;
  g.checksum = 0xC0DE;
  g.key = 0x01020304;
  g.sequence = 0xA0B0C0D0;
  // C|K|S = 0xB000; checksum + reserved1, then key, then sequence.
  expect_encoding(g,
                  to_bytes({0xB0, 0x00, 0x08, 0x00, 0xC0, 0xDE, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0xA0, 0xB0, 0xC0,
                            0xD0}),
                  [](const auto& x, w::bytes o) { return w::gre::encode(x, o); });
  // Key and sequence only: no checksum word.
  g.checksum_present = false;
  expect_encoding(g, to_bytes({0x30, 0x00, 0x08, 0x00, 0x01, 0x02, 0x03, 0x04, 0xA0, 0xB0, 0xC0, 0xD0}),
                  [](const auto& x, w::bytes o) { return w::gre::encode(x, o); });
  // Checksum and sequence: the sequence directly follows the checksum word.
  g.checksum_present = true;
  g.key_present = false;
  expect_encoding(g, to_bytes({0x90, 0x00, 0x08, 0x00, 0xC0, 0xDE, 0x00, 0x00, 0xA0, 0xB0, 0xC0, 0xD0}),
                  [](const auto& x, w::bytes o) { return w::gre::encode(x, o); });
}

TEST(wire_codec_golden, stt_frame_header_draft_davie_stt_08) {
  w::stt::frame_header fh;
  fh.flags = w::stt::flag_checksum_partial | w::stt::flag_ipv4 | w::stt::flag_tcp;  // P V T = 0x0E (OVS values)
  fh.l4_offset = 34;
  fh.mss = 1448;                // 0x05A8
  fh.vlan_tci = 0x3000 | 0x064;  // PCP 1, V, VID 100
  fh.context_id = 0x0123456789ABCDEF;
  expect_encoding(fh,
                  to_bytes({0x00, 0x0E, 0x22, 0x00, 0x05, 0xA8, 0x30, 0x64, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD,
                            0xEF, 0x00, 0x00}),
                  [](const auto& x, w::bytes o) { return w::stt::encode_frame_header(x, o); });
}

TEST(wire_codec_golden, stt_segment_tcp_header) {
  const w::stt::segment s{0x9C40, 7471, 0x0045, 0x0010, 0xCAFEF00D};
  // SEQ = length << 16 | offset, ACK = frame id, data offset 5, ACK|PSH.
  expect_encoding(w::stt::tcp_header_of(s, true),
                  to_bytes({0x9C, 0x40, 0x1D, 0x2F, 0x00, 0x45, 0x00, 0x10, 0xCA, 0xFE, 0xF0, 0x0D, 0x50, 0x18, 0x00,
                            0x00, 0x00, 0x00, 0x00, 0x00}),
                  [](const auto& x, w::bytes o) { return w::tcp::encode(x, o); });
}

TEST(wire_codec_golden, ethernet_udp_ipv6) {
  w::ethernet::header e;
  e.dst = w::mac_address::from_u64(0x0180C2000000);
  e.src = w::mac_address::from_u64(0x001122334455);
  e.has_vlan = true;
  e.vlan_tci = 0xA064;
  e.ethertype = 0x86DD;
  expect_encoding(e,
                  to_bytes({0x01, 0x80, 0xC2, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x81, 0x00, 0xA0,
                            0x64, 0x86, 0xDD}),
                  [](const auto& x, w::bytes o) { return w::ethernet::encode(x, o); });
  expect_encoding(w::udp::header{0xD431, 4789, 0x0043, 0x1BE3},
                  to_bytes({0xD4, 0x31, 0x12, 0xB5, 0x00, 0x43, 0x1B, 0xE3}),
                  [](const auto& x, w::bytes o) { return w::udp::encode(x, o); });
  w::ipv6::header ip;
  ip.traffic_class = 0xB8;
  ip.flow_label = 0x12345;
  ip.payload_length = 0x4C;
  ip.next_header = 47;
  ip.hop_limit = 63;
  ip.src.octets = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  ip.dst.octets = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  // Version 6 | TC 0xB8 | flow label 0x12345 = 6B 81 23 45.
  expect_encoding(ip,
                  to_bytes({0x6B, 0x81, 0x23, 0x45, 0x00, 0x4C, 0x2F, 0x3F, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 1, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}),
                  [](const auto& x, w::bytes o) { return w::ipv6::encode(x, o); });
}

TEST(wire_codec_golden, checksum_known_answers) {
  // RFC 1071 section 3, odd trailing byte padded with zero: 00 01 f2 -> 0x0001 + 0xf200.
  const auto rfc = to_bytes({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  EXPECT_EQ(w::checksum_fold(w::checksum_accumulate(rfc)), 0xddf2);
  EXPECT_EQ(w::checksum_finalize(w::checksum_accumulate(rfc)), 0x220d);
  EXPECT_EQ(w::checksum_fold(w::checksum_accumulate(std::span(rfc).first(3))), 0xf201);
  const auto hdr = nvo_test::from_hex("45000028 1FFD4000 80060000 C0A83B0A C0A83B32");
  EXPECT_EQ(w::checksum_finalize(w::checksum_accumulate(hdr)), 0xE345);
  // UDP sends a computed zero as 0xFFFF (RFC 768); such a datagram verifies.
  auto d = to_bytes({0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  EXPECT_EQ(w::udp::checksum_field(0, d), 0xFFFF);
  w::store_be16(d, 6, 0xFFFF);
  EXPECT_TRUE(w::udp::checksum_ok(0, d));
}

// Run-time accumulate (8/4/2/1-byte tails, any alignment) against a byte loop.
TEST(wire_codec_golden, checksum_accumulate_matches_bytewise_sum) {
  std::mt19937_64 rng(seed);
  byte_vector buf(300);
  for (auto& b : buf) b = rnd<std::byte>(rng);
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t len = 0; len + start <= buf.size(); ++len) {
      std::uint64_t ref = 0;
      for (std::size_t k = 0; k < len; ++k)
        ref += std::to_integer<std::uint64_t>(buf[start + k]) << ((k % 2 == 0) ? 8 : 0);
      while (ref >> 16) ref = (ref & 0xFFFF) + (ref >> 16);
      const auto got = w::checksum_fold(w::checksum_accumulate(std::span(buf).subspan(start, len), 0));
      // One's complement has two zeros; compare modulo 0xFFFF.
      ASSERT_EQ(got % 0xFFFF, ref % 0xFFFF) << start << "+" << len;
    }
  }
}

// ---- encoder errors ----------------------------------------------------------

// For every too-small size: output_too_small and not one byte written, neither
// inside the span nor in the sentinel bytes after it.
template <class H, class Encode>
void expect_too_small_untouched(const H& h, std::size_t needed, Encode encode) {
  const byte_vector sentinel(needed + 8, std::byte{0xA5});
  for (std::size_t size = 0; size < needed; ++size) {
    byte_vector out = sentinel;
    const auto r = encode(h, std::span<std::byte>(out).first(size));
    ASSERT_FALSE(r.has_value()) << size;
    EXPECT_EQ(r.error(), w::errc::output_too_small) << size;
    EXPECT_EQ(out, sentinel) << size;
  }
}

TEST(wire_codec_errors, encode_output_too_small_leaves_buffer_unchanged) {
  w::ethernet::header e;
  e.has_vlan = true;
  expect_too_small_untouched(e, 18, [](const auto& x, w::bytes o) { return w::ethernet::encode(x, o); });
  w::ipv4::header ip;
  ip.ihl = 6;
  ip.total_length = 24;
  expect_too_small_untouched(ip, 24, [](const auto& x, w::bytes o) { return w::ipv4::encode(x, o); });
  expect_too_small_untouched(w::ipv6::header{}, 40, [](const auto& x, w::bytes o) { return w::ipv6::encode(x, o); });
  expect_too_small_untouched(w::udp::header{}, 8, [](const auto& x, w::bytes o) { return w::udp::encode(x, o); });
  expect_too_small_untouched(w::tcp::header{}, 20, [](const auto& x, w::bytes o) { return w::tcp::encode(x, o); });
  w::gre::header g;
  g.checksum_present = g.key_present = g.sequence_present = true;
  expect_too_small_untouched(g, 16, [](const auto& x, w::bytes o) { return w::gre::encode(x, o); });
  expect_too_small_untouched(w::vxlan::header{}, 8, [](const auto& x, w::bytes o) { return w::vxlan::encode(x, o); });
  expect_too_small_untouched(w::nvgre::header{}, 8, [](const auto& x, w::bytes o) { return w::nvgre::encode(x, o); });
  expect_too_small_untouched(w::stt::frame_header{}, 18,
                             [](const auto& x, w::bytes o) { return w::stt::encode_frame_header(x, o); });
}

template <class H, class Encode>
void expect_out_of_range(const H& h, Encode encode) {
  byte_vector out(64, std::byte{0xA5});
  const auto r = encode(h, std::span<std::byte>(out));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), w::errc::field_out_of_range);
  EXPECT_EQ(out, byte_vector(64, std::byte{0xA5}));
}

TEST(wire_codec_errors, encode_field_out_of_range) {
  auto vx = [](const auto& x, w::bytes o) { return w::vxlan::encode(x, o); };
  w::vxlan::header v;
  v.vni = 0x1000000;
  expect_out_of_range(v, vx);
  v.vni = 0;
  v.reserved1 = 0x1000000;
  expect_out_of_range(v, vx);

  auto nv = [](const auto& x, w::bytes o) { return w::nvgre::encode(x, o); };
  expect_out_of_range(w::nvgre::header{0x1000000, 0, 0}, nv);
  expect_out_of_range(w::nvgre::header{1, 0, 0x0400}, nv);  // outside GRE bits 6-12

  auto v4 = [](const auto& x, w::bytes o) { return w::ipv4::encode(x, o); };
  w::ipv4::header ip;
  ip.total_length = 100;
  ip.ihl = 16;
  expect_out_of_range(ip, v4);
  ip.ihl = 4;
  expect_out_of_range(ip, v4);
  ip.ihl = 6;
  ip.total_length = 23;  // shorter than the header itself
  expect_out_of_range(ip, v4);

  w::ipv6::header ip6;
  ip6.flow_label = 0x100000;
  expect_out_of_range(ip6, [](const auto& x, w::bytes o) { return w::ipv6::encode(x, o); });

  auto tc = [](const auto& x, w::bytes o) { return w::tcp::encode(x, o); };
  w::tcp::header t;
  t.data_offset = 6;
  expect_out_of_range(t, tc);
  t.data_offset = 4;
  expect_out_of_range(t, tc);
  t.data_offset = 5;
  t.reserved = 0x10;
  expect_out_of_range(t, tc);

  auto gr = [](const auto& x, w::bytes o) { return w::gre::encode(x, o); };
  w::gre::header g;
  g.version = 8;
  expect_out_of_range(g, gr);
  g.version = 0;
  g.reserved0 = 0x0004;  // a version bit, not a reserved0 bit
  expect_out_of_range(g, gr);
}

// ---- parser errors -------------------------------------------------------------

template <class R>
void expect_error(const R& r, w::errc e) {
  ASSERT_FALSE(r.has_value()) << "expected " << w::to_string(e);
  EXPECT_EQ(r.error(), e) << "got " << w::to_string(r.error()) << ", expected " << w::to_string(e);
}

// Every prefix shorter than the header is `truncated`, read from an exactly
// sized heap buffer so ASan sees any overread.
// Not inlined: with the allocation size visible as a constant, g++ 12's
// -Warray-bounds flags loads on the parser's (unreachable) success path.
[[gnu::noinline]] byte_vector prefix_of(const byte_vector& v, std::size_t n) {
  return byte_vector(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
}

template <class Parse>
void expect_truncated_prefixes(const byte_vector& valid, std::size_t header_size, Parse parse) {
  for (std::size_t n = 0; n < header_size; ++n) {
    const byte_vector prefix = prefix_of(valid, n);
    expect_error(parse(w::const_bytes(prefix)), w::errc::truncated);
  }
}

TEST(wire_codec_errors, truncated_headers) {
  w::ethernet::header e;
  e.has_vlan = true;
  e.ethertype = 0x0800;
  byte_vector eb(18);
  ASSERT_TRUE(w::ethernet::encode(e, eb).has_value());
  expect_truncated_prefixes(eb, 18, [](w::const_bytes b) { return w::ethernet::parse(b); });
  expect_truncated_prefixes(nvo_test::from_hex("45000028 1FFD4000 8006E345 C0A83B0A C0A83B32"), 20,
                            [](w::const_bytes b) { return w::ipv4::parse(b); });
  expect_truncated_prefixes(byte_vector(48, std::byte{0x60}), 40, [](w::const_bytes b) { return w::ipv6::parse(b); });
  expect_truncated_prefixes(to_bytes({0, 1, 0, 2, 0, 8, 0, 0}), 8, [](w::const_bytes b) { return w::udp::parse(b); });
  expect_truncated_prefixes(byte_vector(20, std::byte{0x50}), 20, [](w::const_bytes b) { return w::tcp::parse(b); });
  expect_truncated_prefixes(to_bytes({0xB0, 0, 0x65, 0x58, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}), 16,
                            [](w::const_bytes b) { return w::gre::parse(b); });
  expect_truncated_prefixes(to_bytes({0x20, 0, 0x65, 0x58, 1, 2, 3, 4}), 8,
                            [](w::const_bytes b) { return w::nvgre::parse(b); });
  expect_truncated_prefixes(to_bytes({8, 0, 0, 0, 1, 2, 3, 0}), 8, [](w::const_bytes b) { return w::vxlan::parse(b); });
  expect_truncated_prefixes(byte_vector(18), 18, [](w::const_bytes b) { return w::stt::parse_frame_header(b); });
}

// The known-answer header with its 20 payload bytes (total length 0x28).
byte_vector ipv4_packet() {
  auto p = nvo_test::from_hex("45000028 1FFD4000 8006E345 C0A83B0A C0A83B32");
  p.resize(0x28);
  return p;
}
void set_ipv4_checksum(byte_vector& p) {
  const std::size_t ihl = (std::to_integer<std::size_t>(p[0]) & 0x0F) * 4;
  w::store_be16(p, 10, 0);
  w::store_be16(p, 10, w::checksum_finalize(w::checksum_accumulate(std::span(p).first(std::min(ihl, p.size())))));
}

TEST(wire_codec_errors, ipv4) {
  auto ok = w::ipv4::parse(ipv4_packet());
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->checksum, 0xE345);
  EXPECT_EQ(ok->payload_length(), 20u);
  // Link padding after the datagram is allowed.
  auto padded = ipv4_packet();
  padded.resize(60);
  EXPECT_TRUE(w::ipv4::parse(padded).has_value());

  auto p = ipv4_packet();
  p[0] = std::byte{0x65};
  expect_error(w::ipv4::parse(p), w::errc::ipv4_bad_version);
  for (int ihl = 0; ihl < 5; ++ihl) {
    p = ipv4_packet();
    p[0] = static_cast<std::byte>(0x40 | ihl);
    expect_error(w::ipv4::parse(p), w::errc::ipv4_bad_header_length);
  }
  p = ipv4_packet();
  p.resize(24);
  p[0] = std::byte{0x47};  // 28-byte header in a 24-byte buffer
  expect_error(w::ipv4::parse(p), w::errc::ipv4_bad_header_length);
  p = ipv4_packet();
  w::store_be16(p, 2, 19);  // shorter than the header
  set_ipv4_checksum(p);
  expect_error(w::ipv4::parse(p), w::errc::ipv4_bad_total_length);
  p = ipv4_packet();
  w::store_be16(p, 2, 41);  // one byte beyond the buffer
  set_ipv4_checksum(p);
  expect_error(w::ipv4::parse(p), w::errc::ipv4_bad_total_length);
  for (std::size_t bit = 0; bit < 160; ++bit) {
    if (bit / 8 == 0 || bit / 8 == 2 || bit / 8 == 3) continue;  // version/IHL/length fail earlier
    p = ipv4_packet();
    p[bit / 8] ^= static_cast<std::byte>(0x80 >> (bit % 8));
    expect_error(w::ipv4::parse(p), w::errc::ipv4_bad_checksum);
  }
}

TEST(wire_codec_errors, ipv6) {
  w::ipv6::header h;
  h.payload_length = 8;
  byte_vector p(48);
  ASSERT_TRUE(w::ipv6::encode(h, p).has_value());
  ASSERT_TRUE(w::ipv6::parse(p).has_value());
  for (int v : {0, 4, 7, 15}) {
    auto q = p;
    q[0] = static_cast<std::byte>(v << 4);
    expect_error(w::ipv6::parse(q), w::errc::ipv6_bad_version);
  }
  auto q = p;
  w::store_be16(q, 4, 0);  // jumbogram
  expect_error(w::ipv6::parse(q), w::errc::ipv6_bad_payload_length);
  w::store_be16(q, 4, 9);
  expect_error(w::ipv6::parse(q), w::errc::ipv6_bad_payload_length);
  for (int ext : {0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254}) EXPECT_TRUE(w::ipv6::is_extension_header(static_cast<std::uint8_t>(ext))) << ext;
  for (int l4 : {6, 17, 47, 58, 59}) EXPECT_FALSE(w::ipv6::is_extension_header(static_cast<std::uint8_t>(l4))) << l4;
}

TEST(wire_codec_errors, udp_and_tcp) {
  auto u = to_bytes({0, 1, 0, 2, 0, 12, 0, 0, 9, 9, 9, 9});
  ASSERT_TRUE(w::udp::parse(u).has_value());
  for (int len : {0, 7, 11, 13, 0xFFFF}) {
    w::store_be16(u, 4, static_cast<std::uint16_t>(len));
    expect_error(w::udp::parse(u), w::errc::udp_bad_length);
  }
  byte_vector t(20);
  for (int off = 0; off < 16; ++off) {
    t[12] = static_cast<std::byte>(off << 4);
    if (off == 5)
      EXPECT_TRUE(w::tcp::parse(t).has_value());
    else
      expect_error(w::tcp::parse(t), w::errc::tcp_bad_data_offset);
  }
}

TEST(wire_codec_errors, gre) {
  const auto base = to_bytes({0x00, 0x00, 0x08, 0x00});
  ASSERT_TRUE(w::gre::parse(base).has_value());
  // RFC 2784 2.3: bits 1, 4 and 5 (bits 2 and 3 are K and S since RFC 2890).
  for (std::uint16_t bit : {0x4000, 0x0800, 0x0400}) {
    auto g = base;
    w::store_be16(g, 0, bit);
    expect_error(w::gre::parse(g), w::errc::gre_reserved_flags);
    expect_error(w::gre::parse(g, w::reserved_bits::ignore), w::errc::gre_reserved_flags);
  }
  for (std::uint16_t ver = 1; ver < 8; ++ver) {
    auto g = base;
    w::store_be16(g, 0, ver);
    expect_error(w::gre::parse(g, w::reserved_bits::ignore), w::errc::gre_bad_version);
  }
  // Reserved0 (bits 6-12): rejected under strict, ignored otherwise.
  for (int bit = 3; bit <= 9; ++bit) {
    auto g = base;
    w::store_be16(g, 0, static_cast<std::uint16_t>(1u << bit));
    expect_error(w::gre::parse(g), w::errc::gre_reserved_bits);
    const auto ok = w::gre::parse(g, w::reserved_bits::ignore);
    ASSERT_TRUE(ok.has_value()) << bit;
    EXPECT_EQ(ok->reserved0, 1u << bit);
  }
  // Reserved1 after the checksum.
  const auto r1 = to_bytes({0x80, 0x00, 0x08, 0x00, 0x12, 0x34, 0x00, 0x01});
  expect_error(w::gre::parse(r1), w::errc::gre_reserved_bits);
  const auto ok1 = w::gre::parse(r1, w::reserved_bits::ignore);
  ASSERT_TRUE(ok1.has_value());
  EXPECT_EQ(ok1->reserved1, 1);
  EXPECT_EQ(ok1->checksum, 0x1234);
}

TEST(wire_codec_errors, vxlan) {
  expect_error(w::vxlan::parse(to_bytes({0x00, 0, 0, 0, 1, 2, 3, 0})), w::errc::vxlan_i_flag_clear);
  expect_error(w::vxlan::parse(to_bytes({0xF7, 0, 0, 0, 1, 2, 3, 0}), w::reserved_bits::ignore),
               w::errc::vxlan_i_flag_clear);
  // Each reserved region alone: flags bits, 24-bit reserved, trailing byte.
  for (const auto& bytes : {to_bytes({0x0C, 0, 0, 0, 1, 2, 3, 0}), to_bytes({0x88, 0, 0, 0, 1, 2, 3, 0}),
                            to_bytes({0x08, 0, 1, 0, 1, 2, 3, 0}), to_bytes({0x08, 0x80, 0, 0, 1, 2, 3, 0}),
                            to_bytes({0x08, 0, 0, 0, 1, 2, 3, 0x01})}) {
    expect_error(w::vxlan::parse(bytes), w::errc::vxlan_reserved_bits);
    const auto ok = w::vxlan::parse(bytes, w::reserved_bits::ignore);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->vni, 0x010203u);
  }
}

TEST(wire_codec_errors, nvgre) {
  expect_error(w::nvgre::parse(to_bytes({0x00, 0x00, 0x65, 0x58})), w::errc::nvgre_key_absent);
  expect_error(w::nvgre::parse(to_bytes({0xA0, 0x00, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0x10, 0})),
               w::errc::nvgre_checksum_present);
  expect_error(w::nvgre::parse(to_bytes({0x30, 0x00, 0x65, 0x58, 0, 0, 0x10, 0, 0, 0, 0, 1})),
               w::errc::nvgre_sequence_present);
  expect_error(w::nvgre::parse(to_bytes({0x20, 0x00, 0x08, 0x00, 0, 0x10, 0, 0})), w::errc::nvgre_bad_protocol);
  // GRE-level rules come first.
  expect_error(w::nvgre::parse(to_bytes({0x20, 0x01, 0x65, 0x58, 0, 0x10, 0, 0})), w::errc::gre_bad_version);
  expect_error(w::nvgre::parse(to_bytes({0x20, 0x08, 0x65, 0x58, 0, 0x10, 0, 0})), w::errc::gre_reserved_bits);
  const auto ign = w::nvgre::parse(to_bytes({0x20, 0x08, 0x65, 0x58, 0, 0x10, 0, 0}), w::reserved_bits::ignore);
  ASSERT_TRUE(ign.has_value());
  EXPECT_EQ(ign->reserved0, 0x0008);

  // Inner frame rules (RFC 7637 3.3).
  auto inner = nvo_test::make_inner_frame(10);
  EXPECT_TRUE(w::nvgre::parse_inner(inner).has_value());
  expect_error(w::nvgre::parse_inner(std::span(inner).first(13)), w::errc::inner_truncated);
  for (std::uint16_t tpid : {w::ethernet::ethertype_vlan, w::ethernet::ethertype_qinq}) {
    w::store_be16(inner, 12, tpid);
    expect_error(w::nvgre::parse_inner(inner), w::errc::nvgre_inner_vlan);
  }
  // An 802.1Q TPID whose tag is cut off: the inner header is incomplete.
  w::store_be16(inner, 12, w::ethernet::ethertype_vlan);
  for (std::size_t n = 14; n < 18; ++n) {
    expect_error(w::nvgre::parse_inner(std::span(inner).first(n)), w::errc::inner_truncated);
  }
}

TEST(wire_codec_errors, stt) {
  byte_vector fh(18);
  ASSERT_TRUE(w::stt::parse_frame_header(fh).has_value());
  for (int v : {1, 0x80, 0xFF}) {
    auto b = fh;
    b[0] = static_cast<std::byte>(v);
    expect_error(w::stt::parse_frame_header(b), w::errc::stt_bad_version);
    expect_error(w::stt::parse_frame_header(b, w::reserved_bits::ignore), w::errc::stt_bad_version);
  }
  // Reserved flag bits 4-7, reserved byte, padding, C and P together.
  for (auto [offset, value] : {std::pair{1, 0x10}, {1, 0x80}, {3, 0x01}, {16, 0x01}, {17, 0x80}, {1, 0x03}}) {
    auto b = fh;
    b[static_cast<std::size_t>(offset)] = static_cast<std::byte>(value);
    expect_error(w::stt::parse_frame_header(b), w::errc::stt_reserved_bits);
    const auto ok = w::stt::parse_frame_header(b, w::reserved_bits::ignore);
    ASSERT_TRUE(ok.has_value()) << offset;
  }
  const w::stt::segment s{1, 7471, 100, 0, 7};
  expect_error(w::stt::check_segment(s, 0), w::errc::stt_empty_segment);
  EXPECT_TRUE(w::stt::check_segment(s, 100).has_value());
  expect_error(w::stt::check_segment(s, 101), w::errc::stt_bad_frame_length);
  expect_error(w::stt::check_segment({1, 7471, 17, 0, 7}, 17), w::errc::stt_bad_frame_length);
  expect_error(w::stt::check_segment({1, 7471, 100, 90, 7}, 11), w::errc::stt_bad_frame_length);
  EXPECT_TRUE(w::stt::check_segment({1, 7471, 100, 90, 7}, 10).has_value());
  expect_error(w::stt::check_segment({1, 7471, 0xFFFF, 0xFFFF, 7}, 2), w::errc::stt_bad_frame_length);
}

// ---- errc names ------------------------------------------------------------------

TEST(wire_codec_errc, every_enumerator_has_a_distinct_readable_name) {
  // The enumerator list comes from the same X-macro that defines errc.
  const std::vector<w::errc> all = {
#define NVO_TEST_ERRC(name) w::errc::name,
      NVO_WIRE_ERRORS(NVO_TEST_ERRC)
#undef NVO_TEST_ERRC
  };
  const std::vector<std::string_view> spelled = {
#define NVO_TEST_ERRC(name) #name,
      NVO_WIRE_ERRORS(NVO_TEST_ERRC)
#undef NVO_TEST_ERRC
  };
  ASSERT_EQ(all.size(), 31u);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(all[i]), i);
    const auto n = w::to_string(all[i]);
    EXPECT_FALSE(n.empty());
    EXPECT_EQ(n, spelled[i]);
    EXPECT_NE(n, "unknown");
    EXPECT_TRUE(std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; })) << n;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), all.size());
  EXPECT_EQ(w::to_string(static_cast<w::errc>(all.size())), "unknown");
  // Spot-check against names written by hand, not generated.
  EXPECT_EQ(w::to_string(w::errc::udp_zero_checksum_ipv6), "udp_zero_checksum_ipv6");
  EXPECT_EQ(w::to_string(w::errc::nvgre_inner_vlan), "nvgre_inner_vlan");
  EXPECT_EQ(w::to_string(w::encapsulation::none), "none");
  EXPECT_EQ(w::to_string(w::encapsulation::vxlan), "vxlan");
  EXPECT_EQ(w::to_string(w::encapsulation::nvgre), "nvgre");
  EXPECT_EQ(w::to_string(w::encapsulation::stt), "stt");
}

}  // namespace
