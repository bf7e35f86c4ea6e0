// File: nvo/base/protocol.hpp
// The protocol numbers both the wire/ codecs and simd/ flow-key extraction need:
// header sizes, EtherTypes, IP protocol numbers and the VXLAN/STT ports. Each is
// defined here once, in the namespace of the codec it belongs to (see
// nvo/base/byte_order.hpp for why base/ uses nvo::wire names).
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

namespace ethernet {
inline constexpr std::size_t header_size = 14;
inline constexpr std::size_t vlan_tag_size = 4;

inline constexpr std::uint16_t ethertype_ipv4 = 0x0800;
inline constexpr std::uint16_t ethertype_arp = 0x0806;
inline constexpr std::uint16_t ethertype_vlan = 0x8100;  // IEEE 802.1Q C-tag
inline constexpr std::uint16_t ethertype_qinq = 0x88A8;  // IEEE 802.1ad S-tag
inline constexpr std::uint16_t ethertype_ipv6 = 0x86DD;
inline constexpr std::uint16_t ethertype_teb = 0x6558;  // Transparent Ethernet Bridging (NVGRE)
}  // namespace ethernet

namespace ipv4 {
inline constexpr std::size_t min_header_size = 20;

// IANA protocol numbers, also IPv6 next-header values.
inline constexpr std::uint8_t protocol_tcp = 6;
inline constexpr std::uint8_t protocol_udp = 17;
inline constexpr std::uint8_t protocol_gre = 47;
}  // namespace ipv4

namespace ipv6 {
inline constexpr std::size_t header_size = 40;
}  // namespace ipv6

namespace vxlan {
inline constexpr std::uint16_t default_port = 4789;  // IANA; SHOULD be configurable
// RFC 7348 5: entropy source ports SHOULD be in the dynamic range.
inline constexpr std::uint16_t source_port_min = 49152;
inline constexpr std::uint16_t source_port_max = 65535;
}  // namespace vxlan

namespace stt {
inline constexpr std::uint16_t default_port = 7471;  // IANA
}  // namespace stt

}  // namespace wire
NVO_END_NAMESPACE
