// Readers racing one writer. Built twice: under ThreadSanitizer
// (table_stress_tsan_test, sanitizer preset) and plain or ASan+UBSan
// (table_stress_test), where ASan checks that growth's retired arrays are
// freed only after every reader passed a quiescent state.
//
// Readers check that they only ever observe values some writer wrote for that
// key (never a torn mix: every value carries its key and a checksum of its
// words), that versions per key never go backwards, that a key the writer
// erased for good is never returned by a lookup that starts afterwards, and
// that a key present throughout (even live ids, only ever re-pointed) is never
// missed, whatever cuckoo moves, out-of-place replaces and growths race it.
// Bounded by time (NVO_TABLE_STRESS_MS, default 1500 ms per shape).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
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

// Single-word value: replaced in place by one atomic store.
std::uint64_t make_word(std::uint64_t id, std::uint64_t version) { return version << 20 | id; }
bool valid(std::uint64_t v, std::uint64_t id) { return (v & 0xFFFFF) == id; }
std::uint64_t version_of(std::uint64_t v) { return v >> 20; }

// make_value<V>: the writer's value for (id, version).
template <class V>
V make_value(std::uint64_t id, std::uint64_t version) {
  if constexpr (std::is_same_v<V, std::uint64_t>) {
    return make_word(id, version);
  } else {
    return make_wide(id, version);
  }
}

std::chrono::milliseconds run_time() {
  if (const char* e = std::getenv("NVO_TABLE_STRESS_MS")) return std::chrono::milliseconds(std::atoi(e));
  return std::chrono::milliseconds(1500);
}

constexpr std::uint64_t live_keys = 4096;    // ids [0, live_keys): re-pointed forever
constexpr std::uint64_t doomed_keys = 4096;  // ids [live_keys, +doomed): erased once, for good
constexpr int readers = 2;
// Inserted before the readers start and only re-pointed by the writer.
bool always_present(std::uint64_t id) { return id < live_keys && id % 2 == 0; }

template <class V>
void stress() {
  using table_t = tbl::basic_table<key16, V, tbl::policy::reclaimer<tbl::reclaim::qsbr>>;
  tbl::reclaim::qsbr domain;
  // Small initial capacity: the writer's inserts force several growths
  // while readers run.
  auto t = std::make_unique<table_t>(tbl::table_options{.capacity = 256}, domain);
  for (std::uint64_t id = 0; id < live_keys; id += 2) ASSERT_TRUE(t->insert(key_of(id), make_value<V>(id, 1)).ok());

  std::vector<std::atomic<bool>> erased(doomed_keys);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> false_misses{0};
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> hits{0};

  auto reader = [&](unsigned seed) {
    auto r = domain.try_register_reader();
    ASSERT_TRUE(r.has_value());
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> last(live_keys, 0);
    std::vector<key16> burst(32);
    std::vector<V> out(32);
    std::uint64_t n = 0;
    std::uint64_t h = 0;
    while (!stop.load(std::memory_order_relaxed)) {
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
      std::uint64_t ids[32];
      for (int i = 0; i < 32; ++i) {
        ids[i] = rng() % live_keys;
        burst[static_cast<std::size_t>(i)] = key_of(ids[i]);
      }
      const std::uint64_t mask = t->find_bulk(burst, out);
      n += 32;
      for (int i = 0; i < 32; ++i) {
        if (((mask >> i) & 1) == 0) {
          if (always_present(ids[i])) false_misses.fetch_add(1);
          continue;
        }
        ++h;
        if (!valid(out[static_cast<std::size_t>(i)], ids[i])) failures.fetch_add(1);
      }
      r->quiescent();
    }
    lookups.fetch_add(n);
    hits.fetch_add(h);
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) threads.emplace_back(reader, 100u + static_cast<unsigned>(i));

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
      if (id % 2 == 0) {
        ASSERT_TRUE(t->insert_or_assign(key_of(id), make_value<V>(id, version)).ok());
      } else if (t->contains(key_of(id))) {
        ASSERT_TRUE(t->erase(key_of(id)).ok());
      } else {
        ASSERT_TRUE(t->insert(key_of(id), make_value<V>(id, version)).ok());
      }
      ++version;
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
  EXPECT_GT(t->growths(), 2u) << "growth never raced the readers";
  EXPECT_GT(doomed_erased, 0u);
  for (std::uint64_t i = 0; i < doomed_erased; ++i) EXPECT_FALSE(t->contains(key_of(live_keys + i)));
  t.reset();
  domain.synchronize();
  EXPECT_EQ(domain.pending(), 0u);
}

}  // namespace

TEST(TableStress, WordValuesReplacedInPlace) { stress<std::uint64_t>(); }
TEST(TableStress, WideValuesReplacedOutOfPlace) { stress<wide_value>(); }
