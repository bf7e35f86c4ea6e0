// File: tests/wire/test_frames.hpp
// Builders for complete outer frames (Ethernet [802.1Q] / IPv4|IPv6 / UDP|GRE|TCP /
// tunnel header / inner frame) made with nvo's own encoders, for tests, fuzz
// seeds and benchmarks. Run-time only; every builder returns a fresh
// std::vector<std::byte> sized exactly to the frame.
//
//   nvo_test::vxlan_params p;             // defaults: IPv4 10.0.0.1 -> 10.0.0.2
//   p.vni = 0x123456;                      //           UDP 49152 -> 4789, checksum on
//   p.inner = nvo_test::make_inner_frame(64);
//   auto frame = nvo_test::make_vxlan_frame(p);
//
// Checksums (IPv4 header, UDP, TCP) are computed unless switched off. Tests that
// corrupt one field and want only that field to be wrong call fix_checksums().
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "nvo/wire/wire.hpp"

namespace nvo_test {

namespace w = nvo::wire;
using byte_vector = std::vector<std::byte>;

inline byte_vector to_bytes(std::initializer_list<int> octets) {
  byte_vector v;
  v.reserve(octets.size());
  for (int o : octets) v.push_back(static_cast<std::byte>(o));
  return v;
}

// Parses an even-length hex string ("0800...") into bytes; whitespace is skipped.
inline byte_vector from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  byte_vector v;
  int high = -1;
  for (char c : hex) {
    const int n = nibble(c);
    if (n < 0) continue;
    if (high < 0) {
      high = n;
    } else {
      v.push_back(static_cast<std::byte>(high << 4 | n));
      high = -1;
    }
  }
  return v;
}

inline w::ipv4_address ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return {{a, b, c, d}}; }

// Outer Ethernet and IP. The IP family follows src.version (dst must match).
struct outer_params {
  w::mac_address dst_mac = w::mac_address::from_u64(0x020000000002);
  w::mac_address src_mac = w::mac_address::from_u64(0x020000000001);
  bool vlan = false;
  std::uint16_t vlan_tci = 0;
  w::ip_address src = ipv4(10, 0, 0, 1);
  w::ip_address dst = ipv4(10, 0, 0, 2);
  std::uint8_t tos = 0;  // IPv4 TOS / IPv6 traffic class
  std::uint8_t ttl = 64;  // TTL / hop limit
  std::uint16_t ipv4_id = 0;
  std::uint16_t ipv4_flags_fragment = w::ipv4::flag_dont_fragment;
  std::uint8_t ipv4_ihl = 5;  // > 5 adds (ihl-5)*4 bytes of ipv4_options
  std::array<std::uint8_t, 40> ipv4_options{};
  std::uint32_t ipv6_flow_label = 0;
};

// An untagged inner Ethernet frame of header + payload_size bytes whose payload
// is a deterministic pattern derived from seed.
inline byte_vector make_inner_frame(std::size_t payload_size, std::uint8_t seed = 0,
                                    std::uint16_t ethertype = w::ethernet::ethertype_ipv4,
                                    w::mac_address dst = w::mac_address::from_u64(0x0A0000000002),
                                    w::mac_address src = w::mac_address::from_u64(0x0A0000000001)) {
  byte_vector f(w::ethernet::header_size + payload_size);
  w::ethernet::header h;
  h.dst = dst;
  h.src = src;
  h.ethertype = ethertype;
  (void)w::ethernet::encode(h, f);
  for (std::size_t i = 0; i < payload_size; ++i)
    f[w::ethernet::header_size + i] = static_cast<std::byte>((i * 7 + seed) & 0xFF);
  return f;
}

// Bytes before the IP header.
inline std::size_t l3_offset(const outer_params& o) {
  return w::ethernet::header_size + (o.vlan ? w::ethernet::vlan_tag_size : 0);
}
// Bytes before the L4 header.
inline std::size_t l4_offset(const outer_params& o) {
  return l3_offset(o) + (o.src.is_v4() ? std::size_t{o.ipv4_ihl} * 4 : w::ipv6::header_size);
}

inline std::uint64_t pseudo_sum(const outer_params& o, std::uint8_t protocol, std::size_t length) {
  return w::pseudo_header_sum(o.src, o.dst, protocol, static_cast<std::uint32_t>(length));
}

// Ethernet + IP header (protocol / next header as given) + l4 bytes verbatim.
inline byte_vector make_ip_frame(const outer_params& o, std::uint8_t protocol, std::span<const std::byte> l4) {
  const std::size_t l3 = l3_offset(o);
  const std::size_t l4off = l4_offset(o);
  byte_vector f(l4off + l4.size());
  w::ethernet::header eth;
  eth.dst = o.dst_mac;
  eth.src = o.src_mac;
  eth.has_vlan = o.vlan;
  eth.vlan_tci = o.vlan_tci;
  eth.ethertype = o.src.is_v4() ? w::ethernet::ethertype_ipv4 : w::ethernet::ethertype_ipv6;
  (void)w::ethernet::encode(eth, f);
  const std::span<std::byte> ip_out = std::span<std::byte>(f).subspan(l3);
  if (o.src.is_v4()) {
    w::ipv4::header ip;
    ip.ihl = o.ipv4_ihl;
    ip.tos = o.tos;
    ip.total_length = static_cast<std::uint16_t>(ip.size() + l4.size());
    ip.identification = o.ipv4_id;
    ip.flags_fragment_offset = o.ipv4_flags_fragment;
    ip.ttl = o.ttl;
    ip.protocol = protocol;
    ip.src = o.src.v4();
    ip.dst = o.dst.v4();
    std::copy(o.ipv4_options.begin(), o.ipv4_options.end(), ip.options.begin());
    (void)w::ipv4::encode(ip, ip_out);
  } else {
    w::ipv6::header ip;
    ip.traffic_class = o.tos;
    ip.flow_label = o.ipv6_flow_label;
    ip.payload_length = static_cast<std::uint16_t>(l4.size());
    ip.next_header = protocol;
    ip.hop_limit = o.ttl;
    ip.src = o.src.v6();
    ip.dst = o.dst.v6();
    (void)w::ipv6::encode(ip, ip_out);
  }
  std::copy(l4.begin(), l4.end(), f.begin() + static_cast<std::ptrdiff_t>(l4off));
  return f;
}

// Recomputes the IPv4 header checksum and the UDP (when non-zero) or TCP
// checksum of a frame laid out per o, after a test edited some bytes. The IP
// payload is taken from the frame end, not from the length fields, so frames
// with deliberately wrong lengths still get checksums over what they carry.
inline void fix_checksums(byte_vector& f, const outer_params& o) {
  const std::span<std::byte> all(f);
  const std::size_t l3 = l3_offset(o);
  const std::size_t l4 = l4_offset(o);
  std::uint8_t protocol = 0;
  if (o.src.is_v4()) {
    const auto ip = all.subspan(l3, l4 - l3);
    w::store_be16(ip, 10, 0);
    w::store_be16(ip, 10, w::checksum_finalize(w::checksum_accumulate(ip)));
    protocol = w::load_u8(ip, 9);
  } else {
    protocol = w::load_u8(all, l3 + 6);
  }
  const auto seg = all.subspan(l4);
  if (protocol == w::ipv4::protocol_udp && seg.size() >= 8 && w::load_be16(seg, 6) != 0) {
    w::store_be16(seg, 6, 0);
    w::store_be16(seg, 6, w::udp::checksum_field(pseudo_sum(o, protocol, seg.size()), seg));
  } else if (protocol == w::ipv4::protocol_tcp && seg.size() >= 20) {
    w::store_be16(seg, 16, 0);
    w::store_be16(seg, 16, w::tcp::checksum_field(pseudo_sum(o, protocol, seg.size()), seg));
  }
}

// ---- VXLAN ---------------------------------------------------------------------

struct vxlan_params {
  outer_params outer;
  std::uint16_t src_port = w::vxlan::source_port_min;
  std::uint16_t dst_port = w::vxlan::default_port;
  bool udp_checksum = true;  // false: transmit zero
  std::uint32_t vni = 0;
  std::uint8_t flags = w::vxlan::flag_i;  // other fields of the header stay zero
  byte_vector inner = make_inner_frame(46);
};

inline byte_vector make_vxlan_frame(const vxlan_params& p) {
  byte_vector l4(w::udp::header_size + w::vxlan::header_size + p.inner.size());
  const std::span<std::byte> out(l4);
  w::udp::header u{p.src_port, p.dst_port, static_cast<std::uint16_t>(l4.size()), 0};
  (void)w::udp::encode(u, out);
  w::vxlan::header vx;
  vx.flags = p.flags;
  vx.vni = p.vni;
  (void)w::vxlan::encode(vx, out.subspan(w::udp::header_size));
  std::copy(p.inner.begin(), p.inner.end(), l4.begin() + w::udp::header_size + w::vxlan::header_size);
  if (p.udp_checksum)
    w::store_be16(out, 6, w::udp::checksum_field(pseudo_sum(p.outer, w::ipv4::protocol_udp, l4.size()), out));
  return make_ip_frame(p.outer, w::ipv4::protocol_udp, l4);
}

// ---- GRE / NVGRE ---------------------------------------------------------------

// Any GRE header (encoded as given) followed by payload.
inline byte_vector make_gre_frame(const outer_params& o, const w::gre::header& g, std::span<const std::byte> payload) {
  byte_vector l4(g.size() + payload.size());
  (void)w::gre::encode(g, l4);
  std::copy(payload.begin(), payload.end(), l4.begin() + static_cast<std::ptrdiff_t>(g.size()));
  return make_ip_frame(o, w::ipv4::protocol_gre, l4);
}

struct nvgre_params {
  outer_params outer;
  std::uint32_t vsid = w::nvgre::min_tenant_vsid;
  std::uint8_t flow_id = 0;
  byte_vector inner = make_inner_frame(46);
};

// The GRE header NVGRE uses for (vsid, flow_id): K=1, protocol 0x6558.
inline w::gre::header nvgre_gre_header(std::uint32_t vsid, std::uint8_t flow_id) {
  w::gre::header g;
  g.key_present = true;
  g.protocol = w::nvgre::protocol;
  g.key = vsid << 8 | flow_id;
  return g;
}

inline byte_vector make_nvgre_frame(const nvgre_params& p) {
  return make_gre_frame(p.outer, nvgre_gre_header(p.vsid, p.flow_id), p.inner);
}

// ---- STT -----------------------------------------------------------------------

struct stt_params {
  outer_params outer;
  std::uint16_t src_port = 50000;
  std::uint16_t dst_port = w::stt::default_port;
  std::uint32_t frame_id = 1;
  w::stt::frame_header frame_header{};
  byte_vector inner = make_inner_frame(46);
  bool tcp_checksum = true;  // false: leave the TCP checksum zero (invalid)
};

// The STT frame (frame header + inner frame) that p describes.
inline byte_vector make_stt_frame(const stt_params& p) {
  byte_vector f(w::stt::frame_header_size + p.inner.size());
  (void)w::stt::encode_frame_header(p.frame_header, f);
  std::copy(p.inner.begin(), p.inner.end(), f.begin() + w::stt::frame_header_size);
  return f;
}

// One segment carrying payload at fragment_offset of an STT frame of
// frame_length bytes (no consistency checks: tests build bad ones on purpose).
inline byte_vector make_stt_segment(const stt_params& p, std::uint16_t frame_length, std::uint16_t fragment_offset,
                                    std::span<const std::byte> payload, bool last_segment = true) {
  w::stt::segment s{p.src_port, p.dst_port, frame_length, fragment_offset, p.frame_id};
  const w::tcp::header t = w::stt::tcp_header_of(s, last_segment);
  byte_vector l4(w::tcp::header_size + payload.size());
  const std::span<std::byte> out(l4);
  (void)w::tcp::encode(t, out);
  std::copy(payload.begin(), payload.end(), l4.begin() + w::tcp::header_size);
  if (p.tcp_checksum)
    w::store_be16(out, 16, w::tcp::checksum_field(pseudo_sum(p.outer, w::ipv4::protocol_tcp, l4.size()), out));
  return make_ip_frame(p.outer, w::ipv4::protocol_tcp, l4);
}

// The whole STT frame in a single segment (offset 0, frame header included).
inline byte_vector make_stt_segment(const stt_params& p) {
  const byte_vector frame = make_stt_frame(p);
  return make_stt_segment(p, static_cast<std::uint16_t>(frame.size()), 0, frame);
}

// The STT frame cut into segments of at most max_payload bytes each. dissect
// wants the first segment to hold the 18-byte frame header and the 14-byte
// inner Ethernet header, so use max_payload >= 32 for frames it should accept.
inline std::vector<byte_vector> make_stt_segments(const stt_params& p, std::size_t max_payload) {
  const byte_vector frame = make_stt_frame(p);
  std::vector<byte_vector> segments;
  for (std::size_t off = 0; off < frame.size(); off += max_payload) {
    const std::size_t n = std::min(max_payload, frame.size() - off);
    segments.push_back(make_stt_segment(p, static_cast<std::uint16_t>(frame.size()), static_cast<std::uint16_t>(off),
                                        std::span<const std::byte>(frame).subspan(off, n),
                                        off + n == frame.size()));
  }
  return segments;
}

}  // namespace nvo_test
