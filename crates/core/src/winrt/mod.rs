//! The WinRT object model of Windows.Networking.Sockets and what it uses:
//! sockets with their Control and Information, event arguments, certificates,
//! credentials, streams, DataWriter/DataReader, async operations, events,
//! vectors, the thread pool, and the runtime whose threads run it all.
//!
//! May import: `session`, `net`, `rtws-protocol`, `rtws-types`.

pub mod async_op;
pub mod certificate;
pub mod credential;
pub mod dispatcher_queue;
pub mod events;
pub mod inbound;
pub mod message_websocket;
pub mod runtime;
pub mod socket;
mod spare;
pub mod stream_websocket;
pub mod streams;
pub mod thread_pool;
pub mod validation;
pub mod vector;
