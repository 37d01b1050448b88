//! IAsyncAction / IAsyncOperation semantics through the exported functions:
//! put_Completed (once, E_ILLEGAL_DELEGATE_ASSIGNMENT on the second, at once when
//! already finished, the operation kept alive for the handler), Cancel of a
//! pending ConnectAsync (server route /nohandshake never answers), Wait timeouts,
//! Close while started, the closed state, and Wait refused inside handlers.

mod common;

use common::*;
use rtws::ffi::async_op::*;
use rtws::ffi::error::WebSocketError_GetStatus;
use rtws::ffi::message_websocket::*;
use rtws::ffi::streams::*;
use rtws::ffi::EventRegistrationToken;
use rtws_types::AsyncStatus;
use rtws_types::SocketMessageType;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// One call of a Completed handler.
#[derive(Clone, Debug)]
struct Done {
    op: usize,
    status: AsyncStatus,
    thread: ThreadId,
    /// What get_Status on `op` returned inside the handler (the handle must be live).
    status_inside: (HRESULT, AsyncStatus),
}

extern "C" fn on_action_done(ctx: *mut c_void, op: *mut IAsyncAction, status: AsyncStatus) {
    // SAFETY: `ctx` comes from `context(&events)`, which keeps `events` alive.
    let events: &Events<Done> = unsafe { from_context(ctx) };
    events.guarded(|| {
        let mut inside = AsyncStatus::Started;
        let hr = IAsyncAction_get_Status(op, &mut inside);
        events.push(Done {
            op: op as usize,
            status,
            thread: std::thread::current().id(),
            status_inside: (hr, inside),
        });
    });
}

fn start_connect(ws: *mut MessageWebSocket, url: &std::ffi::CStr) -> *mut IAsyncAction {
    let mut op = null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(ws, url.as_ptr(), &mut op),
        S_OK,
    );
    assert!(!op.is_null());
    op
}

fn status_of(op: *mut IAsyncAction) -> AsyncStatus {
    let mut status = AsyncStatus::Error;
    assert_hr(IAsyncAction_get_Status(op, &mut status), S_OK);
    status
}

/// Lets a handler that should not run get the chance to run.
fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn completed_handler_is_set_once() {
    let server = TestServer::start();
    let ws = create_socket();
    let events = Events::<Done>::new();
    let op = start_connect(ws, &server.url("/echo"));
    assert_hr(IAsyncAction_put_Completed(op, None, null_mut()), E_POINTER);
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        S_OK,
    );
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        E_ILLEGAL_DELEGATE_ASSIGNMENT,
    );
    let done = events.wait_for("the Completed handler", |e| !e.is_empty());
    assert_eq!(
        done[0].op, op as usize,
        "the handler gets the operation's handle"
    );
    assert_eq!(done[0].status, AsyncStatus::Completed);
    assert_eq!(done[0].status_inside, (S_OK, AsyncStatus::Completed));
    settle();
    assert_eq!(events.snapshot().len(), 1, "the handler runs once");
    // Still refused after completion.
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        E_ILLEGAL_DELEGATE_ASSIGNMENT,
    );
    assert_eq!(status_of(op), AsyncStatus::Completed);
    assert_hr(IAsyncAction_GetResults(op), S_OK);
    let mut code = -1;
    assert_hr(IAsyncAction_get_ErrorCode(op, &mut code), S_OK);
    assert_hr(code, S_OK);
    assert_hr(IAsyncAction_Wait(op, 0), S_OK);
    assert_eq!(IAsyncAction_Release(op), 0);
    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_eq!(events.snapshot().len(), 1);
}

#[test]
fn completed_handler_of_a_finished_operation_runs_at_once() {
    let server = TestServer::start();
    let ws = create_socket();
    let op = start_connect(ws, &server.url("/echo"));
    assert_hr(IAsyncAction_Wait(op, TIMEOUT_MS), S_OK);
    let events = Events::<Done>::new();
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        S_OK,
    );
    // Before put_Completed returned, on this thread.
    let done = events.snapshot();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].thread, std::thread::current().id());
    assert_eq!(done[0].status, AsyncStatus::Completed);
    assert_eq!(IAsyncAction_Release(op), 0, "rtws's own reference is gone");
    MessageWebSocket_Release(ws);
}

#[test]
fn releasing_does_not_cancel_and_the_handler_gets_a_live_handle() {
    let server = TestServer::start();
    let ws = create_socket();
    let events = Events::<Done>::new();
    let op = start_connect(ws, &server.url("/echo"));
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        S_OK,
    );
    // Our only reference goes; rtws keeps its own until the handler returned.
    IAsyncAction_Release(op);
    let done = events.wait_for("the Completed handler", |e| !e.is_empty());
    assert_eq!(done[0].status, AsyncStatus::Completed);
    assert_eq!(
        done[0].status_inside,
        (S_OK, AsyncStatus::Completed),
        "get_Status on the handler's async_info"
    );
    // The connect went on: the socket is connected.
    let (hr, n) = send(ws, SocketMessageType::Binary, b"still here");
    assert_hr(hr, S_OK);
    assert_eq!(n, 10);
    MessageWebSocket_Release(ws);
}

#[test]
fn cancel_a_pending_connect() {
    let server = TestServer::start();
    let ws = create_socket();
    let events = Events::<Done>::new();
    let op = start_connect(ws, &server.url("/nohandshake"));
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        S_OK,
    );
    settle();
    assert_eq!(
        status_of(op),
        AsyncStatus::Started,
        "/nohandshake never answers"
    );
    assert!(events.snapshot().is_empty());

    assert_hr(IAsyncAction_Cancel(op), S_OK);
    let done = events.wait_for("the Completed handler after Cancel", |e| !e.is_empty());
    assert_eq!(done[0].status, AsyncStatus::Canceled);
    assert_eq!(status_of(op), AsyncStatus::Canceled);
    assert_hr(IAsyncAction_GetResults(op), ERROR_CANCELLED);
    let mut code = S_OK;
    assert_hr(IAsyncAction_get_ErrorCode(op, &mut code), S_OK);
    assert_hr(code, ERROR_CANCELLED);
    assert_hr(IAsyncAction_Wait(op, TIMEOUT_MS), ERROR_CANCELLED);
    assert_eq!(
        WebSocketError_GetStatus(code) as i32,
        16,
        "a canceled connect reads as OperationCanceled"
    );
    // Canceling again changes nothing and raises nothing.
    assert_hr(IAsyncAction_Cancel(op), S_OK);
    assert_eq!(status_of(op), AsyncStatus::Canceled);
    settle();
    assert_eq!(events.snapshot().len(), 1);
    assert_hr(IAsyncAction_Close(op), S_OK);
    assert_eq!(IAsyncAction_Release(op), 0);

    // A canceled connect may be retried on the same socket.
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    let (hr, _) = send(ws, SocketMessageType::Utf8, b"after the retry");
    assert_hr(hr, S_OK);
    MessageWebSocket_Release(ws);
}

#[test]
fn wait_times_out_on_a_pending_connect() {
    let server = TestServer::start();
    let ws = create_socket();
    let op = start_connect(ws, &server.url("/nohandshake"));

    let start = Instant::now();
    assert_hr(IAsyncAction_Wait(op, 300), ERROR_TIMEOUT);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(290) && waited < Duration::from_secs(5),
        "Wait(300 ms) returned after {waited:?}"
    );
    assert!(!last_error().is_empty());
    assert_eq!(
        status_of(op),
        AsyncStatus::Started,
        "a timed-out Wait leaves the operation running"
    );
    // 0 polls.
    let start = Instant::now();
    assert_hr(IAsyncAction_Wait(op, 0), ERROR_TIMEOUT);
    assert!(start.elapsed() < Duration::from_secs(1));
    let mut code = -1;
    assert_hr(IAsyncAction_get_ErrorCode(op, &mut code), S_OK);
    assert_hr(code, S_OK);
    assert_hr(IAsyncAction_GetResults(op), E_ILLEGAL_METHOD_CALL);

    assert_hr(IAsyncAction_Cancel(op), S_OK);
    assert_hr(IAsyncAction_Wait(op, 0), ERROR_CANCELLED);
    IAsyncAction_Release(op);
    MessageWebSocket_Release(ws);
}

#[test]
fn close_while_started_and_the_closed_state() {
    let server = TestServer::start();
    let ws = create_socket();
    let op = start_connect(ws, &server.url("/nohandshake"));
    assert_hr(IAsyncAction_Close(op), E_ILLEGAL_STATE_CHANGE);
    assert_eq!(
        status_of(op),
        AsyncStatus::Started,
        "the refused Close changed nothing"
    );
    assert_hr(IAsyncAction_Cancel(op), S_OK);
    assert_hr(IAsyncAction_Close(op), S_OK);

    // Closed: every member but AddRef/Release refuses.
    let mut status = AsyncStatus::Started;
    assert_hr(
        IAsyncAction_get_Status(op, &mut status),
        E_ILLEGAL_METHOD_CALL,
    );
    let mut code = 0;
    assert_hr(
        IAsyncAction_get_ErrorCode(op, &mut code),
        E_ILLEGAL_METHOD_CALL,
    );
    assert_hr(IAsyncAction_GetResults(op), E_ILLEGAL_METHOD_CALL);
    assert_hr(IAsyncAction_Cancel(op), E_ILLEGAL_METHOD_CALL);
    let events = Events::<Done>::new();
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        E_ILLEGAL_METHOD_CALL,
    );
    // Wait "returns what GetResults would".
    assert_hr(IAsyncAction_Wait(op, 0), E_ILLEGAL_METHOD_CALL);
    assert_eq!(IAsyncAction_AddRef(op), 2);
    assert_eq!(IAsyncAction_Release(op), 1);
    assert_eq!(IAsyncAction_Release(op), 0);
    assert!(events.snapshot().is_empty());
    MessageWebSocket_Release(ws);
}

#[test]
fn operation_ids_are_unique() {
    let server = TestServer::start();
    let url = server.url("/nohandshake");
    let mut ids = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let ws = create_socket();
        let op = start_connect(ws, &url);
        let mut id = 0u32;
        assert_hr(IAsyncAction_get_Id(op, &mut id), S_OK);
        ids.push(id);
        IAsyncAction_Cancel(op);
        IAsyncAction_Release(op);
        sockets.push(ws);
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids {ids:?}");
    for ws in sockets {
        MessageWebSocket_Release(ws);
    }
}

extern "C" fn on_u32_done(ctx: *mut c_void, op: *mut IAsyncOperationUInt32, status: AsyncStatus) {
    // SAFETY: `ctx` comes from `context(&events)`, which keeps `events` alive.
    let events: &Events<(AsyncStatus, HRESULT, u32)> = unsafe { from_context(ctx) };
    events.guarded(|| {
        let mut n = 0;
        let hr = IAsyncOperationUInt32_GetResults(op, &mut n);
        events.push((status, hr, n));
    });
}

#[test]
fn store_and_flush_operations() {
    let server = TestServer::start();
    let ws = create_socket();
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    let w = writer(ws);

    let mut written = 0u32;
    assert_hr(
        DataWriter_WriteString(w, c"hello".as_ptr(), &mut written),
        S_OK,
    );
    assert_eq!(written, 5);
    let mut store = null_mut();
    assert_hr(DataWriter_StoreAsync(w, &mut store), S_OK);
    let mut n = 0u32;
    assert_hr(IAsyncOperationUInt32_Wait(store, TIMEOUT_MS, &mut n), S_OK);
    assert_eq!(n, 5, "StoreAsync's result is the byte count");
    assert_hr(IAsyncOperationUInt32_Wait(store, 0, null_mut()), S_OK);
    let mut again = 0u32;
    assert_hr(IAsyncOperationUInt32_GetResults(store, &mut again), S_OK);
    assert_eq!(again, 5);
    assert_hr(
        IAsyncOperationUInt32_GetResults(store, null_mut()),
        E_POINTER,
    );
    // An IAsyncOperation<UInt32> is not an IAsyncAction nor an IAsyncOperation<Boolean>.
    let mut status = AsyncStatus::Started;
    assert_hr(
        IAsyncAction_get_Status(store.cast(), &mut status),
        E_INVALIDARG,
    );
    assert_hr(
        IAsyncOperationBoolean_get_Status(store.cast(), &mut status),
        E_INVALIDARG,
    );
    assert_hr(IAsyncOperationUInt32_get_Status(store, &mut status), S_OK);
    assert_eq!(status, AsyncStatus::Completed);
    let events = Events::<(AsyncStatus, HRESULT, u32)>::new();
    assert_hr(
        IAsyncOperationUInt32_put_Completed(store, Some(on_u32_done), context(&events)),
        S_OK,
    );
    assert_eq!(events.snapshot(), vec![(AsyncStatus::Completed, S_OK, 5)]);
    assert_hr(
        IAsyncOperationUInt32_put_Completed(store, Some(on_u32_done), context(&events)),
        E_ILLEGAL_DELEGATE_ASSIGNMENT,
    );
    assert_hr(IAsyncOperationUInt32_Close(store), S_OK);
    assert_hr(
        IAsyncOperationUInt32_GetResults(store, &mut again),
        E_ILLEGAL_METHOD_CALL,
    );
    assert_eq!(IAsyncOperationUInt32_Release(store), 0);

    // A store whose Completed handler is set while it may still be running.
    let events = Events::<(AsyncStatus, HRESULT, u32)>::new();
    assert_hr(DataWriter_WriteBytes(w, 3, [1u8, 2, 3].as_ptr()), S_OK);
    assert_hr(DataWriter_StoreAsync(w, &mut store), S_OK);
    assert_hr(
        IAsyncOperationUInt32_put_Completed(store, Some(on_u32_done), context(&events)),
        S_OK,
    );
    IAsyncOperationUInt32_Release(store);
    let got = events.wait_for("the store's Completed handler", |e| !e.is_empty());
    assert_eq!(got, vec![(AsyncStatus::Completed, S_OK, 3)]);

    let mut flush = null_mut();
    assert_hr(DataWriter_FlushAsync(w, &mut flush), S_OK);
    let mut flushed = false;
    assert_hr(
        IAsyncOperationBoolean_Wait(flush, TIMEOUT_MS, &mut flushed),
        S_OK,
    );
    assert!(flushed);
    assert_hr(IAsyncOperationBoolean_Close(flush), S_OK);
    assert_eq!(IAsyncOperationBoolean_Release(flush), 0);

    release_writer(w);
    MessageWebSocket_Release(ws);
}

/// What the handlers of `wait_inside_handlers_is_refused` share with the test.
struct Refusal {
    /// An operation that stays Started (a connect to /nohandshake).
    pending: usize,
    /// (where, Wait with 1 s, Wait with 0 ms).
    results: Arc<Events<(&'static str, HRESULT, HRESULT)>>,
}

fn try_waits(r: &Refusal, place: &'static str) {
    r.results.guarded(|| {
        let op = r.pending as *mut IAsyncAction;
        let start = Instant::now();
        let blocking = IAsyncAction_Wait(op, 1000);
        let poll = IAsyncAction_Wait(op, 0);
        assert!(
            start.elapsed() < Duration::from_millis(900),
            "Wait blocked inside a handler"
        );
        r.results.push((place, blocking, poll));
    });
}

extern "C" fn refusal_on_message(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    _args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&refusal)`, which keeps `refusal` alive.
    try_waits(unsafe { from_context(ctx) }, "MessageReceived");
}

extern "C" fn refusal_on_completed(ctx: *mut c_void, _op: *mut IAsyncAction, _s: AsyncStatus) {
    // SAFETY: as above.
    try_waits(unsafe { from_context(ctx) }, "Completed");
}

#[test]
fn wait_inside_handlers_is_refused() {
    let server = TestServer::start();
    let stuck = create_socket();
    let pending = start_connect(stuck, &server.url("/nohandshake"));
    let refusal = Arc::new(Refusal {
        pending: pending as usize,
        results: Events::new(),
    });

    // Inside MessageReceived.
    let ws = create_socket();
    let mut token = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_MessageReceived(
            ws,
            Some(refusal_on_message),
            context(&refusal),
            &mut token,
        ),
        S_OK,
    );
    assert_hr(connect(ws, &server.url("/echo")), S_OK);
    assert_hr(send(ws, SocketMessageType::Utf8, b"ping").0, S_OK);
    let got = refusal
        .results
        .wait_for("the MessageReceived handler", |e| !e.is_empty());
    assert_eq!(
        got[0],
        ("MessageReceived", E_ILLEGAL_METHOD_CALL, ERROR_TIMEOUT)
    );

    // Inside a Completed handler, run by a Cancel.
    let other = create_socket();
    let op = start_connect(other, &server.url("/nohandshake"));
    assert_hr(
        IAsyncAction_put_Completed(op, Some(refusal_on_completed), context(&refusal)),
        S_OK,
    );
    assert_hr(IAsyncAction_Cancel(op), S_OK);
    let got = refusal
        .results
        .wait_for("the Completed handler", |e| e.len() >= 2);
    assert_eq!(got[1], ("Completed", E_ILLEGAL_METHOD_CALL, ERROR_TIMEOUT));

    // Outside handlers the same Wait is allowed (and times out).
    assert_hr(IAsyncAction_Wait(pending, 50), ERROR_TIMEOUT);

    IAsyncAction_Release(op);
    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_eq!(MessageWebSocket_Release(other), 0);
    IAsyncAction_Cancel(pending);
    IAsyncAction_Release(pending);
    MessageWebSocket_Release(stuck);
}

/// Close on the socket of a pending ConnectAsync, `delay` after it started.
fn close_during_connect(delay: Duration, release_instead: bool) {
    let server = TestServer::start();
    let ws = create_socket();
    let events = Events::<Done>::new();
    let op = start_connect(ws, &server.url("/nohandshake"));
    assert_hr(
        IAsyncAction_put_Completed(op, Some(on_action_done), context(&events)),
        S_OK,
    );
    std::thread::sleep(delay);
    if release_instead {
        // The last reference closes the socket "as Close".
        assert_eq!(MessageWebSocket_Release(ws), 0);
    } else {
        assert_hr(MessageWebSocket_Close(ws), S_OK);
    }
    let done = events.wait_for("the Completed handler after Close", |e| !e.is_empty());
    assert_eq!(done[0].status, AsyncStatus::Error);
    assert_hr(IAsyncAction_Wait(op, TIMEOUT_MS), ERROR_OPERATION_ABORTED);
    assert_eq!(WebSocketError_GetStatus(ERROR_OPERATION_ABORTED) as i32, 16);
    IAsyncAction_Release(op);
    if !release_instead {
        // Closed for good: a new connect is refused.
        let mut again = null_mut();
        assert_hr(
            MessageWebSocket_ConnectAsync(ws, server.url("/echo").as_ptr(), &mut again),
            RO_E_CLOSED,
        );
        MessageWebSocket_Release(ws);
    }
}

#[test]
fn close_socket_aborts_a_pending_connect() {
    // The connect is under way (TCP connected, waiting for the 101).
    close_during_connect(Duration::from_millis(200), false);
    close_during_connect(Duration::from_millis(200), true);
}

#[test]
fn close_right_after_connect_async_aborts_it() {
    // The same, before rtws's connect task had a chance to run: the operation must
    // still fail with ERROR_OPERATION_ABORTED rather than stay Started forever.
    // (Whether the task ran already is a race: a few tries make it likely.)
    for _ in 0..3 {
        close_during_connect(Duration::ZERO, false);
        close_during_connect(Duration::ZERO, true);
    }
}

#[test]
fn store_before_connect_is_an_illegal_call() {
    let ws = create_socket();
    let w = writer(ws);
    assert_hr(DataWriter_WriteByte(w, 1), S_OK);
    let mut store = null_mut();
    assert_hr(DataWriter_StoreAsync(w, &mut store), E_ILLEGAL_METHOD_CALL);
    assert!(store.is_null());
    release_writer(w);
    MessageWebSocket_Release(ws);
}
