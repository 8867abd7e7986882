r"""Denoising diffusion: the DDPM forward process and the DDPM/DDIM samplers.

Notation follows Ho et al. (2020) and Song et al. (2021): :math:`\beta_t` is the
noise schedule, :math:`\alpha_t = 1-\beta_t` and
:math:`\bar\alpha_t = \prod_{s\le t}\alpha_s`.  Every function works on one
step with scalar :math:`\bar\alpha` values, so it can be read against the
formula in the post; arrays of samples broadcast.  By convention
:math:`\bar\alpha_0 = 1` (the clean data).

Explained in the concept page ``concepts/ddpm`` and the post ``posts/ddim``
(inversion: :func:`ddim_invert`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "linear_beta_schedule",
    "alpha_bars",
    "q_sample",
    "predict_x0",
    "ddpm_posterior_variance",
    "ddpm_step",
    "ddim_sigma",
    "ddim_step",
    "ddim_timesteps",
    "sample",
    "ddim_invert",
    "gmm_eps",
]


def linear_beta_schedule(num_steps: int = 1000, beta_start: float = 1e-4,
                         beta_end: float = 0.02) -> np.ndarray:
    r"""The linear schedule of DDPM: :math:`\beta_1,\dots,\beta_T` evenly spaced.

    Ho et al. (2020) use :math:`T=1000`, :math:`\beta_1=10^{-4}`, :math:`\beta_T=0.02`.

    >>> betas = linear_beta_schedule(1000)
    >>> betas.shape, float(betas[0]), float(betas[-1])
    ((1000,), 0.0001, 0.02)
    """
    return np.linspace(beta_start, beta_end, num_steps)


def alpha_bars(betas: np.ndarray) -> np.ndarray:
    r"""Cumulative products :math:`\bar\alpha_t=\prod_{s=1}^{t}(1-\beta_s)`, for :math:`t=1..T`.

    Entry ``t - 1`` holds :math:`\bar\alpha_t`.

    >>> ab = alpha_bars(linear_beta_schedule(1000))
    >>> bool(np.all(np.diff(ab) < 0)), round(float(ab[-1]), 5)
    (True, 4e-05)
    """
    return np.cumprod(1.0 - np.asarray(betas, dtype=float))


def q_sample(x0: np.ndarray, alpha_bar_t: float, noise: np.ndarray) -> np.ndarray:
    r"""Sample :math:`x_t\sim q(x_t\mid x_0)` in closed form.

    .. math:: x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon,
              \qquad \varepsilon\sim\mathcal N(0, I)

    >>> q_sample(np.array([2.0]), 0.25, np.array([0.0]))
    array([1.])
    """
    return np.sqrt(alpha_bar_t) * x0 + np.sqrt(1.0 - alpha_bar_t) * noise


def predict_x0(x_t: np.ndarray, eps: np.ndarray, alpha_bar_t: float) -> np.ndarray:
    r"""Invert :func:`q_sample` for :math:`x_0` given a noise estimate.

    .. math:: \hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon}{\sqrt{\bar\alpha_t}}

    >>> predict_x0(np.array([1.0]), np.array([0.0]), 0.25)
    array([2.])
    """
    return (x_t - np.sqrt(1.0 - alpha_bar_t) * eps) / np.sqrt(alpha_bar_t)


def ddpm_posterior_variance(alpha_bar_t: float, alpha_bar_prev: float) -> float:
    r"""Variance :math:`\tilde\beta_t` of the posterior :math:`q(x_{t-1}\mid x_t, x_0)`.

    .. math:: \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t,
              \qquad \beta_t = 1-\frac{\bar\alpha_t}{\bar\alpha_{t-1}}

    >>> round(ddpm_posterior_variance(0.5, 1.0), 12)   # t = 1: no noise is added
    0.0
    """
    beta_t = 1.0 - alpha_bar_t / alpha_bar_prev
    return float((1.0 - alpha_bar_prev) / (1.0 - alpha_bar_t) * beta_t)


def ddpm_step(x_t: np.ndarray, eps: np.ndarray, alpha_bar_t: float, alpha_bar_prev: float,
              noise: np.ndarray) -> np.ndarray:
    r"""One ancestral sampling step of DDPM, :math:`x_t\to x_{t-1}`.

    .. math:: x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Bigl(x_t-\frac{\beta_t}{\sqrt{1-\bar\alpha_t}}
              \hat\varepsilon\Bigr) + \sqrt{\tilde\beta_t}\,z, \qquad z\sim\mathcal N(0,I)

    with :math:`\alpha_t=\bar\alpha_t/\bar\alpha_{t-1}` and
    :math:`\tilde\beta_t` from :func:`ddpm_posterior_variance`.

    >>> x = ddpm_step(np.array([1.0]), np.array([0.0]), 0.81, 0.9, np.array([0.0]))
    >>> round(float(x[0]), 6)   # 1 / sqrt(0.9)
    1.054093
    """
    alpha_t = alpha_bar_t / alpha_bar_prev
    beta_t = 1.0 - alpha_t
    mean = (x_t - beta_t / np.sqrt(1.0 - alpha_bar_t) * eps) / np.sqrt(alpha_t)
    return mean + np.sqrt(ddpm_posterior_variance(alpha_bar_t, alpha_bar_prev)) * noise


def ddim_sigma(alpha_bar_t: float, alpha_bar_prev: float, eta: float) -> float:
    r"""The DDIM noise scale :math:`\sigma_t(\eta)`.

    .. math:: \sigma_t(\eta) = \eta\sqrt{\frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}}
              \sqrt{1-\frac{\bar\alpha_t}{\bar\alpha_{t-1}}}

    :math:`\eta=0` is the deterministic DDIM sampler; :math:`\eta=1` gives
    :math:`\sigma_t^2=\tilde\beta_t`, the DDPM posterior variance.

    >>> ddim_sigma(0.81, 0.9, 0.0)
    0.0
    >>> bool(np.isclose(ddim_sigma(0.81, 0.9, 1.0) ** 2, ddpm_posterior_variance(0.81, 0.9)))
    True
    """
    return float(eta * np.sqrt((1.0 - alpha_bar_prev) / (1.0 - alpha_bar_t))
                 * np.sqrt(1.0 - alpha_bar_t / alpha_bar_prev))


def ddim_step(x_t: np.ndarray, eps: np.ndarray, alpha_bar_t: float, alpha_bar_prev: float,
              eta: float = 0.0, noise: np.ndarray | None = None) -> np.ndarray:
    r"""One DDIM update from :math:`\bar\alpha_t` to :math:`\bar\alpha_{t-1}` (Song et al., eq. 12).

    .. math:: x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,\hat x_0
              + \sqrt{1-\bar\alpha_{t-1}-\sigma_t^2}\,\hat\varepsilon + \sigma_t z

    where :math:`\hat x_0` comes from :func:`predict_x0` and
    :math:`\sigma_t=\sigma_t(\eta)` from :func:`ddim_sigma`.  The two
    :math:`\bar\alpha` need not be neighbours: that is what lets DDIM skip steps.
    With ``eta == 0`` the step is deterministic and ``noise`` is not used.

    >>> x = np.array([0.3, -1.2])
    >>> eps = np.array([0.5, 0.1])
    >>> ddim_step(x, eps, 0.5, 0.9)   # eta = 0: no randomness
    array([ 0.08626447, -1.6732145 ])
    """
    sigma = ddim_sigma(alpha_bar_t, alpha_bar_prev, eta)
    x0_hat = predict_x0(x_t, eps, alpha_bar_t)
    direction = np.sqrt(1.0 - alpha_bar_prev - sigma**2) * eps   # "direction pointing to x_t"
    x_prev = np.sqrt(alpha_bar_prev) * x0_hat + direction
    if sigma > 0:
        if noise is None:
            raise ValueError("eta > 0 needs a noise sample")
        x_prev = x_prev + sigma * noise
    return x_prev


def ddim_timesteps(num_train_steps: int, num_sample_steps: int) -> np.ndarray:
    r"""An increasing sub-sequence :math:`\tau` of :math:`1..T` with ``num_sample_steps`` steps.

    Evenly spaced, always ending at :math:`T` (the "linear" choice of Song et al.).

    >>> ddim_timesteps(1000, 10)
    array([ 100,  200,  300,  400,  500,  600,  700,  800,  900, 1000])
    """
    if not 1 <= num_sample_steps <= num_train_steps:
        raise ValueError("need 1 <= num_sample_steps <= num_train_steps")
    return np.linspace(num_train_steps / num_sample_steps, num_train_steps,
                       num_sample_steps).round().astype(int)


def sample(x_T: np.ndarray, alpha_bar: np.ndarray, timesteps: np.ndarray,
           eps_model: Callable[[np.ndarray, float], np.ndarray], eta: float = 0.0,
           rng: np.random.Generator | None = None, return_path: bool = False):
    r"""Run DDIM along ``timesteps`` (1-based, increasing) from :math:`x_T` to :math:`x_0`.

    ``eps_model(x, alpha_bar_t)`` predicts the noise.  With ``eta=1`` and
    ``timesteps = 1..T`` this is DDPM's ancestral sampler.  With
    ``return_path`` the states after every step are returned too, shape
    ``(len(timesteps) + 1, *x_T.shape)``.
    """
    if eta > 0 and rng is None:
        raise ValueError("eta > 0 needs a random generator")
    x = np.asarray(x_T, dtype=float)
    path = [x]
    taus = list(np.asarray(timesteps))
    for i in range(len(taus) - 1, -1, -1):
        ab_t = alpha_bar[taus[i] - 1]
        ab_prev = alpha_bar[taus[i - 1] - 1] if i > 0 else 1.0
        noise = rng.standard_normal(x.shape) if eta > 0 else None
        x = ddim_step(x, eps_model(x, ab_t), ab_t, ab_prev, eta, noise)
        path.append(x)
    return (x, np.stack(path)) if return_path else x


def ddim_invert(x0: np.ndarray, alpha_bar: np.ndarray, timesteps: np.ndarray,
                eps_model: Callable[[np.ndarray, float], np.ndarray], return_path: bool = False):
    r"""DDIM inversion: run the deterministic (:math:`\eta=0`) update upwards, :math:`x_0\to x_T`.

    Each step goes from :math:`\bar\alpha_{\text{prev}}` (starting at
    :math:`\bar\alpha_0=1`) to the next :math:`\bar\alpha_t` along ``timesteps``,
    with the noise predicted at the point it starts from:

    .. math:: x_t = \sqrt{\bar\alpha_t}\,\hat x_0(x_{\text{prev}})
              + \sqrt{1-\bar\alpha_t}\;\varepsilon_\theta(x_{\text{prev}}, \bar\alpha_{\text{prev}}) .

    This is the explicit Euler step of the same ODE that :func:`sample` (with
    ``eta=0``) integrates downwards, so ``sample(ddim_invert(x0, ...), ...)``
    returns ``x0`` up to a discretisation error that shrinks like
    :math:`1/S` for :math:`S` steps.  With ``return_path`` the states after every
    step are returned too, shape ``(len(timesteps) + 1, *x0.shape)``.

    >>> ab = alpha_bars(linear_beta_schedule(1000))
    >>> mix = (np.array([-2.0, 1.5]), np.array([0.3, 0.5]), np.array([0.3, 0.7]))
    >>> eps = lambda x, a: gmm_eps(x, a, *mix)
    >>> taus = ddim_timesteps(1000, 100)
    >>> x0 = np.array([-2.0, 1.5])
    >>> x_T = ddim_invert(x0, ab, taus, eps)
    >>> np.round(sample(x_T, ab, taus, eps) - x0, 3)   # encode, then decode
    array([ 0.021, -0.011])
    """
    x = np.asarray(x0, dtype=float)
    path = [x]
    ab_prev = 1.0
    for tau in np.asarray(timesteps):
        ab_t = alpha_bar[tau - 1]
        eps = eps_model(x, ab_prev)
        x = np.sqrt(ab_t) * predict_x0(x, eps, ab_prev) + np.sqrt(1.0 - ab_t) * eps
        path.append(x)
        ab_prev = ab_t
    return (x, np.stack(path)) if return_path else x


def gmm_eps(x_t: np.ndarray, alpha_bar_t: float, means: np.ndarray, stds: np.ndarray,
            weights: np.ndarray) -> np.ndarray:
    r"""The exact optimal noise prediction when the data are a 1-D Gaussian mixture.

    If :math:`x_0\sim\sum_k w_k\,\mathcal N(\mu_k, s_k^2)` then
    :math:`q(x_t)=\sum_k w_k\,\mathcal N(\sqrt{\bar\alpha_t}\mu_k,\ \bar\alpha_t s_k^2+1-\bar\alpha_t)`
    and the minimiser of the DDPM loss is
    :math:`\varepsilon^*(x_t)=-\sqrt{1-\bar\alpha_t}\,\nabla_{x_t}\log q(x_t)`.
    This stands in for a trained network in the tests and figures.

    >>> eps = gmm_eps(np.array([0.0]), 0.5, np.array([0.0]), np.array([1.0]), np.array([1.0]))
    >>> abs(float(eps[0]))   # x_t at the mean of a single Gaussian: zero score
    0.0
    """
    x = np.asarray(x_t, dtype=float)[..., None]                   # (..., 1)
    m = np.sqrt(alpha_bar_t) * np.asarray(means, dtype=float)     # (K,)
    v = alpha_bar_t * np.asarray(stds, dtype=float) ** 2 + (1.0 - alpha_bar_t)
    log_p = np.log(weights) - 0.5 * np.log(2 * np.pi * v) - 0.5 * (x - m) ** 2 / v  # (..., K)
    resp = np.exp(log_p - log_p.max(axis=-1, keepdims=True))
    resp /= resp.sum(axis=-1, keepdims=True)                      # posterior over components
    score = np.sum(resp * (m - x) / v, axis=-1)                   # d/dx log q(x)
    return -np.sqrt(1.0 - alpha_bar_t) * score
