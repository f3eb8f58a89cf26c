# Runs PROGRAM and compares its standard output with the file EXPECTED, exactly.
execute_process(COMMAND ${PROGRAM} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ ${EXPECTED} expected)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}\n${out}\n${err}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "output differs from the document.\n--- document:\n${expected}--- program:\n${out}")
endif()
