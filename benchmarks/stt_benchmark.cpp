// STT segmentation and reassembly (nvo/stt/) beside DPDK's GSO and GRO, all in
// one binary so the ratios are same-run ratios.
//
// The frame: an inner Ethernet + IPv4 + TCP packet carrying 9000 or 65000 bytes
// of TCP payload (the <size> in every row), cut for a 1500-byte underlay MTU.
// GB/s is that payload over the time per frame; ns/segment divides the time
// by the row's own segment count (STT carries 1460 frame bytes per segment;
// VXLAN over the same MTU carries 1410 payload bytes, so GSO cuts more).
//
//   SttSegment/nvo            full software: template copy, fused copy-and-
//                             checksum per segment, header patches, TCP checksum
//   SttSegment/nvo_offload    the TSO super-segment: headers into headroom only
//   SttSegment/dpdk_gso       rte_gso_segment of the VXLAN-TCP4 packet (header
//                             mbuf + indirect payload mbuf per segment, no copy,
//                             no checksum), output mbufs freed per frame
//   SttSegment/memcpy         what nvo does minus checksums and patches: the
//                             template and each payload slice copied
//   SttSegment/copy_checksum  the fused copy-and-checksum kernel over each
//                             segment's payload slice, nothing else: nvo's floor
//   SttReassemble/nvo         nvo's segments fed in order to a reassembler as
//                             one receive burst (add_burst), into one
//                             contiguous frame
//   SttReassemble/nvo_shuffled  the same segments in a fixed random order
//   SttReassemble/copy        each segment's payload copied to its offset in
//                             one buffer with the same kernel, nothing else:
//                             the reassembler's floor
//   SttReassemble/dpdk_gro    rte_gro_reassemble_burst (lightweight mode) on the
//                             equivalent VXLAN-TCP4 segments: chains mbufs, no
//                             copy. GRO rewrites the first segment's headers and
//                             trims the others, so each frame starts by
//                             restoring the segments' headers and mbuf fields,
//                             which is inside the timing (see dpdk_gro_reset).
//   SttReassemble/dpdk_gro_reset  that restore alone, to subtract
//   SttSegmentPaired/nvo_vs_{copy_checksum,dpdk_gso}, SttReassemblePaired/
//   nvo_vs_dpdk_gro  the ratios measured in alternation (see
//                             paired() below): nvo_throughput_ratio
//
// Self-checks run first and abort on a mismatch: nvo's segments pass
// wire::dissect (checksums verified), reassemble to the frame in both orders,
// memcpy/copy_checksum write the same payload bytes, GSO yields the expected
// segments and GRO merges them back into one packet of the original length.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bench_context.hpp"
#include "nvo/simd/checksum.hpp"
#include "nvo/stt/stt.hpp"
#include "nvo/wire/wire.hpp"

#ifdef NVO_BENCH_DPDK
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_gro.h>
#include <rte_gso.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#endif

namespace {

namespace w = nvo::wire;
namespace stt = nvo::stt;
using byte_vector = std::vector<std::byte>;

constexpr std::size_t underlay_mtu = 1500;
constexpr std::size_t inner_headers = w::ethernet::header_size + 20 + 20;
constexpr std::array<std::int64_t, 2> payload_sizes{9000, 65000};

[[noreturn]] void mismatch(const char* what, std::size_t size) {
  std::fprintf(stderr, "stt_benchmark self-check failed: %s (payload %zu)\n", what, size);
  std::abort();
}

void put_ethernet(w::bytes out, std::uint16_t ethertype) {
  w::ethernet::header e;
  e.dst = w::mac_address::from_u64(0x020000000002);
  e.src = w::mac_address::from_u64(0x020000000001);
  e.ethertype = ethertype;
  (void)w::ethernet::encode(e, out);
}

void put_ipv4(w::bytes out, std::uint8_t protocol, std::size_t total, std::uint8_t last_octet) {
  w::ipv4::header ip;
  ip.total_length = static_cast<std::uint16_t>(total);
  ip.flags_fragment_offset = w::ipv4::flag_dont_fragment;
  ip.protocol = protocol;
  ip.src = {{10, 0, 0, last_octet}};
  ip.dst = {{10, 0, 1, last_octet}};
  (void)w::ipv4::encode(ip, out);
}

// Ethernet + IPv4 + TCP (+ payload), as the VM sent it.
byte_vector inner_frame(std::size_t payload) {
  byte_vector f(inner_headers + payload);
  const w::bytes b(f);
  put_ethernet(b, w::ethernet::ethertype_ipv4);
  put_ipv4(b.subspan(14), w::ipv4::protocol_tcp, 40 + payload, 1);
  w::tcp::header t;
  t.src_port = 40000;
  t.dst_port = 80;
  t.seq = 1000;
  t.flags = w::tcp::flag_ack;
  t.window = 65535;
  (void)w::tcp::encode(t, b.subspan(34));
  for (std::size_t i = 0; i < payload; ++i) f[inner_headers + i] = static_cast<std::byte>(i * 7 + 3);
  return f;
}

struct stt_data {
  std::size_t payload = 0;
  byte_vector inner;
  stt::segment_template tpl;
  stt::frame_params params;
  std::size_t count = 0;
  std::vector<byte_vector> ring;  // one buffer per segment
  std::vector<stt::rx_segment> in_order, shuffled;  // views into ring after a segment() run
};

stt_data make_stt_data(std::size_t payload) {
  stt_data d;
  d.payload = payload;
  d.inner = inner_frame(payload);
  byte_vector headers(14 + 20 + 20);
  put_ethernet(headers, w::ethernet::ethertype_ipv4);
  put_ipv4(w::bytes(headers).subspan(14), w::ipv4::protocol_tcp, 40, 9);
  w::tcp::header t;
  t.dst_port = w::stt::default_port;
  (void)w::tcp::encode(t, w::bytes(headers).subspan(34));
  d.tpl = *stt::make_segment_template(headers, underlay_mtu);
  d.params.src_port = 51234;
  d.params.header.flags = w::stt::flag_ipv4 | w::stt::flag_tcp | stt::checksum_flags(stt::inner_checksum::partial);
  d.params.header.l4_offset = 34;
  d.params.header.context_id = 42;
  d.count = stt::segment_count(d.tpl, d.inner.size());
  d.ring.assign(d.count, byte_vector(stt::max_segment_size(d.tpl)));
  return d;
}

stt_data& stt_for(std::size_t payload) {
  static std::map<std::size_t, stt_data> cache;
  auto it = cache.find(payload);
  if (it == cache.end()) it = cache.emplace(payload, make_stt_data(payload)).first;
  return it->second;
}

// Segments d.inner into d.ring; returns the frame description.
stt::segmented segment_into_ring(stt::segmenter& s, stt_data& d) {
  std::size_t i = 0;
  const auto r = s.segment(d.tpl, d.params, d.inner, [&](std::size_t) noexcept { return w::bytes(d.ring[i++]); });
  if (!r) mismatch("segment", d.payload);
  return *r;
}

void report(benchmark::State& state, std::size_t payload, std::size_t segments) {
  const auto it = static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(it * static_cast<double>(payload) / 1e9, benchmark::Counter::kIsRate);
  state.counters["ns/segment"] = benchmark::Counter(it * static_cast<double>(segments) / 1e9,
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["segments"] = static_cast<double>(segments);
}

// ---- segmentation ---------------------------------------------------------------

// One frame of each row; the paired rows below time the same calls.
NVO_ALWAYS_INLINE void segment_frame(stt::segmenter& s, stt_data& d) {
  std::size_t i = 0;
  auto r = s.segment(d.tpl, d.params, d.inner, [&](std::size_t) noexcept { return w::bytes(d.ring[i++]); });
  benchmark::DoNotOptimize(r);
  benchmark::ClobberMemory();
}

void SttSegment_nvo(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  stt::segmenter s(0, 8, 1);
  for (auto _ : state) segment_frame(s, d);
  report(state, d.payload, d.count);
}

void SttSegment_nvo_offload(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  stt::segmenter s(0, 8, 1);
  byte_vector buffer(stt::offload_header_size(d.tpl));  // the headroom before the inner frame
  buffer.insert(buffer.end(), d.inner.begin(), d.inner.end());
  std::size_t segments = 0;
  for (auto _ : state) {
    auto m = s.segment_offload(d.tpl, d.params, d.inner.size(), buffer);
    segments = m->segments;
    benchmark::DoNotOptimize(m);
    benchmark::ClobberMemory();
  }
  report(state, d.payload, segments);
}

// The template and the payload slices, copied where nvo puts them.
NVO_ALWAYS_INLINE void copy_segments(stt_data& d, bool checksum, std::uint64_t& sum) {
  const auto* kernels = &nvo::simd::active_checksum_kernels();
  const std::size_t length = d.inner.size() + w::stt::frame_header_size;
  const std::size_t mss = d.tpl.segment_payload;
  const std::byte* src = d.inner.data();
  std::size_t i = 0;
  for (std::size_t off = 0; off < length; off += mss, ++i) {
    std::size_t n = std::min(mss, length - off);
    std::byte* out = d.ring[i].data() + d.tpl.tcp_offset + 20;
    if (off == 0) {
      out += w::stt::frame_header_size;
      n -= w::stt::frame_header_size;
    }
    if (checksum) {
      sum += kernels->copy_accumulate(out, src, n, 0);
    } else {
      stt::detail::copy_headers(d.ring[i].data(), d.tpl.headers.data(), d.tpl.size);  // as nvo copies them
      std::memcpy(out, src, n);
    }
    src += n;
  }
}

void SttSegment_memcpy(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  std::uint64_t sum = 0;
  for (auto _ : state) {
    copy_segments(d, false, sum);
    benchmark::ClobberMemory();
  }
  report(state, d.payload, d.count);
}

NVO_ALWAYS_INLINE void copy_checksum_frame(stt_data& d, std::uint64_t& sum) {
  copy_segments(d, true, sum);
  benchmark::DoNotOptimize(sum);
  benchmark::ClobberMemory();
}

void SttSegment_copy_checksum(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  std::uint64_t sum = 0;
  for (auto _ : state) copy_checksum_frame(d, sum);
  report(state, d.payload, d.count);
}

// ---- reassembly -----------------------------------------------------------------

// d.ring holds a segmented frame; fills d.in_order and d.shuffled with its views.
void prepare_rx(stt_data& d) {
  if (!d.in_order.empty()) return;
  stt::segmenter s(0, 8, 2);
  const auto info = segment_into_ring(s, d);
  for (std::size_t i = 0; i < d.count; ++i) {
    const w::const_bytes f = w::const_bytes(d.ring[i]).first(stt::segment_size(d.tpl, d.inner.size(), i));
    auto dis = w::dissect(f);
    if (!dis || dis->stt.frame_id != info.frame_id) mismatch("nvo segment does not dissect", d.payload);
    d.in_order.push_back(stt::rx_segment_of(*dis));
  }
  d.shuffled = d.in_order;
  std::mt19937_64 rng(7);
  std::shuffle(d.shuffled.begin(), d.shuffled.end(), rng);
}

void check_reassembled(const stt::add_result& r, const stt_data& d) {
  if (r.status != stt::outcome::completed || r.frame.inner().size() != d.inner.size() ||
      !std::equal(d.inner.begin(), d.inner.end(), r.frame.inner().begin()) || r.frame.header != d.params.header)
    mismatch("nvo reassembly differs from the frame", d.payload);
}

// A receive burst, like GRO's.
NVO_ALWAYS_INLINE void reassemble_frame(stt::reassembler& r, const std::vector<stt::rx_segment>& order) {
  const std::byte* frame = nullptr;
  r.add_burst(order, std::chrono::nanoseconds{0}, [&](std::size_t, const stt::add_result& a) noexcept {
    if (a.status == stt::outcome::completed) frame = a.frame.frame.data();
  });
  benchmark::DoNotOptimize(frame);
}

void reassemble_bench(benchmark::State& state, bool shuffled) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  prepare_rx(d);
  const auto& order = shuffled ? d.shuffled : d.in_order;
  stt::reassembler r;
  const std::chrono::nanoseconds now{0};
  std::size_t results = 0;
  r.add_burst(order, now, [&](std::size_t i, const stt::add_result& a) noexcept {
    if (i + 1 != order.size()) mismatch("nvo reassembly ended early", d.payload);
    check_reassembled(a, d);
    ++results;
  });
  if (results != 1) mismatch("nvo reassembly did not complete", d.payload);
  for (auto _ : state) reassemble_frame(r, order);
  if (r.counters().completed != static_cast<std::uint64_t>(state.iterations()) + 1) mismatch("a frame did not complete", d.payload);
  report(state, d.payload, order.size());
}

void SttReassemble_nvo(benchmark::State& state) { reassemble_bench(state, false); }
void SttReassemble_nvo_shuffled(benchmark::State& state) { reassemble_bench(state, true); }

// Each segment's payload copied to its offset in one frame buffer with the
// kernel the reassembler uses, nothing else: the reassembler's floor.
void SttReassemble_copy(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  prepare_rx(d);
  const auto* kernels = &nvo::simd::active_checksum_kernels();
  byte_vector frame(stt::max_frame_length);
  for (auto _ : state) {
    for (const auto& s : d.in_order) kernels->copy(frame.data() + s.fragment_offset, s.payload.data(), s.payload.size());
    benchmark::ClobberMemory();
  }
  report(state, d.payload, d.in_order.size());
}

// ---- DPDK -----------------------------------------------------------------------

#ifdef NVO_BENCH_DPDK
constexpr std::size_t vxlan_headers = 14 + 20 + 8 + 8;  // outer Ethernet, IPv4, UDP, VXLAN
constexpr std::uint16_t gso_size = underlay_mtu + 14;  // whole output frames, Ethernet included

struct dpdk_data {
  std::size_t payload = 0;
  rte_mbuf* packet = nullptr;                // the VXLAN-TCP4 packet GSO cuts
  std::vector<byte_vector> segments;         // GSO's output, flattened: GRO's input
  std::vector<rte_mbuf*> gro_mbufs;          // one per segment, refilled per frame
  std::size_t gso_count = 0;
};

rte_mempool* pool(const char* name, unsigned n, std::uint16_t room) {
  rte_mempool* p = rte_pktmbuf_pool_create(name, n, 0, 0, room, SOCKET_ID_ANY);
  if (p == nullptr) mismatch("rte_pktmbuf_pool_create", 0);
  return p;
}
rte_mempool* big_pool() {
  static rte_mempool* p = pool("stt_big", 16, 65535);
  return p;
}
rte_mempool* direct_pool() {
  static rte_mempool* p = pool("stt_direct", 2048, RTE_MBUF_DEFAULT_BUF_SIZE);
  return p;
}
rte_mempool* indirect_pool() {
  static rte_mempool* p = pool("stt_indirect", 2048, 0);
  return p;
}

rte_gso_ctx gso_context() {
  rte_gso_ctx c{};
  c.direct_pool = direct_pool();
  c.indirect_pool = indirect_pool();
  c.gso_types = RTE_ETH_TX_OFFLOAD_VXLAN_TNL_TSO;
  c.gso_size = gso_size;
  return c;
}

constexpr std::uint64_t gso_flags =
    RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_IPV4;
constexpr std::uint32_t vxlan_tcp4_ptype = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP |
                                           RTE_PTYPE_TUNNEL_VXLAN | RTE_PTYPE_INNER_L2_ETHER |
                                           RTE_PTYPE_INNER_L3_IPV4 | RTE_PTYPE_INNER_L4_TCP;

void set_lengths(rte_mbuf* m) {
  m->outer_l2_len = 14;
  m->outer_l3_len = 20;
  m->l2_len = 8 + 8 + 14;  // DPDK's tunnel convention: UDP + VXLAN + inner Ethernet
  m->l3_len = 20;
  m->l4_len = 20;
}

// The same inner packet as STT carries, VXLAN-encapsulated.
dpdk_data make_dpdk_data(std::size_t payload) {
  dpdk_data d;
  d.payload = payload;
  const byte_vector inner = inner_frame(payload);
  byte_vector f(vxlan_headers + inner.size());
  const w::bytes b(f);
  put_ethernet(b, w::ethernet::ethertype_ipv4);
  put_ipv4(b.subspan(14), w::ipv4::protocol_udp, f.size() - 14, 9);
  (void)w::udp::encode({51234, w::vxlan::default_port, static_cast<std::uint16_t>(f.size() - 34), 0}, b.subspan(34));
  (void)w::vxlan::encode({.vni = 42}, b.subspan(42));
  std::copy(inner.begin(), inner.end(), f.begin() + vxlan_headers);
  d.packet = rte_pktmbuf_alloc(big_pool());
  if (d.packet == nullptr || rte_pktmbuf_tailroom(d.packet) < f.size()) mismatch("big mbuf", payload);
  std::memcpy(rte_pktmbuf_append(d.packet, static_cast<std::uint16_t>(f.size())), f.data(), f.size());
  set_lengths(d.packet);
  d.packet->ol_flags = gso_flags;

  // GSO once, for the count and GRO's input.
  const rte_gso_ctx ctx = gso_context();
  std::array<rte_mbuf*, 128> out{};
  const int n = rte_gso_segment(d.packet, &ctx, out.data(), static_cast<std::uint16_t>(out.size()));
  if (n <= 1) mismatch("rte_gso_segment", payload);
  d.gso_count = static_cast<std::size_t>(n);
  std::size_t carried = 0;
  for (int i = 0; i < n; ++i) {
    byte_vector s(rte_pktmbuf_pkt_len(out[i]));
    const void* bytes = rte_pktmbuf_read(out[i], 0, static_cast<std::uint32_t>(s.size()), s.data());
    if (bytes != s.data()) std::memcpy(s.data(), bytes, s.size());  // contiguous: a pointer into the mbuf
    if (s.size() > gso_size) mismatch("GSO segment above gso_size", payload);
    carried += s.size() - vxlan_headers - inner_headers;
    d.segments.push_back(std::move(s));
    rte_pktmbuf_free(out[i]);
  }
  if (carried != payload) mismatch("GSO segments do not carry the payload", payload);
  for (std::size_t i = 0; i < d.segments.size(); ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(direct_pool());
    if (m == nullptr) mismatch("rte_pktmbuf_alloc", payload);
    d.gro_mbufs.push_back(m);
  }
  return d;
}

dpdk_data& dpdk_for(std::size_t payload) {
  static std::map<std::size_t, dpdk_data> cache;
  auto it = cache.find(payload);
  if (it == cache.end()) it = cache.emplace(payload, make_dpdk_data(payload)).first;
  return it->second;
}

NVO_ALWAYS_INLINE void gso_frame(dpdk_data& d, const rte_gso_ctx& ctx, std::array<rte_mbuf*, 128>& out) {
  d.packet->ol_flags = gso_flags;  // rte_gso_segment clears TCP_SEG on the input
  const int n = rte_gso_segment(d.packet, &ctx, out.data(), static_cast<std::uint16_t>(out.size()));
  for (int i = 0; i < n; ++i) rte_pktmbuf_free(out[i]);
  benchmark::DoNotOptimize(n);
}

void SttSegment_dpdk_gso(benchmark::State& state) {
  dpdk_data& d = dpdk_for(static_cast<std::size_t>(state.range(0)));
  const rte_gso_ctx ctx = gso_context();
  std::array<rte_mbuf*, 128> out{};
  for (auto _ : state) gso_frame(d, ctx, out);
  report(state, d.payload, d.gso_count);
}

// Restores GRO's input: every segment a single fresh mbuf with its headers.
NVO_ALWAYS_INLINE void gro_reset(dpdk_data& d, bool full_copy) {
  for (std::size_t i = 0; i < d.segments.size(); ++i) {
    rte_mbuf* m = d.gro_mbufs[i];
    const byte_vector& s = d.segments[i];
    m->data_off = RTE_PKTMBUF_HEADROOM;
    m->next = nullptr;
    m->nb_segs = 1;
    m->data_len = static_cast<std::uint16_t>(s.size());
    m->pkt_len = static_cast<std::uint32_t>(s.size());
    m->packet_type = vxlan_tcp4_ptype;
    set_lengths(m);
    std::memcpy(rte_pktmbuf_mtod(m, void*), s.data(), full_copy ? s.size() : vxlan_headers + inner_headers);
  }
}

std::uint16_t gro_frame(dpdk_data& d) {
  rte_gro_param p{};
  p.gro_types = RTE_GRO_IPV4_VXLAN_TCP_IPV4;
  p.max_flow_num = 4;
  p.max_item_per_flow = 64;
  return rte_gro_reassemble_burst(d.gro_mbufs.data(), static_cast<std::uint16_t>(d.gro_mbufs.size()), &p);
}

NVO_ALWAYS_INLINE void gro_timed_frame(dpdk_data& d) {
  gro_reset(d, false);  // the payload bytes are never touched by GRO
  benchmark::DoNotOptimize(gro_frame(d));
}

void SttReassemble_dpdk_gro(benchmark::State& state) {
  dpdk_data& d = dpdk_for(static_cast<std::size_t>(state.range(0)));
  gro_reset(d, true);
  for (auto _ : state) gro_timed_frame(d);
  report(state, d.payload, d.segments.size());
}

void SttReassemble_dpdk_gro_reset(benchmark::State& state) {
  dpdk_data& d = dpdk_for(static_cast<std::size_t>(state.range(0)));
  gro_reset(d, true);
  for (auto _ : state) {
    gro_reset(d, false);
    benchmark::ClobberMemory();
  }
  report(state, d.payload, d.segments.size());
}

void dpdk_self_check(std::size_t payload) {
  dpdk_data& d = dpdk_for(payload);
  gro_reset(d, true);
  if (gro_frame(d) != 1) mismatch("GRO left more than one packet", payload);
  const rte_mbuf* m = d.gro_mbufs[0];
  if (rte_pktmbuf_pkt_len(m) != vxlan_headers + inner_headers + payload || m->nb_segs != d.segments.size())
    mismatch("GRO packet length", payload);
}
#endif  // NVO_BENCH_DPDK

// ---- paired rows -------------------------------------------------------------
// <Op>Paired/nvo_vs_<peer>/<size>: each iteration times 64 frames of nvo, then
// 64 of the peer, the same calls as their rows, and keeps peer time / nvo
// time; nvo_throughput_ratio is the median (higher is better for nvo). Pairing
// cancels the drift of a shared machine, as pipeline_benchmark's rows do.
template <class Nvo, class Peer>
void paired(benchmark::State& state, Nvo&& nvo, Peer&& peer) {
  using clock = std::chrono::steady_clock;
  constexpr int rounds = 64;
  std::vector<double> ratios;
  for (auto _ : state) {
    const auto t0 = clock::now();
    for (int i = 0; i < rounds; ++i) nvo();
    const auto t1 = clock::now();
    for (int i = 0; i < rounds; ++i) peer();
    const auto t2 = clock::now();
    ratios.push_back(std::chrono::duration<double>(t2 - t1) / std::chrono::duration<double>(t1 - t0));
  }
  std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2), ratios.end());
  state.counters["nvo_throughput_ratio"] = ratios[ratios.size() / 2];
}

void SttSegmentPaired_copy_checksum(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  stt::segmenter s(0, 8, 1);
  std::uint64_t sum = 0;
  paired(state, [&] { segment_frame(s, d); }, [&] { copy_checksum_frame(d, sum); });
}

#ifdef NVO_BENCH_DPDK
void SttSegmentPaired_dpdk_gso(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  dpdk_data& g = dpdk_for(d.payload);
  stt::segmenter s(0, 8, 1);
  const rte_gso_ctx ctx = gso_context();
  std::array<rte_mbuf*, 128> out{};
  paired(state, [&] { segment_frame(s, d); }, [&] { gso_frame(g, ctx, out); });
}

void SttReassemblePaired_dpdk_gro(benchmark::State& state) {
  stt_data& d = stt_for(static_cast<std::size_t>(state.range(0)));
  prepare_rx(d);
  dpdk_data& g = dpdk_for(d.payload);
  gro_reset(g, true);
  stt::reassembler r;
  paired(state, [&] { reassemble_frame(r, d.in_order); }, [&] { gro_timed_frame(g); });
  if (r.counters().completed == 0) mismatch("a frame did not complete", d.payload);
}
#endif

void self_check() {
  for (const std::int64_t size : payload_sizes) {
    const auto payload = static_cast<std::size_t>(size);
    stt_data& d = stt_for(payload);
    prepare_rx(d);  // dissects every segment: IPv4 and TCP checksums verified
    for (const auto* order : {&d.in_order, &d.shuffled}) {
      stt::reassembler r;
      stt::add_result last;
      for (const auto& s : *order) last = r.add(s, std::chrono::nanoseconds{0});
      check_reassembled(last, d);
    }
    // memcpy and copy_checksum put the same payload bytes where nvo did.
    const std::vector<byte_vector> nvo_ring = d.ring;
    for (const bool checksum : {false, true}) {
      for (auto& b : d.ring) std::fill(b.begin(), b.end(), std::byte{0});
      std::uint64_t sum = 0;
      copy_segments(d, checksum, sum);
      const std::size_t from = d.tpl.tcp_offset + 20;
      for (std::size_t i = 0; i < d.count; ++i) {
        const std::size_t end = stt::segment_size(d.tpl, d.inner.size(), i);
        const std::size_t skip = i == 0 ? from + w::stt::frame_header_size : from;
        if (!std::equal(d.ring[i].begin() + static_cast<std::ptrdiff_t>(skip),
                        d.ring[i].begin() + static_cast<std::ptrdiff_t>(end),
                        nvo_ring[i].begin() + static_cast<std::ptrdiff_t>(skip)))
          mismatch(checksum ? "copy_checksum payload" : "memcpy payload", payload);
      }
    }
    d.ring = nvo_ring;  // in_order/shuffled view the buffers' bytes, not the vectors: keep them intact
#ifdef NVO_BENCH_DPDK
    dpdk_self_check(payload);
#endif
  }
}

void sizes(benchmark::internal::Benchmark* b) {
  for (const auto s : payload_sizes) b->Arg(s);
}

BENCHMARK(SttSegment_nvo)->Name("SttSegment/nvo")->Apply(sizes);
BENCHMARK(SttSegment_nvo_offload)->Name("SttSegment/nvo_offload")->Apply(sizes);
#ifdef NVO_BENCH_DPDK
BENCHMARK(SttSegment_dpdk_gso)->Name("SttSegment/dpdk_gso")->Apply(sizes);
#endif
BENCHMARK(SttSegment_memcpy)->Name("SttSegment/memcpy")->Apply(sizes);
BENCHMARK(SttSegment_copy_checksum)->Name("SttSegment/copy_checksum")->Apply(sizes);
BENCHMARK(SttReassemble_nvo)->Name("SttReassemble/nvo")->Apply(sizes);
BENCHMARK(SttReassemble_copy)->Name("SttReassemble/copy")->Apply(sizes);
BENCHMARK(SttReassemble_nvo_shuffled)->Name("SttReassemble/nvo_shuffled")->Apply(sizes);
#ifdef NVO_BENCH_DPDK
BENCHMARK(SttReassemble_dpdk_gro)->Name("SttReassemble/dpdk_gro")->Apply(sizes);
BENCHMARK(SttReassemble_dpdk_gro_reset)->Name("SttReassemble/dpdk_gro_reset")->Apply(sizes);
BENCHMARK(SttSegmentPaired_dpdk_gso)->Name("SttSegmentPaired/nvo_vs_dpdk_gso")->Apply(sizes);
BENCHMARK(SttReassemblePaired_dpdk_gro)->Name("SttReassemblePaired/nvo_vs_dpdk_gro")->Apply(sizes);
#endif
BENCHMARK(SttSegmentPaired_copy_checksum)->Name("SttSegmentPaired/nvo_vs_copy_checksum")->Apply(sizes);

}  // namespace

int main(int argc, char** argv) {
#ifdef NVO_BENCH_DPDK
  std::vector<std::string> eal_args = {"stt_benchmark", "--no-huge",   "--no-pci",
                                       "--no-telemetry", "-m",         "1024",
                                       "--no-shconf",    "--log-level=lib.eal:error", "--lcores=0@(0,1)"};
  std::vector<char*> eal_argv;
  for (auto& a : eal_args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
#endif
  self_check();
  nvo_bench::add_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
