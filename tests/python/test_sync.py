"""The blocking layer (rtws.sync): echo, iteration, timeouts, closes, failures."""
import time

import pytest

import rtws


def test_echo_and_iteration(server):
    with rtws.sync.connect(server.url + "/close?after=3&code=1000&reason=done",
                           subprotocols=["chat"]) as ws:
        ws.send("one")
        ws.send(b"two")
        ws.send(bytearray(b"three"))
        assert list(ws) == ["one", b"two", b"three"]
        assert (ws.close_code, ws.close_reason) == (1000, "done")
        with pytest.raises(rtws.ConnectionClosedOK):
            ws.recv(timeout=1)
        with pytest.raises(rtws.ConnectionClosed):
            ws.send("late")


def test_recv_timeout_then_still_usable(server):
    with rtws.sync.connect(server.url + "/echo") as ws:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
        assert time.monotonic() - start < 2
        ws.send("after the timeout", timeout=5)
        assert ws.recv(timeout=5) == "after the timeout"
        ws.close(4000, "bye")
        assert ws.close_code == 4000


def test_failures(server):
    with pytest.raises(rtws.WebSocketTimeoutError):
        rtws.sync.connect(server.url + "/nohandshake", timeout=0.3)
    with pytest.raises(rtws.HandshakeError):
        rtws.sync.connect(server.url + "/status?code=403")
    with rtws.sync.connect(server.url + "/vanish?after=1") as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
        with pytest.raises(rtws.ConnectionClosedError) as e:
            ws.recv(timeout=5)
        assert e.value.code == 1006 and isinstance(e.value.__cause__, rtws.ConnectionLostError)
    with rtws.sync.connect(server.url + "/echo") as ws:
        with pytest.raises(TypeError):
            ws.send(5)
        with pytest.raises(ValueError):
            ws.close(1000, "x" * 200)
