//! `IAsyncAction` / `IAsyncOperation<T>`: one state machine for every result type.
//!
//! The side doing the work holds the `AsyncOp` too and calls `complete`; the caller
//! can `cancel`, `wait`, or register one completion handler. Handlers run on the
//! thread that finishes the operation (a library thread), or at once on the
//! caller's thread when the operation had already finished; an operation of a
//! socket bound to a `DispatcherQueue` posts its handler to that queue instead.

use crate::session::report::Completion;
use crate::winrt::dispatcher_queue::DispatcherQueue;
use crate::winrt::events::HandlerWatch;
use crate::winrt::runtime::{in_handler, HandlerScope};
use crate::winrt::spare::{self, Spares};
use parking_lot::{Condvar, Mutex};
use rtws_types::{
    AsyncStatus, Error, Result, E_ILLEGAL_DELEGATE_ASSIGNMENT, E_ILLEGAL_METHOD_CALL,
    E_ILLEGAL_STATE_CHANGE, RTWS_E_CANCELLED, RTWS_E_TIMEOUT,
};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type CompletedHandler = Box<dyn FnOnce(AsyncStatus) + Send>;
type CancelHook = Box<dyn FnOnce() + Send>;

struct State<T> {
    status: AsyncStatus,
    result: Option<Result<T>>,
    handler: Option<CompletedHandler>,
    handler_assigned: bool,
    closed: bool,
    on_cancel: Option<CancelHook>,
}

pub struct AsyncOp<T> {
    id: u32,
    state: Mutex<State<T>>,
    finished: Condvar,
    /// Its socket's queue and handler watch.
    home: OpHome,
    /// Finishing needs a handler that runs on `queue` (a ConnectAsync waiting for
    /// ServerCustomValidationRequested): a Wait on the queue's thread is refused.
    needs_queue: std::sync::atomic::AtomicBool,
    /// `state.status` is Canceled: read by the session for every send it takes,
    /// without the lock.
    canceled: std::sync::atomic::AtomicBool,
    /// Made by the host (`IAsyncAction_Create`...), who completes it.
    source: bool,
}

/// A finished operation whose cancel hook and Completed handler are still to run.
#[must_use = "run() calls the Completed handler"]
pub struct Settled {
    status: AsyncStatus,
    handler: Option<CompletedHandler>,
    hook: Option<CancelHook>,
    home: OpHome,
}

impl Settled {
    pub fn run(self) {
        if let Some(hook) = self.hook {
            hook();
        }
        if let Some(handler) = self.handler {
            call_completed(self.home.queue(), self.home.watch(), handler, self.status);
        }
    }
}

/// Runs a Completed handler here, or posts it to the operation's queue (a queue
/// the host released drops it: it never runs).
fn call_completed(
    queue: Option<&DispatcherQueue>,
    watch: Option<&HandlerWatch>,
    handler: CompletedHandler,
    status: AsyncStatus,
) {
    // A handler like any other: what handlers may not do (a blocking Wait,
    // rtws_Shutdown) is refused here too.
    match queue {
        Some(q) => {
            q.try_enqueue(
                0,
                Box::new(move || {
                    let _scope = HandlerScope::enter();
                    handler(status);
                }),
            );
        }
        None => {
            let _scope = HandlerScope::enter();
            match watch {
                Some(w) => w.run("Completed", || handler(status)),
                None => handler(status),
            }
        }
    }
}

/// The session finishes sends and flushes through this.
impl<T: Clone + Send + 'static> Completion<T> for AsyncOp<T> {
    fn complete(&self, result: Result<T>) -> bool {
        AsyncOp::complete(self, result)
    }
    fn is_canceled(&self) -> bool {
        AsyncOp::is_canceled(self)
    }
    fn finish(self: Arc<Self>, result: Result<T>) {
        AsyncOp::complete(&self, result);
        let op: Arc<dyn Any + Send + Sync> = self;
        if let Ok(op) = op.downcast::<AsyncOp<u32>>() {
            // Finished, it has no handler or cancel hook left (`settle_as` took them);
            // its socket's home and an error's text go now, not at its next use.
            spare::keep(&SPARE_SENDS, op, |op| {
                op.home = OpHome::default();
                op.state.get_mut().result = None;
                true
            });
        }
    }
}

thread_local! {
    /// Send operations (`AsyncOp<u32>`, one per message) this thread finished with
    /// nobody else holding them, for its next sends (`spare`).
    static SPARE_SENDS: Spares<AsyncOp<u32>> = const { RefCell::new(Vec::new()) };
}

/// Where an operation's Completed handler runs and who watches it: its socket's
/// DispatcherQueue (None: where the operation finishes) and handler watch.
///
/// One pointer, shared by a socket's operations: a send's operation is then 104
/// bytes, which glibc's allocator keeps in a fast bin, where at 112 (a queue and a
/// watch apart) its malloc and free took the slow path whenever more than its thread
/// cache's 7 were freed together (a flush completes up to 32).
#[derive(Clone, Default)]
pub struct OpHome(Option<Arc<Home>>);

struct Home {
    queue: Option<Arc<DispatcherQueue>>,
    watch: Option<Arc<HandlerWatch>>,
}

impl OpHome {
    pub fn new(queue: Option<Arc<DispatcherQueue>>, watch: Option<Arc<HandlerWatch>>) -> Self {
        OpHome(Some(Arc::new(Home { queue, watch })))
    }

    pub fn queue(&self) -> Option<&DispatcherQueue> {
        self.0.as_ref().and_then(|h| h.queue.as_deref())
    }

    pub fn queue_arc(&self) -> Option<Arc<DispatcherQueue>> {
        self.0.as_ref().and_then(|h| h.queue.clone())
    }

    pub fn watch(&self) -> Option<&HandlerWatch> {
        self.0.as_ref().and_then(|h| h.watch.as_deref())
    }
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl<T: Clone + Send + 'static> AsyncOp<T> {
    pub fn new() -> Arc<Self> {
        Self::new_in(OpHome::default())
    }

    /// An operation of a socket (see `OpHome`).
    pub fn new_in(home: OpHome) -> Arc<Self> {
        Self::make(home, false)
    }

    /// A completion source: an operation the host finishes with `complete_source`.
    pub fn new_source() -> Arc<Self> {
        Self::make(OpHome::default(), true)
    }

    fn make(home: OpHome, source: bool) -> Arc<Self> {
        let op = AsyncOp {
            source,
            home,
            needs_queue: Default::default(),
            canceled: Default::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(State {
                status: AsyncStatus::Started,
                result: None,
                handler: None,
                handler_assigned: false,
                closed: false,
                on_cancel: None,
            }),
            finished: Condvar::new(),
        };
        let kept = if TypeId::of::<T>() == TypeId::of::<u32>() {
            spare::take(&SPARE_SENDS).and_then(|kept| {
                let kept: Arc<dyn Any + Send + Sync> = kept;
                kept.downcast::<Self>().ok()
            })
        } else {
            None
        };
        spare::reuse(kept, op)
    }

    /// An operation that has already finished with `result`.
    #[cfg(test)]
    pub fn finished(result: Result<T>) -> Arc<Self> {
        let op = Self::new();
        op.complete(result);
        op
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// Marks the operation as finishing only after a handler on its queue ran.
    pub fn set_needs_queue(&self) {
        self.needs_queue.store(true, Ordering::Relaxed);
    }

    /// Runs `hook` when the operation is canceled while still started, so the
    /// work behind it can stop; runs it at once if it was canceled already.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        let mut st = self.state.lock();
        if st.status == AsyncStatus::Canceled {
            drop(st);
            hook();
        } else if st.status == AsyncStatus::Started {
            st.on_cancel = Some(Box::new(hook));
        }
    }

    /// Finishes the operation; ignored (and false) when it was canceled (or
    /// finished) already.
    pub fn complete(&self, result: Result<T>) -> bool {
        let status = if result.is_ok() {
            AsyncStatus::Completed
        } else {
            AsyncStatus::Error
        };
        self.finish(status, result)
    }

    /// `Complete` of a completion source: finishes it as Completed, as Canceled
    /// (`RTWS_E_CANCELLED`) or as Error. `Ok(false)`: it had been canceled, and
    /// nothing changes (the producer lost a race it cannot avoid).
    pub fn complete_source(&self, result: Result<T>) -> Result<bool> {
        if !self.source {
            return Err(Error::illegal_call(
                "only an operation made by a _Create function is completed by its caller; \
                 rtws completes its own",
            ));
        }
        Self::check_open(&self.state.lock())?;
        let status = match &result {
            Ok(_) => AsyncStatus::Completed,
            Err(e) if e.hr == RTWS_E_CANCELLED => AsyncStatus::Canceled,
            Err(_) => AsyncStatus::Error,
        };
        if self.finish(status, result) {
            return Ok(true);
        }
        match self.state.lock().status {
            AsyncStatus::Canceled => Ok(false),
            _ => Err(Error::new(
                E_ILLEGAL_STATE_CHANGE,
                "the operation was completed already",
            )),
        }
    }

    fn finish(&self, status: AsyncStatus, result: Result<T>) -> bool {
        match self.settle_as(status, result) {
            Some(notify) => {
                notify.run();
                true
            }
            None => false,
        }
    }

    /// Finishes the operation now (a cancel after this changes nothing) but leaves
    /// running its Completed handler to the caller, once it holds no lock the
    /// handler could need: `Settled::run`. None when it was canceled (or finished)
    /// already.
    pub fn settle(&self, result: Result<T>) -> Option<Settled> {
        let status = if result.is_ok() {
            AsyncStatus::Completed
        } else {
            AsyncStatus::Error
        };
        self.settle_as(status, result)
    }

    fn settle_as(&self, status: AsyncStatus, result: Result<T>) -> Option<Settled> {
        let (handler, hook) = {
            let mut st = self.state.lock();
            if st.status != AsyncStatus::Started {
                return None;
            }
            st.status = status;
            if status == AsyncStatus::Canceled {
                self.canceled.store(true, Ordering::Release);
            }
            st.result = Some(result);
            (st.handler.take(), st.on_cancel.take())
        };
        self.finished.notify_all();
        // Where the handler runs, only for a handler: a send nobody listens to
        // (most) costs no reference count here.
        let home = match handler {
            Some(_) => self.home.clone(),
            None => OpHome::default(),
        };
        Some(Settled {
            status,
            handler,
            hook: hook.filter(|_| status == AsyncStatus::Canceled),
            home,
        })
    }

    pub fn is_finished(&self) -> bool {
        self.state.lock().status != AsyncStatus::Started
    }

    pub fn is_canceled(&self) -> bool {
        self.canceled.load(Ordering::Acquire)
    }

    fn check_open(st: &State<T>) -> Result<()> {
        if st.closed {
            Err(Error::new(
                E_ILLEGAL_METHOD_CALL,
                "the async operation was closed",
            ))
        } else {
            Ok(())
        }
    }

    /// `put_Completed`: a handler may be assigned once; it runs right away when the
    /// operation has already finished.
    pub fn set_completed(&self, handler: CompletedHandler) -> Result<()> {
        let mut st = self.state.lock();
        Self::check_open(&st)?;
        if st.handler_assigned {
            return Err(Error::new(
                E_ILLEGAL_DELEGATE_ASSIGNMENT,
                "the Completed handler of an async operation can be set only once",
            ));
        }
        st.handler_assigned = true;
        if st.status == AsyncStatus::Started {
            st.handler = Some(handler);
            return Ok(());
        }
        let status = st.status;
        drop(st);
        // On the caller's thread: not an I/O thread the slow-handler watch guards.
        call_completed(self.home.queue(), None, handler, status);
        Ok(())
    }

    pub fn status(&self) -> Result<AsyncStatus> {
        let st = self.state.lock();
        Self::check_open(&st)?;
        Ok(st.status)
    }

    /// `get_ErrorCode`: S_OK unless the operation failed or was canceled.
    pub fn error(&self) -> Result<Option<Error>> {
        let st = self.state.lock();
        Self::check_open(&st)?;
        Ok(match &st.result {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        })
    }

    pub fn cancel(&self) -> Result<()> {
        Self::check_open(&self.state.lock())?;
        self.finish(AsyncStatus::Canceled, Err(Error::canceled()));
        Ok(())
    }

    /// `IAsyncInfo.Close`: only once the operation has finished.
    pub fn close(&self) -> Result<()> {
        let mut st = self.state.lock();
        if st.status == AsyncStatus::Started {
            return Err(Error::new(
                E_ILLEGAL_STATE_CHANGE,
                "an async operation cannot be closed while it is still running",
            ));
        }
        st.closed = true;
        Ok(())
    }

    pub fn results(&self) -> Result<T> {
        let st = self.state.lock();
        Self::check_open(&st)?;
        match &st.result {
            Some(r) => r.clone(),
            None => Err(Error::illegal_call(
                "GetResults called before the async operation finished",
            )),
        }
    }

    /// Blocks until the operation finishes or `timeout` passes (`None`: forever);
    /// returns its result, or `RTWS_E_TIMEOUT` with the operation still running.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<T> {
        let mut st = self.state.lock();
        Self::check_open(&st)?;
        if st.status == AsyncStatus::Started {
            if in_handler() && timeout != Some(Duration::ZERO) {
                return Err(Error::illegal_call(
                    "Wait would block the library thread running this handler (and could \
                     wait for itself); use put_Completed inside handlers",
                ));
            }
            if timeout != Some(Duration::ZERO)
                && self.needs_queue.load(Ordering::Relaxed)
                && self.home.queue().is_some_and(|q| q.is_queue_thread())
            {
                return Err(Error::illegal_call(
                    "Wait on the DispatcherQueue's thread for an operation that finishes \
                     only once a handler on that queue has run (ServerCustomValidationRequested) \
                     would wait for ever; use put_Completed and return to the queue",
                ));
            }
            let deadline = timeout.map(|t| Instant::now() + t);
            while st.status == AsyncStatus::Started {
                match deadline {
                    None => self.finished.wait(&mut st),
                    Some(d) => {
                        if self.finished.wait_until(&mut st, d).timed_out()
                            && st.status == AsyncStatus::Started
                        {
                            return Err(Error::new(
                                RTWS_E_TIMEOUT,
                                "Wait timed out; the operation is still running",
                            ));
                        }
                    }
                }
            }
        }
        match &st.result {
            Some(r) => r.clone(),
            None => unreachable!("a finished operation has a result"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_after_completion_changes_nothing() {
        let op = AsyncOp::<u32>::finished(Ok(7));
        op.cancel().unwrap();
        assert_eq!(op.status().unwrap(), AsyncStatus::Completed);
        assert_eq!(op.results().unwrap(), 7);
    }

    /// glibc's fast bins take chunks of up to 128 bytes: the operation and `Arc`'s two
    /// counts (16 bytes) plus malloc's 8-byte header, rounded up to 16 (see `OpHome`).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_send_operation_fits_a_fast_bin() {
        let request = std::mem::size_of::<AsyncOp<u32>>() + 16;
        assert!((request + 8).next_multiple_of(16) <= 128, "{request} bytes");
    }

    #[test]
    fn a_send_finished_by_its_last_holder_is_made_over_for_the_next() {
        let op = AsyncOp::<u32>::new();
        let (first_id, memory) = (op.id(), Arc::as_ptr(&op));
        op.set_completed(Box::new(|_| {})).unwrap();
        Completion::finish(op, Ok(5));
        // Takes the block the operation would have freed (see `spare`'s tests).
        let decoy = std::hint::black_box(Box::new([1u8; 16 + std::mem::size_of::<AsyncOp<u32>>()]));
        let next = AsyncOp::<u32>::new();
        assert_eq!(Arc::as_ptr(&next), memory);
        drop(decoy);
        assert_ne!(next.id(), first_id);
        assert_eq!(next.status().unwrap(), AsyncStatus::Started);
        assert!(next.results().is_err());
        // A fresh operation: its Completed handler may be assigned again.
        next.set_completed(Box::new(|_| {})).unwrap();
    }

    #[test]
    fn a_send_still_held_elsewhere_is_not_kept() {
        let op = AsyncOp::<u32>::new();
        let held = op.clone();
        Completion::finish(op, Ok(5));
        let next = AsyncOp::<u32>::new();
        assert_ne!(Arc::as_ptr(&next), Arc::as_ptr(&held));
        assert_eq!(held.results().unwrap(), 5);
    }

    #[test]
    fn canceled_result_is_e_cancelled() {
        let op = AsyncOp::<()>::new();
        op.cancel().unwrap();
        assert_eq!(op.wait(None).unwrap_err().hr, RTWS_E_CANCELLED);
    }
}
