#!/usr/bin/env python3
"""The README's install command, checked (ctest py_install): makes a fresh venv in DIR, runs
`pip install ./python` there (which builds librtws with cargo and the compiled cffi module,
and ships both in the package), then runs python/examples/aio_message_websocket.py with that
venv's python in a clean environment (no PYTHONPATH, RTWS_LIBRARY, RTWS_EXTENSION or
RTWS_FFI): the installed package must work on its own, with its compiled module (the build
machine has a C compiler).

usage: check_install.py DIR ws://127.0.0.1:PORT
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    venv, url = sys.argv[1], sys.argv[2]
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.check_call([sys.executable, "-m", "venv", venv])
    python = os.path.join(venv, "bin", "python")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "RTWS_LIBRARY", "RTWS_EXTENSION", "RTWS_FFI", "RTWS_HEADER")}
    subprocess.check_call([python, "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", os.path.join(ROOT, "python")],
                          env=env, cwd=venv)
    out = subprocess.run([python, os.path.join(ROOT, "python", "examples",
                                               "aio_message_websocket.py"), url + "/echo"],
                         env=env, cwd=venv, capture_output=True, text=True, check=True).stdout
    print(out, end="")
    where, mode = subprocess.run(
        [python, "-c", "import rtws, os; from rtws import _ffi; "
                       "print(os.path.dirname(rtws.__file__)); print(_ffi.MODE, _ffi.FALLBACK_REASON)"],
        env=env, cwd=venv, capture_output=True, text=True, check=True).stdout.splitlines()
    assert where.startswith(os.path.abspath(venv)), f"rtws imported from {where}"
    assert mode == "api None", f"the installed package runs in cffi mode {mode}"
    assert "Message received from MessageWebSocket: Hello, World!" in out
    shutil.rmtree(venv)
    print("check_install: pip install ./python works")
    return 0


if __name__ == "__main__":
    sys.exit(main())
