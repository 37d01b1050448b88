#!/usr/bin/env python3
"""The README's install command, checked (ctest py_install): makes a fresh venv in DIR, runs
`pip install ./python` there (which builds librtws with cargo and the compiled cffi module,
and ships both in the package), then runs python/examples/aio_message_websocket.py with that
venv's python in a clean environment (no PYTHONPATH, RTWS_LIBRARY, RTWS_EXTENSION or
RTWS_FFI): the installed package must work on its own, with its compiled module (the build
machine has a C compiler). Then again with the module's link made to fail (LDSHARED=
/bin/false): the install must still succeed, warn, and the package run in ABI mode.

usage: check_install.py DIR ws://127.0.0.1:PORT
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def install(venv, url, env, mode):
    """A fresh venv, `pip install ./python` with `env`, the example run by the installed
    package alone; asserts the package runs in cffi mode `mode`. Returns pip's output."""
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.check_call([sys.executable, "-m", "venv", venv])
    python = os.path.join(venv, "bin", "python")
    pip = subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "-v",
                          os.path.join(ROOT, "python")],
                         env=env, cwd=venv, capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    clean = {k: v for k, v in env.items() if k != "LDSHARED"}
    out = subprocess.run([python, os.path.join(ROOT, "python", "examples",
                                               "aio_message_websocket.py"), url + "/echo"],
                         env=clean, cwd=venv, capture_output=True, text=True, check=True).stdout
    print(out, end="")
    where, got = subprocess.run(
        [python, "-c", "import rtws, os; from rtws import _ffi; "
                       "print(os.path.dirname(rtws.__file__)); print(_ffi.MODE)"],
        env=clean, cwd=venv, capture_output=True, text=True, check=True).stdout.splitlines()
    assert where.startswith(os.path.abspath(venv)), f"rtws imported from {where}"
    assert got == mode, f"the installed package runs in cffi mode {got}, not {mode}"
    assert "Message received from MessageWebSocket: Hello, World!" in out
    shutil.rmtree(venv)
    return pip.stdout + pip.stderr


def main():
    venv, url = sys.argv[1], sys.argv[2]
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "RTWS_LIBRARY", "RTWS_EXTENSION", "RTWS_FFI", "RTWS_HEADER")}
    install(venv, url, env, "api")
    print("check_install: pip install ./python works (with its compiled module)")
    # The compiled module cannot be built (its link step fails; cargo does not read
    # LDSHARED): the install still works, says so, and the package runs in ABI mode.
    log = install(venv, url, {**env, "LDSHARED": "/bin/false"}, "abi")
    assert "rtws: WARNING: the compiled module was not built" in log, log
    print("check_install: without the compiled module, the package falls back to ABI mode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
