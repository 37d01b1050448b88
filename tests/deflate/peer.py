#!/usr/bin/env python3
"""An independent permessage-deflate peer for rtws's tests: Python `websockets` (its own
RFC 7692 code over CPython's zlib) serving on 127.0.0.1, one port per server configuration,
while it runs a test program given after `--`.

usage: peer.py [--timeout S] -- PROGRAM ARGS...
  In ARGS, {port_NAME} becomes the port of configuration NAME (see CONFIGS); the program also
  gets them all as RTWS_DEFLATE_PORTS=NAME=PORT,NAME=PORT,... The peer stops
  when the program ends (or after S seconds, default 120: then the program is killed), and
  exits with the program's status.

Paths on every port:
  /echo              sends each message back (text as text, binary as binary)
  /info              sends one text message: the request's Sec-WebSocket-Extensions, a
                     newline, and the response's (empty when declined); then echoes
  /bomb?size=N       sends N zero bytes as one binary message (deflate shrinks it ~1000x)
"""
import asyncio
import os
import signal
import subprocess
import sys
import threading
import urllib.parse

from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

# Server-side settings of each configuration (None: the server offers no extension).
CONFIGS = {
    "default": {},
    "server_reset": {"server_no_context_takeover": True},
    "client_reset": {"client_no_context_takeover": True},
    "server_w9": {"server_max_window_bits": 9},
    "client_w9": {"client_max_window_bits": 9},
    "client_w8": {"client_max_window_bits": 8},
    "all": {"server_no_context_takeover": True, "client_no_context_takeover": True,
            "server_max_window_bits": 10, "client_max_window_bits": 11},
    "none": None,
}


async def handler(ws):
    url = urllib.parse.urlsplit(ws.request.path)
    query = dict(urllib.parse.parse_qsl(url.query))
    if url.path == "/info":
        asked = ws.request.headers.get("Sec-WebSocket-Extensions", "")
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        await ws.send(f"{asked}\n{agreed}")
    elif url.path == "/bomb":
        await ws.send(bytes(int(query.get("size", "1048576"))))
    try:
        async for message in ws:
            await ws.send(message)
    except Exception:
        pass  # the client went away or failed the connection: that is its test


async def main(ready, done):
    servers = {}
    for name, settings in CONFIGS.items():
        extensions = None if settings is None else [ServerPerMessageDeflateFactory(**settings)]
        servers[name] = await serve(handler, "127.0.0.1", 0, extensions=extensions,
                                    compression=None, max_size=None, ping_interval=None)
    ports = {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    ready.set_result(ports)
    await done
    for s in servers.values():
        s.close()


def run():
    argv = sys.argv[1:]
    timeout = 120.0
    if argv[:1] == ["--timeout"]:
        timeout = float(argv[1])
        argv = argv[2:]
    if argv[:1] != ["--"] or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    argv = argv[1:]
    loop = asyncio.new_event_loop()
    ready = loop.create_future()
    done = loop.create_future()
    thread = threading.Thread(target=loop.run_until_complete,
                              args=(main(ready, done),), daemon=True)
    thread.start()
    ports = asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(ready), 30),
                                             loop).result()
    command = argv[:]
    for name, port in ports.items():
        command = [a.replace("{port_%s}" % name, str(port)) for a in command]
    env = dict(os.environ,
               RTWS_DEFLATE_PORTS=",".join(f"{n}={p}" for n, p in ports.items()))
    proc = subprocess.Popen(command, start_new_session=True, env=env)
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"peer.py: {command[0]} still running after {timeout:.0f} s: killed",
              file=sys.stderr)
        os.killpg(proc.pid, signal.SIGKILL)
        status = 1
    loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))
    thread.join(10)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(run())
