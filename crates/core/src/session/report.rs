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
    /// `complete`, by the session's last reference: the operation may keep its
    /// memory for the next one when nobody else holds it.
    fn finish(self: Arc<Self>, result: Result<T>) {
        self.complete(result);
    }
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
