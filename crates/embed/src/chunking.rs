//! How a long judgment becomes a few embedding inputs.
//!
//! Why it works this way:
//!
//! - **Cost.** On the 2-core target machine candle runs a 512-token chunk in
//!   0.5–0.8 s. A 5,000-character judgment cut into every possible 512-token
//!   window would take 5–8 s to embed; a corpus of tens of thousands of cases
//!   would take days. So the number of chunks per case is capped
//!   ([`DEFAULT_MAX_CHUNKS`] = 4, i.e. at most ~2–3 s per case).
//! - **Signal.** What makes two criminal cases similar is in the facts
//!   (经审理查明 …): the act, the object, the amount, the means. Boilerplate
//!   (parties, procedure, statute text) mostly adds noise, and the
//!   measurements in `docs/model-notes.md` show dense vectors are the weaker
//!   signal anyway. So callers pass the facts first ([`chunk_sections`]), and
//!   the cap keeps the chunks that come first.
//! - **Boundaries.** Chunks end at sentence boundaries (。；！？ and newlines),
//!   so no chunk starts mid-clause; a sentence longer than a chunk is cut at
//!   the character limit. Consecutive chunks share a short overlap (the last
//!   sentence of the previous chunk, if it is short) so a fact split across
//!   a boundary still appears whole once.
//! - **Characters, not tokens.** The XLM-R tokenizer produces at most about
//!   one token per Chinese character (usually fewer: common words are single
//!   pieces), so [`DEFAULT_MAX_CHARS`] = 480 characters plus the `passage: `
//!   prefix and the two special tokens stays within 512 tokens without
//!   running the tokenizer here. The embedder truncates at its token limit in
//!   any case.

/// Characters per chunk (fits 512 tokens with prefix and specials).
pub const DEFAULT_MAX_CHARS: usize = 480;
/// Chunks kept per case.
pub const DEFAULT_MAX_CHUNKS: usize = 4;
/// Longest trailing sentence carried into the next chunk as overlap.
pub const DEFAULT_OVERLAP_CHARS: usize = 60;

/// Options for [`chunk_sections`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Maximum characters per chunk (≥ 1).
    pub max_chars: usize,
    /// Maximum chunks returned in total.
    pub max_chunks: usize,
    /// The last sentence of a chunk is repeated at the start of the next one
    /// when it has at most this many characters (0 disables overlap).
    pub overlap_chars: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            max_chars: DEFAULT_MAX_CHARS,
            max_chunks: DEFAULT_MAX_CHUNKS,
            overlap_chars: DEFAULT_OVERLAP_CHARS,
        }
    }
}

/// Splits `text` into at most [`DEFAULT_MAX_CHUNKS`] chunks of at most
/// `max_chars` characters, on sentence boundaries, with the default overlap.
/// Pass the facts section (or put it first): only the first chunks are kept.
pub fn chunk_for_embedding(text: &str, max_chars: usize) -> Vec<String> {
    chunk_sections(
        &[text],
        &ChunkOptions {
            max_chars,
            ..ChunkOptions::default()
        },
    )
}

/// Chunks several sections in priority order (e.g. facts, then the court's
/// reasoning). Sections never share a chunk; the total is capped at
/// `options.max_chunks`, so later sections are used only when earlier ones
/// are short.
pub fn chunk_sections(sections: &[&str], options: &ChunkOptions) -> Vec<String> {
    let max_chars = options.max_chars.max(1);
    let mut out = Vec::new();
    for section in sections {
        if out.len() >= options.max_chunks {
            break;
        }
        let sentences = split_sentences(section, max_chars);
        let mut current: Vec<&str> = Vec::new();
        let mut current_len = 0usize;
        for s in sentences {
            let len = s.chars().count();
            if current_len + len > max_chars && !current.is_empty() {
                let last = current.last().copied();
                out.push(current.concat());
                if out.len() >= options.max_chunks {
                    break;
                }
                current.clear();
                current_len = 0;
                if let Some(prev) = last {
                    let prev_len = prev.chars().count();
                    if prev_len <= options.overlap_chars && prev_len + len <= max_chars {
                        current.push(prev);
                        current_len = prev_len;
                    }
                }
            }
            current.push(s);
            current_len += len;
        }
        if out.len() < options.max_chunks && !current.is_empty() {
            out.push(current.concat());
        }
    }
    out
}

/// Sentences ending in 。；！？ or a newline (delimiter kept), whitespace-only
/// pieces dropped, any sentence longer than `max_chars` cut into pieces.
fn split_sentences(text: &str, max_chars: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '。' | '；' | '！' | '？' | '\n') {
            let end = i + c.len_utf8();
            push_cut(&text[start..end], max_chars, &mut out);
            start = end;
        }
    }
    push_cut(&text[start..], max_chars, &mut out);
    out
}

fn push_cut<'a>(sentence: &'a str, max_chars: usize, out: &mut Vec<&'a str>) {
    let s = sentence.trim();
    if s.is_empty() {
        return;
    }
    let mut rest = s;
    while rest.chars().count() > max_chars {
        let cut = rest
            .char_indices()
            .nth(max_chars)
            .map_or(rest.len(), |(i, _)| i);
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out.push(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(
            chunk_for_embedding("被告人盗窃。", 480),
            vec!["被告人盗窃。"]
        );
        assert!(chunk_for_embedding("  \n ", 480).is_empty());
    }

    #[test]
    fn splits_on_sentence_boundaries_with_overlap() {
        // Sentences of 4, 4, 4 characters; max 9 → [A B] then [B C] (B is the overlap).
        let text = "甲乙丙。丁戊己；庚辛壬！";
        let opts = ChunkOptions {
            max_chars: 9,
            max_chunks: 10,
            overlap_chars: 4,
        };
        assert_eq!(
            chunk_sections(&[text], &opts),
            vec!["甲乙丙。丁戊己；", "丁戊己；庚辛壬！"]
        );
        let no_overlap = ChunkOptions {
            overlap_chars: 0,
            ..opts
        };
        assert_eq!(
            chunk_sections(&[text], &no_overlap),
            vec!["甲乙丙。丁戊己；", "庚辛壬！"]
        );
    }

    #[test]
    fn cuts_overlong_sentences_and_respects_limits() {
        let long: String = "字".repeat(25);
        let opts = ChunkOptions {
            max_chars: 10,
            max_chunks: 10,
            overlap_chars: 0,
        };
        let chunks = chunk_sections(&[&long], &opts);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2].chars().count(), 5);
        assert!(chunks.iter().all(|c| c.chars().count() <= 10));
    }

    #[test]
    fn caps_chunks_and_keeps_facts_first() {
        let facts = "事实一。事实二。事实三。";
        let reasoning = "本院认为一。本院认为二。";
        let opts = ChunkOptions {
            max_chars: 4,
            max_chunks: 4,
            overlap_chars: 0,
        };
        let chunks = chunk_sections(&[facts, reasoning], &opts);
        // "本院认为一。" is longer than 4 characters, so it is cut; the cap keeps its first piece.
        assert_eq!(chunks, vec!["事实一。", "事实二。", "事实三。", "本院认为"]);
    }

    #[test]
    fn five_thousand_characters_become_at_most_four_chunks() {
        let text = "被告人于某日在某地窃取他人财物，价值人民币三千元。".repeat(200);
        let chunks = chunk_for_embedding(&text, DEFAULT_MAX_CHARS);
        assert_eq!(chunks.len(), DEFAULT_MAX_CHUNKS);
        assert!(chunks
            .iter()
            .all(|c| c.chars().count() <= DEFAULT_MAX_CHARS));
        assert!(chunks.iter().all(|c| c.ends_with('。')));
    }
}
