// TCP offloads for a TAP device: what the kernel would do for a NIC that
// lacks them, done in user space for frames crossing a TAP.
//
// tcp_coalescer: GRO for a TAP device. Consecutive in-order segments of one
// TCP/IPv4 flow, as decap delivers them, become one large frame written once
// with a virtio_net_hdr (GSO TCPV4, checksum pending), so the kernel behind
// the TAP runs its receive path once per up to 64 KiB instead of once per
// segment, as its own GRO would have arranged.
//
// It merges only what Linux's tcp_gro_receive merges: the same addresses,
// ports, TOS, TTL, ACK number and TCP options, flags ACK (PSH allowed on the
// last segment), in-order sequence numbers, every segment but the last of
// the first one's size. A segment whose checksum is not known good (the
// frame did not come from this host) is verified first: the merged frame's
// checksum is left for the kernel to compute, so a bad segment must never
// get into one.
//
// cut_tcp(): TSO for a TAP device. A frame the TAP hands over with GSO
// pending (TCPV4/TCPV6: up to 64 KiB of TCP payload) becomes segments of
// gso_size payload bytes, each with its own IP length, IPv4 id and header
// checksum, TCP sequence number, flags (FIN and PSH on the last, CWR on the
// first) and full TCP checksum, copied and summed in one pass.
// complete_checksum(): the pending checksum of a frame without GSO.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "nvo/base/checksum.hpp"
#include "nvo/simd/checksum.hpp"
#include "nvo/wire/byte_order.hpp"
#include "nvo/wire/tcp.hpp"

namespace nvo_examples::vtep {

// struct virtio_net_hdr of <linux/virtio_net.h>, which C++ cannot include (a
// member named `class`): the legacy 10-byte header, in host byte order as
// TAP and packet sockets use it on little-endian hosts.
struct virtio_net_hdr {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;  // Ethernet + IP + TCP/UDP headers
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
inline constexpr std::uint8_t vnet_needs_csum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr std::uint8_t vnet_data_valid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
inline constexpr std::uint8_t vnet_gso_tcpv4 = 1;   // VIRTIO_NET_HDR_GSO_TCPV4
inline constexpr std::uint8_t vnet_gso_tcpv6 = 4;   // VIRTIO_NET_HDR_GSO_TCPV6
inline constexpr std::uint8_t vnet_gso_ecn = 0x80;  // VIRTIO_NET_HDR_GSO_ECN
static_assert(std::endian::native == std::endian::little, "virtio_net_hdr in host order needs a little-endian host");
static_assert(sizeof(virtio_net_hdr) == 10);

// The TCP pseudo-header sum of an untagged IPv4 or IPv6 frame's addresses,
// for a TCP segment of tcp_length bytes.
inline std::uint64_t tcp_pseudo_sum(std::span<const std::byte> f, bool v4, std::uint32_t tcp_length) {
  constexpr std::size_t l3 = 14;
  if (v4) {
    nvo::wire::ipv4_address src, dst;
    std::memcpy(src.octets.data(), f.data() + l3 + 12, 4);
    std::memcpy(dst.octets.data(), f.data() + l3 + 16, 4);
    return nvo::wire::pseudo_header_sum(src, dst, 6, tcp_length);
  }
  nvo::wire::ipv6_address src, dst;
  std::memcpy(src.octets.data(), f.data() + l3 + 8, 16);
  std::memcpy(dst.octets.data(), f.data() + l3 + 24, 16);
  return nvo::wire::pseudo_header_sum(src, dst, 6, tcp_length);
}

class tcp_coalescer {
 public:
  static constexpr std::size_t l3 = 14;  // untagged Ethernet
  static constexpr std::size_t l4 = l3 + 20;  // IPv4 without options
  static constexpr std::size_t max_frame = l3 + 65535;

  tcp_coalescer() : frame_(max_frame) {}

  // Takes frame (offloads: its pending state for the TAP, checksum_good: its
  // TCP checksum is known good or pending) into the merge, or returns false:
  // not a candidate, or it does not continue the frame being merged. Call
  // flush() and try again on false; false with nothing pending means write
  // the frame as it is. PRECONDITION: f stays valid and unchanged until the
  // next flush() (a frame nothing continues is written from where it is,
  // not copied).
  bool add(std::span<const std::byte> f, const virtio_net_hdr& offloads, bool checksum_good) {
    const auto seg = parse(f);
    if (!seg) return false;
    if (count_ != 0 && !continues(f, *seg)) return false;
    if (!checksum_good && !checksum_ok(f)) return false;
    if (count_ == 0) {
      first_view_ = f;
      size_ = f.size();
      first_ = *seg;
      first_offloads_ = offloads;
      next_seq_ = seg->seq + seg->payload;
    } else {
      if (count_ == 1) std::memcpy(frame_.data(), first_view_.data(), first_view_.size());
      std::memcpy(frame_.data() + size_, f.data() + seg->header_end, seg->payload);
      size_ += seg->payload;
      next_seq_ += seg->payload;
      std::memcpy(frame_.data() + l4 + 14, f.data() + l4 + 14, 2);  // the latest window
      frame_[l4 + 13] |= f[l4 + 13];                                // PSH of the last
    }
    ++count_;
    // A short or PSH segment ends the frame, as it ends a GRO flow.
    closed_ = seg->payload < first_.payload || (seg->flags & psh) != 0;
    return true;
  }

  // Writes the merged frame, if any, through write(bytes, virtio_net_hdr).
  template <class Write>
  void flush(Write&& write) {
    if (count_ == 0) return;
    if (count_ == 1) {
      write(first_view_, first_offloads_);
    } else {
      const std::span<std::byte> f(frame_.data(), size_);
      const auto ip_len = static_cast<std::uint16_t>(size_ - l3);
      nvo::wire::store_be16(f, l3 + 2, ip_len);
      nvo::wire::store_be16(f, l3 + 10, 0);
      nvo::wire::store_be16(f, l3 + 10, nvo::wire::checksum_finalize(nvo::wire::checksum_accumulate(f.subspan(l3, 20))));
      nvo::wire::store_be16(f, l4 + 16,
                            nvo::wire::checksum_fold(tcp_pseudo_sum(f, true, static_cast<std::uint32_t>(ip_len - 20))));
      const virtio_net_hdr h{.flags = vnet_needs_csum,
                             .gso_type = vnet_gso_tcpv4,
                             .hdr_len = static_cast<std::uint16_t>(first_.header_end),
                             .gso_size = static_cast<std::uint16_t>(first_.payload),
                             .csum_start = l4,
                             .csum_offset = 16};
      write(f, h);
      ++merged_frames_;
      merged_segments_ += count_;
    }
    count_ = 0;
    closed_ = false;
  }

  // Frames written with GSO, and the segments they carried.
  [[nodiscard]] std::uint64_t merged_frames() const { return merged_frames_; }
  [[nodiscard]] std::uint64_t merged_segments() const { return merged_segments_; }

 private:
  static constexpr std::uint8_t ack = 0x10;
  static constexpr std::uint8_t psh = 0x08;

  struct segment {
    std::uint32_t seq;
    std::size_t header_end;  // l4 + TCP header length
    std::size_t payload;
    std::uint8_t flags;
  };

  static std::optional<segment> parse(std::span<const std::byte> f) {
    using nvo::wire::load_be16;
    using nvo::wire::load_u8;
    if (f.size() < l4 + 20 || load_be16(f, 12) != 0x0800 || load_u8(f, l3) != 0x45 || load_u8(f, l3 + 9) != 6)
      return std::nullopt;
    if ((load_be16(f, l3 + 6) & 0x3FFF) != 0) return std::nullopt;  // a fragment
    if (std::size_t{load_be16(f, l3 + 2)} + l3 != f.size()) return std::nullopt;  // padded or cut
    const std::size_t header_end = l4 + static_cast<std::size_t>(load_u8(f, l4 + 12) >> 4) * 4;
    const std::uint8_t flags = load_u8(f, l4 + 13);
    if (header_end < l4 + 20 || header_end >= f.size() || (flags & ~psh) != ack) return std::nullopt;
    return segment{nvo::wire::load_be32(f, l4 + 4), header_end, f.size() - header_end, flags};
  }

  [[nodiscard]] bool continues(std::span<const std::byte> f, const segment& s) const {
    const std::byte* p = count_ == 1 ? first_view_.data() : frame_.data();  // the merged frame's headers
    const std::byte* q = f.data();
    return !closed_ && s.header_end == first_.header_end && s.seq == next_seq_ && s.payload <= first_.payload &&
           size_ + s.payload <= max_frame &&
           std::memcmp(p, q, l3) == 0 &&                          // MACs, EtherType
           p[l3 + 1] == q[l3 + 1] && p[l3 + 8] == q[l3 + 8] &&    // TOS, TTL
           std::memcmp(p + l3 + 12, q + l3 + 12, 8) == 0 &&       // addresses
           std::memcmp(p + l4, q + l4, 4) == 0 &&                 // ports
           std::memcmp(p + l4 + 8, q + l4 + 8, 4) == 0 &&         // ACK number
           std::memcmp(p + l4 + 20, q + l4 + 20, s.header_end - l4 - 20) == 0;  // options
  }

  static bool checksum_ok(std::span<const std::byte> f) {
    const auto tcp_length = static_cast<std::uint32_t>(f.size() - l4);
    return nvo::wire::tcp::checksum_ok(tcp_pseudo_sum(f, true, tcp_length), f.subspan(l4));
  }

  std::vector<std::byte> frame_;  // the merge, from the second segment on
  std::span<const std::byte> first_view_;
  std::size_t size_ = 0;
  std::size_t count_ = 0;
  bool closed_ = false;
  segment first_{};
  virtio_net_hdr first_offloads_{};
  std::uint32_t next_seq_ = 0;
  std::uint64_t merged_frames_ = 0;
  std::uint64_t merged_segments_ = 0;
};

// Fills in the checksum a NEEDS_CSUM frame left pending: the one's
// complement sum from csum_start to the end (the field already holds the
// pseudo-header sum), stored at csum_start + csum_offset. False if the
// offsets do not fit the frame.
inline bool complete_checksum(std::span<std::byte> f, const virtio_net_hdr& h) {
  const std::size_t start = h.csum_start;
  const std::size_t field = start + h.csum_offset;
  if (field + 2 > f.size()) return false;
  std::uint16_t c = nvo::wire::checksum_finalize(nvo::simd::checksum_accumulate(f.subspan(start)));
  if (h.csum_offset == 6 && c == 0) c = 0xFFFF;  // UDP: zero means none (RFC 768)
  nvo::wire::store_be16(f, field, c);
  return true;
}

// Cuts a GSO frame (h.gso_type TCPV4 or TCPV6, untagged Ethernet) into
// segments: next() returns an empty buffer span for each (at least
// header + gso_size bytes), emit(n) says the first n bytes of it are a
// segment. Returns the number of segments, or 0 if the frame is not one it
// can cut (then nothing was emitted).
template <class Next, class Emit>
std::size_t cut_tcp(std::span<const std::byte> f, const virtio_net_hdr& h, Next&& next, Emit&& emit) {
  using nvo::wire::load_be16;
  using nvo::wire::load_be32;
  using nvo::wire::load_u8;
  using nvo::wire::store_be16;
  using nvo::wire::store_be32;
  constexpr std::size_t l3 = 14;
  const std::uint8_t type = h.gso_type & ~vnet_gso_ecn;
  const bool v4 = type == vnet_gso_tcpv4;
  if ((!v4 && type != vnet_gso_tcpv6) || h.gso_size == 0 || f.size() < l3 + 40) return 0;
  if (load_be16(f, 12) != (v4 ? 0x0800 : 0x86DD)) return 0;
  if ((load_u8(f, l3) >> 4) != (v4 ? 4 : 6)) return 0;
  const std::size_t l4 = v4 ? l3 + std::size_t{load_u8(f, l3) & 0x0Fu} * 4 : l3 + 40;
  if (l4 < l3 + 20 || (v4 && load_u8(f, l3 + 9) != 6) || (!v4 && load_u8(f, l3 + 6) != 6) || l4 + 20 > f.size())
    return 0;
  const std::size_t hl = l4 + static_cast<std::size_t>(load_u8(f, l4 + 12) >> 4) * 4;
  if (hl < l4 + 20 || hl >= f.size()) return 0;
  const std::size_t payload = f.size() - hl;
  const std::size_t mss = h.gso_size;
  const std::uint32_t seq = load_be32(f, l4 + 4);
  const std::uint16_t id = v4 ? load_be16(f, l3 + 4) : 0;
  const std::uint8_t flags = load_u8(f, l4 + 13);
  constexpr std::uint8_t fin = 0x01, psh = 0x08, cwr = 0x80;
  std::size_t count = 0;
  for (std::size_t off = 0; off < payload; off += mss, ++count) {
    const std::size_t n = std::min(mss, payload - off);
    const bool last = off + n == payload;
    const std::span<std::byte> out = next();
    if (out.size() < hl + n) return count;
    std::memcpy(out.data(), f.data(), hl);
    if (v4) {
      store_be16(out, l3 + 2, static_cast<std::uint16_t>(hl + n - l3));
      store_be16(out, l3 + 4, static_cast<std::uint16_t>(id + count));
      store_be16(out, l3 + 10, 0);
      store_be16(out, l3 + 10,
                 nvo::wire::checksum_finalize(nvo::wire::checksum_accumulate(out.subspan(l3, l4 - l3))));
    } else {
      store_be16(out, l3 + 4, static_cast<std::uint16_t>(hl + n - l4));
    }
    store_be32(out, l4 + 4, seq + static_cast<std::uint32_t>(off));
    std::uint8_t fl = flags;
    if (!last) fl &= static_cast<std::uint8_t>(~(fin | psh));
    if (count != 0) fl &= static_cast<std::uint8_t>(~cwr);
    out[l4 + 13] = static_cast<std::byte>(fl);
    store_be16(out, l4 + 16, 0);
    const auto tcp_length = static_cast<std::uint32_t>(hl - l4 + n);
    std::uint64_t sum = tcp_pseudo_sum(out, v4, tcp_length);
    sum = nvo::simd::checksum_accumulate(out.subspan(l4, hl - l4), sum);
    sum = nvo::simd::copy_checksum_accumulate(out.subspan(hl, n), f.subspan(hl + off, n), sum);
    store_be16(out, l4 + 16, nvo::wire::checksum_finalize(sum));
    emit(hl + n);
  }
  return count;
}

}  // namespace nvo_examples::vtep
