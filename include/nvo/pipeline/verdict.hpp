// File: nvo/pipeline/verdict.hpp
// What the pipeline decided for each packet, and the counters it keeps.
//
// Every packet gets a verdict: forward (encapsulated towards one endpoint, or
// decapsulated for delivery), flood (BUM: replicate with encapsulate_flood()),
// segment (an STT frame larger than one underlay packet: encapsulate_segments()
// cuts it into `segments` buffers), held (an STT segment kept for reassembly;
// the buffer is free), reply (a locally built ARP/ND answer replaced the
// packet), too_big (carries the inner MTU to report; build_too_big() makes the
// ICMP message), or drop with a reason. A decapsulation the codecs reject
// reports the wire::errc too.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "nvo/config.hpp"
#include "nvo/table/forwarding.hpp"
#include "nvo/wire/result.hpp"

NVO_BEGIN_NAMESPACE
namespace pipeline {

// X-macro so the enumerators and their names cannot drift apart.
#define NVO_PIPELINE_DROPS(X)                                                                   \
  X(none)                                                                                       \
  X(inner_truncated)        /* encap: shorter than an Ethernet header */                       \
  X(inner_too_long)         /* encap: longer than any encapsulation carries in one packet */   \
  X(no_route)               /* no table entry and nothing to flood to */                        \
  X(no_template)            /* the endpoint has no header template (set_endpoint) */            \
  X(no_headroom)            /* the buffer cannot hold the outer headers or the reply */         \
  X(tunnel_id_out_of_range) /* VNI/VSID wider than 24 bits */                                   \
  X(wrong_underlay)         /* IP family the underlay policy excludes */                        \
  X(wrong_encapsulation)    /* a tunnel this pipeline does not terminate, or not a tunnel */    \
  X(malformed)              /* decap: the codecs rejected it; verdict::error says why */        \
  X(not_local)              /* decap: outer destination not a local PA nor the VNI's group */   \
  X(spoofed_source)         /* decap: outer source is not a member of the VNI */                \
  X(ecn_not_ect_under_ce)   /* decap: RFC 6040 drop cell */                                     \
  X(stt_needs_reassembly)   /* decap: a segment of a larger STT frame, reassembly off */         \
  X(stt_reassembly)         /* decap: the reassembler dropped the segment or its frame */        \
  X(stt_too_many_segments)  /* encap: encapsulate_segments() got too few buffers */             \
  X(underlay_mtu_too_small) /* encap: the MTU leaves no room for an STT segment */              \
  X(l3_unsupported_frame)   /* HNV: neither IP to a known CA nor ARP/ND for one */              \
  X(nvgre_inner_vlan)       /* RFC 7637 3.3: NVGRE never carries 802.1Q inner frames */

enum class drop_reason : std::uint8_t {
#define NVO_PIPELINE_ENUMERATOR(name) name,
  NVO_PIPELINE_DROPS(NVO_PIPELINE_ENUMERATOR)
#undef NVO_PIPELINE_ENUMERATOR
};
inline constexpr std::size_t drop_reason_count = 0
#define NVO_PIPELINE_COUNT(name) +1
    NVO_PIPELINE_DROPS(NVO_PIPELINE_COUNT)
#undef NVO_PIPELINE_COUNT
    ;

[[nodiscard]] constexpr std::string_view to_string(drop_reason r) noexcept {
  switch (r) {
#define NVO_PIPELINE_NAME(name) \
  case drop_reason::name:       \
    return #name;
    NVO_PIPELINE_DROPS(NVO_PIPELINE_NAME)
#undef NVO_PIPELINE_NAME
  }
  return "unknown";
}

enum class action : std::uint8_t { forward, flood, segment, held, reply, too_big, drop };

[[nodiscard]] constexpr std::string_view to_string(action a) noexcept {
  switch (a) {
    case action::forward: return "forward";
    case action::flood: return "flood";
    case action::segment: return "segment";
    case action::held: return "held";
    case action::reply: return "reply";
    case action::too_big: return "too_big";
    case action::drop: return "drop";
  }
  return "unknown";
}

struct verdict {
  // 16 bytes with no padding, so a verdict moves as two registers (a padded
  // one is copied through the stack, and the reload stalls on store forwarding).
  action act = action::drop;
  drop_reason reason = drop_reason::none;
  wire::errc error{};  // when reason == malformed
  wire::encapsulation encap = wire::encapsulation::none;
  std::uint16_t mtu = 0;       // too_big: the largest inner IP packet that fits
  std::uint16_t segments = 0;  // segment: buffers needed; forward of a segmented STT frame: segments made
  std::uint32_t tenant = 0;    // decap: the VNI/VSID (STT: context id's low 32 bits) of the delivered frame
  // decap with learning on: what learning did with the inner source MAC.
  table::learn_result learned = table::learn_result::refreshed;
  std::uint8_t reserved[3]{};

  [[nodiscard]] constexpr bool ok() const noexcept { return act == action::forward; }
  friend constexpr bool operator==(const verdict&, const verdict&) = default;
};

// Per pipeline instance, written only by the thread that owns it (no atomics
// on the hot path); read them on that thread, or after it has stopped.
struct pipeline_counters {
  std::uint64_t encapsulated = 0;
  std::uint64_t decapsulated = 0;
  std::uint64_t flooded = 0;      // BUM packets handed to the flood path
  std::uint64_t replicas = 0;     // copies encapsulate_flood() produced
  std::uint64_t replies = 0;      // ARP/ND answered locally
  std::uint64_t too_big = 0;
  std::uint64_t stt_segments_out = 0;  // segments encapsulate_segments() wrote
  std::uint64_t stt_held = 0;          // segments the reassembler kept
  std::uint64_t stt_reassembled = 0;   // multi-segment frames delivered
  std::uint64_t learned = 0;      // learn_result learned or moved
  std::uint64_t ecn_alarms = 0;   // RFC 6040 (!!!)/(!) cells seen at decap
  std::array<std::uint64_t, drop_reason_count> drops{};
  std::array<std::uint64_t, 64> malformed{};  // by wire::errc

};
static_assert(static_cast<std::size_t>(wire::errc::inner_truncated) < 64, "pipeline_counters::malformed too small");
static_assert(sizeof(verdict) == 16 && std::has_unique_object_representations_v<verdict>);

}  // namespace pipeline
NVO_END_NAMESPACE
