//! The functions of rtws itself, `rtws_*`: the last-error message and library
//! lifetime (Shutdown).
//!
//! Imports: `crate::ffi` (helpers, `handle`), `rtws_core` (the runtime, TLS
//! connectors), `rtws_types`.

use crate::ffi::{call, handle, last_error_ptr};
use rtws_core::winrt::runtime;
use rtws_types::{Result, HRESULT};
use std::ffi::c_char;
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
