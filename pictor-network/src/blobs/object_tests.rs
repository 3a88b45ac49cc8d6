//! Tests of [`ObjectBlobStore`] through the [`BlobStore`] trait, on an in-memory object store
//! shared by two stores — two coordinator replicas on different machines. (The same store against
//! a real S3-compatible server: tests/object_blobs.rs.)

use super::tests::{CHUNK, data, key, limits, read_all, upload_from};
use super::*;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use std::sync::Arc;

/// Two replicas' stores on one bucket, and the bucket.
fn replicas() -> (ObjectBlobStore, ObjectBlobStore, Arc<InMemory>) {
    let bucket = Arc::new(InMemory::new());
    let one = ObjectBlobStore::new(bucket.clone(), limits()).expect("store");
    let two = ObjectBlobStore::new(bucket.clone(), limits()).expect("store");
    (one, two, bucket)
}

/// Every object's path in the bucket.
async fn objects(bucket: &InMemory) -> Vec<String> {
    use futures_util::TryStreamExt;
    let listed: Vec<_> = bucket.list(None).try_collect().await.expect("list");
    listed
        .iter()
        .map(|meta| meta.location.to_string())
        .collect()
}

#[tokio::test]
async fn chunks_alternating_between_replicas_make_one_blob() {
    let (one, two, bucket) = replicas();
    let bytes = data(10_000, 1);
    let key = key(1, &bytes);
    let mut offset = 0usize;
    for (index, piece) in bytes.chunks(CHUNK as usize).enumerate() {
        let store = if index % 2 == 0 { &one } else { &two };
        assert_eq!(
            store.upload_status(&key).await.expect("status"),
            offset as u64
        );
        let progress = store
            .append(&key, offset as u64, Bytes::copy_from_slice(piece))
            .await
            .expect("chunk");
        offset += piece.len();
        assert_eq!(progress.received, offset as u64);
        assert_eq!(progress.complete, offset == bytes.len());
    }
    assert_eq!(read_all(&one, &key.hash).await, bytes);
    assert_eq!(read_all(&two, &key.hash).await, bytes);
    assert_eq!(two.size(&key.hash).await.expect("size"), Some(10_000));
    assert_eq!(
        objects(&bucket).await,
        vec![format!("blobs/{}", key.hash.to_hex())],
        "the chunks are removed once the blob is stored"
    );
    assert_eq!(one.bytes_received() + two.bytes_received(), 10_000);
}

#[tokio::test]
async fn a_wrong_offset_answers_the_staged_end_and_writes_nothing() {
    let (one, two, bucket) = replicas();
    let bytes = data(10_000, 2);
    let key = key(1, &bytes);
    one.append(&key, 0, Bytes::copy_from_slice(&bytes[..4096]))
        .await
        .expect("first chunk");
    let before = objects(&bucket).await;
    for offset in [0, 100, 8192] {
        let refused = two
            .append(&key, offset, Bytes::copy_from_slice(&bytes[..100]))
            .await;
        assert!(
            matches!(
                refused,
                Err(BlobError::OffsetMismatch { expected: 4096, got }) if got == offset
            ),
            "{refused:?}"
        );
    }
    assert_eq!(objects(&bucket).await, before);
}

#[tokio::test]
async fn racing_chunks_at_one_offset_on_two_replicas_admit_exactly_one() {
    let (one, two, _bucket) = replicas();
    for round in 0..10u8 {
        let bytes = data(8_000, round);
        let key = key(1, &bytes);
        let real = tokio::spawn({
            let one = one.clone();
            let chunk = Bytes::copy_from_slice(&bytes[..4096]);
            async move { one.append(&key, 0, chunk).await }
        });
        let fake = tokio::spawn({
            let two = two.clone();
            async move { two.append(&key, 0, Bytes::from(vec![7u8; 4096])).await }
        });
        let outcomes = [real.await.expect("join"), fake.await.expect("join")];
        let wins = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {outcomes:?}");
        for outcome in &outcomes {
            assert!(
                matches!(
                    outcome,
                    Ok(_)
                        | Err(BlobError::OffsetMismatch {
                            expected: 4096,
                            got: 0
                        })
                ),
                "{outcome:?}"
            );
        }
        let finished = upload_from(&two, &key, &bytes, 4096).await;
        if outcomes[0].is_ok() {
            assert!(finished.expect("complete").complete);
            assert_eq!(read_all(&one, &key.hash).await, bytes);
        } else {
            // The fake chunk won: the whole does not hash to the announced hash.
            assert!(matches!(finished, Err(BlobError::HashMismatch { .. })));
            assert!(!one.contains(&key.hash).await.expect("contains"));
        }
    }
}

#[tokio::test]
async fn a_hash_mismatch_stores_nothing_and_clears_the_staging() {
    let (one, _two, bucket) = replicas();
    let bytes = data(6_000, 3);
    let mut announced = key(1, &bytes);
    announced.hash = BlobHash::of_bytes(b"something else");
    let outcome = upload_from(&one, &announced, &bytes, 0).await;
    assert!(
        matches!(outcome, Err(BlobError::HashMismatch { .. })),
        "{outcome:?}"
    );
    assert!(
        objects(&bucket).await.is_empty(),
        "{:?}",
        objects(&bucket).await
    );
    assert_eq!(one.upload_status(&announced).await.expect("status"), 0);
}

#[tokio::test]
async fn a_replica_dying_before_the_blob_leaves_an_upload_any_replica_finishes() {
    let (one, two, bucket) = replicas();
    let bytes = data(9_000, 4);
    let key = key(1, &bytes);
    // The chunks all arrived, then the coordinator died before storing the blob: as if each chunk
    // had been written and nothing else.
    let mut offset = 0u64;
    for piece in bytes.chunks(CHUNK as usize) {
        let path = Path::from(format!(
            "uploads/1/{}-{}/{offset:020}",
            key.hash,
            bytes.len()
        ));
        bucket
            .put(&path, Bytes::copy_from_slice(piece).into())
            .await
            .expect("chunk object");
        offset += piece.len() as u64;
    }
    assert_eq!(two.upload_status(&key).await.expect("status"), 9_000);
    assert!(!two.contains(&key.hash).await.expect("contains"));
    // The client's resume: an empty chunk at the end.
    let progress = two.append(&key, 9_000, Bytes::new()).await.expect("finish");
    assert!(progress.complete);
    assert_eq!(read_all(&one, &key.hash).await, bytes);
}

#[tokio::test]
async fn a_present_blob_uploaded_again_is_verified_and_stored_once() {
    let (one, two, bucket) = replicas();
    let bytes = data(5_000, 5);
    let key = key(1, &bytes);
    assert!(
        upload_from(&one, &key, &bytes, 0)
            .await
            .expect("first")
            .complete
    );
    let other_owner = UploadKey {
        owner: AccountId(2),
        ..key
    };
    assert!(
        upload_from(&two, &other_owner, &bytes, 0)
            .await
            .expect("second")
            .complete
    );
    assert_eq!(objects(&bucket).await.len(), 1);
}

#[tokio::test]
async fn empty_blobs_and_put_round_trip() {
    let (one, two, _bucket) = replicas();
    let empty = key(1, b"");
    let progress = one.append(&empty, 0, Bytes::new()).await.expect("empty");
    assert!(progress.complete);
    assert_eq!(read_all(&two, &empty.hash).await, Vec::<u8>::new());
    let bytes = data(3_000, 6);
    let (hash, size) = one.put(Bytes::from(bytes.clone())).await.expect("put");
    assert_eq!((hash, size), (BlobHash::of_bytes(&bytes), 3_000));
    assert_eq!(read_all(&two, &hash).await, bytes);
    assert!(
        two.put(Bytes::from(bytes)).await.is_ok(),
        "a second put changes nothing"
    );
    let missing = BlobHash::of_bytes(b"never stored");
    assert!(matches!(
        two.open(&missing).await,
        Err(BlobError::NotFound(_))
    ));
    assert_eq!(two.size(&missing).await.expect("size"), None);
    let too_big = Bytes::from(vec![0u8; 100_001]);
    assert!(matches!(
        one.put(too_big).await,
        Err(BlobError::PayloadTooLarge { .. })
    ));
}

#[tokio::test]
async fn staging_counts_per_owner_and_abandoned_uploads_expire() {
    let (one, two, bucket) = replicas();
    let first = data(10_000, 7);
    let second = data(20_000, 8);
    let first_key = key(1, &first);
    let second_key = key(1, &second);
    one.append(&first_key, 0, Bytes::copy_from_slice(&first[..100]))
        .await
        .expect("chunk");
    two.append(&second_key, 0, Bytes::copy_from_slice(&second[..100]))
        .await
        .expect("chunk");
    assert_eq!(
        one.staged_bytes(AccountId(1)).await.expect("staged"),
        30_000
    );
    assert_eq!(one.staged_bytes(AccountId(2)).await.expect("staged"), 0);
    // Nothing is old yet.
    assert_eq!(
        two.expire_uploads(std::time::Duration::from_secs(3600))
            .await
            .expect("expire"),
        0
    );
    assert_eq!(objects(&bucket).await.len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        two.expire_uploads(std::time::Duration::from_millis(10))
            .await
            .expect("expire"),
        2
    );
    assert!(objects(&bucket).await.is_empty());
    assert_eq!(one.upload_status(&first_key).await.expect("status"), 0);
}

#[tokio::test]
async fn limits_are_checked_before_anything_is_written() {
    let (one, _two, bucket) = replicas();
    let bytes = data(10_000, 9);
    let key = key(1, &bytes);
    let oversized_chunk = one
        .append(&key, 0, Bytes::from(vec![0u8; CHUNK as usize + 1]))
        .await;
    assert!(matches!(
        oversized_chunk,
        Err(BlobError::PayloadTooLarge { .. })
    ));
    let past_the_end = one.append(&key, 9_999, Bytes::from(vec![0u8; 2])).await;
    assert!(matches!(past_the_end, Err(BlobError::InvalidInput { .. })));
    assert!(objects(&bucket).await.is_empty());
}
