//! `ThreadPool_`: `Windows.System.Threading.ThreadPool.RunAsync`, and a delay
//! (extension), each an `IAsyncAction`: the host's work on a library thread, and a
//! timer, as operations C and the C++ projection (`resume_background`, `co_await`
//! on a duration) can wait for.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `IAsyncAction`),
//! `rtws_core::winrt::thread_pool`, `rtws_types`.

use crate::ffi::async_op::{IAsyncAction, WorkItemHandler};
use crate::ffi::handle::Handle;
use crate::ffi::{call, out, Context, TimeSpan};
use rtws_core::winrt::thread_pool;
use rtws_types::{Error, E_POINTER, HRESULT};
use std::ffi::c_void;
use std::time::Duration;

/// `ThreadPool.RunAsync`: runs `handler(context, operation)` once on a library pool
/// thread and returns at once; `*result` (the caller owns it) completes when the
/// handler returns, or is Canceled if `IAsyncAction_Cancel` came first (the handler
/// still runs, and should look at its status to stop early). The pool thread is
/// not an I/O thread: the handler may block, and a `Wait` inside it is allowed (in
/// the operation's Completed handler it is refused, as in every handler). The
/// handler is called exactly once (unless `rtws_Shutdown` ends the pool before it
/// started, and then the operation fails with `E_ABORT`), so it owns `context`.
///
/// Any thread. Returns `S_OK`; `E_POINTER` (NULL `handler` or `result`).
///
/// ```c
/// static void work(void *context, IAsyncAction *operation) {
///     AsyncStatus status;
///     IAsyncAction_get_Status(operation, &status);
///     if (status == AsyncStatus_Started) { IAsyncAction_Wait(connect, 5000); }
/// }
/// ```
/// started by `ThreadPool_RunAsync(work, NULL, &op)`.
#[no_mangle]
pub extern "C" fn ThreadPool_RunAsync(
    handler: WorkItemHandler,
    context: *mut c_void,
    result: *mut *mut IAsyncAction,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let handler = handler.ok_or_else(|| Error::new(E_POINTER, "the handler is NULL"))?;
        let context = Context(context);
        let op = thread_pool::run_async(move |op| {
            let context = context;
            let operation = IAsyncAction::publish(op.clone());
            handler(context.0, operation);
            let _ = IAsyncAction::release(operation);
        })?;
        result.set(IAsyncAction::publish(op))
    })
}

/// rtws extension: an IAsyncAction that completes after `delay` (100 ns units; 0:
/// completed at once), what C++/WinRT's `co_await` on a duration needs. Its
/// Completed handler runs on a library thread; `IAsyncAction_Cancel` ends it at
/// once as Canceled and stops its timer. The caller owns `*result`.
///
/// Any thread. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (`delay` negative or
/// over one day).
///
/// ```c
/// IAsyncAction *delay;
/// TimeSpan half_second = { 5000000 };
/// if (RTWS_SUCCEEDED(ThreadPool_DelayAsync(half_second, &delay))) {
///     IAsyncAction_Wait(delay, RTWS_INFINITE);
///     IAsyncAction_Release(delay);
/// }
/// ```
#[no_mangle]
pub extern "C" fn ThreadPool_DelayAsync(
    delay: TimeSpan,
    result: *mut *mut IAsyncAction,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let delay = delay.to_duration("delay", Duration::ZERO)?;
        result.set(IAsyncAction::publish(thread_pool::delay(delay)?))
    })
}
