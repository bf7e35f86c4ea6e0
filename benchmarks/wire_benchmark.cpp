// wire::dissect and the tunnel-header parsers beside a hand-written baseline
// that does the same validation with raw memcpy loads and byte swaps, the way
// a vswitch decap path is written today. A header-only library should cost
// nothing over that: the target is dissect <= 1.1x the baseline's time.
//
// Names: <Operation>/<impl>/<case>, impl in {nvo, baseline}; the Dissect case
// is <encap><ip family>_<inner frame bytes>. Each iteration handles a burst of
// 32 frames; the ns_per_pkt counter is time per frame.
// DissectPaired/ and ParsePaired/nvo_over_baseline/<case> run both in
// alternation and report the median time ratio, the figure to quote on a noisy
// machine.
//
// Checksums (IPv4 header, UDP over IPv6, STT's TCP segment) go through the same
// scalar wire::checksum_accumulate in both implementations, so the comparison
// measures parsing and validation overhead, not two checksum kernels.
//
// Before timing, main() checks that both implementations accept and reject the
// same frames and report the same fields, on every benchmark input and on
// thousands of corrupted and truncated variants, and aborts otherwise.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_context.hpp"
#include "nvo/wire/wire.hpp"

namespace {

using namespace nvo::wire;

constexpr std::size_t burst = 32;

// ---------------------------------------------------------------------------
// The hand-written baseline.
namespace baseline {

struct options {
  std::uint16_t vxlan_port = 4789;
  bool strict = true;
  bool accept_zero_udp6_checksum = false;
};

struct output {
  encapsulation encap = encapsulation::none;
  std::uint8_t ip_version = 0;
  std::array<std::uint8_t, 16> src{};
  std::array<std::uint8_t, 16> dst{};
  std::uint8_t tos = 0;
  std::uint8_t ttl = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t vni = 0;
  std::uint32_t vsid = 0;
  std::uint8_t flow_id = 0;
  std::uint16_t gre_reserved0 = 0;
  std::uint16_t stt_frame_length = 0;
  std::uint16_t stt_fragment_offset = 0;
  std::uint32_t stt_frame_id = 0;
  bool has_stt_frame_header = false;
  std::uint8_t stt_flags = 0;
  std::uint8_t stt_l4_offset = 0;
  std::uint8_t stt_reserved = 0;
  std::uint16_t stt_mss = 0;
  std::uint16_t stt_vlan_tci = 0;
  std::uint64_t stt_context_id = 0;
  std::uint16_t stt_padding = 0;
  const std::byte* inner = nullptr;
  std::size_t inner_size = 0;
};

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
inline bool sum_ok(const std::byte* p, std::size_t n, std::uint64_t initial) {
  return checksum_fold(checksum_accumulate({p, n}, initial)) == 0xFFFF;
}

// The pseudo-header sum is only computed where a checksum is verified.
inline std::uint64_t pseudo_sum(const_bytes addresses, std::uint8_t protocol, std::size_t l4_size) {
  return checksum_accumulate(addresses, protocol + l4_size);
}

inline bool vxlan(const std::byte* l4, std::size_t n, bool v6, const_bytes addresses, const options& opt,
                  output& o) {
  if (n < 8) return false;
  o.src_port = be16(l4);
  o.dst_port = be16(l4 + 2);
  if (o.dst_port != opt.vxlan_port) return true;
  const std::uint16_t length = be16(l4 + 4);
  if (length < 8 || length != n) return false;
  if (be16(l4 + 6) == 0) {
    if (v6 && !opt.accept_zero_udp6_checksum) return false;
  } else if (!sum_ok(l4, n, pseudo_sum(addresses, 17, n))) {
    return false;
  }
  if (n < 16) return false;
  const std::uint32_t w0 = be32(l4 + 8);
  const std::uint32_t w1 = be32(l4 + 12);
  if ((w0 & 0x08000000) == 0) return false;
  if (opt.strict && (w0 != 0x08000000 || (w1 & 0xFF) != 0)) return false;
  if (n < 16 + 14) return false;
  o.encap = encapsulation::vxlan;
  o.vni = w1 >> 8;
  o.inner = l4 + 16;
  o.inner_size = n - 16;
  return true;
}

inline bool nvgre(const std::byte* l4, std::size_t n, const options& opt, output& o) {
  if (n < 4) return false;
  const std::uint32_t w = be32(l4);
  if ((w & 0xFFFF) != 0x6558) return true;  // only TEB makes GRE an NVGRE candidate
  // RFC 7637: K=1, C=S=0, version 0, no RFC 2784 must-be-zero bits.
  const std::uint16_t flags = static_cast<std::uint16_t>(w >> 16);
  if ((flags & ~std::uint16_t{0x03F8}) != 0x2000) return false;
  if (opt.strict && (flags & 0x03F8) != 0) return false;
  if (n < 8 + 14) return false;
  const std::byte* inner = l4 + 8;
  const std::uint16_t inner_type = be16(inner + 12);
  if (inner_type == 0x8100 || inner_type == 0x88A8) return false;  // RFC 7637 3.3
  const std::uint32_t key = be32(l4 + 4);
  o.encap = encapsulation::nvgre;
  o.vsid = key >> 8;
  o.flow_id = static_cast<std::uint8_t>(key);
  o.gre_reserved0 = flags & 0x03F8;
  o.inner = inner;
  o.inner_size = n - 8;
  return true;
}

inline bool stt(const std::byte* l4, std::size_t n, const_bytes addresses, const options& opt, output& o) {
  if (n < 20) return false;
  o.src_port = be16(l4);
  o.dst_port = be16(l4 + 2);
  if (o.dst_port != 7471) return true;
  if ((u8(l4 + 12) >> 4) != 5) return false;
  if (!sum_ok(l4, n, pseudo_sum(addresses, 6, n))) return false;
  const std::size_t payload = n - 20;
  const std::uint32_t seq = be32(l4 + 4);
  const std::uint16_t frame_length = static_cast<std::uint16_t>(seq >> 16);
  const std::uint16_t offset = static_cast<std::uint16_t>(seq);
  if (payload == 0) return false;
  if (frame_length < 18 || offset + payload > frame_length) return false;
  o.encap = encapsulation::stt;
  o.stt_frame_length = frame_length;
  o.stt_fragment_offset = offset;
  o.stt_frame_id = be32(l4 + 8);
  o.inner = l4 + 20;
  o.inner_size = payload;
  if (offset != 0) return true;
  if (payload < 18) return false;
  const std::byte* fh = l4 + 20;
  if (u8(fh) != 0) return false;
  const std::uint8_t flags = u8(fh + 1);
  const std::uint8_t reserved = u8(fh + 3);
  const std::uint16_t padding = be16(fh + 16);
  if (opt.strict && ((flags & 0xF0) != 0 || reserved != 0 || padding != 0 || (flags & 0x03) == 0x03)) return false;
  if (payload < 18 + 14) return false;
  o.has_stt_frame_header = true;
  o.stt_flags = flags;
  o.stt_l4_offset = u8(fh + 2);
  o.stt_reserved = reserved;
  o.stt_mss = be16(fh + 4);
  o.stt_vlan_tci = be16(fh + 6);
  o.stt_context_id = be64(fh + 8);
  o.stt_padding = padding;
  o.inner = fh + 18;
  o.inner_size = payload - 18;
  return true;
}

inline bool ipv6_extension(std::uint8_t next) {
  switch (next) {
    case 0: case 43: case 44: case 50: case 51: case 60: case 135: case 139: case 140: case 253: case 254:
      return true;
    default:
      return false;
  }
}

// Returns false to drop; o.encap says what was found.
inline bool dissect(const_bytes frame, const options& opt, output& o) {
  o = output{};
  const std::byte* p = frame.data();
  const std::size_t n = frame.size();
  if (n < 14) return false;
  std::uint16_t ethertype = be16(p + 12);
  std::size_t l2 = 14;
  if (ethertype == 0x8100) {
    if (n < 18) return false;
    ethertype = be16(p + 16);
    l2 = 18;
  }
  const std::byte* l3 = p + l2;
  const std::size_t l3_size = n - l2;
  const std::byte* l4;
  std::size_t l4_size;
  std::uint8_t protocol;
  const_bytes addresses;
  if (ethertype == 0x0800) {
    if (l3_size < 20) return false;
    const std::uint8_t vihl = u8(l3);
    if ((vihl >> 4) != 4) return false;
    const std::size_t ihl = std::size_t{vihl & 0x0Fu} * 4;
    if (ihl < 20 || ihl > l3_size) return false;
    const std::uint16_t total = be16(l3 + 2);
    if (total < ihl || total > l3_size) return false;
    if (!sum_ok(l3, ihl, 0)) return false;
    protocol = u8(l3 + 9);
    if ((protocol == 17 || protocol == 47 || protocol == 6) && (be16(l3 + 6) & 0x3FFF) != 0) return false;
    o.ip_version = 4;
    std::memcpy(o.src.data(), l3 + 12, 4);
    std::memcpy(o.dst.data(), l3 + 16, 4);
    o.tos = u8(l3 + 1);
    o.ttl = u8(l3 + 8);
    l4 = l3 + ihl;
    l4_size = total - ihl;
    addresses = {l3 + 12, 8};
  } else if (ethertype == 0x86DD) {
    if (l3_size < 40) return false;
    const std::uint32_t w = be32(l3);
    if ((w >> 28) != 6) return false;
    const std::uint16_t payload = be16(l3 + 4);
    if (payload == 0 || payload > l3_size - 40) return false;
    protocol = u8(l3 + 6);
    if (ipv6_extension(protocol)) return false;
    o.ip_version = 6;
    std::memcpy(o.src.data(), l3 + 8, 16);
    std::memcpy(o.dst.data(), l3 + 24, 16);
    o.tos = static_cast<std::uint8_t>(w >> 20);
    o.ttl = u8(l3 + 7);
    l4 = l3 + 40;
    l4_size = payload;
    addresses = {l3 + 8, 32};
  } else {
    return true;
  }
  if (protocol == 17) return vxlan(l4, l4_size, o.ip_version == 6, addresses, opt, o);
  if (protocol == 47) return nvgre(l4, l4_size, opt, o);
  if (protocol == 6) return stt(l4, l4_size, addresses, opt, o);
  return true;
}

// Tunnel header alone, as vxlan::parse / nvgre::parse / stt::parse_frame_header.
inline bool parse_vxlan(const_bytes h, std::uint32_t& vni) {
  if (h.size() < 8) return false;
  const std::byte* p = h.data();
  const std::uint32_t w0 = be32(p);
  const std::uint32_t w1 = be32(p + 4);
  vni = w1 >> 8;
  return w0 == 0x08000000 && (w1 & 0xFF) == 0;
}
inline bool parse_nvgre(const_bytes h, std::uint32_t& vsid) {
  if (h.size() < 8) return false;
  const std::byte* p = h.data();
  vsid = be32(p + 4) >> 8;
  return be32(p) == 0x20006558;
}
inline bool parse_stt(const_bytes h, std::uint64_t& context) {
  if (h.size() < 18) return false;
  const std::byte* p = h.data();
  context = be64(p + 8);
  const std::uint8_t flags = u8(p + 1);
  return u8(p) == 0 && (flags & 0xF0) == 0 && u8(p + 3) == 0 && be16(p + 16) == 0 && (flags & 0x03) != 0x03;
}

}  // namespace baseline

// ---------------------------------------------------------------------------
// Inputs.
enum class kind { vxlan, nvgre, stt };

constexpr std::array<std::uint8_t, 4> v4_src{10, 0, 0, 1};
constexpr std::array<std::uint8_t, 4> v4_dst{10, 0, 0, 2};

ip_address outer_address(bool v6, std::uint8_t last, bool dst) {
  if (!v6) return ipv4_address{dst ? v4_dst : v4_src};
  ipv6_address a{{0x20, 0x01, 0x0d, 0xb8}};
  a.octets[15] = last;
  a.octets[14] = dst ? 2 : 1;
  return a;
}

// A realistic outer frame: the inner frame is Ethernet + IPv4 + UDP of inner_size bytes.
std::vector<std::byte> build_frame(kind k, bool v6, std::size_t inner_size, std::uint32_t seed) {
  const std::size_t tunnel = k == kind::vxlan ? 16 : k == kind::nvgre ? 8 : 20 + 18;
  const std::size_t l3_header = v6 ? 40 : 20;
  const std::size_t l4_size = tunnel + inner_size;
  std::vector<std::byte> f(14 + l3_header + l4_size);
  const bytes out(f);

  ethernet::header eth;
  eth.dst = mac_address::from_u64(0x02'00'00'00'00'01);
  eth.src = mac_address::from_u64(0x02'00'00'00'00'02);
  eth.ethertype = v6 ? ethernet::ethertype_ipv6 : ethernet::ethertype_ipv4;
  (void)ethernet::encode(eth, out);

  const std::uint8_t protocol = k == kind::vxlan ? 17 : k == kind::nvgre ? 47 : 6;
  const auto src = outer_address(v6, static_cast<std::uint8_t>(seed), false);
  const auto dst = outer_address(v6, static_cast<std::uint8_t>(seed), true);
  if (v6) {
    ipv6::header ip;
    ip.payload_length = static_cast<std::uint16_t>(l4_size);
    ip.next_header = protocol;
    ip.src = src.v6();
    ip.dst = dst.v6();
    (void)ipv6::encode(ip, out.subspan(14));
  } else {
    ipv4::header ip;
    ip.total_length = static_cast<std::uint16_t>(20 + l4_size);
    ip.identification = static_cast<std::uint16_t>(seed);
    ip.flags_fragment_offset = ipv4::flag_dont_fragment;
    ip.protocol = protocol;
    ip.src = src.v4();
    ip.dst = dst.v4();
    (void)ipv4::encode(ip, out.subspan(14));
  }
  const bytes l4 = out.subspan(14 + l3_header);
  const bytes inner = l4.subspan(tunnel);
  ethernet::header ieth;
  ieth.dst = mac_address::from_u64(0x02'00'00'00'10'00 + seed);
  ieth.src = mac_address::from_u64(0x02'00'00'00'20'00 + seed);
  ieth.ethertype = ethernet::ethertype_ipv4;
  (void)ethernet::encode(ieth, inner);
  for (std::size_t i = 14; i < inner.size(); ++i) inner[i] = static_cast<std::byte>(i * 7 + seed);

  const std::uint64_t pseudo = pseudo_header_sum(src, dst, protocol, static_cast<std::uint32_t>(l4_size));
  switch (k) {
    case kind::vxlan: {
      (void)udp::encode({static_cast<std::uint16_t>(49152 + seed), vxlan::default_port,
                         static_cast<std::uint16_t>(l4_size), 0},
                        l4);
      (void)vxlan::encode({vxlan::flag_i, 0, 0x1000 + seed, 0}, l4.subspan(8));
      // RFC 7348: zero checksum over IPv4; IPv6 needs a real one (RFC 6935).
      if (v6) store_be16(l4, 6, udp::checksum_field(pseudo, l4));
      break;
    }
    case kind::nvgre:
      (void)nvgre::encode({0x2000 + seed, static_cast<std::uint8_t>(seed), 0}, l4);
      break;
    case kind::stt: {
      stt::segment s;
      s.src_port = static_cast<std::uint16_t>(49152 + seed);
      s.frame_length = static_cast<std::uint16_t>(18 + inner_size);
      s.frame_id = seed;
      (void)tcp::encode(stt::tcp_header_of(s, true), l4);
      stt::frame_header fh;
      fh.flags = stt::flag_ipv4;
      fh.l4_offset = 34;
      fh.mss = 1448;
      fh.context_id = 0xC0'0000'0000ull + seed;
      (void)stt::encode_frame_header(fh, l4.subspan(20));
      store_be16(l4, 16, tcp::checksum_field(pseudo, l4));
      break;
    }
  }
  return f;
}

// 32 frames of one case, each at a cache-line-aligned offset in one arena.
struct frame_burst {
  std::vector<std::byte> arena;
  std::array<const_bytes, burst> frames;
  std::size_t tunnel_offset = 0;  // of the tunnel header (VXLAN/NVGRE) or STT frame header

  frame_burst(kind k, bool v6, std::size_t inner_size) {
    std::vector<std::vector<std::byte>> built;
    std::size_t stride = 0;
    for (std::size_t i = 0; i < burst; ++i) {
      built.push_back(build_frame(k, v6, inner_size, static_cast<std::uint32_t>(i)));
      stride = std::max(stride, (built.back().size() + 63) / 64 * 64);
    }
    arena.resize(stride * burst + 64);
    auto base = reinterpret_cast<std::uintptr_t>(arena.data());
    std::byte* p = arena.data() + ((64 - base % 64) % 64);
    for (std::size_t i = 0; i < burst; ++i) {
      std::memcpy(p + i * stride, built[i].data(), built[i].size());
      frames[i] = const_bytes(p + i * stride, built[i].size());
    }
    tunnel_offset = 14 + (v6 ? 40 : 20) + (k == kind::vxlan ? 8 : k == kind::stt ? 20 : 0);
  }
};

// ---------------------------------------------------------------------------
// Self-check: both implementations must agree, field by field.
bool same(const result<dissection>& n, bool b_ok, const baseline::output& b) {
  if (n.has_value() != b_ok) return false;
  if (!b_ok) return true;
  const dissection& d = *n;
  const std::size_t alen = d.ip_version == 6 ? 16 : d.ip_version == 4 ? 4 : 0;
  const bool addresses = d.outer_src.version == d.ip_version && d.outer_dst.version == d.ip_version &&
                         std::equal(b.src.begin(), b.src.begin() + alen, d.outer_src.octets.begin()) &&
                         std::equal(b.dst.begin(), b.dst.begin() + alen, d.outer_dst.octets.begin());
  const bool stt_ok = !b.has_stt_frame_header ||
                      (d.stt_frame.flags == b.stt_flags && d.stt_frame.l4_offset == b.stt_l4_offset &&
                       d.stt_frame.reserved == b.stt_reserved && d.stt_frame.mss == b.stt_mss &&
                       d.stt_frame.vlan_tci == b.stt_vlan_tci && d.stt_frame.context_id == b.stt_context_id &&
                       d.stt_frame.padding == b.stt_padding);
  return d.encap == b.encap && d.ip_version == b.ip_version && addresses && (alen == 0 || (d.outer_tos == b.tos &&
         d.outer_ttl == b.ttl)) && d.src_port == b.src_port && d.dst_port == b.dst_port &&
         d.vni == b.vni && d.nvgre.vsid == b.vsid && d.nvgre.flow_id == b.flow_id &&
         d.nvgre.reserved0 == b.gre_reserved0 && d.stt.frame_length == b.stt_frame_length &&
         d.stt.fragment_offset == b.stt_fragment_offset && d.stt.frame_id == b.stt_frame_id &&
         d.has_stt_frame_header == b.has_stt_frame_header && stt_ok &&
         (d.encap == encapsulation::none || (d.inner.data() == b.inner && d.inner.size() == b.inner_size));
}

struct option_pair {
  dissect_options nvo;
  baseline::options base;
};

std::vector<option_pair> all_options() {
  std::vector<option_pair> v;
  for (const bool strict : {true, false}) {
    for (const bool zero6 : {false, true}) {
      option_pair o;
      o.nvo.reserved = strict ? reserved_bits::strict : reserved_bits::ignore;
      o.nvo.accept_zero_udp6_checksum = zero6;
      o.base.strict = strict;
      o.base.accept_zero_udp6_checksum = zero6;
      v.push_back(o);
    }
  }
  return v;
}

// Returns the number of frames (of those checked) that both accepted as tunnels.
std::size_t check_agree(const_bytes frame, const std::string& what) {
  std::size_t tunnels = 0;
  for (const auto& o : all_options()) {
    const auto n = dissect(frame, o.nvo);
    baseline::output b;
    const bool ok = baseline::dissect(frame, o.base, b);
    if (!same(n, ok, b)) {
      std::fprintf(stderr, "wire_benchmark self-check: nvo and baseline disagree on %s (nvo %s, baseline %s)\n",
                   what.c_str(), n ? std::string(to_string(n->encap)).c_str() : std::string(to_string(n.error())).c_str(),
                   ok ? "accept" : "drop");
      std::abort();
    }
    tunnels += ok && b.encap != encapsulation::none;
  }
  return tunnels;
}

struct bench_case {
  const char* name;
  kind k;
  bool v6;
  std::size_t inner_size;
};

constexpr std::array<bench_case, 12> cases{{
    {"vxlan4_64", kind::vxlan, false, 64},   {"vxlan4_1500", kind::vxlan, false, 1500},
    {"vxlan6_64", kind::vxlan, true, 64},    {"vxlan6_1500", kind::vxlan, true, 1500},
    {"nvgre4_64", kind::nvgre, false, 64},   {"nvgre4_1500", kind::nvgre, false, 1500},
    {"nvgre6_64", kind::nvgre, true, 64},    {"nvgre6_1500", kind::nvgre, true, 1500},
    {"stt4_64", kind::stt, false, 64},       {"stt4_1500", kind::stt, false, 1500},
    {"stt6_64", kind::stt, true, 64},        {"stt6_1500", kind::stt, true, 1500},
}};

// The tunnel-header parsers (strict policy) on a benchmark header and every
// single-byte corruption and truncation of it. Returns the variants checked.
std::size_t check_parsers() {
  std::size_t checked = 0;
  const auto agree = [&](const_bytes h, const char* what) {
    std::uint32_t vni = 0;
    std::uint32_t vsid = 0;
    std::uint64_t context = 0;
    const auto vx = vxlan::parse(h);
    const auto nv = nvgre::parse(h);
    const auto st = stt::parse_frame_header(h);
    const bool ok = vx.has_value() == baseline::parse_vxlan(h, vni) && (!vx || vx->vni == vni) &&
                    nv.has_value() == baseline::parse_nvgre(h, vsid) && (!nv || nv->vsid == vsid) &&
                    st.has_value() == baseline::parse_stt(h, context) && (!st || st->context_id == context);
    if (!ok) {
      std::fprintf(stderr, "wire_benchmark self-check: parsers disagree on a %s header\n", what);
      std::abort();
    }
    ++checked;
  };
  for (const auto& [k, what] : {std::pair{kind::vxlan, "vxlan"}, {kind::nvgre, "nvgre"}, {kind::stt, "stt"}}) {
    const frame_burst fb(k, false, 64);
    std::vector<std::byte> h(fb.frames[5].begin() + static_cast<std::ptrdiff_t>(fb.tunnel_offset),
                             fb.frames[5].begin() + static_cast<std::ptrdiff_t>(fb.tunnel_offset + 18));
    for (std::size_t len = 0; len <= h.size(); ++len) agree(const_bytes(h).first(len), what);
    for (std::size_t i = 0; i < h.size(); ++i) {
      for (const std::uint8_t x : {0x01, 0x08, 0x80}) {
        h[i] ^= static_cast<std::byte>(x);
        agree(h, what);
        h[i] ^= static_cast<std::byte>(x);
      }
    }
  }
  return checked;
}

// Every benchmark frame, then every single-byte corruption (two patterns) and
// truncation of a 64-byte-inner frame's headers, under every option mix.
void self_check() {
  std::size_t mutants = 0;
  for (const auto& c : cases) {
    const frame_burst fb(c.k, c.v6, c.inner_size);
    for (const auto f : fb.frames) {
      if (check_agree(f, c.name) != all_options().size()) {
        std::fprintf(stderr, "wire_benchmark self-check: %s frame not accepted\n", c.name);
        std::abort();
      }
    }
    if (c.inner_size != 64) continue;
    const const_bytes f = fb.frames[3];
    std::vector<std::byte> m(f.begin(), f.end());
    const std::size_t headers = fb.tunnel_offset + 18 + 14 + 4;
    for (std::size_t i = 0; i < headers && i < m.size(); ++i) {
      for (const std::uint8_t x : {0x01, 0x08, 0x10, 0x80, 0xFF}) {
        m[i] ^= static_cast<std::byte>(x);
        check_agree(m, std::string(c.name) + " byte " + std::to_string(i) + " ^ " + std::to_string(x));
        m[i] ^= static_cast<std::byte>(x);
        ++mutants;
      }
    }
    for (std::size_t len = 0; len < m.size(); ++len) {
      check_agree(const_bytes(m).first(len), std::string(c.name) + " truncated to " + std::to_string(len));
      ++mutants;
    }
  }
  mutants += check_parsers();
  std::fprintf(stderr, "wire_benchmark self-check: nvo == baseline on %zu frames and %zu corrupted variants\n",
               cases.size() * burst, mutants);
}

// ---------------------------------------------------------------------------
// Benchmarks. Both sides fold what a decap path uses next (the tunnel's
// identifier for its encapsulation, the outer source, the inner span) into a
// sink, so neither result can be discarded.
inline std::uint64_t fold(encapsulation e, std::uint64_t id, const std::uint8_t* src, const std::byte* inner,
                          std::size_t inner_size) {
  std::uint32_t s;
  std::memcpy(&s, src, 4);
  return static_cast<std::uint64_t>(e) + id + s + reinterpret_cast<std::uintptr_t>(inner) + inner_size;
}

template <class Vni, class Vsid, class Context>
inline std::uint64_t tunnel_id(encapsulation e, Vni vni, Vsid vsid, Context context) {
  switch (e) {
    case encapsulation::vxlan:
      return vni();
    case encapsulation::nvgre:
      return vsid();
    case encapsulation::stt:
      return context();
    case encapsulation::none:
      break;
  }
  return 0;
}

void set_counters(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * burst));
  state.counters["ns_per_pkt"] =
      benchmark::Counter(burst, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// One burst through each implementation; both fold the same fields.
inline std::uint64_t dissect_burst_nvo(const frame_burst& fb) {
  const dissect_options opt;
  std::uint64_t sink = 0;
  for (const auto f : fb.frames) {
    auto d = dissect(f, opt);  // non-const, as dissect.hpp advises for hot loops
    if (!d) {
      ++sink;
      continue;
    }
    const auto id = tunnel_id(
        d->encap, [&] { return d->vni; }, [&] { return d->nvgre.vsid; }, [&] { return d->stt_frame.context_id; });
    sink += fold(d->encap, id, d->outer_src.octets.data(), d->inner.data(), d->inner.size());
  }
  return sink;
}

inline std::uint64_t dissect_burst_baseline(const frame_burst& fb) {
  const baseline::options opt;
  std::uint64_t sink = 0;
  for (const auto f : fb.frames) {
    baseline::output o;
    if (!baseline::dissect(f, opt, o)) {
      ++sink;
      continue;
    }
    const auto id = tunnel_id(
        o.encap, [&] { return o.vni; }, [&] { return o.vsid; }, [&] { return o.stt_context_id; });
    sink += fold(o.encap, id, o.src.data(), o.inner, o.inner_size);
  }
  return sink;
}

// Each iteration times 64 bursts of nvo, then 64 of the baseline, and keeps the
// ratio; the nvo_over_baseline counter is the median ratio. Pairing within an
// iteration cancels the speed drift of a shared machine, which moves the
// separate nvo and baseline runs by 20-50 % from one minute to the next.
template <class Nvo, class Baseline>
void paired(benchmark::State& state, Nvo nvo, Baseline baseline) {
  using clock = std::chrono::steady_clock;
  constexpr int rounds = 64;
  std::vector<double> ratios;
  for (auto _ : state) {
    const auto t0 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(nvo());
    const auto t1 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(baseline());
    const auto t2 = clock::now();
    ratios.push_back(std::chrono::duration<double>(t1 - t0) / std::chrono::duration<double>(t2 - t1));
  }
  std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2), ratios.end());
  state.counters["nvo_over_baseline"] = ratios[ratios.size() / 2];
}

// The tunnel headers of one burst.
using header_burst = std::array<const_bytes, burst>;
header_burst tunnel_headers(const frame_burst& fb) {
  header_burst headers;
  for (std::size_t i = 0; i < burst; ++i) headers[i] = fb.frames[i].subspan(fb.tunnel_offset);
  return headers;
}

template <class Parse>
std::uint64_t parse_burst(const header_burst& headers, Parse parse) {
  std::uint64_t sink = 0;
  // A barrier per header: without it g++ vectorizes the hand-written loop
  // across the burst with AVX-512 gathers, which no per-packet decap does.
  for (const auto h : headers) {
    sink += parse(h);
    benchmark::DoNotOptimize(sink);
  }
  return sink;
}

// Each tunnel header parser beside its hand-written twin; both return the
// tunnel id, or 1 when the header is rejected.
struct parser_pair {
  const char* name;
  std::size_t burst_index;  // the 64-byte IPv4 case of the encapsulation
  std::uint64_t (*nvo)(const_bytes);
  std::uint64_t (*baseline)(const_bytes);
};

constexpr std::array<parser_pair, 3> parsers{{
    {"vxlan", 0,
     [](const_bytes h) -> std::uint64_t {
       auto r = vxlan::parse(h);
       return r ? r->vni : 1;
     },
     [](const_bytes h) -> std::uint64_t {
       std::uint32_t vni;
       return baseline::parse_vxlan(h, vni) ? vni : 1;
     }},
    {"nvgre", 4,
     [](const_bytes h) -> std::uint64_t {
       auto r = nvgre::parse(h);
       return r ? r->vsid : 1;
     },
     [](const_bytes h) -> std::uint64_t {
       std::uint32_t vsid;
       return baseline::parse_nvgre(h, vsid) ? vsid : 1;
     }},
    {"stt", 8,
     [](const_bytes h) -> std::uint64_t {
       auto r = stt::parse_frame_header(h);
       return r ? r->context_id : 1;
     },
     [](const_bytes h) -> std::uint64_t {
       std::uint64_t context;
       return baseline::parse_stt(h, context) ? context : 1;
     }},
}};

// <op>/nvo/<name>, <op>/baseline/<name> and <op>Paired/nvo_over_baseline/<name>
// for one burst function of each implementation.
template <class Nvo, class Baseline>
void register_side_by_side(const std::string& op, const std::string& name, Nvo nvo, Baseline base) {
  const auto timed = [](auto burst_fn) {
    return [burst_fn](benchmark::State& s) {
      for (auto _ : s) benchmark::DoNotOptimize(burst_fn());
      set_counters(s);
    };
  };
  benchmark::RegisterBenchmark((op + "/nvo/" + name).c_str(), timed(nvo));
  benchmark::RegisterBenchmark((op + "/baseline/" + name).c_str(), timed(base));
  benchmark::RegisterBenchmark((op + "Paired/nvo_over_baseline/" + name).c_str(),
                               [nvo, base](benchmark::State& s) { paired(s, nvo, base); });
}

template <std::size_t P>
void register_parser(const std::vector<frame_burst>& bursts) {
  const header_burst headers = tunnel_headers(bursts[parsers[P].burst_index]);
  register_side_by_side(
      "Parse", parsers[P].name, [headers] { return parse_burst(headers, parsers[P].nvo); },
      [headers] { return parse_burst(headers, parsers[P].baseline); });
}

void register_all(const std::vector<frame_burst>& bursts) {
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const frame_burst* fb = &bursts[i];
    register_side_by_side(
        "Dissect", cases[i].name, [fb] { return dissect_burst_nvo(*fb); },
        [fb] { return dissect_burst_baseline(*fb); });
  }
  register_parser<0>(bursts);
  register_parser<1>(bursts);
  register_parser<2>(bursts);
}

}  // namespace

int main(int argc, char** argv) {
  self_check();
  std::vector<frame_burst> bursts;
  bursts.reserve(cases.size());
  for (const auto& c : cases) bursts.emplace_back(c.k, c.v6, c.inner_size);
  register_all(bursts);
  nvo_bench::add_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
