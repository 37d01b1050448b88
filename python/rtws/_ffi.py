"""The C ABI, read from rtws.h itself: no declaration here is written by hand.

Two ways to the same functions, one `ffi` and `lib` either way (`MODE` says which):

- "api": the compiled module `rtws._rtws_cffi` (cffi's API mode), built from the header by
  `_build.py` at `pip install ./python` (it then sits in the package) or for the build tree
  (its path in $RTWS_EXTENSION). Calls cost a fraction of the ABI mode's, and it holds the
  C helpers of the asyncio layer's per-message path (`HELPERS`: True). It is used only if it
  was built from this very header (a digest of the header's text is compiled in).
- "abi": cffi parses the header at import (`_header.preprocess`) and dlopens the library:
  no compiler needed. The fallback when the module is absent or stale.

$RTWS_FFI chooses: "api" (the compiled module or ImportError), "abi", or unset (api if
usable, else abi). The library is found next to this file (the installed package) or at
$RTWS_LIBRARY (the build tree: target/release/librtws.so); the header next to this file,
at $RTWS_HEADER, or in the checkout's include/.
"""
import importlib.machinery
import importlib.util
import os
import warnings

from ._header import enums, preprocess

_HERE = os.path.dirname(os.path.abspath(__file__))


def _header_path():
    for path in (os.environ.get("RTWS_HEADER"), os.path.join(_HERE, "rtws.h"),
                 os.path.join(_HERE, "..", "..", "include", "rtws.h")):
        if path and os.path.exists(path):
            return path
    raise ImportError("rtws: rtws.h not found (set RTWS_HEADER, or install the package)")


def _library_path():
    env = os.environ.get("RTWS_LIBRARY")
    if env:
        return env
    path = os.path.join(_HERE, "librtws.so")
    if os.path.exists(path):
        return path
    raise ImportError("rtws: librtws.so not found next to the package; set RTWS_LIBRARY "
                      "to target/release/librtws.so when running from a checkout")


def _compiled(source):
    """(ffi, lib) of the compiled module, or ImportError saying why not."""
    import ctypes

    from ._build import MODULE, digest

    # The module's rtws symbols resolve against the library loaded here (RTLD_GLOBAL).
    try:
        ctypes.CDLL(_library_path(), mode=ctypes.RTLD_GLOBAL)
    except OSError as e:
        raise ImportError(f"rtws: cannot load the library: {e}") from e
    path = os.environ.get("RTWS_EXTENSION")
    if path:
        if not os.path.exists(path):
            raise ImportError(f"rtws: RTWS_EXTENSION {path} does not exist")
        loader = importlib.machinery.ExtensionFileLoader(MODULE, path)
        spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    else:
        if importlib.util.find_spec(MODULE) is None:
            raise ImportError("rtws: the package has no compiled module (installed without "
                              "a working C compiler?)")
        from . import _rtws_cffi as module
    built_from = module.ffi.string(module.lib.rtwspy_header_digest()).decode()
    if built_from != digest(source):
        raise ImportError(f"rtws: the compiled module {module.__file__} was built from "
                          f"another rtws.h than {HEADER}: rebuild it")
    return module.ffi, module.lib


def _parsed():
    import cffi

    parsed = cffi.FFI()
    parsed.cdef(DECLARATIONS)
    return parsed, parsed.dlopen(_library_path())


HEADER = _header_path()
with open(HEADER, encoding="utf-8") as f:
    _source = f.read()
DECLARATIONS, CONSTANTS = preprocess(_source)
ENUMS = enums(DECLARATIONS)

_wanted = os.environ.get("RTWS_FFI", "")
if _wanted not in ("", "api", "abi"):
    raise ImportError(f"rtws: RTWS_FFI must be 'api' or 'abi', not {_wanted!r}")
FALLBACK_REASON = None  # why the default mode fell back to "abi"
if _wanted == "abi":
    ffi, lib = _parsed()
else:
    try:
        ffi, lib = _compiled(_source)
    except ImportError as e:
        if _wanted == "api":
            raise
        FALLBACK_REASON = str(e)
        if "another rtws.h" in FALLBACK_REASON:
            warnings.warn(FALLBACK_REASON + "; using cffi's ABI mode", RuntimeWarning)
        ffi, lib = _parsed()
MODE = "abi" if FALLBACK_REASON is not None or _wanted == "abi" else "api"
HELPERS = MODE == "api"  # the C helpers of _build.py (rtwspy_*) are there

# Every function the header declares (the helpers aside). Each is looked up once, now:
# ABI-mode cffi resolves a function on first use under a lock that is not reentrant, so a
# first use from a __del__ run by the garbage collector inside another cffi call would
# deadlock.
if MODE == "abi":
    FUNCTIONS = sorted(k.split(" ", 1)[1] for k in ffi._parser._declarations
                       if k.startswith("function "))
else:
    FUNCTIONS = sorted(name for name in dir(lib) if not name.startswith("rtwspy_")
                       and callable(getattr(lib, name)))
for _name in FUNCTIONS:
    getattr(lib, _name)
