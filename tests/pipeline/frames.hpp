// Tenant (inner) frames for the pipeline tests, built with the wire codecs:
// IPv4/IPv6 TCP, UDP and ICMP, ARP requests and Neighbor Solicitations,
// optionally 802.1Q-tagged, of any size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nvo/pipeline/packet.hpp"
#include "nvo/pipeline/reply.hpp"
#include "nvo/wire/wire.hpp"

namespace pipeline_test {

namespace w = nvo::wire;
using bytes_vec = std::vector<std::byte>;

enum class kind { tcp4, udp4, icmp4, tcp6, udp6, arp, neighbor_solicitation, raw };

struct inner_spec {
  kind k = kind::udp4;
  std::size_t size = 64;  // whole frame, at least the headers
  bool vlan = false;
  std::uint8_t tos = 0;   // IPv4 TOS / IPv6 traffic class (DSCP | ECN)
  std::uint8_t ttl = 64;
  bool df = false;
  w::mac_address src = w::mac_address::from_u64(0x020000000001);
  w::mac_address dst = w::mac_address::from_u64(0x020000000002);
  w::ip_address src_ip = w::ipv4_address{{192, 168, 0, 1}};
  w::ip_address dst_ip = w::ipv4_address{{192, 168, 0, 2}};
  std::uint8_t seed = 1;
};

inline w::ip_address v6(std::uint16_t last) {
  w::ipv6_address a{{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(last >> 8),
                     static_cast<std::uint8_t>(last)}};
  return a;
}

inline bytes_vec make_inner(const inner_spec& s) {
  const bool ip6 = s.k == kind::tcp6 || s.k == kind::udp6 || s.k == kind::neighbor_solicitation;
  const std::size_t l2 = 14 + (s.vlan ? 4 : 0);
  std::size_t l3_hdr = ip6 ? 40 : 20;
  std::size_t l4_hdr = s.k == kind::tcp4 || s.k == kind::tcp6 ? 20 : s.k == kind::neighbor_solicitation ? 32 : 8;
  if (s.k == kind::arp) l3_hdr = 28, l4_hdr = 0;
  if (s.k == kind::raw) l3_hdr = 0, l4_hdr = 0;
  const std::size_t size = std::max(s.size, l2 + l3_hdr + l4_hdr);
  bytes_vec f(size);
  const w::bytes b(f);
  for (std::size_t i = 0; i < size; ++i) f[i] = static_cast<std::byte>((i * 7 + s.seed) & 0xFF);
  w::ethernet::header eth{s.dst, s.src, s.vlan, 0x0064,
                          s.k == kind::arp ? w::ethernet::ethertype_arp
                          : ip6            ? w::ethernet::ethertype_ipv6
                          : s.k == kind::raw ? std::uint16_t{0x88B5}
                                             : w::ethernet::ethertype_ipv4};
  (void)w::ethernet::encode(eth, b);
  const auto l3 = b.subspan(l2);
  if (s.k == kind::raw) return f;
  if (s.k == kind::arp) {
    w::store_be32(l3, 0, 0x00010800u);
    w::store_be16(l3, 4, 0x0604u);
    w::store_be16(l3, 6, 1);
    w::store_raw(l3, 8, s.src.octets);
    w::store_raw(l3, 14, s.src_ip.v4().octets);
    for (std::size_t i = 18; i < 24; ++i) l3[i] = std::byte{0};
    w::store_raw(l3, 24, s.dst_ip.v4().octets);
    return f;
  }
  std::uint8_t proto = s.k == kind::tcp4 || s.k == kind::tcp6 ? 6
                       : s.k == kind::udp4 || s.k == kind::udp6 ? 17
                       : s.k == kind::icmp4 ? 1 : 58;
  const std::size_t l4_size = size - l2 - l3_hdr;
  if (!ip6) {
    w::ipv4::header h;
    h.tos = s.tos;
    h.total_length = static_cast<std::uint16_t>(l3_hdr + l4_size);
    h.identification = 0x1234;
    h.flags_fragment_offset = s.df ? w::ipv4::flag_dont_fragment : 0;
    h.ttl = s.ttl;
    h.protocol = proto;
    h.src = s.src_ip.v4();
    h.dst = s.dst_ip.v4();
    (void)w::ipv4::encode(h, l3);
  } else {
    w::store_be32(l3, 0, 0x60000000u | std::uint32_t{s.tos} << 20 | 0x12345);
    w::store_be16(l3, 4, static_cast<std::uint16_t>(l4_size));
    w::store_u8(l3, 6, proto);
    w::store_u8(l3, 7, s.k == kind::neighbor_solicitation ? 255 : s.ttl);
    w::store_raw(l3, 8, s.src_ip.v6().octets);
    w::store_raw(l3, 24, s.dst_ip.v6().octets);
  }
  const auto l4 = l3.subspan(l3_hdr, l4_size);
  const std::uint64_t pseudo = w::pseudo_header_sum(s.src_ip, s.dst_ip, proto, static_cast<std::uint32_t>(l4_size));
  switch (s.k) {
    case kind::tcp4:
    case kind::tcp6: {
      w::tcp::header t;
      t.src_port = 40000;
      t.dst_port = 80;
      t.seq = 1;
      t.flags = 0x18;
      t.window = 1000;
      (void)w::tcp::encode(t, l4);
      w::store_be16(l4, 16, w::checksum_finalize(w::checksum_accumulate(l4, pseudo)));
      break;
    }
    case kind::udp4:
    case kind::udp6:
      (void)w::udp::encode({5000, 53, static_cast<std::uint16_t>(l4_size), 0}, l4);
      w::store_be16(l4, 6, w::udp::checksum_field(pseudo, l4));
      break;
    case kind::icmp4:
      w::store_be32(l4, 0, 0x08000000u);
      w::store_be16(l4, 2, w::checksum_finalize(w::checksum_accumulate(l4)));
      break;
    case kind::neighbor_solicitation:
      w::store_be32(l4, 0, 0x87000000u);
      w::store_be32(l4, 4, 0);
      w::store_raw(l4, 8, s.dst_ip.v6().octets);  // target
      w::store_u8(l4, 24, 1);                     // source link-layer option
      w::store_u8(l4, 25, 1);
      w::store_raw(l4, 26, s.src.octets);
      w::store_be16(l4, 2, w::checksum_finalize(w::checksum_accumulate(l4, pseudo)));
      break;
    default: break;
  }
  return f;
}

// A frame in a pipeline buffer with 256 bytes of headroom (or as given) and
// 256 of tailroom.
struct packet {
  explicit packet(const bytes_vec& frame, std::size_t headroom = 256)
      : storage(headroom + frame.size() + 256), buf(storage, headroom, frame.size()) {
    std::copy(frame.begin(), frame.end(), storage.begin() + static_cast<std::ptrdiff_t>(headroom));
  }
  [[nodiscard]] bytes_vec bytes() const { return {buf.data(), buf.data() + buf.size()}; }
  std::vector<std::byte> storage;
  nvo::pipeline::buffer buf;
};

}  // namespace pipeline_test
