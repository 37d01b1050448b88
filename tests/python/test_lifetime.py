"""Memory and lifetime: handles are released by close and by garbage collection, no
callback entry outlives its object, and an interpreter exits with sockets left open."""
import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import time

import pytest

import rtws
from rtws import _ffi, _native
from rtws._ffi import lib


def live(kind, ptr):
    """Whether rtws still knows the handle (AddRef on a released handle returns 0)."""
    count = getattr(lib, f"{kind}_AddRef")(ptr)
    if count:
        getattr(lib, f"{kind}_Release")(ptr)
    return count != 0


def test_close_releases_the_native_handle(server):
    ws = rtws.MessageWebSocket()
    ptr = ws._ptr
    ws.close()  # never connected: released at once
    assert not live("MessageWebSocket", ptr)
    with rtws.StreamWebSocket() as s:
        ptr = s._ptr
        s.connect_async(server.url + "/echo").wait(5)
    assert not live("StreamWebSocket", ptr)
    writer = rtws.DataWriter()
    ptr = writer._ptr
    writer.close()
    assert not live("DataWriter", ptr)


def test_views_are_released_with_their_socket(server):
    ws = rtws.StreamWebSocket()
    views = [ws.control, ws.information, ws.input_stream, ws.output_stream]
    ws.connect_async(server.url + "/echo").wait(5)
    ptrs = [(v._kind, v._ptr) for v in views]
    ws.close()  # connected: released once the Closed event ran
    assert ws.dispatcher_queue.run_until(lambda: ws._ptr is None, 10)
    for kind, ptr in ptrs:
        assert not live(kind, ptr)
    with pytest.raises(rtws.IllegalStateError):
        views[0].no_delay


def test_garbage_collection_closes_an_unclosed_socket(server):
    ws = rtws.MessageWebSocket()
    ws.connect_async(server.url + "/echo").wait(5)
    ws.add_message_received(lambda s, a: None)
    ptr, queue_ptr = ws._ptr, ws.dispatcher_queue._ptr
    entries = len(_native._entries)
    del ws
    gc.collect()
    assert not live("MessageWebSocket", ptr)
    assert not live("DispatcherQueue", queue_ptr)
    assert len(_native._entries) < entries


def inboxes():
    """Live C inboxes of the compiled module's message path (None in ABI mode)."""
    return lib.rtwspy_inboxes() if _ffi.HELPERS else None


def test_no_entries_left_after_asyncio_connections(server):
    before = len(_native._entries)
    inboxes_before = inboxes()

    async def main():
        for _ in range(20):
            async with rtws.connect(server.url + "/echo") as ws:
                await ws.send("x")
                await ws.recv()
        ws = await rtws.connect(server.url + "/echo")  # left open: collected below
        ptr = ws._socket._ptr
        del ws
        gc.collect()
        return ptr

    ptr = asyncio.run(main())
    gc.collect()
    assert not live("MessageWebSocket", ptr)
    assert len(_native._entries) == before
    # rtws drops its reference to an inbox with the registration, on any thread: poll.
    deadline = time.monotonic() + 5
    while inboxes() != inboxes_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert inboxes() == inboxes_before


def test_handler_exceptions_are_logged_never_raised(server, caplog):
    async def main():
        async with rtws.connect(server.url + "/echo") as ws:
            ws.socket.add_message_received(lambda s, a: {}["boom"])
            await ws.send("x")
            assert await ws.recv() == "x"  # the connection's own handler still ran
    run_logged = caplog.at_level("ERROR", logger="rtws")
    with run_logged:
        asyncio.run(main())
    assert "KeyError" in caplog.text


def run_script(server, body, timeout=20):
    script = textwrap.dedent(body).replace("URL", server.url)
    return subprocess.run([sys.executable, "-c", script], timeout=timeout, env=os.environ,
                          capture_output=True, text=True)


def test_loop_closed_with_sockets_open_does_not_hang_at_exit(server):
    r = run_script(server, """
        import asyncio, rtws
        loop = asyncio.new_event_loop()
        async def main():
            conns = [await rtws.connect("URL/echo") for _ in range(5)]
            stream = await rtws.connect_stream("URL/echo")
            await conns[0].send("pending")
            return conns, stream
        kept = loop.run_until_complete(main())
        loop.close()
        print("loop closed")
    """)
    assert r.returncode == 0, r.stderr
    assert "loop closed" in r.stdout
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr


def test_exit_with_uwp_sockets_open_and_events_queued(server):
    r = run_script(server, """
        import rtws
        ws = rtws.MessageWebSocket()
        ws.add_message_received(lambda s, a: None)
        ws.connect_async("URL/flood?count=2000").wait(5)
        s = rtws.StreamWebSocket()
        s.connect_async("URL/echo").wait(5)
        op = s.input_stream.read_async(rtws.Buffer(16), 16)  # left pending
        print("exiting")
    """)
    assert r.returncode == 0, r.stderr
    assert "exiting" in r.stdout
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
