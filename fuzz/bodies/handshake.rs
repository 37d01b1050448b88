//! Target `handshake`: the server's response head as rtws reads it
//! (`core::handshake::head_len`, then `verify` against the request it answers).
//!
//! Input: `[offer count][deflate][split count][split sizes...][head...]` (an odd
//! `deflate` byte offers permessage-deflate, its bits choosing the parameters); in the head,
//! every `{ACCEPT}` becomes the answer to the request's key, so generated heads
//! reach the checks after it. Properties: nothing panics; where the head ends does
//! not depend on how it arrives (each prefix shorter than a complete head is
//! incomplete, each longer one ends at the same place; a head found broken stays
//! broken); an accepted response names one offered subprotocol or none, agrees
//! to permessage-deflate only when offered and within the offer, and holds the
//! key's answer; every refusal carries its documented HRESULT and a
//! message.

use super::input::Input;
use rtws_core::net::protocol_errors::invalid_response;
use rtws_protocol::deflate::Offer;
use rtws_protocol::handshake::{self, Refusal};
use rtws_types::{
    E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED, E_SUBPROTOCOL_NOT_SUPPORTED,
    WININET_E_INVALID_SERVER_RESPONSE,
};

const OFFERS: [&str; 3] = ["chat", "superchat", "v2.json"];

/// How the response was judged: its head's length and the verdict, or why not.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Incomplete,
    Broken,
    Accepted(String),
    Status(u16),
    Refused(i32),
}

pub fn run(data: &[u8]) -> Outcome {
    let mut input = Input::new(data);
    let offered: Vec<String> = OFFERS[..usize::from(input.u8()) % (OFFERS.len() + 1)]
        .iter()
        .map(|p| p.to_string())
        .collect();
    let d = input.u8();
    let deflate = (d & 1 == 1).then_some(Offer {
        client_no_context_takeover: d & 2 != 0,
        server_no_context_takeover: d & 4 != 0,
        client_max_window_bits: if d & 8 != 0 { 15 } else { 10 },
        server_max_window_bits: if d & 16 != 0 { 15 } else { 12 },
        compression_level: 1,
    });
    let splits: Vec<usize> = (0..input.u8() % 8)
        .map(|_| usize::from(input.u8()))
        .collect();
    let (uri, ..) =
        rtws_core::winrt::socket::parse_ws_uri("ws://127.0.0.1:9/fuzz").expect("a valid URI");
    let upgrade = handshake::request(&uri, &[], &offered, deflate.as_ref(), None);
    let head = String::from_utf8_lossy(input.rest()).replace("{ACCEPT}", upgrade.accept());
    let head = head.as_bytes();

    let whole = handshake::head_len(head);
    check_arrival(head, &whole, &splits);
    let n = match whole {
        Ok(None) => return Outcome::Incomplete,
        Err(e) => {
            let e = invalid_response(e);
            assert_eq!(e.hr, WININET_E_INVALID_SERVER_RESPONSE, "{}", e.message);
            assert!(!e.message.is_empty());
            return Outcome::Broken;
        }
        Ok(Some(n)) => n,
    };
    match handshake::verify(&head[..n], &upgrade) {
        Ok(accepted) => {
            if let Some(agreed) = accepted.deflate {
                let offer = deflate.expect("permessage-deflate agreed without an offer");
                assert!(agreed.client_max_window_bits <= offer.client_max_window_bits);
                assert!(agreed.server_max_window_bits <= offer.server_max_window_bits);
                assert!((8..=15).contains(&agreed.client_max_window_bits));
                assert!((8..=15).contains(&agreed.server_max_window_bits));
                assert!(agreed.client_no_context_takeover || !offer.client_no_context_takeover);
            }
            let protocol = accepted.protocol;
            assert!(
                protocol.is_empty() || offered.contains(&protocol),
                "accepted subprotocol '{protocol}', offered {offered:?}"
            );
            let text = String::from_utf8_lossy(&head[..n]);
            assert!(
                text.contains(upgrade.accept()),
                "accepted without the key's answer"
            );
            Outcome::Accepted(protocol)
        }
        Err(Refusal::Status { code, .. }) => {
            assert_ne!(code, 101, "a 101 refused as another status");
            Outcome::Status(code)
        }
        Err(Refusal::Invalid(e)) => {
            let e = invalid_response(e);
            assert!(
                [
                    WININET_E_INVALID_SERVER_RESPONSE,
                    E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED,
                    E_SUBPROTOCOL_NOT_SUPPORTED
                ]
                .contains(&e.hr),
                "undocumented HRESULT 0x{:08X}: {}",
                e.hr as u32,
                e.message
            );
            assert!(!e.message.is_empty());
            Outcome::Refused(e.hr)
        }
    }
}

/// The head's end as more of it arrives: at the input's split points (every
/// prefix, for short heads).
fn check_arrival(head: &[u8], whole: &Result<Option<usize>, handshake::Invalid>, splits: &[usize]) {
    let mut cuts: Vec<usize> = if head.len() <= 512 {
        (0..=head.len()).collect()
    } else {
        let mut at = 0;
        splits
            .iter()
            .map(|s| {
                at = (at + s * 17) % (head.len() + 1);
                at
            })
            .collect()
    };
    cuts.push(head.len());
    for cut in cuts {
        let part = handshake::head_len(&head[..cut]);
        match (whole, &part) {
            (Ok(Some(n)), Ok(Some(m))) => assert!(cut >= *n && m == n, "cut {cut}: {m} vs {n}"),
            (Ok(Some(n)), Ok(None)) => {
                assert!(cut < *n, "cut {cut}: incomplete, whole ends at {n}")
            }
            (Ok(Some(n)), Err(e)) => panic!("cut {cut} of a head ending at {n}: {}", e.message),
            // A prefix of an incomplete head is incomplete too.
            (Ok(None), p) => assert!(matches!(p, Ok(None)), "cut {cut}: {p:?}"),
            // Broken as a whole: a prefix is incomplete (more may break it) or broken.
            (Err(_), Ok(Some(m))) => panic!("cut {cut}: a head ending at {m}, broken whole"),
            (Err(_), _) => {}
        }
    }
}
