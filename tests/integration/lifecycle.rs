//! Index lifecycle: stats, rebuild while searching, kill -9 during ingest and rebuild,
//! live deletes in every result path, backup/restore, a damaged generation refused, and
//! the admin HTTP endpoints.

use crate::{leian, leian_ok, model_dir, path_str, repo};
use leian_engine::{Engine, EngineOptions, Query, RebuildOptions, SearchMode};
use leian_ingest::CaseId;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHARGES: [&str; 5] = ["盗窃罪", "诈骗罪", "故意伤害罪", "危险驾驶罪", "抢劫罪"];
const PLACES: [&str; 6] = ["超市", "小区", "地铁站", "网吧", "停车场", "菜市场"];
const ITEMS: [&str; 5] = ["手机", "电动车", "现金", "笔记本电脑", "金项链"];

/// A fictional case, distinct per `i` (its facts name a unique number).
fn synthetic_case(i: usize) -> Value {
    let charge = CHARGES[i % CHARGES.len()];
    let facts = format!(
        "被告人甲{i}号于2021年在某市{}实施{}，涉及{}一部，案件编号标记{}号。",
        PLACES[i % PLACES.len()],
        charge.trim_end_matches('罪'),
        ITEMS[i % ITEMS.len()],
        i * 7919
    );
    serde_json::json!({
        "id": format!("syn:{i}"),
        "title": format!("甲{i}{charge}案（虚构）"),
        "category": "criminal",
        "charges": [charge],
        "sections": {"facts": facts},
    })
}

fn write_synthetic(path: &Path, n: usize) {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&synthetic_case(i).to_string());
        text.push('\n');
    }
    std::fs::write(path, text).expect("write synthetic cases");
}

fn bm25_engine(index: &Path) -> Engine {
    Engine::open(&EngineOptions {
        index_dir: index.to_path_buf(),
        ..EngineOptions::default()
    })
    .expect("the index opens")
}

fn generations(index: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(index)
        .expect("index dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    names.sort();
    names
}

fn stats(index: &str) -> Value {
    serde_json::from_str(&leian_ok(&["stats", "--index", index, "--json"])).expect("stats JSON")
}

fn search_json(index: &str, query: &str) -> Vec<(String, String)> {
    let out = leian_ok(&["search", "--index", index, "--json", "--top-k", "10", query]);
    let hits: Vec<Value> = serde_json::from_str(&out).expect("search JSON");
    hits.iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap_or("").to_string(),
                h["score"].to_string(),
            )
        })
        .collect()
}

#[test]
fn stats_contract_and_rebuild_keeps_results() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = path_str(&index);
    leian_ok(&["ingest", path_str(&repo().join("sample")), "--index", idx]);
    let engine = bm25_engine(&index);
    let cases = engine.num_cases();
    drop(engine);
    let s = stats(idx);
    assert_eq!(s["cases"].as_u64(), Some(cases));
    assert_eq!(s["generation"].as_u64(), Some(1));
    assert_eq!(s["tiers"]["guiding"].as_u64(), Some(5), "{s}");
    assert!(s["disk_bytes"].as_u64().unwrap_or(0) > 0);
    assert!(
        s["recent_sources"][0]
            .as_str()
            .unwrap_or("")
            .contains("ingest"),
        "{s}"
    );

    let before = search_json(idx, "盗窃 手机 支付宝");
    assert!(!before.is_empty());
    let out = leian_ok(&["rebuild", "--index", idx]);
    assert!(out.contains("gen-000002 is live"), "{out}");
    let s = stats(idx);
    assert_eq!(s["generation"].as_u64(), Some(2));
    assert_eq!(s["cases"].as_u64(), Some(cases));
    assert_eq!(generations(&index), vec!["gen-000002".to_string()]);
    assert_eq!(search_json(idx, "盗窃 手机 支付宝"), before);
}

#[test]
fn searches_during_rebuild_never_fail_or_mix_generations() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let admin = bm25_engine(&index);
    let n = 1200;
    let mut w = admin.writer().unwrap();
    for i in 0..n {
        w.upsert(serde_json::from_value(synthetic_case(i)).unwrap())
            .unwrap();
    }
    w.commit(&mut |_, _| {}).unwrap();
    // a second engine on the same directory, as a server process would hold it
    let reader = Arc::new(bm25_engine(&index));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<u32>::new()));
    let mut threads = Vec::new();
    for t in 0..3usize {
        let (reader, stop, seen) = (reader.clone(), stop.clone(), seen.clone());
        threads.push(std::thread::spawn(move || -> Result<usize, String> {
            let mut searches = 0;
            let mut i = t;
            while !stop.load(Ordering::SeqCst) {
                // a case's own unique marker must find that case first, in every generation
                let target = (i * 37) % 1200;
                // (the fused ranking: this test is about generations, and a debug build's
                // legal re-ranking of a fresh generation is slow enough to miss the switch)
                let q = Query {
                    mode: SearchMode::Bm25,
                    ranking: leian_engine::Ranking::Fusion,
                    ..Query::new(format!("标记{}号", target * 7919), 5)
                };
                let hits = reader
                    .search(&q)
                    .map_err(|e| format!("search failed: {e}"))?;
                let first = hits.first().ok_or("no hits")?;
                if first.id.as_str() != format!("syn:{target}") {
                    return Err(format!("wrong first hit {} for {target}", first.id));
                }
                if hits.iter().any(|h| h.generation != first.generation) {
                    return Err("one search mixed two generations".into());
                }
                seen.lock().unwrap().push(first.generation);
                searches += 1;
                i += 3;
            }
            Ok(searches)
        }));
    }
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..2 {
        let report = admin
            .rebuild(&RebuildOptions::default(), &mut |_| {})
            .unwrap();
        assert_eq!(report.cases, n as u64);
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::SeqCst);
    let mut total = 0;
    for t in threads {
        total += t.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(total > 10, "only {total} searches ran");
    let seen = seen.lock().unwrap();
    assert!(seen.contains(&1), "searches before the rebuild");
    assert!(
        seen.contains(&3),
        "the other engine switched to the new generation"
    );
    // generations only go forward for one reader
    assert!(seen.windows(2).all(|w| w[0] <= w[1]) || seen.len() > 2);
    drop(seen);
    drop(reader);
    drop(admin);
    let _ = bm25_engine(&index);
    assert_eq!(generations(&index), vec!["gen-000003".to_string()]);
}

/// Spawns `leian ARGS` (BM25 only), kills it with SIGKILL after `delay`, and returns its
/// stdout and whether it was still running when killed.
fn run_and_kill(args: &[&str], delay: Duration) -> (String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leian"))
        .args(args)
        .current_dir(repo())
        .env("LEIAN_NO_MODEL", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn leian");
    std::thread::sleep(delay);
    let running = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill(); // SIGKILL on unix
    let _ = child.wait();
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    (out, running)
}

fn acknowledged(stdout: &str) -> usize {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("committed "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn kill_9_during_ingest_keeps_every_acknowledged_case() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cases.jsonl");
    let n = 20_000;
    write_synthetic(&data, n);
    let mut killed_mid_run = 0;
    for (round, ms) in [150u64, 600, 1500, 3000].into_iter().enumerate() {
        let index = dir.path().join(format!("idx{round}"));
        let (out, running) = run_and_kill(
            &[
                "ingest",
                path_str(&data),
                "--index",
                path_str(&index),
                "--batch",
                "1000",
                "--quiet",
            ],
            Duration::from_millis(ms),
        );
        let acked = acknowledged(&out);
        if running {
            killed_mid_run += 1;
        }
        // the live generation opens and answers, with every acknowledged case
        let engine = bm25_engine(&index);
        let count = engine.num_cases() as usize;
        assert!(
            count >= acked,
            "round {round}: {count} cases < {acked} acknowledged"
        );
        for i in (0..acked).step_by(101).chain(acked.checked_sub(1)) {
            assert!(
                engine
                    .get(&CaseId::new(format!("syn:{i}")))
                    .unwrap()
                    .is_some(),
                "round {round}: acknowledged case syn:{i} lost"
            );
        }
        engine
            .search(&Query {
                mode: SearchMode::Bm25,
                ..Query::new("盗窃 手机", 5)
            })
            .unwrap();
        drop(engine);
        // no stale lock: the next ingest completes
        if round == 0 {
            let out = leian_ok(&[
                "ingest",
                path_str(&data),
                "--index",
                path_str(&index),
                "--quiet",
            ]);
            assert!(out.contains(&format!("index now holds {n} cases")), "{out}");
        }
    }
    assert!(
        killed_mid_run >= 2,
        "the ingest finished too fast to be killed"
    );
}

#[test]
fn kill_9_during_rebuild_leaves_a_live_generation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cases.jsonl");
    let n = 20_000;
    write_synthetic(&data, n);
    let index = dir.path().join("idx");
    let idx = path_str(&index);
    leian_ok(&["ingest", path_str(&data), "--index", idx, "--quiet"]);
    let mut killed_mid_run = 0;
    for ms in [200u64, 1000, 2500] {
        let (_, running) = run_and_kill(&["rebuild", "--index", idx], Duration::from_millis(ms));
        if running {
            killed_mid_run += 1;
        }
        let engine = bm25_engine(&index);
        assert_eq!(engine.num_cases() as usize, n);
        let hits = engine
            .search(&Query {
                mode: SearchMode::Bm25,
                ..Query::new(format!("标记{}号", 4321 * 7919), 3)
            })
            .unwrap();
        assert_eq!(hits[0].id.as_str(), "syn:4321");
        drop(engine);
        // a half-built generation was cleaned up when the index was opened
        assert_eq!(generations(&index).len(), 1, "{:?}", generations(&index));
    }
    assert!(
        killed_mid_run >= 1,
        "the rebuild finished too fast to be killed"
    );
}

#[test]
fn live_delete_is_honoured_by_bm25_dense_hybrid_and_similar() {
    let Some(model) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let open = || {
        Engine::open(&EngineOptions {
            index_dir: index.clone(),
            model_dir: Some(model.clone()),
            cache_dir: Some(repo().join("target/test-embed-cache-lifecycle")),
            max_chunks: Some(1),
            ..EngineOptions::default()
        })
        .unwrap()
    };
    let engine = open();
    let mut w = engine.writer().unwrap();
    for file in ["guiding_cases.jsonl", "typical_cases.jsonl"] {
        for rec in leian_ingest::read_path(
            &repo().join("sample").join(file),
            leian_ingest::Format::Auto,
        )
        .unwrap()
        {
            if let Ok(leian_ingest::Item::Case(c)) = rec {
                w.upsert(*c).unwrap();
            }
        }
    }
    w.commit(&mut |_, _| {}).unwrap();
    assert!(engine.has_dense(), "{:?}", engine.dense_off_reason());
    let other = open(); // as another process would see it
    let victim = CaseId::new("sample-guiding:1");
    let facts = engine
        .get(&victim)
        .unwrap()
        .unwrap()
        .fact_text()
        .to_string();
    let query = |mode| Query {
        mode,
        ..Query::new(facts.clone(), 8)
    };
    for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
        let hits = engine.search(&query(mode)).unwrap();
        assert_eq!(
            hits[0].id, victim,
            "{mode:?} finds the case before the delete"
        );
    }
    let mut w = engine.writer().unwrap();
    w.delete(&victim);
    w.commit(&mut |_, _| {}).unwrap();
    std::thread::sleep(Engine::REFRESH_INTERVAL * 2);
    for e in [&engine, &other] {
        for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
            let hits = e.search(&query(mode)).unwrap();
            assert!(!hits.is_empty(), "{mode:?} finds nothing after the delete");
            assert!(
                hits.iter().all(|h| h.id != victim),
                "{mode:?} still returns it"
            );
            let ranked = e.rank(&query(mode)).unwrap();
            assert!(ranked.iter().all(|(id, _, _)| id != &victim));
        }
        let similar = e
            .similar(&CaseId::new("sample-guiding:2"), &query(SearchMode::Hybrid))
            .unwrap();
        assert!(similar.iter().all(|h| h.id != victim));
        assert!(e.get(&victim).unwrap().is_none());
        assert!(!e.has_vectors(&victim));
    }
    // a rebuild with the model re-embeds from the cache, verifies, and keeps the delete
    let report = engine
        .rebuild(&RebuildOptions::default(), &mut |_| {})
        .unwrap();
    assert_eq!(report.to, "gen-000002");
    assert_eq!(report.chunks_computed, 0, "every chunk came from the cache");
    assert!(report.model_id.is_some());
    let other_id = CaseId::new("sample-guiding:2");
    let other_facts = engine
        .get(&other_id)
        .unwrap()
        .unwrap()
        .fact_text()
        .to_string();
    let hits = engine
        .search(&Query {
            mode: SearchMode::Dense,
            ..Query::new(other_facts, 8)
        })
        .unwrap();
    assert_eq!(hits[0].id, other_id);
    assert_eq!(hits[0].generation, 2);
    assert!(hits.iter().all(|h| h.id != victim));
}

#[test]
fn backup_then_restore_gives_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = path_str(&index);
    leian_ok(&["ingest", path_str(&repo().join("sample")), "--index", idx]);
    leian_ok(&[
        "keys",
        "create",
        "--index",
        idx,
        "--role",
        "judge",
        "--court",
        "甲法院",
    ]);
    let archive = dir.path().join("backup.tar");
    let out = leian_ok(&["backup", "--index", idx, "--out", path_str(&archive)]);
    assert!(out.contains("backed up gen-000001"), "{out}");

    let restored = dir.path().join("restored");
    leian_ok(&[
        "restore",
        "--from",
        path_str(&archive),
        "--index",
        path_str(&restored),
    ]);
    for q in ["盗窃 手机", "醉酒驾驶机动车", "信用卡 诈骗 网络"] {
        assert_eq!(
            search_json(idx, q),
            search_json(path_str(&restored), q),
            "{q}"
        );
    }
    let keys = |i: &str| leian_ok(&["keys", "list", "--json", "--index", i]);
    assert_eq!(keys(idx), keys(path_str(&restored)));
    assert_eq!(stats(path_str(&restored))["cases"], stats(idx)["cases"]);

    // restoring over an index needs --force, and keeps the old one aside
    let out = leian(&["restore", "--from", path_str(&archive), "--index", idx]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let out = leian_ok(&[
        "restore",
        "--from",
        path_str(&archive),
        "--index",
        idx,
        "--force",
    ]);
    assert!(out.contains("kept at"), "{out}");
    assert_eq!(
        search_json(idx, "盗窃 手机"),
        search_json(path_str(&restored), "盗窃 手机")
    );

    // a truncated archive is refused and leaves the target untouched
    let bytes = std::fs::read(&archive).unwrap();
    let broken = dir.path().join("broken.tar");
    std::fs::write(&broken, &bytes[..bytes.len() / 3]).unwrap();
    let target = dir.path().join("never");
    let out = leian(&[
        "restore",
        "--from",
        path_str(&broken),
        "--index",
        path_str(&target),
    ]);
    assert!(!out.status.success());
    assert!(!target.join("CURRENT").exists());
}

fn find_file(dir: &Path, ext: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) == Some(ext) {
            return Some(p);
        }
    }
    None
}

#[test]
fn a_damaged_generation_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = path_str(&index);
    leian_ok(&["ingest", path_str(&repo().join("sample")), "--index", idx]);
    let store = find_file(&index.join("gen-000001/tantivy"), "store").expect("a .store file");
    let mut bytes = std::fs::read(&store).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&store, bytes).unwrap();
    let out = leian(&["stats", "--index", idx]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gen-000001 is damaged"), "{err}");
    assert!(err.contains("leian restore"), "{err}");
}

#[test]
fn admin_stats_rebuild_and_job_over_http() {
    use crate::server_api::request;
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    leian_ok(&[
        "ingest",
        path_str(&repo().join("sample")),
        "--index",
        path_str(&index),
    ]);
    let store = leian_server::Store::open_in(&index).unwrap();
    let (_, admin) = store
        .create_key(leian_server::Role::Admin, "甲法院", "")
        .unwrap();
    let (_, judge) = store
        .create_key(leian_server::Role::Judge, "甲法院", "")
        .unwrap();
    let state =
        leian_server::AppState::new(bm25_engine(&index), store, Default::default()).unwrap();
    let server = leian_server::ServerHandle::start(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        state,
    )
    .unwrap();
    let addr = server.addr();
    let r = request(addr, "GET", "/v1/admin/stats", Some(&judge), None);
    assert_eq!(r.status, 403);
    let r = request(addr, "GET", "/v1/admin/stats", Some(&admin), None);
    assert_eq!(r.status, 200);
    let cases = r.json()["cases"].as_u64().unwrap();
    assert_eq!(r.json()["generation"], 1);
    let r = request(addr, "POST", "/v1/admin/rebuild", Some(&admin), Some(b"{}"));
    assert_eq!(r.status, 202, "{}", r.body);
    let job = r.json()["id"].as_str().unwrap().to_string();
    let mut state = Value::Null;
    for _ in 0..300 {
        let r = request(
            addr,
            "GET",
            &format!("/v1/admin/jobs/{job}"),
            Some(&admin),
            None,
        );
        assert_eq!(r.status, 200);
        state = r.json();
        if state["state"] != "running" {
            break;
        }
        // search keeps answering while the rebuild runs
        let s = request(
            addr,
            "POST",
            "/v1/search",
            Some(&judge),
            Some(r#"{"query":"盗窃","top_k":3,"mode":"bm25"}"#.as_bytes()),
        );
        assert_eq!(s.status, 200);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(state["state"], "succeeded", "{state}");
    assert_eq!(state["report"]["to"], "gen-000002");
    assert_eq!(state["progress"]["phase"], "done");
    assert_eq!(state["progress"]["percent"], 100.0);
    let r = request(addr, "GET", "/v1/admin/stats", Some(&admin), None);
    assert_eq!(r.json()["generation"], 2);
    assert_eq!(r.json()["cases"].as_u64(), Some(cases));
    // `leian ingest` from another process into the served index: visible without a restart
    let extra = dir.path().join("extra.jsonl");
    std::fs::write(&extra, format!("{}\n", synthetic_case(424_242))).unwrap();
    leian_ok(&["ingest", path_str(&extra), "--index", path_str(&index)]);
    std::thread::sleep(Engine::REFRESH_INTERVAL * 2);
    let body = format!(
        r#"{{"query":"标记{}号","top_k":3,"mode":"bm25","authority_order":false}}"#,
        424_242u64 * 7919
    );
    let s = request(
        addr,
        "POST",
        "/v1/search",
        Some(&judge),
        Some(body.as_bytes()),
    );
    assert_eq!(s.status, 200);
    assert_eq!(s.json()["hits"][0]["id"], "syn:424242", "{}", s.body);
    let r = request(addr, "GET", "/v1/admin/jobs/nope", Some(&admin), None);
    assert_eq!(r.status, 404);
    let r = request(
        addr,
        "POST",
        "/v1/admin/rebuild",
        Some(&admin),
        Some(b"{\"model\": 3}"),
    );
    assert_eq!(r.status, 400);
    server.shutdown().unwrap();
}
