"""The benchmark runs (N = 10): its own smoke test.  No timing is asserted."""

import json

import bench
import pytest


@pytest.mark.slow   # builds the benchmark's corpora (30 s): not in make test-fast
def test_bench_smoke(tmp_path, capsys):
    assert bench.main(["--sizes", "10", "--variants", "site,floor", "--latex-sizes", "",
                       "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [(r["variant"], r["n"]) for r in results] == [("site", 10), ("floor", 10)]
    site = results[0]
    # posts, concepts, indexes, book, graph, glossary
    assert site["full"]["read"] == 10 + bench.N_CONCEPTS + 5
    assert site["nochange"]["read"] == 0 and site["nochange"]["written"] == 0
    assert site["edit"]["read"] <= 3
    assert (tmp_path / "build-time.png").stat().st_size > 1000
    table = (tmp_path / "results.md").read_text()
    assert "| 10 | site |" in table and "| 10 | floor |" in table
    # the corpus is shaped like the real posts: a figure, included code, glossary terms
    assert site["largest_post_doctree_kib"] > 0
    search = site["search"]
    assert search["pages"] >= 10 and search["index_mib"] > 0
    if search.get("queries"):          # measured in Chromium when it is installed
        assert all(q["results"] > 0 for q in search["queries"]), search["queries"]
