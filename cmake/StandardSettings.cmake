# Settings shared by every target, as INTERFACE libraries.
set(CMAKE_CXX_STANDARD 23)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

option(DIGSIG_DEVELOPER_MODE "Warnings are errors" OFF)
set(DIGSIG_SANITIZERS "" CACHE STRING "Comma-separated sanitizers, e.g. address,undefined or thread")

add_library(digsig_settings INTERFACE)
if(DIGSIG_SANITIZERS)
  target_compile_options(digsig_settings INTERFACE -fsanitize=${DIGSIG_SANITIZERS} -fno-omit-frame-pointer)
  target_link_options(digsig_settings INTERFACE -fsanitize=${DIGSIG_SANITIZERS})
endif()

add_library(digsig_warnings INTERFACE)
target_compile_options(digsig_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                       -Wno-sign-conversion -Wnon-virtual-dtor
                       -Wno-missing-field-initializers)
if(DIGSIG_DEVELOPER_MODE)
  target_compile_options(digsig_warnings INTERFACE -Werror)
endif()
