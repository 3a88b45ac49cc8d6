//! Strongly typed identifiers. Each is a `u64` on the wire (`#[serde(transparent)]`), so a job id can
//! never be passed where a worker id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(text: &str) -> crate::Result<Self> {
                text.trim().parse::<u64>().map($name).map_err(|_| {
                    crate::Error::invalid(stringify!($name), format!("{text:?} is not a number"))
                })
            }
        }

        impl From<u64> for $name {
            fn from(raw: u64) -> Self {
                $name(raw)
            }
        }
    };
}

define_id!(
    /// A render job submitted by a creator.
    JobId
);
define_id!(
    /// One task of a job: a chunk of frames or a tile of a still.
    TaskId
);
define_id!(
    /// A worker: one GPU machine, or a render farm presented as a bulk offer.
    WorkerId
);
define_id!(
    /// An account holding money or owning jobs, workers and checkers.
    AccountId
);
define_id!(
    /// A checker: the account id of a checker key, which leases checks and posts verdicts.
    CheckerId
);
define_id!(
    /// One verification of one task result: a checker leases it, and its verdict settles or
    /// requeues the task. An escalated result gets a new check.
    CheckId
);

/// A content-addressed scene: the BLAKE3 hash (64 lowercase hex digits) of the scene's manifest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetId(String);

impl AssetId {
    /// Validates and wraps a 64-digit hex BLAKE3 hash.
    pub fn new(hex_hash: impl Into<String>) -> crate::Result<Self> {
        let text: String = hex_hash.into();
        let ok = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(crate::Error::invalid(
                "scene",
                format!("asset id must be 64 hex digits (a BLAKE3 hash), got {text:?}"),
            ));
        }
        Ok(AssetId(text.to_ascii_lowercase()))
    }

    /// The asset id of some bytes (used for manifests and tests).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        AssetId(blake3::hash(bytes).to_hex().to_string())
    }

    /// The asset id holding a finished BLAKE3 hash (see `asset::Manifest::asset_id`).
    pub fn from_hash(hash: blake3::Hash) -> Self {
        AssetId(hash.to_hex().to_string())
    }

    /// The 64 lowercase hex digits of the hash, as on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AssetId {
    type Error = crate::Error;
    fn try_from(text: String) -> crate::Result<Self> {
        AssetId::new(text)
    }
}

impl From<AssetId> for String {
    fn from(id: AssetId) -> String {
        id.0
    }
}

impl FromStr for AssetId {
    type Err = crate::Error;
    fn from_str(text: &str) -> crate::Result<Self> {
        AssetId::new(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_id_rejects_bad_hex_and_normalises_case() {
        assert!(AssetId::new("abc").is_err());
        assert!(AssetId::new("g".repeat(64)).is_err());
        let id = AssetId::new("AB".repeat(32)).expect("valid");
        assert_eq!(id.as_str(), "ab".repeat(32));
        let json = serde_json::to_string(&id).expect("serialize");
        let back: AssetId = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, id);
        assert!(serde_json::from_str::<AssetId>("\"nothex\"").is_err());
    }

    #[test]
    fn ids_round_trip_and_reject_text() {
        assert_eq!("42".parse::<JobId>().expect("number"), JobId(42));
        assert!("x".parse::<JobId>().is_err());
        assert_eq!(serde_json::to_string(&WorkerId(7)).expect("json"), "7");
    }
}
