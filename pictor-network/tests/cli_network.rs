//! The network commands of `pictor` end to end: the real binary serves a temporary data directory;
//! `account`, `job quote` and `ledger verify` drive it; a tampered database fails `ledger verify --data`
//! with exit status 2. No rendering: a worker is registered through the SDK so quotes have capacity.
//! With `PICTOR_TEST_DATABASE=postgres` the server runs on PostgreSQL (the tamper test stays on
//! SQLite, whose file it edits).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use pictor_core::api::{RegisterWorkerRequest, WorkerHardware};
use pictor_core::{GpuVendor, Money, RendererKind, Version};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A `pictor serve` child process, killed when dropped.
struct Server {
    child: Child,
    url: String,
    data: PathBuf,
    /// `--database URL` when this server's state is in PostgreSQL (`PICTOR_TEST_DATABASE=postgres`).
    database: Vec<String>,
}

impl Server {
    /// A server on the run's store: SQLite, or a fresh PostgreSQL database with
    /// `PICTOR_TEST_DATABASE=postgres`.
    fn start(data: &Path) -> Server {
        let database = if common::postgres::enabled() {
            let url = common::postgres::Cluster::get().create_database();
            vec!["--database".to_string(), url]
        } else {
            Vec::new()
        };
        Server::start_on(data, database)
    }

    /// A server on the data directory's own SQLite database, whatever the run's store.
    fn start_sqlite(data: &Path) -> Server {
        Server::start_on(data, Vec::new())
    }

    fn start_on(data: &Path, database: Vec<String>) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(&database)
            .arg("--json")
            .env("PICTOR_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("pictor serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("pictor serve prints a line");
        let listening: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("serve --json prints one JSON object ({e}): {line:?}"));
        let url = listening["listen"].as_str().expect("listen").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_eq!(
            listening["admin_key_file"].as_str(),
            data.join("admin.key").to_str()
        );
        let server = Server {
            child,
            url,
            data: data.to_path_buf(),
            database,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let health = format!("{}/health", self.url);
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = self.url.trim_start_matches("http://").to_string();
        loop {
            // A plain HTTP/1.0 request: no client library needed for one probe.
            let answer = std::net::TcpStream::connect(&address).and_then(|mut stream| {
                use std::io::{Read, Write};
                stream.set_read_timeout(Some(Duration::from_secs(2)))?;
                stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
                let mut text = String::new();
                stream.read_to_string(&mut text)?;
                Ok(text)
            });
            if let Ok(text) = answer
                && text.starts_with("HTTP/1.")
                && text.contains(" 200 ")
            {
                return;
            }
            assert!(Instant::now() < deadline, "{health} never answered 200");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The bootstrap admin key's file, which the CLI reads the key from.
    fn admin_key_file(&self) -> String {
        self.data
            .join("admin.key")
            .to_str()
            .expect("utf-8")
            .to_string()
    }

    /// Stops the server with SIGTERM (graceful), falling back to a kill.
    fn stop(mut self) {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.child.try_wait() {
                    assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pictor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .env_remove("PICTOR_NETWORK")
        .env_remove("PICTOR_API_KEY")
        .env_remove("PICTOR_ADMIN_KEY")
        .output()
        .expect("the pictor binary runs")
}

/// Writes `key` to a 0600 file named `name` in `dir`; answers its path for `--api-key-file`.
fn key_file(dir: &std::path::Path, name: &str, key: &str) -> String {
    let path = dir.join(format!("{name}.key"));
    std::fs::write(&path, key).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    path.to_str().expect("utf-8").to_string()
}

fn args(owned: &[String]) -> Vec<&str> {
    owned.iter().map(String::as_str).collect()
}

fn json_ok(args: &[&str]) -> Value {
    let output = pictor(args);
    assert!(
        output.status.success(),
        "pictor {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim_end().lines().count(), 1, "one line: {stdout}");
    serde_json::from_str(&stdout).expect("one JSON object")
}

fn assert_one_line_failure(output: &Output, code: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(code), "{what}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{what}: one line: {stderr}"
    );
    assert!(stderr.starts_with("pictor: "), "{what}: {stderr}");
    stderr
}

fn create_account(server: &Server, role: &str, name: &str, credits: Option<&str>) -> Value {
    let admin = server.admin_key_file();
    let mut args = vec![
        "account",
        "create",
        "--network",
        &server.url,
        "--admin-key-file",
        &admin,
        "--role",
        role,
        "--name",
        name,
        "--json",
    ];
    if let Some(credits) = credits {
        args.extend(["--credits", credits]);
    }
    json_ok(&args)
}

/// Registers an online builtin worker through the SDK, so quotes have capacity.
fn register_worker(url: &str, api_key: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = pictor_sdk::Client::builder()
            .endpoint(url)
            .api_key(api_key)
            .build()
            .expect("client");
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let request = RegisterWorkerRequest {
            name: "cpu-1".into(),
            public_key_hex: pictor_sdk::public_key_hex(&key),
            hardware: WorkerHardware {
                vendor: GpuVendor::Cpu,
                gpu_name: "test cpu".into(),
                vram_mib: 8192,
                renderers: vec![(RendererKind::Builtin, Version::new(0, 1, 0))],
            },
            price_per_bench_hour: Money::from_credits(1).expect("in range"),
            speed_millis: 1000,
            slots: 1,
            min_tier: pictor_core::job::Tier::Economy,
            queue_delay_secs: None,
        };
        client
            .workers()
            .register(request)
            .await
            .expect("worker registers");
    });
}

#[test]
fn serve_accounts_quote_and_ledger_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data);

    let creator = create_account(&server, "creator", "studio", Some("100"));
    assert_eq!(creator["role"], "creator");
    assert_eq!(creator["name"], "studio");
    assert_eq!(creator["balance_micros"], 100_000_000);
    let creator_key = creator["api_key"].as_str().expect("api key").to_string();
    assert!(creator_key.starts_with("pk_"));
    let creator_key_file = key_file(dir.path(), "creator", &creator_key);
    let worker = create_account(&server, "worker", "node-1", None);
    assert_eq!(worker["balance_micros"], 0);
    let checker = create_account(&server, "checker", "checker-1", None);
    assert_eq!(checker["role"], "checker");

    // A second deposit.
    let admin = server.admin_key_file();
    let id = creator["id"].as_u64().expect("id").to_string();
    let deposited = json_ok(&[
        "account",
        "deposit",
        "--network",
        &server.url,
        "--admin-key-file",
        &admin,
        "--account",
        &id,
        "--credits",
        "2.5",
        "--json",
    ]);
    assert_eq!(deposited["balance_micros"], 102_500_000);

    // Quote a builtin scene folder.
    register_worker(&server.url, worker["api_key"].as_str().expect("key"));
    let scene = dir.path().join("scene");
    std::fs::create_dir_all(&scene).expect("scene dir");
    std::fs::write(
        scene.join("demo.toml"),
        pictor_render::builtin::demo_scene_toml(),
    )
    .expect("scene file");
    let scene_arg = scene.to_str().expect("utf-8");
    let quote = json_ok(&[
        "job",
        "quote",
        "--network",
        &server.url,
        "--api-key-file",
        &creator_key_file,
        "--scene",
        scene_arg,
        "--main-file",
        "demo.toml",
        "--frames",
        "1-4",
        "--samples",
        "8",
        "--width",
        "64",
        "--height",
        "36",
        "--json",
    ]);
    let q = &quote["quote"];
    assert_eq!(quote["scene"].as_str().map(str::len), Some(64));
    assert!(q["cost_p90"].as_u64() >= q["cost_p50"].as_u64(), "{quote}");
    assert!(
        q["escrow_hold"].as_u64().is_some_and(|hold| hold > 0),
        "{quote}"
    );
    // The same through the scene file, with the key from the environment.
    let output = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["job", "quote", "--scene"])
        .arg(scene.join("demo.toml"))
        .args([
            "--frames",
            "1-4",
            "--samples",
            "8",
            "--width",
            "64",
            "--height",
            "36",
        ])
        .args(["--json"])
        .env("PICTOR_NETWORK", &server.url)
        .env("PICTOR_API_KEY", &creator_key)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(again["scene"], quote["scene"], "same folder, same asset");

    // Two deposits so far.
    let remote = json_ok(&["ledger", "verify", "--network", &server.url, "--json"]);
    assert_eq!(remote["ok"], true, "{remote}");
    assert_eq!(remote["entries"], 2, "two deposits: {remote}");

    // Submit, read, cancel; watching a cancelled job exits 3 with its view; nothing to download.
    let net = [
        "--network",
        server.url.as_str(),
        "--api-key-file",
        creator_key_file.as_str(),
    ];
    let submit: Vec<&str> = ["job", "submit"]
        .into_iter()
        .chain(net)
        .chain([
            "--scene",
            scene_arg,
            "--main-file",
            "demo.toml",
            "--frames",
            "1-4",
            "--samples",
            "8",
            "--width",
            "64",
            "--height",
            "36",
            "--tier",
            "economy",
            "--json",
        ])
        .collect();
    let job = json_ok(&submit);
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(job["tasks_total"], 4, "{job}");
    let job_id = job["id"].as_u64().expect("job id").to_string();
    let on_job = |command: &'static str| -> Vec<String> {
        ["job", command]
            .into_iter()
            .chain(net)
            .chain([job_id.as_str(), "--json"])
            .map(String::from)
            .collect()
    };
    let status = json_ok(&args(&on_job("status")));
    assert_eq!(status["id"], job["id"]);
    let cancelled = json_ok(&args(&on_job("cancel")));
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    let watched = pictor(&args(&on_job("watch")));
    assert_one_line_failure(&watched, 3, "watching a cancelled job");
    let view: Value = serde_json::from_slice(&watched.stdout).expect("one JSON object");
    assert_eq!(view["state"], "cancelled", "{view}");
    let out = dir.path().join("frames");
    let mut download = on_job("download");
    download.extend(["--out".to_string(), out.display().to_string()]);
    let downloaded = json_ok(&args(&download));
    assert_eq!(downloaded["frames"], serde_json::json!([]), "{downloaded}");

    // The ledger verifies over the network and from the data directory (read while serving).
    let remote = json_ok(&["ledger", "verify", "--network", &server.url, "--json"]);
    assert_eq!(remote["ok"], true, "{remote}");
    assert!(
        remote["entries"].as_u64() > Some(2),
        "hold and release: {remote}"
    );
    // Offline, from the store itself (the data directory's SQLite, or `--database`).
    let mut offline = vec![
        "ledger".to_string(),
        "verify".into(),
        "--data".into(),
        data.to_str().expect("utf-8").into(),
        "--json".into(),
    ];
    offline.extend(server.database.iter().cloned());
    let local = json_ok(&args(&offline));
    assert_eq!(local, remote);

    server.stop();
    let local = json_ok(&args(&offline));
    assert_eq!(local, remote, "unchanged after a graceful stop");
}

#[test]
fn a_tampered_journal_fails_ledger_verify_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // The test edits the SQLite file behind the server's back.
    let server = Server::start_sqlite(&data);
    let creator = create_account(&server, "creator", "studio", Some("10"));
    let admin = server.admin_key_file();
    let id = creator["id"].as_u64().expect("id").to_string();
    for credits in ["1", "2", "3"] {
        json_ok(&[
            "account",
            "deposit",
            "--network",
            &server.url,
            "--admin-key-file",
            &admin,
            "--account",
            &id,
            "--credits",
            credits,
            "--json",
        ]);
    }
    server.stop();
    let data_arg = data.to_str().expect("utf-8");
    let before = json_ok(&["ledger", "verify", "--data", data_arg, "--json"]);
    assert_eq!(before["entries"], 4, "{before}");

    // Flip one bit of entry 1's amount (byte 76 of the 116-byte encoding).
    let db = rusqlite::Connection::open(data.join("pictor.db")).expect("db");
    let mut bytes: Vec<u8> = db
        .query_row(
            "SELECT bytes FROM ledger_entries WHERE seq = 1",
            [],
            |row| row.get(0),
        )
        .expect("entry 1");
    bytes[76] ^= 0x01;
    db.execute(
        "UPDATE ledger_entries SET bytes = ?1 WHERE seq = 1",
        rusqlite::params![bytes],
    )
    .expect("tamper");
    drop(db);

    let output = pictor(&["ledger", "verify", "--data", data_arg, "--json"]);
    let stderr = assert_one_line_failure(&output, 2, "tampered");
    assert!(stderr.contains("seq 1"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_bad_seq"], 1, "{report}");
    assert!(report["reason"].as_str().is_some_and(|r| !r.is_empty()));

    // The service refuses to start on it; the offline check is the way to look.
    let refused = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data_arg])
        .env("PICTOR_LOG", "off")
        .output()
        .expect("runs");
    assert!(!refused.status.success());
}

#[test]
fn bad_input_fails_with_one_line() {
    let keys = tempfile::tempdir().expect("tempdir");
    let bogus_key = key_file(keys.path(), "bogus", "pk_x");
    let on_command_line = pictor(&[
        "job",
        "status",
        "--network",
        "http://127.0.0.1:9",
        "--api-key",
        "pk_x",
        "7",
    ]);
    let stderr = assert_one_line_failure(&on_command_line, 1, "a key on the command line");
    assert!(stderr.contains("--api-key-file"), "{stderr}");
    assert!(stderr.contains("ps"), "{stderr}");
    let missing = pictor(&[
        "account",
        "create",
        "--admin-key-file",
        &bogus_key,
        "--role",
        "creator",
        "--name",
        "a",
    ]);
    let stderr = assert_one_line_failure(&missing, 1, "missing --network");
    assert!(stderr.contains("--network"), "{stderr}");

    let role = pictor(&[
        "account",
        "create",
        "--network",
        "http://127.0.0.1:9",
        "--admin-key-file",
        &bogus_key,
        "--role",
        "admin",
        "--name",
        "a",
    ]);
    let stderr = assert_one_line_failure(&role, 1, "unknown role");
    assert!(stderr.contains("--role"), "{stderr}");

    let credits = pictor(&[
        "account",
        "deposit",
        "--network",
        "http://127.0.0.1:9",
        "--admin-key-file",
        &bogus_key,
        "--account",
        "2",
        "--credits",
        "lots",
    ]);
    let stderr = assert_one_line_failure(&credits, 1, "non-numeric credits");
    assert!(stderr.contains("credits"), "{stderr}");

    let neither = pictor(&["ledger", "verify"]);
    assert_one_line_failure(&neither, 1, "ledger verify without a source");

    let not_data = tempfile::tempdir().expect("tempdir");
    let empty = pictor(&[
        "ledger",
        "verify",
        "--data",
        not_data.path().to_str().expect("utf-8"),
    ]);
    assert_one_line_failure(&empty, 1, "not a data directory");
    assert!(
        !not_data.path().join("pictor.db").exists(),
        "verify never creates a database"
    );

    let folder = pictor(&[
        "job",
        "quote",
        "--network",
        "http://127.0.0.1:9",
        "--api-key-file",
        &bogus_key,
        "--scene",
        not_data.path().to_str().expect("utf-8"),
        "--frames",
        "1-2",
    ]);
    let stderr = assert_one_line_failure(&folder, 1, "folder without --main-file");
    assert!(stderr.contains("--main-file"), "{stderr}");

    let frames = pictor(&[
        "job",
        "status",
        "--network",
        "http://127.0.0.1:9",
        "--api-key-file",
        &bogus_key,
        "seven",
    ]);
    assert_one_line_failure(&frames, 1, "non-numeric job id");
}
