"""Dense and hybrid retrieval quality of candidate embedders on BEIR-layout dev splits (CACM, CSFCube),
with the anchors' protocol (`../shared/anchors/common.py`: doc = title + "\n" + text, query-by-example
excludes the query paper, nDCG@10 and Recall@100 with pytrec_eval), fused with bm25s by reciprocal rank
fusion (k=60): equal weights and a grid of dense weights (BM25 weight 1).

Usage: evaluate.py --anchors DIR --data DIR --out results.json NAME=SPEC [NAME=SPEC ...]
SPEC is `teacher:DIR` (a sentence-transformers folder) or `static:DIR` (a model2vec-format folder).
Evaluation only: nothing here feeds back into training.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from static_ref import StaticModel

WEIGHTS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0]


def weighted_rrf(bm, dn, w_dense, k=60, depth=100):
    fused = {}
    for qid in bm:
        sc = {}
        for r, d in enumerate(bm[qid][:depth], start=1):
            sc[d] = sc.get(d, 0.0) + 1.0 / (k + r)
        if w_dense > 0:
            for r, d in enumerate(dn.get(qid, [])[:depth], start=1):
                sc[d] = sc.get(d, 0.0) + w_dense / (k + r)
        fused[qid] = [d for d, _ in sorted(sc.items(), key=lambda x: (-x[1], x[0]))][:depth]
    return fused


def bm25_runs(ids, texts, queries):
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer("english")
    ret = bm25s.BM25()
    ret.index(bm25s.tokenize(texts, stopwords="en", stemmer=stem, show_progress=False), show_progress=False)
    runs = {}
    for q in queries:
        toks = bm25s.tokenize([q["text"]], stopwords="en", stemmer=stem, return_ids=True, show_progress=False)
        docs, _ = ret.retrieve(toks, k=min(101, len(ids)), show_progress=False)
        runs[q["id"]] = [ids[i] for i in docs[0] if ids[i] != q["exclude"]][:100]
    return runs


def dense_runs(ids, D, queries, Q):
    runs = {}
    for q, qv in zip(queries, Q):
        order = np.argsort(-(D @ qv), kind="stable")[:101]
        runs[q["id"]] = [ids[i] for i in order if ids[i] != q["exclude"]][:100]
    return runs


def encoder(spec):
    kind, path = spec.split(":", 1)
    if kind == "teacher":
        from sentence_transformers import SentenceTransformer

        m = SentenceTransformer(path, device="cpu")
        return lambda texts: m.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    if kind == "static":
        m = StaticModel.from_dir(path)
        return m.encode
    raise SystemExit(f"unknown model kind {kind}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--anchors", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default="/tmp/bundled-model-eval-cache")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    sys.path.insert(0, a.anchors)
    from common import evaluate, load_beir

    os.makedirs(a.cache, exist_ok=True)
    results = json.load(open(a.out)) if os.path.exists(a.out) else {}
    sets = {name: load_beir(os.path.join(a.data, name), "dev") for name in ("cacm", "csfcube")}
    bm = {}
    for name, (ids, texts, queries, qrels) in sets.items():
        bm[name] = bm25_runs(ids, texts, queries)
        results.setdefault("bm25s", {})[name] = evaluate(bm[name], qrels)
    for spec in a.models:
        label, spec = spec.split("=", 1)
        encode = None
        res = {}
        for name, (ids, texts, queries, qrels) in sets.items():
            cache = os.path.join(a.cache, f"{label}-{name}.npz")
            if spec.startswith("teacher:") and os.path.exists(cache):
                z = np.load(cache)
                D, Q, secs = z["D"], z["Q"], float(z["secs"])
            else:
                encode = encode or encoder(spec)
                t = time.perf_counter()
                D = encode(texts)
                secs = time.perf_counter() - t
                Q = encode([q["text"] for q in queries])
                np.savez(cache, D=D, Q=Q, secs=secs)
            dn = dense_runs(ids, D, queries, Q)
            r = {"dense": evaluate(dn, qrels), "docs_per_s_python": round(len(texts) / secs, 1)}
            for w in WEIGHTS[1:]:
                r[f"rrf_w{w}"] = evaluate(weighted_rrf(bm[name], dn, w), qrels)
            res[name] = r
        results[label] = res
        line = " ".join(
            f"{n}: dense {r['dense']['ndcg@10']:.3f} rrf1 {r['rrf_w1.0']['ndcg@10']:.3f}" for n, r in res.items()
        )
        print(f"{label}: {line}", flush=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
