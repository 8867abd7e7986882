"""Formulas drawn at build time (``_ext/mlnotes_mathsvg.py``), on a minimal project."""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
import re

import mlnotes_mathsvg
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, build, copy_root, parse_warnings, replace_in

GLYPH_REF = re.compile(r'xlink:href="#(MJX-[A-Z0-9-]+)"')
GLYPH_DEF = re.compile(r'<path id="(MJX-[A-Z0-9-]+)"')
# sphinx.ext.mathjax.html_visit_displaymath, whose TeX assembly display_tex() repeats
# (written against Sphinx 9.0.4).
SPHINX_DISPLAYMATH = "46ae48cd616c0668"


@pytest.fixture()
def project(tmp_path):
    return copy_root("mathsvg", tmp_path)


def page(src, name="index", outdir=None):
    text = ((outdir or src / "_build" / "html") / f"{name}.html").read_text(encoding="utf-8")
    return text, BeautifulSoup(text, "html.parser")


@pytest.mark.sphinx("html", testroot="mathsvg", srcdir="mathsvg-glyphs")
def test_formulas_are_svg_with_their_glyphs(app, warning):
    app.build()
    assert parse_warnings(warning.getvalue(), app.srcdir) == []
    text, soup = page(app.srcdir, outdir=app.outdir)
    formulas = soup.select(".math")
    assert len(formulas) == 5
    for formula in formulas:
        svg = formula.select_one("mjx-container > svg")
        assert svg is not None and svg["aria-hidden"] == "true"
        assert float(svg["width"].removesuffix("ex")) > 0
        assert formula.select_one("mjx-assistive-mml math") is not None  # for screen readers
    assert "\\(" not in soup.get_text() and "\\[" not in soup.get_text()
    # the numbered equation keeps Sphinx's number and permalink; {eq} links to it
    numbered = soup.select_one("div.math#equation-eq-mean")
    assert numbered.select_one("span.eqno").get_text().startswith("(1)")
    assert soup.select_one('a[href="#equation-eq-mean"]') is not None
    # two equations in one block are aligned, as sphinx.ext.mathjax does
    assert soup.select("div.math")[1].select_one("mjx-container")["display"] == "true"
    # Chinese in \text{} is drawn as text by the reader's own font
    assert [t.get_text() for t in formulas[-1].select("svg text")] == list("新估计旧估计")
    # each glyph the page uses is defined exactly once, at the end of what it shows
    used, defined = set(GLYPH_REF.findall(text)), GLYPH_DEF.findall(text)
    assert used and used == set(defined) and len(defined) == len(used)
    other, _ = page(app.srcdir, "other", outdir=app.outdir)
    assert set(GLYPH_DEF.findall(other)) == set(GLYPH_REF.findall(other)) == {"MJX-TEX-I-1D466"}


def test_a_tex_error_names_the_file_and_line_and_the_rest_builds(project):
    replace_in(project / "index.md", "Inline $x^2 + \\alpha$", "Inline $x^2 + \\notamacro$")
    _, _, warnings = build(project)
    found = parse_warnings(warnings, project)
    assert [(f, line) for f, line, _, _ in found] == [("index.md", 3)]
    assert "Undefined control sequence \\notamacro" in found[0][3]
    _, soup = page(project)
    assert soup.select_one("code.mlnotes-math-error").get_text() == "x^2 + \\notamacro"
    assert len(soup.select(".math mjx-container")) == 4  # the other formulas are drawn


def test_formulas_are_kept_between_builds(project):
    """The second build takes each formula from the cache in the doctree directory,
    which is dropped when MathJax or this code changes."""
    build(project)
    cache = project / "_build" / "doctrees" / mlnotes_mathsvg.CACHE_FILE
    data = pickle.loads(cache.read_bytes())
    key = ("y", False)
    assert key in data["formulas"]
    data["formulas"][key] = data["formulas"][key].replace("<svg", '<svg data-from-cache="1"', 1)
    cache.write_bytes(pickle.dumps(data))
    replace_in(project / "other.md", "Its own glyphs only", "Only its own glyphs")
    build(project)
    assert 'data-from-cache="1"' in page(project, "other")[0]
    data["key"] = ("another MathJax",)
    cache.write_bytes(pickle.dumps(data))
    replace_in(project / "other.md", "Only its own glyphs", "Its own glyphs only")
    build(project)
    assert 'data-from-cache="1"' not in page(project, "other")[0]


def test_glyphs_drawn_elsewhere_are_found_by_name():
    """A page whose formulas were drawn by another process (a parallel write) gets its
    glyph definitions by name; they equal the ones MathJax writes for a formula."""
    mathjax = mlnotes_mathsvg.MathJax("node", mlnotes_mathsvg.default_modules(), None)
    try:
        html = mathjax.render(r"\sum_i \alpha_i \mathbb{R}", True)
        drawn = dict(mathjax.glyphs)
        ids = set(GLYPH_REF.findall(html))
        assert ids and ids <= drawn.keys()
        mathjax.glyphs.clear()
        assert mathjax.glyph_defs(ids) == [drawn[i] for i in sorted(ids)]
    finally:
        mathjax.close()


def test_mathjax_is_the_pinned_version():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/mathjax-full"]["version"]
    assert pinned == json.loads((ROOT / "package.json").read_text())["dependencies"]["mathjax-full"]
    assert mlnotes_mathsvg.mathjax_version(mlnotes_mathsvg.default_modules()) == pinned, "run npm ci"


def test_display_tex_follows_sphinx():
    import sphinx.util.logging  # noqa: F401  (sphinx.ext.mathjax needs it imported first)
    from sphinx.ext import mathjax

    digest = hashlib.sha256(inspect.getsource(mathjax.html_visit_displaymath).encode()).hexdigest()[:16]
    assert digest == SPHINX_DISPLAYMATH, (
        "sphinx.ext.mathjax.html_visit_displaymath changed: check that "
        "mlnotes_mathsvg.visit_displaymath and display_tex still match it, then update the fingerprint")
