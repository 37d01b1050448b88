//! One connection's life: connect and upgrade, then the task that owns the
//! socket, writes what the command queue brings and reads what arrives.
//!
//! May import: `net`, `rtws-protocol`, `rtws-types`. Never `winrt`: what it
//! reports (messages, stream data, the end of the connection, completions) goes
//! through the traits it defines here.

pub mod connect;
pub mod connection;
pub mod queue;
pub mod report;
