//! The exception tree rooted at `PictorError`, and the mapping of SDK errors onto it.

use pictor_core::api::ErrorCode;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{create_exception, exceptions::PyException};

create_exception!(
    _pictor,
    PictorError,
    PyException,
    "Every error of the pictor package. Carries `status` (HTTP status or None), `code` (the network's machine-readable code or None), `request_id` (for support, or None) and `field` (the offending input, or None)."
);
create_exception!(
    _pictor,
    AuthError,
    PictorError,
    "The API key was refused (401) or may not touch this resource (403)."
);
create_exception!(
    _pictor,
    NotFound,
    PictorError,
    "No such job, asset or account, or not visible to this key (404)."
);
create_exception!(
    _pictor,
    InsufficientFunds,
    PictorError,
    "The account's balance does not cover the job's escrow (402)."
);
create_exception!(
    _pictor,
    ValidationError,
    PictorError,
    "An argument or a field of the job was refused; `field` names it."
);
create_exception!(
    _pictor,
    Infeasible,
    PictorError,
    "No plan meets the job's deadline or budget, or no worker can render it now (422)."
);
create_exception!(
    _pictor,
    Conflict,
    PictorError,
    "The request conflicts with the current state, e.g. cancelling a finished job (409)."
);
create_exception!(
    _pictor,
    RateLimited,
    PictorError,
    "Too many requests (429); try again later."
);
create_exception!(
    _pictor,
    PayloadTooLarge,
    PictorError,
    "A body or upload is too large for the network (413)."
);
create_exception!(
    _pictor,
    ServerError,
    PictorError,
    "A fault on the network's side (5xx)."
);
create_exception!(
    _pictor,
    NetworkError,
    PictorError,
    "The request did not complete: the network is unreachable, refused the connection or broke it."
);
create_exception!(
    _pictor,
    Timeout,
    NetworkError,
    "The network did not answer in time."
);
create_exception!(
    _pictor,
    IntegrityError,
    PictorError,
    "Downloaded bytes did not hash to what the network promised."
);
create_exception!(
    _pictor,
    ProtocolError,
    PictorError,
    "An answer of the network could not be decoded."
);
create_exception!(
    _pictor,
    FileError,
    PictorError,
    "Reading or writing a local file failed; `path` names it."
);

/// The attributes every `PictorError` instance carries (`None` on the class).
pub(crate) const ATTRIBUTES: [&str; 5] = ["status", "code", "request_id", "field", "path"];

/// Registers the exception classes on the module, with `None` class defaults for the attributes.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let classes: [(&str, Bound<'_, PyType>); 15] = [
        ("PictorError", py.get_type::<PictorError>()),
        ("AuthError", py.get_type::<AuthError>()),
        ("NotFound", py.get_type::<NotFound>()),
        ("InsufficientFunds", py.get_type::<InsufficientFunds>()),
        ("ValidationError", py.get_type::<ValidationError>()),
        ("Infeasible", py.get_type::<Infeasible>()),
        ("Conflict", py.get_type::<Conflict>()),
        ("RateLimited", py.get_type::<RateLimited>()),
        ("PayloadTooLarge", py.get_type::<PayloadTooLarge>()),
        ("ServerError", py.get_type::<ServerError>()),
        ("NetworkError", py.get_type::<NetworkError>()),
        ("Timeout", py.get_type::<Timeout>()),
        ("IntegrityError", py.get_type::<IntegrityError>()),
        ("ProtocolError", py.get_type::<ProtocolError>()),
        ("FileError", py.get_type::<FileError>()),
    ];
    let base = py.get_type::<PictorError>();
    for attribute in ATTRIBUTES {
        base.setattr(attribute, py.None())?;
    }
    for (name, class) in classes {
        // Shown (and pickled) as `pictor.AuthError`, where users import it from.
        class.setattr("__module__", "pictor")?;
        module.add(name, class)?;
    }
    Ok(())
}

/// What an exception instance carries besides its message.
#[derive(Default)]
struct Details {
    status: Option<u16>,
    code: Option<String>,
    request_id: Option<String>,
    field: Option<String>,
    path: Option<String>,
}

/// Builds an instance of `class` with `message` and sets its attributes.
fn raise<E: pyo3::type_object::PyTypeInfo>(message: String, details: Details) -> PyErr {
    Python::attach(|py| {
        let error = PyErr::new::<E, _>(message);
        let value = error.value(py);
        // Setting attributes on a fresh exception instance cannot fail short of memory
        // exhaustion; the error is still raised, just without that attribute.
        let _ = value.setattr("status", details.status);
        let _ = value.setattr("code", details.code);
        let _ = value.setattr("request_id", details.request_id);
        let _ = value.setattr("field", details.field);
        let _ = value.setattr("path", details.path);
        error
    })
}

/// The wire name of an error code (`insufficient_funds`).
fn code_name(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{code:?}"),
    }
}

/// Converts an error into the matching Python exception.
pub(crate) trait IntoPyErr {
    /// The Python exception for this error.
    fn into_py_err(self) -> PyErr;
}

impl IntoPyErr for pictor_sdk::Error {
    fn into_py_err(self) -> PyErr {
        use pictor_sdk::Error;
        let message = self.to_string();
        match self {
            Error::Api {
                status,
                code,
                field,
                request_id,
                ..
            } => {
                let details = Details {
                    status: Some(status),
                    code: Some(code_name(code)),
                    request_id,
                    field,
                    path: None,
                };
                match code {
                    ErrorCode::Unauthorized | ErrorCode::Forbidden => {
                        raise::<AuthError>(message, details)
                    }
                    ErrorCode::NotFound => raise::<NotFound>(message, details),
                    ErrorCode::InsufficientFunds => raise::<InsufficientFunds>(message, details),
                    ErrorCode::InvalidInput => raise::<ValidationError>(message, details),
                    ErrorCode::Infeasible => raise::<Infeasible>(message, details),
                    ErrorCode::Conflict | ErrorCode::StaleLease => {
                        raise::<Conflict>(message, details)
                    }
                    ErrorCode::RateLimited => raise::<RateLimited>(message, details),
                    ErrorCode::PayloadTooLarge => raise::<PayloadTooLarge>(message, details),
                    ErrorCode::Internal | ErrorCode::Unavailable => {
                        raise::<ServerError>(message, details)
                    }
                    _ => raise::<PictorError>(message, details),
                }
            }
            Error::Transport { source } => {
                let details = Details {
                    status: source.status().map(|status| status.as_u16()),
                    ..Details::default()
                };
                if source.is_timeout() {
                    raise::<Timeout>(message, details)
                } else {
                    raise::<NetworkError>(message, details)
                }
            }
            Error::Decode { .. } => raise::<ProtocolError>(message, Details::default()),
            Error::Io { path, .. } => raise::<FileError>(
                message,
                Details {
                    path: Some(path.display().to_string()),
                    ..Details::default()
                },
            ),
            Error::Integrity { .. } => raise::<IntegrityError>(message, Details::default()),
            Error::InvalidInput { field, .. } => raise::<ValidationError>(
                message,
                Details {
                    field: Some(field),
                    ..Details::default()
                },
            ),
            _ => raise::<PictorError>(message, Details::default()),
        }
    }
}

impl IntoPyErr for pictor_core::Error {
    fn into_py_err(self) -> PyErr {
        let details = Details {
            field: self.field().map(str::to_string),
            ..Details::default()
        };
        raise::<ValidationError>(self.to_string(), details)
    }
}

/// A `ValidationError` for a refused argument.
pub(crate) fn invalid(field: &str, message: impl Into<String>) -> PyErr {
    raise::<ValidationError>(
        format!("invalid {field}: {}", message.into()),
        Details {
            field: Some(field.to_string()),
            ..Details::default()
        },
    )
}
