"""Step 3: the contextual static table: row of token t = its teacher output state summed over the pieces
it covers, averaged over its occurrences in the arXiv training papers (embed_teacher.py's acc.npz),
shrunk towards the plain distilled vector (distill.py, scaled by the token's number of teacher pieces)
when the token is rare: row = (sum + k * n_pieces * iso) / (occ + k).

Usage: contextual.py RAW_DIR TEACHER_DIR ACC.npz OUT_DIR [--k 2]
Writes a model2vec folder with raw float32 384-d rows (build_model.py does PCA, weighting, int8).
"""
import argparse
import json
import os
import shutil

import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("teacher")
    ap.add_argument("acc")
    ap.add_argument("out")
    ap.add_argument("--k", type=float, default=2.0)
    a = ap.parse_args()
    iso = load_file(os.path.join(a.raw, "model.safetensors"))["embeddings"].astype(np.float64)
    stok = Tokenizer.from_file(os.path.join(a.raw, "tokenizer.json"))
    ttok = Tokenizer.from_file(os.path.join(a.teacher, "tokenizer.json"))
    ttok.no_padding()
    ttok.no_truncation()
    vocab = sorted(stok.get_vocab().items(), key=lambda x: x[1])
    # How many teacher pieces each student token stands for (1 for the teacher's own pieces).
    pieces = np.ones(len(iso))
    for token, i in vocab:
        if token.startswith("##") or token.startswith("["):
            continue
        pieces[i] = max(1, len(ttok.encode(token, add_special_tokens=False).ids))
    z = np.load(a.acc)
    occ = z["occ"].astype(np.float64)
    rows = (z["sum"] + a.k * pieces[:, None] * iso) / (occ + a.k)[:, None]
    os.makedirs(a.out, exist_ok=True)
    save_file({"embeddings": rows.astype(np.float32)}, os.path.join(a.out, "model.safetensors"))
    shutil.copy(os.path.join(a.raw, "tokenizer.json"), os.path.join(a.out, "tokenizer.json"))
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"model_type": "model2vec", "normalize": True, "max_length": 512, "hidden_dim": int(rows.shape[1]),
                   "contextual": {"chunks": z["chunks"].tolist(), "k": a.k,
                                  "tokens_seen": int((occ > 0).sum()), "vocab": len(occ)}}, f, indent=2)
    print(f"{int((occ > 0).sum())}/{len(occ)} tokens seen in context; wrote {a.out}")


if __name__ == "__main__":
    main()
