"""mlnotes.allreduce against the plain sum, the traffic formula and the numbers in posts/allreduce.md."""

import numpy as np
import pytest

from mlnotes import allreduce as a


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("size", [1, 7, 12, 40, 101])
def test_ring_allreduce_equals_sum(n, size):
    rng = np.random.default_rng(100 * n + size)
    x = rng.standard_normal((n, size))
    y, sent, history = a.ring_allreduce(x)
    assert y.shape == (n, size)
    np.testing.assert_allclose(y, np.broadcast_to(x.sum(0), (n, size)), rtol=0, atol=1e-12)
    # every step, the N workers send N distinct chunks: the whole vector once per step
    assert sent.sum() == 2 * (n - 1) * size
    assert len(history) == 2 * n - 1
    assert np.all(history[-1] == n)


@pytest.mark.parametrize(("n", "size"), [(2, 10), (3, 12), (4, 40), (8, 64), (5, 1000)])
def test_traffic_matches_formula_when_divisible(n, size):
    _, sent, _ = a.ring_allreduce(np.zeros((n, size)))
    assert np.all(sent == a.ring_traffic_per_worker(size, n))


def test_traffic_when_not_divisible():
    """Chunks differ by at most one element, so per-worker traffic is within 2(N-1) of the formula."""
    for n, size in [(3, 10), (4, 7), (8, 101)]:
        _, sent, _ = a.ring_allreduce(np.zeros((n, size)))
        assert np.all(np.abs(sent - a.ring_traffic_per_worker(size, n)) <= 2 * (n - 1))
        assert not np.all(sent == sent[0]) or size % n == 0


def test_chunk_bounds():
    for n, size in [(1, 5), (3, 3), (4, 10), (7, 100), (5, 3)]:
        b = a.chunk_bounds(size, n)
        assert b[0] == 0 and b[-1] == size and len(b) == n + 1
        expected = [len(c) for c in np.array_split(np.arange(size), n)]
        assert list(np.diff(b)) == expected


def test_reduce_scatter_invariant():
    """After step t, worker i+1's chunk (i - t) mod N holds the sum of workers i-t, ..., i+1."""
    n, size = 5, 15
    x = np.random.default_rng(0).standard_normal((n, size))
    bounds = a.chunk_bounds(size, n)
    buf = x.copy()
    for t in range(n - 1):
        buf, _ = a.reduce_scatter_step(buf, bounds, t)
        for i in range(n):
            c = (i - t) % n
            workers = [(i - t + k) % n for k in range(t + 2)]
            seg = slice(bounds[c], bounds[c + 1])
            np.testing.assert_allclose(buf[(i + 1) % n, seg], x[workers, seg].sum(0), atol=1e-12)
    # after the reduce-scatter worker k owns the finished chunk (k + 1) mod N
    for k in range(n):
        c = (k + 1) % n
        seg = slice(bounds[c], bounds[c + 1])
        np.testing.assert_allclose(buf[k, seg], x[:, seg].sum(0), atol=1e-12)


def test_worked_example_in_post():
    x = np.array([[1., 2., 3.], [10., 20., 30.], [100., 200., 300.]])
    bounds = a.chunk_bounds(3, 3)
    buf, sent = a.reduce_scatter_step(x, bounds, 0)
    assert list(sent) == [0, 1, 2]
    assert buf.tolist() == [[1, 2, 303], [11, 20, 30], [100, 220, 300]]
    buf, sent = a.reduce_scatter_step(buf, bounds, 1)
    assert list(sent) == [2, 0, 1]
    assert buf.tolist() == [[1, 222, 303], [11, 20, 333], [111, 220, 300]]
    buf, _ = a.all_gather_step(buf, bounds, 0)
    assert buf.tolist() == [[111, 222, 303], [11, 222, 333], [111, 220, 333]]
    buf, _ = a.all_gather_step(buf, bounds, 1)
    assert buf.tolist() == [[111, 222, 333]] * 3
    y, sent, history = a.ring_allreduce(x)
    assert list(sent) == [4, 4, 4]
    assert history[2].tolist() == [[1, 3, 2], [2, 1, 3], [3, 2, 1]]


def test_cost_model_numbers_in_post():
    """400 MB of gradients, 8 workers, 10 GB/s links, alpha = 10 us."""
    size, n, beta, alpha = 400e6, 8, 1 / 10e9, 10e-6
    assert a.ring_time(size, n, 0.0, beta) == pytest.approx(0.07)
    assert a.reduce_broadcast_time(size, n, 0.0, beta) == pytest.approx(0.56)
    assert a.tree_time(size, n, 0.0, beta) == pytest.approx(0.24)
    assert a.ring_time(size, n, alpha, beta) == pytest.approx(0.07014)
    # a 4 KB message on 64 workers: latency dominates, the tree wins
    assert a.ring_time(4e3, 64, alpha, beta) == pytest.approx(126 * 10e-6 + 2 * 63 / 64 * 4e3 / 10e9)
    assert a.tree_time(4e3, 64, alpha, beta) < a.ring_time(4e3, 64, alpha, beta) / 5


def test_ring_approaches_bandwidth_bound():
    """Per-worker traffic 2(N-1)/N S never exceeds 2S: the bandwidth term hardly grows with N."""
    sizes = [a.ring_traffic_per_worker(1.0, n) for n in range(2, 200)]
    assert np.all(np.diff(sizes) > 0) and max(sizes) < 2.0
    assert a.ring_time(1.0, 2, 0.0, 1.0) == pytest.approx(1.0)


def test_numbers_printed_in_the_post():
    """The cost-model numbers as printed in the prose and the figures' alt text, at the precision printed."""
    size, n, alpha, beta = 400e6, 8, 10e-6, 1 / 10e9
    ring = a.ring_time(size, n, alpha, beta)
    assert a.ring_time(size, n, 0.0, beta) == pytest.approx(0.07, abs=5e-3)          # bandwidth term 0.07 s
    assert a.ring_time(size, n, alpha, 0.0) == pytest.approx(0.14e-3, abs=5e-6)      # latency term 0.14 ms
    assert ring == pytest.approx(0.0701, abs=5e-5)                                   # 合计约 0.0701 s
    root = a.reduce_broadcast_time(size, n, alpha, beta)
    assert root == pytest.approx(0.56, abs=5e-3)
    assert root / ring == pytest.approx(8, abs=0.5)                                  # 慢 8 倍
    tree = a.tree_time(size, n, alpha, beta)
    assert tree == pytest.approx(0.24, abs=5e-3)
    assert 3 < tree / ring < 4                                                       # 是环的三倍多
    # 4 KB on 64 workers: ring about 1.26 ms, tree about 0.12 ms
    assert a.ring_time(4e3, 64, alpha, beta) == pytest.approx(1.26e-3, abs=5e-6)
    assert a.tree_time(4e3, 64, alpha, beta) == pytest.approx(0.12e-3, abs=5e-6)
    # the cost figure (64 workers, 1 KB to 1 GB): root always slowest; ring fastest above about 1 MB,
    # and about 6 times faster than the tree at 1 GB
    sizes = np.logspace(3, 9, 6001)
    r = np.array([a.ring_time(s, 64, alpha, beta) for s in sizes])
    t = np.array([a.tree_time(s, 64, alpha, beta) for s in sizes])
    rb = np.array([a.reduce_broadcast_time(s, 64, alpha, beta) for s in sizes])
    assert np.all(rb >= np.maximum(r, t))
    cross = sizes[np.argmax(r < t)]
    assert np.all(r[sizes >= cross] < t[sizes >= cross])
    assert cross == pytest.approx(1e6, abs=0.5e6)
    assert t[-1] / r[-1] == pytest.approx(6, abs=0.5)
    # the N = 4 step figure: after the 3 reduce-scatter steps each row has exactly one 4
    _, _, history = a.ring_allreduce(np.zeros((4, 16)))
    assert len(history) == 7
    assert np.all((history[3] == 4).sum(axis=1) == 1)
    assert np.all(history[-1] == 4)
