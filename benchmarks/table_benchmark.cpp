// nvo::table::basic_table beside DPDK rte_hash (lock-free mode), liburcu
// cds_lfht, Concurrency Kit ck_ht and absl::flat_hash_map, in one binary.
//
// 16-byte keys {VNI, MAC}, 8-byte values, uniform random probes (hits: keys in
// the table; misses: keys never inserted), tables of 1K / 64K / 1M entries
// (16M with NVO_TABLE_BENCH_16M=1). Names: <operation>/<impl>/<entries>.
//   lookup_hit, lookup_miss          one thread, no writer
//   lookup_hit_writer                one reader while a writer thread re-points
//                                    1 % of the entries every millisecond
// Counters: ns_per_lookup; bytes_per_entry (table memory / entries);
// writer_Mupd_s and writer_target_Mupd_s in the writer runs.
// Peers are compiled in when CMake finds them (NVO_BENCH_DPDK / _URCU / _CK).
// A start-up self-check compares every table's answers and aborts on a mismatch.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "nvo/table/basic_table.hpp"

#ifdef NVO_BENCH_DPDK
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#endif
#ifdef NVO_BENCH_URCU
#include <urcu.h>
#include <urcu/rculfhash.h>
#endif
#ifdef NVO_BENCH_CK
extern "C" {  // ck headers have no C++ guards
#include <ck_ht.h>
}
#endif

namespace {

struct key16 {
  std::uint64_t vni;
  std::uint64_t mac;
  friend bool operator==(const key16&, const key16&) = default;
  template <class H>
  friend H AbslHashValue(H h, const key16& k) {
    return H::combine(std::move(h), k.vni, k.mac);
  }
};
static_assert(sizeof(key16) == 16);

using nvo_table = nvo::table::basic_table<key16, std::uint64_t>;
constexpr std::size_t burst = 32;
constexpr std::size_t probe_count = 1 << 20;

// Keys, probes and value seeds for one size; built once, shared by all impls.
struct dataset {
  std::vector<key16> keys;
  std::vector<key16> hit_probes;
  std::vector<key16> miss_probes;
};

key16 make_key(std::mt19937_64& rng) { return {rng() & 0xFFFFFF, rng() & 0xFEFFFFFFFFFFull}; }

const dataset& data_for(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<dataset>> cache;
  auto& d = cache[n];
  if (!d) {
    d = std::make_unique<dataset>();
    std::mt19937_64 rng(n);
    absl::flat_hash_map<key16, int> seen;
    while (d->keys.size() < n) {
      const key16 k = make_key(rng);
      if (seen.emplace(k, 0).second) d->keys.push_back(k);
    }
    while (d->miss_probes.size() < probe_count) {
      const key16 k = make_key(rng);
      if (!seen.contains(k)) d->miss_probes.push_back(k);
    }
    for (std::size_t i = 0; i < probe_count; ++i) d->hit_probes.push_back(d->keys[rng() % n]);
  }
  return *d;
}

std::uint64_t value_of(std::size_t i) { return i * 2 + 1; }

// ---- the tables behind one interface (templates, no virtual calls in loops) ----

struct nvo_impl {
  static constexpr const char* name = "nvo";
  static constexpr bool has_bulk = true;  // find_bulk and update
  explicit nvo_impl(const dataset& d) : t({.capacity = d.keys.size(), .grow = false}) {
    for (std::size_t i = 0; i < d.keys.size(); ++i)
      if (!t.insert(d.keys[i], value_of(i)).ok()) std::abort();
  }
  bool find(const key16& k, std::uint64_t& v) const {
    const auto r = t.find(k);
    if (r) v = *r;
    return r.has_value();
  }
  std::uint64_t find_bulk(const key16* k, std::uint64_t* v) const {
    return t.find_bulk(std::span<const key16>(k, burst), std::span<std::uint64_t>(v, burst));
  }
  void update(const key16& k, std::uint64_t v) {
    if (!t.insert_or_assign(k, v).ok()) std::abort();
  }
  std::size_t bytes() const { return t.memory_bytes(); }
  nvo_table t;
};

struct absl_impl {
  static constexpr const char* name = "absl_flat";
  static constexpr bool has_bulk = false;
  explicit absl_impl(const dataset& d) {
    m.reserve(d.keys.size());
    for (std::size_t i = 0; i < d.keys.size(); ++i) m.emplace(d.keys[i], value_of(i));
  }
  bool find(const key16& k, std::uint64_t& v) const {
    const auto it = m.find(k);
    if (it == m.end()) return false;
    v = it->second;
    return true;
  }
  std::size_t bytes() const { return m.bucket_count() * (sizeof(std::pair<key16, std::uint64_t>) + 1); }
  absl::flat_hash_map<key16, std::uint64_t> m;
};

#ifdef NVO_BENCH_DPDK
struct dpdk_impl {
  static constexpr const char* name = "dpdk";
  static constexpr bool has_bulk = true;
  explicit dpdk_impl(const dataset& d) {
    rte_malloc_socket_stats before{};
    rte_malloc_get_socket_stats(0, &before);
    static int serial = 0;
    const std::string nm = "nvo_bench_" + std::to_string(serial++);
    rte_hash_parameters p{};
    p.name = nm.c_str();
    p.entries = static_cast<std::uint32_t>(d.keys.size() + d.keys.size() / 4);  // ~50-80 % load, as the baseline
    p.key_len = sizeof(key16);
    p.hash_func = rte_hash_crc;
    p.hash_func_init_val = 0;
    p.socket_id = 0;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    h = rte_hash_create(&p);
    if (h == nullptr) {
      std::fprintf(stderr, "rte_hash_create failed\n");
      std::abort();
    }
    for (std::size_t i = 0; i < d.keys.size(); ++i)
      if (rte_hash_add_key_data(h, &d.keys[i], reinterpret_cast<void*>(value_of(i))) != 0) std::abort();
    rte_malloc_socket_stats after{};
    rte_malloc_get_socket_stats(0, &after);
    mem = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
  }
  ~dpdk_impl() { rte_hash_free(h); }
  bool find(const key16& k, std::uint64_t& v) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(h, &k, &data) < 0) return false;
    v = reinterpret_cast<std::uint64_t>(data);
    return true;
  }
  std::uint64_t find_bulk(const key16* k, std::uint64_t* v) const {
    const void* ptrs[burst];
    for (std::size_t i = 0; i < burst; ++i) ptrs[i] = &k[i];
    std::uint64_t mask = 0;
    rte_hash_lookup_bulk_data(h, ptrs, burst, &mask, reinterpret_cast<void**>(v));
    return mask;
  }
  void update(const key16& k, std::uint64_t v) {
    if (rte_hash_add_key_data(h, &k, reinterpret_cast<void*>(v)) != 0) std::abort();
  }
  std::size_t bytes() const { return mem; }
  rte_hash* h = nullptr;
  std::size_t mem = 0;
};
#endif

#ifdef NVO_BENCH_URCU
struct lfht_node {
  cds_lfht_node node;
  key16 key;
  std::uint64_t value;
};
struct urcu_impl {
  static constexpr const char* name = "cds_lfht";
  static constexpr bool has_bulk = false;
  explicit urcu_impl(const dataset& d) {
    std::size_t buckets = 1;
    while (buckets < d.keys.size()) buckets <<= 1;
    ht = cds_lfht_new(buckets, buckets, buckets, 0, nullptr);
    nodes.resize(d.keys.size());
    for (std::size_t i = 0; i < d.keys.size(); ++i) {
      nodes[i].key = d.keys[i];
      nodes[i].value = value_of(i);
      cds_lfht_node_init(&nodes[i].node);
      cds_lfht_add(ht, hash(d.keys[i]), &nodes[i].node);
    }
  }
  ~urcu_impl() { cds_lfht_destroy(ht, nullptr); }
  static unsigned long hash(const key16& k) {  // CRC32C, as the baseline measured it
    return static_cast<unsigned long>(nvo::table::crc32c_hash{}(k) & 0xFFFFFFFF);
  }
  static int match(cds_lfht_node* n, const void* key) {
    return caa_container_of(n, lfht_node, node)->key == *static_cast<const key16*>(key);
  }
  bool find(const key16& k, std::uint64_t& v) const {
    cds_lfht_iter it;
    rcu_read_lock();
    cds_lfht_lookup(ht, hash(k), match, &k, &it);
    cds_lfht_node* n = cds_lfht_iter_get_node(&it);
    if (n != nullptr) v = caa_container_of(n, lfht_node, node)->value;
    rcu_read_unlock();
    return n != nullptr;
  }
  std::size_t bytes() const { return nodes.size() * sizeof(lfht_node) + (nodes.size() * 2) * sizeof(void*); }
  cds_lfht* ht = nullptr;
  std::vector<lfht_node> nodes;
};
#endif

#ifdef NVO_BENCH_CK
void* ck_alloc(std::size_t n) { return std::malloc(n); }
void* ck_realloc(void* p, std::size_t, std::size_t n, bool) { return std::realloc(p, n); }
void ck_dealloc(void* p, std::size_t, bool) { std::free(p); }
ck_malloc ck_allocator{ck_alloc, ck_realloc, ck_dealloc};
struct ck_impl {
  static constexpr const char* name = "ck_ht";
  static constexpr bool has_bulk = false;
  explicit ck_impl(const dataset& d) : keys(d.keys) {
    if (!ck_ht_init(&ht, CK_HT_MODE_BYTESTRING, nullptr, &ck_allocator, 2 * d.keys.size(), 6602834)) std::abort();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      ck_ht_hash_t h;
      ck_ht_entry_t e;
      ck_ht_hash(&h, &ht, &keys[i], sizeof(key16));
      ck_ht_entry_set(&e, h, &keys[i], sizeof(key16), reinterpret_cast<void*>(value_of(i)));
      if (!ck_ht_put_spmc(&ht, h, &e)) std::abort();
    }
  }
  ~ck_impl() { ck_ht_destroy(&ht); }
  bool find(const key16& k, std::uint64_t& v) const {
    ck_ht_hash_t h;
    ck_ht_entry_t e;
    auto* t = const_cast<ck_ht_t*>(&ht);
    ck_ht_hash(&h, t, &k, sizeof(key16));
    ck_ht_entry_key_set(&e, &k, sizeof(key16));
    if (!ck_ht_get_spmc(t, h, &e)) return false;
    v = reinterpret_cast<std::uint64_t>(ck_ht_entry_value(&e));
    return true;
  }
  std::size_t bytes() const { return 2 * keys.size() * sizeof(ck_ht_entry_t); }
  ck_ht_t ht;
  std::vector<key16> keys;  // BYTESTRING mode keeps pointers to keys
};
#endif

template <class Impl>
Impl& table_for(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Impl>> cache;
  auto& t = cache[n];
  if (!t) t = std::make_unique<Impl>(data_for(n));
  return *t;
}

// ---- benchmark bodies ---------------------------------------------------------

template <class Impl>
void finish(benchmark::State& st, std::size_t n, std::size_t lookups) {
  st.counters["ns_per_lookup"] = benchmark::Counter(static_cast<double>(lookups) * 1e-9,
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  st.counters["bytes_per_entry"] = static_cast<double>(table_for<Impl>(n).bytes()) / static_cast<double>(n);
  st.SetItemsProcessed(static_cast<std::int64_t>(lookups));
}

template <class Impl>
void single(benchmark::State& st, std::size_t n, bool hit) {
  const Impl& t = table_for<Impl>(n);
  const auto& probes = hit ? data_for(n).hit_probes : data_for(n).miss_probes;
  std::size_t i = 0;
  std::uint64_t sum = 0;
  std::size_t found = 0;
  for (auto _ : st) {
    std::uint64_t v = 0;
    found += t.find(probes[i], v);
    sum += v;
    i = (i + 1) & (probe_count - 1);
  }
  benchmark::DoNotOptimize(sum);
  if (found != (hit ? static_cast<std::size_t>(st.iterations()) : 0)) st.SkipWithError("wrong hit count");
  finish<Impl>(st, n, static_cast<std::size_t>(st.iterations()));
}

template <class Impl>
void bulk(benchmark::State& st, std::size_t n, bool hit) {
  const Impl& t = table_for<Impl>(n);
  const auto& probes = hit ? data_for(n).hit_probes : data_for(n).miss_probes;
  std::size_t i = 0;
  std::uint64_t out[burst];
  std::uint64_t sum = 0;
  std::size_t found = 0;
  for (auto _ : st) {
    const std::uint64_t mask = t.find_bulk(&probes[i], out);
    found += static_cast<std::size_t>(std::popcount(mask));
    sum += out[0];
    i = (i + burst) & (probe_count - 1);
  }
  benchmark::DoNotOptimize(sum);
  if (found != (hit ? static_cast<std::size_t>(st.iterations()) * burst : 0)) st.SkipWithError("wrong hit count");
  finish<Impl>(st, n, static_cast<std::size_t>(st.iterations()) * burst);
}

// Writer thread: every millisecond re-points 1 % of the entries (at least one).
template <class Impl>
struct writer {
  writer(Impl& t, const dataset& d) : t_(t), d_(d), th_([this] { run(); }) {}
  ~writer() { stop(); }
  void stop() {
    stop_.store(true);
    if (th_.joinable()) th_.join();
  }
  double mupd_per_s() const { return static_cast<double>(updates_.load()) / seconds_.load() / 1e6; }
  void run() {
    using clk = std::chrono::steady_clock;
    const std::size_t n = d_.keys.size();
    const std::size_t batch = std::max<std::size_t>(1, n / 100);
    std::mt19937_64 rng(99);
    const auto start = clk::now();
    auto next = start;
    std::uint64_t done = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      for (std::size_t j = 0; j < batch; ++j) {
        const std::size_t k = rng() % n;
        t_.update(d_.keys[k], value_of(k));  // same value: readers' checks stay exact
      }
      done += batch;
      next += std::chrono::milliseconds(1);
      std::this_thread::sleep_until(next);
    }
    updates_.store(done);
    seconds_.store(std::chrono::duration<double>(clk::now() - start).count());
  }
  Impl& t_;
  const dataset& d_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> updates_{0};
  std::atomic<double> seconds_{1};
  std::thread th_;
};

template <class Impl, bool Bulk>
void with_writer(benchmark::State& st, std::size_t n) {
  Impl& t = table_for<Impl>(n);
  const dataset& d = data_for(n);
  std::size_t lookups = 0;
  double rate = 0;
  {
    writer<Impl> w(t, d);  // starts re-pointing before the timed loop
    std::size_t i = 0;
    std::uint64_t out[burst];
    std::uint64_t sum = 0;
    std::size_t found = 0;
    for (auto _ : st) {
      if constexpr (Bulk) {
        found += static_cast<std::size_t>(std::popcount(t.find_bulk(&d.hit_probes[i], out)));
        sum += out[0];
        i = (i + burst) & (probe_count - 1);
      } else {
        std::uint64_t v = 0;
        found += t.find(d.hit_probes[i], v);
        sum += v;
        i = (i + 1) & (probe_count - 1);
      }
    }
    benchmark::DoNotOptimize(sum);
    lookups = static_cast<std::size_t>(st.iterations()) * (Bulk ? burst : 1);
    if (found != lookups) st.SkipWithError("a key vanished while being re-pointed");
    w.stop();
    rate = w.mupd_per_s();
  }
  finish<Impl>(st, n, lookups);
  st.counters["writer_Mupd_s"] = rate;
  st.counters["writer_target_Mupd_s"] = static_cast<double>(std::max<std::size_t>(1, n / 100)) * 1e3 / 1e6;
}

// Self-check: every table answers like the key set for hits and misses.
template <class Impl>
void check(std::size_t n) {
  const Impl& t = table_for<Impl>(n);
  const dataset& d = data_for(n);
  for (std::size_t i = 0; i < std::min<std::size_t>(n, 4096); ++i) {
    std::uint64_t v = 0;
    if (!t.find(d.keys[i], v) || v != value_of(i) || t.find(d.miss_probes[i], v)) {
      std::fprintf(stderr, "self-check failed: %s n=%zu i=%zu\n", Impl::name, n, i);
      std::abort();
    }
  }
}

template <class Impl>
void register_impl(std::size_t n) {
  auto name = [n](const char* op, const char* variant) { return fmt::format("{}/{}_{}/{}", op, Impl::name, variant, n); };
  benchmark::RegisterBenchmark(name("lookup_hit", "single").c_str(), [n](benchmark::State& s) { single<Impl>(s, n, true); });
  benchmark::RegisterBenchmark(name("lookup_miss", "single").c_str(), [n](benchmark::State& s) { single<Impl>(s, n, false); });
  if constexpr (Impl::has_bulk) {  // bulk lookup and writer runs
    benchmark::RegisterBenchmark(name("lookup_hit", "bulk32").c_str(), [n](benchmark::State& s) { bulk<Impl>(s, n, true); });
    benchmark::RegisterBenchmark(name("lookup_miss", "bulk32").c_str(), [n](benchmark::State& s) { bulk<Impl>(s, n, false); });
    benchmark::RegisterBenchmark(name("lookup_hit_writer", "single").c_str(),
                                 [n](benchmark::State& s) { with_writer<Impl, false>(s, n); })->UseRealTime();
    benchmark::RegisterBenchmark(name("lookup_hit_writer", "bulk32").c_str(),
                                 [n](benchmark::State& s) { with_writer<Impl, true>(s, n); })->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
#ifdef NVO_BENCH_DPDK
  const bool big = std::getenv("NVO_TABLE_BENCH_16M") != nullptr;
  std::string mem = big ? "4096" : "1024";
  std::vector<std::string> eal_args = {"table_benchmark", "--no-huge", "--no-pci", "--no-telemetry", "-m", mem,
                                       "--no-shconf", "--log-level=lib.eal:error", "--lcores=0@(0,1)"};
  std::vector<char*> eal_argv;
  for (auto& a : eal_args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
#endif
#ifdef NVO_BENCH_URCU
  rcu_register_thread();
#endif
  std::vector<std::size_t> sizes = {1 << 10, 1 << 16, 1 << 20};
  if (std::getenv("NVO_TABLE_BENCH_16M") != nullptr) sizes.push_back(1 << 24);
  for (const std::size_t n : sizes) {
    register_impl<nvo_impl>(n);
    register_impl<absl_impl>(n);
#ifdef NVO_BENCH_DPDK
    register_impl<dpdk_impl>(n);
#endif
#ifdef NVO_BENCH_URCU
    register_impl<urcu_impl>(n);
#endif
#ifdef NVO_BENCH_CK
    register_impl<ck_impl>(n);
#endif
  }
  benchmark::Initialize(&argc, argv);
  // Self-check only the sizes the filter will touch would need the filter;
  // checking 1K and 64K is cheap and catches wiring mistakes for every impl.
  for (const std::size_t n : {std::size_t{1} << 10, std::size_t{1} << 16}) {
    check<nvo_impl>(n);
    check<absl_impl>(n);
#ifdef NVO_BENCH_DPDK
    check<dpdk_impl>(n);
#endif
#ifdef NVO_BENCH_URCU
    check<urcu_impl>(n);
#endif
#ifdef NVO_BENCH_CK
    check<ck_impl>(n);
#endif
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
