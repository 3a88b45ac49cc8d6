//! The scene a checker keeps open between checks: its files and a Blender session with it loaded.
//!
//! A job's frames are checked one check at a time, often by the same checker. Each check of a
//! Blender scene would otherwise start Blender and load the scene (0.6 s for a small scene on a
//! 2-core machine, far more with textures) — at 1920×1080 and 64 samples that alone is 1 % of the
//! worker's render, a fifth of the checker's budget (docs/BENCHMARKS.md, "Faithful frames"). So
//! after a check the checker keeps the scene's files and its [`BlenderSession`] open, names the
//! scene when it asks for the next check ([`CheckLeaseRequest::open_scenes`]), and the network
//! leases it that scene's checks first. A check of another scene, or with another Blender, closes
//! it; so does an error, a session that has ended, and idleness past
//! [`CheckerOptions::keep_scene_open`](super::CheckerOptions::keep_scene_open).
//!
//! Nothing of one check reaches the next but the loaded scene: every check has its own secret and
//! folder, and the session reloads the scene from its file before each refinishing that follows a
//! render (`pictor_render::blender::session`).
//!
//! [`CheckLeaseRequest::open_scenes`]: pictor_core::api::CheckLeaseRequest::open_scenes

use crate::scene::LocalScene;
use pictor_core::AssetId;
use pictor_render::blender::BlenderSession;
use pictor_render::blender::discover::BlenderInstall;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A scene's files, pinned in the blob cache, and a Blender session that has the scene's main
/// file loaded.
pub(super) struct OpenScene {
    /// The scene asset the files were materialized from.
    pub asset: AssetId,
    /// The scene's files (the session reloads its main file from there).
    pub files: LocalScene,
    /// Blender with the scene loaded.
    pub session: BlenderSession,
}

impl OpenScene {
    /// Whether a check of `asset` verified with `blender` can use this scene: the same asset, the
    /// same Blender, and a session still running.
    pub fn serves(&self, asset: &AssetId, blender: &BlenderInstall) -> bool {
        self.asset == *asset
            && self.session.executable() == blender.path
            && !self.session.has_ended()
    }
}

/// Where the checker keeps its open scene between checks (one at a time).
#[derive(Default)]
pub(super) struct OpenSceneSlot {
    held: Mutex<Option<(OpenScene, Instant)>>,
}

impl OpenSceneSlot {
    /// Takes the open scene out for a check (the slot is empty until [`OpenSceneSlot::keep`]).
    pub fn take(&self) -> Option<OpenScene> {
        self.lock().take().map(|(scene, _)| scene)
    }

    /// Keeps `scene` open for the next check, closing any other.
    pub fn keep(&self, scene: OpenScene) {
        *self.lock() = Some((scene, Instant::now()));
    }

    /// The asset of the open scene, when its session still runs (else the scene is closed).
    pub fn asset(&self) -> Option<AssetId> {
        let mut held = self.lock();
        if held
            .as_ref()
            .is_some_and(|(scene, _)| scene.session.has_ended())
        {
            *held = None;
        }
        held.as_ref().map(|(scene, _)| scene.asset.clone())
    }

    /// Closes the open scene (Blender stops, the files' pins are released) when no check has
    /// used it for `idle`.
    pub fn close_if_idle(&self, idle: Duration) {
        let mut held = self.lock();
        if held
            .as_ref()
            .is_some_and(|(_, kept)| kept.elapsed() >= idle)
        {
            *held = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(OpenScene, Instant)>> {
        // Plain data: a panic while holding the lock cannot leave it half-written.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
