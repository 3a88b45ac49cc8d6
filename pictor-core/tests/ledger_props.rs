//! Property tests of the ledger model: invariants under random operations, exactly-once resolution,
//! tamper detection and replay.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::ledger::{
    Account, Entry, Journal, Ledger, Seal, SigningKey, TransferId, TransferStatus, verify,
};
use pictor_core::{AccountId, JobId, Money};
use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Clone, Debug)]
enum Op {
    Deposit(u8, u8, u64),
    Transfer(u8, Account, Account, u64),
    Hold(u8, Account, u8, u64),
    Post(u8, Vec<(Account, u64)>),
    Void(u8),
    Seal,
}

fn account() -> impl Strategy<Value = Account> {
    prop_oneof![
        1 => Just(Account::External),
        4 => (0u64..3).prop_map(|n| Account::Creator(AccountId(n))),
        1 => (0u64..2).prop_map(|n| Account::Escrow(JobId(n))),
        2 => (0u64..2).prop_map(|n| Account::Worker(AccountId(n))),
        1 => (0u64..2).prop_map(|n| Account::Checker(AccountId(n))),
        1 => Just(Account::NetworkFees),
    ]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        12 => 1u64..200,
        1 => (u64::MAX - 300)..=u64::MAX,
    ]
}

fn creator() -> impl Strategy<Value = Account> {
    (0u64..2).prop_map(|n| Account::Creator(AccountId(n)))
}

fn op() -> impl Strategy<Value = Op> {
    // Holds use ids 0..6; deposits and transfers mostly 16..22, sometimes colliding with holds.
    let id = 0u8..6;
    let plain_id = prop_oneof![5 => 16u8..22, 1 => 0u8..6];
    let payout = (account(), prop_oneof![6 => 1u64..40, 1 => amount()]);
    prop_oneof![
        3 => (plain_id.clone(), 0u8..2, prop_oneof![4 => 1u64..1_000, 1 => amount()])
            .prop_map(|(i, c, a)| Op::Deposit(i, c, a)),
        1 => (plain_id, account(), account(), amount())
            .prop_map(|(i, f, t, a)| Op::Transfer(i, f, t, a)),
        3 => (id.clone(), prop_oneof![6 => creator(), 1 => account()], 0u8..2, prop_oneof![6 => 1u64..100, 1 => amount()])
            .prop_map(|(i, f, j, a)| Op::Hold(i, f, j, a)),
        3 => (id.clone(), prop::collection::vec(payout, 0..4)).prop_map(|(i, p)| Op::Post(i, p)),
        1 => (0u8..7).prop_map(Op::Void),
        1 => Just(Op::Seal),
    ]
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn tid(id: u8) -> TransferId {
    TransferId(u128::from(id) << 64 | 0xabcd)
}

/// Applies one operation; `Ok(true)` when it resolved a pending transfer.
fn apply(ledger: &mut Ledger, op: &Op, key: &SigningKey) -> pictor_core::Result<bool> {
    let m = Money::from_micros;
    match op {
        Op::Deposit(id, creator, amount) => ledger
            .deposit(tid(*id), AccountId(u64::from(*creator)), m(*amount))
            .map(|_| false),
        Op::Transfer(id, from, to, amount) => ledger
            .transfer(tid(*id), *from, *to, m(*amount))
            .map(|_| false),
        Op::Hold(id, from, job, amount) => ledger
            .create_pending(
                tid(*id),
                *from,
                Account::Escrow(JobId(u64::from(*job))),
                m(*amount),
            )
            .map(|_| false),
        Op::Post(id, payouts) => {
            let payouts: Vec<(Account, Money)> = payouts.iter().map(|(a, x)| (*a, m(*x))).collect();
            ledger.post_pending(tid(*id), &payouts).map(|_| true)
        }
        Op::Void(id) => ledger.void_pending(tid(*id)).map(|_| true),
        Op::Seal => {
            ledger.seal(key);
            Ok(false)
        }
    }
}

fn run(ops: &[Op], key: &SigningKey) -> Ledger {
    let mut ledger = Ledger::new();
    for op in ops {
        let _ = apply(&mut ledger, op, key);
    }
    ledger.seal(key);
    ledger
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..48)
}

proptest! {
    /// (1) trial balance zero and (2) escrow = Σ open pendings after every operation, failed ones
    /// included; a failed operation changes nothing; (3) a pending resolves exactly once.
    #[test]
    fn invariants_hold_and_failures_change_nothing(ops in ops()) {
        let key = key();
        let mut ledger = Ledger::new();
        for op in &ops {
            let before = ledger.clone();
            match apply(&mut ledger, op, &key) {
                Err(_) => prop_assert_eq!(&ledger, &before),
                Ok(true) => {
                    let id = match op { Op::Post(id, _) | Op::Void(id) => tid(*id), _ => unreachable!() };
                    let status = ledger.get_transfer(id).map(|t| t.status);
                    let resolved_once = matches!(
                        status,
                        Some(TransferStatus::PendingPosted { .. } | TransferStatus::PendingVoided)
                    );
                    prop_assert!(resolved_once, "status after resolving: {:?}", status);
                    let resolved = ledger.clone();
                    prop_assert!(ledger.void_pending(id).is_err());
                    prop_assert!(ledger.post_pending(id, &[]).is_err());
                    prop_assert!(ledger.post_pending(id, &[(Account::NetworkFees, Money::from_micros(1))]).is_err());
                    prop_assert_eq!(&ledger, &resolved);
                }
                Ok(false) => {}
            }
            prop_assert_eq!(ledger.trial_balance(), 0);
            prop_assert_eq!(ledger.escrow_total(), ledger.open_pending_total());
            let open: i128 = ledger.open_pendings().map(|t| i128::from(t.amount.micros())).sum();
            prop_assert_eq!(ledger.escrow_total(), open);
            prop_assert!(ledger.check_invariants().is_ok(), "{:?}", ledger.check_invariants());
        }
    }

    /// (5) Replaying the journal rebuilds exactly the live state (balances, transfers, journal, seals).
    #[test]
    fn replay_equals_live(ops in ops()) {
        let ledger = run(&ops, &key());
        let replayed = Ledger::from_journal(ledger.journal().clone());
        prop_assert_eq!(replayed.as_ref(), Ok(&ledger));
        let bare = Ledger::replay(ledger.journal().entries()).expect("replay");
        prop_assert!(bare.accounts().eq(ledger.accounts()));
        prop_assert!(bare.transfers().eq(ledger.transfers()));
        prop_assert!(verify(ledger.journal(), &key().verifying_key()).is_ok());
    }

    /// (4) Flipping any bits of any single byte of any entry's canonical encoding is detected, and the
    /// first bad seq reported is at most the tampered entry's seq (a decode failure also counts).
    #[test]
    fn tampering_an_entry_is_detected(ops in ops(), which in any::<Index>(), byte in 0usize..116, mask in 1u8..=255) {
        let key = key();
        let ledger = run(&ops, &key);
        prop_assume!(!ledger.journal().is_empty());
        let (mut entries, seals) = ledger.journal().clone().into_parts();
        let at = which.index(entries.len());
        let mut bytes = entries[at].to_bytes();
        bytes[byte] ^= mask;
        if let Ok(tampered) = Entry::from_bytes(&bytes) {
            entries[at] = tampered;
            let journal = Journal::from_parts(entries, seals);
            let report = verify(&journal, &key.verifying_key());
            prop_assert!(report.is_err(), "undetected tamper of byte {} of entry {}", byte, at);
            if let Err(report) = report {
                prop_assert!(report.seq <= at as u64, "{:?} for entry {}", report, at);
            }
        }
    }

    /// (4) Flipping bits of any byte of any seal is detected, at or before the seal's last entry.
    #[test]
    fn tampering_a_seal_is_detected(ops in ops(), which in any::<Index>(), byte in 0usize..104, mask in 1u8..=255) {
        let key = key();
        let ledger = run(&ops, &key);
        prop_assume!(!ledger.journal().seals().is_empty());
        let (entries, mut seals) = ledger.journal().clone().into_parts();
        let at = which.index(seals.len());
        let upto = seals[at].upto_seq;
        let mut bytes = seals[at].to_bytes();
        bytes[byte] ^= mask;
        seals[at] = Seal::from_bytes(&bytes).expect("seals always decode");
        let report = verify(&Journal::from_parts(entries, seals), &key.verifying_key());
        prop_assert!(report.is_err(), "undetected tamper of byte {} of seal {}", byte, at);
        if let Err(report) = report {
            prop_assert!(report.seq <= upto, "{:?} for seal {} up to {}", report, at, upto);
        }
    }

    /// Any single-byte change to a whole encoded journal fails to decode or fails to verify.
    #[test]
    fn tampering_an_encoded_journal_is_detected(ops in ops(), which in any::<Index>(), mask in 1u8..=255) {
        let key = key();
        let ledger = run(&ops, &key);
        let mut bytes = ledger.journal().to_bytes();
        let at = which.index(bytes.len());
        bytes[at] ^= mask;
        if let Ok(journal) = Journal::from_bytes(&bytes) {
            prop_assert!(verify(&journal, &key.verifying_key()).is_err(), "undetected tamper at byte {}", at);
        }
    }
}
