"""Site search with Pagefind: an index built from the article text, loaded only to search.

Sphinx's own search (``searchindex.js``, Sphinx 9.0) did not serve a Chinese reader: the
query was looked up whole while the index held jieba's pieces, so ``空洞卷积`` found nothing
although a post has it in its title; ranking had no notion of what kind of page explains a
topic; snippets showed the sidebar; the index was one file every page downloaded; and a
no-change rebuild dropped its index entries (sphinx-doc/sphinx#12599).  The README
("Search") has the measurements behind the choice of Pagefind.

This extension turns Sphinx's indexer off and, when an HTML build finishes, gives Pagefind
(PyPI ``pagefind-bin``, its command-line indexer) one small document per page it should
find, made from the page as written to the output directory (``index_document``):

- only the article: no header, sidebar, table of contents, series or link boxes
  (``.no-search``), permalinks, display formulas, footnote lists or source links; short
  inline formulas stay as their text;
- Chinese as overlapping character pairs (``index_text``), which the browser also cuts
  the query into;
- the page's kind decides its weight: a post's or concept page's title words and the
  glossary terms it uses rank through meta fields (``titlewords``, ``terms``), its
  headings through Pagefind's heading weights; reference pages (API, glossary) have their
  title in ``refwords``, their headings flattened and their text weighted down, so that
  for the same words the page that explains a topic comes first;
- meta fields shown with a result (``title``; ``place``: category and date, 概念 or API)
  and the facet words (``facets``: category, tags, kind; see ``facet_token``).

The documents are kept in the doctree directory (``mlnotes-search/pages``) and remade only
for pages written again (or whose place or facets changed); documents of removed pages go.
Pagefind then indexes all of them into ``mlnotes-search/bundle``, which replaces
``<outdir>/pagefind`` whole; a build that changed no document keeps the index it has.  The
index is the same after an incremental build as after a clean one (tests).  A failure
of Pagefind is a build error.

The search box and page are ``_static/mlnotes-search.js``, which runs Pagefind in
``_static/mlnotes-search-worker.js`` when the reader starts to search; see there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lxml.html
from mlnotes_core import code_version, post_records, zh_date  # posts; the date as the post line shows it
from sphinx.errors import ExtensionError
from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)

#: Pagefind version the markup and the UI were written against (requirements.txt pins it;
#: tests/test_search.py checks the installed one).
PAGEFIND_VERSION = "1.5.2"
BUNDLE = "pagefind"
#: Bump when index_document changes what it makes, so that every document is made again.
INPUT_VERSION = 1

#: Article parts that are not the page's own text: classes, then elements.
DROP_CLASSES = (
    "headerlink", "no-search", "mlnotes-post-info", "ablog__blog_comments",
    "toctree-wrapper", "footnote-list", "footnote-reference", "eqno", "viewcode-link",
    "viewcode-back", "sig-paren",
)
DROP_TAGS = ("mjx-container", "script", "style", "svg", "nav", "template")
DROP = " | ".join(
    [f'.//*[contains(concat(" ", normalize-space(@class), " "), " {name} ")]'
     for name in DROP_CLASSES] + [f".//{tag}" for tag in DROP_TAGS])
#: Inline formulas up to this many characters of text stay in snippets (k, s=2, O(N²)).
MAX_INLINE_MATH = 24
ENDS_SENTENCE = re.compile(r"[。！？：；.!?:;]$")
#: Weight of the text of a reference page (API, glossary, front page) against 1 for a post.
REFERENCE_WEIGHT = "0.3"
#: Weight of code blocks in a post: identifiers are worth finding, but below prose.
CODE_WEIGHT = "0.5"


#: A run of Chinese characters (CJK unified ideographs and their extensions A, compatibility).
HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

#: Full-width punctuation, a word of its own: （Kaiming） must not hide the word Kaiming.
CJK_PUNCTUATION = re.compile(
    "[\u2014\u2018-\u201f\u2026\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")


def bigrams(run: str) -> list[str]:
    """The overlapping character pairs of a Chinese *run* (itself when one character)."""
    return [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]


def index_text(text: str) -> str:
    """*text* as the index holds it: each Chinese run as its bigrams, space-separated.

    The browser turns the query into bigrams the same way (``mlnotes-search.js``,
    ``queryTerms``), so any Chinese the reader types matches the same words, whether or
    not a dictionary knows the compound.  Latin words are left to Pagefind (lower case,
    English stemming, parts of ``tf_export`` or ``all-reduce``).  The snippets undo the
    pairs (``showExcerpt``).
    """
    text = CJK_PUNCTUATION.sub(lambda m: f" {m[0]} ", text)
    return HAN_RUN.sub(lambda m: " " + " ".join(bigrams(m[0])) + " ", text)


def _math_as_text(article) -> None:
    """Inline formulas as their MathML text (``k``, ``s=2``, ``xt`` for x_t), when short;
    display math out.

    The snippets then read 步长为 s=2 的卷积, not 步长为的卷积.
    """
    for math in article.xpath('.//*[contains(concat(" ", @class, " "), " math ")]'):
        if math.getparent() is None:
            continue
        text = "".join("".join(math.xpath(".//mjx-assistive-mml//text()")).split())
        if math.tag == "span" and text and len(text) <= MAX_INLINE_MATH:
            replacement = lxml.html.Element("span")
            replacement.text = text
            replacement.tail = math.tail
            math.getparent().replace(math, replacement)
        else:
            math.drop_tree()


def _end_blocks(article) -> None:
    """End each heading, term and caption with a full stop, so that a snippet that runs
    from a heading into the next paragraph still reads as two sentences."""
    for block in article.xpath(".//h2|.//h3|.//h4|.//h5|.//h6|.//dt|.//figcaption|.//caption"):
        text = block.text_content().strip()
        if text and not ENDS_SENTENCE.search(text):
            last = block
            while len(last):
                last = last[-1]
            if last is block:
                block.text = (block.text or "") + "。"
            else:
                last.tail = (last.tail or "") + "。"


def _bigram_tree(element) -> None:
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        if node.text:
            node.text = index_text(node.text)
        if node.tail and node is not element:
            node.tail = index_text(node.tail)


def page_kind(app: Sphinx, docname: str) -> str | None:
    """``post``, ``concept``, ``api`` or ``reference``; None for pages not to index."""
    if docname in post_records(app.env):
        return "post"
    if docname.startswith("concepts/") and docname != "concepts/index":
        return "concept"
    if docname.startswith("api/") and docname != "api/index":
        return "api"
    if docname in app.config.mlnotes_search_exclude:
        return None
    return "reference"


KIND_LABELS = {"post": "文章", "concept": "概念", "api": "API", "reference": "参考"}


def page_facets(app: Sphinx, docname: str, kind: str) -> tuple[str, dict[str, list[str]]]:
    """The result's place line ("深度学习 · 2026年5月11日", "概念") and the page's facet
    values: ``kind`` for every page, ``category`` and ``tag`` for posts."""

    post = post_records(app.env).get(docname)
    facets = {"kind": [KIND_LABELS[kind]]}
    if kind == "post" and post:
        category = app.config.blog_categories.get(post.get("category"), post.get("category"))
        facets["category"] = [category] if category else []
        facets["tag"] = list(post.get("tags", ()))
        return " · ".join(p for p in (category, zh_date(post["date"])) if p), facets
    return KIND_LABELS[kind], facets


def facet_token(field: str, value: str) -> str:
    """The word that stands for a facet value in the index: ``zzzcategory深度学习zzz``.

    Facets are words of a meta field that does not rank ("facets"), and choosing one adds
    its word to the query, which Pagefind then requires like any other word.  (Not
    Pagefind's filters: 1.5.2 writes them in hash-map order, so two builds of the same
    pages differ, Pagefind/pagefind#638.)  The closing ``zzz`` keeps the tag 扩散 from
    also matching 扩散模型 (Pagefind matches words by prefix).
    """
    return f"zzz{field}{FACET_CHARS.sub('', value.lower())}zzz"


FACET_CHARS = re.compile(r"[\W_]+")


def search_facets(app: Sphinx) -> dict[str, list[tuple[str, str, int]]]:
    """For the search page: each facet's values as (label, token, pages), most pages first."""
    counts: dict[str, dict[str, int]] = {}
    for docname in sorted(app.env.found_docs):
        kind = page_kind(app, docname)
        if kind is None:
            continue
        for field, values in page_facets(app, docname, kind)[1].items():
            for value in values:
                counts.setdefault(field, {})
                counts[field][value] = counts[field].get(value, 0) + 1
    return {field: [(value, facet_token(field, value), n)
                    for value, n in sorted(found.items(), key=lambda item: (-item[1], item[0]))]
            for field, found in counts.items()}


def index_document(app: Sphinx, docname: str, kind: str, html: str) -> str:
    """The document Pagefind indexes for *docname*, made from its output *html*."""
    tree = lxml.html.document_fromstring(html)
    articles = tree.xpath('//article[contains(concat(" ", @class, " "), " bd-article ")]')
    if not articles:
        raise ExtensionError(f"search: {docname}: no <article class='bd-article'> in the page")
    article = articles[0]
    _math_as_text(article)
    for element in article.xpath(DROP):
        if element.getparent() is not None:
            element.drop_tree()
    _end_blocks(article)
    h1 = article.find(".//h1")
    title = h1.text_content().strip() if h1 is not None else ""
    if h1 is not None:
        h1.drop_tree()
    primary = kind in ("post", "concept")
    terms: list[str] = []
    for element in article.iter():
        if not isinstance(element.tag, str):
            continue
        classes = element.get("class", "").split()
        if "std-term" in classes:
            terms.append(element.text_content().strip())
        if not primary and element.tag in ("h2", "h3", "h4", "h5", "h6", "dt"):
            element.tag = "p"
        if primary and element.tag == "pre":
            element.set("data-pagefind-weight", CODE_WEIGHT)
    place, facets = page_facets(app, docname, kind)
    _bigram_tree(article)
    body = "".join(lxml.html.tostring(child, encoding="unicode") for child in article)
    if not primary:
        body = f'<div data-pagefind-weight="{REFERENCE_WEIGHT}">{body}</div>'
    # Shown as written: title and place (not ranked: metaWeights 0, in the worker).  Ranked:
    # the title's words ("titlewords" on posts and concept pages, "refwords" on reference
    # pages) and the glossary terms the page uses ("terms").  Meta fields are read from an
    # attribute, so that they are not part of the text the snippets come from.
    head = [_meta_span("title", title), _meta_span("place", place),
            _meta_span("titlewords" if primary else "refwords", index_text(title))]
    if terms:
        head.append(_meta_span("terms", index_text(" ".join(sorted(set(terms))))))
    tokens = [facet_token(field, value) for field, values in facets.items() for value in values]
    head.append(_meta_span("facets", " ".join(tokens)))
    return ('<!DOCTYPE html><html lang="zh-cn"><head><meta charset="utf-8"><title>'
            f'{escape(title)}</title></head><body><main data-pagefind-body>{"".join(head)}'
            f"{body}</main></body></html>")


def _meta_span(name: str, value: str) -> str:
    return f'<span data-pagefind-meta="{name}[data-value]" data-value="{escape(value)}"></span>'


def _page_key(app: Sphinx, docname: str, kind: str, page: Path) -> list:
    """What a page's index document is made from: the written page (its size and time)
    and what the environment adds (kind, place, facets), and this module's version."""
    stat = page.stat()
    place, facets = page_facets(app, docname, kind)
    key = [INPUT_VERSION, code_version(__file__), stat.st_mtime_ns, stat.st_size, kind, place,
           sorted(facets.items())]
    return json.loads(json.dumps(key, ensure_ascii=False))   # as the manifest reads it back


def update_documents(app: Sphinx, source: Path) -> tuple[list[str], bool]:
    """Bring the index documents under *source* up to date with the pages written.

    One document per page to find, at the page's own path (Pagefind takes the URL from
    it); remade only when its page was written again or what the environment says of it
    changed; a page no longer in the project loses its document.  Returns the pages'
    URLs in docname order and whether any document changed.
    """
    builder = app.builder
    source.mkdir(parents=True, exist_ok=True)
    manifest_path = source.parent / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    urls, keys, changed = [], {}, False
    for docname in sorted(app.env.found_docs):
        kind = page_kind(app, docname)
        if kind is None:
            continue
        url = builder.get_target_uri(docname)
        page = Path(builder.outdir, url)
        if not page.is_file():
            logger.warning("search: %s: %s was not written", docname, page,
                           type="mlnotes", subtype="search", location=docname)
            continue
        urls.append(url)
        keys[url] = _page_key(app, docname, kind, page)
        document = source / url
        if manifest.get(url) != keys[url] or not document.is_file():
            document.parent.mkdir(parents=True, exist_ok=True)
            document.write_text(index_document(app, docname, kind, page.read_text(encoding="utf-8")),
                                encoding="utf-8")
            changed = True
    for url in set(manifest) - set(keys):
        (source / url).unlink(missing_ok=True)
        changed = True
    manifest_path.write_text(json.dumps(keys, ensure_ascii=False), encoding="utf-8")
    return urls, changed


def run_pagefind(source: Path, target: Path) -> None:
    """Pagefind's command-line indexer over the documents in *source*, into *target*.

    (Not Pagefind's Python API: it polls its service ten times a second, and added the
    site's 28 posts in 2.9 s where the command takes 0.5 s for all of it.)
    """
    try:
        from pagefind_bin import get_executable
    except ImportError as error:
        raise ExtensionError("search: Pagefind is not installed (pip install -r requirements.txt)") \
            from error
    command = [str(get_executable()), "--site", str(source), "--output-path", str(target),
               "--force-language", "en", "--keep-index-url", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ExtensionError("search: Pagefind could not build the index:\n"
                             + (result.stderr or result.stdout)[-2000:])


def build_index(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html" or app.builder.name == "singlehtml" or \
            not app.config.mlnotes_search_index:
        return
    started = time.perf_counter()
    work = Path(app.doctreedir, "mlnotes-search")
    urls, changed = update_documents(app, work / "pages")
    final = Path(app.builder.outdir, BUNDLE)
    listing = json.dumps(urls, ensure_ascii=False, indent=0)
    listed = final / "mlnotes-pages.json"
    if not changed and listed.is_file() and listed.read_text(encoding="utf-8") == listing:
        return      # the index in the output is the one these documents make
    if not urls:    # nothing to find (a project of lists only): Pagefind refuses an empty site
        shutil.rmtree(final, ignore_errors=True)
        return
    staging = work / "bundle"
    shutil.rmtree(staging, ignore_errors=True)
    run_pagefind(work / "pages", staging)
    # Pagefind's own search interfaces: the site has its own (mlnotes-search.js)
    for unused in staging.glob("pagefind-*ui.*"):
        unused.unlink()
    (staging / "pagefind-highlight.js").unlink(missing_ok=True)
    # an output directory from before this extension keeps Sphinx's index: not served
    Path(app.builder.outdir, "searchindex.js").unlink(missing_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(staging, final)
    listed.write_text(listing, encoding="utf-8")
    # for `make bench` (tools/bench.py): how long indexing took; not part of the output
    (work / "stats.json").write_text(json.dumps(
        {"pages": len(urls), "seconds": round(time.perf_counter() - started, 3)}), encoding="utf-8")


def no_sphinx_index(app: Sphinx) -> None:
    """Sphinx's indexer off: no ``searchindex.js``; the search page comes from us."""
    if app.builder.format == "html" and hasattr(app.builder, "search"):
        app.builder.search = False


def search_page(app: Sphinx):
    if app.builder.format == "html" and app.builder.name != "singlehtml":
        yield "search", {"title": "搜索", "mlnotes_facets": search_facets(app)}, "search.html"


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("mlnotes_search_exclude", [], "html", types=(list,))
    # Off for `make serve`'s preview: Pagefind indexes every page again on each build (2.4 s
    # of a 6 s edit at 1,000 posts); the preview's search then says it cannot search.
    app.add_config_value("mlnotes_search_index", True, "", types=(bool,))
    app.connect("builder-inited", no_sphinx_index)
    app.connect("html-collect-pages", search_page)
    app.connect("build-finished", build_index)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
