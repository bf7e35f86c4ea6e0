// File: nvo/wire/byte_order.hpp
// bytes, const_bytes and the constexpr big-endian loads and stores. Defined in
// nvo/base/byte_order.hpp, below nvo/simd/, whose kernels read packets with them.
#pragma once

#include "nvo/base/byte_order.hpp"
