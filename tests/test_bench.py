"""The benchmark runs (N = 10): its own smoke test.  No timing is asserted."""

import json

import bench


def test_bench_smoke(tmp_path, capsys):
    assert bench.main(["--sizes", "10", "--variants", "site,floor", "--latex-sizes", "",
                       "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [(r["variant"], r["n"]) for r in results] == [("site", 10), ("floor", 10)]
    site = results[0]
    assert site["full"]["read"] == 10 + bench.N_CONCEPTS + 4      # posts, concepts, indexes, book, graph
    assert site["nochange"]["read"] == 0 and site["nochange"]["written"] == 0
    assert site["edit"]["read"] <= 3
    assert (tmp_path / "build-time.png").stat().st_size > 1000
    table = (tmp_path / "results.md").read_text()
    assert table.count("\n") == 4 and "| 10 | site |" in table
