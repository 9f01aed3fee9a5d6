"""Step 5: the parity fixture for paperfeed's Rust StaticEmbedder: reference vectors (static_ref.py) of
real arXiv papers from the demo sample plus edge cases, for crates/paperfeed-search/tests/fixtures/.

Usage: make_fixture.py MODEL_DIR SAMPLE.jsonl OUT.json [--n 10]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from static_ref import StaticModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("sample")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=10)
    a = ap.parse_args()
    papers = [json.loads(line) for line in open(a.sample, encoding="utf-8")]
    # Spread over the file rather than the first n, so several listing days and categories appear.
    step = max(1, len(papers) // a.n)
    chosen = papers[::step][: a.n]
    cases = [{"id": p["id"], "text": p["title"] + "\n" + p["abstract"]} for p in chosen]
    cases += [
        {"id": "query-short", "text": "graph neural networks for molecule property prediction"},
        {"id": "query-accents", "text": "Schrödinger équation résolue par réseaux de neurones: naïve approach"},
        {"id": "query-mixed-scripts", "text": "Transformer 模型 для машинного перевода αβγ ∑ 🙂"},
        {"id": "query-latex", "text": "$\\mathcal{O}(n \\log n)$ bounds for $k$-means++ with $\\epsilon$-coresets"},
        {"id": "long-repeated", "text": " ".join([chosen[0]["abstract"]] * 12)},
    ]
    m = StaticModel.from_dir(a.model)
    vecs = m.encode([c["text"] for c in cases])
    ids = m.token_ids([c["text"] for c in cases])
    for c, v, t in zip(cases, vecs, ids):
        c["token_ids"] = [int(x) for x in t]
        c["vector"] = [round(float(x), 7) for x in v]
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"model": os.path.basename(os.path.normpath(a.model)), "dims": int(vecs.shape[1]), "cases": cases},
                  f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {a.out}")


if __name__ == "__main__":
    main()
