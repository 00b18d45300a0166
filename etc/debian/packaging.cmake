# Debian packages, built by CPack from any configured build tree:
#   cpack -G DEB --config <build>/CPackConfig.cmake -B <output dir>
# makes, from what `cmake --install` would install to /usr:
#   autodnsfailover      the daemon, its plugins, the unit, the conffile, man
#                        pages 5 and 8; maintainer scripts from this folder
#   autodnsfailover-dev  headers, CMake package, pkg-config file, SDK guide,
#                        examples, autodnsfailover-plugin(7)
#   autodnsfailover-dbgsym  the daemon's and plugins' debug symbols (.ddeb)
# Why CPack and not debhelper: CONTRIBUTING.md, "Packages".
set(ADF_DEBIAN_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(ADF_DEBIAN_REVISION 1)

# The changelog's first entry must be the version being packaged.
file(STRINGS "${ADF_DEBIAN_DIR}/changelog" first_entry LIMIT_COUNT 1)
set(ADF_DEBIAN_VERSION "${PROJECT_VERSION}-${ADF_DEBIAN_REVISION}")
if(NOT first_entry MATCHES "^autodnsfailover \\(${ADF_DEBIAN_VERSION}\\) ")
  message(FATAL_ERROR "etc/debian/changelog starts with \"${first_entry}\": add an entry for "
                      "${ADF_DEBIAN_VERSION} (the project version and ADF_DEBIAN_REVISION)")
endif()

# Each package's /usr/share/doc/<package>/ holds copyright and
# changelog.Debian.gz (gzip -9n: no name or time stamp, reproducible).
set(changelog_gz "${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian.gz")
add_custom_command(OUTPUT "${changelog_gz}"
  COMMAND sh -c "gzip -9n -c '${ADF_DEBIAN_DIR}/changelog' > '${changelog_gz}'"
  DEPENDS "${ADF_DEBIAN_DIR}/changelog" VERBATIM)
add_custom_target(debian_changelog ALL DEPENDS "${changelog_gz}")
foreach(component daemon dev)
  set(doc "${CMAKE_INSTALL_DATADIR}/doc/autodnsfailover")
  if(component STREQUAL "dev")
    set(doc "${doc}-dev")
  endif()
  install(FILES "${ADF_DEBIAN_DIR}/copyright" "${changelog_gz}" DESTINATION "${doc}"
          COMPONENT ${component})
endforeach()
foreach(package autodnsfailover autodnsfailover-dev)
  set(component daemon)
  if(package STREQUAL "autodnsfailover-dev")
    set(component dev)
  endif()
  install(FILES "${ADF_DEBIAN_DIR}/${package}.lintian-overrides"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/lintian/overrides" RENAME ${package}
          COMPONENT ${component})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME autodnsfailover)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "autodnsfailover maintainers <maintainers@autodnsfailover.example>")
# Install with DESTDIR=<staging> and the prefix /usr, whatever prefix the
# build tree was configured with, so that files configured at install time
# (unit, .pc) name /usr, not the staging folder.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ADF_DEBIAN_REVISION})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SOURCE autodnsfailover)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PRE_BUILD_SCRIPTS "${ADF_DEBIAN_DIR}/remove-comment-sections.cmake")
set(CPACK_POST_BUILD_SCRIPTS "${ADF_DEBIAN_DIR}/fix-dbgsym-md5sums.cmake")

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME autodnsfailover)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SHLIBDEPS ON)
# adduser: postinst creates the system user.
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_DAEMON_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
    "${ADF_DEBIAN_DIR}/conffiles" "${ADF_DEBIAN_DIR}/postinst" "${ADF_DEBIAN_DIR}/prerm"
    "${ADF_DEBIAN_DIR}/postrm")
set(CPACK_COMPONENT_DAEMON_DESCRIPTION "automatic failover for round-robin DNS
Every server of a round-robin DNS pool runs the daemon. It keeps its own
A/AAAA record in DNS, health-checks every peer listed under the name and
removes the dead ones through the DNS provider, under safeguards that
never empty the pool. A server that comes back re-adds itself.
.
Plugins for RFC 2136 (BIND, Knot, PowerDNS), zone files, Route 53,
Cloudflare, PowerDNS and Zerigo; TCP, HTTP(S), ICMP and program checks.
The daemon runs as its own system user with CAP_NET_RAW only; it is not
started until it is configured in /etc/autodnsfailover/.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME autodnsfailover-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_DEV_PACKAGE_ARCHITECTURE all)
# The SDK builds plugins without the daemon; plugin-test needs it.
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "autodnsfailover (>= ${ADF_DEBIAN_VERSION})")
set(CPACK_COMPONENT_DEV_DESCRIPTION "SDK for autodnsfailover plugins
The C header that is the plugin ABI of autodnsfailover (plugin.h), its
optional C++ layer and header-only helpers, a CMake package
(find_package(AutoDnsFailoverSDK) gives adf_add_plugin()), a pkg-config
file (autodnsfailover-plugin), the SDK guide and example plugins in C,
and the man page autodnsfailover-plugin(7).")

include(CPack)
