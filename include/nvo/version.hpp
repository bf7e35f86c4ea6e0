// File: nvo/version.hpp
// The version's one home. CMake parses NVO_VERSION_{MAJOR,MINOR,PATCH} from here,
// so the header and the package version cannot drift.
#pragma once

#define NVO_VERSION_MAJOR 0
#define NVO_VERSION_MINOR 1
#define NVO_VERSION_PATCH 0
#define NVO_VERSION (NVO_VERSION_MAJOR * 10000 + NVO_VERSION_MINOR * 100 + NVO_VERSION_PATCH)

// Everything lives in a versioned inline namespace so that two incompatible
// majors linked into one program fail loudly instead of colliding silently.
#define NVO_BEGIN_NAMESPACE \
  namespace nvo {           \
  inline namespace v0 {
#define NVO_END_NAMESPACE \
  }                       \
  }
