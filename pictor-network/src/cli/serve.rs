//! `pictor serve`: run a coordinator on a data directory until SIGINT or SIGTERM.

use super::database::Database;
use super::network_args::runtime;
use anyhow::{Context, Result, bail};
use clap::Args;
use pictor_network::blobs::BlobLocation;
use pictor_network::server;
use pictor_network::service::{ADMIN_KEY_FILE, Config, Coordinator};
use pictor_network::store::Store;
use serde::Serialize;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

/// The environment variable holding the log filter (`tracing` syntax; default `info`).
const LOG_ENV: &str = "PICTOR_LOG";

/// Arguments of `pictor serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; `--json` reports it).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Data directory: SQLite database, blobs, network key, bootstrap admin key (created if absent).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Where the network's state lives: `sqlite` (the default: `pictor.db` in the data directory),
    /// `sqlite:PATH` (a database file elsewhere), or a PostgreSQL URL, `postgres://USER@HOST[:PORT]/DATABASE` (a socket folder as
    /// `?host=/run/postgresql`). The password goes in `PGPASSWORD` or `~/.pgpass`, never in the
    /// URL. Keys stay in the data directory either way.
    #[arg(long, value_name = "URL", default_value = "sqlite")]
    database: String,
    /// Where the blobs (scenes, frames) live: the data directory's `blobs/` folder by default; a
    /// folder path (a file system all replicas share); or `s3://BUCKET[/PREFIX]`, an S3 bucket or
    /// one of an S3-compatible service, for replicas on several machines. S3 credentials, region
    /// and endpoint come from the `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP=true` for an
    /// endpoint without TLS), never from the URL.
    #[arg(long, value_name = "DIR|URL")]
    blobs: Option<String>,
    /// Also copy the bootstrap admin key to FILE (mode 0600). The key itself is never printed.
    #[arg(long, value_name = "FILE")]
    admin_key_file: Option<PathBuf>,
    /// Task lease length without a heartbeat, seconds (default 120).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    lease_ttl_secs: Option<u64>,
    /// Check lease length without a verdict, seconds (default 300).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    check_lease_ttl_secs: Option<u64>,
    /// Print one JSON object (`listen`, `data`, `admin_key_file`) on stdout once listening.
    #[arg(long)]
    json: bool,
}

/// What `pictor serve --json` prints once it listens.
#[derive(Debug, Serialize)]
struct Listening {
    listen: String,
    data: String,
    admin_key_file: String,
}

/// Runs `pictor serve`.
pub fn run(args: ServeArgs) -> Result<()> {
    init_logging();
    let mut config = Config::default();
    if let Some(secs) = args.lease_ttl_secs {
        config.task_policy.lease_ttl_ms = secs * 1000;
    }
    if let Some(secs) = args.check_lease_ttl_secs {
        config.check_lease_ttl_ms = secs * 1000;
    }
    if let Some(blobs) = &args.blobs {
        config.blob_location = BlobLocation::parse(blobs)?;
    }
    let database = Database::parse(&args.database)?;
    runtime()?.block_on(async move {
        let opening = || format!("opening the data directory {}", args.data.display());
        match database {
            Database::Sqlite(file) => {
                let file = file.unwrap_or_else(|| args.data.join(server::DATABASE_FILE));
                let coordinator = server::open_sqlite(&args.data, &file, config)
                    .await
                    .with_context(opening)?;
                serve_opened(coordinator, &args).await
            }
            Database::Postgres(options) => {
                let coordinator = server::open_postgres(&args.data, *options, config)
                    .await
                    .with_context(|| format!("{} with the PostgreSQL database", opening()))?;
                serve_opened(coordinator, &args).await
            }
        }
    })
}

/// Serves `coordinator` as `args` say: the admin key file, the listener, the `--json` line.
async fn serve_opened<S: Store>(coordinator: Arc<Coordinator<S>>, args: &ServeArgs) -> Result<()> {
    let bootstrap_key = args.data.join(ADMIN_KEY_FILE);
    let key_file = match &args.admin_key_file {
        Some(file) => {
            copy_private(&bootstrap_key, file)?;
            file.clone()
        }
        None => bootstrap_key,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let listening = Listening {
        listen: format!("http://{address}"),
        data: args.data.display().to_string(),
        admin_key_file: key_file.display().to_string(),
    };
    eprintln!(
        "pictor: listening on {} (data {}, admin key in {})",
        listening.listen, listening.data, listening.admin_key_file
    );
    if args.json {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", serde_json::to_string(&listening)?)
            .and_then(|()| stdout.flush())
            .context("writing to stdout")?;
    }
    server::serve(listener, coordinator, shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// Logs to stderr, filtered by `PICTOR_LOG` (default `info`).
fn init_logging() {
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A second subscriber (never installed here) would only be refused: nothing to report.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted; shutting down"),
        () = terminate => tracing::info!("terminated; shutting down"),
    }
}

/// Copies the bootstrap admin key to `to`, readable by its owner only, atomically.
fn copy_private(from: &Path, to: &Path) -> Result<()> {
    let key = match std::fs::read(from) {
        Ok(key) => key,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} is gone (it is written only when the network is first created), so \
             --admin-key-file has nothing to copy",
            from.display()
        ),
        Err(error) => return Err(error).with_context(|| format!("reading {}", from.display())),
    };
    let mut tmp_name = to.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = to.with_file_name(tmp_name);
    // A leftover temporary file would keep its own permissions: start afresh.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(&key)?;
        file.sync_all()
    });
    written.with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, to).with_context(|| format!("writing {}", to.display()))
}
