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
