//! The baseline of the rtws benchmark: a plain tokio-tungstenite 0.30 client doing what
//! `bench/bench_rtws.c` does through rtws, with the same sizes and counts, measured the
//! same way (see bench/README.md).
//!
//! ```text
//! rtws-bench-raw URL latency N             [--flavor current|multi] [--threads T] [--max-secs S]
//! rtws-bench-raw URL pipelined N INFLIGHT  [...]
//! rtws-bench-raw URL bulk N SIZE           [...]
//! rtws-bench-raw URL connections N         [...]
//! rtws-bench-raw URL stream TOTAL CHUNK     [--window W] [...]
//! ```
//!
//! URL is `ws://HOST:PORT/PATH`, or `wss://HOST:PORT/PATH` for the same over TLS:
//! native-tls (the system's OpenSSL on Linux) through tokio-native-tls, with one
//! `TlsConnector` built before anything is measured and shared by every connection (as
//! an idiomatic client does), then `client_async_with_config` over the TLS stream (what
//! tokio-tungstenite's `client_async_tls_with_config` does with `Connector::NativeTls`).
//! `--ca FILE` adds the PEM certificates in FILE as trusted roots (the test server's
//! `ca.pem`); the system's roots stay trusted, and hostname/IP verification is on.
//! The TLS stream writes as many records per write as the socket takes (`TlsIo`: stock,
//! tungstenite's large sends over TLS are quadratic); `--stock-tls-writes` restores
//! one record per write.
//! Over wss every metric name gets a `wss_` prefix (`wss_connections_per_s`, ...).
//!
//! Output: `RESULT client=raw flavor=F threads=T mode=M metric=NAME value=V n=COUNT`.
//! Every measured loop stops at N or after `--max-secs` (default 60), whichever comes
//! first; a watchdog thread ends the process if something hangs anyway.
//!
//! The client is idiomatic tokio-tungstenite: `send` (feed + flush) for one message in
//! flight; for pipelining the same batching the test server uses (`feed` each message,
//! `flush` only when no further message is already readable). Pipelined runs two variants
//! on the same connection, as bench_rtws does: one send per echo, then "hbatch", which
//! refills the window only once INFLIGHT/2 slots are free (`--batch B` runs just one,
//! with batch B). The config only lifts the
//! message/frame size limits (16 MiB is exactly the default frame limit) — as rtws does;
//! `--read-buffer B` (default: tungstenite's 128 KiB) exists to reproduce rtws's choice.
//!
//! `connections` opens N connections at once (one spawned task per connection: TCP
//! connect + handshake, then it waits for the next message, as a receiving client does,
//! until told to close; all joined at the end): connections/s = N / time from the first
//! spawn to the last handshake reported; then, with all N open and idle, (VmRSS - VmRSS
//! before opening them) / N in KiB, the first reading taken after one connect/close warmed
//! the runtime up; then every connection is closed (close frame, then read until the
//! server's close, 10 s at most). `--no-read` leaves the open connections unpolled (so
//! tungstenite never allocates their read buffers).
//!
//! `stream` sends TOTAL bytes as binary messages of CHUNK bytes (the first byte of each
//! carries the chunk's index mod 256) while reading the echoes concurrently: the
//! connection is `split`, a spawned writer task `send`s (feed + flush: one message
//! handed to the socket at a time, the sink's own backpressure) and keeps at most
//! `--window` (default 16) chunks outstanding (sent, echo not yet back) through a
//! semaphore the reader refills; the reader checks each echo's length and index byte.
//! Each message is a fresh copy of the pattern (bench_rtws makes a new IBuffer per
//! write). MB/s = (bytes sent that came back + bytes received) / s / 10^6 from the first
//! send to the last echo, as bulk counts; peak RSS = VmHWM after the run.

use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

/// A connection over plain TCP (ws://) or TLS (wss://): the benchmark loops are generic
/// over the stream, so the plain path runs on a bare `TcpStream` as before.
type Ws<S> = WebSocketStream<S>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// How a connection is made: TCP + handshake, or TCP + TLS + handshake.
trait Dial: Clone + Send + Sync + 'static {
    type S: Io;
    fn dial(
        &self,
        url: &str,
        config: WebSocketConfig,
    ) -> impl Future<Output = Result<Ws<Self::S>, BoxError>> + Send;
}

/// ws://
#[derive(Clone)]
struct Plain;

impl Dial for Plain {
    type S = TcpStream;
    fn dial(
        &self,
        url: &str,
        config: WebSocketConfig,
    ) -> impl Future<Output = Result<Ws<TcpStream>, BoxError>> + Send {
        connect(url, config)
    }
}

/// wss://: one native-tls connector (the system's OpenSSL), shared by every connection;
/// `stock`: `--stock-tls-writes` (see `TlsIo`).
#[derive(Clone)]
struct Tls {
    connector: tokio_native_tls::TlsConnector,
    stock: bool,
}

impl Dial for Tls {
    type S = TlsIo;
    fn dial(
        &self,
        url: &str,
        config: WebSocketConfig,
    ) -> impl Future<Output = Result<Ws<Self::S>, BoxError>> + Send {
        connect_tls(url, config, self)
    }
}

/// The TLS stream tungstenite writes into. OpenSSL (in the partial-write mode that the
/// openssl crate, and so native-tls, sets) returns from each `SSL_write` after one
/// record, at most 16 KiB, and tungstenite drains what was written from the front of its
/// output buffer after every write: sending a 16 MiB message memmoves the rest of it
/// ~1,000 times (8 GiB of copying; the stock client reaches ~70 MB/s in wss-bulk). So
/// one `poll_write` here writes as many records as the socket takes, stopping at the
/// first Pending or error once something was written (the next call then reports the
/// error, or passes the unwritten rest again, as OpenSSL needs after WANT_WRITE).
/// `--stock-tls-writes` turns this off: one record per write, as tokio-tungstenite's
/// own `Connector::NativeTls` path does.
struct TlsIo {
    tls: tokio_native_tls::TlsStream<TcpStream>,
    stock: bool,
}

impl AsyncRead for TlsIo {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsIo {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        let this = self.get_mut();
        if this.stock {
            return std::pin::Pin::new(&mut this.tls).poll_write(cx, buf);
        }
        let mut written = 0;
        while written < buf.len() {
            match std::pin::Pin::new(&mut this.tls).poll_write(cx, &buf[written..]) {
                Poll::Ready(Ok(0)) => break,
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) if written == 0 => return Poll::Ready(Err(e)),
                Poll::Pending if written == 0 => return Poll::Pending,
                Poll::Ready(Err(_)) | Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().tls).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().tls).poll_shutdown(cx)
    }
}

#[derive(Clone)]
struct Opts {
    url: String,
    mode: String,
    n: u64,
    extra: u64,
    flavor: String,
    threads: usize,
    max_secs: f64,
    read_buffer: Option<usize>,
    flush_each: bool,
    /// Pipelined refill batch; None: run batch 1, then INFLIGHT/2 (the "hbatch" variant).
    batch: Option<u64>,
    /// connections: do not poll the open connections (no read, so no read buffer).
    no_read: bool,
    /// stream: chunks outstanding (sent, echo not yet back) at most.
    window: u64,
    /// wss: a PEM file of extra trusted roots.
    ca: Option<String>,
    /// wss: one TLS record per write (see `TlsIo`).
    stock_tls_writes: bool,
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: rtws-bench-raw ws://127.0.0.1:PORT/echo (latency N | pipelined N INFLIGHT | bulk N SIZE | connections N | stream TOTAL CHUNK)\n\
         \x20      [--flavor current|multi] [--threads T] [--max-secs S] [--read-buffer BYTES] [--flush-each] [--batch B] [--no-read] [--window W]\n\
         \x20      [--ca FILE] [--stock-tls-writes] (wss://HOST:PORT/echo: PEM roots to trust besides the system's)"
    );
    ExitCode::from(2)
}

fn parse() -> Option<Opts> {
    let mut pos = Vec::new();
    let mut o = Opts {
        url: String::new(),
        mode: String::new(),
        n: 0,
        extra: 0,
        flavor: "current".into(),
        threads: 2,
        max_secs: 60.0,
        read_buffer: None,
        flush_each: false,
        batch: None,
        no_read: false,
        window: 16,
        ca: None,
        stock_tls_writes: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--flavor" => o.flavor = it.next()?,
            "--threads" => o.threads = it.next()?.parse().ok()?,
            "--max-secs" => o.max_secs = it.next()?.parse().ok()?,
            "--read-buffer" => o.read_buffer = Some(it.next()?.parse().ok()?),
            "--flush-each" => o.flush_each = true,
            "--no-read" => o.no_read = true,
            "--window" => o.window = it.next()?.parse().ok().filter(|&w| w > 0)?,
            "--batch" => o.batch = Some(it.next()?.parse().ok().filter(|&b| b > 0)?),
            "--ca" => o.ca = Some(it.next()?),
            "--stock-tls-writes" => o.stock_tls_writes = true,
            _ => pos.push(a),
        }
    }
    if pos.len() < 3 || o.max_secs.is_nan() || o.max_secs <= 0.0 || o.threads == 0 {
        return None;
    }
    o.url = pos[0].clone();
    o.mode = pos[1].clone();
    o.n = pos[2].parse().ok().filter(|&n| n > 0)?;
    o.extra = match o.mode.as_str() {
        "latency" | "connections" => 0,
        "pipelined" | "bulk" => pos.get(3)?.parse().ok().filter(|&n| n > 0)?,
        // CHUNK: what one message carries (bench_rtws's buffers take at most u32::MAX).
        "stream" => pos
            .get(3)?
            .parse()
            .ok()
            .filter(|&n| n > 0 && n <= u32::MAX as u64)?,
        _ => return None,
    };
    if !matches!(o.flavor.as_str(), "current" | "multi") {
        return None;
    }
    Some(o)
}

fn main() -> ExitCode {
    let Some(o) = parse() else { return usage() };
    raise_nofile_limit();
    // Watchdog: the loops stop themselves at max_secs; this only catches a hang.
    let limit = Duration::from_secs_f64(o.max_secs * 3.0 + 10.0);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("rtws-bench-raw: watchdog: time limit exceeded, exiting");
        std::process::exit(3);
    });
    let rt = if o.flavor == "multi" {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(o.threads)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .expect("tokio runtime");
    let o2 = o.clone();
    // On a multi-thread runtime, run the client as a task on the workers (block_on's
    // own future would run on this thread instead).
    let outcome = rt.block_on(async move {
        if o2.flavor == "multi" {
            tokio::spawn(run(o2))
                .await
                .unwrap_or_else(|e| Err(e.into()))
        } else {
            run(o2).await
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("rtws-bench-raw: {e}");
            ExitCode::from(1)
        }
    }
}

struct Out<'a> {
    o: &'a Opts,
}

impl Out<'_> {
    fn result(&self, metric: &str, value: f64, n: u64) {
        let threads = if self.o.flavor == "multi" {
            self.o.threads
        } else {
            1
        };
        // Over TLS every metric is named apart from the plain one.
        let prefix = if self.o.url.starts_with("wss://") {
            "wss_"
        } else {
            ""
        };
        println!(
            "RESULT client=raw flavor={} threads={} mode={} metric={prefix}{} value={:.3} n={}",
            self.o.flavor, threads, self.o.mode, metric, value, n
        );
    }
}

/// Returns Ok(true) when every loop ran its full count.
async fn run(o: Opts) -> Result<bool, BoxError> {
    let mut config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    if let Some(b) = o.read_buffer {
        config = config.read_buffer_size(b);
    }
    if o.url.starts_with("wss://") {
        // Built once, before anything is measured.
        let mut builder = native_tls::TlsConnector::builder();
        if let Some(path) = &o.ca {
            let pem = std::fs::read(path).map_err(|e| format!("--ca {path}: {e}"))?;
            builder.add_root_certificate(native_tls::Certificate::from_pem(&pem)?);
        }
        let tls = Tls {
            connector: builder.build()?.into(),
            stock: o.stock_tls_writes,
        };
        run_with(&o, config, tls).await
    } else {
        run_with(&o, config, Plain).await
    }
}

async fn run_with<D: Dial>(o: &Opts, config: WebSocketConfig, dial: D) -> Result<bool, BoxError> {
    let out = Out { o };
    if o.mode == "connections" {
        return connections(o, &out, config, dial).await;
    }
    let ws = tokio::time::timeout(Duration::from_secs(10), dial.dial(&o.url, config)).await??;
    let max = Duration::from_secs_f64(o.max_secs);
    if o.mode == "stream" {
        return stream(ws, o, &out, max).await;
    }
    let mut ws = ws;
    let complete = match o.mode.as_str() {
        "latency" => latency(&mut ws, o, &out, max).await?,
        "pipelined" => match o.batch {
            Some(b) => pipelined(&mut ws, o, &out, max, b).await?,
            None => {
                let a = pipelined(&mut ws, o, &out, max, 1).await?;
                let b = pipelined(&mut ws, o, &out, max, (o.extra / 2).max(1)).await?;
                a && b
            }
        },
        _ => bulk(&mut ws, o, &out, max).await?,
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    Ok(complete)
}

/// What connect_async does (its `connect` feature is off here): TCP connect with
/// TCP_NODELAY, then the client handshake.
async fn connect(url: &str, config: WebSocketConfig) -> Result<Ws<TcpStream>, BoxError> {
    let hostport = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or("the URL must be ws://HOST:PORT/...")?;
    let tcp = tokio::net::TcpStream::connect(hostport).await?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
    Ok(ws)
}

/// What connect_async_tls_with_config does with `Connector::NativeTls` (its `connect`
/// and `native-tls` features are off here; see Cargo.toml): TCP connect with TCP_NODELAY,
/// the TLS handshake (SNI for a host name, certificate and host/IP verification), then
/// the client handshake; the one difference is the `TlsIo` around the TLS stream.
async fn connect_tls(url: &str, config: WebSocketConfig, tls: &Tls) -> Result<Ws<TlsIo>, BoxError> {
    let hostport = url
        .strip_prefix("wss://")
        .and_then(|rest| rest.split('/').next())
        .ok_or("the URL must be wss://HOST:PORT/...")?;
    // The name the certificate must carry: the host without the port (and brackets).
    let host = match hostport.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        _ => hostport,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = TcpStream::connect(hostport).await?;
    tcp.set_nodelay(true)?;
    let stream = TlsIo {
        tls: tls.connector.connect(host, tcp).await?,
        stock: tls.stock,
    };
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

/// Sends a close frame and reads until the server's close (or the end), bounded.
async fn close<S: Io>(mut ws: Ws<S>) -> bool {
    tokio::time::timeout(Duration::from_secs(10), async move {
        if ws.close(None).await.is_err() {
            return false;
        }
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return true,
                Some(Ok(Message::Close(_))) => {}
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// One connection of `connections`: connect, report, then wait for the next message
/// (as any client that receives does; `--no-read` leaves the stream unpolled) until told
/// to close. Returns whether the close handshake completed.
async fn hold<D: Dial>(
    dial: D,
    url: std::sync::Arc<str>,
    config: WebSocketConfig,
    limit: Duration,
    read: bool,
    opened: tokio::sync::mpsc::UnboundedSender<Result<(), String>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> bool {
    let mut ws = match tokio::time::timeout(limit, dial.dial(&url, config)).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            let _ = opened.send(Err(e.to_string()));
            return false;
        }
        Err(_) => {
            let _ = opened.send(Err("connect timed out".into()));
            return false;
        }
    };
    let _ = opened.send(Ok(()));
    drop(opened);
    loop {
        tokio::select! {
            m = ws.next(), if read => match m {
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return false,
            },
            _ = stop.changed() => break,
        }
    }
    close(ws).await
}

async fn connections<D: Dial>(
    o: &Opts,
    out: &Out<'_>,
    config: WebSocketConfig,
    dial: D,
) -> Result<bool, BoxError> {
    let url: std::sync::Arc<str> = o.url.as_str().into();
    let n = o.n as usize;
    // Warm-up: one connect/close, so the runtime's threads and buffers exist.
    let ws = tokio::time::timeout(Duration::from_secs(10), dial.dial(&url, config)).await??;
    if !close(ws).await {
        return Err("warm-up connection: close failed".into());
    }
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The client's own vector, allocated before the first reading.
    let mut tasks = Vec::with_capacity(n);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rss_before = rss_kib();
    let limit = Duration::from_secs_f64(o.max_secs);
    let cpu0 = cpu_ms();
    let start = Instant::now();
    for _ in 0..n {
        tasks.push(tokio::spawn(hold(
            dial.clone(),
            url.clone(),
            config,
            limit,
            !o.no_read,
            opened_tx.clone(),
            stop_rx.clone(),
        )));
    }
    drop(opened_tx);
    let (mut opened, mut failed) = (0usize, 0usize);
    let wait = tokio::time::timeout(limit + Duration::from_secs(10), async {
        while let Some(r) = opened_rx.recv().await {
            match r {
                Ok(()) => opened += 1,
                Err(e) => {
                    if failed < 5 {
                        eprintln!("rtws-bench-raw: connect: {e}");
                    }
                    failed += 1;
                }
            }
            if opened + failed == n {
                break;
            }
        }
    })
    .await;
    let secs = start.elapsed().as_secs_f64();
    let cpu1 = cpu_ms();
    if wait.is_err() {
        eprintln!("rtws-bench-raw: connections: timed out waiting for the handshakes");
    }
    tokio::time::sleep(Duration::from_millis(100)).await; // idle
    let rss_open = rss_kib();
    out.result("connections_per_s", opened as f64 / secs, opened as u64);
    out.result(
        "connection_rss_KiB",
        if opened > 0 {
            (rss_open as f64 - rss_before as f64) / opened as f64
        } else {
            0.0
        },
        opened as u64,
    );
    let t_close = Instant::now();
    let _ = stop_tx.send(true);
    let mut closed = 0usize;
    for t in tasks {
        // Each close is bounded (10 s); a task that never connected returns at once.
        if matches!(t.await, Ok(true)) {
            closed += 1;
        }
    }
    eprintln!(
        "rtws-bench-raw: connections: {opened} opened of {n} in {:.1} ms (CPU user {:.1} ms, \
         sys {:.1} ms); VmRSS {rss_before} KiB before, {rss_open} KiB open, {} KiB after closing \
         ({closed} closed in {:.1} ms)",
        secs * 1e3,
        cpu1.0 - cpu0.0,
        cpu1.1 - cpu0.1,
        rss_kib(),
        t_close.elapsed().as_secs_f64() * 1e3
    );
    Ok(failed == 0 && opened == n && closed == opened)
}

/// The next data message; Ping/Pong are skipped, anything else ends the benchmark.
async fn next_data<S: Io>(ws: &mut Ws<S>) -> Result<Bytes, BoxError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => return Ok(b),
            Some(Ok(Message::Text(t))) => return Ok(Bytes::from(t)),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => return Err(format!("unexpected message {other:?}").into()),
            Some(Err(e)) => return Err(e.into()),
            None => return Err("connection ended".into()),
        }
    }
}

fn payload(size: usize) -> Bytes {
    (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
        .collect::<Vec<u8>>()
        .into()
}

async fn latency<S: Io>(
    ws: &mut Ws<S>,
    o: &Opts,
    out: &Out<'_>,
    max: Duration,
) -> Result<bool, BoxError> {
    let warmup = (o.n / 10).clamp(100, 2000);
    let msg = payload(32);
    let mut samples = Vec::with_capacity(o.n as usize);
    let start = Instant::now();
    for i in 0..warmup + o.n {
        let t0 = Instant::now();
        if t0 - start >= max {
            break;
        }
        ws.send(Message::Binary(msg.clone())).await?;
        let echo = next_data(ws).await?;
        let t1 = Instant::now();
        if echo.len() != msg.len() {
            return Err("short echo".into());
        }
        if i >= warmup {
            samples.push((t1 - t0).as_nanos() as f64 / 1000.0);
        }
    }
    let n = samples.len() as u64;
    if n == 0 {
        return Ok(false);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Nearest-rank percentiles, as bench_rtws computes them.
    let rank = |p: f64| samples[((p * n as f64).ceil() as usize).max(1) - 1];
    let mean = samples.iter().sum::<f64>() / n as f64;
    out.result("latency_p50_us", rank(0.50), n);
    out.result("latency_p99_us", rank(0.99), n);
    out.result("latency_mean_us", mean, n);
    Ok(n == o.n)
}

async fn pipelined<S: Io>(
    ws: &mut Ws<S>,
    o: &Opts,
    out: &Out<'_>,
    max: Duration,
    batch: u64,
) -> Result<bool, BoxError> {
    let msg = payload(64);
    let (n, inflight) = (o.n, o.extra);
    let batch = batch.min(inflight);
    let cpu0 = cpu_ms();
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < inflight.min(n) {
        ws.feed(Message::Binary(msg.clone())).await?;
        sent += 1;
    }
    ws.flush().await?;
    let mut received = 0u64;
    while received < n {
        if received.is_multiple_of(256) && start.elapsed() >= max {
            break;
        }
        // Flush the replies we fed only once nothing more is readable right away.
        let next = match ws.next().now_or_never() {
            Some(next) => next,
            None => {
                ws.flush().await?;
                ws.next().await
            }
        };
        match next {
            Some(Ok(Message::Binary(_) | Message::Text(_))) => {}
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => return Err(format!("unexpected message {other:?}").into()),
            Some(Err(e)) => return Err(e.into()),
            None => return Err("connection ended".into()),
        }
        received += 1;
        // Refill the window once `batch` slots are free (batch 1: one send per echo).
        if sent - received + batch <= inflight {
            while sent < n && sent - received < inflight {
                if o.flush_each {
                    ws.send(Message::Binary(msg.clone())).await?;
                } else {
                    ws.feed(Message::Binary(msg.clone())).await?;
                }
                sent += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let metric = if batch > 1 {
        "pipelined_hbatch_msgs_per_s"
    } else {
        "pipelined_msgs_per_s"
    };
    out.result(metric, received as f64 / secs, received);
    if batch <= 1 && received > 0 {
        // One send per echo: the process's CPU (user + system) per echo.
        let cpu1 = cpu_ms();
        let ms = (cpu1.0 - cpu0.0) + (cpu1.1 - cpu0.1);
        out.result(
            "pipelined_cpu_us_per_msg",
            ms * 1e3 / received as f64,
            received,
        );
    }
    Ok(received == n)
}

async fn bulk<S: Io>(
    ws: &mut Ws<S>,
    o: &Opts,
    out: &Out<'_>,
    max: Duration,
) -> Result<bool, BoxError> {
    let msg = payload(o.extra as usize);
    let start = Instant::now();
    let mut done = 0u64;
    let mut bytes = 0u64;
    while done < o.n && start.elapsed() < max {
        ws.send(Message::Binary(msg.clone())).await?;
        let echo = next_data(ws).await?;
        if echo.len() != msg.len() {
            return Err(format!("echo of {} bytes, sent {}", echo.len(), msg.len()).into());
        }
        bytes += (msg.len() + echo.len()) as u64;
        done += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    out.result("bulk_MB_per_s", bytes as f64 / secs / 1e6, done);
    out.result("bulk_peak_rss_MiB", peak_rss_kib() as f64 / 1024.0, done);
    Ok(done == o.n)
}

/// The content of chunk `index` of `stream`: the payload pattern with the index (mod
/// 256) in its first byte. A fresh buffer per message, as bench_rtws makes one
/// (Buffer_CreateFromBytes) per write.
fn stream_chunk(template: &[u8], len: usize, index: u64) -> Bytes {
    let mut v = template[..len].to_vec();
    v[0] = index as u8;
    v.into()
}

/// `stream`: TOTAL bytes out in CHUNK-byte messages while the echoes are read back
/// concurrently (module docs). Returns Ok(true) when all TOTAL bytes came back.
async fn stream<S: Io>(
    ws: Ws<S>,
    o: &Opts,
    out: &Out<'_>,
    max: Duration,
) -> Result<bool, BoxError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (total, chunk) = (o.n, o.extra);
    let chunks = total.div_ceil(chunk);
    let chunk_len = move |i: u64| chunk.min(total - i * chunk) as usize;
    let template = payload(chunk as usize);
    let window = Arc::new(tokio::sync::Semaphore::new(o.window.min(chunks) as usize));
    let stop = Arc::new(AtomicBool::new(false));
    let (mut sink, mut source) = ws.split();
    let cpu0 = cpu_ms();
    let start = Instant::now();
    let deadline = start + max;

    // The writer: one message at a time through the sink, at most `window` outstanding.
    let writer = {
        let (window, stop) = (window.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sent = 0u64;
            while sent < chunks && Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                let permit = tokio::time::timeout_at(deadline.into(), window.acquire()).await;
                match permit {
                    Ok(Ok(p)) => p.forget(),
                    _ => break, // the deadline, or the reader is gone
                }
                let msg = stream_chunk(&template, chunk_len(sent), sent);
                if let Err(e) = sink.send(Message::Binary(msg)).await {
                    return (sent, sink, Some(e));
                }
                sent += 1;
            }
            (sent, sink, None)
        })
    };

    // The reader (this task): every echo, in order, until all came back.
    let hard = tokio::time::sleep_until((deadline + Duration::from_secs(10)).into());
    tokio::pin!(hard);
    let mut writer = Some(writer);
    let mut sent_final: Option<u64> = None;
    let mut sink_back = None;
    let (mut received, mut bytes) = (0u64, 0u64);
    let mut error: Option<BoxError> = None;
    while received < chunks && sent_final.is_none_or(|s| received < s) {
        tokio::select! {
            m = source.next() => {
                let b = match m {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(other)) => {
                        error = Some(format!("unexpected message {other:?}").into());
                        break;
                    }
                    Some(Err(e)) => { error = Some(e.into()); break; }
                    None => { error = Some("connection ended".into()); break; }
                };
                if b.len() != chunk_len(received) || b[0] != received as u8 {
                    let (len, first) = (b.len(), b.first().copied().unwrap_or(0));
                    let want = chunk_len(received);
                    error = Some(format!("echo {received}: {len} bytes starting with {first}, \
                                          expected {want} starting with {}", received as u8)
                        .into());
                    break;
                }
                bytes += b.len() as u64;
                received += 1;
                window.add_permits(1);
            }
            r = async { writer.as_mut().unwrap().await }, if writer.is_some() => {
                writer = None;
                match r {
                    Ok((sent, sink, e)) => {
                        sent_final = Some(sent);
                        sink_back = Some(sink);
                        if let Some(e) = e {
                            error = Some(e.into());
                            break;
                        }
                    }
                    Err(e) => { error = Some(e.into()); break; }
                }
            }
            _ = &mut hard => {
                error = Some(format!("stream: only {received} of {chunks} echoes in time").into());
                break;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let cpu1 = cpu_ms();
    eprintln!(
        "rtws-bench-raw: stream: {bytes} of {total} bytes back in {:.1} ms (window {}); \
         CPU user {:.1} ms, sys {:.1} ms",
        secs * 1e3,
        o.window,
        cpu1.0 - cpu0.0,
        cpu1.1 - cpu0.1
    );
    window.close();
    if let Some(w) = writer {
        if let Ok(Ok((_, sink, _))) = tokio::time::timeout(Duration::from_secs(10), w).await {
            sink_back = Some(sink);
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    // Bytes sent that came back + bytes received, as bulk counts them.
    out.result("stream_MB_per_s", (2 * bytes) as f64 / secs / 1e6, received);
    out.result(
        "stream_peak_rss_MiB",
        peak_rss_kib() as f64 / 1024.0,
        received,
    );
    if let Some(sink) = sink_back {
        if let Ok(mut ws) = sink.reunite(source) {
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        }
    }
    Ok(received == chunks)
}

/// Peak RSS (VmHWM, what getrusage's ru_maxrss reports on Linux), in KiB.
fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Current RSS (VmRSS), in KiB.
fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Process CPU time (user, system) in ms, from getrusage (declared here for the reason
/// given at `raise_nofile_limit`); zeros where not available.
#[cfg(target_os = "linux")]
fn cpu_ms() -> (f64, f64) {
    use std::os::raw::c_long;
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Timeval {
        sec: c_long,
        usec: c_long,
    }
    #[repr(C)]
    struct Rusage {
        utime: Timeval,
        stime: Timeval,
        rest: [c_long; 14],
    }
    extern "C" {
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
    let mut ru = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        rest: [0; 14],
    };
    // SAFETY: getrusage(RUSAGE_SELF = 0) fills the struct rusage we own (its Linux layout).
    if unsafe { getrusage(0, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let ms = |t: Timeval| t.sec as f64 * 1e3 + t.usec as f64 / 1e3;
    (ms(ru.utime), ms(ru.stime))
}

#[cfg(not(target_os = "linux"))]
fn cpu_ms() -> (f64, f64) {
    (0.0, 0.0)
}

/// Soft RLIMIT_NOFILE up to the hard limit: N sockets need more than the usual 1024.
/// Declared here rather than through the libc crate, to keep this crate's dependencies
/// (and the workspace's Cargo.lock) as they are.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn raise_nofile_limit() {
    #[repr(C)]
    struct Rlimit {
        cur: std::os::raw::c_ulong,
        max: std::os::raw::c_ulong,
    }
    extern "C" {
        fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }
    #[cfg(target_os = "linux")]
    const RLIMIT_NOFILE: i32 = if cfg!(any(target_arch = "mips", target_arch = "mips64")) {
        5
    } else if cfg!(any(target_arch = "sparc", target_arch = "sparc64")) {
        6
    } else {
        7
    };
    #[cfg(target_os = "macos")]
    const RLIMIT_NOFILE: i32 = 8;
    let mut lim = Rlimit { cur: 0, max: 0 };
    // SAFETY: getrlimit writes into the struct we own (the C layout of struct rlimit:
    // two rlim_t, unsigned long on these targets); setrlimit only reads it.
    unsafe {
        if getrlimit(RLIMIT_NOFILE, &mut lim) == 0 && lim.cur < lim.max {
            lim.cur = lim.max;
            if setrlimit(RLIMIT_NOFILE, &lim) != 0 {
                lim.cur = lim.max.min(10240); // macOS: OPEN_MAX
                setrlimit(RLIMIT_NOFILE, &lim);
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn raise_nofile_limit() {}
