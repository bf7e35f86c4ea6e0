// File: nvo/base/address.hpp
// Value types for link and network addresses, stored as octets in wire order
// (nvo::wire names; see nvo/base/byte_order.hpp for why they live in base/).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

struct mac_address {
  std::array<std::uint8_t, 6> octets{};

  [[nodiscard]] constexpr bool is_multicast() const noexcept { return (octets[0] & 0x01) != 0; }
  [[nodiscard]] constexpr bool is_zero() const noexcept {
    return (octets[0] | octets[1] | octets[2] | octets[3] | octets[4] | octets[5]) == 0;
  }
  // The 48-bit address as an integer, first octet most significant.
  [[nodiscard]] constexpr std::uint64_t to_u64() const noexcept {
    std::uint64_t v = 0;
    for (auto o : octets) v = (v << 8) | o;
    return v;
  }
  [[nodiscard]] static constexpr mac_address from_u64(std::uint64_t v) noexcept {
    mac_address m;
    for (std::size_t i = 6; i-- > 0;) {
      m.octets[i] = static_cast<std::uint8_t>(v & 0xFF);
      v >>= 8;
    }
    return m;
  }
  friend constexpr bool operator==(const mac_address&, const mac_address&) = default;
};

struct ipv4_address {
  std::array<std::uint8_t, 4> octets{};

  [[nodiscard]] constexpr std::uint32_t to_u32() const noexcept {
    return static_cast<std::uint32_t>(octets[0]) << 24 | static_cast<std::uint32_t>(octets[1]) << 16 |
           static_cast<std::uint32_t>(octets[2]) << 8 | octets[3];
  }
  [[nodiscard]] static constexpr ipv4_address from_u32(std::uint32_t v) noexcept {
    return {{static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)}};
  }
  friend constexpr bool operator==(const ipv4_address&, const ipv4_address&) = default;
};

struct ipv6_address {
  std::array<std::uint8_t, 16> octets{};
  friend constexpr bool operator==(const ipv6_address&, const ipv6_address&) = default;
};

// Either family, for underlay and overlay addresses that may be v4 or v6
// (RFC 7637 4.5: CA and PA families need not match).
struct ip_address {
  std::uint8_t version = 0;  // 0: unset, 4 or 6
  std::array<std::uint8_t, 16> octets{};  // IPv4 uses the first 4

  constexpr ip_address() noexcept = default;
  constexpr ip_address(ipv4_address a) noexcept : version(4) {  // NOLINT: implicit by design
    for (std::size_t i = 0; i < 4; ++i) octets[i] = a.octets[i];
  }
  constexpr ip_address(ipv6_address a) noexcept : version(6), octets(a.octets) {}  // NOLINT

  [[nodiscard]] constexpr bool is_v4() const noexcept { return version == 4; }
  [[nodiscard]] constexpr bool is_v6() const noexcept { return version == 6; }
  [[nodiscard]] constexpr ipv4_address v4() const noexcept { return {{octets[0], octets[1], octets[2], octets[3]}}; }
  [[nodiscard]] constexpr ipv6_address v6() const noexcept { return {octets}; }
  // 224.0.0.0/4 (RFC 5771) or ff00::/8 (RFC 4291 2.7).
  [[nodiscard]] constexpr bool is_multicast() const noexcept {
    return (is_v4() && (octets[0] & 0xF0) == 0xE0) || (is_v6() && octets[0] == 0xFF);
  }
  friend constexpr bool operator==(const ip_address&, const ip_address&) = default;
};

}  // namespace wire
NVO_END_NAMESPACE
