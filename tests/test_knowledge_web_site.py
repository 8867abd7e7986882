"""The knowledge web on the real site: every page of it is connected."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup
from conftest import published_posts

ROOT = Path(__file__).resolve().parents[1]
POSTS = published_posts()  # not the drafts: a new post (make new-post) is one
CONCEPTS = sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in ROOT.glob("concepts/*.md")
                  if p.stem != "index")


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def test_every_api_entry_points_to_a_post(site_html):
    """Each documented function or class names the post that explains it (or its module)."""
    missing = []
    for page in sorted((site_html / "api").glob("*.html")):
        for entry in soup(page).select("dl.py.function, dl.py.class"):
            links = entry.select(".mlnotes-explained-in a")
            if not any("posts/" in a["href"] or "concepts/" in a["href"] for a in links):
                missing.append(entry.select_one("dt")["id"])
    assert missing == []


def test_every_api_entry_has_its_source(site_html):
    for page in sorted((site_html / "api").glob("*.html")):
        for entry in soup(page).select("dl.py.function"):
            source = entry.select_one("dt a.reference.internal[href*='_modules/']")
            assert source is not None, entry.select_one("dt")["id"]
            target = (page.parent / source["href"].split("#")[0]).resolve()
            assert target.is_file()


def test_every_concept_page_is_referenced(site_html):
    """A concept page no post links to is not doing its job."""
    for concept in CONCEPTS:
        backlinks = soup(site_html / f"{concept}.html").select(".mlnotes-backlinks a")
        assert any("posts/" in a["href"] for a in backlinks), concept


def test_backlinks_and_related_never_point_to_the_page_itself(site_html):
    for doc in POSTS + CONCEPTS:
        page = site_html / f"{doc}.html"
        for a in soup(page).select(".mlnotes-backlinks a, .mlnotes-related a"):
            assert (page.parent / a["href"]).resolve() != page.resolve(), doc


def test_every_post_shows_its_reading_time(site_html):
    for post in POSTS:
        info = soup(site_html / f"{post}.html").select_one("p.mlnotes-post-info").text
        assert "阅读约" in info and "分钟" in info, post


def test_graph_shows_every_post_and_concept(site_html):
    svg = soup(site_html / "graph.html").select_one("div.mlnotes-concept-graph > svg")
    drawn = {g.title.text for g in svg.select("g.node")}
    assert drawn == set(POSTS) | set(CONCEPTS)


DIFFUSION_SERIES = ["ddim", "diffusion-sde", "guidance", "stable-diffusion", "controlnet"]


def test_diffusion_series_is_in_order_on_every_part(site_html):
    for i, post in enumerate(DIFFUSION_SERIES):
        page = soup(site_html / "posts" / f"{post}.html")
        items = page.select(".mlnotes-series li")
        linked = [li.a["href"].removesuffix(".html") if li.a else post for li in items]
        assert linked == DIFFUSION_SERIES, post
        prev_links = [a["href"] for a in page.select(".mlnotes-series-prev a")]
        next_links = [a["href"] for a in page.select(".mlnotes-series-next a")]
        assert prev_links == ([f"{DIFFUSION_SERIES[i - 1]}.html"] if i > 0 else [])
        assert next_links == ([f"{DIFFUSION_SERIES[i + 1]}.html"]
                              if i + 1 < len(DIFFUSION_SERIES) else [])
