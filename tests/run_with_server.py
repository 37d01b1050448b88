#!/usr/bin/env python3
"""Run one command against a fresh rtws test server (the only way tests and the demo start a peer).

usage: run_with_server.py --server PATH [--server-arg ARG]... [--expect-server REGEX]...
                          [--proxy-arg ARG]... [--expect-proxy REGEX]... [--tls]
                          [--timeout SECS] [--max-rss-mib M] [--skip-status N] -- CMD ARGS...

Starts `PATH --port 0 ARG...`, waits (10 s max) for its `PORT <n>` stdout line, replaces
`{url}` (ws://127.0.0.1:<n>) and `{port}` (<n>) in CMD/ARGS, runs the command with inherited
stdout/stderr, stops the server by its PID, then checks each --expect-server regex against the
server's stdout. When CMD/ARGS contain `{proxy}`, a second instance runs as an HTTP CONNECT
proxy (`PATH --port 0 --proxy ARG...`, ARGs from --proxy-arg), `{proxy}` becomes
http://127.0.0.1:<its port>, and --expect-proxy regexes are checked against its stdout.
With --tls, the runner makes a temporary directory, passes `--tls-dir <it>` to the server (not
to a proxy instance), which writes its test PKI there (ca.pem, client.pem, ...) and prints a
`TLS_PORT NAME <n>` line per TLS listener after the PORT line; `{tls_dir}` becomes that
directory and `{tls_port_NAME}` the port of listener NAME (e.g. {tls_port_valid}). The runner
waits (within the same 10 s) for the TLS_PORT line of every NAME the command uses, and
removes the directory when done. Without --tls, a command using them is an error.
After the command exits, its peak resident set size (ru_maxrss from wait4 on its PID: the
command itself, or its largest descendant that it waited for; never the servers) is logged as
"peak RSS of the test: X MiB"; with --max-rss-mib M, above M MiB is a failure. Linux starts a
child's ru_maxrss at the peak RSS of the process that spawned it (this runner, ~15 MiB), so a
smaller figure reads as that floor ("(or less: ...)" is logged after it then).
With --skip-status N, a command that exits with status N is taken as skipped (it said why):
the runner logs "run_with_server: SKIP: ..." instead of a failure line and exits with N too
(e.g. 77 with ctest's SKIP_RETURN_CODE 77); the server expectations are then not checked.
Exit status: the command's (128+N if killed by signal N), or 1 on timeout,
server failure, unmet expectation or too much memory. Any failure prints a line starting with
"run_with_server: FAIL" so CMake can set FAIL_REGULAR_EXPRESSION on it: that keeps a crash
visible even for tests judged by PASS_REGULAR_EXPRESSION (which makes ctest ignore exit codes).
Use --server-arg=VALUE for values that start with '-'. Python stdlib only.
"""
import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PORT_WAIT_SECS = 10
SERVER_STOP_GRACE_SECS = 3
PORT_LINE = re.compile(r"^PORT (\d+)\s*$")
TLS_PORT_LINE = re.compile(r"^TLS_PORT (\S+) (\d+)\s*$")
# The TLS placeholders in a command: {tls_dir} and {tls_port_NAME}.
TLS_PLACEHOLDER = re.compile(r"\{tls_(?:dir|port_[^{}\s]+)\}")
TLS_PORT_PLACEHOLDER = re.compile(r"\{tls_port_([^{}\s]+)\}")
# ru_maxrss is in KiB on Linux, in bytes on macOS.
RU_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
MIB = 1 << 20


def log(msg):
    print(f"run_with_server: {msg}", file=sys.stderr, flush=True)


def fail(msg, code=1):
    log(f"FAIL: {msg}")
    return code


class Server:
    """The server process plus a thread that collects its stdout (so its pipe never fills)."""

    def __init__(self, path, args, tls_names=()):
        """`tls_names`: the TLS listeners (`TLS_PORT NAME <n>` lines) to wait for as well."""
        # Same process group as us: a Ctrl-C or a group kill from above reaches it too.
        self.proc = subprocess.Popen([path, "--port", "0", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, text=True, errors="replace")
        self.lines = []
        self.port = None
        self.tls_ports = {}  # NAME -> port, from the TLS_PORT lines
        self.tls_names = frozenset(tls_names)
        # Set once the PORT line and the TLS_PORT line of every name in tls_names came, or on
        # EOF. The server prints them together, PORT first, right after binding.
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            m = PORT_LINE.match(line)
            if self.port is None and m:
                self.port = int(m.group(1))
            m = TLS_PORT_LINE.match(line)
            if self.port is not None and m and m.group(1) not in self.tls_ports:
                self.tls_ports[m.group(1)] = int(m.group(2))
            if self.port is not None and self.tls_names <= self.tls_ports.keys():
                self.ready.set()
        self.ready.set()

    def missing_tls(self):
        """The awaited TLS listener names that have no TLS_PORT line (yet), sorted."""
        return sorted(self.tls_names - self.tls_ports.keys())

    def output(self):
        return "".join(self.lines)

    def stop(self):
        """SIGTERM by PID, SIGKILL after a grace period; never by name."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(SERVER_STOP_GRACE_SECS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # A grandchild could still hold the pipe open: don't wait for it forever.
        self.reader.join(2)


def wait_with_rusage(proc, timeout):
    """Waits up to `timeout` s for `proc` and reaps it with os.wait4 (Popen.wait would throw
    its rusage away). Returns (returncode as Popen has it, ru_maxrss in bytes), or None on
    timeout (then `proc` is not reaped and can still be killed and waited for)."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        # WNOHANG polling with a growing sleep, as Popen.wait(timeout) does itself.
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
            return proc.returncode, usage.ru_maxrss * RU_MAXRSS_UNIT
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        delay = min(delay * 2, remaining, 0.05)
        time.sleep(delay)


def kill_group(proc):
    """Stop the command and everything it spawned (it leads its own process group)."""
    for sig, grace in ((signal.SIGTERM, SERVER_STOP_GRACE_SECS), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass


def server_state(server):
    try:
        return f"exited with status {server.proc.wait(0.5)}"
    except subprocess.TimeoutExpired:
        return "is still running"


def run(opts):
    if not opts.command:
        return fail("no command given after --")
    tls_names = sorted({m for a in opts.command for m in TLS_PORT_PLACEHOLDER.findall(a)})
    if not opts.tls and any(TLS_PLACEHOLDER.search(a) for a in opts.command):
        return fail("the command uses {tls_dir} or {tls_port_NAME}, which need --tls")
    tls_dir = None
    server = None
    proxy = None
    child = None
    try:
        server_args = list(opts.server_arg)
        if opts.tls:
            tls_dir = tempfile.mkdtemp(prefix="rtws-tls-")
            server_args = ["--tls-dir", tls_dir, *server_args]
        server = Server(opts.server, server_args, tls_names)
        ready = server.ready.wait(PORT_WAIT_SECS)
        if server.port is None:
            return fail(f"server {opts.server} printed no 'PORT <n>' line within "
                        f"{PORT_WAIT_SECS} s (it {server_state(server)}); its stdout was:\n"
                        f"{server.output()}")
        if not ready or server.missing_tls():
            return fail(f"server {opts.server} printed no 'TLS_PORT NAME <n>' line for "
                        f"{', '.join(server.missing_tls())} within {PORT_WAIT_SECS} s (it "
                        f"{server_state(server)}); its stdout was:\n{server.output()}")
        url = f"ws://127.0.0.1:{server.port}"
        cmd = [a.replace("{url}", url).replace("{port}", str(server.port)) for a in opts.command]
        if tls_dir is not None:
            cmd = [TLS_PORT_PLACEHOLDER.sub(lambda m: str(server.tls_ports[m.group(1)]), a)
                   .replace("{tls_dir}", tls_dir) for a in cmd]
        if any("{proxy}" in a for a in cmd):
            proxy = Server(opts.server, ["--proxy", *opts.proxy_arg])
            if not proxy.ready.wait(PORT_WAIT_SECS) or proxy.port is None:
                return fail(f"the proxy instance printed no 'PORT <n>' line:\n{proxy.output()}")
            cmd = [a.replace("{proxy}", f"http://127.0.0.1:{proxy.port}") for a in cmd]
        # The child's ru_maxrss starts at (at most) ours: see the module docstring.
        rss_floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * RU_MAXRSS_UNIT
        # Own process group, so a timeout can kill the whole tree (e.g. valgrind + helpers).
        child = subprocess.Popen(cmd, start_new_session=True)
        waited = wait_with_rusage(child, opts.timeout)
        if waited is None:
            kill_group(child)
            return fail(f"command timed out after {opts.timeout} s: {' '.join(cmd)}")
        child = None
        rc, peak_rss = waited
        server.stop()
        status = 0
        peak_mib = peak_rss / MIB
        # At or below our own peak, the figure is the floor (see the module docstring).
        floor = " (or less: the runner's own peak, counted in)" if peak_rss <= rss_floor else ""
        log(f"peak RSS of the test: {peak_mib:.1f} MiB{floor}")
        if opts.skip_status is not None and rc == opts.skip_status:
            log(f"SKIP: command exited with status {rc}, the skip status: {' '.join(cmd)}")
            return rc
        if opts.max_rss_mib is not None and peak_mib > opts.max_rss_mib:
            status = fail(f"peak RSS {peak_mib:.1f} MiB exceeds {opts.max_rss_mib:g} MiB")
        missing = [rx for rx in opts.expect_server if not re.search(rx, server.output(), re.M)]
        if proxy is not None:
            proxy.stop()
            missing += [rx for rx in opts.expect_proxy if not re.search(rx, proxy.output(), re.M)]
        if missing:
            status = fail("server output did not match %s; server stdout was:\n%s"
                          % (", ".join(repr(m) for m in missing), server.output()))
        if rc < 0:
            return fail(f"command killed by signal {-rc}", 128 - rc)
        if rc != 0:
            return fail(f"command exited with status {rc}", rc)
        return status
    finally:
        if child is not None:  # interrupted (Ctrl-C, SIGTERM) or an exception
            kill_group(child)
        if server is not None:
            server.stop()
        if proxy is not None:
            proxy.stop()
        if tls_dir is not None:
            shutil.rmtree(tls_dir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True, help="test server executable")
    p.add_argument("--server-arg", action="append", default=[], help="extra server argument")
    p.add_argument("--expect-server", action="append", default=[], metavar="REGEX",
                   help="regex that the server's stdout must match (re.search, multiline)")
    p.add_argument("--proxy-arg", action="append", default=[],
                   help="extra argument of the proxy instance (started when CMD uses {proxy})")
    p.add_argument("--expect-proxy", action="append", default=[], metavar="REGEX",
                   help="regex the proxy instance's stdout must match")
    p.add_argument("--tls", action="store_true",
                   help="serve TLS too (--tls-dir in a temporary directory): {tls_dir} and "
                        "{tls_port_NAME} in CMD/ARGS")
    p.add_argument("--timeout", type=float, default=120, help="command timeout in seconds")
    p.add_argument("--max-rss-mib", type=float, metavar="M",
                   help="fail if the command's peak resident set size is above M MiB")
    p.add_argument("--skip-status", type=int, metavar="N",
                   help="the command's exit status N means skipped: passed through, no FAIL line")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    opts = p.parse_args()
    if opts.command[:1] == ["--"]:
        opts.command = opts.command[1:]
    # Turn SIGTERM/SIGHUP (e.g. from ctest or a CI runner) into an exception so `finally` runs.
    def on_signal(signum, _frame):
        signal.signal(signum, signal.SIG_IGN)  # a second one must not interrupt the cleanup
        sys.exit(fail(f"got signal {signum}", 128 + signum))

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        return run(opts)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except OSError as e:  # e.g. server or command not found / not executable
        return fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
