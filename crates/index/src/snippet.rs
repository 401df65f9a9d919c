//! Highlighted snippets: the best window of a text around the query terms, as HTML.
//!
//! tantivy's `SnippetGenerator` assumes token start offsets never go backwards inside a
//! fragment, which jieba's search mode (a word overlapping its own sub-words) does not
//! guarantee, so snippets are cut here: tokens come from the same tokenizer as the
//! index, windows are measured in characters and cut on character boundaries, and all
//! text except the `<mark>` tags is HTML-escaped.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::tokenizer::LegalTokenizer;

/// Characters of context kept before the first highlighted term, when available.
const LEAD_CHARS: usize = 12;

/// Words too common in judgments to be worth a mark, though a search may weigh them.
const UNMARKED_WORDS: &[&str] = &[
    "的",
    "了",
    "在",
    "是",
    "和",
    "与",
    "及",
    "或",
    "等",
    "将",
    "被",
    "把",
    "对",
    "于",
    "其",
    "之",
    "也",
    "而",
    "并",
    "又",
    "该",
    "所",
    "以",
    "为",
    "有",
    "即",
    "被告人",
    "被告",
    "原告",
    "本院",
    "经审理查明",
    "审理",
    "查明",
    "认为",
    "一案",
    "上述",
    "事实",
    "证据",
    "证实",
    "其中",
    "以上",
    "期间",
    "当日",
    "当天",
    "并且",
    "因此",
    "由于",
    "我们",
    "他们",
];

/// The query terms worth marking in a snippet: not stop words, not single characters
/// (`经`, `上`), not numbers or a number with a unit (`100ml`, `2019`). When nothing is
/// left — the query *is* such a word — every term is kept, so a one-character query
/// still shows where it matched.
pub fn highlight_terms(terms: &HashMap<String, f32>) -> HashMap<String, f32> {
    let worth = |t: &str| {
        let chars = t.chars().count();
        let numberish = t.chars().any(|c| c.is_ascii_digit())
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
        chars > 1 && !numberish && !UNMARKED_WORDS.contains(&t)
    };
    let kept: HashMap<String, f32> = terms
        .iter()
        .filter(|(t, _)| worth(t))
        .map(|(t, &w)| (t.clone(), w))
        .collect();
    if kept.is_empty() {
        terms.clone()
    } else {
        kept
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes: the project's one
/// HTML escaper (snippets here, the HTML 类案检索报告 in the server).
pub fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        push_escaped(c, out);
    }
}

fn push_escaped(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        _ => out.push(c),
    }
}

/// A snippet is one line: line breaks and tabs become spaces, the rest is escaped.
pub(crate) fn escape_snippet(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            _ => push_escaped(c, out),
        }
    }
}

/// Byte offset `n` characters after byte offset `from` (or the end of `text`).
fn advance_chars(text: &str, from: usize, n: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| from + i)
}

/// Byte offset up to `n` characters before `from`, stopping after a sentence end
/// (`。`, `；`, newline) so the snippet starts at a sentence when one is near.
fn back_chars(text: &str, from: usize, n: usize) -> usize {
    let mut start = from;
    for (i, c) in text[..from].char_indices().rev().take(n) {
        if matches!(c, '。' | '；' | '！' | '？' | '\n') {
            break;
        }
        start = i;
    }
    start
}

/// The highlighted window of `text` of at most `max_chars` characters with the largest
/// total weight of *distinct* query terms, or `None` when no term occurs in `text`.
///
/// `terms` maps a token text (as the tokenizer emits it) to its weight (e.g. its idf).
pub fn snippet_html(
    tokenizer: &LegalTokenizer,
    text: &str,
    terms: &HashMap<String, f32>,
    max_chars: usize,
) -> Option<String> {
    let matches: Vec<(Range<usize>, &str, f32)> = tokenizer
        .tokens(text)
        .into_iter()
        .filter_map(|t| {
            terms
                .get_key_value(&t.text)
                .map(|(k, &w)| (t.offset_from..t.offset_to, k.as_str(), w))
        })
        .collect();
    if matches.is_empty() {
        return None;
    }
    let max_chars = max_chars.max(1);
    // Best window starting at a match (matches are sorted by start).
    let mut best: Option<(f32, usize, usize)> = None; // (score, start, end of first match)
    for (i, (range, _, _)) in matches.iter().enumerate() {
        let start = range.start;
        // A window always holds its first match whole, even if longer than max_chars.
        let end = advance_chars(text, start, max_chars).max(range.end);
        let mut seen = HashSet::new();
        let score: f32 = matches[i..]
            .iter()
            .take_while(|(r, _, _)| r.start < end)
            .filter(|(r, term, _)| r.end <= end && seen.insert(*term))
            .map(|(_, _, w)| w)
            .sum();
        if best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, start, range.end));
        }
    }
    let (_, first_match, first_match_end) = best?;
    // Shift the window back a little for context, keeping its length.
    let mut start = back_chars(text, first_match, LEAD_CHARS.min(max_chars / 4));
    let end = advance_chars(text, start, max_chars).max(first_match_end);
    if end == text.len() {
        // Near the end: use the slack for more leading context.
        let used = text[start..end].chars().count();
        let slack = max_chars.saturating_sub(used);
        start = text[..start]
            .char_indices()
            .rev()
            .take(slack)
            .last()
            .map_or(start, |(i, _)| i);
    }

    let mut marks: Vec<Range<usize>> = matches
        .iter()
        .map(|(r, _, _)| r.clone())
        .filter(|r| r.start >= start && r.end <= end)
        .collect();
    marks.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in marks {
        match merged.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }

    let mut html = String::new();
    if start > 0 {
        html.push('…');
    }
    let mut at = start;
    for r in merged {
        escape_snippet(&text[at..r.start], &mut html);
        html.push_str("<mark>");
        escape_snippet(&text[r.clone()], &mut html);
        html.push_str("</mark>");
        at = r.end;
    }
    escape_snippet(&text[at..end], &mut html);
    if end < text.len() {
        html.push('…');
    }
    Some(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(words: &[&str]) -> HashMap<String, f32> {
        words.iter().map(|w| (w.to_string(), 1.0)).collect()
    }

    #[test]
    fn highlights_chinese_terms() {
        let t = LegalTokenizer::new(&["盗窃罪"]);
        let text = "经审理查明，被告人张某于2019年3月在某超市盗窃手机一部，价值人民币2000元。";
        let html = snippet_html(&t, text, &terms(&["盗窃", "手机"]), 200).unwrap();
        assert!(html.contains("<mark>盗窃</mark>"), "{html}");
        assert!(html.contains("<mark>手机</mark>"), "{html}");
        assert_eq!(
            html.replace("<mark>", "").replace("</mark>", ""),
            text,
            "whole short text, unchanged"
        );
        assert!(snippet_html(&t, text, &terms(&["抢劫"]), 200).is_none());
    }

    #[test]
    fn overlapping_subwords_are_one_mark() {
        let t = LegalTokenizer::new(&["盗窃罪"]);
        let html = snippet_html(&t, "其行为构成盗窃罪。", &terms(&["盗窃", "盗窃罪"]), 50).unwrap();
        assert_eq!(html, "其行为构成<mark>盗窃罪</mark>。");
    }

    #[test]
    fn one_escaper_text_keeps_its_lines_snippets_are_one_line() {
        let mut text = String::new();
        escape_html("a<b>&\"c'\nd", &mut text);
        assert_eq!(text, "a&lt;b&gt;&amp;&quot;c&#39;\nd");
        let mut line = String::new();
        escape_snippet("a<b\nc\td", &mut line);
        assert_eq!(line, "a&lt;b c d");
    }

    #[test]
    fn escapes_html_and_never_splits_chars() {
        let t = LegalTokenizer::new::<&str>(&[]);
        let text = "😀😀😀 <script>alert(1)</script> & 被告人盗窃😀手机 \"引号\" 后文很长很长很长很长很长很长很长很长很长很长。";
        for max in [2, 3, 8, 15, 40] {
            let html = snippet_html(&t, text, &terms(&["盗窃", "手机"]), max).unwrap();
            assert!(!html.contains("<script>"), "{html}");
            assert!(html.contains("<mark>"), "{html}");
            let plain = html.replace("<mark>", "").replace("</mark>", "");
            assert!(!plain.contains('<') && !plain.contains('>'), "{html}");
            // Without the marks and ellipses, the text is a window of at most max chars.
            let body = plain.trim_matches('…');
            let unescaped = body
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            assert!(unescaped.chars().count() <= max, "{max}: {html}");
            assert!(text.contains(&unescaped), "{max}: {unescaped}");
        }
        let html = snippet_html(&t, text, &terms(&["alert"]), 40).unwrap();
        assert!(
            html.contains("&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; &amp;"),
            "{html}"
        );
    }

    #[test]
    fn single_characters_stop_words_and_units_are_not_marked() {
        let t = LegalTokenizer::new(&["危险驾驶罪"]);
        let text = "经检验，被告人上路时血液中乙醇含量为100ml，其行为构成危险驾驶罪。";
        let all = terms(&["经", "上", "100ml", "被告人", "乙醇", "危险驾驶罪"]);
        let kept = highlight_terms(&all);
        let mut kept_words: Vec<&str> = kept.keys().map(String::as_str).collect();
        kept_words.sort();
        assert_eq!(kept_words, ["乙醇", "危险驾驶罪"]);
        let html = snippet_html(&t, text, &kept, 200).unwrap();
        assert!(html.contains("<mark>乙醇</mark>"), "{html}");
        assert!(
            !html.contains("<mark>经</mark>") && !html.contains("<mark>上"),
            "{html}"
        );
        assert!(!html.contains("<mark>100ml</mark>"), "{html}");
        assert!(!html.contains("<mark>被告人</mark>"), "{html}");
        // a query of nothing but such words still shows where it matched
        let only = terms(&["经", "100ml"]);
        assert_eq!(highlight_terms(&only), only);
        let html = snippet_html(&t, text, &highlight_terms(&only), 200).unwrap();
        assert!(html.contains("<mark>经</mark>"), "{html}");
    }

    #[test]
    fn picks_window_with_most_distinct_terms() {
        let t = LegalTokenizer::new::<&str>(&[]);
        let filler = "当天天气晴朗，路上行人很多。".repeat(10);
        let text = format!("张某盗窃。{filler}李某在商场盗窃手机后逃跑。{filler}");
        let html = snippet_html(&t, &text, &terms(&["盗窃", "手机", "逃跑"]), 30).unwrap();
        assert!(html.contains("<mark>手机</mark>"), "{html}");
        assert!(html.contains("<mark>逃跑</mark>"), "{html}");
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
    }
}
