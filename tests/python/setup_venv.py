#!/usr/bin/env python3
"""Makes the private venv the Python tests run in: `python3 -m venv DIR`, then pip installs
requirements.txt from PyPI, as dev.sh installs cmake into build/_tools. A stamp holding the
requirements' text makes a second run instant; an interrupted install has no stamp and is
simply retried.

usage: setup_venv.py DIR
       setup_venv.py DIR --library LIB --package PKGDIR -- SCRIPT ARGS...
The second form then runs SCRIPT with the venv's python, the package in PKGDIR and the
library LIB (RTWS_LIBRARY): how ctest and `./dev.sh demo` run the Python examples."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    venv = sys.argv[1]
    ready(venv)
    if "--" in sys.argv:
        opts = sys.argv[2:sys.argv.index("--")]
        command = sys.argv[sys.argv.index("--") + 1:]
        env = dict(os.environ, RTWS_LIBRARY=opts[opts.index("--library") + 1],
                   PYTHONPATH=opts[opts.index("--package") + 1])
        python = os.path.join(venv, "bin", "python")
        os.execve(python, [python, *command], env)
    return 0


def ready(venv):
    with open(os.path.join(HERE, "requirements.txt")) as f:
        wanted = f.read()
    stamp = os.path.join(venv, "rtws-requirements.txt")
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    subprocess.check_call([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "-r", os.path.join(HERE, "requirements.txt")])
    with open(stamp, "w") as f:
        f.write(wanted)
    print(f"setup_venv: {venv} ready", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
