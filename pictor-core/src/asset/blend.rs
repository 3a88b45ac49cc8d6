//! The header of a `.blend` file: which Blender saved it, so a job is only sent to workers whose
//! Blender can open it.
//!
//! An uncompressed `.blend` starts with a short ASCII header. Up to Blender 4.x it is 12 bytes:
//! `BLENDER`, the pointer size (`_` 4 bytes, `-` 8 bytes), the byte order (`v` little, `V` big) and
//! the version as three digits (`304` = 3.4). From Blender 5.0 it is 17 bytes: `BLENDER`, the
//! header size as two digits (`17`), `-`, the file-format version as two digits, the byte order,
//! and the version as four digits (`0500` = 5.0). A compressed file (zstd since Blender 3.0, gzip
//! before) has to be decompressed first; [`compression_of`] says which.
//!
//! ```
//! use pictor_core::asset::blend::{BlendHeader, parse_header};
//! use pictor_core::job::Version;
//! let header = parse_header(b"BLENDER-v304REND")?;
//! assert_eq!(header.version, Version::new(3, 4, 0));
//! assert_eq!(parse_header(b"BLENDER17-01v0500")?.version, Version::new(5, 0, 0));
//! # Ok::<(), pictor_core::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::job::Version;

/// Bytes of a file's start that always hold its whole header (either form).
pub const HEADER_BYTES: usize = 17;

/// How a `.blend` file's bytes are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard frames (Blender 3.0 and later, when "Compress" is on).
    Zstd,
    /// gzip (Blender 2.x, when "Compress" is on).
    Gzip,
}

/// What a `.blend` header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlendHeader {
    /// The Blender version that saved the file (major.minor; patch is not recorded).
    pub version: Version,
    /// Pointer size of the saving machine, bytes (4 or 8).
    pub pointer_size: u8,
    /// Whether the saving machine was little-endian.
    pub little_endian: bool,
}

/// The compression of a file starting with `bytes`, or `None` for a plain file.
pub fn compression_of(bytes: &[u8]) -> Option<Compression> {
    match bytes {
        [0x28, 0xB5, 0x2F, 0xFD, ..] => Some(Compression::Zstd),
        [0x1F, 0x8B, ..] => Some(Compression::Gzip),
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Reads the header at the start of an uncompressed `.blend` (give it at least [`HEADER_BYTES`]).
pub fn parse_header(bytes: &[u8]) -> Result<BlendHeader> {
    let not_blend = || {
        Error::invalid(
            "scene",
            "the main file is not a Blender file: it does not start with a .blend header",
        )
    };
    let rest = bytes.strip_prefix(b"BLENDER").ok_or_else(not_blend)?;
    let (pointer, endian, version) = match rest {
        // Blender 5.0+: size, '-', format version, byte order, four-digit version.
        [s1, s2, b'-', f1, f2, endian, v @ ..] if s1.is_ascii_digit() && s2.is_ascii_digit() => {
            let version = v.get(..4).and_then(digits).ok_or_else(not_blend)?;
            digits(&[*f1, *f2]).ok_or_else(not_blend)?;
            (b'-', *endian, (version / 100, version % 100))
        }
        // Up to 4.x: pointer size, byte order, three-digit version.
        [pointer, endian, v @ ..] => {
            let version = v.get(..3).and_then(digits).ok_or_else(not_blend)?;
            (*pointer, *endian, (version / 100, version % 100))
        }
        _ => return Err(not_blend()),
    };
    let pointer_size = match pointer {
        b'_' => 4,
        b'-' => 8,
        _ => return Err(not_blend()),
    };
    let little_endian = match endian {
        b'v' => true,
        b'V' => false,
        _ => return Err(not_blend()),
    };
    Ok(BlendHeader {
        version: Version::new(version.0, version.1, 0),
        pointer_size,
        little_endian,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_header_forms_and_the_compressions_are_recognised() {
        let old = parse_header(b"BLENDER_V279rest").expect("2.79");
        assert_eq!(old.version, Version::new(2, 79, 0));
        assert_eq!(old.pointer_size, 4);
        assert!(!old.little_endian);
        let new = parse_header(b"BLENDER17-01v0501").expect("5.1");
        assert_eq!(new.version, Version::new(5, 1, 0));
        assert_eq!(new.pointer_size, 8);
        assert_eq!(
            compression_of(&[0x28, 0xB5, 0x2F, 0xFD, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(compression_of(&[0x1F, 0x8B, 8]), Some(Compression::Gzip));
        assert_eq!(compression_of(b"BLENDER-v304"), None);
    }

    #[test]
    fn anything_else_is_refused_naming_the_scene() {
        for bad in [
            &b""[..],
            b"BLEND",
            b"BLENDER-v3",
            b"BLENDER-x304",
            b"BLENDER*v304",
            b"BLENDER-vabc",
            b"PK\x03\x04 a zip",
            b"BLENDER17-01v05",
        ] {
            let error = parse_header(bad).expect_err("not a header");
            assert!(error.to_string().contains("scene"), "{error}");
        }
    }
}
