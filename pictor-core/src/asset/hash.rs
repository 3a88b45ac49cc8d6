//! [`BlobHash`], the BLAKE3 address of one blob (a scene file or a rendered frame), and streaming
//! hashing of readers and files.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

/// Size of the read buffer used by [`hash_reader`] and [`hash_file`].
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// The BLAKE3 hash of a blob's bytes: the blob's address in every store.
///
/// On the wire (serde, [`Display`](fmt::Display)) it is 64 lowercase hex digits; parsing accepts
/// either case and rejects any other length or any non-hex character.
///
/// ```
/// use pictor_core::asset::BlobHash;
///
/// let hash = BlobHash::of_bytes(b"scene");
/// let text = hash.to_string();
/// assert_eq!(text.len(), 64);
/// assert_eq!(text.parse::<BlobHash>().unwrap(), hash);
/// assert!("abc".parse::<BlobHash>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobHash([u8; 32]);

impl BlobHash {
    /// Wraps 32 raw hash bytes.
    pub const fn from_raw(bytes: [u8; 32]) -> Self {
        BlobHash(bytes)
    }

    /// The 32 raw hash bytes.
    pub const fn as_raw(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        BlobHash(*blake3::hash(bytes).as_bytes())
    }

    /// The 64 lowercase hex digits of the hash.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<blake3::Hash> for BlobHash {
    fn from(hash: blake3::Hash) -> Self {
        BlobHash(*hash.as_bytes())
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.to_hex())
    }
}

impl FromStr for BlobHash {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(
                "hash",
                format!("a blob hash must be 64 hex digits (a BLAKE3 hash), got {text:?}"),
            )
        };
        if text.len() != 64 {
            return Err(invalid());
        }
        let mut raw = [0u8; 32];
        hex::decode_to_slice(text, &mut raw).map_err(|_| invalid())?;
        Ok(BlobHash(raw))
    }
}

impl TryFrom<String> for BlobHash {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<BlobHash> for String {
    fn from(hash: BlobHash) -> String {
        hash.to_hex()
    }
}

/// Hashes everything `reader` yields, 64 KiB at a time; answers the hash and the number of bytes read.
pub fn hash_reader<R: Read>(mut reader: R) -> std::io::Result<(BlobHash, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    let mut total: u64 = 0;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        // `read <= buffer.len()` by `Read`'s contract; `get` keeps a misbehaving reader from panicking.
        let chunk = buffer.get(..read).ok_or_else(|| {
            std::io::Error::other("reader reported more bytes than the buffer holds")
        })?;
        hasher.update(chunk);
        total += read as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// Hashes the file at `path` without loading it into memory; answers the hash and the file's size.
///
/// A failure to open or read is an [`Error::Io`] naming the path.
pub fn hash_file(path: &Path) -> Result<(BlobHash, u64)> {
    let file = std::fs::File::open(path).map_err(|error| Error::io(path, &error))?;
    hash_reader(file).map_err(|error| Error::io(path, &error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_lowercase_output() {
        let hash = BlobHash::of_bytes(b"hello");
        assert_eq!(hash.to_hex(), blake3::hash(b"hello").to_hex().as_str());
        let upper = hash.to_hex().to_ascii_uppercase();
        assert_eq!(upper.parse::<BlobHash>().expect("upper case parses"), hash);
        let json = serde_json::to_string(&hash).expect("json");
        assert_eq!(json, format!("\"{}\"", hash.to_hex()));
        assert_eq!(serde_json::from_str::<BlobHash>(&json).expect("back"), hash);
    }

    #[test]
    fn rejects_bad_lengths_and_non_hex() {
        let good = BlobHash::of_bytes(b"x").to_hex();
        let cases = [
            String::new(),
            good[..63].to_string(),
            format!("{good}0"),
            format!("{}g", &good[..63]),
            format!("{}é", &good[..62]),
            " ".repeat(64),
        ];
        for text in cases {
            let error = text.parse::<BlobHash>().expect_err(&text);
            assert_eq!(error.field(), Some("hash"), "{text:?}");
            assert!(serde_json::from_value::<BlobHash>(text.into()).is_err());
        }
    }

    #[test]
    fn streaming_hash_matches_one_shot_across_buffer_boundaries() {
        let data: Vec<u8> = (0..(READ_BUFFER_BYTES * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let (hash, size) = hash_reader(&data[..]).expect("hash");
        assert_eq!(hash, BlobHash::of_bytes(&data));
        assert_eq!(size, data.len() as u64);

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("blob");
        std::fs::write(&path, &data).expect("write");
        assert_eq!(hash_file(&path).expect("file"), (hash, size));
        let missing = hash_file(&dir.path().join("missing")).expect_err("missing");
        assert!(matches!(missing, Error::Io { ref path, .. } if path.ends_with("missing")));
    }
}
