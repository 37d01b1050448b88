//! The connection of one WebSocket (TCP, or TLS over TCP for `wss:`): its read
//! buffer, sized to the traffic, and its byte counters.
//!
//! During the opening handshake it is the stream under tungstenite, and hands on
//! nothing past the end of the HTTP response head: whatever the server sent after
//! it (its first frames) stays in the read buffer for the connection's own frame
//! reader (`core::frames`) instead of vanishing into tungstenite's. The head is
//! gathered here first, however it is split, and its end is decided by the
//! parser tungstenite uses (httparse), so both agree on it whatever the line
//! endings; tungstenite then reads it in a few large pieces.
//!
//! Reads are 4 KiB while traffic is small and 64 KiB once a read fills its space
//! (bulk data is flowing), and the buffer is let go whenever it is empty and the
//! socket has nothing to read, so idle connections hold no read memory.

use crate::core::tls::TlsStream;
use crate::core::traffic::Traffic;
use bytes::BytesMut;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const SMALL_READ: usize = 4096;
/// The largest response head accepted (tungstenite's own limit is 64 KiB too).
pub const MAX_HEAD: usize = 64 * 1024;
/// As many header lines as tungstenite's parser takes.
const MAX_HEADERS: usize = 124;
const BIG_READ: usize = 64 * 1024;

/// The byte stream: TCP, or TLS over TCP (`wss:`).
pub enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

pub struct Wire {
    io: Io,
    /// Bytes received and not yet consumed.
    pub buf: BytesMut,
    traffic: Arc<Traffic>,
    /// The response head: not yet complete in `buf` (None), or how many of its
    /// bytes are still to be handed to tungstenite.
    head_left: Option<usize>,
    /// The stream ended before the head did: what came is handed on, then the end.
    head_cut: bool,
    read_size: usize,
}

impl Wire {
    /// `already_read`: bytes of the stream read before (past a proxy's answer).
    pub fn new(io: Io, already_read: BytesMut, traffic: Arc<Traffic>) -> Self {
        Wire {
            io,
            buf: already_read,
            traffic,
            head_left: None,
            head_cut: false,
            read_size: SMALL_READ,
        }
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
        let (n, spare) = match &mut self.io {
            Io::Plain(tcp) => loop {
                match tcp.poll_read_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return self.idle(),
                }
                // Room is made only once there is something to read.
                let spare = reserve(&mut self.buf, self.read_size);
                match tcp.try_read_buf(&mut self.buf) {
                    Ok(n) => break (n, spare),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            },
            Io::Tls(tls) => {
                // OpenSSL may hold decrypted bytes already: room first.
                let spare = reserve(&mut self.buf, self.read_size);
                let mut out = ReadBuf::uninit(self.buf.spare_capacity_mut());
                match Pin::new(&mut **tls).poll_read(cx, &mut out) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return self.idle(),
                }
                let n = out.filled().len();
                // SAFETY: `poll_read` initialized the first `n` bytes of the spare
                // capacity (`ReadBuf::filled`), right after the buffer's length.
                unsafe { self.buf.set_len(self.buf.len() + n) };
                (n, spare)
            }
        };
        if n == spare && self.read_size < BIG_READ {
            self.read_size = BIG_READ; // more was waiting: read more at once
        } else if n < SMALL_READ / 4 {
            self.read_size = SMALL_READ;
        }
        self.traffic.received(n);
        Poll::Ready(Ok(n))
    }

    /// Nothing to read: an empty buffer is let go, so idle connections hold no
    /// read memory.
    fn idle<T>(&mut self) -> Poll<T> {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
        Poll::Pending
    }

    /// Writes some of `bytes`; how many the kernel took.
    pub fn poll_send(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        let n = ready!(match &mut self.io {
            Io::Plain(tcp) => Pin::new(tcp).poll_write(cx, bytes),
            Io::Tls(tls) => match Pin::new(&mut **tls).poll_write(cx, bytes) {
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                    Poll::Ready(Err(pending_alert(tls, cx).unwrap_or(e)))
                }
                other => other,
            },
        })?;
        self.traffic.sent(n);
        Poll::Ready(Ok(n))
    }
}

/// The TLS alert that came before a connection reset, if one did. A TLS 1.3
/// server refuses a missing client certificate after our side of the handshake
/// is done: its alert is then in our receive queue while its reset fails our next
/// write, and the alert says why.
fn pending_alert(tls: &mut TlsStream, cx: &mut Context<'_>) -> Option<io::Error> {
    let mut scratch = [0u8; 512];
    let mut out = ReadBuf::new(&mut scratch);
    match Pin::new(tls).poll_read(cx, &mut out) {
        Poll::Ready(Err(e)) if e.get_ref().is_some_and(|e| e.is::<openssl::ssl::Error>()) => {
            Some(e)
        }
        _ => None,
    }
}

/// Makes room for a read of about `size` bytes; the room there is.
fn reserve(buf: &mut BytesMut, size: usize) -> usize {
    if buf.capacity() - buf.len() < size / 2 {
        buf.reserve(size);
    }
    buf.capacity() - buf.len()
}

/// The length of the HTTP response head at the start of `bytes`, once complete.
/// A head that does not parse is handed on whole: tungstenite's parser, the same
/// one, then reports what is wrong with it.
fn head_len(bytes: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::Response::new(&mut headers).parse(bytes) {
        Ok(httparse::Status::Complete(n)) => Some(n),
        Ok(httparse::Status::Partial) => None,
        Err(_) => Some(bytes.len()),
    }
}

/// The handshake's view: the response head and nothing after it.
impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let left = loop {
            if let Some(left) = this.head_left {
                break left;
            }
            this.head_left = head_len(&this.buf);
            if this.head_left.is_some() {
                continue;
            }
            if this.buf.len() >= MAX_HEAD {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the server's response head is over {MAX_HEAD} bytes"),
                )));
            }
            if ready!(this.poll_fill(cx))? == 0 {
                // tungstenite then says the handshake is incomplete.
                this.head_cut = true;
                this.head_left = Some(this.buf.len());
            }
        };
        if left == 0 && this.head_cut {
            return Poll::Ready(Ok(()));
        }
        if left == 0 {
            // tungstenite never reads past a complete head; keep it that way.
            return Poll::Ready(Err(io::Error::other("read past the HTTP response head")));
        }
        let n = out.remaining().min(left);
        out.put_slice(&this.buf.split_to(n));
        this.head_left = Some(left - n);
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
        match &mut self.get_mut().io {
            Io::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Io::Tls(tls) => Pin::new(&mut **tls).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Io::Tls(tls) => Pin::new(&mut **tls).poll_shutdown(cx),
        }
    }
}
