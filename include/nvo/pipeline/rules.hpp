// File: nvo/pipeline/rules.hpp
// How the outer IP header's TOS/traffic class, TTL and DF relate to the inner
// packet's: RFC 6040 ECN at ingress and egress, RFC 2983 DSCP models, TTL and
// DF, as OVS (options:tos, ttl, df_default), Linux (tos, ttl, df) and VPP
// (ENCAP_COPY_*) configure them.
//
// ECN codepoints are the low two bits of the TOS byte: Not-ECT 0, ECT(1) 1,
// ECT(0) 2, CE 3.
#pragma once

#include <cstdint>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace pipeline {

inline constexpr std::uint8_t ecn_not_ect = 0;
inline constexpr std::uint8_t ecn_ect1 = 1;
inline constexpr std::uint8_t ecn_ect0 = 2;
inline constexpr std::uint8_t ecn_ce = 3;
inline constexpr std::uint8_t ecn_mask = 0x03;

// RFC 6040 4.1. normal: the outer ECN field is a copy of the inner one, CE
// included (REQUIRED mode). compatibility: the outer field is Not-ECT, for
// egress nodes that do not understand ECN. (Linux and OVS instead map inner CE
// to outer ECT(0), RFC 3168's full-functionality mode; neither is that.)
enum class ecn_ingress : std::uint8_t { normal, compatibility };

// RFC 2983. inherit (uniform): the outer DSCP is the inner one; fixed (pipe):
// the outer DSCP is header_rules::dscp. Decapsulation never changes the inner
// DSCP, as Linux and OVS.
enum class dscp_mode : std::uint8_t { inherit, fixed };
enum class ttl_mode : std::uint8_t { inherit, fixed };
// DF on an IPv4 underlay. inherit follows Linux: set when the inner packet is
// IPv4 with DF or is IPv6 (which never fragments in flight).
enum class df_mode : std::uint8_t { set, unset, inherit };

// The rules of one pipeline. A structural type, so a pipeline can fix them at
// compile time (rules::fixed<header_rules{...}>, policy.hpp).
struct header_rules {
  ecn_ingress ecn = ecn_ingress::normal;
  dscp_mode dscp = dscp_mode::fixed;
  std::uint8_t dscp_value = 0;  // 6 bits, when dscp == fixed
  ttl_mode ttl = ttl_mode::fixed;
  std::uint8_t ttl_value = 64;  // OVS and Linux default, when ttl == fixed
  df_mode df = df_mode::set;    // OVS df_default=true: VXLAN/NVGRE MUST NOT be fragmented
  friend constexpr bool operator==(const header_rules&, const header_rules&) = default;
};

// The outer ECN field for an inner one (RFC 6040 4.1).
[[nodiscard]] constexpr std::uint8_t ecn_encapsulate(ecn_ingress mode, std::uint8_t inner_ecn) noexcept {
  return mode == ecn_ingress::normal ? static_cast<std::uint8_t>(inner_ecn & ecn_mask) : ecn_not_ect;
}

struct ecn_egress {
  bool drop = false;     // inner Not-ECT under outer CE: the packet MUST be dropped
  std::uint8_t ecn = 0;  // the inner packet's new ECN field
  bool alarm = false;    // a cell RFC 6040 marks (!!!) or (!): a currently unused
                         // combination that SHOULD be logged, rate-limited
  friend constexpr bool operator==(const ecn_egress&, const ecn_egress&) = default;
};

// RFC 6040 4.2, Figure 4, cell by cell (rows: inner, columns: outer). Unlike
// Linux's __INET_ECN_decapsulate and OVS's tnl_process_ecn, an ECT(0) inner
// under an ECT(1) outer becomes ECT(1).
[[nodiscard]] NVO_ALWAYS_INLINE constexpr ecn_egress ecn_decapsulate(std::uint8_t outer_ecn, std::uint8_t inner_ecn) noexcept {
  const std::uint8_t outer = outer_ecn & ecn_mask;
  const std::uint8_t inner = inner_ecn & ecn_mask;
  if (inner == ecn_not_ect) {
    if (outer == ecn_ce) return {true, inner, true};
    return {false, inner, outer != ecn_not_ect};
  }
  if (outer == ecn_ce) return {false, ecn_ce, false};
  if (inner == ecn_ce) return {false, ecn_ce, outer == ecn_ect1};
  if (inner == ecn_ect0 && outer == ecn_ect1) return {false, ecn_ect1, false};
  if (inner == ecn_ect1 && outer == ecn_ect0) return {false, ecn_ect1, true};
  return {false, inner, false};
}

}  // namespace pipeline
NVO_END_NAMESPACE
