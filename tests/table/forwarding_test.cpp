// l2/l3 forwarding tables: learning, MAC moves, static protection, learn
// limits, aging with a fake clock, flood lists, membership, errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "nvo/table/table.hpp"

namespace {

namespace tbl = nvo::table;
namespace wire = nvo::wire;

wire::ip_address v4(std::uint32_t a) { return wire::ipv4_address::from_u32(a); }
wire::mac_address mac(std::uint64_t m) { return wire::mac_address::from_u64(m); }

using learning_fdb = tbl::l2_forwarding_table<tbl::policy::learning<true>>;

// A fake clock: seconds the test advances by hand.
struct fake_clock {
  std::uint32_t now = 1000;
  void advance(std::uint32_t s) { now += s; }
};

TEST(L2Learning, LearnRefreshMoveAndStats) {
  learning_fdb fdb;
  fake_clock clk;
  EXPECT_EQ(fdb.learn(100, mac(0x020000000001), v4(0x0A000001), clk.now), tbl::learn_result::learned);
  auto ep = fdb.lookup(100, mac(0x020000000001));
  ASSERT_TRUE(ep.has_value());
  EXPECT_EQ(ep->provider, v4(0x0A000001));
  EXPECT_EQ(ep->encap, wire::encapsulation::vxlan);
  EXPECT_EQ(ep->tunnel_id, 100u);
  EXPECT_FALSE(ep->is_static());
  EXPECT_EQ(fdb.last_seen(100, mac(0x020000000001)), clk.now);

  clk.advance(5);
  EXPECT_EQ(fdb.learn(100, mac(0x020000000001), v4(0x0A000001), clk.now), tbl::learn_result::refreshed);
  EXPECT_EQ(fdb.last_seen(100, mac(0x020000000001)), clk.now);
  EXPECT_EQ(fdb.lookup(100, mac(0x020000000001)), ep) << "a refresh leaves the record readers copy unchanged";

  // MAC move: same MAC from another VTEP.
  EXPECT_EQ(fdb.learn(100, mac(0x020000000001), v4(0x0A000002), clk.now), tbl::learn_result::moved);
  EXPECT_EQ(fdb.lookup(100, mac(0x020000000001))->provider, v4(0x0A000002));
  EXPECT_EQ(fdb.stats().moves, 1u);
  EXPECT_EQ(fdb.stats().learned, 1u);
  EXPECT_EQ(fdb.learned_in(100), 1u);
  // Same MAC in another VNI is another entry.
  EXPECT_FALSE(fdb.lookup(101, mac(0x020000000001)).has_value());
}

TEST(L2Learning, InvalidSourcesAreNotLearned) {
  learning_fdb fdb;
  EXPECT_EQ(fdb.learn(1, mac(0x010000000001), v4(1), 0), tbl::learn_result::invalid_source);  // multicast
  EXPECT_EQ(fdb.learn(1, mac(0), v4(1), 0), tbl::learn_result::invalid_source);
  EXPECT_EQ(fdb.size(), 0u);
}

TEST(L2Learning, StaticEntryIsNeverOverwrittenByLearning) {
  learning_fdb fdb;
  const tbl::tunnel_endpoint ep{.provider = v4(0x0A0000FE), .tunnel_id = 7};
  ASSERT_TRUE(fdb.add_static(7, mac(0x02AA), ep).ok());
  EXPECT_EQ(fdb.learn(7, mac(0x02AA), v4(0x0A000009), 50), tbl::learn_result::static_conflict);
  EXPECT_EQ(fdb.lookup(7, mac(0x02AA))->provider, v4(0x0A0000FE));
  EXPECT_EQ(fdb.stats().static_conflicts, 1u);
  EXPECT_EQ(fdb.stats().moves, 0u);
  // Static entries do not age.
  EXPECT_EQ(fdb.age(1'000'000), 0u);
  EXPECT_TRUE(fdb.lookup(7, mac(0x02AA)).has_value());
  // A controller may replace a learned entry; it becomes static.
  EXPECT_EQ(fdb.learn(7, mac(0x02BB), v4(3), 0), tbl::learn_result::learned);
  ASSERT_TRUE(fdb.add_static(7, mac(0x02BB), ep).ok());
  EXPECT_TRUE(fdb.lookup(7, mac(0x02BB))->is_static());
  EXPECT_EQ(fdb.learned_in(7), 0u);
}

TEST(L2Learning, PerVniLearnLimit) {
  learning_fdb fdb({.learn_limit_per_vni = 3});
  for (std::uint64_t i = 1; i <= 3; ++i) EXPECT_EQ(fdb.learn(9, mac(0x0200 + i), v4(1), 0), tbl::learn_result::learned);
  EXPECT_EQ(fdb.learn(9, mac(0x0204), v4(1), 0), tbl::learn_result::limit_reached);
  EXPECT_EQ(fdb.stats().limit_drops, 1u);
  // Other VNIs have their own budget; moves and refreshes are not limited.
  EXPECT_EQ(fdb.learn(10, mac(0x0204), v4(1), 0), tbl::learn_result::learned);
  EXPECT_EQ(fdb.learn(9, mac(0x0201), v4(2), 0), tbl::learn_result::moved);
  // Removing one frees budget.
  ASSERT_TRUE(fdb.remove(9, mac(0x0202)).ok());
  EXPECT_EQ(fdb.learn(9, mac(0x0204), v4(1), 0), tbl::learn_result::learned);
}

TEST(L2Learning, AgingWithFakeClock) {
  learning_fdb fdb({.age_timeout_s = 300, .learn_limit_per_vni = 2});
  fake_clock clk;
  EXPECT_EQ(fdb.learn(1, mac(0x0201), v4(1), clk.now), tbl::learn_result::learned);
  clk.advance(200);
  EXPECT_EQ(fdb.learn(1, mac(0x0202), v4(1), clk.now), tbl::learn_result::learned);
  clk.advance(99);  // first entry is 299 s old
  EXPECT_EQ(fdb.age(clk.now), 0u);
  clk.advance(1);  // 300 s: expires
  EXPECT_EQ(fdb.age(clk.now), 1u);
  EXPECT_FALSE(fdb.lookup(1, mac(0x0201)).has_value());
  EXPECT_TRUE(fdb.lookup(1, mac(0x0202)).has_value());
  EXPECT_EQ(fdb.learned_in(1), 1u);
  // A refresh keeps an entry alive.
  clk.advance(250);
  EXPECT_EQ(fdb.learn(1, mac(0x0202), v4(1), clk.now), tbl::learn_result::refreshed);
  clk.advance(100);
  EXPECT_EQ(fdb.age(clk.now), 0u);
  clk.advance(200);
  EXPECT_EQ(fdb.age(clk.now), 1u);
  EXPECT_EQ(fdb.size(), 0u);
  EXPECT_EQ(fdb.stats().aged, 2u);
  EXPECT_EQ(fdb.learned_in(1), 0u);
}

TEST(L2Control, ErrorsAreClear) {
  tbl::l2_forwarding_table<> fdb({.entries = {.capacity = 4, .grow = false}});
  const tbl::tunnel_endpoint ep{.provider = v4(1), .tunnel_id = 5};
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.add_static(1u << 24, mac(0x0201), ep)));
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.add_static(5, mac(0x010000000000), ep)));
  EXPECT_TRUE(absl::IsNotFound(fdb.remove(5, mac(0x0201))));
  absl::Status st;
  std::uint64_t i = 1;
  for (; i < 1000 && st.ok(); ++i) st = fdb.add_static(5, mac(0x020000000000 + i), ep);
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  EXPECT_GE(fdb.size(), 4u);
}

TEST(L2Flood, FloodListsAndMembership) {
  tbl::reclaim::qsbr domain;
  tbl::l2_forwarding_table<tbl::policy::reclaimer<tbl::reclaim::qsbr>> fdb({}, domain);
  EXPECT_EQ(fdb.flood_list_of(42), nullptr);
  const std::vector<wire::ip_address> remotes{v4(0x0A000001), v4(0x0A000002)};
  ASSERT_TRUE(fdb.set_flood_list(42, remotes).ok());
  const tbl::flood_list* fl = fdb.flood_list_of(42);
  ASSERT_NE(fl, nullptr);
  EXPECT_EQ(fl->remotes, remotes);
  EXPECT_FALSE(fl->group.has_value());
  {
    auto r = domain.try_register_reader();  // a reader holding the old list pins it
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(fdb.set_flood_list(42, std::span(remotes).first(1), v4(0xEF000001)).ok());
    EXPECT_EQ(domain.pending(), 1u);
    EXPECT_EQ(fl->remotes.size(), 2u);  // still readable (ASan checks)
    r->quiescent();
    domain.poll();  // reclaims without a later retire()
    EXPECT_EQ(domain.pending(), 0u);
  }
  fl = fdb.flood_list_of(42);
  ASSERT_NE(fl, nullptr);
  EXPECT_EQ(fl->remotes.size(), 1u);
  EXPECT_EQ(fl->group, std::optional<wire::ip_address>(v4(0xEF000001)));
  ASSERT_TRUE(fdb.remove_flood_list(42).ok());
  EXPECT_EQ(fdb.flood_list_of(42), nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.set_flood_list(1u << 24, remotes)));

  ASSERT_TRUE(fdb.add_member(42, v4(0x0A000001)).ok());
  EXPECT_TRUE(fdb.is_member(42, v4(0x0A000001)));
  EXPECT_FALSE(fdb.is_member(43, v4(0x0A000001)));  // spoofed VNI
  EXPECT_FALSE(fdb.is_member(42, v4(0x0A000003)));
  wire::ipv6_address six{};
  six.octets[15] = 1;
  ASSERT_TRUE(fdb.add_member(42, six).ok());
  EXPECT_TRUE(fdb.is_member(42, six));
  ASSERT_TRUE(fdb.remove_member(42, v4(0x0A000001)).ok());
  EXPECT_FALSE(fdb.is_member(42, v4(0x0A000001)));
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.add_member(42, wire::ip_address{})));
  domain.synchronize();
}

TEST(L2Bulk, BulkLookupMatchesSingle) {
  tbl::l2_forwarding_table<> fdb;
  std::vector<tbl::l2_key> keys;
  for (std::uint32_t i = 0; i < 64; ++i) {
    const tbl::tunnel_endpoint ep{.provider = v4(i + 1), .encap = wire::encapsulation::nvgre, .tunnel_id = i};
    if (i % 3 != 0) {
      ASSERT_TRUE(fdb.add_static(i, mac(0x0200 + i), ep).ok());
    }
    keys.push_back({i, mac(0x0200 + i)});
  }
  std::vector<tbl::tunnel_endpoint> out(64);
  const std::uint64_t hits = fdb.lookup_bulk(keys, out);
  for (std::uint32_t i = 0; i < 64; ++i) {
    const auto one = fdb.lookup(i, mac(0x0200 + i));
    ASSERT_EQ(((hits >> i) & 1) != 0, one.has_value()) << i;
    tbl::tunnel_endpoint into{};
    ASSERT_EQ(fdb.lookup(i, mac(0x0200 + i), into), one.has_value()) << i;
    if (one) {
      EXPECT_EQ(out[i], *one);
      EXPECT_EQ(into, *one);
    }
  }
  EXPECT_EQ(std::popcount(hits), 42);
}

TEST(L3Table, HnvRecords) {
  tbl::l3_forwarding_table<> t;
  wire::ipv6_address ca6{};
  ca6.octets[0] = 0xfd;
  ca6.octets[15] = 9;
  tbl::l3_entry e{};
  e.endpoint.provider = v4(0xC0A80001);
  e.endpoint.encap = wire::encapsulation::nvgre;
  e.endpoint.tunnel_id = 5001;
  e.ca_mac = mac(0x00155D000001);
  ASSERT_TRUE(t.add(5001, v4(0x0A000005), e).ok());
  ASSERT_TRUE(t.add(5001, ca6, e).ok());
  auto got = t.lookup(5001, v4(0x0A000005));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ca_mac, mac(0x00155D000001));
  EXPECT_EQ(got->endpoint.tunnel_id, 5001u);
  EXPECT_TRUE(got->endpoint.is_static());
  EXPECT_TRUE(t.lookup(5001, ca6).has_value());
  EXPECT_FALSE(t.lookup(5002, ca6).has_value());  // other VSID
  // Re-point: readers see the whole new record.
  e.endpoint.provider = v4(0xC0A80002);
  ASSERT_TRUE(t.add(5001, ca6, e).ok());
  EXPECT_EQ(t.lookup(5001, ca6)->endpoint.provider, v4(0xC0A80002));
  EXPECT_TRUE(absl::IsInvalidArgument(t.add(1, wire::ip_address{}, e)));
  ASSERT_TRUE(t.remove(5001, ca6).ok());
  EXPECT_FALSE(t.lookup(5001, ca6).has_value());
  EXPECT_TRUE(absl::IsNotFound(t.remove(5001, ca6)));
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace

namespace {
// make() builds the same bytes as aggregate initialization (it only changes
// the store widths), for every field value that matters.
TEST(Keys, MakeEqualsAggregateInitialization) {
  for (const std::uint64_t m : {0x020000000001ull, 0xFEFFFFFFFFFFull, 0x0123456789ABull}) {
    for (const std::uint32_t vni : {0u, 1u, 0xABCDEFu, 0xFFFFFFu}) {
      const tbl::l2_key a{vni, mac(m)};
      const tbl::l2_key b = tbl::l2_key::make(vni, mac(m));
      EXPECT_EQ(a, b);
      EXPECT_EQ(std::memcmp(&a, &b, sizeof(a)), 0);
    }
  }
  wire::ipv6_address six{};
  for (std::size_t i = 0; i < 16; ++i) six.octets[i] = static_cast<std::uint8_t>(0xF0 + i);
  for (const wire::ip_address& ip : {wire::ip_address(v4(0x0A0B0C0D)), wire::ip_address(six), wire::ip_address{}}) {
    const tbl::l3_key a{0x123456, ip};
    const tbl::l3_key b = tbl::l3_key::make(0x123456, ip);
    EXPECT_EQ(a, b);
    EXPECT_EQ(std::memcmp(&a, &b, sizeof(a)), 0);
  }
}
}  // namespace
