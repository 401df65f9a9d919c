//! `leian search` and `leian similar`: query the index and print hits for people or as JSON.

use anyhow::{bail, Result};
use clap::Args;
use leian_engine::{hits_json, hits_text, Engine, Filters, Fusion, Query, RankedCase, SearchMode};
use leian_ingest::{AuthorityTier, CaseCategory, CaseId, CourtLevel};
use std::path::{Path, PathBuf};

/// Filters shared by every command that searches.
#[derive(Args, Default, Clone)]
pub(crate) struct FilterArgs {
    /// Authority tier: guiding, typical, higher_court, same_court, other (repeatable).
    #[arg(long = "tier", value_parser = parse_tier)]
    tiers: Vec<AuthorityTier>,
    /// Case category: criminal, civil, administrative, enforcement (or 刑事/民事…).
    #[arg(long = "category", value_parser = parse_category)]
    categories: Vec<CaseCategory>,
    /// Charge or cause of action, e.g. 盗窃罪 (repeatable).
    #[arg(long = "charge")]
    charges: Vec<String>,
    /// Court level: basic, intermediate, high, supreme (or 基层/中级/高级/最高).
    #[arg(long = "court-level", value_parser = parse_level)]
    court_levels: Vec<CourtLevel>,
    /// Province-level region, e.g. 浙江 (repeatable).
    #[arg(long = "region")]
    regions: Vec<String>,
    /// Earliest judgment year.
    #[arg(long)]
    year_from: Option<u16>,
    /// Latest judgment year.
    #[arg(long)]
    year_to: Option<u16>,
}

fn parse_tier(s: &str) -> Result<AuthorityTier, String> {
    AuthorityTier::parse(s).ok_or_else(|| format!("unknown tier {s:?}"))
}
fn parse_category(s: &str) -> Result<CaseCategory, String> {
    CaseCategory::parse(s).ok_or_else(|| format!("unknown category {s:?}"))
}
fn parse_level(s: &str) -> Result<CourtLevel, String> {
    CourtLevel::parse(s).ok_or_else(|| format!("unknown court level {s:?}"))
}

impl FilterArgs {
    pub(crate) fn to_filters(&self) -> Result<Filters> {
        let filters = Filters {
            tiers: self.tiers.clone(),
            categories: self.categories.clone(),
            charges: self.charges.clone(),
            court_levels: self.court_levels.clone(),
            regions: self.regions.clone(),
            year_from: self.year_from,
            year_to: self.year_to,
            ..Filters::default()
        };
        filters.check().map_err(|e| anyhow::anyhow!("--{e}"))?;
        Ok(filters)
    }
}

/// Ranking knobs shared by search, similar and eval.
#[derive(Args, Clone)]
pub(crate) struct RankArgs {
    /// bm25, dense or hybrid (hybrid falls back to bm25 without a model).
    #[arg(long, default_value = "hybrid")]
    pub(crate) mode: SearchMode,
    /// Hybrid fusion: `weighted` (alpha × normalised dense + (1 − alpha) × normalised BM25)
    /// or `rrf` (reciprocal rank fusion). Defaults chosen on the LeCaRD and SCM dev data.
    #[arg(long, default_value = "weighted")]
    pub(crate) fusion: String,
    /// Dense weight for weighted fusion (0..=1).
    #[arg(long, default_value_t = 0.3)]
    pub(crate) alpha: f32,
    /// RRF constant k for `--fusion rrf`.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) rrf_k: f32,
    /// Order guiding cases first, then typical, higher court… (SPC 2020 guidance).
    #[arg(long)]
    pub(crate) authority_order: bool,
    /// `legal` (default: legal elements re-rank the fused lists, the best out-of-fold
    /// ranking) or `fusion` (the fused BM25/dense lists only).
    #[arg(long, default_value = "legal")]
    pub(crate) ranking: leian_engine::Ranking,
    /// Relevance floor (0..=1; 0 turns it off): hits covering less of the query are not
    /// answered. Default: the engine's cross-validated floor (`leian eval floor`).
    #[arg(long)]
    pub(crate) floor: Option<f32>,
}

impl RankArgs {
    pub(crate) fn fusion(&self) -> Result<Fusion> {
        match self.fusion.as_str() {
            "weighted" => Fusion::weighted(self.alpha),
            "rrf" => Fusion::rrf(self.rrf_k),
            other => bail!("unknown --fusion {other:?}: want weighted or rrf"),
        }
        .map_err(|e| anyhow::anyhow!("--{e}"))
    }

    pub(crate) fn query(&self, text: String, top_k: usize, filters: Filters) -> Result<Query> {
        let floor = Query::floor_asked(self.floor).map_err(|e| anyhow::anyhow!("--{e}"))?;
        Ok(Query {
            floor,
            mode: self.mode,
            fusion: self.fusion()?,
            authority_order: self.authority_order,
            ranking: self.ranking,
            filters,
            ..Query::new(text, top_k)
        })
    }
}

#[derive(Args)]
pub(crate) struct SearchArgs {
    /// The query: keywords, facts or a draft. Use --file for long text.
    text: Option<String>,
    /// Read the query text from a file (e.g. a whole fact description).
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Number of hits.
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Show each hit's BM25 and dense scores and ranks and the fused score.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    rank: RankArgs,
    #[command(flatten)]
    model: crate::model::ModelArgs,
    #[command(flatten)]
    legal: crate::legal::LegalArgs,
    /// A charge (罪名) or 案由 the judge gives (repeat for several): the legal ranking
    /// compares it with each case's; without it the charges are inferred from the
    /// nearest cases.
    #[arg(long = "legal-charge", visible_alias = "given-charge")]
    legal_charges: Vec<String>,
}

#[derive(Args)]
pub(crate) struct SimilarArgs {
    /// Id of an indexed case, e.g. sample:001.
    case_id: String,
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    #[arg(long)]
    json: bool,
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    rank: RankArgs,
    #[command(flatten)]
    model: crate::model::ModelArgs,
}

/// Opens an existing index (never creates one by accident on a typo'd path or in a dir
/// that holds none: the rule `leian keys` follows too, `leian_engine::holds_index`).
pub(crate) fn open_existing(dir: &Path, model: &crate::model::ModelArgs) -> Result<Engine> {
    if !leian_engine::holds_index(dir) {
        bail!(
            "no index at {}: run `leian ingest PATH --index {}` first",
            dir.display(),
            dir.display()
        );
    }
    model.open_engine(dir)
}

pub(crate) fn run(args: SearchArgs) -> Result<()> {
    let text = match (&args.text, &args.file) {
        (Some(t), None) => t.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("reading query file {}: {e}", f.display()))?,
        (Some(_), Some(_)) => bail!("give the query as TEXT or --file, not both"),
        (None, None) => bail!("give a query: TEXT or --file PATH"),
    };
    if text.trim().is_empty() {
        bail!("the query is empty");
    }
    let engine = open_existing(&args.index, &args.model)?;
    let mut query = args
        .rank
        .query(text, args.top_k, args.filters.to_filters()?)?;
    if !args.legal_charges.is_empty() {
        query.legal.charges = Some(args.legal_charges.clone());
    }
    if let Some(ranker) = args.legal.ranker()? {
        let qvec = engine.query_vector(&query)?;
        let legal = leian_engine::LegalQuery {
            charges: (!args.legal_charges.is_empty()).then(|| args.legal_charges.clone()),
            statutes: Vec::new(),
        };
        let ranking = ranker.rank(&engine, &query, &legal, qvec.as_deref())?;
        return crate::legal::print_ranking(&engine, &ranking, args.top_k, args.json, args.explain);
    }
    let hits = engine.search(&query)?;
    print_hits(&hits, args.json, args.explain)
}

pub(crate) fn run_similar(args: SimilarArgs) -> Result<()> {
    let engine = open_existing(&args.index, &args.model)?;
    let id = CaseId::new(args.case_id.clone());
    let query = args
        .rank
        .query(String::new(), args.top_k, args.filters.to_filters()?)?;
    let hits = engine.similar(&id, &query)?;
    print_hits(&hits, args.json, args.explain)
}

pub(crate) fn print_hits(hits: &[RankedCase], json: bool, explain: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&hits_json(hits, explain))?
        );
    } else {
        print!("{}", hits_text(hits, explain));
    }
    Ok(())
}
