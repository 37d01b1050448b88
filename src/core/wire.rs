//! The TCP connection of one WebSocket: its read buffer, sized to the traffic, and
//! its byte counters.
//!
//! During the opening handshake it is the stream under tungstenite, and hands on
//! nothing past the end of the HTTP response head: whatever the server sent after
//! it (its first frames) stays in the read buffer for the connection's own frame
//! reader (`core::frames`) instead of vanishing into tungstenite's.
//!
//! Reads are 4 KiB while traffic is small and 64 KiB once a read fills its space
//! (bulk data is flowing), and the buffer is let go whenever it is empty and the
//! socket has nothing to read, so idle connections hold no read memory.

use crate::core::traffic::Traffic;
use bytes::BytesMut;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const SMALL_READ: usize = 4096;
const BIG_READ: usize = 64 * 1024;

pub struct Wire {
    tcp: TcpStream,
    /// Bytes received and not yet consumed.
    pub buf: BytesMut,
    traffic: Arc<Traffic>,
    /// How much of the "\r\n\r\n" that ends the HTTP response head was handed on; 4: all.
    head_end: u8,
    read_size: usize,
}

impl Wire {
    /// `already_read`: bytes of the stream read before (past a proxy's answer).
    pub fn new(tcp: TcpStream, already_read: BytesMut, traffic: Arc<Traffic>) -> Self {
        Wire {
            tcp,
            buf: already_read,
            traffic,
            head_end: 0,
            read_size: SMALL_READ,
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Bytes the kernel has taken from us so far.
    pub fn written(&self) -> u64 {
        self.traffic.total_sent()
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.traffic.total_received()
    }

    /// Reads what the socket has into `buf`: Ready(0) at the end of the stream.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            match self.tcp.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    if self.buf.is_empty() {
                        self.buf = BytesMut::new(); // idle: hold no read memory
                    }
                    return Poll::Pending;
                }
            }
            let spare = self.buf.capacity() - self.buf.len();
            if spare < self.read_size / 2 {
                self.buf.reserve(self.read_size);
            }
            let spare = self.buf.capacity() - self.buf.len();
            match self.tcp.try_read_buf(&mut self.buf) {
                Ok(n) => {
                    if n == spare && self.read_size < BIG_READ {
                        self.read_size = BIG_READ; // more was waiting: read more at once
                    } else if n < SMALL_READ / 4 {
                        self.read_size = SMALL_READ;
                    }
                    self.traffic.received(n);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Writes some of `bytes`; how many the kernel took.
    pub fn poll_send(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, bytes))?;
        self.traffic.sent(n);
        Poll::Ready(Ok(n))
    }
}

/// How many of `bytes` (the next ones handed on) still belong to the HTTP head;
/// `seen` follows the "\r\n\r\n" that ends it.
fn head_part(seen: &mut u8, bytes: &[u8]) -> usize {
    for (i, &b) in bytes.iter().enumerate() {
        let want = b"\r\n\r\n"[*seen as usize];
        *seen = match b {
            b if b == want => *seen + 1,
            b'\r' => 1,
            _ => 0,
        };
        if *seen == 4 {
            return i + 1;
        }
    }
    bytes.len()
}

/// The handshake's view: the response head and nothing after it.
impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.head_end == 4 {
            // tungstenite never reads past a complete head; keep it that way.
            return Poll::Ready(Err(io::Error::other("read past the HTTP response head")));
        }
        if this.buf.is_empty() && ready!(this.poll_fill(cx))? == 0 {
            return Poll::Ready(Ok(()));
        }
        let n = out.remaining().min(this.buf.len());
        let n = head_part(&mut this.head_end, &this.buf[..n]);
        out.put_slice(&this.buf.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
