vcpkg_from_github(
  OUT_SOURCE_PATH SOURCE_PATH
  REPO nvo-project/nvo
  REF "v${VERSION}"
  SHA512 0  # set to the release tarball's hash when v${VERSION} is tagged
  HEAD_REF main)

# header-only: one configuration is enough
set(VCPKG_BUILD_TYPE release)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS -DNVO_BUILD_TESTS=OFF -DNVO_BUILD_BENCHMARKS=OFF -DNVO_BUILD_EXAMPLES=OFF -DNVO_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH share/nvo PACKAGE_NAME nvo)
vcpkg_fixup_pkgconfig()
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
