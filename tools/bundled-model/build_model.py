"""Step 3: turn raw token vectors into the shipped model: PCA, frequency weighting, int8 with per-token
scales, and a model2vec folder (model.safetensors with int8 `embeddings` + f32 `weights`, tokenizer.json,
config.json).

Usage: build_model.py RAW_DIR CORPUS.jsonl.zst HELDOUT.jsonl OUT_DIR [--dims 256] [--weighting sif|zipf|none]
                      [--sif 1e-4] [--dtype int8|float16|float32] [--no-pca] [--vectors trained.npy]
RAW_DIR is a model2vec folder from distill.py (or train.py: then pass --no-pca, its vectors are final).
SIF weighting uses token probabilities counted on the arXiv training papers: w = a / (a + p(token)).
The int8 per-token scale is folded into `weights`, which model2vec multiplies in per token, so the
folder loads unchanged in model2vec and in paperfeed.
"""
import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

from common import split_corpus


def token_probabilities(tokenizer, texts):
    counts = np.zeros(tokenizer.get_vocab_size(), dtype=np.float64)
    for enc in tokenizer.encode_batch(texts, add_special_tokens=False):
        np.add.at(counts, enc.ids, 1)
    return counts / counts.sum()


def pca(E, dims):
    mean = E.mean(0)
    X = E - mean
    cov = (X.T @ X) / (len(X) - 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:dims]
    return X @ vecs[:, order]


def quantize(E, weights, dtype):
    if dtype == "float32":
        return E.astype(np.float32), weights.astype(np.float32)
    if dtype == "float16":
        return E.astype(np.float16), weights.astype(np.float32)
    scale = np.abs(E).max(1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(E / scale[:, None]), -127, 127).astype(np.int8)
    return q, (weights * scale).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("corpus")
    ap.add_argument("heldout")
    ap.add_argument("out")
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--no-pca", action="store_true")
    ap.add_argument("--weighting", choices=["sif", "zipf", "none"], default="sif")
    ap.add_argument("--sif", type=float, default=1e-4)
    ap.add_argument("--dtype", choices=["int8", "float16", "float32"], default="int8")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--meta", help="JSON file merged into config.json under `paperfeed`")
    a = ap.parse_args()

    E = load_file(os.path.join(a.raw, "model.safetensors"))["embeddings"].astype(np.float64)
    tok = Tokenizer.from_file(os.path.join(a.raw, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    n = len(E)
    if not a.no_pca:
        E = pca(E, a.dims)
    if a.weighting == "sif":
        _, titles, abstracts = split_corpus(a.corpus, a.heldout)
        p = token_probabilities(tok, [t + "\n" + x for t, x in zip(titles, abstracts)])
        w = a.sif / (a.sif + p)
    elif a.weighting == "zipf":  # model2vec's default: rank in the vocabulary as a frequency proxy
        inv_rank = 1 / np.arange(2, n + 2)
        w = a.sif / (a.sif + inv_rank / inv_rank.sum())
    else:
        w = np.ones(n)
    q, weights = quantize(E, w, a.dtype)
    os.makedirs(a.out, exist_ok=True)
    save_file({"embeddings": np.ascontiguousarray(q), "weights": np.ascontiguousarray(weights)},
              os.path.join(a.out, "model.safetensors"))
    tok.save(os.path.join(a.out, "tokenizer.json"), pretty=False)
    config = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "hidden_dim": int(q.shape[1]),
        "normalize": True,
        "max_length": a.max_length,
        "embedding_dtype": str(q.dtype),
        "weighting": a.weighting,
    }
    if a.weighting != "none":
        config["sif_coefficient"] = a.sif
    # paperfeed's ModelIdentity hashes the tensors' bytes in this order (embeddings, then weights).
    identity = hashlib.sha256(np.ascontiguousarray(q).tobytes() + np.ascontiguousarray(weights).tobytes())
    meta = {"identity_sha256": identity.hexdigest()}
    if a.meta:
        with open(a.meta) as f:
            meta.update(json.load(f))
    for name in ("model.safetensors", "tokenizer.json"):
        with open(os.path.join(a.out, name), "rb") as f:
            meta.setdefault("files_sha256", {})[name] = hashlib.sha256(f.read()).hexdigest()
    config["paperfeed"] = meta
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    print(f"wrote {a.out}: {q.shape} {q.dtype}")


if __name__ == "__main__":
    main()
