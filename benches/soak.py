#!/usr/bin/env python3
"""Soak (not run by CI): N clients, each with its own judge key, mix search, report,
consistency check and push (register a pending case, read the inbox, acknowledge, close)
against a running `leian serve` for a while; the server's RSS is sampled from /proc every
10 s. A 429 is waited out as its Retry-After says (a well-behaved client) and counted
apart from errors. Prints requests and errors per kind, latency medians and p99, and RSS over time.
Standard library only.

    benches/soak.py BASE_URL SERVER_PID SECONDS KEY [KEY ...]

benches/soak.sh starts the server, makes the keys and runs this.
"""
import json
import random
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

# fictional facts, in the style of a criminal judgment (written for this bench)
FACTS = [
    "被告人某甲于某日晚在某超市内，趁被害人不备，窃取其放在购物车内的手机一部，价值人民币三千元。",
    "被告人某乙饮酒后驾驶小型轿车在城市道路上行驶，被民警查获，经鉴定其血液酒精含量为每百毫升一百六十毫克。",
    "被告人某丙冒充网购平台客服，以退款为由骗取被害人转账共计人民币四万元。",
    "被告人某丁因琐事与被害人发生争执，持木棍将被害人打致轻伤二级，案发后赔偿并取得谅解。",
    "被告人某戊以高息为诱饵，向社会不特定公众吸收资金人民币三百万元，到期无法兑付。",
    "被告人某己在出租车内持刀威胁司机，劫得现金人民币八百元及手机一部。",
    "被告人某庚明知他人利用信息网络实施犯罪，仍出售本人银行卡四张，卡内流水达人民币六十万元。",
    "被告人某辛透支信用卡人民币五万元，经发卡银行两次催收后超过三个月仍不归还。",
]
CHARGES = ["盗窃罪", "危险驾驶罪", "诈骗罪", "故意伤害罪", "非法吸收公众存款罪", "抢劫罪",
           "帮助信息网络犯罪活动罪", "信用卡诈骗罪"]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ms = {}
        self.errors = {}
        self.throttled = {}
        self.examples = []

    def add(self, kind, code, ms, body):
        with self.lock:
            if code == 429:
                # fair use said wait: a client does, and the wait is not an error
                self.throttled[kind] = self.throttled.get(kind, 0) + 1
                return
            self.ms.setdefault(kind, []).append(ms)
            if not 200 <= code < 300:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.examples) < 10:
                    self.examples.append((kind, code, body[:200]))


def call(base, key, method, path, body, tally, kind):
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": "Bearer " + key, "Content-Type": "application/json"})
    t = time.perf_counter()
    text = ""
    retry_after = 0.0
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode("utf-8", "replace")
            code = r.status
    except urllib.error.HTTPError as e:
        text = e.read().decode("utf-8", "replace")
        code = e.code
        retry_after = float(e.headers.get("Retry-After") or 1)
    except Exception as e:  # noqa: BLE001 - a reset or timeout is an error too
        text, code = repr(e), -1
    tally.add(kind, code, (time.perf_counter() - t) * 1000, text)
    if code == 429:
        time.sleep(retry_after)
    try:
        return json.loads(text) if 200 <= code < 300 else None
    except ValueError:
        return None


def client(base, key, end, tally, seed):
    rng = random.Random(seed)
    while time.time() < end:
        i = rng.randrange(len(FACTS))
        facts, charge = FACTS[i], CHARGES[i]
        step = rng.random()
        if step < 0.45:
            call(base, key, "POST", "/v1/search",
                 {"query": facts, "charges": [charge], "top_k": 10}, tally, "search")
        elif step < 0.60:
            call(base, key, "POST", "/v1/reports",
                 {"pending_case": {"title": "压测待决案件", "facts": facts},
                  "query": {"query": facts, "charges": [charge], "top_k": 10},
                  "format": rng.choice(["json", "markdown", "html"])}, tally, "report")
        elif step < 0.75:
            call(base, key, "POST", "/v1/consistency",
                 {"facts": facts, "charges": [charge],
                  "proposed_term_months": rng.randrange(1, 60)}, tally, "consistency")
        else:
            p = call(base, key, "POST", "/v1/pending-cases",
                     {"facts": facts, "charges": [charge], "title": "压测在办案件"},
                     tally, "push")
            inbox = call(base, key, "GET", "/v1/pushes?unacked=true&limit=20", None,
                         tally, "push")
            for push in (inbox or {}).get("pushes", [])[:3]:
                call(base, key, "POST", f"/v1/pushes/{push['id']}/ack", {}, tally, "push")
            if p and p.get("id"):
                call(base, key, "POST", f"/v1/pending-cases/{p['id']}/close", {}, tally,
                     "push")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    base, pid, seconds, keys = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    tally = Tally()
    start = time.time()
    end = start + seconds
    threads = [threading.Thread(target=client, args=(base, k, end, tally, n), daemon=True)
               for n, k in enumerate(keys)]
    for t in threads:
        t.start()
    samples = []
    while time.time() < end:
        samples.append((time.time() - start, rss_kib(pid)))
        time.sleep(10)
    for t in threads:
        t.join(timeout=90)
    samples.append((time.time() - start, rss_kib(pid)))
    total = sum(len(v) for v in tally.ms.values())
    print(f"{len(keys)} clients, {seconds:.0f} s, {total} requests answered, "
          f"{sum(tally.errors.values())} errors, {sum(tally.throttled.values())} told to wait "
          f"(429, Retry-After honoured)")
    for kind in sorted(tally.ms):
        ms = tally.ms[kind]
        print(f"  {kind:12s} {len(ms):6d} requests  {tally.errors.get(kind, 0):4d} errors  "
              f"{tally.throttled.get(kind, 0):5d} × 429  "
              f"p50 {statistics.median(ms):8.1f} ms  p99 {pct(ms, 99):8.1f} ms")
    for kind, code, body in tally.examples:
        print(f"  error {kind} {code}: {body}")
    # RSS: after the first minute of warm-up (caches fill) the rest should be flat
    warm = [r for t, r in samples if t >= 60] or [r for _, r in samples]
    print("  RSS MiB over time: " + ", ".join(f"{t:.0f}s {r / 1024:.0f}" for t, r in samples[::6]))
    print(f"  RSS after warm-up: first {warm[0] / 1024:.1f} MiB, median "
          f"{statistics.median(warm) / 1024:.1f}, last {warm[-1] / 1024:.1f}, "
          f"max {max(warm) / 1024:.1f}")
    sys.exit(1 if tally.errors else 0)


if __name__ == "__main__":
    main()
