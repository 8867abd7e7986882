"""Chinese typography on the built pages: what Markdown leaves behind must not show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import published_posts

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([f"{doc}.html" for doc in published_posts()]   # a draft is not on the site
               + [p.relative_to(ROOT).with_suffix(".html").as_posix()
                  for p in [*ROOT.glob("concepts/*.md"), ROOT / "glossary.md"]])
CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"


def prose(site_html, page):
    """The text of a page's paragraphs and list items, without code and math."""
    doc = BeautifulSoup((site_html / page).read_text(encoding="utf-8"), "lxml")
    article = doc.select_one("article")
    for node in article.select("pre, code, .math, script, .highlight, mjx-container"):
        node.replace_with("X")  # a placeholder: a formula is not Chinese text
    blocks = [el for el in article.select("p, li, dd, figcaption")
              if el.name in ("p", "figcaption") or el.find("p") is None]
    return [el.get_text() for el in blocks]


@pytest.mark.parametrize("page", PAGES)
def test_no_literal_emphasis_markers(site_html, page):
    """Bold next to Chinese punctuation parses (CJK-friendly emphasis): no '**' shows."""
    assert [t for t in prose(site_html, page) if "**" in t or "__" in t] == []


@pytest.mark.parametrize("page", PAGES)
def test_no_space_between_chinese_characters(site_html, page):
    """A wrapped source line must not put a space between two Chinese characters.

    Only line breaks count: a space the author typed (after a bold lead-in, around a
    link) is a choice of style, not an accident of wrapping.
    """
    gaps = [m.group() for t in prose(site_html, page)
            for m in re.finditer(f"[{CJK}][ \\t]*\\n\\s*[{CJK}]", t)]
    assert gaps == []
