//! The core: WebSocket client semantics of Windows.Networking.Sockets, in Rust,
//! knowing nothing of C. `crate::ffi` is the only caller that does.

pub mod async_op;
pub mod certificate;
pub mod connection;
pub mod credential;
pub mod error;
pub mod events;
pub mod frames;
pub mod handshake;
pub mod inbound;
pub mod message_websocket;
pub mod proxy;
pub mod queue;
pub mod runtime;
pub mod socket;
pub mod stream_websocket;
pub mod streams;
pub mod tls;
pub mod traffic;
pub mod uri;
pub mod vector;
pub mod wire;
