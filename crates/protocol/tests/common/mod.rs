//! Helpers shared by the in-memory tests: server frames built by hand, a run of
//! `FrameReader` over a byte stream cut at given points (its result in a form
//! where piece boundaries do not matter), and an independent decoder of the
//! client frames rtws writes.

#![allow(dead_code)] // each test file uses its own part of this module

use bytes::BytesMut;
use rtws_protocol::frames::{FrameReader, Incoming};
use rtws_protocol::DataKind;

// ----- Server frames ---------------------------------------------------------

/// FIN and the opcodes, for the first header byte.
pub const FIN: u8 = 0x80;
pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// How a frame's payload length is written (§5.2).
#[derive(Clone, Copy, Debug)]
pub enum Len {
    /// The shortest form, as the RFC requires of a sender.
    Minimal,
    /// 126 and a 16-bit length.
    U16,
    /// 127 and a 64-bit length.
    U64,
}

/// The header of an unmasked (server) frame: `b0` is FIN, RSV and the opcode.
pub fn header(b0: u8, len: u64, enc: Len) -> Vec<u8> {
    let mut v = vec![b0];
    match (enc, len) {
        (Len::Minimal, 0..=125) => v.push(len as u8),
        (Len::Minimal, 126..=65535) | (Len::U16, _) => {
            v.push(126);
            v.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (Len::Minimal, _) | (Len::U64, _) => {
            v.push(127);
            v.extend_from_slice(&len.to_be_bytes());
        }
    }
    v
}

/// A whole unmasked frame with the shortest length encoding.
pub fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = header(b0, payload.len() as u64, Len::Minimal);
    v.extend_from_slice(payload);
    v
}

/// A close frame's payload: the code, then the reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

pub fn concat<const N: usize>(parts: [Vec<u8>; N]) -> Vec<u8> {
    parts.concat()
}

/// `n` bytes that are not all alike (a payload whose bytes cannot be confused).
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// `n` bytes of valid UTF-8 mixing 1- to 4-byte characters (exactly `n`: the
/// end is padded with ASCII).
pub fn text(n: usize) -> Vec<u8> {
    let chars = ["a", "é", "€", "😀", "z", "\u{7ff}", "\u{ffff}", "\u{10000}"];
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let c = chars[i % chars.len()].as_bytes();
        if out.len() + c.len() <= n {
            out.extend_from_slice(c);
        } else {
            out.push(b'.');
        }
        i += 1;
    }
    out
}

// ----- Reading, with piece boundaries ignored ---------------------------------

/// What a reader handed out, with a message's pieces joined: how payload was cut
/// into pieces is the one thing allowed to depend on how the bytes arrived.
#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    /// A data message: its type, its payload so far, whether its last piece came.
    Message {
        kind: DataKind,
        payload: Vec<u8>,
        complete: bool,
    },
    Ping(Vec<u8>),
    Pong,
    Close(Option<(u16, String)>),
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every byte was fed and nothing more can be read: whether a message (or a
    /// frame header) is under way, and how much of the current frame is to come.
    Pending {
        mid_message: bool,
        frame_remaining: u64,
    },
    /// The reader refused the stream: the close code and the message.
    Violation { code: u16, message: String },
}

impl Verdict {
    pub fn code(&self) -> Option<u16> {
        match self {
            Verdict::Violation { code, .. } => Some(*code),
            Verdict::Pending { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub events: Vec<Ev>,
    pub verdict: Verdict,
}

/// The reader's settings for one stream.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    pub max_message: Option<u64>,
    pub binary_only: bool,
}

/// Feeds `stream` to a new reader in reads ending at `cuts` (increasing offsets;
/// the rest follows in a last read), reading all it can after each, and checks
/// each piece as it comes: `first` exactly on a message's first piece, one type
/// per message, no empty piece unless it ends its message, and every payload the
/// bytes just taken from the input.
pub fn run_cut(stream: &[u8], settings: Settings, cuts: &[usize]) -> Run {
    let mut reader = FrameReader::new(settings.max_message, settings.binary_only);
    let mut buf = BytesMut::new();
    let mut events: Vec<Ev> = Vec::new();
    // The index in `events` of the message whose pieces are arriving.
    let mut current: Option<usize> = None;
    let mut fed = 0;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        assert!(end >= fed && end <= stream.len(), "cuts must increase");
        buf.extend_from_slice(&stream[fed..end]);
        fed = end;
        loop {
            let incoming = match reader.next(&mut buf) {
                Ok(Some(incoming)) => incoming,
                Ok(None) => break,
                Err(v) => {
                    return Run {
                        events,
                        verdict: Verdict::Violation {
                            code: v.code,
                            message: v.message,
                        },
                    }
                }
            };
            let taken = fed - buf.len();
            let just_taken = |len: usize| &stream[taken - len..taken];
            match incoming {
                Incoming::Data {
                    kind,
                    first,
                    last,
                    payload,
                } => {
                    assert_eq!(
                        first,
                        current.is_none(),
                        "`first` on exactly the first piece"
                    );
                    assert!(
                        !payload.is_empty() || last,
                        "an empty piece before the last"
                    );
                    assert_eq!(&payload[..], just_taken(payload.len()), "payload bytes");
                    if first {
                        current = Some(events.len());
                        events.push(Ev::Message {
                            kind,
                            payload: Vec::new(),
                            complete: false,
                        });
                    }
                    let i = current.expect("a piece of a message");
                    let Ev::Message {
                        kind: k,
                        payload: p,
                        complete,
                    } = &mut events[i]
                    else {
                        unreachable!("`current` indexes a message");
                    };
                    assert_eq!(*k, kind, "the type changed within a message");
                    p.extend_from_slice(&payload);
                    *complete = last;
                    if last {
                        current = None;
                    }
                }
                Incoming::Ping(p) => {
                    assert_eq!(&p[..], just_taken(p.len()), "ping payload");
                    events.push(Ev::Ping(p.to_vec()));
                }
                Incoming::Pong => events.push(Ev::Pong),
                Incoming::Close(c) => events.push(Ev::Close(c)),
            }
        }
    }
    Run {
        events,
        verdict: Verdict::Pending {
            mid_message: reader.mid_message(&buf),
            frame_remaining: reader.frame_remaining(),
        },
    }
}

/// The whole stream in one read.
pub fn run_whole(stream: &[u8], settings: Settings) -> Run {
    run_cut(stream, settings, &[])
}

/// One byte per read.
pub fn run_bytewise(stream: &[u8], settings: Settings) -> Run {
    let cuts: Vec<usize> = (1..stream.len()).collect();
    run_cut(stream, settings, &cuts)
}

/// A run with other reads must end as the whole run did and hand out the same;
/// only before a violation may it have handed out more: the start of the bad
/// message's payload, which arrived before its bad byte (read whole, the frame
/// is refused before any of it is handed on).
pub fn assert_same_run(whole: &Run, other: &Run, what: &str) {
    assert_eq!(whole.verdict, other.verdict, "{what}: the verdict");
    if matches!(whole.verdict, Verdict::Pending { .. }) {
        assert_eq!(whole.events, other.events, "{what}: the events");
        return;
    }
    // Apart from the unfinished message (there is at most one: the current one),
    // the events must be equal; of that message the whole run may have handed
    // out a prefix of what the other did, or nothing.
    let split = |run: &Run| {
        let mut rest = Vec::new();
        let mut unfinished = None;
        for (i, e) in run.events.iter().enumerate() {
            match e {
                Ev::Message {
                    kind,
                    payload,
                    complete: false,
                } => unfinished = Some((i, *kind, payload.clone())),
                e => rest.push(e.clone()),
            }
        }
        (rest, unfinished)
    };
    let (rest_whole, unfinished_whole) = split(whole);
    let (rest_other, unfinished_other) = split(other);
    assert_eq!(
        rest_whole, rest_other,
        "{what}: the events before the violation"
    );
    let ok = match (&unfinished_whole, &unfinished_other) {
        (None, None | Some(_)) => true,
        (Some((i1, k1, p1)), Some((i2, k2, p2))) => i1 == i2 && k1 == k2 && p2.starts_with(p1),
        (Some(_), None) => false,
    };
    assert!(
        ok,
        "{what}: the unfinished message before the violation\nwhole: {unfinished_whole:?}\nother: {unfinished_other:?}"
    );
}

// ----- Client frames, decoded independently -------------------------------------

/// One frame a client wrote, unmasked with the mask it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientFrame {
    pub fin: bool,
    /// RSV1-3 (must be 0: no extension).
    pub rsv: u8,
    pub opcode: u8,
    pub mask: [u8; 4],
    pub payload: Vec<u8>,
}

/// Decodes `bytes` as whole client frames (RFC 6455 §5.2, written here without
/// rtws or tungstenite), checking what a server would: every frame masked, the
/// shortest length encoding, no reserved bits, control frames whole and ≤ 125.
/// Panics on anything else, and on a frame cut short.
pub fn decode_client(bytes: &[u8]) -> Vec<ClientFrame> {
    decode_client_with(bytes, 0)
}

/// `decode_client`, with the RSV bits in `allowed` accepted (an extension's).
pub fn decode_client_with(mut bytes: &[u8], allowed: u8) -> Vec<ClientFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "a frame header cut short");
        let (b0, b1) = (bytes[0], bytes[1]);
        assert!(b1 & 0x80 != 0, "a client frame must be masked (§5.3)");
        let (len, at) = match b1 & 0x7F {
            126 => {
                let len = u16::from_be_bytes([bytes[2], bytes[3]]) as u64;
                assert!(
                    len >= 126,
                    "a 16-bit length of {len}: not the shortest form"
                );
                (len, 4)
            }
            127 => {
                let len = u64::from_be_bytes(bytes[2..10].try_into().unwrap());
                assert!(
                    len > 65535,
                    "a 64-bit length of {len}: not the shortest form"
                );
                assert!(len >> 63 == 0, "the 64-bit length's top bit is set");
                (len, 10)
            }
            n => (n as u64, 2),
        };
        let mask: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        let start = at + 4;
        let len = len as usize;
        assert!(bytes.len() >= start + len, "a frame payload cut short");
        let payload: Vec<u8> = bytes[start..start + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        let f = ClientFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x7,
            opcode: b0 & 0x0F,
            mask,
            payload,
        };
        assert_eq!(f.rsv & !allowed, 0, "reserved bits in a client frame");
        if f.opcode >= 8 {
            assert!(f.fin, "a fragmented control frame");
            assert!(f.payload.len() <= 125, "a control frame over 125 bytes");
        }
        frames.push(f);
        bytes = &bytes[start + len..];
    }
    frames
}
