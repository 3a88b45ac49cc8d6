//! Coordinator replicas for the tests: `pictor serve` processes on one database, a simulated job
//! spread over them, an upload whose chunks alternate between them.

use pictor_core::BlobHash;
use pictor_core::api::UploadProgress;
use pictor_network::sim::{SimOptions, SimReport, simulate};
use pictor_sdk::Client;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Tasks per simulated job.
pub const TASKS: u32 = 40;

/// A `pictor serve` replica, killed when dropped.
pub struct Replica {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Replica {
    /// Starts `pictor serve` on `data` and `database`.
    pub fn start(data: &Path, database: &str) -> Replica {
        Replica::start_with(data, database, &[], &[])
    }

    /// Starts `pictor serve` on `data` and `database` with more arguments and environment.
    pub fn start_with(
        data: &Path,
        database: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args(["serve", "--listen", "127.0.0.1:0", "--json", "--data"])
            .arg(data)
            .args(["--database", database])
            // Short leases: a lease granted by the replica killed mid-answer comes back soon.
            .args(["--lease-ttl-secs", "3", "--check-lease-ttl-secs", "3"])
            .args(args)
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("PICTOR_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("pictor serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("pictor serve prints a line");
        let listening: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("serve --json prints one JSON object ({e}): {line:?}"));
        let url = listening["listen"].as_str().expect("listen").to_string();
        Replica { child, url }
    }

    /// SIGKILL: no shutdown, requests in flight cut.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `admin`'s replica answers.
pub async fn wait_healthy(admin: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while admin.stats().await.is_err() {
        assert!(Instant::now() < deadline, "a replica never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs one simulated job over `admins`, calling `mid_job` once a quarter of its tasks are
/// accepted; answers the report.
pub async fn job_through(admins: &[Client], mid_job: impl AsyncFnOnce()) -> SimReport {
    let progress = Arc::new(AtomicU64::new(0));
    let options = SimOptions {
        workers: 8,
        checkers: 2,
        tasks: TASKS,
        poll_interval: Duration::from_millis(100),
        render_time: Duration::from_millis(20),
        max_in_flight: 64,
        time_limit: Duration::from_secs(120),
        progress: Some(progress.clone()),
    };
    let run = tokio::spawn({
        let admins = admins.to_vec();
        async move { simulate(&admins, &options).await }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.load(Ordering::Relaxed) < u64::from(TASKS / 4) {
        assert!(
            Instant::now() < deadline,
            "the job never got a quarter done"
        );
        assert!(!run.is_finished(), "the simulation ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mid_job().await;
    let report = run.await.expect("simulation task").expect("simulation");
    assert!(
        report.completed && report.accepted == u64::from(TASKS),
        "{report:?}"
    );
    report
}

/// Uploads `bytes` in chunks alternating between `first` and `second` (both the same account).
pub async fn upload_alternating(first: (&str, &str), second: (&str, &str), bytes: &[u8]) {
    let http = super::http_client();
    let hash = BlobHash::of_bytes(bytes);
    let chunk = bytes.len().div_ceil(4);
    for (index, piece) in bytes.chunks(chunk).enumerate() {
        let (url, key) = if index % 2 == 0 { first } else { second };
        let offset = index * chunk;
        let answer = http
            .put(format!(
                "{url}/v1/blobs/{}?size={}&offset={offset}",
                hash.to_hex(),
                bytes.len()
            ))
            .bearer_auth(key)
            .body(piece.to_vec())
            .send()
            .await
            .expect("chunk sent");
        assert!(answer.status().is_success(), "chunk {index}: {answer:?}");
        let progress: UploadProgress = answer.json().await.expect("progress");
        assert_eq!(progress.received as usize, offset + piece.len());
        assert_eq!(progress.complete, offset + piece.len() == bytes.len());
    }
}
