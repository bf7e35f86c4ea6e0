// nvo-vtep-dpdk: nvo-vtep (nvo_vtep.cpp) with DPDK ports. The inner side is a
// net_tap vdev (the PMD creates the TAP device), the underlay a net_af_packet
// vdev on an interface; the pipelines run on the mbufs themselves through
// nvo::dpdk::mbuf_buffer: rte_eth_rx_burst, encapsulate/decapsulate in place,
// rte_eth_tx_burst. One lcore (the main thread) owns both ports, the
// pipelines and the forwarding table. EAL runs without hugepages, shared
// files or PCI, with a file prefix of its own, so instances in several
// network namespaces can run at once.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "nvo/dpdk/mbuf.hpp"
#include "nvo/pipeline/reply.hpp"
#include "nvo/wire/ethernet.hpp"
#include "tunnel.hpp"
#include "vtep/vtep_common.hpp"

namespace {

namespace np = nvo::pipeline;
namespace wire = nvo::wire;
using nvo::dpdk::mbuf_buffer;
using nvo_examples::config_error;
using namespace nvo_examples::vtep;
using encapsulator = nvo_examples::basic_encapsulator<mbuf_buffer>;
using decapsulator = nvo_examples::basic_decapsulator<mbuf_buffer>;

constexpr std::uint16_t burst_size = 32;
// Every mbuf holds the largest frame (data room is 16 bits): Linux hands a
// packet socket GSO and GRO super-frames up to 64 KB (the kernel's VXLAN over
// a veth sends TCP that way, unsegmented), and a reassembled STT frame is
// delivered in its last segment's mbuf. Small frames waste the room; this is
// an example, not a memory budget. The pool covers the TAP's RX ring, bursts
// in flight, flood copies and STT segments.
constexpr std::uint16_t data_room = 65535 & ~std::uint16_t{63};
constexpr unsigned pool_mbufs = 1023;
constexpr unsigned pool_cache = 32;
constexpr std::uint16_t tap_rx_descriptors = 64;
constexpr std::uint16_t af_packet_descriptors = 128;  // ignored by net_af_packet (its ring is framecnt)
// net_af_packet's ring: frames as large as the mbufs take (the frame less
// its tpacket2 header fits data_room less the headroom), back to back (the
// PMD indexes frame i at i * framesz, so a block holds a whole number of
// them: 16 of 65280 bytes make 255 pages).
constexpr unsigned af_packet_frame = 65280;
constexpr unsigned af_packet_block = 16 * af_packet_frame;
constexpr unsigned af_packet_frames = 128;
static_assert(af_packet_frame - (TPACKET2_HDRLEN - sizeof(sockaddr_ll)) <= data_room - RTE_PKTMBUF_HEADROOM);
static_assert(af_packet_block % 4096 == 0 && af_packet_frames % (af_packet_block / af_packet_frame) == 0);
static_assert(RTE_PKTMBUF_HEADROOM >= 128, "the pipeline prepends up to header_template::max_size bytes");

constexpr std::string_view description = R"(nvo-vtep-dpdk: nvo-vtep with DPDK ports. Frames from a TAP device (a net_tap
vdev, which creates it) are encapsulated by the nvo pipeline CONFIG describes
(the TOML format of nvo-pcap, see examples/data/vtep-a.toml) and sent on the
underlay interface through a net_af_packet vdev; tunnel packets received there
are decapsulated (learning as configured) and sent to the TAP. The pipeline
works on the mbufs in place. EAL starts with --no-huge --no-pci --no-shconf and
a file prefix of its own (--eal-args adds options).

SIGINT or SIGTERM stops it; it then prints one final counters line:
  nvo-vtep final: encapsulated=N decapsulated=N flooded=N replicas=N ...
    learned=N aged=N ... drop.REASON=N (one per nvo::pipeline::drop_reason seen)

exit status: 0 after a signal, 1 when CONFIG is bad or a device cannot be
opened (no such interface, no permission, EAL refused), 2 on a usage error.
)";

[[noreturn]] void fail_rte(std::string_view what, int err) {
  std::string msg = fmt::format("{}: {}", what, rte_strerror(err < 0 ? -err : err));
  throw tool_error(msg);
}

// CHECKSUM_PARTIAL frames from the local stack. A frame a Linux stack sends
// with checksum offload (the kernel's VXLAN over a veth, a TCP/UDP socket in
// the peer namespace) is CHECKSUM_PARTIAL: its UDP/TCP checksum field holds
// only the pseudo-header sum, and the kernel says so to packet sockets
// (TP_STATUS_CSUMNOTREADY, which nvo-vtep trusts as the kernel's own receive
// path does). net_af_packet (DPDK 22.11) copies frames out of its ring
// without tp_status: such a frame arrives with ol_flags 0
// (RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN) and software verification rejects it
// (udp_bad_checksum). Here a checksum field equal to the pseudo-header sum
// (rte_ipv4/ipv6_phdr_cksum, which is what Linux leaves there) is taken as
// that state. A correct frame with that field is correct either way; a
// corrupted one passes only if its field happens to be that value (2^-16).
struct l4_checksum {
  std::byte* ip = nullptr;
  std::byte* l4 = nullptr;
  std::byte* field = nullptr;  // the UDP/TCP checksum
  bool v6 = false;
  bool udp = false;
};

// The UDP/TCP checksum of an untagged Ethernet frame, if it has one.
std::optional<l4_checksum> find_l4_checksum(std::byte* f, std::size_t len) noexcept {
  constexpr std::size_t l2 = RTE_ETHER_HDR_LEN;
  if (len < l2 + sizeof(rte_ipv4_hdr)) return std::nullopt;
  std::uint16_t type_be = 0;
  std::memcpy(&type_be, f + 12, 2);
  l4_checksum c{.ip = f + l2};
  std::uint8_t proto = 0;
  std::size_t l4_off = 0, l3_end = 0;
  if (type_be == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(c.ip);  // packed: any alignment
    const std::size_t ihl = rte_ipv4_hdr_len(ip);
    const std::size_t total = rte_be_to_cpu_16(ip->total_length);
    if ((ip->version_ihl >> 4) != 4 || ihl < 20 || total < ihl || l2 + total > len) return std::nullopt;
    if ((rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
      return std::nullopt;
    proto = ip->next_proto_id;
    l4_off = l2 + ihl;
    l3_end = l2 + total;
  } else if (type_be == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
    if (len < l2 + sizeof(rte_ipv6_hdr)) return std::nullopt;
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(c.ip);
    c.v6 = true;
    proto = ip->proto;  // extension headers: not looked into
    l4_off = l2 + sizeof(rte_ipv6_hdr);
    l3_end = l4_off + rte_be_to_cpu_16(ip->payload_len);
    if (l3_end > len) return std::nullopt;
  } else {
    return std::nullopt;
  }
  c.udp = proto == IPPROTO_UDP;
  const std::size_t header = c.udp ? 8 : 20, at = c.udp ? 6 : 16;
  if ((!c.udp && proto != IPPROTO_TCP) || l4_off + header > l3_end) return std::nullopt;
  c.l4 = f + l4_off;
  c.field = c.l4 + at;
  return c;
}

[[nodiscard]] bool holds_pseudo_header_sum(const l4_checksum& c) noexcept {
  std::uint16_t field = 0;
  std::memcpy(&field, c.field, 2);
  if (field == 0) return false;  // UDP without a checksum
  const std::uint16_t phdr = c.v6 ? rte_ipv6_phdr_cksum(reinterpret_cast<const rte_ipv6_hdr*>(c.ip), 0)
                                  : rte_ipv4_phdr_cksum(reinterpret_cast<const rte_ipv4_hdr*>(c.ip), 0);
  return field == phdr;
}

// An underlay frame left CHECKSUM_PARTIAL by the peer's stack: its outer
// checksum counts as verified (RTE_MBUF_F_RX_L4_CKSUM_GOOD), as
// TP_STATUS_CSUMNOTREADY does for nvo-vtep. Either the outer checksum is the
// partial one, or (local checksum offload, the kernel's VXLAN with an inner
// TCP/UDP checksum pending) the outer one is complete only once the inner one
// is, and the inner one is partial. The latter is looked for in VXLAN only
// (in STT only the first segment has the inner headers).
void trust_partial_checksum(rte_mbuf* m, std::uint16_t vxlan_port) noexcept {
  std::byte* const f = rte_pktmbuf_mtod(m, std::byte*);
  const std::size_t len = m->data_len;
  const auto c = find_l4_checksum(f, len);
  if (!c) return;
  bool partial = holds_pseudo_header_sum(*c);
  if (!partial && c->udp && static_cast<std::size_t>(c->l4 - f) + 16 <= len) {
    std::uint16_t port_be = 0;
    std::memcpy(&port_be, c->l4 + 2, 2);
    if (rte_be_to_cpu_16(port_be) == vxlan_port) {
      std::byte* const inner = c->l4 + 16;  // after UDP and VXLAN
      const auto ic = find_l4_checksum(inner, len - static_cast<std::size_t>(inner - f));
      partial = ic && holds_pseudo_header_sum(*ic);
    }
  }
  if (partial) m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
}

// A decapsulated frame whose inner checksum was left partial (the peer's
// VXLAN sent it with local checksum offload: the outer checksum is complete,
// the inner one is not): completed in software before the TAP, as the kernel
// does for a device without checksum offload (skb_checksum_help).
void complete_partial_checksum(const l4_checksum& c) noexcept {
  if (!holds_pseudo_header_sum(c)) return;
  std::memset(c.field, 0, 2);
  const std::uint16_t sum = c.v6 ? rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(c.ip), c.l4)
                                 : rte_ipv4_udptcp_cksum(reinterpret_cast<const rte_ipv4_hdr*>(c.ip), c.l4);
  std::memcpy(c.field, &sum, 2);
}

// Frames for one port, sent a burst at a time; what the PMD refuses is freed
// and counted.
class tx_queue {
 public:
  tx_queue(std::uint16_t port, std::uint64_t& errors) : port_(port), errors_(&errors) {}
  void push(rte_mbuf* m) noexcept {
    if (n_ == burst_size) flush();
    pkts_[n_++] = m;
  }
  void flush() noexcept {
    if (n_ == 0) return;
    const std::uint16_t sent = rte_eth_tx_burst(port_, 0, pkts_.data(), n_);
    if (sent < n_) {
      rte_pktmbuf_free_bulk(pkts_.data() + sent, n_ - sent);
      *errors_ += n_ - sent;
    }
    n_ = 0;
  }

 private:
  std::uint16_t port_;
  std::uint64_t* errors_;
  std::array<rte_mbuf*, burst_size> pkts_{};
  std::uint16_t n_ = 0;
};

// Fresh mbufs as packet buffers (empty, RTE_PKTMBUF_HEADROOM of headroom):
// flood copies and STT segments. Storage reserved once; no allocation per
// packet beyond the mempool gets.
class mbuf_set {
 public:
  explicit mbuf_set(std::size_t capacity) : mbufs_(capacity), bufs_(capacity), ptrs_(capacity) {}
  [[nodiscard]] std::size_t capacity() const { return mbufs_.size(); }
  // n fresh mbufs, or false (pool empty: nothing taken).
  bool get(rte_mempool* pool, std::size_t n) noexcept {
    n = std::min(n, capacity());
    if (rte_pktmbuf_alloc_bulk(pool, mbufs_.data(), static_cast<unsigned>(n)) != 0) return false;
    for (std::size_t i = 0; i < n; ++i) {
      bufs_[i] = nvo::dpdk::adapt(mbufs_[i]).buffer;  // fresh: one segment, refcnt 1
      ptrs_[i] = &bufs_[i];
    }
    n_ = n;
    return true;
  }
  [[nodiscard]] std::span<mbuf_buffer* const> buffers() const { return {ptrs_.data(), n_}; }
  // Mbuf i to q; the ones not taken are freed by release().
  void take(std::size_t i, tx_queue& q) noexcept {
    q.push(mbufs_[i]);
    mbufs_[i] = nullptr;
  }
  void release() noexcept {
    for (std::size_t i = 0; i < n_; ++i)
      if (mbufs_[i] != nullptr) rte_pktmbuf_free(mbufs_[i]);
    n_ = 0;
  }

 private:
  std::vector<rte_mbuf*> mbufs_;
  std::vector<mbuf_buffer> bufs_;
  std::vector<mbuf_buffer*> ptrs_;
  std::size_t n_ = 0;
};

class vtep {
 public:
  vtep(nvo_examples::vtep_state& s, rte_mempool* pool, std::uint16_t tap_port, std::uint16_t underlay_port,
       std::optional<std::uint32_t> vni, bool tap_tso)
      : state_(s),
        tap_tso_(tap_tso),
        pool_(pool),
        tap_port_(tap_port),
        underlay_port_(underlay_port),
        vni_(vni),
        enc_(nvo_examples::make_encapsulator<mbuf_buffer>(s)),
        dec_(nvo_examples::make_decapsulator<mbuf_buffer>(s)),
        to_underlay_(underlay_port, c_.tx_errors),
        to_tap_(tap_port, c_.tap_errors),
        copies_(flood_fanout(s.config)),
        copy_verdicts_(copies_.capacity()),
        segments_(max_segments(s.options.underlay_mtu)) {
    (void)rte_eth_macaddr_get(underlay_port, &underlay_mac_);
    std::uint16_t mtu = RTE_ETHER_MTU;
    (void)rte_eth_dev_get_mtu(tap_port, &mtu);  // DPDK's MTU of the port (net_tap's TX limit), not the kernel's
    tap_mtu_ = mtu;
  }

  vtep(const vtep&) = delete;
  vtep& operator=(const vtep&) = delete;

  // One burst from each port; returns how many frames came in.
  std::uint16_t poll() noexcept {
    const std::uint16_t u = underlay_burst();
    const std::uint16_t t = tap_burst();
    return static_cast<std::uint16_t>(u + t);
  }

  void tick(std::uint32_t now) noexcept {
    now_ = now;
    if (now != last_age_) {
      c_.aged += state_.fdb.age(now);
      rte_eth_stats st{};
      if (rte_eth_stats_get(underlay_port_, &st) == 0) c_.underlay_drops = st.imissed + st.rx_nombuf;  // cumulative
      last_age_ = now;
    }
  }

  [[nodiscard]] std::string counters_line() const {
    return nvo_examples::vtep::counters_line(enc_->counters(), dec_->counters(), c_, state_.fdb.size());
  }

 private:

  // The mbuf as a pipeline buffer; a chained one (a frame in more than one
  // mbuf) is counted and freed.
  nvo::dpdk::adapt_result adapt_or_free(rte_mbuf* m) noexcept {
    const nvo::dpdk::adapt_result a = nvo::dpdk::adapt(m);
    if (!a) {
      ++c_.truncated;
      rte_pktmbuf_free(m);
    }
    return a;
  }

  // Underlay -> TAP.
  std::uint16_t underlay_burst() noexcept {
    std::array<rte_mbuf*, burst_size> pkts{};
    const std::uint16_t n = rte_eth_rx_burst(underlay_port_, 0, pkts.data(), burst_size);
    if (n == 0) return 0;
    std::array<mbuf_buffer, burst_size> bufs{};
    std::array<mbuf_buffer*, burst_size> burst{};
    std::size_t k = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
      const nvo::dpdk::adapt_result a = adapt_or_free(pkts[i]);
      if (!a) continue;
      if (outgoing(pkts[i])) {
        ++c_.outgoing_ignored;
        rte_pktmbuf_free(pkts[i]);
        continue;
      }
      trust_partial_checksum(pkts[i], state_.options.vxlan_port);
      bufs[k] = a.buffer;
      burst[k] = &bufs[k];
      ++k;
    }
    std::array<np::verdict, burst_size> v{};
    dec_->set_time(now_);
    dec_->decapsulate({burst.data(), k}, {v.data(), k});
    for (std::size_t i = 0; i < k; ++i) {
      if (v[i].ok()) {
        if (fits_tap(bufs[i].mbuf()))
          to_tap_.push(bufs[i].mbuf());  // the inner frame
        else {
          ++c_.tap_errors;
          rte_pktmbuf_free(bufs[i].mbuf());
        }
      } else
        rte_pktmbuf_free(bufs[i].mbuf());  // held (the reassembler copied it) or dropped: counted by the pipeline
    }
    to_tap_.flush();
    return n;
  }

  // A decapsulated frame's checksum completed if partial, and a frame larger
  // than the TAP's MTU (a GSO super-frame the peer's kernel sent unsegmented
  // across a veth: Linux gives packet sockets those whole) marked for
  // net_tap's software TSO if it is TCP; false: too large and not TCP (net_tap
  // would stop the burst at it).
  bool fits_tap(rte_mbuf* m) noexcept {
    const std::size_t limit = std::size_t{tap_mtu_} + RTE_ETHER_HDR_LEN;
    const auto c = find_l4_checksum(rte_pktmbuf_mtod(m, std::byte*), m->data_len);
    if (m->data_len <= limit) {
      if (c) complete_partial_checksum(*c);
      return true;
    }
    if (!tap_tso_ || !c || c->udp) return false;
    m->l2_len = RTE_ETHER_HDR_LEN;
    m->l3_len = static_cast<std::uint64_t>(c->l4 - c->ip) & 0x1FF;
    m->l4_len = (std::to_integer<unsigned>(c->l4[12]) >> 4) * 4;
    // net_tap wants segments (Ethernet header included) within its MTU.
    const std::size_t headers = m->l2_len + m->l3_len + m->l4_len;
    if (headers + 64 > tap_mtu_) return false;
    m->tso_segsz = static_cast<std::uint16_t>(tap_mtu_ - headers);
    m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM |
                   (c->v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
    return true;
  }

  // net_af_packet delivers the frames the underlay interface sends too (the
  // kernel's own: ARP, ICMP errors); not ours (the PMD's socket skips its own
  // sends). PACKET_OUTGOING is not passed on: they are the frames from the
  // interface's own MAC.
  [[nodiscard]] bool outgoing(const rte_mbuf* m) const noexcept {
    return m->data_len >= RTE_ETHER_HDR_LEN &&
           std::memcmp(rte_pktmbuf_mtod(m, const std::uint8_t*) + 6, underlay_mac_.addr_bytes, 6) == 0;
  }

  // TAP -> underlay.
  std::uint16_t tap_burst() noexcept {
    std::array<rte_mbuf*, burst_size> pkts{};
    const std::uint16_t n = rte_eth_rx_burst(tap_port_, 0, pkts.data(), burst_size);
    if (n == 0) return 0;
    std::array<std::optional<std::uint32_t>, burst_size> tenant{};
    std::size_t k = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
      const nvo::dpdk::adapt_result a = adapt_or_free(pkts[i]);
      if (!a) continue;
      bufs_[k] = a.buffer;
      burst_[k] = &bufs_[k];
      // As received, for build_too_big (the pipeline may have moved data_off).
      rx_off_[k] = pkts[i]->data_off;
      rx_len_[k] = pkts[i]->data_len;
      tenant[k] = tenant_of(state_.config, vni_, {bufs_[k].data(), bufs_[k].size()});
      ++k;
    }
    // Runs of one tenant go through the pipeline as one burst.
    for (std::size_t begin = 0; begin < k;) {
      std::size_t end = begin + 1;
      while (end < k && tenant[end] == tenant[begin]) ++end;
      if (tenant[begin]) {
        encapsulate(begin, end, *tenant[begin]);
      } else {
        c_.unknown_tenant += end - begin;
        for (std::size_t i = begin; i < end; ++i) rte_pktmbuf_free(bufs_[i].mbuf());
      }
      begin = end;
    }
    to_underlay_.flush();
    to_tap_.flush();
    return n;
  }

  void encapsulate(std::size_t begin, std::size_t end, std::uint32_t tenant) noexcept {
    const std::size_t n = end - begin;
    std::array<np::verdict, burst_size> v{};
    enc_->encapsulate({burst_.data() + begin, n}, tenant, {v.data(), n});
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = begin + i;
      rte_mbuf* m = bufs_[j].mbuf();
      switch (v[i].act) {
        case np::action::forward: to_underlay_.push(m); continue;
        case np::action::reply: to_tap_.push(m); continue;
        case np::action::flood: flood(bufs_[j], tenant); break;
        case np::action::segment: segment(bufs_[j], tenant, v[i].segments); break;
        case np::action::too_big: too_big(j, v[i].mtu); break;
        case np::action::held:
        case np::action::drop: break;  // counted by the pipeline
      }
      rte_pktmbuf_free(m);
    }
  }

  // Head-end replication (or one group copy) into fresh mbufs.
  void flood(const mbuf_buffer& inner, std::uint32_t tenant) noexcept {
    if (!copies_.get(pool_, copies_.capacity())) {
      ++c_.tx_errors;
      return;
    }
    const std::size_t made = enc_->flood(inner, tenant, copies_.buffers(), copy_verdicts_);
    for (std::size_t j = 0; j < made; ++j)
      if (copy_verdicts_[j].ok()) copies_.take(j, to_underlay_);
    copies_.release();
  }

  void segment(mbuf_buffer& inner, std::uint32_t tenant, std::size_t needed) noexcept {
    // Fewer than needed (a frame beyond max_segments): the pipeline refuses
    // with stt_too_many_segments.
    if (!segments_.get(pool_, needed)) {
      ++c_.tx_errors;
      return;
    }
    const np::verdict sv = enc_->segment(inner, tenant, segments_.buffers());
    if (sv.ok()) {
      for (std::size_t j = 0; j < sv.segments; ++j) segments_.take(j, to_underlay_);
      c_.segments += sv.segments;
    }
    segments_.release();
  }

  // ICMP "too big" / "fragmentation needed" for frame j, as received, back to the TAP.
  void too_big(std::size_t j, std::uint16_t mtu) noexcept {
    rte_mbuf* in = bufs_[j].mbuf();
    const std::span<const std::byte> frame(static_cast<const std::byte*>(in->buf_addr) + rx_off_[j], rx_len_[j]);
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) {
      ++c_.tap_errors;
      return;
    }
    const auto room = static_cast<std::uint16_t>(std::min<std::size_t>(rte_pktmbuf_tailroom(m), 1600));
    auto* out = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, room));
    const auto len = np::build_too_big(frame, mtu, {out, room});
    if (!len) {  // not an IP frame, an ICMP error, a multicast source
      rte_pktmbuf_free(m);
      return;
    }
    (void)rte_pktmbuf_trim(m, static_cast<std::uint16_t>(room - *len));
    to_tap_.push(m);
    ++c_.too_big_messages;
  }

  nvo_examples::vtep_state& state_;
  bool tap_tso_;
  std::uint16_t tap_mtu_ = RTE_ETHER_MTU;
  rte_mempool* pool_;
  std::uint16_t tap_port_;
  std::uint16_t underlay_port_;
  rte_ether_addr underlay_mac_{};
  std::optional<std::uint32_t> vni_;
  std::unique_ptr<encapsulator> enc_;
  std::unique_ptr<decapsulator> dec_;
  counters c_;
  tx_queue to_underlay_, to_tap_;
  // The TAP burst being encapsulated.
  std::array<mbuf_buffer, burst_size> bufs_{};
  std::array<mbuf_buffer*, burst_size> burst_{};
  std::array<std::uint16_t, burst_size> rx_off_{}, rx_len_{};
  mbuf_set copies_;
  std::vector<np::verdict> copy_verdicts_;
  mbuf_set segments_;
  std::uint32_t now_ = 0;
  std::uint32_t last_age_ = 0;
};

// --lcores=0@(the CPUs this process may run on): one lcore, not pinned to
// one CPU, so instances share the machine's CPUs.
std::string lcores_arg() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string cpus;
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
  return cpus.empty() ? "--lcores=0" : "--lcores=0@(" + cpus + ")";
}

// EAL, without hugepages (anonymous memory), PCI, shared config files or
// telemetry, with a per-process file prefix: instances in different network
// namespaces (or the same one, on other interfaces) run side by side.
void start_eal(const std::string& iface, const std::string& tap, const std::string& extra) {
  std::vector<std::string> args = {"nvo-vtep-dpdk",
                                   "--no-huge",
                                   "-m",
                                   "256",
                                   "--no-pci",
                                   "--no-telemetry",
                                   "--no-shconf",
                                   fmt::format("--file-prefix=nvo-vtep-dpdk-{}", ::getpid()),
                                   lcores_arg(),
                                   "--log-level=lib.eal:error",
                                   "--log-level=pmd.*:warning",
                                   fmt::format("--vdev=net_tap0,iface={}", tap),
                                   fmt::format("--vdev=net_af_packet0,iface={},framesz={},blocksz={},framecnt={}", iface, af_packet_frame,
                                               af_packet_block, af_packet_frames)};
  std::istringstream words(extra);
  for (std::string w; words >> w;) args.push_back(w);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0)
    fail_rte("cannot start DPDK's EAL (bad --eal-args, or a vdev failed: see the log above)", rte_errno);
}

// net_tap segments in software (rte_gso) what is marked RTE_MBUF_F_TX_TCP_SEG,
// with the checksums it then computes.
constexpr std::uint64_t tso_offloads =
    RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;

std::uint16_t port_of(const char* name) {
  std::uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name, &id) != 0)
    throw tool_error(fmt::format("no DPDK port {}: its vdev failed (see the log above)", name));
  return id;
}

// TX offloads: those of `wanted` the port has (returned).
std::uint64_t start_port(std::uint16_t port, std::uint16_t descriptors, rte_mempool* pool, const char* what,
                         std::uint64_t wanted = 0) {
  rte_eth_conf conf{};
  rte_eth_dev_info info{};
  if (const int r = rte_eth_dev_info_get(port, &info); r != 0) fail_rte(fmt::format("{} info", what), r);
  conf.txmode.offloads = wanted & info.tx_offload_capa;
  if (const int r = rte_eth_dev_configure(port, 1, 1, &conf); r != 0) fail_rte(fmt::format("configure {}", what), r);
  if (const int r = rte_eth_rx_queue_setup(port, 0, descriptors, rte_eth_dev_socket_id(port), nullptr, pool); r != 0)
    fail_rte(fmt::format("RX queue of {}", what), r);
  if (const int r = rte_eth_tx_queue_setup(port, 0, descriptors, rte_eth_dev_socket_id(port), nullptr); r != 0)
    fail_rte(fmt::format("TX queue of {}", what), r);
  if (const int r = rte_eth_dev_start(port); r != 0) fail_rte(fmt::format("start {}", what), r);
  return conf.txmode.offloads;
}

// checksum = "offload" leaves the outer checksums to the port.
void check_offload(const nvo_examples::vtep_state& s, std::uint16_t port, const std::string& iface) {
  if (s.config.checksum != np::checksum_mode::offload) return;
  rte_eth_dev_info info{};
  if (const int r = rte_eth_dev_info_get(port, &info); r != 0) fail_rte("underlay port info", r);
  const std::uint64_t need = RTE_ETH_TX_OFFLOAD_OUTER_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  if ((info.tx_offload_capa & need) != need)
    throw config_error(fmt::format("{}: checksum = \"offload\", but the underlay port ({} on {}) offers no UDP/TCP "
                                   "checksum offload; use \"software\" or \"zero_udp\"",
                                   s.config.path, info.driver_name, iface));
}

int run(const options& o, const std::string& eal_args) {
  const std::string& config = o.config;
  const std::string& iface = o.underlay;
  const std::string& tap_name = o.tap;
  const std::optional<std::uint32_t> vni = o.vni;
  nvo_examples::vtep_state state(nvo_examples::load_tunnel_config(config));
  if (vni && state.config.find_vni(*vni) == nullptr)
    throw config_error(fmt::format("--vni {}: {} configures no such VNI", *vni, config));
  // Checked before EAL, whose vdev probe failure says less.
  if (::if_nametoindex(iface.c_str()) == 0)
    throw tool_error(fmt::format("underlay interface {}: {}", iface, std::strerror(errno)));
  if (tap_name.empty() || tap_name.size() >= IFNAMSIZ || tap_name.find_first_of(",= ") != std::string::npos)
    throw tool_error(fmt::format("bad TAP name: {}", tap_name));
  if (::geteuid() != 0 && ::access("/dev/net/tun", R_OK | W_OK) != 0)
    throw tool_error("cannot open /dev/net/tun (needs CAP_NET_ADMIN and CAP_NET_RAW, e.g. root)");

  start_eal(iface, tap_name, eal_args);
  // Ports closed (net_tap deletes the TAP), EAL's memory released, and its
  // runtime directory (/var/run/dpdk/PREFIX, empty under --no-shconf, which
  // rte_eal_cleanup leaves behind) removed.
  struct eal_guard {
    std::string runtime_dir = rte_eal_get_runtime_dir();
    std::vector<std::uint16_t> started;
    eal_guard() = default;
    eal_guard(const eal_guard&) = delete;
    eal_guard& operator=(const eal_guard&) = delete;
    ~eal_guard() {
      for (const std::uint16_t p : started) (void)rte_eth_dev_stop(p);
      std::uint16_t p = 0;
      RTE_ETH_FOREACH_DEV(p) (void)rte_eth_dev_close(p);
      (void)rte_eal_cleanup();
      (void)::rmdir(runtime_dir.c_str());
    }
  } cleanup;

  rte_mempool* pool = rte_pktmbuf_pool_create("nvo_vtep", pool_mbufs, pool_cache, 0, data_room, rte_socket_id());
  if (pool == nullptr) fail_rte("cannot create the mbuf pool", rte_errno);
  const std::uint16_t tap = port_of("net_tap0");
  const std::uint16_t underlay = port_of("net_af_packet0");
  check_offload(state, underlay, iface);
  // The TAP's MTU and addresses are left alone: whoever configures the TAP
  // (ip link set TAP mtu M up) does so once it appears, and the PMD only
  // brings it up on start.
  start_port(underlay, af_packet_descriptors, pool, fmt::format("net_af_packet0 on {}", iface).c_str());
  cleanup.started.push_back(underlay);
  const std::uint64_t tap_offloads = start_port(tap, tap_rx_descriptors, pool, fmt::format("net_tap0 ({})", tap_name).c_str(),
                                                tso_offloads);
  cleanup.started.push_back(tap);

  struct sigaction sa{};
  sa.sa_handler = request_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  vtep v(state, pool, tap, underlay, vni, (tap_offloads & tso_offloads) == tso_offloads);
  fmt::print(stderr, "nvo-vtep-dpdk: {} on {} <-> TAP {}\n", config, iface, tap_name);
  stats_lines stats(o.stats_interval);
  const auto line = [&v] { return v.counters_line(); };
  unsigned idle = 0;
  while (stop_requested == 0) {
    const std::uint32_t now = monotonic_seconds();
    v.tick(now);
    // Busy polling while there is traffic; once idle, short sleeps so an
    // idle instance leaves the (shared) CPUs alone.
    if (v.poll() != 0) {
      idle = 0;
    } else if (++idle > 256) {
      const timespec nap{0, 200'000};
      ::nanosleep(&nap, nullptr);
    }
    stats.tick(now, line);
  }
  stats_lines::final(line);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{std::string(description), "nvo-vtep-dpdk"};
  const command_line cl(app, "underlay interface (a net_af_packet vdev)",
                        "TAP device to create (a net_tap vdev: the inner side)");
  std::string eal_args;
  app.add_option("--eal-args", eal_args, "extra EAL options, space separated (e.g. \"--log-level=pmd.*:info\")");
  return run_main(app, cl, argc, argv, [&](const options& o) { return run(o, eal_args); });
}
