//! [`BlobLocation`]: where a coordinator keeps its blobs, as `pictor serve --blobs` names it, and
//! opening the store there.

use super::either::Blobs;
use super::error::{BlobError, BlobResult};
use super::fs::FsBlobStore;
use super::object::ObjectBlobStore;
use super::upload::BlobLimits;
use object_store::aws::AmazonS3Builder;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the blobs live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BlobLocation {
    /// The `blobs/` folder of the data directory: the default, and what `pictor demo` uses.
    #[default]
    DataDir,
    /// Another local folder (e.g. a shared file system all replicas mount).
    Folder(PathBuf),
    /// An S3 bucket, or a bucket of any S3-compatible service, under an optional key prefix.
    /// Credentials, region and endpoint come from the standard `AWS_*` environment variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` for a
    /// service other than AWS, `AWS_ALLOW_HTTP=true` for one without TLS), never from the URL.
    S3 {
        /// The bucket's name.
        bucket: String,
        /// Keys start with this (no leading or trailing `/`; empty for the bucket's root).
        prefix: String,
    },
}

impl BlobLocation {
    /// Parses `--blobs`: `s3://BUCKET[/PREFIX]`, or a folder path.
    pub fn parse(text: &str) -> BlobResult<BlobLocation> {
        let invalid = |reason: String| BlobError::InvalidInput {
            field: "blobs".into(),
            reason,
        };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.contains('@') || bucket.contains(':') {
                return Err(invalid(
                    "the URL names only the bucket: credentials go in AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY, an endpoint in AWS_ENDPOINT_URL"
                        .into(),
                ));
            }
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !valid_bucket {
                return Err(invalid(format!(
                    "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, '-' or '.')"
                )));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|part| part == "." || part == "..") {
                return Err(invalid(format!(
                    "the key prefix {prefix:?} has . or .. parts"
                )));
            }
            return Ok(BlobLocation::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        if text.contains("://") {
            return Err(invalid(format!(
                "{text:?}: blobs go in a folder or in s3://BUCKET[/PREFIX]"
            )));
        }
        if text.is_empty() {
            return Err(invalid("names no folder".into()));
        }
        Ok(BlobLocation::Folder(PathBuf::from(text)))
    }

    /// Opens the blob store here (`data_dir` holds the default folder). An object store is asked
    /// once for an object that does not exist, so that a wrong bucket, endpoint or credentials
    /// stop the start with the reason rather than fail each upload.
    pub async fn open(&self, data_dir: &Path, limits: BlobLimits) -> BlobResult<Blobs> {
        match self {
            BlobLocation::DataDir => Ok(FsBlobStore::open(data_dir.join(BLOBS_DIR), limits)
                .await?
                .into()),
            BlobLocation::Folder(folder) => {
                Ok(FsBlobStore::open(folder.clone(), limits).await?.into())
            }
            BlobLocation::S3 { bucket, prefix } => {
                Ok(open_s3(bucket, prefix, limits).await?.into())
            }
        }
    }
}

/// Opens the object store on an S3 bucket (settings from the `AWS_*` environment) and asks it once
/// for an object that does not exist, so that a wrong bucket, endpoint or credentials show now.
pub async fn open_s3(
    bucket: &str,
    prefix: &str,
    limits: BlobLimits,
) -> BlobResult<ObjectBlobStore> {
    pictor_sdk::install_tls_provider();
    // A few quick retries of a failed request, then the error: a client waiting on
    // an upload or a download is answered 503 and retries itself, rather than hang for
    // the crate's default three minutes.
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(10),
        ..RetryConfig::default()
    };
    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry)
        .build()
        .map_err(|error| BlobError::InvalidInput {
            field: "blobs".into(),
            reason: format!("cannot configure the S3 client: {error}"),
        })?;
    let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(PrefixStore::new(s3, prefix))
    };
    let probe = object_store::path::Path::from("pictor-probe");
    match objects.head(&probe).await {
        Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
        Err(error) => {
            return Err(BlobError::Remote {
                context: format!("reaching s3://{bucket}/{prefix}"),
                source: Box::new(error),
            });
        }
    }
    ObjectBlobStore::new(objects, limits)
}

/// The blob folder inside a data directory.
pub const BLOBS_DIR: &str = "blobs";

#[cfg(test)]
mod tests {
    use super::BlobLocation;

    #[test]
    fn a_location_is_a_folder_or_an_s3_bucket_without_credentials() {
        assert_eq!(
            BlobLocation::parse("s3://pictor-blobs").ok(),
            Some(BlobLocation::S3 {
                bucket: "pictor-blobs".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            BlobLocation::parse("s3://pictor-blobs/network/one/").ok(),
            Some(BlobLocation::S3 {
                bucket: "pictor-blobs".into(),
                prefix: "network/one".into()
            })
        );
        assert_eq!(
            BlobLocation::parse("/srv/blobs").ok(),
            Some(BlobLocation::Folder("/srv/blobs".into()))
        );
        for refused in [
            "s3://KEY:SECRET@bucket",
            "s3://Upper",
            "s3://ab",
            "s3://bucket/../other",
            "gs://bucket",
            "",
        ] {
            assert!(
                BlobLocation::parse(refused).is_err(),
                "{refused} was accepted"
            );
        }
        let error = BlobLocation::parse("s3://KEY:hunter2@bucket")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!error.contains("hunter2"), "the secret is echoed: {error}");
    }
}
