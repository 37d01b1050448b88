//! `frames::encode`: every opcode, FIN or not, at the length encodings' boundaries,
//! decoded by the test's own decoder and compared with the header tungstenite's
//! `FrameHeader::format` writes for the same frame and mask.

mod common;

use common::*;
use rtws_protocol::frames::{self, OpCode};
use tungstenite::protocol::frame::FrameHeader;

#[test]
fn encoded_frames_decode_and_match_tungstenites_header() {
    let opcodes = [CONT, TEXT, BINARY, CLOSE, PING, PONG];
    for op in opcodes {
        for fin in [false, true] {
            for len in [
                0usize, 1, 7, 8, 9, 125, 126, 127, 128, 129, 255, 256, 65535, 65536, 70_001,
            ] {
                if op >= 8 && (len > 125 || !fin) {
                    continue; // not a valid control frame
                }
                let payload = pattern(len);
                let mut out = vec![0xEE; 3]; // appended after what is there
                frames::encode(&mut out, OpCode::from(op), fin, &payload);
                assert_eq!(&out[..3], &[0xEE; 3]);
                let frame = &out[3..];
                let f = decode_client(frame);
                assert_eq!(f.len(), 1);
                assert_eq!((f[0].opcode, f[0].fin, f[0].rsv), (op, fin, 0));
                assert_eq!(f[0].payload, payload, "op {op} fin {fin} len {len}");

                let mut want = Vec::new();
                FrameHeader {
                    is_final: fin,
                    rsv1: false,
                    rsv2: false,
                    rsv3: false,
                    opcode: OpCode::from(op),
                    mask: Some(f[0].mask),
                }
                .format(len as u64, &mut want)
                .unwrap();
                assert_eq!(
                    &frame[..want.len()],
                    &want[..],
                    "header: op {op} fin {fin} len {len}"
                );
                assert_eq!(frame.len(), want.len() + len);
            }
        }
    }
}

#[test]
fn the_helpers_name_the_right_opcodes() {
    use rtws_protocol::DataKind::{Binary, Text};
    let byte = |op: OpCode| u8::from(op);
    assert_eq!(byte(frames::data_opcode(Text, true)), TEXT);
    assert_eq!(byte(frames::data_opcode(Binary, true)), BINARY);
    assert_eq!(byte(frames::data_opcode(Text, false)), CONT);
    assert_eq!(byte(frames::data_opcode(Binary, false)), CONT);
    assert_eq!(byte(frames::close_opcode()), CLOSE);
    assert_eq!(byte(frames::pong_opcode()), PONG);
}
