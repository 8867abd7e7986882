"""mlnotes.concurrency: behaviour of the three executors, never their timings (the machine is shared)."""

import os
import threading

import pytest

from mlnotes import concurrency as c


def test_cpu_bound_closed_form():
    """i^2 mod 7 is periodic with period 7: 0,1,4,2,2,4,1, summing to 14 per period."""
    for n in (0, 1, 7, 10, 700, 1234):
        full, rest = divmod(n, 7)
        assert c.cpu_bound(n) == 14 * full + sum(i * i % 7 for i in range(rest))
    assert c.cpu_bound(10) == 19


@pytest.mark.parametrize("mode", c.MODES)
def test_every_mode_gives_the_same_results_in_order(mode):
    args = [1000, 10, 5000, 0, 77]
    assert c.run(c.cpu_bound, args, mode) == [c.cpu_bound(a) for a in args]
    assert c.run(c.io_bound, [0.0, 0.001, 0.0], mode) == [0.0, 0.001, 0.0]


def test_threads_share_the_process_processes_do_not():
    me = os.getpid()
    thread_ids = c.run(c.whoami, range(8), "thread", workers=4)
    assert {pid for pid, _ in thread_ids} == {me}
    assert threading.get_ident() not in {tid for _, tid in thread_ids}   # ran in worker threads
    process_ids = c.run(c.whoami, range(8), "process", workers=2)
    pids = {pid for pid, _ in process_ids}
    assert me not in pids and 1 <= len(pids) <= 2


def test_serial_runs_in_the_calling_thread():
    assert c.run(c.whoami, range(3), "serial") == [(os.getpid(), threading.get_ident())] * 3


def _append_to_global(x):
    _SEEN.append(x)
    return len(_SEEN)


_SEEN: list = []


def test_threads_share_globals_processes_get_a_copy():
    """A worker that appends to a module-level list: visible afterwards for threads, not for processes."""
    _SEEN.clear()
    c.run(_append_to_global, range(5), "thread", workers=2)
    assert sorted(_SEEN) == [0, 1, 2, 3, 4]
    _SEEN.clear()
    c.run(_append_to_global, range(5), "process", workers=2)
    assert _SEEN == []


def test_unknown_mode():
    with pytest.raises(ValueError):
        c.run(c.io_bound, [0.0], "fiber")


def test_benchmark_shape():
    result = c.benchmark(n_tasks=2, cpu_n=1000, sleep=0.0)
    assert set(result) == {(t, m) for t in ("cpu", "io") for m in c.MODES}
    assert all(v >= 0 for v in result.values())


def test_memory_layout_owners():
    owners = dict(c.MEMORY_LAYOUT)
    assert owners["heap"] == "shared" and owners["data / bss (globals)"] == "shared"
    assert {v for k, v in owners.items() if k.startswith("stack")} == {"thread 1", "thread 2"}
