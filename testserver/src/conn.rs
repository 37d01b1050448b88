//! `Conn`: one client connection of the WebSocket routes, plain TCP or TLS over TCP, so
//! every route is served the same way on the plain port and on the `--tls-dir` listeners.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::{head_end, parse_head, peek_head, Head, MAX_HEAD};

pub struct Conn {
    io: Io,
    /// TLS only (TLS cannot be peeked like TCP): bytes `peek_head` read ahead; those from
    /// `pos` on are handed to the next reads before anything else.
    ahead: Vec<u8>,
    pos: usize,
}

enum Io {
    Plain(TcpStream),
    Tls(SslStream<TcpStream>),
}

impl Conn {
    fn new(io: Io) -> Conn {
        Conn {
            io,
            ahead: Vec::new(),
            pos: 0,
        }
    }

    pub fn plain(stream: TcpStream) -> Conn {
        Conn::new(Io::Plain(stream))
    }

    /// A TLS connection whose handshake is complete.
    pub fn tls(stream: SslStream<TcpStream>) -> Conn {
        Conn::new(Io::Tls(stream))
    }

    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match &self.io {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref(),
        }
    }

    /// SO_LINGER 0: dropping the connection then sends RST (and no TLS close_notify).
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.tcp().set_zero_linger()
    }

    /// The next request head, without consuming it: reads still return its bytes first.
    /// None if the peer closed before sending one.
    pub async fn peek_head(&mut self) -> io::Result<Option<Head>> {
        let tls = match &mut self.io {
            Io::Plain(tcp) => return peek_head(tcp).await,
            Io::Tls(tls) => tls,
        };
        if self.pos > 0 {
            self.ahead.drain(..self.pos);
            self.pos = 0;
        }
        loop {
            if let Some(end) = head_end(&self.ahead) {
                return Ok(Some(parse_head(&self.ahead[..end])));
            }
            if self.ahead.len() >= MAX_HEAD {
                // Oversized head: route on what we have, as `peek_head` does.
                return Ok(Some(parse_head(&self.ahead[..MAX_HEAD])));
            }
            let old = self.ahead.len();
            self.ahead.resize(MAX_HEAD, 0);
            let read = tls.read(&mut self.ahead[old..]).await;
            self.ahead.truncate(old + *read.as_ref().unwrap_or(&0));
            if read? == 0 {
                return Ok(None);
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.ahead.len() {
            let n = buf.remaining().min(this.ahead.len() - this.pos);
            buf.put_slice(&this.ahead[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.ahead.len() {
                this.ahead = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

/// Over TLS, one `poll_write` writes as many records as the socket takes, not one.
///
/// OpenSSL (in the partial-write mode the openssl crate sets) returns from each
/// `SSL_write` after one record, at most 16 KiB, and tungstenite drains what was written
/// from the front of its output buffer after every write: a 16 MiB message would be
/// memmoved ~1,000 times (8 GiB of copying, most of the server's CPU; measured with the
/// benchmark's wss-bulk group). Stops at the first Pending or error once something was
/// written (the next call reports the error, or retries the same bytes, as OpenSSL needs
/// after WANT_WRITE: the caller passes the unwritten rest again).
fn poll_write_tls(
    s: &mut SslStream<TcpStream>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    let mut written = 0;
    while written < buf.len() {
        match Pin::new(&mut *s).poll_write(cx, &buf[written..]) {
            Poll::Ready(Ok(0)) => break,
            Poll::Ready(Ok(n)) => written += n,
            Poll::Ready(Err(e)) if written == 0 => return Poll::Ready(Err(e)),
            Poll::Pending if written == 0 => return Poll::Pending,
            Poll::Ready(Err(_)) | Poll::Pending => break,
        }
    }
    Poll::Ready(Ok(written))
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => poll_write_tls(s, cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    /// Over TLS: close_notify, then FIN (tokio-openssl shuts the TCP stream down after it).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
