"""``mlnotes_backlinks`` on a root that loads it alone (with MyST and the link graph).

The whole site's configuration is exercised in ``tests/test_web.py``; here only what this
extension adds: a "被引用" box on each page that others link to, naming them by title.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup


def backlinks(app, page: str) -> list[tuple[str, str]]:
    soup = BeautifulSoup((app.outdir / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
    box = soup.select_one(".mlnotes-backlinks")
    return [(a["href"], a.get_text()) for a in box.select("a")] if box else []


@pytest.mark.sphinx("html", testroot="backlinks")
def test_each_page_names_the_pages_that_link_to_it(app, warning):
    app.build()
    assert warning.getvalue() == ""
    # {ref}, {eq} and {doc} all count; each linking page once, by its title
    assert sorted(backlinks(app, "concepts/entropy")) == [("../posts/first.html", "第一篇"),
                                                          ("../posts/second.html", "第二篇")]
    assert backlinks(app, "posts/first") == [("second.html", "第二篇")]
    # a page that links only to itself, and that nobody links to, has no box
    assert backlinks(app, "posts/third") == []
    assert backlinks(app, "posts/second") == []
    # the box is left out of the search index
    soup = BeautifulSoup((app.outdir / "concepts" / "entropy.html").read_text(encoding="utf-8"),
                         "html.parser")
    assert "no-search" in soup.select_one(".mlnotes-backlinks")["class"]
