"""The real site, built strictly: links, citations, search index, offline resources."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from bs4 import BeautifulSoup
from conftest import published_posts

ROOT = Path(__file__).resolve().parents[1]
POSTS = published_posts()  # not the drafts: a new post (make new-post) is one


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def resolve(page: Path, href: str) -> tuple[Path, str]:
    parts = urlsplit(href)
    return (page.parent / unquote(parts.path)).resolve() if parts.path else page, parts.fragment


def test_every_post_is_on_the_front_pages_once(site_html):
    listed, page = [], site_html / "index.html"
    while page:
        doc = soup(page)
        listed += [resolve(page, a["href"])[0].relative_to(site_html.resolve()).as_posix()
                   for a in doc.select(".mlnotes-post-title a")]
        nxt = doc.select_one('.mlnotes-pager a[rel="next"]')
        page = resolve(page, nxt["href"])[0] if nxt else None
    assert sorted(listed) == sorted(f"{p}.html" for p in POSTS)


def test_ddim_links_to_ddpm(site_html):
    page = site_html / "posts" / "ddim.html"
    targets = set()
    for a in soup(page).select("article a.reference.internal"):
        path, frag = resolve(page, a["href"])
        if path.name == "ddpm.html":
            assert path.is_file()
            if frag:
                assert soup(path).find(id=frag) is not None, frag
            targets.add(frag)
    assert "concept-ddpm" in targets            # the {ref} to the concept page
    assert "equation-eq-ddpm-closed-form" in targets   # an equation on that page


def bibliography(page: Path) -> list[str]:
    """Entries of the reference list under the page's 参考文献 heading."""
    heading = next(h for h in soup(page).select("article h2") if h.get_text().startswith("参考文献"))
    return [note.get_text(" ", strip=True) for note in heading.parent.select(".footnote")]


def test_ddim_bibliography(site_html):
    entries = bibliography(site_html / "posts" / "ddim.html")
    assert any("Denoising Diffusion Implicit Models" in e and "2021" in e for e in entries)
    assert any("Denoising Diffusion Probabilistic Models" in e and "2020" in e for e in entries)


def test_ddpm_page_cites_ddpm_too(site_html):
    """Two pages cite Ho et al. 2020; each has its own reference list."""
    entries = bibliography(site_html / "concepts" / "ddpm.html")
    assert any("Ho" in e and "Denoising Diffusion Probabilistic Models" in e for e in entries)


def test_code_comes_from_the_package(site_html):
    code = soup(site_html / "posts" / "ddim.html").select_one("article div.highlight-python pre")
    assert code.get_text().startswith("def ddim_step(")


def test_figures_are_generated(site_html):
    imgs = soup(site_html / "posts" / "ddim.html").select("article figure img")
    assert imgs, "the DDIM post has a generated figure"
    for img in imgs:
        assert resolve(site_html / "posts" / "ddim.html", img["src"])[0].stat().st_size > 10_000
        assert img.get("alt"), "every figure has alt text"


def test_no_figure_shown_twice(site_html):
    """matplotlib's plot directive numbers figures per reST parse: two ``{eval-rst}``
    plot blocks in one post both write ``<post>-1.png`` unless each has its own
    ``:filename-prefix:``, and the page then shows the second figure twice."""
    for page in sorted(site_html.rglob("*.html")):
        srcs = [img["src"] for img in soup(page).select("article img")]
        assert len(srcs) == len(set(srcs)), page


RESOURCE_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "manifest"}


def external_resources(page: Path) -> list[str]:
    doc, found = soup(page), []
    for tag in doc.find_all(["script", "img", "iframe", "source", "audio", "video", "embed"]):
        if tag.get("src"):
            found.append(tag["src"])
    for tag in doc.find_all("link"):
        if RESOURCE_RELS & set(tag.get("rel", [])):
            found.append(tag["href"])
    return [url for url in found if re.match(r"^(https?:)?//", url)]


def test_no_page_loads_anything_from_another_host(site_html):
    pages = sorted(site_html.rglob("*.html"))
    assert len(pages) > 10
    offenders = {p.relative_to(site_html).as_posix(): external_resources(p) for p in pages}
    assert {k: v for k, v in offenders.items() if v} == {}
    for css in site_html.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css.read_text(encoding="utf-8")), css


def test_math_is_drawn_at_build_time(site_html):
    """Formulas are SVG in the page (mlnotes_mathsvg): no math script or font is loaded,
    and every glyph a page's formulas use is defined once on that page."""
    pages = [p for p in site_html.rglob("*.html") if p.relative_to(site_html).parts[0] != "_static"]
    with_math = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        doc = BeautifulSoup(text, "html.parser")
        rel = page.relative_to(site_html).as_posix()
        assert not [s for s in doc.find_all("script", src=True) if "mathjax" in s["src"].lower()], rel
        formulas = doc.select(".math")
        if not formulas:
            continue
        with_math += 1
        # every formula drawn: an SVG for the eye, MathML for screen readers, no raw TeX left
        assert all(f.select_one("mjx-container > svg") and f.select_one("mjx-assistive-mml math")
                   for f in formulas), rel
        assert not re.search(r"\\\(|\\\[", " ".join(f.get_text() for f in formulas)), rel
        used = set(re.findall(r'xlink:href="#(MJX-[A-Z0-9-]+)"', text))
        defined = re.findall(r'<path id="(MJX-[A-Z0-9-]+)"', text)
        assert used <= set(defined), (rel, sorted(used - set(defined))[:5])
        assert len(defined) == len(set(defined)), rel  # each glyph once
        assert len(doc.select("svg.mlnotes-math-glyphs")) == 1, rel
    assert with_math > 20


def test_feed_contains_every_post(site_html):
    feed = feedparser.parse((site_html / "blog" / "atom.xml").read_bytes())
    assert not feed.bozo
    links = sorted(urlsplit(e.link).path.rsplit("/posts/", 1)[1] for e in feed.entries)
    assert links == sorted(f"{p.split('/', 1)[1]}.html" for p in POSTS)


def test_sidebar_shows_sections_not_posts(site_html):
    """No page carries a link to every post: the navigation scales."""
    nav = soup(site_html / "concepts" / "ddpm.html").select_one(".bd-sidebar-primary")
    assert nav.select_one(".mlnotes-sections") is not None
    assert nav.select(".bd-toc-item, .bd-sidenav") == []


# Attributes that point at another file or an anchor, by element.
LINK_ATTRS = {"a": "href", "area": "href", "link": "href", "img": "src", "script": "src",
              "iframe": "src", "source": "src", "embed": "src", "object": "data"}
EXTERNAL_REPORT = ROOT / "_build" / "external-links.txt"


class Anchors:
    """The ids (and ``<a name>``) of each HTML or SVG file, parsed once."""

    def __init__(self):
        self.cache: dict[Path, set[str]] = {}

    def __call__(self, path: Path) -> set[str]:
        if path not in self.cache:
            doc = BeautifulSoup(path.read_bytes(), "lxml-xml" if path.suffix == ".svg" else "lxml")
            self.cache[path] = ({t["id"] for t in doc.find_all(id=True)}
                                | {t["name"] for t in doc.find_all("a", attrs={"name": True})})
        return self.cache[path]


def crawl(site_html: Path):
    """Every link of every page (HTML, and the SVG the concept graph embeds):
    ``(page, element, url)`` for each one."""
    for page in sorted([*site_html.rglob("*.html"), *site_html.rglob("*.svg")]):
        if page.relative_to(site_html).parts[0] == "_static":
            continue      # the theme's template fragments (webpack-macros.html), icons
        if page.suffix == ".svg":
            doc = BeautifulSoup(page.read_bytes(), "lxml-xml")
            for a in doc.find_all("a"):
                href = a.get("href") or a.get("xlink:href")
                if href:
                    yield page, "a", href
            continue
        for tag in soup(page).find_all(list(LINK_ATTRS)):
            url = tag.get(LINK_ATTRS[tag.name])
            if url:
                yield page, tag.name, url


def test_internal_links_resolve(site_html):
    """A crawler over the built site: every internal link and every #anchor of every
    page (posts, concepts, the API and its _modules source pages, the blog's lists and
    archives, genindex, search) resolves.  External links are listed, not fetched."""
    anchors, broken, external, checked = Anchors(), [], {}, 0
    root = site_html.resolve()
    for page, element, url in crawl(site_html):
        name = page.relative_to(site_html).as_posix()
        if re.match(r"^(https?:)?//", url):
            if element in ("a", "area"):
                external.setdefault(url, set()).add(name)
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:", url) or url == "#":
            continue          # mailto:, javascript:, data:; ABlog's "#" for the current page
        checked += 1
        path, frag = resolve(page, url)
        frag = unquote(frag)
        if not path.exists() or not path.resolve().is_relative_to(root):
            broken.append((name, url, "no such file"))
        elif path.is_dir():
            if not (path / "index.html").is_file():
                broken.append((name, url, "a folder without index.html"))
        elif frag and path.suffix in (".html", ".svg") and frag not in anchors(path.resolve()):
            broken.append((name, url, "no such anchor"))
    assert checked > 1000
    assert broken == []
    EXTERNAL_REPORT.parent.mkdir(parents=True, exist_ok=True)
    EXTERNAL_REPORT.write_text(
        "# External links of the built site (not checked: the tests run offline)\n"
        "# url<TAB>pages that link to it\n"
        + "".join(f"{url}\t{' '.join(sorted(pages))}\n" for url, pages in sorted(external.items())),
        encoding="utf-8")


def test_every_image_in_an_article_has_alt_text(site_html):
    missing = [(page.relative_to(site_html).as_posix(), img.get("src"))
               for page in sorted(site_html.rglob("*.html"))
               for img in soup(page).select("article img")
               if not (img.get("alt") or "").strip()]
    assert missing == []


def test_bibliography_entries_are_complete_and_cited():
    """refs.bib parses, each entry has the fields we check against the paper, and each is
    cited by some page (the PDF lists the whole file at the end of the book)."""
    from pybtex.database import parse_file

    entries = parse_file(str(ROOT / "refs.bib")).entries
    sources = "".join(p.read_text(encoding="utf-8") for folder in ("posts", "concepts")
                      for p in (ROOT / folder).rglob("*.md"))
    for key, entry in entries.items():
        assert {"title", "year"} <= set(entry.fields) and entry.persons.get("author"), key
        assert re.search(rf"`{re.escape(key)}`", sources), f"{key} is never cited"


def internal_targets(site_html: Path, page: str) -> set[str]:
    """Pages (relative to the site root) that *page*'s article links to."""
    path = site_html / page
    found = set()
    for a in soup(path).select("article a.reference.internal"):
        target, _ = resolve(path, a["href"])
        if target.is_file():
            found.add(target.relative_to(site_html.resolve()).as_posix())
    return found


@pytest.mark.parametrize(("source", "target"), [
    ("posts/ddim.html", "concepts/ddpm.html"),
    ("posts/ddim.html", "posts/diffusion-sde.html"),
    ("posts/ddim.html", "posts/guidance.html"),
    ("posts/diffusion-sde.html", "concepts/ddpm.html"),
    ("posts/diffusion-sde.html", "posts/ddim.html"),
    ("posts/guidance.html", "concepts/ddpm.html"),
    ("posts/stable-diffusion.html", "concepts/ddpm.html"),
    ("posts/stable-diffusion.html", "posts/guidance.html"),
    ("posts/controlnet.html", "posts/stable-diffusion.html"),
    ("posts/flow-models.html", "posts/ddim.html"),
    ("posts/stable-diffusion.html", "concepts/vae.html"),
    ("posts/stable-diffusion.html", "concepts/unet.html"),
    ("posts/stable-diffusion.html", "concepts/cross-attention.html"),
    ("posts/controlnet.html", "concepts/unet.html"),
    ("posts/gumbel-softmax.html", "concepts/vae.html"),
    ("concepts/ddpm.html", "concepts/unet.html"),
    ("posts/differentiable-metrics.html", "posts/segmentation-metrics.html"),
    ("posts/differentiable-metrics.html", "posts/gumbel-softmax.html"),
    ("posts/adam-vs-adamw.html", "posts/mixed-precision.html"),
    ("posts/flashattention.html", "concepts/online-softmax.html"),
    ("posts/pytorch-ddp.html", "posts/allreduce.html"),
    ("posts/allreduce.html", "posts/pytorch-ddp.html"),
    ("posts/processes-and-threads.html", "posts/pytorch-ddp.html"),
    ("posts/gbdt-to-xgboost.html", "posts/ensemble-learning.html"),
    ("posts/ensemble-learning.html", "posts/gbdt-to-xgboost.html"),
    ("posts/activation-functions.html", "posts/neural-network-bias.html"),
    ("posts/dilated-convolution.html", "posts/receptive-field.html"),
    ("posts/receptive-field.html", "posts/dilated-convolution.html"),
])
def test_required_cross_references(site_html, source, target):
    assert target in internal_targets(site_html, source)


@pytest.mark.parametrize(("page", "titles"), [
    ("posts/ddim.html", ["Denoising Diffusion Probabilistic Models",
                         "Denoising Diffusion Implicit Models"]),
    ("posts/diffusion-sde.html", ["Score-Based Generative Modeling through Stochastic Differential"]),
    ("posts/guidance.html", ["Diffusion Models Beat GANs on Image Synthesis",
                             "Classifier-Free Diffusion Guidance"]),
    ("posts/stable-diffusion.html", ["High-Resolution Image Synthesis with Latent Diffusion Models"]),
    ("posts/controlnet.html", ["Adding Conditional Control to Text-to-Image Diffusion Models"]),
    ("posts/segment-anything.html", ["Segment Anything"]),
    ("posts/gumbel-softmax.html", ["Categorical Reparameterization with Gumbel-Softmax",
                                   "The Concrete Distribution"]),
    ("concepts/vae.html", ["Auto-Encoding Variational Bayes"]),
    ("concepts/unet.html", ["U-Net: Convolutional Networks for Biomedical Image Segmentation"]),
    ("concepts/cross-attention.html", ["Attention Is All You Need"]),
    ("posts/flow-models.html", ["Flow Matching for Generative Modeling",
                                "Variational Inference with Normalizing Flows",
                                "Density estimation using Real NVP"]),
    ("posts/segmentation-metrics.html", ["Fully Convolutional Networks for Semantic Segmentation"]),
    ("posts/differentiable-metrics.html", ["The Lovász-Softmax Loss",
                                           "V-Net: Fully Convolutional Neural Networks for Volumetric",
                                           "Estimating or Propagating Gradients Through Stochastic Neurons"]),
    ("posts/upsampling.html", ["Real-Time Single Image and Video Super-Resolution Using an Efficient",
                               "Deconvolution and Checkerboard Artifacts"]),
    ("posts/stochastic-approximation.html", ["A Stochastic Approximation Method",
                                             "Learning to Predict by the Methods of Temporal Differences"]),
    ("posts/nn-module-vs-functional.html", ["Dropout: A Simple Way to Prevent Neural Networks",
                                            "Batch Normalization: Accelerating Deep Network Training"]),
    ("posts/pytorch-autograd.html", ["Automatic Differentiation in Machine Learning: a Survey",
                                     "PyTorch: An Imperative Style, High-Performance Deep Learning"]),
    ("posts/mixed-precision.html", ["Mixed Precision Training"]),
    ("posts/adam-vs-adamw.html", ["Adam: A Method for Stochastic Optimization",
                                  "Decoupled Weight Decay Regularization"]),
    ("concepts/online-softmax.html", ["Online normalizer calculation for softmax"]),
    ("posts/flashattention.html", [
        "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
        "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning"]),
    ("posts/pytorch-ddp.html", ["PyTorch Distributed: Experiences on Accelerating Data Parallel Training"]),
    ("posts/ensemble-learning.html", ["Bagging Predictors", "Random Forests", "Stacked Generalization"]),
    ("posts/gbdt-to-xgboost.html", ["XGBoost: A Scalable Tree Boosting System",
                                    "Greedy Function Approximation"]),
    ("posts/neural-network-bias.html", ["The Perceptron: A Probabilistic Model",
                                        "Batch Normalization: Accelerating Deep Network Training"]),
    ("posts/activation-functions.html", ["Gaussian Error Linear Units",
                                         "Searching for Activation Functions",
                                         "GLU Variants Improve Transformer"]),
    ("posts/receptive-field.html", ["Understanding the Effective Receptive Field in Deep Convolutional"]),
    ("posts/dilated-convolution.html", ["Multi-Scale Context Aggregation by Dilated Convolutions",
                                        "Understanding Convolution for Semantic Segmentation"]),
])
def test_required_citations(site_html, page, titles):
    entries = " ".join(bibliography(site_html / page))
    for title in titles:
        assert title.lower() in entries.lower(), title


def test_every_post_has_a_generated_figure(site_html):
    for post in POSTS:
        imgs = soup(site_html / f"{post}.html").select("article figure img")
        assert imgs, f"{post} has no figure"
        assert all("_images/" in img["src"] and img.get("alt") for img in imgs), post
