//! Misbehaving routes for the client's failure tests: broken handshakes, truncated
//! frames, connection resets, Ping/Pong accounting and HTTP Basic auth.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::conn::Conn;
use crate::{
    binary_pattern, chosen_protocol, close_and_drain, echo, upgrade, Echoed, Head, Ws, HEAD_TIMEOUT,
};

/// How long /badaccept keeps the connection after its bad 101.
const BAD_ACCEPT_HOLD: Duration = Duration::from_secs(30);
/// How long /partial stays silent after its half frame.
const PARTIAL_HOLD: Duration = Duration::from_secs(60);
/// /reset?midmessage=1: time for the client to take in the partial frame before the RST.
const RESET_PAUSE: Duration = Duration::from_millis(100);
/// /ping: how long to wait for outstanding Pongs after the last Ping.
const PONG_WAIT: Duration = Duration::from_secs(2);
/// /auth: requests answered (401) on one connection before it is closed.
const AUTH_ATTEMPTS: usize = 5;
/// After a final refusal: how long to drain the client before closing (FIN, not RST).
const LINGER: Duration = Duration::from_secs(5);

/// `/badaccept`: a well-formed `101 Switching Protocols` whose `Sec-WebSocket-Accept`
/// answers a different key, then the connection is held (reads discarded) up to 30 s.
pub async fn bad_accept(mut stream: Conn, head: &Head) -> Result<(), Error> {
    let key = head.header("sec-websocket-key").unwrap_or("");
    let wrong = derive_accept_key(format!("{key}-not-yours").as_bytes());
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {wrong}\r\n"
    );
    // Answer the subprotocol as usual, so the accept key is the only fault.
    if let Some(p) = chosen_protocol(head).filter(|p| !p.chars().any(char::is_control)) {
        resp.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    resp.push_str("\r\n");
    stream.read_exact(&mut vec![0; head.len]).await?;
    stream.write_all(resp.as_bytes()).await?;
    drain(&mut stream, BAD_ACCEPT_HOLD).await;
    Ok(())
}

/// `/extensions?value=V`: a valid `101` that also names the extension answer `V`
/// (`Sec-WebSocket-Extensions: V`), then the connection is held (reads discarded) up to
/// 30 s: how a client checks an answer it did not offer, or one beyond its offer.
pub async fn extensions(mut stream: Conn, head: &Head, value: &str) -> Result<(), Error> {
    let key = head.header("sec-websocket-key").unwrap_or("");
    let resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: {value}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.read_exact(&mut vec![0; head.len]).await?;
    stream.write_all(resp.as_bytes()).await?;
    drain(&mut stream, BAD_ACCEPT_HOLD).await;
    Ok(())
}

/// `/garbage`: answers the upgrade request with bytes that are not HTTP, then closes (FIN).
pub async fn garbage(mut stream: Conn, head: &Head) -> Result<(), Error> {
    stream.read_exact(&mut vec![0; head.len]).await?;
    stream.write_all(b"SSH-2.0-nope\r\n\r\n").await?;
    stream.shutdown().await?;
    drain(&mut stream, LINGER).await;
    Ok(())
}

/// Reads and discards until EOF, an error or `limit`.
async fn drain(stream: &mut Conn, limit: Duration) {
    let _ = timeout(limit, async {
        let mut buf = [0u8; 4096];
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// A server-to-client binary frame header (FIN set, no mask) announcing `len` < 64 KiB.
fn binary_header(len: u16) -> Vec<u8> {
    let [hi, lo] = len.to_be_bytes();
    vec![0x82, 126, hi, lo]
}

/// `/partial?after=K`: echoes K messages, then sends the header of a 1000-byte binary
/// frame and only 500 payload bytes, then goes silent for 60 s without reading.
pub async fn partial(ws: &mut Ws, after: usize) -> Result<(), Error> {
    if let Echoed::Limit = echo(ws, Some(after)).await? {
        // Raw bytes: tungstenite cannot frame a lie. `echo` flushed its own buffer.
        let mut raw = binary_header(1000);
        raw.extend(binary_pattern(500));
        ws.get_mut().write_all(&raw).await?;
        sleep(PARTIAL_HOLD).await;
    }
    Ok(())
}

/// `/reset?after=K&midmessage=1`: echoes K messages; with `midmessage`, sends the header
/// of a 1000-byte binary frame and 100 payload bytes and pauses 100 ms; then resets the
/// connection (SO_LINGER 0, then the caller drops the socket), so the client sees ECONNRESET.
pub async fn reset(ws: &mut Ws, after: usize, midmessage: bool) -> Result<(), Error> {
    if let Echoed::Limit = echo(ws, Some(after)).await? {
        if midmessage {
            let mut raw = binary_header(1000);
            raw.extend(binary_pattern(100));
            ws.get_mut().write_all(&raw).await?;
            sleep(RESET_PAUSE).await;
        }
        ws.get_ref().set_zero_linger()?;
    }
    Ok(())
}

fn normal_close() -> Option<CloseFrame> {
    Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    })
}

/// `/pongs?window=MS`: for MS ms counts the (unsolicited) Pong frames the client sends,
/// echoing Text/Binary meanwhile; then sends Text `pongs=N` and closes with 1000.
pub async fn pongs(ws: &mut Ws, window_ms: u64) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_millis(window_ms);
    let mut pongs = 0usize;
    while let Ok(next) = timeout_at(deadline, ws.next()).await {
        match next {
            None => return Ok(()),
            Some(Err(e)) => return Err(e),
            Some(Ok(Message::Pong(_))) => pongs += 1,
            Some(Ok(msg @ (Message::Text(_) | Message::Binary(_)))) => ws.send(msg).await?,
            // A Close is answered by tungstenite; the stream then ends.
            Some(Ok(_)) => {}
        }
    }
    ws.send(Message::text(format!("pongs={pongs}"))).await?;
    close_and_drain(ws, normal_close()).await;
    Ok(())
}

/// `/ping?count=N&interval=MS`: sends N Pings with payloads `ping-0`, `ping-1`, … every
/// MS ms (the first at once), echoing Text/Binary meanwhile; waits up to 2 s after the
/// last Ping for the Pongs; then sends Text `pongs=M` (M = Pings answered by a Pong with
/// the same payload, each counted once) and closes with 1000.
pub async fn ping(ws: &mut Ws, count: usize, interval_ms: u64) -> Result<(), Error> {
    let interval = Duration::from_millis(interval_ms);
    let payload = |i: usize| format!("ping-{i}");
    let mut answered = vec![false; count];
    let (mut sent, mut matched) = (0, 0);
    let mut wake = Instant::now();
    while matched < count {
        tokio::select! {
            () = sleep_until(wake) => {
                if sent == count {
                    break; // PONG_WAIT is over
                }
                ws.send(Message::Ping(payload(sent).into())).await?;
                sent += 1;
                wake = Instant::now() + if sent == count { PONG_WAIT } else { interval };
            }
            next = ws.next() => match next {
                None => return Ok(()),
                Some(Err(e)) => return Err(e),
                Some(Ok(Message::Pong(data))) => {
                    if let Some(i) = (0..sent).find(|&i| !answered[i] && data.as_ref() == payload(i).as_bytes()) {
                        answered[i] = true;
                        matched += 1;
                    }
                }
                Some(Ok(msg @ (Message::Text(_) | Message::Binary(_)))) => ws.send(msg).await?,
                Some(Ok(_)) => {}
            }
        }
    }
    ws.send(Message::text(format!("pongs={matched}"))).await?;
    close_and_drain(ws, normal_close()).await;
    Ok(())
}

/// True if `value` (an `Authorization` / `Proxy-Authorization` header) is HTTP Basic
/// credentials equal to `expected` (`user:pass`).
pub fn basic_auth_ok(value: Option<&str>, expected: &str) -> bool {
    let Some((scheme, creds)) = value.and_then(|v| v.trim().split_once(' ')) else {
        return false;
    };
    scheme.eq_ignore_ascii_case("basic")
        && data_encoding::BASE64
            .decode(creds.trim().as_bytes())
            .is_ok_and(|c| c == expected.as_bytes())
}

/// True if the request's `Connection` header lists `close`.
pub fn wants_close(head: &Head) -> bool {
    head.header("connection")
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
}

/// `/auth?user=U&pass=P` (defaults `user`, `pass`): upgrades and echoes only with
/// `Authorization: Basic base64(U:P)`. Otherwise answers `401` with
/// `WWW-Authenticate: Basic realm="rtws"` and keeps the connection open (HTTP/1.1
/// keep-alive) for a retried request, which is checked against the same U:P; after the
/// 5th refusal, or if the request said `Connection: close`, the 401 says
/// `Connection: close` and the connection is closed.
pub async fn auth(mut stream: Conn, mut head: Head) -> Result<(), Error> {
    let user = head.query.get("user").unwrap_or("user");
    let pass = head.query.get("pass").unwrap_or("pass");
    let expected = format!("{user}:{pass}");
    for attempt in 1..=AUTH_ATTEMPTS {
        if basic_auth_ok(head.header("authorization"), &expected) {
            let mut ws = upgrade(stream, &head).await?;
            echo(&mut ws, None).await?;
            return Ok(());
        }
        let keep_alive = attempt < AUTH_ATTEMPTS && !wants_close(&head);
        let resp = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"rtws\"\r\n\
             Content-Length: 0\r\n{}\r\n",
            if keep_alive {
                ""
            } else {
                "Connection: close\r\n"
            }
        );
        stream.read_exact(&mut vec![0; head.len]).await?;
        stream.write_all(resp.as_bytes()).await?;
        if !keep_alive {
            break;
        }
        head = match timeout(HEAD_TIMEOUT, stream.peek_head()).await {
            Ok(Ok(Some(next))) => next,
            _ => return Ok(()),
        };
    }
    stream.shutdown().await?;
    drain(&mut stream, LINGER).await;
    Ok(())
}
