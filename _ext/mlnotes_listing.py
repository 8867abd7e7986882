"""Which of the blog's generated pages a build writes again: the listing machinery.

Not an extension (no ``setup()``): ``mlnotes_blog`` (ABlog's archive pages and feeds) and
``mlnotes_frontpage`` (the numbered front pages) share it, and call :func:`track_listing`
from their ``setup()`` to connect its handlers once.

* Each generated page and feed records what it lists (:func:`shows_other_posts`: the
  posts, in order), and each post's entry what the lists show of it
  (:func:`entry_fingerprint`), in a marker in the output directory
  (``.mlnotes-blog-pages.json``) written after every successful HTML build.
* The next build writes a page again only when its list or one of its entries changed
  (:func:`changed_posts`, :func:`lists_changed`), and every one when the marker is stale:
  a changed template, configuration (the environment's, or the HTML builder's
  ``BuildInfo``), or a change to the categories the sidebar lists (:func:`sidebar_changed`).
* A page or feed the last build made and this one does not (a tag no post has any more,
  a front page past the last) is removed (:func:`prune_generated_pages`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mlnotes_core import (
    code_version,
    link_texts,
    per_build,
    post_records,
    remove_output,
    site_data,
    state,
    track_builds,
)

MARKER = ".mlnotes-blog-pages.json"


def listing_signature(env) -> list[tuple]:
    """What the blog's lists and sidebars show of each post (not its body)."""
    posts = post_records(env)
    return sorted(
        (docname, meta.get("title"), str(meta.get("date")), meta.get("category"),
         tuple(meta.get("tags", ())), meta.get("author"))
        for docname, meta in posts.items()
    )


def changed_since_last_build(app, env, name: str, signature) -> bool:
    """Whether ``signature()`` differs from what the last build kept in the environment
    under *name*; the new one is kept.  Computed once per build (the documents are all
    read)."""
    def compare() -> bool:
        store = site_data(env, "signatures")
        old, new = store.get(name), signature()
        store[name] = new
        return old is not None and old != new

    return per_build(app, name, compare)


def listing_changed(app, env) -> bool:
    return changed_since_last_build(app, env, "listing", lambda: listing_signature(env))


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


def _marker_file(app) -> dict | None:
    """The marker as the last successful build left it, valid or not (None: no readable
    marker); read once per build, for :func:`stored_marker` and the pruning."""
    def load() -> dict | None:
        try:
            stored = json.loads(Path(app.outdir, MARKER).read_text())
            stored["entries"], stored.setdefault("shown", {})
            return stored
        except (OSError, ValueError, KeyError, TypeError):
            return None

    return per_build(app, "marker_file", load)


def stored_marker(app) -> dict | None:
    """The marker of the last successful build, if it is still valid for this one."""
    def valid() -> dict | None:
        from sphinx.environment import CONFIG_OK

        stored = _marker_file(app)
        try:
            # a changed template or configuration changes every generated page too: the
            # environment's configuration, and the HTML builder's (``html_*`` values, theme
            # options: Sphinx then writes every document again, sphinx-doc/sphinx's
            # BuildInfo), which the environment does not see
            if stored is not None and app.env.config_status == CONFIG_OK and \
                    stored.get("build_info") == _build_info(app) and \
                    stored.get("code") == listing_code() and \
                    Path(app.outdir, MARKER).stat().st_mtime >= app.builder.templates.newest_template_mtime():
                return stored
        except OSError:
            pass
        return None

    return per_build(app, "stored_marker", valid)


def listing_code() -> str:
    """The code that decides and renders what the generated pages list: a marker written by
    other code is stale (every generated page is written again)."""
    here = Path(__file__)
    return code_version(str(here), str(here.with_name("mlnotes_blog.py")),
                        str(here.with_name("mlnotes_frontpage.py")))


def _build_info(app) -> str | None:
    """The HTML builder's hash of its configuration and tags (what ``.buildinfo`` records)."""
    info = getattr(app.builder, "build_info", None)
    return f"{info.config_hash}:{info.tags_hash}" if info is not None else None


def _compare_entries(app) -> tuple[set[str] | None, dict[str, str]]:
    stored = stored_marker(app)
    if stored is None or sidebar_changed(app, app.env):   # every page is written again
        return None, {}
    entries = stored["entries"]
    posts = set(post_records(app.env))
    read = state(app).read_docs & posts
    fresh = {doc: entry_fingerprint(app.env, doc) for doc in read}
    changed = {doc for doc in read if fresh[doc] != entries.get(doc)} | (set(entries) - posts)
    relinked = state(app).relinked_posts & posts
    if relinked:  # their excerpts link to a page read again: did its title change?
        changed |= relinked & set(link_texts(app, app.env))
    return changed, {doc: entry for doc, entry in {**entries, **fresh}.items() if doc in posts}


def shows_other_posts(app, key: str, shown: list) -> bool:
    """Whether the generated page or feed *key* lists other posts, or the same posts in
    another order, than the last build's (``shown``: what it lists, as strings).  What
    it lists now is recorded for the next build's marker."""
    digest = hashlib.sha256(json.dumps(shown, ensure_ascii=False, default=str).encode()).hexdigest()[:16]
    per_build(app, "shown", dict)[key] = digest
    stored = stored_marker(app)
    return stored is None or stored["shown"].get(key) != digest


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
    previous = set((_marker_file(app) or {}).get("shown", ()))
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
            {doc: entry_fingerprint(app.env, doc) for doc in post_records(app.env)}
        # what this build generates, each page and feed (the others were just pruned)
        shown = per_build(app, "shown", dict)
        Path(app.outdir, MARKER).write_text(json.dumps(
            {"entries": entries, "shown": shown, "build_info": _build_info(app), "code": listing_code()},
            sort_keys=True, ensure_ascii=False))
    elif exc is not None:
        Path(app.outdir, MARKER).unlink(missing_ok=True)


def sidebar_signature(env) -> tuple[str, ...]:
    """What the sidebar every page carries shows of the posts: the categories that have
    one (``_templates/mlnotes-categories.html``), nothing else."""
    posts = post_records(env)
    return tuple(sorted({meta["category"] for meta in posts.values() if meta.get("category")}))


def sidebar_changed(app, env) -> bool:
    return changed_since_last_build(app, env, "sidebar", lambda: sidebar_signature(env))


def forget_relinked(app, exc) -> None:
    """The posts whose excerpts link to a page read again are this build's."""
    state(app).relinked_posts = set()


def track_listing(app) -> None:
    """Connect the handlers behind the marker, once per application."""
    if state(app).listing:
        return
    state(app).listing = True
    track_builds(app)   # state(app).read_docs
    # before the sitemap (400) and the search index (500), which read the output
    app.connect("build-finished", prune_generated_pages, priority=300)
    app.connect("build-finished", write_marker)
    app.connect("build-finished", forget_relinked, priority=900)
