// File: nvo/stt/segmenter.hpp
// STT segmentation (draft-davie-stt-08 3.2): one STT frame (frame header +
// inner Ethernet frame, <= 65535 bytes) becomes TCP-looking segments of at most
// the underlay MSS of frame bytes each.
//
//   frame:     | frame header (18) | inner Ethernet frame ...................... |
//   segment 0: | outer Eth/IP/TCP | frame header | inner[0, mss-18)              |
//   segment k: | outer Eth/IP/TCP | frame bytes [k*mss, min((k+1)*mss, L))       |
//
//   TCP SEQ  = L << 16 | k*mss    (frame length, offset of this segment's bytes)
//   TCP ACK  = frame id           (frame_id_generator below)
//   TCP flags ACK, and PSH on the last segment; window and urgent as in the template
//   IPv4 identification: one per segment, from a per-segmenter counter (the
//   segments carry DF, so RFC 6864 asks no more uniqueness than that)
//
// THE TEMPLATE
//   The caller builds the outer headers once per endpoint, as raw bytes
//   (Ethernet [802.1Q] + IPv4 or IPv6 + a 20-byte TCP header to the STT port),
//   and make_segment_template() records where the IP and TCP headers are and
//   pre-sums the words that do not change: the IPv4 header without TOS, length,
//   identification and checksum; the pseudo-header without its length; the TCP
//   header without source port, SEQ, ACK and flags. Per segment only those
//   words are added, so no header byte is summed twice.
//
// CHECKSUM MODES
//   segment():          full software. Per segment: copy the template, then
//                       one pass of the fused copy-and-checksum kernel
//                       (nvo/simd/checksum.hpp, captured at construction) moves
//                       the payload slice into the caller's buffer and sums it,
//                       seeded with the header sums; the fold is the TCP
//                       checksum. Each payload byte is read once and written once.
//   segment_offload():  the draft's design point: one TSO-ready super-segment.
//                       Only the headers are written (into the caller's headroom
//                       before the inner frame: no payload copy); the TCP
//                       checksum field holds the folded pseudo-header sum without
//                       the length (the DPDK TSO convention, which Linux drivers
//                       use too), and offload_metadata says what the NIC needs
//                       (header lengths, csum_start/csum_offset, tso_segsz). A
//                       NIC's TSO adds the segment's byte offset to SEQ, which is
//                       exactly STT's offset field: L < 2^16 never carries.
//   C/P flags:          checksum_flags(inner_checksum) (nvo/stt/frame.hpp) sets
//                       the frame header from the inner packet's checksum state.
//
// FRAME IDS
//   frame_id_generator hands out ACK values (counter << instance_bits) |
//   instance, like OVS's per-CPU counter: each sending thread owns a segmenter
//   with its own caller-assigned instance number, so the ids of two threads
//   never collide, and no id is shared state (no atomics). One instance repeats
//   an id after 2^(32 - instance_bits) frames; with 8 instance bits that is 16 M
//   frames, far beyond a receiver's reassembly window (nvo's reassembler
//   expires frames after 30 s and evicts under pressure long before). The
//   counter starts at a random value so a restarted sender does not reuse the
//   ids of frames a receiver may still hold.
//
// THREADING: a segmenter is one sender's state (frame and IPv4 id counters);
// use one per thread. Templates are immutable values and can be shared.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "nvo/base/byte_order.hpp"
#include "nvo/base/checksum.hpp"
#include "nvo/simd/checksum.hpp"
#include "nvo/stt/frame.hpp"
#include "nvo/wire/ethernet.hpp"
#include "nvo/wire/ipv4.hpp"
#include "nvo/wire/ipv6.hpp"
#include "nvo/wire/stt.hpp"
#include "nvo/wire/tcp.hpp"

NVO_BEGIN_NAMESPACE
namespace stt {

// Ethernet + 802.1Q (18) + IPv4 with options (60) + TCP (20) = 98, rounded up.
inline constexpr std::size_t max_template_size = 128;
// Smallest MSS a template accepts: the frame header and an inner Ethernet
// header fit in the first segment, and a 64-KiB frame needs at most 1024 segments.
inline constexpr std::size_t min_segment_payload = 64;

// The outer headers of one endpoint, and their constant checksum parts.
struct segment_template {
  std::array<std::byte, max_template_size> headers{};  // first `size` bytes used
  std::uint8_t size = 0;        // Ethernet through TCP
  std::uint8_t ip_offset = 0;   // IP header start
  std::uint8_t tcp_offset = 0;  // TCP header start
  std::uint8_t ip_version = 0;  // 4 or 6
  std::uint8_t tos = 0;         // TOS / traffic class as built; frame_params::outer_tos overrides
  std::uint16_t segment_payload = 0;  // MSS: frame bytes per segment
  std::uint64_t ip_sum = 0;      // IPv4 header with TOS, total length, identification, checksum as zero
  std::uint64_t pseudo_sum = 0;  // pseudo-header without length: addresses and protocol
  std::uint64_t tcp_sum = 0;     // pseudo_sum + TCP header without src port, SEQ, ACK, flags, checksum

  [[nodiscard]] constexpr std::size_t ip_header_size() const noexcept { return std::size_t{tcp_offset} - ip_offset; }
};

// Checks headers (Ethernet with at most one 802.1Q tag, IPv4 with protocol TCP
// and no fragment bits, or IPv6 with next header TCP, then a TCP header with
// data offset 5, and nothing after it) and pre-sums it. The MSS is
// underlay_mtu (capped at 65535) minus the IP and TCP headers.
// Errors: truncated, the IP/TCP codecs' errors, ipv4_fragment, and
// field_out_of_range for a non-TCP or non-IP template, a template longer than
// max_template_size, or an MTU leaving less than min_segment_payload.
[[nodiscard]] constexpr result<segment_template> make_segment_template(const_bytes headers,
                                                                       std::size_t underlay_mtu) noexcept {
  namespace w = wire;
  if (headers.size() > max_template_size) return errc::field_out_of_range;
  w::ethernet::header eth;
  if (const auto error = w::ethernet::detail::parse_into(headers, eth)) return *error;
  segment_template t;
  const std::size_t l3 = eth.size();
  const const_bytes ip = headers.subspan(l3);
  std::size_t ip_size = 0;
  if (eth.ethertype == w::ethernet::ethertype_ipv4) {
    if (ip.size() < w::ipv4::min_header_size) return errc::truncated;
    const std::uint8_t vihl = w::load_u8(ip, 0);
    if ((vihl >> 4) != 4) return errc::ipv4_bad_version;
    ip_size = std::size_t{vihl & 0x0Fu} * 4;
    if (ip_size < w::ipv4::min_header_size || ip_size > ip.size()) return errc::ipv4_bad_header_length;
    if (w::load_u8(ip, 9) != w::ipv4::protocol_tcp) return errc::field_out_of_range;
    if ((w::load_be16(ip, 6) & (w::ipv4::flag_more_fragments | w::ipv4::fragment_offset_mask)) != 0)
      return errc::ipv4_fragment;
    t.ip_version = 4;
    t.tos = w::load_u8(ip, 1);
  } else if (eth.ethertype == w::ethernet::ethertype_ipv6) {
    if (ip.size() < w::ipv6::header_size) return errc::truncated;
    if ((w::load_u8(ip, 0) >> 4) != 6) return errc::ipv6_bad_version;
    if (w::load_u8(ip, 6) != w::ipv4::protocol_tcp) return errc::field_out_of_range;
    ip_size = w::ipv6::header_size;
    t.ip_version = 6;
    t.tos = static_cast<std::uint8_t>(w::load_be16(ip, 0) >> 4);
  } else {
    return errc::field_out_of_range;
  }
  if (headers.size() < l3 + ip_size + w::tcp::header_size) return errc::truncated;
  if (headers.size() > l3 + ip_size + w::tcp::header_size) return errc::field_out_of_range;
  const const_bytes tcp = headers.subspan(l3 + ip_size);
  if ((w::load_u8(tcp, 12) >> 4) != 5) return errc::tcp_bad_data_offset;
  const std::size_t mtu = std::min(underlay_mtu, max_frame_length);
  if (mtu < ip_size + w::tcp::header_size + min_segment_payload) return errc::field_out_of_range;

  std::copy(headers.begin(), headers.end(), t.headers.begin());
  t.size = static_cast<std::uint8_t>(headers.size());
  t.ip_offset = static_cast<std::uint8_t>(l3);
  t.tcp_offset = static_cast<std::uint8_t>(l3 + ip_size);
  t.segment_payload = static_cast<std::uint16_t>(mtu - ip_size - w::tcp::header_size);

  if (t.ip_version == 4) {
    std::array<std::byte, w::ipv4::max_header_size> v4{};
    std::copy(ip.begin(), ip.begin() + static_cast<std::ptrdiff_t>(ip_size), v4.begin());
    const bytes v(v4);
    w::store_u8(v, 1, 0);      // TOS
    w::store_be16(v, 2, 0);    // total length
    w::store_be16(v, 4, 0);    // identification
    w::store_be16(v, 10, 0);   // checksum
    t.ip_sum = w::checksum_accumulate(v.first(ip_size));
    t.pseudo_sum = w::checksum_accumulate(ip.subspan(12, 8), w::ipv4::protocol_tcp);  // source, destination
  } else {
    t.pseudo_sum = w::checksum_accumulate(ip.subspan(8, 32), w::ipv4::protocol_tcp);
  }
  std::array<std::byte, w::tcp::header_size> th{};
  std::copy(tcp.begin(), tcp.end(), th.begin());
  const bytes tv(th);
  w::store_be16(tv, 0, 0);   // source port: per frame
  w::store_be32(tv, 4, 0);   // SEQ
  w::store_be32(tv, 8, 0);   // ACK
  w::store_be16(tv, 12, 0);  // data offset and flags: added below, PSH per segment
  w::store_be16(tv, 16, 0);  // checksum
  t.tcp_sum = w::checksum_accumulate(tv, t.pseudo_sum + (0x5000u | w::tcp::flag_ack));
  return t;
}

namespace detail {
// checksum_finalize's value with simd's shorter fold: two folds per segment.
[[nodiscard]] NVO_ALWAYS_INLINE std::uint16_t finalize(std::uint64_t sum) noexcept {
  return static_cast<std::uint16_t>(~simd::detail::fold(sum));
}

// A frame header as the words encode_frame_header writes, built and summed in
// registers: bytes stored one by one and then reloaded whole would stall on
// store forwarding.
struct frame_header_words {
  std::uint64_t head = 0;  // version, flags, L4 offset, reserved, MSS, VLAN
  std::uint64_t context = 0;
  std::uint16_t padding = 0;
  std::uint64_t sum = 0;  // of the 18 bytes, for the first segment's checksum

  explicit constexpr frame_header_words(const wire::stt::frame_header& h) noexcept
      : head(std::uint64_t{h.version} << 56 | std::uint64_t{h.flags} << 48 | std::uint64_t{h.l4_offset} << 40 |
             std::uint64_t{h.reserved} << 32 | std::uint64_t{h.mss} << 16 | h.vlan_tci),
        context(h.context_id),
        padding(h.padding),
        sum((head >> 32) + (head & 0xFFFFFFFFu) + (context >> 32) + (context & 0xFFFFFFFFu) + padding) {}

  void store(std::byte* out) const noexcept {
    const bytes o(out, wire::stt::frame_header_size);
    wire::store_be64(o, 0, head);
    wire::store_be64(o, 8, context);
    wire::store_be16(o, 16, padding);
  }
};

// The fused copy-and-checksum as segment_with() calls it: through the captured
// table, or the AVX-512 kernel itself, so that segment_avx512() can inline it
// (no call per segment: no spills around it, the header work interleaves with
// the vector work, the kernel's constants stay in registers).
struct table_copy_checksum {
  const simd::checksum_kernels* kernels;
  NVO_ALWAYS_INLINE std::uint64_t operator()(std::byte* dst, const std::byte* src, std::size_t n,
                                             std::uint64_t sum) const noexcept {
    return kernels->copy_accumulate(dst, src, n, sum);
  }
};
#if NVO_SIMD_X86
struct avx512_copy_checksum {
  [[gnu::target(NVO_SIMD_TARGET_AVX512)]] std::uint64_t operator()(std::byte* dst, const std::byte* src, std::size_t n,
                                                                   std::uint64_t sum) const noexcept {
    return simd::avx512::copy_checksum_accumulate(dst, src, n, sum);
  }
};
#endif

// A template's n bytes (54 <= n <= max_template_size) as two overlapping
// fixed-size copies: a variable-length memcpy this short becomes rep movsb,
// whose start-up costs more than the copy.
NVO_ALWAYS_INLINE void copy_headers(std::byte* dst, const std::byte* src, std::size_t n) noexcept {
  static_assert(max_template_size <= 128);
  NVO_ASSERT(n >= 32 && n <= max_template_size);
  if (n <= 64) {
    std::memcpy(dst, src, 32);
    std::memcpy(dst + n - 32, src + n - 32, 32);
  } else {
    std::memcpy(dst, src, 64);
    std::memcpy(dst + n - 64, src + n - 64, 64);
  }
}

// Writes a segment's outer headers, all but the TCP checksum: the template with
// the per-frame and per-segment fields patch() writes, as three 8-byte words
// with the template's bytes between them (IPv4 version..fragment, TCP ports +
// SEQ, ACK..window).
class scalar_headers {
 public:
  scalar_headers(const segment_template& t, std::uint16_t src_port, std::uint16_t length, std::uint32_t id,
                 std::uint8_t tos) noexcept
      : t_(t.headers.data()),
        size_(t.size),
        ih_(t.ip_offset),
        th_(t.tcp_offset),
        v4_(t.ip_version == 4),
        ip_tcp_size_(t.ip_header_size() + wire::tcp::header_size),
        ip_sum_(t.ip_sum + tos) {
    namespace w = wire;
    const const_bytes tb(t.headers);
    ip_word_ = v4_ ? std::uint64_t{w::load_u8(tb, ih_)} << 56 | std::uint64_t{tos} << 48 | w::load_be16(tb, ih_ + 6)
                   : std::uint64_t{(w::load_be32(tb, ih_) & 0xF00FFFFFu) | std::uint32_t{tos} << 20};
    ports_ = std::uint64_t{src_port} << 48 | std::uint64_t{w::load_be16(tb, th_ + 2)} << 32 | std::uint64_t{length} << 16;
    ack_ = std::uint64_t{id} << 32 | std::uint64_t{w::load_u8(tb, th_ + 12)} << 24 | w::load_be16(tb, th_ + 14);
  }

  NVO_ALWAYS_INLINE void write(std::byte* o, std::size_t offset, std::size_t chunk, bool last,
                               std::uint16_t ip_id) const noexcept {
    namespace w = wire;
    copy_headers(o, t_, size_);
    const bytes ob(o, size_);
    const std::uint8_t flags = last ? w::tcp::flag_ack | w::tcp::flag_psh : w::tcp::flag_ack;
    w::store_be64(ob, th_, ports_ | offset);
    w::store_be64(ob, th_ + 8, ack_ | std::uint64_t{flags} << 16);
    if (v4_) {
      const std::size_t total = ip_tcp_size_ + chunk;  // <= 65535: chunk <= MSS
      w::store_be64(ob, ih_, ip_word_ | std::uint64_t{total} << 32 | std::uint64_t{ip_id} << 16);
      w::store_be16(ob, ih_ + 10, ip_checksum(total, ip_id));
    } else {
      w::store_be32(ob, ih_, static_cast<std::uint32_t>(ip_word_));
      w::store_be16(ob, ih_ + 4, static_cast<std::uint16_t>(w::tcp::header_size + chunk));
    }
  }

  [[nodiscard]] NVO_ALWAYS_INLINE std::uint16_t ip_checksum(std::size_t total, std::uint16_t ip_id) const noexcept {
    return finalize(ip_sum_ + total + ip_id);
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t ip_offset() const noexcept { return ih_; }
  [[nodiscard]] std::size_t tcp_offset() const noexcept { return th_; }
  [[nodiscard]] bool v4() const noexcept { return v4_; }
  [[nodiscard]] std::size_t ip_tcp_size() const noexcept { return ip_tcp_size_; }

 private:
  const std::byte* t_;
  std::size_t size_, ih_, th_;
  bool v4_;
  std::size_t ip_tcp_size_;
  std::uint64_t ip_sum_;
  std::uint64_t ip_word_ = 0, ports_ = 0, ack_ = 0;
};

#if NVO_SIMD_X86
// The same for templates of at most 64 bytes, as one masked vector store: the
// frame's headers live in a register, and the four per-segment words (SEQ
// offset, IP length, and IPv4's identification and checksum, all at even
// offsets) are merged in with one word permute. Every byte equals
// scalar_headers'.
class avx512_headers {
 public:
  static constexpr std::size_t max_size = 64;

  // Built in registers from the template (written long before): an image
  // stored to the stack and loaded back would stall on store forwarding.
  [[gnu::target(NVO_SIMD_TARGET_AVX512)]] avx512_headers(const segment_template& t, std::uint16_t src_port,
                                                         std::uint16_t length, std::uint32_t id,
                                                         std::uint8_t tos) noexcept
      : scalar_(t, src_port, length, id, tos) {
    namespace w = wire;
    NVO_ASSERT(t.size <= max_size && t.ip_offset % 2 == 0 && t.tcp_offset % 2 == 0);
    const const_bytes tb(t.headers);
    const std::size_t ih = t.ip_offset, th = t.tcp_offset;
    store_ = _bzhi_u64(~std::uint64_t{0}, static_cast<unsigned>(t.size));
    __m512i h = _mm512_maskz_loadu_epi8(store_, t.headers.data());
    // The per-frame fields, as scalar_headers writes them.
    h = put(h, th, src_port);
    h = put(h, th + 4, length);  // SEQ: the frame-length half
    h = put(h, th + 8, static_cast<std::uint16_t>(id >> 16));
    h = put(h, th + 10, static_cast<std::uint16_t>(id));
    if (t.ip_version == 4) {
      h = put(h, ih, static_cast<std::uint16_t>(w::load_u8(tb, ih) << 8 | tos));
    } else {
      const std::uint32_t word = (w::load_be32(tb, ih) & 0xF00FFFFFu) | std::uint32_t{tos} << 20;
      h = put(h, ih, static_cast<std::uint16_t>(word >> 16));
      h = put(h, ih + 2, static_cast<std::uint16_t>(word));
    }
    const auto flags_word = [&](std::uint8_t flags) noexcept {
      return static_cast<std::uint16_t>(w::load_u8(tb, th + 12) << 8 | flags);
    };
    image_ = put(h, th + 12, flags_word(w::tcp::flag_ack));
    image_last_ = put(h, th + 12, flags_word(w::tcp::flag_ack | w::tcp::flag_psh));
    // The per-segment words: SEQ's offset half (field 0), then the IP length,
    // and IPv4's identification and checksum (fields 1..3).
    __mmask32 field[4] = {word_bit(th + 6), 0, 0, 0};
    if (t.ip_version == 4) {
      field[1] = word_bit(ih + 2);
      field[2] = word_bit(ih + 4);
      field[3] = word_bit(ih + 10);
    } else {
      field[1] = word_bit(ih + 4);
    }
    index_ = _mm512_setzero_si512();
    for (std::int16_t k = 1; k < 4; ++k) index_ = _mm512_mask_set1_epi16(index_, field[k], k);
    vary_ = field[0] | field[1] | field[2] | field[3];
  }

  [[gnu::target(NVO_SIMD_TARGET_AVX512)]] void write(std::byte* o, std::size_t offset, std::size_t chunk, bool last,
                                                     std::uint16_t ip_id) const noexcept {
    std::uint64_t fields;  // the four words in wire order, each big-endian
    if (scalar_.v4()) {
      const std::size_t total = scalar_.ip_tcp_size() + chunk;
      fields = std::uint64_t{offset} << 48 | std::uint64_t{total} << 32 | std::uint64_t{ip_id} << 16 |
               scalar_.ip_checksum(total, ip_id);
    } else {
      fields = std::uint64_t{offset} << 48 | std::uint64_t{wire::tcp::header_size + chunk} << 32;
    }
    const __m128i f = _mm_cvtsi64_si128(static_cast<long long>(__builtin_bswap64(fields)));
    const __m512i h = _mm512_mask_permutexvar_epi16(last ? image_last_ : image_, vary_, index_,
                                                    _mm512_zextsi128_si512(f));
    _mm512_mask_storeu_epi8(o, store_, h);
  }

 private:
  [[nodiscard]] static constexpr __mmask32 word_bit(std::size_t byte_offset) noexcept {
    return __mmask32{1} << (byte_offset / 2);
  }
  // v with the big-endian 16-bit value at the (even) byte offset.
  [[gnu::target(NVO_SIMD_TARGET_AVX512)]] NVO_ALWAYS_INLINE static __m512i put(__m512i v, std::size_t byte_offset,
                                                                             std::uint16_t value) noexcept {
    return _mm512_mask_set1_epi16(v, word_bit(byte_offset), static_cast<std::int16_t>(__builtin_bswap16(value)));
  }

  scalar_headers scalar_;
  __m512i image_, image_last_, index_;
  __mmask64 store_ = 0;
  __mmask32 vary_ = 0;
};
#endif
}  // namespace detail

// Segments of a frame with inner_length bytes of inner frame, and their sizes.
[[nodiscard]] constexpr std::size_t segment_count(const segment_template& t, std::size_t inner_length) noexcept {
  const std::size_t length = inner_length + wire::stt::frame_header_size;
  return (length + t.segment_payload - 1) / t.segment_payload;
}
// PRECONDITION: i < segment_count(t, inner_length).
[[nodiscard]] constexpr std::size_t segment_size(const segment_template& t, std::size_t inner_length,
                                                 std::size_t i) noexcept {
  const std::size_t length = inner_length + wire::stt::frame_header_size;
  return t.size + std::min<std::size_t>(t.segment_payload, length - i * t.segment_payload);
}
[[nodiscard]] constexpr std::size_t max_segment_size(const segment_template& t) noexcept {
  return std::size_t{t.size} + t.segment_payload;
}
// The super-segment headers segment_offload() writes: outer headers + frame header.
[[nodiscard]] constexpr std::size_t offload_header_size(const segment_template& t) noexcept {
  return std::size_t{t.size} + wire::stt::frame_header_size;
}

// Per frame.
struct frame_params {
  wire::stt::frame_header header{};       // written on the first segment as given
  std::uint16_t src_port = 0;             // TCP source port: the frame's flow entropy
  std::optional<std::uint8_t> outer_tos;  // e.g. the inner ECN/DSCP (RFC 6040); else the template's
};

// Per-instance ACK values; see FRAME IDS above.
class frame_id_generator {
 public:
  // PRECONDITION: instance_bits <= 16 and instance < 2^instance_bits.
  constexpr frame_id_generator(std::uint32_t instance, unsigned instance_bits, std::uint32_t start) noexcept
      : instance_(instance), bits_(instance_bits), counter_(start) {
    NVO_ASSERT(instance_bits <= 16 && instance >> instance_bits == 0);
  }

  [[nodiscard]] constexpr std::uint32_t next() noexcept {
    const std::uint32_t id = counter_ << bits_ | instance_;  // the counter's top bits fall off: ids wrap
    ++counter_;
    return id;
  }
  // Frames before this instance repeats an id.
  [[nodiscard]] constexpr std::uint64_t period() const noexcept { return std::uint64_t{1} << (32 - bits_); }

 private:
  std::uint32_t instance_;
  unsigned bits_;
  std::uint32_t counter_;
};

struct segmented {
  std::uint32_t frame_id = 0;
  std::uint16_t frame_length = 0;  // frame header + inner frame
  std::uint16_t segments = 0;
};

// What a NIC (or rte_gso / the Linux GSO layer) needs to cut a super-segment.
struct offload_metadata {
  std::uint32_t frame_id = 0;
  std::uint32_t length = 0;       // super-segment: outer headers + frame header + inner frame
  std::uint16_t l2_length = 0;    // outer Ethernet [+ 802.1Q]   (DPDK l2_len)
  std::uint16_t l3_length = 0;    // outer IP header             (l3_len)
  std::uint16_t l4_length = 0;    // TCP header: 20              (l4_len)
  std::uint16_t csum_start = 0;   // TCP header offset           (Linux csum_start)
  std::uint16_t csum_offset = 0;  // checksum field within it: 16 (csum_offset)
  std::uint16_t tso_segsz = 0;    // frame bytes per segment     (tso_segsz / gso_size)
  std::uint16_t segments = 0;     // how many the NIC will send
  bool ipv4 = false;              // the NIC fills each IPv4 header checksum
};

class segmenter {
 public:
  // instance: this sender's number among those sharing a tunnel (e.g. the
  // worker index), instance_bits: how many ACK bits it takes. seed: the start
  // of the frame-id counter (low 32 bits) and the IPv4 identification (bits 32..47).
  // PRECONDITION: as frame_id_generator's.
  explicit segmenter(std::uint32_t instance, unsigned instance_bits = 8, std::uint64_t seed = random_seed())
      : ids_(instance, instance_bits, static_cast<std::uint32_t>(seed)),
        ip_id_(static_cast<std::uint16_t>(seed >> 32)),
        kernels_(&simd::active_checksum_kernels()) {}

  // Full software mode. sink(length) -> wire::bytes is called once per segment,
  // in order, with that segment's exact length, and returns a buffer of at least
  // that size (a ring's next slot), or an empty span to stop: the result is then
  // output_too_small, and the segments already written are incomplete as a frame.
  // Errors: field_out_of_range when inner is longer than max_inner_length.
  // PRECONDITION: t came from make_segment_template; p.header.version == 0.
  template <class Sink>
    requires std::is_invocable_r_v<bytes, Sink&, std::size_t>
  [[nodiscard]] result<segmented> segment(const segment_template& t, const frame_params& p, const_bytes inner,
                                          Sink&& sink) noexcept {
#if NVO_SIMD_X86
    if (kernels_->id == simd::isa::avx512) return unpack(segment_avx512(t, p, inner, sink));
#endif
    return unpack(segment_with<detail::scalar_headers>(detail::table_copy_checksum{kernels_}, t, p, inner, sink));
  }

  // The same into caller buffers: segment i goes to out[i], which must hold
  // segment_size(t, inner.size(), i) bytes and is shrunk to exactly that.
  [[nodiscard]] result<segmented> segment(const segment_template& t, const frame_params& p, const_bytes inner,
                                          std::span<bytes> out) noexcept {
    std::size_t i = 0;
    return segment(t, p, inner, [&](std::size_t size) noexcept -> bytes {
      if (i == out.size() || out[i].size() < size) return {};
      out[i] = out[i].first(size);
      return out[i++];
    });
  }

  // Offload mode: writes offload_header_size(t) bytes of super-segment headers
  // to out, which the caller's inner frame of inner_length bytes must follow in
  // one buffer (headroom). IPv4 total length / IPv6 payload length cover the
  // whole super-segment, or are 0 when it exceeds 65535 (Linux BIG TCP's
  // convention); the NIC rewrites them per segment anyway.
  // Errors: output_too_small, field_out_of_range (inner_length > max_inner_length).
  // PRECONDITION: as segment()'s.
  [[nodiscard]] result<offload_metadata> segment_offload(const segment_template& t, const frame_params& p,
                                                         std::size_t inner_length, bytes out) noexcept {
    namespace w = wire;
    if (inner_length > max_inner_length) return errc::field_out_of_range;
    if (out.size() < offload_header_size(t)) return errc::output_too_small;
    const auto length = static_cast<std::uint16_t>(inner_length + w::stt::frame_header_size);
    const std::uint32_t id = ids_.next();
    const std::uint8_t tos = p.outer_tos.value_or(t.tos);
    detail::copy_headers(out.data(), t.headers.data(), t.size);
    (void)w::stt::encode_frame_header(p.header, out.subspan(t.size));
    const auto segments = static_cast<std::uint16_t>((length + t.segment_payload - 1) / t.segment_payload);
    patch(t, out, length, 0, length, p.src_port, id, w::tcp::flag_ack | w::tcp::flag_psh, t.ip_sum + tos, tos,
          ip_id_);
    ip_id_ = static_cast<std::uint16_t>(ip_id_ + segments);
    w::store_be16(out, std::size_t{t.tcp_offset} + 16, w::checksum_fold(t.pseudo_sum));
    offload_metadata m;
    m.frame_id = id;
    m.length = static_cast<std::uint32_t>(t.size + length);
    m.l2_length = t.ip_offset;
    m.l3_length = static_cast<std::uint16_t>(t.ip_header_size());
    m.l4_length = w::tcp::header_size;
    m.csum_start = t.tcp_offset;
    m.csum_offset = 16;
    m.tso_segsz = t.segment_payload;
    m.segments = segments;
    m.ipv4 = t.ip_version == 4;
    return m;
  }

  [[nodiscard]] std::uint64_t frame_id_period() const noexcept { return ids_.period(); }
  // The next frame id of this sender, for a frame it sends whole in one
  // segment without segment() (the pipeline's in-place path), so every frame
  // of the instance draws from one sequence.
  [[nodiscard]] std::uint32_t next_frame_id() noexcept { return ids_.next(); }

 private:
#if NVO_SIMD_X86
  template <class Sink>
  [[gnu::target(NVO_SIMD_TARGET_AVX512), gnu::flatten]] std::uint64_t segment_avx512(
      const segment_template& t, const frame_params& p, const_bytes inner, Sink& sink) noexcept {
    if (t.size <= detail::avx512_headers::max_size)
      return segment_with<detail::avx512_headers>(detail::avx512_copy_checksum{}, t, p, inner, sink);
    return segment_with<detail::scalar_headers>(detail::avx512_copy_checksum{}, t, p, inner, sink);
  }
#endif

  // segment_with()'s outcome in one register, segments 0 carrying an errc: a
  // result<segmented> assembled in the stack frame of an outlined function
  // costs store-forwarding stalls on every return.
  [[nodiscard]] static constexpr std::uint64_t pack(errc e) noexcept { return static_cast<std::uint64_t>(e); }
  [[nodiscard]] static constexpr result<segmented> unpack(std::uint64_t v) noexcept {
    if (v >> 48 == 0) return static_cast<errc>(v);
    return segmented{static_cast<std::uint32_t>(v), static_cast<std::uint16_t>(v >> 32),
                     static_cast<std::uint16_t>(v >> 48)};
  }

  template <class Headers, class CopyAccumulate, class Sink>
  NVO_ALWAYS_INLINE std::uint64_t segment_with(CopyAccumulate copy_accumulate, const segment_template& t,
                                                   const frame_params& p, const_bytes inner, Sink& sink) noexcept {
    namespace w = wire;
    if (inner.size() > max_inner_length) return pack(errc::field_out_of_range);
    const auto length = static_cast<std::uint16_t>(inner.size() + w::stt::frame_header_size);
    const detail::frame_header_words fh(p.header);
    const std::uint32_t id = ids_.next();
    const std::uint8_t tos = p.outer_tos.value_or(t.tos);
    // The parts of every segment's sums that are constant for the frame; one's
    // complement addition is modulo 0xFFFF, so 32-bit values add whole.
    const std::uint64_t frame_sum = t.tcp_sum + p.src_port + length + id;
    const Headers headers(t, p.src_port, length, id, tos);
    // Stores through the output may alias anything: keep what the loop reads in locals.
    const std::size_t mss = t.segment_payload, header_size = t.size, th = t.tcp_offset;
    std::uint16_t ip_id = ip_id_;
    const std::byte* src = inner.data();
    std::uint16_t count = 0;
    for (std::size_t offset = 0; offset < length; offset += mss) {
      const std::size_t chunk = std::min<std::size_t>(mss, length - offset);
      const bool last = offset + chunk == length;
      const std::size_t size = header_size + chunk;
      const bytes out = sink(size);
      if (NVO_PREDICT_FALSE(out.size() < size)) {
        ip_id_ = ip_id;
        return pack(errc::output_too_small);
      }
      std::byte* o = out.data();
      headers.write(o, offset, chunk, last, ip_id++);  // before the kernel: only the TCP checksum waits for it
      std::byte* payload = o + th + w::tcp::header_size;
      std::size_t data = chunk;
      std::uint64_t sum = frame_sum + offset + (w::tcp::header_size + chunk) + (last ? w::tcp::flag_psh : 0);
      if (offset == 0) {
        fh.store(payload);
        sum += fh.sum;
        payload += w::stt::frame_header_size;
        data -= w::stt::frame_header_size;
      }
      sum = copy_accumulate(payload, src, data, sum);
      src += data;
      w::store_be16(bytes(o, size), th + 16, detail::finalize(sum));
      ++count;
    }
    ip_id_ = ip_id;
    return std::uint64_t{id} | std::uint64_t{length} << 32 | std::uint64_t{count} << 48;
  }

  // Writes the per-segment IP and TCP fields (all but the TCP checksum). An IP
  // length beyond 16 bits (only an offload super-segment's) is written as 0.
  NVO_ALWAYS_INLINE static void patch(const segment_template& t, bytes out, std::uint16_t length, std::size_t offset,
                                      std::size_t chunk, std::uint16_t src_port, std::uint32_t id,
                                      std::uint8_t flags, std::uint64_t ip_sum, std::uint8_t tos,
                                      std::uint16_t ip_id) noexcept {
    namespace w = wire;
    const std::size_t th = t.tcp_offset;
    w::store_be16(out, th, src_port);
    w::store_be32(out, th + 4, std::uint32_t{length} << 16 | static_cast<std::uint32_t>(offset));
    w::store_be32(out, th + 8, id);
    w::store_u8(out, th + 13, flags);
    const std::size_t ih = t.ip_offset;
    if (t.ip_version == 4) {
      const std::size_t total = t.ip_header_size() + w::tcp::header_size + chunk;
      const auto field = static_cast<std::uint16_t>(total > 0xFFFF ? 0 : total);
      w::store_u8(out, ih + 1, tos);
      w::store_be16(out, ih + 2, field);
      w::store_be16(out, ih + 4, ip_id);
      w::store_be16(out, ih + 10, detail::finalize(ip_sum + field + ip_id));
    } else {
      const std::size_t payload = w::tcp::header_size + chunk;
      const std::uint32_t word = w::load_be32(out, ih);
      w::store_be32(out, ih, (word & 0xF00FFFFFu) | std::uint32_t{tos} << 20);
      w::store_be16(out, ih + 4, static_cast<std::uint16_t>(payload > 0xFFFF ? 0 : payload));
    }
  }

  frame_id_generator ids_;
  std::uint16_t ip_id_;
  const simd::checksum_kernels* kernels_;
};

}  // namespace stt
NVO_END_NAMESPACE
