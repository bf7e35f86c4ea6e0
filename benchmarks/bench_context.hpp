// Benchmark report context shared by every benchmark binary: which CPU the run
// had (model name, family/model/stepping, L1d and L2 sizes), the build flags
// (NVO_BENCH_BUILD_FLAGS and, with DPDK, NVO_BENCH_DPDK_FLAGS, both set by
// benchmarks/CMakeLists.txt) and the SIMD path nvo dispatches to. Call nvo_bench::add_context() once in main(), before
// benchmark::RunSpecifiedBenchmarks(); the values land in the report's context
// (console header and the JSON "context" object).
#pragma once

#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <string_view>

#include "nvo/simd/dispatch.hpp"

#ifndef NVO_BENCH_BUILD_FLAGS
#define NVO_BENCH_BUILD_FLAGS "unknown (not built by benchmarks/CMakeLists.txt)"
#endif

namespace nvo_bench {

namespace detail {
// The value of the first "key : value" line of /proc/cpuinfo whose key is key.
inline std::string cpuinfo_field(std::string_view key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view k(line.data(), colon);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.remove_suffix(1);
    if (k == key) return line.substr(colon + (colon + 1 < line.size() ? 2 : 1));
  }
  return "unknown";
}

// The size of cpu0's cache at level with type ("Data", "Unified"), from sysfs.
inline std::string cache_size(int level, std::string_view type) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream lv(dir + "level"), ty(dir + "type"), sz(dir + "size");
    int l = 0;
    std::string t, size;
    if (!(lv >> l) || !(ty >> t) || !(sz >> size)) continue;
    if (l == level && t == type) return size;
  }
  return "unknown";
}
}  // namespace detail

inline void add_context() {
  benchmark::AddCustomContext("cpu_model", detail::cpuinfo_field("model name"));
  benchmark::AddCustomContext("cpu_family_model_stepping", detail::cpuinfo_field("cpu family") + "/" +
                                                               detail::cpuinfo_field("model") + "/" +
                                                               detail::cpuinfo_field("stepping"));
  benchmark::AddCustomContext("cpu_l1d", detail::cache_size(1, "Data"));
  benchmark::AddCustomContext("cpu_l2", detail::cache_size(2, "Unified"));
  benchmark::AddCustomContext("build_flags", NVO_BENCH_BUILD_FLAGS);
#ifdef NVO_BENCH_DPDK_FLAGS
  benchmark::AddCustomContext("dpdk_flags", NVO_BENCH_DPDK_FLAGS);  // DPDK's pkg-config flags this binary kept
#endif
  benchmark::AddCustomContext("nvo_simd_path", std::string(nvo::simd::to_string(nvo::simd::active())));
}

}  // namespace nvo_bench
