# Run by cpack (CPACK_PRE_BUILD_SCRIPTS) on the staged files, before the
# packages and their debug symbols are made: removes the .comment section
# (the compiler's version strings) from every ELF file, as dh_strip does,
# which lintian asks for (binary-has-unneeded-section).
find_program(objcopy NAMES objcopy REQUIRED)
file(GLOB_RECURSE staged LIST_DIRECTORIES false "${CPACK_TEMPORARY_DIRECTORY}/*")
foreach(file ${staged})
  if(IS_SYMLINK "${file}")
    continue()
  endif()
  file(READ "${file}" magic LIMIT 4 HEX)
  if(magic STREQUAL "7f454c46")  # "\177ELF"
    execute_process(COMMAND "${objcopy}" --remove-section=.comment "${file}"
                    RESULT_VARIABLE failed)
    if(failed)
      message(FATAL_ERROR "objcopy --remove-section=.comment ${file} failed")
    endif()
  endif()
endforeach()
