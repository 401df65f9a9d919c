//! Precise push end to end: a real server on a random port over the sample corpus
//! (BM25-only), pending cases, subscriptions, admin ingest and delete, feedback, webhooks
//! against a local receiver, and a server process killed between "push created" and
//! "delivered".

use crate::server_api::{request, Resp};
use crate::{leian_ok, path_str, repo, sample_index};
use leian_engine::{Engine, EngineOptions};
use leian_ingest::{read_path, Format, Item};
use leian_push::signature::verify_signature;
use leian_push::{PushOptions, PushStore};
use leian_server::{AppState, Role, ServerHandle, ServerOptions, Store, DB_FILE};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const THEFT: &str = "被告人在帮助被害人设置手机时记下其支付宝支付密码，后趁被害人不注意，使用被害人手机登录支付宝账户，将账户内资金转入自己的账户。";
const DRUNK: &str = "被告人饮酒后驾驶小型轿车在城市道路上行驶，被执勤交警查获，经鉴定其血液酒精含量为一百六十毫克每百毫升，属醉酒驾驶机动车。";

fn post(addr: SocketAddr, path: &str, key: &str, body: &Value) -> Resp {
    let b = serde_json::to_vec(body).expect("json");
    request(addr, "POST", path, Some(key), Some(&b))
}

fn put(addr: SocketAddr, path: &str, key: &str, body: &Value) -> Resp {
    let b = serde_json::to_vec(body).expect("json");
    request(addr, "PUT", path, Some(key), Some(&b))
}

fn get(addr: SocketAddr, path: &str, key: &str) -> Resp {
    request(addr, "GET", path, Some(key), None)
}

fn ok(r: Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn case_ids(pushes: &Value) -> Vec<String> {
    pushes
        .as_array()
        .expect("pushes")
        .iter()
        .map(|p| p["case_id"].as_str().expect("case_id").to_string())
        .collect()
}

fn push_ids(pushes: &Value) -> Vec<i64> {
    pushes
        .as_array()
        .expect("pushes")
        .iter()
        .map(|p| p["id"].as_i64().expect("id"))
        .collect()
}

struct Keys {
    judge_a: String,
    court_a: String,
    judge_b: String,
    court_b: String,
    admin: String,
}

/// An in-process server over the sample corpus.
fn start(options: ServerOptions) -> (ServerHandle, Keys, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(&EngineOptions {
        index_dir: dir.path().to_path_buf(),
        ..EngineOptions::default()
    })
    .expect("engine");
    let mut w = engine.writer().expect("writer");
    for rec in read_path(&repo().join("sample"), Format::Auto).expect("sample") {
        if let Ok(Item::Case(c)) = rec {
            w.upsert(*c).expect("upsert");
        }
    }
    w.commit(&mut |_, _| {}).expect("commit");
    let store = Store::open_in(dir.path()).expect("store");
    let key = |role, court| store.create_key(role, court, "").expect("key").1;
    let keys = Keys {
        judge_a: key(Role::Judge, "甲法院"),
        court_a: key(Role::Court, "甲法院"),
        judge_b: key(Role::Judge, "乙法院"),
        court_b: key(Role::Court, "乙法院"),
        admin: key(Role::Admin, "甲法院"),
    };
    let state = AppState::new(engine, store, options).expect("state");
    let server = ServerHandle::start(TcpListener::bind("127.0.0.1:0").expect("bind"), state)
        .expect("server");
    (server, keys, dir)
}

#[test]
fn pushes_reach_a_matching_pending_case_and_not_an_unrelated_one() {
    let (server, k, _dir) = start(ServerOptions::default());
    let a = server.addr();
    let v = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_a,
        &json!({"facts": THEFT, "charges": ["盗窃罪"], "title": "柏某盗窃案（在办）"}),
    ));
    let id = v["id"].as_str().expect("id").to_string();
    let ids = case_ids(&v["pushes"]);
    assert!(ids.contains(&"sample-guiding:1".to_string()), "{ids:?}");
    let g = &v["pushes"][0];
    assert_eq!(g["tier"], "guiding", "guiding cases come first: {v}");
    assert_eq!(g["must_follow"], true);
    assert!(g["reason"].as_str().expect("reason").contains("盗窃"));
    assert!(g["score"].as_f64().expect("score") > 0.0);
    // the inbox filtered by pending case says the same
    let inbox = ok(get(a, &format!("/v1/pushes?pending_case={id}"), &k.judge_a));
    assert_eq!(case_ids(&inbox["pushes"]), ids);
    // another court sees none of it
    let other = ok(get(a, &format!("/v1/pushes?pending_case={id}"), &k.judge_b));
    assert!(other["pushes"].as_array().expect("pushes").is_empty());
    assert_eq!(
        get(a, &format!("/v1/pending-cases/{id}"), &k.judge_b).status,
        404
    );
    // unrelated facts: nothing pushed
    let v = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_a,
        &json!({"facts": "申请人请求撤销某市场监督管理局作出的行政许可决定，认为其未依法听证。"}),
    ));
    assert!(v["pushes"].as_array().expect("pushes").is_empty(), "{v}");
    // bad input is named
    let r = post(a, "/v1/pending-cases", &k.judge_a, &json!({"facts": "  "}));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("facts"), "{}", r.body);
}

#[test]
fn admin_ingest_pushes_once_feedback_is_counted_and_deleted_cases_vanish() {
    let (server, k, _dir) = start(ServerOptions::default());
    let a = server.addr();
    let pending = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_a,
        &json!({"facts": DRUNK, "charges": ["危险驾驶罪"]}),
    ));
    let pid = pending["id"].as_str().expect("id").to_string();
    let unrelated = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_a,
        &json!({"facts": "原告与被告签订房屋租赁合同，约定月租金三千元，被告拖欠租金六个月。", "charges": ["房屋租赁合同纠纷"]}),
    ));
    let uid = unrelated["id"].as_str().expect("id").to_string();
    let sub = ok(post(
        a,
        "/v1/subscriptions",
        &k.judge_b,
        &json!({"charges": ["危险驾驶"]}),
    ));
    assert!(sub["id"].is_string());
    let new_case = json!({
        "id": "test-guiding:77",
        "title": "指导案例977号：醉酒驾驶机动车案（测试）",
        "tier": "guiding",
        "category": "criminal",
        "charges": ["危险驾驶罪"],
        "statutes": [{"law": "刑法", "article": 133}],
        "sections": {"facts": "被告人醉酒后驾驶小型轿车在城市道路上行驶，被交警查获，经鉴定血液酒精含量为一百八十毫克每百毫升。"}
    });
    assert_eq!(
        post(a, "/v1/cases", &k.judge_a, &new_case).status,
        403,
        "only admins ingest"
    );
    let bad = post(a, "/v1/cases", &k.admin, &json!([{"id": "x"}]));
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("case 0"), "{}", bad.body);
    let r = ok(post(a, "/v1/cases", &k.admin, &new_case));
    assert_eq!(r["ingested"], 1);
    assert_eq!(
        r["pushes_created"], 2,
        "the pending case and the subscription: {r}"
    );
    let count = |court_key: &str, q: &str| {
        case_ids(&ok(get(a, &format!("/v1/pushes?{q}"), court_key))["pushes"])
            .iter()
            .filter(|c| *c == "test-guiding:77")
            .count()
    };
    assert_eq!(count(&k.judge_a, &format!("pending_case={pid}")), 1);
    assert_eq!(count(&k.judge_a, &format!("pending_case={uid}")), 0);
    assert_eq!(
        count(
            &k.judge_b,
            &format!("subscription={}", sub["id"].as_str().expect("id"))
        ),
        1
    );
    // the same case again, and an update: never a second push for a pair
    let r = ok(post(
        a,
        "/v1/cases",
        &k.admin,
        &json!({"cases": [new_case]}),
    ));
    assert_eq!(r["pushes_created"], 0);
    let upd = ok(put(
        a,
        &format!("/v1/pending-cases/{pid}"),
        &k.judge_a,
        &json!({"facts": format!("{DRUNK}被告人到案后如实供述。")}),
    ));
    assert_eq!(
        case_ids(&upd["pushes"])
            .iter()
            .filter(|c| *c == "test-guiding:77")
            .count(),
        1
    );
    // feedback, and the admin view per tier and per charge
    let inbox = ok(get(
        a,
        &format!("/v1/pushes?pending_case={pid}"),
        &k.judge_a,
    ));
    let pushes = inbox["pushes"].as_array().expect("pushes");
    let guiding = pushes
        .iter()
        .find(|p| p["case_id"] == "test-guiding:77")
        .expect("pushed");
    let gid = guiding["id"].as_i64().expect("id");
    assert_eq!(
        post(
            a,
            &format!("/v1/pushes/{gid}/feedback"),
            &k.judge_b,
            &json!({"useful": true})
        )
        .status,
        404,
        "not another court's push"
    );
    let f = ok(post(
        a,
        &format!("/v1/pushes/{gid}/feedback"),
        &k.judge_a,
        &json!({"useful": true}),
    ));
    assert_eq!(f["useful"], true);
    assert!(f["acked_at"].is_string(), "feedback marks it read");
    let others: Vec<i64> = push_ids(&inbox["pushes"])
        .into_iter()
        .filter(|i| *i != gid)
        .collect();
    for id in &others {
        ok(post(
            a,
            &format!("/v1/pushes/{id}/feedback"),
            &k.judge_a,
            &json!({"useful": false}),
        ));
    }
    assert_eq!(get(a, "/v1/admin/push-feedback", &k.judge_a).status, 403);
    let rep = ok(get(a, "/v1/admin/push-feedback", &k.admin));
    assert_eq!(rep["overall"]["rated"], 1 + others.len());
    assert_eq!(rep["overall"]["useful"], 1);
    let tier = rep["by_tier"]
        .as_array()
        .expect("tiers")
        .iter()
        .find(|t| t["group"] == "guiding")
        .expect("guiding row");
    assert!(tier["useful"].as_u64().expect("useful") >= 1);
    assert!(rep["by_charge"]
        .as_array()
        .expect("charges")
        .iter()
        .any(|c| c["group"] == "危险驾驶罪" && c["rated"].as_u64().expect("rated") >= 1));
    // acknowledged pushes leave the unacked inbox
    let unacked = ok(get(
        a,
        &format!("/v1/pushes?pending_case={pid}&unacked=true"),
        &k.judge_a,
    ));
    assert!(unacked["pushes"].as_array().expect("pushes").is_empty());
    // delete: withdrawn everywhere and never pushed again
    assert_eq!(
        request(
            a,
            "DELETE",
            "/v1/cases/test-guiding:77",
            Some(&k.judge_a),
            None
        )
        .status,
        403
    );
    let d = ok(request(
        a,
        "DELETE",
        "/v1/cases/test-guiding:77",
        Some(&k.admin),
        None,
    ));
    assert_eq!(d["pushes_withdrawn"], 2);
    assert_eq!(count(&k.judge_a, &format!("pending_case={pid}")), 0);
    assert_eq!(count(&k.judge_b, ""), 0);
    let again = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_a,
        &json!({"facts": DRUNK, "charges": ["危险驾驶罪"]}),
    ));
    assert!(!case_ids(&again["pushes"]).contains(&"test-guiding:77".to_string()));
    assert_eq!(
        request(
            a,
            "DELETE",
            "/v1/cases/test-guiding:77",
            Some(&k.admin),
            None
        )
        .status,
        404
    );
}

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    key: String,
    signature: String,
    body: Vec<u8>,
    answered: u16,
}

/// A webhook receiver on a random port: answers 500 to the first `fail_first` attempts
/// of each idempotency key (and to everything while `down`), then 200.
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
}

fn receiver(fail_first: usize) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let addr = listener.local_addr().expect("addr");
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let down = Arc::new(AtomicBool::new(false));
    let (g, d) = (got.clone(), down.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            let mut headers = HashMap::new();
            let mut line = String::new();
            let _ = reader.read_line(&mut line); // request line
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let key = headers.get("idempotency-key").cloned().unwrap_or_default();
            let mut list = g.lock().expect("lock");
            let seen = list.iter().filter(|r| r.key == key).count();
            let status = if d.load(Ordering::SeqCst) || seen < fail_first {
                500
            } else {
                200
            };
            list.push(Received {
                key,
                signature: headers
                    .get("x-leian-signature")
                    .cloned()
                    .unwrap_or_default(),
                body,
                answered: status,
            });
            drop(list);
            let _ = s.write_all(
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    Receiver { addr, got, down }
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const SECRET: &str = "test-webhook-secret-0123456789";

#[test]
fn webhooks_are_retried_with_backoff_signed_and_keyed() {
    let (server, k, _dir) = start(ServerOptions {
        push: PushOptions {
            retry_base_ms: 40,
            ..PushOptions::default()
        },
        ..ServerOptions::default()
    });
    let a = server.addr();
    let rx = receiver(2);
    let url = format!("http://{}/hook", rx.addr);
    assert_eq!(
        put(
            a,
            "/v1/webhooks",
            &k.judge_a,
            &json!({"url": url, "secret": SECRET})
        )
        .status,
        403,
        "judges do not set the court's webhook"
    );
    assert_eq!(
        put(
            a,
            "/v1/webhooks",
            &k.court_a,
            &json!({"url": "https://x.org/", "secret": SECRET})
        )
        .status,
        400
    );
    ok(put(
        a,
        "/v1/webhooks",
        &k.court_a,
        &json!({"url": url, "secret": SECRET}),
    ));
    let v = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_a,
        &json!({"facts": THEFT, "charges": ["盗窃罪"]}),
    ));
    let ids = push_ids(&v["pushes"]);
    assert!(!ids.is_empty());
    wait_until("every push delivered", Duration::from_secs(30), || {
        ids.iter().all(|id| {
            ok(get(a, &format!("/v1/pushes/{id}/delivery"), &k.judge_a))["state"] == "delivered"
        })
    });
    let got = rx.got.lock().expect("lock").clone();
    for id in &ids {
        let d = ok(get(a, &format!("/v1/pushes/{id}/delivery"), &k.judge_a));
        assert_eq!(d["attempts"], 3, "two failures, then success: {d}");
        let key = format!("leian-push-{id}");
        let mine: Vec<&Received> = got.iter().filter(|r| r.key == key).collect();
        assert_eq!(mine.len(), 3);
        assert_eq!(mine.iter().filter(|r| r.answered == 200).count(), 1);
        for r in &mine {
            assert!(
                verify_signature(SECRET, &r.body, &r.signature),
                "HMAC of push {id}"
            );
            assert!(!verify_signature(
                "another-secret-0000",
                &r.body,
                &r.signature
            ));
            assert_eq!(r.body, mine[0].body, "the same body on every attempt");
            let body: Value = serde_json::from_slice(&r.body).expect("json body");
            assert_eq!(body["push"]["id"].as_i64(), Some(*id));
        }
    }
}

/// A `leian serve` process and the address it printed.
fn serve(index: &str) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leian"))
        .args([
            "serve",
            "--index",
            index,
            "--addr",
            "127.0.0.1:0",
            "--webhook-retry-ms",
            "100",
        ])
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .env("LEIAN_NO_MODEL", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("leian serve starts");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("banner");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    // keep reading stdout so the server never blocks on a full pipe
    std::thread::spawn(move || {
        let mut sink = String::new();
        while out.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    (child, addr)
}

/// Event ids read from the SSE stream within `limit`, stopping once `want` arrived.
fn sse_ids(
    addr: SocketAddr,
    key: &str,
    last_event_id: Option<i64>,
    want: usize,
    limit: Duration,
) -> Vec<i64> {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut head = format!(
        "GET /v1/pushes/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n"
    );
    if let Some(id) = last_event_id {
        head.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let start = Instant::now();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let parse = |raw: &[u8]| -> Vec<i64> {
        String::from_utf8_lossy(raw)
            .lines()
            .filter_map(|l| l.strip_prefix("id:"))
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    };
    while start.elapsed() < limit && parse(&raw).len() < want {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    parse(&raw)
}

#[test]
fn a_killed_server_loses_and_duplicates_nothing_and_the_stream_resumes() {
    let dir = sample_index();
    let index = path_str(dir.path()).to_string();
    let key = |role: &str, court: &str| {
        leian_ok(&[
            "keys", "create", "--index", &index, "--role", role, "--court", court,
        ])
        .trim()
        .to_string()
    };
    let judge = key("judge", "甲法院");
    let court = key("court", "甲法院");
    let rx = receiver(0);
    rx.down.store(true, Ordering::SeqCst);
    let (mut first, a) = serve(&index);
    ok(put(
        a,
        "/v1/webhooks",
        &court,
        &json!({"url": format!("http://{}/hook", rx.addr), "secret": SECRET}),
    ));
    let mut ids = Vec::new();
    for (facts, charge) in [(THEFT, "盗窃罪"), (DRUNK, "危险驾驶罪")] {
        let v = ok(post(
            a,
            "/v1/pending-cases",
            &judge,
            &json!({"facts": facts, "charges": [charge]}),
        ));
        ids.extend(push_ids(&v["pushes"]));
    }
    ids.sort();
    assert!(ids.len() >= 2, "{ids:?}");
    // a client reads the first event, then the server dies before any webhook succeeded
    let seen = sse_ids(a, &judge, None, 1, Duration::from_secs(10));
    assert_eq!(seen.first(), Some(&ids[0]));
    wait_until("a failed webhook attempt", Duration::from_secs(10), || {
        !rx.got.lock().expect("lock").is_empty()
    });
    first.kill().expect("kill");
    first.wait().expect("reaped");
    // the outbox on disk: every push once, none delivered yet
    {
        let store = PushStore::open(&dir.path().join(DB_FILE)).expect("outbox");
        let mut stored: Vec<i64> = ids
            .iter()
            .filter_map(|id| store.delivery(*id).expect("delivery"))
            .map(|d| {
                assert_ne!(d.state, "delivered");
                d.push_id
            })
            .collect();
        stored.sort();
        assert_eq!(stored, ids);
    }
    rx.down.store(false, Ordering::SeqCst);
    let (mut second, a) = serve(&index);
    wait_until(
        "delivery after the restart",
        Duration::from_secs(30),
        || {
            ids.iter().all(|id| {
                ok(get(a, &format!("/v1/pushes/{id}/delivery"), &judge))["state"] == "delivered"
            })
        },
    );
    // each push accepted by the receiver exactly once, all signed
    let got = rx.got.lock().expect("lock").clone();
    let accepted: Vec<&Received> = got.iter().filter(|r| r.answered == 200).collect();
    let keys: HashSet<&str> = accepted.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(accepted.len(), ids.len(), "no duplicate deliveries");
    for id in &ids {
        assert!(keys.contains(format!("leian-push-{id}").as_str()));
    }
    // (a request cut off by the kill may have reached the receiver half-sent: only what
    // it accepted must verify)
    assert!(accepted
        .iter()
        .all(|r| verify_signature(SECRET, &r.body, &r.signature)));
    // the inbox holds every push once
    let mut inbox = push_ids(&ok(get(a, "/v1/pushes", &judge))["pushes"]);
    inbox.sort();
    assert_eq!(inbox, ids);
    // the stream resumes after the last event the client saw
    let rest = sse_ids(
        a,
        &judge,
        Some(ids[0]),
        ids.len() - 1,
        Duration::from_secs(10),
    );
    assert_eq!(rest, ids[1..].to_vec());
    second.kill().expect("kill");
    second.wait().expect("reaped");
}

#[test]
fn leian_ingest_pushes_a_new_guiding_case_to_open_pending_cases() {
    let dir = sample_index();
    let index = path_str(dir.path()).to_string();
    let db = dir.path().join(DB_FILE);
    let owner = leian_push::Owner {
        court: "甲法院".into(),
        key_id: 1,
    };
    let pending = {
        let engine = Engine::open(&EngineOptions {
            index_dir: dir.path().to_path_buf(),
            ..EngineOptions::default()
        })
        .expect("engine");
        let service = leian_push::PushService::open(&db, PushOptions::default()).expect("push");
        let input = leian_push::PendingCaseInput {
            facts: DRUNK.into(),
            charges: vec!["危险驾驶罪".into()],
            ..Default::default()
        };
        service
            .register(&engine, &owner, input)
            .expect("register")
            .0
    };
    let file = dir.path().join("new_guiding.jsonl");
    let case = json!({
        "id": "cli-guiding:1",
        "title": "指导案例988号：醉酒驾驶案（测试）",
        "tier": "guiding",
        "charges": ["危险驾驶罪"],
        "sections": {"facts": "被告人醉酒后驾驶小型轿车在道路上行驶，被交警查获，经鉴定血液酒精含量为一百七十毫克每百毫升。"}
    });
    std::fs::write(&file, format!("{case}\n")).expect("write");
    let out = leian_ok(&[
        "ingest",
        path_str(&file),
        "--index",
        &index,
        "--format",
        "jsonl",
    ]);
    assert!(out.contains("created 1 pushes"), "{out}");
    let store = PushStore::open(&db).expect("store");
    let pushes = store
        .pushes(
            "甲法院",
            &leian_push::PushFilter {
                pending_case: Some(pending.id.clone()),
                ..Default::default()
            },
        )
        .expect("pushes");
    assert_eq!(
        pushes
            .iter()
            .filter(|p| p.case_id == "cli-guiding:1")
            .count(),
        1
    );
    // ingesting it again pushes nothing new
    let out = leian_ok(&[
        "ingest",
        path_str(&file),
        "--index",
        &index,
        "--format",
        "jsonl",
    ]);
    assert!(!out.contains("created"), "{out}");
}

/// The raw SSE text a key's stream sends within `limit` (read on its own thread).
fn sse_text(addr: SocketAddr, key: &str, limit: Duration) -> std::thread::JoinHandle<String> {
    let key = key.to_string();
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        let head = format!(
            "GET /v1/pushes/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n"
        );
        s.write_all(head.as_bytes()).expect("write");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let start = Instant::now();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        while start.elapsed() < limit {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
        String::from_utf8_lossy(&raw).into_owned()
    })
}

/// An `http://` URL nothing listens on (deliveries to it fail and stay pending).
fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}/hook")
}

#[test]
fn a_case_visible_to_one_court_never_reaches_another_and_restricting_withdraws_pushes() {
    let (server, k, _dir) = start(ServerOptions {
        push: PushOptions {
            retry_base_ms: 40,
            ..PushOptions::default()
        },
        ..ServerOptions::default()
    });
    let a = server.addr();
    // court B has a webhook (unreachable for now), a pending case and a subscription that
    // all match what comes; court A has a pending case too
    ok(put(
        a,
        "/v1/webhooks",
        &k.court_b,
        &json!({"url": dead_url(), "secret": SECRET}),
    ));
    let pa = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_a,
        &json!({"facts": DRUNK, "charges": ["危险驾驶罪"]}),
    ));
    let pa = pa["id"].as_str().expect("id").to_string();
    let pb = ok(post(
        a,
        "/v1/pending-cases",
        &k.judge_b,
        &json!({"facts": DRUNK, "charges": ["危险驾驶罪"]}),
    ));
    let pb = pb["id"].as_str().expect("id").to_string();
    ok(post(
        a,
        "/v1/subscriptions",
        &k.judge_b,
        &json!({"charges": ["危险驾驶"]}),
    ));
    let stream_b = sse_text(a, &k.judge_b, Duration::from_secs(4));
    let facts = "被告人醉酒后驾驶小型轿车在城市道路上行驶，被交警查获，经鉴定血液酒精含量为一百九十毫克每百毫升。";
    let secret = json!({
        "id": "secret:1",
        "title": "指导案例999号：机密醉驾案（测试）",
        "tier": "guiding",
        "category": "criminal",
        "charges": ["危险驾驶罪"],
        "sections": {"facts": facts},
        "visible_to": ["甲法院"]
    });
    let r = ok(post(a, "/v1/cases", &k.admin, &secret));
    assert_eq!(r["pushes_created"], 1, "court A's pending case only: {r}");
    // court A has it everywhere
    let inbox_a = ok(get(a, &format!("/v1/pushes?pending_case={pa}"), &k.judge_a));
    assert!(case_ids(&inbox_a["pushes"]).contains(&"secret:1".to_string()));
    assert_eq!(get(a, "/v1/cases/secret:1", &k.judge_a).status, 200);
    // court B on every path: case, search, similar, report, consistency, pending case, inbox
    assert_eq!(get(a, "/v1/cases/secret:1", &k.judge_b).status, 404);
    let found = ok(post(
        a,
        "/v1/search",
        &k.judge_b,
        &json!({"query": facts, "top_k": 50, "floor": 0}),
    ));
    assert!(!found.to_string().contains("secret:1"), "{found}");
    let found_a = ok(post(
        a,
        "/v1/search",
        &k.judge_a,
        &json!({"query": facts, "top_k": 50, "floor": 0}),
    ));
    assert!(found_a.to_string().contains("secret:1"), "court A finds it");
    let similar = ok(get(a, "/v1/cases/sample:001/similar?top_k=50", &k.judge_b));
    assert!(!similar.to_string().contains("secret:1"));
    let report = post(
        a,
        "/v1/reports",
        &k.judge_b,
        &json!({"query": {"query": facts, "floor": 0}}),
    );
    assert_eq!(report.status, 201, "{}", report.body);
    assert!(!report.body.contains("secret:1"));
    let check = post(
        a,
        "/v1/consistency",
        &k.judge_b,
        &json!({"facts": facts, "charges": ["危险驾驶罪"], "proposed_term_months": 3}),
    );
    assert!(!check.body.contains("secret:1"), "{}", check.body);
    let mine = ok(get(a, &format!("/v1/pending-cases/{pb}"), &k.judge_b));
    assert!(!mine.to_string().contains("secret:1"));
    let inbox_b = ok(get(a, "/v1/pushes", &k.judge_b));
    assert!(!case_ids(&inbox_b["pushes"]).contains(&"secret:1".to_string()));
    let text = stream_b.join().expect("stream");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(!text.contains("secret:1"), "{text}");

    // a public case reaches court B, its webhook still undelivered; restricting it takes
    // it back from B's inbox, stream and webhook
    let public = json!({
        "id": "open:2",
        "title": "指导案例998号：醉驾案（测试）",
        "tier": "guiding",
        "category": "criminal",
        "charges": ["危险驾驶罪"],
        "sections": {"facts": facts}
    });
    let r = ok(post(a, "/v1/cases", &k.admin, &public));
    assert_eq!(
        r["pushes_created"], 3,
        "A's pending, B's pending and B's subscription: {r}"
    );
    let b_pushes: Vec<i64> = ok(get(a, "/v1/pushes", &k.judge_b))["pushes"]
        .as_array()
        .expect("pushes")
        .iter()
        .filter(|p| p["case_id"] == "open:2")
        .map(|p| p["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(b_pushes.len(), 2);
    for id in &b_pushes {
        let d = ok(get(a, &format!("/v1/pushes/{id}/delivery"), &k.judge_b));
        assert_eq!(d["state"], "pending", "not delivered yet: {d}");
    }
    let v = ok(put(
        a,
        "/v1/admin/cases/open:2/visibility",
        &k.admin,
        &json!({"courts": ["甲法院"]}),
    ));
    assert_eq!(v["pushes_withdrawn"], 2, "{v}");
    let inbox_b = ok(get(a, "/v1/pushes", &k.judge_b));
    assert!(!case_ids(&inbox_b["pushes"]).contains(&"open:2".to_string()));
    for id in &b_pushes {
        assert_eq!(
            get(a, &format!("/v1/pushes/{id}/delivery"), &k.judge_b).status,
            404
        );
        assert_eq!(
            post(a, &format!("/v1/pushes/{id}/ack"), &k.judge_b, &json!({})).status,
            404
        );
    }
    let inbox_a = ok(get(a, &format!("/v1/pushes?pending_case={pa}"), &k.judge_a));
    assert!(
        case_ids(&inbox_a["pushes"]).contains(&"open:2".to_string()),
        "A keeps it"
    );
    // B's webhook comes up: what is delivered now is a later public case, never open:2
    let rx = receiver(0);
    ok(put(
        a,
        "/v1/webhooks",
        &k.court_b,
        &json!({"url": format!("http://{}/hook", rx.addr), "secret": SECRET}),
    ));
    let later = json!({
        "id": "open:3",
        "title": "指导案例997号：醉驾案二（测试）",
        "tier": "guiding",
        "category": "criminal",
        "charges": ["危险驾驶罪"],
        "sections": {"facts": facts}
    });
    ok(post(a, "/v1/cases", &k.admin, &later));
    wait_until("open:3 delivered to B", Duration::from_secs(30), || {
        rx.got
            .lock()
            .expect("lock")
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("open:3"))
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = rx.got.lock().expect("lock").clone();
    for r in &got {
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("open:2") && !body.contains("secret:1"),
            "{body}"
        );
    }
}

#[test]
fn post_cases_and_leian_ingest_store_one_record_identically_visibility_included() {
    let records = [
        json!({
            "id": "same:1",
            "title": "某某诈骗案（测试）",
            "court": "某省高级人民法院",
            "court_level": "high",
            "tier": "typical",
            "visible_to": ["甲法院"],
            "full_text": "某省高级人民法院\n刑事判决书\n经审理查明：被告人冒充银行工作人员，以办理贷款需缴纳保证金为由，骗取被害人人民币五万元。\n本院认为，被告人以非法占有为目的，虚构事实骗取他人财物，数额较大，其行为已构成诈骗罪。依照《中华人民共和国刑法》第二百六十六条之规定，判决如下：\n被告人犯诈骗罪，判处有期徒刑二年，并处罚金人民币二万元。"
        }),
        json!({
            "id": "same:2",
            "title": "某某盗窃案（测试）",
            "court_level": "basic",
            "sections": {"facts": "被告人趁被害人熟睡之机，窃取其放在床头的手机一部，价值人民币三千元。"}
        }),
    ];
    // by the command line, with a default restriction for records that name none
    let cli = tempfile::tempdir().expect("tempdir");
    let file = cli.path().join("cases.jsonl");
    std::fs::write(
        &file,
        records.iter().map(|r| format!("{r}\n")).collect::<String>(),
    )
    .expect("write");
    let index = cli.path().join("index");
    let out = leian_ok(&[
        "ingest",
        path_str(&file),
        "--index",
        path_str(&index),
        "--no-model",
        "--visible-to",
        "丙法院, 丁法院",
    ]);
    assert!(out.contains("2 cases restricted"), "{out}");
    // by the API
    let (server, k, dir) = start(ServerOptions::default());
    ok(post(server.addr(), "/v1/cases", &k.admin, &json!(records)));
    server.shutdown().expect("shutdown");
    let open = |d: &std::path::Path| {
        Engine::open(&EngineOptions {
            index_dir: d.to_path_buf(),
            ..EngineOptions::default()
        })
        .expect("engine")
    };
    let (by_cli, by_api) = (open(&index), open(dir.path()));
    for id in ["same:1", "same:2"] {
        let id = leian_ingest::CaseId::new(id);
        let a = by_cli
            .get(&id)
            .expect("get")
            .expect("stored by leian ingest");
        let b = by_api
            .get(&id)
            .expect("get")
            .expect("stored by POST /v1/cases");
        assert_eq!(
            serde_json::to_value(&a).expect("json"),
            serde_json::to_value(&b).expect("json"),
            "{id}"
        );
    }
    let fraud = by_api
        .get(&leian_ingest::CaseId::new("same:1"))
        .expect("get")
        .expect("case");
    assert_eq!(
        fraud.tier,
        leian_ingest::AuthorityTier::Typical,
        "the given tier is kept"
    );
    assert!(
        fraud.charges.iter().any(|c| c.contains("诈骗")),
        "extracted from full_text"
    );
    let courts = |d: &std::path::Path, id: &str| {
        leian_visibility::CaseVisibility::open(&d.join(DB_FILE))
            .expect("visibility")
            .courts(id)
            .expect("courts")
    };
    assert_eq!(courts(&index, "same:1"), vec!["甲法院".to_string()]);
    assert_eq!(courts(dir.path(), "same:1"), vec!["甲法院".to_string()]);
    assert_eq!(
        courts(&index, "same:2"),
        vec!["丁法院".to_string(), "丙法院".to_string()],
        "--visible-to for the record that names none"
    );
    assert!(courts(dir.path(), "same:2").is_empty(), "public");
}
