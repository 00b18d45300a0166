# adf_add_plugin(): builds an autodnsfailover plugin the one way the project
# builds all of them (in-tree plugins, test plugins and third-party plugins
# through the installed CMake package alike): a MODULE library <NAME>.so,
# compiled against the SDK's headers only, every symbol hidden but the
# descriptor (a version script, because -fvisibility=hidden alone leaves
# libstdc++'s template instances exported), no undefined symbols left.
#
#   adf_add_plugin(NAME name SOURCES file...
#                  [LIBRARIES lib...] [INCLUDES dir...] [DEFINITIONS def...]
#                  [TARGET target]       # default: plugin_<name>, '-' as '_'
#                  [OUTPUT_DIR dir]      # default: ADF_PLUGIN_OUTPUT_DIR, else the
#                                        # current binary directory
#                  [DESTINATION dir]     # default: ADF_PLUGIN_INSTALL_DIR, relative
#                                        # to the install prefix
#                  [NO_INSTALL])         # test plugins: built, never installed
include_guard(GLOBAL)

if(NOT DEFINED ADF_PLUGIN_INSTALL_DIR)
  set(ADF_PLUGIN_INSTALL_DIR "lib/autodnsfailover/plugins")
endif()

function(adf_add_plugin)
  cmake_parse_arguments(P "NO_INSTALL" "NAME;TARGET;OUTPUT_DIR;DESTINATION"
                        "SOURCES;LIBRARIES;INCLUDES;DEFINITIONS" ${ARGN})
  if(NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "adf_add_plugin: NAME and SOURCES are required")
  endif()
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "adf_add_plugin(${P_NAME}): unknown arguments ${P_UNPARSED_ARGUMENTS}")
  endif()
  set(target "${P_TARGET}")
  if(NOT target)
    string(REPLACE "-" "_" target "plugin_${P_NAME}")
  endif()
  set(output_dir "${P_OUTPUT_DIR}")
  if(NOT output_dir)
    set(output_dir "${ADF_PLUGIN_OUTPUT_DIR}")
  endif()
  if(NOT output_dir)
    set(output_dir "${CMAKE_CURRENT_BINARY_DIR}")
  endif()

  # Next to this file, wherever it is (source tree or installed package).
  set(version_script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/plugin.map")

  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE AutoDnsFailover::sdk ${P_LIBRARIES})
  target_include_directories(${target} PRIVATE ${P_INCLUDES})
  target_compile_definitions(${target} PRIVATE ${P_DEFINITIONS})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME "${P_NAME}" PREFIX "" SUFFIX ".so"
    LIBRARY_OUTPUT_DIRECTORY "${output_dir}"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE "-Wl,--version-script=${version_script}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${version_script}")
  # The sanitizers' runtime is only in the host: a sanitized plugin has
  # undefined symbols by design.
  if(NOT ADF_SANITIZE)
    target_link_options(${target} PRIVATE -Wl,-z,defs)
  endif()
  if(NOT P_NO_INSTALL)
    set(destination "${P_DESTINATION}")
    if(NOT destination)
      set(destination "${ADF_PLUGIN_INSTALL_DIR}")
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION "${destination}")
  endif()
endfunction()
