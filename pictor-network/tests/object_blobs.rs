//! Blobs on object storage: two `pictor serve` replicas with data directories of their own — two
//! machines that share no folder — serve one network from one PostgreSQL database and one bucket
//! of a real S3-compatible server (moto, `scripts/install-s3-server`). An upload whose chunks
//! alternate between the replicas completes and is read back through either; two chunks racing
//! for one offset on the two replicas admit exactly one; a blob that does not hash to its name is
//! refused and leaves nothing; a simulated job's results stored through one replica are read
//! through the other; with the S3 service down, blob requests answer 503 with Retry-After. And
//! `pictor migrate --blobs s3://…` moves an embedded network's blobs into a bucket, from which a
//! replica on a machine that never had them serves them.
//! Needs PostgreSQL's binaries and the S3 server; skips without them unless
//! `PICTOR_REQUIRE_POSTGRES=1` / `PICTOR_REQUIRE_S3=1`.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::client;
use common::postgres::{Cluster, available_or_skip};
use common::replicas::{Replica, TASKS, job_through, upload_alternating, wait_healthy};
use common::s3::S3Server;
use pictor_core::BlobHash;
use pictor_core::api::Role;
use std::path::Path;

const BUCKET: &str = "pictor-test";
const PREFIX: &str = "network-one";

/// Copies the network key to another machine's data directory, as its operator would.
fn copy_network_key(from: &Path, to: &Path) {
    let key = std::fs::read(from.join("network.key")).expect("network key");
    let path = to.join("network.key");
    std::fs::write(&path, key).expect("copy the network key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    }
}

/// The keys of the bucket's objects under `prefix` (moto answers unsigned listings).
async fn bucket_keys(s3: &S3Server, prefix: &str) -> Vec<String> {
    let listing = common::http_client()
        .get(format!(
            "{}/{BUCKET}?list-type=2&prefix={prefix}",
            s3.endpoint
        ))
        .send()
        .await
        .expect("list the bucket")
        .text()
        .await
        .expect("listing");
    listing
        .split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

/// PUTs one chunk; answers the status.
async fn put_chunk(
    url: &str,
    key: &str,
    hash: &BlobHash,
    size: usize,
    offset: usize,
    chunk: Vec<u8>,
) -> u16 {
    common::http_client()
        .put(format!(
            "{url}/v1/blobs/{}?size={size}&offset={offset}",
            hash.to_hex()
        ))
        .bearer_auth(key)
        .body(chunk)
        .send()
        .await
        .expect("chunk sent")
        .status()
        .as_u16()
}

/// GETs a blob; answers the status and the bytes.
async fn get_blob(url: &str, key: &str, hash: &BlobHash) -> (u16, Vec<u8>, Option<String>) {
    let answer = common::http_client()
        .get(format!("{url}/v1/blobs/{}", hash.to_hex()))
        .bearer_auth(key)
        .send()
        .await
        .expect("an answer");
    let status = answer.status().as_u16();
    let retry_after = answer
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let bytes = answer.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    (status, bytes, retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_two_machines_share_their_blobs_through_an_s3_bucket() {
    if !available_or_skip() {
        return;
    }
    let Some(mut s3) = S3Server::start_or_skip() else {
        return;
    };
    s3.create_bucket(BUCKET).await;
    let env = s3.env();
    let blobs = format!("s3://{BUCKET}/{PREFIX}");
    let args = ["--blobs", blobs.as_str()];
    let database = Cluster::get().create_database();
    let first_data = tempfile::tempdir().expect("first machine's data dir");
    let second_data = tempfile::tempdir().expect("second machine's data dir");
    let first = Replica::start_with(first_data.path(), &database, &args, &env);
    copy_network_key(first_data.path(), second_data.path());
    let second = Replica::start_with(second_data.path(), &database, &args, &env);
    let admin_key =
        std::fs::read_to_string(first_data.path().join("admin.key")).expect("admin key");
    let admin_key = admin_key.trim();
    let admins = vec![
        client(&first.url, admin_key),
        client(&second.url, admin_key),
    ];
    for admin in &admins {
        wait_healthy(admin).await;
    }
    for data in [&first_data, &second_data] {
        assert!(
            !data.path().join("blobs").exists(),
            "a replica on S3 made a local blob folder"
        );
    }

    // One upload, its chunks alternating between the machines; read back through both.
    let creator = admins[0]
        .accounts()
        .create(Role::Creator, "uploader")
        .await
        .expect("creator");
    let key = creator.api_key.as_str();
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    upload_alternating((&first.url, key), (&second.url, key), &bytes).await;
    let hash = BlobHash::of_bytes(&bytes);
    for url in [&first.url, &second.url] {
        let (status, read, _) = get_blob(url, key, &hash).await;
        assert_eq!(status, 200);
        assert!(read == bytes, "the blob read back through {url} differs");
    }
    let stored = bucket_keys(&s3, &format!("{PREFIX}/blobs/")).await;
    assert_eq!(stored, vec![format!("{PREFIX}/blobs/{}", hash.to_hex())]);
    assert!(
        bucket_keys(&s3, &format!("{PREFIX}/uploads/"))
            .await
            .is_empty(),
        "the chunks stay after the blob is stored"
    );

    // Two chunks racing for one offset, one on each machine: exactly one is taken.
    let racing: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
    let racing_hash = BlobHash::of_bytes(&racing);
    let (a, b) = tokio::join!(
        put_chunk(
            &first.url,
            key,
            &racing_hash,
            racing.len(),
            0,
            racing[..25_000].to_vec()
        ),
        put_chunk(
            &second.url,
            key,
            &racing_hash,
            racing.len(),
            0,
            vec![9u8; 25_000]
        ),
    );
    let mut statuses = [a, b];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "racing chunks: {a} and {b}");

    // A blob whose bytes do not hash to its name is refused, and nothing of it stays.
    let forged = BlobHash::of_bytes(b"not these bytes");
    let status = put_chunk(&second.url, key, &forged, 1_000, 0, vec![1u8; 1_000]).await;
    assert_eq!(status, 400);
    assert!(
        bucket_keys(
            &s3,
            &format!("{PREFIX}/uploads/{}/{}", creator.account.id, forged)
        )
        .await
        .is_empty()
    );
    let (status, _, _) = get_blob(&first.url, key, &forged).await;
    assert_eq!(status, 404);

    // A job over both machines: scenes and results in the bucket, written and read through either.
    let report = job_through(&admins, async || {}).await;
    assert_eq!(report.accepted, u64::from(TASKS), "{report:?}");
    let after_job = bucket_keys(&s3, &format!("{PREFIX}/blobs/")).await;
    assert!(
        after_job.len() > stored.len(),
        "the job's scene and results are not in the bucket: {after_job:?}"
    );

    // The S3 service down: a blob request answers 503 and asks for a retry, not 500.
    s3.stop();
    let (status, _, retry_after) = get_blob(&second.url, key, &hash).await;
    assert_eq!(status, 503);
    assert_eq!(retry_after.as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictor_migrate_moves_the_blobs_into_a_bucket_another_machine_serves() {
    if !available_or_skip() {
        return;
    }
    let Some(s3) = S3Server::start_or_skip() else {
        return;
    };
    s3.create_bucket(BUCKET).await;
    let env = s3.env();
    // An embedded network (SQLite, blobs in its data directory) with one uploaded blob.
    let embedded = tempfile::tempdir().expect("embedded data dir");
    let mut one = Replica::start(embedded.path(), "sqlite");
    let admin_key = std::fs::read_to_string(embedded.path().join("admin.key")).expect("admin key");
    let admin = client(&one.url, admin_key.trim());
    wait_healthy(&admin).await;
    let creator = admin
        .accounts()
        .create(Role::Creator, "studio")
        .await
        .expect("creator");
    let key = creator.api_key.as_str();
    let bytes: Vec<u8> = (0..120_000u32).map(|i| (i % 239) as u8).collect();
    upload_alternating((&one.url, key), (&one.url, key), &bytes).await;
    let hash = BlobHash::of_bytes(&bytes);
    one.kill();

    // Moved: the database to PostgreSQL, the blobs to the bucket.
    let database = Cluster::get().create_database();
    let blobs = format!("s3://{BUCKET}/moved");
    let migrate = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args(["migrate", "--json", "--data"])
            .arg(embedded.path())
            .args(["--to", &database, "--blobs", &blobs])
            .envs(env.iter().map(|(name, value)| (name, value)))
            .output()
            .expect("pictor migrate runs")
    };
    let moved = migrate();
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&moved.stdout).expect("one JSON line");
    assert_eq!(report["blobs_copied"], 1, "{report}");
    assert_eq!(report["blobs_present"], 0, "{report}");
    assert_eq!(
        bucket_keys(&s3, "moved/blobs/").await,
        vec![format!("moved/blobs/{}", hash.to_hex())]
    );

    // Another machine, with only the network key, serves the blob from the bucket.
    let elsewhere = tempfile::tempdir().expect("another machine's data dir");
    copy_network_key(embedded.path(), elsewhere.path());
    let replica = Replica::start_with(elsewhere.path(), &database, &["--blobs", &blobs], &env);
    wait_healthy(&client(&replica.url, admin_key.trim())).await;
    let (status, read, _) = get_blob(&replica.url, key, &hash).await;
    assert_eq!(status, 200);
    assert!(read == bytes, "the migrated blob differs");
    assert!(!elsewhere.path().join("blobs").exists());

    // A second run onto the now non-empty database is refused before it copies anything.
    let again = migrate();
    assert!(!again.status.success(), "a second migration was accepted");
}
