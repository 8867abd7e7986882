r"""Processes and threads in Python: the same tasks run serially, in a thread pool and in a process pool.

Two kinds of task:

* :func:`cpu_bound` keeps the interpreter busy with pure-Python arithmetic, so under the
  GIL only one thread at a time makes progress;
* :func:`io_bound` waits (``time.sleep`` stands in for a network or disk wait), during
  which the GIL is released.

:func:`run` executes a list of calls with ``mode`` in ``{"serial", "thread", "process"}``
using ``concurrent.futures``; :func:`benchmark` times all six combinations.
:func:`whoami` reports the process id and thread id a call ran in, which is how the tests
check that thread workers share one process and process workers do not.

Explained in the post ``posts/processes-and-threads``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

__all__ = [
    "cpu_bound",
    "io_bound",
    "whoami",
    "run",
    "timed_run",
    "benchmark",
    "MEMORY_LAYOUT",
]

MODES = ("serial", "thread", "process")

#: The regions of a process with two threads, as ``(region, owner)`` pairs from high to low
#: address; the owner is ``"shared"`` (one copy per process) or a thread name (one per thread).
MEMORY_LAYOUT = [
    ("kernel", "shared"),
    ("stack (thread 1)", "thread 1"),
    ("stack (thread 2)", "thread 2"),
    ("memory maps / shared libraries", "shared"),
    ("heap", "shared"),
    ("data / bss (globals)", "shared"),
    ("text (code)", "shared"),
]


def cpu_bound(n: int) -> int:
    r"""Pure-Python work: :math:`\sum_{i<n} (i^2 \bmod 7)`.

    >>> cpu_bound(10)   # 0+1+4+2+2+4+1+0+1+4
    19
    """
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def io_bound(seconds: float) -> float:
    """Wait ``seconds`` without using the CPU (a stand-in for network or disk I/O).

    >>> io_bound(0.0)
    0.0
    """
    time.sleep(seconds)
    return seconds


def whoami(_: object = None) -> tuple[int, int]:
    """The ``(process id, thread id)`` this call runs in.

    >>> whoami()[0] == os.getpid()
    True
    """
    return os.getpid(), threading.get_ident()


def run(fn: Callable, args: list, mode: str, workers: int = 2) -> list:
    """``[fn(a) for a in args]``, executed serially, by a thread pool or by a process pool.

    Results come back in the order of ``args`` whatever the mode.  For ``"process"`` the
    function and its arguments are pickled, so ``fn`` must be importable (defined at module
    level).

    >>> run(cpu_bound, [10, 20], "thread")
    [19, 41]
    """
    if mode == "serial":
        return [fn(a) for a in args]
    pools = {"thread": ThreadPoolExecutor, "process": ProcessPoolExecutor}
    if mode not in pools:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    with pools[mode](max_workers=workers) as pool:
        return list(pool.map(fn, args))


def timed_run(fn: Callable, args: list, mode: str, workers: int = 2) -> tuple[list, float]:
    """:func:`run` plus its wall-clock time in seconds (pool start-up included).

    >>> results, seconds = timed_run(io_bound, [0.0, 0.0], "serial")
    >>> results, seconds >= 0
    ([0.0, 0.0], True)
    """
    start = time.perf_counter()
    results = run(fn, args, mode, workers)
    return results, time.perf_counter() - start


def benchmark(n_tasks: int = 4, cpu_n: int = 5_000_000, sleep: float = 0.2,
              workers: int = 2) -> dict[tuple[str, str], float]:
    """Wall-clock seconds of ``n_tasks`` CPU-bound and ``n_tasks`` I/O-bound calls in every mode.

    Returns ``{(task, mode): seconds}`` with task in ``{"cpu", "io"}``.  The numbers depend
    on the machine and its load, so the post gives no measured numbers; it works out what to
    expect (the I/O times from the sleep durations).
    """
    tasks = {"cpu": (cpu_bound, [cpu_n] * n_tasks), "io": (io_bound, [sleep] * n_tasks)}
    return {(name, mode): timed_run(fn, args, mode, workers)[1]
            for name, (fn, args) in tasks.items() for mode in MODES}
