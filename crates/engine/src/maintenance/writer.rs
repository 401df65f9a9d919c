//! Writing cases into the live generation: [`Engine::writer`] takes the one writer lock
//! (across processes), [`EngineWriter`] buffers upserts and deletes, and its commit embeds
//! what needs embedding (cache first), saves the vectors, then commits the full-text index.

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::key::doc_key;
use crate::maintenance::generation::{lock_writer, poisoned, Generation};
use leian_ingest::{Case, CaseId, StatuteArticle};
use serde::Serialize;
use std::collections::HashSet;
use std::fs::File;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Engine {
    /// A writer: waits for any other writer (another process's ingest, a rebuild, a
    /// backup) to finish, then sees the latest commit before changing anything.
    pub fn writer(&self) -> Result<EngineWriter<'_>> {
        let lock = lock_writer(self.root(), true)?
            .ok_or_else(|| EngineError::WriterBusy(self.root().to_path_buf()))?;
        self.writer_with(lock)
    }

    /// A writer only if no other is active; [`EngineError::WriterBusy`] otherwise (for
    /// servers, which should not make a request wait for a long rebuild).
    pub fn try_writer(&self) -> Result<EngineWriter<'_>> {
        let lock = lock_writer(self.root(), false)?
            .ok_or_else(|| EngineError::WriterBusy(self.root().to_path_buf()))?;
        self.writer_with(lock)
    }

    fn writer_with(&self, lock: File) -> Result<EngineWriter<'_>> {
        self.refresh()?;
        let generation = self.live()?;
        let writer = generation.index.writer()?;
        Ok(EngineWriter {
            _engine: std::marker::PhantomData,
            generation,
            writer,
            pending: Vec::new(),
            deleted: Vec::new(),
            sources: Vec::new(),
            _lock: lock,
        })
    }
}

/// What a commit embedded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CommitStats {
    /// Chunks that needed a vector.
    pub chunks: usize,
    /// Of those, chunks the model had to compute (the rest came from the cache).
    pub chunks_computed: usize,
}

/// Buffers upserts and deletes; [`EngineWriter::commit`] embeds what needs embedding
/// (cache first), then writes both indexes. Holds the index's writer lock (one writer
/// across all processes) until dropped or committed.
pub struct EngineWriter<'a> {
    _engine: std::marker::PhantomData<&'a Engine>,
    generation: Arc<Generation>,
    writer: leian_index::CaseWriter,
    pending: Vec<Case>,
    deleted: Vec<CaseId>,
    sources: Vec<String>,
    _lock: File,
}

impl EngineWriter<'_> {
    /// Adds or replaces a case (same id = replace).
    pub fn upsert(&mut self, case: Case) -> Result<()> {
        write_case(&mut self.writer, &case)?;
        self.deleted.retain(|id| id != &case.id);
        if self.generation.dense.is_some() {
            self.pending.push(case);
        }
        Ok(())
    }

    pub fn upsert_statute(&mut self, article: &StatuteArticle) -> Result<()> {
        Ok(self.writer.upsert_statute(article)?)
    }

    pub fn delete(&mut self, id: &CaseId) {
        self.writer.delete(id);
        self.pending.retain(|c| &c.id != id);
        self.deleted.push(id.clone());
    }

    /// Records what this commit loads (a line in the generation's source manifest).
    pub fn note_source(&mut self, line: impl Into<String>) {
        self.sources.push(line.into());
    }

    /// Embeds pending cases (calling `progress(done, total)` as it goes), saves the
    /// vectors, then commits the full-text index; `meta.json` (with the new commit_seq)
    /// is written last. Embeddings are cached before anything is committed, so a crash
    /// here costs no model time on the next run; a crash after the vectors are saved but
    /// before the full-text commit leaves vectors the index does not know, which are
    /// ignored. Only when this returns are the cases acknowledged.
    pub fn commit(self, progress: &mut dyn FnMut(usize, usize)) -> Result<CommitStats> {
        let EngineWriter {
            _engine,
            generation,
            writer,
            pending,
            deleted,
            sources,
            _lock,
        } = self;
        let (stats, embedded) = embed_cases(&generation, pending, progress)?;
        if let Some(d) = &generation.dense {
            let mut store = d.vectors.write().map_err(|_| poisoned())?;
            for id in &deleted {
                store.delete_case(doc_key(id));
            }
            {
                let keys = generation.keys.read().map_err(|_| poisoned())?;
                for (k, id, _) in &embedded {
                    if let Some(other) = keys.get(k) {
                        if other != id {
                            return Err(EngineError::InvalidRequest(format!(
                                "case ids {other} and {id} have the same vector key; rename one"
                            )));
                        }
                    }
                }
            }
            // one batch: the graph links the commit's rows on all cores
            let batch: Vec<(u64, &[Vec<f32>])> = embedded
                .iter()
                .map(|(k, _, chunks)| (*k, chunks.as_slice()))
                .collect();
            store.insert_cases(&batch)?;
            store.save(&generation.vectors_dir())?;
        }
        writer.commit()?;
        let model = generation.dense.as_ref().map(|d| d.model.clone());
        let meta = generation.index.update_meta(|m| {
            if let Some(model) = &model {
                m.model_id = Some(model.id().to_string());
                m.model_dir = Some(model.dir.display().to_string());
            }
            m.sources.extend(sources);
        })?;
        {
            let mut keys = generation.keys.write().map_err(|_| poisoned())?;
            for id in &deleted {
                keys.remove(&doc_key(id));
            }
            for (k, id, _) in embedded {
                keys.insert(k, id);
            }
        }
        generation.seq.store(meta.commit_seq, Ordering::SeqCst);
        Ok(stats)
    }
}

/// A case's chunk vectors, ready for the vector store.
type EmbeddedCase = (u64, CaseId, Vec<Vec<f32>>);

/// Embeds `pending` (the last upsert of an id wins) with the generation's model, cache
/// first, in batches.
pub(crate) fn embed_cases(
    generation: &Generation,
    mut pending: Vec<Case>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(CommitStats, Vec<EmbeddedCase>)> {
    let mut stats = CommitStats::default();
    let mut seen = HashSet::new();
    pending.reverse();
    pending.retain(|c| seen.insert(c.id.clone()));
    pending.reverse();
    let mut embedded = Vec::with_capacity(pending.len());
    let Some(d) = &generation.dense else {
        return Ok((stats, embedded));
    };
    let m = &d.model;
    let total = pending.len();
    const BATCH: usize = 16;
    let mut done = 0;
    for batch in pending.chunks(BATCH) {
        let mut texts: Vec<String> = Vec::new();
        let mut spans = Vec::with_capacity(batch.len());
        for case in batch {
            let chunks = Engine::chunks_of(case, &m.chunking);
            spans.push((texts.len(), chunks.len()));
            texts.extend(chunks);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vecs = {
            let mut cache = m.cache.lock().map_err(|_| poisoned())?;
            let before = cache.len();
            let v = m.embedder.embed_passages_cached(&mut cache, &refs)?;
            stats.chunks += refs.len();
            stats.chunks_computed += cache.len() - before;
            cache.flush()?;
            v
        };
        for (case, (start, len)) in batch.iter().zip(spans) {
            if len > 0 {
                embedded.push((
                    doc_key(&case.id),
                    case.id.clone(),
                    vecs[start..start + len].to_vec(),
                ));
            }
        }
        done += batch.len();
        progress(done, total);
    }
    Ok((stats, embedded))
}

/// Writes `case` into the index with its legal elements extracted once, here, so that
/// ranking reads them from the index instead of extracting them from the stored text on
/// every query.
pub(crate) fn write_case(writer: &mut leian_index::CaseWriter, case: &Case) -> Result<()> {
    let elements = leian_rank::LegalElements::of_case(case).to_stored();
    Ok(writer.upsert_with_elements(case, Some(&elements))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::test_cases::{case, ids};

    #[test]
    fn legal_elements_are_stored_at_ingest_replaced_with_the_case_and_kept_by_a_rebuild() {
        use leian_rank::LegalElements;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut theft = case("t:1", "被告人甲入户盗窃现金人民币五千元，后自首。");
        theft.charges = vec!["盗窃罪".into()];
        let drunk = case("t:2", "被告人乙醉酒驾驶机动车，血液酒精含量为180mg/100ml。");
        let engine = crate::test_cases::engine_with(dir.path(), vec![theft.clone(), drunk]);
        let stored = |id: &str| {
            engine
                .stored_elements(&CaseId::new(id))
                .expect("read")
                .and_then(|b| LegalElements::from_stored(&b))
        };
        let want = LegalElements::of_case(&theft);
        assert!(want.quantities.money.is_some() && !want.articles.is_empty());
        assert_eq!(stored("t:1"), Some(want));
        assert!(stored("t:2").is_some_and(|e| e.quantities.alcohol == Some(180.0)));
        assert_eq!(stored("t:nope"), None);
        // a replaced case has its new elements
        let mut w = engine.writer().expect("writer");
        let mut robbery = case("t:1", "被告人甲持刀抢劫，致被害人轻伤。");
        robbery.charges = vec!["抢劫罪".into()];
        w.upsert(robbery.clone()).expect("upsert");
        w.commit(&mut |_, _| {}).expect("commit");
        assert_eq!(stored("t:1"), Some(LegalElements::of_case(&robbery)));
        // a rebuild writes them into the new generation too
        engine
            .rebuild(&crate::RebuildOptions::default(), &mut |_| {})
            .expect("rebuild");
        assert_eq!(engine.generation_number(), 2);
        assert_eq!(stored("t:1"), Some(LegalElements::of_case(&robbery)));
        // bytes of another version are not trusted
        let mut other = LegalElements::of_case(&robbery).to_stored();
        other[0] = other[0].wrapping_add(1);
        assert_eq!(LegalElements::from_stored(&other), None);
    }

    #[test]
    fn ingest_replaces_by_id_deletes_and_other_engines_see_the_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = EngineOptions {
            index_dir: dir.path().to_path_buf(),
            ..EngineOptions::default()
        };
        let engine = Engine::open(&options).expect("engine");
        // a second engine on the same dir, as another process would have
        let other = Engine::open(&options).expect("other engine");
        let mut w = engine.writer().expect("writer");
        w.upsert(case("c:1", "被告人甲在超市窃取手机一部。"))
            .expect("upsert");
        w.upsert(case("c:2", "被告人乙醉酒驾驶机动车。"))
            .expect("upsert");
        w.commit(&mut |_, _| {}).expect("commit");
        assert_eq!(engine.index().num_cases(), 2);
        assert_eq!(ids(&engine, "窃取手机"), ["c:1"]);
        // the same id again replaces the case: its old words are gone
        let mut w = engine.writer().expect("writer");
        w.upsert(case("c:1", "被告人甲冒充客服骗取钱款。"))
            .expect("upsert");
        w.delete(&CaseId::new("c:2"));
        w.commit(&mut |_, _| {}).expect("commit");
        assert_eq!(engine.index().num_cases(), 1);
        assert!(ids(&engine, "窃取手机").is_empty());
        assert_eq!(ids(&engine, "冒充客服"), ["c:1"]);
        assert!(engine.get(&CaseId::new("c:2")).expect("get").is_none());
        // the other engine reloads the new commit by itself (within 100 ms of it)
        let seen = (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            ids(&other, "冒充客服") == ["c:1"]
        });
        assert!(seen, "the other engine never saw the commit");
        // a commit releases the writer lock (one writer across processes, held until then)
        assert!(
            crate::maintenance::generation::lock_writer(dir.path(), false)
                .expect("lock")
                .is_some()
        );
    }
}
