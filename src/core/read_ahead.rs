//! The TCP stream under tungstenite, read in large chunks.
//!
//! tungstenite reads at most its `read_buffer_size` per syscall, and that buffer
//! is allocated (and zero-filled) for every connection. A small one keeps idle
//! connections cheap but costs one syscall per 4 KiB on large messages. This
//! wrapper gives both: when tungstenite asks for less than `CHUNK`, it reads up to
//! `CHUNK` bytes at once into a buffer that exists only while it holds unread
//! data, and serves tungstenite's small reads from it.

use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const CHUNK: usize = 64 * 1024;

pub struct ReadAhead {
    tcp: TcpStream,
    /// Bytes read from the socket and not yet handed on; empty (unallocated) when idle.
    pending: BytesMut,
    /// Bytes written so far: the send timeout watches it for progress.
    written: u64,
}

impl ReadAhead {
    pub fn new(tcp: TcpStream) -> Self {
        ReadAhead {
            tcp,
            pending: BytesMut::new(),
            written: 0,
        }
    }

    pub fn written(&self) -> u64 {
        self.written
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
            if out.remaining() >= CHUNK {
                return Pin::new(&mut this.tcp).poll_read(cx, out);
            }
            loop {
                ready!(this.tcp.poll_read_ready(cx))?;
                // Allocated only once the socket is readable, so idle connections
                // hold no read-ahead memory.
                let mut chunk = BytesMut::with_capacity(CHUNK);
                match this.tcp.try_read_buf(&mut chunk) {
                    Ok(0) => return Poll::Ready(Ok(())), // end of stream
                    Ok(_) => {
                        this.pending = chunk;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        }
        let n = out.remaining().min(this.pending.len());
        out.put_slice(&this.pending[..n]);
        this.pending.advance(n);
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
        this.written += n as u64;
        Poll::Ready(Ok(n))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs))?;
        this.written += n as u64;
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
