r"""Ensemble learning on a toy 2-D problem: stumps, small trees, bagging, AdaBoost, stacking.

Labels are :math:`y_i\in\{-1,+1\}`; points are arrays ``X`` of shape ``(n, d)``.  The base
learners are a decision stump fitted to minimise the *weighted 0-1 error* (the weak learner of
AdaBoost) and a small regression tree fitted by weighted least squares on the :math:`\pm1`
labels (the unstable learner that bagging and random forests average).  Every ensemble
returns a real-valued score :math:`F(x)`; the class is :math:`\operatorname{sign}F(x)`.

Explained in the post ``posts/ensemble-learning``.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb

import numpy as np

__all__ = [
    "two_moons",
    "majority_vote_error",
    "fit_stump",
    "stump_predict",
    "fit_tree",
    "tree_predict",
    "averaged_variance",
    "bagging_fit",
    "bagging_predict",
    "adaboost_alpha",
    "adaboost_reweight",
    "adaboost_fit",
    "adaboost_predict",
    "adaboost_bound",
    "out_of_fold_predictions",
    "stacking_fit",
    "stacking_predict",
]


def two_moons(n: int, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles with Gaussian noise; labels :math:`-1` and :math:`+1`.

    Returns ``X`` of shape ``(n, 2)`` and ``y`` of shape ``(n,)``.

    >>> X, y = two_moons(6, noise=0.0)
    >>> X.shape, sorted(set(y.tolist()))
    ((6, 2), [-1.0, 1.0])
    """
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) % 2 == 0, -1.0, 1.0)                 # (n,)
    t = rng.uniform(0.0, np.pi, n)                                  # (n,)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)                # (n, 2)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)    # (n, 2)
    X = np.where((y < 0)[:, None], upper, lower) + noise * rng.standard_normal((n, 2))
    return X, y


def majority_vote_error(p: float, B: int) -> float:
    r"""Error of a majority vote of :math:`B` (odd) *independent* classifiers.

    Each classifier errs with probability :math:`p`; the vote errs when more than half of them do:

    .. math:: P\bigl(\text{more than } B/2 \text{ wrong}\bigr)=\sum_{k>B/2}\binom Bk p^k(1-p)^{B-k}

    >>> round(majority_vote_error(0.3, 21), 4)
    0.0264
    """
    return float(sum(comb(B, k) * p**k * (1 - p) ** (B - k) for k in range(B // 2 + 1, B + 1)))


# ---------------------------------------------------------------------------
# Base learners
# ---------------------------------------------------------------------------

def fit_stump(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[int, float, float, float]:
    r"""The decision stump with the smallest weighted error.

    A stump is :math:`h(x)=s\cdot\operatorname{sign}(x_j-\theta)` (with :math:`\operatorname{sign}0=+1`);
    we search every feature :math:`j`, every midpoint :math:`\theta` between sorted values and both
    polarities :math:`s=\pm1`, minimising

    .. math:: \varepsilon=\sum_i w_i\,\mathbf 1[h(x_i)\ne y_i],\qquad \textstyle\sum_i w_i=1 .

    Returns ``(feature, threshold, polarity, error)``.

    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([-1.0, -1.0, 1.0, 1.0])
    >>> fit_stump(X, y, np.full(4, 0.25))
    (0, 1.5, 1.0, 0.0)
    """
    n, d = X.shape
    best = (0, -np.inf, 1.0, np.inf)
    for j in range(d):
        order = np.argsort(X[:, j], kind="stable")
        xs, ys, ws = X[order, j], y[order], w[order]                # (n,)
        # error of "predict +1 right of theta" when the first k points are on the left:
        # left points labelled +1 are wrong, right points labelled -1 are wrong.
        left_pos = np.concatenate([[0.0], np.cumsum(ws * (ys > 0))])          # (n+1,)
        right_neg = np.sum(ws * (ys < 0)) - np.concatenate([[0.0], np.cumsum(ws * (ys < 0))])
        err = left_pos + right_neg                                             # (n+1,)
        cuts = np.concatenate([[xs[0] - 1.0], (xs[:-1] + xs[1:]) / 2, [xs[-1] + 1.0]])
        valid = np.concatenate([[True], xs[:-1] < xs[1:], [True]])             # no cut inside ties
        for s, e in ((1.0, err), (-1.0, 1.0 * ws.sum() - err)):
            e = np.where(valid, e, np.inf)
            k = int(np.argmin(e))
            if e[k] < best[3] - 1e-12:
                best = (j, float(cuts[k]), s, float(e[k]))
    return best


def stump_predict(stump: tuple[int, float, float, float], X: np.ndarray) -> np.ndarray:
    r"""Evaluate :math:`h(x)=s\cdot\operatorname{sign}(x_j-\theta)` on ``X`` (n, d); returns (n,).

    >>> stump_predict((0, 1.5, 1.0, 0.0), np.array([[1.0], [2.0]]))
    array([-1.,  1.])
    """
    j, theta, s, _ = stump
    return s * np.where(X[:, j] >= theta, 1.0, -1.0)


def fit_tree(X: np.ndarray, y: np.ndarray, max_depth: int, min_leaf: int = 1,
             max_features: int | None = None, rng: np.random.Generator | None = None) -> dict:
    r"""A small regression tree grown greedily by least squares.

    Each split of a node's points :math:`I` into :math:`I_L, I_R` maximises the drop in the sum
    of squared errors, i.e. minimises
    :math:`\sum_{i\in I_L}(y_i-\bar y_L)^2+\sum_{i\in I_R}(y_i-\bar y_R)^2`; a leaf predicts the mean
    :math:`\bar y` of its labels.  With :math:`\pm1` labels this is the Gini criterion, and the leaf
    value is :math:`2\hat p-1`.  ``max_features`` draws that many features at random at every
    node (the random-forest rule); ``None`` uses all of them.

    Returns flat arrays ``feature, threshold, left, right, value`` (``feature == -1`` at leaves).

    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([-1.0, -1.0, 1.0, 1.0])
    >>> t = fit_tree(X, y, max_depth=1)
    >>> float(t["threshold"][0]), tree_predict(t, X).tolist()
    (1.5, [-1.0, -1.0, 1.0, 1.0])
    """
    nodes: dict[str, list] = {k: [] for k in ("feature", "threshold", "left", "right", "value")}
    d = X.shape[1]

    def grow(idx: np.ndarray, depth: int) -> int:
        me = len(nodes["value"])
        for k, v in (("feature", -1), ("threshold", 0.0), ("left", -1), ("right", -1),
                     ("value", float(y[idx].mean()))):
            nodes[k].append(v)
        if depth == max_depth or len(idx) < 2 * min_leaf or np.ptp(y[idx]) == 0:
            return me
        feats = np.arange(d) if max_features is None else rng.choice(d, max_features, replace=False)
        best = (0.0, -1, 0.0)                                       # (sse drop, feature, threshold)
        total, m = y[idx].sum(), len(idx)
        for j in feats:
            order = idx[np.argsort(X[idx, j], kind="stable")]
            xs, ys = X[order, j], y[order]                          # (m,)
            k = np.arange(min_leaf, m - min_leaf + 1)               # size of the left child
            s_left = np.cumsum(ys)[k - 1]
            # SSE drop = S_L^2/n_L + S_R^2/n_R - S^2/n  (the constant sum of y^2 cancels)
            drop = s_left**2 / k + (total - s_left) ** 2 / (m - k) - total**2 / m
            drop = np.where(xs[k - 1] < xs[np.minimum(k, m - 1)], drop, -np.inf)
            if len(k) and drop.max() > best[0] + 1e-12:
                i = int(np.argmax(drop))
                best = (float(drop[i]), int(j), float((xs[k[i] - 1] + xs[k[i]]) / 2))
        if best[1] < 0:
            return me
        _, j, theta = best
        nodes["feature"][me], nodes["threshold"][me] = j, theta
        go_left = X[idx, j] < theta
        nodes["left"][me] = grow(idx[go_left], depth + 1)
        nodes["right"][me] = grow(idx[~go_left], depth + 1)
        return me

    grow(np.arange(len(y)), 0)
    return {k: np.asarray(v) for k, v in nodes.items()}


def tree_predict(tree: dict, X: np.ndarray) -> np.ndarray:
    """Route every row of ``X`` (n, d) to its leaf and return the leaf values, shape (n,).

    >>> t = fit_tree(np.array([[0.0], [1.0]]), np.array([-1.0, 1.0]), max_depth=0)
    >>> tree_predict(t, np.array([[5.0]]))
    array([0.])
    """
    node = np.zeros(len(X), dtype=int)                              # (n,)
    while True:
        f = tree["feature"][node]
        inner = f >= 0
        if not inner.any():
            return tree["value"][node]
        x = X[np.arange(len(X)), np.where(inner, f, 0)]
        nxt = np.where(x < tree["threshold"][node], tree["left"][node], tree["right"][node])
        node = np.where(inner, nxt, node)


# ---------------------------------------------------------------------------
# Bagging and random forests
# ---------------------------------------------------------------------------

def averaged_variance(sigma2: float, rho: float, B: int) -> float:
    r"""Variance of the average of :math:`B` predictors.

    Each has variance :math:`\sigma^2`; every pair has correlation :math:`\rho`:

    .. math:: \operatorname{Var}\Bigl(\frac1B\sum_{b=1}^B f_b\Bigr)=\rho\sigma^2+\frac{1-\rho}{B}\sigma^2

    >>> averaged_variance(1.0, 0.25, 10)   # 0.25 + 0.75 / 10
    0.325
    """
    return rho * sigma2 + (1.0 - rho) * sigma2 / B


def bagging_fit(X: np.ndarray, y: np.ndarray, n_estimators: int, max_depth: int, seed: int = 0,
                max_features: int | None = None) -> list[dict]:
    r"""Bootstrap aggregating: one tree per bootstrap sample (n draws with replacement).

    With ``max_features`` set, every node also samples features: a random forest.

    >>> X, y = two_moons(40)
    >>> len(bagging_fit(X, y, n_estimators=3, max_depth=2))
    3
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    trees = []
    for _ in range(n_estimators):
        idx = rng.integers(0, n, n)                                 # (n,) bootstrap sample
        trees.append(fit_tree(X[idx], y[idx], max_depth, max_features=max_features, rng=rng))
    return trees


def bagging_predict(trees: list[dict], X: np.ndarray) -> np.ndarray:
    r"""The bagged score :math:`F(x)=\frac1B\sum_b f_b(x)`, shape (n,).

    >>> X, y = two_moons(40)
    >>> F = bagging_predict(bagging_fit(X, y, 5, 3), X)
    >>> F.shape, bool(np.all(np.abs(F) <= 1))
    ((40,), True)
    """
    return np.mean([tree_predict(t, X) for t in trees], axis=0)


# ---------------------------------------------------------------------------
# AdaBoost
# ---------------------------------------------------------------------------

def adaboost_alpha(eps: float) -> float:
    r"""The weight of a weak learner with weighted error :math:`\varepsilon`.

    .. math:: \alpha=\frac12\ln\frac{1-\varepsilon}{\varepsilon}

    It minimises the exponential loss :math:`Z(\alpha)=(1-\varepsilon)e^{-\alpha}+\varepsilon e^{\alpha}`.

    >>> round(adaboost_alpha(0.2), 6)   # ln 2
    0.693147
    """
    return float(0.5 * np.log((1.0 - eps) / eps))


def adaboost_reweight(w: np.ndarray, y: np.ndarray, h: np.ndarray,
                      alpha: float) -> tuple[np.ndarray, float]:
    r"""AdaBoost's re-weighting :math:`w_i'=w_i\,e^{-\alpha y_i h(x_i)}/Z`.

    Returns the new weights (n,) and the normaliser :math:`Z=\sum_i w_i e^{-\alpha y_i h(x_i)}`.

    >>> w, Z = adaboost_reweight(np.full(5, 0.2), np.ones(5), np.array([1, 1, 1, 1, -1.0]), np.log(2))
    >>> np.round(w, 6).tolist(), round(Z, 6)
    ([0.125, 0.125, 0.125, 0.125, 0.5], 0.8)
    """
    u = w * np.exp(-alpha * y * h)                                  # (n,)
    Z = float(u.sum())
    return u / Z, Z


def adaboost_fit(X: np.ndarray, y: np.ndarray, n_rounds: int) -> dict:
    r"""Discrete AdaBoost with decision stumps (Freund & Schapire, 1997).

    Round :math:`t`: fit the stump :math:`h_t` with the least weighted error :math:`\varepsilon_t`,
    set :math:`\alpha_t` by :func:`adaboost_alpha`, re-weight by :func:`adaboost_reweight`.
    Returns the stumps, the :math:`\alpha_t`, the :math:`\varepsilon_t` and the normalisers :math:`Z_t`.

    >>> X, y = two_moons(60)
    >>> model = adaboost_fit(X, y, n_rounds=5)
    >>> len(model["alphas"]), bool(all(e < 0.5 for e in model["errors"]))
    (5, True)
    """
    n = len(y)
    w = np.full(n, 1.0 / n)                                         # (n,) D_1 uniform
    model: dict[str, list] = {"stumps": [], "alphas": [], "errors": [], "Z": []}
    for _ in range(n_rounds):
        stump = fit_stump(X, y, w)
        eps = min(max(stump[3], 1e-12), 1 - 1e-12)                  # guard a perfect stump
        alpha = adaboost_alpha(eps)
        w, Z = adaboost_reweight(w, y, stump_predict(stump, X), alpha)
        for k, v in (("stumps", stump), ("alphas", alpha), ("errors", eps), ("Z", Z)):
            model[k].append(v)
    return model


def adaboost_predict(model: dict, X: np.ndarray, rounds: int | None = None) -> np.ndarray:
    r"""The boosted score :math:`F_T(x)=\sum_{t\le T}\alpha_t h_t(x)`, shape (n,).

    ``rounds`` truncates the sum at :math:`T` rounds (default: all of them).

    >>> model = {"stumps": [(0, 0.0, 1.0, 0.1)], "alphas": [2.0]}
    >>> adaboost_predict(model, np.array([[-1.0], [1.0]]))
    array([-2.,  2.])
    """
    T = len(model["alphas"]) if rounds is None else rounds
    F = np.zeros(len(X))
    for stump, alpha in zip(model["stumps"][:T], model["alphas"][:T], strict=True):
        F += alpha * stump_predict(stump, X)
    return F


def adaboost_bound(errors) -> np.ndarray:
    r"""Running bound on AdaBoost's training error after :math:`T=1,2,\dots` rounds.

    .. math:: \frac1n\sum_i\mathbf 1[y_iF_T(x_i)\le0]\le\prod_{t\le T}2\sqrt{\varepsilon_t(1-\varepsilon_t)}

    >>> adaboost_bound([0.2, 0.5])   # 2 sqrt(0.16) = 0.8, then times 1
    array([0.8, 0.8])
    """
    e = np.asarray(errors, dtype=float)
    return np.cumprod(2.0 * np.sqrt(e * (1.0 - e)))


# ---------------------------------------------------------------------------
# Stacking
# ---------------------------------------------------------------------------

Fit = Callable[[np.ndarray, np.ndarray], object]
Predict = Callable[[object, np.ndarray], np.ndarray]


def out_of_fold_predictions(X: np.ndarray, y: np.ndarray, fit: Fit, predict: Predict,
                            n_folds: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Out-of-fold predictions: point :math:`i` is scored by a model that never saw it.

    The points are split at random into ``n_folds`` folds; for fold :math:`k` the learner is fitted
    on the other folds and predicts fold :math:`k`.  Returns the predictions (n,) and the fold of
    every point (n,).

    >>> X = np.arange(6.0)[:, None]; y = np.arange(6.0)
    >>> mean_fit = lambda X, y: y.mean(); mean_predict = lambda m, X: np.full(len(X), m)
    >>> oof, fold = out_of_fold_predictions(X, y, mean_fit, mean_predict, n_folds=6)
    >>> oof.tolist()   # the mean of the five other labels
    [3.0, 2.8, 2.6, 2.4, 2.2, 2.0]
    """
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(y)) % n_folds                       # (n,)
    oof = np.empty(len(y))
    for k in range(n_folds):
        held = fold == k
        oof[held] = predict(fit(X[~held], y[~held]), X[held])
    return oof, fold


def stacking_fit(X: np.ndarray, y: np.ndarray, learners: list[tuple[Fit, Predict]],
                 n_folds: int = 5, seed: int = 0, out_of_fold: bool = True,
                 ridge: float = 1e-6) -> dict:
    r"""Stacked generalization with a linear meta-learner (Wolpert, 1992).

    Level 0: the out-of-fold predictions of the :math:`M` learners form a matrix
    :math:`P\in\mathbb R^{n\times M}`.  Level 1: least squares
    :math:`\min_{\beta}\lVert y-\beta_0-P\beta\rVert^2` (with a tiny ridge).  Finally every learner is
    refitted on all data.  ``out_of_fold=False`` uses in-sample predictions instead, which is the
    mistake the post warns about.

    >>> X, y = two_moons(60)
    >>> stump = (lambda X, y: fit_stump(X, y, np.full(len(y), 1 / len(y))), stump_predict)
    >>> model = stacking_fit(X, y, [stump, stump])
    >>> model["beta"].shape
    (3,)
    """
    P = np.column_stack([
        out_of_fold_predictions(X, y, fit, predict, n_folds, seed)[0] if out_of_fold
        else predict(fit(X, y), X)
        for fit, predict in learners])                              # (n, M)
    A = np.column_stack([np.ones(len(y)), P])                       # (n, M+1)
    beta = np.linalg.solve(A.T @ A + ridge * np.eye(A.shape[1]), A.T @ y)
    models = [fit(X, y) for fit, _ in learners]
    return {"beta": beta, "models": models, "learners": learners, "level1": P}


def stacking_predict(model: dict, X: np.ndarray) -> np.ndarray:
    r"""Stacked score :math:`F(x)=\beta_0+\sum_m\beta_m f_m(x)` with the refitted level-0 models, shape (n,).

    >>> X, y = two_moons(60)
    >>> stump = (lambda X, y: fit_stump(X, y, np.full(len(y), 1 / len(y))), stump_predict)
    >>> stacking_predict(stacking_fit(X, y, [stump]), X).shape
    (60,)
    """
    P = np.column_stack([predict(m, X) for m, (_, predict) in
                         zip(model["models"], model["learners"], strict=True)])
    return model["beta"][0] + P @ model["beta"][1:]
