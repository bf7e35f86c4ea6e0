// l2_forwarding_table under concurrency: one writer (learning, MAC moves,
// aging, static entries, flood-list replacement, membership changes) racing
// reader threads that look entries up singly and in bursts, walk flood lists
// and check membership. Built three times: plain, ASan+UBSan (a flood list
// or bucket array freed while a reader still holds it) and ThreadSanitizer.
//
// What ThreadSanitizer sees here: every non-atomic byte a reader touches
// that the writer built (a flood list's vector and its elements) and whether
// a release/acquire pair orders its construction before the read. In TSan
// builds the table's value loads are acquire loads (basic_table.hpp,
// detail::value_load_order), so a pointer published by a relaxed store (the
// old in-place replace) is reported as a race on the list it points to.
// What it cannot see: standalone fences (the seqlock's R4/R5/W1), which it
// ignores, and the table's own words, which are all atomics and so never
// race. Those are covered by the readers' checks below on real hardware (a
// torn record fails its checksum, a stale or missing entry fails the
// version and presence checks) and argued in basic_table.hpp's table of
// memory orders.
// Bounded by time: NVO_TABLE_STRESS_MS, default 1500 ms.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "nvo/table/table.hpp"

namespace {

namespace tbl = nvo::table;
namespace wire = nvo::wire;
using clock_type = std::chrono::steady_clock;

std::chrono::milliseconds run_time() {
  if (const char* e = std::getenv("NVO_TABLE_STRESS_MS")) return std::chrono::milliseconds(std::atoi(e));
  return std::chrono::milliseconds(1500);
}

constexpr std::uint32_t vni = 77;
constexpr std::uint32_t macs = 2048;     // learned MACs: ids [0, macs)
constexpr std::uint32_t statics = 64;    // static MACs: ids [macs, macs + statics), present throughout
constexpr std::uint32_t members = 16;    // PAs 1..members are members throughout
constexpr std::uint32_t flood_vnis = 8;  // VNIs 1000..1007 always have a list

wire::mac_address mac_of(std::uint32_t id) { return wire::mac_address::from_u64(0x020000000000ull | id); }
// A learned endpoint's PA says which MAC it belongs to and its version:
// 10.<version & 0xFF>.<id high>.<id low>, tunnel_id = version << 16 | id.
wire::ip_address pa_of(std::uint32_t id, std::uint32_t version) {
  return wire::ipv4_address::from_u32(0x0A000000u | (version & 0xFF) << 16 | id);
}
bool valid_learned(const tbl::tunnel_endpoint& ep, std::uint32_t id) {
  return ep.provider.is_v4() && (ep.provider.v4().to_u32() & 0xFFFF) == id && ep.tunnel_id == vni;
}

// A flood list of n remotes, each remotes[i] == 192.168.<n>.<i>, with the
// group holding n: a reader that sees a list half-built or freed fails.
std::vector<wire::ip_address> list_of(std::uint32_t n) {
  std::vector<wire::ip_address> r;
  for (std::uint32_t i = 0; i < n; ++i) r.push_back(wire::ipv4_address::from_u32(0xC0A80000u | n << 8 | i));
  return r;
}
bool valid_list(const tbl::flood_list& fl) {
  if (!fl.group || !fl.group->is_v4()) return false;
  const std::uint32_t n = fl.group->v4().to_u32() & 0xFF;
  if (fl.remotes.size() != n) return false;
  for (std::uint32_t i = 0; i < n; ++i)
    if (fl.remotes[i] != wire::ip_address(wire::ipv4_address::from_u32(0xC0A80000u | n << 8 | i))) return false;
  return true;
}

TEST(ForwardingStress, LearningAgingFloodListsAndMembershipRaceReaders) {
  using fdb_t = tbl::l2_forwarding_table<tbl::policy::reclaimer<tbl::reclaim::qsbr>, tbl::policy::learning<true>>;
  tbl::reclaim::qsbr domain;
  tbl::l2_options o;
  o.entries = {.capacity = 256};  // grows while readers run
  o.age_timeout_s = 3;
  auto fdb = std::make_unique<fdb_t>(o, domain);
  for (std::uint32_t id = macs; id < macs + statics; ++id)
    ASSERT_TRUE(fdb->add_static(vni, mac_of(id), {.provider = wire::ipv4_address::from_u32(0xAC100000u | id)}).ok());
  for (std::uint32_t pa = 1; pa <= members; ++pa) ASSERT_TRUE(fdb->add_member(vni, wire::ipv4_address::from_u32(pa)).ok());
  for (std::uint32_t v = 0; v < flood_vnis; ++v) {
    const auto l = list_of(1 + v);
    ASSERT_TRUE(fdb->set_flood_list(1000 + v, l, wire::ipv4_address::from_u32(1 + v)).ok());
  }
  const std::uint64_t growths_before = fdb->entries().growths();

  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> lists_walked{0};
  constexpr int readers = 2;

  auto reader = [&](unsigned seed) {
    auto r = domain.try_register_reader();
    ASSERT_TRUE(r.has_value());
    started.fetch_add(1);
    std::mt19937_64 rng(seed);
    std::array<tbl::l2_key, 32> keys;
    std::array<tbl::tunnel_endpoint, 32> out;
    std::uint64_t n = 0;
    std::uint64_t walked = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int i = 0; i < 16; ++i) {
        const auto id = static_cast<std::uint32_t>(rng() % (macs + statics));
        const auto ep = fdb->lookup(vni, mac_of(id));
        ++n;
        if (id >= macs) {
          if (!ep || !ep->is_static() || ep->provider != wire::ip_address(wire::ipv4_address::from_u32(0xAC100000u | id)))
            failures.fetch_add(1);
          continue;
        }
        if (!ep) continue;  // aged out or not learned yet
        if (!valid_learned(*ep, id) || ep->is_static()) failures.fetch_add(1);
      }
      for (auto& k : keys) k = {vni, mac_of(static_cast<std::uint32_t>(rng() % (macs + statics)))};
      const std::uint64_t hits = fdb->lookup_bulk(keys, out);
      n += keys.size();
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::uint32_t id = static_cast<std::uint32_t>(keys[i].mac.octets[4]) << 8 | keys[i].mac.octets[5];
        if (id >= macs && ((hits >> i) & 1) == 0) failures.fetch_add(1);  // a static entry went missing
        if (((hits >> i) & 1) != 0 && id < macs && !valid_learned(out[i], id)) failures.fetch_add(1);
      }
      for (std::uint32_t v = 0; v < flood_vnis + 1; ++v) {
        const tbl::flood_list* fl = fdb->flood_list_of(1000 + v);
        if (v < flood_vnis && fl == nullptr) failures.fetch_add(1);
        if (fl != nullptr) {
          if (!valid_list(*fl)) failures.fetch_add(1);
          ++walked;
        }
      }
      const auto pa = static_cast<std::uint32_t>(1 + rng() % members);
      if (!fdb->is_member(vni, wire::ipv4_address::from_u32(pa))) failures.fetch_add(1);
      r->quiescent();
    }
    lookups.fetch_add(n);
    lists_walked.fetch_add(walked);
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) threads.emplace_back(reader, 200u + static_cast<unsigned>(i));
  while (started.load() < readers) std::this_thread::yield();

  std::mt19937_64 rng(9);
  std::uint32_t now = 1;
  std::uint32_t version = 1;
  std::uint64_t learned = 0;
  std::uint64_t moved = 0;
  std::uint64_t aged = 0;
  std::uint64_t replaced_lists = 0;
  const auto deadline = clock_type::now() + run_time();
  while (clock_type::now() < deadline) {
    // One "second": learn or move a slice of MACs, refresh others.
    for (int i = 0; i < 512; ++i) {
      const auto id = static_cast<std::uint32_t>(rng() % macs);
      const auto r = fdb->learn(vni, mac_of(id), pa_of(id, rng() % 4 == 0 ? version : 0), now);
      learned += r == tbl::learn_result::learned;
      moved += r == tbl::learn_result::moved;
      ASSERT_NE(r, tbl::learn_result::table_full);
      ASSERT_NE(r, tbl::learn_result::static_conflict);
    }
    // Replace a flood list that readers are walking, and add/remove a
    // transient VNI's list and a transient member.
    const auto v = static_cast<std::uint32_t>(rng() % flood_vnis);
    const auto n = static_cast<std::uint32_t>(1 + rng() % 32);
    ASSERT_TRUE(fdb->set_flood_list(1000 + v, list_of(n), wire::ipv4_address::from_u32(n)).ok());
    ++replaced_lists;
    if (version % 2 == 0) {
      ASSERT_TRUE(fdb->set_flood_list(1000 + flood_vnis, list_of(3), wire::ipv4_address::from_u32(3)).ok());
      ASSERT_TRUE(fdb->add_member(vni, wire::ipv4_address::from_u32(100)).ok());
    } else {
      (void)fdb->remove_flood_list(1000 + flood_vnis);
      (void)fdb->remove_member(vni, wire::ipv4_address::from_u32(100));
    }
    aged += fdb->age(now);
    ++now;
    ++version;
    domain.poll();
  }
  stop.store(true);
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(lookups.load(), 0u);
  EXPECT_GT(lists_walked.load(), 0u);
  EXPECT_GT(learned, 0u);
  EXPECT_GT(moved, 0u);
  EXPECT_GT(aged, 0u) << "aging never raced the readers";
  EXPECT_GT(replaced_lists, 0u);
  EXPECT_GT(fdb->entries().growths(), growths_before) << "growth never raced the readers";
  std::printf("forwarding stress: %llu lookups, %llu list walks, %llu learned, %llu moves, %llu aged, %llu list "
              "replacements, %llu growths while readers ran\n",
              static_cast<unsigned long long>(lookups.load()), static_cast<unsigned long long>(lists_walked.load()),
              static_cast<unsigned long long>(learned), static_cast<unsigned long long>(moved),
              static_cast<unsigned long long>(aged), static_cast<unsigned long long>(replaced_lists),
              static_cast<unsigned long long>(fdb->entries().growths() - growths_before));
  fdb.reset();
  domain.synchronize();
  EXPECT_EQ(domain.pending(), 0u);
}

}  // namespace
