// File: nvo/simd/simd.hpp
// Umbrella header: ISA dispatch, checksum kernels, Toeplitz, CRC-32C and the
// flow-key/entropy helpers.
#pragma once

#include "nvo/simd/checksum.hpp"
#include "nvo/simd/crc32c.hpp"
#include "nvo/simd/dispatch.hpp"
#include "nvo/simd/flow.hpp"
#include "nvo/simd/toeplitz.hpp"
