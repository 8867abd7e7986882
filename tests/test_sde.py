"""mlnotes.sde against closed forms, Monte Carlo, naive versions and the claims in posts/diffusion-sde.md."""

from functools import partial

import numpy as np
import pytest

from mlnotes import diffusion as d
from mlnotes import sde as S

MIX = dict(means=np.array([-2.0, 1.5]), stds=np.array([0.3, 0.5]), weights=np.array([0.3, 0.7]))
SCORE = partial(S.vp_gmm_score, **MIX)
MIX_MEAN = 0.3 * -2.0 + 0.7 * 1.5            # 0.45
AB = d.alpha_bars(d.linear_beta_schedule(1000))


# -- coefficients and kernels ------------------------------------------------------

def test_vp_and_ve_coefficients_against_formulas():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(7)
    for t in (0.0, 0.3, 1.0):
        beta = 0.1 + t * 19.9
        f, g = S.vp_sde(x, t)
        assert np.allclose(f, -0.5 * beta * x) and g == pytest.approx(np.sqrt(beta))
        # VE: g^2 = d sigma^2 / dt, by a central finite difference
        f, g = S.ve_sde(x, t)
        h = 1e-6
        dvar = (S.ve_sigma(t + h) ** 2 - S.ve_sigma(t - h) ** 2) / (2 * h)
        assert np.all(f == 0) and g**2 == pytest.approx(dvar, rel=1e-6)


def naive_kernel_odes(sde, t_end, n=200_000):
    """Euler on the moment ODEs of a linear drift f(x, t) = a(t) x: dm/dt = a m, dv/dt = 2 a v + g^2."""
    m, v = 1.0, 0.0                                      # x0 = 1 exactly
    dt = t_end / n
    for t in np.arange(n) * dt:
        a = sde(np.array(1.0), t)[0]                     # f(1, t) = a(t)
        g = sde(np.array(1.0), t)[1]
        m, v = m + a * m * dt, v + (2 * a * v + g**2) * dt
    return m, np.sqrt(v)


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0])
def test_kernels_solve_their_moment_odes(t):
    m, s = naive_kernel_odes(S.vp_sde, t, n=20_000)
    scale, std = S.vp_kernel(t)
    assert scale == pytest.approx(m, rel=1e-3) and std == pytest.approx(s, rel=1e-3)
    m, s = naive_kernel_odes(S.ve_sde, t, n=20_000)
    scale, std = S.ve_kernel(t)
    assert scale == m == 1.0 and std == pytest.approx(s, rel=2e-3)


def test_vp_kernel_worked_example():
    """Numbers quoted in the post: t = 0.5, x0 = 2."""
    integral = 0.1 * 0.5 + 0.5 * 19.9 * 0.25
    assert integral == pytest.approx(2.5375)
    assert S.vp_alpha_bar(0.5) == pytest.approx(0.0791, abs=5e-5)
    scale, std = S.vp_kernel(0.5)
    assert (scale, std, 2 * scale) == pytest.approx((0.2812, 0.9597, 0.5624), abs=5e-5)


@pytest.mark.parametrize("name, t", [("vp", 0.5), ("vp", 1.0), ("ve", 0.5), ("ve", 1.0)])
def test_kernel_matches_monte_carlo_of_the_forward_sde(name, t):
    """Euler–Maruyama on the forward SDE from x0 = 2: mean and std within 4 standard errors, as printed."""
    sde, kernel = (S.vp_sde, S.vp_kernel) if name == "vp" else (S.ve_sde, S.ve_kernel)
    n = 50_000
    x = S.euler_maruyama(np.full(n, 2.0), sde, 0.0, t, 1000, np.random.default_rng(0))
    scale, std = kernel(t)
    se = std / np.sqrt(n)
    assert x.mean() == pytest.approx(2.0 * scale, abs=4 * se)
    assert x.std() == pytest.approx(std, abs=4 * se / np.sqrt(2))      # standard error of a std


# -- VP and VE as limits of DDPM and NCSN ------------------------------------------------

def test_vp_discretisation_reproduces_ddpm_alpha_bar():
    """beta_i = beta(t)/N with N = 1000 is DDPM's linear schedule; alpha-bars agree within 1e-3."""
    N = 1000
    betas = np.array([S.vp_beta((i - 1) / (N - 1)) / N for i in range(1, N + 1)])
    assert np.allclose(betas, d.linear_beta_schedule(N), rtol=0, atol=1e-15)
    cont = np.array([S.vp_alpha_bar(i / N) for i in range(1, N + 1)])
    assert np.abs(AB - cont).max() < 1e-3
    assert np.abs(AB - cont).max() == pytest.approx(8.1e-4, abs=0.05e-4)
    assert AB[-1] == pytest.approx(4.04e-5, abs=0.005e-5)
    assert cont[-1] == pytest.approx(4.32e-5, abs=0.005e-5)


def test_ve_discretisation_is_ncsn_chain():
    """x_i = x_{i-1} + sqrt(sigma_i^2 - sigma_{i-1}^2) z telescopes to the VE kernel variance."""
    ts = np.linspace(0, 1, 11)
    sig = np.array([S.ve_sigma(t) for t in ts])
    var = np.cumsum(np.r_[0.0, np.diff(sig**2)])
    for t, v in zip(ts, var, strict=True):
        assert S.ve_kernel(t)[1] ** 2 == pytest.approx(v, rel=1e-9, abs=1e-12)


# -- the exact mixture score ------------------------------------------------------------------

@pytest.mark.parametrize("t", [0.0, 0.2, 0.6, 1.0])
def test_gmm_score_is_gradient_of_log_pdf(t):
    x = np.linspace(-4, 4, 41)
    scale, std = S.vp_kernel(t)
    h = 1e-5
    fd = (np.log(S.gmm_marginal_pdf(x + h, scale, std, **MIX))
          - np.log(S.gmm_marginal_pdf(x - h, scale, std, **MIX))) / (2 * h)
    assert np.allclose(S.vp_gmm_score(x, t, **MIX), fd, atol=1e-5)


def test_pdf_integrates_to_one_and_matches_histogram():
    x = np.linspace(-10, 10, 20_001)
    scale, std = S.vp_kernel(0.3)
    p = S.gmm_marginal_pdf(x, scale, std, **MIX)
    assert p.sum() * (x[1] - x[0]) == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(1)
    k = rng.random(200_000) < 0.3
    x0 = np.where(k, rng.normal(-2.0, 0.3, k.size), rng.normal(1.5, 0.5, k.size))
    xt = scale * x0 + std * rng.standard_normal(k.size)
    assert (xt < 0).mean() == pytest.approx(np.sum(p[x < 0]) * (x[1] - x[0]), abs=0.005)


@pytest.mark.parametrize("t", [0.05, 0.3, 0.9])
def test_score_is_minus_eps_over_sigma(t):
    """s(x_t, t) = -eps*(x_t) / sqrt(1 - abar): the link to DDPM's eps-prediction."""
    x = np.linspace(-3, 3, 31)
    ab = S.vp_alpha_bar(t)
    eps = d.gmm_eps(x, ab, **MIX)
    assert np.allclose(S.vp_gmm_score(x, t, **MIX), -eps / np.sqrt(1 - ab), atol=1e-10)


def test_denoising_score_matching_target():
    """Worked example of the post: the conditional score of the kernel is -eps / sigma."""
    scale, std = S.vp_kernel(0.5)
    x0, eps = 2.0, 0.5
    xt = scale * x0 + std * eps
    assert xt == pytest.approx(1.0422, abs=5e-5)
    cond_score = -(xt - scale * x0) / std**2
    assert cond_score == pytest.approx(-eps / std) and cond_score == pytest.approx(-0.5210, abs=5e-5)


def test_conditional_score_averages_to_marginal_score():
    """E[grad log p_0t(x_t|x_0) | x_t] = grad log p_t(x_t): the regression target is unbiased."""
    scale, std = S.vp_kernel(0.4)
    rng = np.random.default_rng(2)
    n = 2_000_000
    k = rng.random(n) < 0.3
    x0 = np.where(k, rng.normal(-2.0, 0.3, n), rng.normal(1.5, 0.5, n))
    eps = rng.standard_normal(n)
    xt = scale * x0 + std * eps
    bins = np.linspace(-2.5, 2.5, 11)
    idx = np.digitize(xt, bins)
    for b in range(1, len(bins)):
        sel = idx == b
        mid = 0.5 * (bins[b - 1] + bins[b])
        avg_target = (-eps[sel] / std).mean()
        # bin average of the true score (bins are narrow; use many points inside the bin)
        grid = np.linspace(bins[b - 1], bins[b], 201)
        w = S.gmm_marginal_pdf(grid, scale, std, **MIX)
        true = np.sum(w * S.gmm_marginal_score(grid, scale, std, **MIX)) / w.sum()
        assert avg_target == pytest.approx(true, abs=0.03), mid


# -- reverse SDE and probability-flow ODE --------------------------------------------------------

def test_reverse_sde_and_pf_ode_on_stationary_gaussian():
    """beta = 1 and p_t = N(0, 1) for all t: the PF ODE does not move, the reverse SDE keeps N(0, 1)."""
    sde = partial(S.vp_sde, beta_min=1.0, beta_max=1.0)

    def score(x, t):
        return -x

    x = np.random.default_rng(3).standard_normal(100_000)
    assert np.allclose(S.probability_flow_ode(x, sde, score, 1.0, 0.0, 10), x)
    y = S.reverse_sde_sample(x, sde, score, 100, np.random.default_rng(4))
    assert y.mean() == pytest.approx(0.0, abs=0.02) and y.std() == pytest.approx(1.0, abs=0.02)


def test_reverse_sde_recovers_the_mixture():
    """Numbers quoted in the post: 20000 samples, 500 Euler–Maruyama steps, seeds 0 and 1."""
    x_T = np.random.default_rng(0).standard_normal(20_000)
    x = S.reverse_sde_sample(x_T, S.vp_sde, SCORE, 500, np.random.default_rng(1))
    assert x.mean() == pytest.approx(MIX_MEAN, abs=0.05)
    assert (x < 0).mean() == pytest.approx(0.3, abs=0.01)
    assert x[x > 0].std() == pytest.approx(0.5, abs=0.02)
    assert (x < 0).mean() == pytest.approx(0.295, abs=0.0005)
    assert x.mean() == pytest.approx(0.47, abs=0.005)


@pytest.mark.parametrize("steps, method", [(20, "heun"), (100, "heun"), (100, "euler")])
def test_probability_flow_recovers_the_mixture(steps, method):
    x_T = np.random.default_rng(0).standard_normal(20_000)
    x = S.probability_flow_ode(x_T, S.vp_sde, SCORE, 1.0, 0.0, steps, method=method)
    assert x.mean() == pytest.approx(MIX_MEAN, abs=0.05)
    assert (x < 0).mean() == pytest.approx(0.3, abs=0.01)
    assert x[x > 0].std() == pytest.approx(0.5, abs=0.02)
    if method == "heun":                                  # quoted in the post
        assert (x < 0).mean() == pytest.approx(0.302, abs=0.0005)
        assert x.mean() == pytest.approx(0.447, abs=0.0005)


def test_probability_flow_is_deterministic_and_invertible():
    x0 = np.linspace(-3, 3, 1000)
    z = S.probability_flow_ode(x0, S.vp_sde, SCORE, 0.0, 1.0, 200)
    assert np.array_equal(z, S.probability_flow_ode(x0, S.vp_sde, SCORE, 0.0, 1.0, 200))
    assert np.all(np.diff(z) > 0)                         # a 1-D flow keeps the order
    back = S.probability_flow_ode(z, S.vp_sde, SCORE, 1.0, 0.0, 200)
    assert np.abs(back - x0).max() < 0.01                  # quoted: 200 Heun steps each way
    z = S.probability_flow_ode(x0, S.vp_sde, SCORE, 0.0, 1.0, 500)
    back = S.probability_flow_ode(z, S.vp_sde, SCORE, 1.0, 0.0, 500)
    assert np.abs(back - x0).max() < 1e-3                  # 500 steps


def test_probability_flow_encodes_data_as_standard_normal():
    rng = np.random.default_rng(3)
    k = rng.random(20_000) < 0.3
    x0 = np.where(k, rng.normal(-2.0, 0.3, k.size), rng.normal(1.5, 0.5, k.size))
    z = S.probability_flow_ode(x0, S.vp_sde, SCORE, 0.0, 1.0, 200)
    assert z.mean() == pytest.approx(0.0, abs=0.03) and z.std() == pytest.approx(1.0, abs=0.02)


def test_probability_flow_rejects_unknown_method():
    with pytest.raises(ValueError):
        S.probability_flow_ode(np.zeros(3), S.vp_sde, SCORE, 1.0, 0.0, 5, method="rk4")


# -- DDPM and DDIM as discretisations ------------------------------------------------------------

@pytest.mark.parametrize("t", [0.3, 0.7])
def test_ddpm_step_is_reverse_sde_step_to_first_order(t):
    """The mean of DDPM's ancestral step and the reverse Euler–Maruyama step differ by O(h^2)."""
    x = 2 * np.random.default_rng(7).standard_normal(50)
    errs = []
    for h in (0.01, 0.005, 0.0025):
        ab_t, ab_prev = S.vp_alpha_bar(t), S.vp_alpha_bar(t - h)
        s = SCORE(x, t)
        eps = -np.sqrt(1 - ab_t) * s
        ddpm = d.ddpm_step(x, eps, ab_t, ab_prev, np.zeros_like(x))
        beta = S.vp_beta(t)
        em = x + (0.5 * beta * x + beta * s) * h           # x - [f - g^2 s] h, no noise
        errs.append(np.abs(ddpm - em).max())
    assert errs[0] / errs[1] == pytest.approx(4.0, abs=0.15)
    assert errs[1] / errs[2] == pytest.approx(4.0, abs=0.15)


def test_ddim_is_a_discretisation_of_the_probability_flow():
    """1000-step DDIM (eta = 0) and an accurate PF ODE solve from the same x_T end at the same x_0."""
    eps = partial(d.gmm_eps, **MIX)
    x_T = np.random.default_rng(5).standard_normal(2000)
    x_ddim = d.sample(x_T, AB, np.arange(1, 1001), eps)
    # start the ODE at the continuous time t* whose alpha-bar equals DDPM's alpha-bar_1000
    a, b, L = 0.5 * 19.9, 0.1, -np.log(AB[-1])
    t_star = (-b + np.sqrt(b * b + 4 * a * L)) / (2 * a)
    assert S.vp_alpha_bar(t_star) == pytest.approx(AB[-1], rel=1e-10)
    assert t_star == pytest.approx(1.003, abs=0.0005)
    x_ode = S.probability_flow_ode(x_T, S.vp_sde, SCORE, t_star, 0.0, 1000)
    diff = np.abs(x_ddim - x_ode)
    assert np.median(diff) < 0.002                        # quoted: about 0.001
    assert np.quantile(diff, 0.99) < 0.01
    assert np.median(diff) == pytest.approx(0.001, abs=0.0002)
    far = diff > 0.05                                     # two starts sit on the watershed
    assert far.sum() == 2
    assert np.sort(diff[far]) == pytest.approx([0.66, 0.67], abs=0.005)   # 0.663 and 0.674
    assert np.allclose(x_T[far], -0.522, atol=0.0005)


# -- claims of concepts/score.md ---------------------------------------------------------------------

def test_gaussian_score_worked_example():
    s = S.gmm_marginal_score(np.array([2.0]), 1.0, 0.0, np.array([1.0]), np.array([0.5]), np.array([1.0]))
    assert s[0] == pytest.approx(-4.0)


def test_tweedie_posterior_mean():
    """E[x0 | x] = (x + sigma^2 score) / m, against the exact mixture posterior mean."""
    scale, std = S.vp_kernel(0.35)
    x = np.linspace(-3, 3, 25)
    mu, s, w = MIX["means"], MIX["stds"], MIX["weights"]
    v = scale**2 * s**2 + std**2                                              # (K,)
    log_r = np.log(w) - 0.5 * np.log(v) - 0.5 * (x[:, None] - scale * mu) ** 2 / v
    r = np.exp(log_r - log_r.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)                                         # (N, K)
    post_mean = mu + scale * s**2 / v * (x[:, None] - scale * mu)             # (N, K)
    exact = np.sum(r * post_mean, axis=1)
    tweedie = (x + std**2 * S.gmm_marginal_score(x, scale, std, **MIX)) / scale
    assert np.allclose(tweedie, exact, atol=1e-10)


# -- Langevin dynamics (concepts/score.md) -------------------------------------------------------------

def test_langevin_gaussian_stationary_variance():
    """For N(μ, s²) the chain is AR(1) with a = 1 - ε/(2s²): stationary variance s²/(1 - ε/(4s²))."""
    for s2, eps in ((1.0, 0.1), (1.0, 0.5), (0.25, 0.1)):
        a = 1 - eps / (2 * s2)
        v = 0.0
        for _ in range(2000):                                  # variance recursion v <- a² v + ε
            v = a * a * v + eps
        assert v == pytest.approx(s2 / (1 - eps / (4 * s2)), rel=1e-12)
    quoted = [1 / (1 - 0.1 / 4), 1 / (1 - 0.5 / 4)]                   # s = 1, ε = 0.1 and 0.5
    assert quoted == pytest.approx([1.026, 1.143], abs=5e-4)
    a = 1 - 0.1 / 2                                                    # s = 1, ε = 0.1: a = 0.95
    assert a == pytest.approx(0.95)
    assert int(np.argmax(a ** np.arange(100) <= np.exp(-1))) == 20     # a^n reaches 1/e after 20 steps
    x = S.langevin_dynamics(np.full(200_000, 3.0), lambda x: -(x - 1.0) / 0.25, 0.1, 300,
                            np.random.default_rng(0))
    assert x.mean() == pytest.approx(1.0, abs=0.005)
    assert x.var() == pytest.approx(0.25 / (1 - 0.1), rel=0.01)


def test_langevin_continues_its_random_stream():
    x0 = np.random.default_rng(1).standard_normal(50)
    rng = np.random.default_rng(2)
    x = S.langevin_dynamics(S.langevin_dynamics(x0, lambda x: -x, 0.1, 30, rng), lambda x: -x, 0.1, 70, rng)
    y, path = S.langevin_dynamics(x0, lambda x: -x, 0.1, 100, np.random.default_rng(2), return_path=True)
    assert np.array_equal(x, y) and path.shape == (101, 50) and np.array_equal(path[-1], y)


def mixture_moments(t):
    scale, std = S.vp_kernel(t)
    m, v = scale * MIX["means"], scale**2 * MIX["stds"] ** 2 + std**2
    mean = np.sum(MIX["weights"] * m)
    left = np.sum(MIX["weights"] * norm_cdf(-m / np.sqrt(v)))
    return mean, np.sum(MIX["weights"] * (v + m**2)) - mean**2, left


def norm_cdf(z):
    from math import erf
    return np.array([0.5 * (1 + erf(zi / np.sqrt(2))) for zi in np.atleast_1d(z)])


def test_langevin_slow_mixing_between_the_modes():
    """concepts/score.md: 4000 chains from N(0, 1), ε = 0.01, seeds 1 and 2."""
    x0 = np.random.default_rng(1).standard_normal(4000)
    mean0, var0, left0 = mixture_moments(0.0)
    assert (mean0, var0, left0) == pytest.approx((0.45, 2.7745, 0.301), abs=5e-4)
    rng = np.random.default_rng(2)
    x = S.langevin_dynamics(x0, lambda x: SCORE(x, 0.0), 0.01, 1000, rng)
    assert (x < 0).mean() == pytest.approx(0.267, abs=5e-4)
    x = S.langevin_dynamics(x, lambda x: SCORE(x, 0.0), 0.01, 3000, rng)   # 4000 steps in all
    assert (x < 0).mean() == pytest.approx(0.267, abs=5e-4)               # stuck below 0.301
    assert x.mean() == pytest.approx(0.56, abs=0.005)
    # the noised p_t at t = 0.3: the modes overlap and the same chains mix
    mean, var, left = mixture_moments(0.3)
    assert (mean, var, left) == pytest.approx((0.28, 1.70, 0.374), abs=5e-3)
    x = S.langevin_dynamics(x0, lambda x: SCORE(x, 0.3), 0.01, 4000, np.random.default_rng(2))
    assert x.mean() == pytest.approx(0.27, abs=0.005) and x.var() == pytest.approx(1.69, abs=0.005)
    assert (x < 0).mean() == pytest.approx(0.3735, abs=5e-5) and left == pytest.approx(0.3737, abs=5e-5)
    assert abs(x.mean() - mean) < 3 * np.sqrt(var / x.size) and abs((x < 0).mean() - left) < 0.01


# -- predictor–corrector sampling (posts/diffusion-sde.md) ---------------------------------------------

def test_snr_step_size_sets_the_drift_to_noise_ratio():
    rng = np.random.default_rng(0)
    g, z = rng.standard_normal((64, 5)), rng.standard_normal((64, 5))
    eps = S.langevin_snr_step_size(g, z, 0.16)
    drift = np.linalg.norm(0.5 * eps * g, axis=1).mean()
    noise = np.linalg.norm(np.sqrt(eps) * z, axis=1).mean()
    assert drift / noise == pytest.approx(0.16, rel=1e-12)
    # Song et al.'s form x + ε' g + sqrt(2ε') z with ε' = 2 (r |z| / |g|)² is the same step with ε = 2ε'
    eps_song = 2 * (0.16 * np.linalg.norm(z, axis=1).mean() / np.linalg.norm(g, axis=1).mean()) ** 2
    assert eps == pytest.approx(2 * eps_song, rel=1e-12)


def test_pc_without_corrector_is_the_reverse_sde_sampler():
    x_T = np.random.default_rng(0).standard_normal(1000)
    a = S.pc_sample(x_T, S.vp_sde, SCORE, 50, np.random.default_rng(1), corrector_steps=0)
    b = S.reverse_sde_sample(x_T, S.vp_sde, SCORE, 50, np.random.default_rng(1))
    assert np.array_equal(a, b)


def mixture_cdf(x, t):
    scale, std = S.vp_kernel(t)
    v = scale**2 * MIX["stds"] ** 2 + std**2
    z = (np.asarray(x)[:, None] - scale * MIX["means"]) / np.sqrt(v)
    from scipy.special import ndtr
    return np.sum(MIX["weights"] * ndtr(z), axis=1)


def ks_distance(x, t):
    x = np.sort(x)
    n, F = x.size, mixture_cdf(x, t)
    return max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n))


def test_corrector_reduces_the_error_at_t_01():
    """posts/diffusion-sde.md: 100 000 samples from t = 1 to t = 0.1, KS distance to the exact p_0.1."""
    x_T = np.random.default_rng(0).standard_normal(100_000)
    ks = {}
    for n, m in ((10, 0), (10, 1), (20, 0), (20, 1), (40, 0)):
        x = S.pc_sample(x_T, S.vp_sde, SCORE, n, np.random.default_rng(1), snr=0.16,
                        corrector_steps=m, t_end=0.1)
        ks[n, m] = ks_distance(x, 0.1)
    assert ks[10, 0] == pytest.approx(0.060, abs=5e-4) and ks[10, 1] == pytest.approx(0.053, abs=5e-4)
    assert ks[20, 0] == pytest.approx(0.027, abs=5e-4) and ks[20, 1] == pytest.approx(0.018, abs=5e-4)
    assert ks[40, 0] == pytest.approx(0.012, abs=5e-4)
    assert ks[10, 1] < ks[10, 0] and ks[20, 1] < ks[20, 0]      # the corrector helps ...
    assert ks[20, 0] < ks[10, 1] and ks[40, 0] < ks[20, 1]      # ... doubling the predictor more


# -- exact likelihood through the probability-flow ODE (posts/diffusion-sde.md) --------------------------

DIV = partial(S.vp_gmm_pf_divergence, **MIX)


def log_p(x, t):
    scale, std = S.vp_kernel(t)
    return np.log(S.gmm_marginal_pdf(x, scale, std, **MIX))


def prior_exact(z):
    return log_p(z, 1.0)


def prior_normal(z):
    return -0.5 * z**2 - 0.5 * np.log(2 * np.pi)


@pytest.mark.parametrize("t", [0.0, 0.1, 0.5])
def test_score_grad_and_pf_divergence_against_finite_differences(t):
    x = np.linspace(-4, 4, 33)
    scale, std = S.vp_kernel(t)
    h = 1e-5
    fd = (S.gmm_marginal_score(x + h, scale, std, **MIX)
          - S.gmm_marginal_score(x - h, scale, std, **MIX)) / (2 * h)
    assert np.allclose(S.gmm_marginal_score_grad(x, scale, std, **MIX), fd, atol=1e-5)

    def drift(y):
        return S.probability_flow_drift(y, t, S.vp_sde, SCORE)

    assert np.allclose(DIV(x, t), (drift(x + h) - drift(x - h)) / (2 * h), atol=1e-4)


def test_pf_ode_likelihood_worked_example():
    """posts/diffusion-sde.md: x0 = 1.5, 1000 Heun steps."""
    lp, z, ell = S.pf_ode_log_likelihood(np.array([1.5]), S.vp_sde, SCORE, DIV, prior_exact, 1000)
    assert log_p(np.array([1.5]), 0.0)[0] == pytest.approx(np.log(0.7 / (0.5 * np.sqrt(2 * np.pi))))
    assert log_p(np.array([1.5]), 0.0)[0] == pytest.approx(-0.5825, abs=5e-5)
    assert z[0] == pytest.approx(0.3883, abs=5e-5) and ell[0] == pytest.approx(0.4107, abs=5e-5)
    assert prior_exact(z)[0] == pytest.approx(-0.9932, abs=5e-5)
    assert lp[0] == pytest.approx(-0.5825, abs=5e-5)
    assert prior_normal(z)[0] == pytest.approx(-0.9943, abs=5e-5)                # N(0, 1) instead
    assert prior_normal(z)[0] + ell[0] - log_p(np.array([1.5]), 0.0)[0] == pytest.approx(-0.0011, abs=5e-5)


def test_pf_ode_likelihood_converges_at_second_order():
    pts = np.array([-2.0, 1.5, 0.0])
    exact = log_p(pts, 0.0)
    err = {n: S.pf_ode_log_likelihood(pts, S.vp_sde, SCORE, DIV, prior_exact, n)[0] - exact
           for n in (10, 20, 50, 100, 200)}
    quoted_15 = {10: (-0.029, 5e-4), 20: (-0.0072, 5e-5), 50: (-0.0012, 5e-5), 100: (-0.00029, 5e-6),
                 200: (-0.000073, 5e-7)}
    for n, (want, tol) in quoted_15.items():                          # x0 = 1.5, at the printed digits
        assert err[n][1] == pytest.approx(want, abs=tol)
    assert err[10][0] == pytest.approx(-0.106, abs=5e-4) and err[100][0] == pytest.approx(-0.0011, abs=5e-5)
    assert err[10][2] == pytest.approx(1.99, abs=0.005) and err[20][2] == pytest.approx(0.53, abs=0.005)
    assert err[50][2] == pytest.approx(0.0033, abs=5e-5)
    for n in (50, 100):                                               # Heun: ×4 per doubling
        assert err[n][:2] / err[2 * n][:2] == pytest.approx([4, 4], rel=0.1)
    assert exact[2] == pytest.approx(-5.08, abs=0.005)
    lp, z, ell = S.pf_ode_log_likelihood(pts, S.vp_sde, SCORE, DIV, prior_exact, 1000)
    assert ell[2] == pytest.approx(-4.03, abs=0.005)
    # the N(0, 1) prior leaves an error that more steps do not remove (p_1 has mean 0.45 sqrt(ᾱ(1)))
    assert 0.45 * S.vp_kernel(1.0)[0] == pytest.approx(0.0030, abs=5e-5)
    lp_n, z, _ = S.pf_ode_log_likelihood(pts, S.vp_sde, SCORE, DIV, prior_normal, 1000)
    e_normal = lp_n - exact
    assert e_normal == pytest.approx([0.0030, -0.0011, 0.0015], abs=5e-5)
    assert e_normal == pytest.approx(-0.45 * S.vp_kernel(1.0)[0] * z, abs=1e-4)   # ≈ -μ₁ x(1)


def test_pf_ode_likelihood_is_the_one_dimensional_change_of_variables():
    """log Φ'(x0) of the flow map x0 -> x(1) equals the integrated divergence (eq-flow-cov-1d)."""
    pts, h = np.array([-2.0, 0.0, 1.5]), 1e-4
    zp = S.probability_flow_ode(pts + h, S.vp_sde, SCORE, 0.0, 1.0, 1000)
    zm = S.probability_flow_ode(pts - h, S.vp_sde, SCORE, 0.0, 1.0, 1000)
    ell = S.pf_ode_log_likelihood(pts, S.vp_sde, SCORE, DIV, prior_exact, 1000)[2]
    assert np.allclose(np.log((zp - zm) / (2 * h)), ell, atol=5e-4)
    grid = np.linspace(-3.5, 3.5, 701)
    exact = log_p(grid, 0.0)
    for n, want, half in ((50, 0.088, 5e-4), (100, 0.021, 5e-4), (200, 0.0052, 5e-5)):
        e = np.abs(S.pf_ode_log_likelihood(grid, S.vp_sde, SCORE, DIV, prior_exact, n)[0] - exact)
        assert e.max() == pytest.approx(want, abs=half)


def test_hutchinson_mean_and_variance_on_a_linear_map():
    """E[εᵀAε] = tr A; Var = 2(‖S‖² - Σ S_ii²) for Rademacher and 2‖S‖² for Gaussian, S = (A + Aᵀ)/2."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    Ssym = 0.5 * (A + A.T)
    n = 200_000
    var_rademacher = 2 * (np.sum(Ssym**2) - np.sum(np.diag(Ssym) ** 2))
    for probe, var in ((rng.choice([-1.0, 1.0], size=(n, 4)), var_rademacher),
                       (rng.standard_normal((n, 4)), 2 * np.sum(Ssym**2))):
        est = S.hutchinson_divergence(lambda x: x @ A.T, np.zeros((n, 4)), probe)
        assert est.mean() == pytest.approx(np.trace(A), abs=4 * np.sqrt(var / n))
        assert est.var() == pytest.approx(var, rel=0.02)


def test_hutchinson_likelihood_in_two_dimensions():
    """A rotated product of the 1-D mixture and a Gaussian: Hutchinson probes fixed along the ODE."""
    gauss = dict(means=np.array([0.5]), stds=np.array([0.8]), weights=np.array([1.0]))
    th = np.pi / 6
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])

    def score2(x, t):
        y = x @ R                                                     # y = Rᵀx, row by row
        s = np.stack([SCORE(y[..., 0], t), S.vp_gmm_score(y[..., 1], t, **gauss)], axis=-1)
        return s @ R.T

    def div_exact(x, t):
        y = x @ R
        return DIV(y[..., 0], t) + S.vp_gmm_pf_divergence(y[..., 1], t, **gauss)

    def logp2(x, t):
        y, (scale, std) = x @ R, S.vp_kernel(t)
        return (np.log(S.gmm_marginal_pdf(y[..., 0], scale, std, **MIX))
                + np.log(S.gmm_marginal_pdf(y[..., 1], scale, std, **gauss)))

    x0 = (R @ np.array([1.5, 0.0]))[None, :]
    lp = S.pf_ode_log_likelihood(x0, S.vp_sde, score2, div_exact, lambda z: logp2(z, 1.0), 200)[0]
    assert lp[0] == pytest.approx(logp2(x0, 0.0)[0], abs=1e-4)
    K = 2000
    rng = np.random.default_rng(0)
    sd = {}
    for kind in ("rademacher", "gaussian"):
        probe = rng.choice([-1.0, 1.0], size=(K, 2)) if kind == "rademacher" else rng.standard_normal((K, 2))

        def div_h(x, t, probe=probe):
            def drift(y):
                return S.probability_flow_drift(y, t, S.vp_sde, score2)
            return S.hutchinson_divergence(drift, x, probe)

        est = S.pf_ode_log_likelihood(np.repeat(x0, K, axis=0), S.vp_sde, score2, div_h,
                                      lambda z: logp2(z, 1.0), 200)[0]
        sd[kind] = est.std()
        assert est.mean() == pytest.approx(lp[0], abs=4 * est.std() / np.sqrt(K))
        if kind == "rademacher":                       # in 2-D: tr M ± 2 M_12, equally likely
            values = np.unique(np.round(est, 6))
            assert values.size == 2 and values.mean() == pytest.approx(lp[0], abs=1e-5)
    assert (sd["rademacher"], sd["gaussian"]) == pytest.approx((0.16, 0.63), abs=0.005)
