//! `IVector<String>` (SupportedProtocols) as `IVectorString`, and
//! `IVector<ChainValidationResult>` (IgnorableServerCertificateErrors,
//! ServerCertificateErrors) as `IVectorChainValidationResult`.
//! Any thread; the lists are internally locked.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, copy_str_out, in_enum, in_str, out};
use rtws_core::winrt::vector::{StringVector, Vector};
use rtws_types::ChainValidationResult;
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

/// Opaque handle of an `IVector<ChainValidationResult>`
/// (IgnorableServerCertificateErrors; read-only for ServerCertificateErrors).
pub struct IVectorChainValidationResult {
    _private: [u8; 0],
}
impl Handle for IVectorChainValidationResult {
    type Target = Vector<ChainValidationResult>;
    const NAME: &'static str = "IVectorChainValidationResult";
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_AddRef(
    this: *mut IVectorChainValidationResult,
) -> u32 {
    call_count(|| IVectorChainValidationResult::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_Release(
    this: *mut IVectorChainValidationResult,
) -> u32 {
    call_count(|| IVectorChainValidationResult::release(this))
}

/// `Size`. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_get_Size(
    this: *mut IVectorChainValidationResult,
    size: *mut u32,
) -> HRESULT {
    call(|| out(size, "size")?.set(IVectorChainValidationResult::get(this)?.len()))
}

/// `GetAt`: item `index`. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_BOUNDS`.
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_GetAt(
    this: *mut IVectorChainValidationResult,
    index: u32,
    value: *mut ChainValidationResult,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        IVectorChainValidationResult::get(this)?.get(index, |v| value.set(*v))
    })
}

/// `IndexOf`: whether `value` is in the list, and where (`*found` false leaves
/// `*index` 0). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_IndexOf(
    this: *mut IVectorChainValidationResult,
    value: i32,
    index: *mut u32,
    found: *mut bool,
) -> HRESULT {
    call(|| {
        let (index, found) = (out(index, "index")?, out(found, "found")?);
        let value = in_enum(
            value,
            "ChainValidationResult",
            ChainValidationResult::from_i32,
        )?;
        let at = IVectorChainValidationResult::get(this)?.index_of(&value);
        index.set(at.unwrap_or(0))?;
        found.set(at.is_some())
    })
}

/// `Append`: adds a `ChainValidationResult` value (not `ChainValidationResult_Success`).
/// Returns `S_OK`; `E_INVALIDARG` (other value); `E_ILLEGAL_METHOD_CALL` (frozen:
/// ConnectAsync was called, or a read-only list such as ServerCertificateErrors).
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_Append(
    this: *mut IVectorChainValidationResult,
    value: i32,
) -> HRESULT {
    call(|| {
        let value = in_enum(
            value,
            "ChainValidationResult",
            ChainValidationResult::from_i32,
        )?;
        IVectorChainValidationResult::get(this)?.append(value)
    })
}

/// `RemoveAt`. Returns `S_OK`; `E_INVALIDARG`; `E_BOUNDS`; `E_ILLEGAL_METHOD_CALL` (frozen).
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_RemoveAt(
    this: *mut IVectorChainValidationResult,
    index: u32,
) -> HRESULT {
    call(|| IVectorChainValidationResult::get(this)?.remove_at(index))
}

/// `Clear`. Returns `S_OK`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (frozen).
#[no_mangle]
pub extern "C" fn IVectorChainValidationResult_Clear(
    this: *mut IVectorChainValidationResult,
) -> HRESULT {
    call(|| IVectorChainValidationResult::get(this)?.clear())
}
