//! How webhook deliveries are signed, and how a receiver checks them.
//!
//! Each delivery carries `Pictor-Signature: t=<Unix seconds>,v1=<hex>`, where the hex is
//! HMAC-SHA256 keyed with the endpoint's secret (the whole `whsec_…` string, as bytes) over
//! `<t>.<body>`. A receiver recomputes it over the raw body it received, compares in constant time,
//! and refuses a timestamp too far from its clock (a replayed old delivery). Deliveries also carry
//! `Pictor-Delivery` (the delivery's id: a retry repeats it, so a receiver can drop repeats) and
//! `Pictor-Event`.

use ring::hmac;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "pictor-signature";
/// The header carrying the delivery's id.
pub const DELIVERY_HEADER: &str = "pictor-delivery";
/// The header carrying the event's name.
pub const EVENT_HEADER: &str = "pictor-event";

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<seconds>,v1=<64 hex digits>`.
    #[error("the signature header is malformed")]
    Malformed,
    /// The timestamp is further from now than the tolerance.
    #[error("the signature's timestamp is too old or in the future")]
    Stale,
    /// The HMAC does not match the body and timestamp.
    #[error("the signature does not match")]
    Mismatch,
}

/// The `Pictor-Signature` value of `body` sent at `timestamp_secs` to an endpoint with `secret`.
pub fn sign(secret: &str, timestamp_secs: u64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, &signed_message(timestamp_secs, body));
    format!("t={timestamp_secs},v1={}", hex::encode(tag.as_ref()))
}

/// Checks a `Pictor-Signature` `header` for `body` against `secret`, at `now_secs`, accepting
/// timestamps within `tolerance_secs` of it.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_secs: u64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut tag = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<u64>().ok(),
            Some(("v1", value)) => tag = hex::decode(value).ok().filter(|t| t.len() == 32),
            _ => {}
        }
    }
    let (Some(timestamp), Some(tag)) = (timestamp, tag) else {
        return Err(SignatureError::Malformed);
    };
    if timestamp.abs_diff(now_secs) > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, &signed_message(timestamp, body), &tag).map_err(|_| SignatureError::Mismatch)
}

fn signed_message(timestamp_secs: u64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp_secs}.").into_bytes();
    message.extend_from_slice(body);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_is_refused() {
        let body = br#"{"event":"job.finished"}"#;
        let header = sign("whsec_abc", 1_000, body);
        assert!(header.starts_with("t=1000,v1="));
        assert_eq!(verify("whsec_abc", &header, body, 1_100, 300), Ok(()));
        assert_eq!(
            verify("whsec_abd", &header, body, 1_100, 300),
            Err(SignatureError::Mismatch),
            "another secret"
        );
        assert_eq!(
            verify(
                "whsec_abc",
                &header,
                br#"{"event":"job.finishes"}"#,
                1_100,
                300
            ),
            Err(SignatureError::Mismatch),
            "another body"
        );
        let shifted = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify("whsec_abc", &shifted, body, 1_100, 300),
            Err(SignatureError::Mismatch),
            "another timestamp"
        );
        assert_eq!(
            verify("whsec_abc", &header, body, 2_000, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("whsec_abc", "v1=00", body, 1_000, 300),
            Err(SignatureError::Malformed)
        );
        // RFC 4231 test case 2: HMAC-SHA256 of "what do ya want for nothing?" keyed "Jefe".
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        assert_eq!(
            hex::encode(hmac::sign(&key, b"what do ya want for nothing?").as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
