"""Related posts: at the end of each post, the posts closest to it.

Closeness is counted from what the site already knows, so it needs nothing from
authors: a direct link either way (3 points each way), each shared link target
(1 point: both build on the same page), each shared tag (2 points) and the same
series (2 points).  Ties go to the newer post, then the file name, so the list
is deterministic.  At most ``related_posts_max`` posts are shown, never the post
itself and never a post with no point.
"""

from __future__ import annotations

from mlnotes_linkgraph import changed_views, graph, link_list

__version__ = "1.0"


def scores(app) -> dict[str, list[str]]:
    """Post -> its related posts, best first."""
    env, g = app.env, graph(app)
    posts = getattr(env, "mlnotes_posts", {})
    related = {}
    for post, meta in posts.items():
        ranked = []
        for other, other_meta in posts.items():
            if other == post:
                continue
            score = 3 * (other in g.out.get(post, ())) + 3 * (post in g.out.get(other, ()))
            score += len((g.out.get(post, set()) & g.out.get(other, set())) - {post, other})
            score += 2 * len(set(meta.get("tags", ())) & set(other_meta.get("tags", ())))
            series, other_series = meta.get("series"), other_meta.get("series")
            if series and other_series and series["name"] == other_series["name"]:
                score += 2
            if score > 0:
                date = other_meta.get("date")
                ranked.append((-score, -(date.toordinal() if date else 0), other))
        related[post] = [doc for *_, doc in sorted(ranked)[:app.config.related_posts_max]]
    return related


def related(app) -> dict[str, list[str]]:
    """:func:`scores`, computed once per build (it compares every pair of posts)."""
    cached = getattr(app, "_mlnotes_related", None)
    if cached is None or cached[0] is not app.env:
        cached = app._mlnotes_related = (app.env, scores(app))
    return cached[1]


def pages_to_rewrite(app, env) -> list[str]:
    return changed_views(env, "related", {doc: tuple(docs) for doc, docs in related(app).items()})


def add_related(app, doctree, docname: str) -> None:
    if app.builder.format != "html" or docname not in getattr(app.env, "mlnotes_posts", {}):
        return
    docs = related(app).get(docname)
    if docs:
        doctree += link_list(app, docname, docs, ["mlnotes-related"], "相关文章")


def setup(app):
    app.setup_extension("mlnotes_linkgraph")
    app.add_config_value("related_posts_max", 5, "html", types=frozenset({int}))
    app.connect("env-get-updated", pages_to_rewrite)
    app.connect("doctree-resolved", add_related, priority=450)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
