"""The connect-timeout sample with the asyncio layer: asyncio.wait_for gives up on the
connect after 5 s, which cancels rtws's ConnectAsync.

usage: aio_connect_timeout.py ws://host:port/nohandshake [timeout_ms]
"""
import asyncio
import sys

import rtws


async def main(uri, timeout_ms="5000"):
    try:
        async with await asyncio.wait_for(rtws.connect(uri), int(timeout_ms) / 1000):
            print("connected")
    except asyncio.TimeoutError:
        print(f"connect canceled after {timeout_ms} ms (WebErrorStatus "
              f"{rtws.WebErrorStatus.OPERATION_CANCELED.name})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:])))
