"""The pages of removed documents leave the output.

Sphinx writes pages and never deletes one: a post that was deleted, renamed or made a
draft again kept its page in ``_build/html``, which is published, so old links and
search engines still found it (a clean build does not have it).  Each HTML build records
the documents it has in ``<outdir>/.mlnotes-documents.json``; the next one removes the
pages (and the copies of their sources) of those that are gone.  Only pages a recorded
build made are removed, never other files.

ABlog's generated pages (a tag no post has any more, its feed, a front page past the
last) are pruned by ``mlnotes_blog``, which knows which of them a build generates.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlnotes_core import remove_output, write_if_changed

__version__ = "1.0"
RECORD = ".mlnotes-documents.json"


def prune_removed_documents(app, exception) -> None:
    if exception is not None or app.builder.format != "html" or \
            not hasattr(app.builder, "get_outfilename"):
        return
    outdir = Path(app.outdir)
    record = outdir / RECORD
    try:
        previous = set(json.loads(record.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        previous = set()
    current = set(app.env.found_docs)
    for docname in sorted(previous - current):
        remove_output(outdir, Path(app.builder.get_outfilename(docname)))
        sources = outdir / "_sources"
        for copy in sources.glob(f"{docname}.*") if sources.is_dir() else ():
            remove_output(outdir, copy)
    write_if_changed(record, json.dumps(sorted(current), ensure_ascii=False))


def setup(app):
    # before the sitemap (400) and the search index (500), which read the output
    app.connect("build-finished", prune_removed_documents, priority=300)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
