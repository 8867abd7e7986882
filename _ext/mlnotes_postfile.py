"""A post's file: its front matter read, checked and turned into the post's record.

Not an extension (no ``setup()``): the parser that ``mlnotes_frontmatter`` runs on every
post it reads, and that ``mlnotes_book`` runs on the posts the book lists before they are
read.  It knows the line of every key, so each problem can be reported at ``file:line``
(:class:`FrontMatterError`).  Also whether a post is a draft (:func:`is_draft`), with the
build date that ``SOURCE_DATE_EPOCH`` fixes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

import yaml

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
