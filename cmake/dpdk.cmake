# DPDK for the targets that use include/nvo/dpdk/ (tests/dpdk, the examples'
# nvo-vtep-dpdk): PkgConfig::NVO_DPDK, a GLOBAL imported target, where
# pkg-config finds libdpdk (Debian's libdpdk-dev, from scripts/deps); without
# it the target does not exist and the callers build nothing DPDK.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND AND NOT TARGET PkgConfig::NVO_DPDK)
  pkg_check_modules(NVO_DPDK IMPORTED_TARGET GLOBAL libdpdk)
endif()

# nvo_link_dpdk(target [PUBLIC|PRIVATE]): as a DPDK application built with
# pkg-config's flags (-march=corei7 included), except that the headers are
# SYSTEM (they warn under nvo's -Werror) and `-include rte_config.h` stays one
# argument (CMake would de-duplicate a repeated "-include"). PRIVATE unless
# told otherwise (a static library whose headers include DPDK's passes them on
# with PUBLIC).
function(nvo_link_dpdk target)
  set(scope PRIVATE)
  if(ARGC GREATER 1)
    set(scope ${ARGV1})
  endif()
  get_target_property(includes PkgConfig::NVO_DPDK INTERFACE_INCLUDE_DIRECTORIES)
  get_target_property(opts PkgConfig::NVO_DPDK INTERFACE_COMPILE_OPTIONS)
  get_target_property(libs PkgConfig::NVO_DPDK INTERFACE_LINK_LIBRARIES)
  list(FILTER opts EXCLUDE REGEX "^-include$|^rte_config.h$")
  target_include_directories(${target} SYSTEM ${scope} ${includes})
  target_compile_options(${target} ${scope} ${opts} "SHELL:-include rte_config.h")
  target_link_libraries(${target} ${scope} ${libs})
endfunction()
