# rtws's version. Cargo.toml's [package] version is the one source: the crate, the SONAME
# (build.rs), the header's RTWS_VERSION_* macros (tests/header.rs), rtws_GetVersion(), the
# pkg-config files, the CMake package and the .deb all take it from there.
#
# Sets RTWS_VERSION (MAJOR.MINOR.PATCH), RTWS_VERSION_MAJOR/MINOR/PATCH, RTWS_SOVERSION (the
# SONAME's suffix: MAJOR from 1.0 on, 0.MINOR for 0.x, 0.0.PATCH for 0.0.x, as build.rs and
# cargo-c compute it) and RTWS_DESCRIPTION. Included before project(), which takes the version.
set(rtws_cargo_toml "${CMAKE_CURRENT_LIST_DIR}/../Cargo.toml")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${rtws_cargo_toml}")
file(READ "${rtws_cargo_toml}" rtws_manifest)
# The [package] table: from its header to the next table header.
string(FIND "${rtws_manifest}" "\n[package]\n" rtws_at)
if(rtws_at EQUAL -1)
  message(FATAL_ERROR "Cargo.toml has no [package] table")
endif()
string(SUBSTRING "${rtws_manifest}" ${rtws_at} -1 rtws_manifest)
string(SUBSTRING "${rtws_manifest}" 1 -1 rtws_manifest)
string(FIND "${rtws_manifest}" "\n[" rtws_at)
string(SUBSTRING "${rtws_manifest}" 0 ${rtws_at} rtws_manifest)
if(NOT rtws_manifest MATCHES "\nversion = \"([0-9]+)\\.([0-9]+)\\.([0-9]+)\"")
  message(FATAL_ERROR "Cargo.toml's [package] has no version = \"MAJOR.MINOR.PATCH\" line")
endif()
set(RTWS_VERSION_MAJOR ${CMAKE_MATCH_1})
set(RTWS_VERSION_MINOR ${CMAKE_MATCH_2})
set(RTWS_VERSION_PATCH ${CMAKE_MATCH_3})
set(RTWS_VERSION "${RTWS_VERSION_MAJOR}.${RTWS_VERSION_MINOR}.${RTWS_VERSION_PATCH}")
if(rtws_manifest MATCHES "\ndescription = \"([^\"]*)\"")
  set(RTWS_DESCRIPTION "${CMAKE_MATCH_1}")
endif()
if(NOT RTWS_VERSION_MAJOR EQUAL 0)
  set(RTWS_SOVERSION ${RTWS_VERSION_MAJOR})
elseif(NOT RTWS_VERSION_MINOR EQUAL 0)
  set(RTWS_SOVERSION 0.${RTWS_VERSION_MINOR})
else()
  set(RTWS_SOVERSION 0.0.${RTWS_VERSION_PATCH})
endif()
unset(rtws_manifest)
unset(rtws_at)
unset(rtws_cargo_toml)
