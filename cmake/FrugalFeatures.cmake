# Optional parts of the build (CUDA kernels, GUI, Python module, MPI): each is AUTO, ON or OFF.
# AUTO builds it when its dependencies are found; ON makes a missing dependency a configure
# error; OFF skips it. Every decision is recorded with its reason and printed once, at the end of
# configure, by frugal_print_summary().

function(frugal_tristate_option name doc)
  set(${name} AUTO CACHE STRING "${doc}: AUTO, ON or OFF")
  set_property(CACHE ${name} PROPERTY STRINGS AUTO ON OFF)
  if(NOT ${name} MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "${name} must be AUTO, ON or OFF, got '${${name}}'")
  endif()
endfunction()

function(frugal_summary what state why)
  string(LENGTH "${what}" len)
  math(EXPR pad "22 - ${len}")
  string(REPEAT " " ${pad} spaces)
  set_property(GLOBAL APPEND PROPERTY FRUGAL_SUMMARY "  ${what}${spaces}${state}  ${why}")
endfunction()

# frugal_decide(<result var> <option> <found?> <what> <detail when found> <detail when missing>)
function(frugal_decide result option found what found_detail missing_detail)
  if(${option} STREQUAL "OFF")
    set(${result} OFF PARENT_SCOPE)
    frugal_summary("${what}" OFF "(${option}=OFF)")
  elseif(found)
    set(${result} ON PARENT_SCOPE)
    frugal_summary("${what}" ON "(${found_detail})")
  elseif(${option} STREQUAL "ON")
    message(FATAL_ERROR "${option}=ON but ${missing_detail}")
  else()
    set(${result} OFF PARENT_SCOPE)
    frugal_summary("${what}" OFF "(${missing_detail}, ${option}=AUTO)")
  endif()
endfunction()

function(frugal_print_summary)
  get_property(lines GLOBAL PROPERTY FRUGAL_SUMMARY)
  string(REPLACE ";" "\n" text "${lines}")
  message(STATUS "FrugalLM configuration (${CMAKE_BUILD_TYPE}):\n${text}")
endfunction()

# Compiler warnings for the project's own targets (dependencies are included as system headers).
function(frugal_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic>)
  if(FRUGAL_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()
