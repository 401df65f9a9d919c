//! Statute citations: law-name normalisation and finding `《…》第…条` references in text.

use crate::case::StatuteRef;
use crate::numerals::parse_cn_int;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

/// Laws that judgments cite without book-title marks (`刑法第264条`), longest first so
/// that `刑事诉讼法` wins over `刑法`.
const BARE_LAW_NAMES: &[&str] = &[
    "刑事诉讼法",
    "民事诉讼法",
    "行政诉讼法",
    "治安管理处罚法",
    "道路交通安全法",
    "劳动合同法",
    "侵权责任法",
    "民法通则",
    "民法总则",
    "民法典",
    "合同法",
    "物权法",
    "担保法",
    "婚姻法",
    "继承法",
    "公司法",
    "劳动法",
    "刑法",
];

static CITATION: LazyLock<Regex> = LazyLock::new(|| {
    let bare = BARE_LAW_NAMES.join("|");
    Regex::new(&format!(
        r"《(?P<title>[^《》]{{1,80}})》|(?:中华人民共和国)?(?P<bare>{bare})(?:修正案（[^）]{{1,6}}）)?|第(?P<art>[零〇一二两三四五六七八九十百千0-9０-９]{{1,7}})条"
    ))
    .expect("citation regex")
});

static SEPARATOR_GAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[\s、，,和及以与或第款项之零〇一二两三四五六七八九十百千0-9０-９()（）]|的规定)*$",
    )
    .expect("gap regex")
});

static VERSION_NOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[（(][^（）()]*(?:修正|修订|施行|年)[^（）()]*[）)]$").expect("version regex")
});

/// Normalises a law name to its short form: book-title marks, `中华人民共和国` and a
/// trailing version note such as `（2017年修正）` are removed.
/// `《中华人民共和国刑法》` → `刑法`; `《最高人民法院关于…的解释》` → `最高人民法院关于…的解释`.
pub fn normalize_law_name(name: &str) -> String {
    let mut s = name
        .trim()
        .trim_start_matches('《')
        .trim_end_matches('》')
        .trim();
    if let Some(rest) = s.strip_prefix("中华人民共和国") {
        s = rest;
    }
    let mut out = s.to_string();
    // Strip trailing version notes like （2017年修正）.
    if let Some(open) = out.rfind(['（', '(']) {
        if VERSION_NOTE.is_match(&out[open..]) {
            out.truncate(open);
        }
    }
    out.trim().to_string()
}

/// Whether a book-title text names a legal source that articles can belong to
/// (a law, a judicial interpretation…), as opposed to evidence such as `《提取笔录》`.
fn looks_like_law(title: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "法", "法典", "解释", "规定", "决定", "条例", "办法", "规则", "意见", "纪要", "通知",
        "批复", "答复", "标准", "细则", "公约",
    ];
    let t = normalize_law_name(title);
    t.contains("修正案") || ENDINGS.iter().any(|e| t.ends_with(e))
}

/// Finds statute citations in `text`, de-duplicated in order of first appearance.
///
/// `《中华人民共和国刑法》第二百六十四条、第五十二条、第六十七条第三款` gives 刑法 264, 52, 67
/// (款/项 are ignored). An article without a law (`第五十二条`) belongs to the last named
/// law when only separators (`、`, `，`, `和`, `第…款`, `的规定`) stand between them, so
/// stray `第三条` far from any law are dropped.
pub fn find_statute_refs(text: &str) -> Vec<StatuteRef> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut current: Option<String> = None;
    let mut last_end = 0usize;
    for caps in CITATION.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        let gap = &text[last_end..m.start()];
        if let Some(t) = caps.name("title") {
            if looks_like_law(t.as_str()) {
                current = Some(normalize_law_name(t.as_str()));
                last_end = m.end();
            } else if !SEPARATOR_GAP.is_match(gap) {
                current = None;
            }
        } else if let Some(b) = caps.name("bare") {
            current = Some(normalize_law_name(b.as_str()));
            last_end = m.end();
        } else if let Some(a) = caps.name("art") {
            let gap_ok = SEPARATOR_GAP.is_match(gap) || VERSION_NOTE.is_match(gap.trim());
            match (&current, gap_ok) {
                (Some(law), true) => {
                    if let Some(n) = parse_cn_int(a.as_str()).and_then(|n| u32::try_from(n).ok()) {
                        let r = StatuteRef {
                            law: law.clone(),
                            article: n,
                        };
                        if seen.insert(r.clone()) {
                            out.push(r);
                        }
                    }
                    last_end = m.end();
                }
                _ => current = None,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(law: &str, article: u32) -> StatuteRef {
        StatuteRef {
            law: law.to_string(),
            article,
        }
    }

    #[test]
    fn normalises_names() {
        assert_eq!(normalize_law_name("《中华人民共和国刑法》"), "刑法");
        assert_eq!(normalize_law_name("刑法"), "刑法");
        assert_eq!(
            normalize_law_name("《最高人民法院关于审理盗窃刑事案件适用法律若干问题的解释》"),
            "最高人民法院关于审理盗窃刑事案件适用法律若干问题的解释"
        );
        assert_eq!(
            normalize_law_name("中华人民共和国民事诉讼法（2017年修正）"),
            "民事诉讼法"
        );
        assert_eq!(
            normalize_law_name("中华人民共和国刑法修正案（八）"),
            "刑法修正案（八）"
        );
    }

    #[test]
    fn one_law_many_articles() {
        let t = "依照《中华人民共和国刑法》第二百六十四条、第五十二条、第六十七条第三款之规定，判决如下";
        assert_eq!(
            find_statute_refs(t),
            vec![r("刑法", 264), r("刑法", 52), r("刑法", 67)]
        );
    }

    #[test]
    fn bare_and_arabic() {
        assert_eq!(
            find_statute_refs("其行为符合刑法第264条的规定"),
            vec![r("刑法", 264)]
        );
        assert_eq!(
            find_statute_refs("依照《中华人民共和国刑事诉讼法》第二百零一条的规定"),
            vec![r("刑事诉讼法", 201)]
        );
        assert_eq!(
            find_statute_refs("刑事诉讼法第２３６条"),
            vec![r("刑事诉讼法", 236)]
        );
    }

    #[test]
    fn several_laws_dedup_and_order() {
        let t = "依照《中华人民共和国刑法》第二百三十四条第一款、第六十七条第一款和《最高人民法院关于处理自首和立功具体应用法律若干问题的解释》第一条，以及《中华人民共和国刑法》第六十七条的规定";
        assert_eq!(
            find_statute_refs(t),
            vec![
                r("刑法", 234),
                r("刑法", 67),
                r(
                    "最高人民法院关于处理自首和立功具体应用法律若干问题的解释",
                    1
                ),
            ]
        );
    }

    #[test]
    fn version_note_between_law_and_article() {
        let t = "《中华人民共和国刑法》（2011年修正）第338条";
        assert_eq!(find_statute_refs(t), vec![r("刑法", 338)]);
    }

    #[test]
    fn stray_articles_and_evidence_titles_are_ignored() {
        // An article far from any law, and an evidence document in book-title marks.
        let t = "合同第三条约定了还款期限。被告人提交了《收款收据》第二条所列款项。";
        assert!(find_statute_refs(t).is_empty());
        // A law mention followed by prose, then an unrelated article.
        let t2 = "根据刑法第六十一条的规定，本案合同第五条无效";
        assert_eq!(find_statute_refs(t2), vec![r("刑法", 61)]);
    }
}
