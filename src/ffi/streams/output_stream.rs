//! `IOutputStream`: a socket's output stream (WriteAsync, FlushAsync).
//!
//! Imports: `crate::ffi` (helpers, `handle`, `IBuffer`, the async operation handle
//! types), `rtws_core::winrt::streams`, `rtws_types`.

use crate::ffi::async_op::{IAsyncOperationBoolean, IAsyncOperationUInt32};
use crate::ffi::handle::Handle;
use crate::ffi::streams::IBuffer;
use crate::ffi::{call, call_count, out};
use rtws_core::winrt::streams as core;
use rtws_types::HRESULT;

/// Opaque handle of an IOutputStream (a socket's output stream).
pub struct IOutputStream {
    _private: [u8; 0],
}
impl Handle for IOutputStream {
    type Target = core::OutputStream;
    const NAME: &'static str = "IOutputStream";
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IOutputStream_AddRef(this: *mut IOutputStream) -> u32 {
    call_count(|| IOutputStream::add_ref(this))
}

/// Releases a reference (the stream stays open: only a DataWriter that owns it, or
/// the socket, closes it). Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IOutputStream_Release(this: *mut IOutputStream) -> u32 {
    call_count(|| IOutputStream::release(this))
}

/// `FlushAsync`: an operation (caller owns it) that completes with true once every
/// write queued before it is on the wire. Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (not connected yet); `RO_E_CLOSED`
/// (stream or socket closed).
#[no_mangle]
pub extern "C" fn IOutputStream_FlushAsync(
    this: *mut IOutputStream,
    operation: *mut *mut IAsyncOperationBoolean,
) -> HRESULT {
    call(|| {
        let operation = out(operation, "operation")?;
        operation.set(IAsyncOperationBoolean::publish(
            IOutputStream::get(this)?.flush()?,
        ))
    })
}

/// `WriteAsync(buffer)`: sends the buffer's first `Length` bytes as one message (binary on a StreamWebSocket; the Control's MessageType on a
/// MessageWebSocket). rtws takes the bytes as they are at the call, without a copy
/// (it holds them until the operation completes; releasing your reference is
/// fine): a later change to the buffer (a read into it, `IBuffer_put_Length`)
/// gives the buffer new bytes and does not change what is sent. The
/// operation (caller owns it) completes with the number of bytes once the kernel
/// has taken the whole message: with a writer that waits for each write, memory
/// beyond your buffers stays bounded by the socket's send buffer
/// (OutboundBufferSizeInBytes) plus at most 1 MiB of rtws's masked output. UWP's
/// IAsyncOperationWithProgress; progress is not reported.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (not
/// connected yet); `RO_E_CLOSED` (stream or socket closed). The operation fails
/// as DataWriter_StoreAsync's does.
#[no_mangle]
pub extern "C" fn IOutputStream_WriteAsync(
    this: *mut IOutputStream,
    buffer: *mut IBuffer,
    operation: *mut *mut IAsyncOperationUInt32,
) -> HRESULT {
    call(|| {
        let operation = out(operation, "operation")?;
        let data = IBuffer::get(buffer)?.bytes();
        operation.set(IAsyncOperationUInt32::publish(
            IOutputStream::get(this)?.write(data)?,
        ))
    })
}
