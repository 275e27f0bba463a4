# Runs one C++ block of README.md or docs/*.md, built as a program, against a config that syncs
# a local folder. The sync must succeed and the files must arrive. -DBIN=program -DWORK=folder
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/remote/course)
file(WRITE ${WORK}/remote/course/skript.txt "lecture notes")
set(connection "name = \"gen\"\nplugin = \"local\"\npath = \"${WORK}/remote\"\n")
set(remote_dir "course")
set(expected "skript.txt")
file(WRITE ${WORK}/kitovu.toml "root-dir = \"${WORK}/home\"\n\n[[connections]]\n${connection}
[[subjects]]\nname = \"EPJ\"\n  [[subjects.sources]]\n  connection = \"gen\"\n  remote-dir = \"${remote_dir}\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E env XDG_DATA_HOME=${WORK}/data HOME=${WORK}
                        ${BIN} ${WORK}/kitovu.toml
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the docs block exited with ${rc}:\n${out}\n${err}")
endif()
foreach(file IN LISTS expected)
  if(NOT EXISTS ${WORK}/home/EPJ/${file})
    message(FATAL_ERROR "the docs block did not sync ${file}:\n${out}\n${err}")
  endif()
endforeach()
