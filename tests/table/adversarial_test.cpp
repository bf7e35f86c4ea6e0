// Tables under adversarial keys: memory and growth stay bounded, legitimate
// entries stay found, rejections are counted, and the capacity promise
// holds for every key set.
//
// Colliding keys for crc32c_hash come from linear algebra: CRC32C is affine
// over GF(2), so crc(k ^ d) == crc(k) ^ L(d) for a linear L. The MAC bit
// patterns d with L(d) == 0 (the unicast bit held clear) form a subspace of
// dimension >= 15, whatever the seed; every MAC m0 ^ d then has the same CRC
// and so the same primary and secondary bucket. keyed_hash gets the same
// MACs, which collide in nothing there, and random floods.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <type_traits>
#include <vector>

#include "nvo/table/table.hpp"

namespace {

namespace tbl = nvo::table;
namespace wire = nvo::wire;

wire::ip_address v4(std::uint32_t a) { return wire::ipv4_address::from_u32(a); }
wire::mac_address mac(std::uint64_t m) { return wire::mac_address::from_u64(m); }

// Bit b of a MAC value (as from_u64 takes it): b = 40 is the I/G (multicast)
// bit of the first octet, which a learnable source MAC must leave clear.
constexpr int multicast_bit = 40;

// MACs whose crc32c_hash (in VNI vni) all equal that of base: base ^ every
// combination of a basis of the null space of L, first `count` of them.
std::vector<std::uint64_t> crc_colliding_macs(std::uint32_t vni, std::uint64_t base, std::size_t count) {
  const tbl::crc32c_hash h;
  const auto lane = [&](std::uint64_t m) { return static_cast<std::uint32_t>(h(tbl::l2_key{vni, mac(m)})); };
  const std::uint32_t c0 = lane(0);
  // Columns of L: the CRC difference each single MAC bit makes.
  struct row {
    std::uint32_t image;    // L(d)
    std::uint64_t pattern;  // d
  };
  std::vector<row> rows;
  for (int b = 0; b < 48; ++b)
    if (b != multicast_bit) rows.push_back({lane(1ull << b) ^ c0, 1ull << b});
  // Gaussian elimination on the images; rows reduced to a zero image span
  // the null space.
  std::vector<std::uint64_t> basis;
  for (int bit = 31, r0 = 0; bit >= 0; --bit) {
    std::size_t pivot = rows.size();
    for (std::size_t r = static_cast<std::size_t>(r0); r < rows.size(); ++r)
      if ((rows[r].image >> bit) & 1) {
        pivot = r;
        break;
      }
    if (pivot == rows.size()) continue;
    std::swap(rows[static_cast<std::size_t>(r0)], rows[pivot]);
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (r != static_cast<std::size_t>(r0) && ((rows[r].image >> bit) & 1)) {
        rows[r].image ^= rows[static_cast<std::size_t>(r0)].image;
        rows[r].pattern ^= rows[static_cast<std::size_t>(r0)].pattern;
      }
    ++r0;
  }
  for (const auto& r : rows)
    if (r.image == 0) basis.push_back(r.pattern);
  EXPECT_GE(basis.size(), 15u);
  std::vector<std::uint64_t> out;
  for (std::uint64_t combo = 0; out.size() < count && combo < (1ull << basis.size()); ++combo) {
    std::uint64_t m = base;
    for (std::size_t i = 0; i < basis.size(); ++i)
      if ((combo >> i) & 1) m ^= basis[i];
    out.push_back(m);
  }
  return out;
}

constexpr std::uint32_t flood_vni = 5001;
constexpr std::uint64_t base_mac = 0x02AA00000000ull;

TEST(Adversarial, NullSpaceMacsCollideUnderCrc32c) {
  const auto macs = crc_colliding_macs(flood_vni, base_mac, 1000);
  ASSERT_EQ(macs.size(), 1000u);
  const tbl::crc32c_hash crc;
  const tbl::keyed_hash keyed;
  const std::uint64_t want = crc(tbl::l2_key{flood_vni, mac(macs[0])});
  std::size_t keyed_same = 0;
  for (const std::uint64_t m : macs) {
    ASSERT_FALSE(mac(m).is_multicast());
    ASSERT_EQ(crc(tbl::l2_key{flood_vni, mac(m)}), want);
    keyed_same += keyed(tbl::l2_key{flood_vni, mac(m)}) == keyed(tbl::l2_key{flood_vni, mac(macs[0])});
  }
  EXPECT_EQ(keyed_same, 1u) << "keyed_hash must not share crc32c's collisions";
}

// A learning VTEP whose MAC table uses crc32c_hash, flooded with colliding
// source MACs from inside one VNI. The process must survive, memory and
// growth stay bounded, MACs learned before and after are still found.
TEST(Adversarial, Crc32cLearnFloodStaysBounded) {
  tbl::l2_forwarding_table<tbl::policy::learning<true>, tbl::policy::hash<tbl::crc32c_hash>> fdb;
  const std::size_t memory_before = fdb.entries().memory_bytes();
  std::mt19937_64 rng(1);
  std::vector<std::uint64_t> legit;
  for (int i = 0; i < 200; ++i) {
    legit.push_back((rng() & 0xFEFFFFFFFFFFull) | 0x020000000000ull);
    ASSERT_EQ(fdb.learn(7, mac(legit.back()), v4(0x0A000001), 10), tbl::learn_result::learned);
  }
  ASSERT_TRUE(fdb.add_static(flood_vni, mac(0x020000000042), {.provider = v4(0x0A0000FE)}).ok());

  const auto macs = crc_colliding_macs(flood_vni, base_mac, 20000);
  std::size_t learned = 0;
  std::size_t full = 0;
  std::uint64_t max_growth_per_call = 0;
  for (const std::uint64_t m : macs) {
    const std::uint64_t g = fdb.entries().growths();
    const auto r = fdb.learn(flood_vni, mac(m), v4(0x0A000002), 20);
    max_growth_per_call = std::max(max_growth_per_call, fdb.entries().growths() - g);
    learned += r == tbl::learn_result::learned;
    full += r == tbl::learn_result::table_full;
  }
  const auto& t = fdb.entries();
  std::printf("crc32c flood: %zu keys tried, %zu learned, %zu rejected (table_full), %llu growths, "
              "%zu stashed, memory %zu -> %zu bytes\n",
              macs.size(), learned, full, static_cast<unsigned long long>(t.growths()), t.stashed(), memory_before,
              t.memory_bytes());
  // Both buckets of every colliding MAC are the same pair: the pair plus
  // the stash is all they can ever hold.
  using engine = std::remove_cvref_t<decltype(t)>;
  EXPECT_LE(learned, 2 * engine::slots + engine::stash_slots);
  EXPECT_EQ(learned + full, macs.size());
  EXPECT_EQ(fdb.stats().table_full, full);
  EXPECT_LE(max_growth_per_call, 1u);
  EXPECT_EQ(t.growths(), 0u) << "placement failing at low load must not grow the table";
  EXPECT_EQ(t.memory_bytes(), memory_before);
  for (const std::uint64_t m : legit) ASSERT_TRUE(fdb.lookup(7, mac(m)).has_value());
  EXPECT_EQ(fdb.lookup(flood_vni, mac(0x020000000042))->provider, v4(0x0A0000FE)) << "static entry evicted";
  // Learning still works for MACs outside the colliding set.
  EXPECT_EQ(fdb.learn(7, mac(0x02BB00000001), v4(0x0A000003), 30), tbl::learn_result::learned);
}

// The same colliding MACs and a large random flood against the default
// keyed hash: the colliding set is ordinary keys there; a random flood is
// bounded by max_capacity.
TEST(Adversarial, KeyedHashLearnFloodStaysBounded) {
  tbl::l2_options o;
  o.entries = {.capacity = 1024, .max_capacity = 1 << 16};
  tbl::l2_forwarding_table<tbl::policy::learning<true>> fdb(o);
  const auto macs = crc_colliding_macs(flood_vni, base_mac, 20000);
  for (const std::uint64_t m : macs)
    ASSERT_EQ(fdb.learn(flood_vni, mac(m), v4(0x0A000002), 20), tbl::learn_result::learned);
  EXPECT_EQ(fdb.entries().stashed(), 0u);

  std::mt19937_64 rng(2);
  std::size_t learned = macs.size();
  std::size_t full = 0;
  std::size_t tried = 0;
  std::uint64_t max_growth_per_call = 0;
  for (; tried < 200000; ++tried) {
    const std::uint64_t g = fdb.entries().growths();
    const auto r = fdb.learn(static_cast<std::uint32_t>(rng() & 0xFF), mac((rng() & 0xFEFFFFFFFFFFull)),
                             v4(0x0A000002), 20);
    max_growth_per_call = std::max(max_growth_per_call, fdb.entries().growths() - g);
    learned += r == tbl::learn_result::learned;
    full += r == tbl::learn_result::table_full;
  }
  const auto& t = fdb.entries();
  std::printf("keyed random flood: %zu keys tried, %zu learned, %zu rejected, %llu growths, %zu stashed, "
              "%zu slots, memory %zu bytes (%.1f per entry)\n",
              tried + macs.size(), learned, full, static_cast<unsigned long long>(t.growths()), t.stashed(),
              t.slot_count(), t.memory_bytes(), static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size()));
  EXPECT_LE(max_growth_per_call, 1u);
  EXPECT_GT(full, 0u) << "max_capacity never reached";
  EXPECT_EQ(fdb.stats().table_full, full);
  EXPECT_GE(t.size(), std::size_t{1} << 16) << "max_capacity entries must fit";
  EXPECT_LE(t.slot_count(), 2 * (std::size_t{1} << 16));
  for (const std::uint64_t m : macs) ASSERT_TRUE(fdb.lookup(flood_vni, mac(m)).has_value());
}

// insert() on the engine with crc32c_hash and growth on: each call grows at
// most once, growth stops once colliding keys are all that fail.
TEST(Adversarial, Crc32cInsertGrowsAtMostOncePerCall) {
  tbl::basic_table<tbl::l2_key, std::uint64_t, tbl::policy::hash<tbl::crc32c_hash>> t({.capacity = 4});
  const auto macs = crc_colliding_macs(flood_vni, base_mac, 5000);
  std::size_t rejected = 0;
  for (const std::uint64_t m : macs) {
    const std::uint64_t g = t.growths();
    const auto st = t.insert(tbl::l2_key{flood_vni, mac(m)}, m);
    ASSERT_LE(t.growths() - g, 1u);
    if (!st.ok()) {
      ASSERT_TRUE(absl::IsResourceExhausted(st)) << st;
      ++rejected;
    }
  }
  std::printf("crc32c insert flood: %zu keys, %zu rejected, %llu growths, %zu slots, %zu bytes\n", macs.size(),
              rejected, static_cast<unsigned long long>(t.growths()), t.slot_count(), t.memory_bytes());
  EXPECT_EQ(t.size() + rejected, macs.size());
  EXPECT_LE(t.growths(), 4u);
  EXPECT_LE(t.memory_bytes(), 8192u);
  for (const std::uint64_t m : macs) {
    const auto v = t.find(tbl::l2_key{flood_vni, mac(m)});
    EXPECT_EQ(v.value_or(m), m);
  }
}

// The per-VNI learn limit holds under a flood, and one VNI's flood does not
// stop another VNI from learning.
TEST(Adversarial, LearnLimitHoldsUnderFlood) {
  tbl::l2_options o;
  o.learn_limit_per_vni = 100;
  o.max_learning_vnis = 8;
  tbl::l2_forwarding_table<tbl::policy::learning<true>> fdb(o);
  std::mt19937_64 rng(3);
  std::size_t limited = 0;
  for (int i = 0; i < 50000; ++i)
    limited += fdb.learn(flood_vni, mac(rng() & 0xFEFFFFFFFFFFull), v4(0x0A000002), 1) == tbl::learn_result::limit_reached;
  EXPECT_EQ(fdb.learned_in(flood_vni), 100u);
  EXPECT_EQ(fdb.size(), 100u);
  EXPECT_GE(limited, 49000u);
  EXPECT_EQ(fdb.stats().limit_drops, limited);
  EXPECT_EQ(fdb.learn(9, mac(0x020000000009), v4(0x0A000003), 1), tbl::learn_result::learned);
  // More VNIs learning at once than max_learning_vnis: refused, counted.
  std::size_t refused = 0;
  for (std::uint32_t vni = 100; vni < 120; ++vni)
    refused += fdb.learn(vni, mac(0x020000000001), v4(0x0A000003), 1) == tbl::learn_result::too_many_vnis;
  EXPECT_EQ(refused, 20u - 6u);
  // Aging frees the counts, after which other VNIs learn again.
  EXPECT_EQ(fdb.age(1000), 100u + 1u + 6u);
  EXPECT_EQ(fdb.learned_in(flood_vni), 0u);
  EXPECT_EQ(fdb.learn(200, mac(0x020000000001), v4(0x0A000003), 1000), tbl::learn_result::learned);
}

TEST(Adversarial, VniAbove24BitsIsRejectedOnEveryPath) {
  tbl::l2_forwarding_table<tbl::policy::learning<true>> fdb;
  const std::uint32_t wide = (1u << 24) | 5;
  EXPECT_EQ(fdb.learn(wide, mac(0x020000000001), v4(1), 0), tbl::learn_result::invalid_vni);
  EXPECT_EQ(fdb.stats().invalid_sources, 1u);
  EXPECT_FALSE(fdb.lookup(5, mac(0x020000000001)).has_value()) << "learned into the masked VNI";
  EXPECT_EQ(fdb.size(), 0u);
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.add_static(wide, mac(0x020000000001), {.provider = v4(1)})));
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.remove(wide, mac(0x020000000001))));
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.add_member(wide, v4(1))));
  EXPECT_TRUE(absl::IsInvalidArgument(fdb.set_flood_list(wide, {})));
}

// table_options::capacity entries always fit without growth: thousands of
// random key sets (and hash secrets), for every small capacity and a few
// large ones, in the layouts the shipped tables use.
template <class Table, class MakeKey>
void capacity_promise(std::size_t capacity, int sets, MakeKey make_key) {
  std::mt19937_64 rng(capacity * 7919 + 1);
  for (int set = 0; set < sets; ++set) {
    Table t({.capacity = capacity, .grow = false, .seed = tbl::hash_seed{rng(), rng()}});
    for (std::size_t i = 0; i < capacity; ++i) {
      const auto st = t.insert(make_key(rng), typename Table::mapped_type{});
      ASSERT_TRUE(st.ok()) << "capacity " << capacity << ", set " << set << ": entry " << i + 1 << ": " << st;
    }
  }
}

struct key16 {
  std::uint64_t a;
  std::uint64_t b;
};

// A table filled until inserts fail must still replace every key's
// multi-word value (a MAC move, a controller update), however often.
template <class Value, class MakeValue>
void replace_when_full(MakeValue make_value) {
  using table_t = tbl::basic_table<tbl::l2_key, Value>;
  std::mt19937_64 rng(11);
  for (int set = 0; set < 20; ++set) {
    table_t t({.capacity = 1000, .grow = false, .seed = tbl::hash_seed{rng(), rng()}});
    std::vector<tbl::l2_key> keys;
    for (;;) {
      const tbl::l2_key k{static_cast<std::uint32_t>(rng() & 0xFFFFFF), mac(rng() & 0xFEFFFFFFFFFFull)};
      if (!t.insert(k, make_value(k, 0)).ok()) break;
      keys.push_back(k);
    }
    ASSERT_GE(keys.size(), 1000u);
    for (std::uint32_t round = 1; round <= 3; ++round)
      for (const auto& k : keys) ASSERT_TRUE(t.insert_or_assign(k, make_value(k, round)).ok()) << "set " << set;
    for (const auto& k : keys) ASSERT_EQ(t.find(k), make_value(k, 3));
    EXPECT_EQ(t.size(), keys.size());
  }
}

TEST(Capacity, FullTableStillReplacesMultiWordValues) {
  replace_when_full<tbl::tunnel_endpoint>([](const tbl::l2_key& k, std::uint32_t round) {
    return tbl::tunnel_endpoint{.provider = v4(round), .tunnel_id = k.vni};
  });
  replace_when_full<tbl::l3_entry>([](const tbl::l2_key& k, std::uint32_t round) {
    return tbl::l3_entry{.endpoint = {.provider = v4(k.vni), .tunnel_id = round}, .ca_mac = k.mac};
  });
}

// A learning table at max_capacity still records MAC moves.
TEST(Capacity, FullLearningTableStillRecordsMoves) {
  tbl::l2_options o;
  o.entries = {.capacity = 512, .grow = false};
  tbl::l2_forwarding_table<tbl::policy::learning<true>> fdb(o);
  std::mt19937_64 rng(12);
  std::vector<std::uint64_t> learned;
  for (int i = 0; i < 5000; ++i) {
    const std::uint64_t m = rng() & 0xFEFFFFFFFFFFull;
    if (fdb.learn(1, mac(m), v4(1), 1) == tbl::learn_result::learned) learned.push_back(m);
  }
  ASSERT_GT(fdb.stats().table_full, 0u);
  for (const std::uint64_t m : learned) ASSERT_EQ(fdb.learn(1, mac(m), v4(2), 2), tbl::learn_result::moved);
  for (const std::uint64_t m : learned) ASSERT_EQ(fdb.lookup(1, mac(m))->provider, v4(2));
}

TEST(Capacity, PromiseHoldsForRandomKeySets) {
  const auto l2 = [](std::mt19937_64& r) { return tbl::l2_key{static_cast<std::uint32_t>(r() & 0xFFFFFF), mac(r())}; };
  const auto k16 = [](std::mt19937_64& r) { return key16{r(), r()}; };
  using l2_table = tbl::basic_table<tbl::l2_key, tbl::tunnel_endpoint>;
  using word_table = tbl::basic_table<key16, std::uint64_t>;
  using three_slot_table = tbl::basic_table<key16, std::uint64_t, tbl::policy::slots_per_bucket<3>>;
  for (std::size_t c = 1; c <= 64; ++c) {
    capacity_promise<l2_table>(c, 2000, l2);
    capacity_promise<word_table>(c, 2000, k16);
    capacity_promise<three_slot_table>(c, 500, k16);
  }
  for (const std::size_t c : {100u, 1000u, 4096u}) {
    capacity_promise<l2_table>(c, 200, l2);
    capacity_promise<word_table>(c, 200, k16);
  }
  capacity_promise<l2_table>(100000, 5, l2);
}

}  // namespace
