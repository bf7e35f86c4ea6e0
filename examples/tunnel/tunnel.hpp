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
// each side reads.
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

class encapsulator {
 public:
  virtual ~encapsulator() = default;
  virtual std::size_t encapsulate(std::span<np::buffer* const> burst, std::uint32_t tenant, std::span<np::verdict> out) = 0;
  virtual std::size_t flood(const np::buffer& inner, std::uint32_t tenant, std::span<np::buffer* const> copies,
                            std::span<np::verdict> out) = 0;
  // An STT frame that got verdict segment, cut into segments (see
  // basic_pipeline::encapsulate_segments).
  virtual np::verdict segment(np::buffer& inner, std::uint32_t tenant, std::span<np::buffer* const> segments) = 0;
  [[nodiscard]] virtual const np::pipeline_counters& counters() const = 0;
};

class decapsulator {
 public:
  virtual ~decapsulator() = default;
  virtual std::size_t decapsulate(std::span<np::buffer* const> burst, std::span<np::verdict> out) = 0;
  virtual void set_time(std::uint32_t now_s) = 0;
  [[nodiscard]] virtual const np::pipeline_counters& counters() const = 0;
};

// The pipelines for s.config; s must outlive them.
[[nodiscard]] std::unique_ptr<encapsulator> make_encapsulator(vtep_state& s);
[[nodiscard]] std::unique_ptr<decapsulator> make_decapsulator(vtep_state& s);

// One per encapsulation policy, each in its own translation unit (tunnel_*.cpp)
// so the instantiations compile in parallel.
namespace detail {
std::unique_ptr<encapsulator> make_vxlan_encapsulator(vtep_state& s);
std::unique_ptr<encapsulator> make_nvgre_encapsulator(vtep_state& s);
std::unique_ptr<encapsulator> make_stt_encapsulator(vtep_state& s);
std::unique_ptr<encapsulator> make_mixed_encapsulator(vtep_state& s);
std::unique_ptr<decapsulator> make_vxlan_decapsulator(vtep_state& s);
std::unique_ptr<decapsulator> make_nvgre_decapsulator(vtep_state& s);
std::unique_ptr<decapsulator> make_stt_decapsulator(vtep_state& s);
std::unique_ptr<decapsulator> make_mixed_decapsulator(vtep_state& s);
}  // namespace detail

}  // namespace nvo_examples
