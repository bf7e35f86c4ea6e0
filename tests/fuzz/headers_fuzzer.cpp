// libFuzzer target for the layer parsers. The first input byte picks the parser
// (low bits) and, for GRE, the reserved-bit policy (bit 7); the rest is the
// parser's input. One binary for six small parsers keeps the CI fuzz budget low.
//
// Properties: parse success => encode(parsed) succeeds, writes the bytes that
// were parsed (IPv4: except a checksum that verifies either way), and parsing
// those bytes again gives an equal header. The checksum routine agrees with a
// plain 16-bit reference sum.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "nvo/wire/wire.hpp"

namespace {

using namespace nvo::wire;
using nvo_fuzz::check;
using nvo_fuzz::same_bytes;

void fuzz_ethernet(const_bytes in) {
  const auto h = ethernet::parse(in);
  if (!h) return;
  check(h->size() <= in.size());
  std::vector<std::byte> out(h->size());
  const auto n = ethernet::encode(*h, out);
  check(n && *n == h->size());
  check(same_bytes(out, in.first(h->size())));
  const auto again = ethernet::parse(out);
  check(again && *again == *h);
}

void fuzz_ipv4(const_bytes in) {
  const auto h = ipv4::parse(in);
  if (!h) return;
  check(h->ihl >= 5 && h->size() <= h->total_length && h->total_length <= in.size());
  // The re-parse needs total_length bytes; the payload is carried over as is.
  std::vector<std::byte> out(in.begin(), in.begin() + h->total_length);
  const auto n = ipv4::encode(*h, out);
  check(n && *n == h->size());
  const auto again = ipv4::parse(out);
  check(again.has_value());
  // encode recomputes the checksum: 0x0000 and 0xFFFF can both verify, so the
  // field may differ; everything else is bit-identical.
  auto expected = *h;
  expected.checksum = again->checksum;
  check(*again == expected);
  check(same_bytes(std::span(out).first(10), in.first(10)));
  check(same_bytes(std::span(out).subspan(12, h->size() - 12), in.subspan(12, h->size() - 12)));
}

void fuzz_ipv6(const_bytes in) {
  const auto h = ipv6::parse(in);
  if (!h) return;
  check(h->payload_length > 0 && ipv6::header_size + h->payload_length <= in.size());
  std::vector<std::byte> out(in.begin(), in.begin() + ipv6::header_size + h->payload_length);
  const auto n = ipv6::encode(*h, out);
  check(n && *n == ipv6::header_size);
  check(same_bytes(std::span(out).first(ipv6::header_size), in.first(ipv6::header_size)));
  const auto again = ipv6::parse(out);
  check(again && *again == *h);
}

void fuzz_udp(const_bytes in) {
  const auto h = udp::parse(in);
  if (!h) return;
  check(h->length == in.size() && h->length >= udp::header_size);
  std::vector<std::byte> out(in.begin(), in.end());
  const auto n = udp::encode(*h, out);
  check(n && *n == udp::header_size);
  check(same_bytes(out, in));
  const auto again = udp::parse(out);
  check(again && *again == *h);
}

void fuzz_tcp(const_bytes in) {
  const auto h = tcp::parse(in);
  if (!h) return;
  check(h->data_offset == 5);
  std::vector<std::byte> out(tcp::header_size);
  const auto n = tcp::encode(*h, out);
  check(n && *n == tcp::header_size);
  check(same_bytes(out, in.first(tcp::header_size)));
  const auto again = tcp::parse(out);
  check(again && *again == *h);
}

void fuzz_gre(const_bytes in, reserved_bits policy) {
  const auto h = gre::parse(in, policy);
  if (!h) return;
  check(h->version == 0 && h->size() <= in.size());
  if (policy == reserved_bits::strict) check(h->reserved0 == 0 && h->reserved1 == 0);
  std::vector<std::byte> out(h->size());
  const auto n = gre::encode(*h, out);
  check(n && *n == h->size());
  check(same_bytes(out, in.first(h->size())));
  const auto again = gre::parse(out, policy);
  check(again && *again == *h);
  // The lenient policy accepts whatever the strict one does.
  if (policy == reserved_bits::strict) check(gre::parse(in, reserved_bits::ignore).has_value());
}

void fuzz_checksum(const_bytes in) {
  std::uint64_t reference = 0;
  for (std::size_t i = 0; i < in.size(); i += 2) {
    const auto hi = std::to_integer<std::uint64_t>(in[i]) << 8;
    reference += hi | (i + 1 < in.size() ? std::to_integer<std::uint64_t>(in[i + 1]) : 0);
  }
  check(checksum_fold(checksum_accumulate(in)) == checksum_fold(reference));
  // Chaining at an even split gives the same sum as one pass.
  const std::size_t half = in.size() / 4 * 2;
  check(checksum_fold(checksum_accumulate(in.subspan(half), checksum_accumulate(in.first(half)))) ==
        checksum_fold(reference));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto in = nvo_fuzz::as_bytes(data + 1, size - 1);
  const auto policy = (data[0] & 0x80) != 0 ? reserved_bits::ignore : reserved_bits::strict;
  switch ((data[0] & 0x7F) % 7) {
    case 0:
      fuzz_ethernet(in);
      break;
    case 1:
      fuzz_ipv4(in);
      break;
    case 2:
      fuzz_ipv6(in);
      break;
    case 3:
      fuzz_udp(in);
      break;
    case 4:
      fuzz_tcp(in);
      break;
    case 5:
      fuzz_gre(in, policy);
      break;
    default:
      fuzz_checksum(in);
      break;
  }
  return 0;
}
