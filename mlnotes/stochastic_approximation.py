r"""Stochastic approximation: the incremental mean, Robbins–Monro and TD(0).

Robbins–Monro looks for the root :math:`\theta^*` of :math:`M(\theta)=0` when
only noisy measurements :math:`Y_n = M(\theta_n)+\xi_n` with
:math:`\mathbb E[\xi_n]=0` are available:

.. math:: \theta_{n+1}=\theta_n-a_n\,Y_n ,\qquad
          \sum_n a_n=\infty,\quad \sum_n a_n^2<\infty .

The running mean is the special case :math:`M(\theta)=\theta-\mu`,
:math:`a_n=1/n`; TD(0) is the special case whose root is the fixed point of
the Bellman operator.  Iterates are vectorised over independent runs: a
parameter of shape ``(R,)`` runs ``R`` copies of the algorithm at once.

Explained in the post ``posts/stochastic-approximation``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "incremental_mean",
    "step_sizes",
    "robbins_monro",
    "noisy_sine_problem",
    "bisect_root",
    "constant_step_variance",
    "random_walk_true_values",
    "random_walk_transition",
    "random_walk_expected_visits",
    "td0_random_walk",
]


def incremental_mean(x: np.ndarray) -> np.ndarray:
    r"""Running means by :math:`\mu_n=\mu_{n-1}+(x_n-\mu_{n-1})/n`, without storing the samples.

    Returns an array of the same shape as ``x`` (1-D): entry ``n-1`` is :math:`\mu_n`.

    >>> incremental_mean(np.array([2.0, 4.0, 9.0]))
    array([2., 3., 5.])
    """
    mu = 0.0
    out = np.empty(len(x))
    for n, xn in enumerate(x, start=1):
        mu = mu + (xn - mu) / n
        out[n - 1] = mu
    return out


def step_sizes(kind: str, n_steps: int, a: float = 1.0) -> np.ndarray:
    r"""Step-size schedules :math:`a_n`, :math:`n=1,\dots,N`.

    ``"1/n"``: :math:`a/n`; ``"1/sqrt(n)"``: :math:`a/\sqrt n`; ``"constant"``: :math:`a`;
    ``"1/n^2"``: :math:`a/n^2` (summable: violates :math:`\sum a_n=\infty`).

    >>> step_sizes("1/n", 4, a=2.0)
    array([2.        , 1.        , 0.66666667, 0.5       ])
    """
    n = np.arange(1, n_steps + 1, dtype=float)
    schedules = {"1/n": a / n, "1/sqrt(n)": a / np.sqrt(n), "constant": np.full(n_steps, a),
                 "1/n^2": a / n**2}
    if kind not in schedules:
        raise ValueError(f"unknown step-size schedule {kind!r}")
    return schedules[kind]


def robbins_monro(noisy_m: Callable[[np.ndarray, np.random.Generator], np.ndarray],
                  theta0: np.ndarray, steps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r"""Run :math:`\theta_{n+1}=\theta_n-a_n\,Y_n` with :math:`Y_n=` ``noisy_m(theta_n, rng)``.

    Parameters
    ----------
    noisy_m
        ``noisy_m(theta, rng)`` returns an unbiased measurement of :math:`M(\theta)`,
        same shape as ``theta``.
    theta0 : array, shape ``(R,)``
        Starting points of ``R`` independent runs.
    steps : array, shape ``(N,)``
        The step sizes :math:`a_1,\dots,a_N`.

    Returns
    -------
    ndarray, shape ``(N + 1, R)``
        The iterates :math:`\theta_0,\dots,\theta_N` of every run.

    Examples
    --------
    Without noise and with :math:`M(\theta)=\theta-3`, a step of 1 lands on the root:

    >>> robbins_monro(lambda t, rng: t - 3.0, np.array([0.0]), np.array([1.0]), None).ravel()
    array([0., 3.])
    """
    theta = np.array(theta0, dtype=float)          # (R,)
    path = np.empty((len(steps) + 1, theta.size))
    path[0] = theta
    for n, a_n in enumerate(steps, start=1):
        theta = theta - a_n * noisy_m(theta, rng)
        path[n] = theta
    return path


def noisy_sine_problem(target: float = 2.0, noise: float = 1.0):
    r"""A monotone function :math:`M(\theta)=\theta+\tfrac12\sin\theta-\text{target}` with Gaussian noise.

    :math:`M'(\theta)=1+\tfrac12\cos\theta\ge\tfrac12`, so the root is unique.
    Returns ``(m, noisy_m)``: the exact function and a sampler of
    :math:`M(\theta)+\sigma\xi`, :math:`\xi\sim\mathcal N(0,1)`.

    >>> m, _ = noisy_sine_problem()
    >>> float(m(np.array(0.0)))
    -2.0
    """
    def m(theta):
        return theta + 0.5 * np.sin(theta) - target

    def noisy_m(theta, rng):
        return m(theta) + noise * rng.standard_normal(np.shape(theta))

    return m, noisy_m


def bisect_root(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-12) -> float:
    """Root of an increasing function on ``[lo, hi]`` by bisection (the deterministic reference).

    >>> round(bisect_root(lambda t: t * t - 2.0, 0.0, 2.0), 6)
    1.414214
    """
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def constant_step_variance(a: float, c: float, sigma: float) -> float:
    r"""Stationary variance of :math:`e_{n+1}=(1-ac)\,e_n-a\,\xi_n`, :math:`\operatorname{Var}\xi=\sigma^2`.

    From :math:`v=(1-ac)^2v+a^2\sigma^2`:

    .. math:: v=\frac{a^2\sigma^2}{1-(1-ac)^2}=\frac{a\,\sigma^2}{c\,(2-ac)} ,\qquad 0<ac<2 .

    It does not shrink with :math:`n`: a constant step never converges.

    >>> round(constant_step_variance(0.1, 1.0, 1.0), 5)
    0.05263
    """
    return a * sigma**2 / (c * (2.0 - a * c))


def random_walk_true_values(n_states: int = 5) -> np.ndarray:
    r"""Values :math:`v(s)=s/(n+1)`, :math:`s=1..n`, of the bounded random walk (reward 1 at the right end).

    >>> random_walk_true_values(5)
    array([0.16666667, 0.33333333, 0.5       , 0.66666667, 0.83333333])
    """
    return np.arange(1, n_states + 1) / (n_states + 1)


def random_walk_transition(n_states: int = 5) -> np.ndarray:
    r"""Transition matrix :math:`P` among the non-terminal states of the bounded random walk.

    From state :math:`s` the walk moves to :math:`s\pm1` with probability 1/2; moves into a
    terminal state leave the matrix, so the rows at the two ends sum to 1/2.  With
    :math:`\gamma=1` the Bellman operator is :math:`\mathcal TV=\bar r+PV`, so TD(0) looks for
    the root of :math:`M(V)=(I-P)V-\bar r`, whose Jacobian is :math:`I-P`.  Its eigenvalues
    are :math:`1-\cos(k\pi/(n+1))`, :math:`k=1..n`.

    >>> P = random_walk_transition(3)
    >>> P
    array([[0. , 0.5, 0. ],
           [0.5, 0. , 0.5],
           [0. , 0.5, 0. ]])
    >>> round(float(np.linalg.eigvalsh(np.eye(5) - random_walk_transition(5)).min()), 4)
    0.134
    """
    return 0.5 * (np.eye(n_states, k=1) + np.eye(n_states, k=-1))


def random_walk_expected_visits(n_states: int = 5) -> np.ndarray:
    r"""Expected visits per episode to each non-terminal state, starting from the middle.

    The row of :math:`(I-P)^{-1}` for the start state (the Green's function of the walk).

    >>> random_walk_expected_visits(5)
    array([1., 2., 3., 2., 1.])
    """
    start = (n_states + 1) // 2 - 1                       # 0-based index of the middle state
    green = np.linalg.inv(np.eye(n_states) - random_walk_transition(n_states))
    return green[start]


def td0_random_walk(rng: np.random.Generator, episodes: int, n_states: int = 5,
                    power: float = 1.0) -> np.ndarray:
    r"""Tabular TD(0) on the bounded random walk; returns the value estimates after each episode.

    States :math:`1..n` are non-terminal, 0 and :math:`n+1` terminal; every
    move is left or right with probability 1/2 from the middle state; the
    reward is 1 on entering :math:`n+1`, else 0; :math:`\gamma=1`.  The update

    .. math:: V(s)\leftarrow V(s)+a\,\bigl[r+V(s')-V(s)\bigr]

    uses :math:`a=k(s)^{-\text{power}}`, :math:`k(s)` = visits to :math:`s` so far
    (``power=1`` is :math:`1/n`; any power in :math:`(\tfrac12,1]` meets the
    Robbins–Monro conditions; ``power=0`` is a constant step 1).  Shape ``(episodes, n)``.

    >>> v = td0_random_walk(np.random.default_rng(0), 2000, power=0.7)
    >>> bool(np.abs(v[-1] - random_walk_true_values()).max() < 0.05)
    True
    """
    values = np.full(n_states + 2, 0.5)
    values[0] = values[-1] = 0.0                          # terminal states have value 0
    visits = np.zeros(n_states + 2)
    history = np.empty((episodes, n_states))
    for e in range(episodes):
        s = (n_states + 1) // 2
        while 0 < s < n_states + 1:
            s_next = s + (1 if rng.random() < 0.5 else -1)
            reward = 1.0 if s_next == n_states + 1 else 0.0
            visits[s] += 1
            a = visits[s] ** -power
            values[s] += a * (reward + values[s_next] - values[s])
            s = s_next
        history[e] = values[1:-1]
    return history
