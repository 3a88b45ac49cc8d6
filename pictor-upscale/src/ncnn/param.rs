//! ncnn's `.param` file: the network's layers as text.
//!
//! ```text
//! 7767517                                   magic
//! 77 92                                     layer count, blob count
//! Convolution  /conv_1  1 1  in out  0=48 1=3 4=1 5=1 6=1296
//! type         name     bottoms/tops counts, their blob names, then key=value parameters
//! ```
//!
//! A value is an integer, a float (it has a `.`, `e` or `E`), or — for a key written as
//! `-23300 - k` — an array `n,v1,…,vn` standing for key `k`.

use super::NcnnError;
use std::collections::HashMap;

/// The magic number on a `.param` file's first line.
const MAGIC: u32 = 7_767_517;

/// Keys at or below this mark an array parameter (`-23300 - key`).
const ARRAY_KEY_BASE: i32 = -23_300;

/// A layer parameter's value.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i32),
    /// A float.
    Float(f32),
    /// An array (of floats; ncnn stores integer arrays the same way in text).
    Array(Vec<f32>),
}

/// One layer of the network, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// ncnn's layer type (`Convolution`, `BinaryOp`, …).
    pub kind: String,
    /// The layer's name (unique in the file).
    pub name: String,
    /// The blobs it reads.
    pub bottoms: Vec<String>,
    /// The blobs it writes.
    pub tops: Vec<String>,
    params: HashMap<u32, ParamValue>,
}

impl Layer {
    /// Integer parameter `key`, or `default` when absent.
    ///
    /// # Errors
    /// When the parameter is written but is not an integer.
    pub fn int(&self, key: u32, default: i32) -> Result<i32, NcnnError> {
        match self.params.get(&key) {
            None => Ok(default),
            Some(ParamValue::Int(value)) => Ok(*value),
            Some(other) => Err(self.bad_param(key, &format!("{other:?} is not an integer"))),
        }
    }

    /// Float parameter `key` (an integer is taken as a float), or `default` when absent.
    ///
    /// # Errors
    /// When the parameter is an array.
    pub fn float(&self, key: u32, default: f32) -> Result<f32, NcnnError> {
        match self.params.get(&key) {
            None => Ok(default),
            Some(ParamValue::Float(value)) => Ok(*value),
            // Integers written where a float is meant are exact below 2^24.
            #[allow(clippy::cast_precision_loss)]
            Some(ParamValue::Int(value)) => Ok(*value as f32),
            Some(other) => Err(self.bad_param(key, &format!("{other:?} is not a number"))),
        }
    }

    /// A non-negative integer parameter as a size.
    ///
    /// # Errors
    /// When it is negative or not an integer.
    pub fn size(&self, key: u32, default: i32) -> Result<usize, NcnnError> {
        let value = self.int(key, default)?;
        usize::try_from(value).map_err(|_| self.bad_param(key, &format!("{value} is negative")))
    }

    /// Whether parameter `key` is written at all.
    pub fn has(&self, key: u32) -> bool {
        self.params.contains_key(&key)
    }

    /// An error about parameter `key` of this layer.
    pub fn bad_param(&self, key: u32, why: &str) -> NcnnError {
        NcnnError::Param(format!(
            "layer {} ({}): parameter {key}: {why}",
            self.name, self.kind
        ))
    }
}

/// Parses a `.param` file's text.
///
/// # Errors
/// When the magic, counts or any layer line is malformed, or the counts disagree with the lines.
pub fn parse_param(text: &str) -> Result<Vec<Layer>, NcnnError> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let magic = lines
        .next()
        .ok_or_else(|| NcnnError::Param("the file is empty".into()))?;
    if magic.trim().parse::<u32>().ok() != Some(MAGIC) {
        return Err(NcnnError::Param(format!(
            "not an ncnn .param file (first line {:?}, expected {MAGIC})",
            truncate(magic)
        )));
    }
    let counts = lines
        .next()
        .ok_or_else(|| NcnnError::Param("no layer and blob counts".into()))?;
    let mut counts_fields = counts.split_whitespace().map(str::parse::<usize>);
    let (Some(Ok(layer_count)), Some(Ok(_blob_count)), None) = (
        counts_fields.next(),
        counts_fields.next(),
        counts_fields.next(),
    ) else {
        return Err(NcnnError::Param(format!(
            "the second line must be two counts, not {:?}",
            truncate(counts)
        )));
    };
    let layers = lines
        .enumerate()
        .map(|(index, line)| {
            parse_layer(line).map_err(|why| {
                NcnnError::Param(format!(
                    "layer line {}: {why}: {:?}",
                    index + 1,
                    truncate(line)
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if layers.len() != layer_count {
        return Err(NcnnError::Param(format!(
            "the file declares {layer_count} layers but has {}",
            layers.len()
        )));
    }
    Ok(layers)
}

fn parse_layer(line: &str) -> Result<Layer, String> {
    let mut fields = line.split_whitespace();
    let mut next = |what: &str| fields.next().ok_or_else(|| format!("no {what}"));
    let kind = next("layer type")?.to_string();
    let name = next("layer name")?.to_string();
    let bottom_count: usize = next("bottom count")?
        .parse()
        .map_err(|_| "the bottom count is not a number".to_string())?;
    let top_count: usize = next("top count")?
        .parse()
        .map_err(|_| "the top count is not a number".to_string())?;
    if bottom_count > 64 || top_count > 64 {
        return Err("more than 64 bottoms or tops".into());
    }
    let mut bottoms = Vec::with_capacity(bottom_count);
    for _ in 0..bottom_count {
        bottoms.push(next("bottom blob")?.to_string());
    }
    let mut tops = Vec::with_capacity(top_count);
    for _ in 0..top_count {
        tops.push(next("top blob")?.to_string());
    }
    let mut params = HashMap::new();
    for field in fields {
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| format!("{field:?} is not key=value"))?;
        let key: i32 = key
            .parse()
            .map_err(|_| format!("parameter key {key:?} is not a number"))?;
        let (key, value) = if key <= ARRAY_KEY_BASE {
            (ARRAY_KEY_BASE - key, parse_array(value)?)
        } else {
            (key, parse_scalar(value)?)
        };
        let key = u32::try_from(key).map_err(|_| format!("parameter key {key} is negative"))?;
        if params.insert(key, value).is_some() {
            return Err(format!("parameter {key} is written twice"));
        }
    }
    Ok(Layer {
        kind,
        name,
        bottoms,
        tops,
        params,
    })
}

fn parse_scalar(value: &str) -> Result<ParamValue, String> {
    if value.contains(['.', 'e', 'E']) {
        value
            .parse::<f32>()
            .map(ParamValue::Float)
            .map_err(|_| format!("{value:?} is not a float"))
    } else {
        value
            .parse::<i32>()
            .map(ParamValue::Int)
            .map_err(|_| format!("{value:?} is not an integer"))
    }
}

fn parse_array(value: &str) -> Result<ParamValue, String> {
    let mut items = value.split(',');
    let count: usize = items
        .next()
        .and_then(|count| count.parse().ok())
        .ok_or_else(|| format!("array {value:?} has no length"))?;
    let values = items
        .map(|item| {
            item.parse::<f32>()
                .map_err(|_| format!("array item {item:?} is not a number"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if values.len() != count {
        return Err(format!(
            "array declares {count} items but has {}",
            values.len()
        ));
    }
    Ok(ParamValue::Array(values))
}

/// At most 60 characters of a line, for error messages.
fn truncate(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_bottoms_tops_and_parameters_are_read() {
        let text = "7767517\n3 3\nInput in 0 1 data\n\
                    Convolution conv 1 1 data c 0=48 1=3 4=1 5=1 6=1296\n\
                    BinaryOp mul 1 1 c out 0=2 1=1 2=2.550000e+02 -23310=2,1.5,2\n";
        let layers = parse_param(text).unwrap();
        assert_eq!(layers.len(), 3);
        let conv = &layers[1];
        assert_eq!(
            (conv.kind.as_str(), conv.name.as_str()),
            ("Convolution", "conv")
        );
        assert_eq!(
            (conv.bottoms.clone(), conv.tops.clone()),
            (vec!["data".to_string()], vec!["c".to_string()])
        );
        assert_eq!(conv.int(0, 0).unwrap(), 48);
        assert_eq!(conv.int(11, 7).unwrap(), 7, "absent: the default");
        let mul = &layers[2];
        assert!((mul.float(2, 0.0).unwrap() - 255.0).abs() < f32::EPSILON);
        assert_eq!(
            mul.params.get(&10),
            Some(&ParamValue::Array(vec![1.5, 2.0]))
        );
        assert!(mul.int(2, 0).is_err(), "a float is not an integer");
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        for (text, expected) in [
            ("", "empty"),
            ("1234\n1 1\n", "not an ncnn .param file"),
            ("7767517\n1\n", "two counts"),
            (
                "7767517\n2 1\nInput in 0 1 data\n",
                "declares 2 layers but has 1",
            ),
            ("7767517\n1 1\nInput in 0 2 data\n", "no top blob"),
            ("7767517\n1 1\nInput in 0 1 data 0=x\n", "not an integer"),
            ("7767517\n1 1\nInput in 0 1 data 0=1 0=2\n", "written twice"),
            (
                "7767517\n1 1\nInput in 0 1 data -23300=3,1,2\n",
                "declares 3 items",
            ),
        ] {
            let error = parse_param(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
