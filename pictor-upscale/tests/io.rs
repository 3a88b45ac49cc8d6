//! Inputs and outputs at the boundary: formats told by content, linear EXR through the sRGB
//! transform, limits before decoding, and failed writes leaving nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::{ImageBuffer, ImageFormat, Rgb, RgbImage};
use pictor_upscale::RgbPlanes;
use pictor_upscale::io::{OutputEncoding, ViewTransform, linear_to_srgb, read_input, write_output};

#[test]
fn linear_exr_is_shown_through_the_srgb_transform_and_formats_are_told_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let exr = dir.path().join("frame.exr");
    let linear: ImageBuffer<Rgb<f32>, Vec<f32>> =
        ImageBuffer::from_fn(4, 1, |x, _| Rgb([[0.0, 0.18, 1.0, 2.5][x as usize]; 3]));
    image::DynamicImage::ImageRgb32F(linear)
        .save_with_format(&exr, ImageFormat::OpenExr)
        .unwrap();
    let planes = read_input(&exr, ViewTransform::Standard).unwrap();
    let shown: Vec<f32> = (0..4).map(|x| planes.get(1, x, 0)).collect();
    assert!((shown[1] - linear_to_srgb(0.18)).abs() < 1e-3, "{shown:?}");
    assert!(
        (shown[1] - 0.4614).abs() < 1e-3,
        "18 % grey is 46 % in sRGB"
    );
    assert_eq!(shown[0], 0.0);
    assert!(
        (shown[2] - 1.0).abs() < 1e-6 && shown[3] == shown[2],
        "clamped: {shown:?}"
    );

    // A PNG named .jpg is read as the PNG it is; 16-bit PNG keeps its depth.
    let png = dir.path().join("named-wrong.jpg");
    let deep: ImageBuffer<Rgb<u16>, Vec<u16>> =
        ImageBuffer::from_pixel(2, 2, Rgb([65535, 32768, 0]));
    deep.save_with_format(&png, ImageFormat::Png).unwrap();
    let planes = read_input(&png, ViewTransform::Standard).unwrap();
    assert!((planes.get(1, 0, 0) - 32768.0 / 65535.0).abs() < 1e-6);
}

#[test]
fn unreadable_foreign_and_oversized_inputs_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    let error = read_input(&text, ViewTransform::Standard)
        .unwrap_err()
        .to_string();
    assert!(error.contains("notes.png"), "{error}");
    let gif = dir.path().join("anim.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
    let error = read_input(&gif, ViewTransform::Standard)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a PNG, JPEG or OpenEXR"), "{error}");
    let wide = dir.path().join("wide.png");
    RgbImage::new(16_385, 1).save(&wide).unwrap();
    let error = read_input(&wide, ViewTransform::Standard)
        .unwrap_err()
        .to_string();
    assert!(error.contains("wide.png"), "{error}");
    let missing = dir.path().join("missing.png");
    assert!(read_input(&missing, ViewTransform::Standard).is_err());
}

#[test]
fn outputs_are_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let planes = RgbPlanes::new(3, 2, vec![0.5; 18]).unwrap();
    let jpeg = dir.path().join("out.jpg");
    write_output(&planes, &jpeg, OutputEncoding::Jpeg { quality: 92 }).unwrap();
    let read = image::ImageReader::open(&jpeg)
        .unwrap()
        .with_guessed_format()
        .unwrap();
    assert_eq!(read.format(), Some(ImageFormat::Jpeg));
    assert_eq!(read.decode().unwrap().width(), 3);
    let png16 = dir.path().join("out.png");
    write_output(&planes, &png16, OutputEncoding::Png16).unwrap();
    assert_eq!(
        image::open(&png16).unwrap().color(),
        image::ColorType::Rgb16
    );
    let refused = dir.path().join("refused.jpg");
    assert!(write_output(&planes, &refused, OutputEncoding::Jpeg { quality: 0 }).is_err());
    let into_missing_dir = dir.path().join("no/such/dir/out.png");
    assert!(write_output(&planes, &into_missing_dir, OutputEncoding::Png8).is_err());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !left
            .iter()
            .any(|name| name.contains("partial") || name.contains("refused")),
        "{left:?}"
    );
}
