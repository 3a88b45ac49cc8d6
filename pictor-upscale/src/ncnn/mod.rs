//! Reading a network in ncnn's format (a `.param` text file and a `.bin` weights file), the form
//! the super-resolution models Pictor uses are published in. Pictor's own reader: no ncnn code.

mod param;
mod weights;

pub use param::{Layer, ParamValue, parse_param};
pub use weights::{LayerWeights, read_weights};

/// Why a model's files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NcnnError {
    /// The `.param` file is malformed.
    #[error("the model's .param file: {0}")]
    Param(String),
    /// The `.bin` file does not match the layers.
    #[error("the model's .bin file: {0}")]
    Weights(String),
    /// The network uses something Pictor's runner does not compute.
    #[error("the model is not supported: {0}")]
    Unsupported(String),
    /// The layers do not form a network Pictor can run.
    #[error("the model's graph: {0}")]
    Graph(String),
}
