//! Shared harness of the network tests: a real coordinator on 127.0.0.1 (random port, temp data dir)
//! and SDK clients for each role. Not every test uses every helper.
#![allow(dead_code)]

pub mod agents;
pub mod browser;
pub mod cycle;
pub mod ledger;
pub mod postgres;
pub mod replicas;
pub mod s3;
pub mod slurm;
pub mod web;

use ed25519_dalek::SigningKey;
use pictor_core::api::{RegisterWorkerRequest, Role, WorkerHardware};
use pictor_core::job::{GpuVendor, RendererKind, Version};
use pictor_core::{AccountId, Money};
use pictor_network::blobs::Blobs;
use pictor_network::service::{ADMIN_KEY_FILE, Config, Coordinator, ServiceResult};
use pictor_network::store::Store;
use pictor_network::store::postgres::PgStore;
use pictor_network::store::sqlite::SqliteStore;
use pictor_sdk::{Client, RetryPolicy};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A running coordinator: on SQLite, or on PostgreSQL when `PICTOR_TEST_DATABASE=postgres`
/// ([`postgres`]).
pub struct Network {
    pub url: String,
    pub admin: Client,
    pub coordinator: Opened,
    pub data: TempDir,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The coordinator a [`Network`] serves, on its store.
pub enum Opened {
    Sqlite(Arc<Coordinator<SqliteStore>>),
    Postgres(Arc<Coordinator<PgStore>>),
}

impl Opened {
    /// The journal's head, as `GET /v1/ledger/head` answers it.
    pub async fn ledger_head(&self) -> ServiceResult<pictor_core::api::LedgerHead> {
        match self {
            Opened::Sqlite(coordinator) => coordinator.ledger_head().await,
            Opened::Postgres(coordinator) => coordinator.ledger_head().await,
        }
    }

    /// The blob store.
    pub fn blobs(&self) -> &Blobs {
        match self {
            Opened::Sqlite(coordinator) => coordinator.blobs(),
            Opened::Postgres(coordinator) => coordinator.blobs(),
        }
    }
}

/// The file in a test's data dir naming its PostgreSQL database, so a restart on the same data
/// dir finds the same state.
const DATABASE_URL_FILE: &str = "test-database-url";

/// The PostgreSQL database of the data dir `data` (created on first use), as `pictor serve
/// --database` takes it.
pub fn postgres_url(data: &Path) -> String {
    let file = data.join(DATABASE_URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&file) {
        return url;
    }
    let url = postgres::Cluster::get().create_database();
    std::fs::create_dir_all(data).expect("data dir");
    std::fs::write(&file, &url).expect("database url file");
    // Everything in a data dir is private (adversarial.rs checks it).
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    url
}

impl Network {
    /// Starts a coordinator with `config` in a fresh temp dir.
    pub async fn start(config: Config) -> Network {
        let data = tempfile::tempdir().expect("temp dir");
        Network::start_in(data, config).await
    }

    /// Starts a coordinator in `data` (possibly holding an earlier run's state).
    pub async fn start_in(data: TempDir, mut config: Config) -> Network {
        // A test that leaves the trust rules alone leases exactly the checks it makes: no
        // known-outcome probes or audits drawn at random among them. tests/trust.rs sets its own
        // rules, and the tests that run `pictor serve` meet the defaults with real checkers.
        if config.trust == pictor_network::service::trust::TrustRules::default() {
            config.trust.probe_every = 0;
            config.trust.audit_per_mille = 0;
        }
        // `PICTOR_TEST_LOG=debug` (a `tracing` filter) shows the coordinator's log in the test's.
        if let Ok(filter) = std::env::var("PICTOR_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        if postgres::enabled() {
            let url = postgres_url(data.path());
            Network::start_postgres_in(data, &url, config).await
        } else {
            Network::start_sqlite_in(data, config).await
        }
    }

    /// Starts a coordinator in `data` on its SQLite database, whatever this run's store.
    pub async fn start_sqlite_in(data: TempDir, config: Config) -> Network {
        let coordinator = pictor_network::server::open(data.path(), config)
            .await
            .expect("coordinator opens");
        Network::serve(data, coordinator.clone(), Opened::Sqlite(coordinator)).await
    }

    /// Starts a coordinator in `data` on the PostgreSQL database at `url`.
    pub async fn start_postgres_in(data: TempDir, url: &str, config: Config) -> Network {
        let options = url.parse().expect("database url");
        let coordinator = pictor_network::server::open_postgres(data.path(), options, config)
            .await
            .expect("coordinator opens on PostgreSQL");
        Network::serve(data, coordinator.clone(), Opened::Postgres(coordinator)).await
    }

    /// Opens (without serving) the coordinator of `data` on this run's store: an error when it
    /// refuses to start.
    pub async fn try_start_in(data: &TempDir, config: Config) -> ServiceResult<()> {
        if postgres::enabled() {
            let options = postgres_url(data.path()).parse().expect("database url");
            pictor_network::server::open_postgres(data.path(), options, config)
                .await
                .map(drop)
        } else {
            pictor_network::server::open(data.path(), config)
                .await
                .map(drop)
        }
    }

    async fn serve<S: Store>(
        data: TempDir,
        coordinator: Arc<Coordinator<S>>,
        opened: Opened,
    ) -> Network {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(pictor_network::server::serve(
            listener,
            coordinator,
            async move {
                let _ = stopped.await;
            },
        ));
        let admin_key =
            std::fs::read_to_string(data.path().join(ADMIN_KEY_FILE)).expect("admin key");
        let admin = client(&url, admin_key.trim());
        Network {
            url,
            admin,
            coordinator: opened,
            data,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// Stops serving and answers the data dir.
    pub async fn stop(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
        let data = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data, data)
    }

    /// Opens an account of `role` and answers a client with its key and its id.
    pub async fn account(&self, role: Role, name: &str) -> (Client, AccountId) {
        let (client, id, _) = self.account_with_key(role, name).await;
        (client, id)
    }

    /// Opens an account of `role`: a client, its id and its API key (for raw HTTP calls).
    pub async fn account_with_key(&self, role: Role, name: &str) -> (Client, AccountId, String) {
        let created = self
            .admin
            .accounts()
            .create(role, name)
            .await
            .expect("account");
        (
            client(&self.url, &created.api_key),
            created.account.id,
            created.api_key,
        )
    }

    /// A creator with `credits` deposited.
    pub async fn creator(&self, credits: u64) -> (Client, AccountId) {
        let (client, id, _) = self.creator_named("studio", credits).await;
        (client, id)
    }

    /// A creator called `name` with `credits` deposited: its client, id and API key.
    pub async fn creator_named(&self, name: &str, credits: u64) -> (Client, AccountId, String) {
        let (client, id, key) = self.account_with_key(Role::Creator, name).await;
        if credits > 0 {
            self.admin
                .accounts()
                .deposit(id, Money::from_credits(credits).expect("credits"))
                .send()
                .await
                .expect("deposit");
        }
        (client, id, key)
    }

    /// A registered worker with a fresh key, `price` credits per bench-hour.
    pub async fn worker(&self, name: &str, price_credits: u64) -> (Client, AccountId, SigningKey) {
        let (client, id) = self.account(Role::Worker, name).await;
        let key = SigningKey::from_bytes(&rand_seed(id.0));
        client
            .workers()
            .register(register_request(name, &key, price_credits))
            .await
            .expect("register");
        (client, id, key)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A deterministic key seed per account id (tests only).
pub fn rand_seed(id: u64) -> [u8; 32] {
    *blake3::hash(format!("worker-key-{id}").as_bytes()).as_bytes()
}

/// The registration of a CPU worker with the built-in renderer.
pub fn register_request(name: &str, key: &SigningKey, price_credits: u64) -> RegisterWorkerRequest {
    RegisterWorkerRequest {
        name: name.to_string(),
        public_key_hex: pictor_sdk::public_key_hex(key),
        hardware: WorkerHardware {
            vendor: GpuVendor::Cpu,
            gpu_name: "test cpu".into(),
            vram_mib: 4096,
            renderers: vec![(RendererKind::Builtin, Version::new(0, 1, 0))],
        },
        price_per_bench_hour: Money::from_credits(price_credits).expect("price"),
        speed_millis: 1000,
        slots: 4,
        min_tier: pictor_core::job::Tier::Economy,
        queue_delay_secs: None,
    }
}

/// A test that needs something missing here skips, printing `reason` — unless the environment
/// variable `required` is `1` (CI sets one per component), where missing it is a failure.
pub fn skip_unless_required(required: &str, reason: &str) {
    if std::env::var(required).as_deref() == Ok("1") {
        panic!("{required}=1 but {reason}");
    }
    println!("SKIP: {reason}");
}

/// A bare `reqwest` client for requests the SDK would refuse to make (rustls' provider installed
/// first, as the SDK does).
pub fn http_client() -> reqwest::Client {
    pictor_sdk::install_tls_provider();
    reqwest::Client::new()
}

/// An SDK client without retries (tests assert on first answers).
pub fn client(url: &str, key: &str) -> Client {
    Client::builder()
        .endpoint(url)
        .api_key(key)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

/// A scene folder with a scene file and a texture.
pub fn scene_folder() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("scene.toml"), b"# test scene\n").expect("scene");
    std::fs::create_dir_all(dir.path().join("tex")).expect("tex");
    std::fs::write(dir.path().join("tex/wood.bin"), vec![7u8; 300_000]).expect("texture");
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// Uploads [`scene_folder`] as `creator`; answers the asset id.
pub async fn upload_test_scene(creator: &Client) -> pictor_core::AssetId {
    let (_dir, folder) = scene_folder();
    creator
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("upload")
        .id
}

/// A small built-in job of `frames` (64×36, 16 samples) on `scene`.
pub fn small_spec(scene: pictor_core::AssetId, frames: &str) -> pictor_core::JobSpec {
    pictor_core::JobSpec::builder(scene, frames.parse().expect("frames"))
        .resolution(64, 36)
        .samples(16)
        .build()
        .expect("spec")
}

/// A `pictor serve` process and its URL.
pub struct Served {
    pub child: Child,
    pub url: String,
}

pub fn serve(data: &Path) -> Served {
    serve_with(data, &[])
}

/// `pictor serve` on `data` with extra arguments.
pub fn serve_with(data: &Path, extra: &[&str]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pictor"));
    command.args(["serve", "--json", "--data"]).arg(data);
    if postgres::enabled() && !extra.contains(&"--database") {
        command.arg("--database").arg(postgres_url(data));
    }
    let mut child = command
        .args(if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "127.0.0.1:0"][..]
        })
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pictor serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let started: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    let url = started["listen"].as_str().expect("listen url").to_string();
    Served { child, url }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_healthy(url: &str) {
    let probe = client(url, "none");
    for _ in 0..100 {
        if probe.health().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{url} did not become healthy");
}

/// A worker's result for `lease` without rendering: `tag`-marked bytes uploaded as the output of each
/// of the lease's frames, signed with `key` and submitted.
pub async fn deliver(
    worker: &Client,
    key: &SigningKey,
    lease: &pictor_core::api::TaskLease,
    tag: &str,
) -> pictor_sdk::Result<pictor_core::api::TaskStateView> {
    let mut outputs = Vec::new();
    for frame in lease.work.frames() {
        let bytes = format!("{tag}:{}:{frame}", lease.task.0)
            .into_bytes()
            .repeat(50);
        outputs.push(worker.workers().upload_output_bytes(bytes, frame).await?);
    }
    let result = pictor_sdk::sign_result(key, lease.task, lease.attempt, outputs, 5)?;
    worker.workers().submit_result(lease.task, result).await
}

/// A worker's result for `lease` without rendering, each frame a real 64×36 PNG (a gradient
/// tinted by the frame number), so the page's pictures show.
pub async fn deliver_pngs(
    worker: &pictor_sdk::Client,
    key: &pictor_core::ledger::SigningKey,
    lease: &pictor_core::api::TaskLease,
) {
    let mut outputs = Vec::new();
    for frame in lease.work.frames() {
        let picture = image::RgbImage::from_fn(64, 36, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 7) as u8, (frame * 60 % 256) as u8])
        });
        let mut png = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("encode a PNG");
        outputs.push(
            worker
                .workers()
                .upload_output_bytes(png.into_inner(), frame)
                .await
                .expect("upload"),
        );
    }
    let result = pictor_sdk::sign_result(key, lease.task, lease.attempt, outputs, 5).expect("sign");
    worker
        .workers()
        .submit_result(lease.task, result)
        .await
        .expect("result");
}

/// A small market on a [`Network`]: a creator with 100 credits and a submitted built-in job, a
/// worker and a checker (no agents: the test drives each step).
pub struct SmallMarket {
    pub creator: Client,
    pub creator_key: String,
    pub worker: Client,
    pub signing: SigningKey,
    pub checker: Client,
    pub job: pictor_core::JobId,
}

impl SmallMarket {
    /// The worker leases the next task, delivers real PNG frames, and the checker accepts them;
    /// answers the lease.
    pub async fn accept_one(&self) -> pictor_core::api::TaskLease {
        let lease = self
            .worker
            .workers()
            .lease()
            .await
            .expect("lease")
            .expect("a task");
        deliver_pngs(&self.worker, &self.signing, &lease).await;
        check_once(&self.checker, pictor_core::api::Verdict::Accept).await;
        lease
    }
}

impl Network {
    /// A [`SmallMarket`] whose creator is `creator_name` and whose job renders `frames`.
    pub async fn small_market(&self, creator_name: &str, frames: &str) -> SmallMarket {
        let (creator, _, creator_key) = self.creator_named(creator_name, 100).await;
        let (worker, _, signing) = self.worker("gpu", 2).await;
        let (checker, _, _) = self.account_with_key(Role::Checker, "checker").await;
        let scene = upload_test_scene(&creator).await;
        let job = creator
            .jobs()
            .submit(small_spec(scene, frames))
            .send()
            .await
            .expect("submit")
            .id;
        SmallMarket {
            creator,
            creator_key,
            worker,
            signing,
            checker,
            job,
        }
    }
}

/// Leases the oldest waiting check as `checker` and posts `verdict` on it.
pub async fn check_once(
    checker: &Client,
    verdict: pictor_core::api::Verdict,
) -> pictor_core::api::CheckLease {
    let check = checker
        .checks()
        .lease()
        .await
        .expect("check lease")
        .expect("a check waits");
    checker
        .checks()
        .verdict(check.check, verdict, serde_json::json!({}))
        .await
        .expect("verdict");
    check
}

/// Blender, or a printed skip (a failure under `PICTOR_REQUIRE_BLENDER=1`).
pub fn blender_or_skip() -> bool {
    match pictor_render::Renderer::version(&pictor_render::BlenderRenderer::new()) {
        Ok(_) => true,
        Err(error) => {
            let reason = format!("Blender unavailable: {error}");
            if std::env::var("PICTOR_REQUIRE_BLENDER").as_deref() == Ok("1") {
                panic!("PICTOR_REQUIRE_BLENDER=1 but {reason}");
            }
            println!("SKIP: {reason}");
            false
        }
    }
}

/// Saves Blender's factory scene to `path`, compressed (zstd) or not.
pub fn save_factory_scene(path: &Path, compress: bool) {
    let python = if compress { "True" } else { "False" };
    let saved = std::process::Command::new(
        std::env::var_os("PICTOR_BLENDER").unwrap_or_else(|| "blender".into()),
    )
    .args(["-b", "--factory-startup", "--python-expr"])
    .arg(format!(
        "import bpy; bpy.ops.wm.save_as_mainfile(filepath={:?}, compress={python})",
        path.display().to_string()
    ))
    .output()
    .expect("blender runs");
    assert!(
        saved.status.success() && path.exists(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
}

/// Logs of the coordinator and agents at `RUST_LOG` (default: errors only), into the test's
/// output.
pub fn log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()),
        ))
        .with_test_writer()
        .try_init();
}
