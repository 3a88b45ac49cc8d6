//! A model's layers turned into a checked list of operations on numbered blobs: every blob's
//! channels, scale and receptive radius known before anything runs, so a model that could not
//! produce an RGB image `scale` times larger is refused when it is loaded.

use crate::ncnn::{Layer, LayerWeights, NcnnError};
use candle_core::{Device, Tensor};
use std::collections::HashMap;

/// One operation of the network. Blobs are numbered; `input`/`output` name them.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// A convolution, stride 1, `pad` zeros on every side, optionally a fused ReLU slope.
    Conv {
        input: usize,
        output: usize,
        kernel: Tensor,
        bias: Option<Tensor>,
        pad: usize,
    },
    /// A constant blob, shaped `(1, c, h, w)`.
    Constant { output: usize, value: Tensor },
    /// `x · sigmoid(x)`.
    Swish { input: usize, output: usize },
    /// `1 / (1 + e^-x)`.
    Sigmoid { input: usize, output: usize },
    /// An elementwise arithmetic operation, broadcasting a per-channel or scalar operand.
    Binary {
        kind: BinaryKind,
        lhs: usize,
        rhs: Operand,
        output: usize,
    },
    /// Channels of several blobs, one after another.
    Concat { inputs: Vec<usize>, output: usize },
    /// `(c·f², h, w)` → `(c, h·f, w·f)` in PyTorch's channel order.
    PixelShuffle {
        input: usize,
        output: usize,
        factor: usize,
    },
    /// The same blob under several names (ncnn's `Split`).
    Alias { input: usize, outputs: Vec<usize> },
}

/// The second operand of a [`Op::Binary`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operand {
    Blob(usize),
    Scalar(f32),
}

/// ncnn's `BinaryOp` operations Pictor computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
    /// `b − a`.
    ReverseSub,
}

/// The checked network.
#[derive(Clone, Debug)]
pub struct Graph {
    pub(crate) ops: Vec<Op>,
    pub(crate) input: usize,
    pub(crate) output: usize,
    pub(crate) blob_count: usize,
    /// For each blob, the index of the last operation reading it (dropped after it).
    pub(crate) last_use: Vec<usize>,
    /// Output pixels per input pixel, along each axis.
    pub scale: u32,
    /// How far, in input pixels, an output pixel sees: a tile needs at least this much context
    /// on every side for its inside to be independent of where the tile was cut.
    pub receptive_radius: u32,
}

/// What is known of a blob while the graph is built.
#[derive(Clone, Copy, Debug)]
struct BlobShape {
    channels: usize,
    /// Blob pixels per input pixel.
    scale: usize,
    /// Input pixels seen on each side.
    radius: usize,
    /// A constant (a per-channel or full tensor, no spatial extent of its own).
    constant: bool,
}

/// Builds the graph of `layers` with their `weights` (as [`crate::ncnn::read_weights`] gave them).
///
/// # Errors
/// When a layer is not supported or misused, a blob is read before it is written, or the network
/// does not map a 3-channel image to a 3-channel image an integer factor larger.
pub fn build(layers: &[Layer], weights: Vec<LayerWeights>) -> Result<Graph, NcnnError> {
    let mut builder = Builder::default();
    let mut input = None;
    for (layer, weights) in layers.iter().zip(weights) {
        if layer.kind == "Input" {
            if input.is_some() {
                return Err(graph("the model has more than one input"));
            }
            let [top] = layer.tops.as_slice() else {
                return Err(graph("the Input layer must have one top"));
            };
            let shape = BlobShape {
                channels: 3,
                scale: 1,
                radius: 0,
                constant: false,
            };
            input = Some(builder.define(top, shape)?);
            continue;
        }
        builder.layer(layer, weights)?;
    }
    let input = input.ok_or_else(|| graph("the model has no Input layer"))?;
    builder.finish(input)
}

fn graph(why: &str) -> NcnnError {
    NcnnError::Graph(why.to_string())
}

#[derive(Default)]
struct Builder {
    ops: Vec<Op>,
    ids: HashMap<String, usize>,
    shapes: Vec<BlobShape>,
    read: Vec<bool>,
}

impl Builder {
    fn define(&mut self, name: &str, shape: BlobShape) -> Result<usize, NcnnError> {
        if self.ids.contains_key(name) {
            return Err(NcnnError::Graph(format!("blob {name} is written twice")));
        }
        let id = self.shapes.len();
        self.ids.insert(name.to_string(), id);
        self.shapes.push(shape);
        self.read.push(false);
        Ok(id)
    }

    fn blob(&mut self, name: &str) -> Result<(usize, BlobShape), NcnnError> {
        let id = *self
            .ids
            .get(name)
            .ok_or_else(|| NcnnError::Graph(format!("blob {name} is read before it is written")))?;
        self.read[id] = true;
        Ok((id, self.shapes[id]))
    }

    fn layer(&mut self, layer: &Layer, weights: LayerWeights) -> Result<(), NcnnError> {
        let wrong =
            |why: &str| NcnnError::Graph(format!("layer {} ({}): {why}", layer.name, layer.kind));
        let one_top = || match layer.tops.as_slice() {
            [top] => Ok(top.as_str()),
            _ => Err(wrong("must have one top")),
        };
        let one_bottom = |builder: &mut Self| match layer.bottoms.as_slice() {
            [bottom] => builder.blob(bottom),
            _ => Err(wrong("must have one bottom")),
        };
        match layer.kind.as_str() {
            "Convolution" => {
                let (input, shape) = one_bottom(self)?;
                let LayerWeights::Convolution { kernel, bias } = weights else {
                    return Err(wrong("has no kernel"));
                };
                let conv = conv_shape(layer, shape, kernel.len())?;
                let kernel = tensor(kernel, (conv.outputs, shape.channels, conv.size, conv.size))?;
                let bias = bias
                    .map(|bias| tensor(bias, (1, conv.outputs, 1, 1)))
                    .transpose()?;
                let radius = shape.radius + (conv.size / 2).div_ceil(shape.scale);
                let output = self.define(
                    one_top()?,
                    BlobShape {
                        channels: conv.outputs,
                        radius,
                        ..shape
                    },
                )?;
                self.ops.push(Op::Conv {
                    input,
                    output,
                    kernel,
                    bias,
                    pad: conv.pad,
                });
            }
            "MemoryData" => {
                let LayerWeights::Constant(values) = weights else {
                    return Err(wrong("has no data"));
                };
                let (w, h, c) = (layer.size(0, 0)?, layer.size(1, 0)?, layer.size(2, 0)?);
                if w == 0 || h == 0 || c == 0 || layer.size(11, 0)? > 1 {
                    return Err(wrong(
                        "only 3-dimensional constants (w, h, c) are supported",
                    ));
                }
                let value = tensor(values, (1, c, h, w))?;
                let shape = BlobShape {
                    channels: c,
                    scale: 1,
                    radius: 0,
                    constant: true,
                };
                let output = self.define(one_top()?, shape)?;
                self.ops.push(Op::Constant { output, value });
            }
            "Swish" | "Sigmoid" => {
                let (input, shape) = one_bottom(self)?;
                let output = self.define(one_top()?, shape)?;
                self.ops.push(if layer.kind == "Swish" {
                    Op::Swish { input, output }
                } else {
                    Op::Sigmoid { input, output }
                });
            }
            "BinaryOp" => self.binary(layer)?,
            "Concat" => {
                if layer.int(0, 0)? != 0 {
                    return Err(wrong(
                        "only concatenation along channels (axis 0) is supported",
                    ));
                }
                let mut inputs = Vec::with_capacity(layer.bottoms.len());
                let mut joined: Option<BlobShape> = None;
                for bottom in &layer.bottoms {
                    let (id, shape) = self.blob(bottom)?;
                    inputs.push(id);
                    joined = Some(match joined {
                        None => shape,
                        Some(so_far) if so_far.scale == shape.scale && !shape.constant => {
                            BlobShape {
                                channels: so_far.channels + shape.channels,
                                radius: so_far.radius.max(shape.radius),
                                ..so_far
                            }
                        }
                        Some(_) => return Err(wrong("joins blobs of different scales")),
                    });
                }
                let shape = joined.ok_or_else(|| wrong("has no bottoms"))?;
                let output = self.define(one_top()?, shape)?;
                self.ops.push(Op::Concat { inputs, output });
            }
            "PixelShuffle" => {
                let (input, shape) = one_bottom(self)?;
                let factor = layer.size(0, 1)?;
                if layer.int(1, 0)? != 0 {
                    return Err(wrong("only PyTorch's channel order (mode 0) is supported"));
                }
                if factor == 0 || shape.channels % (factor * factor) != 0 {
                    return Err(wrong(&format!(
                        "{} channels cannot be shuffled by {factor}",
                        shape.channels
                    )));
                }
                let output = self.define(
                    one_top()?,
                    BlobShape {
                        channels: shape.channels / (factor * factor),
                        scale: shape.scale * factor,
                        ..shape
                    },
                )?;
                self.ops.push(Op::PixelShuffle {
                    input,
                    output,
                    factor,
                });
            }
            "Split" => {
                let (input, shape) = one_bottom(self)?;
                let outputs = layer
                    .tops
                    .iter()
                    .map(|top| self.define(top, shape))
                    .collect::<Result<Vec<_>, _>>()?;
                self.ops.push(Op::Alias { input, outputs });
            }
            kind => {
                return Err(NcnnError::Unsupported(format!(
                    "layer {} has type {kind}, which Pictor's runner does not compute",
                    layer.name
                )));
            }
        }
        Ok(())
    }

    fn binary(&mut self, layer: &Layer) -> Result<(), NcnnError> {
        let wrong =
            |why: &str| NcnnError::Graph(format!("layer {} ({}): {why}", layer.name, layer.kind));
        let kind = match layer.int(0, 0)? {
            0 => BinaryKind::Add,
            1 => BinaryKind::Sub,
            2 => BinaryKind::Mul,
            3 => BinaryKind::Div,
            7 => BinaryKind::ReverseSub,
            other => {
                return Err(NcnnError::Unsupported(format!(
                    "layer {}: BinaryOp operation {other}",
                    layer.name
                )));
            }
        };
        let with_scalar = layer.int(1, 0)? != 0;
        let (lhs, rhs, shape) = match (layer.bottoms.as_slice(), with_scalar) {
            ([a], true) => {
                let (lhs, shape) = self.blob(a)?;
                (lhs, Operand::Scalar(layer.float(2, 0.0)?), shape)
            }
            ([a, b], false) => {
                let (lhs, left) = self.blob(a)?;
                let (rhs, right) = self.blob(b)?;
                let shape = match (left.constant, right.constant) {
                    (false, true) | (true, false) => {
                        let (image, constant) = if left.constant {
                            (right, left)
                        } else {
                            (left, right)
                        };
                        if constant.channels != image.channels && constant.channels != 1 {
                            return Err(wrong("a constant's channels do not match the blob's"));
                        }
                        image
                    }
                    (false, false)
                        if left.channels == right.channels && left.scale == right.scale =>
                    {
                        BlobShape {
                            radius: left.radius.max(right.radius),
                            ..left
                        }
                    }
                    _ => return Err(wrong("its operands' shapes do not match")),
                };
                (lhs, Operand::Blob(rhs), shape)
            }
            _ => return Err(wrong("needs two bottoms, or one and a scalar")),
        };
        let [top] = layer.tops.as_slice() else {
            return Err(wrong("must have one top"));
        };
        let output = self.define(top, shape)?;
        self.ops.push(Op::Binary {
            kind,
            lhs,
            rhs,
            output,
        });
        Ok(())
    }

    fn finish(self, input: usize) -> Result<Graph, NcnnError> {
        let unread: Vec<usize> = (0..self.shapes.len())
            .filter(|&id| !self.read[id] && id != input)
            .collect();
        let [output] = unread.as_slice() else {
            return Err(NcnnError::Graph(format!(
                "the model must have exactly one output blob (found {})",
                unread.len()
            )));
        };
        let shape = self.shapes[*output];
        if shape.channels != 3 || shape.constant {
            return Err(NcnnError::Graph(format!(
                "the output has {} channels, not an RGB image",
                shape.channels
            )));
        }
        let mut last_use = vec![0; self.shapes.len()];
        for (index, op) in self.ops.iter().enumerate() {
            for blob in op.reads() {
                last_use[blob] = index;
            }
        }
        let to_u32 = |value: usize| {
            u32::try_from(value).map_err(|_| graph("the model's scale or radius is too large"))
        };
        Ok(Graph {
            ops: self.ops,
            input,
            output: *output,
            blob_count: self.shapes.len(),
            last_use,
            scale: to_u32(shape.scale)?,
            receptive_radius: to_u32(shape.radius)?,
        })
    }
}

impl Op {
    /// The blobs the operation reads.
    pub(crate) fn reads(&self) -> Vec<usize> {
        match self {
            Op::Conv { input, .. }
            | Op::Swish { input, .. }
            | Op::Sigmoid { input, .. }
            | Op::PixelShuffle { input, .. }
            | Op::Alias { input, .. } => vec![*input],
            Op::Constant { .. } => Vec::new(),
            Op::Binary { lhs, rhs, .. } => match rhs {
                Operand::Blob(rhs) => vec![*lhs, *rhs],
                Operand::Scalar(_) => vec![*lhs],
            },
            Op::Concat { inputs, .. } => inputs.clone(),
        }
    }
}

/// A convolution's checked geometry.
struct ConvShape {
    outputs: usize,
    size: usize,
    pad: usize,
}

fn conv_shape(layer: &Layer, input: BlobShape, kernel_len: usize) -> Result<ConvShape, NcnnError> {
    let outputs = layer.size(0, 0)?;
    let size = layer.size(1, 0)?;
    let square = layer.size(11, i32::try_from(size).unwrap_or(i32::MAX))? == size;
    let unit = |key: u32| layer.int(key, 1).map(|value| value == 1);
    let plain = unit(2)? && unit(12)? && unit(3)? && unit(13)?;
    if size == 0 || size % 2 == 0 || !square || !plain {
        return Err(layer.bad_param(
            1,
            "only odd square kernels with stride 1 and dilation 1 are supported",
        ));
    }
    let pad = layer.size(4, 0)?;
    let pad_i32 = i32::try_from(pad).unwrap_or(i32::MAX);
    let same_pad = [14, 15, 16].iter().try_fold(true, |same, &key| {
        Ok::<_, NcnnError>(same && layer.size(key, pad_i32)? == pad)
    })?;
    if !same_pad || pad != size / 2 {
        return Err(layer.bad_param(
            4,
            "only 'same' padding (half the kernel, every side) is supported",
        ));
    }
    if layer.int(8, 0)? != 0 || layer.int(9, 0)? != 0 || layer.has(10) {
        return Err(layer.bad_param(9, "fused activations and int8 are not supported"));
    }
    if kernel_len != outputs * input.channels * size * size {
        return Err(layer.bad_param(
            6,
            &format!(
                "{kernel_len} kernel values, but {outputs} outputs × {} inputs × {size}×{size}",
                input.channels
            ),
        ));
    }
    Ok(ConvShape { outputs, size, pad })
}

fn tensor<S: Into<candle_core::Shape>>(values: Vec<f32>, shape: S) -> Result<Tensor, NcnnError> {
    Tensor::from_vec(values, shape, &Device::Cpu)
        .map_err(|error| NcnnError::Graph(format!("a weight tensor: {error}")))
}
