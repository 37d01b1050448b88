//! HRESULTs, `WebErrorStatus`, and the one error type the core returns.
//!
//! Values are the Windows ones (winerror.h, the WinRT docs); the mapping from an
//! HRESULT to a `WebErrorStatus` follows `shared/design/winrt-reference.md` §4.

use std::borrow::Cow;
use std::fmt;
use std::io;

pub type HRESULT = i32;

#[cfg(not(rtws_system_hresults))]
pub const S_OK: HRESULT = 0;
/// Success, but nothing was done (a completion source canceled before `_Complete`).
#[cfg(not(rtws_system_hresults))]
pub const S_FALSE: HRESULT = 1;
/// 0x80004001
#[cfg(not(rtws_system_hresults))]
pub const E_NOTIMPL: HRESULT = 0x80004001u32 as HRESULT;
/// 0x80004003
#[cfg(not(rtws_system_hresults))]
pub const E_POINTER: HRESULT = 0x80004003u32 as HRESULT;
/// 0x80004004
#[cfg(not(rtws_system_hresults))]
pub const E_ABORT: HRESULT = 0x80004004u32 as HRESULT;
/// 0x80004005
#[cfg(not(rtws_system_hresults))]
pub const E_FAIL: HRESULT = 0x80004005u32 as HRESULT;
/// 0x8000FFFF
#[cfg(not(rtws_system_hresults))]
pub const E_UNEXPECTED: HRESULT = 0x8000FFFFu32 as HRESULT;
/// 0x8007000E
#[cfg(not(rtws_system_hresults))]
pub const E_OUTOFMEMORY: HRESULT = 0x8007000Eu32 as HRESULT;
/// 0x80070057
#[cfg(not(rtws_system_hresults))]
pub const E_INVALIDARG: HRESULT = 0x80070057u32 as HRESULT;
/// 0x8000000B
#[cfg(not(rtws_system_hresults))]
pub const E_BOUNDS: HRESULT = 0x8000000Bu32 as HRESULT;
/// 0x8000000C
#[cfg(not(rtws_system_hresults))]
pub const E_CHANGED_STATE: HRESULT = 0x8000000Cu32 as HRESULT;
/// 0x8000000D
#[cfg(not(rtws_system_hresults))]
pub const E_ILLEGAL_STATE_CHANGE: HRESULT = 0x8000000Du32 as HRESULT;
/// 0x8000000E
#[cfg(not(rtws_system_hresults))]
pub const E_ILLEGAL_METHOD_CALL: HRESULT = 0x8000000Eu32 as HRESULT;
/// 0x80000013
#[cfg(not(rtws_system_hresults))]
pub const RO_E_CLOSED: HRESULT = 0x80000013u32 as HRESULT;
/// 0x80000018
#[cfg(not(rtws_system_hresults))]
pub const E_ILLEGAL_DELEGATE_ASSIGNMENT: HRESULT = 0x80000018u32 as HRESULT;
/// 0x8007007A
#[cfg(not(rtws_system_hresults))]
pub const E_NOT_SUFFICIENT_BUFFER: HRESULT = 0x8007007Au32 as HRESULT;
/// HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED): I/O aborted by a local Close. (0x800703E3)
pub const RTWS_E_OPERATION_ABORTED: HRESULT = 0x800703E3u32 as HRESULT;
/// HRESULT_FROM_WIN32(ERROR_CANCELLED): the result of a canceled async operation. (0x800704C7)
pub const RTWS_E_CANCELLED: HRESULT = 0x800704C7u32 as HRESULT;
/// HRESULT_FROM_WIN32(ERROR_TIMEOUT): `Wait` gave up before the operation finished. (0x800705B4)
pub const RTWS_E_TIMEOUT: HRESULT = 0x800705B4u32 as HRESULT;
/// HRESULT_FROM_WIN32(ERROR_NO_UNICODE_TRANSLATION): bytes are not valid in the encoding. (0x80070459)
pub const RTWS_E_NO_UNICODE_TRANSLATION: HRESULT = 0x80070459u32 as HRESULT;
/// HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION). (0x800710DD)
pub const RTWS_E_INVALID_OPERATION: HRESULT = 0x800710DDu32 as HRESULT;
/// HRESULT_FROM_WIN32(ERROR_MESSAGE_EXCEEDS_MAX_SIZE): a message over MaxMessageSize. (0x800710F0)
pub const RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE: HRESULT = 0x800710F0u32 as HRESULT;
/// 0x8007139F
#[cfg(not(rtws_system_hresults))]
pub const E_NOT_VALID_STATE: HRESULT = 0x8007139Fu32 as HRESULT;

/// 0x80072EE2
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_TIMEOUT: HRESULT = 0x80072EE2u32 as HRESULT;
/// 0x80072EE7
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_NAME_NOT_RESOLVED: HRESULT = 0x80072EE7u32 as HRESULT;
/// 0x80072EF1
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_OPERATION_CANCELLED: HRESULT = 0x80072EF1u32 as HRESULT;
/// 0x80072EFD
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_CANNOT_CONNECT: HRESULT = 0x80072EFDu32 as HRESULT;
/// 0x80072EFE
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_CONNECTION_ABORTED: HRESULT = 0x80072EFEu32 as HRESULT;
/// 0x80072EFF
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_CONNECTION_RESET: HRESULT = 0x80072EFFu32 as HRESULT;
/// 0x80072F05
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SEC_CERT_DATE_INVALID: HRESULT = 0x80072F05u32 as HRESULT;
/// 0x80072F06
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SEC_CERT_CN_INVALID: HRESULT = 0x80072F06u32 as HRESULT;
/// 0x80072F07
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_HTTP_TO_HTTPS_ON_REDIR: HRESULT = 0x80072F07u32 as HRESULT;
/// 0x80072F08
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_HTTPS_TO_HTTP_ON_REDIR: HRESULT = 0x80072F08u32 as HRESULT;
/// 0x80072F0D
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_INVALID_CA: HRESULT = 0x80072F0Du32 as HRESULT;
/// 0x80072F17
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SEC_CERT_ERRORS: HRESULT = 0x80072F17u32 as HRESULT;
/// 0x80072F19
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SEC_CERT_REV_FAILED: HRESULT = 0x80072F19u32 as HRESULT;
/// 0x80072F78
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_INVALID_SERVER_RESPONSE: HRESULT = 0x80072F78u32 as HRESULT;
/// 0x80072F7C
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_REDIRECT_FAILED: HRESULT = 0x80072F7Cu32 as HRESULT;
/// 0x80072F7D
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SECURITY_CHANNEL_ERROR: HRESULT = 0x80072F7Du32 as HRESULT;
/// 0x80072F83
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_DISCONNECTED: HRESULT = 0x80072F83u32 as HRESULT;
/// 0x80072F84
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SERVER_UNREACHABLE: HRESULT = 0x80072F84u32 as HRESULT;
/// 0x80072F89
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SEC_INVALID_CERT: HRESULT = 0x80072F89u32 as HRESULT;
/// 0x80072F8A
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_SEC_CERT_REVOKED: HRESULT = 0x80072F8Au32 as HRESULT;
/// 0x80072F8F
#[cfg(not(rtws_system_hresults))]
pub const WININET_E_DECODING_FAILED: HRESULT = 0x80072F8Fu32 as HRESULT;

/// FACILITY_HTTP (25): `HTTP_E_STATUS_*` = 0x80190000 | status. (0x80190000)
pub(crate) const HTTP_E_STATUS_BASE: HRESULT = 0x80190000u32 as HRESULT;
/// 0x80190001
#[cfg(not(rtws_system_hresults))]
pub const HTTP_E_STATUS_UNEXPECTED: HRESULT = 0x80190001u32 as HRESULT;
/// 0x80190003
#[cfg(not(rtws_system_hresults))]
pub const HTTP_E_STATUS_UNEXPECTED_REDIRECTION: HRESULT = 0x80190003u32 as HRESULT;
/// 0x80190004
#[cfg(not(rtws_system_hresults))]
pub const HTTP_E_STATUS_UNEXPECTED_CLIENT_ERROR: HRESULT = 0x80190004u32 as HRESULT;
/// 0x80190005
#[cfg(not(rtws_system_hresults))]
pub const HTTP_E_STATUS_UNEXPECTED_SERVER_ERROR: HRESULT = 0x80190005u32 as HRESULT;
/// 0x80190194
#[cfg(not(rtws_system_hresults))]
pub const HTTP_E_STATUS_NOT_FOUND: HRESULT = 0x80190194u32 as HRESULT;
/// 0x80190191
#[cfg(not(rtws_system_hresults))]
pub const HTTP_E_STATUS_DENIED: HRESULT = 0x80190191u32 as HRESULT;

/// WebSocket facility (886). (0x83760001)
#[cfg(not(rtws_system_hresults))]
pub const E_INVALID_PROTOCOL_OPERATION: HRESULT = 0x83760001u32 as HRESULT;
/// 0x83760002
#[cfg(not(rtws_system_hresults))]
pub const E_INVALID_PROTOCOL_FORMAT: HRESULT = 0x83760002u32 as HRESULT;
/// 0x83760003
#[cfg(not(rtws_system_hresults))]
pub const E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED: HRESULT = 0x83760003u32 as HRESULT;
/// 0x83760004
#[cfg(not(rtws_system_hresults))]
pub const E_SUBPROTOCOL_NOT_SUPPORTED: HRESULT = 0x83760004u32 as HRESULT;
/// 0x83760005
#[cfg(not(rtws_system_hresults))]
pub const E_PROTOCOL_VERSION_NOT_SUPPORTED: HRESULT = 0x83760005u32 as HRESULT;

/// The HRESULT of an HTTP status answered instead of `101 Switching Protocols`.
pub fn http_status_hresult(status: u16) -> HRESULT {
    HTTP_E_STATUS_BASE | i32::from(status)
}

/// `Windows.Web.WebErrorStatus`, with the UWP numeric values.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebErrorStatus {
    Unknown = 0,
    CertificateCommonNameIsIncorrect = 1,
    CertificateExpired = 2,
    CertificateContainsErrors = 3,
    CertificateRevoked = 4,
    CertificateIsInvalid = 5,
    ServerUnreachable = 6,
    Timeout = 7,
    ErrorHttpInvalidServerResponse = 8,
    ConnectionAborted = 9,
    ConnectionReset = 10,
    Disconnected = 11,
    HttpToHttpsOnRedirection = 12,
    HttpsToHttpOnRedirection = 13,
    CannotConnect = 14,
    HostNameNotResolved = 15,
    OperationCanceled = 16,
    RedirectFailed = 17,
    UnexpectedStatusCode = 18,
    UnexpectedRedirection = 19,
    UnexpectedClientError = 20,
    UnexpectedServerError = 21,
    InsufficientRangeSupport = 22,
    MissingContentLengthSupport = 23,
    MultipleChoices = 300,
    MovedPermanently = 301,
    Found = 302,
    SeeOther = 303,
    NotModified = 304,
    UseProxy = 305,
    TemporaryRedirect = 307,
    BadRequest = 400,
    Unauthorized = 401,
    PaymentRequired = 402,
    Forbidden = 403,
    NotFound = 404,
    MethodNotAllowed = 405,
    NotAcceptable = 406,
    ProxyAuthenticationRequired = 407,
    RequestTimeout = 408,
    Conflict = 409,
    Gone = 410,
    LengthRequired = 411,
    PreconditionFailed = 412,
    RequestEntityTooLarge = 413,
    RequestUriTooLong = 414,
    UnsupportedMediaType = 415,
    RequestedRangeNotSatisfiable = 416,
    ExpectationFailed = 417,
    InternalServerError = 500,
    NotImplemented = 501,
    BadGateway = 502,
    ServiceUnavailable = 503,
    GatewayTimeout = 504,
    HttpVersionNotSupported = 505,
}

impl WebErrorStatus {
    /// The status whose value is an HTTP status code, if UWP has one for it.
    fn from_http_status(status: u16) -> Option<Self> {
        use WebErrorStatus::*;
        Some(match status {
            300 => MultipleChoices,
            301 => MovedPermanently,
            302 => Found,
            303 => SeeOther,
            304 => NotModified,
            305 => UseProxy,
            307 => TemporaryRedirect,
            400 => BadRequest,
            401 => Unauthorized,
            402 => PaymentRequired,
            403 => Forbidden,
            404 => NotFound,
            405 => MethodNotAllowed,
            406 => NotAcceptable,
            407 => ProxyAuthenticationRequired,
            408 => RequestTimeout,
            409 => Conflict,
            410 => Gone,
            411 => LengthRequired,
            412 => PreconditionFailed,
            413 => RequestEntityTooLarge,
            414 => RequestUriTooLong,
            415 => UnsupportedMediaType,
            416 => RequestedRangeNotSatisfiable,
            417 => ExpectationFailed,
            500 => InternalServerError,
            501 => NotImplemented,
            502 => BadGateway,
            503 => ServiceUnavailable,
            504 => GatewayTimeout,
            505 => HttpVersionNotSupported,
            _ => return None,
        })
    }
}

/// `WebSocketError.GetStatus`: the `WebErrorStatus` an HRESULT stands for.
pub fn web_error_status(hresult: HRESULT) -> WebErrorStatus {
    use WebErrorStatus::*;
    match hresult {
        WININET_E_TIMEOUT => Timeout,
        WININET_E_NAME_NOT_RESOLVED => HostNameNotResolved,
        WININET_E_OPERATION_CANCELLED | RTWS_E_CANCELLED | RTWS_E_OPERATION_ABORTED => {
            OperationCanceled
        }
        WININET_E_CANNOT_CONNECT => CannotConnect,
        WININET_E_CONNECTION_ABORTED => ConnectionAborted,
        WININET_E_CONNECTION_RESET => ConnectionReset,
        WININET_E_SEC_CERT_DATE_INVALID => CertificateExpired,
        WININET_E_SEC_CERT_CN_INVALID => CertificateCommonNameIsIncorrect,
        WININET_E_HTTP_TO_HTTPS_ON_REDIR => HttpToHttpsOnRedirection,
        WININET_E_HTTPS_TO_HTTP_ON_REDIR => HttpsToHttpOnRedirection,
        WININET_E_INVALID_CA | WININET_E_SEC_INVALID_CERT => CertificateIsInvalid,
        WININET_E_SEC_CERT_ERRORS => CertificateContainsErrors,
        WININET_E_SEC_CERT_REV_FAILED | WININET_E_SEC_CERT_REVOKED => CertificateRevoked,
        WININET_E_INVALID_SERVER_RESPONSE => ErrorHttpInvalidServerResponse,
        WININET_E_REDIRECT_FAILED => RedirectFailed,
        WININET_E_DISCONNECTED => Disconnected,
        WININET_E_SERVER_UNREACHABLE => ServerUnreachable,
        HTTP_E_STATUS_UNEXPECTED => UnexpectedStatusCode,
        HTTP_E_STATUS_UNEXPECTED_REDIRECTION => UnexpectedRedirection,
        HTTP_E_STATUS_UNEXPECTED_CLIENT_ERROR => UnexpectedClientError,
        HTTP_E_STATUS_UNEXPECTED_SERVER_ERROR => UnexpectedServerError,
        _ if (hresult as u32) & 0xFFFF_0000 == HTTP_E_STATUS_BASE as u32 => {
            WebErrorStatus::from_http_status((hresult & 0xFFFF) as u16).unwrap_or(Unknown)
        }
        _ => Unknown,
    }
}

/// A failure: the HRESULT a C caller sees and the sentence that explains it.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    pub hr: HRESULT,
    pub message: Cow<'static, str>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(hr: HRESULT, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            hr,
            message: message.into(),
        }
    }
    pub fn invalid_arg(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(E_INVALIDARG, message)
    }
    pub fn illegal_call(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(E_ILLEGAL_METHOD_CALL, message)
    }
    pub fn closed(what: &str) -> Self {
        Error::new(RO_E_CLOSED, format!("{what} is closed"))
    }
    pub fn canceled() -> Self {
        Error::new(RTWS_E_CANCELLED, "the operation was canceled")
    }

    /// The failure of an I/O call on an established or connecting socket.
    pub fn from_io(err: &io::Error, during: &str) -> Self {
        use io::ErrorKind::*;
        let hr = match err.kind() {
            ConnectionRefused => WININET_E_CANNOT_CONNECT,
            ConnectionReset => WININET_E_CONNECTION_RESET,
            ConnectionAborted | BrokenPipe | UnexpectedEof => WININET_E_CONNECTION_ABORTED,
            TimedOut => WININET_E_TIMEOUT,
            NotConnected => WININET_E_DISCONNECTED,
            HostUnreachable | NetworkUnreachable | AddrNotAvailable => WININET_E_SERVER_UNREACHABLE,
            _ => E_FAIL,
        };
        Error::new(hr, format!("{during}: {err}"))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08X}: {}", self.hr as u32, self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_family_maps_to_the_status_code() {
        assert_eq!(
            web_error_status(http_status_hresult(404)),
            WebErrorStatus::NotFound
        );
        assert_eq!(
            web_error_status(HTTP_E_STATUS_DENIED),
            WebErrorStatus::Unauthorized
        );
        assert_eq!(
            web_error_status(http_status_hresult(418)),
            WebErrorStatus::Unknown
        );
        assert_eq!(web_error_status(E_INVALIDARG), WebErrorStatus::Unknown);
    }
}
