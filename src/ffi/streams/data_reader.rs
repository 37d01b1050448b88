//! `DataReader`: loads bytes from an IInputStream and reads typed values and strings.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `IInputStream`, `IAsyncOperationUInt32`),
//! `super` (the enum checks), `rtws_core::winrt::streams`, `rtws_types`.

use super::{byte_order, unicode_encoding};
use crate::ffi::async_op::IAsyncOperationUInt32;
use crate::ffi::handle::{Borrowed, Handle};
use crate::ffi::streams::{IInputStream, InputStreamOptions};
use crate::ffi::{call, call_count, copy_str_out, in_enum, out, out_bytes};
use rtws_core::winrt::streams as core;
use rtws_types::{ByteOrder, UnicodeEncoding};
use rtws_types::{Result, HRESULT};
use std::ffi::c_char;
use std::sync::Arc;

/// Opaque handle of a DataReader.
pub struct DataReader {
    _private: [u8; 0],
}
impl Handle for DataReader {
    type Target = core::DataReader;
    const NAME: &'static str = "DataReader";
    fn let_go_object(object: Arc<core::DataReader>) {
        core::DataReader::let_go(object);
    }
}

/// Adds a reference. Returns the new count, or 0 when not a live handle.
#[no_mangle]
pub extern "C" fn DataReader_AddRef(this: *mut DataReader) -> u32 {
    call_count(|| DataReader::add_ref(this))
}

/// Releases a reference. Returns the new count, or 0 when not a live handle.
/// Called while another thread is inside a read or property call of this reader,
/// it returns once that call has.
#[no_mangle]
pub extern "C" fn DataReader_Release(this: *mut DataReader) -> u32 {
    call_count(|| DataReader::release(this))
}

/// The DataReader for one call that runs no host code (reads, properties; see
/// `Handle::borrow`). The calls that may drop a stream or socket use `DataReader::get`.
fn reader(this: *mut DataReader) -> Result<Borrowed<core::DataReader>> {
    DataReader::borrow(this)
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
        operation.set(IAsyncOperationUInt32::publish(
            DataReader::get(this)?.load(count)?,
        ))
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
        stream.set(IInputStream::publish(
            DataReader::get(this)?.detach_stream()?,
        ))
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
        DataReader::get(this)?.close();
        Ok(())
    })
}
