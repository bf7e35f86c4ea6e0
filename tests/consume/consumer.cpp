// A user's program: includes the umbrella header, decodes a VXLAN header and
// pushes one frame through a point-to-point VXLAN pipeline.
#include <nvo/nvo.hpp>

#include <array>
#include <cstdio>

int main() {
  std::array<std::byte, nvo::wire::vxlan::header_size> buf{};
  const auto n = nvo::wire::vxlan::encode({.vni = 4242}, buf);
  const auto h = nvo::wire::vxlan::parse(buf);
  if (!n || !h || h->vni != 4242) return 1;

  namespace np = nvo::pipeline;
  const nvo::wire::ip_address local = nvo::wire::ipv4_address{{10, 0, 0, 1}};
  const nvo::wire::ip_address remote = nvo::wire::ipv4_address{{10, 0, 0, 2}};
  np::endpoint_templates<> templates;
  if (!templates.set({.local = local, .remote = remote}).ok()) return 1;
  np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::fixed>> p(
      {}, np::lookup::fixed({.provider = remote}), templates);
  std::array<std::byte, 256> storage{};
  np::buffer frame(storage, 128, 64);
  const np::verdict v = p.encapsulate(frame, 4242);
  const auto d = nvo::wire::dissect({frame.data(), frame.size()});
  if (!v.ok() || !d || d->vni != 4242) return 1;
  std::printf("nvo %d: vni %u, %zu-byte VXLAN packet\n", NVO_VERSION, static_cast<unsigned>(h->vni), frame.size());
  return 0;
}
