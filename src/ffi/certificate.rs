//! `Certificate`, `IVectorViewCertificate`, and what ServerCustomValidationRequested
//! hands its handlers: `WebSocketServerCustomValidationRequestedEventArgs`,
//! `Deferral`. Any thread.

use crate::ffi::handle::Handle;
use crate::ffi::streams::IBuffer;
use crate::ffi::vector::IVectorChainValidationResult;
use crate::ffi::websocket;
use crate::ffi::{call, call_count, in_bytes, in_str, out, out_bytes, DateTime};
use rtws_core::net::tls::ClientIdentity;
use rtws_core::winrt::certificate::Certificate as CoreCertificate;
use rtws_core::winrt::validation;
use rtws_types::SocketSslErrorSeverity;
use rtws_types::{Error, Result, E_NOT_SUFFICIENT_BUFFER, HRESULT};
use std::ffi::c_char;
use std::sync::Arc;

/// Opaque handle of a Certificate (Windows.Security.Cryptography.Certificates).
pub struct Certificate {
    _private: [u8; 0],
}
impl Handle for Certificate {
    type Target = CoreCertificate;
    const NAME: &'static str = "Certificate";
}

/// Opaque handle of a read-only list of certificates (`IVectorView<Certificate>`).
pub struct IVectorViewCertificate {
    _private: [u8; 0],
}
impl Handle for IVectorViewCertificate {
    type Target = Vec<Arc<CoreCertificate>>;
    const NAME: &'static str = "IVectorViewCertificate";
}

/// Opaque handle of the arguments of ServerCustomValidationRequested.
pub struct WebSocketServerCustomValidationRequestedEventArgs {
    _private: [u8; 0],
}
impl Handle for WebSocketServerCustomValidationRequestedEventArgs {
    type Target = validation::ValidationRequest;
    const NAME: &'static str = "WebSocketServerCustomValidationRequestedEventArgs";
}

/// Opaque handle of a Deferral (Windows.Foundation).
pub struct Deferral {
    _private: [u8; 0],
}
impl Handle for Deferral {
    type Target = validation::Deferral;
    const NAME: &'static str = "Deferral";
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

// ----- Certificate ---------------------------------------------------------------

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
        let blob = rtws_core::winrt::streams::Payload::Buffer(IBuffer::get(blob)?);
        result.set(Certificate::new_handle(
            blob.with(CoreCertificate::from_bytes)?,
        ))
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

// ----- IVectorViewCertificate ----------------------------------------------------

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

// ----- ServerCustomValidationRequested --------------------------------------------

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
