"""Builds librtws with cargo from the enclosing checkout and ships it, with include/rtws.h
(which the binding parses at import), inside the package: `pip install ./python`.
The wheel holds a native library, so it is tagged for this platform, not pure Python."""
import os
import shutil
import subprocess

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


class PlatformDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=PlatformDistribution)
