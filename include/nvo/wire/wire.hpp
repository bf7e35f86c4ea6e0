// File: nvo/wire/wire.hpp
// All wire codecs. Needs nothing beyond the standard library and nvo's own
// base/ and simd/ headers (the nvo::wire CMake target).
#pragma once

#include "nvo/wire/address.hpp"
#include "nvo/wire/byte_order.hpp"
#include "nvo/wire/checksum.hpp"
#include "nvo/wire/dissect.hpp"
#include "nvo/wire/encapsulation.hpp"
#include "nvo/wire/ethernet.hpp"
#include "nvo/wire/gre.hpp"
#include "nvo/wire/ipv4.hpp"
#include "nvo/wire/ipv6.hpp"
#include "nvo/wire/nvgre.hpp"
#include "nvo/wire/result.hpp"
#include "nvo/wire/stt.hpp"
#include "nvo/wire/tcp.hpp"
#include "nvo/wire/udp.hpp"
#include "nvo/wire/vxlan.hpp"
