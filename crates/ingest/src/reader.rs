//! Readers for the real input formats: each record becomes an [`Item`] (a [`Case`] or a
//! [`StatuteArticle`]) or a [`RecordError`] naming the file, line and field. A bad record
//! never aborts its file; only an unreadable path is an [`IngestError`].
//!
//! Id conventions (all prefixed by source, `:`-separated):
//! `lecard:{id}`, `lecardv2:{id}`, `cail2018:{n}` (from `cail2018-{n}`), `scm:{id}:A|B|C`,
//! `guiding:{number}`, `typical:{n}` (from `typical-{n}`), `text:{file stem}`; native
//! `jsonl` ids are kept as given.

use crate::case::{
    AuthorityTier, Case, CaseCategory, CaseId, CourtLevel, GuidingInfo, JudgmentDate,
    StatuteArticle, StatuteRef,
};
use crate::error::{IngestError, Result};
use crate::extract::{fill_from_text, find_charges, split_charges};
use crate::numerals::parse_cn_int;
use crate::statute::{find_statute_refs, normalize_law_name};
use serde_json::{Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Input format of a file; `Auto` detects it per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    #[default]
    Auto,
    Jsonl,
    Lecard,
    Lecardv2,
    Cail2018,
    Scm,
    Guiding,
    Typical,
    Statutes,
    Text,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Auto,
        Format::Jsonl,
        Format::Lecard,
        Format::Lecardv2,
        Format::Cail2018,
        Format::Scm,
        Format::Guiding,
        Format::Typical,
        Format::Statutes,
        Format::Text,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Jsonl => "jsonl",
            Format::Lecard => "lecard",
            Format::Lecardv2 => "lecardv2",
            Format::Cail2018 => "cail2018",
            Format::Scm => "scm",
            Format::Guiding => "guiding",
            Format::Typical => "typical",
            Format::Statutes => "statutes",
            Format::Text => "text",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(IngestError::UnknownFormat(s))
    }
}

/// One record read from input.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Case(Box<Case>),
    Statute(StatuteArticle),
}

/// A record that could not be read; the rest of its file still is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub file: PathBuf,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

impl std::error::Error for RecordError {}

/// Everything read from a path, record by record.
pub type Records = Vec<std::result::Result<Item, RecordError>>;

/// The case id of a LeCaRD candidate id as written in the data and qrels.
pub fn lecard_case_id(raw: &str) -> CaseId {
    CaseId(format!("lecard:{}", raw.trim()))
}

/// The case id of a LeCaRD query (read from a file whose name says `queries`): its own id
/// space, because a few query ids equal candidate ids.
pub fn lecard_query_id(raw: &str) -> CaseId {
    CaseId(format!("lecard-query:{}", raw.trim()))
}

/// Reads a file, or a directory recursively (in path order): `*.jsonl` with `format`
/// (detected per file for `Auto`), `*.txt` as text judgments; other files — including
/// `*.json`, which in data dirs is usually metadata, not one record a line — are skipped
/// (name such a file explicitly to read it). `Err` only when `path` itself (or a file in it)
/// cannot be read. Holds every record: [`RecordStream`] reads the same one at a time.
pub fn read_path(path: &Path, format: Format) -> Result<Records> {
    let mut stream = RecordStream::open(path, format)?;
    let mut out = Vec::new();
    while let Some(record) = stream.next_record()? {
        out.push(record);
    }
    Ok(out)
}

/// The records of a path (the files [`read_path`] reads, in its order) one at a time: a
/// JSON-lines file is read line by line, so memory does not grow with the input; a text
/// judgment or a file holding one JSON array is read whole.
pub struct RecordStream {
    files: std::vec::IntoIter<(PathBuf, Format)>,
    current: Option<FileRecords>,
}

/// The file being read.
struct FileRecords {
    path: PathBuf,
    size: u64,
    /// Bytes of it read so far.
    read: u64,
    /// The format its lines are parsed in (decided from its first record for `Auto`;
    /// set with [`FileRecords::set_format`]).
    format: Format,
    /// LeCaRD queries get their own id space (see [`lecard_query_id`]).
    lecard_queries: bool,
    /// Lines still to read; `None` once the whole file was parsed at open.
    lines: Option<std::io::BufReader<std::fs::File>>,
    line: usize,
    /// Records parsed and not yet returned (an SCM line makes three).
    ready: std::collections::VecDeque<std::result::Result<Item, RecordError>>,
}

impl RecordStream {
    /// Lists the files of `path` (nothing is read yet); `Err` when `path` cannot be read.
    pub fn open(path: &Path, format: Format) -> Result<RecordStream> {
        let meta = std::fs::metadata(path).map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut files = Vec::new();
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_files(path, &mut found)?;
            found.sort();
            for f in found {
                let ext = f
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                match ext.as_str() {
                    "txt" => files.push((f, Format::Text)),
                    "jsonl" if format != Format::Text => files.push((f, format)),
                    _ => {}
                }
            }
        } else {
            files.push((path.to_path_buf(), format));
        }
        Ok(RecordStream {
            files: files.into_iter(),
            current: None,
        })
    }

    /// The next record (`Ok(None)` after the last); `Err` when a file cannot be opened or
    /// read. A line that is not valid UTF-8 or JSON is a [`RecordError`] naming its line.
    pub fn next_record(&mut self) -> Result<Option<std::result::Result<Item, RecordError>>> {
        loop {
            if let Some(file) = &mut self.current {
                if let Some(record) = file.ready.pop_front() {
                    return Ok(Some(record));
                }
                if file.read_line()? {
                    continue;
                }
                self.current = None;
            }
            let Some((path, format)) = self.files.next() else {
                return Ok(None);
            };
            self.current = Some(FileRecords::open(path, format)?);
        }
    }

    /// The file being read, its size and the bytes of it read so far.
    pub fn position(&self) -> Option<(&Path, u64, u64)> {
        self.current
            .as_ref()
            .map(|f| (f.path.as_path(), f.size, f.read))
    }
}

impl FileRecords {
    fn open(path: PathBuf, format: Format) -> Result<FileRecords> {
        use std::io::{BufRead, Read};
        let io_at = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IngestError::Io { path, source }
        };
        let file = std::fs::File::open(&path).map_err(io_at(&path))?;
        let size = file.metadata().map_err(io_at(&path))?.len();
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let is_txt = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
        let mut f = FileRecords {
            path,
            size,
            read: 0,
            format,
            lecard_queries: false,
            lines: None,
            line: 0,
            ready: Default::default(),
        };
        let starts_array = reader
            .fill_buf()
            .map_err(io_at(&f.path))?
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            == Some(&b'[');
        if f.format == Format::Text || (f.format == Format::Auto && is_txt) {
            f.format = Format::Text;
            let mut content = String::new();
            reader
                .read_to_string(&mut content)
                .map_err(io_at(&f.path))?;
            f.read = size;
            f.ready.push_back(text_record(&f.path, &content));
            return Ok(f);
        }
        if starts_array {
            // a .json file holding one array: each element is a record (reported as line 0)
            let mut content = String::new();
            reader
                .read_to_string(&mut content)
                .map_err(io_at(&f.path))?;
            f.read = size;
            f.set_format(match f.format {
                Format::Auto => detect_format(&f.path, &content),
                given => given,
            });
            match serde_json::from_str::<Vec<Value>>(content.trim_start()) {
                Ok(vs) => {
                    for v in vs {
                        f.push_parsed(0, Ok(v));
                    }
                }
                Err(e) => f.push_parsed(0, Err(format!("invalid JSON array: {e}"))),
            }
            return Ok(f);
        }
        f.lines = Some(reader);
        if f.format == Format::Auto {
            // the first record's keys decide: read up to it, keep what was read
            let mut first = None;
            while first.is_none() {
                match f.next_line()? {
                    Some((n, Ok(text))) if !text.trim().is_empty() => first = Some((n, Ok(text))),
                    Some((_, Ok(_))) => {}
                    Some((n, Err(e))) => first = Some((n, Err(e))),
                    None => break,
                }
            }
            let detected_from = match &first {
                Some((_, Ok(text))) => text.as_str(),
                _ => "",
            };
            f.set_format(detect_format(&f.path, detected_from));
            if let Some((n, line)) = first {
                f.push_line(n, line);
            }
        } else {
            f.set_format(f.format);
        }
        Ok(f)
    }

    /// The format the file's records are parsed in, decided: LeCaRD query files get their
    /// own id space with it.
    fn set_format(&mut self, format: Format) {
        self.format = format;
        self.lecard_queries = names_lecard_queries(&self.path, format);
    }

    /// The next line (1-based number, text or why it is not text); `None` at the end.
    fn next_line(&mut self) -> Result<Option<(usize, std::result::Result<String, String>)>> {
        use std::io::BufRead;
        let Some(reader) = &mut self.lines else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| IngestError::Io {
                path: self.path.clone(),
                source,
            })?;
        if n == 0 {
            self.lines = None;
            return Ok(None);
        }
        self.read += n as u64;
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let text = String::from_utf8(buf).map_err(|e| format!("invalid UTF-8: {e}"));
        Ok(Some((self.line, text)))
    }

    /// Reads and parses the next non-empty line; `false` at the end of the file.
    fn read_line(&mut self) -> Result<bool> {
        loop {
            match self.next_line()? {
                None => return Ok(false),
                Some((_, Ok(text))) if text.trim().is_empty() => {}
                Some((n, line)) => {
                    self.push_line(n, line);
                    return Ok(true);
                }
            }
        }
    }

    fn push_line(&mut self, n: usize, line: std::result::Result<String, String>) {
        let parsed = line.and_then(|text| {
            serde_json::from_str::<Value>(&text).map_err(|e| format!("invalid JSON: {e}"))
        });
        self.push_parsed(n, parsed);
    }

    fn push_parsed(&mut self, line: usize, parsed: std::result::Result<Value, String>) {
        let mut items = parsed.and_then(|v| match v {
            Value::Object(obj) => parse_record(self.format, &obj),
            _ => Err("expected a JSON object".to_string()),
        });
        if self.lecard_queries {
            if let Ok(items) = &mut items {
                for item in items.iter_mut() {
                    if let Item::Case(case) = item {
                        case.id = lecard_query_id(case.id.as_str().trim_start_matches("lecard:"));
                        case.source = "lecard-query".into();
                    }
                }
            }
        }
        match items {
            Ok(items) => self.ready.extend(items.into_iter().map(Ok)),
            Err(message) => self.ready.push_back(Err(RecordError {
                file: self.path.clone(),
                line,
                message,
            })),
        }
    }
}

/// LeCaRD query files share the candidates' format and, for a few ids, their ids: queries
/// get their own id space so ingesting a whole data dir never replaces a candidate.
fn names_lecard_queries(path: &Path, format: Format) -> bool {
    format == Format::Lecard
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.to_ascii_lowercase().contains("quer"))
}

/// A text judgment: one case named after the file.
fn text_record(path: &Path, content: &str) -> std::result::Result<Item, RecordError> {
    if content.trim().is_empty() {
        return Err(RecordError {
            file: path.to_path_buf(),
            line: 0,
            message: "empty text file".into(),
        });
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_string();
    let mut case = Case::new(CaseId(format!("text:{stem}")));
    fill_from_text(&mut case, content.trim());
    case.source = "text".into();
    Ok(Item::Case(Box::new(case)))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| IngestError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let p = entry.path();
        if entry.file_type().map_err(io)?.is_dir() {
            collect_files(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Detects the format of a JSON-lines file from its name, then from the keys of its
/// first record.
pub fn detect_format(path: &Path, content: &str) -> Format {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let by_name = [
        ("lecardv2", Format::Lecardv2),
        ("guiding", Format::Guiding),
        ("typical", Format::Typical),
        ("articles", Format::Statutes),
        ("statute", Format::Statutes),
        ("triplets", Format::Scm),
        ("scm", Format::Scm),
        ("cail", Format::Cail2018),
        ("candidates", Format::Lecard),
        ("queries", Format::Lecard),
        ("lecard", Format::Lecard),
    ];
    // The first record's keys decide; the file name only when there is no JSON record to
    // look at (a native `Case` file may well be called guiding_cases.jsonl).
    let by_file_name = || {
        by_name
            .iter()
            .find(|(n, _)| name.contains(n))
            .map(|(_, f)| *f)
            .unwrap_or(Format::Jsonl)
    };
    let first = content.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(first) else {
        return by_file_name();
    };
    let has = |k: &str| obj.contains_key(k);
    if has("A") && has("B") && has("C") {
        Format::Scm
    } else if has("number") && has("gist") {
        Format::Guiding
    } else if has("topic") && has("text") {
        Format::Typical
    } else if has("article_no") && has("law") {
        Format::Statutes
    } else if has("text") && has("fact") && !has("full_text") {
        Format::Lecardv2
    } else if has("articles") && has("charges") {
        Format::Cail2018
    } else if has("fact") && has("charges") {
        Format::Lecard
    } else {
        Format::Jsonl
    }
}

type Obj = Map<String, Value>;
type RecordResult<T> = std::result::Result<T, String>;

fn req_str(obj: &Obj, key: &str) -> RecordResult<String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("missing field `{key}`")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("field `{key}` is empty")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "field `{key}`: expected a string, got {}",
            kind(other)
        )),
    }
}

fn opt_str(obj: &Obj, key: &str) -> RecordResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "field `{key}`: expected a string, got {}",
            kind(other)
        )),
    }
}

/// An id given as a string or an integer.
fn req_id(obj: &Obj, key: &str) -> RecordResult<String> {
    match obj.get(key) {
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => req_str(obj, key),
    }
}

fn str_list(obj: &Obj, key: &str) -> RecordResult<Vec<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(format!(
                    "field `{key}`: expected strings, got {}",
                    kind(other)
                )),
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(other) => Err(format!(
            "field `{key}`: expected a list, got {}",
            kind(other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn with_zui(c: &str) -> String {
    let c = c.trim();
    if c.ends_with('罪') {
        c.to_string()
    } else {
        format!("{c}罪")
    }
}

fn boxed(case: Case) -> Item {
    Item::Case(Box::new(case))
}

fn parse_record(format: Format, obj: &Obj) -> RecordResult<Vec<Item>> {
    match format {
        Format::Lecard => parse_lecard(obj).map(|c| vec![boxed(c)]),
        Format::Lecardv2 => parse_lecardv2(obj).map(|c| vec![boxed(c)]),
        Format::Cail2018 => parse_cail2018(obj).map(|c| vec![boxed(c)]),
        Format::Scm => parse_scm(obj).map(|t| t.into_cases().into_iter().map(boxed).collect()),
        Format::Guiding => parse_guiding(obj).map(|c| vec![boxed(c)]),
        Format::Typical => parse_typical(obj).map(|c| vec![boxed(c)]),
        Format::Statutes => parse_statute(obj).map(|a| vec![Item::Statute(a)]),
        Format::Jsonl | Format::Auto | Format::Text => parse_native(obj).map(|c| vec![boxed(c)]),
    }
}

fn parse_lecard(obj: &Obj) -> RecordResult<Case> {
    let id = req_id(obj, "id")?;
    let fact = req_str(obj, "fact")?;
    let mut case = Case::new(lecard_case_id(&id));
    case.category = CaseCategory::Criminal;
    case.charges = str_list(obj, "charges")?
        .iter()
        .map(|c| with_zui(c))
        .collect();
    case.sections.facts = fact;
    case.source = "lecard".into();
    Ok(case)
}

fn parse_lecardv2(obj: &Obj) -> RecordResult<Case> {
    let id = req_id(obj, "id")?;
    let text = req_str(obj, "text")?;
    let fact = opt_str(obj, "fact")?.unwrap_or_default();
    let mut case = Case::new(CaseId(format!("lecardv2:{id}")));
    fill_from_text(&mut case, &text);
    if case.sections.facts.is_empty() {
        case.sections.facts = fact;
    }
    case.source = "lecardv2".into();
    Ok(case)
}

fn parse_cail2018(obj: &Obj) -> RecordResult<Case> {
    let raw = req_id(obj, "id")?;
    let n = raw.strip_prefix("cail2018-").unwrap_or(&raw);
    let mut case = Case::new(CaseId(format!("cail2018:{n}")));
    case.sections.facts = req_str(obj, "fact")?;
    case.category = CaseCategory::Criminal;
    case.charges = cail2018_charges(&str_list(obj, "charges")?);
    for a in str_list(obj, "articles")? {
        let article = parse_cn_int(&a)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("field `articles`: {a:?} is not an article number"))?;
        case.statutes.push(StatuteRef {
            law: "刑法".into(),
            article,
        });
    }
    case.sentence.term_months = match obj.get("term_months") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("field `term_months`: {n} is not a month count"))?,
        ),
        Some(other) => {
            return Err(format!(
                "field `term_months`: expected a number, got {}",
                kind(other)
            ))
        }
    };
    case.source = "cail2018".into();
    Ok(case)
}

/// CAIL2018 charge lists come in two shapes: whole charges (`["盗窃", "掩饰、隐瞒犯罪所得、
/// 犯罪所得收益"]`), or the charge text split at every 、 with a final 。 (`["生产", "销售有毒",
/// "有害食品。"]`). The second shape is joined back and split into real charges, keeping
/// statutory compounds whole, so both shapes of one charge give the same `生产、销售有毒、
/// 有害食品罪` (and never `有害食品。罪`).
fn cail2018_charges(raw: &[String]) -> Vec<String> {
    let split_at_dun = raw.last().is_some_and(|c| c.trim().ends_with('。'));
    if split_at_dun {
        let joined = raw.join("、");
        split_charges(joined.trim().trim_end_matches('。'))
    } else {
        raw.iter()
            .map(|c| with_zui(c.trim().trim_end_matches('。')))
            .collect()
    }
}

/// One CAIL2019-SCM triplet: is `b` or `c` more similar to `a`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScmTriplet {
    pub id: String,
    pub a: String,
    pub b: String,
    pub c: String,
    /// `B` or `C`, as in the data.
    pub answer: String,
}

impl ScmTriplet {
    /// The three civil loan cases `scm:{id}:A`, `…:B`, `…:C`.
    pub fn into_cases(self) -> Vec<Case> {
        [("A", self.a), ("B", self.b), ("C", self.c)]
            .into_iter()
            .map(|(k, text)| {
                let mut case = Case::new(CaseId(format!("scm:{}:{k}", self.id)));
                case.category = CaseCategory::Civil;
                case.charges = vec!["民间借贷纠纷".into()];
                case.sections.facts = text;
                case.source = "scm".into();
                case
            })
            .collect()
    }
}

fn parse_scm(obj: &Obj) -> RecordResult<ScmTriplet> {
    let answer = req_str(obj, "answer")?;
    if answer != "B" && answer != "C" {
        return Err(format!(
            "field `answer`: expected \"B\" or \"C\", got {answer:?}"
        ));
    }
    Ok(ScmTriplet {
        id: req_id(obj, "id")?,
        a: req_str(obj, "A")?,
        b: req_str(obj, "B")?,
        c: req_str(obj, "C")?,
        answer,
    })
}

/// Reads CAIL2019-SCM triplets for evaluation; bad lines are errors here, since a
/// missing triplet would silently change the accuracy.
pub fn read_scm_triplets(path: &Path) -> Result<Vec<ScmTriplet>> {
    let content = std::fs::read_to_string(path).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in content
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fail = |message: String| IngestError::Format {
            path: path.to_path_buf(),
            message: format!("line {}: {message}", i + 1),
        };
        let obj = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Err(fail("expected a JSON object".into())),
            Err(e) => return Err(fail(format!("invalid JSON: {e}"))),
        };
        out.push(parse_scm(&obj).map_err(fail)?);
    }
    Ok(out)
}

fn joined(obj: &Obj, key: &str) -> RecordResult<String> {
    Ok(str_list(obj, key)?.join("\n"))
}

fn parse_guiding(obj: &Obj) -> RecordResult<Case> {
    let number = match obj.get("number") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("field `number`: {n} is not a case number"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("field `number`: {s:?} is not a case number"))?,
        Some(other) => {
            return Err(format!(
                "field `number`: expected a number, got {}",
                kind(other)
            ))
        }
        None => return Err("missing field `number`".into()),
    };
    let mut case = Case::new(CaseId(format!("guiding:{number}")));
    case.title = req_str(obj, "title")?;
    let keywords = str_list(obj, "keywords")?;
    case.sections.facts = joined(obj, "facts")?;
    case.sections.result = joined(obj, "result")?;
    case.sections.reasoning = joined(obj, "reasoning")?;
    let gist = joined(obj, "gist")?;
    if case.sections.facts.is_empty() && gist.is_empty() {
        return Err("missing field `facts` (and no `gist`)".into());
    }
    for law in str_list(obj, "relatedLaws")? {
        for r in find_statute_refs(&law) {
            if !case.statutes.contains(&r) {
                case.statutes.push(r);
            }
        }
    }
    case.category = keywords
        .iter()
        .find_map(|k| {
            ["民事", "刑事", "行政", "执行"]
                .iter()
                .find(|c| k.starts_with(*c))
                .and_then(|c| CaseCategory::parse(c))
        })
        .or_else(|| {
            keywords
                .iter()
                .any(|k| k.contains("赔偿"))
                .then_some(CaseCategory::Other)
        })
        .unwrap_or_default();
    case.charges = match case.category {
        CaseCategory::Criminal => {
            let from_keywords: Vec<String> = keywords
                .iter()
                .filter(|k| k.ends_with('罪'))
                .cloned()
                .collect();
            if from_keywords.is_empty() {
                let text = format!("{}\n{}", case.sections.result, case.sections.facts);
                find_charges(&text, &case.sections.result, &case.title)
            } else {
                from_keywords
            }
        }
        // 案由: a keyword that the title names as `…纠纷`.
        _ => keywords
            .iter()
            .filter(|k| k.chars().count() >= 2)
            .map(|k| {
                if k.ends_with("纠纷") {
                    k.clone()
                } else {
                    format!("{k}纠纷")
                }
            })
            .filter(|k| case.title.contains(k.as_str()))
            .take(1)
            .collect(),
    };
    if let Some(d) = opt_str(obj, "publishedAt")? {
        case.date = Some(
            JudgmentDate::parse(&d)
                .ok_or_else(|| format!("field `publishedAt`: invalid date {d:?}"))?,
        );
    }
    case.court = Some("最高人民法院".into());
    case.court_level = Some(CourtLevel::Supreme);
    case.tier = AuthorityTier::Guiding;
    case.guiding = Some(GuidingInfo {
        number,
        keywords,
        gist,
    });
    case.source = "guiding".into();
    Ok(case)
}

fn parse_typical(obj: &Obj) -> RecordResult<Case> {
    let raw = req_id(obj, "id")?;
    let n = raw.strip_prefix("typical-").unwrap_or(&raw);
    let text = req_str(obj, "text")?;
    let topic = opt_str(obj, "topic")?.unwrap_or_default();
    let mut case = Case::new(CaseId(format!("typical:{n}")));
    const FACTS: &[&str] = &["基本案情", "案情回顾", "简要案情"];
    const RESULT: &[&str] = &["裁判结果", "处理结果", "法院裁判"];
    const REASONING: &[&str] = &[
        "裁判要旨",
        "裁判要点",
        "裁判理由",
        "适用解析",
        "案例分析",
        "法官解读",
        "典型意义",
    ];
    let (mut facts, mut result, mut reasoning) = (Vec::new(), Vec::new(), Vec::new());
    let mut heading: Option<String> = None;
    let mut body = String::new();
    let mut flush = |heading: &Option<String>, body: &mut String| {
        let b = body.trim().to_string();
        body.clear();
        let Some(h) = heading else { return };
        if b.is_empty() {
            return;
        }
        let h = h.trim();
        if FACTS.iter().any(|f| h.contains(f)) {
            facts.push(b);
        } else if RESULT.iter().any(|f| h.contains(f)) {
            result.push(b);
        } else if REASONING.iter().any(|f| h.contains(f)) {
            reasoning.push(b);
        }
    };
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("# ") {
            if case.title.is_empty() {
                case.title = t.trim().to_string();
            }
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            flush(&heading, &mut body);
            heading = Some(h.to_string());
            continue;
        }
        if line.trim_start().starts_with("<!--") {
            continue;
        }
        body.push_str(line);
        body.push('\n');
    }
    flush(&heading, &mut body);
    case.sections.facts = facts.join("\n");
    case.sections.result = result.join("\n");
    case.sections.reasoning = reasoning.join("\n");
    if case.sections.facts.is_empty() && case.sections.reasoning.is_empty() {
        return Err("field `text`: no 基本案情/裁判要旨 sections found".into());
    }
    case.category = if topic.contains("行政") {
        CaseCategory::Administrative
    } else {
        CaseCategory::Civil
    };
    case.statutes = find_statute_refs(&text);
    case.full_text = text;
    case.tier = AuthorityTier::Typical;
    case.source = "typical".into();
    Ok(case)
}

fn parse_statute(obj: &Obj) -> RecordResult<StatuteArticle> {
    let law_title = req_str(obj, "law")?;
    let article = match obj.get("article_no") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("field `article_no`: {n} is not an article number"))?,
        _ => {
            let written = opt_str(obj, "article")?.unwrap_or_default();
            written
                .trim()
                .strip_prefix('第')
                .and_then(|s| s.strip_suffix('条'))
                .and_then(parse_cn_int)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    format!("field `article_no`: missing, and `article` {written:?} is not an article number")
                })?
        }
    };
    // 第一百三十三条之一: an article inserted after 133, not 133 itself
    let suffix = opt_str(obj, "article")?
        .and_then(|w| {
            w.split_once('之')
                .and_then(|(_, n)| parse_cn_int(n.trim_end_matches('条')))
        })
        .and_then(|n| u8::try_from(n).ok())
        .unwrap_or(0);
    Ok(StatuteArticle {
        law: normalize_law_name(&law_title),
        article,
        suffix,
        law_title,
        chapter: opt_str(obj, "chapter")?.unwrap_or_default(),
        section: opt_str(obj, "section")?.unwrap_or_default(),
        text: req_str(obj, "text")?,
    })
}

/// The native format: a serialised [`Case`]. Only `id` is required, plus at least one of
/// `full_text`, `sections.facts` or `title`; missing fields are filled from `full_text`.
/// One native record (a `Case` as JSON) as every way in stores it — `leian ingest` and
/// `POST /v1/cases` alike: fields missing from `full_text` extracted from it, the tier the
/// record gives kept, else following the court level. The error names the field.
pub fn case_from_native(v: &Value) -> std::result::Result<Case, String> {
    match v {
        Value::Object(obj) => parse_native(obj),
        other => Err(format!("expected a JSON object, got {}", kind(other))),
    }
}

fn parse_native(obj: &Obj) -> RecordResult<Case> {
    req_str(obj, "id")?;
    let full_text = opt_str(obj, "full_text")?.unwrap_or_default();
    let title = opt_str(obj, "title")?.unwrap_or_default();
    let facts = match obj.get("sections") {
        Some(Value::Object(s)) => {
            opt_str(s, "facts").map_err(|e| e.replace("`facts`", "`sections.facts`"))?
        }
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(format!(
                "field `sections`: expected an object, got {}",
                kind(other)
            ))
        }
    }
    .unwrap_or_default();
    if full_text.trim().is_empty() && facts.trim().is_empty() && title.trim().is_empty() {
        return Err("record has none of `full_text`, `sections.facts`, `title`".into());
    }
    let mut case: Case =
        serde_json::from_value(Value::Object(obj.clone())).map_err(|e| blame_field(obj, e))?;
    let tier_given = obj.contains_key("tier");
    let given_tier = case.tier;
    if !full_text.trim().is_empty() {
        fill_from_text(&mut case, &full_text);
    }
    case.tier = if tier_given {
        given_tier
    } else {
        AuthorityTier::from_court_level(case.court_level)
    };
    Ok(case)
}

/// Finds which top-level field made a native record fail to deserialise.
fn blame_field(obj: &Obj, whole: serde_json::Error) -> String {
    for (key, value) in obj {
        if key == "id" {
            continue;
        }
        let mut probe = Map::new();
        probe.insert("id".into(), obj.get("id").cloned().unwrap_or(Value::Null));
        probe.insert(key.clone(), value.clone());
        if let Err(e) = serde_json::from_value::<Case>(Value::Object(probe)) {
            return format!("field `{key}`: {e}");
        }
    }
    whole.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(content.as_bytes()).unwrap();
        p
    }

    fn cases(records: &Records) -> Vec<&Case> {
        records
            .iter()
            .filter_map(|r| match r {
                Ok(Item::Case(c)) => Some(c.as_ref()),
                _ => None,
            })
            .collect()
    }

    fn errors(records: &Records) -> Vec<&RecordError> {
        records.iter().filter_map(|r| r.as_ref().err()).collect()
    }

    #[test]
    fn lecard_queries_never_replace_candidates_with_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let rec = r#"{"id":"7","charges":["盗窃"],"fact":"某甲窃取财物。"}"#;
        std::fs::write(dir.path().join("candidates.jsonl"), rec).unwrap();
        std::fs::write(dir.path().join("queries.dev.jsonl"), rec).unwrap();
        let records = read_path(dir.path(), Format::Auto).unwrap();
        let ids: Vec<String> = records
            .iter()
            .filter_map(|r| match r {
                Ok(Item::Case(c)) => Some(c.id.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["lecard:7", "lecard-query:7"]);
    }

    #[test]
    fn directories_read_jsonl_and_txt_but_not_json_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("runs");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            dir.path().join("cases.jsonl"),
            r#"{"id":"x:1","title":"甲某盗窃案","sections":{"facts":"甲某窃取财物。"}}"#,
        )
        .unwrap();
        std::fs::write(sub.join("metrics.json"), "{\n \"a\": 1\n}\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "# notes").unwrap();
        std::fs::write(
            dir.path().join("j.txt"),
            "某某县人民法院\n刑事判决书\n经审理查明，被告人乙某窃取手机一部。",
        )
        .unwrap();
        let records = read_path(dir.path(), Format::Auto).unwrap();
        assert!(errors(&records).is_empty(), "{:?}", errors(&records));
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn detection_trusts_record_keys_over_file_name() {
        let native = r#"{"id":"x:1","title":"示例","tier":"guiding","sections":{"facts":"某某"}}"#;
        let guiding = r#"{"number":1,"title":"t","gist":["g"],"facts":"f"}"#;
        assert_eq!(
            detect_format(Path::new("sample/guiding_cases.jsonl"), native),
            Format::Jsonl
        );
        assert_eq!(
            detect_format(Path::new("any.jsonl"), guiding),
            Format::Guiding
        );
        assert_eq!(
            detect_format(Path::new("articles.jsonl"), "not json"),
            Format::Statutes
        );
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert_eq!("LeCaRD".parse::<Format>().unwrap(), Format::Lecard);
        assert!("csv".parse::<Format>().is_err());
    }

    #[test]
    fn lecard_records_and_errors_keep_going() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "candidates.jsonl",
            "{\"id\": \"7\", \"charges\": [\"盗窃\"], \"fact\": \"某甲在商店窃取手机一部。\"}\n\n{broken\n{\"id\": \"8\", \"charges\": []}\n{\"id\": 9, \"charges\": [\"诈骗罪\"], \"fact\": \"某乙虚构事实骗取钱款。\"}\n",
        );
        let recs = read_path(&p, Format::Auto).unwrap();
        let cs = cases(&recs);
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].id, lecard_case_id("7"));
        assert_eq!(cs[0].id.as_str(), "lecard:7");
        assert_eq!(cs[0].charges, vec!["盗窃罪"]);
        assert_eq!(cs[0].category, CaseCategory::Criminal);
        assert_eq!(cs[1].id.as_str(), "lecard:9");
        let es = errors(&recs);
        assert_eq!(es.len(), 2);
        assert_eq!(es[0].line, 3);
        assert!(es[0].message.contains("invalid JSON"));
        assert_eq!(es[1].line, 4);
        assert!(es[1].message.contains("`fact`"), "{}", es[1].message);
        assert!(
            es[1].to_string().ends_with(":4: missing field `fact`"),
            "{}",
            es[1]
        );
    }

    /// Half of the shared CAIL2018 rows split the charge text at 、 and end it with 。;
    /// read as they were, they gave charges like `有害食品。罪` that no filter matches.
    #[test]
    fn cail2018_charges_split_at_dun_are_joined_back() {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            cail2018_charges(&owned(&["生产", "销售有毒", "有害食品。"])),
            cail2018_charges(&owned(&["生产、销售有毒、有害食品"]))
        );
        assert_eq!(
            cail2018_charges(&owned(&["故意伤害。"])),
            vec!["故意伤害罪"]
        );
        assert_eq!(
            cail2018_charges(&owned(&["盗窃", "掩饰", "隐瞒犯罪所得", "犯罪所得收益。"])),
            cail2018_charges(&owned(&["盗窃", "掩饰、隐瞒犯罪所得、犯罪所得收益"]))
        );
        assert_eq!(
            cail2018_charges(&owned(&["抢劫", "盗窃。"])),
            vec!["抢劫罪", "盗窃罪"]
        );
    }

    #[test]
    fn cail2018_ids_charges_articles_terms() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "x.jsonl",
            "{\"id\": \"cail2018-3\", \"fact\": \"被告人某丙盗窃电动车一辆。\", \"articles\": [\"264\", \"67\"], \"charges\": [\"盗窃\"], \"term_months\": 8}\n{\"id\": \"cail2018-4\", \"fact\": \"某丁持刀伤人。\", \"articles\": [\"234\"], \"charges\": [\"故意伤害\"]}\n{\"id\": \"cail2018-5\", \"fact\": \"x\", \"articles\": [\"二六四条\"], \"charges\": [\"盗窃\"]}\n",
        );
        let recs = read_path(&p, Format::Cail2018).unwrap();
        let cs = cases(&recs);
        assert_eq!(cs[0].id.as_str(), "cail2018:3");
        assert_eq!(cs[0].charges, vec!["盗窃罪"]);
        assert_eq!(
            cs[0]
                .statutes
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            vec!["刑法第264条", "刑法第67条"]
        );
        assert_eq!(cs[0].sentence.term_months, Some(8));
        assert_eq!(cs[1].sentence.term_months, None);
        assert_eq!(cs[1].charges, vec!["故意伤害罪"]);
        let es = errors(&recs);
        assert_eq!(es.len(), 1);
        assert_eq!(es[0].line, 3);
        assert!(es[0].message.contains("`articles`"));
    }

    #[test]
    fn scm_triplets_as_cases_and_for_eval() {
        let dir = tempfile::tempdir().unwrap();
        let line = "{\"id\": 5, \"A\": \"原告甲诉被告乙借款一万元。\", \"B\": \"原告丙诉被告丁借款两万元。\", \"C\": \"原告戊诉被告己房屋租赁。\", \"answer\": \"B\"}\n";
        let p = write(dir.path(), "triplets.dev.jsonl", line);
        let recs = read_path(&p, Format::Auto).unwrap();
        let ids: Vec<&str> = cases(&recs).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, vec!["scm:5:A", "scm:5:B", "scm:5:C"]);
        assert!(cases(&recs)
            .iter()
            .all(|c| c.category == CaseCategory::Civil && c.charges == vec!["民间借贷纠纷"]));
        let ts = read_scm_triplets(&p).unwrap();
        assert_eq!(ts.len(), 1);
        assert_eq!((ts[0].id.as_str(), ts[0].answer.as_str()), ("5", "B"));
        let bad = write(dir.path(), "bad.jsonl", &format!("{line}{{\"id\": 6, \"A\": \"a\", \"B\": \"b\", \"C\": \"c\", \"answer\": \"D\"}}\n"));
        let err = read_scm_triplets(&bad).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("`answer`"), "{err}");
    }

    #[test]
    fn guiding_typical_and_statutes() {
        let dir = tempfile::tempdir().unwrap();
        let g = write(
            dir.path(),
            "g.jsonl",
            r#"{"id": "guiding-900", "number": 900, "title": "某甲诉某乙买卖合同纠纷案", "keywords": ["民事", "买卖合同", "违约"], "gist": ["要点一。", "要点二。"], "facts": ["某甲与某乙订立合同。"], "result": ["一审判决驳回。"], "reasoning": ["法院认为合同有效。"], "relatedLaws": ["《中华人民共和国民法典》第五百七十七条", "《中华人民共和国刑法》（2011年修正）第264条"], "publishedAt": "2023-01-11"}
{"id": "guiding-901", "number": 901, "title": "某丙盗窃案", "keywords": ["刑事", "盗窃罪"], "gist": [], "facts": ["某丙盗窃。"], "result": [], "reasoning": [], "relatedLaws": [], "publishedAt": "2023-02-30"}
"#,
        );
        let recs = read_path(&g, Format::Guiding).unwrap();
        let cs = cases(&recs);
        assert_eq!(cs.len(), 1);
        let c = cs[0];
        assert_eq!(c.id.as_str(), "guiding:900");
        assert_eq!(c.tier, AuthorityTier::Guiding);
        assert_eq!(c.category, CaseCategory::Civil);
        assert_eq!(c.charges, vec!["买卖合同纠纷"]);
        assert_eq!(c.court_level, Some(CourtLevel::Supreme));
        assert_eq!(c.date, JudgmentDate::new(2023, 1, 11));
        let g_info = c.guiding.as_ref().unwrap();
        assert_eq!(g_info.number, 900);
        assert_eq!(g_info.gist, "要点一。\n要点二。");
        assert_eq!(
            c.statutes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            vec!["民法典第577条", "刑法第264条"]
        );
        let es = errors(&recs);
        assert_eq!((es.len(), es[0].line), (1, 2));
        assert!(es[0].message.contains("`publishedAt`"));

        let t = write(
            dir.path(),
            "t.jsonl",
            &format!(
                "{}\n",
                serde_json::json!({"id": "typical-3", "topic": "行政协议诉讼", "source_path": "x.md",
                    "text": "# 某公司诉某县政府行政协议案\n\n<!-- INFO END -->\n\n## 基本案情\n\n某公司与县政府签订协议。\n\n## 裁判结果\n\n判决撤销。\n\n## 典型意义\n\n依照《中华人民共和国行政诉讼法》第十二条审查。\n"})
            ),
        );
        let recs = read_path(&t, Format::Typical).unwrap();
        let c = cases(&recs)[0];
        assert_eq!(c.id.as_str(), "typical:3");
        assert_eq!(c.title, "某公司诉某县政府行政协议案");
        assert_eq!(c.sections.facts, "某公司与县政府签订协议。");
        assert_eq!(c.sections.result, "判决撤销。");
        assert!(c.sections.reasoning.contains("第十二条"));
        assert_eq!(c.category, CaseCategory::Administrative);
        assert_eq!(c.tier, AuthorityTier::Typical);
        assert_eq!(c.statutes[0].to_string(), "行政诉讼法第12条");

        let s = write(
            dir.path(),
            "articles.jsonl",
            r#"{"law": "中华人民共和国某法", "level": "法律", "status": "现行有效", "chapter": "第一章 总则", "section": null, "article": "第三条", "article_no": 3, "text": "本法适用于某事。"}
{"law": "某决定", "article": "全文", "article_no": null, "text": "决定如下。"}
{"law": "某法", "article": "第十条", "text": "条文。"}
"#,
        );
        let recs = read_path(&s, Format::Auto).unwrap();
        let arts: Vec<&StatuteArticle> = recs
            .iter()
            .filter_map(|r| match r {
                Ok(Item::Statute(a)) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(arts.len(), 2);
        assert_eq!(
            (
                arts[0].law.as_str(),
                arts[0].article,
                arts[0].section.as_str()
            ),
            ("某法", 3, "")
        );
        assert_eq!(arts[0].law_title, "中华人民共和国某法");
        assert_eq!(arts[1].article, 10);
        assert_eq!(errors(&recs)[0].line, 2);
    }

    const JUDGMENT: &str = "浙江省某市某区人民法院刑事判决书（2021）浙0101刑初5号公诉机关某区人民检察院。某区人民检察院指控被告人某戊犯危险驾驶罪，于2021年2月1日向本院提起公诉。现已审理终结。经审理查明，被告人某戊醉酒驾驶机动车。本院认为，其行为已构成危险驾驶罪。依照《中华人民共和国刑法》第一百三十三条之一的规定，判决如下：被告人某戊犯危险驾驶罪，判处拘役二个月，并处罚金人民币三千元。审判员某己";

    #[test]
    fn native_jsonl_lenient_and_blames_fields() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "mine.jsonl",
            &[
                serde_json::json!({"id": "sample:1", "full_text": JUDGMENT}).to_string(),
                serde_json::json!({"id": "sample:2", "title": "只有标题", "court_level": "high"}).to_string(),
                serde_json::json!({"id": "sample:3", "full_text": JUDGMENT, "tier": "other", "charges": ["自定罪名"]}).to_string(),
                serde_json::json!({"id": "sample:4", "title": "t", "date": "2021-13-01"}).to_string(),
                serde_json::json!({"id": "sample:5", "title": "t", "charges": "盗窃罪"}).to_string(),
                serde_json::json!({"id": "sample:6"}).to_string(),
                serde_json::json!({"title": "no id"}).to_string(),
            ]
            .join("\n"),
        );
        let recs = read_path(&p, Format::Jsonl).unwrap();
        let cs = cases(&recs);
        assert_eq!(cs.len(), 3);
        assert_eq!(cs[0].court.as_deref(), Some("浙江省某市某区人民法院"));
        assert_eq!(cs[0].charges, vec!["危险驾驶罪"]);
        assert_eq!(cs[0].sentence.term_months, Some(2));
        assert_eq!(cs[0].sentence.fine_yuan, Some(3000));
        assert_eq!(cs[0].statutes[0].to_string(), "刑法第133条");
        assert_eq!(cs[1].tier, AuthorityTier::HigherCourt);
        assert_eq!(cs[2].charges, vec!["自定罪名"]);
        assert_eq!(cs[2].tier, AuthorityTier::Other);
        let es = errors(&recs);
        let lines: Vec<usize> = es.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5, 6, 7]);
        assert!(es[0].message.contains("`date`"), "{}", es[0].message);
        assert!(es[1].message.contains("`charges`"), "{}", es[1].message);
        assert!(es[3].message.contains("`id`"), "{}", es[3].message);
    }

    #[test]
    fn directories_recurse_and_txt_is_text() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sub/deeper/案例一.txt", JUDGMENT);
        write(
            dir.path(),
            "sub/candidates.jsonl",
            "{\"id\": \"1\", \"charges\": [\"盗窃\"], \"fact\": \"某事。\"}\n",
        );
        write(dir.path(), "notes.md", "ignored");
        let recs = read_path(dir.path(), Format::Auto).unwrap();
        let mut ids: Vec<&str> = cases(&recs).iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, vec!["lecard:1", "text:案例一"]);
        let text_case = cases(&recs)
            .into_iter()
            .find(|c| c.id.as_str() == "text:案例一")
            .unwrap();
        assert_eq!(text_case.case_number.as_ref().and_then(|n| n.seq), Some(5));
        assert!(matches!(
            read_path(&dir.path().join("missing"), Format::Auto),
            Err(IngestError::Io { .. })
        ));
    }

    fn shared(rel: &str) -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .join(rel);
        if p.exists() {
            Some(p)
        } else {
            eprintln!("skipping: {} absent", p.display());
            None
        }
    }

    /// (file, items, errors) for every shared file, read with `Auto`.
    #[test]
    fn real_shared_files() {
        let expected: &[(&str, usize, usize)] = &[
            ("lecard/candidates.jsonl", 2611, 0),
            ("lecard/queries.dev.jsonl", 64, 0),
            ("judgments/lecardv2_judgments.jsonl", 320, 0),
            // Line 51 has an empty `fact`.
            ("cail2018/facts.jsonl", 831, 1),
            ("scm/triplets.dev.jsonl", 900, 0),
            ("guiding_cases/guiding_cases.jsonl", 278, 0),
            ("typical_cases/typical_cases.jsonl", 52, 0),
            // 25 records are whole amendment/decision texts (`article` = 全文, no number).
            ("statutes/articles.jsonl", 26171, 25),
        ];
        for (rel, items, errs) in expected {
            let Some(p) = shared(rel) else { continue };
            let recs = read_path(&p, Format::Auto).unwrap();
            let es = errors(&recs);
            println!(
                "{rel}: {} items, {} errors",
                recs.len() - es.len(),
                es.len()
            );
            for e in es.iter().take(3) {
                println!("  {e}");
            }
            assert_eq!((recs.len() - es.len(), es.len()), (*items, *errs), "{rel}");
        }
        if let Some(p) = shared("scm/triplets.dev.jsonl") {
            assert_eq!(read_scm_triplets(&p).unwrap().len(), 300);
        }
        if let Some(p) = shared("guiding_cases/guiding_cases.jsonl") {
            let recs = read_path(&p, Format::Auto).unwrap();
            let cs = cases(&recs);
            let with_statutes = cs.iter().filter(|c| !c.statutes.is_empty()).count();
            let categorised = cs
                .iter()
                .filter(|c| c.category != CaseCategory::Other)
                .count();
            let with_charges = cs.iter().filter(|c| !c.charges.is_empty()).count();
            println!("guiding: statutes {with_statutes}/278, category {categorised}/278, charges {with_charges}/278");
            assert!(
                with_statutes >= 250 && categorised >= 250,
                "{with_statutes} {categorised}"
            );
        }
        if let Some(p) = shared("typical_cases/typical_cases.jsonl") {
            let recs = read_path(&p, Format::Auto).unwrap();
            let cs = cases(&recs);
            let with_facts = cs.iter().filter(|c| !c.sections.facts.is_empty()).count();
            println!("typical: facts {with_facts}/52");
            assert!(with_facts >= 40);
        }
    }

    #[test]
    fn a_stream_reads_line_by_line_naming_bad_lines_and_keeps_going() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.jsonl");
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(br#"{"id":"n:1","title":"t","sections":{"facts":"x1"}}"#);
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(b"{\"id\":\"n:2\",\"title\":\"\xff\xfe\"}\n");
        bytes.extend_from_slice(br#"{"id":"n:3","title":"t","sections":{"facts":"x3"}}"#);
        std::fs::write(&path, &bytes).unwrap();
        let mut stream = RecordStream::open(&path, Format::Auto).unwrap();
        let mut seen = Vec::new();
        let mut positions = Vec::new();
        while let Some(record) = stream.next_record().unwrap() {
            positions.push(
                stream
                    .position()
                    .map(|(_, size, read)| (size, read))
                    .unwrap(),
            );
            seen.push(match record {
                Ok(Item::Case(c)) => c.id.to_string(),
                Ok(Item::Statute(_)) => "statute".into(),
                Err(e) => format!("error at {}: {}", e.line, e.message),
            });
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0], "n:1", "detected as native from its first record");
        assert!(seen[1].starts_with("error at 3: invalid UTF-8"), "{seen:?}");
        assert_eq!(seen[2], "n:3");
        let size = bytes.len() as u64;
        assert!(positions.iter().all(|(s, _)| *s == size));
        assert_eq!(positions.last().map(|p| p.1), Some(size));
        assert!(stream.position().is_none(), "the stream is done");
        // the same records as reading the path whole
        let whole = read_path(&path, Format::Auto).unwrap();
        assert_eq!(whole.len(), 3);
    }

    #[test]
    fn a_stream_over_a_dir_reads_its_files_in_path_order_and_opens_them_lazily() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "b.jsonl",
            r#"{"id":"n:b","title":"t","sections":{"facts":"x"}}"#,
        );
        write(
            dir.path(),
            "a.txt",
            "经审理查明，被告人窃取手机一部。本院认为，构成盗窃罪。",
        );
        write(dir.path(), "notes.json", "{}");
        let mut stream = RecordStream::open(dir.path(), Format::Auto).unwrap();
        assert!(stream.position().is_none(), "nothing read at open");
        let mut ids = Vec::new();
        while let Some(record) = stream.next_record().unwrap() {
            if let Ok(Item::Case(c)) = record {
                ids.push(c.id.to_string());
            }
        }
        assert_eq!(ids, ["text:a", "n:b"]);
        let missing = RecordStream::open(&dir.path().join("nope.jsonl"), Format::Auto);
        assert!(missing.is_err_and(|e| e.to_string().contains("nope.jsonl")));
    }
}
