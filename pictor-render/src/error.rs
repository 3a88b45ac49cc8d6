//! The crate's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Result alias of `pictor-render`.
pub type Result<T, E = RenderError> = std::result::Result<T, E>;

/// Everything that can go wrong while rendering. Blender failures quote Blender's last output lines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A request field is out of range or inconsistent.
    #[error("invalid {field}: {reason}")]
    InvalidRequest {
        /// The offending field (`resolution.width`, `regions[3]`, ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The scene file does not exist or cannot be read.
    #[error("scene {path} not found or unreadable: {reason}")]
    SceneNotFound {
        /// The scene file's path, as the request gave it.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The scene file exists but is not a valid scene.
    #[error("scene {path} is invalid: {reason}")]
    SceneInvalid {
        /// The scene file's path: as given, or canonicalised when Blender itself refused it.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No Blender executable was found.
    #[error("Blender not found (looked at {searched}); install it or set PICTOR_BLENDER")]
    BlenderNotFound {
        /// Where we looked.
        searched: String,
    },
    /// The Blender found is older than Pictor supports.
    #[error("Blender {found} is too old; Pictor needs {required} or newer")]
    BlenderTooOld {
        /// The version `blender --version` reported, e.g. `3.1.2`.
        found: String,
        /// `MIN_BLENDER_VERSION`, as text.
        required: String,
    },
    /// Blender's Python raised an error (in our override script or the scene's own scripts).
    #[error("Blender Python error: {message}\n--- Blender's last lines ---\n{last_lines}")]
    BlenderPython {
        /// Our script's error message, or the exception line (`RuntimeError: …`) of the last
        /// traceback.
        message: String,
        /// Blender's last output lines.
        last_lines: String,
    },
    /// Blender exited abnormally (crash, signal, non-zero status).
    #[error("Blender failed ({status})\n--- Blender's last lines ---\n{last_lines}")]
    BlenderFailed {
        /// Exit status or signal, in words.
        status: String,
        /// Blender's last output lines.
        last_lines: String,
    },
    /// The render took longer than its timeout and was stopped.
    #[error("render timed out after {0:?}")]
    Timeout(Duration),
    /// The caller set the render's `CancelToken`; a Blender child process is killed.
    #[error("render cancelled")]
    Cancelled,
    /// Encoding or decoding an image failed.
    #[error("image {operation} failed: {reason}")]
    Image {
        /// `encode` or `decode`.
        operation: &'static str,
        /// The codec's message.
        reason: String,
    },
    /// An I/O error outside the scene (temporary files, output files).
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The I/O error itself, kept as this error's `source`.
        #[source]
        source: std::io::Error,
    },
}

impl RenderError {
    /// Shorthand for [`RenderError::InvalidRequest`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RenderError::InvalidRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`RenderError::Io`].
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RenderError::Io {
            context: context.into(),
            source,
        }
    }

    /// Cancelled or timed out (the caller stopped it, not the renderer failing).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, RenderError::Timeout(_) | RenderError::Cancelled)
    }
}
