"""Validation on arXiv papers that no variant trains on: the numbers used to choose between variants,
so that CACM and CSFCube stay untouched evaluation sets.

- title->abstract, on the 2,000-paper demo sample (never trained on): each title is a query, the 2,000
  abstracts (without titles) the corpus: MRR@10 and R@10.
- nbr_overlap10, on the validation papers (the first chunk of teacher vectors, which train.py holds out):
  for each paper, overlap of the candidate's 10 nearest papers with the teacher's 10 nearest.

Usage: validate.py CORPUS.jsonl.zst HELDOUT.jsonl TEACHER_VECS_DIR MODEL_DIR [MODEL_DIR ...]
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from common import load_papers, split_corpus
from static_ref import StaticModel


def title_abstract(T, A):
    sims = T @ A.T
    gold = np.diag(sims)
    rank = (sims > gold[:, None]).sum(1)  # 0-based rank of the right abstract
    return {
        "title_abs_mrr10": round(float(np.mean(np.where(rank < 10, 1.0 / (rank + 1), 0.0))), 4),
        "title_abs_r10": round(float(np.mean(rank < 10)), 4),
    }


def top10(X):
    s = X @ X.T
    np.fill_diagonal(s, -np.inf)
    return np.argsort(-s, axis=1)[:, :10]


def overlap(P, P_teacher):
    a, b = top10(P), top10(P_teacher)
    return {"nbr_overlap10": round(float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b)])), 4)}


def main():
    corpus, heldout, vecs, *models = sys.argv[1:]
    _, titles, abstracts = load_papers(heldout)
    Pt = np.load(os.path.join(vecs, "chunk-0000.npy")).astype(np.float32)
    _, vt, va = split_corpus(corpus, heldout)
    val_texts = [t + "\n" + x for t, x in zip(vt[: len(Pt)], va[: len(Pt)])]
    for path in models:
        m = StaticModel.from_dir(path)
        r = title_abstract(m.encode(titles), m.encode(abstracts))
        r.update(overlap(m.encode(val_texts), Pt))
        print(path, json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
