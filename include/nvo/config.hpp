// File: nvo/config.hpp
// All NVO_* configuration knobs. Each is #ifndef-guarded so users can override it
// before including nvo.
//
// WARNING: a knob must have the same value in every translation unit of a program;
// mixing values is an ODR violation. Prefer one site-wide header or a target-wide
// compile definition over per-file -D flags.
#pragma once

#include "nvo/version.hpp"

// NVO_ASSERT(cond): checks preconditions on control paths and in debug builds.
#ifndef NVO_ASSERT
#include <cassert>
#define NVO_ASSERT(cond) assert((cond) && "nvo precondition violated")
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NVO_ALWAYS_INLINE inline __attribute__((always_inline))
#define NVO_PREDICT_FALSE(x) (__builtin_expect(false || (x), false))
#define NVO_PREDICT_TRUE(x) (__builtin_expect(false || (x), true))
#else
#define NVO_ALWAYS_INLINE inline
#define NVO_PREDICT_FALSE(x) (x)
#define NVO_PREDICT_TRUE(x) (x)
#endif
