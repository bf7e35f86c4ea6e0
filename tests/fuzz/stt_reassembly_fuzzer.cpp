// libFuzzer target for stt::reassembler: arbitrary segment sequences.
// Input: one option byte, then 9-byte records, each one segment:
//   options:   bit 0 reserved_bits::ignore; bits 1-2 memory cap 256 KiB << n;
//              bits 3-4 max frames 4 << 2n (4, 16, 64, 256)
//   record[0]: bits 0-2 frame id, bit 3 second source port, bit 4 IPv6
//              addresses, bit 5 payload from the input (else from the key's
//              frame pattern, so segments of one key agree and frames complete)
//   [1..2] frame length, [3..4] offset, [5..6] payload length (big endian),
//   [7] outer TOS, [8] time step: n ms, 255 = 31 s (past the expiry).
// The seeds in corpus/stt_reassembly/ are such records (a frame in order,
// shuffled with duplicates, an overlap attack, a first-segment flood).
//
// Properties after every segment: memory in use within the cap, frames in
// flight within the limit, every internal invariant (audit()), and a completed
// frame has the claimed length and a frame header valid under the policy.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "nvo/stt/stt.hpp"

namespace {

using namespace nvo;
using nvo_fuzz::check;

// Per frame id: a valid frame header, then a pattern; twice 64 KiB so any
// offset + length stays inside.
const std::array<std::vector<std::byte>, 8>& patterns() {
  static const auto p = [] {
    std::array<std::vector<std::byte>, 8> out;
    for (std::size_t id = 0; id < out.size(); ++id) {
      auto& v = out[id];
      v.resize(2 * 65536);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(i * 13 + id);
      wire::stt::frame_header h;
      h.flags = wire::stt::flag_ipv4;
      h.context_id = id;
      (void)wire::stt::encode_frame_header(h, v);
    }
    return out;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  stt::reassembler_options o;
  o.reserved = (opt & 1) != 0 ? wire::reserved_bits::ignore : wire::reserved_bits::strict;
  o.memory_cap = std::size_t{256} << 10 << ((opt >> 1) & 3);
  o.max_frames = std::size_t{4} << (2 * ((opt >> 3) & 3));
  o.hash_seed = 1;
  stt::reassembler r(o);
  const auto& pattern = patterns();
  std::chrono::nanoseconds now{0};
  std::size_t pos = 1, adds = 0;
  while (pos + 9 <= size) {
    const std::uint8_t* rec = data + pos;
    pos += 9;
    const std::size_t id = rec[0] & 7;
    stt::rx_segment s;
    if ((rec[0] & 0x10) != 0) {
      wire::ipv6_address a, b;
      a.octets[15] = 1;
      b.octets[15] = 2;
      s.src = a;
      s.dst = b;
    } else {
      s.src = wire::ipv4_address{{10, 0, 0, 1}};
      s.dst = wire::ipv4_address{{10, 0, 0, 2}};
    }
    s.src_port = (rec[0] & 0x08) != 0 ? 50001 : 50000;
    s.frame_id = static_cast<std::uint32_t>(id);
    s.frame_length = static_cast<std::uint16_t>(rec[1] << 8 | rec[2]);
    s.fragment_offset = static_cast<std::uint16_t>(rec[3] << 8 | rec[4]);
    std::size_t n = static_cast<std::size_t>(rec[5] << 8 | rec[6]);
    s.outer_tos = rec[7];
    now += rec[8] == 255 ? std::chrono::nanoseconds(std::chrono::seconds(31))
                         : std::chrono::nanoseconds(std::chrono::milliseconds(rec[8]));
    if ((rec[0] & 0x20) != 0) {
      n = std::min(n, size - pos);
      s.payload = nvo_fuzz::as_bytes(data + pos, n);
      pos += n;
    } else {
      s.payload = std::span<const std::byte>(pattern[id]).subspan(s.fragment_offset, n);
    }
    const auto a = r.add(s, now);
    ++adds;
    check(r.memory_in_use() <= r.memory_cap());
    check(r.memory_cap() <= o.memory_cap);
    check(r.frames_in_flight() <= o.max_frames);
    check(r.audit());
    check(r.counters().segments == adds);
    if (a.status == stt::outcome::completed) {
      check(a.frame.frame.size() == s.frame_length);
      check(wire::stt::parse_frame_header(a.frame.frame, o.reserved).has_value());
      check(!a.frame.bypassed || a.frame.frame.data() == s.payload.data());
    }
  }
  return 0;
}
