//! wiretrace finds reused text across news outlets and names where it came
//! from.
//!
//! Give it articles (a folder of `.txt` files, JSON Lines, an optional
//! manifest of outlet and date) and it reports the *passages* one document
//! shares with another, with byte spans in both, groups them into
//! *clusters* of the same reused text, names the likely original of each
//! cluster (*provenance*) and audits who is credited for shared quotations.
//!
//! # The pipeline
//!
//! Data flows one way, one module a stage:
//!
//! | stage | module | in → out |
//! |---|---|---|
//! | read | `corpus` | paths → [`Corpus`] of [`Document`]s + [`Skipped`] |
//! | tokenize | `text` | text → [`Token`]s (normalized hash + byte offsets) |
//! | shingle | `shingle` | tokens → token 5-gram hashes, document frequency |
//! | sign | `minhash` | windows of shingles → MinHash signatures |
//! | candidates | `lsh` | signatures → band keys → candidate document pairs |
//! | align | `align` | a candidate pair → [`Alignment`]s → [`Passage`]s |
//! | cluster | `cluster` | passages → [`Cluster`]s (union-find) |
//! | provenance | `provenance`, `quotes` | clusters → [`Provenance`]; texts → [`QuoteGroup`]s |
//! | report | `report`, `report_html`, `report_csv` | [`Report`] → text, JSON, HTML, CSV, Graphviz DOT |
//!
//! A large corpus need not be held: past [`ReadOptions::text_memory`] the
//! reader moves texts to a temporary file and each stage reads back, with
//! [`Document::load_text`], only the texts it is working on.
//!
//! Built from the same stages: [`dedup`] (document-level near-duplicates,
//! LSH candidates re-checked on signatures and, near the threshold, on exact
//! shingle sets; [`dedup_paths`] reads and hashes in one pass through
//! [`read_corpus_with`]), [`Index`] and [`serve`]
//! (a persistent redb index and its HTTP API), [`generate`] (a corpus with
//! planted reuse) and [`evaluate`] (scores against ground truth).
//!
//! # Example
//!
//! ```
//! use wiretrace::{scan, Corpus, Document, Settings};
//!
//! let story = "The Haqqani commander, speaking on condition of anonymity, viewed \
//!     her efforts with scepticism. This is not the first time the U.S. has \
//!     approached us for peace talks, he said by telephone from an undisclosed \
//!     location in Afghanistan.";
//! let reprint = format!("Editor's note. {}", story.replace("U.S.", "US")
//!     .replace("scepticism", "skepticism"));
//! let corpus = Corpus::from_documents(vec![
//!     Document::new("wire", story),
//!     Document::new("reprint", reprint),
//! ]);
//! let report = scan(corpus, &Settings::default()).unwrap();
//! assert_eq!(report.passages.len(), 1);
//! let p = &report.passages[0];
//! let reprint_doc = &report.documents[p.b.doc];
//! assert!(reprint_doc.text[p.b.start..p.b.end].starts_with("The Haqqani commander"));
//! ```
#![deny(missing_docs)]

mod align;
mod cluster;
mod corpus;
mod dedup;
mod error;
mod eval;
mod generate;
mod index;
mod lsh;
mod minhash;
mod provenance;
mod quotes;
mod report;
mod report_csv;
mod report_html;
mod scan;
mod serve;
mod shingle;
mod spill;
mod text;

pub use align::{AlignParams, Alignment, Passage, Witness, align_pair};
pub use cluster::{Cluster, cluster_passages};
pub use corpus::{
    Corpus, Document, ReadOptions, Skipped, parse_jsonl_line, read_bytes_as_text, read_corpus,
    read_corpus_with,
};
pub use dedup::{
    DedupPair, DedupReport, DedupSettings, dedup, dedup_paths, write_dedup_json, write_dedup_text,
};
pub use error::{Error, Result};
pub use eval::{Evaluation, evaluate, format_evaluation};
pub use generate::{GenSummary, generate};
pub use index::{AddOutcome, INDEX_FILE, Index, IndexStats, StoredDocument, text_hash};
pub use lsh::{Banding, BucketStats, candidate_pairs, candidate_pairs_where};
pub use minhash::{MAX_PERM, estimate_jaccard, signature};
pub use provenance::{Provenance, attribute};
pub use quotes::{QuoteGroup, QuoteOccurrence, audit_quotes};
pub use report::{write_json, write_text};
pub use report_csv::{write_csv, write_dot};
pub use report_html::write_html;
pub use scan::{DF_SHARE, scan_pairs, scan_shingled_pairs, window_band_keys};
pub use scan::{
    Progress, Report, ScanStats, Settings, Silent, quote_report, scan, scan_with_progress,
};
pub use serve::{ServeOptions, serve, serve_blocking};
pub use shingle::{DfSketch, ShingledDoc, mix64, shingle_hashes};
pub use text::{Token, normalized, tokenize, tokens};

/// The decimal digits of `n`, written into the end of `buf`.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

/// `slice` cut into consecutive pieces of `lengths` (which must add up to
/// at most its length), each borrowed on its own: the places that
/// parallel writers fill side by side.
pub(crate) fn split_lengths<T>(
    mut rest: &mut [T],
    lengths: impl IntoIterator<Item = usize>,
) -> Vec<&mut [T]> {
    let lengths = lengths.into_iter();
    let mut pieces = Vec::with_capacity(lengths.size_hint().0);
    for n in lengths {
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(n);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}
