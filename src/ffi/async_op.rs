//! `IAsyncAction`, `IAsyncOperation<UInt32>`, `IAsyncOperation<Boolean>`,
//! `IAsyncOperation<IBuffer>`.
//!
//! The four C types share one generic implementation (`core::async_op::AsyncOp`);
//! the exports below only bind each C name to it.

use crate::ffi::handle::Handle;
use crate::ffi::streams::IBuffer;
use crate::ffi::{call, call_count, fail, out, Context};
use rtws_core::winrt::async_op::AsyncOp;
use rtws_core::winrt::streams::Buffer;
use rtws_types::AsyncStatus;
use rtws_types::{Error, Result, E_POINTER, HRESULT, S_OK};
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

/// `timeout_ms` value for the `Wait` functions: wait until the operation finishes.
pub const RTWS_INFINITE: u32 = 0xFFFF_FFFF;

type Completed<H> =
    Option<extern "C" fn(context: *mut c_void, async_info: *mut H, status: AsyncStatus)>;

fn put_completed<H, T>(op: *mut H, handler: Completed<H>, context: *mut c_void) -> Result<()>
where
    H: Handle<Target = AsyncOp<T>> + 'static,
    T: Clone + Send + 'static,
{
    let handler = handler.ok_or_else(|| Error::new(E_POINTER, "the Completed handler is NULL"))?;
    let target = H::get(op)?;
    // The handler receives the operation handle: keep it valid until the handler ran,
    // even if the host releases its own reference first.
    H::add_ref(op)?;
    let key = op as usize;
    let ctx = Context(context);
    let result = target.set_completed(Box::new(move |status| {
        let ctx = ctx;
        handler(ctx.0, key as *mut H, status);
        let _ = H::release(key as *mut H);
    }));
    if result.is_err() {
        let _ = H::release(op);
    }
    result
}

fn wait<H, T>(op: *mut H, timeout_ms: u32) -> Result<T>
where
    H: Handle<Target = AsyncOp<T>> + 'static,
    T: Clone + Send + 'static,
{
    let timeout =
        (timeout_ms != RTWS_INFINITE).then(|| Duration::from_millis(u64::from(timeout_ms)));
    H::get(op)?.wait(timeout)
}

fn error_code<H, T>(op: *mut H, code: *mut HRESULT) -> Result<()>
where
    H: Handle<Target = AsyncOp<T>> + 'static,
    T: Clone + Send + 'static,
{
    let code = out(code, "errorCode")?;
    code.set(match H::get(op)?.error()? {
        Some(e) => fail(&e),
        None => S_OK,
    })
}

/// Opaque handle of an IAsyncAction (returned by ConnectAsync).
pub struct IAsyncAction {
    _private: [u8; 0],
}

impl Handle for IAsyncAction {
    type Target = AsyncOp<()>;
    const NAME: &'static str = "IAsyncAction";
}

/// Called once when an IAsyncAction completes, fails or is canceled, on a library thread
/// (or at once, on the calling thread, if it had already finished). `async_info` is
/// borrowed for the call; AddRef it to keep it. Must not throw or longjmp.
pub type AsyncActionCompletedHandler = Completed<IAsyncAction>;

/// Adds a reference to the operation. Returns the new count, or 0 (with the last
/// error message set) when `op` is not a live IAsyncAction handle. Any thread.
#[no_mangle]
pub extern "C" fn IAsyncAction_AddRef(op: *mut IAsyncAction) -> u32 {
    call_count(|| IAsyncAction::add_ref(op))
}

/// Releases a reference; the handle is invalid once the count reaches 0. Releasing
/// does not cancel the operation: its work goes on and its Completed handler (if
/// any) still runs. Returns the new count, or 0 when `op` is not a live handle.
#[no_mangle]
pub extern "C" fn IAsyncAction_Release(op: *mut IAsyncAction) -> u32 {
    call_count(|| IAsyncAction::release(op))
}

/// Sets the Completed handler (once per operation). `context` is passed back
/// verbatim. If the operation already finished, the handler runs before this returns,
/// on the calling thread; otherwise later on a library thread. rtws holds a reference
/// on `op` until the handler has returned.
///
/// Returns `S_OK`; `E_POINTER` (NULL handler), `E_INVALIDARG` (not a live handle),
/// `E_ILLEGAL_DELEGATE_ASSIGNMENT` (a handler was already set), `E_ILLEGAL_METHOD_CALL`
/// (the operation was closed).
#[no_mangle]
pub extern "C" fn IAsyncAction_put_Completed(
    op: *mut IAsyncAction,
    handler: AsyncActionCompletedHandler,
    context: *mut c_void,
) -> HRESULT {
    call(|| put_completed(op, handler, context))
}

/// `IAsyncInfo.Status`: `AsyncStatus_Started`, `_Completed`, `_Canceled` or `_Error`.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncAction_get_Status(
    op: *mut IAsyncAction,
    status: *mut AsyncStatus,
) -> HRESULT {
    call(|| out(status, "status")?.set(IAsyncAction::get(op)?.status()?))
}

/// `IAsyncInfo.ErrorCode`: `S_OK` while started or when completed, the failure
/// HRESULT after an error, `0x800704C7` (ERROR_CANCELLED) after a cancel. A failure
/// code also becomes the thread's last error message. Returns `S_OK`; `E_POINTER`,
/// `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncAction_get_ErrorCode(
    op: *mut IAsyncAction,
    error_code: *mut HRESULT,
) -> HRESULT {
    call(|| self::error_code(op, error_code))
}

/// `IAsyncInfo.Id`: a process-unique number for the operation. Returns `S_OK`;
/// `E_POINTER`, `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IAsyncAction_get_Id(op: *mut IAsyncAction, id: *mut u32) -> HRESULT {
    call(|| out(id, "id")?.set(IAsyncAction::get(op)?.id()))
}

/// `IAsyncInfo.Cancel`: asks the operation to stop. A started operation ends with
/// `AsyncStatus_Canceled` at once, and its Completed handler runs on this thread
/// before Cancel returns; a finished one is unchanged. The work behind it stops if
/// it can: a connect is abandoned; a store not yet handed to the socket is not
/// sent (one already being written still goes out).
/// Returns `S_OK`; `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncAction_Cancel(op: *mut IAsyncAction) -> HRESULT {
    call(|| IAsyncAction::get(op)?.cancel())
}

/// `IAsyncInfo.Close`: ends the operation's use; later calls other than
/// AddRef/Release, get_Id and Close fail with `E_ILLEGAL_METHOD_CALL`. Returns `S_OK`; `E_INVALIDARG`,
/// `E_ILLEGAL_STATE_CHANGE` (still started).
#[no_mangle]
pub extern "C" fn IAsyncAction_Close(op: *mut IAsyncAction) -> HRESULT {
    call(|| IAsyncAction::get(op)?.close())
}

/// `GetResults`: `S_OK` once completed; the failure HRESULT after an error,
/// `0x800704C7` after a cancel, `E_ILLEGAL_METHOD_CALL` while started or closed;
/// `E_INVALIDARG` (not a live handle).
#[no_mangle]
pub extern "C" fn IAsyncAction_GetResults(op: *mut IAsyncAction) -> HRESULT {
    call(|| IAsyncAction::get(op)?.results())
}

/// rtws extension (C++/WinRT's `get()`/`wait_for`): blocks the calling thread until
/// the operation finishes or `timeout_ms` milliseconds pass (`RTWS_INFINITE`: no
/// limit; 0: just poll). Returns what `GetResults` would; `0x800705B4`
/// (`RTWS_E_TIMEOUT`) when the time ran out with the operation still started;
/// `E_ILLEGAL_METHOD_CALL` when called inside an rtws handler on an unfinished
/// operation with a non-zero timeout (it could wait for its own thread: use
/// put_Completed there); `E_INVALIDARG` (not a live handle).
///
/// ```c
/// IAsyncAction *connect;
/// HRESULT hr = MessageWebSocket_ConnectAsync(ws, "ws://127.0.0.1:8080/", &connect);
/// if (RTWS_SUCCEEDED(hr)) { hr = IAsyncAction_Wait(connect, 5000); IAsyncAction_Release(connect); }
/// ```
#[no_mangle]
pub extern "C" fn IAsyncAction_Wait(op: *mut IAsyncAction, timeout_ms: u32) -> HRESULT {
    call(|| wait(op, timeout_ms))
}

/// Opaque handle of an IAsyncOperationUInt32 (returned by StoreAsync (bytes stored)).
pub struct IAsyncOperationUInt32 {
    _private: [u8; 0],
}

impl Handle for IAsyncOperationUInt32 {
    type Target = AsyncOp<u32>;
    const NAME: &'static str = "IAsyncOperationUInt32";
}

/// Called once when an IAsyncOperationUInt32 completes, fails or is canceled, on a library thread
/// (or at once, on the calling thread, if it had already finished). `async_info` is
/// borrowed for the call; AddRef it to keep it. Must not throw or longjmp.
pub type AsyncOperationCompletedHandlerUInt32 = Completed<IAsyncOperationUInt32>;

/// Adds a reference to the operation. Returns the new count, or 0 (with the last
/// error message set) when `op` is not a live IAsyncOperationUInt32 handle. Any thread.
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_AddRef(op: *mut IAsyncOperationUInt32) -> u32 {
    call_count(|| IAsyncOperationUInt32::add_ref(op))
}

/// Releases a reference; the handle is invalid once the count reaches 0. Releasing
/// does not cancel the operation: its work goes on and its Completed handler (if
/// any) still runs. Returns the new count, or 0 when `op` is not a live handle.
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_Release(op: *mut IAsyncOperationUInt32) -> u32 {
    call_count(|| IAsyncOperationUInt32::release(op))
}

/// Sets the Completed handler (once per operation). `context` is passed back
/// verbatim. If the operation already finished, the handler runs before this returns,
/// on the calling thread; otherwise later on a library thread. rtws holds a reference
/// on `op` until the handler has returned.
///
/// Returns `S_OK`; `E_POINTER` (NULL handler), `E_INVALIDARG` (not a live handle),
/// `E_ILLEGAL_DELEGATE_ASSIGNMENT` (a handler was already set), `E_ILLEGAL_METHOD_CALL`
/// (the operation was closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_put_Completed(
    op: *mut IAsyncOperationUInt32,
    handler: AsyncOperationCompletedHandlerUInt32,
    context: *mut c_void,
) -> HRESULT {
    call(|| put_completed(op, handler, context))
}

/// `IAsyncInfo.Status`: `AsyncStatus_Started`, `_Completed`, `_Canceled` or `_Error`.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_get_Status(
    op: *mut IAsyncOperationUInt32,
    status: *mut AsyncStatus,
) -> HRESULT {
    call(|| out(status, "status")?.set(IAsyncOperationUInt32::get(op)?.status()?))
}

/// `IAsyncInfo.ErrorCode`: `S_OK` while started or when completed, the failure
/// HRESULT after an error, `0x800704C7` (ERROR_CANCELLED) after a cancel. A failure
/// code also becomes the thread's last error message. Returns `S_OK`; `E_POINTER`,
/// `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_get_ErrorCode(
    op: *mut IAsyncOperationUInt32,
    error_code: *mut HRESULT,
) -> HRESULT {
    call(|| self::error_code(op, error_code))
}

/// `IAsyncInfo.Id`: a process-unique number for the operation. Returns `S_OK`;
/// `E_POINTER`, `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_get_Id(
    op: *mut IAsyncOperationUInt32,
    id: *mut u32,
) -> HRESULT {
    call(|| out(id, "id")?.set(IAsyncOperationUInt32::get(op)?.id()))
}

/// `IAsyncInfo.Cancel`: asks the operation to stop. A started operation ends with
/// `AsyncStatus_Canceled` at once, and its Completed handler runs on this thread
/// before Cancel returns; a finished one is unchanged. The work behind it stops if
/// it can: a connect is abandoned; a store not yet handed to the socket is not
/// sent (one already being written still goes out).
/// Returns `S_OK`; `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_Cancel(op: *mut IAsyncOperationUInt32) -> HRESULT {
    call(|| IAsyncOperationUInt32::get(op)?.cancel())
}

/// `IAsyncInfo.Close`: ends the operation's use; later calls other than
/// AddRef/Release, get_Id and Close fail with `E_ILLEGAL_METHOD_CALL`. Returns `S_OK`; `E_INVALIDARG`,
/// `E_ILLEGAL_STATE_CHANGE` (still started).
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_Close(op: *mut IAsyncOperationUInt32) -> HRESULT {
    call(|| IAsyncOperationUInt32::get(op)?.close())
}

/// `GetResults`: stores the result in `*results` once completed. Returns `S_OK`; the
/// failure HRESULT after an error, `0x800704C7` after a cancel,
/// `E_ILLEGAL_METHOD_CALL` while started or closed; `E_POINTER`, `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_GetResults(
    op: *mut IAsyncOperationUInt32,
    results: *mut u32,
) -> HRESULT {
    call(|| {
        let results = out(results, "results")?;
        results.set(IAsyncOperationUInt32::get(op)?.results()?)
    })
}

/// rtws extension: blocks until the operation finishes or `timeout_ms` passes
/// (`RTWS_INFINITE`: no limit; 0: poll), then stores the result in `*results` (may be
/// NULL when not wanted). Returns as `IAsyncAction_Wait` does.
#[no_mangle]
pub extern "C" fn IAsyncOperationUInt32_Wait(
    op: *mut IAsyncOperationUInt32,
    timeout_ms: u32,
    results: *mut u32,
) -> HRESULT {
    call(|| {
        let value = wait(op, timeout_ms)?;
        if !results.is_null() {
            out(results, "results")?.set(value)?;
        }
        Ok(())
    })
}

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
/// on the calling thread; otherwise later on a library thread. rtws holds a reference
/// on `op` until the handler has returned.
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
    call(|| put_completed(op, handler, context))
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
    call(|| self::error_code(op, error_code))
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

/// Opaque handle of an IAsyncOperationIBuffer (returned by IInputStream_ReadAsync;
/// UWP's IAsyncOperationWithProgress<IBuffer, UInt32>, without progress).
pub struct IAsyncOperationIBuffer {
    _private: [u8; 0],
}

impl Handle for IAsyncOperationIBuffer {
    type Target = AsyncOp<Arc<Buffer>>;
    const NAME: &'static str = "IAsyncOperationIBuffer";
}

/// Called once when an IAsyncOperationIBuffer completes, fails or is canceled, on a library thread
/// (or at once, on the calling thread, if it had already finished). `async_info` is
/// borrowed for the call; AddRef it to keep it. Must not throw or longjmp.
pub type AsyncOperationCompletedHandlerIBuffer = Completed<IAsyncOperationIBuffer>;

/// Adds a reference to the operation. Returns the new count, or 0 (with the last
/// error message set) when `op` is not a live IAsyncOperationIBuffer handle. Any thread.
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_AddRef(op: *mut IAsyncOperationIBuffer) -> u32 {
    call_count(|| IAsyncOperationIBuffer::add_ref(op))
}

/// Releases a reference; the handle is invalid once the count reaches 0. Releasing
/// does not cancel the operation: its work goes on and its Completed handler (if
/// any) still runs. Returns the new count, or 0 when `op` is not a live handle.
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_Release(op: *mut IAsyncOperationIBuffer) -> u32 {
    call_count(|| IAsyncOperationIBuffer::release(op))
}

/// Sets the Completed handler (once per operation). `context` is passed back
/// verbatim. If the operation already finished, the handler runs before this returns,
/// on the calling thread; otherwise later on a library thread. rtws holds a reference
/// on `op` until the handler has returned.
///
/// Returns `S_OK`; `E_POINTER` (NULL handler), `E_INVALIDARG` (not a live handle),
/// `E_ILLEGAL_DELEGATE_ASSIGNMENT` (a handler was already set), `E_ILLEGAL_METHOD_CALL`
/// (the operation was closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_put_Completed(
    op: *mut IAsyncOperationIBuffer,
    handler: AsyncOperationCompletedHandlerIBuffer,
    context: *mut c_void,
) -> HRESULT {
    call(|| put_completed(op, handler, context))
}

/// `IAsyncInfo.Status`: `AsyncStatus_Started`, `_Completed`, `_Canceled` or `_Error`.
/// Returns `S_OK`; `E_POINTER`, `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_get_Status(
    op: *mut IAsyncOperationIBuffer,
    status: *mut AsyncStatus,
) -> HRESULT {
    call(|| out(status, "status")?.set(IAsyncOperationIBuffer::get(op)?.status()?))
}

/// `IAsyncInfo.ErrorCode`: `S_OK` while started or when completed, the failure
/// HRESULT after an error, `0x800704C7` (ERROR_CANCELLED) after a cancel. A failure
/// code also becomes the thread's last error message. Returns `S_OK`; `E_POINTER`,
/// `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_get_ErrorCode(
    op: *mut IAsyncOperationIBuffer,
    error_code: *mut HRESULT,
) -> HRESULT {
    call(|| self::error_code(op, error_code))
}

/// `IAsyncInfo.Id`: a process-unique number for the operation. Returns `S_OK`;
/// `E_POINTER`, `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_get_Id(
    op: *mut IAsyncOperationIBuffer,
    id: *mut u32,
) -> HRESULT {
    call(|| out(id, "id")?.set(IAsyncOperationIBuffer::get(op)?.id()))
}

/// `IAsyncInfo.Cancel`: asks the operation to stop. A started operation ends with
/// `AsyncStatus_Canceled` at once, and its Completed handler runs on this thread
/// before Cancel returns; a finished one is unchanged. The work behind it stops if
/// it can: a connect is abandoned; a store not yet handed to the socket is not
/// sent (one already being written still goes out).
/// Returns `S_OK`; `E_INVALIDARG`, `E_ILLEGAL_METHOD_CALL` (closed).
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_Cancel(op: *mut IAsyncOperationIBuffer) -> HRESULT {
    call(|| IAsyncOperationIBuffer::get(op)?.cancel())
}

/// `IAsyncInfo.Close`: ends the operation's use; later calls other than
/// AddRef/Release, get_Id and Close fail with `E_ILLEGAL_METHOD_CALL`. Returns `S_OK`; `E_INVALIDARG`,
/// `E_ILLEGAL_STATE_CHANGE` (still started).
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_Close(op: *mut IAsyncOperationIBuffer) -> HRESULT {
    call(|| IAsyncOperationIBuffer::get(op)?.close())
}

/// `GetResults`: once completed, stores in `*results` a new reference (the caller
/// owns it) to the buffer the read filled. Returns `S_OK`; the failure HRESULT
/// after an error, `0x800704C7` after a cancel, `E_ILLEGAL_METHOD_CALL` while
/// started or closed; `E_POINTER`, `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_GetResults(
    op: *mut IAsyncOperationIBuffer,
    results: *mut *mut IBuffer,
) -> HRESULT {
    call(|| {
        let results = out(results, "results")?;
        results.set(IBuffer::publish(
            IAsyncOperationIBuffer::get(op)?.results()?,
        ))
    })
}

/// rtws extension: blocks until the operation finishes or `timeout_ms` passes
/// (`RTWS_INFINITE`: no limit; 0: poll), then stores a new reference to the filled
/// buffer in `*results` (caller owns it; `results` may be NULL when not wanted).
/// Returns as `IAsyncAction_Wait` does.
#[no_mangle]
pub extern "C" fn IAsyncOperationIBuffer_Wait(
    op: *mut IAsyncOperationIBuffer,
    timeout_ms: u32,
    results: *mut *mut IBuffer,
) -> HRESULT {
    call(|| {
        let value = wait(op, timeout_ms)?;
        if !results.is_null() {
            out(results, "results")?.set(IBuffer::publish(value))?;
        }
        Ok(())
    })
}
