//! The ledger model: double-entry accounts, two-phase (pending → post/void) transfers, and a
//! hash-chained, signed journal. Pure: no I/O.
//!
//! # Accounts and transfers
//!
//! Money lives in [`Account`]s of a few [`AccountKind`]s: creator balances, job escrows, worker and
//! checker earnings, network fees, and one [`Account::External`] that deposits come from. Every
//! posting debits one account and credits another by the same [`Money`](crate::Money) amount, so the
//! [trial balance](Ledger::trial_balance) is always exactly zero (balances are `i128` credit balances;
//! no floats anywhere).
//!
//! Job payment is two-phase, in the style of TigerBeetle: [`Ledger::create_pending`] moves the amount
//! into the job's escrow; [`Ledger::post_pending`] later pays it out — possibly only partly, split
//! between worker price, checker fee and network fee — and returns the remainder to the payer, or
//! [`Ledger::void_pending`] returns all of it. A pending transfer resolves exactly once. Transfer ids
//! are idempotency keys: an identical re-submission returns the existing transfer, a conflicting one is
//! an error. Every failed operation changes nothing. The [`Settlement`] trait abstracts hold / post /
//! void so an on-chain backend can replace the local journal.
//!
//! # Journal and seals
//!
//! Every applied operation appends [`Entry`]s to the [`Journal`]; each entry holds its `seq`, the
//! previous entry's hash (`prev_hash`, zero for the genesis entry), its [`Posting`], and its own hash:
//! keyed BLAKE3 of its canonical, fixed-width little-endian encoding ([`codec`]; not serde, so the
//! bytes are stable across versions of serde and of this crate).
//!
//! **Why seals instead of signed entries.** Verifying a million entries must take well under a second
//! on one core, and one ed25519 verification costs ~40 µs, so signing each entry (40 s per million)
//! is out. Following Certificate Transparency / Trillian signed tree heads, the network key instead
//! signs a [`Seal`] — `(upto_seq, head_hash)` — each time a batch of entries is committed
//! ([`Journal::seal`] / [`Ledger::seal`], like closing a block). Because every entry hash covers the
//! previous entry's hash, one signature authenticates the whole prefix up to `upto_seq`. Verification
//! ([`verify`]) therefore recomputes one small BLAKE3 hash per entry (~0.1 µs, allocation-free) and
//! checks one signature per seal. A hash chain rather than a Merkle tree keeps appends and the format
//! trivial; the price is that proving one entry needs the whole prefix, which is fine for a journal
//! that is always verified from genesis.
//!
//! [`verify`] reports the **first** entry that cannot be trusted ([`TamperReport`]): a seq gap, a broken
//! link or a hash mismatch at that entry; for a bad seal (out of order, out of range, wrong head, bad
//! signature) the first entry that seal was meant to authenticate. Entries after the last seal are
//! hash-chained but signed by no one, so by default ([`TailPolicy::RequireSealed`]) an unsealed tail is
//! an error too; [`TailPolicy::AllowUnsealed`] accepts it (a live journal between commits) and reports
//! its length.
//!
//! The ledger's state is a function of its journal: [`Ledger::replay`] rebuilds it, and the rebuilt
//! balances and transfers equal the live ones.
//!
//! ```
//! use pictor_core::ledger::{verify, Account, Ledger, TransferId};
//! use pictor_core::{AccountId, JobId, Money};
//! use pictor_core::ledger::SigningKey;
//!
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let mut ledger = Ledger::new();
//! let creator = AccountId(1);
//! ledger.deposit(TransferId(1), creator, Money::from_micros(1_000))?;
//! ledger.create_pending(TransferId(2), Account::Creator(creator), Account::Escrow(JobId(9)), Money::from_micros(600))?;
//! ledger.post_pending(TransferId(2), &[
//!     (Account::Worker(AccountId(5)), Money::from_micros(400)),
//!     (Account::Checker(AccountId(6)), Money::from_micros(50)),
//!     (Account::NetworkFees, Money::from_micros(30)),
//! ])?;
//! assert_eq!(ledger.balance(Account::Creator(creator)), 1_000 - 480);
//! assert!(ledger.post_pending(TransferId(2), &[]).is_err()); // resolves once
//! assert_eq!(ledger.trial_balance(), 0);
//! ledger.seal(&key);
//! assert!(verify(ledger.journal(), &key.verifying_key()).is_ok());
//! let replayed = Ledger::replay(ledger.journal().entries())?;
//! assert!(replayed.accounts().eq(ledger.accounts()));
//! # Ok::<(), pictor_core::Error>(())
//! ```

mod account;
pub mod codec;
mod fixture;
mod journal;
mod settlement;
mod signing;
mod state;
mod transfer;
mod verify;

#[cfg(test)]
mod tests;

/// The ed25519 key types seals are signed and verified with (re-exported from `ed25519-dalek`).
pub use ed25519_dalek::{SigningKey, VerifyingKey};

pub use account::{Account, AccountKind};
pub use fixture::synthetic_journal;
pub use journal::{Digest, Entry, Journal, entry_hash};
pub use settlement::Settlement;
pub use signing::{SEAL_DOMAIN, SEAL_MESSAGE_LEN, Seal, SealSignature};
pub use state::Ledger;
pub use transfer::{Posting, PostingKind, Transfer, TransferId, TransferKind, TransferStatus};
pub use verify::{TailPolicy, TamperReason, TamperReport, VerifyReport, verify, verify_with};
