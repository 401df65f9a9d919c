//! The index lifecycle admins drive: rebuild into a fresh generation while searches go
//! on, consistent backups while serving, restore, and stats.
//!
//! A rebuild reads every stored case and statute of the live generation, writes them
//! into a new generation (re-embedding with the new model only what the cache lacks),
//! verifies it (checksums, counts, a smoke query in each list) and only then makes it
//! live by rewriting `CURRENT` atomically. It holds the writer lock throughout, so no
//! ingest is lost between the copy and the switch (ingests wait for it).

use super::generation::{
    collect_garbage, io_err, lock_writer, poisoned, reserve_generation, verify_generation,
    Generation, READERS_FILE, WRITER_LOCK_FILE,
};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::key::doc_key;
use crate::model::DenseModel;
use leian_index::{
    generation_name, list_generations, read_generation_meta, set_current_generation, CaseIndex,
    Filters, SearchRequest,
};
use leian_ingest::Case;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Cases read, embedded and written per step of a rebuild.
const REBUILD_BATCH: usize = 256;
/// Name of the manifest inside a backup archive.
const BACKUP_MANIFEST: &str = "leian-backup.json";

/// What a rebuild is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebuildPhase {
    Statutes,
    Cases,
    Verifying,
    Done,
}

/// Progress of a rebuild, as reported to its caller after every batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebuildProgress {
    pub phase: RebuildPhase,
    /// The generation being built.
    pub generation: String,
    pub done: u64,
    pub total: u64,
    pub percent: f64,
    pub elapsed_s: f64,
    pub cases_per_s: f64,
    /// Seconds left at the current rate (unknown before the first batch).
    pub eta_s: Option<f64>,
}

impl RebuildProgress {
    /// A line for a log at about every tenth of the cases (and at the last), `None` in
    /// between: what a rebuild says where no progress bar can be drawn.
    pub fn milestone(&self) -> Option<String> {
        if self.phase != RebuildPhase::Cases || self.total == 0 {
            return None;
        }
        let step = (self.total / 10).max(1);
        // progress comes after every batch of REBUILD_BATCH cases, so a step is met within
        // one batch of it
        (self.done % step < REBUILD_BATCH as u64 || self.done == self.total).then(|| {
            format!(
                "rebuild {}: {}/{} cases ({:.0} %), {:.0} cases/s, eta {}",
                self.generation,
                self.done,
                self.total,
                self.percent,
                self.cases_per_s,
                self.eta_s.map_or("?".into(), |s| format!("{s:.0} s"))
            )
        })
    }
}

/// How to rebuild.
#[derive(Debug, Clone, Default)]
pub struct RebuildOptions {
    /// Embed with this model (HF-layout dir) instead of the current one.
    pub model_dir: Option<PathBuf>,
}

/// What a finished rebuild did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebuildReport {
    pub from: String,
    pub to: String,
    pub cases: u64,
    pub statutes: u64,
    pub chunks: usize,
    pub chunks_computed: usize,
    pub model_id: Option<String>,
    pub seconds: f64,
}

/// One generation on disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationInfo {
    pub name: String,
    pub number: u32,
    pub live: bool,
    pub case_count: Option<u64>,
    pub created_at: Option<u64>,
    pub bytes: u64,
}

/// `leian stats` / `GET /v1/admin/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexStats {
    pub index_dir: String,
    pub cases: u64,
    pub statutes: u64,
    /// Number of the live generation.
    pub generation: u32,
    pub generation_name: String,
    pub generations: Vec<GenerationInfo>,
    pub tiers: BTreeMap<String, u64>,
    pub categories: BTreeMap<String, u64>,
    pub court_levels: BTreeMap<String, u64>,
    pub model_id: Option<String>,
    pub dense_off_reason: Option<String>,
    /// Cases with vectors, and vectors (chunks) in all.
    pub cases_with_vectors: u64,
    pub vectors: u64,
    pub disk_bytes: u64,
    pub commit_seq: u64,
    /// Unix seconds of the last commit (ingest), 0 if none.
    pub last_commit_at: u64,
    /// The newest lines of the source manifest.
    pub recent_sources: Vec<String>,
}

/// In words, as `leian stats` prints it.
impl std::fmt::Display for IndexStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "index {}", self.index_dir)?;
        writeln!(
            f,
            "live generation {} ({}), {} cases, {} statutes, model {}",
            self.generation,
            self.generation_name,
            self.cases,
            self.statutes,
            self.model_id.as_deref().unwrap_or("none")
        )?;
        writeln!(f, "tiers: {}", counts(&self.tiers))?;
        writeln!(f, "categories: {}", counts(&self.categories))?;
        writeln!(f, "court levels: {}", counts(&self.court_levels))?;
        for g in &self.generations {
            writeln!(
                f,
                "  {}{} cases {} size {:.1} MiB",
                g.name,
                if g.live { " (live)" } else { "" },
                g.case_count.map_or("?".into(), |n| n.to_string()),
                g.bytes as f64 / 1048576.0
            )?;
        }
        writeln!(
            f,
            "disk {:.1} MiB; commits {}; last commit at {} (unix)",
            self.disk_bytes as f64 / 1048576.0,
            self.commit_seq,
            self.last_commit_at
        )?;
        for s in &self.recent_sources {
            writeln!(f, "  source: {s}")?;
        }
        Ok(())
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: u32,
    pub generation: String,
    pub cases: u64,
    pub statutes: u64,
    pub created_at: u64,
    pub files: Vec<String>,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    pub generation: String,
    pub cases: u64,
    /// Where the index that was there before went (nothing is deleted).
    pub previous_moved_to: Option<String>,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

struct Meter {
    started: Instant,
    generation: String,
}

impl Meter {
    fn progress(&self, phase: RebuildPhase, done: u64, total: u64) -> RebuildProgress {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let rate = if elapsed_s > 0.0 {
            done as f64 / elapsed_s
        } else {
            0.0
        };
        RebuildProgress {
            phase,
            generation: self.generation.clone(),
            done,
            total,
            percent: if total == 0 {
                100.0
            } else {
                100.0 * done as f64 / total as f64
            },
            elapsed_s,
            cases_per_s: rate,
            eta_s: (rate > 0.0).then(|| total.saturating_sub(done) as f64 / rate),
        }
    }
}

impl Engine {
    /// Rebuilds the index into a new generation and makes it live; waits for another
    /// writer to finish first. Searches keep using the old generation until the switch.
    pub fn rebuild(
        &self,
        options: &RebuildOptions,
        progress: &mut dyn FnMut(&RebuildProgress),
    ) -> Result<RebuildReport> {
        let lock = lock_writer(self.root(), true)?
            .ok_or_else(|| EngineError::WriterBusy(self.root().to_path_buf()))?;
        self.rebuild_locked(lock, options, progress)
    }

    /// [`Engine::rebuild`] that fails with [`EngineError::WriterBusy`] instead of waiting.
    pub fn try_rebuild(
        &self,
        options: &RebuildOptions,
        progress: &mut dyn FnMut(&RebuildProgress),
    ) -> Result<RebuildReport> {
        let lock = lock_writer(self.root(), false)?
            .ok_or_else(|| EngineError::WriterBusy(self.root().to_path_buf()))?;
        self.rebuild_locked(lock, options, progress)
    }

    fn rebuild_locked(
        &self,
        _lock: File,
        options: &RebuildOptions,
        progress: &mut dyn FnMut(&RebuildProgress),
    ) -> Result<RebuildReport> {
        self.refresh()?;
        let old = self.current()?;
        let model: Option<Arc<DenseModel>> = match &options.model_dir {
            Some(dir) => {
                if !dir.join("config.json").exists() {
                    return Err(EngineError::InvalidRequest(format!(
                        "no model at {} (config.json missing)",
                        dir.display()
                    )));
                }
                Some(Arc::new(DenseModel::load(
                    dir,
                    &self.cache_dir(),
                    self.max_chunks(),
                    self.precision(),
                )?))
            }
            None => self.loaded_model()?,
        };
        let next = list_generations(self.root())?
            .last()
            .map_or(1, |(n, _)| n + 1)
            .max(old.number() + 1);
        let name = generation_name(next);
        let reservation = reserve_generation(self.root(), &name)?;
        let built = self.build_generation(&old, &name, model.as_ref(), progress);
        drop(reservation);
        let (generation, report) = match built {
            Ok(ok) => ok,
            Err(e) => {
                let dir = self.root().join(&name);
                if let Err(rm) = fs::remove_dir_all(&dir) {
                    tracing::warn!("could not remove failed generation {}: {rm}", dir.display());
                }
                return Err(e);
            }
        };
        set_current_generation(self.root(), &name)?;
        if options.model_dir.is_some() {
            self.set_loaded_model(model)?;
        }
        self.install_generation(generation)?;
        drop(old);
        if let Err(e) = collect_garbage(self.root(), &name) {
            tracing::warn!("could not clean old generations: {e}");
        }
        Ok(report)
    }

    fn build_generation(
        &self,
        old: &Generation,
        name: &str,
        model: Option<&Arc<DenseModel>>,
        progress: &mut dyn FnMut(&RebuildProgress),
    ) -> Result<(Generation, RebuildReport)> {
        let meter = Meter {
            started: Instant::now(),
            generation: name.to_string(),
        };
        let index = CaseIndex::create_generation(self.root(), name, Default::default())?;
        let reason = match model {
            Some(_) => None,
            None => Some("no embedding model: the rebuilt generation is BM25-only".to_string()),
        };
        let generation = Generation::open(index, model, reason.as_deref())?;
        let mut writer = generation.index.writer()?;
        let statutes_total = old.index.num_statutes();
        let mut statutes = 0u64;
        old.index.for_each_statute(|a| {
            writer.upsert_statute(&a)?;
            statutes += 1;
            if statutes.is_multiple_of(5000) {
                progress(&meter.progress(RebuildPhase::Statutes, statutes, statutes_total));
            }
            Ok(())
        })?;
        let total = old.index.num_cases();
        let mut done = 0u64;
        let mut chunks = (0usize, 0usize);
        let mut with_text = 0u64;
        let mut batch: Vec<Case> = Vec::with_capacity(REBUILD_BATCH);
        let mut failure: Option<EngineError> = None;
        let mut flush = |batch: &mut Vec<Case>,
                         writer: &mut leian_index::CaseWriter,
                         done: &mut u64|
         -> Result<()> {
            for case in batch.iter() {
                super::writer::write_case(writer, case)?;
            }
            let cases: Vec<Case> = std::mem::take(batch);
            let n = cases.len() as u64;
            let (stats, embedded) = super::writer::embed_cases(&generation, cases, &mut |_, _| {})?;
            chunks.0 += stats.chunks;
            chunks.1 += stats.chunks_computed;
            // cases with text to embed: each must end up with vectors
            with_text += embedded.len() as u64;
            if let Some(d) = &generation.dense {
                let mut store = d.vectors.write().map_err(|_| poisoned())?;
                let batch: Vec<(u64, &[Vec<f32>])> = embedded
                    .iter()
                    .map(|(k, _, vecs)| (*k, vecs.as_slice()))
                    .collect();
                store.insert_cases(&batch)?;
            }
            *done += n;
            progress(&meter.progress(RebuildPhase::Cases, *done, total));
            Ok(())
        };
        let walked = old.index.for_each_case(|case| {
            batch.push(case);
            if batch.len() >= REBUILD_BATCH {
                if let Err(e) = flush(&mut batch, &mut writer, &mut done) {
                    failure = Some(e);
                    return Err(leian_index::IndexError::InvalidRequest(
                        "rebuild stopped".into(),
                    ));
                }
            }
            Ok(())
        });
        if let Some(e) = failure {
            return Err(e);
        }
        walked?;
        flush(&mut batch, &mut writer, &mut done)?;
        progress(&meter.progress(RebuildPhase::Verifying, done, total));
        if let Some(d) = &generation.dense {
            let store = d.vectors.read().map_err(|_| poisoned())?;
            store.save(&generation.vectors_dir())?;
        }
        writer.commit()?;
        let old_meta = old.index.meta()?;
        let model_id = model.map(|m| m.id().to_string());
        let meta = generation.index.update_meta(|m| {
            m.model_id = model_id.clone();
            m.model_dir = model.map(|m| m.dir.display().to_string());
            m.sources = old_meta.sources.clone();
            m.sources.push(format!(
                "{} rebuild from {} ({} cases, model {})",
                now_unix(),
                old.name,
                total,
                model_id.as_deref().unwrap_or("none")
            ));
        })?;
        generation
            .seq
            .store(meta.commit_seq, std::sync::atomic::Ordering::SeqCst);
        generation.rebuild_keys()?;
        // verification: whole files, the same counts, and a smoke query in each list
        let fail = |reason: String| EngineError::RebuildVerification {
            generation: name.to_string(),
            reason,
        };
        verify_generation(&generation.index).map_err(&fail)?;
        let cases = generation.index.num_cases();
        if cases != total || done != total {
            return Err(fail(format!(
                "{cases} cases in the new generation, {total} in the live one"
            )));
        }
        if generation.index.num_statutes() != statutes_total {
            return Err(fail(format!(
                "{} statutes in the new generation, {statutes_total} in the live one",
                generation.index.num_statutes()
            )));
        }
        let with_vectors = generation.keys.read().map_err(|_| poisoned())?.len() as u64;
        if generation.dense.is_some() && with_vectors != with_text {
            return Err(fail(format!(
                "{with_vectors} cases have vectors, {with_text} should"
            )));
        }
        self.smoke_test(&generation).map_err(fail)?;
        progress(&meter.progress(RebuildPhase::Done, done, total));
        let report = RebuildReport {
            from: old.name.clone(),
            to: name.to_string(),
            cases,
            statutes,
            chunks: chunks.0,
            chunks_computed: chunks.1,
            model_id,
            seconds: meter.started.elapsed().as_secs_f64(),
        };
        Ok((generation, report))
    }

    /// A case of the new generation must find itself by its own words (BM25) and by its
    /// own vector (dense).
    fn smoke_test(&self, generation: &Generation) -> std::result::Result<(), String> {
        let mut probe: Option<Case> = None;
        generation
            .index
            .for_each_case(|c| {
                if probe.is_none() && !c.fact_text().trim().is_empty() {
                    probe = Some(c);
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        let Some(case) = probe else {
            return Ok(()); // nothing with text to search for
        };
        let text: String = case.fact_text().chars().take(60).collect();
        let hits = generation
            .index
            .search(&SearchRequest {
                text,
                filters: Filters::default(),
                top_k: 10,
                offset: 0,
                snippets: false,
            })
            .map_err(|e| format!("smoke query: {e}"))?;
        if !hits.iter().any(|h| h.id == case.id) {
            return Err(format!(
                "smoke query: case {} not found by its own facts",
                case.id
            ));
        }
        if let Some(d) = &generation.dense {
            let store = d
                .vectors
                .read()
                .map_err(|_| "vectors poisoned".to_string())?;
            let key = doc_key(&case.id);
            if store.contains(key) {
                let texts = Engine::chunk_texts(&case, &d.model);
                let refs: Vec<&str> = texts.iter().take(1).map(String::as_str).collect();
                let mut cache = d
                    .model
                    .cache
                    .lock()
                    .map_err(|_| "cache poisoned".to_string())?;
                let v = d
                    .model
                    .embedder
                    .embed_passages_cached(&mut cache, &refs)
                    .map_err(|e| e.to_string())?;
                let first = v.first().ok_or("no vector for the probe")?;
                let found = store.search(first, 5, None).map_err(|e| e.to_string())?;
                if !found.iter().any(|(k, _)| *k == key) {
                    return Err(format!(
                        "smoke query: case {} not found by its own vector",
                        case.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// Counts of what the index holds.
    pub fn stats(&self) -> Result<IndexStats> {
        let g = self.current()?;
        let meta = g.index.meta()?;
        let mut tiers = BTreeMap::new();
        let mut categories = BTreeMap::new();
        let mut court_levels = BTreeMap::new();
        g.index.for_each_case(|c| {
            *tiers.entry(c.tier.as_str().to_string()).or_insert(0) += 1;
            *categories
                .entry(c.category.as_str().to_string())
                .or_insert(0) += 1;
            let level = c.court_level.map_or("unknown", |l| l.as_str());
            *court_levels.entry(level.to_string()).or_insert(0) += 1;
            Ok(())
        })?;
        let mut generations = Vec::new();
        for (number, name) in list_generations(self.root())? {
            let dir = self.root().join(&name);
            let meta = read_generation_meta(&dir).ok();
            generations.push(GenerationInfo {
                live: name == g.name,
                number,
                case_count: meta.as_ref().map(|m| m.case_count),
                created_at: meta.as_ref().map(|m| m.created_at),
                bytes: dir_bytes(&dir),
                name,
            });
        }
        let (cases_with_vectors, vectors) = match &g.dense {
            Some(d) => {
                let store = d.vectors.read().map_err(|_| poisoned())?;
                let keys = g.keys.read().map_err(|_| poisoned())?;
                (keys.len() as u64, store.vector_count() as u64)
            }
            None => (0, 0),
        };
        let recent_sources = meta.sources.iter().rev().take(20).rev().cloned().collect();
        Ok(IndexStats {
            index_dir: self.root().display().to_string(),
            cases: g.index.num_cases(),
            statutes: g.index.num_statutes(),
            generation: g.number(),
            generation_name: g.name.clone(),
            generations,
            tiers,
            categories,
            court_levels,
            model_id: g.dense.as_ref().map(|d| d.model.id().to_string()),
            dense_off_reason: g.dense_off_reason.clone(),
            cases_with_vectors,
            vectors,
            disk_bytes: dir_bytes(self.root()),
            commit_seq: meta.commit_seq,
            last_commit_at: meta.committed_at,
            recent_sources,
        })
    }

    /// Writes a consistent snapshot of the live generation (plus the embedding cache and
    /// `extra` files, e.g. a snapshot of the server's database) to a tar archive at
    /// `out`. Holds the writer lock while copying, so no commit lands mid-copy; searches
    /// go on. The archive is written beside `out` and renamed when complete.
    pub fn backup(&self, out: &Path, extra: &[(String, PathBuf)]) -> Result<BackupManifest> {
        let _lock = lock_writer(self.root(), true)?
            .ok_or_else(|| EngineError::WriterBusy(self.root().to_path_buf()))?;
        self.refresh()?;
        let g = self.current()?;
        let tmp = out.with_extension("partial");
        let file = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
        tar.mode(tar::HeaderMode::Deterministic);
        let mut files = Vec::new();
        let mut add = |tar: &mut tar::Builder<_>, path: &Path, name: &str| -> Result<()> {
            tar.append_path_with_name(path, name)
                .map_err(|e| io_err(path, e))?;
            files.push(name.to_string());
            Ok(())
        };
        let gen_dir = g.index.generation_dir().to_path_buf();
        let mut stack = vec![gen_dir.clone()];
        while let Some(dir) = stack.pop() {
            let mut entries: Vec<_> = fs::read_dir(&dir)
                .map_err(|e| io_err(&dir, e))?
                .flatten()
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let fname = e.file_name().to_string_lossy().to_string();
                if fname == READERS_FILE || fname.ends_with(".lock") || fname.ends_with(".tmp") {
                    continue;
                }
                let rel = path
                    .strip_prefix(self.root())
                    .map_err(|_| EngineError::InvalidRequest("path outside index".into()))?
                    .to_string_lossy()
                    .to_string();
                add(&mut tar, &path, &rel)?;
            }
        }
        let cache_dir = self.cache_dir();
        if let Ok(entries) = fs::read_dir(&cache_dir) {
            for e in entries.flatten() {
                let name = format!("embed-cache/{}", e.file_name().to_string_lossy());
                add(&mut tar, &e.path(), &name)?;
            }
        }
        for (name, path) in extra {
            add(&mut tar, path, name)?;
        }
        let manifest = BackupManifest {
            format: 1,
            generation: g.name.clone(),
            cases: g.index.num_cases(),
            statutes: g.index.num_statutes(),
            created_at: now_unix(),
            files,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| EngineError::InvalidRequest(e.to_string()))?;
        // small files made here, not copied: the manifest and the live generation's name
        let current = format!("{}\n", g.name);
        for (name, bytes) in [
            (BACKUP_MANIFEST, json.as_slice()),
            ("CURRENT", current.as_bytes()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(manifest.created_at);
            tar.append_data(&mut header, name, bytes)
                .map_err(|e| io_err(&tmp, e))?;
        }
        let writer = tar.into_inner().map_err(|e| io_err(&tmp, e))?;
        let file = writer
            .into_inner()
            .map_err(|e| io_err(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| io_err(&tmp, e))?;
        drop(file);
        fs::rename(&tmp, out).map_err(|e| io_err(out, e))?;
        Ok(manifest)
    }

    /// Restores a backup into `index_dir`. The archive is unpacked beside it and verified
    /// first; an existing index is refused unless `force`, and then moved aside (to
    /// `<index_dir>.before-restore-<unix time>`), never deleted. No server may be using
    /// `index_dir` while it is replaced.
    pub fn restore(archive: &Path, index_dir: &Path, force: bool) -> Result<RestoreReport> {
        let has_index = index_dir.join("CURRENT").exists();
        if has_index && !force {
            return Err(EngineError::InvalidRequest(format!(
                "{} already holds an index; pass --force to move it aside and restore",
                index_dir.display()
            )));
        }
        if has_index {
            if let Some(f) = lock_writer(index_dir, false)? {
                drop(f);
            } else {
                return Err(EngineError::WriterBusy(index_dir.to_path_buf()));
            }
        }
        let parent = index_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        let base = index_dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "index".into());
        let staging = parent.join(format!(".{base}.restoring"));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
        }
        fs::create_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
        let file = File::open(archive).map_err(|e| io_err(archive, e))?;
        let mut tar = tar::Archive::new(std::io::BufReader::new(file));
        tar.unpack(&staging).map_err(|e| io_err(archive, e))?;
        let manifest_path = staging.join(BACKUP_MANIFEST);
        let manifest: BackupManifest = fs::read(&manifest_path)
            .map_err(|e| io_err(&manifest_path, e))
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| {
                    EngineError::InvalidRequest(format!(
                        "{} is not a leian backup: {e}",
                        archive.display()
                    ))
                })
            })?;
        let check = (|| -> Result<u64> {
            let index = CaseIndex::open_or_create(&staging)?;
            verify_generation(&index).map_err(EngineError::InvalidRequest)?;
            Ok(index.num_cases())
        })();
        let cases = match check {
            Ok(n) if n == manifest.cases => n,
            Ok(n) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(EngineError::InvalidRequest(format!(
                    "backup {} is incomplete: {n} cases, its manifest says {}",
                    archive.display(),
                    manifest.cases
                )));
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(EngineError::InvalidRequest(format!(
                    "backup {} does not open: {e}",
                    archive.display()
                )));
            }
        };
        let _ = fs::remove_file(staging.join(BACKUP_MANIFEST));
        let _ = fs::remove_file(staging.join(WRITER_LOCK_FILE));
        let mut previous = None;
        if index_dir.exists() {
            let aside = parent.join(format!("{base}.before-restore-{}", now_unix()));
            fs::rename(index_dir, &aside).map_err(|e| io_err(index_dir, e))?;
            previous = Some(aside.display().to_string());
        }
        fs::rename(&staging, index_dir).map_err(|e| io_err(index_dir, e))?;
        Ok(RestoreReport {
            generation: manifest.generation,
            cases,
            previous_moved_to: previous,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_cases::{case, engine_with, ids};
    use crate::EngineOptions;

    fn engine_with_cases(dir: &Path) -> Engine {
        engine_with(
            dir,
            vec![
                case("t:1", "被告人甲在超市窃取手机一部。"),
                case("t:2", "被告人乙醉酒驾驶机动车在道路上行驶。"),
                case("t:3", "被告人丙冒充客服骗取被害人钱款。"),
            ],
        )
    }

    #[test]
    fn rebuild_makes_the_next_generation_live_with_the_same_cases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine_with_cases(dir.path());
        let before = ids(&engine, "醉酒驾驶");
        assert_eq!(before.first().map(String::as_str), Some("t:2"));
        let mut steps = 0;
        let report = engine
            .rebuild(&RebuildOptions::default(), &mut |_| steps += 1)
            .expect("rebuild");
        assert_eq!(
            (report.from.as_str(), report.to.as_str()),
            ("gen-000001", "gen-000002")
        );
        assert_eq!(report.cases, 3);
        assert_eq!(engine.generation(), "gen-000002");
        assert_eq!((engine.generation_number(), engine.num_cases()), (2, 3));
        // stats say the same, in words as well
        let stats = engine.stats().expect("stats");
        assert_eq!((stats.generation, stats.cases), (2, 3));
        let text = stats.to_string();
        assert!(
            text.contains("live generation 2 (gen-000002), 3 cases"),
            "{text}"
        );
        assert!(text.contains("gen-000002 (live) cases 3"), "{text}");
        assert_eq!(ids(&engine, "醉酒驾驶"), before);
        assert!(steps > 0, "progress is reported");
        // another writer holds the lock: a rebuild that may not wait says so
        let held = lock_writer(dir.path(), false).expect("lock").expect("free");
        assert!(matches!(
            engine.try_rebuild(&RebuildOptions::default(), &mut |_| {}),
            Err(EngineError::WriterBusy(_))
        ));
        drop(held);
    }

    #[test]
    fn backup_restores_elsewhere_and_an_existing_index_is_moved_aside_not_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine_with_cases(dir.path());
        let tar = dir.path().join("backup.tar");
        let manifest = engine.backup(&tar, &[]).expect("backup");
        assert!(!manifest.files.is_empty());
        let target = tempfile::tempdir().expect("tempdir");
        let index = target.path().join("restored");
        let r = Engine::restore(&tar, &index, false).expect("restore");
        assert_eq!(r.cases, 3);
        assert_eq!(r.previous_moved_to, None);
        let restored = Engine::open(&EngineOptions {
            index_dir: index.clone(),
            ..EngineOptions::default()
        })
        .expect("open restored");
        assert_eq!(ids(&restored, "冒充客服"), ids(&engine, "冒充客服"));
        drop(restored);
        // over an existing index: refused without force, moved aside with it
        assert!(matches!(
            Engine::restore(&tar, &index, false),
            Err(EngineError::InvalidRequest(_))
        ));
        let r = Engine::restore(&tar, &index, true).expect("forced restore");
        let aside = r.previous_moved_to.expect("moved aside");
        assert!(Path::new(&aside).join("CURRENT").exists(), "{aside}");
    }
}
