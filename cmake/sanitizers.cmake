# Sanitizer and fuzzing builds (docs/reliability.md). Both apply to every target of the tree, so
# that the library, the tests and the command-line program are instrumented alike.
#   GRADSCOPE_SANITIZE=address,undefined   AddressSanitizer (with LeakSanitizer) + UBSan
#   GRADSCOPE_SANITIZE=thread              ThreadSanitizer
#   GRADSCOPE_FUZZ=ON                      libFuzzer harnesses in tests/fuzz (clang only)
set(GRADSCOPE_SANITIZE "" CACHE STRING "Build with -fsanitize=<this> (e.g. address,undefined or thread)")
option(GRADSCOPE_FUZZ "Build the libFuzzer harnesses in tests/fuzz (needs clang)" OFF)

if(GRADSCOPE_SANITIZE)
  # Any undefined behaviour stops the program, so a test that triggers it fails.
  add_compile_options(-fsanitize=${GRADSCOPE_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${GRADSCOPE_SANITIZE})
  if(GRADSCOPE_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=all)
  endif()
endif()
if(GRADSCOPE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "GRADSCOPE_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Coverage feedback for the library too; the harnesses themselves link -fsanitize=fuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
