include(CMakePackageConfigHelpers)

# Header-only: the package is architecture independent, so its config goes to share/.
set(nvo_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/nvo" CACHE STRING "Where nvo's CMake package files go")
set(nvo_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig" CACHE STRING "Where nvo.pc goes")
mark_as_advanced(nvo_INSTALL_CMAKEDIR nvo_INSTALL_PKGCONFIGDIR)

# nvo::nvo exists only where Abseil was found (see CMakeLists.txt).
set(_nvo_targets nvo_wire)
if(TARGET nvo_nvo)
  list(APPEND _nvo_targets nvo_nvo)
endif()

install(DIRECTORY include/ DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS ${_nvo_targets} EXPORT nvoTargets INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT nvoTargets NAMESPACE nvo:: DESTINATION "${nvo_INSTALL_CMAKEDIR}")
export(EXPORT nvoTargets NAMESPACE nvo:: FILE "${PROJECT_BINARY_DIR}/nvoTargets.cmake")

configure_package_config_file(cmake/nvoConfig.cmake.in "${PROJECT_BINARY_DIR}/nvoConfig.cmake"
  INSTALL_DESTINATION "${nvo_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/nvoConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/nvoConfig.cmake" "${PROJECT_BINARY_DIR}/nvoConfigVersion.cmake"
  DESTINATION "${nvo_INSTALL_CMAKEDIR}")

# pkg-config: nvo-wire.pc mirrors nvo::wire, nvo.pc nvo::nvo. The prefix is
# found from the .pc file's own location, so `cmake --install --prefix` and
# relocated packages work; absolute directories are taken as given.
if(IS_ABSOLUTE "${nvo_INSTALL_PKGCONFIGDIR}")
  set(nvo_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _nvo_pc_up "/prefix/${nvo_INSTALL_PKGCONFIGDIR}" "/prefix")
  set(nvo_PC_PREFIX "\${pcfiledir}/${_nvo_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(nvo_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(nvo_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(cmake/nvo-wire.pc.in "${PROJECT_BINARY_DIR}/nvo-wire.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/nvo-wire.pc" DESTINATION "${nvo_INSTALL_PKGCONFIGDIR}")
if(TARGET nvo_nvo)
  configure_file(cmake/nvo.pc.in "${PROJECT_BINARY_DIR}/nvo.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/nvo.pc" DESTINATION "${nvo_INSTALL_PKGCONFIGDIR}")
endif()
