// leian web page: search, case detail, similar cases, statute lookup and the 类案检索报告.
// Plain JS, no dependencies. Everything from the server is inserted as text, except the
// `snippet` field, which the API HTML-escapes and marks up with <mark> only.
"use strict";

(function () {
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));

  const TIER_ORDER = ["guiding", "typical", "higher_court", "same_court", "other"];
  const TIER_LABEL = {
    guiding: "指导性案例",
    typical: "典型案例",
    higher_court: "高级法院案例",
    same_court: "本院及上级法院案例",
    other: "其他案例",
  };
  const LEVEL_LABEL = { supreme: "最高人民法院", high: "高级人民法院", intermediate: "中级人民法院", basic: "基层人民法院" };
  const CATEGORY_LABEL = { criminal: "刑事", civil: "民事", administrative: "行政", enforcement: "执行", other: "其他" };
  const PENALTY_LABEL = {
    death: "死刑",
    life: "无期徒刑",
    fixed_term: "有期徒刑",
    detention: "拘役",
    surveillance: "管制",
    fine_only: "单处罚金",
    exempt: "免予刑事处罚",
  };
  const MODE_LABEL = { hybrid: "混合检索", bm25: "关键词检索", dense: "语义检索" };
  const PAGE = 20;

  const state = {
    lastBody: null, // the last POST /v1/search body, reused by paging and the report
    hits: [],
    groups: [],
    total: 0,
    drawerStack: [], // views shown in the drawer, for the back button
    reportUrls: [],
  };

  // ---------- API key ----------

  const demoMeta = document.querySelector('meta[name="leian-demo-key"]');
  const demoKey = demoMeta ? (demoMeta.getAttribute("content") || "").trim() : "";
  const keyInput = $("#api-key");
  if (demoKey) {
    keyInput.value = demoKey;
    $("#demo-tag").hidden = false;
    $("#keybox").classList.add("demo");
  } else {
    try {
      keyInput.value = localStorage.getItem("leian-api-key") || "";
    } catch (_) {
      /* storage may be disabled */
    }
  }
  keyInput.addEventListener("change", () => {
    try {
      localStorage.setItem("leian-api-key", keyInput.value.trim());
    } catch (_) {
      /* ignore */
    }
  });
  const apiKey = () => keyInput.value.trim() || demoKey;

  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function request(method, path, body, accept) {
    const headers = { Accept: accept || "application/json" };
    const key = apiKey();
    if (key) headers.Authorization = "Bearer " + key;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError("无法连接服务器：" + e.message, 0, "network");
    }
    if (!res.ok) {
      let message = "请求失败（HTTP " + res.status + "）";
      let code = "http_" + res.status;
      try {
        const j = await res.json();
        if (j && j.error) {
          message = j.error.message || message;
          code = j.error.code || code;
        }
      } catch (_) {
        /* not JSON */
      }
      if (res.status === 401) {
        message = "密钥无效或缺失：" + message;
        keyInput.classList.add("invalid");
        keyInput.focus();
      }
      throw new ApiError(message, res.status, code);
    }
    return res;
  }
  const api = async (method, path, body) => (await request(method, path, body)).json();

  // ---------- small DOM helpers ----------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = v;
        else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : v);
      }
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const caseNumber = (cn) => (cn && typeof cn === "object" ? cn.raw || "" : cn || "");
  // Statutes come as {law, article} (cases) or as "刑法第264条" (hits); both become objects.
  const statuteRef = (s) => (typeof s === "string" ? parseStatutes(s)[0] || { law: s, article: 0 } : s);
  const statuteText = (s) => (typeof s === "string" ? s : (s.law || "") + "第" + s.article + "条");
  function statuteLink(s, title) {
    const ref = statuteRef(s);
    return el("button", {
      type: "button",
      class: "tag link",
      text: statuteText(s),
      title: title || "查看法条及引用该条的案例",
      onclick: () => openStatute(ref.law, ref.article),
    });
  }

  function tierBadges(tier, label, mustFollow) {
    const out = [el("span", { class: "badge tier-" + tier, text: label || TIER_LABEL[tier] || tier })];
    out.push(
      mustFollow
        ? el("span", { class: "badge must", text: "应当参照", title: "指导性案例：类似案件应当参照作出裁判" })
        : el("span", { class: "badge ref", text: "参考" })
    );
    return out;
  }

  function months(m) {
    if (!m) return "";
    const y = Math.floor(m / 12);
    const r = m % 12;
    return (y ? y + "年" : "") + (r ? r + "个月" : "");
  }

  function sentenceText(s) {
    if (!s || typeof s !== "object") return "";
    const parts = [];
    if (s.penalty) parts.push((PENALTY_LABEL[s.penalty] || s.penalty) + (s.term_months ? months(s.term_months) : ""));
    if (s.probation_months) parts.push("缓刑" + months(s.probation_months));
    if (s.fine_yuan) parts.push("罚金人民币" + Number(s.fine_yuan).toLocaleString("zh-CN") + "元");
    return parts.join("，");
  }

  // ---------- parsing the form ----------

  const splitList = (s) =>
    s
      .split(/[,，、;；\s]+/)
      .map((x) => x.trim())
      .filter(Boolean);

  const DIGIT = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
  const UNIT = { 十: 10, 百: 100, 千: 1000 };
  function chineseNumber(s) {
    if (/^\d+$/.test(s)) return parseInt(s, 10);
    let total = 0;
    let digit = 0;
    let seen = false;
    for (const ch of s) {
      if (ch in DIGIT) {
        digit = DIGIT[ch];
        seen = true;
      } else if (ch in UNIT) {
        total += (seen || digit ? digit : 1) * UNIT[ch];
        digit = 0;
        seen = false;
      } else return NaN;
    }
    return total + digit;
  }

  // "刑法第264条, 《中华人民共和国民法典》第六百八十条" → [{law, article}, ...]
  function parseStatutes(s) {
    const out = [];
    const toAscii = (t) => t.replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
    const re = /《?([^《》\s,，、;；第\d０-９]+?)》?\s*第?\s*([\d０-９]+|[零〇一二两三四五六七八九十百千]+)\s*条?(?:之[一二三四五六七八九十]+)?/g;
    let m;
    const text = toAscii(s);
    while ((m = re.exec(text)) !== null) {
      const law = m[1].replace(/^中华人民共和国/, "").trim();
      const article = chineseNumber(m[2]);
      if (law && Number.isFinite(article) && article > 0) out.push({ law, article });
    }
    return out;
  }

  const checked = (name) => $$('input[name="' + name + '"]:checked').map((i) => i.value);
  const yearOf = (id) => {
    const v = $(id).value.trim();
    const n = parseInt(v, 10);
    return v && Number.isFinite(n) ? n : null;
  };

  function buildBody() {
    const q = $("#q").value.trim();
    const draft = $("#draft").value.trim();
    const level = $("#court-level").value;
    const filters = {
      tiers: checked("tier"),
      categories: checked("category"),
      charges: [],
      court_levels: level ? [level] : [],
      regions: splitList($("#region").value),
      year_from: yearOf("#year-from"),
      year_to: yearOf("#year-to"),
    };
    return {
      query: [q, draft].filter(Boolean).join("\n"),
      top_k: PAGE,
      offset: 0,
      charges: splitList($("#charges").value),
      statutes: parseStatutes($("#statutes").value),
      filters,
      mode: $("#mode").value,
      authority_order: true,
      recent_first: $("#recent-first").checked,
      // always: each hit says why it ranks where it does; the checkbox shows the scores
      explain: true,
    };
  }

  function countFilters() {
    const f = buildBody().filters;
    const n =
      f.tiers.length + f.categories.length + f.court_levels.length + f.regions.length + (f.year_from ? 1 : 0) + (f.year_to ? 1 : 0);
    const badge = $("#filter-count");
    badge.hidden = n === 0;
    badge.textContent = String(n);
  }

  // ---------- results ----------

  const resultsBox = $("#results");
  const statusBox = $("#status");
  const errorBox = $("#error");

  function showError(e) {
    errorBox.textContent = e && e.message ? e.message : String(e);
    errorBox.hidden = false;
  }
  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }

  function loading(box, text) {
    box.setAttribute("aria-busy", "true");
    box.replaceChildren(el("div", { class: "loading" }, el("span", { class: "spinner", "aria-hidden": "true" }), text));
  }

  const FEATURE_LABEL = {
    bm25: "关键词", dense: "语义", prf: "同类案情", charge: "同罪名", charge_section: "同节罪名",
    charge_chapter: "同章罪名", charge_extra: "另有罪名", statute: "共同法条",
    circumstances: "共同情节", amount: "数额相近", harm: "损害相近",
  };
  const CIRCUMSTANCE_LABEL = {
    surrender: "自首", confession: "坦白", meritorious: "立功", plea_agreement: "认罪认罚",
    pleads_guilty: "自愿认罪", restitution: "退赃退赔", compensation: "赔偿谅解", forgiveness: "取得谅解",
    attempt: "未遂", discontinuation: "中止", preparation: "预备", accomplice: "从犯", coerced: "胁从犯",
    principal: "主犯", minor: "未成年", first_offence: "初犯", recidivist: "累犯", prior_record: "前科",
    excessive_defence: "防卫过当",
  };

  // Why a case ranks where it does, in words: always shown under the legal ranking.
  function reasonsLine(x) {
    const l = x && x.legal;
    if (!l) return null;
    const parts = [];
    if (l.shared_charges && l.shared_charges.length) parts.push("罪名相同：" + l.shared_charges.join("、"));
    if (l.shared_statutes && l.shared_statutes.length)
      parts.push("共同法条：" + l.shared_statutes.map((s) => s.law + "第" + s.article + "条").join("、"));
    if (l.shared_circumstances && l.shared_circumstances.length)
      parts.push("共同情节：" + l.shared_circumstances.map((c) => CIRCUMSTANCE_LABEL[c] || c).join("、"));
    const top = (l.contributions || [])
      .filter((c) => c.contribution > 0)
      .sort((a, b) => b.contribution - a.contribution)
      .slice(0, 3)
      .map((c) => FEATURE_LABEL[c.feature] || c.feature);
    if (top.length) parts.push("主要依据：" + top.join("、"));
    if (!parts.length) return null;
    const charges = (l.query_charges || []).join("、");
    const basis = charges ? (l.charges_given ? "（按所填罪名 " : "（按推断罪名 ") + charges + "）" : "";
    return el("p", { class: "reasons" }, "相似理由：" + parts.join("；") + basis);
  }

  function explainBlock(x) {
    if (!x || !$("#explain").checked) return null;
    const used = { bm25: x.mode !== "dense", dense: x.mode !== "bm25" };
    const part = (name, r, on) =>
      el("span", { class: "xp" }, name + "：", r ? "第" + r.rank + "名 · " + Number(r.score).toFixed(4) : on ? "未命中" : "未启用");
    if (x.legal) {
      return el(
        "div",
        { class: "explain" },
        el("span", { class: "xp" }, "方式：" + (MODE_LABEL[x.mode] || x.mode || "") + " · 法律要素排序"),
        ...(x.legal.contributions || [])
          .filter((c) => c.value !== 0)
          .map((c) =>
            el("span", { class: "xp" }, (FEATURE_LABEL[c.feature] || c.feature) + "：" + Number(c.value).toFixed(2) + "×" + Number(c.weight).toFixed(2))
          )
      );
    }
    return el(
      "div",
      { class: "explain" },
      el("span", { class: "xp" }, "方式：" + (MODE_LABEL[x.mode] || x.mode || "")),
      part("关键词", x.bm25, used.bm25),
      part("语义", x.dense, used.dense),
      x.fused !== undefined && x.fused !== null ? el("span", { class: "xp" }, "融合分：" + Number(x.fused).toFixed(4)) : null
    );
  }

  function hitCard(h, opts) {
    const compact = opts && opts.compact;
    const meta = [
      h.court,
      caseNumber(h.case_number) && "案号 " + caseNumber(h.case_number),
      h.date,
      h.court_level && !compact ? LEVEL_LABEL[h.court_level] : null,
    ].filter(Boolean);
    const snippet = el("p", { class: "snippet" });
    // The API escapes the snippet and adds only <mark>; it is the one field inserted as HTML.
    snippet.innerHTML = h.snippet || "";
    const charges = (h.charges || []).map((c) => el("span", { class: "tag", text: c }));
    const statutes = (h.statutes || []).slice(0, 4).map((s) => statuteLink(s));
    return el(
      "article",
      { class: "hit" + (h.must_follow ? " hit-must" : ""), "data-id": h.id },
      el(
        "div",
        { class: "hit-head" },
        el("h3", { class: "hit-title" }, el("a", { href: "#case/" + encodeURIComponent(h.id), text: h.title || h.id, onclick: (e) => { e.preventDefault(); openCase(h.id); } })),
        el("div", { class: "hit-badges" }, tierBadges(h.tier, h.tier_label, h.must_follow))
      ),
      el("p", { class: "hit-meta" }, meta.join(" ｜ ")),
      charges.length || statutes.length ? el("div", { class: "tags" }, charges, statutes) : null,
      h.gist ? el("p", { class: "hit-gist" }, el("strong", { text: "裁判要点　" }), h.gist) : null,
      h.snippet ? snippet : null,
      reasonsLine(h.explain),
      el(
        "div",
        { class: "hit-foot" },
        typeof h.score === "number" ? el("span", { class: "score", title: "相关度得分" }, "相关度 " + h.score.toFixed(4)) : null,
        explainBlock(h.explain),
        el(
          "span",
          { class: "hit-actions" },
          el("button", { type: "button", class: "btn small", text: "查看", "aria-label": "查看 " + (h.title || h.id), onclick: () => openCase(h.id) }),
          el("button", { type: "button", class: "btn small ghost", text: "类案", "aria-label": "查找与 " + (h.title || h.id) + " 类似的案例", onclick: () => openSimilar(h.id, h.title) })
        )
      )
    );
  }

  // Groups hits by tier, in authority order, taking labels from the server's groups.
  function grouped(hits, groups) {
    const info = {};
    for (const g of groups || []) info[g.tier] = g;
    const by = {};
    for (const h of hits) (by[h.tier] = by[h.tier] || []).push(h);
    const tiers = Object.keys(by).sort((a, b) => {
      const ia = TIER_ORDER.indexOf(a);
      const ib = TIER_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
    return tiers.map((t) => ({
      tier: t,
      label: (info[t] && info[t].label) || by[t][0].tier_label || TIER_LABEL[t] || t,
      must_follow: info[t] ? !!info[t].must_follow : !!by[t][0].must_follow,
      hits: by[t],
    }));
  }

  function renderHitList(hits, groups, opts) {
    const frag = document.createDocumentFragment();
    for (const g of grouped(hits, groups)) {
      frag.append(
        el(
          "section",
          { class: "group group-" + g.tier, "aria-label": g.label },
          el(
            "h3",
            { class: "group-title" },
            el("span", { class: "group-dot", "aria-hidden": "true" }),
            g.label,
            el("span", { class: "group-count", text: g.hits.length + " 件" }),
            el("span", { class: "group-note", text: g.must_follow ? "应当参照" : "供参考" })
          ),
          g.hits.map((h) => hitCard(h, opts))
        )
      );
    }
    return frag;
  }

  function renderResults(took, mode) {
    resultsBox.setAttribute("aria-busy", "false");
    if (!state.hits.length) {
      resultsBox.replaceChildren(
        state.nothingSimilar
          ? el(
              "div",
              { class: "empty nothing-similar" },
              el("p", { class: "empty-title", text: "未检索到足够相似的案例" }),
              el("p", { text: "库中案例与所述内容的相关度均低于可信门槛，未予列出，也没有应当参照的指导性案例。请补充案情要素（罪名、行为、后果）或换用其他表述。" })
            )
          : el(
              "div",
              { class: "empty" },
              el("p", { class: "empty-title", text: "未找到相关案例" }),
              el("p", { text: "可尝试减少关键词、放宽筛选条件，或改用混合检索。" })
            )
      );
      statusBox.textContent = "共 0 件";
      $("#more").hidden = true;
      return;
    }
    resultsBox.replaceChildren(renderHitList(state.hits, state.groups));
    const must = state.hits.filter((h) => h.must_follow).length;
    statusBox.textContent =
      "已显示 " + state.hits.length + " 件" + (must ? "，其中指导性案例 " + must + " 件" : "") +
      (mode ? " · " + (MODE_LABEL[mode] || mode) : "") + (typeof took === "number" ? " · 用时 " + took + " 毫秒" : "");
    $("#more").hidden = state.total < PAGE;
  }

  async function search() {
    const body = buildBody();
    if (!body.query && !body.charges.length && !body.statutes.length) {
      showError("请输入关键词、案情、罪名或法条。");
      $("#q").focus();
      return false;
    }
    clearError();
    keyInput.classList.remove("invalid");
    state.lastBody = body;
    loading(resultsBox, "检索中…");
    statusBox.textContent = "";
    $("#more").hidden = true;
    try {
      const res = await api("POST", "/v1/search", body);
      state.hits = res.hits || [];
      state.groups = res.groups || [];
      state.nothingSimilar = !!res.nothing_similar;
      state.total = state.hits.length;
      renderResults(res.took_ms, res.mode);
      return true;
    } catch (e) {
      resultsBox.setAttribute("aria-busy", "false");
      resultsBox.replaceChildren();
      showError(e);
      return false;
    }
  }

  async function loadMore() {
    if (!state.lastBody) return;
    const body = Object.assign({}, state.lastBody, { offset: state.hits.length });
    const btn = $("#more-btn");
    btn.disabled = true;
    btn.textContent = "加载中…";
    try {
      const res = await api("POST", "/v1/search", body);
      const more = res.hits || [];
      const seen = new Set(state.hits.map((h) => h.id));
      state.hits = state.hits.concat(more.filter((h) => !seen.has(h.id)));
      state.total = more.length;
      renderResults(res.took_ms, res.mode);
    } catch (e) {
      showError(e);
    } finally {
      btn.disabled = false;
      btn.textContent = "加载更多";
    }
  }

  // ---------- drawer: case detail, similar cases, statutes ----------

  const drawer = $("#drawer");
  const drawerBody = $("#drawer-body");
  let lastFocus = null;

  function openDrawer() {
    if (drawer.hidden) lastFocus = document.activeElement;
    drawer.hidden = false;
    $("#drawer-overlay").hidden = false;
    document.body.classList.add("noscroll");
  }
  function closeDrawer() {
    drawer.hidden = true;
    $("#drawer-overlay").hidden = true;
    document.body.classList.remove("noscroll");
    state.drawerStack = [];
    if (lastFocus && lastFocus.focus) lastFocus.focus();
  }

  // Shows a view in the drawer; `load` fills it. Views are kept for the back button.
  async function showView(title, load, push) {
    openDrawer();
    if (push !== false) state.drawerStack.push({ title, load });
    $("#drawer-back").hidden = state.drawerStack.length < 2;
    $("#drawer-title").textContent = title;
    drawerBody.scrollTop = 0;
    loading(drawerBody, "加载中…");
    $("#drawer-title").focus();
    try {
      const content = await load();
      drawerBody.replaceChildren(content);
    } catch (e) {
      drawerBody.replaceChildren(el("div", { class: "alert", role: "alert", text: e.message || String(e) }));
    }
    drawerBody.setAttribute("aria-busy", "false");
  }
  function back() {
    state.drawerStack.pop();
    const v = state.drawerStack[state.drawerStack.length - 1];
    if (v) showView(v.title, v.load, false);
    else closeDrawer();
  }

  function section(title, text, cls) {
    if (!text) return null;
    return el("section", { class: "doc-section " + (cls || "") }, el("h4", { text: title }), el("p", { class: "doc-text", text }));
  }

  function caseView(c) {
    const metaRows = [
      ["审理法院", c.court],
      ["法院层级", LEVEL_LABEL[c.court_level]],
      ["地区", c.region],
      ["案号", caseNumber(c.case_number)],
      ["裁判日期", c.date],
      ["文书类型", c.doc_type],
      ["案件类型", CATEGORY_LABEL[c.category]],
      ["罪名 / 案由", (c.charges || []).join("、")],
      ["判决结果", sentenceText(c.sentence)],
    ].filter((r) => r[1]);
    const statutes = (c.statutes || []).map((s) => statuteLink(s));
    const g = c.guiding;
    const guidingBox = g
      ? el(
          "section",
          { class: "gist" },
          el("h4", {}, "裁判要点", g.number ? el("span", { class: "gist-no", text: "指导案例第 " + g.number + " 号" }) : null),
          el("p", { class: "doc-text", text: g.gist || "（无）" }),
          g.keywords && g.keywords.length ? el("p", { class: "gist-kw" }, "关键词：", g.keywords.map((k) => el("span", { class: "tag", text: k }))) : null
        )
      : null;
    const s = c.sections || {};
    const hasSections = s.facts || s.reasoning || s.result;
    return el(
      "div",
      { class: "case" },
      el("div", { class: "case-head" }, el("h3", { class: "case-title", text: c.display_title || c.title || c.id }), el("div", { class: "hit-badges" }, tierBadges(c.tier, c.tier_label, c.must_follow))),
      guidingBox,
      el("dl", { class: "meta" }, metaRows.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
      statutes.length ? el("div", { class: "statute-links" }, el("span", { class: "label", text: "适用法条（点击查看条文与关联案例）" }), el("div", { class: "tags" }, statutes)) : null,
      el(
        "div",
        { class: "case-actions" },
        el("button", { type: "button", class: "btn small", text: "查找类案", onclick: () => openSimilar(c.id, c.display_title || c.title) }),
        el("button", { type: "button", class: "btn small ghost", text: "以本案事实检索", onclick: () => searchWithFacts(c) })
      ),
      // guiding cases use the headings of the SPC's published format
      section(g ? "基本案情" : "审理查明", s.facts, "facts"),
      section(g ? "裁判理由" : "本院认为", s.reasoning, "reasoning"),
      section(g ? "裁判结果" : "判决结果", s.result, "result"),
      c.full_text
        ? el("details", { class: "fulltext", open: hasSections ? null : true }, el("summary", { text: "裁判文书全文" }), el("p", { class: "doc-text", text: c.full_text }))
        : null
    );
  }

  function openCase(id) {
    return showView("案例详情", async () => caseView(await api("GET", "/v1/cases/" + encodeURIComponent(id))));
  }

  function openSimilar(id, title) {
    return showView("类案推送", async () => {
      const res = await api("GET", "/v1/cases/" + encodeURIComponent(id) + "/similar?top_k=10");
      const hits = res.hits || [];
      return el(
        "div",
        { class: "similar" },
        el("p", { class: "lead" }, "与「", el("strong", { text: title || id }), "」事实相近的案例"),
        hits.length ? renderHitList(hits, res.groups, { compact: true }) : el("div", { class: "empty" }, el("p", { text: "没有找到相似案例。" }))
      );
    });
  }

  function openStatute(law, article) {
    return showView("法条关联检索", async () => {
      const st = await api("GET", "/v1/statutes/" + encodeURIComponent(law) + "/" + encodeURIComponent(article));
      const hits = st.citing_cases || [];
      return el(
        "div",
        { class: "statute" },
        el("h3", { class: "case-title", text: (st.law_title || st.law || law) + " 第" + (st.article || article) + "条" }),
        st.chapter ? el("p", { class: "chapter", text: st.chapter }) : null,
        el("blockquote", { class: "statute-text", text: st.text || "（未收录条文）" }),
        el(
          "div",
          { class: "case-actions" },
          el("button", { type: "button", class: "btn small", text: "以此法条检索类案", onclick: () => searchByStatute(law, article) })
        ),
        el("h4", { class: "sub", text: "引用本条的案例（" + hits.length + " 件）" }),
        hits.length ? renderHitList(hits, null, { compact: true }) : el("div", { class: "empty" }, el("p", { text: "暂无引用本条的案例。" }))
      );
    });
  }

  function searchByStatute(law, article) {
    $("#statutes").value = law + "第" + article + "条";
    closeDrawer();
    search();
  }

  function searchWithFacts(c) {
    $("#q").value = "";
    $("#draft").value = (c.sections && c.sections.facts) || c.title || "";
    $("#charges").value = (c.charges || []).join("，");
    closeDrawer();
    search();
  }

  // ---------- report ----------

  const report = $("#report");
  function closeReport() {
    report.hidden = true;
    $("#report-overlay").hidden = true;
    document.body.classList.remove("noscroll");
  }

  function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function makeReport() {
    clearError();
    if (!state.lastBody || state.lastBody.query !== buildBody().query) {
      if (!(await search())) return;
    }
    const body = state.lastBody;
    const facts = $("#draft").value.trim() || $("#q").value.trim() || body.query;
    const payload = {
      pending_case: {
        title: $("#pending-title").value.trim() || "待决案件",
        case_number: $("#pending-number").value.trim(),
        court: $("#pending-court").value.trim(),
        facts,
      },
      query: body,
      format: "html",
    };
    report.hidden = false;
    $("#report-overlay").hidden = false;
    document.body.classList.add("noscroll");
    const rs = $("#report-status");
    rs.textContent = "正在生成报告…";
    const frame = $("#report-frame");
    frame.removeAttribute("src");
    for (const u of state.reportUrls) URL.revokeObjectURL(u);
    state.reportUrls = [];
    const btn = $("#report-btn");
    btn.disabled = true;
    try {
      // The server answers in the asked format (HTML here) and names the saved report in
      // `Location`; a JSON answer carries the id instead.
      const res = await request("POST", "/v1/reports", payload, "text/html, application/json");
      let reportId = "";
      let created = {};
      let html;
      if ((res.headers.get("Content-Type") || "").includes("json")) {
        created = await res.json();
        reportId = created.id || "";
      } else {
        html = await res.text();
        reportId = decodeURIComponent((res.headers.get("Location") || "").split("/").pop() || "");
      }
      if (!reportId) throw new Error("服务器未返回报告编号");
      const id = encodeURIComponent(reportId);
      if (html === undefined) {
        html = await (await request("GET", "/v1/reports/" + id + "?format=html", undefined, "text/html")).text();
      }
      const blob = new Blob([html], { type: "text/html;charset=utf-8" });
      const url = URL.createObjectURL(blob);
      state.reportUrls.push(url);
      frame.src = url;
      $("#report-open").href = url;
      const htmlLink = $("#report-html");
      htmlLink.href = url;
      htmlLink.setAttribute("download", "类案检索报告-" + reportId + ".html");
      $("#report-md").onclick = async () => {
        try {
          const md = await (await request("GET", "/v1/reports/" + id + "?format=markdown", undefined, "text/markdown")).text();
          download(new Blob([md], { type: "text/markdown;charset=utf-8" }), "类案检索报告-" + reportId + ".md");
        } catch (e) {
          rs.textContent = e.message;
        }
      };
      rs.textContent = "报告编号 " + reportId + (created.created_at ? " · 生成于 " + created.created_at : "");
      $("#report-close").focus();
    } catch (e) {
      rs.textContent = "生成失败：" + (e.message || String(e));
    } finally {
      btn.disabled = false;
    }
  }

  // ---------- consistency check (裁判偏离预警) ----------

  const LEVEL_TEXT = { none: "未偏离", notice: "提示", warning: "偏离预警" };
  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const optionalInt = (id) => {
    const v = $(id).value.trim();
    const n = parseInt(v, 10);
    return v && Number.isFinite(n) && n >= 0 ? n : null;
  };

  // The similar cases' terms as a strip (one dot each) over a box (Q1–Q3, median line)
  // and whiskers (min–max), with a marker where the proposed term sits.
  function distributionChart(d, proposed, level) {
    const terms = d.terms_months || [];
    const W = 340;
    const H = 96;
    const pad = 18;
    // A proposed term far outside the cases' range is drawn at the edge (with its value),
    // so that the box stays readable.
    const span = Math.max(d.max_months - d.min_months, 6);
    const clipLo = Math.max(0, d.min_months - span * 0.6);
    const clipHi = d.max_months + span * 0.6;
    const shown = proposed === null ? null : Math.min(Math.max(proposed, clipLo), clipHi);
    const values = terms.concat(shown === null ? [] : [shown]);
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi === lo) {
      lo = Math.max(0, lo - 6);
      hi = hi + 6;
    }
    const x = (m) => pad + ((Math.min(Math.max(m, lo), hi) - lo) / (hi - lo)) * (W - 2 * pad);
    const chart = svg("svg", {
      viewBox: "0 0 " + W + " " + H,
      width: "100%",
      role: "img",
      class: "dist-chart",
      "aria-label":
        "类案刑期分布：" + terms.length + "件，中位数" + d.median_months + "个月" + (proposed === null ? "" : "，拟判" + proposed + "个月"),
    });
    const mid = 34;
    chart.append(svg("line", { x1: x(d.min_months), x2: x(d.max_months), y1: mid, y2: mid, class: "whisker" }));
    for (const m of [d.min_months, d.max_months]) chart.append(svg("line", { x1: x(m), x2: x(m), y1: mid - 7, y2: mid + 7, class: "whisker" }));
    chart.append(svg("rect", { x: x(d.q1_months), y: mid - 11, width: Math.max(1, x(d.q3_months) - x(d.q1_months)), height: 22, class: "box" }));
    chart.append(svg("line", { x1: x(d.median_months), x2: x(d.median_months), y1: mid - 11, y2: mid + 11, class: "median" }));
    terms.forEach((t, i) => {
      const dot = svg("circle", { cx: x(t), cy: mid - 4 + (i % 3) * 4, r: 3, class: "dot" });
      dot.append(svg("title", {}, t + "个月"));
      chart.append(dot);
    });
    if (proposed !== null) {
      const px = x(shown);
      chart.append(svg("line", { x1: px, x2: px, y1: 10, y2: mid + 14, class: "proposed " + level }));
      chart.append(svg("path", { d: "M" + (px - 6) + " 4 L" + (px + 6) + " 4 L" + px + " 12 Z", class: "proposed-mark " + level }));
      const clipped = shown !== proposed ? (proposed > shown ? " →" : "← ") : "";
      const anchor = px > W - 60 ? "end" : px < 60 ? "start" : "middle";
      const label = proposed > shown ? "拟判" + proposed + "月" + clipped : clipped + "拟判" + proposed + "月";
      chart.append(svg("text", { x: px, y: mid + 26, "text-anchor": anchor, class: "tick proposed-label " + level }, label));
    }
    const tick = (m, anchor) => chart.append(svg("text", { x: x(m), y: H - 4, "text-anchor": anchor, class: "tick" }, m + "月"));
    tick(d.min_months, "start");
    if (d.median_months - d.min_months > (hi - lo) / 8 && d.max_months - d.median_months > (hi - lo) / 8) tick(d.median_months, "middle");
    tick(d.max_months, "end");
    return chart;
  }

  function renderConsistency(r, proposed) {
    const box = $("#consistency");
    box.replaceChildren();
    box.hidden = false;
    const d = r.distribution;
    box.append(
      el("h3", { class: "consistency-title" }, "裁判偏离预警"),
      el("p", { class: "level " + r.warning }, LEVEL_TEXT[r.warning] || r.warning, r.percentile === null || r.percentile === undefined ? "" : "（百分位 " + Math.round(r.percentile) + "）")
    );
    if (d.n > 0) {
      box.append(distributionChart(d, proposed, r.warning));
      box.append(
        el(
          "p",
          { class: "dist-summary" },
          "类案 " + d.n + " 件：中位数 " + d.median_months + " 个月，四分位 " + d.q1_months + "–" + d.q3_months + "，范围 " + d.min_months + "–" + d.max_months +
            (d.probation_share === null ? "" : "，缓刑 " + Math.round(d.probation_share * 100) + "%") +
            (d.fine_median_yuan === null ? "" : "，罚金中位数 " + Math.round(d.fine_median_yuan) + " 元")
        )
      );
    }
    // the statutory range (法定刑) of each charge, the band the proposal falls in marked
    for (const s of r.statutory || []) {
      const inside = new Set((s.verdict && s.verdict.bands) || []);
      box.append(
        el(
          "div",
          { class: "statutory" + (s.verdict && !s.verdict.within ? " outside" : "") },
          el("p", { class: "statutory-head" }, "法定刑 · " + s.charge + "（" + s.article + "）"),
          el(
            "ul",
            { class: "bands" },
            s.bands.map((b, i) =>
              el(
                "li",
                { class: (inside.has(i) ? "band here" : "band") + (s.facts_band === i ? " facts" : "") },
                (b.condition ? b.condition + "：" : "") + "处" + b.text,
                s.facts_band === i ? el("span", { class: "facts-tag" }, "本案事实所在档次") : null
              )
            )
          ),
          s.facts_note ? el("p", { class: "statutory-facts" }, s.facts_note) : null,
          s.verdict ? el("p", { class: "statutory-verdict" }, s.verdict.message) : null
        )
      );
    }
    box.append(el("ul", { class: "reasons" }, (r.reasons || []).map((t) => el("li", null, t))));
    const tags = (list) => (list || []).map((c) => el("span", { class: "circ " + c.effect }, c.label));
    if ((r.draft_circumstances || []).length) box.append(el("p", { class: "circs" }, "本案情节：", tags(r.draft_circumstances)));
    box.append(
      el(
        "ol",
        { class: "similar-terms" },
        (r.similar || []).map((s) =>
          el(
            "li",
            null,
            el("button", { type: "button", class: "tag link", onclick: () => openCase(s.id) }, s.title || s.id),
            " ",
            el("span", { class: "term" }, sentenceText(s.sentence) || "—"),
            " ",
            tags(s.circumstances)
          )
        )
      )
    );
    box.append(el("p", { class: "rule hint" }, r.rule));
    box.scrollIntoView({ block: "nearest" });
  }

  async function checkConsistency() {
    clearError();
    const facts = [$("#q").value.trim(), $("#draft").value.trim()].filter(Boolean).join("\n");
    const proposed = optionalInt("#proposed-term");
    const body = {
      facts,
      charges: splitList($("#charges").value),
      statutes: parseStatutes($("#statutes").value),
      proposed_penalty: $("#proposed-penalty").value,
      proposed_term_months: proposed,
      proposed_probation_months: optionalInt("#proposed-probation"),
      proposed_fine_yuan: optionalInt("#proposed-fine"),
      mode: $("#mode").value,
    };
    const box = $("#consistency");
    box.hidden = false;
    box.replaceChildren(el("p", { class: "hint" }, "正在比对类案…"));
    try {
      renderConsistency(await api("POST", "/v1/consistency", body), proposed);
    } catch (e) {
      box.hidden = true;
      showError(e);
    }
  }

  // ---------- wiring ----------

  $("#search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  $("#draft").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      search();
    }
  });
  $("#more-btn").addEventListener("click", loadMore);
  $("#report-btn").addEventListener("click", makeReport);
  $("#consistency-btn").addEventListener("click", checkConsistency);
  $("#reset-btn").addEventListener("click", () => {
    $("#consistency").hidden = true;
  });
  $("#reset-btn").addEventListener("click", () => {
    $("#search-form").reset();
    countFilters();
    $("#q").focus();
  });
  $("#search-form").addEventListener("change", countFilters);
  $("#drawer-close").addEventListener("click", closeDrawer);
  $("#drawer-back").addEventListener("click", back);
  $("#drawer-overlay").addEventListener("click", closeDrawer);
  $("#report-close").addEventListener("click", closeReport);
  $("#report-overlay").addEventListener("click", closeReport);
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (!report.hidden) closeReport();
    else if (!drawer.hidden) closeDrawer();
  });
  for (const chip of $$("[data-example]")) {
    chip.addEventListener("click", () => {
      $("#q").value = chip.getAttribute("data-example");
      search();
    });
  }
  countFilters();
  // the mode selector offers what the server can do: without a model, keywords only
  fetch("/healthz")
    .then((r) => r.json())
    .then((h) => {
      if (!h || h.dense) return;
      const sel = $("#mode");
      for (const o of sel.options) {
        if (o.value !== "bm25") {
          o.disabled = true;
          o.textContent = o.textContent.replace(/（.*）$/, "") + "（未加载语义模型）";
        }
      }
      sel.value = "bm25";
    })
    .catch(() => {});
  // completion of 罪名 / 案由 from the charges the indexed cases carry
  api("GET", "/v1/charges")
    .then((j) => {
      const list = $("#charge-list");
      if (list && j && j.charges) list.replaceChildren(...j.charges.map((c) => el("option", { value: c })));
    })
    .catch(() => {});
  // the inbox (its own script below) opens pushed cases in the same drawer
  window.leianOpenCase = openCase;
  $("#q").focus();
})();

// ---------- precise push: register a pending case, the inbox of pushes ----------
(function () {
  const $ = (sel) => document.querySelector(sel);
  const form = $("#pending-form");
  const list = $("#inbox");
  if (!form || !list) return;
  const demoMeta = document.querySelector('meta[name="leian-demo-key"]');
  const key = () => ($("#api-key").value || "").trim() || (demoMeta ? (demoMeta.getAttribute("content") || "").trim() : "");
  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (key()) headers.Authorization = "Bearer " + key();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const j = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((j.error && j.error.message) || "请求失败（HTTP " + res.status + "）");
    return j;
  }
  const split = (s) => s.split(/[，,、;；\s]+/).map((x) => x.trim()).filter(Boolean);
  function statutes(s) {
    const out = [];
    const re = /《?([^《》\s,，、;；第\d]+?)》?\s*第?\s*(\d+)\s*条?/g;
    let m;
    while ((m = re.exec(s))) out.push({ law: m[1].replace(/^中华人民共和国/, ""), article: parseInt(m[2], 10) });
    return out;
  }
  function node(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function item(p) {
    const li = node("li", "inbox-item" + (p.acked_at ? " read" : ""));
    li.dataset.pushId = p.id;
    li.dataset.caseId = p.case_id;
    const head = node("div", "inbox-head");
    head.append(node("span", "badge tier-" + p.tier, p.tier_label));
    if (p.must_follow) head.append(node("span", "badge must", "应当参照"));
    const title = node("a", "inbox-title", p.case_title || p.case_id);
    title.href = "#case/" + encodeURIComponent(p.case_id);
    title.addEventListener("click", (e) => {
      e.preventDefault();
      open(p);
    });
    head.append(title, node("span", "inbox-score", "相关度 " + Number(p.score).toFixed(2)));
    li.append(head, node("p", "inbox-reason", "推送理由：" + p.reason));
    const tools = node("div", "inbox-tools");
    const btn = (label, fn, cls) => {
      const b = node("button", cls || "btn ghost small", label);
      b.type = "button";
      b.addEventListener("click", () => fn().then(load).catch((e) => ($("#inbox-status").textContent = e.message)));
      return b;
    };
    const openBtn = node("button", "btn small inbox-open", "打开案例");
    openBtn.type = "button";
    openBtn.addEventListener("click", () => open(p));
    tools.append(openBtn);
    if (!p.acked_at) tools.append(btn("标为已读", () => call("POST", "/v1/pushes/" + p.id + "/ack")));
    tools.append(
      btn(p.useful === true ? "✓ 有用" : "有用", () => call("POST", "/v1/pushes/" + p.id + "/feedback", { useful: true })),
      btn(p.useful === false ? "✓ 无用" : "无用", () => call("POST", "/v1/pushes/" + p.id + "/feedback", { useful: false }))
    );
    li.append(tools);
    return li;
  }
  // opening a pushed case reads it: it is marked read as it opens
  function open(p) {
    if (window.leianOpenCase) window.leianOpenCase(p.case_id);
    if (!p.acked_at) call("POST", "/v1/pushes/" + p.id + "/ack").then(load).catch(() => {});
  }
  function group(g) {
    const li = node("li", "inbox-group");
    if (g.pending_case) li.dataset.pendingCase = g.pending_case;
    const head = node("div", "inbox-group-head");
    head.append(node("h3", "inbox-group-title", g.title));
    head.append(node("span", "inbox-group-count", g.pushes.length + " 件" + (g.unread ? "，未读 " + g.unread : "")));
    const ul = node("ul", "inbox-items");
    ul.append(...g.pushes.map(item));
    li.append(head, ul);
    return li;
  }
  async function load() {
    if (!key()) {
      $("#inbox-status").textContent = "填写密钥后显示本院的推送";
      return;
    }
    try {
      const q = ($("#inbox-unacked").checked ? "?unacked=true&" : "?") + "limit=1000&grouped=true";
      const j = await call("GET", "/v1/pushes" + q);
      const groups = j.groups || [];
      list.replaceChildren(...groups.map(group));
      const n = groups.reduce((a, g) => a + g.pushes.length, 0);
      $("#inbox-status").textContent = n
        ? "共 " + n + " 条推送，按待决案件分组；每组指导性案例在前，其余按相关度"
        : "暂无推送";
    } catch (e) {
      $("#inbox-status").textContent = e.message;
    }
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const facts = $("#pending-facts").value.trim();
    if (!facts) {
      $("#pending-status").textContent = "请填写基本案情";
      return;
    }
    $("#pending-status").textContent = "正在登记并匹配…";
    try {
      const j = await call("POST", "/v1/pending-cases", {
        title: $("#pending-case-title").value.trim(),
        facts,
        charges: split($("#pending-charges").value),
        statutes: statutes($("#pending-statutes").value),
      });
      $("#pending-status").textContent = "已登记（编号 " + j.id + "），推送 " + j.pushes.length + " 件案例";
      load();
    } catch (e) {
      $("#pending-status").textContent = e.message;
    }
  });
  $("#inbox-refresh").addEventListener("click", load);
  $("#inbox-unacked").addEventListener("change", load);
  load();
  setInterval(load, 30000);
})();
