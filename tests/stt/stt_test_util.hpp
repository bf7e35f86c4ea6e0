// File: tests/stt/stt_test_util.hpp
// Shared by the STT segmenter and reassembler tests: outer templates built
// with tests/wire/test_frames.hpp's encoders, and a segment-and-dissect helper.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../wire/test_frames.hpp"
#include "nvo/stt/stt.hpp"

namespace nvo_stt_test {

namespace w = nvo::wire;
namespace stt = nvo::stt;
using nvo_test::byte_vector;

inline w::ip_address ipv6(std::uint8_t last) {
  w::ipv6_address a;
  a.octets = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
  return a;
}

inline nvo_test::outer_params outer_v4() { return {}; }
inline nvo_test::outer_params outer_v6() {
  nvo_test::outer_params o;
  o.src = ipv6(1);
  o.dst = ipv6(2);
  return o;
}

// Ethernet + IP + a 20-byte TCP header to port 7471, as an endpoint would build it.
inline byte_vector template_bytes(const nvo_test::outer_params& o) {
  byte_vector tcp(w::tcp::header_size);
  w::tcp::header t;
  t.dst_port = w::stt::default_port;
  (void)w::tcp::encode(t, tcp);
  return nvo_test::make_ip_frame(o, w::ipv4::protocol_tcp, tcp);
}

inline stt::segment_template make_template(const nvo_test::outer_params& o, std::size_t mtu) {
  const byte_vector b = template_bytes(o);
  const auto t = stt::make_segment_template(b, mtu);
  EXPECT_TRUE(t.has_value()) << w::to_string(t.error());
  return *t;
}

// The inner Ethernet frame of inner_size bytes (>= 14), a pattern from seed.
inline byte_vector make_inner(std::size_t inner_size, std::uint8_t seed = 0) {
  return nvo_test::make_inner_frame(inner_size - w::ethernet::header_size, seed);
}

struct segments {
  std::vector<byte_vector> frames;  // outer frames, one per segment
  stt::segmented info{};
};

inline segments segment_all(stt::segmenter& s, const stt::segment_template& t, const stt::frame_params& p,
                            std::span<const std::byte> inner) {
  segments out;
  const std::size_t n = stt::segment_count(t, inner.size());
  out.frames.resize(n);
  std::vector<w::bytes> views;
  for (auto& f : out.frames) {
    f.resize(stt::max_segment_size(t));
    views.emplace_back(f);
  }
  const auto r = s.segment(t, p, inner, views);
  EXPECT_TRUE(r.has_value());
  if (!r) return out;
  out.info = *r;
  for (std::size_t i = 0; i < n; ++i) out.frames[i].resize(views[i].size());
  return out;
}

}  // namespace nvo_stt_test
