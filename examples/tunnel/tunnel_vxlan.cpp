// The vxlan pipelines (see tunnel_impl.hpp).
#include "tunnel_impl.hpp"

namespace nvo_examples::detail {
std::unique_ptr<encapsulator> make_vxlan_encapsulator(vtep_state& s) { return make_encapsulator_of<np::encap::vxlan>(s); }
std::unique_ptr<decapsulator> make_vxlan_decapsulator(vtep_state& s) { return make_decapsulator_of<np::encap::vxlan>(s); }
}  // namespace nvo_examples::detail
