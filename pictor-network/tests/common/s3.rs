//! A throwaway S3-compatible server for a test: moto's `moto_server` (installed by
//! `scripts/install-s3-server`), in memory, in the foreground as a child of the test, on a free
//! port of 127.0.0.1. Found through `PICTOR_S3_SERVER`, else on `PATH`, else where the install
//! script puts it. Without it a test skips with the reason, and fails under `PICTOR_REQUIRE_S3=1`
//! (CI).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/install-s3-server` installs the server by default.
const DEFAULT_INSTALL: &str = "/var/cache/pictor/s3-server/venv/bin/moto_server";

/// A running S3-compatible server, stopped when dropped.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl S3Server {
    /// Starts a server, or answers `None` (printing why) when none is installed.
    pub fn start_or_skip() -> Option<S3Server> {
        let Some(command) = server_command() else {
            super::skip_unless_required(
                "PICTOR_REQUIRE_S3",
                "no S3-compatible test server (run scripts/install-s3-server, or set \
                 PICTOR_S3_SERVER to a moto_server)",
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&command)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", command.display()));
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the S3 server never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// Creates a bucket (the server checks no signature).
    pub async fn create_bucket(&self, bucket: &str) {
        let answer = super::http_client()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(answer.status().is_success(), "create bucket: {answer:?}");
    }

    /// The environment a coordinator needs to use this server (test credentials).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "pictor-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "pictor-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Stops the server (its buckets are gone with it: it keeps them in memory).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn server_command() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PICTOR_S3_SERVER") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("moto_server"))
        .find(|path| path.is_file());
    on_path.or_else(|| {
        let installed = PathBuf::from(DEFAULT_INSTALL);
        installed.is_file().then_some(installed)
    })
}
