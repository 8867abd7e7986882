"""The site's link graph: which page links to which, and which page shows which code.

The knowledge-web features (backlinks, related posts, the concept graph, the
"讲解" line of API entries) are all views of one graph.  This extension records it:

* while a document is read, :func:`record_links` records the cross-references
  it makes (``pending_xref`` nodes: ``{ref}``, ``{doc}``, ``{eq}``, ``{py:func}``
  ...) and the package functions it shows with ``literalinclude :pyobject:``,
  in the site domain's ``links`` table (``mlnotes_core.links``); the domain drops and
  merges it per document, so incremental and parallel builds keep it right;
* once every document is read, ``mlnotes_core.graph`` resolves those references to
  target documents with the domains' own tables (labels, equations, Python objects),
  once per build; the features read it from there.

Views that depend on *other* documents (a backlink appears on the target when
the source changes) use :func:`changed_views` from an ``env-get-updated``
handler: it compares each page's view with the previous build's and returns the
pages whose view changed, so Sphinx writes them again without re-reading them;
a build that read and removed nothing skips the comparison.
"""

from __future__ import annotations

from pathlib import Path

from mlnotes_core import link_texts, links, track_builds, use_site_domain
from sphinx import addnodes
from sphinx.directives.code import LiteralInclude

__version__ = "1.0"
ENV_VERSION = 2   # the links moved into the site domain


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


def record_links(app, doctree) -> None:
    """The cross-references *doctree* makes (the site domain drops and merges them per
    document, as Sphinx's collectors do theirs)."""
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


def setup(app):
    app.add_config_value("knowledge_pages", ["posts/*", "concepts/*", "api/*"], "env",
                         types=frozenset({list}))
    app.add_directive("literalinclude", ShowsCode, override=True)
    use_site_domain(app)
    app.connect("doctree-read", record_links)
    track_builds(app)
    app.connect("env-get-updated", link_texts)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
