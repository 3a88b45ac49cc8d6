//! The SDK's one error type.

use pictor_core::api::{ErrorBody, ErrorCode};
use std::path::PathBuf;

/// The result of every SDK call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a Pictor network.
///
/// ```
/// use pictor_sdk::Error;
/// use pictor_core::api::ErrorCode;
///
/// fn explain(error: &Error) -> &'static str {
///     match error.code() {
///         Some(ErrorCode::InsufficientFunds) => "top up your balance",
///         Some(ErrorCode::StaleLease) => "the lease moved on: drop the task",
///         _ if error.is_retryable() => "try again later",
///         _ => "give up",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The network answered with an error status and (usually) an
    /// [`ErrorBody`](pictor_core::api::ErrorBody).
    #[error("{code:?} ({status}): {message}{}", request_id.as_deref().map(|id| format!(" [request {id}]")).unwrap_or_default())]
    Api {
        /// The response's HTTP status (4xx or 5xx); when the body was not JSON, `code` is derived
        /// from it.
        status: u16,
        /// The machine-readable code (derived from the status when the body was not JSON).
        code: ErrorCode,
        /// The human-readable cause.
        message: String,
        /// The offending field, for input errors.
        field: Option<String>,
        /// The `x-request-id` the network gave the response, for support.
        request_id: Option<String>,
    },
    /// The request did not complete: connection refused, reset, timed out, …
    #[error("transport error: {source}")]
    Transport {
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// A response body (or an event) did not decode into the expected type.
    #[error("could not decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// Reading or writing a local file failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The local file or folder being read or written (a scene file, a download target, …).
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Downloaded bytes do not hash to what the network promised.
    #[error("integrity check failed: expected BLAKE3 {expected}, got {actual}")]
    Integrity {
        /// The expected BLAKE3 hex.
        expected: String,
        /// The BLAKE3 hex of the bytes received.
        actual: String,
    },
    /// An argument was refused before anything was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The refused argument or setting, e.g. `endpoint`, `chunk_size` or `outputs[0].hash`.
        field: String,
        /// Why it was refused.
        reason: String,
    },
}

impl Error {
    /// The HTTP status, for [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Transport { source } => source.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The machine-readable code, for [`Error::Api`].
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The request field the network named as the cause (`renderer.version`, `scene`, …), for an
    /// [`Error::Api`] that names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Api { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The network's `x-request-id` of the failed response, for [`Error::Api`].
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// True when the same request may succeed later: a connection failure or timeout, `429`, `502`,
    /// `503` or `504`. Whether the SDK actually retries also depends on the request being idempotent
    /// (see [`RetryPolicy`](crate::RetryPolicy)).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => is_retryable_status(*status),
            Error::Transport { source } => {
                source.is_connect()
                    || source.is_timeout()
                    || source.is_request()
                    || source.is_body()
            }
            _ => false,
        }
    }

    /// Maps an error response to [`Error::Api`]: decodes the [`ErrorBody`] when it is one, otherwise
    /// derives the code from the status and keeps (the start of) the body as the message.
    pub fn from_response_parts(status: u16, body: &[u8], request_id: Option<String>) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => Error::Api {
                status,
                code: parsed.error.code,
                message: parsed.error.message,
                field: parsed.error.field,
                request_id,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let message: String = text.chars().take(512).collect();
                let message = if message.trim().is_empty() {
                    format!("HTTP {status}")
                } else {
                    message
                };
                Error::Api {
                    status,
                    code: code_for_status(status),
                    message,
                    field: None,
                    request_id,
                }
            }
        }
    }

    pub(crate) fn transport(source: reqwest::Error) -> Self {
        Error::Transport { source }
    }

    pub(crate) fn decode(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Decode {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// `429`, `502`, `503`, `504`: the statuses worth retrying.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// The code of a status whose body was not an [`ErrorBody`] (a proxy's page, say).
fn code_for_status(status: u16) -> ErrorCode {
    match status {
        400 => ErrorCode::InvalidInput,
        401 => ErrorCode::Unauthorized,
        402 => ErrorCode::InsufficientFunds,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        422 => ErrorCode::Infeasible,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_maps_to_api_error_with_field_and_request_id() {
        let body = br#"{"error":{"code":"invalid_input","message":"bad frames","field":"frames"}}"#;
        let error = Error::from_response_parts(400, body, Some("req-7".into()));
        assert_eq!(error.status(), Some(400));
        assert_eq!(error.code(), Some(ErrorCode::InvalidInput));
        assert_eq!(error.request_id(), Some("req-7"));
        assert!(!error.is_retryable());
        match &error {
            Error::Api { field, message, .. } => {
                assert_eq!(field.as_deref(), Some("frames"));
                assert_eq!(message, "bad frames");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(error.to_string().contains("req-7"));
    }

    #[test]
    fn stale_lease_and_conflict_share_409_but_keep_their_codes() {
        let body = br#"{"error":{"code":"stale_lease","message":"attempt 1 < 2"}}"#;
        let error = Error::from_response_parts(409, body, None);
        assert_eq!(error.code(), Some(ErrorCode::StaleLease));
        assert_eq!(error.request_id(), None);
    }

    #[test]
    fn non_json_bodies_fall_back_to_the_status() {
        let error = Error::from_response_parts(503, b"<html>busy</html>", None);
        assert_eq!(error.code(), Some(ErrorCode::Unavailable));
        assert!(error.is_retryable());
        let error = Error::from_response_parts(429, b"", None);
        assert_eq!(error.code(), Some(ErrorCode::RateLimited));
        assert!(error.is_retryable());
        assert!(error.to_string().contains("HTTP 429"));
        let error = Error::from_response_parts(404, b"nope", None);
        assert_eq!(error.code(), Some(ErrorCode::NotFound));
        assert!(!error.is_retryable());
    }

    #[test]
    fn local_errors_are_not_retryable() {
        let error = Error::Integrity {
            expected: "aa".into(),
            actual: "bb".into(),
        };
        assert!(!error.is_retryable());
        assert_eq!(error.status(), None);
        assert!(!Error::invalid("path", "absolute").is_retryable());
    }
}
