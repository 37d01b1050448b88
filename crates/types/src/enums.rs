//! The enumerations of the API, with their WinRT names and numeric values.

/// `Windows.Foundation.AsyncStatus`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncStatus {
    Started = 0,
    Completed = 1,
    Canceled = 2,
    Error = 3,
}

/// `SocketMessageType`: the type of a WebSocket message. MessageWebSocketControl's
/// MessageType defaults to Binary; Utf8 messages must be valid UTF-8.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketMessageType {
    /// A binary message (opcode 2).
    Binary = 0,
    /// A text message (opcode 1), UTF-8.
    Utf8 = 1,
}

/// `MessageWebSocketReceiveMode`: whole messages (the default) or pieces.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageWebSocketReceiveMode {
    /// One MessageReceived per whole message.
    FullMessage = 0,
    /// One MessageReceived per piece as it arrives; IsMessageComplete on the last.
    PartialMessage = 1,
}

/// `ByteOrder` of DataWriter's and DataReader's multi-byte values (default BigEndian).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    LittleEndian = 0,
    BigEndian = 1,
}

/// `UnicodeEncoding` of DataWriter_WriteString and DataReader_ReadString (default Utf8;
/// the C side always passes and receives UTF-8, converted as needed).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnicodeEncoding {
    Utf8 = 0,
    Utf16LE = 1,
    Utf16BE = 2,
}

/// `ChainValidationResult` (Windows.Security.Cryptography.Certificates).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainValidationResult {
    Success = 0,
    Untrusted = 1,
    Revoked = 2,
    Expired = 3,
    IncompleteChain = 4,
    InvalidSignature = 5,
    WrongUsage = 6,
    InvalidName = 7,
    InvalidCertificateAuthorityPolicy = 8,
    BasicConstraintsError = 9,
    UnknownCriticalExtension = 10,
    RevocationInformationMissing = 11,
    RevocationFailure = 12,
    OtherErrors = 13,
}

impl ChainValidationResult {
    pub fn from_i32(v: i32) -> Option<Self> {
        use ChainValidationResult::*;
        Some(match v {
            0 => Success,
            1 => Untrusted,
            2 => Revoked,
            3 => Expired,
            4 => IncompleteChain,
            5 => InvalidSignature,
            6 => WrongUsage,
            7 => InvalidName,
            8 => InvalidCertificateAuthorityPolicy,
            9 => BasicConstraintsError,
            10 => UnknownCriticalExtension,
            11 => RevocationInformationMissing,
            12 => RevocationFailure,
            13 => OtherErrors,
            _ => return None,
        })
    }
}

/// `SocketSslErrorSeverity`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketSslErrorSeverity {
    None = 0,
    Ignorable = 1,
    Fatal = 2,
}

/// rtws extension: how much the log says (`rtws_SetLogHandler`, `RTWS_LOG`). Each
/// level includes those before it.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RtwsLogLevel {
    /// Nothing.
    Off = 0,
    /// rtws's own faults: a panic caught at the C boundary (a bug to report).
    Error = 1,
    /// Also: failed connects, connections lost or failed, slow handlers.
    Warn = 2,
    /// Also: each connect (where to, through which proxy) and close (the code, who
    /// closed), a DispatcherQueue's backpressure.
    Info = 3,
    /// Also: each connect stage (resolve, each address tried, TLS, upgrade).
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl RtwsLogLevel {
    pub fn from_i32(v: i32) -> Option<Self> {
        use RtwsLogLevel::*;
        [Off, Error, Warn, Info, Debug, Trace]
            .into_iter()
            .find(|l| *l as i32 == v)
    }
}

/// `InputStreamOptions` flags of ReadAsync and DataReader.LoadAsync.
pub type InputStreamOptions = u32;
/// Complete when `count` bytes arrived, or the stream ended.
#[allow(non_upper_case_globals)] // the WinRT names
pub const InputStreamOptions_None: InputStreamOptions = 0;
/// Complete as soon as at least one byte is there (up to `count`).
#[allow(non_upper_case_globals)] // the WinRT names
pub const InputStreamOptions_Partial: InputStreamOptions = 1;
/// May return more than `count` bytes (up to the buffer's capacity; for LoadAsync,
/// everything already received).
#[allow(non_upper_case_globals)] // the WinRT names
pub const InputStreamOptions_ReadAhead: InputStreamOptions = 2;
