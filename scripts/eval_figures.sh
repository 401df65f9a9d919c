#!/usr/bin/env bash
# The BM25-only evaluation figures of README in one go, for checking that a change keeps
# them (run it with the binary before and after, then diff the two output dirs):
#
#   scripts/eval_figures.sh BIN OUTDIR        # e.g. scripts/eval_figures.sh target/debug/leian /tmp/after
#
# Builds fresh indexes under OUTDIR from ../shared/data (no model), then writes one file per
# figure: eval lecard (corpus and paper × default legal ranking, fusion ranking, learned
# weights with charges inferred), eval scm, train-ranker (8 folds), eval consistency, eval
# bm25-cv, and a search with explain. About 10 minutes on 2 cores.
set -euo pipefail
B=${1:?usage: scripts/eval_figures.sh BIN OUTDIR}
O=${2:?usage: scripts/eval_figures.sh BIN OUTDIR}
D=${LEIAN_DATA:-../shared/data}
mkdir -p "$O"
Q=(--queries "$D/lecard/queries.dev.jsonl" --qrels "$D/lecard/qrels.dev.tsv")
rm -rf "$O/lc" "$O/scm" "$O/cail"
"$B" ingest "$D/lecard/candidates.jsonl" --index "$O/lc" --no-model --quiet > "$O/ingest.txt"
for p in corpus paper; do
  "$B" eval lecard --index "$O/lc" "${Q[@]}" --protocol $p --no-model > "$O/lecard-$p.txt"
  "$B" eval lecard --index "$O/lc" "${Q[@]}" --protocol $p --no-model --ranking fusion > "$O/lecard-$p-fusion.txt"
  "$B" eval lecard --index "$O/lc" "${Q[@]}" --protocol $p --no-model --legal learned --no-charges > "$O/lecard-$p-learned-nc.txt"
done
"$B" eval scm --triplets "$D/scm/triplets.dev.jsonl" --index "$O/scm" --no-model > "$O/scm.txt"
"$B" train-ranker --index "$O/lc" --no-model "${Q[@]}" --folds 8 > "$O/train.txt"
"$B" eval consistency --data "$D/cail2018/facts.jsonl" --index "$O/cail" > "$O/consistency.txt"
"$B" eval bm25-cv --index "$O/lc" "${Q[@]}" --triplets "$D/scm/triplets.dev.jsonl" --scm-index "$O/scm" > "$O/bm25cv.txt"
"$B" search --index "$O/lc" --no-model --explain --json "被告人醉酒驾驶机动车" > "$O/search.json"
echo "figures in $O"
