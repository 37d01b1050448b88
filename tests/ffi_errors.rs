//! `WebSocketError_GetStatus` against the tables of winrt-reference.md §4: every
//! HTTP value of `WebErrorStatus`, the generic HTTP_E_STATUS codes, the WinINet
//! table, cancellation, and the codes that must map to Unknown. The expected
//! values are spelled out here rather than taken from rtws's own constants.

mod common;

use rtws::ffi::error::WebSocketError_GetStatus;
use rtws_types::WebErrorStatus;

fn status(hresult: u32) -> i32 {
    WebSocketError_GetStatus(hresult as i32) as i32
}

/// Every `WebErrorStatus` value that is an HTTP status code (the UWP enum).
const HTTP_VALUES: [i32; 31] = [
    300, 301, 302, 303, 304, 305, 307, // redirections
    400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416,
    417, // client errors
    500, 501, 502, 503, 504, 505, // server errors
];

#[test]
fn every_http_value_maps_to_itself() {
    for v in HTTP_VALUES {
        assert_eq!(
            status(0x8019_0000 | v as u32),
            v,
            "GetStatus(0x{:08X})",
            0x8019_0000 | v as u32
        );
    }
    // The named HTTP_E_STATUS codes of the reference.
    assert_eq!(status(0x8019_0191), 401, "HTTP_E_STATUS_DENIED");
    assert_eq!(status(0x8019_0194), 404, "HTTP_E_STATUS_NOT_FOUND");
    assert_eq!(status(0x8019_01F4), 500);
}

#[test]
fn http_values_match_the_enum() {
    // The Rust enum rtws returns has exactly these HTTP discriminants.
    use WebErrorStatus::*;
    let named = [
        (MultipleChoices, 300),
        (MovedPermanently, 301),
        (Found, 302),
        (SeeOther, 303),
        (NotModified, 304),
        (UseProxy, 305),
        (TemporaryRedirect, 307),
        (BadRequest, 400),
        (Unauthorized, 401),
        (PaymentRequired, 402),
        (Forbidden, 403),
        (NotFound, 404),
        (MethodNotAllowed, 405),
        (NotAcceptable, 406),
        (ProxyAuthenticationRequired, 407),
        (RequestTimeout, 408),
        (Conflict, 409),
        (Gone, 410),
        (LengthRequired, 411),
        (PreconditionFailed, 412),
        (RequestEntityTooLarge, 413),
        (RequestUriTooLong, 414),
        (UnsupportedMediaType, 415),
        (RequestedRangeNotSatisfiable, 416),
        (ExpectationFailed, 417),
        (InternalServerError, 500),
        (NotImplemented, 501),
        (BadGateway, 502),
        (ServiceUnavailable, 503),
        (GatewayTimeout, 504),
        (HttpVersionNotSupported, 505),
    ];
    assert_eq!(named.len(), HTTP_VALUES.len());
    for ((variant, value), listed) in named.iter().zip(HTTP_VALUES) {
        assert_eq!(*variant as i32, *value);
        assert_eq!(*value, listed);
        assert_eq!(
            WebSocketError_GetStatus(0x8019_0000u32 as i32 | value),
            *variant
        );
    }
}

#[test]
fn generic_http_codes() {
    assert_eq!(
        status(0x8019_0001),
        18,
        "HTTP_E_STATUS_UNEXPECTED → UnexpectedStatusCode"
    );
    assert_eq!(
        status(0x8019_0003),
        19,
        "_REDIRECTION → UnexpectedRedirection"
    );
    assert_eq!(
        status(0x8019_0004),
        20,
        "_CLIENT_ERROR → UnexpectedClientError"
    );
    assert_eq!(
        status(0x8019_0005),
        21,
        "_SERVER_ERROR → UnexpectedServerError"
    );
}

#[test]
fn http_statuses_without_a_value_are_unknown() {
    // Statuses UWP has no WebErrorStatus for (306, 418, …), 1xx/2xx, and codes of
    // the facility that are no status at all.
    for v in [
        0u32, 2, 100, 101, 200, 204, 299, 306, 308, 418, 426, 429, 451, 506, 511, 599, 0xFFFF,
    ] {
        assert_eq!(
            status(0x8019_0000 | v),
            0,
            "GetStatus(0x{:08X})",
            0x8019_0000 | v
        );
    }
}

#[test]
fn wininet_table() {
    // (HRESULT, WININET_E_ name, WebErrorStatus), as in winrt-reference.md §4.
    let table: [(u32, &str, i32); 21] = [
        (0x8007_2EE2, "TIMEOUT", 7),
        (0x8007_2EE7, "NAME_NOT_RESOLVED", 15),
        (0x8007_2EF1, "OPERATION_CANCELLED", 16),
        (0x8007_2EFD, "CANNOT_CONNECT", 14),
        (0x8007_2EFE, "CONNECTION_ABORTED", 9),
        (0x8007_2EFF, "CONNECTION_RESET", 10),
        (0x8007_2F05, "SEC_CERT_DATE_INVALID", 2),
        (0x8007_2F06, "SEC_CERT_CN_INVALID", 1),
        (0x8007_2F07, "HTTP_TO_HTTPS_ON_REDIR", 12),
        (0x8007_2F08, "HTTPS_TO_HTTP_ON_REDIR", 13),
        (0x8007_2F0D, "INVALID_CA", 5),
        (0x8007_2F17, "SEC_CERT_ERRORS", 3),
        (0x8007_2F19, "SEC_CERT_REV_FAILED", 4),
        (0x8007_2F78, "INVALID_SERVER_RESPONSE", 8),
        (0x8007_2F7C, "REDIRECT_FAILED", 17),
        (0x8007_2F7D, "SECURITY_CHANNEL_ERROR", 0),
        (0x8007_2F83, "DISCONNECTED", 11),
        (0x8007_2F84, "SERVER_UNREACHABLE", 6),
        (0x8007_2F89, "SEC_INVALID_CERT", 5),
        (0x8007_2F8A, "SEC_CERT_REVOKED", 4),
        (0x8007_2F8F, "DECODING_FAILED", 0),
    ];
    for (hresult, name, want) in table {
        assert_eq!(status(hresult), want, "WININET_E_{name} (0x{hresult:08X})");
    }
}

#[test]
fn canceled_and_aborted_operations() {
    assert_eq!(
        status(0x8007_04C7),
        16,
        "ERROR_CANCELLED → OperationCanceled"
    );
    assert_eq!(
        status(0x8007_03E3),
        16,
        "ERROR_OPERATION_ABORTED → OperationCanceled"
    );
    assert_eq!(status(0x8007_2EF1), 16, "WININET_E_OPERATION_CANCELLED");
}

#[test]
fn everything_else_is_unknown() {
    let unmatched: [(u32, &str); 20] = [
        (0x0000_0000, "S_OK"),
        (0x0000_0001, "S_FALSE"),
        (0x8000_4001, "E_NOTIMPL"),
        (0x8000_4003, "E_POINTER"),
        (0x8000_4004, "E_ABORT"),
        (0x8000_4005, "E_FAIL"),
        (0x8000_FFFF, "E_UNEXPECTED"),
        (0x8007_000E, "E_OUTOFMEMORY"),
        (0x8007_0057, "E_INVALIDARG"),
        (0x8000_000B, "E_BOUNDS"),
        (0x8000_000D, "E_ILLEGAL_STATE_CHANGE"),
        (0x8000_000E, "E_ILLEGAL_METHOD_CALL"),
        (0x8000_0013, "RO_E_CLOSED"),
        (0x8000_0018, "E_ILLEGAL_DELEGATE_ASSIGNMENT"),
        (0x8007_007A, "E_NOT_SUFFICIENT_BUFFER"),
        (0x8007_05B4, "ERROR_TIMEOUT (a Wait that ran out)"),
        (0x8007_10F0, "ERROR_MESSAGE_EXCEEDS_MAX_SIZE"),
        (0x8376_0002, "E_INVALID_PROTOCOL_FORMAT"),
        (0x8376_0004, "E_SUBPROTOCOL_NOT_SUPPORTED"),
        (0x8007_2EE0, "a WinINet code outside the table"),
    ];
    for (hresult, name) in unmatched {
        assert_eq!(
            status(hresult),
            0,
            "{name} (0x{hresult:08X}) should be Unknown"
        );
    }
    // Success codes and other facilities that share the low 16 bits of an HTTP
    // status must not be taken for one.
    assert_eq!(status(0x0019_0194), 0, "a success code with FACILITY_HTTP");
    assert_eq!(status(0x8018_0194), 0);
    assert_eq!(status(0x801A_0194), 0);
    assert_eq!(status(0xC019_0194), 0, "severity bits other than 0x8");
}

#[test]
fn the_status_of_a_real_handshake_failure() {
    // Through a real connect: the server answers 404, 401 and 503 instead of 101.
    let server = common::TestServer::start();
    for code in [404u16, 401, 503] {
        let ws = common::create_socket();
        let hr = common::connect(ws, &server.url(&format!("/status?code={code}")));
        assert_eq!(
            hr as u32,
            0x8019_0000 | u32::from(code),
            "connect answered by HTTP {code}: {}",
            common::last_error()
        );
        assert_eq!(status(hr as u32), i32::from(code));
        rtws::ffi::message_websocket::MessageWebSocket_Release(ws);
    }
    // Nothing listens on port 1 (privileged, and no service uses it).
    let ws = common::create_socket();
    let hr = common::connect(ws, c"ws://127.0.0.1:1/");
    assert_eq!(
        hr as u32,
        0x8007_2EFD,
        "WININET_E_CANNOT_CONNECT: {}",
        common::last_error()
    );
    assert_eq!(status(hr as u32), 14, "CannotConnect");
    rtws::ffi::message_websocket::MessageWebSocket_Release(ws);
}

#[test]
fn an_unresolvable_host_name() {
    // A 70-character label is refused by the system resolver itself (glibc checks
    // label lengths before it builds a query), so no DNS packet leaves the machine.
    let host = "a".repeat(70);
    let url = std::ffi::CString::new(format!("ws://{host}.invalid:80/")).unwrap();
    let ws = common::create_socket();
    let hr = common::connect(ws, &url);
    assert_eq!(
        hr as u32,
        0x8007_2EE7,
        "WININET_E_NAME_NOT_RESOLVED: {}",
        common::last_error()
    );
    assert_eq!(status(hr as u32), 15, "HostNameNotResolved");
    rtws::ffi::message_websocket::MessageWebSocket_Release(ws);
}
