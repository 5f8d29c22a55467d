//! Texts moved out of memory: a temporary file the reader writes documents'
//! texts to (past [`crate::ReadOptions::text_memory`]) and the later stages
//! read them back from, one document at a time.
//!
//! The file is made in the system's temporary folder (`TMPDIR`), opened
//! once and, on Unix, unlinked at once, so it goes away with the process
//! whatever happens; elsewhere it is removed when the last document that
//! uses it is dropped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A temporary file of texts, appended to and read at offsets from any
/// thread.
#[derive(Debug)]
pub(crate) struct SpillFile {
    file: Mutex<File>,
    path: PathBuf,
    /// Bytes written so far: where the next text goes.
    end: AtomicU64,
}

/// Where one document's text is in a [`SpillFile`].
#[derive(Debug, Clone)]
pub(crate) struct Spilled {
    pub(crate) file: std::sync::Arc<SpillFile>,
    pub(crate) at: u64,
    pub(crate) len: usize,
}

impl SpillFile {
    /// A new, empty spill file in `dir`.
    pub(crate) fn create(dir: &Path) -> std::io::Result<SpillFile> {
        static MADE: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "wiretrace-{}-{nanos}-{}.texts",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // Nothing else opens it by name: on Unix it can go at once and is
        // freed when the process lets go of it.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&path);
        Ok(SpillFile {
            file: Mutex::new(file),
            path,
            end: AtomicU64::new(0),
        })
    }

    /// Append `text`; returns its offset.
    pub(crate) fn put(&self, text: &str) -> std::io::Result<u64> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("spill file lock poisoned"))?;
        let at = self.end.load(Ordering::Relaxed);
        file.seek(SeekFrom::Start(at))?;
        file.write_all(text.as_bytes())?;
        self.end.store(at + text.len() as u64, Ordering::Relaxed);
        Ok(at)
    }

    /// The `len` bytes at `at`, as written by [`SpillFile::put`].
    fn get(&self, at: u64, len: usize) -> std::io::Result<String> {
        let mut buf = vec![0u8; len];
        {
            let mut file = self
                .file
                .lock()
                .map_err(|_| std::io::Error::other("spill file lock poisoned"))?;
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(&mut buf)?;
        }
        String::from_utf8(buf).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "text read back is not UTF-8",
            )
        })
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        #[cfg(not(unix))]
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Spilled {
    /// Read the text back.
    pub(crate) fn load(&self) -> Result<String> {
        self.file
            .get(self.at, self.len)
            .map_err(|source| Error::Io {
                what: format!("(reading back) {}", self.file.path.display()),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn texts_come_back_as_written_from_any_thread() {
        let file = Arc::new(SpillFile::create(&std::env::temp_dir()).expect("temp file"));
        let texts: Vec<String> = (0..200)
            .map(|i| format!("text {i} – «{}»", "é".repeat(i % 7)))
            .collect();
        let spilled: Vec<Spilled> = std::thread::scope(|s| {
            let handles: Vec<_> = texts
                .chunks(50)
                .map(|chunk| {
                    let file = Arc::clone(&file);
                    s.spawn(move || {
                        chunk
                            .iter()
                            .map(|t| Spilled {
                                file: Arc::clone(&file),
                                at: file.put(t).expect("write"),
                                len: t.len(),
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("thread"))
                .collect()
        });
        for (t, s) in texts.iter().zip(&spilled) {
            assert_eq!(&s.load().expect("read"), t);
        }
    }
}
