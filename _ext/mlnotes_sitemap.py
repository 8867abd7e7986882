"""A complete ``sitemap.xml`` after every build, incremental ones too.

sphinx-sitemap lists the pages written *in this build*: after an incremental
build that wrote three pages, ``sitemap.xml`` names three pages
(jdillard/sphinx-sitemap#13, open since 2018).  It also starts a
``multiprocessing`` manager process on every build to collect the pages from
parallel writers; if a build is killed, that process outlives it.

Here sphinx-sitemap still writes the file (its configuration, URL scheme and
``lastmod`` stay as documented), but the list it writes is the whole site:
every document, plus every page an extension generates (the blog's archives,
the index, the search page, highlighted source) as recorded across builds in
``.mlnotes-sitemap-pages.json`` in the output directory and kept while its file
exists.  Pages are listed in sorted order, so the file is the same whatever the
order pages were written in (``-j``).  The pages are known in the main process,
so a plain queue replaces the manager.
"""

from __future__ import annotations

import json
import queue
from pathlib import Path

from mlnotes_core import state, track_builds

__version__ = "1.0"

RECORD = ".mlnotes-sitemap-pages.json"


class _LocalManager:
    """What sphinx-sitemap asks of ``multiprocessing.Manager()``: a queue."""

    def Queue(self):  # noqa: N802 (the name sphinx-sitemap calls)
        return queue.Queue()


def record_generated(app, pagename, templatename, context, doctree) -> None:
    """Remember the pages that are not documents (written in the main process)."""
    if doctree is None and pagename not in app.env.all_docs:
        state(app).generated_pages.add(pagename)


def complete_sitemap(app, exception) -> None:
    import sphinx_sitemap

    if exception is not None or app.builder.format != "html" \
            or not hasattr(app, "sitemap_links"):
        return
    outdir = Path(app.outdir)
    record = outdir / RECORD
    try:
        known = set(json.loads(record.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        known = set()
    suffix = app.builder.out_suffix
    generated = {page for page in known | state(app).generated_pages
                 if page not in app.env.all_docs and (outdir / f"{page}{suffix}").is_file()}
    record.write_text(json.dumps(sorted(generated), ensure_ascii=False, indent=0), encoding="utf-8")

    links = app.sitemap_links
    while not links.empty():        # what this build wrote: listed again below
        links.get_nowait()
    for pagename in sorted(set(app.env.all_docs) | generated):
        sphinx_sitemap.add_html_link(app, pagename, None, {}, None)


def setup(app):
    import sphinx_sitemap

    app.setup_extension("sphinx_sitemap")
    sphinx_sitemap.Manager = _LocalManager
    track_builds(app)   # state(app).generated_pages, emptied as each build starts reading
    app.connect("html-page-context", record_generated)
    # before sphinx-sitemap writes the file (priority 500)
    app.connect("build-finished", complete_sitemap, priority=400)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
