"""Icons without Font Awesome's 1.56 MB script (``tools/icons.py``, ``_templates/layout.html``).

The pages keep the theme's ``<i class="fa-...">`` elements and its Font Awesome CSS; the
glyphs come from a subset of the theme's own solid font, inlined in
``_static/mlnotes-icons.css``.  These tests fail when a page draws an icon the subset
lacks (run ``make icons``), when the theme's font or the template blocks we rewrite change
(re-check ``_templates/layout.html``), and when a page loads the script or the search index.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from pathlib import Path

import icons
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT

STYLESHEET = ROOT / "_static" / "mlnotes-icons.css"
THEME_LAYOUT = icons.theme_static().parent / "layout.html"
# The blocks of pydata-sphinx-theme's layout.html that _templates/layout.html rewrites,
# fingerprinted as written against pydata-sphinx-theme 0.20.0.
REWRITTEN_BLOCKS = {
    "css": "1436267ac153f48c",
    "extrahead": "e607f7742f3bd264",
}


def subset_cmaps() -> dict[str, set[int]]:
    """Family ("Font Awesome 7 Free") -> the code points of its subset in the stylesheet."""
    from fontTools.ttLib import TTFont

    faces = re.findall(r'font-family:"([^"]+)".*?base64,([A-Za-z0-9+/=]+)',
                       STYLESHEET.read_text(encoding="utf-8"))
    return {family: set(TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap()) for family, data in faces}


def missing_from_subsets(points: set[int]) -> list[str]:
    """Code points not in the subset of the theme font that has them."""
    have = subset_cmaps()
    return [f"U+{point:04X}" for kind, pts in icons.split_by_font(points).items()
            for point in sorted(pts) if point not in have.get(icons.FONTS[kind][1], set())]


def block_source(name: str) -> str:
    text = THEME_LAYOUT.read_text(encoding="utf-8")
    return re.search(r"\{%-?\s*block " + name + r"\s*%\}(.*?)\{%-?\s*endblock", text, re.S)[1]


@pytest.mark.parametrize("name", sorted(REWRITTEN_BLOCKS))
def test_rewritten_theme_blocks_unchanged_upstream(name):
    digest = hashlib.sha256(block_source(name).encode()).hexdigest()[:16]
    assert digest == REWRITTEN_BLOCKS[name], (
        f"pydata-sphinx-theme changed the {name!r} block of layout.html: re-check "
        "_templates/layout.html against it, then update REWRITTEN_BLOCKS")


def test_subset_has_every_icon_the_theme_scripts_and_css_draw():
    table = icons.codepoints(icons.theme_css())
    points = {table[n] for n in icons.icons_in_scripts()} | icons.css_drawn(icons.theme_css())
    # the admonition icons and the GitHub mark are among what the CSS draws
    assert {0xF05A, 0xF071, 0xF09B} <= icons.css_drawn(icons.theme_css())
    assert missing_from_subsets(points) == [], "run make icons"


@pytest.mark.slow
def test_every_icon_drawn_is_in_the_subset(site_html):
    table = icons.codepoints(icons.theme_css())
    drawn = icons.icons_drawn(site_html)
    assert {"fa-bars", "fa-magnifying-glass", "fa-moon", "fa-sun"} <= drawn
    unknown = sorted(n for n in drawn if n not in table)
    assert not unknown, f"not icons of the theme's Font Awesome: {unknown}"
    missing = missing_from_subsets({table[n] for n in drawn})
    assert not missing, f"icons drawn but not in _static/mlnotes-icons.css: {missing}; run make icons"


def _assets(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return ([s["src"] for s in soup.find_all("script", src=True)]
            + [link["href"] for link in soup.find_all("link", href=True)])


@pytest.mark.slow
def test_pages_load_neither_the_icon_script_nor_a_search_index(site_html):
    """No page links the icon script, Sphinx's search scripts or any of the index: the
    search index (Pagefind's, pagefind/) is fetched by a worker when the reader searches
    (tests/test_browser.py watches that in the browser)."""
    pages = [p for p in site_html.rglob("*.html") if p.relative_to(site_html).parts[0] != "_static"]
    assert len(pages) > 20
    for page in pages:
        loaded = [a for a in _assets(page)
                  if re.search(r"fontawesome|searchindex\.js|searchtools\.js|pagefind", a)]
        assert not loaded, (page.relative_to(site_html).as_posix(), loaded)
    assert not (site_html / "searchindex.js").exists()
