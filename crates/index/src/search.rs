//! BM25 search over cases with filters and snippets.
//!
//! The query text is never parsed as query syntax (legal text is full of quotes, colons
//! and brackets): it is cut with the index's own tokenizer, deduplicated, and each
//! distinct token becomes a `TermQuery` in every text field, boosted by [`FieldBoosts`]
//! and summed (a disjunction). Filters are score-free (`ConstScoreQuery` with 0) and
//! AND-ed; values within one filter field are OR-ed.
//!
//! Three plans keep long queries cheap as the index grows: a long fact query finds its
//! candidates with its most informative terms and scores them with all of them (two
//! stages); a given set of cases (re-ranking, snippets of a page) is scored term by
//! term, each term's postings skipped to those documents, never by AND-ing the text
//! with an ids filter (which walks every posting of every term); and a hit's coverage
//! of the query is read from its postings, not by cutting its text again.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use leian_ingest::{AuthorityTier, Case, CaseCategory, CaseId, CourtLevel, StatuteRef};
use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, Query,
    RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocSet, Order, Searcher, Term};

use crate::case_index::CaseIndex;
use crate::error::{IndexError, Result};
use crate::schema::{charge_key, region_key, statute_key};
use crate::snippet::snippet_html;

/// Per-field BM25 boosts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldBoosts {
    pub title: f32,
    pub facts: f32,
    pub reasoning: f32,
    pub result: f32,
    /// 裁判要点 and keywords of guiding cases.
    pub gist: f32,
    pub full: f32,
}

impl Default for FieldBoosts {
    /// Facts are what a judge compares; the gist states the rule of a guiding case, so it
    /// weighs more; reasoning repeats charge and statute names; the result is mostly
    /// boilerplate; the full text repeats the sections, so it only breaks ties.
    fn default() -> Self {
        FieldBoosts {
            title: 1.0,
            facts: 1.0,
            reasoning: 0.7,
            result: 0.3,
            gist: 1.5,
            full: 0.5,
        }
    }
}

/// How a token's count in the query weighs its BM25 clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryTf {
    /// Each occurrence counts (what Okapi BM25 over the query's token list does).
    Linear,
    /// 1 + ln(count).
    Log,
    /// Every distinct token counts once.
    Binary,
}

impl QueryTf {
    fn weight(self, count: u32) -> f32 {
        match self {
            QueryTf::Linear => count as f32,
            QueryTf::Log => 1.0 + (count as f32).ln(),
            QueryTf::Binary => 1.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QueryTf::Linear => "linear",
            QueryTf::Log => "log",
            QueryTf::Binary => "binary",
        }
    }
}

/// Which fields a fact-like (long) query is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactFields {
    /// Plain BM25 on the text that describes a case — facts, plus the gist and title of
    /// cases that have them — summed: one term query per field, so tantivy can prune
    /// with block-max WAND. What a judge's pasted facts are compared with.
    Facts,
    /// Every text field, per-token dismax with [`FIELD_TIE_BREAKER`] (the keyword plan).
    AllFields,
}

impl FactFields {
    pub fn as_str(self) -> &'static str {
        match self {
            FactFields::Facts => "facts",
            FactFields::AllFields => "all_fields",
        }
    }
}

/// How queries are built, fixed when the index is opened (an evaluation tries others
/// with [`CaseIndex::with_options`]).
///
/// The defaults were chosen by 8-fold cross-validation by query on the LeCaRD dev queries
/// (`leian eval bm25-cv`, corpus and paper protocols) and checked on the SCM triplets; see
/// the README's quality section for the out-of-fold figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    pub boosts: FieldBoosts,
    /// At most this many distinct query tokens are searched (see [`CaseIndex::search`]).
    pub max_query_terms: usize,
    /// Maximum snippet length, in characters.
    pub snippet_chars: usize,
    /// Queries at least this many characters long are treated as fact descriptions:
    /// scored on [`Self::fact_fields`], and, when [`Self::drop_names_numbers`] is set,
    /// without person names (jieba's `nr` tags, e.g. the parties) and bare numbers
    /// (dates, amounts). Shorter queries are keyword searches over every field and keep
    /// everything (a user may search for a party or `第264条`).
    pub long_query_chars: usize,
    pub drop_names_numbers: bool,
    pub query_tf: QueryTf,
    pub fact_fields: FactFields,
    /// The idf of fact-like queries (keyword queries use [`Idf::Lucene`]).
    pub idf: Idf,
}

/// Which inverse document frequency weighs a token (applied as a per-term boost of
/// wanted idf / tantivy's idf, so the scoring itself stays tantivy's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idf {
    /// tantivy's (Lucene's) ln(1 + (N − df + .5) / (df + .5)): the words most cases share
    /// weigh almost nothing.
    Lucene,
    /// Okapi's ln((N − df + .5) / (df + .5)), with the tokens in more than half the cases
    /// (negative there) weighing a quarter of the vocabulary's mean idf instead, as the
    /// `rank_bm25` package computes it.
    Okapi,
}

impl Idf {
    pub fn as_str(self) -> &'static str {
        match self {
            Idf::Lucene => "lucene",
            Idf::Okapi => "okapi",
        }
    }
}

/// Okapi's floor for tokens in more than half the cases, as a share of the mean idf.
const OKAPI_EPSILON: f32 = 0.25;

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            boosts: FieldBoosts::default(),
            max_query_terms: 1024,
            snippet_chars: 120,
            long_query_chars: 100,
            drop_names_numbers: false,
            query_tf: QueryTf::Log,
            fact_fields: FactFields::Facts,
            idf: Idf::Okapi,
        }
    }
}

/// Restricts a search. Everything empty/`None` (the default) means no restriction;
/// values within one field are OR-ed, fields are AND-ed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub tiers: Vec<AuthorityTier>,
    pub categories: Vec<CaseCategory>,
    /// Charges or causes of action; `盗窃` and `盗窃罪` are the same filter.
    pub charges: Vec<String>,
    pub court_levels: Vec<CourtLevel>,
    /// Province-level regions; `浙江` and `浙江省` are the same filter.
    pub regions: Vec<String>,
    /// Cited statute articles (any of them).
    pub statutes: Vec<StatuteRef>,
    /// Judgment year range, inclusive. Cases without a year never pass a year filter.
    pub year_from: Option<u16>,
    pub year_to: Option<u16>,
    /// Only these cases (e.g. the labelled candidates of an evaluation query).
    /// `Some(empty)` matches nothing.
    pub ids: Option<Vec<CaseId>>,
}

impl Filters {
    /// Checks what no index can answer (a year range that ends before it starts); the
    /// one rule for every caller, in words naming the fields.
    pub fn check(&self) -> std::result::Result<(), String> {
        match (self.year_from, self.year_to) {
            (Some(a), Some(b)) if a > b => Err(format!("year_from {a} is after year_to {b}")),
            _ => Ok(()),
        }
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self == &Filters::default()
    }

    /// The ids when they are the only filter.
    fn only_ids(&self) -> Option<&[CaseId]> {
        let ids = self.ids.as_deref()?;
        let rest = Filters {
            ids: None,
            ..self.clone()
        };
        rest.is_empty().then_some(ids)
    }
}

/// A search: text, filters and the page of results wanted.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Free text (a few words or a whole draft); blank means "filters only, newest first".
    pub text: String,
    pub filters: Filters,
    pub top_k: usize,
    pub offset: usize,
    /// Whether to cut a highlighted snippet for each hit.
    pub snippets: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            text: String::new(),
            filters: Filters::default(),
            top_k: 10,
            offset: 0,
            snippets: false,
        }
    }
}

impl SearchRequest {
    /// A text search for the top `top_k` cases, no filters, no snippets.
    pub fn text(text: impl Into<String>, top_k: usize) -> Self {
        SearchRequest {
            text: text.into(),
            top_k,
            ..SearchRequest::default()
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: CaseId,
    /// BM25 score (0 for filter-only searches).
    pub score: f32,
    pub case: Case,
    /// HTML: text escaped, matched terms in `<mark>…</mark>`. Only when requested.
    pub snippet: Option<String>,
    /// The field the snippet was cut from (`facts`, `gist`, `title`, `reasoning`,
    /// `result`, `full`). Only when snippets are requested.
    pub matched_field: Option<String>,
}

/// How much of a query a case covers (see [`CaseIndex::coverage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Coverage {
    /// The idf-weighted share of the query's informative tokens the case has, in `[0, 1]`.
    pub share: f32,
    /// The query's informative tokens the case has, each counted as its idf over the
    /// idf of a token no case has (so a common word counts little, a rare one nearly 1).
    pub matched_words: f32,
    /// The best chunk's cosine to the query, when both have vectors (filled by the
    /// engine, which holds them).
    pub dense: Option<f32>,
}

/// A query's tokens with their weights, ready to measure cases (see
/// [`CaseIndex::coverage_measure`]).
pub struct CoverageMeasure {
    tokenizer: crate::tokenizer::LegalTokenizer,
    weights: Vec<(String, f32)>,
    total: f32,
    unseen_idf: f32,
    /// The postings of the weighted tokens in the index the measure was made on.
    indexed: IndexedTokens,
}

/// Where each weighted token of a [`CoverageMeasure`] is in the facts and title postings
/// of each segment, so that a case is measured by seeking its document in them rather
/// than by cutting its text with jieba again (a case's facts field holds exactly its
/// `fact_text()` unless it is a guiding case, whose gist stands in for absent facts).
struct IndexedTokens {
    searcher: Searcher,
    id: Field,
    /// per segment: the facts and title inverted indexes, and per weighted token
    /// (in the order of `weights`) its term info in each
    segments: Vec<IndexedSegment>,
}

struct IndexedSegment {
    inverted: [Arc<tantivy::InvertedIndexReader>; 2],
    terms: Vec<[Option<tantivy::postings::TermInfo>; 2]>,
}

impl IndexedTokens {
    /// Which weighted tokens `case`'s document has in facts or title; `None` when the
    /// case is not (or no longer) in the index or is a guiding case.
    fn matched(&self, case: &Case) -> Result<Option<Vec<bool>>> {
        if case.guiding.is_some() {
            return Ok(None);
        }
        let Some(addr) = crate::case_index::live_doc(&self.searcher, self.id, &case.id)? else {
            return Ok(None);
        };
        let Some(segment) = self.segments.get(addr.segment_ord as usize) else {
            return Ok(None);
        };
        let doc = addr.doc_id;
        let mut matched = Vec::with_capacity(segment.terms.len());
        for infos in &segment.terms {
            let mut has = false;
            for (info, inverted) in infos.iter().zip(&segment.inverted) {
                if let Some(info) = info {
                    let mut postings = inverted
                        .read_postings_from_terminfo(info, IndexRecordOption::Basic)
                        .map_err(tantivy::TantivyError::from)?;
                    // postings start at their first document and only seek forwards
                    let mut at = postings.doc();
                    if at < doc {
                        at = postings.seek(doc);
                    }
                    if at == doc {
                        has = true;
                        break;
                    }
                }
            }
            matched.push(has);
        }
        Ok(Some(matched))
    }
}

impl CoverageMeasure {
    /// How much of the query `case` covers, from its facts, gist and title (an indexed
    /// case as the index holds it).
    pub fn of(&self, case: &Case) -> Coverage {
        if self.total <= 0.0 {
            return Coverage::default();
        }
        let covered = match self.indexed.matched(case) {
            Ok(Some(matched)) => self
                .weights
                .iter()
                .zip(matched)
                .filter(|(_, has)| *has)
                .map(|((_, w), _)| w)
                .sum(),
            // a guiding case, a case not in the index, or an index read error
            _ => self.covered_by_text(case),
        };
        Coverage {
            share: covered / self.total,
            matched_words: covered / self.unseen_idf,
            dense: None,
        }
    }

    /// The covered weight by cutting the case's text (what the postings answer for an
    /// indexed case, the same sum to the last bit).
    fn covered_by_text(&self, case: &Case) -> f32 {
        let gist = case.guiding.as_ref().map_or("", |g| g.gist.as_str());
        let mut seen: HashSet<String> = HashSet::new();
        for part in [case.fact_text(), gist, case.title.as_str()] {
            for t in self.tokenizer.tokens(part) {
                seen.insert(t.text);
            }
        }
        self.weights
            .iter()
            .filter(|(t, _)| seen.contains(t))
            .map(|(_, w)| w)
            .sum()
    }
}

/// Fact queries with more terms than this find their candidates with these most
/// informative terms first ([`CaseIndex::ranked_in_two_stages`]).
const FIRST_STAGE_TERMS: usize = 48;
/// Candidates the first stage finds per result wanted, and at least.
const FIRST_STAGE_PER_RESULT: usize = 4;
const FIRST_STAGE_MIN: usize = 200;

/// Weight of a token's matches in its other fields, beside its best field's.
pub const FIELD_TIE_BREAKER: f32 = 0.2;

/// Function words never worth a query term, whatever their idf in a small index.
const STOP_TOKENS: &[&str] = &[
    "的", "了", "在", "是", "和", "与", "及", "或", "等", "将", "被", "把", "对", "于", "其", "之",
    "也", "而", "并", "又", "该", "所", "以", "为", "有", "即",
];

/// (score, document) pairs, best first.
type Ranked = Vec<(f32, DocAddress)>;

/// A weighted query token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryTerm {
    pub(crate) text: String,
    /// idf × the query-tf weight: how informative the token is for this query.
    pub(crate) weight: f32,
    /// The query-tf weight ([`QueryTf`]) times the idf-floor correction: multiplies the
    /// field boost.
    pub(crate) tf_boost: f32,
}

/// What a text query scores: a sum over clauses (one per query token) of the clause's
/// fields, each `(term, boost)`; a clause of several fields is their dismax with
/// [`FIELD_TIE_BREAKER`] when `dismax`, else their sum.
struct TextPlan {
    clauses: Vec<Vec<(Term, f32)>>,
    dismax: bool,
}

impl CaseIndex {
    /// The distinct tokens of `text` that occur in the index, most informative first,
    /// at most `max_query_terms`.
    ///
    /// Why a cap: BM25 over a whole draft (thousands of characters) would OR hundreds of
    /// terms, most of them boilerplate (`被告人`, `本院`, `经审理查明`) that every case
    /// has; they cost time and add noise, while the rare, case-specific terms (the
    /// goods, the method, the place) decide similarity. So tokens are ranked by
    /// idf × (1 + ln tf-in-query) — the same signal BM25 itself would give them — and
    /// only the best `max_query_terms` are kept. Tokens absent from the index can never
    /// match and are dropped first. On the LeCaRD dev queries (median 326 characters)
    /// a cap of 64 ranks as well as no cap and is about 2.5× faster.
    /// See [`SearchOptions::long_query_chars`] for names and numbers.
    pub(crate) fn query_terms(&self, searcher: &Searcher, text: &str) -> Result<Vec<QueryTerm>> {
        let mut tf: HashMap<String, u32> = HashMap::new();
        let fact_like = self.is_fact_like(text);
        let drop = fact_like && self.inner.options.drop_names_numbers;
        let names = if drop {
            self.inner.tokenizer.person_names(text)
        } else {
            Vec::new()
        };
        for token in self.inner.tokenizer.tokens(text) {
            if drop
                && (token.text.bytes().all(|b| b.is_ascii_digit())
                    || names.iter().any(|n| n.contains(&token.text)))
            {
                continue;
            }
            if !STOP_TOKENS.contains(&token.text.as_str()) {
                *tf.entry(token.text).or_default() += 1;
            }
        }
        let n = searcher.num_docs() as f32;
        let fields = self.inner.fields.text_fields();
        let mut terms = Vec::with_capacity(tf.len());
        for (token, count) in tf {
            let mut df = 0u64;
            for (_, field) in fields {
                df = df.max(searcher.doc_freq(&Term::from_field_text(field, &token))?);
            }
            if df == 0 {
                continue;
            }
            // doc_freq still counts deleted cases until a merge: never above N
            let df = (df as f32).min(n);
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            // keyword queries keep tantivy's idf: the choice was made on fact queries
            let idf_kind = if fact_like {
                self.inner.options.idf
            } else {
                Idf::Lucene
            };
            let wanted = match idf_kind {
                Idf::Lucene => idf,
                Idf::Okapi => {
                    let okapi = ((n - df + 0.5) / (df + 0.5)).ln();
                    if okapi < 0.0 {
                        // a tiny floor keeps the weight positive in a degenerate index
                        (OKAPI_EPSILON * self.mean_okapi_idf(searcher)?).max(0.01)
                    } else {
                        okapi
                    }
                }
            };
            let tf_weight = self.inner.options.query_tf.weight(count);
            terms.push(QueryTerm {
                text: token,
                weight: wanted * tf_weight,
                tf_boost: tf_weight * wanted / idf.max(f32::MIN_POSITIVE),
            });
        }
        terms.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.text.cmp(&b.text)));
        terms.truncate(self.inner.options.max_query_terms.max(1));
        Ok(terms)
    }

    /// How much of the query each case covers: the idf-weighted share of the query's
    /// informative tokens (no stop words, single characters or numbers unless nothing
    /// else is left; see [`crate::snippet::highlight_terms`]) that occur in the case's
    /// facts, gist or title. In `[0, 1]`, comparable across queries and cases: a token
    /// the index has never seen weighs most and is covered by no case, so an off-topic
    /// query (`量子计算机专利侵权`) covers little of anything. Also the words matched,
    /// not divided by the query's: a long pasted fact description shares dozens of
    /// informative words with a case on point though they are a small share of its own.
    /// Each counts its idf over the idf of a word no case has, so the count means the
    /// same in a sample of 30 cases and an archive of a million. The relevance floor is
    /// a threshold on the two.
    pub fn coverage(&self, text: &str, cases: &[&Case]) -> Result<Vec<Coverage>> {
        let measure = self.coverage_measure(text)?;
        Ok(cases.iter().map(|c| measure.of(c)).collect())
    }

    /// What [`Self::coverage`] weighs the query's tokens with, computed once for a query
    /// and then applied to as many cases as needed.
    pub fn coverage_measure(&self, text: &str) -> Result<CoverageMeasure> {
        let searcher = self.searcher();
        let mut tokens: HashMap<String, f32> = HashMap::new();
        for token in self.inner.tokenizer.tokens(text) {
            if !STOP_TOKENS.contains(&token.text.as_str()) {
                tokens.insert(token.text, 0.0);
            }
        }
        let tokens = crate::snippet::highlight_terms(&tokens);
        let n = searcher.num_docs() as f32;
        let fields = [
            self.inner.fields.facts,
            self.inner.fields.gist,
            self.inner.fields.title,
        ];
        let mut weights: Vec<(String, f32)> = Vec::with_capacity(tokens.len());
        // in token order, so the sums below are the same on every run (a HashMap's order
        // changed the last digits of a hit's coverage from one process to the next)
        let mut tokens: Vec<String> = tokens.into_keys().collect();
        tokens.sort_unstable();
        let mut segments = Vec::with_capacity(searcher.segment_readers().len());
        for reader in searcher.segment_readers() {
            segments.push(IndexedSegment {
                inverted: [
                    reader.inverted_index(self.inner.fields.facts)?,
                    reader.inverted_index(self.inner.fields.title)?,
                ],
                terms: Vec::with_capacity(tokens.len()),
            });
        }
        for token in tokens {
            // document frequency per field summed over segments (as the searcher's
            // doc_freq does); the facts and title term infos are kept to measure cases
            let [facts, gist, title] = fields;
            // [facts, title] summed over segments
            let mut kept_df = [0u64; 2];
            for segment in &mut segments {
                let mut infos = [None, None];
                for ((slot, df), (field, inverted)) in infos
                    .iter_mut()
                    .zip(&mut kept_df)
                    .zip([facts, title].into_iter().zip(&segment.inverted))
                {
                    *slot = inverted
                        .get_term_info(&Term::from_field_text(field, &token))
                        .map_err(tantivy::TantivyError::from)?;
                    *df += slot.as_ref().map_or(0, |i| u64::from(i.doc_freq));
                }
                segment.terms.push(infos);
            }
            let gist_df = searcher.doc_freq(&Term::from_field_text(gist, &token))?;
            let df = kept_df[0].max(kept_df[1]).max(gist_df);
            let df = (df as f32).min(n);
            weights.push((token, (1.0 + (n - df + 0.5) / (df + 0.5)).ln()));
        }
        let total: f32 = weights.iter().map(|(_, w)| w).sum();
        Ok(CoverageMeasure {
            tokenizer: self.inner.tokenizer.clone(),
            weights,
            total,
            unseen_idf: (1.0 + (n + 0.5) / 0.5).ln(),
            indexed: IndexedTokens {
                searcher: searcher.clone(),
                id: self.inner.fields.id,
                segments,
            },
        })
    }

    /// The mean Okapi idf over the facts vocabulary (what [`Idf::Okapi`] floors common
    /// tokens with), computed once per searcher generation (i.e. per commit).
    fn mean_okapi_idf(&self, searcher: &Searcher) -> Result<f32> {
        let generation = searcher.generation().generation_id();
        let mut cached = self
            .inner
            .okapi_mean
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((g, mean)) = *cached {
            if g == generation {
                return Ok(mean);
            }
        }
        // The vocabulary's document frequencies, merged across segments: every
        // segment's term stream is sorted, so the streams are walked side by side.
        let field = self.inner.fields.facts;
        let n = searcher.num_docs() as f32;
        let inverted: Vec<_> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.inverted_index(field))
            .collect::<std::result::Result<_, _>>()?;
        let mut streams = Vec::with_capacity(inverted.len());
        for inv in &inverted {
            let mut stream = inv
                .terms()
                .stream()
                .map_err(|e| IndexError::io(&self.inner.generation_dir, e))?;
            if stream.advance() {
                streams.push(stream);
            }
        }
        let (mut sum, mut count) = (0.0f64, 0u64);
        while !streams.is_empty() {
            let key: Vec<u8> = streams
                .iter()
                .map(|s| s.key())
                .min()
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            let mut df = 0u64;
            let mut i = 0;
            while i < streams.len() {
                if streams[i].key() == key.as_slice() {
                    df += u64::from(streams[i].value().doc_freq);
                    if !streams[i].advance() {
                        streams.swap_remove(i);
                        continue;
                    }
                }
                i += 1;
            }
            let df = (df as f32).min(n);
            sum += f64::from(((n - df + 0.5) / (df + 0.5)).ln());
            count += 1;
        }
        let mean = if count == 0 {
            0.0
        } else {
            (sum / count as f64) as f32
        };
        *cached = Some((generation, mean));
        Ok(mean)
    }

    /// Whether `text` is searched as a fact description rather than keywords.
    pub(crate) fn is_fact_like(&self, text: &str) -> bool {
        text.chars().count() >= self.inner.options.long_query_chars
    }

    /// The scoring plan of a text query: one clause per query token, each over the fields
    /// it searches with their boosts (see [`TextPlan`]).
    fn text_plan(&self, terms: &[QueryTerm], fact_like: bool) -> TextPlan {
        let f = &self.inner.fields;
        let b = &self.inner.options.boosts;
        if fact_like && self.inner.options.fact_fields == FactFields::Facts {
            // A flat sum of term queries: tantivy scores it with block-max WAND when no
            // filter is AND-ed in. Gist and title exist on few cases (guiding and typical
            // ones): their postings are short, so the extra clauses cost little.
            let mut clauses = Vec::new();
            for term in terms {
                for (field, boost) in [(f.facts, b.facts), (f.gist, b.gist), (f.title, b.title)] {
                    if boost > 0.0 {
                        clauses.push(vec![(
                            Term::from_field_text(field, &term.text),
                            boost * term.tf_boost,
                        )]);
                    }
                }
            }
            return TextPlan {
                clauses,
                dismax: false,
            };
        }
        let fields: [(Field, f32); 6] = [
            (f.title, b.title),
            (f.facts, b.facts),
            (f.reasoning, b.reasoning),
            (f.result, b.result),
            (f.gist, b.gist),
            (f.full, b.full),
        ];
        // One clause per token: the best-scoring field counts fully, the others only by
        // FIELD_TIE_BREAKER. A plain sum over fields would count the same words again and
        // again, because fields overlap (the full text contains the facts, a guiding case's
        // gist restates them), so documents with more copies of a text would win.
        let clauses = terms
            .iter()
            .map(|term| {
                fields
                    .iter()
                    .filter(|(_, boost)| *boost > 0.0)
                    .map(|&(field, boost)| {
                        (
                            Term::from_field_text(field, &term.text),
                            boost * term.tf_boost,
                        )
                    })
                    .collect()
            })
            .collect();
        TextPlan {
            clauses,
            dismax: true,
        }
    }

    fn text_query(&self, plan: &TextPlan) -> Box<dyn Query> {
        let term_query = |(term, boost): &(Term, f32)| -> Box<dyn Query> {
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                *boost,
            ))
        };
        let clauses = plan
            .clauses
            .iter()
            .map(|clause| -> (Occur, Box<dyn Query>) {
                if plan.dismax {
                    let per_field = clause.iter().map(term_query).collect();
                    (
                        Occur::Should,
                        Box::new(DisjunctionMaxQuery::with_tie_breaker(
                            per_field,
                            FIELD_TIE_BREAKER,
                        )),
                    )
                } else {
                    // a facts-plan clause has exactly one field
                    let mut per_field: Vec<Box<dyn Query>> =
                        clause.iter().map(term_query).collect();
                    match (per_field.pop(), per_field.is_empty()) {
                        (Some(q), true) => (Occur::Should, q),
                        (q, _) => (
                            Occur::Should,
                            Box::new(BooleanQuery::new(
                                per_field
                                    .into_iter()
                                    .chain(q)
                                    .map(|q| (Occur::Should, q))
                                    .collect(),
                            )),
                        ),
                    }
                }
            })
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    /// The scores `plan` gives the documents `docs` (all alive; any order), computed term
    /// by term: each term's postings are skipped straight to the given documents, so the
    /// cost grows with the number of documents asked for, not with the index (a text query
    /// AND-ed with a filter of ids makes tantivy walk every posting of every term).
    /// Summed as tantivy's union sums them (clauses in order; a dismax clause as
    /// max + tie × (sum − max)), so the scores are the same as a filtered search's.
    /// `None` for a document no clause matches.
    fn plan_scores(
        &self,
        searcher: &Searcher,
        plan: &TextPlan,
        docs: &[DocAddress],
    ) -> Result<Vec<Option<f32>>> {
        let enable = tantivy::query::EnableScoring::enabled_from_searcher(searcher);
        // documents of each segment, ascending (postings only seek forwards)
        let mut by_segment: HashMap<u32, Vec<(u32, usize)>> = HashMap::new();
        for (i, d) in docs.iter().enumerate() {
            by_segment
                .entry(d.segment_ord)
                .or_default()
                .push((d.doc_id, i));
        }
        let mut totals: Vec<Option<f32>> = vec![None; docs.len()];
        let mut weights = Vec::with_capacity(plan.clauses.len());
        for clause in &plan.clauses {
            let mut per_field = Vec::with_capacity(clause.len());
            for (term, boost) in clause {
                let weight =
                    TermQuery::new(term.clone(), IndexRecordOption::WithFreqs).weight(enable)?;
                per_field.push((weight, *boost));
            }
            weights.push(per_field);
        }
        for (segment, mut local) in by_segment {
            local.sort_unstable();
            let reader = searcher.segment_reader(segment);
            // (max, sum) of the current clause for each local document
            let mut clause_scores: Vec<Option<(f32, f32)>> = vec![None; local.len()];
            for per_field in &weights {
                clause_scores.iter_mut().for_each(|s| *s = None);
                for (weight, boost) in per_field {
                    let mut scorer = weight.scorer(reader, *boost)?;
                    for (slot, &(doc, _)) in clause_scores.iter_mut().zip(&local) {
                        let mut at = scorer.doc();
                        if at < doc {
                            at = scorer.seek(doc);
                        }
                        if at == tantivy::TERMINATED {
                            break;
                        }
                        if at == doc {
                            let s = scorer.score();
                            *slot = Some(match *slot {
                                None => (s, s),
                                Some((max, sum)) => (max.max(s), sum + s),
                            });
                        }
                    }
                }
                for (slot, &(_, i)) in clause_scores.iter().zip(&local) {
                    if let Some((max, sum)) = *slot {
                        let clause = if plan.dismax {
                            max + (sum - max) * FIELD_TIE_BREAKER
                        } else {
                            sum
                        };
                        totals[i] = Some(totals[i].unwrap_or(0.0) + clause);
                    }
                }
            }
        }
        Ok(totals)
    }

    /// The score-free filter query, or `None` when nothing is filtered.
    fn filter_query(&self, filters: &Filters) -> Option<Box<dyn Query>> {
        let f = &self.inner.fields;
        let mut musts: Vec<Box<dyn Query>> = Vec::new();
        let mut any_of = |field: Field, keys: Vec<String>| {
            if !keys.is_empty() {
                let terms = keys.iter().map(|k| Term::from_field_text(field, k));
                musts.push(Box::new(TermSetQuery::new(terms)));
            }
        };
        any_of(
            f.tier,
            filters
                .tiers
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
        );
        any_of(
            f.category,
            filters
                .categories
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
        );
        any_of(
            f.charges,
            filters.charges.iter().map(|c| charge_key(c)).collect(),
        );
        any_of(
            f.court_level,
            filters
                .court_levels
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
        );
        any_of(
            f.region,
            filters.regions.iter().map(|r| region_key(r)).collect(),
        );
        any_of(
            f.statutes,
            filters
                .statutes
                .iter()
                .map(|s| statute_key(&s.law, s.article))
                .collect(),
        );
        if let Some(ids) = &filters.ids {
            any_of(f.id, ids.iter().map(|id| id.as_str().to_string()).collect());
        }
        if filters.year_from.is_some() || filters.year_to.is_some() {
            let bound = |y: Option<u16>| match y {
                Some(y) => Bound::Included(Term::from_field_u64(f.year, u64::from(y))),
                None => Bound::Unbounded,
            };
            musts.push(Box::new(RangeQuery::new(
                bound(filters.year_from),
                bound(filters.year_to),
            )));
        }
        if musts.is_empty() {
            return None;
        }
        let all = BooleanQuery::new(musts.into_iter().map(|q| (Occur::Must, q)).collect());
        Some(Box::new(ConstScoreQuery::new(Box::new(all), 0.0)))
    }

    /// Ranked (score, address) pairs for `req`, and the query terms used.
    fn ranked(&self, searcher: &Searcher, req: &SearchRequest) -> Result<(Ranked, Vec<QueryTerm>)> {
        if req.top_k == 0 || req.filters.ids.as_ref().is_some_and(Vec::is_empty) {
            return Ok((Vec::new(), Vec::new()));
        }
        let filter = self.filter_query(&req.filters);
        let collector = TopDocs::with_limit(req.top_k).and_offset(req.offset);
        if req.text.trim().is_empty() {
            let query = filter.unwrap_or_else(|| Box::new(AllQuery));
            let docs = searcher.search(
                &query,
                &collector.order_by_fast_field::<u64>("date_key", Order::Desc),
            )?;
            return Ok((
                docs.into_iter().map(|(_, a)| (0.0, a)).collect(),
                Vec::new(),
            ));
        }
        let terms = self.query_terms(searcher, &req.text)?;
        if terms.is_empty() {
            // Text was given but none of it occurs in the index: nothing matches.
            return Ok((Vec::new(), terms));
        }
        let plan = self.text_plan(&terms, self.is_fact_like(&req.text));
        if let Some(ids) = req.filters.only_ids() {
            // a few given cases: scored term by term, not by walking every posting
            let ranked = self.ranked_among(searcher, &plan, ids)?;
            let page = ranked.into_iter().skip(req.offset).take(req.top_k);
            return Ok((page.collect(), terms));
        }
        if filter.is_none() && !plan.dismax && terms.len() > FIRST_STAGE_TERMS {
            return Ok((
                self.ranked_in_two_stages(searcher, req, &terms, &plan)?,
                terms,
            ));
        }
        Ok((self.ranked_by_query(searcher, req, &plan, filter)?, terms))
    }

    /// A long fact query: its [`FIRST_STAGE_TERMS`] most informative terms find the
    /// candidates (block-max WAND prunes a short disjunction far better than one of
    /// hundreds of terms), then every term of `plan` scores them exactly, so the page is
    /// the full query's ranking of those candidates.
    fn ranked_in_two_stages(
        &self,
        searcher: &Searcher,
        req: &SearchRequest,
        terms: &[QueryTerm],
        plan: &TextPlan,
    ) -> Result<Ranked> {
        let wanted = req.offset + req.top_k;
        let first = self.text_plan(&terms[..FIRST_STAGE_TERMS.min(terms.len())], true);
        let candidates = self.ranked_by_query(
            searcher,
            &SearchRequest {
                top_k: (wanted * FIRST_STAGE_PER_RESULT).max(FIRST_STAGE_MIN),
                offset: 0,
                ..req.clone()
            },
            &first,
            None,
        )?;
        let docs: Vec<DocAddress> = candidates.into_iter().map(|(_, addr)| addr).collect();
        Ok(self
            .ranked_docs(searcher, plan, docs)?
            .into_iter()
            .skip(req.offset)
            .take(req.top_k)
            .collect())
    }

    /// The cases of `ids` that `plan` matches, best first (ties by document, as a top-k
    /// search orders them); the same scores as the query AND-ed with an ids filter.
    fn ranked_among(&self, searcher: &Searcher, plan: &TextPlan, ids: &[CaseId]) -> Result<Ranked> {
        let mut docs = Vec::with_capacity(ids.len());
        let mut seen = HashSet::new();
        for id in ids {
            if let Some(addr) = self.doc_address(searcher, id)? {
                if seen.insert(addr) {
                    docs.push(addr);
                }
            }
        }
        self.ranked_docs(searcher, plan, docs)
    }

    /// The documents of `docs` that `plan` matches, scored by [`Self::plan_scores`], best
    /// first (ties by document, as a top-k search orders them).
    fn ranked_docs(
        &self,
        searcher: &Searcher,
        plan: &TextPlan,
        docs: Vec<DocAddress>,
    ) -> Result<Ranked> {
        let scores = self.plan_scores(searcher, plan, &docs)?;
        let mut ranked: Ranked = docs
            .into_iter()
            .zip(scores)
            .filter_map(|(addr, score)| score.map(|s| (s, addr)))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(ranked)
    }

    /// `plan` as one tantivy query AND-ed with `filter`, top-k by score.
    fn ranked_by_query(
        &self,
        searcher: &Searcher,
        req: &SearchRequest,
        plan: &TextPlan,
        filter: Option<Box<dyn Query>>,
    ) -> Result<Ranked> {
        let collector = TopDocs::with_limit(req.top_k).and_offset(req.offset);
        let text = self.text_query(plan);
        let query: Box<dyn Query> = match filter {
            Some(filter) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, text),
                (Occur::Must, filter),
            ])),
            None => text,
        };
        Ok(searcher.search(&query, &collector.order_by_score())?)
    }

    /// The query tokens a search for `text` would use, most informative first (see
    /// [`Self::query_terms`]): lets benchmarks hand peers exactly the same query.
    pub fn query_tokens(&self, text: &str) -> Result<Vec<String>> {
        let searcher = self.searcher();
        Ok(self
            .query_terms(&searcher, text)?
            .into_iter()
            .map(|t| t.text)
            .collect())
    }

    /// BM25 search (see the module doc). A blank `text` returns the filtered cases,
    /// newest first, with score 0.
    pub fn search(&self, req: &SearchRequest) -> Result<Vec<Hit>> {
        let searcher = self.searcher();
        let (docs, terms) = self.ranked(&searcher, req)?;
        let weights: HashMap<String, f32> = terms.into_iter().map(|t| (t.text, t.weight)).collect();
        let weights = crate::snippet::highlight_terms(&weights);
        let mut hits = Vec::with_capacity(docs.len());
        for (score, addr) in docs {
            let case = self.load_case(&searcher, addr)?;
            let (snippet, matched_field) = if req.snippets {
                self.snippet_for(&case, &weights)
            } else {
                (None, None)
            };
            hits.push(Hit {
                id: case.id.clone(),
                score,
                case,
                snippet,
                matched_field,
            });
        }
        Ok(hits)
    }

    /// Snippet from facts, else gist, reasoning, full text, title, result: the first
    /// that contains a query term. Without query terms (filter-only search), the start
    /// of the fact text, escaped.
    fn snippet_for(
        &self,
        case: &Case,
        weights: &HashMap<String, f32>,
    ) -> (Option<String>, Option<String>) {
        let max = self.inner.options.snippet_chars;
        if weights.is_empty() {
            let text = case.fact_text();
            if text.trim().is_empty() {
                return (None, None);
            }
            let mut html = String::new();
            let cut: String = text.chars().take(max).collect();
            crate::snippet::escape_snippet(&cut, &mut html);
            if cut.len() < text.len() {
                html.push('…');
            }
            return (Some(html), None);
        }
        let gist = case.guiding.as_ref().map_or("", |g| g.gist.as_str());
        let sources = [
            ("facts", case.sections.facts.as_str()),
            ("gist", gist),
            ("reasoning", case.sections.reasoning.as_str()),
            ("full", case.full_text.as_str()),
            ("title", case.title.as_str()),
            ("result", case.sections.result.as_str()),
        ];
        for (name, text) in sources {
            if text.is_empty() {
                continue;
            }
            if let Some(html) = snippet_html(&self.inner.tokenizer, text, weights, max) {
                return (Some(html), Some(name.to_string()));
            }
        }
        (None, None)
    }

    /// BM25 scores of `text` for the given cases, best first: cases that match get
    /// their score, indexed cases that share no term get 0.0 (after the matches, in the
    /// order given), unknown ids are left out.
    pub fn bm25_scores_for(&self, text: &str, ids: &[CaseId]) -> Result<Vec<(CaseId, f32)>> {
        let searcher = self.searcher();
        // the indexed cases among `ids`, each once, in the order given
        let mut seen = HashSet::new();
        let mut present: Vec<(CaseId, DocAddress)> = Vec::with_capacity(ids.len());
        for id in ids {
            if seen.insert(id) {
                if let Some(addr) = self.doc_address(&searcher, id)? {
                    present.push((id.clone(), addr));
                }
            }
        }
        let terms = if text.trim().is_empty() {
            Vec::new()
        } else {
            self.query_terms(&searcher, text)?
        };
        let matched = if terms.is_empty() {
            Vec::new()
        } else {
            let plan = self.text_plan(&terms, self.is_fact_like(text));
            let docs: Vec<DocAddress> = present.iter().map(|(_, a)| *a).collect();
            self.ranked_docs(&searcher, &plan, docs)?
        };
        // matches best first, then the rest with 0.0 in the order given
        let id_of: HashMap<DocAddress, &CaseId> = present.iter().map(|(id, a)| (*a, id)).collect();
        let scored: HashSet<DocAddress> = matched.iter().map(|(_, a)| *a).collect();
        let mut out: Vec<(CaseId, f32)> = matched
            .iter()
            .filter_map(|(s, a)| id_of.get(a).map(|id| ((*id).clone(), *s)))
            .collect();
        out.extend(
            present
                .iter()
                .filter(|(_, a)| !scored.contains(a))
                .map(|(id, _)| (id.clone(), 0.0)),
        );
        Ok(out)
    }

    /// Ids of every case the filters admit, without loading or scoring cases (what a
    /// filtered vector search needs). All cases when nothing is filtered.
    pub fn matching_ids(&self, filters: &Filters) -> Result<Vec<CaseId>> {
        let searcher = self.searcher();
        let query: Box<dyn Query> = match self.filter_query(filters) {
            Some(q) => q,
            None => Box::new(tantivy::query::AllQuery),
        };
        let docs = searcher.search(&*query, &tantivy::collector::DocSetCollector)?;
        docs.into_iter()
            .map(|addr| self.load_id(&searcher, addr))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case_index::tests::case;
    use leian_ingest::{GuidingInfo, JudgmentDate};

    #[test]
    fn a_year_range_that_ends_before_it_starts_is_refused() {
        let f = |year_from, year_to| Filters {
            year_from,
            year_to,
            ..Filters::default()
        };
        assert!(f(Some(2020), Some(2022)).check().is_ok());
        assert!(f(Some(2022), None).check().is_ok());
        let err = f(Some(2023), Some(2021)).check().expect_err("backwards");
        assert_eq!(err, "year_from 2023 is after year_to 2021");
    }

    /// Five fictional cases with distinct filter values.
    fn fixture() -> (tempfile::TempDir, CaseIndex) {
        let dir = tempfile::tempdir().unwrap();
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        let mut cases = Vec::new();

        let mut c = case(
            "t:theft-bj",
            "盗窃罪",
            "2019年3月5日，被告人王某窜至北京市海淀区某小区，撬锁入户盗窃笔记本电脑一台，价值人民币5000元。",
        );
        c.court_level = Some(CourtLevel::Basic);
        c.region = Some("北京市".into());
        c.date = JudgmentDate::new(2019, 6, 1);
        c.statutes = vec![StatuteRef {
            law: "刑法".into(),
            article: 264,
        }];
        cases.push(c);

        let mut c = case(
            "t:theft-zj",
            "盗窃罪",
            "被告人李某在杭州某商场趁人不备扒窃他人手机一部，价值人民币3000元，后被当场抓获。",
        );
        c.court_level = Some(CourtLevel::Intermediate);
        c.region = Some("浙江".into());
        c.date = JudgmentDate::new(2021, 2, 3);
        c.statutes = vec![
            StatuteRef {
                law: "刑法".into(),
                article: 264,
            },
            StatuteRef {
                law: "刑法".into(),
                article: 67,
            },
        ];
        c.tier = AuthorityTier::HigherCourt;
        cases.push(c);

        let mut c = case(
            "t:fraud",
            "诈骗罪",
            "被告人赵某冒充电商客服，以退款为由诱骗被害人转账人民币二万元。",
        );
        c.court_level = Some(CourtLevel::High);
        c.region = Some("广东".into());
        c.date = JudgmentDate::new(2020, 8, 8);
        c.statutes = vec![StatuteRef {
            law: "刑法".into(),
            article: 266,
        }];
        cases.push(c);

        let mut c = case(
            "t:robbery",
            "抢劫罪",
            "被告人钱某持刀在路边拦截被害人，抢走其手机和现金人民币800元。",
        );
        c.tier = AuthorityTier::Guiding;
        c.court_level = Some(CourtLevel::Supreme);
        c.date = JudgmentDate::new(2015, 1, 1);
        c.guiding = Some(GuidingInfo {
            number: 99,
            keywords: vec!["抢劫".into(), "持刀".into()],
            gist: "持刀当场劫取他人财物的，构成抢劫罪。".into(),
        });
        cases.push(c);

        let mut c = Case::new(CaseId::new("t:loan"));
        c.title = "孙某诉周某民间借贷纠纷案".into();
        c.category = CaseCategory::Civil;
        c.charges = vec!["民间借贷纠纷".into()];
        c.sections.facts = "周某向孙某借款人民币十万元，约定一年内归还，到期未还。".into();
        c.region = Some("浙江省".into());
        cases.push(c); // no date, no court level

        let mut w = index.writer().unwrap();
        for c in &cases {
            w.upsert(c).unwrap();
        }
        w.commit().unwrap();
        (dir, index)
    }

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.id.as_str()).collect()
    }

    fn filtered(index: &CaseIndex, text: &str, filters: Filters) -> Vec<String> {
        let req = SearchRequest {
            text: text.into(),
            filters,
            top_k: 10,
            ..Default::default()
        };
        let mut got: Vec<String> = index
            .search(&req)
            .unwrap()
            .into_iter()
            .map(|h| h.id.0)
            .collect();
        got.sort();
        got
    }

    #[test]
    fn text_search_ranks_matching_case_first() {
        let (_dir, index) = fixture();
        let hits = index
            .search(&SearchRequest::text("入户盗窃笔记本电脑", 10))
            .unwrap();
        assert_eq!(hits[0].id.as_str(), "t:theft-bj", "{:?}", ids(&hits));
        assert!(hits[0].score > 0.0);
        assert!(!ids(&hits).contains(&"t:loan"));
        // Scores are non-increasing.
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        // 盗窃 finds text that only says 盗窃罪 (the reasoning of both theft cases).
        let hits = index.search(&SearchRequest::text("盗窃", 10)).unwrap();
        let mut got = ids(&hits);
        got.sort();
        assert_eq!(got, vec!["t:theft-bj", "t:theft-zj"]);
        // Query syntax characters are just text.
        let hits = index
            .search(&SearchRequest::text(
                "\"持刀\" AND title:(抢劫) [x TO y] -手机",
                10,
            ))
            .unwrap();
        assert_eq!(hits[0].id.as_str(), "t:robbery", "{:?}", ids(&hits));
        // Nothing in the index: no hits.
        assert!(index
            .search(&SearchRequest::text("量子计算机", 10))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn paging_with_offset() {
        let (_dir, index) = fixture();
        let all = index
            .search(&SearchRequest::text("被告人 人民币 手机", 10))
            .unwrap();
        assert!(all.len() >= 3);
        let page = index
            .search(&SearchRequest {
                offset: 1,
                top_k: 2,
                ..SearchRequest::text("被告人 人民币 手机", 2)
            })
            .unwrap();
        assert_eq!(ids(&page), ids(&all[1..3]));
    }

    #[test]
    fn every_filter() {
        let (_dir, index) = fixture();
        let f = |filters: Filters| filtered(&index, "", filters);
        assert_eq!(
            f(Filters {
                tiers: vec![AuthorityTier::Guiding, AuthorityTier::HigherCourt],
                ..Default::default()
            }),
            vec!["t:robbery", "t:theft-zj"]
        );
        assert_eq!(
            f(Filters {
                categories: vec![CaseCategory::Civil],
                ..Default::default()
            }),
            vec!["t:loan"]
        );
        assert_eq!(
            f(Filters {
                charges: vec!["盗窃".into()],
                ..Default::default()
            }),
            vec!["t:theft-bj", "t:theft-zj"]
        );
        assert_eq!(
            f(Filters {
                charges: vec!["诈骗罪".into(), "抢劫罪".into()],
                ..Default::default()
            }),
            vec!["t:fraud", "t:robbery"]
        );
        assert_eq!(
            f(Filters {
                court_levels: vec![CourtLevel::High, CourtLevel::Basic],
                ..Default::default()
            }),
            vec!["t:fraud", "t:theft-bj"]
        );
        assert_eq!(
            f(Filters {
                regions: vec!["浙江省".into()],
                ..Default::default()
            }),
            vec!["t:loan", "t:theft-zj"]
        );
        assert_eq!(
            f(Filters {
                statutes: vec![StatuteRef {
                    law: "刑法".into(),
                    article: 67
                }],
                ..Default::default()
            }),
            vec!["t:theft-zj"]
        );
        assert_eq!(
            f(Filters {
                statutes: vec![StatuteRef {
                    law: "刑法".into(),
                    article: 264
                }],
                ..Default::default()
            }),
            vec!["t:theft-bj", "t:theft-zj"]
        );
        assert_eq!(
            f(Filters {
                year_from: Some(2019),
                year_to: Some(2020),
                ..Default::default()
            }),
            vec!["t:fraud", "t:theft-bj"]
        );
        assert_eq!(
            f(Filters {
                year_from: Some(2020),
                ..Default::default()
            }),
            vec!["t:fraud", "t:theft-zj"]
        );
        assert_eq!(
            f(Filters {
                year_to: Some(2016),
                ..Default::default()
            }),
            vec!["t:robbery"]
        );
        // Fields AND together.
        assert_eq!(
            f(Filters {
                charges: vec!["盗窃".into()],
                regions: vec!["北京".into()],
                ..Default::default()
            }),
            vec!["t:theft-bj"]
        );
        assert!(f(Filters {
            charges: vec!["盗窃".into()],
            regions: vec!["广东".into()],
            ..Default::default()
        })
        .is_empty());
        // No filter: everything.
        assert_eq!(f(Filters::default()).len(), 5);
        // Text and filter combine: "手机" is in theft-zj and robbery; only robbery is guiding.
        assert_eq!(
            filtered(
                &index,
                "手机",
                Filters {
                    tiers: vec![AuthorityTier::Guiding],
                    ..Default::default()
                }
            ),
            vec!["t:robbery"]
        );
    }

    #[test]
    fn filter_only_search_is_newest_first() {
        let (_dir, index) = fixture();
        let hits = index
            .search(&SearchRequest {
                filters: Filters {
                    categories: vec![CaseCategory::Criminal],
                    ..Default::default()
                },
                top_k: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            ids(&hits),
            vec!["t:theft-zj", "t:fraud", "t:theft-bj", "t:robbery"]
        );
        assert!(hits.iter().all(|h| h.score == 0.0));
    }

    #[test]
    fn matching_ids_agree_with_filtered_search() {
        let (_dir, index) = fixture();
        let all = index.matching_ids(&Filters::default()).unwrap();
        assert_eq!(all.len() as u64, index.num_cases());
        let f = Filters {
            tiers: vec![AuthorityTier::Guiding],
            ..Filters::default()
        };
        let mut got: Vec<String> = index
            .matching_ids(&f)
            .unwrap()
            .iter()
            .map(|i| i.as_str().to_string())
            .collect();
        got.sort();
        let mut want = filtered(&index, "", f);
        want.sort();
        assert!(!want.is_empty());
        assert_eq!(got, want);
    }

    #[test]
    fn ids_filter_and_bm25_scores_for() {
        let (_dir, index) = fixture();
        let cands = vec![
            CaseId::new("t:theft-zj"),
            CaseId::new("t:fraud"),
            CaseId::new("t:robbery"),
        ];
        let got = filtered(
            &index,
            "手机",
            Filters {
                ids: Some(cands.clone()),
                ..Default::default()
            },
        );
        assert_eq!(got, vec!["t:robbery", "t:theft-zj"]);
        assert!(filtered(
            &index,
            "手机",
            Filters {
                ids: Some(vec![]),
                ..Default::default()
            }
        )
        .is_empty());

        let mut with_unknown = cands.clone();
        with_unknown.push(CaseId::new("t:nope"));
        let scores = index
            .bm25_scores_for("商场扒窃手机", &with_unknown)
            .unwrap();
        let names: Vec<&str> = scores.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(names[0], "t:theft-zj");
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(!names.contains(&"t:nope"));
        assert_eq!(
            scores.last().map(|(id, s)| (id.as_str(), *s)),
            Some(("t:fraud", 0.0))
        );
        // Equal to the scores of the same search without the ids filter.
        let free = index
            .search(&SearchRequest::text("商场扒窃手机", 10))
            .unwrap();
        let free_zj = free.iter().find(|h| h.id.as_str() == "t:theft-zj").unwrap();
        assert!((free_zj.score - scores[0].1).abs() < 1e-5);
    }

    #[test]
    fn scoring_given_cases_term_by_term_equals_the_filtered_tantivy_query() {
        let (_dir, index) = fixture();
        let all = index.all_ids().unwrap();
        let searcher = index.searcher();
        // a keyword query (dismax plan) and a fact description (facts plan)
        let long = "2019年3月5日，被告人王某窜至北京市海淀区某小区，撬锁入户盗窃笔记本电脑一台，\
                    价值人民币5000元。被告人李某在杭州某商场趁人不备扒窃他人手机一部，价值人民币3000元，\
                    后被当场抓获，赃物已发还被害人。";
        assert!(index.is_fact_like(long));
        let mut compared = 0;
        for text in ["商场扒窃手机", "盗窃 电脑 抓获", long] {
            let terms = index.query_terms(&searcher, text).unwrap();
            let plan = index.text_plan(&terms, index.is_fact_like(text));
            assert_eq!(plan.dismax, text != long);
            // every subset shape: all cases, a few (one twice), one
            for ids in [
                all.clone(),
                vec![all[1].clone(), all[0].clone(), all[1].clone()],
                vec![all[2].clone()],
            ] {
                let req = SearchRequest {
                    text: text.into(),
                    filters: Filters {
                        ids: Some(ids.clone()),
                        ..Default::default()
                    },
                    top_k: ids.len(),
                    ..SearchRequest::default()
                };
                let by_query = index
                    .ranked_by_query(&searcher, &req, &plan, index.filter_query(&req.filters))
                    .unwrap();
                let among = index.ranked_among(&searcher, &plan, &ids).unwrap();
                // same documents, same order, the very same scores
                assert_eq!(among, by_query, "{text}");
                compared += among.len();
                // bm25_scores_for: those matches, then each other given case with 0.0
                let scores = index.bm25_scores_for(text, &ids).unwrap();
                let matched: Vec<f32> = scores.iter().map(|s| s.1).filter(|s| *s > 0.0).collect();
                let want: Vec<f32> = by_query.iter().map(|r| r.0).collect();
                assert_eq!(matched, want, "{text}");
                let mut distinct = ids.clone();
                distinct.sort();
                distinct.dedup();
                assert_eq!(scores.len(), distinct.len(), "{text}");
            }
        }
        assert!(compared >= 6, "{compared}");
    }

    #[test]
    fn a_long_fact_query_in_two_stages_ranks_like_the_whole_query() {
        let dir = tempfile::tempdir().unwrap();
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        // 600 cases, each 40 words of a 300-word vocabulary: more cases than the first
        // stage keeps, so it really prunes
        let vocabulary: Vec<String> = (0..300).map(|k| format!("词{k}号证据")).collect();
        let mut seed = 17u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let mut w = index.writer().unwrap();
        for i in 0..600 {
            let facts: Vec<&str> = (0..40).map(|_| vocabulary[next(300)].as_str()).collect();
            w.upsert(&case(&format!("t:{i}"), "盗窃罪", &facts.join("，")))
                .unwrap();
        }
        w.commit().unwrap();
        let searcher = index.searcher();
        for q in 0..5 {
            let words: Vec<&str> = (0..70).map(|_| vocabulary[next(300)].as_str()).collect();
            let text = words.join("，");
            let terms = index.query_terms(&searcher, &text).unwrap();
            assert!(terms.len() > FIRST_STAGE_TERMS, "{} terms", terms.len());
            let plan = index.text_plan(&terms, index.is_fact_like(&text));
            assert!(!plan.dismax);
            for (top_k, offset) in [(10, 0), (30, 20)] {
                let req = SearchRequest {
                    text: text.clone(),
                    top_k,
                    offset,
                    ..SearchRequest::default()
                };
                let two = index
                    .ranked_in_two_stages(&searcher, &req, &terms, &plan)
                    .unwrap();
                let whole = index.ranked_by_query(&searcher, &req, &plan, None).unwrap();
                assert_eq!(two.len(), top_k);
                // every case found is scored by the whole query, best first
                let all = SearchRequest {
                    top_k: 600,
                    offset: 0,
                    ..req.clone()
                };
                let exact: HashMap<DocAddress, f32> = index
                    .ranked_by_query(&searcher, &all, &plan, None)
                    .unwrap()
                    .into_iter()
                    .map(|(s, a)| (a, s))
                    .collect();
                for pair in two.windows(2) {
                    assert!(pair[0].0 >= pair[1].0);
                }
                for (score, addr) in &two {
                    assert!((score - exact[addr]).abs() <= 1e-4 * score, "query {q}");
                }
                // the first page exactly; deeper pages nearly all, even on this corpus
                // of equally rare words (real queries have a few telling words)
                let found: HashSet<DocAddress> = two.iter().map(|x| x.1).collect();
                let kept = whole.iter().filter(|x| found.contains(&x.1)).count();
                if offset == 0 {
                    assert_eq!(kept, top_k, "query {q}");
                } else {
                    assert!(kept * 10 >= top_k * 9, "query {q}: {kept} of {top_k}");
                }
            }
        }
    }

    #[test]
    fn coverage_from_postings_equals_coverage_from_the_text() {
        let (_dir, index) = fixture();
        let cases: Vec<Case> = index
            .all_ids()
            .unwrap()
            .iter()
            .map(|id| index.get(id).unwrap().unwrap())
            .collect();
        let long =
            "被告人李某在杭州某商场趁人不备扒窃他人手机一部，价值人民币3000元，后被当场抓获。\
                    被告人王某撬锁入户盗窃笔记本电脑一台，诈骗他人钱财。";
        let mut from_postings = 0;
        for text in ["扒窃手机", "盗窃 电脑 北京市", "量子计算机", long] {
            let m = index.coverage_measure(text).unwrap();
            for case in &cases {
                let by_text = m.covered_by_text(case);
                let share = m.of(case).share;
                assert_eq!(share, by_text / m.total, "{text} / {}", case.id.as_str());
                if m.indexed.matched(case).unwrap().is_some() {
                    from_postings += 1;
                }
            }
        }
        // the postings answered for every indexed non-guiding case
        assert!(from_postings >= 4 * (cases.len() - 1), "{from_postings}");
        // a case the index does not hold is measured from its text
        let outside = case("t:outside", "盗窃罪", "在商场扒窃手机。");
        let m = index.coverage_measure("扒窃手机").unwrap();
        assert!(m.indexed.matched(&outside).unwrap().is_none());
        assert!(m.of(&outside).share > 0.9);
    }

    #[test]
    fn coverage_is_high_on_topic_and_low_off_topic() {
        let (_dir, index) = fixture();
        let theft = index.get(&CaseId::new("t:theft-zj")).unwrap().unwrap();
        let robbery = index.get(&CaseId::new("t:robbery")).unwrap().unwrap();
        let share = |v: Vec<Coverage>| v.iter().map(|c| c.share).collect::<Vec<f32>>();
        let on = share(index.coverage("扒窃手机", &[&theft, &robbery]).unwrap());
        assert!(
            (on[0] - 1.0).abs() < 1e-6,
            "both words in the theft: {on:?}"
        );
        assert!(on[1] < on[0], "{on:?}");
        // words the index has never seen weigh most and nothing covers them
        let off = share(
            index
                .coverage("量子计算机专利侵权", &[&theft, &robbery])
                .unwrap(),
        );
        assert!(off.iter().all(|&c| c < 0.2), "{off:?}");
        // half the query's words: partial coverage, between the two
        let half_c = index.coverage("扒窃手机 量子纠缠", &[&theft]).unwrap();
        let half = share(half_c.clone());
        assert!(half[0] > off[0] && half[0] < on[0], "{half:?}");
        // the same words matched: the same count, whatever else the query holds
        let whole = index.coverage("扒窃手机", &[&theft]).unwrap();
        assert!((half_c[0].matched_words - whole[0].matched_words).abs() < 1e-4);
        assert!(whole[0].matched_words > 0.0);
        for c in on.iter().chain(&off).chain(&half) {
            assert!((0.0..=1.0).contains(c));
        }
        assert_eq!(
            index.coverage("", &[&theft]).unwrap(),
            vec![Coverage::default()]
        );
    }

    #[test]
    fn snippets_highlight_chinese() {
        let (_dir, index) = fixture();
        let hits = index
            .search(&SearchRequest {
                snippets: true,
                ..SearchRequest::text("扒窃手机", 3)
            })
            .unwrap();
        let top = &hits[0];
        assert_eq!(top.id.as_str(), "t:theft-zj");
        let snippet = top.snippet.as_deref().unwrap();
        assert!(snippet.contains("<mark>扒窃</mark>"), "{snippet}");
        assert!(snippet.contains("<mark>手机</mark>"), "{snippet}");
        assert_eq!(top.matched_field.as_deref(), Some("facts"));
        // A term only in the gist of the guiding case.
        let hits = index
            .search(&SearchRequest {
                snippets: true,
                ..SearchRequest::text("劫取", 3)
            })
            .unwrap();
        assert_eq!(hits[0].id.as_str(), "t:robbery");
        assert_eq!(hits[0].matched_field.as_deref(), Some("gist"));
        assert!(hits[0]
            .snippet
            .as_deref()
            .unwrap()
            .contains("<mark>劫取</mark>"));
        // Without snippets requested, none.
        let hits = index.search(&SearchRequest::text("扒窃手机", 3)).unwrap();
        assert!(hits[0].snippet.is_none() && hits[0].matched_field.is_none());
    }

    #[test]
    fn long_query_is_capped_to_informative_terms() {
        let (_dir, index) = fixture();
        let searcher = index.searcher();
        let draft = "经审理查明，被告人在商场扒窃手机。".repeat(200);
        let terms = index.query_terms(&searcher, &draft).unwrap();
        assert!(terms.len() <= index.options().max_query_terms);
        // The rarest term (one case) outranks the commonest (every criminal case).
        let pos = |t: &str| terms.iter().position(|q| q.text == t);
        assert!(pos("扒窃").unwrap() < pos("被告人").unwrap(), "{terms:?}");
        let hits = index.search(&SearchRequest::text(draft, 1)).unwrap();
        assert_eq!(hits[0].id.as_str(), "t:theft-zj");

        let capped = CaseIndex::open_or_create_with(
            &index.root().join("unused"),
            SearchOptions {
                max_query_terms: 2,
                ..SearchOptions::default()
            },
        )
        .unwrap();
        let terms = capped
            .query_terms(&searcher, "经审理查明，被告人在商场扒窃手机。")
            .unwrap();
        assert!(terms.len() <= 2);
    }

    #[test]
    fn long_queries_drop_numbers_only_when_asked() {
        let (_dir, index) = fixture();
        let searcher = index.searcher();
        let short = index.query_terms(&searcher, "价值5000元").unwrap();
        assert!(short.iter().any(|t| t.text == "5000"), "{short:?}");
        let long = format!("价值5000元{}", "被告人撬锁入户盗窃笔记本电脑。".repeat(8));
        assert!(long.chars().count() >= index.options().long_query_chars);
        // the default (chosen by cross-validation) keeps numbers and names
        let kept = index.query_terms(&searcher, &long).unwrap();
        assert!(kept.iter().any(|t| t.text == "5000"), "{kept:?}");
        let dropping = index.with_options(SearchOptions {
            drop_names_numbers: true,
            ..index.options().clone()
        });
        let dropped = dropping.query_terms(&searcher, &long).unwrap();
        assert!(!dropped.iter().any(|t| t.text == "5000"), "{dropped:?}");
        assert!(
            dropped.iter().any(|t| t.text == "笔记本电脑"),
            "{dropped:?}"
        );
        // short queries keep them either way
        let short = dropping.query_terms(&searcher, "价值5000元").unwrap();
        assert!(short.iter().any(|t| t.text == "5000"), "{short:?}");
    }

    #[test]
    fn query_tf_and_idf_change_term_weights() {
        let (_dir, index) = fixture();
        let searcher = index.searcher();
        let text = format!("{}盗窃", "扒窃手机，".repeat(30));
        let weight = |o: SearchOptions, t: &str| {
            let i = index.with_options(o);
            let terms = i.query_terms(&searcher, &text).unwrap();
            terms
                .iter()
                .find(|q| q.text == t)
                .map(|q| q.tf_boost)
                .unwrap()
        };
        let base = index.options().clone();
        let linear = weight(
            SearchOptions {
                query_tf: QueryTf::Linear,
                idf: Idf::Lucene,
                ..base.clone()
            },
            "扒窃",
        );
        let log = weight(
            SearchOptions {
                query_tf: QueryTf::Log,
                idf: Idf::Lucene,
                ..base.clone()
            },
            "扒窃",
        );
        let binary = weight(
            SearchOptions {
                query_tf: QueryTf::Binary,
                idf: Idf::Lucene,
                ..base.clone()
            },
            "扒窃",
        );
        assert!((linear - 30.0).abs() < 1e-3, "{linear}");
        assert!((log - (1.0 + 30f32.ln())).abs() < 1e-4, "{log}");
        assert!((binary - 1.0).abs() < 1e-5, "{binary}");
        // Okapi's idf differs from Lucene's: the boost corrects tantivy's idf
        let okapi = weight(
            SearchOptions {
                query_tf: QueryTf::Binary,
                idf: Idf::Okapi,
                ..base
            },
            "扒窃",
        );
        assert!((okapi - 1.0).abs() > 1e-3, "{okapi}");
    }

    #[test]
    fn fact_plan_ranks_like_all_fields_on_facts_only_cases() {
        let (_dir, index) = fixture();
        let q = "被告人在商场内趁被害人不备扒窃其手机一部，价值人民币三千元，后被当场抓获。";
        let long = q.repeat(4);
        let ids = |o: FactFields| {
            let i = index.with_options(SearchOptions {
                fact_fields: o,
                ..index.options().clone()
            });
            i.search(&SearchRequest::text(long.clone(), 3))
                .unwrap()
                .into_iter()
                .map(|h| h.id.to_string())
                .collect::<Vec<_>>()
        };
        let facts = ids(FactFields::Facts);
        assert!(!facts.is_empty());
        assert_eq!(facts[0], ids(FactFields::AllFields)[0]);
    }

    #[test]
    fn okapi_idf_stays_finite_when_deleted_cases_still_count_in_df() {
        let (_dir, index) = fixture();
        let all = index.all_ids().unwrap();
        let mut w = index.writer().unwrap();
        // delete all but one: doc_freq keeps counting the deleted cases until a merge
        for id in all.iter().skip(1) {
            w.delete(id);
        }
        w.commit().unwrap();
        let facts =
            "被告人在商场扒窃手机，价值人民币三千元，被当场抓获，到案后如实供述。".repeat(3);
        let hits = index.search(&SearchRequest::text(facts, 5)).unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(
            hits[0].score.is_finite() && hits[0].score > 0.0,
            "{}",
            hits[0].score
        );
    }

    #[test]
    fn reopened_index_searches_the_same() {
        let (dir, index) = fixture();
        let before = index.search(&SearchRequest::text("盗窃手机", 10)).unwrap();
        drop(index);
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        let after = index.search(&SearchRequest::text("盗窃手机", 10)).unwrap();
        assert_eq!(ids(&before), ids(&after));
        assert_eq!(
            filtered(
                &index,
                "",
                Filters {
                    regions: vec!["浙江".into()],
                    ..Default::default()
                }
            ),
            vec!["t:loan", "t:theft-zj"]
        );
    }

    #[test]
    fn shared_across_threads() {
        let (_dir, index) = fixture();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let index = index.clone();
                std::thread::spawn(move || {
                    index
                        .search(&SearchRequest::text("盗窃", 10))
                        .map(|h| h.len())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), 2);
        }
    }

    /// Whether two charge names denote the same charge, counting a specific form of a
    /// selective charge as the same: `贩卖毒品罪` is `走私、贩卖、运输、制造毒品罪`
    /// (its characters appear in order in the selective name).
    fn same_charge(a: &str, b: &str) -> bool {
        let (a, b) = (charge_key(a), charge_key(b));
        let subsequence = |short: &str, long: &str| {
            let mut long = long.chars();
            short.chars().all(|c| long.any(|l| l == c))
        };
        a == b
            || (b.contains('、') && subsequence(&a.replace('、', ""), &b))
            || (a.contains('、') && subsequence(&b.replace('、', ""), &a))
    }

    #[test]
    fn same_charge_handles_selective_charges() {
        assert!(same_charge("盗窃罪", "盗窃"));
        assert!(same_charge("贩卖毒品罪", "走私、贩卖、运输、制造毒品罪"));
        assert!(same_charge("非法持有、私藏枪支、弹药罪", "非法持有枪支罪"));
        assert!(!same_charge(
            "非法持有毒品罪",
            "走私、贩卖、运输、制造毒品罪"
        ));
        assert!(!same_charge("诈骗罪", "票据诈骗罪"));
        assert!(!same_charge("赌博罪", "开设赌场罪"));
    }

    /// Real data: index the 2,611 LeCaRD candidates' facts and check that, for most dev
    /// queries, the top hit over the whole corpus shares a charge with the query.
    #[test]
    fn lecard_top_hit_shares_a_charge() {
        let data =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lecard");
        let (Ok(cands), Ok(queries)) = (
            std::fs::read_to_string(data.join("candidates.jsonl")),
            std::fs::read_to_string(data.join("queries.dev.jsonl")),
        ) else {
            println!("skipping: LeCaRD data not found under {}", data.display());
            return;
        };
        let parse = |line: &str| -> (String, Vec<String>, String) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let charges = v["charges"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let id = match &v["id"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                id,
                charges,
                v["fact"].as_str().unwrap_or_default().to_string(),
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let index = CaseIndex::open_or_create(dir.path()).unwrap();
        let started = std::time::Instant::now();
        let mut w = index.writer().unwrap();
        let mut n = 0;
        for line in cands.lines().filter(|l| !l.trim().is_empty()) {
            let (id, charges, fact) = parse(line);
            let mut c = Case::new(CaseId::new(format!("lecard:{id}")));
            c.category = CaseCategory::Criminal;
            c.charges = charges;
            c.sections.facts = fact;
            w.upsert(&c).unwrap();
            n += 1;
        }
        w.commit().unwrap();
        let index_time = started.elapsed();
        assert_eq!(index.num_cases(), n);

        let started = std::time::Instant::now();
        let (mut same, mut total) = (0, 0);
        for line in queries.lines().filter(|l| !l.trim().is_empty()) {
            let (_, charges, fact) = parse(line);
            let hits = index.search(&SearchRequest::text(fact, 1)).unwrap();
            total += 1;
            if hits.first().is_some_and(|h| {
                charges
                    .iter()
                    .any(|q| h.case.charges.iter().any(|c| same_charge(q, c)))
            }) {
                same += 1;
            }
        }
        let query_time = started.elapsed();
        println!(
            "LeCaRD: indexed {n} candidates in {index_time:.2?}; {total} queries in {query_time:.2?} \
             ({:.1} ms/query); top hit shares a charge for {same}/{total}",
            query_time.as_secs_f64() * 1000.0 / total.max(1) as f64
        );
        assert!(total >= 50, "only {total} queries");
        // Queries are original judgment facts, candidates LLM summaries of other cases,
        // and several charges are near neighbours (赌博/开设赌场, 寻衅滋事/聚众斗殴), so
        // pure BM25 gets the majority right, not nearly all: 38/64 when written.
        assert!(
            same * 2 > total,
            "top hit shares a charge for only {same}/{total}"
        );
    }
}
