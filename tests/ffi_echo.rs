//! A MessageWebSocket against the test server's /echo (and friends), through the
//! exported functions only: DataWriter sends of both types, MessageReceived with a
//! context pointer, payloads and types, CloseWithStatus → Closed, event order
//! (every MessageReceived before the one Closed, failures as a MessageReceived
//! whose GetDataReader fails), sends from several threads, handler removal and
//! Release inside a handler. No rtws_Shutdown here: tests run in parallel.

mod common;

use common::*;
use rtws::ffi::async_op::*;
use rtws::ffi::message_websocket::*;
use rtws::ffi::streams::*;
use rtws::ffi::vector::*;
use rtws::ffi::EventRegistrationToken;
use rtws_types::SocketMessageType;
use std::ffi::{c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Duration;

const RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE: HRESULT = 0x8007_10F0u32 as HRESULT;
const WININET_E_CONNECTION_ABORTED: HRESULT = 0x8007_2EFEu32 as HRESULT;
const WININET_E_CONNECTION_RESET: HRESULT = 0x8007_2EFFu32 as HRESULT;

#[derive(Clone, Debug, PartialEq)]
enum Ev {
    Message(SocketMessageType, Vec<u8>),
    /// A MessageReceived whose GetDataReader failed.
    Failed(HRESULT),
    Closed(u16, String),
}

/// What a socket's handlers share with the test (through `context`).
struct Page {
    events: Arc<Events<Ev>>,
    threads: Arc<Events<ThreadId>>,
    /// Handler invocations in progress (must never exceed 1 for one socket).
    running: AtomicUsize,
    /// MessageReceived calls `MessageWebSocket_Release(sender)` when set.
    release_in_handler: bool,
}

impl Page {
    fn new() -> Arc<Page> {
        Arc::new(Page {
            events: Events::new(),
            threads: Events::new(),
            running: AtomicUsize::new(0),
            release_in_handler: false,
        })
    }

    fn enter(&self) {
        assert_eq!(
            self.running.fetch_add(1, Ordering::SeqCst),
            0,
            "two handlers of one socket ran at once"
        );
        self.threads.push(std::thread::current().id());
    }

    fn leave(&self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

extern "C" fn on_message(
    ctx: *mut c_void,
    sender: *mut MessageWebSocket,
    args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&page)`, which keeps the Page alive.
    let page: &Page = unsafe { from_context(ctx) };
    page.events.guarded(|| {
        page.enter();
        let ev = match read_message(args) {
            Ok((ty, data)) => {
                if ty == SocketMessageType::Utf8 {
                    check_read_string(args, &data);
                }
                Ev::Message(ty, data)
            }
            Err(hr) => Ev::Failed(hr),
        };
        page.leave();
        if page.release_in_handler {
            // The test handed its reference to the handler: this is the last one.
            assert_eq!(MessageWebSocket_Release(sender), 0);
        }
        page.events.push(ev);
    });
}

/// A text message read again with a fresh reader and ReadString.
fn check_read_string(args: *mut MessageWebSocketMessageReceivedEventArgs, bytes: &[u8]) {
    let mut reader = null_mut();
    assert_hr(
        MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &mut reader),
        S_OK,
    );
    let n = bytes.len() as u32;
    let mut needed = 0u32;
    // The caller-buffer pattern: a NULL buffer gives the size and consumes nothing.
    let hr = DataReader_ReadString(reader, n, null_mut(), 0, &mut needed);
    assert_hr(hr, 0x8007_007Au32 as HRESULT); // E_NOT_SUFFICIENT_BUFFER
    assert_eq!(needed, n + 1);
    let mut buf = vec![0u8; needed as usize];
    assert_hr(
        DataReader_ReadString(reader, n, buf.as_mut_ptr().cast(), needed, &mut needed),
        S_OK,
    );
    assert_eq!(CStr::from_bytes_with_nul(&buf).unwrap().to_bytes(), bytes);
    let mut left = 1u32;
    assert_hr(
        DataReader_get_UnconsumedBufferLength(reader, &mut left),
        S_OK,
    );
    assert_eq!(left, 0);
    assert_eq!(DataReader_Release(reader), 0);
}

extern "C" fn on_closed(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    args: *mut WebSocketClosedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&page)`, which keeps the Page alive.
    let page: &Page = unsafe { from_context(ctx) };
    page.events.guarded(|| {
        page.enter();
        let (code, reason) = read_closed(args);
        page.leave();
        page.events.push(Ev::Closed(code, reason));
    });
}

/// A socket with both handlers registered on `page`.
fn socket_with_handlers(page: &Arc<Page>) -> (*mut MessageWebSocket, EventRegistrationToken) {
    let ws = create_socket();
    let mut received = EventRegistrationToken { value: 0 };
    let mut closed = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_MessageReceived(ws, Some(on_message), context(page), &mut received),
        S_OK,
    );
    assert_hr(
        MessageWebSocket_add_Closed(ws, Some(on_closed), context(page), &mut closed),
        S_OK,
    );
    assert_ne!(received.value, closed.value);
    (ws, received)
}

fn count_closed(events: &[Ev]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Ev::Closed(..)))
        .count()
}

/// Waits for Closed, then checks it is the last event and comes once.
fn wait_closed(page: &Page) -> Vec<Ev> {
    page.events.wait_for("Closed", |e| count_closed(e) > 0);
    std::thread::sleep(Duration::from_millis(200));
    let events = page.events.snapshot();
    assert_eq!(
        count_closed(&events),
        1,
        "Closed is raised once: {events:?}"
    );
    assert!(
        matches!(events.last(), Some(Ev::Closed(..))),
        "Closed is the last event: {events:?}"
    );
    events
}

fn store(w: *mut DataWriter) -> *mut IAsyncOperationUInt32 {
    let mut op = null_mut();
    assert_hr(DataWriter_StoreAsync(w, &mut op), S_OK);
    op
}

fn wait_store(op: *mut IAsyncOperationUInt32) -> u32 {
    let mut n = 0;
    assert_hr(IAsyncOperationUInt32_Wait(op, TIMEOUT_MS, &mut n), S_OK);
    assert_eq!(IAsyncOperationUInt32_Release(op), 0);
    n
}

#[test]
fn echo_text_and_binary_then_close_with_status() {
    let server = TestServer::start();
    let page = Page::new();
    let (ws, _) = socket_with_handlers(&page);
    assert_hr(connect(ws, &server.url("/echo")), S_OK);

    let mut info = null_mut();
    assert_hr(MessageWebSocket_get_Information(ws, &mut info), S_OK);
    let mut addr = std::ptr::null();
    assert_hr(
        MessageWebSocketInformation_get_LocalAddress(info, &mut addr),
        S_OK,
    );
    // SAFETY: a NUL-terminated string owned by `info`, alive until its Release below.
    assert_eq!(
        unsafe { CStr::from_ptr(addr) }.to_str().unwrap(),
        "127.0.0.1"
    );
    MessageWebSocketInformation_Release(info);

    let w = writer(ws);
    set_message_type(ws, SocketMessageType::Utf8);
    let mut n = 0u32;
    assert_hr(
        DataWriter_WriteString(w, c"Hello, World!".as_ptr(), &mut n),
        S_OK,
    );
    assert_eq!(n, 13);
    let mut unstored = 0;
    assert_hr(DataWriter_get_UnstoredBufferLength(w, &mut unstored), S_OK);
    assert_eq!(unstored, 13);
    assert_eq!(wait_store(store(w)), 13);
    assert_hr(DataWriter_get_UnstoredBufferLength(w, &mut unstored), S_OK);
    assert_eq!(unstored, 0, "StoreAsync empties the buffer");

    let kosme = "κόσμε";
    let kosme_c = std::ffi::CString::new(kosme).unwrap();
    assert_hr(DataWriter_WriteString(w, kosme_c.as_ptr(), &mut n), S_OK);
    assert_eq!(n as usize, kosme.len());
    assert_eq!(wait_store(store(w)), n);

    set_message_type(ws, SocketMessageType::Binary);
    let bytes = [0u8, 1, 2, 0x7F, 0x80, 0xFF];
    assert_hr(
        DataWriter_WriteBytes(w, bytes.len() as u32, bytes.as_ptr()),
        S_OK,
    );
    assert_eq!(wait_store(store(w)), 6);
    // Typed writes, big-endian by default, then little-endian.
    assert_hr(DataWriter_WriteUInt32(w, 0x0102_0304), S_OK);
    assert_hr(DataWriter_put_ByteOrder(w, 0), S_OK);
    assert_hr(DataWriter_WriteUInt16(w, 0x0506), S_OK);
    assert_hr(DataWriter_WriteBoolean(w, true), S_OK);
    assert_eq!(wait_store(store(w)), 7);
    // Empty messages of both types are sent too.
    assert_eq!(wait_store(store(w)), 0);
    set_message_type(ws, SocketMessageType::Utf8);
    assert_eq!(wait_store(store(w)), 0);

    use SocketMessageType::{Binary, Utf8};
    let expected = vec![
        Ev::Message(Utf8, b"Hello, World!".to_vec()),
        Ev::Message(Utf8, kosme.as_bytes().to_vec()),
        Ev::Message(Binary, bytes.to_vec()),
        Ev::Message(Binary, vec![1, 2, 3, 4, 6, 5, 1]),
        Ev::Message(Binary, vec![]),
        Ev::Message(Utf8, vec![]),
    ];
    let got = page.events.wait_for("6 echoes", |e| e.len() >= 6);
    assert_eq!(got, expected);

    assert_hr(
        MessageWebSocket_CloseWithStatus(ws, 1000, c"done".as_ptr()),
        S_OK,
    );
    let events = wait_closed(&page);
    assert_eq!(events.last(), Some(&Ev::Closed(1000, "done".into())));
    assert_eq!(events.len(), expected.len() + 1, "{events:?}");

    // Handlers ran on library threads, never on the test's.
    let me = std::thread::current().id();
    assert!(page.threads.snapshot().iter().all(|t| *t != me));

    // The socket is closed: sends are refused (at once, or by the operation).
    assert_hr(DataWriter_WriteByte(w, 1), S_OK);
    let mut op = null_mut();
    let hr = DataWriter_StoreAsync(w, &mut op);
    let hr = if hr == S_OK {
        let hr = IAsyncOperationUInt32_Wait(op, TIMEOUT_MS, null_mut());
        IAsyncOperationUInt32_Release(op);
        hr
    } else {
        hr
    };
    assert_hr(hr, RO_E_CLOSED);
    assert_hr(MessageWebSocket_Close(ws), S_OK); // closing again is harmless
    release_writer(w);
    assert_eq!(MessageWebSocket_Release(ws), 0);
}

#[test]
fn message_type_may_change_between_stores_without_waiting() {
    // What an echoing client does: set MessageType, store, and move on, with many
    // stores in flight. Each message keeps the type of its own store, in order.
    let server = TestServer::start();
    let page = Page::new();
    let (ws, _) = socket_with_handlers(&page);
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    let w = writer(ws);
    let mut ops = Vec::new();
    let mut expected = Vec::new();
    for i in 0..200u32 {
        let (ty, payload) = if i % 3 == 0 {
            (SocketMessageType::Binary, i.to_be_bytes().to_vec())
        } else {
            (SocketMessageType::Utf8, format!("message {i}").into_bytes())
        };
        assert_hr(
            MessageWebSocketControl_put_MessageType(control, ty as i32),
            S_OK,
        );
        assert_hr(
            DataWriter_WriteBytes(w, payload.len() as u32, payload.as_ptr()),
            S_OK,
        );
        ops.push(store(w));
        expected.push(Ev::Message(ty, payload));
    }
    let got = page
        .events
        .wait_for("200 echoes", |e| e.len() >= expected.len());
    assert_eq!(got, expected);
    for op in ops {
        wait_store(op);
    }
    assert_hr(
        MessageWebSocket_CloseWithStatus(ws, 1000, std::ptr::null()),
        S_OK,
    );
    assert_eq!(
        wait_closed(&page).last(),
        Some(&Ev::Closed(1000, String::new()))
    );
    release_writer(w);
    MessageWebSocketControl_Release(control);
    MessageWebSocket_Release(ws);
}

#[test]
fn sends_from_several_threads_go_out_whole_and_in_order() {
    const THREADS: u8 = 4;
    const EACH: u16 = 50;
    let server = TestServer::start();
    let page = Page::new();
    let (ws, _) = socket_with_handlers(&page);
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    let ws_key = ws as usize;
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let ws = ws_key as *mut MessageWebSocket;
                let w = writer(ws); // one writer per thread, on the same stream
                let mut ops = Vec::new();
                for seq in 0..EACH {
                    // 4 KiB, so an interleaving of two messages would show.
                    let mut payload = vec![t; 4096];
                    payload[1..3].copy_from_slice(&seq.to_be_bytes());
                    assert_hr(DataWriter_WriteBytes(w, 4096, payload.as_ptr()), S_OK);
                    ops.push(store(w));
                }
                for op in ops {
                    assert_eq!(wait_store(op), 4096);
                }
                release_writer(w);
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let total = usize::from(THREADS) * usize::from(EACH);
    let got = page.events.wait_for("every echo", |e| e.len() >= total);
    let mut next = [0u16; THREADS as usize];
    for ev in &got {
        let Ev::Message(SocketMessageType::Binary, data) = ev else {
            panic!("unexpected event {ev:?}");
        };
        assert_eq!(data.len(), 4096);
        let t = data[0];
        let seq = u16::from_be_bytes([data[1], data[2]]);
        assert_eq!(seq, next[t as usize], "thread {t}'s messages out of order");
        next[t as usize] += 1;
        assert!(
            data[3..].iter().all(|b| *b == t),
            "a message was interleaved"
        );
    }
    assert_eq!(next, [EACH; THREADS as usize]);
    MessageWebSocket_Release(ws);
}

#[test]
fn server_close_code_and_reason() {
    let server = TestServer::start();
    let page = Page::new();
    let (ws, _) = socket_with_handlers(&page);
    assert_hr(
        connect(ws, &server.url("/close?after=1&code=4001&reason=bye%20now")),
        S_OK,
    );
    assert_hr(send(ws, SocketMessageType::Utf8, b"one").0, S_OK);
    let events = wait_closed(&page);
    let reason = events.last().cloned();
    assert_eq!(
        events,
        vec![
            Ev::Message(SocketMessageType::Utf8, b"one".to_vec()),
            reason.clone().unwrap()
        ]
    );
    // The reason as the server sent it (decoded or not, it must be there).
    match reason {
        Some(Ev::Closed(4001, r)) => assert!(r == "bye now" || r == "bye%20now", "{r:?}"),
        other => panic!("expected Closed(4001, ..), got {other:?}"),
    }
    MessageWebSocket_Release(ws);
}

#[test]
fn a_lost_connection_is_a_failed_message_then_closed_1006() {
    for rst in [0, 1] {
        let server = TestServer::start();
        let page = Page::new();
        let (ws, _) = socket_with_handlers(&page);
        assert_hr(
            connect(ws, &server.url(&format!("/vanish?after=1&rst={rst}"))),
            S_OK,
        );
        assert_hr(send(ws, SocketMessageType::Binary, &[9, 9]).0, S_OK);
        let events = wait_closed(&page);
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(
            events[0],
            Ev::Message(SocketMessageType::Binary, vec![9, 9])
        );
        match events[1] {
            Ev::Failed(hr) => assert!(
                hr == WININET_E_CONNECTION_ABORTED || hr == WININET_E_CONNECTION_RESET,
                "rst={rst}: GetDataReader failed with 0x{:08X}",
                hr as u32
            ),
            ref other => panic!("expected a failed MessageReceived, got {other:?}"),
        }
        assert_eq!(events[2], Ev::Closed(1006, String::new()));
        MessageWebSocket_Release(ws);
    }
}

#[test]
fn a_message_over_max_message_size_fails_the_connection() {
    let server = TestServer::start();
    let page = Page::new();
    let (ws, _) = socket_with_handlers(&page);
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    assert_hr(
        MessageWebSocketControl_put_MaxMessageSize(control, 1000),
        S_OK,
    );
    assert_hr(connect(ws, &server.url("/big?after=1&size=1001")), S_OK);
    // Frozen after ConnectAsync.
    assert_hr(
        MessageWebSocketControl_put_MaxMessageSize(control, 5000),
        E_ILLEGAL_METHOD_CALL,
    );
    assert_hr(send(ws, SocketMessageType::Binary, &[1; 1000]).0, S_OK);
    let events = wait_closed(&page);
    assert_eq!(
        events,
        vec![
            Ev::Message(SocketMessageType::Binary, vec![1; 1000]),
            Ev::Failed(RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE),
            Ev::Closed(1009, events.last().and_then(reason_of).unwrap_or_default()),
        ]
    );
    MessageWebSocketControl_Release(control);
    MessageWebSocket_Release(ws);
}

fn reason_of(ev: &Ev) -> Option<String> {
    match ev {
        Ev::Closed(_, r) => Some(r.clone()),
        _ => None,
    }
}

#[test]
fn removed_handler_is_not_called_again() {
    let server = TestServer::start();
    let page = Page::new();
    let (ws, received) = socket_with_handlers(&page);
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    assert_hr(send(ws, SocketMessageType::Utf8, b"first").0, S_OK);
    page.events.wait_for("the first echo", |e| !e.is_empty());
    assert_hr(MessageWebSocket_remove_MessageReceived(ws, received), S_OK);
    // Unknown (and already removed) tokens are ignored.
    assert_hr(MessageWebSocket_remove_MessageReceived(ws, received), S_OK);
    assert_hr(send(ws, SocketMessageType::Utf8, b"second").0, S_OK);
    // A handler added late (after ConnectAsync) gets the messages from now on.
    let late = Page::new();
    let mut token = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_MessageReceived(ws, Some(on_message), context(&late), &mut token),
        S_OK,
    );
    assert_hr(send(ws, SocketMessageType::Utf8, b"third").0, S_OK);
    late.events.wait_for("the late handler", |e| !e.is_empty());
    assert_hr(
        MessageWebSocket_CloseWithStatus(ws, 1000, std::ptr::null()),
        S_OK,
    );
    let events = wait_closed(&page);
    assert_eq!(
        events,
        vec![
            Ev::Message(SocketMessageType::Utf8, b"first".to_vec()),
            Ev::Closed(1000, String::new())
        ]
    );
    // The echo of "second" may come back before or after the late handler was
    // added: it reaches the late handler or none; "third" reaches the late one.
    let second = Ev::Message(SocketMessageType::Utf8, b"second".to_vec());
    let third = Ev::Message(SocketMessageType::Utf8, b"third".to_vec());
    let late_events = late.events.snapshot();
    assert!(
        late_events == [third.clone()] || late_events == [second, third],
        "{late_events:?}"
    );
    MessageWebSocket_Release(ws);
}

#[test]
fn release_inside_the_handler() {
    // As the seed's sample does: the socket is let go from inside MessageReceived.
    let server = TestServer::start();
    let page = Arc::new(Page {
        events: Events::new(),
        threads: Events::new(),
        running: AtomicUsize::new(0),
        release_in_handler: true,
    });
    let (ws, _) = socket_with_handlers(&page);
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    assert_hr(send(ws, SocketMessageType::Binary, &[42]).0, S_OK);
    // From here on the handler owns (and releases) the only reference.
    page.events.wait_for("the echo", |e| !e.is_empty());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        page.events.snapshot(),
        vec![Ev::Message(SocketMessageType::Binary, vec![42])],
        "no handler runs once the last reference is gone (no Closed either)"
    );
    assert_eq!(MessageWebSocket_AddRef(ws), 0, "the handle is dead");
}

#[test]
fn subprotocol_negotiation() {
    let server = TestServer::start();
    let ws = create_socket();
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    let mut protocols = null_mut();
    assert_hr(
        MessageWebSocketControl_get_SupportedProtocols(control, &mut protocols),
        S_OK,
    );
    assert_hr(IVectorString_Append(protocols, c"chat.v2".as_ptr()), S_OK);
    assert_hr(IVectorString_Append(protocols, c"chat.v1".as_ptr()), S_OK);
    assert_hr(
        IVectorString_Append(protocols, c"not a token".as_ptr()),
        E_INVALIDARG,
    );
    let mut size = 0;
    assert_hr(IVectorString_get_Size(protocols, &mut size), S_OK);
    assert_eq!(size, 2);
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    assert_hr(
        IVectorString_Append(protocols, c"late".as_ptr()),
        E_ILLEGAL_METHOD_CALL,
    );

    let mut info = null_mut();
    assert_hr(MessageWebSocket_get_Information(ws, &mut info), S_OK);
    let mut proto = std::ptr::null();
    assert_hr(
        MessageWebSocketInformation_get_Protocol(info, &mut proto),
        S_OK,
    );
    // SAFETY: a NUL-terminated string owned by `info`, alive until its Release below.
    let chosen = unsafe { CStr::from_ptr(proto) }
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(chosen, "chat.v2", "the server picks the first one offered");
    MessageWebSocketInformation_Release(info);
    IVectorString_Release(protocols);
    MessageWebSocketControl_Release(control);
    MessageWebSocket_Release(ws);
}
