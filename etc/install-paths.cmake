# Files whose content names absolute install paths (the systemd unit's
# ExecStart, the pkg-config file) are configured when they are installed,
# not when the build is configured: `cmake --install build --prefix P` and
# cpack (which installs to /usr) choose the prefix only then. This file is
# read both at configure time (adf_install_configured) and by the install
# scripts (adf_install_time_paths, adf_install_configured_file).

# adf_install_configured(TEMPLATE DESTINATION dir [RENAME name] [COMPONENT c]
#                        [KEEP_EXISTING])
# Installs TEMPLATE (@VAR@ substitutions, see adf_install_time_paths) into
# DESTINATION, which may name the install-time paths as \${ADF_...}.
# KEEP_EXISTING leaves a file that is already there alone (an operator's
# edited config survives `make install`).
function(adf_install_configured template)
  cmake_parse_arguments(A "KEEP_EXISTING" "DESTINATION;RENAME;COMPONENT" "" ${ARGN})
  get_filename_component(template "${template}" ABSOLUTE)
  if(NOT A_RENAME)
    get_filename_component(A_RENAME "${template}" NAME)
    string(REGEX REPLACE "\\.in$" "" A_RENAME "${A_RENAME}")
  endif()
  if(NOT A_COMPONENT)
    set(A_COMPONENT "${CMAKE_INSTALL_DEFAULT_COMPONENT_NAME}")
  endif()
  set(keep OFF)
  if(A_KEEP_EXISTING)
    set(keep ON)
  endif()
  install(CODE "
    set(ADF_RELATIVE_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
    set(ADF_RELATIVE_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
    set(ADF_RELATIVE_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
    set(ADF_RELATIVE_PLUGINDIR \"${ADF_PLUGIN_INSTALL_DIR}\")
    set(PROJECT_VERSION \"${PROJECT_VERSION}\")
    set(ADF_STAGING_DIR \"${CMAKE_BINARY_DIR}/install-staging\")
    include(\"${CMAKE_CURRENT_FUNCTION_LIST_FILE}\")
    adf_install_time_paths()
    adf_install_configured_file(\"${template}\" \"${A_DESTINATION}\" \"${A_RENAME}\" ${keep})
  " COMPONENT "${A_COMPONENT}")
endfunction()

# Sets ADF_PREFIX, ADF_SBINDIR, ADF_DATADIR, ADF_INCLUDEDIR, ADF_PLUGINDIR,
# ADF_SYSCONFDIR, ADF_CONFIG_FILE and ADF_UNITDIR from the prefix being
# installed to. /usr keeps its configuration in /etc and, on Debian 12, its
# units in /lib/systemd/system; any other prefix P uses P/etc and
# P/lib/systemd/system (systemd searches /usr/local/lib/systemd/system).
macro(adf_install_time_paths)
  string(REGEX REPLACE "(.)/+$" "\\1" ADF_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(ADF_SBINDIR "${ADF_PREFIX}/${ADF_RELATIVE_SBINDIR}")
  set(ADF_DATADIR "${ADF_PREFIX}/${ADF_RELATIVE_DATADIR}")
  set(ADF_INCLUDEDIR "${ADF_PREFIX}/${ADF_RELATIVE_INCLUDEDIR}")
  set(ADF_PLUGINDIR "${ADF_PREFIX}/${ADF_RELATIVE_PLUGINDIR}")
  if(ADF_PREFIX STREQUAL "/usr")
    set(ADF_SYSCONFDIR "/etc")
    set(ADF_UNITDIR "/lib/systemd/system")
  else()
    set(ADF_SYSCONFDIR "${ADF_PREFIX}/etc")
    set(ADF_UNITDIR "${ADF_PREFIX}/lib/systemd/system")
  endif()
  set(ADF_CONFIG_FILE "${ADF_SYSCONFDIR}/autodnsfailover/autodnsfailover.json")
endmacro()

function(adf_install_configured_file template destination name keep_existing)
  if(keep_existing AND EXISTS "$ENV{DESTDIR}${destination}/${name}")
    message(STATUS "Keeping: $ENV{DESTDIR}${destination}/${name} (already there)")
    return()
  endif()
  string(MD5 tag "${template}")
  set(staged "${ADF_STAGING_DIR}/${tag}/${name}")
  configure_file("${template}" "${staged}" @ONLY)
  file(INSTALL DESTINATION "${destination}" TYPE FILE FILES "${staged}")
endfunction()
