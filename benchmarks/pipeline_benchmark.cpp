// The encap/decap pipeline per encapsulation beside a hand-written baseline
// that does the same work, and the whole VTEP job (L2 table + encapsulation).
//
// Encap/<impl>/<case>, Decap/<impl>/<case>, impl in {nvo, baseline}; case is
// <encap><underlay>_<inner frame bytes>. One iteration is one burst of 32
// through the burst API; ns_per_pkt is time per packet. nvo is configured as a
// user configures a fixed point-to-point tunnel (lookup::fixed, the fixed
// encapsulation and underlay, entropy::crc32c, checksum::zero_udp: UDP
// checksum zero over IPv4, full over IPv6; STT's TCP checksum full; the
// default header rules: ECN copied from the inner packet, DSCP 0, TTL 64, DF
// set). The baseline is that tunnel written by hand for exactly one
// encapsulation and underlay: the template copy, the same patches, the same
// CRC32C flow hash (its own parse and crc32 instructions), the same checksum
// mode, and on decap the checks wire::dissect and the pipeline make (IPv4
// header checksum, lengths, UDP checksum when non-zero or over IPv6, the
// tunnel header's rules, outer destination == local PA, the RFC 6040 egress
// table), then the strip. L4 checksums over the whole segment go through the
// same nvo::simd kernel on both sides, so the rows compare composition, not two
// checksum kernels. Every burst resets its buffers (buffer::reset) first, on
// both sides alike.
// EncapPaired/ and DecapPaired/nvo_over_baseline/<case> run both in alternation
// and report the median time ratio, the figure to quote on a noisy machine.
//
// Pipeline/nvo/vxlan4_64/<entries>: the whole job per 64-byte frame, an
// l2_forwarding_table of <entries> {VNI, MAC} entries (dst MACs uniform
// random among them, a new one written into each frame per burst) behind
// lookup::l2, 16 remote endpoints' templates, CRC32C entropy, outer IPv4
// checksum, UDP checksum zero. Each iteration also times the parts alone
// (bulk lookup of the same 32 keys; the encapsulation with lookup::fixed);
// counters: ns_per_pkt and Mpps of the whole job, lookup_ns and encap_ns per
// packet of the parts, whole_over_parts (medians).
//
// Before timing, main() checks that nvo and the baseline encapsulate every
// benchmark frame and hundreds of odd and corrupted inner frames into the same
// bytes, verdicts and offload metadata, and decapsulate the results and
// thousands of corrupted, truncated and ECN-marked variants alike (both must
// reject the corrupted ones), and aborts otherwise.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bench_context.hpp"
#include "nvo/pipeline/pipeline.hpp"
#include "nvo/table/forwarding.hpp"
#include "nvo/wire/wire.hpp"

namespace {

namespace np = nvo::pipeline;
namespace nt = nvo::table;
namespace w = nvo::wire;
using np::buffer;
using np::verdict;
using w::encapsulation;

constexpr std::size_t burst = 32;
constexpr std::size_t headroom = 128;  // room for the largest template (STT over IPv6: 92 B)
constexpr std::uint16_t underlay_mtu = 9000;  // every case fits one packet (and one STT segment)
constexpr std::uint32_t tenant = 0x00ABCD;
constexpr std::uint16_t ipv4_id_start = 0xFFF0;  // wraps during the self-check
constexpr std::uint8_t instance_id = 7;          // STT frame ids' low byte (the counter above starts at 0)

const w::ip_address sender4 = w::ipv4_address{{10, 0, 0, 1}};
const w::ip_address receiver4 = w::ipv4_address{{10, 0, 0, 2}};
const w::ip_address sender6 = w::ipv6_address{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
const w::ip_address receiver6 = w::ipv6_address{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
const w::mac_address local_mac = w::mac_address::from_u64(0x02'00'5E'00'00'01);
const w::mac_address next_hop_mac = w::mac_address::from_u64(0x02'00'5E'00'00'FE);

// ---------------------------------------------------------------------------
// The hand-written baseline: one fixed tunnel, raw loads and stores.
namespace baseline {

inline std::uint8_t u8(const std::byte* p) { return std::to_integer<std::uint8_t>(*p); }
inline std::uint16_t be16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline std::uint32_t be32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline std::uint64_t be64(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline std::uint32_t le32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint64_t le64(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void put8(std::byte* p, std::uint8_t v) { *p = static_cast<std::byte>(v); }
inline void put16(std::byte* p, std::uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void put32(std::byte* p, std::uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void put64(std::byte* p, std::uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

// The crc32 instruction (SSE4.2, checked in main), as DPDK's rte_hash_crc uses it.
inline std::uint64_t crc64(std::uint64_t reg, std::uint64_t v) {
  asm("crc32q %1, %0" : "+r"(reg) : "rm"(v));
  return reg;
}
inline std::uint32_t crc32(std::uint32_t reg, std::uint32_t v) {
  asm("crc32l %1, %0" : "+r"(reg) : "rm"(v));
  return reg;
}

inline std::uint16_t fold(std::uint64_t s) {
  s = (s & 0xFFFFFFFF) + (s >> 32);
  s = (s & 0xFFFFFFFF) + (s >> 32);
  s = (s & 0xFFFF) + (s >> 16);
  s = (s & 0xFFFF) + (s >> 16);
  return static_cast<std::uint16_t>((s & 0xFFFF) + (s >> 16));
}
// The sum of a segment on the same SIMD kernel nvo uses.
inline std::uint64_t segment_sum(const std::byte* p, std::size_t n, std::uint64_t pseudo) {
  return nvo::simd::checksum_accumulate(w::const_bytes(p, n), pseudo);
}
inline std::uint64_t sum16(const std::byte* p, std::size_t n) {  // n even, small
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < n; i += 2) s += be16(p + i);
  return s;
}

// One pass over the inner headers: what the header rules, the offload
// metadata, STT's frame header and the flow hash need. The hash is the one
// nvo's entropy::crc32c computes (simd::flow_hash_crc32c over
// simd::extract_flow_key), fed field by field to the crc32 instruction.
struct inner_fields {
  std::uint16_t l2_len = 14;
  std::uint16_t l3_len = 0;
  std::uint16_t l4_len = 0;
  std::uint8_t ip_version = 0;
  std::uint8_t tos = 0;
  std::uint8_t protocol = 0;
  std::uint32_t hash = 0;
};

// PRECONDITION n >= 14.
inline inner_fields parse_inner(const std::byte* f, std::size_t n) {
  enum : std::uint64_t { none = 0, l2 = 1, ipv4 = 2, ipv6 = 3 };
  inner_fields r;
  std::uint16_t type = be16(f + 12);
  std::uint64_t kind = l2;
  if (type == 0x8100) {
    if (n < 18) kind = none;
    else type = be16(f + 16), r.l2_len = 18;
  }
  const std::byte* ip = f + r.l2_len;
  const std::size_t ip_n = n - r.l2_len;
  std::uint8_t hashed_protocol = 0;
  std::uint32_t ports = 0;
  std::size_t l3_len = 0;
  const std::size_t ihl = std::size_t{u8(ip) & 0x0Fu} * 4;  // an incomplete IPv4 header is not IP
  if (kind == l2 && type == 0x0800 && ip_n >= 20 && (u8(ip) >> 4) == 4 && ihl >= 20 && ihl <= ip_n) {
    r.ip_version = 4;
    r.tos = u8(ip + 1);
    r.protocol = u8(ip + 9);
    l3_len = ihl;
    kind = ipv4;
    hashed_protocol = r.protocol;
    if ((be16(ip + 6) & 0x3FFF) == 0 && (r.protocol == 6 || r.protocol == 17) && ip_n - l3_len >= 4)
      ports = be32(ip + l3_len);
  } else if (kind == l2 && type == 0x86DD && ip_n >= 40 && (u8(ip) >> 4) == 6) {
    r.ip_version = 6;
    r.tos = static_cast<std::uint8_t>(be16(ip) >> 4);
    r.protocol = u8(ip + 6);
    l3_len = 40;
    kind = ipv6;
    hashed_protocol = r.protocol;
    if ((r.protocol == 6 || r.protocol == 17) && ip_n - 40 >= 4) ports = be32(ip + 40);
  }
  if (r.ip_version != 0) {
    r.l3_len = static_cast<std::uint16_t>(l3_len);
    const std::size_t l4_n = ip_n - l3_len;
    if (r.protocol == 6 && l4_n >= 20) r.l4_len = static_cast<std::uint16_t>((u8(ip + l3_len + 12) >> 4) * 4);
    else if (r.protocol == 17 && l4_n >= 8) r.l4_len = 8;
  }
  const std::uint16_t hashed_type = kind == none ? 0 : type;
  std::uint64_t h = crc64(0xFFFFFFFF, kind << 56 | std::uint64_t{hashed_protocol} << 48 |
                                          std::uint64_t{hashed_type} << 32 | ports);
  if (kind == ipv4) {
    h = crc32(static_cast<std::uint32_t>(h), le32(ip + 12));
    h = crc32(static_cast<std::uint32_t>(h), le32(ip + 16));
  } else if (kind == ipv6) {
    for (std::size_t off = 8; off < 40; off += 8) h = crc64(h, le64(ip + off));
  } else if (kind == l2) {
    h = crc64(h, (be64(f + 6) >> 16) ^ ((be64(f) >> 16) << 16));
  } else {
    for (int i = 0; i < 4; ++i) h = crc64(h, 0);  // extract_flow_key's zero addresses
  }
  r.hash = ~static_cast<std::uint32_t>(h);
  return r;
}

// RFC 6040 4.2, Figure 4, [inner][outer]: bits 0-1 the new inner ECN, bit 2
// drop, bit 3 a (!)/(!!!) cell to count.
constexpr std::array<std::array<std::uint8_t, 4>, 4> ecn_egress{{
    {0, 8, 8, 4 | 8},  // inner Not-ECT
    {1, 1, 1 | 8, 3},  // inner ECT(1)
    {2, 1, 2, 3},      // inner ECT(0)
    {3, 3 | 8, 3, 3},  // inner CE
}};

template <encapsulation E, bool V6>
class tunnel {
 public:
  static constexpr std::size_t l3 = 14;
  static constexpr std::size_t l4 = l3 + (V6 ? 40 : 20);
  static constexpr std::size_t tunnel_len = E == encapsulation::vxlan ? 8 : E == encapsulation::nvgre ? 0 : 18;
  static constexpr std::size_t l4_header = E == encapsulation::stt ? 20 : 8;
  static constexpr std::size_t size = l4 + l4_header + tunnel_len;
  static constexpr std::uint8_t protocol = E == encapsulation::vxlan ? 17 : E == encapsulation::nvgre ? 47 : 6;

  // local/remote: this end and the peer (decap accepts only frames to local).
  tunnel(const w::ip_address& local, const w::ip_address& remote) : ip_id_(ipv4_id_start) {
    std::byte* t = tmpl_.data();
    std::memcpy(t, next_hop_mac.octets.data(), 6);
    std::memcpy(t + 6, local_mac.octets.data(), 6);
    put16(t + 12, V6 ? 0x86DD : 0x0800);
    const std::size_t alen = V6 ? 16 : 4;
    std::byte* src = t + l3 + (V6 ? 8 : 12);
    std::memcpy(src, local.octets.data(), alen);
    std::memcpy(src + alen, remote.octets.data(), alen);
    std::memcpy(local_.data(), local.octets.data(), alen);
    if (V6) {
      put32(t + l3, 0x60000000);
      put8(t + l3 + 6, protocol);
    } else {
      put8(t + l3, 0x45);
      put8(t + l3 + 9, protocol);
      ip_sum_ = static_cast<std::uint32_t>(sum16(t + l3, 20));
    }
    pseudo_sum_ = static_cast<std::uint32_t>(sum16(src, 2 * alen) + protocol);
    if (E == encapsulation::vxlan) {
      put16(t + l4 + 2, 4789);
      put32(t + l4 + 8, 0x08000000);
    } else if (E == encapsulation::nvgre) {
      put32(t + l4, 0x20006558);
    } else {
      put16(t + l4 + 2, 7471);
      put8(t + l4 + 12, 5 << 4);
      put8(t + l4 + 13, 0x18);  // ACK | PSH
    }
  }

  // Verdicts are written in place: a verdict built on the stack and copied
  // out is reloaded across its field stores (a store-forwarding stall).
  std::size_t encapsulate(std::span<buffer* const> pkts, std::uint32_t id, std::span<verdict> out) {
    std::size_t forwarded = 0;
    for (std::size_t i = 0; i < pkts.size(); ++i) {
      out[i] = verdict{};
      encapsulate(*pkts[i], id, out[i]);
      forwarded += out[i].ok();
    }
    return forwarded;
  }

  std::size_t decapsulate(std::span<buffer* const> pkts, std::span<verdict> out) {
    std::size_t delivered = 0;
    for (std::size_t i = 0; i < pkts.size(); ++i) {
      out[i] = verdict{};
      decapsulate(*pkts[i], out[i]);
      delivered += out[i].ok();
    }
    return delivered;
  }

 private:
  // v is a fresh verdict (action drop).
  void drop(verdict& v, np::drop_reason r) {
    ++drops_;
    v.reason = r;
  }
  static void forward(verdict& v, std::uint32_t id) {
    v.act = np::action::forward;
    v.tenant = id;
    v.encap = E;
  }

  void encapsulate(buffer& p, std::uint32_t id, verdict& v) {
    const std::byte* f = p.data();
    const std::size_t n = p.size();
    if (n < 14) return drop(v, np::drop_reason::inner_truncated);
    const inner_fields in = parse_inner(f, n);
    if (E != encapsulation::stt && id > 0xFFFFFF) return drop(v, np::drop_reason::tunnel_id_out_of_range);
    if (E == encapsulation::nvgre && in.l2_len != 14) return drop(v, np::drop_reason::nvgre_inner_vlan);
    const std::size_t ip_len = size - l3 + n;
    if (ip_len > underlay_mtu) {
      if (E == encapsulation::stt) {  // segmented by encapsulate_segments(), not timed here
        const std::size_t mss = underlay_mtu - (l4 - l3) - 20;
        v.act = np::action::segment;
        v.segments = static_cast<std::uint16_t>((n + 18 + mss - 1) / mss);
        return;
      }
      v.act = np::action::too_big;
      v.mtu = static_cast<std::uint16_t>(std::max<std::ptrdiff_t>(0, std::ptrdiff_t{underlay_mtu} - static_cast<std::ptrdiff_t>(size - l3) - in.l2_len));
      return;
    }
    if (p.headroom() < size) return drop(v, np::drop_reason::no_headroom);
    std::byte* o = p.prepend(size);
    std::memcpy(o, tmpl_.data(), size);
    const std::uint8_t tos = in.ip_version != 0 ? in.tos & 3 : 0;  // DSCP 0, ECN copied
    const std::size_t l4_len = size - l4 + n;
    if (V6) {
      put8(o + l3, static_cast<std::uint8_t>(0x60 | tos >> 4));
      put8(o + l3 + 1, static_cast<std::uint8_t>((tos & 0x0F) << 4));
      put16(o + l3 + 4, static_cast<std::uint16_t>(l4_len));
      put8(o + l3 + 7, 64);
    } else {
      const std::uint16_t ipid = ip_id_++;
      put8(o + l3 + 1, tos);
      put16(o + l3 + 2, static_cast<std::uint16_t>(ip_len));
      put16(o + l3 + 4, ipid);
      put16(o + l3 + 6, 0x4000);  // DF
      put8(o + l3 + 8, 64);
      put16(o + l3 + 10, static_cast<std::uint16_t>(~fold(std::uint64_t{ip_sum_} + tos + ip_len + ipid + 0x4000 + (64 << 8))));
    }
    const std::uint64_t pseudo = std::uint64_t{pseudo_sum_} + l4_len;
    if (E == encapsulation::vxlan) {
      put16(o + l4, static_cast<std::uint16_t>(49152 + (in.hash >> 18)));  // RFC 7348 range 49152-65535
      put16(o + l4 + 4, static_cast<std::uint16_t>(l4_len));
      put32(o + l4 + 12, id << 8);
      if (V6) {
        const std::uint16_t c = static_cast<std::uint16_t>(~fold(segment_sum(o + l4, l4_len, pseudo)));
        put16(o + l4 + 6, c == 0 ? 0xFFFF : c);
      }
    } else if (E == encapsulation::nvgre) {
      const std::uint32_t h = in.hash ^ (in.hash >> 16);
      put32(o + l4 + 4, id << 8 | ((h ^ (h >> 8)) & 0xFF));
    } else {
      put16(o + l4, static_cast<std::uint16_t>(in.hash ^ (in.hash >> 16)));
      put32(o + l4 + 4, static_cast<std::uint32_t>(n + 18) << 16);
      put32(o + l4 + 8, stt_frames_++ << 8 | instance_id);
      put8(o + l4 + 21, static_cast<std::uint8_t>((in.ip_version == 4 ? 0x04 : 0) |
                                                  (in.protocol == 6 && in.l4_len != 0 ? 0x08 : 0)));
      put8(o + l4 + 22, in.l4_len != 0 ? static_cast<std::uint8_t>(in.l2_len + in.l3_len) : 0);
      put64(o + l4 + 28, id);
      put16(o + l4 + 16, static_cast<std::uint16_t>(~fold(segment_sum(o + l4, l4_len, pseudo))));
    }
    np::offload_request req;
    req.tunnel = E;
    req.outer_ip_version = V6 ? 6 : 4;
    req.outer_l2_len = l3;
    req.outer_l3_len = l4 - l3;
    req.outer_l4_len = l4_header;
    req.tunnel_len = tunnel_len;
    req.inner_l2_len = in.l2_len;
    req.inner_l3_len = in.l3_len;
    req.inner_l4_len = in.l4_len;
    p.set_offload(req);
    ++encapsulated_;
    forward(v, id);
  }

  void decapsulate(buffer& p, verdict& v) {
    std::byte* f = p.data();
    const std::size_t n = p.size();
    if (n < 14) return drop(v, np::drop_reason::malformed);
    std::size_t l2 = 14;
    std::uint16_t type = be16(f + 12);
    if (type == 0x8100) {
      if (n < 18) return drop(v, np::drop_reason::malformed);
      type = be16(f + 16);
      l2 = 18;
    }
    const std::byte* ip = f + l2;
    const std::size_t ip_n = n - l2;
    const std::byte* seg;
    std::size_t seg_n;
    std::uint8_t outer_tos;
    std::uint64_t pseudo;
    if (V6) {
      if (type != 0x86DD || ip_n < 40) return drop(v, np::drop_reason::wrong_underlay);
      const std::uint32_t w0 = be32(ip);
      const std::uint16_t payload = be16(ip + 4);
      if ((w0 >> 28) != 6 || payload == 0 || payload > ip_n - 40) return drop(v, np::drop_reason::malformed);
      if (u8(ip + 6) != protocol) return drop(v, np::drop_reason::wrong_encapsulation);
      if (std::memcmp(ip + 24, local_.data(), 16) != 0) return drop(v, np::drop_reason::not_local);
      outer_tos = static_cast<std::uint8_t>(w0 >> 20);
      seg = ip + 40;
      seg_n = payload;
      pseudo = sum16(ip + 8, 32);
    } else {
      if (type != 0x0800 || ip_n < 20) return drop(v, np::drop_reason::wrong_underlay);
      const std::uint8_t vihl = u8(ip);
      const std::size_t ihl = std::size_t{vihl & 0x0Fu} * 4;
      const std::uint16_t total = be16(ip + 2);
      if ((vihl >> 4) != 4 || ihl < 20 || ihl > ip_n || total < ihl || total > ip_n)
        return drop(v, np::drop_reason::malformed);
      std::uint64_t s = 0;
      for (std::size_t i = 0; i < ihl; i += 4) s += le32(ip + i);
      if (fold(s) != 0xFFFF) return drop(v, np::drop_reason::malformed);
      if (u8(ip + 9) != protocol) return drop(v, np::drop_reason::wrong_encapsulation);
      if ((be16(ip + 6) & 0x3FFF) != 0) return drop(v, np::drop_reason::malformed);  // fragment
      if (std::memcmp(ip + 16, local_.data(), 4) != 0) return drop(v, np::drop_reason::not_local);
      outer_tos = u8(ip + 1);
      seg = ip + ihl;
      seg_n = total - ihl;
      pseudo = sum16(ip + 12, 8);
    }
    pseudo += protocol + seg_n;
    const std::byte* inner;
    std::size_t inner_n;
    std::uint32_t id;
    if (E == encapsulation::vxlan) {
      if (seg_n < 8 || be16(seg + 2) != 4789) return drop(v, np::drop_reason::wrong_encapsulation);
      const std::uint16_t length = be16(seg + 4);
      if (length < 8 || length != seg_n) return drop(v, np::drop_reason::malformed);
      if (be16(seg + 6) == 0 ? V6 : fold(segment_sum(seg, seg_n, pseudo)) != 0xFFFF)
        return drop(v, np::drop_reason::malformed);
      if (seg_n < 16 + 14 || be32(seg + 8) != 0x08000000 || (u8(seg + 15)) != 0)
        return drop(v, np::drop_reason::malformed);
      id = be32(seg + 12) >> 8;
      inner = seg + 16;
      inner_n = seg_n - 16;
    } else if (E == encapsulation::nvgre) {
      if (seg_n < 8 + 14 || be32(seg) != 0x20006558) return drop(v, np::drop_reason::malformed);
      inner = seg + 8;
      inner_n = seg_n - 8;
      const std::uint16_t t = be16(inner + 12);
      if (t == 0x8100 || t == 0x88A8) return drop(v, np::drop_reason::malformed);  // RFC 7637 3.3
      id = be32(seg + 4) >> 8;
    } else {
      if (seg_n < 20 || be16(seg + 2) != 7471) return drop(v, np::drop_reason::wrong_encapsulation);
      if ((u8(seg + 12) >> 4) != 5 || fold(segment_sum(seg, seg_n, pseudo)) != 0xFFFF)
        return drop(v, np::drop_reason::malformed);
      // One whole frame in this segment: offset 0 and frame length == payload.
      const std::uint32_t seq = be32(seg + 4);
      const std::size_t payload = seg_n - 20;
      if (seq != static_cast<std::uint32_t>(payload) << 16 || payload < 18 + 14)
        return drop(v, np::drop_reason::stt_needs_reassembly);
      const std::byte* fh = seg + 20;
      const std::uint8_t flags = u8(fh + 1);
      if (u8(fh) != 0 || (flags & 0xF0) != 0 || (flags & 3) == 3 || u8(fh + 3) != 0 || be16(fh + 16) != 0)
        return drop(v, np::drop_reason::malformed);
      id = static_cast<std::uint32_t>(be64(fh + 8));
      inner = fh + 18;
      inner_n = payload - 18;
    }
    // RFC 6040 egress against the inner IP header, decided before any write.
    std::size_t iip = 14;
    std::uint16_t itype = be16(inner + 12);
    if (itype == 0x8100 && inner_n >= 18) itype = be16(inner + 16), iip = 18;
    std::byte* inner_ip = const_cast<std::byte*>(inner) + iip;  // inside p's bytes
    int version = 0;
    std::uint8_t itos = 0;
    const std::size_t ihl = std::size_t{u8(inner_ip) & 0x0Fu} * 4;
    if (itype == 0x0800 && inner_n - iip >= 20 && (u8(inner_ip) >> 4) == 4 && ihl >= 20 && ihl <= inner_n - iip) {
      version = 4;
      itos = u8(inner_ip + 1);
    } else if (itype == 0x86DD && inner_n - iip >= 40 && (u8(inner_ip) >> 4) == 6) {
      version = 6;
      itos = static_cast<std::uint8_t>(be16(inner_ip) >> 4);
    }
    if (version != 0) {
      const std::uint8_t e = ecn_egress[itos & 3][outer_tos & 3];
      ecn_alarms_ += e >> 3;
      if (e & 4) return drop(v, np::drop_reason::ecn_not_ect_under_ce);
      const std::uint8_t ecn = e & 3;
      if (ecn != (itos & 3)) {
        if (version == 4) {
          const std::uint8_t tos = static_cast<std::uint8_t>((itos & ~3) | ecn);
          put8(inner_ip + 1, tos);
          const std::uint64_t s = std::uint64_t{static_cast<std::uint16_t>(~be16(inner_ip + 10))} + 0xFFFF - itos + tos;
          put16(inner_ip + 10, static_cast<std::uint16_t>(~fold(s)));
        } else {
          put32(inner_ip, (be32(inner_ip) & ~(3u << 20)) | std::uint32_t{ecn} << 20);
        }
      }
    }
    p.strip(static_cast<std::size_t>(inner - f));
    p.trim(p.size() - inner_n);
    ++decapsulated_;
    forward(v, id);
  }

  alignas(64) std::array<std::byte, size> tmpl_{};
  std::uint32_t ip_sum_ = 0;
  std::uint32_t pseudo_sum_ = 0;
  std::array<std::uint8_t, 16> local_{};
  std::uint16_t ip_id_;
  std::uint32_t stt_frames_ = 0;
  std::uint64_t encapsulated_ = 0;
  std::uint64_t decapsulated_ = 0;
  std::uint64_t drops_ = 0;
  std::uint64_t ecn_alarms_ = 0;
};

}  // namespace baseline

// ---------------------------------------------------------------------------
// nvo configured for the same fixed tunnel. The baseline's header rules are
// constants (the defaults), so nvo's are fixed at compile time too.
template <class Encap, class Underlay>
using fixed_pipeline =
    np::basic_pipeline<np::policy::encapsulation<Encap>, np::policy::underlay<Underlay>,
                       np::policy::lookup<np::lookup::fixed>, np::policy::entropy<np::entropy::crc32c>,
                       np::policy::checksum<np::checksum::zero_udp>,
                       np::policy::header_rules<np::rules::fixed<np::header_rules{}>>>;

np::pipeline_options options_for(const w::ip_address& local) {
  np::pipeline_options o;
  (local.is_v4() ? o.local_ipv4 : o.local_ipv6) = local;
  o.underlay_mtu = underlay_mtu;
  o.ipv4_id_start = ipv4_id_start;
  o.instance_id = instance_id;
  o.stt_seed = 0;
  o.stt_reassembly = false;  // the baseline, like the decap it models, does not reassemble
  return o;
}

np::endpoint_config endpoint_config_for(encapsulation e, const w::ip_address& local, const w::ip_address& remote) {
  return {.local = local, .remote = remote, .local_mac = local_mac, .next_hop_mac = next_hop_mac, .encap = e};
}

// ---------------------------------------------------------------------------
// Inputs. Tenant frames: Ethernet + IPv4 + TCP or UDP, flows and ECN varying.
using frame = std::vector<std::byte>;

frame make_inner(std::size_t size, std::uint32_t seed) {
  frame f(size);
  const w::bytes b(f);
  for (std::size_t i = 0; i < size; ++i) f[i] = static_cast<std::byte>(i * 7 + seed);
  (void)w::ethernet::encode({w::mac_address::from_u64(0x02'00'00'00'10'00 + seed),
                             w::mac_address::from_u64(0x02'00'00'00'20'00 + seed), false, 0, w::ethernet::ethertype_ipv4},
                            b);
  const bool tcp = seed % 2 == 0;
  w::ipv4::header ip;
  ip.tos = static_cast<std::uint8_t>(seed % 4);  // every ECN codepoint
  ip.total_length = static_cast<std::uint16_t>(size - 14);
  ip.identification = static_cast<std::uint16_t>(seed * 77);
  ip.flags_fragment_offset = seed % 3 == 0 ? w::ipv4::flag_dont_fragment : 0;
  ip.protocol = tcp ? w::ipv4::protocol_tcp : w::ipv4::protocol_udp;
  ip.src = w::ipv4_address{{192, 168, 1, static_cast<std::uint8_t>(seed)}};
  ip.dst = w::ipv4_address{{192, 168, 2, static_cast<std::uint8_t>(seed * 3)}};
  (void)w::ipv4::encode(ip, b.subspan(14));
  const auto l4 = b.subspan(34);
  w::store_be16(l4, 0, static_cast<std::uint16_t>(40000 + seed));
  w::store_be16(l4, 2, tcp ? 443 : 53);
  if (tcp) w::store_u8(l4, 12, 5 << 4);
  else w::store_be16(l4, 4, static_cast<std::uint16_t>(size - 34));
  return f;
}

// Buffers over one arena: packet i at a cache-line-aligned stride, headroom in front.
class packet_set {
 public:
  explicit packet_set(const std::vector<frame>& frames) {
    std::size_t largest = 0;
    for (const auto& f : frames) largest = std::max(largest, f.size());
    stride_ = (headroom + largest + 64 + 63) / 64 * 64;
    arena_.assign(stride_ * frames.size() + 64, std::byte{0});
    const auto misalign = reinterpret_cast<std::uintptr_t>(arena_.data()) % 64;
    std::byte* base = arena_.data() + (64 - misalign) % 64;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      std::memcpy(base + i * stride_ + headroom, frames[i].data(), frames[i].size());
      buffers_.emplace_back(std::span<std::byte>(base + i * stride_, stride_), headroom, frames[i].size());
      lengths_.push_back(frames[i].size());
    }
    for (auto& b : buffers_) pointers_.push_back(&b);
  }
  packet_set(const packet_set&) = delete;
  packet_set& operator=(const packet_set&) = delete;

  void reset() {
    for (std::size_t i = 0; i < buffers_.size(); ++i) buffers_[i].reset(headroom, lengths_[i]);
  }
  [[nodiscard]] std::span<buffer* const> burst_span() const { return pointers_; }
  [[nodiscard]] buffer& operator[](std::size_t i) { return buffers_[i]; }

 private:
  std::vector<std::byte> arena_;
  std::size_t stride_ = 0;
  std::vector<buffer> buffers_;
  std::vector<std::size_t> lengths_;
  std::vector<buffer*> pointers_;
};


// ---------------------------------------------------------------------------
// One case: both implementations, the sending side and the receiving side.
struct case_base {
  virtual ~case_base() = default;
  virtual std::size_t encap_nvo() = 0;
  virtual std::size_t encap_baseline() = 0;
  virtual std::size_t decap_nvo() = 0;
  virtual std::size_t decap_baseline() = 0;
  virtual void self_check() = 0;
  std::string name;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "pipeline_benchmark self-check: %s\n", what.c_str());
  std::abort();
}

// Odd tenant frames for the self-check beside the benchmark ones.
std::vector<frame> odd_inner_frames() {
  std::vector<frame> v;
  for (std::size_t n : {0, 13, 14, 15, 16, 17, 18, 20, 33, 34, 37, 38, 53, 54}) v.push_back(make_inner(std::max<std::size_t>(n, 64), 5)), v.back().resize(n);
  frame vlan = make_inner(120, 9);  // 802.1Q-tagged IPv4
  vlan.insert(vlan.begin() + 12, {std::byte{0x81}, std::byte{0x00}, std::byte{0x00}, std::byte{0x64}});
  v.push_back(vlan);
  frame v6(200);  // IPv6 TCP, traffic class ECT(0)
  for (std::size_t i = 0; i < v6.size(); ++i) v6[i] = static_cast<std::byte>(i * 13);
  w::store_be16(w::bytes(v6), 12, w::ethernet::ethertype_ipv6);
  w::store_be32(w::bytes(v6), 14, 0x60000000u | 0xA2u << 20);
  w::store_u8(w::bytes(v6), 20, 6);
  w::store_u8(w::bytes(v6), 54 + 12, 0x50);
  v.push_back(v6);
  frame v6udp = v6;
  w::store_u8(w::bytes(v6udp), 20, 17);
  v.push_back(v6udp);
  frame arp = make_inner(64, 3);
  w::store_be16(w::bytes(arp), 12, w::ethernet::ethertype_arp);
  v.push_back(arp);
  frame options = make_inner(100, 4);  // IHL 6
  w::store_u8(w::bytes(options), 14, 0x46);
  v.push_back(options);
  frame fragment = make_inner(100, 6);
  w::store_be16(w::bytes(fragment), 20, 0x2001);
  v.push_back(fragment);
  // Every inner header byte of a TCP and a UDP frame, corrupted.
  for (std::uint32_t seed : {2u, 3u}) {
    const frame base = make_inner(90, seed);
    for (std::size_t i = 0; i < 60; ++i) {
      for (std::uint8_t x : {0x01, 0x0F, 0x40, 0x81, 0xFF}) {
        frame m = base;
        m[i] ^= static_cast<std::byte>(x);
        v.push_back(m);
      }
    }
  }
  return v;
}

// One packet through one side's burst API, on its own copy of the input:
// the verdict, the whole storage (a write outside the packet shows too), where
// the packet ended up and its offload metadata.
struct outcome {
  verdict v;
  frame storage;
  std::size_t offset = 0, size = 0;
  np::offload_request offload;

  [[nodiscard]] frame packet() const {
    return {storage.begin() + static_cast<std::ptrdiff_t>(offset),
            storage.begin() + static_cast<std::ptrdiff_t>(offset + size)};
  }
  [[nodiscard]] bool same_buffer(const outcome& o) const {
    return storage == o.storage && offset == o.offset && size == o.size && offload == o.offload;
  }
};

template <class Run>
outcome run_one(const frame& in, Run run) {
  outcome r;
  r.storage.assign(headroom + in.size() + 64, std::byte{0x5A});
  std::memcpy(r.storage.data() + headroom, in.data(), in.size());
  buffer b(r.storage, headroom, in.size());
  std::array<verdict, 1> v;
  buffer* const p[1] = {&b};
  run(std::span<buffer* const>(p), std::span<verdict>(v));
  r.v = v[0];
  r.offset = static_cast<std::size_t>(b.data() - r.storage.data());
  r.size = b.size();
  r.offload = b.offload();
  return r;
}

template <class Encap, class Underlay>
struct case_impl final : case_base {
  static constexpr encapsulation kind = Encap::kind;
  static constexpr bool v6 = Underlay::version == 6;
  using pipeline_t = fixed_pipeline<Encap, Underlay>;
  using baseline_t = baseline::tunnel<kind, v6>;

  const w::ip_address& sender = v6 ? sender6 : sender4;
  const w::ip_address& receiver = v6 ? receiver6 : receiver4;
  std::size_t inner_size;
  np::endpoint_templates<> templates;
  std::vector<frame> inner_frames;
  std::vector<frame> outer_frames;  // nvo's encapsulation of inner_frames
  std::unique_ptr<packet_set> inners, outers;
  std::array<verdict, burst> verdicts{};
  std::unique_ptr<pipeline_t> nvo_tx, nvo_rx;
  std::unique_ptr<baseline_t> base_tx, base_rx;

  case_impl(const char* n, std::size_t inner) : inner_size(inner) {
    name = n;
    if (!templates.set(endpoint_config_for(kind, sender, receiver)).ok()) fail("endpoint template rejected");
    reset_sides();
    for (std::size_t i = 0; i < burst; ++i) inner_frames.push_back(make_inner(inner_size, static_cast<std::uint32_t>(i)));
    for (const auto& f : inner_frames) {
      const outcome o = run_one(f, [&](auto p, auto out) { nvo_tx->encapsulate(p, tenant, out); });
      if (!o.v.ok()) fail(name + ": a benchmark frame was not encapsulated");
      outer_frames.push_back(o.packet());
    }
    reset_sides();
    inners = std::make_unique<packet_set>(inner_frames);
    outers = std::make_unique<packet_set>(outer_frames);
  }

  np::lookup::fixed endpoint() const {
    return np::lookup::fixed(nt::tunnel_endpoint{.provider = receiver, .encap = kind, .tunnel_id = tenant});
  }
  // Fresh instances: both sides' IPv4 id and STT frame id counters start equal.
  void reset_sides() {
    nvo_tx = std::make_unique<pipeline_t>(options_for(sender), endpoint(), templates);
    nvo_rx = std::make_unique<pipeline_t>(options_for(receiver), endpoint(), templates);
    base_tx = std::make_unique<baseline_t>(sender, receiver);
    base_rx = std::make_unique<baseline_t>(receiver, sender);
  }

  std::size_t encap_nvo() override {
    inners->reset();
    return nvo_tx->encapsulate(inners->burst_span(), tenant, verdicts);
  }
  std::size_t encap_baseline() override {
    inners->reset();
    return base_tx->encapsulate(inners->burst_span(), tenant, verdicts);
  }
  std::size_t decap_nvo() override {
    outers->reset();
    return nvo_rx->decapsulate(outers->burst_span(), verdicts);
  }
  std::size_t decap_baseline() override {
    outers->reset();
    return base_rx->decapsulate(outers->burst_span(), verdicts);
  }

  static std::string describe(const verdict& v) {
    return std::string(np::to_string(v.act)) + "/" + std::string(np::to_string(v.reason));
  }
  // Encap: same verdict, storage and offload metadata; what nvo forwards
  // must decapsulate alike on both sides and give the frame back.
  void check_encap(const frame& in, const std::string& what) {
    const outcome n = run_one(in, [&](auto p, auto o) { nvo_tx->encapsulate(p, tenant, o); });
    const outcome b = run_one(in, [&](auto p, auto o) { base_tx->encapsulate(p, tenant, o); });
    if (!(n.v == b.v) || !n.same_buffer(b))
      fail(name + " encap differs on " + what + " (nvo " + describe(n.v) + ", baseline " + describe(b.v) + ")");
    if (n.v.ok() && check_decap(n.packet(), what + ", encapsulated") != in)
      fail(name + ": decap(encap(x)) != x on " + what);
  }
  // Decap: same action (and tenant and encapsulation when delivered), same
  // storage; a dropped packet unchanged on both sides. Returns the delivered
  // frame, empty on a drop.
  frame check_decap(const frame& in, const std::string& what) {
    const outcome n = run_one(in, [&](auto p, auto o) { nvo_rx->decapsulate(p, o); });
    const outcome b = run_one(in, [&](auto p, auto o) { base_rx->decapsulate(p, o); });
    const bool same = n.v.act == b.v.act && (!n.v.ok() || (n.v.tenant == b.v.tenant && n.v.encap == b.v.encap));
    if (!same || !n.same_buffer(b))
      fail(name + " decap differs on " + what + " (nvo " + describe(n.v) + ", baseline " + describe(b.v) + ")");
    if (!n.v.ok() && !n.same_buffer(run_one(in, [](auto, auto) {})))
      fail(name + " decap changed a dropped packet: " + what);
    return n.v.ok() ? n.packet() : frame{};
  }
  bool delivered(const frame& in, const std::string& what) { return !check_decap(in, what).empty(); }

  // The frame with its checksums made valid again after a corruption, so
  // the checks behind them are reached too.
  static frame with_checksums(frame f) {
    const w::bytes b(f);
    constexpr std::size_t l4 = baseline_t::l4;
    if (f.size() < l4 + 20) return f;
    if (!v6) {
      w::store_be16(b, 24, 0);
      w::store_be16(b, 24, w::checksum_finalize(w::checksum_accumulate(b.subspan(14, 20))));
    }
    const std::size_t seg = f.size() - l4;
    const auto pseudo = w::pseudo_header_sum(v6 ? sender6 : sender4, v6 ? receiver6 : receiver4,
                                             baseline_t::protocol, static_cast<std::uint32_t>(seg));
    if (kind == encapsulation::stt) {
      w::store_be16(b, l4 + 16, 0);
      w::store_be16(b, l4 + 16, w::tcp::checksum_field(pseudo, b.subspan(l4)));
    } else if (kind == encapsulation::vxlan && v6) {
      w::store_be16(b, l4 + 6, 0);
      w::store_be16(b, l4 + 6, w::udp::checksum_field(pseudo, b.subspan(l4)));
    }
    return f;
  }

  void self_check() override {
    // Encap: the benchmark frames (twice: the IPv4 id wraps), the odd ones.
    for (int round = 0; round < 2; ++round) {
      for (std::size_t i = 0; i < inner_frames.size(); ++i) check_encap(inner_frames[i], "frame " + std::to_string(i));
    }
    const auto odd = odd_inner_frames();
    for (std::size_t i = 0; i < odd.size(); ++i) check_encap(odd[i], "odd frame " + std::to_string(i));

    // Decap: nvo's encapsulations round-trip on both sides...
    for (std::size_t i = 0; i < outer_frames.size(); ++i) {
      if (check_decap(outer_frames[i], "frame " + std::to_string(i)) != inner_frames[i])
        fail(name + ": benchmark frame " + std::to_string(i) + " did not decapsulate to its inner frame");
    }
    std::size_t rejected = 0, checked = 0;
    // ... every outer ECN under every inner one ...
    for (std::uint8_t outer = 0; outer < 4; ++outer) {
      for (std::size_t i = 0; i < 4; ++i) {  // inner frames 0..3 carry ECN 0..3
        frame f = outer_frames[i];
        if (v6) w::store_u8(w::bytes(f), 15, static_cast<std::uint8_t>((w::load_u8(f, 15) & 0xCF) | outer << 4));
        else w::store_u8(w::bytes(f), 15, static_cast<std::uint8_t>((w::load_u8(f, 15) & 0xFC) | outer));
        f = with_checksums(f);
        rejected += !delivered(f, "outer ECN " + std::to_string(outer) + " inner " + std::to_string(i));
        ++checked;
      }
    }
    if (rejected != 1) fail(name + ": Not-ECT under CE must be the one ECN drop");
    // ... every outer header byte (and the inner Ethernet header) corrupted,
    // as is and with valid checksums, and every truncation.
    const frame& base = outer_frames[1];
    const std::size_t headers = std::min(base.size(), baseline_t::size + 18);
    const std::size_t dst = v6 ? 14 + 24 : 14 + 16;
    for (std::size_t i = 0; i < headers; ++i) {
      for (std::uint8_t x : {0x01, 0x08, 0x10, 0x80, 0xFF}) {
        frame m = base;
        m[i] ^= static_cast<std::byte>(x);
        const std::string what = "byte " + std::to_string(i) + " ^ " + std::to_string(x);
        const bool as_is = delivered(m, what);
        const bool fixed = delivered(with_checksums(m), what + " (checksums fixed)");
        // Another outer destination is never this VTEP's packet.
        if (i >= dst && i < dst + (v6 ? 16 : 4) && (as_is || fixed)) fail(name + ": not-local " + what + " accepted");
        rejected += !as_is + !fixed;
        checked += 2;
      }
    }
    for (std::size_t len = 0; len < base.size(); len += len < headers ? 1 : 97) {
      rejected += !delivered(frame(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(len)), "truncated");
      ++checked;
    }
    std::fprintf(stderr, "pipeline_benchmark self-check: %s: %zu odd inner frames, %zu outer variants (%zu rejected)\n",
                 name.c_str(), odd.size(), checked, rejected);
    reset_sides();
  }
};

std::vector<std::unique_ptr<case_base>> make_cases() {
  namespace e = np::encap;
  namespace u = np::underlay;
  std::vector<std::unique_ptr<case_base>> v;
  const auto add = [&]<class E, class U>(E, U, const char* n64, const char* n1500) {
    v.push_back(std::make_unique<case_impl<E, U>>(n64, 64));
    v.push_back(std::make_unique<case_impl<E, U>>(n1500, 1500));
  };
  add(e::vxlan{}, u::ipv4{}, "vxlan4_64", "vxlan4_1500");
  add(e::vxlan{}, u::ipv6{}, "vxlan6_64", "vxlan6_1500");
  add(e::nvgre{}, u::ipv4{}, "nvgre4_64", "nvgre4_1500");
  add(e::nvgre{}, u::ipv6{}, "nvgre6_64", "nvgre6_1500");
  add(e::stt{}, u::ipv4{}, "stt4_64", "stt4_1500");
  add(e::stt{}, u::ipv6{}, "stt6_64", "stt6_1500");
  return v;
}

// ---------------------------------------------------------------------------
// Timing.
void set_counters(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * burst));
  state.counters["ns_per_pkt"] =
      benchmark::Counter(burst, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Each iteration times 64 bursts of nvo, then 64 of the baseline, and keeps
// the ratio; nvo_over_baseline is the median ratio (pairing cancels the drift
// of a shared machine, as in wire_benchmark).
void paired(benchmark::State& state, const std::function<std::size_t()>& nvo, const std::function<std::size_t()>& base) {
  using clock = std::chrono::steady_clock;
  constexpr int rounds = 64;
  std::vector<double> ratios;
  for (auto _ : state) {
    const auto t0 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(nvo());
    const auto t1 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(base());
    const auto t2 = clock::now();
    ratios.push_back(std::chrono::duration<double>(t1 - t0) / std::chrono::duration<double>(t2 - t1));
  }
  state.counters["nvo_over_baseline"] = median(std::move(ratios));
}

void register_side_by_side(const std::string& op, const std::string& name, std::function<std::size_t()> nvo,
                           std::function<std::size_t()> base) {
  const auto timed = [](std::function<std::size_t()> fn) {
    return [fn](benchmark::State& s) {
      for (auto _ : s) benchmark::DoNotOptimize(fn());
      set_counters(s);
    };
  };
  benchmark::RegisterBenchmark((op + "/nvo/" + name).c_str(), timed(nvo));
  benchmark::RegisterBenchmark((op + "/baseline/" + name).c_str(), timed(base));
  benchmark::RegisterBenchmark((op + "Paired/nvo_over_baseline/" + name).c_str(),
                               [nvo, base](benchmark::State& s) { paired(s, nvo, base); });
}

// ---------------------------------------------------------------------------
// The whole job: L2 table lookup + encapsulation, VXLAN over IPv4, 64-B frames.
class whole_job {
 public:
  using fdb_t = nt::l2_forwarding_table<>;
  using l2_pipeline = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>,
                                         np::policy::underlay<np::underlay::ipv4>,
                                         np::policy::lookup<np::lookup::l2<fdb_t>>,
                                         np::policy::entropy<np::entropy::crc32c>,
                                         np::policy::checksum<np::checksum::zero_udp>>;
  using fixed_t = fixed_pipeline<np::encap::vxlan, np::underlay::ipv4>;
  static constexpr std::size_t remotes = 16;
  static constexpr std::size_t probe_count = 1 << 20;

  explicit whole_job(std::size_t entries) : fdb_(table_options(entries)) {
    std::mt19937_64 rng(entries);
    std::vector<w::mac_address> macs;
    macs.reserve(entries);
    for (std::size_t r = 0; r < remotes; ++r) {
      if (!templates_.set(endpoint_config_for(encapsulation::vxlan, sender4, remote(r))).ok()) fail("template");
    }
    while (macs.size() < entries) {
      const auto mac = w::mac_address::from_u64((rng() & 0xFEFFFFFFFFFFull) | 0x020000000000ull);
      const nt::tunnel_endpoint ep{.provider = remote(macs.size() % remotes), .tunnel_id = tenant};
      if (fdb_.lookup(tenant, mac)) continue;
      if (!fdb_.add_static(tenant, mac, ep).ok()) fail("table insert");
      macs.push_back(mac);
    }
    probes_.resize(probe_count);
    for (auto& p : probes_) p = macs[rng() % entries];
    std::vector<frame> frames;
    for (std::size_t i = 0; i < burst; ++i) frames.push_back(make_inner(64, static_cast<std::uint32_t>(i)));
    frames_ = std::make_unique<packet_set>(frames);
    whole_ = std::make_unique<l2_pipeline>(options_for(sender4), np::lookup::l2<fdb_t>(fdb_), templates_);
    fixed_ = std::make_unique<fixed_t>(
        options_for(sender4), np::lookup::fixed(nt::tunnel_endpoint{.provider = remote(0), .tunnel_id = tenant}),
        templates_);
    check();
  }

  std::size_t run_whole() {
    const w::mac_address* p = next_probes();
    for (std::size_t i = 0; i < burst; ++i) {
      (*frames_)[i].reset(headroom, 64);
      std::memcpy((*frames_)[i].data(), p[i].octets.data(), 6);
    }
    return whole_->encapsulate(frames_->burst_span(), tenant, verdicts_);
  }
  std::uint64_t run_lookup() {
    const w::mac_address* p = next_probes();
    std::array<nt::l2_key, burst> keys;
    for (std::size_t i = 0; i < burst; ++i) keys[i] = nt::l2_key::make(tenant, p[i]);
    const std::uint64_t hits = fdb_.lookup_bulk(keys, eps_);
    return hits + eps_[burst - 1].provider.octets[3];
  }
  std::size_t run_encap() {
    frames_->reset();
    return fixed_->encapsulate(frames_->burst_span(), tenant, verdicts_);
  }

 private:
  static nt::l2_options table_options(std::size_t entries) {
    nt::l2_options o;
    o.entries.capacity = entries + entries / 8;
    o.entries.grow = false;
    return o;
  }
  static w::ip_address remote(std::size_t r) {
    return w::ipv4_address{{10, 1, 0, static_cast<std::uint8_t>(r + 1)}};
  }
  const w::mac_address* next_probes() {
    const w::mac_address* p = probes_.data() + pos_;
    pos_ = (pos_ + burst) % probe_count;
    return p;
  }
  // Every frame is forwarded to the remote its dst MAC's entry names.
  void check() {
    const std::size_t start = pos_;
    const w::mac_address* p = probes_.data() + pos_;
    if (run_whole() != burst) fail("whole job: a frame was not forwarded");
    for (std::size_t i = 0; i < burst; ++i) {
      const auto ep = fdb_.lookup(tenant, p[i]);
      const buffer& b = (*frames_)[i];
      if (!ep || b.size() != 64 + 50 || std::memcmp(b.data() + 30, ep->provider.octets.data(), 4) != 0 ||
          std::memcmp(b.data() + 50, p[i].octets.data(), 6) != 0)
        fail("whole job: frame " + std::to_string(i) + " went to the wrong endpoint");
    }
    pos_ = start;
  }

  fdb_t fdb_;
  np::endpoint_templates<> templates_;
  std::vector<w::mac_address> probes_;
  std::size_t pos_ = 0;
  std::unique_ptr<packet_set> frames_;
  std::unique_ptr<l2_pipeline> whole_;
  std::unique_ptr<fixed_t> fixed_;
  std::array<verdict, burst> verdicts_{};
  std::array<nt::tunnel_endpoint, burst> eps_{};
};

// Each iteration: 16 bursts of the whole job, 16 of the lookup alone, 16 of
// the fixed encapsulation alone. The table is built on first use (1M entries
// take seconds), so a filtered run skips it.
void pipeline_whole(benchmark::State& state, std::size_t entries) {
  static std::vector<std::pair<std::size_t, std::unique_ptr<whole_job>>> jobs;
  auto it = std::find_if(jobs.begin(), jobs.end(), [&](const auto& j) { return j.first == entries; });
  if (it == jobs.end()) it = jobs.insert(jobs.end(), {entries, std::make_unique<whole_job>(entries)});
  whole_job& job = *it->second;
  using clock = std::chrono::steady_clock;
  constexpr int rounds = 16;
  constexpr double packets = rounds * burst;
  std::vector<double> whole, lookup, encap, ratio;
  for (auto _ : state) {
    const auto t0 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(job.run_whole());
    const auto t1 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(job.run_lookup());
    const auto t2 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(job.run_encap());
    const auto t3 = clock::now();
    const std::chrono::duration<double, std::nano> a = t1 - t0, b = t2 - t1, c = t3 - t2;
    whole.push_back(a.count() / packets);
    lookup.push_back(b.count() / packets);
    encap.push_back(c.count() / packets);
    ratio.push_back(a / (b + c));
  }
  const double ns = median(std::move(whole));
  state.counters["ns_per_pkt"] = ns;
  state.counters["Mpps"] = 1e3 / ns;
  state.counters["lookup_ns"] = median(std::move(lookup));
  state.counters["encap_ns"] = median(std::move(encap));
  state.counters["whole_over_parts"] = median(std::move(ratio));
}

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("sse4.2")) {
    std::fprintf(stderr, "pipeline_benchmark: the baseline's CRC32C needs SSE4.2\n");
    return 1;
  }
  auto cases = make_cases();
  for (const auto& c : cases) c->self_check();
  for (const auto& c : cases) {
    case_base* p = c.get();
    register_side_by_side("Encap", c->name, [p] { return p->encap_nvo(); }, [p] { return p->encap_baseline(); });
  }
  for (const auto& c : cases) {
    case_base* p = c.get();
    register_side_by_side("Decap", c->name, [p] { return p->decap_nvo(); }, [p] { return p->decap_baseline(); });
  }
  for (const std::size_t entries : {std::size_t{65536}, std::size_t{1048576}}) {
    benchmark::RegisterBenchmark(("Pipeline/nvo/vxlan4_64/" + std::to_string(entries)).c_str(),
                                 [entries](benchmark::State& s) { pipeline_whole(s, entries); });
  }
  nvo_bench::add_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
