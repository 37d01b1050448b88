#!/usr/bin/env python3
"""Checks the test server's /stream route byte for byte, from a raw-socket client.

usage: stream_route_check.py [--server PATH] [--big-mib M] [--stall]

Starts `PATH --port 0` (default: $RTWS_TESTSERVER, else target/debug/rtws-testserver of this
workspace), then over plain TCP, with its own minimal client (handshake, frame parser):
  - /stream?bytes=3000000&frames=3: frames Binary FIN=0, Continuation FIN=0, Continuation
    FIN=1 of 1000000 bytes each, every byte `i % 251`; then an echo; then a close handshake;
  - a few other shapes (default route size, type=text, then=close, uneven and empty frames,
    small chunk=);
  - /stream?bytes=M MiB (--big-mib, default 64; 0 skips): checked the same way, and on Linux
    the server's peak RSS (VmHWM) before and after is printed (it must not grow by the message
    size);
  - --stall (takes ~2.5 min): a client that reads nothing must be dropped by the server after
    its 120 s write stall limit, with `client stopped reading` on its stderr.
The server is stopped by its PID. Every socket operation has a timeout. Python stdlib only.
Exit status 0 if all checks pass.
"""
import argparse
import base64
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IO_TIMEOUT = 20  # seconds per socket operation
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STALL_LIMIT = 120  # the server's HOLD


class Server:
    def __init__(self, path):
        self.proc = subprocess.Popen([path, "--port", "0", "--exit-after-secs", "600"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        self.port = None
        self.stderr = []
        ready = threading.Event()

        def read_stdout():
            for line in self.proc.stdout:
                m = re.match(r"PORT (\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        def read_stderr():
            for line in self.proc.stderr:
                self.stderr.append(line)

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        if not ready.wait(10) or self.port is None:
            self.stop()
            raise SystemExit("FAIL: the server printed no PORT line within 10 s")

    def peak_rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def stop(self):
        """By PID: SIGTERM, SIGKILL after 3 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Client:
    def __init__(self, port, target):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.buf = bytearray()
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n") + 4
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end]
        check(head.startswith("HTTP/1.1 101"), f"{target}: no 101: {head!r}")
        headers = dict((k.strip().lower(), v.strip()) for k, _, v in
                       (line.partition(":") for line in head.split("\r\n")[1:] if line))
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        check(headers.get("sec-websocket-accept") == accept,
              f"{target}: wrong Sec-WebSocket-Accept: {head!r}")

    def _fill(self, want=65536):
        data = self.sock.recv(want)
        if not data:
            raise EOFError("connection closed by the server")
        self.buf += data

    def exact(self, n):
        while len(self.buf) < n:
            self._fill(max(65536, n - len(self.buf)))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def header(self):
        """(fin, rsv, opcode, masked, length) of the next frame."""
        b0, b1 = self.exact(2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(self.exact(2), "big")
        elif length == 127:
            length = int.from_bytes(self.exact(8), "big")
        return bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, bool(b1 & 0x80), length

    def payload_pieces(self, length, piece=1 << 20):
        """Yields the payload in pieces, without holding all of it."""
        left = length
        while left:
            if not self.buf:
                self._fill(min(piece, left))
            n = min(left, len(self.buf))
            out = bytes(self.buf[:n])
            del self.buf[:n]
            left -= n
            yield out

    def send(self, opcode, payload=b""):
        """One masked client frame with FIN."""
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def small_frame(self):
        fin, _, opcode, _, length = self.header()
        return fin, opcode, self.exact(length)

    def close(self):
        self.sock.close()


FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print(f"  FAIL: {msg}", flush=True)
    return cond


def expected_sizes(total, frames):
    frames = max(frames, 1)
    base, longer = divmod(total, frames)
    return [base + (1 if k < longer else 0) for k in range(frames)]


def read_message(client, label, total, frames, text):
    """Reads the streamed message; checks headers, sizes and every byte. Returns its sha256."""
    period = 26 if text else 251
    pattern = bytes((ord("a") + k % 26) if text else (k % 251) for k in range((1 << 20) + period))
    sha = hashlib.sha256()
    offset = 0
    sizes = expected_sizes(total, frames)
    for k, size in enumerate(sizes):
        fin, rsv, opcode, masked, length = client.header()
        want_op = (1 if text else 2) if k == 0 else 0
        check(opcode == want_op, f"{label}: frame {k} opcode {opcode}, want {want_op}")
        check(fin == (k == len(sizes) - 1), f"{label}: frame {k} FIN={fin}")
        check(rsv == 0 and not masked, f"{label}: frame {k} rsv={rsv} masked={masked}")
        if not check(length == size, f"{label}: frame {k} length {length}, want {size}"):
            raise SystemExit(f"FAIL: {label}: cannot go on after a wrong frame length")
        bad = None
        for piece in client.payload_pieces(length):
            at = offset % period
            if bad is None and piece != pattern[at:at + len(piece)]:
                i = next(j for j in range(len(piece)) if piece[j] != pattern[at + j])
                bad = (offset + i, piece[i], pattern[at + i])
            sha.update(piece)
            offset += len(piece)
        if bad:
            check(False, f"{label}: byte {bad[0]} is {bad[1]}, want {bad[2]}")
    check(offset == total, f"{label}: got {offset} bytes, want {total}")
    return sha.hexdigest()


def expected_sha(total, text):
    period = 26 if text else 251
    pattern = bytes((ord("a") + k % 26) if text else (k % 251) for k in range((1 << 20) + period))
    sha = hashlib.sha256()
    offset = 0
    while offset < total:
        n = min(1 << 20, total - offset)
        at = offset % period
        sha.update(pattern[at:at + n])
        offset += n
    return sha.hexdigest()


def stream_case(port, query, total, frames, text=False, then="echo"):
    label = f"/stream?{query}" if query else "/stream"
    print(f"{label}: {total} bytes in {frames} frame(s), then {then}", flush=True)
    client = Client(port, label)
    try:
        digest = read_message(client, label, total, frames, text)
        check(digest == expected_sha(total, text), f"{label}: sha256 mismatch")
        if then == "echo":
            client.send(1, b"after-stream")
            fin, opcode, data = client.small_frame()
            check((fin, opcode, data) == (True, 1, b"after-stream"),
                  f"{label}: echo got {(fin, opcode, data)!r}")
            client.send(8, (1000).to_bytes(2, "big"))
            fin, opcode, data = client.small_frame()
            check(opcode == 8 and data[:2] == (1000).to_bytes(2, "big"),
                  f"{label}: close reply {(opcode, data)!r}")
        else:
            fin, opcode, data = client.small_frame()
            check(opcode == 8 and data[:2] == (1000).to_bytes(2, "big"),
                  f"{label}: want Close 1000 after the message, got {(opcode, data)!r}")
            client.send(8, data[:2])
        # The server ends the connection after the close handshake.
        try:
            rest = client.sock.recv(1)
            check(rest == b"", f"{label}: data after the close handshake: {rest!r}")
        except ConnectionResetError:
            pass
        return digest
    finally:
        client.close()


def stall_case(server):
    label = "/stream?bytes=1073741824 (client never reads)"
    print(f"{label}: waiting {STALL_LIMIT + 15} s for the server to give up", flush=True)
    client = Client(server.port, "/stream?bytes=1073741824")
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    time.sleep(STALL_LIMIT + 15)
    # Drain what the server managed to queue; then it must be gone (EOF or RST).
    closed = False
    deadline = time.monotonic() + 60
    try:
        while not closed and time.monotonic() < deadline:
            closed = not client.sock.recv(1 << 20)
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    client.close()
    check(closed, f"{label}: the server did not drop the connection")
    time.sleep(0.5)
    check(any("client stopped reading" in l for l in server.stderr),
          f"{label}: no 'client stopped reading' on the server's stderr: {server.stderr!r}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default=os.environ.get("RTWS_TESTSERVER")
                   or os.path.join(ROOT, "target", "debug", "rtws-testserver"))
    p.add_argument("--big-mib", type=int, default=64)
    p.add_argument("--stall", action="store_true")
    opts = p.parse_args()
    server = Server(opts.server)
    try:
        port = server.port
        stream_case(port, "bytes=3000000&frames=3", 3000000, 3)
        stream_case(port, "", 1 << 20, 1)
        stream_case(port, "bytes=1000&frames=7&chunk=10&type=text&then=close", 1000, 7,
                    text=True, then="close")
        stream_case(port, "bytes=0", 0, 1)
        stream_case(port, "bytes=2&frames=4&then=close", 2, 4, then="close")
        stream_case(port, "bytes=70000&frames=2&chunk=1", 70000, 2)
        if opts.big_mib:
            total = opts.big_mib << 20
            before = server.peak_rss_kib()
            t0 = time.monotonic()
            stream_case(port, f"bytes={total}&frames=5&then=close", total, 5, then="close")
            secs = time.monotonic() - t0
            after = server.peak_rss_kib()
            print(f"  {opts.big_mib} MiB in {secs:.1f} s; server peak RSS (VmHWM) "
                  f"{before} KiB before, {after} KiB after", flush=True)
            if before is not None and after is not None:
                check(after - before < 64 * 1024,
                      f"server peak RSS grew by {(after - before) // 1024} MiB")
        if opts.stall:
            stall_case(server)
    finally:
        server.stop()
    unexpected = [l for l in server.stderr if "client stopped reading" not in l]
    check(not unexpected, f"server stderr: {''.join(unexpected)!r}")
    if FAILURES:
        print(f"stream_route_check: FAIL ({len(FAILURES)} problem(s))")
        return 1
    print("stream_route_check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
