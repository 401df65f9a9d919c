//! The one `Case` model every reader produces and every index consumes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable identifier of a case inside leian (e.g. `lecard:12345`, `guiding:24`, `sample:007`).
///
/// Readers prefix ids with their source so ids from different datasets never collide;
/// re-ingesting a case with the same id replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(pub String);

impl CaseId {
    pub fn new(id: impl Into<String>) -> Self {
        CaseId(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Level of the deciding court (法院层级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CourtLevel {
    /// 基层人民法院
    Basic,
    /// 中级人民法院
    Intermediate,
    /// 高级人民法院
    High,
    /// 最高人民法院
    Supreme,
}

impl CourtLevel {
    /// Stable machine name, used in filters and the index.
    pub fn as_str(self) -> &'static str {
        match self {
            CourtLevel::Basic => "basic",
            CourtLevel::Intermediate => "intermediate",
            CourtLevel::High => "high",
            CourtLevel::Supreme => "supreme",
        }
    }
    /// Parses a machine name (`basic`) or a Chinese one (`基层`, `中级`, `高级`, `最高`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "basic" | "基层" => Some(CourtLevel::Basic),
            "intermediate" | "中级" => Some(CourtLevel::Intermediate),
            "high" | "高级" => Some(CourtLevel::High),
            "supreme" | "最高" => Some(CourtLevel::Supreme),
            _ => None,
        }
    }
    /// Infers the level from a court's name.
    pub fn from_court_name(court: &str) -> Option<Self> {
        if court.contains("最高人民法院") {
            Some(CourtLevel::Supreme)
        } else if court.contains("高级人民法院") {
            Some(CourtLevel::High)
        } else if court.contains("中级人民法院")
            || court.contains("铁路运输中级")
            || court.contains("知识产权法院")
            || court.contains("金融法院")
        {
            Some(CourtLevel::Intermediate)
        } else if court.contains("人民法院") || court.contains("法庭") {
            Some(CourtLevel::Basic)
        } else {
            None
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            CourtLevel::Basic => "基层",
            CourtLevel::Intermediate => "中级",
            CourtLevel::High => "高级",
            CourtLevel::Supreme => "最高",
        }
    }
}

/// Case category (案件类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaseCategory {
    /// 刑事
    Criminal,
    /// 民事
    Civil,
    /// 行政
    Administrative,
    /// 执行
    Enforcement,
    #[default]
    Other,
}

impl CaseCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseCategory::Criminal => "criminal",
            CaseCategory::Civil => "civil",
            CaseCategory::Administrative => "administrative",
            CaseCategory::Enforcement => "enforcement",
            CaseCategory::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "criminal" | "刑事" => Some(CaseCategory::Criminal),
            "civil" | "民事" => Some(CaseCategory::Civil),
            "administrative" | "行政" => Some(CaseCategory::Administrative),
            "enforcement" | "执行" => Some(CaseCategory::Enforcement),
            "other" | "其他" => Some(CaseCategory::Other),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            CaseCategory::Criminal => "刑事",
            CaseCategory::Civil => "民事",
            CaseCategory::Administrative => "行政",
            CaseCategory::Enforcement => "执行",
            CaseCategory::Other => "其他",
        }
    }
}

/// Authority tier per the SPC 2020 guidance on similar-case search, most authoritative first.
///
/// The order of the variants is the order of authority: ① guiding cases (应当参照),
/// ② SPC typical cases and judgments, ③ provincial high court cases, ④ the court above
/// and this court, then everything else. `SameCourt` is relative to the searching court;
/// at ingest time a judgment gets `HigherCourt` when decided by a high or supreme court,
/// else `Other`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityTier {
    /// 指导性案例: must be followed (应当参照).
    Guiding,
    /// 最高人民法院典型案例 and SPC judgments.
    Typical,
    /// 高级人民法院 reference cases and judgments.
    HigherCourt,
    /// The court above the searcher, or the searcher's own court.
    SameCourt,
    #[default]
    Other,
}

impl AuthorityTier {
    pub const ALL: [AuthorityTier; 5] = [
        AuthorityTier::Guiding,
        AuthorityTier::Typical,
        AuthorityTier::HigherCourt,
        AuthorityTier::SameCourt,
        AuthorityTier::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityTier::Guiding => "guiding",
            AuthorityTier::Typical => "typical",
            AuthorityTier::HigherCourt => "higher_court",
            AuthorityTier::SameCourt => "same_court",
            AuthorityTier::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "guiding" | "指导性案例" => Some(AuthorityTier::Guiding),
            "typical" | "典型案例" => Some(AuthorityTier::Typical),
            "higher_court" => Some(AuthorityTier::HigherCourt),
            "same_court" => Some(AuthorityTier::SameCourt),
            "other" => Some(AuthorityTier::Other),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            AuthorityTier::Guiding => "指导性案例",
            AuthorityTier::Typical => "典型案例",
            AuthorityTier::HigherCourt => "高级法院案例",
            AuthorityTier::SameCourt => "本院及上级法院",
            AuthorityTier::Other => "其他",
        }
    }
    /// Whether a judge must follow (应当参照) rather than merely consult a case of this tier.
    pub fn must_follow(self) -> bool {
        self == AuthorityTier::Guiding
    }
    /// The tier a judgment gets at ingest time from its court level alone.
    pub fn from_court_level(level: Option<CourtLevel>) -> Self {
        match level {
            Some(CourtLevel::Supreme) => AuthorityTier::Typical,
            Some(CourtLevel::High) => AuthorityTier::HigherCourt,
            _ => AuthorityTier::Other,
        }
    }
}

/// A calendar date (judgment date), serialised as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JudgmentDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl JudgmentDate {
    /// A validated date; `None` for impossible dates (month 13, 30 February…).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        if !(1949..=2100).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (day <= days).then_some(JudgmentDate { year, month, day })
    }
    /// Parses `2019-03-05`, `2019/3/5`, `2019.3.5` or `2019年3月5日`.
    pub fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s
            .trim()
            .trim_end_matches('日')
            .split(['-', '/', '.', '年', '月'])
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() != 3 {
            return None;
        }
        let year = parts[0].trim().parse().ok()?;
        let month = parts[1].trim().parse().ok()?;
        let day = parts[2].trim().parse().ok()?;
        JudgmentDate::new(year, month, day)
    }
}

impl fmt::Display for JudgmentDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for JudgmentDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for JudgmentDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        JudgmentDate::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid date {s:?}, want YYYY-MM-DD")))
    }
}

/// A case number (案号) as written and parsed, e.g. `（2019）京0105刑初123号`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CaseNumber {
    /// As written in the document.
    pub raw: String,
    /// The year in brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    /// Court code (法院代字), e.g. `京0105`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court_code: Option<String>,
    /// Procedure code (类型代字), e.g. `刑初`, `刑终`, `民初`, `执`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// Sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
}

/// A cited statute article normalised to (law short name, article number):
/// `《中华人民共和国刑法》第二百六十四条` and `刑法第264条` are both `刑法` / 264.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatuteRef {
    /// Short law name without `中华人民共和国` and book-title marks, e.g. `刑法`, `民法典`.
    pub law: String,
    /// Article number (条).
    pub article: u32,
}

impl fmt::Display for StatuteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}第{}条", self.law, self.article)
    }
}

/// The main penalty (主刑) of a criminal sentence, or its absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MainPenalty {
    /// 死刑 (including 死刑缓期执行)
    Death,
    /// 无期徒刑
    Life,
    /// 有期徒刑
    FixedTerm,
    /// 拘役
    Detention,
    /// 管制
    Surveillance,
    /// 单处罚金 (fine only)
    FineOnly,
    /// 免予刑事处罚
    Exempt,
}

/// The sentence imposed (刑罚). Months are totals (一年六个月 = 18).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Sentence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<MainPenalty>,
    /// Term of the main penalty in months (有期徒刑/拘役/管制).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_months: Option<u32>,
    /// Probation (缓刑) in months, when suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probation_months: Option<u32>,
    /// Fine (罚金) in yuan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_yuan: Option<u64>,
}

impl Sentence {
    pub fn is_empty(&self) -> bool {
        self == &Sentence::default()
    }
}

/// The three sections a judge compares: facts (经审理查明…), reasoning (本院认为…),
/// and the result (判决如下…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Sections {
    #[serde(default)]
    pub facts: String,
    #[serde(default)]
    pub reasoning: String,
    #[serde(default)]
    pub result: String,
}

/// What only guiding cases (指导性案例) carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GuidingInfo {
    /// 指导性案例 number (第24号 → 24).
    pub number: u32,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// 裁判要点.
    #[serde(default)]
    pub gist: String,
}

/// One decided case, whatever format it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court_level: Option<CourtLevel>,
    /// Province-level region (省/自治区/直辖市), e.g. `北京`, `浙江`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<CaseNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<JudgmentDate>,
    /// Document type (文书类型): 判决书, 裁定书, 调解书…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    #[serde(default)]
    pub category: CaseCategory,
    /// Charges (罪名, without a trailing `罪`-less variant: `盗窃罪`) or causes of action (案由).
    #[serde(default)]
    pub charges: Vec<String>,
    #[serde(default)]
    pub statutes: Vec<StatuteRef>,
    #[serde(default, skip_serializing_if = "Sentence::is_empty")]
    pub sentence: Sentence,
    #[serde(default)]
    pub sections: Sections,
    /// The full text when the source has it (judgments), else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub full_text: String,
    #[serde(default)]
    pub tier: AuthorityTier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guiding: Option<GuidingInfo>,
    /// Where the case came from (`lecard`, `cail2018`, `sample`…).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The courts that alone may see the case (empty: public), as given at ingest (native
    /// field `visible_to`, `leian ingest --visible-to`, `POST /v1/cases`). An instruction
    /// to leian-visibility, which stores it before the case is committed; never written to
    /// the index, so a later change of visibility has no stale copy to contradict it.
    #[serde(default, skip_serializing)]
    pub visible_to: Vec<String>,
}

impl Case {
    /// An empty case with only an id; readers fill in the rest.
    pub fn new(id: CaseId) -> Self {
        Case {
            id,
            title: String::new(),
            court: None,
            court_level: None,
            region: None,
            case_number: None,
            date: None,
            doc_type: None,
            category: CaseCategory::Other,
            charges: Vec::new(),
            statutes: Vec::new(),
            sentence: Sentence::default(),
            sections: Sections::default(),
            full_text: String::new(),
            tier: AuthorityTier::Other,
            guiding: None,
            source: String::new(),
            visible_to: Vec::new(),
        }
    }

    /// The text that best describes what happened: the facts section, else the gist, else the full text.
    pub fn fact_text(&self) -> &str {
        if !self.sections.facts.trim().is_empty() {
            &self.sections.facts
        } else if let Some(g) = self.guiding.as_ref().filter(|g| !g.gist.is_empty()) {
            &g.gist
        } else {
            &self.full_text
        }
    }

    /// The title to show: the case's own, else one made from what it has — court,
    /// 案号 and charges (`某某法院 (2019)京0101刑初1号 盗窃罪一案`), else `案件 <id>`.
    pub fn display_title(&self) -> String {
        if !self.title.trim().is_empty() {
            return self.title.clone();
        }
        let mut parts: Vec<String> = Vec::new();
        if let Some(court) = self.court.as_deref().filter(|c| !c.trim().is_empty()) {
            parts.push(court.trim().to_string());
        }
        if let Some(n) = self
            .case_number
            .as_ref()
            .filter(|n| !n.raw.trim().is_empty())
        {
            parts.push(n.raw.trim().to_string());
        }
        if !self.charges.is_empty() {
            let shown: Vec<&str> = self.charges.iter().take(3).map(String::as_str).collect();
            let more = if self.charges.len() > 3 { "等" } else { "" };
            parts.push(format!("{}{more}一案", shown.join("、")));
        }
        if parts.is_empty() {
            format!("案件 {}", self.id)
        } else {
            parts.join(" ")
        }
    }

    /// Year of judgment, from the date or else the case number.
    pub fn year(&self) -> Option<u16> {
        self.date
            .map(|d| d.year)
            .or_else(|| self.case_number.as_ref().and_then(|n| n.year))
    }
}

/// One statute article (法条), as loaded from the statute corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatuteArticle {
    /// Short law name, normalised like [`StatuteRef::law`].
    pub law: String,
    pub article: u32,
    /// `之一` → 1, `之二` → 2 (第一百三十三条之一 is article 133, suffix 1); 0 for a plain
    /// article.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suffix: u8,
    /// Full law title as published, e.g. `中华人民共和国刑法`.
    #[serde(default)]
    pub law_title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chapter: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub section: String,
    pub text: String,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_title_is_made_from_what_the_case_has() {
        let mut c = Case::new(CaseId::new("lecard:1970"));
        assert_eq!(c.display_title(), "案件 lecard:1970");
        c.charges = vec!["开设赌场罪".into()];
        assert_eq!(c.display_title(), "开设赌场罪一案");
        c.court = Some("北京市朝阳区人民法院".into());
        c.case_number = crate::extract::parse_case_number("（2019）京0105刑初1号");
        let made = c.display_title();
        assert!(made.starts_with("北京市朝阳区人民法院 "), "{made}");
        assert!(
            made.contains("京0105刑初1号") && made.ends_with("开设赌场罪一案"),
            "{made}"
        );
        c.charges = vec!["甲罪".into(), "乙罪".into(), "丙罪".into(), "丁罪".into()];
        assert!(c.display_title().ends_with("甲罪、乙罪、丙罪等一案"));
        c.title = "张某开设赌场案".into();
        assert_eq!(c.display_title(), "张某开设赌场案");
    }
}
