//! `pictor ledger verify`: recompute the journal's hash chain and check its signed seals, from a data
//! directory (offline, without starting the service) or from a running network.

use super::ExitStatus;
use super::database::Database;
use super::network_args::{build_client, network_url, runtime};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use pictor_core::ledger::codec::{decode_entry, decode_seal};
use pictor_core::ledger::{
    Journal, SigningKey, TailPolicy, TamperReport, VerifyReport, VerifyingKey, verify, verify_with,
};
use pictor_network::server::DATABASE_FILE;
use pictor_network::service::NETWORK_KEY_FILE;
use pictor_network::store::Store;
use pictor_network::store::postgres::PgStore;
use pictor_network::store::prelude::*;
use pictor_network::store::sqlite::SqliteStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The exit status of `pictor ledger verify` on a tampered journal.
pub const EXIT_TAMPERED: u8 = 2;

/// Journal rows read from the database at a time.
const PAGE: u32 = 10_000;

/// `pictor ledger …`.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Verify the journal: every entry's seq, link and hash, every seal's signature; report the
    /// first untrustworthy entry.
    #[command(
        after_help = "Exit status: 0 verified, 2 tampered, 1 any other error (unreadable store, \
                      network down, bad arguments)."
    )]
    Verify(VerifyArgs),
}

/// Arguments of `pictor ledger verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A coordinator's data directory: reads its database (DIR/pictor.db unless `--database`)
    /// and DIR/network.key directly, without starting the service (which refuses to start on a
    /// tampered journal).
    #[arg(long, value_name = "DIR", conflicts_with = "network")]
    data: Option<PathBuf>,
    /// With `--data`: the database holding the journal, as `pictor serve --database` takes it
    /// (`sqlite`, `sqlite:PATH`, `postgres://USER@HOST/DATABASE`).
    #[arg(long, value_name = "URL", default_value = "sqlite", requires = "data")]
    database: String,
    /// A running network: fetches its public journal and checks it against the key of its head
    /// [env: PICTOR_NETWORK].
    #[arg(long, value_name = "URL")]
    network: Option<String>,
    /// Print one JSON object: `{"ok":true,"entries","seals","head"}` or
    /// `{"ok":false,"first_bad_seq","reason"}`.
    #[arg(long)]
    json: bool,
}

/// What `pictor ledger verify --json` prints.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Outcome {
    Verified {
        ok: bool,
        entries: u64,
        seals: u64,
        head: String,
    },
    Tampered {
        ok: bool,
        first_bad_seq: u64,
        reason: String,
        /// The last entry still covered by a valid seal before the fault.
        #[serde(skip_serializing_if = "Option::is_none")]
        authenticated_upto: Option<u64>,
    },
}

impl Outcome {
    fn verified(report: &VerifyReport) -> Self {
        Outcome::Verified {
            ok: true,
            entries: report.entries,
            seals: report.seals,
            head: report.head_hash.to_hex(),
        }
    }

    fn tampered(seq: u64, reason: String, authenticated_upto: Option<u64>) -> Self {
        Outcome::Tampered {
            ok: false,
            first_bad_seq: seq,
            reason,
            authenticated_upto,
        }
    }

    fn from_report(report: &TamperReport) -> Self {
        Outcome::tampered(
            report.seq,
            report.reason.to_string(),
            report.authenticated_upto,
        )
    }
}

/// Runs `pictor ledger …`.
pub fn run(command: LedgerCommand) -> Result<()> {
    match command {
        LedgerCommand::Verify(args) => verify_command(args),
    }
}

fn verify_command(args: VerifyArgs) -> Result<()> {
    let outcome = match (&args.data, &args.network) {
        (Some(dir), _) => {
            let database = Database::parse(&args.database)?;
            runtime()?.block_on(verify_data_dir(dir, database))?
        }
        (None, network) => {
            let endpoint =
                network_url(network.as_deref()).context("give --data DIR or --network URL")?;
            runtime()?.block_on(verify_network(&endpoint))?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
    }
    match outcome {
        Outcome::Verified {
            entries,
            seals,
            head,
            ..
        } => {
            if !args.json {
                println!("ledger verified: {entries} entries, {seals} seals, head {head}");
            }
            Ok(())
        }
        Outcome::Tampered {
            first_bad_seq,
            reason,
            ..
        } => {
            if !args.json {
                println!("ledger TAMPERED: first bad entry is seq {first_bad_seq}: {reason}");
            }
            Err(ExitStatus::new(
                EXIT_TAMPERED,
                format!("the ledger is tampered: first bad entry seq {first_bad_seq}: {reason}"),
            )
            .into())
        }
    }
}

/// Verifies the journal of a data directory, reading the database and the network key directly.
async fn verify_data_dir(dir: &Path, database: Database) -> Result<Outcome> {
    let key = load_public_key(&dir.join(NETWORK_KEY_FILE))?;
    match database {
        Database::Sqlite(file) => {
            let file = file.unwrap_or_else(|| dir.join(DATABASE_FILE));
            if !file.is_file() {
                bail!(
                    "{} does not exist: not a Pictor data directory",
                    file.display()
                );
            }
            let store = SqliteStore::open(&file)
                .await
                .with_context(|| format!("opening {}", file.display()))?;
            verify_stored(&store, &key).await
        }
        Database::Postgres(options) => {
            let store = PgStore::open(*options)
                .await
                .context("opening the PostgreSQL database")?;
            verify_stored(&store, &key).await
        }
    }
}

/// Verifies the journal in `store` against `key`, reporting the first entry or seal that does
/// not even decode as where trust ends.
async fn verify_stored<S: Store>(store: &S, key: &VerifyingKey) -> Result<Outcome> {
    let mut tx = store.begin_read().await.context("reading the database")?;

    // Entries, in seq order; an entry that does not even decode is where trust ends.
    let mut entries = Vec::new();
    let mut undecodable: Option<(u64, String)> = None;
    let mut after = None;
    'pages: loop {
        let page = tx
            .ledger_entries(after, PAGE)
            .await
            .context("reading the journal")?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        for (seq, bytes) in page {
            match decode_entry(&bytes) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    undecodable = Some((seq, format!("the stored entry does not decode: {error}")));
                    break 'pages;
                }
            }
        }
    }
    let mut seals = Vec::new();
    let stored_seals = tx
        .ledger_seals(0, u64::MAX >> 1)
        .await
        .context("reading the journal's seals")?;
    let mut previous_upto: Option<u64> = None;
    for (upto, bytes) in stored_seals {
        match decode_seal(&bytes) {
            Ok(seal) => seals.push(seal),
            Err(error) => {
                // Nothing after the last good seal is authenticated any more.
                let seq = previous_upto.map_or(0, |upto| upto + 1);
                if undecodable.as_ref().is_none_or(|(bad, _)| seq < *bad) {
                    undecodable = Some((
                        seq,
                        format!("the seal up to seq {upto} does not decode: {error}"),
                    ));
                }
                break;
            }
        }
        previous_upto = Some(upto);
    }
    drop(tx);

    let Some((bad_seq, reason)) = undecodable else {
        let journal = Journal::from_parts(entries, seals);
        return Ok(match verify(&journal, key) {
            Ok(report) => Outcome::verified(&report),
            Err(report) => Outcome::from_report(&report),
        });
    };
    // Check what came before the undecodable part: an earlier fault is the first bad entry.
    entries.retain(|entry| entry.seq < bad_seq);
    seals.retain(|seal| seal.upto_seq < bad_seq);
    let prefix = Journal::from_parts(entries, seals);
    Ok(match verify_with(&prefix, key, TailPolicy::AllowUnsealed) {
        Err(report) if report.seq < bad_seq => Outcome::from_report(&report),
        Err(report) => Outcome::tampered(bad_seq, reason, report.authenticated_upto),
        Ok(report) => Outcome::tampered(bad_seq, reason, report.sealed_upto),
    })
}

/// The network's public key from its private key file (64 hex digits of the ed25519 seed).
pub(super) fn load_public_key(path: &Path) -> Result<VerifyingKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| anyhow::anyhow!("{} is not 64 hex digits", path.display()))?;
    Ok(SigningKey::from_bytes(&seed).verifying_key())
}

/// Verifies a running network's public journal against the public key of its signed head.
async fn verify_network(endpoint: &str) -> Result<Outcome> {
    let client = build_client(endpoint, None)?;
    let head = client
        .ledger()
        .head()
        .await
        .context("fetching the ledger head")?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(head.public_key_hex.trim(), &mut key)
        .map_err(|_| anyhow::anyhow!("the network's public key is not 64 hex digits"))?;
    let key = VerifyingKey::from_bytes(&key).context("the network's public key")?;
    let journal = client
        .ledger()
        .fetch_journal()
        .await
        .context("fetching the journal")?;
    Ok(match verify(&journal, &key) {
        Ok(report) => Outcome::verified(&report),
        Err(report) => Outcome::from_report(&report),
    })
}
