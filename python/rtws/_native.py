"""Plumbing shared by the UWP classes: owned handles, argument conversion, and the
callbacks rtws calls.

THE RULE: Python is never called from an rtws thread. Every socket is bound to a
DispatcherQueue before ConnectAsync, so its handlers and the Completed callbacks of its
operations run inside DispatcherQueue_RunPending, on the thread that pumps the queue. A
Completed callback is set only on an operation that is routed through a queue or already
finished (then it runs at once, on the calling thread). The log handler is never installed
(rtws calls it on its I/O threads). Each callback also counts calls that arrive on a thread
Python did not start (`foreign_calls`): the tests assert it stays 0.

Contexts handed to rtws are small integers naming an entry of `_entries`, never pointers to
Python objects: a callback whose entry is gone (its object closed or collected) is ignored.
"""
import datetime
import itertools
import logging
import threading

from ._ffi import CONSTANTS, HELPERS, ffi, lib
from .errors import IllegalStateError, check

log = logging.getLogger("rtws")
INFINITE = CONSTANTS["RTWS_INFINITE"]
foreign_calls = 0

_entries = {}
_tokens = itertools.count(1)
# Types of the per-callback and per-message conversions, parsed once (ffi.typeof), not at
# each call.
INTPTR = ffi.typeof("intptr_t")
BYTES = ffi.typeof("uint8_t[]")


def register(fn):
    """Stores `fn` for a callback; returns (token, context pointer)."""
    token = next(_tokens)
    _entries[token] = fn
    return token, ffi.cast("void *", token)


def unregister(token):
    _entries.pop(token, None)


def _dispatch(context, *args, once=False):
    """Runs the entry named by `context`; logs what it raises (a handler never unwinds
    into rtws)."""
    global foreign_calls
    if isinstance(threading.current_thread(), threading._DummyThread):
        foreign_calls += 1
    token = int(ffi.cast(INTPTR, context))
    fn = _entries.pop(token, None) if once else _entries.get(token)
    if fn is None:
        return
    try:
        fn(*args)
    except Exception:
        log.exception("rtws: a handler raised")


def _callback(ctype, fn):
    """A C function pointer of handler type `ctype` that calls `fn`: the compiled module's
    `extern "Python"` function for it (_build.CALLBACKS), or else (ABI mode) an
    `ffi.callback`. Either is made once here and never freed: it must outlive every call."""
    if HELPERS:
        ffi.def_extern(name=f"rtwspy_py_{ctype}")(fn)
        return getattr(lib, f"rtwspy_py_{ctype}")
    return ffi.callback(ctype, fn)


# One static callback per C signature.
COMPLETED = {
    kind: _callback(f"Completed_{kind}",
                    lambda ctx, op, status: _dispatch(ctx, int(status), once=True))
    for kind in ("IAsyncAction", "IAsyncOperationUInt32", "IAsyncOperationBoolean",
                 "IAsyncOperationIBuffer")
}
EVENT = {  # (context, sender, args): the sender is known to the entry already
    name: _callback(name, lambda ctx, sender, args: _dispatch(ctx, args))
    for name in ("MessageWebSocketMessageReceivedHandler", "MessageWebSocketClosedHandler",
                 "MessageWebSocketServerCustomValidationRequestedHandler",
                 "StreamWebSocketClosedHandler",
                 "StreamWebSocketServerCustomValidationRequestedHandler")
}
ENQUEUED = _callback("DispatcherQueueHandler", lambda ctx: _dispatch(ctx, once=True))


class Handle:
    """Owns one reference to an rtws object of C type `_kind`; `close()` (or garbage
    collection) releases it, after which every call raises IllegalStateError."""

    _kind = None

    def __init__(self, ptr, kind=None):
        if kind:
            self._kind = kind
        self._ptr = ptr

    @classmethod
    def _borrowed(cls, ptr, *args):
        """A wrapper with its own reference to a borrowed `ptr` (a handler's argument)."""
        getattr(lib, f"{cls._kind}_AddRef")(ptr)
        return cls(ptr, *args)

    @property
    def _p(self):
        if self._ptr is None:
            raise IllegalStateError(-2147483629,  # RO_E_CLOSED
                                    f"this {type(self).__name__} was closed")
        return self._ptr

    def _call(self, name, *args):
        return check(getattr(lib, f"{self._kind}_{name}")(self._p, *args))

    def _out(self, name, ctype, *args):
        out = ffi.new(f"{ctype} *")
        self._call(name, *args, out)
        return out[0]

    def _release(self):
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            getattr(lib, f"{self._kind}_Release")(ptr)

    close = _release

    def __del__(self):
        try:
            self._release()
        except Exception:  # interpreter shutdown: lib may already be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self._ptr is None else hex(int(ffi.cast("uintptr_t", self._ptr)))
        return f"<rtws.{type(self).__name__} {state}>"


class Closable(Handle):
    """A Handle whose `close()` is UWP's Close (IClosable) first, then the release."""

    def close(self):
        if self._ptr is not None:
            getattr(lib, f"{self._kind}_Close")(self._ptr)
        self._release()


def cstr(value, what="value"):
    """A Python str as a NUL-terminated UTF-8 argument."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    return value.encode("utf-8", "surrogatepass")


def text(ptr):
    """A UTF-8 C string owned by rtws, as str."""
    return ffi.string(ptr).decode("utf-8", "replace") if ptr != ffi.NULL else None


def as_bytes(data, what="data"):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}")


def _unsigned(value, what, bits):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{what} must be in 0..2**{bits}-1, not {value}")
    return value


def uint32(value, what):
    return _unsigned(value, what, 32)


def uint8(value, what):
    return _unsigned(value, what, 8)


def milliseconds(timeout):
    """A timeout in seconds (None or inf: forever) as the ms argument of the Wait functions."""
    if timeout is None or timeout == float("inf"):
        return INFINITE
    if not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"timeout must be a non-negative number of seconds, not {timeout!r}")
    return min(int(timeout * 1000), 86_400_000)


_TICKS = 10_000_000  # 100 ns units per second
_EPOCH_1601 = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


def to_timespan(value):
    """A timedelta (or seconds) as a TimeSpan."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"a duration must be a timedelta or seconds, not {type(value).__name__}")
    return {"Duration": round(value * _TICKS)}


def from_timespan(ts):
    return datetime.timedelta(microseconds=ts.Duration / 10)


def from_datetime(dt):
    return _EPOCH_1601 + datetime.timedelta(microseconds=dt.UniversalTime // 10)


def prop(name, ctype, conv=None, put=None, doc=None):
    """A property over get_<name> (and put_<name> when `put` converts the value)."""
    def get(self):
        value = self._out(f"get_{name}", ctype)
        return conv(value) if conv else value

    def set_(self, value):
        self._call(f"put_{name}", put(value))

    return property(get, set_ if put else None, doc=doc)


def int_in(enum_cls):
    """put conversion for an enum property: members or their ints; others raise."""
    def conv(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected {enum_cls.__name__}, not {type(value).__name__}")
        return int(value)
    return conv
