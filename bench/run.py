#!/usr/bin/env python3
"""Benchmark harness: rtws (through its C API) against a plain tokio-tungstenite client
and a libwebsockets client.

    python3 bench/run.py [--quick] [--reps 3] [--bench-exe PATH] [--server PATH] [--raw PATH]
                         [--lws-exe PATH] [--no-lws]
                         [--md FILE] [--json FILE] [--no-pin] [--only GROUP[,GROUP...]]

Builds nothing except, when --bench-exe is not given, bench/bench_rtws.c with gcc into
target/bench/bench_rtws (if missing or older than its source or librtws.so), and likewise
bench/lws_client.c into target/bench/lws_client (libwebsockets-dev: installed with apt-get
when missing and running as root; otherwise the lws column is left out). Expects
`cargo build --release -p rtws -p rtws-testserver -p rtws-bench-raw` to have been run.

Starts ONE rtws-testserver (pinned to the first allowed CPU with taskset when there are
two or more), runs every client on the second CPU (the latency-1cpu group: on the
server's CPU), alternating clients within each repetition, and prints a markdown table
of medians to stdout (progress goes to stderr). The server is stopped by its PID.

The wss groups (wss-connections, wss-bulk) run the connections and bulk modes over TLS:
the server then gets a temporary --tls-dir (its test PKI, removed afterwards), and the
clients get wss://127.0.0.1:PORT/echo on its `valid` TLS port and `--ca DIR/ca.pem`.

Every client run must exit 0 and print every RESULT line it owes with a finite, positive,
sane value; otherwise the exit status is 1 (this is what the ctest `bench_smoke` checks:
no performance threshold is asserted, timing on CI machines is too noisy).
"""

import argparse
import datetime
import glob
import json
import math
import os
import platform
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")

MIB = 1024 * 1024
MIB16 = 16 * MIB
# wss_connections / wss_bulk: the wss groups' counts (TLS handshakes are costly on 2 vCPUs:
# a few seconds per run).
FULL = {"latency": 20000, "pipelined": 1000000, "inflight": 128, "bulk": 64, "size": MIB16,
        "connections": 1000, "connections_10k": 10000, "stream": 1024 * MIB,
        "chunk": 256 * 1024, "wss_connections": 200, "wss_bulk": 32, "max_secs": 60}
QUICK = {"latency": 2000, "pipelined": 50000, "inflight": 128, "bulk": 4, "size": MIB16,
         "connections": 200, "connections_10k": 400, "stream": 64 * MIB,
         "chunk": 256 * 1024, "wss_connections": 20, "wss_bulk": 2, "max_secs": 20}

# Metrics each client owes per mode (or per group, where a group has its own entry: the
# wss groups, whose clients prefix every metric with "wss_" over a wss:// URL), and the
# raw metric each rtws metric is compared with.
RAW_METRICS = {
    "latency": ["latency_p50_us", "latency_p99_us", "latency_mean_us"],
    "pipelined": ["pipelined_msgs_per_s", "pipelined_hbatch_msgs_per_s",
                  "pipelined_cpu_us_per_msg"],
    "bulk": ["bulk_MB_per_s", "bulk_peak_rss_MiB"],
    "connections": ["connections_per_s", "connection_rss_KiB"],
    "stream": ["stream_MB_per_s", "stream_peak_rss_MiB"],
    "wss-connections": ["wss_connections_per_s", "wss_connection_rss_KiB"],
    "wss-bulk": ["wss_bulk_MB_per_s", "wss_bulk_peak_rss_MiB"],
}
RTWS_METRICS = {
    "latency": [f"latency_{v}_{s}" for v in ("handler", "blocking", "blocking_nowait", "queue")
                for s in ("p50_us", "p99_us", "mean_us")] + ["latency_handoff_us"],
    "pipelined": ["pipelined_msgs_per_s", "pipelined_hbatch_msgs_per_s",
                  "pipelined_cpu_us_per_msg", "pipelined_burst_msgs_per_s",
                  "pipelined_queue_msgs_per_s", "pipelined_queue_hbatch_msgs_per_s"],
    "bulk": ["bulk_MB_per_s", "bulk_peak_rss_MiB", "bulk_partial_MB_per_s",
             "bulk_partial_peak_rss_MiB"],
    "connections": ["connections_per_s", "connection_rss_KiB"],
    "stream": ["stream_MB_per_s", "stream_peak_rss_MiB", "stream_handler_MB_per_s",
               "stream_handler_peak_rss_MiB"],
    "wss-connections": ["wss_connections_per_s", "wss_connection_rss_KiB"],
    "wss-bulk": ["wss_bulk_MB_per_s", "wss_bulk_peak_rss_MiB", "wss_bulk_partial_MB_per_s",
                 "wss_bulk_partial_peak_rss_MiB"],
}


# The C++ client (bench_cpp.cpp: bench_rtws's handler variants through the C++ projection)
# owes these, in the groups that have them; it is compared with "rtws T=1" in its own table.
CPP_METRICS = {
    "latency": [f"latency_handler_{s}" for s in ("p50_us", "p99_us", "mean_us")],
    "pipelined": ["pipelined_msgs_per_s"],
}
CPP_CLIENT = "rtws C++ T=1"

# The libwebsockets client (lws_client.c) has the raw client's modes and metric names for
# these groups (not stream).
LWS_METRICS = {g: RAW_METRICS[g] for g in ("latency", "pipelined", "bulk", "connections",
                                           "wss-connections", "wss-bulk")}
LWS_GROUPS = ("latency", "latency-1cpu", "pipelined", "bulk", "connections",
              "connections-10k", "wss-connections", "wss-bulk")
LWS_CLIENT = "lws"


def metrics(table, group, mode):
    """The metrics a client owes in `group` (running `mode`)."""
    return table[group] if group in table else table[mode]


def baseline_of(metric):
    """The raw-client metric an rtws metric is compared with."""
    for v in ("_handler_", "_blocking_nowait_", "_blocking_", "_queue_"):
        if metric.startswith("latency") and v in metric:
            return metric.replace(v, "_")
    if metric in ("pipelined_burst_msgs_per_s", "pipelined_queue_hbatch_msgs_per_s"):
        return "pipelined_hbatch_msgs_per_s"
    if metric == "pipelined_queue_msgs_per_s":
        return "pipelined_msgs_per_s"
    if metric.startswith("stream_handler_"):
        return metric.replace("_handler_", "_")
    if "bulk_partial_" in metric:
        return metric.replace("_partial_", "_")
    return metric


# The queue variants (a socket bound to a DispatcherQueue that the client's main thread
# drains, polling its fd) and the inline variant (handlers on rtws's I/O thread) each is
# compared with in the second table.
QUEUE_VS_INLINE = {f"latency_queue_{s}": f"latency_handler_{s}"
                   for s in ("p50_us", "p99_us", "mean_us")}
QUEUE_VS_INLINE.update({"pipelined_queue_msgs_per_s": "pipelined_msgs_per_s",
                        "pipelined_queue_hbatch_msgs_per_s": "pipelined_hbatch_msgs_per_s"})


LABELS = {
    "latency_p50_us": "p50 µs",
    "latency_p99_us": "p99 µs",
    "latency_mean_us": "mean µs",
    "pipelined_msgs_per_s": "64 B msgs/s, 128 in flight, one send per echo",
    "pipelined_hbatch_msgs_per_s": "64 B msgs/s, window refilled by halves (hbatch)",
    "pipelined_cpu_us_per_msg": "client CPU µs per echo (user + system, getrusage), one send "
                                "per echo",
    "pipelined_burst_msgs_per_s": "64 B msgs/s, main thread refills by halves (burst)",
    "pipelined_queue_msgs_per_s": "64 B msgs/s, one send per echo, DispatcherQueue (queue)",
    "pipelined_queue_hbatch_msgs_per_s":
        "64 B msgs/s, refilled by halves, DispatcherQueue (queue_hbatch)",
    "bulk_MB_per_s": "16 MiB echoes, MB/s sent+received",
    "bulk_peak_rss_MiB": "16 MiB echoes, peak RSS MiB",
    "bulk_partial_MB_per_s": "16 MiB echoes, an IBuffer sent without a copy, echoes read in "
                             "PartialMessage pieces (partial), MB/s sent+received",
    "bulk_partial_peak_rss_MiB": "16 MiB echoes, IBuffer sent, pieces read (partial), "
                                 "peak RSS MiB",
    "connections_per_s": "connections/s ({n:,} concurrent)",
    "connection_rss_KiB": "RSS per open connection KiB",
    "stream_MB_per_s": "{stream} stream in {chunk} messages (StreamWebSocket), a sender and "
                       "a reader thread Wait, MB/s sent+received",
    "stream_peak_rss_MiB": "{stream} stream in {chunk} messages (StreamWebSocket), peak RSS MiB",
    "stream_handler_MB_per_s": "{stream} stream in {chunk} messages, Completed handlers "
                               "issue the next write and read (handler), MB/s sent+received",
    "stream_handler_peak_rss_MiB":
        "{stream} stream in {chunk} messages, Completed handlers (handler), peak RSS MiB",
    "wss_connections_per_s": "wss connections/s ({wss_n:,} concurrent)",
    "wss_connection_rss_KiB": "wss: RSS per open connection KiB",
    "wss_bulk_MB_per_s": "wss 16 MiB echoes, MB/s sent+received",
    "wss_bulk_peak_rss_MiB": "wss 16 MiB echoes, peak RSS MiB",
    "wss_bulk_partial_MB_per_s": "wss 16 MiB echoes, IBuffer sent, pieces read (partial), "
                                 "MB/s sent+received",
    "wss_bulk_partial_peak_rss_MiB": "wss 16 MiB echoes, IBuffer sent, pieces read (partial), "
                                     "peak RSS MiB",
}


def size_name(n):
    """1073741824 -> '1 GiB', 262144 -> '256 KiB'."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def label(group, metric, cfg):
    where = "1 CPU" if group == "latency-1cpu" else "2 CPUs"
    if metric == "latency_handoff_us":
        return (f"condvar hand-off between two threads on the client's CPU ({where}; no rtws: "
                "the floor of what blocking adds to handler), µs")
    if metric.startswith("latency"):
        variant = "raw"
        for v in ("blocking_nowait", "blocking", "handler", "queue"):
            if f"_{v}_" in metric:
                variant = v
                break
        stat = LABELS[baseline_of(metric)]
        return f"32 B round trip ({where}), {variant}: {stat}"
    n = cfg["connections_10k" if group == "connections-10k" else "connections"]
    return LABELS[metric].format(n=n, stream=size_name(cfg["stream"]),
                                 chunk=size_name(cfg["chunk"]), wss_n=cfg["wss_connections"])


HIGHER_IS_BETTER = {"pipelined_msgs_per_s", "pipelined_hbatch_msgs_per_s",
                    "pipelined_burst_msgs_per_s", "pipelined_queue_msgs_per_s",
                    "pipelined_queue_hbatch_msgs_per_s", "bulk_MB_per_s", "connections_per_s",
                    "stream_MB_per_s", "stream_handler_MB_per_s", "wss_connections_per_s",
                    "wss_bulk_MB_per_s", "bulk_partial_MB_per_s", "wss_bulk_partial_MB_per_s"}
SANE = {"latency": (0.0, 1e6), "pipelined": (0.0, 1e9), "bulk_MB": (0.0, 1e6),
        "bulk_peak": (0.0, 1e6), "connections_per_s": (0.0, 1e8),
        "connection_rss": (0.0, 1e5), "stream_MB": (0.0, 1e6), "stream_peak": (0.0, 1e6),
        "stream_handler_MB": (0.0, 1e6), "stream_handler_peak": (0.0, 1e6),
        "wss_bulk_MB": (0.0, 1e6), "wss_bulk_peak": (0.0, 1e6),
        "bulk_partial_MB": (0.0, 1e6), "bulk_partial_peak": (0.0, 1e6),
        "wss_bulk_partial_MB": (0.0, 1e6), "wss_bulk_partial_peak": (0.0, 1e6),
        "wss_connections_per_s": (0.0, 1e8), "wss_connection_rss": (0.0, 1e5)}


def sane(metric, value):
    for prefix, (lo, hi) in SANE.items():
        if metric.startswith(prefix):
            return lo < value < hi
    return value > 0


# Every group, in the order they run (see main).
GROUPS = ["latency", "latency-1cpu", "pipelined", "bulk", "connections", "connections-10k",
          "stream", "wss-connections", "wss-bulk"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small counts (CI smoke, < 60 s)")
    p.add_argument("--reps", type=int, default=3, help="repetitions per client (median)")
    p.add_argument("--bench-exe", help="bench_rtws binary (default: build target/bench/bench_rtws)")
    p.add_argument("--cpp-exe", help="bench_cpp binary (default: build target/bench/bench_cpp)")
    p.add_argument("--no-cpp", action="store_true", help="skip the C++ projection's client")
    p.add_argument("--lws-exe", help="lws_client binary (default: build target/bench/lws_client)")
    p.add_argument("--no-lws", action="store_true", help="skip the libwebsockets client")
    p.add_argument("--server", default=os.path.join(RELEASE, "rtws-testserver"))
    p.add_argument("--raw", default=os.path.join(RELEASE, "rtws-bench-raw"))
    p.add_argument("--md", help="also write the markdown report to this file")
    p.add_argument("--json", help="write every sample (all repetitions) as JSON to this file")
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
    p.add_argument("--no-raw-mt", action="store_true",
                   help="skip the multi-thread flavour of the raw client")
    p.add_argument("--only", metavar="GROUP[,GROUP...]",
                   help="run only these groups (" + ", ".join(GROUPS) + ")")
    a = p.parse_args()
    if a.reps < 1 or a.reps > 9:
        p.error("--reps must be 1..9")
    if a.only is not None:
        a.only = [g.strip() for g in a.only.split(",") if g.strip()]
        unknown = [g for g in a.only if g not in GROUPS]
        if unknown or not a.only:
            p.error(f"--only: unknown group {', '.join(unknown) or '(none)'}; "
                    f"groups: {', '.join(GROUPS)}")
    return a


def build_bench_exe(cpp=False):
    name = "bench_cpp" if cpp else "bench_rtws"
    src = os.path.join(ROOT, "bench", name + (".cpp" if cpp else ".c"))
    lib = os.path.join(RELEASE, "librtws.so")
    out_dir = os.path.join(ROOT, "target", "bench")
    exe = os.path.join(out_dir, name)
    if not os.path.exists(lib):
        sys.exit(f"run.py: {lib} is missing: cargo build --release -p rtws first")
    # The library's SONAME is librtws.so.0.1; only the CMake build makes that link, and a
    # client linked against the .so is looked up by it at run time.
    soname = os.path.join(RELEASE, "librtws.so.0.1")
    if not os.path.exists(soname):
        os.symlink("librtws.so", soname)
    # bench_cpp also depends on the C++ headers.
    deps = [src, lib] + (glob.glob(os.path.join(ROOT, "include", "rtws", "*.h")) if cpp else [])
    if os.path.exists(exe) and os.path.getmtime(exe) >= max(map(os.path.getmtime, deps)):
        return exe
    cc = (shutil.which("g++") or shutil.which("c++")) if cpp else (shutil.which("gcc") or shutil.which("cc"))
    if not cc:
        sys.exit(f"run.py: no compiler to build {os.path.basename(src)}; pass "
                 f"{'--cpp-exe' if cpp else '--bench-exe'}")
    os.makedirs(out_dir, exist_ok=True)
    std = "-std=c++20" if cpp else "-std=c11"
    cmd = [cc, "-O2", std, "-Wall", "-I", os.path.join(ROOT, "include"), src, "-o", exe,
           "-L", RELEASE, "-lrtws", "-lpthread", "-lm", f"-Wl,-rpath,{RELEASE}"]
    log("building:", " ".join(cmd))
    subprocess.run(cmd, check=True, timeout=120)
    return exe


def have_lws():
    """Whether libwebsockets' header and library can be compiled against."""
    if shutil.which("pkg-config"):
        r = subprocess.run(["pkg-config", "--exists", "libwebsockets"], timeout=30)
        return r.returncode == 0
    return os.path.exists("/usr/include/libwebsockets.h")


def install_lws():
    """apt-get install libwebsockets-dev, only as root on a system with apt-get."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("run.py: note: libwebsockets-dev is missing (and this is not root with apt-get): "
            "no lws column; install it, or pass --no-lws to silence this")
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("run.py: installing libwebsockets-dev (apt-get)")
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "libwebsockets-dev"]):
        try:
            r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            log(f"run.py: note: {' '.join(cmd)}: {e}: no lws column")
            return False
        if r.returncode != 0:
            log(f"run.py: note: {' '.join(cmd)} failed ({r.returncode}): no lws column")
            return False
    return have_lws()


def build_lws_exe():
    """target/bench/lws_client, built when missing or stale; None: no lws column."""
    src = os.path.join(ROOT, "bench", "lws_client.c")
    out_dir = os.path.join(ROOT, "target", "bench")
    exe = os.path.join(out_dir, "lws_client")
    if not have_lws() and not install_lws():
        return None
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src):
        return exe
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        log("run.py: note: no C compiler to build lws_client.c: no lws column")
        return None
    flags = ["-lwebsockets"]
    if shutil.which("pkg-config"):
        r = subprocess.run(["pkg-config", "--cflags", "--libs", "libwebsockets"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0 and r.stdout.strip():
            flags = r.stdout.split()
    os.makedirs(out_dir, exist_ok=True)
    cmd = [cc, "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", src, "-o", exe] + flags + ["-lm"]
    log("building:", " ".join(cmd))
    subprocess.run(cmd, check=True, timeout=120)
    return exe


def cpus():
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


class Server:
    """The one test server, started once, stopped by its PID.

    With `tls_dir`, the server writes its test PKI there and serves TLS too; `tls_port` is
    then its `valid` listener (certificate for 127.0.0.1 signed by tls_dir/ca.pem)."""

    def __init__(self, exe, cpu, budget_secs, tls_dir=None):
        self.err = tempfile.TemporaryFile()
        cmd = [exe, "--port", "0", "--exit-after-secs", str(int(budget_secs))]
        if tls_dir:
            cmd += ["--tls-dir", tls_dir]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        log("server:", " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err)
        self.tls_port = None
        # `PORT n` first, then (with --tls-dir) `TLS_PORT NAME n` lines: read the pipe's
        # descriptor directly (bounded), so no line waits in a Python buffer unseen.
        fd = self.proc.stdout.fileno()
        data = b""
        lines = []
        deadline = time.monotonic() + 10
        while True:
            lines = data.decode(errors="replace").split("\n")[:-1]  # complete lines
            if lines and (not tls_dir or any(l.startswith("TLS_PORT valid ") for l in lines)):
                break
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], left)[0] if left > 0 else []
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                break
            data += chunk
        first = lines[0] if lines else data.decode(errors="replace")
        if not first.startswith("PORT "):
            self.stop()
            sys.exit(f"run.py: the server did not print its port (got {first!r}){self.stderr()}")
        self.port = int(first.split()[1])
        if tls_dir:
            valid = [l for l in lines if l.startswith("TLS_PORT valid ")]
            if not valid:
                self.stop()
                sys.exit(f"run.py: the server did not print its TLS port `valid` "
                         f"(got {lines!r}){self.stderr()}")
            self.tls_port = int(valid[0].split()[2])

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        self.err.seek(0)
        text = self.err.read().decode(errors="replace").strip()
        return f"\nserver stderr:\n{text}" if text else ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()


def parse_results(text):
    out = {}
    for line in text.splitlines():
        if not line.startswith("RESULT "):
            continue
        kv = dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
        try:
            out[kv["metric"]] = (float(kv["value"]), int(kv.get("n", "0")))
        except (KeyError, ValueError):
            continue
    return out


def main():
    a = parse_args()
    cfg = QUICK if a.quick else FULL
    try:
        a.load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        a.load_before = "?"
    bench_exe = a.bench_exe or build_bench_exe()
    cpp_exe = None if a.no_cpp else (a.cpp_exe or build_bench_exe(cpp=True))
    exes = [(bench_exe, "--bench-exe"), (a.server, "--server"), (a.raw, "--raw")]
    if cpp_exe:
        exes.append((cpp_exe, "--cpp-exe"))
    lws_exe = None if a.no_lws else (a.lws_exe or build_lws_exe())
    if lws_exe:
        exes.append((lws_exe, "--lws-exe"))
    for path, what in exes:
        if not os.access(path, os.X_OK):
            sys.exit(f"run.py: {what} {path} is not an executable; build it first "
                     "(cargo build --release -p rtws -p rtws-testserver -p rtws-bench-raw)")

    allowed = cpus()
    pin = not a.no_pin and shutil.which("taskset") is not None and len(allowed) >= 2
    server_cpu = allowed[0] if pin else None
    client_cpu = allowed[1] if pin else None

    # (name, base command, extra env)
    clients = [("raw", [a.raw], {}, "raw")]
    if not a.no_raw_mt:
        clients.append(("raw-mt", [a.raw], {}, "raw"))
    if lws_exe:
        clients.append((LWS_CLIENT, [lws_exe], {}, "lws"))
    clients += [("rtws T=1", [bench_exe], {"RTWS_WORKER_THREADS": "1"}, "rtws"),
                ("rtws T=2", [bench_exe], {"RTWS_WORKER_THREADS": "2"}, "rtws")]
    if cpp_exe:
        clients.append((CPP_CLIENT, [cpp_exe], {"RTWS_WORKER_THREADS": "1"}, "cpp"))

    # (group, mode, arguments, client CPU, over TLS)
    groups = [
        ("latency", "latency", [str(cfg["latency"])], client_cpu, False),
        ("latency-1cpu", "latency", [str(cfg["latency"])], server_cpu, False),
        ("pipelined", "pipelined", [str(cfg["pipelined"]), str(cfg["inflight"])], client_cpu,
         False),
        ("bulk", "bulk", [str(cfg["bulk"]), str(cfg["size"])], client_cpu, False),
        ("connections", "connections", [str(cfg["connections"])], client_cpu, False),
        ("connections-10k", "connections", [str(cfg["connections_10k"])], client_cpu, False),
        ("stream", "stream", [str(cfg["stream"]), str(cfg["chunk"])], client_cpu, False),
        ("wss-connections", "connections", [str(cfg["wss_connections"])], client_cpu, True),
        ("wss-bulk", "bulk", [str(cfg["wss_bulk"]), str(cfg["size"])], client_cpu, True),
    ]
    assert [g[0] for g in groups] == GROUPS
    if not pin:
        groups = [g for g in groups if g[0] != "latency-1cpu"]
    if a.only:
        if "latency-1cpu" in a.only and not pin:
            log("run.py: latency-1cpu needs pinning (two CPUs and taskset); skipped")
        groups = [g for g in groups if g[0] in a.only]
    if any(g[0] == "connections-10k" for g in groups):
        # Each of the N connections is a descriptor in the client and one in the server:
        # the soft limit (1,024 on many systems) goes up to the hard one for the
        # children, or the group is left out.
        need = cfg["connections_10k"] + 256
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < need and (hard == resource.RLIM_INFINITY or hard >= need):
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        elif soft < need:
            log(f"run.py: connections-10k needs {need} open files, the hard limit is "
                f"{hard}; skipped")
            groups = [g for g in groups if g[0] != "connections-10k"]

    max_secs = cfg["max_secs"]
    run_timeout = max_secs * 3 + 30
    budget = len(groups) * len(clients) * a.reps * run_timeout + 60
    samples = {}  # (group, client, metric) -> [values]
    problems = []
    started = time.time()
    # The wss groups: the server's test PKI goes into a temporary directory.
    tls_tmp = (tempfile.TemporaryDirectory(prefix="rtws-bench-tls-")
               if any(g[4] for g in groups) else None)
    try:
        server = Server(a.server, server_cpu, budget, tls_tmp.name if tls_tmp else None)
    except BaseException:
        if tls_tmp:
            tls_tmp.cleanup()
        raise
    url = f"ws://127.0.0.1:{server.port}/echo"
    wss_url = f"wss://127.0.0.1:{server.tls_port}/echo" if tls_tmp else None
    ca = os.path.join(tls_tmp.name, "ca.pem") if tls_tmp else None
    log(f"server on port {server.port}" +
        (f", TLS (valid) on port {server.tls_port}" if tls_tmp else "") +
        f" (cpu {server_cpu}); clients on cpu {client_cpu}")
    try:
        for group, mode, args, cpu, tls in groups:
            for rep in range(a.reps):
                # Alternate: each repetition rotates the order of the clients.
                order = clients[rep % len(clients):] + clients[:rep % len(clients)]
                for name, base, env_extra, kind in order:
                    if kind == "cpp" and group not in CPP_METRICS:
                        continue  # the C++ client has the latency and pipelined modes only
                    if kind == "lws" and group not in LWS_GROUPS:
                        continue  # lws_client: no stream mode
                    if not server.alive():
                        problems.append(f"the server died{server.stderr()}")
                        raise RuntimeError("server died")
                    cmd = base + [wss_url if tls else url, mode] + args
                    cmd += ["--max-secs", str(max_secs)]
                    if tls:
                        cmd += ["--ca", ca]
                    if name == "raw-mt":
                        cmd += ["--flavor", "multi", "--threads", "2"]
                    if cpu is not None:
                        cmd = ["taskset", "-c", str(cpu)] + cmd
                    env = dict(os.environ)
                    env.pop("RTWS_WORKER_THREADS", None)
                    env.update(env_extra)
                    t0 = time.time()
                    try:
                        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                              timeout=run_timeout)
                        rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
                    except subprocess.TimeoutExpired as e:
                        rc, stderr = "timeout", str(e.stderr or "")
                        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
                    res = parse_results(stdout)
                    table = {"raw": RAW_METRICS, "cpp": CPP_METRICS,
                             "lws": LWS_METRICS}.get(kind, RTWS_METRICS)
                    owed = metrics(table, group, mode)
                    log(f"[{group} rep {rep + 1}/{a.reps}] {name}: rc={rc} "
                        f"{time.time() - t0:.1f}s " +
                        " ".join(f"{m}={res[m][0]:.1f}" for m in owed if m in res))
                    if mode in ("connections", "stream"):
                        # The clients' own summary (connections: RSS before/open/after,
                        # close time; stream: CPU time).
                        for line in stderr.splitlines():
                            if f"{mode}:" in line:
                                log("    " + line.strip())
                    if rc != 0:
                        problems.append(f"{group}/{name} rep {rep + 1}: exit status {rc}: "
                                        f"{stderr.strip()[-500:]}")
                    for m in owed:
                        if m not in res:
                            problems.append(f"{group}/{name} rep {rep + 1}: no RESULT {m}")
                            continue
                        value, n = res[m]
                        if not (math.isfinite(value) and sane(m, value) and n > 0):
                            problems.append(f"{group}/{name} rep {rep + 1}: {m}={value} n={n} "
                                            "is not a sane value")
                            continue
                        samples.setdefault((group, name, m), []).append(value)
    except RuntimeError:
        pass
    finally:
        server.stop()
        if tls_tmp:
            tls_tmp.cleanup()
    elapsed = time.time() - started

    md = report(a, cfg, groups, clients, samples, pin, server_cpu, client_cpu, elapsed)
    print(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"config": cfg, "quick": a.quick, "elapsed_s": elapsed,
                       "samples": [{"group": g, "client": c, "metric": m, "values": v}
                                   for (g, c, m), v in sorted(samples.items())],
                       "problems": problems}, f, indent=1)
    if problems:
        log("\nPROBLEMS:")
        for p in problems:
            log(" -", p)
        return 1
    return 0


def fmt(v):
    if v is None:
        return "–"
    if v >= 10000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v < 1:
        return f"{v:.2f}"  # CPU µs per echo
    return f"{v:.1f}"


def lws_version():
    """libwebsockets' version as pkg-config reports it (the package the client built with)."""
    try:
        r = subprocess.run(["pkg-config", "--modversion", "libwebsockets"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip().rstrip("-") or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def git_state():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src",
                                "Cargo.toml", "Cargo.lock"],
                               capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "commit unknown"
    if not head:
        return "commit unknown (not a git checkout)"
    if not dirty.strip():
        return f"commit {head}"
    # Porcelain lines are "XY path" (a rename: "XY old -> new").
    paths = sorted({"src/" if line[3:].startswith("src/") else line[3:].split(" -> ")[-1]
                    for line in dirty.splitlines() if len(line) > 3})
    return f"commit {head} + uncommitted changes in {', '.join(paths)}"


def report(a, cfg, groups, clients, samples, pin, server_cpu, client_cpu, elapsed):
    def med(g, c, m):
        v = samples.get((g, c, m))
        return statistics.median(v) if v else None

    names = [c[0] for c in clients]
    rtws_names = [n for n in names if n.startswith("rtws")]
    c_names = [n for n in rtws_names if n != CPP_CLIENT]
    lines = []
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "?"
    lines.append(f"rtws benchmark, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
                 f"{'quick' if a.quick else 'full'} run, median of {a.reps}, "
                 f"{elapsed:.0f} s")
    lines.append("")
    lines.append(f"- machine: nproc {os.cpu_count()}, {model}, {platform.system()} "
                 f"{platform.release()}, load average before the run {a.load_before}")
    lines.append(f"- rtws: {git_state()}")
    lines.append(f"- pinning: " + (f"server on CPU {server_cpu}, clients on CPU {client_cpu} "
                                   f"(latency-1cpu: clients on CPU {server_cpu})"
                                   if pin else "none"))
    counts = {
        "latency": f"latency {cfg['latency']} round trips (+ warm-up)",
        "pipelined": f"pipelined {cfg['pipelined']} messages ({cfg['inflight']} in flight)",
        "bulk": f"bulk {cfg['bulk']} × {size_name(cfg['size'])}",
        "connections": f"connections {cfg['connections']} opened at once",
        "connections-10k": f"connections {cfg['connections_10k']} opened at once",
        "stream": f"stream {size_name(cfg['stream'])} in {size_name(cfg['chunk'])} messages "
                  "(16 outstanding)",
        "wss-connections": f"wss connections {cfg['wss_connections']} opened at once",
        "wss-bulk": f"wss bulk {cfg['wss_bulk']} × {size_name(cfg['size'])}",
    }
    keys = list(dict.fromkeys(group if group in counts else mode
                              for group, mode, _, _, _ in groups))
    lines.append("- counts: " + ", ".join(counts[k] for k in keys))
    lines.append("- raw = tokio-tungstenite 0.30, current_thread runtime; raw-mt = the same on "
                 "a 2-worker multi_thread runtime; rtws T=n = RTWS_WORKER_THREADS=n; "
                 f"{CPP_CLIENT} = bench_cpp.cpp, the handler variants through the C++ "
                 "projection (latency and pipelined only)" +
                 (f"; {LWS_CLIENT} = lws_client.c, libwebsockets {lws_version()} (one lws_context, "
                  "its service loop; no stream)"
                  if LWS_CLIENT in names else ""))
    if any(g[4] for g in groups):
        lines.append("- wss: the test server's `valid` TLS port, its ca.pem as an extra root "
                     "(rtws: TrustedRootCertificates on every socket; raw: native-tls, one "
                     "TlsConnector for all connections, all records a write takes at once" +
                     ("; lws: the context's client_ssl_ca_filepath, one client SSL_CTX for all "
                      "connections" if LWS_CLIENT in names else "") + ")")
    lines.append("")
    # rtws against libwebsockets: the C API's two worker counts (the C++ client is compared
    # with the C API in its own table).
    lws_ratio_names = c_names if LWS_CLIENT in names else []
    head = (["metric"] + names + [f"{n}/raw" for n in rtws_names] +
            [f"{n}/{LWS_CLIENT}" for n in lws_ratio_names])
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * 1 + "---:|" * (len(head) - 1))
    for group, mode, _, _, _ in groups:
        for m in metrics(RTWS_METRICS, group, mode):
            base = baseline_of(m)
            row = [label(group, m, cfg)]
            raw_v = lws_v = None
            for n in names:
                is_baseline = n.startswith("raw") or n == LWS_CLIENT
                v = med(group, n, base if is_baseline else m)
                if n == "raw":
                    raw_v = v
                if n == LWS_CLIENT:
                    lws_v = v
                row.append(fmt(v))
            for names_, ref in ((rtws_names, raw_v), (lws_ratio_names, lws_v)):
                for n in names_:
                    v = med(group, n, m)
                    if v is None or not ref:
                        row.append("–")
                        continue
                    cell = f"{v / ref:.2f}×"
                    if m.startswith("latency"):
                        cell += f" ({v - ref:+.1f} µs)"
                    row.append(cell)
            lines.append("| " + " | ".join(row) + " |")

    # Queue vs inline, rtws client by rtws client, from the same runs.
    queue_rows = []
    for group, mode, _, _, _ in groups:
        for m in metrics(RTWS_METRICS, group, mode):
            inline = QUEUE_VS_INLINE.get(m)
            if not inline:
                continue
            row = [label(group, m, cfg)]
            for n in c_names:
                q, i = med(group, n, m), med(group, n, inline)
                cell = f"{fmt(i)} → {fmt(q)}"
                if q is not None and i:
                    cell += f": {q / i:.2f}×"
                    if m.startswith("latency"):
                        cell += f" ({q - i:+.1f} µs)"
                row.append(cell)
            queue_rows.append("| " + " | ".join(row) + " |")
    if queue_rows:
        lines.append("")
        lines.append("DispatcherQueue vs inline (inline → queue: ratio): the queue variant's "
                     "socket is bound to a DispatcherQueue that the client's main thread "
                     "drains (poll on its fd, RunPending); inline = handler (latency), one send "
                     "per echo / hbatch (pipelined), same process, same run.")
        lines.append("")
        lines.append("| metric | " + " | ".join(c_names) + " |")
        lines.append("|---|" + "---:|" * len(c_names))
        lines.extend(queue_rows)

    # The C++ projection against the C API, both with one worker thread, same runs. Target
    # (issue 12): within 1 µs at p50, within 5% of the msgs/s.
    cpp_rows = []
    for group, mode, _, _, _ in groups:
        if CPP_CLIENT not in names or group not in CPP_METRICS:
            continue
        for m in metrics(CPP_METRICS, group, mode):
            c, cpp = med(group, "rtws T=1", m), med(group, CPP_CLIENT, m)
            cell = "–"
            if c and cpp is not None:
                cell = (f"{cpp - c:+.1f} µs" if m.startswith("latency") else f"{(cpp / c - 1) * 100:+.1f} %")
            cpp_rows.append(f"| {label(group, m, cfg)} | {fmt(c)} | {fmt(cpp)} | {cell} |")
    if cpp_rows:
        lines.append("")
        lines.append(f"C++ projection vs C API ({CPP_CLIENT} vs rtws T=1, same run; target: "
                     "p50 within 1 µs, msgs/s within 5 %).")
        lines.append("")
        lines.append("| metric | rtws T=1 (C) | C++ | C++ − C |")
        lines.append("|---|---:|---:|---:|")
        lines.extend(cpp_rows)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
