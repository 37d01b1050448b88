//! `IVectorView<Certificate>` as `IVectorViewCertificate`: a read-only list of
//! certificates (Information's ServerIntermediateCertificates, and the same of
//! ServerCustomValidationRequested). Any thread.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `Certificate`), `rtws_core`, `rtws_types`.

use crate::ffi::certificate::Certificate;
use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, out};
use rtws_core::winrt::certificate::Certificate as CoreCertificate;
use rtws_types::{Error, HRESULT};
use std::sync::Arc;

/// Opaque handle of a read-only list of certificates (`IVectorView<Certificate>`).
pub struct IVectorViewCertificate {
    _private: [u8; 0],
}
impl Handle for IVectorViewCertificate {
    type Target = Vec<Arc<CoreCertificate>>;
    const NAME: &'static str = "IVectorViewCertificate";
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IVectorViewCertificate_AddRef(this: *mut IVectorViewCertificate) -> u32 {
    call_count(|| IVectorViewCertificate::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IVectorViewCertificate_Release(this: *mut IVectorViewCertificate) -> u32 {
    call_count(|| IVectorViewCertificate::release(this))
}

/// `Size`. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IVectorViewCertificate_get_Size(
    this: *mut IVectorViewCertificate,
    size: *mut u32,
) -> HRESULT {
    call(|| out(size, "size")?.set(IVectorViewCertificate::get(this)?.len() as u32))
}

/// `GetAt`: a new reference (caller owns it) to certificate `index`.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_BOUNDS`.
#[no_mangle]
pub extern "C" fn IVectorViewCertificate_GetAt(
    this: *mut IVectorViewCertificate,
    index: u32,
    value: *mut *mut Certificate,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        let list = IVectorViewCertificate::get(this)?;
        let cert = list.get(index as usize).ok_or_else(|| {
            Error::new(
                rtws_types::E_BOUNDS,
                format!("index {index} is out of range (size {})", list.len()),
            )
        })?;
        value.set(Certificate::publish(cert.clone()))
    })
}
