"""ABlog's pages, incremental: which pages and feeds a build writes again, and why.

ABlog renders post lists, archives, feeds, sidebars and each post's links to the
previous and next post at write time, from its registry; Sphinx writes again only the
pages whose source changed, so these went stale on incremental builds (the class of
bug in sunpy/ablog#316).  ABlog's own bugs are fixed in ``mlnotes_ablog_fixes``.

This extension tells Sphinx which pages to write again:

* when the categories that have posts change, every page, since every page's
  sidebar lists them (``_templates/mlnotes-categories.html``; the sidebar shows no
  list of posts or tags, so that adding a post does not rewrite the site);
* the posts whose previous or next post (ABlog's links at the foot of a post)
  changed: the neighbours of a post added, removed or re-dated;
* when a post's entry in the lists changes (its excerpt, or other metadata
  ABlog shows), the pages that list it: the front page, its archive pages and
  feeds; a post whose edit leaves its entry as it was is written alone.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
from pathlib import Path
from urllib.parse import urljoin

from mlnotes_core import (
    add_speed_switch,
    changed_views,
    code_version,
    rebase,
    speed_patches_on,
    state,
    track_builds,
)
from mlnotes_listing import (
    changed_posts,
    listing_changed,
    lists_changed,
    shows_other_posts,
    sidebar_changed,
    stored_marker,
    track_listing,
)
from sphinx.util import logging

__version__ = "1.0"
# Bump when the doctrees or env data this extension stores change shape, so that
# Sphinx discards pickled environments made by an older version.
ENV_VERSION = 8

logger = logging.getLogger(__name__)


# -- archive pages and feeds: render each excerpt once, skip when unchanged -------

IMAGE_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")_images/')


EXCERPT_OPEN = '<p class="ablog-post-excerpt">'


def excerpt_block(html: str) -> str:
    """ABlog wraps an excerpt's paragraphs in one more paragraph, and a ``<p>`` inside a
    ``<p>`` is invalid HTML that browsers split apart; make the wrapper a ``<div>``."""
    body = html.strip()
    if body.startswith(EXCERPT_OPEN) and body.endswith("</p>"):
        return '<div class="ablog-post-excerpt">' + body[len(EXCERPT_OPEN):-len("</p>")] + "</div>\n"
    return html


def memoize_to_html(app) -> None:
    """Render each post's excerpt once, not once per page and feed that lists it.

    ABlog's ``Post.to_html(pagename)`` builds a new docutils document, resolves
    references and runs every post-transform for each call: about 9 ms, and a
    post is listed on the blog page, its category, tag and year pages and their
    feeds.  Here an excerpt is rendered once relative to the root and its relative
    links are re-based for the page asking (feeds ask for absolute image addresses,
    ``img_url``: the same rendering with its ``_images/`` made absolute).

    The renderings are kept from build to build (``mlnotes-excerpts.pickle`` in the
    doctree directory; the environment is pickled before pages are written, so it
    cannot hold them): one edited post must not re-render the excerpts of the
    hundreds of posts on the tag and year pages that list it.  An excerpt is
    dropped when its post is read again, when the blog's listing changes (titles
    in links), when the configuration changes, and when a document it links to
    is read again or removed (a link's title or target may have changed).

    With the speed patches off (``mlnotes_core``) each excerpt is rendered by ABlog for
    each page that shows it, and only its markup is fixed (:func:`excerpt_block`).
    """
    from ablog.blog import Post

    if getattr(Post.to_html, "mlnotes_memo", False):
        return
    original = Post.to_html
    if not speed_patches_on(app.config):   # the markup fix alone (mlnotes_core)
        def plain_to_html(self, pagename, fulltext=False, drop_h1=True, img_url=False):
            html = original(self, pagename, fulltext, drop_h1, img_url)
            return html if fulltext else excerpt_block(html)

        plain_to_html.mlnotes_memo = True
        Post.to_html = plain_to_html
        return

    def to_html(self, pagename, fulltext=False, drop_h1=True, img_url=False):
        app = self._blog.app
        if fulltext:
            return original(self, pagename, fulltext, drop_h1, img_url)
        cache = excerpts(app).setdefault(self.docname, {})
        key = (self.section, drop_h1)
        if key not in cache:
            html = excerpt_block(original(self, app.config.root_doc, fulltext, drop_h1))
            cache[key] = (html, linked_docs(app, html))
        html = cache[key][0]
        if img_url and app.config.blog_baseurl:
            # what ABlog's img_url does (feeds): images at their absolute address
            images = urljoin(app.config.blog_baseurl, "_images") + "/"
            html = IMAGE_SRC.sub(lambda m: m[1] + images, html)
        return rebase(app, html, pagename)

    to_html.mlnotes_memo = True
    Post.to_html = to_html


EXCERPTS = "mlnotes-excerpts.pickle"


def excerpts_version() -> str:
    """ABlog's version (it renders them) and this module's code."""
    import ablog

    return f"{ENV_VERSION}:{ablog.__version__}:{code_version(__file__)}"


def excerpts(app) -> dict[str, dict[tuple, tuple[str, bool]]]:
    """Post -> {(section, drop_h1): (excerpt HTML, the documents it links to)}."""
    current = state(app)
    if current.excerpts is None:
        from sphinx.environment import CONFIG_OK

        current.excerpts = {}
        if app.env.config_status == CONFIG_OK:
            try:
                with open(Path(app.doctreedir, EXCERPTS), "rb") as f:
                    stored = pickle.load(f)
                if stored.get("version") == excerpts_version():
                    current.excerpts = stored["excerpts"]
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, KeyError):
                pass
    return current.excerpts


INTERNAL_HREF = re.compile(r'<a class="reference internal" href="([^"#]*)')


def linked_docs(app, html: str) -> frozenset[str]:
    """The documents a root-relative excerpt links to."""
    suffix = app.builder.out_suffix
    return frozenset(href.removesuffix(suffix) for href in INTERNAL_HREF.findall(html) if href)


def purge_excerpt(app, env, docname) -> None:
    """A document read again or removed: its excerpt and those linking to it go."""
    cache = excerpts(app)
    cache.pop(docname, None)
    for post, entries in cache.items():
        if any(docname in links for _, links in entries.values()):
            cache[post] = {key: value for key, value in entries.items() if docname not in value[1]}
            # its entries in the lists may show a new title for the link
            state(app).relinked_posts.add(post)


def save_excerpts(app, exc) -> None:
    if exc is None and app.builder.format == "html" and state(app).excerpts is not None:
        with open(Path(app.doctreedir, EXCERPTS), "wb") as f:
            pickle.dump({"version": excerpts_version(), "excerpts": state(app).excerpts}, f)


def _listed(context: dict) -> tuple[list, list[str]]:
    """What an ABlog archive page shows: the posts whose whole entry (excerpt and all)
    it shows, and the list itself, as strings."""
    if context.get("collection") is not None:
        posts = list(context["collection"])
        return posts, [post.docname for post in posts]
    if context.get("catalog") is not None:   # each collection's posts: date and title only
        return [], [f"{coll}:{post.docname}:{post.published}:{post.date}:{post.title}"
                    for coll in context["catalog"] if len(coll) for post in coll]
    if context.get("post") is not None:   # a redirect page: a link
        return [], [context["post"].docname]
    return [], []


def archive_pages(app):
    """ABlog's archive pages, leaving out those whose posts did not change."""
    from ablog.post import generate_archive_pages

    changed = changed_posts(app)
    for pagename, context, template in generate_archive_pages(app):
        posts, shown = _listed(context)
        other = shows_other_posts(app, f"page:{pagename}", [template, *shown])
        if other or changed is None or lists_changed(posts, changed):
            yield pagename, context, template


def atom_feeds(app):
    """ABlog's feeds, written only for the collections whose posts changed."""
    from ablog.blog import Blog
    from ablog.post import generate_atom_feeds, register_posts

    changed = changed_posts(app)
    blog = Blog(app)
    if not blog:
        register_posts(app)
    catalogs = [*blog.catalogs.values(), blog.archive]
    saved = {catalog: catalog.collections for catalog in catalogs}
    redo = {catalog: {key: coll for key, coll in catalog.collections.items()
                      if shows_other_posts(app, f"feed:{coll.path}", [post.docname for post in coll])
                      | lists_changed(coll, changed)}
            for catalog in catalogs}
    if changed is not None and not changed and not any(redo.values()):
        return
    if changed is not None:   # ABlog iterates catalog.collections: show it only those to redo
        for catalog in catalogs:
            catalog.collections = redo[catalog]
    try:
        yield from generate_atom_feeds(app)
    finally:
        for catalog, collections in saved.items():
            catalog.collections = collections
    stable_feed_dates(app)


FEED_UPDATED = re.compile(r"<feed\b.*?<updated>([^<]*)</updated>", re.S)
ENTRY_UPDATED = re.compile(r"<entry>.*?<updated>([^<]*)</updated>", re.S)


def stable_feed_dates(app) -> None:
    """A feed's own ``<updated>`` is its newest entry's, not the time of the build.

    feedgen stamps every feed with the current time, so two builds of one commit
    differed in every atom.xml; the newest post's date is what Atom means by it.
    """
    for path in Path(app.outdir, app.config.blog_path).rglob("atom.xml"):
        text = path.read_text(encoding="utf-8")
        dates, feed = ENTRY_UPDATED.findall(text), FEED_UPDATED.search(text)
        if not dates or not feed:
            continue
        newest = max(dates, key=dt.datetime.fromisoformat)
        fixed = text[:feed.start(1)] + newest + text[feed.end(1):]
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")


def wrap_ablog_page_generators(app) -> None:
    from ablog.post import generate_archive_pages, generate_atom_feeds

    ours = {generate_archive_pages: archive_pages, generate_atom_feeds: atom_feeds}
    for listener in list(app.events.listeners["html-collect-pages"]):
        if listener.handler in ours:
            app.disconnect(listener.id)
            app.connect("html-collect-pages", ours[listener.handler], priority=listener.priority)


def neighbours(app) -> dict[str, tuple]:
    """Each post's previous and next post (docname and title), as ABlog links them at
    the foot of the post (``post_show_prev_next``, ABlog's ``link_posts``: published
    posts in date order)."""
    from ablog.blog import Blog
    from ablog.post import register_posts

    blog = Blog(app)
    if not blog:
        register_posts(app)
    views: dict[str, tuple] = {}
    for post in blog.posts:
        views.setdefault(post.docname, ())
        views[post.docname] += tuple((p.docname, p.title) if p else None for p in (post.prev, post.next))
    return views


def pages_to_rewrite(app, env) -> list[str]:
    """Every page when its sidebar changed; else the posts whose previous or next post
    changed.  The pages that list posts follow their posts by themselves
    (``changed_posts``: archive pages, feeds, the front page)."""
    if listing_changed(app, env):
        excerpts(app).clear()  # excerpts link to posts by title
    if sidebar_changed(app, env):
        logger.info("the sidebar's categories changed: rewriting every page")
        drop_module_pages(app)
        return sorted(env.found_docs)
    # a changed template or configuration (the marker is then stale): Sphinx writes every
    # document again, and viewcode's pages must follow
    if module_pages_predate_templates(app) or (app.builder.format == "html" and stored_marker(app) is None):
        drop_module_pages(app)
    if app.builder.format != "html" or not app.config.post_show_prev_next:
        return []
    return changed_views(app, env, "post_neighbours", lambda: neighbours(app))


def module_pages_predate_templates(app) -> bool:
    """Whether a template changed since viewcode wrote its source pages.

    Sphinx writes every document again when a template is newer than its page
    (``StandaloneHTMLBuilder.get_outdated_docs``); viewcode's pages only follow
    their module's file, so they kept the old layout.
    """
    templates = getattr(app.builder, "templates", None)
    if app.builder.format != "html" or templates is None:
        return False
    newest = templates.newest_template_mtime()
    return any(page.stat().st_mtime < newest for page in Path(app.outdir, "_modules").rglob("*.html"))


def drop_module_pages(app) -> None:
    """Make viewcode write its source pages again: their sidebars show the categories too.

    ``sphinx.ext.viewcode`` skips a module's page when it is newer than the
    module's file, whatever else the page shows.
    """
    if app.builder.format == "html":
        for page in Path(app.outdir, "_modules").rglob("*.html"):
            page.unlink()


def setup(app):
    track_builds(app)   # per-build state and view tracking (mlnotes_core)
    add_speed_switch(app)
    app.setup_extension("mlnotes_ablog_fixes")
    app.setup_extension("mlnotes_post_info")
    app.setup_extension("mlnotes_linkgraph")
    track_listing(app)   # the marker of what each generated page lists (mlnotes_listing)
    app.connect("env-get-updated", pages_to_rewrite)
    app.connect("builder-inited", memoize_to_html)
    app.connect("env-purge-doc", purge_excerpt)
    app.connect("build-finished", save_excerpts)
    wrap_ablog_page_generators(app)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
