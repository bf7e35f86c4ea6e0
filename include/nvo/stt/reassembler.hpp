// File: nvo/stt/reassembler.hpp
// STT reassembly (draft-davie-stt-08 3.2, 3.3.2): segments back into one
// contiguous STT frame (frame header + inner Ethernet frame), with a memory
// bound that holds whatever the underlay sends.
//
// The draft defines no timeout, memory limit or overlap rule; this follows the
// reference implementation (OVS datapath/linux/compat/stt.c: 4 MiB per CPU,
// 30 s, overlaps dropped) where it was sound and departs from it where an
// attacker could exploit it (eviction, hashing, same-byte duplicates).
//
// FRAMES IN FLIGHT
//   Keyed by (outer source, destination, TCP ports, ACK = frame id). The
//   frame's context id lives in its frame header, which only the first
//   segment carries, so it cannot key the lookup of the others; it comes with
//   the completed frame. The key is hashed with a secret (64x64->128-bit
//   multiplies seeded by getrandom), so nobody can choose keys that collide:
//   a linear-probing index at most half full, probes expected ~1.5.
//
//   A frame gets one contiguous buffer of its full length (every segment's SEQ
//   carries it), so completion copies nothing: each payload byte is written
//   once, at its offset (but see STAGING). Received bytes are a
//   sorted list of disjoint ranges (at most max_ranges; more and the frame is
//   dropped as too_many_holes, far beyond any sender's reordering: a shuffled
//   65535-byte frame of 536-byte segments peaks near 31).
//
//   Per segment:                            frame fate
//     empty, or frame length < 18           segment dropped: bad_segment
//     offset + length > frame length        dropped (and the frame): past_frame_length
//     frame length != the frame's           dropped (and the frame): length_changed
//     bytes overlap received bytes
//       and differ                          dropped (and the frame): overlap_mismatch
//       and are equal                       kept; all-old segments count as duplicates
//     bytes 0..17 in and not a valid
//       frame header (version 0; strict:
//       reserved bits zero, never C+P)      dropped (and the frame): bad_frame_header
//     offset 0 and the whole frame          bypasses the table: the frame is the
//                                           segment's own payload, nothing copied
//   A frame completes when every byte is in.
//
// THE BOUND
//   Everything is allocated at construction: memory_cap bytes of frame
//   buffers, max_frames frame records, the index. Buffers come from buddy
//   allocators over 64-KiB superblocks, in power-of-two blocks from 1 KiB to
//   64 KiB, so memory_in_use() (whole blocks, the honest figure) can never pass
//   memory_cap and a freed frame coalesces back. Frames expire `expiry` after
//   their first segment (checked on every call, oldest first, O(1) each).
//
// STAGING
//   The frame length is the sender's claim: one 1.4-KiB segment claiming
//   65535 bytes would buy a 64-KiB buffer, a 45-fold amplification a flood of
//   first segments exploits (and then a fragmented pool evicts many frames to
//   free one superblock). So once the pool is half full, a new frame's buffer
//   holds only its first segment's bytes (a block sized to the segment, from
//   a staging pool of a quarter of the cap, so small blocks never fragment the
//   full-length pool), and the full-length buffer is taken when a second
//   segment arrives, copying those bytes over once. Memory then follows what a
//   sender has sent until it has shown it is sending a frame; without pressure
//   nothing is staged. Each pool evicts only frames holding its blocks.
//
// EVICTION
//   An attacker who sends only first segments (or random segments of frames
//   that never complete) must not push out frames that are nearly done, which
//   OVS's oldest-first rule allows: a flood of new keys evicts everything in
//   arrival order. nvo ranks frames by what their senders have shown:
//   - A frame of one segment has no standing (class 0). A newcomer that
//     finds no staging block or no record evicts the least recently active
//     staged frame, else the least recently active class-0 frame. So a flood of one-segment frames only ever displaces one-segment
//     frames, oldest first, and pays for its memory by what it sends; a
//     legitimate frame is at risk only while its first segment waits for the
//     second, and then only if as many newcomers as the staging pool holds
//     (512 at the default cap) come in between.
//   - From its second segment a frame has its full-length buffer and is
//     ranked by progress, the bytes received, in classes
//     1 + bit_width(received / 1 KiB) (1..7), and within a class by its last
//     segment's arrival. A frame needing a full-length buffer evicts
//       1. the least recently active stalled frame (no segment for `stall`):
//          a frame that lost a segment must not keep its protection until
//          expiry;
//       2. else the least recently active frame of the lowest class, if that
//          class is not above its own; otherwise it is dropped (no_room).
//     To displace a frame with k bytes in, an attacker must send k bytes of
//     each of its own frames: the traffic it competes with.
//   A new frame that is not staged evicts nothing for its buffer (it is
//   staged when the full-length pool has no block free). Each choice looks at
//   list heads only: O(1).
//
// RESULT LIFETIME: a completed frame's bytes live in this reassembler's pool
// (or, bypassed, in the caller's segment) and stay valid until the next call
// of add() or expire() on it.
//
// THREADING: one reassembler per receive queue or thread, like OVS's per-CPU
// tables; it is not thread-safe and has no atomics.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "nvo/base/mix.hpp"
#include "nvo/simd/checksum.hpp"
#include "nvo/stt/frame.hpp"
#include "nvo/wire/dissect.hpp"
#include "nvo/wire/stt.hpp"

NVO_BEGIN_NAMESPACE
namespace stt {

// X-macro so the enumerators and their names cannot drift apart.
#define NVO_STT_DROPS(X)                                                                           \
  X(bad_segment)       /* empty payload or frame length < 18: the segment alone */                \
  X(past_frame_length) /* offset + length beyond the frame length (frame dropped too) */          \
  X(length_changed)    /* frame length differs from the frame's earlier segments (both) */        \
  X(overlap_mismatch)  /* overlapping bytes differ from those received (both) */                  \
  X(bad_frame_header)  /* version != 0, or reserved bits / C+P under the strict policy (both) */ \
  X(too_many_holes)    /* more than max_ranges disjoint ranges (both) */                          \
  X(no_room)           /* a new frame lost the eviction contest: the segment */                   \
  X(evicted)           /* a frame made room for a new one */                                      \
  X(expired)           /* a frame incomplete `expiry` after its first segment */

enum class drop_reason : std::uint8_t {
#define NVO_STT_ENUMERATOR(name) name,
  NVO_STT_DROPS(NVO_STT_ENUMERATOR)
#undef NVO_STT_ENUMERATOR
};

inline constexpr std::size_t drop_reason_count = 0
#define NVO_STT_COUNT(name) +1
    NVO_STT_DROPS(NVO_STT_COUNT)
#undef NVO_STT_COUNT
    ;

[[nodiscard]] constexpr std::string_view to_string(drop_reason r) noexcept {
  switch (r) {
#define NVO_STT_NAME(name) \
  case drop_reason::name:  \
    return #name;
    NVO_STT_DROPS(NVO_STT_NAME)
#undef NVO_STT_NAME
  }
  return "unknown";
}

// One received segment, as the decapsulating side saw it.
struct rx_segment {
  wire::ip_address src{};
  wire::ip_address dst{};
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = wire::stt::default_port;
  std::uint16_t frame_length = 0;     // SEQ >> 16
  std::uint16_t fragment_offset = 0;  // SEQ & 0xFFFF
  std::uint32_t frame_id = 0;         // ACK
  std::uint8_t outer_tos = 0;         // IPv4 TOS / IPv6 traffic class
  const_bytes payload{};              // the TCP payload: frame bytes [offset, offset + size)
};

// The segment of a dissected STT frame (whose TCP checksum dissect verified).
// PRECONDITION: d.encap == encapsulation::stt, d.inner a view into the frame
// dissect read (on a first segment the frame header precedes it there).
[[nodiscard]] inline rx_segment rx_segment_of(const wire::dissection& d) noexcept {
  NVO_ASSERT(d.encap == wire::encapsulation::stt);
  rx_segment s;
  s.src = d.outer_src;
  s.dst = d.outer_dst;
  s.src_port = d.src_port;
  s.dst_port = d.dst_port;
  s.frame_length = d.stt.frame_length;
  s.fragment_offset = d.stt.fragment_offset;
  s.frame_id = d.stt.frame_id;
  s.outer_tos = d.outer_tos;
  s.payload = d.has_stt_frame_header
                  ? const_bytes(d.inner.data() - wire::stt::frame_header_size,
                                d.inner.size() + wire::stt::frame_header_size)
                  : d.inner;
  return s;
}

struct reassembled {
  const_bytes frame{};  // frame header + inner frame, contiguous
  wire::stt::frame_header header{};
  rx_offload offload{};
  bool bypassed = false;  // a single-segment frame: frame is the segment's payload

  [[nodiscard]] constexpr const_bytes inner() const noexcept {
    return frame.subspan(wire::stt::frame_header_size);
  }
};

enum class outcome : std::uint8_t { held, completed, dropped };

struct add_result {
  outcome status = outcome::held;
  drop_reason reason{};  // status == dropped
  reassembled frame{};   // status == completed; see RESULT LIFETIME
};

struct reassembler_options {
  std::size_t memory_cap = std::size_t{4} << 20;  // frame buffers, bytes (rounded down to 64 KiB)
  std::size_t max_frames = 1024;                  // frames in flight
  std::chrono::nanoseconds expiry = std::chrono::seconds(30);
  std::chrono::nanoseconds stall = std::chrono::milliseconds(100);  // EVICTION rule 1
  wire::reserved_bits reserved = wire::reserved_bits::strict;      // frame header check
  std::optional<std::uint64_t> hash_seed;  // the index's secret; fix it only for reproducible tests
};

struct reassembly_counters {
  std::uint64_t segments = 0;    // add() calls
  std::uint64_t completed = 0;   // frames of more than one segment
  std::uint64_t bypassed = 0;    // single-segment frames
  std::uint64_t duplicates = 0;  // segments that brought no new byte
  std::array<std::uint64_t, drop_reason_count> drops{};

  [[nodiscard]] constexpr std::uint64_t dropped(drop_reason r) const noexcept {
    return drops[static_cast<std::size_t>(r)];
  }
};

namespace detail {

// The frame buffers: a buddy allocator over 64-KiB superblocks, 1-KiB units.
class block_pool {
 public:
  static constexpr std::size_t unit = 1024;
  static constexpr std::uint8_t max_order = 6;  // 64 KiB: the largest frame
  static constexpr std::uint32_t none = 0xFFFFFFFF;

  // PRECONDITION: bytes >= 64 KiB.
  explicit block_pool(std::size_t bytes)
      : units_(static_cast<std::uint32_t>(bytes / (unit << max_order) << max_order)),
        storage_(new std::byte[std::size_t{units_} * unit + 63]),  // default-initialised: pages stay untouched
        base_(reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(storage_.get()) + 63) & ~std::uintptr_t{63})),
        next_(units_, none),
        prev_(units_, none),
        free_order_(units_, not_free) {
    NVO_ASSERT(units_ > 0);
    heads_.fill(none);
    for (std::uint32_t u = 0; u < units_; u += 1u << max_order) push(u, max_order);
  }

  // The smallest order whose block holds bytes. PRECONDITION: 0 < bytes <= 64 KiB.
  [[nodiscard]] static constexpr std::uint8_t order_for(std::size_t bytes) noexcept {
    return static_cast<std::uint8_t>(std::bit_width((bytes + unit - 1) / unit - 1));
  }
  [[nodiscard]] static constexpr std::size_t block_bytes(std::uint8_t order) noexcept { return unit << order; }

  [[nodiscard]] bool can_allocate(std::uint8_t order) const noexcept {
    for (std::uint8_t o = order; o <= max_order; ++o)
      if (heads_[o] != none) return true;
    return false;
  }

  // PRECONDITION: can_allocate(order).
  [[nodiscard]] std::uint32_t allocate(std::uint8_t order) noexcept {
    std::uint8_t o = order;
    while (heads_[o] == none) ++o;
    const std::uint32_t u = heads_[o];
    unlink(u, o);
    while (o > order) {  // split, keeping the lower half
      --o;
      push(u + (1u << o), o);
    }
    in_use_ += block_bytes(order);
    return u;
  }

  void release(std::uint32_t u, std::uint8_t order) noexcept {
    in_use_ -= block_bytes(order);
    while (order < max_order) {  // superblocks are aligned to 64 units: buddies never cross one
      const std::uint32_t buddy = u ^ (1u << order);
      if (free_order_[buddy] != order) break;
      unlink(buddy, order);
      u = std::min(u, buddy);
      ++order;
    }
    push(u, order);
  }

  [[nodiscard]] std::byte* data(std::uint32_t u) const noexcept { return base_ + std::size_t{u} * unit; }
  [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return std::size_t{units_} * unit; }
  [[nodiscard]] std::size_t metadata_bytes() const noexcept { return std::size_t{units_} * 9; }

  // Free bytes per the free lists (audit).
  [[nodiscard]] std::size_t free_bytes() const noexcept {
    std::size_t total = 0;
    for (std::uint8_t o = 0; o <= max_order; ++o)
      for (std::uint32_t u = heads_[o]; u != none; u = next_[u]) total += block_bytes(o);
    return total;
  }

 private:
  static constexpr std::uint8_t not_free = 0xFF;

  void push(std::uint32_t u, std::uint8_t o) noexcept {
    free_order_[u] = o;
    prev_[u] = none;
    next_[u] = heads_[o];
    if (heads_[o] != none) prev_[heads_[o]] = u;
    heads_[o] = u;
  }
  void unlink(std::uint32_t u, std::uint8_t o) noexcept {
    free_order_[u] = not_free;
    if (prev_[u] != none) {
      next_[prev_[u]] = next_[u];
    } else {
      heads_[o] = next_[u];
    }
    if (next_[u] != none) prev_[next_[u]] = prev_[u];
  }

  std::uint32_t units_;
  std::unique_ptr<std::byte[]> storage_;
  std::byte* base_;
  std::vector<std::uint32_t> next_, prev_;
  std::vector<std::uint8_t> free_order_;  // a free block's order at its first unit, else not_free
  std::array<std::uint32_t, max_order + 1> heads_{};
  std::size_t in_use_ = 0;
};

using wire::detail::mum;
using wire::detail::splitmix;

struct frame_key {
  std::array<std::uint8_t, 16> src{};
  std::array<std::uint8_t, 16> dst{};
  std::uint32_t frame_id = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t version = 0;

  // Word compares: the defaulted one compares the addresses with memcmp calls.
  [[nodiscard]] bool matches(const rx_segment& s) const noexcept {
    std::uint64_t a[4], b[4];
    std::memcpy(a, src.data(), 16);
    std::memcpy(a + 2, dst.data(), 16);
    std::memcpy(b, s.src.octets.data(), 16);
    std::memcpy(b + 2, s.dst.octets.data(), 16);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0 && frame_id == s.frame_id &&
           src_port == s.src_port && dst_port == s.dst_port && version == s.src.version;
  }
  [[nodiscard]] bool matches(const frame_key& k) const noexcept {
    std::uint64_t a[4], b[4];
    std::memcpy(a, src.data(), 16);
    std::memcpy(a + 2, dst.data(), 16);
    std::memcpy(b, k.src.data(), 16);
    std::memcpy(b + 2, k.dst.data(), 16);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0 && frame_id == k.frame_id &&
           src_port == k.src_port && dst_port == k.dst_port && version == k.version;
  }
  friend constexpr bool operator==(const frame_key&, const frame_key&) = default;
};

}  // namespace detail

class reassembler {
 public:
  static constexpr std::size_t max_ranges = 64;
  static constexpr std::size_t progress_classes = 8;  // EVICTION: 0, then 1 + bit_width(received / 1 KiB) <= 7

  // Allocates everything the reassembler will use. Control path.
  // PRECONDITION: memory_cap >= 256 KiB, 1 <= max_frames < 65535.
  explicit reassembler(const reassembler_options& o = {})
      : options_(o),
        pools_{detail::block_pool(o.memory_cap - staging_bytes(o.memory_cap)),
               detail::block_pool(staging_bytes(o.memory_cap))},
        frames_(o.max_frames),
        index_(index_size(o.max_frames), empty),
        kernels_(&simd::active_checksum_kernels()) {
    NVO_ASSERT(o.max_frames >= 1 && o.max_frames < empty);
    std::uint64_t x = o.hash_seed ? *o.hash_seed : random_seed();
    for (auto& k : secret_) k = detail::splitmix(x);
    free_slots_.reserve(o.max_frames);
    for (std::size_t i = o.max_frames; i-- > 0;) free_slots_.push_back(static_cast<std::uint16_t>(i));
  }

  // Takes one segment at time now (any monotonic clock, the caller's). Expires
  // what is due first.
  [[nodiscard]] add_result add(const rx_segment& s, std::chrono::nanoseconds now) noexcept {
    const std::int64_t t = now.count();
    ++counters_.segments;
    expire_before(t);
    const std::size_t n = s.payload.size();
    if (n == 0 || s.frame_length < wire::stt::frame_header_size) return drop(drop_reason::bad_segment);
    // Segments of a frame mostly come back to back: the last frame hit skips
    // the hash and the probe.
    std::uint16_t f = last_;
    if (f == empty || !frames_[f].live || !frames_[f].key.matches(s)) {
      const std::size_t pos = find(s);
      f = pos == npos ? empty : index_[pos];
    }
    if (std::size_t{s.fragment_offset} + n > s.frame_length) {
      if (f != empty) free_frame(f);
      return drop(drop_reason::past_frame_length);
    }
    if (f != empty && frames_[f].length != s.frame_length) {
      free_frame(f);
      return drop(drop_reason::length_changed);
    }
    std::size_t added = 0;
    if (f == empty) {
      if (s.fragment_offset == 0 && n == s.frame_length) return bypass(s);
      const detail::frame_key key = key_of(s);
      f = create(key, hash(key), s, t);
      if (f == empty) return drop(drop_reason::no_room);
      frame& fr = frames_[f];
      // The first bytes of a frame: at their offset, or at the start of a staging block.
      kernels_->copy(data(fr) + (fr.staged ? 0 : s.fragment_offset), s.payload.data(), n);
      fr.ranges[0] = {s.fragment_offset, static_cast<std::uint16_t>(s.fragment_offset + n)};
      fr.nranges = 1;
      fr.received = static_cast<std::uint32_t>(n);
      added = n;
    } else {
      frame& fr = frames_[f];
      range& tail = fr.ranges[fr.nranges - 1];  // nranges >= 1 while live
      if (!fr.staged && tail.end == s.fragment_offset) {  // in order: as insert() would, without its walk
        kernels_->copy(data(fr) + s.fragment_offset, s.payload.data(), n);
        tail.end = static_cast<std::uint16_t>(s.fragment_offset + n);
        fr.received += static_cast<std::uint32_t>(n);
        added = n;
      } else {
        if (fr.staged && !promote(f, t, n)) {
          free_frame(f);
          return drop(drop_reason::no_room);
        }
        if (const auto error = insert(fr, s, added)) {
          free_frame(f);
          return drop(*error);
        }
      }
      fr.second = true;
    }
    last_ = f;
    frame& fr = frames_[f];
    if (added == 0) ++counters_.duplicates;
    if ((s.outer_tos & ecn_mask) == ecn_ce) fr.ce = true;
    if (s.fragment_offset == 0) fr.tos = s.outer_tos;
    std::byte* buf = data(fr);
    if (!fr.header_ok && fr.ranges[0].begin == 0 && fr.ranges[0].end >= wire::stt::frame_header_size) {
      if (!wire::stt::parse_frame_header(const_bytes(buf, wire::stt::frame_header_size), options_.reserved)) {
        free_frame(f);
        return drop(drop_reason::bad_frame_header);
      }
      fr.header_ok = true;
    }
    if (fr.received == fr.length) {
      add_result r;
      r.status = outcome::completed;
      r.frame.frame = const_bytes(buf, fr.length);
      r.frame.header = *wire::stt::parse_frame_header(r.frame.frame, options_.reserved);
      const auto tos = static_cast<std::uint8_t>(fr.ce ? fr.tos | ecn_ce : fr.tos);
      r.frame.offload = rx_offload_of(r.frame.header, tos);
      free_frame(f);  // the bytes stay until the pool hands the block out again, in a later call
      ++counters_.completed;
      return r;
    }
    fr.active = t;
    const std::uint8_t progress = progress_of(fr.second, fr.received);
    if (progress != fr.progress || fr.class_next != empty) {  // else already its class's most recent
      unlink_class(f);
      fr.progress = progress;
      push_class(f);
    }
    return {};
  }

  // A receive burst: add() for each segment in order, and on_result(i, r) for
  // each segment i whose result r is not `held` (a completed frame is valid
  // only inside the call, as RESULT LIFETIME says). Each segment is its own
  // buffer, a new stream the hardware prefetcher needs a few misses to pick
  // up: the next one's first lines are prefetched while this one is copied.
  template <class OnResult>
    requires std::is_invocable_v<OnResult&, std::size_t, const add_result&>
  void add_burst(std::span<const rx_segment> segments, std::chrono::nanoseconds now, OnResult&& on_result) noexcept {
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (i + 1 < segments.size()) {
        const const_bytes next = segments[i + 1].payload;
        for (std::size_t k = 0; k < std::min(next.size(), prefetch_bytes); k += 64) __builtin_prefetch(next.data() + k);
      }
      const add_result r = add(segments[i], now);
      if (r.status != outcome::held) on_result(i, r);
    }
  }

  // Expires the frames due at now; returns how many. For idle periods: add()
  // does this itself.
  std::size_t expire(std::chrono::nanoseconds now) noexcept {
    const std::uint64_t before = counters_.dropped(drop_reason::expired);
    expire_before(now.count());
    return static_cast<std::size_t>(counters_.dropped(drop_reason::expired) - before);
  }

  [[nodiscard]] const reassembly_counters& counters() const noexcept { return counters_; }
  // Frame buffer bytes held by frames in flight (whole blocks); never above memory_cap().
  [[nodiscard]] std::size_t memory_in_use() const noexcept { return pools_[0].in_use() + pools_[1].in_use(); }
  [[nodiscard]] std::size_t memory_cap() const noexcept { return pools_[0].capacity() + pools_[1].capacity(); }
  // The fixed cost beside the frame buffers: records, index, allocator state.
  [[nodiscard]] std::size_t metadata_bytes() const noexcept {
    return frames_.size() * sizeof(frame) + index_.size() * sizeof(std::uint16_t) + pools_[0].metadata_bytes() +
           pools_[1].metadata_bytes();
  }
  [[nodiscard]] std::size_t frames_in_flight() const noexcept { return frames_.size() - free_slots_.size(); }

  // Checks every internal invariant (tests and fuzzers): block accounting,
  // ranges, lists and index agree. Walks everything: not for the data path.
  [[nodiscard]] bool audit() const noexcept {
    std::size_t live = 0, listed = 0, aged = 0;
    std::array<std::size_t, 2> blocks{};
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      const frame& fr = frames_[i];
      if (!fr.live) continue;
      ++live;
      blocks[fr.staged] += detail::block_pool::block_bytes(fr.order);
      const std::size_t held = fr.staged ? fr.received : fr.length;
      if (detail::block_pool::block_bytes(fr.order) < held || fr.nranges == 0 || fr.nranges > max_ranges ||
          (fr.staged && fr.nranges != 1))
        return false;
      std::size_t sum = 0;
      for (std::size_t k = 0; k < fr.nranges; ++k) {
        const range r = fr.ranges[k];
        if (r.begin >= r.end || r.end > fr.length || (k > 0 && fr.ranges[k - 1].end >= r.begin)) return false;
        sum += std::size_t{r.end} - r.begin;
      }
      if (sum != fr.received || fr.received >= fr.length || fr.progress != progress_of(fr.second, fr.received) ||
          (fr.staged && fr.second))
        return false;
      const std::size_t pos = find(fr.key, fr.hash);
      if (pos == npos || index_[pos] != i) return false;
    }
    for (const auto& lists : classes_)
      for (const list& l : lists)
        for (std::uint16_t f = l.head; f != empty; f = frames_[f].class_next) ++listed;
    for (std::uint16_t f = age_.head; f != empty; f = frames_[f].age_next) ++aged;
    std::size_t indexed = 0;
    for (const std::uint16_t e : index_) indexed += e != empty ? 1 : 0;
    return live == frames_in_flight() && listed == live && aged == live && indexed == live &&
           std::ranges::all_of(std::array{0, 1},
                               [&](int p) {
                                 return blocks[p] == pools_[p].in_use() &&
                                        pools_[p].in_use() + pools_[p].free_bytes() == pools_[p].capacity();
                               }) &&
           memory_in_use() <= memory_cap();
  }

 private:
  static constexpr std::uint16_t empty = 0xFFFF;
  static constexpr std::size_t prefetch_bytes = 512;  // add_burst: enough for the prefetcher to take over
  static constexpr std::size_t npos = ~std::size_t{0};

  struct range {
    std::uint16_t begin;
    std::uint16_t end;  // exclusive; <= 65535 as frames are
  };
  struct list {
    std::uint16_t head = empty;
    std::uint16_t tail = empty;
  };
  struct frame {
    detail::frame_key key{};
    std::uint64_t hash = 0;
    std::int64_t created = 0;  // ns: expiry
    std::int64_t active = 0;   // ns: last segment, for eviction
    std::uint32_t block = 0;   // first unit of the buffer
    std::uint32_t received = 0;
    std::uint16_t length = 0;
    std::uint16_t nranges = 0;
    std::uint16_t class_prev = empty, class_next = empty;  // in classes_[staged][progress], by activity
    std::uint16_t age_prev = empty, age_next = empty;      // in age_, by creation
    std::uint8_t order = 0;
    std::uint8_t progress = 0;
    std::uint8_t tos = 0;  // the first segment's
    bool ce = false;
    bool staged = false;  // the block holds only the bytes of ranges[0], from its start (STAGING)
    bool second = false;  // a second segment came (EVICTION)
    bool header_ok = false;
    bool live = false;
    std::array<range, max_ranges> ranges{};
  };

  // A quarter of the cap, whole superblocks, at least one.
  [[nodiscard]] static std::size_t staging_bytes(std::size_t cap) noexcept {
    constexpr std::size_t super = detail::block_pool::block_bytes(detail::block_pool::max_order);
    return std::max<std::size_t>(cap / 4 / super, 1) * super;
  }
  [[nodiscard]] std::byte* data(const frame& fr) const noexcept { return pools_[fr.staged].data(fr.block); }

  [[nodiscard]] static std::size_t index_size(std::size_t frames) noexcept {
    return std::bit_ceil(std::max<std::size_t>(2 * frames, 16));
  }
  [[nodiscard]] static constexpr std::uint8_t progress_of(bool second_segment, std::size_t received) noexcept {
    return second_segment ? static_cast<std::uint8_t>(1 + std::bit_width(received >> 10)) : std::uint8_t{0};
  }

  [[nodiscard]] static detail::frame_key key_of(const rx_segment& s) noexcept {
    detail::frame_key k;
    k.src = s.src.octets;
    k.dst = s.dst.octets;
    k.frame_id = s.frame_id;
    k.src_port = s.src_port;
    k.dst_port = s.dst_port;
    k.version = s.src.version;
    return k;
  }

  [[nodiscard]] std::uint64_t hash(const detail::frame_key& k) const noexcept {
    std::uint64_t w[4];
    std::memcpy(w, k.src.data(), 16);
    std::memcpy(w + 2, k.dst.data(), 16);
    const std::uint64_t tail =
        std::uint64_t{k.frame_id} | std::uint64_t{k.src_port} << 32 | std::uint64_t{k.dst_port} << 48;
    std::uint64_t h = detail::mum(w[0] ^ secret_[0], w[1] ^ secret_[1]);
    h = detail::mum(h ^ w[2] ^ secret_[2], w[3] ^ secret_[3]);
    return detail::mum(h ^ tail ^ secret_[4], std::uint64_t{k.version} ^ secret_[5]);
  }

  [[nodiscard]] std::size_t find(const detail::frame_key& k, std::uint64_t h) const noexcept {
    const std::size_t mask = index_.size() - 1;
    for (std::size_t p = h & mask;; p = (p + 1) & mask) {
      const std::uint16_t f = index_[p];
      if (f == empty) return npos;
      if (frames_[f].hash == h && frames_[f].key.matches(k)) return p;
    }
  }
  [[nodiscard]] std::size_t find(const rx_segment& s) const noexcept {
    const detail::frame_key k = key_of(s);
    return find(k, hash(k));
  }

  // Removes index_[pos], shifting later entries of its probe run back so
  // lookups never need tombstones.
  void erase_index(std::size_t pos) noexcept {
    const std::size_t mask = index_.size() - 1;
    std::size_t hole = pos;
    for (std::size_t p = (pos + 1) & mask; index_[p] != empty; p = (p + 1) & mask) {
      const std::size_t home = frames_[index_[p]].hash & mask;
      // The entry may fill the hole unless its home lies cyclically in (hole, p].
      const bool stays = hole <= p ? (home > hole && home <= p) : (home > hole || home <= p);
      if (!stays) {
        index_[hole] = index_[p];
        hole = p;
      }
    }
    index_[hole] = empty;
  }

  template <std::uint16_t frame::*Prev, std::uint16_t frame::*Next>
  void push_back(list& l, std::uint16_t f) noexcept {
    frames_[f].*Prev = l.tail;
    frames_[f].*Next = empty;
    if (l.tail != empty) {
      frames_[l.tail].*Next = f;
    } else {
      l.head = f;
    }
    l.tail = f;
  }
  template <std::uint16_t frame::*Prev, std::uint16_t frame::*Next>
  void unlink(list& l, std::uint16_t f) noexcept {
    const std::uint16_t p = frames_[f].*Prev, n = frames_[f].*Next;
    if (p != empty) {
      frames_[p].*Next = n;
    } else {
      l.head = n;
    }
    if (n != empty) {
      frames_[n].*Prev = p;
    } else {
      l.tail = p;
    }
  }
  void push_class(std::uint16_t f) noexcept {
    push_back<&frame::class_prev, &frame::class_next>(classes_[frames_[f].staged][frames_[f].progress], f);
  }
  void unlink_class(std::uint16_t f) noexcept {
    unlink<&frame::class_prev, &frame::class_next>(classes_[frames_[f].staged][frames_[f].progress], f);
  }

  [[nodiscard]] add_result drop(drop_reason r) noexcept {
    ++counters_.drops[static_cast<std::size_t>(r)];
    add_result a;
    a.status = outcome::dropped;
    a.reason = r;
    return a;
  }

  void free_frame(std::uint16_t f) noexcept {
    frame& fr = frames_[f];
    unlink_class(f);
    unlink<&frame::age_prev, &frame::age_next>(age_, f);
    erase_index(find(fr.key, fr.hash));
    pools_[fr.staged].release(fr.block, fr.order);
    fr.live = false;
    free_slots_.push_back(f);
  }

  void expire_before(std::int64_t t) noexcept {
    const std::int64_t expiry = options_.expiry.count();
    while (age_.head != empty && t - frames_[age_.head].created >= expiry) {
      free_frame(age_.head);
      ++counters_.drops[static_cast<std::size_t>(drop_reason::expired)];
    }
  }

  // EVICTION: the frame to give up for a staging block or a record
  // (for_staging), else for a full-length buffer wanted by a frame whose
  // class is progress; empty if none may go.
  [[nodiscard]] std::uint16_t victim(std::int64_t t, std::uint8_t progress, bool for_staging) const noexcept {
    if (for_staging && classes_[1][0].head != empty) return classes_[1][0].head;  // staged frames are all class 0
    std::uint16_t stalled = empty;
    for (const list& l : classes_[0]) {
      const std::uint16_t f = l.head;  // the class's least recently active
      if (f != empty && t - frames_[f].active >= options_.stall.count() &&
          (stalled == empty || frames_[f].active < frames_[stalled].active))
        stalled = f;
    }
    if (stalled != empty) return stalled;
    for (std::size_t c = 0; c <= progress; ++c)
      if (classes_[0][c].head != empty) return classes_[0][c].head;
    return empty;
  }

  [[nodiscard]] add_result bypass(const rx_segment& s) noexcept {
    const auto h = wire::stt::parse_frame_header(s.payload, options_.reserved);
    if (!h) return drop(drop_reason::bad_frame_header);
    add_result r;
    r.status = outcome::completed;
    r.frame.frame = s.payload;
    r.frame.header = *h;
    r.frame.offload = rx_offload_of(*h, s.outer_tos);
    r.frame.bypassed = true;
    ++counters_.bypassed;
    return r;
  }

  // Evicts (EVICTION) until a block of order in the staging or full-length
  // pool, and a record if need_record, is free; false if the newcomer, whose
  // class is progress, loses.
  [[nodiscard]] bool make_room(bool staged, std::uint8_t order, bool need_record, std::uint8_t progress,
                               std::int64_t t) noexcept {
    for (;;) {
      const bool block = pools_[staged].can_allocate(order);
      if (block && (!need_record || !free_slots_.empty())) return true;
      const std::uint16_t v = victim(t, progress, staged || block);  // block: a record is missing
      if (v == empty) return false;
      free_frame(v);
      ++counters_.drops[static_cast<std::size_t>(drop_reason::evicted)];
    }
  }

  // A record and a buffer for a new frame; empty if the newcomer loses. Under
  // pressure (STAGING) the buffer holds only this segment.
  [[nodiscard]] std::uint16_t create(const detail::frame_key& key, std::uint64_t h, const rx_segment& s,
                                     std::int64_t t) noexcept {
    const std::uint8_t full = detail::block_pool::order_for(s.frame_length);
    const bool stage = pools_[0].in_use() + detail::block_pool::block_bytes(full) > pools_[0].capacity() / 2 ||
                       !pools_[0].can_allocate(full);  // a newcomer never evicts from the full-length pool
    const std::uint8_t order = stage ? detail::block_pool::order_for(s.payload.size()) : full;
    if (!make_room(stage, order, true, 0, t)) return empty;
    const std::uint16_t f = free_slots_.back();
    free_slots_.pop_back();
    frame& fr = frames_[f];
    fr.key = key;
    fr.hash = h;
    fr.created = t;
    fr.active = t;
    fr.block = pools_[stage].allocate(order);
    fr.order = order;
    fr.received = 0;
    fr.length = s.frame_length;
    fr.nranges = 0;
    fr.progress = 0;
    fr.tos = 0;
    fr.ce = false;
    fr.staged = stage;
    fr.second = false;
    fr.header_ok = false;
    fr.live = true;
    push_class(f);
    push_back<&frame::age_prev, &frame::age_next>(age_, f);
    const std::size_t mask = index_.size() - 1;
    std::size_t p = h & mask;
    while (index_[p] != empty) p = (p + 1) & mask;
    index_[p] = f;
    return f;
  }

  // Moves a staged frame (one segment's bytes) into a buffer of its full
  // length, now that a second segment of n bytes has come; false if it loses
  // the eviction contest for the block (it never evicts itself).
  [[nodiscard]] bool promote(std::uint16_t f, std::int64_t t, std::size_t n) noexcept {
    frame& fr = frames_[f];
    const std::uint8_t full = detail::block_pool::order_for(fr.length);
    unlink_class(f);
    const bool room = make_room(false, full, false, progress_of(true, fr.received + n), t);
    if (!room) {
      push_class(f);
      return false;
    }
    const std::uint32_t block = pools_[0].allocate(full);
    kernels_->copy(pools_[0].data(block) + fr.ranges[0].begin, pools_[1].data(fr.block), fr.received);
    pools_[1].release(fr.block, fr.order);
    fr.block = block;
    fr.order = full;
    fr.staged = false;
    push_class(f);
    return true;
  }

  // Merges s's bytes into fr: compares the overlaps, copies the gaps, updates
  // the ranges. added: new bytes. On error nothing needs undoing (the caller
  // frees the frame).
  [[nodiscard]] std::optional<drop_reason> insert(frame& fr, const rx_segment& s, std::size_t& added) noexcept {
    const std::size_t b = s.fragment_offset;
    const std::size_t e = b + s.payload.size();
    const std::byte* src = s.payload.data();
    std::byte* buf = data(fr);
    range* r = fr.ranges.data();
    const std::size_t count = fr.nranges;
    std::size_t i = 0;  // the first range that ends at or after b (touching ranges merge)
    while (i < count && r[i].end < b) ++i;
    std::size_t j = i;  // one past the last range that starts at or before e
    for (; j < count && r[j].begin <= e; ++j) {
      const std::size_t ob = std::max<std::size_t>(b, r[j].begin), oe = std::min<std::size_t>(e, r[j].end);
      if (ob < oe && std::memcmp(buf + ob, src + (ob - b), oe - ob) != 0) return drop_reason::overlap_mismatch;
    }
    if (j == i && count == max_ranges) return drop_reason::too_many_holes;
    std::size_t cursor = b;
    for (std::size_t k = i; k < j; ++k) {
      if (r[k].begin > cursor) {
        kernels_->copy(buf + cursor, src + (cursor - b), r[k].begin - cursor);
        added += r[k].begin - cursor;
      }
      cursor = std::max<std::size_t>(cursor, r[k].end);
    }
    if (cursor < e) {
      kernels_->copy(buf + cursor, src + (cursor - b), e - cursor);
      added += e - cursor;
    }
    if (j == i) {
      std::memmove(r + i + 1, r + i, (count - i) * sizeof(range));
      r[i] = {static_cast<std::uint16_t>(b), static_cast<std::uint16_t>(e)};
      ++fr.nranges;
    } else {
      r[i] = {static_cast<std::uint16_t>(std::min<std::size_t>(b, r[i].begin)),
              static_cast<std::uint16_t>(std::max<std::size_t>(e, r[j - 1].end))};
      std::memmove(r + i + 1, r + j, (count - j) * sizeof(range));
      fr.nranges = static_cast<std::uint16_t>(count - (j - i - 1));
    }
    fr.received += static_cast<std::uint32_t>(added);
    return std::nullopt;
  }

  reassembler_options options_;
  std::array<detail::block_pool, 2> pools_;  // [0] full-length buffers, [1] staging (STAGING)
  std::vector<frame> frames_;
  std::vector<std::uint16_t> index_;  // frame record per slot, or empty
  std::vector<std::uint16_t> free_slots_;
  std::array<std::array<list, progress_classes>, 2> classes_{};  // [staged][progress]
  list age_{};
  std::array<std::uint64_t, 6> secret_{};
  reassembly_counters counters_{};
  const simd::checksum_kernels* kernels_;  // copy: captured once
  std::uint16_t last_ = empty;             // the frame the last segment went to, if still live
};

}  // namespace stt
NVO_END_NAMESPACE
