//! Content-addressed scene assets: [`BlobHash`] (the BLAKE3 address of a file), the scene
//! [`Manifest`] and its validation, the safe scene-relative path rules, and [`scan_folder`], which
//! builds a manifest from a local folder. Pure and synchronous: no network I/O.
//!
//! A scene is uploaded as its blobs (each file, addressed by hash, so a file shared by two scenes
//! or uploaded twice is stored once) plus a manifest naming them; the manifest's
//! [`asset_id`](Manifest::asset_id) is the scene's id.

pub mod blend;
mod hash;
mod manifest;
mod path;
mod scan;

pub use hash::{BlobHash, hash_file, hash_reader};
pub use manifest::{Manifest, ManifestEntry, ManifestLimits};
pub use path::{MAX_COMPONENT_BYTES, check_relative_path, safe_join};
pub use scan::{LocalFile, ScannedFolder, scan_folder};
