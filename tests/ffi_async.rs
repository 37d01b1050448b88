//! A race of ConnectAsync with the socket's Close and last Release, through the
//! exported functions: closing a socket right after ConnectAsync returned, before
//! rtws's connect task had a chance to run, must still finish the operation with
//! ERROR_OPERATION_ABORTED (and run its Completed handler with Error) rather than
//! leave it Started forever. The rest of the IAsyncAction / IAsyncOperation
//! semantics is the C tests' (tests/c/test_async.c; tests/README.md says why).

mod common;

use common::*;
use rtws::ffi::async_op::*;
use rtws::ffi::error::WebSocketError_GetStatus;
use rtws::ffi::message_websocket::*;
use rtws_types::AsyncStatus;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::time::Duration;

/// One call of a Completed handler.
#[derive(Clone, Debug)]
struct Done {
    status: AsyncStatus,
}

extern "C" fn on_action_done(ctx: *mut c_void, _op: *mut IAsyncAction, status: AsyncStatus) {
    // SAFETY: `ctx` comes from `context(&events)`, which keeps `events` alive.
    let events: &Events<Done> = unsafe { from_context(ctx) };
    events.guarded(|| events.push(Done { status }));
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
fn close_right_after_connect_async_aborts_it() {
    // Whether the connect task ran already is a race: a few tries make it likely that
    // some Close and some Release come first.
    for _ in 0..3 {
        close_during_connect(Duration::ZERO, false);
        close_during_connect(Duration::ZERO, true);
    }
}
