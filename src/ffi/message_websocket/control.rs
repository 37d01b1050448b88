//! `MessageWebSocketControl`: the settings of one MessageWebSocket.
//!
//! The members it shares with StreamWebSocketControl (UWP's IWebSocketControl) make the
//! same core calls (the longer bodies are in ffi/websocket.rs); each is documented
//! here in full, as C users read one function at a time. tests/ffi_layout.rs fails when
//! a shared member here (doc comment or body) differs from its copy in
//! ffi/stream_websocket/control.rs other than by the class name: change both.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `websocket`, the handle types its
//! functions take or hand out), `rtws_core::winrt::{message_websocket, socket}`,
//! `rtws_types`.

use crate::ffi::certificate::Certificate;
use crate::ffi::credential::PasswordCredential;
use crate::ffi::handle::Handle;
use crate::ffi::vector::{IVectorChainValidationResult, IVectorString};
use crate::ffi::websocket::{self, PerMessageDeflateOptions};
use crate::ffi::{call, call_count, in_enum, in_str, out, TimeSpan};
use rtws_core::winrt::message_websocket as core;
use rtws_core::winrt::socket::Socket;
use rtws_types::{MessageWebSocketReceiveMode, SocketMessageType};
use rtws_types::{Result, HRESULT};
use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

/// Opaque handle of a MessageWebSocketControl (settings of one socket).
pub struct MessageWebSocketControl {
    _private: [u8; 0],
}
impl Handle for MessageWebSocketControl {
    type Target = core::MessageWebSocketControl;
    const NAME: &'static str = "MessageWebSocketControl";
}

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

fn control(this: *mut MessageWebSocketControl) -> Result<Arc<Socket>> {
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

/// rtws extension: `PerMessageDeflate`, the permessage-deflate (RFC 7692) offer
/// (see `PerMessageDeflateOptions`; `Enabled` false, the default: not offered).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_get_PerMessageDeflate(
    this: *mut MessageWebSocketControl,
    value: *mut PerMessageDeflateOptions,
) -> HRESULT {
    call(|| websocket::deflate_options(control(this)?.deflate(), value))
}

/// rtws extension: sets `PerMessageDeflate`. With `Enabled`, ConnectAsync offers
/// permessage-deflate; a server that accepts gets compressed messages and may send
/// them, a server that declines gets none, and one whose answer goes beyond the
/// offer (a parameter not allowed, a window over the one asked for) fails the
/// connect with `E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED`. MaxMessageSize applies to the
/// decompressed size. Before ConnectAsync only. Returns `S_OK`; `E_INVALIDARG`
/// (window bits outside 8..15 with `Enabled`); `E_ILLEGAL_METHOD_CALL` (after
/// ConnectAsync); `RO_E_CLOSED`.
///
/// ```c
/// PerMessageDeflateOptions deflate = {true, false, false, 15, 15, 0};
/// MessageWebSocketControl_put_PerMessageDeflate(control, deflate);
/// ```
#[no_mangle]
pub extern "C" fn MessageWebSocketControl_put_PerMessageDeflate(
    this: *mut MessageWebSocketControl,
    value: PerMessageDeflateOptions,
) -> HRESULT {
    call(|| websocket::set_deflate_offer(&*control(this)?, value))
}
