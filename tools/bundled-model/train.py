"""Step 2 (tokenlearn-style): train the static token table so that the mean of a paper's token vectors
points where the teacher's sentence embedding of that paper points.

Usage: train.py RAW_DIR TEACHER_DIR CORPUS.jsonl.zst HELDOUT.jsonl TEACHER_VECS_DIR OUT_DIR
                [--dims 256] [--epochs 6] [--lr 2e-3] [--l2 1e-3]

- Targets: the teacher's normalised embeddings (embed_teacher.py, first 128 tokens) projected onto their
  top `dims` principal directions (uncentred, so cosines between targets stay close to the teacher's).
- Init: RAW_DIR's 384-d rows (contextual.py's table: token states in the teacher's output space) projected
  onto the same directions, so the untrained table already approximates the targets.
- The student sees the same text the teacher saw: each paper is cut where the teacher's 126th
  WordPiece token ends.
- Loss: 1 - cos(mean of token vectors, target) + l2 * ||E - E_init||^2 / n_rows (keeps rare tokens
  near their initial vectors). The first chunk of teacher vectors (validate.py's papers) is never
  trained on; 5% of the rest is the validation split for early stopping.
Writes OUT_DIR as a model2vec folder with float32 `embeddings` (final: build_model.py --no-pca --weighting
none quantises it).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import glob

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

from common import split_corpus

TEACHER_TOKENS = 128


def main():
    ap = argparse.ArgumentParser()
    for name in ("raw", "teacher", "corpus", "heldout", "vecs", "out"):
        ap.add_argument(name)
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    rng = np.random.default_rng(a.seed)

    ids, titles, abstracts = split_corpus(a.corpus, a.heldout)
    texts = [t + "\n" + x for t, x in zip(titles, abstracts)]
    with open(os.path.join(a.vecs, "ids.json")) as f:
        assert json.load(f) == ids, "teacher vectors were made from another split"
    chunks = sorted(glob.glob(os.path.join(a.vecs, "chunk-*.npy")))
    targets = np.concatenate([np.load(c).astype(np.float32) for c in chunks])
    n = len(targets)  # a partial teacher run trains on the papers it reached
    texts = texts[:n]
    print(f"{n} papers with teacher vectors", flush=True)

    # The text the teacher saw: its first 126 WordPiece tokens (128 with [CLS] and [SEP]).
    teacher_tok = Tokenizer.from_file(os.path.join(a.teacher, "tokenizer.json"))
    teacher_tok.no_padding()
    teacher_tok.no_truncation()
    cut = []
    for t, enc in zip(texts, teacher_tok.encode_batch(texts, add_special_tokens=False)):
        offs = enc.offsets
        cut.append(t if len(offs) <= TEACHER_TOKENS - 2 else t[: offs[TEACHER_TOKENS - 3][1]])

    tok = Tokenizer.from_file(os.path.join(a.raw, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    unk = tok.token_to_id("[UNK]")
    seqs = [np.array([i for i in e.ids if i != unk], dtype=np.int64) for e in tok.encode_batch(cut, add_special_tokens=False)]

    raw = load_file(os.path.join(a.raw, "model.safetensors"))["embeddings"].astype(np.float64)

    # Uncentred principal directions of the targets.
    _, s, vt = np.linalg.svd(targets, full_matrices=False)
    P = vt[: a.dims].T
    kept = float((s[: a.dims] ** 2).sum() / (s**2).sum())
    print(f"target projection keeps {kept:.3f} of the energy", flush=True)
    Y = torch.from_numpy((targets @ P).astype(np.float32))
    E0 = (raw @ P).astype(np.float32)

    keep = np.array([len(s) > 0 for s in seqs])
    keep[:2048] = False  # validate.py's papers
    order = rng.permutation(np.flatnonzero(keep))
    n_val = max(1, len(order) // 20)
    val, train = order[:n_val], order[n_val:]

    E = torch.nn.Parameter(torch.from_numpy(E0.copy()))
    E_init = torch.from_numpy(E0)
    opt = torch.optim.Adam([E], lr=a.lr)

    def batch(idx):
        flat = torch.from_numpy(np.concatenate([seqs[i] for i in idx]))
        offsets = torch.from_numpy(np.cumsum([0] + [len(seqs[i]) for i in idx[:-1]]))
        return flat, offsets, Y[idx]

    def loss_of(idx, reg=True):
        flat, offsets, y = batch(idx)
        s = torch.nn.functional.embedding_bag(flat, E, offsets, mode="mean")
        cos = torch.nn.functional.cosine_similarity(s, y, dim=1)
        loss = (1 - cos).mean()
        if reg:
            loss = loss + a.l2 * ((E - E_init) ** 2).sum() / E.shape[0]
        return loss, cos.mean().item()

    def val_cos():
        with torch.no_grad():
            cs = [loss_of(val[i : i + 1024], reg=False)[1] for i in range(0, len(val), 1024)]
        return float(np.mean(cs))

    best, best_E = val_cos(), E.detach().clone()
    print(f"epoch 0 val cos {best:.4f}", flush=True)
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        perm = rng.permutation(train)
        for i in range(0, len(perm), a.batch):
            opt.zero_grad()
            loss, _ = loss_of(perm[i : i + a.batch])
            loss.backward()
            opt.step()
        vc = val_cos()
        print(f"epoch {epoch} val cos {vc:.4f} ({time.time() - t0:.0f}s)", flush=True)
        if vc > best + 1e-4:
            best, best_E = vc, E.detach().clone()
        else:
            break
    os.makedirs(a.out, exist_ok=True)
    save_file({"embeddings": best_E.numpy()}, os.path.join(a.out, "model.safetensors"))
    tok.save(os.path.join(a.out, "tokenizer.json"), pretty=False)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"model_type": "model2vec", "normalize": True, "max_length": 512, "hidden_dim": a.dims,
                   "train": {**vars(a), "papers": int(n), "val_cos": best}}, f, indent=2)
    print(f"best val cos {best:.4f}; wrote {a.out}", flush=True)


if __name__ == "__main__":
    main()
