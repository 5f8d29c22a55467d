//! A persistent index of articles, for newsrooms that add stories as they
//! come and check each new one against the archive.
//!
//! The index is one [redb] file, `DIR/wiretrace.redb`, with these tables:
//!
//! | table | key → value |
//! |---|---|
//! | `documents` | id → JSON of a [`StoredDocument`] (metadata, text, text hash) |
//! | `numbers` | document number (u32) → id |
//! | `bands` | band key (u64) → document numbers (multimap) |
//! | `fingerprints` | normalized-token fingerprint (u64) → document numbers (multimap) |
//! | `outlets` | outlet → number of documents |
//! | `df_log` | commit number → the distinct shingles of the documents it added (global, then per outlet) |
//! | `df_sketch` | chunk → a checkpoint of the document-frequency sketches |
//! | `meta` | `"bytes"` → total text bytes, `"format"` → table layout version, `"generation"` → commits so far, `"sketch_generation"` → commit of the checkpoint, `"log_bytes"` → log size since, `"outlet_sketch_bits"` → row bits of the outlet sketch (absent: 22), `"outlet_increments"` → increments it has counted |
//!
//! Document frequencies (in all documents, and per outlet) are count-min
//! sketches laid out as the scan's [`crate::DfSketch`], so the index counts
//! as a scan does, except that the outlet rule only applies to shingles
//! found in at least the outlet's cut-off of documents in all (a per-outlet count
//! above the global one is a collision in the outlet sketch). Each commit
//! appends its increments to `df_log`; when the log passes 64 MiB, a commit
//! also writes both sketches (32 MiB, more once the outlet sketch has
//! grown) to `df_sketch` and clears the log. A commit thus writes in
//! proportion to its batch, not to the index, and a process reads the
//! checkpoint once, then only the log entries it has not seen.
//!
//! The outlet sketch grows as the scan sizes its own
//! ([`crate::DfSketch::for_increments`], from 2^22 to 2^26 counters a row,
//! about one per 16 increments): the commit whose increments call for
//! larger rows enlarges them, each counter copied to the slots that share
//! its low bits (counts stay upper bounds, and later increments spread
//! over more counters), and writes a checkpoint. Right after growing, the
//! copied counts carry the old rows' load (about 16 a counter), twice what
//! a scan of the same documents would have in its rows; later increments
//! dilute it (1.5 times the scan's by the next growth).
//!
//! Band keys are the windowed MinHash band keys of [`crate::scan`]
//! (`Settings::default().window` and `.banding`), computed with
//! [`crate::window_band_keys`] over the document's seeds: its shingles
//! found in at most `Settings::max_df_for(n)` documents (the larger of 50
//! and 0.1% of them) and in fewer than `Settings::outlet_df_for` documents
//! of its own outlet (that outlet's boilerplate: the larger of
//! `Settings::max_outlet_df`, 20 by default, and 0.1% of the outlet's
//! documents), as in a scan.
//!
//! A check applies both cut-offs with the current counts (the checked
//! articles counted in), to the band keys it queries and to the seeds of
//! every document it aligns, so the passages it finds between an article
//! and an archived document are those a scan of the archive plus the
//! articles would find for that pair. What differs from a scan is which
//! pairs are compared (articles only with archived documents, not the
//! archived documents with each other), and that stored band keys were
//! computed with the counts *at the time of the add* and are not
//! recomputed when a shingle later becomes common. A shingle that becomes
//! common stops producing keys for later documents and checks; keys stored
//! before remain but are no longer queried. Buckets of more than
//! `Settings::max_bucket` documents are skipped at check time, as in a scan.
//!
//! A check's cost is proportional to its articles and their candidates,
//! not to the index: counts come from the in-memory sketches (brought up to
//! date from the log when the index has changed), candidates from key
//! lookups.
//!
//! Adds are batched: [`Index::add_batch`] writes a batch of documents in
//! one write transaction (one commit). Once it returns, the whole batch is
//! committed; a process killed mid-way leaves every batch committed before
//! and nothing of the one in progress. [`Index::add`] is a batch of one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};
use serde::{Deserialize, Serialize};

use crate::corpus::Document;
use crate::error::{Error, Result};
use crate::scan::{Report, Settings, outlet_key, scan_shingled_pairs, window_band_keys};
use crate::shingle::{DfSketch, ShingledDoc};

const DOCUMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
const NUMBERS: TableDefinition<u32, &str> = TableDefinition::new("numbers");
const BANDS: MultimapTableDefinition<u64, u32> = MultimapTableDefinition::new("bands");
const FINGERPRINTS: MultimapTableDefinition<u64, u32> =
    MultimapTableDefinition::new("fingerprints");
const OUTLETS: TableDefinition<&str, u64> = TableDefinition::new("outlets");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const DF_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("df_log");
const DF_SKETCH: TableDefinition<u32, &[u8]> = TableDefinition::new("df_sketch");

/// The layout version of the tables, kept in `meta` as `"format"`: new
/// indexes are written as 3. Format 2 had no `"outlet_sketch_bits"` (its
/// outlet sketch is always 2^22 counters a row) and is read as it is, then
/// marked 3 when its outlet sketch grows, so that an older wiretrace,
/// which would read the larger rows wrong, refuses it.
const FORMAT: u64 = 3;
/// The oldest format this wiretrace reads.
const OLDEST_FORMAT: u64 = 2;

/// The file name of the index inside its directory.
pub const INDEX_FILE: &str = "wiretrace.redb";

/// A document as stored in the index: its metadata, its text, and a hash
/// of the text to verify it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDocument {
    /// Document id (unique in the index).
    pub id: String,
    /// Internal document number (order of addition, from 0).
    pub number: u32,
    /// Where the document was read from when it was added.
    pub path: String,
    /// Outlet, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlet: Option<String>,
    /// Publication date or time, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Source URL, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headline, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Length of the text in bytes.
    pub bytes: usize,
    /// xxh3-64 of the text, as 16 hex digits.
    pub hash: String,
    /// The text.
    pub text: String,
}

impl StoredDocument {
    /// The stored document as a [`Document`] (status `"ok"`).
    pub fn to_document(&self) -> Document {
        let mut d = Document::new(self.id.clone(), self.text.clone());
        d.path = self.path.clone();
        d.outlet = self.outlet.clone();
        d.published = self.published.clone();
        d.url = self.url.clone();
        d.title = self.title.clone();
        d
    }

    /// True when `hash` is the hash of `text` and `bytes` its length.
    pub fn is_intact(&self) -> bool {
        self.hash == text_hash(&self.text) && self.bytes == self.text.len()
    }
}

/// The hash the index stores for a text: xxh3-64 as 16 hex digits.
pub fn text_hash(text: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

/// What [`Index::add`] did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddOutcome {
    /// The document was new and is now committed.
    Added,
    /// A document with this id and the same text was already there.
    AlreadyIndexed,
    /// A document with this id but another text is there; nothing was written.
    Conflict,
}

/// Counts of an index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    /// Documents stored.
    pub documents: u64,
    /// Distinct outlets among them.
    pub outlets: u64,
    /// Total bytes of text.
    pub bytes: u64,
    /// Distinct band keys.
    pub band_keys: u64,
    /// Counters in each row of the per-outlet document-frequency sketch
    /// (2^22, growing with the archive up to 2^26).
    pub outlet_sketch_counters: u64,
}

/// A persistent index in one redb file. Cheap to share between threads
/// (`&Index` is `Sync`): any number of readers, one writer at a time.
pub struct Index {
    db: Database,
    path: PathBuf,
    settings: Settings,
    /// The document frequencies of the last generation read, shared by
    /// checks and brought up to date from the log.
    counts: std::sync::RwLock<Option<Arc<Counts>>>,
    /// Log bytes after which an add writes a checkpoint.
    checkpoint_bytes: u64,
    /// What one outlet increment counts for when sizing the outlet
    /// sketch: 1, more in tests that make it grow.
    increment_weight: u64,
}

/// Counters per stored chunk of a sketch (64 KiB).
const CHUNK: usize = 1 << 15;
/// Log bytes after which an add writes a checkpoint of the sketches.
const CHECKPOINT_BYTES: u64 = 64 << 20;
/// Row bits of the global sketch (fixed: its cut-off grows with the whole
/// index, far above its noise) and of an outlet sketch that has not grown
/// (indexes of format 2 never store `"outlet_sketch_bits"`).
const BASE_SKETCH_BITS: u32 = 22;

/// The document frequencies of one generation of the index: in all
/// documents, and per outlet (keyed by shingle hash ^ outlet key).
///
/// They are stored as a log of increments (`df_log`: each committed batch
/// writes the distinct shingles of its documents) and, now and then, a
/// checkpoint of both sketches (`df_sketch`), after which the log is
/// cleared. A commit thus writes in proportion to its batch, not to the
/// index; a reader loads the checkpoint once and replays the log entries
/// it has not seen.
///
/// Both are count-min sketches laid out and hashed as the scan's
/// [`crate::DfSketch`]. The global one keeps rows of 2^22 counters. The
/// per-outlet one grows as the scan sizes it
/// ([`crate::DfSketch::for_increments`]): when its increments call for
/// larger rows, an add enlarges them (every counter copied to the slots
/// that share its low bits, so counts stay upper bounds) and writes a
/// checkpoint. Counters saturate at 65,535.
#[derive(Clone)]
struct Counts {
    generation: u64,
    global: DfSketch,
    outlet: DfSketch,
    /// Increments counted in `outlet` (the sum of a row, unless saturated).
    outlet_increments: u64,
}

impl Counts {
    fn empty(outlet_bits: u32) -> Counts {
        Counts {
            generation: 0,
            global: DfSketch::with_bits(BASE_SKETCH_BITS),
            outlet: DfSketch::with_bits(outlet_bits),
            outlet_increments: 0,
        }
    }

    fn add_outlet(&mut self, key: u64) {
        self.outlet.add(key);
        self.outlet_increments += 1;
    }

    /// The outlet sketch's row bits for `increments` counted with weight
    /// `weight` (1 but in tests), never fewer than it has.
    fn outlet_bits_for(&self, weight: u64) -> u32 {
        DfSketch::bits_for(self.outlet_increments.saturating_mul(weight)).max(self.outlet.bits())
    }

    /// Apply one log entry: its global increments, then its per-outlet ones.
    fn apply(&mut self, entry: &[u8]) {
        let mut words = entry.chunks_exact(8).map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
        });
        let n_global = words.next().unwrap_or(0);
        for (i, h) in words.enumerate() {
            if (i as u64) < n_global {
                self.global.add(h);
            } else {
                self.add_outlet(h);
            }
        }
    }

    /// Encode a log entry.
    fn entry(global: &[u64], outlet: &[u64]) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * (1 + global.len() + outlet.len()));
        out.extend_from_slice(&(global.len() as u64).to_le_bytes());
        for h in global.iter().chain(outlet) {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// The stored chunks of both sketches: (chunk number, bytes).
    fn chunks(&self) -> impl Iterator<Item = (u32, Vec<u8>)> + '_ {
        self.global
            .rows()
            .iter()
            .chain(self.outlet.rows())
            .flat_map(|row| row.chunks(CHUNK))
            .enumerate()
            .map(|(i, c)| (i as u32, c.iter().flat_map(|v| v.to_le_bytes()).collect()))
    }

    /// Load a chunk written by [`Counts::chunks`]: the global rows come
    /// first, then the outlet rows (of the size this sketch already has).
    fn load_chunk(&mut self, number: u32, bytes: &[u8]) {
        let global_row = (1usize << self.global.bits()) / CHUNK;
        let outlet_row = (1usize << self.outlet.bits()) / CHUNK;
        let n = number as usize;
        let (row, at) = if n < 2 * global_row {
            (&mut self.global.rows_mut()[n / global_row], n % global_row)
        } else {
            let n = n - 2 * global_row;
            match self.outlet.rows_mut().get_mut(n / outlet_row) {
                Some(row) => (row, n % outlet_row),
                None => return,
            }
        };
        let dst = &mut row[at * CHUNK..(at + 1) * CHUNK];
        for (d, c) in dst.iter_mut().zip(bytes.chunks_exact(2)) {
            *d = u16::from_le_bytes([c[0], c[1]]);
        }
    }
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish()
    }
}

impl Index {
    /// Open the index in directory `dir`, creating the directory and an
    /// empty index if needed.
    pub fn open(dir: &Path) -> Result<Index> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Input {
            path: dir.to_path_buf(),
            message: format!("cannot create index directory: {e}"),
        })?;
        let path = dir.join(INDEX_FILE);
        let db = Database::create(&path).map_err(|e| Error::Index {
            path: path.clone(),
            message: format!("cannot open: {e}"),
        })?;
        let index = Index {
            db,
            path,
            settings: Settings::default(),
            counts: std::sync::RwLock::new(None),
            checkpoint_bytes: CHECKPOINT_BYTES,
            increment_weight: 1,
        };
        index.create_tables()?;
        Ok(index)
    }

    /// Open the index in directory `dir`, which must hold one already
    /// (an [`Error::Input`] otherwise: nothing is created).
    pub fn open_existing(dir: &Path) -> Result<Index> {
        if !dir.join(INDEX_FILE).is_file() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: format!(
                    "no index here ({INDEX_FILE} missing; `wiretrace index add` creates one)"
                ),
            });
        }
        Index::open(dir)
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::Index {
            path: self.path.clone(),
            message: format!("{what}: {e}"),
        }
    }

    fn create_tables(&self) -> Result<()> {
        let w = |e: redb::Error| self.err("creating tables", e);
        let txn = self.db.begin_write().map_err(|e| w(e.into()))?;
        {
            txn.open_table(DOCUMENTS).map_err(|e| w(e.into()))?;
            txn.open_table(NUMBERS).map_err(|e| w(e.into()))?;
            txn.open_multimap_table(BANDS).map_err(|e| w(e.into()))?;
            txn.open_multimap_table(FINGERPRINTS)
                .map_err(|e| w(e.into()))?;
            txn.open_table(OUTLETS).map_err(|e| w(e.into()))?;
            txn.open_table(META).map_err(|e| w(e.into()))?;
            txn.open_table(DF_LOG).map_err(|e| w(e.into()))?;
            txn.open_table(DF_SKETCH).map_err(|e| w(e.into()))?;
            let documents = txn
                .open_table(DOCUMENTS)
                .map_err(|e| w(e.into()))?
                .len()
                .map_err(|e| w(e.into()))?;
            let mut meta = txn.open_table(META).map_err(|e| w(e.into()))?;
            let format = meta
                .get("format")
                .map_err(|e| w(e.into()))?
                .map(|g| g.value());
            match format {
                Some(f) if (OLDEST_FORMAT..=FORMAT).contains(&f) => {}
                None if documents == 0 => {
                    meta.insert("format", FORMAT).map_err(|e| w(e.into()))?;
                }
                other => {
                    return Err(self.err(
                        "opening",
                        format!(
                            "index format {} (this wiretrace reads formats {OLDEST_FORMAT} to {FORMAT}); \
                             rebuild it: `wiretrace index export` with the old version, \
                             then `wiretrace index add` of the export",
                            other.unwrap_or(1)
                        ),
                    ));
                }
            }
        }
        txn.commit().map_err(|e| w(e.into()))
    }

    /// Add one document in one write transaction. Idempotent by id: the
    /// same id with the same text is [`AddOutcome::AlreadyIndexed`], with
    /// another text [`AddOutcome::Conflict`] (the stored text is kept).
    pub fn add(&self, doc: &Document) -> Result<AddOutcome> {
        let outcomes = self.add_batch(std::slice::from_ref(doc))?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| self.err("adding a document", "no outcome"))
    }

    /// Add `docs` in one write transaction, in order, as if each were
    /// added by [`Index::add`] in turn (a later document of the batch sees
    /// the earlier ones: same document frequencies, same id checks). Once
    /// this returns, every document of the batch is committed; a process
    /// killed before leaves none of them. Returns one outcome per document.
    /// A text moved out of memory on reading ([`Document::load_text`]) is
    /// read back, a batch at a time.
    pub fn add_batch(&self, docs: &[Document]) -> Result<Vec<AddOutcome>> {
        // Tokenizing runs before the transaction is opened, in parallel.
        let ngram = self.settings.ngram;
        let prepared: Vec<(ShingledDoc, Vec<u64>, String, String)> = docs
            .par_iter()
            .map(|d| {
                let text = d.load_text()?.into_owned();
                let sh = ShingledDoc::new(&text, ngram);
                let distinct = sh.distinct_shingles();
                let hash = text_hash(&text);
                Ok((sh, distinct, hash, text))
            })
            .collect::<Result<_>>()?;
        let w = |e: redb::Error| self.err("adding documents", e);

        let txn = self.db.begin_write().map_err(|e| w(e.into()))?;
        let mut outcomes = Vec::with_capacity(docs.len());
        let counts = {
            let mut documents = txn.open_table(DOCUMENTS).map_err(|e| w(e.into()))?;
            let mut numbers = txn.open_table(NUMBERS).map_err(|e| w(e.into()))?;
            let mut log = txn.open_table(DF_LOG).map_err(|e| w(e.into()))?;
            let mut sketch = txn.open_table(DF_SKETCH).map_err(|e| w(e.into()))?;
            let mut bands = txn.open_multimap_table(BANDS).map_err(|e| w(e.into()))?;
            let mut fps = txn
                .open_multimap_table(FINGERPRINTS)
                .map_err(|e| w(e.into()))?;
            let mut outlets = txn.open_table(OUTLETS).map_err(|e| w(e.into()))?;
            let mut meta = txn.open_table(META).map_err(|e| w(e.into()))?;
            let mut next = match numbers.last().map_err(|e| w(e.into()))? {
                Some((k, _)) => Some(k.value()).and_then(|k| k.checked_add(1)),
                None => Some(0),
            };
            let mut bytes = meta
                .get("bytes")
                .map_err(|e| w(e.into()))?
                .map(|g| g.value())
                .unwrap_or(0);
            // The counts before this batch, and the batch's increments.
            let mut counts = Arc::unwrap_or_clone(self.counts_from(&meta, &sketch, &log)?);
            let (mut inc_global, mut inc_outlet) = (Vec::new(), Vec::new());
            let mut outlet_now: BTreeMap<String, u64> = BTreeMap::new();
            for (doc, (mut sh, distinct, hash, text)) in docs.iter().zip(prepared) {
                let existing = documents
                    .get(doc.id.as_str())
                    .map_err(|e| w(e.into()))?
                    .map(|g| g.value().to_vec());
                if let Some(old) = existing {
                    let stored: StoredDocument = serde_json::from_slice(&old)
                        .map_err(|e| self.err("reading a stored document", e))?;
                    outcomes.push(if stored.hash == hash && stored.text == text {
                        AddOutcome::AlreadyIndexed
                    } else {
                        AddOutcome::Conflict
                    });
                    continue;
                }
                let number =
                    next.ok_or_else(|| self.err("adding a document", "more than 2^32 documents"))?;
                next = number.checked_add(1);
                let stored = StoredDocument {
                    id: doc.id.clone(),
                    number,
                    path: doc.path.clone(),
                    outlet: doc.outlet.clone(),
                    published: doc.published.clone(),
                    url: doc.url.clone(),
                    title: doc.title.clone(),
                    bytes: text.len(),
                    hash,
                    text,
                };
                let json =
                    serde_json::to_vec(&stored).map_err(|e| self.err("encoding a document", e))?;
                documents
                    .insert(doc.id.as_str(), json.as_slice())
                    .map_err(|e| w(e.into()))?;
                numbers
                    .insert(number, doc.id.as_str())
                    .map_err(|e| w(e.into()))?;
                // Document frequencies, this document included; seeds are
                // the shingles not too common now, in the corpus and in
                // the document's outlet.
                let max_df = self.settings.max_df_for(number as usize + 1);
                let mut common = KeySet::default();
                for &h in &distinct {
                    counts.global.add(h);
                    if counts.global.get(h) as usize > max_df {
                        common.insert(h);
                    }
                }
                inc_global.extend_from_slice(&distinct);
                // The outlet's documents, this one included.
                let mut outlet_docs = 0;
                if let Some(outlet) = &doc.outlet {
                    let n = match outlet_now.get_mut(outlet.as_str()) {
                        Some(n) => n,
                        None => {
                            let stored = outlets
                                .get(outlet.as_str())
                                .map_err(|e| w(e.into()))?
                                .map(|g| g.value());
                            outlet_now
                                .entry(outlet.clone())
                                .or_insert(stored.unwrap_or(0))
                        }
                    };
                    *n += 1;
                    outlet_docs = *n as usize;
                }
                let outlet_cutoff = self.settings.outlet_df_for(outlet_docs);
                let ok = outlet_key(doc);
                if ok != 0 {
                    for &h in &distinct {
                        let key = h ^ ok;
                        counts.add_outlet(key);
                        inc_outlet.push(key);
                        // Gated by the global count, as in a check.
                        if outlet_cutoff.is_some_and(|m| {
                            counts.global.get(h) as usize >= m
                                && counts.outlet.get(key) as usize >= m
                        }) {
                            common.insert(h);
                        }
                    }
                }
                sh.set_seeds(|h| !common.contains(&h));
                for k in window_band_keys(&sh, &self.settings) {
                    bands.insert(k, number).map_err(|e| w(e.into()))?;
                }
                if !sh.tokens.is_empty() {
                    fps.insert(fingerprint_key(&sh), number)
                        .map_err(|e| w(e.into()))?;
                }
                bytes += stored.bytes as u64;
                outcomes.push(AddOutcome::Added);
            }
            if outcomes.contains(&AddOutcome::Added) {
                // One log entry per commit; a checkpoint when the log is long.
                let generation = counts.generation + 1;
                let entry = Counts::entry(&inc_global, &inc_outlet);
                log.insert(generation, entry.as_slice())
                    .map_err(|e| w(e.into()))?;
                let mut log_bytes = meta
                    .get("log_bytes")
                    .map_err(|e| w(e.into()))?
                    .map_or(0, |g| g.value())
                    + entry.len() as u64;
                // Larger outlet rows when the increments call for them,
                // written at once: the log only replays onto rows of the
                // checkpoint's size.
                let outlet_bits = counts.outlet_bits_for(self.increment_weight);
                let grow = outlet_bits > counts.outlet.bits();
                if grow {
                    counts.outlet = counts.outlet.grown(outlet_bits);
                    meta.insert("outlet_sketch_bits", u64::from(outlet_bits))
                        .map_err(|e| w(e.into()))?;
                    meta.insert("format", FORMAT).map_err(|e| w(e.into()))?;
                }
                if grow || log_bytes >= self.checkpoint_bytes {
                    for (k, bytes) in counts.chunks() {
                        sketch
                            .insert(k, bytes.as_slice())
                            .map_err(|e| w(e.into()))?;
                    }
                    log.retain(|k, _| k > generation).map_err(|e| w(e.into()))?;
                    meta.insert("sketch_generation", generation)
                        .map_err(|e| w(e.into()))?;
                    log_bytes = 0;
                }
                meta.insert("log_bytes", log_bytes)
                    .map_err(|e| w(e.into()))?;
                meta.insert("outlet_increments", counts.outlet_increments)
                    .map_err(|e| w(e.into()))?;
                meta.insert("generation", generation)
                    .map_err(|e| w(e.into()))?;
                counts.generation = generation;
            }
            for (outlet, n) in &outlet_now {
                outlets
                    .insert(outlet.as_str(), *n)
                    .map_err(|e| w(e.into()))?;
            }
            meta.insert("bytes", bytes).map_err(|e| w(e.into()))?;
            counts
        };
        if outcomes.contains(&AddOutcome::Added) {
            txn.commit().map_err(|e| w(e.into()))?;
            if let Ok(mut cached) = self.counts.write()
                && cached
                    .as_ref()
                    .is_none_or(|c| c.generation < counts.generation)
            {
                *cached = Some(Arc::new(counts));
            }
        } else {
            txn.abort().map_err(|e| w(e.into()))?;
        }
        Ok(outcomes)
    }

    /// The stored document with this id, if any.
    pub fn get(&self, id: &str) -> Result<Option<StoredDocument>> {
        let r = |e: redb::Error| self.err("reading", e);
        let txn = self.db.begin_read().map_err(|e| r(e.into()))?;
        let documents = txn.open_table(DOCUMENTS).map_err(|e| r(e.into()))?;
        let Some(g) = documents.get(id).map_err(|e| r(e.into()))? else {
            return Ok(None);
        };
        let stored = serde_json::from_slice(g.value())
            .map_err(|e| self.err("reading a stored document", e))?;
        Ok(Some(stored))
    }

    /// Call `f` on every stored document, in id order.
    pub fn for_each(&self, mut f: impl FnMut(StoredDocument) -> Result<()>) -> Result<()> {
        let r = |e: redb::Error| self.err("reading", e);
        let txn = self.db.begin_read().map_err(|e| r(e.into()))?;
        let documents = txn.open_table(DOCUMENTS).map_err(|e| r(e.into()))?;
        for item in documents.iter().map_err(|e| r(e.into()))? {
            let (_, v) = item.map_err(|e| r(e.into()))?;
            let stored: StoredDocument = serde_json::from_slice(v.value())
                .map_err(|e| self.err("reading a stored document", e))?;
            f(stored)?;
        }
        Ok(())
    }

    /// The number of documents stored (cheap: no table is read through).
    pub fn document_count(&self) -> Result<u64> {
        let r = |e: redb::Error| self.err("reading", e);
        let txn = self.db.begin_read().map_err(|e| r(e.into()))?;
        let documents = txn.open_table(DOCUMENTS).map_err(|e| r(e.into()))?;
        documents.len().map_err(|e| r(e.into()))
    }

    /// Counts: documents, outlets, bytes, band keys (this reads the whole
    /// band table; [`Index::document_count`] does not).
    pub fn stats(&self) -> Result<IndexStats> {
        let r = |e: redb::Error| self.err("reading", e);
        let txn = self.db.begin_read().map_err(|e| r(e.into()))?;
        let documents = txn.open_table(DOCUMENTS).map_err(|e| r(e.into()))?;
        let outlets = txn.open_table(OUTLETS).map_err(|e| r(e.into()))?;
        let meta = txn.open_table(META).map_err(|e| r(e.into()))?;
        let bands = txn.open_multimap_table(BANDS).map_err(|e| r(e.into()))?;
        let mut band_keys = 0u64;
        let mut last = None;
        // Distinct keys: the multimap's len counts (key, value) pairs.
        for item in bands.iter().map_err(|e| r(e.into()))? {
            let (k, _) = item.map_err(|e| r(e.into()))?;
            let k = k.value();
            if last != Some(k) {
                band_keys += 1;
                last = Some(k);
            }
        }
        Ok(IndexStats {
            documents: documents.len().map_err(|e| r(e.into()))?,
            outlets: outlets.len().map_err(|e| r(e.into()))?,
            bytes: meta
                .get("bytes")
                .map_err(|e| r(e.into()))?
                .map(|g| g.value())
                .unwrap_or(0),
            band_keys,
            outlet_sketch_counters: 1
                << meta
                    .get("outlet_sketch_bits")
                    .map_err(|e| r(e.into()))?
                    .map_or(u64::from(BASE_SKETCH_BITS), |g| g.value())
                    .min(63),
        })
    }

    /// The counts of the generation these tables show (in a read or a
    /// write transaction): the cached ones when they are of that
    /// generation, else the cached ones brought up to date from the log,
    /// else the checkpoint and the log after it. Cached for the next caller.
    fn counts_from(
        &self,
        meta: &impl ReadableTable<&'static str, u64>,
        sketch: &impl ReadableTable<u32, &'static [u8]>,
        log: &impl ReadableTable<u64, &'static [u8]>,
    ) -> Result<Arc<Counts>> {
        let r = |e: redb::Error| self.err("reading counts", e);
        let get = |k: &str| -> Result<u64> {
            Ok(meta
                .get(k)
                .map_err(|e| r(e.into()))?
                .map_or(0, |g| g.value()))
        };
        let generation = get("generation")?;
        let checkpoint = get("sketch_generation")?;
        let outlet_bits = match get("outlet_sketch_bits")? {
            0 => BASE_SKETCH_BITS,
            b => u32::try_from(b)
                .ok()
                .filter(|b| (BASE_SKETCH_BITS..=DfSketch::bits_for(u64::MAX)).contains(b))
                .ok_or_else(|| self.err("reading counts", format!("outlet sketch of {b} bits")))?,
        };
        let cached = self
            .counts
            .read()
            .ok()
            .and_then(|c| c.clone())
            .filter(|c| c.outlet.bits() == outlet_bits);
        if let Some(c) = &cached
            && c.generation == generation
        {
            return Ok(Arc::clone(c));
        }
        let mut counts = match cached {
            Some(c) if c.generation >= checkpoint && c.generation < generation => {
                Arc::unwrap_or_clone(c)
            }
            _ => {
                let mut c = Counts::empty(outlet_bits);
                for item in sketch.iter().map_err(|e| r(e.into()))? {
                    let (k, v) = item.map_err(|e| r(e.into()))?;
                    c.load_chunk(k.value(), v.value());
                }
                c.outlet_increments = c.outlet.rows()[0].iter().map(|&n| u64::from(n)).sum();
                c.generation = checkpoint;
                c
            }
        };
        if counts.generation < generation {
            for item in log
                .range(counts.generation + 1..=generation)
                .map_err(|e| r(e.into()))?
            {
                let (_, v) = item.map_err(|e| r(e.into()))?;
                counts.apply(v.value());
            }
        }
        // The sum of a grown row counts its copied counters twice or more:
        // the writer keeps the true number (absent from format 2, whose
        // rows never grew, so the sum plus the log is right there).
        if let Some(n) = meta.get("outlet_increments").map_err(|e| r(e.into()))? {
            counts.outlet_increments = n.value();
        }
        counts.generation = generation;
        let counts = Arc::new(counts);
        if let Ok(mut cached) = self.counts.write()
            && cached.as_ref().is_none_or(|c| c.generation < generation)
        {
            *cached = Some(Arc::clone(&counts));
        }
        Ok(counts)
    }

    /// Check `articles` against the index: find candidates through the
    /// stored band keys (and exact-duplicate fingerprints), load their
    /// texts, align each article with its candidates, cluster, attribute.
    ///
    /// Seeds (of the band keys queried and of the alignment) follow the
    /// scan's rules with the current counts, the articles counted in: a
    /// shingle in more than `Settings::max_df_for(n)` documents, or in at
    /// least `Settings::outlet_df_for` documents of the outlet of the
    /// document holding it (its documents in the index and the articles),
    /// is not a seed. The work is proportional to the
    /// articles and their candidates, not to the index.
    ///
    /// The report's documents are the articles and the matched indexed
    /// documents, sorted by id (then path). Articles
    /// are compared with the archive, not with each other; an indexed
    /// document with the same id as an article is not a candidate for it.
    pub fn check(&self, articles: Vec<Document>) -> Result<Report> {
        let mut clock = Stopwatch::new();
        let r = |e: redb::Error| self.err("reading", e);
        let txn = self.db.begin_read().map_err(|e| r(e.into()))?;
        let counts = {
            let meta = txn.open_table(META).map_err(|e| r(e.into()))?;
            let sketch = txn.open_table(DF_SKETCH).map_err(|e| r(e.into()))?;
            let log = txn.open_table(DF_LOG).map_err(|e| r(e.into()))?;
            self.counts_from(&meta, &sketch, &log)?
        };
        let documents_table = txn.open_table(DOCUMENTS).map_err(|e| r(e.into()))?;
        let indexed = documents_table.len().map_err(|e| r(e.into()))?;
        let max_df = self.settings.max_df_for(indexed as usize + articles.len());

        // The articles' own contribution to the counts.
        let ngram = self.settings.ngram;
        let mut shingled: Vec<ShingledDoc> = articles
            .par_iter()
            .map(|a| ShingledDoc::new(&a.text, ngram))
            .collect();
        let mut extra_df: KeyMap = KeyMap::default();
        let mut extra_odf: KeyMap = KeyMap::default();
        for (a, sh) in articles.iter().zip(&shingled) {
            let ok = outlet_key(a);
            for h in sh.distinct_shingles() {
                *extra_df.entry(h).or_default() += 1;
                if ok != 0 {
                    *extra_odf.entry(h ^ ok).or_default() += 1;
                }
            }
        }
        // Documents of each outlet in the index and the articles, for the
        // outlet rule's cut-off.
        let outlets_table = txn.open_table(OUTLETS).map_err(|e| r(e.into()))?;
        let mut articles_of: BTreeMap<String, u64> = BTreeMap::new();
        for a in &articles {
            if let Some(o) = &a.outlet {
                *articles_of.entry(o.clone()).or_default() += 1;
            }
        }
        let outlet_cutoff = |d: &Document| -> Result<Option<usize>> {
            let Some(o) = &d.outlet else {
                return Ok(None);
            };
            let stored = outlets_table
                .get(o.as_str())
                .map_err(|e| r(e.into()))?
                .map(|g| g.value())
                .unwrap_or(0);
            let n = stored + articles_of.get(o).copied().unwrap_or(0);
            Ok(self.settings.outlet_df_for(n as usize))
        };
        // Counts in the index and the articles, as a scan of both counts.
        let common_in = |sh: &ShingledDoc, ok: u64, cutoff: Option<usize>| -> KeySet {
            let mut common = KeySet::default();
            for h in sh.distinct_shingles() {
                let n = counts.global.get(h) + extra_df.get(&h).copied().unwrap_or(0);
                if n as usize > max_df {
                    common.insert(h);
                    continue;
                }
                // A shingle in fewer than `m` documents in all is in fewer
                // than `m` of one outlet: this skips most outlet lookups,
                // and most of the outlet sketch's overestimates, which grow
                // with the index (at 100,000 documents its slots hold
                // about 20 increments each).
                let Some(m) = cutoff.filter(|&m| ok != 0 && n as usize >= m) else {
                    continue;
                };
                let key = h ^ ok;
                let n = counts.outlet.get(key) + extra_odf.get(&key).copied().unwrap_or(0);
                if n as usize >= m {
                    common.insert(h);
                }
            }
            common
        };
        let mut keys: Vec<(Vec<u64>, u64, bool)> = Vec::with_capacity(articles.len());
        for (a, sh) in articles.iter().zip(shingled.iter_mut()) {
            let common = common_in(sh, outlet_key(a), outlet_cutoff(a)?);
            sh.set_seeds(|h| !common.contains(&h));
            keys.push((
                window_band_keys(sh, &self.settings),
                fingerprint_key(sh),
                sh.tokens.is_empty(),
            ));
        }
        clock.lap("article seeds");
        let bands = txn.open_multimap_table(BANDS).map_err(|e| r(e.into()))?;
        let fps = txn
            .open_multimap_table(FINGERPRINTS)
            .map_err(|e| r(e.into()))?;
        let numbers = txn.open_table(NUMBERS).map_err(|e| r(e.into()))?;

        // Candidate document numbers of each article.
        let mut per_article: Vec<BTreeSet<u32>> = Vec::with_capacity(articles.len());
        for (band_keys, fp, empty) in &keys {
            // Buckets shared with each document, and whether one of them
            // was small (`Settings::single_bucket_max`), as in a scan.
            let mut shared: BTreeMap<u32, (usize, bool)> = BTreeMap::new();
            for &k in band_keys {
                let values = bands.get(k).map_err(|e| r(e.into()))?;
                // The article itself would join the bucket.
                let size = values.len() as usize + 1;
                if size > self.settings.max_bucket {
                    continue;
                }
                for v in values {
                    let e = shared
                        .entry(v.map_err(|e| r(e.into()))?.value())
                        .or_default();
                    e.0 += 1;
                    e.1 |= size <= self.settings.single_bucket_max;
                }
            }
            let mut found: BTreeSet<u32> = shared
                .into_iter()
                .filter(|&(_, (buckets, small))| buckets >= 2 || small)
                .map(|(n, _)| n)
                .collect();
            if !empty {
                for v in fps.get(*fp).map_err(|e| r(e.into()))? {
                    found.insert(v.map_err(|e| r(e.into()))?.value());
                }
            }
            per_article.push(found);
        }
        clock.lap("candidates");

        // Load the candidates, by id.
        let mut by_number: BTreeMap<u32, StoredDocument> = BTreeMap::new();
        for &n in per_article.iter().flatten() {
            if by_number.contains_key(&n) {
                continue;
            }
            let Some(id) = numbers
                .get(n)
                .map_err(|e| r(e.into()))?
                .map(|g| g.value().to_string())
            else {
                continue;
            };
            let Some(g) = documents_table.get(id.as_str()).map_err(|e| r(e.into()))? else {
                continue;
            };
            let stored: StoredDocument = serde_json::from_slice(g.value())
                .map_err(|e| self.err("reading a stored document", e))?;
            by_number.insert(n, stored);
        }
        clock.lap("load");

        let mut candidates: Vec<(u32, StoredDocument)> = by_number.into_iter().collect();
        candidates.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        let first = articles.len();
        let slot: BTreeMap<u32, usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (*n, first + i))
            .collect();
        let mut pairs = Vec::new();
        for (i, found) in per_article.iter().enumerate() {
            for n in found {
                if let Some(&j) = slot.get(n)
                    && candidates[j - first].1.id != articles[i].id
                {
                    pairs.push((i, j));
                }
            }
        }
        // Keep only candidates some article is paired with; shingle them
        // and set their seeds by the same rules.
        let used: BTreeSet<usize> = pairs.iter().map(|&(_, j)| j).collect();
        let mut documents = articles;
        let mut renumber = BTreeMap::new();
        let kept: Vec<Document> = candidates
            .into_iter()
            .enumerate()
            .filter(|(j, _)| used.contains(&(first + j)))
            .map(|(j, (_, stored))| {
                renumber.insert(first + j, documents.len() + renumber.len());
                stored.to_document()
            })
            .collect();
        let mut kept_shingled: Vec<ShingledDoc> = kept
            .par_iter()
            .map(|d| ShingledDoc::new(&d.text, ngram))
            .collect();
        for (d, sh) in kept.iter().zip(kept_shingled.iter_mut()) {
            let common = common_in(sh, outlet_key(d), outlet_cutoff(d)?);
            sh.set_seeds(|h| !common.contains(&h));
        }
        drop(txn);
        documents.extend(kept);
        shingled.extend(kept_shingled);
        clock.lap("candidate seeds");
        let pairs: Vec<(usize, usize)> = pairs
            .into_iter()
            .filter_map(|(i, j)| renumber.get(&j).map(|&j| (i, j)))
            .collect();
        // Sort the documents by id (then path), as a scan of one folder does.
        let mut order: Vec<usize> = (0..documents.len()).collect();
        order.sort_by(|&x, &y| {
            (&documents[x].id, &documents[x].path).cmp(&(&documents[y].id, &documents[y].path))
        });
        let mut position = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut slots: Vec<Option<(Document, ShingledDoc)>> =
            documents.into_iter().zip(shingled).map(Some).collect();
        let (documents, shingled): (Vec<Document>, Vec<ShingledDoc>) =
            order.iter().filter_map(|&i| slots[i].take()).unzip();
        let pairs: Vec<(usize, usize)> = pairs
            .into_iter()
            .map(|(i, j)| (position[i], position[j]))
            .collect();
        let report = scan_shingled_pairs(documents, shingled, &pairs, &self.settings);
        clock.lap("align+cluster+provenance+quotes");
        report
    }
}

/// Prints stage timings of a check to stderr when `WIRETRACE_TIMINGS` is set.
struct Stopwatch {
    on: bool,
    last: std::time::Instant,
}

impl Stopwatch {
    fn new() -> Self {
        Stopwatch {
            on: std::env::var_os("WIRETRACE_TIMINGS").is_some(),
            last: std::time::Instant::now(),
        }
    }

    fn lap(&mut self, stage: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "wiretrace: check: {stage}: {:.2} ms",
                (now - self.last).as_secs_f64() * 1000.0
            );
            self.last = now;
        }
    }
}

/// Hashes keys that are hashes already (shingle hashes, uniformly
/// distributed) by taking them as they are: cheaper than SipHash.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Counts by shingle hash.
type KeyMap = HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;
/// A set of shingle hashes.
type KeySet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

/// The fingerprint table key: the normalized-token fingerprint with the
/// token count mixed in (as a scan compares both).
fn fingerprint_key(sh: &ShingledDoc) -> u64 {
    crate::shingle::mix64(sh.fingerprint ^ (sh.tokens.len() as u64).rotate_left(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "wiretrace-index-unit-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn seed(name: &str, outlet: &str) -> Document {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(format!("{name}.txt"));
        let mut d = Document::new(name, std::fs::read_to_string(path).expect("seed"));
        d.outlet = Some(outlet.into());
        d
    }

    /// Four seeds to index, with their outlets, and the fifth to check.
    fn seeds_and_article() -> ([Document; 4], Document) {
        let docs = [
            seed("000_965e5383da2fe827", "CBS News"),
            seed("001_848d868a6b3a0ab3", "Voice of America"),
            seed("002_1334a92449fc3236", "CBS News"),
            seed("003_5edc88af400f5deb", "The Express Tribune"),
        ];
        (docs, seed("004_b33e749053d6a94d", "Arutz Sheva"))
    }

    fn json(index: &Index, article: &Document) -> String {
        let report = index.check(vec![article.clone()]).expect("check");
        let mut out = Vec::new();
        crate::report::write_json(&report, &mut out).expect("json");
        String::from_utf8(out).expect("utf-8")
    }

    /// The index scales the outlet rule's cut-off with the outlet's
    /// documents as a scan does (`scan::tests::the_outlet_rule_scales_with_the_outlet`):
    /// the outlet's documents in the index and the articles count.
    #[test]
    fn the_outlet_rule_scales_with_the_outlet() {
        for (filler, want) in [(998, 0), (2998, 1)] {
            let mut docs = crate::scan::tests::same_outlet_corpus(filler);
            let article = docs.remove(1);
            let dir = tmp(&format!("outlet-{filler}"));
            let mut index = Index::open(&dir).expect("open");
            index.settings = crate::scan::tests::outlet_rule_at_two();
            index.add_batch(&docs).expect("add");
            let report = index.check(vec![article]).expect("check");
            assert_eq!(report.passages.len(), want, "{filler} filler documents");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn counts_from_the_log_and_from_checkpoints_agree() {
        let (docs, article) = seeds_and_article();
        let (a, b) = (tmp("log"), tmp("checkpoint"));
        let mut want = None;
        for (dir, checkpoint) in [(&a, CHECKPOINT_BYTES), (&b, 1)] {
            let mut index = Index::open(dir).expect("open");
            index.checkpoint_bytes = checkpoint;
            // Two commits (the second batch repeats a document).
            let first = index.add_batch(&docs[..2]).expect("add");
            assert_eq!(first, [AddOutcome::Added, AddOutcome::Added]);
            let second = index.add_batch(&docs[1..]).expect("add");
            assert_eq!(
                second,
                [
                    AddOutcome::AlreadyIndexed,
                    AddOutcome::Added,
                    AddOutcome::Added
                ]
            );
            let warm = json(&index, &article);
            assert!(warm.contains("003_5edc88af400f5deb"), "{warm}");
            drop(index);
            // A fresh process reads the checkpoint and the log.
            let cold = json(&Index::open(dir).expect("reopen"), &article);
            assert_eq!(warm, cold);
            assert_eq!(want.get_or_insert(warm.clone()), &warm);
        }
        for dir in [a, b] {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// The outlet sketch grows when its increments call for it (here made
    /// to weigh more), the grown rows are checkpointed and read back by a
    /// fresh process, and checks find what an index that never grew finds
    /// (on a few documents neither sketch has collisions that matter). An
    /// index of format 2 opens as it is.
    #[test]
    fn the_outlet_sketch_grows_and_is_read_back() {
        let (docs, article) = seeds_and_article();
        let cached = |index: &Index| index.counts.read().expect("lock").clone().expect("counts");
        let meta = |index: &Index, key: &str| {
            let txn = index.db.begin_read().expect("read");
            let table = txn.open_table(META).expect("meta");
            table.get(key).expect("get").map(|g| g.value())
        };
        let (a, b) = (tmp("grow"), tmp("fixed"));
        let mut index = Index::open(&a).expect("open");
        index.add_batch(&docs[..2]).expect("add");
        let before = cached(&index);
        assert_eq!(before.outlet.bits(), BASE_SKETCH_BITS);
        assert_eq!(meta(&index, "outlet_sketch_bits"), None);
        // From now on the increments so far call for rows of 2^23 or more.
        index.increment_weight = (1 << 26) / before.outlet_increments.max(1) + 1;
        index.add_batch(&docs[2..]).expect("add");
        let grown = cached(&index);
        assert!(grown.outlet.bits() > BASE_SKETCH_BITS);
        assert_eq!(
            meta(&index, "outlet_sketch_bits"),
            Some(u64::from(grown.outlet.bits()))
        );
        assert_eq!(meta(&index, "format"), Some(FORMAT));
        assert_eq!(
            index.stats().expect("stats").outlet_sketch_counters,
            1 << grown.outlet.bits()
        );
        let warm = json(&index, &article);
        assert!(warm.contains("003_5edc88af400f5deb"), "{warm}");
        drop(index);
        let reopened = Index::open(&a).expect("reopen");
        let cold = json(&reopened, &article);
        assert_eq!(warm, cold);
        let read = cached(&reopened);
        assert_eq!(read.outlet.rows(), grown.outlet.rows());
        assert_eq!(read.global.rows(), grown.global.rows());
        assert_eq!(read.outlet_increments, grown.outlet_increments);
        drop(reopened);

        let fixed = Index::open(&b).expect("open");
        fixed.add_batch(&docs[..2]).expect("add");
        fixed.add_batch(&docs[2..]).expect("add");
        let counted = cached(&fixed);
        assert_eq!(counted.outlet.bits(), BASE_SKETCH_BITS);
        assert_eq!(counted.outlet_increments, grown.outlet_increments);
        assert_eq!(json(&fixed, &article), warm);
        // The same tables as an older wiretrace wrote them: format 2, no
        // count of outlet increments.
        {
            let txn = fixed.db.begin_write().expect("write");
            {
                let mut table = txn.open_table(META).expect("meta");
                table.insert("format", OLDEST_FORMAT).expect("insert");
                table.remove("outlet_increments").expect("remove");
            }
            txn.commit().expect("commit");
        }
        drop(fixed);
        let old = Index::open(&b).expect("reopen");
        assert_eq!(json(&old, &article), warm);
        assert_eq!(cached(&old).outlet_increments, grown.outlet_increments);
        for dir in [a, b] {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// Documents whose texts were moved out of memory on reading are
    /// indexed as if they had been held.
    #[test]
    fn texts_moved_out_of_memory_are_indexed_alike() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let article = seed("004_b33e749053d6a94d", "Arutz Sheva");
        let mut reports = Vec::new();
        for (name, text_memory) in [("held", u64::MAX), ("spilled", 0)] {
            let options = crate::ReadOptions {
                text_memory,
                ..crate::ReadOptions::default()
            };
            let corpus = crate::read_corpus(std::slice::from_ref(&seeds), &options).expect("read");
            let docs: Vec<Document> = corpus
                .documents
                .into_iter()
                .filter(|d| d.id != article.id)
                .collect();
            assert_eq!(docs.iter().all(Document::is_spilled), text_memory == 0);
            let dir = tmp(name);
            let index = Index::open(&dir).expect("open");
            index.add_batch(&docs).expect("add");
            let stored = index.get(&docs[0].id).expect("get").expect("present");
            assert!(stored.is_intact());
            assert_eq!(stored.text, docs[0].load_text().expect("text"));
            reports.push(json(&index, &article));
            drop(index);
            let _ = std::fs::remove_dir_all(&dir);
        }
        assert_eq!(reports[0], reports[1]);
        assert!(reports[0].contains("003_5edc88af400f5deb"));
    }

    #[test]
    fn add_is_idempotent_and_conflicts_are_kept_out() {
        let dir = tmp("idem");
        let index = Index::open(&dir).expect("open");
        let mut d = Document::new("a", "one two three four five six seven eight nine ten");
        d.outlet = Some("X".into());
        assert_eq!(index.add(&d).expect("add"), AddOutcome::Added);
        assert_eq!(index.add(&d).expect("add"), AddOutcome::AlreadyIndexed);
        let other = Document::new("a", "something else entirely, not the same");
        assert_eq!(index.add(&other).expect("add"), AddOutcome::Conflict);
        let stored = index.get("a").expect("get").expect("present");
        assert_eq!(stored.text, d.text);
        assert!(stored.is_intact());
        let s = index.stats().expect("stats");
        assert_eq!(
            (s.documents, s.outlets, s.bytes),
            (1, 1, d.text.len() as u64)
        );
        drop(index);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
