"""mlnotes.sliding_window: the LeetCode example, the trace table in the post, random arrays vs brute force."""

import numpy as np
import pytest

from mlnotes import sliding_window as sw

ALGORITHMS = [sw.max_sliding_window_brute, sw.max_sliding_window_heap, sw.max_sliding_window_deque]
EXAMPLE = [1, 3, -1, -3, 5, 3, 6, 7]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_leetcode_example(algorithm):
    assert algorithm(EXAMPLE, 3) == [3, 3, 5, 5, 6, 7]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_edge_cases(algorithm):
    assert algorithm([4], 1) == [4]
    assert algorithm(EXAMPLE, 1) == EXAMPLE
    assert algorithm(EXAMPLE, len(EXAMPLE)) == [7]
    assert algorithm([2, 2, 2, 2], 2) == [2, 2, 2]
    assert algorithm([5, 4, 3, 2, 1], 2) == [5, 4, 3, 2]
    for k in (0, 9):
        with pytest.raises(ValueError):
            algorithm(EXAMPLE, k)


def test_random_arrays_against_brute_force():
    rng = np.random.default_rng(239)
    for _ in range(500):
        n = int(rng.integers(1, 60))
        k = int(rng.integers(1, n + 1))
        # small integer range: many ties, which is where "<" versus "<=" bugs hide
        nums = rng.integers(-5, 6, size=n).tolist() if rng.random() < 0.5 else rng.normal(size=n).tolist()
        expected = sw.max_sliding_window_brute(nums, k)
        assert expected == [max(nums[i:i + k]) for i in range(n - k + 1)]
        assert sw.max_sliding_window_heap(nums, k) == expected
        assert sw.max_sliding_window_deque(nums, k) == expected


def test_trace_table_in_post():
    trace = sw.deque_trace(EXAMPLE, 3)
    rows = [(s["expired"], s["dominated"], s["deque"], s["max"]) for s in trace]
    assert rows == [
        ([], [], [0], None),
        ([], [0], [1], None),
        ([], [], [1, 2], 3),
        ([], [], [1, 2, 3], 3),
        ([1], [3, 2], [4], 5),
        ([], [], [4, 5], 5),
        ([], [5, 4], [6], 6),
        ([], [6], [7], 7),
    ]


def test_operation_counts_in_post():
    brute, heap, dq = {}, {}, {}
    sw.max_sliding_window_brute(EXAMPLE, 3, brute)
    sw.max_sliding_window_heap(EXAMPLE, 3, heap)
    sw.max_sliding_window_deque(EXAMPLE, 3, dq)
    assert brute == {"comparisons": 12}
    assert dq == {"comparisons": 9, "pushes": 8, "pops": 7}
    assert heap["pushes"] == 8


def test_amortised_bounds():
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=2000).tolist(), list(range(2000)), list(range(2000, 0, -1)), [1] * 2000]
    for nums in inputs:
        n = len(nums)
        for k in (1, 7, 100, n):
            dq, heap, brute = {}, {}, {}
            sw.max_sliding_window_deque(nums, k, dq)
            assert dq["pushes"] == n and dq.get("pops", 0) <= n and dq.get("comparisons", 0) <= 2 * n
            sw.max_sliding_window_heap(nums, k, heap)
            assert heap["pushes"] == n and heap.get("pops", 0) <= n
            assert heap.get("comparisons", 0) <= 2 * 2 * n * np.log2(n + 1)   # heapq: <= ~2 log2(size) per op
            sw.max_sliding_window_brute(nums, k, brute)
            assert brute.get("comparisons", 0) == (n - k + 1) * (k - 1)


def test_heap_grows_on_increasing_input():
    """Lazy deletion never fires when every new value is the largest: nothing is ever popped."""
    stats = {}
    sw.max_sliding_window_heap(list(range(100)), 5, stats)
    assert stats.get("pops", 0) == 0


def test_numbers_printed_in_the_post():
    """The counts behind the figure (k = 32, n = 250 ... 4000) and the prose about it."""
    import math

    k, ns = 32, [250, 500, 1000, 2000, 4000]
    rng = np.random.default_rng(0)
    for n in ns:
        random, increasing = rng.normal(size=n).tolist(), list(range(n))
        counts = {}
        for name, f in (("brute", sw.max_sliding_window_brute), ("heap", sw.max_sliding_window_heap),
                        ("deque", sw.max_sliding_window_deque)):
            for kind, nums in (("random", random), ("increasing", increasing)):
                stats = {}
                f(nums, k, stats)
                counts[name, kind] = stats.get("comparisons", 0)
        # brute force: exactly (n - k + 1)(k - 1) for every input
        assert counts["brute", "random"] == counts["brute", "increasing"] == (n - k + 1) * (k - 1)
        # the deque stays below the 2n reference line
        assert counts["deque", "random"] < 2 * n and counts["deque", "increasing"] < 2 * n
        # increasing input: every push sifts to the top, sum_i floor(log2 i) ~ n log2 n comparisons
        assert counts["heap", "increasing"] == sum(int(math.log2(i)) for i in range(1, n + 1))
        assert 0.7 < counts["heap", "increasing"] / (n * math.log2(n)) <= 1
        # the order of the lines in the figure
        assert counts["brute", "random"] > counts["heap", "increasing"] > max(counts["heap", "random"],
                                                                             counts["deque", "random"])
    # "(n - k + 1)(k - 1) ≈ 31n": the leading term, reached at the right end of the figure
    assert (4000 - k + 1) * (k - 1) / 4000 == pytest.approx(31, abs=0.5)
