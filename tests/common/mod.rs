//! Shared helpers of the `ffi_*` integration tests: the bundled test server,
//! HRESULT values (spelled out from winrt-reference.md, so a wrong constant in
//! rtws is caught), bounded waits and a few wrappers around the exported C
//! functions. Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::ffi::{c_void, CStr, CString};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rtws::ffi::async_op::*;
use rtws::ffi::error::*;
use rtws::ffi::message_websocket::*;
use rtws::ffi::streams::*;
use rtws_types::SocketMessageType;

pub use rtws_types::HRESULT;

const fn hr(v: u32) -> HRESULT {
    v as HRESULT
}

pub const S_OK: HRESULT = 0;
pub const E_POINTER: HRESULT = hr(0x8000_4003);
pub const E_INVALIDARG: HRESULT = hr(0x8007_0057);
pub const E_ILLEGAL_STATE_CHANGE: HRESULT = hr(0x8000_000D);
pub const E_ILLEGAL_METHOD_CALL: HRESULT = hr(0x8000_000E);
pub const E_ILLEGAL_DELEGATE_ASSIGNMENT: HRESULT = hr(0x8000_0018);
pub const RO_E_CLOSED: HRESULT = hr(0x8000_0013);
pub const ERROR_CANCELLED: HRESULT = hr(0x8007_04C7);
pub const ERROR_TIMEOUT: HRESULT = hr(0x8007_05B4);
pub const ERROR_OPERATION_ABORTED: HRESULT = hr(0x8007_03E3);

/// Bound of every wait for something the server or rtws should do promptly.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The same bound, for rtws's `Wait` functions.
pub const TIMEOUT_MS: u32 = 10_000;

/// The bundled `rtws-testserver`, on a free loopback port; killed (by its own
/// PID, through `Child::kill`) when dropped.
pub struct TestServer {
    child: Child,
    pub port: u16,
    /// Every stdout line after `PORT n`, as the server prints it.
    pub lines: Arc<Mutex<Vec<String>>>,
}

fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("RTWS_TESTSERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "RTWS_TESTSERVER={} is not a file",
            path.display()
        );
        return path;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut targets = vec![root.join("target")];
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        targets.insert(0, root.join(dir));
    }
    let exe = format!("rtws-testserver{}", std::env::consts::EXE_SUFFIX);
    targets
        .iter()
        .flat_map(|t| [t.join("release").join(&exe), t.join("debug").join(&exe)])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "rtws-testserver not found (looked in {targets:?}): run \
                 `cargo build -p rtws-testserver` (or --release), or set RTWS_TESTSERVER \
                 to its absolute path"
            )
        })
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_for(Duration::from_secs(300))
    }

    /// `start`, for a server that ends by itself after `lifetime` (not 300 s).
    pub fn start_for(lifetime: Duration) -> TestServer {
        let binary = server_binary();
        let lifetime = lifetime.as_secs().max(1).to_string();
        let mut child = Command::new(&binary)
            // A server left behind by a killed test run still ends by itself.
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--exit-after-secs",
                &lifetime,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let collected = lines.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout).lines();
            let first = reader.next().and_then(|l| l.ok()).unwrap_or_default();
            let _ = port_tx.send(first);
            for line in reader.map_while(|l| l.ok()) {
                collected.lock().unwrap().push(line);
            }
        });
        let first = port_rx.recv_timeout(TIMEOUT).unwrap_or_default();
        let port = first
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok());
        let mut server = TestServer {
            child,
            port: 0,
            lines,
        };
        match port {
            Some(port) => server.port = port,
            // Dropping `server` kills the child.
            None => panic!("rtws-testserver's first line was {first:?}, expected `PORT n`"),
        }
        server
    }

    /// `ws://127.0.0.1:PORT{path}` as a C string.
    pub fn url(&self, path: &str) -> CString {
        CString::new(format!("ws://127.0.0.1:{}{path}", self.port)).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This thread's `rtws_GetLastErrorMessage`, copied.
pub fn last_error() -> String {
    let p = rtws_GetLastErrorMessage();
    assert!(!p.is_null(), "rtws_GetLastErrorMessage returned NULL");
    // SAFETY: rtws returns a NUL-terminated string, valid until the next failing
    // rtws call on this thread; it is copied before any other call.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Asserts that `got` is `want`, printing both in hex and the last error message.
#[track_caller]
pub fn assert_hr(got: HRESULT, want: HRESULT) {
    assert!(
        got == want,
        "got 0x{:08X}, expected 0x{:08X} (last error: {})",
        got as u32,
        want as u32,
        last_error()
    );
}

/// Things handlers report, with a bounded wait for what the test expects.
///
/// A panic must not leave an `extern "C"` handler (it would abort the whole test
/// process), so handlers run their checks through `guarded`, which records a panic
/// here; the test thread then fails with it in `wait_for` / `snapshot`.
pub struct Events<T> {
    state: Mutex<(Vec<T>, Vec<String>)>,
    changed: Condvar,
}

impl<T: Clone> Events<T> {
    pub fn new() -> Arc<Events<T>> {
        Arc::new(Events {
            state: Mutex::new((Vec::new(), Vec::new())),
            changed: Condvar::new(),
        })
    }

    pub fn push(&self, event: T) {
        self.state.lock().unwrap().0.push(event);
        self.changed.notify_all();
    }

    /// Runs a handler's body, turning a panic (a failed check) into a recorded
    /// failure instead of an abort.
    pub fn guarded(&self, body: impl FnOnce()) {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            self.state.lock().unwrap().1.push(what);
            self.changed.notify_all();
        }
    }

    #[track_caller]
    fn check_handlers(panics: &[String]) {
        assert!(
            panics.is_empty(),
            "a check failed inside a handler: {panics:?}"
        );
    }

    /// Empties the list, returning what it held (handler failures stay recorded).
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut self.state.lock().unwrap().0)
    }

    #[track_caller]
    pub fn snapshot(&self) -> Vec<T> {
        let state = self.state.lock().unwrap();
        Self::check_handlers(&state.1);
        state.0.clone()
    }

    /// Waits (at most `timeout`) until `done` holds for the list, or a handler
    /// failed; returns the list as it was then, and whether `done` held.
    #[track_caller]
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&[T]) -> bool) -> (Vec<T>, bool) {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        while !done(&state.0) && state.1.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                return (state.0.clone(), false);
            }
            state = self.changed.wait_timeout(state, deadline - now).unwrap().0;
        }
        Self::check_handlers(&state.1);
        (state.0.clone(), true)
    }

    /// `wait_until` with `TIMEOUT`, failing the test when it runs out.
    #[track_caller]
    pub fn wait_for(&self, what: &str, done: impl Fn(&[T]) -> bool) -> Vec<T> {
        let (list, ok) = self.wait_until(TIMEOUT, done);
        assert!(
            ok,
            "timed out after {TIMEOUT:?} waiting for {what}; got {} events",
            list.len()
        );
        list
    }
}

/// An `Arc` handed to rtws as a handler's `void *context`. One strong reference
/// is deliberately leaked, so the context stays valid even when a failing test
/// unwinds without releasing the object whose handler uses it (a handler running
/// later must never see freed memory, in a process where other tests go on).
pub fn context<T>(shared: &Arc<T>) -> *mut c_void {
    Arc::into_raw(Arc::clone(shared)).cast_mut().cast()
}

/// The reverse of `context`, for use inside a handler.
///
/// # Safety
/// `ctx` must come from `context::<T>` (whose leaked reference keeps it alive).
pub unsafe fn from_context<'a, T>(ctx: *mut c_void) -> &'a T {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(ctx as *const T) }
}

pub fn create_socket() -> *mut MessageWebSocket {
    let mut ws = std::ptr::null_mut();
    assert_hr(MessageWebSocket_Create(&mut ws), S_OK);
    assert!(!ws.is_null());
    ws
}

/// ConnectAsync + a bounded Wait; returns what the Wait returned.
pub fn connect(ws: *mut MessageWebSocket, url: &CStr) -> HRESULT {
    let mut op = std::ptr::null_mut();
    let hr = MessageWebSocket_ConnectAsync(ws, url.as_ptr(), &mut op);
    if hr != S_OK {
        return hr;
    }
    let hr = IAsyncAction_Wait(op, TIMEOUT_MS);
    assert_eq!(IAsyncAction_Release(op), 0);
    hr
}

pub fn set_message_type(ws: *mut MessageWebSocket, ty: SocketMessageType) {
    let mut control = std::ptr::null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    assert_hr(
        MessageWebSocketControl_put_MessageType(control, ty as i32),
        S_OK,
    );
    MessageWebSocketControl_Release(control);
}

/// A DataWriter attached to the socket's output stream.
pub fn writer(ws: *mut MessageWebSocket) -> *mut DataWriter {
    let mut stream = std::ptr::null_mut();
    assert_hr(MessageWebSocket_get_OutputStream(ws, &mut stream), S_OK);
    let mut w = std::ptr::null_mut();
    assert_hr(DataWriter_CreateDataWriter(stream, &mut w), S_OK);
    IOutputStream_Release(stream);
    w
}

/// Detaches the writer's stream (so the socket's stream stays open) and releases it.
pub fn release_writer(w: *mut DataWriter) {
    let mut stream = std::ptr::null_mut();
    assert_hr(DataWriter_DetachStream(w, &mut stream), S_OK);
    IOutputStream_Release(stream);
    assert_eq!(DataWriter_Release(w), 0);
}

/// Sends `data` as one message of `ty` and waits (bounded) until it is on the wire;
/// returns the Wait's HRESULT and the stored byte count.
pub fn send(ws: *mut MessageWebSocket, ty: SocketMessageType, data: &[u8]) -> (HRESULT, u32) {
    set_message_type(ws, ty);
    let w = writer(ws);
    assert_hr(
        DataWriter_WriteBytes(w, data.len() as u32, data.as_ptr()),
        S_OK,
    );
    let mut store = std::ptr::null_mut();
    let mut hr = DataWriter_StoreAsync(w, &mut store);
    let mut stored = 0;
    if hr == S_OK {
        hr = IAsyncOperationUInt32_Wait(store, TIMEOUT_MS, &mut stored);
        IAsyncOperationUInt32_Release(store);
    }
    release_writer(w);
    (hr, stored)
}

/// The whole message behind a MessageReceived's arguments, or the failure HRESULT.
pub fn read_message(
    args: *mut MessageWebSocketMessageReceivedEventArgs,
) -> Result<(SocketMessageType, Vec<u8>), HRESULT> {
    let mut ty = SocketMessageType::Binary;
    let hr = MessageWebSocketMessageReceivedEventArgs_get_MessageType(args, &mut ty);
    if hr != S_OK {
        return Err(hr);
    }
    let mut reader = std::ptr::null_mut();
    let hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &mut reader);
    if hr != S_OK {
        return Err(hr);
    }
    let mut len = 0u32;
    let mut hr = DataReader_get_UnconsumedBufferLength(reader, &mut len);
    let mut data = vec![0u8; len as usize];
    if hr == S_OK {
        hr = DataReader_ReadBytes(reader, len, data.as_mut_ptr());
    }
    DataReader_Release(reader);
    if hr == S_OK {
        Ok((ty, data))
    } else {
        Err(hr)
    }
}

/// The code and reason of a Closed event.
pub fn read_closed(args: *mut WebSocketClosedEventArgs) -> (u16, String) {
    let mut code = 0u16;
    let mut reason = std::ptr::null();
    assert_hr(WebSocketClosedEventArgs_get_Code(args, &mut code), S_OK);
    assert_hr(WebSocketClosedEventArgs_get_Reason(args, &mut reason), S_OK);
    assert!(!reason.is_null());
    // SAFETY: rtws returns a NUL-terminated string owned by `args`, which is alive
    // for the handler call this runs in; it is copied at once.
    let reason = unsafe { CStr::from_ptr(reason) }
        .to_string_lossy()
        .into_owned();
    (code, reason)
}

/// A raw WebSocket peer on loopback, for what the test server cannot be made to do.
pub mod raw {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

    /// Reads the upgrade request head (at most 64 KiB; `listener`'s streams have a
    /// read timeout); returns it as text.
    pub fn read_head(s: &mut impl Read) -> String {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        String::from_utf8(head).unwrap()
    }

    /// The `Sec-WebSocket-Accept` value for the request head `head`.
    pub fn accept_key(head: &str) -> String {
        let key = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })
            .expect("the request has a Sec-WebSocket-Key");
        derive_accept_key(key.as_bytes())
    }

    /// Reads the upgrade request and answers it with a plain 101 (over TCP or
    /// TLS); returns the request head.
    pub fn upgrade(s: &mut (impl Read + Write)) -> String {
        let head = read_head(s);
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(&head)
        );
        s.write_all(resp.as_bytes()).unwrap();
        head
    }

    /// One unmasked server frame: `first` is the FIN/RSV/opcode byte.
    pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![first];
        let n = payload.len();
        if n < 126 {
            v.push(n as u8)
        } else if n < 65536 {
            v.push(126);
            v.extend((n as u16).to_be_bytes())
        } else {
            v.push(127);
            v.extend((n as u64).to_be_bytes())
        }
        v.extend_from_slice(payload);
        v
    }

    /// A loopback peer that accepts one client (a 101) and then runs `script` on
    /// its stream; the port to connect to.
    pub fn peer(
        script: impl FnOnce(TcpStream) + Send + 'static,
    ) -> (u16, std::thread::JoinHandle<()>) {
        listener(|mut s| {
            upgrade(&mut s);
            script(s)
        })
    }

    /// A loopback listener whose one client gets `script` from the first byte on
    /// (the handshake is the script's), reads and writes bounded by 10 s each.
    pub fn listener(
        script: impl FnOnce(TcpStream) + Send + 'static,
    ) -> (u16, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
            script(s)
        });
        (port, thread)
    }
}
