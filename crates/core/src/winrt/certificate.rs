//! `Certificate` (Windows.Security.Cryptography.Certificates): a server's
//! certificate as the TLS handshake showed it, or a client certificate with its
//! private key. Parsing and hashing are OpenSSL's.

use crate::net::tls::ClientIdentity;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509};
use rtws_types::{Error, Result};

/// WinRT `DateTime` ticks (100 ns) from 1601-01-01 to 1970-01-01.
const UNIX_EPOCH_TICKS: i64 = 116_444_736_000_000_000;

pub struct Certificate {
    x509: X509,
    der: Vec<u8>,
    subject: String,
    issuer: String,
    /// A client certificate's key (and intermediates).
    identity: Option<ClientIdentity>,
}

/// A name as UWP shows it: the common name, or the whole name when it has none.
fn display_name(name: &X509NameRef) -> String {
    name.entries_by_nid(Nid::COMMONNAME)
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
        })
}

/// WinRT `DateTime` ticks of an ASN.1 time. OpenSSL parses a certificate without
/// checking its times, so a time may still be unreadable here (e.g. the
/// GeneralizedTime "+0340101000000Z"): an error, not a panic.
fn ticks(t: &Asn1TimeRef, field: &str) -> Result<i64> {
    let epoch = Asn1Time::from_unix(0).expect("the Unix epoch is a valid time");
    let diff = epoch.diff(t).map_err(|_| {
        Error::invalid_arg(format!(
            "the certificate's {field} is not a valid ASN.1 time"
        ))
    })?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    Ok(UNIX_EPOCH_TICKS + secs * 10_000_000)
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
    pub fn subject(&self) -> &str {
        &self.subject
    }
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// `ValidFrom` / `ValidTo` as WinRT DateTime ticks.
    pub fn valid_from(&self) -> Result<i64> {
        ticks(self.x509.not_before(), "notBefore (ValidFrom)")
    }
    pub fn valid_to(&self) -> Result<i64> {
        ticks(self.x509.not_after(), "notAfter (ValidTo)")
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

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::x509::X509Name;

    /// Found by the `certificate` fuzz target: a certificate whose notAfter OpenSSL
    /// parses but cannot read as a date made `ValidTo` panic (E_UNEXPECTED at the C
    /// boundary). The getter fails instead; the certificate still loads.
    #[test]
    fn unreadable_validity_time_is_an_error() {
        let key = PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
        )
        .unwrap();
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "t").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_str("20240101000000Z").unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_str("20340101000000Z").unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let mut der = b.build().to_der().unwrap();
        // notAfter, UTCTime "340101000000Z": make it "+40101000000Z".
        let at = der
            .windows(13)
            .position(|w| w == b"340101000000Z")
            .expect("notAfter in the DER");
        der[at] = b'+';

        let cert = Certificate::from_bytes(&der).expect("OpenSSL still parses it");
        assert!(cert.valid_from().is_ok());
        let err = cert.valid_to().unwrap_err();
        assert_eq!(err.hr, rtws_types::E_INVALIDARG);
        assert!(err.message.contains("notAfter"), "{}", err.message);
    }
}
