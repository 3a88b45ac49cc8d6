//! The ledger as anyone fetches it, checked whole: signatures, the chain, the trial balance, the
//! money inside equal to the deposits, no hold paid twice.

use pictor_core::ledger::{Account, Ledger, PostingKind, VerifyingKey, verify};
use pictor_sdk::Client;
use std::collections::HashMap;

/// The journal as anyone fetches it: it verifies against the network key; replayed, the money
/// inside the network (balances, escrows, earnings, fees and bonds) is exactly what was
/// deposited, and no hold paid a worker twice.
pub async fn assert_ledger_sound(client: &Client) -> Ledger {
    let journal = client.ledger().fetch_journal().await.expect("journal");
    let head = client.ledger().head().await.expect("head");
    let key_bytes: [u8; 32] = hex::decode(&head.public_key_hex)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    let key = VerifyingKey::from_bytes(&key_bytes).expect("key");
    verify(&journal, &key).expect("the journal verifies");
    let ledger = Ledger::replay(journal.entries()).expect("replay");
    assert_eq!(ledger.trial_balance(), 0);
    let deposited: i128 = journal
        .entries()
        .iter()
        .filter(|e| e.posting.kind == PostingKind::Deposit)
        .map(|e| i128::from(e.posting.amount.micros()))
        .sum();
    let inside: i128 = ledger
        .accounts()
        .filter(|(account, _)| *account != Account::External)
        .map(|(_, balance)| balance)
        .sum();
    assert_eq!(inside, deposited, "balances + escrow + bonds = deposits");
    let mut worker_paid: HashMap<_, u32> = HashMap::new();
    for entry in journal.entries() {
        if entry.posting.kind == PostingKind::Settle
            && matches!(entry.posting.credit, Account::Worker(_))
        {
            *worker_paid.entry(entry.posting.transfer).or_default() += 1;
        }
    }
    assert!(
        worker_paid.values().all(|n| *n == 1),
        "a hold paid a worker twice: {worker_paid:?}"
    );
    ledger
}
