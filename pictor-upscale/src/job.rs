//! An upscale job's computation as the network runs it: the catalog pins a creator's spec names
//! ([`upscale_spec`]), the coordinator's check of them ([`check_pins`]), and the models a worker
//! or checker keeps loaded from its models folder ([`ModelShelf`]) to build a job's [`Chain`] —
//! the one computation a worker's task and a checker's recomputed tiles both come from.

use crate::catalog::{self, MODELS};
use crate::chain::{Chain, Pass, Rect, passes_for};
use crate::model::{Model, UpscaleError};
use crate::planes::RgbPlanes;
use crate::tiles::TileSpec;
use crate::wheel::load_catalog_model;
use pictor_core::job::{ModelPin, Resolution, UpscaleSpec};
use pictor_core::task::PixelRect;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The catalog's ×2 model that factors 2 and 8 use.
pub const X2_MODEL: &str = "spanx2_ch48";

/// The catalog's ×4 model that factors 4, 8 and 16 use.
pub const X4_MODEL: &str = "spanx4_ch48";

/// The spec of an upscale by `factor` of `input`-sized images with the catalog's SPAN ch48
/// models, tiled as `tiles` says.
///
/// # Errors
/// For a factor other than 2, 4, 8 or 16, or an output past the limits.
pub fn upscale_spec(
    factor: u32,
    input: (u32, u32),
    tiles: TileSpec,
) -> Result<UpscaleSpec, UpscaleError> {
    let passes = passes_for(factor, X2_MODEL, X4_MODEL)?
        .into_iter()
        .map(|id| {
            catalog::find(id)
                .map(|model| ModelPin {
                    id: model.id.to_string(),
                    files_hash: model.files_hash.to_string(),
                })
                .ok_or_else(|| UpscaleError::Spec(format!("no model {id:?} in the catalog")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let spec = UpscaleSpec {
        factor,
        passes,
        input: Resolution {
            width: input.0,
            height: input.1,
        },
        tile: tiles.tile,
        context: tiles.context,
    };
    spec.validate(spec.output())
        .map_err(|error| UpscaleError::Spec(error.to_string()))?;
    Ok(spec)
}

/// Checks that every pass of `spec` names a catalog model with the catalog's files hash and the
/// scale its place in the chain needs, and that the tiling suits each model (its context covers
/// the model's receptive radius — a radius the catalog's SPAN models share).
///
/// # Errors
/// Naming the first pass that fails, in words a creator can act on.
pub fn check_pins(spec: &UpscaleSpec) -> Result<(), String> {
    let scales = UpscaleSpec::pass_scales(spec.factor)
        .ok_or_else(|| format!("×{}: the factor must be 2, 4, 8 or 16", spec.factor))?;
    if scales.len() != spec.passes.len() {
        return Err(format!(
            "×{} takes {} pass(es), the spec names {}",
            spec.factor,
            scales.len(),
            spec.passes.len()
        ));
    }
    for (pass, &scale) in spec.passes.iter().zip(scales) {
        let Some(model) = catalog::find(&pass.id) else {
            let known: Vec<&str> = MODELS.iter().map(|m| m.id).collect();
            return Err(format!(
                "no model {:?} (known: {})",
                pass.id,
                known.join(", ")
            ));
        };
        if model.files_hash != pass.files_hash {
            return Err(format!(
                "{} pinned with files hash {}, the catalog's is {}",
                pass.id, pass.files_hash, model.files_hash
            ));
        }
        if model.scale != scale {
            return Err(format!(
                "×{} needs a ×{scale} model here, {} is ×{}",
                spec.factor, pass.id, model.scale
            ));
        }
    }
    if spec.context < SPAN_RECEPTIVE_RADIUS {
        return Err(format!(
            "{} pixels of context: SPAN sees {SPAN_RECEPTIVE_RADIUS}, tiles would show seams",
            spec.context
        ));
    }
    Ok(())
}

/// How far a SPAN model's output pixel sees into its input (checked again when a model loads:
/// [`TileSpec::check`]).
pub const SPAN_RECEPTIVE_RADIUS: u32 = 21;

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
    /// When a pin is not the catalog's ([`check_pins`]) or a model cannot be loaded.
    pub fn models_for(&self, spec: &UpscaleSpec) -> Result<Vec<Arc<Model>>, UpscaleError> {
        check_pins(spec).map_err(UpscaleError::Spec)?;
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
    fn specs_pin_the_catalog_and_pass_its_check() {
        for factor in [2, 4, 8, 16] {
            let spec = upscale_spec(factor, (64, 48), TileSpec::DEFAULT).expect("spec");
            assert_eq!(spec.output().width, 64 * factor);
            assert!(check_pins(&spec).is_ok(), "×{factor}");
        }
        assert!(upscale_spec(3, (64, 48), TileSpec::DEFAULT).is_err());
    }

    #[test]
    fn foreign_or_misplaced_models_are_refused() {
        let mut sibling = upscale_spec(4, (64, 48), TileSpec::DEFAULT).expect("spec");
        sibling.passes[0].id = "spanx4_ch52".into();
        let error = check_pins(&sibling).expect_err("ch52 under ch48's hash");
        assert!(error.contains("files hash"), "{error}");
        let mut unknown = sibling.clone();
        unknown.passes[0].id = "esrgan".into();
        assert!(check_pins(&unknown).is_err());
        let mut wrong_scale = upscale_spec(4, (64, 48), TileSpec::DEFAULT).expect("spec");
        let x2 = catalog::find(X2_MODEL).expect("x2");
        wrong_scale.passes[0] = ModelPin {
            id: x2.id.into(),
            files_hash: x2.files_hash.into(),
        };
        assert!(check_pins(&wrong_scale).is_err());
        let mut thin = upscale_spec(4, (64, 48), TileSpec::DEFAULT).expect("spec");
        thin.context = 8;
        assert!(check_pins(&thin).is_err());
    }
}
