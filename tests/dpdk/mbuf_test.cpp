// nvo::dpdk: the pipeline over rte_mbufs from an rte_pktmbuf_pool, with EAL
// started without hugepages or devices. Encap/decap through mbuf_buffer and
// the burst functions must give the plain pipeline::buffer pipeline's bytes and
// verdicts exactly; the offload metadata must be what DPDK itself reads
// (rte_validate_tx_offload, rte_net_intel_cksum_prepare) and completing the
// checksum as a NIC does must give the software-checksum packet. Refused
// mbufs, headroom exhaustion and RX checksum flags as the header says.
#include "nvo/dpdk/mbuf.hpp"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_tcp.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

#include "frames.hpp"

namespace {

using namespace pipeline_test;
namespace np = nvo::pipeline;
namespace nd = nvo::dpdk;
namespace tbl = nvo::table;
using w::encapsulation;

rte_mempool* pool = nullptr;  // created in main() once EAL is up
constexpr std::uint16_t jumbo_room = 10240;

const w::mac_address local_mac = w::mac_address::from_u64(0x02aa00000001);
const w::mac_address gateway_mac = w::mac_address::from_u64(0x02bb00000001);
const w::ip_address local4 = w::ipv4_address{{10, 0, 0, 1}};
const w::ip_address remote4 = w::ipv4_address{{10, 0, 0, 2}};
const w::ip_address local6 = v6(1);
const w::ip_address remote6 = v6(2);
constexpr std::uint32_t vni = 5001;

constexpr std::uint64_t tx_mask = RTE_MBUF_F_TX_OFFLOAD_MASK;

// Twin pipelines must agree on every byte, STT frame ids included, which start
// at a random value unless stt_seed fixes them.
np::pipeline_options options_at(const w::ip_address& a4, const w::ip_address& a6) {
  np::pipeline_options o;
  o.local_ipv4 = a4;
  o.local_ipv6 = a6;
  o.underlay_mtu = 9216;
  o.stt_seed = 1;
  return o;
}

// A frame in a fresh pool mbuf, `headroom` bytes in (the pool's default: 128).
rte_mbuf* make_mbuf(const bytes_vec& frame, std::uint16_t headroom = RTE_PKTMBUF_HEADROOM) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  m->data_off = headroom;
  char* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size()));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(p, frame.data(), frame.size());
  return m;
}

bytes_vec contents(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const std::byte*);
  return {p, p + m->data_len};
}

struct mbufs {
  std::vector<rte_mbuf*> v;
  mbufs() = default;
  mbufs(const mbufs&) = delete;
  mbufs& operator=(const mbufs&) = delete;
  ~mbufs() {
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
  }
  rte_mbuf* add(rte_mbuf* m) {
    v.push_back(m);
    return m;
  }
};

// Everything set_offload may write, for "unchanged" checks.
struct mbuf_state {
  std::uint16_t data_off, data_len;
  std::uint32_t pkt_len;
  std::uint64_t ol_flags, tx_offload;
  std::uint32_t packet_type;
  bytes_vec bytes;
  explicit mbuf_state(const rte_mbuf* m)
      : data_off(m->data_off), data_len(m->data_len), pkt_len(m->pkt_len), ol_flags(m->ol_flags),
        tx_offload(m->tx_offload), packet_type(m->packet_type), bytes(contents(m)) {}
  bool operator==(const mbuf_state&) const = default;
};

// The outer L4 header (where a NIC starts summing) by DPDK's own lengths.
std::size_t l4_start(const rte_mbuf* m) {
  return (m->ol_flags & (RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_OUTER_IPV6)) != 0
             ? std::size_t{m->outer_l2_len} + m->outer_l3_len
             : std::size_t{m->l2_len} + m->l3_len;
}

// Completes the checksum the way the requested NIC offload does (sum from the
// L4 header, over the pseudo-header sum in the field, to the end); returns the
// value rte_ipv4/ipv6_udptcp_cksum computes over the same packet with the field
// zeroed, which it must equal.
std::uint16_t complete_like_nic(rte_mbuf* m, bool udp, bool ipv4) {
  auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
  const std::size_t start = l4_start(m);
  const std::size_t field = start + (udp ? 6 : 16);
  std::uint16_t c = static_cast<std::uint16_t>(~rte_raw_cksum(p + start, m->data_len - start));
  if (udp && c == 0) c = 0xFFFF;
  std::memset(p + field, 0, 2);
  const void* ip = p + start - (ipv4 ? sizeof(rte_ipv4_hdr) : sizeof(rte_ipv6_hdr));
  const std::uint16_t dpdk = ipv4 ? rte_ipv4_udptcp_cksum(static_cast<const rte_ipv4_hdr*>(ip), p + start)
                                  : rte_ipv6_udptcp_cksum(static_cast<const rte_ipv6_hdr*>(ip), p + start);
  std::memcpy(p + field, &c, 2);
  return dpdk;
}

// The same completion on a plain buffer, from its offload_request.
void complete_plain(np::buffer& b) {
  const auto& o = b.offload();
  if (!o.l4_checksum_pending) return;
  const w::bytes f(b.data(), b.size());
  std::uint16_t c = w::checksum_finalize(w::checksum_accumulate(f.subspan(o.csum_start)));
  if (o.tunnel == encapsulation::vxlan && c == 0) c = 0xFFFF;
  w::store_be16(f, o.csum_start + o.csum_offset, c);
}

struct inner_case {
  kind k;
  std::size_t size;
  bool vlan;
};

std::vector<inner_case> inner_cases(encapsulation e) {
  std::vector<inner_case> cs;
  for (kind k : {kind::tcp4, kind::udp4, kind::icmp4, kind::tcp6, kind::udp6, kind::arp, kind::raw})
    for (std::size_t size : {60, 128, 1500, 9000})
      for (bool vlan : {false, true})
        if (!(vlan && e == encapsulation::nvgre)) cs.push_back({k, size, vlan});
  return cs;
}

bytes_vec make_case(const inner_case& c) {
  inner_spec s{.k = c.k, .size = c.size, .vlan = c.vlan, .tos = 0x2A, .seed = static_cast<std::uint8_t>(c.size)};
  if (c.k == kind::tcp6 || c.k == kind::udp6) s.src_ip = v6(10), s.dst_ip = v6(11);
  return make_inner(s);
}

// The DPDK lengths the header promises, from the inner frame's shape.
struct lengths {
  std::uint16_t outer_l2, outer_l3, l2, l3, l4;
};
lengths expected_lengths(encapsulation e, bool six, const inner_case& c) {
  const std::uint16_t ip = six ? 40 : 20;
  if (e == encapsulation::stt) return {0, 0, 14, ip, 20};
  const auto inner_l2 = static_cast<std::uint16_t>(c.vlan ? 18 : 14);
  const bool v4 = c.k == kind::tcp4 || c.k == kind::udp4 || c.k == kind::icmp4;
  const bool v6 = c.k == kind::tcp6 || c.k == kind::udp6;
  const std::uint16_t l3 = v4 ? 20 : v6 ? 40 : 0;
  const std::uint16_t l4 = c.k == kind::tcp4 || c.k == kind::tcp6 ? 20 : c.k == kind::udp4 || c.k == kind::udp6 ? 8 : 0;
  const std::uint16_t l2 = static_cast<std::uint16_t>((e == encapsulation::vxlan ? 16 : 8) + inner_l2);
  return {14, ip, l2, l3, l4};
}

std::uint64_t expected_tx_flags(encapsulation e, bool six, np::checksum_mode cm) {
  if (cm != np::checksum_mode::offload || e == encapsulation::nvgre) return 0;
  if (e == encapsulation::vxlan)
    return RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_UDP_CKSUM |
           (six ? RTE_MBUF_F_TX_OUTER_IPV6 : RTE_MBUF_F_TX_OUTER_IPV4);
  return RTE_MBUF_F_TX_TCP_CKSUM | (six ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
}

// ---------------------------------------------------------------------------
// Every encapsulation x underlay x checksum mode: mbufs vs plain buffers.

template <class Encap, class Underlay, class Checksum>
struct combo {
  using encap = Encap;
  using underlay = Underlay;
  using checksum = Checksum;
};

template <class C>
class MbufPipeline : public ::testing::Test {};
using combos = ::testing::Types<
    combo<np::encap::vxlan, np::underlay::ipv4, np::checksum::zero_udp>,
    combo<np::encap::vxlan, np::underlay::ipv4, np::checksum::software>,
    combo<np::encap::vxlan, np::underlay::ipv4, np::checksum::offload>,
    combo<np::encap::vxlan, np::underlay::ipv6, np::checksum::zero_udp>,
    combo<np::encap::vxlan, np::underlay::ipv6, np::checksum::software>,
    combo<np::encap::vxlan, np::underlay::ipv6, np::checksum::offload>,
    combo<np::encap::nvgre, np::underlay::ipv4, np::checksum::zero_udp>,
    combo<np::encap::nvgre, np::underlay::ipv4, np::checksum::software>,
    combo<np::encap::nvgre, np::underlay::ipv4, np::checksum::offload>,
    combo<np::encap::nvgre, np::underlay::ipv6, np::checksum::zero_udp>,
    combo<np::encap::nvgre, np::underlay::ipv6, np::checksum::software>,
    combo<np::encap::nvgre, np::underlay::ipv6, np::checksum::offload>,
    combo<np::encap::stt, np::underlay::ipv4, np::checksum::zero_udp>,
    combo<np::encap::stt, np::underlay::ipv4, np::checksum::software>,
    combo<np::encap::stt, np::underlay::ipv4, np::checksum::offload>,
    combo<np::encap::stt, np::underlay::ipv6, np::checksum::zero_udp>,
    combo<np::encap::stt, np::underlay::ipv6, np::checksum::software>,
    combo<np::encap::stt, np::underlay::ipv6, np::checksum::offload>>;
TYPED_TEST_SUITE(MbufPipeline, combos);

template <class C, class Checksum>
using sender_of = np::basic_pipeline<np::policy::encapsulation<typename C::encap>, np::policy::underlay<typename C::underlay>,
                                     np::policy::lookup<np::lookup::fixed>, np::policy::checksum<Checksum>>;
template <class C>
using receiver_of = np::basic_pipeline<np::policy::encapsulation<typename C::encap>,
                                       np::policy::underlay<typename C::underlay>, np::policy::lookup<np::lookup::fixed>>;

TYPED_TEST(MbufPipeline, MatchesThePlainBufferPipelineByteForByte) {
  using C = TypeParam;
  constexpr encapsulation e = C::encap::kind;
  constexpr bool six = std::is_same_v<typename C::underlay, np::underlay::ipv6>;
  constexpr np::checksum_mode cm = C::checksum::mode;
  const w::ip_address local = six ? local6 : local4;
  const w::ip_address remote = six ? remote6 : remote4;

  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set({.local = local, .remote = remote, .local_mac = local_mac, .next_hop_mac = gateway_mac, .encap = e}).ok());
  const tbl::tunnel_endpoint to_remote{.provider = remote, .encap = e, .flags = tbl::endpoint_flags::static_entry, .tunnel_id = vni};
  const tbl::tunnel_endpoint to_local{.provider = local, .encap = e, .flags = tbl::endpoint_flags::static_entry, .tunnel_id = vni};
  // Twins start from the same options, so IPv4 ids and STT frame ids agree.
  sender_of<C, typename C::checksum> plain_tx(options_at(local4, local6), np::lookup::fixed(to_remote), templates);
  sender_of<C, typename C::checksum> mbuf_tx(options_at(local4, local6), np::lookup::fixed(to_remote), templates);
  sender_of<C, np::checksum::software> software_tx(options_at(local4, local6), np::lookup::fixed(to_remote), templates);
  receiver_of<C> plain_rx(options_at(remote4, remote6), np::lookup::fixed(to_local), templates);
  receiver_of<C> mbuf_rx(options_at(remote4, remote6), np::lookup::fixed(to_local), templates);

  const std::vector<inner_case> cases = inner_cases(e);
  std::vector<bytes_vec> inners;
  std::vector<packet> plain;
  std::vector<packet> software;
  mbufs ms;
  plain.reserve(cases.size());
  software.reserve(cases.size());
  for (const inner_case& c : cases) {
    inners.push_back(make_case(c));
    plain.emplace_back(inners.back(), RTE_PKTMBUF_HEADROOM);
    software.emplace_back(inners.back(), RTE_PKTMBUF_HEADROOM);
    ASSERT_NE(ms.add(make_mbuf(inners.back())), nullptr);
  }
  const auto n = static_cast<std::uint16_t>(cases.size());

  std::vector<np::verdict> mv(n);
  std::size_t plain_forwarded = 0;
  EXPECT_EQ(nd::encapsulate_burst(mbuf_tx, ms.v.data(), n, vni, mv.data()), n);
  for (std::size_t i = 0; i < n; ++i) {
    SCOPED_TRACE(testing::Message() << "case " << i << ": kind " << int(cases[i].k) << " size " << cases[i].size
                                    << " vlan " << cases[i].vlan);
    const np::verdict pv = plain_tx.encapsulate(plain[i].buf, vni);
    plain_forwarded += pv.ok();
    ASSERT_EQ(pv, mv[i]) << np::to_string(mv[i].reason);
    ASSERT_TRUE(software_tx.encapsulate(software[i].buf, vni).ok());
    rte_mbuf* m = ms.v[i];
    ASSERT_EQ(contents(m), plain[i].bytes());
    EXPECT_EQ(rte_pktmbuf_headroom(m), plain[i].buf.headroom());
    EXPECT_EQ(m->pkt_len, m->data_len);

    // The metadata: the flags for this mode, the lengths for this frame.
    EXPECT_EQ(m->ol_flags & tx_mask, expected_tx_flags(e, six, cm));
    const lengths l = expected_lengths(e, six, cases[i]);
    EXPECT_EQ(m->outer_l2_len, l.outer_l2);
    EXPECT_EQ(m->outer_l3_len, l.outer_l3);
    EXPECT_EQ(m->l2_len, l.l2);
    EXPECT_EQ(m->l3_len, l.l3);
    EXPECT_EQ(m->l4_len, l.l4);
    EXPECT_EQ(m->tso_segsz, 0);
    EXPECT_EQ(rte_validate_tx_offload(m), 0);

    if (cm == np::checksum_mode::offload && e != encapsulation::nvgre) {
      const bool udp = e == encapsulation::vxlan;
      const std::size_t field = l4_start(m) + (udp ? 6 : 16);
      EXPECT_EQ(field, plain[i].buf.offload().csum_start + plain[i].buf.offload().csum_offset);
      // DPDK's own preparation, on a copy whose field is cleared first, writes
      // the pseudo-header sum the pipeline wrote.
      rte_mbuf* copy = ms.add(rte_pktmbuf_copy(m, pool, 0, UINT32_MAX));
      ASSERT_NE(copy, nullptr);
      std::memset(rte_pktmbuf_mtod_offset(copy, char*, field), 0, 2);
      ASSERT_EQ(rte_net_intel_cksum_prepare(copy), 0);
      EXPECT_EQ(contents(copy), contents(m));
      // Finished as the NIC would, it is the software-checksum packet.
      const std::uint16_t dpdk = complete_like_nic(m, udp, !six);
      EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod_offset(m, char*, field), &dpdk, 2), 0);
      complete_plain(plain[i].buf);
      EXPECT_EQ(contents(m), plain[i].bytes());
    }
    // Only VXLAN over IPv4 sends a zero checksum in zero_udp mode.
    if (cm != np::checksum_mode::zero_udp || e != encapsulation::vxlan || six) {
      EXPECT_EQ(contents(m), software[i].bytes());
    }
    auto d = w::dissect(w::const_bytes(plain[i].buf.data(), plain[i].buf.size()), {});
    ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
  }
  EXPECT_EQ(plain_forwarded, n);

  // Decapsulation: the same verdicts, the same inner frames, the input again.
  EXPECT_EQ(nd::decapsulate_burst(mbuf_rx, ms.v.data(), n, mv.data()), n);
  for (std::size_t i = 0; i < n; ++i) {
    SCOPED_TRACE(testing::Message() << "decap case " << i);
    const np::verdict pv = plain_rx.decapsulate(plain[i].buf);
    ASSERT_EQ(pv, mv[i]) << np::to_string(mv[i].reason) << " " << w::to_string(mv[i].error);
    EXPECT_EQ(contents(ms.v[i]), plain[i].bytes());
    EXPECT_EQ(contents(ms.v[i]), inners[i]);
    EXPECT_EQ(rte_pktmbuf_headroom(ms.v[i]), plain[i].buf.headroom());
  }
}

// ---------------------------------------------------------------------------

using vxlan4_offload = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::underlay<np::underlay::ipv4>,
                                          np::policy::lookup<np::lookup::fixed>, np::policy::checksum<np::checksum::offload>>;
using stt4_offload = np::basic_pipeline<np::policy::encapsulation<np::encap::stt>, np::policy::underlay<np::underlay::ipv4>,
                                        np::policy::lookup<np::lookup::fixed>, np::policy::checksum<np::checksum::offload>>;

struct fixture : ::testing::Test {
  np::endpoint_templates<> templates;
  void SetUp() override {
    for (encapsulation e : {encapsulation::vxlan, encapsulation::stt}) {
      ASSERT_TRUE(templates.set({.local = local4, .remote = remote4, .local_mac = local_mac, .next_hop_mac = gateway_mac, .encap = e}).ok());
      ASSERT_TRUE(templates.set({.local = remote4, .remote = local4, .local_mac = local_mac, .next_hop_mac = gateway_mac, .encap = e}).ok());
    }
  }
  static tbl::tunnel_endpoint to(const w::ip_address& pa, encapsulation e) {
    return {.provider = pa, .encap = e, .flags = tbl::endpoint_flags::static_entry, .tunnel_id = vni};
  }
  static bytes_vec frame(std::size_t size = 128) { return make_inner({.k = kind::tcp4, .size = size}); }
};

using Adapter = fixture;

TEST_F(Adapter, ChainedAndSharedMbufsAreRefused) {
  mbufs ms;
  rte_mbuf* head = ms.add(make_mbuf(frame()));
  rte_mbuf* tail = make_mbuf(frame());
  ASSERT_NE(head, nullptr);
  ASSERT_NE(tail, nullptr);
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);  // head owns tail now
  EXPECT_EQ(nd::adapt(head).error, nd::adapt_error::chained);
  EXPECT_FALSE(nd::adapt(head));
  EXPECT_NE(nd::to_string(nd::adapt_error::chained).find("nb_segs"), std::string_view::npos);

  rte_mbuf* original = ms.add(make_mbuf(frame()));
  ASSERT_NE(original, nullptr);
  rte_mbuf* clone = ms.add(rte_pktmbuf_clone(original, pool));
  ASSERT_NE(clone, nullptr);
  EXPECT_EQ(nd::adapt(clone).error, nd::adapt_error::shared);
  EXPECT_EQ(nd::adapt(original).error, nd::adapt_error::shared);  // refcnt 2: the clone reads its data

  rte_mbuf* fine = ms.add(make_mbuf(frame()));
  ASSERT_NE(fine, nullptr);
  const nd::adapt_result a = nd::adapt(fine);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.buffer.mbuf(), fine);

  // In a burst: the refused ones get the default verdict and stay as they were.
  vxlan4_offload p(options_at(local4, local6), np::lookup::fixed(to(remote4, encapsulation::vxlan)), templates);
  std::array<rte_mbuf*, 4> burst{head, fine, clone, original};
  const mbuf_state head_before(head), clone_before(clone), original_before(original);
  std::array<np::verdict, 4> v;
  EXPECT_EQ(nd::encapsulate_burst(p, burst.data(), 4, vni, v.data()), 1);
  EXPECT_EQ(v[0], np::verdict{});
  EXPECT_TRUE(v[1].ok());
  EXPECT_EQ(v[2], np::verdict{});
  EXPECT_EQ(v[3], np::verdict{});
  EXPECT_EQ(mbuf_state(head), head_before);
  EXPECT_EQ(mbuf_state(clone), clone_before);
  EXPECT_EQ(mbuf_state(original), original_before);
  EXPECT_EQ(p.counters().encapsulated, 1u);
}

TEST_F(Adapter, BurstsLongerThanMaxBurstKeepEveryVerdictInPlace) {
  vxlan4_offload p(options_at(local4, local6), np::lookup::fixed(to(remote4, encapsulation::vxlan)), templates);
  mbufs ms;
  constexpr std::uint16_t n = 150;
  std::vector<rte_mbuf*> burst;
  std::vector<bool> refuse(n, false);
  for (std::size_t i : {0, 5, 63, 64, 65, 127, 128, 149}) refuse[i] = true;
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = ms.add(make_mbuf(frame(64 + i)));
    ASSERT_NE(m, nullptr);
    if (refuse[i]) {
      rte_mbuf* t = make_mbuf(frame());
      ASSERT_NE(t, nullptr);
      ASSERT_EQ(rte_pktmbuf_chain(m, t), 0);
    }
    burst.push_back(m);
  }
  std::vector<np::verdict> v(n);
  EXPECT_EQ(nd::encapsulate_burst(p, burst.data(), n, vni, v.data()), n - 8);
  for (std::uint16_t i = 0; i < n; ++i) {
    if (refuse[i]) {
      EXPECT_EQ(v[i], np::verdict{}) << i;
      EXPECT_EQ(burst[i]->data_len, 64 + i) << i;
    } else {
      EXPECT_TRUE(v[i].ok()) << i;
      EXPECT_EQ(burst[i]->data_len, 64 + i + 50) << i;  // 14 + 20 + 8 + 8 outer bytes
    }
  }
}

TEST_F(Adapter, HeadroomExhaustionDropsWithTheMbufUnchanged) {
  vxlan4_offload p(options_at(local4, local6), np::lookup::fixed(to(remote4, encapsulation::vxlan)), templates);
  mbufs ms;
  rte_mbuf* m = ms.add(make_mbuf(frame(), 49));  // VXLAN over IPv4 needs 50
  ASSERT_NE(m, nullptr);
  m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  m->l2_len = 14;
  const mbuf_state before(m);
  np::verdict v;
  EXPECT_EQ(nd::encapsulate_burst(p, &m, 1, vni, &v), 0);
  EXPECT_EQ(v.act, np::action::drop);
  EXPECT_EQ(v.reason, np::drop_reason::no_headroom);
  EXPECT_EQ(mbuf_state(m), before);

  nd::mbuf_buffer b = nd::adapt(m).buffer;
  EXPECT_EQ(b.headroom(), 49u);
  EXPECT_EQ(b.prepend(50), nullptr);
  EXPECT_EQ(b.append(b.tailroom() + 1), nullptr);
  EXPECT_EQ(b.append(std::size_t{1} << 16), nullptr);
  EXPECT_EQ(mbuf_state(m), before);
  std::byte* front = b.prepend(49);
  EXPECT_EQ(front, rte_pktmbuf_mtod(m, std::byte*));
  EXPECT_EQ(b.headroom(), 0u);
  EXPECT_EQ(b.size(), before.data_len + 49u);
  EXPECT_EQ(m->pkt_len, before.pkt_len + 49u);
}

TEST_F(Adapter, RxChecksumFlagsDecideTheOuterChecksum) {
  vxlan4_offload tx(options_at(local4, local6), np::lookup::fixed(to(remote4, encapsulation::vxlan)), templates);
  using rx_t = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::fixed>>;
  rx_t rx(options_at(remote4, remote6), np::lookup::fixed(to(local4, encapsulation::vxlan)), templates);
  mbufs ms;
  // A VXLAN packet with a correct outer UDP checksum, and a copy whose
  // checksum is wrong.
  rte_mbuf* good = ms.add(make_mbuf(frame()));
  ASSERT_NE(good, nullptr);
  np::verdict v;
  ASSERT_EQ(nd::encapsulate_burst(tx, &good, 1, vni, &v), 1);
  (void)complete_like_nic(good, true, true);
  const std::size_t field = l4_start(good) + 6;
  auto fresh = [&](bool corrupt, std::uint64_t flags, std::uint32_t ptype) {
    rte_mbuf* m = ms.add(rte_pktmbuf_copy(good, pool, 0, UINT32_MAX));
    if (m == nullptr) return m;
    if (corrupt) *rte_pktmbuf_mtod_offset(m, std::uint8_t*, field) ^= 0x01;
    m->ol_flags = flags;
    m->packet_type = ptype;
    return m;
  };
  const std::uint32_t vxlan_ptype = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP | RTE_PTYPE_TUNNEL_VXLAN;
  struct row {
    bool corrupt;
    std::uint64_t flags;
    std::uint32_t ptype;
    bool delivered;
  };
  const row rows[] = {
      {false, RTE_MBUF_F_RX_L4_CKSUM_BAD, 0, false},             // the NIC says bad: dropped unverified
      {true, RTE_MBUF_F_RX_L4_CKSUM_GOOD, 0, true},              // good: trusted, not recomputed
      {true, RTE_MBUF_F_RX_L4_CKSUM_NONE, 0, true},              // none: data verified, trusted too
      {true, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, 0, false},          // unknown: software finds it bad
      {false, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, 0, true},
      // A NIC that parsed the tunnel: the L4 flags are the inner packet's.
      {false, RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_OUTER_L4_CKSUM_BAD, vxlan_ptype, false},
      {true, RTE_MBUF_F_RX_L4_CKSUM_BAD | RTE_MBUF_F_RX_OUTER_L4_CKSUM_GOOD, vxlan_ptype, true},
      {true, RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_OUTER_L4_CKSUM_UNKNOWN, vxlan_ptype, false},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(testing::Message() << "ol_flags " << std::hex << r.flags << " ptype " << r.ptype << " corrupt " << r.corrupt);
    rte_mbuf* m = fresh(r.corrupt, r.flags, r.ptype);
    ASSERT_NE(m, nullptr);
    const mbuf_state before(m);
    EXPECT_EQ(nd::decapsulate_burst(rx, &m, 1, &v), r.delivered ? 1 : 0);
    if (r.delivered) {
      EXPECT_TRUE(v.ok());
      EXPECT_EQ(contents(m), frame());
      // The NIC's parse described the outer headers, now gone.
      EXPECT_EQ(m->packet_type, RTE_PTYPE_UNKNOWN);
      EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK), 0u);
    } else {
      EXPECT_EQ(v.reason, np::drop_reason::malformed);
      EXPECT_EQ(v.error, w::errc::udp_bad_checksum);
      EXPECT_EQ(mbuf_state(m), before);
    }
  }
}

TEST_F(Adapter, SttBadTcpChecksumFlagDrops) {
  stt4_offload tx(options_at(local4, local6), np::lookup::fixed(to(remote4, encapsulation::stt)), templates);
  using rx_t = np::basic_pipeline<np::policy::encapsulation<np::encap::stt>, np::policy::lookup<np::lookup::fixed>>;
  rx_t rx(options_at(remote4, remote6), np::lookup::fixed(to(local4, encapsulation::stt)), templates);
  mbufs ms;
  rte_mbuf* m = ms.add(make_mbuf(frame()));
  ASSERT_NE(m, nullptr);
  np::verdict v;
  ASSERT_EQ(nd::encapsulate_burst(tx, &m, 1, vni, &v), 1);
  (void)complete_like_nic(m, false, true);
  m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD;
  EXPECT_EQ(nd::decapsulate_burst(rx, &m, 1, &v), 0);
  EXPECT_EQ(v.error, w::errc::tcp_bad_checksum);
  m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  EXPECT_EQ(nd::decapsulate_burst(rx, &m, 1, &v), 1);
  EXPECT_EQ(contents(m), frame());
}

TEST_F(Adapter, SttTsoRequestAndNonTunnelRequests) {
  stt4_offload tx(options_at(local4, local6), np::lookup::fixed(to(remote4, encapsulation::stt)), templates);
  mbufs ms;
  rte_mbuf* m = ms.add(make_mbuf(frame(4000)));
  ASSERT_NE(m, nullptr);
  m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  np::verdict v;
  ASSERT_EQ(nd::encapsulate_burst(tx, &m, 1, vni, &v), 1);
  // A TSO super-segment as stt::segmenter::segment_offload describes one.
  nd::mbuf_buffer b = nd::adapt(m).buffer;
  np::offload_request o{.tunnel = encapsulation::stt, .outer_ip_version = 4, .l4_checksum_pending = true,
                        .csum_start = 34, .csum_offset = 16, .outer_l2_len = 14, .outer_l3_len = 20,
                        .outer_l4_len = 20, .tunnel_len = 18, .inner_l2_len = 14, .inner_l3_len = 20,
                        .inner_l4_len = 20, .tso_segment_size = 1398};
  b.set_offload(o);
  EXPECT_EQ(m->ol_flags & tx_mask, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(m->ol_flags & ~tx_mask, RTE_MBUF_F_RX_L4_CKSUM_GOOD);  // the mbuf's other flags stay
  EXPECT_EQ(m->tso_segsz, 1398);
  EXPECT_EQ(m->l2_len, 14);
  EXPECT_EQ(m->l3_len, 20);
  EXPECT_EQ(m->l4_len, 20);
  EXPECT_EQ(m->outer_l2_len, 0);
  EXPECT_EQ(m->outer_l3_len, 0);
  EXPECT_EQ(rte_validate_tx_offload(m), 0);
  // DPDK's TSO preparation: IPv4 checksum cleared for the NIC, TCP field the
  // pseudo-header sum without the length.
  rte_mbuf* copy = ms.add(rte_pktmbuf_copy(m, pool, 0, UINT32_MAX));
  ASSERT_NE(copy, nullptr);
  ASSERT_EQ(rte_net_intel_cksum_prepare(copy), 0);
  const auto* ip = rte_pktmbuf_mtod_offset(copy, const rte_ipv4_hdr*, 14);
  EXPECT_EQ(ip->hdr_checksum, 0);
  const auto* tcp = rte_pktmbuf_mtod_offset(copy, const rte_tcp_hdr*, 34);
  EXPECT_EQ(tcp->cksum, rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG));

  // IPv6: no IP checksum to ask for.
  o.outer_ip_version = 6;
  o.outer_l3_len = 40;
  b.set_offload(o);
  EXPECT_EQ(m->ol_flags & tx_mask, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV6);
  EXPECT_EQ(rte_validate_tx_offload(m), 0);

  // Not a tunnel packet (an ARP/ND reply replaced it): no request, no lengths.
  b.set_offload(np::offload_request{});
  EXPECT_EQ(m->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  EXPECT_EQ(m->tx_offload, 0u);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // No hugepages, devices, telemetry socket or /var/run files; lcore 0 may
  // float over both CPUs (../shared/docs/peer-baselines.md, Notes).
  std::array<const char*, 9> eal = {argv[0],        "--no-huge",     "--no-pci",
                                    "--no-telemetry", "-m",          "256",
                                    "--no-shconf",   "--log-level=lib.eal:error", "--lcores=0@(0,1)"};
  if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) {
    std::fprintf(stderr, "FAIL: rte_eal_init: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  pool = rte_pktmbuf_pool_create("nvo_dpdk_test", 2047, 0, 0, RTE_PKTMBUF_HEADROOM + jumbo_room, SOCKET_ID_ANY);
  if (pool == nullptr) {
    std::fprintf(stderr, "FAIL: rte_pktmbuf_pool_create: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  rte_mempool_free(pool);
  rte_eal_cleanup();
  return rc;
}
