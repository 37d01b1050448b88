//! `Certificate` (Windows.Security.Cryptography.Certificates): a server's
//! certificate as the TLS handshake showed it, or a client certificate with its
//! private key. Parsing and hashing are OpenSSL's.

use crate::core::error::{Error, Result};
use crate::core::tls::ClientIdentity;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509};
use std::ffi::CString;

/// WinRT `DateTime` ticks (100 ns) from 1601-01-01 to 1970-01-01.
const UNIX_EPOCH_TICKS: i64 = 116_444_736_000_000_000;

/// The C type of this name is the opaque handle in `crate::ffi`:
/// cbindgen:ignore
pub struct Certificate {
    x509: X509,
    der: Vec<u8>,
    subject: CString,
    issuer: CString,
    /// A client certificate's key (and intermediates).
    identity: Option<ClientIdentity>,
}

/// A name as UWP shows it: the common name, or the whole name when it has none.
fn display_name(name: &X509NameRef) -> CString {
    let text = name
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .unwrap_or_else(|| {
            name.entries()
                .filter_map(|e| {
                    let key = e.object().nid().short_name().ok()?;
                    let value = e.data().to_string().ok()?;
                    Some(format!("{key}={value}"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
    crate::core::socket::c_text(&text)
}

/// WinRT `DateTime` ticks of an ASN.1 time.
fn ticks(t: &Asn1TimeRef) -> i64 {
    let epoch = Asn1Time::from_unix(0).expect("the Unix epoch is a valid time");
    let diff = epoch
        .diff(t)
        .expect("two valid times differ by a valid amount");
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    UNIX_EPOCH_TICKS + secs * 10_000_000
}

impl Certificate {
    pub(crate) fn from_x509(x509: X509, identity: Option<ClientIdentity>) -> Result<Self> {
        let der = x509
            .to_der()
            .map_err(|e| Error::invalid_arg(format!("cannot encode the certificate: {e}")))?;
        Ok(Certificate {
            subject: display_name(x509.subject_name()),
            issuer: display_name(x509.issuer_name()),
            x509,
            der,
            identity,
        })
    }

    /// `Certificate(IBuffer)`: DER bytes, or PEM text.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let x509 = X509::from_der(bytes)
            .or_else(|_| X509::from_pem(bytes))
            .map_err(|e| Error::invalid_arg(format!("not a certificate (DER or PEM): {e}")))?;
        Self::from_x509(x509, None)
    }

    /// A client certificate with its private key (PKCS#12 or PEM).
    pub fn from_identity(identity: ClientIdentity) -> Result<Self> {
        Self::from_x509(identity.cert().clone(), Some(identity))
    }

    pub fn identity(&self) -> Option<&ClientIdentity> {
        self.identity.as_ref()
    }
    pub fn subject(&self) -> &std::ffi::CStr {
        &self.subject
    }
    pub fn issuer(&self) -> &std::ffi::CStr {
        &self.issuer
    }
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// `ValidFrom` / `ValidTo` as WinRT DateTime ticks.
    pub fn valid_from(&self) -> i64 {
        ticks(self.x509.not_before())
    }
    pub fn valid_to(&self) -> i64 {
        ticks(self.x509.not_after())
    }
    pub fn has_private_key(&self) -> bool {
        self.identity.is_some()
    }
    /// `GetHashValue(algorithm)`: the thumbprint by "SHA1" or "SHA256" (the names
    /// of HashAlgorithmNames; case does not matter).
    pub fn hash(&self, algorithm: &str) -> Result<Vec<u8>> {
        let md = match algorithm.to_ascii_uppercase().as_str() {
            "SHA1" => MessageDigest::sha1(),
            "SHA256" => MessageDigest::sha256(),
            other => {
                return Err(Error::invalid_arg(format!(
                    "unknown hash algorithm '{other}': use SHA1 or SHA256"
                )))
            }
        };
        let digest = openssl::hash::hash(md, &self.der)
            .map_err(|e| Error::invalid_arg(format!("cannot hash the certificate: {e}")))?;
        Ok(digest.to_vec())
    }
}
