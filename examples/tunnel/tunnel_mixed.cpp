// The per_endpoint pipelines (see tunnel_impl.hpp).
#include "tunnel_impl.hpp"

namespace nvo_examples::detail {
std::unique_ptr<encapsulator> make_mixed_encapsulator(vtep_state& s) { return make_encapsulator_of<np::encap::per_endpoint>(s); }
std::unique_ptr<decapsulator> make_mixed_decapsulator(vtep_state& s) { return make_decapsulator_of<np::encap::per_endpoint>(s); }
}  // namespace nvo_examples::detail
