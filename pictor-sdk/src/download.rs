//! Streaming a response to a file atomically, checking its BLAKE3 hash on the way.

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Downloads `call`'s answer into `dest`: written to a temporary file beside it, hashed while
/// streaming, renamed into place only when the BLAKE3 hex equals `expected` (when given). A
/// transient failure mid-stream restarts the download, within the client's retry policy.
/// Returns the number of bytes written.
pub(crate) async fn download_to(
    client: &Client,
    call: Call,
    dest: &Path,
    expected: Option<&str>,
) -> Result<u64> {
    let policy = client.config().retry;
    let mut retries = 0u32;
    loop {
        match download_once(client, call.clone(), dest, expected).await {
            Ok(size) => return Ok(size),
            Err(error) if error.is_retryable() && retries < policy.max_retries => {
                let delay = policy.delay_with_hint(retries, None);
                tracing::debug!(retry = retries + 1, %error, "restarting download");
                retries += 1;
                tokio::time::sleep(delay).await;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn download_once(
    client: &Client,
    call: Call,
    dest: &Path,
    expected: Option<&str>,
) -> Result<u64> {
    let response = client.streaming(call.unbounded()).await?;
    let partial = partial_path(dest);
    let result = write_stream(response, &partial, expected).await;
    match result {
        Ok(size) => {
            tokio::fs::rename(&partial, dest)
                .await
                .map_err(|error| Error::io(dest, error))?;
            Ok(size)
        }
        Err(error) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(error)
        }
    }
}

async fn write_stream(
    response: reqwest::Response,
    partial: &Path,
    expected: Option<&str>,
) -> Result<u64> {
    let mut file = tokio::fs::File::create(partial)
        .await
        .map_err(|error| Error::io(partial, error))?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(Error::transport)?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|error| Error::io(partial, error))?;
    }
    file.flush()
        .await
        .map_err(|error| Error::io(partial, error))?;
    file.sync_all()
        .await
        .map_err(|error| Error::io(partial, error))?;
    let actual = hasher.finalize().to_hex().to_string();
    if let Some(expected) = expected
        && !actual.eq_ignore_ascii_case(expected)
    {
        return Err(Error::Integrity {
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(size)
}

/// A hidden temporary name beside `dest`, unique per download.
fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_string());
    let tag: u32 = rand::Rng::random(&mut crate::retry::fresh_rng());
    dest.with_file_name(format!(".{name}.{tag:08x}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_files_sit_beside_the_destination_hidden() {
        let partial = partial_path(Path::new("/tmp/out/frame_0001.png"));
        assert_eq!(partial.parent(), Some(Path::new("/tmp/out")));
        let name = partial.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".frame_0001.png."));
        assert!(name.ends_with(".partial"));
    }
}
