// File: nvo/stt/stt.hpp
// STT as a working tunnel: segmentation of frames up to 64 KiB and bounded
// reassembly (draft-davie-stt-08). Like nvo/wire/, needs only the standard
// library and nvo's base/, wire/ and simd/ headers (the nvo::wire CMake target).
#pragma once

#include "nvo/stt/frame.hpp"
#include "nvo/stt/reassembler.hpp"
#include "nvo/stt/segmenter.hpp"
