//! The library's internal tokio runtime: started on first use, ended by `shutdown`.
//!
//! Worker threads run every connection task, and so every event handler and every
//! async completion. `RTWS_WORKER_THREADS` overrides the worker count (measured in
//! `bench/`: see bench/README.md for why the default is what it is).
//!
//! A handler that blocks holds its worker. tokio lets one parked worker poll the
//! sockets for all; when the worker that was polling wakes to run a handler that then
//! blocks, the others stay parked and nobody reads the network until it returns. The
//! watch thread (`Watch`) sees a worker stuck in one handler and wakes another one,
//! which polls the sockets from then on: other sockets go on.

use parking_lot::Mutex;
use rtws_types::{Error, Result};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

struct Running {
    rt: Runtime,
    watch: Watch,
}

static RUNTIME: Mutex<Option<Running>> = Mutex::new(None);

thread_local! {
    /// How deep this thread is inside rtws handler invocations; blocking calls that
    /// would wait for the very thread they run on are refused when it is non-zero.
    static HANDLER_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// On a worker: its count of handler entries and exits (odd inside a handler),
    /// written by the worker alone, read by the watch thread.
    static BUSY: Cell<Option<Arc<AtomicU64>>> = const { Cell::new(None) };
}

/// A worker as the watch thread sees it: its `BUSY` count, the count seen last tick,
/// and whether the handler it is stuck in was dealt with.
struct Worker {
    busy: Weak<AtomicU64>,
    last: u64,
    nudged: bool,
}

static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());
/// The watch thread parked for good (no handler ran for a while): the next handler
/// on a worker unparks it.
static WATCH_PARKED: AtomicBool = AtomicBool::new(false);
static WATCH_THREAD: Mutex<Option<Thread>> = Mutex::new(None);

/// How often the watch thread looks; a worker seen in the same handler twice in a
/// row (one tick to two) is stuck.
const WATCH_TICK: Duration = Duration::from_millis(25);
/// Ticks without any handler before the watch thread parks until the next one.
const WATCH_IDLE_TICKS: u32 = 40;

/// The watch thread: started with the runtime, stopped by `shutdown`.
struct Watch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    fn start(handle: Handle) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rtws-watch".into())
            .spawn(move || watch(handle, &flag))?;
        *WATCH_THREAD.lock() = Some(thread.thread().clone());
        Ok(Watch {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn watch(handle: Handle, stop: &AtomicBool) {
    let mut idle = 0;
    while !stop.load(Ordering::Acquire) {
        if idle >= WATCH_IDLE_TICKS {
            WATCH_PARKED.store(true, Ordering::SeqCst);
            std::thread::park();
            idle = 0;
            continue;
        }
        std::thread::park_timeout(WATCH_TICK);
        let (mut active, mut stuck) = (false, false);
        {
            let mut workers = WORKERS.lock();
            workers.retain(|w| w.busy.strong_count() > 0);
            for w in workers.iter_mut() {
                let Some(count) = w.busy.upgrade().map(|c| c.load(Ordering::Relaxed)) else {
                    continue;
                };
                let inside = count % 2 == 1;
                active |= inside || count != w.last;
                if inside && count == w.last && !w.nudged {
                    stuck = true;
                    w.nudged = true;
                } else if count != w.last {
                    w.nudged = false;
                }
                w.last = count;
            }
        }
        if stuck {
            // Scheduled from outside the runtime, an empty task wakes a parked worker;
            // parking again, it takes over polling the sockets.
            drop(handle.spawn(async {}));
        }
        idle = if active { 0 } else { idle + 1 };
    }
}

fn worker_threads() -> usize {
    std::env::var("RTWS_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| {
            // The CPUs this process may run on (affinity, cgroup quota): a second
            // worker on one CPU only costs a wake-up per round trip (bench/README).
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(2)
        })
}

/// Marks this thread as an I/O worker, for the watch thread.
fn register_worker() {
    let busy = Arc::new(AtomicU64::new(0));
    WORKERS.lock().push(Worker {
        busy: Arc::downgrade(&busy),
        last: 0,
        nudged: false,
    });
    BUSY.with(|b| b.set(Some(busy)));
}

/// A worker enters (or leaves) its outermost handler.
fn note_busy() {
    BUSY.with(|b| {
        let Some(busy) = b.take() else {
            return; // not a worker
        };
        busy.store(busy.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        b.set(Some(busy));
    });
    if WATCH_PARKED.load(Ordering::Relaxed) && WATCH_PARKED.swap(false, Ordering::SeqCst) {
        if let Some(t) = WATCH_THREAD.lock().as_ref() {
            t.unpark();
        }
    }
}

/// The runtime's handle, starting the runtime if this is the first use.
pub fn handle() -> Result<Handle> {
    let mut guard = RUNTIME.lock();
    if let Some(running) = guard.as_ref() {
        return Ok(running.rt.handle().clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("rtws-io")
        .on_thread_start(register_worker)
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::from_io(&e, "starting the rtws runtime"))?;
    let handle = rt.handle().clone();
    let watch = Watch::start(handle.clone())
        .map_err(|e| Error::from_io(&e, "starting the rtws watch thread"))?;
    *guard = Some(Running { rt, watch });
    Ok(handle)
}

/// Stops the runtime: every task is dropped (its socket closed without a close
/// handshake) and every library thread joined. The next use starts a new runtime.
pub fn shutdown(timeout: Duration) -> Result<()> {
    if in_handler() {
        return Err(Error::illegal_call(
            "rtws_Shutdown cannot be called from inside an rtws handler",
        ));
    }
    let running = RUNTIME.lock().take();
    if let Some(Running { rt, watch }) = running {
        watch.stop();
        rt.shutdown_timeout(timeout);
    }
    Ok(())
}

/// True on a thread that is currently running an rtws handler.
pub fn in_handler() -> bool {
    HANDLER_DEPTH.with(|d| d.get() > 0)
}

/// Marks this thread as running a handler for as long as the guard lives.
pub struct HandlerScope(());

impl HandlerScope {
    pub fn enter() -> Self {
        if HANDLER_DEPTH.with(|d| d.replace(d.get() + 1)) == 0 {
            note_busy();
        }
        HandlerScope(())
    }
}

impl Drop for HandlerScope {
    fn drop(&mut self) {
        if HANDLER_DEPTH.with(|d| d.replace(d.get() - 1)) == 1 {
            note_busy();
        }
    }
}
