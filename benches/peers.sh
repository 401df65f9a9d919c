#!/usr/bin/env bash
# leian side by side with the engines users would pick instead (not run by CI):
#   BM25:  SQLite FTS5 and rank_bm25 on the same generated cases, cut by leian's tokenizer
#   HNSW:  hnswlib and faiss-cpu on the same vectors (.npy / .fvecs written once)
#   hybrid: end-to-end latency with the query embedding (needs models/e5-small and an index
#           with vectors, by default a copy of ../main/index/lecard or $LEIAN_HYBRID_INDEX)
# Prints BENCHMARKS.md-ready Markdown and writes it to $PEERS_DIR/report.md.
#
#   benches/peers.sh                 # 10k and 100k cases, 100k vectors (~20-30 min on 2 cores)
#   benches/peers.sh --sizes 10000   # just one size
#   benches/peers.sh --with-1m       # adds 1M cases and 1M vectors (hours, ~30 GB of scratch)
#   benches/peers.sh --skip-hybrid   # no model needed
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="10000 100000"
VECTORS=100000
HYBRID=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES="$2"; shift 2 ;;
    --vectors) VECTORS="$2"; shift 2 ;;
    --with-1m) SIZES="$SIZES 1000000"; VECTORS=1000000; shift ;;
    --skip-hybrid) HYBRID=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${PEERS_DIR:-$TARGET/peers}
VENV=${PEERS_VENV:-$OUT/venv}
EFS=${PEERS_EFS:-10,16,24,32,64,128,256}
# every engine builds its graph on the same number of threads (searches: one thread each)
export PEER_BUILD_THREADS=${PEER_BUILD_THREADS:-$(nproc)}
mkdir -p "$OUT"
cargo build --release --quiet
LEIAN=$TARGET/release/leian
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy==1.26.4 rank-bm25==0.2.2 hnswlib==0.8.0 faiss-cpu==1.8.0 packaging==24.1
fi
PY="nice -n 10 $VENV/bin/python benches/peers.py"
load() { cut -d' ' -f1-3 /proc/loadavg; }
REPORT=$OUT/report.md
: > "$REPORT"

for n in $SIZES; do
  run=$OUT/bm25-$n
  rm -rf "$run"; mkdir -p "$run"
  start_load=$(load)
  t0=$(date +%s.%N)
  "$LEIAN" gen --cases "$n" --out "$run/cases.jsonl" --seed 8
  gen_s=$(printf "%.3f" "$(echo "$(date +%s.%N) - $t0" | bc)")
  /usr/bin/time -v -o "$run/ingest.time" nice -n 10 "$LEIAN" ingest "$run/cases.jsonl" \
    --index "$run/index" --no-model --quiet --format jsonl | tee "$run/ingest.out"
  rate=$(grep -o '([0-9]* cases/s)' "$run/ingest.out" | tr -dc 0-9)
  rss=$(grep 'Maximum resident' "$run/ingest.time" | awk '{print $NF}')
  disk=$(du -sb "$run/index" | cut -f1)
  json=$(stat -c %s "$run/cases.jsonl")
  nice -n 10 "$LEIAN" bench-peers bm25 --index "$run/index" --cases "$run/cases.jsonl" \
    --queries 200 --out-dir "$run"
  $PY bm25 "$run"
  cat > "$run/run.json" <<EOF
{"label": "bm25-$n", "cases": $n, "load_start": "$start_load", "load_end": "$(load)",
 "gen_s": $gen_s, "json_bytes_per_case": $((json / n)),
 "ingest": {"cases_per_s": $rate, "bytes_per_case": $((disk / n)), "peak_rss_kib": $rss}}
EOF
  rm -f "$run/fts5.db" "$run/corpus.tok"
  $PY report "$run" | tee -a "$REPORT"
done

run=$OUT/hnsw-$VECTORS
mkdir -p "$run"
start_load=$(load)
[ -f "$run/base.fvecs" ] || $PY vectors "$run" "$VECTORS" 384 1000
nice -n 10 "$LEIAN" bench-peers hnsw --base "$run/base.fvecs" --queries "$run/queries.fvecs" \
  --gt "$run/gt.ivecs" --m 16 --ef-construction 200 --ef "$EFS" --threads "$PEER_BUILD_THREADS" --repeat "${PEERS_REPEAT:-3}" \
  --label "leian" --out "$run/hnsw-leian.json"
$PY hnsw "$run" 16 200 "$EFS"
echo "{\"label\": \"hnsw-$VECTORS\", \"load_start\": \"$start_load\", \"load_end\": \"$(load)\"}" > "$run/run.json"
$PY report "$run" | tee -a "$REPORT"

if [ "$HYBRID" = 1 ]; then
  run=$OUT/hybrid
  src=${LEIAN_HYBRID_INDEX:-../main/index/lecard}
  rm -rf "$run"; mkdir -p "$run"
  cp -a "$src" "$run/index"
  start_load=$(load)
  nice -n 10 "$LEIAN" bench-peers hybrid --index "$run/index" --n 16 --out "$run/leian-hybrid.json"
  echo "{\"label\": \"hybrid\", \"load_start\": \"$start_load\", \"load_end\": \"$(load)\"}" > "$run/run.json"
  $PY report "$run" | tee -a "$REPORT"
fi
echo "report: $REPORT" >&2
