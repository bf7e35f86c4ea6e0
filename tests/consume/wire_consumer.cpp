// A user's program on nvo::wire alone: builds a VXLAN-over-IPv4 frame with the
// encoders, dissects it, and sums it with the SIMD checksum.
#include <nvo/simd/simd.hpp>
#include <nvo/wire/wire.hpp>

#include <array>
#include <cstdio>

namespace w = nvo::wire;

int main() {
  constexpr std::size_t udp_length = w::udp::header_size + w::vxlan::header_size + w::ethernet::header_size;
  std::array<std::byte, w::vxlan::overhead_ipv4 + w::ethernet::header_size> frame{};
  const w::bytes out(frame);
  w::ethernet::header eth;
  eth.ethertype = w::ethernet::ethertype_ipv4;
  w::ipv4::header ip;
  ip.total_length = static_cast<std::uint16_t>(w::ipv4::min_header_size + udp_length);
  ip.protocol = w::ipv4::protocol_udp;
  ip.src = {{192, 0, 2, 1}};
  ip.dst = {{192, 0, 2, 2}};
  const auto l4 = out.subspan(w::ethernet::header_size + w::ipv4::min_header_size);
  if (!w::ethernet::encode(eth, out) || !w::ipv4::encode(ip, out.subspan(w::ethernet::header_size)) ||
      !w::udp::encode({50000, w::vxlan::default_port, udp_length, 0}, l4) ||
      !w::vxlan::encode({.vni = 4242}, l4.subspan(w::udp::header_size)))
    return 1;
  const auto d = w::dissect(frame);
  if (!d || d->encap != w::encapsulation::vxlan || d->vni != 4242) return 1;
  std::printf("nvo %d: %s vni %u, frame checksum %04x\n", NVO_VERSION, w::to_string(d->encap).data(),
              static_cast<unsigned>(d->vni), static_cast<unsigned>(nvo::simd::checksum(frame)));
  return 0;
}
