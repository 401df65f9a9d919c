//! `leian ingest`, `leian search`, `leian similar` on the fictional sample corpus.

use crate::{leian, leian_ok, path_str, repo, sample_index};
use serde_json::Value;

fn search_json(index: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["search", "--index", path_str(index), "--json"];
    args.extend_from_slice(extra);
    let out = leian_ok(&args);
    serde_json::from_str::<Vec<Value>>(&out).expect("search --json prints a JSON array")
}

fn count_sample_lines() -> usize {
    ["cases.jsonl", "guiding_cases.jsonl", "typical_cases.jsonl"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(repo().join("sample").join(f))
                .expect("sample file")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        })
        .sum::<usize>()
        + std::fs::read_dir(repo().join("sample/judgments"))
            .expect("sample judgments")
            .count()
}

/// Commands that read an index refuse a dir that holds none — a missing one, or an
/// existing dir without an index — and make no empty index there.
#[test]
fn reading_commands_refuse_a_dir_without_an_index_and_create_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("typo");
    for index in [dir.path(), missing.as_path()] {
        for args in [
            vec!["search", "--index", path_str(index), "盗窃"],
            vec!["stats", "--index", path_str(index)],
        ] {
            let out = leian(&args);
            assert!(!out.status.success(), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("no index at"), "{args:?}: {err}");
            assert!(!index.join("CURRENT").exists(), "{args:?} made an index");
        }
    }
    assert!(!missing.exists());
}

#[test]
fn ingest_sample_reports_counts_and_reingest_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo().join("sample");
    let expected = count_sample_lines();
    let out = leian_ok(&["ingest", path_str(&sample), "--index", path_str(dir.path())]);
    assert!(
        out.contains(&format!("ingested {expected} cases")),
        "want {expected} cases in: {out}"
    );
    assert!(out.contains("skipped 0 records"), "{out}");
    // the same files again: replaced, not duplicated
    let out = leian_ok(&["ingest", path_str(&sample), "--index", path_str(dir.path())]);
    assert!(
        out.contains(&format!("index now holds {expected} cases")),
        "{out}"
    );
}

#[test]
fn bad_records_are_reported_with_file_and_line_and_the_rest_goes_in() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":"t:1","title":"张某盗窃案（虚构）","full_text":"被告人张某于2021年5月在超市窃取白酒两瓶。","category":"criminal","charges":["盗窃罪"]}"#,
            "\n",
            "{broken json\n",
            r#"{"id":"t:3","title":"李某诈骗案（虚构）","date":"2021-02-30","sections":{"facts":"李某冒充客服骗取钱款。"}}"#,
            "\n",
            r#"{"id":"t:4","title":"王某危险驾驶案（虚构）","sections":{"facts":"王某醉酒驾驶机动车被查获。"},"category":"criminal","charges":["危险驾驶罪"]}"#,
            "\n"
        ),
    )
    .unwrap();
    let index = dir.path().join("idx");
    let out = leian(&[
        "ingest",
        path_str(&file),
        "--index",
        path_str(&index),
        "--format",
        "jsonl",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("ingested 2 cases"), "{stdout}");
    assert!(stdout.contains("skipped 2 records"), "{stdout}");
    assert!(stderr.contains("mixed.jsonl:2"), "{stderr}");
    assert!(stderr.contains("mixed.jsonl:3"), "{stderr}");
    assert!(
        stderr.contains("date"),
        "the bad date names the field: {stderr}"
    );
    let hits = search_json(&index, &["醉酒驾驶"]);
    assert_eq!(hits[0]["id"], "t:4");
}

#[test]
fn search_finds_theft_by_partial_word_with_highlight() {
    let index = sample_index();
    let hits = search_json(index.path(), &["盗窃", "--top-k", "5"]);
    assert!(!hits.is_empty());
    for h in &hits {
        let charges: Vec<&str> = h["charges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(
            charges.iter().any(|c| c.contains("盗窃")),
            "top hits for 盗窃 should be theft cases: {h}"
        );
    }
    let snippet = hits[0]["snippet"].as_str().unwrap_or_default();
    assert!(snippet.contains("<mark>"), "snippet highlights: {snippet}");
}

#[test]
fn filters_restrict_results() {
    let index = sample_index();
    let civil = search_json(index.path(), &["--category", "civil", "借款 利息 偿还"]);
    assert!(!civil.is_empty());
    let guiding = search_json(index.path(), &["--tier", "guiding", "盗窃"]);
    assert!(!guiding.is_empty());
    assert!(
        guiding.iter().all(|h| h["tier"] == "guiding"),
        "{guiding:?}"
    );
    let recent = search_json(index.path(), &["--year-from", "2024", "盗窃"]);
    assert!(recent
        .iter()
        .all(|h| h["date"].as_str().map(|d| d >= "2024").unwrap_or(false)));
    let by_charge = search_json(index.path(), &["--charge", "诈骗罪", "被告人"]);
    assert!(!by_charge.is_empty());
    assert!(by_charge.iter().all(|h| h["charges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "诈骗罪")));
}

#[test]
fn human_output_shows_case_fields() {
    let index = sample_index();
    let out = leian_ok(&[
        "search",
        "--index",
        path_str(index.path()),
        "醉酒驾驶机动车",
    ]);
    assert!(out.contains("危险驾驶罪"), "{out}");
    assert!(out.contains("人民法院"), "court shown: {out}");
    assert!(out.contains("号"), "案号 shown: {out}");
}

#[test]
fn similar_excludes_the_case_itself() {
    let index = sample_index();
    let hits = search_json(index.path(), &["醉酒驾驶"]);
    let id = hits[0]["id"].as_str().unwrap().to_string();
    let out = leian_ok(&["similar", &id, "--index", path_str(index.path()), "--json"]);
    let similar: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(!similar.is_empty());
    assert!(similar.iter().all(|h| h["id"] != id.as_str()));
}

#[test]
fn search_without_index_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = leian(&["search", "--index", path_str(&missing), "盗窃"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("leian ingest"), "{err}");
}

#[test]
fn authority_order_puts_guiding_cases_first() {
    let index = sample_index();
    // this test is about ordering: the relevance floor is off
    let plain = search_json(
        index.path(),
        &["--top-k", "10", "--floor", "0", "被告人盗窃他人财物"],
    );
    let ordered = search_json(
        index.path(),
        &[
            "--top-k",
            "10",
            "--floor",
            "0",
            "--authority-order",
            "被告人盗窃他人财物",
        ],
    );
    assert!(
        plain[0]["tier"] != "guiding",
        "the sample's best textual match is a judgment, so ordering has work to do: {plain:?}"
    );
    assert_eq!(ordered[0]["tier"], "guiding", "{ordered:?}");
    assert_eq!(ordered[0]["must_follow"], true);
    let rank = |t: &Value| match t.as_str() {
        Some("guiding") => 0,
        Some("typical") => 1,
        Some("higher_court") => 2,
        Some("same_court") => 3,
        _ => 4,
    };
    let tiers: Vec<i32> = ordered.iter().map(|h| rank(&h["tier"])).collect();
    assert!(tiers.windows(2).all(|w| w[0] <= w[1]), "{tiers:?}");
}
