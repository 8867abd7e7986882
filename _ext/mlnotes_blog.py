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
import hashlib
import json
import pickle
import re
from pathlib import Path
from urllib.parse import urljoin

from mlnotes_ablog_fixes import excerpt_block
from mlnotes_core import (
    add_speed_switch,
    changed_views,
    per_build,
    rebase,
    remove_output,
    speed_patches_on,
    track_builds,
)
from sphinx.util import logging

__version__ = "1.0"
# Bump when the doctrees or env data this extension stores change shape, so that
# Sphinx discards pickled environments made by an older version.
ENV_VERSION = 7

logger = logging.getLogger(__name__)


def listing_signature(env) -> list[tuple]:
    """What the blog's lists and sidebars show of each post (not its body)."""
    posts = getattr(env, "mlnotes_posts", {})
    return sorted(
        (docname, meta.get("title"), str(meta.get("date")), meta.get("category"),
         tuple(meta.get("tags", ())), meta.get("author"))
        for docname, meta in posts.items()
    )


def remember_read_docs(app, env, docnames) -> None:
    app.mlnotes_read_docs = set(docnames)


def changed_since_last_build(app, env, name: str, signature) -> bool:
    """Whether ``signature()`` differs from what the last build kept in the environment
    under *name*; the new one is kept.  Computed once per build (the documents are all
    read)."""
    def compare() -> bool:
        old, new = getattr(env, name, None), signature()
        setattr(env, name, new)
        return old is not None and old != new

    return per_build(app, name, compare)


def listing_changed(app, env) -> bool:
    return changed_since_last_build(app, env, "mlnotes_listing_signature", lambda: listing_signature(env))


# -- archive pages and feeds: render each excerpt once, skip when unchanged -------

MARKER = ".mlnotes-blog-pages.json"
IMAGE_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")_images/')


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


def excerpts(app) -> dict[str, dict[tuple, tuple[str, bool]]]:
    """Post -> {(section, drop_h1): (excerpt HTML, the documents it links to)}."""
    if not hasattr(app, "_mlnotes_excerpts"):
        from sphinx.environment import CONFIG_OK

        app._mlnotes_excerpts = {}
        if app.env.config_status == CONFIG_OK:
            try:
                with open(Path(app.doctreedir, EXCERPTS), "rb") as f:
                    stored = pickle.load(f)
                if stored.get("version") == ENV_VERSION:
                    app._mlnotes_excerpts = stored["excerpts"]
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, KeyError):
                pass
    return app._mlnotes_excerpts


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
            app.__dict__.setdefault("_mlnotes_relinked_posts", set()).add(post)


def save_excerpts(app, exc) -> None:
    if exc is None and app.builder.format == "html" and hasattr(app, "_mlnotes_excerpts"):
        with open(Path(app.doctreedir, EXCERPTS), "wb") as f:
            pickle.dump({"version": ENV_VERSION, "excerpts": app._mlnotes_excerpts}, f)


def entry_fingerprint(env, docname: str) -> str:
    """What the lists and feeds show of a post, before references are resolved.

    ABlog's record of each section posted from *docname* (title, dates, tags,
    author, image ...), with the excerpt's document tree.  The rendered excerpt
    also shows the titles of the pages it links to: a post whose excerpt links
    to a page read again counts as changed anyway (``purge_excerpt``).
    """
    records = [{key: (("".join(node.pformat() for node in value)) if key == "excerpt" else value)
                for key, value in record.items() if key != "doctree"}
               for record in getattr(env, "ablog_posts", {}).get(docname, [])]
    return hashlib.sha256(json.dumps(records, ensure_ascii=False, sort_keys=True,
                                     default=str).encode()).hexdigest()


def changed_posts(app) -> set[str] | None:
    """The posts whose entries on archive pages, feeds and front pages may be stale.

    ``None`` means "all of them": no marker from a successful previous build, a
    template newer than the marker, a changed configuration, or a changed sidebar.  Otherwise the posts
    read in this build whose entry (:func:`entry_fingerprint`: title, date, category,
    tags, excerpt ...) differs from the one the marker records, the posts the marker
    records that are gone, and those whose excerpts link to a page read again that now
    shows another title (``mlnotes_linkgraph.link_texts``); an empty set means every
    such page is current.  A page that lists posts is also written again when the
    list itself changed (:func:`shows_other_posts`: a post joined, left or moved).
    Computed once per build.
    """
    return _changes(app)[0]


def _changes(app) -> tuple[set[str] | None, dict[str, str]]:
    """:func:`changed_posts`, and the entries the marker is to record (empty: all anew)."""
    return per_build(app, "changed_posts", lambda: _compare_entries(app))


def _stored_marker(app) -> dict | None:
    """The marker of the last successful build, if it is still valid for this one."""
    def load() -> dict | None:
        from sphinx.environment import CONFIG_OK

        marker = Path(app.outdir, MARKER)
        try:
            stored = json.loads(marker.read_text())
            stored["entries"], stored.setdefault("shown", {})
            # a changed template or configuration changes every generated page too: the
            # environment's configuration, and the HTML builder's (``html_*`` values, theme
            # options: Sphinx then writes every document again, sphinx-doc/sphinx's
            # BuildInfo), which the environment does not see
            if app.env.config_status == CONFIG_OK and stored.get("build_info") == _build_info(app) and \
                    marker.stat().st_mtime >= app.builder.templates.newest_template_mtime():
                return stored
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    return per_build(app, "stored_marker", load)


def _build_info(app) -> str | None:
    """The HTML builder's hash of its configuration and tags (what ``.buildinfo`` records)."""
    info = getattr(app.builder, "build_info", None)
    return f"{info.config_hash}:{info.tags_hash}" if info is not None else None


def _compare_entries(app) -> tuple[set[str] | None, dict[str, str]]:
    stored = _stored_marker(app)
    if stored is None or sidebar_changed(app, app.env):   # every page is written again
        return None, {}
    entries = stored["entries"]
    posts = set(getattr(app.env, "mlnotes_posts", {}))
    read = getattr(app, "mlnotes_read_docs", set()) & posts
    fresh = {doc: entry_fingerprint(app.env, doc) for doc in read}
    changed = {doc for doc in read if fresh[doc] != entries.get(doc)} | (set(entries) - posts)
    relinked = app.__dict__.get("_mlnotes_relinked_posts", set()) & posts
    if relinked:  # their excerpts link to a page read again: did its title change?
        from mlnotes_linkgraph import link_texts

        changed |= relinked & set(link_texts(app, app.env))
    return changed, {doc: entry for doc, entry in {**entries, **fresh}.items() if doc in posts}


def shows_other_posts(app, key: str, shown: list) -> bool:
    """Whether the generated page or feed *key* lists other posts, or the same posts in
    another order, than the last build's (``shown``: what it lists, as strings).  What
    it lists now is recorded for the next build's marker."""
    digest = hashlib.sha256(json.dumps(shown, ensure_ascii=False, default=str).encode()).hexdigest()[:16]
    per_build(app, "shown", dict)[key] = digest
    stored = _stored_marker(app)
    return stored is None or stored["shown"].get(key) != digest


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


def posts_changed(app, env) -> bool:
    """True when some post's entry in the lists changed in this build."""
    return changed_posts(app) != set()


def lists_changed(posts, changed: set[str] | None) -> bool:
    return changed is None or any(post.docname in changed for post in posts)


def prune_generated_pages(app, exc) -> None:
    """Remove the archive pages, feeds and front pages the last build made and this one
    no longer does (a tag no post has any more, a front page past the last): every page
    and feed generated calls :func:`shows_other_posts`, so the marker's keys are the
    generated output."""
    if exc is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    try:
        previous = set(json.loads((outdir / MARKER).read_text())["shown"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    feeds = getattr(app.config, "blog_feed_templates", None) or {"atom": {}}
    for key in sorted(previous - set(per_build(app, "shown", dict))):
        kind, _, name = key.partition(":")
        if kind == "page":
            remove_output(outdir, Path(app.builder.get_outfilename(name)))
        elif kind == "feed":
            for root in feeds:
                remove_output(outdir, outdir / name / f"{root}.xml")


def write_marker(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        entries = _changes(app)[1] or \
            {doc: entry_fingerprint(app.env, doc) for doc in getattr(app.env, "mlnotes_posts", {})}
        # what this build generates, each page and feed (the others were just pruned)
        shown = per_build(app, "shown", dict)
        Path(app.outdir, MARKER).write_text(json.dumps(
            {"entries": entries, "shown": shown, "build_info": _build_info(app)},
            sort_keys=True, ensure_ascii=False))
    elif exc is not None:
        Path(app.outdir, MARKER).unlink(missing_ok=True)


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


def sidebar_signature(env) -> tuple[str, ...]:
    """What the sidebar every page carries shows of the posts: the categories that have
    one (``_templates/mlnotes-categories.html``), nothing else."""
    posts = getattr(env, "mlnotes_posts", {})
    return tuple(sorted({meta["category"] for meta in posts.values() if meta.get("category")}))


def sidebar_changed(app, env) -> bool:
    return changed_since_last_build(app, env, "mlnotes_sidebar_signature", lambda: sidebar_signature(env))


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
    if module_pages_predate_templates(app) or (app.builder.format == "html" and _stored_marker(app) is None):
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
    app.connect("env-before-read-docs", remember_read_docs)
    app.connect("env-get-updated", pages_to_rewrite)
    app.connect("builder-inited", memoize_to_html)
    app.connect("env-purge-doc", purge_excerpt)
    app.connect("build-finished", save_excerpts)
    # before the sitemap (400) and the search index (500), which read the output
    app.connect("build-finished", prune_generated_pages, priority=300)
    app.connect("build-finished", write_marker)
    wrap_ablog_page_generators(app)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
