//! Dense and hybrid search with the real embedding model, on the fictional sample corpus.

use crate::{leian_model_ok, leian_with_model, model_dir, path_str, repo};
use serde_json::Value;

fn charges(hit: &Value) -> Vec<String> {
    hit["charges"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// One test, steps in order: they share an index whose embeddings cost real model time.
#[test]
fn dense_and_hybrid_search_with_the_real_model() {
    let Some(_) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = path_str(&index);
    // a cache under target/ keeps reruns fast; one test only writes it (no concurrent writers)
    let cache = repo().join("target/test-embed-cache");
    let cache = path_str(&cache);
    let sample = repo().join("sample");
    let out = leian_model_ok(&[
        "ingest",
        path_str(&sample),
        "--index",
        idx,
        "--embed-cache",
        cache,
    ]);
    assert!(out.contains("embedded "), "{out}");

    // re-ingesting unchanged cases computes nothing: every chunk comes from the cache
    let out = leian_model_ok(&[
        "ingest",
        path_str(&sample),
        "--index",
        idx,
        "--embed-cache",
        cache,
    ]);
    assert!(out.contains(" 0 computed"), "{out}");

    let search = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec![
            "search",
            "--index",
            idx,
            "--embed-cache",
            cache,
            "--json",
            "--explain",
            // this test is about the fused lists themselves
            "--ranking",
            "fusion",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&leian_model_ok(&args)).unwrap()
    };

    // dense finds theft told in other words (偷走 vs 窃取/扒窃)
    let dense = search(&[
        "--mode",
        "dense",
        "--top-k",
        "3",
        "趁被害人不注意，偷偷拿走了他的手机",
    ]);
    assert_eq!(dense.len(), 3);
    assert!(
        charges(&dense[0]).iter().any(|c| c == "盗窃罪"),
        "{dense:?}"
    );
    assert!(dense[0]["explain"]["dense"]["score"].as_f64().unwrap() > 0.5);
    assert!(
        dense[0]["explain"]["bm25"].is_null(),
        "dense mode reads no BM25 list"
    );

    // hybrid explains both lists and the fused score, best first
    let hybrid = search(&["--top-k", "5", "醉酒后驾驶小型轿车被交警查获"]);
    assert!(
        charges(&hybrid[0]).iter().any(|c| c == "危险驾驶罪"),
        "{hybrid:?}"
    );
    assert!(hybrid
        .iter()
        .any(|h| !h["explain"]["bm25"].is_null() && !h["explain"]["dense"].is_null()));
    let fused: Vec<f64> = hybrid
        .iter()
        .map(|h| h["explain"]["fused"].as_f64().unwrap())
        .collect();
    assert!(fused.windows(2).all(|w| w[0] >= w[1]), "{fused:?}");
    assert_eq!(hybrid[0]["explain"]["mode"], "hybrid");

    // weighted fusion with alpha = 1 ranks like dense alone
    let weighted = search(&[
        "--alpha",
        "1",
        "--top-k",
        "3",
        "趁被害人不注意，偷偷拿走了他的手机",
    ]);
    let ids = |v: &[Value]| v.iter().map(|h| h["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&weighted), ids(&dense));

    // dense honours the same filters as BM25 (a theft query over civil cases: nothing
    // there is on point, so the relevance floor is off for this check)
    let civil = search(&[
        "--mode",
        "dense",
        "--category",
        "civil",
        "--floor",
        "0",
        "偷走手机",
    ]);
    assert!(!civil.is_empty());
    for h in &civil {
        let case: Value = serde_json::from_str(&leian_model_ok(&[
            "search",
            "--index",
            idx,
            "--json",
            "--mode",
            "bm25",
            "--top-k",
            "1",
            h["title"].as_str().unwrap(),
        ]))
        .unwrap();
        assert_eq!(case[0]["id"], h["id"]);
    }
    assert!(
        civil.iter().all(|h| charges(h)
            .iter()
            .all(|c| c.ends_with("纠纷") || c == "劳动争议")),
        "{civil:?}"
    );

    // similar: a drunk-driving case's neighbours are drunk-driving cases (the sample has
    // six), its paraphrased twin among them; never the case itself
    let out = leian_model_ok(&[
        "similar",
        "sample:023",
        "--index",
        idx,
        "--embed-cache",
        cache,
        "--mode",
        "dense",
        "--json",
        "--top-k",
        "5",
    ]);
    let similar: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(similar.iter().all(|h| h["id"] != "sample:023"));
    assert!(
        similar
            .iter()
            .take(3)
            .all(|h| charges(h).iter().any(|c| c == "危险驾驶罪")),
        "{similar:?}"
    );
    assert!(
        similar.iter().any(|h| h["id"] == "sample:024"),
        "{similar:?}"
    );

    // a missing model: one clear warning, BM25 answers
    let missing = dir.path().join("no-model");
    let out = leian_with_model(&[
        "search",
        "--index",
        idx,
        "--model",
        path_str(&missing),
        "--json",
        "盗窃",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("leian model fetch").count(), 1, "{stderr}");
    let hits: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!hits.is_empty());
}

/// `leian embed --shard`: two shards embedded by two processes at once into one cache
/// directory (each its own part file) make an ingest compute nothing, and the index is
/// the same as one built by a single process computing every vector.
#[test]
fn two_embedding_shards_in_two_processes_give_the_same_index_as_one() {
    let Some(_) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sample = repo().join("sample");
    let sharded_cache = dir.path().join("sharded-cache");
    let spawn = |shard: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_leian"))
            .args([
                "embed",
                path_str(&sample),
                "--shard",
                shard,
                "--embed-cache",
                path_str(&sharded_cache),
            ])
            .current_dir(repo())
            .env("RUST_LOG", "warn")
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("0/2"));
        let b = s.spawn(|| spawn("1/2"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut sharded_cases = 0;
    for out in [a, b] {
        let out = out.expect("leian embed runs");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // "shard i/n: K of N cases ..."
        let k: usize = stdout
            .split(": ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(k > 0, "each shard has cases: {stdout}");
        sharded_cases += k;
    }
    let parts = std::fs::read_dir(&sharded_cache).unwrap().count();
    assert_eq!(parts, 2, "one part file per shard");

    let sharded = dir.path().join("sharded");
    let out = leian_model_ok(&[
        "ingest",
        path_str(&sample),
        "--index",
        path_str(&sharded),
        "--embed-cache",
        path_str(&sharded_cache),
    ]);
    assert!(
        out.contains(" 0 computed"),
        "every chunk is a cache hit: {out}"
    );
    let ingested: usize = out
        .split("ingested ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        sharded_cases, ingested,
        "the shards split the cases, none twice"
    );

    let single = dir.path().join("single");
    let out = leian_model_ok(&[
        "ingest",
        path_str(&sample),
        "--index",
        path_str(&single),
        "--embed-cache",
        path_str(&dir.path().join("single-cache")),
    ]);
    assert!(!out.contains(" 0 computed"), "{out}");
    let dense = |index: &std::path::Path, q: &str| -> Vec<(String, f64)> {
        let v: Vec<Value> = serde_json::from_str(&leian_model_ok(&[
            "search",
            "--index",
            path_str(index),
            "--mode",
            "dense",
            "--ranking",
            "fusion",
            "--floor",
            "0",
            "--json",
            "--top-k",
            "10",
            q,
        ]))
        .unwrap();
        v.iter()
            .map(|h| {
                (
                    h["id"].as_str().unwrap_or_default().to_string(),
                    h["score"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect()
    };
    for q in [
        "趁被害人不注意，偷偷拿走了他的手机",
        "借款到期后未归还本金和利息",
    ] {
        let (a, b) = (dense(&sharded, q), dense(&single, q));
        assert_eq!(a.len(), 10);
        let ids = |v: &[(String, f64)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b), "{q}");
        for (x, y) in a.iter().zip(&b) {
            assert!((x.1 - y.1).abs() < 1e-5, "{q}: {x:?} vs {y:?}");
        }
    }
    // a bad shard is a clear error
    let out = crate::leian(&["embed", path_str(&sample), "--shard", "2/2"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 ≤ i < n"));
}
