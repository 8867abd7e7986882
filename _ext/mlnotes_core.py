"""What the site's extensions share; not an extension itself (no ``setup()``).

Features import this module and the other libraries (``mlnotes_postfile``,
``mlnotes_listing``), never each other (``tests/test_layers.py``).  Here:

* **per-build state** (:func:`per_build`): values computed once per build, forgotten
  when the next build starts reading (a second ``app.build()``, ``make serve``);
* **view-change tracking** (:func:`changed_views`): which pages show something of
  other pages that changed, so that Sphinx writes them again;
* titles and link lists (:func:`title`, :func:`link_list`), links re-based from the
  root directory to a page (:func:`rebase`), dates in Chinese (:func:`zh_date`);
* a file written only when its content changed (:func:`write_if_changed`: the bundles);
* the speed switch;
* **the site's data, in one domain** (:class:`SiteDomain`, ``env.get_domain("mlnotes")``):
  per document, the post records (:func:`post_records`, filled by ``mlnotes_frontmatter``), the
  links each page makes (:func:`links`, filled by ``mlnotes_linkgraph``) and the pages
  with a list of the latest posts; for the whole site, the views of the last build
  (:func:`changed_views`) and the signatures the blog compares.  Sphinx keeps a domain's
  data as it keeps its own: per-document entries are dropped when a document is read
  again or removed (``clear_doc``) and brought back from parallel readers
  (``merge_domaindata``), and ``data_version`` discards a pickled environment whose data
  has another shape;
* **the link graph** (:func:`graph`, :func:`link_texts`, :func:`is_knowledge_page`): who
  links to whom and who shows which code, resolved once per build, which backlinks,
  related posts, the concept graph and the blog read.

A feature that uses the per-build state or the view tracking calls
:func:`track_builds` from its ``setup()``: it connects, once per application, the
handlers that keep them.

**The speed switch.**  Every patch that only makes the build faster (``kind="speed"``
in ``mlnotes_upstream.PATCHES``: Jinja's template checks, asset checksums, libyaml for
MyST, ABlog's default settings and excerpts, pybtex's plugin lookups and formatted
entries, the garbage collector) is applied only when ``mlnotes_speed_patches`` is true,
the default.  ``sphinx-build -D mlnotes_speed_patches=0`` builds without any of them:
the first thing to try after an upgrade, and what ``tests/test_speed_switch.py`` compares
the normal build with, byte for byte.  The patches are process-wide, so the switch is
read once per process, at ``config-inited``.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.domains import Domain
from sphinx.util.osutil import relative_uri

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config

SPEED_SWITCH = "mlnotes_speed_patches"


def add_speed_switch(app: Sphinx) -> None:
    """Declare ``mlnotes_speed_patches`` (once, whichever extension comes first)."""
    if SPEED_SWITCH not in app.config:
        app.add_config_value(SPEED_SWITCH, True, "", types=(bool,))


def speed_patches_on(config: Config) -> bool:
    return bool(getattr(config, SPEED_SWITCH, True))


def speed_patch(app: Sphinx, apply) -> None:
    """What a speed extension's ``setup()`` does: declare the switch, and at
    ``config-inited`` call ``apply(app)`` unless the speed patches are off."""
    add_speed_switch(app)

    def on_config_inited(app: Sphinx, config: Config) -> None:
        if speed_patches_on(config):
            apply(app)

    app.connect("config-inited", on_config_inited)


# -- the site's data: one domain --------------------------------------------------------------

class SiteDomain(Domain):
    """The site's own data in the environment, kept the way Sphinx keeps a domain's
    (as ``TodoDomain`` and sphinxcontrib-bibtex's ``BibtexDomain`` do): no roles, no
    directives, no objects, only ``data``."""

    name = "mlnotes"
    label = "机器学习笔记"
    #: Bump when the shape of the data changes: a pickled environment with another
    #: version is discarded.
    data_version = 1
    #: ``{docname: ...}`` tables, dropped per document and merged from parallel readers
    PER_DOCUMENT = ("posts", "links", "frontpage")
    initial_data = {
        "posts": {},        # docname -> the post's validated front matter (mlnotes_frontmatter)
        "links": {},        # docname -> DocLinks: what it refers to and shows (mlnotes_linkgraph)
        "frontpage": {},    # docname -> True: has a list of the latest posts (mlnotes_frontpage)
        "views": {},        # feature -> {page: view} of the last build (changed_views)
        "signatures": {},   # name -> what the last build's pages showed of all posts (mlnotes_blog)
    }

    def clear_doc(self, docname: str) -> None:
        for table in self.PER_DOCUMENT:
            self.data[table].pop(docname, None)

    def merge_domaindata(self, docnames, otherdata: dict) -> None:
        for table in self.PER_DOCUMENT:
            for docname in docnames:
                if docname in otherdata[table]:
                    self.data[table][docname] = otherdata[table][docname]

    def resolve_any_xref(self, env, fromdocname, builder, target, node, contnode):
        return []


def use_site_domain(app: Sphinx) -> None:
    """Register :class:`SiteDomain` (once, whichever extension comes first)."""
    if SiteDomain.name not in app.registry.domains:
        app.add_domain(SiteDomain)


def site_data(env, table: str) -> dict:
    return env.get_domain(SiteDomain.name).data[table]


def post_records(env) -> dict[str, dict]:
    """The post records: each post's validated front matter, by document name."""
    return site_data(env, "posts")


# -- the link graph ------------------------------------------------------------------------

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


def links(env, docname: str) -> DocLinks:
    """*docname*'s record of links, created empty (``mlnotes_linkgraph`` fills it)."""
    return site_data(env, "links").setdefault(docname, DocLinks())


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
    for source, record in site_data(env, "links").items():
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
        for source, record in site_data(env, "links").items():
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


# -- per-build state and view-change tracking --------------------------------------------

@dataclass
class BuildState:
    """What the site's extensions keep for one application between events: one object
    per application (:func:`state`), not attributes set on it.  The fields marked *per
    build* are emptied as each build starts reading (a second ``app.build()`` of the same
    application: the preview server)."""

    tracking: bool = False           # track_builds has connected its handlers
    listing: bool = False            # mlnotes_listing.track_listing has connected its handlers
    per_build: dict = field(default_factory=dict)          # per build: per_build()'s values
    documents_changed: bool = True   # per build: this build read, added or removed a document
    purged: bool = False             # a document was purged before this build started reading
    read_docs: set = field(default_factory=set)            # per build: the documents read
    relinked_posts: set = field(default_factory=set)       # posts whose excerpts link to a page read again
    generated_pages: set = field(default_factory=set)      # per build: pages that are not documents
    registered_assets: tuple | None = None                 # the registry's assets when writing started
    excerpts: dict | None = None     # mlnotes_blog's rendered excerpts, loaded on first use


_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def state(app: Sphinx) -> BuildState:
    """The :class:`BuildState` of *app* (made on first use)."""
    found = _STATES.get(app)
    if found is None:
        found = _STATES[app] = BuildState()
    return found


def track_builds(app: Sphinx) -> None:
    """Connect the handlers behind :func:`per_build` and :func:`changed_views`, once."""
    if state(app).tracking:
        return
    state(app).tracking = True
    use_site_domain(app)   # changed_views keeps the views there
    # before any other handler of the event, which may compute per-build values
    app.connect("env-before-read-docs", forget, priority=100)
    app.connect("env-before-read-docs", note_read, priority=100)
    app.connect("env-purge-doc", note_purged)
    app.connect("env-updated", reset_purged)
    app.connect("write-started", note_page_assets)
    app.connect("build-finished", restore_page_assets)


def note_page_assets(app, builder) -> None:
    state(app).registered_assets = (list(app.registry.js_files), list(app.registry.css_files))


def restore_page_assets(app, exception) -> None:
    """Forget the scripts and stylesheets that pages added for themselves.

    A page's ``html-page-context`` may add its own (pydata-sphinx-theme adds
    ``DOCUMENTATION_OPTIONS.pagename = ...`` to every page), and ``Sphinx.add_js_file``
    records it in the registry as well as for the page.  The builder forgets it at the next
    page, the registry never does: ``prepare_writing`` gives every page of the next build
    all that the registry holds, so a second build of one application (the preview server)
    put the ``pagename`` of every page of the first build on every page.  The registry, and
    the builder's own lists, are left as they were when writing started (Sphinx 9.0.4;
    ``sphinx.application.Sphinx.add_js_file``, ``StandaloneHTMLBuilder.prepare_writing``;
    no upstream issue found)."""
    saved, state(app).registered_assets = state(app).registered_assets, None
    if saved is not None:
        app.registry.js_files[:], app.registry.css_files[:] = saved
    builder = app.builder
    for name in ("_js_files", "_css_files"):
        backup = getattr(builder, f"_orig{name}", None)
        if backup is not None:
            getattr(builder, name)[:] = backup


def per_build(app, name: str, compute):
    """``compute()``, once per build: kept on the application until the next build
    starts reading (a second ``app.build()``, ``make serve``)."""
    cache = state(app).per_build
    if name not in cache:
        cache[name] = compute()
    return cache[name]


def forget(app, env, docnames) -> None:
    """A build starts reading: what the last one kept for itself goes."""
    current = state(app)
    current.per_build.clear()
    current.read_docs = set(docnames)
    current.generated_pages = set()


def changed_views(app, env, name: str, views, inputs: tuple = ()) -> list[str]:
    """Pages whose views differ from the previous build's; remember the new ones.

    *views* is a function returning ``{page: view}``; *name* keys the stored
    views in the environment (one per feature); *inputs* are the configuration
    values the views depend on beyond the documents (such as how many related
    posts to show).  A page that is new or gone counts as changed; a page being
    read anyway needs no special treatment, as Sphinx writes it in any case.

    Views are functions of what the documents say.  When this build read no
    document and removed none, and *inputs* are as before, they cannot have
    changed: they are not computed at all (a no-change build of 1,000 posts
    spent a tenth of its time ranking related posts to find nothing new).
    """
    store = site_data(env, "views")
    if not documents_changed(app) and name in store and store.get((name, "inputs")) == inputs:
        return []
    old = store.get(name, {})
    new = views()
    store[name], store[name, "inputs"] = new, inputs
    return sorted(doc for doc in set(old) | set(new)
                  if old.get(doc) != new.get(doc) and doc in env.all_docs)


def documents_changed(app) -> bool:
    """Whether this build read, added or removed a document (so far)."""
    return state(app).documents_changed


def note_purged(app, env, docname) -> None:
    state(app).purged = True


def note_read(app, env, docnames) -> None:
    # removed documents are purged before this event, changed ones after it
    current = state(app)
    current.documents_changed, current.purged = bool(docnames) or current.purged, False


def reset_purged(app, env) -> None:
    state(app).purged = False



# -- files --------------------------------------------------------------------------------

def write_if_changed(path: Path, content: str) -> str:
    """Write *content* to *path* unless it already holds it (atomically: a parallel
    writer or a reader never sees half a file); return a digest of *content*, for the
    ``?v=`` of a link to it."""
    if not path.is_file() or path.read_text(encoding="utf-8") != content:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:8]


@functools.cache
def code_version(*files: str) -> str:
    """A digest of the source of *files* (the ``__file__`` of the modules that write and read
    a side cache).

    Every side cache kept in the doctree directory (formulas, excerpts, formatted
    citations, drafts, figures, search documents) stores this with the versions of its
    inputs, and is dropped when they differ: a cache made by other code is not read, so
    editing an extension cannot leave stale output behind it."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:16]


def remove_output(outdir: Path, path: Path) -> None:
    """Delete the output file *path* and the directories under *outdir* it leaves empty
    (a page no longer made: Sphinx itself never deletes one)."""
    path.unlink(missing_ok=True)
    parent = path.parent
    while parent != outdir and parent.is_relative_to(outdir) and parent.is_dir() \
            and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


# -- titles, links, dates ------------------------------------------------------------------

def title(env, docname: str) -> str:
    node = env.titles.get(docname)
    return node.astext() if node is not None else docname


def link_list(app, fromdoc: str, docnames, classes: list[str], heading: str) -> nodes.Element:
    """A titled list of links to *docnames*, hidden from the search index."""
    box = nodes.container(classes=[*classes, "mlnotes-linkbox", "no-search"])
    box += nodes.rubric(heading, heading)
    items = nodes.bullet_list()
    for docname in docnames:
        text = title(app.env, docname)
        para = nodes.paragraph()
        if app.builder.format == "html":
            uri = app.builder.get_relative_uri(fromdoc, docname)
            para += nodes.reference("", text, internal=True, refuri=uri)
        else:
            para += nodes.Text(text)
        items += nodes.list_item("", para)
    box += items
    return box


#: An ``href``/``src`` value relative to the page (not ``x:``, ``/``, ``#``).
RELATIVE_URL = re.compile(r'(\b(?:href|src)=")(?![a-z][a-z0-9+.-]*:|#|/)([^"]+)"')
def rebase(app, html: str, pagename: str) -> str:
    r"""*html* written for a page in the root directory, for *pagename*.

    Each relative link becomes what Sphinx's ``pathto`` gives on *pagename*: from
    ``blog/tag/t``, ``posts/a.html`` is ``../../posts/a.html``; from ``posts/b``
    it is ``a.html``.

    >>> from types import SimpleNamespace as NS
    >>> app = NS(builder=NS(get_target_uri=lambda doc: doc + ".html"))
    >>> print(rebase(app, '<a href="posts/a.html#x">a</a> <a href="#y">y</a>\n'
    ...       '<a href="https://x.org/">x</a> <img src="_images/p.png">', "blog/tag/t"))
    <a href="../../posts/a.html#x">a</a> <a href="#y">y</a>
    <a href="https://x.org/">x</a> <img src="../../_images/p.png">
    >>> rebase(app, '<a href="posts/a.html">a</a> <a href="index.html">i</a>', "posts/b")
    '<a href="a.html">a</a> <a href="../index.html">i</a>'
    """
    page_dir = app.builder.get_target_uri(pagename).rpartition("/")[0]
    if not page_dir:
        return html
    return RELATIVE_URL.sub(lambda m: f'{m[1]}{_relative(page_dir, m[2])}"', html)


@functools.lru_cache(maxsize=1 << 16)
def _relative(page_dir: str, target: str) -> str:
    """*target* (relative to the root directory) relative to a page in *page_dir*."""
    path, hash_, fragment = target.partition("#")
    # relative to a file in page_dir that no link names
    return relative_uri(f"{page_dir}/\0", path) + hash_ + fragment


def zh_date(date) -> str:
    """Format a date the Chinese way: ``2026年1月11日``."""
    return f"{date.year}年{date.month}月{date.day}日"


