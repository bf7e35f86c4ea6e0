// File: nvo/table/forwarding.hpp
// CA->PA forwarding tables: where a customer address lives in the provider
// network, read per packet on many cores while a control plane (or data-plane
// learning) rewrites it.
//
//   l2_forwarding_table<policy::learning<true>>  VXLAN / Open vSwitch style:
//     {24-bit VNI, MAC} -> tunnel_endpoint, with flood-and-learn (Linux
//     vxlan_snoop semantics), aging, per-VNI flood lists and PA membership.
//   l3_forwarding_table<>                        Hyper-V Network Virtualization style:
//     {VSID or routing domain, CA IPv4/IPv6} -> tunnel_endpoint + CA MAC,
//     controller-populated (HNV has no data-plane learning).
//
//   nvo::table::reclaim::qsbr domain;
//   nvo::table::l2_forwarding_table<nvo::table::policy::reclaimer<nvo::table::reclaim::qsbr>,
//                                   nvo::table::policy::learning<true>> fdb({}, domain);
//   // control plane / learning thread (the single writer):
//   (void)fdb.add_static(vni, mac, endpoint);
//   fdb.learn(vni, inner_src_mac, outer_src_pa, now_s);
//   fdb.age(now_s);
//   // datapath threads (qsbr readers):
//   if (auto ep = fdb.lookup(vni, dst_mac)) encapsulate_to(*ep);
//   if (!fdb.is_member(vni, outer_src_pa)) drop();           // anti-spoofing
//   if (auto* fl = fdb.flood_list_of(vni)) for (auto& pa : fl->remotes) replicate(pa);
//
// CONCURRENCY (see basic_table.hpp for the protocol and memory orders)
//   lookup, lookup_bulk, is_member, flood_list_of, stats: lock-free, any
//     threads; no allocation, locks or exceptions. flood_list_of()'s pointer
//     stays valid until the calling reader's next quiescent state (reclaimer
//     read side); the list it points to was fully built before it was
//     published (release store, basic_table W2/W3).
//   everything else (add/remove/learn/age/set_flood_list/...): one writer
//     thread at a time, serialized by the caller; blocking only among writers.
//   Records are copied out whole; a reader never sees a half-written one.
//
// BOUNDED UNDER ATTACK
//   A tenant chooses the source MACs that learning inserts. The tables hash
//   with keyed_hash (a per-table secret) by default, every call does at most
//   one growth, and a MAC that finds no room is refused (learn_result::
//   table_full, counted) without evicting anything, static entries least of
//   all. The learn limit's per-VNI counts live in a fixed array sized once
//   from l2_options::max_learning_vnis: learning never allocates.
//
// TIME
//   The caller passes the time in seconds (any monotonic origin) to learn()
//   and age(), so tests drive a fake clock and the datapath reads no clock.
//   The time a MAC was last seen is a writer-only word beside the record
//   (policy::writer_stamp), so refreshing an active MAC every second writes
//   nothing that readers copy.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nvo/config.hpp"
#include "nvo/table/basic_table.hpp"
#include "nvo/wire/address.hpp"
#include "nvo/wire/encapsulation.hpp"

NVO_BEGIN_NAMESPACE
namespace table {

namespace policy {
// learning<true>: flood-and-learn (VXLAN style); learning<false>: controller only.
template <bool On>
struct learning {
  static constexpr bool value = On;
};
}  // namespace policy

namespace detail {
template <class... Policies>
struct learning_param : std::false_type {};
template <bool On, class... Rest>
struct learning_param<policy::learning<On>, Rest...> : std::bool_constant<On> {};
template <class Other, class... Rest>
struct learning_param<Other, Rest...> : learning_param<Rest...> {};

template <class P>
struct is_learning_policy : std::false_type {};
template <bool On>
struct is_learning_policy<policy::learning<On>> : std::true_type {};

// vni_counts: writer-only per-VNI counters in one fixed array (linear
// probing, backward-shift deletion), sized at construction for `capacity`
// VNIs with a non-zero count. No allocation after construction; a VNI beyond
// capacity is refused. Keys are 24-bit VNIs, which learning takes from
// packets, so slots are chosen by a keyed hash; empty slots hold empty_key.
class vni_counts {
 public:
  explicit vni_counts(std::size_t capacity)
      : capacity_(capacity), mask_(std::bit_ceil(std::max<std::size_t>(2 * capacity, 2)) - 1),
        hash_(capacity == 0 ? keyed_hash(hash_seed{}) : keyed_hash()), slots_(capacity == 0 ? 0 : mask_ + 1) {}

  [[nodiscard]] std::uint32_t get(std::uint32_t vni) const noexcept {
    if (slots_.empty()) return 0;
    for (std::size_t i = home(vni);; i = (i + 1) & mask_) {
      if (slots_[i].vni == vni) return slots_[i].count;
      if (slots_[i].vni == empty_key) return 0;
    }
  }
  // increment(): false (nothing changed) when vni is new and capacity VNIs are counted.
  [[nodiscard]] bool increment(std::uint32_t vni) noexcept {
    if (slots_.empty()) return false;
    std::size_t i = home(vni);
    for (; slots_[i].vni != empty_key; i = (i + 1) & mask_) {
      if (slots_[i].vni == vni) {
        ++slots_[i].count;
        return true;
      }
    }
    if (used_ == capacity_) return false;
    slots_[i] = {vni, 1};
    ++used_;
    return true;
  }
  // decrement(): PRECONDITION get(vni) > 0. A count that reaches zero frees its slot.
  void decrement(std::uint32_t vni) noexcept {
    if (slots_.empty()) return;
    std::size_t i = home(vni);
    for (; slots_[i].vni != vni; i = (i + 1) & mask_) {
      if (slots_[i].vni == empty_key) {
        NVO_ASSERT(false && "vni_counts: decrement of an uncounted VNI");
        return;
      }
    }
    NVO_ASSERT(slots_[i].count > 0);
    if (--slots_[i].count != 0) return;
    // Backward-shift deletion: pull later entries of the run into the hole.
    for (std::size_t j = (i + 1) & mask_; slots_[j].vni != empty_key; j = (j + 1) & mask_) {
      const std::size_t h = home(slots_[j].vni);
      if (((j - h) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = {};
    --used_;
  }
  [[nodiscard]] std::size_t size() const noexcept { return used_; }

 private:
  static constexpr std::uint32_t empty_key = 0xFFFFFFFFu;
  struct slot {
    std::uint32_t vni = empty_key;
    std::uint32_t count = 0;
  };
  [[nodiscard]] std::size_t home(std::uint32_t vni) const noexcept { return static_cast<std::size_t>(hash_(vni)) & mask_; }
  std::size_t capacity_;
  std::size_t mask_;
  keyed_hash hash_;
  std::size_t used_ = 0;
  std::vector<slot> slots_;
};
}  // namespace detail

enum class endpoint_flags : std::uint8_t { learned = 0, static_entry = 1 };

// Where a customer address lives: 32 bytes, copied whole by readers. It
// holds only what the datapath reads: a learned entry's last-seen time is
// kept by the writer outside the record (l2_forwarding_table::last_seen).
struct tunnel_endpoint {
  wire::ip_address provider;                                    // underlay address (v4 or v6)
  wire::encapsulation encap = wire::encapsulation::vxlan;       // how to reach it
  endpoint_flags flags = endpoint_flags::static_entry;          // learning never overwrites static
  std::uint8_t reserved[5]{};
  std::uint64_t tunnel_id = 0;                                  // VNI, VSID or STT context id

  [[nodiscard]] constexpr bool is_static() const noexcept { return flags == endpoint_flags::static_entry; }
  friend constexpr bool operator==(const tunnel_endpoint&, const tunnel_endpoint&) = default;
};
static_assert(sizeof(tunnel_endpoint) == 32 && std::has_unique_object_representations_v<tunnel_endpoint>);

struct l2_key {
  std::uint32_t vni = 0;  // 24 bits used
  wire::mac_address mac;
  std::uint16_t reserved = 0;
  friend constexpr bool operator==(const l2_key&, const l2_key&) = default;

  // make(): the key written as one 8-byte and one 4-byte store, the widths
  // the table's hash and compare read it with (a load spanning the field
  // stores of an aggregate initialization stalls on store forwarding, which
  // costs a single lookup more than its hash). Build lookup_bulk keys with it.
  [[nodiscard]] static NVO_ALWAYS_INLINE l2_key make(std::uint32_t vni, const wire::mac_address& mac) noexcept {
    const auto* m = mac.octets.data();
    const std::uint64_t lo = vni | detail::load_bytes<4>(m) << 32;
    const auto hi = static_cast<std::uint32_t>(detail::load_bytes<2>(m + 4));
    l2_key k;
    std::memcpy(static_cast<void*>(&k), &lo, 8);
    std::memcpy(reinterpret_cast<unsigned char*>(&k) + 8, &hi, 4);
    return k;
  }
};
static_assert(sizeof(l2_key) == 12 && std::has_unique_object_representations_v<l2_key>);

namespace detail {
// An {id, IP} key (l3_key, the membership key) written as three 8-byte
// stores, the widths the table reads it with.
template <class K>
[[nodiscard]] NVO_ALWAYS_INLINE K make_id_ip_key(std::uint32_t id, const wire::ip_address& ip) noexcept {
  static_assert(sizeof(K) == 24 && sizeof(wire::ip_address) == 17);
  const auto* p = reinterpret_cast<const unsigned char*>(&ip);
  const std::array<std::uint64_t, 3> w{id | load_bytes<4>(p) << 32, load_bytes<8>(p + 4), load_bytes<5>(p + 12)};
  K k;
  std::memcpy(static_cast<void*>(&k), w.data(), sizeof(K));
  return k;
}
}  // namespace detail

struct l3_key {
  std::uint32_t domain = 0;  // VSID or routing domain id
  wire::ip_address ca;
  std::uint8_t reserved[3]{};
  friend constexpr bool operator==(const l3_key&, const l3_key&) = default;

  // make(): the key as the table reads it (see l2_key::make).
  [[nodiscard]] static NVO_ALWAYS_INLINE l3_key make(std::uint32_t domain, const wire::ip_address& ca) noexcept {
    return detail::make_id_ip_key<l3_key>(domain, ca);
  }
};
static_assert(sizeof(l3_key) == 24 && std::has_unique_object_representations_v<l3_key>);

struct l3_entry {
  tunnel_endpoint endpoint;
  wire::mac_address ca_mac;  // lets the datapath rewrite the inner MAC and answer ARP/ND
  std::uint16_t reserved = 0;
  friend constexpr bool operator==(const l3_entry&, const l3_entry&) = default;
};
static_assert(sizeof(l3_entry) == 40);

// Head-end replication targets of one VNI; immutable once published.
struct flood_list {
  std::vector<wire::ip_address> remotes;
  std::optional<wire::ip_address> group;  // underlay multicast group, if any
};

enum class learn_result : std::uint8_t {
  learned,          // new entry
  refreshed,        // same endpoint, last-seen time updated
  moved,            // MAC moved to another endpoint (entry updated, counted)
  static_conflict,  // a static entry holds the MAC elsewhere: not learned (Linux drops the packet)
  limit_reached,    // the VNI holds its learn limit of learned MACs
  invalid_source,   // multicast or all-zero source MAC
  invalid_vni,      // VNI wider than 24 bits
  too_many_vnis,    // max_learning_vnis VNIs already hold learned MACs
  table_full,       // no room for the MAC (full, at max_capacity, or colliding keys)
};

[[nodiscard]] constexpr std::string_view to_string(learn_result r) noexcept {
  switch (r) {
    case learn_result::learned: return "learned";
    case learn_result::refreshed: return "refreshed";
    case learn_result::moved: return "moved";
    case learn_result::static_conflict: return "static_conflict";
    case learn_result::limit_reached: return "limit_reached";
    case learn_result::invalid_source: return "invalid_source";
    case learn_result::invalid_vni: return "invalid_vni";
    case learn_result::too_many_vnis: return "too_many_vnis";
    case learn_result::table_full: return "table_full";
  }
  return "unknown";
}

struct l2_options {
  table_options entries{};                 // MAC entries
  table_options members{.capacity = 256};  // (VNI, PA) membership pairs
  table_options vnis{.capacity = 64};      // VNIs with flood lists
  std::uint32_t age_timeout_s = 300;       // Linux FDB_AGE_DEFAULT / OVS mac-aging-time
  std::uint32_t learn_limit_per_vni = 0;   // 0: unlimited (Linux maxaddress)
  std::size_t max_learning_vnis = 4096;    // VNIs that may hold learned MACs at once (learning only)
  wire::encapsulation learn_encap = wire::encapsulation::vxlan;
};

// A snapshot of the learning counters; l2_forwarding_table::stats() may be
// called from any thread.
struct l2_stats {
  std::uint64_t learned = 0;
  std::uint64_t moves = 0;
  std::uint64_t static_conflicts = 0;
  std::uint64_t limit_drops = 0;      // learn_result::limit_reached and too_many_vnis
  std::uint64_t invalid_sources = 0;  // learn_result::invalid_source and invalid_vni
  std::uint64_t table_full = 0;
  std::uint64_t aged = 0;
};

template <class... Policies>
class l2_forwarding_table {
  using reclaimer_t = detail::type_param_t<policy::reclaimer, reclaim::none, Policies...>;
  using hash_t = detail::type_param_t<policy::hash, keyed_hash, Policies...>;
  static constexpr bool learning = detail::learning_param<Policies...>::value;
  static_assert(((detail::is_known_policy<Policies>::value || detail::is_learning_policy<Policies>::value) && ...),
                "l2_forwarding_table: unknown policy; use policy::hash, policy::reclaimer, policy::learning");

  struct member_key {
    std::uint32_t vni = 0;
    wire::ip_address pa;
    std::uint8_t reserved[3]{};
  };
  struct vni_key {
    std::uint32_t vni = 0;
  };
  template <class K, class V, class... Extra>
  using table_t = basic_table<K, V, policy::hash<hash_t>, policy::reclaimer<reclaimer_t>, Extra...>;
  using fdb_t = table_t<l2_key, tunnel_endpoint, policy::writer_stamp<learning>>;

 public:
  explicit l2_forwarding_table(l2_options o = {})
    requires std::default_initializable<reclaimer_t>
      : l2_forwarding_table(o, std::make_unique<reclaimer_t>()) {}
  l2_forwarding_table(l2_options o, reclaimer_t& r)
      : options_(o), rec_(&r), fdb_(o.entries, r), members_(o.members, r), flood_(o.vnis, r),
        learned_per_vni_(learning ? o.max_learning_vnis : 0) {}
  l2_forwarding_table(const l2_forwarding_table&) = delete;
  l2_forwarding_table& operator=(const l2_forwarding_table&) = delete;
  ~l2_forwarding_table() {
    flood_.for_each([](const vni_key&, std::uint64_t p) { delete to_list(p); });  // live lists; retired ones belong to the reclaimer
  }

  // ---- datapath: lock-free ------------------------------------------------------
  [[nodiscard]] std::optional<tunnel_endpoint> lookup(std::uint32_t vni, wire::mac_address mac) const noexcept {
    return fdb_.find(l2_key::make(vni, mac));
  }
  // lookup(vni, mac, out): the record into out; false on a miss.
  [[nodiscard]] bool lookup(std::uint32_t vni, wire::mac_address mac, tunnel_endpoint& out) const noexcept {
    return fdb_.find(l2_key::make(vni, mac), out);
  }
  // lookup_bulk(): up to 64 keys; returns the hit mask.
  [[nodiscard]] std::uint64_t lookup_bulk(std::span<const l2_key> keys, std::span<tunnel_endpoint> out) const noexcept {
    return fdb_.find_bulk(keys, out);
  }
  // is_member(): does pa belong to vni (outer source check against spoofing)?
  [[nodiscard]] bool is_member(std::uint32_t vni, const wire::ip_address& pa) const noexcept {
    return members_.contains(detail::make_id_ip_key<member_key>(vni, pa));
  }
  // flood_list_of(): the VNI's replication list or nullptr; valid until the
  // reader's next quiescent state.
  [[nodiscard]] const flood_list* flood_list_of(std::uint32_t vni) const noexcept {
    const auto p = flood_.find(vni_key{vni});
    return p ? to_list(*p) : nullptr;
  }

  // ---- control plane: one writer --------------------------------------------------
  // add_static(): controller entry; replaces anything, never aged or moved by learning.
  [[nodiscard]] absl::Status add_static(std::uint32_t vni, wire::mac_address mac, tunnel_endpoint ep) {
    if (auto st = check_key(vni, mac); !st.ok()) return st;
    ep.flags = endpoint_flags::static_entry;
    const auto old = fdb_.find(l2_key::make(vni, mac));
    if (auto st = fdb_.insert_or_assign(l2_key::make(vni, mac), ep); !st.ok()) return st;
    if (old && !old->is_static()) learned_per_vni_.decrement(vni);
    return absl::OkStatus();
  }
  // remove(): deletes an entry, static or learned.
  [[nodiscard]] absl::Status remove(std::uint32_t vni, wire::mac_address mac) {
    if (auto st = check_key(vni, mac); !st.ok()) return st;
    const auto old = fdb_.find(l2_key::make(vni, mac));
    if (auto st = fdb_.erase(l2_key::make(vni, mac)); !st.ok()) return st;
    if (!old->is_static()) learned_per_vni_.decrement(vni);
    return absl::OkStatus();
  }

  // learn(): data-plane learning from a decapsulated packet (vxlan_snoop).
  // Every outcome but learned/refreshed/moved leaves the table unchanged
  // and is counted in stats().
  learn_result learn(std::uint32_t vni, wire::mac_address src_mac, const wire::ip_address& outer_src, std::uint32_t now_s)
    requires learning
  {
    return learn(vni, src_mac, outer_src, now_s, options_.learn_encap);
  }
  // learn(..., encap): the same for a packet that arrived with encapsulation
  // encap (a VTEP terminating several), which the learned entry records.
  learn_result learn(std::uint32_t vni, wire::mac_address src_mac, const wire::ip_address& outer_src, std::uint32_t now_s,
                     wire::encapsulation encap)
    requires learning
  {
    if (vni > max_vni) return count(stats_.invalid_sources, learn_result::invalid_vni);
    if (src_mac.is_multicast() || src_mac.is_zero()) return count(stats_.invalid_sources, learn_result::invalid_source);
    const l2_key key = l2_key::make(vni, src_mac);
    const auto same_endpoint = [&](const tunnel_endpoint& ep) { return ep.provider == outer_src && ep.encap == encap; };
    // A refresh stamps the entry in the same search; the stamp lives beside
    // the record, so readers see no write.
    const auto old =
        fdb_.find_stamp_if(key, now_s, [&](const tunnel_endpoint& ep) { return !ep.is_static() && same_endpoint(ep); });
    if (old) {
      if (same_endpoint(*old)) return learn_result::refreshed;
      if (old->is_static()) return count(stats_.static_conflicts, learn_result::static_conflict);
      if (!fdb_.insert_or_assign(key, learned_endpoint(vni, outer_src, encap)).ok())
        return count(stats_.table_full, learn_result::table_full);
      (void)fdb_.set_stamp(key, now_s);
      return count(stats_.moves, learn_result::moved);
    }
    if (options_.learn_limit_per_vni != 0 && learned_per_vni_.get(vni) >= options_.learn_limit_per_vni)
      return count(stats_.limit_drops, learn_result::limit_reached);
    if (!learned_per_vni_.increment(vni)) return count(stats_.limit_drops, learn_result::too_many_vnis);
    if (!fdb_.insert(key, learned_endpoint(vni, outer_src, encap), now_s).ok()) {
      learned_per_vni_.decrement(vni);
      return count(stats_.table_full, learn_result::table_full);
    }
    return count(stats_.learned, learn_result::learned);
  }

  // last_seen(): when learning last saw the MAC (seconds, caller's clock);
  // nullopt for an absent or static entry. Writer side.
  [[nodiscard]] std::optional<std::uint32_t> last_seen(std::uint32_t vni, wire::mac_address mac) const
    requires learning
  {
    const auto ep = fdb_.find(l2_key::make(vni, mac));
    if (!ep || ep->is_static()) return std::nullopt;
    return fdb_.stamp(l2_key::make(vni, mac));
  }

  // age(): removes learned entries not seen for age_timeout_s; returns how many.
  std::size_t age(std::uint32_t now_s) {
    const std::size_t n = fdb_.erase_if([&](const l2_key& k, const tunnel_endpoint& ep, std::uint32_t seen) {
      if (ep.is_static() || now_s - seen < options_.age_timeout_s) return false;
      learned_per_vni_.decrement(k.vni);
      return true;
    });
    add(stats_.aged, n);
    return n;
  }

  // set_flood_list(): publishes a new list for vni; the old one is retired.
  [[nodiscard]] absl::Status set_flood_list(std::uint32_t vni, std::span<const wire::ip_address> remotes,
                                            std::optional<wire::ip_address> group = std::nullopt) {
    if (vni > max_vni) return absl::InvalidArgumentError("nvo l2 table: VNI exceeds 24 bits");
    auto list = std::make_unique<flood_list>(flood_list{{remotes.begin(), remotes.end()}, group});
    const auto old = flood_.find(vni_key{vni});
    if (auto st = flood_.insert_or_assign(vni_key{vni}, reinterpret_cast<std::uint64_t>(list.get())); !st.ok()) return st;
    list.release();
    if (old) retire_list(*old);
    return absl::OkStatus();
  }
  [[nodiscard]] absl::Status remove_flood_list(std::uint32_t vni) {
    const auto old = flood_.find(vni_key{vni});
    if (auto st = flood_.erase(vni_key{vni}); !st.ok()) return st;
    retire_list(*old);
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status add_member(std::uint32_t vni, const wire::ip_address& pa) {
    if (vni > max_vni || pa.version == 0) return absl::InvalidArgumentError("nvo l2 table: bad VNI or unset PA");
    return members_.insert_or_assign(detail::make_id_ip_key<member_key>(vni, pa), 1);
  }
  [[nodiscard]] absl::Status remove_member(std::uint32_t vni, const wire::ip_address& pa) {
    return members_.erase(detail::make_id_ip_key<member_key>(vni, pa));
  }

  [[nodiscard]] std::size_t size() const noexcept { return fdb_.size(); }
  // learned_in(): learned MACs in vni. Writer side.
  [[nodiscard]] std::uint32_t learned_in(std::uint32_t vni) const noexcept { return learned_per_vni_.get(vni); }
  [[nodiscard]] l2_stats stats() const noexcept {
    const auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    return {get(stats_.learned),         get(stats_.moves),      get(stats_.static_conflicts), get(stats_.limit_drops),
            get(stats_.invalid_sources), get(stats_.table_full), get(stats_.aged)};
  }
  // The MAC table itself, for its introspection (memory_bytes, growths, stashed).
  [[nodiscard]] const fdb_t& entries() const noexcept { return fdb_; }

 private:
  static constexpr std::uint32_t max_vni = 0xFFFFFF;

  // Counters: written by the writer with relaxed stores, read by stats()
  // from any thread (relaxed: each counter is independent).
  struct counters {
    std::atomic<std::uint64_t> learned{0};
    std::atomic<std::uint64_t> moves{0};
    std::atomic<std::uint64_t> static_conflicts{0};
    std::atomic<std::uint64_t> limit_drops{0};
    std::atomic<std::uint64_t> invalid_sources{0};
    std::atomic<std::uint64_t> table_full{0};
    std::atomic<std::uint64_t> aged{0};
  };
  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);  // one writer
  }
  static learn_result count(std::atomic<std::uint64_t>& c, learn_result r) noexcept {
    add(c, 1);
    return r;
  }

  l2_forwarding_table(l2_options o, std::unique_ptr<reclaimer_t> owned)
      : options_(o), owned_(std::move(owned)), rec_(owned_.get()), fdb_(o.entries, *rec_), members_(o.members, *rec_),
        flood_(o.vnis, *rec_), learned_per_vni_(learning ? o.max_learning_vnis : 0) {}

  static const flood_list* to_list(std::uint64_t p) noexcept { return reinterpret_cast<const flood_list*>(p); }
  void retire_list(std::uint64_t p) {
    rec_->retire(reinterpret_cast<void*>(p), [](void* q) { delete static_cast<flood_list*>(q); });
  }

  static absl::Status check_key(std::uint32_t vni, wire::mac_address mac) {
    if (vni > max_vni) return absl::InvalidArgumentError("nvo l2 table: VNI exceeds 24 bits");
    if (mac.is_multicast() || mac.is_zero()) return absl::InvalidArgumentError("nvo l2 table: MAC must be unicast");
    return absl::OkStatus();
  }
  static tunnel_endpoint learned_endpoint(std::uint32_t vni, const wire::ip_address& pa, wire::encapsulation encap) noexcept {
    return tunnel_endpoint{.provider = pa, .encap = encap, .flags = endpoint_flags::learned, .tunnel_id = vni};
  }

  l2_options options_;
  std::unique_ptr<reclaimer_t> owned_;
  reclaimer_t* rec_;
  fdb_t fdb_;
  table_t<member_key, std::uint64_t> members_;
  table_t<vni_key, std::uint64_t> flood_;
  detail::vni_counts learned_per_vni_;  // writer only, preallocated
  counters stats_;
};

// l3_forwarding_table: HNV-style {domain, CA IP} -> endpoint + CA MAC.
template <class... Policies>
class l3_forwarding_table {
 public:
  using table_type = basic_table<l3_key, l3_entry, Policies...>;

  explicit l3_forwarding_table(table_options o = {})
    requires std::default_initializable<typename table_type::reclaimer_type>
      : t_(o) {}
  l3_forwarding_table(table_options o, typename table_type::reclaimer_type& r) : t_(o, r) {}

  [[nodiscard]] std::optional<l3_entry> lookup(std::uint32_t domain, const wire::ip_address& ca) const noexcept {
    return t_.find(l3_key::make(domain, ca));
  }
  // lookup(domain, ca, out): the record into out; false on a miss.
  [[nodiscard]] bool lookup(std::uint32_t domain, const wire::ip_address& ca, l3_entry& out) const noexcept {
    return t_.find(l3_key::make(domain, ca), out);
  }
  [[nodiscard]] std::uint64_t lookup_bulk(std::span<const l3_key> keys, std::span<l3_entry> out) const noexcept {
    return t_.find_bulk(keys, out);
  }
  // add(): controller record; replaces an existing one atomically for readers.
  [[nodiscard]] absl::Status add(std::uint32_t domain, const wire::ip_address& ca, l3_entry e) {
    if (ca.version != 4 && ca.version != 6) return absl::InvalidArgumentError("nvo l3 table: CA must be IPv4 or IPv6");
    if (e.endpoint.provider.version == 0) return absl::InvalidArgumentError("nvo l3 table: PA unset");
    e.endpoint.flags = endpoint_flags::static_entry;
    return t_.insert_or_assign(l3_key::make(domain, ca), e);
  }
  [[nodiscard]] absl::Status remove(std::uint32_t domain, const wire::ip_address& ca) {
    return t_.erase(l3_key::make(domain, ca));
  }
  [[nodiscard]] std::size_t size() const noexcept { return t_.size(); }

 private:
  table_type t_;
};

}  // namespace table
NVO_END_NAMESPACE
