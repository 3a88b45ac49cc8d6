//! The service's error: an API error code, a message safe to show the caller, and the field at fault.

use crate::blobs::BlobError;
use crate::store::StoreError;
use pictor_core::api::{ApiError, ErrorCode};

/// A refused or failed request. Internal causes are logged, never sent to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ServiceError {
    /// Machine-readable code (fixes the HTTP status).
    pub code: ErrorCode,
    /// Human-readable cause.
    pub message: String,
    /// The offending field, for input errors.
    pub field: Option<String>,
}

/// Result of service operations.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400 naming a field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError {
            code: ErrorCode::InvalidInput,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// 404 for something that does not exist or that the caller may not see (the two are not told
    /// apart, so nothing leaks about other tenants).
    pub fn not_found(what: impl Into<String>) -> Self {
        ServiceError::new(ErrorCode::NotFound, format!("{} not found", what.into()))
    }

    /// 403: the key's role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ServiceError::new(ErrorCode::Forbidden, message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        ServiceError::new(ErrorCode::Conflict, message)
    }

    /// 500 with a generic message; the cause goes to the log.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        ServiceError::new(ErrorCode::Internal, "internal error; see the server log")
    }

    /// The body sent to the client: code, message and field (an internal cause stays in the log).
    pub fn to_api(&self) -> ApiError {
        ApiError {
            code: self.code,
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        if error.is_unreachable() {
            tracing::warn!(%error, "the database is unreachable");
            return ServiceError::new(
                ErrorCode::Unavailable,
                "the network's database is unreachable just now; retry shortly",
            );
        }
        ServiceError::internal(&error)
    }
}

impl From<pictor_core::Error> for ServiceError {
    fn from(error: pictor_core::Error) -> Self {
        let api = ApiError::from(&error);
        if api.code == ErrorCode::Internal {
            return ServiceError::internal(&error);
        }
        ServiceError {
            code: api.code,
            message: api.message,
            field: api.field,
        }
    }
}

impl From<BlobError> for ServiceError {
    fn from(error: BlobError) -> Self {
        let api = ApiError::from(&error);
        if api.code == ErrorCode::Internal {
            return ServiceError::internal(&error);
        }
        ServiceError {
            code: api.code,
            message: api.message,
            field: api.field,
        }
    }
}
