//! What `MessageWebSocket_ConnectAsync` puts on the wire for URIs that need
//! normalizing (an empty path before a query, an upper-case scheme, a non-ASCII
//! path), seen by a raw TCP peer on loopback that records the request head and
//! answers 101. Every wait is bounded; the peer thread ends by itself.

mod common;

use common::*;
use rtws::ffi::async_op::*;
use rtws::ffi::message_websocket::*;
use rtws_types::AsyncStatus;
use std::ffi::CString;
use std::io::Read;
use std::sync::mpsc;

/// A peer on 127.0.0.1 that accepts one client, sends its request head and
/// answers a valid 101, then reads until the client leaves.
fn peer() -> (u16, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let (port, _thread) = common::raw::listener(move |mut stream| {
        let _ = tx.send(common::raw::upgrade(&mut stream));
        // Until the client closes (or the read timeout).
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });
    (port, rx)
}

/// Connects a MessageWebSocket to `uri` (`{port}` replaced by the peer's port);
/// returns the request head the peer saw and the connect's outcome: the Wait's
/// HRESULT, the operation's Status and GetResults.
fn connect_through_peer(uri: &str) -> (String, HRESULT, AsyncStatus, HRESULT) {
    let (port, head) = peer();
    let uri = CString::new(uri.replace("{port}", &port.to_string())).unwrap();
    let ws = create_socket();
    let mut op = std::ptr::null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(ws, uri.as_ptr(), &mut op),
        S_OK,
    );
    let waited = IAsyncAction_Wait(op, TIMEOUT_MS);
    let mut status = AsyncStatus::Started;
    assert_hr(IAsyncAction_get_Status(op, &mut status), S_OK);
    let results = IAsyncAction_GetResults(op);
    let head = head
        .recv_timeout(TIMEOUT)
        .expect("the peer reported nothing");
    assert_eq!(IAsyncAction_Release(op), 0);
    MessageWebSocket_Release(ws);
    (head, waited, status, results)
}

fn request_line(head: &str) -> &str {
    head.lines().next().unwrap_or("")
}

fn host_header(head: &str) -> Option<&str> {
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("host").then(|| value.trim())
    })
}

#[track_caller]
fn assert_connected(waited: HRESULT, status: AsyncStatus, results: HRESULT) {
    assert_hr(waited, S_OK);
    assert_eq!(status, AsyncStatus::Completed);
    assert_hr(results, S_OK);
}

#[test]
fn empty_path_before_a_query_is_slash() {
    let (head, waited, status, results) = connect_through_peer("ws://127.0.0.1:{port}?x=1");
    assert_eq!(request_line(&head), "GET /?x=1 HTTP/1.1");
    assert_connected(waited, status, results);
}

#[test]
fn upper_case_scheme_connects() {
    let (head, waited, status, results) = connect_through_peer("WS://127.0.0.1:{port}/");
    assert_connected(waited, status, results);
    assert_eq!(request_line(&head), "GET / HTTP/1.1");
    let port = host_header(&head).and_then(|h| h.strip_prefix("127.0.0.1:"));
    assert!(
        port.is_some_and(|p| p.parse::<u16>().is_ok()),
        "Host: {:?}",
        host_header(&head)
    );
}

#[test]
fn non_ascii_path_is_percent_encoded() {
    let (head, waited, status, results) = connect_through_peer("ws://127.0.0.1:{port}/caf\u{e9}");
    assert_eq!(request_line(&head), "GET /caf%C3%A9 HTTP/1.1");
    assert_connected(waited, status, results);
}
