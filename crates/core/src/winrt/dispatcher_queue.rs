//! `DispatcherQueue` (modelled on Windows.System.DispatcherQueue): work that runs
//! on the host's own thread. A socket bound to a queue posts every handler and
//! Completed callback here instead of running it on an I/O thread; the host runs
//! what is pending when the queue's file descriptor is readable (poll, epoll,
//! GLib, libuv, asyncio's `add_reader`), or blocks in `wait`.
//!
//! The descriptor is readable exactly while work is pending: it is signalled when
//! the queue goes from empty to not empty (one signal per batch, not per item)
//! and cleared when the last pending item is taken or purged. On Linux it is an
//! epoll descriptor holding that signal and the bound sockets (plain TCP): a
//! message readable on one is work too, and `run_pending` reads it there and then,
//! on the host's thread. The host is woken once per message, by the kernel, instead
//! of an I/O thread being woken to read it and then waking the host.

use crate::session::connection::HostReader;
use crate::session::Finally;
use crate::winrt::runtime::in_handler;
use futures_util::task::AtomicWaker;
use parking_lot::{Condvar, Mutex};
use rtws_types::{Error, Result, E_FAIL};
use std::collections::{HashMap, VecDeque};
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
    /// `run_pending` is reading its sockets: what they queue runs right after, so
    /// the descriptor is not signalled for it (unless some is left at the end).
    reading: bool,
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
    /// The sockets read on the queue's thread, by socket id, and how many there are
    /// (so a queue without any skips the epoll call).
    readers: Mutex<HashMap<u64, (i32, HostReader)>>,
    reader_count: AtomicUsize,
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

/// While `read_sockets` runs on a thread: which queue, and what its RunPending's
/// bounds still allow an event read there to run at once (`run_now`).
#[derive(Clone, Copy)]
struct Direct {
    queue: usize,
    /// Items that may still run (the RunPending's `max_count`, counted down).
    left: u32,
    /// Whether any ran yet: the first always runs, whatever the time.
    ran: bool,
    /// No further item once this has passed (`max_time`).
    deadline: Option<Instant>,
}

const NO_DIRECT: Direct = Direct {
    queue: 0,
    left: 0,
    ran: false,
    deadline: None,
};

thread_local! {
    static DIRECT: std::cell::Cell<Direct> = const { std::cell::Cell::new(NO_DIRECT) };
}

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
            readers: Mutex::new(HashMap::new()),
            reader_count: AtomicUsize::new(0),
        })
    }

    /// Reads socket `id`'s connection on the queue's thread from now on: its
    /// descriptor `fd` joins the queue's. False where the platform cannot (no
    /// epoll) or the queue stopped: the connection task reads it, as for any socket.
    pub fn add_reader(&self, id: u64, fd: i32, reader: HostReader) -> bool {
        // Under the readers' lock: `shut_down` marks the queue stopped before it
        // takes them, so a reader is either refused here or let go there.
        let mut readers = self.readers.lock();
        if self.is_shut_down() || !self.signal.watch(fd, id) {
            return false;
        }
        readers.insert(id, (fd, reader));
        self.reader_count.fetch_add(1, Ordering::AcqRel);
        drop(readers);
        // A `wait` blocked on the condvar (no reader when it looked) must poll the
        // descriptor from now on: under the state lock, so it cannot miss this.
        let _st = self.state.lock();
        self.became_ready.notify_all();
        true
    }

    /// Socket `id`'s connection went (`Connection::drop`, before its descriptor is
    /// closed), or the socket was released (its messages are nobody's any more: its
    /// task reads and drops them by itself): its descriptor leaves the queue's set.
    pub fn remove_reader(&self, id: u64) {
        let removed = self.readers.lock().remove(&id);
        if let Some((fd, reader)) = removed {
            self.reader_count.fetch_sub(1, Ordering::AcqRel);
            self.signal.unwatch(fd);
            reader.let_go();
        }
    }

    /// Reads the bound sockets the kernel reported readable, on this thread. An event
    /// read while the queue holds nothing runs there and then (`run_now`), as the item
    /// it would have become, within the RunPending's bounds (`max_count` items, none
    /// started after `deadline` but the first); the others are queued behind what
    /// waits already, for this RunPending or the next. Returns how many ran.
    fn read_sockets(&self, max_count: u32, deadline: Option<Instant>) -> u32 {
        if self.reader_count.load(Ordering::Acquire) == 0 {
            return 0;
        }
        self.state.lock().reading = true;
        DIRECT.with(|d| {
            d.set(Direct {
                queue: self.key(),
                left: max_count,
                ran: false,
                deadline,
            })
        });
        // Undone even by a panic (which the C boundary catches): a queue left
        // `reading` would never signal its descriptor again.
        let _done = Finally(|| {
            DIRECT.with(|d| d.set(NO_DIRECT));
            self.state.lock().reading = false;
        });
        for id in self.signal.ready_sockets() {
            let reader = self.readers.lock().get(&id).cloned();
            if let Some((_, reader)) = reader {
                reader.poll_here();
            }
        }
        max_count - DIRECT.with(|d| d.get().left)
    }

    /// An event of a socket bound to this queue, found while `read_sockets` reads
    /// it on this thread: true when it may run now, nothing being queued before it
    /// (order stays first come, first run) and the RunPending's bounds allowing
    /// (counted). Saves the event its trip through the queue.
    pub fn run_now(&self) -> bool {
        DIRECT.with(|d| {
            let direct = d.get();
            if direct.queue != self.key() || direct.left == 0 {
                return false;
            }
            if direct.ran && direct.deadline.is_some_and(|t| Instant::now() >= t) {
                return false;
            }
            let st = self.state.lock();
            if st.shut || !st.items.is_empty() {
                return false;
            }
            d.set(Direct {
                left: direct.left - 1,
                ran: true,
                ..direct
            });
            true
        })
    }

    /// Work left when `run_pending` stops (its bounds) keeps the descriptor readable.
    fn signal_leftovers(&self) {
        let mut st = self.state.lock();
        if !st.items.is_empty() && !st.signalled && !st.shut {
            st.signalled = true;
            self.signal.set();
        }
    }

    /// `TryEnqueue`: queues `work` (of `owner`); false once the queue is shut.
    pub fn try_enqueue(&self, owner: u64, work: Work) -> bool {
        let mut st = self.state.lock();
        if st.shut {
            return false;
        }
        st.items.push_back(Item { owner, work });
        if !st.signalled && !st.reading {
            st.signalled = true;
            self.signal.set();
            self.became_ready.notify_all();
        }
        true
    }

    /// The queue's address: names it to the connections it reads (`HostReader`).
    pub fn key(&self) -> usize {
        self as *const Self as usize
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
        let batch = crate::session::connection::Batch::begin(self.key());
        let deadline = max_time.and_then(|t| started.checked_add(t));
        let mut ran = self.read_sockets(max_count, deadline);
        while ran < max_count && (ran == 0 || deadline.is_none_or(|d| Instant::now() < d)) {
            let Some((item, more)) = self.take() else {
                break;
            };
            crate::session::connection::set_more_coming(more && ran + 1 < max_count);
            (item.work)();
            ran += 1;
        }
        batch.finish();
        self.signal_leftovers();
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
            if self.reader_count.load(Ordering::Acquire) > 0 {
                // A message on a bound socket is work too, and only the descriptor
                // tells; `shut_down` wakes this poll through the stop descriptor.
                drop(st);
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if self.signal.readable(left) {
                    return !self.is_shut_down();
                }
                st = self.state.lock();
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                continue;
            }
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
        self.signal.stop();
        // After `shut`: `add_reader` refuses from now on (see there).
        let readers: Vec<_> = self.readers.lock().drain().map(|(_, r)| r).collect();
        self.reader_count.store(0, Ordering::Release);
        for (fd, reader) in readers {
            self.signal.unwatch(fd);
            reader.let_go();
        }
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

/// A descriptor that is readable while set: an eventfd, or a pipe where Linux's
/// eventfd is missing. On Linux the host is given an epoll descriptor holding it
/// (level-triggered: readable while set) and the sockets read on the queue's thread
/// (edge-triggered: reported per arrival until the queue's thread asks).
struct Signal {
    read: i32,
    write: i32,
    /// The epoll descriptor, or -1.
    epoll: i32,
    /// Set once, when the queue stops: wakes a `wait` polling `epoll` (the host's
    /// descriptor stays as it was: nothing is pending). An eventfd, or -1 without
    /// epoll (no socket is read there, so `wait` never polls).
    stop: i32,
}

/// The epoll token of the signal itself; sockets are known by their id.
const SIGNAL_TOKEN: u64 = u64::MAX;
/// A socket's readiness: data or the peer's end, and room to write after a write
/// found none (the socket is out of tokio's reactor: nobody else watches it),
/// edge-triggered: reported once per change, and nothing needs arming again.
#[cfg(target_os = "linux")]
const SOCKET_EVENTS: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
/// At most this many sockets are read per RunPending; the others stay reported.
const READY_BATCH: usize = 32;

impl Signal {
    #[cfg(target_os = "linux")]
    fn new() -> Result<Self> {
        // SAFETY: eventfd takes no pointer; the result is checked below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(os_error("eventfd"));
        }
        let mut signal = Signal {
            read: fd,
            write: fd,
            epoll: -1,
            stop: -1,
        };
        // SAFETY: epoll_create1 takes no pointer; the result is checked below.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(os_error("epoll descriptor"));
        }
        signal.epoll = epoll;
        if !signal.ctl(libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN as u32, SIGNAL_TOKEN) {
            return Err(os_error("epoll descriptor"));
        }
        // SAFETY: eventfd takes no pointer; the result is checked below.
        signal.stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if signal.stop < 0 {
            return Err(os_error("eventfd"));
        }
        Ok(signal)
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
            epoll: -1,
            stop: -1,
        })
    }

    /// The host's descriptor.
    fn fd(&self) -> i32 {
        if self.epoll >= 0 {
            self.epoll
        } else {
            self.read
        }
    }

    #[cfg(target_os = "linux")]
    fn ctl(&self, op: i32, fd: i32, events: u32, token: u64) -> bool {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the call's duration (ignored by
        // EPOLL_CTL_DEL); `epoll` is our descriptor.
        unsafe { libc::epoll_ctl(self.epoll, op, fd, &mut ev) == 0 }
    }

    /// Socket `fd` (of socket `id`) makes the descriptor readable when data arrives.
    #[cfg(target_os = "linux")]
    fn watch(&self, fd: i32, id: u64) -> bool {
        id != SIGNAL_TOKEN && self.ctl(libc::EPOLL_CTL_ADD, fd, SOCKET_EVENTS, id)
    }

    #[cfg(not(target_os = "linux"))]
    fn watch(&self, _fd: i32, _id: u64) -> bool {
        false
    }

    #[cfg(target_os = "linux")]
    fn unwatch(&self, fd: i32) {
        // Fails only when the descriptor went already (closed): nothing to remove.
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
    }

    #[cfg(not(target_os = "linux"))]
    fn unwatch(&self, _fd: i32) {}

    /// The sockets that became readable since last asked (without waiting).
    #[cfg(target_os = "linux")]
    fn ready_sockets(&self) -> impl Iterator<Item = u64> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; READY_BATCH];
        // SAFETY: `events` is writable for READY_BATCH entries; timeout 0 never blocks.
        let n = unsafe { libc::epoll_wait(self.epoll, events.as_mut_ptr(), READY_BATCH as i32, 0) };
        events
            .into_iter()
            .take(n.max(0) as usize)
            .map(|e| e.u64)
            .filter(|&id| id != SIGNAL_TOKEN)
    }

    #[cfg(not(target_os = "linux"))]
    fn ready_sockets(&self) -> impl Iterator<Item = u64> {
        std::iter::empty()
    }

    /// Waits up to `timeout` (None: no bound) for the host's descriptor to be
    /// readable, or for `stop`; true when the host's descriptor is readable.
    fn readable(&self, timeout: Option<Duration>) -> bool {
        let watch = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // poll ignores a negative descriptor (no `stop`).
        let mut p = [watch(self.fd()), watch(self.stop)];
        // Rounded up: a wait of 0.4 ms must not become a poll that only looks.
        let ms = timeout.map_or(-1, |t| {
            t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        });
        // SAFETY: two valid pollfds for the call's duration.
        let n = unsafe { libc::poll(p.as_mut_ptr(), 2, ms) };
        n > 0 && p[0].revents & libc::POLLIN != 0
    }

    /// Wakes a `readable` in progress, and every later one, at once.
    fn stop(&self) {
        if self.stop >= 0 {
            poke(self.stop, 8);
        }
    }

    fn set(&self) {
        // An eventfd takes 8 bytes; a pipe one or more.
        poke(self.write, if self.read == self.write { 8 } else { 1 });
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
            if self.epoll >= 0 {
                libc::close(self.epoll);
            }
            if self.stop >= 0 {
                libc::close(self.stop);
            }
        }
    }
}

/// Makes our descriptor `fd` readable: `len` bytes (8 for an eventfd, at least 1 for
/// a pipe). A full pipe or counter is already readable, so a failed write changes
/// nothing.
fn poke(fd: i32, len: usize) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: `one` holds the at most 8 bytes `len` asks for; `fd` is our descriptor.
    let _ = unsafe { libc::write(fd, one.as_ptr().cast(), len.min(8)) };
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
