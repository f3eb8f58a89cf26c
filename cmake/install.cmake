# Installs headers, the library and an exported CMake package, so that a consumer's
# find_package(gradscope REQUIRED) + target_link_libraries(app gradscope::gradscope) works, both
# against an install prefix (CMAKE_PREFIX_PATH) and against this build tree (gradscope_DIR): the
# build tree holds the same gradscopeConfig.cmake beside its own gradscopeTargets.cmake, whose
# include directory is the build tree's include/gradscope link to the sources.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS gradscope EXPORT gradscopeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(dir autodiff ops instruments writers models study)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gradscope/${dir}
    FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(EXPORT gradscopeTargets NAMESPACE gradscope:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gradscope)
export(EXPORT gradscopeTargets NAMESPACE gradscope::
  FILE ${PROJECT_BINARY_DIR}/gradscopeTargets.cmake)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gradscopeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/gradscopeConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gradscope)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gradscopeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gradscopeConfig.cmake ${PROJECT_BINARY_DIR}/gradscopeConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gradscope)
