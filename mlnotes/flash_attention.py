r"""Exact attention computed block by block, as in FlashAttention, in NumPy.

Attention of queries :math:`Q\in\mathbb R^{N\times d}` on keys
:math:`K\in\mathbb R^{N_k\times d}` and values :math:`V\in\mathbb R^{N_k\times d_v}` is

.. math:: S = QK^\top/\sqrt d,\qquad P=\operatorname{softmax}_{\text{row}}(S),\qquad O=PV .

:func:`attention_naive` forms the whole :math:`N\times N_k` matrix;
:func:`attention_tiled` visits one :math:`B_r\times B_c` block of :math:`S` at a
time and merges the blocks with the online-softmax statistics
(:mod:`mlnotes.online_softmax`): the running row maximum :math:`m`, the running
normaliser :math:`\ell` and an unnormalised output :math:`\tilde O`.  Both also
return the row logsumexp :math:`L=m+\log\ell`, all the backward pass needs
(:func:`attention_backward`).  The last functions count HBM accesses for the
IO analysis.  NumPy runs all of this on the CPU: the code shows the arithmetic
of the algorithm, not its speed.

Explained in the post ``posts/flashattention``.
"""

from __future__ import annotations

import math

import numpy as np

from mlnotes.online_softmax import exp_shift

__all__ = [
    "causal_mask",
    "attention_naive",
    "block_update",
    "attention_tiled",
    "attention_probs_from_lse",
    "attention_backward",
    "causal_block_schedule",
    "hbm_accesses_standard",
    "hbm_accesses_flash",
]


def causal_mask(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    r"""``True`` where key ``cols[j]`` lies in the future of query ``rows[i]`` (:math:`j>i`).

    >>> causal_mask(np.arange(3), np.arange(3)).astype(int)
    array([[0, 1, 1],
           [0, 0, 1],
           [0, 0, 0]])
    """
    return np.asarray(cols)[None, :] > np.asarray(rows)[:, None]    # (len(rows), len(cols))


def attention_naive(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                    causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Standard attention: materialise :math:`S` and :math:`P`, then :math:`O=PV`.

    .. math:: O = \operatorname{softmax}(QK^\top/\sqrt d)\,V,\qquad
              L_i = \log\sum_j e^{S_{ij}}

    Returns ``(o, lse)`` with shapes ``(N, d_v)`` and ``(N,)``.

    >>> o, lse = attention_naive(np.zeros((2, 4)), np.zeros((3, 4)), np.arange(3.0)[:, None])
    >>> o.ravel(), lse.round(4)
    (array([1., 1.]), array([1.0986, 1.0986]))
    """
    s = q @ k.T / math.sqrt(q.shape[1])                        # (N, N_k)
    if causal:
        s = np.where(causal_mask(np.arange(len(q)), np.arange(len(k))), -np.inf, s)
    m = s.max(axis=1)                                          # (N,)
    p = exp_shift(s, m[:, None])                               # (N, N_k), unnormalised
    ell = p.sum(axis=1)                                        # (N,)
    return (p / ell[:, None]) @ v, m + np.log(ell)


def block_update(m: np.ndarray, ell: np.ndarray, acc: np.ndarray, s: np.ndarray,
                 v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Fold one block of scores into the running statistics of a block of rows.

    .. math::

       m' = \max\bigl(m, \operatorname{rowmax}(S_{ij})\bigr), \\
       \tilde P = e^{S_{ij}-m'}, \\
       \ell' = e^{m-m'}\ell + \operatorname{rowsum}(\tilde P), \\
       \tilde O' = \operatorname{diag}(e^{m-m'})\,\tilde O + \tilde P V_j

    Shapes: ``m, ell`` (B_r,), ``acc`` (B_r, d_v), ``s`` (B_r, B_c), ``v`` (B_c, d_v).
    Start from ``m = -inf``, ``ell = 0``, ``acc = 0``; at the end :math:`O=\tilde O/\ell`.

    >>> m, ell, acc = block_update(np.array([-np.inf]), np.zeros(1), np.zeros((1, 1)),
    ...                          np.array([[1.0, 2.0]]), np.array([[10.0], [20.0]]))
    >>> m, ell.round(4), acc.round(3)
    (array([2.]), array([1.3679]), array([[23.679]]))
    """
    m_new = np.maximum(m, s.max(axis=1))                       # (B_r,)
    alpha = exp_shift(m, m_new)                                # (B_r,)  rescales the old block
    p = exp_shift(s, m_new[:, None])                           # (B_r, B_c)
    ell_new = alpha * ell + p.sum(axis=1)                      # (B_r,)
    acc_new = alpha[:, None] * acc + p @ v                     # (B_r, d_v)
    return m_new, ell_new, acc_new


def attention_tiled(q: np.ndarray, k: np.ndarray, v: np.ndarray, block_q: int, block_k: int,
                    causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Blockwise attention with online rescaling; equals :func:`attention_naive`.

    The outer loop takes ``block_q`` rows of :math:`Q` at a time, the inner loop
    ``block_k`` rows of :math:`K,V`; no array larger than ``block_q x block_k`` is
    formed.  With ``causal=True`` key blocks entirely in the future of the query
    block are skipped and the diagonal blocks are masked.

    Returns ``(o, lse)`` with shapes ``(N, d_v)`` and ``(N,)``.

    >>> rng = np.random.default_rng(0)
    >>> q, k, v = rng.normal(size=(3, 10, 4))
    >>> o, lse = attention_tiled(q, k, v, block_q=3, block_k=4)
    >>> bool(np.allclose(o, attention_naive(q, k, v)[0]))
    True
    """
    n, d = q.shape
    o = np.empty((n, v.shape[1]))                              # (N, d_v)
    lse = np.empty(n)                                          # (N,)
    for i0 in range(0, n, block_q):
        qi = q[i0:i0 + block_q] / math.sqrt(d)                 # (B_r, d)   load Q_i
        rows = np.arange(i0, i0 + len(qi))
        m = np.full(len(qi), -np.inf)                          # (B_r,)
        ell = np.zeros(len(qi))                                # (B_r,)
        acc = np.zeros((len(qi), v.shape[1]))                  # (B_r, d_v)
        for j0 in range(0, len(k), block_k):
            if causal and j0 > rows[-1]:
                break                                          # this and later key blocks: all future
            s = qi @ k[j0:j0 + block_k].T                      # (B_r, B_c) load K_j
            if causal:
                s = np.where(causal_mask(rows, np.arange(j0, j0 + s.shape[1])), -np.inf, s)
            m, ell, acc = block_update(m, ell, acc, s, v[j0:j0 + block_k])   # load V_j
        o[i0:i0 + len(qi)] = acc / ell[:, None]                # write O_i
        lse[i0:i0 + len(qi)] = m + np.log(ell)                 # write L_i
    return o, lse


def attention_probs_from_lse(q: np.ndarray, k: np.ndarray, lse: np.ndarray,
                             causal: bool = False) -> np.ndarray:
    r"""Recompute the attention probabilities from the saved logsumexp.

    .. math:: P_{ij} = e^{S_{ij}-L_i}

    One subtraction and one exponential per entry: no max and no sum are needed
    again.  Shape ``(N, N_k)``.

    >>> attention_probs_from_lse(np.zeros((1, 2)), np.zeros((2, 2)), np.log([2.0]))
    array([[0.5, 0.5]])
    """
    s = q @ k.T / math.sqrt(q.shape[1])                        # (N, N_k)
    if causal:
        s = np.where(causal_mask(np.arange(len(q)), np.arange(len(k))), -np.inf, s)
    return exp_shift(s, np.broadcast_to(lse[:, None], s.shape))


def attention_backward(q: np.ndarray, k: np.ndarray, v: np.ndarray, o: np.ndarray,
                       do: np.ndarray, lse: np.ndarray,
                       causal: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of a scalar loss through attention, given :math:`dO=\partial\mathcal L/\partial O`.

    .. math::

       dV = P^\top dO,\quad dP = dO\,V^\top, \\
       D_i = \textstyle\sum_j P_{ij}\,dP_{ij} = dO_i\cdot O_i, \\
       dS = P\circ(dP - D\mathbf 1^\top), \\
       dQ = dS\,K/\sqrt d,\quad dK = dS^\top Q/\sqrt d

    :math:`P` is recomputed from ``lse`` (:func:`attention_probs_from_lse`); the
    forward pass keeps only ``o`` and ``lse``.  Returns ``(dq, dk, dv)``.

    >>> q = k = v = np.eye(2)
    >>> o, lse = attention_naive(q, k, v)
    >>> [g.shape for g in attention_backward(q, k, v, o, np.ones((2, 2)), lse)]
    [(2, 2), (2, 2), (2, 2)]
    """
    scale = 1.0 / math.sqrt(q.shape[1])
    p = attention_probs_from_lse(q, k, lse, causal)            # (N, N_k)
    dv = p.T @ do                                              # (N_k, d_v)
    dp = do @ v.T                                              # (N, N_k)
    big_d = (do * o).sum(axis=1)                               # (N,)
    ds = p * (dp - big_d[:, None])                             # (N, N_k)
    return ds @ k * scale, ds.T @ q * scale, dv


def causal_block_schedule(n: int, block_q: int, block_k: int) -> np.ndarray:
    r"""Which blocks causal tiled attention visits: 0 skipped, 1 masked, 2 full.

    Block :math:`(i,j)` covers query rows :math:`[iB_r,(i+1)B_r)` and key columns
    :math:`[jB_c,(j+1)B_c)`.  It is skipped if its first column lies after its
    last row, fully kept if its last column is at or before its first row.

    >>> causal_block_schedule(4, 2, 2)
    array([[1, 0],
           [2, 1]])
    """
    t_r, t_c = -(-n // block_q), -(-n // block_k)
    first_row = np.arange(t_r)[:, None] * block_q              # (T_r, 1)
    last_row = np.minimum(first_row + block_q, n) - 1
    first_col = np.arange(t_c)[None, :] * block_k              # (1, T_c)
    last_col = np.minimum(first_col + block_k, n) - 1
    return np.where(first_col > last_row, 0, np.where(last_col <= first_row, 2, 1))


def hbm_accesses_standard(n: int, d: int) -> int:
    r"""HBM reads and writes (in elements) of standard attention.

    Read :math:`Q,K` and write :math:`S` (:math:`2Nd+N^2`); read :math:`S`, write
    :math:`P` (:math:`2N^2`); read :math:`P,V`, write :math:`O` (:math:`N^2+2Nd`):

    .. math:: 4N^2 + 4Nd

    >>> hbm_accesses_standard(1024, 64)
    4456448
    """
    return 4 * n * n + 4 * n * d


def hbm_accesses_flash(n: int, d: int, sram: int) -> int:
    r"""HBM reads and writes (in elements) of FlashAttention's forward pass (Algorithm 1).

    Key blocks have :math:`B_c=\lceil M/4d\rceil` rows, so there are
    :math:`T_c=\lceil N/B_c\rceil` outer iterations.  Initialising :math:`O,\ell,m`
    writes :math:`Nd+2N`; reading all :math:`K,V` once costs :math:`2Nd`; every outer
    iteration reads :math:`Q,O,\ell,m` and writes :math:`O,\ell,m`, :math:`3Nd+4N`:

    .. math:: 3Nd + 2N + T_c\,(3Nd+4N)\ \approx\ 12\,N^2d^2/M

    >>> hbm_accesses_flash(1024, 64, 98304)
    800768
    """
    b_c = -(-sram // (4 * d))
    t_c = -(-n // b_c)
    return 3 * n * d + 2 * n + t_c * (3 * n * d + 4 * n)
