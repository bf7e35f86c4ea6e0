// tunnel_config: a VTEP's tunnel configuration, read from a TOML file with
// toml++, shared by the examples (nvo-pcap encap|decap|bench, and nvo-vtep).
//
// load_tunnel_config() validates everything the pipeline and the table would
// refuse later (families, VNI range, unknown endpoints, unknown keys), so a
// tool can reject a bad file before it writes anything. Errors are
// config_error exceptions whose what() is "FILE:LINE:COLUMN: FIELD: reason".
// See examples/data/vtep-a.toml for an annotated example.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nvo/pipeline/policy.hpp"
#include "nvo/pipeline/rules.hpp"
#include "nvo/wire/address.hpp"
#include "nvo/wire/encapsulation.hpp"

namespace nvo_examples {

namespace wire = nvo::wire;

class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class underlay_choice : std::uint8_t { ipv4, ipv6, either };
enum class entropy_choice : std::uint8_t { crc32c, toeplitz, fixed };

struct endpoint_entry {
  wire::ip_address remote;
  wire::encapsulation encap = wire::encapsulation::vxlan;
  wire::mac_address next_hop_mac;  // the endpoint's own, or the default
};

struct static_entry {
  wire::mac_address mac;
  wire::ip_address remote;
};

struct vni_entry {
  std::uint32_t id = 0;
  std::vector<wire::mac_address> tenants;  // local inner source MACs of this VNI
  std::vector<static_entry> statics;
  std::vector<wire::ip_address> flood;
  std::optional<wire::ip_address> group;   // underlay multicast group for BUM traffic
  std::vector<wire::ip_address> members;   // PAs that may send for this VNI (default: statics + flood)
};

struct tunnel_config {
  std::string path;
  std::optional<wire::ip_address> local_ipv4;
  std::optional<wire::ip_address> local_ipv6;
  wire::mac_address local_mac;
  wire::mac_address next_hop_mac;  // default underlay next hop
  wire::encapsulation encapsulation = wire::encapsulation::vxlan;  // endpoints' default
  underlay_choice underlay = underlay_choice::either;
  nvo::pipeline::checksum_mode checksum = nvo::pipeline::checksum_mode::zero_udp;
  bool zero_udp6_checksum = false;
  bool learning = false;
  bool anti_spoofing = false;
  std::uint32_t mac_age_s = 300;          // learned entries unseen this long age out
  std::uint32_t learn_limit_per_vni = 0;  // 0: unlimited
  std::uint16_t vxlan_port = 4789;
  std::uint16_t underlay_mtu = 1500;
  nvo::pipeline::header_rules rules{};
  entropy_choice entropy = entropy_choice::crc32c;
  std::uint32_t fixed_entropy = 0;
  std::vector<endpoint_entry> endpoints;
  std::vector<vni_entry> vnis;

  [[nodiscard]] const endpoint_entry* find_endpoint(const wire::ip_address& remote) const noexcept;
  [[nodiscard]] const vni_entry* find_vni(std::uint32_t id) const noexcept;
  // Every endpoint's encapsulation, when they all share one; nullopt for a mix.
  [[nodiscard]] std::optional<wire::encapsulation> single_encapsulation() const noexcept;
};

// Throws config_error (unreadable file, TOML syntax, or a bad field).
// encap_override replaces the file's `encapsulation`, the default of every
// endpoint that does not set its own (nvo-pcap's --encapsulation).
[[nodiscard]] tunnel_config load_tunnel_config(const std::string& path,
                                               std::optional<wire::encapsulation> encap_override = std::nullopt);

[[nodiscard]] std::string to_string(const wire::ip_address& a);
[[nodiscard]] std::string to_string(const wire::mac_address& m);

}  // namespace nvo_examples
