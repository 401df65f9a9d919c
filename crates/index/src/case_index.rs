//! [`CaseIndex`]: the on-disk case and statute index, its layout and its writer.
//!
//! Layout of an index directory `DIR` (generations, so a rebuild can be swapped in later):
//!
//! ```text
//! DIR/CURRENT                   the live generation's name, e.g. `gen-000001`
//! DIR/gen-000001/meta.json      {format_version, case_count, created_at, commit_seq,
//!                               model_id, sources, …}: written last at every commit
//! DIR/gen-000001/tantivy/       the case index
//! DIR/gen-000001/statutes/      the statute index (a second tantivy index, so statute
//!                               articles never skew the BM25 statistics of cases)
//! DIR/gen-000001/legal_dict.txt the generated legal user dictionary, one word a line
//! ```
//!
//! `CURRENT` and `meta.json` are written to a temporary file, synced, then renamed.
//! A new generation is built beside the live one ([`CaseIndex::create_generation`]) and
//! made live by [`set_current_generation`]; `meta.json`'s `commit_seq` grows at every
//! commit, so another process can tell that it must [`CaseIndex::reload`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use leian_ingest::{Case, CaseId, StatuteArticle};
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::error::{IndexError, Result};
use crate::schema::{statute_variant_key, CaseFields, StatuteFields};
use crate::search::SearchOptions;
use crate::tokenizer::{
    append_dictionary, legal_terms_from_charges, legal_terms_from_statutes, read_dictionary,
    LegalTokenizer, TOKENIZER_NAME,
};

/// Version of the on-disk format written by this code.
pub const FORMAT_VERSION: u32 = 1;

const FIRST_GENERATION: &str = "gen-000001";
const DICTIONARY_FILE: &str = "legal_dict.txt";
/// Memory budget of the case writer (split over tantivy's indexing threads).
const CASE_WRITER_BUDGET: usize = 128_000_000;
const STATUTE_WRITER_BUDGET: usize = 32_000_000;

/// `DIR/gen-*/meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationMeta {
    pub format_version: u32,
    /// Cases in the generation as of its last commit.
    pub case_count: u64,
    /// Creation time of the generation, unix seconds.
    pub created_at: u64,
    /// Grows by one at every commit: readers in other processes compare it to reload.
    #[serde(default)]
    pub commit_seq: u64,
    /// Time of the last commit, unix seconds.
    #[serde(default)]
    pub committed_at: u64,
    /// Id of the embedding model that made the generation's vectors, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Where that model was loaded from, so another process can load it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<String>,
    /// What was loaded into the generation, one line per ingest or rebuild, oldest first
    /// (`2026-11-28T12:00:00Z ingest sample (66 cases)`), at most [`MAX_SOURCES`] lines.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Lines kept in [`GenerationMeta::sources`].
pub const MAX_SOURCES: usize = 200;

impl GenerationMeta {
    fn new() -> GenerationMeta {
        GenerationMeta {
            format_version: FORMAT_VERSION,
            case_count: 0,
            created_at: now_unix(),
            commit_seq: 0,
            committed_at: 0,
            model_id: None,
            model_dir: None,
            sources: Vec::new(),
        }
    }
}

/// A case index on disk: cheap to clone (`Arc` inside), `Send + Sync`, shared by threads.
///
/// One [`IndexReader`] is opened with [`ReloadPolicy::Manual`] and reused by every search;
/// [`CaseWriter::commit`] reloads it, so the next search sees the commit.
#[derive(Clone)]
pub struct CaseIndex {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) generation_dir: PathBuf,
    pub(crate) cases: Index,
    pub(crate) case_reader: IndexReader,
    pub(crate) fields: CaseFields,
    pub(crate) statutes: Index,
    pub(crate) statute_reader: IndexReader,
    pub(crate) statute_fields: StatuteFields,
    pub(crate) tokenizer: LegalTokenizer,
    pub(crate) options: SearchOptions,
    /// (searcher generation, mean Okapi idf of the facts vocabulary), see `Idf::Okapi`.
    pub(crate) okapi_mean: Arc<std::sync::Mutex<Option<(u64, f32)>>>,
}

impl std::fmt::Debug for CaseIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseIndex")
            .field("generation_dir", &self.inner.generation_dir)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename,
/// then fsync of the directory (best effort: not every platform can open one).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp).map_err(|e| IndexError::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| IndexError::io(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| IndexError::io(path, e))?;
    if let Some(parent) = path.parent() {
        if let Ok(dir) = fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// The number of a generation directory name (`gen-000042` → 42).
pub fn generation_number(name: &str) -> Option<u32> {
    name.strip_prefix("gen-")
        .filter(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
}

fn is_generation_name(name: &str) -> bool {
    generation_number(name).is_some()
}

/// The directory name of generation `n`.
pub fn generation_name(n: u32) -> String {
    format!("gen-{n:06}")
}

/// The live generation's name from `DIR/CURRENT`, or `None` for a new index.
pub fn current_generation(root: &Path) -> Result<Option<String>> {
    let path = root.join("CURRENT");
    match fs::read_to_string(&path) {
        Ok(text) => {
            let name = text.trim().to_string();
            if !is_generation_name(&name) {
                return Err(IndexError::Layout {
                    path,
                    reason: format!("CURRENT names {name:?}, not a generation"),
                });
            }
            Ok(Some(name))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IndexError::io(path, e)),
    }
}

/// Makes `name` the live generation: `CURRENT` is rewritten atomically (temp file,
/// fsync, rename, fsync of the directory).
pub fn set_current_generation(root: &Path, name: &str) -> Result<()> {
    if !is_generation_name(name) || !root.join(name).join("meta.json").is_file() {
        return Err(IndexError::Layout {
            path: root.join(name),
            reason: "not a complete generation".into(),
        });
    }
    write_atomically(&root.join("CURRENT"), format!("{name}\n").as_bytes())
}

/// Every generation directory under `root`, by number.
pub fn list_generations(root: &Path) -> Result<Vec<(u32, String)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(IndexError::io(root, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| IndexError::io(root, e))?;
        if let Some(name) = entry.file_name().to_str() {
            if let Some(n) = generation_number(name) {
                if entry.path().is_dir() {
                    out.push((n, name.to_string()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a generation's `meta.json`.
pub fn read_generation_meta(generation_dir: &Path) -> Result<GenerationMeta> {
    read_meta(&generation_dir.join("meta.json"))
}

fn read_meta(path: &Path) -> Result<GenerationMeta> {
    let text = fs::read_to_string(path).map_err(|e| IndexError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| IndexError::json(path.display().to_string(), e))
}

fn write_meta(path: &Path, meta: &GenerationMeta) -> Result<()> {
    let json = serde_json::to_vec_pretty(meta)
        .map_err(|e| IndexError::json(path.display().to_string(), e))?;
    write_atomically(path, &json)
}

/// Opens the tantivy index in `dir` with the schema it was made with (an index made
/// before a field was added keeps working without it), or creates it with `schema`.
fn open_tantivy(dir: &Path, schema: tantivy::schema::Schema) -> Result<Index> {
    fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
    let directory = MmapDirectory::open(dir)?;
    if Index::exists(&directory).map_err(tantivy::TantivyError::from)? {
        Ok(Index::open(directory)?)
    } else {
        Ok(Index::create(
            directory,
            schema,
            tantivy::IndexSettings::default(),
        )?)
    }
}

impl CaseIndex {
    /// Opens the index in `dir`, creating `dir` and a first generation when there is none.
    pub fn open_or_create(dir: &Path) -> Result<CaseIndex> {
        Self::open_or_create_with(dir, SearchOptions::default())
    }

    /// Like [`CaseIndex::open_or_create`], with non-default search options.
    pub fn open_or_create_with(dir: &Path, options: SearchOptions) -> Result<CaseIndex> {
        fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
        match current_generation(dir)? {
            Some(name) => Self::open_generation(dir, &name, options),
            None => {
                // A crash between creating the first generation and writing CURRENT leaves
                // a generation nothing was committed to yet: adopt it.
                let index = if dir.join(FIRST_GENERATION).join("meta.json").is_file() {
                    Self::open_generation(dir, FIRST_GENERATION, options)?
                } else {
                    Self::create_generation(dir, FIRST_GENERATION, options)?
                };
                set_current_generation(dir, FIRST_GENERATION)?;
                Ok(index)
            }
        }
    }

    /// Creates generation `name` under `dir` (empty, not live) and opens it. Fails when it
    /// already exists.
    pub fn create_generation(dir: &Path, name: &str, options: SearchOptions) -> Result<CaseIndex> {
        let gen_dir = dir.join(name);
        if !is_generation_name(name) {
            return Err(IndexError::Layout {
                path: gen_dir,
                reason: "not a generation name".into(),
            });
        }
        if gen_dir.join("meta.json").exists() {
            return Err(IndexError::Layout {
                path: gen_dir,
                reason: "generation exists already".into(),
            });
        }
        fs::create_dir_all(&gen_dir).map_err(|e| IndexError::io(&gen_dir, e))?;
        write_meta(&gen_dir.join("meta.json"), &GenerationMeta::new())?;
        Self::open_generation(dir, name, options)
    }

    /// Opens generation `name` of the index in `dir`, whether live or not.
    pub fn open_generation(dir: &Path, name: &str, options: SearchOptions) -> Result<CaseIndex> {
        let generation_dir = dir.join(name);
        let meta_path = generation_dir.join("meta.json");
        let meta = read_meta(&meta_path)?;
        if meta.format_version > FORMAT_VERSION {
            return Err(IndexError::Layout {
                path: meta_path,
                reason: format!(
                    "format version {} is newer than this build's {FORMAT_VERSION}",
                    meta.format_version
                ),
            });
        }

        let started = std::time::Instant::now();
        let words = read_dictionary(&generation_dir.join(DICTIONARY_FILE))?;
        let tokenizer = LegalTokenizer::new(&words);
        tracing::debug!(
            words = words.len(),
            ms = started.elapsed().as_millis() as u64,
            "jieba loaded"
        );

        let cases = open_tantivy(&generation_dir.join("tantivy"), CaseFields::new_schema())?;
        cases
            .tokenizers()
            .register(TOKENIZER_NAME, tokenizer.clone());
        let fields = CaseFields::from_schema(cases.schema())?;
        let statutes = open_tantivy(
            &generation_dir.join("statutes"),
            StatuteFields::new_schema(),
        )?;
        statutes
            .tokenizers()
            .register(TOKENIZER_NAME, tokenizer.clone());
        let statute_fields = StatuteFields::from_schema(statutes.schema())?;

        let case_reader = cases
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let statute_reader = statutes
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(CaseIndex {
            inner: Arc::new(Inner {
                root: dir.to_path_buf(),
                generation_dir,
                cases,
                case_reader,
                fields,
                statutes,
                statute_reader,
                statute_fields,
                tokenizer,
                options,
                okapi_mean: Default::default(),
            }),
        })
    }

    /// The index directory (`DIR`).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The live generation directory (`DIR/gen-000001`).
    pub fn generation_dir(&self) -> &Path {
        &self.inner.generation_dir
    }

    /// The generation's `meta.json`.
    pub fn meta(&self) -> Result<GenerationMeta> {
        read_meta(&self.inner.generation_dir.join("meta.json"))
    }

    /// The generation's directory name (`gen-000001`).
    pub fn generation_name(&self) -> &str {
        self.inner
            .generation_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
    }

    /// Updates `meta.json` (atomically) with `f`, e.g. to record the model or a source.
    pub fn update_meta(&self, f: impl FnOnce(&mut GenerationMeta)) -> Result<GenerationMeta> {
        let path = self.inner.generation_dir.join("meta.json");
        let mut meta = read_meta(&path)?;
        f(&mut meta);
        if meta.sources.len() > MAX_SOURCES {
            let extra = meta.sources.len() - MAX_SOURCES;
            meta.sources.drain(..extra);
        }
        write_meta(&path, &meta)?;
        Ok(meta)
    }

    /// Sees commits made by another process (or another `CaseIndex` handle) since this
    /// one opened or last reloaded: readers and dictionary words.
    pub fn reload(&self) -> Result<()> {
        let inner = &self.inner;
        let words = read_dictionary(&inner.generation_dir.join(DICTIONARY_FILE))?;
        let unknown: Vec<String> = words
            .into_iter()
            .filter(|w| !inner.tokenizer.has_word(w))
            .collect();
        if !unknown.is_empty() {
            inner.tokenizer.add_words(&unknown);
        }
        inner.statute_reader.reload()?;
        inner.case_reader.reload()?;
        Ok(())
    }

    /// Reads every file of both tantivy indexes and checks its checksum; names the
    /// damaged files.
    pub fn validate_checksums(&self) -> Result<()> {
        for (what, index) in [
            ("cases", &self.inner.cases),
            ("statutes", &self.inner.statutes),
        ] {
            let bad = index.validate_checksum()?;
            if !bad.is_empty() {
                let mut names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
                names.sort();
                return Err(IndexError::Layout {
                    path: self.inner.generation_dir.join(what),
                    reason: format!("damaged files (checksum mismatch): {}", names.join(", ")),
                });
            }
        }
        Ok(())
    }

    /// Calls `f` with every statute article, one at a time.
    pub fn for_each_statute<F>(&self, mut f: F) -> Result<()>
    where
        F: FnMut(StatuteArticle) -> Result<()>,
    {
        let searcher = self.inner.statute_reader.searcher();
        for addr in Self::alive_docs(&searcher) {
            let doc: TantivyDocument = searcher.doc(addr)?;
            f(self.stored_statute(&doc, || format!("statute document {addr:?}"))?)?;
        }
        Ok(())
    }

    /// The article stored in statute document `doc`; `what` names it in the error.
    fn stored_statute(
        &self,
        doc: &TantivyDocument,
        what: impl FnOnce() -> String,
    ) -> Result<StatuteArticle> {
        let json = doc
            .get_first(self.inner.statute_fields.article_json)
            .and_then(|v| v.as_str())
            .ok_or_else(|| IndexError::Layout {
                path: self.inner.generation_dir.clone(),
                reason: format!("{} has no stored article", what()),
            })?;
        serde_json::from_str(json).map_err(|e| IndexError::json("stored statute", e))
    }

    /// The tokenizer the index uses (for callers that must cut text the same way).
    pub fn tokenizer(&self) -> &LegalTokenizer {
        &self.inner.tokenizer
    }

    /// The search options the index was opened with.
    pub fn options(&self) -> &SearchOptions {
        &self.inner.options
    }

    /// The distinct charge keys ([`crate::charge_key`]) the indexed cases carry, read from
    /// the term dictionary (no case is loaded).
    pub fn charge_keys(&self) -> Result<Vec<String>> {
        let searcher = self.searcher();
        let mut keys = std::collections::BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.inner.fields.charges)?;
            let mut stream = inverted
                .terms()
                .stream()
                .map_err(|e| IndexError::io(&self.inner.generation_dir, e))?;
            while stream.advance() {
                if stream.value().doc_freq > 0 {
                    keys.insert(String::from_utf8_lossy(stream.key()).into_owned());
                }
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// The same index (same readers, same generation) searched with other options: what
    /// an evaluation that compares query plans needs, without reopening anything.
    pub fn with_options(&self, options: SearchOptions) -> CaseIndex {
        let mut inner = (*self.inner).clone();
        inner.options = options;
        inner.okapi_mean = Default::default();
        CaseIndex {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn searcher(&self) -> Searcher {
        self.inner.case_reader.searcher()
    }

    /// A writer. Only one may be alive at a time (tantivy's directory lock; a second
    /// call fails with [`IndexError::Tantivy`]). Dropping it without commit discards its
    /// changes.
    pub fn writer(&self) -> Result<CaseWriter> {
        let writer = self.inner.cases.writer(CASE_WRITER_BUDGET)?;
        Ok(CaseWriter {
            index: self.clone(),
            writer,
            statute_writer: None,
            new_words: Vec::new(),
        })
    }

    /// Number of cases (as of the last commit).
    pub fn num_cases(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Number of tantivy segments of the case index (each query visits every one).
    pub fn segment_count(&self) -> usize {
        self.searcher().segment_readers().len()
    }

    /// The case with `id`, if indexed.
    pub fn get(&self, id: &CaseId) -> Result<Option<Case>> {
        let searcher = self.searcher();
        match self.doc_address(&searcher, id)? {
            Some(addr) => self.load_case(&searcher, addr).map(Some),
            None => Ok(None),
        }
    }

    /// Where the live document of `id` is, by its postings (no document is loaded).
    pub(crate) fn doc_address(
        &self,
        searcher: &Searcher,
        id: &CaseId,
    ) -> Result<Option<DocAddress>> {
        live_doc(searcher, self.inner.fields.id, id)
    }

    /// The elements stored with the live case `id` at ingest, read from the fast field
    /// (the stored case is not loaded); `None` when the case is absent, was written
    /// without them, or the index predates the field.
    pub fn stored_elements(&self, id: &CaseId) -> Result<Option<Vec<u8>>> {
        if self.inner.fields.elements.is_none() {
            return Ok(None);
        }
        let searcher = self.searcher();
        let Some(addr) = self.doc_address(&searcher, id)? else {
            return Ok(None);
        };
        let reader = searcher.segment_reader(addr.segment_ord);
        let Some(column) = reader.fast_fields().bytes("elements")? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for ord in column.term_ords(addr.doc_id) {
            if column
                .ord_to_bytes(ord, &mut out)
                .map_err(tantivy::TantivyError::from)?
            {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }

    pub(crate) fn load_case(&self, searcher: &Searcher, addr: DocAddress) -> Result<Case> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let json = doc
            .get_first(self.inner.fields.case_json)
            .and_then(|v| v.as_str())
            .ok_or_else(|| IndexError::Layout {
                path: self.inner.generation_dir.clone(),
                reason: format!("document {addr:?} has no stored case"),
            })?;
        serde_json::from_str(json).map_err(|e| IndexError::json("stored case", e))
    }

    pub(crate) fn load_id(&self, searcher: &Searcher, addr: DocAddress) -> Result<CaseId> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        doc.get_first(self.inner.fields.id)
            .and_then(|v| v.as_str())
            .map(CaseId::new)
            .ok_or_else(|| IndexError::Layout {
                path: self.inner.generation_dir.clone(),
                reason: format!("document {addr:?} has no id"),
            })
    }

    fn alive_docs(searcher: &Searcher) -> Vec<DocAddress> {
        let mut out = Vec::new();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            out.extend(
                segment
                    .doc_ids_alive()
                    .map(|doc| DocAddress::new(ord as u32, doc)),
            );
        }
        out
    }

    /// Ids of all indexed cases, in index order.
    pub fn all_ids(&self) -> Result<Vec<CaseId>> {
        let searcher = self.searcher();
        Self::alive_docs(&searcher)
            .into_iter()
            .map(|addr| self.load_id(&searcher, addr))
            .collect()
    }

    /// Calls `f` with every indexed case (one at a time, so memory stays flat); stops at
    /// the first error `f` returns.
    pub fn for_each_case<F>(&self, mut f: F) -> Result<()>
    where
        F: FnMut(Case) -> Result<()>,
    {
        let searcher = self.searcher();
        for addr in Self::alive_docs(&searcher) {
            f(self.load_case(&searcher, addr)?)?;
        }
        Ok(())
    }

    /// The statute article `law` (short name, e.g. `刑法`) article `article`, if indexed.
    pub fn statute(&self, law: &str, article: u32) -> Result<Option<StatuteArticle>> {
        self.statute_variant(law, article, 0)
    }

    /// An article with its `之N` suffix (第一百三十三条之一: `statute_variant("刑法", 133, 1)`).
    pub fn statute_variant(
        &self,
        law: &str,
        article: u32,
        suffix: u8,
    ) -> Result<Option<StatuteArticle>> {
        let fields = &self.inner.statute_fields;
        let searcher = self.inner.statute_reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(fields.key, &statute_variant_key(law, article, suffix)),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        let Some(&(_, addr)) = top.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(addr)?;
        self.stored_statute(&doc, || format!("statute {law}:{article}"))
            .map(Some)
    }

    /// Number of statute articles indexed.
    pub fn num_statutes(&self) -> u64 {
        self.inner.statute_reader.searcher().num_docs()
    }
}

/// Adds, replaces and deletes cases and statutes; nothing is visible before
/// [`CaseWriter::commit`].
pub struct CaseWriter {
    index: CaseIndex,
    writer: IndexWriter,
    statute_writer: Option<IndexWriter>,
    /// Dictionary words learnt in this session, appended to the dictionary file at commit.
    new_words: Vec<String>,
}

impl CaseWriter {
    /// Learns dictionary words before the text that contains them is tokenised, so the
    /// document being added already benefits.
    fn learn_words(&mut self, words: Vec<String>) {
        let tokenizer = &self.index.inner.tokenizer;
        let unknown: Vec<String> = words
            .into_iter()
            .filter(|w| !tokenizer.has_word(w))
            .collect();
        if !unknown.is_empty() {
            tokenizer.add_words(&unknown);
            self.new_words.extend(unknown);
        }
    }

    /// Adds `case`, replacing any case with the same id (never a duplicate).
    pub fn upsert(&mut self, case: &Case) -> Result<()> {
        self.upsert_with_elements(case, None)
    }

    /// [`Self::upsert`], storing `elements` (what a ranker extracted from the case, in
    /// its own encoding) beside it when the index has the field; read back with
    /// [`CaseIndex::stored_elements`].
    pub fn upsert_with_elements(&mut self, case: &Case, elements: Option<&[u8]>) -> Result<()> {
        self.learn_words(legal_terms_from_charges(&case.charges));
        let fields = &self.index.inner.fields;
        let mut doc = fields.document(case)?;
        if let (Some(field), Some(bytes)) = (fields.elements, elements) {
            doc.add_bytes(field, bytes);
        }
        self.writer
            .delete_term(Term::from_field_text(fields.id, case.id.as_str()));
        self.writer.add_document(doc)?;
        Ok(())
    }

    /// Deletes the case with `id` (no-op when absent).
    pub fn delete(&mut self, id: &CaseId) {
        let fields = &self.index.inner.fields;
        self.writer
            .delete_term(Term::from_field_text(fields.id, id.as_str()));
    }

    /// Adds a statute article, replacing the same (law, article); its generated legal
    /// terms join the dictionary (see [`legal_terms_from_statutes`]).
    pub fn upsert_statute(&mut self, article: &StatuteArticle) -> Result<()> {
        self.learn_words(legal_terms_from_statutes(std::slice::from_ref(article)));
        let writer = match &mut self.statute_writer {
            Some(w) => w,
            None => {
                let w = self
                    .index
                    .inner
                    .statutes
                    .writer_with_num_threads(1, STATUTE_WRITER_BUDGET)?;
                self.statute_writer.insert(w)
            }
        };
        let fields = &self.index.inner.statute_fields;
        writer.delete_term(Term::from_field_text(
            fields.key,
            &statute_variant_key(&article.law, article.article, article.suffix),
        ));
        writer.add_document(fields.document(article)?)?;
        Ok(())
    }

    /// Commits cases and statutes, saves new dictionary words and the case count, and
    /// reloads the shared reader so the next search sees the changes.
    ///
    /// Waits for the segment merges the commit started: dropping a tantivy writer abandons
    /// them, and an ingest that commits every batch then left ~50 small segments per 100k
    /// cases (65 % more disk, and every query visits every segment).
    pub fn commit(mut self) -> Result<()> {
        let inner = &self.index.inner;
        if let Some(mut w) = self.statute_writer.take() {
            w.commit()?;
            w.wait_merging_threads()?;
            inner.statute_reader.reload()?;
        }
        self.writer.commit()?;
        self.writer.wait_merging_threads()?;
        inner.case_reader.reload()?;
        append_dictionary(&inner.generation_dir.join(DICTIONARY_FILE), &self.new_words)?;
        let case_count = inner.case_reader.searcher().num_docs();
        let meta = self.index.update_meta(|meta| {
            meta.case_count = case_count;
            meta.commit_seq += 1;
            meta.committed_at = now_unix();
        })?;
        tracing::info!(
            cases = meta.case_count,
            new_words = self.new_words.len(),
            "case index committed"
        );
        Ok(())
    }
}

/// Where the live document with `id` in the `id` field is, by its postings (no document
/// is loaded); `None` when no live document has it.
pub(crate) fn live_doc(
    searcher: &Searcher,
    field: tantivy::schema::Field,
    id: &CaseId,
) -> Result<Option<DocAddress>> {
    use tantivy::DocSet;
    let term = Term::from_field_text(field, id.as_str());
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let Some(mut postings) = segment
            .inverted_index(field)?
            .read_postings(&term, IndexRecordOption::Basic)
            .map_err(tantivy::TantivyError::from)?
        else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != tantivy::TERMINATED {
            if segment
                .alive_bitset()
                .is_none_or(|alive| alive.is_alive(doc))
            {
                return Ok(Some(DocAddress::new(ord as u32, doc)));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use leian_ingest::{
        AuthorityTier, CaseCategory, CourtLevel, GuidingInfo, JudgmentDate, Sections, StatuteRef,
    };

    /// A fictional criminal case.
    pub(crate) fn case(id: &str, charge: &str, facts: &str) -> Case {
        let mut c = Case::new(CaseId::new(id));
        c.title = format!("张某{charge}案");
        c.category = CaseCategory::Criminal;
        c.charges = vec![charge.to_string()];
        c.sections = Sections {
            facts: facts.to_string(),
            reasoning: format!("本院认为，被告人的行为已构成{charge}。"),
            result: "被告人犯罪，判处有期徒刑一年。".to_string(),
        };
        c
    }

    #[test]
    fn an_index_made_before_the_elements_field_opens_and_answers_without_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("idx");
        drop(CaseIndex::open_or_create(&root).unwrap());
        // replace the first generation's tantivy index by one with the older schema:
        // every field but `elements`
        let tantivy_dir = root.join(FIRST_GENERATION).join("tantivy");
        fs::remove_dir_all(&tantivy_dir).unwrap();
        fs::create_dir_all(&tantivy_dir).unwrap();
        let mut older = tantivy::schema::Schema::builder();
        for (_, entry) in CaseFields::new_schema().fields() {
            if entry.name() != "elements" {
                older.add_field(entry.clone());
            }
        }
        Index::create_in_dir(&tantivy_dir, older.build()).unwrap();

        let index = CaseIndex::open_or_create(&root).unwrap();
        assert!(index.inner.fields.elements.is_none());
        let theft = case("t:1", "盗窃罪", "被告人在商场扒窃手机一部。");
        let mut w = index.writer().unwrap();
        w.upsert_with_elements(&theft, Some(b"ignored")).unwrap();
        w.commit().unwrap();
        assert_eq!(index.get(&theft.id).unwrap(), Some(theft.clone()));
        assert_eq!(index.stored_elements(&theft.id).unwrap(), None);
        let hits = index
            .search(&crate::SearchRequest::text("扒窃手机", 5))
            .unwrap();
        assert_eq!(hits.first().map(|h| h.id.as_str()), Some("t:1"));

        // a new index stores them
        let fresh = CaseIndex::open_or_create(&dir.path().join("fresh")).unwrap();
        let mut w = fresh.writer().unwrap();
        w.upsert_with_elements(&theft, Some(b"\x01{}")).unwrap();
        w.commit().unwrap();
        assert_eq!(
            fresh.stored_elements(&theft.id).unwrap().as_deref(),
            Some(&b"\x01{}"[..])
        );
    }

    #[test]
    fn creates_layout_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("idx");
        {
            let index = CaseIndex::open_or_create(&root).unwrap();
            assert_eq!(
                fs::read_to_string(root.join("CURRENT")).unwrap().trim(),
                "gen-000001"
            );
            assert!(root.join("gen-000001/tantivy/meta.json").exists());
            let meta = index.meta().unwrap();
            assert_eq!(meta.format_version, FORMAT_VERSION);
            assert_eq!(meta.case_count, 0);
            assert!(meta.created_at > 1_600_000_000);

            let mut c = case("t:1", "盗窃罪", "被告人张某在超市盗窃手机一部。");
            c.court = Some("北京市海淀区人民法院".into());
            c.court_level = Some(CourtLevel::Basic);
            c.region = Some("北京".into());
            c.date = JudgmentDate::new(2019, 3, 5);
            c.statutes = vec![StatuteRef {
                law: "刑法".into(),
                article: 264,
            }];
            c.tier = AuthorityTier::Guiding;
            c.guiding = Some(GuidingInfo {
                number: 7,
                keywords: vec!["盗窃".into()],
                gist: "入户盗窃的认定。".into(),
            });
            let mut w = index.writer().unwrap();
            w.upsert(&c).unwrap();
            w.upsert(&case("t:2", "诈骗罪", "被告人冒充客服骗取钱款。"))
                .unwrap();
            w.upsert_statute(&StatuteArticle {
                law: "刑法".into(),
                article: 264,
                suffix: 0,
                law_title: "中华人民共和国刑法".into(),
                chapter: "第五章 侵犯财产罪".into(),
                section: String::new(),
                text: "盗窃公私财物，数额较大的，处三年以下有期徒刑。".into(),
            })
            .unwrap();
            w.commit().unwrap();
            assert_eq!(index.num_cases(), 2);
            assert_eq!(index.meta().unwrap().case_count, 2);
        }
        let index = CaseIndex::open_or_create(&root).unwrap();
        assert_eq!(index.num_cases(), 2);
        let got = index.get(&CaseId::new("t:1")).unwrap().unwrap();
        assert_eq!(got.region.as_deref(), Some("北京"));
        assert_eq!(got.guiding.as_ref().map(|g| g.number), Some(7));
        assert_eq!(got.statutes[0].article, 264);
        assert!(index.get(&CaseId::new("t:9")).unwrap().is_none());
        let mut ids = index.all_ids().unwrap();
        ids.sort();
        assert_eq!(ids, vec![CaseId::new("t:1"), CaseId::new("t:2")]);
        let mut titles = Vec::new();
        index
            .for_each_case(|c| {
                titles.push(c.title);
                Ok(())
            })
            .unwrap();
        titles.sort();
        assert_eq!(titles, vec!["张某盗窃罪案", "张某诈骗罪案"]);
        // Statute survives reopen, and its chapter became dictionary words on disk.
        let art = index.statute("刑法", 264).unwrap().unwrap();
        assert!(art.text.starts_with("盗窃公私财物"));
        assert!(index.statute("刑法", 265).unwrap().is_none());
        assert!(index.statute("民法典", 264).unwrap().is_none());
        let dict = read_dictionary(&root.join("gen-000001").join(DICTIONARY_FILE)).unwrap();
        assert!(dict.iter().any(|w| w == "侵犯财产罪"), "{dict:?}");
        assert!(index.tokenizer().has_word("侵犯财产罪"));
    }

    #[test]
    fn commits_wait_for_their_segment_merges() {
        // A commit writes a segment per indexing thread; tantivy's default policy merges 8 of
        // similar size. A writer dropped without waiting abandoned those merges: 20 segments
        // here, against 5 when commit waits.
        let dir = tempfile::tempdir().unwrap();
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        for batch in 0..10 {
            let mut w = index.writer().unwrap();
            for i in 0..5 {
                let id = format!("t:{batch}-{i}");
                w.upsert(&case(&id, "盗窃罪", "被告人趁夜盗窃财物。"))
                    .unwrap();
            }
            w.commit().unwrap();
        }
        assert_eq!(index.num_cases(), 50);
        let segments = index.segment_count();
        assert!(segments < 10, "{segments} segments after 10 commits");
    }

    #[test]
    fn upsert_replaces_and_delete_removes() {
        let dir = tempfile::tempdir().unwrap();
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        let mut w = index.writer().unwrap();
        w.upsert(&case("t:1", "盗窃罪", "第一版事实。")).unwrap();
        w.upsert(&case("t:2", "抢劫罪", "持刀抢劫。")).unwrap();
        w.commit().unwrap();
        assert_eq!(index.num_cases(), 2);

        // Same id again, in a later commit and twice within one commit.
        let mut w = index.writer().unwrap();
        w.upsert(&case("t:1", "盗窃罪", "第二版事实。")).unwrap();
        w.upsert(&case("t:1", "盗窃罪", "第三版事实。")).unwrap();
        w.commit().unwrap();
        assert_eq!(index.num_cases(), 2);
        let got = index.get(&CaseId::new("t:1")).unwrap().unwrap();
        assert_eq!(got.sections.facts, "第三版事实。");

        let mut w = index.writer().unwrap();
        w.delete(&CaseId::new("t:2"));
        w.delete(&CaseId::new("absent"));
        w.commit().unwrap();
        assert_eq!(index.num_cases(), 1);
        assert!(index.get(&CaseId::new("t:2")).unwrap().is_none());
        assert_eq!(index.all_ids().unwrap(), vec![CaseId::new("t:1")]);
    }

    #[test]
    fn uncommitted_changes_are_invisible_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        let mut w = index.writer().unwrap();
        w.upsert(&case("t:1", "盗窃罪", "事实。")).unwrap();
        assert_eq!(index.num_cases(), 0);
        drop(w);
        let w = index.writer().unwrap();
        w.commit().unwrap();
        assert_eq!(index.num_cases(), 0);
    }

    #[test]
    fn adopts_a_first_generation_whose_current_was_never_written() {
        let dir = tempfile::tempdir().unwrap();
        CaseIndex::open_or_create(dir.path()).unwrap();
        fs::remove_file(dir.path().join("CURRENT")).unwrap();
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        assert_eq!(index.generation_name(), "gen-000001");
        assert!(dir.path().join("CURRENT").exists());
    }

    #[test]
    fn rejects_bad_current() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("CURRENT"), "../elsewhere\n").unwrap();
        let err = CaseIndex::open_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, IndexError::Layout { .. }), "{err}");
    }

    #[test]
    fn index_is_send_sync_and_shared() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<CaseIndex>();
    }
}
