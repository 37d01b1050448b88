//! Target `api_sequence`: random sequences of exported C functions (create,
//! AddRef/Release, Control getters and setters, request headers, string and
//! chain-validation vectors, credentials, buffers, DataWriter and DataReader on
//! a socket's streams, sends, async operations, Close/CloseWithStatus, event
//! registration, ConnectAsync to a closed loopback port), on handles that are
//! live, NULL, released, of the wrong type, or made up.
//!
//! Each input byte picks an operation; the following bytes its handles and
//! arguments. Properties:
//! - no call panics (a panic caught at the C boundary shows as E_UNEXPECTED with
//!   "internal error in rtws"; under libFuzzer any panic aborts at once);
//! - every failing HRESULT leaves a message of its own;
//! - a handle that is not a live one of the parameter's type (NULL, released,
//!   wrong type, made up) never makes a call succeed, and AddRef/Release on it
//!   return 0; on a live one they return the exact count;
//! - what a setter accepted, the getter returns; vectors and buffers keep their
//!   sizes; a DataWriter counts exactly the bytes written; MeasureString matches
//!   WriteString; a connect to a closed port fails.
//!
//! Not used: `rtws_Shutdown` (it drops every handle of the process, including
//! those of tests running beside this one) and ConnectAsync to any other address.

use super::input::Input;
use super::{check_hr, error_is_sentinel, last_error, set_sentinel_error, PANIC_MARK};
use rtws::ffi::async_op::*;
use rtws::ffi::certificate::*;
use rtws::ffi::credential::*;
use rtws::ffi::error::WebSocketError_GetStatus;
use rtws::ffi::message_websocket::*;
use rtws::ffi::stream_websocket::*;
use rtws::ffi::streams::*;
use rtws::ffi::vector::*;
use rtws::ffi::websocket::BandwidthStatistics;
use rtws::ffi::{EventRegistrationToken, TimeSpan};
use rtws_types::AsyncStatus;
use rtws_types::{ByteOrder, UnicodeEncoding};
use rtws_types::{ChainValidationResult, SocketSslErrorSeverity};
use rtws_types::{MessageWebSocketReceiveMode, SocketMessageType};
use rtws_types::{E_BOUNDS, RTWS_E_TIMEOUT, S_OK};
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

/// A `const char *` getter of PasswordCredential.
type Getter = extern "C" fn(*mut PasswordCredential, *mut *const c_char) -> rtws_types::HRESULT;

/// Operations per input at most, and objects kept at most (time and memory per
/// execution stay bounded).
const MAX_OPS: usize = 256;
const MAX_OBJECTS: usize = 96;
/// The largest IBuffer capacity or length asked for: the API allows 4 GiB, which
/// would only measure the machine's memory.
const MAX_BUFFER: u32 = 1 << 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Mws,
    Sws,
    MControl,
    SControl,
    MInfo,
    SInfo,
    Output,
    InputStream,
    Writer,
    Reader,
    Buffer,
    Strings,
    Errors,
    Credential,
    Action,
    OpU32,
    OpBool,
    OpBuffer,
    Certificate,
    CertList,
    // Never created here (they need a connection): only ever wrong or made up.
    MessageArgs,
    ClosedArgs,
    ValidationArgs,
    Deferral,
}

const KINDS: [Kind; 24] = [
    Kind::Mws,
    Kind::Sws,
    Kind::MControl,
    Kind::SControl,
    Kind::MInfo,
    Kind::SInfo,
    Kind::Output,
    Kind::InputStream,
    Kind::Writer,
    Kind::Reader,
    Kind::Buffer,
    Kind::Strings,
    Kind::Errors,
    Kind::Credential,
    Kind::Action,
    Kind::OpU32,
    Kind::OpBool,
    Kind::OpBuffer,
    Kind::Certificate,
    Kind::CertList,
    Kind::MessageArgs,
    Kind::ClosedArgs,
    Kind::ValidationArgs,
    Kind::Deferral,
];

/// `Kind_AddRef` / `Kind_Release` of a handle claimed to be of `kind`.
fn ref_count(kind: Kind, key: usize, add: bool) -> u32 {
    macro_rules! pick {
        ($($k:ident => $add:ident, $release:ident;)*) => {
            match kind {
                $(Kind::$k => if add { $add(key as *mut _) } else { $release(key as *mut _) },)*
            }
        };
    }
    pick! {
        Mws => MessageWebSocket_AddRef, MessageWebSocket_Release;
        Sws => StreamWebSocket_AddRef, StreamWebSocket_Release;
        MControl => MessageWebSocketControl_AddRef, MessageWebSocketControl_Release;
        SControl => StreamWebSocketControl_AddRef, StreamWebSocketControl_Release;
        MInfo => MessageWebSocketInformation_AddRef, MessageWebSocketInformation_Release;
        SInfo => StreamWebSocketInformation_AddRef, StreamWebSocketInformation_Release;
        Output => IOutputStream_AddRef, IOutputStream_Release;
        InputStream => IInputStream_AddRef, IInputStream_Release;
        Writer => DataWriter_AddRef, DataWriter_Release;
        Reader => DataReader_AddRef, DataReader_Release;
        Buffer => IBuffer_AddRef, IBuffer_Release;
        Strings => IVectorString_AddRef, IVectorString_Release;
        Errors => IVectorChainValidationResult_AddRef, IVectorChainValidationResult_Release;
        Credential => PasswordCredential_AddRef, PasswordCredential_Release;
        Action => IAsyncAction_AddRef, IAsyncAction_Release;
        OpU32 => IAsyncOperationUInt32_AddRef, IAsyncOperationUInt32_Release;
        OpBool => IAsyncOperationBoolean_AddRef, IAsyncOperationBoolean_Release;
        OpBuffer => IAsyncOperationIBuffer_AddRef, IAsyncOperationIBuffer_Release;
        Certificate => Certificate_AddRef, Certificate_Release;
        CertList => IVectorViewCertificate_AddRef, IVectorViewCertificate_Release;
        MessageArgs => MessageWebSocketMessageReceivedEventArgs_AddRef,
            MessageWebSocketMessageReceivedEventArgs_Release;
        ClosedArgs => WebSocketClosedEventArgs_AddRef, WebSocketClosedEventArgs_Release;
        ValidationArgs => WebSocketServerCustomValidationRequestedEventArgs_AddRef,
            WebSocketServerCustomValidationRequestedEventArgs_Release;
        Deferral => Deferral_AddRef, Deferral_Release;
    }
}

/// Whether a handle is a live one of the type a parameter wants.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Valid {
    Yes,
    No,
    /// An operation whose Completed handler may still hold rtws's own reference
    /// after ours are gone: live or not depends on timing.
    Unknown,
}

struct Object {
    kind: Kind,
    key: usize,
    /// The references this body owns.
    refs: u32,
    /// rtws holds a reference of its own until the Completed handler ran.
    pinned: bool,
}

struct Api<'a> {
    input: Input<'a>,
    objects: Vec<Object>,
    step: usize,
}

/// `RTWS_FUZZ_TRACE=1` prints every call (to follow a failing input).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("RTWS_FUZZ_TRACE").is_some())
}

/// A port on 127.0.0.1 that was free a moment ago and has no listener.
fn closed_port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.local_addr().expect("local address").port()
    })
}

extern "C" fn on_message(
    _: *mut c_void,
    _: *mut MessageWebSocket,
    _: *mut MessageWebSocketMessageReceivedEventArgs,
) {
}
extern "C" fn on_closed_m(
    _: *mut c_void,
    _: *mut MessageWebSocket,
    _: *mut WebSocketClosedEventArgs,
) {
}
extern "C" fn on_closed_s(
    _: *mut c_void,
    _: *mut StreamWebSocket,
    _: *mut WebSocketClosedEventArgs,
) {
}
extern "C" fn on_validate_m(
    _: *mut c_void,
    _: *mut MessageWebSocket,
    _: *mut WebSocketServerCustomValidationRequestedEventArgs,
) {
}
extern "C" fn on_validate_s(
    _: *mut c_void,
    _: *mut StreamWebSocket,
    _: *mut WebSocketServerCustomValidationRequestedEventArgs,
) {
}
extern "C" fn on_completed<T>(_: *mut c_void, _: *mut T, _: AsyncStatus) {}

/// Strings worth trying where the API takes text: header names the handshake
/// owns, tokens and non-tokens, CR/LF, proxies, PEM starts, long ones.
const WORDS: &[&str] = &[
    "",
    "a",
    "chat",
    "X-Custom",
    "Host",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Protocol",
    "Connection",
    "x y",
    "é",
    "v\r\nX-Injected: 1",
    "tab\there",
    "http://127.0.0.1:1",
    "http://user:pw@[::1]:1/",
    "https://example.com",
    "ws://127.0.0.1:1/",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "\u{7f}",
    "SHA1",
    "sha256",
];

impl<'a> Api<'a> {
    fn string(&mut self) -> CString {
        let b = self.input.u8();
        let bytes: Vec<u8> = match b {
            0..=0xBF => WORDS[usize::from(b) % WORDS.len()].as_bytes().to_vec(),
            0xC0..=0xFB => self.input.bytes(usize::from(b & 0x3F)).to_vec(),
            _ => vec![b'a'; 300],
        };
        // May be invalid UTF-8 (rtws must refuse it); a C string has no NUL inside.
        CString::new(bytes.into_iter().filter(|&c| c != 0).collect::<Vec<u8>>()).unwrap()
    }

    /// A string argument that may be NULL.
    fn opt_string(&mut self) -> Option<CString> {
        (self.input.u8() % 8 != 0).then(|| self.string())
    }

    fn u32_value(&mut self) -> u32 {
        match self.input.u8() % 8 {
            0 => 0,
            1 => 1,
            2 => u32::MAX,
            3 => 0x7FFF_FFFF,
            4 => 0x8000_0000,
            5 => u32::from(self.input.u8()),
            _ => self.input.u32(),
        }
    }

    fn i32_value(&mut self) -> i32 {
        match self.input.u8() % 8 {
            0..=4 => i32::from(self.input.u8() % 4),
            5 => -1,
            6 => i32::MIN,
            _ => self.input.u32() as i32,
        }
    }

    fn time_span(&mut self) -> TimeSpan {
        const DAY: i64 = 864_000_000_000;
        let v = match self.input.u8() % 12 {
            0 => 0,
            1 => -1,
            2 => 1,
            3 => 10_000,
            4 => 99_999,
            5 => 100_000,
            6 => DAY,
            7 => DAY + 1,
            8 => i64::MAX,
            9 => i64::MIN,
            10 => i64::from(self.input.u32()),
            _ => self.input.u64() as i64,
        };
        TimeSpan { Duration: v }
    }

    /// A handle for a parameter of `kind`: mostly a live one, else NULL, made up,
    /// or anything from the pool (released, wrong type).
    fn handle(&mut self, kind: Kind) -> (usize, Valid) {
        let choice = self.input.u8();
        match choice % 16 {
            0 => (0, Valid::No),
            1 => (self.made_up(), Valid::No),
            2 | 3 if !self.objects.is_empty() => {
                let i = usize::from(self.input.u8()) % self.objects.len();
                let key = self.objects[i].key;
                (key, self.validity(key, kind))
            }
            _ => {
                let live: Vec<usize> = self
                    .objects
                    .iter()
                    .filter(|o| o.kind == kind && o.refs > 0)
                    .map(|o| o.key)
                    .collect();
                if live.is_empty() {
                    return match self.create(kind) {
                        Some(key) => (key, Valid::Yes),
                        None => (0, Valid::No),
                    };
                }
                let key = live[usize::from(self.input.u8()) % live.len()];
                (key, Valid::Yes)
            }
        }
    }

    /// A live object of `kind`, made for the purpose (with what it needs first),
    /// so that random inputs reach deep calls instead of mostly NULL handles.
    /// None for the kinds only an operation can make.
    fn create(&mut self, kind: Kind) -> Option<usize> {
        let live = |api: &mut Self, k: Kind| -> Option<usize> {
            let found = api.objects.iter().rev().find(|o| o.kind == k && o.refs > 0);
            match found {
                Some(o) => Some(o.key),
                None => api.create(k),
            }
        };
        let mut out = 0usize;
        let p = &mut out as *mut usize;
        let hr = match kind {
            Kind::Mws => self.call("MessageWebSocket_Create", Valid::Yes, || {
                MessageWebSocket_Create(p.cast())
            }),
            Kind::Sws => self.call("StreamWebSocket_Create", Valid::Yes, || {
                StreamWebSocket_Create(p.cast())
            }),
            Kind::MControl | Kind::MInfo => {
                let ws = live(self, Kind::Mws)? as *mut MessageWebSocket;
                self.call("get_Control/Information", Valid::Yes, || {
                    if kind == Kind::MControl {
                        MessageWebSocket_get_Control(ws, p.cast())
                    } else {
                        MessageWebSocket_get_Information(ws, p.cast())
                    }
                })
            }
            Kind::SControl | Kind::SInfo | Kind::InputStream => {
                let ws = live(self, Kind::Sws)? as *mut StreamWebSocket;
                self.call(
                    "get_Control/Information/InputStream",
                    Valid::Yes,
                    || match kind {
                        Kind::SControl => StreamWebSocket_get_Control(ws, p.cast()),
                        Kind::SInfo => StreamWebSocket_get_Information(ws, p.cast()),
                        _ => StreamWebSocket_get_InputStream(ws, p.cast()),
                    },
                )
            }
            Kind::Output => {
                let ws = live(self, Kind::Mws)? as *mut MessageWebSocket;
                self.call("get_OutputStream", Valid::Yes, || {
                    MessageWebSocket_get_OutputStream(ws, p.cast())
                })
            }
            Kind::Writer => {
                let s = live(self, Kind::Output)? as *mut IOutputStream;
                self.call("DataWriter_CreateDataWriter", Valid::Yes, || {
                    DataWriter_CreateDataWriter(s, p.cast())
                })
            }
            Kind::Reader => {
                let s = live(self, Kind::InputStream)? as *mut IInputStream;
                self.call("DataReader_CreateDataReader", Valid::Yes, || {
                    DataReader_CreateDataReader(s, p.cast())
                })
            }
            Kind::Buffer => self.call("Buffer_Create", Valid::Yes, || Buffer_Create(64, p.cast())),
            Kind::Strings | Kind::Errors => {
                let c = live(self, Kind::MControl)? as *mut MessageWebSocketControl;
                self.call(
                    "get_SupportedProtocols/IgnorableServerCertificateErrors",
                    Valid::Yes,
                    || {
                        if kind == Kind::Strings {
                            MessageWebSocketControl_get_SupportedProtocols(c, p.cast())
                        } else {
                            MessageWebSocketControl_get_IgnorableServerCertificateErrors(
                                c,
                                p.cast(),
                            )
                        }
                    },
                )
            }
            Kind::Credential => self.call("PasswordCredential_Create", Valid::Yes, || {
                PasswordCredential_Create(c"r".as_ptr(), c"u".as_ptr(), c"p".as_ptr(), p.cast())
            }),
            Kind::Action => {
                let ws = live(self, Kind::Mws)? as *mut MessageWebSocket;
                let uri = CString::new(format!("ws://127.0.0.1:{}/", closed_port())).unwrap();
                self.call("ConnectAsync", Valid::Yes, || {
                    MessageWebSocket_ConnectAsync(ws, uri.as_ptr(), p.cast())
                })
            }
            Kind::OpU32 => {
                let r = live(self, Kind::Reader)? as *mut DataReader;
                self.call("DataReader_LoadAsync", Valid::Yes, || {
                    DataReader_LoadAsync(r, 16, p.cast())
                })
            }
            Kind::OpBuffer => {
                let s = live(self, Kind::InputStream)? as *mut IInputStream;
                let b = live(self, Kind::Buffer)? as *mut IBuffer;
                self.call("IInputStream_ReadAsync", Valid::Yes, || {
                    IInputStream_ReadAsync(s, b, 16, 1, p.cast())
                })
            }
            _ => return None,
        };
        if hr != S_OK || !self.add(kind, out) {
            return None;
        }
        Some(out)
    }

    /// A handle for an optional parameter, where NULL means none and is fine.
    fn optional(&mut self, kind: Kind) -> (usize, Valid) {
        match self.handle(kind) {
            (0, _) => (0, Valid::Yes),
            h => h,
        }
    }

    fn validity(&self, key: usize, kind: Kind) -> Valid {
        match self.objects.iter().find(|o| o.key == key) {
            Some(o) if o.kind != kind => Valid::No,
            Some(o) if o.refs > 0 => Valid::Yes,
            Some(o) if o.pinned => Valid::Unknown,
            _ => Valid::No,
        }
    }

    /// A handle value rtws never hands out, whatever it has handed out so far:
    /// misaligned, slot 0, or a generation a slot cannot reach in a test run (the
    /// top bit of a 64-bit key's 36-bit generation).
    fn made_up(&mut self) -> usize {
        let raw = self.input.u64() as usize;
        let base = self.objects.first().map_or(raw, |o| o.key);
        match self.input.u8() % 3 {
            0 => base | 0x1_0000 | (1 + raw % 15),
            1 => ((raw >> 28) | 1) << 28,
            _ => base | 1 << (usize::BITS - 1),
        }
    }

    /// Takes a new handle into the pool; returns whether it was kept (a full
    /// pool releases it at once: releasing one in use by the caller would turn a
    /// handle it believes live into a dead one).
    fn add(&mut self, kind: Kind, key: usize) -> bool {
        if key == 0 {
            return false;
        }
        assert!(
            self.objects
                .iter()
                .all(|o| o.key != key || (o.refs == 0 && !o.pinned)),
            "step {}: rtws handed out the live handle 0x{key:x} again",
            self.step
        );
        self.objects.retain(|o| o.key != key);
        if self.objects.len() >= MAX_OBJECTS {
            // Forget a released object: its key is still a fine stale handle to
            // try, but the pool must stay small.
            match self.objects.iter().position(|o| o.refs == 0 && !o.pinned) {
                Some(i) => {
                    self.objects.remove(i);
                }
                None => {
                    assert_eq!(ref_count(kind, key, false), 0, "a new {kind:?}");
                    return false;
                }
            }
        }
        self.objects.push(Object {
            kind,
            key,
            refs: 1,
            pinned: false,
        });
        true
    }

    /// One exported call: the checks every call gets. Returns its HRESULT.
    fn call(&mut self, what: &str, valid: Valid, f: impl FnOnce() -> i32) -> i32 {
        set_sentinel_error();
        let hr = f();
        if trace() {
            let msg = if hr < 0 { last_error() } else { String::new() };
            eprintln!(
                "step {} {what} ({valid:?}) -> 0x{:08X} {msg}",
                self.step, hr as u32
            );
        }
        check_hr(what, self.step, hr);
        if valid == Valid::No {
            assert!(
                hr < 0,
                "step {} {what} succeeded on a handle that is not a live one of its type",
                self.step
            );
        }
        hr
    }

    /// A call that must succeed when `valid` (an input-independent getter).
    fn call_ok(&mut self, what: &str, valid: Valid, f: impl FnOnce() -> i32) -> bool {
        let hr = self.call(what, valid, f);
        if valid == Valid::Yes {
            assert_eq!(
                hr,
                S_OK,
                "step {} {what} failed on a live handle: {}",
                self.step,
                last_error()
            );
        }
        hr == S_OK
    }

    fn ref_op(&mut self, add: bool) {
        let claimed = *self.input.pick(&KINDS);
        let (key, valid) = self.handle(claimed);
        if valid == Valid::Unknown {
            return; // its count is rtws's and the handler's business
        }
        set_sentinel_error();
        let n = ref_count(claimed, key, add);
        let fresh_message = !error_is_sentinel();
        let what = format!(
            "step {} {claimed:?}_{}(0x{key:x})",
            self.step,
            if add { "AddRef" } else { "Release" }
        );
        let msg = last_error();
        assert!(
            !msg.starts_with(PANIC_MARK),
            "{what}: a panic inside rtws: {msg}"
        );
        let Some(o) = self.objects.iter_mut().find(|o| o.key == key) else {
            assert_eq!(n, 0, "{what} on a made-up handle");
            assert!(fresh_message && !msg.is_empty(), "{what}: no message");
            return;
        };
        if valid == Valid::No {
            assert_eq!(n, 0, "{what} on a handle that is not a live {claimed:?}");
            assert!(fresh_message && !msg.is_empty(), "{what}: no message");
            return;
        }
        let want = if add { o.refs + 1 } else { o.refs - 1 };
        if o.pinned {
            assert!(
                n >= want,
                "{what} returned {n}, below the {want} references held"
            );
        } else {
            assert_eq!(n, want, "{what}: the reference count");
        }
        o.refs = want;
    }

    /// Releases every reference this body holds, checking the counts; with
    /// `keep` > 0, only until `keep` objects are left.
    fn release_all(&mut self, keep: usize) {
        while self.objects.len() > keep {
            let o = self.objects.remove(0);
            for left in (0..o.refs).rev() {
                let n = ref_count(o.kind, o.key, false);
                if !o.pinned {
                    assert_eq!(n, left, "releasing {:?} 0x{:x}", o.kind, o.key);
                }
            }
        }
    }

    /// The end of an input: the sockets and everything else go first; then every
    /// operation still held must have finished (with its socket gone, nothing
    /// can ever complete it: a waiter would hang and its memory would leak).
    fn finish(&mut self) {
        let is_op = |k: Kind| {
            matches!(
                k,
                Kind::Action | Kind::OpU32 | Kind::OpBool | Kind::OpBuffer
            )
        };
        let (ops, others): (Vec<Object>, Vec<Object>) = std::mem::take(&mut self.objects)
            .into_iter()
            .partition(|o| is_op(o.kind));
        self.objects = others;
        self.release_all(0);
        self.objects = ops;
        // Every operation ends once its socket is gone (reads of a never-connected
        // StreamWebSocket did not, found here).
        for o in self.objects.iter().filter(|o| o.refs > 0) {
            let hr = match o.kind {
                Kind::Action => IAsyncAction::wait(o.key as *mut _, 2000),
                Kind::OpU32 => IAsyncOperationUInt32::wait(o.key as *mut _, 2000),
                Kind::OpBool => IAsyncOperationBoolean::wait(o.key as *mut _, 2000),
                _ => IAsyncOperationIBuffer::wait(o.key as *mut _, 2000),
            };
            assert_ne!(
                hr, RTWS_E_TIMEOUT,
                "{:?} 0x{:x} still running 2 s after every socket was released",
                o.kind, o.key
            );
        }

        self.release_all(0);
    }

    fn pin(&mut self, key: usize) {
        if let Some(o) = self.objects.iter_mut().find(|o| o.key == key) {
            o.pinned = true;
        }
    }

    fn step(&mut self) {
        let op = self.input.u8();
        let stream = self.input.bool();
        let (ws_kind, control_kind, info_kind) = if stream {
            (Kind::Sws, Kind::SControl, Kind::SInfo)
        } else {
            (Kind::Mws, Kind::MControl, Kind::MInfo)
        };
        match op % 35 {
            0 => {
                let mut ws = null_mut::<c_void>();
                let hr = self.call("Create", Valid::Yes, || {
                    if stream {
                        StreamWebSocket_Create(&mut ws as *mut _ as *mut _)
                    } else {
                        MessageWebSocket_Create(&mut ws as *mut _ as *mut _)
                    }
                });
                assert_eq!(hr, S_OK);
                self.add(ws_kind, ws as usize);
            }
            1 => self.ref_op(true),
            2 | 3 => self.ref_op(false),
            4 => {
                let (ws, v) = self.handle(ws_kind);
                let mut out = 0usize;
                let p = &mut out as *mut usize;
                self.call_ok("get_Control", v, || {
                    if stream {
                        StreamWebSocket_get_Control(ws as *mut _, p.cast())
                    } else {
                        MessageWebSocket_get_Control(ws as *mut _, p.cast())
                    }
                });
                self.add(control_kind, out);
            }
            5 => {
                let (ws, v) = self.handle(ws_kind);
                let mut out = 0usize;
                let p = &mut out as *mut usize;
                self.call_ok("get_Information", v, || {
                    if stream {
                        StreamWebSocket_get_Information(ws as *mut _, p.cast())
                    } else {
                        MessageWebSocket_get_Information(ws as *mut _, p.cast())
                    }
                });
                self.add(info_kind, out);
            }
            6 => {
                let (ws, v) = self.handle(ws_kind);
                let mut out = 0usize;
                let p = &mut out as *mut usize;
                self.call("get_OutputStream", v, || {
                    if stream {
                        StreamWebSocket_get_OutputStream(ws as *mut _, p.cast())
                    } else {
                        MessageWebSocket_get_OutputStream(ws as *mut _, p.cast())
                    }
                });
                self.add(Kind::Output, out);
                let (ws, v) = self.handle(Kind::Sws);
                let mut input = null_mut();
                self.call("get_InputStream", v, || {
                    StreamWebSocket_get_InputStream(ws as *mut _, &mut input)
                });
                self.add(Kind::InputStream, input as usize);
            }
            7 => self.message_settings(),
            8 => self.shared_settings(stream, control_kind),
            9 => self.timing(stream, control_kind),
            10 => self.credentials(stream, control_kind),
            11 => {
                let (c, v) = self.handle(control_kind);
                let mut out = 0usize;
                let p = &mut out as *mut usize;
                self.call_ok("get_SupportedProtocols", v, || {
                    if stream {
                        StreamWebSocketControl_get_SupportedProtocols(c as *mut _, p.cast())
                    } else {
                        MessageWebSocketControl_get_SupportedProtocols(c as *mut _, p.cast())
                    }
                });
                self.add(Kind::Strings, out);
            }
            12 | 13 => self.strings(),
            14 => {
                let (c, v) = self.handle(control_kind);
                let mut out = 0usize;
                let p = &mut out as *mut usize;
                self.call_ok("get_IgnorableServerCertificateErrors", v, || {
                    if stream {
                        StreamWebSocketControl_get_IgnorableServerCertificateErrors(
                            c as *mut _,
                            p.cast(),
                        )
                    } else {
                        MessageWebSocketControl_get_IgnorableServerCertificateErrors(
                            c as *mut _,
                            p.cast(),
                        )
                    }
                });
                self.add(Kind::Errors, out);
            }
            15 => self.chain_errors(),
            16 => {
                let (ws, v) = self.handle(ws_kind);
                let (name, value) = (self.opt_string(), self.opt_string());
                let name_p = name.as_ref().map_or(null(), |s| s.as_ptr());
                let value_p = value.as_ref().map_or(null(), |s| s.as_ptr());
                self.call("SetRequestHeader", v, || {
                    if stream {
                        StreamWebSocket_SetRequestHeader(ws as *mut _, name_p, value_p)
                    } else {
                        MessageWebSocket_SetRequestHeader(ws as *mut _, name_p, value_p)
                    }
                });
            }
            17 => {
                let (ws, v) = self.handle(ws_kind);
                // Close is documented to succeed on any live socket, again and again.
                self.call_ok("Close", v, || {
                    if stream {
                        StreamWebSocket_Close(ws as *mut _)
                    } else {
                        MessageWebSocket_Close(ws as *mut _)
                    }
                });
            }
            18 => {
                let (ws, v) = self.handle(ws_kind);
                let code = match self.input.u8() % 8 {
                    0 => 1000,
                    1 => 1001,
                    2 => 3000,
                    3 => 4999,
                    4 => 5000,
                    5 => 0,
                    _ => self.input.u16(),
                };
                let reason = self.opt_string();
                let reason_p = reason.as_ref().map_or(null(), |s| s.as_ptr());
                self.call(&format!("CloseWithStatus({code})"), v, || {
                    if stream {
                        StreamWebSocket_CloseWithStatus(ws as *mut _, code, reason_p)
                    } else {
                        MessageWebSocket_CloseWithStatus(ws as *mut _, code, reason_p)
                    }
                });
            }
            19 => self.connect(stream, ws_kind),
            20 => self.events(stream, ws_kind),
            21 => {
                let (r, u, p) = (self.opt_string(), self.opt_string(), self.opt_string());
                let ptr = |s: &Option<CString>| s.as_ref().map_or(null(), |s| s.as_ptr());
                let mut cred = null_mut();
                let hr = self.call("PasswordCredential_Create", Valid::Yes, || {
                    PasswordCredential_Create(ptr(&r), ptr(&u), ptr(&p), &mut cred)
                });
                if hr == S_OK {
                    let mut got = null();
                    type Getter = extern "C" fn(*mut PasswordCredential, *mut *const c_char) -> i32;
                    let getters: [(&str, Getter, &Option<CString>); 3] = [
                        ("get_Resource", PasswordCredential_get_Resource, &r),
                        ("get_UserName", PasswordCredential_get_UserName, &u),
                        ("get_Password", PasswordCredential_get_Password, &p),
                    ];
                    for (name, get, want) in getters {
                        self.call_ok(name, Valid::Yes, || get(cred, &mut got));
                        let want = want.as_ref().expect("a NULL string was accepted");
                        // SAFETY: the credential owns the NUL-terminated string and
                        // is alive; it is compared at once.
                        assert_eq!(unsafe { CStr::from_ptr(got) }, want.as_c_str(), "{name}");
                    }
                }
                self.add(Kind::Credential, cred as usize);
            }
            22 => self.buffers(),
            23 | 24 => self.writer(),
            25 => self.reader(),
            26 => self.sends(stream),
            27 | 28 => self.async_ops(),
            29 => {
                let hr = self.input.u32() as i32;
                // A pure function of its argument: no HRESULT, no message.
                let _ = WebSocketError_GetStatus(hr);
            }
            30 => self.information(stream, info_kind),
            31 => self.certificates(stream, control_kind),
            32 => {
                let (c, v) = self.handle(Kind::SControl);
                let value = self.input.bool();
                let hr = self.call("put_NoDelay", v, || {
                    StreamWebSocketControl_put_NoDelay(c as *mut _, value)
                });
                let mut got = !value;
                self.call_ok("get_NoDelay", v, || {
                    StreamWebSocketControl_get_NoDelay(c as *mut _, &mut got)
                });
                if hr == S_OK {
                    assert_eq!(got, value, "step {}: NoDelay", self.step);
                }
            }
            33 => self.certificate_list(),
            34 => self.event_args(),
            _ => {}
        }
    }

    fn certificate_list(&mut self) {
        let (l, v) = self.handle(Kind::CertList);
        let l = l as *mut IVectorViewCertificate;
        let mut size = u32::MAX;
        self.call_ok("IVectorViewCertificate_get_Size", v, || {
            IVectorViewCertificate_get_Size(l, &mut size)
        });
        if v == Valid::Yes {
            // Only a TLS connection fills one; nothing here connects.
            assert_eq!(size, 0, "step {}: server certificates", self.step);
        }
        let i = self.index(size.min(0xFFFF));
        let mut cert = null_mut();
        let hr = self.call("IVectorViewCertificate_GetAt", v, || {
            IVectorViewCertificate_GetAt(l, i, &mut cert)
        });
        if v == Valid::Yes {
            assert_eq!(
                hr, E_BOUNDS,
                "step {}: GetAt({i}) of an empty list",
                self.step
            );
        }
    }

    /// The functions on objects only a connection makes (event arguments, a
    /// validation request, a deferral): here they only ever get NULL, made-up or
    /// wrong handles, which they must refuse.
    fn event_args(&mut self) {
        let kind = *self.input.pick(&[
            Kind::MessageArgs,
            Kind::ClosedArgs,
            Kind::ValidationArgs,
            Kind::Deferral,
        ]);
        let (h, v) = self.handle(kind);
        let which = self.input.u8();
        let (mut b, mut u16v, mut p) = (false, 0u16, null());
        let mut handle = null_mut::<c_void>();
        let out = &mut handle as *mut *mut c_void;
        let hr = self.call(&format!("{kind:?} function {which}"), v, || match kind {
            Kind::MessageArgs => {
                let a = h as *mut MessageWebSocketMessageReceivedEventArgs;
                match which % 4 {
                    0 => MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(a, &mut b),
                    1 => {
                        let mut t = SocketMessageType::Binary;
                        MessageWebSocketMessageReceivedEventArgs_get_MessageType(a, &mut t)
                    }
                    2 => MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, out.cast()),
                    _ => MessageWebSocketMessageReceivedEventArgs_GetDataStream(a, out.cast()),
                }
            }
            Kind::ClosedArgs => {
                let a = h as *mut WebSocketClosedEventArgs;
                if which % 2 == 0 {
                    WebSocketClosedEventArgs_get_Code(a, &mut u16v)
                } else {
                    WebSocketClosedEventArgs_get_Reason(a, &mut p)
                }
            }
            Kind::ValidationArgs => {
                let a = h as *mut WebSocketServerCustomValidationRequestedEventArgs;
                match which % 6 {
                    0 => WebSocketServerCustomValidationRequestedEventArgs_Reject(a),
                    1 => WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(a, out.cast()),
                    2 => WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(
                        a,
                        out.cast(),
                    ),
                    3 => {
                        let mut s = SocketSslErrorSeverity::None;
                        WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity(a, &mut s)
                    }
                    4 => WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrors(
                        a,
                        out.cast(),
                    ),
                    _ => WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates(
                        a,
                        out.cast(),
                    ),
                }
            }
            _ => Deferral_Complete(h as *mut Deferral),
        });
        assert!(
            hr < 0 && handle.is_null(),
            "step {}: {kind:?} on a non-live handle",
            self.step
        );
    }

    fn message_settings(&mut self) {
        let (c, v) = self.handle(Kind::MControl);
        let c = c as *mut MessageWebSocketControl;
        match self.input.u8() % 3 {
            0 => {
                let value = self.i32_value();
                let hr = self.call(&format!("put_MessageType({value})"), v, || {
                    MessageWebSocketControl_put_MessageType(c, value)
                });
                let mut got = SocketMessageType::Binary;
                self.call_ok("get_MessageType", v, || {
                    MessageWebSocketControl_get_MessageType(c, &mut got)
                });
                if hr == S_OK {
                    assert_eq!(got as i32, value, "step {}: MessageType", self.step);
                }
            }
            1 => {
                let value = self.u32_value();
                let hr = self.call(&format!("put_MaxMessageSize({value})"), v, || {
                    MessageWebSocketControl_put_MaxMessageSize(c, value)
                });
                let mut got = 0;
                self.call_ok("get_MaxMessageSize", v, || {
                    MessageWebSocketControl_get_MaxMessageSize(c, &mut got)
                });
                if hr == S_OK {
                    assert_eq!(got, value, "step {}: MaxMessageSize", self.step);
                }
            }
            _ => {
                let value = self.i32_value();
                let hr = self.call(&format!("put_ReceiveMode({value})"), v, || {
                    MessageWebSocketControl_put_ReceiveMode(c, value)
                });
                let mut got = MessageWebSocketReceiveMode::FullMessage;
                self.call_ok("get_ReceiveMode", v, || {
                    MessageWebSocketControl_get_ReceiveMode(c, &mut got)
                });
                if hr == S_OK {
                    assert_eq!(got as i32, value, "step {}: ReceiveMode", self.step);
                }
            }
        }
    }

    fn shared_settings(&mut self, stream: bool, kind: Kind) {
        let (c, v) = self.handle(kind);
        match self.input.u8() % 3 {
            0 => {
                let value = self.u32_value();
                let hr = self.call(
                    &format!("put_OutboundBufferSizeInBytes({value})"),
                    v,
                    || {
                        if stream {
                            StreamWebSocketControl_put_OutboundBufferSizeInBytes(c as *mut _, value)
                        } else {
                            MessageWebSocketControl_put_OutboundBufferSizeInBytes(
                                c as *mut _,
                                value,
                            )
                        }
                    },
                );
                let mut got = 0;
                self.call_ok("get_OutboundBufferSizeInBytes", v, || {
                    if stream {
                        StreamWebSocketControl_get_OutboundBufferSizeInBytes(c as *mut _, &mut got)
                    } else {
                        MessageWebSocketControl_get_OutboundBufferSizeInBytes(c as *mut _, &mut got)
                    }
                });
                if hr == S_OK {
                    assert_eq!(got, value, "step {}: OutboundBufferSizeInBytes", self.step);
                }
            }
            1 => {
                let uri = self.opt_string();
                let p = uri.as_ref().map_or(null(), |s| s.as_ptr());
                self.call("put_ProxyUri", v, || {
                    if stream {
                        StreamWebSocketControl_put_ProxyUri(c as *mut _, p)
                    } else {
                        MessageWebSocketControl_put_ProxyUri(c as *mut _, p)
                    }
                });
            }
            _ => {
                let pem = self.opt_string();
                let p = pem.as_ref().map_or(null(), |s| s.as_ptr());
                self.call("put_TrustedRootCertificates", v, || {
                    if stream {
                        StreamWebSocketControl_put_TrustedRootCertificates(c as *mut _, p)
                    } else {
                        MessageWebSocketControl_put_TrustedRootCertificates(c as *mut _, p)
                    }
                });
            }
        }
    }

    fn timing(&mut self, stream: bool, kind: Kind) {
        type Put<C> = extern "C" fn(*mut C, TimeSpan) -> i32;
        type Get<C> = extern "C" fn(*mut C, *mut TimeSpan) -> i32;
        /// The chosen setter and getter, bound to the Control.
        type Bound = (
            Box<dyn Fn(TimeSpan) -> i32>,
            Box<dyn Fn(*mut TimeSpan) -> i32>,
        );
        let (c, v) = self.handle(kind);
        let which = self.input.u8() % 4;
        let value = self.time_span();
        let names = [
            "DesiredUnsolicitedPongInterval",
            "ConnectTimeout",
            "SendTimeout",
            "ReceiveTimeout",
        ];
        let name = names[usize::from(which)];
        let (put, get): Bound = if stream {
            let c = c as *mut StreamWebSocketControl;
            let fns: [(Put<StreamWebSocketControl>, Get<StreamWebSocketControl>); 4] = [
                (
                    StreamWebSocketControl_put_DesiredUnsolicitedPongInterval,
                    StreamWebSocketControl_get_DesiredUnsolicitedPongInterval,
                ),
                (
                    StreamWebSocketControl_put_ConnectTimeout,
                    StreamWebSocketControl_get_ConnectTimeout,
                ),
                (
                    StreamWebSocketControl_put_SendTimeout,
                    StreamWebSocketControl_get_SendTimeout,
                ),
                (
                    StreamWebSocketControl_put_ReceiveTimeout,
                    StreamWebSocketControl_get_ReceiveTimeout,
                ),
            ];
            let (p, g) = fns[usize::from(which)];
            (Box::new(move |t| p(c, t)), Box::new(move |o| g(c, o)))
        } else {
            let c = c as *mut MessageWebSocketControl;
            let fns: [(Put<MessageWebSocketControl>, Get<MessageWebSocketControl>); 4] = [
                (
                    MessageWebSocketControl_put_DesiredUnsolicitedPongInterval,
                    MessageWebSocketControl_get_DesiredUnsolicitedPongInterval,
                ),
                (
                    MessageWebSocketControl_put_ConnectTimeout,
                    MessageWebSocketControl_get_ConnectTimeout,
                ),
                (
                    MessageWebSocketControl_put_SendTimeout,
                    MessageWebSocketControl_get_SendTimeout,
                ),
                (
                    MessageWebSocketControl_put_ReceiveTimeout,
                    MessageWebSocketControl_get_ReceiveTimeout,
                ),
            ];
            let (p, g) = fns[usize::from(which)];
            (Box::new(move |t| p(c, t)), Box::new(move |o| g(c, o)))
        };
        let hr = self.call(&format!("put_{name}({})", value.Duration), v, || put(value));
        let mut got = TimeSpan { Duration: -7 };
        self.call_ok(&format!("get_{name}"), v, || get(&mut got));
        if hr == S_OK {
            assert_eq!(got.Duration, value.Duration, "step {}: {name}", self.step);
        }
        let mut actual = TimeSpan { Duration: -7 };
        self.call_ok("get_ActualUnsolicitedPongInterval", v, || {
            if stream {
                StreamWebSocketControl_get_ActualUnsolicitedPongInterval(c as *mut _, &mut actual)
            } else {
                MessageWebSocketControl_get_ActualUnsolicitedPongInterval(c as *mut _, &mut actual)
            }
        });
        if v == Valid::Yes {
            // Nothing here ever connects.
            assert_eq!(
                actual.Duration, 0,
                "step {}: ActualUnsolicitedPongInterval",
                self.step
            );
        }
    }

    fn credentials(&mut self, stream: bool, kind: Kind) {
        let (c, v) = self.handle(kind);
        let proxy = self.input.bool();
        // NULL removes the credential.
        let (cred, cred_v) = self.optional(Kind::Credential);
        let both = match (v, cred_v) {
            (Valid::No, _) | (_, Valid::No) => Valid::No,
            (Valid::Unknown, _) | (_, Valid::Unknown) => Valid::Unknown,
            _ => Valid::Yes,
        };
        let name = if proxy {
            "ProxyCredential"
        } else {
            "ServerCredential"
        };
        let hr = self.call(&format!("put_{name}"), both, || match (stream, proxy) {
            (true, true) => StreamWebSocketControl_put_ProxyCredential(c as *mut _, cred as *mut _),
            (true, false) => {
                StreamWebSocketControl_put_ServerCredential(c as *mut _, cred as *mut _)
            }
            (false, true) => {
                MessageWebSocketControl_put_ProxyCredential(c as *mut _, cred as *mut _)
            }
            (false, false) => {
                MessageWebSocketControl_put_ServerCredential(c as *mut _, cred as *mut _)
            }
        });
        let mut got = null_mut();
        self.call_ok(&format!("get_{name}"), v, || match (stream, proxy) {
            (true, true) => StreamWebSocketControl_get_ProxyCredential(c as *mut _, &mut got),
            (true, false) => StreamWebSocketControl_get_ServerCredential(c as *mut _, &mut got),
            (false, true) => MessageWebSocketControl_get_ProxyCredential(c as *mut _, &mut got),
            (false, false) => MessageWebSocketControl_get_ServerCredential(c as *mut _, &mut got),
        });
        if hr == S_OK {
            // A new handle to the same credential, or NULL for none.
            assert_eq!(got.is_null(), cred == 0, "step {}: {name} set", self.step);
            if !got.is_null() {
                // Each handle owns the strings it hands out: compare what they say.
                let text = |h: *mut PasswordCredential, get: Getter| {
                    let mut p = null();
                    assert_eq!(get(h, &mut p), S_OK);
                    // SAFETY: S_OK means a NUL-terminated string owned by the live handle `h`.
                    unsafe { CStr::from_ptr(p) }.to_owned()
                };
                for get in [
                    PasswordCredential_get_UserName as Getter,
                    PasswordCredential_get_Password,
                ] {
                    assert_eq!(
                        text(got, get),
                        text(cred as *mut _, get),
                        "step {}: {name} is another credential",
                        self.step
                    );
                }
            }
        }
        self.add(Kind::Credential, got as usize);
    }

    fn strings(&mut self) {
        let (h, v) = self.handle(Kind::Strings);
        let h = h as *mut IVectorString;
        let mut size = 0u32;
        self.call_ok("IVectorString_get_Size", v, || {
            IVectorString_get_Size(h, &mut size)
        });
        let before = size;
        match self.input.u8() % 4 {
            0 => {
                let s = self.opt_string();
                let p = s.as_ref().map_or(null(), |s| s.as_ptr());
                let hr = self.call("IVectorString_Append", v, || IVectorString_Append(h, p));
                self.call_ok("IVectorString_get_Size", v, || {
                    IVectorString_get_Size(h, &mut size)
                });
                if v == Valid::Yes {
                    let grew = u32::from(hr == S_OK);
                    assert_eq!(size, before + grew, "step {}: size after Append", self.step);
                }
                if hr == S_OK {
                    let mut buf = [0u8; 512];
                    let mut needed = 0;
                    self.call_ok("IVectorString_GetAt(appended)", v, || {
                        IVectorString_GetAt(h, before, buf.as_mut_ptr().cast(), 512, &mut needed)
                    });
                    let got = CStr::from_bytes_until_nul(&buf).expect("NUL-terminated");
                    assert_eq!(
                        Some(got),
                        s.as_deref(),
                        "step {}: the appended string",
                        self.step
                    );
                }
            }
            1 => {
                let i = self.index(before);
                let hr = self.call(&format!("IVectorString_RemoveAt({i})"), v, || {
                    IVectorString_RemoveAt(h, i)
                });
                self.call_ok("IVectorString_get_Size", v, || {
                    IVectorString_get_Size(h, &mut size)
                });
                if v == Valid::Yes {
                    assert!(
                        hr != S_OK || i < before,
                        "RemoveAt({i}) of {before} succeeded"
                    );
                    let shrank = u32::from(hr == S_OK);
                    assert_eq!(
                        size,
                        before - shrank,
                        "step {}: size after RemoveAt",
                        self.step
                    );
                }
            }
            2 => {
                let hr = self.call("IVectorString_Clear", v, || IVectorString_Clear(h));
                self.call_ok("IVectorString_get_Size", v, || {
                    IVectorString_get_Size(h, &mut size)
                });
                if hr == S_OK {
                    assert_eq!(size, 0, "step {}: size after Clear", self.step);
                }
            }
            _ => {
                let i = self.index(before);
                let capacity = u32::from(self.input.u8());
                let mut buf = vec![0u8; capacity as usize];
                let mut needed = 0;
                let hr = self.call(&format!("IVectorString_GetAt({i})"), v, || {
                    IVectorString_GetAt(h, i, buf.as_mut_ptr().cast(), capacity, &mut needed)
                });
                if v == Valid::Yes && i >= before {
                    assert_eq!(hr, E_BOUNDS, "step {}: GetAt({i}) of {before}", self.step);
                }
                if hr == S_OK {
                    assert!(needed <= capacity && buf[needed as usize - 1] == 0);
                }
            }
        }
    }

    /// An index near the end of a list of `size`: inside, at, or past it.
    fn index(&mut self, size: u32) -> u32 {
        match self.input.u8() % 4 {
            0 => size,
            1 => size.saturating_sub(1),
            2 => u32::MAX,
            _ => u32::from(self.input.u8()),
        }
    }

    fn chain_errors(&mut self) {
        let (h, v) = self.handle(Kind::Errors);
        let h = h as *mut IVectorChainValidationResult;
        let mut size = 0u32;
        self.call_ok("IVectorChainValidationResult_get_Size", v, || {
            IVectorChainValidationResult_get_Size(h, &mut size)
        });
        let before = size;
        let value = if self.input.u8() % 4 == 0 {
            self.i32_value()
        } else {
            i32::from(self.input.u8() % 16)
        };
        let (mut index, mut found) = (0u32, false);
        match self.input.u8() % 4 {
            0 => {
                let hr = self.call(
                    &format!("IVectorChainValidationResult_Append({value})"),
                    v,
                    || IVectorChainValidationResult_Append(h, value),
                );
                // Refused for a value that is no ChainValidationResult.
                self.call("IndexOf", v, || {
                    IVectorChainValidationResult_IndexOf(h, value, &mut index, &mut found)
                });
                if hr == S_OK {
                    assert!(found, "step {}: an appended value is not found", self.step);
                    assert!(index <= before);
                    let mut got = ChainValidationResult::Success;
                    self.call_ok("GetAt(appended)", v, || {
                        IVectorChainValidationResult_GetAt(h, before, &mut got)
                    });
                    assert_eq!(got as i32, value, "step {}: the appended value", self.step);
                }
            }
            1 => {
                let i = self.index(before);
                let hr = self.call("IVectorChainValidationResult_RemoveAt", v, || {
                    IVectorChainValidationResult_RemoveAt(h, i)
                });
                if v == Valid::Yes {
                    assert!(
                        hr != S_OK || i < before,
                        "RemoveAt({i}) of {before} succeeded"
                    );
                }
            }
            2 => {
                self.call("IVectorChainValidationResult_Clear", v, || {
                    IVectorChainValidationResult_Clear(h)
                });
            }
            _ => {
                let i = self.index(before);
                let mut got = ChainValidationResult::Success;
                let hr = self.call("IVectorChainValidationResult_GetAt", v, || {
                    IVectorChainValidationResult_GetAt(h, i, &mut got)
                });
                if v == Valid::Yes {
                    assert_eq!(
                        hr == S_OK,
                        i < before,
                        "step {}: GetAt({i}) of {before}",
                        self.step
                    );
                }
            }
        }
    }

    fn connect(&mut self, stream: bool, kind: Kind) {
        let (ws, v) = self.handle(kind);
        let port = closed_port();
        let scheme = if self.input.bool() { "ws" } else { "wss" };
        let uri = CString::new(format!("{scheme}://127.0.0.1:{port}/fuzz")).unwrap();
        let mut op = null_mut();
        let hr = self.call("ConnectAsync", v, || {
            if stream {
                StreamWebSocket_ConnectAsync(ws as *mut _, uri.as_ptr(), &mut op)
            } else {
                MessageWebSocket_ConnectAsync(ws as *mut _, uri.as_ptr(), &mut op)
            }
        });
        if hr != S_OK {
            assert!(op.is_null(), "a refused ConnectAsync gave an operation");
            return;
        }
        // Nothing listens there: the connect must fail, and promptly.
        let hr = self.call("IAsyncAction_Wait", Valid::Yes, || {
            IAsyncAction_Wait(op, 10_000)
        });
        assert!(
            hr < 0,
            "step {}: a connect to closed port {port} succeeded",
            self.step
        );
        let mut status = AsyncStatus::Started;
        self.call_ok("IAsyncAction_get_Status", Valid::Yes, || {
            IAsyncAction_get_Status(op, &mut status)
        });
        assert!(
            matches!(status, AsyncStatus::Error | AsyncStatus::Canceled),
            "step {}: status {status:?} after the connect failed",
            self.step
        );
        self.add(Kind::Action, op as usize);
    }

    fn events(&mut self, stream: bool, kind: Kind) {
        let (ws, v) = self.handle(kind);
        let which = self.input.u8() % 3;
        let null_handler = self.input.u8() % 8 == 0;
        let mut token = EventRegistrationToken { value: 0 };
        let valid = if null_handler { Valid::No } else { v };
        let h = !null_handler;
        let t = &mut token;
        let hr = self.call("add_handler", valid, || match (stream, which) {
            (true, 0) => {
                StreamWebSocket_add_Closed(ws as _, h.then_some(on_closed_s), null_mut(), t)
            }
            (true, _) => StreamWebSocket_add_ServerCustomValidationRequested(
                ws as _,
                h.then_some(on_validate_s),
                null_mut(),
                t,
            ),
            (false, 0) => {
                MessageWebSocket_add_Closed(ws as _, h.then_some(on_closed_m), null_mut(), t)
            }
            (false, 1) => MessageWebSocket_add_MessageReceived(
                ws as _,
                h.then_some(on_message),
                null_mut(),
                t,
            ),
            (false, _) => MessageWebSocket_add_ServerCustomValidationRequested(
                ws as _,
                h.then_some(on_validate_m),
                null_mut(),
                t,
            ),
        });
        if hr != S_OK || self.input.bool() {
            token.value = self.input.u64() as i64;
        }
        self.call("remove_handler", v, || match (stream, which) {
            (true, 0) => StreamWebSocket_remove_Closed(ws as _, token),
            (true, _) => StreamWebSocket_remove_ServerCustomValidationRequested(ws as _, token),
            (false, 0) => MessageWebSocket_remove_Closed(ws as _, token),
            (false, 1) => MessageWebSocket_remove_MessageReceived(ws as _, token),
            (false, _) => MessageWebSocket_remove_ServerCustomValidationRequested(ws as _, token),
        });
    }

    fn buffers(&mut self) {
        match self.input.u8() % 3 {
            0 => {
                let capacity = u32::from(self.input.u16()).min(MAX_BUFFER);
                let mut b = null_mut();
                self.call_ok("Buffer_Create", Valid::Yes, || {
                    Buffer_Create(capacity, &mut b)
                });
                let (mut cap, mut len) = (0, 1);
                self.call_ok("get_Capacity", Valid::Yes, || {
                    IBuffer_get_Capacity(b, &mut cap)
                });
                self.call_ok("get_Length", Valid::Yes, || IBuffer_get_Length(b, &mut len));
                assert_eq!((cap, len), (capacity, 0), "a new Buffer");
                self.add(Kind::Buffer, b as usize);
            }
            1 => {
                let n = usize::from(self.input.u8());
                let bytes = self.input.bytes(n).to_vec();
                let mut b = null_mut();
                self.call_ok("Buffer_CreateFromBytes", Valid::Yes, || {
                    Buffer_CreateFromBytes(bytes.as_ptr(), bytes.len() as u32, &mut b)
                });
                let mut out = vec![0u8; bytes.len() + 4];
                let mut copied = 0;
                self.call_ok("IBuffer_CopyTo", Valid::Yes, || {
                    IBuffer_CopyTo(b, 0, out.as_mut_ptr(), out.len() as u32, &mut copied)
                });
                assert_eq!(
                    &out[..copied as usize],
                    &bytes[..],
                    "Buffer_CreateFromBytes"
                );
                self.add(Kind::Buffer, b as usize);
            }
            _ => {
                let (b, v) = self.handle(Kind::Buffer);
                let b = b as *mut IBuffer;
                let mut cap = 0;
                self.call_ok("get_Capacity", v, || IBuffer_get_Capacity(b, &mut cap));
                let n = match self.input.u8() % 4 {
                    0 => cap,
                    1 => cap.saturating_add(1),
                    2 => u32::from(self.input.u16()).min(MAX_BUFFER),
                    _ => u32::from(self.input.u8()),
                };
                let hr = self.call(&format!("put_Length({n})"), v, || IBuffer_put_Length(b, n));
                if v == Valid::Yes {
                    assert_eq!(
                        hr == S_OK,
                        n <= cap,
                        "step {}: put_Length({n}) of {cap}",
                        self.step
                    );
                }
                let mut len = 0;
                self.call_ok("get_Length", v, || IBuffer_get_Length(b, &mut len));
                if hr == S_OK {
                    assert_eq!(len, n, "step {}: Length", self.step);
                }
                let offset = u32::from(self.input.u16());
                let capacity = u32::from(self.input.u8());
                let mut out = vec![0u8; capacity as usize];
                let mut copied = u32::MAX;
                self.call_ok("IBuffer_CopyTo", v, || {
                    IBuffer_CopyTo(b, offset, out.as_mut_ptr(), capacity, &mut copied)
                });
                if v == Valid::Yes {
                    let want = capacity.min(len.saturating_sub(offset));
                    assert_eq!(
                        copied, want,
                        "step {}: CopyTo({offset}, {capacity}) of {len}",
                        self.step
                    );
                }
            }
        }
    }

    fn writer(&mut self) {
        let what = self.input.u8() % 8;
        if what == 0 {
            let with_stream = self.input.bool();
            let mut w = null_mut();
            if with_stream {
                let (s, v) = self.handle(Kind::Output);
                self.call_ok("DataWriter_CreateDataWriter", v, || {
                    DataWriter_CreateDataWriter(s as *mut _, &mut w)
                });
            } else {
                self.call_ok("DataWriter_Create", Valid::Yes, || {
                    DataWriter_Create(&mut w)
                });
            }
            self.add(Kind::Writer, w as usize);
            return;
        }
        let (w, v) = self.handle(Kind::Writer);
        let w = w as *mut DataWriter;
        let mut before = 0;
        let open = self.call("get_UnstoredBufferLength", v, || {
            DataWriter_get_UnstoredBufferLength(w, &mut before)
        }) == S_OK;
        let (hr, size): (i32, Option<u32>) = match what {
            1 => {
                let x = self.input.u8();
                let size = match x % 10 {
                    0 | 1 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    _ => 8,
                };
                let (a, b) = (self.input.u64(), self.input.bool());
                let hr = self.call("DataWriter_Write<number>", v, || match x % 10 {
                    0 => DataWriter_WriteByte(w, a as u8),
                    1 => DataWriter_WriteBoolean(w, b),
                    2 => DataWriter_WriteInt16(w, a as i16),
                    3 => DataWriter_WriteUInt16(w, a as u16),
                    4 => DataWriter_WriteInt32(w, a as i32),
                    5 => DataWriter_WriteUInt32(w, a as u32),
                    6 => DataWriter_WriteSingle(w, f32::from_bits(a as u32)),
                    7 => DataWriter_WriteInt64(w, a as i64),
                    8 => DataWriter_WriteUInt64(w, a),
                    _ => DataWriter_WriteDouble(w, f64::from_bits(a)),
                });
                (hr, Some(size))
            }
            2 => {
                let n = usize::from(self.input.u8());
                let bytes = self.input.bytes(n).to_vec();
                let p = if bytes.is_empty() && self.input.bool() {
                    null()
                } else {
                    bytes.as_ptr()
                };
                let hr = self.call("DataWriter_WriteBytes", v, || {
                    DataWriter_WriteBytes(w, bytes.len() as u32, p)
                });
                (hr, Some(bytes.len() as u32))
            }
            3 => {
                let s = self.opt_string();
                let p = s.as_ref().map_or(null(), |s| s.as_ptr());
                let mut measured = u32::MAX;
                let hr_m = self.call("DataWriter_MeasureString", v, || {
                    DataWriter_MeasureString(w, p, &mut measured)
                });
                let mut written = u32::MAX;
                let hr = self.call("DataWriter_WriteString", v, || {
                    DataWriter_WriteString(w, p, &mut written)
                });
                if hr_m == S_OK && hr == S_OK {
                    assert_eq!(
                        measured, written,
                        "step {}: MeasureString vs WriteString",
                        self.step
                    );
                }
                (hr, (hr == S_OK).then_some(written))
            }
            4 => {
                let value = self.i32_value();
                let hr = if self.input.bool() {
                    let hr = self.call("DataWriter_put_ByteOrder", v, || {
                        DataWriter_put_ByteOrder(w, value)
                    });
                    let mut got = ByteOrder::LittleEndian;
                    let g = self.call("DataWriter_get_ByteOrder", v, || {
                        DataWriter_get_ByteOrder(w, &mut got)
                    });
                    if hr == S_OK && g == S_OK {
                        assert_eq!(got as i32, value, "step {}: ByteOrder", self.step);
                    }
                    hr
                } else {
                    let hr = self.call("DataWriter_put_UnicodeEncoding", v, || {
                        DataWriter_put_UnicodeEncoding(w, value)
                    });
                    let mut got = UnicodeEncoding::Utf8;
                    let g = self.call("DataWriter_get_UnicodeEncoding", v, || {
                        DataWriter_get_UnicodeEncoding(w, &mut got)
                    });
                    if hr == S_OK && g == S_OK {
                        assert_eq!(got as i32, value, "step {}: UnicodeEncoding", self.step);
                    }
                    hr
                };
                (hr, Some(0))
            }
            5 => {
                let mut op = null_mut();
                let hr = self.call("DataWriter_StoreAsync", v, || {
                    DataWriter_StoreAsync(w, &mut op)
                });
                self.add(Kind::OpU32, op as usize);
                if hr == S_OK {
                    // A store takes the whole buffer.
                    let mut left = u32::MAX;
                    self.call_ok("get_UnstoredBufferLength", v, || {
                        DataWriter_get_UnstoredBufferLength(w, &mut left)
                    });
                    assert_eq!(left, 0, "step {}: bytes left after StoreAsync", self.step);
                }
                // A refused store keeps the bytes.
                (hr, if hr == S_OK { None } else { Some(0) })
            }
            6 => {
                let mut op = null_mut();
                let hr = self.call("DataWriter_FlushAsync", v, || {
                    DataWriter_FlushAsync(w, &mut op)
                });
                self.add(Kind::OpBool, op as usize);
                let mut s = null_mut();
                let hr2 = self.call("DataWriter_DetachStream", v, || {
                    DataWriter_DetachStream(w, &mut s)
                });
                self.add(Kind::Output, s as usize);
                (hr.min(hr2), Some(0))
            }
            _ => {
                let hr = self.call_ok("DataWriter_Close", v, || DataWriter_Close(w));
                (if hr { S_OK } else { -1 }, None)
            }
        };
        let mut after = 0;
        let still_open = self.call("get_UnstoredBufferLength", v, || {
            DataWriter_get_UnstoredBufferLength(w, &mut after)
        }) == S_OK;
        if v == Valid::Yes && open && still_open {
            if let Some(size) = size {
                let want = before + if hr == S_OK { size } else { 0 };
                assert_eq!(after, want, "step {}: UnstoredBufferLength", self.step);
            }
        }
    }

    fn reader(&mut self) {
        match self.input.u8() % 4 {
            0 => {
                let (s, v) = self.handle(Kind::InputStream);
                let mut r = null_mut();
                self.call_ok("DataReader_CreateDataReader", v, || {
                    DataReader_CreateDataReader(s as *mut _, &mut r)
                });
                self.add(Kind::Reader, r as usize);
            }
            1 => {
                let (r, v) = self.handle(Kind::Reader);
                let count = self.u32_value();
                let options = self.input.u8() as u32 % 5;
                self.call("DataReader_put_InputStreamOptions", v, || {
                    DataReader_put_InputStreamOptions(r as *mut _, options)
                });
                let mut op = null_mut();
                self.call("DataReader_LoadAsync", v, || {
                    DataReader_LoadAsync(r as *mut _, count, &mut op)
                });
                self.add(Kind::OpU32, op as usize);
            }
            2 => {
                let (r, v) = self.handle(Kind::Reader);
                let r = r as *mut DataReader;
                let mut left = u32::MAX;
                let hr = self.call("DataReader_get_UnconsumedBufferLength", v, || {
                    DataReader_get_UnconsumedBufferLength(r, &mut left)
                });
                if hr == S_OK {
                    // No socket here ever connects, so no byte ever arrives.
                    assert_eq!(left, 0, "step {}: bytes from nowhere", self.step);
                }
                let mut x = 0u32;
                let hr = self.call("DataReader_ReadUInt32", v, || {
                    DataReader_ReadUInt32(r, &mut x)
                });
                assert!(hr < 0, "step {}: a read of nothing succeeded", self.step);
                let mut needed = 0;
                let units = self.u32_value();
                self.call("DataReader_ReadString", v, || {
                    DataReader_ReadString(r, units, null_mut(), 0, &mut needed)
                });
            }
            _ => {
                let (r, v) = self.handle(Kind::Reader);
                if self.input.bool() {
                    let mut s = null_mut();
                    self.call("DataReader_DetachStream", v, || {
                        DataReader_DetachStream(r as *mut _, &mut s)
                    });
                    self.add(Kind::InputStream, s as usize);
                } else {
                    self.call_ok("DataReader_Close", v, || DataReader_Close(r as *mut _));
                }
            }
        }
    }

    fn sends(&mut self, stream: bool) {
        let (b, bv) = self.handle(Kind::Buffer);
        match self.input.u8() % 4 {
            0 | 1 => {
                let (s, v) = self.handle(Kind::Output);
                let mut op = null_mut();
                let both = if bv == Valid::No { Valid::No } else { v };
                self.call("IOutputStream_WriteAsync", both, || {
                    IOutputStream_WriteAsync(s as *mut _, b as *mut _, &mut op)
                });
                self.add(Kind::OpU32, op as usize);
                let mut op = null_mut();
                self.call("IOutputStream_FlushAsync", v, || {
                    IOutputStream_FlushAsync(s as *mut _, &mut op)
                });
                self.add(Kind::OpBool, op as usize);
            }
            2 if !stream => {
                let (ws, v) = self.handle(Kind::Mws);
                let both = if bv == Valid::No { Valid::No } else { v };
                let fin = self.input.bool();
                let mut op = null_mut();
                self.call("MessageWebSocket_Send*FrameAsync", both, || {
                    if fin {
                        MessageWebSocket_SendFinalFrameAsync(ws as *mut _, b as *mut _, &mut op)
                    } else {
                        MessageWebSocket_SendNonfinalFrameAsync(ws as *mut _, b as *mut _, &mut op)
                    }
                });
                self.add(Kind::OpU32, op as usize);
            }
            _ => {
                let (s, v) = self.handle(Kind::InputStream);
                let both = if bv == Valid::No { Valid::No } else { v };
                let count = u32::from(self.input.u16());
                let options = u32::from(self.input.u8() % 5);
                let mut op = null_mut();
                self.call("IInputStream_ReadAsync", both, || {
                    IInputStream_ReadAsync(s as *mut _, b as *mut _, count, options, &mut op)
                });
                self.add(Kind::OpBuffer, op as usize);
            }
        }
    }

    fn async_ops(&mut self) {
        match self.input.u8() % 4 {
            0 => self.async_op::<IAsyncAction>(Kind::Action),
            1 => self.async_op::<IAsyncOperationUInt32>(Kind::OpU32),
            2 => self.async_op::<IAsyncOperationBoolean>(Kind::OpBool),
            _ => self.async_op::<IAsyncOperationIBuffer>(Kind::OpBuffer),
        }
    }

    fn async_op<T: AsyncHandle>(&mut self, kind: Kind) {
        let (key, v) = self.handle(kind);
        let h = key as *mut T;
        match self.input.u8() % 8 {
            0 => {
                let mut status = AsyncStatus::Started;
                self.call("get_Status", v, || T::STATUS(h, &mut status));
            }
            1 => {
                let mut code = 1;
                if self.call("get_ErrorCode", v, || T::ERROR_CODE(h, &mut code)) == S_OK {
                    assert!(
                        code <= 0,
                        "step {}: ErrorCode {code} is no failure",
                        self.step
                    );
                }
            }
            2 => {
                let mut id = 0;
                // The one getter documented to work after Close too.
                self.call_ok("get_Id", v, || T::ID(h, &mut id));
            }
            3 => {
                self.call("Cancel", v, || T::CANCEL(h));
            }
            4 => {
                self.call("Close", v, || T::CLOSE(h));
            }
            5 => {
                let timeout = u32::from(self.input.u8() % 3);
                self.call("Wait", v, || T::wait(h, timeout));
            }
            6 => {
                if self.call("put_Completed", v, || T::put_completed(h)) == S_OK {
                    self.pin(key);
                }
            }
            _ => {
                self.call("GetResults", v, || T::results(h));
            }
        }
    }

    fn information(&mut self, stream: bool, kind: Kind) {
        let (i, v) = self.handle(kind);
        let mut text = null();
        self.call_ok("get_Protocol", v, || {
            if stream {
                StreamWebSocketInformation_get_Protocol(i as *mut _, &mut text)
            } else {
                MessageWebSocketInformation_get_Protocol(i as *mut _, &mut text)
            }
        });
        self.call_ok("get_LocalAddress", v, || {
            if stream {
                StreamWebSocketInformation_get_LocalAddress(i as *mut _, &mut text)
            } else {
                MessageWebSocketInformation_get_LocalAddress(i as *mut _, &mut text)
            }
        });
        let mut bw = BandwidthStatistics::default();
        self.call_ok("get_BandwidthStatistics", v, || {
            if stream {
                StreamWebSocketInformation_get_BandwidthStatistics(i as *mut _, &mut bw)
            } else {
                MessageWebSocketInformation_get_BandwidthStatistics(i as *mut _, &mut bw)
            }
        });
        let mut severity = SocketSslErrorSeverity::Fatal;
        self.call_ok("get_ServerCertificateErrorSeverity", v, || {
            if stream {
                StreamWebSocketInformation_get_ServerCertificateErrorSeverity(
                    i as *mut _,
                    &mut severity,
                )
            } else {
                MessageWebSocketInformation_get_ServerCertificateErrorSeverity(
                    i as *mut _,
                    &mut severity,
                )
            }
        });
        if v == Valid::Yes {
            assert_eq!(severity, SocketSslErrorSeverity::None, "no TLS, no errors");
        }
        let mut cert = null_mut();
        self.call_ok("get_ServerCertificate", v, || {
            if stream {
                StreamWebSocketInformation_get_ServerCertificate(i as *mut _, &mut cert)
            } else {
                MessageWebSocketInformation_get_ServerCertificate(i as *mut _, &mut cert)
            }
        });
        assert!(cert.is_null(), "a server certificate without a connection");
        let mut list = null_mut();
        self.call_ok("get_ServerIntermediateCertificates", v, || {
            if stream {
                StreamWebSocketInformation_get_ServerIntermediateCertificates(
                    i as *mut _,
                    &mut list,
                )
            } else {
                MessageWebSocketInformation_get_ServerIntermediateCertificates(
                    i as *mut _,
                    &mut list,
                )
            }
        });
        self.add(Kind::CertList, list as usize);
        let mut errors = null_mut();
        self.call_ok("get_ServerCertificateErrors", v, || {
            if stream {
                StreamWebSocketInformation_get_ServerCertificateErrors(i as *mut _, &mut errors)
            } else {
                MessageWebSocketInformation_get_ServerCertificateErrors(i as *mut _, &mut errors)
            }
        });
        self.add(Kind::Errors, errors as usize);
    }

    fn certificates(&mut self, stream: bool, control_kind: Kind) {
        if self.input.bool() {
            let (b, v) = self.handle(Kind::Buffer);
            let mut cert = null_mut();
            self.call("Certificate_CreateCertificate", v, || {
                Certificate_CreateCertificate(b as *mut _, &mut cert)
            });
            self.add(Kind::Certificate, cert as usize);
            return;
        }
        let (c, v) = self.handle(control_kind);
        let (cert, cv) = self.optional(Kind::Certificate);
        let both = if cv == Valid::No { Valid::No } else { v };
        self.call("put_ClientCertificate", both, || {
            if stream {
                StreamWebSocketControl_put_ClientCertificate(c as *mut _, cert as *mut _)
            } else {
                MessageWebSocketControl_put_ClientCertificate(c as *mut _, cert as *mut _)
            }
        });
        let mut got = null_mut();
        self.call_ok("get_ClientCertificate", v, || {
            if stream {
                StreamWebSocketControl_get_ClientCertificate(c as *mut _, &mut got)
            } else {
                MessageWebSocketControl_get_ClientCertificate(c as *mut _, &mut got)
            }
        });
        self.add(Kind::Certificate, got as usize);
    }
}

/// The four async operation types, so one `async_op` serves them all.
trait AsyncHandle: Sized {
    const STATUS: extern "C" fn(*mut Self, *mut AsyncStatus) -> i32;
    const ERROR_CODE: extern "C" fn(*mut Self, *mut i32) -> i32;
    const ID: extern "C" fn(*mut Self, *mut u32) -> i32;
    const CANCEL: extern "C" fn(*mut Self) -> i32;
    const CLOSE: extern "C" fn(*mut Self) -> i32;
    fn results(h: *mut Self) -> i32;
    fn wait(h: *mut Self, timeout_ms: u32) -> i32;
    fn put_completed(h: *mut Self) -> i32;
}

impl AsyncHandle for IAsyncAction {
    const STATUS: extern "C" fn(*mut Self, *mut AsyncStatus) -> i32 = IAsyncAction_get_Status;
    const ERROR_CODE: extern "C" fn(*mut Self, *mut i32) -> i32 = IAsyncAction_get_ErrorCode;
    const ID: extern "C" fn(*mut Self, *mut u32) -> i32 = IAsyncAction_get_Id;
    const CANCEL: extern "C" fn(*mut Self) -> i32 = IAsyncAction_Cancel;
    const CLOSE: extern "C" fn(*mut Self) -> i32 = IAsyncAction_Close;
    fn results(h: *mut Self) -> i32 {
        IAsyncAction_GetResults(h)
    }
    fn wait(h: *mut Self, timeout_ms: u32) -> i32 {
        IAsyncAction_Wait(h, timeout_ms)
    }
    fn put_completed(h: *mut Self) -> i32 {
        IAsyncAction_put_Completed(h, Some(on_completed::<Self>), null_mut())
    }
}

impl AsyncHandle for IAsyncOperationUInt32 {
    const STATUS: extern "C" fn(*mut Self, *mut AsyncStatus) -> i32 =
        IAsyncOperationUInt32_get_Status;
    const ERROR_CODE: extern "C" fn(*mut Self, *mut i32) -> i32 =
        IAsyncOperationUInt32_get_ErrorCode;
    const ID: extern "C" fn(*mut Self, *mut u32) -> i32 = IAsyncOperationUInt32_get_Id;
    const CANCEL: extern "C" fn(*mut Self) -> i32 = IAsyncOperationUInt32_Cancel;
    const CLOSE: extern "C" fn(*mut Self) -> i32 = IAsyncOperationUInt32_Close;
    fn results(h: *mut Self) -> i32 {
        let mut x = 0;
        IAsyncOperationUInt32_GetResults(h, &mut x)
    }
    fn wait(h: *mut Self, timeout_ms: u32) -> i32 {
        let mut x = 0;
        IAsyncOperationUInt32_Wait(h, timeout_ms, &mut x)
    }
    fn put_completed(h: *mut Self) -> i32 {
        IAsyncOperationUInt32_put_Completed(h, Some(on_completed::<Self>), null_mut())
    }
}

impl AsyncHandle for IAsyncOperationBoolean {
    const STATUS: extern "C" fn(*mut Self, *mut AsyncStatus) -> i32 =
        IAsyncOperationBoolean_get_Status;
    const ERROR_CODE: extern "C" fn(*mut Self, *mut i32) -> i32 =
        IAsyncOperationBoolean_get_ErrorCode;
    const ID: extern "C" fn(*mut Self, *mut u32) -> i32 = IAsyncOperationBoolean_get_Id;
    const CANCEL: extern "C" fn(*mut Self) -> i32 = IAsyncOperationBoolean_Cancel;
    const CLOSE: extern "C" fn(*mut Self) -> i32 = IAsyncOperationBoolean_Close;
    fn results(h: *mut Self) -> i32 {
        let mut x = false;
        IAsyncOperationBoolean_GetResults(h, &mut x)
    }
    fn wait(h: *mut Self, timeout_ms: u32) -> i32 {
        let mut x = false;
        IAsyncOperationBoolean_Wait(h, timeout_ms, &mut x)
    }
    fn put_completed(h: *mut Self) -> i32 {
        IAsyncOperationBoolean_put_Completed(h, Some(on_completed::<Self>), null_mut())
    }
}

impl AsyncHandle for IAsyncOperationIBuffer {
    const STATUS: extern "C" fn(*mut Self, *mut AsyncStatus) -> i32 =
        IAsyncOperationIBuffer_get_Status;
    const ERROR_CODE: extern "C" fn(*mut Self, *mut i32) -> i32 =
        IAsyncOperationIBuffer_get_ErrorCode;
    const ID: extern "C" fn(*mut Self, *mut u32) -> i32 = IAsyncOperationIBuffer_get_Id;
    const CANCEL: extern "C" fn(*mut Self) -> i32 = IAsyncOperationIBuffer_Cancel;
    const CLOSE: extern "C" fn(*mut Self) -> i32 = IAsyncOperationIBuffer_Close;
    fn results(h: *mut Self) -> i32 {
        let mut x = null_mut();
        let hr = IAsyncOperationIBuffer_GetResults(h, &mut x);
        IBuffer_Release(x);
        hr
    }
    fn wait(h: *mut Self, timeout_ms: u32) -> i32 {
        let mut x = null_mut();
        let hr = IAsyncOperationIBuffer_Wait(h, timeout_ms, &mut x);
        IBuffer_Release(x);
        hr
    }
    fn put_completed(h: *mut Self) -> i32 {
        IAsyncOperationIBuffer_put_Completed(h, Some(on_completed::<Self>), null_mut())
    }
}

pub fn run(data: &[u8]) {
    let mut api = Api {
        input: Input::new(data),
        objects: Vec::new(),
        step: 0,
    };
    while !api.input.is_empty() && api.step < MAX_OPS {
        api.step += 1;
        api.step();
    }
    api.finish();
}
