//! `rtws_Shutdown`, in a test binary of its own: it ends every handle of the
//! process, so it must not run beside other tests. One test function only.
//!
//! Checks: refused inside a handler (E_ILLEGAL_METHOD_CALL, and nothing is shut
//! down); from the host it releases every handle (old handles are refused
//! afterwards), finishes pending operations with RTWS_E_OPERATION_ABORTED (a thread blocked in
//! Wait is released, the Completed handler runs once), returns within its bound;
//! the next call starts rtws again.

mod common;

use common::*;
use rtws::ffi::async_op::*;
use rtws::ffi::error::rtws_Shutdown;
use rtws::ffi::message_websocket::*;
use rtws::ffi::streams::*;
use rtws::ffi::EventRegistrationToken;
use rtws_types::AsyncStatus;
use rtws_types::SocketMessageType;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RTWS_E_OPERATION_ABORTED: HRESULT = 0x8007_03E3u32 as HRESULT;

extern "C" fn shutdown_in_handler(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    _args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&results)`, which keeps it alive.
    let results: &Events<HRESULT> = unsafe { from_context(ctx) };
    results.guarded(|| results.push(rtws_Shutdown(1000)));
}

/// What a Completed handler run at once by put_Completed tried: rtws_Shutdown and
/// a bounded Wait on `other`, an operation still running.
struct InlineCompleted {
    results: Arc<Events<HRESULT>>,
    other: usize,
}

extern "C" fn refuse_in_completed(ctx: *mut c_void, _op: *mut IAsyncAction, _: AsyncStatus) {
    // SAFETY: `ctx` comes from `context(&inline)`, which keeps it alive.
    let inline: &InlineCompleted = unsafe { from_context(ctx) };
    inline.results.guarded(|| {
        inline.results.push(rtws_Shutdown(1000));
        inline
            .results
            .push(IAsyncAction_Wait(inline.other as *mut IAsyncAction, 100));
    });
}

extern "C" fn on_done(ctx: *mut c_void, _op: *mut IAsyncAction, status: AsyncStatus) {
    // SAFETY: `ctx` comes from `context(&done)`, which keeps it alive.
    let done: &Events<AsyncStatus> = unsafe { from_context(ctx) };
    done.guarded(|| done.push(status));
}

#[test]
fn shutdown() {
    let server = TestServer::start();

    // Inside a handler: refused, and rtws keeps working.
    let ws = create_socket();
    let results = Events::<HRESULT>::new();
    let mut token = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_MessageReceived(
            ws,
            Some(shutdown_in_handler),
            context(&results),
            &mut token,
        ),
        S_OK,
    );
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    assert_hr(send(ws, SocketMessageType::Binary, &[1]).0, S_OK);
    let got = results.wait_for("the handler's rtws_Shutdown", |r| !r.is_empty());
    assert_hr(got[0], E_ILLEGAL_METHOD_CALL);
    assert_hr(send(ws, SocketMessageType::Binary, &[2]).0, S_OK);
    results.wait_for("the second echo", |r| r.len() >= 2);

    // A Completed handler that put_Completed runs at once on this thread (its
    // operation had finished) is a handler too: the same two calls are refused.
    let finished = create_socket();
    let mut op = null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(finished, server.url("/echo").as_ptr(), &mut op),
        S_OK,
    );
    assert_hr(IAsyncAction_Wait(op, TIMEOUT_MS), S_OK);
    let silent = create_socket();
    let mut running = null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(silent, server.url("/nohandshake").as_ptr(), &mut running),
        S_OK,
    );
    let inline = Arc::new(InlineCompleted {
        results: Events::new(),
        other: running as usize,
    });
    assert_hr(
        IAsyncAction_put_Completed(op, Some(refuse_in_completed), context(&inline)),
        S_OK,
    );
    let got = inline.results.snapshot();
    assert_eq!(
        got.len(),
        2,
        "the handler ran at once, inside put_Completed"
    );
    assert_hr(got[0], E_ILLEGAL_METHOD_CALL);
    assert_hr(got[1], E_ILLEGAL_METHOD_CALL);
    let mut status = AsyncStatus::Error;
    assert_hr(IAsyncAction_get_Status(running, &mut status), S_OK);
    assert_eq!(
        status,
        AsyncStatus::Started,
        "the /nohandshake connect is still running"
    );
    IAsyncAction_Release(op);
    IAsyncAction_Release(running);
    MessageWebSocket_Release(finished);
    MessageWebSocket_Release(silent);

    // Live handles of every kind, and a connect that never completes.
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    let w = writer(ws);
    let stuck = create_socket();
    let mut pending = null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(stuck, server.url("/nohandshake").as_ptr(), &mut pending),
        S_OK,
    );
    let done = Events::<AsyncStatus>::new();
    assert_hr(
        IAsyncAction_put_Completed(pending, Some(on_done), context(&done)),
        S_OK,
    );
    std::thread::sleep(Duration::from_millis(100));
    let pending_key = pending as usize;
    let waiter =
        std::thread::spawn(move || IAsyncAction_Wait(pending_key as *mut IAsyncAction, TIMEOUT_MS));
    std::thread::sleep(Duration::from_millis(100));

    let start = Instant::now();
    assert_hr(rtws_Shutdown(5000), S_OK);
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "rtws_Shutdown(5000) took {:?}",
        start.elapsed()
    );

    // The pending operation finished: the blocked Wait returned, the handler ran once.
    let waited = waiter.join().unwrap();
    let statuses = done.wait_for("the pending connect's Completed handler", |d| !d.is_empty());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(done.snapshot().len(), 1);
    assert!(
        statuses[0] == AsyncStatus::Error || statuses[0] == AsyncStatus::Canceled,
        "{:?}",
        statuses[0]
    );

    // Every handle obtained before is invalid now.
    assert_eq!(MessageWebSocket_AddRef(ws), 0);
    assert_eq!(MessageWebSocket_AddRef(stuck), 0);
    assert_eq!(MessageWebSocketControl_AddRef(control), 0);
    assert_hr(DataWriter_WriteByte(w, 1), E_INVALIDARG);
    assert_eq!(IAsyncAction_AddRef(pending), 0);
    assert_eq!(MessageWebSocket_Release(ws), 0);

    // The next call starts rtws again.
    let ws = create_socket();
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    let (hr, n) = send(ws, SocketMessageType::Utf8, b"again");
    assert_hr(hr, S_OK);
    assert_eq!(n, 5);
    assert_hr(
        MessageWebSocket_CloseWithStatus(ws, 1000, std::ptr::null()),
        S_OK,
    );
    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_hr(rtws_Shutdown(5000), S_OK);
    // Twice is harmless.
    assert_hr(rtws_Shutdown(5000), S_OK);

    // Checked last, so the checks above run whatever this gives: rtws.h says
    // pending operations "finish with RTWS_E_OPERATION_ABORTED".
    assert!(
        waited == RTWS_E_OPERATION_ABORTED,
        "the Wait blocked across rtws_Shutdown returned 0x{:08X}, expected RTWS_E_OPERATION_ABORTED 0x{:08X}",
        waited as u32,
        RTWS_E_OPERATION_ABORTED as u32
    );
}
