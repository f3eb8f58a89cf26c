# CI's reliability jobs, registered as tests of the main build so that the README's single ctest
# command runs them (docs/reliability.md). Each builds its own tree under build/reliability/:
#   ci.asan_ubsan  the whole suite under AddressSanitizer + LeakSanitizer + UBSan
#   ci.tsan        the threads test under ThreadSanitizer
#   ci.fuzz        each libFuzzer harness for GRADSCOPE_FUZZ_SECONDS (default 120 s)
# They take minutes: `ctest -LE ci-job` skips them, `ctest -L ci-job` runs only them.
set(summary ${PROJECT_BINARY_DIR}/reliability_jobs.txt)
foreach(job asan_ubsan tsan fuzz)
  add_test(NAME ci.${job}
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/ci_job.sh ${job} ${PROJECT_SOURCE_DIR}
            ${PROJECT_BINARY_DIR}/reliability ${CMAKE_GENERATOR} ${summary})
  set_tests_properties(ci.${job} PROPERTIES LABELS "ci-job" TIMEOUT 2400 RUN_SERIAL ON)
endforeach()

# ctest shows a passing test's output only with -V, so the jobs' one-line results (sanitizer
# verdicts, fuzz execution counts) are printed after ctest's summary instead.
file(WRITE ${PROJECT_BINARY_DIR}/reliability_jobs.cmake
  "if(EXISTS \"${summary}\")\n"
  "  execute_process(COMMAND ${CMAKE_COMMAND} -E echo \"reliability jobs:\")\n"
  "  execute_process(COMMAND ${CMAKE_COMMAND} -E cat \"${summary}\")\n"
  "endif()\n")
file(WRITE ${PROJECT_BINARY_DIR}/CTestCustom.cmake
  "set(CTEST_CUSTOM_PRE_TEST \"${CMAKE_COMMAND} -E rm -f ${summary}\")\n"
  "set(CTEST_CUSTOM_POST_TEST \"${CMAKE_COMMAND} -P ${PROJECT_BINARY_DIR}/reliability_jobs.cmake\")\n")
