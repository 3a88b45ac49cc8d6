//! Linear RGBA images and their codecs (from `pictor_core::render::image`), and atomic output files.

pub use pictor_core::render::image::*;

use crate::error::{RenderError, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename, so a
/// failed or interrupted write never leaves a partial output file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(|error| {
        RenderError::io(format!("creating a file in {}", folder.display()), error)
    })?;
    file.write_all(bytes)
        .map_err(|error| RenderError::io(format!("writing {}", path.display()), error))?;
    file.persist(path)
        .map_err(|error| RenderError::io(format!("writing {}", path.display()), error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("frame.png");
        write_atomically(&path, b"abc").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"abc");
        let missing = dir.path().join("no/such/dir/frame.png");
        assert!(write_atomically(&missing, b"abc").is_err());
        assert!(!missing.exists());
    }
}
