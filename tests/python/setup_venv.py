#!/usr/bin/env python3
"""Makes the private venv the Python tests run in (usage: setup_venv.py DIR): `python3 -m
venv DIR`, then pip installs requirements.txt from PyPI, as dev.sh installs cmake into
build/_tools. A stamp holding the requirements' text makes a second run instant; an
interrupted install has no stamp and is simply retried."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    venv = sys.argv[1]
    with open(os.path.join(HERE, "requirements.txt")) as f:
        wanted = f.read()
    stamp = os.path.join(venv, "rtws-requirements.txt")
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return 0
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    subprocess.check_call([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "-r", os.path.join(HERE, "requirements.txt")])
    with open(stamp, "w") as f:
        f.write(wanted)
    print(f"setup_venv: {venv} ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
