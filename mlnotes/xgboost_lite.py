r"""A small exact-greedy, XGBoost-style tree booster in NumPy.

Round :math:`t` adds a regression tree :math:`f_t` to the margin,
:math:`\hat y^{(t)}=\hat y^{(t-1)}+\eta f_t(x)`.  The tree is grown on the first and second
derivatives of the loss at the current margin, :math:`g_i=\partial_{\hat y}\ell(y_i,\hat y_i)` and
:math:`h_i=\partial^2_{\hat y}\ell(y_i,\hat y_i)`, with the regulariser
:math:`\Omega(f)=\gamma T+\tfrac12\lambda\sum_j w_j^2` (:math:`T` leaves with weights :math:`w_j`).
Sums over the points :math:`I_j` of a leaf are written :math:`G_j=\sum_{i\in I_j}g_i` and
:math:`H_j=\sum_{i\in I_j}h_i`.

Two losses: ``"squared"`` (:math:`\ell=\tfrac12(y-\hat y)^2`) and ``"logistic"`` (labels in :math:`\{0,1\}`,
:math:`\hat y` a log-odds).  Points are arrays ``X`` of shape ``(n, d)``; ``NaN`` marks a missing value,
which follows the default direction learned at each split.

Explained in the post ``posts/gbdt-to-xgboost``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "squared_grad_hess",
    "logistic_grad_hess",
    "loss",
    "leaf_weight",
    "structure_score",
    "split_gain",
    "best_split",
    "fit_tree",
    "tree_predict",
    "boost",
    "predict",
    "weighted_quantile_candidates",
]


def squared_grad_hess(y: np.ndarray, margin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Derivatives of :math:`\ell=\tfrac12(y-\hat y)^2`: :math:`g=\hat y-y`, :math:`h=1`.

    >>> squared_grad_hess(np.array([1.0, 5.0]), np.zeros(2))
    (array([-1., -5.]), array([1., 1.]))
    """
    g = np.asarray(margin, dtype=float) - y
    return g, np.ones_like(g)


def logistic_grad_hess(y: np.ndarray, margin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Derivatives of the log loss in the log-odds :math:`\hat y`, with :math:`p=\sigma(\hat y)`.

    .. math:: \ell=-y\log p-(1-y)\log(1-p),\qquad g=p-y,\qquad h=p(1-p)

    >>> logistic_grad_hess(np.array([1.0, 0.0]), np.zeros(2))
    (array([-0.5,  0.5]), array([0.25, 0.25]))
    """
    p = 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=float)))
    return p - y, p * (1.0 - p)


_GRAD_HESS = {"squared": squared_grad_hess, "logistic": logistic_grad_hess}


def loss(name: str, y: np.ndarray, margin: np.ndarray) -> float:
    r"""Mean training loss :math:`\frac1n\sum_i\ell(y_i,\hat y_i)` of ``"squared"`` or ``"logistic"``.

    >>> round(loss("logistic", np.array([1.0]), np.zeros(1)), 6)   # log 2
    0.693147
    """
    margin = np.asarray(margin, dtype=float)
    if name == "squared":
        return float(np.mean(0.5 * (y - margin) ** 2))
    # -y log p - (1-y) log(1-p) = log(1 + e^m) - y m, computed stably
    return float(np.mean(np.logaddexp(0.0, margin) - y * margin))


def leaf_weight(G: float, H: float, lam: float) -> float:
    r"""Optimal leaf weight :math:`w^*=-G/(H+\lambda)`.

    >>> leaf_weight(-8.0, 2.0, 1.0)   # 8 / 3
    2.6666666666666665
    """
    return -G / (H + lam)


def structure_score(G: np.ndarray, H: np.ndarray, lam: float, gamma: float) -> float:
    r"""Objective of a tree structure with optimal leaf weights (lower is better).

    .. math:: \tilde{\mathcal L}=-\frac12\sum_{j=1}^T\frac{G_j^2}{H_j+\lambda}+\gamma T

    >>> structure_score(np.array([-10.0]), np.array([4.0]), 1.0, 0.0)   # -100 / 10
    -10.0
    """
    G, H = np.atleast_1d(G), np.atleast_1d(H)
    return float(-0.5 * np.sum(G**2 / (H + lam)) + gamma * len(G))


def split_gain(GL, HL, GR, HR, lam: float, gamma: float):
    r"""Loss reduction of splitting a leaf into a left and a right child.

    .. math:: \mathrm{Gain}=\frac12\Bigl[\frac{G_L^2}{H_L+\lambda}+\frac{G_R^2}{H_R+\lambda}
              -\frac{(G_L+G_R)^2}{H_L+H_R+\lambda}\Bigr]-\gamma

    Works elementwise on arrays of candidate splits.  This is the gain of Chen & Guestrin (2016).  The
    xgboost library reports (and compares with its ``gamma``) the bracket alone, without the
    :math:`\tfrac12` and the :math:`-\gamma`, i.e. twice our gain at :math:`\gamma=0`.

    >>> round(split_gain(-2.0, 2.0, -8.0, 2.0, lam=1.0, gamma=0.0), 6)   # (4/3 + 64/3 - 100/5) / 2
    1.333333
    """
    return 0.5 * (GL**2 / (HL + lam) + GR**2 / (HR + lam) - (GL + GR) ** 2 / (HL + HR + lam)) - gamma


def best_split(x: np.ndarray, g: np.ndarray, h: np.ndarray, lam: float, gamma: float,
               min_child_weight: float = 0.0) -> tuple[float, float, bool]:
    r"""Exact greedy search over one feature, with a learned default direction for missing values.

    The non-missing values are sorted once; a left-to-right scan with cumulative sums gives
    :math:`(G_L,H_L)` for every cut between distinct values.  The missing points' sums
    :math:`(G_\varnothing,H_\varnothing)` are tried on the right and on the left, and the better side
    becomes the default direction (sparsity-aware split finding).  A child whose hessian sum is
    below ``min_child_weight`` is not allowed.

    Returns ``(gain, threshold, default_left)``; the gain is ``-inf`` when no cut is possible.

    >>> x = np.array([1.0, 2.0, 3.0, 4.0]); g = -np.array([1.0, 1.0, 3.0, 5.0]); h = np.ones(4)
    >>> gain, thr, _ = best_split(x, g, h, lam=1.0, gamma=0.0)
    >>> round(float(gain), 6), float(thr)
    (1.333333, 2.5)
    """
    miss = np.isnan(x)
    Gm, Hm = g[miss].sum(), h[miss].sum()
    order = np.argsort(x[~miss], kind="stable")
    xs, gs, hs = x[~miss][order], g[~miss][order], h[~miss][order]     # (m,) sorted non-missing
    if len(xs) < 2:
        return -np.inf, np.nan, False
    GL, HL = np.cumsum(gs)[:-1], np.cumsum(hs)[:-1]                    # (m-1,) left = first k points
    G, H = gs.sum() + Gm, hs.sum() + Hm
    distinct = xs[:-1] < xs[1:]
    best = (-np.inf, np.nan, False)
    for default_left, (gl, hl) in ((False, (GL, HL)), (True, (GL + Gm, HL + Hm))):
        ok = distinct & (hl >= min_child_weight) & (H - hl >= min_child_weight)
        gain = np.where(ok, split_gain(gl, hl, G - gl, H - hl, lam, gamma), -np.inf)
        k = int(np.argmax(gain))
        if gain[k] > best[0]:
            best = (float(gain[k]), float((xs[k] + xs[k + 1]) / 2), default_left)
    return best


def fit_tree(X: np.ndarray, g: np.ndarray, h: np.ndarray, max_depth: int = 3, lam: float = 1.0,
             gamma: float = 0.0, min_child_weight: float = 0.0, colsample: float = 1.0,
             rng: np.random.Generator | None = None) -> dict:
    r"""Grow one tree greedily: split a node while the best :func:`split_gain` is positive.

    Leaves get :math:`w^*=-G/(H+\lambda)` (:func:`leaf_weight`).  ``colsample < 1`` draws that
    fraction of the features once per tree (column subsampling).  Returns flat arrays
    ``feature, threshold, default_left, left, right, value`` (``feature == -1`` at leaves).

    >>> X = np.array([[1.0], [2.0], [3.0], [4.0]]); g = -np.array([1.0, 1.0, 3.0, 5.0])
    >>> t = fit_tree(X, g, np.ones(4), max_depth=1)
    >>> np.round(t["value"], 4).tolist()   # root, left leaf 2/3, right leaf 8/3
    [2.0, 0.6667, 2.6667]
    """
    d = X.shape[1]
    feats = np.arange(d)
    if colsample < 1.0:
        feats = np.sort(rng.choice(d, max(1, round(colsample * d)), replace=False))
    nodes: dict[str, list] = {k: [] for k in ("feature", "threshold", "default_left", "left", "right",
                                              "value")}

    def grow(idx: np.ndarray, depth: int) -> int:
        me = len(nodes["value"])
        w = leaf_weight(g[idx].sum(), h[idx].sum(), lam)
        for k, v in (("feature", -1), ("threshold", 0.0), ("default_left", False), ("left", -1),
                     ("right", -1), ("value", w)):
            nodes[k].append(v)
        if depth == max_depth:
            return me
        splits = [(*best_split(X[idx, j], g[idx], h[idx], lam, gamma, min_child_weight), j) for j in feats]
        gain, thr, default_left, j = max(splits, key=lambda s: s[0])
        if not gain > 0:
            return me
        x = X[idx, j]
        go_left = np.where(np.isnan(x), default_left, x < thr)
        nodes["feature"][me], nodes["threshold"][me], nodes["default_left"][me] = j, thr, default_left
        nodes["left"][me] = grow(idx[go_left], depth + 1)
        nodes["right"][me] = grow(idx[~go_left], depth + 1)
        return me

    grow(np.arange(len(g)), 0)
    return {k: np.asarray(v) for k, v in nodes.items()}


def tree_predict(tree: dict, X: np.ndarray) -> np.ndarray:
    """Leaf weight reached by every row of ``X`` (n, d); missing values take the default branch.

    >>> t = fit_tree(np.array([[1.0], [2.0]]), np.array([1.0, -1.0]), np.ones(2), lam=0.0)
    >>> tree_predict(t, np.array([[0.0], [3.0], [np.nan]])).tolist()
    [-1.0, 1.0, 1.0]
    """
    node = np.zeros(len(X), dtype=int)                                  # (n,)
    while True:
        f = tree["feature"][node]
        inner = f >= 0
        if not inner.any():
            return tree["value"][node]
        x = X[np.arange(len(X)), np.where(inner, f, 0)]
        go_left = np.where(np.isnan(x), tree["default_left"][node], x < tree["threshold"][node])
        node = np.where(inner, np.where(go_left, tree["left"][node], tree["right"][node]), node)


def boost(X: np.ndarray, y: np.ndarray, loss_name: str = "squared", n_rounds: int = 10, eta: float = 0.3,
          base_score: float = 0.0, seed: int = 0, **tree_params) -> dict:
    r"""Gradient tree boosting with second-order statistics (Chen & Guestrin, 2016).

    Each round: :math:`g,h` at the current margin, grow a tree by :func:`fit_tree`, then shrink it,
    :math:`\hat y\leftarrow\hat y+\eta f_t(x)`.  Returns the trees, settings and the training loss
    before the first round and after every round (``history``, length ``n_rounds + 1``).

    >>> X = np.array([[1.0], [2.0], [3.0], [4.0]]); y = np.array([1.0, 1.0, 3.0, 5.0])
    >>> model = boost(X, y, n_rounds=3, eta=1.0, max_depth=1)
    >>> [round(v, 4) for v in model["history"][:2]]   # 36/8, then (3 * (1/3)^2 + (7/3)^2) / 8
    [4.5, 0.7222]
    """
    rng = np.random.default_rng(seed)
    grad_hess = _GRAD_HESS[loss_name]
    margin = np.full(len(y), float(base_score))                         # (n,)
    trees, history = [], [loss(loss_name, y, margin)]
    for _ in range(n_rounds):
        g, h = grad_hess(y, margin)                                     # (n,), (n,)
        tree = fit_tree(X, g, h, rng=rng, **tree_params)
        margin = margin + eta * tree_predict(tree, X)
        trees.append(tree)
        history.append(loss(loss_name, y, margin))
    return {"trees": trees, "eta": eta, "base_score": base_score, "loss": loss_name, "history": history}


def predict(model: dict, X: np.ndarray, rounds: int | None = None) -> np.ndarray:
    r"""Margin :math:`\hat y=\text{base}+\eta\sum_{t\le T}f_t(x)`, shape (n,).

    For the logistic loss the probability is :math:`\sigma(\hat y)`.

    >>> X = np.array([[1.0], [2.0], [3.0], [4.0]]); y = np.array([1.0, 1.0, 3.0, 5.0])
    >>> np.round(predict(boost(X, y, n_rounds=1, eta=1.0, max_depth=1), X), 4).tolist()
    [0.6667, 0.6667, 2.6667, 2.6667]
    """
    trees = model["trees"] if rounds is None else model["trees"][:rounds]
    return model["base_score"] + model["eta"] * sum((tree_predict(t, X) for t in trees), np.zeros(len(X)))


def weighted_quantile_candidates(x: np.ndarray, h: np.ndarray, eps: float) -> np.ndarray:
    r"""Split candidates that cut the hessian mass of one feature into buckets of about :math:`\varepsilon`.

    The rank of a value :math:`z` is the share of hessian weight strictly below it,
    :math:`r(z)=\sum_{x_i<z}h_i\big/\sum_ih_i`.  Besides the smallest and the largest value, we keep
    the first value whose rank enters each new interval :math:`[k\varepsilon,(k+1)\varepsilon)`, so that
    about :math:`1/\varepsilon` candidates split the *hessian mass* (not the number of points) evenly;
    ranks of consecutive candidates differ by at most :math:`\varepsilon` unless one point alone carries
    more.  (This is the exact, in-memory version; XGBoost's sketch is a mergeable streaming summary.)

    >>> weighted_quantile_candidates(np.arange(8.0), np.ones(8), 0.25)   # equal weights: quartiles
    array([0., 2., 4., 6., 7.])
    >>> weighted_quantile_candidates(np.arange(8.0), np.array([1, 1, 1, 1, 1, 1, 1, 9.0]), 0.25)
    array([0., 4., 7.])
    """
    order = np.argsort(x, kind="stable")
    xs, hs = x[order], h[order]                                         # (n,) sorted
    rank = (np.cumsum(hs) - hs) / hs.sum()                              # (n,) weight strictly before
    values, first = np.unique(xs, return_index=True)                    # ties share the first rank
    bucket = np.floor(rank[first] / eps + 1e-9)
    keep = np.concatenate([[True], bucket[1:] > np.maximum.accumulate(bucket)[:-1]])
    keep[-1] = True
    return values[keep]
