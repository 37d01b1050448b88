//! The fuzz target bodies: one function per target, `run(data: &[u8])`, that
//! panics when a property fails. Two drivers share them so the properties exist
//! once: `tests/fuzz.rs` (stable, seeded, bounded: part of `cargo test`) and the
//! cargo-fuzz targets in `fuzz/fuzz_targets/` (libFuzzer, nightly). Both include
//! this directory with `#[path]`, so it may only use what both have: `rtws`,
//! `bytes` and std.
//!
//! Every body reads its input with `input::Input`, which never runs dry (it yields
//! zeros), so any byte string is a valid input and libFuzzer's mutations all land.

pub mod api_sequence;
pub mod certificate;
pub mod data_reader;
pub mod frames;
pub mod handshake;
pub mod input;
pub mod uri;

use std::ffi::CStr;

/// How the message `rtws::ffi::call` gives a panic it caught begins; such a
/// message means a panic inside rtws, a bug whatever the input. (Only its start
/// counts: refusals quote the input, which may hold these words too.)
pub const PANIC_MARK: &str = "internal error in rtws";

/// This thread's last error message (`rtws_GetLastErrorMessage`).
pub fn last_error() -> String {
    let p = rtws::ffi::error::rtws_GetLastErrorMessage();
    assert!(!p.is_null(), "rtws_GetLastErrorMessage returned NULL");
    // SAFETY: rtws returns a NUL-terminated thread-local string, valid until this
    // thread's next rtws call; it is copied before any other call.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Sets this thread's last error to a text no body produces otherwise (the
/// refusal of a misaligned Deferral handle 0x7), so that a failing call that
/// leaves the message alone is caught instead of passing on a stale message.
pub fn set_sentinel_error() {
    let forged = 0x7usize as *mut rtws::ffi::certificate::Deferral;
    let hr = rtws::ffi::certificate::Deferral_Complete(forged);
    assert!(hr < 0, "Deferral_Complete accepted the made-up handle 0x7");
}

/// Whether the last error is still the sentinel's (compared by text, kept once
/// per thread).
pub fn error_is_sentinel() -> bool {
    thread_local! {
        static SENTINEL: String = {
            set_sentinel_error();
            last_error()
        };
    }
    let msg = rtws::ffi::error::rtws_GetLastErrorMessage();
    // SAFETY: as in `last_error`; compared at once.
    let msg = unsafe { CStr::from_ptr(msg) };
    SENTINEL.with(|s| msg.to_bytes() == s.as_bytes())
}

/// The checks every exported call gets: no panic escaped into an HRESULT, and a
/// failure left a message of its own (`set_sentinel_error` ran before the call).
/// `what` names the call, `step` where in the input it was.
pub fn check_hr(what: &str, step: usize, hr: i32) {
    if hr >= 0 {
        return;
    }
    assert!(
        !error_is_sentinel(),
        "step {step} {what} failed with 0x{hr:08X} without setting rtws_GetLastErrorMessage"
    );
    let msg = last_error();
    assert!(
        !msg.starts_with(PANIC_MARK) && !msg.is_empty(),
        "step {step} {what}: a panic inside rtws, or no message: {msg:?} (hr 0x{hr:08X})"
    );
}
