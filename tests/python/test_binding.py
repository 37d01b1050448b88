"""The binding against the header: every function is reachable, the enums and constants
are the header's, and HRESULTs map to the documented WebErrorStatus and exception types."""
import hashlib
import os
import re
import subprocess
import sys

import pytest

import rtws
from rtws import _ffi


def test_every_header_function_is_bound():
    # Every function of the header, as cffi parsed it, resolves in the library.
    names = set(re.findall(r"^\w[\w\s\*]*?\b(\w+)\(", _ffi.DECLARATIONS, re.M))
    names -= {"void"}
    assert len(_ffi.FUNCTIONS) > 250
    assert set(_ffi.FUNCTIONS) >= {n for n in names if not n.endswith("Handler")}
    for name in _ffi.FUNCTIONS:
        assert callable(getattr(_ffi.lib, name)), name


def test_function_signatures_come_from_the_header():
    # cffi parsed the header itself (or compiled the module from it): its types are the
    # header's. (The compiled module spells `DataReader *` as `struct DataReader *`: one type.)
    ffi = _ffi.ffi
    t = ffi.typeof(_ffi.lib.DataReader_ReadString)
    assert list(t.args) == [ffi.typeof(c) for c in ("DataReader *", "uint32_t", "char *",
                                                    "uint32_t", "uint32_t *")]
    assert t.args[0].item.kind == "struct" and t.args[0].item.cname.endswith("DataReader")
    assert t.result is ffi.typeof("int32_t") is ffi.typeof("HRESULT")


def test_the_mode_asked_for():
    # ctest runs every module with RTWS_FFI=api (the compiled module) and with =abi.
    wanted = os.environ.get("RTWS_FFI")
    if wanted:
        assert _ffi.MODE == wanted
    assert _ffi.HELPERS == (_ffi.MODE == "api")
    if _ffi.MODE == "api":
        assert _ffi.FALLBACK_REASON is None
        # Its callbacks are the module's extern "Python" functions, not ffi.callback ones.
        assert rtws._native.ENQUEUED == _ffi.lib.rtwspy_py_DispatcherQueueHandler
        assert rtws._native.COMPLETED["IAsyncAction"] == \
            _ffi.lib.rtwspy_py_Completed_IAsyncAction
        assert _ffi.ffi.string(_ffi.lib.rtwspy_header_digest()).decode() == \
            hashlib.sha256(open(_ffi.HEADER, encoding="utf-8").read().encode()).hexdigest()
    else:
        assert not hasattr(_ffi.lib, "rtwspy_send")


def import_rtws(**env):
    return subprocess.run([sys.executable, "-W", "always", "-c",
                           "from rtws import _ffi; print(_ffi.MODE)"],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not os.environ.get("RTWS_EXTENSION"), reason="no compiled module to test")
def test_a_module_built_from_another_header_is_not_used(tmp_path):
    other = tmp_path / "rtws.h"
    other.write_text(open(_ffi.HEADER, encoding="utf-8").read() + "/* changed */\n")
    r = import_rtws(RTWS_FFI="api")
    assert r.returncode == 0 and r.stdout == "api\n", r.stderr
    r = import_rtws(RTWS_FFI="api", RTWS_HEADER=str(other))
    assert r.returncode != 0 and "built from another rtws.h" in r.stderr
    r = import_rtws(RTWS_FFI="", RTWS_HEADER=str(other))  # the default falls back, warning
    assert r.returncode == 0 and r.stdout == "abi\n"
    assert "RuntimeWarning" in r.stderr and "built from another rtws.h" in r.stderr
    r = import_rtws(RTWS_FFI="api", RTWS_EXTENSION=str(tmp_path / "absent.so"))
    assert r.returncode != 0 and "does not exist" in r.stderr


def test_enums_and_constants():
    assert rtws.WebErrorStatus.CANNOT_CONNECT == 14
    assert rtws.WebErrorStatus.HTTP_VERSION_NOT_SUPPORTED == 505
    assert rtws.SocketMessageType.UTF8 == 1 and rtws.SocketMessageType.BINARY == 0
    assert rtws.UnicodeEncoding.UTF16_LE == 1
    assert rtws.ChainValidationResult.INVALID_NAME == 7
    assert rtws.InputStreamOptions.PARTIAL == 1 and rtws.InputStreamOptions.READ_AHEAD == 2
    assert rtws.HRESULT["E_INVALIDARG"] == -2147024809  # 0x80070057 as a signed HRESULT
    assert rtws.HRESULT["RTWS_E_CANCELLED"] == 0x800704C7 - (1 << 32)
    assert rtws.version() == (0, 1, 0)


@pytest.mark.parametrize("hresult, status, cls", [
    (0x80072EFD, rtws.WebErrorStatus.CANNOT_CONNECT, rtws.CannotConnectError),
    (0x80072EE2, rtws.WebErrorStatus.TIMEOUT, rtws.WebSocketTimeoutError),
    (0x800704C7, rtws.WebErrorStatus.OPERATION_CANCELED, rtws.OperationCanceledError),
    (0x80072EFE, rtws.WebErrorStatus.CONNECTION_ABORTED, rtws.ConnectionLostError),
    (0x80190194, rtws.WebErrorStatus.NOT_FOUND, rtws.HandshakeError),
    (0x80070057, rtws.WebErrorStatus.UNKNOWN, rtws.InvalidArgumentError),
    (0x80072F05, rtws.WebErrorStatus.CERTIFICATE_EXPIRED, rtws.CertificateError),
    (0x83760002, rtws.WebErrorStatus.UNKNOWN, rtws.ProtocolError),
])
def test_get_status_and_exception_families(hresult, status, cls):
    assert rtws.WebSocketError.get_status(hresult) == status
    signed = hresult - (1 << 32)
    assert rtws.WebSocketError.get_status(signed) == status
    err = rtws.errors.error_for(signed, "m")
    assert type(err) is cls and err.hresult == signed and err.status == status
    assert isinstance(err, rtws.WebSocketError) and "m" in str(err)


def test_exception_families_are_builtin_families_too():
    assert issubclass(rtws.InvalidArgumentError, ValueError)
    assert issubclass(rtws.CannotConnectError, ConnectionRefusedError)
    assert issubclass(rtws.WebSocketTimeoutError, TimeoutError)
    assert issubclass(rtws.ConnectionLostError, ConnectionError)


def test_get_status_bad_input():
    with pytest.raises(TypeError):
        rtws.WebSocketError.get_status("0x80070057")
    with pytest.raises(ValueError):
        rtws.WebSocketError.get_status(1 << 40)
    assert rtws.WebSocketError.get_status(0) == rtws.WebErrorStatus.UNKNOWN


def test_last_error_message_is_the_librarys():
    with pytest.raises(rtws.InvalidArgumentError) as e:
        rtws.MessageWebSocket().connect_async("ws://[not-ip]/")
    assert e.value.message  # rtws's own explanation, not empty
