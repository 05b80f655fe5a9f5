# The one-way dependency rule (docs/ARCHITECTURE.md, "Layers"), checked on the sources:
#
#   config/            includes frugal/config only
#   core/              frugal/config, frugal/core, frugal/mpi (core/mpi/)
#   kernels/           frugal/config, frugal/kernels
#   sim/               frugal/config, frugal/sim
#   apps/, chapters/, python/, bench/, tests/   anything: they sit above the engines
#
# Included by the top-level CMakeLists.txt (frugal_check_layers() fails the configure on a
# violation), and run as a script by ctest (Architecture.*):
#   cmake -DSOURCE_DIR=<repository> -P cmake/check_layers.cmake
# It prints every offending line as  <file>:<line>: <layer>/ includes "<header>"  and fails.

set(_frugal_layer_rules
  "config:config"
  "core:config,core,mpi"
  "kernels:config,kernels"
  "sim:config,sim")

# Sets ${out} to the list of violations found under ${source_dir}.
function(frugal_layer_violations source_dir out)
  set(violations "")
  foreach(rule IN LISTS _frugal_layer_rules)
    string(REPLACE ":" ";" parts "${rule}")
    list(GET parts 0 layer)
    list(GET parts 1 allowed)
    set(allowed_text "${allowed}")
    string(REPLACE "," ";" allowed "${allowed}")
    file(GLOB_RECURSE sources "${source_dir}/${layer}/*.hpp" "${source_dir}/${layer}/*.cpp" "${source_dir}/${layer}/*.h"
         "${source_dir}/${layer}/*.cu" "${source_dir}/${layer}/*.cuh")
    foreach(source IN LISTS sources)
      file(STRINGS "${source}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]frugal/")
      foreach(line IN LISTS lines)
        string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]frugal/([a-z_]+)/.*$" "\\1" included "${line}")
        list(FIND allowed "${included}" found)
        if(found EQUAL -1)
          file(RELATIVE_PATH relative "${source_dir}" "${source}")
          string(STRIP "${line}" line)
          list(APPEND violations "${relative}: ${layer}/ may include only frugal/{${allowed_text}} headers, not: ${line}")
        endif()
      endforeach()
    endforeach()
  endforeach()
  set(${out} "${violations}" PARENT_SCOPE)
endfunction()

function(frugal_check_layers)
  frugal_layer_violations("${PROJECT_SOURCE_DIR}" violations)
  if(violations)
    string(REPLACE ";" "\n  " text "${violations}")
    message(FATAL_ERROR "A lower layer includes a higher one (docs/ARCHITECTURE.md, Layers):\n  ${text}")
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT SOURCE_DIR)
    message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repository> -P check_layers.cmake")
  endif()
  frugal_layer_violations("${SOURCE_DIR}" violations)
  if(violations)
    string(REPLACE ";" "\n  " text "${violations}")
    message(FATAL_ERROR "A lower layer includes a higher one:\n  ${text}")
  endif()
  message(STATUS "layers: no lower layer includes a higher one")
endif()
