#!/usr/bin/env python3
"""Plain BM25 baseline (issue 14) on the shared dev data, and ablations towards leian's BM25.

Tokenisation: jieba `lcut_for_search` (HMM on), tokens that are only whitespace/punctuation
dropped, then the 30 function words of STOP dropped. Baseline ranking: rank_bm25 `BM25Okapi`
(k1=1.5, b=0.75, epsilon=0.25) fitted on the collection's texts; the query is the whole
tokenised query text with duplicates kept. Every other setting uses `score()` below, which is
first checked to reproduce rank_bm25's scores exactly (rank_bm25 idf, k1=1.5, linear query tf).

Protocols (as crates/eval/src/lib.rs and crates/cli/src/eval.rs compute them):
  paper   per LeCaRD query rank its labelled candidates only; NDCG@10/20/30 linear gain,
          ideal = the query's labels sorted; P@5, P@10, MAP count grade 3 as relevant.
  corpus  rank all 2,611 candidates, keep the top 100; unlabelled = grade 0; same ideal;
          Recall@100 counts grade >= 1. Term statistics come from all candidates in both.
  scm     the collection is every A, B, C of scm/triplets.dev.jsonl (900 texts); query A;
          pick C if it scores above B, else B (ties go to B); accuracy against `answer`.
Ranking ties break by collection order (stable sort), so runs are deterministic.

Settings: `baseline`, single-factor ablations, `combo` (Lucene/tantivy idf
ln(1+(N-df+.5)/(df+.5)), k1=1.2, distinct query tokens weighted 1+ln tf, top 64 by
idf*(1+ln tf), pure digits dropped from queries >= 100 chars) and combo minus each factor,
then a k1 x b grid for the baseline tokenisation (reported, not tuned).

Requirements: Python 3.11, `pip install jieba==0.42.1 rank_bm25==0.2.2` (numpy comes with it).
Usage: python3 benches/baseline_bm25.py [--data ../shared/data] [--per-query PATH] [--only NAME,...]
Output: one JSON line per (setting, protocol) on stdout; --per-query writes a TSV
`setting qid protocol ndcg30` for the LeCaRD protocols.
"""
import argparse, json, math, os, sys, time, unicodedata
import numpy as np
import jieba, jieba.posseg
from rank_bm25 import BM25Okapi

STOP = set("的 了 在 是 和 与 及 或 等 将 被 把 对 于 其 之 也 而 并 又 该 所 以 为 有 即 从 向 到 就".split())
assert len(STOP) == 30
BASE = dict(idf="rank", k1=1.5, b=0.75, qtf="linear", cap=None, digits=True, names=True)
COMBO = dict(BASE, idf="lucene", k1=1.2, qtf="log", cap=64, digits=False)
SETTINGS = {
    "baseline": BASE,
    "lucene_idf": dict(BASE, idf="lucene"),
    "lucene_idf_k1.2": dict(BASE, idf="lucene", k1=1.2),
    "dedup_log_tf": dict(BASE, qtf="log"),
    "dedup_binary": dict(BASE, qtf="binary"),
    "cap64": dict(BASE, cap=64),
    "no_digits": dict(BASE, digits=False),
    "no_names": dict(BASE, names=False),
    "combo": COMBO,
    "combo-lucene_k1.2": dict(COMBO, idf="rank", k1=1.5),
    "combo-log_tf": dict(COMBO, qtf="linear"),
    "combo-cap64": dict(COMBO, cap=None),
    "combo-no_digits": dict(COMBO, digits=True),
    "combo+no_names": dict(COMBO, names=False),
}
for k1 in (0.9, 1.2, 1.5, 2.0):
    for b in (0.5, 0.75, 0.9):
        SETTINGS[f"grid_k1={k1}_b={b}"] = dict(BASE, k1=k1, b=b)


def tokenize(text):
    keep = lambda t: not all(c.isspace() or unicodedata.category(c).startswith("P") for c in t)
    return [t for t in jieba.lcut_for_search(text) if keep(t) and t not in STOP]


def person_names(text):
    return {w for w, f in jieba.posseg.cut(text) if f == "nr"}


class Index:
    """Postings, document lengths and both idf flavours of one collection."""
    def __init__(self, docs):
        self.docs, self.n = docs, len(docs)
        self.rank = BM25Okapi(docs)  # also the reference implementation
        self.doc_len = np.array(self.rank.doc_len)
        self.avgdl = self.rank.avgdl
        self.post = {}
        for i, f in enumerate(self.rank.doc_freqs):
            for t, c in f.items():
                self.post.setdefault(t, ([], []))
                self.post[t][0].append(i); self.post[t][1].append(c)
        self.post = {t: (np.array(d), np.array(c)) for t, (d, c) in self.post.items()}
        self.idf = {"rank": self.rank.idf,
                    "lucene": {t: math.log(1 + (self.n - len(d) + 0.5) / (len(d) + 0.5))
                               for t, (d, _) in self.post.items()}}

    def score(self, terms, s):
        """terms: [(token, weight)] in order; BM25 with rank_bm25's exact arithmetic."""
        k1, b, idf = s["k1"], s["b"], self.idf[s["idf"]]
        out = np.zeros(self.n)
        for t, w in terms:
            tf = np.zeros(self.n, dtype=np.int64)
            if t in self.post:
                tf[self.post[t][0]] = self.post[t][1]
            out += w * ((idf.get(t) or 0) * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * self.doc_len / self.avgdl))))
        return out


def query_terms(toks, text, idx, s, names):
    """The setting's query: [(token, weight)], duplicates kept only under linear tf."""
    if len(text) >= 100:
        if not s["digits"]:
            toks = [t for t in toks if not t.isdigit()]
        if not s["names"]:
            toks = [t for t in toks if t not in names]
    tf = {}
    for t in toks:
        tf[t] = tf.get(t, 0) + 1
    if s["cap"] is not None and len(tf) > s["cap"]:
        idf = idx.idf[s["idf"]]
        best = sorted(tf, key=lambda t: (-(idf.get(t) or 0) * (1 + math.log(tf[t])), t))[: s["cap"]]
        toks = [t for t in toks if t in set(best)]
    if s["qtf"] == "linear":
        return [(t, 1.0) for t in toks]
    distinct = list(dict.fromkeys(toks))
    return [(t, 1 + math.log(tf[t]) if s["qtf"] == "log" else 1.0) for t in distinct]


def dcg(grades, k):
    return sum(g / math.log2(i + 2) for i, g in enumerate(grades[:k]))


def ndcg(ranked, labels, k):
    ideal = dcg(sorted(labels, reverse=True), k)
    return dcg(ranked, k) / ideal if ideal else 0.0


def evaluate(qrels, run, protocol):
    """Per-query metrics exactly as leian_eval::evaluate_per_query (queries sorted by id)."""
    out = {}
    for q in sorted(qrels):
        labels, seen, ranked = qrels[q], set(), []
        for d in run.get(q, []):
            if d not in seen and (protocol == "corpus" or d in labels):
                seen.add(d); ranked.append(labels.get(d, 0))
        grades = list(labels.values())
        rel3, rel1 = sum(g >= 3 for g in grades), sum(g >= 1 for g in grades)
        hits, ap = 0, 0.0
        for i, g in enumerate(ranked):
            if g >= 3:
                hits += 1; ap += hits / (i + 1)
        out[q] = {"ndcg@10": ndcg(ranked, grades, 10), "ndcg@20": ndcg(ranked, grades, 20),
                  "ndcg@30": ndcg(ranked, grades, 30),
                  "p@5": sum(g >= 3 for g in ranked[:5]) / 5, "p@10": sum(g >= 3 for g in ranked[:10]) / 10,
                  "map": ap / rel3 if rel3 else 0.0,
                  "recall@100": sum(g >= 1 for g in ranked[:100]) / rel1 if rel1 else 0.0}
    return out


def mean(per_query):
    keys = next(iter(per_query.values())).keys()
    m = {k: round(sum(v[k] for v in per_query.values()) / len(per_query), 4) for k in keys}
    m["queries"] = len(per_query)
    return m


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../shared/data"))
    ap.add_argument("--per-query", help="write `setting qid protocol ndcg30` TSV here")
    ap.add_argument("--only", help="comma-separated setting names (default: all)")
    a = ap.parse_args()
    t0 = time.time()
    jieba.setLogLevel(60); jieba.initialize()
    lec = os.path.join(a.data, "lecard")
    qrels = {}
    with open(os.path.join(lec, "qrels.dev.tsv")) as f:
        for line in f:
            if line.strip():
                q, _, d, g = line.split()
                qrels.setdefault(q, {})[d] = int(g)
    # check this evaluator against the published BM25 run's expected paper-protocol figures
    run = {}
    with open(os.path.join(lec, "published_runs/bm25.dev.run")) as f:
        for line in f:
            c = line.split()
            run.setdefault(c[0], []).append((int(c[3]), c[2]))
    run = {q: [d for _, d in sorted(v)] for q, v in run.items()}
    want = json.load(open(os.path.join(lec, "published_runs/expected_dev_metrics.json")))["metrics"]["bm25"]
    got = mean(evaluate(qrels, run, "paper"))
    assert all(abs(got[k] - w) < 6e-4 for k, w in want.items()), (got, want)

    queries = [q for q in read_jsonl(os.path.join(lec, "queries.dev.jsonl")) if str(q["id"]) in qrels]
    cands = read_jsonl(os.path.join(lec, "candidates.jsonl"))
    cand_ids = [str(c["id"]) for c in cands]
    lidx = Index([tokenize(c["fact"]) for c in cands])
    lq = [(str(q["id"]), q["fact"], tokenize(q["fact"]), person_names(q["fact"])) for q in queries]
    trip = read_jsonl(os.path.join(a.data, "scm/triplets.dev.jsonl"))
    sidx = Index([tokenize(t[p]) for t in trip for p in "ABC"])  # doc 3i+0/1/2 = A/B/C of triplet i
    sq = [(t["A"], sidx.docs[3 * i], person_names(t["A"])) for i, t in enumerate(trip)]
    t_tok = time.time() - t0
    print(json.dumps({"tokenise_s": round(t_tok, 1), "lecard_docs": lidx.n, "scm_docs": sidx.n,
                      "queries": len(lq), "triplets": len(trip)}), file=sys.stderr)

    # own BM25 with rank_bm25's idf, k1 and linear tf must give rank_bm25's scores exactly
    worst = 0.0
    for idx, qs in ((lidx, [x[2] for x in lq]), (sidx, [x[1] for x in sq[:50]])):
        for toks in qs:
            worst = max(worst, float(np.max(np.abs(idx.rank.get_scores(toks) - idx.score([(t, 1.0) for t in toks], BASE)))))
    assert worst == 0.0, f"own BM25 differs from rank_bm25 by {worst}"
    print(json.dumps({"own_bm25_vs_rank_bm25_max_abs_diff": worst}), file=sys.stderr)

    names = a.only.split(",") if a.only else list(SETTINGS)
    pq = open(a.per_query, "w", encoding="utf-8") if a.per_query else None
    if pq:
        pq.write("setting\tqid\tprotocol\tndcg30\n")
    for name in names:
        s, t1 = SETTINGS[name], time.time()
        paper, corpus = {}, {}
        for qid, text, toks, nm in lq:
            terms = query_terms(toks, text, lidx, s, nm)
            sc = lidx.rank.get_scores(toks) if name == "baseline" else lidx.score(terms, s)
            order = np.argsort(-sc, kind="stable")
            corpus[qid] = [cand_ids[i] for i in order[:100]]
            paper[qid] = [cand_ids[i] for i in order if cand_ids[i] in qrels[qid]]
        for proto, run in (("paper", paper), ("corpus", corpus)):
            per = evaluate(qrels, run, proto)
            print(json.dumps({"setting": name, "protocol": proto, **mean(per)}), flush=True)
            for q, m in per.items() if pq else ():
                pq.write(f"{name}\t{q}\t{proto}\t{m['ndcg@30']:.6f}\n")
        right = 0
        for i, (text, toks, nm) in enumerate(sq):
            terms = query_terms(toks, text, sidx, s, nm)
            sc = sidx.rank.get_scores(toks) if name == "baseline" else sidx.score(terms, s)
            right += ("C" if sc[3 * i + 2] > sc[3 * i + 1] else "B") == trip[i]["answer"]
        print(json.dumps({"setting": name, "protocol": "scm", "accuracy": round(right / len(trip), 4),
                          "triplets": len(trip), "seconds": round(time.time() - t1, 1)}), flush=True)
    if pq:
        pq.close()
    print(json.dumps({"total_s": round(time.time() - t0, 1)}), file=sys.stderr)


if __name__ == "__main__":
    main()
