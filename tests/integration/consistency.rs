//! The consistency check (裁判偏离预警) end to end: `POST /v1/consistency` on a real server
//! and `leian check` on the real binary, both over the fictional sample corpus (BM25-only).
//! The sample has eleven decided thefts (terms 0–42 months) and guiding case 901 on theft.

use crate::server_api::start;
use crate::{leian_ok, path_str, sample_index, shared_data};
use serde_json::{json, Value};

const THEFT_FACTS: &str = "被告人李某在公交车站趁乘客拥挤之机，扒窃被害人背包内的手机一部，价值人民币2500元，被当场抓获。李某到案后如实供述自己的罪行，手机已发还被害人。";

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn f64_of(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

#[test]
fn consistency_api_compares_with_same_charge_cases_and_grades_the_term() {
    let f = start(true, None);
    let body = |term: u32| {
        json!({
            "facts": THEFT_FACTS,
            "charges": ["盗窃罪"],
            "statutes": [{"law": "刑法", "article": 264}],
            "proposed_term_months": term
        })
    };
    let r = f.post("/v1/consistency", &f.judge_a, &body(12));
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let similar = v["similar"].as_array().expect("similar");
    assert!(similar.len() >= 8, "{} similar cases", similar.len());
    // what ran is the engine's answer: the default legal ranking, its mode named
    assert_eq!(v["ran"]["ranking"], "legal", "{}", v["ran"]);
    assert_eq!(v["ran"]["mode"], v["mode"]);
    assert!(v["ran"]["ranker"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(
        v["exact_charges"], true,
        "the sample has enough thefts alone"
    );
    for s in similar {
        assert!(
            strs(&s["charges"]).contains(&"盗窃罪".to_string()),
            "not a theft: {s}"
        );
        assert!(s["similarity"].as_f64().expect("similarity") <= 1.0);
    }
    let d = &v["distribution"];
    let (q1, median, q3) = (
        f64_of(d, "q1_months"),
        f64_of(d, "median_months"),
        f64_of(d, "q3_months"),
    );
    let (min, max) = (f64_of(d, "min_months"), f64_of(d, "max_months"));
    assert!(
        min <= q1 && q1 <= median && median <= q3 && q3 <= max,
        "{d}"
    );
    assert_eq!(
        d["n"].as_u64(),
        Some(d["terms_months"].as_array().expect("terms").len() as u64)
    );
    // the level follows the stated rule on the returned numbers
    let expected = if (q1..=q3).contains(&12.0) {
        "none"
    } else {
        "notice"
    };
    assert_eq!(v["warning"], expected, "{}", v["reasons"]);
    assert!(!strs(&v["reasons"]).is_empty());
    assert!(v["rule"].as_str().expect("rule").contains("四分位"));

    // ten times the usual term is far outside the range: a warning, said in words
    let r = f.post("/v1/consistency", &f.judge_a, &body(240)).json();
    assert_eq!(r["warning"], "warning", "{}", r["reasons"]);
    assert_eq!(r["percentile"].as_f64(), Some(100.0));
    assert!(strs(&r["reasons"]).iter().any(|s| s.contains("偏离预警")));

    // guiding case 901 (theft) is on point and not cited; citing it flips the flag
    let guiding = v["guiding"].as_array().expect("guiding");
    let g901 = guiding
        .iter()
        .find(|g| g["number"] == 901)
        .unwrap_or_else(|| panic!("guiding 901 missing: {guiding:?}"));
    assert_eq!(g901["cited_by_draft"], false);
    assert!(strs(&v["reasons"]).iter().any(|s| s.contains("第901号")));
    let mut cited = body(12);
    cited["reasoning"] = json!("参照指导性案例第901号。");
    let r = f.post("/v1/consistency", &f.judge_a, &cited).json();
    let g = r["guiding"]
        .as_array()
        .expect("guiding")
        .iter()
        .find(|g| g["number"] == 901)
        .cloned()
        .expect("901");
    assert_eq!(g["cited_by_draft"], true);

    // statutes: 264 is cited by the draft, 67 (坦白/自首) by most thefts but not the draft
    let statutes = v["statutes"].as_array().expect("statutes");
    let find = |name: &str| statutes.iter().find(|s| s["statute"] == name).cloned();
    assert_eq!(find("刑法第264条").expect("264")["cited_by_draft"], true);
    assert_eq!(find("刑法第67条").expect("67")["cited_by_draft"], false);

    // circumstances: the draft's 如实供述, and each similar case's own
    let draft_c: Vec<String> = v["draft_circumstances"]
        .as_array()
        .expect("draft circumstances")
        .iter()
        .map(|c| c["code"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(draft_c.contains(&"confession".to_string()), "{draft_c:?}");
    assert!(similar
        .iter()
        .any(|s| !s["circumstances"].as_array().expect("c").is_empty()));
    // like with like: the thefts that also have 坦白, with their own median
    let like = &v["same_circumstances"];
    let like_ids = strs(&like["ids"]);
    assert!(!like_ids.is_empty(), "{like}");
    for id in &like_ids {
        let case = similar
            .iter()
            .find(|s| s["id"] == id.as_str())
            .expect("a similar case");
        assert!(
            case["circumstances"]
                .as_array()
                .expect("c")
                .iter()
                .any(|c| c["code"] == "confession"),
            "{case}"
        );
    }
    assert!(strs(&v["reasons"]).iter().any(|s| s.contains("情节相同")));

    // every check is in the audit log with the cases it used
    let audit = f.get("/v1/audit?action=consistency", &f.admin).json();
    let rows = audit.as_array().expect("audit rows");
    assert_eq!(rows.len(), 3, "{audit}");
    assert!(rows[0]["query"].as_str().unwrap_or("").contains("扒窃"));
}

#[test]
fn consistency_api_rejects_bad_drafts_and_missing_keys() {
    let f = start(true, None);
    let r = f.post(
        "/v1/consistency",
        "not-a-key",
        &json!({"facts": "盗窃", "proposed_term_months": 3}),
    );
    assert_eq!(r.status, 401);
    for bad in [
        json!({"facts": "  ", "charges": []}),
        json!({"facts": "盗窃手机", "top_k": 0}),
        json!({"facts": "盗窃手机", "proposed_term": 3}),
        json!({"facts": "盗窃手机", "proposed_penalty": "flogging"}),
        // past what the schema says (schemathesis found 2^31 accepted as a case number)
        json!({"facts": "盗窃手机", "cited_guiding": [24, 2_147_483_648_u64]}),
        json!({"facts": "盗窃手机", "cited_guiding": [0]}),
        json!({"facts": "盗窃手机", "proposed_term_months": 601}),
        json!({"facts": "盗窃手机", "proposed_probation_months": 4_000_000_000_u64}),
        json!({"facts": "盗窃手机", "proposed_fine_yuan": 1_000_000_000_001_u64}),
    ] {
        let r = f.post("/v1/consistency", &f.judge_a, &bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.error_code(), "invalid_request", "{bad}: {}", r.body);
    }
    // no charges: compared with any decided case, and the reasons say so
    let r = f.post(
        "/v1/consistency",
        &f.judge_a,
        &json!({"facts": THEFT_FACTS, "proposed_term_months": 6}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(strs(&r.json()["reasons"])
        .iter()
        .any(|s| s.contains("未列罪名")));
    let doc = f.get("/v1/openapi.json", &f.judge_a).json();
    assert!(doc["paths"]["/v1/consistency"]["post"].is_object());
    let body = &doc["components"]["schemas"]["ConsistencyBody"]["properties"];
    assert_eq!(body["cited_guiding"]["items"]["maximum"], 9999, "{body}");
    assert_eq!(body["proposed_term_months"]["maximum"], 600, "{body}");
    // the bounds hold on the accepting side too
    let ok = json!({"facts": THEFT_FACTS, "charges": ["盗窃罪"], "cited_guiding": [9999],
        "proposed_term_months": 600, "proposed_fine_yuan": 1_000_000_000_000_u64});
    let r = f.post("/v1/consistency", &f.judge_a, &ok);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn consistency_leaves_out_cases_the_caller_may_not_see() {
    let f = start(true, None);
    let body = json!({"facts": THEFT_FACTS, "charges": ["盗窃罪"], "proposed_term_months": 12, "top_k": 20});
    let ids = |v: &Value| -> Vec<String> {
        v["similar"]
            .as_array()
            .expect("similar")
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_string))
            .collect()
    };
    let before = ids(&f.post("/v1/consistency", &f.judge_a, &body).json());
    let sealed = before.first().expect("a similar theft").clone();
    let r = f.put(
        &format!("/v1/admin/cases/{sealed}/visibility"),
        &f.admin,
        &json!({"courts": ["乙法院"]}),
    );
    assert!(r.status < 300, "{}", r.body);
    let a = ids(&f.post("/v1/consistency", &f.judge_a, &body).json());
    assert!(
        !a.contains(&sealed),
        "甲法院 no longer sees {sealed}: {a:?}"
    );
    assert_eq!(a.len() + 1, before.len(), "only the sealed case is gone");
    let b = ids(&f.post("/v1/consistency", &f.judge_b, &body).json());
    assert!(b.contains(&sealed), "乙法院 still compares with {sealed}");
}

#[test]
fn leian_check_reads_json_and_plain_text_drafts() {
    let index = sample_index();
    let dir = tempfile::tempdir().expect("tempdir");
    let draft = dir.path().join("draft.json");
    std::fs::write(
        &draft,
        json!({"facts": THEFT_FACTS, "charges": ["盗窃罪"], "proposed_term_months": 240})
            .to_string(),
    )
    .expect("write");
    let out = leian_ok(&[
        "check",
        "--index",
        path_str(index.path()),
        "--file",
        path_str(&draft),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(v["warning"], "warning");
    assert!(v["distribution"]["n"].as_u64().unwrap_or(0) >= 8);

    let text = dir.path().join("draft.txt");
    std::fs::write(
        &text,
        format!("经审理查明，{THEFT_FACTS}本院认为，被告人李某以非法占有为目的，扒窃他人财物，其行为已构成盗窃罪。判决如下：被告人李某犯盗窃罪，判处有期徒刑十个月，并处罚金人民币三千元。"),
    )
    .expect("write");
    let out = leian_ok(&[
        "check",
        "--index",
        path_str(index.path()),
        "--file",
        path_str(&text),
    ]);
    assert!(out.starts_with("consistency: "), "{out}");
    assert!(out.contains("charges: 盗窃罪"), "{out}");
    assert!(out.contains("拟判刑期10个月"), "{out}");
}

/// The evaluation on the real CAIL2018 terms runs and prints both predictors side by side
/// on the same cases (numbers in the README; here only that they are sane).
#[test]
fn eval_consistency_compares_the_check_with_the_per_charge_median_on_cail2018() {
    let Some(data) = shared_data() else {
        return;
    };
    let index = tempfile::tempdir().expect("tempdir");
    let out = leian_ok(&[
        "eval",
        "consistency",
        "--data",
        path_str(&data.join("cail2018/facts.jsonl")),
        "--index",
        path_str(index.path()),
    ]);
    let rows: Vec<Vec<String>> = out
        .lines()
        .filter(|l| l.starts_with("| per-charge") || l.starts_with("| the check"))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    // | name | k | power | rule | n | MAE | within | warning | warning where n ≥ min | notice |
    assert_eq!(
        rows[0][5], rows[1][5],
        "both evaluated on the same cases:\n{out}"
    );
    let n: usize = rows[0][5].parse().expect("n");
    assert!(
        n > 300,
        "most of the 441 facts with terms are evaluated: {n}"
    );
    for r in &rows {
        let mae: f64 = r[6].parse().expect("MAE");
        assert!(
            mae > 1.0 && mae < 120.0,
            "MAE {mae} months is plausible:\n{out}"
        );
        let warning: f64 = r[8].trim_end_matches('%').parse().expect("warning share");
        assert!((0.0..=100.0).contains(&warning));
    }
}

/// `leian eval consistency` measures the check itself: for the same draft, with the same
/// case out of sight, its neighbours are the ones `POST /v1/consistency` compares with.
#[test]
fn the_consistency_evaluation_picks_the_checks_neighbours() {
    use leian_engine::{Engine, EngineOptions, SearchMode};
    use leian_harness::consistency::{neighbours, Asked, ChargeMatch, Labelled};
    let f = start(true, None);
    let probe = json!({"facts": THEFT_FACTS, "charges": ["盗窃罪"], "mode": "bm25"});
    let first = f.post("/v1/consistency", &f.judge_a, &probe).json()["similar"][0]["id"]
        .as_str()
        .expect("a similar theft")
        .to_string();
    let engine = Engine::open(&EngineOptions {
        index_dir: f.index_dir().to_path_buf(),
        ..EngineOptions::default()
    })
    .expect("engine");
    let case = engine
        .get(&leian_ingest::CaseId::new(first.clone()))
        .expect("get")
        .expect("the case");
    let term = f64::from(case.sentence.term_months.expect("a term"));
    // the evaluation leaves the case out; for 甲法院 it is out of sight the same way
    let r = f.put(
        &format!("/v1/admin/cases/{first}/visibility"),
        &f.admin,
        &json!({"courts": ["乙法院"]}),
    );
    assert!(r.status < 300, "{}", r.body);
    let body = json!({"facts": case.fact_text(), "charges": case.charges, "mode": "bm25"});
    let v = f.post("/v1/consistency", &f.judge_a, &body).json();
    let served: Vec<String> = v["similar"]
        .as_array()
        .expect("similar")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    let asked = Asked {
        mode: SearchMode::Bm25,
        k: leian_consistency::CheckOptions::default().top_k,
        charge_match: ChargeMatch::PreferExact,
        rule: leian_consistency::WarningRule::default(),
    };
    let found = neighbours(&engine, &[Labelled { case, term }], &asked).expect("neighbours");
    let evaluated: Vec<String> = found[0]
        .as_ref()
        .expect("neighbours")
        .iter()
        .map(|(id, _, _)| id.clone())
        .collect();
    assert!(served.len() >= 5, "{served:?}");
    assert!(!served.contains(&first));
    assert_eq!(evaluated, served);
}
