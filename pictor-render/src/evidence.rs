//! Render evidence: the multilayer OpenEXR a faithful Blender render keeps beside its deliverable
//! ([`crate::blender::finish`]), read back for the checker.
//!
//! Blender names multilayer channels `<view layer>.<pass>.<channel>` (`ViewLayer.Combined.R`,
//! `ViewLayer.Debug Sample Count.X`) and the composite `Composite.Combined.R`. [`Evidence`] keeps
//! every channel as linear `f32` and answers the passes verification needs: the noisy combined
//! pass of a view layer (before denoising, compositing and the view transform) and the composite.
//!
//! The header is read first: an image over [`MAX_EVIDENCE_PIXELS`] or with more than
//! [`MAX_EVIDENCE_CHANNELS`] channels is refused before any pixel is allocated.

use crate::error::{RenderError, Result};
use crate::image::LinearImage;
use exr::prelude::{FlatSamples, ReadChannels, ReadLayers};
use pictor_core::job::MAX_PIXELS;
use std::collections::BTreeMap;
use std::io::Cursor;

/// Largest evidence image, in pixels (the largest frame a job may ask for).
pub const MAX_EVIDENCE_PIXELS: u64 = MAX_PIXELS;
/// Most channels an evidence file may hold (a view layer with every pass is well under it).
pub const MAX_EVIDENCE_CHANNELS: usize = 256;

/// The pass Cycles writes the noisy image to when the denoiser's passes are stored.
pub const NOISY_PASS: &str = "Noisy Image";
/// The render pass every view layer has.
pub const COMBINED_PASS: &str = "Combined";
/// The layer Blender saves the compositor's result under.
pub const COMPOSITE_LAYER: &str = "Composite";

/// Every channel of a multilayer OpenEXR, by full name, as linear `f32`, row-major from the top.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    width: u32,
    height: u32,
    channels: BTreeMap<String, Vec<f32>>,
}

impl Evidence {
    /// Reads an OpenEXR file (multilayer or not) into its channels.
    pub fn decode(bytes: &[u8]) -> Result<Evidence> {
        let bad = |reason: String| RenderError::Image {
            operation: "decode",
            reason: format!("evidence: {reason}"),
        };
        let meta = exr::meta::MetaData::read_from_buffered(Cursor::new(bytes), false)
            .map_err(|error| bad(error.to_string()))?;
        let mut size = None;
        let mut count = 0usize;
        for header in &meta.headers {
            let (w, h) = (header.layer_size.0, header.layer_size.1);
            if (w as u64) * (h as u64) > MAX_EVIDENCE_PIXELS {
                return Err(bad(format!("{w}×{h} pixels is over the cap")));
            }
            if *size.get_or_insert((w, h)) != (w, h) {
                return Err(bad("its layers differ in size".to_string()));
            }
            count += header.channels.list.len();
        }
        if count > MAX_EVIDENCE_CHANNELS {
            return Err(bad(format!("{count} channels is over the cap")));
        }
        let (width, height) = size.ok_or_else(|| bad("no layers".to_string()))?;
        let image = exr::prelude::read()
            .no_deep_data()
            .largest_resolution_level()
            .all_channels()
            .all_layers()
            .all_attributes()
            .from_buffered(Cursor::new(bytes))
            .map_err(|error| bad(error.to_string()))?;
        let mut channels = BTreeMap::new();
        for layer in &image.layer_data {
            let prefix = layer
                .attributes
                .layer_name
                .as_ref()
                .map(|name| format!("{name}."))
                .unwrap_or_default();
            for channel in &layer.channel_data.list {
                let samples: Vec<f32> = match &channel.sample_data {
                    FlatSamples::F32(samples) => samples.clone(),
                    FlatSamples::F16(samples) => samples.iter().map(|v| v.to_f32()).collect(),
                    FlatSamples::U32(samples) => samples.iter().map(|&v| v as f32).collect(),
                };
                channels.insert(format!("{prefix}{}", channel.name), samples);
            }
        }
        Ok(Evidence {
            width: u32::try_from(width).map_err(|_| bad("too wide".to_string()))?,
            height: u32::try_from(height).map_err(|_| bad("too tall".to_string()))?,
            channels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Every channel's full name, sorted.
    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// One channel's samples by full name.
    pub fn channel(&self, name: &str) -> Option<&[f32]> {
        self.channels.get(name).map(Vec::as_slice)
    }

    /// The view layers present (the names before a pass, the composite excluded), sorted.
    pub fn view_layers(&self) -> Vec<String> {
        let mut layers: Vec<String> = self
            .channels
            .keys()
            .filter_map(|name| name.split_once('.').map(|(layer, _)| layer.to_string()))
            .filter(|layer| layer != COMPOSITE_LAYER)
            .collect();
        layers.dedup();
        layers
    }

    /// `layer.pass` as an RGBA image: R, G, B (a one-channel pass fills all three), alpha from
    /// the pass's A or 1.
    pub fn pass(&self, layer: &str, pass: &str) -> Option<LinearImage> {
        let get = |channel: &str| self.channel(&format!("{layer}.{pass}.{channel}"));
        let (r, g, b) = match (get("R"), get("G"), get("B")) {
            (Some(r), Some(g), Some(b)) => (r, g, b),
            _ => {
                let single = get("X").or_else(|| get("V")).or_else(|| get("Y"))?;
                (single, single, single)
            }
        };
        let alpha = get("A");
        let pixels = self.width as usize * self.height as usize;
        let mut data = Vec::with_capacity(pixels * 4);
        for i in 0..pixels {
            data.extend_from_slice(&[r[i], g[i], b[i], alpha.map_or(1.0, |a| a[i])]);
        }
        LinearImage::from_rgba(self.width, self.height, data).ok()
    }

    /// The layer's combined light before denoising, compositing and the view transform: the
    /// `Noisy Image` pass when the denoiser ran, else `Combined`.
    pub fn noisy_combined(&self, layer: &str) -> Option<LinearImage> {
        self.pass(layer, NOISY_PASS)
            .or_else(|| self.pass(layer, COMBINED_PASS))
    }

    /// Replaces (or adds) `layer.pass` with an RGBA image of the evidence's size: what a test
    /// does to make an altered evidence file (a cheat) from an honest one.
    pub fn set_pass(&mut self, layer: &str, pass: &str, image: &LinearImage) -> Result<()> {
        if (image.width(), image.height()) != (self.width, self.height) {
            return Err(RenderError::invalid(
                "image",
                format!(
                    "{}×{} is not the evidence's {}×{}",
                    image.width(),
                    image.height(),
                    self.width,
                    self.height
                ),
            ));
        }
        for (index, channel) in ["R", "G", "B", "A"].into_iter().enumerate() {
            let samples = image
                .as_rgba()
                .chunks_exact(4)
                .map(|pixel| pixel[index])
                .collect();
            self.channels
                .insert(format!("{layer}.{pass}.{channel}"), samples);
        }
        Ok(())
    }

    /// Writes every channel, under its full name, as one 32-bit float OpenEXR (ZIP): a multilayer
    /// file Blender reads like its own.
    pub fn encode(&self) -> Result<Vec<u8>> {
        use exr::prelude::{
            AnyChannel, AnyChannels, Encoding, Image, Layer, LayerAttributes, SmallVec,
            WritableImage,
        };
        let channels: SmallVec<[AnyChannel<FlatSamples>; 4]> = self
            .channels
            .iter()
            .map(|(name, samples)| {
                AnyChannel::new(name.as_str(), FlatSamples::F32(samples.clone()))
            })
            .collect();
        let layer = Layer::new(
            (self.width as usize, self.height as usize),
            LayerAttributes::default(),
            Encoding::SMALL_LOSSLESS,
            AnyChannels::sort(channels),
        );
        let mut bytes = Vec::new();
        Image::from_layer(layer)
            .write()
            .to_buffered(Cursor::new(&mut bytes))
            .map_err(|error| RenderError::Image {
                operation: "encode",
                reason: format!("evidence: {error}"),
            })?;
        Ok(bytes)
    }

    /// Drops every channel of view layer (or layer) `layer`, e.g. [`COMPOSITE_LAYER`]; answers
    /// whether there were any.
    pub fn remove_layer(&mut self, layer: &str) -> bool {
        let prefix = format!("{layer}.");
        let before = self.channels.len();
        self.channels.retain(|name, _| !name.starts_with(&prefix));
        self.channels.len() != before
    }

    /// The compositor's result, when the compositor ran.
    pub fn composite(&self) -> Option<LinearImage> {
        self.pass(COMPOSITE_LAYER, COMBINED_PASS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_clear_error() {
        for bytes in [
            &b""[..],
            b"not an exr",
            &[0x76, 0x2f, 0x31, 0x01, 2, 0, 0, 0],
        ] {
            let error = Evidence::decode(bytes).expect_err("refused");
            assert!(error.to_string().contains("evidence"), "{error}");
        }
    }

    #[test]
    fn passes_set_and_encoded_read_back_the_same() {
        let image = LinearImage::from_rgba(2, 1, vec![0.5, 0.25, 1.0, 1.0, 2.0, 3.0, 4.0, 0.5])
            .expect("image");
        let bytes = image
            .encode(pictor_core::job::OutputFormat::Exr)
            .expect("encode");
        let mut evidence = Evidence::decode(&bytes).expect("decode");
        evidence
            .set_pass("ViewLayer", "Combined", &image)
            .expect("same size");
        let again = Evidence::decode(&evidence.encode().expect("encode")).expect("decode");
        assert_eq!(again, evidence);
        assert_eq!(again.view_layers(), ["ViewLayer"]);
        assert_eq!(again.noisy_combined("ViewLayer"), Some(image));
        let small = LinearImage::new(1, 1);
        assert!(evidence.set_pass("ViewLayer", "Combined", &small).is_err());
    }

    #[test]
    fn a_plain_exr_reads_as_channels() {
        let image = LinearImage::from_rgba(2, 1, vec![0.5, 0.25, 1.0, 1.0, 2.0, 3.0, 4.0, 1.0])
            .expect("image");
        let bytes = image
            .encode(pictor_core::job::OutputFormat::Exr)
            .expect("encode");
        let evidence = Evidence::decode(&bytes).expect("decode");
        assert_eq!((evidence.width(), evidence.height()), (2, 1));
        assert_eq!(evidence.channel("R"), Some(&[0.5, 2.0][..]));
        assert_eq!(evidence.channel("B"), Some(&[1.0, 4.0][..]));
        assert!(evidence.view_layers().is_empty());
    }
}
