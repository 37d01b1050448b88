//! Every split point: each stream of a corpus (the valid and invalid examples of
//! each rule, multi-frame messages, control frames between fragments, the length
//! encodings at their boundaries) is fed to `FrameReader` whole, cut in two at
//! every offset (see `cuts_in_two` for the 64 KiB frames), cut in three at every pair of offsets (short streams), and one
//! byte at a time. Every run must hand out the same events (a message's pieces
//! joined) and end the same way: the same violation code and message, or the
//! same pending state. Only at a violation may a split run have handed out more
//! of the bad message (the bytes before its bad byte).

mod common;

use common::*;
use rtws_protocol::DataKind::{Binary, Text};

/// A stream and how its whole run must end: `Some(code)` a violation, `None`
/// every byte read and `mid` (a message or header under way) as given.
struct Case {
    name: String,
    stream: Vec<u8>,
    settings: Settings,
    want: Want,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Refused(u16),
    /// Accepted; true when a message or a frame header is still under way.
    Pending(bool),
}

const ANY: Settings = Settings {
    max_message: None,
    binary_only: false,
};

fn corpus() -> Vec<Case> {
    let mut c = Vec::new();
    let mut add = |name: &str, stream: Vec<u8>, settings: Settings, want: Want| {
        c.push(Case {
            name: name.to_string(),
            stream,
            settings,
            want,
        })
    };
    use Want::{Pending, Refused};
    let ok = Pending(false);
    let masked = |mut f: Vec<u8>| {
        f[1] |= 0x80;
        f.splice(2..2, [9, 8, 7, 6]);
        f
    };
    let max = |n| Settings {
        max_message: Some(n),
        binary_only: false,
    };
    let binary_only = Settings {
        max_message: None,
        binary_only: true,
    };

    // Valid streams.
    add("binary", frame(FIN | BINARY, b"hello"), ANY, ok);
    add("text", frame(FIN | TEXT, &text(40)), ANY, ok);
    add("empty binary", frame(FIN | BINARY, b""), ANY, ok);
    add("empty text", frame(FIN | TEXT, b""), ANY, ok);
    add(
        "fragmented text with control frames between",
        concat([
            frame(TEXT, &text(9)),
            frame(FIN | PING, b"p1"),
            frame(CONT, b""),
            frame(FIN | PONG, b"x"),
            frame(CONT, &text(10)),
            frame(FIN | PING, b""),
            frame(FIN | CONT, &text(11)),
        ]),
        ANY,
        ok,
    );
    add(
        "a character cut between fragments",
        concat([
            frame(TEXT, &"a€".as_bytes()[..2]),
            frame(CONT, &"a€".as_bytes()[2..3]),
            frame(FIN | CONT, &"a€😀".as_bytes()[3..]),
        ]),
        ANY,
        ok,
    );
    add(
        "several messages",
        concat([
            frame(FIN | BINARY, &pattern(20)),
            frame(FIN | TEXT, b"abc"),
            frame(BINARY, b""),
            frame(FIN | CONT, b""),
            frame(FIN | PONG, b""),
            frame(FIN | TEXT, "é".as_bytes()),
        ]),
        ANY,
        ok,
    );
    add(
        "close with code and reason, then more",
        concat([
            frame(FIN | CLOSE, &close_payload(1000, "bye é".as_bytes())),
            frame(FIN | BINARY, b"after"),
        ]),
        ANY,
        ok,
    );
    add("empty close", frame(FIN | CLOSE, b""), ANY, ok);
    for code in [1000, 1003, 1007, 1014, 3000, 4999] {
        add(
            "allowed close code",
            frame(FIN | CLOSE, &close_payload(code, b"r")),
            ANY,
            ok,
        );
    }
    add("125-byte ping", frame(FIN | PING, &pattern(125)), ANY, ok);
    add(
        "max_message exactly",
        frame(FIN | BINARY, &[1; 10]),
        max(10),
        ok,
    );
    add(
        "max_message exactly, fragmented",
        concat([
            frame(BINARY, &[1; 4]),
            frame(FIN | PING, b""),
            frame(FIN | CONT, &[2; 6]),
        ]),
        max(10),
        ok,
    );
    add(
        "binary on binary-only",
        frame(FIN | BINARY, b"b"),
        binary_only,
        ok,
    );
    let mut non_minimal = header(FIN | BINARY, 3, Len::U64);
    non_minimal.extend(b"abc");
    add("non-minimal length", non_minimal, ANY, ok);
    for len in [125usize, 126, 65535, 65536] {
        add(
            "boundary length",
            frame(FIN | BINARY, &pattern(len)),
            ANY,
            ok,
        );
    }
    add(
        "boundary length, text",
        frame(FIN | TEXT, &text(65536)),
        ANY,
        ok,
    );

    // Streams that stop under way.
    add(
        "half a header",
        header(FIN | BINARY, 300, Len::Minimal)[..3].to_vec(),
        ANY,
        Pending(true),
    );
    let mut half = frame(FIN | TEXT, &text(30));
    half.truncate(20);
    add("half a frame", half, ANY, Pending(true));
    add("a first fragment", frame(BINARY, b"ab"), ANY, Pending(true));
    let mut half_ping = frame(FIN | PING, b"abcdef");
    half_ping.truncate(5);
    add("half a ping", half_ping, ANY, Pending(true));
    add(
        "the largest length",
        header(FIN | BINARY, i64::MAX as u64, Len::U64),
        ANY,
        Pending(true),
    );

    // Violations.
    for rsv in [0x40, 0x20, 0x10] {
        add(
            "reserved bit",
            frame(FIN | rsv | BINARY, b"ab"),
            ANY,
            Refused(1002),
        );
        add(
            "reserved bit, ping",
            frame(FIN | rsv | PING, b""),
            ANY,
            Refused(1002),
        );
    }
    add(
        "masked",
        masked(frame(FIN | BINARY, b"abc")),
        ANY,
        Refused(1002),
    );
    add(
        "masked close",
        masked(frame(FIN | CLOSE, b"")),
        ANY,
        Refused(1002),
    );
    add(
        "masked after a message",
        concat([frame(FIN | TEXT, b"ok"), masked(frame(FIN | TEXT, b"no"))]),
        ANY,
        Refused(1002),
    );
    for op in [3u8, 7, 0xB, 0xF] {
        add("unknown opcode", frame(FIN | op, b"xy"), ANY, Refused(1002));
    }
    add(
        "unknown opcode with a 64-bit length",
        header(FIN | 4, 1 << 20, Len::U64),
        ANY,
        Refused(1002),
    );
    add("fragmented ping", frame(PING, b"p"), ANY, Refused(1002));
    add("fragmented close", frame(CLOSE, b""), ANY, Refused(1002));
    add(
        "126-byte ping",
        frame(FIN | PING, &pattern(126)),
        ANY,
        Refused(1002),
    );
    add(
        "126-byte pong header",
        header(FIN | PONG, 126, Len::Minimal),
        ANY,
        Refused(1002),
    );
    add(
        "continuation first",
        frame(FIN | CONT, b"a"),
        ANY,
        Refused(1002),
    );
    add(
        "continuation after a whole message",
        concat([frame(FIN | BINARY, b"a"), frame(FIN | CONT, b"b")]),
        ANY,
        Refused(1002),
    );
    add(
        "new message while fragmented",
        concat([
            frame(TEXT, b"a"),
            frame(FIN | PING, b""),
            frame(FIN | BINARY, b"b"),
        ]),
        ANY,
        Refused(1002),
    );
    add(
        "64-bit length, top bit",
        header(FIN | BINARY, 1 << 63, Len::U64),
        ANY,
        Refused(1002),
    );
    add(
        "invalid UTF-8",
        frame(FIN | TEXT, &[b'a', b'b', 0xFF, b'c']),
        ANY,
        Refused(1007),
    );
    add(
        "invalid UTF-8 in a later fragment",
        concat([
            frame(TEXT, &text(12)),
            frame(FIN | PONG, b""),
            frame(FIN | CONT, &[b'z', 0xC0, 0x80]),
        ]),
        ANY,
        Refused(1007),
    );
    add(
        "a character continued wrongly in the next fragment",
        concat([
            frame(TEXT, &[b'a', 0xF0, 0x9F]),
            frame(FIN | CONT, &[0x98, b'x']),
        ]),
        ANY,
        Refused(1007),
    );
    add(
        "text ending mid-character",
        frame(FIN | TEXT, &[b'a', 0xE2, 0x82]),
        ANY,
        Refused(1007),
    );
    add(
        "fragmented text ending mid-character",
        concat([frame(TEXT, b"ab"), frame(FIN | CONT, &[0xC3])]),
        ANY,
        Refused(1007),
    );
    add(
        "empty last fragment after a cut character",
        concat([frame(TEXT, &[0xE2, 0x82]), frame(FIN | CONT, b"")]),
        ANY,
        Refused(1007),
    );
    add(
        "long text, bad byte at the end",
        frame(FIN | TEXT, &[text(1000), vec![0xFF]].concat()),
        ANY,
        Refused(1007),
    );
    add("1-byte close", frame(FIN | CLOSE, &[3]), ANY, Refused(1002));
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        add(
            "close code not allowed",
            frame(FIN | CLOSE, &close_payload(code, b"")),
            ANY,
            Refused(1002),
        );
    }
    add(
        "close reason not UTF-8",
        frame(FIN | CLOSE, &close_payload(1000, &[b'o', 0xFF])),
        ANY,
        Refused(1007),
    );
    add(
        "text on binary-only",
        frame(FIN | TEXT, b"t"),
        binary_only,
        Refused(1003),
    );
    add(
        "text on binary-only after a binary message",
        concat([frame(FIN | BINARY, b"b"), frame(TEXT, &[0xFF])]),
        binary_only,
        Refused(1003),
    );
    add(
        "over max_message",
        frame(FIN | BINARY, &[0; 11]),
        max(10),
        Refused(1009),
    );
    add(
        "over max_message, header only",
        header(FIN | TEXT, 1 << 16, Len::Minimal),
        max(100),
        Refused(1009),
    );
    add(
        "over max_message in the second fragment",
        concat([
            frame(TEXT, b"12345"),
            frame(FIN | PING, b"p"),
            frame(FIN | CONT, b"678901"),
        ]),
        max(10),
        Refused(1009),
    );
    c
}

#[test]
fn the_corpus_ends_as_expected_read_whole() {
    for case in corpus() {
        let run = run_whole(&case.stream, case.settings);
        match (case.want, &run.verdict) {
            (Want::Refused(code), Verdict::Violation { code: c, .. }) if *c == code => {}
            (Want::Pending(mid), Verdict::Pending { mid_message, .. }) if *mid_message == mid => {}
            _ => panic!(
                "{}: expected {:?}, got {:?}",
                case.name, case.want, run.verdict
            ),
        }
    }
    // Some of the events, spelled out.
    let run = run_whole(
        &concat([
            frame(TEXT, b"ab"),
            frame(FIN | PING, b"p"),
            frame(FIN | CONT, b"c"),
            frame(FIN | BINARY, b""),
        ]),
        ANY,
    );
    assert_eq!(
        run.events,
        vec![
            Ev::Message {
                kind: Text,
                payload: b"abc".to_vec(),
                complete: true
            },
            Ev::Ping(b"p".to_vec()),
            Ev::Message {
                kind: Binary,
                payload: vec![],
                complete: true
            },
        ]
    );
}

/// Every offset of a stream up to 4 KiB. Longer ones (the frames of 65535 and
/// 65536 bytes: one header, then payload) would make this quadratic in memory
/// traffic: every offset of their first and last 1 KiB (the header, the
/// start of the payload, every phase of the text's characters, the end), and
/// every 97th offset between, where one payload byte is like the next.
fn cuts_in_two(len: usize) -> Vec<usize> {
    if len <= 4096 {
        return (0..=len).collect();
    }
    (0..=len)
        .filter(|&cut| cut <= 1024 || cut >= len - 1024 || cut % 97 == 0)
        .collect()
}

#[test]
fn every_cut_in_two_gives_the_same_run() {
    for case in corpus() {
        let whole = run_whole(&case.stream, case.settings);
        for cut in cuts_in_two(case.stream.len()) {
            let split = run_cut(&case.stream, case.settings, &[cut]);
            assert_same_run(&whole, &split, &format!("{}: cut at {cut}", case.name));
        }
    }
}

#[test]
fn every_cut_in_three_gives_the_same_run() {
    for case in corpus().into_iter().filter(|c| c.stream.len() <= 200) {
        let whole = run_whole(&case.stream, case.settings);
        let n = case.stream.len();
        for a in 0..=n {
            for b in a..=n {
                let split = run_cut(&case.stream, case.settings, &[a, b]);
                assert_same_run(&whole, &split, &format!("{}: cuts at {a}, {b}", case.name));
            }
        }
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_run() {
    for case in corpus() {
        let whole = run_whole(&case.stream, case.settings);
        let bytewise = run_bytewise(&case.stream, case.settings);
        assert_same_run(
            &whole,
            &bytewise,
            &format!("{}: one byte at a time", case.name),
        );
    }
}

/// The corpus concatenated in one stream (its valid, complete streams, so that
/// each begins at a frame boundary), cut everywhere: the reader's state carries
/// across many frames and messages.
#[test]
fn the_valid_corpus_in_one_stream_cut_everywhere() {
    let stream: Vec<u8> = corpus()
        .into_iter()
        .filter(|c| {
            c.want == Want::Pending(false)
                && c.settings.max_message.is_none()
                && c.stream.len() < 1000
                && !c.name.starts_with("close")
                && c.name != "empty close"
                && !c.name.starts_with("allowed close")
        })
        .flat_map(|c| c.stream)
        .collect();
    assert!(stream.len() > 300, "{} bytes", stream.len());
    let whole = run_whole(&stream, ANY);
    assert_eq!(
        whole.verdict,
        Verdict::Pending {
            mid_message: false,
            frame_remaining: 0
        }
    );
    for cut in 0..=stream.len() {
        assert_same_run(
            &whole,
            &run_cut(&stream, ANY, &[cut]),
            &format!("cut at {cut}"),
        );
    }
    // Reads of every size from 1 to 40 bytes.
    for size in 1..=40 {
        let cuts: Vec<usize> = (size..stream.len()).step_by(size).collect();
        assert_same_run(
            &whole,
            &run_cut(&stream, ANY, &cuts),
            &format!("reads of {size}"),
        );
    }
}
