#!/usr/bin/env bash
# HTTP load test (not run by CI): starts `leian serve` on an index, then drives
# POST /v1/search from a separate process (wrk, Debian package `wrk`) at 1, 8 and 32
# concurrent connections, for BM25 and hybrid mode, each for a bounded time. Prints a
# Markdown table (throughput, latency p50/p90/p99) for BENCHMARKS.md.
#
#   benches/load.sh INDEX_DIR [SECONDS]      # e.g. benches/load.sh index/full 20
#
# Set LEIAN_BIN to use a given binary (default: target/release/leian, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
INDEX=${1:?usage: benches/load.sh INDEX_DIR [SECONDS]}
SECS=${2:-20}
PORT=${LEIAN_LOAD_PORT:-18080}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }; }
BIN=${LEIAN_BIN:-target/release/leian}
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
WORK=$(mktemp -d)
trap 'kill -INT $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
KEY=$("$BIN" keys create --index "$INDEX" --role judge --court 压测法院 --name load-test 2>/dev/null)
"$BIN" serve --index "$INDEX" --addr "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/healthz" >"$WORK/health.json" || { cat "$WORK/serve.log" >&2; exit 1; }
# twelve fictional queries of the kinds judges type, rotated per request
cat >"$WORK/search.lua" <<'EOF'
local queries = {
  "盗窃 手机 超市", "醉酒驾驶机动车 血液酒精含量", "冒充客服 诈骗 转账",
  "故意伤害 轻伤二级 赔偿 谅解", "入户盗窃 现金", "信用卡 透支 催收 不还",
  "抢劫 持刀 出租车司机", "贩卖毒品 甲基苯丙胺 十克", "交通肇事 逃逸 致人死亡",
  "帮助信息网络犯罪活动 出售银行卡", "非法吸收公众存款 高息 投资", "寻衅滋事 随意殴打 酒后"
}
local mode = os.getenv("LEIAN_MODE") or "bm25"
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LEIAN_KEY")
request = function()
  i = i + 1
  local q = queries[(i % #queries) + 1]
  return wrk.format(nil, "/v1/search", nil,
    '{"query":"' .. q .. '","top_k":10,"mode":"' .. mode .. '"}')
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %.1f %.1f %.1f %.1f %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, errors))
end
EOF
echo "| mode | connections | requests | throughput (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|---|---|---|"
for mode in bm25 hybrid; do
  for c in 1 8 32; do
    line=$(LEIAN_MODE=$mode LEIAN_KEY=$KEY wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${SECS}s" \
      --timeout 30s -s "$WORK/search.lua" "http://127.0.0.1:$PORT" | grep '^RESULT')
    read -r _ n rps p50 p90 p99 errs <<<"$line"
    echo "| $mode | $c | $n | $rps | $p50 | $p90 | $p99 | $errs |"
  done
done
echo
echo "index: $(cat "$WORK/health.json")"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
