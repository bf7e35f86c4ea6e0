// libFuzzer target for the tunnel-header codecs. The first input byte picks the
// codec (low bits) and the reserved-bit policy (bit 7); the rest is its input:
//   0 VXLAN header, 1 NVGRE header + inner Ethernet frame,
//   2 STT frame header, 3 STT segment (TCP header + payload).
//
// Properties: parse success => encode(parsed) writes the parsed bytes back and
// re-parses equal; strict acceptance implies lenient acceptance; STT segment
// checks keep the payload inside the frame, and segment <-> TCP header mapping
// round-trips.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "nvo/wire/wire.hpp"

namespace {

using namespace nvo::wire;
using nvo_fuzz::check;
using nvo_fuzz::same_bytes;

void fuzz_vxlan(const_bytes in, reserved_bits policy) {
  const auto h = vxlan::parse(in, policy);
  if (!h) return;
  check((h->flags & vxlan::flag_i) != 0 && h->vni <= vxlan::max_vni && h->reserved1 <= 0xFFFFFF);
  if (policy == reserved_bits::strict) {
    check(h->flags == vxlan::flag_i && h->reserved1 == 0 && h->reserved2 == 0);
    check(vxlan::parse(in, reserved_bits::ignore).has_value());
  }
  std::vector<std::byte> out(vxlan::header_size);
  const auto n = vxlan::encode(*h, out);
  check(n && *n == vxlan::header_size);
  check(same_bytes(out, in.first(vxlan::header_size)));
  const auto again = vxlan::parse(out, policy);
  check(again && *again == *h);
}

void fuzz_nvgre(const_bytes in, reserved_bits policy) {
  if (const auto h = nvgre::parse(in, policy)) {
    check(h->vsid <= nvgre::max_vsid);
    if (policy == reserved_bits::strict) check(nvgre::parse(in, reserved_bits::ignore).has_value());
    std::vector<std::byte> out(nvgre::header_size);
    const auto n = nvgre::encode(*h, out);
    check(n && *n == nvgre::header_size);
    check(same_bytes(out, in.first(nvgre::header_size)));
    const auto again = nvgre::parse(out, policy);
    check(again && *again == *h);
  }
  const auto inner = in.size() >= nvgre::header_size ? in.subspan(nvgre::header_size) : in;
  const auto eth = nvgre::parse_inner(inner);
  if (!eth) {
    check(eth.error() == errc::inner_truncated || eth.error() == errc::nvgre_inner_vlan);
    return;
  }
  check(inner.size() >= ethernet::header_size && !eth->has_vlan && !ethernet::is_vlan_tpid(eth->ethertype));
  const auto plain = ethernet::parse(inner);
  check(plain && *plain == *eth);
}

void fuzz_stt_frame_header(const_bytes in, reserved_bits policy) {
  const auto h = stt::parse_frame_header(in, policy);
  if (!h) return;
  check(h->version == 0);
  if (policy == reserved_bits::strict) {
    check((h->flags & stt::flags_reserved_mask) == 0 && h->reserved == 0 && h->padding == 0);
    check(stt::parse_frame_header(in, reserved_bits::ignore).has_value());
  }
  std::vector<std::byte> out(stt::frame_header_size);
  const auto n = stt::encode_frame_header(*h, out);
  check(n && *n == stt::frame_header_size);
  check(same_bytes(out, in.first(stt::frame_header_size)));
  const auto again = stt::parse_frame_header(out, policy);
  check(again && *again == *h);
}

void fuzz_stt_segment(const_bytes in, reserved_bits policy) {
  const auto t = tcp::parse(in);
  if (!t) return;
  const std::size_t payload = in.size() - tcp::header_size;
  const auto s = stt::check_segment(stt::segment_of(*t), payload);
  if (!s) return;
  check(payload > 0 && s->frame_length >= stt::frame_header_size &&
        std::size_t{s->fragment_offset} + payload <= s->frame_length);
  for (const bool last : {false, true}) {
    const auto header = stt::tcp_header_of(*s, last);
    check(stt::segment_of(header) == *s && (header.flags & tcp::flag_ack) != 0);
    std::vector<std::byte> out(tcp::header_size);
    const auto n = tcp::encode(header, out);
    check(n && *n == tcp::header_size);
    const auto again = tcp::parse(out);
    check(again && *again == header);
  }
  if (s->carries_frame_header()) fuzz_stt_frame_header(in.subspan(tcp::header_size), policy);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto in = nvo_fuzz::as_bytes(data + 1, size - 1);
  const auto policy = (data[0] & 0x80) != 0 ? reserved_bits::ignore : reserved_bits::strict;
  switch ((data[0] & 0x7F) % 4) {
    case 0:
      fuzz_vxlan(in, policy);
      break;
    case 1:
      fuzz_nvgre(in, policy);
      break;
    case 2:
      fuzz_stt_frame_header(in, policy);
      break;
    default:
      fuzz_stt_segment(in, policy);
      break;
  }
  return 0;
}
