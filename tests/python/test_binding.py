"""The binding against the header: every function is reachable, the enums and constants
are the header's, and HRESULTs map to the documented WebErrorStatus and exception types."""
import re

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
    # cffi parsed the header itself: its types are the header's.
    t = _ffi.ffi.typeof(_ffi.lib.DataReader_ReadString)
    assert [a.cname for a in t.args] == ["DataReader *", "uint32_t", "char *", "uint32_t",
                                         "uint32_t *"]
    assert t.result.cname == "int32_t"


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
