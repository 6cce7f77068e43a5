//! Which reverse proxies the vault believes about a client's address, and how it reads their
//! header. The socket's peer is the client unless the peer is one of the configured trusted
//! proxies: then the one forwarding header those proxies write (`X-Forwarded-For` unless
//! configured otherwise) is read from the right, skipping trusted hops, and the first untrusted
//! hop is the client (anyone can write a forwarding header, so only the part the trusted proxies
//! appended is believed). The other header is never read: a client's own `Forwarded` beside the
//! proxy's `X-Forwarded-For` would otherwise choose its address. Trusts no proxy unless configured.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Which forwarding header the trusted proxies write (and the only one read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (HAProxy's `option forwardfor`, nginx's `$proxy_add_x_forwarded_for`).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239), for proxies that write that one instead.
    Forwarded,
}

impl ForwardedHeader {
    /// `x-forwarded-for` or `forwarded` (any case).
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("'{other}' is not a forwarding header: use \"x-forwarded-for\" or \"forwarded\"")),
        }
    }
}

/// The reverse proxies whose forwarding header is believed, and which header that is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<Vec<IpNet>>, ForwardedHeader);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(Arc::new(networks), ForwardedHeader::default())
    }

    /// Reads `header` instead of the default `X-Forwarded-For`.
    pub fn reading(mut self, header: ForwardedHeader) -> Self {
        self.1 = header;
        self
    }

    /// Addresses (`10.0.0.7`, `::1`) or networks in CIDR form (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let parse_one = |entry: &str| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{entry}' is not an IP address or a CIDR network"))
        };
        Ok(Self::new(entries.iter().map(|e| parse_one(e.as_ref())).collect::<Result<_, _>>()?))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // The configured header only; each header line in order.
        let hops: Vec<Option<IpAddr>> = match self.1 {
            ForwardedHeader::Forwarded => {
                headers.get_all("forwarded").iter().flat_map(|v| forwarded_for(v.to_str().unwrap_or(""))).collect()
            }
            ForwardedHeader::XForwardedFor => headers
                .get_all("x-forwarded-for")
                .iter()
                .flat_map(|v| v.to_str().unwrap_or("").split(',').map(|hop| parse_hop(hop.trim())).collect::<Vec<_>>())
                .collect(),
        };
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip.to_canonical();
                    if !self.trusts(client) {
                        return client;
                    }
                }
                // A hop that names no address ("unknown", an obfuscated name, garbage): nothing
                // to the left of it can be trusted, so the last trusted hop stands for the client.
                None => return client,
            }
        }
        client
    }
}

/// The `for=` value of each element of a `Forwarded` header.
fn forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value.trim().trim_matches('"')))
            })?
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|ip| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_claim() {
        let none = TrustedProxies::default();
        let spoofed = headers(&[("x-forwarded-for", "198.51.100.1"), ("forwarded", "for=198.51.100.2")]);
        assert_eq!(none.client_ip(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(proxies.client_ip(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "::1"]).unwrap();
        // The client forged the first entry; the proxy appended the real one.
        let xff = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &xff), ip("198.51.100.7"));
        let split = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(proxies.client_ip(ip("::1"), &split), ip("198.51.100.7"));
        let forwarded = headers(&[("forwarded", r#"for=1.1.1.1, for="[2001:db8::7]:4711";proto=https"#)]);
        let rfc7239 = proxies.clone().reading(ForwardedHeader::Forwarded);
        assert_eq!(rfc7239.client_ip(ip("10.0.0.1"), &forwarded), ip("2001:db8::7"));
        let mapped = headers(&[("x-forwarded-for", "::ffff:198.51.100.8")]);
        assert_eq!(proxies.client_ip(ip("::ffff:10.0.0.1"), &mapped), ip("198.51.100.8"));
        let ported = headers(&[("x-forwarded-for", "198.51.100.9:5555")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &ported), ip("198.51.100.9"));
    }

    #[test]
    fn only_the_header_the_proxy_writes_is_read() {
        // HAProxy appended the peer it saw to X-Forwarded-For; the client wrote its own Forwarded.
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let both = headers(&[("forwarded", "for=198.51.100.66"), ("x-forwarded-for", "203.0.113.5")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &both), ip("203.0.113.5"));
        let rfc7239 = proxies.reading(ForwardedHeader::Forwarded);
        let both = headers(&[("forwarded", "for=203.0.113.5"), ("x-forwarded-for", "198.51.100.66")]);
        assert_eq!(rfc7239.client_ip(ip("10.0.0.1"), &both), ip("203.0.113.5"));
        assert_eq!(ForwardedHeader::parse("Forwarded"), Ok(ForwardedHeader::Forwarded));
        assert!(ForwardedHeader::parse("x-real-ip").is_err());
    }

    #[test]
    fn without_a_usable_hop_the_last_trusted_one_stands_in() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        let garbage = headers(&[("x-forwarded-for", "198.51.100.7, unknown, 10.2.2.2")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &garbage), ip("10.2.2.2"));
        let all_trusted = headers(&[("x-forwarded-for", "10.3.3.3, 10.2.2.2")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &all_trusted), ip("10.3.3.3"));
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.0/33"]).unwrap_err(),
            "'10.0.0.0/33' is not an IP address or a CIDR network"
        );
        assert!(TrustedProxies::parse(&["192.168.1.1", "fd00::/8"]).is_ok());
    }
}
