r"""Differentiable ("soft") versions of accuracy, IoU and Dice, and the Lovász extension.

Binary setting throughout: labels :math:`y_i\in\{0,1\}`, logits :math:`z_i`,
probabilities :math:`p_i=\sigma(z_i/\tau)` with temperature :math:`\tau`.
Hard metrics threshold :math:`p_i` at 1/2 and are piecewise constant in
:math:`z`; the soft metrics replace the 0/1 prediction by :math:`p_i` and are
smooth.  Every soft metric comes with its analytic gradient with respect to
:math:`p` (or :math:`z`), checked against finite differences in the tests.

The last part fits a logistic model :math:`p_i=\sigma(w^\top x_i+b)` by
gradient *ascent* on a soft metric.  Arrays: ``p, y`` of shape ``(n,)``,
``X`` of shape ``(n, d)``.

Explained in the post ``posts/differentiable-metrics``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid",
    "hard_accuracy",
    "hard_iou",
    "soft_accuracy",
    "soft_accuracy_grad",
    "soft_iou",
    "soft_iou_grad",
    "soft_dice",
    "soft_dice_grad",
    "jaccard_set_loss",
    "lovasz_errors",
    "lovasz_jaccard",
    "make_toy_data",
    "fit_logistic",
]


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""Logistic function :math:`\sigma(z)=1/(1+e^{-z})`, computed without overflow.

    >>> sigmoid(np.array([0.0, 50.0, -50.0])).round(6)
    array([0.5, 1. , 0. ])
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def hard_accuracy(z: np.ndarray, y: np.ndarray) -> float:
    r"""Accuracy of the thresholded prediction :math:`\hat y_i=\mathbb 1[z_i>0]`.

    >>> hard_accuracy(np.array([2.0, -1.0, 0.5]), np.array([1, 1, 0]))
    0.3333333333333333
    """
    return float(np.mean((np.asarray(z) > 0) == (np.asarray(y) == 1)))


def hard_iou(z: np.ndarray, y: np.ndarray) -> float:
    r"""IoU of the foreground class for :math:`\hat y_i=\mathbb 1[z_i>0]` (NaN if both sets are empty).

    >>> hard_iou(np.array([2.0, -1.0, 0.5]), np.array([1, 1, 0]))
    0.3333333333333333
    """
    pred, gt = np.asarray(z) > 0, np.asarray(y) == 1
    union = np.sum(pred | gt)
    return float(np.sum(pred & gt) / union) if union else float("nan")


def soft_accuracy(z: np.ndarray, y: np.ndarray, tau: float = 1.0) -> float:
    r"""Expected accuracy when pixel :math:`i` is predicted 1 with probability :math:`p_i=\sigma(z_i/\tau)`.

    .. math:: A_\tau(z)=\frac1n\sum_i\bigl[y_i\,p_i+(1-y_i)(1-p_i)\bigr]

    As :math:`\tau\to0`, :math:`p_i\to\mathbb 1[z_i>0]` and this tends to the hard accuracy.

    >>> round(soft_accuracy(np.array([2.0, -1.0]), np.array([1, 0])), 4)   # (0.8808 + 0.7311) / 2
    0.8059
    """
    p = sigmoid(np.asarray(z) / tau)
    y = np.asarray(y, dtype=float)
    return float(np.mean(y * p + (1 - y) * (1 - p)))


def soft_accuracy_grad(z: np.ndarray, y: np.ndarray, tau: float = 1.0) -> np.ndarray:
    r"""Gradient of :func:`soft_accuracy` with respect to the logits.

    .. math:: \frac{\partial A_\tau}{\partial z_i}=\frac{2y_i-1}{n\,\tau}\,p_i(1-p_i)

    >>> soft_accuracy_grad(np.array([0.0, 0.0]), np.array([1, 0]))   # +-0.25 / 2
    array([ 0.125, -0.125])
    """
    z = np.asarray(z, dtype=float)
    p = sigmoid(z / tau)
    y = np.asarray(y, dtype=float)
    return (2 * y - 1) * p * (1 - p) / (tau * z.size)


def soft_iou(p: np.ndarray, y: np.ndarray) -> float:
    r"""Soft IoU: intersection and union with the 0/1 prediction replaced by :math:`p`.

    .. math:: J(p)=\frac{I}{U},\quad I=\sum_i p_iy_i,\quad U=\sum_i p_i+\sum_i y_i-\sum_i p_iy_i

    >>> round(soft_iou(np.array([0.9, 0.4, 0.2, 0.1]), np.array([1, 1, 0, 0])), 4)   # 1.3 / 2.3
    0.5652
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    inter = np.sum(p * y)
    union = np.sum(p) + np.sum(y) - inter
    return float(inter / union)


def soft_iou_grad(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Gradient of :func:`soft_iou` with respect to the probabilities.

    Quotient rule with :math:`\partial I/\partial p_i=y_i` and
    :math:`\partial U/\partial p_i=1-y_i`:

    .. math:: \frac{\partial J}{\partial p_i}=\frac{y_i\,U-I\,(1-y_i)}{U^2}
              =\begin{cases}1/U & y_i=1\\ -I/U^2 & y_i=0\end{cases}

    >>> soft_iou_grad(np.array([0.9, 0.4, 0.2, 0.1]), np.array([1, 1, 0, 0])).round(4)
    array([ 0.4348,  0.4348, -0.2457, -0.2457])
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    inter = np.sum(p * y)
    union = np.sum(p) + np.sum(y) - inter
    return (y * union - inter * (1 - y)) / union**2


def soft_dice(p: np.ndarray, y: np.ndarray, squared: bool = False) -> float:
    r"""Soft Dice coefficient.

    .. math:: D(p)=\frac{2\sum_i p_iy_i}{\sum_i p_i^k+\sum_i y_i^k}

    with :math:`k=1`, or :math:`k=2` (``squared=True``, the form of Milletari et al. 2016).

    >>> round(soft_dice(np.array([0.9, 0.4, 0.2, 0.1]), np.array([1, 1, 0, 0])), 4)   # 2.6 / 3.6
    0.7222
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    k = 2 if squared else 1
    return float(2 * np.sum(p * y) / (np.sum(p**k) + np.sum(y**k)))


def soft_dice_grad(p: np.ndarray, y: np.ndarray, squared: bool = False) -> np.ndarray:
    r"""Gradient of :func:`soft_dice` with respect to the probabilities.

    With :math:`I=\sum_i p_iy_i` and :math:`S=\sum_i p_i^k+\sum_i y_i^k`:

    .. math:: \frac{\partial D}{\partial p_i}=\frac{2y_i\,S-2I\,k\,p_i^{k-1}}{S^2}

    >>> soft_dice_grad(np.array([0.9, 0.4, 0.2, 0.1]), np.array([1, 1, 0, 0])).round(4)
    array([ 0.3549,  0.3549, -0.2006, -0.2006])
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    k = 2 if squared else 1
    inter = np.sum(p * y)
    s = np.sum(p**k) + np.sum(y**k)
    return (2 * y * s - 2 * inter * k * p ** (k - 1)) / s**2


def jaccard_set_loss(mistakes: np.ndarray, y: np.ndarray) -> float:
    r"""Jaccard loss :math:`\Delta_J(M)=|M|/|G\cup M|` as a set function of the mispredicted pixels.

    ``mistakes`` is the indicator of :math:`M`, ``y`` that of the ground truth
    :math:`G`.  It equals :math:`1-\mathrm{IoU}` of the prediction that errs
    exactly on :math:`M`.

    >>> jaccard_set_loss(np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0]))   # |M| = 2, |G u M| = 3
    0.6666666666666666
    """
    m, g = np.asarray(mistakes) == 1, np.asarray(y) == 1
    union = np.sum(g | m)
    return float(np.sum(m) / union) if union else 0.0


def lovasz_errors(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Per-pixel errors :math:`m_i=1-p_i` on the foreground and :math:`m_i=p_i` on the background.

    >>> lovasz_errors(np.array([0.9, 0.4, 0.2]), np.array([1, 1, 0]))
    array([0.1, 0.6, 0.2])
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    return np.where(y == 1, 1 - p, p)


def lovasz_jaccard(m: np.ndarray, y: np.ndarray) -> float:
    r"""Lovász extension of :func:`jaccard_set_loss` evaluated at the error vector :math:`m\in[0,1]^n`.

    Sort the errors decreasingly, :math:`m_{\pi_1}\ge\dots\ge m_{\pi_n}`, let
    :math:`S_k=\{\pi_1,\dots,\pi_k\}` and

    .. math:: \bar\Delta(m)=\sum_{k=1}^n m_{\pi_k}\bigl(\Delta(S_k)-\Delta(S_{k-1})\bigr).

    On 0/1 vectors it equals :math:`\Delta`; in between it is piecewise linear,
    and convex because :math:`\Delta_J` is submodular.

    >>> lovasz_jaccard(np.array([0.0, 1.0, 1.0, 0.0]), np.array([1, 1, 0, 0]))   # = Delta of {1, 2}
    0.6666666666666666
    """
    m, y = np.asarray(m, dtype=float), np.asarray(y, dtype=float)
    order = np.argsort(-m, kind="stable")                # (n,) pi
    y_sorted = y[order]
    k = np.arange(1, m.size + 1)                         # |S_k|
    union = y.sum() + np.cumsum(1 - y_sorted)            # |G u S_k|
    delta = k / union                                    # Delta(S_k), k = 1..n
    increments = np.diff(delta, prepend=0.0)             # Delta(S_k) - Delta(S_{k-1})
    return float(np.dot(m[order], increments))


def make_toy_data(rng: np.random.Generator, n: int = 400,
                  pos_fraction: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping 2-D Gaussian blobs; the positive class is the rare one.

    Returns ``X`` of shape ``(n, 2)`` and ``y`` of shape ``(n,)`` with values in {0, 1}.

    >>> X, y = make_toy_data(np.random.default_rng(0), n=100)
    >>> X.shape, int(y.sum())
    ((100, 2), 5)
    """
    n_pos = int(round(pos_fraction * n))
    y = np.zeros(n, dtype=int)
    y[:n_pos] = 1
    centres = np.where(y[:, None] == 1, [0.8, 0.8], [-0.4, -0.4])   # (n, 2)
    X = centres + rng.standard_normal((n, 2))
    return X, y


def fit_logistic(X: np.ndarray, y: np.ndarray, objective: str, steps: int = 300,
                 lr: float = 2.0, tau: float = 1.0) -> dict[str, np.ndarray]:
    r"""Gradient ascent on a soft metric of the logistic model :math:`z=Xw+b`.

    ``objective`` is ``"accuracy"`` (:func:`soft_accuracy` at temperature
    ``tau``), ``"iou"`` (:func:`soft_iou` of :math:`p=\sigma(z)`) or ``"loglik"``
    (mean log-likelihood, i.e. minus the cross-entropy, for comparison).
    Starts from :math:`w=0,\ b=0`.  Returns the hard accuracy and hard IoU after
    every step, arrays of shape ``(steps,)``, and the final parameters.

    >>> X, y = make_toy_data(np.random.default_rng(0))
    >>> acc_run, iou_run = fit_logistic(X, y, "accuracy"), fit_logistic(X, y, "iou")
    >>> float(acc_run["iou"][-1]), round(float(iou_run["iou"][-1]), 2)
    (0.0, 0.25)
    """
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    acc, iou = np.empty(steps), np.empty(steps)
    for t in range(steps):
        z = X @ w + b                                      # (n,)
        if objective == "accuracy":
            g_z = soft_accuracy_grad(z, y, tau)            # dA/dz, (n,)
        elif objective == "iou":
            p = sigmoid(z)
            g_z = soft_iou_grad(p, y) * p * (1 - p)        # chain rule through sigma, (n,)
        elif objective == "loglik":
            g_z = (y - sigmoid(z)) / n                     # d/dz of mean log-likelihood
        else:
            raise ValueError(f"unknown objective {objective!r}")
        w = w + lr * (X.T @ g_z)                           # (d,)
        b = b + lr * g_z.sum()
        z = X @ w + b
        acc[t], iou[t] = hard_accuracy(z, y), hard_iou(z, y)
    return {"accuracy": acc, "iou": iou, "w": w, "b": np.array(b)}
