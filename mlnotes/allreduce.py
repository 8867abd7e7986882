r"""Collective communication: a step-by-step simulation of ring all-reduce and the α–β cost model.

:math:`N` workers each hold a vector :math:`x_j` of :math:`S` elements; all-reduce leaves
every worker with :math:`\sum_j x_j`.  The ring algorithm cuts each vector into :math:`N`
chunks (sizes differ by at most one when :math:`N` does not divide :math:`S`) and runs
a reduce-scatter followed by an all-gather, :math:`N-1` steps each; in every step worker
:math:`i` sends one chunk to its neighbour :math:`i+1 \bmod N`.

Worker buffers are one array of shape ``(N, S)``, row ``i`` being worker ``i``'s memory.
"Traffic" is counted in elements sent; multiply by the bytes per element for bytes.

Explained in the post ``posts/allreduce``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "chunk_bounds",
    "reduce_scatter_step",
    "all_gather_step",
    "ring_allreduce",
    "ring_traffic_per_worker",
    "ring_time",
    "reduce_broadcast_time",
    "tree_time",
]


def chunk_bounds(size: int, n: int) -> np.ndarray:
    r"""Boundaries of the :math:`N` chunks of a vector of length :math:`S`, shape ``(N + 1,)``.

    Chunk :math:`c` is ``[b[c], b[c+1])``; the first :math:`S \bmod N` chunks get one
    element more, as in ``numpy.array_split``.

    >>> chunk_bounds(10, 4)
    array([ 0,  3,  6,  8, 10])
    """
    sizes = np.full(n, size // n) + (np.arange(n) < size % n)   # (N,)
    return np.concatenate([[0], np.cumsum(sizes)])


def reduce_scatter_step(buf: np.ndarray, bounds: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Step :math:`t` (:math:`0\le t\le N-2`) of the ring reduce-scatter.

    Every worker :math:`i` sends its chunk :math:`c=(i-t)\bmod N` to worker :math:`i+1`,
    which adds it to its own copy of that chunk.  All sends happen at once, so the
    messages are read from the buffers *before* any of them is applied.

    Returns the new buffers ``(N, S)`` and the chunk index sent by each worker ``(N,)``.

    >>> buf, sent = reduce_scatter_step(np.array([[1., 2.], [10., 20.]]), chunk_bounds(2, 2), 0)
    >>> buf, sent
    (array([[ 1., 22.],
           [11., 20.]]), array([0, 1]))
    """
    n = buf.shape[0]
    sent = (np.arange(n) - t) % n                                     # (N,)
    msgs = [buf[i, bounds[c]:bounds[c + 1]].copy() for i, c in enumerate(sent)]
    out = buf.copy()
    for i, c in enumerate(sent):
        out[(i + 1) % n, bounds[c]:bounds[c + 1]] += msgs[i]
    return out, sent


def all_gather_step(buf: np.ndarray, bounds: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Step :math:`t` (:math:`0\le t\le N-2`) of the ring all-gather.

    Every worker :math:`i` sends chunk :math:`c=(i+1-t)\bmod N` to worker :math:`i+1`,
    which *overwrites* its copy.  After the reduce-scatter, worker :math:`i` owns the
    finished chunk :math:`(i+1)\bmod N`, so the first message of each worker is the chunk it owns.

    >>> buf, sent = all_gather_step(np.array([[1., 22.], [11., 20.]]), chunk_bounds(2, 2), 0)
    >>> buf, sent
    (array([[11., 22.],
           [11., 22.]]), array([1, 0]))
    """
    n = buf.shape[0]
    sent = (np.arange(n) + 1 - t) % n                                 # (N,)
    msgs = [buf[i, bounds[c]:bounds[c + 1]].copy() for i, c in enumerate(sent)]
    out = buf.copy()
    for i, c in enumerate(sent):
        out[(i + 1) % n, bounds[c]:bounds[c + 1]] = msgs[i]
    return out, sent


def ring_allreduce(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    r"""Ring all-reduce (sum) of the rows of ``x``, simulated step by step.

    .. math:: y_i = \sum_{j=0}^{N-1} x_j \quad\text{for every worker } i

    Parameters
    ----------
    x : array of shape ``(N, S)``; row ``j`` is worker ``j``'s input.

    Returns
    -------
    y : ``(N, S)``, every row equal to ``x.sum(0)`` (up to floating-point rounding).
    sent : ``(N,)``, elements sent by each worker, :math:`2(N-1)S/N` when :math:`N \mid S`.
    history : :math:`2N-1` arrays of shape ``(N, N)``: ``h[i, c]`` is the number of
        workers whose data is summed in worker ``i``'s copy of chunk ``c``, before the
        first step and after every step (the figure in the post).

    >>> y, sent, _ = ring_allreduce(np.array([[1., 2., 3.], [10., 20., 30.], [100., 200., 300.]]))
    >>> y[0], sent
    (array([111., 222., 333.]), array([4, 4, 4]))
    """
    buf = np.array(x, dtype=float)                                    # (N, S)
    n, size = buf.shape
    bounds = chunk_bounds(size, n)
    lengths = np.diff(bounds)                                         # (N,)
    sent_total = np.zeros(n, dtype=int)
    count = np.ones((n, n), dtype=int)                                # (N workers, N chunks)
    history = [count.copy()]
    for t in range(n - 1):
        buf, sent = reduce_scatter_step(buf, bounds, t)
        sent_total += lengths[sent]
        new = count.copy()
        for i, c in enumerate(sent):
            new[(i + 1) % n, c] += count[i, c]
        count = new
        history.append(count.copy())
    for t in range(n - 1):
        buf, sent = all_gather_step(buf, bounds, t)
        sent_total += lengths[sent]
        new = count.copy()
        for i, c in enumerate(sent):
            new[(i + 1) % n, c] = count[i, c]
        count = new
        history.append(count.copy())
    return buf, sent_total, history


def ring_traffic_per_worker(size: float, n: int) -> float:
    r"""Elements each worker sends in ring all-reduce: :math:`2\,\frac{N-1}{N}\,S`.

    >>> ring_traffic_per_worker(3, 3)
    4.0
    """
    return 2.0 * (n - 1) / n * size


def ring_time(size: float, n: int, alpha: float, beta: float) -> float:
    r"""α–β time of ring all-reduce.

    .. math:: T_\text{ring} = 2(N-1)\,\alpha + 2\,\frac{N-1}{N}\,S\,\beta

    :math:`\alpha` is the start-up latency of one message, :math:`\beta` the time per
    byte (or per element) and :math:`S` the vector size in the same unit.

    >>> round(ring_time(400e6, 8, 0.0, 1 / 10e9), 4)   # 400 MB, 8 workers, 10 GB/s
    0.07
    """
    return 2 * (n - 1) * alpha + 2.0 * (n - 1) / n * size * beta


def reduce_broadcast_time(size: float, n: int, alpha: float, beta: float) -> float:
    r"""α–β time of the naive scheme: everyone sends to one root, which sends the sum back.

    The root's link is the bottleneck: it receives :math:`N-1` full vectors and sends
    :math:`N-1` full vectors, one after the other,

    .. math:: T_\text{root} = 2(N-1)\,(\alpha + S\beta) .

    >>> round(reduce_broadcast_time(400e6, 8, 0.0, 1 / 10e9), 4)
    0.56
    """
    return 2 * (n - 1) * (alpha + size * beta)


def tree_time(size: float, n: int, alpha: float, beta: float) -> float:
    r"""α–β time of a binomial-tree reduce followed by a binomial-tree broadcast.

    Each of the :math:`2\lceil\log_2 N\rceil` rounds sends a whole vector:

    .. math:: T_\text{tree} = 2\lceil\log_2 N\rceil\,(\alpha + S\beta) .

    >>> tree_time(1.0, 8, 1.0, 0.0)
    6.0
    """
    return 2 * int(np.ceil(np.log2(n))) * (alpha + size * beta)
