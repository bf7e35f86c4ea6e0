// Compile-time proofs for include/nvo/wire/: every codec round-trips in a
// constant expression, the checksum gives the RFC 1071 known answers, and
// dissect classifies a VXLAN frame built at compile time. Each check is also run
// at run time, where the codecs take their memcpy/bswap and wide-checksum paths.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <gtest/gtest.h>

#include "nvo/wire/wire.hpp"

namespace {

namespace w = nvo::wire;

template <std::size_t N>
constexpr std::array<std::byte, N> bytes_of(const std::uint8_t (&in)[N]) {
  std::array<std::byte, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::byte>(in[i]);
  return out;
}

// encode -> exact size -> parse of exactly those bytes -> equal.
template <class H, class Encode, class Parse>
constexpr bool round_trips(const H& h, std::size_t expected_size, Encode encode, Parse parse) {
  std::array<std::byte, 64> buf{};
  const auto n = encode(h, std::span<std::byte>(buf));
  if (!n || *n != expected_size) return false;
  const auto p = parse(std::span<const std::byte>(buf.data(), *n));
  return p && *p == h;
}

constexpr bool ethernet_round_trips() {
  auto enc = [](const w::ethernet::header& h, w::bytes out) { return w::ethernet::encode(h, out); };
  auto par = [](w::const_bytes in) { return w::ethernet::parse(in); };
  w::ethernet::header h;
  h.dst = w::mac_address::from_u64(0x001122334455);
  h.src = w::mac_address::from_u64(0x66778899AABB);
  h.ethertype = w::ethernet::ethertype_ipv6;
  w::ethernet::header tagged = h;
  tagged.has_vlan = true;
  tagged.vlan_tci = 0xA064;  // PCP 5, VID 100
  return round_trips(h, 14, enc, par) && round_trips(tagged, 18, enc, par);
}

constexpr bool ipv4_round_trips() {
  auto enc = [](const w::ipv4::header& h, w::bytes out) { return w::ipv4::encode(h, out); };
  // The parser reports the received checksum; compare everything else and
  // require that it verified (parse rejects a bad one).
  auto par = [](w::const_bytes in) -> w::result<w::ipv4::header> {
    auto p = w::ipv4::parse(in);
    if (p) p->checksum = 0;
    return p;
  };
  w::ipv4::header h;
  h.tos = 0xB8;
  h.total_length = 20;
  h.identification = 0xBEEF;
  h.flags_fragment_offset = w::ipv4::flag_dont_fragment;
  h.ttl = 17;
  h.protocol = w::ipv4::protocol_udp;
  h.src = {{192, 0, 2, 1}};
  h.dst = {{198, 51, 100, 7}};
  w::ipv4::header opts = h;
  opts.ihl = 7;  // Router Alert (RFC 2113) + NOP NOP NOP EOL
  opts.total_length = 28;
  const std::uint8_t o[] = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
  for (std::size_t i = 0; i < 8; ++i) opts.options[i] = o[i];
  w::ipv4::header max = h;
  max.ihl = 15;
  max.total_length = 60;
  for (std::size_t i = 0; i < 40; ++i) max.options[i] = static_cast<std::uint8_t>(i + 1);
  return round_trips(h, 20, enc, par) && round_trips(opts, 28, enc, par) && round_trips(max, 60, enc, par);
}

constexpr bool ipv6_round_trips() {
  auto enc = [](const w::ipv6::header& h, w::bytes out) { return w::ipv6::encode(h, out); };
  // parse checks the payload length against the buffer, so give it one.
  w::ipv6::header h;
  h.traffic_class = 0xFE;
  h.flow_label = 0xFFFFF;
  h.payload_length = 8;
  h.next_header = w::ipv4::protocol_udp;
  h.hop_limit = 1;
  for (std::size_t i = 0; i < 16; ++i) {
    h.src.octets[i] = static_cast<std::uint8_t>(0x20 + i);
    h.dst.octets[i] = static_cast<std::uint8_t>(0xF0 - i);
  }
  std::array<std::byte, 48> buf{};
  const auto n = enc(h, buf);
  if (!n || *n != 40) return false;
  const auto p = w::ipv6::parse(buf);
  return p && *p == h;
}

constexpr bool udp_tcp_round_trip() {
  auto uenc = [](const w::udp::header& h, w::bytes out) { return w::udp::encode(h, out); };
  auto upar = [](w::const_bytes in) { return w::udp::parse(in); };
  auto tenc = [](const w::tcp::header& h, w::bytes out) { return w::tcp::encode(h, out); };
  auto tpar = [](w::const_bytes in) { return w::tcp::parse(in); };
  const w::udp::header u{54321, 4789, 8, 0xABCD};
  w::tcp::header t;
  t.src_port = 1;
  t.dst_port = 7471;
  t.seq = 0xDEADBEEF;
  t.ack = 0x01020304;
  t.reserved = 0x0F;
  t.flags = w::tcp::flag_ack | w::tcp::flag_psh;
  t.window = 65535;
  t.checksum = 0x1234;
  t.urgent = 0x5678;
  return round_trips(u, 8, uenc, upar) && round_trips(t, 20, tenc, tpar);
}

constexpr bool gre_round_trips_every_ck_s() {
  auto enc = [](const w::gre::header& h, w::bytes out) { return w::gre::encode(h, out); };
  auto par = [](w::const_bytes in) { return w::gre::parse(in); };
  for (int bits = 0; bits < 8; ++bits) {
    w::gre::header h;
    h.checksum_present = (bits & 1) != 0;
    h.key_present = (bits & 2) != 0;
    h.sequence_present = (bits & 4) != 0;
    h.protocol = 0x6558;
    if (h.checksum_present) h.checksum = 0xC5C5;
    if (h.key_present) h.key = 0x11223344;
    if (h.sequence_present) h.sequence = 0x55667788;
    const std::size_t size = 4 + 4 * static_cast<std::size_t>((bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1));
    if (!round_trips(h, size, enc, par)) return false;
  }
  return true;
}

constexpr bool tunnel_headers_round_trip() {
  auto venc = [](const w::vxlan::header& h, w::bytes out) { return w::vxlan::encode(h, out); };
  auto vpar = [](w::const_bytes in) { return w::vxlan::parse(in); };
  auto nenc = [](const w::nvgre::header& h, w::bytes out) { return w::nvgre::encode(h, out); };
  auto npar = [](w::const_bytes in) { return w::nvgre::parse(in); };
  auto senc = [](const w::stt::frame_header& h, w::bytes out) { return w::stt::encode_frame_header(h, out); };
  auto spar = [](w::const_bytes in) { return w::stt::parse_frame_header(in); };
  w::vxlan::header vx;
  vx.vni = 0xFFFFFF;
  const w::nvgre::header nv{0xABCDEF, 0x42, 0};
  w::stt::frame_header fh;
  fh.flags = w::stt::flag_checksum_partial | w::stt::flag_ipv4 | w::stt::flag_tcp;
  fh.l4_offset = 34;
  fh.mss = 1448;
  fh.vlan_tci = w::stt::vlan_present | 0xA000 | 100;
  fh.context_id = 0x0123456789ABCDEF;
  return round_trips(vx, 8, venc, vpar) && round_trips(nv, 8, nenc, npar) && round_trips(fh, 18, senc, spar);
}

// segment <-> TCP header, including through the TCP encoder and parser.
constexpr bool stt_segment_round_trips() {
  const w::stt::segment s{40000, w::stt::default_port, 9000, 1448, 0xCAFEF00D};
  const w::tcp::header t = w::stt::tcp_header_of(s, true);
  if (t.seq != (9000u << 16 | 1448u) || t.ack != 0xCAFEF00D) return false;
  if (t.flags != (w::tcp::flag_ack | w::tcp::flag_psh) || w::stt::tcp_header_of(s, false).flags != w::tcp::flag_ack)
    return false;
  std::array<std::byte, 20> buf{};
  if (!w::tcp::encode(t, buf)) return false;
  const auto back = w::tcp::parse(buf);
  return back && *back == t && w::stt::segment_of(*back) == s;
}

// RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
constexpr bool rfc1071_known_answer() {
  constexpr auto data = bytes_of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  const auto sum = w::checksum_accumulate(data);
  // Chaining two even chunks gives the same sum as one pass.
  const auto chained = w::checksum_accumulate(std::span(data).subspan(4), w::checksum_accumulate(std::span(data).first(4)));
  return w::checksum_fold(sum) == 0xddf2 && w::checksum_finalize(sum) == 0x220d && w::checksum_fold(chained) == 0xddf2;
}

// 45 00 00 28 1F FD 40 00 80 06 00 00 C0 A8 3B 0A C0 A8 3B 32 -> 0xE345
// (checked independently in Python: ~(one's-complement sum) & 0xFFFF).
constexpr bool ipv4_checksum_known_answer() {
  auto hdr = bytes_of({0x45, 0x00, 0x00, 0x28, 0x1F, 0xFD, 0x40, 0x00, 0x80, 0x06, 0x00, 0x00, 0xC0, 0xA8, 0x3B, 0x0A,
                       0xC0, 0xA8, 0x3B, 0x32});
  if (w::checksum_finalize(w::checksum_accumulate(hdr)) != 0xE345) return false;
  // The encoder writes the same value into bytes 10-11.
  w::ipv4::header h;
  h.total_length = 0x28;
  h.identification = 0x1FFD;
  h.flags_fragment_offset = 0x4000;
  h.ttl = 0x80;
  h.protocol = 6;
  h.src = {{0xC0, 0xA8, 0x3B, 0x0A}};
  h.dst = {{0xC0, 0xA8, 0x3B, 0x32}};
  std::array<std::byte, 40> out{};
  if (!w::ipv4::encode(h, out)) return false;
  return out[10] == std::byte{0xE3} && out[11] == std::byte{0x45};
}

// A whole VXLAN-over-IPv4 frame built with the encoders, UDP checksum included,
// then dissected.
constexpr bool dissects_constexpr_vxlan_frame() {
  constexpr std::size_t inner_size = 20;
  constexpr std::size_t udp_len = 8 + 8 + inner_size;
  constexpr std::size_t total = 14 + 20 + udp_len;
  std::array<std::byte, total> f{};
  const w::bytes out(f);
  w::ethernet::header eth;
  eth.dst = w::mac_address::from_u64(0x020000000002);
  eth.src = w::mac_address::from_u64(0x020000000001);
  eth.ethertype = w::ethernet::ethertype_ipv4;
  if (!w::ethernet::encode(eth, out)) return false;
  w::ipv4::header ip;
  ip.tos = 0x2E;
  ip.total_length = 20 + udp_len;
  ip.ttl = 9;
  ip.protocol = w::ipv4::protocol_udp;
  ip.src = {{192, 0, 2, 1}};
  ip.dst = {{192, 0, 2, 2}};
  if (!w::ipv4::encode(ip, out.subspan(14))) return false;
  const auto l4 = out.subspan(34);
  if (!w::udp::encode({50000, w::vxlan::default_port, udp_len, 0}, l4)) return false;
  w::vxlan::header vx;
  vx.vni = 0x00ABCD;
  if (!w::vxlan::encode(vx, l4.subspan(8))) return false;
  w::ethernet::header in_eth;
  in_eth.dst = w::mac_address::from_u64(0x0A0000000002);
  in_eth.src = w::mac_address::from_u64(0x0A0000000001);
  in_eth.ethertype = w::ethernet::ethertype_arp;
  if (!w::ethernet::encode(in_eth, l4.subspan(16))) return false;
  for (std::size_t i = 14; i < inner_size; ++i) l4[16 + i] = static_cast<std::byte>(i);
  w::store_be16(l4, 6, w::udp::checksum_field(w::pseudo_header_sum(ip.src, ip.dst, w::ipv4::protocol_udp, udp_len), l4));

  const auto d = w::dissect(f);
  if (!d || d->encap != w::encapsulation::vxlan) return false;
  if (d->vni != 0x00ABCD || d->src_port != 50000 || d->dst_port != 4789) return false;
  if (d->ip_version != 4 || d->outer_src != w::ip_address(ip.src) || d->outer_dst != w::ip_address(ip.dst)) return false;
  if (d->outer_tos != 0x2E || d->outer_ttl != 9 || d->outer_ethernet != eth) return false;
  if (d->inner.size() != inner_size || d->inner.data() != f.data() + total - inner_size) return false;
  const auto inner = w::ethernet::parse(d->inner);
  if (!inner || *inner != in_eth) return false;
  // One flipped payload bit breaks the UDP checksum, unless the NIC vouches for it.
  f[total - 1] ^= std::byte{0x01};
  const auto bad = w::dissect(f);
  if (bad || bad.error() != w::errc::udp_bad_checksum) return false;
  return w::dissect(f, {}, w::rx_checksum::good).has_value();
}

constexpr bool encode_errors() {
  std::array<std::byte, 8> small{};
  w::vxlan::header vx;
  vx.vni = 0x1000000;
  w::ipv4::header ip;
  ip.ihl = 16;
  w::ipv6::header ip6;
  ip6.flow_label = 0x100000;
  w::tcp::header t;
  t.data_offset = 6;
  return w::vxlan::encode(vx, small).error() == w::errc::field_out_of_range &&
         w::nvgre::encode({0x1000000, 0, 0}, small).error() == w::errc::field_out_of_range &&
         w::ipv4::encode(ip, small).error() == w::errc::field_out_of_range &&
         w::ipv6::encode(ip6, small).error() == w::errc::field_out_of_range &&
         w::tcp::encode(t, small).error() == w::errc::field_out_of_range &&
         w::udp::encode({}, std::span(small).first(7)).error() == w::errc::output_too_small;
}

static_assert(ethernet_round_trips());
static_assert(ipv4_round_trips());
static_assert(ipv6_round_trips());
static_assert(udp_tcp_round_trip());
static_assert(gre_round_trips_every_ck_s());
static_assert(tunnel_headers_round_trip());
static_assert(stt_segment_round_trips());
static_assert(rfc1071_known_answer());
static_assert(ipv4_checksum_known_answer());
static_assert(dissects_constexpr_vxlan_frame());
static_assert(encode_errors());

// Golden header encodings, byte for byte from the RFC diagrams.
constexpr bool vxlan_golden() {
  w::vxlan::header vx;
  vx.vni = 0x123456;
  std::array<std::byte, 8> out{};
  if (!w::vxlan::encode(vx, out)) return false;
  return out == bytes_of({0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x00});
}
constexpr bool nvgre_golden() {
  std::array<std::byte, 8> out{};
  if (!w::nvgre::encode({0xABCDEF, 0x42, 0}, out)) return false;
  return out == bytes_of({0x20, 0x00, 0x65, 0x58, 0xAB, 0xCD, 0xEF, 0x42});
}
static_assert(vxlan_golden());
static_assert(nvgre_golden());
static_assert(w::to_string(w::errc::truncated) == "truncated");
static_assert(w::to_string(w::encapsulation::stt) == "stt");

// The same functions at run time, where the non-constexpr code paths run.
TEST(wire_constexpr, same_checks_hold_at_run_time) {
  EXPECT_TRUE(ethernet_round_trips());
  EXPECT_TRUE(ipv4_round_trips());
  EXPECT_TRUE(ipv6_round_trips());
  EXPECT_TRUE(udp_tcp_round_trip());
  EXPECT_TRUE(gre_round_trips_every_ck_s());
  EXPECT_TRUE(tunnel_headers_round_trip());
  EXPECT_TRUE(stt_segment_round_trips());
  EXPECT_TRUE(rfc1071_known_answer());
  EXPECT_TRUE(ipv4_checksum_known_answer());
  EXPECT_TRUE(dissects_constexpr_vxlan_frame());
  EXPECT_TRUE(encode_errors());
  EXPECT_TRUE(vxlan_golden());
  EXPECT_TRUE(nvgre_golden());
}

}  // namespace
