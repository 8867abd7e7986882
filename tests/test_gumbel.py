"""mlnotes.gumbel against closed forms, naive versions and the numbers quoted in posts/gumbel-softmax.md."""

import math

import numpy as np
import pytest

from mlnotes import gumbel as G

PI = np.array([0.1, 0.2, 0.3, 0.4])
LOGITS = np.log(PI)
U_EXAMPLE = np.array([0.9, 0.5, 0.2, 0.4])      # the worked example of the post


# -- Gumbel noise -------------------------------------------------------------------


def test_inverse_cdf_inverts_cdf():
    u = np.random.default_rng(0).random(1000)
    assert np.allclose(G.gumbel_cdf(G.gumbel_inverse_cdf(u)), u, rtol=1e-12, atol=1e-15)


def test_gumbel_samples_match_cdf_and_moments():
    """Mean = Euler-Mascheroni constant, variance = pi^2 / 6, and the empirical CDF matches F."""
    g = G.sample_gumbel(np.random.default_rng(1), (400_000,))
    assert g.mean() == pytest.approx(np.euler_gamma, abs=0.01)
    assert g.var() == pytest.approx(np.pi**2 / 6, abs=0.02)
    for x in (-1.0, 0.0, 0.5, 2.0):
        assert (g <= x).mean() == pytest.approx(float(G.gumbel_cdf(x)), abs=0.003)
    assert np.all(np.isfinite(g))


def test_worked_example_numbers():
    """The Gumbel noise, perturbed logits and samples quoted in the post."""
    g = G.gumbel_inverse_cdf(U_EXAMPLE)
    # rtol=0 throughout: half a unit in the last printed digit and nothing more
    assert np.allclose(g, [2.2504, 0.3665, -0.4759, 0.0874], rtol=0, atol=5e-5)
    assert np.allclose(LOGITS, [-2.3026, -1.6094, -1.2040, -0.9163], rtol=0, atol=5e-5)
    assert np.allclose(LOGITS + g, [-0.0522, -1.2429, -1.6799, -0.8289], rtol=0, atol=5e-5)
    assert G.gumbel_max_sample(LOGITS, g) == 0
    assert np.allclose(G.gumbel_softmax(LOGITS, g, 1.0), [0.510, 0.155, 0.100, 0.235], rtol=0, atol=5e-4)
    assert np.allclose(G.gumbel_softmax(LOGITS, g, 0.5), [0.745, 0.069, 0.029, 0.158], rtol=0, atol=5e-4)
    assert np.allclose(G.gumbel_softmax(LOGITS, g, 5.0), [0.297, 0.234, 0.215, 0.254], rtol=0, atol=5e-4)
    # the median -log(log 2) = 0.3665 (u = 0.5 above) and u = 1/e giving g = 0
    assert float(G.gumbel_inverse_cdf(np.exp(-1.0))) == pytest.approx(0.0, abs=1e-12)
    assert G.gumbel_softmax(LOGITS, g, 0.1)[0] == pytest.approx(0.9996, abs=5e-5)


# -- Gumbel-max: exact categorical samples ------------------------------------------


def chi2_sf_3dof(x: float) -> float:
    """Survival function of the chi-square distribution with 3 degrees of freedom, in closed form.

    The density is sqrt(x) exp(-x/2) / sqrt(2 pi); one integration by parts gives
    P(X > x) = erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2).
    """
    return math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2)


ALPHA = 0.01
CRITICAL_3DOF = 11.345   # chi-square 0.99 quantile with K - 1 = 3 degrees of freedom


def test_critical_value_is_the_one_percent_quantile():
    """Justifies the hard-coded critical value: P(chi2_3 > 11.345) = 0.0100."""
    assert chi2_sf_3dof(CRITICAL_3DOF) == pytest.approx(ALPHA, abs=1e-5)     # printed 0.0100
    # and the closed form agrees with a crude numerical integral of the density
    x = np.linspace(CRITICAL_3DOF, 80.0, 400_001)
    dens = np.sqrt(x) * np.exp(-x / 2) / np.sqrt(2 * np.pi)
    assert np.sum((dens[1:] + dens[:-1]) / 2 * np.diff(x)) == pytest.approx(ALPHA, abs=1e-6)


def test_gumbel_max_frequencies_chi_square():
    """Goodness of fit of 100 000 Gumbel-max samples to Categorical(pi), significance level 1%."""
    n = 100_000
    g = G.sample_gumbel(np.random.default_rng(0), (n, 4))
    counts = np.bincount(G.gumbel_max_sample(LOGITS, g), minlength=4)
    expected = n * PI
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    try:
        from scipy import stats
    except ImportError:   # scipy is not a dependency of the project
        assert chi2 < CRITICAL_3DOF
    else:
        assert stats.chi2.sf(chi2, df=3) > ALPHA
    # the numbers quoted in the post
    assert chi2 == pytest.approx(0.53, abs=5e-3)
    assert np.allclose(counts / n, [0.1001, 0.2009, 0.2995, 0.3995], rtol=0, atol=5e-5)


def test_gumbel_max_ignores_normalisation_and_shift():
    """Logits only matter up to an additive constant: same samples for log pi and log pi + 7."""
    g = G.sample_gumbel(np.random.default_rng(2), (1000, 4))
    assert np.array_equal(G.gumbel_max_sample(LOGITS, g), G.gumbel_max_sample(LOGITS + 7.0, g))


def test_exponential_race_equivalence():
    """argmax(log pi + g) = argmin(E_i / pi_i) with E_i = -log u_i ~ Exp(1): the same sample."""
    u = np.random.default_rng(3).random((5000, 4))
    race = np.argmin(-np.log(u) / PI, axis=-1)
    assert np.array_equal(G.gumbel_max_sample(LOGITS, G.gumbel_inverse_cdf(u)), race)


# -- Gumbel-Softmax ---------------------------------------------------------------


def naive_softmax(x):
    e = [math.exp(v) for v in x]
    return [v / sum(e) for v in e]


def test_softmax_against_naive():
    x = np.random.default_rng(4).standard_normal((20, 5)) * 3
    assert np.allclose(G.softmax(x), [naive_softmax(row) for row in x], rtol=1e-12)
    assert np.allclose(G.softmax(x + 1000.0), G.softmax(x))            # stable for huge logits


def test_gumbel_softmax_on_simplex_and_limits():
    g = G.sample_gumbel(np.random.default_rng(5), (2000, 4))
    hard = G.one_hot(G.gumbel_max_sample(LOGITS, g), 4)
    previous_gap = np.inf
    for tau in (10.0, 1.0, 0.3, 0.1, 0.01):
        y = G.gumbel_softmax(LOGITS, g, tau)
        assert np.all(y >= 0) and np.allclose(y.sum(axis=-1), 1.0, atol=1e-12)
        gap = np.abs(y - hard).max(axis=-1).mean()          # distance to the Gumbel-max one-hot
        assert gap < previous_gap
        previous_gap = gap
    assert previous_gap < 0.01                               # tau = 0.01: essentially one-hot ...
    assert np.mean(G.gumbel_softmax(LOGITS, g, 0.01).max(-1) > 0.99) > 0.95   # except near-ties
    assert np.array_equal(G.gumbel_softmax(LOGITS, g, 0.01).argmax(-1), hard.argmax(-1))
    y_hot = G.gumbel_softmax(LOGITS, g, 1e6)                 # tau -> infinity: uniform
    assert np.allclose(y_hot, 0.25, atol=1e-5)


def test_gumbel_softmax_mean_is_not_pi():
    """E[y] equals pi only in the limit tau -> 0; at tau = 1 it is pulled towards uniform."""
    g = G.sample_gumbel(np.random.default_rng(1), (400_000, 4))
    assert np.abs(G.gumbel_softmax(LOGITS, g, 0.1).mean(0) - PI).max() < 0.002   # "相差不到 0.002"
    y1 = G.gumbel_softmax(LOGITS, g, 1.0).mean(0)
    assert np.allclose(y1, [0.133, 0.219, 0.292, 0.356], rtol=0, atol=5e-4)


# -- straight-through -------------------------------------------------------------


def test_straight_through_forward_is_gumbel_max():
    g = G.sample_gumbel(np.random.default_rng(6), (500, 4))
    hard, soft = G.straight_through(LOGITS, g, 0.7)
    assert np.array_equal(hard, G.one_hot(G.gumbel_max_sample(LOGITS, g), 4))
    assert np.allclose(soft, G.gumbel_softmax(LOGITS, g, 0.7))


def test_softmax_vjp_against_finite_differences():
    rng = np.random.default_rng(7)
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    for tau in (0.3, 1.0, 2.5):
        h = 1e-6
        fd = np.array([(v @ G.softmax((x + h * e) / tau) - v @ G.softmax((x - h * e) / tau)) / (2 * h)
                       for e in np.eye(5)])
        assert np.allclose(G.softmax_vjp(G.softmax(x / tau), tau, v), fd, atol=1e-8)


def test_categorical_expectation_grad_against_finite_differences():
    rng = np.random.default_rng(8)
    logits, values = rng.standard_normal(6), rng.standard_normal(6)
    h = 1e-6
    fd = np.array([(G.softmax(logits + h * e) @ values - G.softmax(logits - h * e) @ values) / (2 * h)
                   for e in np.eye(6)])
    assert np.allclose(G.categorical_expectation_grad(logits, values), fd, atol=1e-8)


C = np.array([1.0, 2.0, 3.0, 4.0])


def loss_grad(z):
    """Gradient of L(z) = (c . z)^2."""
    return 2 * (z @ C)[..., None] * C


def test_straight_through_bias():
    """Quoted in the post: L(z) = (c.z)^2, exact gradient (-0.9, -1.2, -0.3, 2.4)."""
    exact = G.categorical_expectation_grad(LOGITS, C**2)
    assert np.allclose(exact, [-0.9, -1.2, -0.3, 2.4])
    g = G.sample_gumbel(np.random.default_rng(1), (400_000, 4))
    hard1, _ = G.straight_through(LOGITS, g, 1.0)
    st1 = G.straight_through_grad(LOGITS, g, 1.0, loss_grad(hard1))
    assert np.allclose(st1.mean(0), [-1.00, -0.82, 0.07, 1.75], rtol=0, atol=5e-3)
    assert np.abs(st1.mean(0) - exact).max() > 0.6          # biased, well beyond MC error
    assert st1.mean(0)[2] > 0 > exact[2]                      # wrong sign
    assert st1.mean(0)[3] < 0.75 * exact[3]                   # more than a quarter too small
    assert np.allclose(st1.std(0), [0.96, 0.71, 0.56, 1.24], rtol=0, atol=5e-3)
    hard01, _ = G.straight_through(LOGITS, g, 0.1)
    st01 = G.straight_through_grad(LOGITS, g, 0.1, loss_grad(hard01))
    assert np.allclose(st01.mean(0), [-0.92, -1.19, -0.27, 2.39], rtol=0, atol=5e-3)   # bias shrinks ...
    assert np.allclose(st01.std(0), [4.81, 4.62, 3.78, 6.78], rtol=0, atol=5e-3)       # ... variance grows
    # the forward value stays exact: E[L(hard)] = sum_k pi_k L(e_k) = 10
    assert np.mean((hard1 @ C) ** 2) == pytest.approx(PI @ C**2, abs=0.02)


def cubic_grad(z):
    """Gradient of L(z) = (c . z)^3."""
    return 3 * ((z @ C) ** 2)[..., None] * C


def test_straight_through_limit_is_trapezoid_rule():
    """tau -> 0 limit of the ST mean: exact for any quadratic loss, biased for the cubic one."""
    rng = np.random.default_rng(5)
    for _ in range(5):                                    # L(z) = z.A z + b.z, A not symmetric
        logits = rng.normal(size=4)
        a, b = rng.normal(size=(4, 4)), rng.normal(size=4)
        eye = np.eye(4)
        values = np.einsum("ki,ij,kj->k", eye, a, eye) + eye @ b
        vertex_grads = eye @ (a + a.T) + b
        assert np.allclose(G.straight_through_limit_mean(logits, vertex_grads),
                           G.categorical_expectation_grad(logits, values), atol=1e-12)
    # the cubic example of the post
    eye = np.eye(4)
    exact = G.categorical_expectation_grad(LOGITS, C**3)
    limit = G.straight_through_limit_mean(LOGITS, cubic_grad(eye))
    assert np.allclose(C**3, [1, 8, 27, 64])
    assert pytest.approx(35.4) == PI @ C**3
    assert np.allclose(exact, [-3.44, -5.48, -2.52, 11.44], atol=1e-12)
    assert np.allclose(limit, [-4.11, -5.82, -2.43, 12.36], atol=1e-12)
    # limit minus exact = 1/2 pi_j sum_i pi_i (c_j - c_i)^3, the trapezoid error on each edge
    diff = C[:, None] - C[None, :]
    assert np.allclose(limit - exact, 0.5 * PI * ((diff**3) @ PI), atol=1e-12)
    assert limit[0] / exact[0] == pytest.approx(1.19, abs=0.005)      # about 19% too large
    assert limit[3] / exact[3] == pytest.approx(1.08, abs=0.005)      # about 8% too large


def test_straight_through_bias_cubic():
    """Quoted in the post: L(z) = (c.z)^3 with the same 4e5 noise samples as the quadratic case."""
    exact = G.categorical_expectation_grad(LOGITS, C**3)
    limit = G.straight_through_limit_mean(LOGITS, cubic_grad(np.eye(4)))
    g = G.sample_gumbel(np.random.default_rng(1), (400_000, 4))
    hard1, _ = G.straight_through(LOGITS, g, 1.0)
    st1 = G.straight_through_grad(LOGITS, g, 1.0, cubic_grad(hard1))
    assert np.allclose(st1.mean(0), [-4.92, -4.15, -0.03, 9.11], rtol=0, atol=5e-3)
    hard01, _ = G.straight_through(LOGITS, g, 0.1)
    st01 = G.straight_through_grad(LOGITS, g, 0.1, cubic_grad(hard01))
    mean01 = st01.mean(0)
    assert np.allclose(mean01, [-4.3, -5.8, -2.2, 12.3], rtol=0, atol=0.05)
    assert np.all(np.abs(mean01 - limit) < np.abs(mean01 - exact))   # nearer the limit than the truth
    sd = st01.std(0)
    assert sd.min() == pytest.approx(19, abs=0.5) and sd.max() == pytest.approx(39, abs=0.5)   # 19 to 39
    assert np.mean((hard1 @ C) ** 3) == pytest.approx(35.4, abs=0.05)
    # smaller temperature, more samples: the mean settles on the trapezoid limit, not on the exact gradient
    rng = np.random.default_rng(2)
    total = np.zeros(4)
    n = 0
    for _ in range(5):
        g = G.sample_gumbel(rng, (400_000, 4))
        hard, _ = G.straight_through(LOGITS, g, 0.03)
        total += G.straight_through_grad(LOGITS, g, 0.03, cubic_grad(hard)).sum(0)
        n += len(g)
    mean003 = total / n
    assert np.abs(mean003 - limit).max() < 0.15
    assert np.abs(mean003 - exact)[[0, 1, 3]].min() > 0.25


# -- REINFORCE versus pathwise on f(z) = z^2 ----------------------------------------


def test_square_variances_closed_form_against_quadrature():
    """Check the closed-form variances with Gauss-Hermite quadrature (exact for polynomials)."""
    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()                                       # weights of N(0, 1)
    cases = [(1.0, 1.0, 0.0), (1.0, 1.0, 2.0), (1.0, 1.0, 4.0), (2.0, 0.5, 1.0), (-1.5, 2.0, 3.0)]
    for mu, sigma, b in cases:
        r = G.reinforce_grad(np.square, x, mu, sigma, b)
        p = G.pathwise_grad(lambda z: 2 * z, x, mu, sigma)
        assert w @ r == pytest.approx(2 * mu, abs=1e-9) and w @ p == pytest.approx(2 * mu, abs=1e-9)
        var_r, var_p = G.square_grad_variances(mu, sigma, b)
        assert w @ (r - 2 * mu) ** 2 == pytest.approx(var_r, rel=1e-9)
        assert w @ (p - 2 * mu) ** 2 == pytest.approx(var_p, rel=1e-9)


def test_quoted_closed_form_numbers():
    assert G.square_grad_variances(1.0, 1.0) == (30.0, 4.0)
    assert G.square_grad_variances(1.0, 1.0, baseline=2.0)[0] == 18.0      # b = E f
    assert G.square_grad_variances(1.0, 1.0, baseline=4.0)[0] == 14.0      # b* = mu^2 + 3 sigma^2
    var_r, var_p = G.square_grad_variances(1.0, 0.5)
    assert var_r / var_p == pytest.approx(21.75)
    assert G.square_grad_variances(1.0, 1.0)[0] / G.square_grad_variances(1.0, 1.0)[1] == 7.5
    # one sample, eps = 0.5: z = 1.5, REINFORCE gives 1.5^2 * 0.5 = 1.125, pathwise 2 * 1.5 = 3
    assert float(G.reinforce_grad(np.square, np.array(0.5), 1.0, 1.0)) == pytest.approx(1.125)
    assert float(G.pathwise_grad(lambda z: 2 * z, np.array(0.5), 1.0, 1.0)) == pytest.approx(3.0)
    # b* really is the minimiser
    bs = np.linspace(0, 8, 801)
    assert bs[np.argmin([G.square_grad_variances(1.0, 1.0, b)[0] for b in bs])] == pytest.approx(4.0)


def test_both_estimators_unbiased_and_measured_ratio():
    """One million samples, seed 0: both means within 4 standard errors of 2 mu; ratio about 7.5."""
    mu, sigma, n = 1.0, 1.0, 1_000_000
    eps = np.random.default_rng(0).standard_normal(n)
    r = G.reinforce_grad(np.square, eps, mu, sigma)
    p = G.pathwise_grad(lambda z: 2 * z, eps, mu, sigma)
    var_r, var_p = G.square_grad_variances(mu, sigma)
    assert abs(r.mean() - 2 * mu) < 4 * math.sqrt(var_r / n)
    assert abs(p.mean() - 2 * mu) < 4 * math.sqrt(var_p / n)
    assert r.mean() == pytest.approx(2.005, abs=5e-4) and p.mean() == pytest.approx(2.002, abs=5e-4)
    assert r.var() == pytest.approx(30.1, abs=0.05)
    assert p.var() == pytest.approx(4.01, abs=5e-3)
    ratio = r.var() / p.var()
    assert ratio == pytest.approx(7.52, abs=5e-3)        # the measured ratio quoted in the post
    assert ratio == pytest.approx(var_r / var_p, rel=0.02)
    for b, quoted in [(2.0, 18.1), (4.0, 14.0)]:
        rb = G.reinforce_grad(np.square, eps, mu, sigma, baseline=b)
        assert abs(rb.mean() - 2 * mu) < 4 * math.sqrt(G.square_grad_variances(mu, sigma, b)[0] / n)
        assert rb.var() == pytest.approx(quoted, abs=0.05)
    # with b* = 4 REINFORCE still has about 3.5 times the pathwise variance
    rb4 = G.reinforce_grad(np.square, eps, mu, sigma, baseline=4.0)
    assert rb4.var() / p.var() == pytest.approx(3.5, abs=0.05)


def test_estimator_variances_scale_as_one_over_n():
    rng = np.random.default_rng(9)
    for n in (1, 10, 100):
        v = G.estimator_variances(1.0, 1.0, n, 20_000, rng)
        assert v["reinforce"] == pytest.approx(30.0 / n, rel=0.1)
        assert v["pathwise"] == pytest.approx(4.0 / n, rel=0.05)
    vb = G.estimator_variances(1.0, 1.0, 10, 20_000, rng, baseline=4.0)
    assert vb["reinforce"] == pytest.approx(1.4, rel=0.05)


def test_discrete_sample_has_zero_pathwise_derivative():
    """z = 1[u < p] is piecewise constant in p, yet d/dp E[f(z)] = f(1) - f(0) = 3 != 0.

    With the noise u held fixed, almost every sample does not move when p moves; the whole
    gradient of the expectation comes from the few samples that flip across the jump.
    """
    u = np.random.default_rng(10).random(100_000)
    p = 0.3

    def f(z):
        return 3.0 * z + 1.0

    for h in (1e-7, 0.05):
        flips = (f((u < p + h).astype(float)) - f((u < p - h).astype(float))) / (2 * h)
        if h < 1e-6:
            assert np.mean(flips == 0) > 0.99          # the per-sample derivative is 0 a.e.
        else:
            assert np.mean(flips == 0) > 0.85          # still, most samples do not move ...
            assert flips.mean() == pytest.approx(3.0, abs=0.1)   # ... and the flips carry it all


def test_pathwise_can_lose_on_oscillating_f():
    """f(z) = sin(k z): pathwise variance near k^2 / 2, REINFORCE variance at most 1 / sigma^2."""
    mu, sigma, k = 1.0, 1.0, 10.0
    eps = np.random.default_rng(11).standard_normal(1_000_000)
    r = G.reinforce_grad(lambda z: np.sin(k * z), eps, mu, sigma)
    p = G.pathwise_grad(lambda z: k * np.cos(k * z), eps, mu, sigma)
    assert p.var() == pytest.approx(k**2 / 2, rel=0.02)
    assert r.var() <= 1 / sigma**2
    assert r.mean() == pytest.approx(p.mean(), abs=0.02)     # same (tiny) true gradient
