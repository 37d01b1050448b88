"""The MessageWebSocket sample's flow with the asyncio layer: connect, send "Hello, World!",
print the echo, close with 1000.

usage: aio_message_websocket.py ws://host:port/echo [ca.pem]
"""
import asyncio
import sys

import rtws


async def main(uri, ca_file=None):
    ssl_roots = open(ca_file).read() if ca_file else None
    try:
        async with rtws.connect(uri, ssl_roots=ssl_roots) as ws:
            await ws.send("Hello, World!")
            print("Sending message using MessageWebSocket: Hello, World!")
            print("Message received from MessageWebSocket: " + await ws.recv())
        print(f'WebSocket_Closed; Code: {ws.close_code}, Reason: "{ws.close_reason}"')
    except rtws.WebSocketError as ex:
        print(f"failed: {ex.status.name}: {ex}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:])))
