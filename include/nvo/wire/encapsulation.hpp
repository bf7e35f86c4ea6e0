// File: nvo/wire/encapsulation.hpp
// The overlay a frame belongs to. Its own header so that code which only stores
// or names an encapsulation (forwarding tables, logs) needs no codec.
#pragma once

#include <cstdint>
#include <string_view>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace wire {

enum class encapsulation : std::uint8_t { none, vxlan, nvgre, stt };

[[nodiscard]] constexpr std::string_view to_string(encapsulation e) noexcept {
  switch (e) {
    case encapsulation::vxlan:
      return "vxlan";
    case encapsulation::nvgre:
      return "nvgre";
    case encapsulation::stt:
      return "stt";
    case encapsulation::none:
      break;
  }
  return "none";
}

}  // namespace wire
NVO_END_NAMESPACE
