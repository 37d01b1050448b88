//! The absolute URIs rtws is given (ConnectAsync's, the proxy's), parsed by the
//! `url` crate: the WHATWG URL Standard, which browsers' `WebSocket` constructor
//! follows too. For `ws:`, `wss:` and `http:` (all "special" schemes there) it
//! lower-cases the scheme and host, checks the host strictly (IPv4, `[IPv6]`, or a
//! domain name without forbidden characters, international names in their
//! punycode form), drops a default port, makes an empty path `/`, resolves `.` and
//! `..` segments and percent-encodes (as UTF-8) what may not appear raw.
//!
//! The Standard also repairs input without a word, which an API given a URI
//! should not do; these are refused here instead: ASCII control characters
//! (tabs and line breaks are removed anywhere, others stripped at the ends), spaces
//! at either end (stripped), `\` (read as `/`), and a scheme not followed by `//`
//! and a non-empty authority (`ws:host`, `ws:/host` and `ws:///host` all read as
//! `ws://host`).

use rtws_types::*;
use url::{Host, Url};

/// An absolute URI, parsed.
pub struct Absolute<'a> {
    pub url: Url,
    /// The authority exactly as written (between `//` and the path, query or
    /// fragment), for what the parsed form no longer shows: an empty userinfo
    /// (`ws://@host/`) leaves no trace in `url`.
    pub authority: &'a str,
}

impl Absolute<'_> {
    /// Whether the authority has a userinfo part (`user[:password]@`), even an empty one.
    pub fn has_userinfo(&self) -> bool {
        self.authority.contains('@')
    }
}

/// Parses `text` as `scheme://authority[path][?query][#fragment]` with a scheme of
/// `schemes` (lower-case; matched ignoring case). `what` names the URI in
/// messages ("WebSocket URI"). Every failure is `E_INVALIDARG`.
pub fn parse<'a>(text: &'a str, what: &str, schemes: &[&str]) -> Result<Absolute<'a>> {
    let bad = |why: &str| Error::invalid_arg(format!("invalid {what} '{text}': {why}"));
    let expected = schemes.join(" or ");
    let (scheme, rest) = match text.split_once(':') {
        Some((s, rest)) if !s.is_empty() && !s.contains(['/', '?', '#']) => (s, rest),
        _ => {
            return Err(bad(&format!(
                "it is not absolute (expected {expected}://…)"
            )))
        }
    };
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(bad(&format!(
            "the scheme must be {expected}, not '{scheme}'"
        )));
    }
    if let Some(c) = text.chars().find(char::is_ascii_control) {
        let c = c.escape_default();
        return Err(bad(&format!("it contains the control character '{c}'")));
    }
    if text.ends_with(' ') {
        return Err(bad("it ends with a space"));
    }
    if text.contains('\\') {
        return Err(bad("it contains '\\' (a path is separated by '/')"));
    }
    let Some(after_slashes) = rest.strip_prefix("//") else {
        return Err(bad(&format!(
            "'{scheme}:' must be followed by '//' and a host"
        )));
    };
    let authority = after_slashes
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("it has no host"));
    }
    let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    Ok(Absolute { url, authority })
}

/// The host of a parsed URI as the resolver and TLS take it: a domain name as is,
/// an IP address in its usual text form (IPv6 without brackets).
pub fn host(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(d) => Some(d.to_owned()),
        Host::Ipv4(a) => Some(a.to_string()),
        Host::Ipv6(a) => Some(a.to_string()),
    }
}
