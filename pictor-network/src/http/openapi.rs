//! The OpenAPI 3.1 document of the API, generated from [`ROUTES`], the table the router is checked
//! against (a test requests every row and fails on a route the router does not serve; another fails
//! when the committed `docs/openapi.json` drifts from [`document`]).
//!
//! Request and response bodies are the wire types of `pictor_core::api`; their JSON Schemas come
//! from the types themselves (`schemars`, pictor-core's `schema` feature) and sit under
//! `components.schemas`, each operation pointing at its bodies with `$ref`. Query parameters are
//! the fields of the `pictor_core::api` query types (`UploadChunkQuery`, `ListJobsQuery`, …).

use pictor_core::api::{
    AccountView, BondRequest, BondView, CheckLease, CheckLeaseRequest, CheckerStanding,
    CommitAssetRequest, CommittedAsset, CreateAccountRequest, CreateJobRequest, CreatedAccount,
    DepositRequest, ErrorBody, FailureReport, FrameView, HeartbeatRequest, IDEMPOTENCY_KEY_HEADER,
    JobEventView, JobEventsQuery, JobView, LeaseRenewal, LedgerEntriesPage, LedgerEntriesQuery,
    LedgerHead, ListJobsQuery, Manifest, MissingBlobsRequest, MissingBlobsResponse, NetworkStats,
    Page, QuoteRequest, RegisterWorkerRequest, RerenderRequest, ResultSubmission, TaskLease,
    TaskStateView, UploadChunkQuery, UploadProgress, UploadStatusQuery, VerdictSubmission,
    WorkerActivityReport, WorkerView, routes,
};
use pictor_core::pricing::Quote;
use pictor_core::schema::openapi_generator;
use pictor_core::schema::schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use pictor_core::{AssetId, BlobHash};
use serde_json::{Map, Value, json};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no key.
    Public,
    /// Any valid key.
    AnyKey,
    /// An admin key: operator routes such as opening accounts, deposits and the counters.
    Admin,
    /// A creator key, acting on its own jobs and assets only.
    Creator,
    /// A worker (or farm) key.
    Worker,
    /// A checker key, acting on the checks it leased only.
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

/// Writes a schema into a generator: a `$ref` to `components.schemas` for a named wire type (the
/// generator collects the definition), or an inline schema.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// What a request or a response carries.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// `application/json` of this schema.
    Json(SchemaFn),
    /// `text/event-stream` (Server-Sent Events) whose every event's `data:` is JSON of this schema.
    EventStream(SchemaFn),
    /// Raw bytes of this media type (`application/octet-stream`, `text/plain`).
    Bytes(&'static str),
}

/// A request header a route reads: its name and what it does.
#[derive(Clone, Copy, Debug)]
pub struct HeaderDoc {
    /// The header's name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
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
    /// The request body, if any.
    pub request: Option<Body>,
    /// The success status and its body.
    pub response: (u16, Body),
    /// The query string's parameters: the inline object schema of a `pictor_core::api` query type,
    /// one parameter per property.
    pub query: Option<SchemaFn>,
    /// A request header the route reads, if any.
    pub header: Option<HeaderDoc>,
}

impl RouteDoc {
    /// The route with its query parameters (see [`RouteDoc::query`]).
    const fn query(mut self, query: SchemaFn) -> Self {
        self.query = Some(query);
        self
    }

    /// The route with a request header it reads.
    const fn header(mut self, header: HeaderDoc) -> Self {
        self.header = Some(header);
        self
    }
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
    request: Option<Body>,
    response: (u16, Body),
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        access,
        summary,
        request,
        response,
        query: None,
        header: None,
    }
}

/// The `$ref` of a wire type (its definition lands in the generator).
fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The inline schema of a query type: an object whose properties are the parameters.
fn query_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// A JSON body of a wire type.
const fn json<T: JsonSchema>() -> Body {
    Body::Json(schema_of::<T>)
}

/// `GET /health`'s answer.
fn health_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "properties": {"status": {"const": "ok"}},
        "required": ["status"],
    })
}

/// `GET /v1/openapi.json`'s answer.
fn document_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object", "description": "This OpenAPI 3.1 document."})
}

const IDEMPOTENCY_KEY: HeaderDoc = HeaderDoc {
    name: IDEMPOTENCY_KEY_HEADER,
    description: "A client-chosen key (visible ASCII) that makes the request safe to retry: a repeat with the same key answers the first request's result instead of acting twice.",
};

const LAST_EVENT_ID: HeaderDoc = HeaderDoc {
    name: "Last-Event-ID",
    description: "The `seq` of the last event received: the stream resumes after it (wins over `?after=`).",
};

use Access::*;

/// Every route of the API.
pub const ROUTES: &[RouteDoc] = &[
    route(
        "get",
        routes::HEALTH,
        Public,
        "Liveness.",
        None,
        (200, Body::Json(health_schema)),
    ),
    route(
        "get",
        routes::METRICS,
        Public,
        "Prometheus text metrics.",
        None,
        (200, Body::Bytes("text/plain")),
    ),
    route(
        "get",
        routes::OPENAPI,
        Public,
        "This document.",
        None,
        (200, Body::Json(document_schema)),
    ),
    route(
        "post",
        routes::ACCOUNTS,
        Admin,
        "Open an account; answers its API key once.",
        Some(json::<CreateAccountRequest>()),
        (201, json::<CreatedAccount>()),
    ),
    route(
        "get",
        routes::ACCOUNT_BY_ID,
        Admin,
        "One account with its balance.",
        None,
        (200, json::<AccountView>()),
    ),
    route(
        "post",
        routes::DEPOSITS,
        Admin,
        "Credit an account's balance (Idempotency-Key).",
        Some(json::<DepositRequest>()),
        (200, json::<AccountView>()),
    )
    .header(IDEMPOTENCY_KEY),
    route(
        "get",
        routes::ACCOUNT,
        AnyKey,
        "The caller's own account.",
        None,
        (200, json::<AccountView>()),
    ),
    route(
        "get",
        routes::BOND,
        AnyKey,
        "The caller's bond and what it allows (docs/TRUST.md).",
        None,
        (200, json::<BondView>()),
    ),
    route(
        "post",
        routes::BOND,
        AnyKey,
        "Post to or withdraw from the caller's bond, a worker's or checker's (Idempotency-Key).",
        Some(json::<BondRequest>()),
        (200, json::<BondView>()),
    )
    .header(IDEMPOTENCY_KEY),
    route(
        "get",
        routes::CHECKER_STANDING,
        Checker,
        "The caller's record on known-outcome checks.",
        None,
        (200, json::<CheckerStanding>()),
    ),
    route(
        "get",
        routes::STATS,
        Admin,
        "Network counters.",
        None,
        (200, json::<NetworkStats>()),
    ),
    route(
        "post",
        routes::BLOBS_MISSING,
        Uploader,
        "Which of these blobs the caller has not uploaded.",
        Some(json::<MissingBlobsRequest>()),
        (200, json::<MissingBlobsResponse>()),
    ),
    route(
        "get",
        routes::BLOB_UPLOAD,
        Uploader,
        "Bytes staged of an upload (?size=S).",
        None,
        (200, json::<UploadProgress>()),
    )
    .query(query_of::<UploadStatusQuery>),
    route(
        "put",
        routes::BLOB,
        Uploader,
        "Upload a chunk (?size=S&offset=O, octet-stream body).",
        Some(Body::Bytes("application/octet-stream")),
        (200, json::<UploadProgress>()),
    )
    .query(query_of::<UploadChunkQuery>),
    route(
        "get",
        routes::BLOB,
        AnyKey,
        "Download a blob the caller may read.",
        None,
        (200, Body::Bytes("application/octet-stream")),
    ),
    route(
        "post",
        routes::ASSETS,
        Creator,
        "Commit a scene manifest whose blobs are uploaded.",
        Some(json::<CommitAssetRequest>()),
        (201, json::<CommittedAsset>()),
    ),
    route(
        "get",
        routes::ASSET,
        AnyKey,
        "A manifest (its creator, or the workers and checkers of a job using it).",
        None,
        (200, json::<Manifest>()),
    ),
    route(
        "post",
        routes::QUOTES,
        Creator,
        "Price a job on the workers online.",
        Some(json::<QuoteRequest>()),
        (200, json::<Quote>()),
    ),
    route(
        "post",
        routes::JOBS,
        Creator,
        "Submit a job (Idempotency-Key); holds the escrow.",
        Some(json::<CreateJobRequest>()),
        (201, json::<JobView>()),
    )
    .header(IDEMPOTENCY_KEY),
    route(
        "get",
        routes::JOBS,
        Creator,
        "The caller's jobs (?cursor=&limit=).",
        None,
        (200, json::<Page<JobView>>()),
    )
    .query(query_of::<ListJobsQuery>),
    route(
        "get",
        routes::JOB,
        Creator,
        "One job.",
        None,
        (200, json::<JobView>()),
    ),
    route(
        "post",
        routes::JOB_CANCEL,
        Creator,
        "Cancel; open holds return.",
        None,
        (200, json::<JobView>()),
    ),
    route(
        "post",
        routes::JOB_PAUSE,
        Creator,
        "Pause (no new leases).",
        None,
        (200, json::<JobView>()),
    ),
    route(
        "post",
        routes::JOB_RESUME,
        Creator,
        "Resume.",
        None,
        (200, json::<JobView>()),
    ),
    route(
        "post",
        routes::JOB_RERENDER,
        Creator,
        "Render frames again.",
        Some(json::<RerenderRequest>()),
        (200, json::<JobView>()),
    ),
    route(
        "get",
        routes::JOB_EVENTS,
        Creator,
        "Server-Sent Events (Last-Event-ID to resume).",
        None,
        (200, Body::EventStream(schema_of::<JobEventView>)),
    )
    .query(query_of::<JobEventsQuery>)
    .header(LAST_EVENT_ID),
    route(
        "get",
        routes::JOB_FRAMES,
        Creator,
        "Accepted outputs.",
        None,
        (200, json::<Vec<FrameView>>()),
    ),
    route(
        "get",
        routes::JOB_FRAME,
        Creator,
        "One accepted frame's bytes.",
        None,
        (200, Body::Bytes("application/octet-stream")),
    ),
    route(
        "post",
        routes::WORKERS,
        Worker,
        "Register or update the caller's worker.",
        Some(json::<RegisterWorkerRequest>()),
        (200, json::<WorkerView>()),
    ),
    route(
        "get",
        routes::WORKERS,
        Public,
        "Registered workers.",
        None,
        (200, json::<Vec<WorkerView>>()),
    ),
    route(
        "post",
        routes::WORKER_ACTIVITY,
        Worker,
        "Report what the worker is doing now (shown to its owner; answers the report recorded).",
        Some(json::<WorkerActivityReport>()),
        (200, json::<WorkerActivityReport>()),
    ),
    route(
        "post",
        routes::LEASES,
        Worker,
        "Lease the best eligible task (204: none).",
        None,
        (200, json::<TaskLease>()),
    ),
    route(
        "post",
        routes::TASK_HEARTBEAT,
        Worker,
        "Extend a lease, report progress.",
        Some(json::<HeartbeatRequest>()),
        (200, json::<LeaseRenewal>()),
    ),
    route(
        "post",
        routes::TASK_RESULT,
        Worker,
        "Submit the signed result.",
        Some(json::<ResultSubmission>()),
        (200, json::<TaskStateView>()),
    ),
    route(
        "post",
        routes::TASK_FAIL,
        Worker,
        "Report a failure.",
        Some(json::<FailureReport>()),
        (200, json::<TaskStateView>()),
    ),
    route(
        "post",
        routes::CHECK_LEASES,
        Checker,
        "Lease a check the checker can verify (204: none).",
        Some(json::<CheckLeaseRequest>()),
        (200, json::<CheckLease>()),
    ),
    route(
        "post",
        routes::CHECK_VERDICT,
        Checker,
        "Post the verdict with its evidence.",
        Some(json::<VerdictSubmission>()),
        (200, json::<TaskStateView>()),
    ),
    route(
        "get",
        routes::LEDGER_HEAD,
        Public,
        "The signed journal head.",
        None,
        (200, json::<LedgerHead>()),
    ),
    route(
        "get",
        routes::LEDGER_ENTRIES,
        Public,
        "Journal entries (?after=&limit=).",
        None,
        (200, json::<LedgerEntriesPage>()),
    )
    .query(query_of::<LedgerEntriesQuery>),
];

/// The schema of a path parameter, by its name and route: `{hash}` a [`BlobHash`], the `{id}` of
/// `/v1/assets/{id}` an [`AssetId`], every other (`{id}`, `{frame}`) an unsigned integer.
fn path_parameter_schema(path: &str, name: &str, generator: &mut SchemaGenerator) -> Value {
    let schema = match name {
        "hash" => schema_of::<BlobHash>(generator),
        "id" if path == routes::ASSET => schema_of::<AssetId>(generator),
        "frame" => schema_of::<u32>(generator),
        _ => schema_of::<u64>(generator),
    };
    schema.to_value()
}

/// A query parameter's schema without `null`: an absent option is an absent parameter.
fn without_null(mut schema: Value) -> Value {
    if let Some(types) = schema.get("type").and_then(Value::as_array) {
        let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        schema["type"] = match types.as_slice() {
            [single] => single.clone(),
            _ => Value::Array(types),
        };
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let any: Vec<Value> = any
            .iter()
            .filter(|s| s.get("type").is_none_or(|t| t != "null"))
            .cloned()
            .collect();
        match (any.as_slice(), schema.as_object_mut()) {
            ([single], Some(object)) => {
                object.remove("anyOf");
                if let Some(fields) = single.as_object() {
                    object.extend(fields.clone());
                }
            }
            _ => schema["anyOf"] = Value::Array(any),
        }
    }
    schema
}

/// The query parameters of a query type's object schema, one per property.
fn query_parameters(query: SchemaFn, generator: &mut SchemaGenerator) -> Vec<Value> {
    let schema = query(generator).to_value();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = without_null(property.clone());
            let description = property
                .as_object_mut()
                .and_then(|p| p.remove("description"))
                .unwrap_or(Value::Null);
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if !description.is_null() {
                parameter["description"] = description;
            }
            parameter
        })
        .collect()
}

fn content(body: &Body, generator: &mut SchemaGenerator) -> Value {
    let (media, schema) = match body {
        Body::Json(schema) => ("application/json", schema(generator).to_value()),
        // The schema of each event's `data:` (the response's description tells the framing).
        Body::EventStream(schema) => ("text/event-stream", schema(generator).to_value()),
        Body::Bytes(media) => (*media, json!({"type": "string", "contentMediaType": media})),
    };
    json!({ media: {"schema": schema} })
}

fn success_description(body: &Body) -> &'static str {
    match body {
        Body::EventStream(_) => {
            "success: Server-Sent Events, each with `id:` the event's seq, `event:` its kind and `data:` the event as JSON of the schema"
        }
        _ => "success",
    }
}

/// An `operationId` from the method and the path: `get_v1_jobs_id_events`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.extend(
            segment
                .chars()
                .filter(|c| !matches!(c, '{' | '}'))
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

/// The OpenAPI 3.1 document as JSON: served at `GET /v1/openapi.json`, committed as
/// `docs/openapi.json`.
pub fn document() -> Value {
    let mut generator = openapi_generator();
    let error =
        json!({"application/json": {"schema": schema_of::<ErrorBody>(&mut generator).to_value()}});
    let mut paths = Map::new();
    for doc in ROUTES {
        let mut parameters: Vec<Value> = doc
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| {
                json!({
                    "name": name,
                    "in": "path",
                    "required": true,
                    "schema": path_parameter_schema(doc.path, name, &mut generator),
                })
            })
            .collect();
        if let Some(query) = doc.query {
            parameters.extend(query_parameters(query, &mut generator));
        }
        if let Some(header) = doc.header {
            parameters.push(json!({
                "name": header.name,
                "in": "header",
                "required": false,
                "description": header.description,
                "schema": {"type": "string"},
            }));
        }
        let mut operation = json!({
            "operationId": operation_id(doc.method, doc.path),
            "summary": doc.summary,
            "description": format!("Access: {}.", doc.access.describe()),
            "parameters": parameters,
            "responses": {
                doc.response.0.to_string(): {
                    "description": success_description(&doc.response.1),
                    "content": content(&doc.response.1, &mut generator),
                },
                "4XX": {
                    "description": "refused: `{\"error\": {\"code\", \"message\", \"field\"?}}`",
                    "content": error.clone(),
                },
                "5XX": {
                    "description": "a fault on the server's side (code `internal`)",
                    "content": error.clone(),
                },
            }
        });
        if doc.access != Public {
            operation["security"] = json!([{"bearer": []}]);
        }
        if let Some(request) = &doc.request {
            operation["requestBody"] =
                json!({"required": true, "content": content(request, &mut generator)});
        }
        let entry = paths
            .entry(doc.path.to_string())
            .or_insert_with(|| json!({}));
        entry[doc.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Pictor network API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Decentralized GPU rendering: creators, workers, checkers, escrow ledger. Amounts of money are integers of micro-credits (1 credit = 1 000 000)."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": Value::Object(generator.take_definitions(true)),
        },
        "paths": Value::Object(paths),
    })
}
