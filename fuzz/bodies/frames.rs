//! Target `frames`: the frame reader (`rtws_protocol::frames::FrameReader`), which
//! reads whatever the server sends after the handshake.
//!
//! Properties:
//! - Split invariance: the bytes fed whole, in the chunk sizes the input names,
//!   and one byte at a time give the same messages, control frames and end (the
//!   same violation, or the same "mid message" state). Payload pieces may be cut
//!   differently; they are compared as a flat sequence of bytes and markers. Only
//!   at a violation may a split run have handed out more: the bytes of the bad
//!   frame that came before its bad byte (a whole run refuses the frame at once).
//! - The whole run equals `reference`, an independent reading of RFC 6455 §5.
//! - Every payload handed out is the exact bytes just consumed from the input
//!   (never more than was fed, never copied from elsewhere); pieces of a message
//!   have one type, `first` only on the first and `last` only on the last, and
//!   none is empty unless it is the last.
//! - A violation carries 1002, 1003, 1007 or 1009 with its HRESULT and a message;
//!   it ends the run (the connection stops reading at its first violation).

use super::input::Input;
use bytes::BytesMut;
use rtws_protocol::frames::{FrameReader, Incoming};
use rtws_protocol::DataKind;
use rtws_types::{E_INVALID_PROTOCOL_FORMAT, RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE};

/// The inputs above this size are not also fed one byte at a time (time).
const BYTEWISE_LIMIT: usize = 1 << 16;

/// One test case, as encoded in the fuzz input:
/// `[max kind][max: 0, 1, 2 or 8 bytes][chunk count][chunk sizes...][stream...]`.
#[derive(Debug, Clone, Default)]
pub struct FrameCase {
    /// MaxMessageSize (None: no limit).
    pub max_message: Option<u64>,
    /// Sizes of the reads the split run gets, used in turn (0: a read of nothing).
    pub chunks: Vec<u8>,
    /// What the server sent.
    pub stream: Vec<u8>,
}

impl FrameCase {
    pub fn decode(data: &[u8]) -> Self {
        let mut input = Input::new(data);
        let max_message = match input.u8() % 4 {
            0 => None,
            1 => Some(u64::from(input.u8())),
            2 => Some(u64::from(input.u16())),
            _ => Some(input.u64()),
        };
        let n = usize::from(input.u8() % 16);
        let chunks = input.bytes(n).to_vec();
        FrameCase {
            max_message,
            chunks,
            stream: input.rest().to_vec(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.max_message {
            None => out.push(0),
            Some(m) if m <= 0xFF => out.extend([1, m as u8]),
            Some(m) if m <= 0xFFFF => {
                out.push(2);
                out.extend((m as u16).to_le_bytes());
            }
            Some(m) => {
                out.push(3);
                out.extend(m.to_le_bytes());
            }
        }
        assert!(self.chunks.len() < 16, "at most 15 chunk sizes");
        out.push(self.chunks.len() as u8);
        out.extend(&self.chunks);
        out.extend(&self.stream);
        out
    }
}

/// The flat form results are compared in: how the payload was cut into pieces
/// is the one thing allowed to differ between runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// A message begins (0: binary, 1: text).
    Start(u8),
    Byte(u8),
    /// The message ended.
    End,
    Ping(Vec<u8>),
    Pong,
    Close(Option<(u16, String)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    /// Every byte was read; `mid_message` as `FrameReader::mid_message` says.
    Pending {
        mid_message: bool,
    },
    Violation {
        code: u16,
        hr: i32,
        message: String,
    },
}

#[derive(Debug)]
pub struct Run {
    pub atoms: Vec<Atom>,
    pub end: RunEnd,
}

fn kind_code(kind: DataKind) -> u8 {
    match kind {
        DataKind::Binary => 0,
        DataKind::Text => 1,
    }
}

/// Feeds `stream` to a new reader in reads of the sizes `chunks` gives in turn
/// (None: all at once), checking each thing handed out as it comes.
pub fn run_reader(stream: &[u8], max_message: Option<u64>, chunks: Option<&[u8]>) -> Run {
    let mut reader = FrameReader::new(max_message, false);
    let mut buf = BytesMut::new();
    let mut atoms = Vec::new();
    let mut fed = 0usize;
    let mut in_message: Option<u8> = None;
    // A sequence of zero sizes would never feed anything: read one byte at a time.
    let sizes: &[u8] = match chunks {
        Some(c) if c.iter().any(|&n| n > 0) => c,
        Some(_) => &[1],
        None => &[],
    };
    let mut turn = 0usize;
    loop {
        let left = stream.len() - fed;
        let n = match sizes {
            [] => left,
            _ => usize::from(sizes[turn % sizes.len()]).min(left),
        };
        turn += 1;
        buf.extend_from_slice(&stream[fed..fed + n]);
        fed += n;
        loop {
            match reader.next(&mut buf) {
                Ok(Some(incoming)) => {
                    let consumed = fed - buf.len();
                    record(stream, consumed, incoming, &mut in_message, &mut atoms);
                }
                Ok(None) => break,
                Err(v) => {
                    // The error the API reports for it.
                    let error = rtws_core::net::protocol_errors::violation(&v);
                    assert!(
                        matches!(v.code, 1002 | 1003 | 1007 | 1009),
                        "violation with close code {}: {}",
                        v.code,
                        error.message
                    );
                    let want_hr = if v.code == 1009 {
                        RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE
                    } else {
                        E_INVALID_PROTOCOL_FORMAT
                    };
                    assert_eq!(error.hr, want_hr, "HRESULT of a {} violation", v.code);
                    assert!(!error.message.is_empty(), "a violation without a message");
                    return Run {
                        atoms,
                        end: RunEnd::Violation {
                            code: v.code,
                            hr: error.hr,
                            message: error.message.into_owned(),
                        },
                    };
                }
            }
        }
        if fed == stream.len() {
            break;
        }
    }
    Run {
        atoms,
        end: RunEnd::Pending {
            mid_message: reader.mid_message(&buf),
        },
    }
}

/// Checks one thing the reader handed out (its bytes are the last `consumed` of
/// the input read so far) and appends it to `atoms`.
fn record(
    stream: &[u8],
    consumed: usize,
    incoming: Incoming,
    in_message: &mut Option<u8>,
    atoms: &mut Vec<Atom>,
) {
    // The bytes a payload must be: the last ones taken from the input.
    let just_read = |len: usize| -> &[u8] {
        assert!(
            len <= consumed,
            "{len} payload bytes out of {consumed} read"
        );
        &stream[consumed - len..consumed]
    };
    match incoming {
        Incoming::Data {
            kind,
            first,
            last,
            payload,
        } => {
            let kind = kind_code(kind);
            assert_eq!(
                first,
                in_message.is_none(),
                "`first` must mark exactly the first piece of a message"
            );
            if let Some(k) = *in_message {
                assert_eq!(k, kind, "the type changed within a message");
            }
            assert!(
                !payload.is_empty() || last,
                "an empty piece that does not end its message"
            );
            assert_eq!(&payload[..], just_read(payload.len()), "payload bytes");
            if first {
                atoms.push(Atom::Start(kind));
            }
            atoms.extend(payload.iter().map(|&b| Atom::Byte(b)));
            if last {
                atoms.push(Atom::End);
                *in_message = None;
            } else {
                *in_message = Some(kind);
            }
        }
        Incoming::Ping(payload) => {
            assert!(payload.len() <= 125, "a ping of {} bytes", payload.len());
            assert_eq!(&payload[..], just_read(payload.len()), "ping payload");
            atoms.push(Atom::Ping(payload.to_vec()));
        }
        Incoming::Pong => atoms.push(Atom::Pong),
        Incoming::Close(close) => {
            if let Some((code, reason)) = &close {
                let mut wire = code.to_be_bytes().to_vec();
                wire.extend(reason.as_bytes());
                assert_eq!(&wire[..], just_read(wire.len()), "close payload");
            }
            atoms.push(Atom::Close(close));
        }
    }
}

/// Close codes a peer may send (RFC 6455 §7.4 and the IANA registry of §11.7).
fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What a reader given all of `stream` at once must hand out: RFC 6455 §5 for a
/// client without extensions, written independently of `FrameReader`. Returns
/// the atoms and how it ends (a violation's close code, or "mid message").
pub fn reference(stream: &[u8], max_message: Option<u64>) -> (Vec<Atom>, Result<bool, u16>) {
    let mut atoms = Vec::new();
    let mut pos = 0usize;
    // The message in progress: its type, length so far, and whether a piece of it
    // was handed out.
    let mut message: Option<(u8, u64, bool)> = None;
    // Text bytes not yet known to be valid: the start of a character cut by a frame.
    let mut text_tail: Vec<u8> = Vec::new();
    loop {
        let rest = &stream[pos..];
        if rest.len() < 2 {
            return (atoms, Ok(message.is_some() || !rest.is_empty()));
        }
        let (b0, b1) = (rest[0], rest[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        let masked = b1 & 0x80 != 0;
        let extended = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header = 2 + extended + if masked { 4 } else { 0 };
        if rest.len() < header {
            return (atoms, Ok(true));
        }
        let len = match extended {
            0 => u64::from(b1 & 0x7F),
            2 => u64::from(u16::from_be_bytes([rest[2], rest[3]])),
            _ => u64::from_be_bytes(rest[2..10].try_into().expect("8 bytes")),
        };
        let reserved_opcode = matches!(opcode, 3..=7 | 0xB..=0xF);
        let msb = extended == 8 && len >> 63 != 0;
        if reserved_opcode || b0 & 0x70 != 0 || masked || msb {
            return (atoms, Err(1002));
        }
        if opcode >= 8 {
            if !fin || len > 125 {
                return (atoms, Err(1002));
            }
            let len = len as usize;
            if rest.len() < header + len {
                return (atoms, Ok(true));
            }
            let payload = &rest[header..header + len];
            pos += header + len;
            match opcode {
                8 if payload.is_empty() => atoms.push(Atom::Close(None)),
                8 if payload.len() == 1 => return (atoms, Err(1002)),
                8 => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    if !close_code_allowed(code) {
                        return (atoms, Err(1002));
                    }
                    match std::str::from_utf8(&payload[2..]) {
                        Ok(reason) => atoms.push(Atom::Close(Some((code, reason.to_owned())))),
                        Err(_) => return (atoms, Err(1007)),
                    }
                }
                9 => atoms.push(Atom::Ping(payload.to_vec())),
                _ => atoms.push(Atom::Pong),
            }
            continue;
        }
        let (kind, so_far, started) = match (opcode, message) {
            (0, None) | (1 | 2, Some(_)) => return (atoms, Err(1002)),
            (0, Some(m)) => m,
            _ => {
                text_tail.clear();
                (if opcode == 1 { 1 } else { 0 }, 0, false)
            }
        };
        let total = so_far.saturating_add(len);
        if max_message.is_some_and(|max| total > max) {
            return (atoms, Err(1009));
        }
        let available = (rest.len() - header) as u64;
        let complete = available >= len;
        let payload = &rest[header..header + len.min(available) as usize];
        pos += header + payload.len();
        let ends_message = complete && fin;
        if kind == 1 {
            text_tail.extend_from_slice(payload);
            match std::str::from_utf8(&text_tail) {
                Ok(_) => text_tail.clear(),
                Err(e) if e.error_len().is_none() => {
                    text_tail.drain(..e.valid_up_to());
                }
                Err(_) => return (atoms, Err(1007)),
            }
            if ends_message && !text_tail.is_empty() {
                return (atoms, Err(1007));
            }
        }
        let mut started = started;
        if !payload.is_empty() || ends_message {
            if !started {
                atoms.push(Atom::Start(kind));
                started = true;
            }
            atoms.extend(payload.iter().map(|&b| Atom::Byte(b)));
            if ends_message {
                atoms.push(Atom::End);
            }
        }
        message = (!ends_message).then_some((kind, total, started));
        if !complete {
            return (atoms, Ok(true));
        }
    }
}

/// Split runs may hand out more than the whole run only before a violation, and
/// only the start of the bad message's bytes.
fn assert_same(what: &str, whole: &Run, split: &Run) {
    assert_eq!(whole.end, split.end, "{what}: how the run ended");
    if matches!(whole.end, RunEnd::Pending { .. }) {
        if whole.atoms != split.atoms {
            let at = whole
                .atoms
                .iter()
                .zip(&split.atoms)
                .position(|(a, b)| a != b)
                .unwrap_or(whole.atoms.len().min(split.atoms.len()));
            panic!(
                "{what}: the runs differ at atom {at}: whole {:?}, split {:?}",
                whole.atoms.get(at),
                split.atoms.get(at)
            );
        }
        return;
    }
    assert!(
        split.atoms.len() >= whole.atoms.len() && split.atoms[..whole.atoms.len()] == whole.atoms,
        "{what}: before the violation, the split run must hand out what the whole run did"
    );
    let extra = &split.atoms[whole.atoms.len()..];
    assert!(
        extra
            .iter()
            .enumerate()
            .all(|(i, a)| matches!(a, Atom::Byte(_)) || (i == 0 && matches!(a, Atom::Start(_)))),
        "{what}: before the violation the split run handed out more than message bytes: {extra:?}"
    );
}

/// Returns the close code of the violation the input ends with, if any (the
/// seeded test counts them to show its inputs reach every kind of refusal).
pub fn run(data: &[u8]) -> Option<u16> {
    let case = FrameCase::decode(data);
    let stream = &case.stream;
    let whole = run_reader(stream, case.max_message, None);

    let (atoms, end) = reference(stream, case.max_message);
    let ref_end = match (&whole.end, end) {
        (RunEnd::Pending { mid_message }, Ok(mid)) => mid == *mid_message,
        (RunEnd::Violation { code, .. }, Err(c)) => *code == c,
        _ => false,
    };
    assert!(
        ref_end,
        "the reader ended with {:?}, the reference with {end:?}",
        whole.end
    );
    assert_eq!(whole.atoms, atoms, "the reader and the reference disagree");

    let split = run_reader(stream, case.max_message, Some(&case.chunks));
    assert_same("input chunks", &whole, &split);
    if stream.len() <= BYTEWISE_LIMIT {
        let bytewise = run_reader(stream, case.max_message, Some(&[1]));
        assert_same("one byte at a time", &whole, &bytewise);
    }
    match whole.end {
        RunEnd::Violation { code, .. } => Some(code),
        RunEnd::Pending { .. } => None,
    }
}
