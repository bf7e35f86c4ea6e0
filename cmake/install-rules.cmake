include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Header-only: the package is architecture independent, so its config goes to share/.
set(nvo_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/nvo" CACHE STRING "Where nvo's CMake package files go")
set(nvo_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig" CACHE STRING "Where nvo.pc goes")
mark_as_advanced(nvo_INSTALL_CMAKEDIR nvo_INSTALL_PKGCONFIGDIR)

install(DIRECTORY include/ DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS nvo_nvo EXPORT nvoTargets INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT nvoTargets NAMESPACE nvo:: DESTINATION "${nvo_INSTALL_CMAKEDIR}")
export(EXPORT nvoTargets NAMESPACE nvo:: FILE "${PROJECT_BINARY_DIR}/nvoTargets.cmake")

configure_package_config_file(cmake/nvoConfig.cmake.in "${PROJECT_BINARY_DIR}/nvoConfig.cmake"
  INSTALL_DESTINATION "${nvo_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/nvoConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/nvoConfig.cmake" "${PROJECT_BINARY_DIR}/nvoConfigVersion.cmake"
  DESTINATION "${nvo_INSTALL_CMAKEDIR}")

# pkg-config: absolute or relative CMAKE_INSTALL_INCLUDEDIR both give a valid path.
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(nvo_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(nvo_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(cmake/nvo.pc.in "${PROJECT_BINARY_DIR}/nvo.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/nvo.pc" DESTINATION "${nvo_INSTALL_PKGCONFIGDIR}")
