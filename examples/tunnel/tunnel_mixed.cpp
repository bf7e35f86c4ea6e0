// The per_endpoint pipelines over np::buffer (see tunnel_impl.hpp).
#include "tunnel_impl.hpp"

NVO_EXAMPLES_INSTANTIATE_TUNNEL(nvo::pipeline::buffer, nvo::pipeline::encap::per_endpoint);
