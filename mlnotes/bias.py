r"""The bias term of a neuron: a perceptron with and without it, and why BatchNorm makes it redundant.

A perceptron fires when the weighted sum of its inputs exceeds a threshold
:math:`T`, :math:`w^\top x > T`.  Moving :math:`T` to the left-hand side gives
:math:`w^\top x + b > 0` with :math:`b=-T`, a parameter that can be learned like
any weight.  Without it the decision boundary :math:`w^\top x + b = 0` is forced
through the origin.  Points are arrays of shape ``(n, d)``, labels are
:math:`\pm1` of shape ``(n,)``.

Explained in the post ``posts/neural-network-bias``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "threshold_to_bias",
    "perceptron_predict",
    "train_perceptron",
    "boundary_distance",
    "shifted_blobs",
    "batch_norm",
]


def threshold_to_bias(threshold: float) -> float:
    r"""The bias equivalent to a firing threshold.

    .. math:: w^\top x > T \iff w^\top x + b > 0,\qquad b = -T

    >>> threshold_to_bias(2.5)
    -2.5
    """
    return -float(threshold)


def perceptron_predict(x: np.ndarray, w: np.ndarray, b: float = 0.0) -> np.ndarray:
    r"""Perceptron output :math:`\operatorname{sign}(w^\top x + b)`, with 0 mapped to :math:`-1`.

    Parameters
    ----------
    x : array of shape ``(n, d)``
    w : array of shape ``(d,)``
    b : float

    Returns
    -------
    array of shape ``(n,)`` with entries :math:`\pm1`

    Examples
    --------
    >>> perceptron_predict(np.array([[1.0], [3.0]]), np.array([1.0]), -2.5)
    array([-1,  1])
    """
    z = x @ w + b                                      # (n,)
    return np.where(z > 0, 1, -1)


def train_perceptron(x: np.ndarray, y: np.ndarray, use_bias: bool = True,
                     epochs: int = 100, lr: float = 1.0) -> tuple[np.ndarray, float, int, int]:
    r"""Rosenblatt's perceptron rule, with or without a learnable bias.

    For every misclassified point (:math:`y_i(w^\top x_i+b)\le 0`):

    .. math:: w \leftarrow w + \eta\,y_i x_i,\qquad b \leftarrow b + \eta\,y_i

    The bias update is the weight update for a constant input 1.  With
    ``use_bias=False`` the bias stays 0.

    Parameters
    ----------
    x : array of shape ``(n, d)``
    y : array of shape ``(n,)``, entries :math:`\pm1`
    use_bias : bool
        Learn :math:`b` (otherwise it stays 0).
    epochs : int
        Maximum number of passes; each pass visits the points in order.
    lr : float
        Learning rate :math:`\eta`.

    Returns
    -------
    w : array of shape ``(d,)``
    b : float
    errors : int
        Number of training points misclassified at the end.
    passes : int
        Number of passes that changed the parameters (at least one mistake).

    Examples
    --------
    >>> x = np.array([[1.0], [2.0], [3.0], [4.0]]); y = np.array([-1, -1, 1, 1])
    >>> train_perceptron(x, y, use_bias=False)[2]
    2
    >>> train_perceptron(x, y, use_bias=True)[2]
    0
    """
    w = np.zeros(x.shape[1])                           # (d,)
    b = 0.0
    passes = 0
    for _ in range(epochs):
        mistakes = 0
        for xi, yi in zip(x, y, strict=True):                     # xi: (d,)
            if yi * (xi @ w + b) <= 0:
                w = w + lr * yi * xi
                if use_bias:
                    b = b + lr * yi
                mistakes += 1
        if mistakes == 0:
            break
        passes += 1
    errors = int(np.sum(perceptron_predict(x, w, b) != y))
    return w, float(b), errors, passes


def boundary_distance(w: np.ndarray, b: float) -> float:
    r"""Signed distance from the origin to the hyperplane :math:`w^\top x + b = 0`.

    .. math:: \frac{-b}{\lVert w\rVert}

    measured along the unit normal :math:`w/\lVert w\rVert`.

    >>> boundary_distance(np.array([3.0, 4.0]), -10.0)
    2.0
    """
    return float(-b / np.linalg.norm(w))


def shifted_blobs(n: int = 50, shift: float = 3.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Two Gaussian blobs that are separable by :math:`x_1+x_2=2\,\text{shift}`, both far from the origin.

    Class :math:`-1` is centred at :math:`(\text{shift}-1,\ \text{shift}-1)`, class :math:`+1` at
    :math:`(\text{shift}+1,\ \text{shift}+1)`, standard deviation 0.3; points
    closer than 0.2 to the separating line are dropped so that the classes are
    separable with a margin.

    Returns
    -------
    x : array of shape ``(m, 2)``, ``m <= 2 n``
    y : array of shape ``(m,)``, entries :math:`\pm1`

    Examples
    --------
    >>> x, y = shifted_blobs(10)
    >>> bool(np.all(x > 0))
    True
    """
    rng = np.random.default_rng(seed)
    y = np.repeat([-1, 1], n)                                    # (2n,)
    x = shift + y[:, None] * 1.0 + 0.3 * rng.standard_normal((2 * n, 2))   # (2n, 2)
    margin = y * (x.sum(axis=1) - 2 * shift) / np.sqrt(2)        # (2n,)
    keep = margin > 0.2
    return x[keep], y[keep]


def batch_norm(z: np.ndarray, gamma: np.ndarray | float = 1.0, beta: np.ndarray | float = 0.0,
               eps: float = 1e-5) -> np.ndarray:
    r"""Batch normalisation in training mode (statistics of the current batch).

    .. math:: \hat z_{ij} = \gamma_j\,\frac{z_{ij}-\mu_j}{\sqrt{\sigma_j^2+\epsilon}} + \beta_j,
        \qquad \mu_j = \frac1n\sum_i z_{ij},\quad \sigma_j^2=\frac1n\sum_i (z_{ij}-\mu_j)^2

    Adding a per-feature constant :math:`b_j` to every :math:`z_{ij}` shifts
    :math:`\mu_j` by the same :math:`b_j` and leaves :math:`\sigma_j` alone, so the
    output does not change.

    Parameters
    ----------
    z : array of shape ``(n, c)``
    gamma, beta : arrays of shape ``(c,)`` or scalars
    eps : float

    Returns
    -------
    array of shape ``(n, c)``

    Examples
    --------
    >>> z = np.array([[0.0], [2.0]])
    >>> np.allclose(batch_norm(z), batch_norm(z + 5.0))
    True
    """
    mu = z.mean(axis=0)                                # (c,)
    var = z.var(axis=0)                                # (c,), biased, as in the paper
    return gamma * (z - mu) / np.sqrt(var + eps) + beta
