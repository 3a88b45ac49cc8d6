//! Sending webhook deliveries: a background task (`server::serve`) tries the due ones, each
//! claimed in the store first (so replicas share the work), signed (`webhook_signature`), and
//! posted only to public addresses — the host is resolved before each try and the request pinned
//! to the address checked, so an endpoint cannot reach the coordinator's own network (loopback,
//! private, link-local) unless loopback is allowed
//! ([`Config::webhooks_allow_loopback`](super::Config::webhooks_allow_loopback)). A failed try is
//! repeated after a wait that doubles, up to an hour, [`MAX_ATTEMPTS`] times in all.

use super::webhook_signature::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign};
use super::{Coordinator, ServiceError, ServiceResult};
use crate::store::Store;
use crate::store::prelude::*;
use crate::store::webhooks::{DeliveryRow, DeliveryState, WebhookRow};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Tries of one delivery before it is given up.
pub const MAX_ATTEMPTS: u32 = 12;
/// The longest wait between tries.
const MAX_BACKOFF_MS: u64 = 3_600_000;
/// How long a try holds its delivery (other replicas leave it alone meanwhile).
const CLAIM_MS: u64 = 60_000;
/// How long a try waits for the endpoint.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries tried per round.
const ROUND: u32 = 16;
/// The longest endpoint URL.
const MAX_URL_CHARS: usize = 2_000;

/// The wait before try `attempts + 1` after `attempts` failed ones: `base`, doubled each time, at
/// most an hour.
pub fn backoff_ms(base_ms: u64, attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(20);
    base_ms.saturating_mul(1 << doublings).min(MAX_BACKOFF_MS)
}

/// Whether an endpoint may be called on `ip`: public addresses only, loopback when allowed.
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                return allow_loopback;
            }
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (b & 0xC0) == 64))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return address_allowed(IpAddr::V4(v4), allow_loopback);
            }
            if v6.is_loopback() {
                return allow_loopback;
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Checks an endpoint's URL: `https://` (or, when loopback is allowed, `http://` to a loopback
/// host), no credentials in it, at most 2,000 characters.
pub(crate) fn check_url(url: &str, allow_loopback: bool) -> ServiceResult<reqwest::Url> {
    let invalid = |why: &str| ServiceError::invalid("url", why.to_string());
    if url.chars().count() > MAX_URL_CHARS {
        return Err(invalid("must be at most 2000 characters"));
    }
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| invalid("is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("must not hold credentials"));
    }
    let host = parsed.host_str().ok_or_else(|| invalid("names no host"))?;
    let loopback_host = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_loopback && loopback_host => Ok(parsed),
        _ => Err(invalid("must be an https:// URL")),
    }
}

impl<S: Store> Coordinator<S> {
    /// Tries the deliveries due now (up to a round's worth, at once); answers how many it tried.
    pub async fn deliver_webhooks(&self) -> ServiceResult<usize> {
        let now = self.now_ms();
        let due = {
            let mut tx = self.read().await?;
            tx.due_deliveries(now, ROUND).await?
        };
        let mut claimed = Vec::new();
        for (delivery, hook) in due {
            let mut tx = self.write_without_ledger().await?;
            let ours = tx
                .claim_delivery(delivery.id, now, now.saturating_add(CLAIM_MS))
                .await?;
            tx.commit().await?;
            if ours {
                claimed.push((delivery, hook));
            }
        }
        let tries = claimed.len();
        let outcomes = futures_util::future::join_all(claimed.into_iter().map(
            |(delivery, hook)| async move {
                let outcome = self.post(&hook, &delivery).await;
                (delivery, outcome)
            },
        ))
        .await;
        let mut tx = self.write_without_ledger().await?;
        let done_at = self.now_ms();
        for (mut delivery, outcome) in outcomes {
            delivery.attempts += 1;
            match outcome {
                Ok(status) if (200..300).contains(&status) => {
                    delivery.state = DeliveryState::Delivered;
                    delivery.last_status = Some(status);
                    delivery.last_error = None;
                    delivery.done_at_ms = Some(done_at);
                }
                failed => {
                    match failed {
                        Ok(status) => {
                            delivery.last_status = Some(status);
                            delivery.last_error = Some(format!("answered {status}"));
                        }
                        Err(error) => {
                            delivery.last_status = None;
                            delivery.last_error = Some(error);
                        }
                    }
                    if delivery.attempts >= MAX_ATTEMPTS {
                        delivery.state = DeliveryState::Failed;
                        delivery.done_at_ms = Some(done_at);
                    } else {
                        delivery.next_attempt_ms = done_at.saturating_add(backoff_ms(
                            self.config.webhook_retry_base_ms,
                            delivery.attempts,
                        ));
                    }
                }
            }
            tx.update_delivery(&delivery).await?;
        }
        tx.commit().await?;
        Ok(tries)
    }

    /// One try: the endpoint's status, or why it could not be reached.
    async fn post(&self, hook: &WebhookRow, delivery: &DeliveryRow) -> Result<u16, String> {
        if hook.deleted {
            return Err("the endpoint was deleted".into());
        }
        let url = check_url(&hook.url, self.config.webhooks_allow_loopback)
            .map_err(|error| error.message)?;
        let host = url.host_str().ok_or("no host")?.to_string();
        let port = url.port_or_known_default().ok_or("no port")?;
        let lookup_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
            .await
            .map_err(|error| format!("resolving {host}: {error}"))?
            .collect();
        let allow_loopback = self.config.webhooks_allow_loopback;
        let Some(address) = addresses.first().copied() else {
            return Err(format!("{host} has no address"));
        };
        if addresses
            .iter()
            .any(|a| !address_allowed(a.ip(), allow_loopback))
        {
            return Err(format!(
                "{host} resolves to an address endpoints may not use ({})",
                address.ip()
            ));
        }
        pictor_sdk::install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .resolve(&lookup_host, address)
            .build()
            .map_err(|error| format!("{error}"))?;
        let timestamp = self.now_ms() / 1000;
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Pictor-Webhooks/1")
            .header(DELIVERY_HEADER, delivery.id.to_string())
            .header(EVENT_HEADER, &delivery.event)
            .header(
                SIGNATURE_HEADER,
                sign(&hook.secret, timestamp, delivery.body.as_bytes()),
            )
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|error| format!("{}", error.without_url()))?;
        Ok(response.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_back_off_doubling_up_to_an_hour() {
        assert_eq!(backoff_ms(1_000, 1), 1_000);
        assert_eq!(backoff_ms(1_000, 2), 2_000);
        assert_eq!(backoff_ms(1_000, 5), 16_000);
        assert_eq!(backoff_ms(1_000, 40), MAX_BACKOFF_MS);
    }

    #[test]
    fn endpoints_are_public_https_urls() {
        for (url, loopback, ok) in [
            ("https://hooks.example.com/pictor", false, true),
            ("http://hooks.example.com/pictor", false, false),
            ("http://127.0.0.1:9000/hook", false, false),
            ("http://127.0.0.1:9000/hook", true, true),
            ("http://10.0.0.1/hook", true, false),
            ("https://user:pw@hooks.example.com/", false, false),
            ("ftp://hooks.example.com/", false, false),
            ("not a url", false, false),
        ] {
            assert_eq!(check_url(url, loopback).is_ok(), ok, "{url}");
        }
        for (ip, loopback, ok) in [
            ("93.184.216.34", false, true),
            ("127.0.0.1", false, false),
            ("127.0.0.1", true, true),
            ("10.1.2.3", true, false),
            ("192.168.1.1", false, false),
            ("172.16.0.1", false, false),
            ("169.254.169.254", false, false),
            ("100.64.0.1", false, false),
            ("0.0.0.0", false, false),
            ("::1", false, false),
            ("fd00::1", false, false),
            ("fe80::1", false, false),
            ("::ffff:10.0.0.1", false, false),
            ("2606:4700::1111", false, true),
        ] {
            let ip: IpAddr = ip.parse().expect("an address");
            assert_eq!(address_allowed(ip, loopback), ok, "{ip}");
        }
    }
}
