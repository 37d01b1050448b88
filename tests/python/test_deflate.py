"""permessage-deflate from Python (an rtws extension): the offer as `compression=` of
rtws.connect and as the Control's `per_message_deflate`, what was agreed, messages through
a `websockets` server with compression (in this process, on the same loop), and bad input.
The protocol itself is tested from C against the same peer (tests/deflate)."""
import asyncio

import pytest
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

import rtws


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except Exception:
        pass


def compressing_server(**settings):
    return serve(echo, "127.0.0.1", 0, compression=None, max_size=None,
                 extensions=[ServerPerMessageDeflateFactory(**settings)])


def url_of(server):
    return "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]


def test_connect_with_deflate_echoes_and_reports_what_was_agreed():
    text = '{"symbol":"ACME","bid":101.25},' * 2000

    async def main():
        async with compressing_server(server_no_context_takeover=True) as server:
            async with rtws.connect(url_of(server), compression="deflate") as ws:
                agreed = ws.per_message_deflate
                assert agreed.enabled and agreed.server_no_context_takeover
                assert agreed.client_max_window_bits == 15 and agreed.compression_level == 1
                for message in (text, text.encode(), "", b"x" * 100_000):
                    await ws.send(message)
                    assert await ws.recv() == message
            # Not offered: plain messages, nothing agreed.
            async with rtws.connect(url_of(server)) as ws:
                assert not ws.per_message_deflate.enabled
                await ws.send(text)
                assert await ws.recv() == text
    run(main())


def test_the_offer_as_control_property():
    offer = rtws.PerMessageDeflateOptions(client_no_context_takeover=True,
                                          client_max_window_bits=10, compression_level=9)

    async def main():
        async with compressing_server() as server:
            async with rtws.connect(url_of(server), compression=offer) as ws:
                agreed = ws.per_message_deflate
                assert agreed.client_no_context_takeover
                assert agreed.client_max_window_bits == 10 and agreed.compression_level == 9
                await ws.send("hello " * 1000)
                assert await ws.recv() == "hello " * 1000
    run(main())

    with rtws.MessageWebSocket() as ws:
        control = ws.control
        assert not control.per_message_deflate.enabled
        control.per_message_deflate = offer
        assert control.per_message_deflate == rtws.PerMessageDeflateOptions(
            True, True, False, 10, 15, 9)
        assert not ws.information.per_message_deflate.enabled


def test_bad_deflate_options():
    with rtws.MessageWebSocket() as ws:
        control = ws.control
        with pytest.raises(rtws.InvalidArgumentError):
            control.per_message_deflate = rtws.PerMessageDeflateOptions(client_max_window_bits=7)
        with pytest.raises(rtws.InvalidArgumentError):
            control.per_message_deflate = rtws.PerMessageDeflateOptions(compression_level=10)
        with pytest.raises(ValueError):
            rtws.PerMessageDeflateOptions(server_max_window_bits=300)
        with pytest.raises(TypeError):
            rtws.PerMessageDeflateOptions(client_max_window_bits="15")
        with pytest.raises(TypeError):
            control.per_message_deflate = (True, False, False, 15, 15, 0)
        assert not control.per_message_deflate.enabled

    async def main():
        with pytest.raises(ValueError):
            async with rtws.connect("ws://127.0.0.1:9/", compression="gzip"):
                pass
    run(main())
