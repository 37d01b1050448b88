"""HRESULTs as exceptions: `WebSocketError(hresult, status, message)` and its families."""
from ._ffi import CONSTANTS as C, lib, ffi
from .enums import WebErrorStatus


class WebSocketError(Exception):
    """A failed rtws call or operation: `hresult` (signed 32-bit, as rtws returns it),
    `status` (the `WebErrorStatus` it stands for) and rtws's own message."""

    def __init__(self, hresult, message=""):
        self.hresult = hresult
        self.status = WebSocketError.get_status(hresult)
        self.message = message
        super().__init__(f"HRESULT 0x{hresult & 0xFFFFFFFF:08X} ({self.status.name}): {message}")

    @staticmethod
    def get_status(hresult):
        """`WebSocketError.GetStatus`: the WebErrorStatus an HRESULT stands for."""
        if not isinstance(hresult, int):
            raise TypeError(f"hresult must be an int, not {type(hresult).__name__}")
        if hresult >= 1 << 31:  # accept the unsigned spelling, 0x80070057
            hresult -= 1 << 32
        if not -(1 << 31) <= hresult < 1 << 31:
            raise ValueError(f"hresult {hresult} is not a 32-bit value")
        return WebErrorStatus(lib.WebSocketError_GetStatus(hresult))


class InvalidArgumentError(WebSocketError, ValueError):
    """E_INVALIDARG, E_BOUNDS, RTWS_E_NO_UNICODE_TRANSLATION: the call's input was refused."""


class IllegalStateError(WebSocketError, RuntimeError):
    """The object is closed or not in a state for the call (E_ILLEGAL_METHOD_CALL, RO_E_CLOSED, ...)."""


class CannotConnectError(WebSocketError, ConnectionRefusedError):
    """Nothing accepted the connection (refused, unreachable, name not resolved)."""


class WebSocketTimeoutError(WebSocketError, TimeoutError):
    """A connect, send or receive timeout (WININET_E_TIMEOUT), or a Wait that ran out."""


class OperationCanceledError(WebSocketError):
    """The operation was canceled (Cancel) or aborted by a local Close."""


class ConnectionLostError(WebSocketError, ConnectionError):
    """An established connection failed: reset, aborted, disconnected."""


class CertificateError(WebSocketError):
    """The server's certificate was refused."""


class ProtocolError(WebSocketError):
    """The peer broke the WebSocket protocol, or a message was over MaxMessageSize."""


class HandshakeError(WebSocketError):
    """The server answered the upgrade with an HTTP status, or garbage."""


_S = WebErrorStatus
_BY_STATUS = {
    _S.CANNOT_CONNECT: CannotConnectError, _S.SERVER_UNREACHABLE: CannotConnectError,
    _S.HOST_NAME_NOT_RESOLVED: CannotConnectError,
    _S.TIMEOUT: WebSocketTimeoutError,
    _S.OPERATION_CANCELED: OperationCanceledError,
    _S.CONNECTION_ABORTED: ConnectionLostError, _S.CONNECTION_RESET: ConnectionLostError,
    _S.DISCONNECTED: ConnectionLostError,
    _S.CERTIFICATE_COMMON_NAME_IS_INCORRECT: CertificateError,
    _S.CERTIFICATE_EXPIRED: CertificateError, _S.CERTIFICATE_CONTAINS_ERRORS: CertificateError,
    _S.CERTIFICATE_REVOKED: CertificateError, _S.CERTIFICATE_IS_INVALID: CertificateError,
    _S.ERROR_HTTP_INVALID_SERVER_RESPONSE: HandshakeError,
}
_BY_HRESULT = {
    C["E_INVALIDARG"]: InvalidArgumentError, C["E_BOUNDS"]: InvalidArgumentError,
    C["E_POINTER"]: InvalidArgumentError,
    C["RTWS_E_NO_UNICODE_TRANSLATION"]: InvalidArgumentError,
    C["E_ILLEGAL_METHOD_CALL"]: IllegalStateError, C["RO_E_CLOSED"]: IllegalStateError,
    C["E_ILLEGAL_STATE_CHANGE"]: IllegalStateError, C["E_NOT_VALID_STATE"]: IllegalStateError,
    C["E_ILLEGAL_DELEGATE_ASSIGNMENT"]: IllegalStateError,
    C["RTWS_E_INVALID_OPERATION"]: IllegalStateError,
    C["RTWS_E_TIMEOUT"]: WebSocketTimeoutError,
    C["RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE"]: ProtocolError,
    C["E_INVALID_PROTOCOL_FORMAT"]: ProtocolError, C["E_INVALID_PROTOCOL_OPERATION"]: ProtocolError,
}


def error_for(hresult, message=None):
    """The exception for a failure HRESULT; `message` defaults to rtws's last error message
    (of this thread: call right after the failing call)."""
    if message is None:
        message = ffi.string(lib.rtws_GetLastErrorMessage()).decode("utf-8", "replace")
    status = WebSocketError.get_status(hresult)
    if hresult in _BY_HRESULT:
        cls = _BY_HRESULT[hresult]
    elif status in _BY_STATUS:
        cls = _BY_STATUS[status]
    elif 400 <= status <= 505 or 300 <= status <= 307 or hresult >> 16 == -0x7FE7:
        cls = HandshakeError  # HTTP_E_STATUS_*: the upgrade was answered with a status
    else:
        cls = WebSocketError
    return cls(hresult, message)


def check(hresult):
    """Raises the exception for a failure HRESULT; returns success codes unchanged."""
    if hresult < 0:
        raise error_for(hresult)
    return hresult
