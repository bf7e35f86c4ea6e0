// basic_table against a reference model (std::unordered_map under a mutex)
// over >= 10 M random mixed operations, for several key/value/policy shapes.
//
// Operation count: NVO_TABLE_MODEL_OPS in the environment, else 10'000'000
// in plain builds (16 M over the four shapes) and 1'000'000 under sanitizers,
// which run the same code ~10x slower.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "nvo/table/basic_table.hpp"

namespace {

namespace tbl = nvo::table;

struct key16 {
  std::uint64_t a;
  std::uint64_t b;
  friend bool operator==(const key16&, const key16&) = default;
};
struct key16_hash {
  std::size_t operator()(const key16& k) const noexcept {
    std::uint64_t x = k.a ^ (k.b >> 29);  // splitmix64 finalizer
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return static_cast<std::size_t>(x ^ (x >> 31));
  }
};
struct value40 {
  std::uint64_t w[5];
  friend bool operator==(const value40&, const value40&) = default;
};
// With a 16-byte key, a slot of exactly one cache line: the layout whose
// header follows the slots (as l3_forwarding_table's).
struct value48 {
  std::uint64_t w[6];
  friend bool operator==(const value48&, const value48&) = default;
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t default_ops = 1'000'000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr std::uint64_t default_ops = 1'000'000;
#else
constexpr std::uint64_t default_ops = 10'000'000;
#endif
#else
constexpr std::uint64_t default_ops = 10'000'000;
#endif

std::uint64_t op_count() {
  if (const char* e = std::getenv("NVO_TABLE_MODEL_OPS")) return std::strtoull(e, nullptr, 10);
  return default_ops;
}

// The reference: a map under a mutex, as the issue asks.
template <class V>
class model {
 public:
  std::optional<V> find(const key16& k) {
    std::lock_guard g(mu_);
    auto it = m_.find(k);
    return it == m_.end() ? std::nullopt : std::optional<V>(it->second);
  }
  bool insert(const key16& k, const V& v) {
    std::lock_guard g(mu_);
    return m_.emplace(k, v).second;
  }
  void assign(const key16& k, const V& v) {
    std::lock_guard g(mu_);
    m_[k] = v;
  }
  bool erase(const key16& k) {
    std::lock_guard g(mu_);
    return m_.erase(k) == 1;
  }
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    std::lock_guard g(mu_);
    return std::erase_if(m_, [&](const auto& kv) { return pred(kv.first); });
  }
  std::size_t size() {
    std::lock_guard g(mu_);
    return m_.size();
  }

 private:
  std::mutex mu_;
  std::unordered_map<key16, V, key16_hash> m_;
};

template <class V>
V make_value(std::uint64_t x) {
  if constexpr (std::is_same_v<V, std::uint64_t>) {
    return x;
  } else if constexpr (std::is_same_v<V, value48>) {
    return V{{x, ~x, x * 3, x ^ 0x55, x + 7, x * 5}};
  } else {
    return V{{x, ~x, x * 3, x ^ 0x55, x + 7}};
  }
}

// Runs ops random operations over a key space of keyspace keys.
template <class Table, class V>
void run_model(Table& t, std::uint64_t ops, std::uint64_t keyspace, std::uint64_t seed, bool expect_full_errors) {
  model<V> ref;
  std::mt19937_64 rng(seed);
  std::uint64_t full_errors = 0;
  std::vector<key16> burst(64);
  std::vector<V> out(64);
  for (std::uint64_t op = 0; op < ops; ++op) {
    const std::uint64_t r = rng();
    const key16 k{r % keyspace, (r % keyspace) * 0x9E3779B97F4A7C15ull};
    const V v = make_value<V>(rng());
    switch ((r >> 40) % 16) {
      case 0:
      case 1:
      case 2:
      case 3: {  // insert
        const absl::Status st = t.insert(k, v);
        if (st.ok()) {
          ASSERT_TRUE(ref.insert(k, v)) << "op " << op;
        } else if (absl::IsAlreadyExists(st)) {
          ASSERT_TRUE(ref.find(k).has_value()) << "op " << op;
        } else {
          ASSERT_TRUE(absl::IsResourceExhausted(st)) << st;
          ASSERT_TRUE(expect_full_errors) << st;
          ASSERT_FALSE(ref.find(k).has_value());
          ++full_errors;
        }
        break;
      }
      case 4:
      case 5: {  // insert_or_assign
        const absl::Status st = t.insert_or_assign(k, v);
        if (st.ok()) {
          ref.assign(k, v);
        } else {
          ASSERT_TRUE(absl::IsResourceExhausted(st) && expect_full_errors) << st;
          ++full_errors;
        }
        break;
      }
      case 6:
      case 7:
      case 8:
      case 9: {  // erase
        const absl::Status st = t.erase(k);
        ASSERT_EQ(st.ok(), ref.erase(k)) << "op " << op;
        if (!st.ok()) {
          ASSERT_TRUE(absl::IsNotFound(st));
        }
        break;
      }
      case 10: {  // bulk find of a burst of 1..64 keys
        const std::size_t n = 1 + (r >> 8) % 64;
        for (std::size_t i = 0; i < n; ++i) {
          const std::uint64_t x = rng() % keyspace;
          burst[i] = key16{x, x * 0x9E3779B97F4A7C15ull};
        }
        const std::uint64_t hits = t.find_bulk(std::span<const key16>(burst.data(), n), std::span<V>(out));
        for (std::size_t i = 0; i < n; ++i) {
          const auto want = ref.find(burst[i]);
          ASSERT_EQ(((hits >> i) & 1) != 0, want.has_value()) << "op " << op << " lane " << i;
          if (want) {
            ASSERT_EQ(out[i], *want);
          }
        }
        break;
      }
      default: {  // find
        const auto got = t.find(k);
        const auto want = ref.find(k);
        ASSERT_EQ(got.has_value(), want.has_value()) << "op " << op;
        if (want) {
          ASSERT_EQ(*got, *want);
        }
      }
    }
    if ((op & 0xFFFF) == 0x8000) {  // an aging-style sweep drops about a tenth of the keys
      const auto doomed = [residue = (op >> 16) % 10](const key16& key) { return key.a % 10 == residue; };
      ASSERT_EQ(t.erase_if([&](const key16& key, const V&) { return doomed(key); }), ref.erase_if(doomed))
          << "op " << op;
    }
    if ((op & 0xFFFFF) == 0) {
      ASSERT_EQ(t.size(), ref.size());
    }
  }
  ASSERT_EQ(t.size(), ref.size());
  std::size_t seen = 0;
  t.for_each([&](const key16& k, const V& v) {
    const auto want = ref.find(k);
    ASSERT_TRUE(want.has_value());
    ASSERT_EQ(v, *want);
    ++seen;
  });
  EXPECT_EQ(seen, ref.size());
  if (expect_full_errors) {
    EXPECT_GT(full_errors, 0u) << "the fixed-capacity run never filled the table";
  }
}

TEST(TableModel, GrowingTableWordValues) {
  tbl::basic_table<key16, std::uint64_t> t({.capacity = 64});
  run_model<decltype(t), std::uint64_t>(t, op_count(), 50'000, 1, false);
  EXPECT_GT(t.growths(), 5u);
}

TEST(TableModel, GrowingTableMultiWordValuesWithQsbr) {
  tbl::reclaim::qsbr domain;
  tbl::basic_table<key16, value40, tbl::policy::reclaimer<tbl::reclaim::qsbr>> t({.capacity = 64}, domain);
  run_model<decltype(t), value40>(t, op_count() / 2, 20'000, 2, false);
  EXPECT_GT(t.growths(), 5u);
  domain.synchronize();  // no reader registered: everything retired is freed
  EXPECT_EQ(domain.pending(), 0u);
}

TEST(TableModel, LineSizedSlotsHeaderLast) {
  using table_t = tbl::basic_table<key16, value48, tbl::policy::reclaimer<tbl::reclaim::qsbr>>;
  static_assert(table_t::slots == 2);
  tbl::reclaim::qsbr domain;
  table_t grows({.capacity = 64}, domain);
  run_model<table_t, value48>(grows, op_count() / 2, 20'000, 5, false);
  EXPECT_GT(grows.growths(), 5u);
  table_t fixed({.capacity = 2048, .grow = false}, domain);
  run_model<table_t, value48>(fixed, op_count() / 20, 5'000, 6, true);
  domain.synchronize();
}

TEST(TableModel, FixedCapacityReportsFull) {
  // Key space far above capacity: the table fills up and must say so.
  tbl::basic_table<key16, std::uint64_t, tbl::policy::slots_per_bucket<3>> t({.capacity = 4096, .grow = false});
  run_model<decltype(t), std::uint64_t>(t, op_count() / 20, 9'000, 3, true);
  EXPECT_EQ(t.growths(), 0u);
  EXPECT_GE(t.size(), 4096u * 9 / 10);  // filled to near its slot count
}

TEST(TableModel, FixedCapacityMultiWordReplaceNearFull) {
  // Multi-word replaces need a free slot in one of the key's buckets; near
  // full they go through the cuckoo path search.
  tbl::basic_table<key16, value40> t({.capacity = 2048, .grow = false});
  run_model<decltype(t), value40>(t, op_count() / 20, 5'000, 4, true);
}

TEST(TableModel, ErrorsAndPolicies) {
  tbl::basic_table<key16, std::uint64_t> t({.capacity = 16});
  const key16 k{1, 2};
  EXPECT_TRUE(absl::IsNotFound(t.erase(k)));
  ASSERT_TRUE(t.insert(k, 5).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(t.insert(k, 6)));
  EXPECT_EQ(t.find(k), std::optional<std::uint64_t>(5));
  ASSERT_TRUE(t.insert_or_assign(k, 6).ok());
  EXPECT_EQ(t.find(k), std::optional<std::uint64_t>(6));
  EXPECT_EQ(t.size(), 1u);
  static_assert(decltype(t)::slots == 2, "16-byte key + 8-byte value: two slots per 64-byte bucket");
  static_assert(sizeof(key16) + sizeof(std::uint64_t) == 24);
  EXPECT_GE(t.memory_bytes(), t.slot_count() / 2 * 64);  // 64-byte buckets of two slots
}

}  // namespace
