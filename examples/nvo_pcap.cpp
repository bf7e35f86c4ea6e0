// nvo-pcap: decodes a pcap capture with nvo::wire::dissect and prints one JSON
// object per packet, in capture order (decode); encapsulates and
// decapsulates captures with the nvo pipeline (encap, decap, bench:
// pcap_tunnel.cpp). A thin, real tool: the validation and forwarding are
// nvo's, this file parses the command line (CLI11), reads captures and
// formats results.
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <sys/socket.h>

#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "nvo/wire/dissect.hpp"
#include "pcap_tunnel.hpp"

namespace {

namespace wire = nvo::wire;

constexpr std::string_view overview = R"(usage: nvo-pcap decode [options] FILE
       nvo-pcap encap [options] CONFIG IN OUT
       nvo-pcap decap [options] CONFIG IN OUT
       nvo-pcap bench [options] CONFIG PEER_CONFIG IN
       nvo-pcap COMMAND --help

decode  print what each packet of a capture of VXLAN, NVGRE or STT decodes to
encap   encapsulate a capture of inner Ethernet frames for the tunnels CONFIG
        describes (a TOML file, see examples/data/vtep-a.toml)
decap   decapsulate a capture of underlay frames, as the VTEP CONFIG describes
bench   time encap (CONFIG) + decap (PEER_CONFIG) of a capture in memory

exit status: 0 on success (dropped packets included), 1 when a file cannot be
read or written or CONFIG is bad (then no output file is written), 2 on a
usage error.
)";

constexpr std::string_view decode_help = R"(Decodes every packet of FILE (pcap or pcapng, Ethernet link type) as VXLAN,
NVGRE or STT and prints one JSON object per packet, in capture order:

  {"ok":true,"encap":"vxlan","outer":{"ip_version":4,"src":"10.0.0.1","dst":"10.0.0.2"},
   "vni":5001,"inner":{"src_mac":"02:00:00:aa:bb:cc","dst_mac":"...","ethertype":"0x0800"}}
  {"ok":false,"error":"udp_bad_checksum"}

  encap      "vxlan", "nvgre", "stt", or "none" (IP but no tunnel, or not IP;
             non-IP frames have no "outer")
  outer      underlay IP version and addresses (IPv6 in RFC 5952 form)
  vni        VXLAN Network Identifier
  vsid       NVGRE Virtual Subnet ID; flow_id: NVGRE FlowID
  frame_len  STT frame length (TCP SEQ >> 16); frag_offset: SEQ & 0xffff;
             frag_id: the frame identifier (TCP ACK)
  context_id STT context ID (integer, up to 2^64-1), only on the segment that
             carries the STT frame header (frag_offset 0)
  flags      STT flags byte as an integer: C=1 P=2 V=4 T=8 (Wireshark's stt.flags)
  inner      inner Ethernet header, whenever this packet carries its start:
             src_mac, dst_mac, ethertype (the type field after the MACs, as
             "0x%04x"), and vlan_id when that type is 802.1Q (0x8100)
  error      the nvo::wire::errc name of the first validation rule the packet
             breaks; a failed packet never reports overlay identifiers

exit status: 0 when FILE was read to its end (malformed packets included),
1 when FILE cannot be read or is not an Ethernet capture, 2 on a usage error.
)";

constexpr std::string_view summary_help = R"(
The summary (stderr, or with --json one JSON object on stdout) counts the
pipeline's verdicts by action (forward, flood, too_big, drop), drops by
nvo::pipeline::drop_reason name, malformed packets by nvo::wire::errc name,
flood copies, and packets per tunnel {encapsulation, remote PA, VNI}.
)";

struct pcap_closer {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using pcap_handle = std::unique_ptr<pcap_t, pcap_closer>;

void append_mac(std::string& out, wire::const_bytes b) {
  fmt::format_to(std::back_inserter(out), "\"{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\"", std::to_integer<int>(b[0]),
                 std::to_integer<int>(b[1]), std::to_integer<int>(b[2]), std::to_integer<int>(b[3]),
                 std::to_integer<int>(b[4]), std::to_integer<int>(b[5]));
}

// inet_ntop writes IPv6 in the RFC 5952 compressed form, as tshark does.
std::string format_ip(const wire::ip_address& a) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.is_v4() ? AF_INET : AF_INET6, a.octets.data(), text, sizeof text);
  return text;
}

void append_inner(std::string& out, wire::const_bytes inner) {
  // dissect guarantees a complete Ethernet header wherever an inner frame starts.
  out += R"(,"inner":{"src_mac":)";
  append_mac(out, inner.subspan(6));
  out += R"(,"dst_mac":)";
  append_mac(out, inner);
  const std::uint16_t type = wire::load_be16(inner, 12);
  fmt::format_to(std::back_inserter(out), R"(,"ethertype":"0x{:04x}")", type);
  if (type == wire::ethernet::ethertype_vlan && inner.size() >= wire::ethernet::header_size + 2)
    fmt::format_to(std::back_inserter(out), R"(,"vlan_id":{})",
                   wire::load_be16(inner, 14) & wire::ethernet::vlan_vid_mask);
  out += '}';
}

std::string to_json(const wire::result<wire::dissection>& r) {
  if (!r) return fmt::format(R"({{"ok":false,"error":"{}"}})", wire::to_string(r.error()));
  const wire::dissection& d = *r;
  std::string out = fmt::format(R"({{"ok":true,"encap":"{}")", wire::to_string(d.encap));
  if (d.ip_version != 0)
    fmt::format_to(std::back_inserter(out), R"(,"outer":{{"ip_version":{},"src":"{}","dst":"{}"}})", d.ip_version,
                   format_ip(d.outer_src), format_ip(d.outer_dst));
  switch (d.encap) {
    case wire::encapsulation::vxlan:
      fmt::format_to(std::back_inserter(out), R"(,"vni":{})", d.vni);
      break;
    case wire::encapsulation::nvgre:
      fmt::format_to(std::back_inserter(out), R"(,"vsid":{},"flow_id":{})", d.nvgre.vsid, d.nvgre.flow_id);
      break;
    case wire::encapsulation::stt:
      fmt::format_to(std::back_inserter(out), R"(,"frame_len":{},"frag_offset":{},"frag_id":{})",
                     d.stt.frame_length, d.stt.fragment_offset, d.stt.frame_id);
      if (d.has_stt_frame_header)
        fmt::format_to(std::back_inserter(out), R"(,"context_id":{},"flags":{})", d.stt_frame.context_id,
                       d.stt_frame.flags);
      break;
    case wire::encapsulation::none:
      break;
  }
  if (d.inner_starts_frame()) append_inner(out, d.inner);
  out += '}';
  return out;
}

int decode(const char* path, const wire::dissect_options& opt) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  const pcap_handle pcap{pcap_open_offline(path, errbuf)};
  if (!pcap) {
    // libpcap sometimes starts its message with the path already.
    std::string_view reason = errbuf;
    if (const std::string prefix = fmt::format("{}: ", path); reason.starts_with(prefix))
      reason.remove_prefix(prefix.size());
    fmt::print(stderr, "nvo-pcap: cannot read {}: {}\n", path, reason);
    return 1;
  }
  if (const int link = pcap_datalink(pcap.get()); link != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(link);
    fmt::print(stderr, "nvo-pcap: {}: link type {} ({}) is not Ethernet; nvo-pcap decodes Ethernet captures only\n",
               path, link, name != nullptr ? name : "unknown");
    return 1;
  }
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(pcap.get(), &hdr, &data)) == 1) {
    // Only caplen bytes were captured; a snapped frame fails as truncated.
    const wire::const_bytes frame{reinterpret_cast<const std::byte*>(data), hdr->caplen};
    std::string line = to_json(wire::dissect(frame, opt));
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::fflush(stdout);
  if (rc == PCAP_ERROR) {
    fmt::print(stderr, "nvo-pcap: {}: {}\n", path, pcap_geterr(pcap.get()));
    return 1;
  }
  return 0;
}

int usage_error(std::string_view message) {
  fmt::print(stderr, "nvo-pcap: {}\nTry 'nvo-pcap --help'.\n", message);
  return 2;
}

// The top level's usage is the overview above; CLI11 writes the rest.
class formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    return app->get_parent() == nullptr ? std::string{} : CLI::Formatter::make_usage(app, std::move(name));
  }
};

const std::map<std::string, nvo::wire::encapsulation> encap_names{
    {"vxlan", nvo::wire::encapsulation::vxlan}, {"nvgre", nvo::wire::encapsulation::nvgre}, {"stt", nvo::wire::encapsulation::stt}};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{std::string(overview), "nvo-pcap"};
  app.formatter(std::make_shared<formatter>());
  app.require_subcommand(1);

  wire::dissect_options opt;
  std::string file;
  std::string reserved = "strict";
  unsigned vxlan_port = opt.vxlan_port;  // wider than the field, so 70000 fails the range check by name
  CLI::App* decode_cmd = app.add_subcommand("decode", "Print what each packet of FILE decodes to, as JSON lines");
  decode_cmd->footer(std::string(decode_help));
  decode_cmd->add_option("FILE", file, "pcap or pcapng capture, Ethernet link type");
  decode_cmd->add_option("--vxlan-port", vxlan_port, "UDP destination port of VXLAN (default 4789)")
      ->check(CLI::Range(1, 65535));
  decode_cmd->add_option("--reserved-bits", reserved,
                         "strict (default) rejects set reserved bits, as OVS, VPP and Linux do; ignore is the RFC receive rule")
      ->check(CLI::IsMember({"strict", "ignore"}));
  decode_cmd->add_flag("--accept-zero-udp6-checksum", opt.accept_zero_udp6_checksum,
                       "accept zero UDP checksums over IPv6 (RFC 6935)");

  nvo_examples::tunnel_command t;
  std::uint32_t vni = 0;
  std::string encapsulation;
  const auto add_encapsulation = [&](CLI::App* cmd) {
    cmd->add_option("--encapsulation", encapsulation,
                    "vxlan|nvgre|stt: replaces the config's `encapsulation` (the endpoints' default)")
        ->check(CLI::IsMember({"vxlan", "nvgre", "stt"}));
  };
  CLI::App* encap_cmd = app.add_subcommand("encap", "Encapsulate a capture of inner Ethernet frames");
  encap_cmd->footer(std::string(summary_help));
  encap_cmd->add_option("CONFIG", t.config, "tunnel configuration (TOML)")->required();
  encap_cmd->add_option("IN", t.in, "capture of inner Ethernet frames")->required();
  encap_cmd->add_option("OUT", t.out, "the encapsulated capture to write")->required();
  CLI::Option* vni_opt = encap_cmd->add_option("--vni", vni, "every frame's VNI/VSID (default: the VNI whose "
                                                             "`tenants` list the frame's source MAC)")
                             ->check(CLI::Range(0, 0xFFFFFF));
  encap_cmd->add_option("--replies", t.replies, "capture for frames back to the tenants: ICMP too big / packet too big");
  encap_cmd->add_option("--learn", t.learn_from,
                        "an underlay capture to decapsulate first (learning as configured), e.g. replies from peers");
  encap_cmd->add_flag("--json", t.json, "the summary as JSON on stdout");
  add_encapsulation(encap_cmd);

  CLI::App* decap_cmd = app.add_subcommand("decap", "Decapsulate a capture of underlay frames");
  decap_cmd->footer(std::string(summary_help));
  decap_cmd->add_option("CONFIG", t.config, "tunnel configuration (TOML)")->required();
  decap_cmd->add_option("IN", t.in, "capture of underlay frames")->required();
  decap_cmd->add_option("OUT", t.out, "the inner frames delivered")->required();
  decap_cmd->add_flag("--json", t.json, "the summary as JSON on stdout");
  add_encapsulation(decap_cmd);

  CLI::App* bench_cmd = app.add_subcommand("bench", "Time encap (CONFIG) + decap (PEER_CONFIG) over a capture in memory");
  bench_cmd->add_option("CONFIG", t.config, "the encapsulating VTEP's configuration")->required();
  bench_cmd->add_option("PEER_CONFIG", t.peer_config, "the decapsulating VTEP's configuration")->required();
  bench_cmd->add_option("IN", t.in, "capture of inner Ethernet frames")->required();
  bench_cmd->add_option("--repeat", t.repeat, "passes over the capture (default 1)")->check(CLI::Range(1u, 100000000u));
  CLI::Option* bench_vni = bench_cmd->add_option("--vni", vni, "every frame's VNI/VSID")->check(CLI::Range(0, 0xFFFFFF));
  bench_cmd->add_flag("--json", t.json, "the result as JSON on stdout");
  add_encapsulation(bench_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }
  if (vni_opt->count() != 0 || bench_vni->count() != 0) t.vni = vni;
  if (!encapsulation.empty()) t.encapsulation = encap_names.at(encapsulation);
  if (decode_cmd->parsed()) {
    if (file.empty()) return usage_error("decode needs a FILE");
    opt.vxlan_port = static_cast<std::uint16_t>(vxlan_port);
    opt.reserved = reserved == "ignore" ? wire::reserved_bits::ignore : wire::reserved_bits::strict;
    return decode(file.c_str(), opt);
  }
  if (encap_cmd->parsed()) return nvo_examples::run_encap(t);
  if (decap_cmd->parsed()) return nvo_examples::run_decap(t);
  return nvo_examples::run_bench(t);
}
