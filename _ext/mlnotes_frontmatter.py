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

It also keeps the validated metadata of every post in ``env.mlnotes_posts``
(purged and merged per document), which the other extensions use, and hides
drafts (``draft: true`` or a date in the future) from the build unless
``MLNOTES_DRAFTS=1`` is set (``make serve`` sets it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from sphinx.environment.collectors import EnvironmentCollector
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

__version__ = "1.0"
# Bump when the doctrees or env data this extension stores change shape, so that
# Sphinx discards pickled environments made by an older version.
ENV_VERSION = 3

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*$", re.S | re.M)

#: Keys a post may use.  Ours, then the ones ABlog and MyST understand.
POST_KEYS = {"date", "category", "tags", "author", "excerpt", "draft", "series"}
PASSTHROUGH_KEYS = {
    "location", "language", "redirect", "image", "nocomments", "canonical_link",
    "external_link", "orphan", "myst", "html_meta", "substitutions", "short_title",
}
#: Fields handled here and removed before ABlog's front-matter transform runs
#: (ABlog would ``int()`` a text excerpt and does not know ``draft``/``series``).
OWN_FIELDS = ("excerpt", "draft", "series")


DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S")


# libyaml's parser when PyYAML was built with it (the wheels are): the pure-Python
# one took 2 ms a post, and every post's front matter is read on each build.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextDateLoader(_SafeLoader):
    """SafeLoader that leaves dates as text, so a bad one gets our message."""


_TextDateLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class FrontMatterError(Exception):
    """A problem in one post's front matter; ``line`` is 1-based in the file."""

    def __init__(self, message: str, line: int, *, fatal: bool, key: str | None = None):
        super().__init__(message)
        self.line = line
        self.fatal = fatal
        self.key = key


def split_front_matter(text: str) -> tuple[str | None, int]:
    """Return the YAML text of the front matter and the file line it starts on."""
    match = FRONT_MATTER.match(text)
    if not match:
        return None, 1
    return match.group(1), 2


def _key_lines(yaml_text: str, first_line: int) -> dict[str, int]:
    """Map each top-level key to its 1-based line in the file."""
    node = yaml.compose(yaml_text, Loader=_SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + first_line for k, _ in node.value}


def _as_date(value: Any) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(str(value).strip(), fmt).date()
        except ValueError:
            continue
    return None


def parse_post(text: str, *, categories: dict, authors: dict,
               series: dict | None = None) -> tuple[dict, list[FrontMatterError]]:
    """Validate one post's front matter.

    Returns the cleaned metadata (``date`` as :class:`datetime.date`, ``category``,
    ``tags``, ``author``, ``excerpt``, ``draft``, ``series``, ``lines``) and the
    problems found.  This is pure: it reads nothing but *text*.  *series* maps
    the known series names to their titles (``None``: names are not checked).
    """
    errors: list[FrontMatterError] = []
    yaml_text, first = split_front_matter(text)
    meta: dict[str, Any] = {"lines": {}, "tags": [], "draft": False}
    if yaml_text is None:
        errors.append(FrontMatterError(
            "post has no front matter: start the file with a '---' block giving at "
            "least 'date' and 'category'", 1, fatal=True))
        return meta, errors
    try:
        data = yaml.load(yaml_text, Loader=_TextDateLoader) or {}
        lines = _key_lines(yaml_text, first)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first + mark.line if mark else first
        problem = getattr(exc, "problem", None) or str(exc)
        errors.append(FrontMatterError(f"front matter is not valid YAML: {problem}", line,
                                       fatal=True))
        return meta, errors
    if not isinstance(data, dict):
        errors.append(FrontMatterError("front matter must be a mapping of 'key: value' lines",
                                       first, fatal=True))
        return meta, errors
    meta["lines"] = lines
    end_line = first + yaml_text.count("\n")
    meta["body_line"] = end_line + 1

    for key in data:
        if key not in POST_KEYS | PASSTHROUGH_KEYS:
            known = ", ".join(sorted(POST_KEYS))
            errors.append(FrontMatterError(
                f"unknown front-matter key {key!r} (a post uses: {known})",
                lines.get(key, first), fatal=False, key=key))

    # date: required, an ISO date (YYYY-MM-DD, optionally with a time).
    if "date" not in data:
        errors.append(FrontMatterError("post has no 'date' (write e.g. 'date: 2026-01-11')",
                                       end_line, fatal=True, key="date"))
    else:
        date = _as_date(data["date"])
        if date is None:
            errors.append(FrontMatterError(
                f"malformed date {data['date']!r}: expected YYYY-MM-DD, e.g. 2026-01-11",
                lines["date"], fatal=True, key="date"))
        meta["date"] = date

    # category: required, one of the configured categories.
    if "category" not in data:
        errors.append(FrontMatterError(
            "post has no 'category' (one of: " + ", ".join(categories) + ")",
            end_line, fatal=False, key="category"))
    elif not isinstance(data["category"], str) or data["category"] not in categories:
        errors.append(FrontMatterError(
            f"unknown category {data['category']!r}; use one of: " + ", ".join(categories),
            lines["category"], fatal=False, key="category"))
    else:
        meta["category"] = data["category"]

    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            errors.append(FrontMatterError(
                f"'tags' must be a list of strings, e.g. 'tags: [扩散模型, 采样]', not {tags!r}",
                lines["tags"], fatal=False, key="tags"))
        else:
            meta["tags"] = [t.strip() for t in tags]

    if "author" in data:
        author = data["author"]
        if not isinstance(author, str) or author not in authors:
            errors.append(FrontMatterError(
                f"unknown author {author!r}; add it to blog_authors in conf.py "
                "(known: " + ", ".join(authors) + ")",
                lines["author"], fatal=False, key="author"))
        else:
            meta["author"] = author

    if "excerpt" in data:
        if not isinstance(data["excerpt"], str) or not data["excerpt"].strip():
            errors.append(FrontMatterError("'excerpt' must be a short text",
                                           lines["excerpt"], fatal=False, key="excerpt"))
        else:
            meta["excerpt"] = " ".join(data["excerpt"].split())

    if "draft" in data:
        if not isinstance(data["draft"], bool):
            errors.append(FrontMatterError("'draft' must be true or false",
                                           lines["draft"], fatal=False, key="draft"))
        else:
            meta["draft"] = data["draft"]

    if "series" in data:
        value = data["series"]
        example = "write e.g. 'series: {name: diffusion, part: 2}'"
        if not (isinstance(value, dict) and set(value) == {"name", "part"}):
            errors.append(FrontMatterError(
                f"'series' must give the series' name and this post's part; {example}",
                lines["series"], fatal=False, key="series"))
        elif not (isinstance(value["part"], int) and not isinstance(value["part"], bool)
                  and value["part"] >= 1):
            errors.append(FrontMatterError(
                f"series part must be a whole number from 1, not {value['part']!r}; {example}",
                lines["series"], fatal=False, key="series"))
        elif series is not None and value["name"] not in series:
            errors.append(FrontMatterError(
                f"unknown series {value['name']!r}; add it to blog_series in conf.py "
                "(known: " + ", ".join(series) + ")",
                lines["series"], fatal=False, key="series"))
        else:
            meta["series"] = {"name": str(value["name"]), "part": value["part"]}
    return meta, errors


def today() -> dt.date:
    """The build date: ``SOURCE_DATE_EPOCH`` when set, so builds are reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.date.today()


def is_draft(meta: dict) -> bool:
    date = meta.get("date")
    return bool(meta.get("draft")) or (date is not None and date > today())


def post_patterns(config) -> list[str]:
    patterns = config.blog_post_pattern
    return [patterns] if isinstance(patterns, str) else list(patterns)


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
        env.mlnotes_posts[docname] = meta


class PostCollector(EnvironmentCollector):
    """Keeps ``env.mlnotes_posts`` right across incremental and parallel builds."""

    def clear_doc(self, app, env, docname: str) -> None:
        env.mlnotes_posts.pop(docname, None)

    def merge_other(self, app, env, docnames: set[str], other) -> None:
        for docname in docnames:
            if docname in other.mlnotes_posts:
                env.mlnotes_posts[docname] = other.mlnotes_posts[docname]

    def process_doc(self, app, doctree) -> None:
        docname = app.env.docname
        # Posts are not in any toctree: the blog's lists and archives reach them.
        if docname in getattr(app.config, "matched_blog_posts", ()):
            app.env.metadata[docname]["orphan"] = True
        # The excerpt is the best description of a post for link previews and
        # search engines (left to itself, sphinxext-opengraph would describe the
        # page by its first text: the date line under the title).
        excerpt = app.env.mlnotes_posts.get(docname, {}).get("excerpt")
        if excerpt:
            app.env.metadata[docname]["og:description"] = excerpt
            doctree.insert(0, nodes.meta(name="description", content=excerpt))


def init_env(app, env, docnames, *args) -> None:
    if not hasattr(env, "mlnotes_posts"):
        env.mlnotes_posts = {}


def check_unique_slugs(app, env) -> None:
    """Two posts with one slug would share one ABlog label and one feed entry id."""
    seen: dict[str, str] = {}
    for docname in sorted(getattr(env, "mlnotes_posts", {})):
        slug = env.mlnotes_posts[docname]["slug"]
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
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
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
        cache_file.write_text(json.dumps(seen), encoding="utf-8")
    config.exclude_patterns = list(config.exclude_patterns) + sorted(set(drafts))


def setup(app):
    app.setup_extension("ablog")
    app.add_config_value("blog_categories", {}, "env", types=frozenset({dict}))
    app.add_config_value("blog_series", {}, "env", types=frozenset({dict}))
    app.add_transform(PostFrontMatter)
    app.add_env_collector(PostCollector)
    app.connect("env-before-read-docs", init_env, priority=400)
    app.connect("env-check-consistency", check_unique_slugs)
    # after ABlog's own config-inited (default priority 500) has matched posts
    app.connect("config-inited", exclude_drafts, priority=600)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
