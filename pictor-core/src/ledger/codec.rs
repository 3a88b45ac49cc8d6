//! The canonical binary encoding of journal entries, seals and whole journals.
//!
//! This encoding — not serde — is what gets hashed and signed, so it is fixed byte for byte:
//! all integers are little-endian, every field has a fixed width, enum values are one-byte tags, and
//! decoding is strict (unknown tags, a non-zero number on a singleton account or trailing bytes are
//! errors), so every value has exactly one encoding and `encode(decode(b)) == b` for every accepted `b`.
//!
//! Entry (`ENTRY_LEN` = 116 bytes; the first `ENTRY_BODY_LEN` = 84 bytes are hashed):
//!
//! | offset | width | field                                      |
//! |-------:|------:|--------------------------------------------|
//! | 0      | 1     | format version, `1`                        |
//! | 1      | 8     | `seq` (u64)                                |
//! | 9      | 32    | `prev_hash`                                |
//! | 41     | 16    | posting `transfer` id (u128)               |
//! | 57     | 1     | posting kind tag                           |
//! | 58     | 1     | debit account kind tag                     |
//! | 59     | 8     | debit account number (u64)                 |
//! | 67     | 1     | credit account kind tag                    |
//! | 68     | 8     | credit account number (u64)                |
//! | 76     | 8     | amount in micro-credits (u64)              |
//! | 84     | 32    | `hash` = keyed BLAKE3 of bytes `0..84`     |
//!
//! Seal (`SEAL_LEN` = 104 bytes): `upto_seq` (u64), `head_hash` (32), ed25519 signature (64).
//!
//! Journal: magic `PICTORLJ`, version byte `1`, entry count (u64), the entries, seal count (u64), the
//! seals. Entries have no variable-length fields; the only variable-length parts of the format are the
//! two count-prefixed arrays.

use super::account::{Account, AccountKind};
use super::journal::{Digest, Entry, Journal};
use super::signing::{Seal, SealSignature};
use super::transfer::{Posting, PostingKind, TransferId};
use crate::{Error, Money, Result};

/// The format version written in every entry and journal.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the hashed part of an encoded entry.
pub const ENTRY_BODY_LEN: usize = 84;
/// Length of an encoded entry (hashed body plus its own hash).
pub const ENTRY_LEN: usize = ENTRY_BODY_LEN + 32;
/// Length of an encoded seal.
pub const SEAL_LEN: usize = 8 + 32 + 64;
/// The magic bytes opening an encoded journal.
pub const JOURNAL_MAGIC: [u8; 8] = *b"PICTORLJ";

fn decode_error(reason: impl Into<String>) -> Error {
    Error::Ledger {
        reason: format!("decode: {}", reason.into()),
    }
}

/// Writes the hashed body of an entry with the given `seq`, `prev_hash` and `posting` into `out`.
/// Allocation-free; this is the hot path of hashing and verification.
pub fn encode_entry_body(
    seq: u64,
    prev_hash: &Digest,
    posting: &Posting,
    out: &mut [u8; ENTRY_BODY_LEN],
) {
    out[0] = FORMAT_VERSION;
    out[1..9].copy_from_slice(&seq.to_le_bytes());
    out[9..41].copy_from_slice(&prev_hash.0);
    out[41..57].copy_from_slice(&posting.transfer.0.to_le_bytes());
    out[57] = posting.kind.tag();
    out[58] = posting.debit.kind().tag();
    out[59..67].copy_from_slice(&posting.debit.number().to_le_bytes());
    out[67] = posting.credit.kind().tag();
    out[68..76].copy_from_slice(&posting.credit.number().to_le_bytes());
    out[76..84].copy_from_slice(&posting.amount.micros().to_le_bytes());
}

/// The full canonical encoding of an entry (body followed by the stored hash).
pub fn encode_entry(entry: &Entry) -> [u8; ENTRY_LEN] {
    let mut body = [0u8; ENTRY_BODY_LEN];
    encode_entry_body(entry.seq, &entry.prev_hash, &entry.posting, &mut body);
    let mut out = [0u8; ENTRY_LEN];
    out[..ENTRY_BODY_LEN].copy_from_slice(&body);
    out[ENTRY_BODY_LEN..].copy_from_slice(&entry.hash.0);
    out
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(raw)
}

fn digest_at(bytes: &[u8], at: usize) -> Digest {
    let mut raw = [0u8; 32];
    raw.copy_from_slice(&bytes[at..at + 32]);
    Digest(raw)
}

fn account_at(bytes: &[u8], at: usize, field: &str) -> Result<Account> {
    let tag = bytes[at];
    let kind = AccountKind::from_tag(tag)
        .ok_or_else(|| decode_error(format!("{field}: unknown account kind tag {tag}")))?;
    let number = u64_at(bytes, at + 1);
    Account::from_parts(kind, number).ok_or_else(|| {
        decode_error(format!(
            "{field}: {kind:?} must have number 0, got {number}"
        ))
    })
}

/// Decodes one entry from exactly [`ENTRY_LEN`] bytes. The stored hash is *not* checked here
/// (that is [`verify`](super::verify())'s job); the encoding is.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry> {
    if bytes.len() != ENTRY_LEN {
        return Err(decode_error(format!(
            "an entry is {ENTRY_LEN} bytes, got {}",
            bytes.len()
        )));
    }
    if bytes[0] != FORMAT_VERSION {
        return Err(decode_error(format!(
            "unknown entry format version {}",
            bytes[0]
        )));
    }
    let mut transfer = [0u8; 16];
    transfer.copy_from_slice(&bytes[41..57]);
    let kind = PostingKind::from_tag(bytes[57])
        .ok_or_else(|| decode_error(format!("unknown posting kind tag {}", bytes[57])))?;
    Ok(Entry {
        seq: u64_at(bytes, 1),
        prev_hash: digest_at(bytes, 9),
        posting: Posting {
            transfer: TransferId(u128::from_le_bytes(transfer)),
            kind,
            debit: account_at(bytes, 58, "debit")?,
            credit: account_at(bytes, 67, "credit")?,
            amount: Money::from_micros(u64_at(bytes, 76)),
        },
        hash: digest_at(bytes, ENTRY_BODY_LEN),
    })
}

/// The canonical encoding of a seal.
pub fn encode_seal(seal: &Seal) -> [u8; SEAL_LEN] {
    let mut out = [0u8; SEAL_LEN];
    out[0..8].copy_from_slice(&seal.upto_seq.to_le_bytes());
    out[8..40].copy_from_slice(&seal.head_hash.0);
    out[40..104].copy_from_slice(&seal.signature.0);
    out
}

/// Decodes a seal from exactly [`SEAL_LEN`] bytes (the signature is not checked here).
pub fn decode_seal(bytes: &[u8]) -> Result<Seal> {
    if bytes.len() != SEAL_LEN {
        return Err(decode_error(format!(
            "a seal is {SEAL_LEN} bytes, got {}",
            bytes.len()
        )));
    }
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&bytes[40..104]);
    Ok(Seal {
        upto_seq: u64_at(bytes, 0),
        head_hash: digest_at(bytes, 8),
        signature: SealSignature(signature),
    })
}

/// The canonical encoding of a whole journal (entries and seals).
pub fn encode_journal(journal: &Journal) -> Vec<u8> {
    let entries = journal.entries();
    let seals = journal.seals();
    let mut out =
        Vec::with_capacity(8 + 1 + 8 + entries.len() * ENTRY_LEN + 8 + seals.len() * SEAL_LEN);
    out.extend_from_slice(&JOURNAL_MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for entry in entries {
        out.extend_from_slice(&encode_entry(entry));
    }
    out.extend_from_slice(&(seals.len() as u64).to_le_bytes());
    for seal in seals {
        out.extend_from_slice(&encode_seal(seal));
    }
    out
}

/// Decodes a journal written by [`encode_journal`]. Only the encoding is checked; run
/// [`verify`](super::verify()) on the result to check hashes, links and seals.
pub fn decode_journal(bytes: &[u8]) -> Result<Journal> {
    let mut at = 0usize;
    let mut take = |len: usize, what: &str| -> Result<&[u8]> {
        let end = at
            .checked_add(len)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| decode_error(format!("journal truncated in {what}")))?;
        let slice = &bytes[at..end];
        at = end;
        Ok(slice)
    };
    if take(8, "magic")? != JOURNAL_MAGIC {
        return Err(decode_error("not a Pictor journal (bad magic)"));
    }
    let version = take(1, "version")?[0];
    if version != FORMAT_VERSION {
        return Err(decode_error(format!(
            "unknown journal format version {version}"
        )));
    }
    let count = |raw: &[u8], size: usize, remaining: usize| -> Result<usize> {
        let n = usize::try_from(u64_at(raw, 0)).map_err(|_| decode_error("count too large"))?;
        if n.checked_mul(size).is_none_or(|need| need > remaining) {
            return Err(decode_error(format!("count {n} exceeds the data")));
        }
        Ok(n)
    };
    let raw = take(8, "entry count")?;
    let n_entries = count(raw, ENTRY_LEN, bytes.len() - 17)?;
    let mut entries = Vec::with_capacity(n_entries);
    for _ in 0..n_entries {
        entries.push(decode_entry(take(ENTRY_LEN, "entries")?)?);
    }
    let raw = take(8, "seal count")?;
    let consumed = 17 + n_entries * ENTRY_LEN + 8;
    let n_seals = count(raw, SEAL_LEN, bytes.len() - consumed)?;
    let mut seals = Vec::with_capacity(n_seals);
    for _ in 0..n_seals {
        seals.push(decode_seal(take(SEAL_LEN, "seals")?)?);
    }
    if consumed + n_seals * SEAL_LEN != bytes.len() {
        return Err(decode_error("trailing bytes after the last seal"));
    }
    Ok(Journal::from_parts(entries, seals))
}
