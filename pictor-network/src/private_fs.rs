//! Files and folders only their owner can read: the coordinator's data directory holds every
//! tenant's scenes, frames and keys, so it is created 0700 and every file in it 0600, whatever the
//! process's umask (issue 13).

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
