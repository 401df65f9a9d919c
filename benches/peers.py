#!/usr/bin/env python3
"""The Python peers of benches/peers.sh, and the Markdown report.

  peers.py bm25    RUN_DIR           SQLite FTS5 and rank_bm25 over RUN_DIR/corpus.tok, queries.jsonl
  peers.py vectors RUN_DIR N DIM NQ  clustered unit vectors + exact top-100 ground truth (.fvecs/.ivecs/.npy)
  peers.py hnsw    RUN_DIR M EFC EFS  hnswlib and faiss HNSW on the same vectors
  peers.py report  RUN_DIR           Markdown tables from every *.json in RUN_DIR

All peers are single-threaded at query time, like leian's per-query path. Corpus and query
tokens come from leian's own tokenizer (`leian bench-peers bm25`), so every engine ranks the
same tokens; each query is the list of distinct tokens leian itself searches (<= 64).
"""
import json
import os
import sqlite3
import sys
import time


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    """Nearest-rank percentile, as leian's bench computes it."""
    v = sorted(xs)
    if not v:
        return 0.0
    import math
    rank = min(max(math.ceil(p * len(v)), 1), len(v))
    return v[rank - 1]


def load_corpus(run):
    ids, docs = [], []
    with open(os.path.join(run, "corpus.tok"), encoding="utf-8") as f:
        for line in f:
            i, _, toks = line.rstrip("\n").partition("\t")
            ids.append(i)
            docs.append(toks)
    return ids, docs


def load_queries(run):
    with open(os.path.join(run, "queries.jsonl"), encoding="utf-8") as f:
        return [json.loads(l)["tokens"] for l in f if l.strip()]


def bm25(run):
    ids, docs = load_corpus(run)
    queries = load_queries(run)
    out = {"cases": len(ids), "queries": len(queries)}
    # --- SQLite FTS5: one column of space-joined tokens; unicode61 keeps each token whole
    db_path = os.path.join(run, "fts5.db")
    if os.path.exists(db_path):
        os.remove(db_path)
    r0 = rss_kib()
    t = time.perf_counter()
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("CREATE VIRTUAL TABLE cases USING fts5(body, tokenize='unicode61')")
    con.executemany("INSERT INTO cases(rowid, body) VALUES (?, ?)", ((n, d) for n, d in enumerate(docs)))
    con.commit()
    con.execute("INSERT INTO cases(cases) VALUES('optimize')")
    con.commit()
    build = time.perf_counter() - t
    out["fts5"] = {
        "build_s": build,
        "cases_per_s": len(docs) / build,
        "bytes_per_case": os.path.getsize(db_path) / len(docs),
        "rss_delta_kib": rss_kib() - r0,
    }

    def fts_query(tokens):
        return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)

    sql = "SELECT rowid FROM cases WHERE cases MATCH ? ORDER BY rank LIMIT 10"
    # FTS5 scores every matching row with every OR-ed phrase: seconds per query at 100k,
    # so it runs the first FTS5_QUERIES of leian's queries (after 3 warm-up queries)
    nf = min(len(queries), int(os.environ.get("FTS5_QUERIES", "50" if len(ids) <= 100_000 else "10")))
    for q in queries[:3]:
        con.execute(sql, (fts_query(q),)).fetchall()
    ms = []
    for q in queries[:nf]:
        t = time.perf_counter()
        con.execute(sql, (fts_query(q),)).fetchall()
        ms.append((time.perf_counter() - t) * 1000)
    out["fts5"].update(p50_ms=pct(ms, 0.5), p99_ms=pct(ms, 0.99), queries=nf)
    con.close()
    # --- rank_bm25 (BM25Okapi): pure Python + numpy, scores every document per query.
    # It holds ~2.5 GB per 100k cases in RAM, so past RANK_BM25_MAX_CASES it is left out.
    if len(ids) > int(os.environ.get("RANK_BM25_MAX_CASES", "200000")):
        out["rank_bm25_skipped"] = "needs ~2.5 GB of RAM per 100k cases"
        with open(os.path.join(run, "peers-bm25.json"), "w") as f:
            json.dump(out, f, indent=2)
        return
    from rank_bm25 import BM25Okapi

    r0 = rss_kib()
    t = time.perf_counter()
    tokenized = [d.split(" ") for d in docs]
    del docs
    engine = BM25Okapi(tokenized)
    build = time.perf_counter() - t
    out["rank_bm25"] = {"build_s": build, "cases_per_s": len(tokenized) / build,
                        "rss_delta_kib": rss_kib() - r0}
    import numpy as np

    n = min(len(queries), int(os.environ.get("RANK_BM25_QUERIES", "10")))
    ms = []
    for q in queries[:n]:
        t = time.perf_counter()
        scores = engine.get_scores(q)
        np.argpartition(-scores, 10)[:10]
        ms.append((time.perf_counter() - t) * 1000)
    out["rank_bm25"].update(p50_ms=pct(ms, 0.5), p99_ms=pct(ms, 0.99), queries=n)
    with open(os.path.join(run, "peers-bm25.json"), "w") as f:
        json.dump(out, f, indent=2)


def write_vecs(path, arr, dtype):
    import numpy as np

    n, d = arr.shape
    rows = np.empty((n, d + 1), dtype=dtype)
    rows[:, 0] = np.array([d], dtype=np.int32).view(dtype)[0]
    rows[:, 1:] = arr.astype(dtype)
    rows.tofile(path)


def vectors(run, n, dim, nq):
    """Unit vectors around 1,000 random centres (like topic clusters of embeddings), with
    per-cluster spread drawn at random, and queries from the same distribution."""
    import numpy as np

    rng = np.random.default_rng(8)
    k = 1000
    centres = rng.standard_normal((k, dim)).astype(np.float32)

    def draw(m):
        c = rng.integers(0, k, m)
        spread = rng.uniform(0.6, 1.2, (m, 1)).astype(np.float32)
        x = centres[c] + spread * rng.standard_normal((m, dim)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    base, queries = draw(n), draw(nq)
    gt = np.empty((nq, 100), dtype=np.int32)
    for s in range(0, nq, 100):
        sims = queries[s:s + 100] @ base.T
        top = np.argpartition(-sims, 100, axis=1)[:, :100]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        gt[s:s + 100] = np.take_along_axis(top, order, axis=1)
    np.save(os.path.join(run, "base.npy"), base)
    np.save(os.path.join(run, "queries.npy"), queries)
    np.save(os.path.join(run, "gt.npy"), gt)
    write_vecs(os.path.join(run, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(run, "queries.fvecs"), queries, np.float32)
    write_vecs(os.path.join(run, "gt.ivecs"), gt, np.int32)


def recall10(found, gt):
    hit = 0
    for row, truth in zip(found, gt):
        hit += len(set(int(x) for x in row[:10]) & set(int(x) for x in truth[:10]))
    return hit / (len(gt) * 10)


# passes over the queries per ef; the median rate is reported (as `leian bench-peers hnsw`)
REPEAT = int(os.environ.get("PEERS_REPEAT", "3"))


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def hnsw(run, m, efc, efs):
    import numpy as np

    base = np.load(os.path.join(run, "base.npy"))
    queries = np.load(os.path.join(run, "queries.npy"))
    gt = np.load(os.path.join(run, "gt.npy"))
    n, dim = base.shape
    threads = int(os.environ.get("PEER_BUILD_THREADS", "1"))
    only = os.environ.get("PEERS_ONLY", "")
    if only != "faiss":
        hnswlib_run(run, base, queries, gt, m, efc, efs, threads)
    if only != "hnswlib":
        faiss_run(run, base, queries, gt, m, efc, efs, threads)


def hnswlib_run(run, base, queries, gt, m, efc, efs, threads):
    """hnswlib, inner product on unit vectors (= cosine)."""
    import numpy as np
    import hnswlib

    n, dim = base.shape

    r0 = rss_kib()
    t = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=8)
    index.add_items(base, np.arange(n), num_threads=threads)
    build = time.perf_counter() - t
    res = {"label": "hnswlib 0.8.0", "n": n, "dim": dim, "m": m, "ef_construction": efc,
           "build_s": build, "bytes_per_vector": (rss_kib() - r0) * 1024 / n, "curve": []}
    index.set_ef(efs[0])
    [index.knn_query(q, k=10, num_threads=1) for q in queries]  # untimed warm-up pass
    for ef in efs:
        index.set_ef(ef)
        rates = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            found = [index.knn_query(q, k=10, num_threads=1)[0][0] for q in queries]
            rates.append(len(queries) / (time.perf_counter() - t))
        res["curve"].append({"ef": ef, "recall": recall10(found, gt), "qps": median(rates)})
    with open(os.path.join(run, "hnsw-hnswlib.json"), "w") as f:
        json.dump(res, f, indent=2)


def faiss_run(run, base, queries, gt, m, efc, efs, threads):
    """faiss IndexHNSWFlat, inner product."""
    import faiss

    n, dim = base.shape

    faiss.omp_set_num_threads(threads)
    r0 = rss_kib()
    t = time.perf_counter()
    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = efc
    index.add(base)
    build = time.perf_counter() - t
    res = {"label": "faiss-cpu 1.8.0 HNSWFlat", "n": n, "dim": dim, "m": m, "ef_construction": efc,
           "build_s": build, "bytes_per_vector": (rss_kib() - r0) * 1024 / n, "curve": []}
    faiss.omp_set_num_threads(1)
    index.hnsw.efSearch = efs[0]
    [index.search(queries[i:i + 1], 10) for i in range(len(queries))]  # untimed warm-up pass
    for ef in efs:
        index.hnsw.efSearch = ef
        rates = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            found = [index.search(queries[i:i + 1], 10)[1][0] for i in range(len(queries))]
            rates.append(len(queries) / (time.perf_counter() - t))
        res["curve"].append({"ef": ef, "recall": recall10(found, gt), "qps": median(rates)})
    with open(os.path.join(run, "hnsw-faiss.json"), "w") as f:
        json.dump(res, f, indent=2)


def qps_at(curve, target):
    """Queries/s at recall `target`, interpolated linearly between the two sweep points
    around it (None when the curve never reaches it)."""
    pts = sorted(curve, key=lambda p: p["recall"])
    for lo, hi in zip(pts, pts[1:]):
        if lo["recall"] <= target <= hi["recall"]:
            if hi["recall"] == lo["recall"]:
                return hi["qps"]
            w = (target - lo["recall"]) / (hi["recall"] - lo["recall"])
            return lo["qps"] + w * (hi["qps"] - lo["qps"])
    if pts and pts[0]["recall"] >= target:
        return pts[0]["qps"]
    return None


def report(run):
    def load(name):
        p = os.path.join(run, name)
        return json.load(open(p)) if os.path.exists(p) else None

    meta = load("run.json") or {}
    lines = []
    size = meta.get("cases")
    lines.append(f"Run `{meta.get('label', run)}`: {size} generated cases, load average at start "
                 f"{meta.get('load_start', '?')}, at end {meta.get('load_end', '?')} (2 cores, shared).\n")
    leian = load("leian-bm25.json")
    peers = load("peers-bm25.json")
    ingest = meta.get("ingest")
    if ingest:
        lines.append("| ingest + BM25 index | cases/s | on-disk bytes/case | peak RSS |")
        lines.append("|---|---|---|---|")
        lines.append(f"| leian ingest (tantivy, jieba, 6 text fields + stored JSON) | {ingest['cases_per_s']:.0f} | "
                     f"{ingest['bytes_per_case']:.0f} | {ingest['peak_rss_kib'] / 1024:.0f} MiB |")
        if peers:
            f5 = peers["fts5"]
            lines.append(f"| SQLite FTS5 (pre-tokenised, 1 column holding the token text) | {f5['cases_per_s']:.0f} | "
                         f"{f5['bytes_per_case']:.0f} | +{f5['rss_delta_kib'] / 1024:.0f} MiB |")
            rb = peers.get("rank_bm25")
            if rb:
                lines.append(f"| rank_bm25 BM25Okapi (in memory, pre-tokenised) | {rb['cases_per_s']:.0f} | — | "
                             f"+{rb['rss_delta_kib'] / 1024:.0f} MiB |")
        lines.append(f"\nInput: {meta.get('json_bytes_per_case', 0):.0f} bytes of JSON per case; "
                     f"`leian gen` wrote it in {meta.get('gen_s', 0):.1f} s.\n")
    if leian:
        lines.append(f"| BM25 top 10, {leian['queries']} fact queries (median {leian['median_query_tokens']:.0f} "
                     f"distinct tokens) | p50 ms | p99 ms | leian p50 speed-up |")
        lines.append("|---|---|---|---|")
        lp = leian["plain"]
        lines.append(f"| leian, ids + stored case | {lp['p50_ms']:.2f} | {lp['p99_ms']:.2f} | 1× |")
        ls = leian["snippets"]
        lines.append(f"| leian, with highlighted snippets | {ls['p50_ms']:.2f} | {ls['p99_ms']:.2f} | — |")
        if peers:
            for key, name in (("fts5", f"SQLite FTS5 `MATCH … ORDER BY rank` ({peers['fts5'].get('queries', peers['queries'])} queries)"),
                              ("rank_bm25", f"rank_bm25 `get_scores` ({peers.get('rank_bm25', {}).get('queries')} queries)")):
                p = peers.get(key)
                if not p:
                    lines.append(f"| rank_bm25: not run, {peers.get('rank_bm25_skipped', '?')} | — | — | — |")
                    continue
                lines.append(f"| {name} | {p['p50_ms']:.2f} | {p['p99_ms']:.2f} | "
                             f"{p['p50_ms'] / lp['p50_ms']:.1f}× |")
        lines.append("")
    curves = [load(n) for n in ("hnsw-leian.json", "hnsw-leian-default.json", "hnsw-hnswlib.json", "hnsw-faiss.json")]
    curves = [c for c in curves if c]
    if curves:
        c0 = curves[0]
        threads = os.environ.get("PEER_BUILD_THREADS", "1")
        lines.append(f"HNSW, {c0['n']:,} unit vectors of dim {c0['dim']} (clustered), 1,000 queries, "
                     f"recall@10 against exact search, one thread per query (median of {REPEAT} passes after a warm-up pass), builds on {threads} threads:\n")
        lines.append("| engine | M / ef_construction | build s | RSS bytes/vector | recall@10 → queries/s by ef_search | q/s at recall .95 |")
        lines.append("|---|---|---|---|---|---|")
        at95 = {}
        for c in curves:
            pts = ", ".join(f"{p['ef']}: {p['recall']:.3f} → {p['qps']:.0f}" for p in c["curve"])
            at = qps_at(c["curve"], 0.95)
            at95[c["label"]] = (at, c["build_s"])
            lines.append(f"| {c['label']} | {c['m']} / {c['ef_construction']} | {c['build_s']:.0f} | "
                         f"{c['bytes_per_vector']:.0f} | {pts} | {'—' if at is None else f'{at:.0f}'} |")
        lines.append("")
        mine = at95.get(c0["label"])
        for peer in ("hnswlib 0.8.0", "faiss-cpu 1.8.0 HNSWFlat"):
            theirs = at95.get(peer)
            if mine and theirs and mine[0] and theirs[0]:
                lines.append(f"- {peer} answers {theirs[0] / mine[0]:.2f}× leian's queries/s at recall .95 "
                             f"(goal ≤ 1.5×); it builds in {theirs[1] / mine[1]:.2f}× leian's time.")
        if "open_s" in c0:
            lines.append(f"- leian saves its graph ({c0['graph_file_bytes_per_vector']:.0f} bytes/vector in "
                         f"`graph.bin`) in {c0['save_s']:.1f} s and opens the store, graph included, in "
                         f"{c0['open_s']:.1f} s instead of rebuilding it.")
        lines.append("")
    hy = load("leian-hybrid.json")
    if hy:
        lines.append(f"End to end through `Engine::search` (top 10 with snippets), {hy['queries']} LeCaRD dev "
                     f"queries (median {hy['median_query_chars']:.0f} characters) over {hy['cases']:,} cases "
                     f"with e5-small vectors:\n")
        lines.append("| mode | p50 ms | p99 ms |")
        lines.append("|---|---|---|")
        for mode in ("bm25", "dense", "hybrid"):
            lines.append(f"| {mode}{' (incl. query embedding)' if mode != 'bm25' else ''} | "
                         f"{hy[mode]['p50_ms']:.1f} | {hy[mode]['p99_ms']:.1f} |")
        lines.append("")
    print("\n".join(lines))


if __name__ == "__main__":
    cmd, run = sys.argv[1], sys.argv[2]
    if cmd == "bm25":
        bm25(run)
    elif cmd == "vectors":
        vectors(run, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "hnsw":
        hnsw(run, int(sys.argv[3]), int(sys.argv[4]), [int(x) for x in sys.argv[5].split(",")])
    elif cmd == "report":
        report(run)
    else:
        sys.exit(f"unknown command {cmd}")
