//! Running a coordinator: open its store (the embedded SQLite database of a data directory, or a
//! PostgreSQL database) and blobs, serve the API, sweep expired leases in the background, stop
//! gracefully.

use crate::http;
use crate::service::{Config, Coordinator, ServiceError, ServiceResult};
use crate::store::Store;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use sqlx::postgres::PgConnectOptions;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The database file inside a data directory.
pub const DATABASE_FILE: &str = "pictor.db";
/// The blob folder inside a data directory.
pub use crate::blobs::BLOBS_DIR;

/// Opens (creating on first start) the coordinator of a data directory: SQLite database, blob store,
/// network key, bootstrap admin key.
pub async fn open(data_dir: &Path, config: Config) -> ServiceResult<Arc<Coordinator<SqliteStore>>> {
    open_sqlite(data_dir, &data_dir.join(DATABASE_FILE), config).await
}

/// Opens (creating on first start) a coordinator whose state is in the SQLite database file
/// `database` (made private to its owner, like its journal files), with its blobs, network key and
/// bootstrap admin key in `data_dir`.
pub async fn open_sqlite(
    data_dir: &Path,
    database: &Path,
    config: Config,
) -> ServiceResult<Arc<Coordinator<SqliteStore>>> {
    create_data_dir(data_dir)?;
    let store = SqliteStore::open(database).await?;
    // SQLite creates its files with the umask's mode; the folder is private already, and so are they.
    for suffix in ["", "-wal", "-shm"] {
        let mut path = database.as_os_str().to_os_string();
        path.push(suffix);
        pictor_core::private_fs::restrict_file(Path::new(&path)).map_err(|e| {
            ServiceError::internal(&format!("cannot restrict {}: {e}", database.display()))
        })?;
    }
    open_with(store, data_dir, config).await
}

/// Opens (creating on first start) a coordinator whose state is in the PostgreSQL database
/// `database` names, with its blobs, network key and bootstrap admin key in `data_dir`.
pub async fn open_postgres(
    data_dir: &Path,
    database: PgConnectOptions,
    config: Config,
) -> ServiceResult<Arc<Coordinator<PgStore>>> {
    create_data_dir(data_dir)?;
    let store = PgStore::open(database).await?;
    open_with(store, data_dir, config).await
}

fn create_data_dir(data_dir: &Path) -> ServiceResult<()> {
    pictor_core::private_fs::create_private_dir(data_dir)
        .map_err(|e| ServiceError::internal(&format!("cannot create {}: {e}", data_dir.display())))
}

async fn open_with<S: Store>(
    store: S,
    data_dir: &Path,
    config: Config,
) -> ServiceResult<Arc<Coordinator<S>>> {
    let blobs = config
        .blob_location
        .open(data_dir, config.blob_limits)
        .await?;
    Coordinator::open(store, blobs, config, data_dir).await
}

/// Serves the API on `listener` until `shutdown` resolves, sweeping expired leases and sending
/// webhook deliveries meanwhile.
pub async fn serve<S: crate::store::Store>(
    listener: TcpListener,
    coordinator: Arc<Coordinator<S>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = {
        let coordinator = coordinator.clone();
        let interval = Duration::from_millis(coordinator.config().sweep_interval_ms.max(10));
        // Abandoned uploads are looked for a few times per TTL, at most once a minute.
        let upload_sweep =
            Duration::from_millis((coordinator.config().upload_ttl_ms / 4).clamp(10, 60_000));
        tokio::spawn(async move {
            let mut last_upload_sweep = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(interval).await;
                if let Err(error) = coordinator.sweep().await {
                    tracing::warn!(%error, "lease sweep failed");
                }
                if let Err(error) = coordinator.finish_batches().await {
                    tracing::warn!(%error, "finishing a job's batches failed");
                }
                if last_upload_sweep.elapsed() >= upload_sweep {
                    last_upload_sweep = tokio::time::Instant::now();
                    match coordinator.expire_uploads().await {
                        Ok(0) => {}
                        Ok(removed) => tracing::info!(removed, "abandoned uploads removed"),
                        Err(error) => tracing::warn!(%error, "upload sweep failed"),
                    }
                }
            }
        })
    };
    let webhooks = {
        let coordinator = coordinator.clone();
        tokio::spawn(async move {
            let mut last_offline_check = tokio::time::Instant::now();
            let mut last_sample = tokio::time::Instant::now();
            coordinator.sample_metrics();
            loop {
                tokio::time::sleep(WEBHOOK_ROUND).await;
                if last_sample.elapsed() >= METRICS_SAMPLE {
                    last_sample = tokio::time::Instant::now();
                    coordinator.sample_metrics();
                }
                if let Err(error) = coordinator.deliver_webhooks().await {
                    tracing::warn!(%error, "webhook deliveries failed");
                }
                if last_offline_check.elapsed() >= OFFLINE_CHECK {
                    last_offline_check = tokio::time::Instant::now();
                    if let Err(error) = coordinator.announce_offline_workers().await {
                        tracing::warn!(%error, "announcing offline workers failed");
                    }
                }
            }
        })
    };
    // The API (its fallback answers every unknown path) and the web app at `/`.
    let app = http::router(coordinator.clone()).merge(crate::web::router(&coordinator));
    // The client's address reaches handlers (the web app's sign-in limit counts per address).
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    webhooks.abort();
    result
}

/// How often due webhook deliveries are looked for.
const WEBHOOK_ROUND: Duration = Duration::from_millis(500);
/// How often the `/metrics` counters are sampled for the operator's charts.
const METRICS_SAMPLE: Duration = Duration::from_secs(10);
/// How often workers that fell silent are looked for (to announce `worker.offline`).
const OFFLINE_CHECK: Duration = Duration::from_secs(5);
