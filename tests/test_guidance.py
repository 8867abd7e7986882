"""mlnotes.guidance against closed forms, finite differences and the numbers in posts/guidance.md."""

import numpy as np
import pytest

from mlnotes import diffusion as d
from mlnotes import guidance as g

AB = d.alpha_bars(d.linear_beta_schedule(1000))
# The 1-D toy of the post: two classes at -1 and +1, std 0.6, equal priors; we condition on y = 1.
TOY = dict(means=np.array([[-1.0], [1.0]]), stds=np.array([0.6, 0.6]), weights=np.array([0.5, 0.5]))


def fd_grad(f, x, h=1e-5):
    """Central finite-difference gradient of a scalar field f: (..., d) -> (...)."""
    grad = np.zeros_like(x)
    for i in range(x.shape[-1]):
        e = np.zeros(x.shape[-1])
        e[i] = h
        grad[..., i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def test_cfg_conventions_agree():
    """(1+w) eps_c - w eps_u  ==  eps_u + s (eps_c - eps_u)  with s = 1 + w."""
    rng = np.random.default_rng(0)
    eps_c, eps_u = rng.standard_normal((2, 7, 3))
    for w in (-1.0, 0.0, 0.5, 2.0, 6.5):
        assert np.allclose(g.cfg_eps(eps_c, eps_u, w), g.cfg_eps_scale(eps_c, eps_u, 1.0 + w))


def test_special_scales():
    rng = np.random.default_rng(1)
    eps_c, eps_u, grad = rng.standard_normal((3, 10))
    assert np.allclose(g.cfg_eps(eps_c, eps_u, 0.0), eps_c)           # w = 0: conditional model
    assert np.allclose(g.cfg_eps(eps_c, eps_u, -1.0), eps_u)          # w = -1: unconditional
    assert np.allclose(g.cfg_eps_scale(eps_c, eps_u, 1.0), eps_c)     # s = 1: conditional model
    assert np.allclose(g.cfg_eps_scale(eps_c, eps_u, 0.0), eps_u)     # s = 0: unconditional
    assert np.allclose(g.classifier_guided_eps(eps_u, grad, 0.3, 0.0), eps_u)
    # Stable Diffusion's default --scale 7.5 is w = 6.5 in Ho & Salimans' convention
    assert np.allclose(g.cfg_eps_scale(eps_c, eps_u, 7.5), g.cfg_eps(eps_c, eps_u, 6.5))


def test_worked_examples_in_post():
    assert g.cfg_eps(np.array(0.8), np.array(0.2), 2.0) == pytest.approx(2.0)
    assert g.cfg_eps_scale(np.array(0.8), np.array(0.2), 3.0) == pytest.approx(2.0)
    assert g.classifier_guided_eps(np.array(0.5), np.array(2.0), 0.75, 1.0) == pytest.approx(-0.5)
    # the same step through the score: -0.5 / 0.5 = -1, plus the gradient 2 is 1, times -0.5 is -0.5
    score = g.eps_to_score(np.array(0.5), 0.75)
    assert score == pytest.approx(-1.0)
    assert g.classifier_guided_score(score, np.array(2.0), 1.0) == pytest.approx(1.0)
    assert g.score_to_eps(np.array(1.0), 0.75) == pytest.approx(-0.5)
    assert g.tilted_gaussian(2.0, 0.0) == pytest.approx((0.0, 1.0))
    assert g.tilted_gaussian(2.0, 1.0) == pytest.approx((1.0, np.sqrt(0.5)))
    assert g.tilted_gaussian(2.0, 4.0) == pytest.approx((1.6, np.sqrt(0.2)))


def test_classifier_guided_eps_is_the_guided_score():
    """eps - s sqrt(1-ab) grad  is the eps-form of  score + s grad."""
    rng = np.random.default_rng(2)
    eps, grad = rng.standard_normal((2, 20))
    for ab, s in ((0.9, 1.0), (0.3, 4.0), (0.01, 10.0)):
        score = g.eps_to_score(eps, ab)
        assert np.allclose(g.classifier_guided_eps(eps, grad, ab, s),
                           g.score_to_eps(g.classifier_guided_score(score, grad, s), ab))


@pytest.mark.parametrize("ab", [1.0, 0.5, 0.05])
def test_toy_scores_match_finite_differences(ab):
    rng = np.random.default_rng(3)
    means = rng.normal(size=(3, 2))
    stds, weights = np.array([0.5, 0.8, 1.2]), np.array([0.2, 0.3, 0.5])
    x = rng.normal(size=(25, 2)) * 2

    def log_px(x):
        joint = np.log(weights) + g.class_log_likelihoods(x, ab, means, stds)
        return np.log(np.exp(joint).sum(axis=-1))

    assert np.allclose(g.marginal_score(x, ab, means, stds, weights), fd_grad(log_px, x), atol=1e-6)
    for y in range(3):
        assert np.allclose(g.conditional_score(x, ab, y, means, stds),
                           fd_grad(lambda x, y=y: g.class_log_likelihoods(x, ab, means, stds)[..., y], x),
                           atol=1e-6)
        assert np.allclose(g.classifier_log_grad(x, ab, y, means, stds, weights),
                           fd_grad(lambda x, y=y: g.class_log_posterior(x, ab, means, stds,
                                                                        weights)[..., y], x),
                           atol=1e-6)
    assert np.allclose(np.exp(g.class_log_posterior(x, ab, means, stds, weights)).sum(axis=-1), 1.0)


@pytest.mark.parametrize("ab", [1.0, 0.5, 0.05])
def test_two_class_classifier_is_logistic(ab):
    """Equal variances and priors, means -1 and +1: p_t(y=1|x) = sigmoid(2 sqrt(ab) x / v)."""
    x = np.linspace(-3, 3, 61)[:, None]
    v = ab * 0.6**2 + 1 - ab
    a = 2 * np.sqrt(ab) / v
    sig = 1 / (1 + np.exp(-a * x[:, 0]))
    assert np.allclose(np.exp(g.class_log_posterior(x, ab, **TOY))[:, 1], sig)
    assert np.allclose(g.classifier_log_grad(x, ab, 1, **TOY)[:, 0], a * (1 - sig))


@pytest.mark.parametrize("ab", [1.0, 0.5, 0.05])
def test_exact_cfg_equals_classifier_guidance(ab):
    """With exact models, classifier-free guidance at scale s is classifier guidance at scale s."""
    x = np.random.default_rng(4).normal(size=(30, 1)) * 2
    eps_u = g.score_to_eps(g.marginal_score(x, ab, **TOY), ab)
    grad = g.classifier_log_grad(x, ab, 1, **TOY)
    for s in (0.0, 1.0, 3.0, 7.5):
        assert np.allclose(g.toy_cfg_eps(x, ab, 1, s, **TOY), g.classifier_guided_eps(eps_u, grad, ab, s))


@pytest.mark.parametrize("ab", [1.0, 0.5, 0.05])
@pytest.mark.parametrize("s", [0.0, 1.0, 3.0, 8.0])
def test_guided_score_is_the_score_of_the_normalised_tilted_density(ab, s):
    """grad log [p_t(x) p_t(y|x)^s / Z] equals the guided score, whatever the constant Z."""
    grid = np.linspace(-12, 12, 48001)[:, None]
    log_tilt = g.tilted_log_density(grid, ab, 1, s, **TOY)
    z = np.trapezoid(np.exp(log_tilt), grid[:, 0])                  # the normalising constant
    density = np.exp(log_tilt) / z
    assert np.trapezoid(density, grid[:, 0]) == pytest.approx(1.0, abs=1e-9)
    if s == 0.0:
        assert z == pytest.approx(1.0, abs=1e-6)                    # p_t(x) is already normalised
    if s == 1.0:
        assert z == pytest.approx(0.5, abs=1e-6)                    # p_t(x) p_t(y|x) = p(y) p_t(x|y)
        cond = np.exp(g.class_log_likelihoods(grid, ab, TOY["means"], TOY["stds"])[:, 1])
        assert np.allclose(density, cond, atol=1e-8)
    x = np.linspace(-3, 3, 25)[:, None]
    score = fd_grad(lambda x: g.tilted_log_density(x, ab, 1, s, **TOY) - np.log(z), x)
    guided = g.classifier_guided_score(g.marginal_score(x, ab, **TOY),
                                       g.classifier_log_grad(x, ab, 1, **TOY), s)
    assert np.allclose(guided, score, atol=1e-5)
    if ab < 1.0:   # the same through the eps-parameterisation (undefined at ab = 1)
        assert np.allclose(g.eps_to_score(g.toy_cfg_eps(x, ab, 1, s, **TOY), ab), score, atol=1e-5)


@pytest.mark.parametrize("s", [0.0, 1.0, 4.0])
def test_tilted_gaussian_closed_form(s):
    """N(x; 0, 1) N(2; x, 1)^s normalised numerically has the mean and std of tilted_gaussian."""
    x = np.linspace(-10, 10, 200001)
    p = np.exp(-0.5 * x**2 - s * 0.5 * (2.0 - x) ** 2)
    p /= np.trapezoid(p, x)
    mean = np.trapezoid(p * x, x)
    std = np.sqrt(np.trapezoid(p * (x - mean) ** 2, x))
    assert (mean, std) == pytest.approx(g.tilted_gaussian(2.0, s), abs=1e-8)


def guided_samples(s, steps=50, eta=0.0):
    """The experiment of the post: 4000 samples (seed 0), DDIM with exact guided eps, y = 1."""
    x_T = np.random.default_rng(0).standard_normal((4000, 1))
    return d.sample(x_T, AB, d.ddim_timesteps(1000, steps), lambda x, ab: g.toy_cfg_eps(x, ab, 1, s, **TOY),
                    eta=eta, rng=np.random.default_rng(1))


def tilted_stats(s):
    grid = np.linspace(-8, 8, 32001)[:, None]
    p = np.exp(g.tilted_log_density(grid, 1.0, 1, s, **TOY))
    p /= np.trapezoid(p, grid[:, 0])
    mean = np.trapezoid(p * grid[:, 0], grid[:, 0])
    std = np.sqrt(np.trapezoid(p * (grid[:, 0] - mean) ** 2, grid[:, 0]))
    post = np.trapezoid(p * np.exp(g.class_log_posterior(grid, 1.0, **TOY))[:, 1], grid[:, 0])
    return mean, std, post


def test_guidance_concentrates_samples():
    """The table in posts/guidance.md (rounded to two decimals): larger s, smaller spread, higher p(y|x)."""
    expected = {  # s: (mean, std, mean p(y=1|x0))  of 50-step DDIM samples
        0.0: (-0.02, 1.14, 0.49),
        1.0: (0.99, 0.57, 0.94),
        2.0: (1.37, 0.41, 1.00),
        4.0: (1.79, 0.32, 1.00),
        8.0: (2.32, 0.28, 1.00),
    }
    stds, posts = [], []
    for s, want in expected.items():
        x = guided_samples(s)
        p = np.exp(g.class_log_posterior(x, 1.0, **TOY))[:, 1]
        assert (round(x.mean(), 2), round(x.std(), 2), round(p.mean(), 2)) == want
        stds.append(x.std())
        posts.append(p.mean())
    assert np.all(np.diff(stds) < 0) and np.all(np.diff(posts) > 0)
    assert round((guided_samples(0.0) < 0).mean(), 2) == 0.51
    assert round((guided_samples(1.0) < 0).mean(), 2) == 0.04


def test_tilted_target_statistics():
    """The 'target' columns of the table: p(x) p(y|x)^s at t = 0, normalised numerically."""
    expected = {0.0: (0.00, 1.17, 0.50), 1.0: (1.00, 0.60, 0.93), 2.0: (1.08, 0.54, 0.96),
                4.0: (1.13, 0.51, 0.98), 8.0: (1.19, 0.48, 0.99)}
    for s, want in expected.items():
        assert tuple(round(float(v), 2) for v in tilted_stats(s)) == want


def test_guided_sampler_matters():
    """Guided scores are not the scores of one diffusion: the ODE and the SDE sampler disagree."""
    ddpm = guided_samples(4.0, steps=1000, eta=1.0)
    assert (round(ddpm.mean(), 2), round(ddpm.std(), 2)) == (1.42, 0.48)
    # without guidance (s = 1) DDPM, like DDIM, lands close to p(x | y) = N(1, 0.6^2)
    ddpm1 = guided_samples(1.0, steps=1000, eta=1.0)
    assert (round(ddpm1.mean(), 2), round(ddpm1.std(), 2)) == (1.02, 0.58)
