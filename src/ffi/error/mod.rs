//! Errors and the library's lifetime: `WebSocketError` (websocket_error.rs) and the
//! functions of rtws itself, `rtws_*` (rtws.rs: the last-error message, Shutdown,
//! the log).
//!
//! Imports: nothing of its own; its files import `crate::ffi` helpers,
//! `rtws_core` and `rtws_types`.

// In the order of rtws.h (see ffi/mod.rs); the comment lines also keep rustfmt
// from sorting the declarations.
// WebSocketError_
mod websocket_error;
// rtws_
mod rtws;

pub use self::rtws::*;
pub use websocket_error::*;
