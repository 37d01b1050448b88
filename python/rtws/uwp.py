"""The UWP surface (Windows.Networking.Sockets and friends), named as PyWinRT projects it:
classes keep their UWP names, members are snake_case (`ws.control.message_type`,
`connect_async`), properties are Python properties, events are `add_<event>(handler)`
returning a token and `remove_<event>(token)`, enums are IntEnums with UPPER_SNAKE members.
Failures raise `WebSocketError` subclasses instead of returning HRESULTs.

Every socket runs its handlers and Completed callbacks on a DispatcherQueue: its own by
default (`ws.dispatcher_queue`), or one passed to the constructor. Nothing runs until the
host pumps it: `queue.run_pending()`, `queue.run_until(predicate, timeout)`, or an event loop
watching `queue.file_descriptor` (the asyncio layer does that). Operations also block:
`op.wait(timeout)` returns the result or raises.
"""
import collections.abc
import time
import weakref

from . import _native as N
from ._ffi import ffi, lib
from .enums import (AsyncStatus, ByteOrder, ChainValidationResult, InputStreamOptions,
                    MessageWebSocketReceiveMode, SocketMessageType, SocketSslErrorSeverity,
                    UnicodeEncoding)
from .errors import IllegalStateError, check


class DispatcherQueue(N.Handle):
    """Where the handlers of the sockets bound to it run: on the thread that calls
    `run_pending`. Closing it (the last handle) drops the work still queued."""

    _kind = "DispatcherQueue"

    def __init__(self):
        out = ffi.new("DispatcherQueue **")
        check(lib.DispatcherQueue_Create(out))
        super().__init__(out[0])

    file_descriptor = N.prop("FileDescriptor", "int32_t",
                             doc="Readable while work is pending (level-triggered).")
    has_thread_access = N.prop("HasThreadAccess", "bool")

    def run_pending(self, max_count=1000, max_ms=N.INFINITE):
        """Runs queued work here; returns how many items ran."""
        return self._out("RunPending", "uint32_t", N.uint32(max_count, "max_count"),
                         N.uint32(max_ms, "max_ms"))

    def wait(self, timeout=None):
        """Blocks until work is pending or `timeout` s pass; True when work is pending."""
        return bool(self._out("Wait", "bool", N.milliseconds(timeout)))

    def run_until(self, predicate, timeout):
        """Runs the queue until `predicate()` is true (True) or `timeout` s pass (False)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.wait(remaining):
                self.run_pending()
        return True

    def try_enqueue(self, callback):
        """Posts `callback()` to run on the queue's thread; False once the queue stopped."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        token, ctx = N.register(callback)
        ok = self._out("TryEnqueue", "bool", N.ENQUEUED, ctx)
        if not ok:
            N.unregister(token)
        return bool(ok)


class Buffer(N.Handle):
    """`Windows.Storage.Streams.Buffer`: bytes with a capacity and a length."""

    _kind = "IBuffer"

    def __init__(self, capacity=0, *, _ptr=None):
        if _ptr is None:
            out = ffi.new("IBuffer **")
            check(lib.Buffer_Create(N.uint32(capacity, "capacity"), out))
            _ptr = out[0]
        super().__init__(_ptr)

    @classmethod
    def from_bytes(cls, data):
        data = N.as_bytes(data)
        out = ffi.new("IBuffer **")
        check(lib.Buffer_CreateFromBytes(ffi.from_buffer(data), len(data), out))
        return cls(_ptr=out[0])

    capacity = N.prop("Capacity", "uint32_t")
    length = N.prop("Length", "uint32_t", put=lambda v: N.uint32(v, "length"))

    def __len__(self):
        return self.length

    def to_bytes(self):
        data = bytearray(self.length)
        self._out("CopyTo", "uint32_t", 0, ffi.from_buffer(data), len(data))
        return bytes(data)


_RESULTS = {  # operation kind -> (result C type, conversion)
    "IAsyncAction": (None, None),
    "IAsyncOperationUInt32": ("uint32_t", int),
    "IAsyncOperationBoolean": ("bool", bool),
    "IAsyncOperationIBuffer": ("IBuffer *", lambda p: Buffer(_ptr=p)),
}


class AsyncOperation(N.Handle):
    """IAsyncAction and the IAsyncOperation<T> kinds, one class: `wait()`, `get_results()`,
    `cancel()`, `status`, `error_code`, `id`, `completed`. `bound`: its Completed callback
    goes through a DispatcherQueue (all operations of a socket do)."""

    def __init__(self, ptr, kind, bound):
        super().__init__(ptr, kind)
        self._bound = bound

    status = property(lambda self: AsyncStatus(self._out("get_Status", "AsyncStatus")))
    error_code = N.prop("ErrorCode", "HRESULT")
    id = N.prop("Id", "uint32_t")

    def cancel(self):
        self._call("Cancel")

    def _result(self, name, *args):
        ctype, conv = _RESULTS[self._kind]
        if ctype is None:
            self._call(name, *args)
            return None
        return conv(self._out(name, ctype, *args))

    def get_results(self):
        return self._result("GetResults")

    def wait(self, timeout=None):
        """Blocks until the operation finishes (at most `timeout` s); returns its result or
        raises its failure (WebSocketTimeoutError when the time ran out first)."""
        return self._result("Wait", N.milliseconds(timeout))

    def _set_completed(self, handler):
        """`handler(op, status)` runs once the operation finished: from the socket's
        DispatcherQueue, or at once here if it already did. An operation that is neither
        (a message's data stream is not bound to a queue) is refused: rtws would call it on
        one of its own threads."""
        if not callable(handler):
            raise TypeError("completed must be callable")
        if not self._bound and self.status == AsyncStatus.STARTED:
            raise IllegalStateError(-2147483634,  # E_ILLEGAL_METHOD_CALL
                                    "this operation is not bound to a DispatcherQueue: "
                                    "wait() for it instead")
        token, ctx = N.register(lambda status: handler(self, AsyncStatus(status)))
        try:
            self._call("put_Completed", N.COMPLETED[self._kind], ctx)
        except BaseException:
            N.unregister(token)
            raise

    completed = property(None, _set_completed)

    def __repr__(self):
        return f"<rtws.AsyncOperation {self._kind} {'closed' if self._ptr is None else ''}>"


def _operation(kind, bound, call, *args):
    out = ffi.new(f"{kind} **")
    check(call(*args, out))
    return AsyncOperation(out[0], kind, bound)


class PasswordCredential(N.Handle):
    _kind = "PasswordCredential"

    def __init__(self, resource=None, user_name=None, password=None, *, _ptr=None):
        if _ptr is None:
            out = ffi.new("PasswordCredential **")
            check(lib.PasswordCredential_Create(N.cstr(resource, "resource"),
                                                N.cstr(user_name, "user_name"),
                                                N.cstr(password, "password"), out))
            _ptr = out[0]
        super().__init__(_ptr)

    resource = N.prop("Resource", "const char *", N.text)
    user_name = N.prop("UserName", "const char *", N.text)
    password = N.prop("Password", "const char *", N.text)


class Certificate(N.Handle):
    """A certificate (Windows.Security.Cryptography.Certificates): `Certificate(der)`,
    `Certificate.from_pem(cert, key)` or `from_pkcs12(data, password)` for client ones."""

    _kind = "Certificate"

    def __init__(self, der=None, *, _ptr=None):
        if _ptr is None:
            with Buffer.from_bytes(N.as_bytes(der, "der")) as blob:
                out = ffi.new("Certificate **")
                check(lib.Certificate_CreateCertificate(blob._p, out))
                _ptr = out[0]
        super().__init__(_ptr)

    @classmethod
    def from_pem(cls, certificate_pem, private_key_pem):
        out = ffi.new("Certificate **")
        check(lib.Certificate_CreateFromPem(N.cstr(certificate_pem, "certificate_pem"),
                                            N.cstr(private_key_pem, "private_key_pem"), out))
        return cls(_ptr=out[0])

    @classmethod
    def from_pkcs12(cls, data, password=""):
        data = N.as_bytes(data)
        out = ffi.new("Certificate **")
        check(lib.Certificate_CreateFromPkcs12(ffi.from_buffer(data), len(data),
                                               N.cstr(password, "password"), out))
        return cls(_ptr=out[0])

    subject = N.prop("Subject", "const char *", N.text)
    issuer = N.prop("Issuer", "const char *", N.text)
    valid_from = N.prop("ValidFrom", "DateTime", N.from_datetime)
    valid_to = N.prop("ValidTo", "DateTime", N.from_datetime)
    has_private_key = N.prop("HasPrivateKey", "bool", bool)

    def get_hash_value(self, algorithm=None):
        """The thumbprint: SHA-1 by default, or by name ("SHA1", "SHA256")."""
        args = () if algorithm is None else (N.cstr(algorithm, "algorithm"),)
        name = "GetHashValue" if algorithm is None else "GetHashValueWithAlgorithm"
        buf = ffi.new("uint8_t[64]")
        needed = self._out(name, "uint32_t", *args, buf, 64)
        return bytes(ffi.buffer(buf, needed))

    def get_certificate_blob(self):
        with Buffer(_ptr=self._out("GetCertificateBlob", "IBuffer *")) as blob:
            return blob.to_bytes()


class _Vector(N.Handle, collections.abc.MutableSequence):
    """`IVector<T>` as a Python list (append, del, clear, len, index, iteration)."""

    def __len__(self):
        return self._out("get_Size", "uint32_t")

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._get(self._index(index))

    def _index(self, index):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("index out of range")
        return index

    def __delitem__(self, index):
        self._call("RemoveAt", self._index(index))

    def __setitem__(self, index, value):
        raise TypeError(f"{self._kind} items cannot be replaced: delete and append")

    def insert(self, index, value):
        if index != len(self):
            raise TypeError(f"{self._kind} only appends")
        self.append(value)

    def clear(self):
        self._call("Clear")

    def __repr__(self):
        return repr(list(self))


class StringVector(_Vector):
    _kind = "IVectorString"

    def _get(self, index):
        buf = ffi.new("char[256]")
        needed = ffi.new("uint32_t *")
        hr = lib.IVectorString_GetAt(self._p, index, buf, 256, needed)
        if hr == N.CONSTANTS["E_NOT_SUFFICIENT_BUFFER"]:
            buf = ffi.new("char[]", needed[0])
            hr = lib.IVectorString_GetAt(self._p, index, buf, needed[0], needed)
        check(hr)
        return N.text(buf)

    def append(self, value):
        self._call("Append", N.cstr(value))


class ChainValidationResultVector(_Vector):
    _kind = "IVectorChainValidationResult"

    def _get(self, index):
        return ChainValidationResult(self._out("GetAt", "ChainValidationResult", index))

    def append(self, value):
        self._call("Append", N.int_in(ChainValidationResult)(value))


def _certificates(ptr):
    """An IVectorView<Certificate> as a list of Certificates (the view is released)."""
    view = N.Handle(ptr, "IVectorViewCertificate")
    with view:
        return [Certificate(_ptr=view._out("GetAt", "Certificate *", i))
                for i in range(view._out("get_Size", "uint32_t"))]


def _optional(cls):
    return lambda p: None if p == ffi.NULL else cls(_ptr=p)


def _handle_of(value, cls):
    if value is None:
        return ffi.NULL
    if not isinstance(value, cls):
        raise TypeError(f"expected {cls.__name__} or None, not {type(value).__name__}")
    return value._p


class PerMessageDeflateOptions(tuple):
    """rtws extension: permessage-deflate (RFC 7692), as a Control offers it and an
    Information reports what was agreed: window bits 8..15, compression_level 1..9 (0:
    rtws's default, 1). `PerMessageDeflateOptions()` is the default offer, enabled."""
    __slots__ = ()
    _fields = ("enabled", "client_no_context_takeover", "server_no_context_takeover",
               "client_max_window_bits", "server_max_window_bits", "compression_level")

    def __new__(cls, enabled=True, client_no_context_takeover=False,
                server_no_context_takeover=False, client_max_window_bits=15,
                server_max_window_bits=15, compression_level=0):
        return super().__new__(cls, (bool(enabled), bool(client_no_context_takeover),
                                     bool(server_no_context_takeover),
                                     N.uint8(client_max_window_bits, "client_max_window_bits"),
                                     N.uint8(server_max_window_bits, "server_max_window_bits"),
                                     N.uint8(compression_level, "compression_level")))

    def __getattr__(self, name):
        return self[self._fields.index(name)]

    @classmethod
    def _from_c(cls, s):
        return cls(s.Enabled, s.ClientNoContextTakeover, s.ServerNoContextTakeover,
                   s.ClientMaxWindowBits, s.ServerMaxWindowBits, s.CompressionLevel)

    def _to_c(self):
        if not isinstance(self, PerMessageDeflateOptions):
            raise TypeError("expected rtws.PerMessageDeflateOptions")
        return ffi.new("PerMessageDeflateOptions *", list(self))[0]


class _ControlBase(N.Handle):
    """The settings both socket kinds share (MessageWebSocketControl, StreamWebSocketControl)."""

    outbound_buffer_size_in_bytes = N.prop("OutboundBufferSizeInBytes", "uint32_t",
                                           put=lambda v: N.uint32(v, "size"))
    supported_protocols = N.prop("SupportedProtocols", "IVectorString *",
                                 lambda p: StringVector(p))
    desired_unsolicited_pong_interval = N.prop("DesiredUnsolicitedPongInterval", "TimeSpan",
                                               N.from_timespan, N.to_timespan)
    actual_unsolicited_pong_interval = N.prop("ActualUnsolicitedPongInterval", "TimeSpan",
                                              N.from_timespan)
    connect_timeout = N.prop("ConnectTimeout", "TimeSpan", N.from_timespan, N.to_timespan)
    send_timeout = N.prop("SendTimeout", "TimeSpan", N.from_timespan, N.to_timespan)
    receive_timeout = N.prop("ReceiveTimeout", "TimeSpan", N.from_timespan, N.to_timespan)
    server_credential = N.prop("ServerCredential", "PasswordCredential *",
                               _optional(PasswordCredential),
                               lambda v: _handle_of(v, PasswordCredential))
    proxy_credential = N.prop("ProxyCredential", "PasswordCredential *",
                              _optional(PasswordCredential),
                              lambda v: _handle_of(v, PasswordCredential))
    client_certificate = N.prop("ClientCertificate", "Certificate *", _optional(Certificate),
                                lambda v: _handle_of(v, Certificate))
    ignorable_server_certificate_errors = N.prop(
        "IgnorableServerCertificateErrors", "IVectorChainValidationResult *",
        lambda p: ChainValidationResultVector(p))
    per_message_deflate = N.prop("PerMessageDeflate", "PerMessageDeflateOptions",
                                 PerMessageDeflateOptions._from_c,
                                 PerMessageDeflateOptions._to_c,
                                 doc="rtws extension: the permessage-deflate offer.")

    @property
    def proxy_uri(self):
        raise AttributeError("proxy_uri is write-only (rtws has no getter)")

    @proxy_uri.setter
    def proxy_uri(self, uri):
        self._call("put_ProxyUri", N.cstr(uri, "proxy_uri"))

    @property
    def trusted_root_certificates(self):
        raise AttributeError("trusted_root_certificates is write-only (rtws has no getter)")

    @trusted_root_certificates.setter
    def trusted_root_certificates(self, pem):
        """rtws extension: PEM text of the roots to trust instead of the system's."""
        self._call("put_TrustedRootCertificates", N.cstr(pem, "trusted_root_certificates"))


class MessageWebSocketControl(_ControlBase):
    _kind = "MessageWebSocketControl"
    message_type = N.prop("MessageType", "SocketMessageType", SocketMessageType,
                          N.int_in(SocketMessageType))
    max_message_size = N.prop("MaxMessageSize", "uint32_t",
                              put=lambda v: N.uint32(v, "max_message_size"))
    receive_mode = N.prop("ReceiveMode", "MessageWebSocketReceiveMode",
                          MessageWebSocketReceiveMode, N.int_in(MessageWebSocketReceiveMode))


class StreamWebSocketControl(_ControlBase):
    _kind = "StreamWebSocketControl"
    no_delay = N.prop("NoDelay", "bool", bool, bool)


class BandwidthStatistics(tuple):
    """The BandwidthStatistics struct, as a read-only record."""
    __slots__ = ()
    _fields = ("outbound_bits_per_second", "inbound_bits_per_second",
               "outbound_bits_per_second_instability", "inbound_bits_per_second_instability",
               "outbound_bandwidth_peaked", "inbound_bandwidth_peaked")

    def __getattr__(self, name):
        return self[self._fields.index(name)]


class _InformationBase(N.Handle):
    protocol = N.prop("Protocol", "const char *", N.text)
    local_address = N.prop("LocalAddress", "const char *", N.text)
    bandwidth_statistics = N.prop(
        "BandwidthStatistics", "BandwidthStatistics",
        lambda s: BandwidthStatistics((s.OutboundBitsPerSecond, s.InboundBitsPerSecond,
                                       s.OutboundBitsPerSecondInstability,
                                       s.InboundBitsPerSecondInstability,
                                       bool(s.OutboundBandwidthPeaked),
                                       bool(s.InboundBandwidthPeaked))))
    server_certificate_error_severity = N.prop("ServerCertificateErrorSeverity",
                                               "SocketSslErrorSeverity", SocketSslErrorSeverity)
    server_certificate_errors = N.prop("ServerCertificateErrors",
                                       "IVectorChainValidationResult *",
                                       lambda p: list(ChainValidationResultVector(p)))
    server_certificate = N.prop("ServerCertificate", "Certificate *", _optional(Certificate))
    server_intermediate_certificates = N.prop("ServerIntermediateCertificates",
                                              "IVectorViewCertificate *", _certificates)
    per_message_deflate = N.prop("PerMessageDeflate", "PerMessageDeflateOptions",
                                 PerMessageDeflateOptions._from_c,
                                 doc="rtws extension: what permessage-deflate was agreed.")


class MessageWebSocketInformation(_InformationBase):
    _kind = "MessageWebSocketInformation"


class StreamWebSocketInformation(_InformationBase):
    _kind = "StreamWebSocketInformation"


class OutputStream(N.Handle):
    """IOutputStream: each write is one message (MessageWebSocket) or bytes (stream)."""

    _kind = "IOutputStream"

    def __init__(self, ptr, bound):
        super().__init__(ptr)
        self._bound = bound

    def write_async(self, buffer):
        if not isinstance(buffer, Buffer):
            buffer = Buffer.from_bytes(buffer)
        return _operation("IAsyncOperationUInt32", self._bound, lib.IOutputStream_WriteAsync,
                          self._p, buffer._p)

    def flush_async(self):
        return _operation("IAsyncOperationBoolean", self._bound, lib.IOutputStream_FlushAsync,
                          self._p)


class InputStream(N.Handle):
    """IInputStream: a StreamWebSocket's input, or a received message's data."""

    _kind = "IInputStream"

    def __init__(self, ptr, bound):
        super().__init__(ptr)
        self._bound = bound

    def read_async(self, buffer, count, options=InputStreamOptions.NONE):
        if not isinstance(buffer, Buffer):
            raise TypeError("buffer must be an rtws.Buffer")
        return _operation("IAsyncOperationIBuffer", self._bound, lib.IInputStream_ReadAsync,
                          self._p, buffer._p, N.uint32(count, "count"),
                          N.uint32(int(options), "options"))


def _number_methods(cls, prefix, table):
    """DataWriter.write_<type> / DataReader.read_<type> for each C number type."""
    for name, ctype in table:
        method = f"{prefix}_{name.lower()}"
        c_name = f"{prefix.capitalize()}{name}"
        if prefix == "write":
            def fn(self, value, c_name=c_name, ctype=ctype):
                self._call(c_name, ffi.cast(ctype, _check_number(value, ctype)))
        else:
            def fn(self, c_name=c_name, ctype=ctype):
                value = self._out(c_name, ctype)
                return bool(value) if ctype == "bool" else value
        fn.__name__ = method
        fn.__doc__ = f"`{c_name}`"
        setattr(cls, method, fn)


_NUMBERS = [("Byte", "uint8_t"), ("Boolean", "bool"), ("Int16", "int16_t"),
            ("UInt16", "uint16_t"), ("Int32", "int32_t"), ("UInt32", "uint32_t"),
            ("Int64", "int64_t"), ("UInt64", "uint64_t"), ("Single", "float"),
            ("Double", "double")]


def _check_number(value, ctype):
    if ctype in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"expected a number, not {type(value).__name__}")
        return value
    if ctype == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"expected bool, not {type(value).__name__}")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected int, not {type(value).__name__}")
    bits = ffi.sizeof(ctype) * 8
    lo, hi = (0, (1 << bits) - 1) if ctype[0] == "u" else (-(1 << bits - 1), (1 << bits - 1) - 1)
    if not lo <= value <= hi:
        raise ValueError(f"{value} does not fit {ctype}")
    return value


class DataWriter(N.Closable):
    """`DataWriter(output_stream=None)`: closing it closes an attached stream (as in UWP);
    `detach_stream()` first to keep it."""

    _kind = "DataWriter"

    def __init__(self, output_stream=None):
        out = ffi.new("DataWriter **")
        if output_stream is None:
            check(lib.DataWriter_Create(out))
            self._bound = False
        else:
            check(lib.DataWriter_CreateDataWriter(_handle_of(output_stream, OutputStream), out))
            self._bound = output_stream._bound
        super().__init__(out[0])

    unstored_buffer_length = N.prop("UnstoredBufferLength", "uint32_t")
    unicode_encoding = N.prop("UnicodeEncoding", "UnicodeEncoding", UnicodeEncoding,
                              N.int_in(UnicodeEncoding))
    byte_order = N.prop("ByteOrder", "ByteOrder", ByteOrder, N.int_in(ByteOrder))

    def write_bytes(self, data):
        data = N.as_bytes(data)
        self._call("WriteBytes", len(data), ffi.from_buffer(data))

    def write_buffer(self, buffer):
        self.write_bytes(buffer.to_bytes())

    def write_string(self, value):
        """Appends `value` in the writer's encoding; returns the bytes written."""
        return self._out("WriteString", "uint32_t", N.cstr(value))

    def measure_string(self, value):
        return self._out("MeasureString", "uint32_t", N.cstr(value))

    def store_async(self):
        return _operation("IAsyncOperationUInt32", self._bound, lib.DataWriter_StoreAsync,
                          self._p)

    def flush_async(self):
        return _operation("IAsyncOperationBoolean", self._bound, lib.DataWriter_FlushAsync,
                          self._p)

    def detach_stream(self):
        return OutputStream(self._out("DetachStream", "IOutputStream *"), self._bound)



class DataReader(N.Closable):
    """`DataReader(input_stream)`, or the reader of a received message."""

    _kind = "DataReader"

    def __init__(self, input_stream=None, *, _ptr=None, _bound=False):
        if _ptr is None:
            out = ffi.new("DataReader **")
            check(lib.DataReader_CreateDataReader(_handle_of(input_stream, InputStream), out))
            _ptr, _bound = out[0], input_stream._bound
        super().__init__(_ptr)
        self._bound = _bound

    unconsumed_buffer_length = N.prop("UnconsumedBufferLength", "uint32_t")
    unicode_encoding = N.prop("UnicodeEncoding", "UnicodeEncoding", UnicodeEncoding,
                              N.int_in(UnicodeEncoding))
    byte_order = N.prop("ByteOrder", "ByteOrder", ByteOrder, N.int_in(ByteOrder))
    input_stream_options = N.prop("InputStreamOptions", "InputStreamOptions",
                                  InputStreamOptions, lambda v: N.uint32(int(v), "options"))

    def load_async(self, count):
        return _operation("IAsyncOperationUInt32", self._bound, lib.DataReader_LoadAsync,
                          self._p, N.uint32(count, "count"))

    def read_bytes(self, count=None):
        """`ReadBytes`: the next `count` bytes (default: all unconsumed) as bytes."""
        if count is None:
            count = self.unconsumed_buffer_length
        data = bytearray(N.uint32(count, "count"))
        self._call("ReadBytes", count, ffi.from_buffer(data))
        return bytes(data)

    def read_buffer(self, count):
        return Buffer.from_bytes(self.read_bytes(count))

    def read_string(self, code_unit_count):
        """`ReadString`: `code_unit_count` code units of the reader's encoding, as str."""
        N.uint32(code_unit_count, "code_unit_count")
        needed = ffi.new("uint32_t *")
        hr = lib.DataReader_ReadString(self._p, code_unit_count, ffi.NULL, 0, needed)
        if hr != N.CONSTANTS["E_NOT_SUFFICIENT_BUFFER"]:
            check(hr)
        buf = ffi.new("char[]", max(needed[0], 1))
        self._call("ReadString", code_unit_count, buf, len(buf), needed)
        return ffi.string(buf).decode("utf-8")

    def detach_stream(self):
        return InputStream(self._out("DetachStream", "IInputStream *"), self._bound)



_number_methods(DataWriter, "write", _NUMBERS)
_number_methods(DataReader, "read", _NUMBERS)


class MessageWebSocketMessageReceivedEventArgs(N.Handle):
    _kind = "MessageWebSocketMessageReceivedEventArgs"
    message_type = N.prop("MessageType", "SocketMessageType", SocketMessageType)
    is_message_complete = N.prop("IsMessageComplete", "bool", bool)

    def get_data_reader(self):
        """A reader over the message; raises the connection's failure for the event that
        reports one."""
        return DataReader(_ptr=self._out("GetDataReader", "DataReader *"))

    def get_data_stream(self):
        # A message's data stream is not bound to the socket's queue: operations on it
        # complete at once (the data is all there), so wait() for them.
        return InputStream(self._out("GetDataStream", "IInputStream *"), False)


class WebSocketClosedEventArgs(N.Handle):
    _kind = "WebSocketClosedEventArgs"
    code = N.prop("Code", "uint16_t")
    reason = N.prop("Reason", "const char *", N.text)


class Deferral(N.Handle):
    _kind = "Deferral"

    def complete(self):
        self._call("Complete")


class WebSocketServerCustomValidationRequestedEventArgs(N.Handle):
    _kind = "WebSocketServerCustomValidationRequestedEventArgs"
    server_certificate = N.prop("ServerCertificate", "Certificate *", _optional(Certificate))
    server_certificate_error_severity = N.prop("ServerCertificateErrorSeverity",
                                               "SocketSslErrorSeverity", SocketSslErrorSeverity)
    server_certificate_errors = N.prop("ServerCertificateErrors",
                                       "IVectorChainValidationResult *",
                                       lambda p: list(ChainValidationResultVector(p)))
    server_intermediate_certificates = N.prop("ServerIntermediateCertificates",
                                              "IVectorViewCertificate *", _certificates)

    def reject(self):
        self._call("Reject")

    def get_deferral(self):
        return Deferral(self._out("GetDeferral", "Deferral *"))


class _SocketBase(N.Handle):
    """What MessageWebSocket and StreamWebSocket share. The socket is bound to its
    DispatcherQueue at construction, so every handler and Completed callback of it runs
    where the host pumps that queue.

    rtws drops a socket's handlers with its last handle, so the handle is kept until the
    Closed event of a close() has run (rtws bounds that wait: 30 s), or released at once
    when no Closed event can come (never connected, or already closed). dispose(), the
    end of a `with` block and garbage collection release it at once."""

    _events = {}  # event name -> (C handler type, args wrapper)

    def __init__(self, dispatcher_queue=None):
        out = ffi.new(f"{self._kind} **")
        check(getattr(lib, f"{self._kind}_Create")(out))
        super().__init__(out[0])
        self._handlers = {event: {} for event in self._events}  # token -> handler
        self._registered = set()
        self._views = weakref.WeakSet()
        self._registrations = []  # our entries in _native, one per event
        self._connect = None  # our reference to the ConnectAsync operation
        self._closed_seen = self._release_on_closed = False
        try:
            self.dispatcher_queue = dispatcher_queue or DispatcherQueue()
            self._call("put_DispatcherQueue", self.dispatcher_queue._p)
            # Closed is always watched (close() releases the handle once it ran).
            self._register("Closed")
        except BaseException:
            self.dispose()
            raise

    def _register(self, event):
        """One rtws registration per event, for the life of the handle, made when the event
        gets its first handler (a ServerCustomValidationRequested registration makes rtws
        refuse a Wait for the connect on the queue's thread); add_<event> only adds to the
        Python list."""
        self._registered.add(event)
        args_cls = self._events[event][1]
        me = weakref.ref(self)
        self._subscribe(event, lambda ptr: me() and me()._raise(event, args_cls, ptr))

    def _subscribe(self, event, fn):
        """Registers `fn(args)` with rtws for `event`, called with the borrowed C pointer of
        the event's arguments (no wrapper: the asyncio layer's per-message path), until
        the handle is released."""
        token, ctx = N.register(fn)
        self._registrations.append(token)
        self._out(f"add_{event}", "EventRegistrationToken", N.EVENT[self._events[event][0]], ctx)

    def _raise(self, event, args_cls, ptr):
        with args_cls._borrowed(ptr) as args:
            for handler in list(self._handlers[event].values()):
                try:
                    handler(self, args)
                except Exception:
                    N.log.exception("rtws: a %s handler raised", event)
        if event == "Closed":
            self._closed_seen = True
            if self._release_on_closed:
                self.dispose()

    def _view(self, view):
        """`view` (a handle on a part of this socket) is released with the socket."""
        self._views.add(view)
        return view

    control = property(lambda self: self._view(self._control_cls(
        self._out("get_Control", f"{self._control_cls._kind} *"))))
    information = property(lambda self: self._view(self._information_cls(
        self._out("get_Information", f"{self._information_cls._kind} *"))))

    @property
    def output_stream(self):
        return self._view(OutputStream(self._out("get_OutputStream", "IOutputStream *"), True))

    def connect_async(self, uri):
        op = _operation("IAsyncAction", True, getattr(lib, f"{self._kind}_ConnectAsync"),
                        self._p, N.cstr(uri, "uri"))
        if self._connect is None:
            lib.IAsyncAction_AddRef(op._ptr)
            self._connect = op._ptr
        return op

    def set_request_header(self, name, value):
        self._call("SetRequestHeader", N.cstr(name, "name"), N.cstr(value, "value"))

    def close(self, code=None, reason=""):
        """`Close()` or, with a code, `Close(code, reason)` (code 1000 or 3000-4999, reason
        at most 123 UTF-8 bytes). The Closed event follows while the queue is pumped."""
        if self._ptr is None:
            return
        if code is None:
            self._call("Close")
        else:
            if isinstance(code, bool) or not isinstance(code, int):
                raise TypeError(f"code must be an int, not {type(code).__name__}")
            if not 0 <= code <= 0xFFFF:
                raise ValueError(f"close code {code} is not a 16-bit value")
            self._call("CloseWithStatus", code, N.cstr(reason, "reason"))
        status = ffi.new("AsyncStatus *")
        connected = (self._connect is not None
                     and lib.IAsyncAction_get_Status(self._connect, status) == 0
                     and status[0] == AsyncStatus.COMPLETED)
        if connected and not self._closed_seen:
            self._release_on_closed = True
        else:
            self.dispose()

    def dispose(self):
        """Releases the handle now (rtws closes the connection; no more events), and the
        Control, Information and stream objects taken from it."""
        self._release()
        for view in list(getattr(self, "_views", ())):
            view._release()
        if self._connect is not None:
            lib.IAsyncAction_Release(self._connect)
            self._connect = None
        for token in self._registrations:
            N.unregister(token)
        self._registrations = []

    def __exit__(self, *exc):
        try:
            self.close()
        finally:
            self.dispose()

    def __del__(self):
        try:
            self.dispose()
        except Exception:  # interpreter shutdown: lib may already be gone
            pass

    def _add(self, event, handler):
        if not callable(handler):
            raise TypeError("handler must be callable")
        self._p  # a closed socket refuses new handlers
        if event not in self._registered:
            self._register(event)
        token = next(N._tokens)
        self._handlers[event][token] = handler
        return token

    def add_closed(self, handler):
        """`handler(sender, WebSocketClosedEventArgs)`; returns a token for remove_closed."""
        return self._add("Closed", handler)

    def remove_closed(self, token):
        self._handlers["Closed"].pop(token, None)

    def add_server_custom_validation_requested(self, handler):
        """`handler(sender, WebSocketServerCustomValidationRequestedEventArgs)`."""
        return self._add("ServerCustomValidationRequested", handler)

    def remove_server_custom_validation_requested(self, token):
        self._handlers["ServerCustomValidationRequested"].pop(token, None)


class MessageWebSocket(_SocketBase):
    """`MessageWebSocket`: whole messages, UTF-8 or binary (`control.message_type`)."""

    _kind = "MessageWebSocket"
    _control_cls = MessageWebSocketControl
    _information_cls = MessageWebSocketInformation
    _events = {
        "MessageReceived": ("MessageWebSocketMessageReceivedHandler",
                            MessageWebSocketMessageReceivedEventArgs),
        "Closed": ("MessageWebSocketClosedHandler", WebSocketClosedEventArgs),
        "ServerCustomValidationRequested": (
            "MessageWebSocketServerCustomValidationRequestedHandler",
            WebSocketServerCustomValidationRequestedEventArgs),
    }

    def add_message_received(self, handler):
        """`handler(sender, MessageWebSocketMessageReceivedEventArgs)`; returns a token."""
        return self._add("MessageReceived", handler)

    def remove_message_received(self, token):
        self._handlers["MessageReceived"].pop(token, None)

    def _send(self, name, data):
        with (data if isinstance(data, Buffer) else Buffer.from_bytes(data)) as buf:
            return _operation("IAsyncOperationUInt32", True,
                              getattr(lib, f"MessageWebSocket_{name}"), self._p, buf._p)

    def send_final_frame_async(self, data):
        """The last (or only) frame of a message, of the current MessageType."""
        return self._send("SendFinalFrameAsync", data)

    def send_nonfinal_frame_async(self, data):
        return self._send("SendNonfinalFrameAsync", data)


class StreamWebSocket(_SocketBase):
    """`StreamWebSocket`: a binary byte stream each way (`input_stream`, `output_stream`)."""

    _kind = "StreamWebSocket"
    _control_cls = StreamWebSocketControl
    _information_cls = StreamWebSocketInformation
    _events = {
        "Closed": ("StreamWebSocketClosedHandler", WebSocketClosedEventArgs),
        "ServerCustomValidationRequested": (
            "StreamWebSocketServerCustomValidationRequestedHandler",
            WebSocketServerCustomValidationRequestedEventArgs),
    }

    @property
    def input_stream(self):
        return self._view(InputStream(self._out("get_InputStream", "IInputStream *"), True))
