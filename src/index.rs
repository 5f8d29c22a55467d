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
//! | `shingle_df` | shingle hash → number of documents containing it |
//! | `outlet_df` | shingle hash ^ outlet key → number of that outlet's documents containing it |
//! | `hot_df`, `hot_outlet_df` | the entries of the two above that are close to a cut-off |
//! | `meta` | `"bytes"` → total text bytes, `"format"` → table layout version, `"generation"` → commits so far |
//!
//! Band keys are the windowed MinHash band keys of [`crate::scan`]
//! (`Settings::default().window` and `.banding`), computed with
//! [`crate::window_band_keys`] over the document's seeds: its shingles
//! found in at most `Settings::max_df_for(n)` documents (the larger of 50
//! and 1% of them) and in fewer than `Settings::max_outlet_df` (10)
//! documents of its own outlet (that outlet's boilerplate), as in a scan.
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
//! not to the index: counts are read from the small hot tables, which a
//! long-running process keeps in memory (reloaded when the index changes),
//! candidates by key lookups.
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
use crate::shingle::ShingledDoc;

const DOCUMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
const NUMBERS: TableDefinition<u32, &str> = TableDefinition::new("numbers");
const BANDS: MultimapTableDefinition<u64, u32> = MultimapTableDefinition::new("bands");
const FINGERPRINTS: MultimapTableDefinition<u64, u32> =
    MultimapTableDefinition::new("fingerprints");
const OUTLETS: TableDefinition<&str, u64> = TableDefinition::new("outlets");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SHINGLE_DF: TableDefinition<u64, u32> = TableDefinition::new("shingle_df");
const OUTLET_DF: TableDefinition<u64, u32> = TableDefinition::new("outlet_df");
const HOT_DF: TableDefinition<u64, u32> = TableDefinition::new("hot_df");
const HOT_ODF: TableDefinition<u64, u32> = TableDefinition::new("hot_outlet_df");

/// The layout version of the tables, kept in `meta` as `"format"`.
const FORMAT: u64 = 2;

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
}

/// A persistent index in one redb file. Cheap to share between threads
/// (`&Index` is `Sync`): any number of readers, one writer at a time.
pub struct Index {
    db: Database,
    path: PathBuf,
    settings: Settings,
    /// The hot counts of the last snapshot read, shared by checks.
    hot: std::sync::RwLock<Option<Arc<Hot>>>,
}

/// Counts that can make a shingle too common to be a seed, kept in memory
/// by a long-running process (`serve`): global counts of at least
/// [`Hot::df_min`], per-outlet counts of at least [`Hot::odf_min`]. A count
/// absent here is below that, so a check adding at most [`HOT_SLACK`]
/// articles holding the shingle cannot push it over a cut-off; beyond
/// that, the check reads the full tables.
#[derive(Debug, Default)]
struct Hot {
    /// `meta` `"generation"` of the snapshot these counts come from.
    generation: u64,
    df: KeyMap,
    odf: KeyMap,
}

/// How many articles of one check may hold a shingle before the hot
/// counts no longer decide for it alone.
const HOT_SLACK: u32 = 3;

impl Hot {
    /// Smallest global count kept: the cut-off is never below the
    /// `Settings::max_df_for` floor (50 when `max_df` is unset).
    fn df_min(settings: &Settings) -> u32 {
        let floor = settings.max_df.unwrap_or(50) as u32;
        (floor + 1).saturating_sub(HOT_SLACK)
    }

    /// Smallest per-outlet count kept (`u32::MAX` when the rule is off).
    fn odf_min(settings: &Settings) -> u32 {
        settings
            .max_outlet_df
            .map_or(u32::MAX, |m| (m as u32).saturating_sub(HOT_SLACK))
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
            hot: std::sync::RwLock::new(None),
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
            txn.open_table(SHINGLE_DF).map_err(|e| w(e.into()))?;
            txn.open_table(OUTLET_DF).map_err(|e| w(e.into()))?;
            txn.open_table(HOT_DF).map_err(|e| w(e.into()))?;
            txn.open_table(HOT_ODF).map_err(|e| w(e.into()))?;
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
                Some(FORMAT) => {}
                None if documents == 0 => {
                    meta.insert("format", FORMAT).map_err(|e| w(e.into()))?;
                }
                other => {
                    return Err(self.err(
                        "opening",
                        format!(
                            "index format {} (this wiretrace reads format {FORMAT}); \
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
    pub fn add_batch(&self, docs: &[Document]) -> Result<Vec<AddOutcome>> {
        // Tokenizing runs before the transaction is opened, in parallel.
        let ngram = self.settings.ngram;
        let prepared: Vec<(ShingledDoc, Vec<u64>, String)> = docs
            .par_iter()
            .map(|d| {
                let sh = ShingledDoc::new(&d.text, ngram);
                let distinct = sh.distinct_shingles();
                (sh, distinct, text_hash(&d.text))
            })
            .collect();
        let w = |e: redb::Error| self.err("adding documents", e);

        let txn = self.db.begin_write().map_err(|e| w(e.into()))?;
        let mut outcomes = Vec::with_capacity(docs.len());
        {
            let mut documents = txn.open_table(DOCUMENTS).map_err(|e| w(e.into()))?;
            let mut numbers = txn.open_table(NUMBERS).map_err(|e| w(e.into()))?;
            let mut df = txn.open_table(SHINGLE_DF).map_err(|e| w(e.into()))?;
            let mut odf = txn.open_table(OUTLET_DF).map_err(|e| w(e.into()))?;
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
            // Counts touched by this batch, written back once at the end.
            let mut df_now: KeyMap = KeyMap::default();
            let mut odf_now: KeyMap = KeyMap::default();
            let mut outlet_now: BTreeMap<String, u64> = BTreeMap::new();
            for (doc, (mut sh, distinct, hash)) in docs.iter().zip(prepared) {
                let existing = documents
                    .get(doc.id.as_str())
                    .map_err(|e| w(e.into()))?
                    .map(|g| g.value().to_vec());
                if let Some(old) = existing {
                    let stored: StoredDocument = serde_json::from_slice(&old)
                        .map_err(|e| self.err("reading a stored document", e))?;
                    outcomes.push(if stored.hash == hash && stored.text == doc.text {
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
                    bytes: doc.text.len(),
                    hash,
                    text: doc.text.clone(),
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
                    let n = match df_now.get_mut(&h) {
                        Some(n) => n,
                        None => {
                            let stored = df.get(h).map_err(|e| w(e.into()))?.map(|g| g.value());
                            df_now.entry(h).or_insert(stored.unwrap_or(0))
                        }
                    };
                    *n = n.saturating_add(1);
                    if *n as usize > max_df {
                        common.insert(h);
                    }
                }
                let ok = outlet_key(doc);
                if ok != 0 {
                    for &h in &distinct {
                        let key = h ^ ok;
                        let n = match odf_now.get_mut(&key) {
                            Some(n) => n,
                            None => {
                                let stored =
                                    odf.get(key).map_err(|e| w(e.into()))?.map(|g| g.value());
                                odf_now.entry(key).or_insert(stored.unwrap_or(0))
                            }
                        };
                        *n = n.saturating_add(1);
                        if self
                            .settings
                            .max_outlet_df
                            .is_some_and(|m| *n as usize >= m)
                        {
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
                }
                bytes += doc.text.len() as u64;
                outcomes.push(AddOutcome::Added);
            }
            let mut hot_df = txn.open_table(HOT_DF).map_err(|e| w(e.into()))?;
            let mut hot_odf = txn.open_table(HOT_ODF).map_err(|e| w(e.into()))?;
            let (df_min, odf_min) = (Hot::df_min(&self.settings), Hot::odf_min(&self.settings));
            let mut df_now: Vec<(u64, u32)> = df_now.into_iter().collect();
            df_now.sort_unstable();
            for (h, n) in df_now {
                df.insert(h, n).map_err(|e| w(e.into()))?;
                if n >= df_min {
                    hot_df.insert(h, n).map_err(|e| w(e.into()))?;
                }
            }
            let mut odf_now: Vec<(u64, u32)> = odf_now.into_iter().collect();
            odf_now.sort_unstable();
            for (h, n) in odf_now {
                odf.insert(h, n).map_err(|e| w(e.into()))?;
                if n >= odf_min {
                    hot_odf.insert(h, n).map_err(|e| w(e.into()))?;
                }
            }
            let generation = meta
                .get("generation")
                .map_err(|e| w(e.into()))?
                .map_or(0, |g| g.value());
            meta.insert("generation", generation + 1)
                .map_err(|e| w(e.into()))?;
            for (outlet, n) in &outlet_now {
                outlets
                    .insert(outlet.as_str(), *n)
                    .map_err(|e| w(e.into()))?;
            }
            meta.insert("bytes", bytes).map_err(|e| w(e.into()))?;
        }
        if outcomes.contains(&AddOutcome::Added) {
            txn.commit().map_err(|e| w(e.into()))?;
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
        })
    }

    /// The hot counts of the snapshot `txn` reads: the cached ones when
    /// they come from the same generation, else read from the tables (and
    /// cached for the next check).
    fn hot_counts(&self, txn: &redb::ReadTransaction) -> Result<Arc<Hot>> {
        let r = |e: redb::Error| self.err("reading", e);
        let meta = txn.open_table(META).map_err(|e| r(e.into()))?;
        let generation = meta
            .get("generation")
            .map_err(|e| r(e.into()))?
            .map_or(0, |g| g.value());
        if let Ok(cached) = self.hot.read()
            && let Some(hot) = cached.as_ref()
            && hot.generation == generation
        {
            return Ok(Arc::clone(hot));
        }
        let mut hot = Hot {
            generation,
            ..Hot::default()
        };
        for (table, map) in [(HOT_DF, &mut hot.df), (HOT_ODF, &mut hot.odf)] {
            let table = txn.open_table(table).map_err(|e| r(e.into()))?;
            for item in table.iter().map_err(|e| r(e.into()))? {
                let (k, v) = item.map_err(|e| r(e.into()))?;
                map.insert(k.value(), v.value());
            }
        }
        let hot = Arc::new(hot);
        if let Ok(mut cached) = self.hot.write()
            && cached.as_ref().is_none_or(|c| c.generation < generation)
        {
            *cached = Some(Arc::clone(&hot));
        }
        Ok(hot)
    }

    /// Check `articles` against the index: find candidates through the
    /// stored band keys (and exact-duplicate fingerprints), load their
    /// texts, align each article with its candidates, cluster, attribute.
    ///
    /// Seeds (of the band keys queried and of the alignment) follow the
    /// scan's rules with the current counts, the articles counted in: a
    /// shingle in more than `Settings::max_df_for(n)` documents, or in at
    /// least `Settings::max_outlet_df` documents of the outlet of the
    /// document holding it, is not a seed. The work is proportional to the
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
        let df = txn.open_table(SHINGLE_DF).map_err(|e| r(e.into()))?;
        let odf = txn.open_table(OUTLET_DF).map_err(|e| r(e.into()))?;
        let documents_table = txn.open_table(DOCUMENTS).map_err(|e| r(e.into()))?;
        let indexed = documents_table.len().map_err(|e| r(e.into()))?;
        let max_df = self.settings.max_df_for(indexed as usize + articles.len());
        let max_outlet_df = self.settings.max_outlet_df;

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
        // Counts in the index and the articles: from the hot counts, or
        // from the tables when the articles alone could pass a cut-off.
        let hot = self.hot_counts(&txn)?;
        let common_in = |sh: &ShingledDoc, ok: u64| -> Result<KeySet> {
            let mut common = KeySet::default();
            for h in sh.distinct_shingles() {
                let extra = extra_df.get(&h).copied().unwrap_or(0);
                let stored = if extra > HOT_SLACK {
                    df.get(h).map_err(|e| r(e.into()))?.map_or(0, |g| g.value())
                } else {
                    hot.df.get(&h).copied().unwrap_or(0)
                };
                if (stored + extra) as usize > max_df {
                    common.insert(h);
                    continue;
                }
                let Some(m) = max_outlet_df.filter(|_| ok != 0) else {
                    continue;
                };
                let key = h ^ ok;
                let extra = extra_odf.get(&key).copied().unwrap_or(0);
                let stored = if extra > HOT_SLACK {
                    odf.get(key)
                        .map_err(|e| r(e.into()))?
                        .map_or(0, |g| g.value())
                } else {
                    hot.odf.get(&key).copied().unwrap_or(0)
                };
                if (stored + extra) as usize >= m {
                    common.insert(h);
                }
            }
            Ok(common)
        };
        let mut keys: Vec<(Vec<u64>, u64, bool)> = Vec::with_capacity(articles.len());
        for (a, sh) in articles.iter().zip(shingled.iter_mut()) {
            let common = common_in(sh, outlet_key(a))?;
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
            let mut found = BTreeSet::new();
            for &k in band_keys {
                let values = bands.get(k).map_err(|e| r(e.into()))?;
                // The article itself would join the bucket.
                if values.len() as usize + 1 > self.settings.max_bucket {
                    continue;
                }
                for v in values {
                    found.insert(v.map_err(|e| r(e.into()))?.value());
                }
            }
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
            let common = common_in(sh, outlet_key(d))?;
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
