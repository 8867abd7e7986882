r"""Sliding window maximum (LeetCode 239): brute force, heap, monotonic deque.

Given :math:`x_0,\dots,x_{n-1}` and a window length :math:`1\le k\le n`, return
:math:`y_i=\max(x_i,\dots,x_{i+k-1})` for :math:`i=0,\dots,n-k`.

All three functions take an optional ``stats`` dict and add to it the number of
comparisons between array values (``"comparisons"``) and, for the heap and
the deque, the number of pushes and pops.  The counts, not timings, are what
the post plots.

Explained in the post ``posts/sliding-window-maximum``.
"""

from __future__ import annotations

import heapq
from collections import deque

__all__ = [
    "max_sliding_window_brute",
    "max_sliding_window_heap",
    "max_sliding_window_deque",
    "deque_trace",
]


def _check(nums: list, k: int) -> None:
    if not 1 <= k <= len(nums):
        raise ValueError(f"need 1 <= k <= len(nums), got k={k}, len(nums)={len(nums)}")


def _count(stats: dict | None, key: str, amount: int = 1) -> None:
    if stats is not None:
        stats[key] = stats.get(key, 0) + amount


def max_sliding_window_brute(nums: list, k: int, stats: dict | None = None) -> list:
    r"""Scan every window: :math:`(n-k+1)(k-1)` comparisons, :math:`O(nk)` time.

    >>> max_sliding_window_brute([1, 3, -1, -3, 5, 3, 6, 7], 3)
    [3, 3, 5, 5, 6, 7]
    """
    _check(nums, k)
    out = []
    for i in range(len(nums) - k + 1):
        best = nums[i]
        for j in range(i + 1, i + k):
            _count(stats, "comparisons")
            if nums[j] > best:
                best = nums[j]
        out.append(best)
    return out


class _Entry:
    """Heap entry ordered so that the largest value is on top; counts comparisons."""

    __slots__ = ("value", "index", "stats")

    def __init__(self, value, index: int, stats: dict | None):
        self.value, self.index, self.stats = value, index, stats

    def __lt__(self, other: _Entry) -> bool:
        _count(self.stats, "comparisons")
        return self.value > other.value           # max-heap on top of heapq's min-heap


def max_sliding_window_heap(nums: list, k: int, stats: dict | None = None) -> list:
    r"""Max-heap of (value, index) with lazy deletion: :math:`O(n\log n)` time.

    Entries that have left the window are not removed when they leave; they are
    popped only once they reach the top.  Every index is pushed once and popped
    at most once, and the heap never holds more than :math:`n` entries.

    >>> max_sliding_window_heap([1, 3, -1, -3, 5, 3, 6, 7], 3)
    [3, 3, 5, 5, 6, 7]
    """
    _check(nums, k)
    heap: list[_Entry] = []
    out = []
    for i, x in enumerate(nums):
        heapq.heappush(heap, _Entry(x, i, stats))
        _count(stats, "pushes")
        if i >= k - 1:
            while heap[0].index <= i - k:          # top is outside the window [i-k+1, i]
                heapq.heappop(heap)
                _count(stats, "pops")
            out.append(heap[0].value)
    return out


def max_sliding_window_deque(nums: list, k: int, stats: dict | None = None) -> list:
    r"""Monotonic deque of indices: :math:`O(n)` time, at most :math:`2n` comparisons.

    Invariant: the deque holds indices inside the window, in increasing order,
    whose values are strictly decreasing; its front is the window's maximum.
    Each index is pushed once and popped at most once.

    >>> max_sliding_window_deque([1, 3, -1, -3, 5, 3, 6, 7], 3)
    [3, 3, 5, 5, 6, 7]
    """
    _check(nums, k)
    dq: deque[int] = deque()
    out = []
    for i, x in enumerate(nums):
        if dq and dq[0] <= i - k:                  # front has left the window
            dq.popleft()
            _count(stats, "pops")
        while dq:
            _count(stats, "comparisons")
            if nums[dq[-1]] > x:
                break
            dq.pop()                               # dominated by x: never a maximum again
            _count(stats, "pops")
        dq.append(i)
        _count(stats, "pushes")
        if i >= k - 1:
            out.append(nums[dq[0]])
    return out


def deque_trace(nums: list, k: int) -> list[dict]:
    r"""Step-by-step state of :func:`max_sliding_window_deque`, for the trace table.

    One dict per index ``i``: the indices popped from the front (expired) and
    from the back (dominated), the deque afterwards, and the output (or ``None``
    before the first full window).

    >>> deque_trace([2, 1, 3], 2)[2]
    {'i': 2, 'x': 3, 'expired': [0], 'dominated': [1], 'deque': [2], 'max': 3}
    """
    _check(nums, k)
    dq: deque[int] = deque()
    steps = []
    for i, x in enumerate(nums):
        expired = [dq.popleft()] if dq and dq[0] <= i - k else []
        dominated = []
        while dq and nums[dq[-1]] <= x:
            dominated.append(dq.pop())
        dq.append(i)
        steps.append({"i": i, "x": x, "expired": expired, "dominated": dominated,
                      "deque": list(dq), "max": nums[dq[0]] if i >= k - 1 else None})
    return steps
