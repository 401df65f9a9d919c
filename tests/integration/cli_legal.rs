//! `leian search --legal`: charges inferred or given, elements and their contributions
//! in `explain`, on the fictional sample corpus (BM25 only).

use crate::{leian, leian_ok, path_str, sample_index};
use serde_json::Value;

fn legal_json(index: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "search",
        "--index",
        path_str(index),
        "--json",
        "--explain",
        "--top-k",
        "5",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&leian_ok(&args)).expect("search --legal --json prints one JSON object")
}

#[test]
fn inferred_charges_and_element_contributions_are_explained() {
    let dir = sample_index();
    let v = legal_json(
        dir.path(),
        &[
            "--legal",
            "all",
            "被告人在公交站台趁被害人不备，从其背包内窃取手机一部，价值人民币3000元，系累犯。",
        ],
    );
    let q = &v["query"];
    assert_eq!(q["charges_given"], false);
    let inferred = q["inferred"].as_array().expect("inferred charges");
    assert!(
        inferred.iter().any(|c| c["article"] == 264),
        "theft (刑法第264条) inferred: {q}"
    );
    assert!(q["charge_statutes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "刑法第264条"));
    assert_eq!(q["elements"]["quantities"]["money"], 3000.0);
    let hits = v["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 5);
    let top = &hits[0];
    assert!(
        top["elements"]["charges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("盗窃")),
        "a theft ranks first: {top}"
    );
    let features: Vec<&str> = top["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["feature"].as_str().unwrap())
        .collect();
    assert!(features.contains(&"charge"), "{features:?}");
    assert!(features.contains(&"bm25"), "{features:?}");
    // scores are the sums of the contributions shown
    for h in hits {
        let sum: f64 = h["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["contribution"].as_f64().unwrap())
            .sum();
        assert!((sum - h["score"].as_f64().unwrap()).abs() < 1e-4, "{h}");
    }
}

#[test]
fn a_given_charge_outranks_the_words() {
    let dir = sample_index();
    // facts worded like a theft, but the judge says fraud: fraud cases come first
    let v = legal_json(
        dir.path(),
        &[
            "--legal",
            "charges",
            "--legal-charge",
            "诈骗罪",
            "被告人取得被害人手机后离开，价值人民币3000元。",
        ],
    );
    assert_eq!(v["query"]["charges_given"], true);
    let top = &v["hits"][0];
    assert!(
        top["elements"]["charges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("诈骗")),
        "{top}"
    );
    let charge = top["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["feature"] == "charge")
        .expect("the charge feature contributes");
    assert_eq!(charge["value"], 1.0, "{top}");
}

#[test]
fn an_unknown_ranker_file_is_a_clear_error() {
    let dir = sample_index();
    let out = leian(&[
        "search",
        "--index",
        path_str(dir.path()),
        "--legal",
        "no/such/weights.json",
        "盗窃",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no/such/weights.json"), "{err}");
}
