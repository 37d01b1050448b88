//! The functions of rtws itself, `rtws_*`: the last-error message, library
//! lifetime (Shutdown), the log, and the version.
//!
//! Imports: `crate::ffi` (helpers, `handle`, `log`), `rtws_core` (the runtime,
//! TLS connectors, the slow-handler threshold), `rtws_types`.

use crate::ffi::log;
use crate::ffi::{call, handle, in_enum, in_str, last_error_ptr};
use rtws_core::winrt::{events, runtime};
use rtws_types::{Error, Result, RtwsLogLevel, HRESULT};
use std::ffi::{c_char, c_void};
use std::time::Duration;

/// A readable description of the last failure of an rtws call on the calling
/// thread (the role of `GetRestrictedErrorInfo` on Windows).
///
/// The returned string is owned by rtws, is never NULL (empty when no call has
/// failed on this thread), and stays valid until the next failing rtws call on
/// the same thread; copy it to keep it. Successful calls leave it unchanged.
/// Failures of async operations are recorded when `Wait`, `GetResults` or
/// `get_ErrorCode` reports them.
#[no_mangle]
pub extern "C" fn rtws_GetLastErrorMessage() -> *const c_char {
    last_error_ptr()
}

/// Ends rtws: stops the library threads (waiting at most `timeout_ms`
/// milliseconds for them), which drops every connection without a close handshake
/// (no Closed event is raised) and finishes every pending operation with
/// `RTWS_E_OPERATION_ABORTED` (Completed handlers still run, on the thread that
/// drops the task, with their operation handle still valid); then releases every
/// handle still alive and frees what rtws allocated, so a host can end with zero
/// leaks (valgrind). Handles obtained before are invalid afterwards; the next
/// rtws call starts the library again.
///
/// Call it from a host thread when no other thread uses rtws, never from a
/// handler.
///
/// Returns `S_OK`, or `E_ILLEGAL_METHOD_CALL` when called from inside an rtws
/// handler.
#[no_mangle]
pub extern "C" fn rtws_Shutdown(timeout_ms: u32) -> HRESULT {
    call(|| -> Result<()> {
        if runtime::in_handler() {
            return runtime::shutdown(Duration::ZERO);
        }
        // The runtime first: with no library thread left, no task publishes or
        // releases a handle while the registry is swept, and no handler runs.
        let stopped = runtime::shutdown(Duration::from_millis(u64::from(timeout_ms)));
        handle::clear_all();
        rtws_core::net::tls::clear_connectors();
        stopped
    })
}

/// `RtwsLogHandler`: called with each record at or below the level it was
/// registered with; `target` names the part of rtws ("rtws::connect", ...) and
/// `message` the event, both UTF-8, valid only during the call.
pub type RtwsLogHandler = Option<
    extern "C" fn(
        context: *mut c_void,
        level: RtwsLogLevel,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// rtws extension: sends rtws's log to `handler` (NULL: back to the default).
///
/// Records at or below `level` (an `RtwsLogLevel`) are passed to
/// `handler(context, level, target, message)`: `target` names the part of rtws
/// ("rtws::connect", "rtws::connection", "rtws::handlers", "rtws::queue"), and both
/// strings are UTF-8, valid only during the call. The log names sockets by number
/// ("socket 12") and says what happened: the connect stages (the host, port and path,
/// never the query), each close with its code and who closed, each failure with its
/// HRESULT, slow handlers, a DispatcherQueue's backpressure. It never contains
/// what the host set that may be secret (a header value, a credential, the URI's
/// query), a close reason or payload bytes.
///
/// By default (and after a NULL handler) rtws logs nothing, unless the environment
/// variable `RTWS_LOG` names a level (`error`, `warn`, `info`, `debug`, `trace`):
/// then records go to stderr. Logging off costs nothing measurable.
///
/// Threads: the handler is called on the thread that logs (an rtws I/O thread, or
/// the caller's), maybe on several at once; it may call rtws, but what rtws logs
/// during that call is dropped (no recursion). It must return quickly: it runs
/// where rtws works. Any thread may call this function; it returns once no call of
/// the previous handler is in flight (except when called from inside one), so the
/// host may then free the previous context. `context` is handed back verbatim.
///
/// Returns `S_OK`; `E_INVALIDARG` (`level` is not an `RtwsLogLevel`);
/// `E_ILLEGAL_METHOD_CALL` (a Rust host installed its own `log` logger first:
/// rtws's records go to it).
///
/// ```c
/// static void on_log(void *context, RtwsLogLevel level, const char *target,
///                    const char *message) {
///     (void)context;
///     fprintf(stderr, "[%d] %s: %s\n", (int)level, target, message);
/// }
/// static void start_logging(void) {
///     rtws_SetLogHandler(on_log, NULL, RtwsLogLevel_Info);
/// }
/// ```
#[no_mangle]
pub extern "C" fn rtws_SetLogHandler(
    handler: RtwsLogHandler,
    context: *mut c_void,
    level: i32,
) -> HRESULT {
    call(|| {
        let level = in_enum(level, "RtwsLogLevel", RtwsLogLevel::from_i32)?;
        log::set_handler(handler, context, level)
    })
}

/// rtws extension: writes a record to rtws's log, where rtws's own records go (the
/// handler of `rtws_SetLogHandler`, or stderr under `RTWS_LOG`), if `level` is
/// logged: for front ends and bindings over the C ABI, so their reports (the C++
/// projection's: an exception a handler threw) reach the host with rtws's.
/// `target` names the writer ("rtws::cpp"; NULL: "rtws::host"); `message` is UTF-8
/// (both copied). What a log handler writes this way is dropped (no recursion).
///
/// Any thread. Returns `S_OK`; `E_POINTER` (NULL `message`); `E_INVALIDARG`
/// (`level` is Off or not an `RtwsLogLevel`, a string not UTF-8).
///
/// ```c
/// rtws_WriteLog(RtwsLogLevel_Warn, "myapp", "the server sent an unknown command");
/// ```
#[no_mangle]
pub extern "C" fn rtws_WriteLog(
    level: i32,
    target: *const c_char,
    message: *const c_char,
) -> HRESULT {
    call(|| {
        let level = in_enum(level, "RtwsLogLevel", RtwsLogLevel::from_i32)?;
        let target = if target.is_null() {
            "rtws::host"
        } else {
            in_str(target, "target")?
        };
        log::write(level, target, in_str(message, "message")?)
    })
}

/// rtws extension: a handler (an event handler or a Completed callback) that runs
/// longer than `milliseconds` is reported in the log as a warning naming its socket
/// and event, once per socket (default 100 ms; 0: never). Handlers run inline on
/// rtws's I/O threads unless their socket is bound to a DispatcherQueue, and one
/// that blocks holds up its socket and an I/O thread.
///
/// Any thread. Returns `S_OK`; `E_INVALIDARG` (over one day).
#[no_mangle]
pub extern "C" fn rtws_SetSlowHandlerThreshold(milliseconds: u32) -> HRESULT {
    call(|| {
        if milliseconds > 86_400_000 {
            return Err(Error::invalid_arg(format!(
                "a slow-handler threshold of {milliseconds} ms is over one day"
            )));
        }
        events::set_slow_handler_threshold(Duration::from_millis(u64::from(milliseconds)));
        Ok(())
    })
}

/// rtws extension: the version of the rtws library that is running, as
/// `RTWS_MAKE_VERSION(major, minor, patch)`; `RTWS_VERSION` is the version of the
/// header a program was compiled with. A program linked to a shared rtws runs with
/// any library of the same SONAME (`librtws.so.0.MINOR` for 0.x, `.MAJOR` from 1.0)
/// that is at least as new as its header: compare the two to require a bug fix, or
/// to report both. Never fails; any thread.
///
/// ```c
/// if (rtws_GetVersion() < RTWS_VERSION)
///     printf("rtws %s expected, %u.%u.%u loaded\n", RTWS_VERSION_STRING,
///            rtws_GetVersion() / 1000000, rtws_GetVersion() / 1000 % 1000,
///            rtws_GetVersion() % 1000);
/// ```
#[no_mangle]
pub extern "C" fn rtws_GetVersion() -> u32 {
    /// A decimal version part from Cargo.toml, at compile time.
    const fn number(digits: &str) -> u32 {
        let digits = digits.as_bytes();
        let mut value = 0;
        let mut i = 0;
        while i < digits.len() {
            value = value * 10 + (digits[i] - b'0') as u32;
            i += 1;
        }
        value
    }
    const VERSION: u32 = number(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
        + number(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
        + number(env!("CARGO_PKG_VERSION_PATCH"));
    VERSION
}
