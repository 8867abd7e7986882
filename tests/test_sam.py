"""mlnotes.sam against naive loops, closed forms and the claims in the post."""

import numpy as np
import pytest

from mlnotes import sam


def square(n, k):
    """A centred k x k square in an n x n image."""
    m = np.zeros((n, n), bool)
    a = (n - k) // 2
    m[a:a + k, a:a + k] = True
    return m


def naive_iou(a, b):
    inter = union = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            inter += bool(a[i, j]) and bool(b[i, j])
            union += bool(a[i, j]) or bool(b[i, j])
    return 1.0 if union == 0 else inter / union


def test_iou_matches_loop():
    rng = np.random.default_rng(0)
    a = rng.random((7, 9, 11)) < 0.3
    b = rng.random((7, 9, 11)) < 0.5
    got = sam.mask_iou(a, b)
    assert got.shape == (7,)
    assert np.allclose(got, [naive_iou(a[i], b[i]) for i in range(7)], atol=1e-12)
    empty = np.zeros((3, 3), bool)
    assert sam.mask_iou(empty, empty) == 1.0 and sam.mask_iou(empty, ~empty) == 0.0
    assert sam.mask_iou(a[0], a[0]) == 1.0


def test_fourier_shapes_and_norm():
    B = sam.gaussian_frequencies(128, seed=0)
    pts = np.random.default_rng(1).random((5, 7, 2))
    enc = sam.fourier_encode(pts, B)
    assert B.shape == (2, 128) and enc.shape == (5, 7, 256)
    assert np.allclose(np.sum(enc**2, axis=-1), 128)      # sin^2 + cos^2 = 1, 128 times


def test_similarity_is_a_sum_of_cosines_of_the_offset():
    rng = np.random.default_rng(2)
    B = sam.gaussian_frequencies(64, seed=3)
    p, q = rng.random((20, 2)), rng.random((20, 2))
    direct = np.mean(np.cos(4 * np.pi * (p - q) @ B), axis=-1)
    assert np.allclose(sam.fourier_similarity(p, q, B), direct, atol=1e-12)
    shift = np.array([0.13, -0.07])                        # depends on p - q only
    assert np.allclose(sam.fourier_similarity(p + shift, q + shift, B), direct, atol=1e-12)


def test_nearby_points_have_similar_encodings():
    B = sam.gaussian_frequencies(128, seed=0)
    p = np.array([0.5, 0.5])
    d = np.array([0.0, 0.01, 0.02, 0.05, 0.08])
    sims = [float(sam.fourier_similarity(p, p + np.array([di, 0.0]), B)) for di in d]
    assert sims[0] == pytest.approx(1.0)
    assert np.all(np.diff(sims) < 0) and sims[1] > 0.99
    # far points are nearly orthogonal
    far = sam.fourier_similarity(np.array([0.1, 0.1]), np.array([0.9, 0.8]), B)
    assert abs(float(far)) < 0.15


def test_expected_similarity_is_gaussian_kernel():
    """Monte Carlo over many random frequencies agrees with exp(-8 pi^2 sigma^2 d^2)."""
    for scale in (0.5, 1.0, 2.0):
        B = sam.gaussian_frequencies(200_000, scale=scale, seed=4)
        for d in (0.02, 0.05, 0.1):
            for direction in (np.array([1.0, 0.0]), np.array([0.6, -0.8])):
                p = np.array([0.3, 0.4])
                mc = float(sam.fourier_similarity(p, p + d * direction, B))
                assert mc == pytest.approx(float(sam.expected_fourier_similarity(d, scale)), abs=0.01)


def test_similarity_numbers_in_the_post():
    assert float(sam.expected_fourier_similarity(0.05)) == pytest.approx(0.821, abs=5e-4)
    assert float(sam.expected_fourier_similarity(0.1)) == pytest.approx(0.454, abs=5e-4)
    assert float(sam.expected_fourier_similarity(0.2)) == pytest.approx(0.042, abs=5e-4)
    half = np.sqrt(np.log(2) / (8 * np.pi**2))
    assert half == pytest.approx(0.094, abs=5e-4) and half * 1024 == pytest.approx(96, abs=0.5)
    B = sam.gaussian_frequencies(128, seed=0)              # the draw shown in the figure
    p = np.array([0.5, 0.5])
    assert float(sam.fourier_similarity(p, p + [0.05, 0], B)) == pytest.approx(0.83, abs=0.005)
    assert float(sam.fourier_similarity(p, p + [0.1, 0], B)) == pytest.approx(0.46, abs=0.005)


def test_dice_and_focal_match_loops():
    rng = np.random.default_rng(5)
    logits, t = 3 * rng.standard_normal((4, 5)), (rng.random((4, 5)) < 0.4).astype(float)
    p = 1 / (1 + np.exp(-logits))
    inter = sum(p[i, j] * t[i, j] for i in range(4) for j in range(5))
    dice = 1 - (2 * inter + 1) / (p.sum() + t.sum() + 1)
    assert float(sam.dice_loss(logits, t)) == pytest.approx(dice, abs=1e-12)
    total = 0.0
    for i in range(4):
        for j in range(5):
            pt = p[i, j] if t[i, j] else 1 - p[i, j]
            a = 0.25 if t[i, j] else 0.75
            total += -a * (1 - pt) ** 2 * np.log(pt)
    assert float(sam.focal_loss(logits, t)) == pytest.approx(total / 20, abs=1e-12)
    big = np.array([[1000.0, -1000.0]])                    # no overflow, no log(0)
    assert np.isfinite(sam.focal_loss(big, np.array([[0.0, 1.0]])))


def test_min_over_masks_picks_the_matching_mask():
    """The nested example of the post: subpart, part, whole; the target is the part."""
    masks = np.stack([square(10, 2), square(10, 4), square(10, 6)])
    target = square(10, 4)
    assert np.allclose(sam.mask_iou(masks, target), [0.25, 1.0, 4 / 9])
    assert sam.mask_iou(masks, target)[2] == pytest.approx(0.444, abs=5e-4)
    logits = np.where(masks, 10.0, -10.0)
    # the table of the post, at the printed precision (three decimals; rtol=0 so that the
    # tolerance is half a unit in the third decimal even for 30.375)
    focal = sam.focal_loss(logits, target)
    assert np.allclose(sam.dice_loss(logits, target), [0.571, 0.0, 0.377], rtol=0, atol=5e-4)
    assert np.allclose(focal, [0.300, 0.0, 1.500], rtol=0, atol=5e-4)
    # the mental arithmetic: 12 missed pixels at about 2.5 each (30 in all), 20 extra at about 7.5 (150)
    assert 100 * focal[0] == pytest.approx(30, abs=0.5)
    assert 100 * focal[0] / 12 == pytest.approx(2.5, abs=0.05)
    assert 100 * focal[2] == pytest.approx(150, abs=0.5)
    assert 100 * focal[2] / 20 == pytest.approx(7.5, abs=0.05)
    losses = sam.mask_loss(logits, target)                  # SAM's 20 : 1 focal : dice
    assert np.allclose(losses, 20 * focal + sam.dice_loss(logits, target))
    assert np.allclose(losses, [6.571, 0.0, 30.375], rtol=0, atol=5e-4)
    loss, k = sam.min_over_masks(losses)
    assert k == 1 and loss == pytest.approx(0.0, abs=5e-4)
    # every other target is matched by its own mask
    for j in range(3):
        assert sam.min_over_masks(sam.mask_loss(logits, masks[j]))[1] == j


def test_min_loss_ignores_the_other_masks():
    """Perturbing a mask that is not the best one leaves the loss unchanged."""
    rng = np.random.default_rng(6)
    target = square(8, 4)
    logits = rng.standard_normal((3, 8, 8))
    logits[2] = np.where(target, 4.0, -4.0)                # mask 2 is clearly best
    loss, k = sam.min_over_masks(sam.mask_loss(logits, target))
    assert k == 2
    moved = logits.copy()
    moved[0] += 0.1 * rng.standard_normal((8, 8))
    assert sam.min_over_masks(sam.mask_loss(moved, target))[0] == loss


def test_dynamic_mask_logits_matches_loop():
    rng = np.random.default_rng(7)
    E, w = rng.standard_normal((5, 4, 6)), rng.standard_normal((3, 5))
    naive = np.zeros((3, 4, 6))
    for k in range(3):
        for h in range(4):
            for x in range(6):
                naive[k, h, x] = sum(w[k, c] * E[c, h, x] for c in range(5))
    assert np.allclose(sam.dynamic_mask_logits(E, w), naive, atol=1e-12)


def cone(k, radius=20.0, size=64):
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    return k * (radius - np.hypot(xx - size / 2, yy - size / 2))


def test_stability_score_properties():
    rng = np.random.default_rng(8)
    logits = 3 * rng.standard_normal((6, 16, 16))
    s = sam.stability_score(logits)
    assert s.shape == (6,) and np.all((s >= 0) & (s <= 1))
    assert np.allclose(s, sam.mask_iou(logits > 1.0, logits > -1.0))
    assert np.all(sam.stability_score(logits, offset=0.0) == 1.0)
    offsets = [0.0, 0.25, 0.5, 1.0, 2.0]                   # wider band, less stable
    scores = np.array([sam.stability_score(logits, offset=o) for o in offsets])
    assert np.all(np.diff(scores, axis=0) <= 0)
    hard = np.where(logits > 0, 5.0, -5.0)                 # no logit near the threshold
    assert np.all(sam.stability_score(hard) == 1.0)


def test_stability_of_a_cone_and_numbers_in_the_post():
    """Logits k (R - r): the score is about ((R - 1/k) / (R + 1/k))^2 and grows with k."""
    ks = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0]
    grid = [float(sam.stability_score(cone(k))) for k in ks]
    formula = [((20 - 1 / k) / (20 + 1 / k)) ** 2 for k in ks]
    assert np.allclose(grid, formula, atol=0.02)
    assert np.all(np.diff(grid) > 0)
    assert grid[1] == pytest.approx(0.67, abs=0.005)       # k = 0.5
    assert grid[4] == pytest.approx(0.96, abs=0.005)       # k = 5
    # the closed-form approximations quoted beside them: (18/22)^2 and (19.8/20.2)^2
    assert formula[1] == pytest.approx(0.67, abs=0.005) and formula[1] == pytest.approx((18 / 22) ** 2)
    assert formula[4] == pytest.approx(0.96, abs=0.005) and formula[4] == pytest.approx((19.8 / 20.2) ** 2)
    assert grid[1] < 0.95 < grid[4]                        # the filter keeps only the steep one
