//! Windows.Storage.Streams: `IOutputStream`, `IInputStream`, `IBuffer`,
//! `DataWriter`, `DataReader`.
//!
//! Thread rules: every function may be called from any thread; one DataWriter or
//! DataReader is internally locked, so concurrent calls on it are safe but their
//! order is up to the caller.

use crate::ffi::async_op::{IAsyncOperationBoolean, IAsyncOperationIBuffer, IAsyncOperationUInt32};
use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, copy_str_out, in_bytes, in_enum, in_str, out, out_bytes};
use rtws_core::winrt::inbound::Inbound;
use rtws_core::winrt::streams as core;
use rtws_types::{ByteOrder, UnicodeEncoding};
use rtws_types::{Result, HRESULT};
use std::ffi::c_char;

/// Opaque handle of an IOutputStream (a socket's output stream).
pub struct IOutputStream {
    _private: [u8; 0],
}
impl Handle for IOutputStream {
    type Target = core::OutputStream;
    const NAME: &'static str = "IOutputStream";
}

/// Opaque handle of an IInputStream (a StreamWebSocket's input, or a received
/// message's data stream).
pub struct IInputStream {
    _private: [u8; 0],
}
impl Handle for IInputStream {
    type Target = Inbound;
    const NAME: &'static str = "IInputStream";
}

/// Opaque handle of an IBuffer (`Windows.Storage.Streams.Buffer`): bytes with a
/// capacity and a length, owned by rtws so no caller pointer outlives a call.
pub struct IBuffer {
    _private: [u8; 0],
}
impl Handle for IBuffer {
    type Target = core::Buffer;
    const NAME: &'static str = "IBuffer";
}

/// `InputStreamOptions` flags of ReadAsync and DataReader.LoadAsync.
pub type InputStreamOptions = u32;
/// Complete when `count` bytes arrived, or the stream ended.
#[allow(non_upper_case_globals)] // the WinRT names
pub const InputStreamOptions_None: InputStreamOptions = 0;
/// Complete as soon as at least one byte is there (up to `count`).
#[allow(non_upper_case_globals)] // the WinRT names
pub const InputStreamOptions_Partial: InputStreamOptions = 1;
/// May return more than `count` bytes (up to the buffer's capacity; for LoadAsync,
/// everything already received).
#[allow(non_upper_case_globals)] // the WinRT names
pub const InputStreamOptions_ReadAhead: InputStreamOptions = 2;

/// Opaque handle of a DataWriter.
pub struct DataWriter {
    _private: [u8; 0],
}
impl Handle for DataWriter {
    type Target = core::DataWriter;
    const NAME: &'static str = "DataWriter";
}

/// Opaque handle of a DataReader.
pub struct DataReader {
    _private: [u8; 0],
}
impl Handle for DataReader {
    type Target = core::DataReader;
    const NAME: &'static str = "DataReader";
}

fn byte_order(v: i32) -> Option<ByteOrder> {
    match v {
        0 => Some(ByteOrder::LittleEndian),
        1 => Some(ByteOrder::BigEndian),
        _ => None,
    }
}

fn unicode_encoding(v: i32) -> Option<UnicodeEncoding> {
    match v {
        0 => Some(UnicodeEncoding::Utf8),
        1 => Some(UnicodeEncoding::Utf16LE),
        2 => Some(UnicodeEncoding::Utf16BE),
        _ => None,
    }
}

// ----- IOutputStream -------------------------------------------------------------

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
/// MessageWebSocket). As in WinRT, rtws reads the buffer when it builds the frame,
/// without a copy of its own: leave the buffer unchanged until the operation
/// completes (rtws holds a reference until then; releasing yours is fine). The
/// operation (caller owns it) completes with the number of bytes once the kernel
/// has taken the whole message: with a writer that waits for
/// each write, memory stays bounded by the socket's send buffer
/// (OutboundBufferSizeInBytes) plus rtws's 256 KiB. UWP's
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
        let data = core::Payload::Buffer(IBuffer::get(buffer)?);
        operation.set(IAsyncOperationUInt32::publish(
            IOutputStream::get(this)?.write(data)?,
        ))
    })
}

// ----- IInputStream --------------------------------------------------------------

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

// ----- IBuffer -------------------------------------------------------------------

/// `Buffer(capacity)`: a new buffer of `capacity` bytes, Length 0 (the caller owns
/// the reference). No memory is taken for the capacity: only for the bytes in use,
/// as a read fills it or `IBuffer_put_Length` makes it longer. Returns `S_OK`;
/// `E_POINTER`.
#[no_mangle]
pub extern "C" fn Buffer_Create(capacity: u32, result: *mut *mut IBuffer) -> HRESULT {
    call(|| out(result, "result")?.set(IBuffer::new_handle(core::Buffer::new(capacity))))
}

/// A new buffer holding a copy of `data[0..length)` (Capacity = Length = `length`;
/// `data` may be NULL when `length` is 0), as `CryptographicBuffer.CreateFromByteArray`.
/// Returns `S_OK`; `E_POINTER`.
#[no_mangle]
pub extern "C" fn Buffer_CreateFromBytes(
    data: *const u8,
    length: u32,
    result: *mut *mut IBuffer,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let bytes = in_bytes(data, length, "data")?;
        result.set(IBuffer::new_handle(core::Buffer::from_bytes(bytes)?))
    })
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IBuffer_AddRef(this: *mut IBuffer) -> u32 {
    call_count(|| IBuffer::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn IBuffer_Release(this: *mut IBuffer) -> u32 {
    call_count(|| IBuffer::release(this))
}

/// `Capacity`. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IBuffer_get_Capacity(this: *mut IBuffer, value: *mut u32) -> HRESULT {
    call(|| out(value, "value")?.set(IBuffer::get(this)?.capacity()))
}

/// `Length`: the bytes in use. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IBuffer_get_Length(this: *mut IBuffer, value: *mut u32) -> HRESULT {
    call(|| out(value, "value")?.set(IBuffer::get(this)?.len()))
}

/// Sets `Length` (at most Capacity; bytes a longer length reveals are zeros, and
/// the memory for them is taken at once).
/// Returns `S_OK`; `E_INVALIDARG` (over the capacity, not a live handle).
#[no_mangle]
pub extern "C" fn IBuffer_put_Length(this: *mut IBuffer, value: u32) -> HRESULT {
    call(|| IBuffer::get(this)?.set_len(value))
}

/// rtws's `IBufferByteAccess`: copies up to `capacity` bytes of the buffer, from
/// byte `offset` on, into `data` (caller-owned; may be NULL when `capacity` is 0)
/// and stores how many were copied in `*copied`. Safe while a read fills the same
/// buffer on another thread (you get the bytes before or after, whole).
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn IBuffer_CopyTo(
    this: *mut IBuffer,
    offset: u32,
    data: *mut u8,
    capacity: u32,
    copied: *mut u32,
) -> HRESULT {
    call(|| {
        let copied = out(copied, "copied")?;
        let dst = out_bytes(data, capacity, "data")?;
        let n = IBuffer::get(this)?.copy_to(offset, dst);
        copied.set(n as u32)
    })
}

// ----- DataWriter ----------------------------------------------------------------

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
/// Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn DataWriter_Release(this: *mut DataWriter) -> u32 {
    call_count(|| DataWriter::release(this))
}

fn writer(this: *mut DataWriter) -> Result<std::sync::Arc<core::DataWriter>> {
    DataWriter::get(this)
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
        operation.set(IAsyncOperationUInt32::publish(writer(this)?.store()?))
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
        operation.set(IAsyncOperationBoolean::publish(writer(this)?.flush()?))
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
        stream.set(IOutputStream::new_handle(writer(this)?.detach_stream()?))
    })
}

/// `Close`: closes the writer and, if still attached, its stream (see
/// CreateDataWriter). Later calls on the writer fail with `RO_E_CLOSED`; the handle
/// still needs its Release. Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn DataWriter_Close(this: *mut DataWriter) -> HRESULT {
    call(|| {
        writer(this)?.close();
        Ok(())
    })
}

// ----- DataReader ----------------------------------------------------------------

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn DataReader_AddRef(this: *mut DataReader) -> u32 {
    call_count(|| DataReader::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn DataReader_Release(this: *mut DataReader) -> u32 {
    call_count(|| DataReader::release(this))
}

fn reader(this: *mut DataReader) -> Result<std::sync::Arc<core::DataReader>> {
    DataReader::get(this)
}

/// `DataReader(IInputStream)`: a reader that loads from `stream` (LoadAsync); the
/// reader owns the stream until DetachStream. Defaults: UnicodeEncoding Utf8,
/// ByteOrder BigEndian, InputStreamOptions None. Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`.
///
/// ```c
/// DataReader *r; IAsyncOperationUInt32 *load; uint32_t n;
/// DataReader_CreateDataReader(input, &r);
/// DataReader_put_InputStreamOptions(r, InputStreamOptions_Partial);
/// DataReader_LoadAsync(r, 256, &load);
/// IAsyncOperationUInt32_Wait(load, RTWS_INFINITE, &n);  // n bytes loaded
/// ```
#[no_mangle]
pub extern "C" fn DataReader_CreateDataReader(
    stream: *mut IInputStream,
    result: *mut *mut DataReader,
) -> HRESULT {
    call(|| {
        let result = out(result, "result")?;
        let source = IInputStream::get(stream)?;
        result.set(DataReader::new_handle(core::DataReader::from_stream(
            source,
        )))
    })
}

/// `LoadAsync(count)`: reads from the reader's stream into its buffer, per its
/// InputStreamOptions (None: until `count` bytes or the end; Partial: as soon as
/// any; ReadAhead: also what else already arrived). The operation (caller owns it)
/// completes with the bytes loaded, fewer (or 0) when the stream ended; canceled,
/// it loads nothing and loses nothing. One load at a time.
/// Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_ILLEGAL_METHOD_CALL` (no stream:
/// a message's reader, or detached; or the StreamWebSocket's ConnectAsync has not
/// completed); `RTWS_E_INVALID_OPERATION` (a load or read is pending); `RO_E_CLOSED`.
/// The operation fails with the connection's failure.
#[no_mangle]
pub extern "C" fn DataReader_LoadAsync(
    this: *mut DataReader,
    count: u32,
    operation: *mut *mut IAsyncOperationUInt32,
) -> HRESULT {
    call(|| {
        let operation = out(operation, "operation")?;
        operation.set(IAsyncOperationUInt32::publish(reader(this)?.load(count)?))
    })
}

/// `InputStreamOptions` of LoadAsync (default None). Returns `S_OK`; `E_POINTER`;
/// `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_get_InputStreamOptions(
    this: *mut DataReader,
    value: *mut InputStreamOptions,
) -> HRESULT {
    call(|| out(value, "value")?.set(reader(this)?.input_stream_options()?))
}

/// Sets `InputStreamOptions` (`InputStreamOptions_*` flags). Returns `S_OK`;
/// `E_INVALIDARG` (unknown flags); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_put_InputStreamOptions(
    this: *mut DataReader,
    value: InputStreamOptions,
) -> HRESULT {
    call(|| reader(this)?.set_input_stream_options(value))
}

/// `DetachStream`: the reader lets go of its stream and returns a new reference to
/// it (the caller owns it); the stream stays open, and bytes already loaded stay
/// in the reader. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`;
/// `E_ILLEGAL_METHOD_CALL` (no stream); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_DetachStream(
    this: *mut DataReader,
    stream: *mut *mut IInputStream,
) -> HRESULT {
    call(|| {
        let stream = out(stream, "stream")?;
        stream.set(IInputStream::publish(reader(this)?.detach_stream()?))
    })
}

/// `UnconsumedBufferLength`: bytes loaded and not yet read. Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_get_UnconsumedBufferLength(
    this: *mut DataReader,
    value: *mut u32,
) -> HRESULT {
    call(|| out(value, "value")?.set(reader(this)?.unconsumed_len()?))
}

/// `UnicodeEncoding` used by ReadString (default Utf8). Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_get_UnicodeEncoding(
    this: *mut DataReader,
    value: *mut UnicodeEncoding,
) -> HRESULT {
    call(|| out(value, "value")?.set(reader(this)?.encoding()?))
}

/// Sets `UnicodeEncoding` (a `UnicodeEncoding` value). Returns `S_OK`;
/// `E_INVALIDARG` (other value); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_put_UnicodeEncoding(this: *mut DataReader, value: i32) -> HRESULT {
    call(|| reader(this)?.set_encoding(in_enum(value, "UnicodeEncoding", unicode_encoding)?))
}

/// `ByteOrder` of the multi-byte reads (default BigEndian). Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`; `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_get_ByteOrder(
    this: *mut DataReader,
    value: *mut ByteOrder,
) -> HRESULT {
    call(|| out(value, "value")?.set(reader(this)?.byte_order()?))
}

/// Sets `ByteOrder` (a `ByteOrder` value). Returns `S_OK`; `E_INVALIDARG` (other
/// value); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_put_ByteOrder(this: *mut DataReader, value: i32) -> HRESULT {
    call(|| reader(this)?.set_byte_order(in_enum(value, "ByteOrder", byte_order)?))
}

/// `ReadByte`. Returns `S_OK`; `E_POINTER`; `E_INVALIDARG`; `E_BOUNDS` (nothing
/// left; nothing is consumed); `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_ReadByte(this: *mut DataReader, value: *mut u8) -> HRESULT {
    call(|| out(value, "value")?.set(reader(this)?.read_number::<1>()?[0]))
}

/// `ReadBytes`: fills `value` with the next `value_length` bytes (WinRT ABI order:
/// length first; `value` may be NULL when the length is 0). Returns `S_OK`;
/// `E_POINTER`; `E_INVALIDARG`; `E_BOUNDS` (fewer bytes left; nothing consumed);
/// `RO_E_CLOSED`.
#[no_mangle]
pub extern "C" fn DataReader_ReadBytes(
    this: *mut DataReader,
    value_length: u32,
    value: *mut u8,
) -> HRESULT {
    call(|| reader(this)?.read_bytes(out_bytes(value, value_length, "value")?))
}

/// `ReadBoolean`: one byte, true unless 0. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadBoolean(this: *mut DataReader, value: *mut bool) -> HRESULT {
    call(|| out(value, "value")?.set(reader(this)?.read_number::<1>()?[0] != 0))
}

/// `ReadInt16`: the next `int16_t` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadInt16(this: *mut DataReader, value: *mut i16) -> HRESULT {
    call(|| out(value, "value")?.set(i16::from_le_bytes(reader(this)?.read_number::<2>()?)))
}

/// `ReadUInt16`: the next `uint16_t` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadUInt16(this: *mut DataReader, value: *mut u16) -> HRESULT {
    call(|| out(value, "value")?.set(u16::from_le_bytes(reader(this)?.read_number::<2>()?)))
}

/// `ReadInt32`: the next `int32_t` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadInt32(this: *mut DataReader, value: *mut i32) -> HRESULT {
    call(|| out(value, "value")?.set(i32::from_le_bytes(reader(this)?.read_number::<4>()?)))
}

/// `ReadUInt32`: the next `uint32_t` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadUInt32(this: *mut DataReader, value: *mut u32) -> HRESULT {
    call(|| out(value, "value")?.set(u32::from_le_bytes(reader(this)?.read_number::<4>()?)))
}

/// `ReadInt64`: the next `int64_t` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadInt64(this: *mut DataReader, value: *mut i64) -> HRESULT {
    call(|| out(value, "value")?.set(i64::from_le_bytes(reader(this)?.read_number::<8>()?)))
}

/// `ReadUInt64`: the next `uint64_t` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadUInt64(this: *mut DataReader, value: *mut u64) -> HRESULT {
    call(|| out(value, "value")?.set(u64::from_le_bytes(reader(this)?.read_number::<8>()?)))
}

/// `ReadSingle`: the next `float` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadSingle(this: *mut DataReader, value: *mut f32) -> HRESULT {
    call(|| out(value, "value")?.set(f32::from_le_bytes(reader(this)?.read_number::<4>()?)))
}

/// `ReadDouble`: the next `double` in the reader's ByteOrder. Returns as `DataReader_ReadByte`.
#[no_mangle]
pub extern "C" fn DataReader_ReadDouble(this: *mut DataReader, value: *mut f64) -> HRESULT {
    call(|| out(value, "value")?.set(f64::from_le_bytes(reader(this)?.read_number::<8>()?)))
}

/// `ReadString(codeUnitCount)`: decodes the next `code_unit_count` code units
/// (bytes for Utf8, 16-bit units for Utf16LE/BE) and writes them to `buffer` as
/// NUL-terminated UTF-8 (the Win32 caller-buffer pattern): `*needed` receives the
/// size including the NUL; if `buffer` is NULL or `buffer_size` is smaller, nothing
/// is consumed and `E_NOT_SUFFICIENT_BUFFER` is returned. For Utf8,
/// `code_unit_count + 1` bytes always suffice.
/// Returns `S_OK`; `E_POINTER` (`needed`); `E_INVALIDARG`; `E_BOUNDS` (fewer units
/// left); `RTWS_E_NO_UNICODE_TRANSLATION` (not valid text; nothing consumed);
/// `E_NOT_SUFFICIENT_BUFFER`; `RO_E_CLOSED`.
///
/// ```c
/// uint32_t n, needed; DataReader_get_UnconsumedBufferLength(r, &n);
/// char *text = malloc(n + 1);
/// DataReader_ReadString(r, n, text, n + 1, &needed);
/// ```
#[no_mangle]
pub extern "C" fn DataReader_ReadString(
    this: *mut DataReader,
    code_unit_count: u32,
    buffer: *mut c_char,
    buffer_size: u32,
    needed: *mut u32,
) -> HRESULT {
    call(|| {
        // An error from the copy (NULL `needed`, short buffer) leaves the bytes unread.
        reader(this)?.read_string(code_unit_count, |s| {
            copy_str_out(s, buffer, buffer_size, needed)
        })
    })
}

/// `Close`: releases the reader's data; later calls fail with `RO_E_CLOSED`. The
/// handle still needs its Release. Returns `S_OK`; `E_INVALIDARG`.
#[no_mangle]
pub extern "C" fn DataReader_Close(this: *mut DataReader) -> HRESULT {
    call(|| {
        reader(this)?.close();
        Ok(())
    })
}
