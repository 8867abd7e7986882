"""mlnotes.flows against finite differences, closed forms, naive versions and the numbers in the post."""

import math

import numpy as np
import pytest

from mlnotes import flows as fl

# The toy target of posts/flow-models.md: three 2-D Gaussians.
MEANS = np.array([[0.0, 2.5], [-2.2, -1.25], [2.2, -1.25]])
STDS = np.full(3, 0.35)
WEIGHTS = np.array([0.5, 0.3, 0.2])
# Half a unit in the third decimal, plus float slack: a fraction of 4000 samples such as 0.1855
# printed as 0.186 sits exactly on the boundary, and 0.186 - 0.1855 is 5.000000000000004e-4.
HALF_E3 = 5e-4 + 1e-12


def random_flow(dim, num_layers, rng, hidden=16, scale=0.5):
    """Coupling layers with alternating masks and random (non-zero) output weights."""
    layers = []
    for k in range(num_layers):
        mask = (np.arange(dim) % 2) == (k % 2)
        layer = fl.init_coupling(mask, hidden, rng, scale)
        layer["b2"] = 0.3 * rng.standard_normal(layer["b2"].shape)
        layers.append(layer)
    return layers


def numerical_jacobian(func, x, h=1e-6):
    """Central differences, one input coordinate at a time: J[i, j] = d func_i / d x_j."""
    d = x.shape[-1]
    cols = []
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        cols.append((func(x + e) - func(x - e)) / (2 * h))
    return np.stack(cols, axis=-1)


# -- Change of variables -------------------------------------------------------


def lognormal_pdf(x):
    """Density of x = exp(z), z ~ N(0, 1), from the 1-D change of variables."""
    return np.exp(-0.5 * np.log(x) ** 2) / np.sqrt(2 * np.pi) / x


def test_one_dimensional_change_of_variables_is_the_cdf_derivative():
    """p_X = d/dx F_Z(log x), and the worked numbers of the post."""
    x = np.linspace(0.2, 5.0, 25)
    cdf = lambda x: 0.5 * (1 + np.vectorize(math.erf)(np.log(x) / np.sqrt(2)))  # noqa: E731
    h = 1e-6
    assert np.allclose((cdf(x + h) - cdf(x - h)) / (2 * h), lognormal_pdf(x), atol=1e-8)
    assert lognormal_pdf(np.e) == pytest.approx(0.0890, abs=5e-5)
    phi1 = np.exp(-0.5) / np.sqrt(2 * np.pi)
    assert phi1 == pytest.approx(0.2420, abs=5e-5)
    # without the 1/x factor the "density" has total mass E[e^z] = e^{1/2}
    grid = np.linspace(-12, 12, 200_001)
    assert np.trapezoid(np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi) * np.exp(grid), grid) == \
        pytest.approx(1.6487, abs=5e-5)
    # with it, the density integrates to one: substitute x = e^z, dx = e^z dz
    assert np.trapezoid(lognormal_pdf(np.exp(grid)) * np.exp(grid), grid) == pytest.approx(1.0, abs=1e-9)


# -- Affine coupling -------------------------------------------------------------


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_coupling_inverse_of_forward_is_identity(dim):
    rng = np.random.default_rng(dim)
    layers = random_flow(dim, 4, rng)
    x = rng.standard_normal((100, dim))
    for layer in layers:
        y, _ = fl.coupling_forward(x, layer)
        assert np.allclose(fl.coupling_inverse(y, layer), x, atol=1e-12)
    z, _ = fl.flow_forward(x, layers)
    assert np.allclose(fl.flow_inverse(z, layers), x, atol=1e-12)
    assert np.allclose(fl.flow_forward(fl.flow_inverse(x, layers), layers)[0], x, atol=1e-12)


def test_coupling_log_det_matches_finite_difference_jacobian():
    rng = np.random.default_rng(0)
    dim = 4
    layer = random_flow(dim, 1, rng)[0]
    for x in rng.standard_normal((5, dim)):
        jac = numerical_jacobian(lambda v: fl.coupling_forward(v[None], layer)[0][0], x)
        _, log_det = fl.coupling_forward(x[None], layer)
        sign, logabs = np.linalg.slogdet(jac)
        assert sign > 0 and log_det[0] == pytest.approx(logabs, abs=1e-7)
        # the structure behind it: copied block is the identity, it ignores x_b,
        # and the x_b block is diagonal with entries exp(s)
        a, b = layer["mask"], ~layer["mask"]
        assert np.allclose(jac[np.ix_(a, a)], np.eye(a.sum()), atol=1e-8)
        assert np.allclose(jac[np.ix_(a, b)], 0.0, atol=1e-8)
        s, _ = fl.mlp_scale_shift(x[None, a], layer)
        assert np.allclose(jac[np.ix_(b, b)], np.diag(np.exp(s[0])), atol=1e-7)


def test_flow_log_det_is_sum_over_layers():
    rng = np.random.default_rng(1)
    layers = random_flow(3, 3, rng)
    x = rng.standard_normal(3)
    jac = numerical_jacobian(lambda v: fl.flow_forward(v[None], layers)[0][0], x)
    _, log_det = fl.flow_forward(x[None], layers)
    assert log_det[0] == pytest.approx(np.linalg.slogdet(jac)[1], abs=1e-7)
    per_layer, h = 0.0, x[None]
    for layer in layers:
        h, ld = fl.coupling_forward(h, layer)
        per_layer += ld[0]
    assert log_det[0] == pytest.approx(per_layer, rel=1e-12)


def test_flow_density_integrates_to_one():
    """exp(flow_log_prob) on a fine 2-D grid sums to one."""
    layers = random_flow(2, 4, np.random.default_rng(2))
    g = np.linspace(-12, 12, 801)
    xx, yy = np.meshgrid(g, g)
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    dens = np.exp(fl.flow_log_prob(pts, layers)).reshape(xx.shape)
    assert np.trapezoid(np.trapezoid(dens, g, axis=1), g) == pytest.approx(1.0, abs=1e-4)


def test_constant_coupling_gives_closed_form_gaussian():
    """With W2 = 0 the layer is the affine map y_b = x_b e^{s0} + t0, so x_b ~ N(-t0 e^{-s0}, e^{-2 s0})."""
    s0, t0 = 0.7, -1.2
    layer = {"mask": np.array([True, False]), "W1": np.ones((1, 3)), "b1": np.zeros(3),
             "W2": np.zeros((3, 2)), "b2": np.array([s0, t0])}
    x = np.random.default_rng(3).standard_normal((50, 2)) * 2
    mean_b, std_b = -t0 * np.exp(-s0), np.exp(-s0)
    expected = (-0.5 * x[:, 0] ** 2 - 0.5 * np.log(2 * np.pi)
                - 0.5 * ((x[:, 1] - mean_b) / std_b) ** 2 - np.log(std_b) - 0.5 * np.log(2 * np.pi))
    assert np.allclose(fl.flow_log_prob(x, [layer]), expected, atol=1e-12)


def test_worked_coupling_example():
    """x = (1, 2), s = 0.5 tanh(x_1), t = -tanh(x_1): the numbers in the post."""
    layer = {"mask": np.array([True, False]), "W1": np.array([[1.0]]), "b1": np.zeros(1),
             "W2": np.array([[0.5, -1.0]]), "b2": np.zeros(2)}
    y, log_det = fl.coupling_forward(np.array([[1.0, 2.0]]), layer)
    assert np.tanh(1.0) == pytest.approx(0.7616, abs=5e-5)
    assert np.exp(0.5 * np.tanh(1.0)) == pytest.approx(1.4635, abs=5e-5)
    assert y[0, 1] == pytest.approx(2.1653, abs=5e-5)
    assert log_det[0] == pytest.approx(0.3808, abs=5e-5)
    s, t = fl.mlp_scale_shift(np.array([[1.0]]), layer)
    assert (s[0, 0], t[0, 0]) == pytest.approx((0.3808, -0.7616), abs=5e-5)
    assert fl.standard_normal_logpdf(y)[0] == pytest.approx(-4.6822, abs=5e-5)
    assert fl.flow_log_prob(np.array([[1.0, 2.0]]), [layer])[0] == pytest.approx(-4.3014, abs=5e-5)


# -- Continuous normalizing flows -------------------------------------------------


def test_instantaneous_change_of_variables_on_a_linear_field():
    """v = A x with A = [[a, -b], [b, a]]: x(1) = e^a R(b) x(0) and log p drops by tr A = 2a."""
    a, b = -0.4, 1.3
    A = np.array([[a, -b], [b, a]])
    x0 = np.random.default_rng(4).standard_normal((20, 2))
    log_p0 = fl.standard_normal_logpdf(x0)
    x1, log_p1 = fl.euler_log_density(lambda x, t: x @ A.T, lambda x, t: np.full(len(x), 2 * a),
                                      x0, log_p0, 2000)
    rot = np.array([[np.cos(b), -np.sin(b)], [np.sin(b), np.cos(b)]])
    assert np.allclose(x1, np.exp(a) * x0 @ rot.T, atol=2e-3)
    assert np.allclose(log_p1, log_p0 - 2 * a, atol=1e-12)
    # the discrete view: one Euler step is linear with log det(I + hA) = h tr A + O(h^2)
    for h in (1e-2, 1e-3):
        assert np.linalg.slogdet(np.eye(2) + h * A)[1] == pytest.approx(h * 2 * a, abs=2 * h**2)


# -- Flow matching ----------------------------------------------------------------


def test_straight_path_endpoints_and_velocity():
    rng = np.random.default_rng(5)
    x0, x1 = rng.standard_normal((10, 3)), rng.standard_normal((10, 3))
    assert np.allclose(fl.straight_path(x0, x1, 0.0), x0)
    assert np.allclose(fl.straight_path(x0, x1, 1.0), x1)
    t, h = rng.uniform(0.1, 0.9, 10), 1e-6
    deriv = (fl.straight_path(x0, x1, t + h) - fl.straight_path(x0, x1, t - h)) / (2 * h)
    assert np.allclose(deriv, fl.cfm_target(x0, x1), atol=1e-8)


def test_rf_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(6)
    omega, phase = fl.init_random_features(2, 30, rng)
    x0, x1, t = rng.standard_normal((200, 2)), rng.standard_normal((200, 2)) + 1, rng.uniform(size=200)
    phi = fl.random_features(fl.straight_path(x0, x1, t), t, omega, phase)
    target = fl.cfm_target(x0, x1)
    W = rng.standard_normal((30, 2))
    loss, grad = fl.rf_loss_and_grad(W, phi, target)
    assert loss == pytest.approx(fl.cfm_loss(fl.rf_velocity(fl.straight_path(x0, x1, t), t, W, omega, phase),
                                             x0, x1), rel=1e-12)
    h = 1e-6
    num = np.zeros_like(W)
    for idx in np.ndindex(*W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        up, down = fl.rf_loss_and_grad(W + E, phi, target)[0], fl.rf_loss_and_grad(W - E, phi, target)[0]
        num[idx] = (up - down) / (2 * h)
    assert np.allclose(grad, num, atol=1e-6)
    # the closed-form fit zeroes the (ridge-regularised) gradient
    W_star = fl.fit_rf_velocity(phi, target, ridge=1e-3)
    assert np.allclose(fl.rf_loss_and_grad(W_star, phi, target)[1] + 2e-3 * W_star, 0.0, atol=1e-10)


def test_marginal_velocity_two_point_example():
    """Data at +-1, t = x = 1/2: posterior 0.8808 / 0.1192, conditional targets 1 and -3."""
    t, x = 0.5, 0.5
    w_plus = 1 / (1 + np.exp(-2 * t * x / (1 - t) ** 2))
    assert w_plus == pytest.approx(0.8808, abs=5e-5)
    assert 1 - w_plus == pytest.approx(0.1192, abs=5e-5)
    targets = np.array([(1 - x) / (1 - t), (-1 - x) / (1 - t)])
    assert targets.tolist() == [1.0, -3.0]
    u = fl.gmm_straight_velocity(np.array([[x]]), t, np.array([[-1.0], [1.0]]), np.zeros(2),
                                 np.array([0.5, 0.5]))
    assert u[0, 0] == pytest.approx(w_plus * 1 + (1 - w_plus) * -3, abs=1e-12)
    assert u[0, 0] == pytest.approx((np.tanh(1.0) - 0.5) / 0.5, abs=1e-12)
    assert u[0, 0] == pytest.approx(0.5232, abs=5e-5)


def test_gmm_velocity_is_posterior_mean_of_conditional_targets():
    """Naive version: weight samples of x_1 by p_t(x | x_1) = N(x; t x_1, (1-t)^2 I).

    The weighted average of (x_1 - x) / (1 - t) estimates E[x_1 - x_0 | x_t = x].
    """
    rng = np.random.default_rng(7)
    x1, _ = fl.gmm_sample(400_000, MEANS, STDS, WEIGHTS, rng)
    for t in (0.1, 0.5, 0.8):
        # query points drawn from p_t itself, where the naive estimate has enough samples
        pts = fl.straight_path(rng.standard_normal((5, 2)), fl.gmm_sample(5, MEANS, STDS, WEIGHTS, rng)[0], t)
        exact = fl.gmm_straight_velocity(pts, t, MEANS, STDS, WEIGHTS)
        for p, u in zip(pts, exact, strict=True):
            logw = -0.5 * np.sum((p - t * x1) ** 2, axis=1) / (1 - t) ** 2
            w = np.exp(logw - logw.max())
            naive = (w[:, None] * (x1 - p)).sum(0) / w.sum() / (1 - t)
            assert np.allclose(u, naive, atol=0.02)


def test_cfm_and_fm_have_the_same_gradient():
    """grad L_CFM = grad L_FM: the conditional targets average to the marginal velocity."""
    rng = np.random.default_rng(8)
    n = 400_000
    x1, _ = fl.gmm_sample(n, MEANS, STDS, WEIGHTS, rng)
    x0, t = rng.standard_normal((n, 2)), rng.uniform(0, 0.95, n)
    xt = fl.straight_path(x0, x1, t)
    omega, phase = fl.init_random_features(2, 40, rng)
    phi = fl.random_features(xt, t, omega, phase)
    u = fl.gmm_straight_velocity(xt, t, MEANS, STDS, WEIGHTS)
    for W in (np.zeros((40, 2)), rng.standard_normal((40, 2))):
        _, g_cfm = fl.rf_loss_and_grad(W, phi, fl.cfm_target(x0, x1))
        _, g_fm = fl.rf_loss_and_grad(W, phi, u)
        assert np.linalg.norm(g_cfm - g_fm) < 0.02 * np.linalg.norm(g_fm)


# -- The 2-D toy of the post -----------------------------------------------------


def mode_stats(x):
    """Fraction of samples nearest to each mean, their means and per-axis stds."""
    k = np.argmin(((x[:, None, :] - MEANS[None]) ** 2).sum(-1), axis=1)
    frac = np.array([(k == j).mean() for j in range(len(MEANS))])
    means = np.array([x[k == j].mean(0) for j in range(len(MEANS))])
    stds = np.array([x[k == j].std(0) for j in range(len(MEANS))])
    return frac, means, stds


@pytest.fixture(scope="module")
def toy():
    """The model of the post: 20 000 data points, 400 features, seed 0."""
    rng = np.random.default_rng(0)
    x1, _ = fl.gmm_sample(20_000, MEANS, STDS, WEIGHTS, rng)
    W, omega, phase = fl.train_rf_flow_matching(x1, rng)
    learned = lambda x, t: fl.rf_velocity(x, t, W, omega, phase)  # noqa: E731
    exact = lambda x, t: fl.gmm_straight_velocity(x, t, MEANS, STDS, WEIGHTS)  # noqa: E731
    z = np.random.default_rng(1).standard_normal((4000, 2))
    return learned, exact, z


def test_toy_learned_samples_match_mixture(toy):
    learned, _, z = toy
    frac, means, stds = mode_stats(fl.euler_sample(learned, z, 20))
    assert np.allclose(frac, WEIGHTS, atol=0.03)                      # stated tolerance
    assert np.abs(means - MEANS).max() < 0.15
    assert np.all((stds > 0.3) & (stds < 0.5))
    # the numbers quoted in the post, to half a unit in the last printed digit
    assert frac == pytest.approx([0.485, 0.322, 0.193], abs=HALF_E3)
    assert np.abs(means - MEANS).max() <= 0.07                        # "不超过 0.07"
    # a cluster's std is the mean of its two per-axis stds
    assert stds.mean(axis=1).min() == pytest.approx(0.39, abs=5e-3)
    assert stds.mean(axis=1).max() == pytest.approx(0.43, abs=5e-3)


def test_toy_exact_velocity_and_step_counts(toy):
    learned, exact, z = toy
    one = fl.euler_sample(exact, z, 1)                 # x0 + (E[x1] - x0): everything at the data mean
    assert np.allclose(one, WEIGHTS @ MEANS, atol=1e-12)
    assert np.allclose(WEIGHTS @ MEANS, [-0.22, 0.625])
    frac5, _, _ = mode_stats(fl.euler_sample(exact, z, 5))
    # the table of the post, to half a unit in the third decimal; 0.1865 (exact, 5 steps) and
    # 0.1855 (learned, 5 steps) are 746 and 742 of the 4000 points, on the rounding boundary
    frac5, _, _ = mode_stats(fl.euler_sample(exact, z, 5))
    assert frac5 == pytest.approx([0.520, 0.294, 0.186], abs=HALF_E3)
    frac20, means20, stds20 = mode_stats(fl.euler_sample(exact, z, 20))
    assert frac20 == pytest.approx([0.499, 0.302, 0.199], abs=HALF_E3)
    assert np.all(np.abs(stds20 - 0.35) < 0.03)
    frac5_learned, _, _ = mode_stats(fl.euler_sample(learned, z, 5))
    assert frac5_learned == pytest.approx([0.496, 0.319, 0.186], abs=HALF_E3)
    frac20_learned, _, _ = mode_stats(fl.euler_sample(learned, z, 20))
    assert frac20_learned == pytest.approx([0.485, 0.322, 0.193], abs=HALF_E3)


def test_toy_losses_differ_by_a_constant(toy):
    """Held-out CFM loss: exact velocity 4.16 (the constant C), learned 4.24; learned FM loss 0.08."""
    learned, exact, _ = toy
    rng = np.random.default_rng(5)
    n = 200_000
    x1, _ = fl.gmm_sample(n, MEANS, STDS, WEIGHTS, rng)
    x0, t = rng.standard_normal((n, 2)), rng.uniform(size=n)
    xt = fl.straight_path(x0, x1, t)
    u = fl.gmm_straight_velocity(xt, t, MEANS, STDS, WEIGHTS)
    v = np.concatenate([learned(xt[i:i + 50_000], t[i:i + 50_000]) for i in range(0, n, 50_000)])
    floor, cfm = fl.cfm_loss(u, x0, x1), fl.cfm_loss(v, x0, x1)
    fm = float(np.mean(np.sum((v - u) ** 2, axis=1)))
    assert floor == pytest.approx(4.16, abs=5e-3)
    assert cfm == pytest.approx(4.24, abs=5e-3)
    assert fm == pytest.approx(0.08, abs=5e-3)
    assert cfm - floor == pytest.approx(fm, abs=0.01)


def test_toy_trains_fast(toy):
    """The model fits in closed form: training and 20 Euler steps take seconds, not minutes."""
    import time

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    x1, _ = fl.gmm_sample(20_000, MEANS, STDS, WEIGHTS, rng)
    W, omega, phase = fl.train_rf_flow_matching(x1, rng)
    fl.euler_sample(lambda x, t: fl.rf_velocity(x, t, W, omega, phase), toy[2], 20)
    assert time.perf_counter() - start < 20
