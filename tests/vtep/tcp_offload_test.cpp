#include "tcp_offload.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "nvo/wire/wire.hpp"

namespace {

namespace w = nvo::wire;
namespace v = nvo_examples::vtep;
using frame = std::vector<std::byte>;

constexpr std::size_t l3 = 14;

std::uint64_t pseudo(const frame& f, bool v4, std::size_t l4) {
  const auto len = static_cast<std::uint32_t>(f.size() - l4);
  if (v4) {
    w::ipv4_address s, d;
    std::memcpy(s.octets.data(), f.data() + l3 + 12, 4);
    std::memcpy(d.octets.data(), f.data() + l3 + 16, 4);
    return w::pseudo_header_sum(s, d, 6, len);
  }
  w::ipv6_address s, d;
  std::memcpy(s.octets.data(), f.data() + l3 + 8, 16);
  std::memcpy(d.octets.data(), f.data() + l3 + 24, 16);
  return w::pseudo_header_sum(s, d, 6, len);
}

// An untagged TCP frame with a 12-byte timestamp option; checksums complete.
frame tcp_frame(bool v4, std::size_t payload, std::uint32_t seq, std::uint8_t flags = 0x18, unsigned seed = 1) {
  const std::size_t l4 = v4 ? l3 + 20 : l3 + 40;
  frame f(l4 + 32 + payload);
  for (std::size_t i = 0; i < 12; ++i) f[i] = static_cast<std::byte>(0x02 + i);
  w::store_be16(f, 12, v4 ? 0x0800 : 0x86DD);
  if (v4) {
    f[l3] = std::byte{0x45};
    w::store_be16(f, l3 + 2, static_cast<std::uint16_t>(f.size() - l3));
    w::store_be16(f, l3 + 4, 0x1234);
    w::store_be16(f, l3 + 6, 0x4000);  // DF
    f[l3 + 8] = std::byte{64};
    f[l3 + 9] = std::byte{6};
    for (std::size_t i = 0; i < 8; ++i) f[l3 + 12 + i] = static_cast<std::byte>(192 + i);
    w::store_be16(f, l3 + 10, w::checksum_finalize(w::checksum_accumulate(std::span(f).subspan(l3, 20))));
  } else {
    f[l3] = std::byte{0x60};
    w::store_be16(f, l3 + 4, static_cast<std::uint16_t>(f.size() - l3 - 40));
    f[l3 + 6] = std::byte{6};
    f[l3 + 7] = std::byte{64};
    for (std::size_t i = 0; i < 32; ++i) f[l3 + 8 + i] = static_cast<std::byte>(0xfd + i);
  }
  w::store_be16(f, l4, 40000);
  w::store_be16(f, l4 + 2, 5201);
  w::store_be32(f, l4 + 4, seq);
  w::store_be32(f, l4 + 8, 0xABCDEF01);
  f[l4 + 12] = std::byte{0x80};  // 32-byte header
  f[l4 + 13] = static_cast<std::byte>(flags);
  w::store_be16(f, l4 + 14, 501);
  f[l4 + 20] = std::byte{1};
  f[l4 + 21] = std::byte{1};
  f[l4 + 22] = std::byte{8};
  f[l4 + 23] = std::byte{10};
  std::mt19937 rng(seed);
  for (std::size_t i = l4 + 32; i < f.size(); ++i) f[i] = static_cast<std::byte>(rng());
  w::store_be16(f, l4 + 16, w::tcp::checksum_field(pseudo(f, v4, l4), std::span<const std::byte>(f).subspan(l4)));
  return f;
}

bool tcp_ok(const frame& f, bool v4) {
  const std::size_t l4 = v4 ? l3 + 20 : l3 + 40;
  return w::tcp::checksum_ok(pseudo(f, v4, l4), std::span<const std::byte>(f).subspan(l4));
}

std::vector<frame> cut(const frame& f, const v::virtio_net_hdr& h) {
  std::vector<frame> out;
  frame room(70000);
  const std::size_t n = v::cut_tcp(
      f, h, [&]() { return std::span<std::byte>(room); },
      [&](std::size_t len) { out.emplace_back(room.begin(), room.begin() + static_cast<std::ptrdiff_t>(len)); });
  EXPECT_EQ(n, out.size());
  return out;
}

class CutTcp : public ::testing::TestWithParam<bool> {};

TEST_P(CutTcp, SegmentsVerifyAndCarryTheFrame) {
  const bool v4 = GetParam();
  const std::size_t l4 = v4 ? l3 + 20 : l3 + 40, hl = l4 + 32;
  const frame big = tcp_frame(v4, 10000, 1000, 0x19);  // ACK PSH FIN
  const v::virtio_net_hdr h{.flags = v::vnet_needs_csum, .gso_type = v4 ? v::vnet_gso_tcpv4 : v::vnet_gso_tcpv6,
                            .hdr_len = static_cast<std::uint16_t>(hl), .gso_size = 1448,
                            .csum_start = static_cast<std::uint16_t>(l4), .csum_offset = 16};
  const auto segs = cut(big, h);
  ASSERT_EQ(segs.size(), 7u);  // 6 x 1448 + 1312
  frame payload;
  for (std::size_t k = 0; k < segs.size(); ++k) {
    const frame& s = segs[k];
    EXPECT_EQ(s.size(), hl + (k < 6 ? 1448 : 1312));
    EXPECT_TRUE(tcp_ok(s, v4)) << k;
    EXPECT_EQ(w::load_be32(s, l4 + 4), 1000 + 1448 * k);
    EXPECT_EQ(std::to_integer<int>(s[l4 + 13]), k < 6 ? 0x10 : 0x19) << "FIN and PSH on the last only";
    if (v4) {
      EXPECT_EQ(w::load_be16(s, l3 + 2), s.size() - l3);
      EXPECT_EQ(w::load_be16(s, l3 + 4), 0x1234 + k);
      EXPECT_EQ(w::checksum_fold(w::checksum_accumulate(std::span<const std::byte>(s).subspan(l3, 20))), 0xFFFF);
    } else {
      EXPECT_EQ(w::load_be16(s, l3 + 4), s.size() - l3 - 40);
    }
    payload.insert(payload.end(), s.begin() + static_cast<std::ptrdiff_t>(hl), s.end());
  }
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), big.begin() + static_cast<std::ptrdiff_t>(hl), big.end()));
}

TEST_P(CutTcp, RefusesWhatItCannotCut) {
  const bool v4 = GetParam();
  const frame big = tcp_frame(v4, 3000, 1);
  v::virtio_net_hdr h{.flags = v::vnet_needs_csum, .gso_type = v4 ? v::vnet_gso_tcpv4 : v::vnet_gso_tcpv6,
                      .hdr_len = 0, .gso_size = 0, .csum_start = 0, .csum_offset = 16};
  EXPECT_TRUE(cut(big, h).empty()) << "gso_size 0";
  h.gso_size = 1000;
  h.gso_type = 3;  // UDP
  EXPECT_TRUE(cut(big, h).empty());
  h.gso_type = v4 ? v::vnet_gso_tcpv6 : v::vnet_gso_tcpv4;  // the other family than the frame's
  EXPECT_TRUE(cut(big, h).empty());
  h.gso_type = v4 ? v::vnet_gso_tcpv4 : v::vnet_gso_tcpv6;
  EXPECT_TRUE(cut(frame(big.begin(), big.begin() + 40), h).empty()) << "truncated";
}

INSTANTIATE_TEST_SUITE_P(Families, CutTcp, ::testing::Values(true, false),
                         [](const auto& i) { return i.param ? "ipv4" : "ipv6"; });

struct written {
  frame bytes;
  v::virtio_net_hdr h;
};

TEST(TcpCoalescer, MergesCutSegmentsBackIntoOneGsoFrame) {
  const frame big = tcp_frame(true, 10000, 7, 0x18);
  const v::virtio_net_hdr gso{.flags = v::vnet_needs_csum, .gso_type = v::vnet_gso_tcpv4, .hdr_len = 66,
                              .gso_size = 1448, .csum_start = 34, .csum_offset = 16};
  const auto segs = cut(big, gso);
  v::tcp_coalescer c;
  std::vector<written> out;
  const auto write = [&](std::span<const std::byte> f, const v::virtio_net_hdr& h) {
    out.push_back({frame(f.begin(), f.end()), h});
  };
  for (const frame& s : segs) ASSERT_TRUE(c.add(s, {}, false));  // each verified, none known good
  c.flush(write);
  ASSERT_EQ(out.size(), 1u);
  const frame& m = out[0].bytes;
  EXPECT_EQ(m.size(), big.size());
  EXPECT_TRUE(std::equal(m.begin() + 66, m.end(), big.begin() + 66)) << "the payload, in order";
  EXPECT_EQ(w::load_be16(m, l3 + 2), big.size() - l3);
  EXPECT_EQ(w::checksum_fold(w::checksum_accumulate(std::span<const std::byte>(m).subspan(l3, 20))), 0xFFFF);
  EXPECT_EQ(std::to_integer<int>(m[34 + 13]), 0x18) << "PSH of the last segment";
  EXPECT_EQ(out[0].h.gso_type, v::vnet_gso_tcpv4);
  EXPECT_EQ(out[0].h.gso_size, 1448);
  EXPECT_EQ(out[0].h.csum_start, 34);
  EXPECT_EQ(out[0].h.flags, v::vnet_needs_csum);
  // The pending checksum, completed as the kernel would, is the frame's.
  frame done = m;
  ASSERT_TRUE(v::complete_checksum(done, out[0].h));
  EXPECT_TRUE(tcp_ok(done, true));
  EXPECT_EQ(c.merged_frames(), 1u);
  EXPECT_EQ(c.merged_segments(), segs.size());
}

TEST(TcpCoalescer, LeavesAloneWhatGroMustNotMerge) {
  const v::virtio_net_hdr none{};
  const auto run = [&](const std::vector<frame>& in) {
    v::tcp_coalescer c;
    std::size_t writes = 0;
    const auto write = [&](std::span<const std::byte>, const v::virtio_net_hdr&) { ++writes; };
    for (const frame& f : in) {
      if (c.add(f, none, false)) continue;
      c.flush(write);
      if (!c.add(f, none, false)) ++writes;  // written as it is
    }
    c.flush(write);
    return writes;
  };
  const frame a = tcp_frame(true, 1000, 100, 0x10);
  EXPECT_EQ(run({a, tcp_frame(true, 1000, 1100, 0x10, 2)}), 1u) << "in order: merged";
  EXPECT_EQ(run({a, tcp_frame(true, 1000, 1200, 0x10, 2)}), 2u) << "a gap";
  EXPECT_EQ(run({a, tcp_frame(true, 1000, 1100, 0x11, 2)}), 2u) << "FIN";
  EXPECT_EQ(run({tcp_frame(true, 500, 100, 0x10), tcp_frame(true, 1000, 600, 0x10, 2)}), 2u)
      << "after a short segment";
  frame bad = tcp_frame(true, 1000, 1100, 0x10, 2);
  bad.back() ^= std::byte{1};
  EXPECT_EQ(run({a, bad}), 2u) << "a bad checksum is never merged";
  frame other_ack = tcp_frame(true, 1000, 1100, 0x10, 2);
  w::store_be32(other_ack, 34 + 8, 5);
  w::store_be16(other_ack, 34 + 16, 0);
  w::store_be16(other_ack, 34 + 16, w::tcp::checksum_field(pseudo(other_ack, true, 34),
                                                            std::span<const std::byte>(other_ack).subspan(34)));
  EXPECT_EQ(run({a, other_ack}), 2u) << "another ACK number";
  EXPECT_EQ(run({tcp_frame(false, 1000, 100, 0x10), tcp_frame(false, 1000, 1100, 0x10, 2)}), 2u)
      << "IPv6 is passed through one by one";
}

}  // namespace
