"""Every Atom feed of the built site: the blog's, and one per category, tag, year and author."""

from __future__ import annotations

import feedparser
import pytest


def _feeds(site_html):
    found = sorted(site_html.rglob("atom.xml"))
    assert site_html / "blog" / "atom.xml" in found
    return found


def test_there_is_a_feed_per_category_tag_and_year(site_html):
    kinds = {p.relative_to(site_html / "blog").parts[0] for p in _feeds(site_html)}
    assert {"atom.xml", "category", "tag", "2026"} <= kinds


def test_feeds_parse_and_entries_are_complete(site_html):
    problems = []
    for path in _feeds(site_html):
        name = path.relative_to(site_html).as_posix()
        feed = feedparser.parse(path.read_bytes())
        if feed.bozo:
            problems.append((name, "does not parse", str(feed.bozo_exception)))
            continue
        if not feed.entries:
            problems.append((name, "has no entries", ""))
        if not feed.feed.get("updated_parsed"):
            problems.append((name, "has no updated date", ""))
        for entry in feed.entries:
            # excerpts by design (conf.py: blog_feed_fulltext = False): summary or content
            text = entry.get("summary") or (entry.get("content") or [{}])[0].get("value")
            missing = [key for key in ("id", "title", "link", "updated_parsed") if not entry.get(key)]
            if missing or not text:
                problems.append((name, entry.get("id"), missing + ([] if text else ["summary"])))
        dates = [e.get("published_parsed") or e.updated_parsed for e in feed.entries]
        if dates != sorted(dates, reverse=True):
            problems.append((name, "entries are not newest first", ""))
        # the feed's own date is its newest entry's, not the time of the build
        if feed.entries and feed.feed.updated_parsed != max(e.updated_parsed for e in feed.entries):
            problems.append((name, "feed date is not the newest entry's", feed.feed.updated))
    assert problems == []


@pytest.mark.parametrize("kind", ["category", "tag"])
def test_archive_feed_lists_the_archive_pages_posts(site_html, kind):
    """A category's or tag's feed has the same posts as its page."""
    from bs4 import BeautifulSoup

    for path in sorted((site_html / "blog" / kind).glob("*/atom.xml")):
        page = path.parent.with_suffix(".html")
        doc = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
        listed = {a["href"].rsplit("/", 1)[-1] for a in doc.select("article .ablog-post-title a")}
        entries = {e.link.rsplit("/", 1)[-1] for e in feedparser.parse(path.read_bytes()).entries}
        assert entries == listed, page.name
