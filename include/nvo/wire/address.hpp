// File: nvo/wire/address.hpp
// mac_address, ipv4_address, ipv6_address and ip_address. Defined in
// nvo/base/address.hpp, below nvo/simd/, whose flow keys and RSS tuples use them.
#pragma once

#include "nvo/base/address.hpp"
