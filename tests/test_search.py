"""Site search (``_ext/mlnotes_search.py``): the index Pagefind builds from the pages.

A small project with the site's configuration (``roots/test-blog``): two posts, a concept
page and an API page.  What the index holds is read back from Pagefind's page records
(``search_fragments``); the browser side (typing, ranking, the relevance set) is in
``test_browser.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from importlib.metadata import version
from pathlib import Path

import mlnotes_search as ms
import pytest
from bs4 import BeautifulSoup
from conftest import (
    assert_same_as_clean_build,
    build,
    copy_root,
    replace_in,
    search_fragments,
    write_post,
)


def test_chinese_is_indexed_as_overlapping_pairs():
    assert ms.index_text("扩张卷积（空洞卷积）是 PyTorch 的 tf_export").split() == [
        "扩张", "张卷", "卷积", "（", "空洞", "洞卷", "卷积", "）", "是", "PyTorch", "的",
        "tf_export"]
    # full-width punctuation is a word of its own: (Kaiming) does not hide Kaiming
    assert "Kaiming" in ms.index_text("He（Kaiming）初始化").split()
    assert ms.index_text("“拐点”——") .split() == ["“", "拐点", "”", "—", "—"]


def test_facet_words_do_not_prefix_each_other():
    one, two = ms.facet_token("tag", "扩散"), ms.facet_token("tag", "扩散模型")
    assert not two.startswith(one)
    assert ms.facet_token("tag", "Stable Diffusion") == "zzztagstablediffusionzzz"


def test_pagefind_is_the_version_the_code_was_written_for():
    """The worker relies on two branches of Pagefind's browser code (see
    ``_static/mlnotes-search-worker.js``); an upgrade must re-check them (the checks on
    the shipped pagefind.js are below, on a built project)."""
    assert version("pagefind-bin") == ms.PAGEFIND_VERSION


def make_project(dest):
    srcdir = copy_root("blog", dest)
    (srcdir / "posts").mkdir()
    (srcdir / "concepts").mkdir()
    (srcdir / "api").mkdir()
    write_post(srcdir, "dilated", dt.date(2026, 1, 5), category="Deep Learning", tags=("卷积",),
               title="扩张卷积（空洞卷积）",
               body="扩张卷积让感受野按指数增长，公式 $k=3$ 里的卷积核不变。\n\n"
                    "## 网格效应\n\n相邻输出只看到稀疏的输入。\n\n```python\nconv = nn.Conv2d(1, 1, 3)\n```")
    write_post(srcdir, "other", dt.date(2026, 2, 1), tags=("杂谈", "Stable Diffusion"),
               title="另一篇文章", body="这里只顺带提到一次卷积。")
    (srcdir / "concepts" / "field.md").write_text("# 感受野\n\n一个输出像素依赖的输入区域。\n",
                                                  encoding="utf-8")
    (srcdir / "api" / "thing.rst").write_text("API 页\n======\n\n卷积与感受野的计算。\n",
                                              encoding="utf-8")
    (srcdir / "index.rst").write_text(
        "Blog\n====\n\n.. latest-posts::\n\n.. toctree::\n   :hidden:\n   :glob:\n\n"
        "   posts/*\n   concepts/*\n   api/*\n", encoding="utf-8")
    return srcdir


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    srcdir = make_project(tmp_path_factory.mktemp("search"))
    app, _, warnings = build(srcdir)
    assert "WARNING" not in warnings, warnings
    return srcdir, srcdir / "_build" / "html"


def test_pages_in_the_index_and_their_kind(project):
    _, html = project
    records = search_fragments(html)
    assert sorted(records) == ["/api/thing.html", "/concepts/field.html",
                               "/posts/dilated.html", "/posts/other.html"]
    dilated = records["/posts/dilated.html"]["meta"]
    assert dilated["title"] == "扩张卷积（空洞卷积）"
    assert dilated["place"] == "深度学习 · 2026年1月5日"
    assert records["/concepts/field.html"]["meta"]["place"] == "概念"
    assert records["/api/thing.html"]["meta"]["place"] == "API"
    assert set(records["/posts/other.html"]["meta"]["facets"].split()) == {
        "zzzkind文章zzz", "zzzcategorypythonzzz", "zzztag杂谈zzz", "zzztagstablediffusionzzz"}
    # posts and concept pages rank their title's words; reference pages barely
    assert "titlewords" in dilated and "refwords" in records["/api/thing.html"]["meta"]


def test_index_holds_the_article_text_only(project):
    _, html = project
    record = search_fragments(html)["/posts/dilated.html"]
    content = record["content"].split()
    for pair in ("扩张", "张卷", "感受", "受野", "网格", "稀疏"):
        assert pair in content
    # the title is not body text (snippets would repeat it); it ranks from a meta field
    assert "空洞" not in content and "空洞" in record["meta"]["titlewords"].split()
    assert "k=3" in " ".join(content)          # a short formula stays, as its text
    # no sidebar, header, post line or permalink: words the article itself does not have
    text = "".join(content)
    for chrome in ("最近文章", "归档", "发表于", "阅读约", "¶", "#"):
        assert chrome not in text, chrome
    # a heading ends a sentence, so a snippet does not run it into the next paragraph
    assert "应 。" in " ".join(content) or "效应。" in text


def test_search_page_and_no_sphinx_index(project):
    srcdir, html = project
    assert not (html / "searchindex.js").exists()
    assert (html / "pagefind" / "pagefind.js").is_file()
    assert not list((html / "pagefind").glob("pagefind-*ui*"))     # Pagefind's own UIs
    # the index is written into the output only (Pagefind's default is ./pagefind)
    assert not (srcdir / "pagefind").exists() and not (Path.cwd() / "pagefind").exists()
    page = BeautifulSoup((html / "search.html").read_text(encoding="utf-8"), "lxml")
    form = page.select_one("#mlnotes-search-page form[role=search]")
    assert form.select_one("input[name=q]")
    tags = {o.get_text(): o["value"] for o in form.select("select[name=tag] option") if o["value"]}
    assert tags == {"卷积（1）": "zzztag卷积zzz", "杂谈（1）": "zzztag杂谈zzz",
                    "Stable Diffusion（1）": "zzztagstablediffusionzzz"}
    kinds = [o.get_text() for o in form.select("select[name=kind] option")]
    assert kinds == ["全部", "文章（2）", "API（1）", "概念（1）"]


def test_pagefind_browser_code_still_takes_the_branches_the_worker_needs(project):
    """``mlnotes-search-worker.js`` runs Pagefind where there is no document, so that
    Pagefind takes the language "unknown" and does not cut the (already cut) query with
    the browser's word segmenter, which it does for zh, ja and th.  Pagefind 1.5.2."""
    _, html = project
    code = (html / "pagefind" / "pagefind.js").read_text(encoding="utf-8")
    assert 'return["zh","ja","th"].includes(primaryLang)' in code
    assert re.search(r'getAttribute\("lang"\)\|\|"unknown"\)\.toLowerCase\(\);\}return"unknown";', code)
    # ... and runs in the worker's thread, with no worker of its own
    assert ('hasWorkerSupport=typeof window!=="undefined"&&typeof document!=="undefined"'
            '&&typeof Worker!=="undefined"') in code


def test_an_edit_is_found_and_a_removed_page_leaves(tmp_path):
    srcdir = make_project(tmp_path / "src")
    write_post(srcdir, "extra", dt.date(2026, 1, 6), category="Deep Learning", tags=("卷积",),
               title="第三篇", body="很快就会删掉的一篇。")
    build(srcdir)
    html = srcdir / "_build" / "html"
    assert "/posts/extra.html" in search_fragments(html)
    replace_in(srcdir / "posts" / "dilated.md", "相邻输出只看到稀疏的输入。", "改写以后出现棋盘格。")
    (srcdir / "posts" / "extra.md").unlink()
    _, read, _ = build(srcdir)
    assert "posts/dilated" in read
    records = search_fragments(html)
    content = records["/posts/dilated.html"]["content"].split()
    assert "棋盘" in content and "稀疏" not in content
    # the removed post's page left the output (mlnotes_prune), and the index
    assert "/posts/extra.html" not in records
    assert not (html / "posts" / "extra.html").exists()
    assert_same_as_clean_build(srcdir, tmp_path)


def test_a_build_that_writes_nothing_keeps_the_index(tmp_path):
    """No page written, no document remade, Pagefind not run: the bundle is untouched."""
    srcdir = make_project(tmp_path / "src")
    build(srcdir)
    html = srcdir / "_build" / "html"
    documents = srcdir / "_build" / "doctrees" / "mlnotes-search" / "pages"
    before = {p: p.stat().st_mtime_ns for p in [*(html / "pagefind").rglob("*"), *documents.rglob("*")]}
    _, read, _ = build(srcdir)
    assert read == []
    after = {p: p.stat().st_mtime_ns for p in [*(html / "pagefind").rglob("*"), *documents.rglob("*")]}
    assert after == before



def test_the_preview_builds_no_index(tmp_path):
    """``make serve`` passes ``-D mlnotes_search_index=0``: the pages, and no Pagefind run."""
    from sphinx.testing.util import SphinxTestApp

    srcdir = make_project(tmp_path / "src")
    app = SphinxTestApp("html", srcdir=srcdir, builddir=srcdir / "_build",
                        confoverrides={"mlnotes_search_index": "0"})   # as -D gives it, a string
    try:
        app.build()
    finally:
        app.cleanup()
    html = srcdir / "_build" / "html"
    assert (html / "posts" / "dilated.html").is_file() and (html / "search.html").is_file()
    assert not (html / "pagefind").exists()
