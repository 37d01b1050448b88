//! `IBuffer` (`Windows.Storage.Streams.Buffer`): the `IBuffer_*` functions and the
//! class's constructors, `Buffer_*`.
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core::winrt::streams`, `rtws_types`.

use crate::ffi::handle::Handle;
use crate::ffi::{call, call_count, in_bytes, out, out_bytes};
use rtws_core::winrt::streams as core;
use rtws_types::HRESULT;

/// Opaque handle of an IBuffer (`Windows.Storage.Streams.Buffer`): bytes with a
/// capacity and a length, owned by rtws so no caller pointer outlives a call.
pub struct IBuffer {
    _private: [u8; 0],
}
impl Handle for IBuffer {
    type Target = core::Buffer;
    const NAME: &'static str = "IBuffer";
}

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
