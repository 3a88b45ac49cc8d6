//! A `.blend` made ready to upload: everything the scene needs packed into one copy of the file, so
//! a scene in `~/Downloads` sends itself and its textures, never the rest of `Downloads`.
//!
//! Packing uses Blender's own `bpy.ops.file.pack_all()` in a background Blender (as the Blender
//! add-on does), on the creator's original file, saved as a copy in a private temporary folder:
//! the original is never written. Without Blender on this machine the `.blend` is sent as it is
//! ([`PackedBlend::packed`] is false), and files it links from outside are not included: say so to
//! the creator.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The environment variable naming the Blender binary (default: `blender` on the `PATH`).
pub const BLENDER_ENV: &str = "PICTOR_BLENDER";

/// The script Blender runs: pack every external file, save a copy at the path after `--`.
const PACK_SCRIPT: &str = "\
import bpy, sys
out = sys.argv[sys.argv.index('--') + 1]
try:
    bpy.ops.file.pack_all()
except RuntimeError as error:
    print('pictor: packing failed:', error, file=sys.stderr)
    sys.exit(3)
bpy.ops.wm.save_as_mainfile(filepath=out, copy=True, compress=True)
";

/// A scene file ready to upload: upload [`PackedBlend::folder`] with only
/// [`PackedBlend::main_file`] (see [`UploadFolder::only_main_file`](crate::assets::UploadFolder::only_main_file)).
#[derive(Debug)]
pub struct PackedBlend {
    /// The folder holding the file to upload.
    pub folder: PathBuf,
    /// The file's name in it (the original's name).
    pub main_file: String,
    /// True when Blender packed the scene's external files into it; false when Blender was not
    /// found and the original is sent as it is.
    pub packed: bool,
    /// The file's size in bytes.
    pub size: u64,
    /// Keeps the temporary folder of a packed copy alive until this is dropped.
    _temp: Option<tempfile::TempDir>,
}

/// Packs `blend` with Blender (`PICTOR_BLENDER` or `blender`) into a temporary copy.
///
/// Errors: `blend` unreadable or not named `*.blend`; Blender failing on it (a file it cannot
/// open, an external file it cannot pack), with Blender's message.
pub async fn pack_blend(blend: &Path) -> Result<PackedBlend> {
    let main_file = blend
        .file_name()
        .and_then(|name| name.to_str())
        .filter(|name| name.to_ascii_lowercase().ends_with(".blend"))
        .ok_or_else(|| {
            Error::invalid("scene", format!("{} is not a .blend file", blend.display()))
        })?
        .to_string();
    let original_size = tokio::fs::metadata(blend)
        .await
        .map_err(|error| Error::io(blend, error))?
        .len();
    let temp = tempfile::Builder::new()
        .prefix("pictor-pack-")
        .tempdir()
        .map_err(|error| Error::io(Path::new("temporary folder"), error))?;
    let out = temp.path().join(&main_file);
    let blender = std::env::var_os(BLENDER_ENV).unwrap_or_else(|| "blender".into());
    let run = tokio::process::Command::new(&blender)
        .arg("-b")
        .arg("--factory-startup")
        .arg(blend)
        .arg("--python-expr")
        .arg(PACK_SCRIPT)
        .arg("--")
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    let output = match run {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let folder = match blend.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            return Ok(PackedBlend {
                folder,
                main_file,
                packed: false,
                size: original_size,
                _temp: None,
            });
        }
        Err(error) => return Err(Error::io(Path::new(&blender), error)),
    };
    let size = tokio::fs::metadata(&out).await.map(|m| m.len());
    match size {
        Ok(size) if output.status.success() => Ok(PackedBlend {
            folder: temp.path().to_path_buf(),
            main_file,
            packed: true,
            size,
            _temp: Some(temp),
        }),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let reason = stderr
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("no message");
            Err(Error::invalid(
                "scene",
                format!(
                    "Blender could not pack {} ({}): {reason}",
                    blend.display(),
                    output.status
                ),
            ))
        }
    }
}
