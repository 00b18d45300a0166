# Run by cpack (CPACK_POST_BUILD_SCRIPTS) on the packages it made. CMake 3.25
# writes the md5sums of the -dbgsym package with the absolute paths of its
# staging folder instead of paths inside the package (lintian:
# md5sums-lists-nonexistent-file; dpkg --verify cannot check the files).
# This rebuilds that one package with md5sums computed from its own files,
# and with the documentation link debhelper gives -dbgsym packages
# (/usr/share/doc/<package>-dbgsym -> <package>: its copyright and changelog).
foreach(package ${CPACK_PACKAGE_FILES})
  get_filename_component(file_name "${package}" NAME)
  if(NOT file_name MATCHES "^(.*)-dbgsym_.*\\.ddeb$")
    continue()
  endif()
  set(main_package "${CMAKE_MATCH_1}")
  set(tree "${CPACK_TOPLEVEL_DIRECTORY}/dbgsym-rebuild")
  file(REMOVE_RECURSE "${tree}")
  execute_process(COMMAND dpkg-deb --raw-extract "${package}" "${tree}" COMMAND_ERROR_IS_FATAL ANY)
  file(MAKE_DIRECTORY "${tree}/usr/share/doc")
  file(CREATE_LINK "${main_package}" "${tree}/usr/share/doc/${main_package}-dbgsym" SYMBOLIC)
  execute_process(
    COMMAND sh -c "find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums"
    WORKING_DIRECTORY "${tree}" COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND dpkg-deb --root-owner-group --build "${tree}" "${package}"
                  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE_RECURSE "${tree}")
endforeach()
