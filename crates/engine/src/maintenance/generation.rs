//! One generation of an index directory, as a process holds it open, and the file locks
//! that make generations safe to share between processes.
//!
//! ```text
//! DIR/WRITER.lock        exclusive flock: the one writer (ingest, admin upsert, rebuild,
//!                        backup) across all processes; readers never take it
//! DIR/gen-N/READERS      shared flock held by every process that has gen-N open; a
//!                        generation other than the live one is removed only when an
//!                        exclusive lock on it succeeds, i.e. no process reads it
//! DIR/gen-N/vectors/     the generation's vectors (saved before the full-text commit, so
//!                        a crash between the two leaves vectors the index ignores)
//! ```
//!
//! Locks are advisory `flock`s: the OS drops them when a process dies, so a killed
//! writer never blocks the next one and a half-built generation is collectable.

use crate::error::{EngineError, Result};
use crate::key::doc_key;
use crate::model::DenseModel;
use leian_index::{generation_number, list_generations, CaseIndex, GenerationMeta};
use leian_ingest::CaseId;
use leian_vector::{HnswParams, VectorStore};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Vectors live beside the tantivy index, in the same generation directory.
pub(crate) const VECTORS_DIR: &str = "vectors";
pub(crate) const READERS_FILE: &str = "READERS";
pub(crate) const WRITER_LOCK_FILE: &str = "WRITER.lock";
/// A newer-than-live generation without a READERS file may be one being created right
/// now; it is collected only when older than this.
const UNLOCKED_GRACE: Duration = Duration::from_secs(600);

/// The dense half of a generation: its vectors and the model that made them.
pub(crate) struct GenerationDense {
    pub(crate) model: Arc<DenseModel>,
    pub(crate) vectors: RwLock<VectorStore>,
}

/// A generation as this process holds it: full-text index, vectors, key map, and a
/// shared lock that keeps other processes from deleting it.
pub(crate) struct Generation {
    pub(crate) name: String,
    pub(crate) index: CaseIndex,
    pub(crate) dense: Option<GenerationDense>,
    /// Why dense search is off in this generation, when it is.
    pub(crate) dense_off_reason: Option<String>,
    /// Vector key → case id, for every case that has vectors.
    pub(crate) keys: RwLock<HashMap<u64, CaseId>>,
    /// `meta.json`'s commit_seq this process has loaded.
    pub(crate) seq: AtomicU64,
    /// Set when another generation became live: on drop, try to remove this one.
    pub(crate) retired: AtomicBool,
    reader_lock: Option<File>,
}

impl Generation {
    /// Opens generation `index` (already opened) with the model, when it fits.
    pub(crate) fn open(
        index: CaseIndex,
        model: Option<&Arc<DenseModel>>,
        model_off_reason: Option<&str>,
    ) -> Result<Generation> {
        let reader_lock = Some(lock_shared(&index.generation_dir().join(READERS_FILE))?);
        let meta = index.meta()?;
        let (dense, dense_off_reason) = match model {
            Some(m) => match open_vectors(&index, m)? {
                Ok(v) => (
                    Some(GenerationDense {
                        model: m.clone(),
                        vectors: RwLock::new(v),
                    }),
                    None,
                ),
                Err(reason) => (None, Some(reason)),
            },
            None => (None, model_off_reason.map(str::to_string)),
        };
        let generation = Generation {
            name: index.generation_name().to_string(),
            index,
            dense,
            dense_off_reason,
            keys: RwLock::new(HashMap::new()),
            seq: AtomicU64::new(meta.commit_seq),
            retired: AtomicBool::new(false),
            reader_lock,
        };
        generation.rebuild_keys()?;
        Ok(generation)
    }

    pub(crate) fn number(&self) -> u32 {
        generation_number(&self.name).unwrap_or(0)
    }

    pub(crate) fn vectors_dir(&self) -> PathBuf {
        self.index.generation_dir().join(VECTORS_DIR)
    }

    /// Recomputes the key map from the full-text index (the source of truth: vectors of
    /// cases it does not hold are ignored).
    pub(crate) fn rebuild_keys(&self) -> Result<()> {
        let mut keys = HashMap::new();
        if let Some(d) = &self.dense {
            let store = d.vectors.read().map_err(|_| poisoned())?;
            for id in self.index.all_ids()? {
                let k = doc_key(&id);
                if store.contains(k) {
                    keys.insert(k, id);
                }
            }
        }
        *self.keys.write().map_err(|_| poisoned())? = keys;
        Ok(())
    }

    /// Sees a commit another process made: readers, dictionary, vectors, keys.
    pub(crate) fn reload(&self, seq: u64) -> Result<()> {
        self.index.reload()?;
        if let Some(d) = &self.dense {
            let dir = self.vectors_dir();
            if dir.join("meta.json").exists() {
                let fresh = VectorStore::open(&dir)?;
                *d.vectors.write().map_err(|_| poisoned())? = fresh;
            }
        }
        self.rebuild_keys()?;
        self.seq.store(seq, Ordering::SeqCst);
        Ok(())
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        // release our shared lock first, then remove the directory if no one else reads it
        if let Some(lock) = self.reader_lock.take() {
            let _ = lock.unlock();
        }
        if self.retired.load(Ordering::SeqCst) {
            let dir = self.index.generation_dir().to_path_buf();
            match try_remove_generation(&dir) {
                Ok(true) => tracing::info!(generation = %self.name, "removed retired generation"),
                Ok(false) => {}
                Err(e) => tracing::warn!(generation = %self.name, "could not remove: {e}"),
            }
        }
    }
}

/// The vectors of `index`'s generation for `model`; `Ok(Err(reason))` when they were made
/// by another model (dense search is then off until a rebuild).
fn open_vectors(
    index: &CaseIndex,
    model: &DenseModel,
) -> Result<std::result::Result<VectorStore, String>> {
    let dir = index.generation_dir().join(VECTORS_DIR);
    if dir.join("meta.json").exists() {
        let store = VectorStore::open(&dir)?;
        if store.model_id() != model.embedder.model_id() {
            return Ok(Err(format!(
                "the index's vectors were made by model {} but the loaded model is {}: \
                 dense search is off until the index is rebuilt with this model \
                 (`leian rebuild --model DIR`)",
                store.model_id(),
                model.embedder.model_id()
            )));
        }
        Ok(Ok(store))
    } else {
        Ok(Ok(VectorStore::create(
            model.embedder.dim(),
            HnswParams::default(),
        )?
        .with_model_id(model.embedder.model_id())))
    }
}

pub(crate) fn io_err(path: &Path, e: std::io::Error) -> EngineError {
    EngineError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, e))
}

/// A shared lock on `path` (created when missing), held while the file stays open.
pub(crate) fn lock_shared(path: &Path) -> Result<File> {
    let f = open_lock_file(path)?;
    f.lock_shared().map_err(|e| io_err(path, e))?;
    Ok(f)
}

/// The exclusive writer lock of index `root`, waiting for it when `wait`; `Ok(None)` when
/// not waiting and another writer holds it.
pub(crate) fn lock_writer(root: &Path, wait: bool) -> Result<Option<File>> {
    fs::create_dir_all(root).map_err(|e| io_err(root, e))?;
    let path = root.join(WRITER_LOCK_FILE);
    let f = open_lock_file(&path)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) if wait => {
            tracing::warn!(
                "another leian process is writing to {} (ingest, rebuild or backup); waiting",
                root.display()
            );
            f.lock().map_err(|e| io_err(&path, e))?;
            Ok(Some(f))
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path, e)),
    }
}

/// Removes generation dir `dir` when no process holds it open. `Ok(false)`: in use.
pub(crate) fn try_remove_generation(dir: &Path) -> Result<bool> {
    let lock_path = dir.join(READERS_FILE);
    if lock_path.exists() {
        let f = open_lock_file(&lock_path)?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
        }
        // holding the exclusive lock: nobody can open it (they'd block on READERS)
        fs::remove_dir_all(dir).map_err(|e| io_err(dir, e))?;
        drop(f);
    } else {
        fs::remove_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    Ok(true)
}

/// Removes every generation but `live` that no process uses: older ones, and newer ones
/// a crashed rebuild left half-built. Returns the names removed.
pub(crate) fn collect_garbage(root: &Path, live: &str) -> Result<Vec<String>> {
    let live_n = generation_number(live).unwrap_or(0);
    let mut removed = Vec::new();
    for (n, name) in list_generations(root)? {
        if name == live {
            continue;
        }
        let dir = root.join(&name);
        if n > live_n && !dir.join(READERS_FILE).exists() {
            let young = fs::metadata(&dir)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_none_or(|age| age < UNLOCKED_GRACE);
            if young {
                continue;
            }
        }
        if try_remove_generation(&dir)? {
            removed.push(name);
        }
    }
    if !removed.is_empty() {
        tracing::info!(?removed, "removed unused generations");
    }
    Ok(removed)
}

/// Creates the directory of a new generation and takes its READERS lock before anything
/// else is written, so a concurrent garbage collection never takes it for abandoned.
pub(crate) fn reserve_generation(root: &Path, name: &str) -> Result<File> {
    let dir = root.join(name);
    fs::create_dir(&dir).map_err(|e| io_err(&dir, e))?;
    lock_shared(&dir.join(READERS_FILE))
}

/// Checks that a generation is whole before it is served: `meta.json` readable, every
/// tantivy file's checksum right, every stored case readable, vectors loadable.
pub(crate) fn verify_generation(index: &CaseIndex) -> std::result::Result<GenerationMeta, String> {
    let meta = index.meta().map_err(|e| e.to_string())?;
    index
        .validate_checksums()
        .map_err(|e| format!("full-text index: {e}"))?;
    let n = index.num_cases();
    let mut read = 0u64;
    index
        .for_each_case(|_| {
            read += 1;
            Ok(())
        })
        .map_err(|e| format!("stored cases: {e}"))?;
    if read != n {
        return Err(format!("{n} cases indexed but {read} readable"));
    }
    let vec_dir = index.generation_dir().join(VECTORS_DIR);
    if vec_dir.join("meta.json").exists() {
        VectorStore::open(&vec_dir).map_err(|e| format!("vectors: {e}"))?;
    }
    Ok(meta)
}

pub(crate) fn poisoned() -> EngineError {
    EngineError::InvalidRequest("an earlier panic left the engine's state poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(root: &Path) -> Vec<String> {
        list_generations(root)
            .expect("list")
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    }

    #[test]
    fn a_generation_in_use_is_never_removed() {
        let root = tempfile::tempdir().expect("tempdir");
        let reader = reserve_generation(root.path(), "gen-000001").expect("reserve");
        let dir = root.path().join("gen-000001");
        assert!(
            !try_remove_generation(&dir).expect("try"),
            "held by a reader"
        );
        assert!(dir.exists());
        drop(reader);
        assert!(try_remove_generation(&dir).expect("try"), "free now");
        assert!(!dir.exists());
    }

    #[test]
    fn one_writer_at_a_time() {
        let root = tempfile::tempdir().expect("tempdir");
        let first = lock_writer(root.path(), false).expect("lock");
        assert!(first.is_some());
        assert!(
            lock_writer(root.path(), false).expect("lock").is_none(),
            "taken"
        );
        drop(first);
        assert!(lock_writer(root.path(), false).expect("lock").is_some());
    }

    #[test]
    fn garbage_is_old_unused_generations_not_live_used_or_young_ones() {
        let root = tempfile::tempdir().expect("tempdir");
        // gen 1: old and unused; gen 2: old but read; gen 3: live; gen 4: being built
        // (no READERS yet, just created: within the grace period)
        for name in ["gen-000001", "gen-000002", "gen-000003"] {
            drop(reserve_generation(root.path(), name).expect("reserve"));
        }
        let reader =
            lock_shared(&root.path().join("gen-000002").join(READERS_FILE)).expect("reader");
        fs::create_dir(root.path().join("gen-000004")).expect("mkdir");
        let removed = collect_garbage(root.path(), "gen-000003").expect("gc");
        assert_eq!(removed, vec!["gen-000001".to_string()]);
        assert_eq!(
            names(root.path()),
            ["gen-000002", "gen-000003", "gen-000004"]
        );
        drop(reader);
        let removed = collect_garbage(root.path(), "gen-000003").expect("gc");
        assert_eq!(removed, vec!["gen-000002".to_string()]);
        assert_eq!(names(root.path()), ["gen-000003", "gen-000004"]);
    }
}
