#!/usr/bin/env python3
"""permessage-deflate benchmark (issue 15): rtws with and without compression, and Python
`websockets` with compression, against one peer: Python websockets' echo server
(tests/deflate/peer.py), which this script runs under:

    build/_pyenv/bin/python tests/deflate/peer.py -- \\
        build/_pyenv/bin/python bench/deflate.py BENCH_RTWS [--quick] [--reps K]

The peer serves the configuration "default" (permessage-deflate, context takeover) and "none"
(no extension); RTWS_DEFLATE_PORTS names their ports. Rows, each the median of --reps runs:
  pipelined   512-byte JSON text messages, 64 in flight: msgs/s, client CPU µs per message,
              bytes on the wire per payload byte (/proc/self/io of the client)
  bulk        1 MiB JSON text messages, one at a time: MB/s of payload (both ways), the same
  idle        200 connections opened and left idle: RSS per connection (KiB)
The peer is Python: it, not the client, bounds msgs/s and MB/s here. The client's CPU per
message and the bytes on the wire are the client's own figures.
"""
import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time


def ports():
    return dict(p.split("=") for p in os.environ["RTWS_DEFLATE_PORTS"].split(","))


def run_rtws(exe, url, args, deflate):
    # The handler variant; bulk's is "message" (a DataWriter's whole messages).
    variant = "message" if args[0] == "bulk" else "handler"
    cmd = [exe, url, *args, "--json", "--no-queue", "--only", variant, "--max-secs", "30"]
    if deflate:
        cmd.append("--deflate")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"deflate.py: {' '.join(cmd)} failed:\n{out.stderr}")
    results = {}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            kv = dict(f.split("=", 1) for f in line.split()[1:])
            results[kv["metric"].replace("deflate_", "")] = float(kv["value"])
    return results


def json_text(size):
    """The records bench_rtws --json sends (its fill_json): the same LCG, the same text."""
    symbols = ["ACME", "GLOBX", "INITECH", "UMBRL", "HOOLI", "STARK", "WAYNE", "TYRELL"]
    x, out, at = 12345, [], 0
    while at < size:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        px, qty = 1000 + (x >> 8) % 90000, 1 + (x >> 4) % 5000
        rec = (f'{{"symbol":"{symbols[(x >> 16) % 8]}","bid":{px // 100}.{px % 100:02d},'
               f'"ask":{(px + 5) // 100}.{(px + 5) % 100:02d},"size":{qty},'
               f'"ts":{1733212800 + at}}},')
        out.append(rec)
        at += len(rec)
    return "".join(out)[:size]


async def websockets_pipelined(url, n, size, window):
    from websockets.asyncio.client import connect
    # As bench_rtws --json: each message the next window of the records, none repeated.
    records = json_text(4 << 20)
    texts = [records[i:i + size] for i in range(0, len(records) - size, size)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    async with connect(url, compression="deflate", max_size=None) as ws:
        start = time.perf_counter()
        sent = received = 0

        async def sender():
            nonlocal sent
            while sent < n:
                while sent - received >= window:
                    await asyncio.sleep(0)
                await ws.send(texts[sent % len(texts)])
                sent += 1

        task = asyncio.create_task(sender())
        while received < n:
            await ws.recv()
            received += 1
        await task
        secs = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {"pipelined_msgs_per_s": n / secs, "cpu_us_per_msg": cpu * 1e6 / n}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench_rtws")
    p.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    port = ports()
    n_piped, n_bulk, n_idle = (2000, 10, 50) if a.quick else (50000, 200, 200)
    reps = 1 if a.quick else a.reps
    rows = []

    def med(samples, key):
        return statistics.median(s[key] for s in samples)

    for deflate in (False, True):
        url = f"ws://127.0.0.1:{port['default' if deflate else 'none']}/echo"
        name = "rtws, deflate" if deflate else "rtws, no compression"
        piped = [run_rtws(a.bench_rtws, url, ["pipelined", str(n_piped), "64", "--size", "512"],
                          deflate) for _ in range(reps)]
        bulk = [run_rtws(a.bench_rtws, url, ["bulk", str(n_bulk), str(1 << 20)], deflate)
                for _ in range(reps)]
        idle = [run_rtws(a.bench_rtws, url, ["connections", str(n_idle)], deflate)
                for _ in range(reps)]
        rows.append((name, med(piped, "pipelined_msgs_per_s"), med(piped, "cpu_us_per_msg"),
                     med(piped, "wire_bytes_per_payload_byte"), med(bulk, "bulk_MB_per_s"),
                     med(bulk, "wire_bytes_per_payload_byte"), med(bulk, "bulk_peak_rss_MiB"),
                     med(idle, "connection_rss_KiB")))
    py = [asyncio.run(websockets_pipelined(f"ws://127.0.0.1:{port['default']}/echo", n_piped, 512, 64))
          for _ in range(reps)]
    rows.append(("Python websockets, deflate", med(py, "pipelined_msgs_per_s"),
                 med(py, "cpu_us_per_msg"), None, None, None, None, None))

    head = ("| client | pipelined msgs/s | client CPU µs/msg | wire B per payload B (pipelined) "
            "| bulk MB/s | wire B per payload B (bulk) | bulk peak RSS MiB | idle KiB/conn |")
    print(head)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [r[0]] + ["—" if v is None else f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
                          for v in r[1:]]
        print("| " + " | ".join(cells) + " |")
    print(f"\n(pipelined: {n_piped} × 512 B JSON, 64 in flight; bulk: {n_bulk} × 1 MiB JSON; "
          f"idle: {n_idle} connections; median of {reps}; peer: Python websockets echo)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
