"""Related posts: the pair-accumulating ranking gives what comparing every pair gives."""

import datetime as dt
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
from mlnotes_related import rank  # noqa: E402


def rank_every_pair(posts, out, limit):
    """The definition (module docstring of mlnotes_related), pair by pair."""
    related = {}
    for post, meta in posts.items():
        ranked = []
        for other, other_meta in posts.items():
            if other == post:
                continue
            score = 3 * (other in out.get(post, ())) + 3 * (post in out.get(other, ()))
            score += len((out.get(post, set()) & out.get(other, set())) - {post, other})
            score += 2 * len(set(meta.get("tags", ())) & set(other_meta.get("tags", ())))
            series, other_series = meta.get("series"), other_meta.get("series")
            if series and other_series and series["name"] == other_series["name"]:
                score += 2
            if score > 0:
                date = other_meta.get("date")
                ranked.append((-score, -(date.toordinal() if date else 0), other))
        related[post] = [doc for *_, doc in sorted(ranked)[:limit]]
    return related


def test_rank_orders_by_points_then_date():
    posts = {"a": {"tags": ["x", "y"]}, "b": {"tags": ["x", "y"]},
             "c": {"tags": ["x"], "date": dt.date(2024, 1, 1)}, "d": {"tags": ["x"]}, "e": {}}
    assert rank(posts, {}, 5) == {"a": ["b", "c", "d"], "b": ["a", "c", "d"], "c": ["a", "b", "d"],
                                  "d": ["c", "a", "b"], "e": []}


@pytest.mark.parametrize("seed", range(200))
def test_rank_matches_every_pair_comparison(seed):
    rng = random.Random(seed)
    n = rng.randrange(1, 30)
    docs = [f"posts/p{i}" for i in range(n)] + ["concepts/a", "concepts/b", "concepts/c"]
    posts = {}
    for doc in docs[:n]:
        meta = {"tags": rng.sample(list("abcde"), rng.randrange(0, 4))}
        if rng.random() < 0.3:
            meta["tags"] += meta["tags"][:1]          # a tag given twice
        if rng.random() < 0.5:
            meta["date"] = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(5))
        if rng.random() < 0.4:
            meta["series"] = {"name": rng.choice("st"), "part": 1}
        posts[doc] = meta
    out = {doc: set(rng.sample(docs, rng.randrange(0, 5))) - {doc} for doc in docs}
    limit = rng.randrange(1, 6)
    expected = rank_every_pair(posts, out, limit)
    assert rank(posts, out, limit) == expected
