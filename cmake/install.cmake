# Install rules and the Debian package (issue 13). Included by the top CMakeLists.txt after
# the imported targets; uses RTWS_VERSION / RTWS_SOVERSION (cmake/version.cmake) and the
# cargo outputs RTWS_LIB_SHARED / RTWS_LIB_STATIC.
#
#   cmake --install build --prefix P [--strip]   installs, under P:
#     lib/librtws.so.X.Y.Z  (SONAME librtws.so.SOVERSION)  lib/librtws.so.SOVERSION -> it
#     lib/librtws.so -> librtws.so.SOVERSION               lib/librtws.a
#     include/rtws.h (and any other header in include/, e.g. C++ headers to come)
#     lib/pkgconfig/rtws.pc, lib/pkgconfig/rtws-static.pc
#     lib/cmake/rtws/rtwsConfig.cmake, rtwsConfigVersion.cmake (rtws::rtws, rtws::rtws_static)
#   cpack -G DEB --config build/CPackConfig.cmake   builds rtws_X.Y.Z_<arch>.deb (prefix /usr,
#     stripped of debug information).
# cargo cinstall (cargo-c, with Cargo.toml's [package.metadata.capi]) installs the same files
# but rtws-static.pc and the CMake package. lib is CMAKE_INSTALL_LIBDIR (GNUInstallDirs: e.g.
# lib/x86_64-linux-gnu when configured with CMAKE_INSTALL_PREFIX=/usr on Debian).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    message(FATAL_ERROR "CMAKE_INSTALL_${dir} must be relative to the prefix (the package is relocatable)")
  endif()
endforeach()
set(RTWS_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rtws")
set(rtws_pkg "${CMAKE_BINARY_DIR}/rtws-package")

# The libraries. cargo builds librtws.so; it is installed under its full version with the
# SONAME link (what programs load) and the development link (what -lrtws finds), made here
# as symbolic links (install(FILES) copies a link as a link).
install(FILES "${RTWS_LIB_SHARED}" DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RENAME "librtws.so.${RTWS_VERSION}")
file(MAKE_DIRECTORY "${rtws_pkg}/links")
file(CREATE_LINK "librtws.so.${RTWS_VERSION}" "${rtws_pkg}/links/librtws.so.${RTWS_SOVERSION}" SYMBOLIC)
file(CREATE_LINK "librtws.so.${RTWS_SOVERSION}" "${rtws_pkg}/links/librtws.so" SYMBOLIC)
install(FILES "${rtws_pkg}/links/librtws.so.${RTWS_SOVERSION}" "${rtws_pkg}/links/librtws.so"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(FILES "${RTWS_LIB_STATIC}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
# `cmake --install --strip` and cpack (CPACK_STRIP_FILES) strip the debug information the
# release profile keeps for valgrind: the static library keeps its symbol table.
if(CMAKE_STRIP)
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      set(rtws_libdir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}\")
      execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-unneeded \"\${rtws_libdir}/librtws.so.${RTWS_VERSION}\"
                      COMMAND_ERROR_IS_FATAL ANY)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug \"\${rtws_libdir}/librtws.a\"
                      COMMAND_ERROR_IS_FATAL ANY)
    endif()")
endif()

# Headers: rtws.h, and the C++ headers once they exist.
install(DIRECTORY "${CMAKE_SOURCE_DIR}/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

# What librtws.a needs besides libc: `cargo rustc -p rtws --release --crate-type staticlib --
# --print native-static-libs` (libgcc_s and libc come with the C and C++ drivers). The
# in-tree rtws::rtws_static (top CMakeLists.txt) uses the same list; the consumer tests link it.
set(RTWS_STATIC_LIBS "-lssl -lcrypto -lpthread -ldl -lm -lrt -lutil")
set(RTWS_STATIC_LINK_LIBRARIES "ssl;crypto;Threads::Threads;dl;m;rt;util")

# The CMake package: relocatable (paths relative to rtwsConfig.cmake).
configure_package_config_file("${CMAKE_SOURCE_DIR}/cmake/rtwsConfig.cmake.in"
  "${rtws_pkg}/rtwsConfig.cmake"
  INSTALL_DESTINATION "${RTWS_INSTALL_CMAKEDIR}"
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a breaking release bumps the minor, so only the same 0.MINOR is compatible.
if(RTWS_VERSION_MAJOR EQUAL 0)
  set(rtws_compatibility SameMinorVersion)
else()
  set(rtws_compatibility SameMajorVersion)
endif()
write_basic_package_version_file("${rtws_pkg}/rtwsConfigVersion.cmake"
  VERSION "${RTWS_VERSION}" COMPATIBILITY ${rtws_compatibility})
install(FILES "${rtws_pkg}/rtwsConfig.cmake" "${rtws_pkg}/rtwsConfigVersion.cmake"
        DESTINATION "${RTWS_INSTALL_CMAKEDIR}")

# The pkg-config files name the prefix, which `cmake --install --prefix` may choose at install
# time: they are configured for CMAKE_INSTALL_PREFIX here and their prefix= line is rewritten
# when they are installed (into a directory of their own per prefix, so concurrent installs
# to different prefixes do not race).
foreach(pc rtws rtws-static)
  configure_file("${CMAKE_SOURCE_DIR}/cmake/${pc}.pc.in" "${rtws_pkg}/${pc}.pc.in" @ONLY)
endforeach()
install(CODE "
  string(MD5 rtws_key \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  set(rtws_pc_dir \"${rtws_pkg}/pkgconfig/\${rtws_key}\")
  foreach(pc rtws rtws-static)
    file(READ \"${rtws_pkg}/\${pc}.pc.in\" rtws_pc)
    string(REGEX REPLACE \"^prefix=[^\\n]*\" \"prefix=\${CMAKE_INSTALL_PREFIX}\" rtws_pc \"\${rtws_pc}\")
    file(WRITE \"\${rtws_pc_dir}/\${pc}.pc\" \"\${rtws_pc}\")
  endforeach()
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\" TYPE FILE
       FILES \"\${rtws_pc_dir}/rtws.pc\" \"\${rtws_pc_dir}/rtws-static.pc\")")

# ---------------------------------------------------------------------------------------------
# The Debian package: `cpack -G DEB --config build/CPackConfig.cmake [-B dir]`. One package,
# rtws, with everything above under /usr: `apt-get install ./rtws_X.Y.Z_<arch>.deb`.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rtws)
set(CPACK_PACKAGE_VERSION "${RTWS_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${RTWS_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION "The Windows Runtime WebSocket client API (MessageWebSocket, StreamWebSocket, DataWriter/DataReader, async operations, HRESULTs) as a C library: librtws.so.${RTWS_SOVERSION}, librtws.a, rtws.h, pkg-config files and a CMake package.")
set(CPACK_PACKAGE_CONTACT "rtws maintainers <maintainers@rtws.invalid>"
    CACHE STRING "The Maintainer field of the .deb")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # rtws_X.Y.Z_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# gzip: dpkg reads it everywhere, and it is quick (xz takes long over a 20 MB archive).
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
# A shlibs file (and the ldconfig trigger) for librtws.so.SOVERSION.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# Depends: computed by dpkg-shlibdeps (package dpkg-dev) when it is installed, else the
# libraries librtws.so links (readelf -d: libssl3, libc6, libgcc_s) by their package names.
find_program(RTWS_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(RTWS_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libgcc-s1, libssl3 | libssl3t64")
endif()
include(CPack)
