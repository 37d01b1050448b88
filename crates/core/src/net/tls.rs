//! `wss:`: TLS over the connection, by the system's OpenSSL.
//!
//! Why the `openssl` crate and not native-tls's interface (both are the same
//! system OpenSSL): UWP lets a host ignore chosen certificate errors
//! (IgnorableServerCertificateErrors) and shows it every error and the server's
//! chain (Information, ServerCustomValidationRequested). native-tls can only turn
//! verification off as a whole (or only the name check) and shows the leaf alone.
//! OpenSSL's verify callback sees each error of the chain as OpenSSL's own
//! verification finds it: rtws records it, maps it to a `ChainValidationResult`,
//! and lets verification go on only past the errors the host named. No TLS or
//! crypto is written here: handshakes, chain building, signature and name checks
//! are OpenSSL's.

use openssl::error::ErrorStack;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslMethod, SslMode, SslVerifyMode, SslVersion};
use openssl::x509::{X509VerifyResult, X509};
use parking_lot::Mutex;
use rtws_types::*;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

/// The HRESULT a connect fails with when `error` was not ignorable.
fn refusal_hresult(error: ChainValidationResult) -> HRESULT {
    use ChainValidationResult::*;
    match error {
        Expired => WININET_E_SEC_CERT_DATE_INVALID,
        InvalidName => WININET_E_SEC_CERT_CN_INVALID,
        Untrusted | IncompleteChain => WININET_E_INVALID_CA,
        Revoked => WININET_E_SEC_CERT_REVOKED,
        RevocationInformationMissing | RevocationFailure => WININET_E_SEC_CERT_REV_FAILED,
        _ => WININET_E_SEC_CERT_ERRORS,
    }
}

/// OpenSSL's verification error, in UWP's terms.
fn classify(e: X509VerifyResult) -> ChainValidationResult {
    use ChainValidationResult::*;
    // Codes from OpenSSL's x509_vfy.h (stable across 1.1 and 3.x).
    match e.as_raw() {
        9 | 10 => Expired,         // not yet valid, has expired
        18 | 19 | 27 => Untrusted, // self-signed leaf or root not trusted, untrusted
        // The issuer is nowhere to be found (a private CA's leaf sent alone): one
        // error to ignore, as Windows reports a partial chain.
        2 | 20 | 21 => IncompleteChain,
        23 => Revoked,
        3 | 33 => RevocationInformationMissing, // no CRL
        11..=17 => RevocationFailure,           // CRL unusable
        4..=8 => InvalidSignature,
        26 | 28 => WrongUsage,                 // purpose, rejected
        62..=64 => InvalidName,                // host, email, IP mismatch
        24 | 25 | 41 => BasicConstraintsError, // not a CA, path length, pathlen
        34 => UnknownCriticalExtension,
        42..=53 => InvalidCertificateAuthorityPolicy,
        _ => OtherErrors,
    }
}

/// A client certificate (Control.ClientCertificate): the certificate, its key
/// and any intermediates to send along.
#[derive(Clone)]
pub struct ClientIdentity {
    cert: X509,
    key: PKey<Private>,
    chain: Vec<X509>,
}

impl ClientIdentity {
    pub fn cert(&self) -> &X509 {
        &self.cert
    }

    /// From PKCS#12 (DER) bytes and their password.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self> {
        let bad = |e: openssl::error::ErrorStack| {
            Error::invalid_arg(format!("cannot read the PKCS#12 client certificate: {e}"))
        };
        let parsed = Pkcs12::from_der(der)
            .map_err(bad)?
            .parse2(password)
            .map_err(bad)?;
        let (Some(cert), Some(key)) = (parsed.cert, parsed.pkey) else {
            return Err(Error::invalid_arg(
                "the PKCS#12 data holds no certificate with its private key",
            ));
        };
        Ok(ClientIdentity {
            cert,
            key,
            chain: parsed
                .ca
                .map(|s| s.into_iter().collect())
                .unwrap_or_default(),
        })
    }

    /// From PEM: the certificate (then any intermediates) and its private key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let mut certs = X509::stack_from_pem(cert_pem)
            .map_err(|e| Error::invalid_arg(format!("cannot read the PEM certificate: {e}")))?
            .into_iter();
        let cert = certs
            .next()
            .ok_or_else(|| Error::invalid_arg("the PEM text holds no certificate"))?;
        let key = PKey::private_key_from_pem(key_pem)
            .map_err(|e| Error::invalid_arg(format!("cannot read the PEM private key: {e}")))?;
        if !cert
            .public_key()
            .map(|p| p.public_eq(&key))
            .unwrap_or(false)
        {
            return Err(Error::invalid_arg(
                "the private key does not belong to the certificate",
            ));
        }
        Ok(ClientIdentity {
            cert,
            key,
            chain: certs.collect(),
        })
    }
}

/// Parses extra trusted roots (PEM, one or more certificates).
pub fn parse_roots(pem: &str) -> Result<Vec<X509>> {
    let roots = X509::stack_from_pem(pem.as_bytes())
        .map_err(|e| Error::invalid_arg(format!("cannot read the PEM certificates: {e}")))?;
    if roots.is_empty() {
        return Err(Error::invalid_arg("the PEM text holds no certificate"));
    }
    Ok(roots)
}

/// What TLS needs from the Control (frozen at ConnectAsync).
#[derive(Clone, Default)]
pub struct TlsSettings {
    pub ignorable: Vec<ChainValidationResult>,
    pub extra_roots: Vec<X509>,
    pub client: Option<ClientIdentity>,
}

/// What the TLS handshake showed of the server: its chain as sent (leaf first)
/// and the certificate errors found (ignored ones included).
#[derive(Clone, Default)]
pub struct PeerChain {
    pub chain: Vec<X509>,
    pub errors: Vec<ChainValidationResult>,
}

pub type TlsStream = SslStream<TcpStream>;

/// Connectors by (extra roots, client certificate), most recently used last.
/// Building one loads the system's trusted roots (~30 ms and ~800 KiB for a
/// typical bundle), so connections with the same settings share one.
type ConnectorKey = (Vec<Vec<u8>>, Option<Vec<u8>>);
static CONNECTORS: Mutex<Vec<(ConnectorKey, SslConnector)>> = Mutex::new(Vec::new());
const CONNECTORS_KEPT: usize = 8;

fn connector_for(settings: &TlsSettings) -> std::result::Result<SslConnector, ErrorStack> {
    let key: ConnectorKey = (
        settings
            .extra_roots
            .iter()
            .map(|r| r.to_der())
            .collect::<std::result::Result<_, _>>()?,
        match &settings.client {
            Some(id) => {
                let mut k = id.cert.to_der()?;
                k.extend(id.key.private_key_to_der()?);
                for c in &id.chain {
                    k.extend(c.to_der()?);
                }
                Some(k)
            }
            None => None,
        },
    );
    let mut cache = CONNECTORS.lock();
    if let Some(i) = cache.iter().position(|(k, _)| *k == key) {
        let entry = cache.remove(i);
        let connector = entry.1.clone();
        cache.push(entry);
        return Ok(connector);
    }
    let mut builder = SslConnector::builder(SslMethod::tls_client())?;
    builder.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    // OpenSSL's record buffers (~34 KiB) only while data moves: idle wss
    // connections stay small, as plain ones do.
    builder.set_mode(SslMode::RELEASE_BUFFERS);
    for root in &settings.extra_roots {
        builder.cert_store_mut().add_cert(root.clone())?;
    }
    if let Some(id) = &settings.client {
        builder.set_certificate(&id.cert)?;
        builder.set_private_key(&id.key)?;
        for c in &id.chain {
            builder.add_extra_chain_cert(c.clone())?;
        }
    }
    let connector = builder.build();
    if cache.len() == CONNECTORS_KEPT {
        cache.remove(0);
    }
    cache.push((key, connector.clone()));
    Ok(connector)
}

/// Lets every cached connector go (rtws_Shutdown): a host that ends with
/// valgrind sees no memory of rtws still reachable, wss: use included.
pub fn clear_connectors() {
    // Dropped outside the lock: freeing a store of roots takes a while.
    let cached = std::mem::take(&mut *CONNECTORS.lock());
    drop(cached);
}

/// Runs the TLS handshake on `tcp` for `host`: SNI, the system's trusted roots
/// (plus `extra_roots`), hostname verification, TLS 1.2 or 1.3.
pub async fn connect(
    tcp: TcpStream,
    host: &str,
    settings: &TlsSettings,
) -> Result<(TlsStream, PeerChain)> {
    let failed = |e: openssl::error::ErrorStack| {
        Error::new(
            WININET_E_SECURITY_CHANNEL_ERROR,
            format!("cannot set up TLS: {e}"),
        )
    };
    let connector = connector_for(settings).map_err(failed)?;
    let mut config = connector.configure().map_err(failed)?;
    // An IP address is no server name for SNI, but it is still checked.
    config.set_use_server_name_indication(host.parse::<std::net::IpAddr>().is_err());
    let errors: Arc<Mutex<Vec<ChainValidationResult>>> = Arc::default();
    let (seen, ignorable) = (errors.clone(), settings.ignorable.clone());
    config.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if ok {
            return true;
        }
        let kind = classify(ctx.error());
        let mut seen = seen.lock();
        if !seen.contains(&kind) {
            seen.push(kind);
        }
        ignorable.contains(&kind)
    });
    let ssl = config.into_ssl(host).map_err(failed)?;
    let mut stream = SslStream::new(ssl, tcp).map_err(failed)?;
    let result = Pin::new(&mut stream).connect().await;
    let found = std::mem::take(&mut *errors.lock());
    if let Err(e) = result {
        let fatal = found.iter().find(|k| !settings.ignorable.contains(k));
        return Err(match fatal {
            Some(kind) => Error::new(
                refusal_hresult(*kind),
                format!(
                    "the server's certificate failed validation ({kind:?}; all errors found: {found:?})"
                ),
            ),
            None => match e.io_error() {
                Some(io) if io.kind() != std::io::ErrorKind::Other => {
                    Error::from_io(io, "during the TLS handshake")
                }
                _ => Error::new(
                    WININET_E_SECURITY_CHANNEL_ERROR,
                    format!("the TLS handshake failed: {e}"),
                ),
            },
        });
    }
    let chain = stream
        .ssl()
        .peer_cert_chain()
        .map(|c| c.iter().map(|x| x.to_owned()).collect())
        .unwrap_or_default();
    Ok((
        stream,
        PeerChain {
            chain,
            errors: found,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_connectors_lets_the_cache_go() {
        connector_for(&TlsSettings::default()).unwrap();
        assert!(!CONNECTORS.lock().is_empty());
        clear_connectors();
        assert!(CONNECTORS.lock().is_empty());
    }
}
