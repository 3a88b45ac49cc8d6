//! The client's own request behaviour (retries, idempotency keys, resumable uploads, event stream
//! reconnection) against a throwaway raw-HTTP listener. Not a model of the Pictor server: each test
//! scripts the few answers that exercise one client behaviour.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use pictor_core::{AccountId, JobId, Money};
use pictor_sdk::{Client, RetryPolicy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

type Handler = Arc<dyn Fn(&Request, usize) -> Vec<u8> + Send + Sync>;

/// Serves one request per connection; `handler` gets the request and its index.
async fn serve(handler: Handler) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut byte = [0u8; 4096];
                let head_end = loop {
                    let read = socket.read(&mut byte).await.unwrap_or(0);
                    if read == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&byte[..read]);
                    if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
                let mut lines = head.split("\r\n");
                let mut first = lines.next().unwrap().split(' ');
                let method = first.next().unwrap().to_string();
                let target = first.next().unwrap().to_string();
                let headers: HashMap<String, String> = lines
                    .filter_map(|line| line.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let length: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = buffer[head_end..].to_vec();
                while body.len() < length {
                    let read = socket.read(&mut byte).await.unwrap_or(0);
                    if read == 0 {
                        break;
                    }
                    body.extend_from_slice(&byte[..read]);
                }
                let request = Request {
                    method,
                    target,
                    headers,
                    body,
                };
                let index = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(request.clone());
                    seen.len() - 1
                };
                let response = handler(&request, index);
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{address}"), log)
}

fn respond(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-request-id: req-1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn json(status: &str, body: &str) -> Vec<u8> {
    respond(status, "application/json", body)
}

fn client(endpoint: &str) -> Client {
    Client::builder()
        .endpoint(endpoint)
        .api_key("pk_secret")
        .retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        })
        .chunk_size(8)
        .build()
        .unwrap()
}

const UNAVAILABLE: &str = r#"{"error":{"code":"internal","message":"busy"}}"#;

#[tokio::test]
async fn idempotent_requests_retry_transient_failures_then_succeed() {
    let handler: Handler = Arc::new(|_, index| {
        if index < 2 {
            json("503 Service Unavailable", UNAVAILABLE)
        } else {
            json("200 OK", r#"{"status":"ok"}"#)
        }
    });
    let (endpoint, log) = serve(handler).await;
    client(&endpoint).health().await.unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|r| r.target == "/health"));
    assert!(log.iter().all(|r| !r.headers.contains_key("authorization")));
}

#[tokio::test]
async fn leases_are_sent_once_and_errors_carry_the_request_id() {
    let handler: Handler = Arc::new(|_, _| json("503 Service Unavailable", UNAVAILABLE));
    let (endpoint, log) = serve(handler).await;
    let error = client(&endpoint).workers().lease().await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(error.request_id(), Some("req-1"));
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].target, "/v1/leases");
    assert_eq!(log[0].body, b"{}");
    assert_eq!(log[0].headers["authorization"], "Bearer pk_secret");
}

#[tokio::test]
async fn no_task_is_none() {
    let handler: Handler = Arc::new(|_, _| {
        b"HTTP/1.1 204 No Content\r\nx-request-id: r\r\nconnection: close\r\n\r\n".to_vec()
    });
    let (endpoint, _) = serve(handler).await;
    assert!(client(&endpoint).workers().lease().await.unwrap().is_none());
    assert!(client(&endpoint).checks().lease().await.unwrap().is_none());
}

#[tokio::test]
async fn keyed_posts_reuse_their_idempotency_key_across_retries() {
    let handler: Handler = Arc::new(|_, index| {
        if index == 0 {
            json("502 Bad Gateway", "")
        } else {
            json(
                "200 OK",
                r#"{"id":4,"role":"creator","name":"studio","balance":5000000}"#,
            )
        }
    });
    let (endpoint, log) = serve(handler).await;
    let client = client(&endpoint);
    let account = client
        .accounts()
        .deposit(AccountId(4), Money::from_micros(5_000_000))
        .send()
        .await
        .unwrap();
    assert_eq!(account.balance, Money::from_micros(5_000_000));
    {
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].target, "/v1/accounts/4/deposits");
        let key = &log[0].headers["idempotency-key"];
        assert_eq!(key.len(), 32);
        assert_eq!(&log[1].headers["idempotency-key"], key);
    }
    // A caller's key is sent as given; another call gets another random key.
    client
        .accounts()
        .deposit(AccountId(4), Money::from_micros(1))
        .idempotency_key("invoice-7")
        .send()
        .await
        .unwrap();
    client
        .accounts()
        .deposit(AccountId(4), Money::from_micros(1))
        .send()
        .await
        .unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log[2].headers["idempotency-key"], "invoice-7");
    assert_ne!(
        log[3].headers["idempotency-key"],
        log[0].headers["idempotency-key"]
    );
}

#[tokio::test]
async fn uploads_resume_where_the_server_says_and_follow_offset_corrections() {
    let data = b"0123456789abcdefWXYZ".to_vec(); // 20 bytes, chunks of 8
    let hash = blake3::hash(&data).to_hex().to_string();
    let missing = format!(r#"{{"missing":["{hash}"]}}"#);
    let handler: Handler = Arc::new(move |request, _| {
        match (request.method.as_str(), request.target.as_str()) {
            ("POST", "/v1/blobs/missing") => json("200 OK", &missing),
            ("GET", target) if target.contains("/upload?size=20") => {
                json("200 OK", r#"{"received":8,"complete":false}"#)
            }
            ("PUT", target) if target.ends_with("offset=8") => json(
                "409 Conflict",
                r#"{"error":{"code":"conflict","message":"wrong offset 8: expected offset 16"}}"#,
            ),
            ("PUT", target) if target.ends_with("offset=16") => {
                json("200 OK", r#"{"received":20,"complete":true}"#)
            }
            _ => json(
                "404 Not Found",
                r#"{"error":{"code":"not_found","message":"?"}}"#,
            ),
        }
    });
    let (endpoint, log) = serve(handler).await;
    let blob = client(&endpoint)
        .assets()
        .upload_bytes(data.clone())
        .await
        .unwrap();
    assert_eq!(blob.hash, hash);
    assert_eq!(blob.size, 20);
    assert_eq!(blob.stats.blobs_uploaded, 1);
    assert_eq!(blob.stats.bytes_sent, 4);
    let log = log.lock().unwrap();
    let puts: Vec<&Request> = log.iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].target, format!("/v1/blobs/{hash}?size=20&offset=8"));
    assert_eq!(puts[0].body, &data[8..16]);
    assert_eq!(puts[1].body, &data[16..20]);
    assert_eq!(puts[1].headers["content-type"], "application/octet-stream");
}

/// One SSE event as the coordinator sends it: `kind` with typical data for that kind.
fn sse_event(seq: u64, kind: &str) -> String {
    let data = match kind {
        "submitted" => {
            serde_json::json!({"tasks": 1, "escrow_hold": 1_000_000, "strategy": "cost-under-deadline"})
        }
        "task_leased" => serde_json::json!({"task": 1, "worker": 2, "attempt": 1, "frames": [1]}),
        "completed" => serde_json::json!({"frames": 1}),
        other => panic!("no sample data for {other}"),
    };
    let view = serde_json::json!({"seq": seq, "kind": kind, "at_ms": seq * 1000, "data": data});
    format!("id: {seq}\nevent: {kind}\ndata: {view}\n\n")
}

#[tokio::test]
async fn event_streams_reconnect_resume_without_duplicates_and_end_on_a_final_event() {
    let handler: Handler = Arc::new(|request, index| {
        assert_eq!(request.target, "/v1/jobs/9/events");
        match index {
            // Two events, then the connection drops before the job ends.
            0 => respond(
                "200 OK",
                "text/event-stream",
                &format!(
                    ": hello\n\n{}{}",
                    sse_event(1, "submitted"),
                    sse_event(2, "task_leased")
                ),
            ),
            1 => json("503 Service Unavailable", UNAVAILABLE),
            // The resumed stream repeats event 2; the client must drop it.
            _ => {
                assert_eq!(request.headers["last-event-id"], "2");
                respond(
                    "200 OK",
                    "text/event-stream",
                    &format!(
                        "{}{}",
                        sse_event(2, "task_leased"),
                        sse_event(3, "completed")
                    ),
                )
            }
        }
    });
    let (endpoint, log) = serve(handler).await;
    let events: Vec<_> = client(&endpoint)
        .jobs()
        .events(JobId(9))
        .try_collect()
        .await
        .unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(events[2].kind(), "completed");
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn folder_uploads_send_only_missing_blobs_once_and_commit_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tex")).unwrap();
    std::fs::write(dir.path().join("scene.blend"), b"blend file bytes").unwrap(); // 16 bytes
    std::fs::write(dir.path().join("tex/a.png"), b"png!").unwrap();
    std::fs::write(dir.path().join("tex/copy.png"), b"png!").unwrap();
    std::fs::write(dir.path().join("held.txt"), b"already there").unwrap();
    let scene_hash = blake3::hash(b"blend file bytes").to_hex().to_string();
    let png_hash = blake3::hash(b"png!").to_hex().to_string();
    let missing = format!(r#"{{"missing":["{scene_hash}","{png_hash}"]}}"#);
    let asset_id = "ab".repeat(32);
    let committed = format!(r#"{{"id":"{asset_id}","total_size":37,"files":4}}"#);
    let handler: Handler =
        Arc::new(
            move |request, _| match (request.method.as_str(), request.target.as_str()) {
                ("POST", "/v1/blobs/missing") => json("200 OK", &missing),
                ("GET", _) => json("200 OK", r#"{"received":0,"complete":false}"#),
                ("PUT", target) => {
                    let size: u64 = target
                        .split("size=")
                        .nth(1)
                        .unwrap()
                        .split('&')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let offset: u64 = target.split("offset=").nth(1).unwrap().parse().unwrap();
                    let received = offset + request.body.len() as u64;
                    json(
                        "200 OK",
                        &format!(
                            r#"{{"received":{received},"complete":{}}}"#,
                            received == size
                        ),
                    )
                }
                ("POST", "/v1/assets") => json("201 Created", &committed),
                _ => json(
                    "404 Not Found",
                    r#"{"error":{"code":"not_found","message":"?"}}"#,
                ),
            },
        );
    let (endpoint, log) = serve(handler).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let asset = client(&endpoint)
        .assets()
        .upload_folder(dir.path(), "scene.blend")
        .progress(move |event| seen.lock().unwrap().push(event))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.id.as_str(), asset_id);
    assert_eq!(asset.files, 4);
    assert_eq!(asset.stats.blobs_uploaded, 2);
    assert_eq!(asset.stats.blobs_skipped, 1);
    assert_eq!(asset.stats.bytes_sent, 20);

    let log = log.lock().unwrap();
    let query: serde_json::Value = serde_json::from_slice(&log[0].body).unwrap();
    assert_eq!(
        query["hashes"].as_array().unwrap().len(),
        3,
        "duplicate content asked once"
    );
    let puts = log.iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 3, "16 bytes in two chunks of 8, then 4 bytes");
    let commit = log.iter().find(|r| r.target == "/v1/assets").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&commit.body).unwrap();
    assert_eq!(body["manifest"]["main_file"], "scene.blend");
    let paths: Vec<&str> = body["manifest"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["held.txt", "scene.blend", "tex/a.png", "tex/copy.png"]
    );

    let events = events.lock().unwrap();
    let last = *events.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(last.bytes_total, 13 + 16 + 4);
    assert_eq!((last.files_done, last.files_total), (3, 3));
    assert!(
        events
            .windows(2)
            .all(|w| w[0].bytes_done <= w[1].bytes_done)
    );
}

#[test]
fn every_future_and_stream_is_send_and_static() {
    fn check<T: Send + 'static>(_: T) {}
    let client = client("http://127.0.0.1:9");
    check(
        client
            .assets()
            .upload_folder("scene", "main.blend")
            .progress(|_| {})
            .send(),
    );
    check(client.assets().upload_file("a.bin"));
    check(client.assets().download_blob(&"00".repeat(32), "out.bin"));
    check(
        client
            .accounts()
            .deposit(AccountId(1), Money::from_micros(1))
            .send(),
    );
    check(client.jobs().list().page_size(10).send());
    check(client.jobs().events(JobId(1)));
    check(client.jobs().download_frames(JobId(1), "out"));
    check(client.workers().upload_output("frame.png", 1));
    check(client.workers().fail(pictor_core::TaskId(1), 1, "oom"));
    check(client.ledger().entries().send());
    check(client.ledger().fetch_journal());
}
