"""The asyncio layer, in the style of the `websockets` package:

    async with rtws.connect("ws://127.0.0.1:8080/echo") as ws:
        await ws.send("Hello")
        print(await ws.recv())
        async for message in ws: ...

and `rtws.connect_stream(uri)` for a StreamWebSocket (`read`, `write`, `drain`, `close`).

Each connection's socket is bound to its own DispatcherQueue, whose file descriptor the loop
watches (`loop.add_reader`): rtws's threads only make it readable, and every handler and
Completed callback runs in `DispatcherQueue.run_pending`, on the loop's thread.

With the compiled module (`_ffi.HELPERS`), a connection's MessageReceived handler is C
(`_build.py`): it keeps the messages of a run of the queue in an inbox, which the
connection takes with one call after the run (and in its Closed handler, so Closed still
comes after the last message); a send is one C call. In ABI mode the same happens through
a Python callback per message.
"""
import asyncio
import collections
import logging
import weakref

from . import _native as N
from ._ffi import HELPERS, ffi, lib
from .enums import AsyncStatus, InputStreamOptions, SocketMessageType
from .errors import WebSocketError, check, error_for
from .uwp import AsyncOperation, Buffer, MessageWebSocket, PerMessageDeflateOptions, StreamWebSocket

__all__ = ["connect", "connect_stream", "Connection", "StreamConnection",
           "ConnectionClosed", "ConnectionClosedOK", "ConnectionClosedError"]

# Sends not yet taken by the socket, per connection, before send()/write() waits for them.
HIGH_WATER = 1 << 20
# A send gets a Completed callback once this many bytes or sends went unconfirmed.
CHECKPOINT_BYTES = 64 << 10
CHECKPOINT_COUNT = 64
CLOSE_TIMEOUT = 10.0
# The compiled module's inbox (see _build.py) is drained into a buffer of this many bytes,
# at most TAKE_COUNT messages a call; a bigger message gets a buffer of its own.
TAKE_BYTES = 64 << 10
TAKE_COUNT = 256
_SEND_MESSAGE, _SEND_STREAM = 0, 1  # rtwspy_send's kinds
_FAILED, _UNREADABLE = -1, -2  # rtwspy_inbox_take's kinds besides SocketMessageType
_BINARY, _UTF8 = int(SocketMessageType.BINARY), int(SocketMessageType.UTF8)
log = logging.getLogger("rtws")
_uncleared = ffi.new_allocator(should_clear_after_alloc=False)


class ConnectionClosed(Exception):
    """The connection is closed: `code` and `reason` of the Closed event (None: unknown)."""

    def __init__(self, code, reason):
        self.code, self.reason = code, reason
        super().__init__(f"connection closed: code {code}, reason {reason!r}")


class ConnectionClosedOK(ConnectionClosed):
    """Closed normally (1000, 1001, or 1005: a close frame without a code)."""


class ConnectionClosedError(ConnectionClosed):
    """Closed abnormally (1006 lost, 1007 bad UTF-8, 1009 too big, 1002, ...): the failure
    rtws reported, if any, is the `__cause__`."""


def _closed(code, reason, cause=None):
    cls = ConnectionClosedOK if code in (1000, 1001, 1005) else ConnectionClosedError
    exc = cls(code, reason)
    exc.__cause__ = cause
    return exc


def _future_of(op, loop):
    """A future that the operation's Completed callback (run by the queue, on the loop's
    thread) settles with its result or failure. Cancelling the future cancels the op."""
    fut = loop.create_future()

    def completed(op, status):
        if fut.done():
            return
        if status == AsyncStatus.COMPLETED:
            fut.set_result(op.get_results())
        else:
            fut.set_exception(error_for(op.error_code))
        op.close()

    op.completed = completed
    return fut


async def _await_op(op, loop):
    fut = _future_of(op, loop)
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        if not fut.done():
            op.cancel()  # its Completed callback (queued) closes the op
        # Nobody awaits the future now: its failure (the cancel) is expected.
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        raise


class _Base:
    """A UWP socket, its queue watched by the loop, its Closed event, and flow control of
    the sends queued in rtws (at most HIGH_WATER bytes before a send waits)."""

    def __init__(self, socket, loop):
        self._socket = socket
        self._loop = loop
        self._queue = socket.dispatcher_queue
        self._fd = self._queue.file_descriptor
        self._reading = False
        self._me = weakref.ref(self)  # the loop's reader must not keep the connection alive
        self._watch(True)
        self.close_code = self.close_reason = None
        self._closed = loop.create_future()
        self._failure = None  # the WebSocketError rtws reported for the connection
        self._output = socket.output_stream
        self._pending_bytes = 0  # sent, not confirmed by a checkpoint's Completed
        self._unconfirmed = self._unconfirmed_count = 0  # sent since the last checkpoint
        self._drained = None
        self._send_error = None
        # Out-parameters of the per-message calls, allocated once.
        self._buffer_out = ffi.new("IBuffer **")
        self._op_out = ffi.new("IAsyncOperationUInt32 **")
        self._ran_out = ffi.new("uint32_t *")
        socket.add_closed(self._on_closed)
        # Garbage collection of an unclosed connection still stops watching the fd.
        self._finalizer = weakref.finalize(self, _unwatch, loop, self._fd)

    def _watch(self, on):
        if on != self._reading:
            if on:
                self._loop.add_reader(self._fd, _run, self._me)
            else:
                self._loop.remove_reader(self._fd)
            self._reading = on

    def _batch(self):
        return 500

    def _run(self):
        try:
            check(lib.DispatcherQueue_RunPending(self._queue._p, self._batch(), N.INFINITE,
                                                 self._ran_out))
        except WebSocketError:  # the queue is closed: nothing left to run
            self._watch(False)
        self._ran()

    def _ran(self):
        """After each run of the queue (the Connection drains its inbox)."""

    def _on_closed(self, sender, args):
        self.close_code, self.close_reason = args.code, args.reason
        if not self._closed.done():
            self._closed.set_result(None)
        self._wake()

    def _wake(self):
        pass

    def _closed_exception(self):
        return _closed(self.close_code, self.close_reason, self._failure)

    def _check_open(self):
        if self._closed.done() or self._socket._ptr is None:
            raise self._closed_exception()
        if self._send_error is not None:
            raise self._send_error

    def _send(self, kind, handle, data):
        """Queues `data` on `handle`: a MessageWebSocket's SendFinalFrameAsync (kind
        _SEND_MESSAGE) or an IOutputStream's WriteAsync (_SEND_STREAM). Returns True when
        over HIGH_WATER bytes are queued in rtws: the caller then awaits _wait_sends (no
        coroutine per send otherwise).

        Per-message cost matters here, so the C functions are called directly (with the
        compiled module, one call: rtwspy_send), and only every CHECKPOINT_BYTES /
        CHECKPOINT_COUNT-th send gets a Completed callback: a socket's sends complete in
        order, so that one confirms the sends before it too. A failed checkpoint is raised
        by the next send or drain."""
        length = len(data)
        unconfirmed = self._unconfirmed + length
        count = self._unconfirmed_count + 1
        checkpoint = unconfirmed >= CHECKPOINT_BYTES or count >= CHECKPOINT_COUNT
        if HELPERS:
            # bytes go as they are (cffi passes their buffer); other bytes-likes through
            # from_buffer.
            check(lib.rtwspy_send(kind, handle,
                                  data if type(data) is bytes else ffi.from_buffer(data),
                                  length, self._op_out if checkpoint else ffi.NULL))
        else:
            check(lib.Buffer_CreateFromBytes(ffi.from_buffer(data), length, self._buffer_out))
            buffer = self._buffer_out[0]
            send = (lib.MessageWebSocket_SendFinalFrameAsync if kind == _SEND_MESSAGE
                    else lib.IOutputStream_WriteAsync)
            try:
                check(send(handle, buffer, self._op_out))
            finally:
                lib.IBuffer_Release(buffer)
            if not checkpoint:
                lib.IAsyncOperationUInt32_Release(self._op_out[0])  # the send goes on
        self._pending_bytes += length
        if checkpoint:
            self._unconfirmed = self._unconfirmed_count = 0
            AsyncOperation(self._op_out[0], "IAsyncOperationUInt32", True).completed = (
                lambda op, status: self._confirmed(op, status, unconfirmed))
        else:
            self._unconfirmed, self._unconfirmed_count = unconfirmed, count
        return self._pending_bytes > HIGH_WATER

    def _confirmed(self, op, status, length):
        self._pending_bytes -= length
        if status != AsyncStatus.COMPLETED and self._send_error is None:
            self._send_error = error_for(op.error_code)
        op.close()
        if self._drained is not None and (self._pending_bytes <= HIGH_WATER // 2
                                          or self._send_error):
            self._drained.set_result(None)
            self._drained = None

    async def _wait_sends(self, level):
        while self._pending_bytes > level and self._send_error is None \
                and not self._closed.done():
            if self._drained is None:
                self._drained = self._loop.create_future()
            await asyncio.wait([self._drained, self._closed],
                               return_when=asyncio.FIRST_COMPLETED)
        if self._send_error is not None:
            raise self._send_error

    async def drain(self):
        """Waits until everything sent so far went out (FlushAsync); raises a failed send."""
        self._check_open()
        await _await_op(self._output.flush_async(), self._loop)
        if self._send_error is not None:
            raise self._send_error

    async def close(self, code=1000, reason=""):
        """Closes with `code` and `reason`, waits (CLOSE_TIMEOUT s) for the Closed event,
        then releases the socket."""
        if self._socket._ptr is not None and not self._closed.done():
            self._socket.close(code, reason)
            self._watch(True)  # a paused reader must still see the Closed event
            try:
                await asyncio.wait_for(asyncio.shield(self._closed), CLOSE_TIMEOUT)
            except asyncio.TimeoutError:
                pass
        self._release()

    async def wait_closed(self):
        await asyncio.shield(self._closed)

    def _release(self):
        self._socket.dispose()
        if not self._loop.is_closed():
            self._watch(False)
        self._finalizer.detach()
        self._queue.close()

    @property
    def socket(self):
        """The UWP socket underneath (its `control`, `information`, handlers): it runs on
        this connection's loop, so its handlers do too."""
        return self._socket

    @property
    def closed(self):
        return self._closed.done() or self._socket._ptr is None

    @property
    def subprotocol(self):
        return self._socket.information.protocol or None

    @property
    def local_address(self):
        return self._socket.information.local_address

    @property
    def per_message_deflate(self):
        """What permessage-deflate the connect agreed (`.enabled` False: none)."""
        return self._socket.information.per_message_deflate

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


def _run(ref):
    conn = ref()
    if conn is not None:
        conn._run()


def _unwatch(loop, fd):
    if not loop.is_closed():
        loop.remove_reader(fd)


class Connection(_Base):
    """A MessageWebSocket connection: `send(str | bytes)`, `recv()`, `async for`."""

    def __init__(self, socket, loop, max_queue):
        super().__init__(socket, loop)
        self._messages = collections.deque()
        self._max_queue = max_queue
        self._waiter = None
        self._type = socket.control.message_type
        if HELPERS:
            # MessageReceived is handled in C (rtwspy_on_message): each run of the queue
            # leaves its messages in the inbox, and _ran() takes them all with one call.
            inbox = lib.rtwspy_inbox_new()
            if inbox == ffi.NULL:
                raise MemoryError("rtws: no memory for the inbox")
            self._inbox_release = weakref.finalize(self, lib.rtwspy_inbox_release, inbox)
            check(lib.rtwspy_inbox_subscribe(inbox, socket._p,
                                             ffi.new("EventRegistrationToken *")))
            self._inbox = inbox
            self._meta = ffi.new("int64_t[]", 3 * TAKE_COUNT)
            self._meta_view = memoryview(ffi.buffer(self._meta)).cast("q")
            self._take_buffer = ffi.new("uint8_t[]", TAKE_BYTES)
            self._take_view = ffi.buffer(self._take_buffer)
            self._needed = ffi.new("uint32_t *")
        else:
            # cffi's ABI mode: a Python callback per message (_on_message).
            self._inbox = None
            self._reader_out = ffi.new("DataReader **")
            self._u32_out = ffi.new("uint32_t *")
            self._type_out = ffi.new("SocketMessageType *")
            me = self._me
            socket._subscribe("MessageReceived", lambda args: me() and me()._on_message(args))

    def _batch(self):
        # No more events than the messages that still fit under max_queue.
        return max(1, self._max_queue - len(self._messages))

    def _release(self):
        super()._release()  # the socket is gone: nothing more reaches the inbox
        if self._inbox is not None:
            self._inbox = None
            self._inbox_release()

    def _ran(self):
        if self._inbox is not None and self._take():
            if len(self._messages) >= self._max_queue:
                self._watch(False)  # as in _on_message
            self._wake()

    def _on_closed(self, sender, args):
        # The messages before Closed are the connection's, before it reads as closed.
        self._ran()
        super()._on_closed(sender, args)

    def _take(self):
        """Moves the inbox's messages, in order, to self._messages (a failure to
        self._failure); returns whether there were any."""
        inbox, took = self._inbox, False
        buffer, capacity, view = self._take_buffer, TAKE_BYTES, self._take_view
        while True:  # bounded: the inbox only grows while the queue runs
            n = lib.rtwspy_inbox_take(inbox, buffer, capacity, self._meta, TAKE_COUNT,
                                      self._needed)
            if n == 0:
                if not self._needed[0]:
                    return took
                capacity = self._needed[0]  # one message bigger than TAKE_BYTES
                buffer = _uncleared("uint8_t[]", capacity)  # take fills it
                view = ffi.buffer(buffer)
                continue
            took = True
            meta = self._meta_view[:3 * n].tolist()
            append, start = self._messages.append, 0
            for i in range(0, 3 * n, 3):
                end = start + meta[i]
                kind = meta[i + 1]
                if kind == _BINARY:
                    append(view[start:end])
                elif kind == _UTF8:
                    append(view[start:end].decode("utf-8"))
                elif kind == _FAILED:  # the connection failed; Closed follows
                    self._failure = error_for(meta[i + 2],
                                              view[start:end].decode("utf-8", "replace"))
                else:  # as a handler that raised: logged, the message is lost
                    log.error("rtws: a received message could not be read: %s",
                              error_for(meta[i + 2], view[start:end].decode("utf-8", "replace")
                                        if end > start else None))
                start = end
            buffer, capacity, view = self._take_buffer, TAKE_BYTES, self._take_view

    def _on_message(self, args):
        """MessageReceived, with the borrowed C pointer (per message: no wrappers): the
        ABI mode's path."""
        hr = lib.MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, self._reader_out)
        if hr < 0:  # the connection failed; Closed follows
            self._failure = error_for(hr)
            return
        reader = self._reader_out[0]
        try:
            check(lib.DataReader_get_UnconsumedBufferLength(reader, self._u32_out))
            size = self._u32_out[0]
            data = ffi.new(N.BYTES, size) if size else ffi.NULL
            check(lib.DataReader_ReadBytes(reader, size, data))
            check(lib.MessageWebSocketMessageReceivedEventArgs_get_MessageType(args,
                                                                                self._type_out))
        finally:
            lib.DataReader_Release(reader)
        data = ffi.buffer(data, size)[:] if size else b""
        self._messages.append(data.decode("utf-8") if self._type_out[0] == SocketMessageType.UTF8
                              else data)
        if len(self._messages) >= self._max_queue:
            # Stop running the queue: rtws then holds the socket back after its own backlog
            # (1,000 events / 1 MiB), and TCP holds the server back.
            self._watch(False)
        self._wake()

    def _wake(self):
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def recv(self):
        """The next message: str (text) or bytes (binary). Raises ConnectionClosedOK or
        ConnectionClosedError once the connection closed and its messages were read."""
        while not self._messages:
            if self._closed.done() or self._socket._ptr is None:
                raise self._closed_exception()
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._messages.popleft()
        if not self._reading and len(self._messages) < self._max_queue // 2 and \
                self._socket._ptr is not None:
            self._watch(True)
        return message

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    async def send(self, message):
        """Sends one message: str as text, bytes-like as binary. Returns once rtws queued
        it (waiting while over HIGH_WATER bytes are queued); use drain() to wait for all."""
        if isinstance(message, str):
            kind, data = SocketMessageType.UTF8, message.encode("utf-8")
        elif isinstance(message, (bytes, bytearray, memoryview)):
            kind, data = SocketMessageType.BINARY, message
        else:
            raise TypeError(f"message must be str or bytes-like, not {type(message).__name__}")
        self._check_open()
        if kind != self._type:
            self._socket.control.message_type = kind
            self._type = kind
        if self._send(_SEND_MESSAGE, self._socket._p, data):
            await self._wait_sends(HIGH_WATER // 2)


class StreamConnection(_Base):
    """A StreamWebSocket connection: `read(n)`, `write(data)`, `drain()`, `close()`."""

    def __init__(self, socket, loop):
        super().__init__(socket, loop)
        self._input = socket.input_stream

    async def read(self, n=65536):
        """Up to `n` bytes (at least 1), b"" at the end of the stream. Cancelling the read
        (asyncio.wait_for) cancels the rtws ReadAsync."""
        N.uint32(n, "n")
        if self._socket._ptr is None:  # closed here (after a peer's close, data still reads)
            raise self._closed_exception()
        if n == 0:
            return b""
        buffer = Buffer(n)
        try:
            op = self._input.read_async(buffer, n, InputStreamOptions.PARTIAL)
            result = await _await_op(op, self._loop)
            with result:
                return result.to_bytes()
        finally:
            buffer.close()

    async def readexactly(self, n):
        parts, got = [], 0
        while got < n:
            part = await self.read(min(n - got, 1 << 20))
            if not part:
                raise asyncio.IncompleteReadError(b"".join(parts), n)
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    async def write(self, data):
        """Queues `data` (bytes-like) on the stream; waits while over HIGH_WATER bytes are
        queued in rtws."""
        data = N.as_bytes(data)
        self._check_open()
        if self._send(_SEND_STREAM, self._output._p, data):
            await self._wait_sends(HIGH_WATER // 2)


class _Connect:
    """`await connect(...)` or `async with connect(...) as ws`."""

    def __init__(self, socket_cls, make, uri, options):
        self._socket_cls, self._make, self._uri, self._options = socket_cls, make, uri, options
        self._conn = None

    def __await__(self):
        return self._open().__await__()

    async def _open(self):
        loop = asyncio.get_running_loop()
        socket = self._socket_cls()
        try:
            _configure(socket, **self._options)
            conn = self._make(socket, loop)
        except BaseException:
            socket.dispose()
            raise
        try:
            await _await_op(socket.connect_async(self._uri), loop)
        except BaseException:
            conn._release()
            raise
        return conn

    async def __aenter__(self):
        self._conn = await self._open()
        return self._conn

    async def __aexit__(self, *exc):
        await self._conn.close()


def _configure(socket, subprotocols=None, headers=None, ssl_roots=None, open_timeout=None,
               client_certificate=None, ignorable_server_certificate_errors=(),
               max_size=None, proxy=None, proxy_credential=None, server_credential=None,
               compression=None):
    control = socket.control
    if compression == "deflate":
        control.per_message_deflate = PerMessageDeflateOptions()
    elif isinstance(compression, PerMessageDeflateOptions):
        control.per_message_deflate = compression
    elif compression is not None:
        raise ValueError("compression must be None, \"deflate\" or rtws.PerMessageDeflateOptions")
    if isinstance(subprotocols, str):
        raise TypeError("subprotocols must be a list of str, not a str")
    for protocol in subprotocols or ():
        control.supported_protocols.append(protocol)
    for name, value in (headers.items() if isinstance(headers, dict) else headers or ()):
        socket.set_request_header(name, value)
    if ssl_roots is not None:
        control.trusted_root_certificates = ssl_roots
    if open_timeout is not None:
        control.connect_timeout = open_timeout
    if client_certificate is not None:
        control.client_certificate = client_certificate
    for error in ignorable_server_certificate_errors:
        control.ignorable_server_certificate_errors.append(error)
    if max_size is not None:
        control.max_message_size = max_size
    if proxy is not None:
        control.proxy_uri = proxy
    if proxy_credential is not None:
        control.proxy_credential = proxy_credential
    if server_credential is not None:
        control.server_credential = server_credential


def connect(uri, *, max_queue=1024, **options):
    """Opens a MessageWebSocket connection. Options: subprotocols (list of str), headers
    (dict or pairs), ssl_roots (PEM text of the roots to trust), open_timeout (seconds),
    client_certificate (rtws.Certificate), ignorable_server_certificate_errors
    (ChainValidationResults), max_size (bytes; a larger message closes with 1009), proxy
    (URI), proxy_credential, server_credential (rtws.PasswordCredential), compression
    ("deflate" or an rtws.PerMessageDeflateOptions: offer permessage-deflate; None, the
    default: not); max_queue: the received messages held before the socket stops reading."""
    if not isinstance(max_queue, int) or max_queue < 1:
        raise ValueError("max_queue must be a positive int")
    return _Connect(MessageWebSocket, lambda s, loop: Connection(s, loop, max_queue), uri,
                    options)


def connect_stream(uri, **options):
    """Opens a StreamWebSocket connection; the options of connect() but max_size."""
    return _Connect(StreamWebSocket, StreamConnection, uri, options)
