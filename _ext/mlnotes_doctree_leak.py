"""Doctrees that do not carry a copy of the build environment.

MyST-Parser renders an ``{eval-rst}`` block by parsing it into a scratch
``document`` (``DocutilsRenderer.render_restructuredtext``, myst-parser 5.2.0)
whose ``settings`` are the page's own, ``settings.env`` included, and then
moves the scratch document's top-level children into the page.  Moving re-homes
only those children (``Element.setup_child``); a node deeper down keeps its
``_document`` pointing at the scratch document whenever a directive set it
explicitly, as Sphinx's ``only`` directive does for its node and everything
parsed into it (and matplotlib's ``plot`` directive writes its figures inside
``.. only:: html``).  Sphinx strips ``settings.env`` only from the page's own
document before pickling it (``Builder.write_doctree``), so every doctree with
such a block pickled the whole ``BuildEnvironment``: 3.4 MB per post here,
growing with the site, which made every step that loads doctrees O(N^2).

The environment had the same leak, from three places that keep nodes of a page
after it is read: Sphinx's title collector (``env.titles``, ``env.longtitles``),
ABlog's post records (each excerpt a deep copy of the page's first paragraph,
``env.ablog_posts``) and sphinxcontrib-bibtex's bibliographies (their citation
nodes).  Docutils' ``Node.copy`` keeps ``_document``, so every such node named its
page's whole document, and ``environment.pickle`` held every page's doctree: 33 MB
for 1,000 posts, of which 23 MB were these copies, loaded again by every
incremental build (:func:`detach_stored_nodes`).

The fix is made where the tree is finished and before it is pickled: on
``doctree-read`` every node that names a document other than the page's is
pointed back at the page (docutils resolves ``node.document`` through the
parent when ``_document`` is unset, so this is what a freshly parsed tree
looks like).  ``tests/test_doctree_leak.py`` proves that no pickled doctree
of the site reaches an environment, an application or a second document, and
checks that the upstream bug is still there (when a MyST release fixes it, that
test fails and says this module can go).  The minimal reproduction is in the
README ("Doctrees and the eval-rst leak").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docutils import nodes
    from sphinx.application import Sphinx

# Written against myst-parser 5.2.0, docutils 0.22.4 and Sphinx 9.0.4.
UPSTREAM = "myst-parser DocutilsRenderer.render_restructuredtext (eval-rst), 5.2.0"


def rehome_nodes(doctree: nodes.document) -> int:
    """Point every node that names another ``document`` at *doctree*; return how many."""
    moved = 0
    for node in doctree.findall():
        owner = getattr(node, "_document", None)
        if owner is not None and owner is not doctree:
            node._document = doctree
            moved += 1
    return moved


def detach(node: nodes.Node) -> None:
    """Cut *node* and its descendants loose from the document they were copied out of
    (they outlive the page's doctree in the environment; ``node.document`` becomes
    the parent's, or None)."""
    for child in node.findall():
        if getattr(child, "_document", None) is not None:
            child._document = None


def detach_stored_nodes(env, docname: str) -> None:
    """The nodes of *docname* that the environment keeps: titles, ABlog's excerpts,
    sphinxcontrib-bibtex's citation nodes."""
    for store in (env.titles, env.longtitles):
        if docname in store:
            detach(store[docname])
    for post in getattr(env, "ablog_posts", {}).get(docname, ()):
        for node in post.get("excerpt") or ():
            detach(node)
    cite = env.domaindata.get("cite", {})
    for key, value in cite.get("bibliographies", {}).items():
        if key.docname == docname:
            for node in value.citation_nodes.values():
                detach(node)


def _on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    rehome_nodes(doctree)
    detach_stored_nodes(app.env, app.env.current_document.docname)


def setup(app: Sphinx) -> dict[str, Any]:
    # Late (priority 900): after every other doctree-read handler, which may add nodes
    # (and after ABlog's, which records the excerpts).
    app.connect("doctree-read", _on_doctree_read, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
