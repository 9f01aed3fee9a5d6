"""Step 1: plain model2vec distillation of all-MiniLM-L6-v2 into raw (384-d, unweighted, float32) token vectors.

Usage: distill.py TEACHER_DIR CORPUS.jsonl.zst HELDOUT.jsonl OUT_DIR --add-words N
With --add-words N, the N most frequent lower-cased words of the arXiv training papers that the WordPiece
vocabulary splits into several pieces are added as whole tokens first (each distilled from its pieces in
context), so "convolutional" gets one vector instead of the mean of "con ##vo ##lu ##tional".
Writes OUT_DIR/model.safetensors (`embeddings`), tokenizer.json, config.json: a model2vec folder.
"""
import argparse
import collections
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import regex
from model2vec.distill import distill
from tokenizers import Tokenizer

from common import split_corpus

WORD = regex.compile(r"\w+")


def frequent_split_words(teacher, texts, n, min_count=20):
    tok = Tokenizer.from_file(os.path.join(teacher, "tokenizer.json"))
    vocab = tok.get_vocab()
    counts = collections.Counter()
    for t in texts:
        counts.update(WORD.findall(t.lower()))
    words = []
    for w, c in counts.most_common():
        if c < min_count or len(words) >= n:
            break
        # Digits-only and one-letter words carry little meaning and would crowd out real terms.
        if w in vocab or w.isdigit() or len(w) < 3 or "_" in w:
            continue
        words.append(w)
    return words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("teacher")
    ap.add_argument("corpus")
    ap.add_argument("heldout")
    ap.add_argument("out")
    ap.add_argument("--add-words", type=int, default=0)
    a = ap.parse_args()
    words = None
    if a.add_words:
        _, titles, abstracts = split_corpus(a.corpus, a.heldout)
        words = frequent_split_words(a.teacher, [t + "\n" + x for t, x in zip(titles, abstracts)], a.add_words)
        print(f"adding {len(words)} words, e.g. {words[:20]}", flush=True)
    m = distill(a.teacher, vocabulary=words, pca_dims=None, sif_coefficient=None, quantize_to="float32", device="cpu")
    m.save_pretrained(a.out)


if __name__ == "__main__":
    main()
