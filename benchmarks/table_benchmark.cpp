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
//
// The rows above measure the one basic_table shape with single-line buckets
// (and the AVX-512 vector scan). The tables users get are measured by the
// L2Lookup / L3Lookup rows (l2/l3_forwarding_table, multi-line buckets, the
// scalar scan, whole records returned) beside rte_hash + a record array, and
// the Hash/ rows compare the hash policies: see "the shipped forwarding
// tables" below.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "bench_context.hpp"
#include "fmt/format.h"
#include "nvo/table/basic_table.hpp"
#include "nvo/table/forwarding.hpp"
#include "nvo/table/hash.hpp"

#ifdef NVO_BENCH_DPDK
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
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

// ==== the shipped forwarding tables: l2_forwarding_table / l3_forwarding_table ====
//
// Rows <group>/<op>/<impl>/<entries>, group L2Lookup ({VNI, MAC} 12-byte key ->
// 32-byte tunnel_endpoint) or L3Lookup ({domain, CA IP} 24-byte key -> 40-byte
// l3_entry); every lookup returns the whole record (copied out, and read).
//   impl nvo      the shipped table with its default hash policy (keyed_hash)
//        nvo_crc  the same table with policy::hash<crc32c_hash> (L2 only)
//        dpdk     rte_hash (RW_CONCURRENCY_LF, rte_hash_crc) as a DPDK application
//                 stores the record: key = the same 12/24-byte key, data = an
//                 index into a record array (rte_zmalloc'd), read after the
//                 lookup (rte_hash_lookup_data / rte_hash_lookup_bulk_data).
//   op   hit_single, miss_single, hit_bulk32, miss_bulk32   no writer
//        hit_single_writer, hit_bulk32_writer                a writer thread, paced at
//            writer_target_Mupd_s, re-points random entries to their other endpoint
//            (nvo: add_static on a present key, an out-of-place replace of the
//            multi-word record; dpdk: new record into a free slot, then
//            rte_hash_add_key_data re-points the key) and toggles random "extra"
//            keys in and out (insert/erase churn near full load: cuckoo moves).
//        hit_bulk32_refresh (nvo, L2)  an l2_forwarding_table<learning<true>>
//            holding `entries` learned MACs while a writer re-learns all of them
//            flat out, now_s + 1 per pass (every MAC refreshed each "second").
// <group>Paired/<op>/nvo_vs_dpdk/<entries> (64K, 1M; the four reader-only ops):
//   nvo_speedup, DPDK's time over nvo's for the same probes, the two timed in
//   alternation within each iteration (see fwd_paired); nvo_ns and peer_ns,
//   the median ns per lookup of each side.
// Sizing, the same for both: room for entries + headroom(entries) keys
// (nvo capacity, DPDK `entries`); the churn keys use that headroom. DPDK rounds
// its bucket array up to a power of two, so 1M is the worst case for its
// memory and 1.5M (1572864, hit_bulk32 only) a fair one.
// DPDK record reclamation: a retired record slot (and, as the LF mode does not
// free a deleted key's slot, a deleted extra key's position) is reused only
// after a grace period of one rte_rcu_qsbr variable: the reader reports
// rte_rcu_qsbr_quiescent once per burst of 32 lookups (in the writer rows
// only; nvo readers need no call, its records are inline), the writer takes
// one rte_rcu_qsbr_start token per 1 ms batch and frees a batch when
// rte_rcu_qsbr_check passes (non-blocking; it waits, spinning, only if the
// spare records or the free key slots run out).
// Counters: ns_per_lookup (the reader thread's CPU time per lookup, in the
// writer rows too: on a shared machine real time would add the reader's
// preemptions; the writer has its own thread); bytes_per_entry (memory /
// entries: nvo by mallinfo2 around construction and filling; dpdk by
// rte_malloc heap stats around rte_hash_create, filling and the record array;
// they match its layout to 0.1 %: pow2(entries) / 8 buckets of 64 bytes,
// entries + 1 key entries of 32 bytes (8-byte data word + key, 16-aligned), a
// free-slot ring of pow2(entries + 1) 4-byte slots, and entries + spare
// records); writer_Mupd_s (achieved re-points + churn ops),
// writer_fail (ops that found no room; must be 0); refreshes_per_s in the
// refresh row.
// Hash/<impl>/<key>/<throughput|latency>: keyed_hash vs crc32c_hash on
// l2_key / l3_key, ns_per_hash over 256 independent keys (throughput) or a
// chain in which each hash picks the next key (latency, plus an L1 load).
namespace fwd {
namespace nt = nvo::table;
using ip_t = decltype(nt::tunnel_endpoint{}.provider);
using mac_t = decltype(nt::l2_key{}.mac);

constexpr std::size_t fburst = 32;
constexpr std::size_t full_size = 1572864;  // 1.5 * 2^20: not a power of two
// Churn keys: 1/64 of the entries, at least 256 (DPDK frees a deleted key's
// slot only after a grace period, so a small table needs more than one
// batch's ~50 erases of spare key slots).
std::size_t headroom(std::size_t n) { return std::max<std::size_t>(256, n / 64); }
std::size_t room(std::size_t n) { return n + headroom(n); }

std::size_t malloc_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

ip_t v4(std::uint32_t a) {
  ip_t ip;
  ip.version = 4;
  for (std::size_t b = 0; b < 4; ++b) ip.octets[b] = static_cast<std::uint8_t>(a >> (24 - 8 * b));
  return ip;
}

// Records are tagged so a torn copy shows: version v (0/1, what a re-point
// flips) sits in the provider address (first word) and in tunnel_id's top
// byte (fourth word); the key's index in both.
nt::tunnel_endpoint endpoint_of(std::uint32_t vni, std::size_t i, unsigned v) {
  nt::tunnel_endpoint ep{};
  ep.provider = v4((10u + v) << 24 | static_cast<std::uint32_t>(i & 0xFFFFFF));
  ep.tunnel_id = vni | static_cast<std::uint64_t>(i & 0xFFFFFFFF) << 24 | static_cast<std::uint64_t>(v) << 56;
  return ep;
}
std::uint64_t torn_endpoint(const nt::tunnel_endpoint& e) {
  return (e.provider.octets[0] ^ 10u ^ (e.tunnel_id >> 56)) | (e.provider.octets[3] ^ ((e.tunnel_id >> 24) & 0xFF));
}

struct l2 {
  using key = nt::l2_key;
  using value = nt::tunnel_endpoint;
  static constexpr const char* group = "L2Lookup";
  static constexpr const char* key_name = "l2_key";
  static constexpr std::uint64_t salt = 2;
  // 4000 VNIs (a host's FDB spans a few thousand), random unicast MACs.
  static key make_key(std::mt19937_64& rng) {
    key k{};
    k.vni = static_cast<std::uint32_t>(rng() % 4000 + 1);
    k.mac = mac_t::from_u64((rng() & 0xFEFFFFFFFFFFull) | 0x020000000000ull);  // unicast, locally administered
    return k;
  }
  static value make_value(const key& k, std::size_t i, unsigned v) { return endpoint_of(k.vni, i, v); }
  static std::uint64_t torn(const value& e) { return torn_endpoint(e); }
  static std::uint64_t tag(const value& e) { return e.tunnel_id; }
  template <class... P>
  using table = nt::l2_forwarding_table<P...>;
  static nt::l2_options options(std::size_t cap) {
    nt::l2_options o;
    o.entries.capacity = cap;
    o.entries.grow = false;
    return o;
  }
  template <class T>
  static bool add(T& t, const key& k, const value& v) { return t.add_static(k.vni, k.mac, v).ok(); }
  template <class T>
  static bool remove(T& t, const key& k) { return t.remove(k.vni, k.mac).ok(); }
  template <class T>
  static std::optional<value> lookup(const T& t, const key& k) { return t.lookup(k.vni, k.mac); }
  template <class T>
  static bool lookup_into(const T& t, const key& k, value& v) { return t.lookup(k.vni, k.mac, v); }
};

struct l3 {
  using key = nt::l3_key;
  using value = nt::l3_entry;
  static constexpr const char* group = "L3Lookup";
  static constexpr const char* key_name = "l3_key";
  static constexpr std::uint64_t salt = 3;
  // 4000 domains; CA half IPv4, half IPv6.
  static key make_key(std::mt19937_64& rng) {
    key k{};
    k.domain = static_cast<std::uint32_t>(rng() % 4000 + 1);
    const std::uint64_t a = rng();
    const std::uint64_t b = rng();
    k.ca.version = (a & 1) ? 6 : 4;
    std::memcpy(k.ca.octets.data(), &b, 8);
    if (k.ca.version == 6) std::memcpy(k.ca.octets.data() + 8, &a, 8);
    else std::fill(k.ca.octets.begin() + 4, k.ca.octets.end(), std::uint8_t{0});
    return k;
  }
  static value make_value(const key& k, std::size_t i, unsigned v) {
    value e{};
    e.endpoint = endpoint_of(k.domain, i, v);
    e.ca_mac = mac_t::from_u64(static_cast<std::uint64_t>(v) << 40 | (i & 0xFFFFFFFFFFull));
    return e;
  }
  static std::uint64_t torn(const value& e) {
    return torn_endpoint(e.endpoint) | (e.ca_mac.octets[0] ^ (e.endpoint.tunnel_id >> 56));
  }
  static std::uint64_t tag(const value& e) { return e.endpoint.tunnel_id; }
  template <class... P>
  using table = nt::l3_forwarding_table<P...>;
  static nt::table_options options(std::size_t cap) {
    nt::table_options o;
    o.capacity = cap;
    o.grow = false;
    return o;
  }
  template <class T>
  static bool add(T& t, const key& k, const value& v) { return t.add(k.domain, k.ca, v).ok(); }
  template <class T>
  static bool remove(T& t, const key& k) { return t.remove(k.domain, k.ca).ok(); }
  template <class T>
  static std::optional<value> lookup(const T& t, const key& k) { return t.lookup(k.domain, k.ca); }
  template <class T>
  static bool lookup_into(const T& t, const key& k, value& v) { return t.lookup(k.domain, k.ca, v); }
};

template <class K>
struct bytes_hash {
  std::size_t operator()(const K& k) const {
    return absl::Hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(&k), sizeof(K)));
  }
};

// Keys (in the table), extras (the writer's churn keys, never probed), hit
// probes (uniform over keys) and miss probes (in neither): one set per size,
// shared by every impl.
template <class Tr>
struct fdata {
  std::vector<typename Tr::key> keys, extras, hit_probes, miss_probes;
};

template <class Tr>
const fdata<Tr>& fdata_for(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<fdata<Tr>>> cache;
  auto& d = cache[n];
  if (!d) {
    d = std::make_unique<fdata<Tr>>();
    std::mt19937_64 rng(n * 1000 + Tr::salt);
    absl::flat_hash_set<typename Tr::key, bytes_hash<typename Tr::key>> seen;
    seen.reserve(room(n));
    auto fresh = [&](std::vector<typename Tr::key>& v, std::size_t count) {
      while (v.size() < count) {
        const auto k = Tr::make_key(rng);
        if (seen.insert(k).second) v.push_back(k);
      }
    };
    fresh(d->keys, n);
    fresh(d->extras, headroom(n));
    while (d->miss_probes.size() < probe_count) {
      const auto k = Tr::make_key(rng);
      if (!seen.contains(k)) d->miss_probes.push_back(k);
    }
    d->hit_probes.reserve(probe_count);
    for (std::size_t i = 0; i < probe_count; ++i) d->hit_probes.push_back(d->keys[rng() % n]);
  }
  return *d;
}

// ---- nvo: the shipped tables ----------------------------------------------------

// "nvo" is the default table type when its default hash is keyed_hash (the
// table users get), else the same table with keyed_hash named explicitly.
template <class Tr>
using nvo_default_t = std::conditional_t<
    std::is_same_v<typename nt::basic_table<typename Tr::key, typename Tr::value>::hasher, nt::keyed_hash>,
    typename Tr::template table<>, typename Tr::template table<nt::policy::hash<nt::keyed_hash>>>;

struct tag_nvo {
  static constexpr const char* name = "nvo";
};
struct tag_nvo_crc {
  static constexpr const char* name = "nvo_crc";
};

template <class Tr, class Table, class Tag>
struct nvo_fwd {
  using key = typename Tr::key;
  using value = typename Tr::value;
  static constexpr const char* name = Tag::name;
  explicit nvo_fwd(const fdata<Tr>& d) : d_(d), ver_(d.keys.size(), 0) {
    const std::size_t before = malloc_in_use();
    t_ = std::make_unique<Table>(Tr::options(room(d.keys.size())));
    for (std::size_t i = 0; i < d.keys.size(); ++i)
      if (!Tr::add(*t_, d.keys[i], Tr::make_value(d.keys[i], i, 0))) {
        std::fprintf(stderr, "%s/%s: add failed at %zu\n", Tr::group, name, i);
        std::abort();
      }
    mem_ = malloc_in_use() - before;
  }
  bool find(const key& k, value& v) const { return Tr::lookup_into(*t_, k, v); }
  std::uint64_t find_bulk(const key* k, value* v) const {
    return t_->lookup_bulk(std::span<const key>(k, fburst), std::span<value>(v, fburst));
  }
  // Reader side: nothing (no record leaves the table by pointer).
  void reader_online() {}
  void reader_quiescent() {}
  void reader_offline() {}
  // Writer side.
  bool repoint(std::size_t i) { return Tr::add(*t_, d_.keys[i], Tr::make_value(d_.keys[i], i, ver_[i] ^= 1)); }
  bool insert_extra(std::size_t j) {
    const std::size_t n = d_.keys.size();
    return Tr::add(*t_, d_.extras[j], Tr::make_value(d_.extras[j], n + j, 0));
  }
  bool erase_extra(std::size_t j) { return Tr::remove(*t_, d_.extras[j]); }
  void batch_end() {}
  void writer_finish() {}
  std::size_t bytes() const { return mem_; }

  const fdata<Tr>& d_;
  std::unique_ptr<Table> t_;
  std::vector<std::uint8_t> ver_;  // writer only: each key's current endpoint version
  std::size_t mem_ = 0;
};

// The refresh row: learned entries, re-learned by the writer.
struct nvo_learning {
  using key = nt::l2_key;
  using value = nt::tunnel_endpoint;
  using table = nt::l2_forwarding_table<nt::policy::learning<true>>;
  static constexpr const char* name = "nvo";
  static ip_t pa_of(std::size_t i) { return v4(10u << 24 | static_cast<std::uint32_t>(i & 0xFFFFFF)); }
  explicit nvo_learning(const fdata<l2>& d) : d_(d) {
    const std::size_t before = malloc_in_use();
    t_ = std::make_unique<table>(l2::options(room(d.keys.size())));
    for (std::size_t i = 0; i < d.keys.size(); ++i)
      if (t_->learn(d.keys[i].vni, d.keys[i].mac, pa_of(i), now_s_) != nt::learn_result::learned) {
        std::fprintf(stderr, "learning table: learn failed at %zu\n", i);
        std::abort();
      }
    mem_ = malloc_in_use() - before;
  }
  std::uint64_t find_bulk(const key* k, value* v) const {
    return t_->lookup_bulk(std::span<const key>(k, fburst), std::span<value>(v, fburst));
  }
  std::size_t bytes() const { return mem_; }
  const fdata<l2>& d_;
  std::unique_ptr<table> t_;
  std::uint32_t now_s_ = 1000;  // advances one per refresh pass, across runs
  std::size_t mem_ = 0;
};

#ifdef NVO_BENCH_DPDK
// ---- DPDK: rte_hash + record array ---------------------------------------------
template <class Tr>
struct dpdk_fwd {
  using key = typename Tr::key;
  using value = typename Tr::value;
  static constexpr const char* name = "dpdk";
  static constexpr std::uint32_t key_pos_flag = 0x80000000u;  // pending item is a key position, not a record
  explicit dpdk_fwd(const fdata<Tr>& d) : d_(d), n_(d.keys.size()) {
    rte_malloc_socket_stats before{};
    rte_malloc_get_socket_stats(0, &before);
    static int serial = 0;  // one per Tr: the group keeps names unique
    const std::string nm = fmt::format("nvo_{}_{}", Tr::group, serial++);
    const std::size_t entries = room(n_);
    rte_hash_parameters p{};
    p.name = nm.c_str();
    p.entries = static_cast<std::uint32_t>(entries);
    p.key_len = sizeof(key);
    p.hash_func = rte_hash_crc;
    p.hash_func_init_val = 0;
    p.socket_id = 0;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    h_ = rte_hash_create(&p);
    // Records: one per key slot (entries) plus a spare pool for re-points in flight.
    const std::size_t spare = std::max<std::size_t>(2048, n_ / 64);
    nrec_ = entries + spare;
    rec_ = static_cast<value*>(rte_zmalloc_socket("nvo_fwd_rec", nrec_ * sizeof(value), RTE_CACHE_LINE_SIZE, 0));
    qs_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc_socket("nvo_fwd_qs", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE, 0));
    if (h_ == nullptr || rec_ == nullptr || qs_ == nullptr || rte_rcu_qsbr_init(qs_, 1) != 0) {
      std::fprintf(stderr, "dpdk_fwd: create failed (EAL memory?)\n");
      std::abort();
    }
    cur_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      rec_[i] = Tr::make_value(d.keys[i], i, 0);
      cur_[i] = static_cast<std::uint32_t>(i);
      if (rte_hash_add_key_data(h_, &d.keys[i], as_data(i)) != 0) {
        std::fprintf(stderr, "dpdk_fwd: add failed at %zu\n", i);
        std::abort();
      }
    }
    for (std::size_t j = 0; j < d.extras.size(); ++j) rec_[n_ + j] = Tr::make_value(d.extras[j], n_ + j, 0);
    for (std::size_t s = entries; s < nrec_; ++s) free_.push_back(static_cast<std::uint32_t>(s));
    ver_.assign(n_, 0);
    rte_malloc_socket_stats after{};
    rte_malloc_get_socket_stats(0, &after);
    mem_ = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
  }
  ~dpdk_fwd() {
    rte_hash_free(h_);
    rte_free(rec_);
    rte_free(qs_);
  }
  static void* as_data(std::size_t idx) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(idx)); }
  bool find(const key& k, value& v) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(h_, &k, &data) < 0) return false;
    v = rec_[reinterpret_cast<std::uintptr_t>(data)];
    return true;
  }
  std::uint64_t find_bulk(const key* k, value* v) const {
    const void* ptrs[fburst];
    void* data[fburst];
    for (std::size_t i = 0; i < fburst; ++i) ptrs[i] = &k[i];
    std::uint64_t mask = 0;
    rte_hash_lookup_bulk_data(h_, ptrs, fburst, &mask, data);
    for (std::uint64_t m = mask; m != 0; m &= m - 1) {
      const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
      v[i] = rec_[reinterpret_cast<std::uintptr_t>(data[i])];
    }
    return mask;
  }
  // Reader side (thread id 0 of the QSBR variable).
  void reader_online() {
    rte_rcu_qsbr_thread_register(qs_, 0);
    rte_rcu_qsbr_thread_online(qs_, 0);
  }
  void reader_quiescent() { rte_rcu_qsbr_quiescent(qs_, 0); }
  void reader_offline() {
    rte_rcu_qsbr_thread_offline(qs_, 0);  // before the writer's final reclaim
  }
  void reader_unregister() { rte_rcu_qsbr_thread_unregister(qs_, 0); }
  // Writer side.
  bool repoint(std::size_t i) {
    const std::uint32_t slot = take_free();
    rec_[slot] = Tr::make_value(d_.keys[i], i, ver_[i] ^= 1);
    // LF mode: an existing key's data is replaced by one release store.
    if (rte_hash_add_key_data(h_, &d_.keys[i], as_data(slot)) != 0) return false;
    pending_.push_back(cur_[i]);  // readers may still copy the old record
    cur_[i] = slot;
    return true;
  }
  bool insert_extra(std::size_t j) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const int r = rte_hash_add_key_data(h_, &d_.extras[j], as_data(n_ + j));
      if (r == 0) return true;
      if (r != -ENOSPC) return false;
      wait_reclaim();  // key slots of deleted extras still in their grace period
    }
    return false;
  }
  bool erase_extra(std::size_t j) {
    const std::int32_t pos = rte_hash_del_key(h_, &d_.extras[j]);
    if (pos < 0) return false;
    pending_.push_back(static_cast<std::uint32_t>(pos) | key_pos_flag);  // no_free_on_del in LF mode
    return true;
  }
  // One grace-period token per batch of retirements.
  void batch_end() {
    if (!pending_.empty()) {
      retired_.push_back({rte_rcu_qsbr_start(qs_), std::move(pending_)});
      pending_.clear();
    }
    reclaim();
  }
  void reclaim() {
    while (!retired_.empty() && rte_rcu_qsbr_check(qs_, retired_.front().token, false) == 1) {
      for (const std::uint32_t x : retired_.front().items) {
        if (x & key_pos_flag) rte_hash_free_key_with_position(h_, static_cast<std::int32_t>(x & ~key_pos_flag));
        else free_.push_back(x);
      }
      retired_.pop_front();
    }
  }
  // Waits until at least the oldest batch is reclaimed (the reader reports
  // once per burst, so this is short).
  void wait_reclaim() {
    batch_end();
    const std::size_t before = retired_.size();
    for (unsigned spin = 0; !retired_.empty() && retired_.size() >= before; ++spin) {
      relax(spin);
      reclaim();
    }
  }
  // Spin (the reader reports within a burst); yield only if it was preempted.
  static void relax(unsigned spin) {
    if (spin < 2000) rte_pause();
    else std::this_thread::yield();
  }
  std::uint32_t take_free() {
    while (free_.empty()) {
      if (retired_.empty() && pending_.empty()) {
        std::fprintf(stderr, "dpdk_fwd: record pool exhausted\n");
        std::abort();
      }
      wait_reclaim();
    }
    const std::uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  void writer_finish() {
    batch_end();
    for (unsigned spin = 0; !retired_.empty(); ++spin) {
      relax(spin);
      reclaim();
    }
  }
  std::size_t bytes() const { return mem_; }

  struct batch {
    std::uint64_t token;
    std::vector<std::uint32_t> items;
  };
  const fdata<Tr>& d_;
  std::size_t n_;
  rte_hash* h_ = nullptr;
  value* rec_ = nullptr;
  std::size_t nrec_ = 0;
  rte_rcu_qsbr* qs_ = nullptr;
  std::vector<std::uint32_t> cur_;   // writer: each key's record slot
  std::vector<std::uint8_t> ver_;    // writer: each key's endpoint version
  std::vector<std::uint32_t> free_;  // writer: record slots nobody can be reading
  std::vector<std::uint32_t> pending_;
  std::deque<batch> retired_;
  std::size_t mem_ = 0;
};
#endif

template <class Tr, class Impl>
void check_fwd(const Impl& t, const fdata<Tr>& d);

template <class Tr, class Impl>
Impl& fwd_table(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Impl>> cache;
  auto& t = cache[n];
  if (!t) {
    t = std::make_unique<Impl>(fdata_for<Tr>(n));
    check_fwd<Tr>(*t, fdata_for<Tr>(n));  // every table, every size, when first built
  }
  return *t;
}

// Self-check: single and bulk answers (hits, misses, mixed bursts) equal the
// records the data set put in; called once per table before any writer ran,
// so nvo, nvo_crc and dpdk are compared record for record.
template <class Tr, class Impl>
void check_fwd(const Impl& t, const fdata<Tr>& d) {
  const std::size_t n = d.keys.size();
  const std::size_t m = std::min<std::size_t>(n, 4096) / fburst * fburst;
  auto fail = [&](const char* what, std::size_t i) {
    std::fprintf(stderr, "self-check failed: %s/%s n=%zu i=%zu: %s\n", Tr::group, Impl::name, n, i, what);
    std::abort();
  };
  for (std::size_t i = 0; i < m; ++i) {
    typename Tr::value v{};
    if (!t.find(d.keys[i], v)) fail("hit missed", i);
    if (!(v == Tr::make_value(d.keys[i], i, 0))) fail("wrong record", i);
    if (t.find(d.miss_probes[i], v)) fail("miss hit", i);
  }
  for (std::size_t b = 0; b < m; b += fburst) {
    typename Tr::key k[fburst];
    typename Tr::value v[fburst];
    const std::uint64_t pattern = 0x5A5AF00FCC33A5C3ull >> (b / fburst % 8);  // bit set: hit
    std::uint64_t want = 0;
    for (std::size_t j = 0; j < fburst; ++j) {
      const bool hit = (pattern >> j) & 1;
      k[j] = hit ? d.keys[b + j] : d.miss_probes[b + j];
      want |= static_cast<std::uint64_t>(hit) << j;
    }
    if (t.find_bulk(k, v) != want) fail("bulk hit mask", b);
    for (std::size_t j = 0; j < fburst; ++j)
      if (((want >> j) & 1) && !(v[j] == Tr::make_value(d.keys[b + j], b + j, 0))) fail("bulk record", b + j);
    if (t.find_bulk(&d.miss_probes[b], v) != 0) fail("bulk miss hit", b);
  }
}

template <>
void check_fwd<l2, nvo_learning>(const nvo_learning& t, const fdata<l2>& d) {
  const std::size_t m = std::min<std::size_t>(d.keys.size(), 4096) / fburst * fburst;
  for (std::size_t b = 0; b < m; b += fburst) {
    nt::tunnel_endpoint v[fburst];
    bool ok = t.find_bulk(&d.keys[b], v) == (fburst == 64 ? ~0ull : (1ull << fburst) - 1);
    for (std::size_t j = 0; j < fburst && ok; ++j)
      ok = v[j].provider == nvo_learning::pa_of(b + j) && !v[j].is_static() && v[j].tunnel_id == d.keys[b + j].vni;
    if (!ok || t.find_bulk(&d.miss_probes[b], v) != 0) {
      std::fprintf(stderr, "self-check failed: learning table n=%zu burst %zu\n", d.keys.size(), b);
      std::abort();
    }
  }
}

// ---- bodies -------------------------------------------------------------------

template <class Impl>
void fwd_finish(benchmark::State& st, const Impl& t, std::size_t n, std::size_t lookups, std::uint64_t bad) {
  st.counters["ns_per_lookup"] = benchmark::Counter(static_cast<double>(lookups) * 1e-9,
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  st.counters["bytes_per_entry"] = static_cast<double>(t.bytes()) / static_cast<double>(n);
  st.SetItemsProcessed(static_cast<std::int64_t>(lookups));
  if (bad != 0) st.SkipWithError("a lookup returned a torn record");
}

// One step of a reader: a burst of fburst lookups (Bulk) or one lookup; every
// record found is read. Returns the hits.
template <class Tr, class Impl, bool Bulk>
NVO_ALWAYS_INLINE std::size_t fwd_probe(const Impl& t, const typename Tr::key* probes, std::uint64_t& sum,
                                        std::uint64_t& bad) {
  if constexpr (Bulk) {
    typename Tr::value out[fburst];
    const std::uint64_t mask = t.find_bulk(probes, out);
    for (std::uint64_t m = mask; m != 0; m &= m - 1) {
      const auto& v = out[std::countr_zero(m)];
      sum += Tr::tag(v);
      bad |= Tr::torn(v);
    }
    benchmark::DoNotOptimize(out);
    return static_cast<std::size_t>(std::popcount(mask));
  } else {
    typename Tr::value v;
    if (!t.find(*probes, v)) return 0;
    benchmark::DoNotOptimize(v);
    sum += Tr::tag(v);
    bad |= Tr::torn(v);
    return 1;
  }
}
constexpr std::size_t probe_step(bool bulk) { return bulk ? fburst : 1; }

// One reader loop for every row: single or bulk, hits or misses; with a
// writer (Quiesce) it reports a quiescent state once per 32 lookups (a no-op
// for nvo).
template <class Tr, class Impl, bool Bulk, bool Quiesce>
void fwd_read_loop(benchmark::State& st, Impl& t, const std::vector<typename Tr::key>& probes, bool hit, std::size_t n) {
  std::size_t i = 0;
  std::size_t found = 0;
  std::uint64_t sum = 0;
  std::uint64_t bad = 0;
  for (auto _ : st) {
    found += fwd_probe<Tr, Impl, Bulk>(t, &probes[i], sum, bad);
    if constexpr (Quiesce)
      if (Bulk || (i & (fburst - 1)) == fburst - 1) t.reader_quiescent();
    i = (i + probe_step(Bulk)) & (probe_count - 1);
  }
  benchmark::DoNotOptimize(sum);
  const std::size_t lookups = static_cast<std::size_t>(st.iterations()) * probe_step(Bulk);
  if (found != (hit ? lookups : 0)) st.SkipWithError("wrong hit count (a key vanished?)");
  fwd_finish(st, t, n, lookups, bad);
}

template <class Tr, class Impl, bool Bulk>
void fwd_lookup(benchmark::State& st, std::size_t n, bool hit) {
  Impl& t = fwd_table<Tr, Impl>(n);
  const auto& d = fdata_for<Tr>(n);
  fwd_read_loop<Tr, Impl, Bulk, false>(st, t, hit ? d.hit_probes : d.miss_probes, hit, n);
}

// <group>Paired/<op>/nvo_vs_<peer>/<entries>: the same probe window through
// both tables in alternation, 32768 lookups each per iteration (which goes
// first alternates too); nvo_speedup is the median of peer time / nvo time
// over the iterations. Neighbours' load on a shared machine then slows both
// sides of a ratio alike, which separate rows cannot promise. The window is
// long (about a millisecond) because each side evicts the other's cached
// lines: with short windows every switch would re-warm the cache, which
// neither table pays when it runs alone.
template <class Tr, class Nvo, class Peer, bool Bulk>
void fwd_paired(benchmark::State& st, std::size_t n, bool hit) {
  using clock = std::chrono::steady_clock;
  constexpr std::size_t window = 1024 * fburst;
  Nvo& a = fwd_table<Tr, Nvo>(n);
  Peer& b = fwd_table<Tr, Peer>(n);
  const auto& d = fdata_for<Tr>(n);
  const auto& probes = hit ? d.hit_probes : d.miss_probes;
  std::size_t base = 0;
  std::uint64_t sum = 0;
  std::uint64_t bad = 0;
  std::size_t found_a = 0;
  std::size_t found_b = 0;
  std::vector<double> ratios;
  std::vector<double> nvo_ns;
  std::vector<double> peer_ns;
  bool nvo_first = true;
  auto run = [&](const auto& t, std::size_t& found) {
    using T = std::remove_cvref_t<decltype(t)>;
    const auto t0 = clock::now();
    for (std::size_t j = 0; j < window; j += probe_step(Bulk))
      found += fwd_probe<Tr, T, Bulk>(t, &probes[base + j], sum, bad);
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  for (auto _ : st) {
    double ta = 0;
    double tb = 0;
    if (nvo_first) {
      ta = run(a, found_a);
      tb = run(b, found_b);
    } else {
      tb = run(b, found_b);
      ta = run(a, found_a);
    }
    nvo_first = !nvo_first;
    ratios.push_back(tb / ta);
    nvo_ns.push_back(ta * 1e9 / window);
    peer_ns.push_back(tb * 1e9 / window);
    base = (base + window) & (probe_count - 1);
  }
  benchmark::DoNotOptimize(sum);
  const std::size_t lookups = static_cast<std::size_t>(st.iterations()) * window;
  if (found_a != (hit ? lookups : 0) || found_b != found_a) st.SkipWithError("wrong hit count");
  if (bad != 0) st.SkipWithError("a lookup returned a torn record");
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  st.counters["nvo_speedup"] = median(ratios);
  st.counters["nvo_ns"] = median(nvo_ns);
  st.counters["peer_ns"] = median(peer_ns);
}

// The writer: every millisecond, repoints_per_ms re-points of random keys and
// churn_per_ms toggles of random extra keys (insert if absent, erase if
// present: about headroom/2 extras present, so the table runs near full
// load), then one batch_end (DPDK's grace-period token). At the end it erases
// the extras so the table holds its `entries` keys again.
constexpr std::size_t repoints_per_ms = 100;
constexpr std::size_t churn_per_ms = 100;

template <class Impl>
struct fwd_writer {
  fwd_writer(Impl& t, std::size_t n, std::size_t k) : t_(t), n_(n), present_(k, 0), th_([this] { run(); }) {}
  ~fwd_writer() { stop(); }
  void stop() {
    stop_.store(true);
    if (th_.joinable()) th_.join();
  }
  void run() {
    using clk = std::chrono::steady_clock;
    std::mt19937_64 rng(99);
    const auto start = clk::now();
    auto next = start;
    while (!stop_.load(std::memory_order_relaxed)) {
      for (std::size_t r = 0; r < repoints_per_ms; ++r) fails_ += !t_.repoint(rng() % n_);
      for (std::size_t c = 0; c < churn_per_ms; ++c) {
        const std::size_t j = rng() % present_.size();
        if (present_[j]) {
          fails_ += !t_.erase_extra(j);
          present_[j] = 0;
        } else if (t_.insert_extra(j)) {
          present_[j] = 1;
        } else {
          ++fails_;
        }
      }
      updates_ += repoints_per_ms + churn_per_ms;
      t_.batch_end();
      next += std::chrono::milliseconds(1);
      std::this_thread::sleep_until(next);
    }
    seconds_ = std::chrono::duration<double>(clk::now() - start).count();
    for (std::size_t j = 0; j < present_.size(); ++j)
      if (present_[j]) fails_ += !t_.erase_extra(j);
    t_.writer_finish();
  }
  Impl& t_;
  std::size_t n_;
  std::vector<std::uint8_t> present_;
  std::atomic<bool> stop_{false};
  std::uint64_t updates_ = 0;  // read after join
  std::uint64_t fails_ = 0;
  double seconds_ = 1;
  std::thread th_;
};

template <class Tr, class Impl, bool Bulk>
void fwd_with_writer(benchmark::State& st, std::size_t n) {
  Impl& t = fwd_table<Tr, Impl>(n);
  const auto& d = fdata_for<Tr>(n);
  t.reader_online();
  double rate = 0;
  std::uint64_t fails = 0;
  {
    fwd_writer<Impl> w(t, n, d.extras.size());  // starts before the timed loop
    fwd_read_loop<Tr, Impl, Bulk, true>(st, t, d.hit_probes, true, n);
    t.reader_offline();
    w.stop();
    rate = static_cast<double>(w.updates_) / w.seconds_ / 1e6;
    fails = w.fails_;
  }
  if constexpr (requires { t.reader_unregister(); }) t.reader_unregister();
  st.counters["writer_Mupd_s"] = rate;
  st.counters["writer_target_Mupd_s"] = static_cast<double>(repoints_per_ms + churn_per_ms) * 1e3 / 1e6;
  st.counters["writer_fail"] = static_cast<double>(fails);
  if (fails != 0) st.SkipWithError("the writer found no room");
}

// Refresh: a writer re-learns every MAC, pass after pass, now_s + 1 per pass.
void fwd_refresh(benchmark::State& st, std::size_t n) {
  nvo_learning& t = fwd_table<l2, nvo_learning>(n);
  const auto& d = fdata_for<l2>(n);
  std::atomic<bool> stop{false};
  std::uint64_t refreshes = 0;
  std::uint64_t wrong = 0;
  double seconds = 1;
  std::thread writer([&] {
    const auto start = std::chrono::steady_clock::now();
    while (!stop.load(std::memory_order_relaxed)) {
      ++t.now_s_;
      for (std::size_t i = 0; i < n && !(i % 1024 == 0 && stop.load(std::memory_order_relaxed)); ++i) {
        wrong += t.t_->learn(d.keys[i].vni, d.keys[i].mac, nvo_learning::pa_of(i), t.now_s_) != nt::learn_result::refreshed;
        ++refreshes;
      }
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  std::size_t i = 0;
  std::size_t found = 0;
  std::uint64_t sum = 0;
  for (auto _ : st) {
    nt::tunnel_endpoint out[fburst];
    const std::uint64_t mask = t.find_bulk(&d.hit_probes[i], out);
    found += static_cast<std::size_t>(std::popcount(mask));
    for (std::uint64_t m = mask; m != 0; m &= m - 1) sum += out[std::countr_zero(m)].tunnel_id;
    benchmark::DoNotOptimize(out);
    i = (i + fburst) & (probe_count - 1);
  }
  stop.store(true);
  writer.join();
  benchmark::DoNotOptimize(sum);
  const std::size_t lookups = static_cast<std::size_t>(st.iterations()) * fburst;
  fwd_finish(st, t, n, lookups, 0);
  st.counters["refreshes_per_s"] = static_cast<double>(refreshes) / seconds;
  if (found != lookups) st.SkipWithError("a learned MAC vanished while refreshed");
  if (wrong != 0) st.SkipWithError("learn() did not report refreshed");
}

// ---- hash policies ------------------------------------------------------------

template <class H, class Tr, bool Chain>
void hash_row(benchmark::State& st) {
  const H h{};
  const auto& keys = fdata_for<Tr>(1024).keys;
  constexpr std::size_t per_iter = 256;
  std::size_t base = 0;
  for (auto _ : st) {
    if constexpr (Chain) {
      // Latency: the previous hash picks the next key (adds an L1 load; a key
      // modified in place would add store-forwarding stalls instead).
      std::uint64_t x = base;
      for (std::size_t j = 0; j < per_iter; ++j) x = h(keys[x & 1023]);
      benchmark::DoNotOptimize(x);
    } else {  // throughput: independent keys
      std::uint64_t acc = 0;
      for (std::size_t j = 0; j < per_iter; ++j) acc += h(keys[(base + j) & 1023]);
      benchmark::DoNotOptimize(acc);
    }
    base = (base + per_iter) & 1023;
  }
  st.counters["ns_per_hash"] = benchmark::Counter(static_cast<double>(st.iterations() * per_iter) * 1e-9,
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class H, class Tr>
void register_hash(const char* impl) {
  benchmark::RegisterBenchmark(fmt::format("Hash/{}/{}/throughput", impl, Tr::key_name).c_str(), hash_row<H, Tr, false>);
  benchmark::RegisterBenchmark(fmt::format("Hash/{}/{}/latency", impl, Tr::key_name).c_str(), hash_row<H, Tr, true>);
}

// ---- registration -------------------------------------------------------------

template <class Tr, class Impl>
void register_fwd(std::size_t n) {
  auto name = [n](const char* op) { return fmt::format("{}/{}/{}/{}", Tr::group, op, Impl::name, n); };
  benchmark::RegisterBenchmark(name("hit_bulk32").c_str(), [n](benchmark::State& s) { fwd_lookup<Tr, Impl, true>(s, n, true); });
  if (n == full_size) return;  // the non-power-of-two size: memory and hit_bulk32 only
  benchmark::RegisterBenchmark(name("hit_single").c_str(), [n](benchmark::State& s) { fwd_lookup<Tr, Impl, false>(s, n, true); });
  benchmark::RegisterBenchmark(name("miss_single").c_str(), [n](benchmark::State& s) { fwd_lookup<Tr, Impl, false>(s, n, false); });
  benchmark::RegisterBenchmark(name("miss_bulk32").c_str(), [n](benchmark::State& s) { fwd_lookup<Tr, Impl, true>(s, n, false); });
  benchmark::RegisterBenchmark(name("hit_single_writer").c_str(),
                               [n](benchmark::State& s) { fwd_with_writer<Tr, Impl, false>(s, n); });
  benchmark::RegisterBenchmark(name("hit_bulk32_writer").c_str(),
                               [n](benchmark::State& s) { fwd_with_writer<Tr, Impl, true>(s, n); });
}

template <class Tr, class Nvo, class Peer>
void register_paired(std::size_t n) {
  auto name = [n](const char* op) { return fmt::format("{}Paired/{}/nvo_vs_{}/{}", Tr::group, op, Peer::name, n); };
  benchmark::RegisterBenchmark(name("hit_bulk32").c_str(), [n](benchmark::State& s) { fwd_paired<Tr, Nvo, Peer, true>(s, n, true); });
  benchmark::RegisterBenchmark(name("hit_single").c_str(), [n](benchmark::State& s) { fwd_paired<Tr, Nvo, Peer, false>(s, n, true); });
  benchmark::RegisterBenchmark(name("miss_bulk32").c_str(), [n](benchmark::State& s) { fwd_paired<Tr, Nvo, Peer, true>(s, n, false); });
  benchmark::RegisterBenchmark(name("miss_single").c_str(), [n](benchmark::State& s) { fwd_paired<Tr, Nvo, Peer, false>(s, n, false); });
}

using l2_nvo = nvo_fwd<l2, nvo_default_t<l2>, tag_nvo>;
using l2_nvo_crc = nvo_fwd<l2, l2::table<nt::policy::hash<nt::crc32c_hash>>, tag_nvo_crc>;
using l3_nvo = nvo_fwd<l3, nvo_default_t<l3>, tag_nvo>;
#ifdef NVO_BENCH_DPDK
using l2_dpdk = dpdk_fwd<l2>;
using l3_dpdk = dpdk_fwd<l3>;
#endif

void register_all() {
  for (const std::size_t n : {std::size_t{1} << 10, std::size_t{1} << 16, std::size_t{1} << 20, full_size}) {
    register_fwd<l2, l2_nvo>(n);
    register_fwd<l2, l2_nvo_crc>(n);
#ifdef NVO_BENCH_DPDK
    register_fwd<l2, l2_dpdk>(n);
#endif
    register_fwd<l3, l3_nvo>(n);
#ifdef NVO_BENCH_DPDK
    register_fwd<l3, l3_dpdk>(n);
#endif
  }
#ifdef NVO_BENCH_DPDK
  for (const std::size_t n : {std::size_t{1} << 16, std::size_t{1} << 20}) {
    register_paired<l2, l2_nvo, l2_dpdk>(n);
    register_paired<l3, l3_nvo, l3_dpdk>(n);
  }
#endif
  for (const std::size_t n : {std::size_t{1} << 10, std::size_t{1} << 20})
    benchmark::RegisterBenchmark(fmt::format("L2Lookup/hit_bulk32_refresh/nvo/{}", n).c_str(),
                                 [n](benchmark::State& s) { fwd_refresh(s, n); });
  register_hash<nt::keyed_hash, l2>("keyed");
  register_hash<nt::crc32c_hash, l2>("crc32c");
  register_hash<nt::keyed_hash, l3>("keyed");
  register_hash<nt::crc32c_hash, l3>("crc32c");
}

// Start-up: build and check every forwarding table at 1K and 64K.
void check_all() {
  for (const std::size_t n : {std::size_t{1} << 10, std::size_t{1} << 16}) {
    fwd_table<l2, l2_nvo>(n);
    fwd_table<l2, l2_nvo_crc>(n);
    fwd_table<l3, l3_nvo>(n);
#ifdef NVO_BENCH_DPDK
    fwd_table<l2, l2_dpdk>(n);
    fwd_table<l3, l3_dpdk>(n);
#endif
  }
  fwd_table<l2, nvo_learning>(1 << 10);
}

}  // namespace fwd

}  // namespace

int main(int argc, char** argv) {
#ifdef NVO_BENCH_DPDK
  const bool big = std::getenv("NVO_TABLE_BENCH_16M") != nullptr;
  std::string mem = big ? "4096" : "2048";  // the forwarding rows' rte_hash tables and record arrays need ~0.6 GB
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
  fwd::register_all();
  nvo_bench::add_context();
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
  fwd::check_all();  // the forwarding tables: also checked whenever a larger one is first built
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
