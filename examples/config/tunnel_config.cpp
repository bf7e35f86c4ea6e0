// Reads tunnel_config from TOML with toml++; every error carries the file,
// line and column toml++ recorded for the offending key or value.
#include "tunnel_config.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <string_view>

#include <toml++/toml.h>

namespace nvo_examples {

namespace {

namespace np = nvo::pipeline;
using namespace std::string_literals;

class reader {
 public:
  explicit reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const toml::source_region& where, std::string_view field, std::string_view why) const {
    throw config_error(path_ + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column) +
                       ": " + std::string(field) + ": " + std::string(why));
  }

  // Unknown keys are errors: a misspelt option must not be silently ignored.
  void check_keys(const toml::table& t, const std::string& prefix, std::initializer_list<std::string_view> known) const {
    for (auto&& [key, value] : t) {
      if (std::find(known.begin(), known.end(), key.str()) == known.end())
        fail(key.source(), prefix + std::string(key.str()), "unknown key");
    }
  }

  const toml::table* table(const toml::table& t, std::string_view key, const std::string& field) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) fail(n->source(), field, "must be a table");
    return n->as_table();
  }
  const toml::array* array(const toml::table& t, std::string_view key, const std::string& field) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_array()) fail(n->source(), field, "must be an array");
    return n->as_array();
  }
  const toml::array* array_of_tables(const toml::table& t, std::string_view key, const std::string& field) const {
    const toml::array* a = array(t, key, field);
    if (a != nullptr && !a->is_array_of_tables()) fail(a->source(), field, "must be an array of tables ([[" + std::string(key) + "]])");
    return a;
  }

  std::string string_of(const toml::node& n, const std::string& field) const {
    if (!n.is_string()) fail(n.source(), field, "must be a string");
    return n.as_string()->get();
  }
  bool bool_of(const toml::node& n, const std::string& field) const {
    if (!n.is_boolean()) fail(n.source(), field, "must be true or false");
    return n.as_boolean()->get();
  }
  std::int64_t int_of(const toml::node& n, const std::string& field, std::int64_t min, std::int64_t max) const {
    if (!n.is_integer()) fail(n.source(), field, "must be an integer");
    const std::int64_t v = n.as_integer()->get();
    if (v < min || v > max) fail(n.source(), field, "must be in " + std::to_string(min) + ".." + std::to_string(max));
    return v;
  }
  template <class E>
  E choice_of(const toml::node& n, const std::string& field, std::initializer_list<std::pair<std::string_view, E>> names) const {
    const std::string s = string_of(n, field);
    std::string all;
    for (const auto& [name, value] : names) {
      if (s == name) return value;
      all += all.empty() ? "" : "|";
      all += name;
    }
    fail(n.source(), field, "must be one of " + all + ", not \"" + s + "\"");
  }

  wire::ip_address ip_of(const toml::node& n, const std::string& field) const {
    const std::string s = string_of(n, field);
    wire::ip_address a;
    if (inet_pton(AF_INET, s.c_str(), a.octets.data()) == 1) {
      a.version = 4;
    } else if (inet_pton(AF_INET6, s.c_str(), a.octets.data()) == 1) {
      a.version = 6;
    } else {
      fail(n.source(), field, "\"" + s + "\" is not an IPv4 or IPv6 address");
    }
    return a;
  }
  wire::mac_address mac_of(const toml::node& n, const std::string& field) const { return mac_of(string_of(n, field), n.source(), field); }
  wire::mac_address mac_of(const std::string& s, const toml::source_region& where, const std::string& field) const {
    wire::mac_address m;
    unsigned o[6] = {};
    char tail = 0;
    if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &tail) != 6 ||
        s.size() != 17)
      fail(where, field, "\"" + s + "\" is not a MAC address (xx:xx:xx:xx:xx:xx)");
    for (int i = 0; i < 6; ++i) m.octets[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(o[i]);
    return m;
  }

 private:
  std::string path_;
};

const std::initializer_list<std::pair<std::string_view, wire::encapsulation>> encap_names = {
    {"vxlan", wire::encapsulation::vxlan}, {"nvgre", wire::encapsulation::nvgre}, {"stt", wire::encapsulation::stt}};

// `inherit` or an integer in [min, max]; nullopt means inherit.
std::optional<std::uint8_t> inherit_or_int(const reader& r, const toml::node& n, const std::string& field, int min, int max) {
  if (n.is_string()) {
    if (n.as_string()->get() == "inherit") return std::nullopt;
    r.fail(n.source(), field, "must be \"inherit\" or an integer " + std::to_string(min) + ".." + std::to_string(max));
  }
  if (!n.is_integer()) r.fail(n.source(), field, "must be \"inherit\" or an integer");
  return static_cast<std::uint8_t>(r.int_of(n, field, min, max));
}

void read_header(const reader& r, const toml::table& h, np::header_rules& rules) {
  r.check_keys(h, "header.", {"ecn", "dscp", "ttl", "df"});
  if (const auto* n = h.get("ecn"))
    rules.ecn = r.choice_of<np::ecn_ingress>(*n, "header.ecn", {{"normal", np::ecn_ingress::normal},
                                                                 {"compatibility", np::ecn_ingress::compatibility}});
  if (const auto* n = h.get("dscp")) {
    const auto v = inherit_or_int(r, *n, "header.dscp", 0, 63);
    rules.dscp = v ? np::dscp_mode::fixed : np::dscp_mode::inherit;
    rules.dscp_value = v.value_or(0);
  }
  if (const auto* n = h.get("ttl")) {
    const auto v = inherit_or_int(r, *n, "header.ttl", 1, 255);
    rules.ttl = v ? np::ttl_mode::fixed : np::ttl_mode::inherit;
    rules.ttl_value = v.value_or(64);
  }
  if (const auto* n = h.get("df"))
    rules.df = r.choice_of<np::df_mode>(
        *n, "header.df", {{"set", np::df_mode::set}, {"unset", np::df_mode::unset}, {"inherit", np::df_mode::inherit}});
}

bool contains(const std::vector<wire::ip_address>& v, const wire::ip_address& a) {
  return std::find(v.begin(), v.end(), a) != v.end();
}

tunnel_config read(const reader& r, const toml::table& root, tunnel_config c, std::optional<wire::encapsulation> encap_override) {
  r.check_keys(root, "", {"encapsulation", "underlay", "checksum", "zero_udp6_checksum", "learning", "anti_spoofing",
                          "mac_age", "learn_limit", "vxlan_port", "underlay_mtu", "entropy", "fixed_entropy", "local", "header", "endpoint", "vni"});
  if (const auto* n = root.get("encapsulation")) c.encapsulation = r.choice_of(*n, "encapsulation", encap_names);
  if (encap_override) c.encapsulation = *encap_override;
  if (const auto* n = root.get("underlay"))
    c.underlay = r.choice_of<underlay_choice>(
        *n, "underlay", {{"ipv4", underlay_choice::ipv4}, {"ipv6", underlay_choice::ipv6}, {"either", underlay_choice::either}});
  if (const auto* n = root.get("checksum"))
    c.checksum = r.choice_of<np::checksum_mode>(*n, "checksum", {{"zero_udp", np::checksum_mode::zero_udp},
                                                                  {"software", np::checksum_mode::software},
                                                                  {"offload", np::checksum_mode::offload}});
  if (const auto* n = root.get("zero_udp6_checksum")) c.zero_udp6_checksum = r.bool_of(*n, "zero_udp6_checksum");
  if (const auto* n = root.get("learning")) c.learning = r.bool_of(*n, "learning");
  if (const auto* n = root.get("anti_spoofing")) c.anti_spoofing = r.bool_of(*n, "anti_spoofing");
  if (const auto* n = root.get("vxlan_port")) c.vxlan_port = static_cast<std::uint16_t>(r.int_of(*n, "vxlan_port", 1, 65535));
  // 576: the smallest IPv4 datagram every host must accept; 65535: the IP length field.
  if (const auto* n = root.get("mac_age")) c.mac_age_s = static_cast<std::uint32_t>(r.int_of(*n, "mac_age", 1, 86400 * 365));
  if (const auto* n = root.get("learn_limit"))
    c.learn_limit_per_vni = static_cast<std::uint32_t>(r.int_of(*n, "learn_limit", 0, 1 << 24));
  if (const auto* n = root.get("underlay_mtu"))
    c.underlay_mtu = static_cast<std::uint16_t>(r.int_of(*n, "underlay_mtu", 576, 65535));
  if (const auto* n = root.get("entropy"))
    c.entropy = r.choice_of<entropy_choice>(*n, "entropy", {{"crc32c", entropy_choice::crc32c},
                                                            {"toeplitz", entropy_choice::toeplitz},
                                                            {"fixed", entropy_choice::fixed}});
  if (const auto* n = root.get("fixed_entropy")) {
    if (c.entropy != entropy_choice::fixed) r.fail(n->source(), "fixed_entropy", "needs entropy = \"fixed\"");
    c.fixed_entropy = static_cast<std::uint32_t>(r.int_of(*n, "fixed_entropy", 0, 0xFFFFFFFF));
  }

  const toml::table* local = r.table(root, "local", "local");
  if (local == nullptr) r.fail(root.source(), "local", "missing table [local] (ipv4/ipv6, mac, next_hop_mac)");
  r.check_keys(*local, "local.", {"ipv4", "ipv6", "mac", "next_hop_mac"});
  for (const char* family : {"ipv4", "ipv6"}) {
    const auto* n = local->get(family);
    if (n == nullptr) continue;
    const std::string field = "local."s + family;
    const wire::ip_address a = r.ip_of(*n, field);
    if (a.version != (family[3] == '4' ? 4 : 6)) r.fail(n->source(), field, "must be an "s + (a.version == 4 ? "IPv6" : "IPv4") + " address");
    (a.version == 4 ? c.local_ipv4 : c.local_ipv6) = a;
  }
  if (!c.local_ipv4 && !c.local_ipv6) r.fail(local->source(), "local", "needs ipv4 and/or ipv6 (this VTEP's PA)");
  if (c.underlay == underlay_choice::ipv4 && !c.local_ipv4) r.fail(local->source(), "local.ipv4", "required by underlay = \"ipv4\"");
  if (c.underlay == underlay_choice::ipv6 && !c.local_ipv6) r.fail(local->source(), "local.ipv6", "required by underlay = \"ipv6\"");
  const auto* mac = local->get("mac");
  if (mac == nullptr) r.fail(local->source(), "local.mac", "missing (this VTEP's underlay MAC)");
  c.local_mac = r.mac_of(*mac, "local.mac");
  const auto* hop = local->get("next_hop_mac");
  if (hop == nullptr) r.fail(local->source(), "local.next_hop_mac", "missing (the default underlay next hop)");
  c.next_hop_mac = r.mac_of(*hop, "local.next_hop_mac");

  if (const toml::table* h = r.table(root, "header", "header")) read_header(r, *h, c.rules);

  if (const toml::array* eps = r.array_of_tables(root, "endpoint", "endpoint")) {
    for (std::size_t i = 0; i < eps->size(); ++i) {
      const toml::table& e = *eps->get(i)->as_table();
      const std::string at = "endpoint[" + std::to_string(i) + "].";
      r.check_keys(e, at, {"remote", "encapsulation", "next_hop_mac"});
      const auto* remote = e.get("remote");
      if (remote == nullptr) r.fail(e.source(), at + "remote", "missing (the remote VTEP's PA)");
      endpoint_entry ep{r.ip_of(*remote, at + "remote"), c.encapsulation, c.next_hop_mac};
      const bool v4 = ep.remote.version == 4;
      if ((v4 && c.underlay == underlay_choice::ipv6) || (!v4 && c.underlay == underlay_choice::ipv4))
        r.fail(remote->source(), at + "remote", "an IPv"s + (v4 ? "4" : "6") + " PA, but underlay is IPv" + (v4 ? "6" : "4"));
      if ((v4 && !c.local_ipv4) || (!v4 && !c.local_ipv6))
        r.fail(remote->source(), at + "remote", "an IPv"s + (v4 ? "4" : "6") + " PA needs local.ipv" + (v4 ? "4" : "6"));
      if (c.find_endpoint(ep.remote) != nullptr) r.fail(remote->source(), at + "remote", "endpoint listed twice");
      if (const auto* n = e.get("encapsulation")) ep.encap = r.choice_of(*n, at + "encapsulation", encap_names);
      if (const auto* n = e.get("next_hop_mac")) ep.next_hop_mac = r.mac_of(*n, at + "next_hop_mac");
      c.endpoints.push_back(ep);
    }
  }

  const toml::array* vnis = r.array_of_tables(root, "vni", "vni");
  if (vnis == nullptr || vnis->empty()) r.fail(root.source(), "vni", "no [[vni]] table: nothing to tunnel");
  std::vector<wire::mac_address> all_tenants;
  for (std::size_t i = 0; i < vnis->size(); ++i) {
    const toml::table& t = *vnis->get(i)->as_table();
    const std::string at = "vni[" + std::to_string(i) + "].";
    r.check_keys(t, at, {"id", "tenants", "static", "flood", "group", "members"});
    vni_entry v;
    const auto* id = t.get("id");
    if (id == nullptr) r.fail(t.source(), at + "id", "missing (the 24-bit VNI / VSID)");
    v.id = static_cast<std::uint32_t>(r.int_of(*id, at + "id", 0, 0xFFFFFF));
    if (c.find_vni(v.id) != nullptr) r.fail(id->source(), at + "id", "VNI " + std::to_string(v.id) + " listed twice");
    const auto endpoint_of = [&](const toml::node& n, const std::string& field) {
      const wire::ip_address a = r.ip_of(n, field);
      if (c.find_endpoint(a) == nullptr) r.fail(n.source(), field, to_string(a) + " is not an [[endpoint]]");
      return a;
    };
    if (const toml::array* a = r.array(t, "tenants", at + "tenants")) {
      for (std::size_t j = 0; j < a->size(); ++j) {
        const std::string f = at + "tenants[" + std::to_string(j) + "]";
        const wire::mac_address m = r.mac_of(*a->get(j), f);
        if (std::find(all_tenants.begin(), all_tenants.end(), m) != all_tenants.end())
          r.fail(a->get(j)->source(), f, to_string(m) + " is a tenant of two VNIs");
        all_tenants.push_back(m);
        v.tenants.push_back(m);
      }
    }
    if (const toml::table* s = r.table(t, "static", at + "static")) {
      for (auto&& [key, value] : *s) {
        const std::string f = at + "static.\"" + std::string(key.str()) + "\"";
        const wire::mac_address m = r.mac_of(std::string(key.str()), key.source(), f);
        if (m.is_multicast() || m.is_zero()) r.fail(key.source(), f, "a static entry needs a unicast MAC");
        v.statics.push_back({m, endpoint_of(value, f)});
      }
    }
    if (const toml::array* a = r.array(t, "flood", at + "flood"))
      for (std::size_t j = 0; j < a->size(); ++j) v.flood.push_back(endpoint_of(*a->get(j), at + "flood[" + std::to_string(j) + "]"));
    if (const auto* n = t.get("group")) {
      const wire::ip_address g = r.ip_of(*n, at + "group");
      const bool mcast = g.is_v4() ? (g.octets[0] & 0xF0) == 0xE0 : g.octets[0] == 0xFF;
      if (!mcast) r.fail(n->source(), at + "group", to_string(g) + " is not a multicast address");
      if ((g.is_v4() && !c.local_ipv4) || (g.is_v6() && !c.local_ipv6) ||
          (g.is_v4() && c.underlay == underlay_choice::ipv6) || (g.is_v6() && c.underlay == underlay_choice::ipv4))
        r.fail(n->source(), at + "group", "the group's family is not one this VTEP's underlay has");
      v.group = g;
    }
    if (const toml::array* a = r.array(t, "members", at + "members")) {
      for (std::size_t j = 0; j < a->size(); ++j) v.members.push_back(r.ip_of(*a->get(j), at + "members[" + std::to_string(j) + "]"));
    } else {
      for (const auto& s : v.statics)
        if (!contains(v.members, s.remote)) v.members.push_back(s.remote);
      for (const auto& f : v.flood)
        if (!contains(v.members, f)) v.members.push_back(f);
    }
    c.vnis.push_back(std::move(v));
  }
  return c;
}

}  // namespace

const endpoint_entry* tunnel_config::find_endpoint(const wire::ip_address& remote) const noexcept {
  for (const auto& e : endpoints)
    if (e.remote == remote) return &e;
  return nullptr;
}

const vni_entry* tunnel_config::find_vni(std::uint32_t id) const noexcept {
  for (const auto& v : vnis)
    if (v.id == id) return &v;
  return nullptr;
}

std::optional<wire::encapsulation> tunnel_config::single_encapsulation() const noexcept {
  for (const auto& e : endpoints)
    if (e.encap != encapsulation) return std::nullopt;
  return encapsulation;
}

tunnel_config load_tunnel_config(const std::string& path, std::optional<wire::encapsulation> encap_override) {
  const reader r(path);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    // toml++ reports an unopenable file at line 0.
    if (b.line == 0) throw config_error(path + ": " + std::string(e.description()));
    throw config_error(path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " + std::string(e.description()));
  }
  tunnel_config c;
  c.path = path;
  return read(r, root, std::move(c), encap_override);
}

std::string to_string(const wire::ip_address& a) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.is_v4() ? AF_INET : AF_INET6, a.octets.data(), text, sizeof text);
  return text;
}

std::string to_string(const wire::mac_address& m) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", m.octets[0], m.octets[1], m.octets[2], m.octets[3],
                m.octets[4], m.octets[5]);
  return text;
}

}  // namespace nvo_examples
