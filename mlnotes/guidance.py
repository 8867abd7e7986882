r"""Classifier guidance and classifier-free guidance for diffusion samplers.

Notation follows :mod:`mlnotes.diffusion`: :math:`\bar\alpha_t` is the
cumulative product of the noise schedule, the score of the noisy marginal is
:math:`\nabla_{x}\log p_t(x)`, and a noise prediction relates to it by
:math:`\varepsilon = -\sqrt{1-\bar\alpha_t}\,\nabla_x\log p_t(x)`.

The first functions combine noise predictions or scores and work on arrays of
any shape.  The rest build a toy problem in which every quantity is exact:
class :math:`k` has clean data :math:`x_0\mid y=k\sim\mathcal N(\mu_k, \sigma_k^2 I)`
in :math:`d` dimensions with prior :math:`\pi_k`, so that
:math:`p_t(x\mid y=k)=\mathcal N(\sqrt{\bar\alpha_t}\mu_k,\ (\bar\alpha_t \sigma_k^2+1-\bar\alpha_t) I)`
and the conditional score, the unconditional score and the classifier
:math:`p_t(y\mid x)` all have closed forms.  Points are arrays of shape
``(..., d)``; means have shape ``(K, d)``; standard deviations and priors
shape ``(K,)``.

Explained in the post ``posts/guidance``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "eps_to_score",
    "score_to_eps",
    "classifier_guided_score",
    "classifier_guided_eps",
    "cfg_eps",
    "cfg_eps_scale",
    "class_log_likelihoods",
    "class_log_posterior",
    "conditional_score",
    "marginal_score",
    "classifier_log_grad",
    "toy_cfg_eps",
    "tilted_gaussian",
    "tilted_log_density",
]


def eps_to_score(eps: np.ndarray, alpha_bar_t: float) -> np.ndarray:
    r"""Turn a noise prediction into a score.

    .. math:: \nabla_x\log p_t(x) = -\varepsilon/\sqrt{1-\bar\alpha_t}

    >>> eps_to_score(np.array([0.5]), 0.75)
    array([-1.])
    """
    return -np.asarray(eps) / np.sqrt(1.0 - alpha_bar_t)


def score_to_eps(score: np.ndarray, alpha_bar_t: float) -> np.ndarray:
    r"""Inverse of :func:`eps_to_score`: :math:`\varepsilon = -\sqrt{1-\bar\alpha_t}\,\nabla_x\log p_t(x)`.

    >>> score_to_eps(np.array([-1.0]), 0.75)
    array([0.5])
    """
    return -np.sqrt(1.0 - alpha_bar_t) * np.asarray(score)


def classifier_guided_score(score: np.ndarray, classifier_grad: np.ndarray,
                            scale: float) -> np.ndarray:
    r"""Classifier guidance on the score.

    .. math:: \nabla_x\log p_t(x) + s\,\nabla_x\log p_\phi(y\mid x)

    With ``scale = 1`` and an exact classifier this is the conditional score
    :math:`\nabla_x\log p_t(x\mid y)` (Bayes' rule).

    >>> classifier_guided_score(np.array([-1.0]), np.array([2.0]), 3.0)
    array([5.])
    """
    return np.asarray(score) + scale * np.asarray(classifier_grad)


def classifier_guided_eps(eps: np.ndarray, classifier_grad: np.ndarray, alpha_bar_t: float,
                          scale: float) -> np.ndarray:
    r"""Classifier guidance on a noise prediction (Dhariwal & Nichol, Algorithm 2).

    .. math:: \hat\varepsilon = \varepsilon_\theta(x_t)
              - s\,\sqrt{1-\bar\alpha_t}\;\nabla_{x_t}\log p_\phi(y\mid x_t)

    This is :func:`classifier_guided_score` pushed through :func:`score_to_eps`.

    >>> classifier_guided_eps(np.array([0.5]), np.array([2.0]), 0.75, 1.0)   # 0.5 - 0.5 * 2
    array([-0.5])
    """
    return np.asarray(eps) - scale * np.sqrt(1.0 - alpha_bar_t) * np.asarray(classifier_grad)


def cfg_eps(eps_cond: np.ndarray, eps_uncond: np.ndarray, w: float) -> np.ndarray:
    r"""Classifier-free guidance in the convention of Ho & Salimans: weight :math:`w`.

    .. math:: \tilde\varepsilon = (1+w)\,\varepsilon_\theta(x_t, c) - w\,\varepsilon_\theta(x_t)

    :math:`w=0` is the plain conditional model.  Identical to
    :func:`cfg_eps_scale` with :math:`s = 1 + w`.

    >>> cfg_eps(np.array([0.8]), np.array([0.2]), 2.0)   # 3 * 0.8 - 2 * 0.2
    array([2.])
    """
    return (1.0 + w) * np.asarray(eps_cond) - w * np.asarray(eps_uncond)


def cfg_eps_scale(eps_cond: np.ndarray, eps_uncond: np.ndarray, s: float) -> np.ndarray:
    r"""Classifier-free guidance in the "guidance scale" convention (Stable Diffusion's ``--scale``).

    .. math:: \tilde\varepsilon = \varepsilon_\theta(x_t) + s\,\bigl(\varepsilon_\theta(x_t, c)
              - \varepsilon_\theta(x_t)\bigr)

    :math:`s=0` is the unconditional model, :math:`s=1` the conditional one.
    Identical to :func:`cfg_eps` with :math:`w = s - 1`.

    >>> cfg_eps_scale(np.array([0.8]), np.array([0.2]), 3.0)   # 0.2 + 3 * 0.6
    array([2.])
    """
    eps_uncond = np.asarray(eps_uncond)
    return eps_uncond + s * (np.asarray(eps_cond) - eps_uncond)


# ---------------------------------------------------------------------------
# The Gaussian toy: one isotropic Gaussian per class, everything exact.
# ---------------------------------------------------------------------------

def _noisy_components(alpha_bar_t: float, means: np.ndarray, stds: np.ndarray):
    """Means (K, d) and variances (K,) of p_t(x | y=k)."""
    m = np.sqrt(alpha_bar_t) * np.asarray(means, dtype=float)                 # (K, d)
    v = alpha_bar_t * np.asarray(stds, dtype=float) ** 2 + (1.0 - alpha_bar_t)  # (K,)
    return m, v


def class_log_likelihoods(x: np.ndarray, alpha_bar_t: float, means: np.ndarray,
                          stds: np.ndarray) -> np.ndarray:
    r"""The log-densities :math:`\log p_t(x\mid y=k)` of every class, shape ``(..., K)``.

    .. math:: \log p_t(x\mid y=k) = -\frac d2\log(2\pi v_k)
              - \frac{\lVert x-\sqrt{\bar\alpha_t}\mu_k\rVert^2}{2v_k},
              \qquad v_k=\bar\alpha_t \sigma_k^2+1-\bar\alpha_t

    >>> ll = class_log_likelihoods(np.array([[0.0]]), 1.0, np.array([[0.0]]), np.array([1.0]))
    >>> round(float(ll[0, 0]), 6)   # log of the standard normal density at 0
    -0.918939
    """
    x = np.asarray(x, dtype=float)
    m, v = _noisy_components(alpha_bar_t, means, stds)
    d = m.shape[1]
    sq = np.sum((x[..., None, :] - m) ** 2, axis=-1)                           # (..., K)
    return -0.5 * d * np.log(2 * np.pi * v) - 0.5 * sq / v


def class_log_posterior(x: np.ndarray, alpha_bar_t: float, means: np.ndarray, stds: np.ndarray,
                        weights: np.ndarray) -> np.ndarray:
    r"""The exact noisy classifier :math:`\log p_t(y=k\mid x)`, shape ``(..., K)``.

    .. math:: p_t(y=k\mid x) = \frac{\pi_k\,p_t(x\mid y=k)}{\sum_j \pi_j\,p_t(x\mid y=j)}

    >>> lp = class_log_posterior(np.array([[0.0]]), 1.0, np.array([[-1.0], [1.0]]),
    ...                          np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    >>> np.exp(lp).round(3)   # halfway between two equal classes
    array([[0.5, 0.5]])
    """
    joint = np.log(weights) + class_log_likelihoods(x, alpha_bar_t, means, stds)   # (..., K)
    top = joint.max(axis=-1, keepdims=True)
    return joint - top - np.log(np.sum(np.exp(joint - top), axis=-1, keepdims=True))


def conditional_score(x: np.ndarray, alpha_bar_t: float, y: int, means: np.ndarray,
                      stds: np.ndarray) -> np.ndarray:
    r"""The conditional score :math:`\nabla_x\log p_t(x\mid y) = -(x-\sqrt{\bar\alpha_t}\mu_y)/v_y`.

    >>> conditional_score(np.array([[2.0]]), 1.0, 0, np.array([[0.0]]), np.array([2.0]))
    array([[-0.5]])
    """
    m, v = _noisy_components(alpha_bar_t, means, stds)
    return -(np.asarray(x, dtype=float) - m[y]) / v[y]


def marginal_score(x: np.ndarray, alpha_bar_t: float, means: np.ndarray, stds: np.ndarray,
                   weights: np.ndarray) -> np.ndarray:
    r"""The unconditional score of the mixture, shape ``(..., d)``.

    .. math:: \nabla_x\log p_t(x) = \sum_k p_t(y=k\mid x)\,\nabla_x\log p_t(x\mid y=k)

    >>> marginal_score(np.array([[0.0]]), 1.0, np.array([[-1.0], [1.0]]),
    ...                np.array([1.0, 1.0]), np.array([0.5, 0.5]))   # symmetric: zero
    array([[0.]])
    """
    x = np.asarray(x, dtype=float)
    m, v = _noisy_components(alpha_bar_t, means, stds)
    resp = np.exp(class_log_posterior(x, alpha_bar_t, means, stds, weights))   # (..., K)
    comp_scores = -(x[..., None, :] - m) / v[:, None]                          # (..., K, d)
    return np.sum(resp[..., None] * comp_scores, axis=-2)


def classifier_log_grad(x: np.ndarray, alpha_bar_t: float, y: int, means: np.ndarray,
                        stds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""The gradient of the exact noisy classifier, :math:`\nabla_x\log p_t(y\mid x)`.

    By Bayes' rule it is the conditional score minus the unconditional one:

    .. math:: \nabla_x\log p_t(y\mid x) = \nabla_x\log p_t(x\mid y) - \nabla_x\log p_t(x)

    >>> g = classifier_log_grad(np.array([[0.0]]), 1.0, 1, np.array([[-1.0], [1.0]]),
    ...                         np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    >>> g   # pushes x towards class 1
    array([[1.]])
    """
    return (conditional_score(x, alpha_bar_t, y, means, stds)
            - marginal_score(x, alpha_bar_t, means, stds, weights))


def toy_cfg_eps(x: np.ndarray, alpha_bar_t: float, y: int, s: float, means: np.ndarray,
                stds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""Classifier-free guided noise prediction on the toy, with exact scores.

    The "network" is perfect: :math:`\varepsilon(x_t, y)` and :math:`\varepsilon(x_t)`
    are :func:`score_to_eps` of :func:`conditional_score` and :func:`marginal_score`,
    combined by :func:`cfg_eps_scale` with guidance scale ``s``.  Pass it to
    :func:`mlnotes.diffusion.sample` as ``lambda x, ab: toy_cfg_eps(x, ab, y, s, ...)``.
    """
    eps_c = score_to_eps(conditional_score(x, alpha_bar_t, y, means, stds), alpha_bar_t)
    eps_u = score_to_eps(marginal_score(x, alpha_bar_t, means, stds, weights), alpha_bar_t)
    return cfg_eps_scale(eps_c, eps_u, s)


def tilted_gaussian(y: float, s: float, prior_std: float = 1.0,
                    noise_std: float = 1.0) -> tuple[float, float]:
    r"""Mean and standard deviation of :math:`p(x)\,p(y\mid x)^s` for a Gaussian prior and likelihood.

    With :math:`p(x)=\mathcal N(0,\sigma^2)` and :math:`p(y\mid x)=\mathcal N(y;\ x,\tau^2)`,
    raising the likelihood to the power :math:`s` divides its variance by :math:`s`, so

    .. math:: \frac1{\sigma_s^2}=\frac1{\sigma^2}+\frac s{\tau^2},\qquad
              \mu_s=\sigma_s^2\,\frac{s\,y}{\tau^2} .

    >>> tilted_gaussian(2.0, 1.0)   # the ordinary posterior: variance 0.5
    (1.0, 0.7071067811865476)
    >>> tilted_gaussian(2.0, 4.0)   # s = 4: variance 0.2, mean 1.6
    (1.6, 0.4472135954999579)
    """
    precision = 1.0 / prior_std**2 + s / noise_std**2
    var = 1.0 / precision
    return float(var * s * y / noise_std**2), float(np.sqrt(var))


def tilted_log_density(x: np.ndarray, alpha_bar_t: float, y: int, s: float, means: np.ndarray,
                       stds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""The unnormalised log-density that guidance with scale :math:`s` targets, shape ``(...,)``.

    .. math:: \log\tilde p_{t,s}(x\mid y) = \log p_t(x) + s\log p_t(y\mid x) + \text{const}

    Its gradient is the guided score; :math:`s=0` gives :math:`p_t(x)`,
    :math:`s=1` gives :math:`p_t(x\mid y)` (both up to the constant).
    """
    joint = np.log(weights) + class_log_likelihoods(x, alpha_bar_t, means, stds)   # (..., K)
    top = joint.max(axis=-1)
    log_px = top + np.log(np.sum(np.exp(joint - top[..., None]), axis=-1))        # log p_t(x)
    log_post = class_log_posterior(x, alpha_bar_t, means, stds, weights)[..., y]
    return log_px + s * log_post
