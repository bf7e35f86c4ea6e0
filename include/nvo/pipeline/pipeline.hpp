// File: nvo/pipeline/pipeline.hpp
// The encap/decap pipeline: codecs, forwarding tables, header templates and
// SIMD kernels composed into what a tunnel endpoint does per packet.
//
//   using fdb_t = nvo::table::l2_forwarding_table<nvo::table::policy::learning<true>>;
//   namespace np = nvo::pipeline;
//   using vtep = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>,
//                                   np::policy::lookup<np::lookup::l2<fdb_t>>,
//                                   np::policy::learning<true>>;
//   fdb_t fdb;
//   np::endpoint_templates<> templates;                        // control plane:
//   (void)templates.set({.local = pa, .remote = peer, .local_mac = m, .next_hop_mac = gw});
//   vtep p(options, np::lookup::l2<fdb_t>(fdb), templates);
//   std::array<np::verdict, 32> v;
//   p.encapsulate(std::span(vm_burst), vni, v);                 // VM -> underlay
//   p.decapsulate(std::span(wire_burst), v);                    // underlay -> VM
//
// ENCAPSULATION, per packet
//   1. lookup: l2 {VNI, inner dst MAC} (bulk per burst); broadcast, multicast
//      and unknown unicast get verdict flood, for encapsulate_flood() (head-end
//      replication into caller buffers, or one copy to the VNI's multicast
//      group). l3 (HNV) {VSID, inner dst IP}: the inner dst MAC becomes the CA
//      MAC; ARP requests and Neighbor Solicitations for a known CA get verdict
//      reply (the answer replaced the packet, reply.hpp). fixed: one endpoint.
//   2. the endpoint's header template (header_template.hpp); the MTU check
//      (verdict too_big with the inner MTU; build_too_big() makes the ICMP);
//   3. the entropy hash of the inner flow, the template copied into the
//      headroom and patched (lengths, IPv4 id, TOS/TTL/DF by header_rules,
//      entropy, tunnel id), the checksums by the checksum policy, and the
//      offload_request set on the buffer.
// DECAPSULATION, per packet
//   wire::dissect validates every outer layer (as a receiving VTEP must); then
//   the encapsulation and underlay policies, the outer destination must be a
//   local PA, anti-spoofing (outer source a member of the VNI), the RFC 6040
//   egress table (which may drop, or rewrite the inner ECN field), learning,
//   and the outer headers are stripped. A packet that is dropped is left
//   exactly as it arrived.
//
// THREADS
//   One pipeline instance per datapath thread: counters and the IPv4 id and
//   STT frame id counters are the instance's own, so nothing per packet is
//   atomic. Tables and templates are shared, read lock-free. With
//   policy::learning<true>, decapsulate() calls the table's learn(), a writer
//   operation: PRECONDITION that thread is the table's only writer. (A
//   multi-threaded datapath turns learning off and applies learning from the
//   verdicts' tenant and the frames on the writer thread.)
//
// HOT PATH
//   No allocation, locks, exceptions or virtual calls. A reader's template
//   and flood-list pointers are valid until its next quiescent state, so call
//   the reclaimer's quiescent() between bursts, never inside one.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>

#include "nvo/config.hpp"
#include "nvo/pipeline/header_template.hpp"
#include "nvo/pipeline/packet.hpp"
#include "nvo/pipeline/policy.hpp"
#include "nvo/pipeline/reply.hpp"
#include "nvo/pipeline/rules.hpp"
#include "nvo/pipeline/verdict.hpp"
#include "nvo/simd/flow.hpp"
#include "nvo/stt/reassembler.hpp"
#include "nvo/stt/segmenter.hpp"
#include "nvo/table/forwarding.hpp"
#include "nvo/wire/checksum.hpp"
#include "nvo/wire/dissect.hpp"

NVO_BEGIN_NAMESPACE
namespace pipeline {

inline constexpr std::size_t max_burst = 64;

namespace detail {

// a == b for addresses, as three loads and compares (the defaulted == of a
// 17-byte array is a memcmp call).
[[nodiscard]] NVO_ALWAYS_INLINE bool same_address(const wire::ip_address& a, const wire::ip_address& b) noexcept {
  static_assert(sizeof(wire::ip_address) == 17);
  std::uint64_t a0, a1, b0, b1;
  const auto* pa = reinterpret_cast<const unsigned char*>(&a);
  const auto* pb = reinterpret_cast<const unsigned char*>(&b);
  std::memcpy(&a0, pa, 8);
  std::memcpy(&a1, pa + 8, 8);
  std::memcpy(&b0, pb, 8);
  std::memcpy(&b1, pb + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1) | static_cast<std::uint64_t>(pa[16] ^ pb[16])) == 0;
}

// The inner packet's ECN field, rewritten at decap (RFC 6040 egress).
// IPv4 updates the header checksum incrementally (RFC 1624 eqn. 3).
inline void set_inner_ecn(wire::bytes ip, std::uint8_t ip_version, std::uint8_t ecn) noexcept {
  if (ip_version == 4) {
    const std::uint8_t old_tos = wire::load_u8(ip, 1);
    const std::uint8_t tos = static_cast<std::uint8_t>((old_tos & ~ecn_mask) | ecn);
    wire::store_u8(ip, 1, tos);
    const std::uint16_t old_word = static_cast<std::uint16_t>(0x4500u | old_tos);  // version/IHL byte cancels out
    const std::uint16_t new_word = static_cast<std::uint16_t>(0x4500u | tos);
    const std::uint64_t sum = std::uint64_t{static_cast<std::uint16_t>(~wire::load_be16(ip, 10))} +
                              static_cast<std::uint16_t>(~old_word) + new_word;
    wire::store_be16(ip, 10, wire::checksum_finalize(sum));
  } else {
    const std::uint32_t w = wire::load_be32(ip, 0);
    wire::store_be32(ip, 0, (w & ~(std::uint32_t{ecn_mask} << 20)) | std::uint32_t{ecn} << 20);
  }
}

}  // namespace detail

template <class... Policies>
class basic_pipeline {
  using resolved = detail::resolved<Policies...>;
  // The segment buffers of encapsulate_segments(), non-deduced so internal
  // calls can pass nullptr.
  template <class B>
  using segments_of = std::type_identity_t<std::span<B* const>>;

 public:
  using encap_type = typename resolved::encap_t;
  using underlay_type = typename resolved::underlay_t;
  using lookup_type = typename resolved::lookup_t;
  using entropy_type = typename resolved::entropy_t;
  using checksum_type = typename resolved::checksum_t;
  using rules_type = typename resolved::rules_t;
  using templates_type = endpoint_templates<typename resolved::reclaimer_t>;
  static constexpr bool learning = resolved::learning;
  static constexpr bool anti_spoofing = resolved::anti_spoofing;
  static constexpr lookup_mode mode = lookup_type::mode;

  static constexpr bool stt_capable = encap_type::accepts(wire::encapsulation::stt);

 private:
  // The templates one call has used, so a burst looks each endpoint up once:
  // a pointer for lookup::fixed, else 16 direct-mapped slots keyed by the
  // PA's last octet. It lives only for one call, so no pointer in it
  // outlives the reader's quiescent state.
  struct template_cache {
    std::array<const header_template*, mode == lookup_mode::fixed ? 1 : 16> slot{};
  };

 public:

  basic_pipeline(const pipeline_options& o, lookup_type lookup, const templates_type& templates)
      : options_(o), lookup_(lookup), templates_(&templates), entropy_(o), ipv4_id_(o.ipv4_id_start),
        segmenter_(o.instance_id, 8, o.stt_seed.value_or(stt::random_seed())),
        reassembler_(stt_capable && o.stt_reassembly ? std::make_unique<stt::reassembler>(o.reassembly) : nullptr),
        dissect_options_{o.vxlan_port, o.reserved, o.zero_udp6_checksum} {}

  // set_time(): the clock learning stamps entries with (seconds, the table's
  // age() uses the same origin) and STT reassembly expires frames by. The
  // datapath reads no clock itself.
  void set_time(std::uint32_t now_s) noexcept { set_time(std::chrono::seconds(now_s)); }
  void set_time(std::chrono::nanoseconds now) noexcept {
    now_ = now;
    now_s_ = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  }

  // The STT reassembler (nullptr when this pipeline does not reassemble): its
  // counters name every reason it dropped a segment or frame.
  [[nodiscard]] const stt::reassembler* reassembler() const noexcept { return reassembler_.get(); }

  [[nodiscard]] const pipeline_counters& counters() const noexcept { return counters_; }
  [[nodiscard]] const pipeline_options& options() const noexcept { return options_; }

  // ---- encapsulation ---------------------------------------------------------
  // encapsulate(pkt, tenant): pkt holds an inner Ethernet frame from a tenant
  // port of VNI/VSID `tenant`; on forward it holds the encapsulated packet.
  template <packet_buffer B>
  [[nodiscard]] verdict encapsulate(B& pkt, std::uint32_t tenant) noexcept {
    verdict v;
    encapsulate_one<B>(pkt, tenant, nullptr, v);
    return v;
  }

  // encapsulate_segments(): an STT frame that encapsulate() gave verdict
  // segment, cut into v.segments segments with every checksum complete
  // (stt/segmenter.hpp: one fused copy-and-checksum pass per segment).
  // Segment i is appended to segments[i]; the verdict is forward with the
  // count written, or a drop that wrote nothing. inner keeps the inner frame
  // (HNV: with the CA MAC written into it).
  // PRECONDITION every segments[i] is empty with room for one underlay packet.
  template <packet_buffer B>
  [[nodiscard]] verdict encapsulate_segments(B& inner, std::uint32_t tenant, std::span<B* const> segments) noexcept {
    verdict v;
    encapsulate_one<B>(inner, tenant, &segments, v);
    return v;
  }

 private:
  template <packet_buffer B>
  void encapsulate_one(B& pkt, std::uint32_t tenant, segments_of<B>* segments, verdict& v) noexcept {
    const wire::const_bytes frame(pkt.data(), pkt.size());
    if (frame.size() < wire::ethernet::header_size) return drop(v, drop_reason::inner_truncated);
    template_cache cache;
    if constexpr (mode == lookup_mode::l2) {
      if (tenant > wire::vxlan::max_vni) return drop(v, drop_reason::tunnel_id_out_of_range);
      wire::mac_address dst;
      wire::load_raw(frame, 0, dst.octets);
      table::tunnel_endpoint ep;
      if (dst.is_multicast() || !lookup_.table->lookup(tenant, dst, ep)) return flood_verdict(v, tenant);
      push(pkt, ep, ep.tunnel_id, cache, nullptr, segments, v);
    } else if constexpr (mode == lookup_mode::l3) {
      encapsulate_l3(pkt, tenant, cache, segments, v);
    } else {
      push(pkt, lookup_.endpoint, tenant, cache, nullptr, segments, v);
    }
  }

 public:

  // encapsulate(burst, tenant, out): a burst from one tenant port; out[i] is
  // burst[i]'s verdict. Returns how many were forwarded. l2 lookups go to the
  // table's bulk lookup. PRECONDITION out.size() >= burst.size().
  template <packet_buffer B>
  std::size_t encapsulate(std::span<B* const> burst, std::uint32_t tenant, std::span<verdict> out) noexcept {
    NVO_ASSERT(out.size() >= burst.size());
    std::size_t forwarded = 0;
    template_cache cache;
    if constexpr (mode == lookup_mode::l2) {
      if (tenant > wire::vxlan::max_vni) {
        for (std::size_t i = 0; i < burst.size(); ++i) {
          out[i] = verdict{};
          drop(out[i], drop_reason::tunnel_id_out_of_range);
        }
        return 0;
      }
      for (std::size_t base = 0; base < burst.size(); base += max_burst) {
        const std::size_t n = std::min(max_burst, burst.size() - base);
        auto& keys = scratch_keys_;  // members: no zero-filling per call
        auto& eps = scratch_eps_;
        for (std::size_t i = 0; i < n; ++i) {
          const B& p = *burst[base + i];
          wire::mac_address dst{};
          if (p.size() >= wire::ethernet::header_size) std::memcpy(dst.octets.data(), p.data(), 6);
          keys[i] = table::l2_key::make(tenant, dst);
        }
        const std::uint64_t hits = lookup_.table->lookup_bulk({keys.data(), n}, {eps.data(), n});
        for (std::size_t i = 0; i < n; ++i) {
          B& p = *burst[base + i];
          verdict& v = out[base + i];
          v = verdict{};
          if (p.size() < wire::ethernet::header_size) {
            drop(v, drop_reason::inner_truncated);
          } else if (((hits >> i) & 1) == 0 || keys[i].mac.is_multicast()) {
            flood_verdict(v, tenant);
          } else {
            push(p, eps[i], eps[i].tunnel_id, cache, nullptr, nullptr, v);
          }
          forwarded += v.ok();
        }
      }
    } else {
      for (std::size_t i = 0; i < burst.size(); ++i) {
        verdict& v = out[i];
        v = verdict{};
        if constexpr (mode == lookup_mode::l3) {
          encapsulate_l3(*burst[i], tenant, cache, nullptr, v);
        } else if (burst[i]->size() < wire::ethernet::header_size) {
          drop(v, drop_reason::inner_truncated);
        } else {
          push(*burst[i], lookup_.endpoint, tenant, cache, nullptr, nullptr, v);
        }
        forwarded += v.ok();
      }
    }
    return forwarded;
  }

  // encapsulate_flood(): BUM replication of `inner` (a packet encapsulate()
  // gave verdict flood, unchanged) into caller buffers: one copy to the VNI's
  // multicast group if its flood list has one, else one per remote (head-end
  // replication), as many as copies holds. out[i] is copy i's verdict;
  // returns the number of copies made. PRECONDITION every copies[i] is empty
  // with room for the frame and its outer headers; out.size() >= copies.size().
  template <packet_buffer B>
  std::size_t encapsulate_flood(const B& inner, std::uint32_t tenant, std::span<B* const> copies,
                                std::span<verdict> out) noexcept
    requires(mode == lookup_mode::l2)
  {
    NVO_ASSERT(out.size() >= copies.size());
    const table::flood_list* list = lookup_.table->flood_list_of(tenant);
    if (list == nullptr) return 0;
    const wire::ip_address* targets = list->group ? &*list->group : list->remotes.data();
    const std::size_t n = std::min(copies.size(), list->group ? std::size_t{1} : list->remotes.size());
    template_cache cache;
    for (std::size_t i = 0; i < n; ++i) {
      B& c = *copies[i];
      out[i] = verdict{};
      std::byte* p = c.append(inner.size());
      if (p == nullptr) {
        drop(out[i], drop_reason::no_headroom);
        continue;
      }
      std::memcpy(p, inner.data(), inner.size());
      const table::tunnel_endpoint ep{.provider = targets[i],
                                      .encap = flood_encap(targets[i]),
                                      .flags = table::endpoint_flags::static_entry,
                                      .tunnel_id = tenant};
      push(c, ep, tenant, cache, nullptr, nullptr, out[i]);
      counters_.replicas += out[i].ok();
    }
    return n;
  }

  // ---- decapsulation -----------------------------------------------------------
  // decapsulate(pkt): pkt holds a frame from the underlay; on forward it holds
  // the inner frame and the verdict names its tenant. Any other verdict
  // leaves pkt unchanged.
  template <packet_buffer B>
  [[nodiscard]] verdict decapsulate(B& pkt) noexcept {
    verdict v;
    decapsulate_into(pkt, v);
    return v;
  }

  // decapsulate(burst, out): out[i] is burst[i]'s verdict; returns how many
  // were delivered. PRECONDITION out.size() >= burst.size().
  template <packet_buffer B>
  std::size_t decapsulate(std::span<B* const> burst, std::span<verdict> out) noexcept {
    NVO_ASSERT(out.size() >= burst.size());
    std::size_t delivered = 0;
    for (std::size_t i = 0; i < burst.size(); ++i) {
      if (i + 1 < burst.size()) __builtin_prefetch(burst[i + 1]->data());
      out[i] = verdict{};
      decapsulate_into(*burst[i], out[i]);
      delivered += out[i].ok();
    }
    return delivered;
  }

 private:
  template <packet_buffer B>
  void decapsulate_into(B& pkt, verdict& v) noexcept {
    const wire::const_bytes frame(pkt.data(), pkt.size());
    auto d = wire::dissect(frame, dissect_options_, pkt.rx_checksum());
    if (!d) return malformed(v, d.error());
    if (!encap_type::accepts(d->encap)) return drop(v, drop_reason::wrong_encapsulation);
    if (!underlay_type::accepts(d->ip_version)) return drop(v, drop_reason::wrong_underlay);
    // The outer destination compared in the packet: d's copy of it was
    // written with narrower stores than a word compare would read back.
    // A multicast destination is accepted once the tunnel id is known, if it
    // is that VNI's flood group (flood-and-learn over a multicast underlay).
    const std::size_t l3 = d->outer_ethernet.size();
    const bool to_local = d->ip_version == 4
                              ? std::memcmp(frame.data() + l3 + 16, options_.local_ipv4.octets.data(), 4) == 0 &&
                                    options_.local_ipv4.is_v4()
                              : std::memcmp(frame.data() + l3 + 24, options_.local_ipv6.octets.data(), 16) == 0 &&
                                    options_.local_ipv6.is_v6();
    if (!to_local && (mode != lookup_mode::l2 || !d->outer_dst.is_multicast())) return drop(v, drop_reason::not_local);

    std::uint64_t tunnel_id = 0;
    wire::const_bytes inner = d->inner;
    std::uint8_t outer_tos = d->outer_tos;
    bool reassembled = false;  // inner is in the reassembler's memory, not in pkt
    switch (d->encap) {
      case wire::encapsulation::vxlan: tunnel_id = d->vni; break;
      case wire::encapsulation::nvgre: tunnel_id = d->nvgre.vsid; break;
      case wire::encapsulation::stt:
        if (d->has_stt_frame_header && d->stt.frame_length == d->inner.size() + wire::stt::frame_header_size) {
          tunnel_id = d->stt_frame.context_id;
          break;
        }
        if constexpr (stt_capable) {
          // A segment of a larger frame. Its outer checks passed; the frame's
          // own (tenant, anti-spoofing, ECN, learning) run once it completes,
          // since only the first segment carries the context id.
          if (!reassembler_) return drop(v, drop_reason::stt_needs_reassembly);
          const stt::add_result a = reassembler_->add(stt::rx_segment_of(*d), now_);
          if (a.status == stt::outcome::held) {
            ++counters_.stt_held;
            v.act = action::held;
            v.encap = wire::encapsulation::stt;
            return;
          }
          if (a.status == stt::outcome::dropped) return drop(v, drop_reason::stt_reassembly);
          if (a.frame.inner().size() < wire::ethernet::header_size) return malformed(v, wire::errc::inner_truncated);
          tunnel_id = a.frame.header.context_id;
          inner = a.frame.inner();
          outer_tos = a.frame.offload.outer_tos;
          reassembled = true;
          break;
        } else {
          return drop(v, drop_reason::stt_needs_reassembly);
        }
      case wire::encapsulation::none: break;
    }
    if (mode == lookup_mode::l2 && tunnel_id > wire::vxlan::max_vni) return drop(v, drop_reason::tunnel_id_out_of_range);
    const auto tenant = static_cast<std::uint32_t>(tunnel_id);
    if constexpr (mode == lookup_mode::l2) {
      if (!to_local) {
        const table::flood_list* list = lookup_.table->flood_list_of(tenant);
        if (list == nullptr || list->group != d->outer_dst) return drop(v, drop_reason::not_local);
      }
    }
    if constexpr (anti_spoofing) {
      if (!lookup_.table->is_member(tenant, d->outer_src)) return drop(v, drop_reason::spoofed_source);
    }

    // RFC 6040 egress: decide before anything is written.
    const inner_headers in = parse_inner_headers(inner);
    std::uint8_t new_ecn = in.tos & ecn_mask;
    if (in.ip_version != 0) {
      const ecn_egress e = ecn_decapsulate(outer_tos, in.tos);
      counters_.ecn_alarms += e.alarm;
      if (e.drop) return drop(v, drop_reason::ecn_not_ect_under_ce);
      new_ecn = e.ecn;
    }
    // A reassembled frame is delivered in the buffer of its last segment,
    // which must hold it (64 KiB buffers for STT peers that send large frames).
    if (reassembled && pkt.headroom() + pkt.size() + pkt.tailroom() < inner.size())
      return drop(v, drop_reason::no_headroom);

    v.act = action::forward;
    v.tenant = tenant;
    v.encap = d->encap;
    if constexpr (learning) {
      wire::mac_address src;
      wire::load_raw(inner, 6, src.octets);
      v.learned = lookup_.table->learn(tenant, src, d->outer_src, now_s_, d->encap);
      counters_.learned += v.learned == table::learn_result::learned || v.learned == table::learn_result::moved;
    }
    const std::size_t inner_size = inner.size();
    if (reassembled) {
      pkt.strip(pkt.size());
      (void)pkt.prepend(pkt.headroom());
      if (pkt.size() < inner_size) {
        (void)pkt.append(inner_size - pkt.size());
      } else {
        pkt.trim(pkt.size() - inner_size);
      }
      std::memcpy(pkt.data(), inner.data(), inner_size);
      ++counters_.stt_reassembled;
    } else {
      pkt.strip(static_cast<std::size_t>(inner.data() - frame.data()));
      pkt.trim(pkt.size() - inner_size);
    }
    if (new_ecn != (in.tos & ecn_mask))
      detail::set_inner_ecn(wire::bytes(pkt.data() + in.l2_len, in.l3_len), in.ip_version, new_ecn);
    ++counters_.decapsulated;
  }

  // The verdict helpers write into the caller's verdict, which the internal
  // paths fill in place: a verdict built on the stack and copied out is
  // reloaded as 16 bytes over narrow stores, a store-forwarding stall per
  // packet. PRECONDITION for all: v is a fresh verdict{} (action drop).
  void drop(verdict& v, drop_reason r) noexcept {
    ++counters_.drops[static_cast<std::size_t>(r)];
    v.reason = r;
  }
  void malformed(verdict& v, wire::errc e) noexcept {
    ++counters_.malformed[static_cast<std::size_t>(e)];
    drop(v, drop_reason::malformed);
    v.error = e;
  }

  void flood_verdict(verdict& v, std::uint32_t tenant) noexcept
    requires(mode == lookup_mode::l2)
  {
    if (lookup_.table->flood_list_of(tenant) == nullptr) return drop(v, drop_reason::no_route);
    ++counters_.flooded;
    v.act = action::flood;
    v.tenant = tenant;
  }

  // A flood list names remotes only: per_endpoint takes the encapsulation of
  // the template the control plane set for each.
  [[nodiscard]] wire::encapsulation flood_encap(const wire::ip_address& remote) const noexcept {
    if constexpr (encap_type::kind != wire::encapsulation::none) {
      return encap_type::kind;
    } else {
      const header_template* t = templates_->find_any(remote);
      return t != nullptr ? t->encap : wire::encapsulation::vxlan;
    }
  }

  // HNV: {VSID, inner dst IP}; ARP/ND for a known CA answered in place.
  template <packet_buffer B>
  void encapsulate_l3(B& pkt, std::uint32_t tenant, template_cache& cache, segments_of<B>* segments,
                      verdict& v) noexcept {
    const wire::const_bytes frame(pkt.data(), pkt.size());
    const auto l2 = parse_inner_l2(frame);
    if (!l2) return drop(v, drop_reason::inner_truncated);
    if (const auto target = resolution_target(frame)) {
      table::l3_entry e;
      if (!lookup_.table->lookup(tenant, *target, e)) return drop(v, drop_reason::no_route);
      std::array<std::byte, 128> reply{};
      const auto n = build_resolution_reply(frame, e.ca_mac, reply);
      if (!n) return drop(v, drop_reason::l3_unsupported_frame);
      if (pkt.headroom() + pkt.size() < *n) return drop(v, drop_reason::no_headroom);
      pkt.strip(pkt.size());
      std::memcpy(pkt.prepend(*n), reply.data(), *n);
      pkt.set_offload(offload_request{});
      ++counters_.replies;
      v.act = action::reply;
      v.tenant = tenant;
      return;
    }
    const auto ip = frame.subspan(l2->l3_offset);
    wire::ip_address dst;
    if (l2->ethertype == wire::ethernet::ethertype_ipv4 && ip.size() >= wire::ipv4::min_header_size) {
      dst = wire::ipv4_address::from_u32(wire::load_be32(ip, 16));
    } else if (l2->ethertype == wire::ethernet::ethertype_ipv6 && ip.size() >= wire::ipv6::header_size) {
      wire::ipv6_address a;
      wire::load_raw(ip, 24, a.octets);
      dst = a;
    } else {
      return drop(v, drop_reason::l3_unsupported_frame);
    }
    table::l3_entry e;
    if (!lookup_.table->lookup(tenant, dst, e)) return drop(v, drop_reason::no_route);
    // The MAC is written only once the packet is certain to go out.
    push(pkt, e.endpoint, e.endpoint.tunnel_id, cache, &e.ca_mac, segments, v);
  }

  [[nodiscard]] NVO_ALWAYS_INLINE const header_template* template_for(const table::tunnel_endpoint& ep,
                                                                      template_cache& cache) const noexcept {
    const wire::encapsulation e = encap_type::kind != wire::encapsulation::none ? encap_type::kind : ep.encap;
    const std::size_t i = cache.slot.size() == 1
                              ? 0
                              : (ep.provider.octets[ep.provider.version == 4 ? 3 : 15] ^ static_cast<std::size_t>(e)) %
                                    cache.slot.size();
    const header_template* t = cache.slot[i];
    if constexpr (mode == lookup_mode::fixed) {
      if (t != nullptr) return t;  // one endpoint
    }
    if (t != nullptr && t->encap == e && detail::same_address(t->remote, ep.provider)) return t;
    t = templates_->find(ep.provider, e);
    if (t != nullptr) cache.slot[i] = t;
    return t;
  }

  [[nodiscard]] constexpr header_rules rules() const noexcept { return rules_type::get(options_); }
  // push(): the template in front of the inner frame and every per-packet
  // field patched. Nothing is written before the last check has passed.
  template <packet_buffer B>
  void push(B& pkt, const table::tunnel_endpoint& ep, std::uint64_t tunnel_id, template_cache& cache,
            const wire::mac_address* new_dst_mac, segments_of<B>* segments, verdict& v) noexcept {
    if (!underlay_type::accepts(ep.provider.version)) return drop(v, drop_reason::wrong_underlay);
    const header_template* t = template_for(ep, cache);
    if (t == nullptr) return drop(v, drop_reason::no_template);
    const wire::encapsulation encap = encap_type::kind != wire::encapsulation::none ? encap_type::kind : t->encap;
    const wire::const_bytes inner(pkt.data(), pkt.size());
    const inner_headers in = parse_inner_headers(inner);
    if (encap != wire::encapsulation::stt && tunnel_id > wire::vxlan::max_vni)
      return drop(v, drop_reason::tunnel_id_out_of_range);
    if (encap == wire::encapsulation::nvgre && in.l2_len != wire::ethernet::header_size)
      return drop(v, drop_reason::nvgre_inner_vlan);
    const std::size_t size = t->size;
    const std::size_t l3 = wire::ethernet::header_size;
    const std::size_t ip_len = size - l3 + inner.size();
    // STT carries frames of up to 64 KiB by segmenting them; the others refuse.
    const bool segmented = stt_capable && encap == wire::encapsulation::stt && ip_len > options_.underlay_mtu;
    if (segmented) {
      if (inner.size() > stt::max_inner_length) return drop(v, drop_reason::inner_too_long);
    } else {
      if (ip_len > options_.underlay_mtu) {
        ++counters_.too_big;
        v.act = action::too_big;
        v.mtu = static_cast<std::uint16_t>(std::max<std::ptrdiff_t>(
            0, std::ptrdiff_t{options_.underlay_mtu} - std::ptrdiff_t(size - l3) - std::ptrdiff_t{in.l2_len}));
        return;
      }
      if (ip_len > 0xFFFF) return drop(v, drop_reason::inner_too_long);
      if (pkt.headroom() < size) return drop(v, drop_reason::no_headroom);
    }

    // Outer TOS/TTL/DF by the header rules.
    const header_rules r = rules();
    const std::uint8_t dscp = r.dscp == dscp_mode::inherit ? static_cast<std::uint8_t>(in.tos >> 2)
                                                           : static_cast<std::uint8_t>(r.dscp_value & 0x3F);
    const auto tos = static_cast<std::uint8_t>(dscp << 2 | ecn_encapsulate(r.ecn, in.ip_version ? in.tos : 0));
    const std::uint8_t ttl = r.ttl == ttl_mode::inherit && in.ip_version != 0 ? in.ttl : r.ttl_value;
    const bool df = r.df == df_mode::set || (r.df == df_mode::inherit && (in.df || in.ip_version == 6));
    std::uint32_t hash;
    if constexpr (requires { entropy_(inner, in); }) {
      hash = entropy_(inner, in);
    } else {
      hash = entropy_(inner);
    }
    if constexpr (stt_capable) {
      if (segmented) return push_segmented(pkt, *t, in, tunnel_id, hash, tos, ttl, df, new_dst_mac, segments, v);
    }

    if (new_dst_mac != nullptr) std::memcpy(pkt.data(), new_dst_mac->octets.data(), 6);
    std::byte* base = pkt.prepend(size);
    copy_template(base, *t);
    const wire::bytes out(base, pkt.size());

    const std::size_t l4 = t->l4_offset;
    const std::size_t l4_len = out.size() - l4;
    if (t->ip_version == 4) {
      const std::uint16_t flags = df ? wire::ipv4::flag_dont_fragment : 0;
      const std::uint16_t id = ipv4_id_++;
      wire::store_u8(out, l3 + 1, tos);
      wire::store_be16(out, l3 + 2, static_cast<std::uint16_t>(ip_len));
      wire::store_be16(out, l3 + 4, id);
      wire::store_be16(out, l3 + 6, flags);
      wire::store_u8(out, l3 + 8, ttl);
      const std::uint64_t sum = std::uint64_t{t->ip_sum} + tos + ip_len + id + flags + (std::uint32_t{ttl} << 8);
      wire::store_be16(out, l3 + 10, wire::checksum_finalize(sum));
    } else {
      wire::store_u8(out, l3, static_cast<std::uint8_t>(0x60 | tos >> 4));
      wire::store_u8(out, l3 + 1, static_cast<std::uint8_t>((tos & 0x0F) << 4));
      wire::store_be16(out, l3 + 4, static_cast<std::uint16_t>(l4_len));
      wire::store_u8(out, l3 + 7, ttl);
    }

    // Tunnel header and L4 checksum.
    offload_request o;
    o.tunnel = encap;
    o.outer_ip_version = t->ip_version;
    o.outer_l2_len = static_cast<std::uint16_t>(l3);
    o.outer_l3_len = static_cast<std::uint16_t>(l4 - l3);
    o.inner_l2_len = in.l2_len;
    o.inner_l3_len = in.l3_len;
    o.inner_l4_len = in.l4_len;
    const std::uint64_t pseudo = std::uint64_t{t->pseudo_sum} + l4_len;
    const std::size_t tun = t->tunnel_offset;
    switch (encap) {
      case wire::encapsulation::vxlan: {
        o.outer_l4_len = wire::udp::header_size;
        o.tunnel_len = wire::vxlan::header_size;
        wire::store_be16(out, l4, simd::udp_source_port(hash, options_.source_port_min, options_.source_port_max));
        wire::store_be16(out, l4 + 4, static_cast<std::uint16_t>(l4_len));
        wire::store_be32(out, tun + 4, static_cast<std::uint32_t>(tunnel_id) << 8);
        constexpr checksum_mode cm = checksum_type::mode;
        if (cm == checksum_mode::offload) {
          request_l4_offload(out, o, l4, 6, pseudo);
        } else if (cm == checksum_mode::software || (t->ip_version == 6 && !options_.zero_udp6_checksum)) {
          wire::store_be16(out, l4 + 6, wire::udp::checksum_field(pseudo, out.subspan(l4)));
        }  // else zero, from the template
        break;
      }
      case wire::encapsulation::nvgre: {
        o.outer_l4_len = wire::nvgre::header_size;
        const std::uint8_t flow = options_.nvgre_flow_id ? *options_.nvgre_flow_id : simd::nvgre_flow_id(hash);
        wire::store_be32(out, tun, static_cast<std::uint32_t>(tunnel_id) << 8 | flow);
        break;
      }
      case wire::encapsulation::stt: {
        o.outer_l4_len = wire::tcp::header_size;
        o.tunnel_len = wire::stt::frame_header_size;
        const auto frame_length = static_cast<std::uint32_t>(inner.size() + wire::stt::frame_header_size);
        wire::store_be16(out, l4, simd::stt_source_port(hash));
        wire::store_be32(out, l4 + 4, frame_length << 16);
        wire::store_be32(out, l4 + 8, segmenter_.next_frame_id());
        const wire::stt::frame_header fh = stt_frame_header(in, tunnel_id);
        wire::store_u8(out, tun + 1, fh.flags);
        wire::store_u8(out, tun + 2, fh.l4_offset);
        wire::store_be64(out, tun + 8, tunnel_id);
        if (checksum_type::mode == checksum_mode::offload) {
          request_l4_offload(out, o, l4, 16, pseudo);
        } else {
          wire::store_be16(out, l4 + 16, wire::checksum_finalize(wire::checksum_accumulate_dispatched(out.subspan(l4), pseudo)));
        }
        break;
      }
      case wire::encapsulation::none: break;
    }
    pkt.set_offload(o);
    ++counters_.encapsulated;
    v.act = action::forward;
    v.tenant = static_cast<std::uint32_t>(tunnel_id);
    v.encap = encap;
  }

  // The STT frame header for an inner frame: V and T from the inner headers,
  // the L4 offset (from the inner frame's start) when its L4 header is known.
  // C and P stay clear: a tenant's frame comes with no checksum verdict.
  [[nodiscard]] static wire::stt::frame_header stt_frame_header(const inner_headers& in,
                                                                std::uint64_t context) noexcept {
    wire::stt::frame_header h;
    if (in.ip_version == 4) h.flags |= wire::stt::flag_ipv4;
    if (in.protocol == wire::ipv4::protocol_tcp && in.l4_len != 0) h.flags |= wire::stt::flag_tcp;
    h.l4_offset = in.l4_len != 0 ? static_cast<std::uint8_t>(in.l2_len + in.l3_len) : 0;
    h.context_id = context;
    return h;
  }

  // An STT frame larger than one underlay packet. Offload mode: one TSO
  // super-segment in place (the headers into pkt's headroom; the NIC cuts
  // it). Otherwise: verdict segment, or with segments given, the segments
  // into them (stt::segmenter). The segment template is the endpoint's
  // template up to the TCP header with this frame's TTL and DF.
  template <packet_buffer B>
  void push_segmented(B& pkt, const header_template& t, const inner_headers& in, std::uint64_t tunnel_id,
                      std::uint32_t hash, std::uint8_t tos, std::uint8_t ttl, bool df,
                      const wire::mac_address* new_dst_mac, segments_of<B>* segments, verdict& v) noexcept {
    constexpr std::size_t l3 = wire::ethernet::header_size;
    std::array<std::byte, stt::max_template_size> headers;
    const std::size_t n = t.tunnel_offset;
    std::memcpy(headers.data(), t.bytes.data(), n);
    const wire::bytes h(headers.data(), n);
    if (t.ip_version == 4) {
      wire::store_u8(h, l3 + 8, ttl);
      wire::store_be16(h, l3 + 6, df ? wire::ipv4::flag_dont_fragment : 0);
    } else {
      wire::store_u8(h, l3 + 7, ttl);
    }
    const auto st = stt::make_segment_template(h, options_.underlay_mtu);
    if (!st) return drop(v, drop_reason::underlay_mtu_too_small);
    const std::size_t inner_size = pkt.size();
    const stt::frame_params params{stt_frame_header(in, tunnel_id), simd::stt_source_port(hash), tos};
    offload_request o;
    o.tunnel = wire::encapsulation::stt;
    o.outer_ip_version = t.ip_version;
    o.outer_l2_len = st->ip_offset;
    o.outer_l3_len = static_cast<std::uint16_t>(st->ip_header_size());
    o.outer_l4_len = wire::tcp::header_size;
    o.inner_l2_len = in.l2_len;
    o.inner_l3_len = in.l3_len;
    o.inner_l4_len = in.l4_len;
    const auto done = [&](action act, std::size_t segments_made) noexcept {
      v.act = act;
      v.tenant = static_cast<std::uint32_t>(tunnel_id);
      v.encap = wire::encapsulation::stt;
      v.segments = static_cast<std::uint16_t>(segments_made);
    };
    if constexpr (checksum_type::mode == checksum_mode::offload) {
      const std::size_t hs = stt::offload_header_size(*st);
      if (pkt.headroom() < hs) return drop(v, drop_reason::no_headroom);
      if (new_dst_mac != nullptr) std::memcpy(pkt.data(), new_dst_mac->octets.data(), 6);
      const auto m = segmenter_.segment_offload(*st, params, inner_size, wire::bytes(pkt.data() - hs, hs));
      if (!m) return drop(v, drop_reason::inner_too_long);
      (void)pkt.prepend(hs);
      o.tunnel_len = wire::stt::frame_header_size;
      o.l4_checksum_pending = true;
      o.csum_start = m->csum_start;
      o.csum_offset = m->csum_offset;
      o.tso_segment_size = m->tso_segsz;
      pkt.set_offload(o);
      ++counters_.encapsulated;
      done(action::forward, m->segments);
    } else {
      const std::size_t count = stt::segment_count(*st, inner_size);
      if (segments == nullptr) return done(action::segment, count);
      if (segments->size() < count) return drop(v, drop_reason::stt_too_many_segments);
      for (std::size_t i = 0; i < count; ++i)
        if ((*segments)[i]->tailroom() < stt::segment_size(*st, inner_size, i)) return drop(v, drop_reason::no_headroom);
      if (new_dst_mac != nullptr) std::memcpy(pkt.data(), new_dst_mac->octets.data(), 6);
      std::size_t i = 0;
      [[maybe_unused]] const auto r = segmenter_.segment(*st, params, wire::const_bytes(pkt.data(), inner_size),
                                        [&](std::size_t size) noexcept -> wire::bytes {
                                          B& b = *(*segments)[i++];
                                          std::byte* d = b.append(size);
                                          b.set_offload(o);
                                          return d != nullptr ? wire::bytes(d, size) : wire::bytes{};
                                        });
      NVO_ASSERT(r.has_value());  // room was checked above
      counters_.stt_segments_out += count;
      ++counters_.encapsulated;
      done(action::forward, count);
    }
  }

  static void request_l4_offload(wire::bytes out, offload_request& o, std::size_t l4, std::size_t field,
                                 std::uint64_t pseudo) noexcept {
    wire::store_be16(out, l4 + field, wire::checksum_fold(pseudo));
    o.l4_checksum_pending = true;
    o.csum_start = static_cast<std::uint16_t>(l4);
    o.csum_offset = static_cast<std::uint16_t>(field);
  }

  // The template copy, at a size the compiler knows when the policies fix it.
  NVO_ALWAYS_INLINE static void copy_template(std::byte* dst, const header_template& t) noexcept {
    constexpr auto e = encap_type::kind;
    constexpr auto v = underlay_type::version;
    if constexpr (e != wire::encapsulation::none && v != 0) {
      constexpr std::size_t l4 = wire::ethernet::header_size + (v == 4 ? wire::ipv4::min_header_size : wire::ipv6::header_size);
      constexpr std::size_t n = l4 + (e == wire::encapsulation::vxlan   ? wire::udp::header_size + wire::vxlan::header_size
                                      : e == wire::encapsulation::nvgre ? wire::nvgre::header_size
                                                                        : wire::tcp::header_size + wire::stt::frame_header_size);
      NVO_ASSERT(t.size == n);
      std::memcpy(dst, t.bytes.data(), n);
    } else {
      std::memcpy(dst, t.bytes.data(), t.size);
    }
  }


  pipeline_options options_;
  lookup_type lookup_;
  const templates_type* templates_;
  entropy_type entropy_;
  std::uint16_t ipv4_id_;
  std::uint32_t now_s_ = 0;
  std::chrono::nanoseconds now_{0};
  // STT: this instance's frame ids and IPv4 ids for segmented frames, and its
  // reassembly state (both per thread, like the counters).
  stt::segmenter segmenter_;
  std::unique_ptr<stt::reassembler> reassembler_;
  std::array<table::l2_key, max_burst> scratch_keys_{};
  std::array<table::tunnel_endpoint, max_burst> scratch_eps_{};
  wire::dissect_options dissect_options_;
  pipeline_counters counters_{};
};

}  // namespace pipeline
NVO_END_NAMESPACE
