// The ODR consumer test. One program, two TUs running the same source: tu_wide.cpp
// built with AVX-512 flags, tu_base.cpp (and this file) for the x86-64 baseline.
//
//   nvo_odr_test                  both TUs report the path NVO_EXPECT_ISA names and
//                                 compute what a forced-scalar run computes
//   nvo_odr_test tokens A.ii B.ii the nvo lines of the headers preprocessed with each
//                                 flag set are identical, so no inline function's
//                                 definition depends on the -m flags
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "nvo/simd/dispatch.hpp"
#include "probe.hpp"

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

// The lines a preprocessed file takes from nvo's own headers, tagged with their file.
std::vector<std::string> nvo_lines(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path);
    std::exit(2);
  }
  std::vector<std::string> out;
  std::string file;
  bool ours = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# ")) {  // # <line> "<file>" <flags>
      const auto q = line.find('"');
      file = line.substr(q + 1, line.find('"', q + 1) - q - 1);
      ours = file.find("/include/nvo/") != std::string::npos;
      continue;
    }
    if (ours && line.find_first_not_of(" \t") != std::string::npos) out.push_back(file + ": " + line);
  }
  return out;
}

int compare_tokens(const char* a, const char* b) {
  const auto la = nvo_lines(a);
  const auto lb = nvo_lines(b);
  check(!la.empty(), "the preprocessed file holds nvo lines");
  for (std::size_t i = 0; i < la.size() || i < lb.size(); ++i) {
    const std::string_view x = i < la.size() ? std::string_view(la[i]) : "<end>";
    const std::string_view y = i < lb.size() ? std::string_view(lb[i]) : "<end>";
    if (x != y) {
      std::fprintf(stderr, "nvo headers differ between the flag sets at nvo line %zu:\n  %.*s\n  %.*s\n", i,
                   static_cast<int>(x.size()), x.data(), static_cast<int>(y.size()), y.data());
      return 1;
    }
  }
  std::printf("%zu nvo lines identical under both flag sets\n", la.size());
  return failures != 0;
}

int compare_runs() {
  namespace simd = nvo::simd;
  const char* expect = std::getenv("NVO_EXPECT_ISA");
  if (expect == nullptr) {
    std::fprintf(stderr, "run through ctest, which sets NVO_FORCE_SIMD and NVO_EXPECT_ISA\n");
    return 2;
  }
  const auto want = simd::parse_isa(expect);
  check(want.has_value(), "NVO_EXPECT_ISA names a path");
  const auto w = static_cast<std::uint8_t>(want.value_or(simd::isa::scalar));
  const nvo_odr::results wide = nvo_odr::probe_wide();
  const nvo_odr::results base = nvo_odr::probe_base();
  check(wide.active == w && base.active == w, "both TUs run the forced path");
  check(wide.checksum_path == w && base.checksum_path == w, "both TUs' checksum kernels are the forced path's");
  const bool gfni = *want == simd::isa::avx512 && simd::cpu().gfni_avx512;
  check(wide.toeplitz_gfni == gfni && base.toeplitz_gfni == gfni, "Toeplitz uses GFNI exactly on the avx512 path");
  check(wide.table_vector_scan == base.table_vector_scan, "both TUs' tables choose the same bucket scan");
  check(wide.values == base.values, "both TUs compute the same values");
  // The reference: the same probe with every entry point on the scalar path.
  check(simd::set_active(simd::isa::scalar), "the scalar path is always available");
  const nvo_odr::results ref = nvo_odr::probe_base();
  check(ref.active == static_cast<std::uint8_t>(simd::isa::scalar) && !ref.table_vector_scan, "reference is scalar");
  check(wide.values == ref.values, "the AVX-512-flags TU matches the scalar reference");
  check(base.values == ref.values, "the baseline TU matches the scalar reference");
  std::printf("%s: %zu values agree across both TUs and the scalar reference\n", expect, ref.values.size());
  return failures != 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "tokens") return compare_tokens(argv[2], argv[3]);
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s [tokens A.ii B.ii]\n", argv[0]);
    return 2;
  }
  return compare_runs();
}
