//! `IInputStream` (a StreamWebSocket's input, or a received message's data stream)
//! and the `InputStreamOptions` flags of its ReadAsync and of DataReader.LoadAsync.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `IBuffer`, `IAsyncOperationIBuffer`),
//! `rtws_core::winrt::{inbound, streams}`, `rtws_types`.

use crate::ffi::async_op::IAsyncOperationIBuffer;
use crate::ffi::handle::Handle;
use crate::ffi::streams::IBuffer;
use crate::ffi::{call, call_count, out};
use rtws_core::winrt::inbound::Inbound;
use rtws_core::winrt::streams as core;
use rtws_types::HRESULT;
pub use rtws_types::{
    InputStreamOptions, InputStreamOptions_None, InputStreamOptions_Partial,
    InputStreamOptions_ReadAhead,
};

/// Opaque handle of an IInputStream (a StreamWebSocket's input, or a received
/// message's data stream).
pub struct IInputStream {
    _private: [u8; 0],
}
impl Handle for IInputStream {
    type Target = Inbound;
    const NAME: &'static str = "IInputStream";
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IInputStream_AddRef(this: *mut IInputStream) -> u32 {
    call_count(|| IInputStream::add_ref(this))
}

/// Releases a reference (the socket keeps its stream). Returns the new count, or 0
/// when not a live handle.
#[no_mangle]
pub extern "C" fn IInputStream_Release(this: *mut IInputStream) -> u32 {
    call_count(|| IInputStream::release(this))
}

/// `ReadAsync(buffer, count, options)`: reads into `buffer` (rtws holds a reference
/// until the operation ends) and returns the operation (caller owns it). It
/// completes per `options` (`InputStreamOptions_*`): None when `count` bytes came
/// or the stream ended; Partial as soon as any byte is there; ReadAhead may fill
/// the buffer up to its capacity. `GetResults` gives the buffer, its Length the
/// bytes read (0: the stream ended with a close handshake). Bytes are taken only
/// when the read completes: canceling it (`IAsyncOperationIBuffer_Cancel`) loses
/// nothing. One read at a time per stream.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (`count` over the capacity, unknown
/// flags, not live handles); `RTWS_E_INVALID_OPERATION` (a read is pending);
/// `E_ILLEGAL_METHOD_CALL` (the StreamWebSocket's ConnectAsync has not completed).
/// The operation fails with the connection's failure (e.g.
/// `WININET_E_CONNECTION_ABORTED`) once the bytes before it were read, or with
/// `RO_E_CLOSED` when the socket closes without ever connecting.
#[no_mangle]
pub extern "C" fn IInputStream_ReadAsync(
    this: *mut IInputStream,
    buffer: *mut IBuffer,
    count: u32,
    options: InputStreamOptions,
    operation: *mut *mut IAsyncOperationIBuffer,
) -> HRESULT {
    call(|| {
        let operation = out(operation, "operation")?;
        let buffer = IBuffer::get(buffer)?;
        let op = core::read_async(&IInputStream::get(this)?, buffer, count, options)?;
        operation.set(IAsyncOperationIBuffer::publish(op))
    })
}
