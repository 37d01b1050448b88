//! The async operations: `IAsyncAction` (async_action.rs), `IAsyncOperation<UInt32>`
//! (async_operation_uint32.rs), `IAsyncOperation<Boolean>` (async_operation_boolean.rs)
//! and `IAsyncOperation<IBuffer>` (async_operation_ibuffer.rs), one file per C class.
//!
//! The four C types share one generic implementation (`core::async_op::AsyncOp`):
//! the generic bodies are here, and each export only binds a C name to them.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core::winrt::async_op`, `rtws_types`.

// In the order of rtws.h (see ffi/mod.rs); the comment lines also keep rustfmt
// from sorting the declarations.
// IAsyncAction_
mod async_action;
// IAsyncOperationUInt32_
mod async_operation_uint32;
// IAsyncOperationBoolean_
mod async_operation_boolean;
// IAsyncOperationIBuffer_
mod async_operation_ibuffer;

pub use async_action::*;
pub use async_operation_boolean::*;
pub use async_operation_ibuffer::*;
pub use async_operation_uint32::*;

use crate::ffi::handle::Handle;
use crate::ffi::{fail, in_str, out, register_context, RtwsReleaseContext};
use rtws_core::winrt::async_op::AsyncOp;
use rtws_types::AsyncStatus;
use rtws_types::{Error, Result, E_POINTER, HRESULT, RTWS_E_CANCELLED, S_FALSE, S_OK};
use std::ffi::{c_char, c_void};
use std::time::Duration;

/// `timeout_ms` value for the `Wait` functions: wait until the operation finishes.
pub const RTWS_INFINITE: u32 = 0xFFFF_FFFF;

type Completed<H> =
    Option<extern "C" fn(context: *mut c_void, async_info: *mut H, status: AsyncStatus)>;

fn put_completed<H, T>(
    op: *mut H,
    handler: Completed<H>,
    context: *mut c_void,
    release: RtwsReleaseContext,
) -> Result<()>
where
    H: Handle<Target = AsyncOp<T>> + 'static,
    T: Clone + Send + 'static,
{
    let handler = handler.ok_or_else(|| Error::new(E_POINTER, "the Completed handler is NULL"))?;
    let target = H::get(op)?;
    // The handler receives the operation handle: keep it valid until the handler ran,
    // even if the host releases its own reference first.
    H::add_ref(op)?;
    let held = HeldHandle::<H>(op as usize, std::marker::PhantomData);
    register_context(context, release, |ctx| {
        target.set_completed(Box::new(move |status| {
            handler(ctx.get(), held.0 as *mut H, status);
            drop(held);
        }))
    })
}

/// The reference a Completed handler holds on its operation's handle: released
/// after the handler ran, or when the handler is dropped unrun (its
/// DispatcherQueue stopped, or set_completed refused it).
struct HeldHandle<H: Handle>(usize, std::marker::PhantomData<fn() -> H>);

impl<H: Handle> Drop for HeldHandle<H> {
    fn drop(&mut self) {
        let _ = H::release(self.0 as *mut H);
    }
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

/// The body of the `_Create` functions: a new completion source.
fn create<H, T>(result: *mut *mut H) -> Result<()>
where
    H: Handle<Target = AsyncOp<T>> + 'static,
    T: Clone + Send + 'static,
{
    out(result, "result")?.set(H::publish(AsyncOp::new_source()))
}

/// The body of the `_Complete` functions: `value` is asked for only on success.
fn complete<H, T>(
    op: *mut H,
    error_code: HRESULT,
    error_message: *const c_char,
    value: impl FnOnce() -> Result<T>,
) -> Result<HRESULT>
where
    H: Handle<Target = AsyncOp<T>> + 'static,
    T: Clone + Send + 'static,
{
    let target = H::get(op)?;
    let result = if error_code >= 0 {
        Ok(value()?)
    } else if error_message.is_null() {
        Err(match error_code {
            RTWS_E_CANCELLED => Error::canceled(),
            hr => Error::new(hr, format!("the operation failed with 0x{:08X}", hr as u32)),
        })
    } else {
        Err(Error::new(
            error_code,
            in_str(error_message, "error_message")?.to_owned(),
        ))
    };
    Ok(if target.complete_source(result)? {
        S_OK
    } else {
        S_FALSE
    })
}
