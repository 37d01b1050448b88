//! `FrameReader` against each rule of RFC 6455 §5 (and §7.4 for close codes) a
//! client must check, one test per rule, in memory. Each stream is also read one
//! byte at a time, which must end the same way (`split_points.rs` tries every cut).

mod common;

use common::*;
use rtws_protocol::frames::{
    FrameReader, Incoming, INVALID_PAYLOAD, MESSAGE_TOO_BIG, PROTOCOL_ERROR, UNSUPPORTED_DATA,
};
use rtws_protocol::DataKind::{self, Binary, Text};

const ANY: Settings = Settings {
    max_message: None,
    binary_only: false,
};

/// Reads `stream` whole and one byte at a time; both must agree.
fn read(stream: &[u8], settings: Settings) -> Run {
    let whole = run_whole(stream, settings);
    assert_same_run(
        &whole,
        &run_bytewise(stream, settings),
        "one byte at a time",
    );
    whole
}

/// The close code `stream` is refused with (None: accepted).
fn code(stream: &[u8], settings: Settings) -> Option<u16> {
    read(stream, settings).verdict.code()
}

fn refused(stream: &[u8], settings: Settings, want: u16, what: &str) {
    assert_eq!(code(stream, settings), Some(want), "{what}: {stream:02x?}");
}

fn accepted(stream: &[u8], settings: Settings, what: &str) -> Vec<Ev> {
    let run = read(stream, settings);
    assert_eq!(
        run.verdict,
        Verdict::Pending {
            mid_message: false,
            frame_remaining: 0
        },
        "{what}: {stream:02x?}"
    );
    run.events
}

fn message(kind: DataKind, payload: &[u8]) -> Ev {
    Ev::Message {
        kind,
        payload: payload.to_vec(),
        complete: true,
    }
}

fn max(n: u64) -> Settings {
    Settings {
        max_message: Some(n),
        binary_only: false,
    }
}

const BINARY_ONLY: Settings = Settings {
    max_message: None,
    binary_only: true,
};

// ----- §5.2 Base framing -----------------------------------------------------------

#[test]
fn s5_2_reserved_bits_without_extension_are_1002() {
    for rsv in [0x40, 0x20, 0x10, 0x70] {
        for op in [TEXT, BINARY, PING, PONG, CLOSE] {
            refused(&frame(FIN | rsv | op, b""), ANY, PROTOCOL_ERROR, "RSV bits");
        }
        // On a continuation frame too.
        let s = concat([frame(BINARY, b"a"), frame(FIN | rsv | CONT, b"b")]);
        refused(&s, ANY, PROTOCOL_ERROR, "RSV on a continuation");
    }
}

#[test]
fn s5_1_masked_server_frame_is_1002() {
    for op in [TEXT, BINARY, PING, CLOSE] {
        let mut s = frame(FIN | op, b"");
        s[1] |= 0x80;
        s.extend([1, 2, 3, 4]);
        refused(&s, ANY, PROTOCOL_ERROR, "masked");
    }
    // With a payload and a 16-bit length: refused at the header.
    let mut s = header(FIN | BINARY, 300, Len::Minimal);
    s[1] |= 0x80;
    s.extend([1, 2, 3, 4]);
    refused(&s, ANY, PROTOCOL_ERROR, "masked, payload not arrived");
}

#[test]
fn s5_2_unknown_data_opcodes_are_1002() {
    for op in 3..=7u8 {
        refused(&frame(FIN | op, b"x"), ANY, PROTOCOL_ERROR, "data opcode");
        // Also mid-message, where a continuation is expected.
        let s = concat([frame(TEXT, b"a"), frame(FIN | op, b"x")]);
        refused(&s, ANY, PROTOCOL_ERROR, "data opcode mid-message");
    }
}

#[test]
fn s5_2_unknown_control_opcodes_are_1002() {
    for op in 0xB..=0xFu8 {
        refused(
            &frame(FIN | op, b"x"),
            ANY,
            PROTOCOL_ERROR,
            "control opcode",
        );
        refused(
            &frame(op, b"x"),
            ANY,
            PROTOCOL_ERROR,
            "control opcode, no FIN",
        );
    }
}

#[test]
fn s5_5_fragmented_control_frame_is_1002() {
    for op in [CLOSE, PING, PONG] {
        refused(
            &frame(op, b""),
            ANY,
            PROTOCOL_ERROR,
            "control frame without FIN",
        );
        refused(
            &frame(op, b"abc"),
            ANY,
            PROTOCOL_ERROR,
            "control frame without FIN",
        );
    }
}

#[test]
fn s5_5_control_frame_over_125_bytes_is_1002() {
    for op in [CLOSE, PING, PONG] {
        let mut p = close_payload(1000, &[b'r'; 123]);
        assert_eq!(p.len(), 125);
        accepted(&frame(FIN | op, &p), ANY, "125 bytes");
        p.push(b'r');
        refused(&frame(FIN | op, &p), ANY, PROTOCOL_ERROR, "126 bytes");
        // Refused at its header, before the payload arrives.
        refused(
            &header(FIN | op, 126, Len::Minimal),
            ANY,
            PROTOCOL_ERROR,
            "header",
        );
        refused(
            &header(FIN | op, 1 << 40, Len::U64),
            ANY,
            PROTOCOL_ERROR,
            "header",
        );
    }
}

#[test]
fn s5_4_continuation_without_a_message_is_1002() {
    refused(
        &frame(FIN | CONT, b"a"),
        ANY,
        PROTOCOL_ERROR,
        "a lone continuation",
    );
    refused(
        &frame(CONT, b""),
        ANY,
        PROTOCOL_ERROR,
        "a lone empty continuation",
    );
    let s = concat([frame(FIN | BINARY, b"a"), frame(FIN | CONT, b"b")]);
    refused(
        &s,
        ANY,
        PROTOCOL_ERROR,
        "a continuation after a whole message",
    );
}

#[test]
fn s5_4_new_message_while_one_is_fragmented_is_1002() {
    for (a, b) in [
        (TEXT, BINARY),
        (BINARY, TEXT),
        (TEXT, TEXT),
        (BINARY, BINARY),
    ] {
        for fin in [0, FIN] {
            let s = concat([frame(a, b"a"), frame(fin | b, b"b")]);
            refused(&s, ANY, PROTOCOL_ERROR, "interleaved messages");
        }
        // An empty first fragment begins the message as well.
        let s = concat([frame(a, b""), frame(FIN | b, b"b")]);
        refused(&s, ANY, PROTOCOL_ERROR, "after an empty first fragment");
    }
}

#[test]
fn s5_2_64_bit_length_with_its_top_bit_set_is_1002() {
    for len in [1u64 << 63, u64::MAX] {
        refused(
            &header(FIN | BINARY, len, Len::U64),
            ANY,
            PROTOCOL_ERROR,
            "MSB set",
        );
    }
    // The largest allowed length is a frame whose payload is still to come.
    let run = read(&header(FIN | BINARY, i64::MAX as u64, Len::U64), ANY);
    assert_eq!(
        run.verdict,
        Verdict::Pending {
            mid_message: true,
            frame_remaining: i64::MAX as u64
        }
    );
}

#[test]
fn s5_2_length_encodings_at_their_boundaries() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70_000] {
        let p = pattern(len);
        let s = frame(FIN | BINARY, &p);
        let want_header = match len {
            0..=125 => 2,
            126..=65535 => 4,
            _ => 10,
        };
        assert_eq!(s.len(), want_header + len);
        let events = accepted(&s, ANY, "boundary length");
        assert_eq!(events, vec![message(Binary, &p)], "length {len}");
    }
    // 125/126/65535/65536 as text as well (the UTF-8 check over the whole payload).
    for len in [125usize, 126, 65535, 65536] {
        let t = text(len);
        assert_eq!(
            accepted(&frame(FIN | TEXT, &t), ANY, "text"),
            vec![message(Text, &t)]
        );
    }
}

#[test]
fn s5_2_non_minimal_length_encodings_are_accepted() {
    // §5.2 says a sender MUST use the shortest form; like tungstenite, the reader
    // does not fail a frame that does not.
    for (len, enc) in [
        (0u64, Len::U16),
        (5, Len::U16),
        (5, Len::U64),
        (300, Len::U64),
    ] {
        let p = pattern(len as usize);
        let mut s = header(FIN | BINARY, len, enc);
        s.extend_from_slice(&p);
        assert_eq!(accepted(&s, ANY, "non-minimal"), vec![message(Binary, &p)]);
    }
    let mut ping = header(FIN | PING, 3, Len::U16);
    ping.extend_from_slice(b"abc");
    assert_eq!(
        accepted(&ping, ANY, "ping"),
        vec![Ev::Ping(b"abc".to_vec())]
    );
}

// ----- §5.6 / §8.1 UTF-8 of text ------------------------------------------------

#[test]
fn s8_1_invalid_utf8_in_a_whole_text_frame_is_1007() {
    for bad in [
        &[0xFF][..],
        &[b'a', 0x80, b'b'],       // a lone continuation byte
        &[0xC0, 0x80],             // overlong NUL
        &[0xE0, 0x80, 0x80],       // overlong
        &[0xED, 0xA0, 0x80],       // a UTF-16 surrogate
        &[0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
        &[0xF8, 0x88, 0x80, 0x80, 0x80],
        &[0xE2, 0x82, b'a'], // a character cut by another
    ] {
        refused(
            &frame(FIN | TEXT, bad),
            ANY,
            INVALID_PAYLOAD,
            "invalid UTF-8",
        );
    }
}

#[test]
fn s8_1_invalid_utf8_split_across_frames_is_1007() {
    // The bad byte in a later fragment.
    let s = concat([frame(TEXT, b"abc"), frame(FIN | CONT, &[b'd', 0xFF])]);
    refused(&s, ANY, INVALID_PAYLOAD, "bad byte in the second fragment");
    let s = concat([
        frame(TEXT, b"abc"),
        frame(CONT, &[0xFF]),
        frame(FIN | CONT, b"z"),
    ]);
    refused(&s, ANY, INVALID_PAYLOAD, "bad byte in a middle fragment");
    // A control frame between the fragments changes nothing.
    let s = concat([
        frame(TEXT, b"ab"),
        frame(FIN | PING, b""),
        frame(FIN | CONT, &[0xC3, 0x28]),
    ]);
    refused(&s, ANY, INVALID_PAYLOAD, "bad pair after a ping");
}

#[test]
fn s8_1_utf8_split_mid_character_across_frames() {
    // Valid characters cut at every byte between fragments are accepted...
    let t = "é€😀".as_bytes();
    for cut in 0..=t.len() {
        let s = concat([frame(TEXT, &t[..cut]), frame(FIN | CONT, &t[cut..])]);
        assert_eq!(
            accepted(&s, ANY, "cut character"),
            vec![message(Text, t)],
            "cut {cut}"
        );
        // ...in three fragments too, with an empty one and a pong between.
        let s = concat([
            frame(TEXT, &t[..cut]),
            frame(CONT, b""),
            frame(FIN | PONG, b""),
            frame(FIN | CONT, &t[cut..]),
        ]);
        // (A message is listed where its first non-empty piece came.)
        let want = if cut == 0 {
            vec![Ev::Pong, message(Text, t)]
        } else {
            vec![message(Text, t), Ev::Pong]
        };
        assert_eq!(accepted(&s, ANY, "cut character"), want, "cut {cut}");
    }
    // ...and a character continued wrongly in the next fragment is refused.
    for (a, b) in [
        (&[0xE2][..], &[0x28, 0xAC][..]),
        (&[0xE2, 0x82], b"x"),
        (&[0xF0, 0x9F], &[0x98, b'x']),
        (&[0xF0], &[0x80, 0x80, 0x80]), // overlong 4-byte form, cut after its lead
        (&[0xED], &[0xA0, 0x80]),       // a surrogate, cut after its lead
    ] {
        let s = concat([frame(TEXT, a), frame(FIN | CONT, b)]);
        refused(&s, ANY, INVALID_PAYLOAD, "character continued wrongly");
    }
}

#[test]
fn s8_1_text_ending_mid_character_is_1007() {
    refused(
        &frame(FIN | TEXT, &[b'a', 0xE2, 0x82]),
        ANY,
        INVALID_PAYLOAD,
        "one frame",
    );
    let s = concat([frame(TEXT, b"a"), frame(FIN | CONT, &[0xF0, 0x9F, 0x98])]);
    refused(&s, ANY, INVALID_PAYLOAD, "last fragment");
    let s = concat([frame(TEXT, &[0xC3]), frame(FIN | CONT, b"")]);
    refused(&s, ANY, INVALID_PAYLOAD, "an empty last fragment");
}

// ----- §5.5.1 Close --------------------------------------------------------------

#[test]
fn s5_5_1_close_frame_with_a_1_byte_payload_is_1002() {
    refused(
        &frame(FIN | CLOSE, &[0x03]),
        ANY,
        PROTOCOL_ERROR,
        "1-byte close",
    );
    assert_eq!(
        accepted(&frame(FIN | CLOSE, b""), ANY, "empty close"),
        vec![Ev::Close(None)]
    );
}

#[test]
fn s7_4_close_codes_not_allowed_on_the_wire_are_1002_and_the_others_accepted() {
    let allowed = |c: u16| matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999);
    for c in 0..=u16::MAX {
        let s = frame(FIN | CLOSE, &close_payload(c, b""));
        let got = run_whole(&s, ANY);
        if allowed(c) {
            assert_eq!(
                got.events,
                vec![Ev::Close(Some((c, String::new())))],
                "code {c}"
            );
            assert!(matches!(got.verdict, Verdict::Pending { .. }), "code {c}");
        } else {
            assert_eq!(got.verdict.code(), Some(PROTOCOL_ERROR), "code {c}");
        }
    }
    // The ones the brief names, spelled out.
    for c in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        refused(
            &frame(FIN | CLOSE, &close_payload(c, b"")),
            ANY,
            PROTOCOL_ERROR,
            "code",
        );
    }
    for c in [
        1000, 1001, 1002, 1003, 1007, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
    ] {
        accepted(&frame(FIN | CLOSE, &close_payload(c, b"x")), ANY, "code");
    }
}

#[test]
fn s5_5_1_close_reason_not_utf8_is_1007() {
    for bad in [&[0xFF][..], &[b'o', b'k', 0xE2, 0x82], &[0xED, 0xA0, 0x80]] {
        refused(
            &frame(FIN | CLOSE, &close_payload(1000, bad)),
            ANY,
            INVALID_PAYLOAD,
            "reason",
        );
    }
    let reason = "bye 😀 ".repeat(11); // 121 bytes: all of 123 but a cut character
    let events = accepted(
        &frame(FIN | CLOSE, &close_payload(4000, reason.as_bytes())),
        ANY,
        "ok",
    );
    assert_eq!(events, vec![Ev::Close(Some((4000, reason)))]);
    // The code is checked first.
    let s = frame(FIN | CLOSE, &close_payload(1005, &[0xFF]));
    refused(&s, ANY, PROTOCOL_ERROR, "bad code and bad reason");
}

// ----- Settings: binary only, MaxMessageSize -----------------------------------

#[test]
fn text_message_on_a_binary_only_reader_is_1003() {
    refused(
        &frame(FIN | TEXT, b"ok"),
        BINARY_ONLY,
        UNSUPPORTED_DATA,
        "valid text",
    );
    refused(
        &frame(FIN | TEXT, &[0xFF]),
        BINARY_ONLY,
        UNSUPPORTED_DATA,
        "invalid text",
    );
    refused(
        &frame(FIN | TEXT, b""),
        BINARY_ONLY,
        UNSUPPORTED_DATA,
        "empty text",
    );
    refused(
        &frame(TEXT, b"a"),
        BINARY_ONLY,
        UNSUPPORTED_DATA,
        "a first fragment",
    );
    // At the header, before the payload arrives.
    refused(
        &header(FIN | TEXT, 1000, Len::Minimal),
        BINARY_ONLY,
        UNSUPPORTED_DATA,
        "header",
    );
    let s = concat([
        frame(BINARY, b"a"),
        frame(FIN | PING, b""),
        frame(FIN | CONT, b"b"),
    ]);
    assert_eq!(
        accepted(&s, BINARY_ONLY, "binary"),
        vec![message(Binary, b"ab"), Ev::Ping(vec![])]
    );
}

#[test]
fn message_over_max_message_is_1009_at_its_header() {
    // Exactly the limit is fine; one more is refused.
    assert_eq!(
        accepted(&frame(FIN | BINARY, &[7; 10]), max(10), "10 of 10").len(),
        1
    );
    refused(
        &frame(FIN | BINARY, &[7; 11]),
        max(10),
        MESSAGE_TOO_BIG,
        "11 of 10",
    );
    // Only the header has arrived.
    refused(
        &header(FIN | TEXT, 1 << 20, Len::Minimal),
        max(1000),
        MESSAGE_TOO_BIG,
        "header",
    );
    refused(
        &header(BINARY, 1 << 40, Len::U64),
        max(1 << 39),
        MESSAGE_TOO_BIG,
        "header",
    );
    // Fragments: the total counts, refused at the header of the fragment over it.
    let s = concat([frame(BINARY, &[1; 6]), frame(FIN | PING, b"")]);
    let mut over = s.clone();
    over.extend(header(FIN | CONT, 5, Len::Minimal));
    let run = read(&over, max(10));
    assert_eq!(run.verdict.code(), Some(MESSAGE_TOO_BIG));
    assert_eq!(
        run.events,
        vec![
            Ev::Message {
                kind: Binary,
                payload: vec![1; 6],
                complete: false
            },
            Ev::Ping(vec![])
        ]
    );
    let mut fits = s;
    fits.extend(frame(FIN | CONT, &[2; 4]));
    assert_eq!(
        accepted(&fits, max(10), "10 in two fragments")[0],
        message(Binary, &[1, 1, 1, 1, 1, 1, 2, 2, 2, 2])
    );
    // Control frames do not count; the limit is per message.
    let s = concat([
        frame(FIN | BINARY, &[1; 10]),
        frame(FIN | PING, &[0; 100]),
        frame(FIN | TEXT, &[b'a'; 10]),
    ]);
    assert_eq!(accepted(&s, max(10), "per message").len(), 3);
    // A limit of 0 allows empty messages only.
    assert_eq!(
        accepted(&frame(FIN | BINARY, b""), max(0), "empty").len(),
        1
    );
    refused(
        &frame(FIN | BINARY, b"a"),
        max(0),
        MESSAGE_TOO_BIG,
        "1 of 0",
    );
}

// ----- §5.4 Fragmentation: what is fine -------------------------------------------

#[test]
fn s5_4_control_frames_between_fragments_are_fine() {
    let s = concat([
        frame(TEXT, b"he"),
        frame(FIN | PING, b"p1"),
        frame(CONT, b"ll"),
        frame(FIN | PONG, b"q"),
        frame(FIN | PING, b""),
        frame(FIN | CONT, b"o"),
    ]);
    assert_eq!(
        accepted(&s, ANY, "pings and pongs between fragments"),
        vec![
            message(Text, b"hello"),
            Ev::Ping(b"p1".to_vec()),
            Ev::Pong,
            Ev::Ping(vec![]),
        ]
    );
    // A close frame mid-message is handed on (what follows is the caller's business).
    let s = concat([
        frame(BINARY, b"ab"),
        frame(FIN | CLOSE, &close_payload(1000, b"")),
    ]);
    let run = read(&s, ANY);
    assert_eq!(
        run.events,
        vec![
            Ev::Message {
                kind: Binary,
                payload: b"ab".to_vec(),
                complete: false
            },
            Ev::Close(Some((1000, String::new())))
        ]
    );
    assert_eq!(
        run.verdict,
        Verdict::Pending {
            mid_message: true,
            frame_remaining: 0
        }
    );
}

#[test]
fn s5_4_empty_frames_and_empty_messages() {
    // An empty message, whole or of empty fragments, is one empty piece.
    for kind_op in [TEXT, BINARY] {
        let kind = if kind_op == TEXT { Text } else { Binary };
        let whole = frame(FIN | kind_op, b"");
        let fragmented = concat([
            frame(kind_op, b""),
            frame(CONT, b""),
            frame(FIN | CONT, b""),
        ]);
        for s in [whole, fragmented] {
            let mut r = FrameReader::new(None, false);
            let mut buf = bytes::BytesMut::from(&s[..]);
            let Ok(Some(Incoming::Data {
                kind: k,
                first: true,
                last: true,
                payload,
            })) = r.next(&mut buf)
            else {
                panic!("one empty piece");
            };
            assert_eq!((k, payload.len()), (kind, 0));
            assert_eq!(r.next(&mut buf), Ok(None));
            assert!(buf.is_empty() && !r.mid_message(&buf));
        }
    }
    // Empty fragments around data hand out no empty pieces (run_cut checks it).
    let s = concat([
        frame(BINARY, b""),
        frame(CONT, b"ab"),
        frame(CONT, b""),
        frame(FIN | CONT, b""),
    ]);
    assert_eq!(
        accepted(&s, ANY, "empty fragments"),
        vec![message(Binary, b"ab")]
    );
    // Empty control frames.
    let s = concat([
        frame(FIN | PING, b""),
        frame(FIN | PONG, b""),
        frame(FIN | CLOSE, b""),
    ]);
    assert_eq!(
        accepted(&s, ANY, "empty control frames"),
        vec![Ev::Ping(vec![]), Ev::Pong, Ev::Close(None)]
    );
}

#[test]
fn pieces_are_handed_on_as_they_arrive() {
    let p = pattern(300);
    let s = frame(FIN | BINARY, &p);
    let mut r = FrameReader::new(None, false);
    let mut buf = bytes::BytesMut::from(&s[..3]);
    assert_eq!(r.next(&mut buf), Ok(None), "half a 16-bit header");
    assert!(r.mid_message(&buf), "a header is arriving");
    buf.extend_from_slice(&s[3..104]);
    let Ok(Some(Incoming::Data {
        first: true,
        last: false,
        payload,
        ..
    })) = r.next(&mut buf)
    else {
        panic!("the first piece");
    };
    assert_eq!(&payload[..], &p[..100]);
    assert_eq!(r.frame_remaining(), 200);
    assert_eq!(r.next(&mut buf), Ok(None));
    buf.extend_from_slice(&s[104..]);
    let Ok(Some(Incoming::Data {
        first: false,
        last: true,
        payload,
        ..
    })) = r.next(&mut buf)
    else {
        panic!("the last piece");
    };
    assert_eq!(&payload[..], &p[100..]);
    assert!(!r.mid_message(&buf));
    assert_eq!(r.frame_remaining(), 0);
}

/// The violation messages, which the API reports: pinned so that a faster frame
/// reader keeps them word for word.
#[test]
fn violation_messages() {
    let proto = |what: &str| format!("the server violated the WebSocket protocol: {what}");
    let mut masked = frame(FIN | BINARY, b"");
    masked[1] |= 0x80;
    masked.extend([0; 4]);
    let cases: Vec<(Vec<u8>, Settings, u16, String)> = vec![
        (
            frame(FIN | 0x40 | BINARY, b""),
            ANY,
            1002,
            proto("reserved bits set (no extension was negotiated that defines them)"),
        ),
        (masked, ANY, 1002, proto("a server frame was masked")),
        (
            frame(FIN | 3, b""),
            ANY,
            1002,
            proto("a frame with the unknown opcode 3"),
        ),
        (
            frame(FIN | 0xB, b""),
            ANY,
            1002,
            proto("a frame with the unknown opcode 11"),
        ),
        (
            frame(PING, b""),
            ANY,
            1002,
            proto("a control frame was fragmented"),
        ),
        (
            frame(FIN | PING, &[0; 126]),
            ANY,
            1002,
            proto("a control frame is over 125 bytes"),
        ),
        (
            frame(FIN | CONT, b""),
            ANY,
            1002,
            proto("a continuation frame without a message"),
        ),
        (
            concat([frame(BINARY, b""), frame(FIN | BINARY, b"")]),
            ANY,
            1002,
            proto("a new message began before the fragmented one ended"),
        ),
        (
            header(FIN | BINARY, 1 << 63, Len::U64),
            ANY,
            1002,
            proto("a 64-bit payload length has its most significant bit set"),
        ),
        (
            frame(FIN | TEXT, &[0xFF]),
            ANY,
            1007,
            "the server sent invalid UTF-8: a text message".into(),
        ),
        (
            frame(FIN | TEXT, &[0xE2]),
            ANY,
            1007,
            "the server sent invalid UTF-8: a text message ends mid-character".into(),
        ),
        (
            frame(FIN | CLOSE, &[3]),
            ANY,
            1002,
            proto("a close frame with a 1-byte payload"),
        ),
        (
            frame(FIN | CLOSE, &close_payload(1005, b"")),
            ANY,
            1002,
            proto("close code 1005 is not allowed on the wire"),
        ),
        (
            frame(FIN | CLOSE, &close_payload(1000, &[0xFF])),
            ANY,
            1007,
            "the server sent invalid UTF-8: a close reason".into(),
        ),
        (
            frame(FIN | TEXT, b""),
            BINARY_ONLY,
            1003,
            "the server sent a text message; a StreamWebSocket accepts binary messages only".into(),
        ),
        (
            frame(FIN | BINARY, &[0; 11]),
            max(10),
            1009,
            "the server sent a message of 11 bytes or more, over MaxMessageSize (10)".into(),
        ),
    ];
    for (stream, settings, code, message) in cases {
        assert_eq!(
            read(&stream, settings).verdict,
            Verdict::Violation { code, message },
            "{stream:02x?}"
        );
    }
}
