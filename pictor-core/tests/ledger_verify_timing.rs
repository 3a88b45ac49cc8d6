//! Timing of journal verification. Ignored by default; run in release:
//! `cargo test --release -p pictor-core --test ledger_verify_timing -- --ignored --nocapture`

use pictor_core::ledger::{Ledger, SigningKey, synthetic_journal, verify};
use std::time::Instant;

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn verify_one_million_entries() {
    let key = SigningKey::from_bytes(&[3; 32]);
    let started = Instant::now();
    let journal = synthetic_journal(1_000_000, 1_000, &key);
    let built = started.elapsed();
    let public = key.verifying_key();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let started = Instant::now();
        let report = verify(&journal, &public).expect("valid");
        best = best.min(started.elapsed().as_secs_f64());
        assert_eq!(report.entries, 1_000_000);
        assert_eq!(report.seals, 1_000);
    }
    let started = Instant::now();
    let ledger = Ledger::replay(journal.entries()).expect("replays");
    let replayed = started.elapsed();
    assert_eq!(ledger.trial_balance(), 0);
    println!(
        "1M entries, 1000 seals: built in {built:.2?}, verified in {:.1} ms (best of 5), replayed in {replayed:.2?}",
        best * 1e3
    );
    assert!(best < 1.0, "verification took {best:.3} s");
}
