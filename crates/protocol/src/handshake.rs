//! The opening handshake (RFC 6455 §4.1) as bytes: the upgrade request rtws sends,
//! where the server's response head ends, and whether that response accepts it.
//! No I/O here: `connection` writes the request and gathers the head through `Wire`.
//!
//! tungstenite makes the key and its expected answer; the response is checked here,
//! rule by rule as §4.1 states them, because tungstenite's own check refuses what
//! the RFC allows (a `Connection` header listing more tokens than `Upgrade`, a
//! server declining every offered subprotocol) and leaves extensions unchecked.

use crate::deflate::{Agreed, Offer};
use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

/// The largest response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header lines a response head may have.
const MAX_HEADERS: usize = 124;

/// What the client asks for: the request's bytes and what a valid answer holds.
pub struct Upgrade {
    pub bytes: Vec<u8>,
    accept: String,
    protocols: Vec<String>,
    deflate: Option<Offer>,
}

/// What a response that accepts the upgrade agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol the server chose ("" for none).
    pub protocol: String,
    /// permessage-deflate's parameters, when offered and accepted.
    pub deflate: Option<Agreed>,
}

impl Upgrade {
    /// The `Sec-WebSocket-Accept` value that answers this request's key.
    pub fn accept(&self) -> &str {
        &self.accept
    }
}

/// Builds the upgrade request for `uri` (absolute, already checked and normalized):
/// the handshake's own headers, the subprotocols offered, permessage-deflate if
/// offered, an `Authorization` value, then the host's own headers in the order it
/// set them.
pub fn request(
    uri: &http::Uri,
    headers: &[(String, String)],
    protocols: &[String],
    deflate: Option<&Offer>,
    authorization: Option<&str>,
) -> Upgrade {
    let key = generate_key();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let host = uri.authority().map_or("", |a| a.as_str());
    let mut text = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
    );
    let mut line = |name: &str, value: &str| {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push_str("\r\n");
    };
    if !protocols.is_empty() {
        line("Sec-WebSocket-Protocol", &protocols.join(", "));
    }
    if let Some(offer) = deflate {
        line("Sec-WebSocket-Extensions", &offer.header_value());
    }
    if let Some(auth) = authorization {
        line("Authorization", auth);
    }
    for (name, value) in headers {
        // The credential's answer replaces one the host set itself: two
        // Authorization headers are not allowed (RFC 7230 §3.2.2).
        if authorization.is_some() && name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        line(name, value);
    }
    text.push_str("\r\n");
    Upgrade {
        bytes: text.into_bytes(),
        accept: derive_accept_key(key.as_bytes()),
        protocols: protocols.to_vec(),
        deflate: deflate.copied(),
    }
}

/// How long the response head at the start of `bytes` is: `Ok(None)` until it is
/// complete. Bare-LF line endings count as line endings (httparse's reading).
pub fn head_len(bytes: &[u8]) -> Result<Option<usize>, Invalid> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let too_long = || invalid(format!("the response head is over {MAX_HEAD} bytes"));
    match httparse::Response::new(&mut headers).parse(bytes) {
        // The same verdict however the head arrives: all at once or in pieces.
        Ok(httparse::Status::Complete(n)) if n > MAX_HEAD => Err(too_long()),
        Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
        Ok(httparse::Status::Partial) if bytes.len() >= MAX_HEAD => Err(too_long()),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(invalid(format!("the response head does not parse: {e}"))),
    }
}

/// Why a response did not accept the upgrade.
pub enum Refusal {
    /// Another HTTP status: 401 is worth a retry with a credential when the server
    /// offered Basic authentication.
    Status {
        code: u16,
        basic: bool,
    },
    Invalid(Invalid),
}

/// A response that is not a valid answer to the upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub kind: InvalidKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKind {
    /// Not HTTP, or a 101 that breaks a rule of RFC 6455 §4.1.
    Response,
    /// An extension the client did not offer (§4.1 step 5).
    Extension,
    /// A subprotocol the client did not offer, or more than one (§4.1 step 6).
    Subprotocol,
}

/// Checks a complete response head (`head_len` bytes) against the request; what
/// was agreed when it accepts.
pub fn verify(head: &[u8], upgrade: &Upgrade) -> std::result::Result<Accepted, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    if !matches!(response.parse(head), Ok(httparse::Status::Complete(_))) {
        return Err(Refusal::Invalid(invalid(
            "the response head does not parse",
        )));
    }
    let all = |name: &'static str| {
        response
            .headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let code = response.code.unwrap_or_default();
    if code != 101 {
        let basic =
            all("WWW-Authenticate").any(|v| v.len() >= 5 && v[..5].eq_ignore_ascii_case(b"basic"));
        return Err(Refusal::Status { code, basic });
    }
    let refuse = |why: &str| Err(Refusal::Invalid(invalid(why)));
    // §4.1 step 2: an Upgrade header that is "websocket".
    if !all("Upgrade").any(|v| v.trim_ascii().eq_ignore_ascii_case(b"websocket")) {
        return refuse("the 101 response has no 'Upgrade: websocket'");
    }
    // Step 3: a Connection header with the token "Upgrade" (among others, perhaps).
    if !all("Connection").any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
    }) {
        return refuse("the 101 response's Connection header has no 'Upgrade' token");
    }
    // Step 4: the key's answer.
    let mut accepts = all("Sec-WebSocket-Accept");
    if accepts.next().map(<[u8]>::trim_ascii) != Some(upgrade.accept.as_bytes())
        || accepts.next().is_some()
    {
        return refuse("the 101 response's Sec-WebSocket-Accept does not answer our key");
    }
    // Step 5: only an extension rtws offered (permessage-deflate, when asked to),
    // with parameters within the offer (RFC 7692 §7.1).
    let extensions: Vec<&[u8]> = all("Sec-WebSocket-Extensions").collect();
    let deflate = match &upgrade.deflate {
        Some(offer) => offer.accept(&extensions),
        None if extensions.is_empty() => Ok(None),
        None => Err("names an extension, and rtws offered none".to_string()),
    }
    .map_err(|why| {
        Refusal::Invalid(Invalid {
            kind: InvalidKind::Extension,
            message: format!(
                "the server's Sec-WebSocket-Extensions '{}' {why}",
                extensions
                    .iter()
                    .map(|e| String::from_utf8_lossy(e))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    })?;
    // Step 6: at most one subprotocol, one we offered; none means the server declined.
    let mut chosen = all("Sec-WebSocket-Protocol");
    let protocol = match (chosen.next(), chosen.next()) {
        (None, _) => String::new(),
        (Some(p), None) => {
            let p = String::from_utf8_lossy(p.trim_ascii()).into_owned();
            if !upgrade.protocols.contains(&p) {
                return Err(Refusal::Invalid(Invalid {
                    kind: InvalidKind::Subprotocol,
                    message: format!("the server chose subprotocol '{p}', which was not offered"),
                }));
            }
            p
        }
        (Some(_), Some(_)) => {
            return Err(Refusal::Invalid(Invalid {
                kind: InvalidKind::Subprotocol,
                message: "the server chose more than one subprotocol".into(),
            }))
        }
    };
    Ok(Accepted { protocol, deflate })
}

fn invalid(why: impl std::fmt::Display) -> Invalid {
    Invalid {
        kind: InvalidKind::Response,
        message: format!("invalid handshake response: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(upgrade: &Upgrade, extra: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            upgrade.accept
        )
        .into_bytes()
    }

    fn offer(protocols: &[&str]) -> Upgrade {
        let uri: http::Uri = "ws://h:81/p?q".parse().unwrap();
        let protocols: Vec<String> = protocols.iter().map(|p| p.to_string()).collect();
        request(&uri, &[("X-A".into(), "1".into())], &protocols, None, None)
    }

    /// The subprotocol accepted, or the status code / kind of invalid answer.
    fn verdict(upgrade: &Upgrade, extra: &str) -> std::result::Result<String, Option<InvalidKind>> {
        verify(&answer(upgrade, extra), upgrade)
            .map(|a| a.protocol)
            .map_err(|r| match r {
                Refusal::Status { .. } => None,
                Refusal::Invalid(e) => Some(e.kind),
            })
    }

    #[test]
    fn the_request_names_its_target_host_and_offers() {
        let up = offer(&["a", "b"]);
        let text = String::from_utf8(up.bytes.clone()).unwrap();
        assert!(
            text.starts_with("GET /p?q HTTP/1.1\r\nHost: h:81\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nSec-WebSocket-Protocol: a, b\r\n"));
        assert!(text.ends_with("\r\nX-A: 1\r\n\r\n"));
        let uri: http::Uri = "ws://[::1]/".parse().unwrap();
        let own = [("authorization".to_string(), "Bearer x".to_string())];
        let text =
            String::from_utf8(request(&uri, &own, &[], None, Some("Basic eDp5")).bytes).unwrap();
        assert!(
            text.starts_with("GET / HTTP/1.1\r\nHost: [::1]\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("uthorization").count(), 1, "{text}");
        assert!(text.contains("\r\nAuthorization: Basic eDp5\r\n"));
    }

    #[test]
    fn responses_are_checked_as_rfc_6455_says() {
        let up = offer(&["a", "b"]);
        assert_eq!(verdict(&up, ""), Ok(String::new()), "declining is allowed");
        assert_eq!(
            verdict(&up, "Sec-WebSocket-Protocol: b\r\n"),
            Ok("b".into())
        );
        let with_list = String::from_utf8(answer(&up, ""))
            .unwrap()
            .replace("Connection: Upgrade", "Connection: keep-alive, Upgrade");
        assert_eq!(
            verify(with_list.as_bytes(), &up).ok().map(|a| a.protocol),
            Some(String::new()),
            "a token list"
        );
        assert_eq!(
            verdict(&up, "Sec-WebSocket-Protocol: c\r\n"),
            Err(Some(InvalidKind::Subprotocol))
        );
        assert_eq!(
            verdict(&up, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            Err(Some(InvalidKind::Extension))
        );
        let other = offer(&[]);
        assert_eq!(
            verify(&answer(&other, ""), &up).err().map(|r| match r {
                Refusal::Invalid(e) => Some(e.kind),
                Refusal::Status { .. } => None,
            }),
            Some(Some(InvalidKind::Response)),
            "another key's answer"
        );
        let status = b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=x\r\n\r\n";
        assert!(matches!(
            verify(status, &up),
            Err(Refusal::Status {
                code: 401,
                basic: true
            })
        ));
    }

    #[test]
    fn permessage_deflate_is_offered_and_its_answer_checked() {
        let uri: http::Uri = "ws://h/".parse().unwrap();
        let asked = Offer {
            server_max_window_bits: 10,
            ..Offer::default()
        };
        let up = request(&uri, &[], &[], Some(&asked), None);
        let text = String::from_utf8(up.bytes.clone()).unwrap();
        assert!(text.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; \
             client_max_window_bits\r\n"
        ));
        let accepted = verify(
            &answer(
                &up,
                "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9\r\n",
            ),
            &up,
        )
        .ok()
        .unwrap();
        assert_eq!(accepted.deflate.unwrap().server_max_window_bits, 9);
        assert_eq!(verify(&answer(&up, ""), &up).ok().unwrap().deflate, None);
        assert_eq!(
            verdict(
                &up,
                "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=11\r\n"
            ),
            Err(Some(InvalidKind::Extension))
        );
    }

    #[test]
    fn heads_end_where_httparse_says() {
        assert_eq!(head_len(b"HTTP/1.1 101 OK\r\nA: b\r\n").unwrap(), None);
        assert_eq!(
            head_len(b"HTTP/1.1 101 OK\nA: b\n\nrest").unwrap(),
            Some(22)
        );
        assert!(head_len(b"SSH-2.0-nope\r\n").is_err());
        let endless = format!("HTTP/1.1 101 OK\r\nX: {}", "x".repeat(MAX_HEAD));
        assert!(head_len(endless.as_bytes()).is_err());
    }
}
