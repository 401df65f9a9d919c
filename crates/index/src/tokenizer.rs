//! Chinese tokenisation for the index: jieba in search mode plus a legal user dictionary.
//!
//! [`LegalTokenizer`] is a tantivy [`Tokenizer`] over one shared [`Jieba`]. It cuts in
//! search mode with HMM on, so a long dictionary word is emitted whole *and* as its 2- and
//! 3-character dictionary sub-words: `盗窃罪` gives `盗窃` and `盗窃罪`, and a query for
//! either finds the other's text. Token offsets are byte offsets into the input (snippets
//! rely on them); tokens are sorted by start offset so positions follow the text. Tokens
//! without a letter or digit (punctuation, whitespace, emoji) are dropped; ASCII is
//! lower-cased and full-width ASCII (`ＡＢＣ１２３`) folded to half-width in the token text
//! only, never in the offsets.
//!
//! The legal dictionary is generated, not hand-written: see [`legal_terms_from_statutes`]
//! and [`legal_terms_from_charges`]. It is stored as one word per line in the index
//! generation directory and added to jieba at open with `add_word` (frequency suggested
//! by jieba so the word is kept whole).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use jieba_rs::Jieba;
use leian_ingest::StatuteArticle;
use regex::Regex;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::error::{IndexError, Result};

/// Name under which [`LegalTokenizer`] is registered in every index.
pub const TOKENIZER_NAME: &str = "leian_jieba";

/// A tantivy tokenizer over a shared, dictionary-extended jieba (search mode, HMM on).
///
/// Cloning is cheap (an `Arc`); all clones see words added with [`LegalTokenizer::add_words`].
#[derive(Clone)]
pub struct LegalTokenizer {
    jieba: Arc<RwLock<Jieba>>,
}

impl std::fmt::Debug for LegalTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LegalTokenizer")
    }
}

impl LegalTokenizer {
    /// Builds jieba with its default dictionary plus `words`. Slow (~0.5 s): do it once per
    /// index open and clone the result.
    pub fn new<S: AsRef<str>>(words: &[S]) -> Self {
        let tokenizer = LegalTokenizer {
            jieba: Arc::new(RwLock::new(Jieba::new())),
        };
        tokenizer.add_words(words);
        tokenizer
    }

    /// Adds user-dictionary words; they affect every later tokenisation by any clone.
    pub fn add_words<S: AsRef<str>>(&self, words: &[S]) {
        if words.is_empty() {
            return;
        }
        let mut jieba = self.jieba.write().unwrap_or_else(|e| e.into_inner());
        for word in words {
            let word = word.as_ref().trim();
            if !word.is_empty() && !jieba.has_word(word) {
                jieba.add_word(word, None, None);
            }
        }
    }

    /// Whether jieba knows `word` (default dictionary or added).
    pub fn has_word(&self, word: &str) -> bool {
        let jieba = self.jieba.read().unwrap_or_else(|e| e.into_inner());
        jieba.has_word(word)
    }

    /// All tokens of `text`, in the order the index sees them.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        // jieba treats full-width letters and digits as single symbols, so cut a
        // half-width copy and map the offsets back to `text`.
        let folded = FoldedText::new(text);
        let jieba = self.jieba.read().unwrap_or_else(|e| e.into_inner());
        let mut tokens: Vec<Token> = jieba
            .cut_for_search(folded.text(text), true)
            .into_iter()
            .filter(|t| t.word.chars().any(char::is_alphanumeric))
            .map(|t| Token {
                offset_from: folded.original_offset(t.byte_start),
                offset_to: folded.original_offset(t.byte_end),
                position: 0,
                text: normalize_token(t.word),
                position_length: 1,
            })
            .collect();
        drop(jieba);
        // Search mode emits sub-words before their word; sort by start (then end) so
        // offsets and positions increase along the text.
        tokens.sort_by_key(|t| (t.offset_from, t.offset_to));
        for (position, token) in tokens.iter_mut().enumerate() {
            token.position = position;
        }
        tokens
    }
}

/// Full-width ASCII forms (U+FF01..U+FF5E) and the ideographic space folded to ASCII,
/// with a map from folded byte offsets back to the original ones. Text without such
/// characters (the common case) is not copied.
struct FoldedText {
    folded: Option<String>,
    /// `offsets[i]` = original byte offset of folded byte `i` (plus one entry for the end).
    offsets: Vec<usize>,
}

fn fold_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

impl FoldedText {
    fn new(text: &str) -> Self {
        if !text.chars().any(|c| fold_char(c) != c) {
            return FoldedText {
                folded: None,
                offsets: Vec::new(),
            };
        }
        let mut folded = String::with_capacity(text.len());
        let mut offsets = Vec::with_capacity(text.len() + 1);
        for (i, c) in text.char_indices() {
            let f = fold_char(c);
            folded.push(f);
            offsets.extend(std::iter::repeat_n(i, f.len_utf8()));
        }
        offsets.push(text.len());
        FoldedText {
            folded: Some(folded),
            offsets,
        }
    }
    fn text<'a>(&'a self, original: &'a str) -> &'a str {
        self.folded.as_deref().unwrap_or(original)
    }
    fn original_offset(&self, folded_offset: usize) -> usize {
        if self.folded.is_none() {
            return folded_offset;
        }
        self.offsets
            .get(folded_offset)
            .copied()
            .unwrap_or_else(|| self.offsets.last().copied().unwrap_or(0))
    }
}

impl LegalTokenizer {
    /// Words jieba's part-of-speech tagger marks as person names (`nr*`) in `text`,
    /// e.g. the parties of a judgment. Used to keep names out of long queries.
    pub fn person_names(&self, text: &str) -> Vec<String> {
        let jieba = self.jieba.read().unwrap_or_else(|e| e.into_inner());
        jieba
            .tag(text, true)
            .into_iter()
            .filter(|t| t.tag.starts_with("nr"))
            .map(|t| normalize_token(t.word))
            .collect()
    }
}

/// Lower-cases ASCII and folds full-width ASCII forms (U+FF01..U+FF5E) to ASCII.
fn normalize_token(word: &str) -> String {
    word.chars()
        .map(|c| fold_char(c).to_ascii_lowercase())
        .collect()
}

/// The token stream of [`LegalTokenizer`]: tokens are computed up front.
pub struct LegalTokenStream {
    tokens: Vec<Token>,
    next: usize,
    current: Token,
}

impl TokenStream for LegalTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.get_mut(self.next) {
            Some(token) => {
                self.current = std::mem::take(token);
                self.next += 1;
                true
            }
            None => false,
        }
    }
    fn token(&self) -> &Token {
        &self.current
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

impl Tokenizer for LegalTokenizer {
    type TokenStream<'a> = LegalTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> LegalTokenStream {
        LegalTokenStream {
            tokens: self.tokens(text),
            next: 0,
            current: Token::default(),
        }
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// A dictionary word candidate: 2 to 16 Han characters.
fn is_term(s: &str) -> bool {
    let n = s.chars().count();
    (2..=16).contains(&n) && s.chars().all(is_han)
}

/// Splits a title or charge on enumeration marks and keeps the pieces that are terms
/// without function words (`的`, `和`, `与`, `及`): `第七节 走私、贩卖、运输、制造毒品罪`
/// gives `走私`, `贩卖`, `运输`, `制造毒品罪`; `刑罚的种类` gives nothing.
fn title_terms(title: &str, out: &mut BTreeSet<String>) {
    let title = strip_ordinal_heading(title.trim());
    for piece in title.split(['、', '，', ',', ' ', '　', '/', '（', '）', '(', ')']) {
        let piece = piece.trim();
        if is_term(piece) && !piece.contains(['的', '和', '与', '及']) {
            out.insert(piece.to_string());
        }
    }
}

/// `第五章 侵犯财产罪` → `侵犯财产罪`; text without such a heading is returned unchanged.
fn strip_ordinal_heading(title: &str) -> &str {
    static HEADING: OnceLock<Regex> = OnceLock::new();
    let re = HEADING.get_or_init(|| {
        Regex::new(r"^第[零〇一二三四五六七八九十百千0-9]+[编分章节条]\s*").expect("constant regex")
    });
    match re.find(title) {
        Some(m) => &title[m.end()..],
        None => title,
    }
}

/// Legal dictionary words generated from statute articles.
///
/// Four simple sources, each a rule rather than a hand list:
/// 1. chapter and section titles with their `第X章` heading removed, split on `、`
///    (`侵犯财产罪`, `数罪并罚`, `制造毒品罪`); pieces with `的/和/与/及` are skipped, as they
///    are descriptions (`刑罚的种类`), not terms;
/// 2. in 刑法 articles, phrases `以/犯/构成 X罪` followed by punctuation or `论处/定罪…`
///    (`以走私罪论处` → `走私罪`), minus references that are not charge names: anything
///    ending in `犯罪` or containing a reference word (`款 条 本 前 该 各 数 上 此 其 被 之
///    的 任 类 又 内 新 以`), which drops `犯前款罪`, `犯本条规定之罪`, `构成其他犯罪`;
/// 3. law short names (`刑法`, `民法典`, `治安管理处罚法`);
/// 4. defined terms `本法所称X，是指/包括…` (`国家工作人员`, `公共财产`), skipping ones with `的`.
///
/// Every word is 2–16 Han characters; the result is sorted and deduplicated.
pub fn legal_terms_from_statutes(articles: &[StatuteArticle]) -> Vec<String> {
    static CHARGE: OnceLock<Regex> = OnceLock::new();
    static DEFINED: OnceLock<Regex> = OnceLock::new();
    let charge = CHARGE.get_or_init(|| {
        Regex::new(r"(?:以|犯|构成)(\p{Han}{2,12}?罪)(?:[，。、；：\s]|论处|定罪|处罚|的|和|或|$)")
            .expect("constant regex")
    });
    let defined = DEFINED.get_or_init(|| {
        Regex::new(r"本法所称的?(\p{Han}{2,14}?)(?:，|,|（|是指|包括|指)").expect("constant regex")
    });
    const NOT_A_CHARGE: [char; 19] = [
        '款', '条', '本', '前', '该', '各', '数', '上', '此', '其', '被', '之', '的', '任', '类',
        '又', '内', '新', '以',
    ];
    let mut out = BTreeSet::new();
    for article in articles {
        title_terms(&article.chapter, &mut out);
        title_terms(&article.section, &mut out);
        if is_term(&article.law) {
            out.insert(article.law.clone());
        }
        if article.law == "刑法" {
            for cap in charge.captures_iter(&article.text) {
                let name = &cap[1];
                if !name.ends_with("犯罪") && !name.contains(NOT_A_CHARGE) && is_term(name) {
                    out.insert(name.to_string());
                }
            }
        }
        for cap in defined.captures_iter(&article.text) {
            let term = &cap[1];
            if is_term(term) && !term.contains('的') {
                out.insert(term.to_string());
            }
        }
    }
    out.into_iter().collect()
}

/// Legal dictionary words from charge names (罪名) or causes of action (案由) seen in
/// cases, split on `、` like titles (`掩饰、隐瞒犯罪所得罪` → `掩饰`, `隐瞒犯罪所得罪`).
pub fn legal_terms_from_charges<S: AsRef<str>>(charges: &[S]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for charge in charges {
        title_terms(charge.as_ref(), &mut out);
    }
    out.into_iter().collect()
}

/// Reads a dictionary file (one word per line; anything after the first whitespace, as
/// in jieba's `word freq tag` format, is ignored). A missing file is an empty dictionary.
pub fn read_dictionary(path: &Path) -> Result<Vec<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(IndexError::io(path, e)),
    }
}

/// Appends `words` to a dictionary file, one per line, and syncs it.
pub fn append_dictionary(path: &Path, words: &[String]) -> Result<()> {
    if words.is_empty() {
        return Ok(());
    }
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| IndexError::io(path, e))?;
    let mut text = String::new();
    for w in words {
        text.push_str(w);
        text.push('\n');
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| IndexError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &LegalTokenizer, text: &str) -> Vec<String> {
        t.tokens(text).into_iter().map(|t| t.text).collect()
    }

    fn article(law: &str, chapter: &str, section: &str, text: &str) -> StatuteArticle {
        StatuteArticle {
            law: law.into(),
            article: 1,
            suffix: 0,
            law_title: format!("中华人民共和国{law}"),
            chapter: chapter.into(),
            section: section.into(),
            text: text.into(),
        }
    }

    #[test]
    fn search_mode_gives_word_and_subword() {
        let t = LegalTokenizer::new(&["盗窃罪"]);
        let w = words(&t, "被告人犯盗窃罪。");
        assert!(w.contains(&"盗窃".to_string()), "{w:?}");
        assert!(w.contains(&"盗窃罪".to_string()), "{w:?}");
        assert!(!w.iter().any(|x| x == "。"), "punctuation kept: {w:?}");
    }

    #[test]
    fn offsets_are_byte_offsets_on_multibyte_text() {
        let t = LegalTokenizer::new::<&str>(&[]);
        let text = "2019年3月，张某😀在ＡＢＣ超市盗窃手机一部，价值１２００元。　Hello World";
        let tokens = t.tokens(text);
        assert!(!tokens.is_empty());
        let mut last_start = 0;
        for tok in &tokens {
            assert!(text.is_char_boundary(tok.offset_from));
            assert!(text.is_char_boundary(tok.offset_to));
            let slice = &text[tok.offset_from..tok.offset_to];
            assert_eq!(normalize_token(slice), tok.text, "{slice}");
            assert!(tok.offset_from >= last_start, "not sorted");
            last_start = tok.offset_from;
        }
        let w: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert!(w.contains(&"hello"), "{w:?}");
        assert!(w.contains(&"1200"), "{w:?}");
        assert!(w.contains(&"abc"), "full-width not folded: {w:?}");
        assert!(!w.iter().any(|x| x.contains('😀')), "emoji kept: {w:?}");
        assert!(!w.iter().any(|x| x.trim().is_empty()), "blank kept: {w:?}");
        // Positions are consecutive.
        for (i, tok) in tokens.iter().enumerate() {
            assert_eq!(tok.position, i);
        }
    }

    #[test]
    fn tantivy_stream_matches_tokens() {
        let mut t = LegalTokenizer::new::<&str>(&[]);
        let text = "经审理查明，被告人李某盗窃电动车。";
        let expected = t.tokens(text);
        let mut stream = t.token_stream(text);
        let mut got = Vec::new();
        while let Some(tok) = stream.next() {
            got.push(tok.clone());
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn added_words_are_kept_whole() {
        let t = LegalTokenizer::new::<&str>(&[]);
        let text = "构成帮助信息网络犯罪活动罪";
        assert!(!words(&t, text).contains(&"帮助信息网络犯罪活动罪".to_string()));
        t.add_words(&["帮助信息网络犯罪活动罪"]);
        let w = words(&t, text);
        assert!(w.contains(&"帮助信息网络犯罪活动罪".to_string()), "{w:?}");
        assert!(w.contains(&"网络".to_string()), "{w:?}");
    }

    #[test]
    fn statute_terms_are_generated_by_rule() {
        let arts = vec![
            article(
                "刑法",
                "第五章 侵犯财产罪",
                "",
                "盗窃公私财物，数额较大的，处三年以下有期徒刑。犯前款罪，又构成其他犯罪的，\
                 依照处罚较重的规定定罪处罚。携带凶器抢夺的，以抢劫罪定罪处罚。",
            ),
            article(
                "刑法",
                "第六章 妨害社会管理秩序罪",
                "第七节 走私、贩卖、运输、制造毒品罪",
                "本法所称毒品，是指鸦片、海洛因。犯本条规定之罪的，以走私罪论处。",
            ),
            article(
                "刑法",
                "第四章 刑罚的具体运用",
                "第四节 数罪并罚",
                "本法所称国家工作人员，是指国家机关中从事公务的人员。",
            ),
            article(
                "治安管理处罚法",
                "第一章 总则",
                "",
                "为了维护社会治安秩序，制定本法。",
            ),
        ];
        let terms = legal_terms_from_statutes(&arts);
        for want in [
            "侵犯财产罪",
            "妨害社会管理秩序罪",
            "制造毒品罪",
            "走私",
            "数罪并罚",
            "抢劫罪",
            "走私罪",
            "毒品",
            "国家工作人员",
            "刑法",
            "治安管理处罚法",
            "总则",
        ] {
            assert!(terms.iter().any(|t| t == want), "missing {want}: {terms:?}");
        }
        for unwanted in [
            "前款罪",
            "其他犯罪",
            "本条规定之罪",
            "刑罚的具体运用",
            "犯前款罪",
        ] {
            assert!(!terms.iter().any(|t| t == unwanted), "has {unwanted}");
        }
        assert!(terms.windows(2).all(|w| w[0] < w[1]), "not sorted/deduped");
    }

    #[test]
    fn person_names_are_tagged() {
        let t = LegalTokenizer::new::<&str>(&[]);
        let names = t.person_names("被告人杨海、陈洪凯驾驶摩托车窜至某路段，盗走行车记录仪。");
        assert!(names.iter().any(|n| n == "杨海"), "{names:?}");
        assert!(
            !names.iter().any(|n| n == "摩托车" || n == "行车记录仪"),
            "{names:?}"
        );
    }

    #[test]
    fn charge_terms_split_enumerations() {
        let terms = legal_terms_from_charges(&["掩饰、隐瞒犯罪所得罪", "盗窃罪", "x"]);
        assert_eq!(terms, vec!["掩饰", "盗窃罪", "隐瞒犯罪所得罪"]);
    }

    #[test]
    fn dictionary_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dict.txt");
        assert!(read_dictionary(&path).unwrap().is_empty());
        append_dictionary(&path, &["盗窃罪".into(), "侵犯财产罪".into()]).unwrap();
        append_dictionary(&path, &["抢劫罪".into()]).unwrap();
        assert_eq!(
            read_dictionary(&path).unwrap(),
            vec!["盗窃罪", "侵犯财产罪", "抢劫罪"]
        );
    }
}
