# Warning set from STYLE.md; -Werror is switched on by CI (MAMORI_WERROR=ON).
set(MAMORI_WARNINGS -Wall -Wextra -Wshadow -Wcast-qual -Wformat-security -Wnon-virtual-dtor
    -Wundef -Wvla)
if(MAMORI_WERROR)
  list(APPEND MAMORI_WARNINGS -Werror)
endif()

function(mamori_warnings target)
  target_compile_options(${target} PRIVATE ${MAMORI_WARNINGS})
endfunction()
