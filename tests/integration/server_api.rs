//! The HTTP API end to end: a real server on a random loopback port over the sample
//! corpus (BM25-only), spoken to with plain HTTP/1.1 over a TCP socket.

use crate::repo;
use leian_engine::{Engine, EngineOptions};
use leian_ingest::{read_path, Format, Item};
use leian_server::{AppState, Role, ServerHandle, ServerOptions, Store};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

pub(crate) struct Fixture {
    server: ServerHandle,
    /// judge of 甲法院
    pub(crate) judge_a: String,
    /// judge of 乙法院
    pub(crate) judge_b: String,
    pub(crate) admin: String,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// The server's index dir (another engine may open it to compare answers).
    pub(crate) fn index_dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

pub(crate) fn start(ingest: bool, demo_key: Option<String>) -> Fixture {
    start_with(
        ingest,
        ServerOptions {
            demo_key,
            ..ServerOptions::default()
        },
    )
}

pub(crate) fn start_with(ingest: bool, options: ServerOptions) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(&EngineOptions {
        index_dir: dir.path().to_path_buf(),
        ..EngineOptions::default()
    })
    .expect("engine");
    if ingest {
        let mut w = engine.writer().expect("writer");
        for rec in read_path(&repo().join("sample"), Format::Auto).expect("sample") {
            if let Ok(Item::Case(c)) = rec {
                w.upsert(*c).expect("upsert");
            }
        }
        w.commit(&mut |_, _| {}).expect("commit");
    }
    let store = Store::open_in(dir.path()).expect("store");
    let (_, judge_a) = store.create_key(Role::Judge, "甲法院", "").expect("key");
    let (_, judge_b) = store.create_key(Role::Judge, "乙法院", "").expect("key");
    let (_, admin) = store
        .create_key(Role::Admin, "甲法院", "root")
        .expect("key");
    let state = AppState::new(engine, store, options).expect("state");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = ServerHandle::start(listener, state).expect("server");
    Fixture {
        server,
        judge_a,
        judge_b,
        admin,
        _dir: dir,
    }
}

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", &self.body[..self.body.len().min(300)])
        })
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub(crate) fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Percent-encodes the non-ASCII bytes of a path.
fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..pos])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
    out
}

pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&[u8]>,
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        encode_path(path)
    );
    if let Some(k) = key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write head");
    if let Some(b) = body {
        // the server may answer (413) and close before reading everything
        let _ = s.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body: String::from_utf8(body).expect("utf-8 body"),
    }
}

impl Fixture {
    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }
    pub(crate) fn get(&self, path: &str, key: &str) -> Resp {
        request(self.addr(), "GET", path, Some(key), None)
    }
    pub(crate) fn post(&self, path: &str, key: &str, body: &Value) -> Resp {
        let b = serde_json::to_vec(body).expect("json");
        request(self.addr(), "POST", path, Some(key), Some(&b))
    }
    pub(crate) fn put(&self, path: &str, key: &str, body: &Value) -> Resp {
        let b = serde_json::to_vec(body).expect("json");
        request(self.addr(), "PUT", path, Some(key), Some(&b))
    }
}

fn ids(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect()
}

fn current_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    1970 + secs / 31_556_952
}

#[test]
fn search_orders_by_authority_and_answers_the_contract() {
    let f = start(true, None);
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃 手机", "top_k": 10, "explain": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let hits = v["hits"].as_array().expect("hits");
    assert!(!hits.is_empty());
    assert_eq!(v["mode"], "bm25", "no model loaded: hybrid runs as bm25");
    // guiding cases first, marked 应当参照 (must_follow)
    assert_eq!(hits[0]["tier"], "guiding", "{}", r.body);
    assert_eq!(hits[0]["must_follow"], true);
    assert_eq!(hits[0]["tier_label"], "指导性案例");
    assert!(hits[0]["explain"].is_object());
    let order = ["guiding", "typical", "higher_court", "same_court", "other"];
    let ranks: Vec<usize> = hits
        .iter()
        .map(|h| {
            order
                .iter()
                .position(|t| h["tier"] == *t)
                .expect("known tier")
        })
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "tiers in order: {ranks:?}"
    );
    assert_eq!(v["groups"][0]["tier"], "guiding");
    assert_eq!(v["groups"][0]["must_follow"], true);
    let grouped: usize = v["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["ids"].as_array().expect("ids").len())
        .sum();
    assert_eq!(grouped, hits.len());
    assert!(hits
        .iter()
        .any(|h| h["snippet"].as_str().is_some_and(|s| s.contains("<mark>"))));

    // full-width digits mean the same as ASCII ones
    let half = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "刑法第264条 盗窃", "mode": "bm25"}),
    );
    let full = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "刑法第２６４条　盗窃", "mode": "bm25"}),
    );
    assert_eq!(ids(&half.json()), ids(&full.json()));

    // statute-linked: only cases citing 刑法第264条
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "被告人", "top_k": 50, "filters": {"statutes": [{"law": "刑法", "article": 264}]}}),
    );
    let v = r.json();
    assert!(!ids(&v).is_empty());
    for h in v["hits"].as_array().expect("hits") {
        let st: Vec<&str> = h["statutes"]
            .as_array()
            .expect("statutes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(st.contains(&"刑法第264条"), "{st:?}");
    }

    // recent_first: within a tier, judgments of the last 3 years come before older ones
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃", "top_k": 30, "recent_first": true}),
    );
    let v = r.json();
    let year = current_year();
    let hits = v["hits"].as_array().expect("hits");
    let yr = |h: &Value| {
        h["date"]
            .as_str()
            .and_then(|d| d[..4].parse::<i64>().ok())
            .unwrap_or(0)
    };
    for (i, a) in hits.iter().enumerate() {
        for b in &hits[i + 1..] {
            if a["tier"] == b["tier"] {
                // clearly old before clearly recent would be wrong
                assert!(
                    !(yr(a) < year - 4 && yr(b) >= year - 2),
                    "{} ({}) before {} ({})",
                    a["id"],
                    yr(a),
                    b["id"],
                    yr(b)
                );
            }
        }
    }
    // paging: offset continues where the first page ended
    let p1 = ids(&f
        .post(
            "/v1/search",
            &f.judge_a,
            &json!({"query": "盗窃", "top_k": 3}),
        )
        .json());
    let p2 = ids(&f
        .post(
            "/v1/search",
            &f.judge_a,
            &json!({"query": "盗窃", "top_k": 3, "offset": 3}),
        )
        .json());
    let both = ids(&f
        .post(
            "/v1/search",
            &f.judge_a,
            &json!({"query": "盗窃", "top_k": 6}),
        )
        .json());
    assert_eq!([p1, p2].concat(), both);
}

#[test]
fn auth_failures_are_401_and_403() {
    let f = start(false, None);
    let body = r#"{"query":"盗窃"}"#.as_bytes();
    let r = request(f.addr(), "POST", "/v1/search", None, Some(body));
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "unauthorized");
    let r = request(f.addr(), "POST", "/v1/search", Some("0123abcd"), Some(body));
    assert_eq!(r.status, 401);
    let r = f.get("/v1/audit", &f.judge_a);
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "forbidden");
    let r = f.put(
        "/v1/admin/cases/sample:001/visibility",
        &f.judge_a,
        &json!({"courts": []}),
    );
    assert_eq!(r.status, 403);
    let r = f.get("/v1/whoami", &f.admin);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["role"], "admin");
    assert_eq!(r.json()["court"], "甲法院");
    assert_eq!(request(f.addr(), "GET", "/healthz", None, None).status, 200);
}

#[test]
fn keys_for_a_dir_without_an_index_are_refused_and_nothing_is_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let typo = dir.path().join("indx");
    let out = crate::leian(&[
        "keys",
        "create",
        "--index",
        typo.to_str().expect("utf-8"),
        "--role",
        "judge",
        "--court",
        "甲法院",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no leian index"), "{err}");
    assert!(!typo.exists(), "no empty index was made");
}

#[test]
fn keys_listed_and_revoked_by_the_cli_stop_working_at_once() {
    let f = start(false, None);
    let index = f._dir.path().to_str().expect("utf-8 temp path");
    let out = crate::leian(&["keys", "list", "--json", "--index", index]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(listed.len(), 3);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(&f.judge_b), "a listing never shows a secret");
    let b = listed
        .iter()
        .find(|k| k["key"]["court"] == "乙法院")
        .expect("乙法院's key listed");
    assert!(b["revoked_at"].is_null());
    let id = b["key"]["id"].as_i64().expect("id").to_string();
    assert_eq!(f.get("/v1/whoami", &f.judge_b).status, 200);
    let out = crate::leian(&["keys", "revoke", "--index", index, &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the running server sees the revocation on the next request
    assert_eq!(f.get("/v1/whoami", &f.judge_b).status, 401);
    assert_eq!(f.get("/v1/whoami", &f.judge_a).status, 200);
    // revoking twice, or an unknown id, is an error that names the id
    let out = crate::leian(&["keys", "revoke", "--index", index, &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("id {id}")));
}

#[test]
fn bad_input_gets_json_errors_never_500() {
    let f = start(true, None);
    let a = f.addr();
    let k = Some(f.judge_a.as_str());
    let r = request(a, "POST", "/v1/search", k, Some(b"{\"query\": "));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "bad_json"),
        "{}",
        r.body
    );
    let r = request(
        a,
        "POST",
        "/v1/search",
        k,
        Some(br#"{"query":"x","top_k":"ten"}"#),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_request"),
        "{}",
        r.body
    );
    let r = request(
        a,
        "POST",
        "/v1/search",
        k,
        Some(br#"{"query":"x","nonsense":1}"#),
    );
    assert_eq!(r.status, 400);
    // a body is an object: serde alone would fill a struct from an array (`["盗窃"]` as a
    // search, `[]` as a rebuild with defaults; schemathesis found the second)
    for (path, key) in [
        ("/v1/search", f.judge_a.as_str()),
        ("/v1/consistency", f.judge_a.as_str()),
        ("/v1/admin/rebuild", f.admin.as_str()),
    ] {
        for body in [&b"[]"[..], "[\"盗窃\", 5]".as_bytes()] {
            let r = request(a, "POST", path, Some(key), Some(body));
            assert_eq!(
                r.status,
                400,
                "{path} {}: {}",
                String::from_utf8_lossy(body),
                r.body
            );
            assert!(r.body.contains("object"), "{path}: {}", r.body);
        }
    }
    for empty in ["", "   ", "\u{3000}"] {
        let r = f.post("/v1/search", &f.judge_a, &json!({"query": empty}));
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (400, "invalid_request")
        );
    }
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃", "top_k": 0}),
    );
    assert_eq!(r.status, 400);
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃", "filters": {"tiers": ["nope"]}}),
    );
    assert_eq!(r.status, 400);
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃", "mode": "dense"}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_request"),
        "dense without a model"
    );
    // a 200,000-character draft is answered; one more character is refused
    let long: String = "被告人趁被害人不备窃取其手机"
        .chars()
        .cycle()
        .take(200_000)
        .collect();
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": long, "top_k": 5}),
    );
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    let longer = format!("{long}盗");
    let r = f.post("/v1/search", &f.judge_a, &json!({"query": longer}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_request")
    );
    // traditional characters are just text
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "竊盜 被告人 手機"}),
    );
    assert_eq!(r.status, 200);
    // bodies over 1 MiB
    let huge = format!("{{\"query\":\"{}\"}}", "a".repeat(1_100_000));
    let r = request(a, "POST", "/v1/search", k, Some(huge.as_bytes()));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "payload_too_large")
    );
    let r = f.get("/v1/nothing-here", &f.judge_a);
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    let r = f.get("/v1/cases/no-such-case", &f.judge_a);
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    let r = f.get("/v1/cases/no-such-case/similar", &f.judge_a);
    assert_eq!(r.status, 404);
    let r = f.get("/v1/cases/sample:001/similar?top_k=abc", &f.judge_a);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_request")
    );
    let r = f.get("/v1/statutes/刑法/abc", &f.judge_a);
    assert_eq!(r.status, 400);
    assert_eq!(f.get("/v1/statutes/刑法/0", &f.judge_a).status, 404);
    assert_eq!(f.get("/v1/statutes/刑法/%20264", &f.judge_a).status, 400);
    // article numbers in bodies are 1..=9999, refused by name
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃", "statutes": [{"law": "刑法", "article": 4_294_967_295_u64}]}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("article"), "{}", r.body);
    // listings refuse a limit outside 1..=1000 instead of quietly clamping it
    for limit in ["0", "1001", "2147483648"] {
        let r = f.get(&format!("/v1/pushes?limit={limit}"), &f.judge_a);
        assert_eq!(r.status, 400, "limit={limit}: {}", r.body);
        assert!(r.body.contains("limit"), "{}", r.body);
        let r = f.get(&format!("/v1/audit?limit={limit}"), &f.admin);
        assert_eq!(r.status, 400, "limit={limit}: {}", r.body);
    }
    assert_eq!(f.get("/v1/pushes?limit=1000", &f.judge_a).status, 200);
    // a path that is not UTF-8 once decoded: the JSON error shape, not plain text
    let r = f.get("/v1/cases/%FF%FE", &f.judge_a);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_request"),
        "{}",
        r.body
    );
    // a push id that is not a number: the same shape
    let r = request(a, "POST", "/v1/pushes/abc/ack", k, Some(b"{}"));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_request"),
        "{}",
        r.body
    );
    // a 5,000-character id is not echoed whole
    let long_id = "x".repeat(5_000);
    let r = f.get(&format!("/v1/cases/{long_id}"), &f.judge_a);
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        message.chars().count() < 400 && message.contains("xxxx"),
        "{} characters: {}",
        message.chars().count(),
        &message[..message.len().min(100)]
    );
    // browsers asking for the icon get one
    let r = request(a, "GET", "/favicon.ico", None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.body.contains("<svg"));
}

#[test]
fn restricted_case_is_invisible_to_other_courts() {
    let f = start(true, None);
    let sealed = "sample-guiding:1";
    let r = f.put(
        &format!("/v1/admin/cases/{sealed}/visibility"),
        &f.admin,
        &json!({"courts": ["甲法院"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["courts"], json!(["甲法院"]));
    let r = f.put(
        "/v1/admin/cases/nope/visibility",
        &f.admin,
        &json!({"courts": []}),
    );
    assert_eq!(r.status, 404);

    let q = json!({"query": "盗窃 支付宝 密码 手机", "top_k": 60});
    assert!(ids(&f.post("/v1/search", &f.judge_a, &q).json()).contains(&sealed.to_string()));
    assert!(ids(&f.post("/v1/search", &f.admin, &q).json()).contains(&sealed.to_string()));
    let b = f.post("/v1/search", &f.judge_b, &q).json();
    assert!(!ids(&b).contains(&sealed.to_string()));
    assert!(!b["groups"].to_string().contains(sealed));

    let r = f.get(&format!("/v1/cases/{sealed}"), &f.judge_a);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tier_label"], "指导性案例");
    assert_eq!(r.json()["must_follow"], true);
    assert_eq!(
        f.get(&format!("/v1/cases/{sealed}"), &f.judge_b).status,
        404
    );
    assert_eq!(
        f.get(&format!("/v1/cases/{sealed}/similar"), &f.judge_b)
            .status,
        404
    );

    let sim = |key: &str| {
        ids(&f
            .get("/v1/cases/sample:001/similar?top_k=60&mode=bm25", key)
            .json())
    };
    assert!(sim(&f.judge_a).contains(&sealed.to_string()));
    assert!(!sim(&f.judge_b).contains(&sealed.to_string()));

    let cites = |key: &str| {
        f.get("/v1/statutes/刑法/264?top_k=100", key).json()["citing_cases"].to_string()
    };
    assert!(cites(&f.judge_a).contains(sealed));
    assert!(!cites(&f.judge_b).contains(sealed));

    let report =
        json!({"pending_case": {"title": "张某盗窃案"}, "query": q, "similar_to": "sample:001"});
    let ra = f.post("/v1/reports", &f.judge_a, &report);
    assert_eq!(ra.status, 201, "{}", ra.body);
    assert!(ra.body.contains(sealed));
    let rb = f.post("/v1/reports", &f.judge_b, &report);
    assert_eq!(rb.status, 201);
    assert!(!rb.body.contains(sealed));
    let r = f.post(
        "/v1/reports",
        &f.judge_b,
        &json!({"query": {"query": "盗窃"}, "similar_to": sealed}),
    );
    assert_eq!(r.status, 404);

    // making it public again shows it to everyone
    f.put(
        &format!("/v1/admin/cases/{sealed}/visibility"),
        &f.admin,
        &json!({"courts": []}),
    );
    assert_eq!(
        f.get(&format!("/v1/cases/{sealed}"), &f.judge_b).status,
        200
    );
}

#[test]
fn reports_in_three_formats_and_the_audit_log() {
    let f = start(true, None);
    let body = json!({
        "pending_case": {"title": "王某盗窃案", "case_number": "（2025）京0105刑初1号", "court": "甲法院", "facts": "被告人王某趁被害人不备，偷走其手机一部。"},
        "query": {"query": "趁被害人不备 偷走手机", "charges": ["盗窃罪"], "statutes": [{"law": "刑法", "article": 264}], "top_k": 5},
        "format": "json"
    });
    let r = f.post("/v1/reports", &f.judge_a, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    let rep = r.json();
    let id = rep["id"].as_str().expect("id").to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/reports/{id}").as_str())
    );
    assert_eq!(rep["platform"], "leian");
    assert_eq!(rep["searcher"]["court"], "甲法院");
    assert_eq!(rep["searcher"]["role"], "judge");
    assert_eq!(rep["methods"], json!(["keyword", "statute"]));
    assert!(rep["created_at"].as_str().expect("ts").ends_with('Z'));
    assert_eq!(rep["tiers"][0]["tier"], "guiding");
    let first = &rep["tiers"][0]["cases"][0];
    assert_eq!(first["effect"], "应当参照");
    assert!(!first["key_passage"].as_str().expect("passage").is_empty());
    assert!(rep["conclusion"]
        .as_str()
        .expect("conclusion")
        .contains("指导性案例"));
    let total: usize = rep["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .map(|t| t["cases"].as_array().expect("cases").len())
        .sum();
    assert_eq!(rep["total"], total);
    assert!(total > 0 && total <= 5);

    let md = f.get(&format!("/v1/reports/{id}?format=markdown"), &f.judge_a);
    assert_eq!(md.status, 200);
    assert!(md
        .header("content-type")
        .expect("ctype")
        .starts_with("text/markdown"));
    assert!(md.body.starts_with("# 类案检索报告"));
    assert!(md.body.contains("应当参照") && md.body.contains("王某盗窃案"));
    let html = f.get(&format!("/v1/reports/{id}?format=html"), &f.judge_a);
    assert_eq!(html.status, 200);
    assert!(html
        .header("content-type")
        .expect("ctype")
        .starts_with("text/html"));
    assert!(
        html.body.contains("<style>")
            && html.body.contains("类案检索报告")
            && html.body.contains("（2025）京0105刑初1号")
    );
    assert!(
        !html.body.contains("<link") && !html.body.contains("<script"),
        "self-contained"
    );
    let js = f.get(&format!("/v1/reports/{id}"), &f.admin);
    assert_eq!(js.json()["id"], id.as_str());
    let r = f.post(
        "/v1/reports",
        &f.judge_a,
        &json!({"query": {"query": "盗窃"}, "format": "html"}),
    );
    assert_eq!(r.status, 201);
    assert!(r.body.starts_with("<!doctype html>"));
    // another court's judge cannot read it
    assert_eq!(f.get(&format!("/v1/reports/{id}"), &f.judge_b).status, 404);
    assert_eq!(f.get("/v1/reports/none", &f.judge_a).status, 404);

    // every search, case view and report is in the audit log
    f.post("/v1/search", &f.judge_b, &json!({"query": "醉酒驾驶"}));
    f.get("/v1/cases/sample:001", &f.judge_b);
    let all = f.get("/v1/audit", &f.admin);
    assert_eq!(all.status, 200);
    let rows = all.json();
    let rows = rows.as_array().expect("rows");
    let actions: Vec<&str> = rows.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions[0], "view_case", "newest first: {actions:?}");
    assert_eq!(actions[1], "search");
    assert!(actions.contains(&"report") && actions.contains(&"view_report"));
    assert_eq!(rows[0]["court"], "乙法院");
    assert_eq!(rows[0]["result_ids"], json!(["sample:001"]));
    assert_eq!(rows[1]["query"], "醉酒驾驶");
    let reports = f.get("/v1/audit?action=report", &f.admin).json();
    let reports = reports.as_array().expect("rows");
    assert_eq!(reports.len(), 2);
    assert!(reports[1]["query"]
        .as_str()
        .expect("q")
        .contains("刑法第264条"));
    assert!(!reports[1]["result_ids"].as_array().expect("ids").is_empty());
    let by_court = f.get("/v1/audit?court=乙法院", &f.admin).json();
    assert_eq!(by_court.as_array().expect("rows").len(), 2);
    let future = f.get("/v1/audit?since=2999-01-01", &f.admin).json();
    assert_eq!(future.as_array().expect("rows").len(), 0);
}

#[test]
fn statutes_metrics_openapi_and_page() {
    let f = start(true, Some("demo-key-123".into()));
    let r = f.get("/v1/statutes/刑法/264", &f.judge_a);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (v["law"].as_str(), v["article"].as_u64()),
        (Some("刑法"), Some(264))
    );
    let citing = v["citing_cases"].as_array().expect("citing");
    assert!(!citing.is_empty());
    assert_eq!(citing[0]["tier"], "guiding");
    assert!(citing
        .iter()
        .all(|h| h["statutes"].to_string().contains("刑法第264条")));
    let full = f.get("/v1/statutes/《中华人民共和国刑法》/２６４", &f.judge_a);
    assert_eq!(full.json()["citing_cases"], v["citing_cases"]);
    assert_eq!(f.get("/v1/statutes/刑法/9999", &f.judge_a).status, 404);

    let health = request(f.addr(), "GET", "/healthz", None, None).json();
    let cases = health["cases"].as_u64().expect("cases");
    assert!(cases >= 66, "{health}");
    let m = request(f.addr(), "GET", "/metrics", None, None);
    assert_eq!(m.status, 200);
    assert!(m.body.contains(&format!("leian_index_cases {cases}")));
    assert!(m.body.contains("leian_index_generation 1"));
    assert!(
        m.body
            .contains("route=\"/v1/statutes/{law}/{article}\",status=\"200\"} 2"),
        "{}",
        m.body
    );
    assert!(m
        .body
        .contains("route=\"/v1/statutes/{law}/{article}\",status=\"404\"} 1"));
    assert!(m
        .body
        .contains("leian_http_request_duration_seconds_bucket{le=\"+Inf\"}"));

    let doc = request(f.addr(), "GET", "/v1/openapi.json", None, None).json();
    for p in [
        "/v1/search",
        "/v1/cases/{id}",
        "/v1/cases/{id}/similar",
        "/v1/statutes/{law}/{article}",
        "/v1/reports",
        "/v1/reports/{id}",
        "/v1/audit",
        "/v1/admin/cases/{id}/visibility",
        "/v1/whoami",
        "/healthz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(p).is_some(), "openapi lacks {p}");
    }
    assert!(doc["components"]["schemas"].get("SearchBody").is_some());
    // every keyed operation documents the errors any of them can answer, in the one shape
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        if !path.starts_with("/v1/") || path == "/v1/openapi.json" {
            continue;
        }
        for (method, op) in item.as_object().expect("path item") {
            for code in ["400", "401", "403", "413", "429", "503"] {
                let schema = &op["responses"][code]["content"]["application/json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} lacks {code}"
                );
            }
            assert!(op.get("security").is_some(), "{method} {path}: no security");
        }
    }
    let report = &paths["/v1/reports/{id}"]["get"]["responses"]["200"]["content"];
    for ty in ["application/json", "text/markdown", "text/html"] {
        assert!(report.get(ty).is_some(), "report as {ty} undocumented");
    }

    let page = request(f.addr(), "GET", "/", None, None);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("content=\"demo-key-123\""),
        "demo key injected"
    );
    assert_eq!(request(f.addr(), "GET", "/app.js", None, None).status, 200);
    assert_eq!(
        request(f.addr(), "GET", "/style.css", None, None).status,
        200
    );
}

#[test]
fn no_demo_key_outside_demo_mode_and_graceful_shutdown() {
    let f = start(false, None);
    let page = request(f.addr(), "GET", "/", None, None);
    assert!(page
        .body
        .contains("<meta name=\"leian-demo-key\" content=\"\">"));
    let addr = f.addr();
    let Fixture { server, _dir, .. } = f;
    server.shutdown().expect("clean shutdown");
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
    drop(_dir);
}

#[test]
fn search_api_and_cli_share_the_default_legal_ranking() {
    let f = start(true, None);
    let facts = "被告人趁被害人不备，在超市内窃取其放在购物车中的手机一部，价值人民币三千余元，后被抓获，到案后如实供述。";
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": facts, "charges": ["盗窃罪"], "top_k": 8, "explain": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["ranking"], "legal", "{}", r.body);
    assert!(!v["ranker"].as_str().unwrap_or("").is_empty());
    let hits = v["hits"].as_array().expect("hits");
    assert!(!hits.is_empty());
    let legal = &hits[0]["explain"]["legal"];
    assert_eq!(legal["charges_given"], true, "{}", r.body);
    assert_eq!(legal["query_charges"], json!(["盗窃罪"]));
    let parts = legal["contributions"].as_array().expect("contributions");
    assert!(parts.iter().any(|c| c["feature"] == "charge"), "{legal}");
    for c in parts {
        let (value, weight) = (c["value"].as_f64().unwrap(), c["weight"].as_f64().unwrap());
        assert!((value * weight - c["contribution"].as_f64().unwrap()).abs() < 1e-4);
    }
    // a case of the given charge ranks first among the non-guiding hits, and shares it
    let theft = hits
        .iter()
        .find(|h| {
            h["explain"]["legal"]["shared_charges"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .expect("a hit sharing the charge");
    assert!(theft["charges"].to_string().contains("盗窃"), "{theft}");

    // the command line with the same inputs gives the same order
    let index = f._dir.path().to_str().expect("utf-8 path");
    let out = crate::leian_ok(&[
        "search",
        "--index",
        index,
        "--no-model",
        "--json",
        "--authority-order",
        "--top-k",
        "8",
        "--legal-charge",
        "盗窃罪",
        facts,
    ]);
    let cli: Value = serde_json::from_str(&out).expect("json");
    let cli_ids: Vec<String> = cli
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(cli_ids, ids(&v), "API and CLI order");

    // without charges they are inferred, and the answer says so
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": facts, "top_k": 8, "explain": true}),
    );
    let v = r.json();
    assert_eq!(
        v["hits"][0]["explain"]["legal"]["charges_given"], false,
        "{}",
        r.body
    );
    // and `fusion` is still there for who asks
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": facts, "top_k": 8, "ranking": "fusion", "explain": true}),
    );
    let v = r.json();
    assert_eq!(v["ranking"], "fusion");
    assert!(v["hits"][0]["explain"]["legal"].is_null());
}

/// The relevance floor: a query nothing in the sample is similar to gets an honest
/// "nothing similar" (no hit, no guiding case marked 应当参照); with the floor off the
/// same query returns the weak matches it turned away; on-topic hits carry a relevance
/// at or above the floor, and similar cases / reports apply it too.
#[test]
fn off_topic_queries_get_nothing_similar_instead_of_a_guiding_case() {
    let f = start(true, None);
    for off in [
        "量子计算机专利侵权",
        "红烧肉的家常做法",
        "明天北京的天气怎么样",
    ] {
        let v = f
            .post(
                "/v1/search",
                &f.judge_a,
                &json!({"query": off, "top_k": 20}),
            )
            .json();
        assert_eq!(v["nothing_similar"], true, "{off}: {v}");
        assert_eq!(v["hits"].as_array().map(Vec::len), Some(0), "{off}: {v}");
        let floor = v["floor"].as_f64().expect("the floor applied is named");
        assert!(floor > 0.0 && floor < 1.0);
        // turned off, the floor's work shows: weak matches come back, each below it
        let weak = f
            .post(
                "/v1/search",
                &f.judge_a,
                &json!({"query": off, "top_k": 20, "floor": 0}),
            )
            .json();
        assert_eq!(weak["nothing_similar"], false);
        assert!(weak["floor"].is_null());
        for h in weak["hits"].as_array().expect("hits") {
            let rel = h["relevance"].as_f64().expect("relevance");
            assert!(rel < floor, "{off}: a hit above the floor was hidden: {h}");
        }
    }
    // at least one off-topic query does match something weakly: the test can fail
    let weak = f
        .post(
            "/v1/search",
            &f.judge_a,
            &json!({"query": "量子计算机专利侵权 手机", "top_k": 20, "floor": 0}),
        )
        .json();
    assert!(!weak["hits"].as_array().expect("hits").is_empty(), "{weak}");
    // on topic: hits, each at or above the floor
    let v = f
        .post(
            "/v1/search",
            &f.judge_a,
            &json!({"query": "醉酒驾驶机动车", "top_k": 20}),
        )
        .json();
    assert_eq!(v["nothing_similar"], false);
    let hits = v["hits"].as_array().expect("hits");
    assert!(!hits.is_empty(), "{v}");
    let floor = v["floor"].as_f64().expect("floor");
    for h in hits {
        assert!(
            h["relevance"].as_f64().expect("relevance") >= floor - 1e-6,
            "{h}"
        );
    }
    // a floor outside 0..=1 is a clear 400
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃", "floor": 1.5}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("floor"), "{}", r.body);
}

/// The audit log holds denied requests (401 without a valid key, 403 with the refused key),
/// visibility changes and pending-case registration, and keeps a long pasted text as an
/// excerpt with its length and SHA-256 instead of the whole of it.
#[test]
fn denied_requests_state_changes_and_long_texts_in_the_audit_log() {
    let f = start(true, None);
    let a = f.addr();
    let rows = |action: &str| -> Vec<Value> {
        f.get(&format!("/v1/audit?action={action}"), &f.admin)
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    // 401: no key, and a wrong key
    assert_eq!(request(a, "GET", "/v1/whoami", None, None).status, 401);
    assert_eq!(
        request(a, "GET", "/v1/whoami", Some("not-a-key"), None).status,
        401
    );
    let denied = rows("denied_401");
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0]["key_id"], 0);
    assert_eq!(denied[0]["role"], "none");
    assert_eq!(denied[0]["query"], "GET /v1/whoami");
    // 403: a judge asking for the audit log itself is refused, and that is logged with
    // the judge's key
    assert_eq!(f.get("/v1/audit", &f.judge_a).status, 403);
    let denied = rows("denied_403");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["court"], "甲法院");
    assert_eq!(denied[0]["role"], "judge");
    assert_eq!(denied[0]["query"], "GET /v1/audit");
    // a visibility change
    let r = request(
        a,
        "PUT",
        "/v1/admin/cases/sample:001/visibility",
        Some(&f.admin),
        Some(r#"{"courts":["甲法院"]}"#.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let vis = rows("set_visibility");
    assert_eq!(vis.len(), 1);
    assert_eq!(vis[0]["result_ids"], json!(["sample:001"]));
    assert!(
        vis[0]["query"].as_str().unwrap_or("").contains("甲法院"),
        "{vis:?}"
    );
    // a pending case registered
    let r = f.post(
        "/v1/pending-cases",
        &f.judge_a,
        &json!({"title": "王某盗窃案", "facts": "被告人王某趁被害人不备，偷走其手机一部。", "charges": ["盗窃罪"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let reg = rows("register_pending");
    assert_eq!(reg.len(), 1);
    assert!(reg[0]["query"]
        .as_str()
        .unwrap_or("")
        .contains("王某盗窃案"));
    // a 10,000-character draft: an excerpt, its length and its hash, not the whole text
    let long: String = "被告人趁被害人不备窃取其手机"
        .chars()
        .cycle()
        .take(10_000)
        .collect();
    assert_eq!(
        f.post(
            "/v1/search",
            &f.judge_a,
            &json!({"query": long, "top_k": 3})
        )
        .status,
        200
    );
    let searches = rows("search");
    let q = searches[0]["query"].as_str().unwrap_or("");
    assert!(
        q.chars().count() < 400,
        "{} characters kept",
        q.chars().count()
    );
    assert!(
        q.starts_with("被告人趁被害人不备") && q.contains("10000 chars, sha256 "),
        "{q}"
    );
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(long.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(q.contains(&hex), "the hash identifies the exact text");
}

/// A long pasted text (over the ranking's cap) made of the sample's own facts.
fn long_paste() -> String {
    let facts: Vec<String> = std::fs::read_to_string(repo().join("sample/cases.jsonl"))
        .expect("sample")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["sections"]["facts"].as_str().map(str::to_string))
        .collect();
    let mut text = String::new();
    while text.chars().count() < 12_000 {
        for f in &facts {
            text.push_str(f);
        }
    }
    text
}

#[test]
fn a_flooding_key_gets_429_with_retry_after_while_another_key_is_served() {
    let f = std::sync::Arc::new(start_with(
        true,
        ServerOptions {
            max_concurrent: 4,
            per_key: leian_server::KeyLimits {
                concurrent: 2,
                per_minute: 1_000_000,
                burst: 100_000,
                heavy_concurrent: 1,
            },
            ..ServerOptions::default()
        },
    ));
    let paste = long_paste();
    let start = std::sync::Arc::new(std::sync::Barrier::new(13));
    let mut flood = Vec::new();
    for _ in 0..12 {
        let (f, start, paste) = (f.clone(), start.clone(), paste.clone());
        flood.push(std::thread::spawn(move || {
            start.wait();
            (0..3)
                .map(|_| {
                    let r = f.post(
                        "/v1/search",
                        &f.judge_a,
                        &json!({"query": paste, "top_k": 10, "floor": 0}),
                    );
                    let retry = r.header("retry-after").map(str::to_string);
                    (r.status, retry, r.body)
                })
                .collect::<Vec<_>>()
        }));
    }
    start.wait();
    // another key, meanwhile: every keyword query answered
    for _ in 0..5 {
        let r = f.post(
            "/v1/search",
            &f.judge_b,
            &json!({"query": "盗窃 手机", "top_k": 5}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let answers: Vec<_> = flood
        .into_iter()
        .flat_map(|t| t.join().expect("flood thread"))
        .collect();
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert!(
        !refused.is_empty(),
        "no 429 among {} requests",
        answers.len()
    );
    for (_, retry, body) in &refused {
        let secs: u64 = retry
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!(secs >= 1);
        let v: Value = serde_json::from_str(body).expect("JSON error");
        assert_eq!(v["error"]["code"], "too_many_requests", "{body}");
    }
    assert!(
        answers.iter().any(|(s, _, _)| *s == 200),
        "some flood requests are served"
    );
    assert!(
        answers.iter().all(|(s, _, _)| *s == 200 || *s == 429),
        "only 200 or 429: {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    // the flood over, the key is served again
    let r = f.post(
        "/v1/search",
        &f.judge_a,
        &json!({"query": "盗窃", "top_k": 5}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn a_key_past_its_rate_waits_as_retry_after_says() {
    let f = start_with(
        true,
        ServerOptions {
            per_key: leian_server::KeyLimits {
                concurrent: 4,
                per_minute: 60,
                burst: 3,
                heavy_concurrent: 1,
            },
            ..ServerOptions::default()
        },
    );
    for _ in 0..3 {
        assert_eq!(f.get("/v1/whoami", &f.judge_a).status, 200);
    }
    let r = f.get("/v1/whoami", &f.judge_a);
    assert_eq!(r.status, 429, "{}", r.body);
    let secs: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert_eq!(f.get("/v1/whoami", &f.judge_b).status, 200, "per key");
    std::thread::sleep(std::time::Duration::from_secs(secs));
    assert_eq!(
        f.get("/v1/whoami", &f.judge_a).status,
        200,
        "after Retry-After"
    );
}

/// Every state-changing route leaves an audit row naming the key, and what it did.
#[test]
fn every_state_change_is_in_the_audit_log() {
    let f = start(true, None);
    let a = f.addr();
    let last = |action: &str| -> Value {
        let rows = f
            .get(&format!("/v1/audit?action={action}"), &f.admin)
            .json();
        rows.as_array()
            .and_then(|r| r.first().cloned())
            .unwrap_or_else(|| panic!("no {action} row: {rows}"))
    };
    let ok = |r: Resp| -> Value {
        assert!(
            r.status == 200 || r.status == 201 || r.status == 202,
            "{} {}",
            r.status,
            r.body
        );
        r.json()
    };
    // subscriptions
    let sub = ok(f.post(
        "/v1/subscriptions",
        &f.judge_a,
        &json!({"charges": ["危险驾驶罪"]}),
    ));
    let sid = sub["id"].as_str().expect("id").to_string();
    let row = last("subscribe");
    assert_eq!(row["result_ids"], json!([sid.clone()]));
    assert_eq!(row["court"], "甲法院");
    assert!(
        row["query"].as_str().unwrap_or("").contains("危险驾驶罪"),
        "{row}"
    );
    ok(request(
        a,
        "DELETE",
        &format!("/v1/subscriptions/{sid}"),
        Some(&f.judge_a),
        None,
    ));
    assert_eq!(last("cancel_subscription")["result_ids"], json!([sid]));
    // webhooks: the URL, never the secret
    let secret = "a-webhook-secret-0123456789";
    ok(f.put(
        "/v1/webhooks",
        &f.admin,
        &json!({"url": "http://127.0.0.1:9/hook", "secret": secret}),
    ));
    let row = last("set_webhook");
    assert_eq!(row["query"], "http://127.0.0.1:9/hook");
    let all = f.get("/v1/audit?limit=1000", &f.admin).body;
    assert!(!all.contains(secret), "a secret in the audit log");
    // admin ingest (a guiding case that reaches a pending case), ack, feedback, delete
    let pending = ok(f.post(
        "/v1/pending-cases",
        &f.judge_a,
        &json!({"facts": "被告人醉酒后驾驶机动车在道路上行驶，血液酒精含量为一百六十毫克每百毫升。", "charges": ["危险驾驶罪"]}),
    ));
    let pid = pending["id"].as_str().expect("id").to_string();
    let case = json!({
        "id": "audit-guiding:1", "title": "指导案例996号：醉驾案（测试）", "tier": "guiding",
        "category": "criminal", "charges": ["危险驾驶罪"],
        "sections": {"facts": "被告人醉酒后驾驶小型轿车在道路上行驶，被交警查获，血液酒精含量为一百八十毫克每百毫升。"}
    });
    ok(f.post("/v1/cases", &f.admin, &case));
    assert_eq!(last("ingest")["result_ids"], json!(["audit-guiding:1"]));
    let inbox = ok(f.get(&format!("/v1/pushes?pending_case={pid}"), &f.judge_a));
    let push = inbox["pushes"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["case_id"] == "audit-guiding:1"))
        .cloned()
        .expect("pushed");
    let push_id = push["id"].as_i64().expect("id");
    ok(f.post(&format!("/v1/pushes/{push_id}/ack"), &f.judge_a, &json!({})));
    let row = last("ack_push");
    assert_eq!(row["query"], format!("push {push_id}"));
    assert_eq!(row["result_ids"], json!(["audit-guiding:1"]));
    ok(f.post(
        &format!("/v1/pushes/{push_id}/feedback"),
        &f.judge_a,
        &json!({"useful": false}),
    ));
    assert_eq!(
        last("push_feedback")["query"],
        format!("push {push_id}: not useful")
    );
    ok(f.put(
        &format!("/v1/pending-cases/{pid}"),
        &f.judge_a,
        &json!({"title": "改名"}),
    ));
    assert!(f
        .get("/v1/audit?action=update_pending", &f.admin)
        .body
        .contains(&pid));
    ok(f.post(
        &format!("/v1/pending-cases/{pid}/close"),
        &f.judge_a,
        &json!({}),
    ));
    assert_eq!(last("close_pending")["query"], pid);
    ok(request(
        a,
        "DELETE",
        "/v1/cases/audit-guiding:1",
        Some(&f.admin),
        None,
    ));
    assert_eq!(
        last("delete_case")["result_ids"],
        json!(["audit-guiding:1"])
    );
    // a saved report, a rebuild
    ok(f.post(
        "/v1/reports",
        &f.judge_a,
        &json!({"query": {"query": "盗窃 手机"}}),
    ));
    last("report");
    let job = ok(f.post("/v1/admin/rebuild", &f.admin, &json!({})));
    assert_eq!(last("rebuild")["result_ids"], json!([job["id"].clone()]));
    // filters by key: the judge's rows are the judge's
    let me = f.get("/v1/whoami", &f.judge_a).json();
    let mine = f
        .get(&format!("/v1/audit?key={}&limit=1000", me["id"]), &f.admin)
        .json();
    let mine = mine.as_array().expect("rows");
    assert!(mine.len() >= 6, "{mine:?}");
    assert!(mine.iter().all(|r| r["key_id"] == me["id"]));
}

/// The audit log is append-only through the API: every route of the OpenAPI document,
/// called with every method it has by an admin key, leaves every earlier row as it was.
#[test]
fn no_route_changes_or_deletes_an_audit_row() {
    let f = start(true, None);
    let a = f.addr();
    let audit = || -> Vec<Value> {
        f.get("/v1/audit?limit=1000", &f.admin)
            .json()
            .as_array()
            .cloned()
            .expect("rows")
    };
    // some history first
    f.post("/v1/search", &f.judge_a, &json!({"query": "盗窃"}));
    f.get("/v1/cases/sample:001", &f.judge_b);
    assert_eq!(f.get("/v1/audit", &f.judge_a).status, 403);
    let before = audit();
    assert!(before.len() >= 3);
    let doc = f.get("/v1/openapi.json", &f.admin).json();
    let paths = doc["paths"].as_object().expect("paths");
    let mut calls = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "1")
            .replace("{law}", "刑法")
            .replace("{article}", "264");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() || path.ends_with("/stream") {
                continue;
            }
            for body in [&b"{}"[..], br#"{"id":"1","rows":[],"action":"delete"}"#] {
                let r = request(
                    a,
                    &method.to_uppercase(),
                    &concrete,
                    Some(&f.admin),
                    Some(body),
                );
                assert!(
                    r.status < 500,
                    "{method} {concrete}: {} {}",
                    r.status,
                    r.body
                );
                calls += 1;
            }
        }
    }
    assert!(calls > 40, "{calls} calls");
    // wait for a rebuild the sweep may have started, then compare
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = audit();
    assert!(after.len() > before.len(), "the sweep itself is logged");
    for row in &before {
        assert!(after.contains(row), "row changed or gone: {row}");
    }
    let ids: Vec<i64> = after.iter().filter_map(|r| r["id"].as_i64()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|x, y| y.cmp(x));
    sorted.dedup();
    assert_eq!(ids, sorted, "newest first, each row once");
}
