// File: nvo/simd/dispatch.hpp
// Instruction-set detection and selection for the header-only SIMD kernels.
//
// Every kernel lives in its own namespace (nvo::simd::sse42, ::avx2, ::avx512,
// ::gfni) with [[gnu::target]] attributes, so any translation unit holds every
// variant without global -m flags.
//
// Selection is at run time only, never from the TU's -m flags: detect on first
// use (cpuid via __builtin_cpu_supports, which also checks that the OS saves the
// vector state), overridable with set_active() or the environment variable
// NVO_FORCE_SIMD=scalar|sse42|avx2|avx512. Every inline function therefore has
// one meaning in every TU, so TUs of one program built with different -m flags
// do not break the ODR, and whichever copy the linker keeps checks the CPU
// before it runs a kernel. ABI-tagged inline namespaces chosen by the flags were
// the alternative; they were not taken because the tag is viral (every inline
// function of a consumer that calls nvo would differ between its TUs in turn),
// because types cannot carry it without splitting cross-TU interfaces, and
// because a flags-chosen path would ignore NVO_FORCE_SIMD. The run-time cost is
// small where it matters: checksums below simd::short_checksum_bytes are inlined
// generic code (no dispatch), longer ones pay one relaxed load and an indirect
// call, little beside a kernel summing a kilobyte or more; CRC-32C is inline asm
// behind a relaxed load, so it inlines into every caller even in a baseline
// build. Hot loops may still read active() once and keep a kernel table
// (per-object capture).
//
// Like any inline code, a kernel's instructions follow the flags of the TU that
// emitted it (a target attribute adds to them): a TU built with wider -m flags
// than the CPUs a program runs on can hand its copies to the other TUs. Build
// such TUs only for code that runs after a CPU check, or keep -m flags uniform.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>

#include "nvo/config.hpp"

#if defined(__x86_64__)
#define NVO_SIMD_X86 1
#include <immintrin.h>
#else
#define NVO_SIMD_X86 0
#endif

// Target-attribute strings for each kernel namespace; a higher level includes the
// lower ones so helpers of a lower level inline into kernels of a higher one.
#define NVO_SIMD_TARGET_SSE42 "sse4.2,popcnt"
#define NVO_SIMD_TARGET_AVX2 NVO_SIMD_TARGET_SSE42 ",avx,avx2,bmi,bmi2"
#define NVO_SIMD_TARGET_AVX512 NVO_SIMD_TARGET_AVX2 ",avx512f,avx512bw,avx512vl"
#define NVO_SIMD_TARGET_AVX512VNNI NVO_SIMD_TARGET_AVX512 ",avx512vnni"
#define NVO_SIMD_TARGET_GFNI NVO_SIMD_TARGET_AVX512 ",gfni,avx512vbmi"

NVO_BEGIN_NAMESPACE
namespace simd {

// Ordered from least to most capable: a higher value implies every lower one.
enum class isa : std::uint8_t { scalar, sse42, avx2, avx512 };
inline constexpr std::size_t isa_count = 4;
inline constexpr std::array<isa, isa_count> all_isas{isa::scalar, isa::sse42, isa::avx2, isa::avx512};

[[nodiscard]] constexpr std::string_view to_string(isa i) noexcept {
  switch (i) {
    case isa::scalar: return "scalar";
    case isa::sse42: return "sse42";
    case isa::avx2: return "avx2";
    case isa::avx512: return "avx512";
  }
  return "unknown";
}

[[nodiscard]] constexpr std::optional<isa> parse_isa(std::string_view name) noexcept {
  for (isa i : all_isas) {
    if (to_string(i) == name) return i;
  }
  return std::nullopt;
}

// Optional extensions used by individual kernels beyond the base ISA level.
struct cpu_features {
  bool sse42 = false;
  bool avx2 = false;    // with BMI2
  bool avx512 = false;  // F + BW + VL
  bool avx512_vnni = false;
  bool gfni_avx512 = false;  // GFNI + AVX512-VBMI (byte permutes) for Toeplitz
};

[[nodiscard]] inline cpu_features detect_cpu() noexcept {
  cpu_features f;
#if NVO_SIMD_X86 && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.sse42 = __builtin_cpu_supports("sse4.2");
  f.avx2 = f.sse42 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
  f.avx512 = f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
  f.gfni_avx512 = f.avx512 && __builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx512vbmi");
#endif
  return f;
}

[[nodiscard]] inline const cpu_features& cpu() noexcept {
  static const cpu_features features = detect_cpu();
  return features;
}

[[nodiscard]] inline bool supported(isa i) noexcept {
  switch (i) {
    case isa::scalar: return true;
    case isa::sse42: return cpu().sse42;
    case isa::avx2: return cpu().avx2;
    case isa::avx512: return cpu().avx512;
  }
  return false;
}

// The ISAs this machine runs, best first.
[[nodiscard]] inline std::span<const isa> available() noexcept {
  static const auto list = [] {
    struct {
      std::array<isa, isa_count> items{};
      std::size_t size = 0;
    } r;
    for (std::size_t k = isa_count; k-- > 0;) {
      if (supported(all_isas[k])) r.items[r.size++] = all_isas[k];
    }
    return r;
  }();
  return {list.items.data(), list.size};
}

[[nodiscard]] inline isa best_isa() noexcept { return available().front(); }

namespace detail {
inline constexpr std::uint8_t isa_unset = 0xFF;
// Relaxed throughout: the value is a self-contained choice that publishes no
// other data (the kernel tables are function-local statics with their own
// guards); the compare-exchange makes racing first uses agree on one value.
inline std::atomic<std::uint8_t> active_isa{isa_unset};

// NVO_FORCE_SIMD names a path; an unknown or unsupported name falls back to the
// best path rather than aborting (a library must not kill its host process).
[[nodiscard]] inline isa initial_isa() noexcept {
  if (const char* forced = std::getenv("NVO_FORCE_SIMD")) {  // NOLINT(concurrency-mt-unsafe): read once
    if (auto i = parse_isa(forced); i && supported(*i)) return *i;
  }
  return best_isa();
}

// Out of line: the first use is rare, and active() inlines into CRC loops.
[[gnu::cold, gnu::noinline]] inline isa first_active() noexcept {
  std::uint8_t expected = isa_unset;
  active_isa.compare_exchange_strong(expected, static_cast<std::uint8_t>(initial_isa()), std::memory_order_relaxed);
  return static_cast<isa>(active_isa.load(std::memory_order_relaxed));
}
}  // namespace detail

[[nodiscard]] NVO_ALWAYS_INLINE isa active() noexcept {
  const std::uint8_t v = detail::active_isa.load(std::memory_order_relaxed);
  if (NVO_PREDICT_FALSE(v == detail::isa_unset)) return detail::first_active();
  return static_cast<isa>(v);
}

// Forces a path (tests, benchmarks, working around a CPU erratum). Returns false
// and changes nothing when this machine cannot run it. Objects that already
// captured a kernel table keep theirs.
[[nodiscard]] inline bool set_active(isa i) noexcept {
  if (!supported(i)) return false;
  detail::active_isa.store(static_cast<std::uint8_t>(i), std::memory_order_relaxed);
  return true;
}

}  // namespace simd
NVO_END_NAMESPACE
