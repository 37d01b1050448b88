//! The bodies of the members both socket classes have (UWP's IWebSocket,
//! IWebSocketControl and IWebSocketInformation): `MessageWebSocket_X` and
//! `StreamWebSocket_X` are separate C symbols (and separately documented), and
//! both call the function here with their `core::socket::Socket`.

use crate::ffi::async_op::IAsyncAction;
use crate::ffi::certificate::{
    Certificate, IVectorViewCertificate, WebSocketServerCustomValidationRequestedEventArgs,
};
use crate::ffi::handle::Handle;
use crate::ffi::message_websocket::WebSocketClosedEventArgs;
use crate::ffi::vector::IVectorChainValidationResult;
use crate::ffi::{in_str, out, Context, EventRegistrationToken};
use rtws_core::winrt::socket::Socket;
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

pub(crate) fn handler_missing() -> Error {
    Error::new(E_POINTER, "the handler is NULL")
}

/// Passes a core event argument to a C handler as a handle borrowed for the call.
pub(crate) fn with_borrowed<H: Handle>(args: &Arc<H::Target>, f: impl FnOnce(*mut H)) {
    let handle = H::publish(args.clone());
    f(handle);
    let _ = H::release(handle);
}

pub(crate) fn connect(
    socket: &Arc<Socket>,
    uri: *const c_char,
    operation: *mut *mut IAsyncAction,
) -> Result<()> {
    let operation = out(operation, "operation")?;
    let uri = in_str(uri, "uri")?;
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

/// `sender` is the C handle the handler gets back (borrowed for the call).
pub(crate) fn add_closed<S: 'static>(
    socket: &Socket,
    sender: *mut S,
    handler: Option<extern "C" fn(*mut c_void, *mut S, *mut WebSocketClosedEventArgs)>,
    context: *mut c_void,
    token: *mut EventRegistrationToken,
) -> Result<()> {
    let token = out(token, "token")?;
    let handler = handler.ok_or_else(handler_missing)?;
    let sender = sender as usize;
    let ctx = Context(context);
    let value = socket.add_closed(Box::new(move |args| {
        let ctx = ctx;
        with_borrowed(args, |a| handler(ctx.0, sender as *mut S, a));
    }));
    token.set(EventRegistrationToken { value })
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

/// `sender` is the C handle the handler gets back (borrowed for the call).
pub(crate) fn add_validation_requested<S: 'static>(
    socket: &Socket,
    sender: *mut S,
    handler: Option<
        extern "C" fn(*mut c_void, *mut S, *mut WebSocketServerCustomValidationRequestedEventArgs),
    >,
    context: *mut c_void,
    token: *mut EventRegistrationToken,
) -> Result<()> {
    let token = out(token, "token")?;
    let handler = handler.ok_or_else(handler_missing)?;
    let sender = sender as usize;
    let ctx = Context(context);
    let value = socket.add_validation_requested(Box::new(move |args| {
        let ctx = ctx;
        with_borrowed(args, |a| handler(ctx.0, sender as *mut S, a));
    }));
    token.set(EventRegistrationToken { value })
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
