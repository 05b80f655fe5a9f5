# frugal_embed(<output.cpp> <function> <header> <namespace> <files...>): a generated source that
# defines `std::span<const EmbeddedFile> <namespace>::<function>()` holding each file's text, so that
# programs find their data (model presets, published figures) wherever they are run from. The
# function is declared in <header>; EmbeddedFile is frugal/config/embedded_file.hpp's.
function(frugal_embed output function header namespace)
  string(JOIN "|" joined ${ARGN})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DFUNCTION=${function} -DHEADER=${header} -DNAMESPACE=${namespace}
            -DFILES=${joined} -P ${PROJECT_SOURCE_DIR}/cmake/embed_text_files.cmake
    DEPENDS ${ARGN} ${PROJECT_SOURCE_DIR}/cmake/embed_text_files.cmake
    COMMENT "Embedding ${function}"
    VERBATIM)
  # A file's text is one raw string literal; GCC and clang both compile literals far beyond the
  # 65,536 characters the standard promises, and clang's -Wpedantic says so.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set_source_files_properties(${output} PROPERTIES COMPILE_OPTIONS -Wno-overlength-strings)
  endif()
endfunction()
