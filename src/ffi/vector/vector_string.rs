//! `IVector<String>` as `IVectorString`: the subprotocols a socket offers
//! (Control.SupportedProtocols). Any thread; the list is internally locked.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core::winrt::vector`, `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, copy_str_out, in_str, out};
use rtws_core::winrt::vector::StringVector;
use rtws_types::HRESULT;
use std::ffi::c_char;

/// Opaque handle of an `IVector<String>`.
pub struct IVectorString {
    _private: [u8; 0],
}
impl Handle for IVectorString {
    type Target = StringVector;
    const NAME: &'static str = "IVectorString";
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IVectorString_AddRef(this: *mut IVectorString) -> u32 {
    call_count(|| IVectorString::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IVectorString_Release(this: *mut IVectorString) -> u32 {
    call_count(|| IVectorString::release(this))
}

/// `Size`: the number of strings. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IVectorString_get_Size(this: *mut IVectorString, size: *mut u32) -> HRESULT {
    call(|| out(size, "size")?.set(IVectorString::get(this)?.len()))
}

/// `GetAt`: copies string `index` into `buffer` as NUL-terminated UTF-8 (Win32
/// caller-buffer pattern: `*needed` gets the size including the NUL; a NULL or
/// short buffer gives `E_NOT_SUFFICIENT_BUFFER`). Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`; `E_BOUNDS` (index ≥ Size); `E_NOT_SUFFICIENT_BUFFER`.
#[no_mangle]
pub extern "C" fn IVectorString_GetAt(
    this: *mut IVectorString,
    index: u32,
    buffer: *mut c_char,
    buffer_size: u32,
    needed: *mut u32,
) -> HRESULT {
    call(|| IVectorString::get(this)?.get(index, |s| copy_str_out(s, buffer, buffer_size, needed)))
}

/// `Append`: adds a copy of `value` (UTF-8). For SupportedProtocols the value must
/// be a valid subprotocol name (an HTTP token). Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (the list is frozen: ConnectAsync was called).
#[no_mangle]
pub extern "C" fn IVectorString_Append(this: *mut IVectorString, value: *const c_char) -> HRESULT {
    call(|| IVectorString::get(this)?.append(in_str(value, "value")?.to_owned()))
}

/// `RemoveAt`: removes string `index`. Returns `S_OK`; `E_INVALIDARG`; `E_BOUNDS`;
/// `E_ILLEGAL_METHOD_CALL` (frozen).
#[no_mangle]
pub extern "C" fn IVectorString_RemoveAt(this: *mut IVectorString, index: u32) -> HRESULT {
    call(|| IVectorString::get(this)?.remove_at(index))
}

/// `Clear`: removes every string. Returns `S_OK`; `E_INVALIDARG`;
/// `E_ILLEGAL_METHOD_CALL` (frozen).
#[no_mangle]
pub extern "C" fn IVectorString_Clear(this: *mut IVectorString) -> HRESULT {
    call(|| IVectorString::get(this)?.clear())
}
