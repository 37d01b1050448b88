//! The peer-side protocol fuzzer's cases: from a seed and a case number, what the server
//! sends (a handshake response, then frames) and what RFC 6455 says the client must make
//! of it (`Expect`).
//!
//! One generator, two users: the test server's `/fuzz` route plays a case (`fuzz.rs`) and
//! the client-side driver (`tests/ffi_peer_fuzz.rs`, which includes this file by path)
//! computes the same case to check the outcome. So this file needs std only, and its
//! random numbers are its own (SplitMix64): a seed names the same case in both programs,
//! in every build.
//!
//! The reference decision comes from the RFCs, never from a client implementation:
//!
//! * Handshake (RFC 6455 §4.1, "the client MUST _Fail the WebSocket Connection_"): a
//!   status other than 101 is handled per HTTP, which for a WebSocket client means the
//!   connect fails with `HTTP_E_STATUS_BASE | status`; a missing or wrong `Upgrade`
//!   (not `websocket`, any case), a `Connection` without an `Upgrade` token, a missing or
//!   wrong `Sec-WebSocket-Accept`, or a head that is not HTTP fail with
//!   `WININET_E_INVALID_SERVER_RESPONSE`; an extension the client did not offer with
//!   `E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED`; a subprotocol it did not offer with
//!   `E_SUBPROTOCOL_NOT_SUPPORTED`. Valid: header names in any case, optional whitespace
//!   around values (RFC 7230 §3.2.4), `Connection` as a token list containing `Upgrade`,
//!   any reason phrase (even empty), extra headers, any header order, the head split
//!   anywhere across writes, and no `Sec-WebSocket-Protocol` at all when the client
//!   offered some (§4.2.2 step 5.4: that is how a server declines; step 6 of §4.1 fails
//!   only an unoffered one). Bare-LF line ends: RFC 7230 §3.5 lets a recipient accept
//!   them, so either outcome is right (`ConnectsOrFails`).
//! * Frames (§5, §7.1.5, §7.4, §8.1): messages (text and binary, fragmented, with pings
//!   and pongs between fragments) are delivered whole, in order, text as valid UTF-8.
//!   Reserved bits, reserved opcodes, a masked server frame (§5.1), a control frame over
//!   125 bytes or fragmented (§5.5), a continuation without a message or a new message
//!   inside a fragmented one (§5.4), a close payload of 1 byte, a close code not allowed on
//!   the wire (§7.4: 0-999, 1004 (reserved), 1005, 1006, 1015, 1016-2999 (reserved for
//!   the protocol), 5000 and up (undefined)) and a 64-bit length with its most significant
//!   bit set (§5.2) fail the connection with 1002; invalid UTF-8 in a text message or a
//!   close reason fails it with 1007 (§8.1, §7.4.1). Codes 1012-1014 are in the IANA
//!   registry §11.7 set up, so they are valid. Every complete message before the fault is
//!   delivered, nothing after it. A close frame ends the connection cleanly with its code
//!   (1005 when it has none, §7.1.5) and reason, whatever follows it (§1.4: data after a
//!   close is discarded); the TCP stream ending without one gives 1006 (§7.1.5), whatever
//!   was cut short. When the client fails the connection, the code expected in Closed is
//!   the one it sent (as the WinRT API reports it; §7.1.5 taken alone would say 1006,
//!   since no close frame comes back).
//! * What the client sends (checked from the server's side, `ClientReport`): every frame
//!   masked (§5.1); no data frame (the driver sends nothing); nothing after its close frame
//!   (§5.5.1); a close frame in reply to the server's (§5.5.1 MUST) and, when it failed the
//!   connection, one naming the failure's code (§7.1.7 SHOULD, and the close code the API
//!   reports); a Pong echoing the last Ping processed before the end (§5.5.2, §5.5.3); no
//!   frame at all after a failed handshake.
//!
//! Cases are built so that these rules give one answer: a faulty frame is always written
//! whole, a close never follows invalid UTF-8 inside the same message (a client may check
//! UTF-8 as the bytes arrive or at the message's end), and a 64-bit length with its top
//! bit set is never followed by the end of the stream (a client may wait for its payload).

use std::fmt::Write as _;

pub const WININET_E_INVALID_SERVER_RESPONSE: u32 = 0x8007_2F78;
pub const E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED: u32 = 0x8376_0003;
pub const E_SUBPROTOCOL_NOT_SUPPORTED: u32 = 0x8376_0004;
pub const HTTP_E_STATUS_BASE: u32 = 0x8019_0000;

pub const PROTOCOL_ERROR: u16 = 1002;
pub const INVALID_PAYLOAD: u16 = 1007;
/// The code the API reports for a close frame without a code (§7.1.5).
pub const NO_STATUS: u16 = 1005;
/// ... and for a connection that ended without a close frame.
pub const ABNORMAL: u16 = 1006;

/// SplitMix64: small, fast, and the same sequence in both programs forever.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, case: u64) -> Rng {
        let mut r = Rng(seed ^ 0x6A09_E667_F3BC_C909);
        let mixed = r.next_u64() ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Rng(mixed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// An index into `weights`, chosen in proportion to them.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        unreachable!("x < sum of weights")
    }
}

/// FNV-1a, to name a payload in a printed line.
pub fn hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811C_9DC5, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

macro_rules! families {
    ($name:ident { $($variant:ident = $text:literal, $weight:literal;)* }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            const WEIGHTS: &'static [u64] = &[$($weight),*];
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }
    };
}

families!(Handshake {
    Valid = "hs-valid", 40;
    Split = "hs-split", 10;
    ConnectionList = "hs-connection-list", 3;
    BareLf = "hs-bare-lf", 3;
    SubprotocolDeclined = "hs-subprotocol-declined", 3;
    WrongAccept = "hs-wrong-accept", 5;
    NoUpgrade = "hs-no-upgrade", 3;
    NoConnection = "hs-no-connection", 3;
    SubprotocolUnoffered = "hs-subprotocol-unoffered", 4;
    ExtensionUnoffered = "hs-extension-unoffered", 4;
    Status = "hs-status", 5;
    Garbage = "hs-garbage", 4;
});

families!(Frames {
    Close = "fr-close", 12;
    CloseMidMessage = "fr-close-mid-message", 3;
    CloseThenJunk = "fr-close-then-junk", 4;
    EofNoClose = "fr-eof-no-close", 5;
    Truncated = "fr-truncated", 6;
    Rsv = "fr-rsv", 3;
    ReservedOpcode = "fr-reserved-opcode", 3;
    Masked = "fr-masked", 3;
    LongControl = "fr-long-control", 3;
    FragmentedControl = "fr-fragmented-control", 3;
    OrphanContinuation = "fr-orphan-continuation", 3;
    NestedMessage = "fr-nested-message", 3;
    BadUtf8Text = "fr-bad-utf8-text", 3;
    BadUtf8Reason = "fr-bad-utf8-reason", 3;
    OneByteClose = "fr-one-byte-close", 3;
    BadCloseCode = "fr-bad-close-code", 3;
    LengthMsb = "fr-length-msb", 3;
});

/// A message the client must deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: bool,
    pub data: Vec<u8>,
}

/// How a connected session must end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The server's close frame: its code (None: it had none, reported as 1005) and reason.
    Clean { code: Option<u16>, reason: String },
    /// The client fails the connection: a last failed MessageReceived, then Closed(code).
    Fail(u16),
    /// The stream ended without a close frame: Closed(1006).
    Abnormal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The subprotocol the client must report ("" for none).
    pub protocol: String,
    pub messages: Vec<Message>,
    pub end: End,
    /// The payload of the last Ping the client processed before the end; a clean or
    /// failed end must have answered it with a Pong (an abnormal one may have had no
    /// chance to).
    pub last_ping: Option<Vec<u8>>,
    /// The code of the server's close frame whose payload decides the end (a clean close,
    /// or one whose code or reason is the fault), if it has one: for reports.
    pub close_code: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// ConnectAsync fails with this HRESULT.
    Fails(u32),
    Connects(Session),
    /// Either is right (bare-LF line ends, RFC 7230 §3.5).
    ConnectsOrFails(Session, u32),
}

impl Expect {
    /// One line, for the server's `FUZZ` line and the driver's reports.
    pub fn describe(&self) -> String {
        match self {
            Expect::Fails(hr) => format!("fail:0x{hr:08X}"),
            Expect::Connects(s) => format!("connect {}", s.describe()),
            Expect::ConnectsOrFails(s, hr) => {
                format!("connect-or-fail:0x{hr:08X} {}", s.describe())
            }
        }
    }
}

impl Session {
    pub fn describe(&self) -> String {
        let mut out = format!("proto={:?} msgs=[", self.protocol);
        for (i, m) in self.messages.iter().enumerate() {
            let sep = if i > 0 { "," } else { "" };
            let ty = if m.text { 'T' } else { 'B' };
            let _ = write!(out, "{sep}{ty}{}#{:08x}", m.data.len(), hash(&m.data));
        }
        out.push_str("] end=");
        match &self.end {
            End::Clean { code: None, .. } => out.push_str("close:none"),
            End::Clean {
                code: Some(c),
                reason,
            } => {
                let _ = write!(out, "close:{c}:{reason:?}");
            }
            End::Fail(c) => {
                let _ = write!(out, "fail:{c}");
            }
            End::Abnormal => out.push_str("abnormal"),
        }
        if let Some(p) = &self.last_ping {
            let _ = write!(out, " last_ping=#{:08x}", hash(p));
        }
        out
    }
}

/// What the server does once everything is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Closes its sending side (FIN) at once, then reads until the client closes.
    Fin,
    /// Reads until the client's close frame, then FIN, then reads until the client closes.
    AwaitClose,
    /// Keeps its sending side open and reads until the client closes.
    Hold,
}

/// A piece of the response head: bytes, or the `Sec-WebSocket-Accept` value (right, or
/// computed from another key), known only once the request's key is.
#[derive(Clone, Debug)]
pub enum HeadPart {
    Bytes(Vec<u8>),
    Accept,
    OtherAccept,
    /// The right value with one letter's case flipped (base64 is case-sensitive).
    FlippedAccept,
}

pub struct Case {
    pub seed: u64,
    pub index: u64,
    pub handshake: Handshake,
    /// None when the handshake fails (whatever follows the head must be ignored).
    pub frames: Option<Frames>,
    /// The subprotocols the client offers (SupportedProtocols), in order.
    pub offer: Vec<String>,
    pub head: Vec<HeadPart>,
    /// What follows the head.
    pub body: Vec<u8>,
    pub after: After,
    pub expect: Expect,
    /// The head is written in several pieces with 1-15 ms pauses between. Besides, the
    /// whole stream is cut at a few (now and then many) random points, with pauses of at
    /// most 2 ms.
    split_head: bool,
    write_seed: u64,
}

/// One write of the server: the stream's bytes up to `end`, after a pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    pub end: usize,
    pub pause_ms: u64,
}

const OFFERS: &[&str] = &["chat.v1", "chat.v2", "mqtt", "wamp.2.json", "x-fuzz"];
const UNOFFERED: &[&str] = &["evil.v1", "chat.v3", "soap", "x-not-offered"];

impl Case {
    pub fn generate(seed: u64, index: u64) -> Case {
        let mut rng = Rng::new(seed, index);
        let handshake = Handshake::ALL[rng.weighted(Handshake::WEIGHTS)];
        let mut case = Case {
            seed,
            index,
            handshake,
            frames: None,
            offer: Vec::new(),
            head: Vec::new(),
            body: Vec::new(),
            after: After::Fin,
            expect: Expect::Fails(0),
            split_head: handshake == Handshake::Split,
            write_seed: rng.next_u64(),
        };
        match build_head(&mut rng, &mut case) {
            Err(hr) => {
                // Whatever follows a refused head is never the client's business.
                if rng.chance(30) {
                    let mut body = Body::new(&mut rng);
                    let m = body.random_message();
                    body.message(&m);
                    case.body = body.out;
                }
                case.after = if rng.chance(50) {
                    After::Fin
                } else {
                    After::Hold
                };
                case.expect = Expect::Fails(hr);
            }
            Ok(protocol) => {
                let frames = Frames::ALL[rng.weighted(Frames::WEIGHTS)];
                let (body, after, mut session) = build_frames(&mut rng, frames);
                session.protocol = protocol;
                case.frames = Some(frames);
                case.body = body;
                case.after = after;
                case.expect = if handshake == Handshake::BareLf {
                    Expect::ConnectsOrFails(session, WININET_E_INVALID_SERVER_RESPONSE)
                } else {
                    Expect::Connects(session)
                };
            }
        }
        case
    }

    /// The families, for counting: `hs-…` and, if the handshake succeeds, `fr-…`.
    pub fn family(&self) -> String {
        match self.frames {
            Some(f) => format!("{} {}", self.handshake.name(), f.name()),
            None => self.handshake.name().to_string(),
        }
    }

    /// The bytes the server writes: the head (with the accept values filled in) and body.
    pub fn wire(&self, accept: &str, other_accept: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.head {
            match part {
                HeadPart::Bytes(b) => out.extend_from_slice(b),
                HeadPart::Accept => out.extend_from_slice(accept.as_bytes()),
                HeadPart::OtherAccept => out.extend_from_slice(other_accept.as_bytes()),
                HeadPart::FlippedAccept => {
                    let mut v = accept.as_bytes().to_vec();
                    if let Some(b) = v.iter_mut().find(|b| b.is_ascii_alphabetic()) {
                        *b ^= 0x20;
                    }
                    out.extend_from_slice(&v);
                }
            }
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// How the `len` bytes of `wire` are written: in order, each after its pause.
    pub fn writes(&self, len: usize) -> Vec<Write> {
        let mut rng = Rng::new(self.write_seed, 0);
        let head_len = self.head_len_estimate().min(len);
        let mut cuts: Vec<(usize, u64)> = Vec::new();
        if self.split_head && head_len > 1 {
            for _ in 0..rng.range(1, 7) {
                cuts.push((rng.range(1, head_len - 1), rng.range(1, 15) as u64));
            }
        }
        if len > 1 {
            // Now and then many small writes: frames and their headers in bits.
            let pieces = if rng.chance(15) {
                rng.range(5, 40)
            } else {
                rng.range(0, 4)
            };
            for _ in 0..pieces {
                cuts.push((rng.range(1, len - 1), rng.below(3)));
            }
        }
        cuts.sort_unstable();
        cuts.dedup_by_key(|c| c.0);
        let mut writes = Vec::new();
        let mut pause = 0;
        for (at, next_pause) in cuts {
            writes.push(Write {
                end: at,
                pause_ms: pause,
            });
            pause = next_pause;
        }
        writes.push(Write {
            end: len,
            pause_ms: pause,
        });
        writes
    }

    /// The head's length with a 28-byte accept value (the length of every one).
    fn head_len_estimate(&self) -> usize {
        self.head
            .iter()
            .map(|p| match p {
                HeadPart::Bytes(b) => b.len(),
                _ => 28,
            })
            .sum()
    }

    /// The server's line for this case (`FUZZ seed=… case=…`).
    pub fn line(&self, client: &ClientReport) -> String {
        format!(
            "FUZZ seed={} case={} family={} expect={} client={}",
            self.seed,
            self.index,
            self.family().replace(' ', "+"),
            self.expect.describe(),
            client.to_field()
        )
    }
}

/// `Name: value` lines: the name's spelling and the whitespace around the value vary
/// (header names are case-insensitive, RFC 7230 §3.2; OWS is not part of the value,
/// §3.2.4).
fn header(rng: &mut Rng, name: &str, value: HeadPart, eol: &[u8]) -> Vec<HeadPart> {
    let spelled: String = match rng.below(4) {
        0 | 1 => name.to_string(),
        2 => name.to_ascii_lowercase(),
        _ => name
            .chars()
            .map(|c| {
                if rng.chance(50) {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    };
    let (before, after) = *rng.pick(&[(" ", ""), (" ", ""), ("", ""), ("  ", " "), ("\t", " \t")]);
    vec![
        HeadPart::Bytes(format!("{spelled}:{before}").into_bytes()),
        value,
        HeadPart::Bytes([after.as_bytes(), eol].concat()),
    ]
}

fn text_value(s: &str) -> HeadPart {
    HeadPart::Bytes(s.as_bytes().to_vec())
}

/// Fills in `case.offer` and `case.head`; the subprotocol the client must report, or the
/// HRESULT its connect must fail with.
fn build_head(rng: &mut Rng, case: &mut Case) -> Result<String, u32> {
    use Handshake as H;
    let kind = case.handshake;
    let mut offer: Vec<String> = Vec::new();
    let wants_offer = match kind {
        H::SubprotocolDeclined => true,
        H::SubprotocolUnoffered => rng.chance(60),
        _ => rng.chance(35),
    };
    if wants_offer {
        for p in OFFERS {
            if rng.chance(50) {
                offer.push(p.to_string());
            }
        }
        if offer.is_empty() {
            offer.push(rng.pick(OFFERS).to_string());
        }
    }
    case.offer = offer.clone();

    if kind == H::Status {
        let code = *rng.pick(&[200u16, 400, 401, 403, 404, 426, 500, 502, 503]);
        let body = if rng.chance(50) {
            b"no websocket here\n".to_vec()
        } else {
            Vec::new()
        };
        let mut head = format!(
            "HTTP/1.1 {code} Whatever\r\nContent-Length: {}\r\n",
            body.len()
        );
        if rng.chance(50) {
            head.push_str("Connection: close\r\n");
        }
        let mut parts = vec![text_value(&head)];
        if rng.chance(30) {
            // The status decides, whatever the other headers say.
            parts.push(text_value(
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
            ));
            parts.push(HeadPart::Accept);
            parts.push(text_value("\r\n"));
        }
        parts.push(HeadPart::Bytes([&b"\r\n"[..], &body].concat()));
        case.head = parts;
        return Err(HTTP_E_STATUS_BASE | u32::from(code));
    }
    if kind == H::Garbage {
        let mut shape: Vec<HeadPart> = match rng.below(9) {
            0 => vec![text_value("SSH-2.0-OpenSSH_9.6")],
            1 => {
                let n = rng.range(1, 200);
                let mut junk = rng.bytes(n);
                // Not the start of an HTTP status line by chance.
                junk[0] = b'#';
                vec![HeadPart::Bytes(junk)]
            }
            2 => vec![text_value("HTTP/1.1 1O1 Switching Protocols")],
            3 => vec![text_value(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade websocket",
            )],
            4 => vec![text_value(
                "HTTP/1.1 101 Switching Protocols\r\nUp grade: websocket",
            )],
            5 => vec![
                text_value(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
                ),
                HeadPart::Accept,
                text_value("\r\nX-Bad\u{1}Name: 1"),
            ],
            6 => vec![text_value("ICY 200 OK")],
            7 => vec![text_value("<html><body>hello</body></html>")],
            // Well-formed, but none of the headers §4.1 requires.
            _ => vec![text_value("HTTP/1.1 101 Switching Protocols")],
        };
        shape.push(text_value("\r\n\r\n"));
        case.head = shape;
        return Err(WININET_E_INVALID_SERVER_RESPONSE);
    }

    // A 101, right or wrong in one respect.
    let bare_lf = kind == H::BareLf;
    let all_lf = bare_lf && rng.chance(50);
    let eol = |rng: &mut Rng| -> &'static [u8] {
        if all_lf || (bare_lf && rng.chance(50)) {
            b"\n"
        } else {
            b"\r\n"
        }
    };
    let mut lines: Vec<Vec<HeadPart>> = Vec::new();
    let upgrade = match kind {
        H::NoUpgrade => *rng.pick(&[None, Some("h2c"), Some("websocket2"), Some("web socket")]),
        _ => Some(*rng.pick(&["websocket", "WebSocket", "WEBSOCKET"])),
    };
    if let Some(v) = upgrade {
        let e = eol(rng);
        lines.push(header(rng, "Upgrade", text_value(v), e));
    }
    let connection = match kind {
        H::NoConnection => *rng.pick(&[None, Some("keep-alive"), Some("close"), Some("Upgrades")]),
        H::ConnectionList => Some(*rng.pick(&[
            "keep-alive, Upgrade",
            "Upgrade, keep-alive",
            "keep-alive,upgrade",
            "Upgrade , Keep-Alive",
        ])),
        _ => Some(*rng.pick(&["Upgrade", "upgrade", "UPGRADE"])),
    };
    if let Some(v) = connection {
        let e = eol(rng);
        lines.push(header(rng, "Connection", text_value(v), e));
    }
    let accept = match kind {
        H::WrongAccept => match rng.below(4) {
            0 => None,
            1 => Some(HeadPart::OtherAccept),
            2 => Some(HeadPart::FlippedAccept),
            _ => Some(text_value("dGhlIHNhbXBsZSBub25jZQ==")),
        },
        _ => Some(HeadPart::Accept),
    };
    if let Some(v) = accept {
        let e = eol(rng);
        lines.push(header(rng, "Sec-WebSocket-Accept", v, e));
    }
    let protocol = match kind {
        H::SubprotocolDeclined => None,
        H::SubprotocolUnoffered => Some(rng.pick(UNOFFERED).to_string()),
        _ if !offer.is_empty() => Some(rng.pick(&offer).clone()),
        _ => None,
    };
    if let Some(p) = &protocol {
        let e = eol(rng);
        lines.push(header(rng, "Sec-WebSocket-Protocol", text_value(p), e));
    }
    if kind == H::ExtensionUnoffered {
        let ext = *rng.pick(&[
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits=15",
            "x-webkit-deflate-frame",
            "fuzz-ext",
        ]);
        let e = eol(rng);
        lines.push(header(rng, "Sec-WebSocket-Extensions", text_value(ext), e));
    }
    for (name, value) in [
        ("Server", "rtws-fuzz/1.0".to_string()),
        ("Date", "Mon, 01 Jan 2024 00:00:00 GMT".to_string()),
        ("X-Fuzz-Case", case.index.to_string()),
        ("Cache-Control", "no-cache".to_string()),
        ("Sec-WebSocket-Version", "13".to_string()),
    ] {
        if rng.chance(25) {
            let e = eol(rng);
            lines.push(header(rng, name, text_value(&value), e));
        }
    }
    for i in (1..lines.len()).rev() {
        let j = rng.range(0, i);
        lines.swap(i, j);
    }
    let reason = *rng.pick(&[
        "Switching Protocols",
        "Switching Protocols",
        "Web Socket Protocol Handshake",
        "OK",
        "",
    ]);
    let status_eol = eol(rng);
    let end_eol = eol(rng);
    let mut head = vec![HeadPart::Bytes(
        [format!("HTTP/1.1 101 {reason}").as_bytes(), status_eol].concat(),
    )];
    head.extend(lines.into_iter().flatten());
    head.push(HeadPart::Bytes(end_eol.to_vec()));
    case.head = head;
    match kind {
        H::WrongAccept | H::NoUpgrade | H::NoConnection => Err(WININET_E_INVALID_SERVER_RESPONSE),
        H::SubprotocolUnoffered => Err(E_SUBPROTOCOL_NOT_SUPPORTED),
        H::ExtensionUnoffered => Err(E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED),
        _ => Ok(protocol.unwrap_or_default()),
    }
}

/// Invalid UTF-8 wherever it stands (§8.1).
const BAD_UTF8: &[&[u8]] = &[
    &[0xFF],
    &[0xFE],
    &[0x80],
    &[0xBF, 0x41],
    &[0xC0, 0x80],
    &[0xC1, 0xBF],
    &[0xE0, 0x80, 0x80],
    &[0xED, 0xA0, 0x80],
    &[0xF4, 0x90, 0x80, 0x80],
    &[0xF5, 0x80, 0x80, 0x80],
    &[0xC3, 0x28],
    &[0xE2, 0x82, 0x28],
    &[0xF0, 0x9F, 0x41],
];
/// A character cut short: invalid only at the end of a message.
const CUT_UTF8: &[&[u8]] = &[&[0xC3], &[0xE2, 0x82], &[0xF0, 0x9F, 0x98]];

const VALID_CODES: &[u16] = &[
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
];

/// The frames after the head, being written.
struct Body<'r> {
    rng: &'r mut Rng,
    out: Vec<u8>,
    /// The payload of the last Ping written.
    last_ping: Option<Vec<u8>>,
    /// The code of the last close frame whose payload the client must judge.
    close_code: Option<u16>,
    /// The message left open by `open_message`: whether it is text, and the rest of its
    /// payload (so a continuation stays valid UTF-8 even if the open part ends inside a
    /// character).
    open: Option<(bool, Vec<u8>)>,
}

impl<'r> Body<'r> {
    fn new(rng: &'r mut Rng) -> Self {
        Body {
            rng,
            out: Vec::new(),
            last_ping: None,
            close_code: None,
            open: None,
        }
    }

    /// One frame, with the minimal length encoding (§5.2); masked with `mask`.
    fn frame(&mut self, first: u8, mask: Option<[u8; 4]>, payload: &[u8]) {
        let m = if mask.is_some() { 0x80 } else { 0 };
        self.out.push(first);
        match payload.len() {
            n @ 0..=125 => self.out.push(m | n as u8),
            n @ 126..=0xFFFF => {
                self.out.push(m | 126);
                self.out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                self.out.push(m | 127);
                self.out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                self.out.extend_from_slice(&key);
                self.out
                    .extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => self.out.extend_from_slice(payload),
        }
    }

    fn small_payload(&mut self) -> Vec<u8> {
        let n = if self.rng.chance(80) {
            self.rng.range(0, 16)
        } else {
            self.rng.range(0, 125)
        };
        self.rng.bytes(n)
    }

    /// Sometimes a Ping or an unsolicited Pong (both valid anywhere, §5.4, §5.5.3).
    fn maybe_control(&mut self) {
        if !self.rng.chance(20) {
            return;
        }
        let payload = self.small_payload();
        if self.rng.chance(70) {
            self.frame(0x89, None, &payload);
            self.last_ping = Some(payload);
        } else {
            self.frame(0x8A, None, &payload);
        }
    }

    fn size(&mut self) -> usize {
        match self.rng.below(100) {
            0..=59 => self.rng.range(0, 40),
            60..=84 => self.rng.range(41, 300),
            85..=93 => self.rng.range(301, 5000),
            94..=97 => *self.rng.pick(&[125, 126, 127, 65535, 65536, 65537]),
            _ => self.rng.range(70_000, 200_000),
        }
    }

    /// Valid UTF-8 of about `size` bytes, with characters of every width.
    fn text(&mut self, size: usize) -> Vec<u8> {
        let mut s = String::with_capacity(size + 4);
        while s.len() < size {
            let c = match self.rng.below(10) {
                0..=5 => self.rng.range(0, 0x7F) as u32,
                6 | 7 => self.rng.range(0x80, 0x7FF) as u32,
                8 => self.rng.range(0x800, 0xFFFF) as u32,
                _ => self.rng.range(0x10000, 0x10FFFF) as u32,
            };
            // Surrogates are no characters: skipped.
            s.extend(char::from_u32(c));
        }
        s.into_bytes()
    }

    fn random_message(&mut self) -> Message {
        let size = self.size();
        if self.rng.chance(50) {
            Message {
                text: true,
                data: self.text(size),
            }
        } else {
            Message {
                text: false,
                data: self.rng.bytes(size),
            }
        }
    }

    /// `pieces` fragment bounds over `len` bytes (empty fragments allowed).
    fn bounds(&mut self, len: usize, pieces: usize) -> Vec<usize> {
        let mut b: Vec<usize> = (1..pieces).map(|_| self.rng.range(0, len)).collect();
        b.sort_unstable();
        b.insert(0, 0);
        b.push(len);
        b
    }

    /// Writes `m` whole: one frame, or fragments with controls between them. Controls go
    /// only at fragment bounds up to `controls_until` (a byte offset).
    fn message_with(&mut self, m: &Message, controls_until: usize) {
        let pieces = if self.rng.chance(60) {
            1
        } else {
            self.rng.range(2, 5)
        };
        let bounds = self.bounds(m.data.len(), pieces);
        for i in 0..pieces {
            if i > 0 && bounds[i] <= controls_until {
                self.maybe_control();
            }
            let opcode = match (i, m.text) {
                (0, true) => 1,
                (0, false) => 2,
                _ => 0,
            };
            let fin = if i + 1 == pieces { 0x80 } else { 0 };
            let payload = m.data[bounds[i]..bounds[i + 1]].to_vec();
            self.frame(fin | opcode, None, &payload);
        }
    }

    fn message(&mut self, m: &Message) {
        self.message_with(m, usize::MAX);
    }

    /// Begins a message and leaves it open: 1-4 fragments, none final.
    fn open_message(&mut self) {
        let m = self.random_message();
        let pieces = self.rng.range(2, 5);
        let bounds = self.bounds(m.data.len(), pieces);
        for i in 0..pieces - 1 {
            if i > 0 {
                self.maybe_control();
            }
            let opcode = match (i, m.text) {
                (0, true) => 1,
                (0, false) => 2,
                _ => 0,
            };
            let payload = m.data[bounds[i]..bounds[i + 1]].to_vec();
            self.frame(opcode, None, &payload);
        }
        self.open = Some((m.text, m.data[bounds[pieces - 1]..].to_vec()));
    }

    /// `n` bytes that validly continue the open message.
    fn continuation(&mut self, n: usize) -> Vec<u8> {
        let (text, mut rest) = self.open.take().expect("a message is open");
        let mut payload: Vec<u8> = rest.drain(..n.min(rest.len())).collect();
        if payload.len() < n {
            // The whole message was valid, so its end is a character boundary.
            let more = if text {
                self.text(n - payload.len())
            } else {
                self.rng.bytes(n - payload.len())
            };
            payload.extend(more);
        }
        self.open = Some((text, rest));
        payload
    }

    /// Valid UTF-8 of at most `max` bytes.
    fn short_text(&mut self, max: usize) -> String {
        let size = self.rng.range(0, max);
        let mut s = String::from_utf8(self.text(size)).expect("text() is UTF-8");
        while s.len() > max {
            s.pop();
        }
        s
    }

    /// A valid close frame: its code (None: no payload) and reason.
    fn close(&mut self) -> (Option<u16>, String) {
        if self.rng.chance(15) {
            self.frame(0x88, None, &[]);
            return (None, String::new());
        }
        let code = if self.rng.chance(70) {
            *self.rng.pick(VALID_CODES)
        } else {
            self.rng.range(3000, 4999) as u16
        };
        let reason = if self.rng.chance(50) {
            String::new()
        } else {
            self.short_text(123)
        };
        self.frame(0x88, None, &close_payload(code, reason.as_bytes()));
        self.close_code = Some(code);
        (Some(code), reason)
    }

    /// Bytes after the end: junk, frames of any kind, faults included.
    fn junk(&mut self) {
        match self.rng.below(4) {
            0 => {
                let n = self.rng.range(1, 200);
                let bytes = self.rng.bytes(n);
                self.out.extend_from_slice(&bytes);
            }
            1 => {
                let m = self.random_message();
                self.message(&m);
                self.close();
            }
            2 => {
                let bad = self.rng.pick(BAD_UTF8).to_vec();
                self.frame(0x81, None, &bad);
            }
            _ => self.frame(0xC2, None, b"rsv1"),
        }
    }

    /// A control frame (Ping, Pong or a valid Close) with this FIN/RSV bits and payload
    /// size range; its first byte and payload.
    fn control(&mut self, bits: u8, min: usize, max: usize) -> (u8, Vec<u8>) {
        match self.rng.below(3) {
            0 => {
                let n = self.rng.range(min, max);
                (bits | 0x9, self.rng.bytes(n))
            }
            1 => {
                let n = self.rng.range(min, max);
                (bits | 0xA, self.rng.bytes(n))
            }
            _ => {
                let code = *self.rng.pick(VALID_CODES);
                let n = self.rng.range(min.max(2), max) - 2;
                let reason = vec![b'r'; n];
                (bits | 0x8, close_payload(code, &reason))
            }
        }
    }

    /// A data frame that would be valid now (`open`: a message is in progress).
    fn data_frame(&mut self, bits: u8, open: bool) -> (u8, Vec<u8>) {
        let n = self.rng.range(0, 60);
        if open {
            return (bits, self.continuation(n));
        }
        if self.rng.chance(50) {
            (bits | 1, self.text(n))
        } else {
            (bits | 2, self.rng.bytes(n))
        }
    }

    fn fin(&mut self) -> u8 {
        if self.rng.chance(50) {
            0x80
        } else {
            0
        }
    }

    /// The fault of `family`; the close code the client must fail the connection with.
    fn fault(&mut self, family: Frames) -> u16 {
        use Frames as F;
        let open = match family {
            F::NestedMessage => true,
            F::OrphanContinuation | F::BadUtf8Text => false,
            _ => self.rng.chance(30),
        };
        if open {
            self.open_message();
            self.maybe_control();
        }
        match family {
            F::Rsv => {
                let rsv = *self.rng.pick(&[0x40, 0x20, 0x10, 0x60, 0x70]);
                let (first, payload) = if self.rng.chance(50) {
                    let fin = self.fin();
                    self.data_frame(fin | rsv, open)
                } else {
                    self.control(0x80 | rsv, 0, 125)
                };
                self.frame(first, None, &payload);
            }
            F::ReservedOpcode => {
                let op = *self.rng.pick(&[3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]);
                let fin = self.fin();
                let payload = self.small_payload();
                self.frame(fin | op, None, &payload);
            }
            F::Masked => {
                let (first, payload) = if self.rng.chance(50) {
                    let fin = self.fin();
                    self.data_frame(fin, open)
                } else {
                    self.control(0x80, 0, 125)
                };
                let key = [1, 2, 3, 4].map(|_| self.rng.next_u64() as u8);
                self.frame(first, Some(key), &payload);
            }
            F::LongControl => {
                let (first, payload) = self.control(0x80, 126, 400);
                self.frame(first, None, &payload);
            }
            F::FragmentedControl => {
                let (first, payload) = self.control(0, 0, 125);
                self.frame(first, None, &payload);
            }
            F::OrphanContinuation => {
                let fin = self.fin();
                let payload = self.small_payload();
                self.frame(fin, None, &payload);
            }
            F::NestedMessage => {
                let fin = self.fin();
                let (first, payload) = self.data_frame(fin, false);
                self.frame(first, None, &payload);
            }
            F::BadUtf8Text => {
                let size = self.size().min(5000);
                let mut data = self.text(size);
                let start = data.len();
                if self.rng.chance(75) {
                    let bad = self.rng.pick(BAD_UTF8).to_vec();
                    data.extend_from_slice(&bad);
                    let tail = self.rng.range(0, 40);
                    let tail = self.text(tail);
                    data.extend_from_slice(&tail);
                } else {
                    let cut = self.rng.pick(CUT_UTF8).to_vec();
                    data.extend_from_slice(&cut);
                }
                // Controls only before the invalid bytes: a client may find them as they
                // arrive (and process nothing after) or at the message's end.
                self.message_with(&Message { text: true, data }, start);
                return INVALID_PAYLOAD;
            }
            F::BadUtf8Reason => {
                let code = *self.rng.pick(VALID_CODES);
                let mut reason = self.short_text(60).into_bytes();
                let at = self.rng.range(0, reason.len());
                let bad = self.rng.pick(BAD_UTF8).to_vec();
                // At a character boundary, so only `bad` is invalid.
                let at = (at..=reason.len())
                    .find(|i| std::str::from_utf8(&reason[..*i]).is_ok())
                    .unwrap_or(reason.len());
                reason.splice(at..at, bad);
                self.frame(0x88, None, &close_payload(code, &reason));
                self.close_code = Some(code);
                return INVALID_PAYLOAD;
            }
            F::OneByteClose => {
                let b = self.rng.next_u64() as u8;
                self.frame(0x88, None, &[b]);
            }
            F::BadCloseCode => {
                let code = match self.rng.below(7) {
                    0 => self.rng.range(0, 999) as u16,
                    1 => 1004,
                    2 => 1005,
                    3 => 1006,
                    4 => 1015,
                    5 => self.rng.range(1016, 2999) as u16,
                    _ => self.rng.range(5000, 65535) as u16,
                };
                let reason = self.short_text(40);
                self.frame(0x88, None, &close_payload(code, reason.as_bytes()));
                self.close_code = Some(code);
            }
            F::LengthMsb => {
                let first = if open {
                    0x80
                } else {
                    0x80 | *self.rng.pick(&[1u8, 2])
                };
                let len = (1u64 << 63) | (self.rng.next_u64() >> 1);
                self.out.extend_from_slice(&[first, 127]);
                self.out.extend_from_slice(&len.to_be_bytes());
                let n = self.rng.range(0, 50);
                let bytes = self.rng.bytes(n);
                self.out.extend_from_slice(&bytes);
            }
            F::Close | F::CloseMidMessage | F::CloseThenJunk | F::EofNoClose | F::Truncated => {
                unreachable!("not a fault")
            }
        }
        PROTOCOL_ERROR
    }

    /// A valid frame cut short (at least its first byte, never all of it).
    fn truncated(&mut self, open: bool) {
        let start = self.out.len();
        match self.rng.below(3) {
            0 => {
                let fin = self.fin();
                let n = self.size();
                let (first, payload) = if open {
                    (fin, self.continuation(n))
                } else if self.rng.chance(50) {
                    (fin | 1, self.text(n))
                } else {
                    (fin | 2, self.rng.bytes(n))
                };
                self.frame(first, None, &payload);
            }
            1 => {
                let (first, payload) = self.control(0x80, 0, 125);
                self.frame(first, None, &payload);
            }
            _ => {
                self.close();
            }
        }
        let len = self.out.len() - start;
        let keep = self.rng.range(1, len - 1);
        self.out.truncate(start + keep);
        // A close frame cut short is never judged.
        self.close_code = None;
    }
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    [&code.to_be_bytes()[..], reason].concat()
}

/// The frames of a session that got through its handshake, the server's behaviour after
/// them, and what the client must make of them (protocol left for the caller).
fn build_frames(rng: &mut Rng, family: Frames) -> (Vec<u8>, After, Session) {
    use Frames as F;
    let mut b = Body::new(rng);
    let mut messages = Vec::new();
    let count = match b.rng.below(100) {
        0..=24 => 0,
        25..=54 => 1,
        _ => b.rng.range(2, 5),
    };
    b.maybe_control();
    for _ in 0..count {
        let m = b.random_message();
        b.message(&m);
        messages.push(m);
        b.maybe_control();
    }
    let (end, after) = match family {
        F::Close | F::CloseMidMessage | F::CloseThenJunk => {
            if family == F::CloseMidMessage {
                b.open_message();
                b.maybe_control();
            }
            let (code, reason) = b.close();
            let after = if b.rng.chance(50) {
                After::Fin
            } else {
                After::AwaitClose
            };
            (End::Clean { code, reason }, after)
        }
        F::EofNoClose | F::Truncated => {
            let open = b.rng.chance(30);
            if open {
                b.open_message();
                b.maybe_control();
            }
            if family == F::Truncated {
                b.truncated(open);
            }
            (End::Abnormal, After::Fin)
        }
        fault => {
            let code = b.fault(fault);
            let after = if fault == F::LengthMsb || b.rng.chance(60) {
                // The client must act on the fault alone, not on the stream's end.
                After::Hold
            } else {
                After::Fin
            };
            (End::Fail(code), after)
        }
    };
    // What follows the end is never processed: the last Ping is the one before it.
    let last_ping = b.last_ping.take();
    let close_code = b.close_code.take();
    match end {
        End::Fail(_) if b.rng.chance(50) => b.junk(),
        End::Clean { .. } if family == F::CloseThenJunk => b.junk(),
        _ => {}
    }
    let session = Session {
        protocol: String::new(),
        messages,
        end,
        last_ping,
        close_code,
    };
    (b.out, after, session)
}

/// What the client sent after its upgrade request, as the server saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientReport {
    pub frames: usize,
    /// Frames without the mask bit (§5.1: a client masks every frame).
    pub unmasked: usize,
    /// Text, Binary and Continuation frames (the driver sends no message).
    pub data: usize,
    pub pongs: usize,
    /// `hash` of the last Pong's payload.
    pub last_pong: Option<u32>,
    /// The client's close frame: None if none came; Some(None) if it had no code.
    pub close: Option<Option<u16>>,
    /// Frames after the client's close frame (§5.5.1: none).
    pub after_close: usize,
    /// Bytes left over that are no whole frame.
    pub leftover: usize,
    /// How the client's side ended: `eof`, `reset` or `timeout`.
    pub end: String,
}

impl ClientReport {
    /// Parses the frames in `buf` (masked client frames), removing those it takes.
    pub fn feed(&mut self, buf: &mut Vec<u8>) {
        loop {
            if buf.len() < 2 {
                break;
            }
            let (first, second) = (buf[0], buf[1]);
            let masked = second & 0x80 != 0;
            let (len, mut at) = match second & 0x7F {
                126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
                127 if buf.len() >= 10 => (
                    u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")),
                    10,
                ),
                126 | 127 => break,
                n => (u64::from(n), 2),
            };
            let key = if masked {
                if buf.len() < at + 4 {
                    break;
                }
                at += 4;
                [buf[at - 4], buf[at - 3], buf[at - 2], buf[at - 1]]
            } else {
                [0; 4]
            };
            let Some(end) = usize::try_from(len).ok().and_then(|l| l.checked_add(at)) else {
                break;
            };
            if buf.len() < end {
                break;
            }
            let payload: Vec<u8> = buf[at..end]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            buf.drain(..end);
            self.frames += 1;
            if self.close.is_some() {
                self.after_close += 1;
            }
            if !masked {
                self.unmasked += 1;
            }
            match first & 0x0F {
                0..=2 => self.data += 1,
                0x8 => {
                    self.close = Some(
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]])),
                    )
                }
                0xA => {
                    self.pongs += 1;
                    self.last_pong = Some(hash(&payload));
                }
                _ => {}
            }
        }
        self.leftover = buf.len();
    }

    /// The `client=` field of the server's line.
    pub fn to_field(&self) -> String {
        let close = match self.close {
            None => "-".to_string(),
            Some(None) => "empty".to_string(),
            Some(Some(c)) => c.to_string(),
        };
        let last_pong = self
            .last_pong
            .map_or("-".to_string(), |h| format!("{h:08x}"));
        format!(
            "frames:{};unmasked:{};data:{};pongs:{};last_pong:{last_pong};close:{close};after_close:{};leftover:{};end:{}",
            self.frames, self.unmasked, self.data, self.pongs, self.after_close, self.leftover, self.end
        )
    }

    /// The report in a server line (`… client=FIELD`).
    pub fn from_line(line: &str) -> Option<ClientReport> {
        let (_, field) = line.rsplit_once(" client=")?;
        let mut r = ClientReport::default();
        for kv in field.split(';') {
            let (k, v) = kv.split_once(':')?;
            let num = || v.parse::<usize>().ok();
            match k {
                "frames" => r.frames = num()?,
                "unmasked" => r.unmasked = num()?,
                "data" => r.data = num()?,
                "pongs" => r.pongs = num()?,
                "last_pong" if v == "-" => r.last_pong = None,
                "last_pong" => r.last_pong = Some(u32::from_str_radix(v, 16).ok()?),
                "close" if v == "-" => r.close = None,
                "close" if v == "empty" => r.close = Some(None),
                "close" => r.close = Some(Some(v.parse().ok()?)),
                "after_close" => r.after_close = num()?,
                "leftover" => r.leftover = num()?,
                "end" => r.end = v.to_string(),
                _ => return None,
            }
        }
        Some(r)
    }

    /// What is wrong with what the client sent, by RFC 6455, given the expectation and
    /// whether the client connected; empty if nothing.
    pub fn problems(&self, expect: &Expect, connected: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !connected {
            if self.frames > 0 || self.leftover > 0 {
                out.push(format!(
                    "the client sent {} frame(s) (+{} bytes) after a failed handshake",
                    self.frames, self.leftover
                ));
            }
            return out;
        }
        if self.unmasked > 0 {
            out.push(format!("{} unmasked client frame(s) (§5.1)", self.unmasked));
        }
        if self.data > 0 {
            out.push(format!("{} data frame(s) from the client", self.data));
        }
        if self.leftover > 0 {
            out.push(format!(
                "the client's last {} bytes are no whole frame",
                self.leftover
            ));
        }
        if self.after_close > 0 {
            out.push(format!(
                "{} frame(s) after the client's close frame (§5.5.1)",
                self.after_close
            ));
        }
        let session = match expect {
            Expect::Connects(s) | Expect::ConnectsOrFails(s, _) => s,
            Expect::Fails(_) => return out,
        };
        match (&session.end, self.close) {
            (End::Clean { .. }, None) => {
                out.push("no close frame in reply to the server's (§5.5.1)".into())
            }
            (End::Clean { .. }, Some(Some(c))) if !code_allowed(c) => {
                out.push(format!("the client's close frame has code {c} (§7.4.1)"))
            }
            (End::Fail(code), close) if close != Some(Some(*code)) => out.push(format!(
                "the client failed the connection with close frame {close:?}, expected code {code} (§7.1.7)"
            )),
            _ => {}
        }
        if !matches!(session.end, End::Abnormal) {
            if let Some(ping) = &session.last_ping {
                if self.last_pong != Some(hash(ping)) {
                    out.push(format!(
                        "the last Ping (#{:08x}) was not answered last (last Pong: {:?}; §5.5.2, §5.5.3)",
                        hash(ping),
                        self.last_pong.map(|h| format!("#{h:08x}"))
                    ));
                }
            }
        }
        out
    }
}

/// A close code an endpoint may put on the wire (§7.4; 1012-1014 from the registry).
pub fn code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
