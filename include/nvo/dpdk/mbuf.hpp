// File: nvo/dpdk/mbuf.hpp
// The pipeline over DPDK mbufs: mbuf_buffer models pipeline::packet_buffer on
// one rte_mbuf, and encapsulate_burst/decapsulate_burst run a pipeline over
// the rte_mbuf* arrays rte_eth_rx_burst fills. Needs DPDK's headers
// (pkg-config libdpdk, DPDK 22.11); nvo/nvo.hpp does not include this file.
//
//   rte_mbuf* pkts[32];
//   std::array<nvo::pipeline::verdict, 32> v;
//   const uint16_t n = rte_eth_rx_burst(vm_port, 0, pkts, 32);
//   nvo::dpdk::encapsulate_burst(vtep, pkts, n, vni, v.data());
//   // v[i].ok(): send pkts[i] (rte_eth_tx_prepare, then rte_eth_tx_burst);
//   // flood: encapsulate_flood() into fresh mbufs; otherwise rte_pktmbuf_free.
//
// THE BUFFER
//   data() = rte_pktmbuf_mtod, size() = data_len; prepend/append/strip/trim
//   are rte_pktmbuf_prepend/append/adj/trim. adapt() takes only what the
//   pipeline can write in place: one segment (nb_segs == 1; chained mbufs are
//   refused, not linearized, since that would copy) whose data no other mbuf
//   shares (not a clone, refcnt 1, no shared external buffer: the pipeline
//   writes into headroom and inner headers, which a clone would see).
//   strip() also clears packet_type and the RX checksum flags: they described
//   the headers just removed, and must not vouch for the inner frame.
//
// TX OFFLOAD (set_offload, from the pipeline's offload_request)
//   The lengths are always written; ol_flags' TX bits are replaced by exactly
//   what is pending, so a finished packet carries no request (a tunnel type
//   alone would make some PMDs spend a context descriptor per packet).
//   VXLAN, NVGRE  tunnel layout: outer_l2_len, outer_l3_len = outer Ethernet,
//                 outer IP; l2_len = outer UDP/GRE + tunnel header + inner
//                 Ethernet; l3_len, l4_len = inner IP, inner TCP/UDP (0 if none).
//                 Checksum offload (VXLAN only; NVGRE has no checksum):
//                 RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_IPV4/IPV6 |
//                 RTE_MBUF_F_TX_OUTER_UDP_CKSUM (port needs
//                 RTE_ETH_TX_OFFLOAD_OUTER_UDP_CKSUM).
//   STT           a NIC sees plain TCP (that is STT's point), so no tunnel
//                 flags: l2_len, l3_len, l4_len = outer Ethernet, IP, TCP.
//                 Checksum offload: RTE_MBUF_F_TX_IPV4/IPV6 | RTE_MBUF_F_TX_TCP_CKSUM.
//                 tso_segment_size != 0: RTE_MBUF_F_TX_TCP_SEG, tso_segsz, and
//                 for IPv4 RTE_MBUF_F_TX_IP_CKSUM (TSO rewrites each segment's
//                 IP header); the TCP checksum field must then hold the
//                 pseudo-header sum without the length (DPDK's TSO convention).
//   No OUTER_IP_CKSUM / IP_CKSUM otherwise: the pipeline always writes the
//   final IPv4 header checksum, so the port needs no IPv4 checksum offload.
//   These are the flags and lengths rte_net_intel_cksum_prepare (and so
//   rte_eth_tx_prepare) reads; it writes the same pseudo-header sum the
//   pipeline already wrote.
//
// RX CHECKSUM (rx_checksum, the outer UDP/TCP verdict wire::dissect takes)
//   packet_type has a tunnel (the NIC parsed VXLAN/GRE): the RX L4 flags are
//   the inner packet's, so RTE_MBUF_F_RX_OUTER_L4_CKSUM_GOOD -> good, _BAD ->
//   bad, else unknown. Otherwise RTE_MBUF_F_RX_L4_CKSUM_GOOD and _NONE (data
//   verified) -> good, _BAD -> bad, _UNKNOWN -> unknown (verified in software).
#pragma once

#if !__has_include(<rte_mbuf.h>)
#error "nvo/dpdk/mbuf.hpp needs DPDK's headers on the include path (pkg-config --cflags libdpdk)"
#endif

#include <rte_mbuf.h>
#include <rte_mbuf_ptype.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nvo/config.hpp"
#include "nvo/pipeline/packet.hpp"
#include "nvo/pipeline/pipeline.hpp"
#include "nvo/pipeline/verdict.hpp"
#include "nvo/wire/dissect.hpp"
#include "nvo/wire/encapsulation.hpp"

NVO_BEGIN_NAMESPACE
namespace dpdk {

struct adapt_result;
[[nodiscard]] inline adapt_result adapt(rte_mbuf* m) noexcept;

// PRECONDITION for every member but mbuf(): the buffer came from adapt(), and
// the mbuf is still one segment the caller owns.
class mbuf_buffer {
 public:
  // Empty, for arrays of adapters; only an adapt() result refers to an mbuf.
  mbuf_buffer() noexcept = default;

  [[nodiscard]] rte_mbuf* mbuf() const noexcept { return m_; }
  [[nodiscard]] std::byte* data() const noexcept { return rte_pktmbuf_mtod(m_, std::byte*); }
  [[nodiscard]] std::size_t size() const noexcept { return m_->data_len; }
  [[nodiscard]] std::size_t headroom() const noexcept { return rte_pktmbuf_headroom(m_); }
  [[nodiscard]] std::size_t tailroom() const noexcept { return rte_pktmbuf_tailroom(m_); }

  std::byte* prepend(std::size_t n) noexcept {
    if (n > headroom()) return nullptr;
    return reinterpret_cast<std::byte*>(rte_pktmbuf_prepend(m_, static_cast<std::uint16_t>(n)));
  }
  std::byte* append(std::size_t n) noexcept {
    if (n > tailroom()) return nullptr;
    return reinterpret_cast<std::byte*>(rte_pktmbuf_append(m_, static_cast<std::uint16_t>(n)));
  }
  // PRECONDITION: n <= size().
  void strip(std::size_t n) noexcept {
    NVO_ASSERT(n <= size());
    (void)rte_pktmbuf_adj(m_, static_cast<std::uint16_t>(n));
    if (n != 0) {
      m_->packet_type = RTE_PTYPE_UNKNOWN;
      m_->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD |
                        RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK);
    }
  }
  // PRECONDITION: n <= size().
  void trim(std::size_t n) noexcept {
    NVO_ASSERT(n <= size());
    (void)rte_pktmbuf_trim(m_, static_cast<std::uint16_t>(n));
  }

  void set_offload(const pipeline::offload_request& o) noexcept {
    std::uint64_t tx = 0;
    const bool v6 = o.outer_ip_version == 6;
    m_->tso_segsz = 0;
    switch (o.tunnel) {
      case wire::encapsulation::vxlan:
      case wire::encapsulation::nvgre:
        NVO_ASSERT(o.tso_segment_size == 0 && (!o.l4_checksum_pending || o.tunnel == wire::encapsulation::vxlan));
        m_->outer_l2_len = o.outer_l2_len;
        m_->outer_l3_len = o.outer_l3_len;
        m_->l2_len = o.outer_l4_len + o.tunnel_len + o.inner_l2_len;
        m_->l3_len = o.inner_l3_len;
        m_->l4_len = o.inner_l4_len;
        if (o.l4_checksum_pending)
          tx = RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_UDP_CKSUM |
               (v6 ? RTE_MBUF_F_TX_OUTER_IPV6 : RTE_MBUF_F_TX_OUTER_IPV4);
        break;
      case wire::encapsulation::stt:
        m_->outer_l2_len = 0;
        m_->outer_l3_len = 0;
        m_->l2_len = o.outer_l2_len;
        m_->l3_len = o.outer_l3_len;
        m_->l4_len = o.outer_l4_len;
        if (o.tso_segment_size != 0) {
          m_->tso_segsz = o.tso_segment_size;
          tx = RTE_MBUF_F_TX_TCP_SEG | (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
        } else if (o.l4_checksum_pending) {
          tx = RTE_MBUF_F_TX_TCP_CKSUM | (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
        }
        break;
      case wire::encapsulation::none:  // not a tunnel packet (an ARP/ND reply)
        m_->tx_offload = 0;
        break;
    }
    // The mbuf's own flags (RX results, RTE_MBUF_F_INDIRECT/EXTERNAL) stay.
    m_->ol_flags = (m_->ol_flags & ~RTE_MBUF_F_TX_OFFLOAD_MASK) | tx;
  }

  [[nodiscard]] wire::rx_checksum rx_checksum() const noexcept {
    const std::uint64_t f = m_->ol_flags;
    if ((m_->packet_type & RTE_PTYPE_TUNNEL_MASK) != 0) {
      switch (f & RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK) {
        case RTE_MBUF_F_RX_OUTER_L4_CKSUM_GOOD: return wire::rx_checksum::good;
        case RTE_MBUF_F_RX_OUTER_L4_CKSUM_BAD: return wire::rx_checksum::bad;
        default: return wire::rx_checksum::unknown;
      }
    }
    switch (f & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
      case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
      case RTE_MBUF_F_RX_L4_CKSUM_NONE: return wire::rx_checksum::good;
      case RTE_MBUF_F_RX_L4_CKSUM_BAD: return wire::rx_checksum::bad;
      default: return wire::rx_checksum::unknown;
    }
  }

 private:
  friend adapt_result adapt(rte_mbuf* m) noexcept;
  explicit mbuf_buffer(rte_mbuf* m) noexcept : m_(m) {}

  rte_mbuf* m_ = nullptr;
};
static_assert(pipeline::packet_buffer<mbuf_buffer>);

enum class adapt_error : std::uint8_t {
  none,
  chained,  // nb_segs > 1
  shared,   // a clone, refcnt > 1, or an external buffer attached elsewhere too
};

[[nodiscard]] constexpr std::string_view to_string(adapt_error e) noexcept {
  switch (e) {
    case adapt_error::none: return "none";
    case adapt_error::chained: return "chained mbuf (nb_segs > 1): the pipeline needs the packet in one segment";
    case adapt_error::shared: return "shared mbuf data (a clone, refcnt > 1 or a shared external buffer): "
                                     "writing it would change other packets";
  }
  return "unknown";
}

struct adapt_result {
  mbuf_buffer buffer{};  // refers to the mbuf when error == none
  adapt_error error = adapt_error::none;
  [[nodiscard]] explicit operator bool() const noexcept { return error == adapt_error::none; }
};

// adapt(m): m as a packet_buffer, or why not. PRECONDITION: m != nullptr.
[[nodiscard]] inline adapt_result adapt(rte_mbuf* m) noexcept {
  NVO_ASSERT(m != nullptr);
  if (m->nb_segs != 1) return {.error = adapt_error::chained};
  if (RTE_MBUF_CLONED(m) || rte_mbuf_refcnt_read(m) != 1 ||
      (RTE_MBUF_HAS_EXTBUF(m) && rte_mbuf_ext_refcnt_read(m->shinfo) != 1))
    return {.error = adapt_error::shared};
  return {.buffer = mbuf_buffer(m)};
}

namespace detail {

// Up to max_burst mbufs of a burst as adapters on the stack; the ones adapt()
// refuses are left out and marked in `refused`.
struct burst_chunk {
  std::array<mbuf_buffer, pipeline::max_burst> buffers;
  std::array<mbuf_buffer*, pipeline::max_burst> pointers;
  std::array<std::uint8_t, pipeline::max_burst> index;  // pointers[j] adapts pkts[index[j]]
  std::size_t count = 0;
  std::uint64_t refused = 0;

  burst_chunk(rte_mbuf** pkts, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      const adapt_result a = adapt(pkts[i]);
      if (!a) {
        refused |= std::uint64_t{1} << i;
        continue;
      }
      buffers[count] = a.buffer;
      pointers[count] = &buffers[count];
      index[count++] = static_cast<std::uint8_t>(i);
    }
  }
  [[nodiscard]] std::span<mbuf_buffer* const> burst() const noexcept { return {pointers.data(), count}; }

  // The pipeline wrote adapter j's verdict to out[j]; move it to out[index[j]]
  // (index[j] >= j, so going down never overwrites one still to move) and give
  // the refused mbufs the default verdict.
  void scatter(pipeline::verdict* out) const noexcept {
    if (refused == 0) return;
    for (std::size_t j = count; j-- > 0;) out[index[j]] = out[j];
    for (std::uint64_t r = refused; r != 0; r &= r - 1) out[std::countr_zero(r)] = pipeline::verdict{};
  }
};

}  // namespace detail

// encapsulate_burst(p, pkts, n, tenant, out): pkts[0..n) are inner frames from
// a port of VNI/VSID `tenant`; out[i] is pkts[i]'s verdict, as
// basic_pipeline::encapsulate gives it. An mbuf adapt() refuses gets the
// default verdict (drop, reason none; adapt() it to learn why) and is left as
// it was. Returns how many were forwarded. The mbufs stay the caller's.
// PRECONDITION: out has room for n verdicts; every pkts[i] != nullptr.
template <class... Policies>
std::uint16_t encapsulate_burst(pipeline::basic_pipeline<Policies...>& p, rte_mbuf** pkts, std::uint16_t n,
                                std::uint32_t tenant, pipeline::verdict* out) noexcept {
  std::size_t forwarded = 0;
  for (std::size_t base = 0; base < n; base += pipeline::max_burst) {
    const std::size_t k = std::min<std::size_t>(pipeline::max_burst, n - base);
    detail::burst_chunk c(pkts + base, k);
    forwarded += p.encapsulate(c.burst(), tenant, std::span(out + base, c.count));
    c.scatter(out + base);
  }
  return static_cast<std::uint16_t>(forwarded);
}

// decapsulate_burst(p, pkts, n, out): pkts[0..n) are frames from the underlay;
// out[i] is pkts[i]'s verdict, as basic_pipeline::decapsulate gives it
// (forward: pkts[i] holds the inner frame; otherwise it is unchanged).
// Refused mbufs as for encapsulate_burst. Returns how many were delivered.
// PRECONDITION: out has room for n verdicts; every pkts[i] != nullptr.
template <class... Policies>
std::uint16_t decapsulate_burst(pipeline::basic_pipeline<Policies...>& p, rte_mbuf** pkts, std::uint16_t n,
                                pipeline::verdict* out) noexcept {
  std::size_t delivered = 0;
  for (std::size_t base = 0; base < n; base += pipeline::max_burst) {
    const std::size_t k = std::min<std::size_t>(pipeline::max_burst, n - base);
    detail::burst_chunk c(pkts + base, k);
    delivered += p.decapsulate(c.burst(), std::span(out + base, c.count));
    c.scatter(out + base);
  }
  return static_cast<std::uint16_t>(delivered);
}

}  // namespace dpdk
NVO_END_NAMESPACE
