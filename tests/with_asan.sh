#!/bin/sh
# Runs a test program against the AddressSanitizer build of librtws (ctest label asan).
#
#   with_asan.sh LIBASAN LIBDIR -- PROGRAM ARGS...
#
# The program was linked to the plain librtws.so; LD_LIBRARY_PATH (searched before its RUNPATH)
# swaps in LIBDIR/librtws.so, built by nightly rustc with -Zsanitizer=address, and LD_PRELOAD
# loads the ASan runtime that library needs (gcc's libasan: the Rust side only calls the
# __asan_* interface, which both runtimes share). Only this program gets them: not the runner,
# not the test server. It refuses to run when the program would not load LIBDIR's library, so a
# wrong path can never pass silently against the uninstrumented one.
set -eu
[ $# -ge 4 ] && [ "$3" = "--" ] || { echo "usage: with_asan.sh LIBASAN LIBDIR -- PROGRAM ARGS..." >&2; exit 2; }
libasan=$1
libdir=$2
shift 3
if ! LD_LIBRARY_PATH="$libdir" ldd "$1" | grep -q "$libdir/librtws.so"; then
  echo "with_asan: $1 would not load $libdir/librtws.so" >&2
  exit 1
fi
exec env LD_PRELOAD="$libasan" LD_LIBRARY_PATH="$libdir" \
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}" "$@"
