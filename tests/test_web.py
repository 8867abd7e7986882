"""The knowledge web on a small project: backlinks, "explained in", series, related posts.

``roots/test-web``: a concept page (with an equation), an API page of a tiny
package, and four posts: alpha links to the concept, its equation and a
function; beta links to alpha and the concept and shows the other function's
code; gamma links nowhere; alpha, beta and delta form the series "diffusion".
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from conftest import (
    ROOT,
    assert_same_as_clean_build,
    assert_same_html,
    build,
    build_serial_and_parallel,
    copy_root,
    parse_warnings,
    replace_in,
)


def soup(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def box_links(page, css):
    """The hrefs listed in one knowledge-web box of a page ([] when it has none)."""
    box = page.select_one(css)
    return [a["href"] for a in box.select("a")] if box else []


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    srcdir = copy_root("web", tmp_path_factory.mktemp("web"))
    _, _, warnings = build(srcdir)
    assert parse_warnings(warnings, srcdir) == []
    return srcdir / "_build" / "html"


def test_backlinks_name_the_linking_pages(web):
    base = soup(web / "concepts" / "base.html")
    assert box_links(base, ".mlnotes-backlinks") == ["../posts/beta.html", "../posts/alpha.html"]
    assert [a.text for a in base.select(".mlnotes-backlinks a")] == ["第二篇", "第一篇"]
    assert box_links(soup(web / "posts" / "alpha.html"), ".mlnotes-backlinks") == ["beta.html"]
    # an equation reference and a function reference count as links to their pages
    assert box_links(soup(web / "api" / "tools.html"), ".mlnotes-backlinks") == ["../posts/alpha.html"]
    # nobody links to gamma, and no page lists itself
    assert box_links(soup(web / "posts" / "gamma.html"), ".mlnotes-backlinks") == []
    assert soup(web / "posts" / "gamma.html").select(".mlnotes-backlinks") == []


def test_backlinks_are_not_indexed_for_search(web):
    assert "no-search" in soup(web / "concepts" / "base.html").select_one(".mlnotes-backlinks")["class"]


def test_api_entries_say_where_they_are_explained(web):
    api = soup(web / "api" / "tools.html")
    lines = {dl.select_one("dt")["id"]: [a["href"] for a in dl.select(".mlnotes-explained-in a")]
             for dl in api.select("dl.py.function")}
    # alpha links to double; beta shows triple's code with literalinclude :pyobject:
    assert lines == {"webpkg.tools.double": ["../posts/alpha.html"],
                     "webpkg.tools.triple": ["../posts/beta.html"]}


@pytest.mark.parametrize(("post", "prev", "next_"), [
    ("alpha", None, "beta.html"), ("beta", "alpha.html", "delta.html"), ("delta", "beta.html", None),
])
def test_series_box_and_navigation(web, post, prev, next_):
    page = soup(web / "posts" / f"{post}.html")
    box = page.select_one(".mlnotes-series")
    items = box.select("li")
    assert ["".join(li.get_text().split()) for li in items] == ["1.第一篇", "2.第二篇", "3.第四篇"]
    current = ["".join(li.get_text().split()) for li in items
               if "mlnotes-current" in li.get("class", [])]
    part = {"alpha": 1, "beta": 2, "delta": 3}[post]
    assert current == [f"{part}.{page.select_one('h1').get_text(strip=True).rstrip('#')}"]
    assert "共 3 篇" in box.select_one(".rubric").text
    assert box_links(page, ".mlnotes-series-prev") == ([prev] if prev else [])
    assert box_links(page, ".mlnotes-series-next") == ([next_] if next_ else [])


def test_a_post_outside_any_series_has_no_series_box(web):
    assert soup(web / "posts" / "gamma.html").select(".mlnotes-series, .mlnotes-series-nav") == []


def test_related_posts_are_ranked_and_never_the_post_itself(web):
    related = {post: box_links(soup(web / "posts" / f"{post}.html"), ".mlnotes-related")
               for post in ("alpha", "beta", "gamma", "delta")}
    # beta-alpha: a link (3), a shared target (1), a shared tag (2), one series (2);
    # beta-delta: one series (2); gamma shares nothing with anyone
    assert related["beta"] == ["alpha.html", "delta.html"]
    assert related["alpha"] == ["beta.html", "delta.html"]
    assert related["gamma"] == []
    for post, links in related.items():
        assert f"{post}.html" not in links


def test_backlinks_follow_incremental_edits(tmp_path):
    srcdir = copy_root("web", tmp_path)
    build(srcdir)
    html = srcdir / "_build" / "html"
    gamma = srcdir / "posts" / "gamma.md"

    replace_in(gamma, "与别的文章无关。", "现在它引用了 {ref}`基础概念 <concept-base>`。")
    _, read, _ = build(srcdir)
    assert read == ["posts/gamma"]   # the concept page is rewritten, not re-read
    assert "../posts/gamma.html" in box_links(soup(html / "concepts" / "base.html"), ".mlnotes-backlinks")
    assert_same_as_clean_build(srcdir, tmp_path)

    replace_in(gamma, "现在它引用了 {ref}`基础概念 <concept-base>`。", "又与别的文章无关了。")
    _, read, _ = build(srcdir)
    assert read == ["posts/gamma"]
    assert "../posts/gamma.html" not in box_links(soup(html / "concepts" / "base.html"),
                                                   ".mlnotes-backlinks")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_series_follow_incremental_edits(tmp_path):
    srcdir = copy_root("web", tmp_path)
    build(srcdir)
    replace_in(srcdir / "posts" / "gamma.md", "tags: [丙]\n",
               "tags: [丙]\nseries: {name: diffusion, part: 4}\n")
    _, read, _ = build(srcdir)
    assert read == ["posts/gamma"]
    items = soup(srcdir / "_build" / "html" / "posts" / "alpha.html").select(".mlnotes-series li")
    assert ["".join(li.get_text().split()) for li in items] == [
        "1.第一篇", "2.第二篇", "3.第四篇", "4.第三篇"]
    assert_same_as_clean_build(srcdir, tmp_path)


@pytest.mark.parametrize(("series", "message"), [
    ("{name: diffusion, part: 4}",
     "series 'diffusion' has no part 3 (its parts are 1, 2, 4); number the parts 1, 2, 3 ... "
     "without gaps [mlnotes.series]"),
    ("{name: diffusion, part: 2}",
     "series 'diffusion': part 2 is also posts/beta.md; give each post its own part [mlnotes.series]"),
    ("{name: gans, part: 1}",
     "unknown series 'gans'; add it to blog_series in conf.py (known: diffusion) [mlnotes.frontmatter]"),
    ("diffusion",
     "'series' must give the series' name and this post's part; write e.g. "
     "'series: {name: diffusion, part: 2}' [mlnotes.frontmatter]"),
    ("{name: diffusion, part: 0}",
     "series part must be a whole number from 1, not 0; write e.g. "
     "'series: {name: diffusion, part: 2}' [mlnotes.frontmatter]"),
])
def test_bad_series_is_an_error_at_its_line(tmp_path, series, message):
    srcdir = copy_root("web", tmp_path)
    replace_in(srcdir / "posts" / "delta.md", "series: {name: diffusion, part: 3}", f"series: {series}")
    _, _, warnings = build(srcdir)
    assert parse_warnings(warnings, srcdir) == [("posts/delta.md", 5, "ERROR", message)]
    # nothing is lost: every page is still built
    html = srcdir / "_build" / "html"
    for post in ("alpha", "beta", "gamma", "delta"):
        assert (html / "posts" / f"{post}.html").is_file()


def graph_svg(html):
    """(nodes, edges) of the concept graph's SVG (inline in graph.html), by docname."""
    svg = soup(html / "graph.html").select_one("div.mlnotes-concept-graph > svg")
    nodes = {g.title.text: g.find("a")["xlink:href"] for g in svg.select("g.node")}
    edges = {tuple(g.title.text.split("->")) for g in svg.select("g.edge")}
    return nodes, edges


def graph_alt(html) -> str:
    return soup(html / "graph.html").select_one("div.mlnotes-concept-graph")["aria-label"]


def test_concept_graph_has_every_post_concept_and_link(web):
    nodes, edges = graph_svg(web)
    # every post and concept page, each linking to its page (relative to graph.html)
    assert nodes == {"posts/alpha": "posts/alpha.html", "posts/beta": "posts/beta.html",
                     "posts/gamma": "posts/gamma.html", "posts/delta": "posts/delta.html",
                     "concepts/base": "concepts/base.html"}
    # API pages are not drawn: alpha's link to a function is not an edge
    assert edges == {("posts/alpha", "concepts/base"), ("posts/beta", "posts/alpha"),
                     ("posts/beta", "concepts/base")}
    alt = graph_alt(web)
    assert "4 篇文章" in alt and "1 个概念页" in alt and "3 条交叉引用" in alt


def test_concept_graph_follows_incremental_edits(tmp_path):
    srcdir = copy_root("web", tmp_path)
    build(srcdir)
    replace_in(srcdir / "posts" / "gamma.md", "与别的文章无关。", "它引用 {ref}`第四篇 <post-delta>`。")
    build(srcdir)
    _, edges = graph_svg(srcdir / "_build" / "html")
    assert ("posts/gamma", "posts/delta") in edges
    assert_same_as_clean_build(srcdir, tmp_path)


def test_parallel_build_equals_serial(tmp_path):
    """The link graph is merged from parallel readers: -j 2 writes the serial output."""
    outs = build_serial_and_parallel(copy_root("web", tmp_path), tmp_path)
    assert_same_html(outs["1"], outs["2"])
    # and the parallel build has the knowledge web in it
    base = soup(outs["2"] / "concepts" / "base.html")
    assert box_links(base, ".mlnotes-backlinks") == ["../posts/beta.html", "../posts/alpha.html"]


def test_large_sites_get_a_condensed_graph(tmp_path):
    """Above concept_graph_max_nodes, one node per category and counted links."""
    srcdir = copy_root("web", tmp_path)
    with (srcdir / "conf.py").open("a") as conf:
        conf.write("concept_graph_max_nodes = 3\n")
    build(srcdir)
    html = srcdir / "_build" / "html"
    nodes, edges = graph_svg(html)
    assert nodes == {"category:Python": "blog/category/python.html",
                     "category:Deep Learning": "blog/category/deep-learning.html",
                     "concepts/base": "concepts/base.html"}
    # alpha -> base and beta -> base, both Python; beta -> alpha stays inside its category
    assert edges == {("category:Python", "concepts/base")}
    svg = soup(html / "graph.html").select_one("div.mlnotes-concept-graph > svg")
    assert [t.text for t in svg.select("g.edge text")] == ["2"]
    assert "每个分类画成一个节点" in graph_alt(html)


def test_views_follow_a_removed_page(tmp_path):
    """A removed page is read by nobody: the backlinks it made still go."""
    srcdir = copy_root("web", tmp_path)
    extra = srcdir / "concepts" / "extra.md"
    extra.write_text("---\norphan: true\n---\n\n# 附加概念\n\n见 {ref}`第一篇 <post-alpha>`。\n",
                     encoding="utf-8")
    build(srcdir)
    html = srcdir / "_build" / "html"
    assert "../concepts/extra.html" in box_links(soup(html / "posts" / "alpha.html"), ".mlnotes-backlinks")
    extra.unlink()
    _, read, _ = build(srcdir)
    assert read == []
    assert box_links(soup(html / "posts" / "alpha.html"), ".mlnotes-backlinks") == ["beta.html"]
    assert not (html / "concepts" / "extra.html").exists()   # its page left the output (mlnotes_prune)
    assert_same_as_clean_build(srcdir, tmp_path)


def test_a_build_that_reads_nothing_recomputes_no_view(tmp_path, monkeypatch):
    """Views are functions of the documents: with none read or removed, nothing is ranked."""
    import mlnotes_related

    srcdir = copy_root("web", tmp_path)
    build(srcdir)
    ranked = []
    rank = mlnotes_related.rank
    monkeypatch.setattr(mlnotes_related, "rank", lambda *args: ranked.append(1) or rank(*args))
    _, read, _ = build(srcdir)
    assert (read, ranked) == ([], [])
    replace_in(srcdir / "posts" / "gamma.md", "与别的文章无关。", "仍与别的文章无关。")
    _, read, _ = build(srcdir)
    assert (read, ranked) == (["posts/gamma"], [1])


def test_source_pages_follow_an_html_setting(tmp_path):
    """A changed ``html_*`` value makes Sphinx write every document again; viewcode's
    pages, which it skips by their module's time, follow too."""
    srcdir = copy_root("web", tmp_path)
    build(srcdir)
    with (srcdir / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write('\nhtml_title = "另一个站名"\n')
    app, _, _ = build(srcdir)
    assert "_modules/webpkg/tools" in app.written
    source_page = srcdir / "_build" / "html" / "_modules" / "webpkg" / "tools.html"
    assert "另一个站名" in source_page.read_text(encoding="utf-8")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_source_pages_follow_a_template_edit(tmp_path):
    """Sphinx writes every page again after a template edit; viewcode's pages too, now."""
    srcdir = copy_root("web", tmp_path)
    templates = srcdir / "_templates_local"
    templates.mkdir()
    layout = templates / "layout.html"
    layout.write_text((ROOT / "_templates" / "layout.html").read_text(encoding="utf-8"), encoding="utf-8")
    with (srcdir / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write(f"templates_path = [{str(templates)!r}, *templates_path]\n")
    build(srcdir)
    layout.write_text(layout.read_text(encoding="utf-8")
                      + "{% block footer %}{{ super() }}<!-- layout edited -->{% endblock %}\n",
                      encoding="utf-8")
    build(srcdir)
    source_page = srcdir / "_build" / "html" / "_modules" / "webpkg" / "tools.html"
    assert "<!-- layout edited -->" in source_page.read_text(encoding="utf-8")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_source_pages_follow_the_sidebar(tmp_path):
    """viewcode's module pages show the sidebar too; viewcode alone skips them by mtime.
    The sidebar lists the categories that have posts, not the posts or their tags."""
    srcdir = copy_root("web", tmp_path)
    build(srcdir)
    replace_in(srcdir / "posts" / "gamma.md", "tags: [丙]", "tags: [丙, 丁]")
    app, read, _ = build(srcdir)
    assert read == ["posts/gamma"]
    assert "_modules/webpkg/tools" not in app.written
    assert_same_as_clean_build(srcdir, tmp_path)
    # the first post in a category: every sidebar lists it, the module pages' too
    replace_in(srcdir / "posts" / "gamma.md", "category: Deep Learning", "category: Machine Learning")
    app, read, _ = build(srcdir)
    assert "_modules/webpkg/tools" in app.written
    assert "机器学习" in (srcdir / "_build" / "html" / "_modules" / "webpkg" / "tools.html").read_text(
        encoding="utf-8")
    assert_same_as_clean_build(srcdir, tmp_path)
