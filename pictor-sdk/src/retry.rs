//! Retry policy: plain data, full-jitter exponential backoff, and which requests may be retried.

use rand::Rng;
use std::time::Duration;

/// How the client retries failed requests. Plain data: build one with struct syntax or start from
/// [`RetryPolicy::default`].
///
/// A request is retried only when it is safe to send twice — a `GET`, a chunk `PUT`, a read-only
/// `POST` (blob query, quote, manifest commit) or a `POST` carrying an `Idempotency-Key` (job submission,
/// deposit) — and only after a connection error, a timeout, or a `429`, `502`, `503` or `504` answer.
/// The delay before retry `n` (0-based) is drawn uniformly from `[0, min(max_delay, base_delay · 2ⁿ)]`
/// ("full jitter"), or the server's `Retry-After` when it asks for longer (never above `max_delay`).
///
/// ```
/// use pictor_sdk::RetryPolicy;
/// use std::time::Duration;
///
/// let patient = RetryPolicy { max_retries: 8, max_delay: Duration::from_secs(30), ..RetryPolicy::default() };
/// assert_eq!(patient.base_delay, Duration::from_millis(100));
/// assert!(patient.delay_ceiling(10) <= Duration::from_secs(30));
/// let never = RetryPolicy::none();
/// assert_eq!(never.max_retries, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3; 0 disables retrying).
    pub max_retries: u32,
    /// The backoff ceiling of the first retry (default 100 ms); it doubles with each retry.
    pub base_delay: Duration,
    /// The largest delay between two attempts (default 5 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The upper bound of the delay before retry `retry` (0-based): `min(max_delay, base_delay · 2^retry)`.
    pub fn delay_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A full-jitter delay before retry `retry` (0-based), drawn from `rng`.
    pub fn delay<R: Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> Duration {
        let ceiling = self.delay_ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rng.random_range(0..=nanos))
    }

    /// The delay before retry `retry`, honouring a server's `Retry-After` (capped at `max_delay`).
    pub(crate) fn delay_with_hint(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let jittered = self.delay(retry, &mut fresh_rng());
        match retry_after {
            Some(hint) => jittered.max(hint.min(self.max_delay)),
            None => jittered,
        }
    }
}

/// A generator seeded from the operating system (the workspace's `rand` has no thread-local one).
pub(crate) fn fresh_rng() -> rand::rngs::StdRng {
    rand::SeedableRng::from_os_rng()
}

/// Whether a request may be sent more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotence {
    /// Safe to repeat: reads, chunk uploads, pure queries, content-addressed commits, keyed POSTs.
    Retryable,
    /// Repeating could act twice (a lease, a result): sent exactly once.
    Once,
}

/// The decision after one failed attempt.
pub(crate) fn should_retry(
    policy: &RetryPolicy,
    idempotence: Idempotence,
    retries_done: u32,
    error: &crate::Error,
) -> bool {
    idempotence == Idempotence::Retryable
        && retries_done < policy.max_retries
        && error.is_retryable()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use pictor_core::api::ErrorCode;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn ceilings_double_then_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_ceiling(0), Duration::from_millis(100));
        assert_eq!(policy.delay_ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.delay_ceiling(2), Duration::from_millis(400));
        assert_eq!(policy.delay_ceiling(6), Duration::from_secs(5));
        assert_eq!(policy.delay_ceiling(40), Duration::from_secs(5));
        assert_eq!(policy.delay_ceiling(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_within_bounds_and_spreads() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 0..10 {
            let ceiling = policy.delay_ceiling(retry);
            let draws: Vec<Duration> = (0..500).map(|_| policy.delay(retry, &mut rng)).collect();
            assert!(draws.iter().all(|d| *d <= ceiling));
            let below_half = draws.iter().filter(|d| **d < ceiling / 2).count();
            // Full jitter: about half the draws fall below the middle.
            assert!((150..350).contains(&below_half), "{retry}: {below_half}");
        }
        let zero = RetryPolicy {
            base_delay: Duration::ZERO,
            ..policy
        };
        assert_eq!(zero.delay(3, &mut rng), Duration::ZERO);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let delay = policy.delay_with_hint(0, Some(Duration::from_secs(2)));
        assert_eq!(delay, Duration::from_secs(2));
        let delay = policy.delay_with_hint(0, Some(Duration::from_secs(3600)));
        assert_eq!(delay, Duration::from_secs(5));
    }

    fn api(status: u16, code: ErrorCode) -> Error {
        Error::Api {
            status,
            code,
            message: String::new(),
            field: None,
            request_id: None,
        }
    }

    #[test]
    fn only_idempotent_requests_with_transient_failures_retry() {
        let policy = RetryPolicy::default();
        let busy = api(503, ErrorCode::Internal);
        let limited = api(429, ErrorCode::RateLimited);
        let gateway = api(502, ErrorCode::Internal);
        let timeout = api(504, ErrorCode::Internal);
        let broken = api(500, ErrorCode::Internal);
        let conflict = api(409, ErrorCode::Conflict);
        for transient in [&busy, &limited, &gateway, &timeout] {
            assert!(should_retry(&policy, Idempotence::Retryable, 0, transient));
            assert!(should_retry(&policy, Idempotence::Retryable, 2, transient));
            assert!(!should_retry(&policy, Idempotence::Retryable, 3, transient));
            assert!(!should_retry(&policy, Idempotence::Once, 0, transient));
        }
        for permanent in [&broken, &conflict] {
            assert!(!should_retry(&policy, Idempotence::Retryable, 0, permanent));
        }
        assert!(!should_retry(
            &RetryPolicy::none(),
            Idempotence::Retryable,
            0,
            &busy
        ));
    }
}
