r"""Diffusion models as stochastic differential equations (score SDEs).

The forward process is the Itô SDE :math:`\mathrm dx = f(x,t)\,\mathrm dt + g(t)\,\mathrm dw`
on :math:`t\in[0,1]` (Song et al., 2021).  An *SDE* here is any callable
``sde(x, t) -> (drift, diffusion)`` returning :math:`f(x,t)` (same shape as ``x``)
and the scalar :math:`g(t)`; a *score* is a callable ``score(x, t)`` returning
:math:`\nabla_x\log p_t(x)`.  Bind the keyword parameters with
``functools.partial``.

* VP SDE (the continuous limit of DDPM): :func:`vp_sde`, :func:`vp_kernel`.
* VE SDE (the continuous limit of NCSN): :func:`ve_sde`, :func:`ve_kernel`.
* Samplers: :func:`euler_maruyama` (any SDE, either direction),
  :func:`reverse_sde_sample` and :func:`probability_flow_ode`.
* Langevin dynamics and predictor–corrector sampling: :func:`langevin_dynamics`,
  :func:`langevin_snr_step_size`, :func:`pc_sample`.
* Exact likelihood through the probability-flow ODE: :func:`pf_ode_log_likelihood`,
  with the divergence exact in 1-D (:func:`vp_gmm_pf_divergence`) or estimated
  (:func:`hutchinson_divergence`).
* An exact score for a 1-D Gaussian mixture, standing in for a trained network:
  :func:`gmm_marginal_score`, :func:`vp_gmm_score`, and its derivative
  :func:`gmm_marginal_score_grad`.

Explained in the post ``posts/diffusion-sde``; Langevin dynamics in the concept page
``concepts/score``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "vp_beta",
    "vp_alpha_bar",
    "vp_sde",
    "vp_kernel",
    "ve_sigma",
    "ve_sde",
    "ve_kernel",
    "reverse_sde",
    "probability_flow_drift",
    "euler_maruyama",
    "reverse_sde_sample",
    "probability_flow_ode",
    "langevin_dynamics",
    "langevin_snr_step_size",
    "pc_sample",
    "hutchinson_divergence",
    "pf_ode_log_likelihood",
    "gmm_marginal_pdf",
    "gmm_marginal_score",
    "gmm_marginal_score_grad",
    "vp_gmm_score",
    "vp_gmm_pf_divergence",
]

SDE = Callable[[np.ndarray, float], tuple[np.ndarray, float]]
Score = Callable[[np.ndarray, float], np.ndarray]


# -- VP SDE -------------------------------------------------------------------

def vp_beta(t: float, beta_min: float = 0.1, beta_max: float = 20.0) -> float:
    r"""The linear noise rate of the VP SDE, :math:`\beta(t)=\beta_{\min}+t(\beta_{\max}-\beta_{\min})`.

    With :math:`N=1000` steps, :math:`\beta_i=\beta(t)/N` runs from
    :math:`10^{-4}` to :math:`0.02`: DDPM's linear schedule.

    >>> vp_beta(0.0) / 1000, vp_beta(1.0) / 1000
    (0.0001, 0.02)
    """
    return beta_min + t * (beta_max - beta_min)


def vp_alpha_bar(t: float, beta_min: float = 0.1, beta_max: float = 20.0) -> float:
    r"""The continuous :math:`\bar\alpha(t)=\exp\bigl(-\int_0^t\beta(s)\,\mathrm ds\bigr)`.

    .. math:: \int_0^t\beta(s)\,\mathrm ds=\beta_{\min}t+\tfrac12(\beta_{\max}-\beta_{\min})t^2

    >>> round(vp_alpha_bar(0.5), 5)
    0.07906
    """
    integral = beta_min * t + 0.5 * (beta_max - beta_min) * t**2
    return float(np.exp(-integral))


def vp_sde(x: np.ndarray, t: float, beta_min: float = 0.1,
           beta_max: float = 20.0) -> tuple[np.ndarray, float]:
    r"""Drift and diffusion of the variance-preserving SDE.

    .. math:: \mathrm dx = -\tfrac12\beta(t)\,x\,\mathrm dt + \sqrt{\beta(t)}\,\mathrm dw

    >>> drift, g = vp_sde(np.array([2.0]), 0.5)
    >>> drift, round(g, 4)        # beta(0.5) = 10.05
    (array([-10.05]), 3.1702)
    """
    beta = vp_beta(t, beta_min, beta_max)
    return -0.5 * beta * np.asarray(x, dtype=float), float(np.sqrt(beta))


def vp_kernel(t: float, beta_min: float = 0.1, beta_max: float = 20.0) -> tuple[float, float]:
    r"""Scale and standard deviation of the VP kernel :math:`p_{0t}(x_t\mid x_0)`.

    .. math:: p_{0t}(x_t\mid x_0)=\mathcal N\bigl(\sqrt{\bar\alpha(t)}\,x_0,\ (1-\bar\alpha(t))I\bigr)

    Returns ``(scale, std)`` with ``scale`` :math:`=\sqrt{\bar\alpha(t)}` and
    ``std`` :math:`=\sqrt{1-\bar\alpha(t)}` (:func:`vp_alpha_bar`).

    >>> scale, std = vp_kernel(0.5)
    >>> round(scale, 4), round(std, 4), round(2.0 * scale, 4)   # x0 = 2: mean 0.5624
    (0.2812, 0.9597, 0.5624)
    """
    ab = vp_alpha_bar(t, beta_min, beta_max)
    return float(np.sqrt(ab)), float(np.sqrt(1.0 - ab))


# -- VE SDE -------------------------------------------------------------------

def ve_sigma(t: float, sigma_min: float = 0.01, sigma_max: float = 50.0) -> float:
    r"""The geometric noise scale of the VE SDE.

    .. math:: \sigma(t)=\sigma_{\min}\,(\sigma_{\max}/\sigma_{\min})^t

    >>> ve_sigma(0.0), ve_sigma(1.0)
    (0.01, 50.0)
    """
    return float(sigma_min * (sigma_max / sigma_min) ** t)


def ve_sde(x: np.ndarray, t: float, sigma_min: float = 0.01,
           sigma_max: float = 50.0) -> tuple[np.ndarray, float]:
    r"""Drift and diffusion of the variance-exploding SDE.

    .. math:: \mathrm dx = \sqrt{\frac{\mathrm d[\sigma^2(t)]}{\mathrm dt}}\,\mathrm dw
              = \sigma(t)\sqrt{2\log\frac{\sigma_{\max}}{\sigma_{\min}}}\,\mathrm dw

    >>> drift, g = ve_sde(np.array([1.0, -1.0]), 0.0, sigma_min=1.0, sigma_max=np.e)
    >>> drift, round(g, 6)        # sigma(0) * sqrt(2 log e)
    (array([0., 0.]), 1.414214)
    """
    g = ve_sigma(t, sigma_min, sigma_max) * np.sqrt(2.0 * np.log(sigma_max / sigma_min))
    return np.zeros_like(np.asarray(x, dtype=float)), float(g)


def ve_kernel(t: float, sigma_min: float = 0.01, sigma_max: float = 50.0) -> tuple[float, float]:
    r"""Scale and standard deviation of the VE kernel :math:`p_{0t}(x_t\mid x_0)`.

    .. math:: p_{0t}(x_t\mid x_0)=\mathcal N\bigl(x_0,\ [\sigma^2(t)-\sigma^2(0)]\,I\bigr)

    >>> ve_kernel(0.0)
    (1.0, 0.0)
    >>> round(ve_kernel(1.0)[1], 6)
    49.999999
    """
    var = ve_sigma(t, sigma_min, sigma_max) ** 2 - sigma_min**2
    return 1.0, float(np.sqrt(max(var, 0.0)))


# -- Reverse-time SDE and probability-flow ODE -----------------------------------

def reverse_sde(x: np.ndarray, t: float, sde: SDE, score: Score) -> tuple[np.ndarray, float]:
    r"""The reverse-time SDE (Anderson, 1982) as another ``(drift, diffusion)`` pair.

    .. math:: \mathrm dx = \bigl[f(x,t) - g(t)^2\,\nabla_x\log p_t(x)\bigr]\mathrm dt
              + g(t)\,\mathrm d\bar w,

    to be integrated from :math:`t=1` down to :math:`t=0` (negative ``dt``).

    >>> vp = lambda x, t: (-0.5 * x, 1.0)           # beta = 1: p_t = N(0, 1) is stationary
    >>> reverse_sde(np.array([2.0]), 0.3, vp, lambda x, t: -x)
    (array([1.]), 1.0)
    """
    drift, g = sde(x, t)
    return drift - g**2 * score(x, t), g


def probability_flow_drift(x: np.ndarray, t: float, sde: SDE, score: Score) -> np.ndarray:
    r"""Velocity of the probability-flow ODE, which has the same marginals :math:`p_t` as the SDE.

    .. math:: \frac{\mathrm dx}{\mathrm dt} = f(x,t) - \tfrac12 g(t)^2\,\nabla_x\log p_t(x)

    >>> vp = lambda x, t: (-0.5 * x, 1.0)
    >>> probability_flow_drift(np.array([2.0]), 0.3, vp, lambda x, t: -x)   # stationary: no flow
    array([0.])
    """
    drift, g = sde(x, t)
    return drift - 0.5 * g**2 * score(x, t)


def euler_maruyama(x: np.ndarray, sde: SDE, t_start: float, t_end: float, num_steps: int,
                   rng: np.random.Generator, return_path: bool = False):
    r"""Integrate an SDE from ``t_start`` to ``t_end`` with the Euler–Maruyama method.

    .. math:: x \leftarrow x + f(x,t)\,\Delta t + g(t)\sqrt{|\Delta t|}\,z,
              \qquad z\sim\mathcal N(0,I),\quad \Delta t=\frac{t_\text{end}-t_\text{start}}{n}

    ``t_end < t_start`` runs backwards in time (for :func:`reverse_sde`).  With
    ``return_path`` the states at all ``num_steps + 1`` times are returned too,
    shape ``(num_steps + 1, *x.shape)``.

    >>> rng = np.random.default_rng(0)
    >>> x1 = euler_maruyama(np.zeros(100_000), lambda x, t: (np.zeros_like(x), 1.0), 0.0, 1.0,
    ...                     10, rng)
    >>> abs(float(x1.var()) - 1.0) < 0.02      # Brownian motion: Var w(1) = 1
    True
    """
    x = np.asarray(x, dtype=float)
    ts = np.linspace(t_start, t_end, num_steps + 1)
    path = [x]
    for t, t_next in zip(ts[:-1], ts[1:], strict=True):
        dt = t_next - t
        drift, g = sde(x, t)
        x = x + drift * dt + g * np.sqrt(abs(dt)) * rng.standard_normal(x.shape)
        path.append(x)
    return (x, np.stack(path)) if return_path else x


def reverse_sde_sample(x_T: np.ndarray, sde: SDE, score: Score, num_steps: int,
                       rng: np.random.Generator, t_start: float = 1.0, t_end: float = 0.0,
                       return_path: bool = False):
    r"""Sample by integrating the reverse-time SDE from ``t_start`` down to ``t_end``.

    One step of size :math:`h=(t_\text{start}-t_\text{end})/n>0`, from :math:`t` to :math:`t-h`:

    .. math:: x \leftarrow x - \bigl[f(x,t) - g(t)^2 s(x,t)\bigr]h + g(t)\sqrt h\,z

    This is :func:`euler_maruyama` applied to :func:`reverse_sde`.
    """
    def rev(x, t):
        return reverse_sde(x, t, sde, score)
    return euler_maruyama(x_T, rev, t_start, t_end, num_steps, rng, return_path)


def probability_flow_ode(x: np.ndarray, sde: SDE, score: Score, t_start: float, t_end: float,
                         num_steps: int, method: str = "heun", return_path: bool = False):
    r"""Integrate the probability-flow ODE from ``t_start`` to ``t_end`` (either direction).

    With :math:`v(x,t)` from :func:`probability_flow_drift` and
    :math:`\Delta t=(t_\text{end}-t_\text{start})/n`, ``method="euler"`` is
    :math:`x\leftarrow x+v(x,t)\Delta t`; ``method="heun"`` (second order) is

    .. math:: \tilde x = x + v(x,t)\,\Delta t,\qquad
              x \leftarrow x + \tfrac12\bigl[v(x,t)+v(\tilde x,t+\Delta t)\bigr]\Delta t .

    No randomness: the same input always gives the same output.

    >>> vp = lambda x, t: (-0.5 * x, 1.0)
    >>> float(probability_flow_ode(np.array([0.7]), vp, lambda x, t: -x, 1.0, 0.0, 5)[0])
    0.7
    """
    if method not in ("euler", "heun"):
        raise ValueError("method must be 'euler' or 'heun'")
    x = np.asarray(x, dtype=float)
    ts = np.linspace(t_start, t_end, num_steps + 1)
    path = [x]
    for t, t_next in zip(ts[:-1], ts[1:], strict=True):
        dt = t_next - t
        v = probability_flow_drift(x, t, sde, score)
        x_euler = x + v * dt
        if method == "euler":
            x = x_euler
        else:
            x = x + 0.5 * (v + probability_flow_drift(x_euler, t_next, sde, score)) * dt
        path.append(x)
    return (x, np.stack(path)) if return_path else x


# -- Langevin dynamics and predictor–corrector sampling -------------------------------

def langevin_dynamics(x: np.ndarray, score: Callable[[np.ndarray], np.ndarray], step_size: float,
                      num_steps: int, rng: np.random.Generator, return_path: bool = False):
    r"""Unadjusted Langevin dynamics for the density :math:`p` whose score is ``score(x)``.

    .. math:: x \leftarrow x + \tfrac{\epsilon}{2}\,\nabla_x\log p(x) + \sqrt{\epsilon}\,z,
              \qquad z\sim\mathcal N(0,I)

    As :math:`\epsilon\to0` the chain's stationary distribution tends to :math:`p`; for
    :math:`p=\mathcal N(\mu,s^2)` it is :math:`\mathcal N\bigl(\mu,\ s^2/(1-\epsilon/4s^2)\bigr)`.
    With ``return_path`` the states at all ``num_steps + 1`` iterations are returned too.

    >>> x = langevin_dynamics(np.zeros(200_000), lambda x: -x, 0.5, 100,
    ...                       np.random.default_rng(0))
    >>> round(float(x.var()), 2)      # N(0, 1) target: 1 / (1 - 0.5/4) = 1.14, not 1
    1.14
    """
    x = np.asarray(x, dtype=float)
    path = [x]
    for _ in range(num_steps):
        x = x + 0.5 * step_size * score(x) + np.sqrt(step_size) * rng.standard_normal(x.shape)
        path.append(x)
    return (x, np.stack(path)) if return_path else x


def langevin_snr_step_size(grad: np.ndarray, noise: np.ndarray, snr: float) -> float:
    r"""The Langevin step size that makes the drift ``snr`` times as long as the noise.

    Norms are taken per sample (over all axes but the first; a 1-D array is a batch
    of scalars) and averaged over the batch, as in Song et al.'s corrector:

    .. math:: \tfrac{\epsilon}{2}\,\overline{\lVert g\rVert}=r\,\sqrt{\epsilon}\,\overline{\lVert z\rVert}
              \iff \epsilon=\Bigl(\frac{2r\,\overline{\lVert z\rVert}}{\overline{\lVert g\rVert}}\Bigr)^2

    >>> langevin_snr_step_size(np.array([2.0, -2.0]), np.array([1.0, -1.0]), 0.5)
    0.25
    """
    def mean_norm(a):
        a = np.asarray(a, dtype=float)
        return float(np.mean(np.linalg.norm(a.reshape(a.shape[0], -1), axis=1))) if a.ndim \
            else abs(float(a))
    return (2.0 * snr * mean_norm(noise) / mean_norm(grad)) ** 2


def pc_sample(x_T: np.ndarray, sde: SDE, score: Score, num_steps: int, rng: np.random.Generator,
              snr: float = 0.16, corrector_steps: int = 1, t_start: float = 1.0,
              t_end: float = 0.0) -> np.ndarray:
    r"""Predictor–corrector sampling (Song et al., 2021, Algorithm 1).

    Each of the ``num_steps`` steps, from :math:`t` to :math:`t-h`:

    * predictor: one Euler–Maruyama step of the reverse-time SDE (as in
      :func:`reverse_sde_sample`);
    * corrector: ``corrector_steps`` Langevin steps on :math:`p_{t-h}`,
      :math:`x\leftarrow x+\tfrac{\epsilon}{2}s(x,t-h)+\sqrt{\epsilon}z`, with
      :math:`\epsilon` from :func:`langevin_snr_step_size`.

    ``corrector_steps=0`` is the predictor-only sampler, random number for random
    number the same as :func:`reverse_sde_sample`.
    """
    x = np.asarray(x_T, dtype=float)
    ts = np.linspace(t_start, t_end, num_steps + 1)
    for t, t_next in zip(ts[:-1], ts[1:], strict=True):
        h = t - t_next
        drift, g = reverse_sde(x, t, sde, score)                        # predictor
        x = x - drift * h + g * np.sqrt(h) * rng.standard_normal(x.shape)
        for _ in range(corrector_steps):                                # corrector
            grad = score(x, t_next)
            z = rng.standard_normal(x.shape)
            eps = langevin_snr_step_size(grad, z, snr)
            x = x + 0.5 * eps * grad + np.sqrt(eps) * z
    return x


# -- Exact likelihood through the probability-flow ODE -------------------------------

def hutchinson_divergence(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, probe: np.ndarray,
                          h: float = 1e-4) -> np.ndarray:
    r"""Skilling–Hutchinson estimate :math:`\epsilon^\top J_f(x)\,\epsilon` of :math:`\nabla\cdot f(x)`.

    ``x`` and ``probe`` have shape ``(..., d)``; the result has shape ``(...)``.  The
    probe needs :math:`\mathbb E[\epsilon]=0` and :math:`\operatorname{Cov}[\epsilon]=I`
    (Rademacher or standard normal).  Without automatic differentiation the
    Jacobian–vector product is a central difference, exact for linear ``f``.

    >>> A = np.array([[1.0, 2.0], [0.0, 3.0]])
    >>> probes = np.array([[1.0, 1.0], [1.0, -1.0]])    # the two Rademacher sign patterns
    >>> hutchinson_divergence(lambda x: x @ A.T, np.zeros((2, 2)), probes)   # tr A = 4
    array([6., 2.])
    """
    jvp = (f(x + h * probe) - f(x - h * probe)) / (2.0 * h)
    return np.sum(probe * jvp, axis=-1)


def pf_ode_log_likelihood(x0: np.ndarray, sde: SDE, score: Score,
                          divergence: Callable[[np.ndarray, float], np.ndarray],
                          prior_log_pdf: Callable[[np.ndarray], np.ndarray], num_steps: int,
                          t_end: float = 1.0):
    r"""Log-likelihood :math:`\log p_0(x_0)` from the probability-flow ODE (Heun's method).

    Integrates the ODE together with the accumulated divergence from :math:`0` to
    :math:`T` = ``t_end``,

    .. math:: \frac{\mathrm dx}{\mathrm dt}=\tilde f(x,t),\qquad
              \frac{\mathrm d\ell}{\mathrm dt}=\nabla\cdot\tilde f(x,t),\qquad
              \log p_0(x_0)=\log p_T\bigl(x(T)\bigr)+\ell(T),

    where :math:`\tilde f` is :func:`probability_flow_drift` and ``divergence(x, t)``
    returns :math:`\nabla\cdot\tilde f` (one value per sample).  Returns
    ``(log_p0, x_T, ell)``.
    """
    x = np.asarray(x0, dtype=float)
    ell = np.zeros(np.shape(divergence(x, 0.0)))
    ts = np.linspace(0.0, t_end, num_steps + 1)
    for t, t_next in zip(ts[:-1], ts[1:], strict=True):
        dt = t_next - t
        v, div = probability_flow_drift(x, t, sde, score), divergence(x, t)
        x_euler = x + v * dt
        v2, div2 = probability_flow_drift(x_euler, t_next, sde, score), divergence(x_euler, t_next)
        x = x + 0.5 * (v + v2) * dt
        ell = ell + 0.5 * (div + div2) * dt
    return prior_log_pdf(x) + ell, x, ell


# -- An exact score: a 1-D Gaussian mixture under a Gaussian kernel ----------------

def _gmm_log_components(x, scale, std, means, stds, weights):
    x = np.asarray(x, dtype=float)[..., None]                            # (..., 1)
    m = scale * np.asarray(means, dtype=float)                           # (K,)
    v = scale**2 * np.asarray(stds, dtype=float) ** 2 + std**2           # (K,)
    log_p = np.log(weights) - 0.5 * np.log(2 * np.pi * v) - 0.5 * (x - m) ** 2 / v  # (..., K)
    return log_p, m, v


def gmm_marginal_pdf(x: np.ndarray, scale: float, std: float, means: np.ndarray, stds: np.ndarray,
                     weights: np.ndarray) -> np.ndarray:
    r"""Density of :math:`x_t=m\,x_0+\sigma\varepsilon` when :math:`x_0` is a 1-D Gaussian mixture.

    If :math:`x_0\sim\sum_k w_k\,\mathcal N(\mu_k,s_k^2)` then

    .. math:: p_t(x)=\sum_k w_k\,\mathcal N\bigl(x;\ m\mu_k,\ m^2s_k^2+\sigma^2\bigr),

    with :math:`m` = ``scale`` and :math:`\sigma` = ``std``.

    >>> p = gmm_marginal_pdf(np.array([0.0]), 1.0, 0.0, np.array([0.0]), np.array([1.0]),
    ...                      np.array([1.0]))
    >>> round(float(p[0]), 6)                 # standard normal at 0
    0.398942
    """
    log_p, _, _ = _gmm_log_components(x, scale, std, means, stds, weights)
    return np.exp(log_p).sum(axis=-1)


def gmm_marginal_score(x: np.ndarray, scale: float, std: float, means: np.ndarray,
                       stds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""Exact score :math:`\nabla_x\log p_t(x)` of the mixture in :func:`gmm_marginal_pdf`.

    .. math:: \nabla_x\log p_t(x)=\sum_k r_k(x)\,\frac{m\mu_k-x}{m^2s_k^2+\sigma^2},
              \qquad r_k(x)=\frac{w_k\,\mathcal N(x;m\mu_k,m^2s_k^2+\sigma^2)}{p_t(x)}

    (a responsibility-weighted average of the components' scores).

    >>> s = gmm_marginal_score(np.array([1.0]), 0.5, 0.6, np.array([0.0]), np.array([1.6]),
    ...                        np.array([1.0]))
    >>> round(float(s[0]), 6)                 # one Gaussian N(0, 0.64 + 0.36): score -x
    -1.0
    """
    log_p, m, v = _gmm_log_components(x, scale, std, means, stds, weights)
    resp = np.exp(log_p - log_p.max(axis=-1, keepdims=True))
    resp /= resp.sum(axis=-1, keepdims=True)                             # r_k(x), (..., K)
    xk = np.asarray(x, dtype=float)[..., None]
    return np.sum(resp * (m - xk) / v, axis=-1)


def gmm_marginal_score_grad(x: np.ndarray, scale: float, std: float, means: np.ndarray,
                            stds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""Derivative :math:`s'(x)` of the 1-D mixture score :func:`gmm_marginal_score`.

    With :math:`a_k=(m\mu_k-x)/v_k`, :math:`v_k=m^2s_k^2+\sigma^2` and :math:`s=\sum_kr_ka_k`,
    the responsibilities move as :math:`r_k'=r_k(a_k-s)`, so

    .. math:: s'(x)=\sum_k r_k\Bigl(a_k^2-\frac1{v_k}\Bigr)-s^2 .

    >>> g = gmm_marginal_score_grad(np.array([0.3]), 1.0, 0.0, np.array([0.0]), np.array([0.5]),
    ...                             np.array([1.0]))
    >>> round(float(g[0]), 6)                 # one Gaussian N(0, 0.25): s = -x / 0.25
    -4.0
    """
    log_p, m, v = _gmm_log_components(x, scale, std, means, stds, weights)
    resp = np.exp(log_p - log_p.max(axis=-1, keepdims=True))
    resp /= resp.sum(axis=-1, keepdims=True)
    a = (m - np.asarray(x, dtype=float)[..., None]) / v                   # components' scores
    s = np.sum(resp * a, axis=-1)
    return np.sum(resp * (a**2 - 1.0 / v), axis=-1) - s**2


def vp_gmm_score(x: np.ndarray, t: float, means: np.ndarray, stds: np.ndarray, weights: np.ndarray,
                 beta_min: float = 0.1, beta_max: float = 20.0) -> np.ndarray:
    r"""Exact score of :math:`p_t` for a 1-D Gaussian mixture under the VP kernel (:func:`vp_kernel`).

    Plays the part of a perfectly trained score network :math:`s_\theta(x,t)`.

    >>> mix = dict(means=np.array([-2.0, 1.5]), stds=np.array([0.3, 0.5]),
    ...            weights=np.array([0.3, 0.7]))
    >>> abs(float(vp_gmm_score(np.array([1.5]), 0.0, **mix)[0])) < 1e-12   # a mode of p_0
    True
    """
    scale, std = vp_kernel(t, beta_min, beta_max)
    return gmm_marginal_score(x, scale, std, means, stds, weights)


def vp_gmm_pf_divergence(x: np.ndarray, t: float, means: np.ndarray, stds: np.ndarray,
                         weights: np.ndarray, beta_min: float = 0.1,
                         beta_max: float = 20.0) -> np.ndarray:
    r"""Exact divergence of the 1-D VP probability-flow velocity for the mixture.

    .. math:: \tilde f(x,t)=-\tfrac12\beta(t)\bigl[x+s(x,t)\bigr]
              \quad\Longrightarrow\quad
              \frac{\partial\tilde f}{\partial x}=-\tfrac12\beta(t)\bigl[1+s'(x,t)\bigr]

    with :math:`s'` from :func:`gmm_marginal_score_grad`.

    >>> one = dict(means=np.array([0.0]), stds=np.array([1.0]), weights=np.array([1.0]))
    >>> abs(float(vp_gmm_pf_divergence(np.array([0.7]), 0.4, **one)[0]))  # p_t = N(0, 1): s' = -1
    0.0
    """
    scale, std = vp_kernel(t, beta_min, beta_max)
    beta = vp_beta(t, beta_min, beta_max)
    return -0.5 * beta * (1.0 + gmm_marginal_score_grad(x, scale, std, means, stds, weights))
