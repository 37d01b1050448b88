//! The bottom layer: the values the API defines. HRESULTs, `WebErrorStatus` and
//! the error type every layer above `rtws-protocol` returns (`error`), and the
//! WinRT enumerations (`enums`). It imports nothing of rtws. Everything public
//! here is part of the C API too: cbindgen reads this crate for rtws.h.

pub mod enums;
pub mod error;

pub use enums::*;
pub use error::*;
