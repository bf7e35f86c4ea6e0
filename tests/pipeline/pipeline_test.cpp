// nvo::pipeline: encapsulation and decapsulation of the shipped pipeline
// types, checked by an independent reading of the result (wire::dissect
// validates every outer checksum and length) and by round trips; RFC 6040 cell
// by cell; anti-spoofing, learning, flooding, HNV ARP/ND proxy, too_big and
// ICMP, offload metadata, and verdicts that leave a rejected buffer unchanged.
#include "nvo/pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "frames.hpp"

namespace {

using namespace pipeline_test;
namespace np = nvo::pipeline;
namespace tbl = nvo::table;
using w::encapsulation;

using fdb_t = tbl::l2_forwarding_table<tbl::policy::learning<true>>;
using l3_t = tbl::l3_forwarding_table<>;

const w::mac_address local_mac = w::mac_address::from_u64(0x02aa00000001);
const w::mac_address gateway_mac = w::mac_address::from_u64(0x02bb00000001);
const w::ip_address local4 = w::ipv4_address{{10, 0, 0, 1}};
const w::ip_address remote4 = w::ipv4_address{{10, 0, 0, 2}};
const w::ip_address remote4b = w::ipv4_address{{10, 0, 0, 3}};
const w::ip_address local6 = v6(1);
const w::ip_address remote6 = v6(2);
constexpr std::uint32_t vni = 5001;

np::endpoint_config endpoint(const w::ip_address& local, const w::ip_address& remote, encapsulation e) {
  return {.local = local, .remote = remote, .local_mac = local_mac, .next_hop_mac = gateway_mac, .encap = e};
}

tbl::tunnel_endpoint ep_to(const w::ip_address& pa, encapsulation e, std::uint64_t id = vni) {
  return {.provider = pa, .encap = e, .flags = tbl::endpoint_flags::static_entry, .tunnel_id = id};
}

np::pipeline_options options_at(const w::ip_address& v4, const w::ip_address& v6addr) {
  np::pipeline_options o;
  o.local_ipv4 = v4;
  o.local_ipv6 = v6addr;
  o.underlay_mtu = 9216;
  return o;
}

// Completes an offloaded L4 checksum as a NIC does: sum from csum_start to the
// end. A TSO request's field leaves the length out (DPDK's convention; the
// NIC adds each segment's own), so a check of the whole adds it here.
void complete_offload(np::buffer& b) {
  const auto& o = b.offload();
  if (!o.l4_checksum_pending) return;
  const w::bytes f(b.data(), b.size());
  const auto seg = f.subspan(o.csum_start);
  std::uint16_t c = w::checksum_finalize(w::checksum_accumulate(seg, o.tso_segment_size != 0 ? seg.size() : 0));
  if (o.tunnel == encapsulation::vxlan && c == 0) c = 0xFFFF;
  w::store_be16(f, o.csum_start + o.csum_offset, c);
}

// ---------------------------------------------------------------------------
// Round trips: every encapsulation x underlay x checksum mode, many inner frames.

template <class Encap, class Underlay, class Checksum>
struct combo {
  using encap = Encap;
  using underlay = Underlay;
  using checksum = Checksum;
};

template <class C>
class RoundTrip : public ::testing::Test {};
using combos = ::testing::Types<
    combo<np::encap::vxlan, np::underlay::ipv4, np::checksum::zero_udp>,
    combo<np::encap::vxlan, np::underlay::ipv4, np::checksum::software>,
    combo<np::encap::vxlan, np::underlay::ipv4, np::checksum::offload>,
    combo<np::encap::vxlan, np::underlay::ipv6, np::checksum::zero_udp>,
    combo<np::encap::vxlan, np::underlay::ipv6, np::checksum::software>,
    combo<np::encap::vxlan, np::underlay::ipv6, np::checksum::offload>,
    combo<np::encap::nvgre, np::underlay::ipv4, np::checksum::zero_udp>,
    combo<np::encap::nvgre, np::underlay::ipv6, np::checksum::software>,
    combo<np::encap::nvgre, np::underlay::ipv6, np::checksum::offload>,
    combo<np::encap::stt, np::underlay::ipv4, np::checksum::zero_udp>,
    combo<np::encap::stt, np::underlay::ipv4, np::checksum::offload>,
    combo<np::encap::stt, np::underlay::ipv6, np::checksum::software>,
    combo<np::encap::stt, np::underlay::ipv6, np::checksum::offload>,
    combo<np::encap::per_endpoint, np::underlay::either, np::checksum::software>>;
TYPED_TEST_SUITE(RoundTrip, combos);

TYPED_TEST(RoundTrip, EncapsulatedFramesDissectAndDecapsulateToTheInput) {
  using C = TypeParam;
  using sender_t = np::basic_pipeline<np::policy::encapsulation<typename C::encap>, np::policy::underlay<typename C::underlay>,
                                      np::policy::lookup<np::lookup::l2<fdb_t>>, np::policy::checksum<typename C::checksum>>;
  using receiver_t = np::basic_pipeline<np::policy::encapsulation<typename C::encap>,
                                        np::policy::underlay<typename C::underlay>, np::policy::lookup<np::lookup::l2<fdb_t>>,
                                        np::policy::anti_spoofing<true>>;
  const bool six = std::is_same_v<typename C::underlay, np::underlay::ipv6>;
  const encapsulation e = C::encap::kind == encapsulation::none ? encapsulation::stt : C::encap::kind;
  const w::ip_address local = six ? local6 : local4;
  const w::ip_address remote = six ? remote6 : remote4;

  fdb_t fdb;
  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set(endpoint(local, remote, e)).ok());
  const w::mac_address dst = w::mac_address::from_u64(0x020000000002);
  ASSERT_TRUE(fdb.add_static(vni, dst, ep_to(remote, e)).ok());
  sender_t tx(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);

  fdb_t rx_fdb;
  ASSERT_TRUE(rx_fdb.add_member(vni, local).ok());
  np::endpoint_templates<> rx_templates;
  receiver_t rx(options_at(remote4, remote6), np::lookup::l2<fdb_t>(rx_fdb), rx_templates);

  std::size_t checked = 0;
  for (kind k : {kind::tcp4, kind::udp4, kind::icmp4, kind::tcp6, kind::udp6, kind::arp, kind::neighbor_solicitation, kind::raw}) {
    for (std::size_t size : {60, 64, 65, 128, 1500, 4001, 9000}) {
      for (bool vlan : {false, true}) {
        if (e == encapsulation::nvgre && vlan) continue;  // RFC 7637 3.3, tested below
        inner_spec s{.k = k, .size = size, .vlan = vlan, .tos = 0x2A, .seed = static_cast<std::uint8_t>(size)};
        if (k == kind::tcp6 || k == kind::udp6 || k == kind::neighbor_solicitation) s.src_ip = v6(10), s.dst_ip = v6(11);
        const bytes_vec inner = make_inner(s);
        packet p(inner);
        const np::verdict v = tx.encapsulate(p.buf, vni);
        ASSERT_EQ(v.act, np::action::forward) << np::to_string(v.reason);
        complete_offload(p.buf);

        auto d = w::dissect(w::const_bytes(p.buf.data(), p.buf.size()), {.accept_zero_udp6_checksum = false});
        ASSERT_TRUE(d.has_value()) << w::to_string(d.error()) << " size " << size;
        EXPECT_EQ(d->encap, e);
        EXPECT_EQ(d->outer_src, local);
        EXPECT_EQ(d->outer_dst, remote);
        EXPECT_EQ(d->outer_ethernet.dst, gateway_mac);
        EXPECT_EQ(d->outer_ethernet.src, local_mac);
        EXPECT_EQ(d->outer_ttl, 64);
        // RFC 6040 normal mode: the inner ECN (0x2A & 3 = ECT(0)) copied; DSCP fixed 0.
        EXPECT_EQ(d->outer_tos, (k == kind::arp || k == kind::raw) ? 0 : 0x02);
        if (e == encapsulation::vxlan) {
          EXPECT_EQ(d->vni, vni);
          EXPECT_GE(d->src_port, w::vxlan::source_port_min);
        } else if (e == encapsulation::nvgre) {
          EXPECT_EQ(d->nvgre.vsid, vni);
        } else {
          ASSERT_TRUE(d->has_stt_frame_header);
          EXPECT_EQ(d->stt_frame.context_id, vni);
          EXPECT_EQ(d->stt.frame_length, inner.size() + w::stt::frame_header_size);
        }
        EXPECT_TRUE(std::equal(d->inner.begin(), d->inner.end(), inner.begin(), inner.end()));
        if (!six) {
          const w::const_bytes ip(p.buf.data() + 14, 20);
          EXPECT_TRUE(w::load_be16(ip, 6) & w::ipv4::flag_dont_fragment);
          if (e == encapsulation::vxlan && C::checksum::mode == np::checksum_mode::zero_udp) {
            EXPECT_EQ(w::load_be16(w::const_bytes(p.buf.data(), p.buf.size()), 34 + 6), 0);
          }
        }
        const auto& o = p.buf.offload();
        EXPECT_EQ(o.tunnel, e);
        EXPECT_EQ(o.l4_checksum_pending, C::checksum::mode == np::checksum_mode::offload && e != encapsulation::nvgre);
        EXPECT_EQ(o.outer_l3_len, six ? 40 : 20);
        EXPECT_EQ(o.inner_l2_len, vlan ? 18 : 14);

        const np::verdict r = rx.decapsulate(p.buf);
        ASSERT_EQ(r.act, np::action::forward) << np::to_string(r.reason) << " " << w::to_string(r.error);
        EXPECT_EQ(r.tenant, vni);
        EXPECT_EQ(p.bytes(), inner) << "size " << size;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 56u);
  EXPECT_EQ(tx.counters().encapsulated, checked);
  EXPECT_EQ(rx.counters().decapsulated, checked);
}

// ---------------------------------------------------------------------------
// The pieces of one encapsulation, field by field.

using vxlan_l2 = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::l2<fdb_t>>>;

struct Fixture : ::testing::Test {
  fdb_t fdb;
  np::endpoint_templates<> templates;
  const w::mac_address dst = w::mac_address::from_u64(0x020000000002);
  void SetUp() override {
    ASSERT_TRUE(templates.set(endpoint(local4, remote4, encapsulation::vxlan)).ok());
    ASSERT_TRUE(fdb.add_static(vni, dst, ep_to(remote4, encapsulation::vxlan)).ok());
  }
};

TEST_F(Fixture, PatchesLengthsIdEntropyAndChecksumPerPacket) {
  np::pipeline_options o = options_at(local4, local6);
  o.ipv4_id_start = 0xFFFE;
  vxlan_l2 p(o, np::lookup::l2<fdb_t>(fdb), templates);
  std::vector<std::uint16_t> ids, ports;
  for (std::uint8_t i = 0; i < 4; ++i) {
    inner_spec s{.k = kind::udp4, .size = 100u + i, .seed = i};
    s.src_ip = w::ipv4_address{{192, 168, 0, static_cast<std::uint8_t>(10 + i)}};
    packet pk(make_inner(s));
    ASSERT_TRUE(p.encapsulate(pk.buf, vni).ok());
    const w::const_bytes f(pk.buf.data(), pk.buf.size());
    ASSERT_TRUE(w::ipv4::parse(f.subspan(14)).has_value());  // header checksum verified
    EXPECT_EQ(w::load_be16(f, 16), 20 + 8 + 8 + 100 + i);
    EXPECT_EQ(w::load_be16(f, 38), 8 + 8 + 100 + i);
    ids.push_back(w::load_be16(f, 18));
    ports.push_back(w::load_be16(f, 34));
    EXPECT_EQ(ports.back(), nvo::simd::udp_source_port(
                                nvo::simd::flow_hash_crc32c(nvo::simd::extract_flow_key(f.subspan(50)))));
  }
  EXPECT_EQ(ids, (std::vector<std::uint16_t>{0xFFFE, 0xFFFF, 0, 1}));
  EXPECT_GT(std::set<std::uint16_t>(ports.begin(), ports.end()).size(), 1u);  // entropy differs per flow
}

// entropy::crc32c from the pipeline's parsed headers equals the flow hash of
// the frame, for well-formed, truncated and corrupted tenant frames.
TEST(Entropy, ParsedHeadersHashLikeTheFrame) {
  const np::entropy::crc32c e{np::pipeline_options{}};
  std::size_t checked = 0;
  for (kind k : {kind::tcp4, kind::udp4, kind::icmp4, kind::tcp6, kind::udp6, kind::arp, kind::raw}) {
    for (bool vlan : {false, true}) {
      inner_spec s{.k = k, .size = 80, .vlan = vlan};
      if (k == kind::tcp6 || k == kind::udp6) s.src_ip = v6(1), s.dst_ip = v6(2);
      const bytes_vec base = make_inner(s);
      for (std::size_t n = 14; n <= base.size(); ++n) {
        const w::const_bytes f(base.data(), n);
        EXPECT_EQ(e(f, np::parse_inner_headers(f)), e(f)) << n;
        ++checked;
      }
      for (std::size_t i = 12; i < 60; ++i) {
        bytes_vec f = base;
        f[i] ^= std::byte{0x33};
        EXPECT_EQ(e(f, np::parse_inner_headers(f)), nvo::simd::flow_hash_crc32c(nvo::simd::extract_flow_key(f))) << i;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000u);
}

TEST_F(Fixture, HeaderRulesDscpTtlDfAndEcnModes) {
  struct row {
    np::header_rules r;
    inner_spec s;
    std::uint8_t tos, ttl;
    bool df;
  };
  const std::vector<row> rows = {
      {{}, {.k = kind::udp4, .tos = 0xB9, .ttl = 9}, 0x01, 64, true},  // defaults: DSCP 0, ECN copied, TTL 64, DF set
      {{.dscp = np::dscp_mode::inherit}, {.k = kind::udp4, .tos = 0xB9}, 0xB9, 64, true},
      {{.dscp_value = 46}, {.k = kind::udp4, .tos = 0x03}, 46 << 2 | 3, 64, true},  // CE copied (not ECT(0), unlike Linux)
      {{.ecn = np::ecn_ingress::compatibility}, {.k = kind::udp4, .tos = 0x03}, 0x00, 64, true},
      {{.ttl = np::ttl_mode::inherit}, {.k = kind::udp4, .ttl = 9}, 0, 9, true},
      {{.ttl = np::ttl_mode::inherit, .ttl_value = 33}, {.k = kind::arp}, 0, 33, true},
      {{.df = np::df_mode::unset}, {.k = kind::udp4}, 0, 64, false},
      {{.df = np::df_mode::inherit}, {.k = kind::udp4, .df = true}, 0, 64, true},
      {{.df = np::df_mode::inherit}, {.k = kind::udp4, .df = false}, 0, 64, false},
      {{.df = np::df_mode::inherit}, {.k = kind::udp6, .src_ip = v6(1), .dst_ip = v6(2)}, 0, 64, true},
  };
  for (const auto& r : rows) {
    np::pipeline_options o = options_at(local4, local6);
    o.rules = r.r;
    vxlan_l2 p(o, np::lookup::l2<fdb_t>(fdb), templates);
    packet pk(make_inner(r.s));
    ASSERT_TRUE(p.encapsulate(pk.buf, vni).ok());
    const auto ip = w::ipv4::parse(w::const_bytes(pk.buf.data() + 14, pk.buf.size() - 14));
    ASSERT_TRUE(ip.has_value());
    EXPECT_EQ(ip->tos, r.tos);
    EXPECT_EQ(ip->ttl, r.ttl);
    EXPECT_EQ((ip->flags_fragment_offset & w::ipv4::flag_dont_fragment) != 0, r.df);
  }
}

// The same rules fixed at compile time behave identically.
TEST_F(Fixture, CompileTimeRulesEqualConfiguredOnes) {
  constexpr np::header_rules r{.dscp = np::dscp_mode::inherit, .ttl = np::ttl_mode::inherit, .df = np::df_mode::unset};
  using fixed_t = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::l2<fdb_t>>,
                                     np::policy::header_rules<np::rules::fixed<r>>>;
  np::pipeline_options o = options_at(local4, local6);
  fixed_t a(o, np::lookup::l2<fdb_t>(fdb), templates);
  o.rules = r;
  vxlan_l2 b(o, np::lookup::l2<fdb_t>(fdb), templates);
  const bytes_vec inner = make_inner({.k = kind::tcp4, .size = 300, .tos = 0x5E, .ttl = 17, .df = true});
  packet pa(inner), pb(inner);
  ASSERT_TRUE(a.encapsulate(pa.buf, vni).ok());
  ASSERT_TRUE(b.encapsulate(pb.buf, vni).ok());
  EXPECT_EQ(pa.bytes(), pb.bytes());
}

// ---------------------------------------------------------------------------
// RFC 6040 4.2, Figure 4: rows inner, columns outer (Not-ECT, ECT(0), ECT(1), CE).

constexpr std::uint8_t N = np::ecn_not_ect, E0 = np::ecn_ect0, E1 = np::ecn_ect1, CE = np::ecn_ce;
constexpr std::uint8_t drop = 0xFF;
constexpr std::array<std::array<std::uint8_t, 4>, 4> figure4 = {{
    {N, N, N, drop},      // inner Not-ECT
    {E0, E0, E1, CE},     // inner ECT(0): under ECT(1) becomes ECT(1) (Linux and OVS keep ECT(0))
    {E1, E1, E1, CE},     // inner ECT(1)
    {CE, CE, CE, CE},     // inner CE
}};
constexpr std::array<std::uint8_t, 4> order = {N, E0, E1, CE};

consteval bool figure4_holds() {
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t o = 0; o < 4; ++o) {
      const auto r = np::ecn_decapsulate(order[o], order[i]);
      if (figure4[i][o] == drop ? !r.drop : (r.drop || r.ecn != figure4[i][o])) return false;
    }
  return np::ecn_encapsulate(np::ecn_ingress::normal, CE) == CE &&
         np::ecn_encapsulate(np::ecn_ingress::compatibility, E1) == N;
}
static_assert(figure4_holds());

TEST(Rfc6040, EgressTableCellByCellThroughDecapsulation) {
  fdb_t fdb;
  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set(endpoint(local4, remote4, encapsulation::vxlan)).ok());
  ASSERT_TRUE(fdb.add_static(vni, w::mac_address::from_u64(0x020000000002), ep_to(remote4, encapsulation::vxlan)).ok());
  vxlan_l2 tx(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  vxlan_l2 rx(options_at(remote4, remote6), np::lookup::l2<fdb_t>(fdb), templates);
  for (bool ip6 : {false, true}) {
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t o = 0; o < 4; ++o) {
        inner_spec s{.k = ip6 ? kind::udp6 : kind::udp4, .size = 200, .tos = static_cast<std::uint8_t>(0x20 | order[i])};
        if (ip6) s.src_ip = v6(1), s.dst_ip = v6(2);
        const bytes_vec inner = make_inner(s);
        packet p(inner);
        ASSERT_TRUE(tx.encapsulate(p.buf, vni).ok());
        // Re-mark the outer ECN as a congested underlay router would, and fix the header checksum.
        const w::bytes f(p.buf.data(), p.buf.size());
        w::store_u8(f, 15, static_cast<std::uint8_t>((w::load_u8(f, 15) & ~3) | order[o]));
        w::store_be16(f, 24, 0);
        w::store_be16(f, 24, w::checksum_finalize(w::checksum_accumulate(f.subspan(14, 20))));
        const bytes_vec before = p.bytes();
        const np::verdict v = rx.decapsulate(p.buf);
        if (figure4[i][o] == drop) {
          EXPECT_EQ(v.reason, np::drop_reason::ecn_not_ect_under_ce);
          EXPECT_EQ(p.bytes(), before);
          continue;
        }
        ASSERT_TRUE(v.ok()) << np::to_string(v.reason);
        const w::const_bytes ip(p.buf.data() + 14, p.buf.size() - 14);
        if (ip6) {
          EXPECT_EQ((w::load_be16(ip, 0) >> 4) & 3, figure4[i][o]);
          EXPECT_EQ((w::load_be16(ip, 0) >> 6) & 0x3F, 0x20 >> 2);  // DSCP untouched
        } else {
          const auto h = w::ipv4::parse(ip);  // the incremental checksum update verifies
          ASSERT_TRUE(h.has_value()) << i << "," << o;
          EXPECT_EQ(h->tos, 0x20 | figure4[i][o]);
        }
      }
    }
  }
  EXPECT_GT(rx.counters().ecn_alarms, 0u);
}

// A tenant's inconsistent IPv4 header (IHL past the frame) is "not IP": no
// ECN rule applies and nothing is rewritten, so nothing is written past it.
TEST(Rfc6040, InnerHeaderThatIsNotCompleteIsNotRewritten) {
  fdb_t fdb;
  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set(endpoint(local4, remote4, encapsulation::vxlan)).ok());
  using p2p = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::fixed>>;
  p2p tx(options_at(local4, local6), np::lookup::fixed(ep_to(remote4, encapsulation::vxlan)), templates);
  p2p rx(options_at(remote4, remote6), np::lookup::fixed(ep_to(local4, encapsulation::vxlan)), templates);
  bytes_vec inner = make_inner({.k = kind::udp4, .size = 40, .tos = np::ecn_not_ect});
  inner[14] = std::byte{0x4F};  // IHL 60 bytes, 26 present
  packet p(inner);
  ASSERT_TRUE(tx.encapsulate(p.buf, vni).ok());
  const w::bytes f(p.buf.data(), p.buf.size());
  EXPECT_EQ(w::load_u8(f, 15) & 3, np::ecn_not_ect);
  w::store_u8(f, 15, np::ecn_ce);
  w::store_be16(f, 24, 0);
  w::store_be16(f, 24, w::checksum_finalize(w::checksum_accumulate(f.subspan(14, 20))));
  ASSERT_TRUE(rx.decapsulate(p.buf).ok());
  EXPECT_EQ(p.bytes(), inner);
}

// ---------------------------------------------------------------------------
// Decapsulation: what is refused, and that a refused buffer is unchanged.

TEST_F(Fixture, DecapRefusesAndLeavesTheBufferUnchanged) {
  using guarded = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::l2<fdb_t>>,
                                     np::policy::anti_spoofing<true>>;
  vxlan_l2 tx(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  fdb_t rx_fdb;
  ASSERT_TRUE(rx_fdb.add_member(vni, local4).ok());
  guarded rx(options_at(remote4, remote6), np::lookup::l2<fdb_t>(rx_fdb), templates);
  packet good(make_inner({.k = kind::tcp4, .size = 300}));
  ASSERT_TRUE(tx.encapsulate(good.buf, vni).ok());
  const bytes_vec wire_frame = good.bytes();

  const auto expect_drop = [&](bytes_vec f, np::drop_reason reason, auto&& receiver) {
    packet p(f);
    const np::verdict v = receiver.decapsulate(p.buf);
    EXPECT_EQ(v.act, np::action::drop);
    EXPECT_EQ(v.reason, reason) << np::to_string(v.reason);
    EXPECT_EQ(p.bytes(), f);
    return v;
  };
  // Spoofed: the outer source is not a member of the VNI.
  {
    fdb_t other;
    ASSERT_TRUE(other.add_member(vni, remote4b).ok());
    guarded rx2(options_at(remote4, remote6), np::lookup::l2<fdb_t>(other), templates);
    expect_drop(wire_frame, np::drop_reason::spoofed_source, rx2);
    EXPECT_EQ(rx2.counters().drops[static_cast<std::size_t>(np::drop_reason::spoofed_source)], 1u);
  }
  // Not for us.
  {
    guarded rx3(options_at(remote4b, remote6), np::lookup::l2<fdb_t>(rx_fdb), templates);
    expect_drop(wire_frame, np::drop_reason::not_local, rx3);
  }
  // Corrupted VXLAN flags: malformed, with the codec's reason.
  {
    bytes_vec f = wire_frame;
    f[42] = std::byte{0x00};
    const auto v = expect_drop(f, np::drop_reason::malformed, rx);
    EXPECT_EQ(v.error, w::errc::vxlan_i_flag_clear);
  }
  // Every truncation and every single-byte corruption of the outer headers is
  // either refused without a change or (checksum-neutral corruptions of
  // unchecked fields) accepted.
  for (std::size_t n = 0; n < wire_frame.size(); n += 7) {
    bytes_vec f(wire_frame.begin(), wire_frame.begin() + static_cast<std::ptrdiff_t>(n));
    packet p(f);
    const np::verdict v = rx.decapsulate(p.buf);
    if (!v.ok()) {
      EXPECT_EQ(p.bytes(), f);
    }
  }
  for (std::size_t i = 0; i < 50; ++i) {
    bytes_vec f = wire_frame;
    f[i] ^= std::byte{0x5A};
    packet p(f);
    const np::verdict v = rx.decapsulate(p.buf);
    if (!v.ok()) {
      EXPECT_EQ(p.bytes(), f) << i;
    }
  }
  // An NVGRE packet at a VXLAN-only pipeline.
  {
    np::endpoint_templates<> t2;
    ASSERT_TRUE(t2.set(endpoint(local4, remote4, encapsulation::nvgre)).ok());
    using nv = np::basic_pipeline<np::policy::encapsulation<np::encap::nvgre>, np::policy::lookup<np::lookup::fixed>>;
    nv tx2(options_at(local4, local6), np::lookup::fixed(ep_to(remote4, encapsulation::nvgre)), t2);
    packet p(make_inner({.k = kind::udp4}));
    ASSERT_TRUE(tx2.encapsulate(p.buf, vni).ok());
    expect_drop(p.bytes(), np::drop_reason::wrong_encapsulation, rx);
  }
  // A good one still passes.
  packet p(wire_frame);
  EXPECT_TRUE(rx.decapsulate(p.buf).ok());
}

TEST(Decap, SttSegmentsOfLargerFramesWithoutReassemblyAreRefused) {
  fdb_t fdb;
  np::endpoint_templates<> templates;
  using stt_p = np::basic_pipeline<np::policy::encapsulation<np::encap::stt>, np::policy::lookup<np::lookup::l2<fdb_t>>>;
  np::pipeline_options ro = options_at(remote4, remote6);
  ro.stt_reassembly = false;
  stt_p rx(ro, np::lookup::l2<fdb_t>(fdb), templates);
  EXPECT_EQ(rx.reassembler(), nullptr);
  // A first segment that claims a longer frame than it carries.
  ASSERT_TRUE(templates.set(endpoint(local4, remote4, encapsulation::stt)).ok());
  stt_p tx(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  ASSERT_TRUE(fdb.add_static(vni, w::mac_address::from_u64(0x020000000002), ep_to(remote4, encapsulation::stt)).ok());
  packet p(make_inner({.k = kind::udp4, .size = 500}));
  ASSERT_TRUE(tx.encapsulate(p.buf, vni).ok());
  const w::bytes f(p.buf.data(), p.buf.size());
  w::store_be16(f, 38, static_cast<std::uint16_t>(w::load_be16(f, 38) + 100));  // SEQ's frame length
  w::store_be16(f, 50, 0);
  const auto seg = f.subspan(34);
  w::store_be16(f, 50, w::checksum_finalize(w::checksum_accumulate(
                           seg, w::pseudo_header_sum(local4, remote4, 6, static_cast<std::uint32_t>(seg.size())))));
  const bytes_vec before = p.bytes();
  EXPECT_EQ(rx.decapsulate(p.buf).reason, np::drop_reason::stt_needs_reassembly);
  EXPECT_EQ(p.bytes(), before);
}

// STT as a tunnel: frames up to 64 KiB over a 1500-byte underlay, segmented
// by encapsulate_segments() (or one TSO super-segment in offload mode) and
// reassembled by decapsulate(), in order and shuffled.
struct big_buffer {
  big_buffer() : storage(70000), buf(storage, 128, 0) {}
  std::vector<std::byte> storage;
  np::buffer buf;
};

template <class Underlay>
void stt_large_frames_round_trip() {
  const bool six = std::is_same_v<Underlay, np::underlay::ipv6>;
  const w::ip_address local = six ? local6 : local4, remote = six ? remote6 : remote4;
  fdb_t fdb;
  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set(endpoint(local, remote, encapsulation::stt)).ok());
  using stt_p = np::basic_pipeline<np::policy::encapsulation<np::encap::stt>, np::policy::underlay<Underlay>,
                                   np::policy::lookup<np::lookup::fixed>, np::policy::checksum<np::checksum::software>>;
  np::pipeline_options txo = options_at(local4, local6), rxo = options_at(remote4, remote6);
  txo.underlay_mtu = rxo.underlay_mtu = 1500;
  stt_p tx(txo, np::lookup::fixed(ep_to(remote, encapsulation::stt)), templates);
  stt_p rx(rxo, np::lookup::fixed(ep_to(local, encapsulation::stt)), templates);
  std::mt19937 rng(7);
  for (std::size_t size : {1500, 2000, 9000, 30001, 65517}) {
    for (bool shuffle : {false, true}) {
      const bytes_vec inner = make_inner({.k = kind::tcp4, .size = size, .seed = static_cast<std::uint8_t>(size)});
      std::vector<std::byte> in_storage(70000);
      np::buffer in(in_storage, 128, inner.size());
      std::copy(inner.begin(), inner.end(), in.data());
      const np::verdict v = tx.encapsulate(in, vni);
      ASSERT_EQ(v.act, np::action::segment) << size;
      std::vector<std::unique_ptr<big_buffer>> segs;
      std::vector<np::buffer*> ptrs;
      for (std::size_t i = 0; i < v.segments; ++i) {
        segs.push_back(std::make_unique<big_buffer>());
        ptrs.push_back(&segs.back()->buf);
      }
      // Too few buffers: refused, nothing written.
      EXPECT_EQ(tx.encapsulate_segments(in, vni, std::span<np::buffer* const>(ptrs.data(), ptrs.size() - 1)).reason,
                np::drop_reason::stt_too_many_segments);
      EXPECT_EQ(segs[0]->buf.size(), 0u);
      const np::verdict s = tx.encapsulate_segments(in, vni, std::span<np::buffer* const>(ptrs));
      ASSERT_TRUE(s.ok()) << np::to_string(s.reason);
      ASSERT_EQ(s.segments, v.segments);
      for (auto* b : ptrs) {
        EXPECT_LE(b->size() - 14, 1500u);
        const auto d = w::dissect(w::const_bytes(b->data(), b->size()));  // TCP checksum verified
        ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
        EXPECT_EQ(d->stt.frame_length, inner.size() + 18);
      }
      if (shuffle) std::shuffle(ptrs.begin(), ptrs.end(), rng);
      std::size_t delivered = 0;
      for (std::size_t i = 0; i < ptrs.size(); ++i) {
        const np::verdict r = rx.decapsulate(*ptrs[i]);
        if (i + 1 < ptrs.size()) {
          EXPECT_EQ(r.act, np::action::held) << np::to_string(r.act);
          continue;
        }
        ASSERT_TRUE(r.ok()) << np::to_string(r.reason);
        EXPECT_EQ(r.tenant, vni);
        EXPECT_TRUE(std::equal(inner.begin(), inner.end(), ptrs[i]->data(), ptrs[i]->data() + ptrs[i]->size()));
        ++delivered;
      }
      EXPECT_EQ(delivered, 1u) << size;
    }
  }
  EXPECT_EQ(rx.counters().stt_reassembled, 10u);
  EXPECT_EQ(rx.reassembler()->memory_in_use(), 0u);
}

TEST(Stt, LargeFramesSegmentAndReassembleOverIpv4) { stt_large_frames_round_trip<np::underlay::ipv4>(); }
TEST(Stt, LargeFramesSegmentAndReassembleOverIpv6) { stt_large_frames_round_trip<np::underlay::ipv6>(); }

TEST(Stt, OffloadModeBuildsOneTsoSuperSegment) {
  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set(endpoint(local4, remote4, encapsulation::stt)).ok());
  using stt_p = np::basic_pipeline<np::policy::encapsulation<np::encap::stt>, np::policy::lookup<np::lookup::fixed>,
                                   np::policy::checksum<np::checksum::offload>>;
  np::pipeline_options o = options_at(local4, local6);
  o.underlay_mtu = 1500;
  stt_p tx(o, np::lookup::fixed(ep_to(remote4, encapsulation::stt)), templates);
  const bytes_vec inner = make_inner({.k = kind::tcp4, .size = 20000});
  packet p(inner);
  const np::verdict v = tx.encapsulate(p.buf, vni);
  ASSERT_TRUE(v.ok()) << np::to_string(v.reason);
  const auto& off = p.buf.offload();
  EXPECT_TRUE(off.l4_checksum_pending);
  EXPECT_EQ(off.tso_segment_size, 1500 - 20 - 20);
  EXPECT_EQ(off.csum_start, 34);
  EXPECT_EQ(v.segments, (inner.size() + 18 + 1459) / 1460);
  EXPECT_EQ(p.buf.size(), 14 + 20 + 20 + 18 + inner.size());
  // Completed as a single segment, the super-segment is one valid STT frame.
  complete_offload(p.buf);
  auto d = w::dissect(w::const_bytes(p.buf.data(), p.buf.size()));
  ASSERT_TRUE(d.has_value()) << w::to_string(d.error());
  EXPECT_EQ(d->stt_frame.context_id, vni);
  EXPECT_TRUE(std::equal(d->inner.begin(), d->inner.end(), inner.begin(), inner.end()));
}

// ---------------------------------------------------------------------------
// Learning through the datapath, and the encapsulation it enables.

TEST(Learning, DecapLearnsThenEncapGoesUnicast) {
  using learner = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::l2<fdb_t>>,
                                     np::policy::learning<true>>;
  fdb_t a_fdb, b_fdb;
  np::endpoint_templates<> a_t, b_t;
  ASSERT_TRUE(a_t.set(endpoint(local4, remote4, encapsulation::vxlan)).ok());
  ASSERT_TRUE(b_t.set(endpoint(remote4, local4, encapsulation::vxlan)).ok());
  ASSERT_TRUE(a_fdb.set_flood_list(vni, std::vector<w::ip_address>{remote4}).ok());
  learner a(options_at(local4, local6), np::lookup::l2<fdb_t>(a_fdb), a_t);
  learner b(options_at(remote4, remote6), np::lookup::l2<fdb_t>(b_fdb), b_t);
  b.set_time(100);

  const w::mac_address vm_a = w::mac_address::from_u64(0x02000000000a), vm_b = w::mac_address::from_u64(0x02000000000b);
  // A's VM sends to B's unknown VM: flood, replicate, B decapsulates and learns vm_a -> A.
  packet first(make_inner({.k = kind::udp4, .src = vm_a, .dst = vm_b}));
  ASSERT_EQ(a.encapsulate(first.buf, vni).act, np::action::flood);
  packet copy(bytes_vec{}, 512);
  std::array<np::buffer*, 1> copies{&copy.buf};
  std::array<np::verdict, 1> cv;
  ASSERT_EQ(a.encapsulate_flood(first.buf, vni, std::span<np::buffer* const>(copies), cv), 1u);
  ASSERT_TRUE(cv[0].ok());
  const np::verdict v = b.decapsulate(copy.buf);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.learned, tbl::learn_result::learned);
  EXPECT_EQ(b_fdb.last_seen(vni, vm_a), 100u);
  // B's reply to vm_a now goes unicast to A.
  packet reply(make_inner({.k = kind::udp4, .src = vm_b, .dst = vm_a}));
  const np::verdict r = b.encapsulate(reply.buf, vni);
  ASSERT_TRUE(r.ok()) << np::to_string(r.reason);
  auto d = w::dissect(w::const_bytes(reply.buf.data(), reply.buf.size()));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->outer_dst, local4);
  EXPECT_EQ(b.counters().learned, 1u);
}

// ---------------------------------------------------------------------------
// BUM: head-end replication and multicast groups.

TEST_F(Fixture, BroadcastAndUnknownUnicastFloodToEveryRemote) {
  const std::vector<w::ip_address> remotes{remote4, remote4b, w::ipv4_address{{10, 0, 0, 4}}};
  for (const auto& r : remotes) ASSERT_TRUE(templates.set(endpoint(local4, r, encapsulation::vxlan)).ok());
  ASSERT_TRUE(fdb.set_flood_list(vni, remotes).ok());
  vxlan_l2 p(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  for (auto dst_mac : {w::mac_address::from_u64(0xFFFFFFFFFFFF), w::mac_address::from_u64(0x01005E000001),
                       w::mac_address::from_u64(0x02000000FFFF)}) {
    const bytes_vec inner = make_inner({.k = kind::udp4, .dst = dst_mac});
    packet pk(inner);
    ASSERT_EQ(p.encapsulate(pk.buf, vni).act, np::action::flood);
    EXPECT_EQ(pk.bytes(), inner);
    std::vector<packet> copies;
    for (int i = 0; i < 4; ++i) copies.emplace_back(bytes_vec{}, 512);
    std::array<np::buffer*, 4> ptrs{&copies[0].buf, &copies[1].buf, &copies[2].buf, &copies[3].buf};
    std::array<np::verdict, 4> v;
    ASSERT_EQ(p.encapsulate_flood(pk.buf, vni, std::span<np::buffer* const>(ptrs), v), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(v[i].ok());
      auto d = w::dissect(w::const_bytes(copies[i].buf.data(), copies[i].buf.size()));
      ASSERT_TRUE(d.has_value());
      EXPECT_EQ(d->outer_dst, remotes[i]);
      EXPECT_EQ(d->vni, vni);
      EXPECT_TRUE(std::equal(d->inner.begin(), d->inner.end(), inner.begin(), inner.end()));
    }
    EXPECT_EQ(copies[3].buf.size(), 0u);
  }
  EXPECT_EQ(p.counters().replicas, 9u);
  // No flood list: unknown unicast is dropped as no_route.
  packet pk(make_inner({.k = kind::udp4, .dst = w::mac_address::from_u64(0x02000000FFFF)}));
  EXPECT_EQ(p.encapsulate(pk.buf, vni + 1).reason, np::drop_reason::no_route);
}

// per_endpoint: flood copies take each remote's own encapsulation, and
// learning records the one a packet arrived with.
TEST(PerEndpoint, FloodAndLearningFollowEachRemotesEncapsulation) {
  using mixed = np::basic_pipeline<np::policy::encapsulation<np::encap::per_endpoint>,
                                   np::policy::lookup<np::lookup::l2<fdb_t>>, np::policy::learning<true>>;
  fdb_t fdb;
  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set(endpoint(local4, remote4, encapsulation::nvgre)).ok());
  ASSERT_TRUE(templates.set(endpoint(local4, remote4b, encapsulation::vxlan)).ok());
  ASSERT_TRUE(fdb.set_flood_list(vni, std::vector<w::ip_address>{remote4, remote4b}).ok());
  mixed p(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  packet pk(make_inner({.k = kind::arp, .dst = w::mac_address::from_u64(0xFFFFFFFFFFFF)}));
  ASSERT_EQ(p.encapsulate(pk.buf, vni).act, np::action::flood);
  packet c0(bytes_vec{}, 512), c1(bytes_vec{}, 512);
  std::array<np::buffer*, 2> ptrs{&c0.buf, &c1.buf};
  std::array<np::verdict, 2> v;
  ASSERT_EQ(p.encapsulate_flood(pk.buf, vni, std::span<np::buffer* const>(ptrs), v), 2u);
  ASSERT_TRUE(v[0].ok() && v[1].ok()) << np::to_string(v[0].reason) << " " << np::to_string(v[1].reason);
  EXPECT_EQ(w::dissect(w::const_bytes(c0.buf.data(), c0.buf.size()))->encap, encapsulation::nvgre);
  EXPECT_EQ(w::dissect(w::const_bytes(c1.buf.data(), c1.buf.size()))->encap, encapsulation::vxlan);

  // An NVGRE packet from remote4 teaches p that the sender lives there, over NVGRE.
  np::endpoint_templates<> peer_t;
  ASSERT_TRUE(peer_t.set(endpoint(remote4, local4, encapsulation::nvgre)).ok());
  using nv = np::basic_pipeline<np::policy::encapsulation<np::encap::nvgre>, np::policy::lookup<np::lookup::fixed>>;
  nv peer(options_at(remote4, remote6), np::lookup::fixed(ep_to(local4, encapsulation::nvgre)), peer_t);
  const w::mac_address vm = w::mac_address::from_u64(0x02000000abcd);
  packet from_peer(make_inner({.k = kind::udp4, .src = vm}));
  ASSERT_TRUE(peer.encapsulate(from_peer.buf, vni).ok());
  const np::verdict r = p.decapsulate(from_peer.buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.learned, tbl::learn_result::learned);
  EXPECT_EQ(fdb.lookup(vni, vm)->encap, encapsulation::nvgre);
  packet to_vm(make_inner({.k = kind::udp4, .dst = vm}));
  ASSERT_TRUE(p.encapsulate(to_vm.buf, vni).ok());
  EXPECT_EQ(w::dissect(w::const_bytes(to_vm.buf.data(), to_vm.buf.size()))->encap, encapsulation::nvgre);
}

TEST_F(Fixture, MulticastGroupGetsOneCopy) {
  const w::ip_address group = w::ipv4_address{{239, 1, 1, 1}};
  auto cfg = endpoint(local4, group, encapsulation::vxlan);
  cfg.next_hop_mac = w::mac_address::from_u64(0x01005E010101);  // RFC 1112 6.4 mapping
  ASSERT_TRUE(templates.set(cfg).ok());
  ASSERT_TRUE(fdb.set_flood_list(vni, std::vector<w::ip_address>{remote4, remote4b}, group).ok());
  vxlan_l2 p(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  packet pk(make_inner({.k = kind::arp, .dst = w::mac_address::from_u64(0xFFFFFFFFFFFF)}));
  ASSERT_EQ(p.encapsulate(pk.buf, vni).act, np::action::flood);
  packet c0(bytes_vec{}, 512), c1(bytes_vec{}, 512);
  std::array<np::buffer*, 2> ptrs{&c0.buf, &c1.buf};
  std::array<np::verdict, 2> v;
  ASSERT_EQ(p.encapsulate_flood(pk.buf, vni, std::span<np::buffer* const>(ptrs), v), 1u);
  auto d = w::dissect(w::const_bytes(c0.buf.data(), c0.buf.size()));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->outer_dst, group);
  EXPECT_EQ(d->outer_ethernet.dst, cfg.next_hop_mac);
}

// A copy sent to the group decapsulates where that VNI floods to the same
// group (the kernel's `vxlan ... group`), and only there.
TEST_F(Fixture, DecapAcceptsTheVnisGroupOnly) {
  const w::ip_address group = w::ipv4_address{{239, 1, 1, 1}};
  const w::ip_address other_group = w::ipv4_address{{239, 1, 1, 2}};
  auto cfg = endpoint(local4, group, encapsulation::vxlan);
  cfg.next_hop_mac = w::mac_address::from_u64(0x01005E010101);
  ASSERT_TRUE(templates.set(cfg).ok());
  ASSERT_TRUE(fdb.set_flood_list(vni, std::vector<w::ip_address>{}, group).ok());
  vxlan_l2 tx(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  packet pk(make_inner({.k = kind::arp, .dst = w::mac_address::from_u64(0xFFFFFFFFFFFF)}));
  const bytes_vec inner = pk.bytes();
  ASSERT_EQ(tx.encapsulate(pk.buf, vni).act, np::action::flood);
  packet copy(bytes_vec{}, 512);
  std::array<np::buffer*, 1> ptrs{&copy.buf};
  std::array<np::verdict, 1> v;
  ASSERT_EQ(tx.encapsulate_flood(pk.buf, vni, std::span<np::buffer* const>(ptrs), v), 1u);
  const bytes_vec to_group = copy.bytes();

  const auto decap_with = [&](std::optional<w::ip_address> rx_group, std::uint32_t rx_vni) {
    fdb_t rx_fdb;
    EXPECT_TRUE(rx_fdb.set_flood_list(rx_vni, std::vector<w::ip_address>{local4}, rx_group).ok());
    vxlan_l2 rx(options_at(remote4, remote6), np::lookup::l2<fdb_t>(rx_fdb), templates);
    packet p(to_group);
    const np::verdict r = rx.decapsulate(p.buf);
    if (!r.ok()) {
      EXPECT_EQ(p.bytes(), to_group);
    }
    return std::pair(r, p.bytes());
  };
  const auto [joined, delivered] = decap_with(group, vni);
  ASSERT_TRUE(joined.ok()) << np::to_string(joined.reason);
  EXPECT_EQ(delivered, inner);
  EXPECT_EQ(decap_with(other_group, vni).first.reason, np::drop_reason::not_local);
  EXPECT_EQ(decap_with(std::nullopt, vni).first.reason, np::drop_reason::not_local);
  EXPECT_EQ(decap_with(group, vni + 1).first.reason, np::drop_reason::not_local);  // another VNI's group
}

// ---------------------------------------------------------------------------
// HNV L3 mode: {VSID, CA IP} lookup, MAC rewrite, ARP and ND answered locally.

struct Hnv : ::testing::Test {
  using hnv_t = np::basic_pipeline<np::policy::encapsulation<np::encap::nvgre>, np::policy::lookup<np::lookup::l3<l3_t>>>;
  l3_t l3;
  np::endpoint_templates<> templates;
  const w::mac_address ca_mac = w::mac_address::from_u64(0x00155D000042);
  const w::ip_address ca4 = w::ipv4_address{{192, 168, 0, 2}};
  const w::ip_address ca6 = v6(0x42);
  void SetUp() override {
    ASSERT_TRUE(templates.set(endpoint(local4, remote4, encapsulation::nvgre)).ok());
    const tbl::l3_entry e{ep_to(remote4, encapsulation::nvgre, 0x1234), ca_mac};
    ASSERT_TRUE(l3.add(0x1234, ca4, e).ok());
    ASSERT_TRUE(l3.add(0x1234, ca6, e).ok());
  }
};

TEST_F(Hnv, RewritesTheInnerDestinationMacToTheCaMac) {
  hnv_t p(options_at(local4, local6), np::lookup::l3<l3_t>(l3), templates);
  bytes_vec inner = make_inner({.k = kind::tcp4, .size = 200, .dst = w::mac_address::from_u64(0x12345678), .dst_ip = ca4});
  packet pk(inner);
  ASSERT_TRUE(p.encapsulate(pk.buf, 0x1234).ok());
  auto d = w::dissect(w::const_bytes(pk.buf.data(), pk.buf.size()));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->nvgre.vsid, 0x1234u);
  std::copy(ca_mac.octets.begin(), ca_mac.octets.end(), reinterpret_cast<std::uint8_t*>(inner.data()));
  EXPECT_TRUE(std::equal(d->inner.begin(), d->inner.end(), inner.begin(), inner.end()));
  packet unknown(make_inner({.k = kind::tcp4, .dst_ip = w::ipv4_address{{192, 168, 0, 99}}}));
  EXPECT_EQ(p.encapsulate(unknown.buf, 0x1234).reason, np::drop_reason::no_route);
  packet other(make_inner({.k = kind::raw}));
  EXPECT_EQ(p.encapsulate(other.buf, 0x1234).reason, np::drop_reason::l3_unsupported_frame);
}

TEST_F(Hnv, AnswersArpForKnownCasAndNeverFloods) {
  hnv_t p(options_at(local4, local6), np::lookup::l3<l3_t>(l3), templates);
  const w::mac_address vm = w::mac_address::from_u64(0x020000000001);
  packet pk(make_inner({.k = kind::arp, .src = vm, .dst = w::mac_address::from_u64(0xFFFFFFFFFFFF), .dst_ip = ca4}));
  const np::verdict v = p.encapsulate(pk.buf, 0x1234);
  ASSERT_EQ(v.act, np::action::reply);
  const w::const_bytes r(pk.buf.data(), pk.buf.size());
  ASSERT_EQ(r.size(), 42u);
  EXPECT_EQ(w::load_be16(r, 12), w::ethernet::ethertype_arp);
  EXPECT_EQ(w::load_be16(r, 20), np::arp::op_reply);
  w::mac_address eth_dst, sha;
  w::load_raw(r, 0, eth_dst.octets);
  w::load_raw(r, 22, sha.octets);
  EXPECT_EQ(eth_dst, vm);
  EXPECT_EQ(sha, ca_mac);
  EXPECT_EQ(w::load_be32(r, 28), ca4.v4().to_u32());  // sender IP: the CA
  EXPECT_EQ(w::load_be32(r, 38), 0xC0A80001u);       // target IP: the requester
  packet unknown(make_inner({.k = kind::arp, .dst_ip = w::ipv4_address{{192, 168, 0, 99}}}));
  EXPECT_EQ(p.encapsulate(unknown.buf, 0x1234).reason, np::drop_reason::no_route);
  EXPECT_EQ(p.counters().replies, 1u);
}

TEST_F(Hnv, AnswersNeighborSolicitationsWithAValidAdvertisement) {
  hnv_t p(options_at(local4, local6), np::lookup::l3<l3_t>(l3), templates);
  const w::ip_address vm_ip = v6(0x10);
  packet pk(make_inner({.k = kind::neighbor_solicitation, .size = 0, .src_ip = vm_ip, .dst_ip = ca6}));
  ASSERT_EQ(p.encapsulate(pk.buf, 0x1234).act, np::action::reply);
  const w::const_bytes r(pk.buf.data(), pk.buf.size());
  ASSERT_EQ(r.size(), 86u);
  const auto ip = r.subspan(14);
  EXPECT_EQ(w::load_u8(ip, 6), 58);
  EXPECT_EQ(w::load_u8(ip, 7), 255);
  const auto msg = ip.subspan(40);
  EXPECT_EQ(w::load_u8(msg, 0), np::nd::type_neighbor_advertisement);
  EXPECT_EQ(w::load_be32(msg, 4), np::nd::flag_solicited | np::nd::flag_override);
  const std::uint64_t pseudo = w::pseudo_header_sum(ca6, vm_ip, 58, 32);
  EXPECT_EQ(w::checksum_fold(w::checksum_accumulate(msg, pseudo)), 0xFFFF);
  w::mac_address tlla;
  w::load_raw(msg, 26, tlla.octets);
  EXPECT_EQ(tlla, ca_mac);
  // A solicitation with a bad checksum is not answered (and not routed either).
  bytes_vec bad = make_inner({.k = kind::neighbor_solicitation, .size = 0, .src_ip = vm_ip, .dst_ip = ca6});
  bad[14 + 40 + 2] ^= std::byte{1};
  packet pb(bad);
  EXPECT_NE(p.encapsulate(pb.buf, 0x1234).act, np::action::reply);
}

// ---------------------------------------------------------------------------
// MTU: too_big with the inner MTU to report, and the ICMP message for it.

TEST_F(Fixture, TooBigReportsTheInnerMtuAndBuildsIcmp) {
  np::pipeline_options o = options_at(local4, local6);
  o.underlay_mtu = 1500;
  vxlan_l2 p(o, np::lookup::l2<fdb_t>(fdb), templates);
  packet fits(make_inner({.k = kind::udp4, .size = 1464}));  // 1450 inner IP + 14
  EXPECT_TRUE(p.encapsulate(fits.buf, vni).ok());
  const bytes_vec big = make_inner({.k = kind::udp4, .size = 1465, .df = true});
  packet pk(big);
  const np::verdict v = p.encapsulate(pk.buf, vni);
  ASSERT_EQ(v.act, np::action::too_big);
  EXPECT_EQ(v.mtu, 1450);  // Linux's VXLAN default MTU over a 1500-byte underlay
  EXPECT_EQ(pk.bytes(), big);

  std::array<std::byte, 1600> icmp{};
  const auto n = np::build_too_big(big, v.mtu, icmp);
  ASSERT_TRUE(n.has_value());
  const w::const_bytes f(icmp.data(), *n);
  const auto ip = w::ipv4::parse(f.subspan(14));
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->protocol, 1);
  EXPECT_EQ(ip->src.to_u32(), 0xC0A80002u);  // from the packet's destination
  EXPECT_EQ(ip->dst.to_u32(), 0xC0A80001u);
  EXPECT_LE(ip->total_length, 576);
  const auto msg = f.subspan(34);
  EXPECT_EQ(w::load_u8(msg, 0), 3);
  EXPECT_EQ(w::load_u8(msg, 1), 4);
  EXPECT_EQ(w::load_be16(msg, 6), 1450);
  EXPECT_EQ(w::checksum_fold(w::checksum_accumulate(msg)), 0xFFFF);
  EXPECT_TRUE(std::equal(msg.begin() + 8, msg.end(), big.begin() + 14));  // the quoted packet

  const bytes_vec big6 = make_inner({.k = kind::tcp6, .size = 2000, .src_ip = v6(1), .dst_ip = v6(2)});
  std::array<std::byte, 1600> icmp6{};
  const auto n6 = np::build_too_big(big6, 1430, icmp6);
  ASSERT_TRUE(n6.has_value());
  EXPECT_EQ(*n6, 14u + 1280u);
  const w::const_bytes f6(icmp6.data(), *n6);
  const auto m6 = f6.subspan(54);
  EXPECT_EQ(w::load_u8(m6, 0), 2);
  EXPECT_EQ(w::load_be32(m6, 4), 1430u);
  EXPECT_EQ(w::checksum_fold(w::checksum_accumulate(m6, w::pseudo_header_sum(v6(2), v6(1), 58, 1240))), 0xFFFF);
  // Never an ICMP error about an ICMP error, nor about a non-IP frame.
  std::array<std::byte, 1600> scratch{};
  EXPECT_FALSE(np::build_too_big(icmp, 1000, scratch).has_value());
  EXPECT_FALSE(np::build_too_big(make_inner({.k = kind::arp}), 1000, scratch).has_value());
}

// ---------------------------------------------------------------------------
// Zero UDP checksums over IPv6 (RFC 6935/6936), VNI limits, headroom, NVGRE VLAN.

TEST(Checksum, ZeroUdp6OnlyWhenEnabled) {
  fdb_t fdb;
  np::endpoint_templates<> templates;
  ASSERT_TRUE(templates.set(endpoint(local6, remote6, encapsulation::vxlan)).ok());
  using p6 = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::fixed>>;
  for (bool zero : {false, true}) {
    np::pipeline_options o = options_at(local4, local6);
    o.zero_udp6_checksum = zero;
    p6 p(o, np::lookup::fixed(ep_to(remote6, encapsulation::vxlan)), templates);
    packet pk(make_inner({.k = kind::udp4, .size = 300}));
    ASSERT_TRUE(p.encapsulate(pk.buf, vni).ok());
    const std::uint16_t csum = w::load_be16(w::const_bytes(pk.buf.data(), pk.buf.size()), 54 + 6);
    EXPECT_EQ(csum == 0, zero);
    // The receiver accepts a zero checksum only when it enabled it too.
    np::pipeline_options ro = options_at(remote4, remote6);
    ro.zero_udp6_checksum = false;
    p6 rx(ro, np::lookup::fixed(ep_to(local6, encapsulation::vxlan)), templates);
    const np::verdict v = rx.decapsulate(pk.buf);
    if (zero) {
      EXPECT_EQ(v.error, w::errc::udp_zero_checksum_ipv6);
    } else {
      EXPECT_TRUE(v.ok());
    }
  }
}

TEST_F(Fixture, RefusesWhatCannotBeEncapsulated) {
  vxlan_l2 p(options_at(local4, local6), np::lookup::l2<fdb_t>(fdb), templates);
  packet tiny(bytes_vec(10));
  EXPECT_EQ(p.encapsulate(tiny.buf, vni).reason, np::drop_reason::inner_truncated);
  packet wide(make_inner({.k = kind::udp4}));
  EXPECT_EQ(p.encapsulate(wide.buf, 1u << 24).reason, np::drop_reason::tunnel_id_out_of_range);
  const bytes_vec inner = make_inner({.k = kind::udp4});
  packet cramped(inner, 20);
  EXPECT_EQ(p.encapsulate(cramped.buf, vni).reason, np::drop_reason::no_headroom);
  EXPECT_EQ(cramped.bytes(), inner);
  // No template for the endpoint the table names.
  ASSERT_TRUE(fdb.add_static(vni, w::mac_address::from_u64(0x0200000000CC), ep_to(remote4b, encapsulation::vxlan)).ok());
  packet orphan(make_inner({.k = kind::udp4, .dst = w::mac_address::from_u64(0x0200000000CC)}));
  EXPECT_EQ(p.encapsulate(orphan.buf, vni).reason, np::drop_reason::no_template);
  // NVGRE never carries 802.1Q frames (RFC 7637 3.3).
  np::endpoint_templates<> t2;
  ASSERT_TRUE(t2.set(endpoint(local4, remote4, encapsulation::nvgre)).ok());
  using nv = np::basic_pipeline<np::policy::encapsulation<np::encap::nvgre>, np::policy::lookup<np::lookup::fixed>>;
  nv n(options_at(local4, local6), np::lookup::fixed(ep_to(remote4, encapsulation::nvgre)), t2);
  packet tagged(make_inner({.k = kind::udp4, .vlan = true}));
  EXPECT_EQ(n.encapsulate(tagged.buf, vni).reason, np::drop_reason::nvgre_inner_vlan);
  // An IPv6 endpoint behind an IPv4-only underlay.
  using v4only = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::underlay<np::underlay::ipv4>,
                                    np::policy::lookup<np::lookup::fixed>>;
  v4only q(options_at(local4, local6), np::lookup::fixed(ep_to(remote6, encapsulation::vxlan)), templates);
  packet six(make_inner({.k = kind::udp4}));
  EXPECT_EQ(q.encapsulate(six.buf, vni).reason, np::drop_reason::wrong_underlay);
}

TEST(Templates, RejectBadConfigurationsWithReadableErrors) {
  np::endpoint_templates<> t;
  EXPECT_FALSE(t.set(endpoint(local4, remote6, encapsulation::vxlan)).ok());
  EXPECT_FALSE(t.set(endpoint(local4, remote4, encapsulation::none)).ok());
  EXPECT_FALSE(t.set(endpoint(w::ip_address{}, w::ip_address{}, encapsulation::vxlan)).ok());
  EXPECT_TRUE(t.set(endpoint(local4, remote4, encapsulation::vxlan)).ok());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.remove(remote4, encapsulation::vxlan).ok());
  EXPECT_FALSE(t.remove(remote4, encapsulation::vxlan).ok());
  EXPECT_EQ(np::to_string(np::drop_reason::spoofed_source), "spoofed_source");
}

// Burst and single-packet encapsulation give identical bytes and verdicts.
TEST_F(Fixture, BurstEqualsSinglePackets) {
  ASSERT_TRUE(fdb.set_flood_list(vni, std::vector<w::ip_address>{remote4}).ok());
  np::pipeline_options o = options_at(local4, local6);
  vxlan_l2 a(o, np::lookup::l2<fdb_t>(fdb), templates), b(o, np::lookup::l2<fdb_t>(fdb), templates);
  std::vector<packet> pa, pb;
  for (std::size_t i = 0; i < 80; ++i) {
    inner_spec s{.k = i % 3 ? kind::tcp4 : kind::udp4, .size = 60 + i * 13,
                 .dst = i % 5 ? dst : w::mac_address::from_u64(0xFFFFFFFFFFFF), .seed = static_cast<std::uint8_t>(i)};
    pa.emplace_back(make_inner(s));
    pb.emplace_back(make_inner(s));
  }
  std::vector<np::buffer*> ptrs;
  for (auto& p : pa) ptrs.push_back(&p.buf);
  std::vector<np::verdict> v(ptrs.size());
  const std::size_t fwd = a.encapsulate(std::span<np::buffer* const>(ptrs), vni, v);
  std::size_t expect_fwd = 0;
  for (std::size_t i = 0; i < pb.size(); ++i) {
    const np::verdict s = b.encapsulate(pb[i].buf, vni);
    EXPECT_EQ(s, v[i]) << i;
    EXPECT_EQ(pa[i].bytes(), pb[i].bytes()) << i;
    expect_fwd += s.ok();
  }
  EXPECT_EQ(fwd, expect_fwd);
  EXPECT_EQ(fwd, 64u);
}

}  // namespace
