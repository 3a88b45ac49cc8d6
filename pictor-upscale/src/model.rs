//! A super-resolution model ready to run: read from its ncnn files by Pictor's loader, checked,
//! and named by its id and the hash of its files (what a job's spec pins).

use crate::forward::{Precision, RunError};
use crate::graph::{self, Graph};
use crate::ncnn::{self, NcnnError};
use crate::planes::RgbPlanes;
use std::path::Path;

/// Why an upscale cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum UpscaleError {
    /// The model's files are missing or unusable.
    #[error("model {id}: {source}")]
    Model {
        /// The model's id.
        id: String,
        /// Why.
        source: NcnnError,
    },
    /// A file could not be read.
    #[error("{0}")]
    Io(String),
    /// The request does not suit the model or the limits.
    #[error("{0}")]
    Spec(String),
    /// The computation failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A loaded model.
#[derive(Clone, Debug)]
pub struct Model {
    id: String,
    files_hash: String,
    graph: Graph,
}

impl Model {
    /// The model `id` from its `.param` text and `.bin` weights.
    ///
    /// # Errors
    /// When the files are malformed, do not belong together, or describe a network Pictor cannot
    /// run (see [`crate::ncnn`]).
    pub fn from_bytes(id: &str, param: &[u8], bin: &[u8]) -> Result<Model, UpscaleError> {
        let model_error = |source| UpscaleError::Model {
            id: id.to_string(),
            source,
        };
        let text = std::str::from_utf8(param)
            .map_err(|_| model_error(NcnnError::Param("the file is not text".into())))?;
        let layers = ncnn::parse_param(text).map_err(model_error)?;
        let weights = ncnn::read_weights(&layers, bin).map_err(model_error)?;
        let graph = graph::build(&layers, weights).map_err(model_error)?;
        Ok(Model {
            id: id.to_string(),
            files_hash: files_hash(param, bin),
            graph,
        })
    }

    /// The model `id` from `<dir>/<id>.param` and `<dir>/<id>.bin`.
    ///
    /// # Errors
    /// When a file cannot be read, or as [`Model::from_bytes`].
    pub fn load(dir: &Path, id: &str) -> Result<Model, UpscaleError> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(UpscaleError::Spec(format!("{id:?} is not a model id")));
        }
        let read = |extension: &str| {
            let path = dir.join(format!("{id}.{extension}"));
            std::fs::read(&path).map_err(|error| {
                UpscaleError::Io(format!(
                    "reading {}: {error} (install the models with `pictor model install`)",
                    path.display()
                ))
            })
        };
        Model::from_bytes(id, &read("param")?, &read("bin")?)
    }

    /// The model's id (`spanx4_ch48`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The BLAKE3 hash of the model's two files (hex): a job pins the exact weights by it.
    pub fn files_hash(&self) -> &str {
        &self.files_hash
    }

    /// Output pixels per input pixel along each axis.
    pub fn scale(&self) -> u32 {
        self.graph.scale
    }

    /// Input pixels an output pixel depends on, on each side.
    pub fn receptive_radius(&self) -> u32 {
        self.graph.receptive_radius
    }

    /// The network on one image (whole, without tiling).
    ///
    /// # Errors
    /// When the computation fails.
    pub fn run(&self, input: &RgbPlanes) -> Result<RgbPlanes, UpscaleError> {
        self.run_in(input, Precision::Full)
    }

    /// The network on one image in `precision` (only [`Precision::Full`] is the canonical
    /// computation).
    ///
    /// # Errors
    /// When the computation fails.
    pub fn run_in(
        &self,
        input: &RgbPlanes,
        precision: Precision,
    ) -> Result<RgbPlanes, UpscaleError> {
        let tensor = input.to_tensor().map_err(RunError::from)?;
        let output = self.graph.forward(&tensor, precision)?;
        RgbPlanes::from_tensor(&output).map_err(UpscaleError::Spec)
    }

    /// The network on one image by [`crate::direct`]'s plain loops: a second fp32 engine, slow,
    /// to measure how far honest engines disagree.
    ///
    /// # Errors
    /// When the graph cannot be read back from the backend.
    pub fn run_direct(&self, input: &RgbPlanes) -> Result<RgbPlanes, UpscaleError> {
        crate::direct::forward(&self.graph, input)
    }

    /// The loaded network.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
}

/// BLAKE3 over the `.param` file's length and bytes, then the `.bin` file's bytes.
pub fn files_hash(param: &[u8], bin: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(param.len() as u64).to_le_bytes());
    hasher.update(param);
    hasher.update(bin);
    hex::encode(hasher.finalize().as_bytes())
}
