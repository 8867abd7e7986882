"""The PDF book: its table of contents is generated, for LaTeX only.

``.. book-contents::`` in ``book.rst`` (the root document of the LaTeX build)
expands to

* one part per category (in the order of ``blog_categories``), holding that
  category's published posts as chapters, oldest first;
* a part for the concept pages and one for the API reference;
* the bibliography: every entry of the bibliography files, which Sphinx's LaTeX
  writer gathers into one list at the end of the book.

All of it sits inside ``.. only:: latex``, so the web site is unchanged.  The
posts are read from their front matter at the time ``book.rst`` is read, and
``book.rst`` is read again whenever a page is added or removed, or a post changes
category or date.

For builders other than HTML, this extension also drops the per-post
"参考文献" sections: there the citations are footnotes and the list at the end.

The book's table of contents also makes ``book`` the parent of every post in the
toctrees (``env.toctree_includes``), which the HTML theme reads to decide the sidebar of
each page (pydata-sphinx-theme's ``suppress_sidebar_toctree``), and Sphinx's navigation
gives pages a previous and next page (``env.collect_relations``).  Sphinx writes only
the pages whose source changed (sphinx-doc/sphinx#5506, Sphinx 9.0.4), so the pages
whose parents or neighbours changed (a post added to or moved in the book) are written
again here.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from mlnotes_core import changed_views, post_records, track_builds
from sphinx import addnodes
from sphinx.util import logging

__version__ = "1.0"
# Bump when the doctrees or env data this extension stores change shape, so that
# Sphinx discards pickled environments made by an older version.
ENV_VERSION = 1

logger = logging.getLogger(__name__)

REFERENCES_TITLE = "参考文献"
GRAPH_DOC = "graph"  # the page with the concept graph (mlnotes_graph)


def _toctree(docname: str, entries: list[str]) -> addnodes.toctree:
    node = addnodes.toctree()
    node["parent"] = docname
    node["entries"] = [(None, entry) for entry in entries]
    node["includefiles"] = list(entries)
    node["maxdepth"] = -1
    node["glob"] = False
    node["hidden"] = True
    node["includehidden"] = False
    node["numbered"] = 0
    node["titlesonly"] = False
    node["caption"] = None
    node["rawentries"] = []
    return node


def _part(title: str) -> nodes.raw:
    return nodes.raw("", f"\\part{{{title}}}\n", format="latex")


def front_matter(env, docname: str) -> dict | None:
    """A post's metadata read from its file now (None when it cannot be read)."""
    from mlnotes_postfile import parse_post

    config = env.config
    text = Path(env.doc2path(docname)).read_text(encoding="utf-8")
    meta, errors = parse_post(text, categories=config.blog_categories, authors=config.blog_authors)
    return None if any(e.fatal for e in errors) else meta


def published_posts(env) -> list[tuple[str, dict]]:
    """(docname, metadata) of every post that will be built, from front matter."""
    posts = []
    for docname in sorted(set(env.config.matched_blog_posts) & env.found_docs):
        meta = front_matter(env, docname)
        if meta is not None:
            posts.append((docname, meta))
    return posts


class BookContents(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        docname = env.docname
        only = addnodes.only(expr="latex")
        by_category: dict[str, list[tuple]] = {}
        for post, meta in published_posts(env):
            if meta.get("category"):
                by_category.setdefault(meta["category"], []).append((meta["date"], post))
        for category, label in env.config.blog_categories.items():
            if category in by_category:
                posts = [post for _, post in sorted(by_category[category])]
                only += [_part(label), _toctree(docname, posts)]
        for title, prefix in (("概念", "concepts/"), ("API 参考", "api/")):
            docs = sorted(d for d in env.found_docs
                          if d.startswith(prefix) and d != prefix + "index")
            if prefix == "concepts/" and GRAPH_DOC in env.found_docs:
                docs.insert(0, GRAPH_DOC)  # the concept graph opens the concepts part
            if docs:
                only += [_part(title), _toctree(docname, docs)]
        # Back matter (bibliography, index) goes to the root of the PDF bookmarks,
        # not under the last part.
        only += nodes.raw("", "\\bookmarksetup{startatroot}\n", format="latex")
        # The bibliography directive of sphinxcontrib-bibtex, parsed in place.
        from docutils.statemachine import StringList

        self.state.nested_parse(StringList(["", ".. bibliography::", "   :all:", ""]),
                                self.content_offset, only)
        return [only]


def book_outdated(app, env, added, changed, removed) -> list[str]:
    """Re-read the book's root documents when a page comes or goes, or a post's place
    in the book (its category, its date) changes; an edit to a post's text leaves
    the table of contents as it was."""
    roots = sorted({entry[0] for entry in app.config.latex_documents} & env.found_docs)
    if set(added) | set(removed):
        return roots
    known = post_records(env)
    for docname in sorted(set(changed) & set(app.config.matched_blog_posts)):
        meta, old = front_matter(env, docname), known.get(docname)
        if meta is None or old is None or \
                (meta.get("category"), meta.get("date")) != (old.get("category"), old.get("date")):
            return roots
    return []


def relation_pages(app, env) -> list[str]:
    """The pages whose parents in the toctrees, or whose previous or next page (or its
    title), changed."""
    if app.builder.format != "html":
        return []

    def views() -> dict[str, tuple]:
        def named(doc):
            return (doc, env.titles[doc].astext() if doc in env.titles else "") if doc else None

        views: dict[str, tuple] = {doc: (tuple(named(other) for other in related),)
                                   for doc, related in env.collect_relations().items()}
        for parent, children in sorted(env.toctree_includes.items()):
            for child in children:
                views[child] = views.get(child, ()) + (parent,)
        return views

    return changed_views(app, env, "relations", views)


def drop_reference_sections(app, doctree, docname) -> None:
    """Outside HTML the per-post reference lists are footnotes: drop the empty heading."""
    if app.builder.format == "html":
        return
    for section in list(doctree.findall(nodes.section)):
        title = section.next_node(nodes.title)
        if title is None or title.astext() != REFERENCES_TITLE:
            continue
        rest = [child for child in section.children if child is not title]
        if all(not child.astext().strip() for child in rest):
            section.parent.remove(section)


def setup(app):
    track_builds(app)   # per-build state and view tracking (mlnotes_core)
    app.setup_extension("mlnotes_frontmatter")
    app.add_directive("book-contents", BookContents)
    app.connect("env-get-outdated", book_outdated)
    app.connect("env-get-updated", relation_pages)
    app.connect("doctree-resolved", drop_reference_sections)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
