//! `Certificate` (Windows.Security.Cryptography.Certificates), and, one file each,
//! the classes that hand certificates out or decide on them: `IVectorViewCertificate`
//! (vector_view_certificate.rs), what ServerCustomValidationRequested hands its
//! handlers (`WebSocketServerCustomValidationRequestedEventArgs`, in
//! websocket_server_custom_validation_requested_event_args.rs) and its `Deferral`
//! (deferral.rs). Any thread.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `IBuffer`), `rtws_core` (the
//! certificate, TLS identities), `rtws_types`.

// In the order of rtws.h (see ffi/mod.rs); the comment lines also keep rustfmt
// from sorting the declarations.
// IVectorViewCertificate_
mod vector_view_certificate;
// WebSocketServerCustomValidationRequestedEventArgs_
mod websocket_server_custom_validation_requested_event_args;
// Deferral_
mod deferral;

pub use deferral::*;
pub use vector_view_certificate::*;
pub use websocket_server_custom_validation_requested_event_args::*;

use crate::ffi::handle::Handle;
use crate::ffi::streams::IBuffer;
use crate::ffi::{call, call_count, in_bytes, in_str, out, out_bytes, DateTime};
use rtws_core::net::tls::ClientIdentity;
use rtws_core::winrt::certificate::Certificate as CoreCertificate;
use rtws_types::{Error, Result, E_NOT_SUFFICIENT_BUFFER, HRESULT};
use std::ffi::c_char;

/// Opaque handle of a Certificate (Windows.Security.Cryptography.Certificates).
pub struct Certificate {
    _private: [u8; 0],
}
impl Handle for Certificate {
    type Target = CoreCertificate;
    const NAME: &'static str = "Certificate";
}

/// The caller-buffer pattern for bytes: `*needed` gets the size; the bytes are
/// copied only when `capacity` is at least that.
fn copy_bytes_out(bytes: &[u8], buffer: *mut u8, capacity: u32, needed: *mut u32) -> Result<()> {
    let needed = out(needed, "needed")?;
    let size = bytes.len() as u32;
    needed.set(size)?;
    if buffer.is_null() || capacity < size {
        return Err(Error::new(
            E_NOT_SUFFICIENT_BUFFER,
            format!("the buffer holds {capacity} bytes; {size} are needed"),
        ));
    }
    out_bytes(buffer, size, "buffer")?.copy_from_slice(bytes);
    Ok(())
}

/// `Certificate(IBuffer)`: a certificate from its DER encoding (or PEM text) in
/// `blob`'s first Length bytes (the caller owns the new reference). It has no
/// private key. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (not a live IBuffer,
/// or no certificate OpenSSL can read).
#[no_mangle]
pub extern "C" fn Certificate_CreateCertificate(
    blob: *mut IBuffer,
    result: *mut *mut Certificate,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let blob = IBuffer::get(blob)?.bytes();
        result.set(Certificate::new_handle(CoreCertificate::from_bytes(&blob)?))
    })
}

/// rtws extension (UWP imports PFX data into a certificate store instead): a client
/// certificate with its private key from PKCS#12 (`.p12`/`.pfx`) bytes
/// `data[0..length)` and their `password` (UTF-8; may be "" but not NULL). For
/// `Control_put_ClientCertificate`. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`
/// (unreadable, wrong password, or no certificate with its key).
#[no_mangle]
pub extern "C" fn Certificate_CreateFromPkcs12(
    data: *const u8,
    length: u32,
    password: *const c_char,
    result: *mut *mut Certificate,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let der = in_bytes(data, length, "data")?;
        let id = ClientIdentity::from_pkcs12(der, in_str(password, "password")?)?;
        result.set(Certificate::new_handle(CoreCertificate::from_identity(id)?))
    })
}

/// rtws extension: a client certificate with its private key from PEM text (UTF-8):
/// `certificate_pem` (the certificate, then any intermediates to send along) and
/// `private_key_pem` (PKCS#8 or traditional, unencrypted). Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG` (unreadable, or the key does not match).
#[no_mangle]
pub extern "C" fn Certificate_CreateFromPem(
    certificate_pem: *const c_char,
    private_key_pem: *const c_char,
    result: *mut *mut Certificate,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let cert = in_str(certificate_pem, "certificate_pem")?;
        let key = in_str(private_key_pem, "private_key_pem")?;
        let id = ClientIdentity::from_pem(cert.as_bytes(), key.as_bytes())?;
        result.set(Certificate::new_handle(CoreCertificate::from_identity(id)?))
    })
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn Certificate_AddRef(this: *mut Certificate) -> u32 {
    call_count(|| Certificate::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn Certificate_Release(this: *mut Certificate) -> u32 {
    call_count(|| Certificate::release(this))
}

/// `Subject`: the subject's common name (or, without one, its whole name as
/// "C=…, O=…"), UTF-8, owned by the certificate (valid while it lives).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn Certificate_get_Subject(
    this: *mut Certificate,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(Certificate::c_str(this, "Subject", |c| {
            c.subject().to_owned()
        })?)
    })
}

/// `Issuer`: the issuer's common name (or whole name), as `Certificate_get_Subject`.
#[no_mangle]
pub extern "C" fn Certificate_get_Issuer(
    this: *mut Certificate,
    value: *mut *const c_char,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(Certificate::c_str(this, "Issuer", |c| {
            c.issuer().to_owned()
        })?)
    })
}

/// `ValidFrom` (notBefore). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (not a
/// live handle, or a notBefore that is not a valid time).
#[no_mangle]
pub extern "C" fn Certificate_get_ValidFrom(
    this: *mut Certificate,
    value: *mut DateTime,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(DateTime {
            UniversalTime: Certificate::get(this)?.valid_from()?,
        })
    })
}

/// `ValidTo` (notAfter). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (not a live
/// handle, or a notAfter that is not a valid time).
#[no_mangle]
pub extern "C" fn Certificate_get_ValidTo(this: *mut Certificate, value: *mut DateTime) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(DateTime {
            UniversalTime: Certificate::get(this)?.valid_to()?,
        })
    })
}

/// `HasPrivateKey`: true for a client certificate made with its key.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn Certificate_get_HasPrivateKey(
    this: *mut Certificate,
    value: *mut bool,
) -> HRESULT {
    call(|| out(value, "value")?.set(Certificate::get(this)?.has_private_key()))
}

/// `GetHashValue()`: the SHA-1 thumbprint (20 bytes) into `buffer` (Win32
/// caller-buffer pattern: `*needed` gets the size; NULL or short `buffer` gives
/// `E_NOT_SUFFICIENT_BUFFER`). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`;
/// `E_NOT_SUFFICIENT_BUFFER`.
#[no_mangle]
pub extern "C" fn Certificate_GetHashValue(
    this: *mut Certificate,
    buffer: *mut u8,
    capacity: u32,
    needed: *mut u32,
) -> HRESULT {
    call(|| {
        copy_bytes_out(
            &Certificate::get(this)?.hash("SHA1")?,
            buffer,
            capacity,
            needed,
        )
    })
}

/// `GetHashValue(hashAlgorithmName)`: the thumbprint by "SHA1" (20 bytes) or
/// "SHA256" (32 bytes) (HashAlgorithmNames; ASCII case does not matter), as
/// `Certificate_GetHashValue`. Returns also `E_INVALIDARG`
/// for another algorithm name.
#[no_mangle]
pub extern "C" fn Certificate_GetHashValueWithAlgorithm(
    this: *mut Certificate,
    hash_algorithm_name: *const c_char,
    buffer: *mut u8,
    capacity: u32,
    needed: *mut u32,
) -> HRESULT {
    call(|| {
        let name = in_str(hash_algorithm_name, "hash_algorithm_name")?;
        copy_bytes_out(
            &Certificate::get(this)?.hash(name)?,
            buffer,
            capacity,
            needed,
        )
    })
}

/// `GetCertificateBlob`: a new IBuffer (caller owns it) holding the certificate's
/// DER encoding. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn Certificate_GetCertificateBlob(
    this: *mut Certificate,
    value: *mut *mut IBuffer,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        let der = Certificate::get(this)?.der().to_vec();
        value.set(IBuffer::new_handle(
            rtws_core::winrt::streams::Buffer::from_bytes(&der)?,
        ))
    })
}
