//! `StreamWebSocketControl`: the settings of one StreamWebSocket.
//!
//! The members it shares with MessageWebSocketControl (UWP's IWebSocketControl) make the
//! same core calls (the longer bodies are in ffi/websocket.rs); each is documented
//! here in full, as C users read one function at a time. tests/ffi_layout.rs fails when
//! a shared member here (doc comment or body) differs from its copy in
//! ffi/message_websocket/control.rs other than by the class name: change both.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `websocket`, the handle types its
//! functions take or hand out), `rtws_core::winrt::{stream_websocket, socket}`,
//! `rtws_types`.

use crate::ffi::certificate::Certificate;
use crate::ffi::credential::PasswordCredential;
use crate::ffi::handle::Handle;
use crate::ffi::vector::{IVectorChainValidationResult, IVectorString};
use crate::ffi::websocket::{self, PerMessageDeflateOptions};
use crate::ffi::{call, call_count, in_str, out, TimeSpan};
use rtws_core::winrt::socket::Socket;
use rtws_core::winrt::stream_websocket as core;
use rtws_types::{Result, HRESULT};
use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

/// Opaque handle of a StreamWebSocketControl (settings of one socket).
pub struct StreamWebSocketControl {
    _private: [u8; 0],
}
impl Handle for StreamWebSocketControl {
    type Target = core::StreamWebSocketControl;
    const NAME: &'static str = "StreamWebSocketControl";
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_AddRef(this: *mut StreamWebSocketControl) -> u32 {
    call_count(|| StreamWebSocketControl::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_Release(this: *mut StreamWebSocketControl) -> u32 {
    call_count(|| StreamWebSocketControl::release(this))
}

fn control(this: *mut StreamWebSocketControl) -> Result<Arc<Socket>> {
    Ok(StreamWebSocketControl::get(this)?.0.clone())
}

/// `NoDelay` (default true: TCP_NODELAY, Nagle's algorithm off). Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_NoDelay(
    this: *mut StreamWebSocketControl,
    value: *mut bool,
) -> HRESULT {
    call(|| out(value, "value")?.set(control(this)?.no_delay()))
}

/// Sets `NoDelay`: false lets the kernel coalesce small writes (Nagle). Before
/// ConnectAsync only. Returns `S_OK`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL`
/// (after ConnectAsync); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_put_NoDelay(
    this: *mut StreamWebSocketControl,
    value: bool,
) -> HRESULT {
    call(|| control(this)?.set_no_delay(value))
}

/// `OutboundBufferSizeInBytes`: the TCP send buffer (SO_SNDBUF) the connection
/// asks for; the system default until set. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_OutboundBufferSizeInBytes(
    this: *mut StreamWebSocketControl,
    value: *mut u32,
) -> HRESULT {
    call(|| out(value, "value")?.set(control(this)?.outbound_buffer_size()))
}

/// Sets `OutboundBufferSizeInBytes` (1 to 2147483647), applied as SO_SNDBUF at
/// connect (the kernel may round it). Before ConnectAsync only. Returns `S_OK`;
/// `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (after ConnectAsync); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_put_OutboundBufferSizeInBytes(
    this: *mut StreamWebSocketControl,
    value: u32,
) -> HRESULT {
    call(|| control(this)?.set_outbound_buffer_size(value))
}

/// `SupportedProtocols`: a new reference to the socket's list of subprotocols to
/// offer (sent as Sec-WebSocket-Protocol, in order). Editable before ConnectAsync;
/// afterwards its edits fail with `E_ILLEGAL_METHOD_CALL`. Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_SupportedProtocols(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_get_DesiredUnsolicitedPongInterval(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_put_DesiredUnsolicitedPongInterval(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_get_ActualUnsolicitedPongInterval(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_get_ConnectTimeout(
    this: *mut StreamWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| out(value, "value")?.set(TimeSpan::from_duration(control(this)?.timing().connect)))
}

/// rtws extension: sets `ConnectTimeout` (1 ms to 1 day). A connect that runs out of
/// time fails with `WININET_E_TIMEOUT` (WebErrorStatus_Timeout). Before ConnectAsync
/// only. Returns `S_OK`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_put_ConnectTimeout(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_get_SendTimeout(
    this: *mut StreamWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| out(value, "value")?.set(TimeSpan::from_duration(control(this)?.timing().send)))
}

/// rtws extension: sets `SendTimeout` (1 ms to 1 day). When it runs out, pending
/// sends and reads fail with `WININET_E_TIMEOUT`, and Closed follows with 1006. Before ConnectAsync only. Returns `S_OK`; `E_INVALIDARG`;
/// `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_put_SendTimeout(
    this: *mut StreamWebSocketControl,
    value: TimeSpan,
) -> HRESULT {
    call(|| {
        let d = value.to_duration("SendTimeout", Duration::from_millis(1))?;
        control(this)?.set_timing(|t| t.send = d)
    })
}

/// rtws extension: `ReceiveTimeout`, how long a message that has begun to arrive may
/// receive no byte before the connection fails (default 30 s, as UWP); time while
/// 1 MiB waits unread in the InputStream does not count. An idle connection
/// between messages never times out (use DesiredUnsolicitedPongInterval
/// and the server's pings for liveness). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_ReceiveTimeout(
    this: *mut StreamWebSocketControl,
    value: *mut TimeSpan,
) -> HRESULT {
    call(|| out(value, "value")?.set(TimeSpan::from_duration(control(this)?.timing().receive)))
}

/// rtws extension: sets `ReceiveTimeout` (1 ms to 1 day). When it runs out, reads
/// fail with `WININET_E_TIMEOUT` and Closed follows with 1006.
/// Before ConnectAsync only. Returns `S_OK`; `E_INVALIDARG`;
/// `E_ILLEGAL_METHOD_CALL`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_put_ReceiveTimeout(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_get_ServerCredential(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_put_ServerCredential(
    this: *mut StreamWebSocketControl,
    value: *mut PasswordCredential,
) -> HRESULT {
    call(|| control(this)?.set_server_credential(PasswordCredential::get_optional(value)?))
}

/// `ProxyCredential`: a new reference to the credential set, or NULL when none.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_ProxyCredential(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_put_ProxyCredential(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_put_ProxyUri(
    this: *mut StreamWebSocketControl,
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
/// StreamWebSocketControl_get_IgnorableServerCertificateErrors(c, &ignore);
/// IVectorChainValidationResult_Append(ignore, ChainValidationResult_Expired);
/// IVectorChainValidationResult_Release(ignore);
/// ```
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_IgnorableServerCertificateErrors(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_put_TrustedRootCertificates(
    this: *mut StreamWebSocketControl,
    pem: *const c_char,
) -> HRESULT {
    call(|| control(this)?.set_trusted_roots_pem(in_str(pem, "pem")?))
}

/// `ClientCertificate`: a new reference (caller owns it) to the certificate sent to
/// servers that ask for one (mutual TLS), or NULL when none is set.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_ClientCertificate(
    this: *mut StreamWebSocketControl,
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
pub extern "C" fn StreamWebSocketControl_put_ClientCertificate(
    this: *mut StreamWebSocketControl,
    value: *mut Certificate,
) -> HRESULT {
    call(|| websocket::set_client_certificate(&*control(this)?, value))
}

/// rtws extension: `PerMessageDeflate`, the permessage-deflate (RFC 7692) offer
/// (see `PerMessageDeflateOptions`; `Enabled` false, the default: not offered).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_get_PerMessageDeflate(
    this: *mut StreamWebSocketControl,
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
/// StreamWebSocketControl_put_PerMessageDeflate(control, deflate);
/// ```
#[no_mangle]
pub extern "C" fn StreamWebSocketControl_put_PerMessageDeflate(
    this: *mut StreamWebSocketControl,
    value: PerMessageDeflateOptions,
) -> HRESULT {
    call(|| websocket::set_deflate_offer(&*control(this)?, value))
}
