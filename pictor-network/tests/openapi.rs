//! The OpenAPI document: generated from the route table, served at `/v1/openapi.json`, committed as
//! `docs/openapi.json` (this test fails when it drifts; run with `PICTOR_UPDATE_OPENAPI=1` to
//! rewrite it), and every route of the table is served by the router. Every `$ref` of the document
//! resolves, and real serialized values of the wire types validate against their schemas.
//! (`scripts/test-python` also runs `openapi-spec-validator` on the committed document.)
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Network;
use pictor_core::api::{
    ApiError, CheckLease, CommitAssetRequest, CommittedAsset, ErrorBody, ErrorCode, JobEvent,
    JobEventView, JobView, MissingBlobsResponse, Page, PauseReason, TaskLease, TaskOutput,
    UploadProgress, WorkerView,
};
use pictor_core::job::JobState;
use pictor_core::pricing::{Quote, TierQuote};
use pictor_core::task::{PixelRect, TaskWork};
use pictor_core::{
    AssetId, BlobHash, CheckId, CheckerId, JobId, JobSpec, Manifest, ManifestEntry, Money, TaskId,
    Tier, WorkerId,
};
use pictor_network::http::openapi::{ROUTES, document};
use pictor_network::service::Config;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

#[test]
fn the_committed_document_matches_the_code() {
    let generated = serde_json::to_string_pretty(&document()).expect("json") + "\n";
    let path = committed_path();
    if std::env::var_os("PICTOR_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json drifted from the code: run `PICTOR_UPDATE_OPENAPI=1 cargo test -p pictor-network --test openapi` and commit it"
    );
}

#[test]
fn every_route_template_is_documented_and_every_documented_path_is_a_template() {
    use pictor_core::api::routes::ALL;
    let documented: std::collections::BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    let templates: std::collections::BTreeSet<&str> = ALL.iter().copied().collect();
    assert_eq!(
        documented, templates,
        "pictor_core::api::routes and the OpenAPI route table must name the same paths"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() {
    let network = Network::start(Config::default()).await;
    let key = std::fs::read_to_string(network.data.path().join("admin.key")).expect("key");
    let http = common::http_client();
    let served: serde_json::Value = http
        .get(format!("{}/v1/openapi.json", network.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(served, document());
    for route in ROUTES {
        let path = route
            .path
            .replace("{id}", "1")
            .replace("{frame}", "1")
            .replace("{hash}", &"ab".repeat(32));
        let method = reqwest::Method::from_bytes(route.method.to_ascii_uppercase().as_bytes())
            .expect("method");
        let response = http
            .request(method, format!("{}{path}", network.url))
            .bearer_auth(key.trim())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("response");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_ne!(
            status,
            reqwest::StatusCode::METHOD_NOT_ALLOWED,
            "{} {path}",
            route.method
        );
        assert!(
            !body.contains("route not found"),
            "{} {path} is not routed",
            route.method
        );
    }
    let response = http
        .get(format!("{}/v1/nope", network.url))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("route not found")
    );
}

const COMPONENTS: &str = "#/components/schemas/";

/// Every `$ref` under `value`, with its JSON pointer.
fn refs<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref"
                    && let Some(target) = child.as_str()
                {
                    found.push((at.clone(), target));
                }
                refs(child, format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_resolves_to_a_component_schema() {
    let doc = document();
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(
        found.len() > 100,
        "the bodies are referenced: {}",
        found.len()
    );
    for (at, target) in &found {
        let name = target
            .strip_prefix(COMPONENTS)
            .unwrap_or_else(|| panic!("{at}: {target} is not a component schema"));
        assert!(
            schemas.contains_key(name),
            "{at}: {target} resolves to nothing"
        );
    }
    // Every component is used, and every JSON body is a component (or an array of them).
    for name in schemas.keys() {
        assert!(
            found
                .iter()
                .any(|(_, t)| t.strip_prefix(COMPONENTS) == Some(name)),
            "components.schemas.{name} is referenced nowhere"
        );
    }
    for route in ROUTES {
        let operation = &doc["paths"][route.path][route.method];
        let status = route.response.0.to_string();
        for (media, content) in operation["responses"][&status]["content"]
            .as_object()
            .expect("content")
        {
            let schema = &content["schema"];
            let named = schema["$ref"].is_string() || schema["items"]["$ref"].is_string();
            assert!(
                named
                    || media != "application/json"
                    || route.path == "/health"
                    || route.path.ends_with("openapi.json"),
                "{} {}: a JSON body without a named schema",
                route.method,
                route.path
            );
        }
    }
}

/// A JSON Schema validator for the keywords schemars writes (draft 2020-12), refusing any other
/// keyword so a schema it does not understand cannot pass unchecked. `$ref`s point into
/// `components.schemas`.
struct Validator<'a> {
    schemas: &'a Map<String, Value>,
}

impl Validator<'_> {
    fn check(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err(format!("{at}: no value is allowed")),
            Value::Object(schema) => schema,
            other => panic!("{at}: not a schema: {other}"),
        };
        for (keyword, rule) in schema {
            match keyword.as_str() {
                "description" | "title" | "default" | "examples" | "format" => {}
                "$ref" => {
                    let name = rule
                        .as_str()
                        .and_then(|r| r.strip_prefix(COMPONENTS))
                        .unwrap_or_else(|| panic!("{at}: $ref {rule}"));
                    self.check(&self.schemas[name], value, at)?;
                }
                "type" => {
                    let types: Vec<&str> = match rule {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                        other => panic!("{at}: type {other}"),
                    };
                    if !types.iter().any(|t| is_type(value, t)) {
                        return Err(format!("{at}: {value} is not of type {types:?}"));
                    }
                }
                "const" if value != rule => return Err(format!("{at}: {value} is not {rule}")),
                "const" => {}
                "enum" if !rule.as_array().is_some_and(|all| all.contains(value)) => {
                    return Err(format!("{at}: {value} is not one of {rule}"));
                }
                "enum" => {}
                "properties" => {
                    if let Some(object) = value.as_object() {
                        for (name, property) in rule.as_object().expect("properties") {
                            if let Some(field) = object.get(name) {
                                self.check(property, field, &format!("{at}.{name}"))?;
                            }
                        }
                    }
                }
                "required" => {
                    if let Some(object) = value.as_object() {
                        for name in rule.as_array().expect("required") {
                            let name = name.as_str().expect("a name");
                            if !object.contains_key(name) {
                                return Err(format!("{at}: missing {name}"));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Some(object) = value.as_object() {
                        let known = schema["properties"].as_object();
                        for (name, field) in object {
                            if !known.is_some_and(|k| k.contains_key(name)) {
                                self.check(rule, field, &format!("{at}.{name}"))?;
                            }
                        }
                    }
                }
                "items" => {
                    if let Some(items) = value.as_array() {
                        let skip = schema
                            .get("prefixItems")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len);
                        for (i, item) in items.iter().enumerate().skip(skip) {
                            self.check(rule, item, &format!("{at}[{i}]"))?;
                        }
                    }
                }
                "prefixItems" => {
                    if let Some(items) = value.as_array() {
                        for (i, (item, rule)) in items
                            .iter()
                            .zip(rule.as_array().expect("prefixItems"))
                            .enumerate()
                        {
                            self.check(rule, item, &format!("{at}[{i}]"))?;
                        }
                    }
                }
                "minItems" | "maxItems" => {
                    if let Some(items) = value.as_array() {
                        let bound = rule.as_u64().expect("a count") as usize;
                        let ok = if keyword == "minItems" {
                            items.len() >= bound
                        } else {
                            items.len() <= bound
                        };
                        if !ok {
                            return Err(format!(
                                "{at}: {} items breaks {keyword} {bound}",
                                items.len()
                            ));
                        }
                    }
                }
                "uniqueItems" => {
                    if let Some(items) = value.as_array() {
                        for (i, item) in items.iter().enumerate() {
                            if items[..i].contains(item) {
                                return Err(format!("{at}: {item} twice"));
                            }
                        }
                    }
                }
                "minimum" | "maximum" => {
                    if let Some(number) = value.as_f64() {
                        let bound = rule.as_f64().expect("a bound");
                        let ok = if keyword == "minimum" {
                            number >= bound
                        } else {
                            number <= bound
                        };
                        if !ok {
                            return Err(format!("{at}: {value} breaks {keyword} {bound}"));
                        }
                    }
                }
                "minLength" | "maxLength" => {
                    if let Some(text) = value.as_str() {
                        let bound = rule.as_u64().expect("a length") as usize;
                        let length = text.chars().count();
                        let ok = if keyword == "minLength" {
                            length >= bound
                        } else {
                            length <= bound
                        };
                        if !ok {
                            return Err(format!("{at}: {value} breaks {keyword} {bound}"));
                        }
                    }
                }
                "pattern" => {
                    assert_eq!(
                        rule, "^[0-9a-fA-F]{64}$",
                        "{at}: a pattern this test does not know"
                    );
                    if let Some(text) = value.as_str()
                        && !(text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
                    {
                        return Err(format!("{at}: {value} is not 64 hex digits"));
                    }
                }
                "oneOf" | "anyOf" => {
                    let matching = rule
                        .as_array()
                        .expect("subschemas")
                        .iter()
                        .filter(|sub| self.check(sub, value, at).is_ok())
                        .count();
                    let ok = if keyword == "oneOf" {
                        matching == 1
                    } else {
                        matching >= 1
                    };
                    if !ok {
                        return Err(format!("{at}: {value} matches {matching} of its {keyword}"));
                    }
                }
                "allOf" => {
                    for sub in rule.as_array().expect("subschemas") {
                        self.check(sub, value, at)?;
                    }
                }
                other => panic!("{at}: the keyword {other} is not checked by this test"),
            }
        }
        Ok(())
    }
}

fn is_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        other => panic!("unknown type {other}"),
    }
}

/// Checks the JSON of `value` against the component schema `name`.
fn validate(doc: &Value, name: &str, value: &impl Serialize) -> Result<(), String> {
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let json = serde_json::to_value(value).expect("serialize");
    Validator { schemas }.check(&schemas[name], &json, name)
}

fn one_event_of_each_kind() -> Vec<JobEvent> {
    let (task, worker, checker) = (TaskId(1), WorkerId(2), CheckerId(3));
    let output = TaskOutput::new(1, "ab".repeat(32), 3);
    vec![
        JobEvent::Submitted {
            tasks: 3,
            escrow_hold: Money::from_micros(5_000_000),
            strategy: "cost-under-deadline".into(),
        },
        JobEvent::Started {},
        JobEvent::TaskLeased {
            task,
            worker,
            attempt: 1,
            frames: vec![1, 2],
        },
        JobEvent::TaskProgress {
            task,
            worker,
            progress_permille: 500,
        },
        JobEvent::TaskUploaded {
            task,
            worker,
            render_ms: 9,
            outputs: vec![output],
        },
        JobEvent::TaskAccepted {
            task,
            worker,
            checker,
            cost: Money::from_micros(7),
            frames: vec![1],
        },
        JobEvent::TaskRejected {
            task,
            worker,
            checker,
            reason: "[]".into(),
            worker_blocked: true,
            inconclusive: false,
        },
        JobEvent::TaskEscalated {
            task,
            escalation: 1,
        },
        JobEvent::TaskFailed {
            task,
            worker,
            message: "out of memory".into(),
        },
        JobEvent::TaskExpired { task, worker: None },
        JobEvent::Paused {
            reason: PauseReason::Funds,
            short: Some(Money::from_micros(1)),
        },
        JobEvent::Paused {
            reason: PauseReason::Creator,
            short: None,
        },
        JobEvent::Resumed {
            reason: PauseReason::Creator,
        },
        JobEvent::Rerender { frames: vec![2] },
        JobEvent::Completed { frames: 2 },
        JobEvent::Failed {
            task,
            attempts: 5,
            reason: "crash".into(),
        },
        JobEvent::Cancelled {},
    ]
}

fn quote() -> Quote {
    let money = Money::from_micros;
    Quote {
        strategy: "cost-under-deadline".into(),
        cost_p50: money(1_000_000),
        cost_p90: money(1_500_000),
        eta_p50_secs: 12.5,
        eta_p90_secs: 20.0,
        escrow_hold: money(1_500_000),
        capped: false,
        deadline_at_risk: false,
        fee_split_p90: (money(1_200_000), money(150_000), money(150_000)),
        tiers: Tier::ALL
            .iter()
            .map(|tier| TierQuote {
                tier: *tier,
                cost_p50: money(1_000_000),
                cost_p90: money(1_500_000),
            })
            .collect(),
        queued_until_online: true,
        farm_share: pictor_core::pricing::FarmShare {
            tasks: 3,
            of_tasks: 8,
            cost_p50: money(400_000),
        },
    }
}

fn spec() -> JobSpec {
    let mut spec = JobSpec::builder(
        AssetId::of_bytes(b"scene"),
        "1-10x3,20".parse().expect("frames"),
    )
    .resolution(1920, 1080)
    .samples(128)
    .build()
    .expect("spec");
    spec.budget_cap = Some(Money::from_micros(9_000_000));
    spec.tags.insert("shot:010".into());
    spec
}

fn job_view() -> JobView {
    JobView {
        id: JobId(4),
        state: JobState::Paused,
        spec: spec(),
        tasks_total: 5,
        tasks_accepted: 2,
        escrow: Money::from_micros(900),
        spent: Money::from_micros(100),
        paused_reason: Some(PauseReason::Funds),
        quote: quote(),
        created_at_ms: 1_700_000_000_000,
    }
}

#[test]
fn real_values_validate_against_their_schemas() {
    let doc = document();
    let events = one_event_of_each_kind();
    let mut kinds: Vec<&str> = events.iter().map(JobEvent::kind).collect();
    kinds.dedup();
    assert_eq!(kinds, JobEvent::KINDS, "one event of each kind, in order");
    for (seq, event) in events.into_iter().enumerate() {
        let view = JobEventView {
            seq: seq as u64 + 1,
            at_ms: 1_700_000_000_000,
            event,
        };
        validate(&doc, "JobEventView", &view).unwrap_or_else(|e| panic!("{e}"));
    }
    validate(&doc, "JobView", &job_view()).unwrap_or_else(|e| panic!("{e}"));
    validate(&doc, "Quote", &quote()).unwrap_or_else(|e| panic!("{e}"));
    let page = Page {
        items: vec![job_view()],
        next_cursor: Some("4".into()),
    };
    validate(&doc, "Page_of_JobView", &page).unwrap_or_else(|e| panic!("{e}"));
    let hash = BlobHash::of_bytes(b"scene");
    let manifest = Manifest {
        entries: vec![ManifestEntry {
            path: "scene.toml".into(),
            hash,
            size: 5,
        }],
        main_file: "scene.toml".into(),
    };
    validate(
        &doc,
        "CommitAssetRequest",
        &CommitAssetRequest {
            manifest: manifest.clone(),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let committed = CommittedAsset {
        id: manifest.asset_id(),
        total_size: 5,
        files: 1,
    };
    validate(&doc, "CommittedAsset", &committed).unwrap_or_else(|e| panic!("{e}"));
    validate(
        &doc,
        "MissingBlobsResponse",
        &MissingBlobsResponse {
            missing: vec![hash],
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let progress = UploadProgress {
        received: 3,
        complete: false,
    };
    validate(&doc, "UploadProgress", &progress).unwrap_or_else(|e| panic!("{e}"));
    let error = ErrorBody {
        error: ApiError {
            code: ErrorCode::StaleLease,
            message: "stale".into(),
            field: None,
        },
    };
    validate(&doc, "ErrorBody", &error).unwrap_or_else(|e| panic!("{e}"));
    let work = TaskWork::Tile {
        frame: 1,
        region: PixelRect {
            x: 0,
            y: 0,
            width: 64,
            height: 64,
        },
    };
    let lease = TaskLease {
        task: TaskId(1),
        job: JobId(4),
        attempt: 2,
        scene: spec().scene,
        spec: spec(),
        work: work.clone(),
        expires_at_ms: 1,
    };
    validate(&doc, "TaskLease", &lease).unwrap_or_else(|e| panic!("{e}"));
    let check = CheckLease {
        check: CheckId(9),
        task: TaskId(1),
        job: JobId(4),
        attempt: 2,
        spec: spec(),
        work,
        outputs: Vec::new(),
        escalation: 0,
        expires_at_ms: 1,
    };
    validate(&doc, "CheckLease", &check).unwrap_or_else(|e| panic!("{e}"));
    let key = ed25519_dalek::SigningKey::from_bytes(&common::rand_seed(1));
    let registration = common::register_request("gpu-1", &key, 2);
    validate(&doc, "RegisterWorkerRequest", &registration).unwrap_or_else(|e| panic!("{e}"));
    let worker = WorkerView {
        id: WorkerId(2),
        name: registration.name,
        hardware: registration.hardware,
        price_per_bench_hour: registration.price_per_bench_hour,
        speed_millis: registration.speed_millis,
        online: true,
        min_tier: pictor_core::job::Tier::Economy,
        farm_queue_delay_secs: Some(30),
    };
    validate(&doc, "WorkerView", &worker).unwrap_or_else(|e| panic!("{e}"));
    let mut renderer_as_object = serde_json::to_value(&worker).expect("json");
    renderer_as_object["hardware"]["renderers"][0] = json!({"kind": "builtin"});
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(
        Validator { schemas }
            .check(&schemas["WorkerView"], &renderer_as_object, "WorkerView")
            .is_err(),
        "a renderer is a [kind, version] pair"
    );
}

#[test]
fn the_validator_refuses_what_the_schemas_refuse() {
    let doc = document();
    let check = |name: &str, value: Value| {
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        Validator { schemas }.check(&schemas[name], &value, name)
    };
    let accepted = json!({"seq": 1, "at_ms": 2, "kind": "task_accepted",
        "data": {"task": 1, "worker": 2, "checker": 3, "cost": 7, "frames": [1]}});
    assert!(check("JobEventView", accepted.clone()).is_ok());
    let mut no_cost = accepted.clone();
    no_cost["data"]
        .as_object_mut()
        .expect("data")
        .remove("cost");
    assert!(
        check("JobEventView", no_cost).is_err(),
        "a field is missing"
    );
    let mut money_as_text = accepted.clone();
    money_as_text["data"]["cost"] = json!("0.000007");
    assert!(
        check("JobEventView", money_as_text).is_err(),
        "money is an integer"
    );
    let mut unknown_kind = accepted;
    unknown_kind["kind"] = json!("task_requeued");
    assert!(
        check("JobEventView", unknown_kind).is_err(),
        "an unknown kind"
    );
    assert!(check("BlobHash", json!("abc")).is_err());
    assert!(check("UploadProgress", json!({"received": -1, "complete": false})).is_err());
}
