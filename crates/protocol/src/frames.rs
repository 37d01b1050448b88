//! WebSocket frames on the client side (RFC 6455 §5).
//!
//! tungstenite's message reader holds every message whole before handing it over;
//! StreamWebSocket and PartialMessage need payload as it arrives, so the
//! connection reads frames itself: `FrameReader` hands out payload pieces and
//! checks the rules tungstenite's reader checks (reserved bits, masking, opcodes,
//! fragmentation, control frame limits, UTF-8 of text and close reasons, close
//! codes, MaxMessageSize). Headers are read and written here, by hand (tungstenite's
//! `FrameHeader` did both before: the tests check the same bytes and verdicts).

use crate::DataKind;
use bytes::{Buf, Bytes, BytesMut};
pub use tungstenite::protocol::frame::coding::OpCode;
use tungstenite::protocol::frame::coding::{Control, Data};

pub const PROTOCOL_ERROR: u16 = 1002;
pub const UNSUPPORTED_DATA: u16 = 1003;
pub const INVALID_PAYLOAD: u16 = 1007;
pub const MESSAGE_TOO_BIG: u16 = 1009;

/// What the server sent, as far as it has arrived.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// Payload of a data message: `first` on its first piece, `last` on its final
    /// one (a message that arrives at once is one piece with both).
    Data {
        kind: DataKind,
        first: bool,
        last: bool,
        payload: Bytes,
    },
    Ping(Bytes),
    Pong,
    /// The peer's close frame: its code and reason, if it had any.
    Close(Option<(u16, String)>),
}

/// The server broke the protocol: the close code to send and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: u16,
    pub message: String,
}

fn violation(code: u16, what: impl std::fmt::Display) -> Violation {
    let message = match code {
        MESSAGE_TOO_BIG | UNSUPPORTED_DATA => what.to_string(),
        INVALID_PAYLOAD => format!("the server sent invalid UTF-8: {what}"),
        _ => format!("the server violated the WebSocket protocol: {what}"),
    };
    Violation { code, message }
}

/// A message whose payload is invalid UTF-8 (1007).
pub fn invalid_payload(what: &str) -> Violation {
    violation(INVALID_PAYLOAD, what)
}

/// A compressed message that does not inflate (1007: its payload is not what the
/// agreed extension says it is).
pub fn undecodable(what: &str) -> Violation {
    Violation {
        code: INVALID_PAYLOAD,
        message: format!("the server sent {what}"),
    }
}

/// A message over MaxMessageSize (1009).
pub fn too_big(size: u64, max: u64) -> Violation {
    violation(
        MESSAGE_TOO_BIG,
        format_args!(
            "the server sent a message of {size} bytes or more, over MaxMessageSize ({max})"
        ),
    )
}

/// Reads frames from the bytes received so far, handing payload on as it comes.
pub struct FrameReader {
    /// Payload bytes of the current data frame still to come (`in_frame`).
    remaining: u64,
    in_frame: bool,
    /// The current frame ends its message.
    fin: bool,
    /// The message in progress: its first frame arrived, its final one has not ended.
    message: Option<DataKind>,
    /// No piece of the current message handed on yet.
    first: bool,
    message_len: u64,
    max_message: Option<u64>,
    /// Text messages are refused (StreamWebSocket) with 1003 at their first
    /// header, whatever their content: a wrong type is not a bad payload.
    binary_only: bool,
    utf8: Utf8Check,
    /// permessage-deflate was agreed: RSV1 on a message's first frame is allowed.
    deflate: bool,
    /// The latest message is compressed (its first frame had RSV1): its payload
    /// is checked (UTF-8, size) once inflated, by the caller.
    compressed: bool,
}

impl FrameReader {
    /// `max_message`: the largest message accepted (MaxMessageSize); None: any.
    /// `binary_only`: a text message is a violation (close code 1003).
    pub fn new(max_message: Option<u64>, binary_only: bool) -> Self {
        FrameReader {
            remaining: 0,
            in_frame: false,
            fin: false,
            message: None,
            first: false,
            message_len: 0,
            max_message,
            binary_only,
            utf8: Utf8Check::default(),
            deflate: false,
            compressed: false,
        }
    }

    /// permessage-deflate was agreed (RFC 7692): RSV1 marks a compressed message.
    pub fn with_deflate(mut self) -> Self {
        self.deflate = true;
        self
    }

    /// Whether the latest message (the one whose payload is being handed on, or
    /// the last one) is compressed.
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// Payload bytes of the current data frame not handed on yet.
    pub fn frame_remaining(&self) -> u64 {
        if self.in_frame {
            self.remaining
        } else {
            0
        }
    }

    /// A message has begun and not ended (its data frames, or a frame header, are
    /// still arriving), given the bytes received and not yet read.
    pub fn mid_message(&self, unread: &[u8]) -> bool {
        self.in_frame || self.message.is_some() || !unread.is_empty()
    }

    /// The next thing `buf` holds, taking its bytes out of `buf`; `None` until more
    /// bytes arrive. Payload is split off `buf`, not copied.
    pub fn next(&mut self, buf: &mut BytesMut) -> std::result::Result<Option<Incoming>, Violation> {
        loop {
            if self.in_frame {
                let n = self.remaining.min(buf.len() as u64) as usize;
                if n == 0 && self.remaining > 0 {
                    return Ok(None);
                }
                let payload = buf.split_to(n).freeze();
                self.remaining -= n as u64;
                self.in_frame = self.remaining > 0;
                let last = !self.in_frame && self.fin;
                let kind = self.message.expect("a data frame belongs to a message");
                if kind == DataKind::Text && !self.compressed {
                    if !self.utf8.feed(&payload) {
                        return Err(violation(INVALID_PAYLOAD, "a text message"));
                    }
                    if last && !self.utf8.finish() {
                        return Err(violation(
                            INVALID_PAYLOAD,
                            "a text message ends mid-character",
                        ));
                    }
                }
                if payload.is_empty() && !last {
                    continue; // nothing to hand on: an empty non-final frame
                }
                if last {
                    self.message = None;
                }
                return Ok(Some(Incoming::Data {
                    kind,
                    first: std::mem::take(&mut self.first),
                    last,
                    payload,
                }));
            }
            let Some(header) = Header::parse(buf)? else {
                return Ok(None);
            };
            let len = header.len;
            // §5.2: "the most significant bit MUST be 0" in a 64-bit length.
            if len > i64::MAX as u64 {
                return Err(violation(
                    PROTOCOL_ERROR,
                    "a 64-bit payload length has its most significant bit set",
                ));
            }
            if header.rsv23 || (header.rsv1 && !self.deflate) {
                return Err(violation(
                    PROTOCOL_ERROR,
                    "reserved bits set (no extension was negotiated that defines them)",
                ));
            }
            // RFC 7692 §6: RSV1 only on a data message's first frame.
            if header.rsv1 && matches!(header.opcode, OP_CONTINUE | 8..) {
                return Err(violation(
                    PROTOCOL_ERROR,
                    "RSV1 set on a control or continuation frame",
                ));
            }
            if header.masked {
                return Err(violation(PROTOCOL_ERROR, "a server frame was masked"));
            }
            if header.opcode >= 8 {
                if !header.fin {
                    return Err(violation(PROTOCOL_ERROR, "a control frame was fragmented"));
                }
                if len > 125 {
                    return Err(violation(
                        PROTOCOL_ERROR,
                        "a control frame is over 125 bytes",
                    ));
                }
                if ((buf.len() - header.len_on_wire) as u64) < len {
                    return Ok(None); // control frames are handled whole
                }
                buf.advance(header.len_on_wire);
                let payload = buf.split_to(len as usize).freeze();
                return match header.opcode {
                    OP_CLOSE => close_payload(&payload).map(|c| Some(Incoming::Close(c))),
                    OP_PING => Ok(Some(Incoming::Ping(payload))),
                    _ => Ok(Some(Incoming::Pong)), // the only control opcode left
                };
            }
            match (header.opcode, self.message) {
                (OP_CONTINUE, None) => {
                    return Err(violation(
                        PROTOCOL_ERROR,
                        "a continuation frame without a message",
                    ))
                }
                (OP_CONTINUE, Some(_)) => {}
                (_, Some(_)) => {
                    return Err(violation(
                        PROTOCOL_ERROR,
                        "a new message began before the fragmented one ended",
                    ))
                }
                (OP_TEXT, None) if self.binary_only => {
                    return Err(violation(
                        UNSUPPORTED_DATA,
                        "the server sent a text message; a StreamWebSocket accepts binary messages only",
                    ))
                }
                (op, None) => {
                    self.message = Some(if op == OP_TEXT {
                        DataKind::Text
                    } else {
                        DataKind::Binary
                    });
                    self.first = true;
                    self.message_len = 0;
                    self.compressed = header.rsv1;
                }
            }
            self.message_len = self.message_len.saturating_add(len);
            if let Some(max) = self
                .max_message
                .filter(|max| self.message_len > *max && !self.compressed)
            {
                return Err(too_big(self.message_len, max));
            }
            buf.advance(header.len_on_wire);
            self.in_frame = true;
            self.remaining = len;
            self.fin = header.fin;
        }
    }
}

const OP_CONTINUE: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;

/// A frame header (§5.2) as received, before any rule but the opcode's is checked.
struct Header {
    fin: bool,
    rsv1: bool,
    /// RSV2 or RSV3: no extension rtws agrees to defines them.
    rsv23: bool,
    /// 0-2 or 8-10: the others are refused while parsing.
    opcode: u8,
    masked: bool,
    /// The payload length (its top bit not checked yet).
    len: u64,
    /// The header's own size: 2 bytes, the extended length, the mask key.
    len_on_wire: usize,
}

impl Header {
    /// The header at the start of `buf`; `None` until all of it has arrived. An
    /// unknown opcode is refused once the whole header is there, with the message
    /// tungstenite's `FrameHeader::parse` gave it (which this replaces: the same
    /// reading without a Cursor, an io::Read and its error type per frame).
    #[inline]
    fn parse(buf: &[u8]) -> Result<Option<Header>, Violation> {
        let (b0, b1) = match buf {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Ok(None),
        };
        let masked = b1 & 0x80 != 0;
        let extended = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let len_on_wire = 2 + extended + if masked { 4 } else { 0 };
        if buf.len() < len_on_wire {
            return Ok(None);
        }
        let len = match extended {
            0 => u64::from(b1 & 0x7F),
            2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            _ => u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")),
        };
        let opcode = b0 & 0x0F;
        if matches!(opcode, 3..=7 | 0xB..=0xF) {
            return Err(unknown_opcode(opcode));
        }
        Ok(Some(Header {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv23: b0 & 0x30 != 0,
            opcode,
            masked,
            len,
            len_on_wire,
        }))
    }
}

#[cold]
fn unknown_opcode(opcode: u8) -> Violation {
    violation(
        PROTOCOL_ERROR,
        format_args!("a frame with the unknown opcode {opcode}"),
    )
}

/// A close frame's payload: nothing, or a valid code and a UTF-8 reason (§5.5.1).
fn close_payload(p: &[u8]) -> std::result::Result<Option<(u16, String)>, Violation> {
    if p.is_empty() {
        return Ok(None);
    }
    if p.len() == 1 {
        return Err(violation(
            PROTOCOL_ERROR,
            "a close frame with a 1-byte payload",
        ));
    }
    let code = u16::from_be_bytes([p[0], p[1]]);
    if !close_code_allowed(code) {
        return Err(violation(
            PROTOCOL_ERROR,
            format_args!("close code {code} is not allowed on the wire"),
        ));
    }
    let reason =
        std::str::from_utf8(&p[2..]).map_err(|_| violation(INVALID_PAYLOAD, "a close reason"))?;
    Ok(Some((code, reason.to_owned())))
}

/// Whether a peer may send `code` in a close frame (RFC 6455 §7.4, and the IANA
/// registry of §11.7, which adds 1012-1014): 1004 is reserved, 1005, 1006 and
/// 1015 are never sent, 1016-2999 are kept for future revisions, 3000-4999 are
/// for libraries and applications.
fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// UTF-8 validation of a message that arrives in pieces: a character may be split
/// between pieces.
#[derive(Clone, Default)]
pub struct Utf8Check {
    pending: [u8; 4],
    len: usize,
}

impl Utf8Check {
    pub fn feed(&mut self, mut bytes: &[u8]) -> bool {
        if self.len > 0 {
            let width = match self.pending[0] {
                0xC2..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            while self.len < width && !bytes.is_empty() {
                self.pending[self.len] = bytes[0];
                self.len += 1;
                bytes = &bytes[1..];
            }
            match std::str::from_utf8(&self.pending[..self.len]) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_none() => return true, // still incomplete
                Err(_) => return false,
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) if e.error_len().is_none() => {
                let tail = &bytes[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.len = tail.len();
                true
            }
            Err(_) => false,
        }
    }

    /// The message ended: no character may be left half.
    pub fn finish(&mut self) -> bool {
        std::mem::take(&mut self.len) == 0
    }
}

/// Appends one masked client frame (§5.3) holding `payload` to `out`: the header
/// written by hand into one small array, then the payload masked as it is copied.
pub fn encode(out: &mut Vec<u8>, opcode: OpCode, fin: bool, payload: &[u8]) {
    encode_with(out, opcode, fin, false, payload);
}

/// `encode`, with RSV1 (a compressed message's first frame, RFC 7692 §6).
pub fn encode_with(out: &mut Vec<u8>, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
    out.reserve(14 + payload.len());
    let mask = encode_head(out, opcode, fin, rsv1, payload.len());
    copy_masked(out, payload, mask);
}

/// Appends the header of a masked client frame whose payload is `len` bytes, and
/// returns the mask its payload must be XORed with (`copy_masked`).
pub(crate) fn encode_head(
    out: &mut Vec<u8>,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    len: usize,
) -> [u8; 4] {
    // One u32 from the thread's CSPRNG (`[u8; 4]` would draw four).
    let mask = rand::random::<u32>().to_ne_bytes();
    let mut head = [0u8; 14];
    head[0] = u8::from(opcode) | if fin { 0x80 } else { 0 } | if rsv1 { 0x40 } else { 0 };
    // §5.2: the shortest of the 7-bit, 16-bit and 64-bit forms; the mask bit set.
    let n = if len < 126 {
        head[1] = 0x80 | len as u8;
        2
    } else if len <= 0xFFFF {
        head[1] = 0x80 | 126;
        head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        head[1] = 0x80 | 127;
        head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    head[n..n + 4].copy_from_slice(&mask);
    out.extend_from_slice(&head[..n + 4]);
    mask
}

/// Appends `payload` XORed with the mask to `out`. Blocks of 128 bytes are masked
/// on the stack and appended (one pass over the payload instead of a copy and
/// then a second pass to mask it); the rest is copied and masked in place. Every
/// block is a multiple of 4 bytes, so each starts at mask phase 0; so does a
/// payload masked in pieces whose lengths are multiples of 4.
pub(crate) fn copy_masked(out: &mut Vec<u8>, payload: &[u8], mask: [u8; 4]) {
    const BLOCK: usize = 128;
    let wide = wide_mask(mask);
    let mut blocks = payload.chunks_exact(BLOCK);
    for block in &mut blocks {
        let mut masked = [0u8; BLOCK];
        for (m, b) in masked.chunks_exact_mut(8).zip(block.chunks_exact(8)) {
            let v = u64::from_ne_bytes(b.try_into().expect("8 bytes")) ^ wide;
            m.copy_from_slice(&v.to_ne_bytes());
        }
        out.extend_from_slice(&masked);
    }
    let start = out.len();
    out.extend_from_slice(blocks.remainder());
    apply_mask(&mut out[start..], mask);
}

/// The opcode of a data frame: the message's type on its first frame.
pub fn data_opcode(kind: DataKind, first: bool) -> OpCode {
    OpCode::Data(match (first, kind) {
        (false, _) => Data::Continue,
        (true, DataKind::Binary) => Data::Binary,
        (true, DataKind::Text) => Data::Text,
    })
}

pub fn close_opcode() -> OpCode {
    OpCode::Control(Control::Close)
}

pub fn pong_opcode() -> OpCode {
    OpCode::Control(Control::Pong)
}

/// The mask repeated over a u64 (byte order as in memory).
fn wide_mask(mask: [u8; 4]) -> u64 {
    u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ])
}

/// XORs `buf` with the 4-byte mask, eight bytes at a time (which the compiler
/// turns into 16-byte SIMD; unaligned loads cost little).
fn apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    let wide = wide_mask(mask);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let v = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so the mask phase is 0 again.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use tungstenite::protocol::frame::FrameHeader;
    use DataKind::*;

    fn frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![first_byte];
        match payload.len() {
            n @ 0..=125 => v.push(n as u8),
            n @ 126..=65535 => {
                v.push(126);
                v.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                v.push(127);
                v.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        v.extend_from_slice(payload);
        v
    }

    fn all(reader: &mut FrameReader, buf: &mut BytesMut) -> Vec<Incoming> {
        let mut out = Vec::new();
        while let Some(i) = reader.next(buf).unwrap() {
            out.push(i);
        }
        out
    }

    fn data(kind: DataKind, first: bool, last: bool, p: &[u8]) -> Incoming {
        Incoming::Data {
            kind,
            first,
            last,
            payload: Bytes::copy_from_slice(p),
        }
    }

    #[test]
    fn whole_frames_pieces_and_fragments() {
        let mut r = FrameReader::new(None, false);
        let mut buf = BytesMut::from(&frame(0x82, b"abc")[..]);
        assert_eq!(
            all(&mut r, &mut buf),
            vec![data(Binary, true, true, b"abc")]
        );
        // A frame arriving in three reads is handed on in pieces.
        let f = frame(0x81, &[b'x'; 300]);
        let mut buf = BytesMut::from(&f[..3]);
        assert!(all(&mut r, &mut buf).is_empty(), "half a header");
        buf.extend_from_slice(&f[3..104]);
        assert_eq!(
            all(&mut r, &mut buf),
            vec![data(Text, true, false, &[b'x'; 100])]
        );
        assert!(r.mid_message(&buf));
        buf.extend_from_slice(&f[104..]);
        assert_eq!(
            all(&mut r, &mut buf),
            vec![data(Text, false, true, &[b'x'; 200])]
        );
        assert!(!r.mid_message(&buf));
        // Fragments with a ping between them.
        let mut bytes = frame(0x02, b"12");
        bytes.extend(frame(0x89, b"p"));
        bytes.extend(frame(0x00, b""));
        bytes.extend(frame(0x80, b"3"));
        let mut buf = BytesMut::from(&bytes[..]);
        assert_eq!(
            all(&mut r, &mut buf),
            vec![
                data(Binary, true, false, b"12"),
                Incoming::Ping(Bytes::from_static(b"p")),
                data(Binary, false, true, b"3"),
            ]
        );
        // An empty message is one empty piece.
        let mut buf = BytesMut::from(&frame(0x82, b"")[..]);
        assert_eq!(all(&mut r, &mut buf), vec![data(Binary, true, true, b"")]);
    }

    #[test]
    fn violations_carry_their_close_codes() {
        let code = |bytes: Vec<u8>, max: Option<u64>| {
            let mut r = FrameReader::new(max, false);
            let mut buf = BytesMut::from(&bytes[..]);
            loop {
                match r.next(&mut buf) {
                    Ok(Some(_)) => continue,
                    Ok(None) => return None,
                    Err(v) => return Some(v.code),
                }
            }
        };
        assert_eq!(code(frame(0xC2, b"a"), None), Some(1002), "rsv1");
        assert_eq!(
            code(frame(0x80, b"a"), None),
            Some(1002),
            "continuation first"
        );
        assert_eq!(code(frame(0x83, b"a"), None), Some(1002), "reserved opcode");
        assert_eq!(code(frame(0x09, b"a"), None), Some(1002), "fragmented ping");
        assert_eq!(code(frame(0x89, &[0; 126]), None), Some(1002), "big ping");
        let mut two = frame(0x01, b"a");
        two.extend(frame(0x81, b"b"));
        assert_eq!(code(two, None), Some(1002), "interleaved messages");
        assert_eq!(code(frame(0x81, &[0xFF]), None), Some(1007), "bad UTF-8");
        assert_eq!(
            code(frame(0x81, &[0xE2, 0x82]), None),
            Some(1007),
            "cut character"
        );
        assert_eq!(code(frame(0x82, &[0; 11]), Some(10)), Some(1009), "too big");
        assert_eq!(
            code(frame(0x88, &[3, 0xED]), None),
            Some(1002),
            "close 1005 sent"
        );
        assert_eq!(code(frame(0x88, &[3]), None), Some(1002), "1-byte close");
        for (wire, allowed) in [(1014u16, true), (1012, true), (1004, false), (1016, false)] {
            let got = code(frame(0x88, &wire.to_be_bytes()), None);
            assert_eq!(got.is_none(), allowed, "close code {wire}");
        }
        assert_eq!(
            code(frame(0x88, &[3, 0xE8, 0xFF]), None),
            Some(1007),
            "bad reason"
        );
        let mut masked = frame(0x82, b"");
        masked[1] |= 0x80;
        masked.extend([0, 0, 0, 0]);
        assert_eq!(code(masked, None), Some(1002), "masked");
        // A StreamWebSocket refuses text as such, valid UTF-8 or not.
        for text in [&b"ok"[..], &[0xFF]] {
            let mut r = FrameReader::new(None, true);
            let mut buf = BytesMut::from(&frame(0x81, text)[..]);
            assert_eq!(r.next(&mut buf).unwrap_err().code, 1003, "text {text:?}");
        }
        let mut huge = vec![0x82, 127];
        huge.extend((1u64 << 63).to_be_bytes());
        assert_eq!(
            code(huge, None),
            Some(1002),
            "64-bit length with its top bit set"
        );
    }

    #[test]
    fn utf8_split_anywhere_is_accepted() {
        let text = "aé€😀z".as_bytes();
        for cut in 0..=text.len() {
            for cut2 in cut..=text.len() {
                let mut c = Utf8Check::default();
                assert!(c.feed(&text[..cut]) && c.feed(&text[cut..cut2]) && c.feed(&text[cut2..]));
                assert!(c.finish(), "cuts {cut} {cut2}");
            }
        }
        let mut c = Utf8Check::default();
        assert!(
            c.feed(&[0xF0, 0x9F]) && !c.feed(&[0x41]),
            "a broken 4-byte character"
        );
    }

    /// `Header::parse` reads every header as tungstenite's `FrameHeader::parse`
    /// did: every first and second byte, every extended length form, every
    /// prefix (None until complete), the same unknown-opcode refusal.
    #[test]
    fn header_parse_agrees_with_tungstenite_on_every_header() {
        let tails: [&[u8]; 3] = [
            &[
                0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
            ],
            &[0xFF; 12],
            &[0x80, 0, 0, 0, 0, 0, 0, 0x7E, 0xAA, 0xBB, 0xCC, 0xDD],
        ];
        for b0 in 0..=255u8 {
            for b1 in 0..=255u8 {
                for tail in tails {
                    let mut bytes = vec![b0, b1];
                    bytes.extend_from_slice(tail);
                    for cut in 0..=bytes.len() {
                        let buf = &bytes[..cut];
                        let mut cursor = Cursor::new(buf);
                        let theirs = FrameHeader::parse(&mut cursor);
                        let ours = Header::parse(buf);
                        match (theirs, ours) {
                            (Ok(None), Ok(None)) => {}
                            (Ok(Some((h, len))), Ok(Some(o))) => {
                                assert_eq!(o.fin, h.is_final);
                                assert_eq!((o.rsv1, o.rsv23), (h.rsv1, h.rsv2 || h.rsv3));
                                assert_eq!(o.opcode, u8::from(h.opcode));
                                assert_eq!(o.masked, h.mask.is_some());
                                assert_eq!(o.len, len);
                                assert_eq!(o.len_on_wire as u64, cursor.position());
                            }
                            (Err(_), Err(v)) => {
                                // tungstenite refuses only unknown opcodes here.
                                assert_eq!(v, unknown_opcode(buf[0] & 0x0F));
                            }
                            (t, o) => panic!(
                                "{buf:02x?}: tungstenite {t:?}, ours {:?}",
                                o.map(|h| h.map(|h| (h.opcode, h.len)))
                            ),
                        }
                    }
                }
            }
        }
    }

    /// Masking byte by byte, as §5.3 states it.
    fn masked_bytewise(p: &[u8], mask: [u8; 4]) -> Vec<u8> {
        p.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect()
    }

    #[test]
    fn masking_matches_the_bytewise_definition_at_any_length_and_offset() {
        let mask = [0x6d, 0xb6, 0xb2, 0x80];
        let payload: Vec<u8> = (0..700u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in (0..=300).chain([383, 384, 385, 511, 512, 513, 700]) {
            let p = &payload[..len];
            let want = masked_bytewise(p, mask);
            // In place, starting at every alignment.
            for off in 0..8 {
                let mut buf = vec![0xAAu8; off];
                buf.extend_from_slice(p);
                apply_mask(&mut buf[off..], mask);
                assert_eq!(&buf[off..], &want[..], "in place: len {len} offset {off}");
            }
            // Appended after what the output already holds (a header of any size).
            for before in [0usize, 1, 6, 13] {
                let mut out = vec![0x55u8; before];
                copy_masked(&mut out, p, mask);
                assert_eq!(&out[..before], &vec![0x55u8; before][..]);
                assert_eq!(
                    &out[before..],
                    &want[..],
                    "appended: len {len} after {before}"
                );
            }
        }
    }

    #[test]
    fn encoded_frames_parse_back_unmasked() {
        for len in [0usize, 5, 125, 126, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            encode(&mut out, data_opcode(Binary, true), true, &payload);
            let mut cursor = Cursor::new(&out[..]);
            let (h, n) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
            assert_eq!(n, len as u64);
            let mask = h.mask.unwrap();
            let mut body = out[cursor.position() as usize..].to_vec();
            apply_mask(&mut body, mask);
            assert_eq!(body, payload);
        }
    }
}
