// File: nvo/wire/result.hpp
// Data-path error vocabulary: every parser and encoder returns result<T>, a
// constexpr value-or-error. No exceptions, no allocation; errc has readable names
// (to_string) for logs and tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

// X-macro so the enumerator list and its names cannot drift apart.
#define NVO_WIRE_ERRORS(X)                                                                  \
  X(truncated)                         /* buffer shorter than the header says */           \
  X(output_too_small)                  /* encode: caller's buffer cannot hold the header */ \
  X(field_out_of_range)                /* encode: a field does not fit its wire width */    \
  X(ipv4_bad_version)                                                                       \
  X(ipv4_bad_header_length)            /* IHL < 5 or beyond the buffer */                   \
  X(ipv4_bad_total_length)             /* total length < IHL*4 or beyond the buffer */      \
  X(ipv4_bad_checksum)                                                                      \
  X(ipv4_fragment)                     /* tunnel packets must not be fragmented */          \
  X(ipv6_bad_version)                                                                       \
  X(ipv6_bad_payload_length)                                                                \
  X(ipv6_extension_header_unsupported) /* extension header before the tunnel header */     \
  X(udp_bad_length)                    /* UDP length != IP payload length, or < 8 */        \
  X(udp_bad_checksum)                                                                       \
  X(udp_zero_checksum_ipv6)            /* zero UDP checksum over IPv6 not enabled */        \
  X(tcp_bad_data_offset)                                                                    \
  X(tcp_bad_checksum)                                                                       \
  X(gre_reserved_flags)                /* RFC 2784 bits 1-5 set: MUST discard */            \
  X(gre_bad_version)                                                                        \
  X(gre_reserved_bits)                 /* reserved bits set under the strict policy */      \
  X(vxlan_i_flag_clear)                                                                     \
  X(vxlan_reserved_bits)               /* reserved bits set under the strict policy */      \
  X(nvgre_key_absent)                  /* RFC 7637: K MUST be 1 */                          \
  X(nvgre_checksum_present)            /* RFC 7637: C MUST be 0 */                          \
  X(nvgre_sequence_present)            /* RFC 7637: S MUST be 0 */                          \
  X(nvgre_bad_protocol)                /* protocol type must be 0x6558 */                   \
  X(nvgre_inner_vlan)                  /* RFC 7637 3.3: inner 802.1Q MUST be dropped */     \
  X(stt_bad_version)                                                                        \
  X(stt_bad_frame_length)              /* < 18, or fragment beyond the frame length */      \
  X(stt_empty_segment)                                                                      \
  X(stt_reserved_bits)                 /* reserved bits or C+P together, strict policy */   \
  X(inner_truncated)                   /* inner Ethernet header incomplete */

enum class errc : std::uint8_t {
#define NVO_WIRE_ENUMERATOR(name) name,
  NVO_WIRE_ERRORS(NVO_WIRE_ENUMERATOR)
#undef NVO_WIRE_ENUMERATOR
};

[[nodiscard]] constexpr std::string_view to_string(errc e) noexcept {
  switch (e) {
#define NVO_WIRE_NAME(name) \
  case errc::name:          \
    return #name;
    NVO_WIRE_ERRORS(NVO_WIRE_NAME)
#undef NVO_WIRE_NAME
  }
  return "unknown";
}

// What a receiver does with bits the specification reserves.
// strict: reject them, as OVS, VPP and Linux do by default (it also keeps VXLAN
//         apart from VXLAN-GPE/GBP traffic); ignore: RFC 7348/7637 receive rule.
enum class reserved_bits : std::uint8_t { strict, ignore };

namespace detail {
// An errc or nothing, in one byte: what dissect's layers return to say how a
// frame failed. (std::optional<errc> is two bytes that g++ 12 merges through a
// high-byte register, mov %al,%bh, at every check.)
class failure {
 public:
  constexpr failure(std::nullopt_t) noexcept {}  // NOLINT: implicit, like optional
  constexpr failure(errc error) noexcept : code_(static_cast<std::uint8_t>(error)) {}  // NOLINT
  constexpr explicit operator bool() const noexcept { return code_ != none; }
  // PRECONDITION: bool(*this).
  constexpr errc operator*() const noexcept { return static_cast<errc>(code_); }

 private:
  static constexpr std::uint8_t none = 0xFF;  // errc has far fewer values
  std::uint8_t code_ = none;
};
}  // namespace detail

// A value or an errc. Constexpr, trivially copyable when T is.
template <class T>
class [[nodiscard]] result {
 public:
  constexpr result(T value) noexcept : value_(std::move(value)) {}  // NOLINT: implicit by design
  constexpr result(errc error) noexcept : error_(error), ok_(false) {}  // NOLINT

  [[nodiscard]] constexpr bool has_value() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }

  // PRECONDITION: has_value().
  [[nodiscard]] constexpr const T& value() const& noexcept { NVO_ASSERT(ok_); return value_; }
  [[nodiscard]] constexpr T& value() & noexcept { NVO_ASSERT(ok_); return value_; }
  constexpr const T& operator*() const& noexcept { return value(); }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr const T* operator->() const noexcept { return &value(); }
  constexpr T* operator->() noexcept { return &value(); }

  // PRECONDITION: !has_value().
  [[nodiscard]] constexpr errc error() const noexcept { NVO_ASSERT(!ok_); return error_; }

 private:
  T value_{};
  errc error_{};
  bool ok_ = true;
};

}  // namespace wire
NVO_END_NAMESPACE
