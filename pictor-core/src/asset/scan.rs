//! [`scan_folder`]: walk a local scene folder, hash every file and build its [`Manifest`].

use super::hash::hash_file;
use super::manifest::{Manifest, ManifestEntry, ManifestLimits};
use super::path::check_relative_path;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// One file found by [`scan_folder`]: its manifest entry and where it lies on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    /// The file's path (relative to the scene folder), hash and size.
    pub entry: ManifestEntry,
    /// The file on this machine, for uploading.
    pub disk_path: PathBuf,
}

/// A scanned scene folder: the manifest to commit and the local files behind its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedFolder {
    /// The validated manifest; its entries are in the same order as `files`.
    pub manifest: Manifest,
    /// Every regular file of the folder, in path order (byte-wise, folder by folder).
    pub files: Vec<LocalFile>,
}

/// Walks `root` recursively, hashes every regular file and returns the validated manifest with
/// `main_file` (a path relative to `root`, `/`-separated) as the file to open.
///
/// The order is deterministic: each folder's names are sorted by their bytes. Empty folders leave
/// no trace in the manifest. Refused, with an error naming the file: symbolic links (a link could
/// lead out of the folder; copy the target in instead), names that are not UTF-8, anything that is
/// neither a regular file nor a folder (sockets, pipes, devices), and every rule of
/// [`Manifest::validate`]. Sizes are checked against `limits` before a file is hashed, so an
/// oversized folder fails fast. A file that cannot be read is an [`Error::Io`].
///
/// ```
/// use pictor_core::asset::{scan_folder, ManifestLimits};
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("scene.blend"), b"BLENDER").unwrap();
/// let scanned = scan_folder(dir.path(), "scene.blend", &ManifestLimits::default()).unwrap();
/// assert_eq!(scanned.manifest.entries.len(), 1);
/// assert_eq!(scanned.files[0].entry.size, 7);
/// ```
pub fn scan_folder(root: &Path, main_file: &str, limits: &ManifestLimits) -> Result<ScannedFolder> {
    check_relative_path(main_file, "main_file")?;
    let metadata = std::fs::metadata(root).map_err(|error| Error::io(root, &error))?;
    if !metadata.is_dir() {
        return Err(Error::invalid(
            "root",
            format!("{} is not a folder", root.display()),
        ));
    }
    let mut walk = Walk {
        limits,
        files: Vec::new(),
        total: 0,
    };
    walk.folder(root, "")?;
    let manifest = Manifest {
        entries: walk.files.iter().map(|file| file.entry.clone()).collect(),
        main_file: main_file.to_string(),
    };
    manifest.validate(limits)?;
    Ok(ScannedFolder {
        manifest,
        files: walk.files,
    })
}

/// The state of one scan: the files found so far and their running total size.
struct Walk<'a> {
    limits: &'a ManifestLimits,
    files: Vec<LocalFile>,
    total: u64,
}

impl Walk<'_> {
    /// Adds every file under `dir`, whose scene-relative path is `prefix` (empty for the root).
    fn folder(&mut self, dir: &Path, prefix: &str) -> Result<()> {
        let reader = std::fs::read_dir(dir).map_err(|error| Error::io(dir, &error))?;
        let mut children = Vec::new();
        for child in reader {
            let child = child.map_err(|error| Error::io(dir, &error))?;
            children.push(child);
        }
        children.sort_by_key(|child| child.file_name());
        for child in children {
            let disk_path = child.path();
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::invalid(
                    disk_path.display().to_string(),
                    "the file name is not valid UTF-8; rename it",
                ));
            };
            let relative = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            // `DirEntry::file_type` does not follow symbolic links.
            let kind = child
                .file_type()
                .map_err(|error| Error::io(&disk_path, &error))?;
            if kind.is_symlink() {
                return Err(Error::invalid(
                    relative,
                    "is a symbolic link; scenes may not contain links (copy the target into the folder)",
                ));
            } else if kind.is_dir() {
                self.folder(&disk_path, &relative)?;
            } else if kind.is_file() {
                self.file(disk_path, relative)?;
            } else {
                return Err(Error::invalid(
                    relative,
                    "is neither a regular file nor a folder (a socket, pipe or device)",
                ));
            }
        }
        Ok(())
    }

    /// Checks the limits for one more file, then hashes it.
    fn file(&mut self, disk_path: PathBuf, relative: String) -> Result<()> {
        let limits = self.limits;
        if self.files.len() >= limits.max_entries {
            return Err(Error::invalid(
                "entries",
                format!("the folder holds more than {} files", limits.max_entries),
            ));
        }
        let declared = std::fs::symlink_metadata(&disk_path)
            .map_err(|error| Error::io(&disk_path, &error))?
            .len();
        self.check_size(&relative, declared)?;
        // The file may change between the two looks; the bytes actually hashed decide.
        let (hash, size) = hash_file(&disk_path)?;
        self.check_size(&relative, size)?;
        self.total = self.total.saturating_add(size);
        self.files.push(LocalFile {
            entry: ManifestEntry {
                path: relative,
                hash,
                size,
            },
            disk_path,
        });
        Ok(())
    }

    /// Refuses a file over the per-file limit, or one that would take the total over its limit.
    fn check_size(&self, relative: &str, size: u64) -> Result<()> {
        if size > self.limits.max_blob_bytes {
            return Err(Error::invalid(
                relative,
                format!(
                    "is {size} bytes; the limit per file is {}",
                    self.limits.max_blob_bytes
                ),
            ));
        }
        if self.total.saturating_add(size) > self.limits.max_total_bytes {
            return Err(Error::invalid(
                "entries",
                format!(
                    "the folder holds more than {} bytes (reached at {relative:?})",
                    self.limits.max_total_bytes
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::BlobHash;
    use std::fs;

    fn scene() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("tex/wood")).expect("dirs");
        fs::create_dir_all(root.join("empty")).expect("empty dir");
        fs::write(root.join("scene.blend"), b"BLENDER-v402").expect("write");
        fs::write(root.join("tex/wood/albedo.png"), b"PNG1").expect("write");
        fs::write(root.join("tex/b.png"), vec![7u8; 70_000]).expect("write");
        fs::write(root.join("a.txt"), b"").expect("write");
        dir
    }

    #[test]
    fn scans_nested_folders_in_order() {
        let dir = scene();
        let scanned =
            scan_folder(dir.path(), "scene.blend", &ManifestLimits::default()).expect("scan");
        let paths: Vec<&str> = scanned
            .files
            .iter()
            .map(|f| f.entry.path.as_str())
            .collect();
        assert_eq!(
            paths,
            ["a.txt", "scene.blend", "tex/b.png", "tex/wood/albedo.png"]
        );
        let big = &scanned.files[2];
        assert_eq!(big.entry.size, 70_000);
        assert_eq!(big.entry.hash, BlobHash::of_bytes(&vec![7u8; 70_000]));
        assert_eq!(big.disk_path, dir.path().join("tex").join("b.png"));
        assert_eq!(scanned.files[0].entry.hash, BlobHash::of_bytes(b""));
        assert_eq!(scanned.manifest.main_file, "scene.blend");
        assert_eq!(scanned.manifest.total_size(), 12 + 4 + 70_000);
        let entries: Vec<_> = scanned.files.iter().map(|f| f.entry.clone()).collect();
        assert_eq!(scanned.manifest.entries, entries);

        // Same folder, same id; a changed byte, a different id.
        let again =
            scan_folder(dir.path(), "scene.blend", &ManifestLimits::default()).expect("scan");
        assert_eq!(again.manifest.asset_id(), scanned.manifest.asset_id());
        fs::write(dir.path().join("tex/wood/albedo.png"), b"PNG2").expect("write");
        let changed =
            scan_folder(dir.path(), "scene.blend", &ManifestLimits::default()).expect("scan");
        assert_ne!(changed.manifest.asset_id(), scanned.manifest.asset_id());
    }

    #[test]
    fn rejects_missing_or_unsafe_main_file() {
        let dir = scene();
        let limits = ManifestLimits::default();
        let missing = scan_folder(dir.path(), "other.blend", &limits).expect_err("missing");
        assert_eq!(missing.field(), Some("main_file"));
        let escaping = scan_folder(dir.path(), "../scene.blend", &limits).expect_err("escape");
        assert_eq!(escaping.field(), Some("main_file"));
        let not_dir = scan_folder(&dir.path().join("a.txt"), "a.txt", &limits).expect_err("file");
        assert_eq!(not_dir.field(), Some("root"));
    }

    #[test]
    fn enforces_limits_before_hashing() {
        let dir = scene();
        let small = ManifestLimits {
            max_blob_bytes: 1000,
            ..ManifestLimits::default()
        };
        let error = scan_folder(dir.path(), "scene.blend", &small).expect_err("too big");
        assert_eq!(error.field(), Some("tex/b.png"));
        let few = ManifestLimits {
            max_entries: 3,
            ..ManifestLimits::default()
        };
        let error = scan_folder(dir.path(), "scene.blend", &few).expect_err("too many");
        assert_eq!(error.field(), Some("entries"));
        let total = ManifestLimits {
            max_total_bytes: 20,
            ..ManifestLimits::default()
        };
        let error = scan_folder(dir.path(), "scene.blend", &total).expect_err("total");
        assert_eq!(error.field(), Some("entries"));
    }

    #[cfg(unix)]
    #[test]
    fn rejects_symlinks_and_non_utf8_names() {
        use std::os::unix::ffi::OsStrExt;
        let dir = scene();
        let outside = tempfile::tempdir().expect("outside");
        fs::write(outside.path().join("secret"), b"key").expect("write");
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("tex/link.png"),
        )
        .expect("symlink");
        let error = scan_folder(dir.path(), "scene.blend", &ManifestLimits::default())
            .expect_err("symlink");
        assert_eq!(error.field(), Some("tex/link.png"));
        assert!(error.to_string().contains("symbolic link"), "{error}");
        fs::remove_file(dir.path().join("tex/link.png")).expect("unlink");

        // A link to a folder inside the scene is refused too.
        std::os::unix::fs::symlink(dir.path().join("tex"), dir.path().join("alias"))
            .expect("symlink");
        let error = scan_folder(dir.path(), "scene.blend", &ManifestLimits::default())
            .expect_err("dir symlink");
        assert_eq!(error.field(), Some("alias"));
        fs::remove_file(dir.path().join("alias")).expect("unlink");

        let bad = std::ffi::OsStr::from_bytes(b"bad\xffname");
        if fs::write(dir.path().join(bad), b"x").is_ok() {
            let error = scan_folder(dir.path(), "scene.blend", &ManifestLimits::default())
                .expect_err("non-utf8");
            assert!(error.to_string().contains("not valid UTF-8"), "{error}");
        }
    }

    #[test]
    fn rejects_names_that_break_path_rules() {
        let dir = scene();
        fs::write(dir.path().join("tex/bad?.png"), b"x").expect("write");
        let error = scan_folder(dir.path(), "scene.blend", &ManifestLimits::default())
            .expect_err("bad name");
        assert_eq!(error.field(), Some("entries[3].path"), "{error}");
    }
}
