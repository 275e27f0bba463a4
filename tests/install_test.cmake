# Stages an install of kitovu, builds examples/custom_plugin against it with find_package,
# runs it and checks that the plugin it registered was found by name and did its work.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${STAGED} ${WORK})
run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${STAGED})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/custom_plugin -B ${WORK} -DCMAKE_PREFIX_PATH=${STAGED}
    -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK})
run(${WORK}/custom_plugin)
foreach(expected "note-1.txt: hello" "note-3.txt: hello" "plugins: local, notes")
  string(FIND "${output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected '${expected}' in the example's output:\n${output}")
  endif()
endforeach()
message(STATUS "custom plugin example:\n${output}")
