// nvo-pcap encap | decap | bench: the pipeline over pcap captures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nvo/wire/encapsulation.hpp"

namespace nvo_examples {

struct tunnel_command {
  std::string config;       // this VTEP's tunnel configuration
  std::string peer_config;  // bench: the VTEP that decapsulates
  std::string in;
  std::string out;
  std::optional<std::uint32_t> vni;  // encap: every inner frame's VNI (else the config's tenants)
  std::optional<nvo::wire::encapsulation> encapsulation;  // overrides the configs' default
  std::string replies;      // encap: where frames back to tenants go (ICMP too big)
  std::string learn_from;   // encap: an underlay capture decapsulated first, so the table learns
  bool json = false;        // the summary as JSON on stdout instead of text on stderr
  std::uint32_t repeat = 1;  // bench
};

// Each returns the process exit status: 0, or 1 after printing why to stderr
// (unreadable file, bad config), in which case no output file exists.
int run_encap(const tunnel_command& c);
int run_decap(const tunnel_command& c);
int run_bench(const tunnel_command& c);

}  // namespace nvo_examples
