//! `leian search` and `leian similar`: query the index and print hits for people or as JSON.

use anyhow::{bail, Context, Result};
use clap::Args;
use leian_index::{CaseIndex, Filters, Hit, SearchRequest};
use leian_ingest::{AuthorityTier, CaseCategory, CaseId, CourtLevel};
use std::path::PathBuf;

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
        if let (Some(a), Some(b)) = (self.year_from, self.year_to) {
            if a > b {
                bail!("--year-from {a} is after --year-to {b}");
            }
        }
        Ok(Filters {
            tiers: self.tiers.clone(),
            categories: self.categories.clone(),
            charges: self.charges.clone(),
            court_levels: self.court_levels.clone(),
            regions: self.regions.clone(),
            year_from: self.year_from,
            year_to: self.year_to,
            ..Filters::default()
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
    #[command(flatten)]
    filters: FilterArgs,
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
    #[command(flatten)]
    filters: FilterArgs,
}

pub(crate) fn open_existing(dir: &PathBuf) -> Result<CaseIndex> {
    if !dir.exists() {
        bail!(
            "no index at {}: run `leian ingest PATH --index {}` first",
            dir.display(),
            dir.display()
        );
    }
    CaseIndex::open_or_create(dir).with_context(|| format!("opening index {}", dir.display()))
}

pub(crate) fn run(args: SearchArgs) -> Result<()> {
    let text = match (&args.text, &args.file) {
        (Some(t), None) => t.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("reading query file {}", f.display()))?,
        (Some(_), Some(_)) => bail!("give the query as TEXT or --file, not both"),
        (None, None) => bail!("give a query: TEXT or --file PATH"),
    };
    if text.trim().is_empty() {
        bail!("the query is empty");
    }
    let index = open_existing(&args.index)?;
    let request = SearchRequest {
        text,
        filters: args.filters.to_filters()?,
        top_k: args.top_k,
        offset: 0,
        snippets: true,
    };
    let hits = index.search(&request)?;
    print_hits(&hits, args.json)
}

pub(crate) fn run_similar(args: SimilarArgs) -> Result<()> {
    let index = open_existing(&args.index)?;
    let id = CaseId::new(args.case_id.clone());
    let Some(case) = index.get(&id)? else {
        bail!("no case with id {:?} in {}", args.case_id, args.index.display());
    };
    let request = SearchRequest {
        text: case.fact_text().to_string(),
        filters: args.filters.to_filters()?,
        top_k: args.top_k + 1,
        offset: 0,
        snippets: true,
    };
    let mut hits = index.search(&request)?;
    hits.retain(|h| h.id != id);
    hits.truncate(args.top_k);
    print_hits(&hits, args.json)
}

pub(crate) fn print_hits(hits: &[Hit], json: bool) -> Result<()> {
    if json {
        let out: Vec<serde_json::Value> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| {
                serde_json::json!({
                    "rank": i + 1,
                    "id": h.id,
                    "score": h.score,
                    "tier": h.case.tier,
                    "title": h.case.title,
                    "court": h.case.court,
                    "case_number": h.case.case_number.as_ref().map(|n| &n.raw),
                    "date": h.case.date,
                    "charges": h.case.charges,
                    "snippet": h.snippet,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if hits.is_empty() {
        println!("no matching cases");
    }
    for (i, h) in hits.iter().enumerate() {
        let c = &h.case;
        println!(
            "{:>2}. [{}] {}  {:.3}",
            i + 1,
            c.tier.label_zh(),
            if c.title.is_empty() { c.id.as_str() } else { &c.title },
            h.score
        );
        println!(
            "    {} | {} | {} | {} | {}",
            c.id,
            c.court.as_deref().unwrap_or("-"),
            c.case_number.as_ref().map(|n| n.raw.as_str()).unwrap_or("-"),
            c.date.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            c.charges.join("、")
        );
        if let Some(s) = &h.snippet {
            println!("    {}", s.replace("<mark>", "【").replace("</mark>", "】"));
        }
    }
    Ok(())
}
