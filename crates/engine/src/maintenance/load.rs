//! Loading input files into an index ([`Engine::load`]): every path read in any supported
//! format one record at a time (a JSON-lines file line by line, so memory is bounded by
//! the commit batch, not the file), its cases upserted and committed in batches, each
//! commit acknowledged; bad records reported and skipped, nothing already stored touched
//! by them. A case restricted to some courts (`visible_to`) has its restriction stored
//! before the commit that makes it searchable, so it is never seen outside them.

use crate::engine::{Engine, DB_FILE};
use crate::error::{EngineError, Result};
use crate::maintenance::writer::EngineWriter;
use leian_ingest::{AuthorityTier, Case, Format, Item, RecordError, RecordStream};
use leian_visibility::CaseVisibility;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Input format; `Auto` detects it per file.
    pub format: Format,
    /// Commit every N cases, each commit acknowledged ([`LoadObserver::committed`]);
    /// `None`: one silent commit at the end.
    pub commit_every: Option<usize>,
    /// Courts every case of this load is restricted to (a record's own `visible_to`
    /// wins); empty: public unless the record says otherwise.
    pub visible_to: Vec<String>,
}

/// What one load did.
#[derive(Debug, Default)]
pub struct LoadSummary {
    pub cases: usize,
    pub statutes: usize,
    pub skipped: usize,
    pub chunks_embedded: usize,
    pub chunks_computed: usize,
    /// Cases stored with a court restriction (`visible_to`).
    pub restricted: usize,
    pub seconds: f64,
    /// Guiding and typical cases loaded (they get pushed to pending cases).
    pub authority: Vec<Case>,
}

/// What a load tells as it goes (progress bars, acknowledgements); every method does
/// nothing by default.
pub trait LoadObserver {
    /// A file is being read: `bytes` long.
    fn file(&mut self, _path: &Path, _bytes: u64) {}
    /// A record of it was handled (stored or skipped): `read` of its bytes are read.
    fn record(&mut self, _read: u64) {}
    /// A record that could not be read, with its file and line.
    fn skipped(&mut self, _error: &RecordError) {}
    /// A commit embeds: `done` of `total` cases.
    fn embedding(&mut self, _done: usize, _total: usize) {}
    /// A commit is durable: the first `cases` cases of this load survive a crash.
    fn committed(&mut self, _cases: usize) {}
    /// The file's records are all handled.
    fn file_done(&mut self) {}
}

/// Observes nothing.
impl LoadObserver for () {}

impl Engine {
    /// Reads every path and upserts its records (see [`LoadOptions`]); waits for any other
    /// writer first. `Err` when a path cannot be read or a commit fails: what was
    /// committed before stays.
    pub fn load(
        &self,
        paths: &[PathBuf],
        options: &LoadOptions,
        observer: &mut dyn LoadObserver,
    ) -> Result<LoadSummary> {
        let start = Instant::now();
        let mut restrictions = Restrictions {
            db: self.root().join(DB_FILE),
            handle: None,
            batch: Vec::new(),
        };
        let acknowledge = options.commit_every.is_some();
        let batch = options.commit_every.unwrap_or(usize::MAX).max(1);
        let mut summary = LoadSummary::default();
        let mut writer = self.writer()?;
        let mut in_batch = 0usize;
        for path in paths {
            let mut records = RecordStream::open(path, options.format)?;
            let mut file: Option<PathBuf> = None;
            while let Some(record) = records.next_record()? {
                if let Some((at, size, _)) = records.position() {
                    if file.as_deref() != Some(at) {
                        if file.is_some() {
                            observer.file_done();
                        }
                        observer.file(at, size);
                        file = Some(at.to_path_buf());
                    }
                }
                match record {
                    Ok(Item::Case(mut case)) => {
                        if case.visible_to.is_empty() {
                            case.visible_to = options.visible_to.clone();
                        }
                        if !case.visible_to.is_empty() {
                            restrictions
                                .batch
                                .push((case.id.to_string(), case.visible_to.clone()));
                            summary.restricted += 1;
                        }
                        if matches!(case.tier, AuthorityTier::Guiding | AuthorityTier::Typical) {
                            summary.authority.push((*case).clone());
                        }
                        writer.upsert(*case)?;
                        summary.cases += 1;
                        in_batch += 1;
                        if in_batch >= batch {
                            writer.note_source(source_line(path, in_batch));
                            restrictions.store()?;
                            commit(writer, &mut summary, acknowledge, observer)?;
                            writer = self.writer()?;
                            in_batch = 0;
                        }
                    }
                    Ok(Item::Statute(article)) => {
                        writer.upsert_statute(&article)?;
                        summary.statutes += 1;
                    }
                    Err(e) => {
                        summary.skipped += 1;
                        observer.skipped(&e);
                    }
                }
                observer.record(records.position().map_or(0, |(_, _, read)| read));
            }
            if file.is_some() {
                observer.file_done();
            }
        }
        if in_batch > 0 || summary.cases == 0 {
            if let Some(path) = paths.last() {
                if in_batch > 0 {
                    writer.note_source(source_line(path, in_batch));
                }
            }
            restrictions.store()?;
            commit(writer, &mut summary, acknowledge, observer)?;
        }
        summary.seconds = start.elapsed().as_secs_f64();
        Ok(summary)
    }
}

/// Court restrictions read since the last commit, stored (through leian-visibility, in
/// the index's database) just before the next one.
struct Restrictions {
    db: PathBuf,
    handle: Option<CaseVisibility>,
    batch: Vec<(String, Vec<String>)>,
}

impl Restrictions {
    fn store(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let failed = |source| EngineError::Visibility {
            db: self.db.clone(),
            source,
        };
        if self.handle.is_none() {
            self.handle = Some(CaseVisibility::open(&self.db).map_err(failed)?);
        }
        if let Some(v) = &self.handle {
            let rows: Vec<(&str, &[String])> = self
                .batch
                .iter()
                .map(|(id, courts)| (id.as_str(), courts.as_slice()))
                .collect();
            v.restrict_many(&rows).map_err(failed)?;
        }
        self.batch.clear();
        Ok(())
    }
}

/// A line of the generation's source manifest.
fn source_line(path: &Path, cases: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{now} ingest {} ({cases} cases)", path.display())
}

/// Embeds and commits what `writer` holds, then (when asked) acknowledges it.
fn commit(
    writer: EngineWriter<'_>,
    summary: &mut LoadSummary,
    acknowledge: bool,
    observer: &mut dyn LoadObserver,
) -> Result<()> {
    let stats = writer.commit(&mut |done, total| observer.embedding(done, total))?;
    summary.chunks_embedded += stats.chunks;
    summary.chunks_computed += stats.chunks_computed;
    if acknowledge {
        observer.committed(summary.cases);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::test_cases::ids;

    /// Records what a load told.
    #[derive(Default)]
    struct Told {
        files: Vec<(PathBuf, u64)>,
        records: Vec<u64>,
        skipped: Vec<String>,
        committed: Vec<usize>,
    }

    impl LoadObserver for Told {
        fn file(&mut self, path: &Path, bytes: u64) {
            self.files.push((path.to_path_buf(), bytes));
        }
        fn record(&mut self, read: u64) {
            self.records.push(read);
        }
        fn skipped(&mut self, error: &RecordError) {
            self.skipped.push(error.to_string());
        }
        fn committed(&mut self, cases: usize) {
            self.committed.push(cases);
        }
    }

    fn native(id: &str, facts: &str, extra: &str) -> String {
        format!(r#"{{"id":"{id}","title":"{id}","sections":{{"facts":"{facts}"}}{extra}}}"#)
    }

    #[test]
    fn a_load_commits_in_batches_skips_bad_records_by_line_and_stores_restrictions_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("cases.jsonl");
        let lines = [
            native("t:1", "被告人甲在超市窃取手机一部。", ""),
            "{not json".to_string(),
            native(
                "t:2",
                "被告人乙醉酒驾驶机动车。",
                r#","visible_to":["某甲法院"]"#,
            ),
            native("t:3", "被告人丙冒充客服骗取钱款。", ""),
        ];
        std::fs::write(&input, lines.join("\n")).expect("write input");
        let index = dir.path().join("index");
        let engine = Engine::open(&EngineOptions {
            index_dir: index.clone(),
            ..EngineOptions::default()
        })
        .expect("engine");
        let mut told = Told::default();
        let summary = engine
            .load(
                std::slice::from_ref(&input),
                &LoadOptions {
                    format: Format::Auto,
                    commit_every: Some(2),
                    visible_to: vec!["某乙法院".into()],
                },
                &mut told,
            )
            .expect("load");
        assert_eq!((summary.cases, summary.skipped), (3, 1));
        let size = std::fs::metadata(&input).expect("size").len();
        assert_eq!(told.files, [(input.clone(), size)]);
        // progress by bytes, one step a record, ending at the file's end
        assert_eq!(told.records.len(), 4);
        assert!(
            told.records.windows(2).all(|w| w[0] < w[1]),
            "{:?}",
            told.records
        );
        assert_eq!(told.records.last(), Some(&size));
        assert_eq!(
            told.committed,
            [2, 3],
            "a commit every 2 cases, then the rest"
        );
        assert_eq!(told.skipped.len(), 1);
        assert!(
            told.skipped[0].contains("cases.jsonl:2"),
            "{:?}",
            told.skipped
        );
        assert_eq!(ids(&engine, "冒充客服"), ["t:3"]);
        // every case got a restriction: its own, else the load's
        assert_eq!(summary.restricted, 3);
        let v = CaseVisibility::open(&index.join(DB_FILE)).expect("db");
        assert_eq!(v.courts("t:2").expect("courts"), ["某甲法院"]);
        assert_eq!(v.courts("t:1").expect("courts"), ["某乙法院"]);
        // the sources of the generation name the file and the cases of each commit
        let sources = engine.meta().expect("meta").sources;
        assert_eq!(sources.len(), 2, "{sources:?}");
        assert!(sources[0].ends_with("cases.jsonl (2 cases)"), "{sources:?}");
        // a path that cannot be read is an error naming it, and what is stored stays
        let missing = dir.path().join("missing.jsonl");
        let err = engine
            .load(&[missing], &LoadOptions::default(), &mut ())
            .expect_err("missing file");
        assert!(err.to_string().contains("missing.jsonl"), "{err}");
        assert_eq!(engine.num_cases(), 3);
    }
}
