"""mlnotes.latent_diffusion against naive loops, symmetry properties and the numbers in the post."""

import numpy as np
import pytest

from mlnotes import latent_diffusion as ld


def naive_cross_attention(features, context, w_q, w_k, w_v):
    """One query at a time, with explicit sums instead of matrix products."""
    n, m = features.shape[0], context.shape[0]
    d = w_q.shape[1]
    out = np.zeros((n, w_v.shape[1]))
    weights = np.zeros((n, m))
    keys = [context[j] @ w_k for j in range(m)]
    values = [context[j] @ w_v for j in range(m)]
    for i in range(n):
        q = features[i] @ w_q
        scores = [sum(q[c] * keys[j][c] for c in range(d)) / np.sqrt(d) for j in range(m)]
        top = max(scores)
        e = [np.exp(sc - top) for sc in scores]
        for j in range(m):
            weights[i, j] = e[j] / sum(e)
            out[i] += weights[i, j] * values[j]
    return out, weights


def random_problem(seed, n=12, m=5, c=8, d_tau=6, d=4, d_v=8):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, c)), rng.normal(size=(m, d_tau)), rng.normal(size=(c, d)),
            rng.normal(size=(d_tau, d)), rng.normal(size=(d_tau, d_v)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_attention_matches_naive_loop(seed):
    args = random_problem(seed)
    out, a = ld.cross_attention(*args)
    out_naive, a_naive = naive_cross_attention(*args)
    assert np.allclose(out, out_naive, atol=1e-12)
    assert np.allclose(a, a_naive, atol=1e-12)


def test_attention_rows_are_distributions():
    features, context, w_q, w_k, w_v = random_problem(3, n=50, m=77)
    _, a = ld.cross_attention(10 * features, context, w_q, w_k, w_v)   # large logits: still stable
    assert np.all(a >= 0) and np.allclose(a.sum(axis=1), 1.0, atol=1e-12)


def test_permuting_tokens_permutes_weights_and_keeps_output():
    """Keys and values move together: the output does not depend on the order of the tokens."""
    features, context, w_q, w_k, w_v = random_problem(4)
    perm = np.random.default_rng(5).permutation(context.shape[0])
    out, a = ld.cross_attention(features, context, w_q, w_k, w_v)
    out_p, a_p = ld.cross_attention(features, context[perm], w_q, w_k, w_v)
    assert np.allclose(out_p, out, atol=1e-12)
    assert np.allclose(a_p, a[:, perm], atol=1e-12)


def test_permuting_positions_permutes_output():
    """Each image position queries independently: permuting the queries permutes the rows."""
    features, context, w_q, w_k, w_v = random_problem(6)
    perm = np.random.default_rng(7).permutation(features.shape[0])
    out, a = ld.cross_attention(features, context, w_q, w_k, w_v)
    out_p, a_p = ld.cross_attention(features[perm], context, w_q, w_k, w_v)
    assert np.allclose(out_p, out[perm]) and np.allclose(a_p, a[perm])


def test_attention_worked_example():
    q = np.array([[1.0, 0.0]])
    k = np.array([[1.0, 0.0], [0.0, 1.0]])
    out, a = ld.attention(q, k, np.array([[10.0], [20.0]]))
    w = np.exp(1 / np.sqrt(2)) / (np.exp(1 / np.sqrt(2)) + 1)
    assert a[0] == pytest.approx([w, 1 - w]) and a[0, 0] == pytest.approx(0.6698, abs=5e-5)
    assert 1 / np.sqrt(2) == pytest.approx(0.7071, abs=5e-5)                 # the score q.k_1 / sqrt(d)
    assert a[0, 1] == pytest.approx(0.3302, abs=5e-5)
    # the score gap S_1 - S_2 = 1/sqrt(2) - 0, recovered from the weights: printed 0.7071
    assert np.log(a[0, 0] / a[0, 1]) == pytest.approx(0.7071, abs=5e-5)
    assert out[0, 0] == pytest.approx(10 * w + 20 * (1 - w)) and out[0, 0] == pytest.approx(13.30, abs=0.005)


@pytest.mark.parametrize("d", [4, 64, 512])
def test_scaled_scores_have_unit_variance(d):
    """Var(q.k) = d for independent unit-variance entries, so q.k/sqrt(d) has variance 1.

    Derived on the page concepts/cross-attention.
    """
    rng = np.random.default_rng(d)
    q, k = rng.standard_normal((20000, d)), rng.standard_normal((20000, d))
    dots = np.einsum("nd,nd->n", q, k)                  # (n,) independent pairs
    assert dots.var() / d == pytest.approx(1.0, abs=0.05)
    assert (dots / np.sqrt(d)).var() == pytest.approx(1.0, abs=0.05)


def test_unscaled_scores_saturate_the_softmax():
    """Without 1/sqrt(d) the largest weight per row tends to 1 as d grows; with it, it does not."""
    rng = np.random.default_rng(0)
    largest = {}
    for d in (4, 64, 1024):
        q, k, v = rng.standard_normal((200, d)), rng.standard_normal((16, d)), np.zeros((16, 1))
        scaled = ld.attention(q, k, v)[1].max(axis=1).mean()
        unscaled = ld.attention(np.sqrt(d) * q, k, v)[1].max(axis=1).mean()   # plain q.k scores
        largest[d] = scaled, unscaled
    assert abs(largest[1024][0] - largest[64][0]) < 0.05 and largest[1024][0] < 0.35
    assert largest[4][1] < 0.6 < 0.9 < largest[1024][1]


def test_numbers_printed_on_the_cross_attention_page():
    """concepts/cross-attention.md: the saturation example, the figure's alt text and the size ratio."""
    assert np.exp(8) / (np.exp(8) + 1) == pytest.approx(0.9997, abs=5e-5)   # two scores 8 apart
    assert ld.softmax(np.array([8.0, 0.0]))[0] == pytest.approx(0.9997, abs=5e-5)
    # the figure (seed 0): the scaled curve levels off at about 0.25, the expected largest of 16
    # softmax weights of independent N(0, 1) scores, which unit-variance scores approach as d grows
    s = np.random.default_rng(1).standard_normal((400_000, 16))
    limit = ld.softmax(s, axis=1).max(axis=1).mean()
    assert limit == pytest.approx(0.25, abs=0.005)
    rng = np.random.default_rng(0)
    scaled = []
    for d in 2 ** np.arange(1, 11):
        q, k = rng.standard_normal((200, d)), rng.standard_normal((16, d))
        scaled.append(ld.attention(q, k, np.zeros((16, 1)))[1].max(axis=1).mean())
    assert np.all(np.abs(np.array(scaled) - limit) < 0.02)                  # flat around it
    # self-attention at SD v1's 64 x 64 level: 4096 x 4096 weights, about 53 times 4096 x 77
    n, m = 64 * 64, 77
    assert (n * n) / (n * m) == pytest.approx(53, abs=0.5)


def test_one_head_is_single_head_attention():
    features, context, w_q, w_k, w_v = random_problem(8, d=8, d_v=8)
    out, a = ld.multi_head_cross_attention(features, context, w_q, w_k, w_v, np.eye(8), num_heads=1)
    out1, a1 = ld.cross_attention(features, context, w_q, w_k, w_v)
    assert np.allclose(out, out1) and np.allclose(a[0], a1)


def test_multi_head_is_concatenated_single_heads():
    rng = np.random.default_rng(9)
    c, d_tau, d, h = 8, 6, 12, 3
    features, context = rng.normal(size=(10, c)), rng.normal(size=(4, d_tau))
    w_q, w_k, w_v = rng.normal(size=(c, d)), rng.normal(size=(d_tau, d)), rng.normal(size=(d_tau, d))
    w_o = rng.normal(size=(d, c))
    out, a = ld.multi_head_cross_attention(features, context, w_q, w_k, w_v, w_o, num_heads=h)
    dh = d // h
    heads = []
    for i in range(h):
        cols = slice(i * dh, (i + 1) * dh)
        o_i, a_i = naive_cross_attention(features, context, w_q[:, cols], w_k[:, cols], w_v[:, cols])
        assert np.allclose(a[i], a_i)
        heads.append(o_i)
    assert np.allclose(out, np.concatenate(heads, axis=1) @ w_o)
    with pytest.raises(ValueError):
        ld.multi_head_cross_attention(features, context, w_q, w_k, w_v, w_o, num_heads=5)


def test_stable_diffusion_shapes():
    """The 64x64 level of the SD v1 UNet: 4096 queries of width 320, 77 tokens of width 768, 8 heads."""
    rng = np.random.default_rng(10)
    features = rng.normal(size=(64 * 64, 320)) * 0.05
    context = rng.normal(size=(77, 768)) * 0.05
    w_q, w_o = rng.normal(size=(320, 320)) * 0.05, rng.normal(size=(320, 320)) * 0.05
    w_k, w_v = rng.normal(size=(768, 320)) * 0.05, rng.normal(size=(768, 320)) * 0.05
    out, a = ld.multi_head_cross_attention(features, context, w_q, w_k, w_v, w_o, num_heads=8)
    assert out.shape == (4096, 320) and a.shape == (8, 4096, 77)
    assert 320 // 8 == 40                                   # width of one head
    assert np.allclose(a.sum(axis=-1), 1.0)


def test_latent_sizes_quoted_in_post():
    s = ld.latent_sizes(512, 512, f=8, latent_channels=4)
    assert s["pixel_elements"] == 512 * 512 * 3 == 786_432
    assert s["latent_elements"] == 64 * 64 * 4 == 16_384
    assert s["compression"] == 48.0
    assert s["pixel_positions"] == 262_144 and s["latent_positions"] == 4096
    assert s["conv_ratio"] == 64 and s["self_attention_ratio"] == 4096
    # entries of one full self-attention matrix over all positions
    assert s["pixel_positions"] ** 2 == 68_719_476_736          # about 6.9e10
    assert s["latent_positions"] ** 2 == 16_777_216             # about 1.7e7
    assert s["pixel_positions"] ** 2 == pytest.approx(6.9e10, abs=0.05e10)
    assert s["latent_positions"] ** 2 == pytest.approx(1.7e7, abs=0.05e7)
    # cross-attention with 77 tokens: N x M weights per head
    assert s["latent_positions"] * 77 == 315_392
    # another setting: 256 x 256 images, f = 4, three latent channels
    s4 = ld.latent_sizes(256, 256, f=4, latent_channels=3)
    assert s4["latent_elements"] == 64 * 64 * 3 and s4["compression"] == 16.0
    with pytest.raises(ValueError):
        ld.latent_sizes(500, 512, f=8)


def test_timestep_embedding_properties():
    t = np.array([0.0, 1.0, 17.0, 500.0, 999.0])
    dim = 320
    e = ld.timestep_embedding(t, dim)
    assert e.shape == (5, dim)
    assert np.allclose(np.sum(e**2, axis=1), dim / 2)          # cos^2 + sin^2 per frequency
    # inner products depend only on the difference of the two time steps
    freqs = 10000.0 ** (-np.arange(dim // 2) / (dim // 2))
    for i in range(5):
        for j in range(5):
            assert e[i] @ e[j] == pytest.approx(np.sum(np.cos(freqs * (t[i] - t[j]))))
    # same numbers as the interleaved layout of Vaswani et al., up to a permutation of coordinates
    inter = np.empty_like(e)
    inter[:, 0::2] = np.sin(t[:, None] * freqs)
    inter[:, 1::2] = np.cos(t[:, None] * freqs)
    assert np.allclose(np.sort(e, axis=1), np.sort(inter, axis=1))
    assert ld.timestep_embedding(np.array([1.0]), 4).round(4).tolist() == [[0.5403, 1.0, 0.8415, 0.01]]
    with pytest.raises(ValueError):
        ld.timestep_embedding(t, 5)


def test_scaled_linear_schedule_numbers_in_the_post():
    """SD v1: sqrt(beta) evenly spaced from sqrt(0.00085) to sqrt(0.012), T = 1000."""
    from mlnotes import diffusion as d

    betas = ld.scaled_linear_beta_schedule()
    assert betas.shape == (1000,)
    assert betas[0] == pytest.approx(0.00085, rel=1e-12) and betas[-1] == pytest.approx(0.012, rel=1e-12)
    assert np.allclose(np.diff(np.sqrt(betas)), np.diff(np.sqrt(betas))[0])   # linear in sqrt(beta)
    assert not np.allclose(np.diff(betas), np.diff(betas)[0])                 # not linear in beta
    ab_T = d.alpha_bars(betas)[-1]
    assert ab_T == pytest.approx(0.0047, abs=5e-5)                 # printed 0.0047
    assert np.sqrt(ab_T) == pytest.approx(0.068, abs=5e-4)         # printed 0.068
    ddpm_T = d.alpha_bars(d.linear_beta_schedule(1000))[-1]
    assert np.sqrt(ddpm_T) == pytest.approx(0.0064, abs=5e-5)      # DDPM, printed 0.0064
    assert 10 < np.sqrt(ab_T) / np.sqrt(ddpm_T) < 100              # "an order of magnitude larger"
    scale_factor = 0.18215                                           # SD v1 config
    assert 1 / scale_factor == pytest.approx(5.49, abs=5e-3)        # sigma-hat, printed 5.49
