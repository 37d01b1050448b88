"""Fixtures of the Python tests: a test server per module (started from RTWS_TESTSERVER
with --port 0 and a --tls-dir, stopped by its PID), and a check after every test that no
rtws callback reached Python on a thread Python did not start."""
import os
import re
import subprocess
import tempfile
import threading

import pytest

from rtws import _native


class Server:
    def __init__(self, *args):
        path = os.environ.get("RTWS_TESTSERVER")
        if not path:
            pytest.fail("RTWS_TESTSERVER is not set (ctest sets it: target/release/rtws-testserver)")
        self.tls_dir = tempfile.mkdtemp(prefix="rtws-py-tls-")
        tls = [] if args else ["--tls-dir", self.tls_dir]  # a proxy instance serves no TLS
        self.proc = subprocess.Popen([path, "--port", "0", *tls, *args],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.tls_ports = {}
        timer = threading.Timer(10, self.proc.kill)  # a server that never says PORT
        timer.start()
        try:
            self.port = int(re.match(r"PORT (\d+)", self.proc.stdout.readline())[1])
            while len(self.tls_ports) < (0 if args else 5):
                name, port = re.match(r"TLS_PORT (\S+) (\d+)", self.proc.stdout.readline()).groups()
                self.tls_ports[name] = int(port)
        finally:
            timer.cancel()
        # Drain the rest of its stdout so the pipe never fills.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.url = f"ws://127.0.0.1:{self.port}"
        if not args:
            with open(os.path.join(self.tls_dir, "ca.pem")) as f:
                self.ca_pem = f.read()

    def wss(self, name, path="/echo", host="127.0.0.1"):
        return f"wss://{host}:{self.tls_ports[name]}{path}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for name in os.listdir(self.tls_dir):
            os.unlink(os.path.join(self.tls_dir, name))
        os.rmdir(self.tls_dir)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def proxy():
    """An HTTP CONNECT proxy instance of the test server, requiring bob:pw."""
    s = Server("--proxy", "--proxy-auth", "bob:pw")
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def no_foreign_calls():
    before = _native.foreign_calls
    yield
    assert _native.foreign_calls == before, "an rtws callback ran Python on an rtws thread"


def pump(ws, predicate, timeout=10):
    """Runs the socket's queue until predicate() holds; fails the test on timeout."""
    assert ws.dispatcher_queue.run_until(predicate, timeout), "timed out waiting"
