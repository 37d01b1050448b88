//! Target `uri`: the URIs rtws is given, parsed without any network use:
//! ConnectAsync's (`core::socket::parse_ws_uri`, what ConnectAsync runs before
//! anything else) and the proxy's (`MessageWebSocketControl_put_ProxyUri`,
//! through the C ABI).
//!
//! Input: `[which]` then the URI's bytes (NUL ends a C string). Properties:
//! nothing panics; a refusal is `E_INVALIDARG` with a message; an accepted
//! WebSocket URI has a host and a port other than 0, and its normalized form is
//! accepted again as itself (normalizing is idempotent), with the same host,
//! port and scheme.

use super::input::Input;
use super::{check_hr, set_sentinel_error};
use rtws::ffi::message_websocket::*;
use rtws_core::winrt::socket::parse_ws_uri;
use rtws_types::E_INVALIDARG;
use std::ffi::CString;

pub fn run(data: &[u8]) -> bool {
    let mut input = Input::new(data);
    let proxy = input.u8() % 4 == 0;
    let text = input.until_nul();
    if proxy {
        return proxy_uri(text);
    }
    let Ok(text) = std::str::from_utf8(text) else {
        return false; // the C layer refuses non-UTF-8 before parsing
    };
    match parse_ws_uri(text) {
        Err(e) => {
            assert_eq!(e.hr, E_INVALIDARG, "{text:?}: {}", e.message);
            assert!(!e.message.is_empty());
            false
        }
        Ok((normalized, host, port, secure)) => {
            assert!(!host.is_empty(), "{text:?}: no host");
            assert_ne!(port, 0, "{text:?}");
            let again = normalized.to_string();
            let (twice, host2, port2, secure2) = parse_ws_uri(&again)
                .unwrap_or_else(|e| panic!("{text:?} -> {again:?} refused: {}", e.message));
            assert_eq!(twice, normalized, "{text:?}: normalizing twice changed it");
            assert_eq!((host2, port2, secure2), (host, port, secure), "{text:?}");
            true
        }
    }
}

/// `put_ProxyUri` on a fresh socket: S_OK, or E_INVALIDARG with a message.
fn proxy_uri(text: &[u8]) -> bool {
    let mut ws = std::ptr::null_mut();
    assert_eq!(MessageWebSocket_Create(&mut ws), 0);
    let mut control = std::ptr::null_mut();
    assert_eq!(MessageWebSocket_get_Control(ws, &mut control), 0);
    let uri = CString::new(text).expect("until_nul stops at a NUL");
    set_sentinel_error();
    let hr = MessageWebSocketControl_put_ProxyUri(control, uri.as_ptr());
    check_hr("put_ProxyUri", 0, hr);
    assert!(
        hr == 0 || hr == E_INVALIDARG,
        "put_ProxyUri: 0x{:08X}",
        hr as u32
    );
    MessageWebSocketControl_Release(control);
    MessageWebSocket_Release(ws);
    hr == 0
}
