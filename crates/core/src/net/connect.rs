//! Resolving a host and connecting to it over TCP: at most `MAX_ADDRESSES`
//! addresses, in the resolver's order, each within the connect timeout.
//!
//! May import: `rtws-types` (and tokio). Nothing above `net`.

use rtws_types::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

/// The seed's documented limit: at most 5 addresses tried for one name.
pub const MAX_ADDRESSES: usize = 5;

/// Resolves `host` and connects to the first of its addresses (at most
/// `MAX_ADDRESSES`, in the resolver's order) that answers, each attempt within
/// `limit`; `send_buffer_size` sets SO_SNDBUF before connecting.
pub async fn connect_host(
    socket: u64,
    host: &str,
    port: u16,
    send_buffer_size: Option<u32>,
    limit: Duration,
) -> Result<TcpStream> {
    log::debug!(target: "rtws::connect", "socket {socket}: resolving {host}");
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            Error::new(
                WININET_E_NAME_NOT_RESOLVED,
                format!("cannot resolve host name '{host}': {e}"),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::new(
            WININET_E_NAME_NOT_RESOLVED,
            format!("host name '{host}' has no address"),
        ));
    }
    connect_any(socket, addrs, send_buffer_size, limit).await
}

/// Tries the addresses in order (at most `MAX_ADDRESSES`); the last failure wins.
async fn connect_any(
    socket: u64,
    addrs: Vec<SocketAddr>,
    send_buffer_size: Option<u32>,
    limit: Duration,
) -> Result<TcpStream> {
    let mut last = None;
    for addr in addrs.into_iter().take(MAX_ADDRESSES) {
        log::debug!(target: "rtws::connect", "socket {socket}: connecting to {addr}");
        match connect_one(addr, send_buffer_size, limit).await {
            Ok(s) => return Ok(s),
            Err(e) => {
                log::debug!(target: "rtws::connect", "socket {socket}: {e}");
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::new(WININET_E_NAME_NOT_RESOLVED, "no address to connect to")))
}

async fn connect_one(
    addr: SocketAddr,
    send_buffer_size: Option<u32>,
    limit: Duration,
) -> Result<TcpStream> {
    let during = |e: std::io::Error| Error::from_io(&e, &format!("connecting to {addr}"));
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(during)?;
    if let Some(size) = send_buffer_size {
        socket.set_send_buffer_size(size).map_err(during)?;
    }
    let stream = timeout(limit, socket.connect(addr))
        .await
        .map_err(|_| Error::new(WININET_E_TIMEOUT, format!("connecting to {addr} timed out")))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => Error::new(
                WININET_E_CANNOT_CONNECT,
                format!("connecting to {addr}: connection refused"),
            ),
            _ => during(e),
        })?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback ports where nothing listens (bound, then released).
    fn closed_ports(n: usize) -> Vec<SocketAddr> {
        let listeners: Vec<_> = (0..n)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        listeners.iter().map(|l| l.local_addr().unwrap()).collect()
    }

    #[test]
    fn addresses_are_tried_in_order_at_most_five() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let limit = Duration::from_secs(5);
            // Refused, refused, then the listener: the third address connects.
            let mut addrs = closed_ports(2);
            addrs.push(open.local_addr().unwrap());
            let s = connect_any(0, addrs, None, limit).await.unwrap();
            assert_eq!(s.peer_addr().unwrap(), open.local_addr().unwrap());
            // Five refusals first: the sixth address is never tried.
            let mut addrs = closed_ports(5);
            addrs.push(open.local_addr().unwrap());
            let e = connect_any(0, addrs, None, limit).await.unwrap_err();
            assert_eq!(e.hr, WININET_E_CANNOT_CONNECT);
            assert_eq!(MAX_ADDRESSES, 5);
        });
    }
}
