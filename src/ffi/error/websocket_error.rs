//! `WebSocketError` (Windows.Networking.Sockets): the WebErrorStatus behind an HRESULT.
//!
//! Imports: `rtws_types`.

use rtws_types::{web_error_status, WebErrorStatus, HRESULT};

/// `WebSocketError.GetStatus`: the `WebErrorStatus` that an HRESULT returned by an
/// rtws function (or an async operation's `ErrorCode`) stands for.
///
/// Network failures map to their WinINet statuses (`WININET_E_CANNOT_CONNECT` →
/// `WebErrorStatus_CannotConnect`, …), `HTTP_E_STATUS_*` (0x8019xxxx) to the HTTP
/// status values (404 → `WebErrorStatus_NotFound`), canceled and aborted operations
/// to `WebErrorStatus_OperationCanceled`; anything else, S_OK included, is
/// `WebErrorStatus_Unknown`. Pure function: any thread, never fails.
///
/// ```c
/// HRESULT hr = IAsyncAction_Wait(connect, RTWS_INFINITE);
/// if (RTWS_FAILED(hr) && WebSocketError_GetStatus(hr) == WebErrorStatus_CannotConnect) {
///     // no server listens there: try another one
/// }
/// ```
#[no_mangle]
pub extern "C" fn WebSocketError_GetStatus(hresult: HRESULT) -> WebErrorStatus {
    web_error_status(hresult)
}
