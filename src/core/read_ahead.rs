//! The TCP stream under tungstenite, read in large chunks.
//!
//! tungstenite reads at most its `read_buffer_size` per syscall, and that buffer
//! is allocated (and zero-filled) for every connection. A small one keeps idle
//! connections cheap but costs one syscall per 4 KiB on large messages. This
//! wrapper gives both: it reads straight into tungstenite's buffer while reads are
//! small, and once a read fills it (bulk data is flowing) it reads up to
//! `BIG_CHUNK` bytes at once into a buffer that exists only while it holds unread
//! data, serving tungstenite's small reads from it, until reads are small again.
//!
//! It also counts the bytes it writes and follows the frame boundaries of what it
//! hands on, so the connection can tell a stalled send, or a message stalled half
//! way, from an idle connection (the send and receive timeouts).

use crate::core::traffic::Traffic;
use bytes::BytesMut;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const BIG_CHUNK: usize = 64 * 1024;

pub struct ReadAhead {
    tcp: TcpStream,
    /// Bytes read from the socket and not yet handed on; empty (unallocated) when idle.
    pending: BytesMut,
    /// Bytes moved both ways (the send timeout watches the bytes written).
    traffic: Arc<Traffic>,
    /// Bytes handed to tungstenite so far, and where they stand in the frame stream.
    delivered: u64,
    frames: FrameTracker,
    /// The read size when tungstenite asks for less: 0 reads straight into its
    /// buffer; `BIG_CHUNK` while bulk data flows.
    chunk: usize,
}

impl ReadAhead {
    /// `already_read`: bytes of the stream read before (past a proxy's answer).
    pub fn new(tcp: TcpStream, already_read: BytesMut, traffic: Arc<Traffic>) -> Self {
        ReadAhead {
            tcp,
            pending: already_read,
            traffic,
            delivered: 0,
            frames: FrameTracker::default(),
            chunk: 0,
        }
    }

    pub fn written(&self) -> u64 {
        self.traffic.total_sent()
    }

    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// True while the bytes received so far end inside a frame or inside a
    /// fragmented message.
    pub fn mid_message(&self) -> bool {
        self.frames.mid_message()
    }

    fn hand_on(&mut self, bytes: &[u8]) {
        self.delivered += bytes.len() as u64;
        self.frames.feed(bytes);
    }
}

/// Follows the server's byte stream: first the HTTP response head, then frame
/// headers and payload lengths (RFC 6455 §5.2), without copying or validating
/// (tungstenite validates).
#[derive(Default)]
struct FrameTracker {
    /// How much of the "\r\n\r\n" that ends the HTTP head has been seen; 4: done.
    head_end: u8,
    header: [u8; 14],
    header_len: usize,
    payload_left: u64,
    /// A data frame without FIN was seen: the message goes on in later frames.
    fragmented: bool,
}

impl FrameTracker {
    fn mid_message(&self) -> bool {
        self.head_end == 4 && (self.header_len > 0 || self.payload_left > 0 || self.fragmented)
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.head_end < 4 {
                let want = b"\r\n\r\n"[self.head_end as usize];
                self.head_end = match bytes[0] {
                    b if b == want => self.head_end + 1,
                    b'\r' => 1,
                    _ => 0,
                };
                bytes = &bytes[1..];
            } else if self.payload_left > 0 {
                let n = self.payload_left.min(bytes.len() as u64);
                self.payload_left -= n;
                bytes = &bytes[n as usize..];
            } else {
                self.header[self.header_len] = bytes[0];
                self.header_len += 1;
                bytes = &bytes[1..];
                self.end_header_if_complete();
            }
        }
    }

    fn end_header_if_complete(&mut self) {
        if self.header_len < 2 {
            return;
        }
        let (b0, b1) = (self.header[0], self.header[1]);
        let ext = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
        if self.header_len < 2 + ext + mask {
            return;
        }
        self.payload_left = match ext {
            0 => u64::from(b1 & 0x7F),
            n => self.header[2..2 + n]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        };
        let opcode = b0 & 0x0F;
        if opcode < 8 {
            // Data or continuation frame: FIN decides whether the message goes on.
            self.fragmented = b0 & 0x80 == 0;
        }
        self.header_len = 0;
    }
}

impl AsyncRead for ReadAhead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            if out.remaining() >= this.chunk {
                let (before, wanted) = (out.filled().len(), out.remaining());
                ready!(Pin::new(&mut this.tcp).poll_read(cx, out))?;
                let n = out.filled().len() - before;
                if n == wanted && wanted < BIG_CHUNK {
                    // More was waiting than tungstenite asked for: read ahead from now on.
                    this.chunk = BIG_CHUNK;
                }
                this.traffic.received(n);
                this.hand_on(&out.filled()[before..]);
                return Poll::Ready(Ok(()));
            }
            loop {
                ready!(this.tcp.poll_read_ready(cx))?;
                // Allocated only once the socket is readable, so idle connections
                // hold no read-ahead memory.
                let mut chunk = BytesMut::with_capacity(this.chunk);
                match this.tcp.try_read_buf(&mut chunk) {
                    Ok(0) => return Poll::Ready(Ok(())), // end of stream
                    Ok(n) => {
                        if n < this.chunk / 4 {
                            // Small reads again: back to reading straight into tungstenite.
                            this.chunk = 0;
                        }
                        this.traffic.received(n);
                        this.pending = chunk;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        }
        let n = out.remaining().min(this.pending.len());
        let chunk = this.pending.split_to(n);
        out.put_slice(&chunk);
        this.hand_on(&chunk);
        if this.pending.is_empty() {
            this.pending = BytesMut::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ReadAhead {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.tcp).poll_write(cx, buf))?;
        this.traffic.sent(n);
        Poll::Ready(Ok(n))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs))?;
        this.traffic.sent(n);
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::FrameTracker;

    #[test]
    fn tracks_heads_frames_and_fragments() {
        let mut t = FrameTracker::default();
        t.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
        assert!(!t.mid_message());
        t.feed(&[0x82, 0x03, 1]); // binary, 3 bytes, only 1 arrived
        assert!(t.mid_message());
        t.feed(&[2, 3]);
        assert!(!t.mid_message());
        t.feed(&[0x01, 0x7E, 0x01]); // text without FIN, 16-bit length, half a header
        assert!(t.mid_message());
        t.feed(&[0x00]); // length 256
        t.feed(&[0u8; 256]);
        assert!(t.mid_message(), "the message continues in a later frame");
        t.feed(&[0x89, 0x00]); // a ping between fragments
        assert!(t.mid_message());
        t.feed(&[0x80, 0x00]); // final continuation frame, empty
        assert!(!t.mid_message());
    }
}
