// vtep_state from a tunnel_config (the choice of pipeline instantiation is
// make_encapsulator/make_decapsulator in tunnel.hpp).
#include "tunnel.hpp"

#include <string>
#include <vector>

namespace nvo_examples {

namespace {

nvo::table::l2_options table_options(const tunnel_config& c) {
  nvo::table::l2_options o;
  // Learned entries get one encapsulation for the whole table (the table's
  // learn_encap): the endpoints', or the config's default for a mix.
  o.learn_encap = c.single_encapsulation().value_or(c.encapsulation);
  o.age_timeout_s = c.mac_age_s;
  o.learn_limit_per_vni = c.learn_limit_per_vni;
  return o;
}

np::pipeline_options pipeline_options(const tunnel_config& c) {
  np::pipeline_options o;
  if (c.local_ipv4 && c.underlay != underlay_choice::ipv6) o.local_ipv4 = *c.local_ipv4;
  if (c.local_ipv6 && c.underlay != underlay_choice::ipv4) o.local_ipv6 = *c.local_ipv6;
  o.vxlan_port = c.vxlan_port;
  o.fixed_entropy = c.fixed_entropy;
  o.zero_udp6_checksum = c.zero_udp6_checksum;
  o.rules = c.rules;
  o.underlay_mtu = c.underlay_mtu;
  return o;
}

// RFC 1112 6.4 / RFC 2464 7: the Ethernet address an IP multicast group maps to.
wire::mac_address multicast_mac(const wire::ip_address& g) {
  if (g.is_v4()) return {{0x01, 0x00, 0x5e, static_cast<std::uint8_t>(g.octets[1] & 0x7F), g.octets[2], g.octets[3]}};
  return {{0x33, 0x33, g.octets[12], g.octets[13], g.octets[14], g.octets[15]}};
}

void check(const absl::Status& st, const tunnel_config& c, const std::string& what) {
  if (!st.ok()) throw config_error(c.path + ": " + what + ": " + std::string(st.message()));
}

}  // namespace

vtep_state::vtep_state(tunnel_config c)
    : config(std::move(c)), options(pipeline_options(config)), fdb(table_options(config)) {
  const auto local_of = [&](const wire::ip_address& remote) { return remote.is_v4() ? *config.local_ipv4 : *config.local_ipv6; };
  for (const auto& e : config.endpoints) {
    check(templates.set({.local = local_of(e.remote), .remote = e.remote, .local_mac = config.local_mac,
                         .next_hop_mac = e.next_hop_mac, .encap = e.encap, .vxlan_port = config.vxlan_port}),
          config, "endpoint " + to_string(e.remote));
  }
  for (const auto& v : config.vnis) {
    const std::string at = "vni " + std::to_string(v.id);
    for (const auto& s : v.statics) {
      const nvo::table::tunnel_endpoint ep{.provider = s.remote, .encap = config.find_endpoint(s.remote)->encap,
                                           .flags = nvo::table::endpoint_flags::static_entry, .tunnel_id = v.id};
      check(fdb.add_static(v.id, s.mac, ep), config, at + " static " + to_string(s.mac));
    }
    if (!v.flood.empty() || v.group) check(fdb.set_flood_list(v.id, v.flood, v.group), config, at + " flood list");
    if (v.group) {
      // The pipeline sends group copies with its flood encapsulation: the
      // config's when every endpoint shares it (per_endpoint floods VXLAN).
      check(templates.set({.local = local_of(*v.group), .remote = *v.group, .local_mac = config.local_mac,
                           .next_hop_mac = multicast_mac(*v.group), .encap = config.encapsulation,
                           .vxlan_port = config.vxlan_port}),
            config, at + " group " + to_string(*v.group));
    }
    for (const auto& m : v.members) check(fdb.add_member(v.id, m), config, at + " member " + to_string(m));
  }
}

}  // namespace nvo_examples
