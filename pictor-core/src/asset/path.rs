//! The rules a scene-relative path must follow, and [`safe_join`], which applies them before joining
//! a path onto a local folder.
//!
//! A manifest path is written by a creator's machine and materialised on workers running Linux,
//! Windows or macOS, so it must mean the same, safe thing on all three: `/`-separated, relative, with
//! no component that climbs out of the scene folder or that Windows would read specially.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The longest one path component may be, in bytes (the common file-name limit of ext4, NTFS, APFS).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Characters Windows refuses in file names (besides `\\`, `/`, `:` and control characters).
const WINDOWS_FORBIDDEN: &[char] = &['<', '>', '"', '|', '?', '*'];

/// Device names Windows reserves in every folder, with or without an extension (`nul.txt`).
const WINDOWS_DEVICES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// True for the Unicode format characters that change how a name *looks* without being seen:
/// bidirectional embeddings, overrides and isolates (`"\u{202E}gnp.exe"` displays as "exe.png"),
/// directional marks, zero-width characters and the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// Checks that `path` is a safe scene-relative path; `field` names it in the error.
///
/// Rejected: the empty path; absolute paths (`/x`); backslashes; `:` anywhere (a drive letter such
/// as `C:` or an NTFS stream name on Windows workers); empty components (`a//b`, a trailing `/`);
/// `.` and `..` components; NUL and every other control character; invisible format characters
/// (bidirectional overrides, zero-width characters); components longer than
/// [`MAX_COMPONENT_BYTES`]. So that Windows workers can materialise every accepted path as written,
/// also rejected: `< > " | ? *`, components ending in `.` or a space (Windows drops them), and the
/// reserved device names (`CON`, `NUL`, `COM1`, `lpt2.txt`, ...). The whole-path length limit is a manifest policy, checked by
/// [`Manifest::validate`](super::Manifest::validate).
pub fn check_relative_path(path: &str, field: &str) -> Result<()> {
    let reject = |reason: String| Err(Error::invalid(field, format!("{path:?} {reason}")));
    if path.is_empty() {
        return Err(Error::invalid(field, "the path is empty"));
    }
    if path.starts_with('/') {
        return reject("is absolute; paths are relative to the scene folder".into());
    }
    if path.contains('\\') {
        return reject("contains a backslash; separate components with '/'".into());
    }
    if path.contains(':') {
        return reject(
            "contains ':' (a drive letter or an NTFS stream name on Windows workers)".into(),
        );
    }
    if let Some(bad) = path.chars().find(|c| c.is_control()) {
        return reject(format!("contains the control character {bad:?}"));
    }
    if let Some(bad) = path.chars().find(|c| is_invisible_format(*c)) {
        return reject(format!(
            "contains the invisible character U+{:04X}, which can disguise a file's name or extension",
            u32::from(bad)
        ));
    }
    if let Some(bad) = path.chars().find(|c| WINDOWS_FORBIDDEN.contains(c)) {
        return reject(format!(
            "contains {bad:?}, which Windows forbids in file names"
        ));
    }
    for component in path.split('/') {
        match component {
            "" => return reject("has an empty component ('//' or a trailing '/')".into()),
            "." | ".." => return reject(format!("has a {component:?} component")),
            _ if component.len() > MAX_COMPONENT_BYTES => {
                return reject(format!(
                    "has a component of {} bytes; the limit is {MAX_COMPONENT_BYTES}",
                    component.len()
                ));
            }
            _ if component.ends_with('.') || component.ends_with(' ') => {
                return reject(format!(
                    "has the component {component:?} ending in '.' or ' ', which Windows drops"
                ));
            }
            _ if is_windows_device(component) => {
                return reject(format!(
                    "has the component {component:?}, a device name reserved on Windows"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// True when `component` is a Windows device name, ignoring case and any extension.
fn is_windows_device(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or(component);
    WINDOWS_DEVICES
        .iter()
        .any(|device| stem.eq_ignore_ascii_case(device))
}

/// Joins the scene-relative `relative` onto `root`, after checking it with [`check_relative_path`].
///
/// The result always lies lexically under `root`: every accepted component is a plain file name.
/// (A symlink already on disk under `root` could still lead elsewhere; materialise scenes into a
/// folder the worker created itself.)
///
/// ```
/// use pictor_core::asset::safe_join;
/// use std::path::Path;
///
/// let root = Path::new("/scenes/42");
/// assert_eq!(safe_join(root, "tex/wood.png").unwrap(), root.join("tex").join("wood.png"));
/// assert!(safe_join(root, "../etc/passwd").is_err());
/// ```
pub fn safe_join(root: &Path, relative: &str) -> Result<PathBuf> {
    check_relative_path(relative, "path")?;
    let mut joined = root.to_path_buf();
    joined.extend(relative.split('/'));
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_characters_that_disguise_a_name() {
        for path in [
            "\u{202E}gnp.exe",
            "tex/wood\u{200B}.png",
            "a\u{2066}b",
            "\u{FEFF}scene.blend",
        ] {
            let error = check_relative_path(path, "path").expect_err(path);
            assert!(format!("{error}").contains("invisible"), "{error}");
        }
    }

    #[test]
    fn accepts_plain_relative_paths() {
        for path in [
            "a",
            "scene.blend",
            "tex/wood.png",
            "a b/c-d_e.f",
            "ünï/cödé",
            ".hidden",
            "a.b.c",
            "console.log",
            "com10",
        ] {
            check_relative_path(path, "path").unwrap_or_else(|e| panic!("{path:?}: {e}"));
        }
        let long = "x".repeat(MAX_COMPONENT_BYTES);
        check_relative_path(&format!("{long}/{long}"), "path").expect("255-byte components");
    }

    #[test]
    fn rejects_unsafe_paths_naming_the_field() {
        let long = "x".repeat(MAX_COMPONENT_BYTES + 1);
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("/etc/passwd", "absolute"),
            ("/", "absolute"),
            ("C:", "':'"),
            ("c:/x", "':'"),
            ("a/b:stream", "':'"),
            ("a\\b", "backslash"),
            ("..", "\"..\" component"),
            ("a/../b", "\"..\" component"),
            ("./a", "\".\" component"),
            ("a/.", "\".\" component"),
            ("a//b", "empty component"),
            ("a/", "empty component"),
            ("a\0b", "control character"),
            ("a\nb", "control character"),
            ("a\u{7f}", "control character"),
            ("a\u{85}", "control character"),
            (&long, "256 bytes"),
            ("a?b", "Windows forbids"),
            ("a/b*", "Windows forbids"),
            ("x<y>", "Windows forbids"),
            ("\"q\"", "Windows forbids"),
            ("a|b", "Windows forbids"),
            ("...", "ending in '.'"),
            ("dir./x", "ending in '.'"),
            ("a /x", "ending in '.' or ' '"),
            ("CON", "device name"),
            ("tex/nul.png", "device name"),
            ("Lpt9", "device name"),
        ];
        for (path, why) in cases {
            let error = check_relative_path(path, "entries[3].path").expect_err(path);
            assert_eq!(error.field(), Some("entries[3].path"), "{path:?}");
            assert!(error.to_string().contains(why), "{path:?}: {error}");
            assert!(safe_join(Path::new("/root"), path).is_err(), "{path:?}");
        }
    }

    #[test]
    fn safe_join_builds_nested_paths() {
        let root = Path::new("/srv/scene");
        let joined = safe_join(root, "a/b/c.png").expect("join");
        assert_eq!(joined, Path::new("/srv/scene/a/b/c.png"));
    }

    proptest! {
        #[test]
        fn check_never_panics(path in any::<String>()) {
            let _ = check_relative_path(&path, "path");
        }

        #[test]
        fn accepted_joins_stay_under_root(path in "[a-z./:\\\\\0 ]{0,24}") {
            let root = Path::new("/srv/scene");
            if let Ok(joined) = safe_join(root, &path) {
                prop_assert!(joined.starts_with(root));
                let rest = joined.strip_prefix(root).expect("prefix");
                prop_assert_eq!(rest.components().count(), path.split('/').count());
                prop_assert!(rest.components().all(|c| matches!(c, std::path::Component::Normal(_))));
            }
        }
    }
}
