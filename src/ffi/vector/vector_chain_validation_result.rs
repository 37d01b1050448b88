//! `IVector<ChainValidationResult>` as `IVectorChainValidationResult`: the
//! certificate errors a socket ignores (Control.IgnorableServerCertificateErrors)
//! or had (Information.ServerCertificateErrors, read-only). Any thread; the list
//! is internally locked.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core::winrt::vector`, `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, in_enum, out};
use rtws_core::winrt::vector::Vector;
use rtws_types::ChainValidationResult;
use rtws_types::HRESULT;

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
