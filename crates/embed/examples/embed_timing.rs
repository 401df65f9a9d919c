//! Rough timings for the imported model (not a benchmark harness):
//! load time, ms per short sentence, s per 512-token chunk, chunks/s in
//! batches of 8 and 16, and tokenizer cost per text.
//!
//! `cargo run --release -p leian-embed --example embed_timing -- models/e5-small`

use std::time::Instant;

use leian_embed::{Embedder, EmbedderOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models/e5-small".to_owned());
    let dir = std::path::Path::new(&dir);

    println!(
        "candle threads: {} (available parallelism {})",
        candle_core::utils::get_num_threads(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let t = Instant::now();
    let e = Embedder::load(dir)?;
    println!(
        "load: {:.2} s ({})",
        t.elapsed().as_secs_f64(),
        e.model_id()
    );

    let short = "被告人盗窃他人财物价值三千元";
    e.embed_passages(&[short])?; // warm-up
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        e.embed_passages(&[short])?;
    }
    println!(
        "short sentence: {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );

    let t = Instant::now();
    for _ in 0..n {
        e.token_ids(&format!("passage: {short}"))?;
    }
    println!(
        "tokenize short sentence: {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );

    // A passage that truncates to exactly the 512-token limit.
    let long = "被告人于某日在某地窃取他人财物，价值人民币三千元，后被公安机关抓获。".repeat(40);
    let ids = e.token_ids(&format!("passage: {long}"))?;
    println!("long chunk: {} tokens after truncation", ids.len());
    let t = Instant::now();
    for _ in 0..3 {
        e.embed_passages(&[&long])?;
    }
    println!("512-token chunk: {:.2} s", t.elapsed().as_secs_f64() / 3.0);

    for batch in [8, 16] {
        let eb = Embedder::load_with(
            dir,
            EmbedderOptions {
                batch_size: batch,
                ..EmbedderOptions::default()
            },
        )?;
        let texts: Vec<String> = (0..batch).map(|i| format!("{i}{long}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let t = Instant::now();
        eb.embed_passages(&refs)?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "batch of {batch} × 512 tokens: {:.2} s, {:.2} chunks/s",
            secs,
            batch as f64 / secs
        );
    }
    Ok(())
}
