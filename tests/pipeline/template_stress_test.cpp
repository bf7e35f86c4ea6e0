// Header templates re-pointed by the control plane while datapath threads
// encapsulate through them (the publication protocol of header_template.hpp).
// Every template version k carries next-hop MAC k and local MAC k, and its own
// precomputed IPv4 sum; a reader that saw a torn template, or one freed under
// it, would emit a frame whose MACs disagree or whose header checksum fails.
// Built twice: plain (ASan+UBSan in the sanitizer preset: use after free of a
// retired template) and with ThreadSanitizer (the release/acquire pairing).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "frames.hpp"
#include "nvo/pipeline/pipeline.hpp"

namespace {

using namespace pipeline_test;
namespace np = nvo::pipeline;
namespace tbl = nvo::table;

std::chrono::milliseconds run_time() {
  if (const char* e = std::getenv("NVO_TABLE_STRESS_MS")) return std::chrono::milliseconds(std::atoi(e));
  return std::chrono::milliseconds(1500);
}

TEST(TemplateStress, ReadersNeverSeeATornOrFreedTemplate) {
  tbl::reclaim::qsbr domain;
  np::endpoint_templates<tbl::reclaim::qsbr> templates({.capacity = 64}, domain);
  using p_t = np::basic_pipeline<np::policy::encapsulation<np::encap::per_endpoint>, np::policy::lookup<np::lookup::fixed>,
                                 np::policy::reclaimer<tbl::reclaim::qsbr>>;
  const w::ip_address remote = w::ipv4_address{{10, 0, 0, 2}};
  const auto config = [&](std::uint32_t k, w::encapsulation e) {
    // Version k: both MACs and the local address carry k.
    return np::endpoint_config{.local = w::ipv4_address::from_u32(0x0A010000u | (k & 0xFFFF)),
                               .remote = remote,
                               .local_mac = w::mac_address::from_u64(0x020000000000u | k),
                               .next_hop_mac = w::mac_address::from_u64(0x040000000000u | k),
                               .encap = e};
  };
  ASSERT_TRUE(templates.set(config(0, w::encapsulation::vxlan)).ok());
  ASSERT_TRUE(templates.set(config(0, w::encapsulation::stt)).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::atomic<std::uint64_t> failures{0}, packets{0};
  auto reader = [&](w::encapsulation e) {
    auto r = domain.try_register_reader();
    ASSERT_TRUE(r.has_value());
    p_t p({}, np::lookup::fixed({.provider = remote, .encap = e, .tunnel_id = 9}), templates);
    const bytes_vec inner = make_inner({.k = kind::tcp4, .size = 200});
    std::vector<packet> pkts;
    for (int i = 0; i < 32; ++i) pkts.emplace_back(inner);
    std::vector<np::buffer*> ptrs;
    for (auto& pk : pkts) ptrs.push_back(&pk.buf);
    std::vector<np::verdict> v(ptrs.size());
    started.fetch_add(1);
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (auto& pk : pkts) pk.buf.reset(256, inner.size());
      (void)p.encapsulate(std::span<np::buffer* const>(ptrs), 9, v);
      for (std::size_t i = 0; i < pkts.size(); ++i) {
        const w::const_bytes f(pkts[i].buf.data(), pkts[i].buf.size());
        const auto d = w::dissect(f);
        const bool ok = v[i].ok() && d.has_value() && d->encap == e &&
                        (d->outer_ethernet.dst.to_u64() & 0xFFFFFFFF) == (d->outer_ethernet.src.to_u64() & 0xFFFFFFFF) &&
                        (d->outer_ethernet.src.to_u64() & 0xFFFF) == (d->outer_src.v4().to_u32() & 0xFFFF);
        failures.fetch_add(ok ? 0 : 1, std::memory_order_relaxed);
        ++n;
      }
      r->quiescent();
      domain.poll();
    }
    packets.fetch_add(n);
  };
  std::vector<std::thread> threads;
  threads.emplace_back(reader, w::encapsulation::vxlan);
  threads.emplace_back(reader, w::encapsulation::stt);
  while (started.load() < 2) std::this_thread::yield();

  std::uint32_t k = 1;
  const auto deadline = std::chrono::steady_clock::now() + run_time();
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(templates.set(config(k, w::encapsulation::vxlan)).ok());
    ASSERT_TRUE(templates.set(config(k, w::encapsulation::stt)).ok());
    ++k;
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(packets.load(), 1000u);
  EXPECT_GT(k, 100u);
  std::printf("template versions published: %u, packets encapsulated: %llu\n", k,
              static_cast<unsigned long long>(packets.load()));
}

}  // namespace
