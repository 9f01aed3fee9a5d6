#!/usr/bin/env bash
# Rebuilds crates/paperfeed-search/models/static-minilm-arxiv-v1 from the local all-MiniLM-L6-v2 and the
# arXiv corpus, then the Rust parity fixture. About 1.5-2 h on 2 shared cores (most of it the teacher pass).
#   TEACHER=/path/to/all-MiniLM-L6-v2 WORK=/tmp/bundled-model PY=python3 tools/bundled-model/build.sh
# Optional: CHUNKS=13 (teacher chunks of 2,048 papers to use; the v1 model used 13: papers 0-26,623).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data/arxiv}
TEACHER=${TEACHER:-/tmp/paperfeed-anchors/model}
WORK=${WORK:-/tmp/bundled-model}
PY=${PY:-python3}
CHUNKS=${CHUNKS:-13}
OUT=$ROOT/crates/paperfeed-search/models/static-minilm-arxiv-v1
CORPUS=$DATA/listings-75k.jsonl.zst
HELDOUT=$DATA/listings-sample-2000.jsonl
mkdir -p "$WORK"

# 1. Plain distillation with 6,474 added arXiv words (tokenizer + per-token fallback vectors).
[ -f "$WORK/raw-w20k/model.safetensors" ] ||
  $PY "$HERE/distill.py" "$TEACHER" "$CORPUS" "$HELDOUT" "$WORK/raw-w20k" --add-words 20000

# 2. Teacher pass over the first CHUNKS chunks of 2,048 papers: sentence embeddings, and token-state sums
#    from chunk STATS_FROM on (resumable: rerun after a kill).
STOP_AFTER=$CHUNKS STATS_FROM=${STATS_FROM:-5} $PY "$HERE/embed_teacher.py" "$TEACHER" "$WORK/raw-w20k/tokenizer.json" "$CORPUS" "$HELDOUT" "$WORK/teacher"

# 3. Contextual table, 4. training, 5. quantised model folder.
$PY "$HERE/contextual.py" "$WORK/raw-w20k" "$TEACHER" "$WORK/teacher/acc.npz" "$WORK/raw-ctx"
$PY "$HERE/train.py" "$WORK/raw-ctx" "$TEACHER" "$CORPUS" "$HELDOUT" "$WORK/teacher" "$WORK/trained" --epochs 14 --lr 5e-3
$PY "$HERE/meta.py" "$TEACHER" "$CORPUS" "$WORK" > "$WORK/meta.json"
$PY "$HERE/build_model.py" "$WORK/trained" "$CORPUS" "$HELDOUT" "$OUT" --no-pca --weighting none --dtype int8 --meta "$WORK/meta.json"

# 6. Checks on arXiv held-out papers, and the Rust parity fixture.
$PY "$HERE/validate.py" "$CORPUS" "$HELDOUT" "$WORK/teacher" "$OUT"
$PY "$HERE/make_fixture.py" "$OUT" "$HELDOUT" "$ROOT/crates/paperfeed-search/tests/fixtures/static_parity.json"
