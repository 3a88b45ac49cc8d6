//! Verification of a journal: every entry's hash and link, every seal's head and signature.

use super::codec::{self, ENTRY_BODY_LEN};
use super::journal::{self, Digest, Journal};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

/// What [`verify`] found on an intact journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Seals checked.
    pub seals: u64,
    /// The chain head ([`Digest::ZERO`] for an empty journal).
    pub head_hash: Digest,
    /// The seq of the last entry covered by a valid seal, if any.
    pub sealed_upto: Option<u64>,
    /// Entries after the last seal (always 0 under [`TailPolicy::RequireSealed`]).
    pub unsealed: u64,
}

/// Why [`verify`] rejected a journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum TamperReason {
    /// The entry at this position carries another seq.
    #[error("seq gap: expected this seq, the entry says {found}")]
    SeqGap {
        /// The seq the entry carries.
        found: u64,
    },
    /// The entry's `prev_hash` is not the previous entry's hash.
    #[error("broken link: prev_hash is not the previous entry's hash")]
    BrokenLink,
    /// The entry's stored hash is not the hash of its contents.
    #[error("hash mismatch: the stored hash is not the hash of the entry")]
    HashMismatch,
    /// A seal covers entries that do not exist.
    #[error("seal #{seal} claims to cover up to seq {upto_seq}, beyond the journal's end")]
    SealOutOfRange {
        /// Index of the seal.
        seal: u64,
        /// The seq it claims to cover up to.
        upto_seq: u64,
    },
    /// A seal does not cover more than the seal before it.
    #[error("seal #{seal} (up to seq {upto_seq}) does not extend the previous seal")]
    SealOutOfOrder {
        /// Index of the seal.
        seal: u64,
        /// The seq it claims to cover up to.
        upto_seq: u64,
    },
    /// A seal's head hash is not the hash of the entry it claims to cover up to.
    #[error("seal #{seal}: head hash differs from the hash of the entry it covers up to")]
    SealHeadMismatch {
        /// Index of the seal.
        seal: u64,
    },
    /// A seal's signature does not verify under the network key.
    #[error("seal #{seal}: bad signature")]
    BadSealSignature {
        /// Index of the seal.
        seal: u64,
    },
    /// Entries after the last seal (refused under [`TailPolicy::RequireSealed`]).
    #[error("{unsealed} entries are not covered by any seal")]
    UnsealedTail {
        /// How many.
        unsealed: u64,
    },
}

/// The first bad entry of a journal: its seq and why.
///
/// For an entry fault (seq gap, broken link, hash mismatch) `seq` is that entry. For a seal fault,
/// `seq` is the first entry the faulty seal was supposed to authenticate (the entry after the previous
/// seal's `upto_seq`); for an unsealed tail, the first unsealed entry. When both kinds of fault exist
/// the smaller `seq` is reported (the entry fault on a tie).
///
/// Note that a chain fault at entry `k` also withdraws trust from the entries of the same seal range
/// before `k` (nothing signed binds them any more): everything after `authenticated_upto` is
/// untrusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("journal rejected at entry {seq}: {reason}")]
pub struct TamperReport {
    /// The first untrusted entry's `seq` (for a seal fault, the first entry that seal covers).
    pub seq: u64,
    /// What is wrong at that entry (or with the seal meant to cover it).
    pub reason: TamperReason,
    /// The last entry still authenticated: covered by a valid seal, over an intact chain, before the
    /// fault. `None` when no entry is.
    pub authenticated_upto: Option<u64>,
}

/// Whether entries after the last seal are acceptable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TailPolicy {
    /// Every entry must be covered by a seal: unsealed entries are not authenticated by anyone, so a
    /// journal received from elsewhere with an unsealed tail is rejected ([`TamperReason::UnsealedTail`]).
    #[default]
    RequireSealed,
    /// Accept an unsealed tail (hash-chained but not yet signed), e.g. a live journal between commits;
    /// [`VerifyReport::unsealed`] says how many entries it has.
    AllowUnsealed,
}

/// Verifies a journal under [`TailPolicy::RequireSealed`]: see [`verify_with`].
pub fn verify(journal: &Journal, key: &VerifyingKey) -> Result<VerifyReport, TamperReport> {
    verify_with(journal, key, TailPolicy::RequireSealed)
}

/// Verifies a journal: each entry's seq (no gaps), link (`prev_hash`) and hash, then each seal's order,
/// head hash and ed25519 signature, and reports the *first* entry that cannot be trusted.
///
/// Cost: one keyed BLAKE3 of 84 bytes per entry (allocation-free) plus one ed25519 verification per
/// seal; seals whose range starts after an already-found entry fault are not checked.
pub fn verify_with(
    journal: &Journal,
    key: &VerifyingKey,
    policy: TailPolicy,
) -> Result<VerifyReport, TamperReport> {
    let entries = journal.entries();
    let seals = journal.seals();
    let total = entries.len() as u64;

    let mut fault: Option<TamperReport> = None;
    let mut prev = Digest::ZERO;
    let mut body = [0u8; ENTRY_BODY_LEN];
    for (index, entry) in (0u64..).zip(entries) {
        let reason = if entry.seq != index {
            Some(TamperReason::SeqGap { found: entry.seq })
        } else if entry.prev_hash != prev {
            Some(TamperReason::BrokenLink)
        } else {
            codec::encode_entry_body(entry.seq, &entry.prev_hash, &entry.posting, &mut body);
            (journal::hash_body(&body) != entry.hash).then_some(TamperReason::HashMismatch)
        };
        if let Some(reason) = reason {
            fault = Some(TamperReport {
                seq: index,
                reason,
                authenticated_upto: None,
            });
            break;
        }
        prev = entry.hash;
    }
    let intact_below = fault.map_or(total, |report| report.seq);

    let mut first_covered = 0u64;
    let mut sealed_upto = None;
    let mut authenticated = None;
    for (index, seal) in (0u64..).zip(seals) {
        if first_covered >= intact_below && fault.is_some() {
            break;
        }
        let at = |reason| {
            Some(TamperReport {
                seq: first_covered,
                reason,
                authenticated_upto: None,
            })
        };
        let seal_fault = if seal.upto_seq < first_covered {
            at(TamperReason::SealOutOfOrder {
                seal: index,
                upto_seq: seal.upto_seq,
            })
        } else if seal.upto_seq >= total {
            at(TamperReason::SealOutOfRange {
                seal: index,
                upto_seq: seal.upto_seq,
            })
        } else if usize::try_from(seal.upto_seq)
            .ok()
            .and_then(|upto| entries.get(upto))
            .is_none_or(|entry| entry.hash != seal.head_hash)
        {
            at(TamperReason::SealHeadMismatch { seal: index })
        } else if !seal.verify_signature(key) {
            at(TamperReason::BadSealSignature { seal: index })
        } else {
            None
        };
        if seal_fault.is_some() {
            fault = match (fault, seal_fault) {
                (Some(entry_fault), Some(seal_fault)) if entry_fault.seq <= seal_fault.seq => {
                    Some(entry_fault)
                }
                (_, seal_fault) => seal_fault,
            };
            break;
        }
        sealed_upto = Some(seal.upto_seq);
        if seal.upto_seq < intact_below {
            authenticated = Some(seal.upto_seq);
        }
        first_covered = seal.upto_seq + 1;
    }
    if let Some(mut report) = fault {
        report.authenticated_upto = authenticated.filter(|upto| *upto < report.seq);
        return Err(report);
    }

    let covered = sealed_upto.map_or(0, |upto| upto + 1);
    let unsealed = total - covered;
    if unsealed > 0 && policy == TailPolicy::RequireSealed {
        return Err(TamperReport {
            seq: covered,
            reason: TamperReason::UnsealedTail { unsealed },
            authenticated_upto: sealed_upto,
        });
    }
    Ok(VerifyReport {
        entries: total,
        seals: seals.len() as u64,
        head_hash: journal.head_hash(),
        sealed_upto,
        unsealed,
    })
}
