//! `pictor migrate`: move a stopped network's state from SQLite to an empty PostgreSQL database
//! (`store::migrate`), then check the copy the way the coordinator will: row counts equal, the
//! journal verifies on PostgreSQL against the network key with the head it had on SQLite. With
//! `--blobs s3://…` it first copies the data directory's blobs into that bucket, for replicas on
//! machines that share no folder.

use super::database::Database;
use super::ledger::load_public_key;
use super::network_args::runtime;
use anyhow::{Context, Result, bail};
use clap::Args;
use pictor_network::blobs::{BLOBS_DIR, BlobLimits, BlobLocation, FsBlobStore, open_s3};
use pictor_network::server::DATABASE_FILE;
use pictor_network::service::{NETWORK_KEY_FILE, verify_store};
use pictor_network::store::migrate::{copy_sqlite_to_postgres, ensure_empty};
use pictor_network::store::postgres::PgStore;
use pictor_network::store::sqlite::SqliteStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Arguments of `pictor migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The network's data directory (its network key; its SQLite database unless `--from`).
    /// Stop `pictor serve` on it first: writes after the copy would stay behind.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The SQLite database to read: `sqlite:PATH` (default: `pictor.db` in the data directory).
    #[arg(long, value_name = "URL")]
    from: Option<String>,
    /// The empty PostgreSQL database to fill: `postgres://USER@HOST[:PORT]/DATABASE` (the
    /// password in PGPASSWORD or ~/.pgpass).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Also copy the data directory's blobs into an object store, `s3://BUCKET[/PREFIX]` (the
    /// `--blobs` the replicas will run with; S3 settings from the `AWS_*` environment). Blobs the
    /// bucket holds already are skipped, so a second run only copies what the first missed.
    #[arg(long, value_name = "URL")]
    blobs: Option<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What `pictor migrate --json` prints.
#[derive(Debug, Serialize)]
struct Migrated {
    tables: Vec<TableCount>,
    /// Blobs copied to `--blobs`, and blobs it held already.
    blobs_copied: u64,
    blobs_present: u64,
    ledger_entries: u64,
    ledger_head: String,
}

#[derive(Debug, Serialize)]
struct TableCount {
    table: &'static str,
    rows: u64,
}

/// Runs `pictor migrate`.
pub fn run(args: MigrateArgs) -> Result<()> {
    let from = match args.from.as_deref().map(Database::parse).transpose()? {
        None => args.data.join(DATABASE_FILE),
        Some(Database::Sqlite(None)) => args.data.join(DATABASE_FILE),
        Some(Database::Sqlite(Some(path))) => path,
        Some(Database::Postgres(_)) => {
            bail!("--from: migrate reads a SQLite database (sqlite:PATH)")
        }
    };
    let Database::Postgres(to) = Database::parse(&args.to)
        .map_err(|e| anyhow::anyhow!("{}", e.to_string().replace("--database", "--to")))?
    else {
        bail!("--to: migrate writes to a PostgreSQL database (postgres://…)");
    };
    if !from.is_file() {
        bail!("{} does not exist: nothing to migrate", from.display());
    }
    let key = load_public_key(&args.data.join(NETWORK_KEY_FILE))?;
    let blobs = match args.blobs.as_deref().map(BlobLocation::parse).transpose()? {
        None => None,
        Some(BlobLocation::S3 { bucket, prefix }) => Some((bucket, prefix)),
        Some(_) => bail!(
            "--blobs: migrate copies blobs to an object store (s3://BUCKET[/PREFIX]); replicas \
             sharing a folder can use the data directory's blobs/ folder as it is"
        ),
    };
    runtime()?.block_on(async move {
        let source = SqliteStore::open(&from)
            .await
            .with_context(|| format!("opening {}", from.display()))?;
        let before = verify_store(&source, &key)
            .await
            .context("reading the journal on SQLite")?
            .map_err(|report| anyhow::anyhow!("the SQLite journal is tampered: {report}"))?;
        let target = PgStore::open(*to)
            .await
            .context("opening the PostgreSQL database")?;
        ensure_empty(&target).await?;
        // Blobs before the rows: a failure leaves the PostgreSQL database empty for a rerun,
        // which skips the blobs already copied.
        let (blobs_copied, blobs_present) = match blobs {
            Some((bucket, prefix)) => copy_blobs(&args.data, &bucket, &prefix).await?,
            None => (0, 0),
        };
        let copied = copy_sqlite_to_postgres(&source, &target).await?;
        for (table, on_sqlite, on_postgres) in &copied.tables {
            if on_sqlite != on_postgres {
                bail!("table {table}: {on_sqlite} rows on SQLite, {on_postgres} on PostgreSQL");
            }
        }
        let after = verify_store(&target, &key)
            .await
            .context("reading the journal on PostgreSQL")?
            .map_err(|report| anyhow::anyhow!("the copied journal fails verification: {report}"))?;
        if after != before {
            bail!("the journal on PostgreSQL ({after:?}) is not the one on SQLite ({before:?})");
        }
        let migrated = Migrated {
            blobs_copied,
            blobs_present,
            tables: copied
                .tables
                .iter()
                .map(|(table, rows, _)| TableCount { table, rows: *rows })
                .collect(),
            ledger_entries: after.entries,
            ledger_head: after.head_hash.to_hex(),
        };
        if args.json {
            println!("{}", serde_json::to_string(&migrated)?);
        } else {
            for table in &migrated.tables {
                println!("{:<16} {:>10} rows", table.table, table.rows);
            }
            println!(
                "ledger: {} entries, head {} — verified on PostgreSQL",
                migrated.ledger_entries, migrated.ledger_head
            );
            if args.blobs.is_some() {
                println!(
                    "blobs: {} copied, {} already in the bucket",
                    migrated.blobs_copied, migrated.blobs_present
                );
            }
        }
        anyhow::Ok(())
    })
}

/// Copies every blob of the data directory into the bucket; answers (copied, already there).
async fn copy_blobs(data: &Path, bucket: &str, prefix: &str) -> Result<(u64, u64)> {
    let limits = BlobLimits::default();
    let local = FsBlobStore::open(data.join(BLOBS_DIR), limits)
        .await
        .context("opening the data directory's blobs")?;
    let remote = open_s3(bucket, prefix, limits)
        .await
        .with_context(|| format!("opening s3://{bucket}/{prefix}"))?;
    let (mut copied, mut present) = (0, 0);
    for (hash, file) in local.stored()? {
        let was_copied = remote
            .import_file(&hash, &file)
            .await
            .with_context(|| format!("copying blob {hash}"))?;
        if was_copied {
            copied += 1;
        } else {
            present += 1;
        }
    }
    Ok((copied, present))
}
