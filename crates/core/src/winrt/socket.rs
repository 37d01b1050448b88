//! What MessageWebSocket and StreamWebSocket share: the state a socket shares
//! with its connection task, Control settings, Information, connect and close,
//! and the Closed event.

use crate::net::proxy::{self, ProxySetting};
use crate::net::tls::TlsSettings;
use crate::net::traffic::Traffic;
use crate::session::connect::{self, Credential, Target, Timing};
use crate::session::connection::{link, Link};
use crate::session::connection::{Command, Connection, HostReader};
use crate::session::report::{Delivery, Ending, Events};
use crate::winrt::async_op::{AsyncOp, OpHome};
use crate::winrt::certificate::Certificate;
use crate::winrt::credential::PasswordCredential;
use crate::winrt::dispatcher_queue::{Backlog, DispatcherQueue, BACKLOG_BYTES, BACKLOG_EVENTS};
use crate::winrt::events::{Dispatcher, EventSource, HandlerWatch, Token};
use crate::winrt::inbound::Inbound;
use crate::winrt::message_websocket::MessageReceivedArgs;
use crate::winrt::runtime;
use crate::winrt::spare::{self, Spares};
use crate::winrt::validation::{Deferral, ServerTrust, ValidationRequest};
use crate::winrt::vector::{StringVector, Vector};
use bytes::{Bytes, BytesMut};
use once_cell::sync::{Lazy, OnceCell};
use parking_lot::{Mutex, RwLock};
// The permessage-deflate parameters of the Control and Information (the ffi names them).
pub use rtws_protocol::deflate::{Agreed, Offer, DEFAULT_LEVEL};
use rtws_protocol::DataKind;
use rtws_types::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::Context;

thread_local! {
    /// A message's args nobody held on to after its handlers ran (no AddRef'd
    /// handle, no queued event), for this thread's next message (`spare`).
    static SPARE_ARGS: Spares<MessageReceivedArgs> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `WebSocketClosedEventArgs`.
pub struct ClosedArgs {
    pub code: u16,
    pub reason: String,
}

/// Which class a socket is, and where what it receives goes.
pub enum Kind {
    Message,
    Stream(Arc<Inbound>),
}

pub type MessageHandler = Box<dyn Fn(&Arc<MessageReceivedArgs>) + Send + Sync>;
pub type ClosedHandler = Box<dyn Fn(&Arc<ClosedArgs>) + Send + Sync>;
pub type ValidationHandler = Box<dyn Fn(&Arc<ValidationRequest>) + Send + Sync>;

enum State {
    Created,
    Connecting {
        attempt: u64,
        abort: tokio::task::AbortHandle,
    },
    Connected(Link),
    Closed,
}

struct Settings {
    max_message_size: u32,
    no_delay: bool,
    /// rtws extension: offer permessage-deflate with these parameters.
    deflate: Option<Offer>,
    receive_mode: MessageWebSocketReceiveMode,
    send_buffer_size: Option<u32>,
    headers: Vec<(String, String)>,
    timing: Timing,
    server_credential: Option<Arc<PasswordCredential>>,
    proxy_credential: Option<Arc<PasswordCredential>>,
    proxy: ProxySetting,
    /// `wss:` extension: roots trusted besides the system's.
    extra_roots: Vec<openssl::x509::X509>,
    client_certificate: Option<Arc<Certificate>>,
    /// Set while a connect runs or after it succeeded: only MessageType may change.
    frozen: bool,
}

/// The state a socket shares with its connection task and its satellite objects.
pub struct Socket {
    kind: Kind,
    message_type: AtomicU8,
    settings: Mutex<Settings>,
    protocols: Arc<StringVector>,
    ignorable: Arc<Vector<ChainValidationResult>>,
    state: Mutex<State>,
    attempts: AtomicU64,
    protocol: OnceCell<String>,
    /// What permessage-deflate the connect agreed (None inside: not in use).
    deflate_agreed: OnceCell<Option<Agreed>>,
    local_address: OnceCell<String>,
    /// The unsolicited pong interval of the established connection.
    actual_pong: OnceCell<std::time::Duration>,
    traffic: OnceCell<Arc<Traffic>>,
    /// `wss:`: the server's chain and the certificate errors found.
    trust: OnceCell<ServerTrust>,
    output_closed: AtomicBool,
    dispatcher: Dispatcher,
    message_received: EventSource<Arc<MessageReceivedArgs>>,
    closed: EventSource<Arc<ClosedArgs>>,
    validation_requested: EventSource<Arc<ValidationRequest>>,
    /// Names the socket in its queue's work and in the log.
    id: u64,
    me: Weak<Socket>,
    /// The DispatcherQueue its handlers and Completed callbacks run on (None:
    /// inline on the I/O thread) and its handler watch, as its operations carry
    /// them. The queue is set before ConnectAsync only.
    home: RwLock<OpHome>,
    /// `home` has a queue (read without the lock on every event of an unbound socket).
    queue_bound: AtomicBool,
    /// `home` without a queue: what an unbound socket's operations take, lock-free.
    unbound_home: OpHome,
    /// Its events queued and not yet run.
    backlog: Arc<Backlog>,
    watch: Arc<HandlerWatch>,
    /// Reading is paused for the backlog (logged when it changes).
    backlog_full: AtomicBool,
    /// The host released the socket: no handler of it runs any more, so its events
    /// are not queued (a connection still closing would post them for nothing).
    released: AtomicBool,
}

static NEXT_SOCKET: AtomicU64 = AtomicU64::new(1);

const FROZEN: &str = "Control properties (other than MessageType) cannot change after ConnectAsync";

/// The OS default SO_SNDBUF, reported until OutboundBufferSizeInBytes is set.
static DEFAULT_SEND_BUFFER: Lazy<u32> = Lazy::new(|| {
    tokio::net::TcpSocket::new_v4()
        .and_then(|s| s.send_buffer_size())
        .unwrap_or(0)
});

/// A subprotocol is an HTTP token (RFC 6455 §4.1, RFC 7230 §3.2.6).
fn validate_protocol(p: &str) -> Result<()> {
    if is_token(p) {
        Ok(())
    } else {
        Err(Error::invalid_arg(format!(
            "'{p}' is not a valid subprotocol name (an HTTP token)"
        )))
    }
}

/// Success is no error to ignore.
fn validate_ignorable(v: &ChainValidationResult) -> Result<()> {
    if *v == ChainValidationResult::Success {
        Err(Error::invalid_arg(
            "ChainValidationResult_Success is not an error that can be ignored",
        ))
    } else {
        Ok(())
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Headers the opening handshake owns; setting them would break it.
const HANDSHAKE_HEADERS: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "content-length",
    "transfer-encoding",
];

impl Socket {
    pub(crate) fn new(kind: Kind) -> Arc<Self> {
        let id = NEXT_SOCKET.fetch_add(1, Ordering::Relaxed);
        let watch = Arc::new(HandlerWatch::new(id));
        let unbound_home = OpHome::new(None, Some(watch.clone()));
        let socket = Arc::new_cyclic(|me| Socket {
            id,
            me: me.clone(),
            home: RwLock::new(unbound_home.clone()),
            queue_bound: AtomicBool::new(false),
            unbound_home,
            backlog: Arc::default(),
            watch,
            backlog_full: AtomicBool::new(false),
            released: AtomicBool::new(false),
            kind,
            message_type: AtomicU8::new(SocketMessageType::Binary as u8),
            settings: Mutex::new(Settings {
                max_message_size: u32::MAX,
                no_delay: true,
                deflate: None,
                receive_mode: MessageWebSocketReceiveMode::FullMessage,
                send_buffer_size: None,
                headers: Vec::new(),
                timing: Timing::default(),
                server_credential: None,
                proxy_credential: None,
                proxy: ProxySetting::default(),
                extra_roots: Vec::new(),
                client_certificate: None,
                frozen: false,
            }),
            protocols: Arc::new(StringVector::new(|p| validate_protocol(p))),
            ignorable: Arc::new(Vector::new(validate_ignorable)),
            state: Mutex::new(State::Created),
            attempts: AtomicU64::new(0),
            protocol: OnceCell::new(),
            deflate_agreed: OnceCell::new(),
            local_address: OnceCell::new(),
            actual_pong: OnceCell::new(),
            traffic: OnceCell::new(),
            trust: OnceCell::new(),
            output_closed: AtomicBool::new(false),
            dispatcher: Dispatcher::default(),
            message_received: EventSource::default(),
            closed: EventSource::default(),
            validation_requested: EventSource::default(),
        });
        if let Some(inbound) = socket.inbound() {
            inbound.set_home(socket.op_home());
        }
        socket
    }

    /// The queue its handlers run on, if the host bound one.
    pub fn dispatcher_queue(&self) -> Option<Arc<DispatcherQueue>> {
        // The unbound socket's hot path (every message, send and read) skips the lock.
        if !self.queue_bound.load(Ordering::Acquire) {
            return None;
        }
        self.home.read().queue_arc()
    }

    /// Binds the socket to `queue` (None: handlers run inline on I/O threads):
    /// every handler and Completed callback of it and its operations runs there.
    /// Before ConnectAsync only.
    pub fn set_dispatcher_queue(&self, queue: Option<Arc<DispatcherQueue>>) -> Result<()> {
        if queue.as_ref().is_some_and(|q| q.is_shut_down()) {
            return Err(Error::invalid_arg("the DispatcherQueue was released"));
        }
        self.edit_settings(|_| {
            let bound = queue.is_some();
            let home = match queue {
                Some(q) => OpHome::new(Some(q), Some(self.watch.clone())),
                None => self.unbound_home.clone(),
            };
            if let Some(inbound) = self.inbound() {
                inbound.set_home(home.clone());
            }
            *self.home.write() = home;
            self.queue_bound.store(bound, Ordering::Release);
        })
    }

    /// An operation of this socket: its Completed handler runs on the socket's queue.
    pub(crate) fn new_op<T: Clone + Send + 'static>(&self) -> Arc<AsyncOp<T>> {
        AsyncOp::new_in(self.op_home())
    }

    fn op_home(&self) -> OpHome {
        if !self.queue_bound.load(Ordering::Acquire) {
            return self.unbound_home.clone();
        }
        self.home.read().clone()
    }

    /// Raises an event with `args`: now, under the socket's dispatcher, or later
    /// on its queue (counted in the backlog as `bytes`) to the handlers registered
    /// when it runs, as if raised then: a handler added by the ConnectAsync
    /// Completed callback, which runs on the queue too, gets the first messages.
    /// `after` runs once the handlers ran; a queued event discarded unrun drops it
    /// uncalled.
    fn deliver<A: Clone + Send + Sync + 'static>(
        &self,
        event: &'static str,
        source: fn(&Socket) -> &EventSource<A>,
        args: &A,
        bytes: usize,
        after: impl FnOnce() + Send + 'static,
    ) {
        if self.released.load(Ordering::Acquire) {
            return; // `after` dropped uncalled: nobody heard it
        }
        let Some(queue) = self.dispatcher_queue() else {
            // Inline on an I/O thread: the slow-handler watch applies.
            let watch = &self.watch;
            self.dispatcher
                .dispatch(|| watch.run(event, || source(self).raise(args)));
            after();
            return;
        };
        if queue.run_now() {
            // Read on the queue's thread with nothing queued: it runs here, as the
            // item would have.
            self.dispatcher.dispatch(|| source(self).raise(args));
            after();
            return;
        }
        // Only a queued event needs args of its own (a reference count the inline
        // path, every message of an unbound socket, does without).
        let args = args.clone();
        let ticket = self.backlog.ticket(bytes);
        let me = self.me.clone();
        queue.try_enqueue(
            self.id,
            Box::new(move || {
                let _ticket = ticket;
                if let Some(socket) = me.upgrade() {
                    socket.dispatcher.dispatch(|| source(&socket).raise(&args));
                    after();
                }
            }),
        );
    }

    /// The class name, for messages.
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Message => "the MessageWebSocket",
            Kind::Stream(_) => "the StreamWebSocket",
        }
    }

    pub(crate) fn inbound(&self) -> Option<&Arc<Inbound>> {
        match &self.kind {
            Kind::Stream(inbound) => Some(inbound),
            Kind::Message => None,
        }
    }

    fn is_closed(&self) -> bool {
        matches!(*self.state.lock(), State::Closed)
    }

    fn check_not_closed(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::closed(self.name()))
        } else {
            Ok(())
        }
    }

    // ----- Control -------------------------------------------------------------

    fn edit_settings<R>(&self, f: impl FnOnce(&mut Settings) -> R) -> Result<R> {
        self.check_not_closed()?;
        let mut s = self.settings.lock();
        if s.frozen {
            return Err(Error::illegal_call(FROZEN));
        }
        Ok(f(&mut s))
    }

    pub fn message_type(&self) -> SocketMessageType {
        match self.message_type.load(Ordering::Relaxed) {
            0 => SocketMessageType::Binary,
            _ => SocketMessageType::Utf8,
        }
    }
    /// MessageType may change at any time; it applies to the next store.
    pub fn set_message_type(&self, t: SocketMessageType) -> Result<()> {
        self.check_not_closed()?;
        self.message_type.store(t as u8, Ordering::Relaxed);
        Ok(())
    }
    pub fn max_message_size(&self) -> u32 {
        self.settings.lock().max_message_size
    }
    pub fn set_max_message_size(&self, v: u32) -> Result<()> {
        if v == 0 {
            return Err(Error::invalid_arg("MaxMessageSize must be at least 1"));
        }
        self.edit_settings(|s| s.max_message_size = v)
    }
    pub fn receive_mode(&self) -> MessageWebSocketReceiveMode {
        self.settings.lock().receive_mode
    }
    pub fn set_receive_mode(&self, v: MessageWebSocketReceiveMode) -> Result<()> {
        self.edit_settings(|s| s.receive_mode = v)
    }
    /// rtws extension: the permessage-deflate offer (None: not offered, the default).
    pub fn deflate(&self) -> Option<Offer> {
        self.settings.lock().deflate
    }
    pub fn set_deflate(&self, offer: Option<Offer>) -> Result<()> {
        if offer.is_some_and(|o| !o.is_valid()) {
            return Err(Error::invalid_arg(
                "permessage-deflate window bits must be 8 to 15, the compression level 1 to 9",
            ));
        }
        self.edit_settings(|s| s.deflate = offer)
    }
    pub fn no_delay(&self) -> bool {
        self.settings.lock().no_delay
    }
    pub fn set_no_delay(&self, v: bool) -> Result<()> {
        self.edit_settings(|s| s.no_delay = v)
    }
    pub fn outbound_buffer_size(&self) -> u32 {
        self.settings
            .lock()
            .send_buffer_size
            .unwrap_or(*DEFAULT_SEND_BUFFER)
    }
    pub fn set_outbound_buffer_size(&self, v: u32) -> Result<()> {
        if v == 0 || v > i32::MAX as u32 {
            return Err(Error::invalid_arg(
                "OutboundBufferSizeInBytes must be between 1 and 2147483647",
            ));
        }
        self.edit_settings(|s| s.send_buffer_size = Some(v))
    }
    pub fn timing(&self) -> Timing {
        self.settings.lock().timing
    }
    /// Changes one timing setting (before ConnectAsync only).
    pub fn set_timing(&self, f: impl FnOnce(&mut Timing)) -> Result<()> {
        self.edit_settings(|s| f(&mut s.timing))
    }
    pub fn proxy_credential(&self) -> Option<Arc<PasswordCredential>> {
        self.settings.lock().proxy_credential.clone()
    }
    pub fn set_proxy_credential(&self, c: Option<Arc<PasswordCredential>>) -> Result<()> {
        self.edit_settings(|s| s.proxy_credential = c)
    }
    /// The proxy extension: `None` uses the environment, `Some("")` none at all,
    /// `Some(uri)` that proxy (checked now).
    pub fn set_proxy(&self, uri: Option<&str>) -> Result<()> {
        let setting = match uri {
            None => ProxySetting::Environment,
            Some("") => ProxySetting::Direct,
            Some(uri) => {
                proxy::parse_proxy_uri(uri)?;
                ProxySetting::Uri(uri.to_owned())
            }
        };
        self.edit_settings(|s| s.proxy = setting)
    }
    pub fn server_credential(&self) -> Option<Arc<PasswordCredential>> {
        self.settings.lock().server_credential.clone()
    }
    pub fn set_server_credential(&self, c: Option<Arc<PasswordCredential>>) -> Result<()> {
        self.edit_settings(|s| s.server_credential = c)
    }
    pub fn actual_pong_interval(&self) -> std::time::Duration {
        self.actual_pong.get().copied().unwrap_or_default()
    }
    pub fn supported_protocols(&self) -> Arc<StringVector> {
        self.protocols.clone()
    }
    pub fn ignorable_server_certificate_errors(&self) -> Arc<Vector<ChainValidationResult>> {
        self.ignorable.clone()
    }
    /// The trusted-roots extension: PEM certificates trusted (for `wss:`) besides
    /// the system's; replaces earlier ones; "" trusts the system's alone again.
    pub fn set_trusted_roots_pem(&self, pem: &str) -> Result<()> {
        let roots = if pem.is_empty() {
            Vec::new()
        } else {
            crate::net::tls::parse_roots(pem)?
        };
        self.edit_settings(|s| s.extra_roots = roots)
    }
    /// Control.ClientCertificate (one with its private key); None removes it.
    pub fn set_client_certificate(&self, cert: Option<Arc<Certificate>>) -> Result<()> {
        if cert.as_ref().is_some_and(|c| !c.has_private_key()) {
            return Err(Error::invalid_arg(
                "a client certificate needs its private key (create it from PKCS#12 or PEM with the key)",
            ));
        }
        self.edit_settings(|s| s.client_certificate = cert)
    }
    pub fn client_certificate(&self) -> Option<Arc<Certificate>> {
        self.settings.lock().client_certificate.clone()
    }
    /// `wss:`, once connected: the server's chain (leaf first) and errors.
    pub fn server_trust(&self) -> Option<&ServerTrust> {
        self.trust.get()
    }

    pub fn set_request_header(&self, name: &str, value: &str) -> Result<()> {
        if !is_token(name) {
            return Err(Error::invalid_arg(format!(
                "'{name}' is not a valid HTTP header name"
            )));
        }
        if HANDSHAKE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Error::invalid_arg(format!(
                "the '{name}' header belongs to the WebSocket handshake and cannot be set \
                 (use SupportedProtocols for Sec-WebSocket-Protocol)"
            )));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return Err(Error::invalid_arg(
                "a header value must be visible ASCII, spaces or tabs (no CR, LF or other control characters)",
            ));
        }
        self.edit_settings(|s| s.headers.push((name.to_owned(), value.to_owned())))
            .map_err(|e| {
                if e.hr == E_ILLEGAL_METHOD_CALL {
                    Error::illegal_call("SetRequestHeader must be called before ConnectAsync")
                } else {
                    e
                }
            })
    }

    // ----- Information ---------------------------------------------------------

    /// The subprotocol the server chose; empty before connect or when none.
    pub fn protocol(&self) -> &str {
        self.protocol.get().map_or("", String::as_str)
    }
    /// permessage-deflate's parameters in force; None before connect, or when it
    /// was not offered or the server declined.
    pub fn deflate_agreed(&self) -> Option<Agreed> {
        self.deflate_agreed.get().copied().flatten()
    }
    /// The local IP address of the connection; empty before connect.
    pub fn local_address(&self) -> &str {
        self.local_address.get().map_or("", String::as_str)
    }

    /// (inbound, outbound) bits per second measured on the connection (see
    /// `Traffic::rates`); zeros before connect.
    pub fn bandwidth(&self) -> (u64, u64) {
        self.traffic.get().map_or((0, 0), |t| t.rates())
    }

    // ----- Connect and close ---------------------------------------------------

    pub fn connect(self: &Arc<Self>, uri: &str) -> Result<Arc<AsyncOp<()>>> {
        let (uri, host, port, secure) = parse_ws_uri(uri)?;
        let mut state = self.state.lock();
        match *state {
            State::Created => {}
            State::Closed => return Err(Error::closed(self.name())),
            _ => {
                return Err(Error::illegal_call(
                    "ConnectAsync was already called on this socket",
                ))
            }
        }
        let (target, delivery) = {
            let mut s = self.settings.lock();
            // A bad environment proxy fails the call before anything is frozen.
            let proxy = proxy::choose(&s.proxy, &host, secure)?;
            s.frozen = true;
            // Frozen before it is copied, so no Append slips in between unsent.
            self.protocols.freeze(FROZEN);
            self.ignorable.freeze(FROZEN);
            let max = (s.max_message_size != u32::MAX).then_some(u64::from(s.max_message_size));
            let delivery = match (&self.kind, s.receive_mode) {
                (Kind::Stream(inbound), _) => Delivery::Stream(inbound.clone()),
                (Kind::Message, MessageWebSocketReceiveMode::FullMessage) => {
                    Delivery::Messages(max)
                }
                (Kind::Message, MessageWebSocketReceiveMode::PartialMessage) => {
                    Delivery::Pieces(max)
                }
            };
            let target = Target {
                socket: self.id,
                uri,
                host,
                port,
                headers: s.headers.clone(),
                protocols: self.protocols.to_vec(),
                deflate: s.deflate,
                send_buffer_size: s.send_buffer_size,
                no_delay: s.no_delay,
                tls: secure.then(|| TlsSettings {
                    ignorable: self.ignorable.to_vec(),
                    extra_roots: s.extra_roots.clone(),
                    client: s
                        .client_certificate
                        .as_ref()
                        .and_then(|c| c.identity().cloned()),
                }),
                validate: secure.then(|| {
                    let socket = self.clone();
                    let raise: connect::Validate = Arc::new(move |peer| {
                        let request = ValidationRequest::new(peer.into());
                        // Nobody listens: nothing to wait for (a queued raise would make
                        // the connect wait for the host's loop for nothing).
                        if !socket.validation_requested.has_handlers() {
                            return Box::pin(async { true });
                        }
                        // Held until the handlers ran: a queued raise is not a verdict,
                        // and one dropped unrun (the queue stopped, the socket released)
                        // rejects: a pinning handler that never ran accepts nothing.
                        let pending = PendingVerdict {
                            request: request.clone(),
                            deferral: Some(request.get_deferral()),
                            ran: false,
                        };
                        socket.deliver(
                            "ServerCustomValidationRequested",
                            |s| &s.validation_requested,
                            &request,
                            0,
                            move || pending.heard(),
                        );
                        Box::pin(async move { request.accepted().await })
                    });
                    raise
                }),
                timing: s.timing,
                server_credential: s.server_credential.as_deref().map(Credential::from),
                proxy,
                proxy_credential: s.proxy_credential.as_deref().map(Credential::from),
            };
            (target, delivery)
        };
        let op = self.new_op::<()>();
        if secure && self.dispatcher_queue().is_some() && self.validation_requested.has_handlers() {
            op.set_needs_queue();
        }
        let attempt = self.attempts.fetch_add(1, Ordering::Relaxed);
        let (socket, abandoned) = (self.clone(), Abandoned(op.clone()));
        // The task's cell is allocated on this (the host's) thread and freed when the
        // handshake is over: it holds only the arguments, and the handshake's large
        // future is boxed on the worker that polls it, where the connection's own
        // allocations reuse its memory afterwards. (With ~3 KiB cells freed into the
        // host thread's malloc arena instead, that memory stayed in the process,
        // unused: ~1.7 KiB of RSS per open connection.)
        let task = async move {
            Box::pin(connect_task(socket, attempt, target, delivery, abandoned)).await
        };
        let join = match runtime::handle() {
            Ok(h) => h.spawn(task),
            Err(e) => {
                self.unfreeze();
                return Err(e);
            }
        };
        *state = State::Connecting {
            attempt,
            abort: join.abort_handle(),
        };
        drop(state);
        let socket = self.clone();
        op.on_cancel(move || socket.cancel_connect(attempt));
        Ok(op)
    }

    fn unfreeze(&self) {
        self.settings.lock().frozen = false;
        self.protocols.unfreeze();
        self.ignorable.unfreeze();
    }

    /// A failed, canceled or undone connect leaves the socket as it was before
    /// ConnectAsync, so the host can change its settings and try again.
    fn revert_if(&self, applies: impl FnOnce(&State) -> bool) {
        let mut state = self.state.lock();
        if applies(&state) {
            *state = State::Created;
            // Under the state lock: a ConnectAsync racing in must not be unfrozen.
            self.unfreeze();
        }
    }

    fn connect_failed(&self, attempt: u64) {
        self.revert_if(|s| matches!(s, State::Connecting { attempt: a, .. } if *a == attempt));
    }

    /// Canceled after the handshake succeeded but before the operation completed.
    fn undo_connect(&self) {
        self.revert_if(|s| matches!(s, State::Connected(_)));
        // A Close that came in between found the socket connected and left the
        // stream to a connection that will never run.
        if self.is_closed() {
            self.end_input_unconnected();
        } else if let Some(inbound) = self.inbound() {
            inbound.set_connected(false);
        }
    }

    fn cancel_connect(&self, attempt: u64) {
        self.revert_if(|s| match s {
            State::Connecting { attempt: a, abort } if *a == attempt => {
                abort.abort();
                true
            }
            _ => false,
        });
    }

    fn connect_succeeded(&self, attempt: u64, link: Link) -> bool {
        let mut state = self.state.lock();
        if matches!(*state, State::Connecting { attempt: a, .. } if a == attempt) {
            *state = State::Connected(link);
            true
        } else {
            false
        }
    }

    /// The connection is read on its queue's thread (see `Link::read_on_host`).
    fn read_on_host(&self, reader: &HostReader) {
        if let State::Connected(link) = &*self.state.lock() {
            link.read_on_host(reader);
        }
    }

    fn connection_ended(&self) {
        *self.state.lock() = State::Closed;
    }

    /// `Close` (no frame payload) or `CloseWithStatus`.
    pub fn close(&self, status: Option<(u16, &str)>) -> Result<()> {
        let frame = match status {
            None => None,
            Some((code, reason)) => {
                if !(code == 1000 || (3000..=4999).contains(&code)) {
                    return Err(Error::invalid_arg(format!(
                        "close code {code} is not allowed: use 1000 or 3000-4999"
                    )));
                }
                if reason.len() > 123 {
                    return Err(Error::invalid_arg(format!(
                        "the close reason is {} bytes of UTF-8; at most 123 are allowed",
                        reason.len()
                    )));
                }
                Some((code, reason.to_owned()))
            }
        };
        let previous = std::mem::replace(&mut *self.state.lock(), State::Closed);
        let never_connected = match previous {
            State::Connecting { abort, .. } => {
                abort.abort();
                true
            }
            State::Connected(link) => {
                let _ = link.send(Command::Close(frame));
                false
            }
            State::Created => true,
            State::Closed => false,
        };
        if never_connected {
            self.end_input_unconnected();
        }
        Ok(())
    }

    /// A StreamWebSocket closed with no connection to end its input stream: reads
    /// see it closed instead of waiting for ever.
    fn end_input_unconnected(&self) {
        if let Some(inbound) = self.inbound() {
            inbound.finish(Err(Error::closed(self.name())));
        }
    }

    /// Hands a command to the connection: only once connected, and while the
    /// output stream is open.
    pub(crate) fn send(&self, cmd: Command) -> Result<()> {
        if self.output_closed.load(Ordering::Acquire) {
            return Err(Error::closed("the output stream"));
        }
        match &*self.state.lock() {
            State::Connected(link) => link.send(cmd).map_err(|_| Error::closed(self.name())),
            State::Closed => Err(Error::closed(self.name())),
            State::Created | State::Connecting { .. } => Err(Error::illegal_call(
                "the socket is not connected yet: wait for ConnectAsync to complete",
            )),
        }
    }

    // ----- Events --------------------------------------------------------------

    pub fn add_message_received(&self, h: MessageHandler) -> Token {
        self.message_received.add(h)
    }
    pub fn remove_message_received(&self, token: Token) {
        self.message_received.remove(token);
        self.dispatcher.barrier();
    }
    pub fn add_validation_requested(&self, h: ValidationHandler) -> Token {
        self.validation_requested.add(h)
    }
    pub fn remove_validation_requested(&self, token: Token) {
        self.validation_requested.remove(token);
        self.dispatcher.barrier();
    }
    pub fn add_closed(&self, h: ClosedHandler) -> Token {
        self.closed.add(h)
    }
    pub fn remove_closed(&self, token: Token) {
        self.closed.remove(token);
        self.dispatcher.barrier();
    }

    /// The output stream was closed (its DataWriter let go of it): later writes
    /// fail with RO_E_CLOSED.
    pub(crate) fn close_output(&self) {
        self.output_closed.store(true, Ordering::Release);
    }

    /// The host let go of the socket: no handler runs again, and the connection
    /// closes (Close() semantics).
    pub fn release(&self) {
        self.released.store(true, Ordering::Release);
        self.clear_handlers();
        // Its queued events go unrun (the Completed callbacks of its operations,
        // which live on their own, stay).
        if let Some(queue) = self.dispatcher_queue() {
            queue.remove_reader(self.id);
            queue.purge(self.id);
        }
        self.dispatcher.barrier();
        // Again: the handler waited for may have added one meanwhile.
        self.clear_handlers();
        let _ = self.close(None);
    }

    fn clear_handlers(&self) {
        self.message_received.clear();
        self.closed.clear();
        self.validation_requested.clear();
    }
}

/// The connection task reports here; handlers run under the socket's dispatcher.
impl Events for Socket {
    fn message(&self, kind: DataKind, data: Bytes, complete: bool) -> Option<BytesMut> {
        let len = data.len();
        // Only a bound socket needs a home for the args' streams (the clones cost).
        let home = self
            .queue_bound
            .load(Ordering::Acquire)
            .then(|| self.op_home());
        let fresh = MessageReceivedArgs::message(kind, data, complete).with_home(home);
        let args = spare::make(&SPARE_ARGS, fresh);
        self.deliver(
            "MessageReceived",
            |s| &s.message_received,
            &args,
            len,
            || {},
        );
        // Args a handler kept (or a queued event holds) are not kept here: their
        // message's buffer goes when they do.
        let mut buffer = None;
        spare::keep(&SPARE_ARGS, args, |a| {
            buffer = a.reclaim();
            true
        });
        buffer
    }

    fn poll_room(&self, cx: &mut Context<'_>) -> bool {
        if !self.queue_bound.load(Ordering::Acquire) {
            return true;
        }
        let room = self.backlog.poll_room(cx);
        if room == self.backlog_full.swap(!room, Ordering::Relaxed) {
            if room {
                log::debug!(target: "rtws::queue", "socket {}: reading again", self.id);
            } else {
                log::info!(
                    target: "rtws::queue",
                    "socket {}: its DispatcherQueue holds {} events or {} bytes not yet run: \
                     reading paused until the host runs them",
                    self.id,
                    BACKLOG_EVENTS,
                    BACKLOG_BYTES
                );
            }
        }
        room
    }

    fn closing(&self) {
        self.connection_ended();
    }

    fn ended(&self, ending: Ending) {
        // A StreamWebSocket reports a failure through its input stream instead.
        let failure = ending
            .failure
            .filter(|_| matches!(self.kind, Kind::Message));
        if let Some(err) = failure {
            let args = Arc::new(MessageReceivedArgs::failed(err));
            self.deliver("MessageReceived", |s| &s.message_received, &args, 0, || {});
        }
        let args = Arc::new(ClosedArgs {
            code: ending.code,
            reason: ending.reason,
        });
        self.deliver("Closed", |s| &s.closed, &args, 0, || {});
    }
}

/// A raised ServerCustomValidationRequested whose handlers have not run yet: the
/// connect waits for its deferral; dropped, it completes it, rejecting the server
/// unless the handlers ran.
struct PendingVerdict {
    request: Arc<ValidationRequest>,
    deferral: Option<Arc<Deferral>>,
    ran: bool,
}

impl PendingVerdict {
    /// The handlers ran: their verdict (Reject, deferrals) stands.
    fn heard(mut self) {
        self.ran = true;
    }
}

impl Drop for PendingVerdict {
    fn drop(&mut self) {
        if !self.ran {
            self.request.reject();
        }
        drop(self.deferral.take());
    }
}

/// Finishes a connect operation that its task never got to finish: the task was
/// dropped (aborted by Close before or while it ran, or by runtime shutdown).
/// Created before the task is spawned, so even a task aborted before its first
/// poll reports it.
struct Abandoned(Arc<AsyncOp<()>>);

impl Drop for Abandoned {
    fn drop(&mut self) {
        self.0.complete(Err(Error::new(
            RTWS_E_OPERATION_ABORTED,
            "ConnectAsync was aborted: the socket was closed (or rtws shut down)",
        )));
    }
}

async fn connect_task(
    socket: Arc<Socket>,
    attempt: u64,
    target: Target,
    delivery: Delivery,
    abandoned: Abandoned,
) {
    let op = abandoned.0.clone();
    let timing = target.timing;
    match connect::establish(target).await {
        Err(e) => {
            socket.connect_failed(attempt);
            op.complete(Err(e));
        }
        Ok(est) => {
            let (link, rx, slot) = link(est.traffic.clone());
            if !socket.connect_succeeded(attempt, link) {
                return; // closed or canceled meanwhile: `abandoned` reports it
            }
            if let Some(inbound) = socket.inbound() {
                // Before the operation completes: its handler may start reading.
                inbound.set_connected(true);
            }
            let _ = socket.protocol.set(est.protocol);
            let _ = socket.deflate_agreed.set(est.deflate);
            let _ = socket.local_address.set(est.local_address);
            let _ = socket.actual_pong.set(timing.pong_interval);
            let _ = socket.traffic.set(est.traffic.clone());
            if let Some(peer) = est.trust {
                let _ = socket.trust.set(peer.into());
            }
            let id = socket.id;
            let mut wire = est.wire;
            // A MessageWebSocket bound to a queue is read and written on the queue's
            // thread when it can be (plain TCP): out of tokio's reactor, so no I/O
            // thread wakes for its arrivals. Not a StreamWebSocket: its reads finish
            // without the queue (only their Completed runs there). Before the connect
            // completes: the RunPending that runs its Completed takes the socket's
            // first report (room to write), so the descriptor is not left readable.
            let fd = wire
                .plain_fd()
                .filter(|_| !matches!(delivery, Delivery::Stream(_)));
            let queue = socket.dispatcher_queue().zip(fd);
            let reader = queue.as_ref().and_then(|(queue, fd)| {
                let reader = HostReader::new(&slot, queue.key())?;
                if !queue.add_reader(id, *fd, reader.clone()) {
                    return None;
                }
                if !wire.leave_reactor() {
                    // tokio kept it (or lost it: the connection then fails at once).
                    queue.remove_reader(id);
                    return None;
                }
                socket.read_on_host(&reader);
                Some(reader)
            });
            let completed = socket.dispatcher.dispatch(|| op.complete(Ok(())));
            drop(abandoned);
            if !completed {
                // Canceled after the handshake succeeded: leave the socket as a cancel
                // a moment earlier would have (the new connection is dropped here).
                if let Some((queue, _)) = queue.filter(|_| reader.is_some()) {
                    queue.remove_reader(id);
                }
                socket.undo_connect();
                return;
            }
            // A task of its own: this one is sized for the handshake's futures
            // (~5 KiB), the connection needs a fraction of that for its lifetime.
            let mut conn =
                Connection::new(id, socket.clone(), wire, delivery, rx, timing, est.deflate);
            if let (Some(reader), Some(queue)) = (&reader, socket.dispatcher_queue()) {
                let queue = Arc::downgrade(&queue);
                conn = conn.read_on_host(reader, move || {
                    if let Some(queue) = queue.upgrade() {
                        queue.remove_reader(id);
                    }
                });
            }
            tokio::spawn(conn.run(slot));
        }
    }
}

/// Checks a ConnectAsync URI: absolute `ws:` or `wss:` (any case), with a valid
/// host, no userinfo, no fragment (see `core::uri` for the parsing). Returns the
/// URI normalized for the request line and Host header, the host (IPv6 without
/// brackets, a domain name lower-case and in punycode), the port and whether it is `wss:`.
pub fn parse_ws_uri(uri: &str) -> Result<(http::Uri, String, u16, bool)> {
    let bad = |why: &str| Error::invalid_arg(format!("invalid WebSocket URI '{uri}': {why}"));
    let parsed = crate::net::uri::parse(uri, "WebSocket URI", &["ws", "wss"])?;
    let url = &parsed.url;
    // `uri::parse` let only these two through, lower-cased.
    let secure = url.scheme() == "wss";
    let default_port = if secure { 443 } else { 80 };
    if url.fragment().is_some() {
        return Err(bad("a WebSocket URI cannot have a fragment"));
    }
    // Refused rather than sent as Basic authorization: UWP's way to a server's
    // credential is Control.ServerCredential, and a URI's userinfo is easily logged.
    if parsed.has_userinfo() {
        return Err(bad(
            "user information ('user:password@') is not supported in a WebSocket URI; \
             set Control.ServerCredential instead",
        ));
    }
    let host = crate::net::uri::host(url).ok_or_else(|| bad("it has no host"))?;
    let port = url.port().unwrap_or(default_port);
    if port == 0 {
        return Err(bad("port 0 is not a valid destination"));
    }
    // The normalized form: lower-case scheme and host, "/" for an empty path,
    // UTF-8 percent-encoded, no default port (`handshake::request` takes the request
    // line and the Host header from it).
    let normalized = url
        .as_str()
        .parse::<http::Uri>()
        .map_err(|e| bad(&e.to_string()))?;
    Ok((normalized, host, port, secure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_checks() {
        assert!(parse_ws_uri("ws://127.0.0.1:80/x?y").is_ok());
        assert_eq!(parse_ws_uri("ws://[::1]:9/").unwrap().1, "::1");
        assert_eq!(parse_ws_uri("http://a/").unwrap_err().hr, E_INVALIDARG);
        assert_eq!(parse_ws_uri("ws://a/#f").unwrap_err().hr, E_INVALIDARG);
        assert_eq!(parse_ws_uri("/relative").unwrap_err().hr, E_INVALIDARG);
        assert_eq!(parse_ws_uri("").unwrap_err().hr, E_INVALIDARG);
        assert_eq!(parse_ws_uri("ws://a:99999/").unwrap_err().hr, E_INVALIDARG);
        assert_eq!(parse_ws_uri("ws://a:b/").unwrap_err().hr, E_INVALIDARG);
        assert_eq!(parse_ws_uri("wss://a/").unwrap().2, 443);
        assert!(parse_ws_uri("WSS://a:8443/").unwrap().3);
    }

    /// The upgrade request rtws builds (`handshake::request`) from a URI
    /// parse_ws_uri accepted: its request-target and Host header.
    fn request_of(uri: &str) -> (String, String) {
        let uri = parse_ws_uri(uri).unwrap().0;
        let bytes = rtws_protocol::handshake::request(&uri, &[], &[], None, None).bytes;
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = text.lines();
        let target = lines.next().unwrap().split(' ').nth(1).unwrap().to_owned();
        let host = lines
            .find_map(|l| l.strip_prefix("Host: "))
            .unwrap()
            .to_owned();
        (target, host)
    }

    fn refused(uri: &str) -> String {
        match parse_ws_uri(uri) {
            Ok(parsed) => panic!("{uri:?} was accepted as {:?}", parsed.0),
            Err(e) => {
                assert_eq!(e.hr, E_INVALIDARG, "{uri:?}: {e:?}");
                e.message.into_owned()
            }
        }
    }

    #[test]
    fn uris_are_normalized() {
        // An empty path is "/", also before a query.
        assert_eq!(request_of("ws://h:9?x=1").0, "/?x=1");
        assert_eq!(request_of("ws://h:9").0, "/");
        assert_eq!(request_of("ws://h/a/b?c=d&e").0, "/a/b?c=d&e");
        // Schemes are case-insensitive; the normalized URI has the lower-case one.
        let (uri, host, port, secure) = parse_ws_uri("WS://Example.COM:8080/X").unwrap();
        assert_eq!(uri.scheme_str(), Some("ws"));
        assert_eq!((host.as_str(), port, secure), ("example.com", 8080, false));
        assert_eq!(
            request_of("WS://Example.COM:8080/X"),
            ("/X".into(), "example.com:8080".into())
        );
        assert_eq!(
            parse_ws_uri("Wss://h/").unwrap().0.scheme_str(),
            Some("wss")
        );
        // Non-ASCII is percent-encoded (UTF-8) in the path and the query.
        assert_eq!(request_of("ws://h/caf\u{e9}").0, "/caf%C3%A9");
        assert_eq!(request_of("ws://h/a b?q=\u{e9} x").0, "/a%20b?q=%C3%A9%20x");
        // What WHATWG leaves raw, the request line takes as is.
        assert_eq!(
            request_of("ws://h/a|b[c]^`{}\"<>?q={}|^`[]\"<>'").0,
            "/a|b[c]^%60%7B%7D%22%3C%3E?q={}|^`[]%22%3C%3E%27"
        );
        // Dot segments are resolved.
        assert_eq!(request_of("ws://h/a/./b/../c").0, "/a/c");
        // Percent-escapes already there are kept as they are.
        assert_eq!(request_of("ws://h/%41%2F?%26").0, "/%41%2F?%26");
        // An international host name goes out as its ASCII (punycode) form.
        let (_, host, _, _) = parse_ws_uri("ws://b\u{fc}cher.example/").unwrap();
        assert_eq!(host, "xn--bcher-kva.example");
        assert_eq!(
            request_of("ws://b\u{fc}cher.example/").1,
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn host_headers() {
        assert_eq!(request_of("ws://[::1]:9/").1, "[::1]:9");
        assert_eq!(parse_ws_uri("ws://[0:0::1]:9/").unwrap().1, "::1");
        assert_eq!(request_of("ws://127.0.0.1:9/").1, "127.0.0.1:9");
        // The default port is left out of Host (RFC 6455 4.1), but still used.
        assert_eq!(request_of("ws://h:80/").1, "h");
        assert_eq!(request_of("wss://h:443/").1, "h");
        assert_eq!(parse_ws_uri("ws://h:80/").unwrap().2, 80);
        assert_eq!(request_of("wss://h:80/").1, "h:80");
        assert_eq!(parse_ws_uri("wss://h:80/").unwrap().2, 80);
    }

    #[test]
    fn malformed_hosts_are_refused() {
        for uri in [
            "ws://[not-ip]:80/",
            "ws://[::1/",
            "ws://[1::2::3]/",
            "ws://a b/",
            "ws://a<b/",
            "ws://a%20b/",
            "ws:///path",
            "ws://:80/",
        ] {
            refused(uri);
        }
        let message = refused("ws://[not-ip]:80/");
        assert!(
            message.contains("'ws://[not-ip]:80/'") && message.contains("IPv6"),
            "{message}"
        );
    }

    #[test]
    fn userinfo_is_refused_not_dropped() {
        for uri in [
            "ws://u:p@127.0.0.1/",
            "ws://u@h/",
            "ws://:p@h/",
            "wss://@h/",
        ] {
            let message = refused(uri);
            assert!(message.contains("ServerCredential"), "{uri}: {message}");
        }
        // An '@' after the authority is an ordinary character.
        assert_eq!(request_of("ws://h/a@b?c@d").0, "/a@b?c@d");
    }

    #[test]
    fn silent_rewrites_are_refused() {
        // What the WHATWG parser would otherwise drop or rewrite without a word.
        for uri in [
            "ws://a/#",
            "ws://exa\tmple.com/",
            "ws://h/a\nb",
            " ws://h/",
            "ws://h/ ",
            "ws://h\\path",
            "ws:h/",
            "ws:/h/",
        ] {
            refused(uri);
        }
    }
}
