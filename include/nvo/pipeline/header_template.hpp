// File: nvo/pipeline/header_template.hpp
// Per-endpoint outer header templates, built once on the control path and
// copied in front of every packet, as OVS (tnl_push_data) and VPP (the
// rewrite string of a tunnel adjacency) do.
//
// A template is the outer Ethernet + IPv4/IPv6 + UDP/GRE/TCP + tunnel header
// to one remote endpoint, with every field that is constant per endpoint
// already in place. Per packet the pipeline copies it and writes only what
// changes: lengths, the IPv4 identification, TOS/traffic class, TTL/hop limit
// and DF (from the pipeline's header_rules and the inner packet), the entropy
// field, the tunnel id and the checksums. The IPv4 header checksum starts from
// ip_sum, the sum of the constant words, and the UDP/TCP checksum from
// pseudo_sum, the constant part of the pseudo-header; neither is recomputed
// from the addresses per packet.
//
// WHERE TEMPLATES LIVE AND HOW READERS SEE THEM
//   endpoint_templates is a lock-free map {remote PA, encapsulation} ->
//   immutable header_template, a basic_table whose value is the template's
//   address. set() builds a new template and publishes its address with the
//   table's release store (basic_table W2/W3); a reader that loads the address
//   (acquire side, R4) sees the template's bytes complete. A template is never
//   written after publication: re-pointing an endpoint (new next-hop MAC, new
//   local address) publishes a new one and retires the old one through the
//   reclaimer, which frees it once every reader has passed a quiescent state.
//   So a reader never sees a torn template, and the pointer it loaded stays
//   valid until its next quiescent state (same guarantee as flood lists).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "nvo/config.hpp"
#include "nvo/table/basic_table.hpp"
#include "nvo/table/reclaim.hpp"
#include "nvo/wire/address.hpp"
#include "nvo/wire/encapsulation.hpp"
#include "nvo/wire/ethernet.hpp"
#include "nvo/wire/gre.hpp"
#include "nvo/wire/ipv4.hpp"
#include "nvo/wire/ipv6.hpp"
#include "nvo/wire/nvgre.hpp"
#include "nvo/wire/stt.hpp"
#include "nvo/wire/tcp.hpp"
#include "nvo/wire/udp.hpp"
#include "nvo/wire/vxlan.hpp"

NVO_BEGIN_NAMESPACE
namespace pipeline {

// One remote tunnel endpoint as the control plane describes it. The embedder
// resolves the underlay next hop (nvo sends no ARP/ND on the underlay).
struct endpoint_config {
  wire::ip_address local{};   // this VTEP's PA, same family as remote
  wire::ip_address remote{};  // the remote VTEP's PA (or a multicast group)
  wire::mac_address local_mac{};
  wire::mac_address next_hop_mac{};  // the underlay next hop towards remote
  wire::encapsulation encap = wire::encapsulation::vxlan;
  std::uint16_t vxlan_port = wire::vxlan::default_port;  // UDP destination port (Linux: dstport)
};

struct alignas(64) header_template {
  static constexpr std::size_t max_size = 96;  // STT over IPv6: 14 + 40 + 20 + 18

  std::array<std::byte, max_size> bytes{};
  std::uint8_t size = 0;       // bytes to copy in front of the inner frame
  std::uint8_t l4_offset = 0;  // UDP, GRE or TCP header
  std::uint8_t tunnel_offset = 0;  // VXLAN header, GRE key word, STT frame header
  std::uint8_t ip_version = 0;
  wire::encapsulation encap = wire::encapsulation::none;
  // IPv4: sum of the header's 16-bit words with total length, identification,
  // TOS, TTL, the flags word and the checksum zero.
  std::uint32_t ip_sum = 0;
  // The pseudo-header without its length: addresses and protocol.
  std::uint32_t pseudo_sum = 0;
  wire::ip_address remote{};
};

// build_template(): the template for cfg; errors name the bad field.
[[nodiscard]] inline absl::Status build_template(const endpoint_config& cfg, header_template& t) {
  namespace w = wire;
  if (cfg.remote.version != 4 && cfg.remote.version != 6)
    return absl::InvalidArgumentError("nvo endpoint: remote PA must be IPv4 or IPv6");
  if (cfg.local.version != cfg.remote.version)
    return absl::InvalidArgumentError("nvo endpoint: local and remote PA must be the same IP version");
  std::uint8_t protocol = 0;
  std::size_t l4_size = 0;
  switch (cfg.encap) {
    case w::encapsulation::vxlan: protocol = w::ipv4::protocol_udp; l4_size = w::udp::header_size + w::vxlan::header_size; break;
    case w::encapsulation::nvgre: protocol = w::ipv4::protocol_gre; l4_size = w::nvgre::header_size; break;
    case w::encapsulation::stt: protocol = w::ipv4::protocol_tcp; l4_size = w::tcp::header_size + w::stt::frame_header_size; break;
    case w::encapsulation::none: return absl::InvalidArgumentError("nvo endpoint: encapsulation must be vxlan, nvgre or stt");
  }
  t = header_template{};
  const w::bytes out(t.bytes.data(), t.bytes.size());
  w::ethernet::header eth{cfg.next_hop_mac, cfg.local_mac, false, 0,
                          cfg.remote.is_v4() ? w::ethernet::ethertype_ipv4 : w::ethernet::ethertype_ipv6};
  (void)w::ethernet::encode(eth, out);
  const std::size_t l3 = w::ethernet::header_size;
  std::size_t l4 = 0;
  if (cfg.remote.is_v4()) {
    // Written field by field: the per-packet fields stay zero so that ip_sum
    // is the sum of the constant ones.
    w::store_u8(out, l3, 0x45);
    w::store_u8(out, l3 + 9, protocol);
    w::store_raw(out, l3 + 12, cfg.local.v4().octets);
    w::store_raw(out, l3 + 16, cfg.remote.v4().octets);
    t.ip_sum = static_cast<std::uint32_t>(w::checksum_accumulate(out.subspan(l3, w::ipv4::min_header_size)));
    t.pseudo_sum = static_cast<std::uint32_t>(w::pseudo_header_sum(cfg.local.v4(), cfg.remote.v4(), protocol, 0));
    l4 = l3 + w::ipv4::min_header_size;
  } else {
    w::store_be32(out, l3, 0x60000000u);
    w::store_u8(out, l3 + 6, protocol);
    w::store_raw(out, l3 + 8, cfg.local.v6().octets);
    w::store_raw(out, l3 + 24, cfg.remote.v6().octets);
    t.pseudo_sum = static_cast<std::uint32_t>(w::pseudo_header_sum(cfg.local.v6(), cfg.remote.v6(), protocol, 0));
    l4 = l3 + w::ipv6::header_size;
  }
  t.l4_offset = static_cast<std::uint8_t>(l4);
  switch (cfg.encap) {
    case w::encapsulation::vxlan:
      w::store_be16(out, l4 + 2, cfg.vxlan_port);
      (void)w::vxlan::encode(w::vxlan::header{}, out.subspan(l4 + w::udp::header_size));
      t.tunnel_offset = static_cast<std::uint8_t>(l4 + w::udp::header_size);
      break;
    case w::encapsulation::nvgre:
      (void)w::nvgre::encode(w::nvgre::header{}, out.subspan(l4));
      t.tunnel_offset = static_cast<std::uint8_t>(l4 + w::gre::base_header_size);
      break;
    case w::encapsulation::stt: {
      // Window zero, ACK|PSH: draft-davie-stt-08 3.2 (OVS sends window 65535).
      (void)w::tcp::encode(w::stt::tcp_header_of(w::stt::segment{}, true), out.subspan(l4));
      t.tunnel_offset = static_cast<std::uint8_t>(l4 + w::tcp::header_size);
      break;
    }
    case w::encapsulation::none: break;
  }
  t.size = static_cast<std::uint8_t>(l4 + l4_size);
  t.ip_version = cfg.remote.version;
  t.encap = cfg.encap;
  t.remote = cfg.remote;
  return absl::OkStatus();
}

// The lock-free {remote PA, encapsulation} -> template map (see the header
// comment for the publication protocol). Readers: find(), any thread, no
// allocation or locks. Writers: set()/remove(), one thread at a time.
template <class Reclaimer = table::reclaim::none>
class endpoint_templates {
  struct key {
    wire::ip_address remote;
    wire::encapsulation encap = wire::encapsulation::none;
    std::uint8_t reserved[2]{};
  };
  using map_t = table::basic_table<key, std::uint64_t, table::policy::reclaimer<Reclaimer>>;

 public:
  using reclaimer_type = Reclaimer;

  explicit endpoint_templates(table::table_options o = {.capacity = 256})
    requires std::default_initializable<Reclaimer>
      : owned_(std::make_unique<Reclaimer>()), rec_(owned_.get()), map_(o, *rec_) {}
  endpoint_templates(table::table_options o, Reclaimer& r) : rec_(&r), map_(o, r) {}
  endpoint_templates(const endpoint_templates&) = delete;
  endpoint_templates& operator=(const endpoint_templates&) = delete;
  ~endpoint_templates() {
    map_.for_each([](const key&, std::uint64_t p) { delete to_template(p); });  // retired ones belong to the reclaimer
  }

  // find(): the template to remote for encap, or nullptr; valid until the
  // calling reader's next quiescent state.
  [[nodiscard]] const header_template* find(const wire::ip_address& remote, wire::encapsulation encap) const noexcept {
    std::uint64_t p = 0;
    return map_.find(make_key(remote, encap), p) ? to_template(p) : nullptr;
  }

  // find_any(): a template to remote, trying VXLAN, NVGRE, then STT (for
  // flood lists, which name remotes only).
  [[nodiscard]] const header_template* find_any(const wire::ip_address& remote) const noexcept {
    for (auto e : {wire::encapsulation::vxlan, wire::encapsulation::nvgre, wire::encapsulation::stt})
      if (const header_template* t = find(remote, e)) return t;
    return nullptr;
  }

  // set(): builds and publishes the template for cfg, replacing (and
  // retiring) any previous one for the same remote and encapsulation.
  [[nodiscard]] absl::Status set(const endpoint_config& cfg) {
    auto t = std::make_unique<header_template>();
    if (auto st = build_template(cfg, *t); !st.ok()) return st;
    const key k = make_key(cfg.remote, cfg.encap);
    std::uint64_t old = 0;
    const bool had = map_.find(k, old);
    if (auto st = map_.insert_or_assign(k, reinterpret_cast<std::uint64_t>(t.get())); !st.ok()) return st;
    t.release();
    if (had) retire(old);
    return absl::OkStatus();
  }
  [[nodiscard]] absl::Status remove(const wire::ip_address& remote, wire::encapsulation encap) {
    const key k = make_key(remote, encap);
    std::uint64_t old = 0;
    if (!map_.find(k, old)) return absl::NotFoundError("nvo endpoint: no template for that remote and encapsulation");
    if (auto st = map_.erase(k); !st.ok()) return st;
    retire(old);
    return absl::OkStatus();
  }
  [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }

 private:
  static key make_key(const wire::ip_address& remote, wire::encapsulation encap) noexcept {
    key k;
    k.remote = remote;
    k.encap = encap;
    return k;
  }
  static const header_template* to_template(std::uint64_t p) noexcept {
    return reinterpret_cast<const header_template*>(p);
  }
  void retire(std::uint64_t p) {
    rec_->retire(reinterpret_cast<void*>(p), [](void* q) { delete static_cast<header_template*>(q); });
  }

  std::unique_ptr<Reclaimer> owned_;
  Reclaimer* rec_;
  map_t map_;
};

}  // namespace pipeline
NVO_END_NAMESPACE
