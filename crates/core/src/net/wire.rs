//! The connection of one WebSocket (TCP, or TLS over TCP for `wss:`): its read
//! buffer, sized to the traffic, and its byte counters.
//!
//! During the opening handshake it gathers the response head, however it is split,
//! until `handshake::head_len` says where it ends; whatever the server sent after
//! it (its first frames) stays in the read buffer for the frame reader.
//!
//! Reads are 4 KiB while traffic is small and 128 KiB once a read fills its space
//! (bulk data is flowing), and the buffer is let go whenever it is empty and the
//! socket has nothing to read, so idle connections hold no read memory.

use crate::net::protocol_errors;
use crate::net::tls::TlsStream;
use crate::net::traffic::Traffic;
use bytes::BytesMut;
use rtws_protocol::handshake;
use rtws_types::*;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

const SMALL_READ: usize = 4096;
const BIG_READ: usize = 128 * 1024;

/// The byte stream: TCP, or TLS over TCP (`wss:`).
pub enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
    /// TCP outside tokio's reactor, read and written directly: a DispatcherQueue's
    /// descriptor watches it (`leave_reactor`). None only while it moves.
    Bare(Option<std::net::TcpStream>),
}

pub struct Wire {
    io: Io,
    /// Bytes received and not yet consumed.
    pub buf: BytesMut,
    traffic: Arc<Traffic>,
    read_size: usize,
}

impl Wire {
    /// `already_read`: bytes of the stream read before (past a proxy's answer).
    pub fn new(io: Io, already_read: BytesMut, traffic: Arc<Traffic>) -> Self {
        Wire {
            io,
            buf: already_read,
            traffic,
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
            Io::Bare(_) => return self.fill_direct(cx),
            Io::Plain(tcp) => loop {
                match tcp.poll_read_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return self.idle(),
                }
                // Room is made only once there is something to read.
                let spare = reserve(&mut self.buf, self.read_size);
                // A short read empties the socket: its readiness is forgotten at once,
                // so the next fill waits for data instead of paying a read that returns
                // EAGAIN. Inside `try_io`, which clears only the readiness it saw before
                // the read: data that arrives after it is not forgotten.
                let mut got = None;
                let read = tcp.try_io(Interest::READABLE, || {
                    let n = tcp.try_read_buf(&mut self.buf)?;
                    got = Some(n);
                    match n {
                        n if n > 0 && n < spare => Err(io::ErrorKind::WouldBlock.into()),
                        _ => Ok(()),
                    }
                });
                match (got, read) {
                    (Some(n), _) => break (n, spare),
                    (None, Err(e)) if e.kind() != io::ErrorKind::WouldBlock => {
                        return Poll::Ready(Err(e))
                    }
                    (None, _) => continue,
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
        Poll::Ready(Ok(self.account(n, spare)))
    }

    /// The socket's descriptor, when it is plain TCP (the only kind a DispatcherQueue's
    /// thread reads itself: TLS reads go through OpenSSL and tokio's readiness).
    pub fn plain_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        match &self.io {
            Io::Plain(tcp) => Some(tcp.as_raw_fd()),
            Io::Bare(Some(tcp)) => Some(tcp.as_raw_fd()),
            Io::Tls(_) | Io::Bare(None) => None,
        }
    }

    /// Takes plain TCP out of tokio's reactor: a DispatcherQueue's descriptor then
    /// reports its readiness, and no I/O thread is woken for each arrival. False
    /// (nothing changed) for TLS, or when tokio refused.
    pub fn leave_reactor(&mut self) -> bool {
        let Io::Plain(_) = &self.io else {
            return false;
        };
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Bare(None)) else {
            unreachable!("matched just above");
        };
        self.io = Io::Bare(tcp.into_std().ok());
        matches!(self.io, Io::Bare(Some(_)))
    }

    /// Outside tokio's reactor (`leave_reactor`).
    pub fn is_bare(&self) -> bool {
        matches!(self.io, Io::Bare(_))
    }

    /// Back into tokio's reactor, for a connection no queue reads any more. On the
    /// runtime (a thread of it, or one that entered it).
    pub fn join_reactor(&mut self) -> io::Result<()> {
        if let Io::Bare(tcp) = &mut self.io {
            self.io = Io::Plain(TcpStream::from_std(tcp.take().ok_or_else(gone)?)?);
        }
        Ok(())
    }

    /// Reads what the socket has into `buf`, as `poll_fill`, without tokio's readiness:
    /// for a socket whose readiness a DispatcherQueue watches (tokio's is then never
    /// awaited, so it would not say). Pending when the socket has nothing; nobody is
    /// woken for it then, the queue's descriptor is. TLS falls back to `poll_fill`.
    pub fn fill_direct(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let fd = match &self.io {
            Io::Tls(_) => return self.poll_fill(cx),
            _ => match self.plain_fd() {
                Some(fd) => fd,
                None => return Poll::Ready(Err(gone())),
            },
        };
        let spare = reserve(&mut self.buf, self.read_size);
        let room = self.buf.spare_capacity_mut();
        let n = loop {
            // SAFETY: `room` is the buffer's spare capacity, writable for `room.len()`
            // bytes; `fd` is the TcpStream's descriptor, open while `self.io` lives.
            let n = unsafe { libc::recv(fd, room.as_mut_ptr().cast(), room.len(), 0) };
            if n >= 0 {
                break n as usize;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return self.idle(),
                _ => return Poll::Ready(Err(e)),
            }
        };
        // SAFETY: recv wrote the first `n` bytes of the spare capacity, right after
        // the buffer's length.
        unsafe { self.buf.set_len(self.buf.len() + n) };
        Poll::Ready(Ok(self.account(n, spare)))
    }

    /// Counts `n` bytes read into `spare` bytes of room, and sizes the next read.
    fn account(&mut self, n: usize, spare: usize) -> usize {
        if n == spare && self.read_size < BIG_READ {
            self.read_size = BIG_READ; // more was waiting: read more at once
        } else if n < SMALL_READ / 4 {
            self.read_size = SMALL_READ;
        }
        self.traffic.received(n);
        n
    }

    /// Nothing to read: an empty buffer is let go, so idle connections hold no
    /// read memory.
    fn idle<T>(&mut self) -> Poll<T> {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
        Poll::Pending
    }

    /// Writes all of `bytes` (the upgrade request). A reset that fails it is
    /// reported as the TLS alert that came before it, if one did.
    pub async fn send_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let sent = std::future::poll_fn(|cx| self.poll_send(cx, bytes)).await;
            let n = match (sent, &mut self.io) {
                (Err(e), Io::Tls(tls)) if e.kind() == io::ErrorKind::ConnectionReset => {
                    let alert = std::future::poll_fn(|cx| Poll::Ready(pending_alert(tls, cx)));
                    return Err(alert.await.unwrap_or(e));
                }
                (sent, _) => sent?,
            };
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Reads until the response head is complete and takes it out of the buffer;
    /// what follows it stays. The end of the stream before the head's is an error.
    pub async fn read_head(&mut self) -> Result<BytesMut> {
        // Parsed again only when a line may have ended (or the size limit is near):
        // a head that trickles in a byte at a time is not parsed once per byte.
        let mut scanned = 0;
        loop {
            if self.buf[scanned..].contains(&b'\n') || self.buf.len() >= handshake::MAX_HEAD {
                if let Some(n) =
                    handshake::head_len(&self.buf).map_err(protocol_errors::invalid_response)?
                {
                    return Ok(self.buf.split_to(n));
                }
            }
            scanned = self.buf.len();
            match std::future::poll_fn(|cx| self.poll_fill(cx)).await {
                Ok(0) => {
                    return Err(Error::new(
                        WININET_E_INVALID_SERVER_RESPONSE,
                        "invalid handshake response: the server closed the connection before \
                         its response head was complete",
                    ))
                }
                Ok(_) => {}
                Err(e) => return Err(io_error(&e, "during the WebSocket handshake")),
            }
        }
    }

    /// Writes some of `bytes`; how many the kernel took.
    /// Outside tokio's reactor, Pending wakes nobody: the DispatcherQueue's descriptor
    /// reports the room, and its thread writes then.
    pub fn poll_send(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        let n = ready!(match &mut self.io {
            Io::Plain(tcp) => Pin::new(tcp).poll_write(cx, bytes),
            Io::Tls(tls) => Pin::new(&mut **tls).poll_write(cx, bytes),
            Io::Bare(Some(tcp)) => loop {
                match io::Write::write(&mut &*tcp, bytes) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Poll::Pending,
                    done => break Poll::Ready(done),
                }
            },
            Io::Bare(None) => Poll::Ready(Err(gone())),
        })?;
        self.traffic.sent(n);
        Poll::Ready(Ok(n))
    }
}

/// The TLS alert that came before a connection reset, if one did. A TLS 1.3
/// server refuses a missing client certificate after our side of the handshake
/// is done: its alert is then in our receive queue while its reset fails our next
/// write (the upgrade request), and the alert says why. Only for the handshake:
/// what it reads is dropped, and after the handshake that would be the peer's data.
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

/// A socket lost between tokio's reactor and a queue's (tokio refused to let it go).
fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the connection's socket could not move between I/O threads and the DispatcherQueue",
    )
}

/// Makes room for a read of about `size` bytes; the room there is.
fn reserve(buf: &mut BytesMut, size: usize) -> usize {
    if buf.capacity() - buf.len() < size / 2 {
        buf.reserve(size);
    }
    buf.capacity() - buf.len()
}

/// An I/O error on the wire as an rtws error; a TLS alert (the server refused us
/// in TLS, e.g. TLS 1.3's refusal of a missing client certificate, which comes
/// after our side of the TLS handshake) is `WININET_E_SECURITY_CHANNEL_ERROR`.
pub fn io_error(e: &io::Error, during: &str) -> Error {
    if e.get_ref().is_some_and(|e| e.is::<openssl::ssl::Error>()) {
        Error::new(
            WININET_E_SECURITY_CHANNEL_ERROR,
            format!("TLS failed {during}: {e}"),
        )
    } else {
        Error::from_io(e, during)
    }
}
