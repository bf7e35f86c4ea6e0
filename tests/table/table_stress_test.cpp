// Readers racing one writer. Built twice: under ThreadSanitizer
// (table_stress_tsan_test, sanitizer preset) and plain or ASan+UBSan
// (table_stress_test), where ASan checks that growth's retired arrays are
// freed only after every reader passed a quiescent state.
//
// Readers check that they only ever observe values some writer wrote for that
// key (never a torn mix: every value carries its key and a checksum of its
// words), that a key's versions never go back in time (a single lookup
// against every earlier one; each position of a bulk lookup against every
// earlier call, since positions within one call are not ordered in time,
// see find_bulk), that a key the writer erased for good is never returned by
// a lookup that starts afterwards, and that a key present throughout (even
// live ids, only ever re-pointed) is never missed, whatever cuckoo moves,
// out-of-place replaces, stash moves and growths race it. Every other bulk
// burst is mostly absent keys, so find_bulk's overflow-count filter runs.
// The stash shape gives a group of keys one bucket pair, so they live in
// the stash and move in and out of it while readers look.
//
// What ThreadSanitizer can check here: races on non-atomic memory (none in
// the table: its words are atomics) and the lifetime of retired arrays under
// QSBR through release/acquire pairs it follows. It ignores standalone
// fences, so it cannot tell whether the seqlock's fences (basic_table.hpp R4,
// R5, W1) are where they must be; the checksum, version and presence checks
// below catch a copy those fences failed to protect, on the hardware that
// runs them. forwarding_stress_test.cpp covers pointer values (flood lists).
// Bounded by time (NVO_TABLE_STRESS_MS, default 1500 ms per shape).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "nvo/table/basic_table.hpp"

namespace {

namespace tbl = nvo::table;
using clock_type = std::chrono::steady_clock;

struct key16 {
  std::uint64_t id;
  std::uint64_t salt;
};
key16 key_of(std::uint64_t id) { return {id, id * 0x9E3779B97F4A7C15ull}; }

// Multi-word value: replaced out of place (new slot + header swap).
struct wide_value {
  std::uint64_t id;
  std::uint64_t version;
  std::uint64_t check;
};
wide_value make_wide(std::uint64_t id, std::uint64_t version) { return {id, version, id * 31 + version * 17 + 5}; }
bool valid(const wide_value& v, std::uint64_t id) { return v.id == id && v.check == id * 31 + v.version * 17 + 5; }
std::uint64_t version_of(const wide_value& v) { return v.version; }

// Six words: with the 16-byte key a slot is one cache line, the layout whose
// bucket header follows its slots.
struct line_value {
  wide_value v;
  std::uint64_t pad[3];
};
bool valid(const line_value& v, std::uint64_t id) {
  return valid(v.v, id) && v.pad[0] == ~id && v.pad[2] == v.v.check;
}
std::uint64_t version_of(const line_value& v) { return v.v.version; }

// Single-word value: replaced in place by one atomic store.
std::uint64_t make_word(std::uint64_t id, std::uint64_t version) { return version << 20 | id; }
bool valid(std::uint64_t v, std::uint64_t id) { return (v & 0xFFFFF) == id; }
std::uint64_t version_of(std::uint64_t v) { return v >> 20; }

// make_value<V>: the writer's value for (id, version).
template <class V>
V make_value(std::uint64_t id, std::uint64_t version) {
  if constexpr (std::is_same_v<V, std::uint64_t>) {
    return make_word(id, version);
  } else if constexpr (std::is_same_v<V, line_value>) {
    const wide_value w = make_wide(id, version);
    return {w, {~id, version, w.check}};
  } else {
    return make_wide(id, version);
  }
}

// Keys with id < Group share one bucket pair (a fixed hash), so most of
// them sit in the stash; the rest hash normally. Group is twice the keys the
// pair and the stash hold, less two: the even ids (present throughout) fit
// with one slot to spare, and the odd ones, inserted and erased, contend for
// it (their inserts and the even ids' out-of-place replaces may then find no
// room, which the writer tolerates for this group only).
template <std::uint64_t Group>
struct colliding_hash {
  static constexpr std::uint64_t group = Group;
  std::uint64_t operator()(const key16& k) const noexcept {
    if (k.id < Group) return 0x5555555512345678ull;
    std::uint64_t x = k.id * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29) * 0xBF58476D1CE4E5B9ull;
  }
};

std::chrono::milliseconds run_time() {
  if (const char* e = std::getenv("NVO_TABLE_STRESS_MS")) return std::chrono::milliseconds(std::atoi(e));
  return std::chrono::milliseconds(1500);
}

constexpr std::uint64_t live_keys = 4096;    // ids [0, live_keys): re-pointed forever
constexpr std::uint64_t doomed_keys = 4096;  // ids [live_keys, +doomed): erased once, for good
constexpr int readers = 2;
// Inserted before the readers start and only re-pointed by the writer.
bool always_present(std::uint64_t id) { return id < live_keys && id % 2 == 0; }

template <class V, class Hash = tbl::keyed_hash>
void stress() {
  using table_t = tbl::basic_table<key16, V, tbl::policy::reclaimer<tbl::reclaim::qsbr>, tbl::policy::hash<Hash>>;
  constexpr bool colliding = !std::is_same_v<Hash, tbl::keyed_hash>;
  std::uint64_t group = 0;
  if constexpr (colliding) {
    static_assert(Hash::group == 2 * (2 * table_t::slots + table_t::stash_slots) - 2);
    group = Hash::group;
  }
  tbl::reclaim::qsbr domain;
  // Small initial capacity: the writer's inserts force several growths
  // while readers run.
  auto t = std::make_unique<table_t>(tbl::table_options{.capacity = 256}, domain);
  for (std::uint64_t id = 0; id < live_keys; id += 2) ASSERT_TRUE(t->insert(key_of(id), make_value<V>(id, 1)).ok());
  if constexpr (colliding) {
    ASSERT_GT(t->stashed(), 0u);
  }

  std::vector<std::atomic<bool>> erased(doomed_keys);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> false_misses{0};
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> filtered_bursts{0};
  std::atomic<int> started{0};

  auto reader = [&](unsigned seed) {
    auto r = domain.try_register_reader();
    ASSERT_TRUE(r.has_value());
    std::mt19937_64 rng(seed);
    started.fetch_add(1);
    std::vector<std::uint64_t> last(live_keys, 0);
    std::vector<key16> burst(32);
    std::vector<V> out(32);
    std::uint64_t n = 0;
    std::uint64_t h = 0;
    std::uint64_t filtered = 0;
    for (std::uint64_t round = 0; !stop.load(std::memory_order_relaxed); ++round) {
      for (int i = 0; i < 32; ++i) {
        const std::uint64_t id = rng() % (live_keys + doomed_keys);
        // Read the erased flag before the lookup starts.
        const bool gone = id >= live_keys && erased[id - live_keys].load(std::memory_order_acquire);
        const auto v = t->find(key_of(id));
        ++n;
        if (!v) {
          if (always_present(id)) false_misses.fetch_add(1);
          continue;
        }
        ++h;
        if (!valid(*v, id) || gone) failures.fetch_add(1);
        if (id < live_keys) {
          if (version_of(*v) < last[id]) failures.fetch_add(1);
          last[id] = version_of(*v);
        }
      }
      // Live ids; every other burst mostly ids never inserted (beyond the
      // doomed range) with a few present throughout among them.
      const bool mostly_absent = round % 2 == 1;
      std::uint64_t ids[32];
      for (int i = 0; i < 32; ++i) {
        ids[i] = mostly_absent && i % 4 != 0 ? live_keys + doomed_keys + rng() % 100000 : rng() % live_keys;
        if (mostly_absent && i % 4 == 0) ids[i] &= ~1ull;  // even: present throughout
        burst[static_cast<std::size_t>(i)] = key_of(ids[i]);
      }
      const std::uint64_t mask = t->find_bulk(burst, out);
      n += 32;
      filtered += mostly_absent;
      std::uint64_t newest[32];
      for (int i = 0; i < 32; ++i) {
        newest[i] = 0;
        if (((mask >> i) & 1) == 0) {
          if (always_present(ids[i])) false_misses.fetch_add(1);
          continue;
        }
        ++h;
        const V& v = out[static_cast<std::size_t>(i)];
        if (!valid(v, ids[i]) || ids[i] >= live_keys) {
          failures.fetch_add(1);
          continue;
        }
        // Against earlier calls only: positions within a call are unordered.
        if (version_of(v) < last[ids[i]]) failures.fetch_add(1);
        newest[i] = version_of(v);
      }
      for (int i = 0; i < 32; ++i)
        if (newest[i] != 0) last[ids[i]] = std::max(last[ids[i]], newest[i]);
      r->quiescent();
    }
    lookups.fetch_add(n);
    hits.fetch_add(h);
    filtered_bursts.fetch_add(filtered);
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) threads.emplace_back(reader, 100u + static_cast<unsigned>(i));
  while (started.load() < readers) std::this_thread::yield();
  const std::uint64_t growths_before = t->growths();
  std::uint64_t stash_seen = 0;
  std::uint64_t no_room = 0;

  // Writer: re-point live keys with rising versions, insert/erase the odd
  // live ids, insert the doomed keys, then erase them one by one.
  std::uint64_t version = 2;
  std::uint64_t doomed_inserted = 0;
  std::uint64_t doomed_erased = 0;
  std::mt19937_64 rng(7);
  const auto deadline = clock_type::now() + run_time();
  while (clock_type::now() < deadline) {
    for (int i = 0; i < 256; ++i) {
      const std::uint64_t id = rng() % live_keys;
      const auto st = id % 2 == 0             ? t->insert_or_assign(key_of(id), make_value<V>(id, version))
                      : t->contains(key_of(id)) ? t->erase(key_of(id))
                                                : t->insert(key_of(id), make_value<V>(id, version));
      if (id < group && absl::IsResourceExhausted(st)) {
        ++no_room;
      } else {
        ASSERT_TRUE(st.ok()) << st;
      }
      ++version;
      stash_seen += t->stashed() != 0;
    }
    if (doomed_inserted < doomed_keys) {
      for (int i = 0; i < 64 && doomed_inserted < doomed_keys; ++i, ++doomed_inserted)
        ASSERT_TRUE(t->insert(key_of(live_keys + doomed_inserted), make_value<V>(live_keys + doomed_inserted, 1)).ok());
    } else if (doomed_erased < doomed_keys) {
      ASSERT_TRUE(t->erase(key_of(live_keys + doomed_erased)).ok());
      erased[doomed_erased].store(true, std::memory_order_release);
      ++doomed_erased;
    }
    domain.poll();
  }
  stop.store(true);
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(false_misses.load(), 0u) << "a key present throughout was not found";
  EXPECT_GT(hits.load(), 0u);
  EXPECT_GT(lookups.load(), hits.load());  // misses happened too (odd ids, doomed keys)
  std::printf("stress: %llu lookups, %llu growths while readers ran, %llu writer ops saw a non-empty stash, "
              "%llu found no room\n",
              static_cast<unsigned long long>(lookups.load()), static_cast<unsigned long long>(t->growths() - growths_before),
              static_cast<unsigned long long>(stash_seen), static_cast<unsigned long long>(no_room));
  EXPECT_GT(filtered_bursts.load(), 0u);
  EXPECT_GT(t->growths(), growths_before) << "growth never raced the readers";
  if constexpr (colliding) {
    EXPECT_GT(stash_seen, 0u) << "the stash never held keys while readers ran";
  }
  EXPECT_GT(doomed_erased, 0u);
  for (std::uint64_t i = 0; i < doomed_erased; ++i) EXPECT_FALSE(t->contains(key_of(live_keys + i)));
  t.reset();
  domain.synchronize();
  EXPECT_EQ(domain.pending(), 0u);
}

}  // namespace

TEST(TableStress, WordValuesReplacedInPlace) { stress<std::uint64_t>(); }
TEST(TableStress, WideValuesReplacedOutOfPlace) { stress<wide_value>(); }
TEST(TableStress, LineSizedValuesHeaderLast) { stress<line_value>(); }
TEST(TableStress, StashedKeysWordValues) { stress<std::uint64_t, colliding_hash<22>>(); }
TEST(TableStress, StashedKeysWideValues) { stress<wide_value, colliding_hash<28>>(); }
