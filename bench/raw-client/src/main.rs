//! The baseline of the rtws benchmark: a plain tokio-tungstenite 0.30 client doing what
//! `bench/bench_rtws.c` does through rtws, with the same sizes and counts, measured the
//! same way (see bench/README.md).
//!
//! ```text
//! rtws-bench-raw URL latency N             [--flavor current|multi] [--threads T] [--max-secs S]
//! rtws-bench-raw URL pipelined N INFLIGHT  [...]
//! rtws-bench-raw URL bulk N SIZE           [...]
//! ```
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

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<tokio::net::TcpStream>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: rtws-bench-raw ws://127.0.0.1:PORT/echo (latency N | pipelined N INFLIGHT | bulk N SIZE)\n\
         \x20      [--flavor current|multi] [--threads T] [--max-secs S] [--read-buffer BYTES] [--flush-each] [--batch B]"
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
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--flavor" => o.flavor = it.next()?,
            "--threads" => o.threads = it.next()?.parse().ok()?,
            "--max-secs" => o.max_secs = it.next()?.parse().ok()?,
            "--read-buffer" => o.read_buffer = Some(it.next()?.parse().ok()?),
            "--flush-each" => o.flush_each = true,
            "--batch" => o.batch = Some(it.next()?.parse().ok().filter(|&b| b > 0)?),
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
        "latency" => 0,
        "pipelined" | "bulk" => pos.get(3)?.parse().ok().filter(|&n| n > 0)?,
        _ => return None,
    };
    if !matches!(o.flavor.as_str(), "current" | "multi") {
        return None;
    }
    Some(o)
}

fn main() -> ExitCode {
    let Some(o) = parse() else { return usage() };
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
        println!(
            "RESULT client=raw flavor={} threads={} mode={} metric={} value={:.3} n={}",
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
    // What connect_async does (its `connect` feature is off here): TCP connect with
    // TCP_NODELAY, then the client handshake.
    let hostport = o
        .url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or("the URL must be ws://HOST:PORT/...")?
        .to_owned();
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(10), async {
        let tcp = tokio::net::TcpStream::connect(hostport.as_str()).await?;
        tcp.set_nodelay(true)?;
        let ws =
            tokio_tungstenite::client_async_with_config(o.url.as_str(), tcp, Some(config)).await?;
        Ok::<_, BoxError>(ws)
    })
    .await??;
    let out = Out { o: &o };
    let max = Duration::from_secs_f64(o.max_secs);
    let complete = match o.mode.as_str() {
        "latency" => latency(&mut ws, &o, &out, max).await?,
        "pipelined" => match o.batch {
            Some(b) => pipelined(&mut ws, &o, &out, max, b).await?,
            None => {
                let a = pipelined(&mut ws, &o, &out, max, 1).await?;
                let b = pipelined(&mut ws, &o, &out, max, (o.extra / 2).max(1)).await?;
                a && b
            }
        },
        _ => bulk(&mut ws, &o, &out, max).await?,
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    Ok(complete)
}

/// The next data message; Ping/Pong are skipped, anything else ends the benchmark.
async fn next_data(ws: &mut Ws) -> Result<Bytes, BoxError> {
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

async fn latency(ws: &mut Ws, o: &Opts, out: &Out<'_>, max: Duration) -> Result<bool, BoxError> {
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

async fn pipelined(
    ws: &mut Ws,
    o: &Opts,
    out: &Out<'_>,
    max: Duration,
    batch: u64,
) -> Result<bool, BoxError> {
    let msg = payload(64);
    let (n, inflight) = (o.n, o.extra);
    let batch = batch.min(inflight);
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
    Ok(received == n)
}

async fn bulk(ws: &mut Ws, o: &Opts, out: &Out<'_>, max: Duration) -> Result<bool, BoxError> {
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

/// Peak RSS (VmHWM, what getrusage's ru_maxrss reports on Linux), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
