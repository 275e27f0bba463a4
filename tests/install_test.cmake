# Stages an install of kitovu, builds examples/custom_plugin and examples/login_plugin against it
# with find_package, runs them and checks that the plugins they registered passed the conformance
# suite and synced; and that the custom plugin is at most 40 lines without comments and blank
# lines.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${STAGED} ${WORK} ${WORK}-login)
run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${STAGED})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/custom_plugin -B ${WORK} -DCMAKE_PREFIX_PATH=${STAGED}
    -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK})
run(${WORK}/custom_plugin)
if(EXISTS ${STAGED}/include/kitovu/plugins/smb.hpp
   AND NOT EXISTS ${STAGED}/libexec/kitovu/kitovu-smb-helper)
  message(FATAL_ERROR "the smb plugin's helper (libexec/kitovu/kitovu-smb-helper) was not installed")
endif()
if(NOT EXISTS ${STAGED}/include/kitovu/testing.hpp)
  message(FATAL_ERROR "the conformance suite (kitovu/testing.hpp) was not installed")
endif()
foreach(expected "conformance: " " checks, 0 failed" "note-1.txt: hello" "note-2.txt: hello"
                 "plugins: local, notes")
  string(FIND "${output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected '${expected}' in the example's output:\n${output}")
  endif()
endforeach()
message(STATUS "custom plugin example:\n${output}")

# The plugin for a remote with a login (README's second example): its password from the
# environment, never from the config.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/login_plugin -B ${WORK}-login
    -DCMAKE_PREFIX_PATH=${STAGED} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK}-login)
run(${WORK}-login/login_plugin)
foreach(expected "conformance: " " checks, 0 failed" "skript.txt synced")
  string(FIND "${output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected '${expected}' in the login example's output:\n${output}")
  endif()
endforeach()
message(STATUS "login plugin example:\n${output}")

# The plugin, from `class` to its registration, counted without comments and blank lines.
file(READ ${SOURCE_DIR}/examples/custom_plugin/main.cpp text)
string(REGEX REPLACE "[][;]" "," text "${text}") # the code's ; [ ] would upset the list
string(REPLACE "\n" ";" lines "${text}")
set(counting OFF)
set(count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^class ")
    set(counting ON)
  endif()
  if(counting AND NOT line MATCHES "^[ \t]*(//.*)?$")
    math(EXPR count "${count} + 1")
  endif()
  if(line MATCHES "PluginRegistry::Add<")
    break()
  endif()
endforeach()
if(count GREATER 40)
  message(FATAL_ERROR "the example plugin is ${count} lines without comments, more than 40")
endif()
message(STATUS "the example plugin is ${count} lines without comments and blank lines")
