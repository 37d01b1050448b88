//! `MessageWebSocket`, `MessageWebSocketControl`, `MessageWebSocketInformation`,
//! `MessageWebSocketMessageReceivedEventArgs`, `WebSocketClosedEventArgs`.
//!
//! Thread rules for every function here: callable from any thread, including from
//! inside rtws handlers. Handlers of one socket run one at a time, in wire order,
//! on a library thread; every MessageReceived of a connection comes before its one
//! Closed. Handlers must not throw or longjmp out.

use crate::ffi::async_op::{IAsyncAction, IAsyncOperationUInt32};
use crate::ffi::certificate::{
    Certificate, IVectorViewCertificate, WebSocketServerCustomValidationRequestedEventArgs,
};
use crate::ffi::credential::PasswordCredential;
use crate::ffi::handle::Handle;
use crate::ffi::streams::{DataReader, IBuffer, IInputStream, IOutputStream};
use crate::ffi::vector::{IVectorChainValidationResult, IVectorString};
use crate::ffi::websocket::{self, handler_missing, with_borrowed, BandwidthStatistics};
use crate::ffi::{
    call, call_count, in_enum, in_str, out, Context, EventRegistrationToken, TimeSpan,
};
use rtws_core::winrt::message_websocket as core;
use rtws_types::SocketSslErrorSeverity;
use rtws_types::{MessageWebSocketReceiveMode, SocketMessageType};
use rtws_types::{Result, HRESULT};
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

/// Opaque handle of a MessageWebSocket.
pub struct MessageWebSocket {
    _private: [u8; 0],
}
impl Handle for MessageWebSocket {
    type Target = core::MessageWebSocket;
    const NAME: &'static str = "MessageWebSocket";
    fn last_release(object: &Arc<core::MessageWebSocket>) {
        object.socket().release();
    }
}

/// Opaque handle of a MessageWebSocketControl (settings of one socket).
pub struct MessageWebSocketControl {
    _private: [u8; 0],
}
impl Handle for MessageWebSocketControl {
    type Target = core::MessageWebSocketControl;
    const NAME: &'static str = "MessageWebSocketControl";
}

/// Opaque handle of a MessageWebSocketInformation (read-only facts of one socket).
pub struct MessageWebSocketInformation {
    _private: [u8; 0],
}
impl Handle for MessageWebSocketInformation {
    type Target = core::MessageWebSocketInformation;
    const NAME: &'static str = "MessageWebSocketInformation";
}

/// Opaque handle of the arguments of one MessageReceived event.
pub struct MessageWebSocketMessageReceivedEventArgs {
    _private: [u8; 0],
}
impl Handle for MessageWebSocketMessageReceivedEventArgs {
    type Target = core::MessageReceivedArgs;
    const NAME: &'static str = "MessageWebSocketMessageReceivedEventArgs";
}

/// Opaque handle of the arguments of a Closed event.
pub struct WebSocketClosedEventArgs {
    _private: [u8; 0],
}
impl Handle for WebSocketClosedEventArgs {
    type Target = rtws_core::winrt::socket::ClosedArgs;
    const NAME: &'static str = "WebSocketClosedEventArgs";
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

fn message_type(v: i32) -> Option<SocketMessageType> {
    match v {
        0 => Some(SocketMessageType::Binary),
        1 => Some(SocketMessageType::Utf8),
        _ => None,
    }
}

fn receive_mode(v: i32) -> Option<MessageWebSocketReceiveMode> {
    match v {
        0 => Some(MessageWebSocketReceiveMode::FullMessage),
        1 => Some(MessageWebSocketReceiveMode::PartialMessage),
        _ => None,
    }
}

// ----- MessageWebSocket ----------------------------------------------------------

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
/// (read when the frame is built: leave the buffer unchanged until the operation
/// completes, as for IOutputStream_WriteAsync) as a frame without FIN: the start, or a middle part, of a message
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
    let data = rtws_core::winrt::streams::Payload::Buffer(IBuffer::get(data)?);
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
    call(|| {
        let token = out(token, "token")?;
        let handler = handler.ok_or_else(handler_missing)?;
        let socket = MessageWebSocket::get(this)?;
        let sender = this as usize;
        let ctx = Context(context);
        let value = socket.socket().add_message_received(Box::new(move |args| {
            let ctx = ctx;
            with_borrowed(args, |a| handler(ctx.0, sender as *mut MessageWebSocket, a));
        }));
        token.set(EventRegistrationToken { value })
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
    call(|| {
        websocket::add_closed(
            MessageWebSocket::get(this)?.socket(),
            this,
            handler,
            context,
            token,
        )
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
    call(|| {
        let socket = MessageWebSocket::get(this)?;
        websocket::add_validation_requested(socket.socket(), this, handler, context, token)
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

// ----- MessageWebSocketControl ---------------------------------------------------

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_AddRef(this: *mut MessageWebSocketControl) -> u32 {
    call_count(|| MessageWebSocketControl::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_Release(this: *mut MessageWebSocketControl) -> u32 {
    call_count(|| MessageWebSocketControl::release(this))
}

fn control(this: *mut MessageWebSocketControl) -> Result<Arc<rtws_core::winrt::socket::Socket>> {
    Ok(MessageWebSocketControl::get(this)?.0.clone())
}

/// `MessageType` (default `SocketMessageType_Binary`). Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_MessageType(
    this: *mut MessageWebSocketControl,
    value: *mut SocketMessageType,
) -> HRESULT {
    call(|| out(value, "value")?.set(control(this)?.message_type()))
}

/// Sets `MessageType` (a `SocketMessageType` value): the type of the messages the
/// next stores send. The one setting that may change at any time, also after
/// ConnectAsync. Returns `S_OK`; `E_INVALIDARG` (other value); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_MessageType(
    this: *mut MessageWebSocketControl,
    value: i32,
) -> HRESULT {
    call(|| {
        let t = in_enum(value, "SocketMessageType", message_type)?;
        control(this)?.set_message_type(t)
    })
}

/// `MaxMessageSize` in bytes (default 0xFFFFFFFF: no limit at all, so in
/// FullMessage mode a hostile server can make rtws hold a message of any size,
/// even over 4 GiB, in memory; set a limit for untrusted servers, or use
/// PartialMessage mode, which hands a message on in pieces).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_MaxMessageSize(
    this: *mut MessageWebSocketControl,
    value: *mut u32,
) -> HRESULT {
    call(|| out(value, "value")?.set(control(this)?.max_message_size()))
}

/// Sets `MaxMessageSize` (at least 1). A larger incoming message fails the
/// connection: MessageReceived with `RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE`, then Closed
/// with 1009. Before ConnectAsync only. Returns `S_OK`; `E_INVALIDARG` (0);
/// `E_ILLEGAL_METHOD_CALL` (after ConnectAsync); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_MaxMessageSize(
    this: *mut MessageWebSocketControl,
    value: u32,
) -> HRESULT {
    call(|| control(this)?.set_max_message_size(value))
}

/// `ReceiveMode` (default `MessageWebSocketReceiveMode_FullMessage`).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_ReceiveMode(
    this: *mut MessageWebSocketControl,
    value: *mut MessageWebSocketReceiveMode,
) -> HRESULT {
    call(|| out(value, "value")?.set(control(this)?.receive_mode()))
}

/// Sets `ReceiveMode` (a `MessageWebSocketReceiveMode` value). With PartialMessage,
/// each MessageReceived carries the part of a message that arrived since the last
/// one (a message of any size is delivered in pieces, never held whole; a text
/// piece may end inside a UTF-8 character; the message's UTF-8 is still checked);
/// `IsMessageComplete` is true on its last piece. MaxMessageSize applies to the
/// whole message in both modes. Before ConnectAsync only. Returns `S_OK`;
/// `E_INVALIDARG` (other value); `E_ILLEGAL_METHOD_CALL` (after ConnectAsync);
/// `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_ReceiveMode(
    this: *mut MessageWebSocketControl,
    value: i32,
) -> HRESULT {
    call(|| {
        let mode = in_enum(value, "MessageWebSocketReceiveMode", receive_mode)?;
        control(this)?.set_receive_mode(mode)
    })
}

/// `OutboundBufferSizeInBytes`: the TCP send buffer (SO_SNDBUF) the connection
/// asks for; the system default until set. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_OutboundBufferSizeInBytes(
    this: *mut MessageWebSocketControl,
    value: *mut u32,
) -> HRESULT {
    call(|| out(value, "value")?.set(control(this)?.outbound_buffer_size()))
}

/// Sets `OutboundBufferSizeInBytes` (1 to 2147483647), applied as SO_SNDBUF at
/// connect (the kernel may round it). Before ConnectAsync only. Returns `S_OK`;
/// `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (after ConnectAsync); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_OutboundBufferSizeInBytes(
    this: *mut MessageWebSocketControl,
    value: u32,
) -> HRESULT {
    call(|| control(this)?.set_outbound_buffer_size(value))
}

/// `SupportedProtocols`: a new reference to the socket's list of subprotocols to
/// offer (sent as Sec-WebSocket-Protocol, in order). Editable before ConnectAsync;
/// afterwards its edits fail with `E_ILLEGAL_METHOD_CALL`. Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_SupportedProtocols(
    this: *mut MessageWebSocketControl,
    value: *mut *mut IVectorString,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(IVectorString::publish(control(this)?.supported_protocols()))
    })
}

/// `DesiredUnsolicitedPongInterval`: how often rtws sends an unsolicited Pong frame
/// (a one-way heartbeat, RFC 6455 §5.5.3); zero (the default) sends none.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_DesiredUnsolicitedPongInterval(
    this: *mut MessageWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| {
        out(value, "value")?.set(TimeSpan::from_duration(
            control(this)?.timing().pong_interval,
        ))
    })
}

/// Sets `DesiredUnsolicitedPongInterval` (0, or 10 ms to 1 day). Before ConnectAsync
/// only. Returns `S_OK`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (after
/// ConnectAsync); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(
    this: *mut MessageWebSocketControl,
    value: TimeSpan,
) -> HRESULT {
    call(|| {
        let d = if value.Duration == 0 {
            Duration::ZERO
        } else {
            value.to_duration("DesiredUnsolicitedPongInterval", Duration::from_millis(10))?
        };
        control(this)?.set_timing(|t| t.pong_interval = d)
    })
}

/// `ActualUnsolicitedPongInterval`: the interval in force on the connection (rtws
/// applies the desired one exactly); zero before the connect completes or when none.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_ActualUnsolicitedPongInterval(
    this: *mut MessageWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| {
        out(value, "value")?.set(TimeSpan::from_duration(
            control(this)?.actual_pong_interval(),
        ))
    })
}

/// rtws extension: `ConnectTimeout`, the limit for each TCP connect attempt and for
/// the opening handshake (default 60 s, as UWP). Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_ConnectTimeout(
    this: *mut MessageWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| out(value, "value")?.set(TimeSpan::from_duration(control(this)?.timing().connect)))
}

/// rtws extension: sets `ConnectTimeout` (1 ms to 1 day). A connect that runs out of
/// time fails with `WININET_E_TIMEOUT` (WebErrorStatus_Timeout). Before ConnectAsync
/// only. Returns `S_OK`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_ConnectTimeout(
    this: *mut MessageWebSocketControl,
    value: TimeSpan,
) -> HRESULT {
    call(|| {
        let d = value.to_duration("ConnectTimeout", Duration::from_millis(1))?;
        control(this)?.set_timing(|t| t.connect = d)
    })
}

/// rtws extension: `SendTimeout`, how long queued output may make no progress (the
/// server reads nothing) before the connection fails (default 30 s, as UWP).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_SendTimeout(
    this: *mut MessageWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| out(value, "value")?.set(TimeSpan::from_duration(control(this)?.timing().send)))
}

/// rtws extension: sets `SendTimeout` (1 ms to 1 day). When it runs out, pending
/// sends fail with `WININET_E_TIMEOUT`, a MessageReceived reports it, and Closed
/// follows with 1006. Before ConnectAsync only. Returns `S_OK`; `E_INVALIDARG`;
/// `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_SendTimeout(
    this: *mut MessageWebSocketControl,
    value: TimeSpan,
) -> HRESULT {
    call(|| {
        let d = value.to_duration("SendTimeout", Duration::from_millis(1))?;
        control(this)?.set_timing(|t| t.send = d)
    })
}

/// rtws extension: `ReceiveTimeout`, how long a message that has begun to arrive may
/// receive no byte before the connection fails (default 30 s, as UWP). An idle
/// connection between messages never times out (use DesiredUnsolicitedPongInterval
/// and the server's pings for liveness). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_ReceiveTimeout(
    this: *mut MessageWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| out(value, "value")?.set(TimeSpan::from_duration(control(this)?.timing().receive)))
}

/// rtws extension: sets `ReceiveTimeout` (1 ms to 1 day). When it runs out, a
/// MessageReceived reports `WININET_E_TIMEOUT` and Closed follows with 1006.
/// Before ConnectAsync only. Returns `S_OK`; `E_INVALIDARG`;
/// `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_ReceiveTimeout(
    this: *mut MessageWebSocketControl,
    value: TimeSpan,
) -> HRESULT {
    call(|| {
        let d = value.to_duration("ReceiveTimeout", Duration::from_millis(1))?;
        control(this)?.set_timing(|t| t.receive = d)
    })
}

/// `ServerCredential`: a new reference to the credential set, or NULL when none
/// (the caller releases a non-NULL one). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_ServerCredential(
    this: *mut MessageWebSocketControl,
    value: *mut *mut PasswordCredential,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(PasswordCredential::publish_optional(
            control(this)?.server_credential(),
        ))
    })
}

/// Sets `ServerCredential` (NULL clears it; the socket keeps its own reference).
/// When the server answers the upgrade with `401` and a Basic challenge, rtws
/// repeats the handshake once, on a new connection, with `Authorization: Basic`;
/// a second 401 fails the connect with `HTTP_E_STATUS_DENIED`
/// (WebErrorStatus_Unauthorized). Basic sends the password readable to anyone on
/// the path: use it over `wss:` only. Before ConnectAsync only. Returns `S_OK`;
/// `E_INVALIDARG` (not a live PasswordCredential); `E_ILLEGAL_METHOD_CALL`;
/// `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_ServerCredential(
    this: *mut MessageWebSocketControl,
    value: *mut PasswordCredential,
) -> HRESULT {
    call(|| control(this)?.set_server_credential(PasswordCredential::get_optional(value)?))
}

/// `ProxyCredential`: a new reference to the credential set, or NULL when none.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_ProxyCredential(
    this: *mut MessageWebSocketControl,
    value: *mut *mut PasswordCredential,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(PasswordCredential::publish_optional(
            control(this)?.proxy_credential(),
        ))
    })
}

/// Sets `ProxyCredential` (NULL clears it): sent as `Proxy-Authorization: Basic` in
/// the CONNECT request when the connection goes through an HTTP proxy (a proxy
/// URI's own `user:password@` is used when no ProxyCredential is set). A proxy that
/// still answers 407 fails the connect with `0x80190197`
/// (WebErrorStatus_ProxyAuthenticationRequired). Before ConnectAsync only.
/// Returns `S_OK`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_ProxyCredential(
    this: *mut MessageWebSocketControl,
    value: *mut PasswordCredential,
) -> HRESULT {
    call(|| control(this)?.set_proxy_credential(PasswordCredential::get_optional(value)?))
}

/// rtws extension: the HTTP proxy. NULL (the default) takes it from the environment
/// at ConnectAsync, first set wins: for `ws:` `http_proxy`, `HTTP_PROXY`, for `wss:`
/// `https_proxy`, `HTTPS_PROXY`, then for both `all_proxy`, `ALL_PROXY` (curl's
/// convention; a bare `host:port` is accepted), except for hosts listed in
/// `no_proxy`/`NO_PROXY` and for loopback hosts; "" means no proxy;
/// `http://[user:password@]host[:port]` means that proxy, for every host (user and
/// password percent-decoded, used when no ProxyCredential is set). The connection is
/// tunneled with HTTP CONNECT; a refusal fails the connect with the proxy's HTTP
/// status (`0x80190000 | status`). `uri` is copied. Before ConnectAsync only.
/// Returns `S_OK`; `E_INVALIDARG` (not an `http://` URI, a malformed host or port);
/// `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_ProxyUri(
    this: *mut MessageWebSocketControl,
    uri: *const c_char,
) -> HRESULT {
    call(|| {
        let uri = if uri.is_null() {
            None
        } else {
            Some(in_str(uri, "uri")?)
        };
        control(this)?.set_proxy(uri)
    })
}

/// `IgnorableServerCertificateErrors`: a new reference to the socket's list of
/// certificate errors (`ChainValidationResult` values) that a `wss:` connect
/// accepts; empty by default (every error fails the connect). Each is matched
/// exactly: ignoring `ChainValidationResult_Expired` accepts an expired
/// certificate that is otherwise valid, while an untrusted or wrongly named one
/// still fails. rtws maps OpenSSL's verification errors to the values: expired or
/// not yet valid → Expired; a self-signed certificate, or a chain ending in a root
/// that is not trusted → Untrusted; an issuer nowhere to be found (a private CA's
/// certificate sent alone, its CA not trusted; a missing intermediate) →
/// IncompleteChain; name or IP mismatch → InvalidName;
/// revoked → Revoked; bad signature → InvalidSignature; wrong purpose → WrongUsage;
/// CA and path-length errors → BasicConstraintsError; policy errors →
/// InvalidCertificateAuthorityPolicy; others → OtherErrors. Frozen at ConnectAsync.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
///
/// ```c
/// IVectorChainValidationResult *ignore;
/// MessageWebSocketControl_get_IgnorableServerCertificateErrors(c, &ignore);
/// IVectorChainValidationResult_Append(ignore, ChainValidationResult_Expired);
/// IVectorChainValidationResult_Release(ignore);
/// ```
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_IgnorableServerCertificateErrors(
    this: *mut MessageWebSocketControl,
    value: *mut *mut IVectorChainValidationResult,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(IVectorChainValidationResult::publish(
            control(this)?.ignorable_server_certificate_errors(),
        ))
    })
}

/// rtws extension: certificates (PEM, one or more, UTF-8) that `wss:` connects
/// trust as roots besides the system's store, with full validation still on (a
/// private CA). Replaces earlier ones; "" trusts the system's store alone again.
/// Before ConnectAsync only. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (no
/// certificate in the text, or one OpenSSL cannot read); `E_ILLEGAL_METHOD_CALL`;
/// `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_TrustedRootCertificates(
    this: *mut MessageWebSocketControl,
    pem: *const c_char,
) -> HRESULT {
    call(|| control(this)?.set_trusted_roots_pem(in_str(pem, "pem")?))
}

/// `ClientCertificate`: a new reference (caller owns it) to the certificate sent to
/// servers that ask for one (mutual TLS), or NULL when none is set.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_ClientCertificate(
    this: *mut MessageWebSocketControl,
    value: *mut *mut Certificate,
) -> HRESULT {
    call(|| websocket::client_certificate(&*control(this)?, value))
}

/// Sets `ClientCertificate` (NULL removes it; the socket keeps its own reference):
/// a certificate with its private key (`Certificate_CreateFromPkcs12`,
/// `Certificate_CreateFromPem`), presented when a `wss:` server asks for one.
/// Before ConnectAsync only. Returns `S_OK`; `E_INVALIDARG` (not a live
/// Certificate, or one without a private key); `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_ClientCertificate(
    this: *mut MessageWebSocketControl,
    value: *mut Certificate,
) -> HRESULT {
    call(|| websocket::set_client_certificate(&*control(this)?, value))
}

// ----- MessageWebSocketInformation -------------------------------------------------

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_AddRef(
    this: *mut MessageWebSocketInformation,
) -> u32 {
    call_count(|| MessageWebSocketInformation::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_Release(
    this: *mut MessageWebSocketInformation,
) -> u32 {
    call_count(|| MessageWebSocketInformation::release(this))
}

/// `Protocol`: the subprotocol the server chose, as a UTF-8 string owned by the
/// Information object (valid while it lives; it never changes once set). Empty
/// before the connect completes or when none was negotiated.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_Protocol(
    this: *mut MessageWebSocketInformation,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(MessageWebSocketInformation::c_str(
            this,
            "Protocol",
            |info| info.0.protocol().to_owned(),
        )?)
    })
}

/// `LocalAddress`: the local IP address of the connection ("127.0.0.1", "::1"), a
/// string owned by the Information object (valid while it lives). Empty before the
/// connect completes. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_LocalAddress(
    this: *mut MessageWebSocketInformation,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(MessageWebSocketInformation::c_str(
            this,
            "LocalAddress",
            |info| info.0.local_address().to_owned(),
        )?)
    })
}

/// `BandwidthStatistics`: the bits per second the connection moved each way,
/// measured by rtws over the window between calls (at least one second: calls
/// closer together return the last window's figures; all zero before the connect
/// and during its first second). The instability and peaked members are not
/// measured and stay 0/false, as UWP reports them without extended TCP statistics.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_BandwidthStatistics(
    this: *mut MessageWebSocketInformation,
    value: *mut BandwidthStatistics,
) -> HRESULT {
    call(|| websocket::bandwidth_statistics(&MessageWebSocketInformation::get(this)?.0, value))
}

/// `ServerCertificateErrorSeverity` of a `wss:` connection: None (the server's
/// certificate had no error), Ignorable (it had errors, all in
/// IgnorableServerCertificateErrors). A connect with any other error fails, so
/// Fatal is never seen on a connected socket. None before connect and for `ws:`.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_ServerCertificateErrorSeverity(
    this: *mut MessageWebSocketInformation,
    value: *mut SocketSslErrorSeverity,
) -> HRESULT {
    call(|| {
        websocket::certificate_error_severity(&MessageWebSocketInformation::get(this)?.0, value)
    })
}

/// `ServerCertificateErrors`: a new reference (caller owns it) to a read-only list
/// of the certificate errors the `wss:` connection had (the ignored ones); empty
/// when none, before connect, and for `ws:`. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_ServerCertificateErrors(
    this: *mut MessageWebSocketInformation,
    value: *mut *mut IVectorChainValidationResult,
) -> HRESULT {
    call(|| {
        websocket::certificate_error_list(
            MessageWebSocketInformation::get(this)?.0.server_trust(),
            value,
        )
    })
}

/// `ServerCertificate`: a new reference (caller owns it) to the `wss:` server's
/// certificate, or NULL (before connect, and for `ws:`). Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_ServerCertificate(
    this: *mut MessageWebSocketInformation,
    value: *mut *mut Certificate,
) -> HRESULT {
    call(|| {
        websocket::server_certificate(
            MessageWebSocketInformation::get(this)?.0.server_trust(),
            value,
        )
    })
}

/// `ServerIntermediateCertificates`: a new reference (caller owns it) to a
/// read-only list of the certificates the `wss:` server sent after its own (empty
/// before connect and for `ws:`). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_ServerIntermediateCertificates(
    this: *mut MessageWebSocketInformation,
    value: *mut *mut IVectorViewCertificate,
) -> HRESULT {
    call(|| {
        websocket::intermediate_certificates(
            MessageWebSocketInformation::get(this)?.0.server_trust(),
            value,
        )
    })
}

// ----- Event arguments -------------------------------------------------------------

/// Adds a reference (to keep the arguments past the handler). Returns the new
/// count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_AddRef(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
) -> u32 {
    call_count(|| MessageWebSocketMessageReceivedEventArgs::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_Release(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
) -> u32 {
    call_count(|| MessageWebSocketMessageReceivedEventArgs::release(this))
}

/// `MessageType` of the received message. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_get_MessageType(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    value: *mut SocketMessageType,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(MessageWebSocketMessageReceivedEventArgs::get(this)?.message_type)
    })
}

/// `IsMessageComplete`: true when this event carries the end of a message (always
/// in FullMessage mode; on the last piece in PartialMessage mode). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    value: *mut bool,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(MessageWebSocketMessageReceivedEventArgs::get(this)?.is_message_complete())
    })
}

/// `GetDataReader`: a new DataReader over the whole message (the caller owns the
/// reference), positioned at its start; each call gives a fresh reader. For an
/// event that reports a failure, returns that failure instead (for example
/// `WININET_E_CONNECTION_ABORTED`, `E_INVALID_PROTOCOL_FORMAT`,
/// `RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE`), with the last error message set.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; the failure HRESULT.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_GetDataReader(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    reader: *mut *mut DataReader,
) -> HRESULT {
    call(|| {
        let reader = out(reader, "reader")?;
        let r = MessageWebSocketMessageReceivedEventArgs::get(this)?.data_reader()?;
        reader.set(DataReader::new_handle(r))
    })
}

/// `GetDataStream`: a new input stream over the message (the caller owns the
/// reference), read with `IInputStream_ReadAsync` or a DataReader; it ends (reads
/// complete with 0 bytes) after the message. For an event that reports a failure,
/// returns that failure instead, as GetDataReader does.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; the failure HRESULT.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_GetDataStream(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    stream: *mut *mut IInputStream,
) -> HRESULT {
    call(|| {
        let stream = out(stream, "stream")?;
        let input = MessageWebSocketMessageReceivedEventArgs::get(this)?.data_stream()?;
        stream.set(IInputStream::publish(input))
    })
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn WebSocketClosedEventArgs_AddRef(this: *mut WebSocketClosedEventArgs) -> u32 {
    call_count(|| WebSocketClosedEventArgs::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn WebSocketClosedEventArgs_Release(this: *mut WebSocketClosedEventArgs) -> u32 {
    call_count(|| WebSocketClosedEventArgs::release(this))
}

/// `Code`: the close status code. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn WebSocketClosedEventArgs_get_Code(
    this: *mut WebSocketClosedEventArgs,
    value: *mut u16,
) -> HRESULT {
    call(|| out(value, "value")?.set(WebSocketClosedEventArgs::get(this)?.code))
}

/// `Reason`: the close reason, UTF-8, owned by the arguments object (valid while it
/// lives; empty when none). A NUL byte in the reason the server sent cannot be
/// part of a C string: each one is given as U+FFFD. Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn WebSocketClosedEventArgs_get_Reason(
    this: *mut WebSocketClosedEventArgs,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(WebSocketClosedEventArgs::c_str(this, "Reason", |a| {
            a.reason.clone()
        })?)
    })
}
