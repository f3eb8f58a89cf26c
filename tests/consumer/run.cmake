# Builds and runs the consumer project against gradscope both ways a user can: against an install
# prefix found through CMAKE_PREFIX_PATH (after `cmake --install`), and against the build tree
# itself through gradscope_DIR. Invoked by ctest with -DBUILD_DIR, -DSOURCE_DIR, -DWORK_DIR,
# -DGENERATOR.
file(REMOVE_RECURSE ${WORK_DIR})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()
# how: the name of the consumer's build; the rest: how its configure finds gradscope
function(consume how)
  step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/${how} -G ${GENERATOR}
       -DCMAKE_BUILD_TYPE=Release ${ARGN})
  step(${CMAKE_COMMAND} --build ${WORK_DIR}/${how})
  message("${how}:")
  step(${WORK_DIR}/${how}/consumer)
endfunction()
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
consume(installed -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
consume(build_tree -Dgradscope_DIR=${BUILD_DIR})
