"""Series: ordered groups of posts, with a series box and previous/next links.

A post joins a series in its front matter, ``series: {name: diffusion, part: 2}``;
the names and titles of the series are one dict, ``blog_series`` in ``conf.py``
(:mod:`mlnotes_frontmatter` checks the field's shape and the name).  Once every
post is read, the parts of each series must be exactly 1, 2, ..., n: a missing or
repeated part is an error at the post's ``series`` line.

Each post of a series shows, under its title, a box listing the whole series in
order (this post marked), and at its end links to the previous and next parts.
When a series changes (a part added, moved or retitled) every post of it is
written again on the next incremental build.
"""

from __future__ import annotations

from docutils import nodes
from mlnotes_core import changed_views, per_build, post_records, title, track_builds
from sphinx.util import logging

__version__ = "1.0"
logger = logging.getLogger(__name__)


def series_posts(env) -> dict[str, list[tuple[int, str]]]:
    """Series name -> [(part, docname)], sorted by part, then docname."""
    found: dict[str, list[tuple[int, str]]] = {}
    for docname, meta in post_records(env).items():
        if meta.get("series"):
            found.setdefault(meta["series"]["name"], []).append((meta["series"]["part"], docname))
    return {name: sorted(parts) for name, parts in sorted(found.items())}


def _series_of_build(app) -> dict[str, list[tuple[int, str]]]:
    """:func:`series_posts` once per build, not once per post of a series."""
    return per_build(app, "series", lambda: series_posts(app.env))


def check_parts(app, env) -> None:
    """Every series is numbered 1..n with no gap and no repeated part."""
    for name, parts in _series_of_build(app).items():
        seen: dict[int, str] = {}
        for part, docname in parts:
            line = post_records(env)[docname]["lines"].get("series", 1)
            if part in seen:
                other = env.doc2path(seen[part]).relative_to(app.srcdir).as_posix()
                logger.error("series %r: part %d is also %s; give each post its own part",
                             name, part, other, location=(docname, line),
                             type="mlnotes", subtype="series")
            else:
                seen[part] = docname
        missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
        if missing:
            after = min(p for p in seen if p > missing[0])
            docname = seen[after]
            logger.error("series %r has no part %s (its parts are %s); number the parts "
                         "1, 2, 3 ... without gaps", name, ", ".join(map(str, missing)),
                         ", ".join(map(str, sorted(seen))),
                         location=(docname, post_records(env)[docname]["lines"].get("series", 1)),
                         type="mlnotes", subtype="series")


def visible_parts(total: int, here: int, radius: int = 3) -> list[int | None]:
    """Indices of the parts the series box lists, ``None`` for an elided run.

    A long series must not make every one of its pages list every part (page
    weight would grow with the series): the box shows the first and last parts
    and those within *radius* of the current one.

    >>> visible_parts(5, 2)
    [0, 1, 2, 3, 4]
    >>> visible_parts(20, 10)
    [0, None, 7, 8, 9, 10, 11, 12, 13, None, 19]
    >>> visible_parts(20, 1)
    [0, 1, 2, 3, 4, None, 19]
    """
    keep = sorted({0, total - 1, *range(max(0, here - radius), min(total, here + radius + 1))})
    shown: list[int | None] = []
    for index in keep:
        if shown and shown[-1] is not None and index > shown[-1] + 1:
            shown.append(None)
        shown.append(index)
    return shown


def views(app, env) -> dict[str, tuple]:
    result = {}
    for name, parts in _series_of_build(app).items():
        listing = tuple((part, doc, title(env, doc)) for part, doc in parts)
        for _, doc in parts:
            result[doc] = (app.config.blog_series.get(name, name), listing)
    return result


def pages_to_rewrite(app, env) -> list[str]:
    return changed_views(app, env, "series", lambda: views(app, env))


def _link(app, fromdoc: str, docname: str, text: str) -> nodes.Node:
    if app.builder.format != "html":
        return nodes.Text(text)
    uri = app.builder.get_relative_uri(fromdoc, docname)
    return nodes.reference("", text, internal=True, refuri=uri)


def add_series_box(app, doctree, docname: str) -> None:
    if app.builder.format != "html":
        return
    meta = post_records(app.env).get(docname, {})
    if not meta.get("series"):
        return
    name = meta["series"]["name"]
    parts = _series_of_build(app)[name]
    docs = [doc for _, doc in parts]
    here = docs.index(docname)
    series_title = app.config.blog_series.get(name, name)

    box = nodes.container(classes=["mlnotes-series", "no-search"])
    heading = f"系列：{series_title}（第 {here + 1} 篇，共 {len(docs)} 篇）"
    box += nodes.rubric(heading, heading)
    listing = nodes.bullet_list(classes=["mlnotes-series-parts"])
    for index in visible_parts(len(docs), here):
        para = nodes.paragraph()
        if index is None:
            para += nodes.Text("……")
            listing += nodes.list_item("", para, classes=["mlnotes-elided"])
            continue
        doc = docs[index]
        para += nodes.Text(f"{index + 1}. ")
        para += nodes.Text(title(app.env, doc)) if doc == docname else \
            _link(app, docname, doc, title(app.env, doc))
        listing += nodes.list_item("", para, classes=["mlnotes-current"] if doc == docname else [])
    box += listing
    # after the line under the title (mlnotes_post_info's node), else after the title
    anchor = next(iter(doctree.findall(lambda node: node.tagname == "post_info")), None) or \
        next(iter(doctree.findall(nodes.title)))
    anchor.parent.insert(anchor.parent.index(anchor) + 1, box)

    nav = nodes.container(classes=["mlnotes-series-nav", "no-search"])
    for label, index in (("上一篇", here - 1), ("下一篇", here + 1)):
        para = nodes.paragraph(classes=[f"mlnotes-series-{'prev' if index < here else 'next'}"])
        if 0 <= index < len(docs):
            para += nodes.Text(f"{series_title}·{label}：")
            para += _link(app, docname, docs[index], title(app.env, docs[index]))
        nav += para
    doctree += nav


def setup(app):
    track_builds(app)   # per-build state and view tracking (mlnotes_core)
    app.setup_extension("mlnotes_frontmatter")
    app.setup_extension("mlnotes_linkgraph")
    app.connect("env-check-consistency", check_parts)
    app.connect("env-get-updated", pages_to_rewrite)
    app.connect("doctree-resolved", add_series_box, priority=400)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
