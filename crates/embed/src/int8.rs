//! 8-bit integer linear layers and the vector maths around them, on plain
//! `f32` buffers (row-major `[rows, columns]`).
//!
//! A weight matrix is quantised once, per output row, to `i8` with one `f32`
//! scale; activations are quantised per token (row) on the fly to `u8` with
//! an offset of 128, so that one AVX-512 VNNI instruction (`vpdpbusd`)
//! multiplies and adds 64 byte pairs into 16 `i32` sums. The offset is taken
//! back out with each output row's precomputed `128 × Σ weights`. Elsewhere
//! the same integers are summed by a portable loop (exact, slower).
//!
//! The epilogue of a layer (bias, activation, residual, LayerNorm) runs on
//! the rows each thread computed, while they are still in its cache.

use rayon::prelude::*;

/// Output columns per 512-bit accumulator (16 × `i32`).
const GROUP: usize = 16;
/// Accumulators per row in the kernel: 64 output columns at a time.
const GROUPS_PER_TILE: usize = 4;
const TILE_COLS: usize = GROUP * GROUPS_PER_TILE;
/// Token rows per kernel call.
const TILE_ROWS: usize = 4;
/// Bytes of one packed quad column (4 inputs of 16 output rows).
const QUAD_BYTES: usize = GROUP * 4;

/// 1.5 × 2²³: adding it to |x| < 2²² rounds x to the nearest integer (ties
/// to even) and leaves that integer in the low bits of the sum.
const MAGIC: f32 = 12_582_912.0;

/// `x.round() as i32` by bits, for |x| far below 2²²: no libm call and no
/// saturating conversion, so loops vectorise.
#[inline(always)]
fn round_to_i32(x: f32) -> i32 {
    ((x + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32)
}

/// `e^x` to about 3 × 10⁻⁷ relative error, branch-free (vectorises).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // ln 2 split so that n × LN2_HI is exact for |n| ≤ 126 (Cody–Waite)
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 87.0);
    let n = round_to_i32(x * std::f32::consts::LOG2_E);
    let f = (x - n as f32 * LN2_HI) - n as f32 * LN2_LO; // |f| ≤ ln2 / 2
                                                         // Taylor series of e^f to the 6th power: error below (ln2/2)⁷ / 7!.
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0))))));
    p * f32::from_bits((n.wrapping_add(127) as u32) << 23)
}

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5 × 10⁻⁷).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// The activation after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    Identity,
    /// `x Φ(x)` with the exact normal CDF (BERT's `gelu`).
    GeluErf,
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    Relu,
}

impl Activation {
    fn apply(self, xs: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::GeluErf => map(xs, |x| {
                0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
            }),
            Activation::GeluTanh => map(xs, |x| {
                let y = 0.797_884_6 * (x + 0.044_715 * x * x * x);
                // tanh(y) = 1 − 2 / (e^{2y} + 1)
                0.5 * x * (2.0 - 2.0 / (exp(2.0 * y) + 1.0))
            }),
            Activation::Relu => map(xs, |x| x.max(0.0)),
        }
    }
}

/// Applies `f` to every value, compiled for AVX-512 where the CPU has it.
#[inline(always)]
fn map(xs: &mut [f32], f: impl Fn(f32) -> f32) {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx512() {
        simd::map_avx512(xs, f);
        return;
    }
    for x in xs {
        *x = f(*x);
    }
}

/// LayerNorm parameters of one layer.
#[derive(Debug, Clone)]
pub(crate) struct Norm {
    pub(crate) weight: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    pub(crate) eps: f32,
}

impl Norm {
    /// Normalises each row of `xs` (`rows × weight.len()`) in place.
    pub(crate) fn apply(&self, xs: &mut [f32]) {
        let width = self.weight.len();
        for row in xs.chunks_exact_mut(width) {
            let mean = sum(row) / width as f32;
            let mut var = 0.0;
            for &v in row.iter() {
                var += (v - mean) * (v - mean);
            }
            let inv = 1.0 / (var / width as f32 + self.eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

/// Sum in 16 lanes (vectorises, unlike a left fold over floats).
#[inline(always)]
pub(crate) fn sum(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// Softmax of each row of `xs` (`rows × width`) in place.
pub(crate) fn softmax_rows(xs: &mut [f32], width: usize) {
    for row in xs.chunks_exact_mut(width) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        map(row, |v| exp(v - max));
        let inv = 1.0 / sum(row);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// What happens to a layer's output rows after `x Wᵀ + b`, in this order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Epilogue<'a> {
    pub(crate) activation: Activation,
    /// Added after the activation (same shape as the output).
    pub(crate) residual: Option<&'a [f32]>,
    pub(crate) norm: Option<&'a Norm>,
}

impl Epilogue<'_> {
    pub(crate) const PLAIN: Epilogue<'static> = Epilogue {
        activation: Activation::Identity,
        residual: None,
        norm: None,
    };
}

/// A linear layer `y = x Wᵀ + b` with `W` in 8-bit integers.
pub(crate) struct Int8Linear {
    out_dim: usize,
    in_dim: usize,
    /// `in_dim` rounded up to whole quads.
    quads: usize,
    /// `[out rows / 16][quads][16][4]`: the 4 inputs of a quad for 16
    /// output rows side by side, as `vpdpbusd` reads them. Padding is zero.
    packed: Vec<i8>,
    /// Per output row: `|W| max / 127`.
    scale: Vec<f32>,
    /// Per output row: `128 × Σ W_q`, the offset of the `u8` activations.
    offset: Vec<i32>,
    bias: Vec<f32>,
}

impl Int8Linear {
    /// `weight` is `[out_dim, in_dim]` row-major, `bias` has `out_dim` values.
    pub(crate) fn new(weight: &[f32], bias: Vec<f32>, out_dim: usize, in_dim: usize) -> Self {
        assert_eq!(weight.len(), out_dim * in_dim, "weight shape");
        assert_eq!(bias.len(), out_dim, "bias length");
        let quads = in_dim.div_ceil(4);
        let padded_out = out_dim.div_ceil(TILE_COLS) * TILE_COLS;
        let mut packed = vec![0i8; padded_out * quads * 4];
        let mut scale = vec![1f32; padded_out];
        let mut offset = vec![0i32; padded_out];
        for (n, row) in weight.chunks_exact(in_dim).enumerate() {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scale[n] = s;
            let group = &mut packed[(n / GROUP) * quads * QUAD_BYTES..][..quads * QUAD_BYTES];
            let lane = (n % GROUP) * 4;
            let mut total = 0i32;
            for (k, &v) in row.iter().enumerate() {
                let q = round_to_i32((v / s).clamp(-127.0, 127.0)) as i8;
                total += i32::from(q);
                group[(k / 4) * QUAD_BYTES + lane + k % 4] = q;
            }
            offset[n] = 128 * total;
        }
        Int8Linear {
            out_dim,
            in_dim,
            quads,
            packed,
            scale,
            offset,
            bias,
        }
    }

    pub(crate) fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// `x` is `[rows, in_dim]`; returns `[rows, out_dim]` with the epilogue
    /// applied. Rows are split across the rayon pool.
    pub(crate) fn forward(&self, x: &[f32], rows: usize, epilogue: Epilogue<'_>) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_dim, "input shape");
        if let Some(r) = epilogue.residual {
            assert_eq!(r.len(), rows * self.out_dim, "residual shape");
        }
        let n = self.out_dim;
        let mut out = vec![0f32; rows * n];
        if rows == 0 {
            return out;
        }
        let threads = rayon::current_num_threads().max(1);
        let per_task = rows.div_ceil(threads).div_ceil(TILE_ROWS) * TILE_ROWS;
        out.par_chunks_mut(per_task * n)
            .enumerate()
            .for_each(|(i, chunk)| {
                let first = i * per_task;
                let count = chunk.len() / n;
                let input = &x[first * self.in_dim..(first + count) * self.in_dim];
                self.rows_into(input, count, chunk);
                epilogue.activation.apply(chunk);
                if let Some(r) = epilogue.residual {
                    for (o, r) in chunk.iter_mut().zip(&r[first * n..(first + count) * n]) {
                        *o += r;
                    }
                }
                if let Some(norm) = epilogue.norm {
                    norm.apply(chunk);
                }
            });
        out
    }

    /// `x Wᵀ + b` for `rows` rows on this thread.
    fn rows_into(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        let stride = self.quads * 4;
        let mut qx = vec![128u8; rows * stride];
        let mut qscale = vec![0f32; rows];
        for ((row, q), s) in x
            .chunks_exact(self.in_dim)
            .zip(qx.chunks_exact_mut(stride))
            .zip(qscale.iter_mut())
        {
            *s = quantise_row(row, q);
        }
        let vnni = has_fast_kernel();
        let mut tile = [[0i32; TILE_COLS]; TILE_ROWS];
        let group_bytes = self.quads * QUAD_BYTES;
        for col in (0..self.out_dim).step_by(TILE_COLS) {
            let weights =
                &self.packed[(col / GROUP) * group_bytes..][..GROUPS_PER_TILE * group_bytes];
            for r0 in (0..rows).step_by(TILE_ROWS) {
                let tr = TILE_ROWS.min(rows - r0);
                let a = &qx[r0 * stride..(r0 + tr) * stride];
                dot_tile(vnni, tr, a, stride, weights, self.quads, &mut tile);
                let width = TILE_COLS.min(self.out_dim - col);
                for (t, acc) in tile.iter().take(tr).enumerate() {
                    let xs = qscale[r0 + t];
                    let dst = &mut out[(r0 + t) * self.out_dim + col..][..width];
                    let cols = col..col + width;
                    for ((((d, &a), &o), &s), &b) in dst
                        .iter_mut()
                        .zip(acc)
                        .zip(&self.offset[cols.clone()])
                        .zip(&self.scale[cols.clone()])
                        .zip(&self.bias[cols])
                    {
                        *d = a.wrapping_sub(o) as f32 * (xs * s) + b;
                    }
                }
            }
        }
    }
}

/// Quantises one row to `u8` (value / scale + 128) and returns the scale.
fn quantise_row(row: &[f32], q: &mut [u8]) -> f32 {
    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    let s = if max > 0.0 { max / 127.0 } else { 1.0 };
    let inv = 1.0 / s;
    for (q, &v) in q.iter_mut().zip(row) {
        // |v × inv| ≤ 127 + rounding: the clamp keeps it in 1..=255
        *q = round_to_i32((v * inv).clamp(-127.0, 127.0) + 128.0) as u8;
    }
    s
}

/// Whether this CPU has the AVX-512 VNNI kernel: where it does not, the
/// portable integer loop is slower than candle's f32 matmul.
pub(crate) fn has_fast_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        simd::has_vnni()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Integer dot products of `rows` (≤ 4) activation rows with 64 packed output
/// rows: `tile[r][c] = Σ_k a[r][k] × w[c][k]`.
fn dot_tile(
    vnni: bool,
    rows: usize,
    a: &[u8],
    stride: usize,
    w: &[i8],
    quads: usize,
    tile: &mut [[i32; TILE_COLS]; TILE_ROWS],
) {
    debug_assert!((1..=TILE_ROWS).contains(&rows));
    debug_assert!(a.len() >= rows * stride && stride >= quads * 4);
    debug_assert!(w.len() >= GROUPS_PER_TILE * quads * QUAD_BYTES);
    #[cfg(target_arch = "x86_64")]
    if vnni {
        match rows {
            1 => simd::tile::<1>(a, stride, w, quads, tile),
            2 => simd::tile::<2>(a, stride, w, quads, tile),
            3 => simd::tile::<3>(a, stride, w, quads, tile),
            _ => simd::tile::<4>(a, stride, w, quads, tile),
        }
        return;
    }
    let _ = vnni;
    let group_bytes = quads * QUAD_BYTES;
    for (r, out) in tile.iter_mut().take(rows).enumerate() {
        let a = &a[r * stride..][..quads * 4];
        for (c, o) in out.iter_mut().enumerate() {
            let g = &w[(c / GROUP) * group_bytes..][..group_bytes];
            let lane = (c % GROUP) * 4;
            let mut acc = 0i32;
            for q in 0..quads {
                let wq = &g[q * QUAD_BYTES + lane..][..4];
                for t in 0..4 {
                    acc += i32::from(a[q * 4 + t]) * i32::from(wq[t]);
                }
            }
            *o = acc;
        }
    }
}

/// The x86-64 kernels. Every function here checks its CPU features or is
/// only reached after [`has_vnni`] / [`has_avx512`] said yes.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod simd {
    use std::arch::x86_64::{
        __m512i, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
        _mm512_storeu_si512,
    };
    use std::sync::OnceLock;

    use super::{GROUPS_PER_TILE, QUAD_BYTES, TILE_COLS, TILE_ROWS};

    pub(super) fn has_vnni() -> bool {
        static VNNI: OnceLock<bool> = OnceLock::new();
        *VNNI.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
        })
    }

    pub(super) fn has_avx512() -> bool {
        static AVX512: OnceLock<bool> = OnceLock::new();
        *AVX512.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }

    /// [`super::map`] compiled with AVX-512 enabled.
    #[inline(always)]
    pub(super) fn map_avx512(xs: &mut [f32], f: impl Fn(f32) -> f32) {
        #[target_feature(enable = "avx512f,avx512dq,avx512vl,fma")]
        fn run(xs: &mut [f32], f: impl Fn(f32) -> f32) {
            for x in xs {
                *x = f(*x);
            }
        }
        debug_assert!(has_avx512());
        // SAFETY: only called after `has_avx512()` returned true, so the CPU
        // has every feature `run` is compiled with.
        unsafe { run(xs, f) }
    }

    /// `tile[r][c] = Σ_k a[r][k] × w[c][k]` for `R` rows and 64 columns.
    /// The caller checked the slice lengths (see `dot_tile`).
    pub(super) fn tile<const R: usize>(
        a: &[u8],
        stride: usize,
        w: &[i8],
        quads: usize,
        tile: &mut [[i32; TILE_COLS]; TILE_ROWS],
    ) {
        assert!(R <= TILE_ROWS && a.len() >= (R - 1) * stride + quads * 4);
        assert!(w.len() >= GROUPS_PER_TILE * quads * QUAD_BYTES);
        assert!(has_vnni());
        // SAFETY: the features are present (asserted above) and every read
        // stays inside `a` and `w` (lengths asserted above).
        unsafe { tile_vnni::<R>(a.as_ptr(), stride, w.as_ptr(), quads, tile) }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile_vnni<const R: usize>(
        a: *const u8,
        stride: usize,
        w: *const i8,
        quads: usize,
        tile: &mut [[i32; TILE_COLS]; TILE_ROWS],
    ) {
        let group_bytes = quads * QUAD_BYTES;
        let mut acc: [[__m512i; GROUPS_PER_TILE]; R] =
            [[_mm512_setzero_si512(); GROUPS_PER_TILE]; R];
        for q in 0..quads {
            // SAFETY (all reads): q < quads, so the 64 bytes at
            // g × group_bytes + q × 64 are inside the four groups of `w`,
            // and the 4 bytes at r × stride + q × 4 inside row r of `a`.
            let wq = unsafe { w.add(q * QUAD_BYTES) };
            let ws: [__m512i; GROUPS_PER_TILE] = std::array::from_fn(|g| unsafe {
                _mm512_loadu_si512(wq.add(g * group_bytes).cast())
            });
            for (r, acc) in acc.iter_mut().enumerate() {
                let bytes = unsafe { a.add(r * stride + q * 4).cast::<i32>().read_unaligned() };
                let av = _mm512_set1_epi32(bytes);
                for (acc, w) in acc.iter_mut().zip(&ws) {
                    *acc = _mm512_dpbusd_epi32(*acc, av, *w);
                }
            }
        }
        for (out, acc) in tile.iter_mut().zip(&acc) {
            for (g, v) in acc.iter().enumerate() {
                // SAFETY: 16 i32 at g × 16 lie inside the 64-value row.
                unsafe { _mm512_storeu_si512(out[g * 16..].as_mut_ptr().cast(), *v) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn matmul(x: &[f32], w: &[f32], b: &[f32], rows: usize, n: usize, k: usize) -> Vec<f32> {
        let mut out = vec![0f32; rows * n];
        for r in 0..rows {
            for c in 0..n {
                let dot: f32 = (0..k).map(|i| x[r * k + i] * w[c * k + i]).sum();
                out[r * n + c] = dot + b[c];
            }
        }
        out
    }

    #[test]
    fn the_int8_layer_is_close_to_f32_for_odd_shapes() {
        let mut seed = 7;
        // rows not a multiple of 4, columns not of 64, inputs not of 4
        for (rows, n, k) in [(1, 3, 5), (7, 70, 37), (13, 130, 384), (4, 64, 4)] {
            let x: Vec<f32> = (0..rows * k).map(|_| lcg(&mut seed)).collect();
            let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut seed) * 0.1).collect();
            let b: Vec<f32> = (0..n).map(|_| lcg(&mut seed)).collect();
            let want = matmul(&x, &w, &b, rows, n, k);
            let got = Int8Linear::new(&w, b.clone(), n, k).forward(&x, rows, Epilogue::PLAIN);
            assert_eq!(got.len(), want.len());
            // error of two 8-bit roundings: well under 2 % of the dot's scale
            let bound = 0.02 * 0.1 * (k as f32).sqrt();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < bound, "{rows}x{n}x{k}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn the_simd_kernel_and_the_portable_loop_sum_the_same_integers() {
        if !has_fast_kernel() {
            return; // nothing to compare with on this CPU
        }
        let mut seed = 3;
        let quads = 29;
        let stride = quads * 4 + 8;
        let a: Vec<u8> = (0..TILE_ROWS * stride)
            .map(|_| ((lcg(&mut seed) + 1.0) * 127.0) as u8)
            .collect();
        let w: Vec<i8> = (0..GROUPS_PER_TILE * quads * QUAD_BYTES)
            .map(|_| (lcg(&mut seed) * 127.0) as i8)
            .collect();
        for rows in 1..=TILE_ROWS {
            let mut fast = [[0i32; TILE_COLS]; TILE_ROWS];
            let mut slow = [[0i32; TILE_COLS]; TILE_ROWS];
            dot_tile(true, rows, &a, stride, &w, quads, &mut fast);
            dot_tile(false, rows, &a, stride, &w, quads, &mut slow);
            assert_eq!(fast[..rows], slow[..rows], "{rows} rows");
        }
    }

    #[test]
    fn the_epilogue_applies_activation_residual_and_norm_in_order() {
        let (rows, n, k) = (5, 6, 8);
        let mut seed = 11;
        let x: Vec<f32> = (0..rows * k).map(|_| lcg(&mut seed)).collect();
        let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut seed)).collect();
        let b = vec![0.1; n];
        let res: Vec<f32> = (0..rows * n).map(|_| lcg(&mut seed)).collect();
        let norm = Norm {
            weight: vec![2.0; n],
            bias: vec![0.5; n],
            eps: 1e-12,
        };
        let layer = Int8Linear::new(&w, b, n, k);
        let plain = layer.forward(&x, rows, Epilogue::PLAIN);
        let got = layer.forward(
            &x,
            rows,
            Epilogue {
                activation: Activation::Relu,
                residual: Some(&res),
                norm: Some(&norm),
            },
        );
        let mut want: Vec<f32> = plain
            .iter()
            .zip(&res)
            .map(|(p, r)| p.max(0.0) + r)
            .collect();
        norm.apply(&mut want);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
        // each normalised row has mean 0.5 and spread 2 (weight 2, bias 0.5)
        for row in got.chunks(n) {
            let mean = row.iter().sum::<f32>() / n as f32;
            assert!((mean - 0.5).abs() < 1e-4, "{mean}");
        }
    }

    #[test]
    fn fast_exp_erf_and_gelu_match_the_library() {
        for i in -2000..=2000 {
            let x = i as f32 / 100.0;
            let e = exp(x);
            let want = x.exp();
            assert!(
                (e - want).abs() <= 4e-7 * want,
                "exp({x}) = {e}, want {want}"
            );
        }
        let mut xs: Vec<f32> = (-600..=600).map(|i| i as f32 / 100.0).collect();
        let orig = xs.clone();
        Activation::GeluErf.apply(&mut xs);
        for (g, x) in xs.iter().zip(&orig) {
            // erf from its series for |x| < 3, or ±1 (|erf − 1| < 2e-5 beyond)
            let want = 0.5 * x * (1.0 + erf_reference(x / std::f32::consts::SQRT_2));
            assert!(
                (g - want).abs() < 1e-6 * (1.0 + x.abs()),
                "gelu({x}) = {g}, want {want}"
            );
        }
        let mut row = vec![1.0, 2.0, 3.0, -1e4];
        softmax_rows(&mut row, 4);
        let total: f32 = row.iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!(row[2] > row[1] && row[1] > row[0] && row[3] < 1e-30);
    }

    /// erf by its Maclaurin series in f64 (|x| ≤ 4.3 here).
    fn erf_reference(x: f32) -> f32 {
        let x = f64::from(x);
        let mut term = x;
        let mut total = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            total += term / (2 * n + 1) as f64;
        }
        (total * 2.0 / std::f64::consts::PI.sqrt()) as f32
    }
}
