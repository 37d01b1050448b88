//! `DispatcherQueue` (modelled on Windows.System.DispatcherQueue): work that runs
//! on the host's own thread. A socket bound to a queue posts every handler and
//! Completed callback here instead of running it on an I/O thread; the host runs
//! what is pending when the queue's file descriptor is readable (poll, epoll,
//! GLib, libuv, asyncio's `add_reader`), or blocks in `wait`.
//!
//! The descriptor is readable exactly while work is pending: it is signalled when
//! the queue goes from empty to not empty (one signal per batch, not per item)
//! and cleared when the last pending item is taken or purged.

use crate::winrt::runtime::in_handler;
use futures_util::task::AtomicWaker;
use parking_lot::{Condvar, Mutex};
use rtws_types::{Error, Result, E_FAIL};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;
use std::time::{Duration, Instant};

/// A piece of work: a handler invocation with its arguments, or the host's own.
pub type Work = Box<dyn FnOnce() + Send>;

struct Item {
    /// The socket (or other object) the work belongs to; 0 for the host's own.
    owner: u64,
    work: Work,
}

#[derive(Default)]
struct State {
    items: VecDeque<Item>,
    /// The descriptor is signalled (set while `items` is not empty).
    signalled: bool,
    /// Released by the host: nothing runs any more, nothing is accepted.
    shut: bool,
}

pub struct DispatcherQueue {
    state: Mutex<State>,
    became_ready: Condvar,
    signal: Signal,
    /// The queue's thread: the one that ran it last, or else the one that made it.
    thread: AtomicU64,
    /// The host's handles on the queue (each handle, not each reference): when the
    /// last goes, the queue stops.
    host_handles: AtomicUsize,
    /// Set while `run_pending` runs (the thread in `thread`).
    running: Mutex<bool>,
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

fn this_thread() -> u64 {
    THREAD.with(|t| *t)
}

impl DispatcherQueue {
    pub fn new() -> Result<Self> {
        Ok(DispatcherQueue {
            state: Mutex::new(State::default()),
            became_ready: Condvar::new(),
            signal: Signal::new()?,
            thread: AtomicU64::new(this_thread()),
            host_handles: AtomicUsize::new(0),
            running: Mutex::new(false),
        })
    }

    /// `TryEnqueue`: queues `work` (of `owner`); false once the queue is shut.
    pub fn try_enqueue(&self, owner: u64, work: Work) -> bool {
        let mut st = self.state.lock();
        if st.shut {
            return false;
        }
        st.items.push_back(Item { owner, work });
        if !st.signalled {
            st.signalled = true;
            self.signal.set();
            self.became_ready.notify_all();
        }
        true
    }

    /// The descriptor to poll for readability (owned by the queue).
    pub fn fd(&self) -> i32 {
        self.signal.fd()
    }

    /// A host handle on the queue was made.
    pub fn add_host_handle(&self) {
        self.host_handles.fetch_add(1, Ordering::AcqRel);
    }

    /// A host handle on the queue was released; the last one stops the queue.
    pub fn release_host_handle(&self) {
        if self.host_handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shut_down();
        }
    }

    /// Runs pending work on this thread, oldest first: at most `max_count` items
    /// (at least 1), and no new one once `max_time` has passed (the first always
    /// runs). Returns how many ran.
    pub fn run_pending(&self, max_count: u32, max_time: Option<Duration>) -> Result<u32> {
        if max_count == 0 {
            return Err(Error::invalid_arg(
                "max_count must be at least 1 (a RunPending that may run nothing would \
                 leave the file descriptor readable)",
            ));
        }
        if in_handler() {
            return Err(Error::illegal_call(
                "DispatcherQueue_RunPending cannot run inside an rtws handler: run the \
                 queue from the host's loop",
            ));
        }
        let started = Instant::now();
        {
            let mut running = self.running.lock();
            if *running {
                return Err(Error::illegal_call(if self.is_queue_thread() {
                    "the DispatcherQueue is already running on this thread: it cannot be run \
                     from inside one of its own handlers"
                } else {
                    "the DispatcherQueue is being run on another thread: run it from one thread"
                }));
            }
            *running = true;
            self.thread.store(this_thread(), Ordering::Relaxed);
        }
        let _done = Finally(|| {
            crate::session::connection::set_more_coming(false);
            *self.running.lock() = false
        });
        let mut ran = 0;
        while ran < max_count && (ran == 0 || max_time.is_none_or(|t| started.elapsed() < t)) {
            let Some((item, more)) = self.take() else {
                break;
            };
            crate::session::connection::set_more_coming(more && ran + 1 < max_count);
            (item.work)();
            ran += 1;
        }
        Ok(ran)
    }

    /// The next item, and whether more wait behind it.
    fn take(&self) -> Option<(Item, bool)> {
        let mut st = self.state.lock();
        if st.shut {
            return None;
        }
        let item = st.items.pop_front();
        self.clear_if_empty(&mut st);
        item.map(|item| (item, !st.items.is_empty()))
    }

    fn clear_if_empty(&self, st: &mut State) {
        if st.items.is_empty() && st.signalled {
            st.signalled = false;
            self.signal.clear();
        }
    }

    /// Blocks until work is pending or `timeout` passes (None: no bound); true
    /// when work is pending.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = self.state.lock();
        while st.items.is_empty() && !st.shut {
            match deadline {
                Some(d) => {
                    if self.became_ready.wait_until(&mut st, d).timed_out() {
                        break;
                    }
                }
                None => self.became_ready.wait(&mut st),
            }
        }
        !st.items.is_empty() && !st.shut
    }

    /// Drops the pending work of `owner` (its handlers must not run any more).
    pub fn purge(&self, owner: u64) {
        let dropped: VecDeque<Item> = {
            let mut st = self.state.lock();
            let (gone, kept) = std::mem::take(&mut st.items)
                .into_iter()
                .partition(|i| i.owner == owner);
            st.items = kept;
            self.clear_if_empty(&mut st);
            gone
        };
        // Dropped unlocked: the work may hold the last reference to an object
        // whose destructor calls back here.
        drop(dropped);
    }

    /// The host let go of the queue: pending work is dropped unrun, later work is
    /// refused (its handlers never run), a `wait` returns.
    pub fn shut_down(&self) {
        let dropped = {
            let mut st = self.state.lock();
            st.shut = true;
            let items = std::mem::take(&mut st.items);
            self.clear_if_empty(&mut st);
            items
        };
        self.became_ready.notify_all();
        drop(dropped);
    }

    pub fn is_shut_down(&self) -> bool {
        self.state.lock().shut
    }

    /// `HasThreadAccess`: this is the queue's thread (the one that ran it last, or
    /// else the one that made it).
    pub fn is_queue_thread(&self) -> bool {
        self.thread.load(Ordering::Relaxed) == this_thread()
    }
}

/// What one socket has queued and not yet run: past a bound, the socket stops
/// reading the network until the host drains its queue (TCP then holds the
/// server back), so memory stays bounded.
#[derive(Default)]
pub struct Backlog {
    events: AtomicUsize,
    bytes: AtomicUsize,
    room: AtomicWaker,
}

/// Past either bound, a socket's connection stops reading.
pub const BACKLOG_EVENTS: usize = 1000;
pub const BACKLOG_BYTES: usize = 1 << 20;

impl Backlog {
    /// Counts one queued event of `bytes` until the ticket is dropped (run or
    /// discarded).
    pub fn ticket(self: &Arc<Self>, bytes: usize) -> Ticket {
        self.events.fetch_add(1, Ordering::AcqRel);
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
        Ticket {
            backlog: self.clone(),
            bytes,
        }
    }

    fn has_room(&self) -> bool {
        self.events.load(Ordering::Acquire) < BACKLOG_EVENTS
            && self.bytes.load(Ordering::Acquire) < BACKLOG_BYTES
    }

    /// Whether more may be read now; if not, `cx` is woken once the host drained
    /// enough.
    pub fn poll_room(&self, cx: &mut Context<'_>) -> bool {
        if self.has_room() {
            return true;
        }
        self.room.register(cx.waker());
        self.has_room()
    }
}

/// One queued event, counted in its socket's `Backlog` while it lives.
pub struct Ticket {
    backlog: Arc<Backlog>,
    bytes: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let b = &self.backlog;
        b.events.fetch_sub(1, Ordering::AcqRel);
        b.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
        // Always: a connection may have found the backlog full just before this.
        if b.has_room() {
            b.room.wake();
        }
    }
}

struct Finally<F: FnMut()>(F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// A descriptor that is readable while set: an eventfd, or a pipe where Linux's
/// eventfd is missing.
struct Signal {
    read: i32,
    write: i32,
}

impl Signal {
    #[cfg(target_os = "linux")]
    fn new() -> Result<Self> {
        // SAFETY: eventfd takes no pointer; the result is checked below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(os_error("eventfd"));
        }
        Ok(Signal {
            read: fd,
            write: fd,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn new() -> Result<Self> {
        let mut fds = [0i32; 2];
        // SAFETY: `fds` is a writable array of two ints, as pipe() requires.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(os_error("pipe"));
        }
        for fd in fds {
            // SAFETY: fcntl on a descriptor we just created; flags only.
            unsafe {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
            }
        }
        Ok(Signal {
            read: fds[0],
            write: fds[1],
        })
    }

    fn fd(&self) -> i32 {
        self.read
    }

    fn set(&self) {
        let one = 1u64.to_ne_bytes();
        // An eventfd takes 8 bytes; a pipe one or more. A full pipe or counter is
        // already readable, so a failed write changes nothing.
        let len = if self.read == self.write { 8 } else { 1 };
        // SAFETY: `one` holds at least `len` readable bytes; `write` is our descriptor.
        let _ = unsafe { libc::write(self.write, one.as_ptr().cast(), len) };
    }

    fn clear(&self) {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: `buf` is writable for its length; `read` is our non-blocking
            // descriptor, so this returns once it is empty.
            let n = unsafe { libc::read(self.read, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 || self.read == self.write {
                break;
            }
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // SAFETY: the descriptors are ours and closed once, here.
        unsafe {
            libc::close(self.read);
            if self.write != self.read {
                libc::close(self.write);
            }
        }
    }
}

fn os_error(what: &str) -> Error {
    Error::new(
        E_FAIL,
        format!(
            "cannot create the DispatcherQueue's {what}: {}",
            std::io::Error::last_os_error()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn readable(fd: i32) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn the_fd_is_readable_exactly_while_work_is_pending() {
        let q = DispatcherQueue::new().unwrap();
        let ran = Arc::new(AtomicU32::new(0));
        assert!(!readable(q.fd()));
        for _ in 0..3 {
            let ran = ran.clone();
            assert!(q.try_enqueue(
                1,
                Box::new(move || {
                    ran.fetch_add(1, Ordering::Relaxed);
                })
            ));
        }
        assert!(readable(q.fd()));
        assert_eq!(q.run_pending(2, None).unwrap(), 2);
        assert!(readable(q.fd()), "one still pending");
        assert_eq!(q.run_pending(10, None).unwrap(), 1);
        assert!(!readable(q.fd()));
        assert_eq!(ran.load(Ordering::Relaxed), 3);
        q.try_enqueue(2, Box::new(|| panic!("purged work ran")));
        q.purge(2);
        assert!(!readable(q.fd()));
        assert_eq!(q.run_pending(10, None).unwrap(), 0);
    }

    #[test]
    fn running_from_inside_its_own_work_is_refused() {
        let q = Arc::new(DispatcherQueue::new().unwrap());
        let inner = Arc::new(Mutex::new(None));
        let (q2, inner2) = (q.clone(), inner.clone());
        q.try_enqueue(
            0,
            Box::new(move || *inner2.lock() = Some(q2.run_pending(1, None))),
        );
        assert_eq!(q.run_pending(1, None).unwrap(), 1);
        let hr = inner.lock().take().unwrap().unwrap_err().hr;
        assert_eq!(hr, rtws_types::E_ILLEGAL_METHOD_CALL);
    }

    #[test]
    fn shut_down_drops_work_and_refuses_more() {
        let q = DispatcherQueue::new().unwrap();
        q.try_enqueue(0, Box::new(|| panic!("ran after shutdown")));
        q.shut_down();
        assert!(!readable(q.fd()));
        assert!(!q.try_enqueue(0, Box::new(|| {})));
        assert_eq!(q.run_pending(10, None).unwrap(), 0);
        assert!(!q.wait(Some(Duration::from_millis(10))));
        assert!(!q.wait(None), "a stopped queue does not block");
    }
}
