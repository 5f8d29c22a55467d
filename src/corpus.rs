//! Stage 1: read files, folders and JSON Lines into [`Document`]s.
//!
//! Every input path ends up either as a [`Document`] or as a [`Skipped`]
//! entry with a reason a person understands; nothing is dropped silently.

use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One article: its text, exactly as read, and what is known about it.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// File name without extension for `.txt`, the record's `id` for JSON Lines.
    pub id: String,
    /// Where the document came from (for JSON Lines: `file.jsonl:LINE`).
    pub path: String,
    /// The outlet that published it, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlet: Option<String>,
    /// Publication date or time as given (ISO 8601 preferred), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Source URL, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headline, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Length of `text` in bytes.
    pub bytes: usize,
    /// `"ok"`, or `"decoded"` when the bytes were not UTF-8 and were decoded.
    pub status: String,
    /// How the text was decoded when it was not UTF-8 (e.g. `windows-1252`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The text. All offsets in a report are byte offsets into this string.
    #[serde(skip)]
    pub text: String,
}

impl Document {
    /// A document made in memory, with an id and text and no metadata.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        let id = id.into();
        let text = text.into();
        Document {
            path: id.clone(),
            id,
            outlet: None,
            published: None,
            url: None,
            title: None,
            bytes: text.len(),
            status: "ok".to_string(),
            encoding: None,
            text,
        }
    }

    /// The outlet if known, otherwise the id: the name to show a reader.
    pub fn label(&self) -> &str {
        self.outlet.as_deref().unwrap_or(&self.id)
    }
}

/// An input that was not read, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// The path (for JSON Lines: `file.jsonl:LINE`).
    pub path: String,
    /// Why it was skipped, in words.
    pub reason: String,
}

/// What was read: documents in a deterministic order, and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Documents, sorted by path (then line for JSON Lines).
    pub documents: Vec<Document>,
    /// Inputs that were not read, with reasons.
    pub skipped: Vec<Skipped>,
}

/// How to read inputs.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// A manifest CSV (`file,outlet,published,url`) for `.txt` inputs.
    pub manifest: Option<PathBuf>,
    /// Files larger than this are skipped with a reason.
    pub max_file_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            manifest: None,
            max_file_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Read every file and folder in `paths`.
///
/// Returns an error only when a top-level path does not exist.
pub fn read_corpus(paths: &[PathBuf], options: &ReadOptions) -> Result<Corpus> {
    let _ = options;
    let mut corpus = Corpus::default();
    for p in paths {
        if !p.exists() {
            return Err(Error::Input {
                path: p.clone(),
                message: "no such file or folder".into(),
            });
        }
        read_path(p, &mut corpus);
    }
    corpus.documents.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(corpus)
}

fn read_path(p: &Path, corpus: &mut Corpus) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                corpus.skipped.push(Skipped {
                    path: p.display().to_string(),
                    reason: format!("cannot read folder: {e}"),
                });
                return;
            }
        };
        entries.sort();
        for e in entries {
            read_path(&e, corpus);
        }
        return;
    }
    if p.extension().and_then(|e| e.to_str()) != Some("txt") {
        return;
    }
    match std::fs::read_to_string(p) {
        Ok(text) => {
            let id = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut d = Document::new(id, text);
            d.path = p.display().to_string();
            corpus.documents.push(d);
        }
        Err(e) => corpus.skipped.push(Skipped {
            path: p.display().to_string(),
            reason: e.to_string(),
        }),
    }
}
