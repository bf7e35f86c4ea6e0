#include <nvo/nvo.hpp>

#include <array>
#include <cstdio>

int main() {
  std::array<std::byte, nvo::wire::vxlan::header_size> buf{};
  const auto n = nvo::wire::vxlan::encode({.vni = 7}, buf);
  const auto h = nvo::wire::vxlan::parse(buf);
  std::printf("nvo %d\n", NVO_VERSION);
  return n && h && h->vni == 7 ? 0 : 1;
}
