//! The network: resolve and connect, the HTTP proxy tunnel, TLS, and the wire
//! (a TCP or TLS stream with its read buffer and byte counts).
//!
//! May import: `rtws-types`, `rtws-protocol`. Nothing of `session` or `winrt`.

pub mod connect;
pub mod protocol_errors;
pub mod proxy;
pub mod tls;
pub mod traffic;
pub mod uri;
pub mod wire;
