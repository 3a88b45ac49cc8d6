//! A task's scene on disk: the manifest fetched from the network, its blobs in the
//! [`BlobCache`], and the tree materialized in a per-task folder with
//! [`safe_join`] — hard links into the cache (a copy where linking
//! fails), never a path outside the folder.

use crate::cache::{BlobCache, PinGuard};
use anyhow::{Context, Result};
use pictor_core::AssetId;
use pictor_core::asset::{Manifest, safe_join};
use pictor_sdk::Client;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A scene ready to render: its main file inside the task folder, and the pin that keeps its blobs
/// in the cache while the task runs.
#[derive(Debug)]
pub struct LocalScene {
    /// The file the renderer opens.
    pub main_file: PathBuf,
    /// The folder holding the scene tree.
    pub root: PathBuf,
    /// The manifest it was built from.
    pub manifest: Manifest,
    _pin: PinGuard,
}

/// Fetches the manifest of `asset` and the blobs the cache lacks, then materializes the tree in
/// `root` (created; emptied first).
pub async fn fetch_scene(
    client: &Client,
    cache: &Arc<BlobCache>,
    asset: &AssetId,
    root: &Path,
) -> Result<LocalScene, pictor_sdk::Error> {
    let manifest = client.assets().manifest(asset).await?.manifest;
    let pin = cache.pin(manifest.entries.iter().map(|e| e.hash.to_hex()));
    for entry in &manifest.entries {
        cache
            .fetch(client, &entry.hash.to_hex(), entry.size)
            .await?;
    }
    let main_file = materialize(cache, &manifest, root).map_err(|error| pictor_sdk::Error::Io {
        path: root.to_path_buf(),
        source: std::io::Error::other(format!("{error:#}")),
    })?;
    Ok(LocalScene {
        main_file,
        root: root.to_path_buf(),
        manifest,
        _pin: pin,
    })
}

/// Lays the manifest's files out under `root` (created; a previous tree there is removed), linking
/// them from the cache, and answers the main file's path. Every path goes through `safe_join`: a
/// manifest naming `..`, an absolute path or an empty component is refused before anything is
/// written.
pub fn materialize(cache: &BlobCache, manifest: &Manifest, root: &Path) -> Result<PathBuf> {
    // Check every path first: nothing is written for a hostile manifest.
    let mut targets = Vec::with_capacity(manifest.entries.len());
    for entry in &manifest.entries {
        let target =
            safe_join(root, &entry.path).with_context(|| format!("scene path {:?}", entry.path))?;
        targets.push((entry, target));
    }
    let main_file = safe_join(root, &manifest.main_file)
        .with_context(|| format!("main file {:?}", manifest.main_file))?;
    if !manifest
        .entries
        .iter()
        .any(|e| e.path == manifest.main_file)
    {
        anyhow::bail!(
            "the main file {:?} is not in the manifest",
            manifest.main_file
        );
    }
    if root.exists() {
        std::fs::remove_dir_all(root).with_context(|| format!("clearing {}", root.display()))?;
    }
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    for (entry, target) in targets {
        let hash = entry.hash.to_hex();
        let source = cache
            .touch(&hash)
            .with_context(|| format!("blob {hash} of {:?} is not in the cache", entry.path))?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        // A parent created above could be a link only if the tree itself were hostile; the
        // canonical parent must stay inside the root.
        let parent = target.parent().unwrap_or(root);
        let canonical_root = root.canonicalize()?;
        if !parent.canonicalize()?.starts_with(&canonical_root) {
            anyhow::bail!("scene path {:?} leaves the scene folder", entry.path);
        }
        if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target)
                .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
        }
    }
    Ok(main_file)
}
