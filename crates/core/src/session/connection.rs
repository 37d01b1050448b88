//! One task per connection, from the end of the handshake to the end of the
//! connection: it owns the wire, takes what the command queue brings, writes
//! and reads, and reports to the socket through `session::report`.
//!
//! Everything that touches the wire happens in `Connection::poll_step`, one poll
//! function driving writes, flushes and reads, so a slow peer reader never stops
//! us from reading (no write/read deadlock on large echoes) and no future is ever
//! dropped half-way. The protocol's rules are `rtws_protocol::state::Protocol`'s;
//! this task moves its bytes and keeps its time (timeouts, keepalive, trimming).
//!
//! May import: `net`, `session`, `rtws-protocol`, `rtws-types`. Never `winrt`.

use crate::net::protocol_errors;
use crate::net::traffic::Traffic;
use crate::net::wire::Wire;
use crate::session::connect::Timing;
use crate::session::payload::Payload;
use crate::session::queue::{queue, Receiver, Sender};
use crate::session::report::{Completion, Delivery, Ending, Events};
use bytes::BytesMut;
use parking_lot::Mutex;
use rtws_protocol::deflate::Agreed;
use rtws_protocol::state::{Closure, Event, Protocol, SendError, ABNORMAL_CLOSURE};
use rtws_protocol::DataKind;
use rtws_types::*;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::time::Sleep;

/// How long a close handshake we started may wait for the peer's reply.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Queued sends are flushed when reading would block, or at these sizes.
const FLUSH_BATCH_MESSAGES: usize = 32;
const FLUSH_BATCH_BYTES: usize = 64 * 1024;
/// No more commands are taken while this much output waits for the kernel: a
/// fast writer is held back by its pending operations, not by our memory.
const OUT_LIMIT: usize = 256 * 1024;
/// A message arriving in pieces gets room for up to this much of its frame at once.
const ASSEMBLY_RESERVE: u64 = 64 * 1024 * 1024;
/// Buffers up to this size are kept for the connection's life; larger ones are
/// reused while in use (no allocation and page faults per large message) and let
/// go after `TRIM_AFTER` without use.
const OUT_KEEP: usize = 64 * 1024;
/// After a failed write, how long what the peer sent before may still be read
/// (a reset ends reading at once; this bounds a peer that somehow goes on).
const WRITE_FAILURE_GRACE: Duration = Duration::from_secs(1);
/// Large buffers (output, message assembly) unused for this long are let go.
const TRIM_AFTER: Duration = Duration::from_secs(1);
/// A socket read on its queue's thread is also looked at by its task this often, so
/// a host that stops running its queue (a frozen GUI) still has pings answered, the
/// peer's close seen and blocked writes retried.
const HOST_LOOK: Duration = Duration::from_secs(1);

/// What the socket's users ask of its connection task.
pub enum Command {
    /// One frame of a message: `fin` ends the message (a whole message is one
    /// frame with `fin`). The type is the message's first frame's.
    Send {
        data: Payload,
        kind: DataKind,
        fin: bool,
        op: Arc<dyn Completion<u32>>,
    },
    Flush(Arc<dyn Completion<bool>>),
    /// Our close frame: its code and reason, or none (an empty close frame).
    Close(Option<(u16, String)>),
}

/// A send the host's thread wrote and the kernel took whole (or refused): its
/// operation and result, completed once the slot's lock is let go.
type Finished = (Arc<dyn Completion<u32>>, Result<u32>);

/// The socket's end of its connection: commands reach the task in call order.
///
/// A send that finds the connection idle (nothing queued or unwritten before it,
/// the task not running) and is a request after its answer (`Cadence`), not in the
/// middle of a RunPending batch, is written at once on the calling thread, and completed
/// there when the kernel takes it whole: a host thread that sends and waits costs
/// no wake-up of an I/O thread and no hop back. Only `try_lock`: a send never
/// waits for the task (which may be running this very thread's handler).
pub struct Link {
    commands: Sender<Command>,
    task: Arc<Mutex<Option<Connection>>>,
    /// Set when the connection is read on its queue's thread (`read_on_host`):
    /// sends from that queue's RunPending are written when the batch ends.
    host: std::sync::OnceLock<HostReader>,
    /// Which sends may be written at once (see `Cadence`), judged on every send.
    cadence: Mutex<Cadence>,
    traffic: Arc<Traffic>,
}

/// The task's end of a `Link`: where `Connection::run` keeps the connection while
/// it runs, so that a host thread's send can take it between polls.
pub struct Slot(Arc<Mutex<Option<Connection>>>);

/// What a DispatcherQueue keeps to read a connection on the thread that runs it
/// (see `Connection::read_on_host`): a message then reaches the host without a
/// wake-up of an I/O thread and a hop back, the receive counterpart of
/// `Link::write_now`.
#[derive(Clone)]
pub struct HostReader {
    slot: Arc<Mutex<Option<Connection>>>,
    host: Arc<HostSide>,
    /// The queue that reads it (its address: what `Batch::begin` is given).
    queue: usize,
}

/// What the connection task and the host's thread share in that mode.
struct HostSide {
    /// The task's waker: the host polls the connection as the task would, so what
    /// it leaves registered (a write's readiness, a timer) wakes the task.
    task: Mutex<Option<Waker>>,
    /// The queue was let go: the task reads by tokio's readiness again.
    gone: AtomicBool,
    /// The task found the connection held (a host's thread running its handlers in
    /// a poll): whoever holds it wakes the task when it lets go (`let_go_slot`).
    repoll: AtomicBool,
    /// The host's thread may have left data unread (it found the connection busy, or
    /// the backlog full): the task's next poll reads the socket itself.
    owed: AtomicBool,
    /// The runtime the task runs on: a poll on the host's thread makes its timers.
    rt: tokio::runtime::Handle,
}

impl HostSide {
    fn wake_task(&self) {
        if let Some(w) = self.task.lock().as_ref() {
            w.wake_by_ref();
        }
    }

    /// The task's waker, kept for the host's polls and wake-ups.
    fn remember(&self, waker: &Waker) {
        let mut task = self.task.lock();
        if !task.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *task = Some(waker.clone());
        }
    }

    /// The task takes its connection: never waiting for a host's thread, which may
    /// hold it for as long as its handlers run. When held, the holder wakes the task
    /// as it lets go (`repoll`, checked in `let_go_slot`).
    fn hold<'a>(
        &self,
        slot: &'a Mutex<Option<Connection>>,
        waker: &Waker,
    ) -> Option<parking_lot::MutexGuard<'a, Option<Connection>>> {
        self.remember(waker);
        slot.try_lock().or_else(|| {
            self.repoll.store(true, Ordering::Release);
            // Again: the holder may have let go before it could see `repoll`.
            slot.try_lock()
        })
    }

    /// Called by whoever held the connection, after letting it go.
    fn let_go_slot(&self) {
        if self.repoll.swap(false, Ordering::AcqRel) {
            self.wake_task();
        }
    }
}

impl HostReader {
    /// On the runtime's threads only (None elsewhere). `queue` names the queue.
    pub fn new(slot: &Slot, queue: usize) -> Option<Self> {
        Some(HostReader {
            queue,
            slot: slot.0.clone(),
            host: Arc::new(HostSide {
                task: Mutex::new(None),
                gone: AtomicBool::new(false),
                repoll: AtomicBool::new(false),
                owed: AtomicBool::new(true),
                rt: tokio::runtime::Handle::try_current().ok()?,
            }),
        })
    }

    /// The socket is readable (the queue's descriptor said so): reads and handles
    /// what came, on this thread. When the task holds the connection right now, it
    /// is woken to read instead (its poll may have passed its read already).
    pub fn poll_here(&self) {
        match self.slot.try_lock() {
            Some(mut slot) => {
                if let Some(conn) = slot.as_mut() {
                    let _rt = self.host.rt.enter();
                    conn.poll_on_host();
                }
                drop(slot);
                self.host.let_go_slot();
            }
            None => {
                self.host.owed.store(true, Ordering::Release);
                self.host.wake_task();
            }
        }
    }

    /// The queue stops: the task reads by itself from now on.
    pub fn let_go(&self) {
        self.host.gone.store(true, Ordering::Release);
        self.host.wake_task();
    }
}

/// A link with nothing behind it yet: `Connection::new` takes the receiver and
/// `Connection::run` the slot.
pub fn link(traffic: Arc<Traffic>) -> (Link, Receiver<Command>, Slot) {
    let (commands, rx) = queue();
    let task = Arc::new(Mutex::new(None));
    (
        Link {
            commands,
            task: task.clone(),
            host: std::sync::OnceLock::new(),
            cadence: Mutex::new(Cadence::default()),
            traffic,
        },
        rx,
        Slot(task),
    )
}

impl Link {
    /// Hands `cmd` to the connection; gives it back when the connection is over.
    pub fn send(&self, cmd: Command) -> std::result::Result<(), Command> {
        if DELIVERING.with(|d| d.get()) == self.commands.id() {
            // A handler of this connection's own event: the poll delivering it holds
            // the connection (nothing can be written here) and takes the command in
            // its next pass. Waking the task from inside its poll would only cost
            // tokio a second poll that finds nothing.
            return self.commands.send_quiet(cmd);
        }
        let cmd = match self.write_now(cmd) {
            Ok(()) => return Ok(()),
            Err(cmd) => cmd,
        };
        let cmd = match self.host.get() {
            Some(host) => match Batch::defer(host, &self.commands, cmd) {
                Ok(()) => return Ok(()),
                Err(cmd) => cmd,
            },
            None => cmd,
        };
        self.commands.send(cmd)
    }

    /// The connection is read on its queue's thread through `reader` (see
    /// `Connection::read_on_host`).
    pub fn read_on_host(&self, reader: &HostReader) {
        let _ = self.host.set(reader.clone());
    }

    fn write_now(&self, cmd: Command) -> std::result::Result<(), Command> {
        if !matches!(cmd, Command::Send { .. }) {
            return Err(cmd);
        }
        let alone = self.cadence.lock().alone(self.traffic.total_received());
        if !alone || MORE_COMING.with(|m| m.get()) {
            return Err(cmd);
        }
        let Some(mut task) = self.task.try_lock() else {
            return Err(cmd);
        };
        let Some(conn) = task.as_mut() else {
            return Err(cmd);
        };
        let sent = conn.send_now(cmd);
        drop(task);
        if let Some(reader) = self.host.get() {
            reader.host.let_go_slot();
        }
        let (finished, left) = sent?;
        if left {
            // Its next poll writes the rest (and registers its waker again).
            self.commands.wake();
        }
        if let Some((op, result)) = finished {
            op.finish(result);
        }
        Ok(())
    }
}

thread_local! {
    /// The command queue (`Receiver::id`) of the connection whose event this thread
    /// is delivering, or 0: `Connection::on_event`, which the poll follows with at
    /// least one more pass, taking the commands queued meanwhile.
    static DELIVERING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

thread_local! {
    /// This thread runs a batch of host work (a DispatcherQueue's RunPending) with
    /// more items after the current one: its sends go to the task, which writes them
    /// together, instead of one write each.
    static MORE_COMING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tells `Link::send` on this thread whether more host work follows the current
/// item (see `MORE_COMING`).
pub fn set_more_coming(more: bool) {
    MORE_COMING.with(|m| m.set(more));
}

thread_local! {
    /// The queue whose RunPending runs on this thread (0: none), and the connections
    /// read by it that its work sent to: their commands wait, unwoken, for the end.
    static BATCH: std::cell::RefCell<(usize, Vec<HostReader>)> =
        const { std::cell::RefCell::new((0, Vec::new())) };
}

/// A RunPending's run of work: the sends it makes to connections its queue reads are
/// queued without waking their tasks, and written by `finish` on this thread, many per
/// write: the queue's thread reads, handles and answers with no I/O thread in between,
/// as the inline path does on an I/O thread. (A Wait there for such a send is refused:
/// its Completed belongs to the same queue.)
pub struct Batch(());

impl Batch {
    /// Work of the queue at address `queue` is about to run on this thread.
    pub fn begin(queue: usize) -> Self {
        BATCH.with(|b| b.borrow_mut().0 = queue);
        Batch(())
    }

    /// Writes what the batch sent (its connections polled here, with their tasks'
    /// wakers: what is left, the tasks finish).
    pub fn finish(self) {
        // Polled unborrowed: nothing a poll runs may find the batch taken.
        let mut readers = Self::end();
        for reader in &readers {
            reader.poll_here();
        }
        // The vector's room is kept for the next batch (`Drop` would take it again).
        readers.clear();
        BATCH.with(|b| b.borrow_mut().1 = readers);
        std::mem::forget(self);
    }

    /// Ends the batch on this thread: the connections it sent to.
    fn end() -> Vec<HostReader> {
        BATCH.with(|b| {
            let mut b = b.borrow_mut();
            b.0 = 0;
            std::mem::take(&mut b.1)
        })
    }

    /// Queues `cmd` for the end of the running batch if `host`'s queue runs one on
    /// this thread; gives it back otherwise.
    fn defer(
        host: &HostReader,
        commands: &Sender<Command>,
        cmd: Command,
    ) -> std::result::Result<(), Command> {
        // `try_with`: a socket released by another thread-local's destructor may send
        // its close after this one is gone; it then goes the usual way.
        let in_batch = BATCH
            .try_with(|b| b.borrow().0 == host.queue)
            .unwrap_or(false);
        if !in_batch {
            return Err(cmd);
        }
        commands.send_quiet(cmd)?;
        BATCH.with(|b| {
            let mut b = b.borrow_mut();
            if !b.1.iter().any(|r| Arc::ptr_eq(&r.host, &host.host)) {
                b.1.push(host.clone());
            }
        });
        Ok(())
    }
}

impl Drop for Batch {
    /// A batch left early (a panic) still lets its tasks write what it queued.
    fn drop(&mut self) {
        for reader in Self::end() {
            reader.host.wake_task();
        }
    }
}

/// The rhythm of a connection's sends: a host thread writes a send itself only when
/// it is the first of an interval (the sends between two that found something
/// received since) after an interval of at most one send: a request and its answer.
/// A host sending in bursts has its sends go to the task, which writes them together
/// (one syscall for many, where each write on loopback costs the whole TCP path, and
/// a burst's first send written apart costs a segment more).
#[derive(Default)]
struct Cadence {
    /// Bytes received when the current interval began.
    received: u64,
    /// Sends in the current interval, and in the one before.
    sends: u64,
    before: u64,
}

impl Cadence {
    /// Counts a send, `received` bytes having come in so far: whether it is alone.
    fn alone(&mut self, received: u64) -> bool {
        if received != self.received || self.sends == 0 {
            self.received = received;
            self.before = std::mem::take(&mut self.sends);
        }
        self.sends += 1;
        self.sends == 1 && self.before <= 1
    }
}

/// A connection task dropped mid-way (runtime shutdown) lets its connection go,
/// which finishes every operation, even while a socket still holds the link.
struct Vacate(Arc<Mutex<Option<Connection>>>);

impl Drop for Vacate {
    fn drop(&mut self) {
        let conn = self.0.lock().take();
        drop(conn);
    }
}

/// Fires when `active` stays true and `progress` stays the same for `limit`.
///
/// Cheap on the hot path: moving the deadline only records it; the one timer,
/// allocated once, is re-armed when it fires early (at most once per `limit`).
#[derive(Default)]
struct StallTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    /// When the stall would be declared; `None` while inactive or just restarted.
    due: Option<tokio::time::Instant>,
    at: u64,
}

impl StallTimer {
    /// The stall being timed is due: whether it is real needs one more look.
    fn due(&self) -> bool {
        self.due
            .is_some_and(|due| tokio::time::Instant::now() >= due)
    }

    fn poll(&mut self, cx: &mut Context<'_>, active: bool, progress: u64, limit: Duration) -> bool {
        if !active {
            self.due = None;
            return false;
        }
        let due = match self.due {
            Some(due) if self.at == progress => due,
            _ => {
                self.at = progress;
                *self.due.insert(tokio::time::Instant::now() + limit)
            }
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        if tokio::time::Instant::now() >= due {
            return true;
        }
        // The deadline moved on since the timer was set: wait for the new one.
        sleep.as_mut().reset(due);
        let _ = sleep.as_mut().poll(cx);
        false
    }
}

pub struct Connection {
    /// The socket's number, naming it in the log.
    socket: u64,
    /// The host asked to close (Close) before the server's close frame came.
    closed_by_us: bool,
    events: Arc<dyn Events>,
    wire: Wire,
    /// RFC 6455 after the handshake: frames in and out, the close handshake,
    /// pongs, fragmentation. This task moves its bytes and keeps its time.
    protocol: Protocol,
    delivery: Delivery,
    /// The message being put together (FullMessage), when it came in pieces.
    assembling: BytesMut,
    commands: Receiver<Command>,
    commands_open: bool,
    /// Sends queued and not yet reported: the operation, its length, its end offset.
    unflushed: VecDeque<(Arc<dyn Completion<u32>>, u32, u64)>,
    flushes: Vec<Arc<dyn Completion<bool>>>,
    /// Data read since the last write attempt: a flood of input must not keep our
    /// output (or its timeout) waiting.
    reads_since_flush: usize,
    /// A write on a host thread failed (`send_now`): the task's next write reports it.
    deferred_write_error: Option<Error>,
    /// Set once we sent a close frame: the deadline for the peer's reply.
    close_deadline: Option<Pin<Box<Sleep>>>,
    /// Writing failed: the connection ends with this error once reading has
    /// nothing more, or when the grace (`WRITE_FAILURE_GRACE`) is over.
    write_failure: Option<(Error, Pin<Box<Sleep>>)>,
    timing: Timing,
    /// Armed while output is pending; pushed back whenever some of it is written.
    send_stall: StallTimer,
    /// Armed while a message is half received; pushed back whenever a byte arrives.
    receive_stall: StallTimer,
    pong_timer: Option<tokio::time::Interval>,
    /// Lets large buffers go once unused for `TRIM_AFTER`; `large_uses` counts uses.
    trim: StallTimer,
    large_uses: u64,
    /// Read on the thread of the socket's DispatcherQueue (`read_on_host`): the
    /// socket is read without tokio's readiness, by whoever polls.
    host: Option<Arc<HostSide>>,
    /// A poll on the host's thread ended the connection: the task finishes it.
    ended: Option<Ending>,
    /// This poll runs on the host's thread (`poll_on_host`).
    on_host: bool,
    /// The task's own look at a socket the host's thread reads (`HOST_LOOK`).
    host_look: Option<tokio::time::Interval>,
    /// Takes the socket out of its queue's set (`read_on_host`).
    unwatch: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for Connection {
    /// A task dropped mid-way (runtime shutdown) still finishes every operation.
    fn drop(&mut self) {
        let err = Error::new(
            RTWS_E_OPERATION_ABORTED,
            "the connection was dropped: rtws was shut down",
        );
        if let Delivery::Stream(sink) = &self.delivery {
            sink.finish(Err(err.clone()));
        }
        self.fail_pending(&err);
        // Before the wire's descriptor closes (the fields drop after this).
        if let Some(unwatch) = self.unwatch.take() {
            unwatch();
        }
    }
}

impl Connection {
    pub fn new(
        socket: u64,
        events: Arc<dyn Events>,
        wire: Wire,
        delivery: Delivery,
        commands: Receiver<Command>,
        timing: Timing,
        deflate: Option<Agreed>,
    ) -> Self {
        let pong_timer = (!timing.pong_interval.is_zero()).then(|| {
            let start = tokio::time::Instant::now() + timing.pong_interval;
            let mut t = tokio::time::interval_at(start, timing.pong_interval);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let (max_message, binary_only) = match &delivery {
            Delivery::Messages(max) | Delivery::Pieces(max) => (*max, false),
            Delivery::Stream(_) => (None, true),
        };
        let mut protocol = Protocol::new(max_message, binary_only, wire.written(), OUT_LIMIT);
        if let Some(agreed) = deflate {
            protocol = protocol.with_deflate(agreed);
        }
        Connection {
            timing,
            send_stall: StallTimer::default(),
            receive_stall: StallTimer::default(),
            pong_timer,
            trim: StallTimer::default(),
            large_uses: 0,
            socket,
            closed_by_us: false,
            events,
            protocol,
            wire,
            delivery,
            assembling: BytesMut::new(),
            commands,
            commands_open: true,
            unflushed: VecDeque::new(),
            flushes: Vec::new(),
            reads_since_flush: 0,
            close_deadline: None,
            write_failure: None,
            deferred_write_error: None,
            host: None,
            ended: None,
            on_host: false,
            host_look: None,
            unwatch: None,
        }
    }

    /// The socket's readiness goes to a DispatcherQueue's descriptor, whose thread
    /// reads it through `reader` when it runs the queue; the task reads it too
    /// whenever it runs (commands, timers, room again after backpressure), so
    /// nothing waits on the host but what the host's own events hold back.
    /// `unwatch` takes the socket out of the queue's set: run when the connection
    /// goes, however it goes, while its descriptor is still open (a later socket
    /// given the same number must not lose its place).
    pub fn read_on_host(
        mut self,
        reader: &HostReader,
        unwatch: impl FnOnce() + Send + 'static,
    ) -> Self {
        self.host = Some(reader.host.clone());
        self.unwatch = Some(Box::new(unwatch));
        self
    }

    /// The connection's task: the connection goes into its slot now, so the future
    /// (which lives as long as the connection, in its own allocation) holds only
    /// the slot and the host, not room for a moved-in `Connection` (1.9 KiB less
    /// per open connection).
    pub fn run(self, slot: Slot) -> impl Future<Output = ()> + Send + 'static {
        let slot = Vacate(slot.0);
        let host = self.host.clone();
        *slot.0.lock() = Some(self);
        Self::drive(slot, host)
    }

    async fn drive(slot: Vacate, host: Option<Arc<HostSide>>) {
        let ending = std::future::poll_fn(|cx| {
            let mut held = match &host {
                None => slot.0.lock(),
                Some(host) => match host.hold(&slot.0, cx.waker()) {
                    Some(held) => held,
                    None => return Poll::Pending,
                },
            };
            match held.as_mut() {
                Some(conn) => match conn.ended.take() {
                    Some(ending) => Poll::Ready(ending),
                    None => conn.poll_step(cx),
                },
                None => unreachable!("the slot is emptied only below or by Vacate"),
            }
        })
        .await;
        // Sends from now on are queued, and failed by `fail_pending`.
        let Some(mut conn) = slot.0.lock().take() else {
            return;
        };
        conn.finish(ending);
    }

    fn finish(&mut self, ending: Ending) {
        let pending_error = ending
            .failure
            .clone()
            .unwrap_or_else(|| Error::closed("the WebSocket"));
        self.fail_pending(&pending_error);
        self.log_ending(&ending);
        self.events.closing();
        if let Delivery::Stream(sink) = &self.delivery {
            // After a close handshake, reads find the end of the stream (0 bytes).
            sink.finish(ending.failure.clone().map_or(Ok(()), Err));
        }
        self.events.ended(ending);
    }

    /// Who closed, with which code; a failure with its HRESULT. Never the reason's
    /// text (it comes from the peer, like payload).
    fn log_ending(&self, ending: &Ending) {
        let (socket, code) = (self.socket, ending.code);
        match &ending.failure {
            Some(e) if code == ABNORMAL_CLOSURE => log::warn!(
                target: "rtws::connection",
                "socket {socket}: connection lost (1006): {e}"
            ),
            Some(e) => log::warn!(
                target: "rtws::connection",
                "socket {socket}: rtws failed the connection with close code {code}: {e}"
            ),
            None if code == ABNORMAL_CLOSURE => log::info!(
                target: "rtws::connection",
                "socket {socket}: the host closed it; the server sent no close frame in time (1006)"
            ),
            None => log::info!(
                target: "rtws::connection",
                "socket {socket}: closed by {} with code {code} (reason: {} bytes)",
                if self.closed_by_us { "the host" } else { "the server" },
                ending.reason.len()
            ),
        }
    }

    fn fail_pending(&mut self, err: &Error) {
        for (op, _, _) in self.unflushed.drain(..) {
            op.complete(Err(err.clone()));
        }
        for op in self.flushes.drain(..) {
            op.complete(Err(err.clone()));
        }
        for cmd in self.commands.close_and_drain() {
            match cmd {
                Command::Send { op, .. } => {
                    op.complete(Err(err.clone()));
                }
                Command::Flush(op) => {
                    op.complete(Err(err.clone()));
                }
                Command::Close(_) => {}
            }
        }
    }

    fn unwritten(&self) -> usize {
        self.protocol.unwritten()
    }

    /// Output was queued: a large output buffer in use is not idle.
    fn output_used(&mut self) {
        if self.protocol.output_capacity() > OUT_KEEP {
            self.large_uses += 1;
        }
    }

    /// Our close frame went into the output (at most once): the peer's reply is
    /// awaited for `limit`.
    fn close_sent(&mut self, limit: Duration) {
        self.output_used();
        if self.close_deadline.is_none() {
            self.close_deadline = Some(Box::pin(tokio::time::sleep(limit)));
        }
    }

    /// Commands are taken while the queue is open, no close frame went out and the
    /// output is not too far behind.
    fn taking_commands(&self) -> bool {
        self.commands_open && !self.protocol.close_sent() && self.unwritten() < OUT_LIMIT
    }

    /// Moves one command into the output; false when there was none to take. With
    /// `cx`, asks as before sleeping (and registers for a wake-up); without, only
    /// takes one already queued (a look per pass that finds nothing costs no lock).
    fn take_command(&mut self, cx: Option<&mut Context<'_>>) -> bool {
        let cmd = match cx {
            None => match self.commands.try_recv() {
                Some(cmd) => cmd,
                None => return false,
            },
            Some(cx) => match self.commands.poll_recv(cx) {
                Poll::Ready(Some(cmd)) => cmd,
                Poll::Ready(None) => {
                    self.commands_open = false;
                    return false;
                }
                Poll::Pending => return false,
            },
        };
        if let Some((op, result)) = self.apply(cmd) {
            op.finish(result);
        }
        true
    }

    /// Puts a command's frame into the output; a send refused at once comes back
    /// with its error, for the caller to complete.
    fn apply(&mut self, cmd: Command) -> Option<Finished> {
        match cmd {
            Command::Send {
                data,
                kind,
                fin,
                op,
            } => {
                // A canceled frame of a message already begun still goes out: the
                // message must stay whole on the wire.
                if op.is_canceled() && self.protocol.between_messages() {
                    return None;
                }
                let protocol = &mut self.protocol;
                let len = data.len() as u32;
                let sent = match data {
                    Payload::Inline { .. } => protocol.send_data(kind, fin, data.as_slice()),
                    // Bytes nobody changes: a long payload is masked as it goes out.
                    Payload::Shared(bytes) => protocol.send_shared(kind, fin, bytes),
                }
                .map(|end| (len, end));
                match sent {
                    Ok((len, end)) => {
                        self.output_used();
                        self.unflushed.push_back((op, len, end));
                    }
                    Err(SendError::InvalidUtf8) => {
                        let err = Error::new(
                            RTWS_E_NO_UNICODE_TRANSLATION,
                            "MessageType is Utf8 but the stored bytes are not valid UTF-8",
                        );
                        return Some((op, Err(err)));
                    }
                }
            }
            Command::Flush(op) => self.flushes.push(op),
            Command::Close(status) => {
                self.closed_by_us |= self.protocol.reading();
                if self
                    .protocol
                    .send_close(status.as_ref().map(|(c, r)| (*c, r.as_str())))
                {
                    self.close_sent(CLOSE_TIMEOUT);
                }
            }
        }
        None
    }

    /// `Link::write_now` on a host thread, between the task's polls (or before its
    /// first): a send into an idle connection is framed and written at once. Returns
    /// the send if it finished (written whole, or refused), and whether output is left
    /// for the task; gives the command back when anything is queued or unwritten
    /// before it (order) or the connection is closing.
    fn send_now(&mut self, cmd: Command) -> std::result::Result<(Option<Finished>, bool), Command> {
        let idle = self.commands_open
            && self.ended.is_none()
            && !self.protocol.close_sent()
            && self.protocol.failure().is_none()
            && self.write_failure.is_none()
            && self.unwritten() == 0
            && self.unflushed.is_empty()
            && self.flushes.is_empty()
            && self.commands.is_empty();
        if !idle {
            return Err(cmd);
        }
        if let Some(refused) = self.apply(cmd) {
            return Ok((Some(refused), false));
        }
        // A waker that wakes nothing: what it leaves registered, the task's next poll
        // replaces (the caller wakes the task whenever output is left).
        let mut cx = Context::from_waker(Waker::noop());
        if let Err(e) = self.write_out(&mut cx) {
            self.deferred_write_error = Some(e);
        }
        // The one send queued: done if the kernel took its last byte.
        Ok((self.pop_written(), self.unwritten() > 0))
    }

    /// `HostReader::poll_here`: one poll on the host's thread, with the task's waker.
    /// Before the task's first poll there is none: that poll reads anyway.
    fn poll_on_host(&mut self) {
        let Some(waker) = self.host.as_ref().and_then(|h| h.task.lock().clone()) else {
            return;
        };
        if self.ended.is_some() {
            return;
        }
        self.on_host = true;
        let step = self.poll_step(&mut Context::from_waker(&waker));
        self.on_host = false;
        if let Poll::Ready(ending) = step {
            self.ended = Some(ending);
            waker.wake();
        }
    }

    /// The host's thread reads (and watches) the socket: until its queue is let go,
    /// our close frame is out (the reply is awaited by the task: a host that closed
    /// and stopped running its queue still gets the connection closed at once), or a
    /// write failed.
    fn read_by_host(&self) -> bool {
        self.host
            .as_ref()
            .is_some_and(|h| !h.gone.load(Ordering::Acquire))
            && !self.protocol.close_sent()
            && self.write_failure.is_none()
    }

    /// Reads what the socket has: directly while a host's thread watches the
    /// socket (`read_by_host`), else by tokio's readiness.
    ///
    /// The task itself reads such a socket only for what the host's thread left
    /// (`owed`, until the socket is dry: the descriptor reports arrivals, not data
    /// left behind), when a message half received is due to time out (the timeout
    /// is the task's to keep: one look first), and once every `HOST_LOOK`.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        let host = match &self.host {
            Some(host) if self.read_by_host() => host,
            _ => return self.wire.poll_fill(cx),
        };
        // Cleared before the read: a host that finds the connection busy meanwhile
        // sets it again, and the next pass reads what it saw.
        let owed = host.owed.swap(false, Ordering::AcqRel);
        let look = self
            .host_look
            .get_or_insert_with(|| {
                let first = tokio::time::Instant::now() + HOST_LOOK;
                let mut t = tokio::time::interval_at(first, HOST_LOOK);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            })
            .poll_tick(cx)
            .is_ready();
        if !(self.on_host || owed || look || self.receive_stall.due()) {
            return Poll::Pending;
        }
        let filled = self.wire.fill_direct(cx);
        if owed && filled.is_ready() {
            // Not dry yet: the rest is still owed.
            host.owed.store(true, Ordering::Release);
        }
        filled
    }

    /// The oldest send whose last byte the kernel has taken, whatever follows it.
    fn pop_written(&mut self) -> Option<Finished> {
        let written = self.wire.written();
        let (_, _, end) = self.unflushed.front()?;
        if *end > written {
            return None;
        }
        let (op, len, _) = self.unflushed.pop_front()?;
        Some((op, Ok(len)))
    }

    /// Writes what the kernel takes of the output.
    fn write_out(&mut self, cx: &mut Context<'_>) -> std::result::Result<bool, Error> {
        if let Some(e) = self.deferred_write_error.take() {
            return Err(e);
        }
        let mut wrote = false;
        while self.unwritten() > 0 {
            match self.wire.poll_send(cx, self.protocol.output()) {
                Poll::Ready(Ok(n)) => {
                    wrote = true;
                    self.protocol.consumed(n);
                }
                Poll::Ready(Err(e)) => return Err(Error::from_io(&e, "WebSocket connection")),
                Poll::Pending => break,
            }
        }
        Ok(wrote)
    }

    /// There is room for more input while the host keeps up: with a stream's reads,
    /// and with the events its DispatcherQueue holds (otherwise TCP holds the
    /// server back).
    fn input_room(&self, cx: &mut Context<'_>) -> bool {
        self.sink_room(cx) && self.events.poll_room(cx)
    }

    /// A StreamWebSocket's input stream has room (always, for messages).
    fn sink_room(&self, cx: &mut Context<'_>) -> bool {
        match &self.delivery {
            Delivery::Stream(sink) => sink.poll_room(cx),
            _ => true,
        }
    }

    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Ending> {
        loop {
            // A socket no host's thread watches any more is tokio's again.
            if self.wire.is_bare() && !self.read_by_host() {
                if let Err(e) = self.wire.join_reactor() {
                    return Poll::Ready(self.lost(Error::from_io(&e, "WebSocket connection")));
                }
            }
            let mut progress = false;
            let mut read_pending = false;
            // This pass asked the socket and it had nothing (not: no room for input).
            let mut socket_dry = false;

            // 1. Move queued commands into the output, unless much is still unwritten.
            while self.taking_commands() && self.take_command(None) {
                progress = true;
            }

            // 2. Handle one frame (or piece) received. After a read failure, or once the
            //    peer's close frame came, the read side is over.
            if self.protocol.failure().is_some() {
                if self.unwritten() == 0 {
                    return Poll::Ready(self.stream_ended());
                }
            } else if self.protocol.reading() {
                // Events the host has not run yet hold the next one back, even when
                // its bytes are here already: the backlog's bound is per event.
                // Inflating makes input without reading the network: a stream's
                // buffer must have room for it too (a bomb stays in the decompressor).
                let room =
                    self.events.poll_room(cx) && (!self.protocol.inflating() || self.sink_room(cx));
                let event = if room {
                    self.protocol.read(&mut self.wire.buf)
                } else {
                    // Room again wakes the task, not the host's thread: it reads then.
                    if let Some(host) = &self.host {
                        host.owed.store(true, Ordering::Release);
                    }
                    read_pending = true;
                    None
                };
                match event {
                    Some(event) => {
                        progress = true;
                        self.reads_since_flush += 1;
                        self.on_event(event);
                    }
                    // The events' room was asked just above.
                    None if read_pending || !self.sink_room(cx) => read_pending = true,
                    None => match self.fill(cx) {
                        Poll::Ready(Ok(0)) => return Poll::Ready(self.stream_ended()),
                        Poll::Ready(Ok(_)) => {
                            progress = true;
                            // What just came in usually ends a frame: handled in this
                            // pass, not one more (a pass per message fewer when they
                            // come one at a time). The room asked above still holds:
                            // nothing was delivered since.
                            if let Some(event) = self.protocol.read(&mut self.wire.buf) {
                                self.reads_since_flush += 1;
                                self.on_event(event);
                            }
                        }
                        Poll::Ready(Err(e)) => {
                            return Poll::Ready(
                                self.lost(Error::from_io(&e, "WebSocket connection")),
                            )
                        }
                        Poll::Pending => {
                            read_pending = true;
                            socket_dry = true;
                        }
                    },
                }
            }

            // 3. Write. While messages keep arriving, replies queue up and go out in one
            //    write when reading would block (or enough piled up): one syscall for
            //    many echoes.
            let batch_full = self.unflushed.len() >= FLUSH_BATCH_MESSAGES
                || self.unwritten() >= FLUSH_BATCH_BYTES
                || self.reads_since_flush >= FLUSH_BATCH_MESSAGES;
            let closing = !self.protocol.reading() || self.protocol.close_sent();
            let write_tried = self.unwritten() > 0
                && (read_pending || batch_full || closing)
                && self.write_failure.is_none();
            if write_tried {
                self.reads_since_flush = 0;
                match self.write_out(cx) {
                    Ok(wrote) => progress |= wrote,
                    Err(e) => {
                        // Reading goes on first (next pass: this one's read may be
                        // older than the reset), for at most WRITE_FAILURE_GRACE.
                        let grace = Box::pin(tokio::time::sleep(WRITE_FAILURE_GRACE));
                        self.write_failure = Some((fail_to_aborted(e), grace));
                        continue;
                    }
                }
            }
            // A failed write ends the connection once what was received before the
            // failure is delivered: a reset peer's last messages are not lost.
            if let Some((_, grace)) = self.write_failure.as_mut() {
                let grace_over = grace.as_mut().poll(cx).is_ready();
                if socket_dry || grace_over || !self.protocol.reading() {
                    let err = self.write_failure.take().map(|(e, _)| e);
                    return Poll::Ready(self.ending(err));
                }
            }
            if self.protocol.answer_pending_ping() {
                progress = true;
                self.output_used();
            }
            // Sends whose last byte the kernel has taken are done, whatever follows them;
            // then flushes, which report that everything before them is out.
            while let Some((op, result)) = self.pop_written() {
                op.finish(result);
            }
            if self.unwritten() == 0 {
                for op in self.flushes.drain(..) {
                    op.complete(Ok(true));
                }
            }

            // The peer closed and our reply is on the wire: the close handshake is over,
            // whether or not the server ever closes TCP (RFC 6455 §7.1.1 lets the client
            // close it).
            if self.protocol.peer_close().is_some() && self.unwritten() == 0 {
                return Poll::Ready(self.ending(None));
            }

            // 4. Keepalive: an unsolicited pong every interval (RFC 6455 §5.5.3).
            if let Some(timer) = self.pong_timer.as_mut() {
                if timer.poll_tick(cx).is_ready() && self.protocol.send_keepalive() {
                    progress = true;
                    self.output_used();
                }
            }

            // 5. Output, or a message half received, that makes no progress for its
            //    timeout fails the connection.
            if let Some(ending) = self.poll_stalls(cx, write_tried, read_pending) {
                return Poll::Ready(ending);
            }

            if let Some(deadline) = self.close_deadline.as_mut() {
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(self.ending(None));
                }
            }

            if !progress {
                // Before sleeping, the queue is asked the way that registers for
                // its wake-up (the passes above only looked).
                if self.taking_commands()
                    && (self.take_command(Some(&mut *cx)) || !self.commands_open)
                {
                    continue;
                }
                // Only buffers holding nothing: not output still to write, not a
                // message half put together (however slowly it arrives).
                let large = (self.protocol.output_capacity() > OUT_KEEP && self.unwritten() == 0)
                    || (self.assembling.capacity() > OUT_KEEP && self.assembling.is_empty());
                let used = self.large_uses.wrapping_add(self.wire.received());
                if self.trim.poll(cx, large, used, TRIM_AFTER) {
                    self.protocol.release_output();
                    if self.assembling.is_empty() {
                        self.assembling = BytesMut::new();
                    }
                }
                return Poll::Pending;
            }
        }
    }

    /// The send and receive timeouts: output pending, or a message half received,
    /// with no byte moving for the limit. Only bytes count as progress, never other
    /// traffic (a peer that floods pings and reads nothing still times out). A
    /// stall is declared only in a pass whose own attempt found the socket stuck:
    /// time spent in handlers, when nobody tried, is not the network's silence.
    fn poll_stalls(
        &mut self,
        cx: &mut Context<'_>,
        write_tried: bool,
        read_tried: bool,
    ) -> Option<Ending> {
        let (written, received) = (self.wire.written(), self.wire.received());
        let sending = self.unwritten() > 0;
        let mid_message = self.protocol.mid_message(&self.wire.buf)
            && self.input_room(cx)
            && self.protocol.failure().is_none();
        let what = if (write_tried || !sending)
            && self.send_stall.poll(cx, sending, written, self.timing.send)
        {
            (
                "the server accepted no data",
                self.timing.send,
                "SendTimeout",
            )
        } else if (read_tried || !mid_message)
            && self
                .receive_stall
                .poll(cx, mid_message, received, self.timing.receive)
        {
            (
                "a message stopped arriving half way",
                self.timing.receive,
                "ReceiveTimeout",
            )
        } else {
            return None;
        };
        Some(self.lost(Error::new(
            WININET_E_TIMEOUT,
            format!("{} for {} ms ({})", what.0, what.1.as_millis(), what.2),
        )))
    }

    fn on_event(&mut self, event: Event) {
        let before = DELIVERING.with(|d| d.replace(self.commands.id()));
        let _restore = crate::session::Finally(|| DELIVERING.with(|d| d.set(before)));
        match event {
            Event::Data {
                kind,
                first,
                last,
                payload,
            } => match &self.delivery {
                Delivery::Messages(_) if first && last => {
                    self.events.message(kind, payload, true);
                }
                Delivery::Messages(_) => {
                    if first {
                        // Room for the rest of this frame at once (not by doubling), up
                        // to a limit: a header may announce far more than ever arrives.
                        let rest = self.protocol.frame_remaining().min(ASSEMBLY_RESERVE);
                        self.assembling.reserve(payload.len() + rest as usize);
                    }
                    self.assembling.extend_from_slice(&payload);
                    if last {
                        let whole = std::mem::take(&mut self.assembling).freeze();
                        // Nobody kept the message (no AddRef'd args, no DataReader left):
                        // its buffer serves the next one.
                        if let Some(mut buf) = self.events.message(kind, whole, true) {
                            buf.clear();
                            self.large_uses += 1;
                            self.assembling = buf;
                        }
                    }
                }
                Delivery::Pieces(_) => {
                    self.events.message(kind, payload, last);
                }
                Delivery::Stream(sink) => sink.push(payload),
            },
            Event::PeerClosed => {
                self.close_sent(CLOSE_TIMEOUT);
                self.events.closing();
            }
            Event::Violation => {
                // The connection ends once our close frame is written, without
                // waiting for a reply.
                self.close_deadline = None;
                self.close_sent(Duration::from_secs(1));
                self.commands_open = false;
            }
        }
    }

    /// How the connection ends: with the peer's close frame if the close handshake
    /// got that far; else with the failure we sent a close frame for; else 1006,
    /// reporting `cause` (if any) as a last MessageReceived.
    fn ending(&mut self, cause: Option<Error>) -> Ending {
        match self.protocol.closure() {
            Closure::Peer(code, reason) => Ending {
                code,
                reason,
                failure: None,
            },
            Closure::Failed(v) => Ending {
                code: v.code,
                reason: String::new(),
                failure: Some(protocol_errors::violation(&v)),
            },
            Closure::Abnormal => Ending {
                code: ABNORMAL_CLOSURE,
                reason: String::new(),
                failure: cause,
            },
        }
    }

    /// The stream ended: cleanly (close handshake over), after our failure close,
    /// or without any close frame.
    fn stream_ended(&mut self) -> Ending {
        self.ending(Some(Error::new(
            WININET_E_CONNECTION_ABORTED,
            "the connection ended without a close frame",
        )))
    }

    fn lost(&mut self, err: Error) -> Ending {
        self.ending(Some(fail_to_aborted(err)))
    }
}

/// An I/O failure with no better name is a connection aborted.
fn fail_to_aborted(err: Error) -> Error {
    if err.hr == E_FAIL {
        Error::new(WININET_E_CONNECTION_ABORTED, err.message)
    } else {
        err
    }
}

#[cfg(test)]
mod tests {
    use super::{link, Cadence, Command, DELIVERING};
    use crate::net::traffic::Traffic;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_handler_send_wakes_only_another_connection_task() {
        let (own, mut own_rx, _own_slot) = link(Traffic::new());
        let (other, mut other_rx, _other_slot) = link(Traffic::new());
        let (own_wakes, other_wakes) = (Arc::new(Count(0.into())), Arc::new(Count(0.into())));
        let own_waker = Waker::from(own_wakes.clone());
        let other_waker = Waker::from(other_wakes.clone());
        // Both tasks polled and found nothing: their wakers are registered.
        assert!(own_rx
            .poll_recv(&mut Context::from_waker(&own_waker))
            .is_pending());
        assert!(other_rx
            .poll_recv(&mut Context::from_waker(&other_waker))
            .is_pending());

        // Inside the delivery of one of `own`'s events (`Connection::on_event`).
        let before = DELIVERING.with(|d| d.replace(own_rx.id()));
        assert!(own.send(Command::Close(None)).is_ok());
        assert!(other.send(Command::Close(None)).is_ok());
        DELIVERING.with(|d| d.set(before));

        assert_eq!(
            own_wakes.0.load(Ordering::SeqCst),
            0,
            "its own poll takes it"
        );
        assert_eq!(
            other_wakes.0.load(Ordering::SeqCst),
            1,
            "another task is woken"
        );
        for (rx, waker) in [(&mut own_rx, &own_waker), (&mut other_rx, &other_waker)] {
            let got = rx.poll_recv(&mut Context::from_waker(waker));
            assert!(matches!(got, Poll::Ready(Some(Command::Close(None)))));
        }
        // Outside any delivery, its own connection's task is woken as before.
        assert!(own.send(Command::Close(None)).is_ok());
        assert_eq!(own_wakes.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_request_and_its_answer_is_written_at_once_a_burst_is_not() {
        let mut c = Cadence::default();
        // Requests, each after its answer came (bytes received moved on).
        assert!(c.alone(0), "the first send");
        assert!(c.alone(10));
        assert!(c.alone(20));
        // A burst: its first send is still alone, the rest of it not.
        assert!(c.alone(30));
        assert!(!c.alone(30));
        assert!(!c.alone(30));
        // The next burst: the interval before held three sends.
        assert!(
            !c.alone(40),
            "after a burst, the next one's first goes to the task"
        );
        assert!(!c.alone(40));
        // Back to requests: one interval of one send after the burst, then alone.
        assert!(!c.alone(50), "the interval before held two");
        assert!(c.alone(60));
        assert!(c.alone(70));
    }
}
