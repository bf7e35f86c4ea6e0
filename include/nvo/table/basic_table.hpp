// File: nvo/table/basic_table.hpp
// basic_table<Key, Value, Policies...>: a concurrent hash table with lock-free
// readers and one writer, the engine under nvo's CA->PA forwarding tables.
//
//   nvo::table::basic_table<key, value, nvo::table::policy::reclaimer<nvo::table::reclaim::qsbr>>
//       t({.capacity = 1 << 20}, domain);
//   absl::Status st = t.insert_or_assign(k, v);          // writer thread
//   std::optional<value> v = t.find(k);                  // any thread
//   std::uint64_t hits = t.find_bulk(keys, values);      // any thread, <= 64 keys
//
// LAYOUT
// ------
// An array of buckets, each one or more whole cache lines, addressed by two
// independent hash lanes (2-choice cuckoo hashing). Keys and values live
// inline in the bucket, so a hit in the primary bucket reads one cache line
// (DPDK's rte_hash reads a bucket line and then a key-store line).
//
//   bucket (16-byte key, 8-byte value: 64 bytes, 2 slots)
//   +-------------------------------+------------------------+------------------------+------+
//   | header: 48-bit generation |   | slot 0: key[2w] val[1w] | slot 1: key[2w] val[1w] | free |
//   | 8b overflow | 8b PUBLISHED    |                        |                        |      |
//   +-------------------------------+------------------------+------------------------+------+
//      8 bytes                         24 bytes                 24 bytes                 8
//
// The overflow count is how many keys whose primary bucket this is live in
// their secondary bucket (saturating at 255, then sticky). While it is zero a
// bulk lookup that missed here skips the secondary: a miss then costs one
// bucket line, not two.
//
// Slot states: FREE (mask bit clear; only the writer touches it) and
// PUBLISHED (mask bit set; its key never changes while published, and its
// value changes only if the value is a single 64-bit word, by one atomic
// store). Every change of a bucket's mask also bumps its generation.
// All words are std::atomic<std::uint64_t> accessed relaxed except where a
// numbered order says otherwise, so a racing reader's copy is never a data
// race; the header check below discards copies that raced. One exception:
// built with AVX-512F (and not under TSan) for the 2-slot 16-byte-key 8-byte-
// value layout, scan() reads a bucket's keys with one 64-byte vector load
// (not a C++ atomic access) between the same (R3) load and (R4) fence; key
// words change only while their slot is FREE, which the header check
// detects, and values are still read by one atomic word load.
//
// With 2 slots per bucket the table is sized for 80 % load (90 % with more
// slots); 2-choice cuckoo with 2-slot buckets holds up to ~89 %.
// Short signatures (DPDK's 16-bit tags compared with SIMD) do not pay here: a
// bucket holds 2-3 slots and a 16-byte key compare is one vector compare.
//
// READ PROTOCOL (lookups, any number of threads)
//   scan(bucket): h1 = header (R3 acquire); compare the keys of the PUBLISHED
//   slots and copy the value of a match; fence (R4 acquire); reread header; if
//   unchanged the copy is consistent, else rescan. A rescan happens only after
//   the writer completed a publish on that bucket.
//   find: primary bucket, then secondary. find_bulk reads a missed key's
//   secondary only if its primary's overflow count is non-zero: a key present
//   throughout is in its primary, or in its secondary with the count non-zero
//   all along, or it moved. A miss is confirmed by the table's
//   move counter (R1 acquire ... R5 fence, R6 reload): a key the writer moves
//   between its buckets (cuckoo displacement, or an out-of-place replace) is
//   published in its destination before the counter is bumped (W5 release)
//   and unpublished from its source after, so a reader that missed it in both
//   buckets sees the counter change and searches again.
//
// WRITE PROTOCOL (one writer thread at a time; callers serialize writers)
//   A slot is written only while FREE: (W1) release fence, relaxed stores of
//   the words, then (W2) release store of the header that publishes it. The
//   fence orders the stores after the earlier unpublishing of that slot, so a
//   reader that copies the new words also sees the header change (R4 syncs
//   with W1) and discards its copy. Unpublishing is (W2) as well.
//   A key is counted in its primary's overflow count (W2 store of that header)
//   before it is published in its secondary, and uncounted after it is
//   unpublished there: while a key sits in its secondary, its primary's count
//   is non-zero.
//   Single-word values are replaced in place by one relaxed store (W3): a
//   reader sees the old or the new word, never a mix.
//   Growth builds a bigger bucket array the readers cannot see yet, then
//   publishes it with a release store of the state pointer (W6, paired with
//   R2) and retires the old array through the reclaimer.
//
// MEMORY ORDERS
//   (R1) acquire-load of moves_       synchronizes-with (W5)
//   (R2) acquire-load of state_       synchronizes-with (W6)
//   (R3) acquire-load of header       synchronizes-with (W2)
//   (R4) acquire fence after the copy synchronizes-with (W1) via the copied words
//   (R5) acquire fence before (R6), synchronizes-with (W1)/(W2) of the source unpublish
//   (R6) relaxed reload of moves_
//   (W1) release fence before writing a FREE slot
//   (W2) release-store of header (publish, unpublish, overflow count change)
//   (W3) relaxed store of a single-word value in place
//   (W5) release-store of moves_ between the destination publish and the source unpublish
//   (W6) release-store of state_ after growth
//
// PROGRESS GUARANTEES
//   find, find_bulk, contains: lock-free. They never wait for the writer: a
//     retry happens only because the writer completed a publish or a move
//     meanwhile, and a writer preempted mid-operation leaves every PUBLISHED
//     slot intact. No allocation, locks, exceptions or virtual calls.
//   insert, insert_or_assign, erase, erase_if, grow: blocking only with
//     respect to other writers (one writer at a time, serialized by the
//     caller); they never wait for readers. Growth allocates and rehashes on
//     the writer thread (O(n)) while readers keep using the old array.
//
// CAPACITY
//   options.capacity entries fit without growth. When a key cannot be placed
//   (cuckoo path search fails), the table doubles if options.grow is set, else
//   reports absl::ResourceExhaustedError("table full"). With reclaim::none the
//   replaced arrays stay allocated until the table is destroyed.
//
// READERS AND RECLAMATION
//   Readers of a growable table must be inside the reclaimer's read side (a
//   QSBR reader between quiescent states, or the embedder's RCU read lock);
//   a table that never grows (options.grow = false) needs nothing.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NVO_TABLE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(NVO_TABLE_TSAN)
#define NVO_TABLE_TSAN 1
#endif
// The one-vector bucket compare (see scan()) needs AVX-512F in the build
// (-march=native on a CPU that has it); TSan builds keep the scalar path,
// whose per-word atomic loads TSan can check.
#if defined(__AVX512F__) && !defined(NVO_TABLE_TSAN) && !defined(NVO_TABLE_NO_VECTOR_SCAN)
#define NVO_TABLE_VECTOR_SCAN 1
#include <immintrin.h>
#endif

#include "absl/status/status.h"
#include "nvo/config.hpp"
#include "nvo/table/hash.hpp"
#include "nvo/table/policy.hpp"
#include "nvo/table/reclaim.hpp"

NVO_BEGIN_NAMESPACE
namespace table {

struct table_options {
  std::size_t capacity = 1024;  // entries that fit without growing
  bool grow = true;             // on a full table: grow (true) or report ResourceExhausted (false)
};

template <table_key Key, table_value Value, class... Policies>
class basic_table {
  static_assert((detail::is_known_policy<Policies>::value && ...),
                "basic_table: unknown policy; use policy::hash<H>, policy::reclaimer<R>, policy::slots_per_bucket<N>");

 public:
  using key_type = Key;
  using mapped_type = Value;
  using hasher = detail::type_param_t<policy::hash, crc32c_hash, Policies...>;
  using reclaimer_type = detail::type_param_t<policy::reclaimer, reclaim::none, Policies...>;
  static_assert(hash_policy<hasher, Key>, "basic_table: policy::hash<H> needs a noexcept H(key) -> std::uint64_t");
  static_assert(reclaimer<reclaimer_type>, "basic_table: policy::reclaimer<R> needs R::retire(void*, void(*)(void*))");

  static constexpr std::size_t key_words = (sizeof(Key) + 7) / 8;
  static constexpr std::size_t value_words = (sizeof(Value) + 7) / 8;
  static constexpr std::size_t slot_words = key_words + value_words;
  static constexpr std::size_t cache_line = 64;

 private:
  // Fill whole cache lines with at least two slots.
  static constexpr std::size_t auto_slots() {
    const std::size_t lines = (8 + 2 * slot_words * 8 + cache_line - 1) / cache_line;
    return std::min<std::size_t>(8, (lines * cache_line - 8) / (slot_words * 8));
  }

 public:
  static constexpr std::size_t slots = detail::slots_param<auto_slots(), Policies...>::value;
  static_assert(slots >= 2 && slots <= 8, "basic_table: policy::slots_per_bucket<N> needs 2 <= N <= 8");

 private:
  static constexpr std::uint64_t mask_bits = 8;
  static constexpr std::uint64_t slot_mask = (1u << slots) - 1;
  static constexpr std::uint64_t overflow_shift = mask_bits;
  static constexpr std::uint64_t overflow_max = 0xFF;
  static constexpr std::uint64_t overflow_field = overflow_max << overflow_shift;
  static constexpr std::uint64_t generation_one = 1ull << (mask_bits + 8);
  static constexpr bool inline_value_update = value_words == 1;
#ifdef NVO_TABLE_VECTOR_SCAN
  // The inline layout of the benchmark and forwarding keys: header, slot 0
  // (key, key, value), slot 1 (key, key, value), one spare word.
  static constexpr bool vector_scan = slots == 2 && key_words == 2 && value_words == 1;
#else
  static constexpr bool vector_scan = false;
#endif

  struct alignas(cache_line) bucket {
    std::atomic<std::uint64_t> header{0};  // generation << 16 | overflow count << 8 | PUBLISHED mask
    std::atomic<std::uint64_t> words[slots][slot_words]{};
  };
  static constexpr std::size_t lines_per_bucket = sizeof(bucket) / cache_line;

  struct state {
    explicit state(std::size_t n) : nb(n), buckets(new bucket[n]) {}
    std::size_t nb;
    std::unique_ptr<bucket[]> buckets;
  };

  using key_words_t = std::array<std::uint64_t, key_words>;
  using value_words_t = std::array<std::uint64_t, value_words>;

 public:
  // basic_table(options): owns a default-constructed reclaimer.
  explicit basic_table(table_options options = {})
    requires std::default_initializable<reclaimer_type>
      : options_(options), owned_(std::make_unique<reclaimer_type>()), reclaimer_(owned_.get()) {
    state_.store(new state(buckets_for(options.capacity)), std::memory_order_relaxed);
  }
  // basic_table(options, r): retires through r, which must outlive the table's retirements.
  basic_table(table_options options, reclaimer_type& r) : options_(options), reclaimer_(&r) {
    state_.store(new state(buckets_for(options.capacity)), std::memory_order_relaxed);
  }
  basic_table(const basic_table&) = delete;
  basic_table& operator=(const basic_table&) = delete;
  // PRECONDITION: no reader uses the table any more.
  ~basic_table() { delete state_.load(std::memory_order_relaxed); }

  // ---- lookups: any thread, lock-free --------------------------------------

  // find(): the value of key, or nullopt.
  [[nodiscard]] std::optional<Value> find(const Key& key) const noexcept {
    const key_words_t kw = to_words<key_words>(key);
    const std::uint64_t h = hasher_(key);
    for (;;) {
      // (R1) acquire: pairs with (W5).
      const std::uint64_t moves = moves_.load(std::memory_order_acquire);
      // (R2) acquire: pairs with (W6).
      const state* s = state_.load(std::memory_order_acquire);
      const std::size_t p = primary(h, s->nb);
      const std::size_t q = secondary(h, p, s->nb);
      prefetch(&s->buckets[q]);  // overlaps a possible second miss with the first
      value_words_t vw;
      // Both buckets, whatever the primary's overflow count: q's line is
      // already on its way, and a branch on the count mispredicts on misses.
      if (scan(s->buckets[p], kw, vw)) return from_words<Value>(vw);
      if (scan(s->buckets[q], kw, vw)) return from_words<Value>(vw);
      // (R5) then (R6): a key moved between the two scans bumped moves_.
      std::atomic_thread_fence(std::memory_order_acquire);
      if (NVO_PREDICT_TRUE(moves_.load(std::memory_order_relaxed) == moves)) return std::nullopt;
    }
  }

  [[nodiscard]] bool contains(const Key& key) const noexcept { return find(key).has_value(); }

  static constexpr std::size_t max_burst = 64;

  // find_bulk(): looks up keys.size() <= 64 keys; out[i] is the value of
  // keys[i] for each hit and unspecified for a miss.
  // Returns the hit mask (bit i: keys[i] found). Stages: hash every key and
  // prefetch its primary bucket, so the cache misses of the whole burst
  // overlap; scan the primaries (branch-free); prefetch the secondaries of the
  // keys not found, then scan those; confirm the remaining misses with one
  // move-counter check for the whole burst (R5/R6), re-running only the
  // misses through find() if a move happened meanwhile.
  // PRECONDITION: keys.size() <= max_burst, out.size() >= keys.size().
  [[nodiscard]] std::uint64_t find_bulk(std::span<const Key> keys, std::span<Value> out) const noexcept {
    NVO_ASSERT(keys.size() <= max_burst && out.size() >= keys.size());
    const std::size_t n = keys.size();
    std::array<std::uint32_t, max_burst> b1;
    std::array<std::uint32_t, max_burst> b2;
    std::array<std::uint32_t, max_burst> hi;  // the hash's secondary lane
    const std::uint64_t moves = moves_.load(std::memory_order_acquire);  // (R1)
    const state* s = state_.load(std::memory_order_acquire);             // (R2)
    // In a local: the (R4) fences would otherwise reload it for every key.
    const bucket* const bk = s->buckets.get();
    const std::size_t nb = s->nb;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t h = hasher_(keys[i]);
      b1[i] = static_cast<std::uint32_t>(primary(h, nb));
      hi[i] = static_cast<std::uint32_t>(h >> 32);
      prefetch(&bk[b1[i]]);
    }
    std::uint64_t hits = 0;
    value_words_t vw;
    for (std::size_t i = 0; i < n; ++i) {
      const bool hit = scan(bk[b1[i]], to_words<key_words>(keys[i]), vw);
      out[i] = from_words<Value>(vw);  // unspecified on a miss, as documented
      hits |= static_cast<std::uint64_t>(hit) << i;
    }
    const std::uint64_t all = n == 64 ? ~0ull : (1ull << n) - 1;
    std::uint64_t misses = all & ~hits;
    // Secondaries only for the keys the primaries missed: most keys live in
    // their primary bucket, and on a DRAM-sized table the lines a burst
    // fetches, not the instructions, bound its time. A burst that mostly
    // missed also skips the keys whose primary counts no overflow (absent
    // keys, mostly). A burst of mostly hits does not filter: its primary
    // misses are keys that sit in their secondary, whose primaries all count
    // one, and the header reads cost its hit loop 5-10 %. The count is reread
    // here (the line is cached): carrying it out of scan() cost more.
    std::uint64_t second = misses;
    if (2 * static_cast<std::size_t>(std::popcount(misses)) > n) {
      second = 0;
      for (std::uint64_t m = misses; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        const bool overflow = (bk[b1[i]].header.load(std::memory_order_acquire) & overflow_field) != 0;
        second |= static_cast<std::uint64_t>(overflow) << i;
      }
    }
    for (std::uint64_t m = second; m != 0; m &= m - 1) {
      const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
      b2[i] = static_cast<std::uint32_t>(secondary(std::uint64_t{hi[i]} << 32, b1[i], nb));
      prefetch(&bk[b2[i]]);
    }
    for (std::uint64_t m = second; m != 0; m &= m - 1) {
      const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
      const bool hit = scan(bk[b2[i]], to_words<key_words>(keys[i]), vw);
      out[i] = from_words<Value>(vw);  // out[i] is unspecified on a miss: store without a branch
      hits |= static_cast<std::uint64_t>(hit) << i;
    }
    misses = all & ~hits;
    if (misses != 0) {
      std::atomic_thread_fence(std::memory_order_acquire);  // (R5)
      if (NVO_PREDICT_FALSE(moves_.load(std::memory_order_relaxed) != moves)) {  // (R6)
        for (; misses != 0; misses &= misses - 1) {
          const std::size_t i = static_cast<std::size_t>(std::countr_zero(misses));
          if (auto v = find(keys[i])) {
            out[i] = *v;
            hits |= 1ull << i;
          }
        }
      }
    }
    return hits;
  }

  // ---- writer: one thread at a time -----------------------------------------

  // insert(): adds key; AlreadyExists if present, ResourceExhausted if full.
  [[nodiscard]] absl::Status insert(const Key& key, const Value& value) { return put(key, value, false); }
  // insert_or_assign(): adds key or replaces its value atomically for readers.
  [[nodiscard]] absl::Status insert_or_assign(const Key& key, const Value& value) { return put(key, value, true); }

  // erase(): removes key; NotFound if absent. Readers that start after the
  // return no longer find it.
  [[nodiscard]] absl::Status erase(const Key& key) {
    state* s = state_.load(std::memory_order_relaxed);
    const std::uint64_t h = hasher_(key);
    const auto loc = locate(*s, to_words<key_words>(key), h);
    if (!loc) return absl::NotFoundError("nvo table: key not found");
    unpublish(s->buckets[loc->bucket], loc->slot);
    if (const std::size_t home = primary(h, s->nb); loc->bucket != home) adjust_overflow(s->buckets[home], -1);
    size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return absl::OkStatus();
  }

  // erase_if(pred): removes every entry for which pred(key, value) is true;
  // returns how many. Writer side (aging scans).
  template <class Pred>
  std::size_t erase_if(Pred&& pred) {
    state* s = state_.load(std::memory_order_relaxed);
    std::size_t erased = 0;
    for (std::size_t b = 0; b < s->nb; ++b) {
      bucket& bk = s->buckets[b];
      const std::uint64_t h = bk.header.load(std::memory_order_relaxed);
      std::uint64_t drop = 0;
      for (std::uint64_t m = h & slot_mask; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        if (pred(slot_key(bk, i), slot_value(bk, i))) drop |= 1ull << i;
      }
      if (drop != 0) {
        // (W2) release: one header store unpublishes all dropped slots.
        bk.header.store(((h & ~drop) & slot_mask) | ((h & ~slot_mask) + generation_one), std::memory_order_release);
        erased += static_cast<std::size_t>(std::popcount(drop));
        for (std::uint64_t m = drop; m != 0; m &= m - 1) {
          const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
          const std::size_t home = primary(hasher_(slot_key(bk, i)), s->nb);
          if (home != b) adjust_overflow(s->buckets[home], -1);
        }
      }
    }
    size_.store(size_.load(std::memory_order_relaxed) - erased, std::memory_order_relaxed);
    return erased;
  }

  // for_each(fn): calls fn(key, value) for every entry. Writer side.
  template <class Fn>
  void for_each(Fn&& fn) const {
    const state* s = state_.load(std::memory_order_relaxed);
    for (std::size_t b = 0; b < s->nb; ++b) {
      const bucket& bk = s->buckets[b];
      for (std::uint64_t m = bk.header.load(std::memory_order_relaxed) & slot_mask; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        fn(slot_key(bk, i), slot_value(bk, i));
      }
    }
  }

  // ---- introspection ----------------------------------------------------------

  // size(): entries; exact on the writer thread, a recent value elsewhere.
  [[nodiscard]] std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  // slot_count(): slots in the current bucket array (the hard limit before growth).
  [[nodiscard]] std::size_t slot_count() const noexcept { return state_.load(std::memory_order_acquire)->nb * slots; }
  // memory_bytes(): bytes of the current bucket array plus the table object.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return state_.load(std::memory_order_acquire)->nb * sizeof(bucket) + sizeof(state) + sizeof(*this);
  }
  [[nodiscard]] std::uint64_t growths() const noexcept { return growths_; }
  [[nodiscard]] reclaimer_type& reclaimer() noexcept { return *reclaimer_; }

 private:
  struct location {
    std::size_t bucket;
    std::size_t slot;
  };

  static std::size_t buckets_for(std::size_t capacity) {
    // Load limit: 80 % for 2 slots, 90 % for more.
    const std::size_t per_bucket_x10 = slots == 2 ? 16 : slots * 9;
    return std::max<std::size_t>(2, (capacity * 10 + per_bucket_x10 - 1) / per_bucket_x10);
  }

  // Lemire's multiply-shift range reduction: any bucket count, no modulo.
  [[nodiscard]] static NVO_ALWAYS_INLINE std::size_t primary(std::uint64_t h, std::size_t nb) noexcept {
    return static_cast<std::size_t>(((h & 0xFFFFFFFFu) * nb) >> 32);
  }
  [[nodiscard]] static NVO_ALWAYS_INLINE std::size_t secondary(std::uint64_t h, std::size_t p, std::size_t nb) noexcept {
    const std::size_t s = static_cast<std::size_t>(((h >> 32) * nb) >> 32);
    return s != p ? s : (p + 1 == nb ? 0 : p + 1);
  }

  static NVO_ALWAYS_INLINE void prefetch(const bucket* b) noexcept {
    for (std::size_t l = 0; l < lines_per_bucket; ++l)
      __builtin_prefetch(reinterpret_cast<const char*>(b) + l * cache_line, 0, 3);
  }

  template <std::size_t W, class T>
  [[nodiscard]] static NVO_ALWAYS_INLINE std::array<std::uint64_t, W> to_words(const T& t) noexcept {
    std::array<std::uint64_t, W> w{};
    std::memcpy(w.data(), &t, sizeof(T));
    return w;
  }
  template <class T, std::size_t W>
  [[nodiscard]] static NVO_ALWAYS_INLINE T from_words(const std::array<std::uint64_t, W>& w) noexcept {
    T t;
    std::memcpy(static_cast<void*>(&t), w.data(), sizeof(T));  // T is trivially copyable
    return t;
  }

  // scan(): lock-free consistent search of one bucket (R3, R4). Branch-free
  // over the slots: every slot's key is compared (unpublished ones too; the
  // header mask discards them) and the value of the match, or of slot 0 on a
  // miss, is copied, so the hit slot's position costs no misprediction.
  [[nodiscard]] static NVO_ALWAYS_INLINE bool scan(const bucket& b, const key_words_t& kw,
                                                  value_words_t& vw) noexcept {
#ifdef NVO_TABLE_VECTOR_SCAN
    if constexpr (vector_scan) {
      static_assert(sizeof(bucket) == cache_line);
      // Key words at line words 1,2 (slot 0) and 4,5 (slot 1).
      // One broadcast and one permute (not eight inserts from GPRs).
      __m128i k;
      std::memcpy(&k, kw.data(), sizeof(k));
      // (maskz forms: the plain ones trip g++ 12's -Wuninitialized in its headers)
      const __m512i want = _mm512_maskz_permutexvar_epi64(0x36, _mm512_setr_epi64(0, 0, 1, 0, 0, 1, 0, 0),
                                                          _mm512_maskz_broadcast_i32x4(0xFFFF, k));
      for (;;) {
        // (R3) acquire: pairs with (W2); the line load below stays after it.
        const std::uint64_t h1 = b.header.load(std::memory_order_acquire);
        // One 64-byte load of the whole line and one compare of both slots'
        // keys. It is not a C++ atomic access: a key word it reads can only
        // change while its slot is FREE, and a rewrite of a FREE slot
        // changes the header (W1/W2), so a copy that raced is discarded by
        // the recheck below exactly as the word-wise copy is. The value is
        // still read by one atomic word load (W3 stays untorn).
        const __m512i line = _mm512_load_si512(static_cast<const void*>(&b));
        const unsigned eq = _mm512_mask_cmpeq_epi64_mask(0x36, line, want);
        const unsigned both = eq & (eq >> 1);  // bit 1: slot 0's key, bit 4: slot 1's
        const unsigned sel = both & 0x12u;
        const std::uint64_t match = (((sel | (sel >> 2)) >> 1) & 3u) & h1;
        const std::size_t hit = static_cast<std::size_t>(match >> 1);  // slot 0 on a miss
        vw[0] = b.words[hit][key_words].load(std::memory_order_relaxed);
        // (R4) acquire: pairs with (W1) if any word read above was rewritten.
        std::atomic_thread_fence(std::memory_order_acquire);
        if (NVO_PREDICT_TRUE(b.header.load(std::memory_order_relaxed) == h1)) return match != 0;
      }
    }
#endif
    for (;;) {
      // (R3) acquire: pairs with (W2).
      const std::uint64_t h1 = b.header.load(std::memory_order_acquire);
      std::uint64_t match = 0;
      for (std::size_t i = 0; i < slots; ++i) {
        bool eq = true;
        for (std::size_t w = 0; w < key_words; ++w) eq &= b.words[i][w].load(std::memory_order_relaxed) == kw[w];
        match |= static_cast<std::uint64_t>(eq) << i;
      }
      match &= h1;
      // The hit slot, or slot 0 on a miss (countr_zero gives `slots` then),
      // computed without a branch: whether the key sits in this bucket is
      // unpredictable, and a burst pays a misprediction per wrong guess.
      const std::size_t hit = static_cast<std::size_t>(std::countr_zero(match | (1ull << slots))) % slots;
      for (std::size_t w = 0; w < value_words; ++w) vw[w] = b.words[hit][key_words + w].load(std::memory_order_relaxed);
      // (R4) acquire: pairs with (W1) if any word copied above was rewritten.
      std::atomic_thread_fence(std::memory_order_acquire);
      if (NVO_PREDICT_TRUE(b.header.load(std::memory_order_relaxed) == h1)) return match != 0;
    }
  }

  [[nodiscard]] static Key slot_key(const bucket& b, std::size_t i) noexcept {
    key_words_t kw;
    for (std::size_t w = 0; w < key_words; ++w) kw[w] = b.words[i][w].load(std::memory_order_relaxed);
    return from_words<Key>(kw);
  }
  [[nodiscard]] static Value slot_value(const bucket& b, std::size_t i) noexcept {
    value_words_t vw;
    for (std::size_t w = 0; w < value_words; ++w) vw[w] = b.words[i][key_words + w].load(std::memory_order_relaxed);
    return from_words<Value>(vw);
  }

  // Writer-side search (the writer sees its own stores; relaxed suffices).
  [[nodiscard]] static std::optional<location> locate_in(const bucket& b, std::size_t bi,
                                                         const key_words_t& kw) noexcept {
    for (std::uint64_t m = b.header.load(std::memory_order_relaxed) & slot_mask; m != 0; m &= m - 1) {
      const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
      bool eq = true;
      for (std::size_t w = 0; w < key_words; ++w) eq &= b.words[i][w].load(std::memory_order_relaxed) == kw[w];
      if (eq) return location{bi, i};
    }
    return std::nullopt;
  }
  [[nodiscard]] static std::optional<location> locate(const state& s, const key_words_t& kw, std::uint64_t h) {
    const std::size_t p = primary(h, s.nb);
    if (auto l = locate_in(s.buckets[p], p, kw)) return l;
    const std::size_t q = secondary(h, p, s.nb);
    return locate_in(s.buckets[q], q, kw);
  }

  [[nodiscard]] static int free_slot(const bucket& b) noexcept {
    const std::uint64_t used = b.header.load(std::memory_order_relaxed) & slot_mask;
    return used == slot_mask ? -1 : std::countr_one(used);
  }

  // Writes a FREE slot (W1 then relaxed stores); it stays invisible until published.
  static void write_slot(bucket& b, std::size_t i, const key_words_t& kw, const value_words_t& vw) noexcept {
    // (W1) release fence: readers that copy these words also see the header
    // store that unpublished this slot earlier (pairs with R4).
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t w = 0; w < key_words; ++w) b.words[i][w].store(kw[w], std::memory_order_relaxed);
    for (std::size_t w = 0; w < value_words; ++w) b.words[i][key_words + w].store(vw[w], std::memory_order_relaxed);
  }
  // set |= add, clear &= ~remove, one (W2) release store with a new generation.
  static void publish(bucket& b, std::uint64_t add, std::uint64_t remove) noexcept {
    const std::uint64_t h = b.header.load(std::memory_order_relaxed);
    b.header.store((((h | add) & ~remove) & slot_mask) | ((h & ~slot_mask) + generation_one),
                   std::memory_order_release);
  }
  static void unpublish(bucket& b, std::size_t i) noexcept { publish(b, 0, 1ull << i); }
  // Counts (+1) or uncounts (-1) a key of primary bucket b that lives in its
  // secondary; one (W2) release store with a new generation. A count that
  // reached overflow_max stays there (an overestimate only costs a read).
  static void adjust_overflow(bucket& b, int delta) noexcept {
    const std::uint64_t h = b.header.load(std::memory_order_relaxed);
    const std::uint64_t count = (h & overflow_field) >> overflow_shift;
    if (count == overflow_max) return;
    NVO_ASSERT(delta > 0 || count > 0);
    const std::uint64_t next = delta > 0 ? count + 1 : count - 1;
    b.header.store(((h & ~overflow_field) + generation_one) | next << overflow_shift, std::memory_order_release);
  }

  // Moves slot (from_b, i) to a FREE slot j of bucket to_b, the key's other
  // bucket: count it in its primary if it leaves it, publish in to_b, bump
  // moves_ (W5), unpublish the source, uncount it if it came home. Readers
  // find the key in one of the two buckets or see moves_ change.
  void move_slot(state& s, std::size_t from_b, std::size_t i, std::size_t to_b, std::size_t j) noexcept {
    bucket& from = s.buckets[from_b];
    bucket& to = s.buckets[to_b];
    key_words_t kw;
    value_words_t vw;
    for (std::size_t w = 0; w < key_words; ++w) kw[w] = from.words[i][w].load(std::memory_order_relaxed);
    for (std::size_t w = 0; w < value_words; ++w) vw[w] = from.words[i][key_words + w].load(std::memory_order_relaxed);
    const std::size_t home = primary(hasher_(from_words<Key>(kw)), s.nb);
    if (to_b != home) adjust_overflow(from, +1);
    write_slot(to, j, kw, vw);
    publish(to, 1ull << j, 0);
    // (W5) release: pairs with (R1); ordered after the destination publish
    // and, through the source's (W1)/(W2), before its unpublish.
    moves_.store(moves_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    unpublish(from, i);
    if (to_b == home) adjust_overflow(to, -1);
  }

  // Frees a slot in bucket p or q by a breadth-first cuckoo path search
  // (bounded; no bucket repeats on a path, so recorded victims stay valid).
  bool make_room(state& s, std::size_t p, std::size_t q) {
    struct node {
      std::uint32_t bucket;
      std::int32_t parent;
      std::uint32_t parent_slot;  // slot of parent's bucket whose key moves here
    };
    constexpr std::size_t max_nodes = 192;
    std::array<node, max_nodes> nodes;
    std::size_t head = 0;
    std::size_t tail = 0;
    nodes[tail++] = {static_cast<std::uint32_t>(p), -1, 0};
    nodes[tail++] = {static_cast<std::uint32_t>(q), -1, 0};
    auto on_path = [&](std::int32_t n, std::size_t b) {
      for (; n >= 0; n = nodes[static_cast<std::size_t>(n)].parent)
        if (nodes[static_cast<std::size_t>(n)].bucket == b) return true;
      return false;
    };
    while (head < tail) {
      const std::size_t ni = head++;
      const std::size_t b = nodes[ni].bucket;
      for (std::size_t r = 0; r < slots; ++r) {
        const std::uint64_t vh = hasher_(slot_key(s.buckets[b], r));
        const std::size_t vp = primary(vh, s.nb);
        const std::size_t alt = vp == b ? secondary(vh, vp, s.nb) : vp;
        if (const int f = free_slot(s.buckets[alt]); f >= 0) {
          // Execute the path from its free end back to the root.
          move_slot(s, b, r, alt, static_cast<std::size_t>(f));
          std::size_t freed = r;
          for (std::size_t c = ni; nodes[c].parent >= 0;) {
            const node& n = nodes[c];
            const std::size_t par = static_cast<std::size_t>(n.parent);
            move_slot(s, nodes[par].bucket, n.parent_slot, n.bucket, freed);
            freed = n.parent_slot;
            c = par;
          }
          return true;
        }
        if (tail < max_nodes && !on_path(static_cast<std::int32_t>(ni), alt))
          nodes[tail++] = {static_cast<std::uint32_t>(alt), static_cast<std::int32_t>(ni),
                           static_cast<std::uint32_t>(r)};
      }
    }
    return false;
  }

  // Places a new key into s (not present there). False when no room.
  bool place(state& s, const key_words_t& kw, const value_words_t& vw, std::uint64_t h) {
    const std::size_t p = primary(h, s.nb);
    const std::size_t q = secondary(h, p, s.nb);
    for (int attempt = 0; attempt < 2; ++attempt) {
      for (const std::size_t b : {p, q}) {
        if (const int f = free_slot(s.buckets[b]); f >= 0) {
          if (b == q) adjust_overflow(s.buckets[p], +1);  // before it is visible in its secondary
          write_slot(s.buckets[b], static_cast<std::size_t>(f), kw, vw);
          publish(s.buckets[b], 1ull << f, 0);
          return true;
        }
      }
      if (attempt == 0 && !make_room(s, p, q)) return false;
    }
    return false;
  }

  // Replaces the value of the PUBLISHED slot at loc.
  bool replace(state& s, const location& loc, const key_words_t& kw, const value_words_t& vw, std::uint64_t h) {
    bucket& b = s.buckets[loc.bucket];
    if constexpr (inline_value_update) {
      // (W3) relaxed: one word, readers see old or new; the key is unchanged.
      b.words[loc.slot][key_words].store(vw[0], std::memory_order_relaxed);
      return true;
    } else {
      if (const int f = free_slot(b); f >= 0) {
        // Same bucket: one header store swaps old for new.
        write_slot(b, static_cast<std::size_t>(f), kw, vw);
        publish(b, 1ull << f, 1ull << loc.slot);
        return true;
      }
      const std::size_t p = primary(h, s.nb);
      const std::size_t other = loc.bucket == p ? secondary(h, p, s.nb) : p;
      if (const int f = free_slot(s.buckets[other]); f >= 0) {
        if (other != p) adjust_overflow(s.buckets[p], +1);
        write_slot(s.buckets[other], static_cast<std::size_t>(f), kw, vw);
        publish(s.buckets[other], 1ull << f, 0);
        moves_.store(moves_.load(std::memory_order_relaxed) + 1, std::memory_order_release);  // (W5)
        unpublish(b, loc.slot);
        if (other == p) adjust_overflow(s.buckets[p], -1);
        return true;
      }
      return false;
    }
  }

  absl::Status put(const Key& key, const Value& value, bool overwrite) {
    const key_words_t kw = to_words<key_words>(key);
    const value_words_t vw = to_words<value_words>(value);
    const std::uint64_t h = hasher_(key);
    for (;;) {
      state* s = state_.load(std::memory_order_relaxed);
      if (const auto loc = locate(*s, kw, h)) {
        if (!overwrite) return absl::AlreadyExistsError("nvo table: key already present");
        if (replace(*s, *loc, kw, vw, h)) return absl::OkStatus();
        // Both buckets full: free a slot next to the key, then retry.
        const std::size_t p = primary(h, s->nb);
        if (make_room(*s, p, secondary(h, p, s->nb))) continue;
      } else if (place(*s, kw, vw, h)) {
        size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return absl::OkStatus();
      }
      if (!options_.grow) return absl::ResourceExhaustedError("nvo table full (growth disabled)");
      grow();
    }
  }

  // Rebuilds into twice the buckets, publishes (W6), retires the old array.
  void grow() {
    state* old = state_.load(std::memory_order_relaxed);
    for (std::size_t nb = old->nb * 2;; nb *= 2) {
      auto next = std::make_unique<state>(nb);
      bool ok = true;
      for (std::size_t b = 0; b < old->nb && ok; ++b) {
        const bucket& bk = old->buckets[b];
        for (std::uint64_t m = bk.header.load(std::memory_order_relaxed) & slot_mask; m != 0 && ok; m &= m - 1) {
          const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
          key_words_t kw;
          value_words_t vw;
          for (std::size_t w = 0; w < key_words; ++w) kw[w] = bk.words[i][w].load(std::memory_order_relaxed);
          for (std::size_t w = 0; w < value_words; ++w) vw[w] = bk.words[i][key_words + w].load(std::memory_order_relaxed);
          ok = place(*next, kw, vw, hasher_(from_words<Key>(kw)));
        }
      }
      if (!ok) continue;
      // (W6) release: readers that load the new array see it fully built.
      state_.store(next.release(), std::memory_order_release);
      ++growths_;
      reclaimer_->retire(old, [](void* p) { delete static_cast<state*>(p); });
      return;
    }
  }

  table_options options_;
  std::unique_ptr<reclaimer_type> owned_;
  reclaimer_type* reclaimer_;
  [[no_unique_address]] hasher hasher_{};
  std::uint64_t growths_ = 0;
  std::atomic<std::size_t> size_{0};
  alignas(cache_line) std::atomic<state*> state_{nullptr};
  std::atomic<std::uint64_t> moves_{0};
};

}  // namespace table
NVO_END_NAMESPACE
