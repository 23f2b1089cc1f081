# A Debian package of the tool: `cpack -G DEB` in the build directory, from
# a build configured with -DCMAKE_INSTALL_PREFIX=/usr (GNUInstallDirs then
# puts the library under the multiarch libdir, lib/x86_64-linux-gnu), gives
# leakwatch_<version>_<arch>.deb with the shim, the command, the header,
# pkg-config and CMake files, the man page and the suppression files.
# `apt install ./leakwatch_*.deb` pulls in the Debian libraries it uses.
set(CPACK_PACKAGE_NAME leakwatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "leakwatch developers <leakwatch@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # leakwatch_0.1.0_amd64.deb
# The shim's linked library (libc; libgcc's unwinder is linked in) comes
# from dpkg-shlibdeps;
# libdw and libunwind are loaded with dlopen when first needed
# (src/symbols.c, src/stack.c), so they are named here, as is Python 3 for
# the command.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3, libdw1, libunwind8")
set(CPACK_GENERATOR DEB)
include(CPack)
