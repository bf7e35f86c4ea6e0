// File: nvo/pipeline/policy.hpp
// The pipeline's options and policies, and the concepts that check them.
//
// A pipeline is configured by an order-independent pack of named policies
// (as nvo's tables are, table/policy.hpp); every policy but the
// encapsulation has a default:
//
//   policy::encapsulation<E>  encap::vxlan | nvgre | stt | per_endpoint    (required)
//   policy::underlay<U>       underlay::ipv4 | ipv6 | either               default: either
//   policy::lookup<L>         lookup::l2<Table> | l3<Table> | fixed        default: l2<l2_forwarding_table<>>
//   policy::entropy<H>        entropy::crc32c | toeplitz | fixed           default: crc32c
//   policy::checksum<C>       checksum::zero_udp | software | offload      default: zero_udp
//   policy::header_rules<R>   rules::configured | rules::fixed<header_rules{...}>  default: configured
//   policy::learning<On>      decap learns {VNI, inner src MAC} -> outer src      default: off
//   policy::anti_spoofing<On> decap drops outer sources not in the VNI            default: off
//   policy::reclaimer<R>      the endpoint_templates' reclaimer           default: table::reclaim::none
//
// per_endpoint and either choose per packet from the endpoint record
// (tunnel_endpoint::encap, the PA's version); the fixed choices let the
// compiler drop the other paths.
//
// Options that peers configure per tunnel at run time (ports, MTU, the
// Toeplitz key, fixed values) are pipeline_options.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

#include "nvo/config.hpp"
#include "nvo/pipeline/rules.hpp"
#include "nvo/simd/flow.hpp"
#include "nvo/stt/reassembler.hpp"
#include "nvo/table/forwarding.hpp"
#include "nvo/table/policy.hpp"
#include "nvo/wire/encapsulation.hpp"
#include "nvo/wire/ethernet.hpp"
#include "nvo/wire/ipv4.hpp"
#include "nvo/wire/ipv6.hpp"
#include "nvo/wire/result.hpp"
#include "nvo/wire/tcp.hpp"
#include "nvo/wire/udp.hpp"
#include "nvo/wire/vxlan.hpp"

NVO_BEGIN_NAMESPACE
namespace pipeline {

struct pipeline_options {
  // This VTEP's provider addresses; decapsulation accepts only packets to one
  // of them (an unset family accepts nothing of that family).
  wire::ip_address local_ipv4{};
  wire::ip_address local_ipv6{};
  std::uint16_t vxlan_port = wire::vxlan::default_port;  // decap; encap takes the template's
  std::uint16_t source_port_min = wire::vxlan::source_port_min;  // VXLAN entropy range (RFC 7348 5)
  std::uint16_t source_port_max = wire::vxlan::source_port_max;
  std::optional<std::uint8_t> nvgre_flow_id{};  // fixed FlowID; unset: from entropy (RFC 7637 3.2)
  std::uint32_t fixed_entropy = 0;              // entropy::fixed's hash
  std::array<std::uint8_t, 40> toeplitz_key = simd::default_rss_key;  // entropy::toeplitz
  // RFC 6935/6936: send zero UDP checksums over IPv6 (checksum::zero_udp) and
  // accept them at decap. Enable only where the remote end does the same.
  bool zero_udp6_checksum = false;
  header_rules rules{};             // rules::configured reads these
  std::uint16_t underlay_mtu = 1500;  // largest outer IP packet
  wire::reserved_bits reserved = wire::reserved_bits::strict;
  // STT frame ids (TCP ACK): the low 8 bits are this instance's number, so
  // pipelines on different threads sharing a tunnel never reuse an id
  // (stt/segmenter.hpp, FRAME IDS); the counter above them starts at
  // stt_seed's low 32 bits, random unless fixed (reproducible tests).
  std::uint8_t instance_id = 0;
  std::optional<std::uint64_t> stt_seed{};
  std::uint16_t ipv4_id_start = 0;  // first IPv4 identification
  // Decapsulation reassembles multi-segment STT frames (pipelines that accept
  // STT): memory bound, frames in flight, expiry. false: such segments are
  // dropped as stt_needs_reassembly.
  bool stt_reassembly = true;
  stt::reassembler_options reassembly{};
};

// The inner-frame fields encapsulation reads, parsed once per packet: IP
// TOS/TTL/DF for the header rules, header lengths for the offload metadata
// and STT's frame header, and what the flow hash needs (an entropy policy
// may take them instead of parsing the frame again).
struct inner_headers {
  std::uint16_t l2_len = 0;     // Ethernet [+ one 802.1Q tag]: where L3 starts
  std::uint16_t ethertype = 0;  // after the tag (802.1Q with l2_len 14: the tag is truncated)
  std::uint8_t ip_version = 0;  // 0: not IP (or a truncated or inconsistent header)
  std::uint8_t tos = 0;         // IPv4 TOS / IPv6 traffic class
  std::uint8_t ttl = 0;
  bool df = false;
  std::uint8_t protocol = 0;
  std::uint16_t l3_len = 0;
  std::uint16_t l4_len = 0;
  std::uint32_t ports = 0;  // TCP/UDP source << 16 | destination, 0 without them (and for IPv4 fragments)
};

// PRECONDITION: f.size() >= 14. An IP header is used only when it is
// complete: a tenant's truncated or inconsistent header makes the frame "not
// IP" for the header rules, ECN and the flow hash (as simd::extract_flow_key).
[[nodiscard]] NVO_ALWAYS_INLINE inner_headers parse_inner_headers(wire::const_bytes f) noexcept {
  inner_headers in;
  std::size_t l3 = wire::ethernet::header_size;
  std::uint16_t type = wire::load_be16(f, 12);
  if (type == wire::ethernet::ethertype_vlan) {
    if (f.size() < l3 + wire::ethernet::vlan_tag_size) {  // l2_len 14 and ethertype 802.1Q: the tag is cut off
      in.l2_len = static_cast<std::uint16_t>(l3);
      in.ethertype = type;
      return in;
    }
    type = wire::load_be16(f, 16);
    l3 += wire::ethernet::vlan_tag_size;
  }
  in.l2_len = static_cast<std::uint16_t>(l3);
  in.ethertype = type;
  const auto ip = f.subspan(l3);
  bool fragment = false;
  if (type == wire::ethernet::ethertype_ipv4 && ip.size() >= wire::ipv4::min_header_size &&
      (wire::load_u8(ip, 0) >> 4) == 4) {
    const std::size_t ihl = std::size_t{wire::load_u8(ip, 0) & 0x0Fu} * 4;
    if (ihl < wire::ipv4::min_header_size || ihl > ip.size()) return in;
    in.ip_version = 4;
    in.tos = wire::load_u8(ip, 1);
    in.ttl = wire::load_u8(ip, 8);
    const std::uint16_t frag = wire::load_be16(ip, 6);
    in.df = (frag & wire::ipv4::flag_dont_fragment) != 0;
    fragment = (frag & (wire::ipv4::flag_more_fragments | wire::ipv4::fragment_offset_mask)) != 0;
    in.protocol = wire::load_u8(ip, 9);
    in.l3_len = static_cast<std::uint16_t>(ihl);
  } else if (type == wire::ethernet::ethertype_ipv6 && ip.size() >= wire::ipv6::header_size &&
             (wire::load_u8(ip, 0) >> 4) == 6) {
    in.ip_version = 6;
    in.tos = static_cast<std::uint8_t>(wire::load_be16(ip, 0) >> 4);
    in.ttl = wire::load_u8(ip, 7);
    in.protocol = wire::load_u8(ip, 6);
    in.l3_len = wire::ipv6::header_size;
  } else {
    return in;
  }
  const auto l4 = ip.subspan(in.l3_len);
  const bool tcp = in.protocol == wire::ipv4::protocol_tcp, udp = in.protocol == wire::ipv4::protocol_udp;
  if ((tcp || udp) && !fragment && l4.size() >= 4) in.ports = wire::load_be32(l4, 0);
  if (tcp && l4.size() >= wire::tcp::header_size)
    in.l4_len = static_cast<std::uint16_t>((wire::load_u8(l4, 12) >> 4) * 4);
  else if (udp && l4.size() >= wire::udp::header_size)
    in.l4_len = wire::udp::header_size;
  return in;
}

// ---- encapsulation -------------------------------------------------------------
namespace encap {
template <wire::encapsulation E>
struct fixed_kind {
  static constexpr wire::encapsulation kind = E;
  [[nodiscard]] static constexpr bool accepts(wire::encapsulation e) noexcept { return e == E; }
};
struct vxlan : fixed_kind<wire::encapsulation::vxlan> {};
struct nvgre : fixed_kind<wire::encapsulation::nvgre> {};
struct stt : fixed_kind<wire::encapsulation::stt> {};
// per_endpoint: each endpoint record's encap says which.
struct per_endpoint {
  static constexpr wire::encapsulation kind = wire::encapsulation::none;
  [[nodiscard]] static constexpr bool accepts(wire::encapsulation e) noexcept { return e != wire::encapsulation::none; }
};
}  // namespace encap

template <class E>
concept encapsulation_kind = requires(wire::encapsulation e) {
  { E::kind } -> std::convertible_to<wire::encapsulation>;
  { E::accepts(e) } noexcept -> std::same_as<bool>;
};

// ---- underlay --------------------------------------------------------------------
namespace underlay {
template <std::uint8_t Version>
struct fixed_family {
  static constexpr std::uint8_t version = Version;
  [[nodiscard]] static constexpr bool accepts(std::uint8_t v) noexcept { return v == Version; }
};
struct ipv4 : fixed_family<4> {};
struct ipv6 : fixed_family<6> {};
struct either {
  static constexpr std::uint8_t version = 0;
  [[nodiscard]] static constexpr bool accepts(std::uint8_t v) noexcept { return v == 4 || v == 6; }
};
}  // namespace underlay

template <class U>
concept underlay_kind = requires(std::uint8_t v) {
  { U::version } -> std::convertible_to<std::uint8_t>;
  { U::accepts(v) } noexcept -> std::same_as<bool>;
};

// ---- lookup ----------------------------------------------------------------------
enum class lookup_mode : std::uint8_t { l2, l3, fixed };
namespace lookup {
// l2: {VNI, inner destination MAC} in an l2_forwarding_table; BUM frames and
// misses flood to the VNI's flood list.
template <class Table>
struct l2 {
  static constexpr lookup_mode mode = lookup_mode::l2;
  using table_type = Table;
  Table* table = nullptr;
  explicit l2(Table& t) noexcept : table(&t) {}
};
// l3: HNV, {VSID, inner destination IP} in an l3_forwarding_table; the inner
// destination MAC is rewritten to the CA's, ARP/ND for known CAs is answered
// locally, nothing floods.
template <class Table>
struct l3 {
  static constexpr lookup_mode mode = lookup_mode::l3;
  using table_type = Table;
  Table* table = nullptr;
  explicit l3(Table& t) noexcept : table(&t) {}
};
// fixed: a point-to-point tunnel to one endpoint; the tunnel id is the
// tenant id the caller passes.
struct fixed {
  static constexpr lookup_mode mode = lookup_mode::fixed;
  table::tunnel_endpoint endpoint{};
  explicit fixed(const table::tunnel_endpoint& ep) noexcept : endpoint(ep) {}
};
}  // namespace lookup

template <class L>
concept lookup_kind = std::copy_constructible<L> && requires {
  { L::mode } -> std::convertible_to<lookup_mode>;
};

// ---- entropy -------------------------------------------------------------------
// An entropy policy is constructed from the options and hashes an inner frame
// to 32 bits, which the pipeline maps into the VXLAN source port range, the
// NVGRE FlowID or the STT source port. It may also take the frame's
// inner_headers (parsed once per packet), which the pipeline then passes.
namespace entropy {
struct crc32c {
  explicit crc32c(const pipeline_options&) noexcept {}
  [[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t operator()(wire::const_bytes inner) const noexcept {
    return simd::flow_hash_crc32c(inner);
  }
  // The same value from headers the pipeline has parsed already: only the
  // addresses are read from the frame.
  [[nodiscard]] NVO_ALWAYS_INLINE std::uint32_t operator()(wire::const_bytes inner, const inner_headers& h) const noexcept {
    return simd::flow_hash_crc32c_parsed(inner, h.l2_len, h.ethertype, h.ip_version, h.protocol, h.ports);
  }
};
// toeplitz: the NIC's RSS hash with the configured key, so the underlay
// spreads flows exactly as a NIC that hashed the inner headers would.
struct toeplitz {
  explicit toeplitz(const pipeline_options& o) : key_(std::make_shared<const simd::toeplitz_key>(o.toeplitz_key)) {}
  [[nodiscard]] std::uint32_t operator()(wire::const_bytes inner) const noexcept {
    return simd::flow_hash_toeplitz(*key_, simd::extract_flow_key(inner));
  }

 private:
  std::shared_ptr<const simd::toeplitz_key> key_;  // 36 KiB of tables: shared by copies
};
struct fixed {
  explicit fixed(const pipeline_options& o) noexcept : value_(o.fixed_entropy) {}
  [[nodiscard]] std::uint32_t operator()(wire::const_bytes) const noexcept { return value_; }

 private:
  std::uint32_t value_;
};
}  // namespace entropy

template <class H>
concept entropy_kind = std::constructible_from<H, const pipeline_options&> && requires(const H& h, wire::const_bytes b) {
  { h(b) } noexcept -> std::same_as<std::uint32_t>;
};

// ---- checksum ------------------------------------------------------------------
// zero_udp: VXLAN over IPv4 sends a zero UDP checksum (Linux's and OVS's
//   default); over IPv6 too only with pipeline_options::zero_udp6_checksum,
//   else the full checksum (RFC 6935/6936). STT's TCP checksum is always full.
// software: every checksum complete in software.
// offload: the UDP/TCP checksum field holds the pseudo-header sum and the
//   offload_request says where the NIC completes it. The IPv4 header checksum
//   is always complete (it costs one fold of a precomputed sum).
enum class checksum_mode : std::uint8_t { zero_udp, software, offload };
namespace checksum {
struct zero_udp {
  static constexpr checksum_mode mode = checksum_mode::zero_udp;
};
struct software {
  static constexpr checksum_mode mode = checksum_mode::software;
};
struct offload {
  static constexpr checksum_mode mode = checksum_mode::offload;
};
}  // namespace checksum

template <class C>
concept checksum_kind = requires {
  { C::mode } -> std::convertible_to<checksum_mode>;
};

// ---- header rules ----------------------------------------------------------------
namespace rules {
struct configured {
  [[nodiscard]] static constexpr header_rules get(const pipeline_options& o) noexcept { return o.rules; }
};
template <header_rules R>
struct fixed {
  [[nodiscard]] static constexpr header_rules get(const pipeline_options&) noexcept { return R; }
};
}  // namespace rules

template <class R>
concept rules_kind = requires(const pipeline_options& o) {
  { R::get(o) } noexcept -> std::same_as<header_rules>;
};

// ---- the tags ------------------------------------------------------------------
namespace policy {
template <class E>
struct encapsulation {
  using type = E;
};
template <class U>
struct underlay {
  using type = U;
};
template <class L>
struct lookup {
  using type = L;
};
template <class H>
struct entropy {
  using type = H;
};
template <class C>
struct checksum {
  using type = C;
};
template <class R>
struct header_rules {
  using type = R;
};
template <bool On>
struct learning {
  static constexpr bool value = On;
};
template <bool On>
struct anti_spoofing {
  static constexpr bool value = On;
};
template <class R>
struct reclaimer {
  using type = R;
};
}  // namespace policy

namespace detail {
template <class P>
struct tag_index : std::integral_constant<int, -1> {};
template <class T> struct tag_index<policy::encapsulation<T>> : std::integral_constant<int, 0> {};
template <class T> struct tag_index<policy::underlay<T>> : std::integral_constant<int, 1> {};
template <class T> struct tag_index<policy::lookup<T>> : std::integral_constant<int, 2> {};
template <class T> struct tag_index<policy::entropy<T>> : std::integral_constant<int, 3> {};
template <class T> struct tag_index<policy::checksum<T>> : std::integral_constant<int, 4> {};
template <class T> struct tag_index<policy::header_rules<T>> : std::integral_constant<int, 5> {};
template <bool B> struct tag_index<policy::learning<B>> : std::integral_constant<int, 6> {};
template <bool B> struct tag_index<policy::anti_spoofing<B>> : std::integral_constant<int, 7> {};
template <class T> struct tag_index<policy::reclaimer<T>> : std::integral_constant<int, 8> {};

template <int I, class... Policies>
inline constexpr int tag_count = ((tag_index<Policies>::value == I ? 1 : 0) + ... + 0);

template <class... Policies>
inline constexpr bool each_tag_at_most_once = [] {
  for (int i = 0; i < 9; ++i) {
    int n = 0;
    ((n += tag_index<Policies>::value == i ? 1 : 0), ...);
    if (n > 1) return false;
  }
  return true;
}();

template <class... Policies>
struct resolved {
  static_assert(((tag_index<Policies>::value >= 0) && ...),
                "nvo pipeline: unknown policy; use pipeline::policy::encapsulation, underlay, lookup, entropy, "
                "checksum, header_rules, learning, anti_spoofing or reclaimer");
  static_assert(each_tag_at_most_once<Policies...>, "nvo pipeline: a policy is given twice");
  static_assert(tag_count<0, Policies...> == 1,
                "nvo pipeline: policy::encapsulation<encap::vxlan | nvgre | stt | per_endpoint> is required");

  using encap_t = table::detail::type_param_t<policy::encapsulation, void, Policies...>;
  using underlay_t = table::detail::type_param_t<policy::underlay, underlay::either, Policies...>;
  using lookup_t = table::detail::type_param_t<policy::lookup, lookup::l2<table::l2_forwarding_table<>>, Policies...>;
  using entropy_t = table::detail::type_param_t<policy::entropy, entropy::crc32c, Policies...>;
  using checksum_t = table::detail::type_param_t<policy::checksum, checksum::zero_udp, Policies...>;
  using rules_t = table::detail::type_param_t<policy::header_rules, rules::configured, Policies...>;
  using reclaimer_t = table::detail::type_param_t<policy::reclaimer, table::reclaim::none, Policies...>;
  static constexpr bool learning = table::detail::bool_param<policy::learning, false, Policies...>::value;
  static constexpr bool anti_spoofing = table::detail::bool_param<policy::anti_spoofing, false, Policies...>::value;

  static_assert(encapsulation_kind<encap_t>, "policy::encapsulation<E>: E must be encap::vxlan, nvgre, stt or per_endpoint");
  static_assert(underlay_kind<underlay_t>, "policy::underlay<U>: U must be underlay::ipv4, ipv6 or either");
  static_assert(lookup_kind<lookup_t>, "policy::lookup<L>: L must be lookup::l2<Table>, l3<Table> or fixed");
  static_assert(entropy_kind<entropy_t>,
                "policy::entropy<H>: H must be constructible from pipeline_options and hash const_bytes to "
                "std::uint32_t noexcept (entropy::crc32c, toeplitz, fixed)");
  static_assert(checksum_kind<checksum_t>, "policy::checksum<C>: C must be checksum::zero_udp, software or offload");
  static_assert(rules_kind<rules_t>, "policy::header_rules<R>: R must be rules::configured or rules::fixed<header_rules{...}>");
  static_assert(table::reclaimer<reclaimer_t>, "policy::reclaimer<R>: R must model nvo::table::reclaimer");
  static_assert(!anti_spoofing || lookup_t::mode == lookup_mode::l2,
                "policy::anti_spoofing<true> needs lookup::l2: VNI membership lives in the l2 table");
  static_assert(!learning || lookup_t::mode == lookup_mode::l2,
                "policy::learning<true> needs lookup::l2 (HNV's l3 tables are controller-populated)");
};
}  // namespace detail

}  // namespace pipeline
NVO_END_NAMESPACE
