//! `WebSocketServerCustomValidationRequestedEventArgs`: what a
//! ServerCustomValidationRequested handler gets (of either socket class): the
//! server's certificate, chain and errors, Reject, and GetDeferral. Any thread.
//!
//! Imports: `crate::ffi` (helpers, `handle`, the handle types it hands out,
//! `websocket` for the certificate getters it shares with Information),
//! `rtws_core::winrt::validation`, `rtws_types`.

use crate::ffi::certificate::{Certificate, Deferral, IVectorViewCertificate};
use crate::ffi::handle::Handle;
use crate::ffi::vector::IVectorChainValidationResult;
use crate::ffi::websocket;
use crate::ffi::{call, call_count, out};
use rtws_core::winrt::validation;
use rtws_types::SocketSslErrorSeverity;
use rtws_types::{Result, HRESULT};
use std::sync::Arc;

/// Opaque handle of the arguments of ServerCustomValidationRequested.
pub struct WebSocketServerCustomValidationRequestedEventArgs {
    _private: [u8; 0],
}
impl Handle for WebSocketServerCustomValidationRequestedEventArgs {
    type Target = validation::ValidationRequest;
    const NAME: &'static str = "WebSocketServerCustomValidationRequestedEventArgs";
}

/// Adds a reference (to keep the arguments past the handler, e.g. to decide later
/// with a deferral). Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_AddRef(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
) -> u32 {
    call_count(|| WebSocketServerCustomValidationRequestedEventArgs::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_Release(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
) -> u32 {
    call_count(|| WebSocketServerCustomValidationRequestedEventArgs::release(this))
}

fn request(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
) -> Result<Arc<validation::ValidationRequest>> {
    WebSocketServerCustomValidationRequestedEventArgs::get(this)
}

/// `ServerCertificate`: a new reference (caller owns it) to the server's
/// certificate. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
    value: *mut *mut Certificate,
) -> HRESULT {
    call(|| websocket::server_certificate(Some(&request(this)?.trust), value))
}

/// `ServerCertificateErrorSeverity`: None, or Ignorable (errors there were all
/// in IgnorableServerCertificateErrors; with any other error the connect fails
/// before this event). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
    value: *mut SocketSslErrorSeverity,
) -> HRESULT {
    call(|| out(value, "value")?.set(request(this)?.trust.severity()))
}

/// `ServerCertificateErrors`: a new reference to a read-only list of the errors
/// OpenSSL found (the ignored ones). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrors(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
    value: *mut *mut IVectorChainValidationResult,
) -> HRESULT {
    call(|| websocket::certificate_error_list(Some(&request(this)?.trust), value))
}

/// `ServerIntermediateCertificates`: a new reference to a read-only list of the
/// certificates the server sent after its own. Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
    value: *mut *mut IVectorViewCertificate,
) -> HRESULT {
    call(|| websocket::intermediate_certificates(Some(&request(this)?.trust), value))
}

/// `Reject`: the connect fails with `WININET_E_SEC_INVALID_CERT`
/// (WebErrorStatus_CertificateIsInvalid) once the handlers (and deferrals) are
/// done. Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_Reject(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
) -> HRESULT {
    call(|| {
        request(this)?.reject();
        Ok(())
    })
}

/// `GetDeferral`: a Deferral (caller owns it): the connect waits until
/// `Deferral_Complete` (or the deferral's last Release), at most ConnectTimeout
/// (then it fails with `WININET_E_TIMEOUT`), so the host may decide on another
/// thread, after the handler returned. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
///
/// ```c
/// void start_my_check(WebSocketServerCustomValidationRequestedEventArgs *, Deferral *); // yours
/// static void on_validate(void *ctx, MessageWebSocket *ws,
///                         WebSocketServerCustomValidationRequestedEventArgs *args) {
///     Deferral *d; WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &d);
///     WebSocketServerCustomValidationRequestedEventArgs_AddRef(args);
///     start_my_check(args, d);  // later: maybe _Reject(args); Deferral_Complete(d); release both
/// }
/// ```
#[no_mangle]
pub extern "C" fn WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(
    this: *mut WebSocketServerCustomValidationRequestedEventArgs,
    value: *mut *mut Deferral,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(Deferral::publish(request(this)?.get_deferral()))
    })
}
