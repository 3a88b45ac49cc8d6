//! Finding Blender: an explicit path, else `PICTOR_BLENDER`, else `blender` on `PATH`; then
//! `blender --version` to learn (and check) its version.

use crate::error::{RenderError, Result};
use pictor_core::job::Version;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the Blender executable (a path, or a name looked up on `PATH`).
pub const BLENDER_ENV: &str = "PICTOR_BLENDER";

/// The oldest Blender Pictor supports.
pub const MIN_BLENDER_VERSION: Version = Version::new(3, 3, 0);

/// How long `blender --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// A Blender executable that answered `--version` with a supported version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlenderInstall {
    /// The executable: the configured path, `PICTOR_BLENDER`'s, or `blender` found on `PATH`.
    pub path: PathBuf,
    /// The version `blender --version` reported; at least `MIN_BLENDER_VERSION`.
    pub version: Version,
}

/// Finds Blender and checks its version. `explicit` wins over `env_value` (the value of
/// [`BLENDER_ENV`]), which wins over `blender` on `path_var` (the value of `PATH`).
pub(crate) fn discover(
    explicit: Option<&Path>,
    env_value: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<BlenderInstall> {
    let path = locate(explicit, env_value, path_var)?;
    let output = version_output(&path)?;
    let version = parse_version(&output).ok_or_else(|| RenderError::BlenderFailed {
        status: format!(
            "{} --version printed no `Blender x.y.z` line",
            path.display()
        ),
        last_lines: last_lines(&output, 10),
    })?;
    if version < MIN_BLENDER_VERSION {
        return Err(RenderError::BlenderTooOld {
            found: version.to_string(),
            required: MIN_BLENDER_VERSION.to_string(),
        });
    }
    Ok(BlenderInstall { path, version })
}

/// Resolves the executable's path without running it.
fn locate(
    explicit: Option<&Path>,
    env_value: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<PathBuf> {
    let (wanted, origin) = match (explicit, env_value) {
        (Some(path), _) => (path.to_path_buf(), "the configured path"),
        (None, Some(value)) if !value.is_empty() => (PathBuf::from(value), BLENDER_ENV),
        _ => (PathBuf::from("blender"), "PATH"),
    };
    // A bare name (no separator) is looked up on PATH; anything else is taken as a path.
    if wanted.components().count() == 1 && !wanted.is_absolute() {
        let dirs: Vec<PathBuf> = path_var
            .as_ref()
            .map(|value| std::env::split_paths(value).collect())
            .unwrap_or_default();
        for dir in &dirs {
            let candidate = dir.join(&wanted);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
        return Err(RenderError::BlenderNotFound {
            searched: format!(
                "`{}` on PATH ({}), from {origin}",
                wanted.display(),
                if dirs.is_empty() {
                    "empty".to_string()
                } else {
                    std::env::join_paths(&dirs)
                        .map(|joined| joined.to_string_lossy().into_owned())
                        .unwrap_or_default()
                }
            ),
        });
    }
    if is_executable(&wanted) {
        Ok(wanted)
    } else {
        Err(RenderError::BlenderNotFound {
            searched: format!(
                "{} (from {origin}): {}",
                wanted.display(),
                match std::fs::metadata(&wanted) {
                    Err(error) => error.to_string(),
                    Ok(meta) if meta.is_dir() => "a directory".to_string(),
                    Ok(_) => "not executable".to_string(),
                }
            ),
        })
    }
}

/// A regular file we may execute.
fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}

/// Runs `blender --version` (bounded in time) and returns stdout and stderr together.
fn version_output(path: &Path) -> Result<String> {
    let mut command = Command::new(path);
    command
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = super::process::spawn_retrying(&mut command).map_err(|error| {
        RenderError::BlenderNotFound {
            searched: format!("{}: {error}", path.display()),
        }
    })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    };
    let out_reader = read_all(stdout.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err_reader = read_all(stderr.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > VERSION_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RenderError::BlenderFailed {
                    status: format!(
                        "{} --version did not answer within {VERSION_TIMEOUT:?}",
                        path.display()
                    ),
                    last_lines: String::new(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => {
                return Err(RenderError::io(
                    format!("waiting for {} --version", path.display()),
                    error,
                ));
            }
        }
    };
    let mut output = out_reader.join().unwrap_or_default();
    output.push_str(&err_reader.join().unwrap_or_default());
    if !status.success() && parse_version(&output).is_none() {
        return Err(RenderError::BlenderFailed {
            status: format!(
                "{} --version: {}",
                path.display(),
                super::process::describe_status(status)
            ),
            last_lines: last_lines(&output, 10),
        });
    }
    Ok(output)
}

/// The version on the first `Blender x.y[.z]...` line of `blender --version`'s output
/// (`Blender 3.4.1`, `Blender 2.79 (sub 0)`, `Blender 4.1.0 Alpha`).
pub fn parse_version(output: &str) -> Option<Version> {
    output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Blender ")?;
        let token = rest.split_whitespace().next()?;
        let numeric: String = token
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let numeric = numeric.trim_end_matches('.');
        if numeric.is_empty() || numeric.split('.').count() > 3 {
            return None;
        }
        numeric.parse::<Version>().ok()
    })
}

/// The last `n` lines of `text`.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blender_version_lines() {
        assert_eq!(
            parse_version("Blender 3.4.1\n"),
            Some(Version::new(3, 4, 1))
        );
        assert_eq!(
            parse_version("Blender 2.79 (sub 0)\n\tbuild date: ..."),
            Some(Version::new(2, 79, 0))
        );
        assert_eq!(
            parse_version("Color management: foo\nBlender 4.1.0 Alpha\n"),
            Some(Version::new(4, 1, 0))
        );
        assert_eq!(parse_version("blender: command not found"), None);
        assert_eq!(parse_version("Blender x.y"), None);
        assert_eq!(parse_version("Blender 1.2.3.4"), None);
    }

    #[test]
    fn missing_executables_are_not_found() {
        let error =
            locate(Some(Path::new("/nonexistent/blender")), None, None).expect_err("absent");
        assert!(matches!(error, RenderError::BlenderNotFound { .. }));
        let error = locate(
            None,
            Some(OsString::from("no-such-blender-binary")),
            Some(OsString::from("/nonexistent-dir")),
        )
        .expect_err("absent");
        assert!(
            error.to_string().contains("no-such-blender-binary"),
            "{error}"
        );
    }
}
