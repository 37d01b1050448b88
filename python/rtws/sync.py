"""A blocking layer for scripts, on the UWP MessageWebSocket:

    with rtws.sync.connect("ws://127.0.0.1:8080/echo", timeout=5) as ws:
        ws.send("Hello")
        print(ws.recv(timeout=5))

Every call takes a timeout (seconds; None: no limit) and raises TimeoutError
(rtws.WebSocketTimeoutError) when it runs out. The socket's handlers run on the calling
thread, while a call pumps the socket's DispatcherQueue; use a connection from one thread.
"""
import collections

from ._ffi import CONSTANTS
from .aio import ConnectionClosedOK, _closed, _configure
from .enums import SocketMessageType
from .errors import WebSocketError, WebSocketTimeoutError
from .uwp import MessageWebSocket

__all__ = ["connect", "Connection"]


class Connection:
    def __init__(self, uri, timeout=10.0, **options):
        self._ws = MessageWebSocket()
        self._messages = collections.deque()
        self.close_code = self.close_reason = None
        self._failure = None
        try:
            _configure(self._ws, **options)
            self._ws.add_message_received(self._on_message)
            self._ws.add_closed(self._on_closed)
            op = self._ws.connect_async(uri)
            connected = []
            op.completed = lambda op, status: connected.append(status)
            if not self._ws.dispatcher_queue.run_until(lambda: connected, _forever(timeout)):
                op.cancel()
                raise WebSocketTimeoutError(CONSTANTS["RTWS_E_TIMEOUT"],
                                            f"connect took over {timeout} s")
            op.get_results()  # raises the connect's failure
        except BaseException:
            self._ws.dispose()
            raise
        self._type = SocketMessageType.BINARY

    def _on_message(self, sender, args):
        try:
            with args.get_data_reader() as reader:
                data = reader.read_bytes()
        except WebSocketError as e:
            self._failure = e
            return
        self._messages.append(data.decode("utf-8")
                              if args.message_type == SocketMessageType.UTF8 else data)

    def _on_closed(self, sender, args):
        self.close_code, self.close_reason = args.code, args.reason

    def _pump(self, predicate, timeout, what):
        if self._ws._ptr is not None and \
                not self._ws.dispatcher_queue.run_until(predicate, _forever(timeout)):
            raise WebSocketTimeoutError(CONSTANTS["RTWS_E_TIMEOUT"],
                                        f"{what} took over {timeout} s")

    def recv(self, timeout=None):
        """The next message, str (text) or bytes (binary); ConnectionClosedOK/Error once the
        connection closed and its messages were read."""
        self._pump(lambda: self._messages or self.close_code is not None, timeout, "recv")
        if self._messages:
            return self._messages.popleft()
        raise _closed(self.close_code, self.close_reason, self._failure)

    def __iter__(self):
        """The messages until a normal close (an abnormal one raises)."""
        while True:
            try:
                yield self.recv()
            except ConnectionClosedOK:
                return

    def send(self, message, timeout=None):
        """Sends one message (str: text, bytes-like: binary) and waits until it went out."""
        if isinstance(message, str):
            kind, data = SocketMessageType.UTF8, message.encode("utf-8")
        elif isinstance(message, (bytes, bytearray, memoryview)):
            kind, data = SocketMessageType.BINARY, message
        else:
            raise TypeError(f"message must be str or bytes-like, not {type(message).__name__}")
        if self.close_code is not None:
            raise _closed(self.close_code, self.close_reason, self._failure)
        if kind != self._type:
            self._ws.control.message_type = self._type = kind
        self._ws.send_final_frame_async(data).wait(timeout)

    def close(self, code=1000, reason="", timeout=10.0):
        """Closes with `code` and `reason` and waits (at most `timeout` s) for the Closed
        event; the socket is released either way."""
        try:
            if self._ws._ptr is not None and self.close_code is None:
                self._ws.close(code, reason)
                self._pump(lambda: self.close_code is not None, timeout, "close")
        finally:
            self._ws.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _forever(timeout):
    return float("inf") if timeout is None else timeout


def connect(uri, timeout=10.0, **options):
    """Opens a connection, waiting at most `timeout` s; the options of rtws.connect()."""
    return Connection(uri, timeout, **options)
