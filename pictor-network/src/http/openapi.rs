//! The OpenAPI 3.1 document of the API, generated from [`ROUTES`], the table the router is checked
//! against (a test requests every row and fails on a route the router does not serve; another fails
//! when the committed `docs/openapi.json` drifts from [`document`]).
//!
//! Request and response bodies are named by their Rust types in `pictor_core::api` (the wire types
//! shared with the SDK); their JSON schemas are not generated yet.

use serde_json::{Map, Value, json};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no key.
    Public,
    /// Any valid key.
    AnyKey,
    /// An admin key.
    Admin,
    /// A creator key.
    Creator,
    /// A worker (or farm) key.
    Worker,
    /// A checker key.
    Checker,
    /// A creator's or a worker's key (uploads), or the key of whoever may read the blob.
    Uploader,
}

impl Access {
    fn describe(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::AnyKey => "any API key",
            Access::Admin => "admin key",
            Access::Creator => "creator key (own resources only)",
            Access::Worker => "worker key (own leases only)",
            Access::Checker => "checker key (own checks only)",
            Access::Uploader => "creator or worker key",
        }
    }
}

/// One route of the API.
#[derive(Clone, Copy, Debug)]
pub struct RouteDoc {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, axum syntax (`{id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
    /// The request body type, if any.
    pub request: Option<&'static str>,
    /// The success status and body type.
    pub response: (u16, &'static str),
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
    request: Option<&'static str>,
    response: (u16, &'static str),
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        access,
        summary,
        request,
        response,
    }
}

use Access::*;

/// Every route of the API.
pub const ROUTES: &[RouteDoc] = &[
    route("get", "/health", Public, "Liveness.", None, (200, "Health")),
    route(
        "get",
        "/metrics",
        Public,
        "Prometheus text metrics.",
        None,
        (200, "text/plain"),
    ),
    route(
        "get",
        "/v1/openapi.json",
        Public,
        "This document.",
        None,
        (200, "OpenAPI"),
    ),
    route(
        "post",
        "/v1/accounts",
        Admin,
        "Open an account; answers its API key once.",
        Some("CreateAccountRequest"),
        (201, "CreatedAccount"),
    ),
    route(
        "get",
        "/v1/accounts/{id}",
        Admin,
        "One account with its balance.",
        None,
        (200, "AccountView"),
    ),
    route(
        "post",
        "/v1/accounts/{id}/deposits",
        Admin,
        "Credit a creator (Idempotency-Key).",
        Some("DepositRequest"),
        (200, "AccountView"),
    ),
    route(
        "get",
        "/v1/account",
        AnyKey,
        "The caller's own account.",
        None,
        (200, "AccountView"),
    ),
    route(
        "get",
        "/v1/stats",
        Admin,
        "Network counters.",
        None,
        (200, "NetworkStats"),
    ),
    route(
        "post",
        "/v1/blobs/missing",
        Uploader,
        "Which of these blobs the caller has not uploaded.",
        Some("MissingBlobsRequest"),
        (200, "MissingBlobsResponse"),
    ),
    route(
        "get",
        "/v1/blobs/{hash}/upload",
        Uploader,
        "Bytes staged of an upload (?size=S).",
        None,
        (200, "UploadProgress"),
    ),
    route(
        "put",
        "/v1/blobs/{hash}",
        Uploader,
        "Upload a chunk (?size=S&offset=O, octet-stream body).",
        Some("application/octet-stream"),
        (200, "UploadProgress"),
    ),
    route(
        "get",
        "/v1/blobs/{hash}",
        AnyKey,
        "Download a blob the caller may read.",
        None,
        (200, "application/octet-stream"),
    ),
    route(
        "post",
        "/v1/assets",
        Creator,
        "Commit a scene manifest whose blobs are uploaded.",
        Some("CommitAssetBody"),
        (201, "CommittedAsset"),
    ),
    route(
        "get",
        "/v1/assets/{id}",
        AnyKey,
        "A manifest (its creator, or the workers and checkers of a job using it).",
        None,
        (200, "Manifest"),
    ),
    route(
        "post",
        "/v1/quotes",
        Creator,
        "Price a job on the workers online.",
        Some("QuoteRequest"),
        (200, "Quote"),
    ),
    route(
        "post",
        "/v1/jobs",
        Creator,
        "Submit a job (Idempotency-Key); holds the escrow.",
        Some("CreateJobRequest"),
        (201, "JobView"),
    ),
    route(
        "get",
        "/v1/jobs",
        Creator,
        "The caller's jobs (?cursor=&limit=).",
        None,
        (200, "Page<JobView>"),
    ),
    route(
        "get",
        "/v1/jobs/{id}",
        Creator,
        "One job.",
        None,
        (200, "JobView"),
    ),
    route(
        "post",
        "/v1/jobs/{id}/cancel",
        Creator,
        "Cancel; open holds return.",
        None,
        (200, "JobView"),
    ),
    route(
        "post",
        "/v1/jobs/{id}/pause",
        Creator,
        "Pause (no new leases).",
        None,
        (200, "JobView"),
    ),
    route(
        "post",
        "/v1/jobs/{id}/resume",
        Creator,
        "Resume.",
        None,
        (200, "JobView"),
    ),
    route(
        "post",
        "/v1/jobs/{id}/rerender",
        Creator,
        "Render frames again.",
        Some("RerenderRequest"),
        (200, "JobView"),
    ),
    route(
        "get",
        "/v1/jobs/{id}/events",
        Creator,
        "Server-Sent Events (Last-Event-ID to resume).",
        None,
        (200, "text/event-stream of JobEventView"),
    ),
    route(
        "get",
        "/v1/jobs/{id}/frames",
        Creator,
        "Accepted outputs.",
        None,
        (200, "Vec<FrameView>"),
    ),
    route(
        "get",
        "/v1/jobs/{id}/frames/{frame}",
        Creator,
        "One accepted frame's bytes.",
        None,
        (200, "application/octet-stream"),
    ),
    route(
        "post",
        "/v1/workers",
        Worker,
        "Register or update the caller's worker.",
        Some("RegisterWorkerRequest"),
        (200, "WorkerView"),
    ),
    route(
        "get",
        "/v1/workers",
        Public,
        "Registered workers.",
        None,
        (200, "Vec<WorkerView>"),
    ),
    route(
        "post",
        "/v1/leases",
        Worker,
        "Lease the best eligible task (204: none).",
        None,
        (200, "TaskLease"),
    ),
    route(
        "post",
        "/v1/tasks/{id}/heartbeat",
        Worker,
        "Extend a lease, report progress.",
        Some("HeartbeatRequest"),
        (200, "LeaseRenewal"),
    ),
    route(
        "post",
        "/v1/tasks/{id}/result",
        Worker,
        "Submit the signed result.",
        Some("ResultSubmission"),
        (200, "TaskStateView"),
    ),
    route(
        "post",
        "/v1/tasks/{id}/fail",
        Worker,
        "Report a failure.",
        Some("FailureReport"),
        (200, "TaskStateView"),
    ),
    route(
        "post",
        "/v1/checks/lease",
        Checker,
        "Lease a check (204: none).",
        None,
        (200, "CheckLease"),
    ),
    route(
        "post",
        "/v1/checks/{id}/verdict",
        Checker,
        "Post the verdict with its evidence.",
        Some("VerdictSubmission"),
        (200, "TaskStateView"),
    ),
    route(
        "get",
        "/v1/ledger/head",
        Public,
        "The signed journal head.",
        None,
        (200, "LedgerHead"),
    ),
    route(
        "get",
        "/v1/ledger/entries",
        Public,
        "Journal entries (?after=&limit=).",
        None,
        (200, "LedgerEntriesPage"),
    ),
];

fn body_schema(type_name: &str) -> Value {
    json!({"description": format!("`{type_name}` (pictor_core::api wire type)")})
}

fn content(type_name: &str) -> Value {
    let media = if type_name.contains('/') && !type_name.contains(' ') {
        type_name.to_string()
    } else if type_name.starts_with("text/event-stream") {
        "text/event-stream".to_string()
    } else {
        "application/json".to_string()
    };
    json!({ media: {"schema": body_schema(type_name)} })
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for doc in ROUTES {
        let entry = paths
            .entry(doc.path.to_string())
            .or_insert_with(|| json!({}));
        let parameters: Vec<Value> = doc
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": doc.summary,
            "description": format!("Access: {}.", doc.access.describe()),
            "parameters": parameters,
            "responses": {
                doc.response.0.to_string(): {"description": "success", "content": content(doc.response.1)},
                "4XX": {"description": "`{\"error\": {\"code\", \"message\", \"field\"?}}`"}
            }
        });
        if doc.access != Public {
            operation["security"] = json!([{"bearer": []}]);
        }
        if let Some(request) = doc.request {
            operation["requestBody"] = json!({"required": true, "content": content(request)});
        }
        entry[doc.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Pictor network API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Decentralized GPU rendering: creators, workers, checkers, escrow ledger."
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": Value::Object(paths),
    })
}
