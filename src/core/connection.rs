//! One task per connection: it connects, then owns the WebSocket stream, writes
//! what the command queue brings, reads frames, and raises the socket's events.
//!
//! Everything that touches the wire happens in `Connection::poll_step`, one poll
//! function driving writes, flushes and reads, so a slow peer reader never stops
//! us from reading (no write/read deadlock on large echoes) and no future is ever
//! dropped half-way.

use crate::core::async_op::AsyncOp;
use crate::core::error::*;
use crate::core::message_websocket::{
    c_text, ClosedArgs, MessageReceivedArgs, Socket, SocketMessageType,
};
use crate::core::proxy::Proxy;
use crate::core::queue::Receiver;
use crate::core::read_ahead::ReadAhead;
use crate::core::traffic::Traffic;
use bytes::Bytes;
use bytes::BytesMut;
use futures_util::{Sink, Stream};
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout, Sleep};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
use tokio_tungstenite::WebSocketStream;

/// The seed's documented limit: at most 5 addresses tried for one name.
pub(crate) const MAX_ADDRESSES: usize = 5;
/// How long a close handshake we started may wait for the peer's reply.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);
/// tungstenite's default 128 KiB read buffer is zero-filled per connection;
/// 4 KiB keeps an idle connection near 10 KiB (see shared/design/PERFORMANCE.md),
/// and `ReadAhead` keeps large messages from costing a syscall per 4 KiB.
const READ_BUFFER_SIZE: usize = 4096;
/// Queued sends are flushed when reading would block, or at these sizes.
const FLUSH_BATCH_MESSAGES: usize = 32;
const FLUSH_BATCH_BYTES: usize = 64 * 1024;

/// What `ConnectAsync` needs, taken from the socket when it is called.
pub struct Target {
    pub uri: http::Uri,
    pub host: String,
    pub port: u16,
    pub headers: Vec<(String, String)>,
    pub protocols: Vec<String>,
    pub max_message_size: u32,
    pub send_buffer_size: Option<u32>,
    pub timing: Timing,
    /// Answers a `401` Basic challenge (Control.ServerCredential).
    pub server_credential: Option<Credential>,
    /// The HTTP proxy to tunnel through, and its credential (Control.ProxyCredential).
    pub proxy: Option<Proxy>,
    pub proxy_credential: Option<Credential>,
}

/// A user name and password (from a `PasswordCredential`).
#[derive(Clone)]
pub struct Credential {
    pub user: String,
    pub password: String,
}

/// Timeouts and keepalive of one connection (Control settings, frozen at connect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Each TCP connect attempt, and the opening handshake (seed: 60 s).
    pub connect: Duration,
    /// How long queued output may make no progress before the connection fails
    /// with `WININET_E_TIMEOUT` (seed: 30 s for sends).
    pub send: Duration,
    /// How long a message that has begun to arrive may receive no byte before the
    /// connection fails with `WININET_E_TIMEOUT` (seed: 30 s for receives). An
    /// idle connection between messages never times out.
    pub receive: Duration,
    /// The interval of unsolicited pongs (one-way heartbeat); zero: none.
    pub pong_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect: Duration::from_secs(60),
            send: Duration::from_secs(30),
            receive: Duration::from_secs(30),
            pong_interval: Duration::ZERO,
        }
    }
}

/// What the socket's users ask of its connection task.
pub enum Command {
    Send {
        data: Bytes,
        kind: SocketMessageType,
        op: Arc<AsyncOp<u32>>,
    },
    Flush(Arc<AsyncOp<bool>>),
    Close(Option<CloseFrame>),
}

pub type Ws = WebSocketStream<ReadAhead>;

/// What a successful connect learned.
pub struct Established {
    pub ws: Ws,
    pub traffic: Arc<Traffic>,
    pub protocol: String,
    pub local_address: String,
}

/// Resolves, connects (up to `MAX_ADDRESSES`, each within the connect timeout) and
/// performs the opening handshake (within the connect timeout too). A `401` with a
/// Basic challenge is answered once, on a new connection, when the socket has a
/// server credential.
pub async fn establish(target: Target) -> Result<Established> {
    match handshake(&target, None).await {
        Err(Rejected::Unauthorized(e, basic)) => match (&target.server_credential, basic) {
            (Some(cred), true) => {
                let auth = basic_authorization(&cred.user, &cred.password);
                handshake(&target, Some(&auth))
                    .await
                    .map_err(Rejected::into_error)
            }
            _ => Err(e),
        },
        other => other.map_err(Rejected::into_error),
    }
}

/// Why a handshake failed: a 401 (and whether it offered Basic) is worth a retry.
enum Rejected {
    Unauthorized(Error, bool),
    Failed(Error),
}

impl Rejected {
    fn into_error(self) -> Error {
        match self {
            Rejected::Unauthorized(e, _) | Rejected::Failed(e) => e,
        }
    }
}

impl From<Error> for Rejected {
    fn from(e: Error) -> Self {
        Rejected::Failed(e)
    }
}

fn basic_authorization(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!("Basic {}", data_encoding::BASE64.encode(pair.as_bytes()))
}

/// A TCP connection to the server, or a CONNECT tunnel to it through the proxy;
/// with the bytes already read past the proxy's answer.
async fn open_tcp(target: &Target) -> Result<(TcpStream, BytesMut)> {
    let Some(proxy) = &target.proxy else {
        let stream = connect_host(&target.host, target.port, target).await?;
        return Ok((stream, BytesMut::new()));
    };
    let mut stream = connect_host(&proxy.host, proxy.port, target).await?;
    let credential = target.proxy_credential.clone().or_else(|| {
        proxy.userinfo.as_ref().map(|(user, password)| Credential {
            user: user.clone(),
            password: password.clone(),
        })
    });
    let auth = credential.map(|c| basic_authorization(&c.user, &c.password));
    let rest = crate::core::proxy::tunnel(
        &mut stream,
        &target.host,
        target.port,
        auth.as_deref(),
        target.timing.connect,
    )
    .await?;
    Ok((stream, rest))
}

/// Resolves `host` and connects to the first of its addresses (at most
/// `MAX_ADDRESSES`, in the resolver's order) that answers.
async fn connect_host(host: &str, port: u16, target: &Target) -> Result<TcpStream> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            Error::new(
                WININET_E_NAME_NOT_RESOLVED,
                format!("cannot resolve host name '{host}': {e}"),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::new(
            WININET_E_NAME_NOT_RESOLVED,
            format!("host name '{host}' has no address"),
        ));
    }
    connect_any(addrs, target.send_buffer_size, target.timing.connect).await
}

/// Tries the addresses in order (at most `MAX_ADDRESSES`); the last failure wins.
async fn connect_any(
    addrs: Vec<SocketAddr>,
    send_buffer_size: Option<u32>,
    limit: Duration,
) -> Result<TcpStream> {
    let mut last = None;
    for addr in addrs.into_iter().take(MAX_ADDRESSES) {
        match connect_one(addr, send_buffer_size, limit).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(WININET_E_NAME_NOT_RESOLVED, "no address to connect to")))
}

async fn handshake(
    target: &Target,
    authorization: Option<&str>,
) -> std::result::Result<Established, Rejected> {
    let (stream, already_read) = open_tcp(target).await?;
    let traffic = Traffic::new();
    let local_address = stream
        .local_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();

    let mut request = target
        .uri
        .clone()
        .into_client_request()
        .map_err(|e| Error::invalid_arg(format!("cannot build the upgrade request: {e}")))?;
    let headers = request.headers_mut();
    for (name, value) in &target.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid_arg(format!("invalid header name '{name}'")))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| Error::invalid_arg("invalid header value"))?;
        headers.append(name, value);
    }
    if !target.protocols.is_empty() {
        let list = target.protocols.join(", ");
        headers.insert(
            http::header::SEC_WEBSOCKET_PROTOCOL,
            http::HeaderValue::from_str(&list)
                .map_err(|_| Error::invalid_arg("invalid SupportedProtocols entry"))?,
        );
    }
    if let Some(auth) = authorization {
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(auth).map_err(|_| {
                Error::invalid_arg("the server credential cannot be sent in a header")
            })?,
        );
    }
    let max = target.max_message_size as usize;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let handshake = tokio_tungstenite::client_async_with_config(
        request,
        ReadAhead::new(stream, already_read, traffic.clone()),
        Some(config),
    );
    let (ws, response) = match timeout(target.timing.connect, handshake).await {
        Err(_) => {
            return Err(Error::new(
                WININET_E_TIMEOUT,
                "the server did not complete the WebSocket handshake in time",
            )
            .into())
        }
        Ok(Err(WsError::Http(resp))) if resp.status() == http::StatusCode::UNAUTHORIZED => {
            let basic = resp
                .headers()
                .get_all(http::header::WWW_AUTHENTICATE)
                .iter()
                .any(|v| {
                    v.as_bytes().len() >= 5 && v.as_bytes()[..5].eq_ignore_ascii_case(b"basic")
                });
            let e = handshake_error(WsError::Http(resp));
            return Err(Rejected::Unauthorized(e, basic));
        }
        Ok(r) => r.map_err(handshake_error)?,
    };
    let protocol = response
        .headers()
        .get(http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Ok(Established {
        ws,
        protocol,
        local_address,
        traffic,
    })
}

async fn connect_one(
    addr: SocketAddr,
    send_buffer_size: Option<u32>,
    limit: Duration,
) -> Result<TcpStream> {
    let during = |e: std::io::Error| Error::from_io(&e, &format!("connecting to {addr}"));
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(during)?;
    if let Some(size) = send_buffer_size {
        socket.set_send_buffer_size(size).map_err(during)?;
    }
    let stream = timeout(limit, socket.connect(addr))
        .await
        .map_err(|_| Error::new(WININET_E_TIMEOUT, format!("connecting to {addr} timed out")))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => Error::new(
                WININET_E_CANNOT_CONNECT,
                format!("connecting to {addr}: connection refused"),
            ),
            _ => during(e),
        })?;
    // Messages are latency-sensitive and already batched per flush: Nagle only delays them.
    stream.set_nodelay(true).map_err(during)?;
    Ok(stream)
}

fn handshake_error(e: WsError) -> Error {
    match e {
        WsError::Http(resp) => {
            let status = resp.status();
            Error::new(
                http_status_hresult(status.as_u16()),
                format!("the server answered the upgrade request with HTTP {status}"),
            )
        }
        WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(sub)) => Error::new(
            E_SUBPROTOCOL_NOT_SUPPORTED,
            format!("subprotocol negotiation failed: {sub}"),
        ),
        WsError::Io(io) => Error::from_io(&io, "during the WebSocket handshake"),
        other => Error::new(
            WININET_E_INVALID_SERVER_RESPONSE,
            format!("invalid handshake response: {other}"),
        ),
    }
}

/// The size on the wire of a client frame with `payload` bytes (RFC 6455 §5.2:
/// header, extended length, 4-byte mask).
fn frame_len(payload: usize) -> u64 {
    let ext = match payload {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    (2 + ext + 4 + payload) as u64
}

/// Fires when `active` stays true and `progress` stays the same for `limit`.
///
/// Cheap on the hot path: moving the deadline only records it; the one timer,
/// allocated once, is re-armed when it fires early (at most once per `limit`).
#[derive(Default)]
struct StallTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    /// When the stall would be declared; `None` while inactive or just restarted.
    due: Option<tokio::time::Instant>,
    at: u64,
}

impl StallTimer {
    /// Counts as progress (handlers ran): the clock starts again.
    fn restart(&mut self) {
        self.due = None;
    }

    fn poll(&mut self, cx: &mut Context<'_>, active: bool, progress: u64, limit: Duration) -> bool {
        if !active {
            self.due = None;
            return false;
        }
        let due = match self.due {
            Some(due) if self.at == progress => due,
            _ => {
                self.at = progress;
                *self.due.insert(tokio::time::Instant::now() + limit)
            }
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        if tokio::time::Instant::now() >= due {
            return true;
        }
        // The deadline moved on since the timer was set: wait for the new one.
        sleep.as_mut().reset(due);
        let _ = sleep.as_mut().poll(cx);
        false
    }
}

/// How a connection ended, for the `Closed` event and the pending operations.
struct Ending {
    code: u16,
    reason: String,
    /// The failure raised as a last `MessageReceived` first, if any.
    failure: Option<Error>,
}

const NO_STATUS: u16 = 1005;
const ABNORMAL: u16 = 1006;

pub struct Connection {
    socket: Arc<Socket>,
    ws: Ws,
    commands: Receiver<Command>,
    commands_open: bool,
    /// Sends handed to tungstenite and not yet reported: the operation, the
    /// message length, and where its frame ends in the outgoing byte stream.
    unflushed: VecDeque<(Arc<AsyncOp<u32>>, u32, u64)>,
    unflushed_bytes: usize,
    /// Messages read since the last flush attempt: a flood of input must not keep
    /// our output (or its timeout) waiting.
    reads_since_flush: usize,
    /// Bytes handed to tungstenite so far, counting the control frames it adds
    /// itself (pong and close replies), so `written` tells which sends are out.
    queued: u64,
    flushes: Vec<Arc<AsyncOp<bool>>>,
    need_flush: bool,
    /// Set once we sent a close frame: the deadline for the peer's reply.
    close_deadline: Option<Pin<Box<Sleep>>>,
    /// The close frame the peer sent, once it arrived.
    peer_close: Option<(u16, String)>,
    /// A failure detected while reading, for which we sent a close frame.
    failure: Option<(Error, u16)>,
    timing: Timing,
    /// Armed while output is pending; pushed back whenever some of it is written.
    send_stall: StallTimer,
    /// Armed while a message is half received; pushed back whenever a byte arrives.
    receive_stall: StallTimer,
    pong_timer: Option<tokio::time::Interval>,
}

impl Drop for Connection {
    /// A task dropped mid-way (runtime shutdown) still finishes every operation.
    fn drop(&mut self) {
        self.fail_pending(&Error::new(
            RTWS_E_OPERATION_ABORTED,
            "the connection was dropped: rtws was shut down",
        ));
    }
}

impl Connection {
    pub fn new(socket: Arc<Socket>, ws: Ws, commands: Receiver<Command>, timing: Timing) -> Self {
        let pong_timer = (!timing.pong_interval.is_zero()).then(|| {
            let start = tokio::time::Instant::now() + timing.pong_interval;
            let mut t = tokio::time::interval_at(start, timing.pong_interval);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        // The upgrade request went through the same byte counter.
        let queued = ws.get_ref().written();
        Connection {
            timing,
            send_stall: StallTimer::default(),
            receive_stall: StallTimer::default(),
            pong_timer,
            socket,
            ws,
            commands,
            commands_open: true,
            unflushed: VecDeque::new(),
            unflushed_bytes: 0,
            reads_since_flush: 0,
            queued,
            flushes: Vec::new(),
            need_flush: false,
            close_deadline: None,
            peer_close: None,
            failure: None,
        }
    }

    pub async fn run(mut self) {
        let ending = std::future::poll_fn(|cx| self.poll_step(cx)).await;
        let pending_error = ending
            .failure
            .clone()
            .unwrap_or_else(|| Error::closed("the WebSocket"));
        self.fail_pending(&pending_error);
        self.socket.connection_ended();
        let socket = self.socket.clone();
        socket.dispatcher().dispatch(|| {
            if let Some(err) = ending.failure {
                socket.raise_message(&Arc::new(MessageReceivedArgs::failed(err)));
            }
            socket.raise_closed(&Arc::new(ClosedArgs {
                code: ending.code,
                reason: c_text(&ending.reason),
            }));
        });
    }

    fn fail_pending(&mut self, err: &Error) {
        for (op, _, _) in self.unflushed.drain(..) {
            op.complete(Err(err.clone()));
        }
        for op in self.flushes.drain(..) {
            op.complete(Err(err.clone()));
        }
        for cmd in self.commands.close_and_drain() {
            match cmd {
                Command::Send { op, .. } => {
                    op.complete(Err(err.clone()));
                }
                Command::Flush(op) => {
                    op.complete(Err(err.clone()));
                }
                Command::Close(_) => {}
            }
        }
    }

    fn ws(&mut self) -> Pin<&mut Ws> {
        Pin::new(&mut self.ws)
    }

    /// Starts our side of the close handshake (at most once).
    fn send_close(&mut self, frame: Option<CloseFrame>) -> std::result::Result<(), WsError> {
        if self.close_deadline.is_some() {
            return Ok(());
        }
        self.close_deadline = Some(Box::pin(tokio::time::sleep(CLOSE_TIMEOUT)));
        self.need_flush = true;
        self.queued += frame_len(frame.as_ref().map_or(0, |f| 2 + f.reason.len()));
        self.ws().start_send(Message::Close(frame))
    }

    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Ending> {
        loop {
            let mut progress = false;
            let mut read_pending = false;

            // 1. Move queued commands into the WebSocket's write buffer.
            while self.commands_open && self.close_deadline.is_none() && self.peer_close.is_none() {
                match self.ws().poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(self.io_ending(e)),
                    Poll::Pending => break,
                }
                let cmd = match self.commands.poll_recv(cx) {
                    Poll::Ready(Some(cmd)) => cmd,
                    Poll::Ready(None) => {
                        self.commands_open = false;
                        break;
                    }
                    Poll::Pending => break,
                };
                progress = true;
                let sent = match cmd {
                    Command::Send { data, kind, op } => {
                        if op.is_canceled() {
                            continue;
                        }
                        let len = data.len() as u32;
                        let msg = match kind {
                            SocketMessageType::Binary => Message::Binary(data),
                            SocketMessageType::Utf8 => match data.try_into() {
                                Ok(text) => Message::Text(text),
                                Err(_) => {
                                    op.complete(Err(Error::new(
                                        RTWS_E_NO_UNICODE_TRANSLATION,
                                        "MessageType is Utf8 but the stored bytes are not valid UTF-8",
                                    )));
                                    continue;
                                }
                            },
                        };
                        self.queued += frame_len(len as usize);
                        self.unflushed.push_back((op, len, self.queued));
                        self.unflushed_bytes += len as usize;
                        self.need_flush = true;
                        self.ws().start_send(msg)
                    }
                    Command::Flush(op) => {
                        self.flushes.push(op);
                        self.need_flush = true;
                        Ok(())
                    }
                    Command::Close(frame) => self.send_close(frame),
                };
                if let Err(e) = sent {
                    return Poll::Ready(self.io_ending(e));
                }
            }

            // 2. Read one message and raise its event. After a read failure the read
            //    side is over: only our close frame still has to reach the wire.
            if self.failure.is_some() {
                if !self.need_flush {
                    return Poll::Ready(self.stream_ended());
                }
            } else {
                match self.ws().poll_next(cx) {
                    Poll::Ready(Some(Ok(msg))) => {
                        progress = true;
                        self.reads_since_flush += 1;
                        self.on_message(msg);
                    }
                    Poll::Ready(Some(Err(e))) => {
                        if let Some(ending) = self.on_read_error(e) {
                            return Poll::Ready(ending);
                        }
                        progress = true;
                    }
                    Poll::Ready(None) => return Poll::Ready(self.stream_ended()),
                    Poll::Pending => read_pending = true,
                }
            }

            // 3. Flush, then report the sends that are now on the wire. While messages
            //    keep arriving, replies queue up and go out in one write when reading
            //    would block (or enough piled up): one syscall for many echoes.
            let batch_full = self.unflushed.len() >= FLUSH_BATCH_MESSAGES
                || self.unflushed_bytes >= FLUSH_BATCH_BYTES
                || self.reads_since_flush >= FLUSH_BATCH_MESSAGES;
            let closing = self.failure.is_some() || self.peer_close.is_some();
            if self.need_flush && (read_pending || batch_full || closing) {
                self.reads_since_flush = 0;
                match self.ws().poll_flush(cx) {
                    Poll::Ready(Ok(())) => {
                        progress = true;
                        self.need_flush = false;
                        self.unflushed_bytes = 0;
                        for (op, len, _) in self.unflushed.drain(..) {
                            op.complete(Ok(len));
                        }
                        for op in self.flushes.drain(..) {
                            op.complete(Ok(true));
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(self.io_ending(e)),
                    Poll::Pending => {}
                }
            }

            // The peer closed and our reply (tungstenite's echo of its frame) is on the
            // wire: the close handshake is over, whether or not the server ever
            // closes TCP (RFC 6455 §7.1.1 lets the client close it).
            if self.peer_close.is_some() && !self.need_flush {
                return Poll::Ready(self.ending(None));
            }

            // Sends whose last byte the kernel has taken are done, whatever follows them.
            let written = self.ws.get_ref().written();
            while self
                .unflushed
                .front()
                .is_some_and(|(_, _, end)| *end <= written)
            {
                let (op, len, _) = self.unflushed.pop_front().expect("front exists");
                self.unflushed_bytes -= len as usize;
                op.complete(Ok(len));
            }

            // 4. Keepalive: an unsolicited pong every interval (RFC 6455 §5.5.3).
            if let Some(timer) = self.pong_timer.as_mut() {
                if timer.poll_tick(cx).is_ready()
                    && self.close_deadline.is_none()
                    && self.peer_close.is_none()
                {
                    self.need_flush = true;
                    progress = true;
                    self.queued += frame_len(0);
                    if let Err(e) = self.ws().start_send(Message::Pong(Bytes::new())) {
                        return Poll::Ready(self.io_ending(e));
                    }
                }
            }

            // 5. Output, or a message half received, that makes no progress for its
            //    timeout fails the connection. A pass that read messages (and ran their
            //    handlers) restarts the clocks: handler time is not network silence.
            if progress {
                self.send_stall.restart();
                self.receive_stall.restart();
            }
            if let Some(ending) = self.poll_stalls(cx) {
                return Poll::Ready(ending);
            }

            if let Some(deadline) = self.close_deadline.as_mut() {
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(self.ending(None));
                }
            }

            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// The send and receive timeouts: output pending, or a message half received,
    /// with no byte moving for the limit.
    fn poll_stalls(&mut self, cx: &mut Context<'_>) -> Option<Ending> {
        let t = self.ws.get_ref();
        let (written, delivered, mid_message) = (t.written(), t.delivered(), t.mid_message());
        let what = if self
            .send_stall
            .poll(cx, self.need_flush, written, self.timing.send)
        {
            (
                "the server accepted no data",
                self.timing.send,
                "SendTimeout",
            )
        } else if self.receive_stall.poll(
            cx,
            mid_message && self.failure.is_none(),
            delivered,
            self.timing.receive,
        ) {
            (
                "a message stopped arriving half way",
                self.timing.receive,
                "ReceiveTimeout",
            )
        } else {
            return None;
        };
        Some(self.lost(Error::new(
            WININET_E_TIMEOUT,
            format!("{} for {} ms ({})", what.0, what.1.as_millis(), what.2),
        )))
    }

    fn on_message(&mut self, msg: Message) {
        let (kind, data) = match msg {
            Message::Text(t) => (SocketMessageType::Utf8, Bytes::from(t)),
            Message::Binary(b) => (SocketMessageType::Binary, b),
            Message::Close(frame) => {
                if self.close_deadline.is_none() {
                    // tungstenite echoes the peer's close frame: flush it, within a limit.
                    self.queued += frame_len(frame.as_ref().map_or(0, |f| 2 + f.reason.len()));
                    self.close_deadline = Some(Box::pin(tokio::time::sleep(CLOSE_TIMEOUT)));
                    self.socket.connection_ended();
                }
                self.need_flush = true;
                self.peer_close = Some(match frame {
                    Some(f) => (u16::from(f.code), f.reason.as_str().to_owned()),
                    None => (NO_STATUS, String::new()),
                });
                return;
            }
            Message::Ping(payload) => {
                // tungstenite queued a pong with the same payload.
                self.queued += frame_len(payload.len());
                return;
            }
            Message::Pong(_) | Message::Frame(_) => return,
        };
        let args = Arc::new(MessageReceivedArgs::message(kind, data));
        let socket = &self.socket;
        socket.dispatcher().dispatch(|| socket.raise_message(&args));
    }

    /// A read failure: protocol violations get a close frame with the code RFC 6455
    /// names; a lost connection ends at once.
    fn on_read_error(&mut self, e: WsError) -> Option<Ending> {
        let (err, code) = match e {
            WsError::Utf8(detail) => (
                Error::new(
                    E_INVALID_PROTOCOL_FORMAT,
                    format!("the server sent a text message that is not valid UTF-8: {detail}"),
                ),
                CloseCode::Invalid,
            ),
            WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => (
                Error::new(
                    RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE,
                    format!("the server sent a message of {size} bytes, over MaxMessageSize ({max_size})"),
                ),
                CloseCode::Size,
            ),
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                return Some(self.lost(Error::new(
                    WININET_E_CONNECTION_ABORTED,
                    "the server closed the connection without a close frame",
                )))
            }
            WsError::Protocol(p) => (
                Error::new(
                    E_INVALID_PROTOCOL_FORMAT,
                    format!("the server violated the WebSocket protocol: {p}"),
                ),
                CloseCode::Protocol,
            ),
            other => return Some(self.io_ending(other)),
        };
        let code_num = u16::from(code);
        self.failure = Some((err, code_num));
        // tungstenite's read side is finished after an error; send our close frame,
        // flush it, and end without waiting for a reply we could not read.
        let frame = CloseFrame {
            code,
            reason: "".into(),
        };
        if self.close_deadline.is_none() {
            let _ = self.send_close(Some(frame));
        }
        self.close_deadline = Some(Box::pin(tokio::time::sleep(Duration::from_secs(1))));
        self.commands_open = false;
        None
    }

    /// How the connection ends: with the peer's close frame if the close handshake
    /// got that far; else with the failure we sent a close frame for; else 1006,
    /// reporting `cause` (if any) as a last MessageReceived.
    fn ending(&mut self, cause: Option<Error>) -> Ending {
        if let Some((code, reason)) = self.peer_close.take() {
            return Ending {
                code,
                reason,
                failure: None,
            };
        }
        if let Some((err, code)) = self.failure.take() {
            return Ending {
                code,
                reason: String::new(),
                failure: Some(err),
            };
        }
        Ending {
            code: ABNORMAL,
            reason: String::new(),
            failure: cause,
        }
    }

    /// The stream ended: cleanly (close handshake over), after our failure close,
    /// or without any close frame.
    fn stream_ended(&mut self) -> Ending {
        self.ending(Some(Error::new(
            WININET_E_CONNECTION_ABORTED,
            "the connection ended without a close frame",
        )))
    }

    fn lost(&mut self, err: Error) -> Ending {
        self.ending(Some(err))
    }

    fn io_ending(&mut self, e: WsError) -> Ending {
        let err = match e {
            WsError::Io(io) => Error::from_io(&io, "WebSocket connection"),
            WsError::ConnectionClosed | WsError::AlreadyClosed => {
                return self.stream_ended();
            }
            other => Error::new(
                WININET_E_CONNECTION_ABORTED,
                format!("WebSocket connection failed: {other}"),
            ),
        };
        let err = if err.hr == E_FAIL {
            Error::new(WININET_E_CONNECTION_ABORTED, err.message)
        } else {
            err
        };
        self.lost(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback ports where nothing listens (bound, then released).
    fn closed_ports(n: usize) -> Vec<SocketAddr> {
        let listeners: Vec<_> = (0..n)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        listeners.iter().map(|l| l.local_addr().unwrap()).collect()
    }

    #[test]
    fn addresses_are_tried_in_order_at_most_five() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let limit = Duration::from_secs(5);
            // Refused, refused, then the listener: the third address connects.
            let mut addrs = closed_ports(2);
            addrs.push(open.local_addr().unwrap());
            let s = connect_any(addrs, None, limit).await.unwrap();
            assert_eq!(s.peer_addr().unwrap(), open.local_addr().unwrap());
            // Five refusals first: the sixth address is never tried.
            let mut addrs = closed_ports(5);
            addrs.push(open.local_addr().unwrap());
            let e = connect_any(addrs, None, limit).await.unwrap_err();
            assert_eq!(e.hr, WININET_E_CANNOT_CONNECT);
            assert_eq!(MAX_ADDRESSES, 5);
        });
    }
}
