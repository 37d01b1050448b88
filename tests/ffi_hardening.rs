//! Defects found by trying rtws as a hostile peer and a careless host would
//! (issue 9), each through the C ABI against a raw peer on loopback. Every wait is
//! bounded, and every peer thread ends by itself.

mod common;

use common::raw::{frame, peer};
use common::*;
use rtws::ffi::async_op::*;
use rtws::ffi::message_websocket::*;
use rtws::ffi::streams::*;
use rtws::ffi::{EventRegistrationToken, TimeSpan};
use std::ffi::c_void;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WININET_E_TIMEOUT: HRESULT = 0x8007_2EE2u32 as HRESULT;

/// A peer that sends one binary message and then stays quiet for `hold`.
fn one_message_peer(hold: Duration) -> (u16, std::thread::JoinHandle<()>) {
    peer(move |mut s| {
        s.write_all(&frame(0x82, b"go")).unwrap();
        std::thread::sleep(hold);
    })
}

fn add_message_received(ws: *mut MessageWebSocket, handler: MessageHandler, ctx: *mut c_void) {
    let mut token = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_MessageReceived(ws, Some(handler), ctx, &mut token),
        S_OK,
    );
}

/// What a slow handler and the test thread share.
#[derive(Default)]
struct Slow {
    /// 1: the handler started; 2: it is about to return.
    phase: AtomicU32,
    /// The test thread is about to make the last Release.
    releasing: AtomicBool,
    /// What the handler's calls on its `sender` returned, once the last Release
    /// had begun: AddRef's count, Close's HRESULT, Release's count.
    addref: AtomicU32,
    close: AtomicU32,
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

type MessageHandler = extern "C" fn(
    *mut c_void,
    *mut MessageWebSocket,
    *mut MessageWebSocketMessageReceivedEventArgs,
);

/// A socket connected to a peer that sends one message, `handler` (its context a
/// `Slow`) on it; returns once the handler has started.
fn in_a_slow_handler(handler: MessageHandler) -> (*mut MessageWebSocket, Arc<Slow>) {
    let (port, _peer) = one_message_peer(Duration::from_secs(3));
    let ws = create_socket();
    let slow = Arc::new(Slow::default());
    add_message_received(ws, handler, context(&slow));
    assert_hr(connect(ws, &raw_url(port)), S_OK);
    wait_for("the handler to start", || {
        slow.phase.load(Ordering::SeqCst) >= 1
    });
    (ws, slow)
}

extern "C" fn slow_handler(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    _args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&slow)`, which keeps it alive.
    let slow: &Slow = unsafe { from_context(ctx) };
    slow.phase.store(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    slow.phase.store(2, Ordering::SeqCst);
}

/// The last Release returned while a handler still ran whenever another call on
/// the socket was in flight (it held the object, so the waiting was left to a
/// destructor that ran later). Here the call in flight is a remove_Closed on
/// another thread, itself waiting for the handler.
#[test]
fn last_release_waits_for_the_handler_despite_a_call_in_flight() {
    let (ws, slow) = in_a_slow_handler(slow_handler);
    let key = ws as usize;
    let in_flight = std::thread::spawn(move || {
        MessageWebSocket_remove_Closed(
            key as *mut MessageWebSocket,
            EventRegistrationToken { value: 12345 },
        )
    });
    std::thread::sleep(Duration::from_millis(100)); // remove_Closed is waiting now
    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_eq!(
        slow.phase.load(Ordering::SeqCst),
        2,
        "the last Release returned while the handler was still running"
    );
    assert_hr(in_flight.join().unwrap(), S_OK);
}

extern "C" fn sender_user(
    ctx: *mut c_void,
    sender: *mut MessageWebSocket,
    _args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&slow)`, which keeps it alive.
    let slow: &Slow = unsafe { from_context(ctx) };
    slow.phase.store(1, Ordering::SeqCst);
    let deadline = Instant::now() + TIMEOUT;
    while !slow.releasing.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200)); // the last Release is under way
    slow.addref
        .store(MessageWebSocket_AddRef(sender), Ordering::SeqCst);
    slow.close
        .store(MessageWebSocket_Close(sender) as u32, Ordering::SeqCst);
    MessageWebSocket_Release(sender);
    slow.phase.store(2, Ordering::SeqCst);
}

/// A handler's borrowed `sender` stays valid for the whole call, even when another
/// thread makes the last Release meanwhile: AddRef and Close work on it.
#[test]
fn borrowed_sender_outlives_a_release_elsewhere() {
    let (ws, slow) = in_a_slow_handler(sender_user);
    slow.releasing.store(true, Ordering::SeqCst);
    MessageWebSocket_Release(ws);
    assert_eq!(slow.phase.load(Ordering::SeqCst), 2, "Release waited");
    assert_eq!(slow.addref.load(Ordering::SeqCst), 1, "AddRef(sender)");
    assert_hr(slow.close.load(Ordering::SeqCst) as HRESULT, S_OK);
    // The handler's own reference was the last one: the handle is gone now.
    assert_eq!(MessageWebSocket_AddRef(ws), 0);
}

fn raw_url(port: u16) -> std::ffi::CString {
    std::ffi::CString::new(format!("ws://127.0.0.1:{port}/")).unwrap()
}

fn vm_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// What a connection delivered: its messages, the failure a last MessageReceived
/// reported, and Closed's code.
#[derive(Default)]
struct Delivered {
    messages: std::sync::Mutex<Vec<Vec<u8>>>,
    failure: AtomicU32,
    closed: AtomicU32,
}

impl Delivered {
    fn closed(&self) -> u32 {
        self.closed.load(Ordering::SeqCst)
    }
    fn failure(&self) -> HRESULT {
        self.failure.load(Ordering::SeqCst) as HRESULT
    }
}

extern "C" fn collect_message(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&delivered)`, which keeps it alive.
    let d: &Delivered = unsafe { from_context(ctx) };
    match read_message(args) {
        Ok((_, data)) => d.messages.lock().unwrap().push(data),
        Err(hr) => d.failure.store(hr as u32, Ordering::SeqCst),
    }
}

extern "C" fn collect_closed(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    args: *mut WebSocketClosedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&delivered)`, which keeps it alive.
    let d: &Delivered = unsafe { from_context(ctx) };
    d.closed
        .store(u32::from(read_closed(args).0), Ordering::SeqCst);
}

/// A new socket whose events go to a `Delivered`: Closed to `collect_closed`,
/// MessageReceived to `on_message` (given the same context).
fn collecting_socket(on_message: MessageHandler) -> (*mut MessageWebSocket, Arc<Delivered>) {
    let ws = create_socket();
    let d = Arc::new(Delivered::default());
    add_message_received(ws, on_message, context(&d));
    let mut token = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_Closed(ws, Some(collect_closed), context(&d), &mut token),
        S_OK,
    );
    (ws, d)
}

/// A server that pings without pause and never reads: the client used to queue a
/// pong per ping (3 GiB in 10 s) and outlive SendTimeout, since every frame read
/// counted as progress. Now it answers the latest ping only while its output is
/// stuck, and SendTimeout (2 s here) ends the connection.
#[test]
fn ping_flood_is_bounded_and_times_out() {
    let (port, flood) = peer(|mut s| {
        let ping = frame(0x89, &[b'p'; 125]);
        let burst: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 512)
            .collect();
        let stop = Instant::now() + Duration::from_secs(15);
        // Never reads; ends when the client is gone or after 15 s.
        while Instant::now() < stop && s.write_all(&burst).is_ok() {}
    });
    let (ws, ending) = collecting_socket(collect_message);
    let mut control = std::ptr::null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    assert_hr(
        MessageWebSocketControl_put_SendTimeout(
            control,
            TimeSpan {
                Duration: 20_000_000,
            },
        ),
        S_OK,
    );
    MessageWebSocketControl_Release(control);
    let before = vm_rss_mib();
    let start = Instant::now();
    assert_hr(connect(ws, &raw_url(port)), S_OK);
    let mut peak = before;
    while ending.closed() == 0 && start.elapsed() < TIMEOUT {
        peak = peak.max(vm_rss_mib());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        ending.closed(),
        1006,
        "no Closed within {TIMEOUT:?} of a ping flood with SendTimeout 2 s"
    );
    assert_hr(ending.failure(), WININET_E_TIMEOUT);
    // Generous: the other tests of this binary run beside it (one holds 48 MiB);
    // unbounded pongs grew by some 300 MiB a second.
    assert!(
        peak < before + 256,
        "RSS grew from {before} MiB to {peak} MiB under a ping flood"
    );
    MessageWebSocket_Release(ws);
    flood.join().unwrap();
}

/// A peer whose 101 is built by `head` from the accept key; then `after` goes out
/// in the same write, all of it `chunk` bytes at a time (1 ms apart).
fn handshake_peer(
    head: impl FnOnce(&str) -> String + Send + 'static,
    after: Vec<u8>,
    chunk: usize,
) -> (u16, std::thread::JoinHandle<()>) {
    common::raw::listener(move |mut s| {
        let request = common::raw::read_head(&mut s);
        let mut bytes = head(&common::raw::accept_key(&request)).into_bytes();
        bytes.extend(after);
        s.set_nodelay(true).unwrap();
        for piece in bytes.chunks(chunk) {
            if s.write_all(piece).is_err() {
                return;
            }
            if chunk < bytes.len() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(Duration::from_secs(2)); // the client reads, replies and closes
    })
}

/// Connects to `port` with collecting handlers; the connect's HRESULT, and what
/// came until Closed (bounded wait) when it succeeded.
fn connect_and_collect(port: u16) -> (HRESULT, Arc<Delivered>) {
    let (ws, d) = collecting_socket(collect_message);
    let hr = connect(ws, &raw_url(port));
    if hr == S_OK {
        wait_for("Closed", || d.closed() != 0);
    }
    MessageWebSocket_Release(ws);
    (hr, d)
}

fn switching(line_end: &str, extra: &str) -> impl FnOnce(&str) -> String {
    let (line_end, extra) = (line_end.to_owned(), extra.to_owned());
    move |key| {
        format!(
            "HTTP/1.1 101 Switching Protocols{e}Upgrade: websocket{e}Connection: Upgrade{e}\
             Sec-WebSocket-Accept: {key}{e}{extra}{e}",
            e = line_end
        )
    }
}

/// The frames that came in the same read as a 101 with bare-LF line endings were
/// lost (the head's end was looked for as CRLF CRLF while httparse took LF LF).
#[test]
fn frames_after_a_bare_lf_101_are_kept() {
    let mut after = frame(0x82, b"first");
    after.extend(frame(0x88, &1000u16.to_be_bytes()));
    let (port, _peer) = handshake_peer(switching("\n", ""), after, usize::MAX);
    let (hr, d) = connect_and_collect(port);
    assert_hr(hr, S_OK);
    assert_eq!(*d.messages.lock().unwrap(), vec![b"first".to_vec()]);
    assert_eq!(d.closed(), 1000);
}

/// A valid 101 sent a byte at a time (with a long header, ~300 pieces) was
/// refused by tungstenite's many-small-packets heuristic; any split is valid.
#[test]
fn a_101_that_trickles_in_is_accepted() {
    let padding = format!("X-Padding: {}\r\n", "p".repeat(200));
    let after = frame(0x82, b"ok");
    let (port, _peer) = handshake_peer(switching("\r\n", &padding), after, 1);
    let (hr, d) = connect_and_collect(port);
    assert_hr(hr, S_OK);
    assert_eq!(*d.messages.lock().unwrap(), vec![b"ok".to_vec()]);
}

/// RFC 6455 §4.1: an extension the client never offered fails the connection.
#[test]
fn an_unoffered_extension_fails_the_connect() {
    let ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    let (port, _peer) = handshake_peer(switching("\r\n", ext), Vec::new(), usize::MAX);
    let (hr, _) = connect_and_collect(port);
    assert_hr(hr, 0x8376_0003u32 as HRESULT); // E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED
}

/// A head that never ends is refused at 64 KiB, not read forever.
#[test]
fn an_endless_head_is_refused() {
    let endless = |_: &str| {
        // One header line that never ends (a few lines would trip httparse's
        // header count instead).
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nX-Filler: {}",
            "f".repeat(70 * 1024)
        )
    };
    let (port, _peer) = handshake_peer(endless, Vec::new(), usize::MAX);
    let (hr, _) = connect_and_collect(port);
    assert_hr(hr, 0x8007_2F78u32 as HRESULT); // WININET_E_INVALID_SERVER_RESPONSE
}

extern "C" fn slow_first_message(
    ctx: *mut c_void,
    sender: *mut MessageWebSocket,
    args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&delivered)`, which keeps it alive.
    let d: &Delivered = unsafe { from_context(ctx) };
    let first = d.messages.lock().unwrap().is_empty();
    collect_message(ctx, sender, args);
    if first {
        // Meanwhile the peer's next message and its reset arrive: both wait for this
        // connection's next pass, which tries its pending write first.
        std::thread::sleep(Duration::from_millis(400));
    }
}

/// A peer that resets the connection while our output is stuck: the write fails
/// first, but the message that arrived before the reset is still delivered (it
/// was dropped: the connection ended on the write error without reading on).
#[test]
fn messages_before_a_reset_survive_a_failed_write() {
    let (port, _peer) = peer(send_two_then_reset);
    let d = stuck_output_until_closed(&raw_url(port), None);
    let failure = d.failure();
    assert!(
        failure == 0x8007_2EFFu32 as HRESULT || failure == 0x8007_2EFEu32 as HRESULT,
        "failure 0x{:08X}: expected WININET_E_CONNECTION_RESET or _ABORTED",
        failure as u32
    );
}

/// The peer's side of the failed-write tests (over a plain or TLS stream): "a",
/// then "b" while the client's handler of "a" still runs, then a reset.
fn send_two_then_reset(mut s: impl Write) {
    // First the client's output fills our receive buffer (we never read).
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(&frame(0x82, b"a")).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    s.write_all(&frame(0x82, b"b")).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // Dropped with the client's bytes unread: a reset, not a FIN.
}

/// Connects (trusting `root_pem` for wss:), stores 16 MiB the peer never reads,
/// and waits for Closed: both messages must have come first, then Closed 1006.
fn stuck_output_until_closed(
    url: &std::ffi::CStr,
    root_pem: Option<&std::ffi::CStr>,
) -> Arc<Delivered> {
    let (ws, d) = collecting_socket(slow_first_message);
    if let Some(pem) = root_pem {
        let mut control = std::ptr::null_mut();
        assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
        assert_hr(
            MessageWebSocketControl_put_TrustedRootCertificates(control, pem.as_ptr()),
            S_OK,
        );
        MessageWebSocketControl_Release(control);
    }
    assert_hr(connect(ws, url), S_OK);
    let w = writer(ws);
    let big = vec![0u8; 16 << 20];
    assert_hr(
        DataWriter_WriteBytes(w, big.len() as u32, big.as_ptr()),
        S_OK,
    );
    let mut store = std::ptr::null_mut();
    assert_hr(DataWriter_StoreAsync(w, &mut store), S_OK);
    wait_for("Closed", || d.closed() != 0);
    assert_eq!(
        *d.messages.lock().unwrap(),
        vec![b"a".to_vec(), b"b".to_vec()],
        "both messages sent before the reset"
    );
    assert_eq!(d.closed(), 1006);
    IAsyncOperationUInt32_Release(store);
    release_writer(w);
    MessageWebSocket_Release(ws);
    d
}

/// A self-signed certificate for 127.0.0.1 and its key (made for this run).
fn loopback_identity() -> (
    openssl::x509::X509,
    openssl::pkey::PKey<openssl::pkey::Private>,
) {
    use openssl::{asn1::Asn1Time, bn::BigNum, ec, nid::Nid, pkey::PKey, x509};
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "127.0.0.1").unwrap();
    let name = name.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = x509::extension::SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    (b.build(), key)
}

/// The failed-write rule over wss. A guard more than a regression test: the TLS
/// alert probe used to run after any reset and could eat up to 512 bytes of the
/// peer's last records, but this timing passed with it too (the probe only runs
/// for the upgrade request now).
#[test]
fn wss_messages_before_a_reset_survive_a_failed_write() {
    use openssl::ssl::{SslAcceptor, SslMethod};
    let (cert, key) = loopback_identity();
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_certificate(&cert).unwrap();
    acceptor.set_private_key(&key).unwrap();
    let acceptor = acceptor.build();
    let (port, _peer) = common::raw::listener(move |tcp| {
        let mut s = acceptor.accept(tcp).unwrap();
        common::raw::upgrade(&mut s);
        send_two_then_reset(s);
    });
    let pem = std::ffi::CString::new(cert.to_pem().unwrap()).unwrap();
    let url = std::ffi::CString::new(format!("wss://127.0.0.1:{port}/")).unwrap();
    stuck_output_until_closed(&url, Some(&pem));
}
