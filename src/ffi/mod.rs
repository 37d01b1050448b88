//! The C ABI: every `#[no_mangle] extern "C"` function of rtws, from which cbindgen
//! generates include/rtws.h. Each export is a thin layer: check pointers and values,
//! convert, call `rtws_core`, convert back. Here: `call`, the panic boundary every
//! export goes through, the checks and conversions of C arguments (`out`, `in_str`,
//! ...), and the value types of the WinRT ABI (`EventRegistrationToken`, `DateTime`,
//! `TimeSpan`).
//!
//! One file per C class: the Rust behind `Prefix_Member` is in the file of `Prefix`,
//! which also holds the class's opaque handle type and its handler typedefs. A file
//! is named after its class (snake_case, an interface's `I` dropped); in a folder
//! named after a class, that class is mod.rs and the classes whose names begin with
//! it drop that part (MessageWebSocketControl: message_websocket/control.rs).
//! tests/ffi_layout.rs checks this table against the sources:
//!
//! C prefix                                            | file (under src/ffi/)
//! --------------------------------------------------- | -----------------------------
//! `IAsyncAction_`                                     | async_op/async_action.rs
//! `IAsyncOperationUInt32_`                            | async_op/async_operation_uint32.rs
//! `IAsyncOperationBoolean_`                           | async_op/async_operation_boolean.rs
//! `IAsyncOperationIBuffer_`                           | async_op/async_operation_ibuffer.rs
//! `Certificate_`                                      | certificate/mod.rs
//! `IVectorViewCertificate_`                           | certificate/vector_view_certificate.rs
//! `WebSocketServerCustomValidationRequestedEventArgs_` | certificate/websocket_server_custom_validation_requested_event_args.rs
//! `Deferral_`                                         | certificate/deferral.rs
//! `PasswordCredential_`                               | credential.rs
//! `WebSocketError_`                                   | error/websocket_error.rs
//! `rtws_`                                             | error/rtws.rs
//! `MessageWebSocket_`                                 | message_websocket/mod.rs
//! `MessageWebSocketControl_`                          | message_websocket/control.rs
//! `MessageWebSocketInformation_`                      | message_websocket/information.rs
//! `MessageWebSocketMessageReceivedEventArgs_`         | message_websocket/message_received_event_args.rs
//! `WebSocketClosedEventArgs_`                         | websocket_closed_event_args.rs
//! `StreamWebSocket_`                                  | stream_websocket/mod.rs
//! `StreamWebSocketControl_`                           | stream_websocket/control.rs
//! `StreamWebSocketInformation_`                       | stream_websocket/information.rs
//! `IOutputStream_`                                    | streams/output_stream.rs
//! `IInputStream_`                                     | streams/input_stream.rs
//! `Buffer_` (its constructors), `IBuffer_`            | streams/buffer.rs
//! `DataWriter_`                                       | streams/data_writer.rs
//! `DataReader_`                                       | streams/data_reader.rs
//! `IVectorString_`                                    | vector/vector_string.rs
//! `IVectorChainValidationResult_`                     | vector/vector_chain_validation_result.rs
//! `DispatcherQueue_`                                  | dispatcher_queue.rs
//! `ThreadPool_`                                       | thread_pool.rs
//!
//! Besides: handle.rs, the handle registry (C pointers are keys, never Rust
//! addresses), and websocket.rs, what the two socket classes share: the bodies of
//! their common members and `add_handler`, the registration of every event handler.
//! The members the socket classes share are written in both classes' files (each C
//! function has its own doc comment); tests/ffi_layout.rs fails when the two copies
//! drift apart.
//!
//! The `mod` declarations here and in each folder's mod.rs are in the order of
//! rtws.h: cbindgen emits the functions in the order it parses them (a module's own
//! items, then its submodules in declaration order), so moving a declaration moves
//! functions in the header (`cargo test --test header` then fails until blessed).
//!
//! Imports: the ffi modules use `crate::ffi` (these helpers, `handle`, `websocket`,
//! each other's handle types), `rtws_core` and `rtws_types`. Nothing else in rtws
//! imports them, and the core crates cannot: they do not depend on this crate.

// In the order of rtws.h (above); the comment lines also keep rustfmt from sorting
// the declarations.
// IAsyncAction_, IAsyncOperation*_
pub mod async_op;
// Certificate_, IVectorViewCertificate_, WebSocketServerCustom…EventArgs_, Deferral_
pub mod certificate;
// PasswordCredential_
pub mod credential;
// WebSocketError_, rtws_
pub mod error;
// No exports: the handle registry.
pub mod handle;
// MessageWebSocket_, MessageWebSocket{Control,Information,MessageReceivedEventArgs}_
pub mod message_websocket;
// WebSocketClosedEventArgs_
pub mod websocket_closed_event_args;
// StreamWebSocket_, StreamWebSocket{Control,Information}_
pub mod stream_websocket;
// IOutputStream_, IInputStream_, Buffer_, IBuffer_, DataWriter_, DataReader_
pub mod streams;
// IVectorString_, IVectorChainValidationResult_
pub mod vector;
// No exports: what the two socket classes share.
pub mod websocket;
// DispatcherQueue_
pub mod dispatcher_queue;
// No exports: the logger behind rtws_SetLogHandler and RTWS_LOG.
pub mod log;
// ThreadPool_
pub mod thread_pool;

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

fn describe_panic(p: Box<dyn std::any::Any + Send>) -> Error {
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
    call_status(|| f().map(|()| S_OK))
}

/// `call` for the functions whose success has more than one code (`S_FALSE`).
pub(crate) fn call_status(f: impl FnOnce() -> Result<HRESULT>) -> HRESULT {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(hr)) => hr,
        Ok(Err(e)) => fail(&e),
        Err(p) => fail(&panic_error(p)),
    }
}

/// A caught panic is rtws's own fault: logged as an error besides its HRESULT.
fn panic_error(p: Box<dyn std::any::Any + Send>) -> Error {
    let e = describe_panic(p);
    log::install();
    ::log::error!(target: "rtws::ffi", "{e}");
    e
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

/// `RtwsReleaseContext`: frees the `context` of a registration made by an `...Ex`
/// function once the registration has ended (see those functions).
pub type RtwsReleaseContext = Option<extern "C" fn(context: *mut c_void)>;

/// The host's context of one registration, and the function that frees it (the
/// `...Ex` functions; none for the plain ones). Shared by whatever holds the
/// registration (an event's handler list, an operation, a queue); `release` runs
/// when the last holder is gone, so after the last call of the handler returned.
pub(crate) struct HostContext {
    context: Context,
    release: RtwsReleaseContext,
    /// Cleared when the registration failed: the context is still the host's.
    armed: std::sync::atomic::AtomicBool,
}

impl HostContext {
    pub fn get(&self) -> *mut c_void {
        self.context.0
    }
}

impl Drop for HostContext {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            if *self.armed.get_mut() {
                release(self.context.0);
            }
        }
    }
}

/// Runs `register` with the shared context of a new registration. If it fails,
/// `release` is not called: an `...Ex` function that returns an error has not
/// taken the context. (A registration that succeeded but was dropped at once, as a
/// handler whose operation already finished, releases before this returns.)
pub(crate) fn register_context<R>(
    context: *mut c_void,
    release: RtwsReleaseContext,
    register: impl FnOnce(std::sync::Arc<HostContext>) -> Result<R>,
) -> Result<R> {
    let ours = std::sync::Arc::new(HostContext {
        context: Context(context),
        release,
        armed: std::sync::atomic::AtomicBool::new(true),
    });
    let result = register(ours.clone());
    if result.is_err() {
        ours.armed
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
    result
}

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
