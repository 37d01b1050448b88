//! `StreamWebSocket`: its handle, its handler types and the `StreamWebSocket_*`
//! functions. Its other classes have a file each: `StreamWebSocketControl`
//! (control.rs) and `StreamWebSocketInformation` (information.rs); the Closed
//! handler's `WebSocketClosedEventArgs` is in ffi/websocket_closed_event_args.rs.
//!
//! The members it shares with MessageWebSocket (UWP's IWebSocket) make the
//! same core calls (the longer bodies are in ffi/websocket.rs); each is documented
//! here in full, as C users read one function at a time. tests/ffi_layout.rs fails when
//! a shared member here (doc comment or body) differs from its copy in
//! ffi/message_websocket/mod.rs other than by the class name: change both.
//!
//! Thread rules for every function of this class and its Control and Information:
//! callable from any thread, including from inside rtws handlers. The Closed handler
//! runs on a library thread; it must not throw or longjmp out.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `websocket`, the handle types its
//! functions take or hand out), `rtws_core::winrt::stream_websocket`, `rtws_types`.

// In the order of rtws.h (see ffi/mod.rs); the comment lines also keep rustfmt
// from sorting the declarations.
// StreamWebSocketControl_
mod control;
// StreamWebSocketInformation_
mod information;

pub use control::*;
pub use information::*;
// The Closed handler's arguments: `use rtws::ffi::stream_websocket::*` brings all
// that a StreamWebSocket user needs.
pub use crate::ffi::websocket_closed_event_args::*;

use crate::ffi::async_op::IAsyncAction;
use crate::ffi::certificate::WebSocketServerCustomValidationRequestedEventArgs;
use crate::ffi::dispatcher_queue::DispatcherQueue;
use crate::ffi::handle::Handle;
use crate::ffi::streams::{IInputStream, IOutputStream};
use crate::ffi::websocket::{self, add_handler};
use crate::ffi::{call, call_count, out, EventRegistrationToken, RtwsReleaseContext};
use rtws_core::winrt::stream_websocket as core;
use rtws_types::HRESULT;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Opaque handle of a StreamWebSocket.
pub struct StreamWebSocket {
    _private: [u8; 0],
}
impl Handle for StreamWebSocket {
    type Target = core::StreamWebSocket;
    const NAME: &'static str = "StreamWebSocket";
    const HAS_LAST_RELEASE: bool = true;
    fn last_release(object: &Arc<core::StreamWebSocket>) {
        object.socket().release();
    }
}

/// Closed handler: `sender` and `args` are borrowed for the call (AddRef to keep
/// them); `context` is what was given to add_Closed.
pub type StreamWebSocketClosedHandler = Option<
    extern "C" fn(
        context: *mut c_void,
        sender: *mut StreamWebSocket,
        args: *mut WebSocketClosedEventArgs,
    ),
>;

/// ServerCustomValidationRequested handler: `sender` and `args` are borrowed for the
/// call (AddRef `args` to decide after it returns, with a Deferral).
pub type StreamWebSocketServerCustomValidationRequestedHandler = Option<
    extern "C" fn(
        context: *mut c_void,
        sender: *mut StreamWebSocket,
        args: *mut WebSocketServerCustomValidationRequestedEventArgs,
    ),
>;

/// `InputStream`: a new reference to the socket's input stream. The payload of the
/// binary messages the server sends arrives there as one byte stream, handed on as
/// it arrives (a message of any size is read in sections); read it with
/// `IInputStream_ReadAsync` or a `DataReader` (`DataReader_CreateDataReader`,
/// `DataReader_LoadAsync`). While 1 MiB waits unread, rtws stops reading the socket
/// (the server is held back by TCP). After the close handshake, reads complete
/// with 0 bytes; after a failure, with the failure HRESULT (once the bytes received
/// before it are read). A text message from the server fails the connection with
/// close code 1003 (StreamWebSocket is binary only), whatever its content, and
/// `E_INVALID_PROTOCOL_FORMAT`. Reads before ConnectAsync has completed are refused
/// (`E_ILLEGAL_METHOD_CALL`); once the socket is closed or released without ever
/// connecting, they fail with `RO_E_CLOSED`.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn StreamWebSocket_get_InputStream(
    this: *mut StreamWebSocket,
    stream: *mut *mut IInputStream,
) -> HRESULT {
    call(|| {
        let stream = out(stream, "stream")?;
        let input = StreamWebSocket::get(this)?.input_stream();
        stream.set(IInputStream::publish(input))
    })
}

/// Creates a StreamWebSocket (the `StreamWebSocket()` constructor), with UWP's
/// defaults (NoDelay true).
/// The caller owns one reference in `*result`; releasing the last reference closes
/// the socket (as `Close`) and no handler of it runs afterwards.
///
/// Returns `S_OK`; `E_POINTER` (NULL `result`).
///
/// ```c
/// StreamWebSocket *ws = NULL;
/// if (RTWS_FAILED(StreamWebSocket_Create(&ws))) { puts(rtws_GetLastErrorMessage()); }
/// ```
#[no_mangle]
pub extern "C" fn StreamWebSocket_Create(result: *mut *mut StreamWebSocket) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        result.set(StreamWebSocket::new_handle(core::StreamWebSocket::default()))
    })
}

/// Adds a reference. Returns the new count, or 0 when `self` is not a live handle.
#[no_mangle]
pub extern "C" fn StreamWebSocket_AddRef(this: *mut StreamWebSocket) -> u32 {
    call_count(|| StreamWebSocket::add_ref(this))
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
pub extern "C" fn StreamWebSocket_Release(this: *mut StreamWebSocket) -> u32 {
    call_count(|| StreamWebSocket::release(this))
}

/// `Control`: a new reference to the socket's settings object in `*control`.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn StreamWebSocket_get_Control(
    this: *mut StreamWebSocket,
    control: *mut *mut StreamWebSocketControl,
) -> HRESULT {
    call(|| {
        let control = out(control, "control")?;
        let socket = StreamWebSocket::get(this)?.socket().clone();
        control.set(StreamWebSocketControl::new_handle(
            core::StreamWebSocketControl(socket),
        ))
    })
}

/// `Information`: a new reference to the socket's information object.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn StreamWebSocket_get_Information(
    this: *mut StreamWebSocket,
    information: *mut *mut StreamWebSocketInformation,
) -> HRESULT {
    call(|| {
        let information = out(information, "information")?;
        let socket = StreamWebSocket::get(this)?.socket().clone();
        information.set(StreamWebSocketInformation::new_handle(
            core::StreamWebSocketInformation(socket),
        ))
    })
}

/// `OutputStream`: a new reference to the socket's output stream. Every write (one
/// `DataWriter_StoreAsync` or `IOutputStream_WriteAsync`) sends one binary
/// message, completing once the kernel has taken it. Sends from several threads or writers are queued and go
/// out whole, in call order. A DataWriter released while attached closes this
/// stream for good (`RO_E_CLOSED` afterwards), as in UWP; detach it first.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn StreamWebSocket_get_OutputStream(
    this: *mut StreamWebSocket,
    stream: *mut *mut IOutputStream,
) -> HRESULT {
    call(|| {
        let stream = out(stream, "stream")?;
        let output = StreamWebSocket::get(this)?.output_stream();
        stream.set(IOutputStream::new_handle(output))
    })
}

/// `ConnectAsync(Uri)`: starts connecting to `uri` (an absolute `ws://` or `wss://`
/// URI, UTF-8; IPv4, `[IPv6]` or a host name; `wss:` is TLS 1.2 or 1.3 by the
/// system's OpenSSL, with SNI, hostname verification and the system's trusted roots,
/// plus the Control's TrustedRootCertificates) and returns the operation in `*operation` (caller
/// owns it). Settings are taken now; until the connect fails or is canceled, Control
/// properties cannot change. A failed or canceled connect
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
/// HRESULT hr = StreamWebSocket_ConnectAsync(ws, "ws://127.0.0.1:9001/echo", &op);
/// if (RTWS_SUCCEEDED(hr)) { hr = IAsyncAction_Wait(op, RTWS_INFINITE); IAsyncAction_Release(op); }
/// if (RTWS_FAILED(hr)) printf("%d %s\n", WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
/// ```
#[no_mangle]
pub extern "C" fn StreamWebSocket_ConnectAsync(
    this: *mut StreamWebSocket,
    uri: *const c_char,
    operation: *mut *mut IAsyncAction,
) -> HRESULT {
    call(|| websocket::connect(StreamWebSocket::get(this)?.socket(), uri, operation))
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
pub extern "C" fn StreamWebSocket_SetRequestHeader(
    this: *mut StreamWebSocket,
    name: *const c_char,
    value: *const c_char,
) -> HRESULT {
    call(|| websocket::set_request_header(StreamWebSocket::get(this)?.socket(), name, value))
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
pub extern "C" fn StreamWebSocket_Close(this: *mut StreamWebSocket) -> HRESULT {
    call(|| StreamWebSocket::get(this)?.socket().close(None))
}

/// `Close(code, reason)` (ABI name CloseWithStatus): as `Close`, with a status.
/// `code` must be 1000 or 3000–4999; `reason` (UTF-8, may be NULL for none) at most
/// 123 bytes. Returns `S_OK`; `E_INVALIDARG` (code, reason, not a live handle).
#[no_mangle]
pub extern "C" fn StreamWebSocket_CloseWithStatus(
    this: *mut StreamWebSocket,
    code: u16,
    reason: *const c_char,
) -> HRESULT {
    call(|| websocket::close_with_status(StreamWebSocket::get(this)?.socket(), code, reason))
}

/// Adds a Closed handler: raised exactly once per established connection, with
/// the close code and reason the server sent (1005 when its close frame had none,
/// 1006 when the connection was lost without one, or the code rtws sent when it
/// failed the connection: 1002, 1003 for a text message, 1007). A failure also
/// reaches pending and later reads of the InputStream.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocket_add_Closed(
    this: *mut StreamWebSocket,
    handler: StreamWebSocketClosedHandler,
    context: *mut c_void,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    StreamWebSocket_add_ClosedEx(this, handler, context, None, token)
}

/// rtws extension: `StreamWebSocket_add_Closed` that also hands rtws the job of freeing `context`:
/// `release(context)` (if not NULL) is called exactly once, on any thread, after the
/// last call of the handler returned, when the registration ends: `StreamWebSocket_remove_Closed`, or
/// the socket's last Release. It may call rtws, as a handler may. When this returns
/// an error, `release` is not called: the context is still the caller's. Returns
/// what `StreamWebSocket_add_Closed` returns.
#[no_mangle]
pub extern "C" fn StreamWebSocket_add_ClosedEx(
    this: *mut StreamWebSocket,
    handler: StreamWebSocketClosedHandler,
    context: *mut c_void,
    release: RtwsReleaseContext,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    call(|| {
        let socket = StreamWebSocket::get(this)?;
        add_handler(this, handler, context, release, token, |h| {
            Ok(socket.socket().add_closed(h))
        })
    })
}

/// Removes a Closed handler. Once this returns, the handler is not called again
/// (it waits for a running one on another thread; not from inside a handler of
/// this socket). Unknown tokens are ignored.
/// Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocket_remove_Closed(
    this: *mut StreamWebSocket,
    token: EventRegistrationToken,
) -> HRESULT {
    call(|| {
        StreamWebSocket::get(this)?
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
pub extern "C" fn StreamWebSocket_add_ServerCustomValidationRequested(
    this: *mut StreamWebSocket,
    handler: StreamWebSocketServerCustomValidationRequestedHandler,
    context: *mut c_void,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    StreamWebSocket_add_ServerCustomValidationRequestedEx(this, handler, context, None, token)
}

/// rtws extension: `StreamWebSocket_add_ServerCustomValidationRequested` that also hands rtws the job of freeing `context`:
/// `release(context)` (if not NULL) is called exactly once, on any thread, after the
/// last call of the handler returned, when the registration ends: `StreamWebSocket_remove_ServerCustomValidationRequested`, or
/// the socket's last Release. It may call rtws, as a handler may. When this returns
/// an error, `release` is not called: the context is still the caller's. Returns
/// what `StreamWebSocket_add_ServerCustomValidationRequested` returns.
#[no_mangle]
pub extern "C" fn StreamWebSocket_add_ServerCustomValidationRequestedEx(
    this: *mut StreamWebSocket,
    handler: StreamWebSocketServerCustomValidationRequestedHandler,
    context: *mut c_void,
    release: RtwsReleaseContext,
    token: *mut EventRegistrationToken,
) -> HRESULT {
    call(|| {
        let socket = StreamWebSocket::get(this)?;
        add_handler(this, handler, context, release, token, |h| {
            Ok(socket.socket().add_validation_requested(h))
        })
    })
}

/// Removes a ServerCustomValidationRequested handler, with the guarantee of the
/// other `remove_` functions. Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocket_remove_ServerCustomValidationRequested(
    this: *mut StreamWebSocket,
    token: EventRegistrationToken,
) -> HRESULT {
    call(|| {
        StreamWebSocket::get(this)?
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
pub extern "C" fn StreamWebSocket_put_DispatcherQueue(
    this: *mut StreamWebSocket,
    queue: *mut DispatcherQueue,
) -> HRESULT {
    call(|| websocket::put_dispatcher_queue(StreamWebSocket::get(this)?.socket(), queue))
}

/// rtws extension: the DispatcherQueue the socket is bound to, as a new handle the
/// caller owns (it counts as one of the host's handles on the queue), or NULL.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocket_get_DispatcherQueue(
    this: *mut StreamWebSocket,
    value: *mut *mut DispatcherQueue,
) -> HRESULT {
    call(|| websocket::get_dispatcher_queue(StreamWebSocket::get(this)?.socket(), value))
}
