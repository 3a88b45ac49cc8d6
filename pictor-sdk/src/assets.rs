//! Scene assets and blobs: deduplicated, chunked, resumable uploads; manifests; verified downloads.

use crate::client::{Call, Client};
use crate::download::download_to;
use crate::error::{Error, Result};
#[cfg(test)]
use crate::scan::FileEntry;
use crate::scan::{ScannedFile, hash_file, scan_file, scan_folder};
use bytes::Bytes;
use pictor_core::api::{
    CommitAssetRequest, CommitManifestRequest, CommittedAsset, ErrorCode, ManifestEntry,
    MissingBlobsRequest, MissingBlobsResponse, UploadChunkQuery, UploadProgress, UploadStatusQuery,
    routes,
};
use pictor_core::asset::Manifest;
use pictor_core::{AssetId, BlobHash};
use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tracing::Instrument;

/// How many hashes one missing-blob query carries.
const MISSING_BATCH: usize = 1000;
/// How many times an upload follows the server's "expected offset" before giving up.
const MAX_OFFSET_CORRECTIONS: u32 = 4;

/// Progress of a folder upload, reported after each chunk. Totals cover the whole scene; files the
/// network already holds count as done from the start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadProgressEvent {
    /// Bytes of the scene done (uploaded, resumed or already held).
    pub bytes_done: u64,
    /// Bytes of the scene in all (each distinct blob counted once).
    pub bytes_total: u64,
    /// Distinct blobs done.
    pub files_done: u64,
    /// Distinct blobs in all.
    pub files_total: u64,
}

/// The callback `UploadFolder::progress` installs: called after each chunk, at start and at end.
pub type ProgressCallback = Arc<dyn Fn(UploadProgressEvent) + Send + Sync>;

/// What an upload moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadStats {
    /// Bytes actually sent in chunk bodies.
    pub bytes_sent: u64,
    /// Blobs sent (wholly or the rest of a resumed upload).
    pub blobs_uploaded: u64,
    /// Blobs the network already held: nothing sent.
    pub blobs_skipped: u64,
}

/// What `upload_folder` answers once the manifest is committed: the asset and what was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedAsset {
    /// The asset id to put in a [`JobSpec`](pictor_core::JobSpec).
    pub id: AssetId,
    /// Bytes of all files.
    pub total_size: u64,
    /// Files in the manifest.
    pub files: u32,
    /// What this upload moved.
    pub stats: UploadStats,
}

/// One uploaded blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedBlob {
    /// BLAKE3 hex of the bytes.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// What this upload moved.
    pub stats: UploadStats,
}

/// Where a blob's bytes come from.
#[derive(Clone, Debug)]
enum BlobSource {
    File(PathBuf),
    Memory(Bytes),
}

/// Scene assets and blobs; from [`Client::assets`].
#[derive(Clone, Debug)]
pub struct Assets {
    client: Client,
}

impl Assets {
    pub(crate) fn new(client: Client) -> Self {
        Assets { client }
    }

    /// Uploads a scene folder and commits its manifest: scans and hashes every file, asks which blobs
    /// the network lacks, uploads only those in resumable chunks, then commits.
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client) -> pictor_sdk::Result<()> {
    /// let asset = client
    ///     .assets()
    ///     .upload_folder("scenes/classroom", "classroom.blend")
    ///     .progress(|p| eprintln!("{}/{} bytes", p.bytes_done, p.bytes_total))
    ///     .send()
    ///     .await?;
    /// println!("scene {} ({} bytes sent)", asset.id, asset.stats.bytes_sent);
    /// # Ok(()) }
    /// ```
    pub fn upload_folder(
        &self,
        folder: impl Into<PathBuf>,
        main_file: impl Into<String>,
    ) -> UploadFolder {
        UploadFolder {
            client: self.client.clone(),
            folder: folder.into(),
            main_file: main_file.into(),
            progress: None,
            only_main_file: false,
        }
    }

    /// Uploads one file as a blob (skipped when the network already holds it).
    pub fn upload_file<P: Into<PathBuf>>(
        &self,
        path: P,
    ) -> impl Future<Output = Result<UploadedBlob>> + Send + 'static + use<P> {
        let client = self.client.clone();
        let path = path.into();
        async move {
            let hashed = path.clone();
            let (hash, size) = tokio::task::spawn_blocking(move || hash_file(&hashed))
                .await
                .map_err(|error| Error::io(&path, std::io::Error::other(error)))??;
            let stats =
                upload_blob_if_missing(&client, BlobSource::File(path), &hash, size).await?;
            Ok(UploadedBlob { hash, size, stats })
        }
    }

    /// Uploads bytes as a blob (skipped when the network already holds it).
    pub fn upload_bytes<B: Into<Bytes>>(
        &self,
        bytes: B,
    ) -> impl Future<Output = Result<UploadedBlob>> + Send + 'static + use<B> {
        let client = self.client.clone();
        let bytes: Bytes = bytes.into();
        async move {
            let hash = blake3::hash(&bytes).to_hex().to_string();
            let size = bytes.len() as u64;
            let stats =
                upload_blob_if_missing(&client, BlobSource::Memory(bytes), &hash, size).await?;
            Ok(UploadedBlob { hash, size, stats })
        }
    }

    /// Which of these blobs the caller does not hold yet (`POST /v1/blobs/missing`).
    pub fn missing(
        &self,
        hashes: Vec<String>,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { missing_blobs(&client, hashes).await }
    }

    /// A committed manifest (`GET /v1/assets/{id}`).
    pub fn manifest(
        &self,
        id: &AssetId,
    ) -> impl Future<Output = Result<CommitManifestRequest>> + Send + 'static + use<> {
        let client = self.client.clone();
        let path = routes::asset(id.as_str());
        async move { client.json(Call::get(path)).await }
    }

    /// Downloads a blob to `dest` (atomically, BLAKE3-checked); returns its size.
    pub fn download_blob<P: Into<PathBuf>>(
        &self,
        hash: &str,
        dest: P,
    ) -> impl Future<Output = Result<u64>> + Send + 'static + use<P> {
        let client = self.client.clone();
        let hash = hash.to_ascii_lowercase();
        let dest = dest.into();
        async move {
            check_hash("hash", &hash)?;
            download_to(&client, Call::get(routes::blob(&hash)), &dest, Some(&hash)).await
        }
    }
}

/// A folder upload being configured; from [`Assets::upload_folder`]. Nothing happens until
/// [`send`](UploadFolder::send).
#[must_use = "nothing is uploaded until `send` is awaited"]
pub struct UploadFolder {
    client: Client,
    folder: PathBuf,
    main_file: String,
    progress: Option<ProgressCallback>,
    only_main_file: bool,
}

impl std::fmt::Debug for UploadFolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadFolder")
            .field("folder", &self.folder)
            .field("main_file", &self.main_file)
            .finish_non_exhaustive()
    }
}

impl UploadFolder {
    /// Uploads the main file alone, not the rest of its folder (nothing else is even read): for a
    /// self-contained scene such as a packed `.blend` ([`crate::pack_blend`]).
    pub fn only_main_file(mut self) -> Self {
        self.only_main_file = true;
        self
    }

    /// Calls `callback` with the progress after each chunk (and once at the start and the end).
    pub fn progress(
        mut self,
        callback: impl Fn(UploadProgressEvent) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// Runs the upload and commits the manifest.
    pub fn send(self) -> impl Future<Output = Result<UploadedAsset>> + Send + 'static {
        let span = tracing::info_span!("pictor_upload_folder", folder = %self.folder.display());
        self.run().instrument(span)
    }

    async fn run(self) -> Result<UploadedAsset> {
        let UploadFolder {
            client,
            folder,
            main_file,
            progress,
            only_main_file,
        } = self;
        let scanned = {
            let root = folder.clone();
            let main = main_file.clone();
            tokio::task::spawn_blocking(move || {
                if only_main_file {
                    scan_file(&root, &main).map(|file| vec![file])
                } else {
                    scan_folder(&root)
                }
            })
            .await
            .map_err(|error| Error::io(&folder, std::io::Error::other(error)))??
        };
        let manifest = build_manifest(&scanned, &main_file)?;
        // Each distinct blob once, in manifest order.
        let mut seen = HashSet::new();
        let blobs: Vec<&ScannedFile> = scanned
            .iter()
            .filter(|file| seen.insert(file.entry.hash.clone()))
            .collect();
        let missing: HashSet<String> = missing_blobs(
            &client,
            blobs.iter().map(|file| file.entry.hash.clone()).collect(),
        )
        .await?
        .into_iter()
        .collect();

        let mut stats = UploadStats::default();
        let mut progress_now = UploadProgressEvent {
            bytes_total: blobs.iter().map(|file| file.entry.size).sum(),
            files_total: blobs.len() as u64,
            ..UploadProgressEvent::default()
        };
        for file in blobs
            .iter()
            .filter(|file| !missing.contains(&file.entry.hash))
        {
            progress_now.bytes_done += file.entry.size;
            progress_now.files_done += 1;
            stats.blobs_skipped += 1;
        }
        let report = |event: UploadProgressEvent| {
            if let Some(callback) = &progress {
                callback(event);
            }
        };
        report(progress_now);
        for file in blobs
            .iter()
            .filter(|file| missing.contains(&file.entry.hash))
        {
            let before = progress_now;
            let outcome = upload_blob(
                &client,
                &BlobSource::File(file.absolute.clone()),
                &file.entry.hash,
                file.entry.size,
                &mut |position| {
                    report(UploadProgressEvent {
                        bytes_done: before.bytes_done + position,
                        ..before
                    })
                },
            )
            .await?;
            stats.bytes_sent += outcome.bytes_sent;
            stats.blobs_uploaded += outcome.blobs_uploaded;
            stats.blobs_skipped += outcome.blobs_skipped;
            progress_now.bytes_done += file.entry.size;
            progress_now.files_done += 1;
            report(progress_now);
        }
        let committed: CommittedAsset = client
            .json(Call::post_json(routes::ASSETS, &CommitAssetRequest { manifest })?.repeatable())
            .await?;
        tracing::info!(asset = %committed.id, bytes_sent = stats.bytes_sent, "scene committed");
        Ok(UploadedAsset {
            id: committed.id,
            total_size: committed.total_size,
            files: committed.files,
            stats,
        })
    }
}

/// The manifest of a scanned folder; `main_file` must be one of its files.
fn build_manifest(files: &[ScannedFile], main_file: &str) -> Result<Manifest> {
    let main_file = main_file.trim_start_matches("./").replace('\\', "/");
    if !files.iter().any(|file| file.entry.path == main_file) {
        return Err(Error::invalid(
            "main_file",
            format!("{main_file:?} is not a file of the folder"),
        ));
    }
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        entries.push(ManifestEntry {
            path: file.entry.path.clone(),
            hash: parse_hash(&file.entry.hash)?,
            size: file.entry.size,
        });
    }
    Ok(Manifest { entries, main_file })
}

fn parse_hash(hex: &str) -> Result<BlobHash> {
    hex.parse()
        .map_err(|_| Error::invalid("hash", format!("{hex:?} is not a BLAKE3 hex hash")))
}

/// `POST /v1/blobs/missing`, batched.
async fn missing_blobs(client: &Client, hashes: Vec<String>) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for batch in hashes.chunks(MISSING_BATCH) {
        let request = MissingBlobsRequest {
            hashes: batch.iter().map(|h| parse_hash(h)).collect::<Result<_>>()?,
        };
        let answer: MissingBlobsResponse = client
            .json(Call::post_json(routes::BLOBS_MISSING, &request)?.repeatable())
            .await?;
        missing.extend(answer.missing.iter().map(BlobHash::to_hex));
    }
    Ok(missing)
}

/// Uploads a blob unless the network already holds it.
async fn upload_blob_if_missing(
    client: &Client,
    source: BlobSource,
    hash: &str,
    size: u64,
) -> Result<UploadStats> {
    let missing = missing_blobs(client, vec![hash.to_string()]).await?;
    if missing.is_empty() {
        return Ok(UploadStats {
            blobs_skipped: 1,
            ..UploadStats::default()
        });
    }
    upload_blob(client, &source, hash, size, &mut |_| {}).await
}

/// Uploads one blob in chunks, resuming where the network says its staged copy ends, and following
/// a `409 … expected offset N` correction. `on_position` gets the bytes staged after each chunk.
async fn upload_blob(
    client: &Client,
    source: &BlobSource,
    hash: &str,
    size: u64,
    on_position: &mut (dyn FnMut(u64) + Send),
) -> Result<UploadStats> {
    let status_call = Call::get(routes::blob_upload(hash)).query_of(&UploadStatusQuery { size })?;
    let status: UploadProgress = match client.json(status_call).await {
        Ok(status) => status,
        // Nothing staged yet may be told as "no such upload": start from zero.
        Err(error) if error.code() == Some(ErrorCode::NotFound) => UploadProgress {
            received: 0,
            complete: false,
        },
        Err(error) => return Err(error),
    };
    if status.complete {
        return Ok(UploadStats {
            blobs_skipped: 1,
            ..UploadStats::default()
        });
    }
    if status.received > size {
        return Err(Error::decode(
            "upload status",
            format!("{} bytes staged of a {size}-byte blob", status.received),
        ));
    }
    tracing::debug!(hash, size, resume_at = status.received, "uploading blob");
    let mut offset = status.received;
    on_position(offset);
    let mut file = match source {
        BlobSource::File(path) => Some((
            path,
            tokio::fs::File::open(path)
                .await
                .map_err(|error| Error::io(path, error))?,
        )),
        BlobSource::Memory(_) => None,
    };
    let chunk_size = client.config().chunk_size;
    let mut bytes_sent = 0u64;
    let mut corrections = 0u32;
    loop {
        let len = chunk_size.min(size - offset);
        let chunk = match (&mut file, source) {
            (Some((path, file)), _) => read_chunk(path, file, offset, len).await?,
            (None, BlobSource::Memory(bytes)) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let end = usize::try_from(offset + len)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes.slice(start..end)
            }
            (None, BlobSource::File(path)) => {
                return Err(Error::io(path, std::io::Error::other("file not open")));
            }
        };
        let call = Call::put_bytes(routes::blob(hash), chunk)
            .query_of(&UploadChunkQuery { size, offset })?
            .unbounded();
        match client.json::<UploadProgress>(call).await {
            Ok(status) => {
                bytes_sent += len;
                if status.complete {
                    on_position(size);
                    break;
                }
                if status.received <= offset || status.received > size {
                    return Err(Error::decode(
                        "upload status",
                        format!(
                            "chunk at {offset} of {len} bytes left {} bytes staged, incomplete",
                            status.received
                        ),
                    ));
                }
                offset = status.received;
                on_position(offset);
            }
            Err(error) => match expected_offset(&error) {
                Some(expected) if expected <= size && corrections < MAX_OFFSET_CORRECTIONS => {
                    tracing::debug!(offset, expected, "server expects another offset");
                    corrections += 1;
                    offset = expected;
                }
                _ => return Err(error),
            },
        }
    }
    Ok(UploadStats {
        bytes_sent,
        blobs_uploaded: 1,
        blobs_skipped: 0,
    })
}

async fn read_chunk(
    path: &Path,
    file: &mut tokio::fs::File,
    offset: u64,
    len: u64,
) -> Result<Bytes> {
    let len =
        usize::try_from(len).map_err(|_| Error::invalid("chunk_size", "does not fit in memory"))?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|error| Error::io(path, error))?;
    let mut buffer = vec![0u8; len];
    file.read_exact(&mut buffer)
        .await
        .map_err(|error| Error::io(path, error))?;
    Ok(Bytes::from(buffer))
}

/// The `N` of a `409 conflict` whose message says `expected offset N`.
fn expected_offset(error: &Error) -> Option<u64> {
    let Error::Api {
        code: ErrorCode::Conflict,
        message,
        ..
    } = error
    else {
        return None;
    };
    let rest = &message[message.find("expected offset")? + "expected offset".len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Refuses anything but 64 hex digits.
pub(crate) fn check_hash(field: &str, hash: &str) -> Result<()> {
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must be 64 hex digits (a BLAKE3 hash)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(message: &str) -> Error {
        Error::Api {
            status: 409,
            code: ErrorCode::Conflict,
            message: message.into(),
            field: None,
            request_id: None,
        }
    }

    #[test]
    fn expected_offset_is_read_from_conflicts_only() {
        assert_eq!(
            expected_offset(&conflict("wrong offset 5: expected offset 8388608")),
            Some(8_388_608)
        );
        assert_eq!(expected_offset(&conflict("expected offset 0.")), Some(0));
        assert_eq!(expected_offset(&conflict("some other conflict")), None);
        let stale = Error::Api {
            status: 409,
            code: ErrorCode::StaleLease,
            message: "expected offset 3".into(),
            field: None,
            request_id: None,
        };
        assert_eq!(expected_offset(&stale), None);
    }

    #[test]
    fn manifest_needs_its_main_file() {
        let file = |path: &str| ScannedFile {
            entry: FileEntry {
                path: path.into(),
                hash: "00".repeat(32),
                size: 1,
            },
            absolute: PathBuf::from(path),
        };
        let files = [file("a.blend"), file("tex/b.png")];
        let manifest = build_manifest(&files, "./a.blend").unwrap();
        assert_eq!(manifest.main_file, "a.blend");
        assert_eq!(manifest.entries.len(), 2);
        assert!(build_manifest(&files, "missing.blend").is_err());
        let json = serde_json::to_value(CommitAssetRequest { manifest }).unwrap();
        assert_eq!(json["manifest"]["main_file"], "a.blend");
        assert_eq!(json["manifest"]["entries"][1]["path"], "tex/b.png");
    }

    #[test]
    fn hashes_are_checked() {
        assert!(check_hash("h", &"ab".repeat(32)).is_ok());
        assert!(check_hash("h", "abc").is_err());
        assert!(check_hash("h", &"zz".repeat(32)).is_err());
    }
}
