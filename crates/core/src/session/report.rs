//! What a session reports upward, as traits the object model implements: the
//! session never names a WinRT type, so it can be read and tested without one.

use bytes::{Bytes, BytesMut};
use rtws_protocol::DataKind;
use rtws_types::{Error, Result};
use std::sync::Arc;
use std::task::Context;

/// The finish of one operation the session was handed (a send, a flush).
pub trait Completion<T>: Send + Sync {
    /// Finishes it; ignored when it was canceled or finished already.
    fn complete(&self, result: Result<T>) -> bool;
    /// The host canceled it before the session took it.
    fn is_canceled(&self) -> bool;
}

/// Where a StreamWebSocket's input goes: a byte stream the host reads at its pace.
pub trait StreamSink: Send + Sync {
    /// Bytes received, in order.
    fn push(&self, data: Bytes);
    /// Whether more may be read from the socket now; if not, the sink wakes `cx`
    /// once reads made room (TCP holds the server back meanwhile).
    fn poll_room(&self, cx: &mut Context<'_>) -> bool;
    /// The stream ended: after a close handshake (`Ok`), or with the failure.
    fn finish(&self, end: Result<()>);
}

/// How a connection ended, for the `Closed` event and the pending operations.
pub struct Ending {
    pub code: u16,
    pub reason: String,
    /// The failure raised as a last `MessageReceived` first, if any.
    pub failure: Option<Error>,
}

/// The socket a session serves: its events and its state.
pub trait Events: Send + Sync {
    /// A whole message, or (PartialMessage) a piece of one, `complete` on its
    /// last. Returns the message's buffer when nobody kept it, for the next one.
    fn message(&self, kind: DataKind, data: Bytes, complete: bool) -> Option<BytesMut>;
    /// Whether more may be read from the network now (the host keeps up with the
    /// events); if not, `cx` is woken once it may.
    fn poll_room(&self, cx: &mut Context<'_>) -> bool;
    /// The connection is over for sending (the peer's close frame came, or it
    /// ended): later sends fail at once.
    fn closing(&self);
    /// The connection ended: the last events (a failure, then Closed).
    fn ended(&self, ending: Ending);
}

/// Where received data goes.
pub enum Delivery {
    /// MessageWebSocket, FullMessage: one message event per whole message, of at
    /// most this many bytes (MaxMessageSize; None: any).
    Messages(Option<u64>),
    /// MessageWebSocket, PartialMessage: one message event per piece.
    Pieces(Option<u64>),
    /// StreamWebSocket: the input stream (binary messages only).
    Stream(Arc<dyn StreamSink>),
}

/// What a send carries: bytes handed over (a DataWriter's store), or a buffer the
/// host shares, read when the frame is built (as in WinRT, the caller leaves it
/// alone until the send completes).
#[derive(Clone)]
pub enum Payload {
    Bytes(Bytes),
    Buffer(Arc<dyn SharedBytes>),
}

/// A host buffer a send reads in place.
pub trait SharedBytes: Send + Sync {
    /// Runs `f` on the bytes to send.
    fn with_bytes(&self, f: &mut dyn FnMut(&[u8]));
}

impl Payload {
    /// Runs `f` on the bytes.
    pub fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Payload::Bytes(b) => f(b),
            Payload::Buffer(s) => {
                let mut f = Some(f);
                let mut out = None;
                s.with_bytes(&mut |bytes| out = f.take().map(|f| f(bytes)));
                out.expect("with_bytes calls its function once")
            }
        }
    }
}

impl From<Bytes> for Payload {
    fn from(b: Bytes) -> Self {
        Payload::Bytes(b)
    }
}
