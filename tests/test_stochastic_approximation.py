"""mlnotes.stochastic_approximation against closed forms (running mean, stationary variance,
random-walk values) and the numbers quoted in posts/stochastic-approximation.md."""

import numpy as np
import pytest

from mlnotes import stochastic_approximation as S

M, NOISY_M = S.noisy_sine_problem(target=2.0, noise=1.0)
ROOT = S.bisect_root(lambda t: float(M(t)), -10.0, 10.0)


def test_incremental_mean_is_the_running_mean():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=500)
    assert np.allclose(S.incremental_mean(x), np.cumsum(x) / np.arange(1, 501))
    assert S.incremental_mean(np.array([2.0, 4.0, 9.0])).tolist() == [2.0, 3.0, 5.0]


def test_incremental_mean_is_robbins_monro_with_1_over_n():
    """M(theta) = theta - mu observed as theta - x_n, steps 1/n: the iterates are the running means."""
    x = np.random.default_rng(1).normal(size=100)
    it = iter(x)
    path = S.robbins_monro(lambda t, rng: t - next(it), np.array([0.0]), S.step_sizes("1/n", 100), None)
    assert np.allclose(path[1:, 0], S.incremental_mean(x))


def test_root_of_the_toy_problem():
    assert abs(ROOT - 1.5012) < 5e-5
    assert float(M(ROOT)) == pytest.approx(0.0, abs=1e-10)


def test_robbins_monro_converges_on_noisy_function():
    """Steps 1/n from theta_0 = -5: after 2000 noisy measurements every one of 100 runs is near the root."""
    path = S.robbins_monro(NOISY_M, np.full(100, -5.0), S.step_sizes("1/n", 2000), np.random.default_rng(2))
    final = path[-1]
    rmse = np.sqrt(np.mean((final - ROOT) ** 2))
    assert rmse < 0.04                                    # theory: about sigma / (c sqrt(n)) = 0.022
    assert np.abs(final - ROOT).max() < 0.1
    err = np.sqrt(np.mean((path - ROOT) ** 2, axis=1))
    assert err[2000] < err[200] < err[20]


def test_step_size_conditions_matter():
    rng = np.random.default_rng(3)
    runs = {kind: S.robbins_monro(NOISY_M, np.full(200, -5.0), S.step_sizes(kind, 2000, a), rng)
            for kind, a in [("1/n", 1.0), ("1/sqrt(n)", 1.0), ("constant", 0.1), ("1/n^2", 1.0)]}
    rmse = {k: np.sqrt(np.mean((p[-1] - ROOT) ** 2)) for k, p in runs.items()}
    # sum a_n < infinity: the iterates freeze (total movement left is tiny) wherever the first steps put them
    frozen = runs["1/n^2"]
    assert rmse["1/n^2"] > 0.4 and np.abs(frozen[-1] - frozen[1000]).max() < 2e-3
    # constant step: the error stops shrinking at the stationary spread of the linearised recursion
    c = 1.0 + 0.5 * np.cos(ROOT)                          # M'(theta*)
    assert rmse["constant"] == pytest.approx(np.sqrt(S.constant_step_variance(0.1, c, 1.0)), rel=0.15)
    assert rmse["1/n"] < rmse["1/sqrt(n)"] < rmse["constant"] < rmse["1/n^2"]
    # sum a_n^2 = infinity with a_n = 1/sqrt(n), yet it converges: about 0.11 at step 2000 (the post),
    # close to the constant-step formula evaluated at the current step, sqrt(w_2000) = 0.10
    assert rmse["1/sqrt(n)"] == pytest.approx(0.11, abs=0.005)
    assert np.sqrt(S.constant_step_variance(1 / np.sqrt(2000), c, 1.0)) == pytest.approx(0.10, abs=0.005)


def test_variance_recursion_needs_only_steps_to_zero():
    """v_{n+1} = (1 - a_n c)^2 v_n + a_n^2 sigma^2 = (1 - b_n) v_n + b_n w_n,
    with w_n = constant_step_variance(a_n): a_n -> 0 and sum a_n = infinity are enough."""
    c, sigma = 1.0, 1.0
    n = np.arange(1, 200001, dtype=float)
    a = 1 / np.sqrt(n)                                    # sum a_n^2 = infinity
    v = 1.0
    for k, a_k in enumerate(a):
        b = a_k * c * (2 - a_k * c)
        w = S.constant_step_variance(a_k, c, sigma)
        v_next = (1 - a_k * c) ** 2 * v + a_k**2 * sigma**2
        assert v_next == pytest.approx((1 - b) * v + b * w, rel=1e-12, abs=1e-15)
        v = v_next
        if k == 999:
            v_1000 = v
    assert v < 0.2 * v_1000                               # keeps shrinking
    # v_n ~ w_n ~ sigma^2 / (2 c sqrt n)
    assert v == pytest.approx(sigma**2 / (2 * c * np.sqrt(n[-1])), rel=0.02)


def test_slow_rate_when_ac_below_one_half():
    """a_n = a/n with a c < 1/2: the variance recursion decays like n^(-2ac),
    i.e. the RMS error like n^(-ac)."""
    ac = 0.134
    v = 1.0
    checkpoints = {}
    for n in range(1, 10**6 + 1):
        v = (1 - ac / n) ** 2 * v + 1.0 / n**2
        if n in (10**5, 10**6):
            checkpoints[n] = v
    slope = np.log(checkpoints[10**6] / checkpoints[10**5]) / np.log(10)
    assert slope == pytest.approx(-2 * ac, abs=0.01)


def test_constant_step_variance_closed_form():
    """Simulate e_{n+1} = (1 - a c) e_n - a xi_n for a long time; compare with a sigma^2 / (c (2 - a c))."""
    rng = np.random.default_rng(4)
    a, c, sigma = 0.1, 1.0, 1.0
    e = np.zeros(20000)
    for _ in range(300):
        e = (1 - a * c) * e - a * sigma * rng.standard_normal(e.size)
    assert S.constant_step_variance(a, c, sigma) == pytest.approx(0.05263, abs=1e-5)
    assert np.var(e) == pytest.approx(0.05263, rel=0.05)


def test_step_sizes_schedules():
    assert S.step_sizes("1/n", 3).tolist() == [1.0, 0.5, 1 / 3]
    assert np.allclose(S.step_sizes("1/sqrt(n)", 4), [1, 1 / np.sqrt(2), 1 / np.sqrt(3), 0.5])
    assert S.step_sizes("1/n^2", 10000).sum() < np.pi**2 / 6
    with pytest.raises(ValueError):
        S.step_sizes("1/log(n)", 3)


def test_td0_converges_to_true_values():
    truth = S.random_walk_true_values(5)
    assert np.allclose(truth, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])
    rmse = {}
    for power in (1.0, 0.7):
        finals = [S.td0_random_walk(np.random.default_rng(s), 2000, power=power)[-1] for s in range(3)]
        errs = [np.sqrt(np.mean((v - truth) ** 2)) for v in finals]
        rmse[power] = np.mean(errs)
    assert rmse[0.7] < 0.02
    assert rmse[1.0] < 0.05
    assert rmse[0.7] < rmse[1.0]                          # 1/n forgets the biased early targets too slowly
    assert rmse[1.0] == pytest.approx(0.033, abs=5e-4)    # the numbers printed in the post
    assert rmse[0.7] == pytest.approx(0.011, abs=5e-4)


def test_worked_step():
    """theta_0 = -5, noise 0.3, a_1 = 1: theta_1 = 1.2205 (1.5205 without the noise)."""
    assert np.sin(-5.0) == pytest.approx(0.9589, abs=5e-5)
    assert 0.5 * np.sin(-5.0) == pytest.approx(0.4795, abs=5e-5)
    assert float(M(np.array(-5.0))) == pytest.approx(-6.5205, abs=5e-5)
    assert float(M(np.array(-5.0))) + 0.3 == pytest.approx(-6.2205, abs=5e-5)   # the observation Y
    path = S.robbins_monro(lambda t, rng: M(t) + 0.3, np.array([-5.0]), np.array([1.0]), None)
    assert path[1, 0] == pytest.approx(1.2205, abs=5e-5)
    assert -5.0 - float(M(np.array(-5.0))) == pytest.approx(1.5205, abs=5e-5)
    assert S.step_sizes("1/n^2", 100000)[1:].sum() == pytest.approx(np.pi**2 / 6 - 1, abs=1e-4)
    assert np.pi**2 / 6 - 1 == pytest.approx(0.645, abs=5e-4)


def test_td_random_walk_effective_slope():
    """The numbers behind the explanation of slow TD(0) with 1/k(s) steps."""
    P = S.random_walk_transition(5)
    eig = np.linalg.eigvalsh(np.eye(5) - P)
    assert np.allclose(eig, np.sort(1 - np.cos(np.arange(1, 6) * np.pi / 6)))
    assert round(eig.min(), 3) == 0.134                   # smallest eigenvalue of I - P, well below 1/2
    assert pytest.approx(0.73, abs=0.005) == 10 ** -0.134  # ten times the episodes, error x 0.73
    # expected visits per episode from the middle state: (1, 2, 3, 2, 1); check against a simulation too
    mu = S.random_walk_expected_visits(5)
    assert np.allclose(mu, [1, 2, 3, 2, 1])
    rng = np.random.default_rng(0)
    counts = np.zeros(7)
    episodes = 20000
    for _ in range(episodes):
        s = 3
        while 0 < s < 6:
            counts[s] += 1
            s += 1 if rng.random() < 0.5 else -1
    assert np.allclose(counts[1:-1] / episodes, mu, atol=0.06)


def test_td0_error_decays_like_n_to_minus_0134():
    """20 seeds x 5000 episodes, steps 1/k(s): the log-log slope of the RMS error
    after episode 500 is about -0.14 (theory: -0.134)."""
    truth = S.random_walk_true_values(5)
    episodes, seeds = 5000, 20
    mse = np.zeros(episodes)
    for s in range(seeds):
        v = S.td0_random_walk(np.random.default_rng(s), episodes, power=1.0)
        mse += np.mean((v - truth) ** 2, axis=1) / seeds
    n = np.arange(1, episodes + 1)
    keep = n >= 500
    slope = np.polyfit(np.log(n[keep]), np.log(np.sqrt(mse[keep])), 1)[0]
    assert slope == pytest.approx(-0.14, abs=0.005)


def test_numbers_printed_in_the_post():
    """The constants of the experiment section and the figure's run (seed 0, 200 chains, the four
    schedules in order), to half a unit in the last printed digit."""
    c = 1.0 + 0.5 * np.cos(ROOT)                          # M'(theta*)
    assert c == pytest.approx(1.035, abs=5e-4)
    k_const = 1.0 / (2 * c - 1)                           # K = a^2 sigma^2 / (2ac - 1), a = sigma = 1
    assert k_const == pytest.approx(0.935, abs=5e-4)
    assert np.sqrt(k_const / 2000) == pytest.approx(0.022, abs=5e-4)
    assert S.constant_step_variance(0.1, 1.0, 1.0) == pytest.approx(0.0526, abs=5e-5)   # 0.1 / 1.9
    assert np.sqrt(S.constant_step_variance(0.1, c, 1.0)) == pytest.approx(0.226, abs=5e-4)
    assert np.sqrt(S.constant_step_variance(0.1, c, 1.0)) == pytest.approx(0.23, abs=5e-3)   # alt text
    rng = np.random.default_rng(0)
    rmse = {}
    for kind, a in [("1/n", 1.0), ("1/sqrt(n)", 1.0), ("constant", 0.1), ("1/n^2", 1.0)]:
        path = S.robbins_monro(NOISY_M, np.full(200, -5.0), S.step_sizes(kind, 2000, a), rng)
        rmse[kind] = np.sqrt(np.mean((path[-1] - ROOT) ** 2))
    assert rmse["1/n"] == pytest.approx(0.022, abs=5e-4)          # "the simulation agrees"
    assert rmse["1/n"] == pytest.approx(0.02, abs=5e-3)           # alt text: about 0.02
    assert rmse["1/sqrt(n)"] == pytest.approx(0.11, abs=5e-3)
    assert rmse["1/n^2"] == pytest.approx(0.5, abs=0.05)          # stuck about 0.5 from the root
    assert 1 - np.cos(np.pi / 6) == pytest.approx(0.134, abs=5e-4)   # 0.73 = 10^-0.134: see above
