// libFuzzer target for wire::dissect. Input: 3 option bytes, then the frame.
//   byte 0: bit 0 reserved_bits::ignore, bit 1 accept_zero_udp6_checksum,
//           bit 2 use bytes 1-2 (big endian) as the VXLAN port, else 4789.
//
// Properties of a successful dissection: the inner span lies inside the frame
// and ends where the outer IP payload ends; its start matches the tunnel
// header sizes; identifiers agree with the per-layer parsers; and relaxing an
// option (ignore reserved bits, accept zero UDP6 checksums) never turns an
// accepted frame into a rejected or different one.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "nvo/wire/wire.hpp"

namespace {

using namespace nvo::wire;
using nvo_fuzz::check;
using nvo_fuzz::within;

std::size_t offset_in(const_bytes part, const_bytes frame) {
  return static_cast<std::size_t>(part.data() - frame.data());
}

bool same_dissection(const dissection& a, const dissection& b) {
  return a.encap == b.encap && a.inner.data() == b.inner.data() && a.inner.size() == b.inner.size() &&
         a.vni == b.vni && a.nvgre == b.nvgre && a.stt == b.stt && a.stt_frame == b.stt_frame &&
         a.outer_src == b.outer_src && a.outer_dst == b.outer_dst && a.src_port == b.src_port &&
         a.dst_port == b.dst_port;
}

// Offsets of the outer IP payload [begin, end) in the frame.
struct l4_range {
  std::size_t begin = 0;
  std::size_t end = 0;
};

l4_range outer_l4(const_bytes frame, const dissection& d) {
  const auto eth = ethernet::parse(frame);
  check(eth && *eth == d.outer_ethernet);
  const auto l3 = frame.subspan(eth->size());
  if (d.ip_version == 4) {
    const auto ip = ipv4::parse(l3);
    check(ip && ip->src == d.outer_src.v4() && ip->dst == d.outer_dst.v4());
    return {eth->size() + ip->size(), eth->size() + ip->total_length};
  }
  check(d.ip_version == 6);
  const auto ip = ipv6::parse(l3);
  check(ip && ip->src == d.outer_src.v6() && ip->dst == d.outer_dst.v6());
  return {eth->size() + ipv6::header_size, eth->size() + ipv6::header_size + ip->payload_length};
}

void check_tunnel(const_bytes frame, const dissection& d, const dissect_options& opt) {
  check(d.outer_src.version == d.ip_version && d.outer_dst.version == d.ip_version);
  const auto l4 = outer_l4(frame, d);
  check(l4.begin <= l4.end && l4.end <= frame.size());
  check(offset_in(d.inner, frame) + d.inner.size() == l4.end);
  const std::size_t inner_begin = offset_in(d.inner, frame);
  switch (d.encap) {
    case encapsulation::vxlan: {
      check(d.dst_port == opt.vxlan_port && d.inner.size() >= ethernet::header_size);
      check(inner_begin == l4.begin + udp::header_size + vxlan::header_size);
      const auto vx = vxlan::parse(frame.subspan(l4.begin + udp::header_size), opt.reserved);
      check(vx && vx->vni == d.vni);
      break;
    }
    case encapsulation::nvgre: {
      check(inner_begin == l4.begin + nvgre::header_size && d.src_port == 0 && d.dst_port == 0);
      check(nvgre::parse_inner(d.inner).has_value());
      const auto nv = nvgre::parse(frame.subspan(l4.begin), opt.reserved);
      check(nv && *nv == d.nvgre);
      break;
    }
    case encapsulation::stt: {
      check(d.dst_port == stt::default_port);
      check(d.has_stt_frame_header == d.stt.carries_frame_header());
      const std::size_t payload = l4.end - l4.begin - tcp::header_size;
      check(payload > 0 && d.stt.fragment_offset + payload <= d.stt.frame_length);
      const std::size_t header = d.has_stt_frame_header ? stt::frame_header_size : 0;
      check(inner_begin == l4.begin + tcp::header_size + header);
      if (d.has_stt_frame_header) check(d.inner.size() >= ethernet::header_size);
      break;
    }
    case encapsulation::none:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  dissect_options opt;
  opt.reserved = (data[0] & 0x01) != 0 ? reserved_bits::ignore : reserved_bits::strict;
  opt.accept_zero_udp6_checksum = (data[0] & 0x02) != 0;
  if ((data[0] & 0x04) != 0) opt.vxlan_port = static_cast<std::uint16_t>(data[1] << 8 | data[2]);
  const auto frame = nvo_fuzz::as_bytes(data + 3, size - 3);

  const auto d = dissect(frame, opt);
  if (!d) return 0;
  check(within(d->inner, frame));
  if (d->encap == encapsulation::none) {
    check(d->inner.empty() && !d->has_stt_frame_header);
  } else {
    check(d->inner_starts_frame() == (d->encap != encapsulation::stt || d->has_stt_frame_header));
    check_tunnel(frame, *d, opt);
  }

  auto relaxed = opt;
  relaxed.reserved = reserved_bits::ignore;
  relaxed.accept_zero_udp6_checksum = true;
  const auto again = dissect(frame, relaxed);
  check(again && same_dissection(*again, *d));
  return 0;
}
