//! Retrying what the network could not answer, in one place: a [`RetryPolicy`] says how long to
//! wait between tries and how many to make, and [`retry`] runs an operation under it while a
//! condition of the caller's holds (the lease has not expired, the agent is not stopping).
//!
//! Only *transient* failures are retried ([`is_transient`]: the network unreachable, a 5xx, a 429);
//! a refusal (a 4xx) is an answer and comes back at once.
//!
//! ```
//! use pictor_agent::RetryPolicy;
//! use std::time::Duration;
//! let policy = RetryPolicy { max_tries: Some(3), ..RetryPolicy::default() };
//! let mut backoff = policy.backoff();
//! assert!(backoff.next_delay() <= Duration::from_millis(200));
//! ```

use std::future::Future;
use std::time::Duration;

/// How to retry: exponential backoff with full jitter between `base_delay` and `max_delay`, at
/// most `max_tries` retries (`None`: as long as the caller's condition holds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first delay's ceiling; each failure doubles it.
    pub base_delay: Duration,
    /// The longest wait between two tries.
    pub max_delay: Duration,
    /// Retries after the first try, at most; `None` for no limit.
    pub max_tries: Option<u32>,
}

impl RetryPolicy {
    /// The agents' default: 200 ms doubling to 10 s, no limit on tries.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(10),
        max_tries: None,
    };

    /// A fresh backoff following this policy.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            policy: *self,
            failures: 0,
        }
    }

    /// The SDK's per-request policy to pair with this one (a few quick retries of one request
    /// inside each of the agent's tries).
    pub fn for_requests(&self) -> pictor_sdk::RetryPolicy {
        pictor_sdk::RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: self.max_delay,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}

/// The delays of one sequence of tries: uniform in `[ceiling/2, ceiling]`, ceiling =
/// `min(max_delay, base_delay · 2ⁿ)` after `n` failures.
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        RetryPolicy::DEFAULT.backoff()
    }
}

impl Backoff {
    /// The next delay, counting one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32 << self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        let ceiling = self
            .policy
            .base_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay);
        let half = ceiling / 2;
        half + half.mul_f64(random_unit())
    }

    /// Forgets past failures (after a success).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures counted so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// A uniform number in `[0, 1)` from a generator seeded by the operating system.
pub(crate) fn random_unit() -> f64 {
    use rand::{Rng, SeedableRng};
    rand::rngs::StdRng::from_os_rng().random::<f64>()
}

/// True when an SDK error means "the network is not reachable now" (retry later) rather than a
/// refusal.
pub fn is_transient(error: &pictor_sdk::Error) -> bool {
    matches!(error, pictor_sdk::Error::Transport { .. }) || error.is_retryable()
}

/// Runs `operation` until it succeeds, fails for good, the policy's tries run out, or
/// `keep_trying` (asked before each retry) says stop; answers the last result. A failure is
/// retried only when `retryable` says so.
pub async fn retry_when<T, E, Op, Fut>(
    policy: &RetryPolicy,
    retryable: impl Fn(&E) -> bool,
    mut keep_trying: impl FnMut() -> bool,
    mut operation: Op,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = policy.backoff();
    loop {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                let tries_left = policy.max_tries.is_none_or(|max| backoff.failures() < max);
                if !retryable(&error) || !tries_left || !keep_trying() {
                    return Err(error);
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// [`retry_when`] for network calls: retries the transient SDK errors ([`is_transient`]).
pub async fn retry<T, Op, Fut>(
    policy: &RetryPolicy,
    keep_trying: impl FnMut() -> bool,
    operation: Op,
) -> Result<T, pictor_sdk::Error>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, pictor_sdk::Error>>,
{
    retry_when(policy, is_transient, keep_trying, operation).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_grows_and_caps() {
        let mut backoff = Backoff::default();
        let first = backoff.next_delay();
        assert!(first <= Duration::from_millis(200));
        for _ in 0..20 {
            assert!(backoff.next_delay() <= RetryPolicy::DEFAULT.max_delay);
        }
        assert!(backoff.next_delay() >= RetryPolicy::DEFAULT.max_delay / 2);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(200));
    }

    fn quick(max_tries: Option<u32>) -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_tries,
        }
    }

    #[tokio::test]
    async fn retries_until_success_within_the_tries() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, &str> = retry_when(
            &quick(Some(5)),
            |_| true,
            || true,
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 3 { Err("down") } else { Ok(n) }
            },
        )
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn stops_at_the_limit_a_refusal_or_the_callers_word() {
        let calls = AtomicU32::new(0);
        let op = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), &str>("down")
        };
        assert!(
            retry_when(&quick(Some(2)), |_| true, || true, op)
                .await
                .is_err()
        );
        assert_eq!(
            calls.swap(0, Ordering::SeqCst),
            3,
            "one try and two retries"
        );
        assert!(
            retry_when(&quick(None), |_| false, || true, op)
                .await
                .is_err()
        );
        assert_eq!(
            calls.swap(0, Ordering::SeqCst),
            1,
            "a refusal is not retried"
        );
        let mut asked = 0;
        let keep = || {
            asked += 1;
            asked < 4
        };
        assert!(retry_when(&quick(None), |_| true, keep, op).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4, "the caller stopped it");
    }
}
