"""Shared helpers for the bundled-model pipeline: reading the arXiv corpus, the train/held-out split."""
import io
import json


def open_text(path):
    if path.endswith(".zst"):
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    return open(path, encoding="utf-8")


def paper_text(d):
    """The text paperfeed embeds for a paper: title, newline, abstract (as the anchors' protocol)."""
    return d["title"] + "\n" + d["abstract"]


def load_papers(path):
    """(ids, titles, abstracts) of a paperfeed-style JSON-lines file."""
    ids, titles, abstracts = [], [], []
    for line in open_text(path):
        d = json.loads(line)
        ids.append(d["id"])
        titles.append(d["title"])
        abstracts.append(d["abstract"])
    return ids, titles, abstracts


def split_corpus(corpus_path, heldout_path):
    """Training papers = corpus minus the held-out sample (the 2,000-paper demo sample), in corpus order."""
    held = set(load_papers(heldout_path)[0])
    ids, titles, abstracts = load_papers(corpus_path)
    keep = [i for i, x in enumerate(ids) if x not in held]
    return [ids[i] for i in keep], [titles[i] for i in keep], [abstracts[i] for i in keep]
