"""ABlog, fixed for this site: what ABlog 0.11.13 gets wrong or lacks, each on its own.

* **A registry per build.**  ABlog keeps its post registry in a class attribute shared
  by every Sphinx application in the process (``ablog.blog.Blog._dict``): a second build
  in one process (tests, sphinx-autobuild) saw the first build's posts and application.
  It is cleared at ``builder-inited``, before ABlog's own handler, and the categories
  of ``blog_categories`` are created up front, in that order, with their Chinese names
  and ASCII URLs (ABlog would create them as posts name them, named after the label).
* **Parallel reading.**  ABlog declares itself not parallel-read safe because it never
  merges the posts its readers recorded (sunpy/ablog#327, #330): the missing
  ``env-merge-info`` handler is here, and ABlog's declaration is overridden.
* **Front-matter excerpts.**  A post's ``excerpt`` in its front matter replaces ABlog's
  first paragraph, and ABlog's copy of every post's whole document tree, kept for
  full-text feeds, is dropped when the feeds carry excerpts.
* **Catalog counts** for ``_templates/ablog/catalog.html``: each collection with its
  number of posts, most first.

Incremental builds of ABlog's pages (which pages and feeds to write again) are
``mlnotes_blog``'s job; the line under each post's title is ``mlnotes_post_info``'s.
"""

from __future__ import annotations

from docutils import nodes
from mlnotes_core import post_records

__version__ = "1.0"


def reset_blog(app) -> None:
    """Give this build a fresh ABlog registry, with our categories in it."""
    from ablog.blog import Blog, Collection, os_path_join, slugify

    Blog._dict.clear()
    blog = Blog(app)
    for label, name in app.config.blog_categories.items():
        path = os_path_join(blog.category.path, slugify(label))
        blog.category[label] = Collection(blog.category, label, name, path=path)


def reset_blog_each_build(app, env, docnames) -> None:
    reset_blog(app)


def use_front_matter_excerpt(app, doctree) -> None:
    """Replace ABlog's automatic excerpt (first paragraph) by the front matter's.

    Also drop the copy of the whole post that ABlog keeps in the environment for
    full-text feeds when the feeds carry excerpts (``blog_feed_fulltext = False``):
    nothing else reads it, and with it the environment holds every post twice over
    (at 1,000 posts a ``-j 2`` build ran out of memory merging the readers' copies).
    """
    env = app.env
    infos = getattr(env, "ablog_posts", {}).get(env.docname, [])
    if not app.config.blog_feed_fulltext:
        for info in infos:
            info["doctree"] = None
    meta = post_records(env).get(env.docname)
    if not meta or not meta.get("excerpt"):
        return
    for info in infos:
        info["excerpt"] = [nodes.paragraph(meta["excerpt"], meta["excerpt"])]


def merge_ablog_posts(app, env, docnames, other) -> None:
    """ABlog's missing ``env-merge-info``: bring in posts read by a parallel worker.

    ABlog keeps each post in ``env.ablog_posts`` (purged per document by its own
    ``env-purge-doc`` handler) and writes its labels into the standard domain,
    which Sphinx merges itself.  This handler is all ABlog lacks to be
    parallel-read safe (sunpy/ablog#327, #330), so this extension declares it so.
    """
    if not hasattr(env, "ablog_posts"):
        env.ablog_posts = {}
    for docname in docnames:
        if docname in getattr(other, "ablog_posts", {}):
            env.ablog_posts[docname] = other.ablog_posts[docname]


def declare_ablog_parallel_safe(app, config) -> None:
    app.extensions["ablog"].parallel_read_safe = True


def catalog_counts(app, pagename, templatename, context, doctree) -> None:
    """The catalog pages' overview: each collection with its number of posts."""
    if templatename == "ablog/catalog.html":
        collections = [c for c in context["catalog"] if len(c)]
        context["catalog_counts"] = sorted(((len(c), c) for c in collections),
                                           key=lambda item: (-item[0], str(item[1])))


def setup(app):
    app.setup_extension("ablog")
    app.setup_extension("mlnotes_frontmatter")
    app.connect("env-merge-info", merge_ablog_posts)
    app.connect("config-inited", declare_ablog_parallel_safe)
    app.connect("builder-inited", reset_blog, priority=400)
    app.connect("env-before-read-docs", reset_blog_each_build, priority=100)
    app.connect("doctree-read", use_front_matter_excerpt, priority=600)
    app.connect("html-page-context", catalog_counts)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
