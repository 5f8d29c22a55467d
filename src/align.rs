//! Stage 4: seed-and-extend alignment of a candidate document pair.

use serde::Serialize;

/// Where a passage sits in one document: a byte span of its original text.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Witness {
    /// Index of the document in [`crate::Report::documents`].
    pub doc: usize,
    /// Byte offset of the first byte (on a UTF-8 boundary).
    pub start: usize,
    /// Byte offset one past the last byte (on a UTF-8 boundary).
    pub end: usize,
}

/// A passage of text that two documents share: an aligned pair of spans.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Passage {
    /// Number of the passage, in report order.
    pub id: usize,
    /// The cluster the passage belongs to.
    pub cluster: usize,
    /// Token-level similarity of the two spans, 0..1 (1 - edit distance / length).
    pub similarity: f64,
    /// Tokens aligned, counted in the `a` witness.
    pub tokens: usize,
    /// The span in the document that sorts first by id.
    pub a: Witness,
    /// The span in the other document.
    pub b: Witness,
}
