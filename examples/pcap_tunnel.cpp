// nvo-pcap encap | decap | bench: reads a capture with libpcap, runs every
// frame through the nvo pipeline a tunnel_config describes, writes the result
// with pcap_dump and summarizes the verdicts. The forwarding decisions are
// the pipeline's; this file moves frames between captures and buffers.
#include "pcap_tunnel.hpp"

#include <pcap/pcap.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "nvo/pipeline/reply.hpp"
#include "nvo/wire/dissect.hpp"
#include "nvo/wire/ethernet.hpp"
#include "tunnel.hpp"

namespace nvo_examples {

namespace {

constexpr std::size_t headroom = 128;  // >= header_template::max_size
constexpr std::size_t burst_size = 32;

// Thrown for an unreadable input or unwritable output (exit status 1).
struct tool_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct frame {
  timeval ts{};
  std::vector<std::byte> storage;  // headroom, then the frame
  std::size_t size = 0;
  np::buffer buf;

  void reset() { buf = np::buffer(storage, headroom, size); }
  [[nodiscard]] wire::const_bytes original() const { return {storage.data() + headroom, size}; }
};

struct pcap_closer {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using pcap_handle = std::unique_ptr<pcap_t, pcap_closer>;

// Every frame of an Ethernet capture, each in its own buffer with headroom.
std::vector<frame> read_capture(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  const pcap_handle pcap{pcap_open_offline(path.c_str(), errbuf)};
  if (!pcap) {
    std::string_view reason = errbuf;  // libpcap sometimes starts its message with the path
    if (const std::string prefix = path + ": "; reason.starts_with(prefix)) reason.remove_prefix(prefix.size());
    throw tool_error(fmt::format("cannot read {}: {}", path, reason));
  }
  if (pcap_datalink(pcap.get()) != DLT_EN10MB) throw tool_error(fmt::format("{}: not an Ethernet capture", path));
  std::vector<frame> frames;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(pcap.get(), &hdr, &data)) == 1) {
    frame& f = frames.emplace_back();
    f.ts = hdr->ts;
    f.size = hdr->caplen;
    // Decapsulation delivers a reassembled STT frame in its last segment's
    // buffer: segments of larger frames get room for the largest.
    const auto d = wire::dissect({reinterpret_cast<const std::byte*>(data), f.size});
    const bool stt_segment = d && d->encap == wire::encapsulation::stt &&
                             !(d->has_stt_frame_header && d->stt.frame_length == d->inner.size() + wire::stt::frame_header_size);
    f.storage.resize(headroom + (stt_segment ? std::max<std::size_t>(f.size, 65536) : f.size));
    std::memcpy(f.storage.data() + headroom, data, f.size);
  }
  if (rc == PCAP_ERROR) throw tool_error(fmt::format("{}: {}", path, pcap_geterr(pcap.get())));
  // The buffers point into storage: set them once the vector no longer moves.
  for (auto& f : frames) f.reset();
  return frames;
}

// A capture written to PATH.partial and renamed over PATH by commit(), so a
// failed run leaves no output file.
class capture_writer {
 public:
  explicit capture_writer(std::string path) : path_(std::move(path)), partial_(path_ + ".partial") {
    dead_.reset(pcap_open_dead(DLT_EN10MB, 65535));
    dumper_ = pcap_dump_open(dead_.get(), partial_.c_str());
    if (dumper_ == nullptr) throw tool_error(fmt::format("cannot write {}: {}", path_, pcap_geterr(dead_.get())));
  }
  capture_writer(const capture_writer&) = delete;
  capture_writer& operator=(const capture_writer&) = delete;
  ~capture_writer() {
    if (dumper_ != nullptr) {
      pcap_dump_close(dumper_);
      std::error_code ec;
      std::filesystem::remove(partial_, ec);
    }
  }
  void write(const timeval& ts, wire::const_bytes b) {
    pcap_pkthdr h{};
    h.ts = ts;
    h.caplen = h.len = static_cast<bpf_u_int32>(b.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, reinterpret_cast<const u_char*>(b.data()));
    ++written_;
  }
  void commit() {
    const bool flushed = pcap_dump_flush(dumper_) == 0;
    pcap_dump_close(dumper_);
    dumper_ = nullptr;
    std::error_code ec;
    if (!flushed || (std::filesystem::rename(partial_, path_, ec), ec)) {
      std::filesystem::remove(partial_, ec);
      throw tool_error(fmt::format("cannot write {}", path_));
    }
  }
  [[nodiscard]] std::uint64_t written() const { return written_; }

 private:
  std::string path_, partial_;
  pcap_handle dead_;
  pcap_dumper_t* dumper_ = nullptr;
  std::uint64_t written_ = 0;
};

// The outer addresses of an underlay frame (at most one 802.1Q tag), for the
// per-tunnel counts; nullopt if it is not IP.
std::optional<std::pair<wire::ip_address, wire::ip_address>> outer_addresses(wire::const_bytes f) {
  std::size_t l3 = wire::ethernet::header_size;
  if (f.size() < l3) return std::nullopt;
  std::uint16_t type = wire::load_be16(f, 12);
  if (type == wire::ethernet::ethertype_vlan && f.size() >= l3 + 4) {
    type = wire::load_be16(f, 16);
    l3 += 4;
  }
  wire::ip_address src, dst;
  if (type == wire::ethernet::ethertype_ipv4 && f.size() >= l3 + 20) {
    src.version = dst.version = 4;
    std::memcpy(src.octets.data(), f.data() + l3 + 12, 4);
    std::memcpy(dst.octets.data(), f.data() + l3 + 16, 4);
  } else if (type == wire::ethernet::ethertype_ipv6 && f.size() >= l3 + 40) {
    src.version = dst.version = 6;
    std::memcpy(src.octets.data(), f.data() + l3 + 8, 16);
    std::memcpy(dst.octets.data(), f.data() + l3 + 24, 16);
  } else {
    return std::nullopt;
  }
  return std::pair{src, dst};
}

// What happened to a run's packets.
struct summary {
  std::string command;
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  std::map<std::string, std::uint64_t> verdicts;  // by action
  std::map<std::string, std::uint64_t> drops;     // by drop_reason
  std::map<std::string, std::uint64_t> malformed;  // by wire::errc, for drops of reason malformed
  std::uint64_t replicas = 0;                       // flood copies written
  std::uint64_t segments = 0;                       // STT segments written
  std::map<std::string, std::uint64_t> replica_drops;
  std::uint64_t too_big_messages = 0;  // ICMP messages written to --replies
  std::uint64_t unknown_tenant = 0;    // encap: inner source MAC in no VNI's tenants
  std::uint64_t learned = 0;
  std::map<std::tuple<std::string, std::string, std::uint32_t>, std::uint64_t> tunnels;  // {encap, remote, vni}

  void count(const np::verdict& v) {
    ++verdicts[std::string(np::to_string(v.act))];
    if (v.act != np::action::drop) return;
    ++drops[std::string(np::to_string(v.reason))];
    if (v.reason == np::drop_reason::malformed) ++malformed[std::string(wire::to_string(v.error))];
  }
  void tunnel(const np::verdict& v, const wire::ip_address& remote) {
    ++tunnels[{std::string(wire::to_string(v.encap)), to_string(remote), v.tenant}];
  }
};

std::string json_object(const std::map<std::string, std::uint64_t>& m) {
  std::string s = "{";
  for (const auto& [k, v] : m) fmt::format_to(std::back_inserter(s), "{}\"{}\":{}", s.size() > 1 ? "," : "", k, v);
  return s + "}";
}

void print(const summary& s, bool json, const std::string& peer_word) {
  if (json) {
    std::string t = "[";
    for (const auto& [k, n] : s.tunnels)
      fmt::format_to(std::back_inserter(t), "{}{{\"encap\":\"{}\",\"{}\":\"{}\",\"vni\":{},\"packets\":{}}}",
                     t.size() > 1 ? "," : "", std::get<0>(k), peer_word, std::get<1>(k), std::get<2>(k), n);
    t += "]";
    fmt::print("{{\"command\":\"{}\",\"packets_in\":{},\"packets_out\":{},\"verdicts\":{},\"drops\":{},\"malformed\":{},"
               "\"replicas\":{},\"replica_drops\":{},\"segments\":{},\"too_big_messages\":{},\"unknown_tenant\":{},"
               "\"learned\":{},\"tunnels\":{}}}\n",
               s.command, s.packets_in, s.packets_out, json_object(s.verdicts), json_object(s.drops),
               json_object(s.malformed), s.replicas, json_object(s.replica_drops), s.segments, s.too_big_messages,
               s.unknown_tenant, s.learned, t);
    return;
  }
  std::string line = fmt::format("nvo-pcap {}: {} packets in, {} out;", s.command, s.packets_in, s.packets_out);
  for (const auto& [k, n] : s.verdicts) fmt::format_to(std::back_inserter(line), " {} {}", k, n);
  fmt::print(stderr, "{}\n", line);
  if (s.replicas != 0 || !s.replica_drops.empty()) fmt::print(stderr, "  flood copies: {}\n", s.replicas);
  if (s.segments != 0) fmt::print(stderr, "  STT segments: {}\n", s.segments);
  if (s.drops.empty()) fmt::print(stderr, "  drops: none\n");
  for (const auto& [k, n] : s.drops) fmt::print(stderr, "  drop {}: {}\n", k, n);
  for (const auto& [k, n] : s.malformed) fmt::print(stderr, "  malformed {}: {}\n", k, n);
  for (const auto& [k, n] : s.replica_drops) fmt::print(stderr, "  flood copy drop {}: {}\n", k, n);
  if (s.too_big_messages != 0) fmt::print(stderr, "  ICMP too-big messages: {}\n", s.too_big_messages);
  if (s.unknown_tenant != 0) fmt::print(stderr, "  inner source MAC in no VNI's tenants: {}\n", s.unknown_tenant);
  if (s.learned != 0) fmt::print(stderr, "  MACs learned: {}\n", s.learned);
  for (const auto& [k, n] : s.tunnels)
    fmt::print(stderr, "  tunnel {} {} {} vni {}: {} packets\n", std::get<0>(k), peer_word, std::get<1>(k), std::get<2>(k), n);
}

std::unique_ptr<vtep_state> load_state(const std::string& path, std::optional<wire::encapsulation> e) {
  return std::make_unique<vtep_state>(load_tunnel_config(path, e));
}

// The VNI each frame belongs to: --vni, or the VNI whose tenants list the
// frame's source MAC (nullopt: none does).
std::vector<std::optional<std::uint32_t>> tenants_of(const std::vector<frame>& frames, const tunnel_config& c,
                                                     std::optional<std::uint32_t> vni) {
  std::vector<std::optional<std::uint32_t>> out;
  out.reserve(frames.size());
  for (const auto& f : frames) {
    std::optional<std::uint32_t> t = vni;
    if (!t && f.size >= wire::ethernet::header_size) {
      wire::mac_address src;
      std::memcpy(src.octets.data(), f.original().data() + 6, 6);
      for (const auto& v : c.vnis)
        if (std::find(v.tenants.begin(), v.tenants.end(), src) != v.tenants.end()) t = v.id;
    }
    out.push_back(t);
  }
  return out;
}

// Consecutive frames of one tenant, at most burst_size of them.
struct run {
  std::size_t begin, end;
  std::uint32_t tenant;
};
std::vector<run> tenant_runs(const std::vector<std::optional<std::uint32_t>>& tenants, const std::vector<bool>& use) {
  std::vector<run> runs;
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    if (!tenants[i] || !use[i]) continue;
    if (!runs.empty() && runs.back().end == i && runs.back().tenant == *tenants[i] && i - runs.back().begin < burst_size)
      ++runs.back().end;
    else
      runs.push_back({i, i + 1, *tenants[i]});
  }
  return runs;
}

// Decapsulates frames (with learning, if configured), counting into s and
// handing each delivered inner frame to deliver(frame).
template <class Deliver>
void decapsulate_all(decapsulator& d, std::vector<frame>& frames, summary& s, Deliver deliver) {
  std::array<np::buffer*, burst_size> burst{};
  std::array<np::verdict, burst_size> verdicts{};
  std::array<std::optional<std::pair<wire::ip_address, wire::ip_address>>, burst_size> outer{};
  for (std::size_t base = 0; base < frames.size(); base += burst_size) {
    const std::size_t n = std::min(burst_size, frames.size() - base);
    for (std::size_t i = 0; i < n; ++i) {
      burst[i] = &frames[base + i].buf;
      outer[i] = outer_addresses(frames[base + i].original());
    }
    d.set_time(static_cast<std::uint32_t>(frames[base].ts.tv_sec));
    d.decapsulate({burst.data(), n}, {verdicts.data(), n});
    for (std::size_t i = 0; i < n; ++i) {
      s.count(verdicts[i]);
      if (!verdicts[i].ok()) continue;
      s.tunnel(verdicts[i], outer[i]->first);  // forwarded: dissect found IP
      deliver(frames[base + i]);
    }
  }
  s.learned += d.counters().learned;
  s.packets_in += frames.size();
}

void report_error(const std::exception& e) { fmt::print(stderr, "nvo-pcap: {}\n", e.what()); }

}  // namespace

int run_encap(const tunnel_command& c) {
  try {
    const auto state = load_state(c.config, c.encapsulation);
    std::vector<frame> frames = read_capture(c.in);
    std::vector<frame> learn = c.learn_from.empty() ? std::vector<frame>{} : read_capture(c.learn_from);
    const auto enc = make_encapsulator(*state);
    capture_writer out(c.out);
    std::optional<capture_writer> replies;
    if (!c.replies.empty()) replies.emplace(c.replies);

    summary s;
    s.command = "encap";
    if (!learn.empty()) {
      summary learned;
      decapsulate_all(*make_decapsulator(*state), learn, learned, [](const frame&) {});
      s.learned = learned.learned;
    }
    const auto tenants = tenants_of(frames, state->config, c.vni);
    const auto runs = tenant_runs(tenants, std::vector<bool>(frames.size(), true));
    s.packets_in = frames.size();
    s.unknown_tenant = static_cast<std::uint64_t>(std::count(tenants.begin(), tenants.end(), std::nullopt));

    std::array<np::buffer*, burst_size> burst{};
    std::array<np::verdict, burst_size> verdicts{};
    std::vector<std::vector<std::byte>> copy_storage;
    std::vector<np::buffer> copies;
    std::vector<np::buffer*> copy_ptrs;
    std::vector<np::verdict> copy_verdicts;
    for (const run& r : runs) {
      const std::size_t n = r.end - r.begin;
      for (std::size_t i = 0; i < n; ++i) burst[i] = &frames[r.begin + i].buf;
      enc->encapsulate({burst.data(), n}, r.tenant, {verdicts.data(), n});
      for (std::size_t i = 0; i < n; ++i) {
        frame& f = frames[r.begin + i];
        const np::verdict& v = verdicts[i];
        s.count(v);
        if (v.act == np::action::forward) {
          out.write(f.ts, f.buf.bytes());
          s.tunnel(v, outer_addresses(f.buf.bytes())->second);
        } else if (v.act == np::action::flood) {
          // One buffer per flood-list remote (or one for the group).
          const vni_entry* ve = state->config.find_vni(r.tenant);
          const std::size_t k = ve->group ? 1 : ve->flood.size();
          copy_storage.assign(k, std::vector<std::byte>(headroom + f.size));
          copies.clear();
          copy_ptrs.clear();
          for (auto& st : copy_storage) copies.emplace_back(st, headroom, 0);
          for (auto& b : copies) copy_ptrs.push_back(&b);
          copy_verdicts.assign(k, np::verdict{});
          const std::size_t made = enc->flood(f.buf, r.tenant, copy_ptrs, copy_verdicts);
          for (std::size_t j = 0; j < made; ++j) {
            if (!copy_verdicts[j].ok()) {
              ++s.replica_drops[std::string(np::to_string(copy_verdicts[j].reason))];
              continue;
            }
            out.write(f.ts, copies[j].bytes());
            s.tunnel(copy_verdicts[j], outer_addresses(copies[j].bytes())->second);
            ++s.replicas;
          }
        } else if (v.act == np::action::segment) {
          // One underlay packet's room per segment.
          copy_storage.assign(v.segments, std::vector<std::byte>(state->options.underlay_mtu + 64));
          copies.clear();
          copy_ptrs.clear();
          for (auto& st : copy_storage) copies.emplace_back(st, 0, 0);
          for (auto& b : copies) copy_ptrs.push_back(&b);
          const np::verdict sv = enc->segment(f.buf, r.tenant, copy_ptrs);
          if (!sv.ok()) {
            s.count(sv);
            continue;
          }
          for (std::size_t j = 0; j < sv.segments; ++j) out.write(f.ts, copies[j].bytes());
          s.tunnel(sv, outer_addresses(copies[0].bytes())->second);
          s.segments += sv.segments;
        } else if (v.act == np::action::too_big && replies) {
          std::array<std::byte, 1600> icmp{};
          if (const auto len = np::build_too_big(f.original(), v.mtu, icmp)) {
            replies->write(f.ts, {icmp.data(), *len});
            ++s.too_big_messages;
          }
        }
      }
    }
    out.commit();
    if (replies) replies->commit();
    s.packets_out = out.written();
    print(s, c.json, "to");
    return 0;
  } catch (const config_error& e) {
    report_error(e);
  } catch (const tool_error& e) {
    report_error(e);
  }
  return 1;
}

int run_decap(const tunnel_command& c) {
  try {
    const auto state = load_state(c.config, c.encapsulation);
    std::vector<frame> frames = read_capture(c.in);
    const auto dec = make_decapsulator(*state);
    capture_writer out(c.out);
    summary s;
    s.command = "decap";
    decapsulate_all(*dec, frames, s, [&](const frame& f) { out.write(f.ts, f.buf.bytes()); });
    out.commit();
    s.packets_out = out.written();
    print(s, c.json, "from");
    return 0;
  } catch (const config_error& e) {
    report_error(e);
  } catch (const tool_error& e) {
    report_error(e);
  }
  return 1;
}

// bench: the frames this VTEP encapsulates to one endpoint (unicast) are
// encapsulated with CONFIG's pipeline and decapsulated with PEER's, in place,
// `repeat` times; the round trip is checked against the capture first.
int run_bench(const tunnel_command& c) {
  try {
    const auto local = load_state(c.config, c.encapsulation);
    const auto peer = load_state(c.peer_config, c.encapsulation);
    std::vector<frame> frames = read_capture(c.in);
    const auto enc = make_encapsulator(*local);
    const auto dec = make_decapsulator(*peer);
    // Bursts per tenant port, as a VTEP reads them from each VM's queue: the
    // frames grouped by VNI, in capture order within each. (Moving a frame
    // keeps its storage, so its buffer stays valid.)
    {
      const auto t = tenants_of(frames, local->config, c.vni);
      std::vector<std::size_t> order(frames.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return t[x] < t[y]; });
      std::vector<frame> sorted;
      sorted.reserve(frames.size());
      for (std::size_t i : order) sorted.push_back(std::move(frames[i]));
      frames = std::move(sorted);
    }
    const auto tenants = tenants_of(frames, local->config, c.vni);

    std::array<np::buffer*, burst_size> burst{};
    std::array<np::verdict, burst_size> verdicts{};
    std::array<np::buffer*, burst_size> sent{};
    std::array<std::size_t, burst_size> sent_index{};
    // One round trip over the runs; returns how many frames made it.
    const auto round_trip = [&](const std::vector<run>& runs, std::vector<bool>* ok) {
      std::size_t delivered = 0;
      for (const run& r : runs) {
        const std::size_t n = r.end - r.begin;
        for (std::size_t i = 0; i < n; ++i) burst[i] = &frames[r.begin + i].buf;
        enc->encapsulate({burst.data(), n}, r.tenant, {verdicts.data(), n});
        std::size_t m = 0;
        for (std::size_t i = 0; i < n; ++i) {
          if (!verdicts[i].ok()) continue;
          sent[m] = burst[i];
          sent_index[m++] = r.begin + i;
        }
        dec->decapsulate({sent.data(), m}, {verdicts.data(), m});
        for (std::size_t i = 0; i < m; ++i) {
          delivered += verdicts[i].ok();
          if (ok != nullptr) (*ok)[sent_index[i]] = verdicts[i].ok();
          if (!verdicts[i].ok()) frames[sent_index[i]].reset();  // a refused packet keeps its outer headers
        }
      }
      return delivered;
    };

    std::vector<bool> ok(frames.size(), false);
    round_trip(tenant_runs(tenants, std::vector<bool>(frames.size(), true)), &ok);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      if (!ok[i]) {
        frames[i].reset();
        continue;
      }
      const wire::const_bytes now = frames[i].buf.bytes();
      if (now.size() != frames[i].size || !std::equal(now.begin(), now.end(), frames[i].original().begin()))
        throw tool_error(fmt::format("bench: frame {} did not survive encap+decap unchanged", i + 1));
    }
    const auto runs = tenant_runs(tenants, ok);
    const std::size_t unicast = static_cast<std::size_t>(std::count(ok.begin(), ok.end(), true));
    if (unicast == 0) throw tool_error("bench: no frame of the capture is encapsulated to one endpoint and delivered");

    // This thread's CPU time: on a shared machine, wall time would count other processes' turns.
    const auto cpu_seconds = [] {
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    };
    const double start = cpu_seconds();
    std::size_t delivered = 0;
    for (std::uint32_t rep = 0; rep < c.repeat; ++rep) delivered += round_trip(runs, nullptr);
    const double seconds = cpu_seconds() - start;
    if (delivered != unicast * c.repeat) throw tool_error("bench: a round trip failed on a repeat");
    const double mpps = static_cast<double>(delivered) / seconds / 1e6;
    if (c.json)
      fmt::print("{{\"command\":\"bench\",\"frames\":{},\"repeat\":{},\"seconds\":{:.6f},\"mpps\":{:.3f},\"ns_per_frame\":{:.1f}}}\n",
                 unicast, c.repeat, seconds, mpps, seconds * 1e9 / static_cast<double>(delivered));
    else
      fmt::print(stderr, "nvo-pcap bench: {} frames x {}: encap+decap {:.2f} Mpps ({:.1f} ns per frame, one core's CPU time)\n",
                 unicast, c.repeat, mpps, seconds * 1e9 / static_cast<double>(delivered));
    return 0;
  } catch (const config_error& e) {
    report_error(e);
  } catch (const tool_error& e) {
    report_error(e);
  }
  return 1;
}

}  // namespace nvo_examples
