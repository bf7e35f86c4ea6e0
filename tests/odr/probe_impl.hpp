// The body of each TU's probe: included by tu_wide.cpp and tu_base.cpp with
// NVO_ODR_PROBE naming the function, so both TUs run the same source.
#include <array>
#include <cstddef>
#include <random>
#include <span>

#include "nvo/simd/simd.hpp"
#include "nvo/table/table.hpp"
#include "probe.hpp"

namespace nvo_odr {
namespace {

struct key16 {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
};

std::vector<std::byte> bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

}  // namespace

results NVO_ODR_PROBE() {
  namespace simd = nvo::simd;
  results r;
  r.active = static_cast<std::uint8_t>(simd::active());
  r.checksum_path = static_cast<std::uint8_t>(simd::active_checksum_kernels().id);
  r.toeplitz_gfni = simd::toeplitz_uses_gfni();
  const auto buf = bytes(70000, 1);
  std::vector<std::byte> dst(70000);
  // Both sides of the inline/kernel threshold, odd lengths and alignments.
  for (std::size_t n : {0u, 1u, 7u, 20u, 33u, 64u, 255u, 1023u, 1024u, 1025u, 1500u, 9001u, 65536u}) {
    for (std::size_t align : {0u, 1u, 3u}) {
      const std::span<const std::byte> s(buf.data() + align, n);
      r.values.push_back(simd::checksum(s));
      r.values.push_back(simd::checksum_fold(simd::checksum_accumulate(s, 0x1234)));
      r.values.push_back(simd::checksum_fold(simd::copy_checksum_accumulate(dst, s)));
      r.values.push_back(simd::crc32c(s, 0x9E3779B9u));
    }
  }
  for (std::uint64_t v : {0ull, 1ull, 0x0123456789ABCDEFull, ~0ull}) r.values.push_back(simd::crc32c_u64(v, 7));
  const simd::toeplitz_key key;
  for (std::size_t n : {4u, 8u, 12u, 14u, 32u, 36u}) r.values.push_back(simd::toeplitz(key, {buf.data() + 5, n}));
  const simd::ipv4_tuple t4{nvo::wire::ipv4_address{{10, 0, 0, 1}}, nvo::wire::ipv4_address{{10, 0, 0, 2}}, 4789, 80};
  r.values.push_back(simd::toeplitz(key, t4));
  r.values.push_back(simd::toeplitz(key, t4, simd::rss_fields::addresses, simd::rss_direction::symmetric));
  std::array<const std::byte*, 5> inputs{};
  for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = buf.data() + 40 * i;
  std::array<std::uint32_t, 5> out{};
  simd::toeplitz_bulk(key, inputs, 36, out);
  r.values.insert(r.values.end(), out.begin(), out.end());
  // A frame: Ethernet, IPv4, UDP.
  auto frame = bytes(64, 2);
  frame[12] = std::byte{0x08};
  frame[13] = std::byte{0x00};
  frame[14] = std::byte{0x45};
  frame[20] = frame[21] = std::byte{0};  // not a fragment
  frame[23] = std::byte{17};
  const auto fk = simd::extract_flow_key(frame);
  r.values.push_back(static_cast<std::uint64_t>(fk.kind));
  r.values.push_back(simd::flow_hash_crc32c(fk, 3));
  r.values.push_back(simd::flow_hash_toeplitz(key, fk));
  r.values.push_back(simd::flow_hash_toeplitz(key, fk, simd::rss_direction::symmetric));
  // The table hashes with keyed_hash and may scan buckets with AVX-512.
  nvo::table::basic_table<key16, std::uint64_t> table;
  r.table_vector_scan = table.vector_scan();
  for (std::uint64_t i = 0; i < 3000; ++i) {
    if (!table.insert(key16{i, i * 0x9E3779B97F4A7C15ull}, i + 1).ok()) r.values.push_back(~0ull);
  }
  for (std::uint64_t i = 0; i < 3100; ++i) r.values.push_back(table.find(key16{i, i * 0x9E3779B97F4A7C15ull}).value_or(0));
  return r;
}

}  // namespace nvo_odr
