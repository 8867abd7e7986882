"""Backlinks: every knowledge page lists the pages that link to it (被引用).

A post, concept page or API page gets a "被引用" box at its end naming, with
titles, the other knowledge pages that cross-reference it; every documented
function or class of the reference code gets a "讲解" line naming the pages that
link to it or show its code.  Both are views of the link graph
(:mod:`mlnotes_linkgraph`); when a link is added or removed, the page that gains
or loses a backlink is written again on the next incremental build, without
being re-read.
"""

from __future__ import annotations

from docutils import nodes
from mlnotes_core import changed_views, graph, is_knowledge_page, link_list, post_records, title, track_builds
from sphinx import addnodes

__version__ = "1.0"


def sort_pages(env, docnames) -> list[str]:
    """Newest post first, then other pages by title: a stable, meaningful order."""
    posts = post_records(env)

    def key(doc):
        date = posts.get(doc, {}).get("date")
        return (date is None, -(date.toordinal() if date else 0), title(env, doc), doc)

    return sorted(docnames, key=key)


def views(app) -> dict[str, tuple]:
    g = graph(app)
    objects = app.env.domains.python_domain.objects
    api: dict[str, list] = {}
    for name, pages in g.explained.items():
        if name in objects:
            api.setdefault(objects[name].docname, []).append(
                (name, tuple((d, title(app.env, d)) for d in sort_pages(app.env, pages))))
    api = {doc: tuple(sorted(entries)) for doc, entries in api.items()}
    return {doc: (tuple((d, title(app.env, d)) for d in sort_pages(app.env, g.into[doc])),
                  api.get(doc, ()))
            for doc in g.pages}


def pages_to_rewrite(app, env) -> list[str]:
    return changed_views(app, env, "backlinks", lambda: views(app))


def explained_in(app, fromdoc: str, pages: list[str], label: str = "讲解：") -> nodes.paragraph:
    para = nodes.paragraph(classes=["mlnotes-explained-in", "no-search"])
    para += nodes.strong(label, label)
    for i, doc in enumerate(pages):
        if i:
            para += nodes.Text("、")
        uri = app.builder.get_relative_uri(fromdoc, doc)
        para += nodes.reference("", title(app.env, doc), internal=True, refuri=uri)
    return para


def add_backlinks(app, doctree, docname: str) -> None:
    if app.builder.format != "html" or not is_knowledge_page(app, docname):
        return
    g = graph(app)
    py = app.env.domains.python_domain
    # Only prose explains: an API page naming another function is not its explanation.
    api_pages = {entry.docname for entry in py.objects.values()}

    def explainers(pages):
        return set(pages) - api_pages - {docname}

    # The pages that explain anything documented on this page: a helper that no
    # post shows or links by itself points to them as the module's explanation.
    page_explained = explainers(set().union(*(
        pages for name, pages in g.explained.items()
        if py.objects.get(name) is not None and py.objects[name].docname == docname)))
    for desc in doctree.findall(addnodes.desc):
        if desc.get("domain") != "py" or desc.get("objtype") not in ("function", "class"):
            continue
        for sig in desc.findall(addnodes.desc_signature):
            name = ".".join(filter(None, (sig.get("module"), sig.get("fullname"))))
            entry = py.objects.get(name)
            if entry is None or entry.docname != docname:
                break
            pages = sort_pages(app.env, explainers(g.explained.get(name, ())))
            label = "讲解："
            if not pages:
                pages, label = sort_pages(app.env, page_explained), "所在模块的讲解："
            content = next(iter(desc.findall(addnodes.desc_content)), None)
            if pages and content is not None:
                content += explained_in(app, docname, pages, label)
            break  # one line per entry, from its first signature
    referrers = sort_pages(app.env, g.into.get(docname, ()))
    if referrers:
        doctree += link_list(app, docname, referrers, ["mlnotes-backlinks"], "被引用")


def setup(app):
    track_builds(app)   # per-build state and view tracking (mlnotes_core)
    app.setup_extension("mlnotes_linkgraph")
    app.connect("env-get-updated", pages_to_rewrite)
    app.connect("doctree-resolved", add_backlinks)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
