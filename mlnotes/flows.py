r"""Flow-based generative models: affine coupling layers and flow matching.

Two halves, in the order of the post ``posts/flow-models``:

* **Normalizing flows.**  As in the post, :math:`f` maps noise to data,
  :math:`x=f(z)`, and :math:`g=f^{-1}` maps data :math:`x` to the latent
  :math:`z=g(x)` with :math:`z\sim\mathcal N(0,I)`, which gives the exact density
  :math:`\log p(x)=\log\mathcal N(g(x);0,I)+\log\lvert\det\partial g/\partial x\rvert`.
  :func:`flow_forward` computes :math:`g` (the direction used for the
  likelihood), :func:`flow_inverse` computes :math:`f` (used for sampling).
  :math:`g` is a stack of affine coupling layers (Dinh et al., 2017), each
  with a tiny MLP given by explicit weight arrays.
* **Flow matching.**  A velocity field :math:`v(x,t)` whose ODE
  :math:`\mathrm dx/\mathrm dt=v` carries noise :math:`x_0\sim\mathcal N(0,I)` at
  :math:`t=0` to data :math:`x_1` at :math:`t=1`, trained by regressing on the
  conditional target :math:`x_1-x_0` of the straight path
  :math:`x_t=(1-t)x_0+tx_1` (Lipman et al., 2023; Liu et al., 2023).  The toy
  velocity model is linear in random Fourier features, so the flow-matching
  loss is quadratic in its weights and is minimised in closed form.

Shapes: a batch of points is ``(n, d)``; times are scalars or ``(n,)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "init_coupling",
    "mlp_scale_shift",
    "coupling_forward",
    "coupling_inverse",
    "flow_forward",
    "flow_inverse",
    "standard_normal_logpdf",
    "flow_log_prob",
    "straight_path",
    "cfm_target",
    "cfm_loss",
    "random_features",
    "init_random_features",
    "rf_velocity",
    "rf_loss_and_grad",
    "fit_rf_velocity",
    "train_rf_flow_matching",
    "euler_sample",
    "euler_log_density",
    "gmm_sample",
    "gmm_straight_velocity",
]


# -- Normalizing flows: affine coupling ----------------------------------------


def init_coupling(mask: np.ndarray, hidden: int, rng: np.random.Generator,
                  scale: float = 0.5) -> dict:
    r"""Random weights for one affine coupling layer.

    ``mask[j]`` is ``True`` for the coordinates that are copied unchanged and
    fed to the MLP (:math:`x_a`); the others (:math:`x_b`) are scaled and shifted.
    The MLP maps :math:`x_a\in\mathbb R^{c}` to :math:`(s,t)\in\mathbb R^{m}\times\mathbb R^{m}`
    through ``hidden`` tanh units.

    >>> layer = init_coupling(np.array([True, False, True]), 8, np.random.default_rng(0))
    >>> layer["W1"].shape, layer["W2"].shape
    ((2, 8), (8, 2))
    """
    mask = np.asarray(mask, dtype=bool)
    c, m = int(mask.sum()), int((~mask).sum())
    return {
        "mask": mask,
        "W1": scale * rng.standard_normal((c, hidden)),     # (c, H)
        "b1": scale * rng.standard_normal(hidden),          # (H,)
        "W2": scale * rng.standard_normal((hidden, 2 * m)) / np.sqrt(hidden),  # (H, 2m)
        "b2": np.zeros(2 * m),                              # (2m,)
    }


def mlp_scale_shift(x_a: np.ndarray, layer: dict) -> tuple[np.ndarray, np.ndarray]:
    r"""The coupling layer's MLP: log-scale :math:`s` and shift :math:`t` from :math:`x_a`.

    .. math:: h=\tanh(x_aW_1+b_1),\qquad [\,s,\ t\,]=hW_2+b_2

    >>> layer = {"W1": np.array([[1.0]]), "b1": np.zeros(1),
    ...          "W2": np.array([[0.5, -1.0]]), "b2": np.zeros(2)}
    >>> s, t = mlp_scale_shift(np.array([[0.0]]), layer)   # tanh(0) = 0
    >>> float(s[0, 0]), float(t[0, 0])
    (0.0, 0.0)
    """
    h = np.tanh(x_a @ layer["W1"] + layer["b1"])   # (n, H)
    out = h @ layer["W2"] + layer["b2"]            # (n, 2m)
    m = out.shape[-1] // 2
    return out[..., :m], out[..., m:]              # (n, m), (n, m)


def coupling_forward(x: np.ndarray, layer: dict) -> tuple[np.ndarray, np.ndarray]:
    r"""Affine coupling :math:`x\mapsto y` and :math:`\log\lvert\det\partial y/\partial x\rvert`.

    .. math:: y_a = x_a,\qquad y_b = x_b\odot e^{s(x_a)} + t(x_a),\qquad
              \log\lvert\det J\rvert=\sum_j s_j(x_a)

    The Jacobian is block triangular with the identity and
    :math:`\operatorname{diag}(e^{s})` on the diagonal, hence the log-determinant.

    >>> layer = {"mask": np.array([True, False]), "W1": np.array([[1.0]]), "b1": np.zeros(1),
    ...          "W2": np.array([[0.5, -1.0]]), "b2": np.zeros(2)}
    >>> y, log_det = coupling_forward(np.array([[1.0, 2.0]]), layer)
    >>> y.round(5), log_det.round(5)
    (array([[1.     , 2.16531]]), array([0.3808]))
    """
    mask = layer["mask"]
    s, t = mlp_scale_shift(x[..., mask], layer)      # (n, m) each
    y = np.array(x, dtype=float)                     # (n, d)
    y[..., ~mask] = x[..., ~mask] * np.exp(s) + t
    return y, s.sum(axis=-1)                         # (n, d), (n,)


def coupling_inverse(y: np.ndarray, layer: dict) -> np.ndarray:
    r"""Exact inverse of :func:`coupling_forward`.

    :math:`y_a=x_a`, so :math:`s,t` can be recomputed from :math:`y_a`, and

    .. math:: x_a=y_a,\qquad x_b=\bigl(y_b-t(y_a)\bigr)\odot e^{-s(y_a)} .

    The MLP itself is never inverted.

    >>> layer = {"mask": np.array([True, False]), "W1": np.array([[1.0]]), "b1": np.zeros(1),
    ...          "W2": np.array([[0.5, -1.0]]), "b2": np.zeros(2)}
    >>> coupling_inverse(np.array([[1.0, 2.16531]]), layer).round(4)
    array([[1., 2.]])
    """
    mask = layer["mask"]
    s, t = mlp_scale_shift(y[..., mask], layer)
    x = np.array(y, dtype=float)
    x[..., ~mask] = (y[..., ~mask] - t) * np.exp(-s)
    return x


def flow_forward(x: np.ndarray, layers: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    r"""Compose coupling layers, :math:`z=g(x)=g_K\circ\dots\circ g_1(x)`, summing the log-determinants.

    .. math:: \log\Bigl\lvert\det\frac{\partial z}{\partial x}\Bigr\rvert
              =\sum_{k=1}^{K}\log\Bigl\lvert\det\frac{\partial h_k}{\partial h_{k-1}}\Bigr\rvert,
              \qquad h_0=x,\ h_K=z

    >>> z, log_det = flow_forward(np.zeros((1, 2)), [])   # no layers: the identity
    >>> z, log_det
    (array([[0., 0.]]), array([0.]))
    """
    h = np.asarray(x, dtype=float)
    total = np.zeros(h.shape[:-1])
    for layer in layers:
        h, log_det = coupling_forward(h, layer)
        total = total + log_det
    return h, total


def flow_inverse(z: np.ndarray, layers: list[dict]) -> np.ndarray:
    r"""Invert :func:`flow_forward`, :math:`x=f(z)=g_1^{-1}\circ\dots\circ g_K^{-1}(z)` (used for sampling).

    >>> flow_inverse(np.ones((1, 2)), [])
    array([[1., 1.]])
    """
    h = np.asarray(z, dtype=float)
    for layer in reversed(layers):
        h = coupling_inverse(h, layer)
    return h


def standard_normal_logpdf(z: np.ndarray) -> np.ndarray:
    r""":math:`\log\mathcal N(z;0,I)=-\tfrac d2\log 2\pi-\tfrac12\lVert z\rVert^2`, over the last axis.

    >>> round(float(standard_normal_logpdf(np.zeros((1, 2)))[0]), 6)   # -log(2 pi)
    -1.837877
    """
    d = z.shape[-1]
    return -0.5 * d * np.log(2 * np.pi) - 0.5 * np.sum(z**2, axis=-1)


def flow_log_prob(x: np.ndarray, layers: list[dict]) -> np.ndarray:
    r"""Exact log-density of a flow by the change of variables.

    .. math:: \log p_X(x)=\log\mathcal N\bigl(g(x);0,I\bigr)
              +\log\Bigl\lvert\det\frac{\partial g}{\partial x}\Bigr\rvert

    >>> layer = {"mask": np.array([True, False]), "W1": np.array([[1.0]]), "b1": np.zeros(1),
    ...          "W2": np.array([[0.5, -1.0]]), "b2": np.zeros(2)}
    >>> flow_log_prob(np.array([[1.0, 2.0]]), [layer]).round(4)
    array([-4.3014])
    """
    z, log_det = flow_forward(x, layers)
    return standard_normal_logpdf(z) + log_det


# -- Flow matching --------------------------------------------------------------


def straight_path(x0: np.ndarray, x1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    r"""A point on the straight conditional path, :math:`x_t=(1-t)\,x_0+t\,x_1`.

    ``t`` is a scalar or has shape ``(n,)``.

    >>> straight_path(np.array([[0.5, -1.0]]), np.array([[2.0, 1.0]]), 0.25)
    array([[ 0.875, -0.5  ]])
    """
    t = np.asarray(t, dtype=float)[..., None]     # (n, 1) or (1,)
    return (1.0 - t) * x0 + t * x1


def cfm_target(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    r"""Conditional velocity of the straight path: :math:`\frac{\mathrm d}{\mathrm dt}x_t=x_1-x_0`.

    It does not depend on :math:`t`.

    >>> cfm_target(np.array([[0.5, -1.0]]), np.array([[2.0, 1.0]]))
    array([[1.5, 2. ]])
    """
    return x1 - x0


def cfm_loss(v_pred: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> float:
    r"""Conditional flow-matching loss on a batch, with ``v_pred`` :math:`=v_\theta(x_t,t)`.

    .. math:: \mathcal L_\text{CFM}=\frac1n\sum_{i=1}^{n}
              \bigl\lVert v_\theta(x_{t_i}^{(i)},t_i)-(x_1^{(i)}-x_0^{(i)})\bigr\rVert^2

    >>> cfm_loss(np.array([[1.5, 2.0]]), np.array([[0.5, -1.0]]), np.array([[2.0, 1.0]]))
    0.0
    """
    return float(np.mean(np.sum((v_pred - cfm_target(x0, x1)) ** 2, axis=-1)))


def init_random_features(dim: int, num_features: int, rng: np.random.Generator,
                         length_x: float = 0.5, length_t: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    r"""Frequencies :math:`\Omega` and phases :math:`b` of random Fourier features on :math:`(x,t)`.

    Columns of :math:`\Omega` are drawn from :math:`\mathcal N(0,\operatorname{diag}(\ell_x^{-2},
    \dots,\ell_x^{-2},\ell_t^{-2}))` and :math:`b\sim\mathcal U[0,2\pi)`: the features then
    approximate a Gaussian kernel with length scales :math:`\ell_x` in space and :math:`\ell_t` in time.

    >>> omega, phase = init_random_features(2, 300, np.random.default_rng(0))
    >>> omega.shape, phase.shape
    ((3, 300), (300,))
    """
    scales = np.r_[np.full(dim, 1.0 / length_x), 1.0 / length_t]     # (d+1,)
    omega = rng.standard_normal((dim + 1, num_features)) * scales[:, None]
    phase = rng.uniform(0.0, 2 * np.pi, num_features)
    return omega, phase


def random_features(x: np.ndarray, t: np.ndarray | float, omega: np.ndarray,
                    phase: np.ndarray) -> np.ndarray:
    r"""Random Fourier features :math:`\phi(x,t)=\sqrt{2/M}\,\cos\bigl([x,t]\,\Omega+b\bigr)\in\mathbb R^M`.

    >>> omega, phase = init_random_features(2, 300, np.random.default_rng(0))
    >>> phi = random_features(np.zeros((4, 2)), 0.5, omega, phase)
    >>> phi.shape
    (4, 300)
    """
    x = np.asarray(x, dtype=float)                                # (n, d)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape[:-1])  # (n,)
    z = np.concatenate([x, t[..., None]], axis=-1)                 # (n, d+1)
    return np.sqrt(2.0 / omega.shape[1]) * np.cos(z @ omega + phase)   # (n, M)


def rf_velocity(x: np.ndarray, t: np.ndarray | float, W: np.ndarray, omega: np.ndarray,
                phase: np.ndarray) -> np.ndarray:
    r"""The toy velocity model, linear in the features: :math:`v_W(x,t)=\phi(x,t)\,W`.

    ``W`` has shape ``(M, d)``.

    >>> omega, phase = init_random_features(2, 300, np.random.default_rng(0))
    >>> rf_velocity(np.zeros((4, 2)), 0.0, np.zeros((300, 2)), omega, phase).shape
    (4, 2)
    """
    return random_features(x, t, omega, phase) @ W        # (n, M) @ (M, d) -> (n, d)


def rf_loss_and_grad(W: np.ndarray, phi: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Flow-matching loss of the linear model and its gradient in :math:`W`.

    With :math:`\Phi\in\mathbb R^{n\times M}` the features of the training points and
    :math:`Y\in\mathbb R^{n\times d}` their targets :math:`x_1-x_0`,

    .. math:: \mathcal L(W)=\frac1n\lVert\Phi W-Y\rVert_F^2,\qquad
              \nabla_W\mathcal L=\frac2n\,\Phi^\top(\Phi W-Y).

    >>> loss, grad = rf_loss_and_grad(np.zeros((1, 1)), np.ones((2, 1)), np.array([[1.0], [3.0]]))
    >>> loss, grad
    (5.0, array([[-4.]]))
    """
    n = phi.shape[0]
    residual = phi @ W - target                   # (n, d)
    loss = float(np.sum(residual**2) / n)
    grad = 2.0 / n * phi.T @ residual             # (M, d)
    return loss, grad


def fit_rf_velocity(phi: np.ndarray, target: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    r"""Minimise :math:`\mathcal L(W)+\lambda\lVert W\rVert_F^2` in closed form.

    Setting the gradient of :func:`rf_loss_and_grad` plus :math:`2\lambda W` to zero gives the
    normal equations

    .. math:: \Bigl(\tfrac1n\Phi^\top\Phi+\lambda I\Bigr)W=\tfrac1n\Phi^\top Y .

    >>> fit_rf_velocity(np.ones((2, 1)), np.array([[1.0], [3.0]]), ridge=0.0)   # the mean target
    array([[2.]])
    """
    n, m = phi.shape
    gram = phi.T @ phi / n + ridge * np.eye(m)    # (M, M)
    return np.linalg.solve(gram, phi.T @ target / n)   # (M, d)


def euler_sample(velocity: Callable[[np.ndarray, float], np.ndarray], x0: np.ndarray,
                 num_steps: int, return_path: bool = False):
    r"""Integrate :math:`\mathrm dx/\mathrm dt=v(x,t)` from :math:`t=0` to :math:`1` with Euler steps.

    .. math:: x_{k+1}=x_k+h\,v(x_k,t_k),\qquad t_k=kh,\quad h=1/K

    With ``return_path`` the states at every step are returned too, shape
    ``(num_steps + 1, *x0.shape)``.

    >>> euler_sample(lambda x, t: np.ones_like(x), np.zeros((1, 2)), 4)   # constant velocity
    array([[1., 1.]])
    """
    x = np.asarray(x0, dtype=float)
    h = 1.0 / num_steps
    path = [x]
    for k in range(num_steps):
        x = x + h * velocity(x, k * h)
        path.append(x)
    return (x, np.stack(path)) if return_path else x


def euler_log_density(velocity: Callable[[np.ndarray, float], np.ndarray],
                      divergence: Callable[[np.ndarray, float], np.ndarray], x0: np.ndarray,
                      log_p0: np.ndarray, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Move points and their log-density along a continuous normalizing flow (Euler steps).

    The instantaneous change of variables

    .. math:: \frac{\mathrm d}{\mathrm dt}\log p_t\bigl(x(t)\bigr)=-\nabla\!\cdot v\bigl(x(t),t\bigr)

    is integrated together with the ODE; ``divergence(x, t)`` returns
    :math:`\nabla\!\cdot v` with shape ``(n,)``.

    >>> x1, log_p1 = euler_log_density(lambda x, t: -x, lambda x, t: np.full(len(x), -2.0),
    ...                                np.ones((1, 2)), np.zeros(1), 10)
    >>> log_p1   # contraction by e^{-1} per axis: density up by e^{2}
    array([2.])
    """
    x = np.asarray(x0, dtype=float)
    log_p = np.asarray(log_p0, dtype=float)
    h = 1.0 / num_steps
    for k in range(num_steps):
        t = k * h
        log_p = log_p - h * divergence(x, t)
        x = x + h * velocity(x, t)
    return x, log_p


# -- A Gaussian-mixture target with a known answer ------------------------------


def gmm_sample(n: int, means: np.ndarray, stds: np.ndarray, weights: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""``n`` samples from :math:`\sum_k w_k\,\mathcal N(\mu_k,s_k^2I)` and their component labels.

    >>> x, k = gmm_sample(5, np.array([[0.0, 0.0]]), np.array([0.0]), np.array([1.0]),
    ...                   np.random.default_rng(0))
    >>> x.shape, k.tolist()
    ((5, 2), [0, 0, 0, 0, 0])
    """
    means = np.asarray(means, dtype=float)                      # (K, d)
    k = rng.choice(len(weights), size=n, p=weights)             # (n,)
    noise = rng.standard_normal((n, means.shape[1]))            # (n, d)
    return means[k] + np.asarray(stds, dtype=float)[k, None] * noise, k


def gmm_straight_velocity(x: np.ndarray, t: np.ndarray | float, means: np.ndarray, stds: np.ndarray,
                          weights: np.ndarray) -> np.ndarray:
    r"""Exact marginal velocity of the straight path when the data are a Gaussian mixture.

    With :math:`x_0\sim\mathcal N(0,I)` and :math:`x_1\sim\sum_k w_k\mathcal N(\mu_k,s_k^2I)`,
    :math:`u_t(x)=\mathbb E[x_1-x_0\mid x_t=x]=\bigl(\mathbb E[x_1\mid x_t=x]-x\bigr)/(1-t)`.
    Given component :math:`k`, :math:`x_t\sim\mathcal N(t\mu_k,\,v_kI)` with
    :math:`v_k=(1-t)^2+t^2s_k^2`, and

    .. math:: \mathbb E[x_1\mid x_t=x,k]=\mu_k+\frac{t\,s_k^2}{v_k}\,(x-t\mu_k);

    the components are weighted by their posterior probabilities given :math:`x`.
    This plays the part of a perfectly trained model.  ``t`` is a scalar or has
    shape ``(n,)``, with :math:`t<1`.

    >>> u = gmm_straight_velocity(np.array([[0.5]]), 0.5, np.array([[-1.0], [1.0]]),
    ...                           np.zeros(2), np.array([0.5, 0.5]))
    >>> u.round(4)   # (tanh(1) - 0.5) / 0.5
    array([[0.5232]])
    """
    x = np.asarray(x, dtype=float)                                  # (n, d)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape[:-1])[:, None]   # (n, 1)
    mu = np.asarray(means, dtype=float)                             # (K, d)
    s2 = np.asarray(stds, dtype=float) ** 2                         # (K,)
    var = (1 - t) ** 2 + t**2 * s2                                  # (n, K)
    diff = x[:, None, :] - t[..., None] * mu                        # (n, K, d)
    d = x.shape[-1]
    log_r = np.log(weights) - 0.5 * np.sum(diff**2, axis=-1) / var - 0.5 * d * np.log(var)
    r = np.exp(log_r - log_r.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)                               # (n, K) posterior
    e_x1 = mu + (t * s2 / var)[..., None] * diff                    # (n, K, d)
    e_x1 = np.sum(r[..., None] * e_x1, axis=1)                      # (n, d)
    return (e_x1 - x) / (1 - t)


def train_rf_flow_matching(x1: np.ndarray, rng: np.random.Generator, num_features: int = 400,
                           length_x: float = 0.5, length_t: float = 0.25,
                           ridge: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Flow matching with the random-feature model, start to finish.

    For every data point :math:`x_1^{(i)}` draw :math:`x_0^{(i)}\sim\mathcal N(0,I)` and
    :math:`t_i\sim\mathcal U[0,1]`, build :math:`x_{t_i}` by :func:`straight_path`, and fit
    :math:`W` to the targets :math:`x_1^{(i)}-x_0^{(i)}` with :func:`fit_rf_velocity`.
    Returns ``(W, omega, phase)`` for :func:`rf_velocity`.

    >>> x1 = np.full((2000, 1), 3.0)            # all data at x = 3
    >>> W, omega, phase = train_rf_flow_matching(x1, np.random.default_rng(0), 100)
    >>> x = euler_sample(lambda x, t: rf_velocity(x, t, W, omega, phase), np.zeros((1, 1)), 10)
    >>> bool(abs(x[0, 0] - 3.0) < 0.1)
    True
    """
    n, d = x1.shape
    x0 = rng.standard_normal((n, d))                                   # (n, d) noise
    t = rng.uniform(0.0, 1.0, n)                                       # (n,)
    omega, phase = init_random_features(d, num_features, rng, length_x, length_t)
    phi = random_features(straight_path(x0, x1, t), t, omega, phase)   # (n, M)
    W = fit_rf_velocity(phi, cfm_target(x0, x1), ridge)                # (M, d)
    return W, omega, phase
