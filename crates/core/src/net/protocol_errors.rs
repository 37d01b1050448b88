//! The HRESULTs of what `rtws-protocol` reports: it has errors of its own, and
//! this is the one place they become the `Error`s the API returns.

use rtws_protocol::frames::{Violation, MESSAGE_TOO_BIG};
use rtws_protocol::handshake::{Invalid, InvalidKind};
use rtws_types::*;

/// A handshake response that does not accept the upgrade.
pub fn invalid_response(e: Invalid) -> Error {
    let hr = match e.kind {
        InvalidKind::Response => WININET_E_INVALID_SERVER_RESPONSE,
        InvalidKind::Extension => E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED,
        InvalidKind::Subprotocol => E_SUBPROTOCOL_NOT_SUPPORTED,
    };
    Error::new(hr, e.message)
}

/// A frame that broke RFC 6455: a message over MaxMessageSize has its own HRESULT.
pub fn violation(v: &Violation) -> Error {
    let hr = match v.code {
        MESSAGE_TOO_BIG => RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE,
        _ => E_INVALID_PROTOCOL_FORMAT,
    };
    Error::new(hr, v.message.clone())
}
