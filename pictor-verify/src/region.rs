//! Verifying one region of a frame — a tile of a still split across workers — with the protocol
//! as if the region were a whole frame. [`RegionRenderer`] presents a renderer of the full frame
//! as a renderer of the region: a request for the region's resolution is rendered at the full
//! frame's resolution, its regions moved by the region's origin, and the answers moved back, so
//! every reference pixel is the full frame's pixel at exactly the tile's bounds (an off-by-one
//! tile is content that does not match). The protocol's 1/k preview of a whole frame has no
//! counterpart on a region, so a region is verified with the preview off
//! ([`region_protocol`]); its challenge tiles cover the region instead, which is a larger share of
//! it than of a whole frame.

use crate::protocol::ProtocolConfig;
use pictor_core::job::Resolution;
use pictor_core::task::PixelRect;
use pictor_render::{
    RenderControl, RenderError, RenderOutput, RenderRequest, Renderer, Result as RenderResult,
};

/// A renderer of the full frame presented as a renderer of `region` of it.
pub struct RegionRenderer<'a> {
    inner: &'a dyn Renderer,
    region: PixelRect,
    full: Resolution,
}

impl<'a> RegionRenderer<'a> {
    /// `inner` renders frames of `full` resolution; this renders `region` of them.
    pub fn new(inner: &'a dyn Renderer, region: PixelRect, full: Resolution) -> Self {
        RegionRenderer {
            inner,
            region,
            full,
        }
    }

    /// The request on the full frame that `request` (on the region) stands for.
    fn full_request(&self, request: &RenderRequest) -> RenderResult<RenderRequest> {
        let expected = (self.region.width, self.region.height);
        if (request.resolution.width, request.resolution.height) != expected {
            return Err(RenderError::invalid(
                "resolution",
                format!(
                    "a region renderer renders its {}×{} region only (asked {}×{}: a preview?)",
                    expected.0, expected.1, request.resolution.width, request.resolution.height
                ),
            ));
        }
        let mut full = request.clone();
        full.resolution = self.full;
        full.regions = request
            .effective_regions()
            .into_iter()
            .map(|r| PixelRect {
                x: r.x + self.region.x,
                y: r.y + self.region.y,
                ..r
            })
            .collect();
        Ok(full)
    }

    /// `output` of the full frame, its regions moved back into the region's coordinates.
    fn region_output(&self, mut output: RenderOutput) -> RenderOutput {
        for image in &mut output.regions {
            image.region.x = image.region.x.saturating_sub(self.region.x);
            image.region.y = image.region.y.saturating_sub(self.region.y);
        }
        output
    }
}

impl Renderer for RegionRenderer<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn version(&self) -> RenderResult<String> {
        self.inner.version()
    }

    fn render(
        &self,
        request: &RenderRequest,
        control: &RenderControl,
    ) -> RenderResult<RenderOutput> {
        let full = self.full_request(request)?;
        Ok(self.region_output(self.inner.render(&full, control)?))
    }

    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
    ) -> RenderResult<Vec<RenderOutput>> {
        let full = self.full_request(request)?;
        Ok(self
            .inner
            .render_seeds(&full, seeds, control)?
            .into_iter()
            .map(|output| self.region_output(output))
            .collect())
    }
}

/// The protocol for a region: the default one without the whole-frame preview.
pub fn region_protocol() -> ProtocolConfig {
    ProtocolConfig {
        preview_factor: 0,
        ..ProtocolConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_render::BuiltinRenderer;

    #[test]
    fn a_region_renders_the_full_frames_pixels_at_its_bounds() {
        let builtin = BuiltinRenderer::default();
        let full = Resolution {
            width: 48,
            height: 32,
        };
        let region = PixelRect {
            x: 16,
            y: 8,
            width: 24,
            height: 16,
        };
        let whole = builtin
            .render(
                &RenderRequest::new(full.width, full.height, 4, 7),
                &RenderControl::default(),
            )
            .expect("whole frame");
        let tile = RegionRenderer::new(&builtin, region, full);
        let inside = PixelRect {
            x: 4,
            y: 2,
            width: 8,
            height: 8,
        };
        let mut request = RenderRequest::new(region.width, region.height, 4, 7);
        request.regions = vec![inside];
        let output = tile
            .render(&request, &RenderControl::default())
            .expect("region");
        assert_eq!(
            output.regions[0].region, inside,
            "answered in the region's terms"
        );
        let image = &output.regions[0].image;
        let frame = &whole.regions[0].image;
        for y in 0..inside.height {
            for x in 0..inside.width {
                assert_eq!(
                    image.pixel(x, y),
                    frame.pixel(region.x + inside.x + x, region.y + inside.y + y),
                    "pixel ({x}, {y})"
                );
            }
        }
        let preview = RenderRequest::new(3, 2, 4, 7);
        assert!(tile.render(&preview, &RenderControl::default()).is_err());
    }
}
