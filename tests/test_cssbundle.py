"""One stylesheet per page (``_ext/mlnotes_cssbundle.py``)."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import mlnotes_cssbundle
import pytest
from bs4 import BeautifulSoup
from conftest import build, copy_root

HEADER = re.compile(r"^/\* (_static/\S+) \*/$", re.M)
URL = re.compile(r"url\(\s*[\"']?(?!data:)([^\"')]+)")


def members(bundle: Path) -> list[str]:
    return HEADER.findall(bundle.read_text(encoding="utf-8"))


def unresolved_urls(outdir: Path) -> list[str]:
    bundle = outdir / mlnotes_cssbundle.BUNDLE
    base = posixpath.dirname(mlnotes_cssbundle.BUNDLE)
    return [url for url in URL.findall(bundle.read_text(encoding="utf-8"))
            if not (outdir / posixpath.join(base, url)).is_file()]


@pytest.fixture()
def project(tmp_path):
    return copy_root("cssbundle", tmp_path)


@pytest.mark.sphinx("html", testroot="cssbundle", srcdir="cssbundle-order")
def test_bundle_holds_the_pages_stylesheets_in_order(app):
    app.build()
    outdir = app.outdir
    bundle = outdir / mlnotes_cssbundle.BUNDLE
    names = members(bundle)
    # the theme's own first (read from its template), Sphinx's list after, ours last;
    # basic.css is inlined where the theme's theme.css imports it
    assert names[:2] == ["_static/styles/theme.css", "_static/styles/pydata-sphinx-theme.css"]
    assert names[-1] == "_static/own.css" and "_static/pygments.css" in names
    text = bundle.read_text(encoding="utf-8")
    assert "@import" not in text and "div.clearer" in text  # basic.css, inlined
    # a stylesheet with attributes of its own (media) stays a file of its own
    assert "_static/print.css" not in names and ".print-rule" not in text
    # url()s point at the same files from the bundle's directory
    assert "url(img/dot.png)" in text and "url(vendor/fontawesome/webfonts/fa-solid-900.woff2)" in text
    assert unresolved_urls(outdir) == []
    # Sphinx's list of a page's stylesheets, which the bundle reads, kept its shape
    assert all(hasattr(css, "filename") and hasattr(css, "priority") and hasattr(css, "attributes")
               for css in app.builder._css_files)


def test_bundle_follows_a_changed_stylesheet(project):
    build(project)
    (project / "_static" / "own.css").write_text(".own-rule { color: #654321; }\n", encoding="utf-8")
    _, read, _ = build(project)
    assert read == []
    text = (project / "_build" / "html" / mlnotes_cssbundle.BUNDLE).read_text(encoding="utf-8")
    assert "#654321" in text and "#123456" not in text


@pytest.mark.slow
def test_site_pages_link_one_stylesheet(site_html):
    bundle = site_html / mlnotes_cssbundle.BUNDLE
    names = set(members(bundle))
    assert {"_static/mlnotes.css", "_static/mlnotes-icons.css"} <= names
    assert unresolved_urls(site_html) == []
    # the final pygments.css, with pydata-sphinx-theme's dark rules, not Sphinx's first one
    assert 'html[data-theme="dark"] .highlight' in bundle.read_text(encoding="utf-8")
    pages = [p for p in site_html.rglob("*.html") if p.relative_to(site_html).parts[0] != "_static"]
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
        links = [link["href"].split("?")[0] for link in soup.find_all("link", rel="stylesheet")]
        rel = page.relative_to(site_html).as_posix()
        assert [posixpath.basename(h) for h in links] == ["mlnotes-site.css"], rel
