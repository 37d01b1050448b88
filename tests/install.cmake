# The install tests (ctest label install): tests/consumer (a C and a C++ program, and the
# CMake project that builds them) is built against an *installed* rtws, in
# build/install-test, by tests/consumer/check_install.py, and run against the test server:
#   install_tree          cmake --install into build/install-test/prefix; checks the layout,
#                         the SONAME and links, the versions (fixture rtws_installed)
#   install_find_package  find_package(rtws CONFIG): rtws::rtws and rtws::rtws_static, C and C++
#   install_pkg_config    pkg-config rtws (shared) and rtws-static, C and C++
#   install_deb           cpack -G DEB; the package's fields and files; dpkg installs it into a
#                         throw-away root, and the consumer builds against that and runs
#                         (skipped without dpkg-deb)
# Each removes its directory when it passes and leaves it for a look when it fails.
# One test alone: ./dev.sh test -R install_pkg_config (the fixture installs first).
find_program(RTWS_PKG_CONFIG NAMES pkg-config pkgconf)
set(rtws_check "${Python3_EXECUTABLE}" "${CMAKE_SOURCE_DIR}/tests/consumer/check_install.py"
    --build-dir "${CMAKE_BINARY_DIR}" --work-dir "${CMAKE_BINARY_DIR}/install-test"
    --cmake "${CMAKE_COMMAND}" --cpack "${CMAKE_CPACK_COMMAND}" --generator "${CMAKE_GENERATOR}"
    --cc "${CMAKE_C_COMPILER}" --cxx "${CMAKE_CXX_COMPILER}" --pkg-config "${RTWS_PKG_CONFIG}"
    --version "${RTWS_VERSION}" --soversion "${RTWS_SOVERSION}" --libdir "${CMAKE_INSTALL_LIBDIR}")

add_test(NAME install_tree COMMAND ${rtws_check} tree)
set_tests_properties(install_tree PROPERTIES LABELS install TIMEOUT 120
                     FIXTURES_SETUP rtws_installed)
foreach(how find_package pkg_config)
  string(REPLACE "_" "-" command ${how})
  rtws_add_server_test(install_${how} LABELS install TIMEOUT 300
                       COMMAND ${rtws_check} ${command} --url {url}/echo)
  set_tests_properties(install_${how} PROPERTIES FIXTURES_REQUIRED rtws_installed)
endforeach()
rtws_add_server_test(install_deb LABELS install TIMEOUT 300 RUNNER_ARGS --skip-status 77
                     COMMAND ${rtws_check} deb --url {url}/echo)
set_tests_properties(install_deb PROPERTIES SKIP_RETURN_CODE 77)
