"""Related posts: at the end of each post, the posts closest to it.

Closeness is counted from what the site already knows, so it needs nothing from
authors: a direct link either way (3 points each way), each shared link target
(1 point: both build on the same page), each shared tag (2 points) and the same
series (2 points).  Ties go to the newer post, then the file name, so the list
is deterministic.  At most ``related_posts_max`` posts are shown, never the post
itself and never a post with no point.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from mlnotes_core import changed_views, graph, link_list, per_build, post_records, track_builds

__version__ = "1.0"


def rank(posts: dict[str, dict], out: dict[str, set[str]], limit: int) -> dict[str, list[str]]:
    """Post -> its related posts, best first (the scoring of the module docstring).

    Points are accumulated per pair from what the posts share (their links, each
    tag, the series) rather than by comparing every pair, so the cost follows the
    pairs that score, not N squared.

    >>> posts = {"a": {"tags": ["x"]}, "b": {"tags": ["x"]}, "c": {"tags": []}}
    >>> rank(posts, {"c": {"a"}}, 5)
    {'a': ['c', 'b'], 'b': ['a'], 'c': ['a']}
    """
    points: dict[str, Counter] = {post: Counter() for post in posts}
    members: dict[tuple, list[str]] = defaultdict(list)
    for post, meta in posts.items():
        targets = out.get(post, set())
        for target in targets:
            if target in posts and target != post:   # a direct link counts both ways
                points[post][target] += 3
                points[target][post] += 3
            members["link", target].append(post)
        for tag in set(meta.get("tags", ())):
            members["tag", tag].append(post)
        if meta.get("series"):
            members["series", meta["series"]["name"]].append(post)
    weight = {"link": 1, "tag": 2, "series": 2}
    for (kind, value), group in members.items():
        for post in group:
            counter = points[post]
            for other in group:
                if other != post and not (kind == "link" and value in (post, other)):
                    counter[other] += weight[kind]
    related = {}
    for post, counter in points.items():
        ranked = sorted((-score, -_ordinal(posts[other]), other)
                        for other, score in counter.items() if score > 0)
        related[post] = [other for *_, other in ranked[:limit]]
    return related


def _ordinal(meta: dict) -> int:
    date = meta.get("date")
    return date.toordinal() if date else 0


def scores(app) -> dict[str, list[str]]:
    """Post -> its related posts, best first."""
    return rank(post_records(app.env), graph(app).out,
                app.config.related_posts_max)


def related(app) -> dict[str, list[str]]:
    """:func:`scores`, computed once per build."""
    return per_build(app, "related", lambda: scores(app))


def pages_to_rewrite(app, env) -> list[str]:
    return changed_views(app, env, "related",
                         lambda: {doc: tuple(docs) for doc, docs in related(app).items()},
                         inputs=(app.config.related_posts_max,))


def add_related(app, doctree, docname: str) -> None:
    if app.builder.format != "html" or docname not in post_records(app.env):
        return
    docs = related(app).get(docname)
    if docs:
        doctree += link_list(app, docname, docs, ["mlnotes-related"], "相关文章")


def setup(app):
    track_builds(app)   # per-build state and view tracking (mlnotes_core)
    app.setup_extension("mlnotes_linkgraph")
    app.add_config_value("related_posts_max", 5, "html", types=frozenset({int}))
    app.connect("env-get-updated", pages_to_rewrite)
    app.connect("doctree-resolved", add_related, priority=450)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
