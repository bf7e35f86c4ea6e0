import os

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, get
from conan.tools.layout import basic_layout
from conan.tools.scm import Version

required_conan_version = ">=2.0"


class NvoConan(ConanFile):
    name = "nvo"
    description = ("Header-only C++20 network-virtualization overlays: VXLAN, NVGRE and STT codecs, "
                   "a lock-free CA->PA table, SIMD checksum and hash kernels")
    license = "MIT"
    homepage = "https://github.com/nvo-project/nvo"
    url = "https://github.com/conan-io/conan-center-index"
    topics = ("vxlan", "nvgre", "stt", "overlay", "networking", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    no_copy_source = True

    _min_cppstd = "20"
    # The headers use GCC/Clang builtins and attributes (__builtin_bswap*,
    # __attribute__((always_inline)), [[gnu::target]]), which MSVC lacks.
    _compilers_minimum_version = {"gcc": "12", "clang": "14", "apple-clang": "14"}

    def layout(self):
        basic_layout(self, src_folder="src")

    def requirements(self):
        # Only table/ needs it (absl::Status); header-library makes it transitive.
        self.requires("abseil/20230802.1")

    def package_id(self):
        self.info.clear()

    def validate(self):
        check_min_cppstd(self, self._min_cppstd)
        compiler = str(self.settings.compiler)
        minimum = self._compilers_minimum_version.get(compiler)
        if minimum is None:
            raise ConanInvalidConfiguration(
                f"{self.ref} needs GCC or Clang: its headers use GCC/Clang builtins that {compiler} does not provide")
        if Version(self.settings.compiler.version) < minimum:
            raise ConanInvalidConfiguration(f"{self.ref} requires C++{self._min_cppstd} ({self.settings.compiler} >= {minimum})")

    def source(self):
        get(self, **self.conan_data["sources"][self.version], strip_root=True)

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"), os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "nvo")
        # nvo::nvo is the whole package, as in nvo's own CMake export; nvo::wire
        # (codecs, dissect, SIMD kernels) needs nothing. A component may not share
        # the package's name, so the Abseil-using rest is the "table" component.
        self.cpp_info.set_property("cmake_target_name", "nvo::nvo")
        self.cpp_info.set_property("pkg_config_name", "nvo")
        wire = self.cpp_info.components["wire"]
        wire.set_property("cmake_target_name", "nvo::wire")
        wire.set_property("pkg_config_name", "nvo-wire")
        wire.bindirs = []
        wire.libdirs = []
        table = self.cpp_info.components["table"]
        table.requires = ["wire", "abseil::absl_status"]
        table.includedirs = []
        table.bindirs = []
        table.libdirs = []
