//! `MessageWebSocket`: its handle, its handler types and the `MessageWebSocket_*`
//! functions. Its other classes have a file each: `MessageWebSocketControl`
//! (control.rs), `MessageWebSocketInformation` (information.rs) and
//! `MessageWebSocketMessageReceivedEventArgs` (message_received_event_args.rs); the
//! Closed handler's `WebSocketClosedEventArgs`, which StreamWebSocket shares, is in
//! ffi/websocket_closed_event_args.rs.
//!
//! The members it shares with StreamWebSocket (UWP's IWebSocket) make the
//! same core calls (the longer bodies are in ffi/websocket.rs); each is documented
//! here in full, as C users read one function at a time. tests/ffi_layout.rs fails when
//! a shared member here (doc comment or body) differs from its copy in
//! ffi/stream_websocket/mod.rs other than by the class name: change both.
//!
//! Thread rules for every function of this class and its Control, Information and
//! event arguments: callable from any thread, including from inside rtws handlers.
//! Handlers of one socket run one at a time, in wire order, on a library thread;
//! every MessageReceived of a connection comes before its one Closed. Handlers must
//! not throw or longjmp out.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `websocket`, the handle types its
//! functions take or hand out), `rtws_core::winrt::{message_websocket, streams}`,
//! `rtws_types`.

// In the order of rtws.h (see ffi/mod.rs); the comment lines also keep rustfmt
// from sorting the declarations.
// MessageWebSocketControl_
mod control;
// MessageWebSocketInformation_
mod information;
// MessageWebSocketMessageReceivedEventArgs_
mod message_received_event_args;

pub use control::*;
pub use information::*;
pub use message_received_event_args::*;
// The Closed handler's arguments: `use rtws::ffi::message_websocket::*` brings all
// that a MessageWebSocket user needs.
pub use crate::ffi::websocket_closed_event_args::*;

use crate::ffi::async_op::{IAsyncAction, IAsyncOperationUInt32};
use crate::ffi::certificate::WebSocketServerCustomValidationRequestedEventArgs;
use crate::ffi::dispatcher_queue::DispatcherQueue;
use crate::ffi::handle::Handle;
use crate::ffi::streams::{IBuffer, IOutputStream};
use crate::ffi::websocket::{self, add_handler};
use crate::ffi::{call, call_count, out, EventRegistrationToken, RtwsReleaseContext};
use rtws_core::winrt::message_websocket as core;
use rtws_types::{Result, HRESULT};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Opaque handle of a MessageWebSocket.
pub struct MessageWebSocket {
    _private: [u8; 0],
}
impl Handle for MessageWebSocket {
    type Target = core::MessageWebSocket;
    const NAME: &'static str = "MessageWebSocket";
    const HAS_LAST_RELEASE: bool = true;
    fn last_release(object: &Arc<core::MessageWebSocket>) {
        object.socket().release();
    }
}

/// MessageReceived handler: `sender` and `args` are borrowed for the call
/// (AddRef to keep them); `context` is what was given to add_MessageReceived.
pub type MessageWebSocketMessageReceivedHandler = Option<
    extern "C" fn(
        context: *mut c_void,
        sender: *mut MessageWebSocket,
        args: *mut MessageWebSocketMessageReceivedEventArgs,
    ),
>;

/// Closed handler: `sender` and `args` are borrowed for the call (AddRef to keep
/// them); `context` is what was given to add_Closed.
pub type MessageWebSocketClosedHandler = Option<
    extern "C" fn(
        context: *mut c_void,
        sender: *mut MessageWebSocket,
        args: *mut WebSocketClosedEventArgs,
    ),
>;

/// ServerCustomValidationRequested handler: `sender` and `args` are borrowed for the
/// call (AddRef `args` to decide after it returns, with a Deferral).
pub type MessageWebSocketServerCustomValidationRequestedHandler = Option<
    extern "C" fn(
        context: *mut c_void,
        sender: *mut MessageWebSocket,
        args: *mut WebSocketServerCustomValidationRequestedEventArgs,
    ),
>;

/// Creates a MessageWebSocket (the `MessageWebSocket()` constructor), with UWP's
/// defaults: MessageType Binary, MaxMessageSize 0xFFFFFFFF, ReceiveMode FullMessage.
/// The caller owns one reference in `*result`; releasing the last reference closes
/// the socket (as `Close`) and no handler of it runs afterwards.
///
/// Returns `S_OK`; `E_POINTER` (NULL `result`).
///
/// ```c
/// MessageWebSocket *ws = NULL;
/// if (RTWS_FAILED(MessageWebSocket_Create(&ws))) { puts(rtws_GetLastErrorMessage()); }
/// ```
#[no_mangle]
pub extern "C" fn MessageWebSocket_Create(result: *mut *mut MessageWebSocket) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        result.set(MessageWebSocket::new_handle(
            core::MessageWebSocket::default(),
        ))
    })
}

/// Adds a reference. Returns the new count, or 0 when `self` is not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocket_AddRef(this: *mut MessageWebSocket) -> u32 {
    call_count(|| MessageWebSocket::add_ref(this))
}

/// Releases a reference. The last one closes the socket (an empty close frame, as
/// `Close`), unregisters every handler, and waits for a handler of this socket
/// that is running on another thread to return (not when called from one of this
/// socket's own handlers, which may release their socket): when it returns, no
/// handler of this socket is running or will start, even while other calls on the
/// socket are still in flight, so the host may free the handlers' contexts. Until
/// then a running handler's borrowed `sender` stays valid; if that handler AddRefs
/// it, the socket lives on (closed, without handlers) until that reference goes.
/// Returns the new count, or 0 when `self` is not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocket_Release(this: *mut MessageWebSocket) -> u32 {
    call_count(|| MessageWebSocket::release(this))
}

/// `Control`: a new reference to the socket's settings object in `*control`.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn MessageWebSocket_get_Control(
    this: *mut MessageWebSocket,
    control: *mut *mut MessageWebSocketControl,
) -> HRESULT {
    call(|| {
        let control = out(control, "control")?;
        let socket = MessageWebSocket::get(this)?.socket().clone();
        control.set(MessageWebSocketControl::new_handle(
            core::MessageWebSocketControl(socket),
        ))
    })
}

/// `Information`: a new reference to the socket's information object.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn MessageWebSocket_get_Information(
    this: *mut MessageWebSocket,
    information: *mut *mut MessageWebSocketInformation,
) -> HRESULT {
    call(|| {
        let information = out(information, "information")?;
        let socket = MessageWebSocket::get(this)?.socket().clone();
        information.set(MessageWebSocketInformation::new_handle(
            core::MessageWebSocketInformation(socket),
        ))
    })
}

/// `OutputStream`: a new reference to the socket's output stream. Every write (one
/// `DataWriter_StoreAsync`) sends one whole message of the Control's MessageType
/// at the time of the call. Sends from several threads or writers are queued and go
/// out whole, in call order. A DataWriter released while attached closes this
/// stream for good (`RO_E_CLOSED` afterwards), as in UWP; detach it first.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn MessageWebSocket_get_OutputStream(
    this: *mut MessageWebSocket,
    stream: *mut *mut IOutputStream,
) -> HRESULT {
    call(|| {
        let stream = out(stream, "stream")?;
        let output = MessageWebSocket::get(this)?.output_stream();
        stream.set(IOutputStream::new_handle(output))
    })
}

/// `ConnectAsync(Uri)`: starts connecting to `uri` (an absolute `ws://` or `wss://`
/// URI, UTF-8; IPv4, `[IPv6]` or a host name; `wss:` is TLS 1.2 or 1.3 by the
/// system's OpenSSL, with SNI, hostname verification and the system's trusted roots,
/// plus the Control's TrustedRootCertificates) and returns the operation in `*operation` (caller
/// owns it). Settings are taken now; until the connect fails or is canceled, Control
/// properties other than MessageType cannot change. A failed or canceled connect
/// may be retried on the same socket.
///
/// The URI is read as the WHATWG URL Standard reads it: the scheme in any case,
/// the host checked strictly, an empty path sent as `/`, non-ASCII in the path or
/// query percent-encoded (UTF-8), an international host name in punycode.
/// Refused: a malformed host (`ws://[not-ip]/`, `ws://a b/`), a fragment, control
/// characters, `\`, and user information (`ws://user:password@host/`: it is not
/// sent, so it is refused rather than dropped; set Control.ServerCredential instead).
///
/// Synchronous returns: `S_OK`; `E_POINTER`; `E_INVALIDARG` (bad or unsupported URI,
/// a malformed proxy in ProxyUri or in the environment (see put_ProxyUri), not a live
/// handle); `E_ILLEGAL_METHOD_CALL` (already connecting or connected); `RO_E_CLOSED`
/// (closed).
/// The operation then fails with: `WININET_E_NAME_NOT_RESOLVED`,
/// `WININET_E_CANNOT_CONNECT`, `WININET_E_TIMEOUT` (ConnectTimeout, default 60 s,
/// for each of at most 5 addresses, for the proxy's CONNECT and for the
/// handshake), `HTTP_E_STATUS_*` (the server, or the proxy, answered another HTTP
/// status than 101 / 2xx), `WININET_E_INVALID_SERVER_RESPONSE` (broken handshake
/// or proxy answer), `WININET_E_CONNECTION_RESET` / `_ABORTED` / `_SERVER_UNREACHABLE`
/// (the connection failed during the handshake), `E_SUBPROTOCOL_NOT_SUPPORTED`
/// (the server chose a subprotocol not offered, or several; one that declines
/// every offer is accepted, as RFC 6455 §4.1 says, and Information's Protocol is
/// then empty), `E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED` (the server named an
/// extension: rtws offers none); for `wss:`, a
/// certificate error not in IgnorableServerCertificateErrors:
/// `WININET_E_SEC_CERT_DATE_INVALID` (Expired; WebErrorStatus CertificateExpired),
/// `WININET_E_SEC_CERT_CN_INVALID` (InvalidName; CertificateCommonNameIsIncorrect),
/// `WININET_E_INVALID_CA` (Untrusted, IncompleteChain; CertificateIsInvalid),
/// `WININET_E_SEC_CERT_REVOKED` / `_REV_FAILED` (CertificateRevoked),
/// `WININET_E_SEC_CERT_ERRORS` (any other; CertificateContainsErrors), and
/// `WININET_E_SECURITY_CHANNEL_ERROR` for a TLS failure that is no certificate
/// error (no common protocol version or cipher, the server wants a client
/// certificate, …); `RTWS_E_OPERATION_ABORTED` (the socket was closed meanwhile), or status Canceled
/// after `IAsyncAction_Cancel`.
///
/// ```c
/// IAsyncAction *op;
/// HRESULT hr = MessageWebSocket_ConnectAsync(ws, "ws://127.0.0.1:9001/echo", &op);
/// if (RTWS_SUCCEEDED(hr)) { hr = IAsyncAction_Wait(op, RTWS_INFINITE); IAsyncAction_Release(op); }
/// if (RTWS_FAILED(hr)) printf("%d %s\n", WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
/// ```
#[no_mangle]
pub extern "C" fn MessageWebSocket_ConnectAsync(
    this: *mut MessageWebSocket,
    uri: *const c_char,
    operation: *mut *mut IAsyncAction,
) -> HRESULT {
    call(|| websocket::connect(MessageWebSocket::get(this)?.socket(), uri, operation))
}

/// `SendNonfinalFrameAsync(buffer)`: sends the buffer's first `Length` bytes
/// (as they are at the call, without a copy, as for IOutputStream_WriteAsync) as a
/// frame without FIN: the start, or a middle part, of a message
/// of the Control's MessageType (taken from its first frame). The message goes on
/// with more SendNonfinalFrameAsync calls and ends with SendFinalFrameAsync (or
/// with the next OutputStream write, whose frame then ends it). Text must be valid
/// UTF-8 over the whole message; a frame that breaks it fails with
/// `RTWS_E_NO_UNICODE_TRANSLATION` and is not sent. The operation (caller owns it)
/// completes with the byte count once the kernel has taken the frame. UWP's
/// IAsyncOperationWithProgress<UInt32, UInt32>; progress is not reported.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (not
/// connected yet); `RO_E_CLOSED`. The operation fails as DataWriter_StoreAsync's.
///
/// ```c
/// IBuffer *part; IAsyncOperationUInt32 *op;
/// Buffer_CreateFromBytes((const uint8_t *)"Hel", 3, &part);
/// MessageWebSocket_SendNonfinalFrameAsync(ws, part, &op);  // then "lo" as final
/// ```
#[no_mangle]
pub extern "C" fn MessageWebSocket_SendNonfinalFrameAsync(
    this: *mut MessageWebSocket,
    data: *mut IBuffer,
    operation: *mut *mut IAsyncOperationUInt32,
) -> HRESULT {
    call(|| send_frame(this, data, false, operation))
}

/// `SendFinalFrameAsync(buffer)`: sends the buffer's bytes as a frame with FIN:
/// the end of the message begun by SendNonfinalFrameAsync, or (if none was begun)
/// a whole message. As SendNonfinalFrameAsync otherwise.
#[no_mangle]
pub extern "C" fn MessageWebSocket_SendFinalFrameAsync(
    this: *mut MessageWebSocket,
    data: *mut IBuffer,
    operation: *mut *mut IAsyncOperationUInt32,
) -> HRESULT {
    call(|| send_frame(this, data, true, operation))
}

fn send_frame(
    this: *mut MessageWebSocket,
    data: *mut IBuffer,
    fin: bool,
    operation: *mut *mut IAsyncOperationUInt32,
) -> Result<()> {
    let operation = out(operation, "operation")?;
    let data = IBuffer::get(data)?.bytes();
    let op = MessageWebSocket::get(this)?.send_frame(data, fin)?;
    operation.set(IAsyncOperationUInt32::publish(op))
}

/// `SetRequestHeader`: adds a header to the opening handshake request (a repeated
/// name adds another line). Before ConnectAsync only. `name` must be an HTTP token
/// and not one the handshake owns: Host, Upgrade, Connection, Content-Length,
/// Transfer-Encoding, Sec-WebSocket-Key, -Version, -Accept, -Extensions,
/// -Protocol (use SupportedProtocols for subprotocols); `value` must not contain
/// CR, LF. Both UTF-8, copied.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (after
/// ConnectAsync); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_SetRequestHeader(
    this: *mut MessageWebSocket,
    name: *const c_char,
    value: *const c_char,
) -> HRESULT {
    call(|| websocket::set_request_header(MessageWebSocket::get(this)?.socket(), name, value))
}

/// `Close()`: closes the socket with an empty close frame (no status code). A
/// pending ConnectAsync fails with `RTWS_E_OPERATION_ABORTED` (and no Closed event is
/// raised for a socket that never connected). Sends queued before
/// the Close still go out, ahead of the close frame (if the server reads nothing,
/// SendTimeout ends the connection and fails them); later stores fail with
/// `RO_E_CLOSED`. Closed is raised with the server's code when it answers; a
/// server that never answers is given 30 s, then Closed comes with code 1006.
/// Closing again is harmless. Allowed inside handlers.
/// Returns `S_OK`; `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn MessageWebSocket_Close(this: *mut MessageWebSocket) -> HRESULT {
    call(|| MessageWebSocket::get(this)?.socket().close(None))
}

/// `Close(code, reason)` (ABI name CloseWithStatus): as `Close`, with a status.
/// `code` must be 1000 or 3000–4999; `reason` (UTF-8, may be NULL for none) at most
/// 123 bytes. Returns `S_OK`; `E_INVALIDARG` (code, reason, not a live handle).
#[no_mangle]
pub extern "C" fn MessageWebSocket_CloseWithStatus(
    this: *mut MessageWebSocket,
    code: u16,
    reason: *const c_char,
) -> HRESULT {
    call(|| websocket::close_with_status(MessageWebSocket::get(this)?.socket(), code, reason))
}

/// Adds a MessageReceived handler (any time, also after ConnectAsync). The handler
/// gets each whole message; a failure of an established connection arrives as one
/// last MessageReceived whose `GetDataReader` returns the failure HRESULT, followed
/// by Closed. `context` is passed back verbatim. Returns `S_OK` and the token in
/// `*token`; `E_POINTER` (NULL handler or token); `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_add_MessageReceived(
    this: *mut MessageWebSocket,
    handler: MessageWebSocketMessageReceivedHandler,
    context: *mut c_void,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    MessageWebSocket_add_MessageReceivedEx(this, handler, context, None, token)
}

/// rtws extension: `MessageWebSocket_add_MessageReceived` that also hands rtws the job of freeing `context`:
/// `release(context)` (if not NULL) is called exactly once, on any thread, after the
/// last call of the handler returned, when the registration ends: `MessageWebSocket_remove_MessageReceived`, or
/// the socket's last Release. It may call rtws, as a handler may. When this returns
/// an error, `release` is not called: the context is still the caller's. Returns
/// what `MessageWebSocket_add_MessageReceived` returns.
#[no_mangle]
pub extern "C" fn MessageWebSocket_add_MessageReceivedEx(
    this: *mut MessageWebSocket,
    handler: MessageWebSocketMessageReceivedHandler,
    context: *mut c_void,
    release: RtwsReleaseContext,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    call(|| {
        add_handler(this, handler, context, release, token, |h| {
            Ok(MessageWebSocket::get(this)?
                .socket()
                .add_message_received(h))
        })
    })
}

/// Removes a MessageReceived handler. Once this returns, the handler is not called
/// again: it waits for a running handler of this socket on another thread to end
/// (from inside one of this socket's own handlers it does not wait, and the
/// removed handler is not called after the current one). Two handlers of different
/// sockets that remove each other's handlers at the same moment would wait for
/// each other: don't. Unknown tokens are ignored. Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_remove_MessageReceived(
    this: *mut MessageWebSocket,
    token: EventRegistrationToken,
) -> HRESULT {
    call(|| {
        MessageWebSocket::get(this)?
            .socket()
            .remove_message_received(token.value);
        Ok(())
    })
}

/// Adds a Closed handler: raised exactly once per established connection, after
/// its last MessageReceived, with the close code and reason the server sent (1005
/// when its close frame had none, 1006 when the connection was lost without one,
/// or the code rtws sent when it failed the connection: 1002, 1007, 1009).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_add_Closed(
    this: *mut MessageWebSocket,
    handler: MessageWebSocketClosedHandler,
    context: *mut c_void,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    MessageWebSocket_add_ClosedEx(this, handler, context, None, token)
}

/// rtws extension: `MessageWebSocket_add_Closed` that also hands rtws the job of freeing `context`:
/// `release(context)` (if not NULL) is called exactly once, on any thread, after the
/// last call of the handler returned, when the registration ends: `MessageWebSocket_remove_Closed`, or
/// the socket's last Release. It may call rtws, as a handler may. When this returns
/// an error, `release` is not called: the context is still the caller's. Returns
/// what `MessageWebSocket_add_Closed` returns.
#[no_mangle]
pub extern "C" fn MessageWebSocket_add_ClosedEx(
    this: *mut MessageWebSocket,
    handler: MessageWebSocketClosedHandler,
    context: *mut c_void,
    release: RtwsReleaseContext,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    call(|| {
        let socket = MessageWebSocket::get(this)?;
        add_handler(this, handler, context, release, token, |h| {
            Ok(socket.socket().add_closed(h))
        })
    })
}

/// Removes a Closed handler, with the guarantee of remove_MessageReceived.
/// Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_remove_Closed(
    this: *mut MessageWebSocket,
    token: EventRegistrationToken,
) -> HRESULT {
    call(|| {
        MessageWebSocket::get(this)?
            .socket()
            .remove_closed(token.value);
        Ok(())
    })
}

/// Adds a ServerCustomValidationRequested handler: raised once per `wss:` connect,
/// after OpenSSL validated the server's certificate (errors in
/// IgnorableServerCertificateErrors aside) and before the WebSocket handshake, on a
/// library thread. The handler may inspect the certificate and its chain, call
/// `WebSocketServerCustomValidationRequestedEventArgs_Reject` (the connect fails
/// with `WININET_E_SEC_INVALID_CERT`), or take a Deferral to decide later (the
/// connect waits, at most ConnectTimeout). `sender` and `args` are borrowed for the
/// call. Returns `S_OK`; `E_POINTER` (NULL handler or token); `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_add_ServerCustomValidationRequested(
    this: *mut MessageWebSocket,
    handler: MessageWebSocketServerCustomValidationRequestedHandler,
    context: *mut c_void,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    MessageWebSocket_add_ServerCustomValidationRequestedEx(this, handler, context, None, token)
}

/// rtws extension: `MessageWebSocket_add_ServerCustomValidationRequested` that also hands rtws the job of freeing `context`:
/// `release(context)` (if not NULL) is called exactly once, on any thread, after the
/// last call of the handler returned, when the registration ends: `MessageWebSocket_remove_ServerCustomValidationRequested`, or
/// the socket's last Release. It may call rtws, as a handler may. When this returns
/// an error, `release` is not called: the context is still the caller's. Returns
/// what `MessageWebSocket_add_ServerCustomValidationRequested` returns.
#[no_mangle]
pub extern "C" fn MessageWebSocket_add_ServerCustomValidationRequestedEx(
    this: *mut MessageWebSocket,
    handler: MessageWebSocketServerCustomValidationRequestedHandler,
    context: *mut c_void,
    release: RtwsReleaseContext,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    call(|| {
        let socket = MessageWebSocket::get(this)?;
        add_handler(this, handler, context, release, token, |h| {
            Ok(socket.socket().add_validation_requested(h))
        })
    })
}

/// Removes a ServerCustomValidationRequested handler, with the guarantee of the
/// other `remove_` functions. Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_remove_ServerCustomValidationRequested(
    this: *mut MessageWebSocket,
    token: EventRegistrationToken,
) -> HRESULT {
    call(|| {
        MessageWebSocket::get(this)?
            .socket()
            .remove_validation_requested(token.value);
        Ok(())
    })
}

/// rtws extension: binds the socket to `queue` (NULL: none, the default): every
/// handler of the socket and every Completed callback of its operations then runs
/// on the thread that runs the queue (`DispatcherQueue_RunPending`), never on an
/// I/O thread, the socket's in order; network I/O stays on rtws's threads. A
/// queued event goes to the handlers registered when it runs (so handlers added in
/// the ConnectAsync Completed callback get the first messages). While 1,000 of the
/// socket's events or 1 MiB of their data wait in the queue, the socket stops
/// reading the network (TCP holds the server back) until the host runs them. The
/// socket keeps the queue alive; once the host released its last handle on the
/// queue, the socket's handlers never run again. Before ConnectAsync only.
///
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (not a live socket, not a live or a
/// stopped queue); `E_ILLEGAL_METHOD_CALL` (ConnectAsync was called); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_put_DispatcherQueue(
    this: *mut MessageWebSocket,
    queue: *mut DispatcherQueue,
) -> HRESULT {
    call(|| websocket::put_dispatcher_queue(MessageWebSocket::get(this)?.socket(), queue))
}

/// rtws extension: the DispatcherQueue the socket is bound to, as a new handle the
/// caller owns (it counts as one of the host's handles on the queue), or NULL.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocket_get_DispatcherQueue(
    this: *mut MessageWebSocket,
    value: *mut *mut DispatcherQueue,
) -> HRESULT {
    call(|| websocket::get_dispatcher_queue(MessageWebSocket::get(this)?.socket(), value))
}
