"""Builds librtws with cargo from the enclosing checkout and ships it, with include/rtws.h
and the binding's compiled module (rtws/_build.py: cffi's API mode, from that header),
inside the package: `pip install ./python`. Without a working C compiler the module is left
out (a warning says so) and the package uses cffi's ABI mode, parsing rtws.h at import.
The wheel holds native code, so it is tagged for this platform, not pure Python."""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cargo():
    found = os.environ.get("CARGO") or shutil.which("cargo")
    home = os.path.join(os.path.expanduser("~"), ".cargo", "bin", "cargo")
    if not found and os.path.exists(home):
        found = home
    if not found:
        raise SystemExit("rtws: cargo not found (install Rust with rustup, or set CARGO)")
    return found


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        subprocess.check_call([cargo(), "build", "--release", "-p", "rtws"], cwd=ROOT,
                              env={**os.environ, "CARGO_TARGET_DIR": target})
        dest = os.path.join(self.build_lib, "rtws")
        shutil.copy(os.path.join(target, "release", "librtws.so"), dest)
        shutil.copy(os.path.join(ROOT, "include", "rtws.h"), dest)
        # pip builds in python/build: a module left there by an earlier build must not be
        # shipped if this one fails.
        for name in os.listdir(dest):
            if name.startswith("_rtws_cffi."):
                os.remove(os.path.join(dest, name))
        try:
            with tempfile.TemporaryDirectory() as tmp:
                shutil.copy(build_module().build(os.path.join(ROOT, "include", "rtws.h"), tmp),
                            dest)
        except Exception as e:  # no compiler, no Python headers: the ABI mode still works
            print(f"rtws: WARNING: the compiled module was not built ({e}); the package will "
                  f"use cffi's ABI mode (slower calls)", file=sys.stderr)


def build_module():
    """rtws/_build.py, loaded on its own (importing the package would load the library)."""
    spec = importlib.util.spec_from_file_location("_rtws_build",
                                                  os.path.join(HERE, "rtws", "_build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PlatformDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=PlatformDistribution)
