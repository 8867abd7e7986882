r"""Safe softmax and the online (one-pass) softmax normaliser.

For a vector :math:`x\in\mathbb R^n` the softmax is
:math:`y_i = e^{x_i}/\sum_j e^{x_j}`.  The *safe* form subtracts
:math:`m=\max_j x_j` first; the *online* form computes :math:`m` and the
normaliser :math:`d=\sum_j e^{x_j-m}` together in one sweep with the recurrence

.. math::

   m_j = \max(m_{j-1}, x_j),\qquad
   d_j = d_{j-1}\,e^{m_{j-1}-m_j} + e^{x_j-m_j},\qquad m_0=-\infty,\ d_0=0 .

A pair :math:`(m, d)` summarises any set of entries; two pairs merge with
:func:`merge_states`, which is what blockwise attention (FlashAttention) needs.
Entries may be :math:`-\infty` (masked); a vector whose entries are all
:math:`-\infty` has no softmax and gives NaN, like the textbook formula.

Explained on the concept page ``concepts/online-softmax``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "softmax_naive",
    "softmax_two_pass",
    "exp_shift",
    "online_normalizer",
    "softmax_online",
    "merge_states",
    "blockwise_normalizer",
]


def softmax_naive(x: np.ndarray) -> np.ndarray:
    r"""Textbook softmax :math:`e^{x_i}/\sum_j e^{x_j}`, without the max shift.

    Overflows for entries above about 709.78 (float64; 88.72 in float32) and
    underflows to 0/0 when every entry is below about -745.13 (float64;
    -103.97 in float32, or -87.34 when subnormals are flushed to zero).

    >>> softmax_naive(np.array([1.0, 2.0, 3.0])).round(4)
    array([0.09  , 0.2447, 0.6652])
    """
    e = np.exp(np.asarray(x, dtype=float))                # (n,)
    return e / e.sum()


def softmax_two_pass(x: np.ndarray) -> np.ndarray:
    r"""Safe softmax: pass 1 finds :math:`m=\max_j x_j`, pass 2 sums :math:`e^{x_j-m}`.

    .. math:: y_i = \frac{e^{x_i-m}}{\sum_j e^{x_j-m}}

    Every exponent is :math:`\le 0`, so nothing overflows, and the largest term
    is :math:`e^0=1`, so the sum is at least 1.

    >>> softmax_two_pass(np.array([1000.0, 1001.0, 1002.0])).round(4)
    array([0.09  , 0.2447, 0.6652])
    """
    x = np.asarray(x, dtype=float)                         # (n,)
    m = x.max()                                            # pass 1
    with np.errstate(invalid="ignore"):                    # all -inf: -inf - -inf = nan
        e = np.exp(x - m)                                  # (n,)
    return e / e.sum()                                     # pass 2 (sum), then normalise


def exp_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`e^{a-b}` for :math:`a\le b`, with :math:`e^{-\infty-(-\infty)} := 0`.

    The convention makes an empty state (:math:`m=-\infty`, :math:`d=0`) and a
    masked entry (:math:`x=-\infty`) contribute nothing instead of NaN.

    >>> exp_shift(np.array([0.0, -np.inf, -np.inf]), np.array([0.0, 1.0, -np.inf]))
    array([1., 0., 0.])
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    out = np.zeros(a.shape)
    live = a > -np.inf
    out[live] = np.exp(a[live] - b[live])
    return out


def online_normalizer(x: np.ndarray) -> tuple[float, float]:
    r"""Running max and normaliser of ``x`` in one sweep.

    .. math::

       m_j = \max(m_{j-1}, x_j),\qquad d_j = d_{j-1}\,e^{m_{j-1}-m_j} + e^{x_j-m_j}

    starting from :math:`m_0=-\infty,\ d_0=0`.  Returns :math:`(m_n, d_n)` with
    :math:`m_n=\max_j x_j` and :math:`d_n=\sum_j e^{x_j-m_n}`; also
    :math:`\log\sum_j e^{x_j} = m_n + \log d_n`.

    >>> m, d = online_normalizer(np.array([1.0, 3.0, 2.0]))
    >>> float(m), round(float(d), 4)
    (3.0, 1.5032)
    """
    m, d = -np.inf, 0.0
    for xj in np.asarray(x, dtype=float):                  # one read of each entry
        m_new = max(m, xj)
        d = d * float(exp_shift(m, m_new)) + float(exp_shift(xj, m_new))
        m = m_new
    return m, d


def softmax_online(x: np.ndarray) -> np.ndarray:
    r"""Softmax from the one-pass normaliser: :math:`y_i = e^{x_i-m_n}/d_n`.

    >>> softmax_online(np.array([1.0, 3.0, 2.0])).round(4)
    array([0.09  , 0.6652, 0.2447])
    """
    x = np.asarray(x, dtype=float)                         # (n,)
    m, d = online_normalizer(x)
    with np.errstate(invalid="ignore", divide="ignore"):   # all -inf: 0/0 = nan
        return exp_shift(x, np.full(x.shape, m)) / d


def merge_states(m_a: np.ndarray, d_a: np.ndarray,
                 m_b: np.ndarray, d_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Combine the states of two disjoint sets of entries.

    .. math::

       m = \max(m_a, m_b),\qquad d = d_a\,e^{m_a-m} + d_b\,e^{m_b-m}

    Works elementwise on arrays (one state per row); the empty state
    :math:`(-\infty, 0)` is the identity.

    >>> m, d = merge_states(3.0, 1.0 + np.exp(-2.0), 2.0, 1.0)
    >>> float(m), round(float(d), 4)
    (3.0, 1.5032)
    """
    m = np.maximum(m_a, m_b)
    d = d_a * exp_shift(m_a, m) + d_b * exp_shift(m_b, m)
    return m, d


def blockwise_normalizer(x: np.ndarray, cuts: list[int]) -> tuple[float, float]:
    r"""Split ``x`` at the indices ``cuts``, summarise each block, merge left to right.

    Each block is summarised by :func:`online_normalizer`; the results are folded
    with :func:`merge_states`.  The answer does not depend on the cuts.

    >>> m, d = blockwise_normalizer(np.array([1.0, 3.0, 2.0]), [2])
    >>> float(m), round(float(d), 4)
    (3.0, 1.5032)
    """
    m, d = -np.inf, 0.0
    for block in np.split(np.asarray(x, dtype=float), cuts):
        m_b, d_b = online_normalizer(block)
        m, d = merge_states(m, d, m_b, d_b)
    return float(m), float(d)
