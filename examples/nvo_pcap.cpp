// nvo-pcap: decodes a pcap capture with nvo::wire::dissect and prints one JSON
// object per packet, in capture order. A thin, real tool over the codecs: the
// validation is nvo's, this file only reads the capture and formats results.
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "nvo/wire/dissect.hpp"

namespace {

namespace wire = nvo::wire;

constexpr std::string_view usage = R"(usage: nvo-pcap decode [options] FILE
       nvo-pcap --help

Decodes every packet of FILE (pcap or pcapng, Ethernet link type) as VXLAN,
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

options:
  --vxlan-port N                 UDP destination port of VXLAN (default 4789)
  --reserved-bits strict|ignore  strict (default) rejects set reserved bits, as
                                 OVS, VPP and Linux do; ignore is the RFC receive rule
  --accept-zero-udp6-checksum    accept zero UDP checksums over IPv6 (RFC 6935)
  -h, --help                     print this help and exit

exit status: 0 when FILE was read to its end (malformed packets included),
1 when FILE cannot be read or is not an Ethernet capture, 2 on a usage error.
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

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || value == 0 || value > 0xFFFF) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

int usage_error(std::string_view message) {
  fmt::print(stderr, "nvo-pcap: {}\nTry 'nvo-pcap --help'.\n", message);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::span<char*> args{argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0)};
  wire::dissect_options opt;
  std::string_view command;
  const char* file = nullptr;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) return std::nullopt;
      return std::string_view{args[++i]};
    };
    if (a == "-h" || a == "--help") {
      fmt::print("{}", usage);
      return 0;
    }
    if (a == "--vxlan-port") {
      const auto v = value();
      const auto port = v ? parse_port(*v) : std::nullopt;
      if (!port) return usage_error("--vxlan-port needs a port number 1-65535");
      opt.vxlan_port = *port;
    } else if (a == "--reserved-bits") {
      const auto v = value();
      if (v == "strict") {
        opt.reserved = wire::reserved_bits::strict;
      } else if (v == "ignore") {
        opt.reserved = wire::reserved_bits::ignore;
      } else {
        return usage_error("--reserved-bits needs strict or ignore");
      }
    } else if (a == "--accept-zero-udp6-checksum") {
      opt.accept_zero_udp6_checksum = true;
    } else if (a.starts_with("-") && a != "-") {
      return usage_error(fmt::format("unknown option {}", a));
    } else if (command.empty()) {
      command = a;
    } else if (file == nullptr) {
      file = args[i];
    } else {
      return usage_error("one FILE at a time");
    }
  }
  if (command.empty()) return usage_error("missing command (decode)");
  if (command != "decode") return usage_error(fmt::format("unknown command {}", command));
  if (file == nullptr) return usage_error("decode needs a FILE");
  return decode(file, opt);
}
