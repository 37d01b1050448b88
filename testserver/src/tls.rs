//! `--tls-dir DIR`: a throwaway test PKI made with rcgen at start (a CA and server
//! certificates signed by it, plus a client certificate), written to DIR as far as clients
//! need it, and one TLS listener per server certificate serving the same routes as the
//! plain port. See `USAGE` for the files and the listeners.
//!
//! TLS is the system's OpenSSL through the `openssl` crate, which native-tls also uses on
//! Linux. native-tls's own acceptor is not used: it refuses TLS 1.3 (Mozilla's old
//! "intermediate" settings) and cannot ask for client certificates.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout};
use tokio_openssl::SslStream;

use crate::conn::Conn;
use crate::{bind, handle, HEAD_TIMEOUT};

/// The password of `client.p12`.
const P12_PASSWORD: &str = "rtws";
/// The names of the server certificates, one listener each, in `TLS_PORT` order.
const SERVERS: [&str; 5] = ["valid", "expired", "wrongname", "selfsigned", "clientauth"];
/// The listener whose clients must present a certificate signed by the test CA.
const CLIENT_AUTH: &str = "clientauth";

/// A certificate (PEM) and its private key (PKCS#8 PEM).
struct CertKey {
    cert: String,
    key: String,
}

/// Everything `--tls-dir` generates.
struct Pki {
    ca: String,
    /// In `SERVERS` order.
    servers: Vec<CertKey>,
    client: CertKey,
}

pub struct TlsListener {
    pub name: &'static str,
    pub listener: TcpListener,
    acceptor: SslAcceptor,
}

/// Generates the PKI, writes the client's files into `dir` (created if missing) and binds
/// one listener per server certificate on `host`'s address, port 0.
pub fn listen(dir: &Path, host: SocketAddr) -> io::Result<Vec<TlsListener>> {
    let pki = Pki::generate().map_err(io::Error::other)?;
    pki.write(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("--tls-dir {}: {e}", dir.display())))?;
    let ca = X509::from_pem(pki.ca.as_bytes()).map_err(io::Error::other)?;
    let mut listeners = Vec::new();
    for (name, server) in SERVERS.into_iter().zip(&pki.servers) {
        let client_ca = (name == CLIENT_AUTH).then_some(&ca);
        listeners.push(TlsListener {
            name,
            listener: bind(SocketAddr::new(host.ip(), 0))?,
            acceptor: acceptor(server, client_ca).map_err(io::Error::other)?,
        });
    }
    Ok(listeners)
}

/// Mozilla's "intermediate" server settings, version 5 (TLS 1.2 and 1.3), with `server`'s
/// certificate; with `client_ca`, a client certificate signed by it is required.
fn acceptor(
    server: &CertKey,
    client_ca: Option<&X509>,
) -> Result<SslAcceptor, openssl::error::ErrorStack> {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    let cert = X509::from_pem(server.cert.as_bytes())?;
    let key = PKey::private_key_from_pem(server.key.as_bytes())?;
    b.set_certificate(&cert)?;
    b.set_private_key(&key)?;
    b.check_private_key()?;
    if let Some(ca) = client_ca {
        // A store for verifying clients only: in the main one, OpenSSL would also send the
        // CA along with the server certificate, as the other listeners don't.
        let mut store = X509StoreBuilder::new()?;
        store.add_cert(ca.clone())?;
        b.set_verify_cert_store(store.build())?;
        // Named in the CertificateRequest, so clients can pick a matching certificate.
        b.add_client_ca(ca)?;
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
        // Session resumption with client verification needs a session id context.
        b.set_session_id_context(b"rtws-testserver")?;
    }
    Ok(b.build())
}

/// Accepts TLS connections forever and serves each like a plain one.
pub async fn serve(tls: TlsListener) {
    let TlsListener {
        name,
        listener,
        acceptor,
    } = tls;
    let acceptor = Arc::new(acceptor);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match timeout(HEAD_TIMEOUT, accept(&acceptor, stream)).await {
                        Ok(Ok(conn)) => handle(conn).await,
                        // Refused handshakes are what most TLS tests are after; one line each.
                        Ok(Err(e)) => eprintln!("rtws-testserver: TLS {name}: handshake: {e}"),
                        Err(_) => eprintln!("rtws-testserver: TLS {name}: handshake timed out"),
                    }
                });
            }
            Err(e) => {
                eprintln!("rtws-testserver: accept: {e}");
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The server side of the TLS handshake on `stream`.
async fn accept(acceptor: &SslAcceptor, stream: TcpStream) -> io::Result<Conn> {
    let ssl = Ssl::new(acceptor.context()).map_err(io::Error::other)?;
    let mut tls = SslStream::new(ssl, stream).map_err(io::Error::other)?;
    Pin::new(&mut tls)
        .accept()
        .await
        .map_err(io::Error::other)?;
    Ok(Conn::tls(tls))
}

impl Pki {
    fn generate() -> Result<Pki, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::DAY;
        let valid = (now - day, now + 30 * day);
        let expired = (now - 30 * day, now - day);
        let local = ["127.0.0.1", "::1", "localhost"];

        let ca_key = KeyPair::generate()?;
        let mut ca = params("rtws test CA", &[], valid)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_pem = ca.self_signed(&ca_key)?.pem();
        let ca = Issuer::new(ca, ca_key);

        let server = |name: &str, sans: &[&str], dates, signed: bool| {
            let mut p = params(&format!("rtws test {name}"), sans, dates)?;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            if signed {
                p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                leaf(p, Some(&ca))
            } else {
                // No key usage at all: with one lacking keyCertSign, OpenSSL would not take
                // the certificate as self-signed (neither for the error nor as a trust anchor).
                leaf(p, None)
            }
        };
        let servers = vec![
            server("valid", &local, valid, true)?,
            server("expired", &local, expired, true)?,
            server("wrongname", &["wrong.example"], valid, true)?,
            server("selfsigned", &["127.0.0.1", "localhost"], valid, false)?,
            server("clientauth", &local, valid, true)?,
        ];

        let mut client = params("rtws test client", &[], valid)?;
        client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = leaf(client, Some(&ca))?;

        Ok(Pki {
            ca: ca_pem,
            servers,
            client,
        })
    }

    /// Writes `ca.pem`, `<server>.pem` (certificates only), `client.pem`,
    /// `client-key.pem` and `client.p12`.
    fn write(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("ca.pem"), &self.ca)?;
        for (name, server) in SERVERS.iter().zip(&self.servers) {
            fs::write(dir.join(format!("{name}.pem")), &server.cert)?;
        }
        fs::write(dir.join("client.pem"), &self.client.cert)?;
        fs::write(dir.join("client-key.pem"), &self.client.key)?;
        let p12 = self.client_p12().map_err(io::Error::other)?;
        fs::write(dir.join("client.p12"), p12)
    }

    /// The client certificate, its key and the CA as PKCS#12 (OpenSSL's default algorithms).
    fn client_p12(&self) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut chain = Stack::new()?;
        chain.push(X509::from_pem(self.ca.as_bytes())?)?;
        let key = PKey::private_key_from_pem(self.client.key.as_bytes())?;
        let cert = X509::from_pem(self.client.cert.as_bytes())?;
        Pkcs12::builder()
            .name("rtws test client")
            .pkey(&key)
            .cert(&cert)
            .ca(chain)
            .build2(P12_PASSWORD)?
            .to_der()
    }
}

/// Parameters with common name `cn`, subject alternative names `sans` (IP addresses or DNS
/// names) and validity `dates`.
fn params(
    cn: &str,
    sans: &[&str],
    dates: (OffsetDateTime, OffsetDateTime),
) -> Result<CertificateParams, rcgen::Error> {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut p = CertificateParams::new(sans)?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    (p.not_before, p.not_after) = dates;
    Ok(p)
}

/// An end-entity certificate with a new key, signed by `ca` (else self-signed).
fn leaf(
    mut p: CertificateParams,
    ca: Option<&Issuer<'_, KeyPair>>,
) -> Result<CertKey, rcgen::Error> {
    let key = KeyPair::generate()?;
    p.is_ca = IsCa::ExplicitNoCa;
    let cert = match ca {
        Some(ca) => {
            p.use_authority_key_identifier_extension = true;
            p.signed_by(&key, ca)?
        }
        None => p.self_signed(&key)?,
    };
    Ok(CertKey {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}
