"""Drives paperfeed with the real `huggingface_hub` client (HfApi(endpoint=...)), unchanged.

Run by tests/web_python.rs against `paperfeed demo` (the bundled sample); PAPERFEED_URL is
the server. Exits non-zero on the first failed check.
"""
import json
import os
import urllib.request

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

URL = os.environ["PAPERFEED_URL"]
SUBMITTER = os.environ["PAPERFEED_SUBMITTER"]
api = HfApi(endpoint=URL, token=False)


def ids(papers):
    return [p.id for p in papers]


# list_daily_papers: the default is the latest day with papers.
latest = list(api.list_daily_papers())
assert latest, "the latest day has papers"
day = latest[0].submitted_at.date().isoformat()
assert all(p.submitted_at.date().isoformat() == day for p in latest), "one day"
for p in latest:
    assert p.title and p.summary and p.authors, p
    assert p.authors[0].name, p.authors
    assert isinstance(p.upvotes, int)
assert ids(api.list_daily_papers(date=day)) == ids(latest)

# date / week / month of a real Hugging Face featuring day (2025-02-26).
for kwargs in ({"date": "2025-02-26"}, {"week": "2025-W09"}, {"month": "2025-02"}):
    got = ids(api.list_daily_papers(limit=100, **kwargs))
    assert "2502.17092" in got, (kwargs, got)
shakti = [p for p in api.list_daily_papers(date="2025-02-26") if p.id == "2502.17092"][0]
assert shakti.title.startswith("Shakti-VLMs"), shakti.title

# p / limit page exactly; sort=trending reorders the same entries.
month = ids(api.list_daily_papers(month="2025-03", limit=8))
pages = ids(api.list_daily_papers(month="2025-03", limit=4, p=0)) + ids(
    api.list_daily_papers(month="2025-03", limit=4, p=1)
)
assert len(month) == 8 and pages == month, (pages, month)
trending = ids(api.list_daily_papers(month="2025-03", sort="trending", limit=100))
newest = ids(api.list_daily_papers(month="2025-03", sort="publishedAt", limit=100))
assert sorted(trending) == sorted(newest), "same entries"

# submitter: the paper the harness submitted (fetched from the recorded arXiv API).
mine = list(api.list_daily_papers(submitter=SUBMITTER))
assert ids(mine) == ["1605.08386"], ids(mine)
assert mine[0].submitted_by.username == SUBMITTER, mine[0].submitted_by

# Limits above the maximum are errors, never silently capped.
try:
    list(api.list_daily_papers(limit=101))
    raise AssertionError("limit=101 should fail")
except HfHubHTTPError as e:
    assert e.response.status_code == 400, e

# paper_info, with any id spelling.
info = api.paper_info("2503.12067")
assert info.id == "2503.12067"
assert info.title == "A Comprehensive Survey on Knowledge Distillation", info.title
assert len(info.authors) == 11 and info.authors[0].name == "Amir M. Mansourian"
assert info.summary.startswith("Deep Neural Networks")
assert info.published_at is not None
assert api.paper_info("arXiv:2503.12067v1").id == "2503.12067"
try:
    api.paper_info("2501.99999")
    raise AssertionError("unknown papers are 404")
except HfHubHTTPError as e:
    assert e.response.status_code == 404, e
    assert json.loads(e.response.text)["error"]["code"] == "not_found"

# list_papers: hybrid search, limit honoured exactly.
found = list(api.list_papers(query="knowledge distillation", limit=5))
assert len(found) == 5, len(found)
assert any("istillation" in p.title for p in found), [p.title for p in found]
assert all(p.id and p.title for p in found)
try:
    list(api.list_papers(query="x", limit=1000))
    raise AssertionError("limit=1000 should fail")
except HfHubHTTPError as e:
    assert e.response.status_code == 400

# read_paper: Markdown.
md = api.read_paper("2503.12067")
assert md.startswith("# A Comprehensive Survey on Knowledge Distillation"), md[:80]
assert "https://arxiv.org/abs/2503.12067" in md and "## Abstract" in md

print("huggingface_hub", __import__("huggingface_hub").__version__, ": all checks passed")
