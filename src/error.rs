//! The library's error type.

use std::path::PathBuf;

/// Everything that can stop a wiretrace run as a whole.
///
/// Problems with a single input (a binary file, a broken JSON Lines record)
/// are not errors: they become [`crate::Skipped`] entries in the report and
/// the run goes on. An `Error` means the run itself cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path named on the command line does not exist or cannot be opened.
    #[error("{path}: {message}")]
    Input {
        /// The path as given.
        path: PathBuf,
        /// What went wrong, in words.
        message: String,
    },
    /// A settings value is out of range (for example an n-gram size of 0).
    #[error("invalid settings: {0}")]
    Settings(String),
    /// Writing the report failed.
    #[error("writing {what}: {source}")]
    Io {
        /// What was being written.
        what: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The persistent index could not be opened, read or written.
    #[error("index {path}: {message}")]
    Index {
        /// The index file.
        path: PathBuf,
        /// What went wrong, in words.
        message: String,
    },
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
