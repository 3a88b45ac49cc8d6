//! Frame sets: which frames of an animation a job renders, written the way artists write them —
//! `"1-250"`, `"1-100x2,150,200-210"`.
//!
//! Grammar: comma-separated parts; a part is `N` (one frame), `A-B` (every frame from A to B) or
//! `A-BxS` (every S-th frame from A up to B). Frames are the scene's own numbers, `0..=MAX_FRAME_NUMBER`.
//! Parts may interleave but no frame may appear twice. A set holds at most [`MAX_FRAMES`] frames, so a
//! typo such as `1-99999999` is refused before anything is allocated.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The largest frame number Blender accepts (`MAXFRAME`).
pub const MAX_FRAME_NUMBER: u32 = 1_048_574;
/// The most frames one job may render.
pub const MAX_FRAMES: usize = 100_000;
/// The most comma-separated parts a frame set may have.
pub const MAX_PARTS: usize = 1_000;

const FIELD: &str = "frames";

/// One part of a frame set: `start..=end` every `step` frames. Always normalised so that `end` is a
/// frame of the part (`1-10x4` is stored as `1-9x4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameRange {
    /// First frame.
    pub start: u32,
    /// Last frame (inclusive, hit by the step).
    pub end: u32,
    /// Distance between frames, ≥ 1.
    pub step: u32,
}

impl FrameRange {
    /// Number of frames in the part.
    pub fn len(&self) -> usize {
        ((self.end - self.start) / self.step) as usize + 1
    }

    /// Never true: a part holds at least one frame. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The part's frames in increasing order.
    pub fn frames(&self) -> impl Iterator<Item = u32> + '_ {
        (self.start..=self.end).step_by(self.step as usize)
    }
}

impl fmt::Display for FrameRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.start == self.end, self.step) {
            (true, _) => write!(f, "{}", self.start),
            (false, 1) => write!(f, "{}-{}", self.start, self.end),
            (false, step) => write!(f, "{}-{}x{}", self.start, self.end, step),
        }
    }
}

/// A validated set of frames. Serialized as its text form (`"1-100x2,150"`).
///
/// ```
/// use pictor_core::FrameSet;
/// let frames: FrameSet = "1-10x3, 20".parse()?;
/// assert_eq!(frames.to_string(), "1-10x3,20");
/// assert_eq!(frames.to_vec(), vec![1, 4, 7, 10, 20]);
/// assert!("5-1".parse::<FrameSet>().is_err());
/// # Ok::<(), pictor_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FrameSet {
    parts: Vec<FrameRange>,
    len: usize,
}

impl FrameSet {
    /// The set `start..=end`.
    pub fn range(start: u32, end: u32) -> Result<Self> {
        FrameSet::from_parts(vec![parse_range_bounds(start, end, 1)?])
    }

    /// The single frame `frame`.
    pub fn single(frame: u32) -> Result<Self> {
        FrameSet::range(frame, frame)
    }

    fn from_parts(parts: Vec<FrameRange>) -> Result<Self> {
        if parts.is_empty() {
            return Err(Error::invalid(FIELD, "no frames given"));
        }
        if parts.len() > MAX_PARTS {
            return Err(Error::invalid(
                FIELD,
                format!("{} parts; at most {MAX_PARTS} are allowed", parts.len()),
            ));
        }
        let mut len = 0usize;
        for part in &parts {
            len += part.len();
            if len > MAX_FRAMES {
                return Err(Error::invalid(
                    FIELD,
                    format!("more than {MAX_FRAMES} frames; split the job"),
                ));
            }
        }
        // A part never repeats a frame, and parts whose spans are apart share none: only parts
        // whose spans overlap need their frames compared (a stored job's spec is decoded on every
        // read, so the common one-range set must not cost a pass over its frames).
        let mut spans: Vec<(u32, u32)> = parts.iter().map(|p| (p.start, p.end)).collect();
        spans.sort_unstable();
        if spans.windows(2).any(|pair| pair[1].0 <= pair[0].1) {
            let mut all: Vec<u32> = parts.iter().flat_map(FrameRange::frames).collect();
            all.sort_unstable();
            if let Some(pair) = all.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(Error::invalid(
                    FIELD,
                    format!("frame {} appears more than once", pair[0]),
                ));
            }
        }
        Ok(FrameSet { parts, len })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a valid set holds at least one frame.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The parts, in the order written.
    pub fn parts(&self) -> &[FrameRange] {
        &self.parts
    }

    /// Frames in the order written.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.parts.iter().flat_map(FrameRange::frames)
    }

    /// Frames in increasing order.
    pub fn to_vec(&self) -> Vec<u32> {
        let mut frames: Vec<u32> = self.iter().collect();
        frames.sort_unstable();
        frames
    }

    /// True when `frame` is in the set.
    pub fn contains(&self, frame: u32) -> bool {
        self.parts.iter().any(|part| {
            frame >= part.start
                && frame <= part.end
                && (frame - part.start).is_multiple_of(part.step)
        })
    }

    /// The first and last frame (in frame order).
    pub fn bounds(&self) -> (u32, u32) {
        let first = self.parts.iter().map(|p| p.start).min().unwrap_or(0);
        let last = self.parts.iter().map(|p| p.end).max().unwrap_or(0);
        (first, last)
    }
}

fn parse_range_bounds(start: u32, end: u32, step: u32) -> Result<FrameRange> {
    if step == 0 {
        return Err(Error::invalid(FIELD, "a step (`x`) must be at least 1"));
    }
    if end > MAX_FRAME_NUMBER || start > MAX_FRAME_NUMBER {
        return Err(Error::invalid(
            FIELD,
            format!("frame numbers go up to {MAX_FRAME_NUMBER}"),
        ));
    }
    if start > end {
        return Err(Error::invalid(
            FIELD,
            format!("range {start}-{end} runs backwards; write {end}-{start}"),
        ));
    }
    let end = start + (end - start) / step * step;
    let step = if start == end { 1 } else { step };
    Ok(FrameRange { start, end, step })
}

fn parse_number(text: &str, whole_part: &str) -> Result<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            FIELD,
            format!("{whole_part:?} is not a frame, a range A-B or a stepped range A-BxS"),
        ));
    }
    text.parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_FRAME_NUMBER)
        .ok_or_else(|| {
            Error::invalid(
                FIELD,
                format!("{text} is beyond the largest frame number {MAX_FRAME_NUMBER}"),
            )
        })
}

fn parse_part(part: &str) -> Result<FrameRange> {
    let (range, step) = match part.split_once(['x', 'X']) {
        Some((range, step)) => (range, parse_number(step, part)?),
        None => (part, 1),
    };
    let (start, end) = match range.split_once('-') {
        Some((start, end)) => (parse_number(start, part)?, parse_number(end, part)?),
        None => {
            let frame = parse_number(range, part)?;
            (frame, frame)
        }
    };
    parse_range_bounds(start, end, step)
}

impl FromStr for FrameSet {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        if text.len() > 64 * 1024 {
            return Err(Error::invalid(FIELD, "frame list longer than 64 KiB"));
        }
        let parts = text
            .split(',')
            .map(str::trim)
            .map(|part| {
                if part.is_empty() {
                    Err(Error::invalid(FIELD, format!("empty part in {text:?}")))
                } else {
                    parse_part(part)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        FrameSet::from_parts(parts)
    }
}

impl fmt::Display for FrameSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, part) in self.parts.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{part}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for FrameSet {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<FrameSet> for String {
    fn from(frames: FrameSet) -> String {
        frames.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(text: &str) -> Vec<u32> {
        text.parse::<FrameSet>().expect(text).to_vec()
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(frames("1-5"), vec![1, 2, 3, 4, 5]);
        assert_eq!(frames("7"), vec![7]);
        assert_eq!(frames("0"), vec![0]);
        assert_eq!(frames("1-10x4"), vec![1, 5, 9]);
        let mixed: FrameSet = "1-100x2,150,200-210".parse().expect("valid");
        assert_eq!(mixed.len(), 50 + 1 + 11);
        assert_eq!(mixed.to_string(), "1-99x2,150,200-210");
        assert!(mixed.contains(99) && !mixed.contains(100) && mixed.contains(205));
        assert_eq!(mixed.bounds(), (1, 210));
        assert_eq!(
            frames("1-9x2, 2-10x2").len(),
            10,
            "interleaved parts are fine"
        );
    }

    #[test]
    fn rejects_bad_input_with_a_clear_error() {
        let cases = [
            ("5-1", "backwards"),
            ("1-", "not a frame"),
            ("-3", "not a frame"),
            ("0x0", "at least 1"),
            ("1-10x0", "at least 1"),
            ("", "empty part"),
            ("1,,2", "empty part"),
            ("a-b", "not a frame"),
            ("1-5,3", "appears more than once"),
            ("1-1000000", "more than 100000 frames"),
            ("99999999", "beyond the largest frame number"),
            ("1-2-3", "not a frame"),
            ("1.5", "not a frame"),
        ];
        for (text, expected) in cases {
            let err = text.parse::<FrameSet>().expect_err(text);
            assert_eq!(err.field(), Some("frames"), "{text:?}");
            assert!(
                err.to_string().contains(expected),
                "{text:?} gave {err}, expected to mention {expected:?}"
            );
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let set: FrameSet = serde_json::from_str("\"1-3,9\"").expect("valid");
        assert_eq!(set.to_vec(), vec![1, 2, 3, 9]);
        assert_eq!(serde_json::to_string(&set).expect("json"), "\"1-3,9\"");
        assert!(serde_json::from_str::<FrameSet>("\"3-1\"").is_err());
    }

    fn arb_part() -> impl Strategy<Value = (u32, u32, u32)> {
        (0u32..5_000, 0u32..300, 1u32..7)
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(parts in prop::collection::vec(arb_part(), 1..6)) {
            // Build non-overlapping parts by shifting each one past the previous.
            let mut offset = 0u32;
            let mut text = Vec::new();
            for (gap, length, step) in parts {
                let start = offset + gap;
                let end = start + length;
                text.push(format!("{start}-{end}x{step}"));
                offset = end + 1;
            }
            let text = text.join(",");
            let set: FrameSet = text.parse().expect("generated sets are valid");
            let again: FrameSet = set.to_string().parse().expect("display is parseable");
            prop_assert_eq!(&again, &set);
            prop_assert_eq!(again.to_string(), set.to_string());
            let listed = set.to_vec();
            prop_assert_eq!(listed.len(), set.len());
            for frame in &listed {
                prop_assert!(set.contains(*frame));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "[0-9x,\\- ]{0,24}") {
            let _ = text.parse::<FrameSet>();
        }
    }
}
