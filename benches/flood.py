#!/usr/bin/env python3
"""Fair use under a flood (not run by CI): one key floods POST /v1/search with long
pasted texts from many threads while another key sends keyword queries one at a time;
prints the keyword query's latency before and during the flood and what the flooding
key got (200 / 429 / other; -1 is a connection reset: a 429 is sent before a long body
is read). The keyword client sends 4 queries a second. Standard library only.

    benches/flood.py http://127.0.0.1:8080 FLOOD_KEY OTHER_KEY [SECONDS] [THREADS] [CHARS]

benches/flood.sh starts the servers and runs this with and without per-key limits.
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

KEYWORDS = ["盗窃 手机 超市", "醉酒驾驶机动车 血液酒精含量", "冒充客服 诈骗 转账",
            "故意伤害 轻伤二级 赔偿 谅解", "入户盗窃 现金", "信用卡 透支 催收 不还",
            "抢劫 持刀 出租车司机", "贩卖毒品 甲基苯丙胺", "交通肇事 逃逸 致人死亡",
            "帮助信息网络犯罪活动 出售银行卡", "非法吸收公众存款 高息", "寻衅滋事 随意殴打"]
# a fictional pasted narrative, repeated to the length asked
PASTE = ("被告人某甲于某日晚在某市某区一小区内，趁被害人熟睡之机，从未关闭的窗户进入室内，"
         "窃取现金人民币五千元及手机一部，后将手机以八百元价格卖给他人，所得款项用于挥霍。"
         "案发后被告人被公安机关抓获，到案后如实供述了自己的罪行，其亲属代为退赔被害人全部损失，"
         "取得被害人谅解。")


def post(base, key, body, timeout=60):
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(base + "/v1/search", data=data, headers={
        "Authorization": "Bearer " + key, "Content-Type": "application/json"})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            code = r.status
    except urllib.error.HTTPError as e:
        e.read()
        code = e.code
    except Exception:  # timeouts, and resets: a 429 is sent before a long body is read
        code = -1
    return code, (time.perf_counter() - t) * 1000


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def keyword_run(base, key, seconds, every=0.25):
    """A judge's keyword queries, one every `every` seconds (well inside the per-key rate:
    a client that sends back to back is itself the flood)."""
    lat, codes, i, end = [], {}, 0, time.time() + seconds
    while time.time() < end:
        started = time.time()
        code, ms = post(base, key, {"query": KEYWORDS[i % len(KEYWORDS)], "top_k": 10})
        codes[code] = codes.get(code, 0) + 1
        lat.append(ms)
        i += 1
        time.sleep(max(0.0, every - (time.time() - started)))
    return lat, codes


def main():
    base, flood_key, other_key = sys.argv[1:4]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    chars = int(sys.argv[6]) if len(sys.argv) > 6 else 200_000
    paste = (PASTE * (chars // len(PASTE) + 1))[:chars]
    calm, calm_codes = keyword_run(base, other_key, seconds / 2)
    stop = threading.Event()
    got, lock = {}, threading.Lock()

    body = json.dumps({"query": paste, "top_k": 10}, ensure_ascii=False).encode()

    def flood():
        while not stop.is_set():
            code, _ = post(base, flood_key, body)
            with lock:
                got[code] = got.get(code, 0) + 1
            if code == 429:
                time.sleep(0.05)  # a client that honours nothing but does not spin

    ts = [threading.Thread(target=flood) for _ in range(threads)]
    for t in ts:
        t.start()
    time.sleep(1)
    loaded, codes = keyword_run(base, other_key, seconds)
    stop.set()
    for t in ts:
        t.join()
    print(json.dumps({
        "keyword_calm": {"n": len(calm), "p50_ms": round(statistics.median(calm), 1),
                         "p99_ms": round(pct(calm, 99), 1),
                         "statuses": {str(k): v for k, v in sorted(calm_codes.items())}},
        "keyword_under_flood": {"n": len(loaded), "p50_ms": round(statistics.median(loaded), 1),
                                "p99_ms": round(pct(loaded, 99), 1),
                                "statuses": {str(k): v for k, v in sorted(codes.items())}},
        "flood": {"threads": threads, "chars": chars,
                  "statuses": {str(k): v for k, v in sorted(got.items())}},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
