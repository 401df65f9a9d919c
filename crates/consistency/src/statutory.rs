//! Statutory penalty ranges (法定刑), read from the text of the 刑法 article that defines
//! a charge: each sentencing band (量刑档次) with its condition as the article states it
//! (`数额较大的…`, `致人重伤的…`) and the kinds of penalty it allows with their terms.
//!
//! Terms the article leaves open take the general limits of the 刑法's 总则: 管制 3 months
//! to 2 years (第三十八条), 拘役 1 to 6 months (第四十二条), 有期徒刑 6 months to 15 years
//! (第四十五条). A check compares like with like: first the kind of penalty, then the term
//! within that kind.

use leian_ingest::{parse_cn_int, MainPenalty};
use serde::Serialize;

/// General limits of the 总则, in months: (管制), (拘役), (有期徒刑).
const SURVEILLANCE: (u32, u32) = (3, 24);
const DETENTION: (u32, u32) = (1, 6);
const FIXED_TERM: (u32, u32) = (6, 180);

/// One kind of penalty a band allows, with its term in months where it has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllowedPenalty {
    pub kind: MainPenalty,
    pub min_months: Option<u32>,
    pub max_months: Option<u32>,
}

/// One sentencing band of an article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PenaltyBand {
    /// The condition as the article states it (`数额巨大或者有其他严重情节的`).
    pub condition: String,
    pub allowed: Vec<AllowedPenalty>,
    /// 罚金 required (`并处罚金`), allowed alone (`单处罚金`) or not mentioned.
    pub fine: FineRule,
    /// The band's words after 处, as written.
    pub text: String,
}

/// What a band says of 罚金.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FineRule {
    None,
    /// `并处罚金`: a fine goes with the main penalty.
    Required,
    /// `可以并处罚金` / `并处或者单处罚金`: a fine may go with it.
    Optional,
}

/// The bands an article text states, in order. Sentences without `处` + a penalty (the
/// definition of a term, a cross reference) give none.
pub fn parse_bands(text: &str) -> Vec<PenaltyBand> {
    let mut out = Vec::new();
    // 本法另有规定的 and later paragraphs that only refer elsewhere carry no band
    for sentence in text.split(['；', '。', '\n']) {
        let s = sentence.trim();
        let Some(at) = find_penalty_start(s) else {
            continue;
        };
        let condition = s[..at]
            .trim_end_matches('，')
            .trim_end_matches("的，")
            .trim()
            .to_string();
        let penalty = &s[at + '处'.len_utf8()..];
        let allowed = allowed_penalties(penalty);
        if allowed.is_empty() {
            continue;
        }
        let fine = if penalty.contains("单处罚金")
            || penalty.contains("可以并处罚金")
            || penalty.contains("并处或者单处")
        {
            FineRule::Optional
        } else if penalty.contains("并处罚金") || penalty.contains("并处没收财产") {
            FineRule::Required
        } else {
            FineRule::None
        };
        out.push(PenaltyBand {
            condition,
            allowed,
            fine,
            text: penalty.trim().trim_end_matches(['：', ':']).to_string(),
        });
    }
    out
}

/// Byte offset of the `处` that starts a penalty (`…的，处三年以下…`), if any.
fn find_penalty_start(s: &str) -> Option<usize> {
    let words = ["有期徒刑", "拘役", "管制", "无期徒刑", "死刑"];
    s.match_indices('处').map(|(i, _)| i).find(|&i| {
        let after = &s[i + '处'.len_utf8()..];
        // the penalty follows within a few characters (处三年以上十年以下有期徒刑)
        let head: String = after.chars().take(16).collect();
        words.iter().any(|w| head.contains(w)) && !after.starts_with('罚')
    })
}

fn years(s: &str) -> Option<u32> {
    parse_cn_int(s).and_then(|v| u32::try_from(v).ok())
}

/// The kinds a band's penalty words allow: `三年以上十年以下有期徒刑、拘役或者管制`.
fn allowed_penalties(p: &str) -> Vec<AllowedPenalty> {
    let mut out = Vec::new();
    // stop at the fine clause: its words (并处…) are not main penalties
    let main = p.split("，并处").next().unwrap_or(p);
    let main = main.split("并处").next().unwrap_or(main);
    if let Some(i) = main.find("有期徒刑") {
        let before = &main[..i];
        // the term words right before 有期徒刑, after the last separator
        let term = before
            .rsplit(['、', '，', '或'])
            .next()
            .unwrap_or(before)
            .trim_start_matches("者");
        let mut min = FIXED_TERM.0;
        let mut max = FIXED_TERM.1;
        if let Some((lo, rest)) = term.split_once("年以上") {
            if let Some(v) = years(lo) {
                min = v * 12;
            }
            if let Some(hi) = rest.strip_suffix("年以下") {
                if let Some(v) = years(hi) {
                    max = v * 12;
                }
            }
        } else if let Some(hi) = term.strip_suffix("年以下") {
            if let Some(v) = years(hi) {
                max = v * 12;
            }
        } else if let Some(hi) = term.strip_suffix("个月以下") {
            if let Some(v) = years(hi) {
                max = v;
            }
        }
        out.push(AllowedPenalty {
            kind: MainPenalty::FixedTerm,
            min_months: Some(min),
            max_months: Some(max),
        });
    }
    if main.contains("拘役") {
        out.push(AllowedPenalty {
            kind: MainPenalty::Detention,
            min_months: Some(DETENTION.0),
            max_months: Some(DETENTION.1),
        });
    }
    if main.contains("管制") {
        out.push(AllowedPenalty {
            kind: MainPenalty::Surveillance,
            min_months: Some(SURVEILLANCE.0),
            max_months: Some(SURVEILLANCE.1),
        });
    }
    if main.contains("无期徒刑") {
        out.push(AllowedPenalty {
            kind: MainPenalty::Life,
            min_months: None,
            max_months: None,
        });
    }
    if main.contains("死刑") {
        out.push(AllowedPenalty {
            kind: MainPenalty::Death,
            min_months: None,
            max_months: None,
        });
    }
    if p.contains("单处罚金") {
        out.push(AllowedPenalty {
            kind: MainPenalty::FineOnly,
            min_months: None,
            max_months: None,
        });
    }
    out
}

/// Where a proposed penalty stands against the bands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeVerdict {
    /// The proposal is a kind some band allows and, for a term, within that kind's range.
    pub within: bool,
    /// The bands whose range holds the proposal (indexes into the bands).
    pub bands: Vec<usize>,
    /// In words, for the judge.
    pub message: String,
}

/// Checks a proposal (kind, term in months) against `bands`.
pub fn check_against(
    bands: &[PenaltyBand],
    kind: MainPenalty,
    term_months: Option<u32>,
) -> RangeVerdict {
    let holds = |a: &AllowedPenalty| {
        a.kind == kind
            && match (term_months, a.min_months, a.max_months) {
                (Some(t), Some(lo), Some(hi)) => t >= lo && t <= hi,
                _ => true,
            }
    };
    let matching: Vec<usize> = bands
        .iter()
        .enumerate()
        .filter(|(_, b)| b.allowed.iter().any(holds))
        .map(|(i, _)| i)
        .collect();
    let kinds: Vec<&AllowedPenalty> = bands.iter().flat_map(|b| &b.allowed).collect();
    let message = if !matching.is_empty() {
        format!(
            "拟判{}在法定刑幅度内（{}）",
            proposal_zh(kind, term_months),
            matching
                .iter()
                .map(|&i| band_zh(&bands[i]))
                .collect::<Vec<_>>()
                .join("；")
        )
    } else if !kinds.iter().any(|a| a.kind == kind) {
        format!(
            "拟判{}不是该罪法定的刑种：{}",
            proposal_zh(kind, term_months),
            bands.iter().map(band_zh).collect::<Vec<_>>().join("；")
        )
    } else {
        let lowest = kinds
            .iter()
            .filter(|a| a.kind == kind)
            .filter_map(|a| a.min_months)
            .min();
        let below = matches!((term_months, lowest), (Some(t), Some(lo)) if t < lo);
        format!(
            "拟判{}{}：{}",
            proposal_zh(kind, term_months),
            if below {
                "低于法定最低刑（有减轻处罚情节的，依刑法第六十三条可在法定刑以下判处）"
            } else {
                "超出法定刑幅度"
            },
            bands.iter().map(band_zh).collect::<Vec<_>>().join("；")
        )
    };
    RangeVerdict {
        within: !matching.is_empty(),
        bands: matching,
        message,
    }
}

/// The penalty's name as judgments write it.
pub(crate) fn kind_zh(k: MainPenalty) -> &'static str {
    match k {
        MainPenalty::Death => "死刑",
        MainPenalty::Life => "无期徒刑",
        MainPenalty::FixedTerm => "有期徒刑",
        MainPenalty::Detention => "拘役",
        MainPenalty::Surveillance => "管制",
        MainPenalty::FineOnly => "单处罚金",
        MainPenalty::Exempt => "免予刑事处罚",
    }
}

fn proposal_zh(kind: MainPenalty, term: Option<u32>) -> String {
    match term {
        Some(t)
            if matches!(
                kind,
                MainPenalty::FixedTerm | MainPenalty::Detention | MainPenalty::Surveillance
            ) =>
        {
            format!("{}{}个月", kind_zh(kind), t)
        }
        _ => kind_zh(kind).to_string(),
    }
}

/// `数额较大的：处三年以下有期徒刑、拘役或者管制，并处或者单处罚金`.
pub fn band_zh(b: &PenaltyBand) -> String {
    if b.condition.is_empty() {
        format!("处{}", b.text)
    } else {
        format!("{}：处{}", b.condition, b.text)
    }
}

/// The statutory range of one charge: the article that defines it and its bands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatutoryRange {
    pub charge: String,
    /// `刑法第一百三十三条之一` as the article is cited (`刑法第133条之1` in digits).
    pub article: String,
    pub bands: Vec<PenaltyBand>,
    /// The proposal against the bands, when the draft proposes a penalty.
    pub verdict: Option<RangeVerdict>,
    /// The band the draft's facts fall in, where the bands go by amount and the draft
    /// states one (index into `bands`), with why.
    pub facts_band: Option<usize>,
    pub facts_note: Option<String>,
}

/// 数额较大 / 数额巨大 / 数额特别巨大 in yuan, as the judicial interpretations set them (the
/// statute text leaves them open, so they are written here): the lowest figure of each
/// range the interpretation lets provinces choose in.
/// 盗窃: 法释〔2013〕8号 第一条; 诈骗: 法释〔2011〕7号 第一条; 抢夺: 法释〔2013〕25号 第一条;
/// 敲诈勒索: 法释〔2013〕10号 第一条.
const AMOUNT_THRESHOLDS: &[(&str, [f64; 3])] = &[
    ("盗窃罪", [1_000.0, 30_000.0, 300_000.0]),
    ("诈骗罪", [3_000.0, 30_000.0, 500_000.0]),
    ("抢夺罪", [1_000.0, 30_000.0, 200_000.0]),
    ("敲诈勒索罪", [2_000.0, 30_000.0, 300_000.0]),
];

/// The band an amount of `amount_yuan` falls in, for a charge whose bands go by amount
/// (`数额较大的` / `数额巨大…的` / `数额特别巨大…的`): (band index, why). `None` when the charge
/// has no thresholds here or the bands do not name amounts.
pub fn facts_band(
    charge: &str,
    bands: &[PenaltyBand],
    amount_yuan: f64,
) -> Option<(usize, String)> {
    let (_, t) = AMOUNT_THRESHOLDS.iter().find(|(c, _)| *c == charge)?;
    let band_of = |level: &str| {
        bands.iter().position(|b| match level {
            "特别巨大" => b.condition.contains("数额特别巨大"),
            "巨大" => b.condition.contains("数额巨大"),
            _ => b.condition.contains("数额较大"),
        })
    };
    let (level, from) = if amount_yuan >= t[2] {
        ("特别巨大", t[2])
    } else if amount_yuan >= t[1] {
        ("巨大", t[1])
    } else if amount_yuan >= t[0] {
        ("较大", t[0])
    } else {
        return band_of("较大").map(|i| {
            (
                i,
                format!(
                    "本案数额{amount_yuan:.0}元，未达数额较大（{:.0}元起）：须有多次、入户、携带凶器、扒窃等情形方入此档",
                    t[0]
                ),
            )
        });
    };
    band_of(level).map(|i| {
        (
            i,
            format!(
                "本案数额{amount_yuan:.0}元，属数额{level}（{from:.0}元起，司法解释的最低标准）"
            ),
        )
    })
}

/// Of the articles numbered `N`, `N之一`, `N之二`… (`(suffix, text)`), the one defining
/// `charge`: the charge table gives only the base number, and a 之N article is a
/// different offence (第一百三十三条 交通肇事, 之一 危险驾驶). The text sharing most of the
/// charge name's character pairs wins (`危险` and `驾驶` in 之一); ties go to the lower
/// suffix.
pub fn defining_variant<'a>(
    charge: &str,
    variants: &'a [(u8, String)],
) -> Option<&'a (u8, String)> {
    let key: Vec<char> = charge.trim().trim_end_matches('罪').chars().collect();
    let pairs: Vec<String> = key.windows(2).map(|w| w.iter().collect()).collect();
    variants
        .iter()
        .filter(|(_, text)| !parse_bands(text).is_empty())
        .max_by_key(|(suffix, text)| {
            let shared = pairs.iter().filter(|p| text.contains(p.as_str())).count();
            (shared, std::cmp::Reverse(*suffix))
        })
}

/// The article citation of (`article`, `suffix`): `刑法第133条` / `刑法第133条之1`.
pub fn article_label(article: u32, suffix: u8) -> String {
    if suffix == 0 {
        format!("刑法第{article}条")
    } else {
        format!("刑法第{article}条之{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // fictional articles written for this test, in the shape the 刑法's take
    const THEFT: &str = "窃取他人之物，数额较大的，或者多次窃取的，处三年以下有期徒刑、拘役或者管制，并处或者单处罚金；数额巨大或者有其他严重情节的，处三年以上十年以下有期徒刑，并处罚金；数额特别巨大或者有其他特别严重情节的，处十年以上有期徒刑或者无期徒刑，并处罚金或者没收财产。";
    const DANGEROUS_DRIVING: &str = "驾驶车辆，有下列情形之一的，处拘役，并处罚金：\n（一）竞速，情节恶劣的；\n（二）饮酒过量驾驶的；";
    const INJURY: &str = "伤害他人的，处三年以下有期徒刑、拘役或者管制。\n犯前款罪，致人重伤的，处三年以上十年以下有期徒刑；致人死亡的，处十年以上有期徒刑、无期徒刑或者死刑。本法另有规定的，依照规定。";

    #[test]
    fn the_defining_article_is_told_from_its_neighbours_by_the_charge_name() {
        let variants = vec![
            (
                0,
                "违反交通法规，因而发生重大事故的，处三年以下有期徒刑或者拘役。".to_string(),
            ),
            (
                1,
                DANGEROUS_DRIVING
                    .replace("驾驶车辆", "在道路上驾驶机动车，运输危险物品")
                    .to_string(),
            ),
            (
                2,
                "对驾驶人员使用暴力，危及公共安全的，处一年以下有期徒刑、拘役或者管制。"
                    .to_string(),
            ),
            (3, "本条所称车辆，是指机动车。".to_string()),
        ];
        assert_eq!(
            defining_variant("危险驾驶罪", &variants).map(|v| v.0),
            Some(1)
        );
        assert_eq!(
            defining_variant("交通肇事罪", &variants).map(|v| v.0),
            Some(0)
        );
        assert_eq!(article_label(133, 1), "刑法第133条之1");
        assert_eq!(article_label(264, 0), "刑法第264条");
    }

    #[test]
    fn the_facts_amount_picks_the_band() {
        let bands = parse_bands(THEFT);
        let (i, why) = facts_band("盗窃罪", &bands, 50_000.0).expect("a band");
        assert_eq!(i, 1);
        assert!(why.contains("数额巨大"), "{why}");
        assert_eq!(facts_band("盗窃罪", &bands, 2_500.0).map(|b| b.0), Some(0));
        assert_eq!(
            facts_band("盗窃罪", &bands, 400_000.0).map(|b| b.0),
            Some(2)
        );
        let (i, why) = facts_band("盗窃罪", &bands, 500.0).expect("the first band");
        assert_eq!(i, 0);
        assert!(why.contains("未达数额较大"), "{why}");
        assert!(facts_band("故意伤害罪", &parse_bands(INJURY), 50_000.0).is_none());
    }

    #[test]
    fn theft_has_three_bands_by_amount() {
        let bands = parse_bands(THEFT);
        assert_eq!(bands.len(), 3, "{bands:#?}");
        let fixed = |b: &PenaltyBand| {
            b.allowed
                .iter()
                .find(|a| a.kind == MainPenalty::FixedTerm)
                .map(|a| (a.min_months, a.max_months))
        };
        assert_eq!(fixed(&bands[0]), Some((Some(6), Some(36))));
        assert_eq!(fixed(&bands[1]), Some((Some(36), Some(120))));
        assert_eq!(fixed(&bands[2]), Some((Some(120), Some(180))));
        assert!(bands[0].condition.contains("数额较大"));
        assert!(bands[1].condition.starts_with("数额巨大"));
        assert!(bands[2].allowed.iter().any(|a| a.kind == MainPenalty::Life));
        assert!(bands[0]
            .allowed
            .iter()
            .any(|a| a.kind == MainPenalty::Detention));
        assert!(bands[0]
            .allowed
            .iter()
            .any(|a| a.kind == MainPenalty::FineOnly));
        assert_eq!(bands[0].fine, FineRule::Optional);
        assert_eq!(bands[1].fine, FineRule::Required);
        assert!(!bands[1]
            .allowed
            .iter()
            .any(|a| a.kind == MainPenalty::Detention));
    }

    #[test]
    fn dangerous_driving_allows_only_detention_and_a_24_month_term_is_outside() {
        let bands = parse_bands(DANGEROUS_DRIVING);
        assert_eq!(bands.len(), 1, "{bands:#?}");
        assert_eq!(bands[0].allowed.len(), 1);
        assert_eq!(bands[0].allowed[0].kind, MainPenalty::Detention);
        assert_eq!(bands[0].fine, FineRule::Required);
        let v = check_against(&bands, MainPenalty::FixedTerm, Some(24));
        assert!(!v.within);
        assert!(
            v.message.contains("不是该罪法定的刑种") && v.message.contains("拘役"),
            "{}",
            v.message
        );
        let v = check_against(&bands, MainPenalty::Detention, Some(8));
        assert!(
            !v.within && v.message.contains("超出法定刑幅度"),
            "{}",
            v.message
        );
        let v = check_against(&bands, MainPenalty::Detention, Some(3));
        assert!(v.within, "{}", v.message);
    }

    #[test]
    fn injury_bands_reach_death_and_cross_references_give_none() {
        let bands = parse_bands(INJURY);
        assert_eq!(bands.len(), 3, "{bands:#?}");
        assert!(bands[2]
            .allowed
            .iter()
            .any(|a| a.kind == MainPenalty::Death));
        let v = check_against(&bands, MainPenalty::FixedTerm, Some(60));
        assert!(v.within);
        assert_eq!(v.bands, vec![1]);
        assert!(parse_bands("本法所称公共财产，是指下列财产。").is_empty());
        assert!(parse_bands("犯前款罪的，依照前款的规定处罚。").is_empty());
    }
}
