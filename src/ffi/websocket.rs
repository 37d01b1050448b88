//! What the two socket classes share (UWP's IWebSocket, IWebSocketControl and
//! IWebSocketInformation): the bodies of their common members, the registration of
//! every event handler (`add_handler`), and `BandwidthStatistics`.
//!
//! `MessageWebSocket_X` and `StreamWebSocket_X` are separate C symbols, each with its
//! own doc comment (cbindgen reads only real functions, not macro output): each
//! class's file calls the body here with its `core::socket::Socket`, and
//! tests/ffi_layout.rs keeps the two classes' copies of every shared member (doc
//! comment and body) the same up to the class name.
//!
//! Imports: `crate::ffi` (helpers, `handle`, the handle types these members hand
//! out), `rtws_core::winrt::{socket, validation, vector}`, `rtws_types`.

use crate::ffi::async_op::IAsyncAction;
use crate::ffi::certificate::{Certificate, IVectorViewCertificate};
use crate::ffi::dispatcher_queue::DispatcherQueue;
use crate::ffi::handle::Handle;
use crate::ffi::vector::IVectorChainValidationResult;
use crate::ffi::{in_str, out, register_context, EventRegistrationToken, RtwsReleaseContext};
use rtws_core::winrt::socket::{Offer, Socket, DEFAULT_LEVEL};

use rtws_core::winrt::validation::ServerTrust;
use rtws_core::winrt::vector::Vector;
use rtws_types::{ChainValidationResult, SocketSslErrorSeverity};
use rtws_types::{Error, Result, E_POINTER};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// `BandwidthStatistics` (Windows.Networking.Sockets), as in the WinRT ABI.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(non_snake_case)] // the WinRT ABI field names
pub struct BandwidthStatistics {
    pub OutboundBitsPerSecond: u64,
    pub InboundBitsPerSecond: u64,
    pub OutboundBitsPerSecondInstability: u64,
    pub InboundBitsPerSecondInstability: u64,
    pub OutboundBandwidthPeaked: bool,
    pub InboundBandwidthPeaked: bool,
}

/// rtws extension: permessage-deflate (RFC 7692), as the Control offers it and the
/// Information reports what was agreed. Window bits are 8 to 15 (a window of
/// 2^bits bytes).
///
/// - `Enabled`: offer permessage-deflate (Control; default false); it is in use
///   (Information).
/// - `ClientNoContextTakeover`: rtws resets its compressor after every message
///   (less memory kept, less compression).
/// - `ServerNoContextTakeover`: the server is asked to reset its compressor after
///   every message (rtws's decompressor is then reset too).
/// - `ClientMaxWindowBits`: rtws's compressor window; at 15 (the default) the offer
///   lets the server choose a smaller one. A server that asks for 8 gets
///   uncompressed messages (zlib cannot compress with a 256-byte window; the RFC
///   lets any message go uncompressed).
/// - `ServerMaxWindowBits`: below 15 (the default), asked of the server.
/// - `CompressionLevel`: rtws's compressor, 1 (fastest) to 9 (smallest), not negotiated;
///   0 (what a zero-initialized struct has) is rtws's default, 1: on JSON-like text it
///   makes messages ~30 % bigger than level 6 for a fifth of the CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_snake_case)] // WinRT-style member names, as BandwidthStatistics
pub struct PerMessageDeflateOptions {
    pub Enabled: bool,
    pub ClientNoContextTakeover: bool,
    pub ServerNoContextTakeover: bool,
    pub ClientMaxWindowBits: u8,
    pub ServerMaxWindowBits: u8,
    pub CompressionLevel: u8,
}

/// The getters of Control (the offer) and Information (what was agreed): `Enabled`
/// false, with the defaults, when there is none.
pub(crate) fn deflate_options(
    parameters: Option<Offer>,
    value: *mut PerMessageDeflateOptions,
) -> Result<()> {
    let value = out(value, "value")?;
    let o = parameters.unwrap_or_default();
    value.set(PerMessageDeflateOptions {
        Enabled: parameters.is_some(),
        ClientNoContextTakeover: o.client_no_context_takeover,
        ServerNoContextTakeover: o.server_no_context_takeover,
        ClientMaxWindowBits: o.client_max_window_bits,
        ServerMaxWindowBits: o.server_max_window_bits,
        CompressionLevel: o.compression_level,
    })
}

pub(crate) fn set_deflate_offer(socket: &Socket, value: PerMessageDeflateOptions) -> Result<()> {
    socket.set_deflate(value.Enabled.then_some(Offer {
        client_no_context_takeover: value.ClientNoContextTakeover,
        server_no_context_takeover: value.ServerNoContextTakeover,
        client_max_window_bits: value.ClientMaxWindowBits,
        server_max_window_bits: value.ServerMaxWindowBits,
        compression_level: match value.CompressionLevel {
            0 => DEFAULT_LEVEL,
            level => level,
        },
    }))
}

/// A C event handler as the registration sees it: `handler(context, sender, args)`,
/// with `sender` and `args` borrowed for the call. (Each event's own typedef, e.g.
/// `MessageWebSocketClosedHandler`, is this type with named parameters.)
pub(crate) type EventHandler<S, A> = Option<extern "C" fn(*mut c_void, *mut S, *mut A)>;

/// The core's handler for an event whose arguments are `T`.
pub(crate) type CoreHandler<T> = Box<dyn Fn(&Arc<T>) + Send + Sync>;

/// The body of every `add_<Event>` function: checks `token` and `handler`, then
/// calls `register` (the event source's add function, e.g. `Socket::add_closed`)
/// with a core handler that calls `handler(context, sender, args)`, the core's
/// arguments converted to an `A` handle borrowed for the call; stores the token
/// `register` returns in `*token`. `sender` is the C handle the handler gets back.
/// `release` (the `...Ex` functions) frees `context` when the registration ends.
///
/// Which error a call with several bad arguments reports is each caller's, as it
/// was before this function: `add_MessageReceived` looks its socket up inside
/// `register` (a NULL token or handler is reported first), `add_Closed` and
/// `add_ServerCustomValidationRequested` before calling this (a dead handle first).
pub(crate) fn add_handler<S: 'static, A: Handle + 'static>(
    sender: *mut S,
    handler: EventHandler<S, A>,
    context: *mut c_void,
    release: RtwsReleaseContext,
    token: *mut EventRegistrationToken,
    register: impl FnOnce(CoreHandler<A::Target>) -> Result<i64>,
) -> Result<()> {
    let token = out(token, "token")?;
    let handler = handler.ok_or_else(|| Error::new(E_POINTER, "the handler is NULL"))?;
    let sender = sender as usize;
    let value = register_context(context, release, |ctx| {
        register(Box::new(move |args| {
            let args = A::publish(args.clone());
            handler(ctx.get(), sender as *mut S, args);
            let _ = A::release(args);
        }))
    })?;
    token.set(EventRegistrationToken { value })
}

pub(crate) fn connect(
    socket: &Arc<Socket>,
    uri: *const c_char,
    operation: *mut *mut IAsyncAction,
) -> Result<()> {
    let operation = out(operation, "operation")?;
    let uri = in_str(uri, "uri")?;
    crate::ffi::log::install();
    operation.set(IAsyncAction::publish(socket.connect(uri)?))
}

pub(crate) fn set_request_header(
    socket: &Socket,
    name: *const c_char,
    value: *const c_char,
) -> Result<()> {
    let name = in_str(name, "name")?;
    let value = in_str(value, "value")?;
    socket.set_request_header(name, value)
}

pub(crate) fn close_with_status(socket: &Socket, code: u16, reason: *const c_char) -> Result<()> {
    let reason = if reason.is_null() {
        ""
    } else {
        in_str(reason, "reason")?
    };
    socket.close(Some((code, reason)))
}

pub(crate) fn bandwidth_statistics(socket: &Socket, value: *mut BandwidthStatistics) -> Result<()> {
    let value = out(value, "value")?;
    let (inbound, outbound) = socket.bandwidth();
    value.set(BandwidthStatistics {
        OutboundBitsPerSecond: outbound,
        InboundBitsPerSecond: inbound,
        ..BandwidthStatistics::default()
    })
}

pub(crate) fn certificate_error_severity(
    socket: &Socket,
    value: *mut SocketSslErrorSeverity,
) -> Result<()> {
    let value = out(value, "value")?;
    value.set(
        socket
            .server_trust()
            .map_or(SocketSslErrorSeverity::None, |t| t.severity()),
    )
}

/// A read-only copy of the certificate errors (empty without TLS).
pub(crate) fn certificate_error_list(
    trust: Option<&ServerTrust>,
    value: *mut *mut IVectorChainValidationResult,
) -> Result<()> {
    let value = out(value, "value")?;
    let list = Vector::<ChainValidationResult>::new(|_| Ok(()));
    for e in trust.map(|t| t.errors.clone()).unwrap_or_default() {
        list.append(e)?;
    }
    list.freeze("ServerCertificateErrors is a read-only view");
    value.set(IVectorChainValidationResult::new_handle(list))
}

/// The server's certificate, or NULL without TLS (and before connect).
pub(crate) fn server_certificate(
    trust: Option<&ServerTrust>,
    value: *mut *mut Certificate,
) -> Result<()> {
    let value = out(value, "value")?;
    value.set(Certificate::publish_optional(
        trust.and_then(ServerTrust::certificate).cloned(),
    ))
}

/// The certificates after the server's own (an empty list without TLS).
pub(crate) fn intermediate_certificates(
    trust: Option<&ServerTrust>,
    value: *mut *mut IVectorViewCertificate,
) -> Result<()> {
    let value = out(value, "value")?;
    let list = trust
        .map(|t| t.intermediates().to_vec())
        .unwrap_or_default();
    value.set(IVectorViewCertificate::new_handle(list))
}

/// Control.ClientCertificate: a new reference, or NULL when none.
pub(crate) fn client_certificate(socket: &Socket, value: *mut *mut Certificate) -> Result<()> {
    let value = out(value, "value")?;
    value.set(Certificate::publish_optional(socket.client_certificate()))
}

/// Sets (or, with NULL, removes) Control.ClientCertificate.
pub(crate) fn set_client_certificate(socket: &Socket, cert: *mut Certificate) -> Result<()> {
    socket.set_client_certificate(Certificate::get_optional(cert)?)
}

pub(crate) fn put_dispatcher_queue(socket: &Socket, queue: *mut DispatcherQueue) -> Result<()> {
    socket.set_dispatcher_queue(DispatcherQueue::get_optional(queue)?)
}

pub(crate) fn get_dispatcher_queue(
    socket: &Socket,
    value: *mut *mut DispatcherQueue,
) -> Result<()> {
    let value = out(value, "value")?;
    value.set(
        socket
            .dispatcher_queue()
            .map_or(std::ptr::null_mut(), crate::ffi::dispatcher_queue::publish),
    )
}
