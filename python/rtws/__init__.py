"""rtws for Python: the Windows Runtime WebSocket client API (MessageWebSocket,
StreamWebSocket, DataWriter/DataReader, ...) over librtws's C ABI, and an asyncio layer in
the style of the `websockets` package (`rtws.connect`, `rtws.connect_stream`).

Handlers never run on rtws's threads: every socket is bound to a DispatcherQueue that the
host pumps (the asyncio layer watches its file descriptor with loop.add_reader).
"""
from ._ffi import CONSTANTS, lib
from .enums import (AsyncStatus, ByteOrder, ChainValidationResult, InputStreamOptions,
                    MessageWebSocketReceiveMode, SocketMessageType, SocketSslErrorSeverity,
                    UnicodeEncoding, WebErrorStatus)
from .errors import (CannotConnectError, CertificateError, ConnectionLostError,
                     HandshakeError, IllegalStateError, InvalidArgumentError,
                     OperationCanceledError, ProtocolError, WebSocketError,
                     WebSocketTimeoutError)
from .uwp import (AsyncOperation, BandwidthStatistics, Buffer, Certificate,
                  ChainValidationResultVector, DataReader, DataWriter, Deferral,
                  DispatcherQueue, InputStream, MessageWebSocket, MessageWebSocketControl,
                  MessageWebSocketInformation, MessageWebSocketMessageReceivedEventArgs,
                  OutputStream, PasswordCredential, PerMessageDeflateOptions, StreamWebSocket,
                  StreamWebSocketControl,
                  StreamWebSocketInformation, StringVector, WebSocketClosedEventArgs,
                  WebSocketServerCustomValidationRequestedEventArgs)

HRESULT = {k: v for k, v in CONSTANTS.items() if isinstance(v, int) and v < 0}


def version():
    """The running library's version as (major, minor, patch)."""
    v = lib.rtws_GetVersion()
    return v // 1_000_000, v // 1000 % 1000, v % 1000
from . import sync
from .aio import (Connection, ConnectionClosed, ConnectionClosedError, ConnectionClosedOK,
                  StreamConnection, connect, connect_stream)
