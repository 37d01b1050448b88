#!/usr/bin/env python3
"""Python column of the benchmark: rtws's asyncio layer beside the `websockets` package, on
the same rtws-testserver, in the same run (clients alternate within each repetition).

    build/_pyenv/bin/python bench/python_bench.py [--quick] [--reps 3] [--server PATH]

(build/_pyenv is the tests' venv: cffi, pytest and websockets, and the binding's compiled
module, build/_pyenv/rtws-ext/_rtws_cffi.so; PYTHONPATH=python, RTWS_LIBRARY=
target/release/librtws.so and RTWS_EXTENSION=that module are set here when not given;
RTWS_FFI=abi measures cffi's ABI mode instead, and the table says which ran.) Modes, each on one
connection to /echo: latency (one 16-byte message at a time: p50/p99 of the round trip) and
pipelined (N 16-byte messages sent by one task while another receives them: msgs/s).
Prints a markdown table of medians over the repetitions; exit status 1 if a run failed.
"""
import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("RTWS_LIBRARY", os.path.join(ROOT, "target", "release", "librtws.so"))
os.environ.setdefault("RTWS_EXTENSION", os.path.join(ROOT, "build", "_pyenv", "rtws-ext",
                                                     "_rtws_cffi.so"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import rtws  # noqa: E402
from rtws import _ffi  # noqa: E402
import websockets  # noqa: E402

PAYLOAD = b"x" * 16


def clients(url):
    """name -> an async context manager opening a connection with send()/recv()."""
    return {
        f"rtws (asyncio, cffi {_ffi.MODE} mode)": lambda: rtws.connect(url),
        f"websockets {websockets.__version__}": lambda: websockets.connect(
            url, compression=None, max_size=None),
    }


async def latency(open_connection, n):
    samples = []
    async with open_connection() as ws:
        for _ in range(n):
            t = time.perf_counter()
            await ws.send(PAYLOAD)
            await ws.recv()
            samples.append(time.perf_counter() - t)
    samples.sort()
    return {"latency p50 (us)": samples[len(samples) // 2] * 1e6,
            "latency p99 (us)": samples[int(len(samples) * 0.99)] * 1e6}


async def pipelined(open_connection, n):
    async with open_connection() as ws:
        async def send():
            for _ in range(n):
                await ws.send(PAYLOAD)
        t = time.perf_counter()
        sender = asyncio.ensure_future(send())
        for _ in range(n):
            await ws.recv()
        await sender
        return {"pipelined (msgs/s)": n / (time.perf_counter() - t)}


def start_server(path):
    proc = subprocess.Popen([path, "--port", "0"], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline().split()[1])
    return proc, f"ws://127.0.0.1:{port}/echo"


async def run(url, reps, counts):
    results = {}  # client -> metric -> [values]
    for _ in range(reps):
        for name, open_connection in clients(url).items():
            for mode, n in ((latency, counts["latency"]), (pipelined, counts["pipelined"])):
                for metric, value in (await mode(open_connection, n)).items():
                    results.setdefault(name, {}).setdefault(metric, []).append(value)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default=os.path.join(ROOT, "target", "release", "rtws-testserver"))
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="small counts (the ctest smoke run)")
    opts = p.parse_args()
    counts = ({"latency": 200, "pipelined": 2000} if opts.quick
              else {"latency": 5000, "pipelined": 100000})
    proc, url = start_server(opts.server)
    try:
        results = asyncio.run(run(url, opts.reps, counts))
    finally:
        proc.terminate()
        proc.wait(5)
    metrics = list(next(iter(results.values())))
    print(f"Python clients, median of {opts.reps} (latency n={counts['latency']}, "
          f"pipelined n={counts['pipelined']}, 16-byte messages, loopback)\n")
    print("| client | " + " | ".join(metrics) + " |")
    print("|---|" + "---:|" * len(metrics))
    for name, values in results.items():
        row = [f"{statistics.median(values[m]):,.0f}" for m in metrics]
        print(f"| {name} | " + " | ".join(row) + " |")
    ok = all(v > 0 for values in results.values() for vs in values.values() for v in vs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
