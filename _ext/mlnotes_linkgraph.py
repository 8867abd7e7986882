"""The site's link graph: which page links to which, and which page shows which code.

The knowledge-web features (backlinks, related posts, the concept graph, the
"讲解" line of API entries) are all views of one graph.  This extension builds
it the way Sphinx's own collectors keep per-document state:

* while a document is read, :class:`LinkCollector` records the cross-references
  it makes (``pending_xref`` nodes: ``{ref}``, ``{doc}``, ``{eq}``, ``{py:func}``
  ...) and the package functions it shows with ``literalinclude :pyobject:``,
  in ``env.mlnotes_links[docname]``; the data is purged and merged per document,
  so incremental and parallel builds keep it right;
* once every document is read, :func:`graph` resolves those references to target
  documents with the domains' own tables (labels, equations, Python objects).
  It is computed once per build and cached on the application, not stored.

Views that depend on *other* documents (a backlink appears on the target when
the source changes) use :func:`changed_views` from an ``env-get-updated``
handler: it compares each page's view with the previous build's and returns the
pages whose view changed, so Sphinx writes them again without re-reading them;
a build that read and removed nothing skips the comparison.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from mlnotes_core import changed_views, per_build, track_builds
from sphinx import addnodes
from sphinx.directives.code import LiteralInclude
from sphinx.environment.collectors import EnvironmentCollector

__version__ = "1.0"
ENV_VERSION = 1

#: Cross-reference kinds that make an edge of the graph.  Glossary terms do not:
#: every post using a term would otherwise "build on" the glossary page.
EDGE_KINDS = {("std", "ref"), ("std", "doc"), ("math", "eq")}


@dataclass
class DocLinks:
    """What one document refers to, as read (targets not yet resolved)."""

    xrefs: set[tuple[str, str, str]] = field(default_factory=set)  # (domain, type, target)
    shown: set[str] = field(default_factory=set)  # dotted names shown with :pyobject:


@dataclass
class Graph:
    """The resolved graph of one build."""

    pages: set[str]                        # the knowledge pages (posts, concepts, API)
    out: dict[str, set[str]]               # page -> pages it links to
    into: dict[str, set[str]]              # page -> pages linking to it
    explained: dict[str, set[str]]         # Python object -> pages linking to or showing it


class ShowsCode(LiteralInclude):
    """``literalinclude`` that remembers which package object a page shows.

    ``:pyobject: f`` of ``mlnotes/guidance.py`` records ``mlnotes.guidance.f``,
    so that the API entry of ``f`` can point to the posts that show its code.
    """

    def run(self):
        result = super().run()
        pyobject = self.options.get("pyobject")
        if pyobject:
            _, path = self.env.relfn2path(self.arguments[0])
            module = module_name(Path(path), Path(self.env.srcdir))
            if module:
                links(self.env, self.env.docname).shown.add(f"{module}.{pyobject}")
        return result


def module_name(path: Path, srcdir: Path) -> str | None:
    """``mlnotes/guidance.py`` -> ``mlnotes.guidance`` (None outside the source tree)."""
    try:
        rel = path.resolve().relative_to(srcdir.resolve())
    except ValueError:
        return None
    if rel.suffix != ".py":
        return None
    parts = rel.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def links(env, docname: str) -> DocLinks:
    if not hasattr(env, "mlnotes_links"):
        env.mlnotes_links = {}
    return env.mlnotes_links.setdefault(docname, DocLinks())


class LinkCollector(EnvironmentCollector):
    def clear_doc(self, app, env, docname: str) -> None:
        getattr(env, "mlnotes_links", {}).pop(docname, None)

    def merge_other(self, app, env, docnames: set[str], other) -> None:
        for docname in docnames:
            if docname in getattr(other, "mlnotes_links", {}):
                links(env, docname)
                env.mlnotes_links[docname] = other.mlnotes_links[docname]

    def process_doc(self, app, doctree) -> None:
        from sphinx.util import docname_join

        docname = app.env.docname
        record = links(app.env, docname)
        for xref in doctree.findall(addnodes.pending_xref):
            domain, kind = xref.get("refdomain"), xref.get("reftype")
            target = xref.get("reftarget", "")
            if kind == "doc":
                target = docname_join(docname, target)
            elif domain == "py":
                # a {py:func} written without its module resolves in the current
                # module; ours always spell the full dotted name
                target = target.lstrip("~.")
            record.xrefs.add((domain, kind, target))


def is_knowledge_page(app, docname: str) -> bool:
    return any(fnmatch.fnmatch(docname, pattern) for pattern in app.config.knowledge_pages)


def _resolve(env, domain: str, kind: str, target: str) -> str | None:
    """The document a cross-reference points to, or None (external, citation ...)."""
    if (domain, kind) == ("std", "ref"):
        std = env.domains.standard_domain
        entry = std.labels.get(target.lower()) or std.anonlabels.get(target.lower())
        return entry[0] if entry else None
    if (domain, kind) == ("std", "doc"):
        return target if target in env.all_docs else None
    if (domain, kind) == ("math", "eq"):
        entry = env.domains.math_domain.equations.get(target)
        return entry[0] if entry else None
    if domain == "py":
        entry = env.domains.python_domain.objects.get(target)
        return entry.docname if entry else None
    return None


def graph(app) -> Graph:
    """The resolved link graph of this build (computed once, after reading)."""
    return per_build(app, "graph", lambda: _graph(app))


def _graph(app) -> Graph:
    env = app.env
    pages = {doc for doc in env.found_docs if is_knowledge_page(app, doc)}
    out: dict[str, set[str]] = {page: set() for page in pages}
    into: dict[str, set[str]] = {page: set() for page in pages}
    explained: dict[str, set[str]] = {}
    for source, record in getattr(env, "mlnotes_links", {}).items():
        if source not in pages:
            continue
        for domain, kind, target in record.xrefs:
            if (domain, kind) in EDGE_KINDS or domain == "py":
                dest = _resolve(env, domain, kind, target)
                if dest in pages and dest != source:
                    out[source].add(dest)
                    into[dest].add(source)
            if domain == "py":
                explained.setdefault(target, set()).add(source)
        for name in record.shown:
            explained.setdefault(name, set()).add(source)
    return Graph(pages, out, into, explained)


def link_texts(app, env) -> list[str]:
    """Pages showing a title or number that changed where they link to.

    A reference without its own text shows its target's title (``{doc}``), the
    title of the section it points to (``{ref}``) or an equation's number
    (``{eq}``).  Sphinx writes a page again when its own source changes, not
    when the page it links to is retitled or renumbered, so the link would show
    the old text until a clean build.  Here each page's view is what its
    references resolve to.
    """
    def views():
        std, math = env.domains.standard_domain, env.domains.math_domain
        result = {}
        for source, record in getattr(env, "mlnotes_links", {}).items():
            shown = []
            for domain, kind, target in sorted(record.xrefs):
                if (domain, kind) == ("std", "ref"):
                    shown.append((kind, target, std.labels.get(target.lower())))
                elif (domain, kind) == ("std", "doc"):
                    title = env.titles.get(target)
                    shown.append((kind, target, title.astext() if title is not None else None))
                elif (domain, kind) == ("math", "eq"):
                    shown.append((kind, target, math.equations.get(target)))  # (page, number)
            if shown:
                result[source] = tuple(shown)
        return result

    return per_build(app, "link_texts", lambda: changed_views(app, env, "link_texts", views))


def setup(app):
    app.add_config_value("knowledge_pages", ["posts/*", "concepts/*", "api/*"], "env",
                         types=frozenset({list}))
    app.add_directive("literalinclude", ShowsCode, override=True)
    app.add_env_collector(LinkCollector)
    track_builds(app)
    app.connect("env-get-updated", link_texts)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
