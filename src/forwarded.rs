//! Who the client is behind a reverse proxy.
//!
//! Why: behind Apache every request comes from the local socket, so without
//! this the server knows no client address, cannot throttle logons per
//! address and logs "local uid 33" for everyone. A proxy says whom it is
//! forwarding in `X-Forwarded-For`, but any client can send that header, so it
//! is believed only from the local socket (where Apache's mod_proxy connects)
//! and from the addresses in `trusted_proxies`. Each proxy appends the address
//! it saw, so the client is the last entry that is not itself a trusted proxy;
//! entries to the left of it are the client's own claims and are ignored.

use std::net::IpAddr;

use hyper::HeaderMap;

use crate::ops::Peer;

/// The peer a request is from: `peer` itself, or the client a trusted proxy
/// forwarded.
pub fn client_peer(peer: &Peer, headers: &HeaderMap, trusted_proxies: &[String]) -> Peer {
    let trusted: Vec<IpAddr> = trusted_proxies.iter().filter_map(|p| p.parse().ok()).collect();
    let believed = match peer {
        Peer::Local { .. } => true,
        Peer::Network(a) => trusted.contains(&canonical(a.ip())),
        Peer::Proxied { .. } => false,
    };
    if !believed {
        return peer.clone();
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            // A hop we cannot read: what is left of it cannot be believed.
            return peer.clone();
        };
        if !trusted.contains(&ip) {
            return Peer::Proxied {
                client: ip,
                via: Box::new(peer.clone()),
            };
        }
    }
    peer.clone()
}

/// An address as proxies write it: bare, or (some do) with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    entry.parse::<std::net::SocketAddr>().ok().map(|a| canonical(a.ip()))
}

/// An IPv4 address seen through an IPv6 socket is that IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const APACHE: Peer = Peer::Local {
        uid: Some(33),
        trusted: false,
    };

    #[test]
    fn the_local_socket_is_believed_and_the_last_hop_wins() {
        let p = client_peer(&APACHE, &headers(&["10.9.9.9, 198.51.100.4"]), &[]);
        assert_eq!(p.client_ip(), Some("198.51.100.4".parse().unwrap()));
        assert_eq!(p.to_string(), "198.51.100.4 via local uid 33");
        let p = client_peer(&APACHE, &headers(&["1.1.1.1", "2001:db8::7"]), &[]);
        assert_eq!(p.client_ip(), Some("2001:db8::7".parse().unwrap()));
    }

    #[test]
    fn a_network_client_is_believed_only_when_it_is_a_trusted_proxy() {
        let direct = Peer::Network("203.0.113.5:40000".parse().unwrap());
        let h = headers(&["192.0.2.1"]);
        assert_eq!(client_peer(&direct, &h, &[]).to_string(), "203.0.113.5:40000");
        let proxies = ["203.0.113.5".to_string(), "10.0.0.2".to_string()];
        let p = client_peer(&direct, &headers(&["192.0.2.1, 10.0.0.2"]), &proxies);
        assert_eq!(p.client_ip(), Some("192.0.2.1".parse().unwrap()));
        let mapped = Peer::Network("[::ffff:203.0.113.5]:1".parse().unwrap());
        assert_eq!(
            client_peer(&mapped, &h, &proxies).client_ip(),
            Some("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn unreadable_or_missing_headers_leave_the_peer_as_it_is() {
        for h in [headers(&[]), headers(&["unknown"]), headers(&["192.0.2.1, Grüße"])] {
            assert_eq!(client_peer(&APACHE, &h, &[]).to_string(), "local uid 33");
        }
        let p = client_peer(&APACHE, &headers(&["192.0.2.1:5555"]), &[]);
        assert_eq!(p.client_ip(), Some("192.0.2.1".parse().unwrap()));
    }
}
