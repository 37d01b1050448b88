//! `StreamWebSocket`: binary messages as one byte stream. What arrives is read in
//! sections through `InputStream` (payload handed on as it arrives, however large
//! the message); each write of `OutputStream` is one binary message.

use crate::winrt::inbound::Inbound;
use crate::winrt::message_websocket::MessageOutput;
use crate::winrt::socket::{Kind, Socket};
use crate::winrt::streams::OutputStream;
use std::sync::Arc;

/// The user-facing `StreamWebSocket`: dropping it (the last C reference) closes it.
pub struct StreamWebSocket {
    socket: Arc<Socket>,
}

impl Default for StreamWebSocket {
    fn default() -> Self {
        StreamWebSocket {
            socket: Socket::new(Kind::Stream(Inbound::unconnected())),
        }
    }
}

impl StreamWebSocket {
    pub fn socket(&self) -> &Arc<Socket> {
        &self.socket
    }
    pub fn input_stream(&self) -> Arc<Inbound> {
        self.socket
            .inbound()
            .expect("a StreamWebSocket has an input stream")
            .clone()
    }
    pub fn output_stream(&self) -> OutputStream {
        OutputStream(Arc::new(MessageOutput(self.socket.clone())))
    }
}

impl Drop for StreamWebSocket {
    fn drop(&mut self) {
        self.socket.release();
    }
}

/// `StreamWebSocketControl`: a view of the socket's settings.
pub struct StreamWebSocketControl(pub Arc<Socket>);

/// `StreamWebSocketInformation`: a view of the socket's connection facts.
pub struct StreamWebSocketInformation(pub Arc<Socket>);
