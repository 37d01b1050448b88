"""The asyncio layer: connect/send/recv/async for/close, the stream API, wss, failures as
the right exceptions, cancellation, volume (10,000 messages, 256 MiB with bounded RSS) and
bad input."""
import asyncio
import resource
import socket
import time

import pytest

import rtws
from rtws import aio


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_echo_text_and_binary(server):
    async def main():
        async with rtws.connect(server.url + "/echo") as ws:
            await ws.send("Hello, World!")
            assert await ws.recv() == "Hello, World!"
            await ws.send(b"\x00\x01")
            assert await ws.recv() == b"\x00\x01"
            await ws.send(memoryview(b"mv"))
            assert await ws.recv() == b"mv"
            await ws.drain()
            assert not ws.closed and ws.local_address == "127.0.0.1"
            assert ws.socket.information.bandwidth_statistics is not None
        assert ws.closed and ws.close_code == 1000
    run(main())


def test_subprotocols_and_headers(server):
    async def main():
        async with rtws.connect(server.url + "/headers", subprotocols=["chat", "x"],
                                headers={"X-Rtws": "1"}) as ws:
            assert ws.subprotocol == "chat"
            assert "x-rtws: 1" in (await ws.recv()).lower()
        async with rtws.connect(server.url + "/echo?proto=", headers=[("X-A", "b")]) as ws:
            assert ws.subprotocol is None
    run(main())


def test_ten_thousand_messages_through_async_for(server):
    n = 10_000

    async def main():
        async with rtws.connect(server.url + "/echo") as ws:
            async def produce():
                for i in range(n):
                    await ws.send(i.to_bytes(4, "big"))
            producer = asyncio.ensure_future(produce())
            count = 0
            async for message in ws:
                assert int.from_bytes(message, "big") == count
                count += 1
                if count == n:
                    break
            await producer
            assert count == n
    run(main())


def test_flood_is_held_back_by_max_queue(server):
    async def main():
        async with rtws.connect(server.url + "/flood?count=5000&size=64", max_queue=16) as ws:
            for i in range(5000):
                assert int.from_bytes((await ws.recv())[:4], "big") == i
                assert len(ws._messages) <= 16
    run(main())


def test_messages_of_every_size_and_type_in_order_before_closed(server):
    # Many messages of both types, empty to 1 MiB (bigger than the compiled module's take
    # buffer, TAKE_BYTES), and then Closed, all arriving while the loop is busy: each run of
    # the queue finds a batch, and the Closed handler must see every message before it.
    sizes = [0, 1, 16, 1000, aio.TAKE_BYTES - 1, aio.TAKE_BYTES, aio.TAKE_BYTES + 1, 1 << 20]
    sent = [("t" * size if i % 2 else bytes([i % 256]) * size)
            for i, size in enumerate(sizes * 40)]
    assert len(sent) > aio.TAKE_COUNT

    async def main():
        ws = await rtws.connect(server.url + f"/close?after={len(sent)}&code=1000&reason=end")
        at_closed = []
        ws.socket.add_closed(lambda s, a: at_closed.append(len(ws._messages)))
        for m in sent:
            await ws.send(m)
        await ws.wait_closed()
        assert at_closed == [len(sent)]  # Closed came after the last message
        got = [m async for m in ws]
        assert len(got) == len(sent)
        for g, m in zip(got, sent):
            assert type(g) is type(m) and g == m
        assert (ws.close_code, ws.close_reason) == (1000, "end")
        await ws.close()
    run(main())


def test_closed_runs_after_the_messages_run_with_it(server):
    # 50 echoes and the server's close all wait in the queue (the loop is held up), so
    # one run of the queue raises them all: the Closed handlers must still see every message.
    async def main():
        ws = await rtws.connect(server.url + "/close?after=50&code=1000&reason=end")
        at_closed = []
        ws.socket.add_closed(lambda s, a: at_closed.append(len(ws._messages)))
        for i in range(50):
            await ws.send(str(i))
        time.sleep(0.5)  # blocks the loop: no run of the queue meanwhile
        await ws.wait_closed()
        assert at_closed == [50]
        assert [m async for m in ws] == [str(i) for i in range(50)]
        await ws.close()
    run(main())


def test_close_code_and_reason(server):
    async def main():
        ws = await rtws.connect(server.url + "/echo")
        await ws.close(4000, "going")
        assert ws.close_code == 4000 and ws.close_reason == "going"
        with pytest.raises(rtws.ConnectionClosedError) as e:
            await ws.recv()
        assert e.value.code == 4000
        with pytest.raises(rtws.ConnectionClosed):
            await ws.send("after close")
        await ws.close()  # again: nothing
        ws = await rtws.connect(server.url + "/close?after=1&code=1000&reason=bye")
        await ws.send("x")
        assert [m async for m in ws] == ["x"]  # a normal close ends the iteration
        assert (ws.close_code, ws.close_reason) == (1000, "bye")
        await ws.close()
    run(main())


@pytest.mark.parametrize("path, code, cause", [
    ("/vanish?after=1", 1006, rtws.ConnectionLostError),
    ("/badutf8?after=1", 1007, rtws.ProtocolError),
    ("/big?after=1&size=100000", 1009, rtws.ProtocolError),
])
def test_abnormal_closes(server, path, code, cause):
    async def main():
        async with rtws.connect(server.url + path, max_size=65536) as ws:
            await ws.send("first")
            assert await ws.recv() == "first"
            with pytest.raises(rtws.ConnectionClosedError) as e:
                async for _ in ws:
                    pass
            assert e.value.code == code == ws.close_code
            assert isinstance(e.value.__cause__, cause)
    run(main())


def test_connect_failures(server):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    async def main():
        with pytest.raises(rtws.CannotConnectError):
            await rtws.connect(f"ws://127.0.0.1:{port}/")
        with pytest.raises(rtws.WebSocketTimeoutError):
            await rtws.connect(server.url + "/nohandshake", open_timeout=0.3)
        with pytest.raises(rtws.HandshakeError):
            await rtws.connect(server.url + "/status?code=500")
        with pytest.raises(rtws.CertificateError):
            await rtws.connect(server.wss("valid"))  # the test CA is not trusted by default
    run(main())


def test_wss_with_the_test_pki(server):
    async def main():
        async with rtws.connect(server.wss("valid"), ssl_roots=server.ca_pem) as ws:
            await ws.send("secure")
            assert await ws.recv() == "secure"
        async with rtws.connect_stream(server.wss("valid"), ssl_roots=server.ca_pem) as s:
            await s.write(b"secure stream")
            assert await s.readexactly(13) == b"secure stream"
    run(main())


def cancels(monkeypatch):
    """Records the operations the asyncio layer cancels."""
    canceled = []
    original = rtws.AsyncOperation.cancel

    def cancel(op):
        canceled.append(op._kind)
        original(op)
        assert op.status == rtws.AsyncStatus.CANCELED

    monkeypatch.setattr(rtws.AsyncOperation, "cancel", cancel)
    return canceled


def test_wait_for_cancels_the_connect(server, monkeypatch):
    canceled = cancels(monkeypatch)

    async def main():
        start = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(rtws.connect(server.url + "/nohandshake"), 0.3)
        assert time.monotonic() - start < 5
        await asyncio.sleep(0.05)  # the canceled op's Completed runs from the queue
    run(main())
    assert canceled == ["IAsyncAction"]


def test_wait_for_a_recv_and_a_read(server, monkeypatch):
    canceled = cancels(monkeypatch)

    async def main():
        async with rtws.connect(server.url + "/echo") as ws:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.1)
            await ws.send("still works")  # a canceled recv loses nothing
            assert await ws.recv() == "still works"
        async with rtws.connect_stream(server.url + "/echo") as s:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(s.read(), 0.1)
            assert canceled == ["IAsyncOperationIBuffer"]  # the ReadAsync was canceled
            await s.write(b"after")  # and the stream still reads
            assert await asyncio.wait_for(s.readexactly(5), 5) == b"after"
    run(main())


def test_stream_echo_and_close(server):
    async def main():
        async with rtws.connect_stream(server.url + "/echo") as s:
            await s.write(bytes(range(10)))
            assert await s.read(256) == bytes(range(10))
            await s.write(b"a" * 200_000)
            assert await s.readexactly(200_000) == b"a" * 200_000
            await s.drain()
        assert s.close_code == 1000
        async with rtws.connect_stream(server.url + "/stream?bytes=1000&then=close") as s:
            assert await s.readexactly(1000)
            assert await s.read() == b""  # the end of the stream
    run(main())


def test_256_mib_through_the_stream_api_with_bounded_rss(server):
    total = 256 << 20

    async def main():
        async with rtws.connect_stream(f"{server.url}/stream?bytes={total}") as s:
            got = 0
            while got < total:
                chunk = await s.read(1 << 20)
                assert chunk
                got += len(chunk)
            assert got == total
        # And as much written as read back, through the echo: writes flow-controlled.
        async with rtws.connect_stream(server.url + "/echo") as s:
            chunk = b"\xa5" * (1 << 16)
            n = 64 << 20

            async def write():
                for _ in range(n // len(chunk)):
                    await s.write(chunk)
            writer = asyncio.ensure_future(write())
            got = 0
            while got < n:
                got += len(await s.read(1 << 20))
            await writer

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run(main(), timeout=100)
    growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert growth_mib < 64, f"peak RSS grew by {growth_mib:.0f} MiB"


def test_bad_input(server):
    async def main():
        for uri in ("not a uri", "http://127.0.0.1/", "ws://a b/"):
            with pytest.raises(ValueError):
                await rtws.connect(uri)
        with pytest.raises(TypeError):
            await rtws.connect(None)
        with pytest.raises(TypeError):
            await rtws.connect(server.url, subprotocols="chat")
        with pytest.raises(ValueError):
            await rtws.connect(server.url, headers={"Host": "x"})
        with pytest.raises(ValueError):
            rtws.connect(server.url, max_queue=0)
        async with rtws.connect(server.url + "/echo") as ws:
            for bad in (123, None, ["x"], 1.5):
                with pytest.raises(TypeError):
                    await ws.send(bad)
            with pytest.raises(ValueError):
                await ws.close(1000, "r" * 10_000)  # over 123 bytes
            with pytest.raises(ValueError):
                await ws.close(70000)
            await ws.send("still open")
            assert await ws.recv() == "still open"
        async with rtws.connect_stream(server.url + "/echo") as s:
            with pytest.raises(TypeError):
                await s.write("text")
            with pytest.raises(TypeError):
                await s.read("10")
        with pytest.raises(rtws.ConnectionClosed):
            await s.write(b"closed")
        with pytest.raises(rtws.ConnectionClosed):
            await s.read()
        with pytest.raises(rtws.ConnectionClosed):
            await s.drain()
    run(main())


def test_proxy_and_server_credential_options(server, proxy):
    async def main():
        async with rtws.connect(server.url + "/auth?user=u&pass=p",
                                proxy=proxy.url.replace("ws:", "http:"),
                                proxy_credential=rtws.PasswordCredential("p", "bob", "pw"),
                                server_credential=rtws.PasswordCredential("s", "u", "p")) as ws:
            await ws.send("through both")
            assert await ws.recv() == "through both"
    run(main())
