// What nvo-vtep (Linux sockets) and nvo-vtep-dpdk (DPDK ports) share: the
// command line, the counters line both print, and the small decisions both
// make the same way. Each program keeps only its I/O.
#pragma once

#include <time.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "nvo/pipeline/verdict.hpp"
#include "nvo/wire/ethernet.hpp"
#include "tunnel.hpp"

namespace nvo_examples::vtep {

namespace np = nvo::pipeline;

// A device or system call refused: exit status 1, like a bad config.
struct tool_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::uint32_t monotonic_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint32_t>(ts.tv_sec);
}

// Set by SIGINT/SIGTERM; the datapath loop checks it.
inline volatile std::sig_atomic_t stop_requested = 0;
inline void request_stop(int /*sig*/) { stop_requested = 1; }

// What the programs count beside the pipelines' own counters.
struct counters {
  std::uint64_t aged = 0;
  std::uint64_t unknown_tenant = 0;    // TAP frames whose source MAC is in no VNI's tenants
  std::uint64_t outgoing_ignored = 0;  // underlay frames we (or the host) sent
  std::uint64_t truncated = 0;         // underlay frames that do not fit one receive buffer
  std::uint64_t offload_refused = 0;   // underlay frames whose offload state the device cannot describe
  std::uint64_t segments = 0;
  std::uint64_t too_big_messages = 0;
  std::uint64_t tx_errors = 0;   // underlay: not sent, or no buffer for a copy or segment
  std::uint64_t tap_errors = 0;  // TAP: not written, or no buffer for an ICMP message
  std::uint64_t coalesced = 0;   // underlay TCP segments merged into larger TAP frames (GRO)
  std::uint64_t tso_segments = 0;  // TCP segments cut from large TAP frames (TSO)
  std::uint64_t underlay_drops = 0;  // underlay frames the kernel (or the PMD) had no room for, read once a second
};

// The line after "nvo-vtep stats: " and "nvo-vtep final: ". Scripts read it
// by field name, so fields are only ever added.
inline std::string counters_line(const np::pipeline_counters& e, const np::pipeline_counters& d, const counters& c,
                                 std::size_t fdb_entries) {
  std::string s = fmt::format(
      "encapsulated={} decapsulated={} flooded={} replicas={} segments={} replies={} too_big={} learned={} aged={} "
      "fdb_entries={} unknown_tenant={} outgoing_ignored={} truncated={} offload_refused={} tx_errors={} tap_errors={} "
      "coalesced={} tso_segments={} underlay_drops={}",
      e.encapsulated, d.decapsulated, e.flooded, e.replicas, c.segments, e.replies, e.too_big, d.learned, c.aged,
      fdb_entries, c.unknown_tenant, c.outgoing_ignored, c.truncated, c.offload_refused, c.tx_errors, c.tap_errors,
      c.coalesced, c.tso_segments, c.underlay_drops);
  for (std::size_t r = 0; r < np::drop_reason_count; ++r)
    if (const std::uint64_t k = e.drops[r] + d.drops[r]; k != 0)
      fmt::format_to(std::back_inserter(s), " drop.{}={}", np::to_string(static_cast<np::drop_reason>(r)), k);
  return s;
}

// The "nvo-vtep stats: " lines every interval seconds (0: never) and the
// "nvo-vtep final: " line; line() makes the counters line.
class stats_lines {
 public:
  explicit stats_lines(unsigned interval) : interval_(interval), last_(monotonic_seconds()) {}
  template <class Line>
  void tick(std::uint32_t now, Line&& line) {
    if (interval_ == 0 || now - last_ < interval_) return;
    fmt::print(stderr, "nvo-vtep stats: {}\n", line());
    last_ = now;
  }
  template <class Line>
  static void final(Line&& line) {
    fmt::print(stderr, "nvo-vtep final: {}\n", line());
  }

 private:
  unsigned interval_;
  std::uint32_t last_;
};

// The most copies one flooded frame needs: one per remote, or one for a group.
inline std::size_t flood_fanout(const tunnel_config& c) {
  std::size_t k = 1;
  for (const auto& v : c.vnis) k = std::max(k, v.group ? std::size_t{1} : v.flood.size());
  return k;
}

// The largest STT frame (64 KiB) in segments: each carries at least the MTU
// less the outer headers (under 160 bytes); the pipeline refuses with
// stt_too_many_segments if there are not enough.
inline std::size_t max_segments(std::uint16_t mtu) { return 65536 / std::max<std::size_t>(mtu - 160, 256) + 2; }

// A TAP frame's VNI: --vni, or the VNI whose `tenants` list its source MAC.
inline std::optional<std::uint32_t> tenant_of(const tunnel_config& c, std::optional<std::uint32_t> vni,
                                              std::span<const std::byte> frame) {
  if (vni) return vni;
  if (frame.size() < nvo::wire::ethernet::header_size) return std::nullopt;
  nvo::wire::mac_address src;
  std::memcpy(src.octets.data(), frame.data() + 6, 6);
  for (const auto& v : c.vnis)
    if (std::find(v.tenants.begin(), v.tenants.end(), src) != v.tenants.end()) return v.id;
  return std::nullopt;
}

// The command line both programs take; add_options() declares it on app.
struct options {
  std::string config, underlay, tap;
  std::optional<std::uint32_t> vni;
  unsigned stats_interval = 0;
};

class command_line {
 public:
  command_line(CLI::App& app, std::string_view underlay_help, std::string_view tap_help) {
    app.add_option("--config", o_.config, "tunnel configuration (TOML)")->required();
    app.add_option("--underlay", o_.underlay, std::string(underlay_help))->required();
    app.add_option("--tap", o_.tap, std::string(tap_help))->required();
    vni_opt_ = app.add_option("--vni", vni_, "every TAP frame's VNI/VSID (default: the VNI whose `tenants` list the "
                                             "frame's source MAC)")
                   ->check(CLI::Range(0, 0xFFFFFF));
    app.add_option("--stats-interval", o_.stats_interval, "print the counters line every S seconds (default 0: never)")
        ->check(CLI::Range(0u, 86400u));
  }
  // After app.parse().
  [[nodiscard]] options get() const {
    options o = o_;
    if (vni_opt_->count() != 0) o.vni = vni_;
    return o;
  }

 private:
  options o_;
  std::uint32_t vni_ = 0;
  CLI::Option* vni_opt_ = nullptr;
};

// main() of both: parse, run, and map errors to the exit status (0 after a
// signal, 1 for a bad config or a device error, 2 for a usage error).
template <class Run>
int run_main(CLI::App& app, const command_line& cl, int argc, char** argv, Run run) {
  const std::string name = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "{}: {}\nTry '{} --help'.\n", name, e.what(), name);
    return 2;
  }
  try {
    const options o = cl.get();
    return run(o);
  } catch (const config_error& e) {
    fmt::print(stderr, "{}: {}\n", name, e.what());
  } catch (const tool_error& e) {
    fmt::print(stderr, "{}: {}\n", name, e.what());
  }
  return 1;
}

}  // namespace nvo_examples::vtep
