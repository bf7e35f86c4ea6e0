// The vxlan pipelines over DPDK mbufs (see tunnel/tunnel_impl.hpp).
#include "nvo/dpdk/mbuf.hpp"
#include "tunnel_impl.hpp"

NVO_EXAMPLES_INSTANTIATE_TUNNEL(nvo::dpdk::mbuf_buffer, nvo::pipeline::encap::vxlan);
