//! Running a [`Graph`] on candle's CPU backend, in fp32: the canonical computation every worker
//! and checker performs. Each blob is dropped after the last operation that reads it.

use crate::graph::{BinaryKind, Graph, Op, Operand};
use candle_core::{DType, Tensor};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[error("running the model: {0}")]
pub struct RunError(String);

impl From<candle_core::Error> for RunError {
    fn from(error: candle_core::Error) -> Self {
        RunError(error.to_string())
    }
}

impl Graph {
    /// Runs the network on `input`, shaped `(1, 3, h, w)` with values in [0, 1], in `precision`;
    /// answers `(1, 3, h·scale, w·scale)` in fp32.
    ///
    /// # Errors
    /// When the input is not shaped so, or the backend fails.
    pub fn forward(&self, input: &Tensor, precision: Precision) -> Result<Tensor, RunError> {
        let dtype = match precision {
            Precision::Full => DType::F32,
            Precision::Half => DType::F16,
        };
        let input = &input.to_dtype(dtype)?;
        let (batch, channels, _, _) = input.dims4()?;
        if batch != 1 || channels != 3 {
            return Err(RunError(format!(
                "the input must be one RGB image, not {batch} × {channels} channels"
            )));
        }
        let mut blobs: Vec<Option<Tensor>> = vec![None; self.blob_count];
        blobs[self.input] = Some(input.clone());
        for (index, op) in self.ops.iter().enumerate() {
            let get = |blobs: &[Option<Tensor>], id: usize| {
                blobs[id]
                    .clone()
                    .ok_or_else(|| RunError(format!("blob {id} is not computed")))
            };
            match op {
                Op::Conv {
                    input,
                    output,
                    kernel,
                    bias,
                    pad,
                } => {
                    let kernel = kernel.to_dtype(dtype)?;
                    let mut value = get(&blobs, *input)?.conv2d(&kernel, *pad, 1, 1, 1)?;
                    if let Some(bias) = bias {
                        value = value.broadcast_add(&bias.to_dtype(dtype)?)?;
                    }
                    blobs[*output] = Some(value);
                }
                Op::Constant { output, value } => blobs[*output] = Some(value.to_dtype(dtype)?),
                Op::Swish { input, output } => blobs[*output] = Some(get(&blobs, *input)?.silu()?),
                Op::Sigmoid { input, output } => {
                    let x = get(&blobs, *input)?;
                    blobs[*output] = Some(x.neg()?.exp()?.affine(1.0, 1.0)?.recip()?);
                }
                Op::Binary {
                    kind,
                    lhs,
                    rhs,
                    output,
                } => {
                    let a = get(&blobs, *lhs)?;
                    let value = match rhs {
                        Operand::Scalar(b) => scalar(*kind, &a, f64::from(*b))?,
                        Operand::Blob(rhs) => {
                            let b = get(&blobs, *rhs)?;
                            match kind {
                                BinaryKind::Add => a.broadcast_add(&b)?,
                                BinaryKind::Sub => a.broadcast_sub(&b)?,
                                BinaryKind::Mul => a.broadcast_mul(&b)?,
                                BinaryKind::Div => a.broadcast_div(&b)?,
                                BinaryKind::ReverseSub => b.broadcast_sub(&a)?,
                            }
                        }
                    };
                    blobs[*output] = Some(value);
                }
                Op::Concat { inputs, output } => {
                    let parts = inputs
                        .iter()
                        .map(|&id| get(&blobs, id))
                        .collect::<Result<Vec<_>, _>>()?;
                    blobs[*output] = Some(Tensor::cat(&parts, 1)?);
                }
                Op::PixelShuffle {
                    input,
                    output,
                    factor,
                } => {
                    blobs[*output] = Some(pixel_shuffle(&get(&blobs, *input)?, *factor)?);
                }
                Op::Alias { input, outputs } => {
                    let value = get(&blobs, *input)?;
                    for output in outputs {
                        blobs[*output] = Some(value.clone());
                    }
                }
            }
            for blob in op.reads() {
                if self.last_use[blob] == index && blob != self.output {
                    blobs[blob] = None;
                }
            }
        }
        let output = blobs[self.output]
            .take()
            .ok_or_else(|| RunError("the output blob was not computed".into()))?;
        Ok(output.to_dtype(DType::F32)?)
    }
}

/// The arithmetic a run uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats: the canonical computation, what workers must run and checkers recompute.
    #[default]
    Full,
    /// 16-bit floats: faster on some GPUs, and off by up to several 8-bit levels — a different
    /// computation that checkers reject. Offered to measure that difference.
    Half,
}

/// `a ∘ b` for a scalar `b`, as `a · mul + add` where that is exact.
fn scalar(kind: BinaryKind, a: &Tensor, b: f64) -> candle_core::Result<Tensor> {
    match kind {
        BinaryKind::Add => a.affine(1.0, b),
        BinaryKind::Sub => a.affine(1.0, -b),
        BinaryKind::Mul => a.affine(b, 0.0),
        BinaryKind::Div => a.affine(1.0 / b, 0.0),
        BinaryKind::ReverseSub => a.affine(-1.0, b),
    }
}

/// PyTorch's `PixelShuffle`: channel `c·f² + i·f + j` at `(y, x)` goes to channel `c` at
/// `(y·f + i, x·f + j)`.
fn pixel_shuffle(x: &Tensor, factor: usize) -> candle_core::Result<Tensor> {
    let (batch, channels, height, width) = x.dims4()?;
    let out_channels = channels / (factor * factor);
    x.reshape((batch, out_channels, factor, factor, height, width))?
        .permute((0, 1, 4, 2, 5, 3))?
        .contiguous()?
        .reshape((batch, out_channels, height * factor, width * factor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn pixel_shuffle_follows_pytorchs_channel_order() {
        // 4 channels of 1×1, factor 2: channel i·2 + j lands at (i, j).
        let x = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], (1, 4, 1, 1), &Device::Cpu).unwrap();
        let y = pixel_shuffle(&x, 2).unwrap();
        assert_eq!(y.dims(), &[1, 1, 2, 2]);
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            [1.0, 2.0, 3.0, 4.0]
        );
    }
}
