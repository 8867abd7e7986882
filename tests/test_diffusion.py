"""mlnotes.diffusion against closed forms, naive versions and the claims in the posts."""

import numpy as np
import pytest

from mlnotes import diffusion as d

AB = d.alpha_bars(d.linear_beta_schedule(1000))
MIX = dict(means=np.array([-2.0, 1.5]), stds=np.array([0.3, 0.5]), weights=np.array([0.3, 0.7]))


def gmm_eps(x, ab):
    return d.gmm_eps(x, ab, **MIX)


def test_closed_form_matches_the_chain():
    """Iterating q(x_t|x_{t-1}) gives mean sqrt(abar_t) x0 and variance 1 - abar_t."""
    betas = d.linear_beta_schedule(1000)
    mean, var = 1.0, 0.0                       # x0 = 1, exactly
    for t, beta in enumerate(betas, start=1):
        mean, var = np.sqrt(1 - beta) * mean, (1 - beta) * var + beta
        if t in (1, 10, 500, 1000):
            assert mean == pytest.approx(np.sqrt(AB[t - 1]), rel=1e-12)
            assert var == pytest.approx(1 - AB[t - 1], rel=1e-12)


def test_q_sample_statistics():
    rng = np.random.default_rng(0)
    x0 = np.full(200_000, 2.0)
    xt = d.q_sample(x0, AB[299], rng.standard_normal(x0.shape))
    assert xt.mean() == pytest.approx(2 * np.sqrt(AB[299]), abs=0.01)
    assert xt.var() == pytest.approx(1 - AB[299], abs=0.01)


def test_predict_x0_inverts_q_sample():
    rng = np.random.default_rng(1)
    x0, eps = rng.standard_normal(50), rng.standard_normal(50)
    assert np.allclose(d.predict_x0(d.q_sample(x0, 0.3, eps), eps, 0.3), x0)


def naive_posterior(ab_t, ab_prev):
    """Posterior q(x_{t-1}|x_t, x0) by multiplying the two Gaussians numerically."""
    alpha = ab_t / ab_prev
    beta = 1 - alpha
    precision = alpha / beta + 1 / (1 - ab_prev)
    # mean = (sqrt(alpha)/beta * x_t + sqrt(ab_prev)/(1-ab_prev) * x0) / precision
    return 1 / precision, np.sqrt(alpha) / beta / precision, np.sqrt(ab_prev) / (1 - ab_prev) / precision


@pytest.mark.parametrize("t", [2, 10, 300, 1000])
def test_posterior_variance_and_eps_mean(t):
    ab_t, ab_prev = AB[t - 1], AB[t - 2]
    var, cx, c0 = naive_posterior(ab_t, ab_prev)
    assert d.ddpm_posterior_variance(ab_t, ab_prev) == pytest.approx(var, rel=1e-10)
    # the eps-parameterised mean of ddpm_step equals the posterior mean with x0 = predict_x0
    rng = np.random.default_rng(t)
    x_t, eps = rng.standard_normal(20), rng.standard_normal(20)
    x0 = d.predict_x0(x_t, eps, ab_t)
    mean = d.ddpm_step(x_t, eps, ab_t, ab_prev, np.zeros(20))
    assert np.allclose(mean, cx * x_t + c0 * x0)


@pytest.mark.parametrize("t", [2, 50, 999])
def test_eta_one_is_ddpm(t):
    """DDIM with eta = 1 on consecutive steps is DDPM's ancestral step, noise for noise."""
    ab_t, ab_prev = AB[t - 1], AB[t - 2]
    rng = np.random.default_rng(t)
    x_t, eps, z = (rng.standard_normal(100) for _ in range(3))
    assert np.allclose(d.ddim_step(x_t, eps, ab_t, ab_prev, eta=1.0, noise=z),
                       d.ddpm_step(x_t, eps, ab_t, ab_prev, z))


def test_eta_zero_is_deterministic():
    rng = np.random.default_rng(3)
    x_t, eps = rng.standard_normal(10), rng.standard_normal(10)
    a = d.ddim_step(x_t, eps, AB[499], AB[399], eta=0.0)
    b = d.ddim_step(x_t, eps, AB[499], AB[399], eta=0.0, noise=rng.standard_normal(10))
    assert np.array_equal(a, b)
    x_T = rng.standard_normal(10)
    taus = d.ddim_timesteps(1000, 20)
    assert np.array_equal(d.sample(x_T, AB, taus, gmm_eps), d.sample(x_T, AB, taus, gmm_eps))


def test_ddim_step_preserves_marginals():
    """With the true x0 and eps, one step maps q(x_t|x0) onto q(x_{t-1}|x0) (any sigma)."""
    rng = np.random.default_rng(4)
    n = 400_000
    x0, eps, z = 1.5, rng.standard_normal(n), rng.standard_normal(n)
    x_t = d.q_sample(x0, AB[599], eps)
    for eta in (0.0, 0.5, 1.0):
        x_prev = d.ddim_step(x_t, eps, AB[599], AB[199], eta=eta, noise=z)
        assert x_prev.mean() == pytest.approx(np.sqrt(AB[199]) * x0, abs=0.01)
        assert x_prev.var() == pytest.approx(1 - AB[199], abs=0.01)


def test_timesteps():
    taus = d.ddim_timesteps(1000, 50)
    assert taus[-1] == 1000 and len(taus) == 50 and np.all(np.diff(taus) > 0)
    assert np.array_equal(d.ddim_timesteps(1000, 1000), np.arange(1, 1001))
    with pytest.raises(ValueError):
        d.ddim_timesteps(10, 11)


def test_gmm_eps_is_minus_scaled_score():
    """Compare with a finite-difference score of the mixture density of x_t."""
    ab = AB[199]
    x = np.linspace(-4, 4, 41)
    m, s, w = MIX["means"], MIX["stds"], MIX["weights"]

    def log_q(x):
        v = ab * s**2 + 1 - ab
        comps = w * np.exp(-0.5 * (x[:, None] - np.sqrt(ab) * m) ** 2 / v) / np.sqrt(2 * np.pi * v)
        return np.log(comps.sum(axis=1))

    h = 1e-5
    score = (log_q(x + h) - log_q(x - h)) / (2 * h)
    assert np.allclose(gmm_eps(x, ab), -np.sqrt(1 - ab) * score, atol=1e-6)


def test_ddim_few_steps_recovers_mixture():
    """The numbers quoted in posts/ddim.md (5000 samples, seed 0), to the printed two decimals."""
    x_T = np.random.default_rng(0).standard_normal(5000)
    x20 = d.sample(x_T, AB, d.ddim_timesteps(1000, 20), gmm_eps)
    assert (x20 < 0).mean() == pytest.approx(0.30, abs=0.005)
    assert x20[x20 > 0].std() == pytest.approx(0.47, abs=0.005)
    x1 = d.sample(x_T, AB, d.ddim_timesteps(1000, 1), gmm_eps)
    assert x1.mean() == pytest.approx(0.45, abs=0.005) and x1.std() < 0.05   # collapsed
    x2 = d.sample(x_T, AB, d.ddim_timesteps(1000, 2), gmm_eps)
    assert (x2 < 0).mean() == pytest.approx(0.24, abs=0.005)
    assert x2[x2 > 0].std() == pytest.approx(0.41, abs=0.005)               # 0.4149
    ddpm = d.sample(x_T, AB, np.arange(1, 1001), gmm_eps, eta=1.0, rng=np.random.default_rng(1))
    assert (ddpm < 0).mean() == pytest.approx(0.3, abs=0.03)


def test_stochastic_sampling_needs_randomness():
    with pytest.raises(ValueError):
        d.sample(np.zeros(3), AB, d.ddim_timesteps(1000, 5), gmm_eps, eta=1.0)
    with pytest.raises(ValueError):
        d.ddim_step(np.zeros(3), np.zeros(3), AB[9], AB[4], eta=1.0)


def test_concept_page_noise_level_at_t_1000():
    """concepts/ddpm.md prints alpha_bar_1000 ≈ 4e-5 and sqrt(alpha_bar_1000) ≈ 0.0064 (linear schedule)."""
    assert AB[-1] == pytest.approx(4e-5, abs=0.5e-5)
    assert np.sqrt(AB[-1]) == pytest.approx(0.0064, abs=5e-5)


def test_concept_page_signal_and_noise_weights_cross_near_t_260():
    """The figure's alt text: sqrt(abar_t) and sqrt(1 - abar_t) are equal at t ≈ 260
    (abar_t = 1/2 between t = 259 and 260; the noise weight is larger from t = 260 on)."""
    t = np.arange(1, 1001)
    first_noisier = t[np.argmax(np.sqrt(1 - AB) > np.sqrt(AB))]
    assert first_noisier == 260
    assert AB[258] > 0.5 > AB[259]                              # abar_259 > 1/2 > abar_260


def test_ddim_step_worked_example():
    """posts/ddim.md, by hand: abar_t = 0.5, abar_{t-1} = 0.9, sigma = 0, x_t = 0.3, eps = 0.5."""
    x0_hat = d.predict_x0(0.3, 0.5, 0.5)
    assert x0_hat == pytest.approx(-0.0757, abs=5e-5)
    assert np.sqrt(0.9) * x0_hat == pytest.approx(-0.0718, abs=5e-5)
    assert np.sqrt(1 - 0.9) * 0.5 == pytest.approx(0.1581, abs=5e-5)
    x_prev = d.ddim_step(np.array([0.3]), np.array([0.5]), 0.5, 0.9)[0]
    assert x_prev == pytest.approx(np.sqrt(0.9) * x0_hat + np.sqrt(0.1) * 0.5)
    assert x_prev == pytest.approx(0.0863, abs=5e-5)


# -- DDIM inversion (posts/ddim.md) ----------------------------------------------------------

def mixture_samples(n, seed=0):
    rng = np.random.default_rng(seed)
    k = rng.random(n) < 0.3
    return np.where(k, rng.normal(-2.0, 0.3, n), rng.normal(1.5, 0.5, n))


def test_ddim_invert_is_exact_when_eps_is_constant():
    """dx̄/dλ = ε with ε constant along the path: Euler is exact, so encode-decode is the identity."""
    x0 = np.linspace(-2, 2, 9)
    c = np.full_like(x0, 0.3)

    def const(x, ab):
        return c

    taus = d.ddim_timesteps(1000, 7)
    x_T, path = d.ddim_invert(x0, AB, taus, const, return_path=True)
    assert path.shape == (8, 9) and np.array_equal(path[0], x0) and np.array_equal(path[-1], x_T)
    # closed form of the ODE: x̄_T = x0 + λ_T c
    lam = np.sqrt((1 - AB[-1]) / AB[-1])
    assert np.allclose(x_T / np.sqrt(AB[-1]), x0 + lam * c, rtol=1e-12)
    assert np.allclose(d.sample(x_T, AB, taus, const), x0, atol=1e-10)


def test_ddim_inversion_round_trip_is_second_order_per_step():
    """One step up (inversion) then one step down (ddim_step): error O(Δ²), quartered when Δ halves."""
    x = np.linspace(-3, 3, 61)
    errs = []
    for h in (100, 50, 25, 12):
        a1, a2 = AB[499], AB[499 + h]
        e = gmm_eps(x, a1)                      # the inversion step of ddim_invert, from a1 to a2
        up = np.sqrt(a2) * d.predict_x0(x, e, a1) + np.sqrt(1 - a2) * e
        down = d.ddim_step(up, gmm_eps(up, a2), a2, a1)
        errs.append(np.abs(down - x).max())
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios      # "about a quarter" each time


def test_ddim_inversion_numbers_in_post():
    """posts/ddim.md: 5000 data samples (seed 0), S steps to encode and S to decode."""
    x0 = mixture_samples(5000)
    med = {}
    for S in (10, 20, 50, 100, 1000):
        taus = d.ddim_timesteps(1000, S)
        x_T = d.ddim_invert(x0, AB, taus, gmm_eps)
        med[S] = np.median(np.abs(d.sample(x_T, AB, taus, gmm_eps) - x0))
        if S == 1000:
            assert x_T.mean() == pytest.approx(0.006, abs=0.0005)
            assert x_T.std() == pytest.approx(0.99, abs=0.005)
    assert med[10] == pytest.approx(0.18, abs=0.005) and med[20] == pytest.approx(0.090, abs=0.0005)
    assert med[50] == pytest.approx(0.037, abs=0.0005) and med[100] == pytest.approx(0.019, abs=0.0005)
    assert med[1000] == pytest.approx(0.0019, abs=0.00005)
    for a, b in ((10, 20), (50, 100), (100, 1000)):          # first order: error ∝ 1/S
        assert med[a] / med[b] == pytest.approx(b / a, rel=0.15)
    pts = np.array([-2.0, 1.5, 0.0])
    quoted = {10: (0.185, -0.089, 0.64), 100: (0.021, -0.011, 0.23), 1000: (0.0021, -0.0011, 0.047)}
    for S, want in quoted.items():
        taus = d.ddim_timesteps(1000, S)
        err = d.sample(d.ddim_invert(pts, AB, taus, gmm_eps), AB, taus, gmm_eps) - pts
        assert err[:2] == pytest.approx(want[:2], abs=0.0005 if S < 1000 else 0.00005)
        assert err[2] == pytest.approx(want[2], abs=0.005 if S < 1000 else 0.0005)


def test_ddim_inversion_is_the_probability_flow_encoder():
    """S-step inversion vs an accurate (1000-step Heun) solve of the PF ODE up to t* with ᾱ(t*) = ᾱ_1000."""
    from functools import partial

    from mlnotes import sde as S
    x0 = mixture_samples(5000)
    a, b, L = 0.5 * 19.9, 0.1, -np.log(AB[-1])
    t_star = (-b + np.sqrt(b * b + 4 * a * L)) / (2 * a)
    z = S.probability_flow_ode(x0, S.vp_sde, partial(S.vp_gmm_score, **MIX), 0.0, t_star, 1000)
    for steps, want, half in ((100, 0.011, 5e-4), (1000, 0.0011, 5e-5)):   # to the printed digits
        x_T = d.ddim_invert(x0, AB, d.ddim_timesteps(1000, steps), gmm_eps)
        assert np.median(np.abs(x_T - z)) == pytest.approx(want, abs=half)


def test_ddim_sample_consistency():
    """Same x_T, different numbers of steps (the DDIM paper's §5.2) on the 1-D example."""
    x_T = np.random.default_rng(0).standard_normal(5000)
    ref = d.sample(x_T, AB, d.ddim_timesteps(1000, 1000), gmm_eps)
    for steps, same, med in ((10, 0.980, 0.086), (20, 0.991, 0.045)):
        x = d.sample(x_T, AB, d.ddim_timesteps(1000, steps), gmm_eps)
        assert np.mean(np.sign(x) == np.sign(ref)) == pytest.approx(same, abs=0.0005)
        assert np.median(np.abs(x - ref)) == pytest.approx(med, abs=0.0005)
