//! A second fp32 engine: the same graph computed with plain loops (direct convolution, no im2col,
//! no matrix kernels, another summation order). Slow; it exists to show what two honest engines
//! disagree by, the margin the checker's [`crate::compare`] rule allows.

use crate::graph::{BinaryKind, Graph, Op, Operand};
use crate::model::UpscaleError;
use crate::planes::RgbPlanes;
use candle_core::Tensor;

/// A blob: `channels × height × width` values.
#[derive(Clone, Debug)]
struct Blob {
    channels: usize,
    height: usize,
    width: usize,
    values: Vec<f32>,
}

impl Blob {
    fn at(&self, c: usize, y: usize, x: usize) -> f32 {
        self.values[(c * self.height + y) * self.width + x]
    }
}

/// Runs `graph` on `input` with plain loops.
///
/// # Errors
/// When a weight cannot be read back from the backend or a shape is inconsistent.
pub fn forward(graph: &Graph, input: &RgbPlanes) -> Result<RgbPlanes, UpscaleError> {
    let (width, height) = (input.width() as usize, input.height() as usize);
    let mut values = Vec::with_capacity(3 * width * height);
    for channel in 0..3 {
        for y in 0..input.height() {
            for x in 0..input.width() {
                values.push(input.get(channel, x, y));
            }
        }
    }
    let mut blobs: Vec<Option<Blob>> = vec![None; graph.blob_count];
    blobs[graph.input] = Some(Blob {
        channels: 3,
        height,
        width,
        values,
    });
    for op in &graph.ops {
        let get = |id: usize| {
            blobs[id]
                .clone()
                .ok_or_else(|| UpscaleError::Spec(format!("blob {id} is not computed")))
        };
        match op {
            Op::Conv {
                input,
                output,
                kernel,
                bias,
                pad,
            } => {
                let bias = bias.as_ref().map(values_of).transpose()?;
                let value = conv(&get(*input)?, kernel, bias.as_deref(), *pad)?;
                blobs[*output] = Some(value);
            }
            Op::Constant { output, value } => {
                let (_, channels, height, width) = value.dims4().map_err(backend)?;
                blobs[*output] = Some(Blob {
                    channels,
                    height,
                    width,
                    values: values_of(value)?,
                });
            }
            Op::Swish { input, output } => {
                blobs[*output] = Some(map(get(*input)?, |v| v / (1.0 + (-v).exp())));
            }
            Op::Sigmoid { input, output } => {
                blobs[*output] = Some(map(get(*input)?, |v| 1.0 / (1.0 + (-v).exp())));
            }
            Op::Binary {
                kind,
                lhs,
                rhs,
                output,
            } => {
                let a = get(*lhs)?;
                let value = match rhs {
                    Operand::Scalar(b) => map(a, |v| apply(*kind, v, *b)),
                    Operand::Blob(rhs) => broadcast(*kind, &a, &get(*rhs)?),
                };
                blobs[*output] = Some(value);
            }
            Op::Concat { inputs, output } => {
                let parts = inputs
                    .iter()
                    .map(|&id| get(id))
                    .collect::<Result<Vec<_>, _>>()?;
                let first = parts
                    .first()
                    .ok_or_else(|| UpscaleError::Spec("an empty concatenation".into()))?;
                let (height, width) = (first.height, first.width);
                blobs[*output] = Some(Blob {
                    channels: parts.iter().map(|p| p.channels).sum(),
                    height,
                    width,
                    values: parts
                        .iter()
                        .flat_map(|p| p.values.iter().copied())
                        .collect(),
                });
            }
            Op::PixelShuffle {
                input,
                output,
                factor,
            } => blobs[*output] = Some(pixel_shuffle(&get(*input)?, *factor)),
            Op::Alias { input, outputs } => {
                let value = get(*input)?;
                for output in outputs {
                    blobs[*output] = Some(value.clone());
                }
            }
        }
    }
    let output = get_output(&blobs, graph.output)?;
    RgbPlanes::new(
        u32::try_from(output.width).map_err(|e| UpscaleError::Spec(e.to_string()))?,
        u32::try_from(output.height).map_err(|e| UpscaleError::Spec(e.to_string()))?,
        output.values,
    )
    .map_err(UpscaleError::Spec)
}

fn get_output(blobs: &[Option<Blob>], id: usize) -> Result<Blob, UpscaleError> {
    blobs[id]
        .clone()
        .ok_or_else(|| UpscaleError::Spec("the output blob was not computed".into()))
}

fn backend(error: candle_core::Error) -> UpscaleError {
    UpscaleError::Spec(format!("reading a weight: {error}"))
}

fn values_of(tensor: &Tensor) -> Result<Vec<f32>, UpscaleError> {
    tensor
        .flatten_all()
        .and_then(|flat| flat.to_vec1::<f32>())
        .map_err(backend)
}

fn map(mut blob: Blob, f: impl Fn(f32) -> f32) -> Blob {
    for value in &mut blob.values {
        *value = f(*value);
    }
    blob
}

fn apply(kind: BinaryKind, a: f32, b: f32) -> f32 {
    match kind {
        BinaryKind::Add => a + b,
        BinaryKind::Sub => a - b,
        BinaryKind::Mul => a * b,
        BinaryKind::Div => a / b,
        BinaryKind::ReverseSub => b - a,
    }
}

/// `a ∘ b` where either may be a per-channel (or single) constant.
fn broadcast(kind: BinaryKind, a: &Blob, b: &Blob) -> Blob {
    let shape = if a.values.len() >= b.values.len() {
        a
    } else {
        b
    };
    let pick = |blob: &Blob, c: usize, y: usize, x: usize| {
        let c = if blob.channels == 1 { 0 } else { c };
        let (y, x) = if blob.height == 1 && blob.width == 1 {
            (0, 0)
        } else {
            (y, x)
        };
        blob.at(c, y, x)
    };
    let mut values = Vec::with_capacity(shape.values.len());
    for c in 0..shape.channels {
        for y in 0..shape.height {
            for x in 0..shape.width {
                values.push(apply(kind, pick(a, c, y, x), pick(b, c, y, x)));
            }
        }
    }
    Blob { values, ..*shape }
}

/// A direct convolution, stride 1, `pad` zeros around.
fn conv(
    input: &Blob,
    kernel: &Tensor,
    bias: Option<&[f32]>,
    pad: usize,
) -> Result<Blob, UpscaleError> {
    let (outputs, inputs, size, _) = kernel.dims4().map_err(backend)?;
    let weights = values_of(kernel)?;
    let (height, width) = (input.height, input.width);
    let mut values = vec![0.0_f32; outputs * height * width];
    for o in 0..outputs {
        let plane = &mut values[o * height * width..(o + 1) * height * width];
        for i in 0..inputs {
            for ky in 0..size {
                for kx in 0..size {
                    let weight = weights[((o * inputs + i) * size + ky) * size + kx];
                    for y in 0..height {
                        let Some(sy) = (y + ky).checked_sub(pad).filter(|&sy| sy < height) else {
                            continue;
                        };
                        for x in 0..width {
                            if let Some(sx) = (x + kx).checked_sub(pad).filter(|&sx| sx < width) {
                                plane[y * width + x] += weight * input.at(i, sy, sx);
                            }
                        }
                    }
                }
            }
        }
        if let Some(bias) = bias {
            for value in plane.iter_mut() {
                *value += bias[o];
            }
        }
    }
    Ok(Blob {
        channels: outputs,
        height,
        width,
        values,
    })
}

fn pixel_shuffle(input: &Blob, factor: usize) -> Blob {
    let channels = input.channels / (factor * factor);
    let (height, width) = (input.height * factor, input.width * factor);
    let mut values = vec![0.0; channels * height * width];
    for c in 0..channels {
        for y in 0..height {
            for x in 0..width {
                let source = c * factor * factor + (y % factor) * factor + x % factor;
                values[(c * height + y) * width + x] = input.at(source, y / factor, x / factor);
            }
        }
    }
    Blob {
        channels,
        height,
        width,
        values,
    }
}
