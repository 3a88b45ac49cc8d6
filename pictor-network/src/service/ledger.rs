//! The ledger's persistence: the journal is stored entry by entry in its canonical encoding, each
//! commit is sealed with the network key, and at start the journal is verified and replayed.

use super::{Coordinator, ServiceError, ServiceResult};
use crate::store::Store;
use crate::store::prelude::*;
use pictor_core::api::{LedgerEntriesPage, LedgerHead};
use pictor_core::ledger::{
    Entry, Journal, Ledger, Seal, SigningKey, TamperReport, VerifyReport, VerifyingKey, codec,
    verify,
};

/// Journal pages are read from the store this many entries at a time.
const LOAD_PAGE: u32 = 10_000;

/// A page of the journal for `GET /v1/ledger/entries`.
pub type LedgerPage = LedgerEntriesPage;

/// Reads the whole journal (entries and seals) from a store.
pub async fn read_journal<S: Store>(store: &S) -> ServiceResult<Journal> {
    let mut tx = store.begin_read().await?;
    let (entries, seals) = read_journal_after(&mut tx, None, 0).await?;
    Ok(Journal::from_parts(entries, seals))
}

/// The entries with seq > `after` (all when `None`) and the seals with `upto_seq >= seals_from`,
/// decoded, as the transaction `tx` sees them.
async fn read_journal_after<T: StoreTx>(
    tx: &mut T,
    mut after: Option<u64>,
    seals_from: u64,
) -> ServiceResult<(Vec<Entry>, Vec<Seal>)> {
    let mut entries = Vec::new();
    loop {
        let page = tx.ledger_entries(after, LOAD_PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        for (seq, bytes) in &page {
            entries.push(codec::decode_entry(bytes).map_err(|e| {
                ServiceError::internal(&format!("ledger entry {seq} does not decode: {e}"))
            })?);
        }
    }
    let mut seals = Vec::new();
    for (upto, bytes) in tx.ledger_seals(seals_from, u64::MAX >> 1).await? {
        seals.push(codec::decode_seal(&bytes).map_err(|e| {
            ServiceError::internal(&format!("ledger seal at {upto} does not decode: {e}"))
        })?);
    }
    Ok((entries, seals))
}

/// Brings `ledger` up to the journal `tx` sees, when another coordinator sharing the store
/// appended to it: one query (the last seal) when nothing is new, since every committed write
/// that adds entries seals them. The entries must continue `ledger`'s chain and their seals must
/// verify against the network key; if they do not, the whole journal is loaded and verified
/// again. An error leaves `ledger` unusable: the caller must reload it before the next write.
pub(crate) async fn catch_up<T: StoreTx>(
    tx: &mut T,
    ledger: &mut Ledger,
    key: &VerifyingKey,
) -> ServiceResult<()> {
    let ours = ledger.journal().seals().last().map(|seal| seal.upto_seq);
    let stored = tx.last_ledger_seal().await?.map(|(upto, _)| upto);
    if stored == ours {
        return Ok(());
    }
    let after = ledger
        .journal()
        .len()
        .checked_sub(1)
        .map(|last| last as u64);
    let seals_from = ours.map_or(0, |upto| upto + 1);
    let (entries, seals) = read_journal_after(tx, after, seals_from).await?;
    let signed = seals.iter().all(|seal| seal.verify_signature(key));
    if signed && ledger.catch_up(&entries, &seals).is_ok() {
        return Ok(());
    }
    // A refusal may have left `ledger` partly advanced: rebuild it from the whole journal.
    let (entries, seals) = read_journal_after(tx, None, 0).await?;
    *ledger = verified_ledger(Journal::from_parts(entries, seals), key)?;
    Ok(())
}

/// Verifies a stored journal against the network key.
pub async fn verify_store<S: Store>(
    store: &S,
    key: &VerifyingKey,
) -> ServiceResult<Result<VerifyReport, TamperReport>> {
    let journal = read_journal(store).await?;
    Ok(verify(&journal, key))
}

/// Loads, verifies and replays the journal; a tampered journal is an error (the coordinator refuses
/// to start on it).
pub(crate) async fn load<S: Store>(store: &S, key: &VerifyingKey) -> ServiceResult<Ledger> {
    verified_ledger(read_journal(store).await?, key)
}

/// Verifies `journal` against the network key and replays it; a tampered journal is an error.
fn verified_ledger(journal: Journal, key: &VerifyingKey) -> ServiceResult<Ledger> {
    if let Err(report) = verify(&journal, key) {
        return Err(ServiceError::internal(&format!(
            "the stored ledger fails verification: {report}"
        )));
    }
    Ok(Ledger::from_journal(journal)?)
}

/// Seals the entries appended since `mark` and writes them (committed at `now_ms`) and the seal in
/// `tx`.
pub(crate) async fn persist_new<T: StoreTx>(
    tx: &mut T,
    ledger: &mut Ledger,
    mark: usize,
    key: &SigningKey,
    now_ms: u64,
) -> ServiceResult<()> {
    if ledger.journal().len() == mark {
        return Ok(());
    }
    let seal = ledger.seal(key);
    let new: Vec<(u64, Vec<u8>)> = ledger.journal().entries()[mark..]
        .iter()
        .map(|entry| (entry.seq, codec::encode_entry(entry).to_vec()))
        .collect();
    tx.append_ledger_entries(&new, now_ms).await?;
    if let Some(seal) = seal {
        tx.append_ledger_seal(seal.upto_seq, &codec::encode_seal(&seal))
            .await?;
    }
    Ok(())
}

impl<S: Store> Coordinator<S> {
    /// The signed head of the journal (the last seal).
    pub async fn ledger_head(&self) -> ServiceResult<LedgerHead> {
        let mut tx = self.read().await?;
        let public_key_hex = hex::encode(self.key.verifying_key().as_bytes());
        Ok(match tx.last_ledger_seal().await? {
            Some((_, bytes)) => {
                let seal = codec::decode_seal(&bytes)?;
                LedgerHead {
                    seq: seal.upto_seq,
                    hash: seal.head_hash.to_hex(),
                    signature_hex: hex::encode(seal.signature.0),
                    public_key_hex,
                }
            }
            None => LedgerHead {
                seq: 0,
                hash: hex::encode([0u8; 32]),
                signature_hex: String::new(),
                public_key_hex,
            },
        })
    }

    /// Entries with seq > `after` (all when `None`), at most `limit` (1..=10,000), and the seals that
    /// end within them.
    pub async fn ledger_entries(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> ServiceResult<LedgerPage> {
        if !(1..=10_000).contains(&limit) {
            return Err(ServiceError::invalid("limit", "must be 1..=10000"));
        }
        let mut tx = self.read().await?;
        let page = tx.ledger_entries(after, limit).await?;
        let (Some((first, _)), Some((last, _))) = (page.first(), page.last()) else {
            return Ok(LedgerEntriesPage {
                entries: Vec::new(),
                seals: Vec::new(),
                next_after: None,
            });
        };
        let seals = tx.ledger_seals(*first, *last).await?;
        let next_after = (page.len() == limit as usize).then_some(*last);
        Ok(LedgerEntriesPage {
            entries: page.iter().map(|(_, bytes)| hex::encode(bytes)).collect(),
            seals: seals.iter().map(|(_, bytes)| hex::encode(bytes)).collect(),
            next_after,
        })
    }
}
