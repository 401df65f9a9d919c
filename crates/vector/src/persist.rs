//! Saving and opening a store directory.
//!
//! Layout: `meta.json`, `vectors.f32` (rows × dim little-endian f32), `rows.bin` (per row:
//! doc as little-endian u64, then 1 byte: 1 = live, 0 = tombstoned), and `graph.bin` when the
//! HNSW graph is built (see [`write_graph`]).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, VectorError};
use crate::graph::{GraphParts, GraphShape, HnswGraph};
use crate::params::HnswParams;
use crate::store::{VectorStore, EXACT_SCAN_MAX_VECTORS};

const FORMAT_VERSION: u32 = 1;
const META_FILE: &str = "meta.json";
const VECTORS_FILE: &str = "vectors.f32";
const ROWS_FILE: &str = "rows.bin";
const GRAPH_FILE: &str = "graph.bin";
const ROW_BYTES: usize = 9;
const GRAPH_MAGIC: &[u8; 8] = b"LEIANHNS";
const GRAPH_VERSION: u32 = 1;

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
    /// Nodes of the saved HNSW graph (`graph.bin`); absent when no graph was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    graph_nodes: Option<usize>,
}

impl VectorStore {
    /// Writes the store to `dir`, replacing what is there.
    ///
    /// A store past [`EXACT_SCAN_MAX_VECTORS`] live vectors builds its HNSW graph first (on all
    /// cores) and saves it too, so that opening it is ready to search.
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
        if self.vector_count() > EXACT_SCAN_MAX_VECTORS {
            self.build_graph();
        }
        let graph = self.graph.get();
        if let Some(graph) = graph {
            write_synced(&dir.join(GRAPH_FILE), |w| write_graph(w, graph))?;
        }
        let meta = Meta {
            format_version: FORMAT_VERSION,
            dim: self.dim,
            params: self.params,
            count: self.cases.len(),
            rows: self.owners.len(),
            model_id: self.model_id.clone(),
            graph_nodes: graph.map(HnswGraph::len),
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
        let mut vectors: Vec<f32> = Vec::new();
        crate::memory::reserve_huge(&mut vectors, raw.len() / 4);
        vectors.extend(
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        drop(raw);
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
        let graph = match meta.graph_nodes {
            None => None,
            Some(nodes) => {
                let path = dir.join(GRAPH_FILE);
                let bytes = fs::read(&path).map_err(|e| VectorError::io(&path, e))?;
                let shape = GraphShape::of(&meta.params);
                let parts =
                    read_graph(&bytes, shape).map_err(|r| VectorError::corrupt(&path, r))?;
                if parts.levels.len() != nodes {
                    return Err(VectorError::corrupt(
                        &path,
                        format!("{} nodes, meta.json says {nodes}", parts.levels.len()),
                    ));
                }
                Some(
                    HnswGraph::from_parts(parts, meta.rows)
                        .map_err(|r| VectorError::corrupt(&path, r))?,
                )
            }
        };
        let store = VectorStore::from_parts(
            meta.dim,
            meta.params,
            meta.model_id,
            vectors,
            owners,
            alive,
            graph,
        );
        if store.len() != meta.count {
            return Err(VectorError::corrupt(
                &rows_path,
                format!("{} live cases, meta.json says {}", store.len(), meta.count),
            ));
        }
        Ok(store)
    }
}

/// `graph.bin`: magic, version, M, node count, entry (`u32::MAX` for none), upper slot count
/// (little-endian u32/u64), then the levels (a byte per node), the layer-0 slots and the
/// upper-layer slots (little-endian u32).
fn write_graph(w: &mut BufWriter<&File>, graph: &HnswGraph) -> std::io::Result<()> {
    let parts = graph.to_parts();
    w.write_all(GRAPH_MAGIC)?;
    w.write_all(&GRAPH_VERSION.to_le_bytes())?;
    w.write_all(&(parts.shape.m as u32).to_le_bytes())?;
    w.write_all(&(parts.levels.len() as u64).to_le_bytes())?;
    w.write_all(&parts.entry.unwrap_or(u32::MAX).to_le_bytes())?;
    w.write_all(&(parts.upper.len() as u64).to_le_bytes())?;
    w.write_all(&parts.levels)?;
    for x in parts.layer0.iter().chain(&parts.upper) {
        w.write_all(&x.to_le_bytes())?;
    }
    Ok(())
}

/// Parses `graph.bin` for a store whose parameters give `shape`; `Err(reason)` if it is cut
/// short, has trailing bytes or was made with another M.
fn read_graph(bytes: &[u8], shape: GraphShape) -> std::result::Result<GraphParts, String> {
    let mut r = ByteReader { bytes, at: 0 };
    if r.take(GRAPH_MAGIC.len())? != GRAPH_MAGIC {
        return Err("not a graph file (bad magic)".into());
    }
    let version = r.u32()?;
    if version != GRAPH_VERSION {
        return Err(format!(
            "graph format {version}, this build reads {GRAPH_VERSION}"
        ));
    }
    let m = r.u32()? as usize;
    if m != shape.m {
        return Err(format!(
            "graph made with M {m}, the store's params say {}",
            shape.m
        ));
    }
    let nodes = usize::try_from(r.u64()?).map_err(|_| "node count overflows")?;
    let entry = match r.u32()? {
        u32::MAX => None,
        id => Some(id),
    };
    let upper_len = usize::try_from(r.u64()?).map_err(|_| "upper slot count overflows")?;
    let levels = r.take(nodes)?.to_vec();
    let layer0_len = nodes
        .checked_mul(shape.m0 + 1)
        .ok_or("layer-0 size overflows")?;
    let layer0 = r.u32s(layer0_len)?;
    let upper = r.u32s(upper_len)?;
    if r.at != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - r.at));
    }
    Ok(GraphParts {
        shape,
        levels,
        layer0,
        upper,
        entry,
    })
}

struct ByteReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> ByteReader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("cut short at byte {} (needs {n} more)", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn u32s(&mut self, n: usize) -> std::result::Result<Vec<u32>, String> {
        let len = n.checked_mul(4).ok_or("slot count overflows")?;
        Ok(self
            .take(len)?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
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
    use crate::store::SearchPlan;

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
    fn a_built_graph_is_saved_and_reopened_instead_of_rebuilt() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("s");
        let small = sample_store();
        small.save(&dir).expect("save");
        // Below the exact-scan threshold nothing builds a graph, so none is written.
        assert!(!dir.join(GRAPH_FILE).exists());
        assert!(!VectorStore::open(&dir).expect("open").has_graph());

        let s = sample_store();
        s.build_graph_on(1);
        s.save(&dir).expect("save with graph");
        let r = VectorStore::open(&dir).expect("open");
        assert!(r.has_graph(), "open loads graph.bin");
        assert_eq!(r.graph_bytes(), s.graph_bytes());
        let mut rng = TestRng::new(12);
        for _ in 0..20 {
            let q = rng.gaussian_vec(32);
            assert_eq!(
                s.search_with_plan(&q, 10, None, SearchPlan::Graph)
                    .expect("valid"),
                r.search_with_plan(&q, 10, None, SearchPlan::Graph)
                    .expect("valid")
            );
        }
    }

    #[test]
    fn a_damaged_graph_file_is_reported_not_trusted() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("s");
        let s = sample_store();
        s.build_graph_on(1);
        s.save(&dir).expect("save");
        let path = dir.join(GRAPH_FILE);
        let good = fs::read(&path).expect("read");

        let mut cut = good.clone();
        cut.truncate(good.len() - 3);
        fs::write(&path, &cut).expect("write");
        let err = VectorStore::open(&dir).expect_err("truncated graph");
        assert!(err.to_string().contains("cut short"), "{err}");

        // A neighbour id past the last node (layer-0 slots start after the 36-byte header and
        // one level byte per row; slot 1 of node 0 is its first neighbour).
        let rows = s.owners.len();
        let mut bad = good.clone();
        let at = 36 + rows + 4;
        bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        fs::write(&path, &bad).expect("write");
        let err = VectorStore::open(&dir).expect_err("bad id");
        assert!(err.to_string().contains("links to node"), "{err}");

        fs::remove_file(&path).expect("remove");
        assert!(matches!(
            VectorStore::open(&dir),
            Err(VectorError::Io { .. })
        ));

        fs::write(&path, &good).expect("restore");
        assert!(VectorStore::open(&dir).expect("open").has_graph());
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
