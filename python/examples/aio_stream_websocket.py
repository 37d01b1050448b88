"""The StreamWebSocket sample's flow with the asyncio layer: send bytes 0x00..0x09, read the
echo, close with 1000.

usage: aio_stream_websocket.py ws://host:port/echo
"""
import asyncio
import sys

import rtws

MESSAGE = bytes(range(10))


async def main(uri):
    async with rtws.connect_stream(uri) as stream:
        await stream.write(MESSAGE)
        print(f"Sending data using StreamWebSocket: {len(MESSAGE)} bytes")
        data = await stream.readexactly(len(MESSAGE))
        print(f"Data received from StreamWebSocket: {len(data)} bytes")
    print(f'WebSocket_Closed; Code: {stream.close_code}, Reason: "{stream.close_reason}"')
    return 0 if data == MESSAGE else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:])))
