//! The client's address: the TCP peer, or, when the peer is a trusted reverse proxy, the
//! address that proxy (and any trusted proxy before it) recorded in `X-Forwarded-For` or
//! `Forwarded`. Headers from anyone else are never believed.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// One trusted proxy: an address, or a range in CIDR notation (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange {
    network: IpAddr,
    prefix: u8,
}

/// Why a trusted-proxy entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR range (examples: 10.0.0.5, 10.0.0.0/8, ::1, fd00::/8)")]
pub struct BadProxyRange(pub String);

impl FromStr for ProxyRange {
    type Err = BadProxyRange;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadProxyRange(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(ProxyRange { network, prefix })
    }
}

impl ProxyRange {
    /// True when `ip` lies in the range (IPv4-mapped IPv6 peers count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(
                u128::from(n.to_bits()),
                u128::from(a.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(n.to_bits(), a.to_bits(), 128, self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, width: u32, prefix: u8) -> bool {
    let host_bits = width - u32::from(prefix);
    host_bits >= width || (a >> host_bits) == (b >> host_bits)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address worked out for a request, kept in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

/// The client behind `peer`: walks the forwarding chain from the right, past every hop that
/// is a trusted proxy, and stops at the first address that is not one (the client as the
/// outermost trusted proxy saw it). A chain only counts when the proxy sent exactly one
/// kind of forwarding header: with both, one of them came from the client, and nothing
/// says which, so the proxy's own address is kept.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[ProxyRange]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let xff = joined(headers, "x-forwarded-for");
    let fwd = joined(headers, "forwarded");
    let chain: Vec<String> = match (xff, fwd) {
        (Some(x), None) => x.split(',').map(|s| s.trim().to_string()).collect(),
        (None, Some(f)) => forwarded_for(&f),
        (Some(_), Some(_)) => {
            tracing::warn!(
                "both X-Forwarded-For and Forwarded arrived through a proxy; using the proxy's address"
            );
            return peer;
        }
        (None, None) => return peer,
    };
    let mut hop = peer;
    for entry in chain.iter().rev() {
        if !is_trusted(hop) {
            break;
        }
        match parse_node(entry) {
            Some(ip) => hop = canonical(ip),
            // "unknown", an obfuscated name or garbage: the last trusted hop is all we know.
            None => break,
        }
    }
    hop
}

/// Every value of a header, in order, joined as one comma-separated list.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// The `for=` node of each element of a `Forwarded` header (RFC 7239), in order.
fn forwarded_for(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// An address from a forwarding entry: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`
/// or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Ok(sock) = node.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

/// Works out the client address once per request, for throttling and the audit trail. It is
/// never written to the logs: an address can identify a person, and logs carry none.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| resolve(c.0.ip(), req.headers(), &state.settings().trusted_proxies).to_string())
        .unwrap_or_else(|| "unknown".into());
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(list: &[&str]) -> Vec<ProxyRange> {
        list.iter().map(|r| r.parse().expect("range")).collect()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ranges_parse_and_match() {
        let r: ProxyRange = "10.0.0.0/8".parse().expect("range");
        assert!(r.contains(ip("10.200.1.2")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped peers");
        let one: ProxyRange = "192.0.2.7".parse().expect("address");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: ProxyRange = "fd00::/8".parse().expect("v6");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(
            "0.0.0.0/0"
                .parse::<ProxyRange>()
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        for bad in ["", "10.0.0.0/33", "proxy.internal", "10.0.0/8", "::1/129"] {
            let err = bad.parse::<ProxyRange>().expect_err(bad).to_string();
            assert!(err.contains("CIDR"), "{err}");
        }
    }

    #[test]
    fn headers_from_untrusted_peers_are_ignored() {
        let trusted = ranges(&["10.0.0.2"]);
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            resolve(ip("198.51.100.9"), &h, &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(resolve(ip("198.51.100.9"), &h, &[]), ip("198.51.100.9"));
    }

    #[test]
    fn the_chain_is_walked_from_the_right_past_trusted_hops() {
        let trusted = ranges(&["10.0.0.0/24"]);
        // A client spoofed the first entry; the proxy appended the real peer.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.7"));
        // Two trusted proxies in a row.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.0.0.9")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.7"));
        // Repeated header lines form one list.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.8"),
        ]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.8"));
        // Every hop trusted: the leftmost is the client.
        let h = headers(&[("x-forwarded-for", "10.0.0.50")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("10.0.0.50"));
        // Garbage stops the walk at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "203.0.113.7, unknown")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("10.0.0.2"));
        // No header: the proxy itself.
        assert_eq!(
            resolve(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn forwarded_header_is_read_too() {
        let trusted = ranges(&["10.0.0.2", "::1"]);
        let h = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https;by=10.0.0.2",
        )]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("2001:db8::7"));
        let h = headers(&[("forwarded", "For=203.0.113.7:1234")]);
        assert_eq!(resolve(ip("::1"), &h, &trusted), ip("203.0.113.7"));
    }

    #[test]
    fn both_headers_at_once_are_not_believed() {
        let trusted = ranges(&["10.0.0.2"]);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("10.0.0.2"));
    }
}
