//! `MessageWebSocket`: whole messages (or pieces of them, PartialMessage) in
//! MessageReceived events; each write of its output stream is one message.

use crate::session::connection::Command;
use crate::session::payload::Payload;
use crate::winrt::async_op::{AsyncOp, OpHome};
use crate::winrt::inbound::Inbound;
use crate::winrt::socket::{Kind, Socket};
use crate::winrt::streams::{DataReader, OutputSink, OutputStream, Write};
use bytes::Bytes;
use rtws_protocol::DataKind;
use rtws_types::*;
use std::sync::Arc;

/// `MessageWebSocketMessageReceivedEventArgs`: one whole message, or the failure
/// that ended the connection (UWP reports it through `GetDataReader`).
pub struct MessageReceivedArgs {
    pub message_type: SocketMessageType,
    payload: std::result::Result<Bytes, Error>,
    complete: bool,
    /// A socket bound to a DispatcherQueue: where the operations of `GetDataStream`
    /// finish (None: at once, like any operation of no socket).
    home: Option<OpHome>,
}

impl MessageReceivedArgs {
    /// A whole message, or (PartialMessage) a piece of one: `complete` on its last.
    pub fn message(kind: DataKind, data: Bytes, complete: bool) -> Self {
        MessageReceivedArgs {
            message_type: match kind {
                DataKind::Binary => SocketMessageType::Binary,
                DataKind::Text => SocketMessageType::Utf8,
            },
            payload: Ok(data),
            complete,
            home: None,
        }
    }

    /// The Completed callbacks of the data stream's operations run on the queue of
    /// `home` (the socket's, when it has one).
    pub(crate) fn with_home(mut self, home: Option<OpHome>) -> Self {
        self.home = home;
        self
    }
    pub fn failed(err: Error) -> Self {
        MessageReceivedArgs {
            message_type: SocketMessageType::Binary,
            payload: Err(err),
            complete: true,
            home: None,
        }
    }
    /// A new reader over the message, positioned at its start.
    pub fn data_reader(&self) -> Result<Arc<DataReader>> {
        match &self.payload {
            Ok(data) => Ok(DataReader::over_message(data.clone())),
            Err(e) => Err(e.clone()),
        }
    }
    /// The message's buffer back, if nothing else holds it; the args keep an empty
    /// message (and no home) either way.
    pub(crate) fn reclaim(&mut self) -> Option<bytes::BytesMut> {
        self.home = None;
        std::mem::replace(&mut self.payload, Ok(Bytes::new()))
            .ok()?
            .try_into_mut()
            .ok()
    }
    /// `GetDataStream`: an input stream over the message, ending after it.
    pub fn data_stream(&self) -> Result<Arc<Inbound>> {
        match &self.payload {
            Ok(data) => {
                let stream = Inbound::from_bytes(data.clone());
                if let Some(home) = &self.home {
                    stream.set_home(home.clone());
                }
                Ok(stream)
            }
            Err(e) => Err(e.clone()),
        }
    }
    /// True unless this is a piece (PartialMessage) other than a message's last.
    pub fn is_message_complete(&self) -> bool {
        self.complete
    }
}

/// The user-facing `MessageWebSocket`: dropping it (the last C reference) closes it.
pub struct MessageWebSocket {
    socket: Arc<Socket>,
}

impl Default for MessageWebSocket {
    fn default() -> Self {
        MessageWebSocket {
            socket: Socket::new(Kind::Message),
        }
    }
}

impl MessageWebSocket {
    pub fn socket(&self) -> &Arc<Socket> {
        &self.socket
    }
    pub fn output_stream(&self) -> OutputStream {
        OutputStream(Arc::new(MessageOutput(self.socket.clone())))
    }
    /// `SendNonfinalFrameAsync` (`fin` false) / `SendFinalFrameAsync` (true): one
    /// frame of a message of the current MessageType; the final one ends it.
    pub fn send_frame(&self, data: Bytes, fin: bool) -> Result<Arc<AsyncOp<u32>>> {
        send(&self.socket, data.into(), fin)
    }
}

fn send(socket: &Socket, data: Payload, fin: bool) -> Result<Arc<AsyncOp<u32>>> {
    let op = socket.new_op();
    socket.send(Command::Send {
        data,
        kind: match socket.message_type() {
            SocketMessageType::Binary => DataKind::Binary,
            SocketMessageType::Utf8 => DataKind::Text,
        },
        fin,
        op: op.clone(),
    })?;
    Ok(op)
}

impl Drop for MessageWebSocket {
    fn drop(&mut self) {
        self.socket.release();
    }
}

/// `MessageWebSocketControl`: a view of the socket's settings.
pub struct MessageWebSocketControl(pub Arc<Socket>);

/// `MessageWebSocketInformation`: a view of the socket's connection facts.
pub struct MessageWebSocketInformation(pub Arc<Socket>);

/// The socket's output stream: each write is one message of the current
/// MessageType (for a StreamWebSocket, always Binary).
pub(crate) struct MessageOutput(pub Arc<Socket>);

impl OutputSink for MessageOutput {
    fn write(&self, data: Write<'_>) -> Result<Arc<AsyncOp<u32>>> {
        send(&self.0, data.into(), true)
    }
    fn flush(&self) -> Result<Arc<AsyncOp<bool>>> {
        let op = self.0.new_op();
        self.0.send(Command::Flush(op.clone()))?;
        Ok(op)
    }
    fn close(&self) {
        self.0.close_output();
    }
}
