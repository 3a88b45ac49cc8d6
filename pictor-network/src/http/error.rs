//! Errors as HTTP responses: the status of the code, and `{"error": {"code", "message", "field"?}}`.

use crate::service::ServiceError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pictor_core::api::{ErrorBody, ErrorCode};

/// A service error on its way to the client.
#[derive(Debug)]
pub struct HttpError(pub ServiceError);

impl From<ServiceError> for HttpError {
    fn from(error: ServiceError) -> Self {
        HttpError(error)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = Json(ErrorBody {
            error: self.0.to_api(),
        });
        if self.0.code == ErrorCode::Unavailable {
            // The database comes back in seconds (a restart, a failover): ask for a retry soon.
            return (status, [(axum::http::header::RETRY_AFTER, "1")], body).into_response();
        }
        (status, body).into_response()
    }
}

/// What a handler answers: its response, or an `HttpError` sent as the JSON error body.
pub type HttpResult<T> = Result<T, HttpError>;

/// A 400 naming a field.
pub fn invalid(field: &str, message: impl Into<String>) -> HttpError {
    HttpError(ServiceError::invalid(field, message))
}

/// The error for a body over the size limit.
pub fn too_large(limit: usize) -> HttpError {
    HttpError(ServiceError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is over the {limit}-byte limit"),
    ))
}
