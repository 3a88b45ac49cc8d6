//! The scene-folder scanner: walks a folder and hashes every file into manifest entries.
//!
//! Kept behind [`scan_folder`] so it can be swapped for `pictor_core::asset::scan_folder` later.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file's manifest data, hash as hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileEntry {
    /// `/`-separated path relative to the folder.
    pub(crate) path: String,
    /// BLAKE3 hex.
    pub(crate) hash: String,
    /// Size in bytes.
    pub(crate) size: u64,
}

/// One file of a scanned folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScannedFile {
    /// The manifest entry: `/`-separated relative path, BLAKE3 hex, size.
    pub(crate) entry: FileEntry,
    /// Where the file is on disk.
    pub(crate) absolute: PathBuf,
}

/// Walks `root` (blocking): every regular file, sorted by relative path. Symbolic links, non-UTF-8
/// names and names with `\` are refused.
pub(crate) fn scan_folder(root: &Path) -> Result<Vec<ScannedFile>> {
    let meta = std::fs::symlink_metadata(root).map_err(|error| Error::io(root, error))?;
    if !meta.is_dir() {
        return Err(Error::invalid(
            "folder",
            format!("{} is not a folder", root.display()),
        ));
    }
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let listing = std::fs::read_dir(&dir).map_err(|error| Error::io(&dir, error))?;
        for item in listing {
            let item = item.map_err(|error| Error::io(&dir, error))?;
            let path = item.path();
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::invalid(
                    "folder",
                    format!("{} has a name that is not UTF-8", path.display()),
                ));
            };
            if name.contains('\\') {
                return Err(Error::invalid(
                    "folder",
                    format!("{} has a backslash in its name", path.display()),
                ));
            }
            let relative = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            let kind = item.file_type().map_err(|error| Error::io(&path, error))?;
            if kind.is_symlink() {
                return Err(Error::invalid(
                    "folder",
                    format!("{relative} is a symbolic link; copy the file into the scene instead"),
                ));
            } else if kind.is_dir() {
                stack.push((path, relative));
            } else if kind.is_file() {
                let (hash, size) = hash_file(&path)?;
                files.push(ScannedFile {
                    entry: FileEntry {
                        path: relative,
                        hash,
                        size,
                    },
                    absolute: path,
                });
            }
            // Sockets, fifos and devices are not scene files: skipped.
        }
    }
    files.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
    Ok(files)
}

/// One file `name` directly in `root` (blocking), as a folder scan of just that file would give it.
/// A symbolic link or anything but a regular file is refused.
pub(crate) fn scan_file(root: &Path, name: &str) -> Result<ScannedFile> {
    let path = root.join(name);
    let meta = std::fs::symlink_metadata(&path).map_err(|error| Error::io(&path, error))?;
    if !meta.is_file() {
        return Err(Error::invalid(
            "main_file",
            format!("{} is not a regular file", path.display()),
        ));
    }
    let (hash, size) = hash_file(&path)?;
    Ok(ScannedFile {
        entry: FileEntry {
            path: name.to_string(),
            hash,
            size,
        },
        absolute: path,
    })
}

/// BLAKE3 hex and size of a file (blocking).
pub(crate) fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|error| Error::io(path, error))?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|error| Error::io(path, error))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hasher.finalize().to_hex().to_string(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_nested_files_sorted_with_slash_paths_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tex/wood")).unwrap();
        std::fs::write(dir.path().join("scene.blend"), b"blend").unwrap();
        std::fs::write(dir.path().join("tex/wood/oak.png"), b"oak").unwrap();
        std::fs::write(dir.path().join("tex/empty.txt"), b"").unwrap();
        let files = scan_folder(dir.path()).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.entry.path.as_str()).collect();
        assert_eq!(paths, ["scene.blend", "tex/empty.txt", "tex/wood/oak.png"]);
        assert_eq!(
            files[0].entry.hash,
            blake3::hash(b"blend").to_hex().to_string()
        );
        assert_eq!(files[0].entry.size, 5);
        assert_eq!(files[1].entry.size, 0);
        assert_eq!(files[2].absolute, dir.path().join("tex/wood/oak.png"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        std::os::unix::fs::symlink(dir.path().join("a.txt"), dir.path().join("b.txt")).unwrap();
        let error = scan_folder(dir.path()).unwrap_err();
        assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
        assert!(error.to_string().contains("b.txt"));
    }

    #[test]
    fn a_file_is_not_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x");
        std::fs::write(&file, b"x").unwrap();
        assert!(scan_folder(&file).is_err());
        assert!(matches!(
            scan_folder(&dir.path().join("missing")),
            Err(Error::Io { .. })
        ));
    }
}
