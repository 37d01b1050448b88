//! `state::Protocol` in memory: what it answers to what it reads (pongs, the
//! close handshake, violations), what it writes when sending (fragmentation and
//! its UTF-8 check), and its output buffer. Everything it writes is decoded by
//! the test's own decoder (`common::decode_client`), which checks that every
//! client frame is masked and unmasks it with the mask the frame carries.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use rtws_protocol::state::{Closure, Event, Protocol, SendError, NO_STATUS_RECEIVED};
use rtws_protocol::DataKind::{Binary, Text};

/// A protocol, its read buffer, and the bytes "written" from its output so far.
struct Conn {
    p: Protocol,
    buf: BytesMut,
    wire: Vec<u8>,
}

impl Conn {
    fn new(p: Protocol) -> Self {
        Conn {
            p,
            buf: BytesMut::new(),
            wire: Vec::new(),
        }
    }

    fn with_limit(out_limit: usize) -> Self {
        Conn::new(Protocol::new(None, false, 0, out_limit))
    }

    /// Receives `bytes` and reads every event they hold.
    fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        std::iter::from_fn(|| self.p.read(&mut self.buf)).collect()
    }

    /// Writes `n` bytes of the output (as a socket taking part of it would).
    fn write(&mut self, n: usize) {
        self.wire.extend_from_slice(&self.p.output()[..n]);
        self.p.consumed(n);
    }

    fn write_all(&mut self) {
        while self.p.unwritten() > 0 {
            self.write(self.p.output().len());
        }
    }

    /// Writes the whole output and decodes what was written since the last call,
    /// as (opcode, FIN, payload).
    fn sent(&mut self) -> Vec<(u8, bool, Vec<u8>)> {
        self.write_all();
        let frames = decode_client(&std::mem::take(&mut self.wire));
        frames
            .into_iter()
            .map(|f| (f.opcode, f.fin, f.payload))
            .collect()
    }
}

fn pong(payload: &[u8]) -> (u8, bool, Vec<u8>) {
    (PONG, true, payload.to_vec())
}

fn close(code: Option<u16>) -> (u8, bool, Vec<u8>) {
    (
        CLOSE,
        true,
        code.map_or(vec![], |c| c.to_be_bytes().to_vec()),
    )
}

fn data(kind: rtws_protocol::DataKind, first: bool, last: bool, p: &[u8]) -> Event {
    Event::Data {
        kind,
        first,
        last,
        payload: Bytes::copy_from_slice(p),
    }
}

// ----- Receiving: pongs ------------------------------------------------------------

#[test]
fn a_ping_is_answered_with_a_pong_carrying_its_payload() {
    let mut c = Conn::with_limit(1 << 20);
    for payload in [&b""[..], b"hello", &pattern(125)] {
        assert!(c.feed(&frame(FIN | PING, payload)).is_empty(), "no event");
        assert_eq!(c.sent(), vec![pong(payload)]);
    }
    // Two pings in one read: two pongs, in order.
    c.feed(&concat([frame(FIN | PING, b"1"), frame(FIN | PING, b"2")]));
    assert_eq!(c.sent(), vec![pong(b"1"), pong(b"2")]);
    // A pong from the peer is answered with nothing.
    assert!(c.feed(&frame(FIN | PONG, b"x")).is_empty());
    assert_eq!(c.p.unwritten(), 0);
}

#[test]
fn pings_between_fragments_are_answered_and_the_message_goes_on() {
    let mut c = Conn::with_limit(1 << 20);
    let events = c.feed(&concat([
        frame(TEXT, b"ab"),
        frame(FIN | PING, b"1"),
        frame(FIN | CONT, b"c"),
    ]));
    assert_eq!(
        events,
        vec![
            data(Text, true, false, b"ab"),
            data(Text, false, true, b"c")
        ]
    );
    assert_eq!(c.sent(), vec![pong(b"1")]);
}

#[test]
fn with_the_output_over_its_limit_only_the_latest_ping_is_answered_once() {
    // A 10-byte binary frame is 16 bytes on the wire (2 + 4 of mask + 10).
    let limit = 16;
    let mut c = Conn::with_limit(limit);
    // Just under the limit: answered at once.
    c.p.send_data(Binary, true, &[0; 9]).unwrap();
    assert_eq!(c.p.unwritten(), limit - 1);
    c.feed(&frame(FIN | PING, b"now"));
    assert_eq!(c.sent(), vec![(BINARY, true, vec![0; 9]), pong(b"now")]);

    // At the limit: held back.
    c.p.send_data(Binary, true, &[1; 10]).unwrap();
    assert_eq!(c.p.unwritten(), limit);
    for ping in [&b"1"[..], b"22", b"333"] {
        assert!(c.feed(&frame(FIN | PING, ping)).is_empty());
        assert_eq!(c.p.unwritten(), limit, "nothing queued for the ping");
    }
    assert!(
        !c.p.answer_pending_ping(),
        "the output is still at the limit"
    );
    c.write(1);
    assert!(c.p.answer_pending_ping(), "under the limit now");
    assert!(!c.p.answer_pending_ping(), "answered once");
    // The data frame (its first byte written before), then one pong: the latest.
    assert_eq!(c.sent(), vec![(BINARY, true, vec![1; 10]), pong(b"333")]);
    assert!(!c.p.answer_pending_ping(), "nothing pending");

    // Over the limit, then drained completely: still one pong.
    c.p.send_data(Binary, true, &[2; 40]).unwrap();
    c.feed(&concat([frame(FIN | PING, b"a"), frame(FIN | PING, b"b")]));
    c.write_all();
    assert!(c.p.answer_pending_ping());
    assert_eq!(c.sent(), vec![(BINARY, true, vec![2; 40]), pong(b"b")]);
}

#[test]
fn a_held_ping_is_superseded_by_a_newer_one_answered_at_once() {
    let mut c = Conn::with_limit(16);
    c.p.send_data(Binary, true, &[1; 10]).unwrap();
    assert!(c.feed(&frame(FIN | PING, b"old")).is_empty(), "held back");
    c.write_all();
    // Drained, and a newer ping comes before the held one was answered.
    c.feed(&frame(FIN | PING, b"new"));
    assert!(!c.p.answer_pending_ping(), "the newer pong answered both");
    assert_eq!(c.sent(), vec![(BINARY, true, vec![1; 10]), pong(b"new")]);
}

#[test]
fn no_pong_and_no_keepalive_after_our_close() {
    let mut c = Conn::with_limit(1 << 20);
    assert!(c.p.send_keepalive(), "a keepalive before closing");
    assert_eq!(c.sent(), vec![pong(b"")]);
    assert!(c.p.send_close(Some((1000, "bye"))));
    assert!(c.p.close_sent());
    assert!(!c.p.send_close(Some((1001, ""))), "one close frame only");
    assert!(c.feed(&frame(FIN | PING, b"late")).is_empty());
    assert!(!c.p.send_keepalive());
    assert!(!c.p.answer_pending_ping());
    let mut want = close(Some(1000));
    want.2.extend(b"bye");
    assert_eq!(c.sent(), vec![want]);

    // A ping held back before our close is not answered after it.
    let mut c = Conn::with_limit(8);
    c.p.send_data(Binary, true, &[0; 8]).unwrap();
    c.feed(&frame(FIN | PING, b"held"));
    c.p.send_close(None);
    c.write_all();
    assert!(!c.p.answer_pending_ping());
    assert_eq!(c.sent(), vec![(BINARY, true, vec![0; 8]), close(None)]);
}

// ----- Receiving: the close handshake --------------------------------------------

#[test]
fn the_peers_close_is_echoed_with_its_code_and_reading_stops() {
    let mut c = Conn::with_limit(1 << 20);
    let events = c.feed(&concat([
        frame(FIN | BINARY, b"before"),
        frame(FIN | CLOSE, &close_payload(1001, b"going away")),
        frame(FIN | BINARY, b"after"),
        frame(FIN | PING, b"after"),
    ]));
    assert_eq!(
        events,
        vec![data(Binary, true, true, b"before"), Event::PeerClosed]
    );
    assert!(!c.p.reading());
    assert_eq!(
        c.p.read(&mut c.buf),
        None,
        "nothing is read after the close"
    );
    assert_eq!(c.p.peer_close(), Some(&(1001, "going away".to_string())));
    // The echo carries the code, not the reason; no pong for the later ping.
    assert_eq!(c.sent(), vec![close(Some(1001))]);
    assert!(c.p.close_sent());
    assert!(!c.p.send_keepalive());
    assert_eq!(c.p.closure(), Closure::Peer(1001, "going away".into()));
}

#[test]
fn an_empty_close_is_echoed_empty_and_reported_as_1005() {
    let mut c = Conn::with_limit(1 << 20);
    assert_eq!(c.feed(&frame(FIN | CLOSE, b"")), vec![Event::PeerClosed]);
    assert_eq!(c.sent(), vec![close(None)]);
    assert_eq!(c.p.peer_close(), Some(&(NO_STATUS_RECEIVED, String::new())));
    assert_eq!(c.p.closure(), Closure::Peer(1005, String::new()));
}

#[test]
fn the_peers_close_after_ours_is_not_answered() {
    let mut c = Conn::with_limit(1 << 20);
    c.p.send_close(Some((4000, "")));
    assert_eq!(
        c.feed(&frame(FIN | CLOSE, &close_payload(1000, b""))),
        vec![Event::PeerClosed]
    );
    assert_eq!(c.sent(), vec![close(Some(4000))]);
    assert_eq!(c.p.closure(), Closure::Peer(1000, String::new()));
}

#[test]
fn a_close_mid_message_ends_reading() {
    let mut c = Conn::with_limit(1 << 20);
    let events = c.feed(&concat([frame(TEXT, b"par"), frame(FIN | CLOSE, b"")]));
    assert_eq!(
        events,
        vec![data(Text, true, false, b"par"), Event::PeerClosed]
    );
    assert!(c.p.mid_message(&c.buf), "the message never ended");
    assert_eq!(c.sent(), vec![close(None)]);
}

#[test]
fn closure_without_a_close_frame_is_abnormal() {
    let mut c = Conn::with_limit(1 << 20);
    c.feed(&frame(FIN | BINARY, b"x"));
    assert_eq!(c.p.closure(), Closure::Abnormal);
    assert!(c.p.reading());
}

// ----- Receiving: violations -----------------------------------------------------

#[test]
fn a_violation_queues_a_close_with_its_code_and_closure_reports_failed() {
    // (what, stream, max_message, binary_only, close code)
    type Case = (&'static str, Vec<u8>, Option<u64>, bool, u16);
    let cases: [Case; 5] = [
        (
            "masked",
            {
                let mut f = frame(FIN | BINARY, b"");
                f[1] |= 0x80;
                f.extend([0; 4]);
                f
            },
            None,
            false,
            1002,
        ),
        (
            "text on binary-only",
            frame(FIN | TEXT, b"t"),
            None,
            true,
            1003,
        ),
        ("bad UTF-8", frame(FIN | TEXT, &[0xFF]), None, false, 1007),
        (
            "too big",
            frame(FIN | BINARY, &[0; 5]),
            Some(4),
            false,
            1009,
        ),
        (
            "bad close code",
            frame(FIN | CLOSE, &close_payload(1005, b"")),
            None,
            false,
            1002,
        ),
    ];
    for (what, stream, max, binary_only, code) in cases {
        let mut c = Conn::new(Protocol::new(max, binary_only, 0, 1 << 20));
        let events = c.feed(&concat([
            frame(FIN | BINARY, b"ok"),
            stream,
            frame(FIN | PING, b""),
        ]));
        assert_eq!(
            events,
            vec![data(Binary, true, true, b"ok"), Event::Violation],
            "{what}"
        );
        assert!(!c.p.reading());
        assert_eq!(c.p.read(&mut c.buf), None, "{what}: nothing read after it");
        assert_eq!(c.p.failure().map(|v| v.code), Some(code), "{what}");
        assert_eq!(
            c.sent(),
            vec![close(Some(code))],
            "{what}: no pong after it"
        );
        assert!(!c.p.send_keepalive());
        match c.p.closure() {
            Closure::Failed(v) => {
                assert_eq!(v.code, code, "{what}");
                assert!(!v.message.is_empty());
            }
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn a_violation_after_our_close_sends_nothing_more() {
    let mut c = Conn::with_limit(1 << 20);
    c.p.send_close(Some((1000, "")));
    assert_eq!(c.feed(&frame(FIN | TEXT, &[0xC0])), vec![Event::Violation]);
    assert_eq!(c.sent(), vec![close(Some(1000))]);
    assert!(matches!(c.p.closure(), Closure::Failed(v) if v.code == 1007));
}

#[test]
fn a_violation_found_piece_by_piece_stops_the_message() {
    // The bad byte arrives after part of the message was handed out.
    let mut c = Conn::with_limit(1 << 20);
    let f = frame(FIN | TEXT, b"abc\xFFdef");
    assert_eq!(c.feed(&f[..4]), vec![data(Text, true, false, b"ab")]);
    assert_eq!(c.feed(&f[4..]), vec![Event::Violation]);
    assert_eq!(c.sent(), vec![close(Some(1007))]);
}

// ----- Sending ------------------------------------------------------------------------

#[test]
fn a_fragmented_message_has_continuation_opcodes_and_fin_on_its_last_frame() {
    let mut c = Conn::with_limit(1 << 20);
    for (kind, op) in [(Binary, BINARY), (Text, TEXT)] {
        assert!(c.p.between_messages());
        c.p.send_data(kind, false, b"one").unwrap();
        assert!(!c.p.between_messages());
        // The kind of later frames is the message's, whatever is passed.
        c.p.send_data(Binary, false, b"two").unwrap();
        c.p.send_data(kind, true, b"three").unwrap();
        assert!(c.p.between_messages());
        assert_eq!(
            c.sent(),
            vec![
                (op, false, b"one".to_vec()),
                (CONT, false, b"two".to_vec()),
                (CONT, true, b"three".to_vec()),
            ]
        );
    }
    // Empty frames, whole and fragmented.
    c.p.send_data(Text, true, b"").unwrap();
    c.p.send_data(Binary, false, b"").unwrap();
    c.p.send_data(Binary, true, b"").unwrap();
    assert_eq!(
        c.sent(),
        vec![
            (TEXT, true, vec![]),
            (BINARY, false, vec![]),
            (CONT, true, vec![])
        ]
    );
}

#[test]
fn text_with_a_character_split_across_frames_is_accepted() {
    let t = "a€😀".as_bytes();
    for cut in 0..=t.len() {
        let mut c = Conn::with_limit(1 << 20);
        c.p.send_data(Text, false, &t[..cut]).unwrap();
        c.p.send_data(Text, true, &t[cut..]).unwrap();
        let sent = c.sent();
        assert_eq!(sent[0], (TEXT, false, t[..cut].to_vec()));
        assert_eq!(sent[1], (CONT, true, t[cut..].to_vec()));
    }
    // One byte per frame.
    let mut c = Conn::with_limit(1 << 20);
    for (i, b) in t.iter().enumerate() {
        c.p.send_data(Text, i == t.len() - 1, &[*b]).unwrap();
    }
    let joined: Vec<u8> = c.sent().into_iter().flat_map(|f| f.2).collect();
    assert_eq!(joined, t);
}

#[test]
fn invalid_text_is_refused_and_leaves_the_message_as_it_was() {
    let mut c = Conn::with_limit(1 << 20);
    let euro = "€".as_bytes();
    let offset = c.p.send_data(Text, false, &[b'a', euro[0]]).unwrap();
    for bad in [&[0xFF][..], b"x", &[0x82, b'x'], &[0xC3]] {
        let fin = bad == [0xC3];
        let before = (c.p.unwritten(), c.p.queued());
        assert_eq!(
            c.p.send_data(Text, fin, bad),
            Err(SendError::InvalidUtf8),
            "{bad:02x?}"
        );
        assert_eq!((c.p.unwritten(), c.p.queued()), before, "nothing queued");
        assert!(!c.p.between_messages(), "the message goes on");
    }
    // Ending the message mid-character is refused too.
    assert_eq!(
        c.p.send_data(Text, true, &euro[1..2]),
        Err(SendError::InvalidUtf8)
    );
    // The next valid frame continues the same message (and the same character).
    assert!(c.p.send_data(Text, true, &euro[1..]).unwrap() > offset);
    assert_eq!(
        c.sent(),
        vec![
            (TEXT, false, vec![b'a', euro[0]]),
            (CONT, true, euro[1..].to_vec())
        ]
    );

    // A refused first frame begins no message; the next message is whatever it is.
    assert_eq!(
        c.p.send_data(Text, false, &[0xFF]),
        Err(SendError::InvalidUtf8)
    );
    assert!(c.p.between_messages());
    assert_eq!(
        c.p.send_data(Text, true, &[0xE2, 0x82]),
        Err(SendError::InvalidUtf8)
    );
    assert!(c.p.between_messages());
    c.p.send_data(Binary, true, &[0xFF]).unwrap();
    // A fresh text message starts with a fresh check (no state left from before).
    c.p.send_data(Text, true, "é".as_bytes()).unwrap();
    assert_eq!(
        c.sent(),
        vec![
            (BINARY, true, vec![0xFF]),
            (TEXT, true, "é".as_bytes().to_vec())
        ]
    );
    // A binary message continued with a Text kind is not checked: it is binary.
    c.p.send_data(Binary, false, b"a").unwrap();
    c.p.send_data(Text, true, &[0xFF]).unwrap();
    assert_eq!(
        c.sent(),
        vec![(BINARY, false, b"a".to_vec()), (CONT, true, vec![0xFF])]
    );
}

#[test]
fn send_data_offsets_add_up_with_queued() {
    let already = 123u64; // the upgrade request
    let mut c = Conn::new(Protocol::new(None, false, already, 1 << 20));
    assert_eq!(c.p.queued(), already);
    let mut end = already;
    // Frame sizes: 2 + 4 (mask) up to 125, 4 + 4 up to 65535, 10 + 4 beyond.
    for (len, header) in [
        (0, 6),
        (125, 6),
        (126, 8),
        (65535, 8),
        (65536, 14),
        (100_000, 14),
    ] {
        let offset = c.p.send_data(Binary, true, &pattern(len)).unwrap();
        end += (header + len) as u64;
        assert_eq!(offset, end, "the frame of {len} bytes ends there");
        assert_eq!(c.p.queued(), end);
    }
    assert_eq!(c.p.unwritten() as u64, end - already);
    // Control frames count too.
    c.p.send_keepalive();
    c.p.send_close(Some((1000, "r")));
    assert_eq!(c.p.queued(), end + 6 + (6 + 3));
    let sizes: Vec<usize> = c.sent().iter().map(|f| f.2.len()).collect();
    assert_eq!(sizes, [0, 125, 126, 65535, 65536, 100_000, 0, 3]);
    // Written bytes do not change the count.
    assert_eq!(c.p.queued(), end + 15);
}

#[test]
fn a_long_shared_payload_goes_out_in_pieces_and_in_order() {
    const MIB: usize = 1024 * 1024;
    let mut c = Conn::with_limit(1 << 30);
    let big = pattern(5 * MIB + 3); // pieces of 1 MiB, and 3 bytes more
    let end1 =
        c.p.send_shared(Binary, true, Bytes::from(big.clone()))
            .unwrap();
    // On an idle connection the header goes out with the first piece, not alone.
    assert_eq!(c.p.output().len(), 10 + 4 + MIB);
    // Queued behind it: a second long message, a text message, and a pong.
    let big2 = pattern(2 * MIB + 1);
    let end2 =
        c.p.send_shared(Binary, true, Bytes::from(big2.clone()))
            .unwrap();
    let end3 =
        c.p.send_shared(Text, true, Bytes::from_static(b"after"))
            .unwrap();
    assert!(c.feed(&frame(FIN | PING, b"p")).is_empty());
    let total = c.p.unwritten();
    assert_eq!(
        end1 as usize,
        10 + 4 + big.len(),
        "offsets count the whole frame"
    );
    assert_eq!(end2 as usize, end1 as usize + 10 + 4 + big2.len());
    assert_eq!(end3 as usize, end2 as usize + 2 + 4 + 5);
    assert_eq!(total as u64, end3 + 2 + 4 + 1);
    // Written in odd-sized parts: the output is never empty while bytes remain,
    // and never holds much more than a piece.
    let mut left = total;
    while left > 0 {
        let avail = c.p.output().len();
        assert!(avail > 0, "{left} bytes unwritten, none to write");
        assert!(c.p.output_capacity() <= 2 * MIB + 64);
        c.write(avail.min(300_007));
        assert_eq!(c.p.unwritten(), left - avail.min(300_007));
        left = c.p.unwritten();
    }
    // The buffer a piece needed stays for the next long message.
    assert!(c.p.output_capacity() >= MIB);
    assert_eq!(
        c.sent(),
        vec![
            (BINARY, true, big),
            (BINARY, true, big2),
            (TEXT, true, b"after".to_vec()),
            pong(b"p")
        ]
    );
}

#[test]
fn consumed_takes_partial_writes() {
    let mut c = Conn::with_limit(1 << 20);
    c.p.send_data(Binary, true, &pattern(300)).unwrap();
    c.p.send_data(Text, true, b"hi").unwrap();
    let all = c.p.output().to_vec();
    assert_eq!(all.len(), 8 + 300 + 6 + 2);
    // Written in pieces of 7 bytes: the output is always the rest.
    let mut at = 0;
    while c.p.unwritten() > 0 {
        assert_eq!(c.p.output(), &all[at..]);
        let n = 7.min(c.p.unwritten());
        c.write(n);
        at += n;
    }
    assert_eq!(c.p.output(), b"");
    assert_eq!(decode_client(&c.wire).len(), 2);
    c.wire.clear();
    // More than is unwritten counts as all of it.
    c.p.send_data(Binary, true, b"x").unwrap();
    c.p.consumed(1000);
    assert_eq!(c.p.unwritten(), 0);
    // The buffer keeps its capacity until released; release keeps unwritten bytes.
    assert!(c.p.output_capacity() >= 316);
    c.p.send_data(Binary, true, b"y").unwrap();
    c.p.release_output();
    assert_eq!(c.p.unwritten(), 7, "not released while bytes wait");
    c.p.consumed(7);
    c.p.release_output();
    assert_eq!(c.p.output_capacity(), 0);
    c.p.send_data(Binary, true, b"z").unwrap();
    assert_eq!(c.sent(), vec![(BINARY, true, b"z".to_vec())]);
}

#[test]
fn every_client_frame_is_masked_with_a_fresh_mask() {
    let mut c = Conn::with_limit(1 << 20);
    for i in 0..64u8 {
        c.p.send_data(Binary, true, &[i; 32]).unwrap();
    }
    c.p.send_keepalive();
    c.p.send_close(None);
    c.write_all();
    // decode_client fails on an unmasked frame.
    let frames = decode_client(&c.wire);
    assert_eq!(frames.len(), 66);
    let masks: std::collections::HashSet<[u8; 4]> = frames.iter().map(|f| f.mask).collect();
    assert!(
        masks.len() > 60,
        "masks repeat: {} distinct of 66",
        masks.len()
    );
    for (i, f) in frames[..64].iter().enumerate() {
        assert_eq!(f.payload, vec![i as u8; 32]);
    }
}

#[test]
fn read_hands_out_data_pieces_and_tracks_the_frame() {
    let mut c = Conn::with_limit(1 << 20);
    let f = frame(FIN | BINARY, &pattern(200));
    assert!(c.feed(&f[..2]).is_empty());
    assert!(c.p.mid_message(&c.buf), "a header is arriving");
    assert_eq!(
        c.feed(&f[2..54]),
        vec![data(Binary, true, false, &pattern(200)[..50])]
    );
    assert_eq!(c.p.frame_remaining(), 150);
    assert_eq!(
        c.feed(&f[54..]),
        vec![data(Binary, false, true, &pattern(200)[50..])]
    );
    assert_eq!(c.p.frame_remaining(), 0);
    assert!(!c.p.mid_message(&c.buf));
    assert_eq!(c.p.unwritten(), 0, "reading data writes nothing");
}
