// File: nvo/nvo.hpp
// Umbrella header: everything nvo offers.
#pragma once

#include "nvo/version.hpp"
#include "nvo/simd/simd.hpp"
#include "nvo/wire/wire.hpp"
#include "nvo/stt/stt.hpp"
#include "nvo/table/table.hpp"
#include "nvo/pipeline/pipeline.hpp"
