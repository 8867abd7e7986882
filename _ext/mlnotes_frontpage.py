"""The front page: the latest posts, newest first, in numbered pages.

``.. latest-posts::`` in ``index.rst`` shows the first page of the list; the
following pages are written as ``page/2.html``, ``page/3.html`` ... with the
same layout.  Each entry has the title, the date in Chinese (2026年1月11日), the
category and the excerpt.  The pager is plain links, so it works without
JavaScript.  Posts with the same date are ordered by document name, so the
order never depends on the file system.

The list is rendered at write time from ABlog's registry, and the page holding
it is written again whenever a post is added or removed or its entry changes
(see ``mlnotes_listing.changed_posts``), so incremental builds never show a stale
list.
Only HTML builders show it: in the PDF the directive produces nothing.
"""

from __future__ import annotations

import html
import math

from docutils import nodes
from docutils.parsers.rst import Directive
from mlnotes_core import site_data, use_site_domain, zh_date
from mlnotes_listing import changed_posts, lists_changed, posts_changed, shows_other_posts, track_listing
from sphinx.util import logging

__version__ = "1.0"
# Bump when the doctrees or env data this extension stores change shape, so that
# Sphinx discards pickled environments made by an older version.
ENV_VERSION = 2

logger = logging.getLogger(__name__)


class latest_posts(nodes.General, nodes.Element):
    """Placeholder replaced by the first page of the post list."""


class LatestPostsDirective(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        site_data(env, "frontpage")[env.docname] = True
        return [latest_posts()]


def ordered_posts(app) -> list:
    """Published posts, newest first; equal dates by document name."""
    from ablog.blog import Blog
    from ablog.post import register_posts

    blog = Blog(app)
    if not blog:
        register_posts(app)
    posts = sorted(blog.posts, key=lambda post: post.docname)
    return sorted(posts, key=lambda post: post.date, reverse=True)


def page_name(root: str, number: int) -> str:
    return root if number == 1 else f"page/{number}"


def render_page(app, pagename: str, posts: list, number: int, total: int) -> str:
    """HTML of one page of the list (entries and pager), links relative to *pagename*."""
    builder = app.builder
    rel = builder.get_relative_uri
    root = app.config.root_doc
    out = ['<div class="mlnotes-latest">']
    for post in posts:
        url = rel(pagename, post.docname)
        cats = " ".join(
            f'<a class="mlnotes-category" href="{html.escape(rel(pagename, c.docname))}">'
            f"{html.escape(str(c))}</a>" for c in post.category)
        excerpt = post.to_html(pagename) if post.excerpt else ""
        out.append(
            '<article class="mlnotes-post-card">'
            f'<h3 class="mlnotes-post-title"><a href="{html.escape(url)}">'
            f"{html.escape(post.title)}</a></h3>"
            '<p class="mlnotes-post-meta">'
            f'<time datetime="{post.date:%Y-%m-%d}">{zh_date(post.date)}</time>'
            f"{' · ' + cats if cats else ''}</p>"
            f'<div class="mlnotes-post-excerpt">{excerpt}</div>'
            "</article>")
    if total > 1:
        out.append('<nav class="mlnotes-pager" aria-label="文章分页"><ul>')
        if number > 1:
            href = rel(pagename, page_name(root, number - 1))
            out.append(f'<li><a rel="prev" href="{href}">‹ 上一页</a></li>')
        previous = 0
        for n in pager_numbers(number, total):
            if n > previous + 1:
                out.append('<li><span class="mlnotes-pager-gap" aria-hidden="true">…</span></li>')
            previous = n
            if n == number:
                out.append(f'<li><span aria-current="page">{n}</span></li>')
            else:
                out.append(f'<li><a href="{rel(pagename, page_name(root, n))}">{n}</a></li>')
        if number < total:
            href = rel(pagename, page_name(root, number + 1))
            out.append(f'<li><a rel="next" href="{href}">下一页 ›</a></li>')
        out.append("</ul></nav>")
    out.append("</div>")
    return "".join(out)


def pager_numbers(number: int, total: int, around: int = 2) -> list[int]:
    """The page numbers the pager links: the first, the last, and those within *around*
    of page *number*, so that the pager does not grow with the number of posts.

    >>> pager_numbers(1, 3)
    [1, 2, 3]
    >>> pager_numbers(1, 84)
    [1, 2, 3, 84]
    >>> pager_numbers(40, 84)
    [1, 38, 39, 40, 41, 42, 84]
    """
    return sorted({1, total, *range(max(1, number - around), min(total, number + around) + 1)})


def paginate(app) -> tuple[list[list], int]:
    posts = ordered_posts(app)
    size = app.config.frontpage_posts_per_page
    total = max(1, math.ceil(len(posts) / size))
    return [posts[i * size:(i + 1) * size] for i in range(total)], total


def _is_html(app) -> bool:
    return app.builder.format == "html" and app.builder.name not in {"json", "pickle"}


def fill_placeholder(app, doctree, docname: str) -> None:
    for node in list(doctree.findall(latest_posts)):
        if not _is_html(app):
            node.parent.remove(node)
            continue
        pages, total = paginate(app)
        node.replace_self(nodes.raw("", render_page(app, docname, pages[0], 1, total),
                                    format="html"))


def collect_pages(app):
    """Write page/2.html ... for the pages after the first."""
    if not _is_html(app) or not site_data(app.env, "frontpage"):
        return
    changed = changed_posts(app)
    pages, total = paginate(app)
    for number in range(2, total + 1):
        pagename = page_name(app.config.root_doc, number)
        # the posts of this page of the list, and the pager's length
        shown = [post.docname for post in pages[number - 1]] + [f"of {total}"]
        if not shows_other_posts(app, f"page:{pagename}", shown) and \
                not lists_changed(pages[number - 1], changed):
            continue   # this page of the list is as the last build wrote it
        body = (f'<h1>最新文章 · 第 {number} 页</h1>'
                + render_page(app, pagename, pages[number - 1], number, total))
        yield pagename, {"title": f"最新文章 · 第 {number} 页", "body": body}, "page.html"


def frontpage_docs_to_rewrite(app, env) -> list[str]:
    return sorted(site_data(env, "frontpage")) if posts_changed(app, env) else []


def setup(app):
    app.setup_extension("mlnotes_blog")
    app.add_config_value("frontpage_posts_per_page", 12, "html", types=frozenset({int}))
    app.add_node(latest_posts)
    app.add_directive("latest-posts", LatestPostsDirective)
    track_listing(app)
    use_site_domain(app)   # the pages with the list: the domain drops and merges them per document
    app.connect("env-get-updated", frontpage_docs_to_rewrite)
    app.connect("doctree-resolved", fill_placeholder)
    app.connect("html-collect-pages", collect_pages)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
