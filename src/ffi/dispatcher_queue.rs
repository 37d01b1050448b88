//! `DispatcherQueue`: an rtws extension modelled on Windows.System.DispatcherQueue,
//! for hosts whose objects belong to one thread or that own an event loop. A
//! socket bound to a queue (`MessageWebSocket_put_DispatcherQueue`,
//! `StreamWebSocket_put_DispatcherQueue`) runs every handler and Completed
//! callback of it and its operations on the thread that runs the queue; network
//! I/O stays on rtws's threads.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `log`), `rtws_core::winrt`
//! (dispatcher_queue, runtime), `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, out, register_context, RtwsReleaseContext};
use rtws_core::winrt::dispatcher_queue as core;
use rtws_core::winrt::runtime::{in_handler, HandlerScope};
use rtws_types::{Error, Result, HRESULT};
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

/// Opaque handle of a DispatcherQueue.
pub struct DispatcherQueue {
    _private: [u8; 0],
}
impl Handle for DispatcherQueue {
    type Target = core::DispatcherQueue;
    const NAME: &'static str = "DispatcherQueue";
    /// The host let go of this handle; with its last handle (a socket's
    /// get_DispatcherQueue makes another), the queue stops: what waits unrun is
    /// dropped, and the handlers of the sockets still bound to it never run again.
    const HAS_LAST_RELEASE: bool = true;
    fn last_release(object: &Arc<core::DispatcherQueue>) {
        object.release_host_handle();
    }
}

/// `DispatcherQueueHandler`: the host's own work, posted with `TryEnqueue`.
pub type DispatcherQueueHandler = Option<extern "C" fn(context: *mut c_void)>;

/// `timeout_ms` or `max_ms` longer than this is refused (one day).
const MAX_MS: u32 = 86_400_000;

/// Creates a DispatcherQueue (extension: WinRT's come from a
/// DispatcherQueueController; here the host runs it). The caller owns `*result`.
/// The calling thread is the queue's thread until another runs it.
///
/// Releasing the last of the host's handles on the queue (this one, and those
/// `get_DispatcherQueue` hands out) stops it: the work still pending is dropped
/// unrun, and so is later work. The handlers and Completed callbacks of sockets
/// still bound to it never run again (their contexts are not handed back); their
/// operations still finish (a `Wait` returns), and a `wss:` connect whose
/// ServerCustomValidationRequested handlers cannot run rejects the server.
///
/// Any thread. Returns `S_OK`; `E_POINTER`; `E_FAIL` (the system refused the
/// file descriptor).
///
/// ```c
/// DispatcherQueue *queue;
/// if (RTWS_FAILED(DispatcherQueue_Create(&queue))) { puts(rtws_GetLastErrorMessage()); }
/// MessageWebSocket_put_DispatcherQueue(ws, queue);   // before ConnectAsync
/// ```
#[no_mangle]
pub extern "C" fn DispatcherQueue_Create(result: *mut *mut DispatcherQueue) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        crate::ffi::log::install();
        result.set(publish(Arc::new(core::DispatcherQueue::new()?)))
    })
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn DispatcherQueue_AddRef(this: *mut DispatcherQueue) -> u32 {
    call_count(|| DispatcherQueue::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn DispatcherQueue_Release(this: *mut DispatcherQueue) -> u32 {
    call_count(|| DispatcherQueue::release(this))
}

/// `TryEnqueue`: posts `handler(context)` to run on the queue's thread, after the
/// work already queued. `*result` is false when the queue was stopped (its last
/// reference released). The handler runs as an rtws handler: a blocking `Wait`
/// inside it is refused.
///
/// Any thread. Returns `S_OK`; `E_POINTER` (NULL `handler` or `result`);
/// `E_INVALIDARG` (not a live queue).
#[no_mangle]
pub extern "C" fn DispatcherQueue_TryEnqueue(
    this: *mut DispatcherQueue,
    handler: DispatcherQueueHandler,
    context: *mut c_void,
    result: *mut bool,
) -> HRESULT {
    DispatcherQueue_TryEnqueueEx(this, handler, context, None, result)
}

/// rtws extension: `TryEnqueue` that also hands rtws the job of freeing `context`:
/// `release(context)` (if not NULL) is called exactly once, on any thread, after
/// the handler returned, or when the work is dropped unrun: the queue was stopped
/// before it ran, or already (`*result` false: released before this returns). It
/// may call rtws. When this returns an error, `release` is not called: the context
/// is still the caller's. Returns what `TryEnqueue` returns.
#[no_mangle]
pub extern "C" fn DispatcherQueue_TryEnqueueEx(
    this: *mut DispatcherQueue,
    handler: DispatcherQueueHandler,
    context: *mut c_void,
    release: RtwsReleaseContext,
    result: *mut bool,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let handler =
            handler.ok_or_else(|| Error::new(rtws_types::E_POINTER, "the handler is NULL"))?;
        let queue = DispatcherQueue::get(this)?;
        let queued = register_context(context, release, |ctx| {
            Ok(queue.try_enqueue(
                0,
                Box::new(move || {
                    let _scope = HandlerScope::enter();
                    handler(ctx.get());
                }),
            ))
        })?;
        result.set(queued)
    })
}

/// rtws extension: the queue's file descriptor, readable exactly while work is
/// pending (level-triggered: signalled when the queue goes from empty to not
/// empty, cleared when it empties; register it level-triggered, not EPOLLET), for
/// poll/epoll/select, GLib, libuv or asyncio's `add_reader`. Data arrived on a bound
/// MessageWebSocket is work too: on Linux a `ws:` MessageWebSocket bound to a queue
/// is read by `RunPending` on the queue's thread (the descriptor is an epoll
/// descriptor holding the socket), so the kernel wakes the host for a message, not
/// a library thread that then wakes it. Such a socket also makes it readable when
/// it has news that is not yet an item: part of a message, or room again for output
/// that the kernel refused before; the next `RunPending` reads or writes it and may
/// then run 0 items. Owned by the queue: do not read, write or close it; it is
/// valid while the queue lives (at least until the host's last handle on it is
/// released).
///
/// Any thread. Returns `S_OK`; `E_POINTER`.
#[no_mangle]
pub extern "C" fn DispatcherQueue_get_FileDescriptor(
    this: *mut DispatcherQueue,
    value: *mut i32,
) -> HRESULT {
    call(|| out(value, "value")?.set(DispatcherQueue::get(this)?.fd()))
}

/// rtws extension: runs pending work on the calling thread, oldest first: at most
/// `max_count` items (at least 1), and no further one once `max_ms` milliseconds
/// have passed (`RTWS_INFINITE`: no time bound; the first pending item always
/// runs). `*ran` receives how many ran (0 only when none was pending: a bound
/// socket's news may have been no item yet, see `get_FileDescriptor`). It first
/// reads the bound sockets whose data arrived: a message runs there and then while
/// nothing else is pending and the bounds allow (it counts as an item), and is
/// queued behind the pending work otherwise, for this run or the next. The work
/// of one socket runs in order, each MessageReceived before its Closed. This thread
/// becomes the queue's thread (HasThreadAccess).
///
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (`max_count` 0, `max_ms` over one
/// day); `E_ILLEGAL_METHOD_CALL` (called inside an rtws handler, including the
/// queue's own, or while another thread runs it).
///
/// ```c
/// uint32_t ran;
/// DispatcherQueue_RunPending(queue, 100, 10, &ran);   // at most 100 items, 10 ms
/// ```
#[no_mangle]
pub extern "C" fn DispatcherQueue_RunPending(
    this: *mut DispatcherQueue,
    max_count: u32,
    max_ms: u32,
    ran: *mut u32,
) -> HRESULT {
    call(|| {
        let ran = out(ran, "ran")?;
        let limit = time_bound(max_ms, "max_ms")?;
        ran.set(DispatcherQueue::get(this)?.run_pending(max_count, limit)?)
    })
}

/// rtws extension: blocks the calling thread until work is pending or `timeout_ms`
/// milliseconds pass (`RTWS_INFINITE`: no bound; 0: only looks). `*pending` is true
/// when the queue's descriptor is readable: work is pending, or a socket the queue
/// reads has news (see `get_FileDescriptor`: the `RunPending` after it may run 0
/// items). A stopped queue returns at once with false, and a queue stopped while
/// this waits (its last handle released on another thread) ends the wait at once.
///
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (`timeout_ms` over one day, not
/// `RTWS_INFINITE`); `E_ILLEGAL_METHOD_CALL` (a non-zero timeout inside an rtws
/// handler).
#[no_mangle]
pub extern "C" fn DispatcherQueue_Wait(
    this: *mut DispatcherQueue,
    timeout_ms: u32,
    pending: *mut bool,
) -> HRESULT {
    call(|| {
        let pending = out(pending, "pending")?;
        let queue = DispatcherQueue::get(this)?;
        let timeout = time_bound(timeout_ms, "timeout_ms")?;
        if in_handler() && timeout != Some(Duration::ZERO) {
            return Err(Error::illegal_call(
                "DispatcherQueue_Wait would block the thread running this handler; \
                 return to the loop instead",
            ));
        }
        pending.set(queue.wait(timeout))
    })
}

/// `HasThreadAccess`: true on the queue's thread: the last to call `RunPending`,
/// or before any, the one that created it. A `Wait` there for an operation that
/// can finish only once a handler on this queue has run (a `wss:` ConnectAsync
/// with ServerCustomValidationRequested handlers) is refused with
/// `E_ILLEGAL_METHOD_CALL` instead of deadlocking; other operations finish on
/// rtws's threads, and waiting for them there is allowed.
///
/// Any thread. Returns `S_OK`; `E_POINTER`.
#[no_mangle]
pub extern "C" fn DispatcherQueue_get_HasThreadAccess(
    this: *mut DispatcherQueue,
    value: *mut bool,
) -> HRESULT {
    call(|| out(value, "value")?.set(DispatcherQueue::get(this)?.is_queue_thread()))
}

/// A new host handle on `queue` (counted: the last one's Release stops the queue).
pub(crate) fn publish(queue: Arc<core::DispatcherQueue>) -> *mut DispatcherQueue {
    queue.add_host_handle();
    let handle = DispatcherQueue::publish(queue.clone());
    if handle.is_null() {
        queue.release_host_handle(); // no handle was made (out of handles)
    }
    handle
}

/// A millisecond bound: `RTWS_INFINITE` is none; over a day is refused.
fn time_bound(ms: u32, name: &str) -> Result<Option<Duration>> {
    match ms {
        crate::ffi::async_op::RTWS_INFINITE => Ok(None),
        ms if ms > MAX_MS => Err(Error::invalid_arg(format!(
            "{name} of {ms} ms is over one day (RTWS_INFINITE for no bound)"
        ))),
        ms => Ok(Some(Duration::from_millis(u64::from(ms)))),
    }
}
