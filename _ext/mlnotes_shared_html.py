"""Render the parts that many pages share once per build, not once per page.

Two parts of this site's pages are the same wherever they appear, but for their
relative links:

* the sidebar's sections (栏目) and categories, on every page: the templates
  listed in ``shared_sidebar_templates``;
* a post's card (title, date, category, tags, excerpt) on the blog's collection
  pages: the list of all posts, each category, tag and year.  A post is listed
  on five or six of them.

Rendered per page through the theme's Jinja templates they were about a tenth
of a full build of 1,000 posts (py-spy; README, "Build performance"), and the
theme renders each sidebar template twice per page (once more to see whether
it is empty).  Here each is rendered once, as if for a page in the root
directory, and its relative links are re-based for each page that shows it
(``href``/``src`` values that are not absolute URLs, root-relative paths or
fragments get the page's ``../`` prefix).

Shared sidebar templates must not depend on the page showing them (no
``pagename``; ABlog's recent posts, which leave out the current post, could not
be one).  They are shown together, in the order of ``html_sidebars``, where the first of them is.
"""

from __future__ import annotations

import functools
import re

from markupsafe import Markup
from mlnotes_linkgraph import per_build
from sphinx.util.osutil import relative_uri

__version__ = "1.0"

#: An ``href``/``src`` value relative to the page (not ``x:``, ``/``, ``#``).
RELATIVE_URL = re.compile(r'(\b(?:href|src)=")(?![a-z][a-z0-9+.-]*:|#|/)([^"]+)"')
SLOT = "mlnotes-shared-sidebar.html"
#: pydata-sphinx-theme 0.16-0.20 wraps each sidebar template in this element.
ITEM_BREAK = '</div>\n<div class="sidebar-primary-item">'


def rebase(app, html: str, pagename: str) -> str:
    r"""*html* written for a page in the root directory, for *pagename*.

    Each relative link becomes what Sphinx's ``pathto`` gives on *pagename*: from
    ``blog/tag/t``, ``posts/a.html`` is ``../../posts/a.html``; from ``posts/b``
    it is ``a.html``.

    >>> from types import SimpleNamespace as NS
    >>> app = NS(builder=NS(get_target_uri=lambda doc: doc + ".html"))
    >>> print(rebase(app, '<a href="posts/a.html#x">a</a> <a href="#y">y</a>\n'
    ...       '<a href="https://x.org/">x</a> <img src="_images/p.png">', "blog/tag/t"))
    <a href="../../posts/a.html#x">a</a> <a href="#y">y</a>
    <a href="https://x.org/">x</a> <img src="../../_images/p.png">
    >>> rebase(app, '<a href="posts/a.html">a</a> <a href="index.html">i</a>', "posts/b")
    '<a href="a.html">a</a> <a href="../index.html">i</a>'
    """
    page_dir = app.builder.get_target_uri(pagename).rpartition("/")[0]
    if not page_dir:
        return html
    return RELATIVE_URL.sub(lambda m: f'{m[1]}{_relative(page_dir, m[2])}"', html)


@functools.lru_cache(maxsize=1 << 16)
def _relative(page_dir: str, target: str) -> str:
    """*target* (relative to the root directory) relative to a page in *page_dir*."""
    path, hash_, fragment = target.partition("#")
    # relative to a file in page_dir that no link names
    return relative_uri(f"{page_dir}/\0", path) + hash_ + fragment


def root_pathto(app):
    """Sphinx's ``pathto`` for a page in the root directory that no link points to.

    (A link to the page itself would be ``#``, which is wrong on every other page.)
    """
    builder = app.builder
    base = builder.get_target_uri(app.config.root_doc)

    def pathto(otheruri: str, resource: bool = False, baseuri: str = base) -> str:
        if resource and "://" in otheruri:
            return otheruri
        if not resource:
            otheruri = builder.get_target_uri(otheruri)
        return relative_uri(baseuri, otheruri) or baseuri

    return pathto


def _cache(app) -> dict:
    return per_build(app, "shared_html", dict)


def render_for_root(app, template: str, context: dict, **extra) -> str:
    ctx = {**context, "pagename": app.config.root_doc, "pathto": root_pathto(app), **extra}
    return app.builder.templates.render(template, ctx)


def share_sidebars(app, pagename, templatename, context, doctree) -> None:
    """Put the shared sidebar templates, rendered once, in one slot of the sidebar."""
    names = context.get("sidebars")
    shared = app.config.shared_sidebar_templates
    if not names or not set(shared) & set(names):
        return
    cache = _cache(app)
    if "sidebar" not in cache:
        parts = (render_for_root(app, name, context) for name in names if name in shared)
        # each in its own item, as the theme's sidebar-primary.html puts each
        # template; like the theme, leave out those that render empty
        cache["sidebar"] = ITEM_BREAK.join(part for part in parts if part.strip())
    context["mlnotes_shared_sidebar"] = Markup(rebase(app, cache["sidebar"], pagename))
    slotted = []
    for name in names:
        if name not in shared:
            slotted.append(name)
        elif SLOT not in slotted:
            slotted.append(SLOT)
    context["sidebars"] = slotted


def share_post_cards(app, pagename, templatename, context, doctree) -> None:
    """``mlnotes_post_card(post)`` for ABlog's collection pages."""
    if templatename != "ablog/collection.html":
        return
    cache = _cache(app).setdefault("cards", {})

    def post_card(post) -> Markup:
        key = (post.docname, post.section)
        if key not in cache:
            cache[key] = render_for_root(app, "ablog/mlnotes-post-card.html", context, post=post)
        return Markup(rebase(app, cache[key], pagename))

    context["mlnotes_post_card"] = post_card


def setup(app):
    # after ABlog's and our blog's page context (the templates read it), before the
    # theme checks which sidebar templates render empty
    app.setup_extension("mlnotes_blog")
    app.setup_extension("mlnotes_linkgraph")   # per-build caches
    app.add_config_value("shared_sidebar_templates", [], "html", types=frozenset({list}))
    app.connect("html-page-context", share_sidebars)
    app.connect("html-page-context", share_post_cards)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
