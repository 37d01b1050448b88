//! `--proxy` mode: a minimal HTTP CONNECT proxy, so the client's proxy support can be
//! tested on loopback. Only 127.0.0.1, ::1 and localhost targets are allowed (others get
//! 403). Each tunnel is announced on stdout as `PROXY CONNECT host:port` before the 200
//! goes out. With `--proxy-auth user:pass`, a CONNECT without matching
//! `Proxy-Authorization: Basic …` gets 407 and the connection stays open for a retry;
//! every other refusal closes it. Tunnels with no traffic either way for 60 s are closed.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};

use crate::faults::{basic_auth_ok, wants_close};
use crate::{peek_head, Head, HEAD_TIMEOUT};

/// A tunnel with no bytes moving either way for this long is closed.
const TUNNEL_IDLE: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests answered (407) on one connection before it is closed.
const MAX_REQUESTS: usize = 5;
/// After a final refusal: how long to drain the client before closing (FIN, not RST).
const LINGER: Duration = Duration::from_secs(5);

/// Serves one client connection of the proxy; `auth` is the required `user:pass`.
pub async fn handle(mut client: TcpStream, auth: Option<Arc<str>>) {
    let _ = client.set_nodelay(true);
    for attempt in 1..=MAX_REQUESTS {
        let head = match timeout(HEAD_TIMEOUT, peek_head(&client)).await {
            Ok(Ok(Some(head))) => head,
            _ => return,
        };
        // Consume exactly the head: bytes the client sent after it belong to the tunnel.
        if client.read_exact(&mut vec![0; head.len]).await.is_err() {
            return;
        }
        let refusal = match open_tunnel(&head, auth.as_deref()).await {
            Ok(target) => {
                announce(&head.path);
                let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
                if client.write_all(ok).await.is_ok() {
                    pipe(client, target).await;
                }
                return;
            }
            Err(refusal) => refusal,
        };
        let retry = refusal.retry && attempt < MAX_REQUESTS && !wants_close(&head);
        let resp = format!(
            "HTTP/1.1 {}\r\n{}Content-Length: 0\r\n{}\r\n",
            refusal.status,
            refusal.extra,
            if retry { "" } else { "Connection: close\r\n" }
        );
        if client.write_all(resp.as_bytes()).await.is_err() || !retry {
            break;
        }
    }
    let _ = client.shutdown().await;
    let _ = timeout(LINGER, async {
        let mut buf = [0u8; 4096];
        while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

struct Refusal {
    status: &'static str,
    /// Extra header lines, each ending in CRLF.
    extra: &'static str,
    /// Keep the connection open for another request.
    retry: bool,
}

impl Refusal {
    fn new(status: &'static str) -> Refusal {
        Refusal {
            status,
            extra: "",
            retry: false,
        }
    }
}

/// Checks the CONNECT request and connects to its target.
async fn open_tunnel(head: &Head, auth: Option<&str>) -> Result<TcpStream, Refusal> {
    if head.method != "CONNECT" {
        return Err(Refusal {
            extra: "Allow: CONNECT\r\n",
            ..Refusal::new("405 Method Not Allowed")
        });
    }
    if let Some(expected) = auth {
        if !basic_auth_ok(head.header("proxy-authorization"), expected) {
            return Err(Refusal {
                status: "407 Proxy Authentication Required",
                extra: "Proxy-Authenticate: Basic realm=\"rtws\"\r\n",
                retry: true,
            });
        }
    }
    let (host, port) = split_target(&head.path).ok_or(Refusal::new("400 Bad Request"))?;
    let addrs = loopback_addrs(host, port).ok_or(Refusal::new("403 Forbidden"))?;
    for addr in addrs {
        if let Ok(Ok(target)) = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            let _ = target.set_nodelay(true);
            return Ok(target);
        }
    }
    Err(Refusal::new("502 Bad Gateway"))
}

/// `host:port` or `[v6]:port`.
fn split_target(target: &str) -> Option<(&str, u16)> {
    let (host, port) = match target.strip_prefix('[') {
        Some(rest) => rest.split_once("]:")?,
        None => target.rsplit_once(':')?,
    };
    Some((host, port.parse().ok()?))
}

/// The addresses to try for an allowed (loopback) target; None if not allowed.
fn loopback_addrs(host: &str, port: u16) -> Option<Vec<SocketAddr>> {
    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port);
    if host.eq_ignore_ascii_case("localhost") {
        return Some(vec![v4, v6]);
    }
    match host.parse::<IpAddr>().ok()? {
        IpAddr::V4(ip) if ip == Ipv4Addr::LOCALHOST => Some(vec![v4]),
        IpAddr::V6(ip) if ip == Ipv6Addr::LOCALHOST => Some(vec![v6]),
        _ => None,
    }
}

fn announce(target: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "PROXY CONNECT {target}");
    let _ = out.flush();
}

/// Copies bytes both ways until both directions have ended or the tunnel has been idle
/// for `TUNNEL_IDLE`. A direction that ends with EOF is passed on as a half-close; one
/// that ends with an error (e.g. a reset) resets both connections, so the client sees
/// what the server did.
async fn pipe(mut client: TcpStream, mut target: TcpStream) {
    let last_activity = Activity::new();
    let reset = {
        let (client_rd, client_wr) = client.split();
        let (target_rd, target_wr) = target.split();
        let mut up = pin!(copy(client_rd, target_wr, &last_activity));
        let mut down = pin!(copy(target_rd, client_wr, &last_activity));
        let (mut up_done, mut down_done) = (false, false);
        loop {
            let idle = async {
                loop {
                    let deadline = last_activity.last() + TUNNEL_IDLE;
                    if Instant::now() >= deadline {
                        break;
                    }
                    sleep_until(deadline).await;
                }
            };
            tokio::select! {
                ok = &mut up, if !up_done => {
                    up_done = true;
                    if !ok {
                        break true;
                    }
                }
                ok = &mut down, if !down_done => {
                    down_done = true;
                    if !ok {
                        break true;
                    }
                }
                () = idle => break false,
            }
            if up_done && down_done {
                break false;
            }
        }
    };
    if reset {
        let _ = client.set_zero_linger();
        let _ = target.set_zero_linger();
    }
}

/// Copies until EOF (then shuts `to` down; returns true) or an error (returns false).
async fn copy(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    last_activity: &Activity,
) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => return false,
        };
        last_activity.touch();
        if to.write_all(&buf[..n]).await.is_err() {
            return false;
        }
        last_activity.touch();
    }
    let _ = to.shutdown().await;
    true
}

/// When bytes last moved through a tunnel (shared by both directions).
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}
