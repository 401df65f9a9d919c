//! f32 vs int8 encoder on the real model: cosine per text and time per text.
//! `cargo run -p leian-embed --example int8_check -- models/e5-small [file with one text per line]`
//! (BENCHMARKS.md: 500 LeCaRD candidate facts cut at 480 characters.)
use std::time::Instant;

use leian_embed::{Embedder, EmbedderOptions, Precision};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models/e5-small".to_owned());
    let texts: Vec<String> = match std::env::args().nth(2) {
        Some(f) => std::fs::read_to_string(f)?
            .lines()
            .map(str::to_owned)
            .collect(),
        None => vec![
            "被告人盗窃他人财物价值三千元".into(),
            "原告与被告因房屋租赁合同发生纠纷".into(),
        ],
    };
    let load = |p| {
        Embedder::load_with(
            std::path::Path::new(&dir),
            EmbedderOptions {
                precision: p,
                ..EmbedderOptions::default()
            },
        )
    };
    let f = load(Precision::F32)?;
    let q = load(Precision::Int8)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // warm both up (first-call allocations) before timing
    for e in [&f, &q] {
        e.embed_passages(&refs[..1])?;
    }
    let t = Instant::now();
    let vf = f.embed_passages(&refs)?;
    let tf = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let vq = q.embed_passages(&refs)?;
    let tq = t.elapsed().as_secs_f64();
    let mut cos: Vec<f32> = vf
        .iter()
        .zip(&vq)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
        .collect();
    cos.sort_by(f32::total_cmp);
    println!(
        "{} texts: f32 {:.3} s, int8 {:.3} s ({:.2}x); cosine min {:.5} median {:.5}",
        texts.len(),
        tf,
        tq,
        tf / tq,
        cos[0],
        cos[cos.len() / 2]
    );
    for (name, e) in [("f32", &f), ("int8", &q)] {
        let mut per: Vec<f64> = refs
            .iter()
            .take(16)
            .map(|t| {
                let s = Instant::now();
                e.embed_queries(&[t])
                    .map(|_| s.elapsed().as_secs_f64() * 1e3)
                    .unwrap_or(f64::NAN)
            })
            .collect();
        per.sort_by(f64::total_cmp);
        println!("{name}: one at a time, median {:.1} ms", per[per.len() / 2]);
    }
    Ok(())
}
