//! Connect and upgrade: from a `Target` (the socket's settings, frozen at
//! ConnectAsync) to an `Established` connection whose wire holds whatever the
//! server sent after its 101 answer: TCP (through the proxy if any), TLS, the
//! host's verdict on the server, the opening handshake, one retry with a Basic
//! credential after a 401.
//!
//! May import: `net`, `rtws-protocol`, `rtws-types`. Never `winrt`.

use crate::net::connect::connect_host;
use crate::net::protocol_errors;
use crate::net::proxy::Proxy;
use crate::net::tls::{self, PeerChain, TlsSettings};
use crate::net::traffic::Traffic;
use crate::net::wire::{self, Io, Wire};
use bytes::BytesMut;
use rtws_protocol::deflate::{Agreed, Offer};
use rtws_protocol::handshake::{self, Refusal};
use rtws_types::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// What `ConnectAsync` needs, taken from the socket when it is called.
pub struct Target {
    /// The socket's number, naming it in the log.
    pub socket: u64,
    pub uri: http::Uri,
    pub host: String,
    pub port: u16,
    pub headers: Vec<(String, String)>,
    pub protocols: Vec<String>,
    /// permessage-deflate, when the host asked to offer it (an rtws extension).
    pub deflate: Option<Offer>,
    pub send_buffer_size: Option<u32>,
    pub no_delay: bool,
    /// `wss:`: the TLS settings (Control, frozen at connect).
    pub tls: Option<TlsSettings>,
    /// `wss:`: raises ServerCustomValidationRequested once TLS accepted the server.
    pub validate: Option<Validate>,
    pub timing: Timing,
    /// Answers a `401` Basic challenge (Control.ServerCredential).
    pub server_credential: Option<Credential>,
    /// The HTTP proxy to tunnel through, and its credential (Control.ProxyCredential).
    pub proxy: Option<Proxy>,
    pub proxy_credential: Option<Credential>,
}

/// Asks the host about the server TLS accepted (ServerCustomValidationRequested):
/// the future ends with its verdict, true to go on.
pub type Validate =
    Arc<dyn Fn(PeerChain) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// A user name and password (from a `PasswordCredential`).
#[derive(Clone)]
pub struct Credential {
    pub user: String,
    pub password: String,
}

/// Timeouts and keepalive of one connection (Control settings, frozen at connect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Each TCP connect attempt, and the opening handshake (seed: 60 s).
    pub connect: Duration,
    /// How long queued output may make no progress before the connection fails
    /// with `WININET_E_TIMEOUT` (seed: 30 s for sends).
    pub send: Duration,
    /// How long a message that has begun to arrive may receive no byte before the
    /// connection fails with `WININET_E_TIMEOUT` (seed: 30 s for receives). An
    /// idle connection between messages never times out.
    pub receive: Duration,
    /// The interval of unsolicited pongs (one-way heartbeat); zero: none.
    pub pong_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect: Duration::from_secs(60),
            send: Duration::from_secs(30),
            receive: Duration::from_secs(30),
            pong_interval: Duration::ZERO,
        }
    }
}

/// What a successful connect learned.
pub struct Established {
    pub wire: Wire,
    /// `wss:`: what TLS showed of the server.
    pub trust: Option<PeerChain>,
    pub traffic: Arc<Traffic>,
    pub protocol: String,
    /// permessage-deflate's parameters, when offered and accepted.
    pub deflate: Option<Agreed>,
    pub local_address: String,
}

/// Resolves, connects (up to `net::connect::MAX_ADDRESSES`, each within the connect timeout) and
/// performs the opening handshake (within the connect timeout too). A `401` with a
/// Basic challenge is answered once, on a new connection, when the socket has a
/// server credential.
pub async fn establish(target: Target) -> Result<Established> {
    let socket = target.socket;
    // Never the query (it may carry a token) nor a header value or credential.
    log::info!(
        target: "rtws::connect",
        "socket {socket}: connecting to {}://{}:{}{}",
        if target.tls.is_some() { "wss" } else { "ws" },
        target.uri.host().unwrap_or_default(),
        target.port,
        target.uri.path()
    );
    let result = match handshake(&target, None).await {
        Err(Rejected::Unauthorized(e, basic)) => match (&target.server_credential, basic) {
            (Some(cred), true) => {
                log::info!(
                    target: "rtws::connect",
                    "socket {socket}: 401 with a Basic challenge: retrying with the ServerCredential"
                );
                let auth = basic_authorization(&cred.user, &cred.password);
                handshake(&target, Some(&auth))
                    .await
                    .map_err(Rejected::into_error)
            }
            _ => Err(e),
        },
        other => other.map_err(Rejected::into_error),
    };
    match &result {
        Ok(est) => log::info!(
            target: "rtws::connect",
            "socket {socket}: connected from {}, subprotocol '{}'",
            est.local_address,
            est.protocol
        ),
        Err(e) => log::warn!(target: "rtws::connect", "socket {socket}: connect failed: {e}"),
    }
    result
}

/// Why a handshake failed: a 401 (and whether it offered Basic) is worth a retry.
enum Rejected {
    Unauthorized(Error, bool),
    Failed(Error),
}

impl Rejected {
    fn into_error(self) -> Error {
        match self {
            Rejected::Unauthorized(e, _) | Rejected::Failed(e) => e,
        }
    }
}

impl From<Error> for Rejected {
    fn from(e: Error) -> Self {
        Rejected::Failed(e)
    }
}

fn basic_authorization(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!("Basic {}", data_encoding::BASE64.encode(pair.as_bytes()))
}

/// A TCP connection to the server, or a CONNECT tunnel to it through the proxy;
/// with the bytes already read past the proxy's answer.
async fn open_tcp(target: &Target) -> Result<(TcpStream, BytesMut)> {
    let Some(proxy) = &target.proxy else {
        let stream = connect_host(
            target.socket,
            &target.host,
            target.port,
            target.send_buffer_size,
            target.timing.connect,
        )
        .await?;
        return Ok((stream, BytesMut::new()));
    };
    log::info!(
        target: "rtws::connect",
        "socket {}: through the HTTP proxy {}:{}",
        target.socket,
        proxy.host,
        proxy.port
    );
    let mut stream = connect_host(
        target.socket,
        &proxy.host,
        proxy.port,
        target.send_buffer_size,
        target.timing.connect,
    )
    .await?;
    let credential = target.proxy_credential.clone().or_else(|| {
        proxy.userinfo.as_ref().map(|(user, password)| Credential {
            user: user.clone(),
            password: password.clone(),
        })
    });
    let auth = credential.map(|c| basic_authorization(&c.user, &c.password));
    let rest = crate::net::proxy::tunnel(
        &mut stream,
        &target.host,
        target.port,
        auth.as_deref(),
        target.timing.connect,
    )
    .await?;
    Ok((stream, rest))
}

async fn handshake(
    target: &Target,
    authorization: Option<&str>,
) -> std::result::Result<Established, Rejected> {
    let (stream, already_read) = open_tcp(target).await?;
    // Control.NoDelay (true by default): output is already batched per write, so
    // Nagle would only delay it.
    stream
        .set_nodelay(target.no_delay)
        .map_err(|e| Error::from_io(&e, "setting TCP_NODELAY"))?;
    let traffic = Traffic::new();
    let local_address = stream
        .local_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();

    // Names, values and subprotocols were checked when they were set.
    let upgrade = handshake::request(
        &target.uri,
        &target.headers,
        &target.protocols,
        target.deflate.as_ref(),
        authorization,
    );
    let (io, trust) = match &target.tls {
        None => (Io::Plain(stream), None),
        Some(settings) => {
            if !already_read.is_empty() {
                return Err(Error::new(
                    WININET_E_INVALID_SERVER_RESPONSE,
                    "the proxy sent data past its answer, before the TLS handshake",
                )
                .into());
            }
            log::debug!(
                target: "rtws::connect",
                "socket {}: TLS handshake with {}",
                target.socket,
                target.host
            );
            let (tls, trust) = timeout(
                target.timing.connect,
                tls::connect(stream, &target.host, settings),
            )
            .await
            .map_err(|_| {
                Error::new(
                    WININET_E_TIMEOUT,
                    "the server did not complete the TLS handshake in time",
                )
            })??;
            log::debug!(
                target: "rtws::connect",
                "socket {}: TLS established; certificate errors found (all ignorable): {:?}",
                target.socket,
                trust.errors
            );
            if let Some(raise) = &target.validate {
                log::debug!(
                    target: "rtws::connect",
                    "socket {}: raising ServerCustomValidationRequested",
                    target.socket
                );
                let accepted = timeout(target.timing.connect, raise(trust.clone()))
                    .await
                    .map_err(|_| {
                        Error::new(
                            WININET_E_TIMEOUT,
                            "a ServerCustomValidationRequested deferral was not completed within ConnectTimeout",
                        )
                    })?;
                if !accepted {
                    return Err(Error::new(
                        WININET_E_SEC_INVALID_CERT,
                        "a ServerCustomValidationRequested handler rejected the server's certificate",
                    )
                    .into());
                }
            }
            (Io::Tls(Box::new(tls)), Some(trust))
        }
    };
    let mut wire = Wire::new(io, already_read, traffic.clone());
    log::debug!(
        target: "rtws::connect",
        "socket {}: sending the upgrade request",
        target.socket
    );
    let exchange = async {
        wire.send_all(&upgrade.bytes)
            .await
            .map_err(|e| wire::io_error(&e, "sending the upgrade request"))?;
        wire.read_head().await
    };
    let head = timeout(target.timing.connect, exchange)
        .await
        .map_err(|_| {
            Error::new(
                WININET_E_TIMEOUT,
                "the server did not complete the WebSocket handshake in time",
            )
        })??;
    let accepted = match handshake::verify(&head, &upgrade) {
        Ok(accepted) => accepted,
        Err(Refusal::Invalid(e)) => return Err(protocol_errors::invalid_response(e).into()),
        Err(Refusal::Status { code, basic }) => {
            let e = Error::new(
                http_status_hresult(code),
                format!("the server answered the upgrade request with HTTP status {code}"),
            );
            return Err(if code == 401 {
                Rejected::Unauthorized(e, basic)
            } else {
                Rejected::Failed(e)
            });
        }
    };
    Ok(Established {
        // Every byte after the response head is still in the wire's buffer.
        wire,
        trust,
        protocol: accepted.protocol,
        deflate: accepted.deflate,
        local_address,
        traffic,
    })
}
