//! WebSocket test server for the rtws test suite and benchmark.
//!
//! Prints `PORT <n>` as its first stdout line, then serves until killed or until
//! `--exit-after-secs` elapses. The request path selects a behaviour (see `serve` and
//! `USAGE`). With `--tls-dir` the same routes are served over TLS too (see `tls`). With
//! `--proxy` it is an HTTP CONNECT proxy instead (see `proxy`).

mod autobahn;
mod conn;
mod faults;
mod fuzz;
#[allow(dead_code)] // the driver's half of the generator (checking a client) is unused here
mod fuzz_case;
mod proxy;
mod stream;
mod tls;

use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data as OpData, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::WebSocketStream;

use crate::conn::Conn;

type Ws = WebSocketStream<Conn>;

const USAGE: &str = "\
usage: rtws-testserver [--host 127.0.0.1] [--port 0] [--threads N] [--exit-after-secs S]
                      [--tls-dir DIR]
       rtws-testserver --proxy [--proxy-auth USER:PASS] [same options but --tls-dir]
Prints `PORT <n>` first. Routes (request path + query; K defaults to 0):
  /echo (any other path)       echo Text/Binary messages
  /close?after=K&code=C&reason=R
                               echo K, then close (with C/R if given), wait for reply
  /badutf8?after=K             echo K, then a Text frame with invalid UTF-8
  /big?after=K&size=N&type=text
                               echo K, then one N-byte message (default 1 MiB binary)
  /stream?bytes=N&frames=F&chunk=C&type=text&then=echo
                               one N-byte message (default 1 MiB binary, N up to 2^64-1,
                               bytes as /big) in F frames (default 1, sizes as equal as
                               possible), written C bytes at a time (default 65536, at
                               most 16 MiB) without building it in memory, reading
                               nothing meanwhile; then echo, or with then=close close
                               1000 and wait for the reply; a write stalled 120 s drops
                               the connection
  /vanish?after=K&rst=1        echo K, then FIN (RST with rst=1), no close frame
  /headers                     send the request headers as Text, then echo
  /flood?count=N&size=S        N binary messages of S bytes (default 1000 x 1024; N up to
                               10^6, S 4..1 MiB), each its index (u32 big-endian) then
                               bytes as /big, written as fast as the client reads (TCP
                               holds it back), reading nothing meanwhile; then echo
  /fragments?count=N&size=B&type=text&ping=0
                               one message in N fragments (default 3 x 1000, Ping
                               after the first unless ping=0), then echo
  /silent                      upgrade, then say nothing for 120 s
  /later?ms=N                  upgrade, wait N ms (default 300, at most 10 s), send the
                               text \"later\", then echo
  /nohandshake                 never answer the upgrade request (120 s)
  /status?code=C               plain HTTP status C (default 404), no upgrade
  /getCaseCount /runCase?case=N&agent=A /updateReports?agent=A
                               Autobahn fuzzingserver emulation (AUTOBAHN lines)
  ?proto=P on any upgrading route: answer subprotocol P (empty: none; default:
                               the client's first offer)
  /badaccept                   101 with a wrong Sec-WebSocket-Accept, hold 30 s
  /extensions?value=V          a valid 101 with Sec-WebSocket-Extensions: V, hold 30 s
  /garbage                     answer the upgrade with `SSH-2.0-nope`, then close
  /partial?after=K             echo K, then half a binary frame (header says 1000
                               bytes, 500 sent), then silence for 60 s (no reads)
  /reset?after=K&midmessage=1  echo K, [a frame header + 100 of 1000 payload bytes,
                               100 ms pause,] then RST (SO_LINGER 0)
  /pongs?window=MS             count unsolicited Pongs for MS ms (default 1000)
                               while echoing, then Text `pongs=N`, close 1000
  /ping?count=N&interval=MS    send N Pings `ping-0`.. every MS ms (default 3, 50),
                               wait up to 2 s for the Pongs, then Text `pongs=M`
                               (M = matching Pongs), close 1000
  /auth?user=U&pass=P          require `Authorization: Basic` U:P (default user:pass):
                               401 + WWW-Authenticate, connection kept open for a
                               retry (up to 5 requests); with it, upgrade and echo
  /fuzz?seed=S&case=N          peer-side protocol fuzzer: case N of seed S (decimal
                               u64s) answers the upgrade with a valid or mutated head
                               (wrong accept, no Upgrade/Connection, unoffered
                               subprotocol or extension, bare LF, HTTP status, garbage;
                               or split in pieces) and, past a good one, messages then a
                               close, the end of the stream, or a protocol fault (RSV
                               bits, reserved opcode, masked frame, long or fragmented
                               control, bad continuation, invalid UTF-8, bad close
                               payload or code, 64-bit length MSB, truncated frame),
                               written in random pieces; reads what the client sends
                               meanwhile, then prints `FUZZ seed=S case=N family=F
                               expect=E client=C` (E: the RFC 6455 outcome; C: what the
                               client sent). Cases: testserver/src/fuzz_case.rs
--tls-dir DIR: first makes a new test PKI (ECDSA P-256) and writes into DIR (created if
  missing, files replaced): ca.pem (test root CA), client.pem + client-key.pem (PKCS#8;
  clientAuth, signed by the CA), client.p12 (the same + ca, password `rtws`) and the
  server certificates NAME.pem (no keys). Then serves every route over TLS 1.2/1.3 too,
  one port per NAME (same --host), printed after `PORT <n>` as `TLS_PORT NAME <n>`:
  valid       signed by ca.pem; SAN 127.0.0.1, ::1, localhost; now-1d .. now+30d
  expired     as valid, but now-30d .. now-1d
  wrongname   as valid, but SAN wrong.example only
  selfsigned  self-signed (not by ca.pem); SAN 127.0.0.1, localhost; now-1d .. now+30d
  clientauth  as valid, and requires a client certificate signed by ca.pem
Proxy mode: HTTP CONNECT to 127.0.0.1 / ::1 / localhost only (else 403); prints
  `PROXY CONNECT host:port` per tunnel; --proxy-auth requires Proxy-Authorization
  Basic (else 407, connection kept open for a retry); tunnels idle 60 s are closed.";
/// How long /silent and /nohandshake keep a connection open.
const HOLD: Duration = Duration::from_secs(120);
/// A client that never completes its request head is dropped after this.
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

struct Args {
    host: String,
    port: u16,
    threads: usize,
    exit_after: Duration,
    /// `--proxy`: run the CONNECT proxy; `--proxy-auth` sets the required `user:pass`.
    proxy: bool,
    proxy_auth: Option<String>,
    /// `--tls-dir`: where the test PKI goes; also turns the TLS listeners on.
    tls_dir: Option<PathBuf>,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut args = Args {
            host: "127.0.0.1".into(),
            port: 0,
            threads: 1,
            exit_after: Duration::from_secs(900),
            proxy: false,
            proxy_auth: None,
            tls_dir: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--proxy" => {
                    args.proxy = true;
                    continue;
                }
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                _ => {}
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |_| format!("bad value for {flag}: {value}");
            match flag.as_str() {
                "--host" => args.host = value.clone(),
                "--port" => args.port = value.parse().map_err(bad)?,
                "--threads" => args.threads = value.parse().map_err(bad)?,
                "--exit-after-secs" => {
                    args.exit_after = Duration::from_secs(value.parse().map_err(bad)?)
                }
                "--proxy-auth" if value.contains(':') => args.proxy_auth = Some(value.clone()),
                "--proxy-auth" => return Err(format!("--proxy-auth wants USER:PASS, got {value}")),
                "--tls-dir" => args.tls_dir = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown argument {flag}")),
            }
        }
        if args.proxy_auth.is_some() && !args.proxy {
            return Err("--proxy-auth needs --proxy".into());
        }
        if args.tls_dir.is_some() && args.proxy {
            return Err("--tls-dir does not go with --proxy".into());
        }
        Ok(args)
    }
}

fn main() {
    let args = Args::parse().unwrap_or_else(|msg| {
        eprintln!("{msg}\n{USAGE}");
        std::process::exit(2);
    });
    raise_nofile_limit();
    let mut builder = if args.threads > 1 {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.threads);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder.enable_all().build().expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("rtws-testserver: {e}");
        std::process::exit(1);
    }
    // Don't wait for connections still being held (/silent etc.).
    runtime.shutdown_background();
}

/// 1,000+ simultaneous connections need more descriptors than the usual soft limit of 1024.
#[cfg(unix)]
fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the rlimit we own and pass by valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0
        || lim.rlim_cur >= lim.rlim_max
    {
        return;
    }
    let hard = lim.rlim_max;
    lim.rlim_cur = hard;
    // SAFETY: setrlimit only reads the valid rlimit we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        // macOS refuses an unlimited hard limit for descriptors; OPEN_MAX is its ceiling.
        lim.rlim_cur = hard.min(10240);
        // SAFETY: as above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

#[cfg(not(unix))]
fn raise_nofile_limit() {}

async fn run(args: Args) -> io::Result<()> {
    let addr: SocketAddr = (args.host.as_str(), args.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("cannot resolve {}", args.host)))?;
    let listener = bind(addr)?;
    let tls_listeners = match &args.tls_dir {
        Some(dir) => tls::listen(dir, addr)?,
        None => Vec::new(),
    };

    let mut out = io::stdout().lock();
    writeln!(out, "PORT {}", listener.local_addr()?.port())?;
    for tls in &tls_listeners {
        writeln!(
            out,
            "TLS_PORT {} {}",
            tls.name,
            tls.listener.local_addr()?.port()
        )?;
    }
    out.flush()?;
    drop(out);
    for tls in tls_listeners {
        tokio::spawn(tls::serve(tls));
    }

    let proxy_auth: Option<Arc<str>> = args.proxy_auth.as_deref().map(Arc::from);
    let accept_loop = async {
        loop {
            match listener.accept().await {
                Ok((stream, _)) if args.proxy => {
                    tokio::spawn(proxy::handle(stream, proxy_auth.clone()));
                }
                Ok((stream, _)) => {
                    tokio::spawn(handle(Conn::plain(stream)));
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    eprintln!("rtws-testserver: accept: {e}");
                    sleep(Duration::from_millis(10)).await;
                }
            }
        }
    };
    tokio::select! {
        () = accept_loop => {}
        () = sleep(args.exit_after) => eprintln!("rtws-testserver: exiting after {:?}", args.exit_after),
    }
    Ok(())
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// The parts of the upgrade request that routing needs.
struct Head {
    /// As sent, e.g. `GET` (the proxy needs `CONNECT`).
    method: String,
    /// The request target before any `?` (for CONNECT: `host:port`).
    path: String,
    query: Query,
    /// Lower-cased names, in the order received.
    headers: Vec<(String, String)>,
    /// Bytes of the request head on the wire.
    len: usize,
}

impl Head {
    /// The first header called `name` (lower case).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(s: &str) -> Query {
        let pairs = s.split('&').filter(|p| !p.is_empty()).map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        });
        Query(pairs.collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn is_text(&self) -> bool {
        self.get("type") == Some("text")
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if b[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Request heads longer than this are routed on their first `MAX_HEAD` bytes.
const MAX_HEAD: usize = 16 * 1024;

/// The length of the request head at the start of `buf` (through its blank line), if whole.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Peeks (without consuming) the request head, so routes that must not answer with
/// tungstenite's handshake can be told apart while tungstenite still sees the full request.
/// (`Conn::peek_head` does the same over TLS.)
async fn peek_head(stream: &TcpStream) -> io::Result<Option<Head>> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut seen = 0;
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(end) = head_end(&buf[..n]) {
            return Ok(Some(parse_head(&buf[..end])));
        }
        if n == buf.len() {
            // Oversized head: route on what we have and let tungstenite judge the rest.
            return Ok(Some(parse_head(&buf)));
        }
        if n == seen {
            // peek stays ready while unread data is queued, so wait for more by sleeping.
            sleep(Duration::from_millis(5)).await;
        }
        seen = n;
    }
}

fn parse_head(raw: &[u8]) -> Head {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split_whitespace();
    let method = request_line.next().unwrap_or("").to_string();
    let target = request_line.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Head {
        method,
        path: path.to_string(),
        query: Query::parse(query),
        headers,
        len: raw.len(),
    }
}

async fn handle(mut stream: Conn) {
    let _ = stream.tcp().set_nodelay(true);
    let head = match timeout(HEAD_TIMEOUT, stream.peek_head()).await {
        Ok(Ok(Some(head))) => head,
        _ => return,
    };
    let path = head.path.clone();
    match serve(stream, head).await {
        Err(e) if !is_abrupt_disconnect(&e) => eprintln!("rtws-testserver: {path}: {e}"),
        _ => {}
    }
}

/// Clients dropping the TCP connection are routine in tests and benchmarks; logging each
/// one would flood stderr (and could block the server on a pipe nobody drains).
fn is_abrupt_disconnect(e: &Error) -> bool {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match e {
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => true,
        Error::Io(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

async fn serve(mut stream: Conn, head: Head) -> Result<(), Error> {
    match head.path.as_str() {
        "/status" => return respond_status(stream, &head).await,
        "/nohandshake" => {
            // Consume the request (and anything after it) but never answer.
            let _ = timeout(HOLD, async {
                let mut buf = [0u8; 4096];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            })
            .await;
            return Ok(());
        }
        "/badaccept" => return faults::bad_accept(stream, &head).await,
        "/extensions" => {
            let value = head.query.get("value").unwrap_or("").to_owned();
            return faults::extensions(stream, &head, &value).await;
        }
        "/garbage" => return faults::garbage(stream, &head).await,
        "/auth" => return faults::auth(stream, head).await,
        "/fuzz" => return fuzz::serve(stream, &head).await,
        _ => {}
    }

    let mut ws = upgrade(stream, &head).await?;
    let q = &head.query;
    let after = q.num("after", 0usize);
    match head.path.as_str() {
        "/close" => {
            if let Echoed::Limit = echo(&mut ws, Some(after)).await? {
                let frame = q
                    .get("code")
                    .and_then(|c| c.parse::<u16>().ok())
                    .map(|code| CloseFrame {
                        code: CloseCode::from(code),
                        reason: q.get("reason").unwrap_or("").into(),
                    });
                close_and_drain(&mut ws, frame).await;
            }
        }
        "/badutf8" => {
            let mut end = echo(&mut ws, Some(after)).await?;
            if let Echoed::Limit = end {
                // A raw frame, because Message::Text cannot hold invalid UTF-8.
                let bad = Frame::message(
                    vec![0xC3, 0x28, 0xA0, 0xA1],
                    OpCode::Data(OpData::Text),
                    true,
                );
                ws.send(Message::Frame(bad)).await?;
                end = echo(&mut ws, None).await?;
            }
            if let Echoed::Closed(code) = end {
                eprintln!("rtws-testserver: /badutf8: client closed with code {code:?}");
            }
        }
        "/big" => {
            if let Echoed::Limit = echo(&mut ws, Some(after)).await? {
                let size = q.num("size", 1 << 20);
                let msg = if q.is_text() {
                    Message::text(text_pattern(size))
                } else {
                    Message::binary(binary_pattern(size))
                };
                ws.send(msg).await?;
                echo(&mut ws, None).await?;
            }
        }
        "/vanish" => {
            if let Echoed::Limit = echo(&mut ws, Some(after)).await? {
                if q.num("rst", 0u8) != 0 {
                    ws.get_ref().set_zero_linger()?;
                } else {
                    ws.get_mut().shutdown().await?;
                }
            }
        }
        "/headers" => {
            let list: String = head
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect();
            ws.send(Message::text(list)).await?;
            echo(&mut ws, None).await?;
        }
        "/flood" => {
            flood(&mut ws, q).await?;
            echo(&mut ws, None).await?;
        }
        "/fragments" => {
            send_fragments(&mut ws, q).await?;
            echo(&mut ws, None).await?;
        }
        "/stream" => stream::serve(&mut ws, q).await?,
        "/silent" => sleep(HOLD).await,
        "/later" => {
            sleep(Duration::from_millis(q.num("ms", 300u64).min(10_000))).await;
            ws.send(Message::text("later")).await?;
            echo(&mut ws, None).await?;
        }
        "/getCaseCount" | "/runCase" | "/updateReports" => {
            autobahn::serve(&mut ws, &head.path, q).await?
        }
        "/partial" => faults::partial(&mut ws, after).await?,
        "/reset" => faults::reset(&mut ws, after, q.num("midmessage", 0u8) != 0).await?,
        "/pongs" => faults::pongs(&mut ws, q.num("window", 1000)).await?,
        "/ping" => faults::ping(&mut ws, q.num("count", 3), q.num("interval", 50)).await?,
        _ => {
            echo(&mut ws, None).await?;
        }
    }
    Ok(())
}

/// The subprotocol to answer with: `?proto=P` (empty: none), else the client's first offer.
fn chosen_protocol(head: &Head) -> Option<String> {
    match head.query.get("proto") {
        Some("") => None,
        Some(name) => Some(name.to_string()),
        None => head
            .headers
            .iter()
            .find(|(k, _)| k == "sec-websocket-protocol")
            .and_then(|(_, v)| v.split(',').map(str::trim).find(|p| !p.is_empty()))
            .map(str::to_string),
    }
}

/// Completes the WebSocket handshake with tungstenite (answering `chosen_protocol`).
async fn upgrade(stream: Conn, head: &Head) -> Result<Ws, Error> {
    let proto = chosen_protocol(head);
    // The Err type is fixed by tungstenite's Callback trait.
    #[allow(clippy::result_large_err)]
    let add_protocol = move |_: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        if let Some(value) = proto.and_then(|p| HeaderValue::from_str(&p).ok()) {
            resp.headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, value);
        }
        Ok(resp)
    };
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    tokio_tungstenite::accept_hdr_async_with_config(stream, add_protocol, Some(config)).await
}

/// Answers with a plain HTTP status instead of upgrading; written by hand so that any
/// code (even 1xx/2xx, which tungstenite's ErrorResponse refuses) can be produced.
async fn respond_status(mut stream: Conn, head: &Head) -> Result<(), Error> {
    let status = StatusCode::from_u16(head.query.num("code", 404)).unwrap_or(StatusCode::NOT_FOUND);
    let mut resp = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: 0\r\nConnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Unknown")
    );
    if status == StatusCode::UNAUTHORIZED {
        resp.push_str("WWW-Authenticate: Basic realm=\"rtws\"\r\n");
    }
    resp.push_str("\r\n");
    // Consume the request first: closing with unread data would send RST, not FIN.
    stream.read_exact(&mut vec![0; head.len]).await?;
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

async fn send_fragments(ws: &mut Ws, q: &Query) -> Result<(), Error> {
    let count = q.num("count", 3usize).max(1);
    let size = q.num("size", 1000usize);
    let (first, payload) = if q.is_text() {
        (OpData::Text, text_pattern(count * size).into_bytes())
    } else {
        (OpData::Binary, binary_pattern(count * size))
    };
    for i in 0..count {
        let opcode = OpCode::Data(if i == 0 { first } else { OpData::Continue });
        let chunk = payload[i * size..(i + 1) * size].to_vec();
        ws.feed(Message::Frame(Frame::message(
            chunk,
            opcode,
            i + 1 == count,
        )))
        .await?;
        if i == 0 && count > 1 && q.num("ping", 1u8) != 0 {
            ws.feed(Message::Ping("p".into())).await?;
        }
    }
    ws.flush().await
}

/// `/flood`: at most this many messages, each at most this big.
const FLOOD_MAX_COUNT: usize = 1_000_000;
const FLOOD_MAX_SIZE: usize = 1 << 20;

/// `/flood?count=N&size=S`: N binary messages of S bytes, message i being i (u32 big-endian)
/// then the /big pattern, fed without waiting for anything but the socket's room.
async fn flood(ws: &mut Ws, q: &Query) -> Result<(), Error> {
    let count = q.num("count", 1000usize).min(FLOOD_MAX_COUNT);
    let size = q.num("size", 1024usize).clamp(4, FLOOD_MAX_SIZE);
    let tail = binary_pattern(size - 4);
    for i in 0..count {
        let mut msg = Vec::with_capacity(size);
        msg.extend_from_slice(&(i as u32).to_be_bytes());
        msg.extend_from_slice(&tail);
        ws.feed(Message::binary(msg)).await?;
    }
    ws.flush().await
}

fn binary_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn text_pattern(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

enum Echoed {
    /// The requested number of messages was echoed (and flushed).
    Limit,
    /// The peer closed; the close code it sent, if any.
    Closed(Option<u16>),
}

/// Echoes Text/Binary messages until `limit` have been echoed or the peer closes.
async fn echo(ws: &mut Ws, limit: Option<usize>) -> Result<Echoed, Error> {
    let mut echoed = 0;
    let mut close_code = None;
    loop {
        if limit == Some(echoed) {
            ws.flush().await?;
            return Ok(Echoed::Limit);
        }
        // Batch replies: only flush once no further message is already buffered.
        let next = match ws.next().now_or_never() {
            Some(next) => next,
            None => {
                ws.flush().await?;
                ws.next().await
            }
        };
        match next {
            // Keep polling after a Close so tungstenite gets to send its reply.
            None => return Ok(Echoed::Closed(close_code)),
            Some(Err(e)) => return Err(e),
            Some(Ok(msg @ (Message::Text(_) | Message::Binary(_)))) => {
                ws.feed(msg).await?;
                echoed += 1;
            }
            Some(Ok(Message::Close(frame))) => close_code = frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
        }
    }
}

/// Sends a Close frame and waits (bounded) for the peer's reply; true if it came.
async fn close_and_drain(ws: &mut Ws, frame: Option<CloseFrame>) -> bool {
    if ws.send(Message::Close(frame)).await.is_err() {
        return false;
    }
    let mut replied = false;
    let _ = timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(msg)) = ws.next().await {
            replied |= msg.is_close();
        }
    })
    .await;
    replied
}
