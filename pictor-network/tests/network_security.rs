//! Security and bad input against the real coordinator: every route without a key, with a wrong
//! key, and with another tenant's key; path traversal, oversized bodies and chunks, forged blobs and
//! malformed JSON get clear 4xx errors and store nothing.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Network, scene_folder};
use pictor_core::api::Role;
use pictor_core::asset::{Manifest, ManifestEntry};
use pictor_core::{BlobHash, JobSpec};
use pictor_network::http::openapi::{Access, ROUTES};
use pictor_network::service::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Raw {
    http: reqwest::Client,
    url: String,
}

impl Raw {
    fn new(url: &str) -> Raw {
        Raw {
            http: common::http_client(),
            url: url.to_string(),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("response");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }
}

/// Sends only the head of a request that declares a `content_length`-byte body, then reads the
/// response: the server must answer from the declared length without waiting for the body.
async fn declare_only(
    url: &str,
    method: &str,
    path: &str,
    key: &str,
    content_length: usize,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {content_length}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("the server answered without waiting for the body")
    .expect("read");
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn fill(path: &str, id: u64, hash: &str) -> String {
    path.replace("{id}", &id.to_string())
        .replace("{hash}", hash)
        .replace("{frame}", "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_who_is_asking_and_what_they_own() {
    let network = Network::start(Config::default()).await;
    let (alice, _) = network.creator(100).await;
    let (bob, _) = network.creator(100).await;
    let bob_key = {
        let created = network
            .admin
            .accounts()
            .create(Role::Creator, "mallory")
            .await
            .expect("account");
        created.api_key
    };
    let _ = bob;
    let (_worker, _, _) = network.worker("w", 1).await;
    let worker_key = network
        .admin
        .accounts()
        .create(Role::Worker, "w2")
        .await
        .expect("account")
        .api_key;
    let checker_key = network
        .admin
        .accounts()
        .create(Role::Checker, "c")
        .await
        .expect("account")
        .api_key;
    let (_dir, folder) = scene_folder();
    let asset = alice
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("upload");
    let spec = JobSpec::builder(asset.id.clone(), "1".parse().expect("frames"))
        .resolution(32, 18)
        .samples(4)
        .build()
        .expect("spec");
    let job = alice.jobs().submit(spec).send().await.expect("submit");
    let scene_hash = blake3::hash(b"# test scene\n").to_hex().to_string();
    let raw = Raw::new(&network.url);

    // 1. No key and an unknown key: 401 on every non-public route, with a JSON error and no data.
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        let path = fill(route.path, job.id.0, &scene_hash);
        let body = (route.method != "get").then(|| b"{}".to_vec());
        for key in [None, Some("pk_not_a_real_key")] {
            let (status, value) = raw.send(route.method, &path, key, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{} {path} with {key:?}",
                route.method
            );
            assert_eq!(
                value["error"]["code"], "unauthorized",
                "{} {path}",
                route.method
            );
            assert!(
                !value.to_string().contains(asset.id.as_str()),
                "no data leaks"
            );
        }
    }

    // 2. Another tenant's creator key: the job, its events, frames and controls, the asset and the
    //    scene blob are all "not found" — the same answer as for things that do not exist.
    let job_paths = [
        ("get", format!("/v1/jobs/{}", job.id.0)),
        ("get", format!("/v1/jobs/{}/events", job.id.0)),
        ("get", format!("/v1/jobs/{}/frames", job.id.0)),
        ("get", format!("/v1/jobs/{}/frames/1", job.id.0)),
        ("post", format!("/v1/jobs/{}/cancel", job.id.0)),
        ("post", format!("/v1/jobs/{}/pause", job.id.0)),
        ("get", format!("/v1/assets/{}", asset.id)),
        ("get", format!("/v1/blobs/{scene_hash}")),
    ];
    for (method, path) in &job_paths {
        let (status, value) = raw.send(method, path, Some(&bob_key), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(value["error"]["code"], "not_found");
        assert!(
            !value.to_string().contains("scene.toml"),
            "no data leaks: {value}"
        );
    }
    let (status, _) = raw
        .send("get", "/v1/jobs/999999", Some(&bob_key), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a job that does not exist answers the same"
    );

    // 3. Roles: a worker cannot submit or quote, a creator cannot act as admin or worker, a checker
    //    cannot lease tasks; a worker without a lease cannot read the scene.
    let spec_body = serde_json::to_vec(&json!({"spec": job.spec})).expect("json");
    let account_body = br#"{"role":"creator","name":"x"}"#.to_vec();
    let forbidden = [
        (&worker_key, "post", "/v1/jobs", Some(spec_body.clone())),
        (&worker_key, "post", "/v1/quotes", Some(spec_body)),
        (&bob_key, "post", "/v1/accounts", Some(account_body)),
        (&bob_key, "get", "/v1/stats", None),
        (&bob_key, "post", "/v1/leases", Some(b"{}".to_vec())),
        (&checker_key, "post", "/v1/leases", Some(b"{}".to_vec())),
        (
            &worker_key,
            "post",
            "/v1/checks/lease",
            Some(b"{}".to_vec()),
        ),
    ];
    for (key, method, path, body) in forbidden {
        let (status, value) = raw.send(method, path, Some(key), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {value}");
        assert_eq!(value["error"]["code"], "forbidden");
    }
    for path in [
        format!("/v1/assets/{}", asset.id),
        format!("/v1/blobs/{scene_hash}"),
    ] {
        let (status, _) = raw.send("get", &path, Some(&worker_key), None).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a worker without a lease: {path}"
        );
    }
    let (status, _) = raw
        .send(
            "post",
            "/v1/tasks/1/heartbeat",
            Some(&worker_key),
            Some(br#"{"attempt":1,"progress_permille":5}"#.to_vec()),
        )
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::CONFLICT,
        "not its task: {status}"
    );
    let (status, _) = raw
        .send(
            "post",
            "/v1/checks/1/verdict",
            Some(&checker_key),
            Some(br#"{"verdict":"accept","evidence":{}}"#.to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not its check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let mut config = Config::default();
    config.blob_limits.max_chunk_bytes = 1 << 20;
    config.blob_limits.max_blob_bytes = 4 << 20;
    let network = Network::start(config).await;
    let key = network
        .admin
        .accounts()
        .create(Role::Creator, "c")
        .await
        .expect("account")
        .api_key;
    let raw = Raw::new(&network.url);
    let hash = blake3::hash(b"hello").to_hex().to_string();

    // Path traversal and other bad manifests: 400 naming the field; the asset does not exist after.
    for (path, field) in [
        ("../etc/passwd", "entries[0].path"),
        ("/abs/scene.blend", "entries[0].path"),
        ("C:/scene.blend", "entries[0].path"),
        ("a\u{0}b", "entries[0].path"),
        ("a/../../b", "entries[0].path"),
    ] {
        let manifest = Manifest {
            entries: vec![ManifestEntry {
                path: path.into(),
                hash: hash.parse().expect("hash"),
                size: 5,
            }],
            main_file: path.into(),
        };
        let body = serde_json::to_vec(&json!({"manifest": manifest})).expect("json");
        let (status, value) = raw.send("post", "/v1/assets", Some(&key), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path:?}: {value}");
        assert_eq!(value["error"]["field"], field, "{path:?}: {value}");
        let (status, _) = raw
            .send(
                "get",
                &format!("/v1/assets/{}", manifest.asset_id()),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nothing stored for {path:?}");
    }
    let duplicate = Manifest {
        entries: vec![
            ManifestEntry {
                path: "a.blend".into(),
                hash: hash.parse().expect("hash"),
                size: 5,
            },
            ManifestEntry {
                path: "A.blend".into(),
                hash: hash.parse().expect("hash"),
                size: 5,
            },
        ],
        main_file: "a.blend".into(),
    };
    let body = serde_json::to_vec(&json!({"manifest": duplicate})).expect("json");
    let (status, value) = raw.send("post", "/v1/assets", Some(&key), Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");

    // A manifest whose blobs were never uploaded.
    let unuploaded = Manifest {
        entries: vec![ManifestEntry {
            path: "scene.blend".into(),
            hash: hash.parse().expect("hash"),
            size: 5,
        }],
        main_file: "scene.blend".into(),
    };
    let body = serde_json::to_vec(&json!({"manifest": unuploaded})).expect("json");
    let (status, value) = raw.send("post", "/v1/assets", Some(&key), Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(value["error"]["field"], "entries[0].hash");

    // Malformed JSON, wrong shapes, an oversized JSON body.
    let (status, value) = raw
        .send(
            "post",
            "/v1/quotes",
            Some(&key),
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(value["error"]["code"], "invalid_input");
    let (status, _) = raw
        .send(
            "post",
            "/v1/quotes",
            Some(&key),
            Some(br#"{"spec": 7}"#.to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, value) =
        declare_only(&network.url, "POST", "/v1/blobs/missing", &key, 5 << 20).await;
    assert_eq!(status, 413, "{value}");
    assert_eq!(value["error"]["code"], "payload_too_large");

    // Blobs: a chunk over the limit, a declared size over the limit, bytes that do not match the
    // hash — refused, and the blob is still missing afterwards.
    let http = common::http_client();
    let put = |hash: &str, size: u64, offset: u64, body: Vec<u8>| {
        http.put(format!(
            "{}/v1/blobs/{hash}?size={size}&offset={offset}",
            network.url
        ))
        .bearer_auth(&key)
        .body(body)
        .send()
    };
    let big = vec![1u8; (1 << 20) + 10];
    let big_hash = blake3::hash(&big).to_hex().to_string();
    let chunk_path = format!("/v1/blobs/{big_hash}?size={}&offset=0", big.len());
    let (status, value) = declare_only(&network.url, "PUT", &chunk_path, &key, big.len()).await;
    assert_eq!(status, 413, "{value}");
    assert_eq!(value["error"]["code"], "payload_too_large");
    let response = put(&big_hash, 8 << 20, 0, vec![1u8; 10])
        .await
        .expect("put");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let forged = b"not hello".to_vec();
    let response = put(&hash, forged.len() as u64, 0, forged)
        .await
        .expect("put");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_input");
    let request = serde_json::to_vec(&json!({"hashes": [hash, big_hash]})).expect("json");
    let (status, value) = raw
        .send("post", "/v1/blobs/missing", Some(&key), Some(request))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        value["missing"].as_array().map(Vec::len),
        Some(2),
        "nothing stored: {value}"
    );
    let (status, _) = raw
        .send(
            "put",
            "/v1/blobs/not-a-hash?size=1&offset=0",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A bad spec names its field.
    let spec = json!({"spec": {"scene": hash, "frames": "5-1", "resolution": {"width": 64, "height": 36}, "samples": 8, "output": "png8"}});
    let (status, value) = raw
        .send(
            "post",
            "/v1/quotes",
            Some(&key),
            Some(serde_json::to_vec(&spec).expect("json")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    let _: BlobHash = hash.parse().expect("hash");
}
