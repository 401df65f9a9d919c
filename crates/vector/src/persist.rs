//! Saving and opening a store directory.
//!
//! Layout: `meta.json`, `vectors.f32` (rows × dim little-endian f32), `rows.bin` (per row:
//! doc as little-endian u64, then 1 byte: 1 = live, 0 = tombstoned).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, VectorError};
use crate::params::HnswParams;
use crate::store::VectorStore;

const FORMAT_VERSION: u32 = 1;
const META_FILE: &str = "meta.json";
const VECTORS_FILE: &str = "vectors.f32";
const ROWS_FILE: &str = "rows.bin";
const ROW_BYTES: usize = 9;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    format_version: u32,
    dim: usize,
    params: HnswParams,
    /// Live cases.
    count: usize,
    /// Stored rows, tombstoned ones included.
    rows: usize,
    model_id: String,
}

impl VectorStore {
    /// Writes the store to `dir`, replacing what is there.
    ///
    /// Files are written and synced in a sibling temporary directory, which is then renamed to
    /// `dir`. An existing `dir` is first renamed aside and removed after the swap, so a reader
    /// never sees a half-written store; a crash between the two renames leaves the old store in
    /// `<dir>.old-<pid>`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dir
            .file_name()
            .ok_or_else(|| VectorError::corrupt(dir, "store path has no directory name"))?
            .to_string_lossy()
            .into_owned();
        let pid = std::process::id();
        let tmp = parent.join(format!(".{name}.tmp-{pid}"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| VectorError::io(&tmp, e))?;
        }
        fs::create_dir_all(&tmp).map_err(|e| VectorError::io(&tmp, e))?;
        if let Err(e) = self.write_files(&tmp) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let old = parent.join(format!(".{name}.old-{pid}"));
        let had_old = dir.exists();
        if had_old {
            fs::rename(dir, &old).map_err(|e| VectorError::io(dir, e))?;
        }
        fs::rename(&tmp, dir).map_err(|e| VectorError::io(dir, e))?;
        if had_old {
            fs::remove_dir_all(&old).map_err(|e| VectorError::io(&old, e))?;
        }
        if let Ok(d) = File::open(&parent) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let meta = Meta {
            format_version: FORMAT_VERSION,
            dim: self.dim,
            params: self.params,
            count: self.cases.len(),
            rows: self.owners.len(),
            model_id: self.model_id.clone(),
        };
        write_synced(&dir.join(VECTORS_FILE), |w| {
            for x in &self.vectors {
                w.write_all(&x.to_le_bytes())?;
            }
            Ok(())
        })?;
        write_synced(&dir.join(ROWS_FILE), |w| {
            for (doc, alive) in self.owners.iter().zip(&self.alive) {
                w.write_all(&doc.to_le_bytes())?;
                w.write_all(&[u8::from(*alive)])?;
            }
            Ok(())
        })?;
        let meta_path = dir.join(META_FILE);
        let json = serde_json::to_vec_pretty(&meta).map_err(|source| VectorError::Meta {
            path: meta_path.clone(),
            source,
        })?;
        write_synced(&meta_path, |w| w.write_all(&json))
    }

    /// Opens a store saved by [`Self::save`]. Checks that every file agrees with `meta.json`
    /// and that every stored vector is finite and of unit length.
    pub fn open(dir: &Path) -> Result<Self> {
        let meta_path = dir.join(META_FILE);
        let meta_bytes = fs::read(&meta_path).map_err(|e| VectorError::io(&meta_path, e))?;
        let meta: Meta =
            serde_json::from_slice(&meta_bytes).map_err(|source| VectorError::Meta {
                path: meta_path.clone(),
                source,
            })?;
        if meta.format_version != FORMAT_VERSION {
            return Err(VectorError::corrupt(
                &meta_path,
                format!(
                    "format version {} (this build reads {FORMAT_VERSION})",
                    meta.format_version
                ),
            ));
        }
        if meta.dim == 0 {
            return Err(VectorError::corrupt(&meta_path, "dim is 0"));
        }
        meta.params.validate()?;

        let vectors_path = dir.join(VECTORS_FILE);
        let raw = fs::read(&vectors_path).map_err(|e| VectorError::io(&vectors_path, e))?;
        let expected = meta
            .rows
            .checked_mul(meta.dim)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| VectorError::corrupt(&meta_path, "rows × dim overflows"))?;
        if raw.len() != expected {
            return Err(VectorError::corrupt(
                &vectors_path,
                format!(
                    "{} bytes, expected {expected} for {} rows of dim {}",
                    raw.len(),
                    meta.rows,
                    meta.dim
                ),
            ));
        }
        let vectors: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        for (row, v) in vectors.chunks_exact(meta.dim).enumerate() {
            let norm2: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            if !norm2.is_finite() || (norm2 - 1.0).abs() > 1e-3 {
                return Err(VectorError::corrupt(
                    &vectors_path,
                    format!("row {row} is not a finite unit vector (squared norm {norm2})"),
                ));
            }
        }

        let rows_path = dir.join(ROWS_FILE);
        let raw_rows = fs::read(&rows_path).map_err(|e| VectorError::io(&rows_path, e))?;
        if raw_rows.len() != meta.rows * ROW_BYTES {
            return Err(VectorError::corrupt(
                &rows_path,
                format!(
                    "{} bytes, expected {} for {} rows",
                    raw_rows.len(),
                    meta.rows * ROW_BYTES,
                    meta.rows
                ),
            ));
        }
        let mut owners = Vec::with_capacity(meta.rows);
        let mut alive = Vec::with_capacity(meta.rows);
        for (row, r) in raw_rows.chunks_exact(ROW_BYTES).enumerate() {
            let mut doc = [0u8; 8];
            doc.copy_from_slice(&r[..8]);
            owners.push(u64::from_le_bytes(doc));
            alive.push(match r[8] {
                0 => false,
                1 => true,
                b => {
                    return Err(VectorError::corrupt(
                        &rows_path,
                        format!("row {row} has liveness byte {b}"),
                    ))
                }
            });
        }
        let store =
            VectorStore::from_parts(meta.dim, meta.params, meta.model_id, vectors, owners, alive);
        if store.len() != meta.count {
            return Err(VectorError::corrupt(
                &rows_path,
                format!("{} live cases, meta.json says {}", store.len(), meta.count),
            ));
        }
        Ok(store)
    }
}

fn write_synced(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
) -> Result<()> {
    let file = File::create(path).map_err(|e| VectorError::io(path, e))?;
    let mut w = BufWriter::new(&file);
    body(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| VectorError::io(path, e))?;
    drop(w);
    file.sync_all().map_err(|e| VectorError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recall_tests::TestRng;

    fn sample_store() -> VectorStore {
        let mut rng = TestRng::new(9);
        let mut s = VectorStore::create(32, HnswParams::default())
            .expect("valid")
            .with_model_id("bge-small-zh-v1.5");
        for doc in 0..400u64 {
            let chunks: Vec<Vec<f32>> = (0..1 + doc % 3).map(|_| rng.gaussian_vec(32)).collect();
            s.insert_case(doc, &chunks).expect("valid");
        }
        s.delete_case(5);
        s.delete_case(17);
        s
    }

    #[test]
    fn save_and_open_round_trip_with_same_results_and_tombstones() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("store");
        let s = sample_store();
        s.save(&dir).expect("save");
        let r = VectorStore::open(&dir).expect("open");
        assert_eq!(r.len(), 398);
        assert_eq!(r.dim(), 32);
        assert_eq!(r.model_id(), "bge-small-zh-v1.5");
        assert_eq!(r.params(), s.params());
        assert_eq!(r.vector_count(), s.vector_count());
        assert!(!r.contains(5) && !r.contains(17) && r.contains(6));
        let mut rng = TestRng::new(10);
        for _ in 0..20 {
            let q = rng.gaussian_vec(32);
            assert_eq!(
                s.search(&q, 10, None).expect("valid"),
                r.search(&q, 10, None).expect("valid")
            );
            let hits = r.exact_search(&q, 400, None).expect("valid");
            assert_eq!(hits.len(), 398);
            assert!(hits.iter().all(|h| h.0 != 5 && h.0 != 17));
        }
        // The reopened store still takes inserts, and a second save replaces the first.
        let mut r = r;
        r.insert_case(5, &[rng.gaussian_vec(32)]).expect("valid");
        r.save(&dir).expect("save again");
        let again = VectorStore::open(&dir).expect("open again");
        assert_eq!(again.len(), 399);
        assert!(again.contains(5));
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .expect("read_dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("store")]);
    }

    #[test]
    fn reopened_store_rejects_wrong_dimension_queries() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("s");
        sample_store().save(&dir).expect("save");
        let r = VectorStore::open(&dir).expect("open");
        assert!(matches!(
            r.search(&[1.0; 384], 3, None),
            Err(VectorError::DimMismatch {
                expected: 32,
                got: 384
            })
        ));
    }

    #[test]
    fn open_detects_meta_that_disagrees_with_the_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("s");
        sample_store().save(&dir).expect("save");
        let meta_path = dir.join(META_FILE);
        let text = fs::read_to_string(&meta_path).expect("meta");
        fs::write(&meta_path, text.replace("\"dim\": 32", "\"dim\": 384")).expect("write");
        assert!(matches!(
            VectorStore::open(&dir),
            Err(VectorError::Corrupt { .. })
        ));
    }

    #[test]
    fn open_detects_truncated_vectors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("s");
        sample_store().save(&dir).expect("save");
        let path = dir.join(VECTORS_FILE);
        let mut bytes = fs::read(&path).expect("read");
        bytes.truncate(bytes.len() - 4);
        fs::write(&path, bytes).expect("write");
        assert!(matches!(
            VectorStore::open(&dir),
            Err(VectorError::Corrupt { .. })
        ));
    }

    #[test]
    fn open_missing_dir_is_an_io_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            VectorStore::open(&tmp.path().join("nope")),
            Err(VectorError::Io { .. })
        ));
    }
}
