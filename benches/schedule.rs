//! Scheduler and ledger benchmarks (criterion). Each measured operation sits next to a baseline run
//! in the same process, so `docs/BENCHMARKS.md` can report machine-independent ratios:
//!
//! - `ledger/verify_1m` vs `ledger/blake3_floor_1m`: verifying a 1M-entry journal (1,000 seals) against
//!   hashing the same bytes with no checks at all.
//!
//! Run: `cargo bench --bench schedule` (add `-- ledger` to run one group).

use criterion::{Criterion, criterion_group, criterion_main};
use pictor::core::ledger::{self, SigningKey, codec};
use std::hint::black_box;

const LEDGER_ENTRIES: usize = 1_000_000;
const SEAL_EVERY: usize = 1_000;

fn ledger_verify(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[42; 32]);
    let journal = ledger::synthetic_journal(LEDGER_ENTRIES, SEAL_EVERY, &key);
    let verifying_key = key.verifying_key();
    let encoded: Vec<[u8; codec::ENTRY_LEN]> =
        journal.entries().iter().map(codec::encode_entry).collect();

    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);
    group.bench_function("blake3_floor_1m", |b| {
        b.iter(|| {
            let mut last = [0u8; 32];
            for bytes in &encoded {
                last = *blake3::hash(black_box(bytes)).as_bytes();
            }
            last
        })
    });
    group.bench_function("verify_1m", |b| {
        b.iter(|| ledger::verify(black_box(&journal), &verifying_key).is_ok())
    });
    group.finish();
}

criterion_group!(benches, ledger_verify);
criterion_main!(benches);
