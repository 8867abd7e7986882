"""Two script files per page (``_ext/mlnotes_jsbundle.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import build, copy_root

HEADER = re.compile(r"^/\* (_static/\S+) \*/$", re.M)


def members(outdir: Path, bundle: str) -> list[str]:
    return HEADER.findall((outdir / bundle).read_text(encoding="utf-8"))


def bundle(outdir: Path, page: str, kind: str) -> str:
    """The path (relative to *outdir*) of the *kind* bundle *page* loads."""
    found = [s["src"] for s in scripts(outdir / page) if f"/mlnotes-{kind}-" in s["src"]]
    assert len(found) == 1, found
    return found[0]


def scripts(page: Path) -> list[dict]:
    """The page's ``<script>`` tags with a ``src``, in order: attributes, ``src`` without
    its query."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
    found = []
    for tag in soup.find_all("script", src=True):
        attrs = dict(tag.attrs)
        attrs["src"] = attrs["src"].split("?")[0]
        found.append(attrs)
    return found


@pytest.fixture()
def project(tmp_path):
    return copy_root("jsbundle", tmp_path)


@pytest.mark.sphinx("html", testroot="jsbundle", srcdir="jsbundle-members")
def test_pages_load_the_bundles_in_place_of_their_members(app, warning):
    app.build()
    assert warning.getvalue() == ""
    outdir = app.outdir
    # the first run of classic scripts in Sphinx's list: Sphinx's (priority 200), the
    # project's two at 300 and 310, the theme's (500); then come inline scripts
    head, defer = bundle(outdir, "index.html", "head"), bundle(outdir, "index.html", "defer")
    assert members(outdir, head) == [
        "_static/documentation_options.js", "_static/doctools.js", "_static/sphinx_highlight.js",
        "_static/first.js", "_static/tagged.js", "_static/scripts/sphinx-book-theme.js"]
    assert members(outdir, defer) == ["_static/late-a.js", "_static/late-b.js"]
    assert "sourceMappingURL" not in (outdir / defer).read_text(encoding="utf-8")

    page = scripts(outdir / "index.html")
    srcs = [s["src"] for s in page]
    # one bundle of each kind where its first member was; a classic script after the
    # inline ones, the async and the remote script stay files of their own, in place
    own = [s for s in srcs if s.endswith((".js", "after.js")) and "/scripts/" not in s
           and "searchtools" not in s and "language_data" not in s and "searchindex" not in s]
    assert own == [head, "_static/after.js", defer,
                   "_static/whenever.js", "https://example.org/remote.js"]
    tag = {s["src"]: s for s in page}
    # tagged.js reads its data attribute from document.currentScript: the bundle carries it
    assert tag[head].get("data-prefix") == "own-"
    assert "defer" not in tag[head]
    assert tag[defer].get("defer") == "defer"
    assert tag["_static/whenever.js"].get("async") == "async"


def run_order(outdir: Path, page: str) -> list[str]:
    """The files whose code *page* runs as it is parsed, in order, with each bundle
    replaced by its members; the project's own only."""
    names = []
    for tag in scripts(outdir / page):
        if "defer" in tag or "async" in tag or "://" in tag["src"]:
            continue
        src = tag["src"]
        names += members(outdir, src) if "/mlnotes-head-" in src else [src]
    return [n.rsplit("/", 1)[-1] for n in names if n.rsplit("/", 1)[-1] in OWN]


OWN = {"first.js", "special.js", "tagged.js", "after.js"}


def test_a_script_a_page_adds_for_itself_runs_where_sphinx_puts_it(project):
    build(project)
    outdir = project / "_build" / "html"
    assert run_order(outdir, "index.html") == ["first.js", "tagged.js", "after.js"]
    # special.js (priority 305) comes between first.js and tagged.js, on this page only:
    # it ends the bundle there, and everything still runs in Sphinx's order
    assert run_order(outdir, "special.html") == ["first.js", "special.js", "tagged.js", "after.js"]
    assert bundle(outdir, "special.html", "head") != bundle(outdir, "index.html", "head")
    assert bundle(outdir, "special.html", "defer") == bundle(outdir, "index.html", "defer")


def test_the_bundle_and_its_digest_follow_a_changed_member(project):
    build(project)
    outdir = project / "_build" / "html"
    defer = bundle(outdir, "index.html", "defer")

    def linked_digest() -> str:
        soup = BeautifulSoup((outdir / "index.html").read_text(encoding="utf-8"), "lxml")
        return soup.find("script", src=re.compile("mlnotes-defer"))["src"].split("?v=")[1]

    before = linked_digest()
    (project / "_static" / "late-b.js").write_text('window.order.push("changed");\n', encoding="utf-8")
    # Sphinx copies the changed file but rewrites no page: the bundle follows all the same
    _, _, _ = build(project)
    assert '"changed"' in (outdir / defer).read_text(encoding="utf-8")
    # pages written again link it with the new digest
    build(project, freshenv=True)
    assert linked_digest() != before
    assert bundle(outdir, "index.html", "defer") == defer  # the same members, the same file


def test_bundled_scripts_run_in_order_in_a_browser(project, browser):
    build(project)
    page = browser.new_page()
    try:
        page.route("https://example.org/**",
                   lambda route: route.fulfill(body="", content_type="text/javascript"))
        page.goto((project / "_build" / "html" / "index.html").as_uri())
        page.wait_for_function("window.order && window.order.includes('late-b')")
        order = [name for name in page.evaluate("window.order") if name != "whenever"]
    finally:
        page.close()
    # tagged.js read its data attribute from document.currentScript, in the bundle
    assert order == ["first", "own-tagged", "after", "late-a", "late-b"]


def test_the_sphinx_internals_the_bundle_reads_kept_their_shape(project):
    app, _, _ = build(project)
    # the list every page starts from (Sphinx 9.0.4: handle_page saves it before each page)
    assert isinstance(app.builder._orig_js_files, list) and app.builder._orig_js_files
    assert all(hasattr(js, "filename") and hasattr(js, "priority") and hasattr(js, "attributes")
               for js in app.builder._js_files)


@pytest.mark.slow
def test_site_pages_load_two_script_files_of_their_own(site_html):
    head = set(members(site_html, bundle(site_html, "index.html", "head")))
    assert {"_static/doctools.js", "_static/copybutton.js", "_static/clipboard.min.js",
            "_static/design-tabs.js"} <= head
    defer = members(site_html, bundle(site_html, "index.html", "defer"))
    assert {"_static/mlnotes-previews.js", "_static/mlnotes-search.js"} <= set(defer)
    expected = [bundle(site_html, "index.html", kind).rsplit("/", 1)[-1] for kind in ("head", "defer")]
    pages = [p for p in site_html.rglob("*.html") if p.relative_to(site_html).parts[0] != "_static"]
    for page in pages:
        srcs = [s["src"].rsplit("/", 1)[-1] for s in scripts(page)]
        rel = page.relative_to(site_html).as_posix()
        # the same two files on every page; the theme's two deferred scripts come from its
        # template, after Sphinx's list
        assert srcs == [*expected, "bootstrap.js", "pydata-sphinx-theme.js"], rel
