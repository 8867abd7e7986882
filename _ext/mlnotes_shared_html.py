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

from markupsafe import Markup
from mlnotes_core import per_build, rebase, track_builds
from sphinx.util.osutil import relative_uri

__version__ = "1.0"

SLOT = "mlnotes-shared-sidebar.html"
#: pydata-sphinx-theme 0.16-0.20 wraps each sidebar template in this element.
ITEM_BREAK = '</div>\n<div class="sidebar-primary-item">'


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
    track_builds(app)   # per-build state and view tracking (mlnotes_core)
    # after ABlog's and our blog's page context (the templates read it), before the
    # theme checks which sidebar templates render empty
    app.setup_extension("mlnotes_blog")
    app.setup_extension("mlnotes_linkgraph")   # per-build caches
    app.add_config_value("shared_sidebar_templates", [], "html", types=frozenset({list}))
    app.connect("html-page-context", share_sidebars)
    app.connect("html-page-context", share_post_cards)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
