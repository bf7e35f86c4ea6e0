// Built with -mavx512f -mavx512bw -mavx512vl -mavx2 -mbmi2 -msse4.2.
#define NVO_ODR_PROBE probe_wide
#include "probe_impl.hpp"
