//! The OpenAPI document: generated from the route table, served at `/v1/openapi.json`, committed as
//! `docs/openapi.json` (this test fails when it drifts; run with `PICTOR_UPDATE_OPENAPI=1` to
//! rewrite it), and every route of the table is served by the router.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Network;
use pictor_network::http::openapi::{ROUTES, document};
use pictor_network::service::Config;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() {
    let network = Network::start(Config::default()).await;
    let key = std::fs::read_to_string(network.data.path().join("admin.key")).expect("key");
    let http = reqwest::Client::new();
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
