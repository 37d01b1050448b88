#!/usr/bin/env python3
"""Makes the private venv the Python tests run in: `python3 -m venv DIR`, then pip installs
requirements.txt from PyPI, as dev.sh installs cmake into build/_tools. A stamp holding the
requirements' text makes a second run instant; an interrupted install has no stamp and is
simply retried. Then it builds the binding's compiled module (python/rtws/_build.py, from
include/rtws.h) with the venv's python into DIR/rtws-ext/_rtws_cffi.so, the $RTWS_EXTENSION
of the build tree's tests; again only when the header or the builder changed (a stamp of
their digest).

usage: setup_venv.py DIR
       setup_venv.py DIR --library LIB --package PKGDIR -- SCRIPT ARGS...
The second form then runs SCRIPT with the venv's python, the package in PKGDIR, the
library LIB (RTWS_LIBRARY) and the compiled module (RTWS_EXTENSION): how ctest and
`./dev.sh demo` run the Python examples."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HEADER = os.path.join(ROOT, "include", "rtws.h")
BUILDER = os.path.join(ROOT, "python", "rtws", "_build.py")


def main():
    venv = sys.argv[1]
    ready(venv)
    if "--" in sys.argv:
        opts = sys.argv[2:sys.argv.index("--")]
        command = sys.argv[sys.argv.index("--") + 1:]
        env = dict(os.environ, RTWS_LIBRARY=opts[opts.index("--library") + 1],
                   PYTHONPATH=opts[opts.index("--package") + 1],
                   RTWS_EXTENSION=extension(venv))
        python = os.path.join(venv, "bin", "python")
        os.execve(python, [python, *command], env)
    return 0


def extension(venv):
    return os.path.join(venv, "rtws-ext", "_rtws_cffi.so")


def ready(venv):
    requirements(venv)
    compiled(venv)


def compiled(venv):
    digest = hashlib.sha256()
    for path in (HEADER, BUILDER, os.path.join(os.path.dirname(BUILDER), "_header.py")):
        with open(path, "rb") as f:
            digest.update(f.read())
    stamp = extension(venv) + ".sha256"
    if os.path.exists(stamp) and os.path.exists(extension(venv)) and \
            open(stamp).read() == digest.hexdigest():
        return
    python_headers(os.path.join(venv, "bin", "python"))
    with tempfile.TemporaryDirectory(dir=venv) as tmp:
        out = subprocess.run([os.path.join(venv, "bin", "python"), BUILDER, HEADER, tmp],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        os.makedirs(os.path.dirname(extension(venv)), exist_ok=True)
        # Replaced whole: a test importing it meanwhile sees the old or the new file.
        shutil.copy(out.strip().splitlines()[-1], extension(venv) + ".tmp")
        os.replace(extension(venv) + ".tmp", extension(venv))
    with open(stamp, "w") as f:
        f.write(digest.hexdigest())
    print(f"setup_venv: {extension(venv)} built", file=sys.stderr)


def python_headers(python):
    """Python.h, which the compiled module needs: Debian's own python3 has it only with
    python3-dev, installed here as root with apt-get (as bench/run.py does libwebsockets-dev);
    otherwise a clear failure (the py_* tests are the compiled module's: they do not fall
    back to the ABI mode, which the py_abi_* tests cover)."""
    include = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                             check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    header = os.path.join(include, "Python.h")
    if os.path.exists(header):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("setup_venv: installing python3-dev (apt-get) for Python.h", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "python3-dev"]):
            subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL)
        if os.path.exists(header):
            return
    sys.exit(f"setup_venv: {header} is missing: the binding's compiled module needs Python's "
             f"headers (Debian: apt-get install python3-dev)")


def requirements(venv):
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
