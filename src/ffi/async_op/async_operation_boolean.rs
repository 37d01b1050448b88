//! `IAsyncOperation<Boolean>` as `IAsyncOperationBoolean`:
//! its handle type, its Completed handler type, and its exports, each binding a C
//! name to the generic bodies in async_op/mod.rs.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `super` (the generic bodies),
//! `rtws_core::winrt::async_op`, `rtws_types`.

use super::{put_completed, wait, Completed};
use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, call_status, out, RtwsReleaseContext};
use rtws_core::winrt::async_op::AsyncOp;
use rtws_types::{AsyncStatus, HRESULT};
use std::ffi::{c_char, c_void};

/// Opaque handle of an IAsyncOperationBoolean (returned by FlushAsync).
pub struct IAsyncOperationBoolean {
    _private: [u8; 0],
}

impl Handle for IAsyncOperationBoolean {
    type Target = AsyncOp<bool>;
    const NAME: &'static str = "IAsyncOperationBoolean";
}

/// Called once when an IAsyncOperationBoolean completes, fails or is canceled, on a library thread
/// (or at once, on the calling thread, if it had already finished). `async_info` is
/// borrowed for the call; AddRef it to keep it. Must not throw or longjmp.
pub type AsyncOperationCompletedHandlerBoolean = Completed<IAsyncOperationBoolean>;

/// Adds a reference to the operation. Returns the new count, or 0 (with the last
/// error message set) when `op` is not a live IAsyncOperationBoolean handle. Any thread.
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_AddRef(op: *mut IAsyncOperationBoolean) -> u32 {
    call_count(|| IAsyncOperationBoolean::add_ref(op))
}

/// Releases a reference; the handle is invalid once the count reaches 0. Releasing
/// does not cancel the operation: its work goes on and its Completed handler (if
/// any) still runs. Returns the new count, or 0 when `op` is not a live handle.
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_Release(op: *mut IAsyncOperationBoolean) -> u32 {
    call_count(|| IAsyncOperationBoolean::release(op))
}

/// Sets the Completed handler (once per operation). `context` is passed back
/// verbatim. If the operation already finished, the handler runs before this returns,
/// on the calling thread; otherwise later on a library thread. For an operation of a
/// socket bound to a DispatcherQueue, it is queued instead and runs in
/// `DispatcherQueue_RunPending` (never if the queue was stopped). rtws holds a
/// reference on `op` until the handler has returned or was dropped unrun.
///
/// Returns `S_OK`; `E_POINTER` (NULL handler), `E_INVALIDARG` (not a live handle),
/// `E_ILLEGAL_DELEGATE_ASSIGNMENT` (a handler was already set), `E_ILLEGAL_METHOD_CALL`
/// (the operation was closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_put_Completed(
    op: *mut IAsyncOperationBoolean,
    handler: AsyncOperationCompletedHandlerBoolean,
    context: *mut c_void,
) -> HRESULT {
    IAsyncOperationBoolean_put_CompletedEx(op, handler, context, None)
}

/// rtws extension: `put_Completed` that also hands rtws the job of freeing
/// `context`: `release(context)` (if not NULL) is called exactly once, on any
/// thread, once the handler has returned or was dropped unrun (its DispatcherQueue
/// stopped). It may call rtws, as a handler may. When this returns an error,
/// `release` is not called: the context is still the caller's. Returns what
/// `put_Completed` returns.
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_put_CompletedEx(
    op: *mut IAsyncOperationBoolean,
    handler: AsyncOperationCompletedHandlerBoolean,
    context: *mut c_void,
    release: RtwsReleaseContext,
) -> HRESULT {
    call(|| put_completed(op, handler, context, release))
}

/// `IAsyncInfo.Status`: `AsyncStatus_Started`, `_Completed`, `_Canceled` or `_Error`.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_get_Status(
    op: *mut IAsyncOperationBoolean,
    status: *mut AsyncStatus,
) -> HRESULT {
    call(|| out(status, "status")?.set(IAsyncOperationBoolean::get(op)?.status()?))
}

/// `IAsyncInfo.ErrorCode`: `S_OK` while started or when completed, the failure
/// HRESULT after an error, `0x800704C7` (ERROR_CANCELLED) after a cancel. A failure
/// code also becomes the thread's last error message. Returns `S_OK`; `E_POINTER`,
/// `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_get_ErrorCode(
    op: *mut IAsyncOperationBoolean,
    error_code: *mut HRESULT,
) -> HRESULT {
    call(|| super::error_code(op, error_code))
}

/// `IAsyncInfo.Id`: a process-unique number for the operation. Returns `S_OK`;
/// `E_POINTER`, `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_get_Id(
    op: *mut IAsyncOperationBoolean,
    id: *mut u32,
) -> HRESULT {
    call(|| out(id, "id")?.set(IAsyncOperationBoolean::get(op)?.id()))
}

/// `IAsyncInfo.Cancel`: asks the operation to stop. A started operation ends with
/// `AsyncStatus_Canceled` at once, and its Completed handler runs on this thread
/// before Cancel returns; a finished one is unchanged. The work behind it stops if
/// it can: a connect is abandoned; a store not yet handed to the socket is not
/// sent (one already being written still goes out).
/// Returns `S_OK`; `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_Cancel(op: *mut IAsyncOperationBoolean) -> HRESULT {
    call(|| IAsyncOperationBoolean::get(op)?.cancel())
}

/// `IAsyncInfo.Close`: ends the operation's use; later calls other than
/// AddRef/Release, get_Id and Close fail with `E_ILLEGAL_METHOD_CALL`. Returns `S_OK`; `E_INVALIDARG`,
/// `E_ILLEGAL_STATE_CHANGE` (still started).
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_Close(op: *mut IAsyncOperationBoolean) -> HRESULT {
    call(|| IAsyncOperationBoolean::get(op)?.close())
}

/// `GetResults`: stores the result in `*results` once completed. Returns `S_OK`; the
/// failure HRESULT after an error, `0x800704C7` after a cancel,
/// `E_ILLEGAL_METHOD_CALL` while started or closed; `E_POINTER`, `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_GetResults(
    op: *mut IAsyncOperationBoolean,
    results: *mut bool,
) -> HRESULT {
    call(|| {
        let results = out(results, "results")?;
        results.set(IAsyncOperationBoolean::get(op)?.results()?)
    })
}

/// rtws extension: blocks until the operation finishes or `timeout_ms` passes
/// (`RTWS_INFINITE`: no limit; 0: poll), then stores the result in `*results` (may be
/// NULL when not wanted). Returns as `IAsyncAction_Wait` does.
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_Wait(
    op: *mut IAsyncOperationBoolean,
    timeout_ms: u32,
    results: *mut bool,
) -> HRESULT {
    call(|| {
        let value = wait(op, timeout_ms)?;
        if !results.is_null() {
            out(results, "results")?.set(value)?;
        }
        Ok(())
    })
}

/// rtws extension: a completion source: a new IAsyncOperationBoolean (status Started) that the
/// caller finishes with `IAsyncOperationBoolean_Complete`, so work of the host's own (a C++ coroutine,
/// a thread) is an operation like rtws's: C code can Wait on it, set its Completed
/// handler, Cancel it. The caller owns `*result`. Any thread. Returns `S_OK`;
/// `E_POINTER`.
///
/// ```c
/// IAsyncOperationBoolean *op;
/// if (RTWS_FAILED(IAsyncOperationBoolean_Create(&op))) { puts(rtws_GetLastErrorMessage()); }
/// ```
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_Create(
    result: *mut *mut IAsyncOperationBoolean,
) -> HRESULT {
    call(|| super::create(result))
}

/// rtws extension: finishes an operation made by `IAsyncOperationBoolean_Create`: a success
/// `error_code` (`S_OK`) completes it with `result`; `0x800704C7` (`RTWS_E_CANCELLED`,
/// C++/WinRT's hresult_canceled) cancels it; any other failure code fails it, and
/// its consumers get `error_code` with `error_message` (UTF-8, copied; NULL: a text
/// naming the code) as their last error message. Its Completed handler runs on
/// this thread before this returns. Any thread.
///
/// Returns `S_OK`; `S_FALSE` when a consumer canceled it first (nothing changes:
/// stop the work); `E_ILLEGAL_STATE_CHANGE` (completed already);
/// `E_ILLEGAL_METHOD_CALL` (not made by `IAsyncOperationBoolean_Create`, or closed); `E_INVALIDARG`
/// (not a live handle, `error_message` not UTF-8).
///
/// ```c
/// IAsyncOperationBoolean *op;
/// if (RTWS_SUCCEEDED(IAsyncOperationBoolean_Create(&op))) {
///     IAsyncOperationBoolean_Complete(op, S_OK, NULL, true);
///     IAsyncOperationBoolean_Release(op);
/// }
/// ```
#[no_mangle]
pub extern "C" fn IAsyncOperationBoolean_Complete(
    op: *mut IAsyncOperationBoolean,
    error_code: HRESULT,
    error_message: *const c_char,
    result: bool,
) -> HRESULT {
    call_status(|| super::complete(op, error_code, error_message, || Ok(result)))
}
