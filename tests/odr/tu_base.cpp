// Built with the plain x86-64 baseline flags.
#define NVO_ODR_PROBE probe_base
#include "probe_impl.hpp"
