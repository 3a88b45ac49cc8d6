//! [`BlobError`]: everything a blob store can refuse or fail at, each mapped to an API error code.

use pictor_core::BlobHash;
use pictor_core::api::{ApiError, ErrorCode};

/// Result alias of the blob store.
pub type BlobResult<T> = std::result::Result<T, BlobError>;

/// Why a blob-store operation failed. Variants carry what a client needs to recover: the limit, the
/// offset to resume from, the hash actually received.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// A blob or a chunk is larger than the store accepts.
    #[error("payload too large: {actual} bytes, the limit is {limit}")]
    PayloadTooLarge {
        /// The limit, bytes.
        limit: u64,
        /// The size offered, bytes.
        actual: u64,
    },
    /// A chunk's offset is not the number of bytes staged so far; resume from `expected`.
    #[error("upload offset mismatch: the next chunk must start at byte {expected}, not {got}")]
    OffsetMismatch {
        /// Bytes staged so far: the offset the next chunk must carry.
        expected: u64,
        /// The offset the chunk carried.
        got: u64,
    },
    /// The uploaded bytes do not hash to the announced hash; nothing was stored.
    #[error("hash mismatch: announced {expected}, the bytes hash to {actual}")]
    HashMismatch {
        /// The hash the upload announced.
        expected: BlobHash,
        /// The hash of the bytes received.
        actual: BlobHash,
    },
    /// A request field is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field, e.g. `chunk` or `offset`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store holds no blob with this hash.
    #[error("blob {0} not found")]
    NotFound(BlobHash),
    /// The object store holding the blobs failed or could not be reached.
    #[error("object store failure while {context}")]
    Remote {
        /// What the store was doing, with the object's path.
        context: String,
        /// The object store client's error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// Reading or writing the store's files failed (a full disk, permissions, …).
    #[error("i/o error while {context}")]
    Io {
        /// What the store was doing, with the path.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl BlobError {
    /// Shorthand for [`BlobError::Io`].
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BlobError::Io {
            context: context.into(),
            source,
        }
    }

    /// A store task (a blocking file operation, an object-store request on a task of its own)
    /// that panicked or was cancelled, as an i/o error.
    pub(super) fn task_failed(error: tokio::task::JoinError) -> Self {
        BlobError::io("running a blob store task", std::io::Error::other(error))
    }

    /// The API error code (and so the HTTP status) this error answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            BlobError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            BlobError::OffsetMismatch { .. } => ErrorCode::Conflict,
            BlobError::HashMismatch { .. } | BlobError::InvalidInput { .. } => {
                ErrorCode::InvalidInput
            }
            BlobError::NotFound(_) => ErrorCode::NotFound,
            BlobError::Io { .. } => ErrorCode::Internal,
            // Refused credentials are a configuration error; anything else (a network failure,
            // throttling, the service down) passes: the client retries after a moment.
            BlobError::Remote { source, .. } => match **source {
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. } => ErrorCode::Internal,
                _ => ErrorCode::Unavailable,
            },
        }
    }

    /// The request field this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            BlobError::InvalidInput { field, .. } => Some(field),
            BlobError::OffsetMismatch { .. } => Some("offset"),
            BlobError::HashMismatch { .. } => Some("hash"),
            _ => None,
        }
    }
}

impl From<&BlobError> for ApiError {
    fn from(error: &BlobError) -> Self {
        // Do not leak server paths or store names: a storage failure answers a generic message.
        let message = match error {
            BlobError::Io { .. } | BlobError::Remote { .. } => {
                "the blob store failed; try again later".to_string()
            }
            other => other.to_string(),
        };
        ApiError {
            code: error.code(),
            message,
            field: error.field().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let hash = BlobHash::of_bytes(b"x");
        let cases = [
            (
                BlobError::PayloadTooLarge {
                    limit: 1,
                    actual: 2,
                },
                413,
            ),
            (
                BlobError::OffsetMismatch {
                    expected: 5,
                    got: 0,
                },
                409,
            ),
            (
                BlobError::HashMismatch {
                    expected: hash,
                    actual: hash,
                },
                400,
            ),
            (
                BlobError::InvalidInput {
                    field: "chunk".into(),
                    reason: "x".into(),
                },
                400,
            ),
            (BlobError::NotFound(hash), 404),
            (
                BlobError::io("writing /srv/x", std::io::Error::other("boom")),
                500,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.code().http_status(), status, "{error}");
        }
        let api = ApiError::from(&BlobError::OffsetMismatch {
            expected: 5,
            got: 0,
        });
        assert_eq!(api.field.as_deref(), Some("offset"));
        assert!(api.message.contains("byte 5"));
        let io = ApiError::from(&BlobError::io(
            "writing /srv/x",
            std::io::Error::other("boom"),
        ));
        assert!(!io.message.contains("/srv"));
    }
}
