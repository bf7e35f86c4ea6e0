// File: nvo/config.hpp
// All NVO_* configuration knobs. Each is #ifndef-guarded so users can override it
// before including nvo.
//
// WARNING: a knob must have the same value in every translation unit of a program;
// mixing values is an ODR violation. That includes NDEBUG while NVO_ASSERT is
// the default (assert). Prefer one site-wide header or a target-wide
// compile definition over per-file -D flags.
//
// Not knobs: NVO_VERSION* and NVO_BEGIN/END_NAMESPACE (nvo/version.hpp) and the
// NVO_SIMD_* macros (nvo/simd/dispatch.hpp).
#pragma once

#include "nvo/version.hpp"

// NVO_ASSERT(cond): checks preconditions on control paths and in debug builds.
#ifndef NVO_ASSERT
#include <cassert>
#define NVO_ASSERT(cond) assert((cond) && "nvo precondition violated")
#endif

// NVO_ALWAYS_INLINE: for the data-path helpers whose call would cost more than
// their body. Override with plain `inline` to debug or to measure code size.
#ifndef NVO_ALWAYS_INLINE
#if defined(__GNUC__) || defined(__clang__)
#define NVO_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define NVO_ALWAYS_INLINE inline
#endif
#endif

// NVO_PREDICT_TRUE(x) / NVO_PREDICT_FALSE(x): branch-layout hints.
#ifndef NVO_PREDICT_TRUE
#if defined(__GNUC__) || defined(__clang__)
#define NVO_PREDICT_TRUE(x) (__builtin_expect(false || (x), true))
#else
#define NVO_PREDICT_TRUE(x) (x)
#endif
#endif
#ifndef NVO_PREDICT_FALSE
#if defined(__GNUC__) || defined(__clang__)
#define NVO_PREDICT_FALSE(x) (__builtin_expect(false || (x), false))
#else
#define NVO_PREDICT_FALSE(x) (x)
#endif
#endif
