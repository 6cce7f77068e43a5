//! The webhook signature: HMAC-SHA256 over the delivery id, the timestamp and the body, as
//! Standard Webhooks sign, so a receiver checks it with any of their libraries.

use hmac::{KeyInit, Mac};

use super::HmacSha256;

/// `v1=<hex HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`: the `Medkey-Signature` value.
pub fn sign(secret: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    format!("v1={}", alloy::hex::encode(mac(secret, id, timestamp, body).finalize().into_bytes()))
}

/// For receivers: does `header` (a `Medkey-Signature` value, possibly several comma-separated
/// `v1=` signatures during a secret rotation) sign this delivery? The comparison is constant
/// time. Also refuse timestamps far from your clock (replays) and ids you have already seen.
pub fn verify_signature(secret: &[u8], id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let expected = mac(secret, id, timestamp, body);
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|hex| alloy::hex::decode(hex).ok())
        .any(|tag| expected.clone().verify_slice(&tag).is_ok())
}

fn mac(secret: &[u8], id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}
