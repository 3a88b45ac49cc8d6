//! ncnn's `.bin` file: every layer's weights, one layer after another in the `.param` file's order.
//!
//! A convolution's kernel is written with a 4-byte tag saying how: `0x01306B47` half floats
//! (padded to 4 bytes), `0x0002C056` or `0` 32-bit floats; its bias and a `MemoryData` layer's
//! constants are raw 32-bit floats without a tag. All little-endian. A correct read consumes the
//! file exactly: anything left over, or missing, means the two files do not belong together.

use super::NcnnError;
use super::param::Layer;

/// The tag of a kernel stored as half floats.
const TAG_FP16: u32 = 0x0130_6B47;
/// The tag of a kernel stored as 32-bit floats (ncnn also writes a zero tag for them).
const TAG_FP32: u32 = 0x0002_C056;
/// The tag of an int8-quantised kernel (not supported: the computation is fp32).
const TAG_INT8: u32 = 0x000D_4B38;

/// The weights one layer reads from the `.bin` file.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerWeights {
    /// A layer without weights.
    None,
    /// A convolution's kernel (OIHW) and bias.
    Convolution {
        /// `num_output × in × kh × kw` values.
        kernel: Vec<f32>,
        /// One per output channel, when the layer has a bias.
        bias: Option<Vec<f32>>,
    },
    /// A constant (`MemoryData`), channel-major.
    Constant(Vec<f32>),
}

/// The layer types that read nothing from the `.bin` file.
const WEIGHTLESS: &[&str] = &[
    "Input",
    "Split",
    "Swish",
    "Sigmoid",
    "BinaryOp",
    "Concat",
    "PixelShuffle",
    "ReLU",
    "Interp",
    "Eltwise",
];

/// Reads every layer's weights from `bin`, in order.
///
/// # Errors
/// When a layer's type is not supported, its sizes are inconsistent, a kernel is stored in a way
/// the computation cannot use (int8), or the file is shorter or longer than the layers need.
pub fn read_weights(layers: &[Layer], bin: &[u8]) -> Result<Vec<LayerWeights>, NcnnError> {
    let mut reader = Reader { bin, at: 0 };
    let weights = layers
        .iter()
        .map(|layer| read_layer(layer, &mut reader))
        .collect::<Result<Vec<_>, _>>()?;
    if reader.at != bin.len() {
        return Err(NcnnError::Weights(format!(
            "the layers use {} bytes of the weights file, which has {}: the .param and .bin files do \
             not belong together",
            reader.at,
            bin.len()
        )));
    }
    Ok(weights)
}

fn read_layer(layer: &Layer, reader: &mut Reader<'_>) -> Result<LayerWeights, NcnnError> {
    let context = |error: NcnnError| match error {
        NcnnError::Weights(why) => {
            NcnnError::Weights(format!("layer {} ({}): {why}", layer.name, layer.kind))
        }
        other => other,
    };
    match layer.kind.as_str() {
        "Convolution" => {
            let outputs = layer.size(0, 0)?;
            let kernel_len = layer.size(6, 0)?;
            if outputs == 0 || kernel_len == 0 || kernel_len % outputs != 0 {
                return Err(layer.bad_param(
                    6,
                    &format!("{kernel_len} kernel values for {outputs} outputs"),
                ));
            }
            let kernel = reader.tagged_floats(kernel_len).map_err(context)?;
            let bias = match layer.int(5, 0)? {
                0 => None,
                _ => Some(reader.floats(outputs).map_err(context)?),
            };
            Ok(LayerWeights::Convolution { kernel, bias })
        }
        "MemoryData" => {
            let count = [0, 1, 11, 2]
                .iter()
                .map(|&key| layer.size(key, 0).map(|size| size.max(1)))
                .try_fold(1_usize, |product, size| {
                    size.and_then(|size| {
                        product
                            .checked_mul(size)
                            .ok_or_else(|| layer.bad_param(0, "the constant's shape overflows"))
                    })
                })?;
            Ok(LayerWeights::Constant(
                reader.floats(count).map_err(context)?,
            ))
        }
        kind if WEIGHTLESS.contains(&kind) => Ok(LayerWeights::None),
        kind => Err(NcnnError::Unsupported(format!(
            "layer {} has type {kind}, which Pictor's loader does not know",
            layer.name
        ))),
    }
}

/// A cursor over the `.bin` file.
struct Reader<'a> {
    bin: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], NcnnError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bin.len())
            .ok_or_else(|| {
                NcnnError::Weights(format!(
                    "needs {len} bytes at offset {}, but the file ends at {}",
                    self.at,
                    self.bin.len()
                ))
            })?;
        let bytes = &self.bin[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32, NcnnError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// `count` raw little-endian 32-bit floats.
    fn floats(&mut self, count: usize) -> Result<Vec<f32>, NcnnError> {
        let len = count
            .checked_mul(4)
            .ok_or_else(|| NcnnError::Weights("a size overflows".into()))?;
        Ok(self
            .take(len)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// `count` values behind a storage tag, as 32-bit floats.
    fn tagged_floats(&mut self, count: usize) -> Result<Vec<f32>, NcnnError> {
        match self.u32()? {
            TAG_FP16 => {
                let len = count
                    .checked_mul(2)
                    .ok_or_else(|| NcnnError::Weights("a size overflows".into()))?;
                let values = self
                    .take(len)?
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect();
                // Half-float data is padded to a multiple of 4 bytes.
                self.take(len.next_multiple_of(4) - len)?;
                Ok(values)
            }
            TAG_FP32 | 0 => self.floats(count),
            TAG_INT8 => Err(NcnnError::Unsupported(
                "an int8-quantised kernel: the canonical computation is fp32".into(),
            )),
            tag => Err(NcnnError::Weights(format!(
                "unknown kernel storage tag {tag:#010x} at offset {}",
                self.at - 4
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ncnn::param::parse_param;

    fn layers() -> Vec<Layer> {
        parse_param(
            "7767517\n3 3\nInput in 0 1 data\nMemoryData mean 0 1 m 0=1 1=1 2=3\n\
             Convolution conv 1 1 data c 0=2 1=1 5=1 6=6\n",
        )
        .unwrap()
    }

    fn floats(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn half_and_full_precision_kernels_constants_and_biases_are_read_exactly() {
        let mut bin = floats(&[0.25, 0.5, 0.75]);
        bin.extend(TAG_FP16.to_le_bytes());
        for value in [1.0_f32, -2.0, 0.5, 3.0, 0.125, -1.5] {
            bin.extend(half::f16::from_f32(value).to_le_bytes());
        }
        // 12 bytes of half floats: already a multiple of 4, no padding.
        bin.extend(floats(&[0.1, 0.2]));
        let weights = read_weights(&layers(), &bin).unwrap();
        assert_eq!(weights[0], LayerWeights::None);
        assert_eq!(weights[1], LayerWeights::Constant(vec![0.25, 0.5, 0.75]));
        assert_eq!(
            weights[2],
            LayerWeights::Convolution {
                kernel: vec![1.0, -2.0, 0.5, 3.0, 0.125, -1.5],
                bias: Some(vec![0.1, 0.2]),
            }
        );
        let mut full = floats(&[0.25, 0.5, 0.75]);
        full.extend(0_u32.to_le_bytes());
        full.extend(floats(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0]));
        assert!(read_weights(&layers(), &full).is_ok());
    }

    #[test]
    fn a_file_too_short_too_long_or_quantised_is_refused() {
        let mut bin = floats(&[0.25, 0.5, 0.75]);
        bin.extend(0_u32.to_le_bytes());
        bin.extend(floats(&[1.0; 8]));
        let mut long = bin.clone();
        long.push(0);
        let error = read_weights(&layers(), &long).unwrap_err().to_string();
        assert!(error.contains("do not belong together"), "{error}");
        let short = &bin[..bin.len() - 1];
        let error = read_weights(&layers(), short).unwrap_err().to_string();
        assert!(
            error.contains("layer conv") && error.contains("file ends"),
            "{error}"
        );
        let mut int8 = floats(&[0.25, 0.5, 0.75]);
        int8.extend(TAG_INT8.to_le_bytes());
        let error = read_weights(&layers(), &int8).unwrap_err().to_string();
        assert!(error.contains("int8"), "{error}");
        let unknown = parse_param("7767517\n1 1\nLSTM l 0 1 x\n").unwrap();
        let error = read_weights(&unknown, &[]).unwrap_err().to_string();
        assert!(error.contains("LSTM"), "{error}");
    }
}
