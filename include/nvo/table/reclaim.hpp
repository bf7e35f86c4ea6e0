// File: nvo/table/reclaim.hpp
// Safe memory reclamation policies for nvo's tables: reclaim::none and reclaim::qsbr.
//
// The table retires memory (a bucket array replaced by growth, a flood list
// replaced by a new one) only after it has unpublished it; a reclaimer decides
// when nobody can still be reading it.
//
//   reclaim::none  frees nothing until the reclaimer is destroyed. Always safe;
//                  meant for static or rarely changed tables (memory of replaced
//                  arrays and lists stays until the table goes away).
//   reclaim::qsbr  quiescent-state-based reclamation (the scheme of Linux RCU,
//                  liburcu-qsbr and DPDK rte_rcu_qsbr). Every reader thread
//                  registers a qsbr::reader and calls quiescent() between bursts
//                  (at points where it holds no pointer into any table); a
//                  thread that blocks for long goes offline() first. Retired
//                  memory is freed once every online reader has announced a
//                  quiescent state after the retirement.
//
// Usage:
//   nvo::table::reclaim::qsbr domain;                   // shared by tables
//   table_type t(options, domain);
//   // reader thread:
//   auto r = domain.try_register_reader();              // nullopt: all slots taken
//   for (;;) { process_burst(t); r->quiescent(); domain.poll(); }
//
// SHARING A DOMAIN
//   One domain may serve any number of tables, each with its own writer
//   thread: retire() and the freeing of retired memory are serialized by the
//   domain's own mutex (control path). poll() may be called from any thread,
//   a datapath thread included: it returns at once when nothing is pending
//   or another thread is already freeing, so memory is reclaimed without
//   waiting for a later retire(). Deleters run on the thread that polls.
//
// An embedder with its own RCU writes a policy whose retire() calls call_rcu
// (liburcu) or rte_rcu_qsbr_dq_enqueue (DPDK); see the reclaimer concept in
// policy.hpp.
//
// Memory orders (numbers are referred to from the comments at each operation):
//   (Q1) reader acquire-load of epoch_   synchronizes-with (E1)
//   (Q2) reader release-store of seen    synchronizes-with (E2)
//   (Q3) reader seq_cst fence (online)   pairs with (E3)
//   (E1) writer acq_rel fetch_add of epoch_ (after the table unpublished p)
//   (E2) acquire-load of each seen, before freeing
//   (E3) seq_cst fence between (E1) and (E2)
//   (E4) relaxed pending_ count: only a hint for poll()'s early return; the
//        retired list itself is guarded by mutex_
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace table::reclaim {

// none: keeps retired memory until destruction.
// Progress: retire() is blocking (a mutex, the allocator: control path).
class none {
 public:
  none() = default;
  none(const none&) = delete;
  none& operator=(const none&) = delete;
  ~none() {
    for (auto& r : retired_) r.deleter(r.p);
  }

  void retire(void* p, void (*deleter)(void*)) {
    const std::lock_guard lock(mutex_);
    retired_.push_back({p, deleter});
  }
  [[nodiscard]] std::size_t pending() const {
    const std::lock_guard lock(mutex_);
    return retired_.size();
  }

 private:
  struct item {
    void* p;
    void (*deleter)(void*);
  };
  mutable std::mutex mutex_;
  std::vector<item> retired_;
};

// qsbr: quiescent-state-based reclamation for up to MaxReaders reader threads.
template <std::size_t MaxReaders = 64>
class basic_qsbr {
  static constexpr std::uint64_t offline_mark = 0;  // reader not inside the read side
  static constexpr std::size_t line = 64;

 public:
  static constexpr std::size_t max_readers = MaxReaders;

  basic_qsbr() = default;
  basic_qsbr(const basic_qsbr&) = delete;
  basic_qsbr& operator=(const basic_qsbr&) = delete;
  // PRECONDITION: no reader is registered any more.
  ~basic_qsbr() {
    for (auto& r : retired_) r.deleter(r.p);
  }

  // A registered reader thread (from try_register_reader()). Starts online;
  // its destructor goes offline and frees the slot.
  class reader {
   public:
    reader(reader&& other) noexcept : domain_(other.domain_), index_(other.index_) { other.domain_ = nullptr; }
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;
    reader& operator=(reader&&) = delete;
    ~reader() {
      if (domain_ == nullptr) return;
      offline();
      domain_->unregister_reader(index_);
    }

    // quiescent(): announces the thread holds no pointer into any table.
    // Progress: wait-free.
    // PRECONDITION: online (call online() after offline() first).
    NVO_ALWAYS_INLINE void quiescent() noexcept {
      NVO_ASSERT(domain_->slots_[index_].seen.load(std::memory_order_relaxed) != offline_mark);
      // (Q1) acquire: pairs with (E1), so later lookups see the new pointers.
      const std::uint64_t e = domain_->epoch_.load(std::memory_order_acquire);
      // (Q2) release: reads of retired memory happen-before the writer's (E2).
      domain_->slots_[index_].seen.store(e, std::memory_order_release);
    }
    // offline(): the thread stops reading (e.g. before blocking). Wait-free.
    void offline() noexcept { domain_->slots_[index_].seen.store(offline_mark, std::memory_order_release); }
    // online(): the thread resumes reading. Wait-free.
    void online() noexcept {
      domain_->slots_[index_].seen.store(domain_->epoch_.load(std::memory_order_acquire),
                                         std::memory_order_relaxed);
      // (Q3) orders the store above before the reader's next loads of table
      // pointers; pairs with (E3): either the freeing thread sees us online,
      // or we see what it unpublished before retiring.
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }

   private:
    friend basic_qsbr;
    reader(basic_qsbr& domain, std::size_t index) : domain_(&domain), index_(index) { online(); }
    basic_qsbr* domain_;
    std::size_t index_;
  };

  // try_register_reader(): an online reader for the calling thread, or
  // nullopt when all MaxReaders slots are taken. Lock-free; control path.
  [[nodiscard]] std::optional<reader> try_register_reader() noexcept {
    for (std::size_t i = 0; i < MaxReaders; ++i) {
      bool expected = false;
      // acq_rel: pairs with unregister_reader's release of the slot.
      if (slots_[i].used.compare_exchange_strong(expected, true, std::memory_order_acq_rel))
        return reader(*this, i);
    }
    return std::nullopt;
  }

  // retire(p, deleter): frees p after a grace period. Any writer thread.
  // Progress: blocking (mutex, allocation); never waits for readers.
  void retire(void* p, void (*deleter)(void*)) {
    {
      const std::lock_guard lock(mutex_);
      // (E1) acq_rel: readers whose (Q1) sees the new epoch also see the
      // unpublishing store that preceded this call.
      const std::uint64_t e = epoch_.fetch_add(1, std::memory_order_acq_rel) + 1;
      retired_.push_back({p, deleter, e});
      pending_.store(retired_.size(), std::memory_order_relaxed);  // (E4)
    }
    poll();
  }

  // poll(): frees everything whose grace period has ended. Any thread; a
  // datapath thread may call it between bursts. Returns at once when nothing
  // is pending or another thread is freeing.
  // Progress: lock-free apart from the deleters it runs.
  void poll() {
    if (pending_.load(std::memory_order_relaxed) == 0) return;  // (E4)
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (lock.owns_lock()) reclaim_locked();
  }

  // synchronize(): waits until everything retired so far is freed.
  // Progress: blocking (waits for every online reader's next quiescent state).
  void synchronize() {
    for (;;) {
      {
        const std::lock_guard lock(mutex_);
        reclaim_locked();
        if (retired_.empty()) return;
      }
      std::this_thread::yield();
    }
  }

  [[nodiscard]] std::size_t pending() const noexcept { return pending_.load(std::memory_order_relaxed); }

 private:
  struct item {
    void* p;
    void (*deleter)(void*);
    std::uint64_t epoch;
  };
  struct alignas(line) reader_slot {
    std::atomic<std::uint64_t> seen{offline_mark};
    std::atomic<bool> used{false};
  };

  void reclaim_locked() {
    // (E3) pairs with (Q3).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::uint64_t min_seen = UINT64_MAX;
    for (auto& s : slots_) {
      // (E2) acquire: pairs with (Q2).
      const std::uint64_t seen = s.seen.load(std::memory_order_acquire);
      if (seen != offline_mark) min_seen = std::min(min_seen, seen);
    }
    auto keep = std::partition(retired_.begin(), retired_.end(), [&](const item& r) { return r.epoch > min_seen; });
    for (auto it = keep; it != retired_.end(); ++it) it->deleter(it->p);
    retired_.erase(keep, retired_.end());
    pending_.store(retired_.size(), std::memory_order_relaxed);  // (E4)
  }

  // release: pairs with try_register_reader's acq_rel exchange.
  void unregister_reader(std::size_t i) noexcept { slots_[i].used.store(false, std::memory_order_release); }

  alignas(line) std::atomic<std::uint64_t> epoch_{1};
  std::array<reader_slot, MaxReaders> slots_{};
  std::mutex mutex_;
  std::atomic<std::size_t> pending_{0};
  std::vector<item> retired_;  // guarded by mutex_
};

using qsbr = basic_qsbr<>;

}  // namespace table::reclaim
NVO_END_NAMESPACE
