//! HTTP proxies: which one a connection uses, and the CONNECT tunnel through it.
//!
//! The proxy comes from the Control (an explicit `http://host:port`, or none) or,
//! by default, from the conventional environment variables: `http_proxy` (then
//! `HTTP_PROXY`, `all_proxy`, `ALL_PROXY`) for `ws:`, `https_proxy` (…) for `wss:`,
//! and `no_proxy` / `NO_PROXY` for exceptions. Loopback destinations never use an
//! environment proxy (as Go's and Python's HTTP clients do); an explicit one is
//! always used.

use bytes::BytesMut;
use rtws_types::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The Control's proxy setting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// From the environment variables (the default).
    #[default]
    Environment,
    /// No proxy, whatever the environment says.
    Direct,
    /// This proxy, `http://[user:password@]host[:port]`.
    Uri(String),
}

/// A proxy to tunnel through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// User and password from the proxy URI, used when no ProxyCredential is set.
    pub userinfo: Option<(String, String)>,
}

/// Checks an explicit proxy URI: `http://[user[:password]@]host[:port]` (port 80
/// by default; the scheme in any case; a path is ignored). The user and password
/// are percent-decoded. See `core::uri` for the parsing.
pub fn parse_proxy_uri(uri: &str) -> Result<Proxy> {
    let bad = |why: &str| Error::invalid_arg(format!("invalid proxy URI '{uri}': {why}"));
    let parsed = crate::net::uri::parse(uri, "proxy URI", &["http"])?;
    let url = &parsed.url;
    let host = crate::net::uri::host(url).ok_or_else(|| bad("it has no host"))?;
    let port = url.port().unwrap_or(80);
    if port == 0 {
        return Err(bad("port 0 is not a valid destination"));
    }
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| bad("its user or password is not UTF-8 once percent-decoded"))
    };
    // `http://@host` too: an empty user and password, as written.
    let userinfo = if parsed.has_userinfo() {
        Some((
            decode(url.username())?,
            decode(url.password().unwrap_or(""))?,
        ))
    } else {
        None
    };
    Ok(Proxy {
        host,
        port,
        userinfo,
    })
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Whether `no_proxy` exempts `host`: `*`, or an entry equal to the host or a
/// domain suffix of it (a leading dot is optional; ports in entries are ignored).
fn exempt(no_proxy: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.to_ascii_lowercase();
        let entry = entry.trim_start_matches('.');
        let entry = match entry.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
            _ => entry,
        };
        entry == "*"
            || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
    })
}

/// The proxy a connection to `host` uses, if any.
pub fn choose(setting: &ProxySetting, host: &str, secure: bool) -> Result<Option<Proxy>> {
    match setting {
        ProxySetting::Direct => Ok(None),
        ProxySetting::Uri(uri) => parse_proxy_uri(uri).map(Some),
        ProxySetting::Environment => {
            if is_loopback(host) {
                return Ok(None);
            }
            let names: &[&str] = if secure {
                &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
            } else {
                &["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            };
            let Some(uri) = env(names) else {
                return Ok(None);
            };
            if env(&["no_proxy", "NO_PROXY"]).is_some_and(|np| exempt(&np, host)) {
                return Ok(None);
            }
            // A bare host:port in the environment means http://host:port.
            let uri = if uri.contains("://") {
                uri
            } else {
                format!("http://{uri}")
            };
            parse_proxy_uri(&uri).map(Some)
        }
    }
}

/// Asks the proxy on `stream` for a tunnel to `host:port`; returns the bytes that
/// followed the proxy's answer (the start of the server's stream, if any).
pub async fn tunnel(
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    authorization: Option<&str>,
    limit: Duration,
) -> Result<BytesMut> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = authorization {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| Error::from_io(&e, "sending CONNECT to the proxy"))?;
        let mut buf = BytesMut::with_capacity(1024);
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = buf.split_to(end + 4);
                return Ok((head, buf));
            }
            if buf.len() > 16 * 1024 {
                return Err(invalid_proxy("an over-long response"));
            }
            if stream
                .read_buf(&mut buf)
                .await
                .map_err(|e| Error::from_io(&e, "reading the proxy's answer"))?
                == 0
            {
                return Err(invalid_proxy("the connection closed before an answer"));
            }
        }
    };
    let (head, rest) = timeout(limit, exchange).await.map_err(|_| {
        Error::new(
            WININET_E_TIMEOUT,
            "the proxy did not answer CONNECT in time",
        )
    })??;
    let status_line = head[..].split(|&b| b == b'\n').next().unwrap_or(&[]);
    let status = std::str::from_utf8(status_line)
        .ok()
        .filter(|l| l.starts_with("HTTP/1."))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid_proxy("a response that is not HTTP"))?;
    if (200..300).contains(&status) {
        return Ok(rest);
    }
    Err(Error::new(
        http_status_hresult(status),
        format!("the proxy refused the tunnel to {authority} with HTTP {status}"),
    ))
}

fn invalid_proxy(what: &str) -> Error {
    Error::new(
        WININET_E_INVALID_SERVER_RESPONSE,
        format!("the proxy answered CONNECT with {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_uris() {
        let p = parse_proxy_uri("http://bob:pw@127.0.0.1:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 3128));
        assert_eq!(p.userinfo, Some(("bob".into(), "pw".into())));
        assert_eq!(parse_proxy_uri("http://[::1]").unwrap().port, 80);
        assert_eq!(parse_proxy_uri("socks5://x").unwrap_err().hr, E_INVALIDARG);
        assert_eq!(parse_proxy_uri("http://:8").unwrap_err().hr, E_INVALIDARG);
    }

    #[test]
    fn malformed_proxy_hosts_are_refused() {
        for uri in [
            "http://a b:8080",
            "http://[not-ip]:8080",
            "http://[::1:8080",
            "http://a<b:8080",
            "http://h:8080x",
            "http://h:99999",
            "http://",
            "http:///h:8080",
            "http:h:8080",
            "http://h\tx:8080",
            " http://h:8080",
            "https://h:8080",
        ] {
            let e = parse_proxy_uri(uri).expect_err(uri);
            assert_eq!(e.hr, E_INVALIDARG, "{uri}");
        }
    }

    #[test]
    fn proxy_uris_are_normalized() {
        let p = parse_proxy_uri("HTTP://Proxy.Example:3128").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.userinfo),
            ("proxy.example", 3128, None)
        );
        let p = parse_proxy_uri("http://[0::1]:1/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 1));
        assert_eq!(parse_proxy_uri("http://h:80").unwrap().port, 80);
        // Percent-escapes in the userinfo are decoded.
        let p = parse_proxy_uri("http://b%40b:p%3Aw%20rd@h:8080").unwrap();
        assert_eq!(p.userinfo, Some(("b@b".into(), "p:w rd".into())));
        let p = parse_proxy_uri("http://bob@h").unwrap();
        assert_eq!(p.userinfo, Some(("bob".into(), "".into())));
        assert_eq!(
            parse_proxy_uri("http://b%FF:x@h").unwrap_err().hr,
            E_INVALIDARG
        );
    }

    #[test]
    fn no_proxy_matching() {
        assert!(exempt("example.com", "api.example.com"));
        assert!(exempt(".example.com", "example.com"));
        assert!(exempt("a.b, example.com:443", "example.com"));
        assert!(exempt("*", "anything"));
        assert!(!exempt("ample.com", "example.com"));
        assert!(!exempt("", "example.com"));
    }

    #[test]
    fn loopback_never_uses_the_environment() {
        assert_eq!(
            choose(&ProxySetting::Environment, "127.0.0.1", false).unwrap(),
            None
        );
        assert_eq!(
            choose(&ProxySetting::Environment, "::1", false).unwrap(),
            None
        );
        assert_eq!(
            choose(&ProxySetting::Direct, "example.com", false).unwrap(),
            None
        );
    }
}
