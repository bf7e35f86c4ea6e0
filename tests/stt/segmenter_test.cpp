// Tests for nvo/stt/segmenter.hpp: templates, every field of every segment
// (against tests/wire/test_frames.hpp's independent STT builder and through
// wire::dissect, which verifies the TCP checksum), the offload super-segment
// cut by a software TSO, and frame-id uniqueness.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "stt_test_util.hpp"

namespace {

using namespace nvo_stt_test;
using nvo_test::make_stt_segment;
using nvo_test::outer_params;

TEST(SttTemplate, RecordsOffsetsAndMss) {
  outer_params o = outer_v4();
  auto t = make_template(o, 1500);
  EXPECT_EQ(t.ip_version, 4);
  EXPECT_EQ(t.ip_offset, 14);
  EXPECT_EQ(t.tcp_offset, 34);
  EXPECT_EQ(t.size, 54);
  EXPECT_EQ(t.segment_payload, 1460);

  o.vlan = true;
  o.ipv4_ihl = 7;
  t = make_template(o, 9000);
  EXPECT_EQ(t.ip_offset, 18);
  EXPECT_EQ(t.tcp_offset, 18 + 28);
  EXPECT_EQ(t.segment_payload, 9000 - 28 - 20);

  t = make_template(outer_v6(), 1500);
  EXPECT_EQ(t.ip_version, 6);
  EXPECT_EQ(t.tcp_offset, 54);
  EXPECT_EQ(t.segment_payload, 1440);

  // The MTU is capped at 65535, so the MSS is too.
  EXPECT_EQ(make_template(outer_v4(), 1 << 20).segment_payload, 65535 - 40);
}

TEST(SttTemplate, RejectsWhatIsNotEthernetIpTcp) {
  const byte_vector good = template_bytes(outer_v4());
  EXPECT_TRUE(stt::make_segment_template(good, 1500));
  EXPECT_EQ(stt::make_segment_template(std::span(good).first(40), 1500).error(), w::errc::truncated);
  byte_vector longer = good;
  longer.push_back(std::byte{0});
  EXPECT_EQ(stt::make_segment_template(longer, 1500).error(), w::errc::field_out_of_range);
  byte_vector udp = good;
  udp[14 + 9] = std::byte{17};
  EXPECT_EQ(stt::make_segment_template(udp, 1500).error(), w::errc::field_out_of_range);
  byte_vector fragment = good;
  fragment[14 + 6] = std::byte{0x20};  // MF
  EXPECT_EQ(stt::make_segment_template(fragment, 1500).error(), w::errc::ipv4_fragment);
  byte_vector options = good;
  options[34 + 12] = std::byte{0x60};  // TCP data offset 6
  EXPECT_EQ(stt::make_segment_template(options, 1500).error(), w::errc::tcp_bad_data_offset);
  byte_vector arp = good;
  arp[12] = std::byte{0x08};
  arp[13] = std::byte{0x06};
  EXPECT_EQ(stt::make_segment_template(arp, 1500).error(), w::errc::field_out_of_range);
  // 20 + 20 + 64 is the least MTU.
  EXPECT_TRUE(stt::make_segment_template(good, 104));
  EXPECT_EQ(stt::make_segment_template(good, 103).error(), w::errc::field_out_of_range);
  const byte_vector v6 = template_bytes(outer_v6());
  byte_vector v6_udp = v6;
  v6_udp[14 + 6] = std::byte{17};
  EXPECT_EQ(stt::make_segment_template(v6_udp, 1500).error(), w::errc::field_out_of_range);
}

TEST(SttTemplate, UsableInConstantExpressions) {
  constexpr auto t = [] {
    std::array<std::byte, 54> h{};
    const w::bytes b(h);
    w::store_be16(b, 12, w::ethernet::ethertype_ipv4);
    w::store_u8(b, 14, 0x45);
    w::store_u8(b, 14 + 9, w::ipv4::protocol_tcp);
    w::store_u8(b, 34 + 12, 0x50);
    return stt::make_segment_template(h, 1500);
  }();
  static_assert(t.has_value() && t->segment_payload == 1460 && t->size == 54);
}

struct segment_case {
  outer_params outer;
  std::size_t mtu;
  std::size_t inner;
};

// Segment i of the frame exactly as the independent builder makes it, given
// the IPv4 identification the segmenter gave it.
void expect_like_builder(const segment_case& c, const stt::frame_params& p, const segments& got,
                         const byte_vector& inner, const stt::segment_template& t) {
  nvo_test::stt_params sp;
  sp.outer = c.outer;
  sp.src_port = p.src_port;
  sp.frame_id = got.info.frame_id;
  sp.frame_header = p.header;
  sp.inner = inner;
  const byte_vector frame = nvo_test::make_stt_frame(sp);
  ASSERT_EQ(got.info.frame_length, frame.size());
  ASSERT_EQ(got.info.segments, got.frames.size());
  const std::uint16_t first_id = c.outer.src.is_v4() ? w::load_be16(got.frames[0], t.ip_offset + 4) : 0;
  std::size_t off = 0;
  for (std::size_t i = 0; i < got.frames.size(); ++i) {
    const std::size_t n = std::min<std::size_t>(t.segment_payload, frame.size() - off);
    sp.outer.ipv4_id = static_cast<std::uint16_t>(first_id + i);
    const byte_vector want = make_stt_segment(sp, static_cast<std::uint16_t>(frame.size()),
                                              static_cast<std::uint16_t>(off),
                                              std::span<const std::byte>(frame).subspan(off, n),
                                              off + n == frame.size());
    ASSERT_EQ(got.frames[i], want) << "segment " << i << " of " << got.frames.size() << ", inner " << c.inner;
    off += n;
  }
  EXPECT_EQ(off, frame.size());
}

TEST(SttSegmenter, SegmentsMatchTheBuilderAndDissect) {
  std::vector<segment_case> cases;
  for (const outer_params& o : {outer_v4(), outer_v6()}) {
    for (const std::size_t mtu : {576, 1500, 9000}) {
      const std::size_t mss = mtu - (o.src.is_v4() ? 20 : 40) - 20;
      for (const std::size_t inner : {std::size_t{14}, std::size_t{60}, mss - 19, mss - 18, mss - 17, 2 * mss,
                                      std::size_t{9000}, std::size_t{65000}, stt::max_inner_length})
        cases.push_back({o, mtu, inner});
    }
  }
  outer_params tagged = outer_v4();
  tagged.vlan = true;
  tagged.vlan_tci = 0x0123;
  tagged.ipv4_ihl = 6;
  tagged.ipv4_options[0] = 1;  // NOP
  tagged.ipv4_options[1] = 1;
  tagged.ipv4_options[2] = 1;
  tagged.ipv4_options[3] = 0;
  tagged.tos = 0xB8;
  cases.push_back({tagged, 1500, 4000});

  stt::segmenter seg(3, 8, 0x0000'1234'5678'9ABCull);
  for (const auto& c : cases) {
    const auto t = make_template(c.outer, c.mtu);
    stt::frame_params p;
    p.src_port = 0xC123;
    p.header.flags = w::stt::flag_ipv4 | w::stt::flag_tcp | stt::checksum_flags(stt::inner_checksum::partial);
    p.header.l4_offset = 34;
    p.header.mss = 1448;
    p.header.vlan_tci = w::stt::vlan_present | 42;
    p.header.context_id = 0x0123456789ABCDEFull;
    const byte_vector inner = make_inner(c.inner, static_cast<std::uint8_t>(c.inner));
    const segments got = segment_all(seg, t, p, inner);
    expect_like_builder(c, p, got, inner, t);
    EXPECT_EQ(got.info.frame_id & 0xFF, 3u);  // the instance in the low bits

    byte_vector reassembled;
    for (std::size_t i = 0; i < got.frames.size(); ++i) {
      const auto d = w::dissect(got.frames[i]);  // verifies the IPv4 and TCP checksums
      ASSERT_TRUE(d) << w::to_string(d.error()) << " segment " << i << " inner " << c.inner;
      ASSERT_EQ(d->encap, w::encapsulation::stt);
      EXPECT_EQ(d->has_stt_frame_header, i == 0);
      if (i == 0) {
        EXPECT_EQ(d->stt_frame, p.header);
      }
      EXPECT_EQ(d->stt.frame_id, got.info.frame_id);
      EXPECT_EQ(d->src_port, p.src_port);
      EXPECT_EQ(d->outer_tos, c.outer.tos);
      const auto s = stt::rx_segment_of(*d);
      EXPECT_EQ(s.fragment_offset, reassembled.size());
      reassembled.insert(reassembled.end(), s.payload.begin(), s.payload.end());
    }
    EXPECT_EQ(reassembled.size(), got.info.frame_length);
    EXPECT_TRUE(std::equal(inner.begin(), inner.end(), reassembled.begin() + w::stt::frame_header_size));
  }
}

// The least frame (empty inner frame) is one segment with a valid checksum;
// dissect would want an inner Ethernet header, so check the checksum directly.
TEST(SttSegmenter, EmptyInnerFrame) {
  const auto t = make_template(outer_v4(), 1500);
  stt::segmenter seg(0, 0, 7);
  const segments got = segment_all(seg, t, {}, {});
  ASSERT_EQ(got.frames.size(), 1u);
  EXPECT_EQ(got.info.frame_length, 18);
  ASSERT_EQ(got.frames[0].size(), 54u + 18u);
  const auto seg_bytes = std::span<const std::byte>(got.frames[0]).subspan(34);
  EXPECT_TRUE(w::tcp::checksum_ok(w::pseudo_header_sum(outer_v4().src, outer_v4().dst, 6, 38), seg_bytes));
  EXPECT_EQ(w::load_be32(seg_bytes, 4), 18u << 16);
  EXPECT_EQ(w::load_u8(seg_bytes, 13), w::tcp::flag_ack | w::tcp::flag_psh);
}

TEST(SttSegmenter, OuterTosOverride) {
  for (const outer_params& o : {outer_v4(), outer_v6()}) {
    const auto t = make_template(o, 1500);
    stt::segmenter seg(1, 4, 99);
    stt::frame_params p;
    p.outer_tos = 0x2B;  // DSCP 10, ECT(1)
    const byte_vector inner = make_inner(5000);
    for (const auto& f : segment_all(seg, t, p, inner).frames) {
      const auto d = w::dissect(f);
      ASSERT_TRUE(d) << w::to_string(d.error());
      EXPECT_EQ(d->outer_tos, 0x2B);
      if (o.src.is_v6()) {
        EXPECT_EQ(w::load_be32(f, 14) & 0xFFFFFu, o.ipv6_flow_label);
      }
    }
  }
}

TEST(SttSegmenter, IpIdentificationAdvancesPerSegment) {
  const auto t = make_template(outer_v4(), 1500);
  stt::segmenter seg(0, 8, 0x0000'FFFE'0000'0000ull);  // IPv4 id starts at 0xFFFE and wraps
  const byte_vector inner = make_inner(4000);
  const auto a = segment_all(seg, t, {}, inner);
  const auto b = segment_all(seg, t, {}, inner);
  std::vector<std::uint16_t> ids;
  for (const auto* s : {&a, &b})
    for (const auto& f : s->frames) ids.push_back(w::load_be16(f, 14 + 4));
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], static_cast<std::uint16_t>(0xFFFE + i));
  EXPECT_NE(a.info.frame_id, b.info.frame_id);
}

TEST(SttSegmenter, OutputErrors) {
  const auto t = make_template(outer_v4(), 1500);
  stt::segmenter seg(0);
  const byte_vector inner = make_inner(5000);
  // A ring that runs dry after two segments.
  std::vector<std::byte> ring(2 * stt::max_segment_size(t));
  std::size_t used = 0;
  std::vector<std::size_t> lengths;
  const auto r = seg.segment(t, {}, inner, [&](std::size_t n) -> w::bytes {
    lengths.push_back(n);
    if (used + n > ring.size()) return {};
    const w::bytes b = w::bytes(ring).subspan(used, n);
    used += n;
    return b;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), w::errc::output_too_small);
  ASSERT_EQ(lengths.size(), 3u);
  EXPECT_EQ(lengths[0], stt::segment_size(t, inner.size(), 0));
  EXPECT_EQ(lengths[0], stt::max_segment_size(t));

  // Too few spans, and a span too short for its segment.
  std::vector<byte_vector> bufs(2, byte_vector(stt::max_segment_size(t)));
  std::vector<w::bytes> views{w::bytes(bufs[0]), w::bytes(bufs[1])};
  EXPECT_EQ(seg.segment(t, {}, inner, views).error(), w::errc::output_too_small);
  bufs.resize(4, byte_vector(stt::max_segment_size(t)));
  views = {w::bytes(bufs[0]), w::bytes(bufs[1]), w::bytes(bufs[2]), w::bytes(bufs[3]).first(100)};
  EXPECT_EQ(stt::segment_count(t, inner.size()), 4u);
  EXPECT_EQ(seg.segment(t, {}, inner, views).error(), w::errc::output_too_small);

  const byte_vector huge(stt::max_inner_length + 1);
  EXPECT_EQ(seg.segment(t, {}, huge, views).error(), w::errc::field_out_of_range);
  byte_vector headers(stt::offload_header_size(t));
  EXPECT_EQ(seg.segment_offload(t, {}, huge.size(), headers).error(), w::errc::field_out_of_range);
  EXPECT_EQ(seg.segment_offload(t, {}, 100, w::bytes(headers).first(71)).error(), w::errc::output_too_small);
}

// What a TSO NIC does with the super-segment: per segment, the headers with
// SEQ advanced by the offset, IP lengths and identification per segment, PSH
// only on the last, and the checksum completed from the pseudo-header seed.
std::vector<byte_vector> software_tso(const byte_vector& super, const stt::offload_metadata& m) {
  std::vector<byte_vector> out;
  const std::size_t hl = std::size_t{m.l2_length} + m.l3_length + m.l4_length;
  const auto all = std::span<const std::byte>(super);
  const std::uint32_t seq = w::load_be32(all, m.csum_start + 4);
  const std::uint16_t id = m.ipv4 ? w::load_be16(all, m.l2_length + 4) : 0;
  const std::size_t frame = super.size() - hl;
  for (std::size_t k = 0, off = 0; off < frame; ++k, off += m.tso_segsz) {
    const std::size_t n = std::min<std::size_t>(m.tso_segsz, frame - off);
    byte_vector s(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(hl));
    s.insert(s.end(), all.begin() + static_cast<std::ptrdiff_t>(hl + off),
             all.begin() + static_cast<std::ptrdiff_t>(hl + off + n));
    const w::bytes b(s);
    const bool last = off + n == frame;
    w::store_be32(b, m.csum_start + 4, seq + static_cast<std::uint32_t>(off));
    w::store_u8(b, m.csum_start + 13, last ? w::tcp::flag_ack | w::tcp::flag_psh : w::tcp::flag_ack);
    const auto ip = b.subspan(m.l2_length, m.l3_length);
    const std::size_t l4 = m.l4_length + n;
    if (m.ipv4) {
      w::store_be16(ip, 2, static_cast<std::uint16_t>(m.l3_length + l4));
      w::store_be16(ip, 4, static_cast<std::uint16_t>(id + k));
      w::store_be16(ip, 10, 0);
      w::store_be16(ip, 10, w::checksum_finalize(w::checksum_accumulate(ip)));
    } else {
      w::store_be16(ip, 4, static_cast<std::uint16_t>(l4));
    }
    // The seed is the pseudo-header without length; the NIC adds the length.
    const auto tcp = b.subspan(m.csum_start);
    const std::uint16_t seed = w::load_be16(tcp, m.csum_offset);
    w::store_be16(tcp, m.csum_offset, 0);
    w::store_be16(tcp, m.csum_offset, w::tcp::checksum_field(std::uint64_t{seed} + l4, tcp));
    out.push_back(std::move(s));
  }
  return out;
}

TEST(SttSegmenter, OffloadSuperSegmentCutsIntoTheSoftwareSegments) {
  for (const outer_params& o : {outer_v4(), outer_v6()}) {
    for (const std::size_t inner_size : {std::size_t{60}, std::size_t{9000}, std::size_t{65000}}) {
      const auto t = make_template(o, 1500);
      stt::frame_params p;
      p.src_port = 0xBEEF;
      p.header.flags = w::stt::flag_ipv4 | stt::checksum_flags(stt::inner_checksum::verified);
      p.header.context_id = 77;
      p.outer_tos = 0x02;
      const byte_vector inner = make_inner(inner_size, 5);
      stt::segmenter soft(9, 8, 0x0000'0100'0000'0042ull);
      stt::segmenter hard(9, 8, 0x0000'0100'0000'0042ull);  // same seed: same frame id and IPv4 ids
      const segments want = segment_all(soft, t, p, inner);

      byte_vector super(stt::offload_header_size(t));
      const auto m = hard.segment_offload(t, p, inner.size(), super);
      ASSERT_TRUE(m);
      super.insert(super.end(), inner.begin(), inner.end());
      EXPECT_EQ(m->length, super.size());
      EXPECT_EQ(m->frame_id, want.info.frame_id);
      EXPECT_EQ(m->segments, want.frames.size());
      EXPECT_EQ(m->tso_segsz, t.segment_payload);
      EXPECT_EQ(m->l2_length, 14);
      EXPECT_EQ(m->l3_length, o.src.is_v4() ? 20 : 40);
      EXPECT_EQ(m->l4_length, 20);
      EXPECT_EQ(m->csum_start, t.tcp_offset);
      EXPECT_EQ(m->csum_offset, 16);
      EXPECT_EQ(m->ipv4, o.src.is_v4());
      EXPECT_EQ(w::load_be16(super, t.tcp_offset + 16),
                w::checksum_fold(w::pseudo_header_sum(o.src, o.dst, w::ipv4::protocol_tcp, 0)));
      // Beyond 16 bits the IP length is 0 (65000 + headers); else the super-segment's.
      const std::size_t l3 = m->length - m->l2_length;
      const std::uint16_t ip_len = o.src.is_v4() ? w::load_be16(super, 16) : w::load_be16(super, 18);
      EXPECT_EQ(ip_len, (o.src.is_v4() ? l3 : l3 - 40) > 0xFFFF ? 0 : (o.src.is_v4() ? l3 : l3 - 40));
      EXPECT_EQ(software_tso(super, *m), want.frames);
      // The next frame's IPv4 ids continue after the NIC's.
      EXPECT_EQ(segment_all(soft, t, p, inner).frames, [&] {
        byte_vector s2(stt::offload_header_size(t));
        const auto m2 = hard.segment_offload(t, p, inner.size(), s2);
        s2.insert(s2.end(), inner.begin(), inner.end());
        return software_tso(s2, *m2);
      }());
    }
  }
}

TEST(SttFrameIds, UniqueAcrossInstancesAndPeriodic) {
  std::set<std::uint32_t> seen;
  std::vector<stt::frame_id_generator> gens;
  for (std::uint32_t i = 0; i < 4; ++i) gens.emplace_back(i, 2, 0xFFFFFFF0u);  // all start near the wrap
  for (int n = 0; n < 1000; ++n)
    for (auto& g : gens) EXPECT_TRUE(seen.insert(g.next()).second);
  EXPECT_EQ(gens[0].period(), std::uint64_t{1} << 30);

  stt::frame_id_generator g(5, 3, 0);
  const std::uint32_t first = g.next();
  stt::frame_id_generator h(5, 3, static_cast<std::uint32_t>(g.period()));
  EXPECT_EQ(h.next(), first);  // after period() frames an instance repeats
  stt::segmenter s(5, 3, 0);
  EXPECT_EQ(s.frame_id_period(), g.period());
}

TEST(SttFrame, ChecksumFlagsAndRxOffload) {
  EXPECT_EQ(stt::checksum_flags(stt::inner_checksum::none), 0);
  EXPECT_EQ(stt::checksum_flags(stt::inner_checksum::verified), w::stt::flag_checksum_verified);
  EXPECT_EQ(stt::checksum_flags(stt::inner_checksum::partial), w::stt::flag_checksum_partial);
  w::stt::frame_header h;
  h.flags = w::stt::flag_checksum_partial | w::stt::flag_tcp | w::stt::flag_ipv4;
  h.l4_offset = 34;
  h.mss = 1448;
  h.vlan_tci = 0xA000 | w::stt::vlan_present | 100;
  auto o = stt::rx_offload_of(h, 0x03);
  EXPECT_EQ(o.checksum, stt::inner_checksum::partial);
  EXPECT_EQ(o.csum_start, 34);
  EXPECT_EQ(o.csum_offset, 16);
  EXPECT_EQ(o.gso_size, 1448);
  EXPECT_TRUE(o.has_vlan);
  EXPECT_EQ(o.vlan_tci, 0xA000 | 100);
  EXPECT_EQ(o.outer_tos, 0x03);
  h.flags = w::stt::flag_checksum_partial;  // UDP
  EXPECT_EQ(stt::rx_offload_of(h, 0).csum_offset, 6);
  h.flags = w::stt::flag_checksum_verified;
  h.vlan_tci = 100;  // V clear: no tag
  o = stt::rx_offload_of(h, 0);
  EXPECT_EQ(o.checksum, stt::inner_checksum::verified);
  EXPECT_FALSE(o.has_vlan);
  EXPECT_EQ(o.vlan_tci, 0);
}

}  // namespace
