"""mlnotes.upsampling against PyTorch (F.interpolate, F.pixel_shuffle, F.conv2d, F.conv_transpose2d)
and the worked examples of posts/upsampling.md."""

import numpy as np
import pytest

from mlnotes import upsampling as U

torch = pytest.importorskip("torch")
F = torch.nn.functional

SIZES = [((3, 5), (7, 11)), ((4, 4), (8, 8)), ((6, 9), (4, 5)), ((2, 3), (5, 2)), ((5, 1), (10, 3))]


def t(a):
    return torch.tensor(a, dtype=torch.float64)


@pytest.mark.parametrize(("size_in", "size_out"), SIZES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_bilinear_matches_torch(size_in, size_out, align_corners):
    x = np.random.default_rng(0).normal(size=(2, 3, *size_in))
    ref = F.interpolate(t(x), size=size_out, mode="bilinear", align_corners=align_corners).numpy()
    assert np.allclose(U.bilinear_upsample(x, size_out, align_corners), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("size_in", "size_out"), SIZES)
@pytest.mark.parametrize(("exact", "mode"), [(False, "nearest"), (True, "nearest-exact")])
def test_nearest_matches_torch(size_in, size_out, exact, mode):
    x = np.random.default_rng(1).normal(size=(1, 2, *size_in))
    ref = F.interpolate(t(x), size=size_out, mode=mode).numpy()
    assert np.array_equal(U.nearest_upsample(x, size_out, exact), ref)


@pytest.mark.parametrize("scale", [0.7, 1.5, 2.5])
def test_scale_factor_is_not_the_same_as_size(scale):
    """F.interpolate(scale_factor=s) maps coordinates with 1/s, not with n_in / n_out."""
    x = np.random.default_rng(2).normal(size=(1, 1, 1, 6))
    n_out = int(np.floor(6 * scale))
    ref = F.interpolate(t(x), scale_factor=(1.0, scale), mode="bilinear", align_corners=False)
    ref = ref.numpy()[0, 0, 0]
    a = U.linear_interp_matrix(6, n_out, align_corners=False, scale_factor=scale)
    assert np.allclose(a @ x[0, 0, 0], ref, atol=1e-12)
    ref_nn = F.interpolate(t(x), scale_factor=(1.0, scale), mode="nearest").numpy()[0, 0, 0]
    assert np.array_equal(x[0, 0, 0][U.nearest_indices(6, n_out, scale_factor=scale)], ref_nn)


def test_scale_factor_difference_example():
    """The example of the post: 6 -> 4 pixels by size, or by scale_factor 0.7."""
    x = np.arange(6.0)
    assert np.allclose(U.linear_interp_matrix(6, 4, False) @ x, [0.25, 1.75, 3.25, 4.75])
    assert np.allclose(U.linear_interp_matrix(6, 4, False, scale_factor=0.7) @ x,
                       [3 / 14, 23 / 14, 43 / 14, 4.5])
    # as printed, to three decimals
    assert U.linear_interp_matrix(6, 4, False, scale_factor=0.7) @ x == \
        pytest.approx([0.214, 1.643, 3.071, 4.5], abs=5e-4)
    assert int(np.floor(6 * 0.7)) == 4
    # the coordinate step is the ratio: 6/4 = 1.5 by size, 1/0.7 = 1.4286 by scale_factor
    assert np.diff(U.source_coordinates(6, 4, False)) == pytest.approx(np.full(3, 1.5))
    step = np.diff(U.source_coordinates(6, 4, False, scale_factor=0.7))
    assert step == pytest.approx(np.full(3, 1.4286), abs=5e-5)


def test_recompute_scale_factor_restores_size_semantics():
    x = t(np.arange(6.0).reshape(1, 1, 1, 6))
    out = F.interpolate(x, scale_factor=(1.0, 0.7), mode="bilinear", recompute_scale_factor=True)
    assert np.allclose(out.numpy().ravel(), U.linear_interp_matrix(6, 4, False) @ np.arange(6.0))


def test_upsample_module_is_interpolate():
    x = t(np.random.default_rng(3).normal(size=(1, 2, 3, 4)))
    up = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.equal(up(x), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
    legacy = torch.nn.UpsamplingBilinear2d(scale_factor=2)            # align_corners=True
    assert np.allclose(legacy(x).numpy(), U.bilinear_upsample(x.numpy(), (6, 8), align_corners=True))


def test_worked_example_1d():
    x = np.array([0.0, 10.0])
    assert np.allclose(U.source_coordinates(2, 4, True), [0, 1 / 3, 2 / 3, 1])
    assert np.allclose(U.source_coordinates(2, 4, False), [0, 0.25, 0.75, 1.25])   # 0 clamped from -0.25
    assert np.allclose(U.linear_interp_matrix(2, 4, True) @ x, [0, 10 / 3, 20 / 3, 10])
    assert np.allclose(U.linear_interp_matrix(2, 4, False) @ x, [0, 2.5, 7.5, 10])
    assert U.linear_interp_matrix(2, 4, True) @ x == pytest.approx([0, 3.333, 6.667, 10], abs=5e-4)
    # the figure: 4 -> 8 pixels; spacing 3/7 with align_corners=True, 1/2 without (away from the clamp)
    assert np.diff(U.source_coordinates(4, 8, True)) == pytest.approx(np.full(7, 3 / 7))
    assert np.diff(U.source_coordinates(4, 8, False))[1:] == pytest.approx(np.full(6, 0.5))


def test_nearest_worked_example():
    """3 -> 2 pixels: nearest takes 0 and 1, nearest-exact takes 0 and 2."""
    assert U.nearest_indices(3, 2).tolist() == [0, 1]
    assert U.nearest_indices(3, 2, exact=True).tolist() == [0, 2]
    x = t(np.array([[[[5.0, 6.0, 7.0]]]]))
    assert F.interpolate(x, size=(1, 2), mode="nearest").numpy().ravel().tolist() == [5.0, 6.0]
    assert F.interpolate(x, size=(1, 2), mode="nearest-exact").numpy().ravel().tolist() == [5.0, 7.0]


def test_interp_rows_sum_to_one_and_align_corners_keeps_corners():
    for n_in, n_out in [(3, 8), (8, 3), (5, 5)]:
        for ac in (True, False):
            a = U.linear_interp_matrix(n_in, n_out, ac)
            assert np.allclose(a.sum(axis=1), 1.0) and np.all(a >= 0)
        a = U.linear_interp_matrix(n_in, n_out, True)
        assert a[0, 0] == 1.0 and a[-1, -1] == 1.0


@pytest.mark.parametrize("r", [2, 3])
def test_pixel_shuffle_matches_torch(r):
    x = np.random.default_rng(4).normal(size=(2, 3 * r * r, 4, 5))
    ref = F.pixel_shuffle(t(x), r).numpy()
    assert np.array_equal(U.pixel_shuffle(x, r), ref)
    assert np.array_equal(U.pixel_unshuffle(ref, r), F.pixel_unshuffle(t(ref), r).numpy())
    assert np.array_equal(U.pixel_unshuffle(U.pixel_shuffle(x, r), r), x)


def test_pixel_shuffle_worked_example():
    """Four 1x1 channels 0, 1, 2, 3 with r = 2 fill top-left, top-right, bottom-left, bottom-right."""
    x = np.arange(4.0).reshape(1, 4, 1, 1)
    assert U.pixel_shuffle(x, 2)[0, 0].tolist() == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.parametrize(("k", "stride", "padding"), [(3, 1, 0), (3, 2, 0), (4, 2, 1), (3, 2, 1), (5, 3, 2)])
def test_convolutions_match_torch(k, stride, padding):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 6, 7))
    w = rng.normal(size=(4, 3, k, k))                    # conv: (C_out, C_in, k, k)
    y = U.conv2d(x, w, stride, padding)
    assert np.allclose(y, F.conv2d(t(x), t(w), stride=stride, padding=padding).numpy(), atol=1e-10)
    # the same tensor, read as (C_in, C_out, k, k), is the weight of the adjoint
    g = rng.normal(size=y.shape)
    ref = F.conv_transpose2d(t(g), t(w), stride=stride, padding=padding).numpy()
    xt = U.conv_transpose2d(g, w, stride, padding)
    assert xt.shape == ref.shape and np.allclose(xt, ref, atol=1e-10)


@pytest.mark.parametrize(("k", "stride", "padding"), [(3, 2, 0), (4, 2, 1), (2, 2, 0)])
def test_transposed_conv_is_adjoint(k, stride, padding):
    """<conv(x), g> = <x, conv_transpose(g)> whenever the shapes line up."""
    rng = np.random.default_rng(6)
    w = rng.normal(size=(2, 3, k, k))
    x = rng.normal(size=(1, 3, 9, 9))
    y = U.conv2d(x, w, stride, padding)
    g = rng.normal(size=y.shape)
    xt = U.conv_transpose2d(g, w, stride, padding)
    if xt.shape == x.shape:
        assert np.sum(y * g) == pytest.approx(np.sum(x * xt), rel=1e-10)


def test_conv1d_matrix_transpose_is_transposed_conv():
    """The 1-D example of the post: C is 2x5, C^T g spreads g back over 5 positions."""
    kernel = np.array([1.0, 2.0, 3.0])
    c = U.conv1d_matrix(5, kernel, stride=2)
    x = np.arange(5.0)
    g = np.array([1.0, -1.0])
    assert np.allclose(c @ x, F.conv1d(t(x)[None, None], t(kernel)[None, None], stride=2).numpy().ravel())
    assert np.allclose(c.T @ g, [1, 2, 2, -2, -3])
    ref = F.conv_transpose1d(t(g)[None, None], t(kernel)[None, None], stride=2)
    assert np.allclose(c.T @ g, ref.numpy().ravel())


def test_overlap_counts_and_checkerboard():
    assert U.overlap_counts(4, 3, 2).tolist() == [1, 1, 2, 1, 2, 1, 2, 1, 1]
    assert U.overlap_counts(4, 4, 2).tolist() == [1, 1, 2, 2, 2, 2, 2, 2, 1, 1]
    img = U.conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=2)[0, 0]
    assert np.array_equal(img, np.outer(U.overlap_counts(4, 3, 2), U.overlap_counts(4, 3, 2)))
    assert set(np.unique(img[2:-2, 2:-2])) == {1.0, 2.0, 4.0}     # checkerboard in the interior
    even = U.conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 4, 4)), stride=2, padding=1)[0, 0]
    assert np.all(even[1:-1, 1:-1] == 4.0)
    # the figure: 6x6 ones; k=3, s=2 alternates 1, 2, 4; k=4, s=2, p=1 is 4 inside;
    # nearest x2 then a 3x3 conv is 9 inside and smaller only on the border
    ones = np.ones((1, 1, 6, 6))
    odd6 = U.conv_transpose2d(ones, np.ones((1, 1, 3, 3)), stride=2)[0, 0]
    assert set(np.unique(odd6[2:-2, 2:-2])) == {1.0, 2.0, 4.0}
    even6 = U.conv_transpose2d(ones, np.ones((1, 1, 4, 4)), stride=2, padding=1)[0, 0]
    assert np.all(even6[1:-1, 1:-1] == 4.0)
    resize = U.conv2d(U.nearest_upsample(ones, (12, 12)), np.ones((1, 1, 3, 3)), padding=1)[0, 0]
    assert np.all(resize[1:-1, 1:-1] == 9.0)
    border = np.concatenate([resize[0], resize[-1], resize[:, 0], resize[:, -1]])
    assert np.all(border < 9.0)


def test_even_overlap_can_still_make_a_checkerboard():
    """k = 4, s = 2: each phase sums its own taps; (0.2, 0.9, 0.6, 0.1) gives 0.8 and 1.0
    (numbers in the post)."""
    u = np.array([0.2, 0.9, 0.6, 0.1])
    assert np.allclose([u[0] + u[2], u[1] + u[3]], [0.8, 1.0])
    out1d = F.conv_transpose1d(t(np.ones(6))[None, None], t(u)[None, None], stride=2).numpy().ravel()
    assert np.allclose(out1d[2:-2], [0.8, 1.0] * 5)
    img = U.conv_transpose2d(np.ones((1, 1, 6, 6)), np.outer(u, u)[None, None], stride=2, padding=1)[0, 0]
    interior = img[2:-2, 2:-2]
    assert np.allclose(sorted(set(np.round(interior.ravel(), 12))), [0.64, 0.8, 1.0])
    # outer-product pattern
    assert np.allclose(interior, np.outer(interior[:, 0], interior[0, :]) / interior[0, 0])
    assert not np.allclose(interior, interior[0, 0])                                          # not flat
