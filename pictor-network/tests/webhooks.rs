//! Webhooks against a real coordinator and real HTTP receivers (on loopback, which the test's
//! coordinator allows): a person adds endpoints with the web form; a rejected frame and a finished
//! job are posted, signed with the endpoint's secret — the signature verifies with the
//! coordinator's own check and with Python's `hmac`, and fails for a changed body, another secret
//! or a forged header; a receiver that fails twice gets the delivery on the third try, with the
//! same delivery id each time; a worker that falls silent is announced once; nobody sees or
//! deletes another person's endpoints; only `https://` endpoints are accepted otherwise.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use common::web::{csrf_of, get, link_account, person_cookie, post_form};
use common::{Network, register_request};
use ed25519_dalek::SigningKey;
use pictor_core::api::{Role, Verdict};
use pictor_network::service::{Config, SignatureError, verify_webhook};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request a receiver got: its headers and body.
type Request = (HeaderMap, Bytes);

/// What a receiver got: per path, each request.
#[derive(Clone, Default)]
struct Received {
    requests: Arc<Mutex<HashMap<String, Vec<Request>>>>,
    /// Requests each path answers 500 before answering 200.
    fail_first: Arc<HashMap<String, usize>>,
}

async fn receive(
    State(received): State<Received>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut requests = received.requests.lock().unwrap();
    let seen = requests.entry(path.clone()).or_default();
    seen.push((headers, body));
    let fail = received.fail_first.get(&path).copied().unwrap_or(0);
    if seen.len() <= fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// A receiver on 127.0.0.1: its base URL and what it gets.
async fn receiver(fail_first: &[(&str, usize)]) -> (String, Received) {
    let received = Received {
        requests: Arc::default(),
        fail_first: Arc::new(
            fail_first
                .iter()
                .map(|(path, n)| (path.to_string(), *n))
                .collect(),
        ),
    };
    let app = Router::new()
        .route("/{path}", axum::routing::post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

impl Received {
    fn of(&self, path: &str) -> Vec<(HeaderMap, Bytes)> {
        self.requests
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `path` got `n` requests.
    async fn wait_for(&self, path: &str, n: usize) -> Vec<(HeaderMap, Bytes)> {
        for _ in 0..300 {
            let got = self.of(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} got {} requests, not {n}", self.of(path).len());
    }
}

/// Adds an endpoint with the web form; answers the page (with the secret, once).
async fn add_endpoint(
    url: &str,
    cookie: &str,
    endpoint: &str,
    events: &[&str],
) -> reqwest::Response {
    let (_, _, page) = get(url, "/webhooks", Some(cookie)).await;
    let csrf = csrf_of(&page);
    let mut fields = vec![("csrf", csrf.as_str()), ("url", endpoint)];
    for event in events {
        fields.push(("events", event));
    }
    post_form(url, "/webhooks", Some(cookie), &fields).await
}

/// The secret a page shows once.
fn secret_of(page: &str) -> String {
    let at = page.find("id=\"webhook-secret\">").expect("the secret") + 20;
    page[at..].split('<').next().unwrap().to_string()
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers[name].to_str().unwrap().to_string()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// HMAC-SHA256 of `message` keyed with `key`, computed by Python's `hmac` module: an
/// implementation independent of the coordinator's.
fn python_hmac(key: &str, message: &[u8]) -> String {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; key = sys.argv[1].encode(); \
             print(hmac.new(key, sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            key,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(message)?;
            child.wait_with_output()
        })
        .expect("python3 runs");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_deliveries_arrive_are_retried_and_a_forged_signature_fails() {
    let config = Config {
        webhooks_allow_loopback: true,
        webhook_retry_base_ms: 200,
        worker_online_ms: 1_500,
        ..Config::default()
    };
    let network = Network::start(config).await;
    let url = network.url.clone();
    let market = network.small_market("Ada Studio", "1-2").await;
    let ada = person_cookie(&url, &market.creator_key, "ada").await;
    let (receiver_url, received) = receiver(&[("flaky", 2)]).await;

    // Endpoints: only https://, or loopback here; events from the list.
    let refused = add_endpoint(&url, &ada, "http://hooks.example.com/x", &["job.finished"]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST.as_u16());
    assert!(refused.text().await.unwrap().contains("https://"));
    let refused = add_endpoint(
        &url,
        &ada,
        &format!("{receiver_url}/good"),
        &["job.started"],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST.as_u16());
    let added = add_endpoint(
        &url,
        &ada,
        &format!("{receiver_url}/good"),
        &["job.finished", "frame.rejected"],
    )
    .await;
    assert_eq!(added.status(), StatusCode::OK.as_u16());
    let good_secret = secret_of(&added.text().await.unwrap());
    assert!(good_secret.starts_with("whsec_") && good_secret.len() == 70);
    let flaky = add_endpoint(
        &url,
        &ada,
        &format!("{receiver_url}/flaky"),
        &["job.finished"],
    )
    .await;
    let flaky_secret = secret_of(&flaky.text().await.unwrap());
    let (_, _, page) = get(&url, "/webhooks", Some(&ada)).await;
    assert!(!page.contains(&good_secret), "the secret is shown once");

    // A worker of Ada's that falls silent is announced once.
    let (worker, _, worker_key) = network.account_with_key(Role::Worker, "ada-gpu").await;
    link_account(&url, &ada, &worker_key).await;
    worker
        .workers()
        .register(register_request(
            "ada-gpu",
            &SigningKey::from_bytes(&[9; 32]),
            2,
        ))
        .await
        .unwrap();
    let offline = add_endpoint(
        &url,
        &ada,
        &format!("{receiver_url}/offline"),
        &["worker.offline"],
    )
    .await;
    assert_eq!(offline.status(), StatusCode::OK.as_u16());

    // A rejected frame (its worker is barred from the job), then both frames rendered by another
    // worker and accepted: the job finishes.
    let lease = market.worker.workers().lease().await.unwrap().unwrap();
    common::deliver_pngs(&market.worker, &market.signing, &lease).await;
    common::check_once(&market.checker, Verdict::Reject).await;
    let (second, _, second_key) = network.worker("second-gpu", 2).await;
    for _ in 0..2 {
        let lease = second.workers().lease().await.unwrap().expect("a task");
        common::deliver_pngs(&second, &second_key, &lease).await;
        common::check_once(&market.checker, Verdict::Accept).await;
    }

    // Both arrive (a round's deliveries go out at once: not necessarily in order).
    let good = received.wait_for("good", 2).await;
    let mut events: Vec<String> = good
        .iter()
        .map(|(h, _)| header(h, "pictor-event"))
        .collect();
    events.sort();
    assert_eq!(events, ["frame.rejected", "job.finished"]);
    let (headers, body) = good
        .iter()
        .find(|(h, _)| header(h, "pictor-event") == "job.finished")
        .expect("job.finished");
    let signature = header(headers, "pictor-signature");
    assert_eq!(
        verify_webhook(&good_secret, &signature, body, now_secs(), 300),
        Ok(())
    );
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["event"], "job.finished");
    assert_eq!(json["data"]["job"], market.job.0);
    assert_eq!(json["data"]["state"], "completed");
    // The same signature from Python's hmac over "<t>.<body>".
    let (t, v1) = signature.split_once(',').unwrap();
    let t = t.trim_start_matches("t=");
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    assert_eq!(
        python_hmac(&good_secret, &message),
        v1.trim_start_matches("v1=")
    );
    // Forgeries fail: another body, another secret, a made-up header, an old timestamp.
    let mut changed = body.to_vec();
    changed[2] ^= 1;
    assert_eq!(
        verify_webhook(&good_secret, &signature, &changed, now_secs(), 300),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_webhook(&flaky_secret, &signature, body, now_secs(), 300),
        Err(SignatureError::Mismatch)
    );
    let forged = format!("t={t},v1={}", "0".repeat(64));
    assert_eq!(
        verify_webhook(&good_secret, &forged, body, now_secs(), 300),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_webhook(&good_secret, &signature, body, now_secs() + 3_600, 300),
        Err(SignatureError::Stale)
    );

    // The flaky receiver answered 500 twice: the third try delivered, with one delivery id.
    let tries = received.wait_for("flaky", 3).await;
    assert_eq!(tries.len(), 3);
    let ids: Vec<String> = tries
        .iter()
        .map(|(h, _)| header(h, "pictor-delivery"))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    for (headers, body) in &tries {
        let signature = header(headers, "pictor-signature");
        assert_eq!(
            verify_webhook(&flaky_secret, &signature, body, now_secs(), 300),
            Ok(())
        );
    }
    // The app lists it delivered on its third try.
    let mut listed = String::new();
    for _ in 0..50 {
        let (_, _, page) = get(&url, "/webhooks", Some(&ada)).await;
        if page.contains("<td class=\"state\">delivered</td><td class=\"tries\">3</td>") {
            listed = page;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !listed.is_empty(),
        "the flaky delivery is listed delivered after 3 tries"
    );

    // The silent worker: one worker.offline, naming it.
    let offline = received.wait_for("offline", 1).await;
    let json: serde_json::Value = serde_json::from_slice(&offline[0].1).unwrap();
    assert_eq!(json["event"], "worker.offline");
    assert_eq!(json["data"]["name"], "ada-gpu");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        received.of("offline").len(),
        1,
        "announced once per silence"
    );

    // Bob sees none of Ada's endpoints and cannot delete them.
    let (_, _, bob_key) = network.creator_named("Bob", 0).await;
    let bob = person_cookie(&url, &bob_key, "bob").await;
    let (_, _, page) = get(&url, "/webhooks", Some(&bob)).await;
    assert!(!page.contains(&receiver_url) && page.contains("No endpoints yet"));
    let id = {
        let (_, _, page) = get(&url, "/webhooks", Some(&ada)).await;
        let at = page.find("/webhooks/").unwrap() + 10;
        page[at..].split('/').next().unwrap().to_string()
    };
    let deleted = post_form(
        &url,
        &format!("/webhooks/{id}/delete"),
        Some(&bob),
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NOT_FOUND.as_u16());
    let (_, _, ada_page) = get(&url, "/webhooks", Some(&ada)).await;
    let deleted = post_form(
        &url,
        &format!("/webhooks/{id}/delete"),
        Some(&ada),
        &[("csrf", &csrf_of(&ada_page))],
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER.as_u16());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_alerts_at_its_thresholds_and_refuses_new_work_past_its_limit() {
    let network = Network::start(Config {
        webhooks_allow_loopback: true,
        ..Config::default()
    })
    .await;
    let url = network.url.clone();
    let (creator, creator_id, creator_key) = network.creator_named("Ada Studio", 100).await;
    network.worker("gpu", 2).await;
    let ada = person_cookie(&url, &creator_key, "ada").await;
    let (receiver_url, received) = receiver(&[]).await;
    let added = add_endpoint(
        &url,
        &ada,
        &format!("{receiver_url}/budget"),
        &["budget.threshold"],
    )
    .await;
    let secret = secret_of(&added.text().await.unwrap());
    let scene = common::upload_test_scene(&creator).await;
    let spec = common::small_spec(scene, "1-2");
    let hold = creator
        .quotes()
        .create(spec.clone())
        .await
        .unwrap()
        .escrow_hold;
    assert!(hold.micros() > 0);

    // A limit of 2.2 holds, pausing new work past it.
    let set_budget = |limit: String, pause: bool| {
        let (url, ada) = (url.clone(), ada.clone());
        async move {
            let (_, _, page) = get(&url, "/credit", Some(&ada)).await;
            let account = creator_id.0.to_string();
            let mut fields = vec![
                ("csrf", csrf_of(&page)),
                ("account", account),
                ("limit", limit),
            ];
            if pause {
                fields.push(("pause", "on".to_string()));
            }
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(&url, "/credit/budget", Some(&ada), &borrowed).await
        }
    };
    let limit = pictor_core::Money::from_micros(hold.micros() * 22 / 10);
    let saved = set_budget(limit.to_string(), true).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER.as_u16());
    let submit = || creator.jobs().submit(spec.clone()).send();
    submit().await.expect("45 %: no alert");
    submit().await.expect("91 %: the 80 % alert");
    let refused = submit().await.expect_err("136 % of a limit that pauses");
    assert_eq!(
        refused.code(),
        Some(pictor_core::api::ErrorCode::Infeasible)
    );
    assert!(refused.to_string().contains("budget"), "{refused}");
    assert_eq!(
        creator.accounts().me().await.unwrap().balance.micros(),
        100_000_000 - 2 * hold.micros(),
        "the refused job held nothing"
    );
    let alerts = received.wait_for("budget", 1).await;
    let (headers, body) = &alerts[0];
    assert_eq!(
        verify_webhook(
            &secret,
            &header(headers, "pictor-signature"),
            body,
            now_secs(),
            300
        ),
        Ok(())
    );
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["event"], "budget.threshold");
    assert_eq!(json["data"]["percent"], 80);
    let (_, _, page) = get(&url, "/credit", Some(&ada)).await;
    assert!(page.contains("alert at 80 % sent"), "{page}");
    assert!(page.contains("(90 %)") || page.contains("(91 %)"), "{page}");

    // Without the pause, the third job is taken and the 100 % alert goes out.
    set_budget(limit.to_string(), false).await;
    submit().await.expect("past the limit, allowed");
    let alerts = received.wait_for("budget", 2).await;
    let json: serde_json::Value = serde_json::from_slice(&alerts[1].1).unwrap();
    assert_eq!(json["data"]["percent"], 100);
    // Another person's account is not Ada's to budget.
    let (_, bob_id, bob_key) = network.creator_named("Bob", 0).await;
    let _bob = person_cookie(&url, &bob_key, "bob").await;
    let (_, _, page) = get(&url, "/credit", Some(&ada)).await;
    let foreign = post_form(
        &url,
        "/credit/budget",
        Some(&ada),
        &[
            ("csrf", &csrf_of(&page)),
            ("account", &bob_id.0.to_string()),
            ("limit", "1"),
        ],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND.as_u16());
    // Removing the budget.
    let removed = set_budget(String::new(), false).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER.as_u16());
    let (_, _, page) = get(&url, "/credit", Some(&ada)).await;
    assert!(page.contains("No budget"));
}
