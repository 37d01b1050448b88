//! The WebSocket protocol of a client (RFC 6455), without I/O: it is fed bytes
//! and gives back bytes to send and events. No tokio, no HRESULTs, no WinRT
//! types: its errors are its own (`frames::Violation`, `handshake::Invalid`),
//! and the layers above map them. It imports nothing of rtws.
//!
//! - `handshake`: the upgrade request as bytes and the check of the response.
//! - `frames`: reading server frames (every RFC 6455 §5 rule) and writing client
//!   frames.
//! - `state`: one connection after the handshake: the close handshake, automatic
//!   pongs, outgoing fragmentation and its UTF-8 check, the output buffer, and
//!   permessage-deflate on the messages when agreed.
//! - `deflate`: permessage-deflate (RFC 7692): the offer, the answer's check, and
//!   the per-message compressor and decompressor.

pub mod deflate;
pub mod frames;
pub mod handshake;
pub mod state;

/// The kind of a data message: text (opcode 1, UTF-8) or binary (opcode 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    Binary,
    Text,
}
