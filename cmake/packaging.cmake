# Packaging: what other projects use to find and use an installed leakwatch.
#
#   <prefix>/bin/leakwatch                            the command (scripts/leakwatch)
#   <prefix>/share/leakwatch/python/leakwatch/*.py    its package (python/CMakeLists.txt)
#   <prefix>/<libdir>/libleakwatch.so*                the shim (src/CMakeLists.txt)
#   <prefix>/include/leakwatch.h                      the API (src/CMakeLists.txt)
#   <prefix>/<libdir>/pkgconfig/leakwatch.pc          pkg-config leakwatch
#   <prefix>/<libdir>/cmake/leakwatch/*.cmake         find_package(leakwatch)
#   <prefix>/share/man/man1/leakwatch.1               the man page
#   <prefix>/share/leakwatch/suppressions/*.supp      shipped suppression files
#
# Included from the top-level CMakeLists.txt after add_subdirectory(src), so
# the target `leakwatch` and its export set leakwatchTargets exist.
# examples/consumer/ is a project that uses the installed result.
include(CMakePackageConfigHelpers)

if(NOT PROJECT_DESCRIPTION)
  set(PROJECT_DESCRIPTION "Finds leaked threads, deadlocks and pthread misuse (LD_PRELOAD shim)")
endif()

# Follow CMAKE_INSTALL_LIBDIR (lib, or lib/<multiarch> for a /usr build)
# unless given with -D.
if(NOT DEFINED LEAKWATCH_CMAKE_INSTALL_DIR)
  set(LEAKWATCH_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/leakwatch")
endif()
if(NOT DEFINED LEAKWATCH_PKGCONFIG_INSTALL_DIR)
  set(LEAKWATCH_PKGCONFIG_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
set(LEAKWATCH_SUPPRESSIONS_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/leakwatch/suppressions")

# Same name as the exported one, for projects that add_subdirectory() us.
if(NOT TARGET leakwatch::leakwatch)
  add_library(leakwatch::leakwatch ALIAS leakwatch)
endif()

# Linking leakwatch::leakwatch must keep libleakwatch.so as a dependency even
# where the program's only references to it are <leakwatch.h>'s weak ones
# (threads started through std::thread or another library): under
# --as-needed, the default of many toolchains, it would be dropped and
# leakwatch_active() would silently be 0. Exported with the target; the
# pkg-config file does the same, scoped to -lleakwatch alone.
set_property(TARGET leakwatch APPEND PROPERTY INTERFACE_LINK_OPTIONS "LINKER:--no-as-needed")

# --- The command, the man page, the suppression files ----------------------
# The build tree's copy sits next to build/libleakwatch.so, where the command
# looks first; COPYONLY re-copies whenever scripts/leakwatch changes.
configure_file(${PROJECT_SOURCE_DIR}/scripts/leakwatch ${PROJECT_BINARY_DIR}/leakwatch COPYONLY)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/leakwatch DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/leakwatch.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# Looked for at install time, so the folder may appear after configuring.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/suppressions/
        DESTINATION ${LEAKWATCH_SUPPRESSIONS_INSTALL_DIR}
        OPTIONAL
        FILES_MATCHING PATTERN "*.supp")

# --- pkg-config -------------------------------------------------------------
# Relative to ${pcfiledir} by default, so `cmake --install --prefix ANYWHERE`
# (not only the configured prefix) and moved trees work. A distribution
# package, staged with DESTDIR, may prefer -DLEAKWATCH_PC_RELOCATABLE=OFF for
# plain absolute paths. Absolute install dirs are used as they are.
option(LEAKWATCH_PC_RELOCATABLE "leakwatch.pc paths relative to its own location" ON)
function(leakwatch_pc_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
if(IS_ABSOLUTE "${LEAKWATCH_PKGCONFIG_INSTALL_DIR}" OR NOT LEAKWATCH_PC_RELOCATABLE)
  set(LEAKWATCH_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _lw_up "/prefix/${LEAKWATCH_PKGCONFIG_INSTALL_DIR}" "/prefix")
  string(REGEX REPLACE "/$" "" _lw_up "${_lw_up}")
  set(LEAKWATCH_PC_PREFIX "\${pcfiledir}/${_lw_up}")
endif()
leakwatch_pc_path(LEAKWATCH_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
leakwatch_pc_path(LEAKWATCH_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
# /usr's library directories are the loader's own; any other prefix gets
# its libdir as the program's run path (see leakwatch.pc.in).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(LEAKWATCH_PC_RPATH "")
else()
  set(LEAKWATCH_PC_RPATH "-Wl,-rpath,\${libdir}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/leakwatch.pc.in ${PROJECT_BINARY_DIR}/leakwatch.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/leakwatch.pc DESTINATION ${LEAKWATCH_PKGCONFIG_INSTALL_DIR})

# --- CMake package ------------------------------------------------------------
install(EXPORT leakwatchTargets
        NAMESPACE leakwatch::
        FILE leakwatchTargets.cmake
        DESTINATION ${LEAKWATCH_CMAKE_INSTALL_DIR})
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/leakwatchConfig.cmake.in
  ${PROJECT_BINARY_DIR}/leakwatchConfig.cmake
  INSTALL_DESTINATION ${LEAKWATCH_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_BINDIR LEAKWATCH_SUPPRESSIONS_INSTALL_DIR)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/leakwatchConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/leakwatchConfig.cmake
  ${PROJECT_BINARY_DIR}/leakwatchConfigVersion.cmake
  DESTINATION ${LEAKWATCH_CMAKE_INSTALL_DIR})
