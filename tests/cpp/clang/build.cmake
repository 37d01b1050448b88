# cmake -DCLANGXX=... -DSOURCE_DIR=... -DBINARY_DIR=... -DLIBRARY=... -P build.cmake
# Configures and builds tests/cpp/clang (the C++ tests and examples, by clang++) into BINARY_DIR.
foreach(step configure build)
  if(step STREQUAL "configure")
    set(cmd "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}" -B "${BINARY_DIR}" "-DCMAKE_CXX_COMPILER=${CLANGXX}"
            -DCMAKE_BUILD_TYPE=Release "-DRTWS_SOURCE_DIR=${SOURCE_DIR}" "-DRTWS_LIBRARY=${LIBRARY}")
  else()
    set(cmd "${CMAKE_COMMAND}" --build "${BINARY_DIR}" --parallel 2)
  endif()
  execute_process(COMMAND ${cmd} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "clang++ build of the C++ tests: ${step} failed (${rc})")
  endif()
endforeach()
