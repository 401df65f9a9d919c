//! On-disk cache of embedding vectors: (model id, sha256 of the exact
//! prefixed input text) → vector.
//!
//! One append-only file per model in the cache directory:
//!
//! ```text
//! header: "LEIANEC1", u32 dim, u16 model-id length, model id (UTF-8)
//! record: 32-byte sha256(text), dim × f32 LE, 4-byte check
//!         (first 4 bytes of sha256 over the key and the vector bytes)
//! ```
//!
//! On open, records are read until the first incomplete or failing record;
//! the file is truncated there (a crash mid-append loses only that tail).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{EmbedError, Result};
use crate::fetch::hex;

const MAGIC: &[u8; 8] = b"LEIANEC1";
const KEY_LEN: usize = 32;
const CHECK_LEN: usize = 4;

type Key = [u8; KEY_LEN];

/// Persistent map from input text to vector for one model.
#[derive(Debug)]
pub struct EmbeddingCache {
    path: PathBuf,
    model_id: String,
    dim: Option<usize>,
    entries: HashMap<Key, Vec<f32>>,
    pending: Vec<Key>,
    /// Whether the file already starts with a valid header.
    has_header: bool,
}

impl EmbeddingCache {
    /// Opens (or creates) the cache file for `model_id` inside `dir`, and reads every
    /// part file of the same model beside it (written by [`EmbeddingCache::open_part`]
    /// on other machines or processes and copied in): their vectors are hits too.
    pub fn open(dir: &Path, model_id: &str) -> Result<EmbeddingCache> {
        let mut cache = Self::open_file(dir, model_id, file_name(model_id))?;
        let prefix = part_prefix(model_id);
        let entries = std::fs::read_dir(dir).map_err(|e| EmbedError::io("listing", dir, e))?;
        let mut parts: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".emb"))
            })
            .collect();
        parts.sort();
        for part in parts {
            cache.import_part(&part)?;
        }
        Ok(cache)
    }

    /// Opens (or creates) a part file for `model_id` inside `dir` (`part` names it, e.g.
    /// `shard-0-of-2`): a bulk job writes only its own part, so any number of them can
    /// run at once, and [`EmbeddingCache::open`] of the directory reads them all.
    pub fn open_part(dir: &Path, model_id: &str, part: &str) -> Result<EmbeddingCache> {
        let safe: String = part
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self::open_file(
            dir,
            model_id,
            format!("{}{safe}.emb", part_prefix(model_id)),
        )
    }

    fn open_file(dir: &Path, model_id: &str, name: String) -> Result<EmbeddingCache> {
        std::fs::create_dir_all(dir).map_err(|e| EmbedError::io("creating", dir, e))?;
        let path = dir.join(name);
        let mut cache = EmbeddingCache {
            path,
            model_id: model_id.to_owned(),
            dim: None,
            entries: HashMap::new(),
            pending: Vec::new(),
            has_header: false,
        };
        if cache.path.exists() {
            cache.load()?;
        }
        Ok(cache)
    }

    /// Path of the backing file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model this cache belongs to.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Number of cached vectors (including unflushed ones).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds no vectors.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The vector for `text` (the exact model input, prefix included).
    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.entries.get(&key(text)).map(Vec::as_slice)
    }

    /// Adds a vector; kept in memory until [`flush`](Self::flush). A text
    /// already present is left unchanged. All vectors must have one dimension.
    pub fn put(&mut self, text: &str, vector: Vec<f32>) -> Result<()> {
        match self.dim {
            Some(d) if d != vector.len() => {
                return Err(EmbedError::Cache {
                    path: self.path.clone(),
                    reason: format!("vector has {} dimensions, cache holds {d}", vector.len()),
                });
            }
            None if vector.is_empty() => {
                return Err(EmbedError::InvalidArgument("empty vector".to_owned()));
            }
            _ => {}
        }
        self.dim = Some(vector.len());
        let k = key(text);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.entries.entry(k) {
            slot.insert(vector);
            self.pending.push(k);
        }
        Ok(())
    }

    /// Appends unflushed vectors to the file and syncs it.
    pub fn flush(&mut self) -> Result<()> {
        let Some(dim) = self.dim else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        if !self.has_header {
            buf.extend_from_slice(MAGIC);
            buf.extend_from_slice(&(dim as u32).to_le_bytes());
            buf.extend_from_slice(&(self.model_id.len() as u16).to_le_bytes());
            buf.extend_from_slice(self.model_id.as_bytes());
        }
        for k in &self.pending {
            let v = &self.entries[k];
            let start = buf.len();
            buf.extend_from_slice(k);
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            let check = Sha256::digest(&buf[start..]);
            buf.extend_from_slice(&check[..CHECK_LEN]);
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| EmbedError::io("opening", &self.path, e))?;
        f.write_all(&buf)
            .and_then(|()| f.sync_data())
            .map_err(|e| EmbedError::io("appending to", &self.path, e))?;
        self.has_header = true;
        self.pending.clear();
        Ok(())
    }

    fn load(&mut self) -> Result<()> {
        let bytes =
            std::fs::read(&self.path).map_err(|e| EmbedError::io("reading", &self.path, e))?;
        let Some((dim, id, pos)) = parse_header(&bytes) else {
            tracing::warn!(path = %self.path.display(), "embedding cache header unreadable; starting empty");
            self.truncate(0)?;
            return Ok(());
        };
        if id != self.model_id {
            return Err(EmbedError::Cache {
                path: self.path.clone(),
                reason: format!("belongs to model {id:?}, not {:?}", self.model_id),
            });
        }
        self.dim = Some(dim);
        self.has_header = true;
        let pos = read_records(&bytes, pos, dim, |k, v| {
            self.entries.insert(k, v);
        });
        if pos != bytes.len() {
            tracing::warn!(
                path = %self.path.display(),
                kept = self.entries.len(),
                dropped_bytes = bytes.len() - pos,
                "embedding cache has a corrupt tail; truncating"
            );
            self.truncate(pos as u64)?;
        }
        Ok(())
    }

    /// Reads another file's records as hits (never written or truncated here): a part
    /// of another model, or with an unreadable header, is skipped with a warning.
    fn import_part(&mut self, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| EmbedError::io("reading", path, e))?;
        let Some((dim, id, pos)) = parse_header(&bytes) else {
            tracing::warn!(path = %path.display(), "embedding cache part header unreadable; skipped");
            return Ok(());
        };
        if id != self.model_id || self.dim.is_some_and(|d| d != dim) {
            tracing::warn!(path = %path.display(), model = %id, "embedding cache part of another model; skipped");
            return Ok(());
        }
        self.dim = Some(dim);
        read_records(&bytes, pos, dim, |k, v| {
            self.entries.entry(k).or_insert(v);
        });
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| EmbedError::io("opening", &self.path, e))?;
        f.set_len(len)
            .map_err(|e| EmbedError::io("truncating", &self.path, e))?;
        if len == 0 {
            self.has_header = false;
        }
        Ok(())
    }
}

/// Calls `each` for every valid record from `pos` on, stopping at the first incomplete
/// or failing one; returns where it stopped (the end of the valid records).
fn read_records(
    bytes: &[u8],
    mut pos: usize,
    dim: usize,
    mut each: impl FnMut(Key, Vec<f32>),
) -> usize {
    let record = KEY_LEN + dim * 4 + CHECK_LEN;
    while pos + record <= bytes.len() {
        let body = &bytes[pos..pos + record - CHECK_LEN];
        let check = &bytes[pos + record - CHECK_LEN..pos + record];
        if Sha256::digest(body)[..CHECK_LEN] != *check {
            break;
        }
        let mut k = [0u8; KEY_LEN];
        k.copy_from_slice(&body[..KEY_LEN]);
        let v = body[KEY_LEN..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        each(k, v);
        pos += record;
    }
    pos
}

fn parse_header(bytes: &[u8]) -> Option<(usize, String, usize)> {
    if bytes.len() < 14 || &bytes[..8] != MAGIC {
        return None;
    }
    let dim = u32::from_le_bytes(bytes[8..12].try_into().ok()?) as usize;
    let id_len = u16::from_le_bytes(bytes[12..14].try_into().ok()?) as usize;
    let id = std::str::from_utf8(bytes.get(14..14 + id_len)?).ok()?;
    (dim > 0).then(|| (dim, id.to_owned(), 14 + id_len))
}

fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

/// `<file name without .emb>.part-`: what part files of `model_id` start with.
fn part_prefix(model_id: &str) -> String {
    let main = file_name(model_id);
    format!("{}.part-", main.trim_end_matches(".emb"))
}

/// `<readable part of the id>-<8 hex of its sha256>.emb`: safe on any
/// filesystem and distinct for distinct ids.
fn file_name(model_id: &str) -> String {
    let readable: String = model_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let h = hex(&Sha256::digest(model_id.as_bytes()));
    format!("{readable}-{}.emb", &h[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_files_are_read_as_hits_and_never_written_by_the_main_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = EmbeddingCache::open_part(dir.path(), "m@1", "shard-0-of-2").expect("part");
        a.put("passage: 甲", vec![1.0, 2.0]).expect("put");
        a.flush().expect("flush");
        let mut b = EmbeddingCache::open_part(dir.path(), "m@1", "shard-1-of-2").expect("part");
        b.put("passage: 乙", vec![3.0, 4.0]).expect("put");
        b.flush().expect("flush");
        // a part of another model in the same directory is not read
        let mut other = EmbeddingCache::open_part(dir.path(), "m@2", "shard-0-of-1").expect("part");
        other.put("passage: 丙", vec![5.0, 6.0]).expect("put");
        other.flush().expect("flush");
        let part_a = std::fs::read(a.path()).expect("read");
        let mut main = EmbeddingCache::open(dir.path(), "m@1").expect("open");
        assert_eq!(main.len(), 2);
        assert_eq!(main.get("passage: 乙"), Some(&[3.0, 4.0][..]));
        assert_eq!(main.get("passage: 丙"), None);
        main.put("passage: 丁", vec![7.0, 8.0]).expect("put");
        main.flush().expect("flush");
        assert_eq!(
            std::fs::read(a.path()).expect("read"),
            part_a,
            "parts stay as written"
        );
        let main = EmbeddingCache::open(dir.path(), "m@1").expect("reopen");
        assert_eq!(main.len(), 3);
    }

    #[test]
    fn hits_misses_and_persistence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = EmbeddingCache::open(dir.path(), "m@1").expect("open");
        assert!(c.is_empty());
        assert_eq!(c.get("passage: 甲"), None);
        c.put("passage: 甲", vec![1.0, 2.0, 3.0]).expect("put");
        c.put("passage: 乙", vec![4.0, 5.0, 6.0]).expect("put");
        assert_eq!(c.get("passage: 甲"), Some(&[1.0, 2.0, 3.0][..]));
        assert_eq!(c.get("query: 甲"), None); // the prefix is part of the key
        assert!(c.put("x", vec![1.0]).is_err()); // wrong dimension
        c.flush().expect("flush");
        c.put("passage: 丙", vec![7.0, 8.0, 9.0]).expect("put");
        c.flush().expect("flush");
        drop(c);

        let c = EmbeddingCache::open(dir.path(), "m@1").expect("reopen");
        assert_eq!(c.len(), 3);
        assert_eq!(c.get("passage: 乙"), Some(&[4.0, 5.0, 6.0][..]));
        assert_eq!(c.get("passage: 丙"), Some(&[7.0, 8.0, 9.0][..]));
        // Another model gets another file.
        let other = EmbeddingCache::open(dir.path(), "m@2").expect("open other");
        assert!(other.is_empty());
        assert_ne!(other.path(), c.path());
    }

    #[test]
    fn corrupt_tail_is_truncated_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = EmbeddingCache::open(dir.path(), "m").expect("open");
        c.put("a", vec![1.0, 2.0]).expect("put");
        c.put("b", vec![3.0, 4.0]).expect("put");
        c.flush().expect("flush");
        let path = c.path().to_owned();
        drop(c);
        let good_len = std::fs::metadata(&path).expect("meta").len();
        let record = (KEY_LEN + 2 * 4 + CHECK_LEN) as u64;

        // A half-written record at the end.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        f.write_all(&[7u8; 20]).expect("write");
        drop(f);
        let c = EmbeddingCache::open(dir.path(), "m").expect("reopen");
        assert_eq!(c.len(), 2);
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), good_len);
        drop(c);

        // A flipped byte in the last record: that record is dropped.
        let mut bytes = std::fs::read(&path).expect("read");
        let n = bytes.len();
        bytes[n - 6] ^= 0xff;
        std::fs::write(&path, &bytes).expect("write");
        let mut c = EmbeddingCache::open(dir.path(), "m").expect("reopen");
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("a"), Some(&[1.0, 2.0][..]));
        assert_eq!(
            std::fs::metadata(&path).expect("meta").len(),
            good_len - record
        );
        // And it keeps working after the repair.
        c.put("b", vec![3.0, 4.0]).expect("put");
        c.flush().expect("flush");
        drop(c);
        assert_eq!(
            EmbeddingCache::open(dir.path(), "m").expect("reopen").len(),
            2
        );
    }

    #[test]
    fn garbage_file_starts_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(file_name("m"));
        std::fs::write(&path, b"LEIAN").expect("write");
        let mut c = EmbeddingCache::open(dir.path(), "m").expect("open");
        assert!(c.is_empty());
        c.put("a", vec![1.0]).expect("put");
        c.flush().expect("flush");
        assert_eq!(
            EmbeddingCache::open(dir.path(), "m").expect("reopen").len(),
            1
        );
    }
}
