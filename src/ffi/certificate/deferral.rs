//! `Deferral` (Windows.Foundation): lets a ServerCustomValidationRequested handler
//! decide after it returned. Any thread.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core::winrt::validation`, `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count};
use rtws_core::winrt::validation;
use rtws_types::HRESULT;

/// Opaque handle of a Deferral (Windows.Foundation).
pub struct Deferral {
    _private: [u8; 0],
}
impl Handle for Deferral {
    type Target = validation::Deferral;
    const NAME: &'static str = "Deferral";
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn Deferral_AddRef(this: *mut Deferral) -> u32 {
    call_count(|| Deferral::add_ref(this))
}

/// Releases a reference; the last one completes the deferral if `Complete` was not
/// called. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn Deferral_Release(this: *mut Deferral) -> u32 {
    call_count(|| Deferral::release(this))
}

/// `Complete`: the handler's decision is made (calling it again does nothing).
/// Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn Deferral_Complete(this: *mut Deferral) -> HRESULT {
    call(|| {
        Deferral::get(this)?.complete();
        Ok(())
    })
}
