//! Files and folders only their owner can read, whatever the process's umask: the coordinator's
//! data directory holds every tenant's scenes, frames and keys (created 0700, every file in it
//! 0600, issue 13), and an agent's key and spooled results are its own. The one private-file writer
//! of the workspace.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// Creates `dir` (and its parents) if needed and makes it 0700 (owner only), also when it existed.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Options that create files 0600 (owner read/write only); set the access mode on them as usual.
pub fn private_file_options() -> OpenOptions {
    #[allow(unused_mut, reason = "the mode is set on unix only")]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Writes `bytes` to `path` readable by its owner only (0600), atomically and durably: a temporary
/// file beside it, synced, then renamed over it, so a crash leaves the old file or the new one,
/// never half of one. Creates the parent folder if needed.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_beside(path, "tmp", bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Writes `bytes` to `path` (0600, durably) only if `path` does not exist yet: the file is written
/// beside it, then linked into place, which fails when another process got there first. Returns
/// `false`, writing nothing, when the file already exists (read it: it is whole). Two processes
/// creating the same file at once thus agree on one content.
pub fn create_private_file_once(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let tmp = write_beside(path, "new", bytes)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    }
}

/// Writes `bytes` to a new private (0600), synced file beside `path` (creating the folder),
/// named with `tag` and this process's id; answers its path. Nothing is left on failure.
fn write_beside(path: &Path, tag: &str, bytes: &[u8]) -> io::Result<std::path::PathBuf> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("{tag}{}", std::process::id()));
    let written = private_file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .and_then(|mut file| {
            restrict(&tmp, 0o600)?;
            file.write_all(bytes)?;
            file.sync_all()
        });
    match written {
        Ok(()) => Ok(tmp),
        Err(error) => {
            let _ = std::fs::remove_file(&tmp);
            Err(error)
        }
    }
}

/// Makes an existing file 0600, if it exists (for files another library creates, like SQLite's).
pub fn restrict_file(path: &Path) -> io::Result<()> {
    match restrict(path, 0o600) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_owner_only_and_replace_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/secret.key");
        write_private_file(&path, b"one").expect("write");
        write_private_file(&path, b"two").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn a_file_created_once_keeps_its_first_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("network.key");
        assert!(create_private_file_once(&path, b"first").expect("create"));
        assert!(!create_private_file_once(&path, b"second").expect("exists"));
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
