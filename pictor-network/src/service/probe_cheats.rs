//! The cheats the network makes of honest frames for known-outcome checks (`probes`): each a
//! kind of dishonest frame the protocol catches (docs/BENCHMARKS.md, "Verifier").

/// How the network makes a cheat from an honest frame; each is one the protocol catches
/// (docs/BENCHMARKS.md, "Verifier").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheatClass {
    /// A Gaussian blur (σ = 1.5 px): a denoised or low-sample render's look.
    Blur,
    /// Rendered at half size and scaled up.
    Upscale,
    /// Brightened by 6 % of full scale: an exposure shift.
    Exposure,
}

impl CheatClass {
    pub(crate) const ALL: [CheatClass; 3] =
        [CheatClass::Blur, CheatClass::Upscale, CheatClass::Exposure];

    pub(crate) fn name(self) -> &'static str {
        match self {
            CheatClass::Blur => "cheat:blur",
            CheatClass::Upscale => "cheat:upscale",
            CheatClass::Exposure => "cheat:exposure",
        }
    }

    /// The cheat made of PNG `bytes`, as a PNG of the same size and bit depth.
    pub(crate) fn apply(self, bytes: &[u8]) -> Result<Vec<u8>, image::ImageError> {
        let honest = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)?;
        let (width, height) = (honest.width(), honest.height());
        let cheat = match self {
            CheatClass::Blur => honest.blur(1.5),
            CheatClass::Upscale => honest
                .resize_exact(
                    (width / 2).max(1),
                    (height / 2).max(1),
                    image::imageops::FilterType::Triangle,
                )
                .resize_exact(width, height, image::imageops::FilterType::Triangle),
            CheatClass::Exposure => {
                let sixteen_bit = honest.color().bytes_per_pixel() > honest.color().channel_count();
                honest.brighten(if sixteen_bit { 3_855 } else { 15 })
            }
        };
        let mut png = std::io::Cursor::new(Vec::new());
        cheat.write_to(&mut png, image::ImageFormat::Png)?;
        Ok(png.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GenericImageView;

    fn gradient_png() -> Vec<u8> {
        let picture = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        });
        let mut png = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("encode");
        png.into_inner()
    }

    #[test]
    fn every_cheat_changes_the_pixels_and_keeps_the_size() {
        let honest_png = gradient_png();
        let honest = image::load_from_memory(&honest_png).expect("decode");
        for class in CheatClass::ALL {
            let cheat_png = class.apply(&honest_png).expect("cheat");
            let cheat = image::load_from_memory(&cheat_png).expect("decode cheat");
            assert_eq!(cheat.dimensions(), honest.dimensions(), "{class:?}");
            assert_eq!(cheat.color(), honest.color(), "{class:?}");
            assert_ne!(
                cheat.as_bytes(),
                honest.as_bytes(),
                "{class:?} changed nothing"
            );
        }
        assert!(CheatClass::Blur.apply(b"not a png").is_err());
    }
}
