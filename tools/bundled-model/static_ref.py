"""Reference implementation of a model2vec-format static embedder, the one paperfeed's Rust
`StaticEmbedder` must reproduce (its parity test compares against vectors written by `make_fixture.py`).

A text becomes: tokenizer.json encoding without special tokens, [UNK] ids dropped, the first
`max_tokens` ids kept, rows of `embeddings` (through `mapping` when present) times `weights[id]` when
present, averaged, L2-normalised. Before tokenising, the text is cut to `max_tokens * 32` bytes at a
character boundary, so a pathological input costs bounded work (the same cut happens in Rust).
"""
import json
import os

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

BYTES_PER_TOKEN_CUT = 32


def cut_text(text, max_tokens):
    limit = max_tokens * BYTES_PER_TOKEN_CUT
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    # Back off to a character boundary: continuation bytes look like 0b10xxxxxx.
    end = limit
    while end > 0 and (raw[end] & 0xC0) == 0x80:
        end -= 1
    return raw[:end].decode("utf-8")


class StaticModel:
    def __init__(self, embeddings, tokenizer, weights=None, mapping=None, max_tokens=512, normalize=True):
        self.embeddings = embeddings.astype(np.float32)
        self.weights = None if weights is None else weights.astype(np.float32)
        self.mapping = mapping
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.max_tokens = max_tokens
        self.normalize = normalize
        self.unk = None
        model = json.loads(tokenizer.to_str())["model"]
        if model.get("unk_token") is not None:
            self.unk = tokenizer.token_to_id(model["unk_token"])

    @classmethod
    def from_dir(cls, path):
        tensors = load_file(os.path.join(path, "model.safetensors"))
        with open(os.path.join(path, "config.json")) as f:
            config = json.load(f)
        tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        return cls(
            tensors["embeddings"],
            tok,
            weights=tensors.get("weights"),
            mapping=tensors.get("mapping"),
            max_tokens=config.get("max_length") or 512,
            normalize=config.get("normalize", True),
        )

    def token_ids(self, texts):
        encs = self.tokenizer.encode_batch([cut_text(t, self.max_tokens) for t in texts], add_special_tokens=False)
        out = []
        for e in encs:
            ids = [i for i in e.ids if i != self.unk][: self.max_tokens]
            out.append(np.asarray(ids, dtype=np.int64))
        return out

    def encode(self, texts):
        dim = self.embeddings.shape[1]
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, ids in enumerate(self.token_ids(texts)):
            if len(ids) == 0:
                continue
            rows = self.embeddings[ids if self.mapping is None else self.mapping[ids]]
            if self.weights is not None:
                rows = rows * self.weights[ids][:, None]
            v = rows.mean(axis=0)
            if self.normalize:
                n = np.linalg.norm(v)
                v = v / n if n > 0 else v
            out[i] = v
        return out
