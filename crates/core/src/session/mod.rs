//! One connection's life: connect and upgrade, then the task that owns the
//! socket, writes what the command queue brings and reads what arrives.
//!
//! May import: `net`, `rtws-protocol`, `rtws-types`. Never `winrt`: what it
//! reports (messages, stream data, the end of the connection, completions) goes
//! through the traits it defines here.

pub mod connect;
pub mod connection;
pub mod payload;
pub mod queue;
pub mod report;

/// Runs its closure when dropped: state a scope set is undone even when a
/// handler's panic unwinds through it (the C boundary catches it further up).
pub(crate) struct Finally<F: FnMut()>(pub(crate) F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}
