//! permessage-deflate (RFC 7692) in memory: the offer, the check of the server's
//! answer (§7.1), what rtws sends (RSV1 on a message's first frame only, the
//! stripped tail, context takeover as agreed, every frame decodable by a raw
//! inflater of the test's own), and what it reads: messages compressed by the test
//! (as a server would), whole, fragmented, split anywhere, with control frames
//! between, each parameter combination, and bombs refused without holding them.

mod common;

use bytes::BytesMut;
use common::*;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use rtws_protocol::deflate::{Agreed, Offer, DEFAULT_LEVEL, PIECE};
use rtws_protocol::state::{Closure, Event, Protocol};
use rtws_protocol::DataKind::{self, Binary, Text};

const RSV1: u8 = 0x40;

fn agreed(client_bits: u8, server_bits: u8, client_reset: bool, server_reset: bool) -> Agreed {
    Agreed {
        client_no_context_takeover: client_reset,
        server_no_context_takeover: server_reset,
        client_max_window_bits: client_bits,
        server_max_window_bits: server_bits,
        compression_level: DEFAULT_LEVEL,
    }
}

// ----- The offer and the answer -------------------------------------------------

#[test]
fn the_offer_names_what_the_host_asked_for() {
    assert_eq!(
        Offer::default().header_value(),
        "permessage-deflate; client_max_window_bits"
    );
    let o = Offer {
        client_no_context_takeover: true,
        server_no_context_takeover: true,
        client_max_window_bits: 10,
        server_max_window_bits: 12,
        compression_level: 9,
    };
    assert_eq!(
        o.header_value(),
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
         server_max_window_bits=12; client_max_window_bits=10"
    );
    assert!(o.is_valid());
    assert!(!Offer {
        client_max_window_bits: 7,
        ..Offer::default()
    }
    .is_valid());
    assert!(!Offer {
        server_max_window_bits: 16,
        ..Offer::default()
    }
    .is_valid());
    assert!(!Offer {
        compression_level: 0,
        ..Offer::default()
    }
    .is_valid());
}

#[test]
fn answers_within_the_offer_are_agreed() {
    let offer = Offer::default();
    let ok = |v: &str| offer.accept(&[v.as_bytes()]).unwrap().unwrap();
    assert_eq!(ok("permessage-deflate"), agreed(15, 15, false, false));
    assert_eq!(
        ok("Permessage-Deflate ; server_no_context_takeover;client_no_context_takeover"),
        agreed(15, 15, true, true)
    );
    assert_eq!(
        ok("permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"),
        agreed(9, 10, false, false)
    );
    assert_eq!(
        ok("permessage-deflate; client_max_window_bits=\"8\""),
        agreed(8, 15, false, false)
    );
    // No header: the server declined, and the connection goes on uncompressed.
    assert_eq!(offer.accept(&[]).unwrap(), None);
    // The client's own no_context_takeover holds whatever the answer says.
    let reset = Offer {
        client_no_context_takeover: true,
        ..Offer::default()
    };
    assert!(
        reset
            .accept(&[b"permessage-deflate"])
            .unwrap()
            .unwrap()
            .client_no_context_takeover
    );
}

#[test]
fn answers_beyond_the_offer_are_refused() {
    let asked = Offer {
        client_max_window_bits: 10,
        server_max_window_bits: 12,
        ..Offer::default()
    };
    for (answer, why) in [
        ("x-webkit-deflate-frame", "did not offer"),
        ("permessage-deflate, permessage-deflate", "more than one"),
        ("permessage-deflate; foo", "unknown parameter"),
        ("permessage-deflate; foo=1", "unknown parameter"),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "repeats",
        ),
        (
            "permessage-deflate; server_no_context_takeover=1",
            "a value",
        ),
        (
            "permessage-deflate; client_no_context_takeover=true",
            "a value",
        ),
        (
            "permessage-deflate; server_max_window_bits=13",
            "over the 12",
        ),
        (
            "permessage-deflate; client_max_window_bits=11",
            "over the 10",
        ),
        ("permessage-deflate; client_max_window_bits", "8 to 15"),
        ("permessage-deflate; server_max_window_bits=7", "8 to 15"),
        ("permessage-deflate; server_max_window_bits=16", "8 to 15"),
        ("permessage-deflate; server_max_window_bits=09", "8 to 15"),
        ("permessage-deflate; server_max_window_bits=", "8 to 15"),
        ("permessage-deflate;", "empty parameter"),
        // What was asked of the server must be in its answer (§7.1.2.1).
        (
            "permessage-deflate",
            "leaves out the server_max_window_bits=12",
        ),
    ] {
        let err = asked.accept(&[answer.as_bytes()]).unwrap_err();
        assert!(err.contains(why), "{answer}: {err}");
    }
    // Two headers are one list: two extensions.
    assert!(asked
        .accept(&[b"permessage-deflate", b"permessage-deflate"])
        .is_err());
    assert!(asked.accept(&[b"permessage-deflate\xff"]).is_err());
    let reset = Offer {
        server_no_context_takeover: true,
        ..Offer::default()
    };
    let err = reset.accept(&[b"permessage-deflate"]).unwrap_err();
    assert!(err.contains("server_no_context_takeover"), "{err}");
}

// ----- What rtws sends -------------------------------------------------------------

/// A server's inflater: raw deflate with a 15-bit window (reads any client window).
struct ServerInflater(Decompress);

impl ServerInflater {
    fn new() -> Self {
        ServerInflater(Decompress::new_with_window_bits(false, 15))
    }

    /// One message's payload: the frames' bytes with the stripped tail put back.
    fn message(&mut self, compressed: &[u8], reset: bool) -> Vec<u8> {
        let mut input = compressed.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(input.len() * 8 + 1024);
        loop {
            let before = self.0.total_in();
            self.0
                .decompress_vec(&input, &mut out, FlushDecompress::Sync)
                .expect("rtws's output inflates");
            input.drain(..(self.0.total_in() - before) as usize);
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity());
        }
        if reset {
            self.0.reset(false);
        }
        out
    }
}

fn sent(p: &mut Protocol) -> Vec<ClientFrame> {
    let frames = decode_client_with(p.output(), 0b100);
    let n = p.unwritten();
    p.consumed(n);
    frames
}

#[test]
fn sent_messages_are_compressed_and_inflate_back() {
    for (client_reset, bits) in [(false, 15), (true, 15), (false, 9), (true, 12)] {
        let mut p = Protocol::new(None, false, 0, 1 << 20).with_deflate(agreed(
            bits,
            15,
            client_reset,
            false,
        ));
        let mut server = ServerInflater::new();
        let json = br#"{"symbol":"ACME","bid":101.25,"ask":101.5,"size":300}"#.repeat(40);
        let mut sizes = Vec::new();
        for msg in [
            json.clone(),
            json.clone(),
            Vec::new(),
            pattern(100_000),
            b"x".to_vec(),
        ] {
            p.send_data(Binary, true, &msg).unwrap();
            let frames = sent(&mut p);
            assert_eq!(frames.len(), 1);
            assert_eq!(frames[0].rsv, 0b100, "RSV1 marks a compressed message");
            assert_eq!(server.message(&frames[0].payload, client_reset), msg);
            sizes.push(frames[0].payload.len());
        }
        assert!(sizes[0] < json.len() / 5, "{sizes:?}");
        if client_reset || bits < 12 {
            // Each message on its own (or the first copy out of the window).
            assert!(
                sizes[1] * 2 > sizes[0],
                "{sizes:?} (window {bits}, reset {client_reset})"
            );
        } else {
            // Context takeover: the second copy refers back to the first.
            assert!(sizes[1] < sizes[0] / 2, "{sizes:?} (window {bits})");
        }
    }
}

#[test]
fn idle_connections_let_deflate_state_go_and_make_it_again() {
    // No context takeover either way: nothing carries over, so nothing is kept.
    let mut p = Protocol::new(None, false, 0, 1 << 20).with_deflate(agreed(15, 15, true, true));
    let mut server_in = ServerInflater::new();
    let mut server_out = ServerDeflater::new(15, true);
    let mut buf = BytesMut::new();
    for round in 0..3 {
        let msg = format!("round {round}: {}", "state ".repeat(50));
        p.send_data(Text, true, msg.as_bytes()).unwrap();
        let frames = sent(&mut p);
        assert_eq!(server_in.message(&frames[0].payload, true), msg.as_bytes());
        buf.extend_from_slice(&server_frames(
            Text,
            &server_out.message(msg.as_bytes()),
            2,
            true,
        ));
        let mut got = Vec::new();
        while let Some(Event::Data { payload, .. }) = p.read(&mut buf) {
            got.extend_from_slice(&payload);
        }
        assert_eq!(got, msg.as_bytes());
        p.release_output();
    }
}

#[test]
fn fragmented_sends_set_rsv1_on_the_first_frame_only() {
    let mut p = Protocol::new(None, false, 0, 1 << 20).with_deflate(agreed(15, 15, false, false));
    let parts: [&[u8]; 3] = [b"hello ", "wörld ".as_bytes(), b"again"];
    p.send_data(Text, false, parts[0]).unwrap();
    p.send_data(Text, false, parts[1]).unwrap();
    p.send_data(Text, true, parts[2]).unwrap();
    let frames = sent(&mut p);
    assert_eq!(
        frames
            .iter()
            .map(|f| (f.opcode, f.rsv, f.fin))
            .collect::<Vec<_>>(),
        [(TEXT, 0b100, false), (CONT, 0, false), (CONT, 0, true)]
    );
    let all: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(ServerInflater::new().message(&all, false), parts.concat());
    // Control frames go uncompressed.
    p.send_close(Some((1000, "bye")));
    let close = sent(&mut p);
    assert_eq!((close[0].opcode, close[0].rsv), (CLOSE, 0));
}

#[test]
fn an_eight_bit_client_window_sends_uncompressed() {
    let mut p = Protocol::new(None, false, 0, 1 << 20).with_deflate(agreed(8, 15, false, false));
    p.send_data(Binary, true, &[7u8; 1000]).unwrap();
    let frames = sent(&mut p);
    assert_eq!((frames[0].rsv, frames[0].payload.len()), (0, 1000));
}

// ----- What rtws reads -------------------------------------------------------------

/// A server's compressor: each message sync-flushed and its tail stripped.
struct ServerDeflater {
    c: Compress,
    reset: bool,
}

impl ServerDeflater {
    fn new(bits: u8, reset: bool) -> Self {
        ServerDeflater {
            c: Compress::new_with_window_bits(Compression::default(), false, bits),
            reset,
        }
    }

    fn message(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 1024);
        let mut input = data;
        loop {
            let before = self.c.total_in();
            self.c
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .unwrap();
            input = &input[(self.c.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(1024));
        }
        // A message with nothing new to flush (empty, after another) has no tail.
        if out.ends_with(&[0, 0, 0xff, 0xff]) {
            out.truncate(out.len() - 4);
        } else if out.is_empty() {
            out.push(0x00); // RFC 7692 §7.2.3.6
        }
        if self.reset {
            self.c.reset();
        }
        out
    }
}

/// A server frame: RSV1 when `compressed` and first.
fn server_frames(kind: DataKind, compressed: &[u8], pieces: usize, rsv1: bool) -> Vec<u8> {
    let op = if kind == Text { TEXT } else { BINARY };
    let n = pieces.max(1);
    let step = compressed.len().div_ceil(n).max(1);
    let chunks: Vec<&[u8]> = if compressed.is_empty() {
        vec![&[][..]]
    } else {
        compressed.chunks(step).collect()
    };
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let mut b0 = if i == 0 { op } else { CONT };
        if i == 0 && rsv1 {
            b0 |= RSV1;
        }
        if i + 1 == chunks.len() {
            b0 |= FIN;
        }
        out.extend(frame(b0, c));
    }
    out
}

/// Reads every event `bytes` hold, fed `cut` bytes at a time; checks that no
/// piece is over PIECE bytes and returns the whole messages and anything else.
fn read_all(p: &mut Protocol, bytes: &[u8], cut: usize) -> (Vec<(DataKind, Vec<u8>)>, Vec<Event>) {
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    let mut others = Vec::new();
    let mut current: Option<(DataKind, Vec<u8>)> = None;
    for chunk in bytes.chunks(cut.max(1)) {
        buf.extend_from_slice(chunk);
        while let Some(e) = p.read(&mut buf) {
            match e {
                Event::Data {
                    kind,
                    first,
                    last,
                    payload,
                } => {
                    assert!(payload.len() <= PIECE, "a piece of {} bytes", payload.len());
                    assert_eq!(first, current.is_none());
                    let m = current.get_or_insert((kind, Vec::new()));
                    m.1.extend_from_slice(&payload);
                    if last {
                        messages.push(current.take().unwrap());
                    }
                }
                other => others.push(other),
            }
        }
    }
    (messages, others)
}

#[test]
fn compressed_messages_read_back_in_every_parameter_combination() {
    let corpus: Vec<(DataKind, Vec<u8>)> = vec![
        (Text, br#"{"op":"update","items":[1,2,3]}"#.repeat(50)),
        (Text, br#"{"op":"update","items":[1,2,3]}"#.repeat(50)),
        (Binary, Vec::new()),
        (Binary, pattern(300_000)),
        (Text, "ünïcödé ".repeat(5000).into_bytes()),
        (Binary, vec![0u8; 1 << 20]),
    ];
    for server_bits in [9u8, 12, 15] {
        for server_reset in [false, true] {
            let mut server = ServerDeflater::new(server_bits, server_reset);
            let mut wire = Vec::new();
            for (i, (kind, data)) in corpus.iter().enumerate() {
                let compressed = server.message(data);
                wire.extend(server_frames(*kind, &compressed, 1 + i % 3, true));
                if i == 1 {
                    wire.extend(frame(FIN | PING, b"p"));
                }
            }
            // An uncompressed message between compressed ones (RSV1 clear).
            wire.extend(frame(FIN | BINARY, b"plain"));
            for cut in [wire.len(), 1000, 7] {
                let mut p = Protocol::new(None, false, 0, 1 << 20).with_deflate(agreed(
                    15,
                    server_bits,
                    false,
                    server_reset,
                ));
                let (messages, others) = read_all(&mut p, &wire, cut);
                let want: Vec<_> = corpus
                    .iter()
                    .cloned()
                    .chain([(Binary, b"plain".to_vec())])
                    .collect();
                assert_eq!(messages.len(), want.len(), "bits {server_bits} cut {cut}");
                for (got, want) in messages.iter().zip(&want) {
                    assert!(
                        got == want,
                        "bits {server_bits} reset {server_reset} cut {cut}"
                    );
                }
                assert!(others.is_empty());
                // The ping was answered with a pong, uncompressed.
                let frames = sent(&mut p);
                assert_eq!((frames[0].opcode, frames[0].rsv), (PONG, 0));
            }
        }
    }
}

#[test]
fn a_final_deflate_block_ends_a_message() {
    // §7.2.3.3: a sender may end a message with BFINAL set instead of a sync flush.
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(4096);
    c.compress_vec(b"finished", &mut out, FlushCompress::Finish)
        .unwrap();
    let mut wire = server_frames(Text, &out, 1, true);
    let again = ServerDeflater::new(15, false).message(b"next");
    wire.extend(server_frames(Text, &again, 1, true));
    let mut p = Protocol::new(None, false, 0, 1 << 20).with_deflate(agreed(15, 15, false, false));
    let (messages, _) = read_all(&mut p, &wire, wire.len());
    assert_eq!(
        messages,
        [(Text, b"finished".to_vec()), (Text, b"next".to_vec())]
    );
}

fn violation_of(p: &mut Protocol, wire: &[u8]) -> u16 {
    let (_, others) = read_all(p, wire, wire.len());
    assert_eq!(others, [Event::Violation]);
    match p.closure() {
        Closure::Failed(v) => v.code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_decompression_bomb_is_refused_piece_by_piece() {
    // 16 MiB of zeros compress to ~16 KiB; MaxMessageSize is 1 MiB.
    let zeros = vec![0u8; 16 << 20];
    let compressed = ServerDeflater::new(15, false).message(&zeros);
    assert!(compressed.len() < 40_000);
    let wire = server_frames(Binary, &compressed, 1, true);
    let mut p =
        Protocol::new(Some(1 << 20), false, 0, 1 << 20).with_deflate(agreed(15, 15, false, false));
    let mut buf = BytesMut::from(&wire[..]);
    let mut handed_out = 0usize;
    loop {
        match p.read(&mut buf) {
            Some(Event::Data { payload, .. }) => {
                assert!(payload.len() <= PIECE);
                handed_out += payload.len();
            }
            Some(Event::Violation) => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        handed_out <= 1 << 20,
        "{handed_out} bytes before the refusal"
    );
    match p.closure() {
        Closure::Failed(v) => assert_eq!(v.code, 1009),
        other => panic!("{other:?}"),
    }
}

#[test]
fn broken_compressed_messages_fail_the_connection() {
    let fresh =
        || Protocol::new(None, false, 0, 1 << 20).with_deflate(agreed(15, 15, false, false));
    // Not deflate data at all.
    assert_eq!(
        violation_of(&mut fresh(), &server_frames(Binary, &[0xff; 20], 1, true)),
        1007
    );
    // Invalid UTF-8 once inflated.
    let bad = ServerDeflater::new(15, false).message(&[b'a', 0xc3, 0x28]);
    assert_eq!(
        violation_of(&mut fresh(), &server_frames(Text, &bad, 1, true)),
        1007
    );
    // RSV1 on a continuation frame, on a control frame, and with no deflate agreed.
    let ok = ServerDeflater::new(15, false).message(b"abc");
    let cont = concat([frame(BINARY, &ok[..1]), frame(FIN | RSV1 | CONT, &ok[1..])]);
    assert_eq!(violation_of(&mut fresh(), &cont), 1002);
    assert_eq!(
        violation_of(&mut fresh(), &frame(FIN | RSV1 | PING, b"")),
        1002
    );
    let plain = Protocol::new(None, false, 0, 1 << 20);
    assert_eq!(
        violation_of(&mut { plain }, &server_frames(Binary, &ok, 1, true)),
        1002
    );
    // RSV2 and RSV3 stay reserved.
    assert_eq!(
        violation_of(&mut fresh(), &frame(FIN | 0x20 | BINARY, b"x")),
        1002
    );
}
