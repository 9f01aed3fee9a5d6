"""Step 2: one teacher pass (all-MiniLM-L6-v2, first 128 tokens) over the arXiv training papers, keeping
 - each paper's sentence embedding (mean of output token states incl. [CLS]/[SEP], L2-normalised: exactly
   what sentence-transformers returns), for train.py and validate.py; and
 - per student token, the sum of the teacher's output states over its occurrences in context, for
   contextual.py. The teacher pools by a plain mean of token states, so a static table whose row for a
   token is its average state in context is the closest static approximation of the teacher.
   A student token (e.g. an added whole word "convolutional") that covers several teacher pieces gets
   the sum of their states, so it weighs as much as those pieces do in the teacher's mean.

Usage: [STOP_AFTER=N] [STATS_FROM=K] embed_teacher.py TEACHER_DIR STUDENT_TOKENIZER.json CORPUS HELDOUT OUT_DIR
STOP_AFTER: only the first N chunks (default: all 36). STATS_FROM: chunks below K add no token statistics
(default 1; the v1 model used 5, its first pass having stored sentence embeddings only for chunks 0-4).
Writes OUT_DIR/chunk-NNNN.npy (float16 sentence embeddings of 2,048 papers each), OUT_DIR/ids.json and
OUT_DIR/acc.npz (state sums and counts per student token, over all chunks but the first, which is the
validation split). Resumable: killed and restarted, it continues with the chunks not yet in acc.npz.
"""
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModel

from common import split_corpus

CHUNK = 2048
MAX_TOKENS = 128
BATCH = 32


def main():
    teacher_dir, student_tok, corpus, heldout, out = sys.argv[1:6]
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    os.makedirs(out, exist_ok=True)
    ids, titles, abstracts = split_corpus(corpus, heldout)
    texts = [t + "\n" + a for t, a in zip(titles, abstracts)]
    with open(os.path.join(out, "ids.json"), "w") as f:
        json.dump(ids, f)

    tok = Tokenizer.from_file(os.path.join(teacher_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    stok = Tokenizer.from_file(student_tok)
    stok.no_padding()
    stok.no_truncation()
    model = AutoModel.from_pretrained(teacher_dir).eval()
    dim = model.config.hidden_size

    acc_path = os.path.join(out, "acc.npz")
    if os.path.exists(acc_path):
        z = np.load(acc_path)
        acc = {k: z[k] for k in z.files}
    else:
        acc = {
            "sum": np.zeros((stok.get_vocab_size(), dim), np.float64),
            "occ": np.zeros(stok.get_vocab_size(), np.int64),
            "cls_sep_sum": np.zeros(dim, np.float64),
            "cls_sep_n": np.zeros(1, np.int64),
            "chunks": np.zeros(0, np.int64),
        }
    n_chunks = (len(texts) + CHUNK - 1) // CHUNK
    n_chunks = min(n_chunks, int(os.environ.get("STOP_AFTER", n_chunks)))
    stats_from = max(1, int(os.environ.get("STATS_FROM", "1")))
    have = lambda c: os.path.exists(os.path.join(out, f"chunk-{c:04d}.npy"))
    todo = [c for c in range(n_chunks) if not have(c)] + [
        c for c in range(stats_from, n_chunks) if have(c) and c not in set(acc["chunks"].tolist())
    ]
    for c in todo:
        t0 = time.time()
        chunk = texts[c * CHUNK : (c + 1) * CHUNK]
        encs = tok.encode_batch(chunk)
        order = np.argsort([len(e.ids) for e in encs])
        sent = np.zeros((len(chunk), dim), np.float32)
        for b in range(0, len(order), BATCH):
            idx = order[b : b + BATCH]
            L = max(len(encs[i].ids) for i in idx)
            input_ids = torch.zeros((len(idx), L), dtype=torch.long)
            mask = torch.zeros((len(idx), L), dtype=torch.long)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                input_ids[r, :n] = torch.tensor(encs[i].ids)
                mask[r, :n] = 1
            with torch.inference_mode():
                h = model(input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            m = mask.unsqueeze(-1).float()
            pooled = (h * m).sum(1) / m.sum(1)
            sent[idx] = torch.nn.functional.normalize(pooled, dim=1).numpy()
            if c < stats_from:
                continue  # chunk 0 is the validation split: it adds nothing to the token statistics
            hn = h.numpy().astype(np.float64)
            for r, i in enumerate(idx):
                e = encs[i]
                n = len(e.ids)
                acc["cls_sep_sum"] += hn[r, 0] + hn[r, n - 1]
                acc["cls_sep_n"] += 2
                # The text the teacher saw, re-tokenised by the student; each teacher piece goes to the
                # student token whose span holds the piece's first character.
                text = chunk[i]
                end = e.offsets[n - 2][1] if n > 2 else 0
                se = stok.encode(text[:end], add_special_tokens=False)
                if not se.ids:
                    continue
                starts = np.array([o[0] for o in se.offsets])
                piece_starts = np.array([o[0] for o in e.offsets[1 : n - 1]])
                pos = np.clip(np.searchsorted(starts, piece_starts, side="right") - 1, 0, len(se.ids) - 1)
                sid = np.asarray(se.ids)[pos]
                np.add.at(acc["sum"], sid, hn[r, 1 : n - 1])
                np.add.at(acc["occ"], np.asarray(se.ids), 1)
        if not have(c):
            np.save(os.path.join(out, f"chunk-{c:04d}.tmp.npy"), sent.astype(np.float16))
            os.replace(os.path.join(out, f"chunk-{c:04d}.tmp.npy"), os.path.join(out, f"chunk-{c:04d}.npy"))
        if c >= stats_from:
            acc["chunks"] = np.append(acc["chunks"], c)
            np.savez(acc_path + ".tmp.npz", **acc)
            os.replace(acc_path + ".tmp.npz", acc_path)
        print(f"chunk {c} done in {time.time() - t0:.0f}s ({len(acc['chunks'])} chunks in token stats)", flush=True)


if __name__ == "__main__":
    main()
