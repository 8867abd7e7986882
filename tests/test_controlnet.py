"""mlnotes.controlnet against naive loops, finite differences and the claims in the post."""

import numpy as np
import pytest

from mlnotes import controlnet as cn


def naive_conv1x1(x, w, b):
    c_out, (_, h, wd) = w.shape[0], x.shape
    y = np.zeros((c_out, h, wd))
    for i in range(h):
        for j in range(wd):
            for o in range(c_out):
                y[o, i, j] = sum(w[o, k] * x[k, i, j] for k in range(x.shape[0])) + b[o]
    return y


def random_params(rng, channels=3, cond=2, scale=0.5):
    """Parameters away from initialisation: every entry non-zero."""
    p = cn.init_controlnet(scale * rng.standard_normal((channels, channels)),
                           0.1 * rng.standard_normal(channels), cond)
    for key in cn.TRAINABLE:
        p[key] = p[key] + scale * rng.standard_normal(p[key].shape)
    return p


def loss_of(params, x, c, target):
    return cn.squared_error(cn.controlled_block(x, c, params), target)[0]


def finite_difference(params, key, x, c, target, h=1e-6):
    grad = np.zeros_like(params[key])
    for idx in np.ndindex(grad.shape):
        plus, minus = dict(params), dict(params)
        plus[key], minus[key] = params[key].copy(), params[key].copy()
        plus[key][idx] += h
        minus[key][idx] -= h
        grad[idx] = (loss_of(plus, x, c, target) - loss_of(minus, x, c, target)) / (2 * h)
    return grad


def test_conv1x1_matches_loop():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    assert np.allclose(cn.conv1x1(x, w, b), naive_conv1x1(x, w, b), atol=1e-12)


def test_conv1x1_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    g = rng.standard_normal((2, 4, 5))                    # L = sum(g * y) has dL/dy = g
    gx, gw, gb = cn.conv1x1_backward(x, w, g)
    h = 1e-6

    def loss(x_, w_, b_):
        return float(np.sum(g * cn.conv1x1(x_, w_, b_)))

    for arr, grad, fn in [(w, gw, lambda a: loss(x, a, b)), (b, gb, lambda a: loss(x, w, a)),
                          (x, gx, lambda a: loss(a, w, b))]:
        fd = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            e = np.zeros_like(arr)
            e[idx] = h
            fd[idx] = (fn(arr + e) - fn(arr - e)) / (2 * h)
        assert np.allclose(grad, fd, atol=1e-7)


def test_output_equals_base_at_initialisation():
    rng = np.random.default_rng(2)
    for _ in range(5):
        base_w, base_b = rng.standard_normal((4, 4)), rng.standard_normal(4)
        p = cn.init_controlnet(base_w, base_b, cond_channels=3)
        x, c = rng.standard_normal((4, 6, 7)), 10 * rng.standard_normal((3, 6, 7))
        assert np.array_equal(cn.controlled_block(x, c, p), cn.relu_block(x, base_w, base_b))


def test_gradients_at_initialisation():
    """Only the output zero convolution gets a gradient, and it matches finite differences."""
    rng = np.random.default_rng(3)
    p = cn.init_controlnet(rng.standard_normal((3, 3)), rng.standard_normal(3), cond_channels=2)
    x, c = rng.standard_normal((3, 4, 4)), rng.standard_normal((2, 4, 4))
    target = rng.standard_normal((3, 4, 4))
    _, grad_y = cn.squared_error(cn.controlled_block(x, c, p), target)
    grads = cn.controlled_block_backward(x, c, p, grad_y)
    for key in ("zout_w", "zout_b"):
        assert np.abs(grads[key]).min() > 1e-3            # every entry is non-zero
        assert np.allclose(grads[key], finite_difference(p, key, x, c, target), atol=1e-6)
    for key in ("copy_w", "copy_b", "zin_w", "zin_b"):
        assert not grads[key].any()                       # exactly zero ...
        assert np.allclose(finite_difference(p, key, x, c, target), 0.0, atol=1e-8)  # ... truly


def test_gradients_away_from_initialisation():
    rng = np.random.default_rng(4)
    p = random_params(rng)
    x, c = rng.standard_normal((3, 3, 4)), rng.standard_normal((2, 3, 4))
    target = rng.standard_normal((3, 3, 4))
    _, grad_y = cn.squared_error(cn.controlled_block(x, c, p), target)
    grads = cn.controlled_block_backward(x, c, p, grad_y)
    for key in cn.TRAINABLE:
        assert np.allclose(grads[key], finite_difference(p, key, x, c, target), atol=1e-6), key


def test_two_step_argument():
    """Step 1 moves only Z_out; then the output changes and the copy and Z_in get gradients."""
    rng = np.random.default_rng(5)
    base_w, base_b = rng.standard_normal((3, 3)), rng.standard_normal(3)
    p0 = cn.init_controlnet(base_w, base_b, cond_channels=2)
    x, c = rng.standard_normal((3, 4, 4)), rng.standard_normal((2, 4, 4))
    target = rng.standard_normal((3, 4, 4))

    y0 = cn.controlled_block(x, c, p0)
    _, g0 = cn.squared_error(y0, target)
    p1 = cn.sgd_step(p0, cn.controlled_block_backward(x, c, p0, g0), lr=0.1)
    for key in ("copy_w", "copy_b", "zin_w", "zin_b"):
        assert np.array_equal(p1[key], p0[key])           # step 1 leaves them untouched
    assert np.abs(p1["zout_w"]).min() > 0                 # ... but Z_out is no longer zero
    assert np.array_equal(p1["base_w"], base_w) and np.array_equal(p1["base_b"], base_b)

    y1 = cn.controlled_block(x, c, p1)
    assert np.abs(y1 - y0).max() > 1e-3                   # the output has moved
    _, g1 = cn.squared_error(y1, target)
    grads1 = cn.controlled_block_backward(x, c, p1, g1)
    for key in ("copy_w", "copy_b", "zin_w", "zin_b"):
        assert np.abs(grads1[key]).max() > 1e-4, key      # the gradient has reached them
        assert np.allclose(grads1[key], finite_difference(p1, key, x, c, target), atol=1e-6)


def test_worked_example_in_the_post():
    """Scalars: x = 1, c = 2, locked w = 0.5, b = 0.1, target 1, learning rate 0.5."""
    p = cn.init_controlnet(np.array([[0.5]]), np.array([0.1]), cond_channels=1)
    x, c, t = np.ones((1, 1, 1)), np.full((1, 1, 1), 2.0), np.ones((1, 1, 1))

    y = cn.controlled_block(x, c, p)
    loss, g = cn.squared_error(y, t)
    assert y.item() == pytest.approx(0.6, abs=1e-12) and loss == pytest.approx(0.08, abs=1e-12)
    grads = cn.controlled_block_backward(x, c, p, g)
    assert cn.relu_block(x, p["copy_w"], p["copy_b"]).item() == pytest.approx(0.6, abs=1e-12)   # h = 0.6
    assert grads["zout_w"].item() == pytest.approx(-0.24, abs=1e-12)
    assert grads["zout_b"].item() == pytest.approx(-0.4, abs=1e-12)
    assert all(grads[k].item() == 0.0 for k in ("copy_w", "copy_b", "zin_w", "zin_b"))

    p = cn.sgd_step(p, grads, lr=0.5)
    assert p["zout_w"].item() == pytest.approx(0.12, abs=1e-12)
    assert p["zout_b"].item() == pytest.approx(0.2, abs=1e-12)

    y = cn.controlled_block(x, c, p)
    _, g = cn.squared_error(y, t)
    assert y.item() == pytest.approx(0.872, abs=1e-12) and g.item() == pytest.approx(-0.128, abs=1e-12)
    # dL/dh = w_z2 g = 0.12 * (-0.128) = -0.01536; the copy's pre-activation is 0.6 > 0
    assert (p["zout_w"] * g).item() == pytest.approx(-0.01536, abs=1e-12)
    x_c = x + cn.conv1x1(c, p["zin_w"], p["zin_b"])
    assert x_c.item() == 1.0
    assert cn.conv1x1(x_c, p["copy_w"], p["copy_b"]).item() == pytest.approx(0.6, abs=1e-12)
    grads = cn.controlled_block_backward(x, c, p, g)
    expected = {"zout_w": -0.0768, "zout_b": -0.128, "copy_w": -0.01536, "copy_b": -0.01536,
                "zin_w": -0.01536, "zin_b": -0.00768}
    for key, value in expected.items():
        assert grads[key].item() == pytest.approx(value, abs=1e-12), key


def test_toy_training_numbers_in_the_post():
    run = cn.toy_training_run()
    assert len(run["loss"]) == 101
    assert run["output_change"][0] == 0.0
    assert run["zout_norm"][0] == 0.0 and run["zout_norm"][1] > 0.03
    assert run["zin_norm"][1] == 0.0 and run["copy_shift"][1] == 0.0   # step 1 cannot touch them
    assert run["zin_norm"][2] > 0 and run["copy_shift"][2] > 0
    assert run["loss"][0] == pytest.approx(0.063, abs=5e-4)
    assert run["loss"][30] == pytest.approx(0.052, abs=5e-4)
    assert run["loss"][50] == pytest.approx(0.037, abs=5e-4)
    assert run["loss"][100] == pytest.approx(0.024, abs=5e-4)
    slow, fast = run["loss"][10] - run["loss"][30], run["loss"][30] - run["loss"][50]
    assert fast > 1.2 * slow                                           # speeds up in the middle
    assert run["zin_norm"][50] > run["zout_norm"][50]                  # Z_in has overtaken Z_out
    assert np.all(np.diff(run["loss"]) < 0)                            # monotone descent
