// File: nvo/stt/frame.hpp
// The vocabulary nvo/stt/segmenter.hpp and nvo/stt/reassembler.hpp share: the
// size limits of an STT frame, and how the frame header's C/P/MSS/VLAN fields
// map to the offload state of the inner packet on either side of the tunnel.
//
// An STT frame is the 18-byte frame header followed by the inner Ethernet
// frame; its length travels in the upper 16 bits of every segment's SEQ, so a
// frame is at most 65535 bytes (the draft's 64 KiB), and the inner frame at
// most 65535 - 18.
//
// C and P (draft-davie-stt-08 3.1, nvo/wire/stt.hpp for the bit values) carry
// the sender's knowledge of the inner L4 checksum so the receiver need not
// recompute it:
//   C  verified: the sender (its NIC or stack) checked the inner checksum.
//   P  partial:  the inner checksum field holds only the pseudo-header sum; the
//                receiver (or its NIC) completes it from csum_start = L4 offset.
// Never both. The frame header's MSS, when non-zero, asks the receiver to
// segment the inner packet again (GSO); its VLAN fields ask for an 802.1Q tag.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

#if defined(__linux__)
#include <sys/random.h>
#endif

#include "nvo/wire/stt.hpp"

NVO_BEGIN_NAMESPACE
namespace stt {

using wire::bytes;
using wire::const_bytes;
using wire::errc;
using wire::result;

inline constexpr std::size_t max_frame_length = 65535;
inline constexpr std::size_t max_inner_length = max_frame_length - wire::stt::frame_header_size;

// 64 bits from getrandom(2), falling back to std::random_device: the start of a
// sender's frame-id counter, a reassembler's hash secret. Control path.
[[nodiscard]] inline std::uint64_t random_seed() {
  std::uint64_t k = 0;
#if defined(__linux__)
  if (getrandom(&k, sizeof(k), 0) == static_cast<ssize_t>(sizeof(k))) return k;
#endif
  std::random_device rd;
  return std::uint64_t{rd()} << 32 ^ rd();
}

// The inner packet's L4 checksum state, as a stack or NIC reports it (Linux
// CHECKSUM_UNNECESSARY / CHECKSUM_PARTIAL, DPDK RX_L4_CKSUM_GOOD / TX_*_CKSUM).
enum class inner_checksum : std::uint8_t { none, verified, partial };

// The C/P bits for a frame header (OR them into frame_header::flags).
[[nodiscard]] constexpr std::uint8_t checksum_flags(inner_checksum c) noexcept {
  switch (c) {
    case inner_checksum::verified: return wire::stt::flag_checksum_verified;
    case inner_checksum::partial: return wire::stt::flag_checksum_partial;
    case inner_checksum::none: break;
  }
  return 0;
}

// What a reassembled frame's header and outer headers ask the decapsulating
// side to apply to the inner packet.
struct rx_offload {
  inner_checksum checksum = inner_checksum::none;
  // partial: the inner L4 header's offset from the inner frame's first byte
  // (the frame header's L4 offset) and the checksum field's offset within it.
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
  std::uint16_t gso_size = 0;  // frame header MSS; 0: not to be segmented again
  bool has_vlan = false;       // insert an 802.1Q tag (TPID 0x8100) carrying vlan_tci
  std::uint16_t vlan_tci = 0;  // PCP | 0 | VID: the V bit masked off
  // The outer TOS / traffic class for RFC 6040 decapsulation: the DSCP of the
  // first segment (draft 3.3.1, uniform model), and ECN CE if any segment of
  // the frame carried CE, otherwise the first segment's ECN.
  std::uint8_t outer_tos = 0;

  friend constexpr bool operator==(const rx_offload&, const rx_offload&) = default;
};

inline constexpr std::uint8_t ecn_mask = 0x03;
inline constexpr std::uint8_t ecn_ce = 0x03;

[[nodiscard]] constexpr rx_offload rx_offload_of(const wire::stt::frame_header& h, std::uint8_t outer_tos) noexcept {
  rx_offload o;
  if ((h.flags & wire::stt::flag_checksum_verified) != 0) {
    o.checksum = inner_checksum::verified;
  } else if ((h.flags & wire::stt::flag_checksum_partial) != 0) {
    o.checksum = inner_checksum::partial;
    o.csum_start = h.l4_offset;
    o.csum_offset = (h.flags & wire::stt::flag_tcp) != 0 ? 16 : 6;  // TCP or UDP checksum field
  }
  o.gso_size = h.mss;
  o.has_vlan = (h.vlan_tci & wire::stt::vlan_present) != 0;
  o.vlan_tci = o.has_vlan ? static_cast<std::uint16_t>(h.vlan_tci & ~wire::stt::vlan_present) : std::uint16_t{0};
  o.outer_tos = outer_tos;
  return o;
}

}  // namespace stt
NVO_END_NAMESPACE
