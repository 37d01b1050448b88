//! `MessageWebSocketMessageReceivedEventArgs`: what a MessageReceived handler
//! gets: the message's type, whether it is complete, and its data (or the failure
//! it reports).
//!
//! Imports: `crate::ffi` (helpers, `handle`, the stream handle types it hands out),
//! `rtws_core::winrt::message_websocket`, `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::streams::{DataReader, IInputStream};
use crate::ffi::{call, call_count, out};
use rtws_core::winrt::message_websocket as core;
use rtws_types::SocketMessageType;
use rtws_types::HRESULT;

/// Opaque handle of the arguments of one MessageReceived event.
pub struct MessageWebSocketMessageReceivedEventArgs {
    _private: [u8; 0],
}
impl Handle for MessageWebSocketMessageReceivedEventArgs {
    type Target = core::MessageReceivedArgs;
    const NAME: &'static str = "MessageWebSocketMessageReceivedEventArgs";
}

/// Adds a reference (to keep the arguments past the handler). Returns the new
/// count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_AddRef(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
) -> u32 {
    call_count(|| MessageWebSocketMessageReceivedEventArgs::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
/// Called while another thread is inside GetDataReader or a property call of
/// these args, it returns once that call has.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_Release(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
) -> u32 {
    call_count(|| MessageWebSocketMessageReceivedEventArgs::release(this))
}

/// `MessageType` of the received message. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_get_MessageType(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    value: *mut SocketMessageType,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(MessageWebSocketMessageReceivedEventArgs::borrow(this)?.message_type)
    })
}

/// `IsMessageComplete`: true when this event carries the end of a message (always
/// in FullMessage mode; on the last piece in PartialMessage mode). Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    value: *mut bool,
) -> HRESULT {
    call(|| {
        let value = out(value, "value")?;
        value.set(MessageWebSocketMessageReceivedEventArgs::borrow(this)?.is_message_complete())
    })
}

/// `GetDataReader`: a new DataReader over the whole message (the caller owns the
/// reference), positioned at its start; each call gives a fresh reader. For an
/// event that reports a failure, returns that failure instead (for example
/// `WININET_E_CONNECTION_ABORTED`, `E_INVALID_PROTOCOL_FORMAT`,
/// `RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE`), with the last error message set.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; the failure HRESULT.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_GetDataReader(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    reader: *mut *mut DataReader,
) -> HRESULT {
    call(|| {
        let reader = out(reader, "reader")?;
        let r = MessageWebSocketMessageReceivedEventArgs::borrow(this)?.data_reader()?;
        reader.set(DataReader::publish(r))
    })
}

/// `GetDataStream`: a new input stream over the message (the caller owns the
/// reference), read with `IInputStream_ReadAsync` or a DataReader; it ends (reads
/// complete with 0 bytes) after the message. For an event that reports a failure,
/// returns that failure instead, as GetDataReader does.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; the failure HRESULT.
#[no_mangle]
pub extern "C" fn MessageWebSocketMessageReceivedEventArgs_GetDataStream(
    this: *mut MessageWebSocketMessageReceivedEventArgs,
    stream: *mut *mut IInputStream,
) -> HRESULT {
    call(|| {
        let stream = out(stream, "stream")?;
        let input = MessageWebSocketMessageReceivedEventArgs::get(this)?.data_stream()?;
        stream.set(IInputStream::publish(input))
    })
}
