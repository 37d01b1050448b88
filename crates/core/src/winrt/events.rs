//! Event sources with the guarantees API.md promises:
//! handlers of one object never run concurrently; once `remove` (or the final
//! release) returns outside a handler, that handler is never called again; any
//! call, including `remove`, is allowed inside a handler.

use crate::winrt::runtime::HandlerScope;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Handlers running longer than this are reported in the log (0: never).
static SLOW_HANDLER_MS: AtomicU64 = AtomicU64::new(100);

/// Sets the slow-handler threshold of the log's warning (zero: no warning).
pub fn set_slow_handler_threshold(limit: Duration) {
    let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    SLOW_HANDLER_MS.store(ms, Ordering::Relaxed);
}

pub fn slow_handler_threshold() -> Duration {
    Duration::from_millis(SLOW_HANDLER_MS.load(Ordering::Relaxed))
}

/// Watches the handlers of one socket (its events and its operations' Completed
/// callbacks): one that runs past the threshold is reported in the log, once
/// per socket. Costs nothing while warnings are not logged.
pub struct HandlerWatch {
    socket: u64,
    warned: AtomicBool,
}

impl HandlerWatch {
    pub fn new(socket: u64) -> Self {
        HandlerWatch {
            socket,
            warned: AtomicBool::new(false),
        }
    }

    pub fn run<R>(&self, event: &str, f: impl FnOnce() -> R) -> R {
        if self.warned.load(Ordering::Relaxed)
            || !log::log_enabled!(target: "rtws::handlers", log::Level::Warn)
        {
            return f();
        }
        let started = Instant::now();
        let r = f();
        let took = started.elapsed();
        let limit = slow_handler_threshold();
        if !limit.is_zero() && took > limit && !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                target: "rtws::handlers",
                "socket {}: a {event} handler ran for {} ms (over {} ms), holding up an I/O \
                 thread and the socket; handlers must not block: bind the socket to a \
                 DispatcherQueue to run them on a thread of your own (reported once per socket)",
                self.socket,
                took.as_millis(),
                limit.as_millis()
            );
        }
        r
    }
}

/// A WinRT `EventRegistrationToken` value; never 0.
pub type Token = i64;

static NEXT_TOKEN: AtomicI64 = AtomicI64::new(1);

struct Registration<A: ?Sized> {
    token: Token,
    removed: AtomicBool,
    handler: Box<dyn Fn(&A) + Send + Sync>,
}

/// The handlers of one event. Raising clones an `Arc` of the current list, so the
/// per-event cost is one atomic increment, and add/remove never wait for a raise.
pub struct EventSource<A: ?Sized> {
    handlers: Mutex<Arc<Vec<Arc<Registration<A>>>>>,
}

impl<A: ?Sized> Default for EventSource<A> {
    fn default() -> Self {
        EventSource {
            handlers: Mutex::new(Arc::new(Vec::new())),
        }
    }
}

/// Serializes handler invocations of one object and lets `remove` wait for a
/// running invocation to end.
#[derive(Default)]
pub struct Dispatcher {
    running: Mutex<()>,
    /// The thread running this object's handlers right now (0: none).
    owner: AtomicU64,
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

fn this_thread() -> u64 {
    THREAD.with(|t| *t)
}

impl Dispatcher {
    /// Runs `f` (which raises events) with the object's dispatch lock held.
    pub fn dispatch<R>(&self, f: impl FnOnce() -> R) -> R {
        let _running = self.running.lock();
        let _scope = HandlerScope::enter();
        self.owner.store(this_thread(), Ordering::Relaxed);
        let r = f();
        self.owner.store(0, Ordering::Relaxed);
        r
    }

    /// Returns once no handler of this object is running, unless called from one
    /// of this object's own handlers (which would wait for itself). From a handler
    /// of another object it does wait: two handlers that remove each other's
    /// handlers at the same moment would wait for each other.
    pub fn barrier(&self) {
        if self.owner.load(Ordering::Relaxed) != this_thread() {
            drop(self.running.lock());
        }
    }
}

impl<A: ?Sized> EventSource<A> {
    pub fn add(&self, handler: Box<dyn Fn(&A) + Send + Sync>) -> Token {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        let reg = Arc::new(Registration {
            token,
            removed: AtomicBool::new(false),
            handler,
        });
        let mut list = self.handlers.lock();
        let mut next = Vec::with_capacity(list.len() + 1);
        next.extend(list.iter().cloned());
        next.push(reg);
        *list = Arc::new(next);
        token
    }

    /// Unregisters `token` (unknown tokens are ignored, as in WinRT); the caller
    /// then calls `Dispatcher::barrier`.
    ///
    /// A registration's handler is dropped (and its context released) after the
    /// list's lock is let go: that release may call back into rtws.
    pub fn remove(&self, token: Token) {
        let _old = {
            let mut list = self.handlers.lock();
            let Some(reg) = list.iter().find(|r| r.token == token) else {
                return;
            };
            reg.removed.store(true, Ordering::Release);
            let next: Vec<_> = list.iter().filter(|r| r.token != token).cloned().collect();
            std::mem::replace(&mut *list, Arc::new(next))
        };
    }

    pub fn clear(&self) {
        let _old = {
            let mut list = self.handlers.lock();
            for reg in list.iter() {
                reg.removed.store(true, Ordering::Release);
            }
            std::mem::take(&mut *list)
        };
    }

    /// Calls every handler still registered; must run inside `Dispatcher::dispatch`.
    pub fn raise(&self, args: &A) {
        let list = self.handlers.lock().clone();
        for reg in list.iter() {
            if !reg.removed.load(Ordering::Acquire) {
                (reg.handler)(args);
            }
        }
    }

    /// Whether any handler is registered.
    pub fn has_handlers(&self) -> bool {
        !self.handlers.lock().is_empty()
    }
}
