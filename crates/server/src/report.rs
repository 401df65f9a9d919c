//! The 类案检索报告 (similar-case search report): what was searched, by whom, how, and
//! the cases found per authority tier; rendered as JSON, Markdown or a printable HTML page.

use crate::api::{PendingCase, SearchBody};
use leian_engine::RankedCase;
use leian_ingest::AuthorityTier;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use utoipa::ToSchema;

/// Who ran the search.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Searcher {
    pub key_id: i64,
    pub name: String,
    pub court: String,
    pub role: String,
}

/// One case found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportCase {
    pub id: String,
    pub title: String,
    /// 案号.
    pub case_number: Option<String>,
    pub court: Option<String>,
    pub date: Option<String>,
    /// 裁判要点 for a guiding case, else the matched passage (plain text).
    pub key_passage: String,
    pub must_follow: bool,
    /// 应当参照 or 参考.
    pub effect: String,
}

/// The cases of one tier.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportTier {
    pub tier: String,
    pub label: String,
    pub must_follow: bool,
    pub cases: Vec<ReportCase>,
}

/// A saved report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub id: String,
    /// UTC, ISO-8601.
    pub created_at: String,
    pub platform: String,
    pub searcher: Searcher,
    pub pending_case: PendingCase,
    /// keyword, statute, case (关键词检索, 法条关联检索, 案例关联检索).
    pub methods: Vec<String>,
    /// The text searched (query + charges + statutes).
    pub query_text: String,
    pub query: SearchBody,
    /// The case the case-linked search started from, if any.
    pub similar_to: Option<String>,
    pub tiers: Vec<ReportTier>,
    pub total: usize,
    pub conclusion: String,
}

fn method_label(m: &str) -> &'static str {
    match m {
        "keyword" => "关键词检索",
        "statute" => "法条关联检索",
        "case" => "案例关联检索",
        _ => "其他",
    }
}

/// Plain text of a snippet (drops `<mark>` tags, unescapes entities).
pub(crate) fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    leian_engine::escape_html(s, &mut out);
    out
}

/// Keeps a markdown table cell on one line and its pipes literal.
fn cell(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('|', "\\|")
}

impl Report {
    /// Builds a report from the hits (search hits first, then case-linked ones not already there).
    pub(crate) fn build(
        id: String,
        created_at: String,
        searcher: Searcher,
        pending_case: PendingCase,
        query: SearchBody,
        similar_to: Option<String>,
        hits: &[RankedCase],
    ) -> Report {
        let mut methods = Vec::new();
        if !query.query.trim().is_empty() || !query.charges.is_empty() {
            methods.push("keyword".to_string());
        }
        if !query.statutes.is_empty() || !query.filters.statutes.is_empty() {
            methods.push("statute".to_string());
        }
        if similar_to.is_some() {
            methods.push("case".to_string());
        }
        let tiers: Vec<ReportTier> = AuthorityTier::ALL
            .iter()
            .filter_map(|t| {
                let cases: Vec<ReportCase> = hits
                    .iter()
                    .filter(|h| h.case.tier == *t)
                    .map(|h| {
                        let c = &h.case;
                        let gist = c.guiding.as_ref().map(|g| g.gist.as_str()).unwrap_or("");
                        let key_passage = if !gist.is_empty() {
                            gist.to_string()
                        } else if let Some(s) = &h.snippet {
                            plain_text(s)
                        } else {
                            c.fact_text().chars().take(160).collect()
                        };
                        ReportCase {
                            id: c.id.to_string(),
                            title: c.display_title(),
                            case_number: c.case_number.as_ref().map(|n| n.raw.clone()),
                            court: c.court.clone(),
                            date: c.date.map(|d| d.to_string()),
                            key_passage,
                            must_follow: t.must_follow(),
                            effect: if t.must_follow() {
                                "应当参照"
                            } else {
                                "参考"
                            }
                            .into(),
                        }
                    })
                    .collect();
                (!cases.is_empty()).then(|| ReportTier {
                    tier: t.as_str().into(),
                    label: t.label_zh().into(),
                    must_follow: t.must_follow(),
                    cases,
                })
            })
            .collect();
        let total: usize = tiers.iter().map(|t| t.cases.len()).sum();
        let guiding: usize = tiers
            .iter()
            .filter(|t| t.must_follow)
            .map(|t| t.cases.len())
            .sum();
        let conclusion = if total == 0 {
            "经检索，未发现与待决案件相似的案例。".to_string()
        } else if guiding > 0 {
            format!(
                "经检索，共发现类案{total}件，其中指导性案例{guiding}件，应当参照作出裁判；其余{}件供参考。",
                total - guiding
            )
        } else {
            format!("经检索，共发现类案{total}件，均无指导性案例，可作为裁判的参考。")
        };
        // the header is never a placeholder: what the judge left blank comes from the
        // search itself (its facts, its charges) and the searcher's court
        let mut pending_case = pending_case;
        if pending_case.facts.trim().is_empty() {
            pending_case.facts = query.query.trim().to_string();
        }
        if pending_case.title.trim().is_empty() {
            let start: String = pending_case.facts.chars().take(24).collect();
            let charges = query
                .charges
                .iter()
                .chain(query.cause.iter())
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join("、");
            pending_case.title = match (start.is_empty(), charges.is_empty()) {
                (_, false) => format!("待决{charges}案件"),
                (false, true) => {
                    let more = if pending_case.facts.chars().count() > 24 {
                        "…"
                    } else {
                        ""
                    };
                    format!("待决案件（{start}{more}）")
                }
                (true, true) => "待决案件".to_string(),
            };
        }
        if pending_case.court.trim().is_empty() {
            pending_case.court = searcher.court.clone();
        }
        Report {
            id,
            created_at,
            platform: "leian".into(),
            searcher,
            pending_case,
            methods,
            query_text: query.text(),
            query,
            similar_to,
            tiers,
            total,
            conclusion,
        }
    }

    fn methods_zh(&self) -> String {
        if self.methods.is_empty() {
            return "—".into();
        }
        self.methods
            .iter()
            .map(|m| method_label(m))
            .collect::<Vec<_>>()
            .join("、")
    }

    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let p = &self.pending_case;
        let _ = writeln!(md, "# 类案检索报告\n");
        let _ = writeln!(md, "- 报告编号：{}", self.id);
        let _ = writeln!(md, "- 待决案件：{}", cell(&p.title));
        let _ = writeln!(md, "- 案号：{}", cell(&p.case_number));
        let _ = writeln!(md, "- 承办法院：{}", cell(&p.court));
        let _ = writeln!(
            md,
            "- 检索人：{}（{}，{}）",
            cell(&self.searcher.name),
            cell(&self.searcher.court),
            self.searcher.role
        );
        let _ = writeln!(md, "- 检索时间：{}", self.created_at);
        let _ = writeln!(md, "- 检索平台：{}", self.platform);
        let _ = writeln!(md, "- 检索方式：{}", self.methods_zh());
        let q: String = self.query_text.chars().take(500).collect();
        let _ = writeln!(md, "- 检索内容：{}", cell(&q));
        if let Some(s) = &self.similar_to {
            let _ = writeln!(md, "- 关联案例：{s}");
        }
        if !p.facts.trim().is_empty() {
            let _ = writeln!(md, "\n## 待决案件基本事实\n\n{}", p.facts.trim());
        }
        let _ = writeln!(md, "\n## 检索结果（共{}件）", self.total);
        for t in &self.tiers {
            let _ = writeln!(md, "\n### {}（{}件）\n", t.label, t.cases.len());
            let _ = writeln!(
                md,
                "| 序号 | 案号 | 法院 | 裁判日期 | 效力 | 裁判要点 / 关键段落 |"
            );
            let _ = writeln!(md, "|---|---|---|---|---|---|");
            for (i, c) in t.cases.iter().enumerate() {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} |",
                    i + 1,
                    cell(c.case_number.as_deref().unwrap_or(&c.title)),
                    cell(c.court.as_deref().unwrap_or("—")),
                    c.date.as_deref().unwrap_or("—"),
                    c.effect,
                    cell(&c.key_passage)
                );
            }
        }
        let _ = writeln!(md, "\n## 检索结论\n\n{}", self.conclusion);
        md
    }

    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let p = &self.pending_case;
        let _ = write!(
            h,
            "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <title>类案检索报告 {id}</title><style>{css}</style></head><body>\
             <h1>类案检索报告</h1><table class=\"meta\">",
            id = escape(&self.id),
            css = REPORT_CSS
        );
        let q: String = self.query_text.chars().take(500).collect();
        let searcher = format!(
            "{}（{}，{}）",
            self.searcher.name, self.searcher.court, self.searcher.role
        );
        let mut rows = vec![
            ("报告编号", self.id.clone()),
            ("待决案件", p.title.clone()),
            ("案号", p.case_number.clone()),
            ("承办法院", p.court.clone()),
            ("检索人", searcher),
            ("检索时间", self.created_at.clone()),
            ("检索平台", self.platform.clone()),
            ("检索方式", self.methods_zh()),
            ("检索内容", q),
        ];
        if let Some(s) = &self.similar_to {
            rows.push(("关联案例", s.clone()));
        }
        for (k, v) in rows {
            let _ = write!(h, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
        }
        h.push_str("</table>");
        if !p.facts.trim().is_empty() {
            let _ = write!(
                h,
                "<h2>待决案件基本事实</h2><p>{}</p>",
                escape(p.facts.trim())
            );
        }
        let _ = write!(h, "<h2>检索结果（共{}件）</h2>", self.total);
        for t in &self.tiers {
            let _ = write!(
                h,
                "<h3 class=\"{}\">{}（{}件）</h3><table class=\"cases\"><thead><tr>\
                 <th>序号</th><th>案号</th><th>法院</th><th>裁判日期</th><th>效力</th>\
                 <th>裁判要点 / 关键段落</th></tr></thead><tbody>",
                escape(&t.tier),
                escape(&t.label),
                t.cases.len()
            );
            for (i, c) in t.cases.iter().enumerate() {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                    i + 1,
                    escape(c.case_number.as_deref().unwrap_or(&c.title)),
                    escape(c.court.as_deref().unwrap_or("—")),
                    escape(c.date.as_deref().unwrap_or("—")),
                    if c.must_follow { "must" } else { "ref" },
                    escape(&c.effect),
                    escape(&c.key_passage)
                );
            }
            h.push_str("</tbody></table>");
        }
        let _ = writeln!(
            h,
            "<h2>检索结论</h2><p class=\"conclusion\">{}</p></body></html>",
            escape(&self.conclusion)
        );
        h
    }
}

const REPORT_CSS: &str = "body{font-family:\"Noto Serif CJK SC\",\"Songti SC\",SimSun,serif;\
max-width:960px;margin:2em auto;padding:0 1em;color:#111;line-height:1.6}\
h1{text-align:center;letter-spacing:.3em}h2{border-bottom:1px solid #999;font-size:1.2em}\
h3{font-size:1.05em}h3.guiding{color:#8b0000}table{border-collapse:collapse;width:100%;margin:.5em 0}\
th,td{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}\
table.meta th{width:7em;background:#f3f3f3}table.cases th{background:#f3f3f3}\
td.must{color:#8b0000;font-weight:bold;white-space:nowrap}td.ref{white-space:nowrap}\
.conclusion{font-weight:bold}@media print{body{margin:0;max-width:none}a{color:inherit}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_html_becomes_plain_text() {
        assert_eq!(
            plain_text("偷走<mark>手机</mark> &lt;1&gt; &amp;"),
            "偷走手机 <1> &"
        );
    }

    #[test]
    fn the_header_comes_from_the_search_when_the_judge_left_it_blank() {
        let searcher = || Searcher {
            key_id: 1,
            name: "张法官".into(),
            court: "甲法院".into(),
            role: "judge".into(),
        };
        let build = |body: &str, pending: PendingCase| {
            let body: SearchBody = serde_json::from_str(body).expect("body");
            Report::build(
                "r1".into(),
                "2025-01-01T00:00:00Z".into(),
                searcher(),
                pending,
                body,
                None,
                &[],
            )
        };
        let r = build(
            r#"{"query":"被告人趁被害人不备窃取手机一部，价值人民币三千元，后被抓获。"}"#,
            PendingCase::default(),
        );
        assert_eq!(r.pending_case.court, "甲法院");
        assert!(
            r.pending_case
                .title
                .starts_with("待决案件（被告人趁被害人不备"),
            "{}",
            r.pending_case.title
        );
        assert!(r.pending_case.facts.contains("价值人民币三千元"));
        let html = r.to_html();
        assert!(html.contains("甲法院"), "{html}");
        let r = build(
            r#"{"query":"偷走手机","charges":["盗窃罪"]}"#,
            PendingCase::default(),
        );
        assert_eq!(r.pending_case.title, "待决盗窃罪案件");
        // what the judge gave stays
        let r = build(
            r#"{"query":"偷走手机"}"#,
            PendingCase {
                title: "王某盗窃案".into(),
                court: "乙法院".into(),
                ..PendingCase::default()
            },
        );
        assert_eq!(r.pending_case.title, "王某盗窃案");
        assert_eq!(r.pending_case.court, "乙法院");
    }

    #[test]
    fn html_escapes_user_text() {
        let body: SearchBody = serde_json::from_str(r#"{"query":"<script>"}"#).expect("body");
        let r = Report::build(
            "r1".into(),
            "2025-01-01T00:00:00Z".into(),
            Searcher {
                key_id: 1,
                name: "n".into(),
                court: "c".into(),
                role: "judge".into(),
            },
            PendingCase {
                title: "<b>x</b>".into(),
                ..PendingCase::default()
            },
            body,
            None,
            &[],
        );
        let html = r.to_html();
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>x</b>"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert_eq!(r.methods, vec!["keyword".to_string()]);
        assert!(r.conclusion.contains("未发现"));
    }
}
