//! The binding's one error module: every failure crosses into JavaScript as a `napi::Error` whose
//! message is a JSON payload, which the JS wrapper (`index.cjs`) turns into the right `PictorError`
//! subclass.
//!
//! The payload is `{"pictor":1,"kind":…,"code":…,"message":…,"status"?,"field"?,"requestId"?,"path"?}`:
//!
//! | `kind`      | from                                   | `code`                                  |
//! |-------------|----------------------------------------|-----------------------------------------|
//! | `api`       | an error answer of the network         | the wire code (`not_found`, `invalid_input`, …) |
//! | `transport` | connection refused, reset, timed out   | `transport`                             |
//! | `decode`    | an answer that did not decode          | `decode`                                |
//! | `io`        | a local file or folder                 | `io`                                    |
//! | `integrity` | downloaded bytes with the wrong hash   | `integrity`                             |
//! | `invalid`   | an argument refused before sending     | `invalid_input`                         |
//!
//! The API key never appears in a payload: SDK errors do not carry it.

use napi::Status;
use serde::Serialize;

/// The marker the JS wrapper looks for before parsing a message as a payload.
const PAYLOAD_VERSION: u8 = 1;

/// What the JS wrapper needs to build a `PictorError`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    pictor: u8,
    kind: &'a str,
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

impl<'a> Payload<'a> {
    fn new(kind: &'a str, code: impl Into<String>, message: impl Into<String>) -> Self {
        Payload {
            pictor: PAYLOAD_VERSION,
            kind,
            code: code.into(),
            message: message.into(),
            status: None,
            field: None,
            request_id: None,
            path: None,
        }
    }

    fn into_napi(self) -> napi::Error {
        match serde_json::to_string(&self) {
            Ok(json) => napi::Error::new(Status::GenericFailure, json),
            // Serialising strings and integers cannot fail; keep the message if it ever does.
            Err(_) => napi::Error::new(Status::GenericFailure, self.message),
        }
    }
}

/// Converts a failure into the `napi::Error` the JS wrapper understands.
pub trait IntoNapiErr {
    /// The error as a JSON payload in a `napi::Error`.
    fn into_napi_err(self) -> napi::Error;
}

impl IntoNapiErr for pictor_sdk::Error {
    fn into_napi_err(self) -> napi::Error {
        let message = self.to_string();
        let payload = match &self {
            pictor_sdk::Error::Api {
                status,
                code,
                field,
                request_id,
                ..
            } => {
                let mut payload = Payload::new("api", wire_name(code), message);
                payload.status = Some(*status);
                payload.field = field.clone();
                payload.request_id = request_id.clone();
                payload
            }
            pictor_sdk::Error::Transport { .. } => {
                let mut payload = Payload::new("transport", "transport", message);
                payload.status = self.status();
                payload
            }
            pictor_sdk::Error::Decode { .. } => Payload::new("decode", "decode", message),
            pictor_sdk::Error::Io { path, .. } => {
                let mut payload = Payload::new("io", "io", message);
                payload.path = Some(path.display().to_string());
                payload
            }
            pictor_sdk::Error::Integrity { .. } => Payload::new("integrity", "integrity", message),
            pictor_sdk::Error::InvalidInput { field, .. } => {
                let mut payload = Payload::new("invalid", "invalid_input", message);
                payload.field = Some(field.clone());
                payload
            }
            // `pictor_sdk::Error` is non-exhaustive: a variant added later is still a PictorError.
            _ => Payload::new("other", "unknown", message),
        };
        payload.into_napi()
    }
}

impl IntoNapiErr for pictor_core::Error {
    fn into_napi_err(self) -> napi::Error {
        let mut payload = Payload::new("invalid", "invalid_input", self.to_string());
        payload.field = self.field().map(str::to_string);
        payload.into_napi()
    }
}

/// An argument refused by the binding itself (a negative id, say).
pub fn invalid(field: &str, reason: impl std::fmt::Display) -> napi::Error {
    let mut payload = Payload::new(
        "invalid",
        "invalid_input",
        format!("invalid {field}: {reason}"),
    );
    payload.field = Some(field.to_string());
    payload.into_napi()
}

/// The snake_case wire name of a serde enum value (`ErrorCode::NotFound` → `not_found`).
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => "unknown".to_string(),
    }
}

/// `Result<T, E>` → `napi::Result<T>` through [`IntoNapiErr`].
pub trait ResultExt<T> {
    /// Maps the error with [`IntoNapiErr::into_napi_err`].
    fn napi(self) -> napi::Result<T>;
}

impl<T, E: IntoNapiErr> ResultExt<T> for Result<T, E> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(IntoNapiErr::into_napi_err)
    }
}
