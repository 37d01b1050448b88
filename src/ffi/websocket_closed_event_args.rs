//! `WebSocketClosedEventArgs`: what a Closed handler (of either socket class) gets,
//! the close code and reason.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core::winrt::socket`, `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, out};
use rtws_types::HRESULT;
use std::ffi::c_char;

/// Opaque handle of the arguments of a Closed event.
pub struct WebSocketClosedEventArgs {
    _private: [u8; 0],
}
impl Handle for WebSocketClosedEventArgs {
    type Target = rtws_core::winrt::socket::ClosedArgs;
    const NAME: &'static str = "WebSocketClosedEventArgs";
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
