//! Windows.Storage.Streams, one file per C class: `IOutputStream` (output_stream.rs),
//! `IInputStream` and its `InputStreamOptions` (input_stream.rs), `IBuffer` with its
//! `Buffer_*` constructors (buffer.rs), `DataWriter` (data_writer.rs), `DataReader`
//! (data_reader.rs); here, the enum checks the writer and the reader share.
//!
//! Thread rules: every function may be called from any thread; one DataWriter or
//! DataReader is internally locked, so concurrent calls on it are safe but their
//! order is up to the caller.
//!
//! Imports: `rtws_types` here; its files import `crate::ffi` (helpers, `handle`, the
//! async operation handle types), `rtws_core::winrt::streams` and `rtws_types`.

// In the order of rtws.h (see ffi/mod.rs); the comment lines also keep rustfmt
// from sorting the declarations.
// IOutputStream_
mod output_stream;
// IInputStream_
mod input_stream;
// Buffer_, IBuffer_
mod buffer;
// DataWriter_
mod data_writer;
// DataReader_
mod data_reader;

pub use buffer::*;
pub use data_reader::*;
pub use data_writer::*;
pub use input_stream::*;
pub use output_stream::*;

use rtws_types::{ByteOrder, UnicodeEncoding};

fn byte_order(v: i32) -> Option<ByteOrder> {
    match v {
        0 => Some(ByteOrder::LittleEndian),
        1 => Some(ByteOrder::BigEndian),
        _ => None,
    }
}

fn unicode_encoding(v: i32) -> Option<UnicodeEncoding> {
    match v {
        0 => Some(UnicodeEncoding::Utf8),
        1 => Some(UnicodeEncoding::Utf16LE),
        2 => Some(UnicodeEncoding::Utf16BE),
        _ => None,
    }
}
