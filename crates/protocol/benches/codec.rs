//! The cost of framing alone, in memory: rtws's frame codec (`frames::encode`,
//! `FrameReader`) beside tungstenite 0.30's, measured in the same run.
//!
//! `cargo bench -p rtws-protocol` (about 12 s; a markdown table on stdout).
//! Options after `--`: `--rounds N` (7), `--budget-ms N` per round and codec (30),
//! a word to run only the rows whose size or operation contains it.
//! Run without `--bench` (as `cargo test --benches` does), it checks itself with
//! tiny budgets and exits.
//!
//! Each row times rtws and its baseline in alternating rounds (each round stops
//! at a count or its time budget, whichever comes first) and shows the median
//! round of each. A round repeats a batch of frames (about 256 KiB, at least one
//! frame):
//!
//! - encode: one masked binary frame per message into a Vec reused across the
//!   batch. Baselines: tungstenite's `Frame::message(..)` + `format` (its public
//!   one-frame API: it copies the payload into a new Vec to mask it), and
//!   `FrameSocket::write` to `io::sink()` (the path its WebSocket uses:
//!   `format_into_buf` into the socket's reused out buffer).
//! - decode: a batch of unmasked server frames, copied into the reader's buffer
//!   once (as a socket read would), then read frame by frame; each payload is
//!   handed out as `Bytes` (not copied). Baselines: `FrameSocket::read` over the
//!   same bytes (tungstenite's frame reader: its buffer is filled by `Read`) and
//!   `FrameHeader::parse` + `split_to` (the header decoder alone, no rules).
//! - decode text: the same with text frames; rtws checks UTF-8 as it reads, the
//!   baseline is `FrameSocket::read` + `std::str::from_utf8` of each payload
//!   (what tungstenite's message layer does with a text frame).

use bytes::BytesMut;
use rtws_protocol::frames::{self, FrameReader, Incoming};
use rtws_protocol::DataKind;
use std::hint::black_box;
use std::io::{Cursor, Read};
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameHeader, FrameSocket};

const SIZES: [usize; 5] = [16, 125, 1024, 16 * 1024, 1024 * 1024];
/// The bytes of payload a batch holds (at least one frame).
const BATCH_BYTES: usize = 256 * 1024;
const MAX_BATCH: usize = 4096;
/// Batches per round at most (the count bound; the time budget usually ends it).
const MAX_ITERS: u64 = 100_000;

struct Options {
    rounds: usize,
    budget: Duration,
    filter: Option<String>,
    smoke: bool,
}

fn options() -> Options {
    let mut o = Options {
        rounds: 7,
        budget: Duration::from_millis(30),
        filter: None,
        smoke: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => o.smoke = false,
            "--rounds" => {
                o.rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            "--budget-ms" => {
                let ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--budget-ms N");
                o.budget = Duration::from_millis(ms);
            }
            a if a.starts_with("--") => {} // what cargo adds (--nocapture, ...)
            a => o.filter = Some(a.to_string()),
        }
    }
    if o.smoke {
        o.rounds = 1;
        o.budget = Duration::from_millis(1);
    }
    o
}

/// Runs `batch` (which handles `msgs` messages) until `MAX_ITERS` or `budget`;
/// nanoseconds per message.
fn round(budget: Duration, msgs: usize, batch: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    let mut iters = 0u64;
    loop {
        batch();
        iters += 1;
        let elapsed = start.elapsed();
        if iters >= MAX_ITERS || elapsed >= budget {
            return elapsed.as_nanos() as f64 / (iters as f64 * msgs as f64);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// rtws's and the baseline's median ns per message, over alternating rounds
/// (after one warm-up round each).
fn compare(o: &Options, msgs: usize, rtws: &mut dyn FnMut(), base: &mut dyn FnMut()) -> (f64, f64) {
    round(o.budget / 4, msgs, rtws);
    round(o.budget / 4, msgs, base);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..o.rounds {
        // The order alternates, so neither always runs right after the other.
        if i % 2 == 0 {
            a.push(round(o.budget, msgs, rtws));
            b.push(round(o.budget, msgs, base));
        } else {
            b.push(round(o.budget, msgs, base));
            a.push(round(o.budget, msgs, rtws));
        }
    }
    (median(a), median(b))
}

fn payload(size: usize, text: bool) -> Vec<u8> {
    if text {
        // Mostly ASCII with some 2-, 3- and 4-byte characters, exactly `size` bytes.
        let mut v = Vec::with_capacity(size);
        let chars = ["abcdefghijklmnopqrstuvwxyz 0123456789", "é", "€", "😀"];
        let mut i = 0;
        while v.len() < size {
            let c = chars[i % chars.len()].as_bytes();
            if v.len() + c.len() <= size {
                v.extend_from_slice(c);
            } else {
                v.push(b'.');
            }
            i += 1;
        }
        v
    } else {
        (0..size).map(|i| (i * 31 + 7) as u8).collect()
    }
}

/// `n` unmasked server frames of `payload` (a whole message each).
fn server_stream(payload: &[u8], n: usize, text: bool) -> Vec<u8> {
    let mut one = Vec::new();
    let op = if text { Data::Text } else { Data::Binary };
    Frame::message(payload.to_vec(), OpCode::Data(op), true)
        .format(&mut one)
        .unwrap();
    one.repeat(n)
}

/// `Read` over the same bytes again and again (`rewind`), so that one
/// `FrameSocket` (and its buffer) serves every batch.
struct Replay {
    data: Vec<u8>,
    pos: usize,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct Row {
    size: usize,
    op: &'static str,
    rtws_ns: f64,
    baseline: &'static str,
    base_ns: f64,
}

fn mbps(size: usize, ns: f64) -> f64 {
    size as f64 / ns * 1e3 // bytes per ns = GB/s; * 1000 = MB/s
}

fn main() {
    let o = options();
    let wanted = |size: usize, op: &str| {
        o.filter
            .as_deref()
            .is_none_or(|f| op.contains(f) || size.to_string() == f)
    };
    let mut rows = Vec::new();
    let started = Instant::now();
    for size in SIZES {
        let n = (BATCH_BYTES / size).clamp(1, MAX_BATCH);
        let data = payload(size, false);
        let bytes = bytes::Bytes::from(data.clone());

        // ----- encode -----
        let wire = n
            * (size
                + match size {
                    0..=125 => 6,
                    126..=65535 => 8,
                    _ => 14,
                });
        let mut out = Vec::new();
        let mut rtws_encode = || {
            out.clear();
            for _ in 0..n {
                frames::encode(
                    &mut out,
                    frames::data_opcode(DataKind::Binary, true),
                    true,
                    &data,
                );
            }
            assert_eq!(black_box(&out).len(), wire, "rtws encode");
        };
        let mut out2 = Vec::new();
        let mut tung_format = || {
            out2.clear();
            for _ in 0..n {
                let mut f = Frame::message(bytes.clone(), OpCode::Data(Data::Binary), true);
                f.header_mut().mask = Some(rand::random());
                f.format(&mut out2).unwrap();
            }
            assert_eq!(black_box(&out2).len(), wire, "tungstenite Frame::format");
        };
        if wanted(size, "encode") {
            let (r, b) = compare(&o, n, &mut rtws_encode, &mut tung_format);
            rows.push(Row {
                size,
                op: "encode",
                rtws_ns: r,
                baseline: "tungstenite `Frame::format`",
                base_ns: b,
            });
        }
        let mut socket = FrameSocket::new(std::io::sink());
        let mut tung_socket = || {
            for _ in 0..n {
                let mut f = Frame::message(bytes.clone(), OpCode::Data(Data::Binary), true);
                f.header_mut().mask = Some(rand::random());
                socket.write(f).unwrap();
            }
        };
        if wanted(size, "encode") {
            let (r, b) = compare(&o, n, &mut rtws_encode, &mut tung_socket);
            rows.push(Row {
                size,
                op: "encode",
                rtws_ns: r,
                baseline: "tungstenite `FrameSocket::write`",
                base_ns: b,
            });
        }

        // ----- decode -----
        for text in [false, true] {
            let op = if text { "decode text" } else { "decode" };
            if !wanted(size, op) {
                continue;
            }
            let data = payload(size, text);
            let stream = server_stream(&data, n, text);
            let mut buf = BytesMut::new();
            let mut reader = FrameReader::new(None, false);
            let mut rtws_decode = || {
                buf.extend_from_slice(&stream);
                let mut got = 0;
                while let Some(i) = reader.next(&mut buf).unwrap() {
                    if let Incoming::Data { payload, .. } = i {
                        got += payload.len();
                        black_box(payload);
                    }
                }
                assert_eq!(got, n * size);
            };
            let mut socket = FrameSocket::new(Replay {
                data: stream.clone(),
                pos: 0,
            });
            let mut tung_read = || {
                socket.get_mut().pos = 0;
                let mut got = 0;
                while let Some(f) = socket.read(None).unwrap() {
                    if text {
                        black_box(std::str::from_utf8(f.payload()).unwrap());
                    }
                    got += f.payload().len();
                    black_box(f);
                }
                assert_eq!(got, n * size);
            };
            let (r, b) = compare(&o, n, &mut rtws_decode, &mut tung_read);
            rows.push(Row {
                size,
                op,
                rtws_ns: r,
                baseline: if text {
                    "tungstenite `FrameSocket::read` + `from_utf8`"
                } else {
                    "tungstenite `FrameSocket::read`"
                },
                base_ns: b,
            });
            if text {
                continue;
            }
            let mut buf2 = BytesMut::new();
            let mut tung_parse = || {
                buf2.extend_from_slice(&stream);
                let mut got = 0;
                loop {
                    let mut cursor = Cursor::new(&buf2[..]);
                    let Some((_, len)) = FrameHeader::parse(&mut cursor).unwrap() else {
                        break;
                    };
                    let at = cursor.position() as usize;
                    let _ = buf2.split_to(at);
                    let p = buf2.split_to(len as usize).freeze();
                    got += p.len();
                    black_box(p);
                }
                assert_eq!(got, n * size);
            };
            let (r, b) = compare(&o, n, &mut rtws_decode, &mut tung_parse);
            rows.push(Row {
                size,
                op,
                rtws_ns: r,
                baseline: "tungstenite `FrameHeader::parse` + `split_to` (no rules)",
                base_ns: b,
            });
        }
    }

    println!(
        "| payload | operation | rtws ns/msg | rtws MB/s | baseline | baseline ns/msg | baseline MB/s | rtws time / baseline |"
    );
    println!("|---:|---|---:|---:|---|---:|---:|---:|");
    for r in &rows {
        let size = match r.size {
            s if s >= 1 << 20 => format!("{} MiB", s >> 20),
            s if s >= 1 << 10 => format!("{} KiB", s >> 10),
            s => format!("{s} B"),
        };
        println!(
            "| {size} | {} | {:.1} | {:.0} | {} | {:.1} | {:.0} | {:.2} |",
            r.op,
            r.rtws_ns,
            mbps(r.size, r.rtws_ns),
            r.baseline,
            r.base_ns,
            mbps(r.size, r.base_ns),
            r.rtws_ns / r.base_ns
        );
    }
    eprintln!(
        "{} rows, {} rounds of {} ms each per codec{}, {:.1} s",
        rows.len(),
        o.rounds,
        o.budget.as_millis(),
        if o.smoke {
            " (self-check only: run with --bench)"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    );
}
