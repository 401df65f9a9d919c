//! Sentencing circumstances (量刑情节) found in judgment or draft text: 自首, 坦白, 累犯,
//! 谅解, 退赃退赔, 未遂, 从犯… They let a judge compare like with like (a theft with
//! 自首 and 退赃 is not sentenced like one by a 累犯) and are ranking features.
//!
//! Extraction is rule-based and conservative: a circumstance counts only when its phrase
//! appears in a clause that does not deny it (`不构成自首`, `未取得谅解`,
//! `辩护人提出系从犯的意见不予采纳` do not count). Rules are phrase lists, so they
//! are easy to read and to extend; they are tested on hand-written sentences below.

use serde::{Deserialize, Serialize};

/// One sentencing circumstance. The order is the display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Circumstance {
    /// 自首 (incl. 视为自首).
    Surrender,
    /// 坦白 / 如实供述 without 自首.
    Confession,
    /// 立功 / 重大立功.
    Meritorious,
    /// 认罪认罚 (plea agreement under the 2018 procedure law).
    PleaAgreement,
    /// 当庭/自愿认罪 without a plea agreement.
    PleadsGuilty,
    /// 退赃 / 退赔.
    Restitution,
    /// 赔偿 victims' losses, 和解 / 调解 reached.
    Compensation,
    /// 取得被害人(家属)谅解.
    Forgiveness,
    /// 犯罪未遂.
    Attempt,
    /// 犯罪中止.
    Discontinuation,
    /// 犯罪预备.
    Preparation,
    /// 从犯.
    Accomplice,
    /// 胁从犯.
    Coerced,
    /// 主犯.
    Principal,
    /// 未成年人犯罪 (under 18 at the time).
    Minor,
    /// 初犯 / 偶犯.
    FirstOffence,
    /// 累犯.
    Recidivist,
    /// 前科 / 劣迹 (prior record short of 累犯).
    PriorRecord,
    /// 防卫过当 / 避险过当.
    ExcessiveDefence,
}

/// Whether a circumstance argues for a lighter or a heavier sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircumstanceEffect {
    Mitigating,
    Aggravating,
}

impl Circumstance {
    pub const ALL: [Circumstance; 19] = [
        Circumstance::Surrender,
        Circumstance::Confession,
        Circumstance::Meritorious,
        Circumstance::PleaAgreement,
        Circumstance::PleadsGuilty,
        Circumstance::Restitution,
        Circumstance::Compensation,
        Circumstance::Forgiveness,
        Circumstance::Attempt,
        Circumstance::Discontinuation,
        Circumstance::Preparation,
        Circumstance::Accomplice,
        Circumstance::Coerced,
        Circumstance::Principal,
        Circumstance::Minor,
        Circumstance::FirstOffence,
        Circumstance::Recidivist,
        Circumstance::PriorRecord,
        Circumstance::ExcessiveDefence,
    ];

    /// Stable machine name (`surrender`, `recidivist`…), as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Circumstance::Surrender => "surrender",
            Circumstance::Confession => "confession",
            Circumstance::Meritorious => "meritorious",
            Circumstance::PleaAgreement => "plea_agreement",
            Circumstance::PleadsGuilty => "pleads_guilty",
            Circumstance::Restitution => "restitution",
            Circumstance::Compensation => "compensation",
            Circumstance::Forgiveness => "forgiveness",
            Circumstance::Attempt => "attempt",
            Circumstance::Discontinuation => "discontinuation",
            Circumstance::Preparation => "preparation",
            Circumstance::Accomplice => "accomplice",
            Circumstance::Coerced => "coerced",
            Circumstance::Principal => "principal",
            Circumstance::Minor => "minor",
            Circumstance::FirstOffence => "first_offence",
            Circumstance::Recidivist => "recidivist",
            Circumstance::PriorRecord => "prior_record",
            Circumstance::ExcessiveDefence => "excessive_defence",
        }
    }

    /// The Chinese term a judge reads.
    pub fn label_zh(self) -> &'static str {
        match self {
            Circumstance::Surrender => "自首",
            Circumstance::Confession => "坦白",
            Circumstance::Meritorious => "立功",
            Circumstance::PleaAgreement => "认罪认罚",
            Circumstance::PleadsGuilty => "自愿认罪",
            Circumstance::Restitution => "退赃退赔",
            Circumstance::Compensation => "赔偿/和解",
            Circumstance::Forgiveness => "取得谅解",
            Circumstance::Attempt => "未遂",
            Circumstance::Discontinuation => "中止",
            Circumstance::Preparation => "预备",
            Circumstance::Accomplice => "从犯",
            Circumstance::Coerced => "胁从犯",
            Circumstance::Principal => "主犯",
            Circumstance::Minor => "未成年",
            Circumstance::FirstOffence => "初犯偶犯",
            Circumstance::Recidivist => "累犯",
            Circumstance::PriorRecord => "前科",
            Circumstance::ExcessiveDefence => "防卫过当",
        }
    }

    pub fn parse(s: &str) -> Option<Circumstance> {
        Circumstance::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.label_zh() == s)
    }

    pub fn effect(self) -> CircumstanceEffect {
        match self {
            Circumstance::Recidivist | Circumstance::PriorRecord | Circumstance::Principal => {
                CircumstanceEffect::Aggravating
            }
            _ => CircumstanceEffect::Mitigating,
        }
    }

    /// Phrases that assert the circumstance.
    fn phrases(self) -> &'static [&'static str] {
        match self {
            Circumstance::Surrender => &["自首", "投案"],
            Circumstance::Confession => &["坦白", "如实供述"],
            Circumstance::Meritorious => &["立功"],
            Circumstance::PleaAgreement => &["认罪认罚"],
            Circumstance::PleadsGuilty => {
                &["自愿认罪", "当庭认罪", "认罪态度", "认罪悔罪", "认罪服法"]
            }
            Circumstance::Restitution => &["退赃", "退赔", "退还赃款", "退还赃物", "退缴"],
            Circumstance::Compensation => &[
                "已赔偿",
                "赔偿了",
                "积极赔偿",
                "全部赔偿",
                "已经赔偿",
                "达成和解",
                "达成调解",
                "达成赔偿",
                "刑事和解",
                // CAIL2018 facts: `家属已赔偿被害人全部损失`, `双方达成赔偿协议`
                "赔偿被害人",
                "赔偿协议",
            ],
            Circumstance::Forgiveness => &["谅解"],
            Circumstance::Attempt => &["未遂"],
            Circumstance::Discontinuation => &["犯罪中止", "中止犯罪", "自动放弃"],
            Circumstance::Preparation => &["犯罪预备"],
            Circumstance::Accomplice => &["从犯", "辅助作用", "次要作用"],
            Circumstance::Coerced => &["胁从"],
            Circumstance::Principal => &["主犯", "主要作用"],
            Circumstance::Minor => &["未满十八周岁", "不满十八周岁", "未成年人犯罪", "系未成年人"],
            Circumstance::FirstOffence => &["初犯", "偶犯"],
            Circumstance::Recidivist => &["累犯"],
            Circumstance::PriorRecord => &["前科", "刑满释放", "曾因"],
            Circumstance::ExcessiveDefence => &["防卫过当", "避险过当"],
        }
    }
}

/// Words that, before a phrase in the same clause, deny it (`不构成自首`, `未取得谅解`).
const CLAUSE_DENIALS: &[&str] = &[
    "不构成",
    "不属于",
    "不能认定",
    "不应认定",
    "不予认定",
    "不认定",
    "不具有",
    "不具备",
    "没有",
    "并无",
    "未能",
    "未取得",
    "未获得",
    "未得到",
    "未获",
    "未与",
    "拒不",
    "否认",
    "无任何",
];

/// One-character denials count only right before the phrase (`无自首`, `未投案`), since
/// 未 also starts 未遂 / 未满 and 无 starts 无业.
const NEAR_DENIALS: &[char] = &['未', '无', '非', '不'];

/// Words anywhere in the same sentence that reject an argument (`…系从犯的意见，不予采纳`).
const SENTENCE_REJECTIONS: &[&str] = &["不予采纳", "不能成立", "不予支持", "理由不成立", "不成立"];

/// The circumstances asserted in `text`, sorted and without duplicates.
pub fn extract_circumstances(text: &str) -> Vec<Circumstance> {
    let mut found: Vec<Circumstance> = Vec::new();
    for sentence in text.split(['。', '；', ';', '\n']) {
        if sentence.trim().is_empty() {
            continue;
        }
        let rejected = SENTENCE_REJECTIONS.iter().any(|r| sentence.contains(r));
        for clause in sentence.split(['，', ',', '：', ':']) {
            for c in Circumstance::ALL {
                if found.contains(&c) {
                    continue;
                }
                if asserts(clause, c) && !rejected {
                    found.push(c);
                }
            }
        }
    }
    // 自首 already means the offender told the truth: 如实供述 is then not a separate 坦白.
    if found.contains(&Circumstance::Surrender) {
        found.retain(|c| *c != Circumstance::Confession);
    }
    // 认罪认罚 subsumes plain 认罪.
    if found.contains(&Circumstance::PleaAgreement) {
        found.retain(|c| *c != Circumstance::PleadsGuilty);
    }
    // A 累犯 is not also reported as a mere 前科.
    if found.contains(&Circumstance::Recidivist) {
        found.retain(|c| *c != Circumstance::PriorRecord);
    }
    found.sort();
    found
}

/// Whether `clause` asserts `c`: one of its phrases occurs with no denial before it.
fn asserts(clause: &str, c: Circumstance) -> bool {
    c.phrases().iter().any(|phrase| {
        clause.match_indices(phrase).any(|(at, _)| {
            // `未遂` itself starts with 未: only the few characters before the phrase can
            // deny it, so `犯罪未遂后主动投案` still counts as 投案.
            let before = tail_chars(&clause[..at], DENIAL_WINDOW_CHARS);
            let near = tail_chars(&clause[..at], 2);
            !CLAUSE_DENIALS.iter().any(|d| before.contains(d))
                && !near.contains(NEAR_DENIALS)
                && !excluded(clause, at, phrase, c)
        })
    })
}

/// How far before a phrase a denial word may stand (`不能认定被告人构成自首`).
const DENIAL_WINDOW_CHARS: usize = 8;

fn tail_chars(s: &str, n: usize) -> &str {
    match s.char_indices().rev().nth(n.saturating_sub(1)) {
        Some((i, _)) if n > 0 => &s[i..],
        _ => s,
    }
}

/// Phrase occurrences that look like the circumstance but are not it.
fn excluded(clause: &str, at: usize, phrase: &str, c: Circumstance) -> bool {
    let after = &clause[at + phrase.len()..];
    match c {
        // 投案 only with 自动/主动 (被抓获归案 is not 投案); 投案 must not be 未投案.
        Circumstance::Surrender if phrase == "投案" => {
            let before = &clause[..at];
            !(before.ends_with("自动") || before.ends_with("主动") || before.ends_with("自行"))
        }
        // 曾因 only when a sentence or punishment follows (曾因琐事 is not a record).
        Circumstance::PriorRecord if phrase == "曾因" => {
            !(after.contains("判处") || after.contains("处罚") || after.contains("拘留"))
        }
        // 主要作用 / 次要作用 describe a role only in a joint crime.
        Circumstance::Principal | Circumstance::Accomplice if phrase.ends_with("作用") => {
            !clause.contains("犯罪") && !clause.contains("共同")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Circumstance::*;

    fn ex(text: &str) -> Vec<Circumstance> {
        extract_circumstances(text)
    }

    #[test]
    fn finds_common_mitigating_circumstances() {
        assert_eq!(
            ex("被告人案发后主动投案，如实供述自己的罪行，系自首，依法可以从轻处罚。"),
            vec![Surrender]
        );
        assert_eq!(
            ex("到案后如实供述犯罪事实，退赔了被害人全部损失，并取得被害人谅解。"),
            vec![Confession, Restitution, Forgiveness]
        );
        assert_eq!(ex("被告人自愿认罪认罚，当庭认罪。"), vec![PleaAgreement]);
        assert_eq!(ex("系犯罪未遂，可以比照既遂犯减轻处罚。"), vec![Attempt]);
        assert_eq!(
            ex("在共同犯罪中起次要作用，系从犯，应当从轻处罚。"),
            vec![Accomplice]
        );
        assert_eq!(ex("被告人王某犯罪时未满十八周岁。"), vec![Minor]);
    }

    #[test]
    fn denials_do_not_count() {
        assert!(ex("被告人不构成自首。").is_empty());
        assert!(ex("被告人归案后拒不供述，未取得被害人谅解。").is_empty());
        assert!(ex("辩护人提出被告人系从犯的辩护意见，经查，不能成立，本院不予采纳。").is_empty());
        assert!(ex("被告人被公安机关抓获归案。").is_empty());
        assert!(ex("二人曾因琐事发生争执。").is_empty());
        // a denial far before the phrase, or the 未 of 未遂, does not deny it
        assert_eq!(ex("因犯罪未遂，后主动投案"), vec![Surrender, Attempt]);
        assert_eq!(ex("犯罪未遂后主动投案"), vec![Surrender, Attempt]);
    }

    #[test]
    fn aggravating_and_subsumed() {
        let found =
            ex("被告人曾因盗窃罪被判处有期徒刑一年，刑满释放后五年内再犯，系累犯，应当从重处罚。");
        assert_eq!(found, vec![Recidivist]);
        assert_eq!(Recidivist.effect(), CircumstanceEffect::Aggravating);
        assert_eq!(ex("被告人曾因故意伤害被行政拘留十日。"), vec![PriorRecord]);
        assert_eq!(ex("张某在共同犯罪中起主要作用，系主犯。"), vec![Principal]);
    }

    #[test]
    fn names_round_trip() {
        for c in Circumstance::ALL {
            assert_eq!(Circumstance::parse(c.as_str()), Some(c));
            assert_eq!(Circumstance::parse(c.label_zh()), Some(c));
            let json = serde_json::to_string(&c).expect("serialise");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }

    /// Misses found on the CAIL2018 facts: compensation written as `赔偿被害人…` or as an
    /// agreement, which the first phrase list did not cover.
    #[test]
    fn compensation_in_cail2018_wording() {
        assert!(
            extract_circumstances("案发后，公司赔偿被害人刘某亲属经济损失人民币39万元")
                .contains(&Circumstance::Compensation)
        );
        assert!(
            extract_circumstances("案发后，双方达成赔偿协议，现已给付十万元")
                .contains(&Circumstance::Compensation)
        );
        assert!(!extract_circumstances("被告人至今未赔偿被害人损失")
            .contains(&Circumstance::Compensation));
        assert!(!extract_circumstances("被告人拒不赔偿被害人损失")
            .contains(&Circumstance::Compensation));
    }
}
