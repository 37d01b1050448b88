//! The C ABI. One module per class family; each exported function is a thin
//! layer: check pointers and values, convert, call `crate::core`, convert back.
//! `call` is the panic boundary every export goes through.

pub mod async_op;
pub mod certificate;
pub mod credential;
pub mod error;
pub mod handle;
pub mod message_websocket;
pub mod stream_websocket;
pub mod streams;
pub mod vector;
pub mod websocket;

use rtws_types::{
    Error, Result, E_INVALIDARG, E_NOT_SUFFICIENT_BUFFER, E_POINTER, E_UNEXPECTED, HRESULT, S_OK,
};
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Text for C: the one NUL policy of every string rtws hands to C (getters, error
/// messages). A NUL inside (possible in what a server sends) would end the string
/// early, so it is given as U+FFFD.
pub(crate) fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).expect("NULs were replaced")
}

/// Records `err` as this thread's last failure and returns its HRESULT.
pub(crate) fn fail(err: &Error) -> HRESULT {
    let text = c_text(&err.message);
    // `try_with`: a call from a thread-local destructor must not panic here.
    let _ = LAST_ERROR.try_with(|m| *m.borrow_mut() = text);
    err.hr
}

pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|m| m.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

fn panic_error(p: Box<dyn std::any::Any + Send>) -> Error {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::new(
        E_UNEXPECTED,
        format!("internal error in rtws (please report it): {what}"),
    )
}

/// The panic boundary: runs `f`, turning its error or a panic into an HRESULT.
pub(crate) fn call(f: impl FnOnce() -> Result<()>) -> HRESULT {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => S_OK,
        Ok(Err(e)) => fail(&e),
        Err(p) => fail(&panic_error(p)),
    }
}

/// The panic boundary for functions that return a count (`AddRef`, `Release`):
/// failures return 0 and set the last error message.
pub(crate) fn call_count(f: impl FnOnce() -> Result<u32>) -> u32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            fail(&e);
            0
        }
        Err(p) => {
            fail(&panic_error(p));
            0
        }
    }
}

/// An output parameter, checked for NULL and alignment before any work is done.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Stores `value`; returns `Ok` so a getter can end with `out(p)?.set(v)`.
    pub fn set(self, value: T) -> Result<()> {
        // SAFETY: `out` checked the pointer is non-NULL and aligned; the C contract
        // of every function (documented in rtws.h) is that it points to a writable T.
        unsafe { self.0.write(value) };
        Ok(())
    }
}

pub(crate) fn out<T>(p: *mut T, name: &str) -> Result<Out<T>> {
    if p.is_null() {
        return Err(Error::new(
            E_POINTER,
            format!("the output pointer '{name}' is NULL"),
        ));
    }
    if !p.is_aligned() {
        return Err(Error::invalid_arg(format!(
            "the output pointer '{name}' is misaligned"
        )));
    }
    Ok(Out(p))
}

/// A NUL-terminated UTF-8 input string.
pub(crate) fn in_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::new(
            E_POINTER,
            format!("the string '{name}' is NULL"),
        ));
    }
    // SAFETY: non-NULL, and the C contract is a NUL-terminated string that stays
    // valid for the duration of the call; we copy what we keep.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|_| Error::invalid_arg(format!("the string '{name}' is not valid UTF-8")))
}

/// An input byte array; NULL is allowed only with length 0.
pub(crate) fn in_bytes<'a>(p: *const u8, len: u32, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::new(E_POINTER, format!("the array '{name}' is NULL")));
    }
    // SAFETY: non-NULL, and the C contract is `len` readable bytes for the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len as usize) })
}

/// An output byte array of `len` bytes; NULL is allowed only with length 0.
pub(crate) fn out_bytes<'a>(p: *mut u8, len: u32, name: &str) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Error::new(E_POINTER, format!("the array '{name}' is NULL")));
    }
    // SAFETY: non-NULL, and the C contract is `len` writable bytes for the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len as usize) })
}

/// The Win32 caller-buffer pattern: `*needed` always receives the size including
/// the terminating NUL; the text is copied only if `capacity` is at least that.
pub(crate) fn copy_str_out(
    s: &str,
    buffer: *mut c_char,
    capacity: u32,
    needed: *mut u32,
) -> Result<()> {
    let needed = out(needed, "needed")?;
    let size = s.len() + 1;
    let size32 = u32::try_from(size).map_err(|_| Error::invalid_arg("string too long"))?;
    needed.set(size32)?;
    if buffer.is_null() || capacity < size32 {
        return Err(Error::new(
            E_NOT_SUFFICIENT_BUFFER,
            format!("the buffer holds {capacity} bytes; {size32} are needed"),
        ));
    }
    let dst = out_bytes(buffer.cast::<u8>(), size32, "buffer")?;
    dst[..s.len()].copy_from_slice(s.as_bytes());
    dst[s.len()] = 0;
    Ok(())
}

/// A C enum value received as `int32_t`, checked against the enum's range.
pub(crate) fn in_enum<T>(v: i32, name: &str, conv: impl FnOnce(i32) -> Option<T>) -> Result<T> {
    conv(v).ok_or_else(|| Error::new(E_INVALIDARG, format!("{v} is not a valid {name} value")))
}

/// The host's `void *context`, handed back verbatim to its handlers.
#[derive(Clone, Copy)]
pub(crate) struct Context(pub *mut c_void);

// SAFETY: rtws never dereferences the context; passing it to handlers on library
// threads is what the host asked for (rtws.h: handlers run on library threads).
unsafe impl Send for Context {}
// SAFETY: as above; the pointer is only copied, never dereferenced.
unsafe impl Sync for Context {}

/// `EventRegistrationToken`: identifies one handler registration.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventRegistrationToken {
    pub value: i64,
}

/// `Windows.Foundation.DateTime`: 100-nanosecond units since 1601-01-01 UTC.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_snake_case)] // the WinRT ABI field name
pub struct DateTime {
    pub UniversalTime: i64,
}

/// `Windows.Foundation.TimeSpan`: a duration in 100-nanosecond units.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_snake_case)] // the WinRT ABI field name
pub struct TimeSpan {
    pub Duration: i64,
}

impl TimeSpan {
    pub(crate) fn from_duration(d: std::time::Duration) -> Self {
        TimeSpan {
            Duration: i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX),
        }
    }

    /// The duration, if it is at least `min` and at most one day.
    pub(crate) fn to_duration(
        self,
        name: &str,
        min: std::time::Duration,
    ) -> Result<std::time::Duration> {
        const DAY_TICKS: i64 = 24 * 3600 * 10_000_000;
        let d = std::time::Duration::from_nanos(self.Duration.clamp(0, DAY_TICKS) as u64 * 100);
        if self.Duration < 0 || self.Duration > DAY_TICKS || d < min {
            return Err(Error::invalid_arg(format!(
                "{name} of {} (100 ns units) is out of range: {} ms to 1 day",
                self.Duration,
                min.as_millis()
            )));
        }
        Ok(d)
    }
}
