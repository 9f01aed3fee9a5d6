#!/usr/bin/env sh
# Side-by-side embedding throughput: paperfeed's BertEmbedder (examples/embed_bench.rs) against
# sentence-transformers on PyTorch (shared/anchors/encode_speed.py), same model, documents,
# max lengths (256 and 128 tokens) and thread count, in one run. The machine is shared and
# noisy, so only ratios mean anything: the Rust runs bracket the Python one and are averaged.
# Besides documents per wall-clock second it reports documents per CPU-second, which depends
# far less on what the neighbours do (PyTorch's OpenMP threads spin while they wait, which
# counts as CPU time: this favours Rust a little when threads > 1).
#
#   scripts/bench-embed.sh [PAPERS.jsonl] [N_DOCS]
#
# The Python side is the code of the anchors' encode_speed.py (sentence-transformers, batch 32,
# warm-up on 64 documents) with CPU time added and the torch thread count taken from THREADS
# (default 2, encode_speed.py's own), which sets the Rust side's threads too.
# PRECISION=int8 benchmarks the int8 path. Needs the model (scripts/fetch-minilm.sh) and the
# anchors venv (shared/anchors/setup.sh; ANCHORS_DIR, default /tmp/paperfeed-anchors).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
papers=${1:-"$root/../shared/data/arxiv/listings-sample-2000.jsonl"}
n=${2:-2000}
model=${PAPERFEED_MINILM_DIR:-"$root/target/models/all-MiniLM-L6-v2"}
anchors=${ANCHORS_DIR:-/tmp/paperfeed-anchors}
scripts=${ANCHORS_SCRIPTS:-"$root/../shared/anchors"}
threads=${THREADS:-2}
precision=${PRECISION:-f32}

(cd "$root" && cargo build --quiet --release -p paperfeed-search --example embed_bench)
bench="$root/target/release/examples/embed_bench"
rust() { PAPERFEED_THREADS=$threads PAPERFEED_PRECISION=$precision "$bench" "$model" "$papers" "$n" "$1"; }

# encode_speed.py's measurement, plus CPU time, with `threads` torch threads.
python_bench() {
    "$anchors/venv/bin/python" - "$scripts" "$papers" "$model" "$n" "$threads" <<'PY'
import os, sys, json, time
scripts, papers, model_dir, n, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, scripts)
import torch
from sentence_transformers import SentenceTransformer
from common import load_papers
torch.set_num_threads(threads)
_, _, texts = load_papers(papers)
texts = texts[:n]
m = SentenceTransformer(model_dir, device="cpu")
out = {"tool": f"sentence-transformers, torch {torch.__version__}, {threads} threads, batch 32", "docs": len(texts)}
for msl in (256, 128):
    m.max_seq_length = msl
    m.encode(texts[:64], batch_size=32, show_progress_bar=False)
    with torch.inference_mode():
        t, c = time.perf_counter(), time.process_time()
        m.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        out[f"docs_per_s_{msl}"] = round(len(texts) / (time.perf_counter() - t), 2)
        out[f"docs_per_cpu_s_{msl}"] = round(len(texts) / (time.process_time() - c), 2)
print(json.dumps(out))
PY
}

r256a=$(rust 256)
r128a=$(rust 128)
py=$(python_bench 2>/dev/null)
r256b=$(rust 256)
r128b=$(rust 128)

python3 - "$py" "$r256a" "$r256b" "$r128a" "$r128b" <<'PY'
import json, sys
py = json.loads(sys.argv[1])
runs = {256: [json.loads(s) for s in sys.argv[2:4]], 128: [json.loads(s) for s in sys.argv[4:6]]}
print(f"{py['tool']}, {py['docs']} docs")
print(f"{runs[256][0]['tool']}, {runs[256][0]['model']}")
for msl, rs in runs.items():
    for unit, key in (("docs/s", f"docs_per_s_{msl}"), ("docs/cpu-s", f"docs_per_cpu_s_{msl}")):
        if key not in py or any(r.get(key) is None for r in rs):
            continue
        r = [x[key] for x in rs]
        mean = sum(r) / len(r)
        print(f"max {msl:>3} tokens, {unit:>10}: pytorch {py[key]:7.2f} | paperfeed {mean:7.2f} "
              f"(runs {r[0]:.2f}, {r[1]:.2f}) | ratio {mean / py[key]:.2f}x")
PY
