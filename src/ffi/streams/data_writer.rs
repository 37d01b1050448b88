//! `DataWriter`: typed values and strings into a buffer, stored to an IOutputStream.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `IOutputStream`, the async operation
//! handle types), `super` (the enum checks), `rtws_core::winrt::streams`, `rtws_types`.

use super::{byte_order, unicode_encoding};
use crate::ffi::async_op::{IAsyncOperationBoolean, IAsyncOperationUInt32};
use crate::ffi::handle::{Borrowed, Handle};
use crate::ffi::streams::IOutputStream;
use crate::ffi::{call, call_count, in_bytes, in_enum, in_str, out};
use rtws_core::winrt::streams as core;
use rtws_types::{ByteOrder, UnicodeEncoding};
use rtws_types::{Result, HRESULT};
use std::ffi::c_char;

/// Opaque handle of a DataWriter.
pub struct DataWriter {
    _private: [u8; 0],
}
impl Handle for DataWriter {
    type Target = core::DataWriter;
    const NAME: &'static str = "DataWriter";
}

/// `DataWriter()`: a writer with no stream (it can buffer and measure; StoreAsync
/// fails with `E_ILLEGAL_METHOD_CALL`). Defaults: UnicodeEncoding Utf8, ByteOrder
/// BigEndian. The caller owns the reference. Returns `S_OK`; `E_POINTER`.
#[no_mangle]
pub extern "C" fn DataWriter_Create(result: *mut *mut DataWriter) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        result.set(DataWriter::new_handle(core::DataWriter::new(None)))
    })
}

/// `DataWriter(IOutputStream)` (ABI name CreateDataWriter): a writer that owns
/// `output_stream` until DetachStream. Releasing the writer's last reference (or
/// DataWriter_Close) while it still owns the stream closes the stream for good, as
/// in UWP: later writes to it fail with `RO_E_CLOSED`. `output_stream` is borrowed
/// (the writer takes its own reference). The caller owns `*result`.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (not a live IOutputStream).
///
/// ```c
/// IOutputStream *out; DataWriter *w; IAsyncOperationUInt32 *store;
/// MessageWebSocket_get_OutputStream(ws, &out);
/// DataWriter_CreateDataWriter(out, &w);
/// IOutputStream_Release(out);
/// DataWriter_WriteString(w, "Hello, World!", NULL);
/// DataWriter_StoreAsync(w, &store);
/// IAsyncOperationUInt32_Wait(store, RTWS_INFINITE, NULL);
/// IAsyncOperationUInt32_Release(store);
/// IOutputStream_Release(DataWriter_DetachStream(w, &out) == S_OK ? out : NULL);
/// DataWriter_Release(w);
/// ```
#[no_mangle]
pub extern "C" fn DataWriter_CreateDataWriter(
    output_stream: *mut IOutputStream,
    result: *mut *mut DataWriter,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let stream = IOutputStream::get(output_stream)?.as_ref().clone();
        result.set(DataWriter::new_handle(core::DataWriter::new(Some(stream))))
    })
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn DataWriter_AddRef(this: *mut DataWriter) -> u32 {
    call_count(|| DataWriter::add_ref(this))
}

/// Releases a reference; the last one closes the owned stream, if still attached.
/// Returns the new count, or 0 when not a live handle. Called while another thread
/// is inside a write or property call of this writer (a long WriteBytes), it
/// returns once that call has.
#[no_mangle]
pub extern "C" fn DataWriter_Release(this: *mut DataWriter) -> u32 {
    call_count(|| DataWriter::release(this))
}

/// The DataWriter for one call that runs no host code (writes, properties; see
/// `Handle::borrow`). The calls that may drop a stream or socket use `DataWriter::get`.
fn writer(this: *mut DataWriter) -> Result<Borrowed<core::DataWriter>> {
    DataWriter::borrow(this)
}

/// `UnstoredBufferLength`: bytes written and not yet stored. Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED` (writer closed).
#[no_mangle]
pub extern "C" fn DataWriter_get_UnstoredBufferLength(
    this: *mut DataWriter,
    value: *mut u32,
) -> HRESULT {
    call(|| out(value, "value")?.set(writer(this)?.unstored_len()?))
}

/// `UnicodeEncoding` used by WriteString/MeasureString (default Utf8).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_get_UnicodeEncoding(
    this: *mut DataWriter,
    value: *mut UnicodeEncoding,
) -> HRESULT {
    call(|| out(value, "value")?.set(writer(this)?.encoding()?))
}

/// Sets `UnicodeEncoding` (a `UnicodeEncoding` value). Returns `S_OK`;
/// `E_INVALIDARG` (other value); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_put_UnicodeEncoding(this: *mut DataWriter, value: i32) -> HRESULT {
    call(|| writer(this)?.set_encoding(in_enum(value, "UnicodeEncoding", unicode_encoding)?))
}

/// `ByteOrder` of the multi-byte writes (default BigEndian, as UWP).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_get_ByteOrder(
    this: *mut DataWriter,
    value: *mut ByteOrder,
) -> HRESULT {
    call(|| out(value, "value")?.set(writer(this)?.byte_order()?))
}

/// Sets `ByteOrder` (a `ByteOrder` value). Returns `S_OK`; `E_INVALIDARG` (other
/// value); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_put_ByteOrder(this: *mut DataWriter, value: i32) -> HRESULT {
    call(|| writer(this)?.set_byte_order(in_enum(value, "ByteOrder", byte_order)?))
}

/// `WriteByte`: appends one byte. Returns `S_OK`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteByte(this: *mut DataWriter, value: u8) -> HRESULT {
    call(|| writer(this)?.write_bytes(&[value]))
}

/// `WriteBytes`: appends `value_length` bytes from `value` (copied; `value` may be
/// NULL when the length is 0). WinRT ABI order: length first. Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteBytes(
    this: *mut DataWriter,
    value_length: u32,
    value: *const u8,
) -> HRESULT {
    call(|| writer(this)?.write_bytes(in_bytes(value, value_length, "value")?))
}

/// `WriteBoolean`: appends one byte, 1 for true and 0 for false. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteBoolean(this: *mut DataWriter, value: bool) -> HRESULT {
    call(|| writer(this)?.write_bytes(&[u8::from(value)]))
}

/// `WriteInt16`: appends a `int16_t` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteInt16(this: *mut DataWriter, value: i16) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteUInt16`: appends a `uint16_t` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteUInt16(this: *mut DataWriter, value: u16) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteInt32`: appends a `int32_t` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteInt32(this: *mut DataWriter, value: i32) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteUInt32`: appends a `uint32_t` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteUInt32(this: *mut DataWriter, value: u32) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteInt64`: appends a `int64_t` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteInt64(this: *mut DataWriter, value: i64) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteUInt64`: appends a `uint64_t` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteUInt64(this: *mut DataWriter, value: u64) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteSingle`: appends a `float` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteSingle(this: *mut DataWriter, value: f32) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteDouble`: appends a `double` in the writer's ByteOrder. Returns `S_OK`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteDouble(this: *mut DataWriter, value: f64) -> HRESULT {
    call(|| writer(this)?.write_number(value.to_le_bytes(), value.to_be_bytes()))
}

/// `WriteString`: appends `value` (NUL-terminated UTF-8, copied) in the writer's
/// UnicodeEncoding, and stores in `*length` (may be NULL) the bytes it added.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG` (not UTF-8); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_WriteString(
    this: *mut DataWriter,
    value: *const c_char,
    length: *mut u32,
) -> HRESULT {
    call(|| {
        let s = in_str(value, "value")?;
        // Check the output before writing, so a refused call appends nothing.
        let length = (!length.is_null())
            .then(|| out(length, "length"))
            .transpose()?;
        let n = writer(this)?.write_string(s)?;
        length.map_or(Ok(()), |l| l.set(n))
    })
}

/// `MeasureString`: the bytes WriteString would add for `value` in the current
/// UnicodeEncoding. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_MeasureString(
    this: *mut DataWriter,
    value: *const c_char,
    length: *mut u32,
) -> HRESULT {
    call(|| {
        let length = out(length, "length")?;
        length.set(writer(this)?.measure_string(in_str(value, "value")?)?)
    })
}

/// `StoreAsync`: hands the buffered bytes to the stream as one write — on a
/// MessageWebSocket, one message of the Control's current MessageType, sent even
/// when empty — and empties the buffer. The operation (caller owns it) completes
/// with the byte count once the kernel has taken the message's last byte, or fails with the
/// connection's failure (`RO_E_CLOSED` when the socket closed first;
/// `RTWS_E_NO_UNICODE_TRANSLATION` when MessageType is Utf8 and the bytes are not
/// UTF-8). Several stores may be pending at once: they go out in call order.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (no stream,
/// or the socket is not connected yet); `RO_E_CLOSED` (writer, stream or socket
/// closed).
#[no_mangle]
pub extern "C" fn DataWriter_StoreAsync(
    this: *mut DataWriter,
    operation: *mut *mut IAsyncOperationUInt32,
) -> HRESULT {
    call(|| {
        let operation = out(operation, "operation")?;
        operation.set(IAsyncOperationUInt32::publish(
            DataWriter::get(this)?.store()?,
        ))
    })
}

/// `FlushAsync`: as `IOutputStream_FlushAsync` on the writer's stream.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (no stream,
/// not connected); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_FlushAsync(
    this: *mut DataWriter,
    operation: *mut *mut IAsyncOperationBoolean,
) -> HRESULT {
    call(|| {
        let operation = out(operation, "operation")?;
        operation.set(IAsyncOperationBoolean::publish(
            DataWriter::get(this)?.flush()?,
        ))
    })
}

/// `DetachStream`: gives the stream back (a new reference in `*stream`, caller owns
/// it); releasing the writer afterwards leaves the stream open. Bytes not yet
/// stored stay in the writer. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`;
/// `E_ILLEGAL_METHOD_CALL` (no stream attached); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataWriter_DetachStream(
    this: *mut DataWriter,
    stream: *mut *mut IOutputStream,
) -> HRESULT {
    call(|| {
        let stream = out(stream, "stream")?;
        stream.set(IOutputStream::new_handle(
            DataWriter::get(this)?.detach_stream()?,
        ))
    })
}

/// `Close`: closes the writer and, if still attached, its stream (see
/// CreateDataWriter). Later calls on the writer fail with `RO_E_CLOSED`; the handle
/// still needs its Release. Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn DataWriter_Close(this: *mut DataWriter) -> HRESULT {
    call(|| {
        DataWriter::get(this)?.close();
        Ok(())
    })
}
