# cmake/check_layers.cmake must fail on an upward include and name the file: a throwaway tree whose
# core/ includes a sim/ header, and one whose sim/ includes only config/ (allowed).
#   cmake -DSOURCE_DIR=<repository> -DWORK_DIR=<scratch> -P check_layers_catches_upward_include.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
file(WRITE "${WORK_DIR}/bad/core/src/router.cpp" "#include \"frugal/core/router.hpp\"\n#include \"frugal/sim/presets.hpp\"\n")
file(WRITE "${WORK_DIR}/good/sim/src/x.cpp" "#include \"frugal/config/model_config.hpp\"\n#include <frugal/sim/x.hpp>\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK_DIR}/bad -P ${SOURCE_DIR}/cmake/check_layers.cmake
                RESULT_VARIABLE bad_status ERROR_VARIABLE bad_text OUTPUT_QUIET)
if(bad_status EQUAL 0)
  message(FATAL_ERROR "core/ including frugal/sim/ was not refused")
endif()
string(FIND "${bad_text}" "core/src/router.cpp: core/ may include only frugal/{config,core,mpi} headers" named)
if(named EQUAL -1)
  message(FATAL_ERROR "the refusal does not name the file and rule:\n${bad_text}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK_DIR}/good -P ${SOURCE_DIR}/cmake/check_layers.cmake
                RESULT_VARIABLE good_status ERROR_VARIABLE good_text OUTPUT_QUIET)
if(NOT good_status EQUAL 0)
  message(FATAL_ERROR "an allowed include was refused:\n${good_text}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
message(STATUS "check_layers refuses an upward include by name and allows the rest")
