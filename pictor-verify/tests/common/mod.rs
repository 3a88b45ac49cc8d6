//! Shared by the protocol tests on built-in renders: render a frame, run the checker protocol on it.

use pictor_core::OutputFormat;
use pictor_render::{BuiltinRenderer, LinearImage, RenderControl, RenderRequest, Renderer};
use pictor_verify::CpuVerifier;
use pictor_verify::intake::{DuplicateIndex, facts_of};
use pictor_verify::protocol::{Checker, ProtocolConfig, VerifyJob, VerifyReport, verify_image};
use std::time::Instant;

/// The job a frame was rendered for: size, samples asked, frame number.
#[derive(Clone, Copy, Debug)]
pub struct Shot {
    pub width: u32,
    pub height: u32,
    pub samples: u32,
    pub frame: u32,
}

impl Shot {
    /// Renders this shot's frame with `samples` samples (the worker's choice) and `seed`.
    pub fn render(&self, samples: u32, seed: u64) -> LinearImage {
        let mut request = RenderRequest::new(self.width, self.height, samples, seed);
        request.frame = self.frame;
        BuiltinRenderer::default()
            .render(&request, &RenderControl::default())
            .expect("render")
            .regions
            .remove(0)
            .image
    }

    /// Runs the whole checker protocol (CPU statistics, default configuration) on `image`, stored
    /// as `format`, claimed rendered with `seed`; `secret` seeds the checker's key.
    pub fn verify(
        &self,
        image: LinearImage,
        format: OutputFormat,
        seed: u64,
        secret: u64,
    ) -> VerifyReport {
        let renderer = BuiltinRenderer::default();
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&secret.to_le_bytes());
        key[8..16].copy_from_slice(&seed.to_le_bytes());
        let checker = Checker {
            renderer: &renderer,
            verifier: &CpuVerifier,
            secret: key,
            config: ProtocolConfig::default(),
            control: RenderControl::default(),
        };
        let job = VerifyJob {
            frame: self.frame,
            ..VerifyJob::new(self.width, self.height, self.samples, seed)
        };
        let facts = facts_of(&image, format);
        verify_image(
            &checker,
            &job,
            image,
            facts,
            &DuplicateIndex::new(),
            Instant::now(),
        )
        .expect("verdict")
    }
}
