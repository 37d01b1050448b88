"""The UWP layer, every member family, against the test server: sockets, Control,
Information, events, DataWriter/DataReader, streams, buffers, operations, certificates,
credentials, vectors, the DispatcherQueue, and its failures as exceptions."""
import datetime
import logging
import os

import pytest

import rtws
from conftest import pump


def connect(cls, url, setup=None, timeout=10):
    ws = cls()
    if setup:
        setup(ws)
    ws.connect_async(url).wait(timeout)
    return ws


class Echo:
    """A MessageWebSocket whose received messages and Closed event are recorded."""

    def __init__(self, url, setup=None):
        self.messages, self.closed, self.failures = [], [], []

        def received(sender, args):
            try:
                with args.get_data_reader() as r:
                    self.messages.append((args.message_type, r.read_bytes()))
            except rtws.WebSocketError as e:
                self.failures.append(e)

        def install(ws):
            ws.add_message_received(received)
            ws.add_closed(lambda s, a: self.closed.append((a.code, a.reason)))
            if setup:
                setup(ws)

        self.ws = connect(rtws.MessageWebSocket, url, install)

    def wait_messages(self, n):
        pump(self.ws, lambda: len(self.messages) >= n)

    def wait_closed(self):
        pump(self.ws, lambda: self.closed)


def test_message_websocket_sample_flow(server):
    e = Echo(server.url + "/echo")
    ws = e.ws
    ws.control.message_type = rtws.SocketMessageType.UTF8
    with rtws.DataWriter(ws.output_stream) as writer:
        assert writer.write_string("Hello, World!") == 13
        assert writer.store_async().wait(5) == 13
        writer.detach_stream()
    e.wait_messages(1)
    assert e.messages == [(rtws.SocketMessageType.UTF8, b"Hello, World!")]
    queue = ws.dispatcher_queue
    ws.close(1000, "done")
    queue.run_until(lambda: e.closed, 10)
    assert e.closed == [(1000, "done")]
    with pytest.raises(rtws.IllegalStateError):
        ws.control  # released once its Closed event ran


def test_frames_binary_and_text(server):
    e = Echo(server.url + "/echo")
    ws = e.ws
    assert ws.control.message_type == rtws.SocketMessageType.BINARY
    ws.send_nonfinal_frame_async(b"ab").wait(5)
    ws.send_final_frame_async(bytearray(b"cd")).wait(5)
    ws.control.message_type = rtws.SocketMessageType.UTF8
    ws.send_final_frame_async(rtws.Buffer.from_bytes("é".encode())).wait(5)
    e.wait_messages(2)
    assert e.messages == [(rtws.SocketMessageType.BINARY, b"abcd"),
                          (rtws.SocketMessageType.UTF8, "é".encode())]
    ws.dispose()


def test_control_properties(server):
    with rtws.MessageWebSocket() as ws:
        c = ws.control
        c.max_message_size = 12345
        assert c.max_message_size == 12345
        c.receive_mode = rtws.MessageWebSocketReceiveMode.PARTIAL_MESSAGE
        assert c.receive_mode is rtws.MessageWebSocketReceiveMode.PARTIAL_MESSAGE
        c.outbound_buffer_size_in_bytes = 65536
        assert c.outbound_buffer_size_in_bytes == 65536
        for name in ("connect_timeout", "send_timeout", "receive_timeout",
                     "desired_unsolicited_pong_interval"):
            setattr(c, name, datetime.timedelta(seconds=7))
            assert getattr(c, name) == datetime.timedelta(seconds=7)
        c.connect_timeout = 2.5  # seconds work too
        assert c.connect_timeout == datetime.timedelta(seconds=2.5)
        assert isinstance(c.actual_unsolicited_pong_interval, datetime.timedelta)
        c.supported_protocols.append("chat")
        c.supported_protocols.append("superchat")
        assert list(c.supported_protocols) == ["chat", "superchat"]
        del c.supported_protocols[0]
        assert list(c.supported_protocols) == ["superchat"]
        c.supported_protocols.clear()
        assert len(c.supported_protocols) == 0
        cred = rtws.PasswordCredential("ws://x", "alice", "s3cret")
        assert (cred.resource, cred.user_name, cred.password) == ("ws://x", "alice", "s3cret")
        c.server_credential = cred
        assert c.server_credential.user_name == "alice"
        c.server_credential = None
        assert c.server_credential is None
        c.proxy_credential = cred
        assert c.proxy_credential.password == "s3cret"
        c.proxy_uri = "http://127.0.0.1:1"
        with pytest.raises(AttributeError):
            c.proxy_uri
        errors = c.ignorable_server_certificate_errors
        errors.append(rtws.ChainValidationResult.EXPIRED)
        assert list(errors) == [rtws.ChainValidationResult.EXPIRED]
        with pytest.raises(rtws.InvalidArgumentError):
            errors.append(rtws.ChainValidationResult.SUCCESS)
        assert c.client_certificate is None
        with pytest.raises(TypeError):
            c.max_message_size = "big"
        with pytest.raises(ValueError):
            c.max_message_size = -1
        with pytest.raises(TypeError):
            c.message_type = "utf8"
        with pytest.raises(TypeError):
            c.server_credential = "alice"
    with rtws.StreamWebSocket() as sws:
        sws.control.no_delay = False
        assert sws.control.no_delay is False


def test_subprotocol_headers_and_information(server):
    def setup(ws):
        ws.control.supported_protocols.append("chat")
        ws.set_request_header("X-Rtws-Test", "yes")

    e = Echo(server.url + "/headers", setup)
    e.wait_messages(1)
    assert b"x-rtws-test: yes" in e.messages[0][1].lower()
    info = e.ws.information
    assert info.protocol == "chat"
    assert info.local_address == "127.0.0.1"
    stats = info.bandwidth_statistics
    assert stats.inbound_bandwidth_peaked in (True, False) and len(stats) == 6
    assert info.server_certificate is None
    assert info.server_certificate_error_severity == rtws.SocketSslErrorSeverity.NONE
    assert info.server_certificate_errors == []
    e.ws.dispose()


def test_server_close_code_and_handler_order(server):
    order = []

    def setup(ws):
        ws.add_message_received(lambda s, a: order.append("message"))
        ws.add_closed(lambda s, a: order.append("closed"))

    e = Echo(server.url + "/close?after=1&code=4001&reason=bye", setup)
    e.ws.send_final_frame_async(b"x").wait(5)
    e.wait_closed()
    assert e.closed == [(4001, "bye")]
    assert order == ["message", "closed"]
    e.ws.dispose()


def test_remove_handler(server):
    e = Echo(server.url + "/echo")
    seen = []
    token = e.ws.add_message_received(lambda s, a: seen.append(1))
    e.ws.remove_message_received(token)
    e.ws.remove_message_received(token)  # unknown tokens are ignored
    e.ws.send_final_frame_async(b"x").wait(5)
    e.wait_messages(1)
    assert seen == []
    e.ws.dispose()


def test_handler_exceptions_are_logged(server, caplog):
    e = Echo(server.url + "/echo")
    e.ws.add_message_received(lambda s, a: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="rtws"):
        e.ws.send_final_frame_async(b"x").wait(5)
        e.wait_messages(1)
    assert "ZeroDivisionError" in caplog.text
    e.ws.dispose()


def test_stream_websocket_sample_flow(server):
    closed = []
    ws = connect(rtws.StreamWebSocket, server.url + "/echo",
                 lambda ws: ws.add_closed(lambda s, a: closed.append(a.code)))
    with rtws.DataWriter(ws.output_stream) as writer:
        writer.write_bytes(bytes(range(10)))
        assert writer.store_async().wait(5) == 10
        writer.detach_stream()
    with rtws.DataReader(ws.input_stream) as reader:
        reader.input_stream_options = rtws.InputStreamOptions.PARTIAL
        assert reader.input_stream_options == rtws.InputStreamOptions.PARTIAL
        loaded = reader.load_async(256).wait(5)
        assert loaded == 10 == reader.unconsumed_buffer_length
        assert reader.read_bytes() == bytes(range(10))
        reader.detach_stream()
    queue = ws.dispatcher_queue
    ws.close(1000, "")
    queue.run_until(lambda: closed, 10)
    assert closed == [1000]


def test_data_writer_and_reader_types(server):
    ws = connect(rtws.StreamWebSocket, server.url + "/echo")
    values = [("byte", 200), ("boolean", True), ("int16", -2), ("uint16", 65535),
              ("int32", -70000), ("uint32", 4000000000), ("int64", -(1 << 40)),
              ("uint64", 1 << 63), ("single", 1.5), ("double", -2.25)]
    writer = rtws.DataWriter(ws.output_stream)
    writer.byte_order = rtws.ByteOrder.LITTLE_ENDIAN
    assert writer.byte_order is rtws.ByteOrder.LITTLE_ENDIAN
    for name, value in values:
        getattr(writer, f"write_{name}")(value)
    writer.unicode_encoding = rtws.UnicodeEncoding.UTF16_LE
    assert writer.measure_string("hé") == 4
    writer.write_string("hé")
    total = writer.unstored_buffer_length
    assert total == 1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 4 + 8 + 4
    assert writer.store_async().wait(5) == total
    assert writer.flush_async().wait(5) is True
    out = writer.detach_stream()
    writer.close()

    reader = rtws.DataReader(ws.input_stream)
    reader.byte_order = rtws.ByteOrder.LITTLE_ENDIAN
    while reader.unconsumed_buffer_length < total:
        reader.load_async(total - reader.unconsumed_buffer_length).wait(5)
    for name, value in values:
        assert getattr(reader, f"read_{name}")() == value, name
    reader.unicode_encoding = rtws.UnicodeEncoding.UTF16_LE
    assert reader.read_string(2) == "hé"
    reader.close()
    with pytest.raises(rtws.IllegalStateError):
        reader.read_byte()
    # The detached output stream still writes, through the raw stream API.
    assert out.write_async(b"\x01\x02").wait(5) == 2
    assert out.flush_async().wait(5) is True
    buf = rtws.Buffer(16)
    result = ws.input_stream.read_async(buf, 16, rtws.InputStreamOptions.PARTIAL).wait(5)
    assert result.to_bytes() == b"\x01\x02" and len(result) == 2
    with pytest.raises(TypeError):
        rtws.DataWriter().write_int16("1")
    with pytest.raises(ValueError):
        rtws.DataWriter().write_byte(256)
    ws.dispose()


def test_buffer():
    b = rtws.Buffer(8)
    assert (b.capacity, b.length) == (8, 0)
    b.length = 3
    assert b.to_bytes() == b"\0\0\0"
    with pytest.raises(rtws.InvalidArgumentError):
        b.length = 9
    assert rtws.Buffer.from_bytes(b"xyz").to_bytes() == b"xyz"
    b.close()
    with pytest.raises(rtws.IllegalStateError):
        b.capacity


def test_operations(server):
    ws = rtws.MessageWebSocket()
    op = ws.connect_async(server.url + "/nohandshake")
    assert op.status == rtws.AsyncStatus.STARTED and op.id > 0
    with pytest.raises(rtws.WebSocketTimeoutError):
        op.wait(0.05)
    seen = []
    op.completed = lambda o, status: seen.append(status)
    with pytest.raises(rtws.IllegalStateError):
        op.completed = lambda o, status: None  # once per operation
    op.cancel()
    pump(ws, lambda: seen)
    assert seen == [rtws.AsyncStatus.CANCELED]
    assert op.status == rtws.AsyncStatus.CANCELED
    assert rtws.WebSocketError.get_status(op.error_code) == rtws.WebErrorStatus.OPERATION_CANCELED
    with pytest.raises(rtws.OperationCanceledError):
        op.get_results()
    with pytest.raises(TypeError):
        op.completed = 3
    op.close()
    ws.dispose()


def test_connect_failures(server):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(rtws.CannotConnectError) as e:
        connect(rtws.MessageWebSocket, f"ws://127.0.0.1:{port}/")
    assert e.value.status == rtws.WebErrorStatus.CANNOT_CONNECT
    with pytest.raises(rtws.WebSocketTimeoutError) as e:
        connect(rtws.MessageWebSocket, server.url + "/nohandshake",
                lambda ws: setattr(ws.control, "connect_timeout", 0.3))
    assert e.value.status == rtws.WebErrorStatus.TIMEOUT
    with pytest.raises(rtws.HandshakeError) as e:
        connect(rtws.MessageWebSocket, server.url + "/status?code=404")
    assert e.value.status == rtws.WebErrorStatus.NOT_FOUND


def test_failed_connection_reports_through_message_received(server):
    e = Echo(server.url + "/badutf8?after=0")
    e.wait_closed()
    assert e.closed[0][0] == 1007
    assert isinstance(e.failures[0], rtws.ProtocolError)
    e.ws.dispose()


def test_bad_input(server):
    ws = rtws.MessageWebSocket()
    for uri in ("not a uri", "http://127.0.0.1/", "ws://a b/", "ws://[not-ip]/", ""):
        with pytest.raises(ValueError):
            ws.connect_async(uri)
    with pytest.raises(TypeError):
        ws.connect_async(None)
    with pytest.raises(TypeError):
        ws.connect_async(b"ws://127.0.0.1/")
    with pytest.raises(ValueError):
        ws.connect_async("ws://127.0.0.1/\0")
    with pytest.raises(ValueError):
        ws.set_request_header("Host", "x")
    with pytest.raises(ValueError):
        ws.set_request_header("X-A", "a\r\nb")
    with pytest.raises(TypeError):
        ws.send_final_frame_async("text")  # str is not bytes
    with pytest.raises(TypeError):
        ws.send_final_frame_async(None)
    with pytest.raises(rtws.IllegalStateError):
        ws.send_final_frame_async(b"x")  # not connected
    with pytest.raises(ValueError):
        ws.close(999)
    with pytest.raises(ValueError):
        ws.close(1000, "r" * 124)
    with pytest.raises(TypeError):
        ws.close("1000")
    with pytest.raises(TypeError):
        ws.add_closed(None)
    ws.close()
    ws.close()  # closing again is harmless
    for call in (lambda: ws.control, lambda: ws.connect_async("ws://127.0.0.1/"),
                 lambda: ws.send_final_frame_async(b"x"), lambda: ws.add_closed(print)):
        with pytest.raises(rtws.IllegalStateError):
            call()
    with pytest.raises(TypeError):
        rtws.DataWriter(ws)  # not an output stream
    with pytest.raises(TypeError):
        rtws.DataWriter().write_bytes(None)
    with pytest.raises(TypeError):
        rtws.PasswordCredential(None, "a", "b")


def test_send_after_close(server):
    e = Echo(server.url + "/echo")
    out = e.ws.output_stream
    e.ws.close(1000, "")
    with pytest.raises(rtws.IllegalStateError):
        out.write_async(b"late").wait(5)


def test_tls_with_the_test_pki(server):
    e = Echo(server.wss("valid"),
             lambda ws: setattr(ws.control, "trusted_root_certificates", server.ca_pem))
    e.ws.send_final_frame_async(b"over tls").wait(5)
    e.wait_messages(1)
    assert e.messages[0][1] == b"over tls"
    info = e.ws.information
    cert = info.server_certificate
    assert cert.subject and cert.issuer and not cert.has_private_key
    assert cert.valid_from < datetime.datetime.now(datetime.timezone.utc) < cert.valid_to
    assert len(cert.get_hash_value()) == 20 and len(cert.get_hash_value("SHA256")) == 32
    der = cert.get_certificate_blob()
    assert rtws.Certificate(der).get_hash_value() == cert.get_hash_value()
    assert info.server_certificate_error_severity == rtws.SocketSslErrorSeverity.NONE
    assert isinstance(info.server_intermediate_certificates, list)
    e.ws.dispose()


@pytest.mark.parametrize("name, status", [
    ("expired", rtws.WebErrorStatus.CERTIFICATE_EXPIRED),
    ("wrongname", rtws.WebErrorStatus.CERTIFICATE_COMMON_NAME_IS_INCORRECT),
    ("selfsigned", rtws.WebErrorStatus.CERTIFICATE_CONTAINS_ERRORS),
])
def test_tls_failures(server, name, status):
    with pytest.raises(rtws.CertificateError) as e:
        connect(rtws.MessageWebSocket, server.wss(name),
                lambda ws: setattr(ws.control, "trusted_root_certificates", server.ca_pem))
    assert e.value.status in (status, rtws.WebErrorStatus.CERTIFICATE_IS_INVALID,
                              rtws.WebErrorStatus.CERTIFICATE_CONTAINS_ERRORS)


def test_ignorable_errors_and_custom_validation(server):
    seen = []

    def validate(sender, args):
        seen.append((args.server_certificate_error_severity,
                     args.server_certificate_errors, args.server_certificate.subject,
                     args.server_intermediate_certificates))

    def setup(ws):
        ws.control.trusted_root_certificates = server.ca_pem
        ws.control.ignorable_server_certificate_errors.append(
            rtws.ChainValidationResult.EXPIRED)
        ws.add_server_custom_validation_requested(validate)

    ws = rtws.MessageWebSocket()
    setup(ws)
    done = []
    ws.connect_async(server.wss("expired")).completed = lambda o, s: done.append(s)
    # The validation handler runs on the queue: pump it (a Wait here would be refused).
    pump(ws, lambda: done)
    assert done == [rtws.AsyncStatus.COMPLETED]
    assert seen[0][0] == rtws.SocketSslErrorSeverity.IGNORABLE
    assert seen[0][1] == [rtws.ChainValidationResult.EXPIRED]
    assert ws.information.server_certificate_errors == [rtws.ChainValidationResult.EXPIRED]
    ws.dispose()

    ws = rtws.StreamWebSocket()
    ws.control.trusted_root_certificates = server.ca_pem
    ws.add_server_custom_validation_requested(lambda s, a: a.reject())
    op = ws.connect_async(server.wss("valid"))
    done = []
    op.completed = lambda o, s: done.append(s)
    pump(ws, lambda: done)
    with pytest.raises(rtws.CertificateError):
        op.get_results()
    ws.dispose()


def test_deferred_validation(server):
    ws = rtws.MessageWebSocket()
    ws.control.trusted_root_certificates = server.ca_pem
    held = []

    def validate(sender, args):
        held.append(args.get_deferral())

    ws.add_server_custom_validation_requested(validate)
    done = []
    ws.connect_async(server.wss("valid")).completed = lambda o, s: done.append(s)
    pump(ws, lambda: held)
    assert not done
    held[0].complete()
    pump(ws, lambda: done)
    assert done == [rtws.AsyncStatus.COMPLETED]
    ws.dispose()


def test_client_certificate(server):
    with open(os.path.join(server.tls_dir, "client.pem")) as f:
        cert_pem = f.read()
    with open(os.path.join(server.tls_dir, "client-key.pem")) as f:
        key_pem = f.read()
    cert = rtws.Certificate.from_pem(cert_pem, key_pem)
    assert cert.has_private_key
    with open(os.path.join(server.tls_dir, "client.p12"), "rb") as f:
        p12 = rtws.Certificate.from_pkcs12(f.read(), "rtws")
    assert p12.get_hash_value() == cert.get_hash_value()
    with pytest.raises(rtws.InvalidArgumentError):
        rtws.Certificate.from_pem(cert_pem, "not a key")

    def setup(ws):
        ws.control.trusted_root_certificates = server.ca_pem
        ws.control.client_certificate = cert

    e = Echo(server.wss("clientauth"), setup)
    assert e.ws.control.client_certificate.subject == cert.subject
    e.ws.send_final_frame_async(b"authenticated").wait(5)
    e.wait_messages(1)
    e.ws.dispose()


def test_dispatcher_queue():
    q = rtws.DispatcherQueue()
    assert q.file_descriptor >= 0 and q.has_thread_access
    ran = []
    assert q.try_enqueue(lambda: ran.append(1))
    assert q.wait(1) is True
    assert q.run_pending() == 1 and ran == [1]
    assert q.wait(0) is False
    with pytest.raises(TypeError):
        q.try_enqueue(None)
    with pytest.raises(rtws.InvalidArgumentError):
        q.run_pending(max_count=0)
    q.close()
    with pytest.raises(rtws.IllegalStateError):
        q.run_pending()


def test_get_data_stream_operations_wait_instead_of_completed(server):
    streams = []
    e = Echo(server.url + "/echo",
             lambda ws: ws.add_message_received(lambda s, a: streams.append(a.get_data_stream())))
    e.ws.send_final_frame_async(b"stream me").wait(5)
    e.wait_messages(1)
    buf = rtws.Buffer(64)
    op = streams[0].read_async(buf, 64, rtws.InputStreamOptions.PARTIAL)
    assert op.wait(5).to_bytes() == b"stream me"
    e.ws.dispose()


def test_partial_message_mode(server):
    pieces = []
    ws = rtws.MessageWebSocket()
    ws.control.receive_mode = rtws.MessageWebSocketReceiveMode.PARTIAL_MESSAGE

    def received(sender, args):
        with args.get_data_reader() as r:
            pieces.append((len(r.read_bytes()), args.is_message_complete))

    ws.add_message_received(received)
    ws.connect_async(server.url + "/big?size=3000000").wait(5)
    pump(ws, lambda: pieces and pieces[-1][1])
    assert sum(n for n, _ in pieces) == 3000000 and len(pieces) > 1
    assert [complete for _, complete in pieces] == [False] * (len(pieces) - 1) + [True]
    ws.dispose()


def test_server_credential(server):
    e = Echo(server.url + "/auth?user=alice&pass=pw",
             lambda ws: setattr(ws.control, "server_credential",
                                rtws.PasswordCredential("auth", "alice", "pw")))
    e.ws.send_final_frame_async(b"in").wait(5)
    e.wait_messages(1)
    e.ws.dispose()
    with pytest.raises(rtws.HandshakeError) as err:
        connect(rtws.MessageWebSocket, server.url + "/auth?user=alice&pass=pw")
    assert err.value.status == rtws.WebErrorStatus.UNAUTHORIZED


def test_proxy(server, proxy):
    def setup(ws):
        ws.control.proxy_uri = proxy.url.replace("ws:", "http:")
        ws.control.proxy_credential = rtws.PasswordCredential("proxy", "bob", "pw")

    ws = connect(rtws.StreamWebSocket, server.url + "/echo", setup)
    assert ws.output_stream.write_async(b"via proxy").wait(5) == 9
    result = ws.input_stream.read_async(rtws.Buffer(64), 64, rtws.InputStreamOptions.PARTIAL)
    assert result.wait(5).to_bytes() == b"via proxy"
    ws.dispose()
    with pytest.raises(rtws.HandshakeError) as err:  # no credential: 407
        connect(rtws.MessageWebSocket, server.url + "/echo",
                lambda ws: setattr(ws.control, "proxy_uri", proxy.url.replace("ws:", "http:")))
    assert err.value.status == rtws.WebErrorStatus.PROXY_AUTHENTICATION_REQUIRED
