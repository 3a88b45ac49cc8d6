//! An upscale job's computation as the network runs it: the catalog pins a creator's spec names
//! ([`upscale_spec`], checked by [`catalog::check_pins`]), and the models a worker
//! or checker keeps loaded from its models folder ([`ModelShelf`]) to build a job's [`Chain`] —
//! the one computation a worker's task and a checker's recomputed tiles both come from.

use crate::catalog::{self, MODELS};
use crate::chain::{Chain, Pass, Rect};
use crate::model::{Model, UpscaleError};
use crate::planes::RgbPlanes;
use crate::tiles::TileSpec;
use crate::wheel::load_catalog_model;
use pictor_core::job::{Resolution, UpscaleSpec};
use pictor_core::task::PixelRect;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The spec of an upscale by `factor` of `input`-sized images with the catalog's SPAN ch48
/// models, tiled as `tiles` says ([`catalog::span_spec`]).
///
/// # Errors
/// For a factor other than 2, 4, 8 or 16, a bad tiling, or an output past the limits.
pub fn upscale_spec(
    factor: u32,
    input: (u32, u32),
    tiles: TileSpec,
) -> Result<UpscaleSpec, UpscaleError> {
    let input = Resolution {
        width: input.0,
        height: input.1,
    };
    catalog::span_spec(factor, input, tiles.tile, tiles.context)
        .map_err(|error| UpscaleError::Spec(error.to_string()))
}

/// The tiling `spec` pins.
pub fn tile_spec(spec: &UpscaleSpec) -> TileSpec {
    TileSpec {
        tile: spec.tile,
        context: spec.context,
    }
}

/// A task's region as the chain's rectangle.
pub fn rect_of(region: PixelRect) -> Rect {
    Rect {
        left: region.x,
        top: region.y,
        width: region.width,
        height: region.height,
    }
}

/// The models of a models folder, loaded once each and kept: what a worker or checker upscales
/// with. Only catalog models whose files hash as the catalog says are ever loaded.
#[derive(Debug)]
pub struct ModelShelf {
    dir: PathBuf,
    loaded: Mutex<HashMap<String, Arc<Model>>>,
}

impl ModelShelf {
    /// The shelf of `dir` (as `pictor model install --dir` fills it), with every catalog model
    /// loaded and checked now, so a machine offers upscaling only with the whole catalog.
    ///
    /// # Errors
    /// When a catalog model is missing from `dir` or its files are not the catalog's.
    pub fn open(dir: &Path) -> Result<ModelShelf, UpscaleError> {
        let shelf = ModelShelf {
            dir: dir.to_path_buf(),
            loaded: Mutex::new(HashMap::new()),
        };
        for model in MODELS {
            shelf.model(model.id)?;
        }
        Ok(shelf)
    }

    /// The folder the models are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn model(&self, id: &str) -> Result<Arc<Model>, UpscaleError> {
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| UpscaleError::Spec("the model shelf's lock is poisoned".into()))?;
        if let Some(model) = loaded.get(id) {
            return Ok(model.clone());
        }
        let model = Arc::new(load_catalog_model(&self.dir, id)?);
        loaded.insert(id.to_string(), model.clone());
        Ok(model)
    }

    /// The models of `spec`'s passes, first to last.
    ///
    /// # Errors
    /// When a pin is not the catalog's ([`catalog::check_pins`]) or a model cannot be loaded.
    pub fn models_for(&self, spec: &UpscaleSpec) -> Result<Vec<Arc<Model>>, UpscaleError> {
        catalog::check_pins(spec).map_err(|error| UpscaleError::Spec(error.to_string()))?;
        spec.passes
            .iter()
            .map(|pass| self.model(&pass.id))
            .collect()
    }
}

/// The chain `spec` defines over `input`, with `models` from [`ModelShelf::models_for`].
///
/// # Errors
/// When `input` is not the size the spec pins (the wrong input) or the chain cannot be built.
pub fn job_chain<'a>(
    input: &'a RgbPlanes,
    models: &'a [Arc<Model>],
    spec: &UpscaleSpec,
) -> Result<Chain<'a>, UpscaleError> {
    if (input.width(), input.height()) != (spec.input.width, spec.input.height) {
        return Err(UpscaleError::Spec(format!(
            "the input image is {}×{}, the job's input {}×{}",
            input.width(),
            input.height(),
            spec.input.width,
            spec.input.height
        )));
    }
    let tiles = tile_spec(spec);
    let passes = models
        .iter()
        .map(|model| Pass {
            model: model.as_ref(),
            tiles,
        })
        .collect();
    Chain::new(input, passes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_the_catalog_s_with_the_tiling_given() {
        let spec = upscale_spec(8, (64, 48), TileSpec::DEFAULT).expect("spec");
        assert_eq!(tile_spec(&spec), TileSpec::DEFAULT);
        assert_eq!(spec.passes.len(), 2);
        assert!(upscale_spec(3, (64, 48), TileSpec::DEFAULT).is_err());
    }
}
