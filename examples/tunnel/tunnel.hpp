// A VTEP's datapath for the examples: the control-plane state a
// tunnel_config describes (forwarding table, header templates, pipeline
// options), and encap/decap pipelines over it whose policies the config
// selects at run time.
//
// basic_pipeline is a template on its policies; the tools instantiate the
// combinations a config can choose and pick one through a virtual call per
// burst (never per packet). The encapsulation is fixed when every endpoint
// shares one (the compiler then drops the other paths) and per_endpoint for a
// mix; the underlay is `either` (the config has already refused endpoints of
// an excluded family, and the pipeline gets no local PA of that family, so
// decap drops such packets as not_local). Encapsulation instantiates
// checksum x entropy, decapsulation learning x anti_spoofing: the policies
// each side reads. Every interface is a template on the packet buffer, so the
// same instantiations run over np::buffer (nvo-pcap, nvo-vtep: the aliases
// encapsulator/decapsulator) and over DPDK mbufs (nvo-vtep-dpdk).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "nvo/pipeline/header_template.hpp"
#include "nvo/pipeline/packet.hpp"
#include "nvo/pipeline/policy.hpp"
#include "nvo/pipeline/verdict.hpp"
#include "nvo/table/forwarding.hpp"
#include "tunnel_config.hpp"

namespace nvo_examples {

namespace np = nvo::pipeline;
// Learning-capable, so the decap pipeline can learn when the config says so.
using fdb_t = nvo::table::l2_forwarding_table<nvo::table::policy::learning<true>>;

// The table, templates and options a config describes. Throws config_error
// when the table or a template refuses an entry.
struct vtep_state {
  explicit vtep_state(tunnel_config c);
  vtep_state(const vtep_state&) = delete;
  vtep_state& operator=(const vtep_state&) = delete;

  tunnel_config config;
  np::pipeline_options options;
  fdb_t fdb;
  np::endpoint_templates<> templates;
};

// The pipelines' interfaces, over any packet_buffer the pipeline accepts:
// np::buffer for the socket and pcap tools, nvo::dpdk::mbuf_buffer for the
// DPDK one (its instantiations live in nvo_tunnel_dpdk, built with DPDK).
template <class Buffer>
class basic_encapsulator {
 public:
  using buffer_type = Buffer;
  virtual ~basic_encapsulator() = default;
  virtual std::size_t encapsulate(std::span<Buffer* const> burst, std::uint32_t tenant, std::span<np::verdict> out) = 0;
  virtual std::size_t flood(const Buffer& inner, std::uint32_t tenant, std::span<Buffer* const> copies,
                            std::span<np::verdict> out) = 0;
  // An STT frame that got verdict segment, cut into segments (see
  // basic_pipeline::encapsulate_segments).
  virtual np::verdict segment(Buffer& inner, std::uint32_t tenant, std::span<Buffer* const> segments) = 0;
  [[nodiscard]] virtual const np::pipeline_counters& counters() const = 0;
};

template <class Buffer>
class basic_decapsulator {
 public:
  using buffer_type = Buffer;
  virtual ~basic_decapsulator() = default;
  virtual std::size_t decapsulate(std::span<Buffer* const> burst, std::span<np::verdict> out) = 0;
  virtual void set_time(std::uint32_t now_s) = 0;
  [[nodiscard]] virtual const np::pipeline_counters& counters() const = 0;
};

using encapsulator = basic_encapsulator<np::buffer>;
using decapsulator = basic_decapsulator<np::buffer>;

// One instantiation per encapsulation policy and buffer, each encapsulation
// in its own translation unit (tunnel_*.cpp, tunnel_dpdk/*.cpp) so they
// compile in parallel; tunnel_impl.hpp defines them.
namespace detail {
template <class Buffer, class Encap>
std::unique_ptr<basic_encapsulator<Buffer>> make_encapsulator_for(vtep_state& s);
template <class Buffer, class Encap>
std::unique_ptr<basic_decapsulator<Buffer>> make_decapsulator_for(vtep_state& s);
}  // namespace detail

// The pipelines for s.config; s must outlive them. Buffer is np::buffer or
// (linking nvo_tunnel_dpdk) nvo::dpdk::mbuf_buffer.
template <class Buffer = np::buffer>
[[nodiscard]] std::unique_ptr<basic_encapsulator<Buffer>> make_encapsulator(vtep_state& s) {
  switch (s.config.single_encapsulation().value_or(wire::encapsulation::none)) {
    case wire::encapsulation::vxlan: return detail::make_encapsulator_for<Buffer, np::encap::vxlan>(s);
    case wire::encapsulation::nvgre: return detail::make_encapsulator_for<Buffer, np::encap::nvgre>(s);
    case wire::encapsulation::stt: return detail::make_encapsulator_for<Buffer, np::encap::stt>(s);
    case wire::encapsulation::none: break;
  }
  return detail::make_encapsulator_for<Buffer, np::encap::per_endpoint>(s);
}

template <class Buffer = np::buffer>
[[nodiscard]] std::unique_ptr<basic_decapsulator<Buffer>> make_decapsulator(vtep_state& s) {
  switch (s.config.single_encapsulation().value_or(wire::encapsulation::none)) {
    case wire::encapsulation::vxlan: return detail::make_decapsulator_for<Buffer, np::encap::vxlan>(s);
    case wire::encapsulation::nvgre: return detail::make_decapsulator_for<Buffer, np::encap::nvgre>(s);
    case wire::encapsulation::stt: return detail::make_decapsulator_for<Buffer, np::encap::stt>(s);
    case wire::encapsulation::none: break;
  }
  return detail::make_decapsulator_for<Buffer, np::encap::per_endpoint>(s);
}

}  // namespace nvo_examples
