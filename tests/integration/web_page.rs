//! The web page in headless Chromium, driven over the W3C WebDriver HTTP API by a tiny
//! hand-written client: start `leian serve --demo` on the sample corpus, search, open a case,
//! make a 类案检索报告, and save screenshots to `target/test-output/web_page_*.png`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`; without them the test prints a
//! note and passes, unless `LEIAN_REQUIRE_BROWSER=1` (CI), where their absence is a failure.

use crate::{leian_ok, path_str, repo};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any single wait (server start, results, report) may take before the test fails.
const WAIT: Duration = Duration::from_secs(60);
/// The W3C key for a web element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[test]
fn search_open_case_and_make_a_report_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let site = Site::on_sample();
    let (server, out_dir) = (&site.server, &site.out_dir);
    let key = server.demo_key();
    assert!(
        !key.is_empty(),
        "demo mode fills the leian-demo-key meta tag"
    );

    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().expect("tempdir");
    let s = driver.session(&chromium, profile.path());

    // search: type into the one-line box and press Enter
    s.navigate(&server.url("/"));
    let q = s.find("#q");
    s.send_keys(&q, "醉酒驾驶\u{E007}");
    let results = s.wait_text("#results .hit", "search results");
    assert!(
        results.contains("危险驾驶罪"),
        "a 危险驾驶罪 result shows for 醉酒驾驶:\n{results}"
    );
    let ids: Vec<String> = s
        .script("return [...document.querySelectorAll('#results .hit')].map(h => h.dataset.id)")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(!ids.is_empty(), "hits carry their case id");
    // highlighted snippets arrive as <mark> elements, not as escaped text
    let marks = s.script("return document.querySelectorAll('#results .snippet mark').length");
    assert!(marks.as_u64().unwrap_or(0) > 0, "snippets show highlights");
    assert!(
        !results.contains("<mark>"),
        "snippet markup is rendered, not shown"
    );
    for junk in ["[object", "undefined", "null", "NaN"] {
        assert!(
            !results.contains(junk),
            "no {junk:?} in the results:\n{results}"
        );
    }
    s.screenshot(&out_dir.join("web_page_results.png"));

    // open the first hit (with authority ordering, the guiding case 902 when present)
    let first = open_case(&s, server, &key, "#results .hit", &ids[0]);
    if first["tier"] == "guiding" {
        s.screenshot(&out_dir.join("web_page_guiding.png"));
        // then the first ordinary judgment, whose reasoning is the court's 本院认为
        let judgment = s
            .script("const h = document.querySelector('#results .group-other .hit'); return h ? h.dataset.id : null");
        let id = judgment.as_str().expect("a judgment among the hits");
        open_case(&s, server, &key, "#results .group-other .hit", id);
    }
    s.screenshot(&out_dir.join("web_page_case.png"));
    s.click(&s.find("#drawer-close"));

    // one-click report: created, fetched with the key, shown in the page
    s.click(&s.find("#report-btn"));
    let report = s.wait_script(
        "const f = document.querySelector('#report-frame');\
         const d = f && f.contentDocument;\
         return d && d.body ? d.body.innerText : ''",
        "report content",
    );
    assert!(
        report.contains("类案检索报告"),
        "the report is shown:\n{report}"
    );
    assert!(
        report.contains("危险驾驶"),
        "the report lists the cases found:\n{report}"
    );
    let status = s.text(&s.find("#report-status"));
    assert!(
        status.contains("报告编号"),
        "status names the report: {status}"
    );
    s.screenshot(&out_dir.join("web_page_report.png"));
}

/// The page searches with the default (legal) ranking: with the judge's charge filled in
/// (completed from the indexed charges), the guiding case on point appears, marked
/// 应当参照, with the reasons it ranks there.
#[test]
fn guiding_case_on_point_shows_with_its_reasons_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let site = Site::on_sample();
    let (server, out_dir) = (&site.server, &site.out_dir);
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().expect("tempdir");
    let s = driver.session(&chromium, profile.path());
    s.navigate(&server.url("/"));
    // completion: the charges of the indexed cases fill the datalist
    let options = s.wait_script(
        "const o = [...document.querySelectorAll('#charge-list option')].map(x => x.value);\
         return o.length ? o.join(',') : ''",
        "charge completion",
    );
    assert!(options.contains("盗窃罪"), "{options}");
    s.script("document.querySelector('#charges').value = '盗窃罪'; return 1");
    let q = s.find("#q");
    s.send_keys(
        &q,
        "被告人在手机店帮被害人设置手机时记下其支付宝密码，后趁其不备用其手机将支付宝内资金转入自己账户\u{E007}",
    );
    s.wait_text("#results .hit", "search results");
    let card = s.wait_script(
        "const h = document.querySelector('#results .hit[data-id=\"sample-guiding:1\"]');\
         return h ? h.innerText : ''",
        "the guiding case on point",
    );
    assert!(card.contains("应当参照"), "{card}");
    assert!(card.contains("相似理由"), "the reasons show:\n{card}");
    assert!(card.contains("罪名相同：盗窃罪"), "{card}");
    assert!(
        card.contains("按所填罪名"),
        "says the charge was the judge's:\n{card}"
    );
    for junk in ["[object", "undefined", "NaN"] {
        assert!(!card.contains(junk), "no {junk:?}:\n{card}");
    }
    s.screenshot(&out_dir.join("web_page_reasons.png"));
}

/// The consistency check (裁判偏离预警) next to the draft: a theft draft proposing 240
/// months gets a warning, a chart of the similar thefts' terms and their list.
#[test]
fn consistency_check_shows_a_chart_next_to_the_draft_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let site = Site::on_sample();
    let (server, out_dir) = (&site.server, &site.out_dir);
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().expect("tempdir");
    let s = driver.session(&chromium, profile.path());
    s.navigate(&server.url("/"));
    s.send_keys(
        &s.find("#draft"),
        "被告人李某在公交车站趁乘客拥挤之机，扒窃被害人背包内的手机一部，价值人民币2500元。李某到案后如实供述自己的罪行。",
    );
    s.send_keys(&s.find("#charges"), "盗窃罪");
    s.click(&s.find("#consistency-form summary"));
    s.send_keys(&s.find("#proposed-term"), "240");
    s.click(&s.find("#consistency-btn"));
    let level = s.wait_text("#consistency .level", "the consistency result");
    assert!(
        level.contains("偏离预警"),
        "240 months for a theft warns: {level}"
    );
    let dots = s.script(
        "return document.querySelectorAll('#consistency svg.dist-chart circle.dot').length",
    );
    assert!(
        dots.as_u64().unwrap_or(0) >= 8,
        "one dot per similar theft with a term: {dots}"
    );
    let marker = s.script(
        "return document.querySelectorAll('#consistency svg .proposed-mark.warning').length",
    );
    assert_eq!(marker, json!(1), "the draft's term is marked");
    let text = s.text(&s.find("#consistency"));
    assert!(
        text.contains("盗窃"),
        "the similar thefts are listed:\n{text}"
    );
    for junk in ["[object", "undefined", "null", "NaN"] {
        assert!(!text.contains(junk), "no {junk:?} in the check:\n{text}");
    }
    s.screenshot(&out_dir.join("web_page_consistency.png"));
}

/// An off-topic query gets the honest answer, not a guiding case marked 应当参照.
#[test]
fn off_topic_query_shows_nothing_similar_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let site = Site::on_sample();
    let (server, out_dir) = (&site.server, &site.out_dir);
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().expect("tempdir");
    let s = driver.session(&chromium, profile.path());
    s.navigate(&server.url("/"));
    // a server without a model offers keyword search only
    let mode = s.wait_script(
        "const m = document.querySelector('#mode');\
         return m.value === 'bm25' && m.querySelector('option[value=hybrid]').disabled ? m.value : ''",
        "the mode selector to show what the server can do",
    );
    assert_eq!(mode, "bm25");
    s.send_keys(&s.find("#q"), "量子计算机专利侵权\u{E007}");
    let text = s.wait_text("#results .nothing-similar", "the honest answer");
    assert!(text.contains("未检索到足够相似的案例"), "{text}");
    assert_eq!(
        s.script("return document.querySelectorAll('#results .badge.must').length"),
        json!(0),
        "no case marked 应当参照"
    );
    assert_eq!(
        s.script("return document.querySelectorAll('#results .hit').length"),
        json!(0)
    );
    // a query on point still finds its cases
    s.script("document.querySelector('#q').value = ''; return 1");
    s.send_keys(&s.find("#q"), "醉酒驾驶\u{E007}");
    let hits = s.wait_text("#results .hit", "search results");
    assert!(hits.contains("危险驾驶罪"), "{hits}");
    s.screenshot(&out_dir.join("web_page_nothing_similar.png"));
}

/// The consistency check shows the statutory range (法定刑) of 危险驾驶罪, read from the
/// statute text: 有期徒刑 24 months is not a penalty the article allows (拘役 only).
#[test]
fn consistency_shows_the_statutory_bound_for_dangerous_driving_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let Some(data) = crate::shared_data() else {
        return;
    };
    let out_dir = repo().join("target/test-output");
    std::fs::create_dir_all(&out_dir).expect("create target/test-output");
    let index = tempfile::tempdir().expect("tempdir");
    leian_ok(&[
        "ingest",
        path_str(&repo().join("sample")),
        path_str(&data.join("statutes/articles.jsonl")),
        "--index",
        path_str(index.path()),
        "--quiet",
    ]);
    let server = Server::start(index.path(), &out_dir);
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().expect("tempdir");
    let s = driver.session(&chromium, profile.path());
    s.navigate(&server.url("/"));
    s.send_keys(
        &s.find("#draft"),
        "被告人方某饮酒后驾驶小型轿车在城市道路上行驶，被执勤民警查获，经检验其血液中乙醇含量为150mg/100ml。",
    );
    s.send_keys(&s.find("#charges"), "危险驾驶罪");
    s.click(&s.find("#consistency-form summary"));
    s.script("document.querySelector('#proposed-penalty').value = 'fixed_term'; return 1");
    s.send_keys(&s.find("#proposed-term"), "24");
    s.click(&s.find("#consistency-btn"));
    let block = s.wait_text("#consistency .statutory", "the statutory range");
    assert!(
        block.contains("危险驾驶罪") && block.contains("第133条之1"),
        "{block}"
    );
    assert!(block.contains("处拘役，并处罚金"), "{block}");
    assert!(block.contains("不是该罪法定的刑种"), "{block}");
    assert_eq!(
        s.script("return document.querySelectorAll('#consistency .statutory.outside').length"),
        json!(1)
    );
    let level = s.text(&s.find("#consistency .level"));
    assert!(level.contains("偏离预警"), "{level}");
    // 拘役 2 months is within the range: the band is marked, nothing is outside
    s.script("document.querySelector('#proposed-penalty').value = 'detention'; return 1");
    s.script("document.querySelector('#proposed-term').value = ''; return 1");
    s.send_keys(&s.find("#proposed-term"), "2");
    s.click(&s.find("#consistency-btn"));
    s.wait_script(
        "const v = document.querySelector('#consistency .statutory-verdict');\
         return v && v.innerText.includes('在法定刑幅度内') ? v.innerText : ''",
        "the proposal within the range",
    );
    assert_eq!(
        s.script("return document.querySelectorAll('#consistency .band.here').length"),
        json!(1)
    );
    s.screenshot(&out_dir.join("web_page_statutory.png"));
    // a theft of 50,000 yuan: the facts fall in the 数额巨大 band (三年以上十年以下)
    s.script("document.querySelector('#draft').value = ''; document.querySelector('#charges').value = ''; document.querySelector('#proposed-term').value = ''; return 1");
    s.send_keys(
        &s.find("#draft"),
        "被告人李某趁被害人不备，窃取其放在车内的现金人民币50000元，后被抓获。",
    );
    s.send_keys(&s.find("#charges"), "盗窃罪");
    s.script("document.querySelector('#proposed-penalty').value = 'fixed_term'; return 1");
    s.send_keys(&s.find("#proposed-term"), "48");
    s.click(&s.find("#consistency-btn"));
    let band = s.wait_script(
        "const b = document.querySelector('#consistency .band.facts');\
         return b && document.querySelector('#consistency .statutory-head').innerText.includes('盗窃罪') ? b.innerText : ''",
        "the band of the facts",
    );
    assert!(
        band.contains("数额巨大") && band.contains("三年以上十年以下"),
        "{band}"
    );
    assert!(band.contains("本案事实所在档次"), "{band}");
}

/// The push inbox: a pending case registered on the page gets its pushes grouped under its
/// title, the guiding case (应当参照) first, and a pushed case opens in the drawer.
#[test]
fn inbox_groups_pushes_by_pending_case_and_opens_a_case_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let site = Site::on_sample();
    let (server, out_dir) = (&site.server, &site.out_dir);
    let key = server.demo_key();
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().expect("tempdir");
    let s = driver.session(&chromium, profile.path());
    s.navigate(&server.url("/"));
    s.send_keys(&s.find("#pending-case-title"), "赵某盗窃案");
    s.send_keys(
        &s.find("#pending-facts"),
        "被告人赵某在手机店帮被害人设置手机时记下其支付宝密码，后趁其不备用其手机将支付宝内资金转入自己账户。",
    );
    s.send_keys(&s.find("#pending-charges"), "盗窃罪");
    s.click(&s.find("#pending-submit"));
    let group = s.wait_script(
        "const g = [...document.querySelectorAll('#inbox .inbox-group')]\
           .find(g => g.querySelector('.inbox-group-title').innerText === '赵某盗窃案');\
         return g ? g.innerText : ''",
        "the pending case's group in the inbox",
    );
    for junk in ["[object", "undefined", "null", "NaN"] {
        assert!(!group.contains(junk), "no {junk:?} in the inbox:\n{group}");
    }
    // the group's items in the order the API gives: guiding first, then by score
    let api = server.get_json("/v1/pushes?grouped=true&limit=1000", &key);
    let groups = api["groups"].as_array().expect("groups");
    let ours = groups
        .iter()
        .find(|g| g["title"] == "赵某盗窃案")
        .expect("the API groups the pushes under the pending case's title");
    let api_ids: Vec<&str> = ours["pushes"]
        .as_array()
        .expect("pushes")
        .iter()
        .filter_map(|p| p["case_id"].as_str())
        .collect();
    assert_eq!(api_ids.first(), Some(&"sample-guiding:1"), "{api_ids:?}");
    let page_ids = s.script(
        "const g = [...document.querySelectorAll('#inbox .inbox-group')]\
           .find(g => g.querySelector('.inbox-group-title').innerText === '赵某盗窃案');\
         return [...g.querySelectorAll('.inbox-item')].map(i => i.dataset.caseId)",
    );
    assert_eq!(page_ids, json!(api_ids), "the page shows the API's order");
    let first = s.find("#inbox .inbox-group .inbox-item[data-case-id=\"sample-guiding:1\"]");
    assert!(s.text(&first).contains("应当参照"), "{}", s.text(&first));
    assert!(s.text(&first).contains("推送理由"), "{}", s.text(&first));
    // open it: the drawer shows the guiding case
    s.click(&s.find("#inbox .inbox-item[data-case-id=\"sample-guiding:1\"] .inbox-open"));
    let case = server.get_json("/v1/cases/sample-guiding%3A1", &key);
    let title = case["title"].as_str().unwrap_or_default().to_string();
    assert!(!title.is_empty());
    s.wait_script(
        &format!(
            "const c = document.querySelector('#drawer .case');\
             return c && !document.querySelector('#drawer').hidden && c.innerText.includes({title:?}) ? c.innerText : ''"
        ),
        "the pushed case in the drawer",
    );
    s.screenshot(&out_dir.join("web_page_inbox.png"));
}

/// Clicks 查看 on the first hit matching `hit_css` (case `id`) and checks the drawer against
/// the case as the API returns it. Leaves the drawer open; returns the case JSON.
fn open_case(s: &Session<'_>, server: &Server, key: &str, hit_css: &str, id: &str) -> Value {
    if s.script("return !document.querySelector('#drawer').hidden") == json!(true) {
        s.click(&s.find("#drawer-close"));
    }
    let view = s.find(&format!("{hit_css} .hit-actions button"));
    assert_eq!(s.text(&view), "查看");
    s.click(&view);
    let case = server.get_json(&format!("/v1/cases/{}", encode(id)), key);
    assert_eq!(case["id"].as_str(), Some(id));
    let title = case["title"].as_str().unwrap_or_default();
    let detail = s.wait_script(
        &format!(
            "const c = document.querySelector('#drawer .case');\
             return c && c.innerText.includes({title:?}) ? c.innerText : ''"
        ),
        "the case detail",
    );
    for junk in ["[object", "undefined", "null"] {
        assert!(
            !detail.contains(junk),
            "no {junk:?} in the detail:\n{detail}"
        );
    }
    let start = |field: &str, n: usize| -> String { field.chars().take(n).collect() };
    let reasoning = start(
        case["sections"]["reasoning"].as_str().unwrap_or_default(),
        30,
    );
    assert!(
        reasoning.chars().count() >= 10 && detail.contains(&reasoning),
        "detail shows the reasoning {reasoning:?}:\n{detail}"
    );
    if case["tier"] == "guiding" {
        let gist = start(case["guiding"]["gist"].as_str().unwrap_or_default(), 20);
        assert!(
            detail.contains("裁判要点") && gist.chars().count() >= 10 && detail.contains(&gist),
            "a guiding case shows its 裁判要点 {gist:?}:\n{detail}"
        );
        assert!(
            detail.contains("应当参照"),
            "a guiding case is marked 应当参照"
        );
    } else {
        assert!(
            detail.contains("本院认为") && reasoning.starts_with("本院认为"),
            "a judgment shows the court's 本院认为:\n{detail}"
        );
    }
    case
}

/// Chromium and chromedriver, or `None` (skip) when missing and not required.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| names.iter().find_map(|n| which(n));
    let chromium = find(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find(&["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        _ if std::env::var("LEIAN_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("LEIAN_REQUIRE_BROWSER=1 but chromium or chromedriver is missing (apt-get install chromium chromium-driver)")
        }
        _ => {
            eprintln!("skipping: chromium or chromedriver not installed (apt-get install chromium chromium-driver)");
            None
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Polls `f` until it returns `Some`, failing after [`WAIT`] with `what` in the message.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Percent-encodes a path segment.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------- a minimal HTTP/1.1 client ----------

struct Response {
    status: u16,
    body: String,
}

/// One request on a fresh connection (`Connection: close`); `None` when nothing listens.
fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Option<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept: */*\r\n"
    );
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if body.is_some() {
        req.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    req.push_str(&format!(
        "Content-Length: {}\r\n\r\n{payload}",
        payload.len()
    ));
    stream.write_all(req.as_bytes()).ok()?;
    // read the head, then exactly the body: chromedriver keeps the connection open
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let mut body = raw[split + 4..].to_vec();
    let chunked = header("transfer-encoding:").is_some_and(|v| v.contains("chunked"));
    let done = |b: &[u8]| chunked && b.ends_with(b"0\r\n\r\n");
    let length: Option<usize> = header("content-length:").and_then(|v| v.parse().ok());
    while length.is_none_or(|len| body.len() < len) && !done(&body) {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if chunked {
        body = dechunk(&body);
    }
    Some(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Kills a child process this test started when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------- the leian server ----------

/// `leian serve --demo` on an index of `sample/`, screenshots to `target/test-output`.
struct Site {
    // dropped in this order: the server stops before its index is removed
    server: Server,
    out_dir: PathBuf,
    _index: tempfile::TempDir,
}

impl Site {
    fn on_sample() -> Site {
        let out_dir = repo().join("target/test-output");
        std::fs::create_dir_all(&out_dir).expect("create target/test-output");
        let index = tempfile::tempdir().expect("tempdir");
        leian_ok(&[
            "ingest",
            path_str(&repo().join("sample")),
            "--index",
            path_str(index.path()),
        ]);
        let server = Server::start(index.path(), &out_dir);
        Site {
            server,
            out_dir,
            _index: index,
        }
    }
}

struct Server {
    port: u16,
    _child: Guard,
}

impl Server {
    fn start(index: &Path, out_dir: &Path) -> Server {
        let port = free_port();
        let log = std::fs::File::create(out_dir.join("web_page_server.log")).expect("server log");
        let child = Command::new(env!("CARGO_BIN_EXE_leian"))
            .args([
                "serve",
                "--demo",
                "--index",
                path_str(index),
                "--addr",
                &format!("127.0.0.1:{port}"),
            ])
            .current_dir(repo())
            .env("RUST_LOG", "warn")
            .env("LEIAN_NO_MODEL", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("the leian binary runs");
        let mut child = Guard(child);
        wait_for("leian serve to answer /healthz", || {
            if let Ok(Some(status)) = child.0.try_wait() {
                let log = std::fs::read_to_string(out_dir.join("web_page_server.log"));
                panic!(
                    "leian serve exited with {status}: {}",
                    log.unwrap_or_default()
                );
            }
            http(port, "GET", "/healthz", None, None).filter(|r| r.status == 200)
        });
        Server {
            port,
            _child: child,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The demo key the server wrote into the page's `leian-demo-key` meta tag.
    fn demo_key(&self) -> String {
        let page = http(self.port, "GET", "/", None, None).expect("GET /");
        assert_eq!(page.status, 200, "GET / serves the page");
        let tag = page
            .body
            .split("<meta")
            .find(|t| t.contains("leian-demo-key"))
            .expect("index.html has the leian-demo-key meta tag");
        tag.split("content=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap_or_default()
            .to_string()
    }

    fn get_json(&self, path: &str, key: &str) -> Value {
        let r = http(self.port, "GET", path, None, Some(key)).expect("server answers");
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        serde_json::from_str(&r.body).expect("JSON answer")
    }
}

// ---------- WebDriver ----------

struct Driver {
    port: u16,
    _child: Guard,
}

impl Driver {
    fn start(binary: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs");
        let child = Guard(child);
        wait_for("chromedriver to be ready", || {
            let r = http(port, "GET", "/status", None, None)?;
            let v: Value = serde_json::from_str(&r.body).ok()?;
            v["value"]["ready"].as_bool().filter(|ready| *ready)
        });
        Driver {
            port,
            _child: child,
        }
    }

    fn session(&self, chromium: &Path, profile: &Path) -> Session<'_> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1440,1000",
            "--lang=zh-CN",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args}
        }}});
        let v = self.call("POST", "/session", Some(&caps));
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("new session: {v}"))
            .to_string();
        Session { driver: self, id }
    }

    /// A WebDriver command; returns its `value`, failing the test on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let r = http(self.port, method, path, body, None).expect("chromedriver answers");
        let v: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{method} {path}: bad JSON ({e}): {}", r.body));
        assert!(r.status == 200, "{method} {path} -> {}: {v}", r.status);
        v["value"].clone()
    }
}

struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Session<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn navigate(&self, url: &str) {
        self.cmd("POST", "/url", Some(&json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn click(&self, el: &str) {
        self.cmd("POST", &format!("/element/{el}/click"), Some(&json!({})));
    }

    fn send_keys(&self, el: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(&json!({ "text": text })),
        );
    }

    fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({"script": js, "args": []})),
        )
    }

    /// Waits until `js` returns a non-empty string, and returns it; an error message shown
    /// by the page fails the wait at once.
    fn wait_script(&self, js: &str, what: &str) -> String {
        wait_for(what, || {
            let err = self.script(
                "const e = document.querySelector('#error');\
                 return e && !e.hidden ? e.textContent : ''",
            );
            if let Some(e) = err.as_str().filter(|e| !e.is_empty()) {
                panic!("the page shows an error while waiting for {what}: {e}");
            }
            self.script(js)
                .as_str()
                .filter(|t| !t.trim().is_empty())
                .map(String::from)
        })
    }

    /// Waits for an element matching `css` to be present and returns the text of its
    /// closest container (the results list, the drawer).
    fn wait_text(&self, css: &str, what: &str) -> String {
        let js = format!(
            "const e = document.querySelector({css:?});\
             if (!e) return '';\
             const box = e.closest('#results, #drawer') || e;\
             return box.innerText"
        );
        self.wait_script(&js, what)
    }

    fn screenshot(&self, path: &Path) {
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(v.as_str().expect("base64 screenshot"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // closes the browser; errors are moot while the test is ending anyway
        let _ = http(
            self.driver.port,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
            None,
        );
    }
}
