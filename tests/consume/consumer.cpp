// A user's program: includes the umbrella header and decodes a VXLAN header.
#include <nvo/nvo.hpp>

#include <array>
#include <cstdio>

int main() {
  std::array<std::byte, nvo::wire::vxlan::header_size> buf{};
  const auto n = nvo::wire::vxlan::encode({.vni = 4242}, buf);
  const auto h = nvo::wire::vxlan::parse(buf);
  if (!n || !h || h->vni != 4242) return 1;
  std::printf("nvo %d: vni %u\n", NVO_VERSION, static_cast<unsigned>(h->vni));
  return 0;
}
