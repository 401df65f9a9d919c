//! Ranked cases as text for a terminal or as brief JSON (`leian search`, `leian similar`,
//! the demo).

use super::fusion::ListPosition;
use super::legal::{LegalHit, LegalRanking};
use super::run::RankedCase;
use crate::engine::Engine;
use crate::error::Result;
use std::fmt::Write as _;

/// Undoes the HTML escaping of snippets for the terminal; marks become 【】.
fn snippet_for_terminal(s: &str) -> String {
    s.replace("<mark>", "【")
        .replace("</mark>", "】")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Hits as a JSON list, one brief object a hit (rank, id, score, tier, must_follow, title,
/// court, case number, date, charges, snippet, relevance; coverage and explain when asked).
pub fn hits_json(hits: &[RankedCase], explain: bool) -> serde_json::Value {
    let out: Vec<serde_json::Value> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut v = serde_json::json!({
                "rank": i + 1,
                "id": h.id,
                "score": h.score,
                "tier": h.case.tier,
                "must_follow": h.case.tier.must_follow(),
                "title": h.case.display_title(),
                "court": h.case.court,
                "case_number": h.case.case_number.as_ref().map(|n| &n.raw),
                "date": h.case.date,
                "charges": h.case.charges,
                "snippet": h.snippet,
                "relevance": h.relevance,
            });
            if explain {
                v["coverage"] = serde_json::to_value(h.coverage).unwrap_or_default();
                v["explain"] = serde_json::to_value(&h.explain).unwrap_or_default();
            }
            v
        })
        .collect();
    serde_json::Value::Array(out)
}

/// Hits as text for a terminal: rank, tier (应当参照 for guiding cases), title, score;
/// id, court, case number, date, charges; the snippet with its marks as 【】; under
/// `explain`, the lists, the ranker and each legal feature as value × weight.
pub fn hits_text(hits: &[RankedCase], explain: bool) -> String {
    let mut out = String::new();
    if hits.is_empty() {
        out.push_str("no matching cases\n");
    }
    for (i, h) in hits.iter().enumerate() {
        let c = &h.case;
        let _ = writeln!(
            out,
            "{:>2}. [{}{}] {}  {:.3}",
            i + 1,
            c.tier.label_zh(),
            if c.tier.must_follow() {
                "·应当参照"
            } else {
                ""
            },
            c.display_title(),
            h.score
        );
        let _ = writeln!(
            out,
            "    {} | {} | {} | {} | {}",
            c.id,
            c.court.as_deref().unwrap_or("-"),
            c.case_number
                .as_ref()
                .map(|n| n.raw.as_str())
                .unwrap_or("-"),
            c.date.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            c.charges.join("、")
        );
        if let Some(s) = &h.snippet {
            let _ = writeln!(out, "    {}", snippet_for_terminal(s));
        }
        if explain {
            let e = &h.explain;
            let pos = |p: Option<ListPosition>| {
                p.map(|p| format!("#{} ({:.4})", p.rank, p.score))
                    .unwrap_or_else(|| "-".into())
            };
            let _ = writeln!(
                out,
                "    explain: mode {} | ranking {} ({}) | bm25 {} | dense {} | score {:.5}",
                e.mode.as_str(),
                e.ranking.as_str(),
                e.ranker,
                pos(e.bm25),
                pos(e.dense),
                e.fused
            );
            if let Some(l) = &e.legal {
                let parts: Vec<String> = l
                    .contributions
                    .iter()
                    .filter(|c| c.value != 0.0)
                    .map(|c| {
                        format!(
                            "{} {:.2}×{:.2}={:+.3}",
                            c.feature, c.value, c.weight, c.contribution
                        )
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "    charges {} {} | shared {} | {}",
                    if l.charges_given { "given" } else { "inferred" },
                    l.query_charges.join("、"),
                    l.shared_charges.join("、"),
                    parts.join("  ")
                );
            }
        }
    }
    out
}

impl LegalRanking {
    /// The query and the top `top_k` hits as JSON (`leian search --legal --json`).
    pub fn to_json(&self, top_k: usize) -> serde_json::Value {
        let hits: Vec<&LegalHit> = self.hits.iter().take(top_k).collect();
        serde_json::json!({"query": &self.query, "hits": hits})
    }

    /// The ranking as text for a terminal: the query's charges (given or inferred, with
    /// their share of the vote) and their statutes, then each hit's title, score and
    /// charges; under `explain`, the query's elements and each feature as value × weight.
    pub fn to_text(&self, engine: &Engine, top_k: usize, explain: bool) -> Result<String> {
        let r = self;
        let mut out = String::new();
        let q = &r.query;
        let charges = q.elements.charges.join("、");
        if q.charges_given {
            let _ = writeln!(out, "charges (given): {charges}");
        } else if q.inferred.is_empty() {
            let _ = writeln!(out, "charges: none given, none inferred");
        } else {
            let inferred: Vec<String> = q
                .inferred
                .iter()
                .map(|c| format!("{} ({:.0}%)", c.name, c.share * 100.0))
                .collect();
            let _ = writeln!(
                out,
                "charges (inferred from nearest cases): {}",
                inferred.join("、")
            );
        }
        if !q.charge_statutes.is_empty() {
            let _ = writeln!(
                out,
                "statutes of the charges: {}",
                q.charge_statutes.join("、")
            );
        }
        if explain {
            let _ = writeln!(
                out,
                "query elements: {}",
                serde_json::to_string(&q.elements).unwrap_or_default()
            );
            let _ = writeln!(out, "ranker: {}", q.ranker);
        }
        for (i, h) in r.hits.iter().take(top_k).enumerate() {
            let title = engine
                .get(&h.id)?
                .map(|c| c.display_title())
                .unwrap_or_else(|| h.id.to_string());
            let _ = writeln!(
                out,
                "{:>2}. {}  {:.3}  [{}]",
                i + 1,
                title,
                h.score,
                h.elements.charges.join("、")
            );
            if explain {
                let parts: Vec<String> = h
                    .contributions
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {:.2}×{:.2}={:+.3}",
                            c.feature, c.value, c.weight, c.contribution
                        )
                    })
                    .collect();
                let _ = writeln!(out, "    {}", parts.join("  "));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_cases::{case, engine_with};
    use crate::Query;

    #[test]
    fn hits_read_the_same_in_text_and_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = case("r:1", "被告人甲在超市窃取<手机>一部。");
        c.tier = leian_ingest::AuthorityTier::Guiding;
        c.charges = vec!["盗窃罪".into()];
        let engine = engine_with(dir.path(), vec![c]);
        let hits = engine.search(&Query::new("窃取手机", 5)).expect("search");
        let text = hits_text(&hits, true);
        assert!(text.starts_with(" 1. ["), "{text}");
        assert!(text.contains("应当参照"), "{text}");
        assert!(text.contains("【"), "marks shown as 【】: {text}");
        assert!(
            text.contains('<') && !text.contains("&lt;"),
            "escaping undone: {text}"
        );
        assert!(text.contains("explain: mode bm25"), "{text}");
        let json = hits_json(&hits, false);
        assert_eq!(json[0]["id"], "r:1");
        assert_eq!(json[0]["must_follow"], true);
        assert!(json[0].get("explain").is_none());
        assert!(hits_json(&hits, true)[0]["explain"].is_object());
        assert_eq!(hits_text(&[], false), "no matching cases\n");
    }
}
