"""The header's enums as IntEnums, named as PyWinRT projects WinRT enums:
`WebErrorStatus_CannotConnect` is `WebErrorStatus.CANNOT_CONNECT`, `SocketMessageType_Utf8`
is `SocketMessageType.UTF8`. Generated from rtws.h at import, so none can drift from it."""
import enum
import re

from ._ffi import CONSTANTS, ENUMS


def _upper_snake(name):
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return name.upper()


def _make(name):
    return enum.IntEnum(name, [(_upper_snake(k[len(name) + 1:]), v) for k, v in ENUMS[name]],
                        module=__name__)


AsyncStatus = _make("AsyncStatus")
SocketSslErrorSeverity = _make("SocketSslErrorSeverity")
WebErrorStatus = _make("WebErrorStatus")
SocketMessageType = _make("SocketMessageType")
MessageWebSocketReceiveMode = _make("MessageWebSocketReceiveMode")
UnicodeEncoding = _make("UnicodeEncoding")
ByteOrder = _make("ByteOrder")
ChainValidationResult = _make("ChainValidationResult")
# InputStreamOptions are #define flags in the header, not an enum.
InputStreamOptions = enum.IntFlag("InputStreamOptions", [
    (_upper_snake(k[len("InputStreamOptions_"):]), v) for k, v in CONSTANTS.items()
    if k.startswith("InputStreamOptions_")], module=__name__)
