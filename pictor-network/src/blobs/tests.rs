//! Tests of [`FsBlobStore`] through the [`BlobStore`] trait, each in a fresh temporary folder.

use super::*;
use pictor_core::AccountId;
use std::path::Path;
use tokio::io::AsyncReadExt;

pub(super) const CHUNK: u64 = 4096;

pub(super) fn limits() -> BlobLimits {
    BlobLimits {
        max_blob_bytes: 100_000,
        max_chunk_bytes: CHUNK,
    }
}

pub(super) fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

pub(super) fn key(owner: u64, bytes: &[u8]) -> UploadKey {
    UploadKey {
        owner: AccountId(owner),
        hash: BlobHash::of_bytes(bytes),
        size: bytes.len() as u64,
    }
}

async fn store(root: &Path) -> FsBlobStore {
    FsBlobStore::open(root.to_path_buf(), limits())
        .await
        .expect("open store")
}

pub(super) async fn read_all<B: BlobStore>(store: &B, hash: &BlobHash) -> Vec<u8> {
    let mut file = store.open(hash).await.expect("open blob");
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).await.expect("read blob");
    bytes
}

/// Uploads `bytes[from..]` in chunks of [`CHUNK`]; answers the last progress.
pub(super) async fn upload_from<B: BlobStore>(
    store: &B,
    key: &UploadKey,
    bytes: &[u8],
    from: usize,
) -> BlobResult<UploadProgress> {
    let mut offset = from;
    loop {
        let end = (offset + CHUNK as usize).min(bytes.len());
        let progress = store
            .append(
                key,
                offset as u64,
                Bytes::copy_from_slice(&bytes[offset..end]),
            )
            .await?;
        offset = end;
        if offset >= bytes.len() {
            return Ok(progress);
        }
        assert!(!progress.complete);
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn uploads_in_three_chunks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let bytes = data(10_000, 1);
    let key = key(1, &bytes);
    assert!(!store.contains(&key.hash).await.expect("contains"));

    let first = store
        .append(&key, 0, Bytes::copy_from_slice(&bytes[..4096]))
        .await
        .expect("chunk 1");
    assert_eq!(
        first,
        UploadProgress {
            received: 4096,
            complete: false
        }
    );
    assert!(
        !store.contains(&key.hash).await.expect("contains"),
        "visible before complete"
    );
    let second = store
        .append(&key, 4096, Bytes::copy_from_slice(&bytes[4096..8192]))
        .await
        .expect("chunk 2");
    assert_eq!(
        second,
        UploadProgress {
            received: 8192,
            complete: false
        }
    );
    assert_eq!(store.upload_status(&key).await.expect("status"), 8192);
    let last = store
        .append(&key, 8192, Bytes::copy_from_slice(&bytes[8192..]))
        .await
        .expect("chunk 3");
    assert_eq!(
        last,
        UploadProgress {
            received: 10_000,
            complete: true
        }
    );

    assert!(store.contains(&key.hash).await.expect("contains"));
    assert_eq!(store.size(&key.hash).await.expect("size"), Some(10_000));
    assert_eq!(read_all(&store, &key.hash).await, bytes);
    assert_eq!(store.bytes_received(), 10_000);
    assert_eq!(store.upload_status(&key).await.expect("status"), 0);
    let hex = key.hash.to_hex();
    let expected = dir
        .path()
        .join("blobs")
        .join(&hex[..2])
        .join(&hex[2..4])
        .join(&hex);
    assert_eq!(store.path(&key.hash), expected);
    assert!(expected.is_file());
    assert!(
        files_under(&dir.path().join("uploads")).is_empty(),
        "staging left behind"
    );
}

#[tokio::test]
async fn resumes_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = data(10_000, 2);
    let key = key(7, &bytes);
    {
        let store = store(dir.path()).await;
        for offset in [0u64, CHUNK] {
            let start = offset as usize;
            store
                .append(
                    &key,
                    offset,
                    Bytes::copy_from_slice(&bytes[start..start + 4096]),
                )
                .await
                .expect("chunk");
        }
        // Dropped here: the "crash".
    }
    let store = store(dir.path()).await;
    let staged = store.upload_status(&key).await.expect("status");
    assert_eq!(staged, 8192);
    assert_eq!(
        store.bytes_received(),
        0,
        "a fresh store has received nothing"
    );
    let progress = upload_from(&store, &key, &bytes, staged as usize)
        .await
        .expect("resume");
    assert!(progress.complete);
    assert_eq!(store.bytes_received(), 10_000 - 8192);
    assert_eq!(read_all(&store, &key.hash).await, bytes);
}

#[tokio::test]
async fn wrong_offset_answers_the_expected_one_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let bytes = data(10_000, 3);
    let key = key(1, &bytes);
    store
        .append(&key, 0, Bytes::copy_from_slice(&bytes[..4096]))
        .await
        .expect("chunk 1");
    for wrong in [0u64, 100, 8192] {
        let start = wrong as usize;
        let error = store
            .append(
                &key,
                wrong,
                Bytes::copy_from_slice(&bytes[start..start + 10]),
            )
            .await
            .expect_err("wrong offset");
        assert!(
            matches!(error, BlobError::OffsetMismatch { expected: 4096, got } if got == wrong),
            "{error:?}"
        );
        assert_eq!(error.code(), pictor_core::api::ErrorCode::Conflict);
    }
    assert_eq!(store.upload_status(&key).await.expect("status"), 4096);
    assert_eq!(store.bytes_received(), 4096);
}

#[tokio::test]
async fn hash_mismatch_stores_nothing_and_clears_staging() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let bytes = data(9_000, 4);
    let claimed = BlobHash::of_bytes(b"something else");
    let key = UploadKey {
        owner: AccountId(1),
        hash: claimed,
        size: bytes.len() as u64,
    };
    let error = upload_from(&store, &key, &bytes, 0)
        .await
        .expect_err("mismatch");
    let actual = BlobHash::of_bytes(&bytes);
    assert!(
        matches!(error, BlobError::HashMismatch { expected, actual: got } if expected == claimed && got == actual),
        "{error:?}"
    );
    assert!(!store.contains(&claimed).await.expect("contains"));
    assert!(!store.contains(&actual).await.expect("contains"));
    assert!(files_under(&dir.path().join("blobs")).is_empty());
    assert!(files_under(&dir.path().join("uploads")).is_empty());
    assert_eq!(store.upload_status(&key).await.expect("status"), 0);
    // The client can start over from zero.
    store
        .append(&key, 0, Bytes::copy_from_slice(&bytes[..100]))
        .await
        .expect("restart");
}

#[tokio::test]
async fn refuses_oversized_blobs_chunks_and_overruns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let huge = UploadKey {
        owner: AccountId(1),
        hash: BlobHash::of_bytes(b"x"),
        size: 100_001,
    };
    let error = store
        .append(&huge, 0, Bytes::from_static(b"x"))
        .await
        .expect_err("blob too large");
    assert!(
        matches!(
            error,
            BlobError::PayloadTooLarge {
                limit: 100_000,
                actual: 100_001
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.code().http_status(), 413);

    let bytes = data(10_000, 5);
    let key = key(1, &bytes);
    let error = store
        .append(&key, 0, Bytes::copy_from_slice(&bytes[..4097]))
        .await
        .expect_err("chunk too large");
    assert!(
        matches!(
            error,
            BlobError::PayloadTooLarge {
                limit: 4096,
                actual: 4097
            }
        ),
        "{error:?}"
    );

    let small = UploadKey { size: 10, ..key };
    let error = store
        .append(&small, 5, Bytes::copy_from_slice(&bytes[..6]))
        .await
        .expect_err("overrun");
    assert!(
        matches!(error, BlobError::InvalidInput { ref field, .. } if field == "chunk"),
        "{error:?}"
    );
    let error = store
        .append(&small, u64::MAX, Bytes::copy_from_slice(&bytes[..6]))
        .await
        .expect_err("offset overflow");
    assert!(matches!(error, BlobError::InvalidInput { .. }), "{error:?}");

    assert_eq!(store.bytes_received(), 0);
    assert!(files_under(&dir.path().join("uploads")).is_empty());
}

#[tokio::test]
async fn a_present_blob_uploaded_again_is_verified_and_stored_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let bytes = data(6_000, 6);
    upload_from(&store, &key(1, &bytes), &bytes, 0)
        .await
        .expect("first upload");
    let path = store.path(&BlobHash::of_bytes(&bytes));
    let before = std::fs::metadata(&path).expect("blob");

    // Another owner must still send (and prove) every byte.
    let second = key(2, &bytes);
    let error = store
        .append(&second, 4096, Bytes::copy_from_slice(&bytes[4096..]))
        .await
        .expect_err("no skipping ahead");
    assert!(
        matches!(error, BlobError::OffsetMismatch { expected: 0, .. }),
        "{error:?}"
    );
    let progress = upload_from(&store, &second, &bytes, 0)
        .await
        .expect("again");
    assert!(progress.complete);
    assert_eq!(store.bytes_received(), 12_000);

    // Wrong bytes under the hash of a present blob prove nothing.
    let forged = data(6_000, 99);
    let error = upload_from(&store, &key(3, &bytes), &forged, 0)
        .await
        .expect_err("forged");
    assert!(matches!(error, BlobError::HashMismatch { .. }), "{error:?}");

    assert_eq!(files_under(&dir.path().join("blobs")), vec![path.clone()]);
    assert!(files_under(&dir.path().join("uploads")).is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let after = std::fs::metadata(&path).expect("blob");
        assert_eq!(after.ino(), before.ino(), "the blob was written twice");
    }
    let _ = before;
    assert_eq!(read_all(&store, &BlobHash::of_bytes(&bytes)).await, bytes);
}

#[tokio::test]
async fn staging_is_per_owner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let bytes = data(8_000, 7);
    let alice = key(1, &bytes);
    let mallory = key(2, &bytes);
    store
        .append(&alice, 0, Bytes::copy_from_slice(&bytes[..4096]))
        .await
        .expect("alice");
    assert_eq!(store.upload_status(&mallory).await.expect("status"), 0);
    // Mallory's garbage cannot touch Alice's staging.
    store
        .append(&mallory, 0, Bytes::from(vec![0u8; 4096]))
        .await
        .expect("mallory");
    let progress = upload_from(&store, &alice, &bytes, 4096)
        .await
        .expect("alice");
    assert!(progress.complete);
    assert_eq!(read_all(&store, &alice.hash).await, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_appends_at_one_offset_admit_exactly_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    for round in 0..20u8 {
        let bytes = data(8_000, round);
        let key = key(1, &bytes);
        let tasks: Vec<_> = (0..2u8)
            .map(|which| {
                let store = store.clone();
                // Different contents, so a corrupted interleaving would show in the stored blob.
                let chunk = if which == 0 {
                    Bytes::copy_from_slice(&bytes[..4096])
                } else {
                    Bytes::from(vec![which; 4096])
                };
                tokio::spawn(async move { store.append(&key, 0, chunk).await })
            })
            .collect();
        let mut wins = 0;
        let mut winner_is_real = false;
        for (which, task) in tasks.into_iter().enumerate() {
            match task.await.expect("join") {
                Ok(progress) => {
                    wins += 1;
                    winner_is_real = which == 0;
                    assert_eq!(progress.received, 4096);
                }
                Err(BlobError::OffsetMismatch {
                    expected: 4096,
                    got: 0,
                }) => {}
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
        assert_eq!(store.upload_status(&key).await.expect("status"), 4096);
        let finished = upload_from(&store, &key, &bytes, 4096).await;
        if winner_is_real {
            assert!(finished.expect("complete").complete);
        } else {
            assert!(matches!(finished, Err(BlobError::HashMismatch { .. })));
        }
    }
}

#[tokio::test]
async fn put_and_open_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let bytes = data(50_000, 8);
    let (hash, size) = store.put(Bytes::from(bytes.clone())).await.expect("put");
    assert_eq!(hash, BlobHash::of_bytes(&bytes));
    assert_eq!(size, 50_000);
    assert_eq!(read_all(&store, &hash).await, bytes);
    assert_eq!(
        store.put(Bytes::from(bytes.clone())).await.expect("again"),
        (hash, size)
    );
    assert_eq!(files_under(&dir.path().join("blobs")).len(), 1);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert_eq!(store.bytes_received(), 0, "put is not an upload");

    let error = store
        .put(Bytes::from(vec![0u8; 100_001]))
        .await
        .expect_err("too big");
    assert!(
        matches!(error, BlobError::PayloadTooLarge { .. }),
        "{error:?}"
    );
    let unknown = BlobHash::of_bytes(b"never stored");
    assert!(matches!(store.open(&unknown).await, Err(BlobError::NotFound(h)) if h == unknown));
    assert_eq!(store.size(&unknown).await.expect("size"), None);
}

#[tokio::test]
async fn empty_blobs_upload_with_one_empty_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let key = key(1, b"");
    let progress = store.append(&key, 0, Bytes::new()).await.expect("empty");
    assert_eq!(
        progress,
        UploadProgress {
            received: 0,
            complete: true
        }
    );
    assert_eq!(store.size(&key.hash).await.expect("size"), Some(0));
}

#[tokio::test]
async fn open_clears_old_tmp_files_and_refuses_zero_chunks() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(store(dir.path()).await);
    let tmp = dir.path().join("tmp");
    std::fs::write(tmp.join("half-written"), b"x").expect("write");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(tmp.join("half-written"))
        .and_then(|file| file.set_modified(two_hours_ago))
        .expect("age the leftover");
    // A file another coordinator sharing the folder is writing right now stays.
    std::fs::write(tmp.join("in-progress"), b"y").expect("write");
    let _store = store(dir.path()).await;
    assert_eq!(files_under(&tmp), vec![tmp.join("in-progress")]);
    let error = FsBlobStore::open(
        dir.path().to_path_buf(),
        BlobLimits {
            max_chunk_bytes: 0,
            ..limits()
        },
    )
    .await
    .expect_err("zero chunk limit");
    assert!(matches!(error, BlobError::InvalidInput { .. }), "{error:?}");
}

#[tokio::test]
async fn a_staging_file_longer_than_its_blob_starts_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let bytes = data(5_000, 9);
    let key = key(4, &bytes);
    let staging = dir
        .path()
        .join("uploads")
        .join("4")
        .join(format!("{}-{}", key.hash, key.size));
    std::fs::create_dir_all(staging.parent().expect("parent")).expect("dirs");
    std::fs::write(&staging, vec![0u8; 6_000]).expect("damaged staging");
    assert_eq!(store.upload_status(&key).await.expect("status"), 0);
    let progress = upload_from(&store, &key, &bytes, 0).await.expect("upload");
    assert!(progress.complete);
    assert_eq!(read_all(&store, &key.hash).await, bytes);
}

#[tokio::test]
async fn chunks_of_one_upload_may_arrive_at_two_stores_sharing_a_folder() {
    // Two coordinators (each its own store, its own in-process locks) on one folder.
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, second) = (store(dir.path()).await, store(dir.path()).await);
    let bytes = data(CHUNK as usize * 6 + 17, 3);
    let key = key(9, &bytes);
    let mut offset = 0usize;
    let mut turn = 0;
    while offset < bytes.len() {
        let end = (offset + CHUNK as usize).min(bytes.len());
        let chunk = Bytes::copy_from_slice(&bytes[offset..end]);
        // Each chunk is sent to both at once, as a client retrying on the other replica would:
        // exactly one append lands, the other is told the offset moved on.
        let (a, b) = tokio::join!(
            first.append(&key, offset as u64, chunk.clone()),
            second.append(&key, offset as u64, chunk)
        );
        let landed = [&a, &b].iter().filter(|result| result.is_ok()).count();
        assert_eq!(landed, 1, "chunk at {offset}: {a:?} / {b:?}");
        let stale = if a.is_ok() { &b } else { &a };
        assert!(
            matches!(stale, Err(BlobError::OffsetMismatch { .. })),
            "{stale:?}"
        );
        offset = end;
        turn += 1;
    }
    assert!(turn > 5);
    assert_eq!(read_all(&first, &key.hash).await, bytes);
    assert_eq!(read_all(&second, &key.hash).await, bytes);
    assert!(files_under(&dir.path().join("uploads")).is_empty());
}
