// nvo::simd kernels beside DPDK on the same inputs, named <Operation>/<impl>/<size>.
// impl: nvo (dispatched entry point), nvo_<path> (a specific kernel), dpdk (the
// header-inline DPDK function; built only when libdpdk is found).
//
// At start-up every nvo/dpdk pair is checked for equal results on the benchmark
// inputs; a mismatch aborts, so the timings always compare equal work.
//
// ChecksumPaired/ and ToeplitzPaired/nvo_over_dpdk/<size> run both in
// alternation and report the median time ratio (< 1: nvo is faster), the figure
// to quote on a noisy machine. Both Toeplitz sides take the length at run time;
// DPDK's GFNI rows exist only where its headers compiled GFNI in (-march with
// GFNI and AVX-512) and, like nvo's GFNI kernel rows, only on a CPU that has it.
#include <benchmark/benchmark.h>

// GCC 12 flags its own AVX-512 intrinsics (and DPDK's GFNI code using them) with a
// false -W(maybe-)uninitialized once inlined at -O3 (GCC PR 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "bench_context.hpp"
#include "nvo/simd/simd.hpp"

#ifdef NVO_BENCH_DPDK
#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_thash.h>
#endif

namespace {

namespace simd = nvo::simd;

constexpr std::size_t max_size = 65536;
constexpr std::size_t tuple_count = 256;  // tuples hashed per iteration (fits L1)

struct inputs {
  std::vector<std::byte> buf = random(max_size + 64, 1);
  std::vector<std::byte> dst = std::vector<std::byte>(max_size + 64);
  std::vector<std::byte> tuples = random(tuple_count * 36, 2);  // network order, 36 bytes apart
  std::vector<const std::byte*> tuple_ptrs;
  std::vector<std::byte> ipv4_headers = random(tuple_count * 20, 3);
  simd::toeplitz_key key{};
#ifdef NVO_BENCH_DPDK
  std::array<std::uint64_t, 40> dpdk_matrices{};
  std::vector<std::uint32_t> host_tuples;  // rte_softrss wants host-order 32-bit words
  std::vector<std::uint8_t*> dpdk_tuple_ptrs;  // rte_thash_gfni_bulk takes non-const pointers
#endif

  inputs() {
    for (std::size_t i = 0; i < tuple_count; ++i) tuple_ptrs.push_back(tuples.data() + 36 * i);
    for (std::size_t i = 0; i < tuple_count; ++i) {
      std::byte* h = ipv4_headers.data() + 20 * i;
      h[0] = std::byte{0x45};
      h[10] = h[11] = std::byte{0};  // DPDK needs the field zeroed; nvo ignores it
    }
#ifdef NVO_BENCH_DPDK
    rte_thash_complete_matrix(dpdk_matrices.data(), simd::default_rss_key.data(), 40);
    for (std::size_t i = 0; i < tuple_count; ++i)
      dpdk_tuple_ptrs.push_back(reinterpret_cast<std::uint8_t*>(tuples.data() + 36 * i));
    for (std::size_t i = 0; i < tuple_count * 9; ++i) {
      std::uint32_t w;
      std::memcpy(&w, tuples.data() + 4 * i, 4);
      host_tuples.push_back(rte_be_to_cpu_32(w));
    }
#endif
  }

  static std::vector<std::byte> random(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::byte> v(n);
    for (auto& b : v) b = static_cast<std::byte>(rng());
    return v;
  }
};

const inputs& in() {
  static const inputs data;
  return data;
}

[[noreturn]] void mismatch(const char* what, std::size_t at) {
  std::fprintf(stderr, "simd_benchmark self-check FAILED: %s differs (case %zu)\n", what, at);
  std::abort();
}

// nvo and the references must agree on every input the benchmarks use.
void self_check() {
  const auto& d = in();
  for (std::size_t n : {0u, 1u, 20u, 32u, 40u, 63u, 64u, 65u, 128u, 256u, 1023u, 1024u, 1500u, 9000u, 65536u}) {
    const std::span<const std::byte> s(d.buf.data(), n);
    const std::uint16_t ref = simd::checksum_fold(nvo::wire::checksum_accumulate(s));
    if (simd::checksum_fold(simd::checksum_accumulate(s)) != ref) mismatch("checksum vs wire reference", n);
#ifdef NVO_BENCH_DPDK
    // rte_raw_cksum returns the sum in memory order.
    if (rte_raw_cksum(s.data(), n) != rte_be_to_cpu_16(ref)) mismatch("checksum vs rte_raw_cksum", n);
#endif
  }
  for (std::size_t i = 0; i < tuple_count; ++i) {
    const std::byte* t = d.tuple_ptrs[i];
    const std::span<const std::byte> hdr(d.ipv4_headers.data() + 20 * i, 20);
    if (simd::ipv4_header_checksum(hdr) != simd::checksum_finalize(nvo::wire::checksum_accumulate(hdr)))
      mismatch("ipv4 header vs wire reference", i);
    for (std::size_t len : {12u, 36u}) {
      const std::uint32_t table = simd::scalar::toeplitz(d.key, {t, len});
      if (simd::toeplitz(d.key, {t, len}) != table) mismatch("toeplitz dispatched vs table", i);
#ifdef NVO_BENCH_DPDK
#ifdef RTE_THASH_GFNI_DEFINED
      const auto* u8 = reinterpret_cast<const std::uint8_t*>(t);
      if (simd::cpu().gfni_avx512 && rte_thash_gfni(d.dpdk_matrices.data(), u8, static_cast<int>(len)) != table)
        mismatch("toeplitz vs rte_thash_gfni", i);
#endif
      if (rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(hdr.data())) !=
          rte_be_to_cpu_16(simd::ipv4_header_checksum(hdr)))
        mismatch("ipv4 header vs rte_ipv4_cksum", i);
      auto* host = const_cast<std::uint32_t*>(d.host_tuples.data() + 9 * i);
      if (rte_softrss(host, static_cast<std::uint32_t>(len / 4), simd::default_rss_key.data()) != table)
        mismatch("toeplitz vs rte_softrss", i);
      // rte_hash_crc is the raw register; nvo's crc32c inverts on entry and exit.
      if (rte_hash_crc(t, static_cast<std::uint32_t>(len), 0x12345678u) !=
          ~simd::crc32c({t, len}, ~std::uint32_t{0x12345678u}))
        mismatch("crc32c vs rte_hash_crc", i);
#endif
    }
  }
}

// ---- checksum ---------------------------------------------------------------

template <class F>
void checksum_bench(benchmark::State& state, F f) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::byte* p = in().buf.data();
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    benchmark::DoNotOptimize(f(p, n));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

// Headers and small packets (20-256) are what a tunnel endpoint sums most.
void checksum_sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {20, 32, 40, 64, 128, 256, 1500, 9000, 65536}) b->Arg(n);
}

// A kernel row runs only where the CPU has its ISA.
bool skip_unless(benchmark::State& state, bool ok) {
  if (!ok) state.SkipWithError("this CPU lacks the instruction set");
  return !ok;
}

// Each iteration times 64 calls of a, then 64 of b, and keeps the ratio; the
// counter is the median ratio. Pairing within an iteration cancels the speed
// drift of a shared machine.
template <class A, class B>
void paired(benchmark::State& state, const char* counter, A a, B b) {
  using clock = std::chrono::steady_clock;
  constexpr int rounds = 64;
  std::vector<double> ratios;
  for (auto _ : state) {
    const auto t0 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(a());
    const auto t1 = clock::now();
    for (int i = 0; i < rounds; ++i) benchmark::DoNotOptimize(b());
    const auto t2 = clock::now();
    ratios.push_back(std::chrono::duration<double>(t1 - t0) / std::chrono::duration<double>(t2 - t1));
  }
  std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2), ratios.end());
  state.counters[counter] = ratios[ratios.size() / 2];
}

void Checksum_nvo(benchmark::State& s) {
  checksum_bench(s, [](const std::byte* p, std::size_t n) { return simd::checksum({p, n}); });
}
void Checksum_nvo_avx512bw(benchmark::State& s) {
  if (skip_unless(s, simd::supported(simd::isa::avx512))) return;
  checksum_bench(s, [](const std::byte* p, std::size_t n) {
    return simd::checksum_finalize(simd::avx512::checksum_accumulate_bw(p, n, 0));
  });
}
void Checksum_nvo_avx2(benchmark::State& s) {
  if (skip_unless(s, simd::supported(simd::isa::avx2))) return;
  checksum_bench(s, [](const std::byte* p, std::size_t n) {
    return simd::checksum_finalize(simd::avx2::checksum_accumulate(p, n, 0));
  });
}
void Checksum_nvo_scalar(benchmark::State& s) {
  checksum_bench(s, [](const std::byte* p, std::size_t n) {
    return simd::checksum_finalize(nvo::wire::checksum_accumulate({p, n}));
  });
}
BENCHMARK(Checksum_nvo)->Name("Checksum/nvo")->Apply(checksum_sizes);
BENCHMARK(Checksum_nvo_avx512bw)->Name("Checksum/nvo_avx512bw")->Apply(checksum_sizes);
BENCHMARK(Checksum_nvo_avx2)->Name("Checksum/nvo_avx2")->Apply(checksum_sizes);
BENCHMARK(Checksum_nvo_scalar)->Name("Checksum/nvo_scalar")->Apply(checksum_sizes);

void CopyChecksum_nvo(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto& d = const_cast<inputs&>(in());
  for (auto _ : state) {
    benchmark::DoNotOptimize(simd::copy_checksum_accumulate({d.dst.data(), n}, {d.buf.data(), n}));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(CopyChecksum_nvo)->Name("CopyChecksum/nvo")->Apply(checksum_sizes);

void Ipv4HeaderChecksum_nvo(benchmark::State& state) {
  const std::byte* h = in().ipv4_headers.data();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(simd::ipv4_header_checksum({h + 20 * i, 20}));
    i = (i + 1) % tuple_count;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(Ipv4HeaderChecksum_nvo)->Name("Ipv4HeaderChecksum/nvo/20");

// ---- flow hashes ------------------------------------------------------------

template <class F>
void tuple_bench(benchmark::State& state, F f) {
  const auto len = static_cast<std::size_t>(state.range(0));
  const auto& d = in();
  for (auto _ : state) {
    for (std::size_t i = 0; i < tuple_count; ++i) benchmark::DoNotOptimize(f(d, i, len));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tuple_count));
}

void tuple_sizes(benchmark::internal::Benchmark* b) { b->Arg(12)->Arg(36); }

// Run-time length on both sides, as rte_thash_gfni takes it.
void Toeplitz_nvo(benchmark::State& s) {
  tuple_bench(s, [](const inputs& d, std::size_t i, std::size_t len) {
    return simd::toeplitz(d.key, {d.tuple_ptrs[i], len});
  });
}
void Toeplitz_nvo_gfni(benchmark::State& s) {
  if (skip_unless(s, simd::cpu().gfni_avx512)) return;
  tuple_bench(s, [](const inputs& d, std::size_t i, std::size_t len) {
    return simd::gfni::toeplitz(d.key, {d.tuple_ptrs[i], len});
  });
}
void Toeplitz_nvo_table(benchmark::State& s) {
  tuple_bench(s, [](const inputs& d, std::size_t i, std::size_t len) {
    return simd::scalar::toeplitz(d.key, {d.tuple_ptrs[i], len});
  });
}
BENCHMARK(Toeplitz_nvo)->Name("Toeplitz/nvo")->Apply(tuple_sizes);
BENCHMARK(Toeplitz_nvo_gfni)->Name("Toeplitz/nvo_gfni")->Apply(tuple_sizes);
BENCHMARK(Toeplitz_nvo_table)->Name("Toeplitz/nvo_table")->Apply(tuple_sizes);

void ToeplitzBulk_nvo(benchmark::State& state) {
  const auto len = static_cast<std::size_t>(state.range(0));
  const auto& d = in();
  std::array<std::uint32_t, tuple_count> out{};
  for (auto _ : state) {
    simd::toeplitz_bulk(d.key, d.tuple_ptrs, len, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tuple_count));
}
BENCHMARK(ToeplitzBulk_nvo)->Name("ToeplitzBulk/nvo")->Apply(tuple_sizes);

void FlowHashCrc32c_nvo(benchmark::State& s) {
  tuple_bench(s, [](const inputs& d, std::size_t i, std::size_t len) {
    return simd::crc32c({d.tuple_ptrs[i], len}, 0x12345678u);
  });
}
BENCHMARK(FlowHashCrc32c_nvo)->Name("FlowHashCrc32c/nvo")->Apply(tuple_sizes);

#ifdef NVO_BENCH_DPDK
void Checksum_dpdk(benchmark::State& s) {
  checksum_bench(s, [](const std::byte* p, std::size_t n) { return static_cast<std::uint16_t>(~rte_raw_cksum(p, n)); });
}
BENCHMARK(Checksum_dpdk)->Name("Checksum/dpdk")->Apply(checksum_sizes);

void ChecksumPaired(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::byte* p = in().buf.data();
  paired(
      state, "nvo_over_dpdk",
      [&] {
        benchmark::DoNotOptimize(p);
        return simd::checksum({p, n});
      },
      [&] {
        benchmark::DoNotOptimize(p);
        return static_cast<std::uint16_t>(~rte_raw_cksum(p, n));
      });
}
BENCHMARK(ChecksumPaired)->Name("ChecksumPaired/nvo_over_dpdk")->Apply(checksum_sizes);

void CopyChecksum_dpdk(benchmark::State& state) {  // DPDK has no fused kernel: copy, then sum
  const auto n = static_cast<std::size_t>(state.range(0));
  auto& d = const_cast<inputs&>(in());
  for (auto _ : state) {
    rte_memcpy(d.dst.data(), d.buf.data(), n);
    benchmark::DoNotOptimize(rte_raw_cksum(d.dst.data(), n));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(CopyChecksum_dpdk)->Name("CopyChecksum/dpdk")->Apply(checksum_sizes);

void Ipv4HeaderChecksum_dpdk(benchmark::State& state) {
  const std::byte* h = in().ipv4_headers.data();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(h + 20 * i)));
    i = (i + 1) % tuple_count;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(Ipv4HeaderChecksum_dpdk)->Name("Ipv4HeaderChecksum/dpdk/20");

#ifdef RTE_THASH_GFNI_DEFINED
std::uint32_t dpdk_gfni(const inputs& d, std::size_t i, std::size_t len) {
  return rte_thash_gfni(d.dpdk_matrices.data(), reinterpret_cast<const std::uint8_t*>(d.tuple_ptrs[i]),
                        static_cast<int>(len));
}
void Toeplitz_dpdk(benchmark::State& s) {
  if (skip_unless(s, simd::cpu().gfni_avx512)) return;
  tuple_bench(s, dpdk_gfni);
}
// Both sides GFNI with a run-time length: nvo's dispatched entry over DPDK's.
void ToeplitzPaired(benchmark::State& state) {
  if (skip_unless(state, simd::cpu().gfni_avx512)) return;
  const auto len = static_cast<std::size_t>(state.range(0));
  const auto& d = in();
  paired(
      state, "nvo_over_dpdk",
      [&] {
        std::uint32_t h = 0;
        for (std::size_t i = 0; i < tuple_count; ++i) h ^= simd::toeplitz(d.key, {d.tuple_ptrs[i], len});
        return h;
      },
      [&] {
        std::uint32_t h = 0;
        for (std::size_t i = 0; i < tuple_count; ++i) h ^= dpdk_gfni(d, i, len);
        return h;
      });
}
BENCHMARK(Toeplitz_dpdk)->Name("Toeplitz/dpdk")->Apply(tuple_sizes);
BENCHMARK(ToeplitzPaired)->Name("ToeplitzPaired/nvo_over_dpdk")->Apply(tuple_sizes);
#endif
void Toeplitz_dpdk_softrss(benchmark::State& s) {
  tuple_bench(s, [](const inputs& d, std::size_t i, std::size_t len) {
    return rte_softrss(const_cast<std::uint32_t*>(d.host_tuples.data() + 9 * i), static_cast<std::uint32_t>(len / 4),
                       simd::default_rss_key.data());
  });
}
BENCHMARK(Toeplitz_dpdk_softrss)->Name("Toeplitz/dpdk_softrss")->Apply(tuple_sizes);

#ifdef RTE_THASH_GFNI_DEFINED
void ToeplitzBulk_dpdk(benchmark::State& state) {
  if (skip_unless(state, simd::cpu().gfni_avx512)) return;
  const auto len = static_cast<int>(state.range(0));
  const auto& d = in();
  std::array<std::uint32_t, tuple_count> out{};
  auto** tuples = const_cast<std::uint8_t**>(d.dpdk_tuple_ptrs.data());
  for (auto _ : state) {
    rte_thash_gfni_bulk(d.dpdk_matrices.data(), len, tuples, out.data(), tuple_count);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tuple_count));
}
BENCHMARK(ToeplitzBulk_dpdk)->Name("ToeplitzBulk/dpdk")->Apply(tuple_sizes);
#endif

void FlowHashCrc32c_dpdk(benchmark::State& s) {
  tuple_bench(s, [](const inputs& d, std::size_t i, std::size_t len) {
    return rte_hash_crc(d.tuple_ptrs[i], static_cast<std::uint32_t>(len), 0x12345678u);
  });
}
BENCHMARK(FlowHashCrc32c_dpdk)->Name("FlowHashCrc32c/dpdk")->Apply(tuple_sizes);
#endif

}  // namespace

int main(int argc, char** argv) {
  self_check();
  nvo_bench::add_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
