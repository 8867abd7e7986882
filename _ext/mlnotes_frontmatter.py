"""Validate blog-post front matter before ABlog sees it.

ABlog accepts almost anything: a misspelt key is ignored, an unknown category
silently creates a new archive, a malformed date crashes the build with a bare
``ValueError`` and a post without a heading raises ``Exception("Missing
title")``.  This extension reads each post's YAML front matter itself (so it
knows the line of every key), reports each problem as a Sphinx error located at
``file:line``, and repairs the doctree so that the rest of the build goes on:

* a post with a fatal problem (no front matter, a missing or malformed date, no
  title) is taken out of the blog: it is not published, not listed, not in feeds;
* a bad optional field (unknown category or author, tags that are not a list of
  strings) is dropped from the post, which is still published.

It also keeps the validated metadata of every post in the site domain (``mlnotes_core.post_records``)
(purged and merged per document), which the other extensions use, and hides
drafts (``draft: true`` or a date in the future) from the build unless
``MLNOTES_DRAFTS=1`` is set (``make serve`` sets it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import mlnotes_postfile
from docutils import nodes
from mlnotes_core import code_version, post_records, use_site_domain
from mlnotes_postfile import OWN_FIELDS, FrontMatterError, is_draft, parse_post, post_patterns
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

__version__ = "1.0"
# Bump when the doctrees or env data this extension stores change shape, so that
# Sphinx discards pickled environments made by an older version.
ENV_VERSION = 4   # the post records moved into the site domain

class PostFrontMatter(SphinxTransform):
    """Check a post's front matter; runs just before ABlog's ``CheckFrontMatter``."""

    default_priority = 790  # ABlog's CheckFrontMatter is 800

    def apply(self) -> None:
        env = self.env
        docname = env.docname
        if docname not in getattr(self.config, "matched_blog_posts", ()):
            return
        path = Path(env.doc2path(docname))
        meta, errors = parse_post(path.read_text(encoding="utf-8"),
                                  categories=self.config.blog_categories,
                                  authors=self.config.blog_authors,
                                  series=self.config.blog_series)
        title = next(iter(self.document.findall(nodes.title)), None)
        if title is None:
            errors.append(FrontMatterError(
                "post has no title: start the body with a '# 标题' heading",
                meta.get("body_line", 1), fatal=True))
        for err in errors:
            logger.error("%s", err, location=(docname, err.line),
                         type="mlnotes", subtype="frontmatter")

        docinfos = list(self.document.findall(nodes.docinfo))
        fatal = any(err.fatal for err in errors)
        if fatal:
            # Not a post: ABlog's transform only handles documents with docinfo.
            for docinfo in docinfos:
                docinfo.parent.remove(docinfo)
            return
        dropped = {err.key for err in errors if err.key} | set(OWN_FIELDS)
        for docinfo in docinfos:
            for field in list(docinfo.findall(nodes.field)):
                name = field[0].astext()
                if name in dropped:
                    field.parent.remove(field)
                elif name == "tags":
                    # MyST hands ABlog the list as JSON text ("\\u6269..."), which
                    # ABlog splits on commas without decoding: give it plain text.
                    field[1].children = [nodes.paragraph("", ", ".join(meta["tags"]))]
        if title is not None:
            meta["title"] = title.astext()
        meta["slug"] = docname.rsplit("/", 1)[-1]
        meta["lineno"] = 1
        post_records(env)[docname] = meta


def post_metadata(app, doctree) -> None:
    """A post's page metadata (the post records themselves are in the site domain, which
    drops and merges them per document)."""
    docname = app.env.docname
    # Posts are not in any toctree: the blog's lists and archives reach them.
    if docname in getattr(app.config, "matched_blog_posts", ()):
        app.env.metadata[docname]["orphan"] = True
    # The excerpt is the best description of a post for link previews and
    # search engines (left to itself, sphinxext-opengraph would describe the
    # page by its first text: the date line under the title).
    excerpt = post_records(app.env).get(docname, {}).get("excerpt")
    if excerpt:
        app.env.metadata[docname]["og:description"] = excerpt
        doctree.insert(0, nodes.meta(name="description", content=excerpt))


def check_unique_slugs(app, env) -> None:
    """Two posts with one slug would share one ABlog label and one feed entry id."""
    seen: dict[str, str] = {}
    for docname in sorted(post_records(env)):
        slug = post_records(env)[docname]["slug"]
        if slug in seen:
            other = Path(env.doc2path(seen[slug])).relative_to(app.srcdir).as_posix()
            logger.error("duplicate post slug %r: also used by %s; rename one of the files",
                         slug, other, location=(docname, 1),
                         type="mlnotes", subtype="frontmatter")
        else:
            seen[slug] = docname


DRAFTS_CACHE = "mlnotes-drafts.json"


def exclude_drafts(app, config) -> None:
    """Keep drafts out of the published build (``MLNOTES_DRAFTS=1`` shows them).

    Every build starts by reading the front matter of every post for this; what
    decides it (the ``draft`` flag and the date) is kept in the doctree directory
    under each file's size and modification time, so a build parses only the
    posts written since the last one.  (A future date stops being a draft on its
    day: the date is kept, not the verdict.)
    """
    if os.environ.get("MLNOTES_DRAFTS") == "1":
        return
    srcdir = Path(app.srcdir)
    cache_file = Path(app.doctreedir, DRAFTS_CACHE)
    version = code_version(__file__, mlnotes_postfile.__file__)   # the code that reads posts
    try:
        stored = json.loads(cache_file.read_text(encoding="utf-8"))
        cache = stored["posts"] if stored.get("version") == version else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        cache = {}
    seen, drafts = {}, []
    for pattern in post_patterns(config):
        for path in sorted(srcdir.glob(pattern)):
            rel = path.relative_to(srcdir).as_posix()
            stat = path.stat()
            entry = cache.get(rel)
            if entry is None or entry[:2] != [stat.st_mtime_ns, stat.st_size]:
                meta, errors = parse_post(path.read_text(encoding="utf-8"),
                                          categories=config.blog_categories,
                                          authors=config.blog_authors)
                date = meta.get("date")
                entry = [stat.st_mtime_ns, stat.st_size, not any(e.fatal for e in errors),
                         bool(meta.get("draft")), date.isoformat() if date else None]
            seen[rel] = entry
            valid, draft, date = entry[2:]
            if valid and is_draft({"draft": draft, "date": dt.date.fromisoformat(date) if date else None}):
                drafts.append(rel)
    if seen != cache:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps({"version": version, "posts": seen}), encoding="utf-8")
    config.exclude_patterns = list(config.exclude_patterns) + sorted(set(drafts))


def setup(app):
    app.setup_extension("ablog")
    app.add_config_value("blog_categories", {}, "env", types=frozenset({dict}))
    app.add_config_value("blog_series", {}, "env", types=frozenset({dict}))
    app.add_transform(PostFrontMatter)
    use_site_domain(app)
    app.connect("doctree-read", post_metadata)
    app.connect("env-check-consistency", check_unique_slugs)
    # after ABlog's own config-inited (default priority 500) has matched posts
    app.connect("config-inited", exclude_drafts, priority=600)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
