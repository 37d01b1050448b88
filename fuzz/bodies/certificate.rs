//! Target `certificate`: certificate loading through the exported C functions.
//!
//! The first byte picks the entry point, the rest is its input:
//! - 0 `Certificate_CreateFromPem`: certificate PEM, NUL, key PEM;
//! - 1 `Certificate_CreateFromPkcs12`: password, NUL, PKCS#12 DER;
//! - 2 `Certificate_CreateCertificate` (DER or PEM in an IBuffer): the bytes;
//! - 3 `MessageWebSocketControl_put_TrustedRootCertificates`: PEM text.
//!
//! Properties: no call panics; each returns `S_OK` or a failure with a message of
//! its own. A certificate that loads answers every getter (Subject, Issuer,
//! HasPrivateKey, both hashes; ValidFrom and ValidTo, or E_INVALIDARG for a
//! time that is no date), its blob loads again as the same certificate, it has a private key exactly when it came with one, and
//! `put_ClientCertificate` takes it exactly then.

use super::input::Input;
use super::{check_hr, set_sentinel_error};
use rtws::ffi::certificate::*;
use rtws::ffi::message_websocket::*;
use rtws::ffi::streams::*;
use rtws::ffi::DateTime;
use rtws_types::{E_INVALIDARG, E_NOT_SUFFICIENT_BUFFER, S_OK};
use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

/// Runs an exported call with the checks every call gets; returns its HRESULT.
fn checked(what: &str, f: impl FnOnce() -> i32) -> i32 {
    set_sentinel_error();
    let hr = f();
    check_hr(what, 0, hr);
    hr
}

fn ok(what: &str, f: impl FnOnce() -> i32) {
    let hr = checked(what, f);
    assert_eq!(
        hr,
        S_OK,
        "{what} failed on a loaded certificate: 0x{:08X} {}",
        hr as u32,
        super::last_error()
    );
}

fn c_string(bytes: &[u8]) -> CString {
    CString::new(bytes).expect("cut at the first NUL")
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null(), "a NULL string from a getter that succeeded");
    // SAFETY: rtws returned a NUL-terminated string owned by the certificate,
    // which the caller still holds; it is copied at once.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Its `algorithm` thumbprint, checking the caller-buffer pattern on the way.
fn hash(cert: *mut Certificate, algorithm: &CStr, size: u32) -> Vec<u8> {
    let mut needed = 0u32;
    let hr = checked("GetHashValueWithAlgorithm(NULL buffer)", || {
        Certificate_GetHashValueWithAlgorithm(cert, algorithm.as_ptr(), null_mut(), 0, &mut needed)
    });
    assert_eq!(hr, E_NOT_SUFFICIENT_BUFFER, "a hash into no buffer");
    assert_eq!(needed, size, "{algorithm:?} size");
    let mut out = vec![0u8; size as usize];
    ok("GetHashValueWithAlgorithm", || {
        Certificate_GetHashValueWithAlgorithm(
            cert,
            algorithm.as_ptr(),
            out.as_mut_ptr(),
            size,
            &mut needed,
        )
    });
    out
}

/// What a loaded certificate shows; every getter must succeed.
#[derive(Debug, PartialEq)]
struct Facts {
    subject: String,
    issuer: String,
    valid_from: Result<i64, i32>,
    valid_to: Result<i64, i32>,
    sha1: Vec<u8>,
    sha256: Vec<u8>,
}

fn facts(cert: *mut Certificate) -> Facts {
    let mut p = null();
    ok("get_Subject", || Certificate_get_Subject(cert, &mut p));
    let subject = text(p);
    ok("get_Issuer", || Certificate_get_Issuer(cert, &mut p));
    let issuer = text(p);
    // OpenSSL loads a certificate whose times it cannot read as dates; their
    // getters then fail (E_INVALIDARG, with a message), the others still work.
    let time = |what: &str, get: extern "C" fn(*mut Certificate, *mut DateTime) -> i32| {
        let mut t = DateTime { UniversalTime: 0 };
        match checked(what, || get(cert, &mut t)) {
            S_OK => Ok(t.UniversalTime),
            hr => {
                assert_eq!(hr, E_INVALIDARG, "{what}: {}", super::last_error());
                Err(hr)
            }
        }
    };
    let valid_from = time("get_ValidFrom", Certificate_get_ValidFrom);
    let valid_to = time("get_ValidTo", Certificate_get_ValidTo);
    let sha1 = hash(cert, c"SHA1", 20);
    let mut plain = [0u8; 20];
    let mut needed = 0;
    ok("GetHashValue", || {
        Certificate_GetHashValue(cert, plain.as_mut_ptr(), 20, &mut needed)
    });
    assert_eq!(plain.as_slice(), sha1.as_slice(), "GetHashValue is SHA-1");
    Facts {
        subject,
        issuer,
        valid_from,
        valid_to,
        sha1,
        sha256: hash(cert, c"sha256", 32),
    }
}

/// The checks of a certificate that loaded; releases it.
fn loaded(cert: *mut Certificate, with_key: bool) {
    assert!(!cert.is_null(), "S_OK without a certificate");
    let mut has_key = !with_key;
    ok("get_HasPrivateKey", || {
        Certificate_get_HasPrivateKey(cert, &mut has_key)
    });
    assert_eq!(has_key, with_key, "HasPrivateKey");
    let first = facts(cert);

    // Its blob is the certificate's DER: it loads again, as the same certificate.
    let mut blob = null_mut();
    ok("GetCertificateBlob", || {
        Certificate_GetCertificateBlob(cert, &mut blob)
    });
    let mut again = null_mut();
    ok("CreateCertificate(blob)", || {
        Certificate_CreateCertificate(blob, &mut again)
    });
    assert_eq!(IBuffer_Release(blob), 0);
    assert_eq!(
        facts(again),
        first,
        "the certificate read back from its blob"
    );
    assert_eq!(Certificate_Release(again), 0);

    // Only a certificate with its key can be a client certificate.
    let (ws, control) = new_control();
    let hr = checked("put_ClientCertificate", || {
        MessageWebSocketControl_put_ClientCertificate(control, cert)
    });
    assert_eq!(
        hr,
        if with_key { S_OK } else { E_INVALIDARG },
        "put_ClientCertificate with HasPrivateKey {with_key}"
    );
    assert_eq!(MessageWebSocketControl_Release(control), 0);
    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_eq!(Certificate_Release(cert), 0, "the only reference");
}

/// A new socket and its Control (releasing the socket would close it, and a
/// closed socket's settings are frozen).
fn new_control() -> (*mut MessageWebSocket, *mut MessageWebSocketControl) {
    let mut ws = null_mut();
    ok("MessageWebSocket_Create", || {
        MessageWebSocket_Create(&mut ws)
    });
    let mut control = null_mut();
    ok("get_Control", || {
        MessageWebSocket_get_Control(ws, &mut control)
    });
    (ws, control)
}

/// Runs a constructor; checks the certificate if it loaded. Returns whether it did.
fn create(what: &str, with_key: bool, f: impl FnOnce(*mut *mut Certificate) -> i32) -> bool {
    let mut cert = null_mut();
    let hr = checked(what, || f(&mut cert));
    if hr == S_OK {
        loaded(cert, with_key);
        true
    } else {
        assert!(cert.is_null(), "{what} failed and gave a certificate");
        false
    }
}

/// Returns whether a certificate (or, for mode 3, the roots) loaded: the seeded
/// test counts these to show its inputs reach past the parsers' first checks.
pub fn run(data: &[u8]) -> bool {
    let mut input = Input::new(data);
    match input.u8() % 4 {
        0 => {
            let cert = c_string(input.until_nul());
            let key = c_string(input.until_nul());
            create("CreateFromPem", true, |out| {
                Certificate_CreateFromPem(cert.as_ptr(), key.as_ptr(), out)
            })
        }
        1 => {
            let password = c_string(input.until_nul());
            let der = input.rest();
            create("CreateFromPkcs12", true, |out| {
                Certificate_CreateFromPkcs12(der.as_ptr(), der.len() as u32, password.as_ptr(), out)
            })
        }
        2 => {
            let bytes = input.rest();
            let mut buffer = null_mut();
            ok("Buffer_CreateFromBytes", || {
                Buffer_CreateFromBytes(bytes.as_ptr(), bytes.len() as u32, &mut buffer)
            });
            let loaded = create("CreateCertificate", false, |out| {
                Certificate_CreateCertificate(buffer, out)
            });
            assert_eq!(IBuffer_Release(buffer), 0);
            loaded
        }
        _ => {
            let pem = c_string(input.until_nul());
            let (ws, control) = new_control();
            let hr = checked("put_TrustedRootCertificates", || {
                MessageWebSocketControl_put_TrustedRootCertificates(control, pem.as_ptr())
            });
            assert_eq!(MessageWebSocketControl_Release(control), 0);
            assert_eq!(MessageWebSocket_Release(ws), 0);
            hr == S_OK
        }
    }
}
