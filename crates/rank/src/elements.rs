//! The legal elements of one case or query: charges and their 刑法 articles, cited
//! statutes, sentencing circumstances, amounts and quantities, and the harm to victims.
//! Everything here is extracted by rules from text and the case's fields, and is
//! tested on hand-written sentences.

use crate::charges::{resolve_charges, ChargeArticle};
use leian_ingest::{extract_circumstances, parse_cn_int, Case, Circumstance, StatuteRef};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The version of [`LegalElements::to_stored`]: raise it with any change to what is
/// extracted or how.
const STORED_VERSION: u8 = 1;

/// Harm to a victim, in order of gravity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Harm {
    /// 轻微伤.
    Minor,
    /// 轻伤.
    Light,
    /// 重伤.
    Serious,
    /// 死亡.
    Death,
}

impl Harm {
    pub fn level(self) -> u8 {
        match self {
            Harm::Minor => 1,
            Harm::Light => 2,
            Harm::Serious => 3,
            Harm::Death => 4,
        }
    }
}

/// What a quantity measures; amounts are compared only within one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityKind {
    /// Money, in 元.
    Money,
    /// Mass, in grams (drugs, mostly).
    Mass,
    /// Blood alcohol, in mg/100ml.
    Alcohol,
    /// Volume of timber, in cubic metres.
    Timber,
}

/// The largest quantity of each kind found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Quantities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub money: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mass: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alcohol: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timber: Option<f64>,
}

impl Quantities {
    pub fn get(&self, kind: QuantityKind) -> Option<f64> {
        match kind {
            QuantityKind::Money => self.money,
            QuantityKind::Mass => self.mass,
            QuantityKind::Alcohol => self.alcohol,
            QuantityKind::Timber => self.timber,
        }
    }

    fn raise(&mut self, kind: QuantityKind, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            return;
        }
        let slot = match kind {
            QuantityKind::Money => &mut self.money,
            QuantityKind::Mass => &mut self.mass,
            QuantityKind::Alcohol => &mut self.alcohol,
            QuantityKind::Timber => &mut self.timber,
        };
        *slot = Some(slot.map_or(v, |old| old.max(v)));
    }

    pub fn is_empty(&self) -> bool {
        self == &Quantities::default()
    }
}

/// The elements of one case or query.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LegalElements {
    /// Charges as given or inferred (names as written).
    pub charges: Vec<String>,
    /// The 刑法 articles of the charges.
    pub articles: Vec<ChargeArticle>,
    /// Statutes cited by the case itself.
    pub statutes: Vec<StatuteRef>,
    pub circumstances: Vec<Circumstance>,
    pub quantities: Quantities,
    /// The gravest harm to a victim mentioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harm: Option<Harm>,
}

impl LegalElements {
    /// Elements of free text (a draft or a query's facts) with optional known charges
    /// and statutes.
    pub fn from_text(text: &str, charges: &[String], statutes: &[StatuteRef]) -> Self {
        LegalElements {
            charges: charges.to_vec(),
            articles: resolve_charges(charges),
            statutes: statutes.to_vec(),
            circumstances: extract_circumstances(text),
            quantities: extract_quantities(text),
            harm: extract_harm(text),
        }
    }

    /// Elements of an indexed case: its charges and statutes, and what its facts say.
    pub fn of_case(case: &Case) -> Self {
        Self::from_text(case.fact_text(), &case.charges, &case.statutes)
    }

    /// The bytes an index stores for a case at ingest ([`Self::from_stored`] reads them):
    /// a version byte, then JSON, quantities as the bits of their `f64` (serde_json's
    /// default parser may miss the last bit of a decimal: 105490.99999999999 came back as
    /// 105491). The version changes whenever the extraction rules do, so elements stored
    /// by an older leian are extracted again instead of trusted.
    pub fn to_stored(&self) -> Vec<u8> {
        let q = self.quantities;
        let bits = [q.money, q.mass, q.alcohol, q.timber].map(|v| v.map(f64::to_bits));
        let rest = LegalElements {
            quantities: Quantities::default(),
            ..self.clone()
        };
        let mut out = vec![STORED_VERSION];
        // serialising plain data into a Vec cannot fail
        out.extend(serde_json::to_vec(&(rest, bits)).unwrap_or_default());
        out
    }

    /// Elements stored by [`Self::to_stored`] of this version; `None` for any other
    /// version or bytes that do not parse.
    pub fn from_stored(bytes: &[u8]) -> Option<Self> {
        let (&version, json) = bytes.split_first()?;
        if version != STORED_VERSION {
            return None;
        }
        let (mut e, [money, mass, alcohol, timber]): (LegalElements, [Option<u64>; 4]) =
            serde_json::from_slice(json).ok()?;
        let value = |b: Option<u64>| b.map(f64::from_bits);
        e.quantities = Quantities {
            money: value(money),
            mass: value(mass),
            alcohol: value(alcohol),
            timber: value(timber),
        };
        Some(e)
    }

    /// Replaces the charges (given by a judge or inferred).
    pub fn with_charges(mut self, charges: Vec<String>) -> Self {
        self.articles = resolve_charges(&charges);
        self.charges = charges;
        self
    }
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|e| panic!("bad pattern: {e}")))
}

/// A number written with digits (`2587`, `3.5`, `5,000`, `２５８７`) or Chinese numerals
/// (`三千`, `两万`).
fn parse_number(s: &str) -> Option<f64> {
    let half = leian_ingest::numerals::to_halfwidth_digits(s);
    let digits: String = half.chars().filter(|&c| c != ',').collect();
    if let Ok(v) = digits.parse::<f64>() {
        return Some(v);
    }
    parse_cn_int(&digits).map(|v| v as f64)
}

const NUM: &str = r"([0-9０-９][0-9０-９,，.．]*|[零〇一二两三四五六七八九十百千]+)";

/// The largest amount of money, mass (as grams), blood alcohol and timber volume in `text`.
pub fn extract_quantities(text: &str) -> Quantities {
    static MONEY: OnceLock<Regex> = OnceLock::new();
    static MASS: OnceLock<Regex> = OnceLock::new();
    static ALCOHOL: OnceLock<Regex> = OnceLock::new();
    static TIMBER: OnceLock<Regex> = OnceLock::new();
    let mut q = Quantities::default();
    let money = regex(&MONEY, &format!(r"{NUM}\s*(亿|万)?\s*余?\s*(元|块)"));
    for c in money.captures_iter(text) {
        if let Some(v) = parse_number(&c[1]) {
            let scale = match c.get(2).map(|m| m.as_str()) {
                Some("亿") => 1e8,
                Some("万") => 1e4,
                _ => 1.0,
            };
            q.raise(QuantityKind::Money, v * scale);
        }
    }
    let alcohol = regex(
        &ALCOHOL,
        &format!(r"{NUM}\s*(mg|毫克)\s*/\s*(100|一百)\s*(ml|mL|毫升)"),
    );
    for c in alcohol.captures_iter(text) {
        if let Some(v) = parse_number(&c[1]) {
            q.raise(QuantityKind::Alcohol, v);
        }
    }
    // mass: grams and kilograms, but not the 毫克 of a blood-alcohol reading
    let mass = regex(&MASS, &format!(r"{NUM}\s*(千克|公斤|kg|克|g)"));
    for c in mass.captures_iter(text) {
        let start = c.get(0).map(|m| m.start()).unwrap_or(0);
        if text[..start].ends_with('毫') {
            continue;
        }
        if let Some(v) = parse_number(&c[1]) {
            let scale = match &c[2] {
                "千克" | "公斤" | "kg" => 1000.0,
                _ => 1.0,
            };
            q.raise(QuantityKind::Mass, v * scale);
        }
    }
    let timber = regex(&TIMBER, &format!(r"{NUM}\s*(立方米|m3|m³|方)"));
    for c in timber.captures_iter(text) {
        if let Some(v) = parse_number(&c[1]) {
            q.raise(QuantityKind::Timber, v);
        }
    }
    q
}

/// The gravest harm to a victim stated in `text` (`未造成人员伤亡` states none).
pub fn extract_harm(text: &str) -> Option<Harm> {
    let mut best: Option<Harm> = None;
    for clause in text.split(['。', '；', ';', '，', ',', '\n']) {
        if ["未造成", "没有造成", "无人员伤亡", "未致"]
            .iter()
            .any(|d| clause.contains(d))
        {
            continue;
        }
        let found = if ["死亡", "身亡", "致死", "抢救无效"]
            .iter()
            .any(|w| clause.contains(w))
        {
            Some(Harm::Death)
        } else if clause.contains("重伤") {
            Some(Harm::Serious)
        } else if clause.contains("轻伤") {
            Some(Harm::Light)
        } else if clause.contains("轻微伤") {
            Some(Harm::Minor)
        } else {
            None
        };
        if found > best {
            best = found;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_elements_come_back_to_the_last_bit() {
        let mut e = LegalElements::from_text(
            "被告人入户盗窃，后自首，致被害人轻伤。",
            &["盗窃罪".to_string()],
            &[],
        );
        // a sum of decimals that serde_json's default parser reads one bit off
        e.quantities.money = Some(105_490.999_999_999_99);
        e.quantities.alcohol = Some(0.1 + 0.2);
        assert!(!e.circumstances.is_empty() && e.harm.is_some());
        let back = LegalElements::from_stored(&e.to_stored());
        assert_eq!(back.as_ref(), Some(&e));
        assert_eq!(
            back.and_then(|b| b.quantities.money).map(f64::to_bits),
            Some(105_490.999_999_999_99f64.to_bits())
        );
        assert_eq!(LegalElements::from_stored(b""), None);
        assert_eq!(LegalElements::from_stored(b"\x01not json"), None);
    }

    #[test]
    fn money_in_digits_and_chinese_numerals() {
        let q = extract_quantities("盗走一台价值人民币2587元的行车记录仪，另赔偿4651元。");
        assert_eq!(q.money, Some(4651.0));
        let q = extract_quantities("骗取被害人现金三千元");
        assert_eq!(q.money, Some(3000.0));
        let q = extract_quantities("非法吸收公众存款共计1,250.5万元");
        assert_eq!(q.money, Some(12_505_000.0));
        let q = extract_quantities("收受贿赂两万余元");
        assert_eq!(q.money, Some(20_000.0));
    }

    #[test]
    fn alcohol_is_not_mass() {
        let q = extract_quantities("经鉴定，其血液中乙醇含量为201毫克/100毫升。");
        assert_eq!(q.alcohol, Some(201.0));
        assert_eq!(q.mass, None);
        let q = extract_quantities("血液酒精含量为 95.6mg/100ml");
        assert_eq!(q.alcohol, Some(95.6));
    }

    #[test]
    fn drug_mass_and_timber() {
        let q = extract_quantities("查获甲基苯丙胺0.5克、海洛因1.2千克");
        assert_eq!(q.mass, Some(1200.0));
        let q = extract_quantities("滥伐杉木立木蓄积量25.3立方米");
        assert_eq!(q.timber, Some(25.3));
        assert!(extract_quantities("被告人到某地游玩").is_empty());
    }

    #[test]
    fn harm_takes_the_gravest_and_skips_denials() {
        assert_eq!(
            extract_harm("致被害人左臂骨折，经鉴定为轻伤二级。"),
            Some(Harm::Light)
        );
        assert_eq!(
            extract_harm("致一人轻微伤，另一人经抢救无效死亡"),
            Some(Harm::Death)
        );
        assert_eq!(extract_harm("经鉴定为重伤二级"), Some(Harm::Serious));
        assert_eq!(extract_harm("所幸未造成人员伤亡。"), None);
        assert_eq!(extract_harm("经鉴定为轻微伤"), Some(Harm::Minor));
    }

    #[test]
    fn elements_of_a_case_resolve_charges_and_circumstances() {
        let mut c = Case::new(leian_ingest::CaseId::new("t:1"));
        c.charges = vec!["贩卖毒品罪".into()];
        c.sections.facts = "被告人贩卖甲基苯丙胺3克，到案后如实供述，系累犯。".into();
        let e = LegalElements::of_case(&c);
        assert_eq!(e.articles.len(), 1);
        assert_eq!(e.articles[0].article, 347);
        assert!(e.circumstances.contains(&Circumstance::Recidivist));
        assert_eq!(e.quantities.mass, Some(3.0));
    }
}
