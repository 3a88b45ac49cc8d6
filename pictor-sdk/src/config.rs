//! Client configuration: plain data with documented defaults.

use crate::retry::RetryPolicy;
use std::time::Duration;

/// The default size of one upload chunk: 8 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;
/// The largest chunk the network accepts: 16 MiB.
pub const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;

/// Connection and read timeouts, plain data.
///
/// ```
/// use pictor_sdk::Timeouts;
/// use std::time::Duration;
/// let slow_link = Timeouts { request: Duration::from_secs(300), ..Timeouts::default() };
/// assert_eq!(slow_link.connect, Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP connection (default 5 s).
    pub connect: Duration,
    /// A whole ordinary request, from sending to the last byte of the answer (default 60 s). Blob
    /// uploads and downloads, frame downloads and event streams have no total limit.
    pub request: Duration,
    /// The longest silence while reading any answer, streams included (default 60 s). The event
    /// stream relies on the server's keep-alive comments arriving more often than this.
    pub read_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(60),
            read_idle: Duration::from_secs(60),
        }
    }
}

/// Everything a [`Client`](crate::Client) is configured with, except its endpoint and key. Plain data.
///
/// ```
/// use pictor_sdk::ClientConfig;
/// let config = ClientConfig::default();
/// assert_eq!(config.retry.max_retries, 3);
/// assert_eq!(config.chunk_size, 8 * 1024 * 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Connection and read timeouts.
    pub timeouts: Timeouts,
    /// Retries of idempotent requests.
    pub retry: RetryPolicy,
    /// Bytes per upload chunk (default [`DEFAULT_CHUNK_SIZE`], at most [`MAX_CHUNK_SIZE`]).
    pub chunk_size: u64,
    /// The `User-Agent` header (default `pictor-sdk/<version>`).
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            user_agent: concat!("pictor-sdk/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}
