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
// independent hash lanes (2-choice cuckoo hashing), followed by a small
// stash of the same buckets. Keys and values live inline in the bucket, so a
// hit reads one bucket (DPDK's rte_hash reads a bucket line, then a key-store
// line, then the application's record).
//
//   bucket (16-byte key, 8-byte value: 64 bytes, 2 slots)
//   +-------------------------------+------------------------+------------------------+------+
//   | header: 56-bit generation |   | slot 0: key[2w] val[1w] | slot 1: key[2w] val[1w] | free |
//   | 8b PUBLISHED                  |                        |                        |      |
//   +-------------------------------+------------------------+------------------------+------+
//      8 bytes                         24 bytes                 24 bytes                 8
//
// A slot that fills whole cache lines (a 24-byte key with a 40-byte value, as
// l3_forwarding_table's) starts on a line and the header follows the slots,
// so a hit reads the header's line and its slot's line, and a burst
// prefetches only those; with the header first every slot would straddle two.
//
// Beside the buckets, a tag array holds one byte per slot (8 bits of the
// key's hash; 2 bytes per 2-slot bucket), small enough to stay in cache when
// the buckets do not: a lookup reads a bucket only if one of its tags
// matches, so a miss costs two tag reads and (1 time in ~64) a bucket, and a
// hit reads one bucket.
//
// The stash (stash_slots entries, at least 8) takes a new key that neither
// of its buckets nor a cuckoo path can hold; its last free slot is kept for
// replacing a multi-word value when everything else is full (the old slot
// frees as the new one is published, and the stashed key moves back into it),
// so an existing key's value can always be replaced. It is empty in normal operation;
// a reader scans it only on a miss while it holds something (one load of a
// counter otherwise), and the writer moves stashed keys home as room appears.
// Colliding keys therefore degrade to a few extra compares, then to a
// ResourceExhausted error, never to unbounded growth.
//
// Slot states: FREE (mask bit clear; only the writer touches it) and
// PUBLISHED (mask bit set; its key never changes while published, and its
// value changes only if the value is a single 64-bit word, by one atomic
// store). Every change of a bucket's mask also bumps its generation.
// All words are std::atomic<std::uint64_t>, so a racing reader's copy is
// never a data race; the header check below discards copies that raced.
// One exception, on x86 CPUs with AVX-512 for the 2-slot 16-byte-key 8-byte-
// value layout: scan_avx512() reads a bucket's keys with one 64-byte vector
// load (not a C++ atomic access) between the same (R3) load and (R4) fence.
// Key words change only while their slot is FREE, which the header check
// detects, and values are still read by one atomic word load. It is chosen
// per table at construction (never by the build flags, so translation units
// built with different -m flags share one definition), follows
// NVO_FORCE_SIMD / simd::set_active(), and is off under ThreadSanitizer.
//
// With 2 slots per bucket the table is sized for 80 % load (90 % with more
// slots); 2-choice cuckoo with 2-slot buckets holds up to ~89 %.
//
// READ PROTOCOL (lookups, any number of threads)
//   scan(bucket): h1 = header (R3 acquire); compare the keys of the PUBLISHED
//   slots and copy the value of a match; fence (R4 acquire); reread header; if
//   unchanged the copy is consistent, else rescan. A rescan happens only after
//   the writer completed a publish on that bucket.
//   find: the tags of both buckets (R8 acquire); the primary bucket if a tag
//   matches, then the secondary if one of its tags does, then (only if its
//   counter (R7) is non-zero) the stash. In a bucket of several lines the
//   scan rereads the tags after the header (R3 then R8) and compares only
//   the published slots whose tag is the key's, so a hit reads the header's
//   line and its slot's. A published slot's tag is its key's
//   (it is written, W8, while the slot is FREE, before the publish), so a key
//   present throughout is found where it sits. A miss is confirmed by the
//   table's move counter (R1 acquire ... R5 fence, R6 reload): a key the
//   writer moves (cuckoo displacement, an out-of-place replace, a stash move)
//   is published in its destination before the counter is bumped (W5
//   release) and unpublished from its source after, so a reader that missed
//   it everywhere sees the counter change and searches again. A reader that
//   skipped the source because its slot's tag was already rewritten for
//   another key read a tag stored after that bump (W8 release, R8 acquire),
//   so it sees the counter change too.
//   Each result of find_bulk is a value its key held at some instant during
//   the call; the instants of different positions are not in position order
//   (a re-searched miss is read last), so two positions holding one key may
//   return an older value at the higher index. Across calls, a key's values
//   never go back in time.
//
// WRITE PROTOCOL (one writer thread at a time; callers serialize writers)
//   A slot is written only while FREE: (W1) release fence, relaxed stores of
//   the words, then (W2) release store of the header that publishes it. The
//   fence orders the stores after the earlier unpublishing of that slot, so a
//   reader that copies the new words also sees the header change (R4 syncs
//   with W1) and discards its copy. Unpublishing is (W2) as well.
//   A slot's tag is stored (W8) while the slot is FREE, before the publish.
//   The stash counter is raised (W7) after a stash publish and lowered after
//   a stash unpublish.
//   Single-word values are replaced in place by one release store (W3): a
//   reader sees the old or the new word, never a mix, and when the word is a
//   pointer to data the writer built (a flood list), the reader that loaded
//   it sees that data (W3 pairs with R4; in ThreadSanitizer builds with the
//   value load itself, which is then an acquire load TSan can follow).
//   Growth builds a bigger bucket array the readers cannot see yet, then
//   publishes it with a release store of the state pointer (W6, paired with
//   R2) and retires the old array through the reclaimer.
//
// MEMORY ORDERS
//   (R1) acquire-load of moves_       synchronizes-with (W5)
//   (R2) acquire-load of state_       synchronizes-with (W6)
//   (R3) acquire-load of header       synchronizes-with (W2)
//   (R4) acquire fence after the copy synchronizes-with (W1) via the copied words, and (W3)
//   (R5) acquire fence before (R6), synchronizes-with (W1)/(W2) of the source unpublish
//   (R6) relaxed reload of moves_
//   (R7) acquire-load of the stash counter synchronizes-with (W7)
//   (R8) acquire-load of a bucket's tags   synchronizes-with (W8)
//   (W1) release fence before writing a FREE slot
//   (W2) release-store of header (publish, unpublish)
//   (W3) release-store of a single-word value in place
//   (W5) release-store of moves_ between the destination publish and the source unpublish
//   (W6) release-store of state_ after growth
//   (W7) release-store of the stash counter
//   (W8) release-store of a bucket's tags, before the slot's publish
//   (W4 is unused: it was an order the tag array made unnecessary.)
//
// PROGRESS GUARANTEES
//   find, find_bulk, contains: lock-free. They never wait for the writer: a
//     retry happens only because the writer completed a publish or a move
//     meanwhile, and a writer preempted mid-operation leaves every PUBLISHED
//     slot intact. No allocation, locks, exceptions or virtual calls.
//   insert, insert_or_assign, erase, erase_if: blocking only with respect to
//     other writers (one writer at a time, serialized by the caller); they
//     never wait for readers. A call does a bounded cuckoo search and at most
//     one growth (O(n) on the writer thread while readers use the old array).
//
// CAPACITY AND BOUNDED MEMORY
//   options.capacity entries always fit without growth when their hashes are
//   independent (any key set under keyed_hash; tested over thousands of
//   random key sets): the bucket array is sized for the load limit and the
//   stash absorbs the rare failed cuckoo search. Keys whose hashes collide
//   (crc32c_hash and chosen keys) share the stash and are refused beyond it. When a key cannot be placed, the table grows at most once per
//   call, only if options.grow is set, the new size stays within
//   options.max_capacity, and the table is at least half full: a placement
//   that fails at lower load means colliding keys, which more memory would
//   not separate. Otherwise the call returns ResourceExhausted. With
//   reclaim::none the replaced arrays stay allocated until the reclaimer is
//   destroyed.
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
#include <utility>

#include "absl/status/status.h"
#include "nvo/config.hpp"
#include "nvo/simd/dispatch.hpp"
#include "nvo/table/hash.hpp"
#include "nvo/table/policy.hpp"
#include "nvo/table/reclaim.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NVO_DETAIL_TABLE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(NVO_DETAIL_TABLE_TSAN)
#define NVO_DETAIL_TABLE_TSAN 1
#endif

NVO_BEGIN_NAMESPACE
namespace table {

struct table_options {
  std::size_t capacity = 1024;      // entries that always fit without growing
  bool grow = true;                 // when a key finds no room: grow (at most once per call) or fail
  std::size_t max_capacity = 0;     // growth never sizes the table past this many entries (0: no limit)
  std::optional<hash_seed> seed{};  // fixed secret for a keyed hash (reproducible tests); default: random
};

namespace detail {
// unrolled<N>(f): f(0), ..., f(N-1) as straight-line code. The read path's
// loops over a slot's words are loops of atomic loads, which GCC does not
// unroll: a 5-word value would otherwise cost a counted loop per copy.
template <class F, std::size_t... I>
NVO_ALWAYS_INLINE constexpr void unrolled_impl(F& f, std::index_sequence<I...>) noexcept {
  (f(I), ...);
}
template <std::size_t N, class F>
NVO_ALWAYS_INLINE constexpr void unrolled(F f) noexcept {
  unrolled_impl(f, std::make_index_sequence<N>{});
}

#ifdef NVO_DETAIL_TABLE_TSAN
// ThreadSanitizer does not model fences: the value load carries the acquire
// that (R4) gives other builds, so TSan sees what a value points to as
// published. Every TU of a TSan program is built with TSan, so this never
// splits one definition between translation units.
inline constexpr bool tsan_build = true;
inline constexpr std::memory_order value_load_order = std::memory_order_acquire;
#else
inline constexpr bool tsan_build = false;
inline constexpr std::memory_order value_load_order = std::memory_order_relaxed;
#endif
#undef NVO_DETAIL_TABLE_TSAN
}  // namespace detail

template <table_key Key, table_value Value, class... Policies>
class basic_table {
  static_assert((detail::is_known_policy<Policies>::value && ...),
                "basic_table: unknown policy; use policy::hash<H>, policy::reclaimer<R>, "
                "policy::slots_per_bucket<N>, policy::writer_stamp<On>");

 public:
  using key_type = Key;
  using mapped_type = Value;
  using hasher = detail::type_param_t<policy::hash, keyed_hash, Policies...>;
  using reclaimer_type = detail::type_param_t<policy::reclaimer, reclaim::none, Policies...>;
  static_assert(hash_policy<hasher, Key>, "basic_table: policy::hash<H> needs a noexcept H(key) -> std::uint64_t");
  static_assert(reclaimer<reclaimer_type>, "basic_table: policy::reclaimer<R> needs R::retire(void*, void(*)(void*))");
  static constexpr bool has_stamps = detail::bool_param<policy::writer_stamp, false, Policies...>::value;

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
  static constexpr std::size_t stash_buckets = (8 + slots - 1) / slots;
  static constexpr std::size_t stash_slots = stash_buckets * slots;

 private:
  static constexpr std::uint64_t mask_bits = 8;
  static constexpr std::uint64_t slot_mask = (1u << slots) - 1;
  static constexpr std::uint64_t generation_one = 1ull << mask_bits;
  // One tag byte per slot: the smallest word that holds a bucket's.
  using tag_word = std::conditional_t<slots <= 2, std::uint16_t, std::conditional_t<slots <= 4, std::uint32_t, std::uint64_t>>;
  static constexpr bool inline_value_update = value_words == 1;
  // The inline layout of the benchmark and forwarding keys: header, slot 0
  // (key, key, value), slot 1 (key, key, value), one spare word.
  static constexpr bool vector_shape = NVO_SIMD_X86 && slots == 2 && key_words == 2 && value_words == 1;

  // Line-sized slots keep their lines to themselves (LAYOUT above).
  static constexpr bool header_last = (slot_words * 8) % cache_line == 0;
  struct alignas(cache_line) header_first_bucket {
    std::atomic<std::uint64_t> header{0};  // generation << 8 | PUBLISHED mask
    std::atomic<std::uint64_t> words[slots][slot_words]{};
  };
  struct alignas(cache_line) header_last_bucket {
    std::atomic<std::uint64_t> words[slots][slot_words]{};
    std::atomic<std::uint64_t> header{0};
  };
  using bucket = std::conditional_t<header_last, header_last_bucket, header_first_bucket>;
  static constexpr std::size_t lines_per_bucket = sizeof(bucket) / cache_line;

  // One bucket array: nb main buckets, then stash_buckets stash buckets.
  struct state {
    explicit state(std::size_t n)
        : nb(n), buckets(new bucket[n + stash_buckets]), tags(new std::atomic<tag_word>[n + stash_buckets]()),
          stamps(has_stamps ? new std::uint32_t[(n + stash_buckets) * slots]() : nullptr) {}
    [[nodiscard]] std::size_t bytes() const noexcept {
      return (nb + stash_buckets) *
                 (sizeof(bucket) + sizeof(tag_word) + (has_stamps ? slots * sizeof(std::uint32_t) : 0)) +
             sizeof(state);
    }
    std::size_t nb;
    std::unique_ptr<bucket[]> buckets;
    std::unique_ptr<std::atomic<tag_word>[]> tags;  // tag byte of slot i at bits 8i..8i+7 (R8 / W8)
    std::unique_ptr<std::uint32_t[]> stamps;  // writer only: never read by lookups
    std::atomic<std::uint32_t> stash_used{0};  // published stash slots (W7 / R7)
  };

  using key_words_t = std::array<std::uint64_t, key_words>;
  using value_words_t = std::array<std::uint64_t, value_words>;

 public:
  // basic_table(options): owns a default-constructed reclaimer.
  explicit basic_table(table_options options = {})
    requires std::default_initializable<reclaimer_type>
      : options_(options), owned_(std::make_unique<reclaimer_type>()), reclaimer_(owned_.get()),
        hasher_(make_hasher(options.seed)) {
    install(new state(buckets_for(options.capacity)));
  }
  // basic_table(options, r): retires through r, which must outlive the table's retirements.
  basic_table(table_options options, reclaimer_type& r)
      : options_(options), reclaimer_(&r), hasher_(make_hasher(options.seed)) {
    install(new state(buckets_for(options.capacity)));
  }
  basic_table(const basic_table&) = delete;
  basic_table& operator=(const basic_table&) = delete;
  // PRECONDITION: no reader uses the table any more.
  ~basic_table() { delete state_.load(std::memory_order_relaxed); }

  // ---- lookups: any thread, lock-free --------------------------------------

  // find(key, out): copies key's value into out and returns true, or
  // returns false (out unspecified). The datapath form: the record goes
  // straight into the caller's memory.
  [[nodiscard]] bool find(const Key& key, Value& out) const noexcept {
#if NVO_SIMD_X86
    if constexpr (vector_shape) {
      if (vector_scan_) return find_avx512(key, out);
    }
#endif
    return find_impl<false>(key, out);
  }
  // find(key): the value of key, or nullopt.
  [[nodiscard]] std::optional<Value> find(const Key& key) const noexcept {
    std::optional<Value> r(std::in_place);
    if (!find(key, *r)) r.reset();
    return r;
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
  // PRECONDITION: out.size() >= keys.size(). Keys past max_burst are not
  // looked up (the mask has 64 bits).
  [[nodiscard]] std::uint64_t find_bulk(std::span<const Key> keys, std::span<Value> out) const noexcept {
#if NVO_SIMD_X86
    if constexpr (vector_shape) {
      if (vector_scan_) return find_bulk_avx512(keys, out);
    }
#endif
    return find_bulk_impl<false>(keys, out);
  }

  // ---- writer: one thread at a time -----------------------------------------

  // insert(): adds key; AlreadyExists if present, ResourceExhausted if no room.
  [[nodiscard]] absl::Status insert(const Key& key, const Value& value) { return put(key, value, false); }
  // insert(key, value, stamp): insert() with the entry's writer-only word set.
  [[nodiscard]] absl::Status insert(const Key& key, const Value& value, std::uint32_t stamp)
    requires has_stamps
  {
    return put(key, value, false, stamp);
  }
  // insert_or_assign(): adds key or replaces its value atomically for readers.
  [[nodiscard]] absl::Status insert_or_assign(const Key& key, const Value& value) { return put(key, value, true); }

  // erase(): removes key; NotFound if absent. Readers that start after the
  // return no longer find it.
  [[nodiscard]] absl::Status erase(const Key& key) {
    state& s = *state_.load(std::memory_order_relaxed);
    const std::uint64_t h = hasher_(key);
    const auto loc = locate(s, to_words<key_words>(key), h);
    if (!loc) return absl::NotFoundError("nvo table: key not found");
    unpublish_entry(s, loc->bucket, loc->slot);
    size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    drain_stash(s);
    return absl::OkStatus();
  }

  // erase_if(pred): removes every entry for which pred(key, value) (or, with
  // policy::writer_stamp, pred(key, value, stamp)) is true; returns how many.
  // Writer side (aging scans).
  template <class Pred>
  std::size_t erase_if(Pred&& pred) {
    state& s = *state_.load(std::memory_order_relaxed);
    std::size_t erased = 0;
    for (std::size_t b = 0; b < s.nb + stash_buckets; ++b) {
      bucket& bk = s.buckets[b];
      std::uint64_t drop = 0;
      for (std::uint64_t m = bk.header.load(std::memory_order_relaxed) & slot_mask; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        if (matches(pred, s, b, i)) drop |= 1ull << i;
      }
      if (drop == 0) continue;
      // (W2) release: one header store unpublishes all dropped slots.
      publish(bk, 0, drop);
      const auto n = static_cast<std::uint32_t>(std::popcount(drop));
      erased += n;
      if (b >= s.nb) count_stash(s, -static_cast<int>(n));  // (W7) after the unpublish
    }
    size_.store(size_.load(std::memory_order_relaxed) - erased, std::memory_order_relaxed);
    drain_stash(s);
    return erased;
  }

  // for_each(fn): calls fn(key, value) for every entry. Writer side.
  template <class Fn>
  void for_each(Fn&& fn) const {
    const state& s = *state_.load(std::memory_order_relaxed);
    for (std::size_t b = 0; b < s.nb + stash_buckets; ++b) {
      const bucket& bk = s.buckets[b];
      for (std::uint64_t m = bk.header.load(std::memory_order_relaxed) & slot_mask; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        fn(slot_key(bk, i), slot_value(bk, i));
      }
    }
  }

  // stamp(key) / set_stamp(key, w): the entry's writer-only word (0 when
  // inserted). Writer side; set_stamp returns false when key is absent.
  [[nodiscard]] std::optional<std::uint32_t> stamp(const Key& key) const
    requires has_stamps
  {
    const state& s = *state_.load(std::memory_order_relaxed);
    const auto loc = locate(s, to_words<key_words>(key), hasher_(key));
    if (!loc) return std::nullopt;
    return s.stamps[loc->bucket * slots + loc->slot];
  }
  [[nodiscard]] bool set_stamp(const Key& key, std::uint32_t w)
    requires has_stamps
  {
    return find_stamp_if(key, w, [](const Value&) { return true; }).has_value();
  }
  // find_stamp_if(key, w, pred): key's value, or nullopt, in one search; the
  // entry's stamp becomes w when pred(value). Writer side (a learning
  // refresh, per received packet: one hash and one search, no bucket write).
  template <class Pred>
  [[nodiscard]] std::optional<Value> find_stamp_if(const Key& key, std::uint32_t w, Pred&& pred)
    requires has_stamps
  {
    state& s = *state_.load(std::memory_order_relaxed);
    const auto loc = locate(s, to_words<key_words>(key), hasher_(key));
    if (!loc) return std::nullopt;
    const Value v = slot_value(s.buckets[loc->bucket], loc->slot);
    if (pred(v)) s.stamps[loc->bucket * slots + loc->slot] = w;
    return v;
  }

  // ---- introspection: any thread ------------------------------------------------

  // size(): entries; exact on the writer thread, a recent value elsewhere.
  [[nodiscard]] std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  // slot_count(): main-array slots, the entries that fit before growth at best.
  [[nodiscard]] std::size_t slot_count() const noexcept { return slot_count_.load(std::memory_order_relaxed); }
  // memory_bytes(): bytes of the current bucket array, stash and table object.
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return memory_bytes_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t growths() const noexcept { return growths_.load(std::memory_order_relaxed); }
  // stashed(): entries in the stash now (0 in normal operation).
  [[nodiscard]] std::size_t stashed() const noexcept { return stashed_.load(std::memory_order_relaxed); }
  // vector_scan(): whether lookups use the AVX-512 bucket compare.
  [[nodiscard]] bool vector_scan() const noexcept { return vector_scan_; }
  [[nodiscard]] reclaimer_type& reclaimer() noexcept { return *reclaimer_; }

 private:
  struct location {
    std::size_t bucket;
    std::size_t slot;
  };

  static hasher make_hasher(const std::optional<hash_seed>& seed) {
    if constexpr (std::is_constructible_v<hasher, hash_seed>) {
      if (seed) return hasher(*seed);
    }
    return hasher{};
  }

  static std::size_t buckets_for(std::size_t capacity) {
    // Load limit: 80 % for 2 slots, 90 % for more.
    const std::size_t per_bucket_x10 = slots == 2 ? 16 : slots * 9;
    return std::max<std::size_t>(2, (capacity * 10 + per_bucket_x10 - 1) / per_bucket_x10);
  }

  void install(state* s) {
    state_.store(s, std::memory_order_relaxed);
    slot_count_.store(s->nb * slots, std::memory_order_relaxed);
    memory_bytes_.store(s->bytes() + sizeof(*this), std::memory_order_relaxed);
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
  // prefetch_slots(b, m): what a scan of the slots in mask m reads. With
  // line-sized slots that is the header's line and those slots' lines (one,
  // unless tags collide); otherwise the whole bucket.
  static NVO_ALWAYS_INLINE void prefetch_slots(const bucket* b, std::uint64_t m) noexcept {
    if constexpr (header_last) {
      __builtin_prefetch(&b->header, 0, 3);
      for (; m != 0; m &= m - 1) {
        const char* slot = reinterpret_cast<const char*>(&b->words[std::countr_zero(m)][0]);
        for (std::size_t l = 0; l < slot_words * 8 / cache_line; ++l) __builtin_prefetch(slot + l * cache_line, 0, 3);
      }
    } else {
      prefetch(b);
    }
  }

  template <std::size_t W, class T>
  [[nodiscard]] static NVO_ALWAYS_INLINE std::array<std::uint64_t, W> to_words(const T& t) noexcept {
    static_assert(W == (sizeof(T) + 7) / 8);
    return detail::object_words(t);
  }
  // store_word(v, w, x): word w of value v, by one store no wider than it
  // (the caller's reads of v's fields then forward from these stores).
  static NVO_ALWAYS_INLINE void store_word(Value& v, std::size_t w, std::uint64_t x) noexcept {
    constexpr std::size_t tail = sizeof(Value) - 8 * (value_words - 1);
    std::memcpy(reinterpret_cast<unsigned char*>(&v) + 8 * w, &x, w + 1 < value_words ? 8 : tail);
  }
  template <class T, std::size_t W>
  [[nodiscard]] static NVO_ALWAYS_INLINE T from_words(const std::array<std::uint64_t, W>& w) noexcept {
    T t;
    std::memcpy(static_cast<void*>(&t), w.data(), sizeof(T));  // T is trivially copyable
    return t;
  }

  // ---- read side ------------------------------------------------------------------

  template <bool Vec>
  [[nodiscard]] NVO_ALWAYS_INLINE bool find_impl(const Key& key, Value& out) const noexcept {
    const key_words_t kw = to_words<key_words>(key);
    const std::uint64_t h = hasher_(key);
    for (;;) {
      // (R1) acquire: pairs with (W5).
      const std::uint64_t moves = moves_.load(std::memory_order_acquire);
      // (R2) acquire: pairs with (W6).
      const state* s = state_.load(std::memory_order_acquire);
      const std::size_t p = primary(h, s->nb);
      const std::size_t q = secondary(h, p, s->nb);
      // The primary's lines are on their way while the tags are read: most
      // lookups hit there, and a miss then costs the tags and that one fetch.
      prefetch(&s->buckets[p]);
      const bool in_p = tag_match(*s, p, h);
      const bool in_q = tag_match(*s, q, h);
      if (in_p && scan_tagged<Vec>(*s, p, tag_of(h), kw, out)) return true;
      if (in_q && scan_tagged<Vec>(*s, q, tag_of(h), kw, out)) return true;
      if (NVO_PREDICT_FALSE(scan_stash<Vec>(*s, kw, out))) return true;
      // (R5) then (R6): a key moved between the scans bumped moves_.
      std::atomic_thread_fence(std::memory_order_acquire);
      if (NVO_PREDICT_TRUE(moves_.load(std::memory_order_relaxed) == moves)) return false;
    }
  }

  template <bool Vec>
  [[nodiscard]] NVO_ALWAYS_INLINE std::uint64_t find_bulk_impl(std::span<const Key> keys,
                                                               std::span<Value> out) const noexcept {
    NVO_ASSERT(keys.size() <= max_burst && out.size() >= keys.size());
    const std::size_t n = std::min(keys.size(), max_burst);
    std::array<std::uint32_t, max_burst> b1;
    std::array<std::uint32_t, max_burst> b2;
    std::array<std::uint8_t, max_burst> tag;
    const std::uint64_t moves = moves_.load(std::memory_order_acquire);  // (R1)
    const state* s = state_.load(std::memory_order_acquire);             // (R2)
    // In locals: the (R4) fences would otherwise reload them for every key.
    const bucket* const bk = s->buckets.get();
    const std::atomic<tag_word>* const tg = s->tags.get();
    const std::size_t nb = s->nb;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t h = hasher_(keys[i]);
      b1[i] = static_cast<std::uint32_t>(primary(h, nb));
      b2[i] = static_cast<std::uint32_t>(secondary(h, b1[i], nb));
      tag[i] = tag_of(h);
      __builtin_prefetch(&tg[b1[i]], 0, 3);
      __builtin_prefetch(&tg[b2[i]], 0, 3);
    }
    // Tags decide which buckets to fetch: the primary where a tag matches,
    // else the secondary; the fetches of the whole burst overlap.
    std::uint64_t first = 0;
    std::uint64_t second = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t mp = tag_candidates(tg, b1[i], tag[i]);
      const std::uint64_t mq = tag_candidates(tg, b2[i], tag[i]);
      first |= static_cast<std::uint64_t>(mp != 0) << i;
      second |= static_cast<std::uint64_t>(mq != 0) << i;
      if ((mp | mq) != 0) prefetch_slots(&bk[mp != 0 ? b1[i] : b2[i]], mp != 0 ? mp : mq);
    }
    std::uint64_t hits = 0;
    for (std::uint64_t m = first; m != 0; m &= m - 1) {
      const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
      hits |= static_cast<std::uint64_t>(scan_tagged<Vec>(*s, b1[i], tag[i], to_words<key_words>(keys[i]), out[i])) << i;
    }
    // Secondaries of the keys the primaries did not hold (out[i] of a miss
    // is unspecified: written without a branch).
    second &= ~hits;
    for (std::uint64_t m = second & first; m != 0; m &= m - 1) prefetch(&bk[b2[std::countr_zero(m)]]);
    for (std::uint64_t m = second; m != 0; m &= m - 1) {
      const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
      hits |= static_cast<std::uint64_t>(scan_tagged<Vec>(*s, b2[i], tag[i], to_words<key_words>(keys[i]), out[i])) << i;
    }
    const std::uint64_t all = n == 64 ? ~0ull : (1ull << n) - 1;
    std::uint64_t misses = all & ~hits;
    if (misses == 0) return hits;
    if (NVO_PREDICT_FALSE(s->stash_used.load(std::memory_order_acquire) != 0)) {  // (R7)
      for (std::uint64_t m = misses; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        if (scan_stash_buckets<Vec>(*s, to_words<key_words>(keys[i]), out[i])) hits |= 1ull << i;
      }
      misses = all & ~hits;
    }
    if (misses != 0) {
      std::atomic_thread_fence(std::memory_order_acquire);  // (R5)
      if (NVO_PREDICT_FALSE(moves_.load(std::memory_order_relaxed) != moves)) {  // (R6)
        for (; misses != 0; misses &= misses - 1) {
          const std::size_t i = static_cast<std::size_t>(std::countr_zero(misses));
          if (find_impl<Vec>(keys[i], out[i])) hits |= 1ull << i;
        }
      }
    }
    return hits;
  }

#if NVO_SIMD_X86
  // The AVX-512 instantiations: compiled for AVX-512 by their own target
  // attribute, whatever the translation unit's flags, and called only when
  // the CPU has it (vector_scan_).
  [[gnu::target(NVO_SIMD_TARGET_AVX512)]] [[nodiscard]] bool find_avx512(const Key& key, Value& out) const noexcept {
    return find_impl<true>(key, out);
  }
  [[gnu::target(NVO_SIMD_TARGET_AVX512)]] [[nodiscard]] std::uint64_t find_bulk_avx512(
      std::span<const Key> keys, std::span<Value> out) const noexcept {
    return find_bulk_impl<true>(keys, out);
  }
#endif

  [[nodiscard]] static NVO_ALWAYS_INLINE std::uint8_t tag_of(std::uint64_t h) noexcept {
    // The low bits of the low lane: the bucket choices use its high bits.
    return static_cast<std::uint8_t>(h);
  }
  // tag_match(): does any tag of bucket b equal t? Unpublished slots' stale
  // tags only cost a needless scan.
  // tag_mask(): bit i set where slot i's tag in word w is t.
  [[nodiscard]] static NVO_ALWAYS_INLINE std::uint64_t tag_mask(std::uint64_t w, std::uint8_t t) noexcept {
    std::uint64_t m = 0;
    detail::unrolled<slots>([&](std::size_t i) {
      m |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(w >> (8 * i)) == t) << i;
    });
    return m;
  }
  // tag_candidates(): the slots of bucket b whose tag is t.
  [[nodiscard]] static NVO_ALWAYS_INLINE std::uint64_t tag_candidates(const std::atomic<tag_word>* tags, std::size_t b,
                                                                     std::uint8_t t) noexcept {
    // (R8) acquire: pairs with (W8).
    return tag_mask(tags[b].load(std::memory_order_acquire), t);
  }
  [[nodiscard]] static NVO_ALWAYS_INLINE bool tag_match(const state& s, std::size_t b, std::uint64_t h) noexcept {
    return tag_candidates(s.tags.get(), b, tag_of(h)) != 0;
  }

  // scan_stash(): the stash, only while its counter (R7) says it holds keys.
  template <bool Vec>
  [[nodiscard]] NVO_ALWAYS_INLINE static bool scan_stash(const state& s, const key_words_t& kw,
                                                          Value& out) noexcept {
    // (R7) acquire: pairs with (W7).
    if (NVO_PREDICT_TRUE(s.stash_used.load(std::memory_order_acquire) == 0)) return false;
    return scan_stash_buckets<Vec>(s, kw, out);
  }
  template <bool Vec>
  [[nodiscard]] static bool scan_stash_buckets(const state& s, const key_words_t& kw, Value& out) noexcept {
    for (std::size_t j = 0; j < stash_buckets; ++j)
      if (scan<Vec>(s.buckets[s.nb + j], kw, out)) return true;
    return false;
  }

  template <bool Vec>
  [[nodiscard]] static NVO_ALWAYS_INLINE bool scan(const bucket& b, const key_words_t& kw,
                                                  Value& out) noexcept {
#if NVO_SIMD_X86
    if constexpr (Vec) return scan_avx512(b, kw, out);
#endif
    return scan_words(b, kw, out);
  }
  // Slot i's key equals kw (relaxed word loads; the callers' header checks
  // or the writer's own stores make the result meaningful).
  [[nodiscard]] static NVO_ALWAYS_INLINE bool key_equals(const bucket& b, std::size_t i, const key_words_t& kw) noexcept {
    bool eq = true;
    detail::unrolled<key_words>(
        [&](std::size_t w) { eq &= b.words[i][w].load(std::memory_order_relaxed) == kw[w]; });
    return eq;
  }
  // Copies slot i's value into out, word by word (see value_load_order).
  static NVO_ALWAYS_INLINE void copy_value(const bucket& b, std::size_t i, Value& out) noexcept {
    detail::unrolled<value_words>([&](std::size_t w) {
      store_word(out, w, b.words[i][key_words + w].load(detail::value_load_order));
    });
  }

  // scan_tagged(): scan() of main bucket b that compares only the slots whose
  // tag is the key's, so a hit reads the header's line and its slot's lines.
  template <bool Vec>
  [[nodiscard]] static NVO_ALWAYS_INLINE bool scan_tagged(const state& s, std::size_t b, std::uint8_t tag,
                                                         const key_words_t& kw, Value& out) noexcept {
    if constexpr (Vec || lines_per_bucket == 1) {
      return scan<Vec>(s.buckets[b], kw, out);
    } else {
      const bucket& bk = s.buckets[b];
      for (;;) {
        // (R3) acquire: pairs with (W2).
        const std::uint64_t h1 = bk.header.load(std::memory_order_acquire);
        // (R8) after (R3): the tag of every slot published in h1 was stored
        // (W8) before that publish, so it is in t. A tag stored later belongs
        // to a slot unpublished after h1: a key moved from it bumped moves_
        // first, which the caller's (R6) then sees.
        const std::uint64_t cand = tag_candidates(s.tags.get(), b, tag) & h1;
        if (cand == 0) return false;
        if (NVO_PREDICT_FALSE((cand & (cand - 1)) != 0)) return scan_words(bk, kw, out);
        const auto i = static_cast<std::size_t>(std::countr_zero(cand));
        const bool eq = key_equals(bk, i, kw);
        copy_value(bk, i, out);
        // (R4) acquire: pairs with (W1) if any word read above was rewritten, and (W3).
        std::atomic_thread_fence(std::memory_order_acquire);
        if (NVO_PREDICT_TRUE(bk.header.load(std::memory_order_relaxed) == h1)) return eq;
      }
    }
  }

  // scan_words(): lock-free consistent search of one bucket (R3, R4).
  // Branch-free over the slots: every slot's key is compared (unpublished
  // ones too; the header mask discards them) and the value of the match, or
  // of slot 0 on a miss, is copied into out, so the hit slot's position costs
  // no misprediction.
  [[nodiscard]] static NVO_ALWAYS_INLINE bool scan_words(const bucket& b, const key_words_t& kw,
                                                        Value& out) noexcept {
    for (;;) {
      // (R3) acquire: pairs with (W2).
      const std::uint64_t h1 = b.header.load(std::memory_order_acquire);
      std::uint64_t match = 0;
      detail::unrolled<slots>(
          [&](std::size_t i) { match |= static_cast<std::uint64_t>(key_equals(b, i, kw)) << i; });
      match &= h1;
      // The hit slot, or slot 0 on a miss (countr_zero gives `slots` then),
      // computed without a branch: whether the key sits in this bucket is
      // unpredictable, and a burst pays a misprediction per wrong guess.
      const std::size_t hit = static_cast<std::size_t>(std::countr_zero(match | (1ull << slots))) % slots;
      copy_value(b, hit, out);
      // (R4) acquire: pairs with (W1) if any word copied above was rewritten,
      // and with (W3) for a value replaced in place.
      std::atomic_thread_fence(std::memory_order_acquire);
      if (NVO_PREDICT_TRUE(b.header.load(std::memory_order_relaxed) == h1)) return match != 0;
    }
  }

#if NVO_SIMD_X86
  // scan_avx512(): scan_words() for the 2-slot 16-byte-key 8-byte-value
  // layout with one vector compare of both slots' keys. Not always_inline: it
  // inlines into the target-attributed find_avx512 / find_bulk_avx512 only.
  [[gnu::target(NVO_SIMD_TARGET_AVX512)]] [[nodiscard]] static inline bool scan_avx512(
      const bucket& b, const key_words_t& kw, Value& out) noexcept {
    static_assert(sizeof(bucket) == cache_line && slots == 2 && key_words == 2 && value_words == 1);
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
      store_word(out, 0, b.words[hit][key_words].load(detail::value_load_order));
      // (R4) acquire: pairs with (W1) if any word read above was rewritten, and (W3).
      std::atomic_thread_fence(std::memory_order_acquire);
      if (NVO_PREDICT_TRUE(b.header.load(std::memory_order_relaxed) == h1)) return match != 0;
    }
  }
#endif

  // ---- write side -----------------------------------------------------------------

  // Writer side: the words of slot i (the writer sees its own stores).
  [[nodiscard]] static key_words_t slot_key_words(const bucket& b, std::size_t i) noexcept {
    key_words_t kw;
    for (std::size_t w = 0; w < key_words; ++w) kw[w] = b.words[i][w].load(std::memory_order_relaxed);
    return kw;
  }
  [[nodiscard]] static value_words_t slot_value_words(const bucket& b, std::size_t i) noexcept {
    value_words_t vw;
    for (std::size_t w = 0; w < value_words; ++w) vw[w] = b.words[i][key_words + w].load(std::memory_order_relaxed);
    return vw;
  }
  [[nodiscard]] static Key slot_key(const bucket& b, std::size_t i) noexcept { return from_words<Key>(slot_key_words(b, i)); }
  [[nodiscard]] static Value slot_value(const bucket& b, std::size_t i) noexcept {
    return from_words<Value>(slot_value_words(b, i));
  }
  [[nodiscard]] static std::uint32_t slot_stamp(const state& s, std::size_t b, std::size_t i) noexcept {
    if constexpr (has_stamps) {
      return s.stamps[b * slots + i];
    } else {
      return 0;
    }
  }
  static void set_slot_stamp(state& s, std::size_t b, std::size_t i, std::uint32_t w) noexcept {
    if constexpr (has_stamps) s.stamps[b * slots + i] = w;
  }

  template <class Pred>
  bool matches(Pred& pred, const state& s, std::size_t b, std::size_t i) {
    if constexpr (std::is_invocable_r_v<bool, Pred&, const Key&, const Value&, std::uint32_t>) {
      return pred(slot_key(s.buckets[b], i), slot_value(s.buckets[b], i), slot_stamp(s, b, i));
    } else {
      return pred(slot_key(s.buckets[b], i), slot_value(s.buckets[b], i));
    }
  }

  // Writer-side search (the writer sees its own stores; relaxed suffices).
  [[nodiscard]] static std::optional<location> locate_in(const bucket& b, std::size_t bi,
                                                         const key_words_t& kw) noexcept {
    for (std::uint64_t m = b.header.load(std::memory_order_relaxed) & slot_mask; m != 0; m &= m - 1) {
      const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
      if (key_equals(b, i, kw)) return location{bi, i};
    }
    return std::nullopt;
  }
  [[nodiscard]] static std::optional<location> locate(const state& s, const key_words_t& kw, std::uint64_t h) {
    const std::size_t p = primary(h, s.nb);
    if (auto l = locate_in(s.buckets[p], p, kw)) return l;
    const std::size_t q = secondary(h, p, s.nb);
    if (auto l = locate_in(s.buckets[q], q, kw)) return l;
    if (s.stash_used.load(std::memory_order_relaxed) == 0) return std::nullopt;
    for (std::size_t j = s.nb; j < s.nb + stash_buckets; ++j)
      if (auto l = locate_in(s.buckets[j], j, kw)) return l;
    return std::nullopt;
  }

  [[nodiscard]] static int free_slot(const bucket& b) noexcept {
    const std::uint64_t used = b.header.load(std::memory_order_relaxed) & slot_mask;
    return used == slot_mask ? -1 : std::countr_one(used);
  }
  // A stash slot that is FREE, outside bucket `except`, or nullopt.
  [[nodiscard]] static std::optional<location> free_stash_slot(const state& s, std::size_t except) noexcept {
    for (std::size_t j = s.nb; j < s.nb + stash_buckets; ++j)
      if (const int f = free_slot(s.buckets[j]); j != except && f >= 0) return location{j, static_cast<std::size_t>(f)};
    return std::nullopt;
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
  // (W7) release: raises or lowers the stash counter after the stash change.
  void count_stash(state& s, int delta) noexcept {
    const std::uint32_t n = s.stash_used.load(std::memory_order_relaxed) + static_cast<std::uint32_t>(delta);
    s.stash_used.store(n, std::memory_order_release);
    if (&s == state_.load(std::memory_order_relaxed)) stashed_.store(n, std::memory_order_relaxed);
  }
  // (W8) release: slot i's tag becomes t; the slot is FREE.
  static void set_tag(state& s, std::size_t b, std::size_t i, std::uint8_t t) noexcept {
    const std::uint64_t w = s.tags[b].load(std::memory_order_relaxed);
    const std::uint64_t next = (w & ~(0xFFull << (8 * i))) | std::uint64_t{t} << (8 * i);
    s.tags[b].store(static_cast<tag_word>(next), std::memory_order_release);
  }
  // Writes FREE slot (b, i) with its tag; it stays invisible until published.
  static void fill_slot(state& s, std::size_t b, std::size_t i, std::uint64_t h, const key_words_t& kw,
                        const value_words_t& vw, std::uint32_t stamp) noexcept {
    set_tag(s, b, i, tag_of(h));
    write_slot(s.buckets[b], i, kw, vw);
    set_slot_stamp(s, b, i, stamp);
  }
  // Publishes a new key (hash h) in FREE slot (b, i), raising the stash
  // counter after if b is a stash bucket.
  void publish_new(state& s, std::size_t b, std::size_t i, std::uint64_t h, const key_words_t& kw,
                   const value_words_t& vw, std::uint32_t stamp) noexcept {
    fill_slot(s, b, i, h, kw, vw, stamp);
    publish(s.buckets[b], 1ull << i, 0);
    if (b >= s.nb) count_stash(s, +1);
  }
  // Unpublishes entry (b, i), then lowers the stash counter if b is a stash bucket.
  void unpublish_entry(state& s, std::size_t b, std::size_t i) noexcept {
    publish(s.buckets[b], 0, 1ull << i);
    if (b >= s.nb) count_stash(s, -1);
  }

  // Moves the entry at (from_b, i) with value vw to FREE slot (to_b, j):
  // publish in the destination, bump moves_ (W5), unpublish the source.
  // Readers find the key in one of the two places or see moves_ change.
  void transfer(state& s, std::size_t from_b, std::size_t i, std::size_t to_b, std::size_t j, const key_words_t& kw,
                const value_words_t& vw, std::uint64_t h) noexcept {
    publish_new(s, to_b, j, h, kw, vw, slot_stamp(s, from_b, i));
    // (W5) release: pairs with (R1); ordered after the destination publish
    // and, through the source's (W1)/(W2), before its unpublish.
    moves_.store(moves_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    unpublish_entry(s, from_b, i);
  }
  void move_slot(state& s, std::size_t from_b, std::size_t i, std::size_t to_b, std::size_t j) noexcept {
    const bucket& from = s.buckets[from_b];
    const key_words_t kw = slot_key_words(from, i);
    transfer(s, from_b, i, to_b, j, kw, slot_value_words(from, i), hasher_(from_words<Key>(kw)));
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

  // Places a new key into s (not present there): one of its buckets, else
  // after a cuckoo path search, else the stash. False when there is no room.
  bool place(state& s, const key_words_t& kw, const value_words_t& vw, std::uint64_t h, std::uint32_t stamp) {
    const std::size_t p = primary(h, s.nb);
    const std::size_t q = secondary(h, p, s.nb);
    for (int attempt = 0; attempt < 2; ++attempt) {
      for (const std::size_t b : {p, q}) {
        if (const int f = free_slot(s.buckets[b]); f >= 0) {
          publish_new(s, b, static_cast<std::size_t>(f), h, kw, vw, stamp);
          return true;
        }
      }
      if (attempt == 0 && !make_room(s, p, q)) break;
    }
    // New keys leave the stash's last free slot to replace().
    if (s.stash_used.load(std::memory_order_relaxed) + 1 >= stash_slots) return false;
    if (const auto st = free_stash_slot(s, s.nb + stash_buckets)) {
      publish_new(s, st->bucket, st->slot, h, kw, vw, stamp);
      return true;
    }
    return false;
  }

  // Replaces the value of the PUBLISHED entry at loc. False when a
  // multi-word value finds no FREE slot to go to, even after a cuckoo search.
  bool replace(state& s, location loc, const key_words_t& kw, const value_words_t& vw, std::uint64_t h) {
    if constexpr (inline_value_update) {
      // (W3) release: one word, readers see old or new, and what a new
      // pointer points to; the key is unchanged. Pairs with (R4).
      s.buckets[loc.bucket].words[loc.slot][key_words].store(vw[0], std::memory_order_release);
      return true;
    } else {
      const std::size_t p = primary(h, s.nb);
      const std::size_t q = secondary(h, p, s.nb);
      for (int attempt = 0; attempt < 2; ++attempt) {
        bucket& b = s.buckets[loc.bucket];
        if (const int f = free_slot(b); f >= 0) {
          // Same bucket: one header store swaps old for new.
          fill_slot(s, loc.bucket, static_cast<std::size_t>(f), h, kw, vw, slot_stamp(s, loc.bucket, loc.slot));
          publish(b, 1ull << f, 1ull << loc.slot);
          return true;
        }
        for (const std::size_t other : {p, q}) {
          if (other == loc.bucket) continue;
          if (const int f = free_slot(s.buckets[other]); f >= 0) {
            transfer(s, loc.bucket, loc.slot, other, static_cast<std::size_t>(f), kw, vw, h);
            return true;
          }
        }
        if (attempt == 1 || !make_room(s, p, q)) break;
        loc = *locate(s, kw, h);  // the search may have moved the key itself
      }
      // Through the stash (its reserved slot, if need be): the key's old slot
      // frees, and the drain moves a stashed key, often this one, back.
      if (const auto st = free_stash_slot(s, loc.bucket)) {
        transfer(s, loc.bucket, loc.slot, st->bucket, st->slot, kw, vw, h);
        drain_stash(s);
        return true;
      }
      return false;
    }
  }

  // Moves stashed keys back to a bucket of theirs that has room (no search):
  // an empty stash keeps misses at one counter load.
  void drain_stash(state& s) noexcept {
    if (s.stash_used.load(std::memory_order_relaxed) == 0) return;
    for (std::size_t j = s.nb; j < s.nb + stash_buckets; ++j) {
      for (std::uint64_t m = s.buckets[j].header.load(std::memory_order_relaxed) & slot_mask; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        const std::uint64_t h = hasher_(slot_key(s.buckets[j], i));
        const std::size_t p = primary(h, s.nb);
        for (const std::size_t b : {p, secondary(h, p, s.nb)}) {
          if (const int f = free_slot(s.buckets[b]); f >= 0) {
            move_slot(s, j, i, b, static_cast<std::size_t>(f));
            break;
          }
        }
      }
    }
  }

  // Growth only when the table is at least half full: below that, a key
  // without room collides with others, and doubling would not separate them.
  // After a rebuild that could not place every entry, the next try waits
  // for the table to hold an eighth more: failed O(n) rebuilds stay rare.
  [[nodiscard]] bool may_grow(const state& s) const noexcept {
    const std::size_t n = size_.load(std::memory_order_relaxed);
    return options_.grow && 2 * n >= s.nb * slots && n >= failed_growth_size_ + failed_growth_size_ / 8;
  }

  // stamp: the writer-only word of a newly placed key (a replace keeps the old one).
  absl::Status put(const Key& key, const Value& value, bool overwrite, std::uint32_t stamp = 0) {
    const key_words_t kw = to_words<key_words>(key);
    const value_words_t vw = to_words<value_words>(value);
    const std::uint64_t h = hasher_(key);
    for (bool grown = false;; grown = true) {
      state& s = *state_.load(std::memory_order_relaxed);
      if (const auto loc = locate(s, kw, h)) {
        if (!overwrite) return absl::AlreadyExistsError("nvo table: key already present");
        if (replace(s, *loc, kw, vw, h)) return absl::OkStatus();
      } else if (place(s, kw, vw, h, stamp)) {
        size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return absl::OkStatus();
      }
      if (!options_.grow) return absl::ResourceExhaustedError("nvo table: full (growth disabled)");
      if (grown) return absl::ResourceExhaustedError("nvo table: no room for the key after one growth");
      if (!may_grow(s))
        return absl::ResourceExhaustedError("nvo table: no room for the key below half load (colliding keys)");
      switch (grow()) {
        case growth::done: break;
        case growth::at_max_capacity: return absl::ResourceExhaustedError("nvo table: full at max_capacity");
        case growth::no_room:
          return absl::ResourceExhaustedError("nvo table: a bigger array could not place every entry (colliding keys)");
      }
    }
  }

  enum class growth { done, at_max_capacity, no_room };
  // Rebuilds into twice the buckets (capped by max_capacity), publishes
  // (W6), retires the old array. Otherwise the old array stays: the cap
  // allows no more buckets, or an entry found no room in the new array.
  growth grow() {
    state* old = state_.load(std::memory_order_relaxed);
    std::size_t nb = old->nb * 2;
    if (options_.max_capacity != 0) nb = std::min(nb, buckets_for(options_.max_capacity));
    if (nb <= old->nb) return growth::at_max_capacity;
    auto next = std::make_unique<state>(nb);
    for (std::size_t b = 0; b < old->nb + stash_buckets; ++b) {
      const bucket& bk = old->buckets[b];
      for (std::uint64_t m = bk.header.load(std::memory_order_relaxed) & slot_mask; m != 0; m &= m - 1) {
        const std::size_t i = static_cast<std::size_t>(std::countr_zero(m));
        const key_words_t kw = slot_key_words(bk, i);
        if (!place(*next, kw, slot_value_words(bk, i), hasher_(from_words<Key>(kw)), slot_stamp(*old, b, i))) {
          failed_growth_size_ = size_.load(std::memory_order_relaxed);
          return growth::no_room;
        }
      }
    }
    // The new array's stash counter was raised by its own places; readers
    // see it through (W6).
    stashed_.store(next->stash_used.load(std::memory_order_relaxed), std::memory_order_relaxed);
    // (W6) release: readers that load the new array see it fully built.
    state* const fresh = next.release();
    state_.store(fresh, std::memory_order_release);
    slot_count_.store(fresh->nb * slots, std::memory_order_relaxed);
    memory_bytes_.store(fresh->bytes() + sizeof(*this), std::memory_order_relaxed);
    growths_.store(growths_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    reclaimer_->retire(old, [](void* p) { delete static_cast<state*>(p); });
    return growth::done;
  }

  table_options options_;
  std::unique_ptr<reclaimer_type> owned_;
  reclaimer_type* reclaimer_;
  hasher hasher_;
  std::size_t failed_growth_size_ = 0;  // writer only
  bool vector_scan_ = vector_shape && !detail::tsan_build && simd::active() == simd::isa::avx512;
  // Statistics: written by the writer (relaxed), read from any thread.
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> slot_count_{0};
  std::atomic<std::size_t> memory_bytes_{0};
  std::atomic<std::size_t> stashed_{0};
  std::atomic<std::uint64_t> growths_{0};
  alignas(cache_line) std::atomic<state*> state_{nullptr};
  std::atomic<std::uint64_t> moves_{0};
};

}  // namespace table
NVO_END_NAMESPACE
