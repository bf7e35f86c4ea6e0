// The nvgre pipelines (see tunnel_impl.hpp).
#include "tunnel_impl.hpp"

namespace nvo_examples::detail {
std::unique_ptr<encapsulator> make_nvgre_encapsulator(vtep_state& s) { return make_encapsulator_of<np::encap::nvgre>(s); }
std::unique_ptr<decapsulator> make_nvgre_decapsulator(vtep_state& s) { return make_decapsulator_of<np::encap::nvgre>(s); }
}  // namespace nvo_examples::detail
