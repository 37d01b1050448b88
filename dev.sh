#!/usr/bin/env bash
# rtws developer entry point (also what CI runs, via .ci/run).
#
#   ./dev.sh build          configure + build everything (Release) into build/
#   ./dev.sh test [ARGS]    build, then run the whole suite with ctest (ARGS go to ctest, e.g. -R c_)
#   ./dev.sh demo           build, then run every example flagged DEMO against the test server
#   ./dev.sh bench [ARGS]   build, then run bench/run.py (if present) with the built paths, then
#                           bench/python_bench.py (rtws's asyncio layer beside `websockets`)
#
# Needs cargo, a C/C++ compiler and python3. CMake >= 3.20 is taken from PATH, or else installed
# from PyPI into a private venv at build/_tools (no sudo, no downloaded binaries).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$ROOT/build"
PY="${PYTHON:-python3}"
# One job per core for both make and ctest: the cargo build already saturates the cores, and
# the C tests mostly wait on loopback I/O, so more than nproc only adds timing noise to tests.
JOBS="$(nproc 2>/dev/null || echo 2)"

die() { echo "dev.sh: $*" >&2; exit 1; }

# rustup puts cargo in ~/.cargo/bin, which non-login shells (e.g. CI) may not have on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  PATH="$HOME/.cargo/bin:$PATH"
fi

# Sets CMAKE and CTEST.
find_cmake() {
  local v tools="$BUILD/_tools"
  if command -v cmake >/dev/null 2>&1; then
    v="$(cmake --version | sed -n '1s/^cmake version \([0-9][0-9.]*\).*/\1/p')"
    if [ -n "$v" ] && [ "$(printf '3.20\n%s\n' "$v" | sort -V | head -n1)" = 3.20 ]; then
      CMAKE="$(command -v cmake)"
      CTEST="$(dirname "$CMAKE")/ctest"
      [ -x "$CTEST" ] || CTEST="$(command -v ctest)" || die "ctest not found next to $CMAKE"
      return
    fi
  fi
  # Second run: the venv is already there, so this is instant.
  if [ ! -x "$tools/bin/cmake" ]; then
    echo "dev.sh: cmake >= 3.20 not on PATH; installing it from PyPI into $tools" >&2
    "$PY" -m venv "$tools" || die "'$PY -m venv' failed (on Debian's own python: apt-get install python3-venv)"
    # Installed last, so an interrupted install is simply retried next time.
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check 'cmake>=3.20,<5' \
      || die "pip install cmake failed"
  fi
  CMAKE="$tools/bin/cmake"
  CTEST="$tools/bin/ctest"
}

build() {
  find_cmake
  command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
  local gen=()
  # The generator can only be chosen on the first configure; later runs reuse the cache.
  [ -f "$BUILD/CMakeCache.txt" ] || gen=(-G "Unix Makefiles")
  # Re-configuring every time is cheap and picks up new tests/c/test_*.c files at once.
  # Hand CMake the real interpreter (not e.g. a pyenv shim): tests run the runner with it.
  "$CMAKE" -S "$ROOT" -B "$BUILD" ${gen[@]+"${gen[@]}"} -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$("$PY" -c 'import sys; print(sys.executable)')"
  "$CMAKE" --build "$BUILD" --parallel "$JOBS"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  build)
    build ;;
  test)
    build
    "$CTEST" --test-dir "$BUILD" --output-on-failure --parallel "$JOBS" "$@" ;;
  demo)
    build
    # build/demo.txt is written by CMake from the rtws_example(... DEMO) calls in
    # c-examples/CMakeLists.txt: one line per example, tab-separated: NAME then the full argv
    # (python3 tests/run_with_server.py --server ... -- <exe> <args>).
    list="$BUILD/demo.txt"
    [ -s "$list" ] || die "no example is flagged DEMO in c-examples/CMakeLists.txt"
    failed=()
    while IFS=$'\t' read -r -u 3 -a argv; do
      [ ${#argv[@]} -ge 2 ] || continue
      printf '\n===== %s =====\n' "${argv[0]}"
      "${argv[@]:1}" || failed+=("${argv[0]}")
    done 3<"$list"
    echo
    [ ${#failed[@]} -eq 0 ] || die "demo examples failed: ${failed[*]}"
    echo "demo: all examples ran successfully" ;;
  bench)
    build
    [ -f "$ROOT/bench/run.py" ] || { echo "dev.sh: no bench/run.py yet, nothing to run"; exit 0; }
    bargs=(--server "$ROOT/target/release/rtws-testserver" --raw "$ROOT/target/release/rtws-bench-raw")
    # Without --bench-exe, run.py compiles bench_rtws.c itself.
    [ -x "$BUILD/bench/bench_rtws" ] && bargs+=(--bench-exe "$BUILD/bench/bench_rtws")
    "$PY" "$ROOT/bench/run.py" "${bargs[@]}" "$@"
    # The Python column (rtws's asyncio layer beside `websockets`) needs the tests' venv.
    "$PY" "$ROOT/tests/python/setup_venv.py" "$BUILD/_pyenv"
    "$BUILD/_pyenv/bin/python" "$ROOT/bench/python_bench.py" --server "$ROOT/target/release/rtws-testserver" ;;
  *)
    sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
    exit 2 ;;
esac
