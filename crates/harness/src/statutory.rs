//! How often real judgments fall outside the statutory range (法定刑) leian derives from
//! the statute text: CAIL2018 facts with one charge and a prison term, each term checked
//! against the bands of its charge's article ([`leian_consistency::statutory_range`]).
//! Should be about zero; every one outside is listed for examination.

use crate::error::{HarnessError, Result};
use leian_consistency::statutory::AllowedPenalty;
use leian_engine::Engine;
use leian_ingest::MainPenalty;
use std::path::Path;

/// One judgment whose term no band of its charge allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Outside {
    pub id: String,
    pub charge: String,
    pub article: String,
    pub term_months: u32,
    /// The terms the bands allow, in words.
    pub allowed: String,
}

/// The coverage figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RangeCoverage {
    /// Rows with one charge and a term.
    pub rows: usize,
    /// Of those, rows whose charge got a range from the index.
    pub with_range: usize,
    pub outside: Vec<Outside>,
    /// Charges without a range (not in the charge table, or article not indexed).
    pub no_range: Vec<String>,
}

fn holds(a: &AllowedPenalty, term: u32) -> bool {
    matches!(
        a.kind,
        MainPenalty::FixedTerm | MainPenalty::Detention | MainPenalty::Surveillance
    ) && a.min_months.is_none_or(|lo| term >= lo)
        && a.max_months.is_none_or(|hi| term <= hi)
}

impl RangeCoverage {
    /// The figures and every row outside its range, as `leian eval statutory` prints them.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "one-charge CAIL2018 rows with a term: {}; with a derived range: {}; outside it: {}\n",
            self.rows,
            self.with_range,
            self.outside.len()
        );
        for o in &self.outside {
            out += &format!(
                "  {} {} ({}) {} months; allowed: {}\n",
                o.id, o.charge, o.article, o.term_months, o.allowed
            );
        }
        if !self.no_range.is_empty() {
            out += &format!("charges without a range: {}\n", self.no_range.join("、"));
        }
        out
    }
}

/// Checks every one-charge CAIL2018 row with a term (the term of 有期徒刑, 拘役 or 管制
/// in months: any kind a band allows may hold it).
pub fn coverage(engine: &Engine, cail: &Path) -> Result<RangeCoverage> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: String,
        #[serde(default)]
        charges: Vec<String>,
        term_months: Option<u32>,
    }
    let text = std::fs::read_to_string(cail).map_err(|source| HarnessError::Io {
        path: cail.to_path_buf(),
        source,
    })?;
    let mut out = RangeCoverage::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(line).map_err(|e| HarnessError::BadRecord {
            path: cail.to_path_buf(),
            line: i + 1,
            message: format!("bad CAIL2018 record: {e}"),
        })?;
        // a term of 0 is no prison term (免予刑事处罚, 单处罚金): nothing to hold
        let (Some(term @ 1..), [charge]) = (row.term_months, row.charges.as_slice()) else {
            continue;
        };
        out.rows += 1;
        let Some(range) = leian_consistency::statutory_range(engine, charge)? else {
            if !out.no_range.contains(charge) {
                out.no_range.push(charge.clone());
            }
            continue;
        };
        out.with_range += 1;
        if !range
            .bands
            .iter()
            .flat_map(|b| &b.allowed)
            .any(|a| holds(a, term))
        {
            out.outside.push(Outside {
                id: row.id,
                charge: range.charge.clone(),
                article: range.article.clone(),
                term_months: term,
                allowed: range
                    .bands
                    .iter()
                    .map(leian_consistency::statutory::band_zh)
                    .collect::<Vec<_>>()
                    .join("；"),
            });
        }
    }
    Ok(out)
}
