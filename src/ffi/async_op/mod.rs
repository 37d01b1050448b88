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
use crate::ffi::{fail, out, Context};
use rtws_core::winrt::async_op::AsyncOp;
use rtws_types::AsyncStatus;
use rtws_types::{Error, Result, E_POINTER, HRESULT, S_OK};
use std::ffi::c_void;
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
    let held = HeldHandle::<H>(op as usize, std::marker::PhantomData);
    let ctx = Context(context);
    target.set_completed(Box::new(move |status| {
        let ctx = ctx;
        handler(ctx.0, held.0 as *mut H, status);
        drop(held);
    }))
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
