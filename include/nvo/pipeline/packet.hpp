// File: nvo/pipeline/packet.hpp
// What the pipeline needs from a packet buffer, and a plain implementation
// over a caller's storage.
//
// packet_buffer<B>: contiguous mutable bytes with headroom in front of them.
// Encapsulation prepends the outer headers into the headroom, decapsulation
// strips them from the front and trims link padding from the tail, and both
// hand the buffer the offload metadata a NIC needs to finish the job. The
// concept is the rte_mbuf's shape (rte_pktmbuf_prepend/adj/trim, ol_flags and
// the l2/l3/l4 lengths), so an adapter for it is a thin file.
//
//   b.data(), b.size()     the packet, contiguous
//   b.headroom()           bytes free in front of data()
//   b.tailroom()           bytes free after the packet
//   b.prepend(n)           data() moves back by n; nullptr (nothing changed) if n > headroom()
//   b.append(n)            size() grows by n; returns the old end, or nullptr if n > tailroom()
//   b.strip(n)             PRECONDITION n <= size(); data() moves forward by n
//   b.trim(n)              PRECONDITION n <= size(); size() shrinks by n
//   b.set_offload(o)       what the NIC must complete (see offload_request)
//   b.rx_checksum()        the receiving NIC's verdict on the outer L4 checksum
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "nvo/config.hpp"
#include "nvo/wire/dissect.hpp"
#include "nvo/wire/encapsulation.hpp"

NVO_BEGIN_NAMESPACE
namespace pipeline {

// The metadata an encapsulated packet carries to the NIC (DPDK's ol_flags and
// lengths, Linux's csum_start/csum_offset), filled on every encapsulation.
// l4_checksum_pending: the outer UDP/TCP checksum field holds the folded
// pseudo-header sum and the NIC must sum from csum_start to the end and store
// the result at csum_start + csum_offset (checksum offload mode). Otherwise
// every checksum in the packet is already final.
struct offload_request {
  wire::encapsulation tunnel = wire::encapsulation::none;
  std::uint8_t outer_ip_version = 0;
  bool l4_checksum_pending = false;
  std::uint16_t csum_start = 0;   // from data(): the outer UDP/TCP header
  std::uint16_t csum_offset = 0;  // from csum_start: the checksum field
  std::uint16_t outer_l2_len = 0;  // outer Ethernet
  std::uint16_t outer_l3_len = 0;  // outer IPv4/IPv6 header
  std::uint16_t outer_l4_len = 0;  // UDP 8, GRE with key 8, TCP 20
  std::uint16_t tunnel_len = 0;    // VXLAN 8, STT frame header 18, NVGRE 0 (its key is in the GRE header)
  std::uint16_t inner_l2_len = 0;  // inner Ethernet (+ 802.1Q)
  std::uint16_t inner_l3_len = 0;  // inner IP header, 0 if not IP
  std::uint16_t inner_l4_len = 0;  // inner TCP/UDP header, 0 if neither
  std::uint16_t tso_segment_size = 0;  // STT: segment payload size for TSO, 0 otherwise
  friend constexpr bool operator==(const offload_request&, const offload_request&) = default;
};

template <class B>
concept packet_buffer = requires(B& b, const B& cb, std::size_t n, const offload_request& o) {
  { cb.data() } noexcept -> std::same_as<std::byte*>;
  { cb.size() } noexcept -> std::same_as<std::size_t>;
  { cb.headroom() } noexcept -> std::same_as<std::size_t>;
  { cb.tailroom() } noexcept -> std::same_as<std::size_t>;
  { b.prepend(n) } noexcept -> std::same_as<std::byte*>;
  { b.append(n) } noexcept -> std::same_as<std::byte*>;
  { b.strip(n) } noexcept -> std::same_as<void>;
  { b.trim(n) } noexcept -> std::same_as<void>;
  { b.set_offload(o) } noexcept -> std::same_as<void>;
  { cb.rx_checksum() } noexcept -> std::same_as<wire::rx_checksum>;
};

// buffer: a packet_buffer over storage the caller owns. The packet occupies
// [headroom, headroom + length) of the storage.
class buffer {
 public:
  buffer() noexcept = default;
  // PRECONDITION: headroom + length <= storage.size().
  buffer(std::span<std::byte> storage, std::size_t headroom, std::size_t length) noexcept
      : base_(storage.data()), capacity_(storage.size()), offset_(headroom), size_(length) {
    NVO_ASSERT(headroom + length <= storage.size());
  }

  [[nodiscard]] std::byte* data() const noexcept { return base_ + offset_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t headroom() const noexcept { return offset_; }
  [[nodiscard]] std::size_t tailroom() const noexcept { return capacity_ - offset_ - size_; }
  [[nodiscard]] wire::bytes bytes() const noexcept { return {data(), size_}; }

  std::byte* prepend(std::size_t n) noexcept {
    if (n > offset_) return nullptr;
    offset_ -= n;
    size_ += n;
    return data();
  }
  std::byte* append(std::size_t n) noexcept {
    if (n > tailroom()) return nullptr;
    std::byte* end = data() + size_;
    size_ += n;
    return end;
  }
  void strip(std::size_t n) noexcept {
    NVO_ASSERT(n <= size_);
    offset_ += n;
    size_ -= n;
  }
  void trim(std::size_t n) noexcept {
    NVO_ASSERT(n <= size_);
    size_ -= n;
  }
  // reset(): the packet is [headroom, headroom + length) again, e.g. to reuse
  // the buffer for the next frame. PRECONDITION as for the constructor.
  void reset(std::size_t headroom, std::size_t length) noexcept {
    NVO_ASSERT(headroom + length <= capacity_);
    offset_ = headroom;
    size_ = length;
    offload_ = {};
  }

  void set_offload(const offload_request& o) noexcept { offload_ = o; }
  [[nodiscard]] const offload_request& offload() const noexcept { return offload_; }
  void set_rx_checksum(wire::rx_checksum c) noexcept { rx_ = c; }
  [[nodiscard]] wire::rx_checksum rx_checksum() const noexcept { return rx_; }

 private:
  std::byte* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t offset_ = 0;
  std::size_t size_ = 0;
  offload_request offload_{};
  wire::rx_checksum rx_ = wire::rx_checksum::unknown;
};
static_assert(packet_buffer<buffer>);

}  // namespace pipeline
NVO_END_NAMESPACE
