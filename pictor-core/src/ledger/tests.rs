//! Unit tests of the ledger model.

use super::*;
use crate::{AccountId, Error, JobId, Money};

fn m(micros: u64) -> Money {
    Money::from_micros(micros)
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

const CREATOR: Account = Account::Creator(AccountId(1));
const ESCROW: Account = Account::Escrow(JobId(10));
const WORKER: Account = Account::Worker(AccountId(2));
const CHECKER: Account = Account::Checker(AccountId(3));

fn funded(amount: u64) -> Ledger {
    let mut ledger = Ledger::new();
    ledger
        .deposit(TransferId(1), AccountId(1), m(amount))
        .expect("deposit");
    ledger
}

fn is_ledger_error(result: &crate::Result<Transfer>, needle: &str) -> bool {
    matches!(result, Err(Error::Ledger { reason }) if reason.contains(needle))
}

#[test]
fn insufficient_funds_is_refused_and_changes_nothing() {
    let mut ledger = funded(100);
    let before = ledger.clone();
    let result = ledger.create_pending(TransferId(2), CREATOR, ESCROW, m(150));
    assert!(is_ledger_error(&result, "insufficient funds"), "{result:?}");
    assert_eq!(ledger, before);
    let result = ledger.transfer(TransferId(3), CREATOR, WORKER, m(101));
    assert!(is_ledger_error(&result, "insufficient funds"), "{result:?}");
    assert_eq!(ledger, before);
    // The refused id is not consumed.
    ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(100))
        .expect("now affordable");
}

#[test]
fn identical_retries_are_idempotent() {
    let mut ledger = funded(100);
    let first = ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(60))
        .expect("hold");
    let after_first = ledger.clone();
    let again = ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(60))
        .expect("retry");
    assert_eq!(first, again);
    assert_eq!(ledger, after_first);
    let deposit = ledger
        .deposit(TransferId(1), AccountId(1), m(100))
        .expect("deposit retry");
    assert_eq!(deposit.status, TransferStatus::Posted);
    assert_eq!(ledger, after_first);
    assert_eq!(ledger.journal().len(), 2);
    // A retry after resolution still answers with the (resolved) transfer and moves nothing.
    ledger.void_pending(TransferId(2)).expect("void");
    let resolved = ledger.clone();
    let retry = ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(60))
        .expect("retry after void");
    assert_eq!(retry.status, TransferStatus::PendingVoided);
    assert_eq!(ledger, resolved);
}

#[test]
fn conflicting_reuse_of_an_id_is_refused() {
    let mut ledger = funded(100);
    let before = ledger.clone();
    for result in [
        ledger.deposit(TransferId(1), AccountId(1), m(200)),
        ledger.deposit(TransferId(1), AccountId(9), m(100)),
        ledger.transfer(TransferId(1), Account::External, CREATOR, m(100)),
        ledger.create_pending(TransferId(1), CREATOR, ESCROW, m(100)),
    ] {
        assert!(is_ledger_error(&result, "already used"), "{result:?}");
    }
    assert_eq!(ledger, before);
}

#[test]
fn money_overflow_is_an_error_that_changes_nothing() {
    let mut ledger = Ledger::new();
    ledger
        .deposit(TransferId(1), AccountId(1), Money::MAX)
        .expect("max deposit");
    let before = ledger.clone();
    let result = ledger.deposit(TransferId(2), AccountId(1), m(1));
    assert!(
        matches!(result, Err(Error::MoneyOutOfRange { .. })),
        "{result:?}"
    );
    assert_eq!(ledger, before);
    // Another creator may still receive money: only bounded balances are capped, not the total.
    ledger
        .deposit(TransferId(3), AccountId(2), Money::MAX)
        .expect("second creator");
    assert_eq!(ledger.balance(Account::External), -2 * i128::from(u64::MAX));
    assert_eq!(ledger.trial_balance(), 0);
    ledger
        .create_pending(TransferId(4), CREATOR, ESCROW, Money::MAX)
        .expect("hold everything");
    let before = ledger.clone();
    let result = ledger.post_pending(TransferId(4), &[(WORKER, Money::MAX), (CHECKER, m(1))]);
    assert!(
        matches!(result, Err(Error::MoneyOutOfRange { .. })),
        "{result:?}"
    );
    assert_eq!(ledger, before);
}

#[test]
fn partial_post_splits_and_releases_the_rest() {
    let mut ledger = funded(1_000);
    ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(600))
        .expect("hold");
    assert_eq!(ledger.escrow_total(), 600);
    assert_eq!(ledger.open_pending_total(), 600);
    let posted = ledger
        .post_pending(
            TransferId(2),
            &[
                (WORKER, m(400)),
                (CHECKER, m(50)),
                (Account::NetworkFees, m(30)),
            ],
        )
        .expect("post");
    assert_eq!(
        posted.status,
        TransferStatus::PendingPosted {
            settled: m(480),
            released: m(120)
        }
    );
    assert_eq!(ledger.balance(CREATOR), 520);
    assert_eq!(ledger.balance(WORKER), 400);
    assert_eq!(ledger.balance(CHECKER), 50);
    assert_eq!(ledger.balance(Account::NetworkFees), 30);
    assert_eq!(ledger.balance(ESCROW), 0);
    assert_eq!(ledger.escrow_total(), 0);
    let kinds: Vec<PostingKind> = ledger
        .journal()
        .entries()
        .iter()
        .map(|e| e.posting.kind)
        .collect();
    use PostingKind::*;
    assert_eq!(kinds, [Deposit, Hold, Settle, Settle, Settle, Release]);
    ledger.check_invariants().expect("invariants");
}

#[test]
fn a_pending_resolves_exactly_once() {
    let mut ledger = funded(100);
    ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(80))
        .expect("hold");
    ledger.void_pending(TransferId(2)).expect("void");
    assert_eq!(ledger.balance(CREATOR), 100);
    let before = ledger.clone();
    assert!(is_ledger_error(
        &ledger.void_pending(TransferId(2)),
        "already voided"
    ));
    assert!(is_ledger_error(
        &ledger.post_pending(TransferId(2), &[(WORKER, m(1))]),
        "already voided"
    ));
    ledger
        .create_pending(TransferId(3), CREATOR, ESCROW, m(80))
        .expect("hold");
    ledger
        .post_pending(TransferId(3), &[])
        .expect("post nothing");
    assert!(is_ledger_error(
        &ledger.void_pending(TransferId(3)),
        "already posted"
    ));
    assert!(is_ledger_error(
        &ledger.void_pending(TransferId(1)),
        "not a pending"
    ));
    assert!(is_ledger_error(
        &ledger.void_pending(TransferId(99)),
        "no such"
    ));
    assert_eq!(ledger.balance(CREATOR), 100);
    assert_eq!(before.balance(CREATOR), 100);
}

#[test]
fn bad_shapes_are_refused_and_change_nothing() {
    let mut ledger = funded(100);
    ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(50))
        .expect("hold");
    let before = ledger.clone();
    let results = [
        ledger.deposit(TransferId(3), AccountId(1), m(0)),
        ledger.transfer(TransferId(3), CREATOR, ESCROW, m(1)),
        ledger.transfer(TransferId(3), ESCROW, CREATOR, m(1)),
        ledger.transfer(TransferId(3), CREATOR, CREATOR, m(1)),
        ledger.create_pending(TransferId(3), CREATOR, WORKER, m(1)),
        ledger.create_pending(TransferId(3), ESCROW, Account::Escrow(JobId(11)), m(1)),
        ledger.post_pending(TransferId(2), &[(WORKER, m(51))]),
        ledger.post_pending(TransferId(2), &[(WORKER, m(30)), (CHECKER, m(21))]),
        ledger.post_pending(TransferId(2), &[(WORKER, m(0))]),
        ledger.post_pending(TransferId(2), &[(Account::Escrow(JobId(11)), m(1))]),
    ];
    for result in &results {
        assert!(result.is_err(), "{result:?}");
    }
    assert_eq!(ledger, before);
}

#[test]
fn settlement_trait_drives_the_ledger() {
    fn settle_job(backend: &mut impl Settlement) -> crate::Result<Transfer> {
        backend.hold(TransferId(7), CREATOR, JobId(10), m(90))?;
        backend.post(
            TransferId(7),
            &[(WORKER, m(60)), (Account::NetworkFees, m(5))],
        )
    }
    let mut ledger = funded(100);
    let transfer = settle_job(&mut ledger).expect("settled");
    assert_eq!(
        transfer.status,
        TransferStatus::PendingPosted {
            settled: m(65),
            released: m(25)
        }
    );
    assert!(Settlement::void(&mut ledger, TransferId(7)).is_err());
    assert_eq!(ledger.balance(CREATOR), 35);
}

fn sample_ledger() -> Ledger {
    let mut ledger = funded(1_000);
    ledger.seal(&key());
    ledger
        .create_pending(TransferId(2), CREATOR, ESCROW, m(300))
        .expect("hold");
    ledger
        .post_pending(TransferId(2), &[(WORKER, m(200)), (CHECKER, m(10))])
        .expect("post");
    ledger.seal(&key());
    ledger
        .create_pending(TransferId(3), CREATOR, Account::Escrow(JobId(11)), m(100))
        .expect("hold");
    ledger
        .transfer(TransferId(4), WORKER, Account::External, m(150))
        .expect("withdraw");
    ledger.seal(&key());
    ledger
}

#[test]
fn codec_round_trips_and_is_strict() {
    let ledger = sample_ledger();
    let journal = ledger.journal();
    for entry in journal.entries() {
        let bytes = entry.to_bytes();
        assert_eq!(Entry::from_bytes(&bytes).expect("decode"), *entry);
    }
    let bytes = journal.to_bytes();
    assert_eq!(
        bytes.len(),
        17 + 8 + journal.len() * codec::ENTRY_LEN + journal.seals().len() * codec::SEAL_LEN
    );
    let decoded = Journal::from_bytes(&bytes).expect("journal decode");
    assert_eq!(&decoded, journal);
    assert!(Journal::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Journal::from_bytes(&longer).is_err());
    // A singleton account with a non-zero number is not canonical.
    let mut entry = journal.entries()[0].to_bytes();
    assert_eq!(entry[58], AccountKind::External.tag());
    entry[59] = 1;
    assert!(Entry::from_bytes(&entry).is_err());
    entry[59] = 0;
    entry[57] = 200;
    assert!(Entry::from_bytes(&entry).is_err());
}

#[test]
fn serde_round_trips() {
    let ledger = sample_ledger();
    let json = serde_json::to_string(ledger.journal()).expect("json");
    let back: Journal = serde_json::from_str(&json).expect("from json");
    assert_eq!(&back, ledger.journal());
    let transfer = Transfer {
        id: TransferId(u128::MAX),
        kind: TransferKind::Pending,
        debit: CREATOR,
        credit: ESCROW,
        amount: m(5),
        status: TransferStatus::PendingPosted {
            settled: m(3),
            released: m(2),
        },
    };
    let json = serde_json::to_string(&transfer).expect("json");
    assert_eq!(
        serde_json::from_str::<Transfer>(&json).expect("back"),
        transfer
    );
}

#[test]
fn verify_accepts_a_sealed_journal_and_reports_faults() {
    let ledger = sample_ledger();
    let public = key().verifying_key();
    let report = verify(ledger.journal(), &public).expect("intact");
    assert_eq!(report.entries, ledger.journal().len() as u64);
    assert_eq!(report.seals, 3);
    assert_eq!(report.unsealed, 0);
    assert_eq!(report.head_hash, ledger.journal().head_hash());

    let other = SigningKey::from_bytes(&[1; 32]).verifying_key();
    let err = verify(ledger.journal(), &other).expect_err("wrong key");
    assert_eq!(err.seq, 0);
    assert_eq!(err.reason, TamperReason::BadSealSignature { seal: 0 });

    let mut live = ledger.clone();
    live.deposit(TransferId(5), AccountId(1), m(1))
        .expect("deposit");
    let err = verify(live.journal(), &public).expect_err("unsealed");
    assert_eq!(err.seq, ledger.journal().len() as u64);
    assert_eq!(err.reason, TamperReason::UnsealedTail { unsealed: 1 });
    let report = verify_with(live.journal(), &public, TailPolicy::AllowUnsealed).expect("lenient");
    assert_eq!(report.unsealed, 1);
    assert!(live.seal(&key()).is_some());
    assert!(live.seal(&key()).is_none());
    verify(live.journal(), &public).expect("sealed again");

    // Dropping an entry: the seal over its range no longer matches (reported at the range's start,
    // 1, before the seq gap at 3).
    let (mut entries, seals) = ledger.journal().clone().into_parts();
    entries.remove(3);
    let err = verify(&Journal::from_parts(entries.clone(), seals), &public).expect_err("gap");
    assert_eq!(err.seq, 1);
    assert_eq!(err.reason, TamperReason::SealHeadMismatch { seal: 1 });
    assert_eq!(err.authenticated_upto, Some(0));
    let err = verify(&Journal::from_parts(entries, Vec::new()), &public).expect_err("gap");
    assert_eq!(err.seq, 3);
    assert_eq!(err.reason, TamperReason::SeqGap { found: 4 });
    assert_eq!(err.authenticated_upto, None);

    let empty = verify(&Journal::new(), &public).expect("empty is fine");
    assert_eq!(empty.sealed_upto, None);
}

#[test]
fn replay_equals_live_and_rejects_bad_journals() {
    let ledger = sample_ledger();
    let replayed = Ledger::from_journal(ledger.journal().clone()).expect("replay");
    assert_eq!(replayed, ledger);
    replayed.check_invariants().expect("invariants");

    let entries = ledger.journal().entries();
    // Truncated in the middle of a settlement (after the first Settle).
    let err = Ledger::replay(&entries[..3]).expect_err("truncated");
    assert!(
        matches!(err, Error::Ledger { ref reason } if reason.contains("ends inside")),
        "{err:?}"
    );
    // A forged but correctly chained posting is refused by the replay rules.
    let mut forged = Journal::new();
    forged.append(Posting {
        transfer: TransferId(1),
        kind: PostingKind::Direct,
        debit: CREATOR,
        credit: WORKER,
        amount: m(1),
    });
    assert!(Ledger::replay(forged.entries()).is_err());
}

#[test]
fn synthetic_journal_is_valid_sealed_and_replayable() {
    let key = key();
    for (entries, every) in [(0, 0), (1, 0), (2, 1), (7, 3), (103, 10), (1_000, 64)] {
        let journal = synthetic_journal(entries, every, &key);
        assert_eq!(journal.len(), entries);
        let report = verify(&journal, &key.verifying_key()).expect("valid");
        assert_eq!(report.unsealed, 0);
        let ledger = Ledger::replay(journal.entries()).expect("replays");
        ledger.check_invariants().expect("invariants");
    }
}

#[test]
fn a_second_writer_s_entries_and_seals_catch_a_ledger_up_to_the_same_state() {
    // Two coordinators on one journal: B starts from what A committed, A catches up with B's.
    let mut a = funded(1_000);
    a.seal(&key());
    let mut b = Ledger::from_journal(a.journal().clone()).expect("rebuild");
    b.create_pending(TransferId(2), CREATOR, ESCROW, m(300))
        .expect("hold");
    b.post_pending(TransferId(2), &[(WORKER, m(200))])
        .expect("settle");
    b.seal(&key());
    let mark = a.journal().len();
    let sealed = a.journal().seals().len();
    a.catch_up(
        &b.journal().entries()[mark..],
        &b.journal().seals()[sealed..],
    )
    .expect("catch up");
    assert_eq!(a, b);
    assert!(verify(a.journal(), &key().verifying_key()).is_ok());

    // An entry that does not continue the chain, or a seal that does not extend it, is refused.
    let mut stale = funded(1_000);
    let mut other = funded(5);
    other
        .transfer(TransferId(9), CREATOR, WORKER, m(1))
        .expect("direct");
    assert!(
        stale
            .catch_up(&other.journal().entries()[1..], &[])
            .is_err()
    );
    let mut behind = Ledger::from_journal(b.journal().clone()).expect("rebuild");
    let old_seal = b.journal().seals()[0];
    assert!(behind.catch_up(&[], &[old_seal]).is_err());
}

#[test]
fn a_jobs_money_trail_lists_its_escrow_entries_live_and_replayed() {
    let ledger = sample_ledger();
    let kinds = |ledger: &Ledger, job: u64| {
        ledger
            .job_entries(JobId(job))
            .iter()
            .map(|entry| {
                (
                    entry.posting.kind,
                    entry.posting.credit,
                    entry.posting.amount,
                )
            })
            .collect::<Vec<_>>()
    };
    // Job 10: its hold, the worker's and the checker's pay, the rest back to the creator.
    assert_eq!(
        kinds(&ledger, 10),
        vec![
            (PostingKind::Hold, ESCROW, m(300)),
            (PostingKind::Settle, WORKER, m(200)),
            (PostingKind::Settle, CHECKER, m(10)),
            (PostingKind::Release, CREATOR, m(90)),
        ]
    );
    assert_eq!(kinds(&ledger, 11).len(), 1);
    assert!(kinds(&ledger, 12).is_empty());
    // A replayed ledger (another replica, a restart) has the same trail.
    let replayed = Ledger::from_journal(ledger.journal().clone()).expect("replay");
    assert_eq!(kinds(&replayed, 10), kinds(&ledger, 10));
}

#[test]
fn an_accounts_statement_lists_every_entry_it_is_in_and_sums_to_its_balance() {
    let ledger = sample_ledger();
    let signed = |ledger: &Ledger, account: Account| {
        ledger
            .account_entries(account)
            .iter()
            .map(|entry| {
                let amount = i128::from(entry.posting.amount.micros());
                if entry.posting.credit == account {
                    amount
                } else {
                    -amount
                }
            })
            .collect::<Vec<i128>>()
    };
    // The worker: paid 200 by job 10, then withdrew 150.
    assert_eq!(signed(&ledger, WORKER), vec![200, -150]);
    // The checker: one fee.
    assert_eq!(signed(&ledger, CHECKER), vec![10]);
    for account in [CREATOR, WORKER, CHECKER] {
        let sum: i128 = signed(&ledger, account).iter().sum();
        assert_eq!(sum, ledger.balance(account), "{account}");
    }
    // The escrow, external and fee accounts are not indexed here.
    assert!(ledger.account_entries(ESCROW).is_empty());
    assert!(ledger.account_entries(Account::External).is_empty());
    let replayed = Ledger::from_journal(ledger.journal().clone()).expect("replay");
    assert_eq!(signed(&replayed, WORKER), signed(&ledger, WORKER));
    assert_eq!(signed(&replayed, CREATOR), signed(&ledger, CREATOR));
}
