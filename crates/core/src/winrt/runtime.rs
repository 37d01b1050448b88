//! The library's internal tokio runtime: started on first use, ended by `shutdown`.
//!
//! Worker threads run every connection task, and so every event handler and every
//! async completion. `RTWS_WORKER_THREADS` overrides the worker count (measured in
//! `bench/`: see bench/README.md for why the default is what it is).

use parking_lot::Mutex;
use rtws_types::{Error, Result};
use std::cell::Cell;
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

thread_local! {
    /// How deep this thread is inside rtws handler invocations; blocking calls that
    /// would wait for the very thread they run on are refused when it is non-zero.
    static HANDLER_DEPTH: Cell<u32> = const { Cell::new(0) };
}

fn worker_threads() -> usize {
    std::env::var("RTWS_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| {
            // At least 2, so one blocking handler never stops every other socket.
            std::thread::available_parallelism()
                .map(|n| n.get().clamp(2, 4))
                .unwrap_or(2)
        })
}

/// The runtime's handle, starting the runtime if this is the first use.
pub fn handle() -> Result<Handle> {
    let mut guard = RUNTIME.lock();
    if let Some(rt) = guard.as_ref() {
        return Ok(rt.handle().clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("rtws-io")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::from_io(&e, "starting the rtws runtime"))?;
    let handle = rt.handle().clone();
    *guard = Some(rt);
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
    let rt = RUNTIME.lock().take();
    if let Some(rt) = rt {
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
        HANDLER_DEPTH.with(|d| d.set(d.get() + 1));
        HandlerScope(())
    }
}

impl Drop for HandlerScope {
    fn drop(&mut self) {
        HANDLER_DEPTH.with(|d| d.set(d.get() - 1));
    }
}
