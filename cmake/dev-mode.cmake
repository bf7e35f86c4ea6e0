# Settings for nvo's own targets (tests, benchmarks, examples), never exported.

# Warnings are errors for everything the project compiles, with g++ and clang++.
add_library(nvo_warnings INTERFACE)
target_compile_options(nvo_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Werror)

# NVO_SANITIZE: a -fsanitize= list applied to tests and examples (e.g. address,undefined).
set(NVO_SANITIZE "" CACHE STRING "Sanitizers for nvo's tests and examples")
add_library(nvo_sanitize INTERFACE)
if(NVO_SANITIZE)
  target_compile_options(nvo_sanitize INTERFACE -fsanitize=${NVO_SANITIZE} -fno-omit-frame-pointer
                                                -fno-sanitize-recover=all)
  target_link_options(nvo_sanitize INTERFACE -fsanitize=${NVO_SANITIZE})
endif()
