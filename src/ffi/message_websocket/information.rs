//! `MessageWebSocketInformation`: the read-only facts of one MessageWebSocket.
//!
//! The members it shares with StreamWebSocketInformation (UWP's IWebSocketInformation) make the
//! same core calls (the longer bodies are in ffi/websocket.rs); each is documented
//! here in full, as C users read one function at a time. tests/ffi_layout.rs fails when
//! a shared member here (doc comment or body) differs from its copy in
//! ffi/stream_websocket/information.rs other than by the class name: change both.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `websocket`, the handle types its
//! functions hand out), `rtws_core::winrt::message_websocket`, `rtws_types`.

use crate::ffi::certificate::{Certificate, IVectorViewCertificate};
use crate::ffi::handle::Handle;
use crate::ffi::vector::IVectorChainValidationResult;
use crate::ffi::websocket::{self, BandwidthStatistics, PerMessageDeflateOptions};
use crate::ffi::{call, call_count, out};
use rtws_core::winrt::message_websocket as core;
use rtws_types::SocketSslErrorSeverity;
use rtws_types::HRESULT;
use std::ffi::c_char;

/// Opaque handle of a MessageWebSocketInformation (read-only facts of one socket).
pub struct MessageWebSocketInformation {
    _private: [u8; 0],
}
impl Handle for MessageWebSocketInformation {
    type Target = core::MessageWebSocketInformation;
    const NAME: &'static str = "MessageWebSocketInformation";
}

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

/// rtws extension: `PerMessageDeflate`: the permessage-deflate parameters the
/// connect agreed (`Enabled` false: not offered, declined by the server, or not
/// connected yet). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketInformation_get_PerMessageDeflate(
    this: *mut MessageWebSocketInformation,
    value: *mut PerMessageDeflateOptions,
) -> HRESULT {
    call(|| {
        websocket::deflate_options(
            MessageWebSocketInformation::get(this)?.0.deflate_agreed(),
            value,
        )
    })
}
