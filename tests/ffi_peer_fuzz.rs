//! Peer-side protocol fuzzer (issue 9): a MessageWebSocket (FullMessage) connects to the
//! test server's `/fuzz?seed=S&case=N` for each case, which answers with a generated
//! handshake and frames (valid or mutated); the outcome is checked against RFC 6455's
//! reference decision for that case, computed by the same generator the server uses
//! (`testserver/src/fuzz_case.rs`, included here by path; its module doc lists the
//! rules). Checked per case, through the exported functions only:
//!
//! * the connect's result: success, or the failure HRESULT the reference names;
//! * the subprotocol reported (Information.Protocol);
//! * the events: the messages, in order, with their types and bytes; then, for a
//!   connection the client failed or lost, one last MessageReceived whose GetDataReader
//!   fails; then Closed with the reference's code (and the server's reason after a clean
//!   close), raised exactly once (a second one is waited for a little); no event at all
//!   after a failed connect;
//! * from the server's side (its `FUZZ … client=…` line): what the client sent back
//!   (masking, its close frame and code, the Pong for the last Ping, nothing after its
//!   close or after a failed handshake), and that it closed the TCP connection.
//!
//! Every wait is bounded. A passing case prints nothing; failing ones are printed
//! (seed, case, families, expectation, what differed) and fail the test at the end.
//!
//! Environment (all optional):
//!   RTWS_FUZZ_CASES    how many cases (default 300, the CI size)
//!   RTWS_FUZZ_SEED     the seed, a decimal u64 (default 1)
//!   RTWS_FUZZ_FIRST    the first case number (default 0): RTWS_FUZZ_FIRST=N
//!                      RTWS_FUZZ_CASES=1 replays case N alone
//!   RTWS_FUZZ_WORKERS  cases in flight at once (default 4)
//!   RTWS_FUZZ_BUDGET_SECS  no case starts after this (default 60 + cases / 5); the
//!                      run fails if some did not run
//!
//! The server binary is not rebuilt by `cargo test --test ffi_peer_fuzz` alone (it is
//! by `cargo test --workspace`): after changing the generator, `cargo build -p
//! rtws-testserver` first (a stale server is reported as such, case by case).
//!
//! A long run, e.g. 10,000 cases of another seed, with the summary (case counts per
//! family, known disagreements) shown:
//!   cargo build -p rtws-testserver
//!   RTWS_FUZZ_CASES=10000 RTWS_FUZZ_SEED=7 cargo test --test ffi_peer_fuzz -- --nocapture
//! (about 36 cases a second on 2 cores, debug build).
//!
//! The server's side alone: `rtws-testserver` and any client on `/fuzz?seed=S&case=N`;
//! each case prints its expectation in its `FUZZ` line.

mod common;

#[allow(dead_code)] // the server's half of the generator (writing the case) is unused here
#[path = "../testserver/src/fuzz_case.rs"]
mod fuzz_case;

use common::*;
use fuzz_case::{Case, ClientReport, End, Expect, Session};
use rtws::ffi::message_websocket::*;
use rtws::ffi::vector::*;
use rtws::ffi::EventRegistrationToken;
use rtws_types::SocketMessageType;
use std::collections::BTreeMap;
use std::ffi::{c_void, CStr, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a connected case may take to raise Closed: every case ends by itself in
/// milliseconds (no case waits on a timeout of rtws's).
const CLOSE_WAIT: Duration = Duration::from_secs(10);
/// After Closed (or a failed connect): time for an event that must not come.
const GRACE: Duration = Duration::from_millis(100);
/// The server prints its line once the client closed TCP, or after its own 10 s limit.
const LINE_WAIT: Duration = Duration::from_secs(15);
/// Failing cases printed in full; the rest are counted.
const PRINT_LIMIT: usize = 40;

#[derive(Clone, Debug, PartialEq)]
enum Ev {
    Message {
        text: bool,
        data: Vec<u8>,
    },
    /// A MessageReceived whose GetDataReader (or MessageType) failed, and the message.
    Failed(HRESULT, String),
    Closed(u16, String),
}

fn describe(events: &[Ev]) -> String {
    let list: Vec<String> = events
        .iter()
        .map(|e| match e {
            Ev::Message { text, data } => format!(
                "{}{}#{:08x}",
                if *text { 'T' } else { 'B' },
                data.len(),
                fuzz_case::hash(data)
            ),
            Ev::Failed(hr, what) => format!("Failed(0x{:08X}, {what:?})", *hr as u32),
            Ev::Closed(code, reason) => format!("Closed({code}, {reason:?})"),
        })
        .collect();
    format!("[{}]", list.join(", "))
}

extern "C" fn on_message(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    args: *mut MessageWebSocketMessageReceivedEventArgs,
) {
    // SAFETY: `ctx` comes from `context(&sink)`, whose leaked reference keeps it alive.
    let sink: &Events<Ev> = unsafe { from_context(ctx) };
    sink.guarded(|| {
        sink.push(match read_message(args) {
            Ok((ty, data)) => Ev::Message {
                text: ty == SocketMessageType::Utf8,
                data,
            },
            Err(hr) => Ev::Failed(hr, last_error()),
        })
    });
}

extern "C" fn on_closed(
    ctx: *mut c_void,
    _sender: *mut MessageWebSocket,
    args: *mut WebSocketClosedEventArgs,
) {
    // SAFETY: as in `on_message`.
    let sink: &Events<Ev> = unsafe { from_context(ctx) };
    sink.guarded(|| {
        let (code, reason) = read_closed(args);
        sink.push(Ev::Closed(code, reason));
    });
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a decimal number")),
        Err(_) => default,
    }
}

fn offer(ws: *mut MessageWebSocket, protocols: &[String]) {
    if protocols.is_empty() {
        return;
    }
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    let mut list = null_mut();
    assert_hr(
        MessageWebSocketControl_get_SupportedProtocols(control, &mut list),
        S_OK,
    );
    for p in protocols {
        let p = CString::new(p.as_str()).unwrap();
        assert_hr(IVectorString_Append(list, p.as_ptr()), S_OK);
    }
    IVectorString_Release(list);
    MessageWebSocketControl_Release(control);
}

fn protocol(ws: *mut MessageWebSocket) -> String {
    let mut info = null_mut();
    assert_hr(MessageWebSocket_get_Information(ws, &mut info), S_OK);
    let mut p = std::ptr::null();
    assert_hr(MessageWebSocketInformation_get_Protocol(info, &mut p), S_OK);
    // SAFETY: a NUL-terminated string owned by `info`, copied before its Release.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    MessageWebSocketInformation_Release(info);
    s
}

/// The server's line for the case, taken out of the list (bounded wait).
fn server_line(server: &TestServer, case: &Case) -> Option<String> {
    let prefix = format!("FUZZ seed={} case={} ", case.seed, case.index);
    let deadline = Instant::now() + LINE_WAIT;
    loop {
        {
            let mut lines = server.lines.lock().unwrap();
            if let Some(i) = lines.iter().position(|l| l.starts_with(&prefix)) {
                return Some(lines.swap_remove(i));
            }
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The events against the session the reference expects.
fn check_session(s: &Session, events: &[Ev], problems: &mut Vec<String>) {
    let closed = events
        .iter()
        .filter(|e| matches!(e, Ev::Closed(..)))
        .count();
    if closed != 1 {
        problems.push(format!("Closed raised {closed} times"));
    }
    if !matches!(events.last(), Some(Ev::Closed(..))) {
        problems.push("Closed is not the last event".into());
    }
    let before = events
        .iter()
        .position(|e| matches!(e, Ev::Closed(..)))
        .map_or(events, |i| &events[..i]);
    let messages: Vec<&Ev> = before
        .iter()
        .filter(|e| matches!(e, Ev::Message { .. }))
        .collect();
    let failures = before.len() - messages.len();
    let want_failure = !matches!(s.end, End::Clean { .. });
    match (want_failure, failures) {
        (true, 1) if matches!(before.last(), Some(Ev::Failed(..))) => {}
        (true, 1) => problems.push("the failed MessageReceived is not the last one".into()),
        (true, n) => problems.push(format!(
            "{n} failed MessageReceived, expected 1 before Closed"
        )),
        (false, 0) => {}
        (false, n) => problems.push(format!(
            "{n} failed MessageReceived after a clean close, expected none"
        )),
    }
    if let Some(Ev::Failed(hr, _)) = before.iter().find(|e| matches!(e, Ev::Failed(..))) {
        if *hr >= 0 {
            problems.push(format!("a failure MessageReceived with HRESULT 0x{hr:08X}"));
        }
    }
    if messages.len() != s.messages.len() {
        problems.push(format!(
            "{} messages delivered, expected {}",
            messages.len(),
            s.messages.len()
        ));
    }
    for (i, (got, want)) in messages.iter().zip(&s.messages).enumerate() {
        let Ev::Message { text, data } = got else {
            unreachable!("filtered")
        };
        if *text != want.text || *data != want.data {
            problems.push(format!(
                "message {i}: got {}{}#{:08x}, expected {}{}#{:08x}",
                if *text { 'T' } else { 'B' },
                data.len(),
                fuzz_case::hash(data),
                if want.text { 'T' } else { 'B' },
                want.data.len(),
                fuzz_case::hash(&want.data),
            ));
            break;
        }
    }
    // Only a clean close has the server's reason; a C string cannot hold a NUL, which
    // rtws hands on as U+FFFD.
    let (want_code, want_reason) = match &s.end {
        End::Clean { code, reason } => (
            code.unwrap_or(fuzz_case::NO_STATUS),
            Some(reason.replace('\0', "\u{FFFD}")),
        ),
        End::Fail(code) => (*code, None),
        End::Abnormal => (fuzz_case::ABNORMAL, None),
    };
    if let Some(Ev::Closed(code, reason)) = events.iter().find(|e| matches!(e, Ev::Closed(..))) {
        if *code != want_code || want_reason.as_ref().is_some_and(|r| r != reason) {
            problems.push(format!(
                "Closed({code}, {reason:?}), expected Closed({want_code}, {:?})",
                want_reason.as_deref().unwrap_or("")
            ));
        }
    }
}

/// Runs one case; what differed from the reference (empty: the case passed).
fn run_case(server: &TestServer, case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let sink: Arc<Events<Ev>> = Events::new();
    let ws = create_socket();
    let mut token = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_MessageReceived(ws, Some(on_message), context(&sink), &mut token),
        S_OK,
    );
    assert_hr(
        MessageWebSocket_add_Closed(ws, Some(on_closed), context(&sink), &mut token),
        S_OK,
    );
    offer(ws, &case.offer);
    let url = server.url(&format!("/fuzz?seed={}&case={}", case.seed, case.index));
    let hr = connect(ws, &url);
    let connected = hr == S_OK;
    let failure = |hr: HRESULT| format!("0x{:08X} ({})", hr as u32, last_error());
    let session = match (&case.expect, connected) {
        (Expect::Connects(s) | Expect::ConnectsOrFails(s, _), true) => Some(s),
        (Expect::Fails(want) | Expect::ConnectsOrFails(_, want), false) => {
            if hr as u32 != *want {
                problems.push(format!(
                    "connect failed with {}, expected 0x{want:08X}",
                    failure(hr)
                ));
            }
            None
        }
        (Expect::Fails(want), true) => {
            problems.push(format!("connected, expected a failure 0x{want:08X}"));
            None
        }
        (Expect::Connects(_), false) => {
            problems.push(format!("connect failed with {}", failure(hr)));
            None
        }
    };
    if let Some(s) = session {
        let got = protocol(ws);
        if got != s.protocol {
            problems.push(format!("subprotocol {got:?}, expected {:?}", s.protocol));
        }
    }
    let events = if connected {
        let (_, closed) = sink.wait_until(CLOSE_WAIT, |e| {
            e.iter().any(|e| matches!(e, Ev::Closed(..)))
        });
        if !closed {
            problems.push(format!("no Closed within {CLOSE_WAIT:?}"));
            MessageWebSocket_Close(ws);
            sink.wait_until(CLOSE_WAIT, |e| {
                e.iter().any(|e| matches!(e, Ev::Closed(..)))
            });
        }
        std::thread::sleep(GRACE);
        sink.snapshot();
        sink.take()
    } else {
        std::thread::sleep(GRACE);
        sink.snapshot();
        let events = sink.take();
        if !events.is_empty() {
            problems.push("events after a failed connect".into());
        }
        events
    };
    if let Some(s) = session {
        check_session(s, &events, &mut problems);
    }
    match server_line(server, case) {
        None => problems.push(format!("no FUZZ line from the server within {LINE_WAIT:?}")),
        // The generator is compiled into both programs: a server built from another
        // version would play other cases.
        Some(line) if !line.contains(&format!(" expect={} client=", case.expect.describe())) => {
            problems.push(format!(
                "the server expects something else (a stale rtws-testserver? rebuild it): {line}"
            ))
        }
        Some(line) => match ClientReport::from_line(&line) {
            None => problems.push(format!("unreadable server line {line:?}")),
            Some(report) => {
                if report.end == "timeout" {
                    problems.push("the client never closed the TCP connection".into());
                }
                let sent = report.problems(&case.expect, connected);
                if !sent.is_empty() {
                    problems.extend(sent);
                    problems.push(format!("server: {line}"));
                }
            }
        },
    }
    if !problems.is_empty() {
        problems.push(format!("events: {}", describe(&events)));
    }
    MessageWebSocket_Release(ws);
    problems
}

#[derive(Default)]
struct Tally {
    /// Per family: cases, failed.
    families: BTreeMap<String, [usize; 2]>,
    failures: Vec<String>,
}

impl Tally {
    fn count(&mut self, family: &str, failed: bool) {
        let entry = self.families.entry(family.to_string()).or_default();
        entry[0] += 1;
        entry[1] += usize::from(failed);
    }
}

#[test]
fn peer_fuzz() {
    let cases = env_u64("RTWS_FUZZ_CASES", 300);
    let seed = env_u64("RTWS_FUZZ_SEED", 1);
    let first = env_u64("RTWS_FUZZ_FIRST", 0);
    let workers = env_u64("RTWS_FUZZ_WORKERS", 4).clamp(1, 64);
    // Each case's waits are bounded, but a client that hangs in every case would take
    // hours at those bounds: no case starts once this is spent.
    let budget = Duration::from_secs(env_u64("RTWS_FUZZ_BUDGET_SECS", 60 + cases / 5));
    // The server must outlive the run (its default lifetime is 300 s).
    let server = TestServer::start_for(Duration::from_secs(300 + cases / 5));
    let started = Instant::now();
    let next = AtomicU64::new(first);
    let ran = AtomicU64::new(0);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= first + cases || started.elapsed() > budget {
                    break;
                }
                ran.fetch_add(1, Ordering::Relaxed);
                let case = Case::generate(seed, index);
                // A check failing inside rtws's handlers (recorded by `Events`) or in a
                // helper is one case's failure, not the end of the run.
                let problems = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_case(&server, &case)
                }))
                .unwrap_or_else(|p| {
                    let what = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "a panic".into());
                    vec![format!("panicked: {what}")]
                });
                let mut t = tally.lock().unwrap();
                let failed = !problems.is_empty();
                t.count(case.handshake.name(), failed);
                if let Some(f) = case.frames {
                    t.count(f.name(), failed);
                }
                if failed {
                    let report = format!(
                        "FAILED seed={seed} case={index} ({}; replay: RTWS_FUZZ_SEED={seed} \
                         RTWS_FUZZ_FIRST={index} RTWS_FUZZ_CASES=1)\n  expect: {}\n  {}",
                        case.family(),
                        case.expect.describe(),
                        problems.join("\n  ")
                    );
                    if t.failures.len() < PRINT_LIMIT {
                        eprintln!("{report}");
                    }
                    t.failures.push(report);
                }
            });
        }
    });
    let t = tally.into_inner().unwrap();
    let families: Vec<String> = t
        .families
        .iter()
        .map(|(name, [n, bad])| {
            let mut line = format!("{name} {n}");
            if *bad > 0 {
                line += &format!(", {bad} failed");
            }
            line
        })
        .collect();
    eprintln!(
        "peer fuzz: seed {seed}, cases {first}..{} ({} ran), {} failed, {:.1} s, {workers} workers\n\
         cases per family (a case counts in its hs- family and, if its head is one the RFC \
         accepts, its fr- family):\n  {}",
        first + cases,
        ran.load(Ordering::Relaxed),
        t.failures.len(),
        started.elapsed().as_secs_f64(),
        families.join("\n  "),
    );
    let ran = ran.into_inner();
    assert_eq!(
        ran, cases,
        "only {ran} of {cases} cases ran within the time budget of {budget:?} (RTWS_FUZZ_BUDGET_SECS)"
    );
    assert!(
        t.failures.is_empty(),
        "{} of {cases} fuzz cases differ from RFC 6455's reference (first {} printed above)",
        t.failures.len(),
        t.failures.len().min(PRINT_LIMIT)
    );
}
