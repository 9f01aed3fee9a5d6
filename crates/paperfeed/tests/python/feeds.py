"""Parses every paperfeed feed with feedparser, as a feed reader would: no bozo bit, the
right items, absolute links. PAPERFEED_URL is the server (`paperfeed demo`)."""
import os
import urllib.request

import feedparser

URL = os.environ["PAPERFEED_URL"]

# The feeds the pages advertise with <link rel="alternate"> are the ones checked.
home = urllib.request.urlopen(URL + "/").read().decode()
assert 'rel="alternate" type="application/rss+xml"' in home
assert 'href="/feeds/daily.atom"' in home

daily_api = __import__("json").loads(
    urllib.request.urlopen(URL + "/api/daily_papers?limit=100").read()
)
latest_ids = {e["paper"]["id"] for e in daily_api}

for path, kind in [
    ("/feeds/daily.rss", "rss20"),
    ("/feeds/daily.atom", "atom10"),
    ("/feeds/trending.rss", "rss20"),
    ("/feeds/trending.atom", "atom10"),
    ("/feeds/search.rss?q=knowledge+distillation", "rss20"),
    ("/feeds/search.atom?q=knowledge+distillation&mode=bm25", "atom10"),
]:
    feed = feedparser.parse(URL + path)
    assert not feed.bozo, (path, feed.get("bozo_exception"))
    assert feed.version == kind, (path, feed.version)
    assert feed.feed.title.startswith("paperfeed"), feed.feed.title
    assert len(feed.entries) > 0, path
    for e in feed.entries:
        assert e.title and e.link.startswith(URL + "/papers/"), (path, e.link)
        assert e.summary, path
        assert e.get("published_parsed") or e.get("updated_parsed"), path
        assert e.get("author") or e.get("authors"), (path, e.keys())
    ids = [e.link.rsplit("/papers/", 1)[1] for e in feed.entries]
    assert len(ids) == len(set(ids)), path
    if path.startswith("/feeds/daily"):
        assert latest_ids <= set(ids), (path, latest_ids - set(ids))
    if path.startswith("/feeds/search"):
        assert any("istill" in e.title for e in feed.entries[:5]), [e.title for e in feed.entries[:5]]
    print(path, len(feed.entries), "entries ok")

# Text with markup characters arrives as text.
feed = feedparser.parse(URL + "/feeds/search.rss?q=AUROC+trainable+parameters&mode=bm25")
raw = [e for e in feed.entries if e.link.endswith("/2512.21508")]
assert raw, [e.link for e in feed.entries]
assert ">0.69 AUROC with <9% trainable" in raw[0].summary, raw[0].summary[:300]
print("feeds: all checks passed")
