//! Stage 1: read files, folders and JSON Lines into [`Document`]s.
//!
//! Every input path ends up either as a [`Document`] or as a [`Skipped`]
//! entry with a reason a person understands; nothing is dropped silently.
//! The only files that appear in neither list are `manifest.csv` files (and
//! the `--manifest` file) that were used as metadata.
//!
//! # What is read
//!
//! * **Paths** may be any mix of files and folders. Folders are read
//!   recursively; the entries of each folder are sorted by name (byte order),
//!   so the result does not depend on the file system. A path that does not
//!   exist is a usage error ([`Error::Input`]); every other problem only
//!   skips the input concerned.
//! * **`.txt` files** (any letter case) become one document each. The id is
//!   the file name without its extension; the path is shown as reached from
//!   the argument (`corpus/sub/a.txt` when `corpus` was given).
//! * **`.jsonl` files** hold one article per line: a JSON object with `id`
//!   (a string or a number) and `text` (a string), and optionally `outlet`,
//!   `published`, `url` and `title`; other fields are ignored. Such a
//!   document's path is `file.jsonl:LINE` (1-based). The file is streamed
//!   line by line, so memory is bounded by the longest line, and a JSON Lines
//!   file may be larger than `--max-file-bytes` — only a single *line* over
//!   the limit is skipped. Blank lines are ignored (they are not records).
//!   A bad record (not JSON, not an object, no `id`, no `text`, `text` not a
//!   string, empty text) is skipped as `file.jsonl:LINE` with the reason
//!   (`line 17: missing "text"`) and the rest of the file is still read. An
//!   optional field of the wrong type, or a `published` value that is not a
//!   date, is dropped with a warning and the record is kept. A JSON Lines
//!   file with no records at all is skipped. Text inside JSON is used as
//!   decoded by JSON (no binary check).
//! * **Other extensions**: inside a folder they are skipped ("not a .txt or
//!   .jsonl file"). A file named *explicitly* on the command line is read as
//!   text whatever its extension (`story.md`, `README`), under the same
//!   rules as a `.txt` file; if it is not text it is skipped with the reason.
//!   Explicitly named pipes (`<(zcat a.txt.gz)`) are read too; devices,
//!   sockets and pipes found inside folders are skipped.
//! * **Hidden folders** (name starting with `.`, such as `.git`) inside a
//!   folder are not descended into; each is listed once in `skipped`.
//!   Hidden files are treated like any other file.
//!
//! # Manifests
//!
//! A manifest is a CSV file with a header row naming its columns: `file`
//! (required), `outlet`, `published`, `url` and, optionally, `title`; column
//! order is free and other columns are ignored. It gives metadata to text
//! documents (not to JSON Lines records, which carry their own).
//!
//! * A `manifest.csv` found in a scanned folder applies to the files of that
//!   folder tree; its `file` values are relative to its folder. Manifests in
//!   nested folders are nearer and win over outer ones.
//! * `--manifest FILE.csv` ([`ReadOptions::manifest`]) applies to every
//!   input, and wins over any `manifest.csv` for the files it names. It must
//!   exist and have a `file` column; otherwise the run stops with a usage
//!   error. It is never read as an input itself, even when it lies inside a
//!   scanned folder or is named as an input.
//! * A row names a file either by its name (`a.txt`) or by a relative path
//!   (`sub/a.txt`, `/` or `\` separators, leading `./` allowed): a row
//!   matches when its path components are the last components of the file's
//!   path. When several rows of one manifest match, the longest path wins.
//!   The matching row's values replace the metadata as a whole: an empty
//!   field means "unknown", even if an outer manifest had a value.
//! * The parser follows RFC 4180: fields in double quotes may hold commas,
//!   line breaks and doubled quotes (`""`); records end in LF or CRLF. Values
//!   are trimmed; empty values mean unknown; a row with fewer columns than
//!   the header is accepted with the missing values unknown; blank rows are
//!   ignored. A UTF-8 byte order mark (as Excel writes) is removed, and a
//!   manifest that is not UTF-8 is decoded like a text file.
//! * Problems with rows never stop the run; they are recorded in
//!   [`Corpus::warnings`]: a row naming no file among the inputs
//!   (`corpus/manifest.csv line 7: no such file: x.txt`), a second row for
//!   the same file (the first wins), a row without a file name, and a
//!   `published` value that is neither `YYYY-MM-DD` nor an ISO 8601
//!   date-time (`YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`) — the document is
//!   kept and the date dropped.
//! * A file given explicitly on the command line gets metadata only from
//!   `--manifest`, not from a `manifest.csv` beside it.
//!
//! # Bytes to text
//!
//! [`read_bytes_as_text`] decides, for `.txt` and explicitly named files:
//!
//! * **Empty or whitespace-only** (after decoding): skipped, "empty after
//!   trimming".
//! * **Binary**: files that start like a PDF, PNG, JPEG, GIF, ZIP (also
//!   `.docx`) or gzip file are skipped ("not text: looks like a PDF file").
//!   Otherwise the share of control bytes (below 0x20 except tab, line feed,
//!   carriage return and form feed, plus 0x7F) is computed; at 1% or more
//!   the file is skipped ("not text: 38% control bytes").
//! * **Stray NUL bytes** in a file under that 1% are each replaced by a
//!   space, which keeps every byte offset unchanged; `encoding` says so
//!   (`utf-8, 2 NUL bytes replaced by spaces`). Other rare control bytes are
//!   kept as they are.
//! * **UTF-8** is used exactly as read: CRLF line ends are kept, so offsets
//!   are offsets into the file. `status` is `"ok"`.
//! * **UTF-8 with a byte order mark**: the 3-byte mark is removed and
//!   `encoding` is `utf-8 with BOM`: offsets are into the text without the
//!   mark, i.e. 3 less than file offsets.
//! * **UTF-16 with a byte order mark** (LE or BE) is decoded (`utf-16le`,
//!   `utf-16be`); unpaired surrogates become U+FFFD.
//! * **Not UTF-8**: if the file is mostly valid UTF-8 with a few broken
//!   sequences (more valid non-ASCII characters than broken sequences), the
//!   broken sequences become U+FFFD (`utf-8, 2 invalid byte sequences
//!   replaced by U+FFFD`). Otherwise it is decoded as Windows-1252 (a
//!   superset of Latin-1 used by many news pages): `encoding` is
//!   `windows-1252`, and the five bytes Windows-1252 leaves undefined
//!   (0x81, 0x8D, 0x8F, 0x90, 0x9D) become U+FFFD.
//!
//! Whenever the text is not byte for byte the file's content, `status` is
//! `"decoded"` and `encoding` says how; offsets in a report then refer to
//! the decoded UTF-8 text ([`Document::text`]), not to the file.
//!
//! # Limits and odd files
//!
//! * Files over [`ReadOptions::max_file_bytes`] (64 MiB by default) are
//!   skipped with a reason naming the size and the `--max-file-bytes` flag.
//!   Manifests may be sixteen times that (1 GiB by default).
//!   Reads are bounded even when the size is not known in advance.
//! * Files and folders that cannot be read (permission denied, I/O errors)
//!   and broken symbolic links are skipped with the operating system's
//!   message.
//! * Symbolic links are followed. A folder that leads back to one of its own
//!   parents is skipped as a "symlink loop"; a folder or file reached a
//!   second time by another way (or named twice) is skipped as the same
//!   folder or file as the first path.
//! * **Duplicate ids** across all inputs: the first document keeps the id;
//!   each later one is skipped, "duplicate id X (first read from PATH)".
//!
//! # Order
//!
//! Documents and skipped entries come in input order: arguments in the order
//! given, folder entries sorted by name, JSON Lines records by line. Files
//! are read in parallel, but the result is the same whatever the thread
//! count.

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use rayon::iter::Either;

use crate::error::{Error, Result};
use crate::spill::{SpillFile, Spilled};

mod jsonl;
pub(crate) use jsonl::special as json_special;

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
    /// `"ok"` when `text` is the file's bytes exactly; `"decoded"` when it
    /// differs from them (another encoding, a byte order mark removed, NUL
    /// bytes replaced), with `encoding` saying how. (A `Cow`, so that the
    /// two usual values take no allocation per document.)
    pub status: Cow<'static, str>,
    /// How the text was decoded when it was not plain UTF-8 (e.g.
    /// `windows-1252`, `utf-8 with BOM`, `utf-16le`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The text. All offsets in a report are byte offsets into this string.
    ///
    /// Empty when the text was moved to a temporary file on reading (see
    /// [`ReadOptions::text_memory`]); [`Document::load_text`] gives it
    /// either way.
    #[serde(skip)]
    pub text: String,
    /// Where the text is when it was moved out of memory.
    #[serde(skip)]
    spilled: Option<Spilled>,
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
            status: Cow::Borrowed("ok"),
            encoding: None,
            text,
            spilled: None,
        }
    }

    /// The document's text: [`Document::text`] itself, or, when the text
    /// was moved to a temporary file on reading ([`ReadOptions::text_memory`]),
    /// the text read back from there. Fails only when the temporary file
    /// cannot be read.
    pub fn load_text(&self) -> Result<Cow<'_, str>> {
        match &self.spilled {
            Some(s) if self.text.is_empty() => s.load().map(Cow::Owned),
            _ => Ok(Cow::Borrowed(&self.text)),
        }
    }

    /// The text's length in bytes, whether held or moved out of memory.
    pub(crate) fn text_len(&self) -> usize {
        match &self.spilled {
            Some(s) if self.text.is_empty() => s.len,
            _ => self.text.len(),
        }
    }

    /// Whether the text was moved out of memory on reading (and
    /// [`Document::text`] is empty until it is put back).
    pub fn is_spilled(&self) -> bool {
        self.spilled.is_some() && self.text.is_empty()
    }

    /// The outlet if known, otherwise the id: the name to show a reader.
    pub fn label(&self) -> &str {
        self.outlet.as_deref().unwrap_or(&self.id)
    }

    fn set_encoding(&mut self, encoding: Option<String>) {
        self.status = status_of(&encoding);
        self.encoding = encoding;
    }
}

/// [`Document::status`] for a text decoded with `encoding`.
fn status_of(encoding: &Option<String>) -> Cow<'static, str> {
    Cow::Borrowed(if encoding.is_some() { "decoded" } else { "ok" })
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
    /// Documents in input order: arguments as given, folder entries sorted
    /// by name, JSON Lines records by line.
    pub documents: Vec<Document>,
    /// Inputs that were not read, with reasons, in the same order.
    pub skipped: Vec<Skipped>,
    /// Problems that did not stop any document from being read: manifest
    /// rows naming no input, dates that were dropped, ignored fields.
    pub warnings: Vec<String>,
}

impl Corpus {
    /// A corpus of documents made in memory (nothing skipped, no warnings).
    pub fn from_documents(documents: Vec<Document>) -> Self {
        Corpus {
            documents,
            ..Corpus::default()
        }
    }
}

/// How to read inputs.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// A manifest CSV (`file,outlet,published,url`) for `.txt` inputs.
    pub manifest: Option<PathBuf>,
    /// Files larger than this are skipped with a reason (for JSON Lines:
    /// single lines larger than this; for manifests, sixteen times this).
    pub max_file_bytes: u64,
    /// Bytes of documents' text held in memory. Once the texts read pass
    /// it, each further text is written to a temporary file in the system's
    /// temporary folder (`TMPDIR`) instead, [`Document::text`] is left
    /// empty and [`Document::load_text`] reads it back: a scan then holds
    /// only the texts of the stage at hand. Which documents are moved
    /// depends on the order threads read them in; nothing else does.
    /// `u64::MAX` (the default) holds every text.
    pub text_memory: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            manifest: None,
            max_file_bytes: 64 * 1024 * 1024,
            text_memory: u64::MAX,
        }
    }
}

thread_local! {
    /// The buffer of the last text this thread moved out of memory, for
    /// the next file it reads: a buffer allocated and freed per document
    /// would leave the small strings allocated meanwhile scattered through
    /// the heap, each keeping a page of it in memory.
    static SPARE_TEXT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The largest buffer kept in [`SPARE_TEXT`].
const SPARE_TEXT_MAX: usize = 4 << 20;

/// Give a text's buffer back for the next file this thread reads.
fn recycle_text(text: String) {
    let buf = text.into_bytes();
    if buf.capacity() <= SPARE_TEXT_MAX {
        SPARE_TEXT.set(buf);
    }
}

/// Moves texts to a [`SpillFile`] once those held pass a budget.
struct Spiller {
    budget: u64,
    held: std::sync::atomic::AtomicU64,
    file: std::sync::OnceLock<std::result::Result<std::sync::Arc<SpillFile>, String>>,
    failure: std::sync::OnceLock<String>,
}

impl Spiller {
    fn new(budget: u64) -> Self {
        Spiller {
            budget,
            held: std::sync::atomic::AtomicU64::new(0),
            file: std::sync::OnceLock::new(),
            failure: std::sync::OnceLock::new(),
        }
    }

    /// Keep `d`'s text, or move it to the spill file when the texts held
    /// are over budget. If the file cannot be made or written, the text is
    /// kept and the first failure is remembered for a warning.
    fn settle(&self, d: &mut Document) {
        let len = d.text.len() as u64;
        if len == 0 || self.budget == u64::MAX {
            return;
        }
        let held = self
            .held
            .fetch_add(len, std::sync::atomic::Ordering::Relaxed);
        if held.saturating_add(len) <= self.budget {
            // A text read into a reused, larger buffer is kept at its size.
            if d.text.capacity() > d.text.len() + d.text.len() / 4 {
                d.text.shrink_to_fit();
            }
            return;
        }
        let dir = std::env::temp_dir();
        let file = self.file.get_or_init(|| {
            SpillFile::create(&dir)
                .map(std::sync::Arc::new)
                .map_err(|e| format!("cannot make a temporary file in {}: {e}", dir.display()))
        });
        let put = file
            .as_ref()
            .map_err(String::clone)
            .and_then(|f| f.put(&d.text).map(|at| (f, at)).map_err(|e| e.to_string()));
        match put {
            Ok((f, at)) => {
                d.spilled = Some(Spilled {
                    file: std::sync::Arc::clone(f),
                    at,
                    len: d.text.len(),
                });
                recycle_text(std::mem::take(&mut d.text));
            }
            Err(e) => {
                let _ = self.failure.set(e);
            }
        }
    }

    /// A warning when some text could not be moved out of memory.
    fn warning(&self) -> Option<String> {
        self.failure
            .get()
            .map(|e| format!("texts past --text-memory are held in memory after all: {e}"))
    }
}

/// Read every file and folder in `paths`.
///
/// Returns an error only when a top-level path does not exist, or when the
/// `--manifest` file cannot be read or has no `file` column. See the module
/// documentation for how each kind of input is treated.
pub fn read_corpus(paths: &[PathBuf], options: &ReadOptions) -> Result<Corpus> {
    read_corpus_with(paths, options, |_| ()).map(|(corpus, _)| corpus)
}

/// [`read_corpus`], calling `each` on every document as soon as it is
/// read, on the thread that read it, while its text is still in cache.
///
/// Returns the corpus and what `each` returned for each of its documents,
/// in the same order (a document dropped as a repeated id is dropped with
/// its result). `each` may take the document's text when nothing after it
/// needs the text: `wiretrace dedup` hashes each text this way and keeps
/// only its signature, so the texts of a JSON Lines file are never all in
/// memory at once.
pub fn read_corpus_with<T: Send, F: Fn(&mut Document) -> T + Sync>(
    paths: &[PathBuf],
    options: &ReadOptions,
    each: F,
) -> Result<(Corpus, Vec<T>)> {
    let mut clock = crate::scan::Stopwatch::new();
    for p in paths {
        if let Err(e) = std::fs::metadata(p)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            let message = if std::fs::symlink_metadata(p).is_ok() {
                "broken symbolic link: its target does not exist".to_string()
            } else {
                "no such file or folder".to_string()
            };
            return Err(Error::Input {
                path: p.clone(),
                message,
            });
        }
    }
    let (explicit, manifest_warnings) = match &options.manifest {
        Some(m) => {
            let (m, w) = load_explicit_manifest(m, manifest_limit(options.max_file_bytes))?;
            (Some(m), w)
        }
        None => (None, Vec::new()),
    };
    let mut walker = Walker {
        max_file_bytes: options.max_file_bytes,
        entries: manifest_warnings.into_iter().map(Entry::Warn).collect(),
        explicit,
        folder_manifests: Vec::new(),
        ancestors: Vec::new(),
        seen_dirs: HashMap::new(),
        seen_files: HashMap::new(),
    };
    for p in paths {
        walker.walk_top(p);
    }
    if let Some(m) = walker.explicit.take() {
        walker
            .entries
            .extend(m.unmatched_warnings().map(Entry::Warn));
    }

    let max = options.max_file_bytes;
    let spiller = Spiller::new(options.text_memory);
    let each = &|d: &mut Document| {
        let t = each(d);
        spiller.settle(d);
        t
    };
    // What the walk kept to find repeats and manifests goes before the
    // files are read (a million files' paths take some 150 MB).
    let entries = std::mem::take(&mut walker.entries);
    drop(walker);
    crate::scan::give_back_memory();
    clock.lap("read: inputs listed");
    // One slot per entry, collected in place (an indexed collect writes
    // straight into one vector; a vector grown per thread would leave
    // its outgrown buffers in the heap, where the documents' strings
    // would then be carved out of them and keep them from being freed).
    //
    // The listing is read by reference and freed whole afterwards, on
    // this thread. Freed entry by entry on the reading threads, each
    // entry's strings went to that thread's cache of free blocks (glibc's
    // tcache), and the next document's strings were carved out of them:
    // the documents ended up spread over the whole heap the walk had
    // grown (at a million files, 245 MB of strings pinned some 700 MB).
    let outcomes: Vec<Either<Item<T>, Runs<T>>> = entries
        .par_iter()
        .map(|entry| match entry {
            Entry::Text {
                path,
                display,
                id,
                meta,
            } => Either::Left(read_text_file(path, display, id, meta, max, each)),
            Entry::Jsonl { path, display } => {
                Either::Right(read_jsonl_file(path, display, max, each))
            }
            Entry::Skip(s) => Either::Left(Item::Skip(s.clone())),
            Entry::Warn(w) => Either::Left(Item::Warn(w.clone())),
        })
        .collect();
    drop(entries);
    crate::scan::give_back_memory();
    clock.lap("read: files parsed");
    let mut corpus = Corpus::default();
    // Documents in input order; a later document whose id was seen before
    // is skipped (found by sorting positions by id, not by hashing copies
    // of every id).
    let Gathered {
        mut documents,
        mut results,
        doc_item,
        mut skipped,
        warnings,
    } = gather(outcomes);
    corpus.warnings = warnings;
    let mut order: Vec<usize> = (0..documents.len()).collect();
    let id_of = |i: usize| documents[i].id.as_str();
    order.par_sort_by(|&x, &y| id_of(x).cmp(id_of(y)).then(x.cmp(&y)));
    let mut keep = vec![true; documents.len()];
    let mut run = 0;
    for w in 1..=order.len() {
        if w == order.len() || id_of(order[w]) != id_of(order[run]) {
            let first = &documents[order[run]];
            for &later in &order[run + 1..w] {
                let d = &documents[later];
                let reason = format!("duplicate id {} (first read from {})", d.id, first.path);
                skipped.push((doc_item[later], skip(d.path.clone(), reason)));
                keep[later] = false;
            }
            run = w;
        }
    }
    skipped.sort_by_key(|s| s.0);
    corpus.skipped = skipped.into_iter().map(|s| s.1).collect();
    // Repeats out, in place.
    let mut at = 0;
    documents.retain(|_| {
        at += 1;
        keep[at - 1]
    });
    let mut at = 0;
    results.retain(|_| {
        at += 1;
        keep[at - 1]
    });
    corpus.documents = documents;
    corpus.warnings.extend(spiller.warning());
    crate::scan::give_back_memory();
    clock.lap("read: documents gathered");
    Ok((corpus, results))
}

/// The items read, taken apart: the documents and their results (in input
/// order), each document's position among the items, the skips (with
/// their positions) and the warnings.
struct Gathered<T> {
    documents: Vec<Document>,
    results: Vec<T>,
    doc_item: Vec<usize>,
    skipped: Vec<(usize, Skipped)>,
    warnings: Vec<String>,
}

/// Where one run of items (a text file's item, or one piece of a JSON
/// Lines file) goes: its first item's position, and its documents' places
/// in the three vectors [`gather`] fills.
struct Place<'a, T> {
    first: usize,
    documents: &'a mut [std::mem::MaybeUninit<Document>],
    results: &'a mut [std::mem::MaybeUninit<T>],
    doc_item: &'a mut [std::mem::MaybeUninit<usize>],
    /// What the run held besides its documents, once taken apart.
    taken: Taken,
}

/// Take the items apart, every run of items moved to its places at once
/// on all threads. Moved on one thread, a large item at a time into fresh
/// pages, Reuters' 19,000 documents took 4 ms, the one serial step
/// between reading and hashing.
fn gather<T: Send>(outcomes: Vec<Either<Item<T>, Runs<T>>>) -> Gathered<T> {
    let is_doc = |i: &Item<T>| usize::from(matches!(i, Item::Doc(..)));
    // Each run's items and documents, in order.
    let mut counts: Vec<(usize, usize)> = Vec::with_capacity(outcomes.len());
    for outcome in &outcomes {
        match outcome {
            Either::Left(item) => counts.push((1, is_doc(item))),
            Either::Right(runs) => counts.extend(
                runs.iter()
                    .map(|run| (run.len(), run.iter().map(is_doc).sum::<usize>())),
            ),
        }
    }
    let docs: usize = counts.iter().map(|c| c.1).sum();
    let mut documents: Vec<Document> = Vec::with_capacity(docs);
    let mut results: Vec<T> = Vec::with_capacity(docs);
    let mut doc_item: Vec<usize> = Vec::with_capacity(docs);
    let lengths = || counts.iter().map(|c| c.1);
    let firsts = counts.iter().scan(0, |first, &(items, _)| {
        *first += items;
        Some(*first - items)
    });
    let mut places: Vec<Place<T>> = firsts
        .zip(crate::split_lengths(
            &mut documents.spare_capacity_mut()[..docs],
            lengths(),
        ))
        .zip(crate::split_lengths(
            &mut results.spare_capacity_mut()[..docs],
            lengths(),
        ))
        .zip(crate::split_lengths(
            &mut doc_item.spare_capacity_mut()[..docs],
            lengths(),
        ))
        .map(|(((first, documents), results), doc_item)| Place {
            first,
            documents,
            results,
            doc_item,
            taken: Taken::default(),
        })
        .collect();
    // Each file's share of the places: one for a text file, one per
    // piece for a JSON Lines file.
    let shares = crate::split_lengths(
        &mut places,
        outcomes.iter().map(|o| o.as_ref().either(|_| 1, Vec::len)),
    );
    outcomes
        .into_par_iter()
        .zip(shares)
        .for_each(|(outcome, share)| match outcome {
            Either::Left(item) => {
                if let Some(place) = share.first_mut() {
                    take_run(std::iter::once(item), place);
                }
            }
            Either::Right(runs) => runs
                .into_par_iter()
                .zip(share.par_iter_mut())
                .for_each(|(run, place)| take_run(run.into_iter(), place)),
        });
    let (mut written, mut skipped, mut warnings) = (0, Vec::new(), Vec::new());
    for place in places {
        written += place.taken.documents;
        skipped.extend(place.taken.skipped);
        warnings.extend(place.taken.warnings);
    }
    // What makes the lengths below sound: every place was filled.
    assert_eq!(written, docs, "every document gathered");
    // SAFETY: each run wrote as many documents, results and positions as
    // it holds documents, to its own places, which together are the first
    // `docs` of each vector's spare capacity; the runs wrote `docs` in all.
    unsafe {
        documents.set_len(docs);
        results.set_len(docs);
        doc_item.set_len(docs);
    }
    Gathered {
        documents,
        results,
        doc_item,
        skipped,
        warnings,
    }
}

/// What [`take_run`] took apart besides the documents it moved.
#[derive(Default)]
struct Taken {
    documents: usize,
    skipped: Vec<(usize, Skipped)>,
    warnings: Vec<String>,
}

/// Move a run's documents (and their results and positions) to `place`,
/// noting there the skips and warnings, and how many documents it moved.
fn take_run<T>(items: impl Iterator<Item = Item<T>>, place: &mut Place<T>) {
    let taken = &mut place.taken;
    for (at, item) in (place.first..).zip(items) {
        match item {
            Item::Doc(d, t) => {
                let k = taken.documents;
                place.documents[k].write(d);
                place.results[k].write(t);
                place.doc_item[k].write(at);
                taken.documents += 1;
            }
            Item::Skip(s) => taken.skipped.push((at, s)),
            Item::Warn(w) => taken.warnings.push(w),
        }
    }
}

// ---------------------------------------------------------------------------
// Walking the inputs
// ---------------------------------------------------------------------------

/// Metadata for a text document, from a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Meta {
    outlet: Option<String>,
    published: Option<String>,
    url: Option<String>,
    title: Option<String>,
}

/// One thing found while walking, to be read (possibly in parallel) later.
enum Entry {
    Text {
        path: PathBuf,
        display: String,
        id: String,
        meta: Meta,
    },
    Jsonl {
        path: PathBuf,
        display: String,
    },
    Skip(Skipped),
    Warn(String),
}

/// One result of reading, in input order. A document is held in place,
/// not boxed: a box per document would leave a hole in the heap for each
/// one when the documents are gathered.
enum Item<T> {
    Doc(Document, T),
    Skip(Skipped),
    Warn(String),
}

/// A JSON Lines file's items in runs, in line order: one run per piece
/// of the file parsed on its own.
type Runs<T> = Vec<Vec<Item<T>>>;

fn skip(path: impl Into<String>, reason: impl Into<String>) -> Skipped {
    Skipped {
        path: path.into(),
        reason: reason.into(),
    }
}

struct Walker {
    max_file_bytes: u64,
    entries: Vec<Entry>,
    explicit: Option<Manifest>,
    /// `manifest.csv` files of the folders being walked, outermost first.
    folder_manifests: Vec<Manifest>,
    /// Canonical paths of the folders being walked (for loop detection),
    /// with their display paths.
    ancestors: Vec<(PathBuf, String)>,
    /// Canonical folder -> display path of the first visit.
    seen_dirs: HashMap<PathBuf, String>,
    /// Canonical text or JSON Lines file -> display path of the first visit.
    /// Hash (xxh3) of a text or JSON Lines file's canonical path -> the
    /// entry that first listed it (a hit is checked on the paths
    /// themselves). No path is kept per file: a million of them would
    /// otherwise stay scattered through the heap.
    seen_files: HashMap<u64, usize>,
}

/// The components of a path as strings, without `.` components.
fn path_components(p: &Path) -> Vec<String> {
    p.components()
        .filter_map(|c| match c {
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
            other => Some(other.as_os_str().to_string_lossy().into_owned()),
        })
        .collect()
}

fn extension_lower(p: &Path) -> Option<String> {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

fn file_id(p: &Path) -> String {
    match p.file_stem() {
        Some(s) => s.to_string_lossy().into_owned(),
        None => p.display().to_string(),
    }
}

impl Walker {
    fn walk_top(&mut self, p: &Path) {
        let display = p.display().to_string();
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => {
                self.entries
                    .push(Entry::Skip(skip(display, format!("cannot read: {e}"))));
                return;
            }
        };
        let mut comps = path_components(p);
        if meta.is_dir() {
            let mut rel = Vec::new();
            self.walk_dir(p, &display, &mut comps, &mut rel);
        } else {
            if self.is_explicit_manifest(p, None) {
                return;
            }
            let is_jsonl = extension_lower(p).as_deref() == Some("jsonl");
            self.add_file(p, display, &comps, &[], is_jsonl, None);
        }
    }

    /// Is `p` the `--manifest` file? `canon` is its canonical path when
    /// the walk knows it.
    fn is_explicit_manifest(&self, p: &Path, canon: Option<&Path>) -> bool {
        let Some(Some(c)) = self.explicit.as_ref().map(|m| m.canonical.as_ref()) else {
            return false;
        };
        if let Some(canon) = canon {
            return canon == c;
        }
        // Cheap test first: a different name (after symlinks) cannot match.
        if p.file_name() != c.file_name() && !p.is_symlink() {
            return false;
        }
        p.canonicalize().is_ok_and(|pc| pc == *c)
    }

    /// Queue a text or JSON Lines file, after checking it was not seen.
    /// `canon` is its canonical path when the walk knows it (a file that
    /// is not a symbolic link, in a folder whose canonical path is known).
    fn add_file(
        &mut self,
        path: &Path,
        display: String,
        comps: &[String],
        rel: &[String],
        is_jsonl: bool,
        canon: Option<PathBuf>,
    ) {
        let meta = self.match_manifests(comps, rel);
        if let Some(canon) = canon.map_or_else(|| path.canonicalize().ok(), Some) {
            let key = xxhash_rust::xxh3::xxh3_64(canon.as_os_str().as_encoded_bytes());
            match self.seen_files.get(&key).and_then(|&i| self.entries.get(i)) {
                Some(Entry::Text {
                    path: first,
                    display: first_display,
                    ..
                })
                | Some(Entry::Jsonl {
                    path: first,
                    display: first_display,
                }) if first.canonicalize().is_ok_and(|c| c == canon) => {
                    let reason = format!("same file as {first_display} (listed already)");
                    self.entries.push(Entry::Skip(skip(display, reason)));
                    return;
                }
                _ => {
                    self.seen_files.entry(key).or_insert(self.entries.len());
                }
            }
        }
        let path = path.to_path_buf();
        if is_jsonl {
            self.entries.push(Entry::Jsonl { path, display });
        } else {
            let id = file_id(&path);
            self.entries.push(Entry::Text {
                path,
                display,
                id,
                meta: meta.unwrap_or_default(),
            });
        }
    }

    /// Find the metadata for a file: `--manifest` first, then the nearest
    /// folder manifest. Every manifest with a matching row marks it as used.
    fn match_manifests(&mut self, comps: &[String], rel: &[String]) -> Option<Meta> {
        let mut found = None;
        if let Some(m) = self.explicit.as_mut() {
            found = m.lookup(comps);
        }
        for m in self.folder_manifests.iter_mut().rev() {
            let r = m.lookup(&rel[m.depth.min(rel.len())..]);
            if found.is_none() {
                found = r;
            }
        }
        found
    }

    /// Walk a folder. `comps` are the display path's components, `rel` the
    /// names below the argument folder.
    fn walk_dir(
        &mut self,
        dir: &Path,
        display: &str,
        comps: &mut Vec<String>,
        rel: &mut Vec<String>,
    ) {
        let canon = match dir.canonicalize() {
            Ok(c) => c,
            Err(e) => {
                self.entries.push(Entry::Skip(skip(
                    display,
                    format!("cannot read folder: {e}"),
                )));
                return;
            }
        };
        if let Some((_, anc)) = self.ancestors.iter().find(|(c, _)| *c == canon) {
            let reason = format!("symlink loop: leads back to {anc}");
            self.entries.push(Entry::Skip(skip(display, reason)));
            return;
        }
        if let Some(first) = self.seen_dirs.get(&canon) {
            let reason = format!("same folder as {first} (read already)");
            self.entries.push(Entry::Skip(skip(display, reason)));
            return;
        }
        let mut names = match std::fs::read_dir(dir) {
            Ok(rd) => {
                let mut names = Vec::new();
                for e in rd {
                    match e {
                        // The entry's type as listed (no system call on
                        // most file systems): for all but symbolic links
                        // it is the file's type.
                        Ok(e) => names.push((e.file_name(), e.file_type().ok())),
                        Err(e) => {
                            let reason = format!("cannot list folder entry: {e}");
                            self.entries.push(Entry::Skip(skip(display, reason)));
                        }
                    }
                }
                names
            }
            Err(e) => {
                self.entries.push(Entry::Skip(skip(
                    display,
                    format!("cannot read folder: {e}"),
                )));
                return;
            }
        };
        names.sort_by(|a, b| a.0.cmp(&b.0));
        self.seen_dirs.insert(canon.clone(), display.to_string());
        self.ancestors.push((canon.clone(), display.to_string()));

        // A manifest.csv in this folder applies to the whole tree below it.
        // `manifest_name` is set once it has been dealt with (used, or
        // skipped with a reason), so that the loop below passes it over.
        let mut manifest_name = None;
        let mut pushed_manifest = false;
        if let Some((name, _)) = names
            .iter()
            .find(|n| n.0.to_string_lossy().eq_ignore_ascii_case("manifest.csv"))
        {
            let path = dir.join(name);
            let disp = Path::new(display).join(name).display().to_string();
            if path.is_file() {
                manifest_name = Some(name.clone());
                if !self.is_explicit_manifest(&path, None) {
                    match load_manifest(&path, &disp, manifest_limit(self.max_file_bytes)) {
                        Ok((mut m, warnings)) => {
                            self.entries.extend(warnings.into_iter().map(Entry::Warn));
                            m.depth = rel.len();
                            self.folder_manifests.push(m);
                            pushed_manifest = true;
                        }
                        Err(reason) => {
                            // Listed here, so not walked again below.
                            let reason = format!("not used as a manifest: {reason}");
                            self.entries.push(Entry::Skip(skip(disp, reason)));
                        }
                    }
                }
            }
        }

        for (name, kind) in &names {
            if Some(name) == manifest_name.as_ref() {
                continue;
            }
            let path = dir.join(name);
            let disp_path = Path::new(display).join(name);
            let disp = disp_path.display().to_string();
            let name_str = name.to_string_lossy().into_owned();
            // Not a symbolic link: its type is known and its canonical
            // path is the folder's joined with its name, without asking
            // the file system again for either.
            let known = kind
                .filter(|k| !k.is_symlink())
                .map(|k| (k, canon.join(name)));
            rel.push(name_str.clone());
            comps.push(name_str);
            self.walk_entry(&path, disp, comps, rel, known);
            comps.pop();
            rel.pop();
        }

        if pushed_manifest && let Some(m) = self.folder_manifests.pop() {
            self.entries.extend(m.unmatched_warnings().map(Entry::Warn));
        }
        self.ancestors.pop();
    }

    fn walk_entry(
        &mut self,
        path: &Path,
        disp: String,
        comps: &mut Vec<String>,
        rel: &mut Vec<String>,
        known: Option<(std::fs::FileType, PathBuf)>,
    ) {
        let (is_dir, is_file, canon) = match known {
            Some((kind, canon)) => (kind.is_dir(), kind.is_file(), Some(canon)),
            None => match std::fs::metadata(path) {
                Ok(m) => (m.is_dir(), m.is_file(), None),
                Err(e) => {
                    // Mark manifest rows naming it as matched: the file exists.
                    let _ = self.match_manifests(comps, rel);
                    let reason = match std::fs::symlink_metadata(path) {
                        Ok(m) if m.file_type().is_symlink() => {
                            format!("broken symbolic link: {e}")
                        }
                        _ => format!("cannot read: {e}"),
                    };
                    self.entries.push(Entry::Skip(skip(disp, reason)));
                    return;
                }
            },
        };
        if is_dir {
            if rel.last().is_some_and(|name| name.starts_with('.')) {
                let reason = "hidden folder, not scanned";
                self.entries.push(Entry::Skip(skip(disp, reason)));
            } else {
                self.walk_dir(path, &disp, comps, rel);
            }
            return;
        }
        if self.is_explicit_manifest(path, canon.as_deref()) {
            return;
        }
        if !is_file {
            let _ = self.match_manifests(comps, rel);
            let reason = "not a regular file (device, socket or pipe)";
            self.entries.push(Entry::Skip(skip(disp, reason)));
            return;
        }
        match extension_lower(path).as_deref() {
            Some("txt") => self.add_file(path, disp, comps, rel, false, canon),
            Some("jsonl") => self.add_file(path, disp, comps, rel, true, canon),
            _ => {
                let _ = self.match_manifests(comps, rel);
                let reason = "not a .txt or .jsonl file";
                self.entries.push(Entry::Skip(skip(disp, reason)));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------

struct ManifestRow {
    line: usize,
    file: String,
    parts: Vec<String>,
    meta: Meta,
    matched: bool,
}

struct Manifest {
    /// How the manifest is named in warnings.
    display: String,
    /// Canonical path (for the `--manifest` file, to exclude it from inputs).
    canonical: Option<PathBuf>,
    /// For a folder manifest: how many names below the argument its folder is.
    depth: usize,
    rows: Vec<ManifestRow>,
    /// Hash (xxh3) of the last path component -> row indices, in file order.
    by_name: HashMap<u64, Vec<usize>>,
}

impl Manifest {
    /// The metadata of the longest matching row for a file whose path
    /// components are `comps`; marks all matching rows as used.
    fn lookup(&mut self, comps: &[String]) -> Option<Meta> {
        let last = comps.last()?;
        let idxs = self
            .by_name
            .get(&xxhash_rust::xxh3::xxh3_64(last.as_bytes()))?;
        let mut best: Option<usize> = None;
        for &i in idxs {
            let Some(row) = self.rows.get(i) else {
                continue;
            };
            let n = row.parts.len();
            if n <= comps.len() && comps[comps.len() - n..] == row.parts[..] {
                let better = match best.and_then(|b| self.rows.get(b)) {
                    Some(b) => n > b.parts.len(),
                    None => true,
                };
                if better {
                    best = Some(i);
                }
            }
        }
        for &i in idxs {
            if let Some(row) = self.rows.get_mut(i) {
                let n = row.parts.len();
                if n <= comps.len() && comps[comps.len() - n..] == row.parts[..] {
                    row.matched = true;
                }
            }
        }
        best.and_then(|b| self.rows.get(b)).map(|r| r.meta.clone())
    }

    fn unmatched_warnings(&self) -> impl Iterator<Item = String> + '_ {
        self.rows.iter().filter(|r| !r.matched).map(|r| {
            format!(
                "{} line {}: no such file among the inputs: {}",
                self.display, r.line, r.file
            )
        })
    }
}

fn load_explicit_manifest(path: &Path, max: u64) -> Result<(Manifest, Vec<String>)> {
    let display = path.display().to_string();
    let input_error = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(input_error(
                "--manifest must be a CSV file, not a folder".into(),
            ));
        }
        Ok(_) => {}
        Err(e) => return Err(input_error(format!("cannot read manifest: {e}"))),
    }
    let (mut m, warnings) = load_manifest(path, &display, max)
        .map_err(|reason| input_error(format!("cannot use manifest: {reason}")))?;
    m.canonical = path.canonicalize().ok();
    Ok((m, warnings))
}

/// Read and parse a manifest. Returns it with its parse warnings, or why it
/// cannot be used.
fn load_manifest(
    path: &Path,
    display: &str,
    max: u64,
) -> std::result::Result<(Manifest, Vec<String>), String> {
    let bytes = read_limited(path, max, Vec::new())?;
    let (text, _) = read_bytes_as_text(&bytes).map_err(|r| {
        if r == "empty after trimming" {
            "the file is empty".to_string()
        } else {
            r
        }
    })?;
    drop(bytes);
    let get = |fields: &[String], c: Option<usize>| -> Option<String> {
        let v = fields.get(c?)?.trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    // Columns: file, outlet, published, url, title.
    let mut cols: Option<[Option<usize>; 5]> = None;
    let mut bad_header = false;
    let mut warnings = Vec::new();
    let mut rows: Vec<ManifestRow> = Vec::new();
    // Keyed by hashes of the last name and of the whole path; the rows
    // they point at are compared in full.
    let mut by_name: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut by_file: HashMap<u64, Vec<usize>> = HashMap::new();
    for_each_csv_record(&text, |rec| {
        if bad_header || rec.fields.iter().all(|f| f.trim().is_empty()) {
            return;
        }
        let Some([file_col, outlet_col, published_col, url_col, title_col]) = cols else {
            let col = |name: &str| {
                rec.fields
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(name))
            };
            cols = Some(["file", "outlet", "published", "url", "title"].map(col));
            bad_header = col("file").is_none();
            return;
        };
        let line = rec.line;
        let Some(file) = get(&rec.fields, file_col) else {
            warnings.push(format!("{display} line {line}: no file name; row ignored"));
            return;
        };
        let parts: Vec<String> = file
            .split(['/', '\\'])
            .filter(|s| !s.is_empty() && *s != ".")
            .map(str::to_string)
            .collect();
        let Some(last) = parts.last() else {
            warnings.push(format!(
                "{display} line {line}: no file name in {file:?}; row ignored"
            ));
            return;
        };
        let name_key = xxhash_rust::xxh3::xxh3_64(last.as_bytes());
        let file_key = xxhash_rust::xxh3::xxh3_64(parts.join("/").as_bytes());
        let same = by_file.get(&file_key).and_then(|idxs| {
            idxs.iter()
                .copied()
                .find(|&i| rows.get(i).is_some_and(|r| r.parts == parts))
        });
        if let Some(first) = same {
            let first_line = rows.get(first).map_or(0, |r| r.line);
            warnings.push(format!(
                "{display} line {line}: {file} is already listed on line {first_line}; this row is ignored"
            ));
            return;
        }
        let mut published = get(&rec.fields, published_col);
        if let Some(p) = &published
            && !is_valid_date(p)
        {
            warnings.push(format!(
                "{display} line {line}: published {p:?} is not YYYY-MM-DD or an ISO 8601 date-time; date dropped"
            ));
            published = None;
        }
        let meta = Meta {
            outlet: get(&rec.fields, outlet_col),
            published,
            url: get(&rec.fields, url_col),
            title: get(&rec.fields, title_col),
        };
        let idx = rows.len();
        by_file.entry(file_key).or_default().push(idx);
        by_name.entry(name_key).or_default().push(idx);
        rows.push(ManifestRow {
            line,
            file,
            parts,
            meta,
            matched: false,
        });
    });
    if cols.is_none() {
        return Err("the file is empty".into());
    }
    if bad_header {
        return Err("its header row has no \"file\" column".into());
    }
    rows.shrink_to_fit();
    Ok((
        Manifest {
            display: display.to_string(),
            canonical: None,
            depth: 0,
            rows,
            by_name,
        },
        warnings,
    ))
}

// ---------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------

/// A size in words: `64 MiB`, `70.3 MiB`, `512 bytes`.
fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{:.1} {unit}", bytes as f64 / size as f64)
            };
        }
    }
    if bytes == 1 {
        "1 byte".to_string()
    } else {
        format!("{bytes} bytes")
    }
}

/// The size limit of a manifest: sixteen times an article's, since one
/// manifest describes many files (120 bytes a row: a million documents
/// make a 117 MiB manifest, 1 GiB is the limit by default).
fn manifest_limit(max_file_bytes: u64) -> u64 {
    max_file_bytes.saturating_mul(16)
}

fn too_large(size: Option<u64>, max: u64, what: &str) -> String {
    let size = match size {
        Some(s) => format!("{} ({s} bytes)", format_size(s)),
        None => format!("more than {}", format_size(max)),
    };
    format!(
        "{what} too large: {size}, over the limit of {}; raise it with --max-file-bytes",
        format_size(max)
    )
}

/// Read a whole file into `buf` (cleared first; its capacity is reused),
/// but never more than `max` bytes into memory.
fn read_limited(path: &Path, max: u64, buf: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut capacity = 0;
    if let Ok(m) = file.metadata()
        && m.is_file()
    {
        if m.len() > max {
            return Err(too_large(Some(m.len()), max, "file"));
        }
        capacity = usize::try_from(m.len()).unwrap_or(0);
    }
    let mut buf = buf;
    buf.clear();
    buf.reserve(capacity);
    file.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > max {
        return Err(too_large(None, max, "file"));
    }
    Ok(buf)
}

fn read_text_file<T: Send, F: Fn(&mut Document) -> T + Sync>(
    path: &Path,
    display: &str,
    id: &str,
    meta: &Meta,
    max: u64,
    each: &F,
) -> Item<T> {
    let bytes = match read_limited(path, max, SPARE_TEXT.take()) {
        Ok(b) => b,
        Err(reason) => return Item::Skip(skip(display, reason)),
    };
    match bytes_into_text(bytes) {
        Ok((text, encoding)) => {
            // Built whole, so that no string is allocated only to be
            // replaced (each would leave a small hole in the heap). The
            // strings are copies: the copies are made here, side by side,
            // and the listing, freed whole once read, goes back to the
            // system instead of staying pinned by the strings that would
            // have outlived it.
            let fresh = |s: &Option<String>| s.as_deref().map(str::to_owned);
            let mut d = Document {
                id: id.to_owned(),
                path: display.to_owned(),
                outlet: fresh(&meta.outlet),
                published: fresh(&meta.published),
                url: fresh(&meta.url),
                title: fresh(&meta.title),
                bytes: text.len(),
                status: status_of(&encoding),
                encoding,
                text,
                spilled: None,
            };
            let t = each(&mut d);
            Item::Doc(d, t)
        }
        Err(reason) => Item::Skip(skip(display, reason)),
    }
}

/// The file is read in blocks of [`JSONL_BLOCK_BYTES`]; the complete lines
/// of a block are split among threads at line boundaries and parsed in
/// parallel, so memory stays bounded by a block (plus the documents)
/// whatever the file's size, and items come out in line order.
fn read_jsonl_file<T: Send, F: Fn(&mut Document) -> T + Sync>(
    path: &Path,
    display: &str,
    max: u64,
    each: &F,
) -> Runs<T> {
    read_jsonl_blocks(path, display, max, JSONL_BLOCK_BYTES, each)
}

/// [`read_jsonl_file`] with blocks of `block` bytes.
///
/// Reading is pipelined: while a block's lines are parsed, the next block
/// is read into a second buffer (after the current block's unfinished last
/// line), so the threads do not wait for the file between blocks. The
/// first block is at most [`JSONL_FIRST_BLOCK_BYTES`], so that parsing
/// starts soon after the file is opened.
fn read_jsonl_blocks<T: Send, F: Fn(&mut Document) -> T + Sync>(
    path: &Path,
    display: &str,
    max: u64,
    block: usize,
    each: &F,
) -> Runs<T> {
    let mut file = match File::open(path) {
        Ok(file) => BlockReader {
            left: file.metadata().map_or(0, |m| m.len()),
            sized: true,
            file,
        },
        Err(e) => return vec![vec![Item::Skip(skip(display, format!("cannot open: {e}")))]],
    };
    // Room for the line ending on top of the limit.
    let keep = max.saturating_add(2);
    let mut items = Vec::new();
    let mut lines = 0usize; // lines read so far
    let mut records = 0usize;
    // Unprocessed bytes, starting at the start of a line; `next` receives
    // the following block while `buf` is parsed.
    // Allocated at its full size at once (the first block is smaller).
    let mut buf: Vec<u8> = Vec::with_capacity(
        usize::try_from(file.left).map_or(block, |left| left.saturating_add(1).min(block)),
    );
    let mut next: Vec<u8> = Vec::new();
    // Bytes seen of a line too long to keep, while it is being skipped.
    let mut skipping: Option<u64> = None;
    // The last byte dropped while skipping (is a `\r` part of the ending?).
    let mut last_byte = 0u8;
    let mut at_start = true;
    let mut read = file.read(&mut buf, block.min(JSONL_FIRST_BLOCK_BYTES));
    loop {
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                // Lines complete before this block are kept; the bytes
                // this block read before the error are dropped.
                let n = lines + 1;
                let reason = format!("line {n}: read error, rest of file not read: {e}");
                items.push(vec![Item::Skip(skip(line_place(display, n), reason))]);
                records += 1;
                break;
            }
        };
        let eof = n == 0;
        if at_start && (buf.len() >= 3 || eof) {
            at_start = false;
            if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) {
                let reason = "UTF-16 JSON Lines are not supported; convert the file to UTF-8";
                return vec![vec![Item::Skip(skip(display, reason))]];
            }
            if buf.starts_with(UTF8_BOM) {
                buf.drain(..UTF8_BOM.len());
            }
        }
        if let Some(seen) = skipping {
            let (end, ending) = match buf.iter().position(|&b| b == b'\n') {
                Some(p) => {
                    let cr = if p > 0 {
                        buf[p - 1] == b'\r'
                    } else {
                        last_byte == b'\r'
                    };
                    (p + 1, 1 + u64::from(cr))
                }
                None if eof => (buf.len(), 0),
                None => {
                    skipping = Some(seen + buf.len() as u64);
                    last_byte = buf.last().copied().unwrap_or(last_byte);
                    buf.clear();
                    read = file.read(&mut buf, block);
                    continue;
                }
            };
            lines += 1;
            records += 1;
            let what = format!("line {lines}:");
            // The line's size without its line ending, as for other lines.
            let total = (seen + end as u64).saturating_sub(ending);
            items.push(vec![Item::Skip(skip(
                line_place(display, lines),
                too_large(Some(total), max, &what),
            ))]);
            buf.drain(..end);
            skipping = None;
        }
        let cut = if eof {
            buf.len()
        } else {
            buf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)
        };
        let (body, tail) = buf.split_at(cut);
        // An unfinished line already longer than the limit is not carried
        // over: the rest of it is skipped as it is read.
        let drop_tail = tail.len() as u64 > keep;
        let parse = |items: &mut Runs<T>| parse_jsonl_lines(display, body, lines, max, each, items);
        let r = if eof {
            parse(&mut items)
        } else {
            let (r, n) = rayon::join(
                || parse(&mut items),
                || {
                    next.clear();
                    if !drop_tail {
                        next.extend_from_slice(tail);
                    }
                    file.read(&mut next, block)
                },
            );
            read = n;
            r
        };
        lines += r.lines;
        records += r.records;
        if eof {
            break;
        }
        if drop_tail {
            skipping = Some(tail.len() as u64);
            last_byte = tail.last().copied().unwrap_or(0);
        }
        std::mem::swap(&mut buf, &mut next);
    }
    if records == 0 {
        items.push(vec![Item::Skip(skip(
            display,
            "empty after trimming: no JSON Lines records",
        ))]);
    }
    items
}

/// A JSON Lines file being read block by block.
struct BlockReader {
    file: File,
    /// Bytes of the file not read yet, as its size said when it was opened.
    left: u64,
    /// Whether that size still holds: once more bytes come than it said
    /// (a file that grew, or one whose size reads as 0, such as a pipe),
    /// reads are no longer capped by it.
    sized: bool,
}

impl BlockReader {
    /// Append the next bytes of the file to `buf` (which holds the
    /// unfinished line carried over, if any): as many as fill it up to
    /// `block` bytes, or `block` more when the carried line already takes
    /// half of that, and no more than the file has left (at least one byte
    /// in every case, to see the end). They are read straight into spare
    /// capacity (not zeroed first, as a `resize` would do for every block);
    /// `read_to_end` retries interrupted reads and stops after that many
    /// bytes or at the end. Returns the bytes read (0 at the end).
    ///
    /// Topping up to `block` keeps the two block buffers at `block` bytes of
    /// capacity, so each is allocated, and its pages faulted in, once per
    /// file: reading a whole `block` on top of the carried line made them
    /// grow by doubling, into fresh pages each time (Reuters' `dedup`: 2.5
    /// times the faults of two buffers of one block).
    fn read(&mut self, buf: &mut Vec<u8>, block: usize) -> std::io::Result<usize> {
        let block = block.max(1);
        let want = if buf.len() < block / 2 {
            block - buf.len()
        } else {
            block
        };
        let want = if self.sized {
            want.min(usize::try_from(self.left).map_or(usize::MAX, |left| left.saturating_add(1)))
        } else {
            want
        };
        buf.reserve_exact(want);
        let n = (&mut self.file).take(want as u64).read_to_end(buf)?;
        self.sized &= n as u64 <= self.left;
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

/// Largest first block of a JSON Lines file (later ones are read while
/// the one before is parsed; the first one is read alone).
const JSONL_FIRST_BLOCK_BYTES: usize = 1 << 20;

/// Bytes of JSON Lines read (and parsed in parallel) at a time. The two
/// block buffers are reused from block to block, so their pages are
/// first touched (faulted in and zeroed by the kernel) once per file:
/// smaller blocks, fewer such faults (Reuters' `dedup`, 19.6 MB: ~19,800
/// page faults with 8 MB blocks, ~16,200 with 2 MB), while a block still
/// cuts into enough pieces of at least 64 KB to keep every thread busy.
const JSONL_BLOCK_BYTES: usize = 2 << 20;

/// Counts from [`parse_jsonl_lines`].
#[derive(Default, Clone, Copy)]
struct LineCounts {
    lines: usize,
    records: usize,
}

/// Parse the lines of `block` (whole lines; the last may lack its line
/// ending only at the end of the file), numbered from `before + 1`, onto
/// `out`: the block is cut at line boundaries into pieces parsed in
/// parallel.
fn parse_jsonl_lines<T: Send, F: Fn(&mut Document) -> T + Sync>(
    display: &str,
    block: &[u8],
    before: usize,
    max: u64,
    each: &F,
    out: &mut Runs<T>,
) -> LineCounts {
    if block.is_empty() {
        return LineCounts::default();
    }
    let target = (block.len() / (rayon::current_num_threads() * 8)).max(1 << 16);
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut rest = block;
    while !rest.is_empty() {
        let end = if rest.len() <= target {
            rest.len()
        } else {
            memchr::memchr(b'\n', &rest[target..]).map_or(rest.len(), |p| target + p + 1)
        };
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    // Each piece's first line number and line count.
    let mut first = Vec::with_capacity(pieces.len());
    let mut n = before;
    for piece in &pieces {
        let lines =
            memchr::memchr_iter(b'\n', piece).count() + usize::from(!piece.ends_with(b"\n"));
        first.push((n, lines));
        n += lines;
    }
    let parsed: Vec<(Vec<Item<T>>, usize)> = pieces
        .par_iter()
        .zip(first)
        .map(|(piece, (mut line_no, lines))| {
            // One item per line, as a rule (a record's warnings add more).
            let mut items = Vec::with_capacity(lines);
            let mut records = 0;
            let body = piece.strip_suffix(b"\n").unwrap_or(piece);
            for line in crate::text::line_ranges(body).map(|r| &body[r]) {
                line_no += 1;
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.len() as u64 > max {
                    records += 1;
                    let what = format!("line {line_no}:");
                    items.push(Item::Skip(skip(
                        line_place(display, line_no),
                        too_large(Some(line.len() as u64), max, &what),
                    )));
                } else if !line.iter().all(|b| b.is_ascii_whitespace()) {
                    records += 1;
                    jsonl_record(display, line_no, line, each, &mut items);
                }
            }
            (items, records)
        })
        .collect();
    let counts = LineCounts {
        lines: n - before,
        records: parsed.iter().map(|p| p.1).sum(),
    };
    // Kept as the pieces' own vectors (not moved into one growing vector,
    // which would copy every item again at each doubling).
    out.extend(parsed.into_iter().map(|p| p.0));
    counts
}

/// Where a JSON Lines record is: `display:line_no` (for its document's
/// `path` and its skips), written without the formatting machinery (one
/// call per record, ~800 instructions each through `format!`).
fn line_place(display: &str, line_no: usize) -> String {
    let mut buf = [0; 20];
    let digits = crate::decimal(line_no as u64, &mut buf);
    let mut place = String::with_capacity(display.len() + 1 + digits.len());
    place.push_str(display);
    place.push(':');
    place.push_str(digits);
    place
}

/// Push the items of one non-blank JSON Lines line onto `items`.
fn jsonl_record<T: Send, F: Fn(&mut Document) -> T + Sync>(
    display: &str,
    line_no: usize,
    line: &[u8],
    each: &F,
    items: &mut Vec<Item<T>>,
) {
    let here = line_place(display, line_no);
    let (text, encoding) = decode_8bit(line);
    match parse_jsonl_line(&text) {
        Ok((mut doc, warnings)) => {
            doc.set_encoding(encoding);
            items.extend(
                warnings
                    .into_iter()
                    .map(|w| Item::Warn(format!("{here}: {w}"))),
            );
            doc.path = here;
            let t = each(&mut doc);
            items.push(Item::Doc(doc, t));
        }
        Err(reason) => items.push(Item::Skip(skip(here, format!("line {line_no}: {reason}")))),
    }
}

/// Parse one JSON Lines record into a [`Document`].
///
/// `line` is one line without its line ending. The record must be a JSON
/// object with `id` (a string or a number, not empty) and `text` (a string
/// that is not empty after trimming). `outlet`, `published`, `url` and
/// `title` are used when they are strings; `null` or empty strings mean
/// unknown. Any other field is ignored.
///
/// Returns the document (with `path` equal to its id, to be set by the
/// caller) and warnings about fields that were dropped: optional fields of
/// another type, and a `published` value that is neither `YYYY-MM-DD` nor an
/// ISO 8601 date-time. Returns `Err(reason)` when the record cannot be used,
/// e.g. `missing "text"` or `expected a JSON object: <parser message>`.
/// Never panics, whatever the input.
pub fn parse_jsonl_line(line: &str) -> std::result::Result<(Document, Vec<String>), String> {
    // Fast path: a flat object whose known fields are all strings (or
    // null), read in one pass. Anything else (a number id, a field of
    // another type, a duplicated field, bad JSON) goes the general way
    // below, which gives the same answer and the precise messages.
    if let Some([id, text, outlet, published, url, title]) = jsonl::record_fields(line) {
        let id = match id {
            None => return Err("missing \"id\"".into()),
            Some(s) if s.trim().is_empty() => return Err("\"id\" is empty".into()),
            Some(s) => s,
        };
        let Some(text) = text else {
            return Err("missing \"text\"".into());
        };
        let known = |f: Option<String>| {
            f.map(|s| match s.trim() {
                t if t.len() == s.len() => s,
                t => t.to_string(),
            })
            .filter(|s| !s.is_empty())
        };
        let fields = [outlet, published, url, title].map(known);
        return finish_record(id, text, fields, Vec::new());
    }
    parse_jsonl_general(line)
}

/// [`parse_jsonl_line`] through a `serde_json::Value`: any JSON, precise
/// messages.
fn parse_jsonl_general(line: &str) -> std::result::Result<(Document, Vec<String>), String> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| format!("expected a JSON object: {e}"))?;
    let Value::Object(obj) = value else {
        return Err(format!(
            "expected a JSON object, found {}",
            json_kind(&value)
        ));
    };
    let id = match obj.get("id") {
        None | Some(Value::Null) => return Err("missing \"id\"".into()),
        Some(Value::String(s)) if s.trim().is_empty() => return Err("\"id\" is empty".into()),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(format!(
                "\"id\" must be a string or a number, found {}",
                json_kind(other)
            ));
        }
    };
    let text = match obj.get("text") {
        None | Some(Value::Null) => return Err("missing \"text\"".into()),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "\"text\" must be a string, found {}",
                json_kind(other)
            ));
        }
    };
    let mut warnings = Vec::new();
    let mut field = |name: &str| -> Option<String> {
        match obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                (!s.is_empty()).then(|| s.to_string())
            }
            Some(other) => {
                warnings.push(format!(
                    "\"{name}\" is {}, not a string; ignored",
                    json_kind(other)
                ));
                None
            }
        }
    };
    let fields = [
        field("outlet"),
        field("published"),
        field("url"),
        field("title"),
    ];
    finish_record(id, text, fields, warnings)
}

/// Check the text and the date, and build the document; `fields` are
/// outlet, published, url and title, trimmed and `None` when empty.
fn finish_record(
    id: String,
    text: String,
    fields: [Option<String>; 4],
    mut warnings: Vec<String>,
) -> std::result::Result<(Document, Vec<String>), String> {
    if text.trim().is_empty() {
        return Err("\"text\" is empty after trimming".into());
    }
    let [outlet, mut published, url, title] = fields;
    if let Some(p) = &published
        && !is_valid_date(p)
    {
        warnings.push(format!(
            "published {p:?} is not YYYY-MM-DD or an ISO 8601 date-time; date dropped"
        ));
        published = None;
    }
    let mut doc = Document::new(id, text);
    doc.outlet = outlet;
    doc.published = published;
    doc.url = url;
    doc.title = title;
    Ok((doc, warnings))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------
// Bytes to text
// ---------------------------------------------------------------------------

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Decide whether `bytes` (a whole file) are text, and decode them.
///
/// Returns `Ok((text, encoding))`, where `encoding` is `None` when `text` is
/// exactly `bytes` (valid UTF-8, no byte order mark, no NUL), and otherwise
/// says how the text was obtained (`windows-1252`, `utf-8 with BOM`,
/// `utf-16le`, `utf-8, 1 NUL byte replaced by a space`, ...). Returns
/// `Err(reason)` for empty or whitespace-only input (`empty after
/// trimming`) and for binary data (`not text: 38% control bytes`, `not text:
/// looks like a PDF file`). The rules are listed in the module
/// documentation. Never panics, whatever the input.
pub fn read_bytes_as_text(bytes: &[u8]) -> std::result::Result<(String, Option<String>), String> {
    let mut notes: Vec<String> = Vec::new();
    let (mut text, nuls) = if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        decode_utf16_checked(body, false, &mut notes)?
    } else if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        decode_utf16_checked(body, true, &mut notes)?
    } else {
        if let Some(kind) = binary_signature(bytes) {
            return Err(format!("not text: looks like {kind}"));
        }
        let body = match bytes.strip_prefix(UTF8_BOM) {
            Some(b) => {
                notes.push("utf-8 with BOM".into());
                b
            }
            None => bytes,
        };
        let controls = body.iter().filter(|&&b| is_control(u32::from(b))).count();
        check_controls(controls, body.len(), "bytes")?;
        let nuls = body.iter().filter(|&&b| b == 0).count();
        let (text, note) = decode_8bit(body);
        match note {
            Some(n) if notes.is_empty() => notes.push(n),
            Some(n) => notes = vec![format!("{n} (after a UTF-8 byte order mark, removed)")],
            None if nuls > 0 && notes.is_empty() => notes.push("utf-8".into()),
            None => {}
        }
        (text.into_owned(), nuls)
    };
    if nuls > 0 {
        text = text.replace('\0', " ");
        notes.push(if nuls == 1 {
            "1 NUL byte replaced by a space".to_string()
        } else {
            format!("{nuls} NUL bytes replaced by spaces")
        });
    }
    if text.trim().is_empty() {
        return Err("empty after trimming".into());
    }
    let note = (!notes.is_empty()).then(|| notes.join(", "));
    Ok((text, note))
}

/// [`read_bytes_as_text`] taking the bytes: plain UTF-8 (no byte order
/// mark, no NUL, not binary, not empty) becomes the text without a copy.
/// Anything else goes the general way, with the same result.
pub(crate) fn bytes_into_text(
    bytes: Vec<u8>,
) -> std::result::Result<(String, Option<String>), String> {
    let mut bytes = bytes;
    let plain = ![&[0xFF, 0xFE][..], &[0xFE, 0xFF], UTF8_BOM]
        .iter()
        .any(|bom| bytes.starts_with(bom))
        && binary_signature(&bytes).is_none()
        && !bytes.contains(&0)
        && check_controls(
            bytes.iter().filter(|&&b| is_control(u32::from(b))).count(),
            bytes.len(),
            "bytes",
        )
        .is_ok();
    if plain {
        match String::from_utf8(bytes) {
            Ok(text) if !text.trim().is_empty() => return Ok((text, None)),
            Ok(text) => bytes = text.into_bytes(),
            Err(e) => bytes = e.into_bytes(),
        }
    }
    read_bytes_as_text(&bytes)
}

/// Control characters that do not occur in text: below U+0020 except tab,
/// line feed, form feed and carriage return, and U+007F.
fn is_control(c: u32) -> bool {
    (c < 0x20 && !matches!(c, 0x09 | 0x0A | 0x0C | 0x0D)) || c == 0x7F
}

/// Reject input where 1% or more of the units are control characters.
fn check_controls(controls: usize, total: usize, unit: &str) -> std::result::Result<(), String> {
    if total == 0 || controls.saturating_mul(100) < total {
        return Ok(());
    }
    let pct = (controls.saturating_mul(100) + total / 2) / total;
    Err(format!("not text: {}% control {unit}", pct.max(1)))
}

/// Well-known binary formats, recognised by their first bytes.
fn binary_signature(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 8] = [
        (b"%PDF-", "a PDF file"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"PK\x03\x04", "a ZIP archive (or .docx, .odt, .epub)"),
        (b"\x1F\x8B", "a gzip file"),
        (b"\x7FELF", "a program (ELF)"),
    ];
    SIGNATURES
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|&(_, kind)| kind)
}

/// Decode bytes that carry no byte order mark: UTF-8 as is; mostly-UTF-8
/// with a few broken sequences lossily; anything else as Windows-1252.
fn decode_8bit(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, Option<String>) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (std::borrow::Cow::Borrowed(s), None);
    }
    let mut valid_non_ascii = 0usize;
    let mut broken = 0usize;
    for chunk in bytes.utf8_chunks() {
        valid_non_ascii += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            broken += 1;
        }
    }
    if valid_non_ascii > broken {
        let note = if broken == 1 {
            "utf-8, 1 invalid byte sequence replaced by U+FFFD".to_string()
        } else {
            format!("utf-8, {broken} invalid byte sequences replaced by U+FFFD")
        };
        (String::from_utf8_lossy(bytes), Some(note))
    } else {
        (
            std::borrow::Cow::Owned(decode_windows_1252(bytes)),
            Some("windows-1252".into()),
        )
    }
}

/// Windows-1252 characters for bytes 0x80..=0x9F; `None` where undefined.
const WINDOWS_1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'), // 0x80 €
    None,             // 0x81
    Some('\u{201A}'), // 0x82 ‚
    Some('\u{0192}'), // 0x83 ƒ
    Some('\u{201E}'), // 0x84 „
    Some('\u{2026}'), // 0x85 …
    Some('\u{2020}'), // 0x86 †
    Some('\u{2021}'), // 0x87 ‡
    Some('\u{02C6}'), // 0x88 ˆ
    Some('\u{2030}'), // 0x89 ‰
    Some('\u{0160}'), // 0x8A Š
    Some('\u{2039}'), // 0x8B ‹
    Some('\u{0152}'), // 0x8C Œ
    None,             // 0x8D
    Some('\u{017D}'), // 0x8E Ž
    None,             // 0x8F
    None,             // 0x90
    Some('\u{2018}'), // 0x91 ‘
    Some('\u{2019}'), // 0x92 ’
    Some('\u{201C}'), // 0x93 “
    Some('\u{201D}'), // 0x94 ”
    Some('\u{2022}'), // 0x95 •
    Some('\u{2013}'), // 0x96 –
    Some('\u{2014}'), // 0x97 —
    Some('\u{02DC}'), // 0x98 ˜
    Some('\u{2122}'), // 0x99 ™
    Some('\u{0161}'), // 0x9A š
    Some('\u{203A}'), // 0x9B ›
    Some('\u{0153}'), // 0x9C œ
    None,             // 0x9D
    Some('\u{017E}'), // 0x9E ž
    Some('\u{0178}'), // 0x9F Ÿ
];

fn decode_windows_1252(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for &b in bytes {
        let c = match b {
            0x80..=0x9F => WINDOWS_1252_HIGH
                .get(usize::from(b - 0x80))
                .copied()
                .flatten()
                .unwrap_or(char::REPLACEMENT_CHARACTER),
            _ => char::from(b),
        };
        out.push(c);
    }
    out
}

/// Decode UTF-16 (byte order mark already removed), then apply the control
/// character check to the characters. Returns the text and its NUL count.
fn decode_utf16_checked(
    body: &[u8],
    big_endian: bool,
    notes: &mut Vec<String>,
) -> std::result::Result<(String, usize), String> {
    let units = body.chunks_exact(2).map(|p| {
        if big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    });
    let mut text = String::with_capacity(body.len());
    let mut bad = 0usize;
    for r in char::decode_utf16(units) {
        match r {
            Ok(c) => text.push(c),
            Err(_) => {
                bad += 1;
                text.push(char::REPLACEMENT_CHARACTER);
            }
        }
    }
    if !body.len().is_multiple_of(2) {
        bad += 1;
        text.push(char::REPLACEMENT_CHARACTER);
    }
    let chars = text.chars().count();
    let controls = text.chars().filter(|&c| is_control(u32::from(c))).count();
    check_controls(controls, chars, "characters")?;
    notes.push(if big_endian { "utf-16be" } else { "utf-16le" }.into());
    if bad > 0 {
        notes.push(format!("{bad} invalid code units replaced by U+FFFD"));
    }
    let nuls = text.chars().filter(|&c| c == '\0').count();
    Ok((text, nuls))
}

// ---------------------------------------------------------------------------
// Dates and CSV
// ---------------------------------------------------------------------------

/// Is `s` a `YYYY-MM-DD` date or an ISO 8601 date-time
/// (`YYYY-MM-DDTHH:MM[:SS[.fff]]` with an optional `Z`, `±HH:MM`, `±HHMM` or
/// `±HH` offset; a space may stand for the `T`)?
fn is_valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            d.iter()
                .fold(0u32, |acc, &x| acc * 10 + u32::from(x - b'0')),
        )
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !at(4, b'-') || !at(7, b'-') || !(1..=12).contains(&m) {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days).contains(&d) {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return false;
    }
    let (Some(hh), Some(mm)) = (num(11..13), num(14..16)) else {
        return false;
    };
    if !at(13, b':') || hh > 23 || mm > 59 {
        return false;
    }
    let mut i = 16;
    if at(i, b':') {
        match num(i + 1..i + 3) {
            Some(ss) if ss <= 60 => i += 3,
            _ => return false,
        }
        if at(i, b'.') || at(i, b',') {
            let digits = b
                .get(i + 1..)
                .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
            if digits == 0 {
                return false;
            }
            i += 1 + digits;
        }
    }
    match b.get(i) {
        None => true,
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let Some(oh) = num(i + 1..i + 3) else {
                return false;
            };
            if oh > 23 {
                return false;
            }
            let rest = b.len() - (i + 3);
            match rest {
                0 => true,
                2 => num(i + 3..i + 5).is_some_and(|om| om <= 59),
                3 => at(i + 3, b':') && num(i + 4..i + 6).is_some_and(|om| om <= 59),
                _ => false,
            }
        }
        Some(_) => false,
    }
}

/// One CSV record and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CsvRecord {
    line: usize,
    fields: Vec<String>,
}

/// Parse CSV text (RFC 4180): comma-separated fields; records end in LF,
/// CRLF or a lone CR; a field in double quotes may hold commas, line breaks
/// and doubled quotes. Lenient: text after a closing quote is kept, and an
/// unterminated quoted field runs to the end of the input.
#[cfg(test)]
fn parse_csv(text: &str) -> Vec<CsvRecord> {
    let mut records = Vec::new();
    for_each_csv_record(text, |r| records.push(r));
    records
}

/// The records of CSV text (see [`parse_csv`]) handed to `each` one at a
/// time, so that a manifest of a million rows is never held parsed whole.
fn for_each_csv_record(text: &str, mut each: impl FnMut(CsvRecord)) {
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1usize;
    let mut record_line = 1usize;
    let mut in_quotes = false;
    let mut field_started = false; // any character seen in the current record
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                '\r' => {
                    if chars.peek() != Some(&'\n') {
                        line += 1;
                    }
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() => {
                field.clear();
                in_quotes = true;
                field_started = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                field_started = true;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if field_started || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    each(CsvRecord {
                        line: record_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                field_started = false;
                line += 1;
                record_line = line;
            }
            _ => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if field_started || !field.is_empty() {
        fields.push(field);
        each(CsvRecord {
            line: record_line,
            fields,
        });
    }
}

#[cfg(test)]
mod tests {

    proptest::proptest! {
        #[test]
        fn line_places_read_as_formatted(display in "[a-z/ é:]{0,12}", line_no in proptest::num::usize::ANY) {
            proptest::prop_assert_eq!(super::line_place(&display, line_no), format!("{display}:{line_no}"));
        }

        #[test]
        fn bytes_into_text_equals_read_bytes_as_text(
            prefix in proptest::sample::select(vec![
                &b""[..], &[0xEF, 0xBB, 0xBF], &[0xFF, 0xFE], &[0xFE, 0xFF], b"%PDF-", b"\x00",
            ]),
            body in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(b" \n\tabcU.S\x00\x01\xC3\xA9\xE2\x80\x9C\xFF".to_vec()),
                    proptest::num::u8::ANY,
                ],
                0..60,
            ),
        ) {
            let mut bytes = prefix.to_vec();
            bytes.extend(body);
            proptest::prop_assert_eq!(bytes_into_text(bytes.clone()), read_bytes_as_text(&bytes));
        }
    }
    use super::*;
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A temporary folder removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let dir = std::env::temp_dir().join(format!(
                "wiretrace-corpus-{name}-{}-{n}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }

        fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
            let p = self.0.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(&p, bytes).unwrap();
            p
        }

        fn show(&self, rel: &str) -> String {
            self.0.join(rel).display().to_string()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read(paths: &[&Path]) -> Corpus {
        read_with(paths, &ReadOptions::default())
    }

    fn read_with(paths: &[&Path], options: &ReadOptions) -> Corpus {
        let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
        read_corpus(&paths, options).unwrap()
    }

    fn doc<'a>(c: &'a Corpus, path: &str) -> &'a Document {
        c.documents
            .iter()
            .find(|d| d.path == path)
            .unwrap_or_else(|| panic!("no document {path} in {:#?}", c.documents))
    }

    fn reason<'a>(c: &'a Corpus, path: &str) -> &'a str {
        &c.skipped
            .iter()
            .find(|s| s.path == path)
            .unwrap_or_else(|| panic!("{path} not skipped; skipped: {:#?}", c.skipped))
            .reason
    }

    /// Every file, symlink and hidden folder under `root` is named by a
    /// document or a skipped entry (or is in `consumed`).
    fn assert_accounted(root: &Path, c: &Corpus, consumed: &[PathBuf]) {
        let strip_line = |p: &str| -> String {
            match p.rsplit_once(':') {
                Some((file, n))
                    if n.chars().all(|ch| ch.is_ascii_digit())
                        && file.to_ascii_lowercase().ends_with(".jsonl") =>
                {
                    file.to_string()
                }
                _ => p.to_string(),
            }
        };
        let named: BTreeSet<String> = c
            .documents
            .iter()
            .map(|d| strip_line(&d.path))
            .chain(c.skipped.iter().map(|s| strip_line(&s.path)))
            .collect();
        let consumed: BTreeSet<String> = consumed.iter().map(|p| p.display().to_string()).collect();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                let shown = p.display().to_string();
                let m = std::fs::symlink_metadata(&p).unwrap();
                let hidden = p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                if m.is_dir() && !hidden {
                    stack.push(p);
                } else if m.file_type().is_symlink() {
                    let prefix = format!("{shown}/");
                    assert!(
                        named.iter().any(|n| *n == shown || n.starts_with(&prefix)),
                        "symlink {shown} not accounted for: {named:#?}"
                    );
                } else {
                    assert!(
                        named.contains(&shown) || consumed.contains(&shown),
                        "{shown} not accounted for: {named:#?}"
                    );
                }
            }
        }
    }

    #[test]
    fn seeds_folder_reads_five_documents_with_manifest_metadata() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let c = read(&[&seeds]);
        assert_eq!(c.documents.len(), 5, "{:#?}", c.skipped);
        assert!(c.skipped.is_empty(), "{:#?}", c.skipped);
        assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
        let d = doc(
            &c,
            &seeds.join("003_5edc88af400f5deb.txt").display().to_string(),
        );
        assert_eq!(d.id, "003_5edc88af400f5deb");
        assert_eq!(d.outlet.as_deref(), Some("The Express Tribune"));
        assert_eq!(d.published.as_deref(), Some("2011-10-25"));
        assert_eq!(d.status, "ok");
        assert_eq!(d.bytes, d.text.len());
        let outlets: Vec<_> = c.documents.iter().map(|d| d.label()).collect();
        assert_eq!(
            outlets,
            [
                "CBS News",
                "Voice of America",
                "The Washington Times",
                "The Express Tribune",
                "Arutz Sheva"
            ]
        );
        assert_accounted(&seeds, &c, &[seeds.join("manifest.csv")]);
    }

    #[test]
    fn missing_top_level_path_is_a_usage_error() {
        let t = TempDir::new("missing");
        let paths = vec![t.path().join("nope.txt")];
        match read_corpus(&paths, &ReadOptions::default()) {
            Err(Error::Input { path, message }) => {
                assert_eq!(path, paths[0]);
                assert_eq!(message, "no such file or folder");
            }
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn empty_and_whitespace_only_files_are_skipped() {
        let t = TempDir::new("empty");
        t.write("empty.txt", "");
        t.write("blank.txt", " \n\t\r\n  \u{a0}\n");
        t.write("ok.txt", "  words  ");
        let c = read(&[t.path()]);
        assert_eq!(reason(&c, &t.show("empty.txt")), "empty after trimming");
        assert_eq!(reason(&c, &t.show("blank.txt")), "empty after trimming");
        assert_eq!(doc(&c, &t.show("ok.txt")).text, "  words  ");
        assert_accounted(t.path(), &c, &[]);
    }

    #[test]
    fn binary_files_are_skipped_with_the_control_share() {
        let t = TempDir::new("binary");
        let mut bytes = vec![0x01u8; 38];
        bytes.extend(std::iter::repeat_n(b'a', 62));
        t.write("ctl.txt", &bytes);
        let mut nul_heavy = b"hello world ".repeat(10);
        nul_heavy.extend([0u8; 40]);
        t.write("nul.txt", &nul_heavy);
        t.write("scan.txt", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n");
        t.write("pic.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
        t.write("words.docx.txt", b"PK\x03\x04\x14\0\x06\0");
        let c = read(&[t.path()]);
        assert_eq!(
            reason(&c, &t.show("ctl.txt")),
            "not text: 38% control bytes"
        );
        assert_eq!(
            reason(&c, &t.show("nul.txt")),
            "not text: 25% control bytes"
        );
        assert_eq!(
            reason(&c, &t.show("scan.txt")),
            "not text: looks like a PDF file"
        );
        assert_eq!(
            reason(&c, &t.show("pic.txt")),
            "not text: looks like a PNG image"
        );
        assert!(reason(&c, &t.show("words.docx.txt")).contains("ZIP archive"));
        assert!(c.documents.is_empty());
        assert_accounted(t.path(), &c, &[]);
    }

    #[test]
    fn a_few_stray_nul_bytes_become_spaces() {
        let mut bytes = b"Reuters reported on Tuesday. ".repeat(20);
        bytes[10] = 0;
        bytes[100] = 0;
        let (text, note) = read_bytes_as_text(&bytes).unwrap();
        assert_eq!(text.len(), bytes.len(), "offsets unchanged");
        assert!(!text.contains('\0'));
        assert_eq!(&text[10..11], " ");
        assert_eq!(
            note.as_deref(),
            Some("utf-8, 2 NUL bytes replaced by spaces")
        );

        let t = TempDir::new("nul");
        t.write("a.txt", &bytes);
        let c = read(&[t.path()]);
        let d = doc(&c, &t.show("a.txt"));
        assert_eq!(d.status, "decoded");
        assert_eq!(d.bytes, bytes.len());

        // 1% or more is binary, however the rest looks.
        let mut dense = b"x".repeat(99);
        dense.push(0);
        assert_eq!(
            read_bytes_as_text(&dense).unwrap_err(),
            "not text: 1% control bytes"
        );
        // Other rare control bytes are kept as they are.
        let mut esc = b"text ".repeat(40);
        esc[3] = 0x1B;
        let (text, note) = read_bytes_as_text(&esc).unwrap();
        assert_eq!(text.as_bytes(), &esc[..]);
        assert_eq!(note, None);
    }

    #[test]
    fn windows_1252_is_decoded() {
        let bytes = b"caf\xe9 \x93quoted\x94 \x80 5 \x96 6 \x81 Stra\xdfe";
        let (text, note) = read_bytes_as_text(bytes).unwrap();
        assert_eq!(text, "café “quoted” € 5 – 6 \u{FFFD} Straße");
        assert_eq!(note.as_deref(), Some("windows-1252"));

        let t = TempDir::new("cp1252");
        t.write("latin.txt", bytes);
        let c = read(&[t.path()]);
        let d = doc(&c, &t.show("latin.txt"));
        assert_eq!(d.status, "decoded");
        assert_eq!(d.encoding.as_deref(), Some("windows-1252"));
        assert_eq!(d.bytes, d.text.len());
    }

    #[test]
    fn windows_1252_table_covers_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let s = decode_windows_1252(&all);
        let chars: Vec<char> = s.chars().collect();
        assert_eq!(chars.len(), 256);
        for b in [0x81usize, 0x8D, 0x8F, 0x90, 0x9D] {
            assert_eq!(chars[b], char::REPLACEMENT_CHARACTER);
        }
        assert_eq!(chars[0x80], '€');
        assert_eq!(chars[0x85], '…');
        assert_eq!(chars[0x8C], 'Œ');
        assert_eq!(chars[0x92], '’');
        assert_eq!(chars[0x97], '—');
        assert_eq!(chars[0x99], '™');
        assert_eq!(chars[0x9F], 'Ÿ');
        assert_eq!(chars[0xA0], '\u{a0}');
        assert_eq!(chars[0xE9], 'é');
        assert_eq!(chars[0x41], 'A');
    }

    #[test]
    fn mostly_utf8_with_a_broken_byte_stays_utf8() {
        let bytes = "Zürich – naïve café \u{201c}quote\u{201d} ".as_bytes();
        let mut broken = bytes.to_vec();
        broken.push(0xE9);
        broken.extend_from_slice(b" end");
        let (text, note) = read_bytes_as_text(&broken).unwrap();
        assert!(text.starts_with("Zürich – naïve"));
        assert!(text.contains('\u{FFFD}'));
        assert_eq!(
            note.as_deref(),
            Some("utf-8, 1 invalid byte sequence replaced by U+FFFD")
        );
    }

    #[test]
    fn utf8_bom_is_removed_and_recorded() {
        let t = TempDir::new("bom");
        t.write("bom.txt", b"\xEF\xBB\xBFHeadline\r\nBody");
        let c = read(&[t.path()]);
        let d = doc(&c, &t.show("bom.txt"));
        assert_eq!(d.text, "Headline\r\nBody");
        assert_eq!(d.status, "decoded");
        assert_eq!(d.encoding.as_deref(), Some("utf-8 with BOM"));
        assert_eq!(
            read_bytes_as_text(b"\xEF\xBB\xBF\xA0caf\xe9")
                .unwrap()
                .1
                .as_deref(),
            Some("windows-1252 (after a UTF-8 byte order mark, removed)")
        );
        assert_eq!(
            read_bytes_as_text(b"\xEF\xBB\xBF  ").unwrap_err(),
            "empty after trimming"
        );
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let s = "Ünïcode “text”\r\n𝄞 end";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            le.extend(u.to_le_bytes());
            be.extend(u.to_be_bytes());
        }
        assert_eq!(
            read_bytes_as_text(&le).unwrap(),
            (s.to_string(), Some("utf-16le".to_string()))
        );
        assert_eq!(
            read_bytes_as_text(&be).unwrap(),
            (s.to_string(), Some("utf-16be".to_string()))
        );
        // An odd trailing byte and an unpaired surrogate.
        let mut bad = le.clone();
        bad.extend([0x00, 0xD8, b'a', 0x00, 0x41]);
        let (text, note) = read_bytes_as_text(&bad).unwrap();
        assert!(text.starts_with(s));
        assert!(text.ends_with("\u{FFFD}a\u{FFFD}"));
        assert_eq!(
            note.as_deref(),
            Some("utf-16le, 2 invalid code units replaced by U+FFFD")
        );
        // UTF-16 holding binary data is still binary.
        let mut bin = vec![0xFF, 0xFE];
        bin.extend([1u8, 0].repeat(10));
        assert_eq!(
            read_bytes_as_text(&bin).unwrap_err(),
            "not text: 100% control characters"
        );
    }

    #[test]
    fn crlf_is_kept_and_offsets_are_file_offsets() {
        let t = TempDir::new("crlf");
        let bytes = b"Line one.\r\nLine two.\r\n";
        t.write("crlf.txt", bytes);
        let c = read(&[t.path()]);
        let d = doc(&c, &t.show("crlf.txt"));
        assert_eq!(d.text.as_bytes(), bytes);
        assert_eq!(d.status, "ok");
        assert_eq!(d.encoding, None);
        assert_eq!(d.bytes, bytes.len());
    }

    #[test]
    fn files_over_the_size_limit_are_skipped() {
        let t = TempDir::new("large");
        t.write("big.txt", "x".repeat(200));
        t.write("small.txt", "x".repeat(100));
        // A manifest may be sixteen times an article's limit.
        let outlet = "o".repeat(1000);
        t.write(
            "manifest.csv",
            format!("file,outlet,published,url\nsmall.txt,{outlet},,\n"),
        );
        t.write(
            "sub/manifest.csv",
            format!(
                "file,outlet,published,url\nsub.txt,{}o,,\n",
                "o".repeat(1600)
            ),
        );
        t.write("sub/sub.txt", "z".repeat(10));
        let mut jsonl = String::new();
        for i in 0..5 {
            jsonl.push_str(&format!("{{\"id\": \"r{i}\", \"text\": \"short text\"}}\n"));
        }
        jsonl.push_str(&format!(
            "{{\"id\": \"long\", \"text\": \"{}\"}}\n",
            "y".repeat(300)
        ));
        jsonl.push_str("{\"id\": \"after\", \"text\": \"still read\"}\n");
        t.write("feed.jsonl", &jsonl);
        let options = ReadOptions {
            max_file_bytes: 100,
            ..ReadOptions::default()
        };
        let c = read_with(&[t.path()], &options);
        let r = reason(&c, &t.show("big.txt"));
        assert_eq!(
            r,
            "file too large: 200 bytes (200 bytes), over the limit of 100 bytes; raise it with --max-file-bytes"
        );
        assert_eq!(
            doc(&c, &t.show("small.txt")).outlet.as_deref(),
            Some(outlet.as_str())
        );
        assert_eq!(doc(&c, &t.show("sub/sub.txt")).outlet, None);
        let r = reason(&c, &t.show("sub/manifest.csv"));
        assert!(
            r.starts_with("not used as a manifest: file too large: "),
            "{r}"
        );
        // The JSON Lines file is larger than the limit but is streamed.
        let feed = t.show("feed.jsonl");
        assert_eq!(
            c.documents
                .iter()
                .filter(|d| d.path.starts_with(&feed))
                .count(),
            6
        );
        let r = reason(&c, &format!("{feed}:6"));
        assert!(r.starts_with("line 6: too large: "), "{r}");
        assert!(r.contains("--max-file-bytes"), "{r}");
        doc(&c, &format!("{feed}:7"));
        assert_eq!(
            too_large(Some(70 * 1024 * 1024 + 300_000), 64 << 20, "file"),
            "file too large: 70.3 MiB (73700320 bytes), over the limit of 64 MiB; raise it with --max-file-bytes"
        );
    }

    #[test]
    fn json_lines_records_good_and_bad() {
        let t = TempDir::new("jsonl");
        let lines = [
            r#"{"id": "a1", "text": "First story.", "outlet": "AP", "published": "2011-10-25", "url": "https://x/1", "title": "One", "extra": [1, 2]}"#,
            "",
            r#"{"id": 42, "text": "Numbered id."}"#,
            r#"{"id": "a3", "text": "Broken"#,
            r#"[1, 2, 3]"#,
            r#"{"id": "a5"}"#,
            r#"{"text": "no id"}"#,
            r#"{"id": "a7", "text": 7}"#,
            r#"{"id": true, "text": "bool id"}"#,
            "   \t",
            r#"{"id": "a10", "text": "   "}"#,
            r#"{"id": "a11", "text": "Bad date.", "published": "last Tuesday", "outlet": 5}"#,
            r#"{"id": "a12", "text": "Time.", "published": "2011-10-25T14:30:00+05:00", "outlet": null}"#,
            r#"{"id": "", "text": "empty id"}"#,
        ];
        t.write("feed.jsonl", lines.join("\r\n") + "\r\n");
        let c = read(&[t.path()]);
        let f = t.show("feed.jsonl");
        let at = |n: usize| format!("{f}:{n}");

        let d = doc(&c, &at(1));
        assert_eq!(d.id, "a1");
        assert_eq!(d.text, "First story.");
        assert_eq!(d.outlet.as_deref(), Some("AP"));
        assert_eq!(d.published.as_deref(), Some("2011-10-25"));
        assert_eq!(d.url.as_deref(), Some("https://x/1"));
        assert_eq!(d.title.as_deref(), Some("One"));
        assert_eq!(d.status, "ok");
        assert_eq!(doc(&c, &at(3)).id, "42");
        assert!(reason(&c, &at(4)).starts_with("line 4: expected a JSON object: EOF"));
        assert_eq!(
            reason(&c, &at(5)),
            "line 5: expected a JSON object, found an array"
        );
        assert_eq!(reason(&c, &at(6)), "line 6: missing \"text\"");
        assert_eq!(reason(&c, &at(7)), "line 7: missing \"id\"");
        assert_eq!(
            reason(&c, &at(8)),
            "line 8: \"text\" must be a string, found a number"
        );
        assert_eq!(
            reason(&c, &at(9)),
            "line 9: \"id\" must be a string or a number, found a boolean"
        );
        assert_eq!(
            reason(&c, &at(11)),
            "line 11: \"text\" is empty after trimming"
        );
        let d = doc(&c, &at(12));
        assert_eq!(d.published, None);
        assert_eq!(d.outlet, None);
        assert_eq!(
            c.warnings,
            [
                format!("{f}:12: \"outlet\" is a number, not a string; ignored"),
                format!(
                    "{f}:12: published \"last Tuesday\" is not YYYY-MM-DD or an ISO 8601 date-time; date dropped"
                ),
            ]
        );
        assert_eq!(
            doc(&c, &at(13)).published.as_deref(),
            Some("2011-10-25T14:30:00+05:00")
        );
        assert_eq!(reason(&c, &at(14)), "line 14: \"id\" is empty");
        // Blank lines are neither documents nor skipped.
        assert_eq!(c.documents.len() + c.skipped.len(), 12);
        assert!(
            !c.skipped
                .iter()
                .any(|s| s.path == at(2) || s.path == at(10))
        );
        // Line order, not string order.
        let paths: Vec<&str> = c.documents.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, [at(1), at(3), at(12), at(13)]);
        assert_accounted(t.path(), &c, &[]);
    }

    #[test]
    fn json_lines_odd_files() {
        let t = TempDir::new("jsonl-odd");
        t.write("a_empty.jsonl", "\n \n");
        t.write(
            "b_bom.jsonl",
            b"\xEF\xBB\xBF{\"id\": \"b\", \"text\": \"BOM first\"}",
        );
        t.write("c_latin.jsonl", b"{\"id\": \"c\", \"text\": \"caf\xe9\"}\n");
        t.write("d_utf16.jsonl", b"\xFF\xFE{\0}\0");
        let c = read(&[t.path()]);
        assert_eq!(
            reason(&c, &t.show("a_empty.jsonl")),
            "empty after trimming: no JSON Lines records"
        );
        assert_eq!(
            doc(&c, &format!("{}:1", t.show("b_bom.jsonl"))).text,
            "BOM first"
        );
        let d = doc(&c, &format!("{}:1", t.show("c_latin.jsonl")));
        assert_eq!(d.text, "café");
        assert_eq!(d.status, "decoded");
        assert_eq!(d.encoding.as_deref(), Some("windows-1252"));
        assert!(reason(&c, &t.show("d_utf16.jsonl")).starts_with("UTF-16 JSON Lines"));
        assert_accounted(t.path(), &c, &[]);
    }

    #[test]
    fn parse_jsonl_line_directly() {
        let (d, w) = parse_jsonl_line(r#"{"id": 1.5, "text": "x", "url": ""}"#).unwrap();
        assert_eq!(d.id, "1.5");
        assert_eq!(d.path, "1.5");
        assert_eq!(d.url, None);
        assert!(w.is_empty());
        assert!(
            parse_jsonl_line("")
                .unwrap_err()
                .starts_with("expected a JSON object")
        );
        assert_eq!(
            parse_jsonl_line("\"text\"").unwrap_err(),
            "expected a JSON object, found a string"
        );
        let deep = "[".repeat(10_000);
        assert!(parse_jsonl_line(&deep).is_err());
    }

    #[test]
    fn duplicate_ids_keep_the_first() {
        let t = TempDir::new("dup");
        t.write("a/story.txt", "first");
        t.write("b/story.txt", "second");
        t.write("c.jsonl", "{\"id\": \"story\", \"text\": \"third\"}\n{\"id\": \"x\", \"text\": \"1\"}\n{\"id\": \"x\", \"text\": \"2\"}\n");
        let c = read(&[t.path()]);
        let first = t.show("a/story.txt");
        assert_eq!(doc(&c, &first).text, "first");
        assert_eq!(
            reason(&c, &t.show("b/story.txt")),
            format!("duplicate id story (first read from {first})")
        );
        let cj = t.show("c.jsonl");
        assert_eq!(
            reason(&c, &format!("{cj}:1")),
            format!("duplicate id story (first read from {first})")
        );
        assert_eq!(
            reason(&c, &format!("{cj}:3")),
            format!("duplicate id x (first read from {cj}:2)")
        );
        assert_accounted(t.path(), &c, &[]);
    }

    #[test]
    fn other_extensions_in_folders_are_skipped_but_explicit_files_are_read() {
        let t = TempDir::new("ext");
        t.write("dir/notes.md", "# heading");
        t.write("dir/UPPER.TXT", "upper case extension");
        t.write("dir/.DS_Store", b"\0\0\0\x01Bud1\0\0");
        let md = t.write("story.md", "An explicit markdown story.");
        let readme = t.write("README", "No extension at all.");
        let bin = t.write("image.bin", b"\x89PNG\r\n\x1a\n\0\0");
        let dir = t.path().join("dir");
        let c = read(&[&dir, &md, &readme, &bin]);
        assert_eq!(
            reason(&c, &t.show("dir/notes.md")),
            "not a .txt or .jsonl file"
        );
        assert_eq!(
            reason(&c, &t.show("dir/.DS_Store")),
            "not a .txt or .jsonl file"
        );
        assert_eq!(doc(&c, &t.show("dir/UPPER.TXT")).id, "UPPER");
        let d = doc(&c, &md.display().to_string());
        assert_eq!(d.id, "story");
        assert_eq!(d.text, "An explicit markdown story.");
        assert_eq!(doc(&c, &readme.display().to_string()).id, "README");
        assert_eq!(
            reason(&c, &bin.display().to_string()),
            "not text: looks like a PNG image"
        );
        assert_accounted(t.path(), &c, &[]);
    }

    #[test]
    fn output_follows_argument_order_then_sorted_names() {
        let t = TempDir::new("order");
        t.write("z/b.txt", "b");
        t.write("z/a.txt", "a");
        t.write("z/sub/c.txt", "c");
        let first = t.write("m.txt", "m");
        let z = t.path().join("z");
        let c = read(&[&first, &z]);
        let ids: Vec<&str> = c.documents.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["m", "a", "b", "c"]);
        assert_eq!(c.documents[1].path, t.show("z/a.txt"));
        assert_eq!(c.documents[3].path, t.show("z/sub/c.txt"));
        // Same result twice (parallel reading is deterministic).
        let again = read(&[&first, &z]);
        let ids2: Vec<&str> = again.documents.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ids2);
    }

    #[test]
    fn hidden_folders_are_listed_not_scanned() {
        let t = TempDir::new("hidden");
        t.write(".git/HEAD", "ref: refs/heads/main");
        t.write(".hidden.txt", "hidden file is read");
        let c = read(&[t.path()]);
        assert_eq!(reason(&c, &t.show(".git")), "hidden folder, not scanned");
        assert_eq!(doc(&c, &t.show(".hidden.txt")).id, ".hidden");
        assert_accounted(t.path(), &c, &[]);
    }

    #[test]
    fn folder_manifest_gives_metadata() {
        let t = TempDir::new("manifest");
        t.write("a.txt", "alpha");
        t.write("b.txt", "beta");
        t.write("sub/c.txt", "gamma");
        t.write("sub/d.txt", "delta");
        t.write("zother/c.txt", "other gamma");
        t.write("feed.jsonl", "{\"id\": \"j\", \"text\": \"json\"}\n");
        t.write(
            "manifest.csv",
            "\u{feff}file,outlet,published,url,notes\r\n\
             a.txt,\"Smith, Jones & Co\",2011-10-25,https://a,ignored\r\n\
             b.txt,\"The \"\"Daily\"\" Planet\",Oct 25 2011\r\n\
             \r\n\
             sub/c.txt,\"Multi\r\nline\",2012-02-29T10:00Z,,\r\n\
             ./sub\\d.txt,Delta Times\r\n\
             missing.txt,Nobody,,\r\n\
             ,No file,,\r\n\
             a.txt,Again,,\r\n",
        );
        let c = read(&[t.path()]);
        let m = t.show("manifest.csv");
        let a = doc(&c, &t.show("a.txt"));
        assert_eq!(a.outlet.as_deref(), Some("Smith, Jones & Co"));
        assert_eq!(a.published.as_deref(), Some("2011-10-25"));
        assert_eq!(a.url.as_deref(), Some("https://a"));
        let b = doc(&c, &t.show("b.txt"));
        assert_eq!(b.outlet.as_deref(), Some("The \"Daily\" Planet"));
        assert_eq!(b.published, None);
        assert_eq!(b.url, None);
        let sc = doc(&c, &t.show("sub/c.txt"));
        assert_eq!(sc.outlet.as_deref(), Some("Multi\r\nline"));
        assert_eq!(sc.published.as_deref(), Some("2012-02-29T10:00Z"));
        assert_eq!(
            doc(&c, &t.show("sub/d.txt")).outlet.as_deref(),
            Some("Delta Times")
        );
        // zother/c.txt has the same id as sub/c.txt, read first: a duplicate.
        assert!(reason(&c, &t.show("zother/c.txt")).starts_with("duplicate id c"));
        assert_eq!(doc(&c, &format!("{}:1", t.show("feed.jsonl"))).outlet, None);
        assert_eq!(
            c.warnings,
            [
                format!(
                    "{m} line 3: published \"Oct 25 2011\" is not YYYY-MM-DD or an ISO 8601 date-time; date dropped"
                ),
                format!("{m} line 9: no file name; row ignored"),
                format!("{m} line 10: a.txt is already listed on line 2; this row is ignored"),
                format!("{m} line 8: no such file among the inputs: missing.txt"),
            ]
        );
        assert_accounted(t.path(), &c, &[t.path().join("manifest.csv")]);
    }

    #[test]
    fn nearer_manifests_and_the_explicit_manifest_win() {
        let t = TempDir::new("manifest-nest");
        t.write(
            "corpus/manifest.csv",
            "file,outlet\na.txt,Outer A\nb.txt,Outer B\nc.txt,Outer C\n",
        );
        t.write("corpus/a.txt", "a");
        t.write("corpus/inner/manifest.csv", "outlet,file\nInner B,b.txt\n");
        t.write("corpus/inner/b.txt", "b");
        t.write("corpus/inner/c.txt", "c");
        let corpus = t.path().join("corpus");
        let c = read(&[&corpus]);
        assert_eq!(doc(&c, &t.show("corpus/a.txt")).label(), "Outer A");
        assert_eq!(doc(&c, &t.show("corpus/inner/b.txt")).label(), "Inner B");
        assert_eq!(doc(&c, &t.show("corpus/inner/c.txt")).label(), "Outer C");
        // Outer B matched a file (it was overridden), so no warning.
        assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
        assert_accounted(
            &corpus,
            &c,
            &[
                corpus.join("manifest.csv"),
                corpus.join("inner/manifest.csv"),
            ],
        );

        // An explicit manifest wins, even over nearer ones; its rows may be
        // paths; it is not read as an input when it lies in the folder.
        let explicit = t.write(
            "corpus/meta.csv",
            "file,outlet,published\ninner/b.txt,Explicit B,2020-01-01\nzzz.txt,Z,\n",
        );
        let extra = t.write("loose.txt", "loose");
        let options = ReadOptions {
            manifest: Some(explicit.clone()),
            ..ReadOptions::default()
        };
        let c = read_with(&[&corpus, &extra], &options);
        let b = doc(&c, &t.show("corpus/inner/b.txt"));
        assert_eq!(b.label(), "Explicit B");
        assert_eq!(b.published.as_deref(), Some("2020-01-01"));
        assert_eq!(doc(&c, &t.show("corpus/inner/c.txt")).label(), "Outer C");
        assert_eq!(doc(&c, &extra.display().to_string()).label(), "loose");
        assert_eq!(
            c.warnings,
            [format!(
                "{} line 3: no such file among the inputs: zzz.txt",
                explicit.display()
            )]
        );
        assert_accounted(
            &corpus,
            &c,
            &[
                corpus.join("manifest.csv"),
                corpus.join("inner/manifest.csv"),
                explicit.clone(),
            ],
        );
    }

    #[test]
    fn bad_manifests() {
        let t = TempDir::new("manifest-bad");
        t.write("corpus/manifest.csv", "name,outlet\na.txt,A\n");
        t.write("corpus/a.txt", "a");
        let corpus = t.path().join("corpus");
        let c = read(&[&corpus]);
        assert_eq!(
            reason(&c, &t.show("corpus/manifest.csv")),
            "not used as a manifest: its header row has no \"file\" column"
        );
        assert_eq!(doc(&c, &t.show("corpus/a.txt")).outlet, None);
        assert_accounted(&corpus, &c, &[]);

        let paths = vec![corpus.clone()];
        for (manifest, expected) in [
            (t.path().join("nope.csv"), "cannot read manifest: "),
            (
                corpus.join("manifest.csv"),
                "cannot use manifest: its header row",
            ),
            (corpus.clone(), "--manifest must be a CSV file"),
        ] {
            let options = ReadOptions {
                manifest: Some(manifest),
                ..ReadOptions::default()
            };
            match read_corpus(&paths, &options) {
                Err(Error::Input { message, .. }) => {
                    assert!(message.starts_with(expected), "{message}")
                }
                other => panic!("expected an input error, got {other:?}"),
            }
        }
    }

    #[test]
    fn csv_parser() {
        let recs = parse_csv("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\r\n\"multi\nline\",2\n\nlast");
        let fields: Vec<Vec<&str>> = recs
            .iter()
            .map(|r| r.fields.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            fields,
            [
                vec!["a", "b", "c"],
                vec!["x, y", "say \"hi\"", ""],
                vec!["multi\nline", "2"],
                vec!["last"],
            ]
        );
        let lines: Vec<usize> = recs.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 3, 6]);
        // Lenient on malformed input.
        let recs = parse_csv("\"unterminated,x\nmore");
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].fields, ["unterminated,x\nmore"]);
        let recs = parse_csv("\"ab\"cd,e\r");
        assert_eq!(recs[0].fields, ["abcd", "e"]);
        assert_eq!(parse_csv(""), []);
        assert_eq!(parse_csv(",")[0].fields, ["", ""]);
    }

    #[test]
    fn date_validation() {
        for ok in [
            "2011-10-25",
            "2012-02-29",
            "2000-02-29",
            "2011-10-25T14:30",
            "2011-10-25T14:30:05",
            "2011-10-25 14:30:05.123",
            "2011-10-25T14:30:05Z",
            "2011-10-25T14:30:05+05:30",
            "2011-10-25T14:30:05-0800",
            "2011-10-25T14:30+01",
        ] {
            assert!(is_valid_date(ok), "{ok}");
        }
        for bad in [
            "",
            "2011",
            "2011-10",
            "25/10/2011",
            "20111025",
            "2011-13-01",
            "2011-02-29",
            "1900-02-29",
            "2011-04-31",
            "2011-10-25T",
            "2011-10-25T24:00",
            "2011-10-25T14:3",
            "2011-10-25T14:30:05.",
            "2011-10-25T14:30:05+5",
            "2011-10-25T14:30:05ZZ",
            "2011-10-25x",
            "２０１１-10-25",
            "Oct 25, 2011",
        ] {
            assert!(!is_valid_date(bad), "{bad}");
        }
    }

    #[test]
    fn size_formatting() {
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(1000), "1000 bytes");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(64 << 20), "64 MiB");
        assert_eq!(format_size(3 << 30), "3 GiB");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_loops_and_repeats() {
        use std::os::unix::fs::symlink;
        let t = TempDir::new("symlink");
        t.write("root/a.txt", "a");
        t.write("root/sub/b.txt", "b");
        t.write("elsewhere/e.txt", "e");
        let root = t.path().join("root");
        symlink(&root, root.join("sub/loop")).unwrap();
        symlink(t.path().join("root/sub"), root.join("sub2")).unwrap();
        symlink(t.path().join("elsewhere"), root.join("linked")).unwrap();
        symlink(t.path().join("nothing.txt"), root.join("dangling.txt")).unwrap();
        symlink(root.join("a.txt"), root.join("z_alias.txt")).unwrap();
        let a = root.join("a.txt");
        let c = read(&[&root, &a]);
        assert_eq!(
            reason(&c, &t.show("root/sub/loop")),
            format!("symlink loop: leads back to {}", root.display())
        );
        assert_eq!(
            reason(&c, &t.show("root/sub2")),
            format!("same folder as {} (read already)", t.show("root/sub"))
        );
        doc(&c, &t.show("root/linked/e.txt"));
        assert!(
            reason(&c, &t.show("root/dangling.txt")).starts_with("broken symbolic link: "),
            "{:#?}",
            c.skipped
        );
        assert_eq!(
            reason(&c, &t.show("root/z_alias.txt")),
            format!("same file as {} (listed already)", t.show("root/a.txt"))
        );
        // The same file named again on the command line.
        let again: Vec<_> = c
            .skipped
            .iter()
            .filter(|s| s.path == t.show("root/a.txt"))
            .collect();
        assert_eq!(again.len(), 1);
        assert_eq!(c.documents.len(), 3);
        assert_accounted(&root, &c, &[]);
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_files_are_skipped_with_the_os_error() {
        use std::os::unix::fs::PermissionsExt;
        let t = TempDir::new("perm");
        let secret = t.write("secret.txt", "secret");
        t.write("locked/inside.txt", "inside");
        let locked = t.path().join("locked");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let c = read(&[t.path()]);
        let enforced = File::open(&secret).is_err();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        if enforced {
            // Not when running as root, who may read anything.
            assert!(reason(&c, &t.show("secret.txt")).contains("ermission denied"));
            assert!(reason(&c, &t.show("locked")).starts_with("cannot read folder: "));
        } else {
            doc(&c, &t.show("secret.txt"));
            doc(&c, &t.show("locked/inside.txt"));
        }
        // The reason names the OS error for any file that cannot be opened.
        let item = read_text_file(
            &t.path().join("gone.txt"),
            "gone.txt",
            "gone",
            &Meta::default(),
            100,
            &|_: &mut Document| (),
        );
        match item {
            Item::Skip(s) => assert!(s.reason.starts_with("cannot open: No such file")),
            _ => panic!("expected a skip"),
        }
    }

    #[test]
    fn every_case_in_one_folder_is_accounted_for() {
        let t = TempDir::new("all");
        t.write("empty.txt", "");
        t.write("blank.txt", "\n\n");
        t.write("binary.txt", [7u8; 50]);
        t.write("latin.txt", b"na\xefve");
        t.write("bom.txt", b"\xEF\xBB\xBFbom");
        t.write("utf16.txt", b"\xFF\xFEh\0i\0");
        t.write("crlf.txt", "a\r\nb\r\n");
        t.write("big.txt", "x".repeat(5000));
        t.write("nul.txt", "clean text ".repeat(100) + "\0");
        t.write("image.png", b"\x89PNG");
        t.write("notes.md", "notes");
        t.write("nested/deeper/story.txt", "story");
        t.write(
            "feed.jsonl",
            "{\"id\":\"f1\",\"text\":\"ok\"}\nnot json\n\n{\"id\":\"f2\"}\n",
        );
        t.write(
            "manifest.csv",
            "file,outlet\nstory.txt,Deep Outlet\nghost.txt,Ghost\n",
        );
        let options = ReadOptions {
            max_file_bytes: 4096,
            ..ReadOptions::default()
        };
        let c = read_with(&[t.path()], &options);
        assert_accounted(t.path(), &c, &[t.path().join("manifest.csv")]);
        assert_eq!(
            doc(&c, &t.show("nested/deeper/story.txt")).label(),
            "Deep Outlet"
        );
        assert_eq!(c.warnings.len(), 1, "{:#?}", c.warnings);
        let ids: BTreeSet<&str> = c.documents.iter().map(|d| d.id.as_str()).collect();
        let expected: BTreeSet<&str> =
            ["latin", "bom", "utf16", "crlf", "nul", "story", "f1"].into();
        assert_eq!(ids, expected);
        for d in &c.documents {
            assert_eq!(d.bytes, d.text.len());
            assert_eq!(d.status == "ok", d.encoding.is_none(), "{d:?}");
        }
    }

    #[test]
    fn jsonl_blocks_of_any_size_read_alike() {
        let dir = std::env::temp_dir().join(format!("wiretrace-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.jsonl");
        let mut body = String::from("\u{feff}");
        for i in 0..40 {
            match i % 7 {
                0 => body.push_str("\r\n"),
                1 => body.push_str(&format!(
                    "{{\"id\": \"{i}\", \"text\": \"{}\"}}\n",
                    "long ".repeat(30)
                )),
                2 => body.push_str("not json\n"),
                3 => body.push_str(&format!(
                    "{{\"id\": {i}, \"text\": \"t {i}\", \"outlet\": 5}}\r\n"
                )),
                _ => body.push_str(&format!("{{\"id\": \"d{i}\", \"text\": \"text {i}\"}}\n")),
            }
        }
        body.push_str("{\"id\": \"last\", \"text\": \"no line ending\"}");
        std::fs::write(&path, &body).unwrap();
        let show = |items: Vec<Vec<Item<()>>>| -> Vec<String> {
            items
                .into_iter()
                .flatten()
                .map(|i| match i {
                    Item::Doc(d, ()) => format!("doc {} {} {:?}", d.id, d.path, d.text),
                    Item::Skip(s) => format!("skip {} {}", s.path, s.reason),
                    Item::Warn(w) => format!("warn {w}"),
                })
                .collect()
        };
        for max in [1 << 20, 100] {
            let whole = show(read_jsonl_blocks(
                &path,
                "x",
                max,
                1 << 20,
                &|_: &mut Document| (),
            ));
            assert!(
                whole.iter().any(|l| l.starts_with("doc last x:41")),
                "{whole:?}"
            );
            assert!(
                whole.iter().any(|l| l.starts_with("skip x:3 line 3:")),
                "{whole:?}"
            );
            for block in [1, 2, 3, 7, 64, 150, 1000] {
                assert_eq!(
                    show(read_jsonl_blocks(
                        &path,
                        "x",
                        max,
                        block,
                        &|_: &mut Document| ()
                    )),
                    whole,
                    "block {block}, max {max}"
                );
            }
        }
        // A pipe's size reads as 0: it is read to its end all the same.
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let whole = show(read_jsonl_blocks(
                &path,
                "x",
                1 << 20,
                1 << 20,
                &|_: &mut Document| (),
            ));
            for block in [7, 1000, 1 << 20] {
                let pipe = dir.join(format!("pipe{block}.jsonl"));
                let name = std::ffi::CString::new(pipe.as_os_str().as_bytes()).unwrap();
                // SAFETY: `name` is a NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
                let writer = {
                    let (pipe, body) = (pipe.clone(), body.clone());
                    std::thread::spawn(move || std::fs::write(pipe, body).unwrap())
                };
                let got = show(read_jsonl_blocks(
                    &pipe,
                    "x",
                    1 << 20,
                    block,
                    &|_: &mut Document| (),
                ));
                writer.join().unwrap();
                assert_eq!(got, whole, "pipe, block {block}");
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #[test]
        fn read_bytes_as_text_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok((text, note)) = read_bytes_as_text(&bytes) {
                proptest::prop_assert!(!text.trim().is_empty());
                proptest::prop_assert!(!text.contains('\0'));
                if note.is_none() {
                    proptest::prop_assert_eq!(text.as_bytes(), &bytes[..]);
                }
            }
        }

        #[test]
        fn parse_jsonl_line_never_panics(line in "\\PC{0,80}") {
            let _ = parse_jsonl_line(&line);
        }

        #[test]
        fn parse_jsonl_line_on_json_shaped_input(
            id in "[a-z0-9\"{}\\[\\]:, ]{0,10}",
            text in "[a-z \"{}\\\\]{0,20}",
        ) {
            let _ = parse_jsonl_line(&format!("{{\"id\": {id}, \"text\": \"{text}\"}}"));
        }

        #[test]
        fn fast_record_path_agrees_with_general_path(
            fields in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "id", "text", "outlet", "published", "url", "title", "other", "te\\u0078t",
                    ]),
                    proptest::strategy::Union::new(vec![
                        proptest::sample::select(vec![
                            "null", "\"\"", "\" \"", "\"a\"", "\"x y\\nz\"", "\"2020-01-02\"",
                            "\"yesterday\"", "7", "true", "false", "[]", "{}", "\"\\u00e9t\\u00e9\"",
                            "-0.5E+3", "01", "1.", "-", "1e", "nul", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
                            "\"\\ude00\\ud83d\"", "\"\\ude00\"", "\"\\u0041\"", "\"\\u00G0\"", "\"\\x\"", "\"a\tb\"", "\"a",
                        ]).prop_map(String::from).boxed(),
                        // Any string body: escapes valid or not, quotes,
                        // control characters, non-ASCII.
                        "[a-z\\\\\"/bfnrtu0-9A-F\u{1}\u{e9}\u{1F600} ]{0,14}"
                            .prop_map(|body| format!("\"{body}\"")).boxed(),
                    ]),
                ),
                0..8,
            ),
            comma in proptest::sample::select(vec![", ", ",", " ,\t", " ", ",,"]),
            colon in proptest::sample::select(vec![": ", ":", " :\r\n "]),
            end in proptest::sample::select(vec!["}", " } ", "}\t", "} x", "", ",}", "}}"]),
        ) {
            let body: Vec<String> =
                fields.iter().map(|(k, v)| format!("\"{k}\"{colon}{v}")).collect();
            let line = format!("{{{}{end}", body.join(comma));
            let fast = parse_jsonl_line(&line).map(|(d, w)| (format!("{d:?}"), w));
            let general = parse_jsonl_general(&line).map(|(d, w)| (format!("{d:?}"), w));
            proptest::prop_assert_eq!(fast, general, "{}", line);
        }

        #[test]
        fn csv_and_dates_never_panic(s in "[a-z0-9,\"\r\n :T+Z.-]{0,60}") {
            let _ = parse_csv(&s);
            let _ = is_valid_date(&s);
        }
    }
}
