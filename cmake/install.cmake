# The installed package: `cmake --install build/sanitized --prefix PREFIX` (the
# fuzz preset's tree, whose libraries carry ASan, UBSan and libFuzzer's
# coverage) puts headers, libraries, the fuzzer's options and dictionary and
# shadowdiffConfig.cmake under PREFIX; find_package(shadowdiff) then gives the
# imported targets and shadowdiff_add_fuzzer (cmake/shadowdiffConfig.cmake.in).
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(shadowdiff_libraries shadowdiff_proto shadowdiff_model shadowdiff_host
    shadowdiff_impl shadowdiff_impl_mmus shadowdiff_fuzz shadowdiff_cli_main)
if(TARGET shadowdiff_fuzzer_main)
  list(APPEND shadowdiff_libraries shadowdiff_fuzzer_main)
endif()
# For C MMUs: the C interface alone.
add_library(shadowdiff_headers INTERFACE)
target_include_directories(shadowdiff_headers INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# shadowdiff::fuzz, shadowdiff::host, ..., shadowdiff::headers.
foreach(target IN LISTS shadowdiff_libraries ITEMS shadowdiff_headers)
  string(REPLACE "shadowdiff_" "" export_name ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
endforeach()
install(TARGETS ${shadowdiff_libraries} shadowdiff_headers
  EXPORT shadowdiffTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT shadowdiffTargets NAMESPACE shadowdiff::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/shadowdiff)

install(FILES include/shadowdiff/mmu.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/shadowdiff)
# The C++ headers keep the paths they are included by ("host/guest_mmu.h").
foreach(module host fuzz impl model proto)
  install(DIRECTORY ${module}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/shadowdiff/${module}
    FILES_MATCHING PATTERN "*.h")
endforeach()
install(FILES ${CMAKE_BINARY_DIR}/proto/case.pb.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/shadowdiff/proto)
install(FILES proto/case.proto .clusterfuzzlite/mmu_diff_fuzzer.options
  DESTINATION ${CMAKE_INSTALL_DATADIR}/shadowdiff)
if(SHADOWDIFF_FUZZER)
  install(FILES ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/mmu_diff_fuzzer.dict
    DESTINATION ${CMAKE_INSTALL_DATADIR}/shadowdiff)
endif()

# What the libraries were built with, for the fuzzers built against them.
set(SHADOWDIFF_PACKAGE_FUZZER ${SHADOWDIFF_FUZZER})
set(SHADOWDIFF_PACKAGE_SANITIZE ${SHADOWDIFF_SANITIZE})
set(SHADOWDIFF_PACKAGE_ENGINE "${SHADOWDIFF_FUZZING_ENGINE}")
set(SHADOWDIFF_PACKAGE_FEEDBACK "${SHADOWDIFF_FUZZ_FEEDBACK}")
configure_package_config_file(cmake/shadowdiffConfig.cmake.in
  ${CMAKE_BINARY_DIR}/shadowdiffConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/shadowdiff
  PATH_VARS CMAKE_INSTALL_DATADIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/shadowdiffConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/shadowdiffConfig.cmake
              ${CMAKE_BINARY_DIR}/shadowdiffConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/shadowdiff)
install(FILES cmake/empty.cc DESTINATION ${CMAKE_INSTALL_DATADIR}/shadowdiff)
