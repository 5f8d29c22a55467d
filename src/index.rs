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
//! | `meta` | `"bytes"` → total text bytes |
//!
//! Band keys are the windowed MinHash band keys of [`crate::scan`]
//! (`Settings::default().window` and `.banding`), computed with
//! [`crate::window_band_keys`] over the document's seeds: its shingles
//! found in at most `Settings::max_df_for(n)` documents (the larger of 50
//! and 1% of them), as in a scan. The difference from a scan: the
//! cut-off is applied with the counts *at the time of the add* (stored keys
//! are not recomputed when a shingle later becomes common), and at check
//! time with the current counts. A shingle that becomes common (boilerplate,
//! stock phrases) stops producing keys for later documents and checks; keys
//! stored before remain but are no longer queried. Buckets of more than
//! `Settings::max_bucket` documents are skipped at check time, as in a scan.
//!
//! Each added document is one write transaction: once [`Index::add`]
//! returns, the document is committed, and a process killed mid-way leaves
//! either the whole document or nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};
use serde::{Deserialize, Serialize};

use crate::corpus::Document;
use crate::error::{Error, Result};
use crate::scan::{Report, Settings, scan_pairs, window_band_keys};
use crate::shingle::ShingledDoc;

const DOCUMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
const NUMBERS: TableDefinition<u32, &str> = TableDefinition::new("numbers");
const BANDS: MultimapTableDefinition<u64, u32> = MultimapTableDefinition::new("bands");
const FINGERPRINTS: MultimapTableDefinition<u64, u32> =
    MultimapTableDefinition::new("fingerprints");
const OUTLETS: TableDefinition<&str, u64> = TableDefinition::new("outlets");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SHINGLE_DF: TableDefinition<u64, u32> = TableDefinition::new("shingle_df");

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
        }
        txn.commit().map_err(|e| w(e.into()))
    }

    /// Add one document in one write transaction. Idempotent by id: the
    /// same id with the same text is [`AddOutcome::AlreadyIndexed`], with
    /// another text [`AddOutcome::Conflict`] (the stored text is kept).
    pub fn add(&self, doc: &Document) -> Result<AddOutcome> {
        // Tokenizing runs before the transaction is opened.
        let mut sh = ShingledDoc::new(&doc.text, self.settings.ngram);
        let distinct = sh.distinct_shingles();
        let hash = text_hash(&doc.text);
        let w = |e: redb::Error| self.err("adding a document", e);

        let txn = self.db.begin_write().map_err(|e| w(e.into()))?;
        let outcome = {
            let mut documents = txn.open_table(DOCUMENTS).map_err(|e| w(e.into()))?;
            let existing = documents
                .get(doc.id.as_str())
                .map_err(|e| w(e.into()))?
                .map(|g| g.value().to_vec());
            if let Some(bytes) = existing {
                let stored: StoredDocument = serde_json::from_slice(&bytes)
                    .map_err(|e| self.err("reading a stored document", e))?;
                if stored.hash == hash && stored.text == doc.text {
                    AddOutcome::AlreadyIndexed
                } else {
                    AddOutcome::Conflict
                }
            } else {
                let mut numbers = txn.open_table(NUMBERS).map_err(|e| w(e.into()))?;
                let number = match numbers.last().map_err(|e| w(e.into()))? {
                    Some((k, _)) => k
                        .value()
                        .checked_add(1)
                        .ok_or_else(|| self.err("adding a document", "more than 2^32 documents"))?,
                    None => 0,
                };
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
                // the shingles not too common now.
                let mut df = txn.open_table(SHINGLE_DF).map_err(|e| w(e.into()))?;
                let max_df = self.settings.max_df_for(number as usize + 1);
                let mut common = std::collections::HashSet::new();
                for &h in &distinct {
                    let n = df
                        .get(h)
                        .map_err(|e| w(e.into()))?
                        .map(|g| g.value())
                        .unwrap_or(0)
                        .saturating_add(1);
                    df.insert(h, n).map_err(|e| w(e.into()))?;
                    if n as usize > max_df {
                        common.insert(h);
                    }
                }
                sh.set_seeds(|h| !common.contains(&h));
                let keys = window_band_keys(&sh, &self.settings);
                let mut bands = txn.open_multimap_table(BANDS).map_err(|e| w(e.into()))?;
                for &k in &keys {
                    bands.insert(k, number).map_err(|e| w(e.into()))?;
                }
                if !sh.tokens.is_empty() {
                    let mut fps = txn
                        .open_multimap_table(FINGERPRINTS)
                        .map_err(|e| w(e.into()))?;
                    fps.insert(fingerprint_key(&sh), number)
                        .map_err(|e| w(e.into()))?;
                }
                if let Some(outlet) = &doc.outlet {
                    let mut outlets = txn.open_table(OUTLETS).map_err(|e| w(e.into()))?;
                    let n = outlets
                        .get(outlet.as_str())
                        .map_err(|e| w(e.into()))?
                        .map(|g| g.value())
                        .unwrap_or(0);
                    outlets
                        .insert(outlet.as_str(), n + 1)
                        .map_err(|e| w(e.into()))?;
                }
                let mut meta = txn.open_table(META).map_err(|e| w(e.into()))?;
                let bytes = meta
                    .get("bytes")
                    .map_err(|e| w(e.into()))?
                    .map(|g| g.value())
                    .unwrap_or(0);
                meta.insert("bytes", bytes + doc.text.len() as u64)
                    .map_err(|e| w(e.into()))?;
                AddOutcome::Added
            }
        };
        if outcome == AddOutcome::Added {
            txn.commit().map_err(|e| w(e.into()))?;
        } else {
            txn.abort().map_err(|e| w(e.into()))?;
        }
        Ok(outcome)
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

    /// Counts: documents, outlets, bytes, band keys.
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

    /// Check `articles` against the index: find candidates through the
    /// stored band keys (and exact-duplicate fingerprints), load their
    /// texts, align each article with its candidates, cluster, attribute.
    ///
    /// The report's documents are the articles and the matched indexed
    /// documents, sorted by id (then path). Articles
    /// are compared with the archive, not with each other; an indexed
    /// document with the same id as an article is not a candidate for it.
    pub fn check(&self, articles: Vec<Document>) -> Result<Report> {
        let r = |e: redb::Error| self.err("reading", e);
        let txn = self.db.begin_read().map_err(|e| r(e.into()))?;
        let df = txn.open_table(SHINGLE_DF).map_err(|e| r(e.into()))?;
        let indexed = txn
            .open_table(DOCUMENTS)
            .map_err(|e| r(e.into()))?
            .len()
            .map_err(|e| r(e.into()))?;
        // Shingles too common to be seeds: counted with the article added.
        let max_df = self.settings.max_df_for(indexed as usize + 1);
        let mut common: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let mut keys: Vec<(Vec<u64>, u64, bool)> = Vec::with_capacity(articles.len());
        for a in &articles {
            let mut sh = ShingledDoc::new(&a.text, self.settings.ngram);
            for h in sh.distinct_shingles() {
                let n = df
                    .get(h)
                    .map_err(|e| r(e.into()))?
                    .map(|g| g.value())
                    .unwrap_or(0) as usize;
                if n + 1 > max_df {
                    common.insert(h);
                }
            }
            sh.set_seeds(|h| !common.contains(&h));
            keys.push((
                window_band_keys(&sh, &self.settings),
                fingerprint_key(&sh),
                sh.tokens.is_empty(),
            ));
        }
        let bands = txn.open_multimap_table(BANDS).map_err(|e| r(e.into()))?;
        let fps = txn
            .open_multimap_table(FINGERPRINTS)
            .map_err(|e| r(e.into()))?;
        let numbers = txn.open_table(NUMBERS).map_err(|e| r(e.into()))?;
        let documents = txn.open_table(DOCUMENTS).map_err(|e| r(e.into()))?;

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
            let Some(g) = documents.get(id.as_str()).map_err(|e| r(e.into()))? else {
                continue;
            };
            let stored: StoredDocument = serde_json::from_slice(g.value())
                .map_err(|e| self.err("reading a stored document", e))?;
            by_number.insert(n, stored);
        }
        drop(txn);

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
        // Keep only candidates some article is paired with.
        let used: BTreeSet<usize> = pairs.iter().map(|&(_, j)| j).collect();
        let mut documents = articles;
        let mut renumber = BTreeMap::new();
        for (j, (_, stored)) in candidates.into_iter().enumerate() {
            if used.contains(&(first + j)) {
                renumber.insert(first + j, documents.len());
                documents.push(stored.to_document());
            }
        }
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
        let mut slots: Vec<Option<Document>> = documents.into_iter().map(Some).collect();
        let documents: Vec<Document> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let pairs: Vec<(usize, usize)> = pairs
            .into_iter()
            .map(|(i, j)| (position[i], position[j]))
            .collect();
        // Articles are only paired with indexed documents, so every shared
        // shingle is an article's: its cut-off applies to both sides.
        let keep = move |h: u64| !common.contains(&h);
        scan_pairs(documents, &pairs, &self.settings, &keep)
    }
}

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
