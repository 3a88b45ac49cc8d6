//! The challenge: which pixels the checker re-renders, and with which seeds.
//!
//! Everything here is a pure function of a [`ChallengeKey`] — BLAKE3 in keyed mode over the
//! checker's 32-byte secret, the frame's commitment H(W) and the job's parameters — which seeds a
//! ChaCha20 CSPRNG. The worker commits H(W) before any challenge exists and never learns the secret,
//! so it cannot know which pixels will be checked (matrix case C11): rendering honestly only at
//! "likely" tiles is caught with the probability that a random tile lands on a dishonest pixel.
//!
//! Tiles: `tiles` squares of `tile_size` pixels (64 by default; on smaller frames smaller tiles down
//! to `min_tile_size`, then fewer tiles, see [`ChallengeConfig::plan`]), `stratified` of them one per cell of a grid over the frame,
//! the rest drawn with probability proportional to an [`ImportanceMap`] of the global preview
//! (noise + detail), with a floor so that every pixel keeps a chance. Tiles avoid overlapping each
//! other where they can (overlapping pixels would be counted twice with identical references).

use pictor_core::task::PixelRect;
use pictor_render::LinearImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

/// Domain separation of the challenge key derivation.
const KEY_CONTEXT: &[u8] = b"pictor verify challenge v1";

/// Parameters of tile selection.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChallengeConfig {
    /// Tiles per frame (default 16).
    pub tiles: usize,
    /// Of which stratified, one per grid cell (default 8); the rest are importance-weighted.
    pub stratified: usize,
    /// Side of a tile in pixels on large frames (default 64).
    pub tile_size: u32,
    /// Largest fraction of the frame the tiles may cover together (default 0.5): on small frames the
    /// tile side shrinks (to a multiple of 8, at least 8) to respect it.
    pub max_coverage: f64,
    /// Fraction of the importance mass spread uniformly over the frame (default 0.2), so that every
    /// pixel keeps a chance of being checked.
    pub uniform_floor: f64,
    /// Smallest tile side (default 32). Small frames get fewer tiles of this side instead of
    /// smaller tiles (see [`ChallengeConfig::plan`]).
    #[serde(default = "default_min_tile_size")]
    pub min_tile_size: u32,
    /// Largest cost of a round's tile references, as a fraction of the worker's render of the frame
    /// (default `Some(0.045)`; `None`: no cap). Split references render each tile pixel with N
    /// samples in all (two at N/2), so the tiles may cover this fraction of the frame: the side
    /// shrinks (to a multiple of 8) to respect it — but only where tiles of `min_tile_size` can:
    /// a frame too small for that (below about 800×450 with 16 tiles of 32 px) keeps its full
    /// tiles, since its references are cheap in absolute terms and shrinking them would only cost
    /// detection (see [`ChallengeConfig::plan`]). 0.045 keeps the checker under 5 % with the
    /// preview's 0.4 % on frames of 1280×720 and up (`docs/BENCHMARKS.md`).
    #[serde(default = "default_max_reference_cost")]
    pub max_reference_cost: Option<f64>,
}

fn default_min_tile_size() -> u32 {
    32
}

fn default_max_reference_cost() -> Option<f64> {
    Some(0.045)
}

/// How many tiles of which side a frame gets ([`ChallengeConfig::plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TilePlan {
    /// Tile side in pixels (tiles are `side × side`, clipped to the frame's sides).
    pub side: u32,
    /// Tiles in the round.
    pub tiles: usize,
    /// Of which stratified.
    pub stratified: usize,
    /// The tiles partition the whole frame (small frames): every pixel is verified, no preview
    /// is needed for coverage and no position is secret.
    pub whole_frame: bool,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        ChallengeConfig {
            tiles: 16,
            stratified: 8,
            tile_size: 64,
            max_coverage: 0.5,
            uniform_floor: 0.2,
            min_tile_size: default_min_tile_size(),
            max_reference_cost: default_max_reference_cost(),
        }
    }
}

impl ChallengeConfig {
    /// The escalation round's configuration: twice the tiles (half stratified), allowed to cover
    /// twice the area (at most the whole frame) at twice the cost, so that the tiles keep their
    /// side and small frames get more tiles too.
    pub fn escalated(&self) -> Self {
        ChallengeConfig {
            tiles: self.tiles * 2,
            stratified: self.stratified * 2,
            max_coverage: (self.max_coverage * 2.0).min(1.0),
            max_reference_cost: self.max_reference_cost.map(|cost| cost * 2.0),
            ..*self
        }
    }

    /// This configuration for references that cost `factor` times the split ones per tile pixel
    /// (matched references: 2): the cost budget shrinks accordingly.
    pub fn with_reference_cost_factor(&self, factor: f64) -> Self {
        ChallengeConfig {
            max_reference_cost: self.max_reference_cost.map(|cost| cost / factor.max(1.0)),
            ..*self
        }
    }

    /// The tile side for a `width × height` frame ([`ChallengeConfig::plan`]'s side).
    pub fn tile_size_for(&self, width: u32, height: u32) -> u32 {
        self.plan(width, height).side
    }

    /// The tiles of a round on a `width × height` frame.
    ///
    /// - Large frames: `tiles` tiles of `tile_size`, or smaller (to a multiple of 8) where their
    ///   references would cost more than `max_reference_cost` of the frame's render and tiles of
    ///   at least `min_tile_size` can meet it (by default a 1280×720 frame gets 16 tiles of 48, a
    ///   1920×1080 one 64, a 512×288 one 64: 32 px tiles would still cost 11 %).
    /// - Medium frames: the side shrinks (to a multiple of 8) so that `tiles` tiles cover at most
    ///   `max_coverage` of the frame — but never below `min_tile_size`.
    /// - Small frames, where `tiles` tiles of `min_tile_size` would cover more than
    ///   `max_coverage`: the **whole frame**, as a grid of rectangles of `min_tile_size` to
    ///   `2·min_tile_size − 1` pixels a side (`whole_frame`). A 128×72 frame gets 8 tiles of
    ///   32×36 instead of 16 of 16×16: tiny tiles clip the 5×5 variance window and the 8×8 bias
    ///   blocks at their borders everywhere, and too few samples made the pooled statistics too
    ///   noisy (40 % honest rejects measured with 16×16 tiles, 13 % with 4 tiles of 32×32). The
    ///   references then cost what the worker's render did — on a frame this small that is
    ///   cheap, and every pixel is checked.
    ///
    /// The side never exceeds the frame's smaller side.
    pub fn plan(&self, width: u32, height: u32) -> TilePlan {
        let area = f64::from(width) * f64::from(height);
        let tiles = self.tiles.max(1);
        let budget = (self.max_coverage * area / tiles as f64).sqrt();
        let mut side = self.tile_size.min(budget as u32);
        if side >= 8 {
            side -= side % 8;
        }
        let min_side = self.min_tile_size.max(1);
        if side >= min_side || self.tile_size < min_side {
            // The cost cap: tiles × side² ≤ max_reference_cost × area, where tiles of at least
            // min_side can meet it; a frame too small for that keeps its side.
            if let Some(cost) = self.max_reference_cost {
                let affordable = (cost.max(0.0) * area / tiles as f64).sqrt() as u32;
                let affordable = affordable - affordable % 8;
                if affordable < side && affordable >= min_side {
                    side = affordable;
                }
            }
            let side = side.max(8).min(self.tile_size.max(1));
            return TilePlan {
                side: side.min(width).min(height).max(1),
                tiles,
                stratified: self.stratified.min(tiles),
                whole_frame: false,
            };
        }
        let side = min_side.min(width).min(height).max(1);
        let (cols, rows) = ((width / side).max(1), (height / side).max(1));
        let count = (cols * rows) as usize;
        TilePlan {
            side,
            tiles: count,
            stratified: count,
            whole_frame: true,
        }
    }

    /// The whole-frame grid of a small frame: `width / side` columns × `height / side` rows of
    /// near-equal rectangles (sides `side` to `2·side − 1`) covering every pixel once.
    fn whole_frame_tiles(width: u32, height: u32, side: u32) -> Vec<ChallengeTile> {
        let (cols, rows) = ((width / side).max(1), (height / side).max(1));
        let edge =
            |i: u32, n: u32, size: u32| (u64::from(i) * u64::from(size) / u64::from(n)) as u32;
        (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (c, r)))
            .map(|(c, r)| {
                let (x0, x1) = (edge(c, cols, width), edge(c + 1, cols, width));
                let (y0, y1) = (edge(r, rows, height), edge(r + 1, rows, height));
                ChallengeTile {
                    rect: PixelRect::default_at(x0, y0, x1 - x0, y1 - y0),
                    kind: TileKind::Stratified,
                }
            })
            .collect()
    }
}

/// Why a tile was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TileKind {
    /// One per stratum of a grid over the frame.
    Stratified,
    /// Drawn in proportion to the preview's noise and detail.
    Weighted,
}

/// One challenge tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeTile {
    /// The pixels, in frame coordinates.
    pub rect: PixelRect,
    /// Why it was chosen.
    pub kind: TileKind,
}

/// The secret key of one challenge: BLAKE3-keyed(secret; context, H(W), frame, samples, seed).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChallengeKey([u8; 32]);

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(..)")
    }
}

impl ChallengeKey {
    /// Derives the key of a frame's challenge from the checker's secret and the frame's commitment
    /// (plus the job parameters, so one commitment cannot be replayed against another job).
    pub fn derive(
        secret: &[u8; 32],
        frame_hash: &[u8; 32],
        frame: u32,
        samples: u32,
        worker_seed: u64,
    ) -> Self {
        let mut hasher = blake3::Hasher::new_keyed(secret);
        hasher.update(KEY_CONTEXT);
        hasher.update(frame_hash);
        hasher.update(&frame.to_le_bytes());
        hasher.update(&samples.to_le_bytes());
        hasher.update(&worker_seed.to_le_bytes());
        ChallengeKey(*hasher.finalize().as_bytes())
    }

    /// An independent CSPRNG stream for `purpose` (`tiles`, `seeds`, `escalation`, ...).
    pub fn rng(&self, purpose: &str) -> ChaCha20Rng {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(purpose.as_bytes());
        ChaCha20Rng::from_seed(*hasher.finalize().as_bytes())
    }

    /// `count` reference seeds for `purpose`: distinct from each other and from the worker's seed,
    /// unpredictable without the secret.
    pub fn reference_seeds(&self, purpose: &str, count: usize, worker_seed: u64) -> Vec<u64> {
        let mut rng = self.rng(&format!("seeds/{purpose}"));
        let mut seeds: Vec<u64> = Vec::with_capacity(count);
        while seeds.len() < count {
            let seed: u64 = rng.random();
            if seed != worker_seed && !seeds.contains(&seed) {
                seeds.push(seed);
            }
        }
        seeds
    }
}

/// Where the global preview says the frame is noisy or detailed: one non-negative weight per pixel
/// of a `width × height` grid covering the frame (each cell `factor × factor` frame pixels).
#[derive(Clone, Debug, PartialEq)]
pub struct ImportanceMap {
    width: u32,
    height: u32,
    weights: Vec<f64>,
}

impl ImportanceMap {
    /// From the two preview renders: weight = noise (`|l₁ − l₂|`, luminance) + detail (gradient
    /// magnitude of their mean's luminance). Non-finite values count as 0.
    pub fn from_preview(a: &LinearImage, b: &LinearImage) -> Option<Self> {
        if (a.width(), a.height()) != (b.width(), b.height()) || a.width() == 0 || a.height() == 0 {
            return None;
        }
        let (w, h) = (a.width() as usize, a.height() as usize);
        let lum = |image: &LinearImage, i: usize| {
            let p = &image.as_rgba()[i * 4..i * 4 + 3];
            let l = 0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2]);
            if l.is_finite() { l } else { 0.0 }
        };
        let mean: Vec<f64> = (0..w * h).map(|i| 0.5 * (lum(a, i) + lum(b, i))).collect();
        let weights = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let noise = (lum(a, i) - lum(b, i)).abs();
                let gx = mean[y * w + (x + 1).min(w - 1)] - mean[y * w + x.saturating_sub(1)];
                let gy = mean[(y + 1).min(h - 1) * w + x] - mean[y.saturating_sub(1) * w + x];
                noise + 0.5 * (gx * gx + gy * gy).sqrt()
            })
            .collect();
        Some(ImportanceMap {
            width: a.width(),
            height: a.height(),
            weights,
        })
    }

    /// A uniform map (no preview).
    pub fn uniform(width: u32, height: u32) -> Self {
        ImportanceMap {
            width: width.max(1),
            height: height.max(1),
            weights: vec![1.0; width.max(1) as usize * height.max(1) as usize],
        }
    }
}

/// Picks the challenge tiles of a `width × height` frame. Deterministic in `key`.
pub fn select_tiles(
    key: &ChallengeKey,
    purpose: &str,
    width: u32,
    height: u32,
    importance: Option<&ImportanceMap>,
    config: &ChallengeConfig,
) -> Vec<ChallengeTile> {
    let plan = config.plan(width, height);
    if plan.whole_frame {
        return ChallengeConfig::whole_frame_tiles(width, height, plan.side);
    }
    let (tw, th) = (plan.side.min(width), plan.side.min(height));
    let mut rng = key.rng(&format!("tiles/{purpose}"));
    let mut tiles: Vec<ChallengeTile> = Vec::with_capacity(plan.tiles);
    let stratified = plan.stratified.min(plan.tiles);
    let (cols, rows) = grid_for(stratified, width, height);
    for cell in 0..stratified {
        let (cx, cy) = ((cell % cols) as u32, (cell / cols) as u32);
        let x0 = (u64::from(cx) * u64::from(width) / cols as u64) as u32;
        let x1 = (u64::from(cx + 1) * u64::from(width) / cols as u64) as u32;
        let y0 = (u64::from(cy) * u64::from(height) / rows as u64) as u32;
        let y1 = (u64::from(cy + 1) * u64::from(height) / rows as u64) as u32;
        let rect = place_tile(&mut rng, &tiles, (width, height), (tw, th), |rng| {
            let x = uniform_start(rng, x0, x1, tw, width);
            let y = uniform_start(rng, y0, y1, th, height);
            PixelRect::default_at(x, y, tw, th)
        });
        tiles.push(ChallengeTile {
            rect,
            kind: TileKind::Stratified,
        });
    }
    let uniform;
    let map = match importance {
        Some(map) => map,
        None => {
            uniform = ImportanceMap::uniform(1, 1);
            &uniform
        }
    };
    let total: f64 = map.weights.iter().sum();
    let cumulative: Vec<f64> = {
        let n = map.weights.len() as f64;
        let floor = if total > 0.0 && total.is_finite() {
            config.uniform_floor.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let mut acc = 0.0;
        map.weights
            .iter()
            .map(|w| {
                let share = if total > 0.0 && total.is_finite() {
                    w / total
                } else {
                    0.0
                };
                acc += (1.0 - floor) * share + floor / n;
                acc
            })
            .collect()
    };
    let mass = cumulative.last().copied().unwrap_or(1.0);
    for _ in stratified..plan.tiles {
        let rect = place_tile(&mut rng, &tiles, (width, height), (tw, th), |rng| {
            let u: f64 = rng.random::<f64>() * mass;
            let index = cumulative
                .partition_point(|&c| c <= u)
                .min(cumulative.len() - 1);
            let (px, py) = (index as u32 % map.width, index as u32 / map.width);
            // A uniform point inside the preview pixel's footprint, the tile centred on it.
            let fx =
                (f64::from(px) + rng.random::<f64>()) * f64::from(width) / f64::from(map.width);
            let fy =
                (f64::from(py) + rng.random::<f64>()) * f64::from(height) / f64::from(map.height);
            let x = (fx - f64::from(tw) / 2.0).clamp(0.0, f64::from(width - tw)) as u32;
            let y = (fy - f64::from(th) / 2.0).clamp(0.0, f64::from(height - th)) as u32;
            PixelRect::default_at(x, y, tw, th)
        });
        tiles.push(ChallengeTile {
            rect,
            kind: TileKind::Weighted,
        });
    }
    tiles
}

/// Columns × rows of the stratification grid for `n` cells: the factorisation closest to the frame's
/// aspect ratio.
fn grid_for(n: usize, width: u32, height: u32) -> (usize, usize) {
    let n = n.max(1);
    let aspect = f64::from(width.max(1)) / f64::from(height.max(1));
    (1..=n)
        .filter(|c| n.is_multiple_of(*c))
        .map(|c| (c, n / c))
        .min_by(|a, b| {
            let da = ((a.0 as f64 / a.1 as f64) / aspect).ln().abs();
            let db = ((b.0 as f64 / b.1 as f64) / aspect).ln().abs();
            da.total_cmp(&db)
        })
        .unwrap_or((n, 1))
}

/// A uniform tile start such that the tile lies inside the stratum `[lo, hi)` where it fits, and
/// inside the frame always.
/// Draws up to [`PLACEMENT_ATTEMPTS`] candidates from `candidate` and keeps the first that overlaps
/// no tile already chosen; failing that, any free position, and failing that the last candidate.
fn place_tile(
    rng: &mut ChaCha20Rng,
    tiles: &[ChallengeTile],
    (width, height): (u32, u32),
    (tw, th): (u32, u32),
    mut candidate: impl FnMut(&mut ChaCha20Rng) -> PixelRect,
) -> PixelRect {
    let overlaps = |rect: &PixelRect| tiles.iter().any(|t| intersects(&t.rect, rect));
    let mut rect = PixelRect::default_at(0, 0, tw, th);
    for _ in 0..PLACEMENT_ATTEMPTS {
        rect = candidate(rng);
        if !overlaps(&rect) {
            return rect;
        }
    }
    free_position(rng, tiles, width, height, tw, th).unwrap_or(rect)
}

/// Candidate positions drawn for one tile before searching for any free position.
const PLACEMENT_ATTEMPTS: usize = 64;

fn uniform_start(rng: &mut ChaCha20Rng, lo: u32, hi: u32, tile: u32, frame: u32) -> u32 {
    let last = frame - tile;
    if hi - lo >= tile {
        rng.random_range(lo..=hi - tile)
    } else {
        // The stratum is narrower than a tile: centre a tile on a uniform point of it.
        let centre = rng.random_range(lo..hi.max(lo + 1));
        centre.saturating_sub(tile / 2).min(last)
    }
}

/// A random free position on a 4-pixel grid (or the frame's last row/column), when random draws keep
/// hitting other tiles (crowded small frames); `None` when no tile fits without overlap.
fn free_position(
    rng: &mut ChaCha20Rng,
    tiles: &[ChallengeTile],
    width: u32,
    height: u32,
    tw: u32,
    th: u32,
) -> Option<PixelRect> {
    let axis = |frame: u32, tile: u32| {
        let mut starts: Vec<u32> = (0..=frame - tile).step_by(4).collect();
        if starts.last() != Some(&(frame - tile)) {
            starts.push(frame - tile);
        }
        starts
    };
    let (xs, ys) = (axis(width, tw), axis(height, th));
    let free: Vec<PixelRect> = ys
        .iter()
        .flat_map(|&y| xs.iter().map(move |&x| PixelRect::default_at(x, y, tw, th)))
        .filter(|rect| !tiles.iter().any(|t| intersects(&t.rect, rect)))
        .collect();
    if free.is_empty() {
        None
    } else {
        Some(free[rng.random_range(0..free.len())])
    }
}

fn intersects(a: &PixelRect, b: &PixelRect) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

trait RectAt {
    fn default_at(x: u32, y: u32, width: u32, height: u32) -> Self;
}

impl RectAt for PixelRect {
    fn default_at(x: u32, y: u32, width: u32, height: u32) -> Self {
        PixelRect {
            x,
            y,
            width,
            height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_cost_cap_shrinks_tiles_where_it_can_be_met() {
        let capped = ChallengeConfig::default();
        assert_eq!(capped.max_reference_cost, Some(0.045));
        let uncapped = ChallengeConfig {
            max_reference_cost: None,
            ..capped
        };
        assert_eq!(uncapped.plan(1280, 720).side, 64);
        let plan = capped.plan(1280, 720);
        assert_eq!((plan.side, plan.tiles, plan.whole_frame), (48, 16, false));
        let cost = (plan.tiles as f64) * f64::from(plan.side).powi(2) / (1280.0 * 720.0);
        assert!(cost <= 0.045, "{cost}");
        assert_eq!(capped.plan(1920, 1080).side, 64, "1080p affords full tiles");
        assert_eq!(
            capped.plan(512, 288).side,
            64,
            "32 px tiles cannot meet the cap on 512×288: the frame keeps full tiles"
        );
        assert_eq!(
            capped.plan(960, 540).side,
            32,
            "960×540 is large enough for the cap"
        );
        assert_eq!(capped.plan(800, 450).side, 64, "below it, full tiles");
        assert_eq!(
            capped.escalated().plan(1280, 720).side,
            48,
            "escalation doubles tiles and budget alike"
        );
        assert_eq!(
            capped.with_reference_cost_factor(2.0).plan(1280, 720).side,
            32,
            "matched references cost twice as much per pixel"
        );
    }

    fn key(secret: u8, frame_hash: u8) -> ChallengeKey {
        ChallengeKey::derive(&[secret; 32], &[frame_hash; 32], 1, 64, 0)
    }

    #[test]
    fn tile_side_shrinks_on_small_frames() {
        let config = ChallengeConfig::default();
        assert_eq!(config.tile_size_for(1920, 1080), 64);
        assert_eq!(
            config.tile_size_for(1280, 720),
            48,
            "the default reference-cost cap"
        );
        assert_eq!(config.tile_size_for(256, 144), 32);
        assert_eq!(config.plan(256, 144).tiles, 16);
        assert!(!config.plan(256, 144).whole_frame);
        // Small frames: the whole frame, as tiles of at least the minimum side.
        let small = config.plan(128, 72);
        assert_eq!((small.side, small.tiles, small.whole_frame), (32, 8, true));
        assert_eq!(config.plan(192, 108).tiles, 18);
        assert_eq!(config.escalated().plan(128, 72), small);
        assert_eq!(config.tile_size_for(16, 8), 8);
        assert_eq!(config.plan(16, 8).tiles, 2);
        assert_eq!(config.tile_size_for(5, 3), 3);
        for (w, h) in [(128, 72), (192, 108), (100, 37), (16, 8), (5, 3)] {
            let tiles = select_tiles(&key(1, 2), "round1", w, h, None, &config);
            assert_eq!(tiles.len(), config.plan(w, h).tiles);
            let area: u32 = tiles.iter().map(|t| t.rect.width * t.rect.height).sum();
            assert_eq!(area, w * h, "{w}×{h}: every pixel once");
            for (i, a) in tiles.iter().enumerate() {
                assert!(a.rect.fits_in(w, h));
                for b in &tiles[i + 1..] {
                    assert!(!intersects(&a.rect, &b.rect));
                }
            }
        }
    }

    #[test]
    fn tiles_are_inside_mostly_disjoint_and_deterministic() {
        let config = ChallengeConfig::default();
        for (w, h) in [(1920, 1080), (1280, 720), (192, 108), (64, 64)] {
            let tiles = select_tiles(&key(1, 2), "round1", w, h, None, &config);
            let plan = config.plan(w, h);
            assert_eq!(tiles.len(), plan.tiles);
            assert_eq!(
                tiles
                    .iter()
                    .filter(|t| t.kind == TileKind::Stratified)
                    .count(),
                plan.stratified
            );
            for tile in &tiles {
                assert!(tile.rect.fits_in(w, h), "{tile:?} in {w}×{h}");
            }
            if w >= 64 {
                for (i, a) in tiles.iter().enumerate() {
                    for b in &tiles[i + 1..] {
                        assert!(!intersects(&a.rect, &b.rect), "{a:?} {b:?} in {w}×{h}");
                    }
                }
            }
            assert_eq!(
                tiles,
                select_tiles(&key(1, 2), "round1", w, h, None, &config)
            );
        }
    }

    /// C11: the positions depend on both the secret and the frame's commitment.
    #[test]
    fn positions_depend_on_secret_and_frame_hash() {
        let config = ChallengeConfig::default();
        let base = select_tiles(&key(1, 2), "round1", 1920, 1080, None, &config);
        let other_secret = select_tiles(&key(3, 2), "round1", 1920, 1080, None, &config);
        let other_hash = select_tiles(&key(1, 4), "round1", 1920, 1080, None, &config);
        let same = |a: &[ChallengeTile], b: &[ChallengeTile]| {
            a.iter()
                .filter(|t| b.iter().any(|u| u.rect == t.rect))
                .count()
        };
        assert_eq!(same(&base, &other_secret), 0);
        assert_eq!(same(&base, &other_hash), 0);
        let seeds = key(1, 2).reference_seeds("tiles", 4, 7);
        assert_eq!(seeds.len(), 4);
        assert!(!seeds.contains(&7));
        assert_ne!(seeds, key(3, 2).reference_seeds("tiles", 4, 7));
    }

    /// C11: tile centres are uniform-ish over the frame (no preview): a χ² test on a 4×4 grid.
    #[test]
    fn positions_are_uniform_ish() {
        let config = ChallengeConfig::default();
        let (w, h) = (1920u32, 1080u32);
        let mut counts = [[0u32; 4]; 4];
        let rounds = 400u32;
        for round in 0..rounds {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&round.to_le_bytes());
            let key = ChallengeKey::derive(&[9; 32], &hash, 1, 64, 0);
            for tile in select_tiles(&key, "round1", w, h, None, &config) {
                let cx = (tile.rect.x + tile.rect.width / 2) * 4 / w;
                let cy = (tile.rect.y + tile.rect.height / 2) * 4 / h;
                counts[cy as usize][cx as usize] += 1;
            }
        }
        let expected = f64::from(rounds * 16) / 16.0;
        let chi2: f64 = counts
            .iter()
            .flatten()
            .map(|&c| (f64::from(c) - expected).powi(2) / expected)
            .sum();
        // 15 degrees of freedom; stratification makes it *more* even than random. p = 1e-4 at 42.6
        // — but tiles are clamped inside the frame, which thins the outermost cells a little.
        assert!(chi2 < 60.0, "χ² = {chi2}, counts {counts:?}");
        for &c in counts.iter().flatten() {
            assert!(f64::from(c) > 0.6 * expected, "{counts:?}");
        }
    }

    #[test]
    fn weighted_tiles_follow_the_importance_map() {
        // All the weight in the right half of a 24×13 preview: weighted tiles land there ~80 %+ of
        // the time (the rest is the uniform floor).
        let (pw, ph) = (24u32, 13u32);
        let mut a = LinearImage::new(pw, ph);
        let b = LinearImage::new(pw, ph);
        for y in 0..ph {
            for x in pw / 2..pw {
                let i = ((y * pw + x) * 4) as usize;
                a.as_rgba_mut()[i..i + 3].fill(if (x + y) % 2 == 0 { 1.0 } else { 0.0 });
            }
        }
        let map = ImportanceMap::from_preview(&a, &b).expect("map");
        let config = ChallengeConfig::default();
        let (mut right, mut total) = (0, 0);
        for round in 0..50u8 {
            let tiles = select_tiles(&key(round, 1), "r", 1920, 1040, Some(&map), &config);
            for tile in tiles.iter().filter(|t| t.kind == TileKind::Weighted) {
                total += 1;
                right += usize::from(tile.rect.x + tile.rect.width / 2 >= 960);
            }
        }
        assert!(right * 100 >= total * 75, "{right}/{total}");
    }
}
