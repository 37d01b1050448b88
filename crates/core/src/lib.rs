//! rtws's core: the WebSocket client of Windows.Networking.Sockets in Rust,
//! knowing nothing of C (the `rtws` crate's `ffi` is the only caller that does).
//!
//! Three layers, each importing only those below it (and `rtws-types`,
//! `rtws-protocol`, the crates below this one); `tests/layers.rs` fails when a
//! file imports upward:
//! - `net`: resolving and connecting (at most 5 addresses), the proxy tunnel,
//!   TLS by OpenSSL, the wire and its byte counts.
//! - `session`: connect and upgrade, the per-connection task and its command
//!   queue. It reports to the object model through traits it defines.
//! - `winrt`: the object model: sockets, Control, Information, certificates,
//!   credentials, streams, async operations, events, vectors, the runtime.

pub mod net;
pub mod session;
pub mod winrt;
