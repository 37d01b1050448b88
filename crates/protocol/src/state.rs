//! The client side of one WebSocket connection after the handshake, without I/O:
//! fed the bytes received, it hands out data and queues what must be sent. It
//! owns the rules of RFC 6455 that span frames: the close handshake, automatic
//! pongs, outgoing fragmentation and the UTF-8 check of outgoing text.
//!
//! The caller (rtws-core's session) moves bytes: it reads into a buffer and calls
//! `read`, writes `output()` and reports what went with `consumed`, and keeps
//! the time (timeouts are not protocol rules).

use crate::deflate::{Agreed, Deflater, Inflater};
use crate::frames::{self, FrameReader, Incoming, Utf8Check, Violation};
use crate::DataKind;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;

/// A payload longer than this, sent from shared bytes (`send_shared`), is masked
/// into the output a piece of this size at a time as the output drains, instead
/// of copied whole: a 16 MiB message costs 1 MiB of output beside its own bytes,
/// not 16 MiB more (256 KiB pieces measured slower: more, shorter writes). A
/// multiple of 4, so every piece starts at mask phase 0.
const PIECE: usize = 1024 * 1024;

/// Output not yet in `out`, in order.
enum Later {
    /// Whole frames queued behind a payload still being masked.
    Frames(Vec<u8>),
    /// The rest of a frame's payload, from `at` on (a multiple of `PIECE`).
    Payload {
        bytes: Bytes,
        at: usize,
        mask: [u8; 4],
    },
}

/// What `read` hands out.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// Payload of a data message: `first` on its first piece, `last` on its final
    /// one (a message that arrives at once is one piece with both).
    Data {
        kind: DataKind,
        first: bool,
        last: bool,
        payload: Bytes,
    },
    /// The peer's close frame came (its code and reason are `peer_close`); our
    /// reply is queued. Nothing more is read.
    PeerClosed,
    /// The peer broke the protocol: a close frame with `Violation::code` is
    /// queued, and nothing more is read or sent.
    Violation,
}

/// Why `send_data` refused a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The message is text and these bytes would make it invalid UTF-8 (or it
    /// ends mid-character). The message's state is as before the call.
    InvalidUtf8,
}

/// The close code a connection that ended without a close frame reports
/// (RFC 6455 §7.1.5); never sent.
pub const ABNORMAL_CLOSURE: u16 = 1006;
/// The code reported for a close frame without one (§7.1.5); never sent.
pub const NO_STATUS_RECEIVED: u16 = 1005;

/// How the connection ended, as far as the protocol knows.
#[derive(Debug, PartialEq, Eq)]
pub enum Closure {
    /// The peer's close frame: its code (1005 for none) and reason.
    Peer(u16, String),
    /// We failed the connection for this violation (and said so in our close frame).
    Failed(Violation),
    /// Neither: the connection was lost (1006).
    Abnormal,
}

/// One connection's protocol state (client side).
pub struct Protocol {
    reader: FrameReader,
    /// Output not yet taken by the caller: `out[out_pos..]`, then `later`.
    out: Vec<u8>,
    out_pos: usize,
    /// What follows `out` (see `PIECE`): nonempty only while `out` is, so
    /// `output()` is never empty while something is unwritten.
    later: VecDeque<Later>,
    /// The bytes `later` holds.
    later_len: usize,
    /// Bytes ever queued (counting from `new`'s `already_queued`), so a frame's
    /// end offset, compared with the bytes written, tells when it is out.
    queued: u64,
    /// Pings are answered at once while less than this is unwritten.
    out_limit: usize,
    /// An outgoing message was begun without FIN.
    sending_fragments: bool,
    /// The type of the outgoing message (of its first frame), and its UTF-8 check.
    outgoing_kind: DataKind,
    outgoing_utf8: Utf8Check,
    close_sent: bool,
    peer_close: Option<(u16, String)>,
    failure: Option<Violation>,
    /// The latest ping's payload, answered once the output drains below
    /// `out_limit`: a peer that pings and never reads gets one pong, not a queue
    /// of them (RFC 6455 §5.5.3 allows answering the most recent only).
    pending_pong: Option<Bytes>,
    max_message: Option<u64>,
    /// permessage-deflate, when agreed.
    deflate: Option<Box<Deflate>>,
}

/// The state of permessage-deflate on a connection: allocated only when agreed.
struct Deflate {
    agreed: Agreed,
    /// Each made for the first message that needs it (an idle connection holds
    /// neither), and let go on idle when nothing carries over between messages
    /// (no context takeover that way). Never made for our messages when an 8-bit
    /// window was asked of us: they go uncompressed.
    deflater: Option<Deflater>,
    inflater: Option<Inflater>,
    /// The compressed form of the frame being queued.
    scratch: Vec<u8>,
    /// The compressed message arriving: its kind, whether its first piece is still
    /// to be handed out, its size so far (inflated) and its UTF-8 check.
    message: Option<(DataKind, bool, u64, Utf8Check)>,
    /// The piece of a compressed frame being inflated: its bytes, how many went in,
    /// and whether it ends the message.
    input: Option<(Bytes, usize, bool)>,
}

impl Protocol {
    /// `max_message`: the largest message accepted (None: any). `binary_only`: a
    /// text message is a violation (1003). `already_queued`: bytes sent before
    /// (the upgrade request), where frame offsets start. `out_limit`: see
    /// `pending_pong`.
    pub fn new(
        max_message: Option<u64>,
        binary_only: bool,
        already_queued: u64,
        out_limit: usize,
    ) -> Self {
        Protocol {
            reader: FrameReader::new(max_message, binary_only),
            out: Vec::new(),
            out_pos: 0,
            later: VecDeque::new(),
            later_len: 0,
            queued: already_queued,
            out_limit,
            sending_fragments: false,
            outgoing_kind: DataKind::Binary,
            outgoing_utf8: Utf8Check::default(),
            close_sent: false,
            peer_close: None,
            failure: None,
            pending_pong: None,
            max_message,
            deflate: None,
        }
    }

    /// permessage-deflate was agreed with these parameters (RFC 7692).
    pub fn with_deflate(mut self, agreed: Agreed) -> Self {
        self.reader = self.reader.with_deflate();
        self.deflate = Some(Box::new(Deflate {
            agreed,
            deflater: None,
            inflater: None,
            scratch: Vec::new(),
            message: None,
            input: None,
        }));
        self
    }

    // ----- Receiving ---------------------------------------------------------

    /// The next event `buf` holds, taking its bytes out of `buf` (payload is split
    /// off, not copied); `None` until more bytes arrive, and after the peer's
    /// close frame or a violation (reading is over then).
    pub fn read(&mut self, buf: &mut BytesMut) -> Option<Event> {
        while self.reading() {
            if let Some(event) = self.inflate_next() {
                return Some(event);
            }
            match self.reader.next(buf) {
                Ok(None) => return None,
                Ok(Some(Incoming::Data {
                    kind,
                    first,
                    last,
                    payload,
                })) => match self.deflate.as_mut() {
                    Some(d) if self.reader.compressed() => {
                        if first {
                            d.message = Some((kind, true, 0, Utf8Check::default()));
                        }
                        d.input = Some((payload, 0, last));
                    }
                    _ => {
                        return Some(Event::Data {
                            kind,
                            first,
                            last,
                            payload,
                        })
                    }
                },
                Ok(Some(Incoming::Ping(payload))) => self.on_ping(payload),
                Ok(Some(Incoming::Pong)) => {}
                Ok(Some(Incoming::Close(frame))) => {
                    // Our reply echoes the code (§5.5.1), unless ours went first.
                    self.send_close(frame.as_ref().map(|(code, _)| (*code, "")));
                    self.peer_close = Some(frame.unwrap_or((NO_STATUS_RECEIVED, String::new())));
                    return Some(Event::PeerClosed);
                }
                Err(v) => return Some(self.violated(v)),
            }
        }
        None
    }

    /// Our close frame names why (§7.4.1); the connection ends once it is written,
    /// without waiting for a reply.
    fn violated(&mut self, v: Violation) -> Event {
        self.send_close(Some((v.code, "")));
        self.failure = Some(v);
        Event::Violation
    }

    /// The next piece of the compressed message being inflated, if its input
    /// holds one: at most `crate::deflate::PIECE` bytes, so a small frame that inflates
    /// to far more is handed out (and checked against MaxMessageSize) piece by
    /// piece, never held whole.
    fn inflate_next(&mut self) -> Option<Event> {
        let max_message = self.max_message;
        let d = self.deflate.as_mut()?;
        let (input, taken, last) = d.input.as_mut()?;
        let mut out = Vec::new();
        let agreed = d.agreed;
        let inflater = d.inflater.get_or_insert_with(|| Inflater::new(&agreed));
        let (used, done) = match inflater.inflate(&input[*taken..], *last, &mut out) {
            Ok(r) => r,
            Err(why) => return Some(self.violated(frames::undecodable(&why))),
        };
        *taken += used;
        let message_end = done && *last;
        if done {
            d.input = None;
        }
        let (kind, first, size, utf8) = d.message.as_mut().expect("a compressed message");
        *size += out.len() as u64;
        let violation = match max_message.filter(|max| *size > *max) {
            Some(max) => Some(frames::too_big(*size, max)),
            None if *kind == DataKind::Text
                && !(utf8.feed(&out) && (!message_end || utf8.finish())) =>
            {
                Some(frames::invalid_payload("a compressed text message"))
            }
            None => None,
        };
        // A piece of input that made no output yet hands nothing out: read on.
        let event =
            (violation.is_none() && (message_end || !out.is_empty())).then(|| Event::Data {
                kind: *kind,
                first: std::mem::take(first),
                last: message_end,
                payload: Bytes::from(out),
            });
        if message_end {
            d.message = None;
        }
        match violation {
            Some(v) => Some(self.violated(v)),
            None => event,
        }
    }

    /// A compressed message is being inflated: more of it may come out of `read`
    /// without another byte from the network.
    pub fn inflating(&self) -> bool {
        self.deflate.as_ref().is_some_and(|d| d.input.is_some())
    }

    /// Reading goes on: no close frame from the peer, no violation.
    pub fn reading(&self) -> bool {
        self.peer_close.is_none() && self.failure.is_none()
    }

    fn on_ping(&mut self, payload: Bytes) {
        if self.close_sent {
            return; // nothing may follow our close frame (§5.5.1)
        }
        if self.unwritten() < self.out_limit {
            // A ping held back before is answered by this newer pong: it must not
            // follow with its older payload.
            self.pending_pong = None;
            self.queue(frames::pong_opcode(), true, &payload);
        } else {
            // A copy: the payload is a slice of the read buffer, which it would
            // keep whole.
            self.pending_pong = Some(Bytes::copy_from_slice(&payload));
        }
    }

    /// Queues the pong of a ping that came while the output was full, once it has
    /// drained below the limit. True when one was queued.
    pub fn answer_pending_ping(&mut self) -> bool {
        if self.unwritten() >= self.out_limit || self.close_sent {
            return false;
        }
        match self.pending_pong.take() {
            Some(payload) => {
                self.queue(frames::pong_opcode(), true, &payload);
                true
            }
            None => false,
        }
    }

    /// A message has begun to arrive and not ended, given the bytes received and
    /// not yet read.
    pub fn mid_message(&self, unread: &[u8]) -> bool {
        self.reader.mid_message(unread)
    }

    /// Payload bytes of the current data frame not handed out yet.
    pub fn frame_remaining(&self) -> u64 {
        self.reader.frame_remaining()
    }

    // ----- Sending -----------------------------------------------------------

    /// No message is half sent: the next data frame begins one.
    pub fn between_messages(&self) -> bool {
        !self.sending_fragments
    }

    /// Queues one data frame: the first of a message takes `kind` (later ones keep
    /// the message's), `fin` ends the message. Returns the offset where the frame
    /// ends (see `written` in the caller's terms: `queued` counts from `new`).
    pub fn send_data(
        &mut self,
        kind: DataKind,
        fin: bool,
        payload: &[u8],
    ) -> Result<u64, SendError> {
        self.send_frame(kind, fin, payload, None)
    }

    /// `send_data` from bytes the protocol may keep: a long uncompressed payload is
    /// masked into the output piece by piece as it drains (`PIECE`), not copied.
    pub fn send_shared(
        &mut self,
        kind: DataKind,
        fin: bool,
        payload: Bytes,
    ) -> Result<u64, SendError> {
        self.send_frame(kind, fin, &payload, Some(&payload))
    }

    fn send_frame(
        &mut self,
        kind: DataKind,
        fin: bool,
        payload: &[u8],
        shared: Option<&Bytes>,
    ) -> Result<u64, SendError> {
        let first = !self.sending_fragments;
        if first {
            self.outgoing_kind = kind;
            self.outgoing_utf8 = Utf8Check::default();
        }
        // Checked on a copy: a refused frame leaves the message's state as it was.
        if self.outgoing_kind == DataKind::Text {
            let mut checked = self.outgoing_utf8.clone();
            if !(checked.feed(payload) && (!fin || checked.finish())) {
                if first {
                    self.outgoing_utf8 = Utf8Check::default();
                }
                return Err(SendError::InvalidUtf8);
            }
            self.outgoing_utf8 = checked;
        }
        let opcode = frames::data_opcode(self.outgoing_kind, first);
        match self.deflate.as_mut() {
            Some(d) if Deflater::compresses(&d.agreed) => {
                let agreed = d.agreed;
                let deflater = d.deflater.get_or_insert_with(|| Deflater::new(&agreed));
                let mut compressed = std::mem::take(&mut d.scratch);
                compressed.clear();
                deflater.compress(payload, fin, &mut compressed);
                self.queue_with(opcode, fin, first, &compressed);
                if let Some(d) = self.deflate.as_mut() {
                    d.scratch = compressed;
                }
            }
            _ => match shared {
                Some(bytes) if bytes.len() > PIECE => self.queue_in_pieces(opcode, fin, bytes),
                _ => self.queue(opcode, fin, payload),
            },
        }
        self.sending_fragments = !fin;
        Ok(self.queued)
    }

    /// Queues a frame whose payload is masked into `out` a piece at a time. With
    /// nothing waiting in `later`, its header and first piece go into `out` at once
    /// (one write, not a lone header first).
    fn queue_in_pieces(&mut self, opcode: frames::OpCode, fin: bool, payload: &Bytes) {
        let len = payload.len();
        if self.later.is_empty() {
            let before = self.out.len();
            let mask = frames::encode_head(&mut self.out, opcode, fin, false, len);
            self.queued += (self.out.len() - before + len) as u64;
            self.out.reserve(PIECE);
            frames::copy_masked(&mut self.out, &payload[..PIECE], mask);
            self.push_later(Later::Payload {
                bytes: payload.clone(),
                at: PIECE,
                mask,
            });
            return;
        }
        let mut head = Vec::with_capacity(14);
        let mask = frames::encode_head(&mut head, opcode, fin, false, len);
        self.queued += (head.len() + len) as u64;
        self.push_later(Later::Frames(head));
        self.push_later(Later::Payload {
            bytes: payload.clone(),
            at: 0,
            mask,
        });
    }

    /// An unsolicited pong (a keepalive, §5.5.3), unless we are closing.
    pub fn send_keepalive(&mut self) -> bool {
        if self.close_sent || self.peer_close.is_some() {
            return false;
        }
        self.queue(frames::pong_opcode(), true, &[]);
        true
    }

    /// Queues our close frame (once): its code and reason, or none (an empty
    /// close frame). True when this call queued it.
    pub fn send_close(&mut self, status: Option<(u16, &str)>) -> bool {
        if self.close_sent {
            return false;
        }
        self.close_sent = true;
        let mut payload = Vec::new();
        if let Some((code, reason)) = status {
            payload.extend_from_slice(&code.to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        }
        self.queue(frames::close_opcode(), true, &payload);
        true
    }

    /// Our close frame is queued: no more data may be sent.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    fn queue(&mut self, opcode: frames::OpCode, fin: bool, payload: &[u8]) {
        self.queue_with(opcode, fin, false, payload);
    }

    fn queue_with(&mut self, opcode: frames::OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        if self.later.is_empty() {
            let before = self.out.len();
            frames::encode_with(&mut self.out, opcode, fin, rsv1, payload);
            self.queued += (self.out.len() - before) as u64;
        } else {
            let mut frame = Vec::new();
            frames::encode_with(&mut frame, opcode, fin, rsv1, payload);
            self.queued += frame.len() as u64;
            self.push_later(Later::Frames(frame));
        }
    }

    /// Appends to what follows `out`, then fills `out` if it is empty.
    fn push_later(&mut self, later: Later) {
        match (self.later.back_mut(), later) {
            (Some(Later::Frames(tail)), Later::Frames(more)) => {
                self.later_len += more.len();
                tail.extend_from_slice(&more);
            }
            (_, later) => {
                self.later_len += match &later {
                    Later::Frames(v) => v.len(),
                    Later::Payload { bytes, at, .. } => bytes.len() - at,
                };
                self.later.push_back(later);
            }
        }
        if self.out_pos == self.out.len() {
            self.refill();
        }
    }

    /// Moves what comes next from `later` into the empty `out`: whole frames, and
    /// at most one piece of a payload.
    fn refill(&mut self) {
        self.out.clear();
        self.out_pos = 0;
        while let Some(next) = self.later.front_mut() {
            match next {
                Later::Frames(v) => {
                    self.later_len -= v.len();
                    // The grown buffer stays (OUT_KEEP's reuse), unless this one is larger.
                    if self.out.is_empty() && v.capacity() > self.out.capacity() {
                        std::mem::swap(&mut self.out, v);
                    } else {
                        self.out.extend_from_slice(v);
                    }
                    self.later.pop_front();
                }
                Later::Payload { bytes, at, mask } => {
                    let n = PIECE.min(bytes.len() - *at);
                    self.out.reserve(n);
                    frames::copy_masked(&mut self.out, &bytes[*at..*at + n], *mask);
                    *at += n;
                    self.later_len -= n;
                    if *at == bytes.len() {
                        self.later.pop_front();
                    }
                    break;
                }
            }
        }
    }

    // ----- Output ------------------------------------------------------------

    /// The bytes to write next.
    pub fn output(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// How many bytes wait to be written.
    pub fn unwritten(&self) -> usize {
        self.out.len() - self.out_pos + self.later_len
    }

    /// Bytes ever queued, counting from `new`'s `already_queued`.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// `n` bytes of `output()` were written.
    pub fn consumed(&mut self, n: usize) {
        self.out_pos += n.min(self.out.len() - self.out_pos);
        if self.out_pos == self.out.len() {
            self.refill();
        }
    }

    /// The output buffer's capacity (it keeps what it grew to, up to a piece more
    /// than the largest output written at once).
    pub fn output_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Lets the output buffer's memory go, if nothing waits in it, and (on an
    /// idle connection) a compressor or decompressor that carries nothing over
    /// between messages: it is made again for the next message.
    pub fn release_output(&mut self) {
        if self.unwritten() == 0 {
            self.out = Vec::new();
            self.later = VecDeque::new();
        }
        let mid_send = self.sending_fragments;
        if let Some(d) = self.deflate.as_mut() {
            d.scratch = Vec::new();
            if d.agreed.client_no_context_takeover && !mid_send {
                d.deflater = None;
            }
            if d.agreed.server_no_context_takeover && d.message.is_none() {
                d.inflater = None;
            }
        }
    }

    // ----- The end -----------------------------------------------------------

    /// The peer's close frame, once it came: its code (1005 for none) and reason.
    pub fn peer_close(&self) -> Option<&(u16, String)> {
        self.peer_close.as_ref()
    }

    /// The violation we failed the connection for, if any.
    pub fn failure(&self) -> Option<&Violation> {
        self.failure.as_ref()
    }

    /// How the connection ended: with the peer's close frame if the close
    /// handshake got that far; else with the violation we sent a close frame for;
    /// else abnormally.
    pub fn closure(&mut self) -> Closure {
        if let Some((code, reason)) = self.peer_close.take() {
            Closure::Peer(code, reason)
        } else if let Some(v) = self.failure.take() {
            Closure::Failed(v)
        } else {
            Closure::Abnormal
        }
    }
}
