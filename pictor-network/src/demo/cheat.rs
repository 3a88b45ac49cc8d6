//! The demo's cheating worker: a renderer that renders fewer samples than the job asks for and
//! passes the result off as the real thing, so the demo (and the tests) can show the checkers
//! catching it. It wraps the production renderer; the production worker has no cheating option.

use pictor_agent::{RendererFactory, standard_renderer};
use pictor_core::job::RendererSpec;
use pictor_render::{RenderControl, RenderOutput, RenderRequest, Renderer, Result};
use std::sync::Arc;

/// A renderer that renders `samples / divisor` samples (at least one) and returns that frame.
pub struct CheatingRenderer {
    inner: Box<dyn Renderer>,
    divisor: u32,
}

impl CheatingRenderer {
    /// Wraps `inner`, rendering `1 / divisor` of the samples asked for.
    pub fn new(inner: Box<dyn Renderer>, divisor: u32) -> Self {
        CheatingRenderer {
            inner,
            divisor: divisor.max(1),
        }
    }

    /// A worker's renderer factory that cheats by `divisor` on every job.
    pub fn factory(divisor: u32) -> RendererFactory {
        Arc::new(move |spec: &RendererSpec| {
            Box::new(CheatingRenderer::new(standard_renderer(spec.kind), divisor))
                as Box<dyn Renderer>
        })
    }

    fn cheapened(&self, request: &RenderRequest) -> RenderRequest {
        let mut cheap = request.clone();
        cheap.samples = (request.samples / self.divisor).max(1);
        cheap
    }
}

impl Renderer for CheatingRenderer {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn version(&self) -> Result<String> {
        self.inner.version()
    }

    fn render(&self, request: &RenderRequest, control: &RenderControl) -> Result<RenderOutput> {
        self.inner.render(&self.cheapened(request), control)
    }

    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
    ) -> Result<Vec<RenderOutput>> {
        self.inner
            .render_seeds(&self.cheapened(request), seeds, control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_core::job::RendererKind;

    #[test]
    fn the_cheat_renders_a_fraction_of_the_samples() {
        let cheat = CheatingRenderer::new(standard_renderer(RendererKind::Builtin), 4);
        let request = RenderRequest::new(8, 8, 16, 1);
        assert_eq!(cheat.cheapened(&request).samples, 4);
        let one = RenderRequest::new(8, 8, 2, 1);
        assert_eq!(cheat.cheapened(&one).samples, 1);
        let honest = standard_renderer(RendererKind::Builtin)
            .render(&RenderRequest::new(8, 8, 4, 1), &RenderControl::default())
            .expect("render");
        let cheated = cheat
            .render(&request, &RenderControl::default())
            .expect("render");
        assert_eq!(
            cheated.regions[0].image, honest.regions[0].image,
            "16 samples asked, 4 rendered: the 4-sample frame"
        );
    }
}
