//! tantivy schemas of the case and statute indexes, and how a [`Case`] becomes a document.
//!
//! Text fields (`title`, `facts`, `reasoning`, `result`, `gist`, `full`) are indexed with
//! [`LegalTokenizer`](crate::tokenizer::LegalTokenizer), frequencies and positions, and
//! not stored: the whole case is stored once as JSON (`case_json`) and snippets are cut
//! from it. Filter fields are untokenised keys (see the `*_key` functions, used both when
//! indexing and when filtering, so the two always agree).

use leian_ingest::{Case, StatuteArticle};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;

use crate::error::{IndexError, Result};
use crate::tokenizer::TOKENIZER_NAME;

/// Fields of the case index.
#[derive(Debug, Clone)]
pub struct CaseFields {
    pub schema: Schema,
    /// Case id (STRING, stored): the upsert key.
    pub id: Field,
    pub title: Field,
    pub facts: Field,
    pub reasoning: Field,
    pub result: Field,
    /// 裁判要点 plus keywords of guiding cases.
    pub gist: Field,
    /// The full judgment text, when the source has it.
    pub full: Field,
    /// The whole [`Case`] as JSON (stored only).
    pub case_json: Field,
    pub tier: Field,
    pub category: Field,
    /// Multi-valued, [`charge_key`].
    pub charges: Field,
    pub court_level: Field,
    /// [`region_key`].
    pub region: Field,
    /// Multi-valued, [`statute_key`] (`刑法:264`).
    pub statutes: Field,
    /// Judgment year (u64, indexed and fast); absent when unknown.
    pub year: Field,
    /// `yyyymmdd` (fast), 0 when unknown: the recency order of filter-only searches.
    pub date_key: Field,
    /// What the ranker extracted from the case at ingest, as its caller encoded it
    /// (bytes, fast: read without loading the stored case). Absent from indexes made
    /// before the field existed.
    pub elements: Option<Field>,
}

fn text_options() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER_NAME)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

impl CaseFields {
    /// The schema of a new case index.
    pub fn new_schema() -> Schema {
        let mut b = Schema::builder();
        b.add_text_field("id", STRING | STORED);
        for name in ["title", "facts", "reasoning", "result", "gist", "full"] {
            b.add_text_field(name, text_options());
        }
        b.add_text_field("case_json", STORED);
        for name in [
            "tier",
            "category",
            "charges",
            "court_level",
            "region",
            "statutes",
        ] {
            b.add_text_field(name, STRING);
        }
        b.add_u64_field("year", NumericOptions::default() | INDEXED | FAST);
        b.add_u64_field("date_key", FAST);
        b.add_bytes_field("elements", FAST);
        b.build()
    }

    /// Looks the fields up in `schema` (of a new or an opened index).
    pub fn from_schema(schema: Schema) -> Result<Self> {
        let f = |name: &str| {
            schema.get_field(name).map_err(|_| IndexError::Layout {
                path: Default::default(),
                reason: format!("case index has no field {name:?}"),
            })
        };
        Ok(CaseFields {
            id: f("id")?,
            title: f("title")?,
            facts: f("facts")?,
            reasoning: f("reasoning")?,
            result: f("result")?,
            gist: f("gist")?,
            full: f("full")?,
            case_json: f("case_json")?,
            tier: f("tier")?,
            category: f("category")?,
            charges: f("charges")?,
            court_level: f("court_level")?,
            region: f("region")?,
            statutes: f("statutes")?,
            year: f("year")?,
            date_key: f("date_key")?,
            elements: schema.get_field("elements").ok(),
            schema,
        })
    }

    /// The searchable text fields with their names, in snippet priority order.
    pub fn text_fields(&self) -> [(&'static str, Field); 6] {
        [
            ("facts", self.facts),
            ("gist", self.gist),
            ("title", self.title),
            ("reasoning", self.reasoning),
            ("result", self.result),
            ("full", self.full),
        ]
    }

    /// The tantivy document of `case`.
    pub fn document(&self, case: &Case) -> Result<TantivyDocument> {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, case.id.as_str());
        let mut add_text = |field: Field, text: &str| {
            if !text.trim().is_empty() {
                doc.add_text(field, text);
            }
        };
        add_text(self.title, &case.title);
        // what a fact query is compared with: the facts section, else (no section was
        // found and there is no gist to stand in) the whole text
        let facts = if case.sections.facts.trim().is_empty() && case.guiding.is_none() {
            case.full_text.as_str()
        } else {
            case.sections.facts.as_str()
        };
        add_text(self.facts, facts);
        add_text(self.reasoning, &case.sections.reasoning);
        add_text(self.result, &case.sections.result);
        add_text(self.full, &case.full_text);
        if let Some(g) = &case.guiding {
            add_text(self.gist, &g.gist);
            for k in &g.keywords {
                add_text(self.gist, k);
            }
        }
        let json = serde_json::to_string(case)
            .map_err(|e| IndexError::json(format!("case {}", case.id), e))?;
        doc.add_text(self.case_json, json);
        doc.add_text(self.tier, case.tier.as_str());
        doc.add_text(self.category, case.category.as_str());
        for c in &case.charges {
            let key = charge_key(c);
            if !key.is_empty() {
                doc.add_text(self.charges, key);
            }
        }
        if let Some(level) = case.court_level {
            doc.add_text(self.court_level, level.as_str());
        }
        if let Some(region) = case.region.as_deref().map(region_key) {
            if !region.is_empty() {
                doc.add_text(self.region, region);
            }
        }
        for s in &case.statutes {
            doc.add_text(self.statutes, statute_key(&s.law, s.article));
        }
        if let Some(year) = case.year() {
            doc.add_u64(self.year, u64::from(year));
        }
        let date_key = match case.date {
            Some(d) => u64::from(d.year) * 10_000 + u64::from(d.month) * 100 + u64::from(d.day),
            None => case.year().map_or(0, |y| u64::from(y) * 10_000),
        };
        doc.add_u64(self.date_key, date_key);
        Ok(doc)
    }
}

/// Filter key of a charge: trimmed, trailing `罪` removed, so `盗窃` and `盗窃罪` are one charge.
pub fn charge_key(charge: &str) -> String {
    charge.trim().trim_end_matches('罪').trim().to_string()
}

/// Filter key of a region: trimmed, with an administrative suffix removed
/// (`浙江省` → `浙江`, `北京市` → `北京`, `广西壮族自治区` → `广西`).
pub fn region_key(region: &str) -> String {
    let r = region.trim();
    for suffix in [
        "壮族自治区",
        "回族自治区",
        "维吾尔自治区",
        "特别行政区",
        "自治区",
        "省",
        "市",
    ] {
        if let Some(stripped) = r.strip_suffix(suffix) {
            if !stripped.is_empty() {
                return stripped.to_string();
            }
        }
    }
    r.to_string()
}

/// Key of a statute article: `刑法:264`.
/// The key of one article, its `之N` suffix included (`刑法:133之1`).
pub fn statute_variant_key(law: &str, article: u32, suffix: u8) -> String {
    if suffix == 0 {
        statute_key(law, article)
    } else {
        format!("{}:{article}之{suffix}", law.trim())
    }
}

pub fn statute_key(law: &str, article: u32) -> String {
    format!("{}:{article}", law.trim())
}

/// Fields of the statute index.
#[derive(Debug, Clone)]
pub struct StatuteFields {
    pub schema: Schema,
    /// [`statute_key`] (STRING, stored): the upsert key.
    pub key: Field,
    /// Short law name (STRING).
    pub law: Field,
    /// Article text, tokenised (for a later statute search).
    pub text: Field,
    /// The whole [`StatuteArticle`] as JSON (stored only).
    pub article_json: Field,
}

impl StatuteFields {
    pub fn new_schema() -> Schema {
        let mut b = Schema::builder();
        b.add_text_field("key", STRING | STORED);
        b.add_text_field("law", STRING);
        b.add_text_field("text", text_options());
        b.add_text_field("article_json", STORED);
        b.build()
    }

    pub fn from_schema(schema: Schema) -> Result<Self> {
        let f = |name: &str| {
            schema.get_field(name).map_err(|_| IndexError::Layout {
                path: Default::default(),
                reason: format!("statute index has no field {name:?}"),
            })
        };
        Ok(StatuteFields {
            key: f("key")?,
            law: f("law")?,
            text: f("text")?,
            article_json: f("article_json")?,
            schema,
        })
    }

    pub fn document(&self, article: &StatuteArticle) -> Result<TantivyDocument> {
        let mut doc = TantivyDocument::new();
        doc.add_text(
            self.key,
            statute_variant_key(&article.law, article.article, article.suffix),
        );
        doc.add_text(self.law, article.law.trim());
        doc.add_text(self.text, &article.text);
        let json = serde_json::to_string(article).map_err(|e| {
            IndexError::json(format!("statute {}:{}", article.law, article.article), e)
        })?;
        doc.add_text(self.article_json, json);
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise() {
        assert_eq!(charge_key(" 盗窃罪 "), "盗窃");
        assert_eq!(charge_key("盗窃"), "盗窃");
        assert_eq!(charge_key("民间借贷纠纷"), "民间借贷纠纷");
        assert_eq!(region_key("浙江省"), "浙江");
        assert_eq!(region_key("北京"), "北京");
        assert_eq!(region_key("广西壮族自治区"), "广西");
        assert_eq!(region_key("市"), "市");
        assert_eq!(statute_key("刑法", 264), "刑法:264");
    }
}
