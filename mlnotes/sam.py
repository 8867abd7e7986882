r"""Pieces of Segment Anything (SAM) that fit in a few lines of NumPy.

Kirillov et al. (2023) encode point and box prompts with random Fourier
features, predict three masks per prompt and train only the best of them,
and filter automatically generated masks by a stability score.  This module
implements those pieces:

- :func:`fourier_encode` and :func:`fourier_similarity`: random Fourier
  positional encodings of 2-D coordinates and the kernel they induce;
- :func:`mask_iou`, :func:`dice_loss`, :func:`focal_loss`, :func:`mask_loss`
  and :func:`min_over_masks`: the ambiguity-aware loss;
- :func:`dynamic_mask_logits`: the decoder's last step, a per-prompt linear
  classifier applied at every pixel;
- :func:`stability_score`: IoU of one soft mask binarised at two thresholds.

Coordinates are ``(x, y)`` normalised to :math:`[0,1]^2`; masks and logits
have shape ``(..., H, W)``.  Explained in the post ``posts/segment-anything``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "gaussian_frequencies",
    "fourier_encode",
    "fourier_similarity",
    "expected_fourier_similarity",
    "mask_iou",
    "sigmoid",
    "dice_loss",
    "focal_loss",
    "mask_loss",
    "min_over_masks",
    "dynamic_mask_logits",
    "stability_score",
]


def gaussian_frequencies(num_feats: int, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    r"""A random frequency matrix :math:`B\in\mathbb R^{2\times F}`, :math:`B_{jk}\sim\mathcal N(0,\sigma^2)`.

    Drawn once and then fixed (it is not trained).

    >>> gaussian_frequencies(128).shape
    (2, 128)
    """
    return scale * np.random.default_rng(seed).standard_normal((2, num_feats))


def fourier_encode(coords: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    r"""Random Fourier features of points :math:`p\in[0,1]^2`.

    .. math:: \gamma(p) = \bigl[\sin(2\pi\,\tilde p^{\top}B),\ \cos(2\pi\,\tilde p^{\top}B)\bigr],
              \qquad \tilde p = 2p-1\in[-1,1]^2

    ``coords`` has shape ``(..., 2)`` and ``freqs`` ``(2, F)``; the result has
    shape ``(..., 2F)``.  Every encoding has squared norm :math:`F`.

    >>> B = np.array([[0.25], [0.0]])                  # F = 1, one frequency along x
    >>> fourier_encode(np.array([0.5, 0.3]), B)        # the centre: phase 0
    array([0., 1.])
    >>> fourier_encode(np.array([1.0, 0.3]), B).round(12)   # phase 2*pi*0.25 = pi/2
    array([1., 0.])
    """
    centred = 2.0 * np.asarray(coords, dtype=float) - 1.0        # (..., 2) in [-1, 1]
    phase = 2.0 * np.pi * centred @ freqs                         # (..., F)
    return np.concatenate([np.sin(phase), np.cos(phase)], axis=-1)  # (..., 2F)


def fourier_similarity(p: np.ndarray, q: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    r"""Normalised dot product :math:`\gamma(p)^{\top}\gamma(q)/F` of two encodings.

    By :math:`\sin a\sin b+\cos a\cos b=\cos(a-b)` it equals
    :math:`\frac1F\sum_k\cos\bigl(4\pi\,(p-q)^{\top}B_{:,k}\bigr)`: it depends
    on the offset :math:`p-q` only, and is 1 when :math:`p=q`.

    >>> B = gaussian_frequencies(128)
    >>> float(fourier_similarity(np.array([0.2, 0.7]), np.array([0.2, 0.7]), B))
    1.0
    """
    num_feats = freqs.shape[1]
    return np.sum(fourier_encode(p, freqs) * fourier_encode(q, freqs), axis=-1) / num_feats


def expected_fourier_similarity(distance: np.ndarray, scale: float = 1.0) -> np.ndarray:
    r"""The mean of :func:`fourier_similarity` over random :math:`B`: a Gaussian kernel.

    With :math:`B_{jk}\sim\mathcal N(0,\sigma^2)` and :math:`d=\lVert p-q\rVert`,

    .. math:: \mathbb E\bigl[\gamma(p)^{\top}\gamma(q)/F\bigr] = \exp(-8\pi^2\sigma^2 d^2).

    >>> round(float(expected_fourier_similarity(0.05)), 3)
    0.821
    """
    d = np.asarray(distance, dtype=float)
    return np.exp(-8.0 * np.pi**2 * scale**2 * d**2)


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Intersection over union of binary masks, over the last two axes.

    .. math:: \mathrm{IoU}(A,B)=\frac{|A\cap B|}{|A\cup B|}

    Two empty masks are identical, so their IoU is defined as 1.

    >>> a = np.zeros((4, 4), bool); a[:2, :2] = True     # 4 pixels
    >>> b = np.zeros((4, 4), bool); b[:2, :] = True      # 8 pixels, contains a
    >>> float(mask_iou(a, b))
    0.5
    """
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    inter = np.sum(a & b, axis=(-2, -1))
    union = np.sum(a | b, axis=(-2, -1))
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""The logistic function :math:`\sigma(z)=1/(1+e^{-z})`, computed without overflow.

    >>> sigmoid(np.array([-800.0, 0.0, 800.0]))
    array([0. , 0.5, 1. ])
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def dice_loss(logits: np.ndarray, target: np.ndarray, smooth: float = 1.0) -> np.ndarray:
    r"""Soft Dice loss of a mask, over the last two axes.

    .. math:: L_\text{dice} = 1-\frac{2\sum_i p_i t_i + s}{\sum_i p_i+\sum_i t_i + s},
              \qquad p_i=\sigma(\ell_i)

    where :math:`\ell` are the logits, :math:`t\in\{0,1\}` the target and
    :math:`s` a smoothing constant.  Perfect masks give 0.

    >>> t = np.zeros((4, 4)); t[:2, :2] = 1
    >>> float(dice_loss(np.where(t > 0, 50.0, -50.0), t))
    0.0
    """
    p = sigmoid(logits)
    t = np.asarray(target, dtype=float)
    inter = np.sum(p * t, axis=(-2, -1))
    total = np.sum(p, axis=(-2, -1)) + np.sum(t, axis=(-2, -1))
    return 1.0 - (2.0 * inter + smooth) / (total + smooth)


def focal_loss(logits: np.ndarray, target: np.ndarray, alpha: float = 0.25,
               gamma: float = 2.0) -> np.ndarray:
    r"""Sigmoid focal loss, averaged over the last two axes.

    .. math:: L_\text{focal} = \frac1N\sum_i -\alpha_i\,(1-p_{t,i})^{\gamma}\log p_{t,i},
              \qquad p_{t,i} = \begin{cases}p_i & t_i=1\\ 1-p_i & t_i=0\end{cases}

    with :math:`\alpha_i=\alpha` on foreground pixels and :math:`1-\alpha` on
    background.  The factor :math:`(1-p_t)^\gamma` shrinks the loss of pixels
    that are already right.

    >>> t = np.array([[1.0, 0.0]])
    >>> round(float(focal_loss(np.zeros((1, 2)), t)), 6)   # p = 0.5 everywhere
    0.086643
    """
    t = np.asarray(target, dtype=float)
    p = sigmoid(logits)
    p_t = np.where(t > 0, p, 1.0 - p)
    alpha_t = np.where(t > 0, alpha, 1.0 - alpha)
    # log p_t from the logits, stable for large |logits|
    log_p_t = -np.logaddexp(0.0, np.where(t > 0, -logits, logits))
    loss = -alpha_t * (1.0 - p_t) ** gamma * log_p_t
    return loss.mean(axis=(-2, -1))


def mask_loss(logits: np.ndarray, target: np.ndarray, focal_weight: float = 20.0,
              dice_weight: float = 1.0) -> np.ndarray:
    r"""A linear combination of :func:`focal_loss` and :func:`dice_loss`, one value per mask.

    The default 20 : 1 weighting of focal to dice loss is the ratio Kirillov et al. (2023) report;
    SAM's training code is not public, so the two losses themselves (``alpha``, ``gamma``, the
    smoothing constant, averaging over pixels) are this module's choices.  ``logits`` of shape
    ``(K, H, W)`` (K candidate masks) and a ``target`` of shape ``(H, W)`` give ``K`` losses.

    >>> t = np.zeros((4, 4)); t[:2, :2] = 1
    >>> mask_loss(np.stack([np.where(t > 0, 50.0, -50.0), -50 * np.ones((4, 4))]), t).round(3)
    array([ 0. , 63.3])
    """
    return focal_weight * focal_loss(logits, target) + dice_weight * dice_loss(logits, target)


def min_over_masks(losses: np.ndarray) -> tuple[float, int]:
    r"""The ambiguity-aware loss: only the best of the :math:`K` predictions counts.

    .. math:: L = \min_{k} L_k, \qquad k^* = \arg\min_k L_k

    Returns ``(L, k*)``.  The gradient of :math:`L` flows into mask
    :math:`k^*` only; the other predictions are free to cover other
    interpretations of the prompt.

    >>> min_over_masks(np.array([0.57, 0.02, 0.38]))
    (0.02, 1)
    """
    losses = np.asarray(losses, dtype=float)
    k = int(np.argmin(losses))
    return float(losses[k]), k


def dynamic_mask_logits(embedding: np.ndarray, token_weights: np.ndarray) -> np.ndarray:
    r"""Mask logits as a per-prompt linear classifier at every pixel.

    .. math:: \ell_{k,h,w} = \sum_{c} w_{k,c}\,E_{c,h,w}

    ``embedding`` :math:`E` has shape ``(C, H, W)`` (the upscaled image
    embedding) and ``token_weights`` :math:`w` shape ``(K, C)`` (one vector per
    output token, produced by an MLP from that token); the result is
    ``(K, H, W)``.  It is a :math:`1\times1` convolution whose weights are
    computed from the prompt instead of being learned once.

    >>> E = np.array([[[1.0, -1.0]], [[2.0, 0.0]]])           # C=2, H=1, W=2
    >>> dynamic_mask_logits(E, np.array([[1.0, 0.5], [0.0, -1.0]]))
    array([[[ 2., -1.]],
    <BLANKLINE>
           [[-2.,  0.]]])
    """
    return np.einsum("kc,chw->khw", token_weights, embedding)


def stability_score(logits: np.ndarray, threshold: float = 0.0,
                    offset: float = 1.0) -> np.ndarray:
    r"""IoU between a soft mask binarised at :math:`\tau+\delta` and at :math:`\tau-\delta`.

    .. math:: S = \mathrm{IoU}\bigl(\{\ell>\tau+\delta\},\ \{\ell>\tau-\delta\}\bigr)
              = \frac{|\{\ell>\tau+\delta\}|}{|\{\ell>\tau-\delta\}|}

    The high-threshold mask lies inside the low-threshold one, so the IoU is
    a ratio of areas.  A mask whose logits cross the threshold steeply is
    stable (:math:`S\approx1`); a blurry one is not.  Computed over the last
    two axes; an empty low-threshold mask gives 1 (two empty masks).

    >>> ell = np.array([[3.0, 2.0, 0.5, -0.5, -2.0]])
    >>> float(stability_score(ell))          # 2 pixels above +1, 4 above -1
    0.5
    """
    high = logits > threshold + offset
    low = logits > threshold - offset
    return mask_iou(high, low)
