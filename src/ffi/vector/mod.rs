//! The lists, one file per C class: `IVector<String>` (SupportedProtocols) as
//! `IVectorString` (vector_string.rs), and `IVector<ChainValidationResult>`
//! (IgnorableServerCertificateErrors, ServerCertificateErrors) as
//! `IVectorChainValidationResult` (vector_chain_validation_result.rs).
//! Any thread; the lists are internally locked.
//!
//! Imports: nothing of its own; its files import `crate::ffi` helpers,
//! `rtws_core::winrt::vector` and `rtws_types`.

// In the order of rtws.h (see ffi/mod.rs); the comment lines also keep rustfmt
// from sorting the declarations.
// IVectorString_
mod vector_string;
// IVectorChainValidationResult_
mod vector_chain_validation_result;

pub use vector_chain_validation_result::*;
pub use vector_string::*;
