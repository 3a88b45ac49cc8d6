//! A scene's [`Manifest`]: every file of the scene folder by path, hash and size, its validation
//! against [`ManifestLimits`], and its content address, [`Manifest::asset_id`].

use super::hash::BlobHash;
use super::path::check_relative_path;
use crate::error::{Error, Result};
use crate::ids::AssetId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Domain tag hashed before a manifest's canonical encoding, so an asset id can never equal the
/// hash of some other kind of data. Bump the version if the encoding ever changes.
const ASSET_ID_DOMAIN: &[u8] = b"pictor.manifest.v1\0";

/// One file of a scene.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ManifestEntry {
    /// Path relative to the scene folder, `/`-separated (see
    /// [`check_relative_path`](super::check_relative_path) for the rules).
    pub path: String,
    /// BLAKE3 hash of the file's bytes.
    pub hash: BlobHash,
    /// Size in bytes.
    pub size: u64,
}

/// Every file of a scene and the one the renderer opens.
///
/// ```
/// use pictor_core::asset::{BlobHash, Manifest, ManifestEntry, ManifestLimits};
///
/// let entry = |path: &str, bytes: &[u8]| ManifestEntry {
///     path: path.into(),
///     hash: BlobHash::of_bytes(bytes),
///     size: bytes.len() as u64,
/// };
/// let manifest = Manifest {
///     entries: vec![entry("scene.blend", b"BLENDER"), entry("tex/wood.png", b"PNG")],
///     main_file: "scene.blend".into(),
/// };
/// manifest.validate(&ManifestLimits::default()).unwrap();
/// assert_eq!(manifest.total_size(), 10);
///
/// let mut reordered = manifest.clone();
/// reordered.entries.reverse();
/// assert_eq!(reordered.asset_id(), manifest.asset_id());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Manifest {
    /// The scene's files, in any order.
    pub entries: Vec<ManifestEntry>,
    /// The path (one of `entries`) that Blender or the built-in renderer opens.
    pub main_file: String,
}

/// Bounds a manifest must respect; the defaults suit a large production scene.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestLimits {
    /// Most files in one scene. Default 100 000.
    pub max_entries: usize,
    /// Largest single file, bytes. Default 8 GiB.
    pub max_blob_bytes: u64,
    /// Largest scene (sum of all sizes), bytes. Default 64 GiB.
    pub max_total_bytes: u64,
    /// Longest path, bytes of UTF-8. Default 1024.
    pub max_path_bytes: usize,
}

impl Default for ManifestLimits {
    fn default() -> Self {
        ManifestLimits {
            max_entries: 100_000,
            max_blob_bytes: 8 << 30,
            max_total_bytes: 64 << 30,
            max_path_bytes: 1024,
        }
    }
}

impl Manifest {
    /// Checks the manifest against `limits`; the error names the offending field
    /// (`entries`, `entries[3].path`, `entries[3].size`, `main_file`).
    ///
    /// Rejected: no entries, or more than `max_entries`; any path that breaks
    /// [`check_relative_path`](super::check_relative_path) or is longer than `max_path_bytes`; two
    /// paths equal up to ASCII case (they collide on Windows and macOS workers); a path that is also
    /// a folder of another (`a` and `a/b`, again ignoring ASCII case); a size over `max_blob_bytes`;
    /// a total over `max_total_bytes`; a `main_file` that is not one of the entries' paths.
    pub fn validate(&self, limits: &ManifestLimits) -> Result<()> {
        if self.entries.is_empty() {
            return Err(Error::invalid("entries", "a scene needs at least one file"));
        }
        if self.entries.len() > limits.max_entries {
            return Err(Error::invalid(
                "entries",
                format!(
                    "{} files; the limit is {}",
                    self.entries.len(),
                    limits.max_entries
                ),
            ));
        }
        for (index, entry) in self.entries.iter().enumerate() {
            let field = format!("entries[{index}].path");
            check_relative_path(&entry.path, &field)?;
            if entry.path.len() > limits.max_path_bytes {
                return Err(Error::invalid(
                    field,
                    format!(
                        "the path is {} bytes; the limit is {}",
                        entry.path.len(),
                        limits.max_path_bytes
                    ),
                ));
            }
            if entry.size > limits.max_blob_bytes {
                return Err(Error::invalid(
                    format!("entries[{index}].size"),
                    format!(
                        "{:?} is {} bytes; the limit per file is {}",
                        entry.path, entry.size, limits.max_blob_bytes
                    ),
                ));
            }
        }
        check_collisions(&self.entries)?;
        let total = self.total_size();
        if total > limits.max_total_bytes {
            return Err(Error::invalid(
                "entries",
                format!(
                    "the scene totals {total} bytes; the limit is {}",
                    limits.max_total_bytes
                ),
            ));
        }
        if !self
            .entries
            .iter()
            .any(|entry| entry.path == self.main_file)
        {
            return Err(Error::invalid(
                "main_file",
                format!("{:?} is not one of the manifest's paths", self.main_file),
            ));
        }
        Ok(())
    }

    /// The sum of the entries' sizes (saturating at `u64::MAX`).
    pub fn total_size(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |total, entry| total.saturating_add(entry.size))
    }

    /// The scene's content address: BLAKE3 of a canonical binary encoding, so the same files give
    /// the same id whatever the entries' order.
    ///
    /// The encoding is a domain tag, the entry count (u64 LE), then for each entry sorted by path
    /// (then hash, then size) its path length (u64 LE), path bytes, 32 hash bytes and size (u64 LE),
    /// and last the `main_file` length (u64 LE) and bytes. Validate the manifest first: the id of an
    /// invalid manifest is well defined but names nothing a worker can render.
    pub fn asset_id(&self) -> AssetId {
        let mut sorted: Vec<&ManifestEntry> = self.entries.iter().collect();
        sorted.sort_by(|a, b| (&a.path, &a.hash, a.size).cmp(&(&b.path, &b.hash, b.size)));
        let mut hasher = blake3::Hasher::new();
        hasher.update(ASSET_ID_DOMAIN);
        hasher.update(&(sorted.len() as u64).to_le_bytes());
        for entry in sorted {
            hasher.update(&(entry.path.len() as u64).to_le_bytes());
            hasher.update(entry.path.as_bytes());
            hasher.update(entry.hash.as_raw());
            hasher.update(&entry.size.to_le_bytes());
        }
        hasher.update(&(self.main_file.len() as u64).to_le_bytes());
        hasher.update(self.main_file.as_bytes());
        AssetId::from_hash(hasher.finalize())
    }
}

/// Rejects two paths equal up to ASCII case, and a path that is also a folder prefix of another.
/// Paths must already have passed [`check_relative_path`].
fn check_collisions(entries: &[ManifestEntry]) -> Result<()> {
    let mut files: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        if let Some(first) = files.insert(entry.path.to_ascii_lowercase(), index) {
            return Err(Error::invalid(
                format!("entries[{index}].path"),
                format!(
                    "{:?} duplicates entries[{first}].path {:?} (paths must differ in more than ASCII case)",
                    entry.path, entries[first].path
                ),
            ));
        }
    }
    for (index, entry) in entries.iter().enumerate() {
        let lower = entry.path.to_ascii_lowercase();
        for (cut, _) in lower.match_indices('/') {
            let folder = &lower[..cut];
            if let Some(&file) = files.get(folder) {
                return Err(Error::invalid(
                    format!("entries[{index}].path"),
                    format!(
                        "{:?} lies inside {:?}, which entries[{file}] declares as a file",
                        entry.path, entries[file].path
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(path: &str, size: u64) -> ManifestEntry {
        ManifestEntry {
            path: path.to_string(),
            hash: BlobHash::of_bytes(path.as_bytes()),
            size,
        }
    }

    fn manifest(paths: &[&str]) -> Manifest {
        Manifest {
            entries: paths.iter().map(|path| entry(path, 10)).collect(),
            main_file: paths.first().map(|p| p.to_string()).unwrap_or_default(),
        }
    }

    #[test]
    fn accepts_a_typical_scene() {
        let scene = manifest(&[
            "scene.blend",
            "tex/wood.png",
            "tex/Wood2.png",
            "a/b/c/d.exr",
        ]);
        scene.validate(&ManifestLimits::default()).expect("valid");
        assert_eq!(scene.total_size(), 40);
    }

    #[test]
    fn rejects_each_rule_naming_the_field() {
        let limits = ManifestLimits {
            max_entries: 4,
            max_blob_bytes: 100,
            max_total_bytes: 250,
            max_path_bytes: 20,
        };
        let with = |edit: &dyn Fn(&mut Manifest)| {
            let mut scene = manifest(&["main.blend", "tex/a.png", "tex/b.png"]);
            edit(&mut scene);
            scene
        };
        let cases: Vec<(&str, Manifest, &str, &str)> = vec![
            (
                "empty",
                with(&|m| m.entries.clear()),
                "entries",
                "at least one",
            ),
            (
                "too many",
                with(&|m| m.entries.extend([entry("x", 1), entry("y", 1)])),
                "entries",
                "5 files",
            ),
            (
                "empty path",
                with(&|m| m.entries[1].path.clear()),
                "entries[1].path",
                "empty",
            ),
            (
                "absolute",
                with(&|m| m.entries[2].path = "/x".into()),
                "entries[2].path",
                "absolute",
            ),
            (
                "drive",
                with(&|m| m.entries[1].path = "C:".into()),
                "entries[1].path",
                "':'",
            ),
            (
                "drive path",
                with(&|m| m.entries[1].path = "c:/x".into()),
                "entries[1].path",
                "':'",
            ),
            (
                "backslash",
                with(&|m| m.entries[1].path = "a\\b".into()),
                "entries[1].path",
                "backslash",
            ),
            (
                "dotdot",
                with(&|m| m.entries[1].path = "a/../b".into()),
                "entries[1].path",
                "\"..\"",
            ),
            (
                "dot",
                with(&|m| m.entries[1].path = "./b".into()),
                "entries[1].path",
                "\".\"",
            ),
            (
                "double slash",
                with(&|m| m.entries[1].path = "a//b".into()),
                "entries[1].path",
                "empty component",
            ),
            (
                "trailing slash",
                with(&|m| m.entries[1].path = "a/".into()),
                "entries[1].path",
                "empty component",
            ),
            (
                "nul",
                with(&|m| m.entries[1].path = "a\0".into()),
                "entries[1].path",
                "control",
            ),
            (
                "tab",
                with(&|m| m.entries[1].path = "a\tb".into()),
                "entries[1].path",
                "control",
            ),
            (
                "long path",
                with(&|m| m.entries[2].path = format!("{}x", "abcde/".repeat(4))),
                "entries[2].path",
                "limit is 20",
            ),
            (
                "long component",
                with(&|m| m.entries[2].path = "x".repeat(256)),
                "entries[2].path",
                "256 bytes",
            ),
            (
                "duplicate",
                with(&|m| m.entries[2].path = "tex/a.png".into()),
                "entries[2].path",
                "duplicates entries[1].path",
            ),
            (
                "case duplicate",
                with(&|m| m.entries[2].path = "TEX/A.png".into()),
                "entries[2].path",
                "duplicates entries[1].path",
            ),
            (
                "file and folder",
                with(&|m| m.entries[0].path = "tex".into()),
                "entries[1].path",
                "inside \"tex\"",
            ),
            (
                "file and folder by case",
                with(&|m| m.entries[0].path = "TeX".into()),
                "entries[1].path",
                "inside \"TeX\"",
            ),
            (
                "blob size",
                with(&|m| m.entries[1].size = 101),
                "entries[1].size",
                "limit per file is 100",
            ),
            (
                "total size",
                with(&|m| m.entries.iter_mut().for_each(|e| e.size = 90)),
                "entries",
                "totals 270",
            ),
            (
                "missing main",
                with(&|m| m.main_file = "other.blend".into()),
                "main_file",
                "not one of",
            ),
            (
                "empty main",
                with(&|m| m.main_file.clear()),
                "main_file",
                "not one of",
            ),
            (
                "main differs by case",
                with(&|m| m.main_file = "Main.blend".into()),
                "main_file",
                "not one of",
            ),
        ];
        for (name, scene, field, why) in cases {
            let before = scene.clone();
            let error = scene.validate(&limits).expect_err(name);
            assert_eq!(error.field(), Some(field), "{name}: {error}");
            assert!(error.to_string().contains(why), "{name}: {error}");
            assert_eq!(scene, before, "{name}: validation changed the manifest");
        }
    }

    #[test]
    fn asset_id_ignores_order_but_not_content() {
        let scene = manifest(&["main.blend", "tex/a.png", "tex/b.png", "z"]);
        let mut shuffled = scene.clone();
        shuffled.entries.rotate_left(2);
        shuffled.entries.swap(0, 1);
        assert_eq!(shuffled.asset_id(), scene.asset_id());

        let mut other_size = scene.clone();
        other_size.entries[1].size += 1;
        let mut other_hash = scene.clone();
        other_hash.entries[1].hash = BlobHash::of_bytes(b"changed");
        let mut other_path = scene.clone();
        other_path.entries[1].path = "tex/c.png".into();
        let mut other_main = scene.clone();
        other_main.main_file = "z".into();
        let ids =
            [&scene, &other_size, &other_hash, &other_path, &other_main].map(Manifest::asset_id);
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn asset_id_is_length_prefixed() {
        // Without length prefixes "ab" + "c" and "a" + "bc" would encode alike.
        let one = Manifest {
            entries: vec![entry("ab", 1)],
            main_file: "c".into(),
        };
        let mut two = one.clone();
        two.entries[0].path = "a".into();
        two.main_file = "bc".into();
        assert_ne!(one.asset_id(), two.asset_id());
    }

    #[test]
    fn serde_round_trip() {
        let scene = manifest(&["main.blend", "tex/a.png"]);
        let json = serde_json::to_value(&scene).expect("json");
        assert_eq!(json["entries"][0]["hash"], scene.entries[0].hash.to_hex());
        assert_eq!(
            serde_json::from_value::<Manifest>(json).expect("back"),
            scene
        );
    }

    proptest! {
        #[test]
        fn validate_never_panics(
            paths in proptest::collection::vec(any::<String>(), 0..6),
            sizes in proptest::collection::vec(any::<u64>(), 6),
            main in any::<String>(),
        ) {
            let scene = Manifest {
                entries: paths.iter().zip(&sizes).map(|(p, s)| entry(p, *s)).collect(),
                main_file: main,
            };
            let _ = scene.validate(&ManifestLimits::default());
            let _ = scene.asset_id();
        }

        #[test]
        fn validate_never_panics_on_path_like_strings(
            paths in proptest::collection::vec("[aA/.:\\\\\0]{0,6}", 1..6),
        ) {
            let scene = Manifest {
                main_file: paths[0].clone(),
                entries: paths.iter().map(|p| entry(p, 1)).collect(),
            };
            if scene.validate(&ManifestLimits::default()).is_ok() {
                let mut lower: Vec<String> = paths.iter().map(|p| p.to_ascii_lowercase()).collect();
                lower.sort();
                lower.dedup();
                prop_assert_eq!(lower.len(), paths.len());
            }
        }
    }
}
