"""mlnotes.mixed_precision against np.finfo, torch.finfo, torch.amp.GradScaler and the post's numbers."""

import numpy as np
import pytest
import torch

from mlnotes import mixed_precision as mp


@pytest.mark.parametrize(("name", "np_dtype"), [("fp16", np.float16), ("fp32", np.float32)])
def test_format_range_matches_numpy(name, np_dtype):
    r = mp.format_range(*mp.FORMATS[name])
    fi = np.finfo(np_dtype)
    assert r["max"] == float(fi.max)
    assert r["min_normal"] == float(fi.smallest_normal)
    assert r["min_subnormal"] == float(fi.smallest_subnormal)
    assert r["eps"] == float(fi.eps)


@pytest.mark.parametrize(("name", "torch_dtype"),
                         [("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp32", torch.float32)])
def test_format_range_matches_torch(name, torch_dtype):
    r = mp.format_range(*mp.FORMATS[name])
    fi = torch.finfo(torch_dtype)
    assert r["max"] == fi.max
    assert r["min_normal"] == fi.smallest_normal
    assert r["eps"] == fi.eps
    # the smallest subnormal really is representable, and half of it rounds to zero
    tiny = torch.tensor(r["min_subnormal"], dtype=torch.float64)
    assert tiny.to(torch_dtype).item() == r["min_subnormal"]
    assert (tiny / 2).to(torch_dtype).item() == 0.0


def test_worked_numbers_in_post():
    fp16, bf16, fp32 = (mp.format_range(*mp.FORMATS[k]) for k in ("fp16", "bf16", "fp32"))
    assert fp16["bias"] == 15 and bf16["bias"] == fp32["bias"] == 127
    assert fp16["max"] == 65504.0
    assert fp16["min_normal"] == 2.0 ** -14 == pytest.approx(6.10e-5, abs=0.005e-5)
    assert fp16["min_normal"] == pytest.approx(6.1e-5, abs=0.05e-5)        # the summary
    assert fp16["min_subnormal"] == 2.0 ** -24 == pytest.approx(5.96e-8, abs=0.005e-8)
    assert fp16["eps"] == 2.0 ** -10 == pytest.approx(9.8e-4, abs=0.05e-4)
    assert bf16["max"] == pytest.approx(3.39e38, abs=0.005e38)
    # "FP16's range is only about [6e-8, 6.6e4]"
    assert fp16["min_subnormal"] == pytest.approx(6e-8, abs=0.5e-8)
    assert fp16["max"] == pytest.approx(6.6e4, abs=0.05e4)
    assert bf16["min_normal"] == fp32["min_normal"] == 2.0 ** -126
    assert bf16["min_subnormal"] == 2.0 ** -133
    assert bf16["eps"] == 2.0 ** -7 == 0.0078125 == pytest.approx(0.0078, abs=5e-5)
    assert bf16["eps"] / fp16["eps"] == 8                             # BF16 is 8 times coarser
    # 1 + 1e-4: lost in FP16 (and in BF16), kept in FP32
    assert mp.add_in(np.float16, 1.0, 1e-4) == 1.0
    assert (torch.tensor(1.0, dtype=torch.bfloat16) + 1e-4).item() == 1.0
    assert mp.add_in(np.float32, 1.0, 1e-4) == pytest.approx(1.0001, abs=1e-7)
    gap, lost = mp.spacing_at_one(10)
    assert gap == 2.0 ** -10 and lost == 2.0 ** -11
    assert mp.add_in(np.float16, 1.0, lost) == 1.0                     # a tie rounds to even
    assert mp.add_in(np.float16, 1.0, lost * 1.01) == 1.0 + gap
    assert 1 / lost == 2048                                           # weight/update ratio
    # overflow and underflow
    with np.errstate(over="ignore"):
        assert np.isinf(np.float16(70000.0))
        assert np.float16(65519.0) == 65504.0 and np.isinf(np.float16(65520.0))
    assert np.float16(2.0 ** -25) == 0.0 and np.float16(1e-8) == 0.0
    half_min_subnormal = 2.0 ** -25
    assert half_min_subnormal == pytest.approx(3e-8, abs=0.5e-8)


def test_underflow_fraction_against_naive_loop():
    rng = np.random.default_rng(0)
    g = np.exp(rng.normal(np.log(2.0 ** -24), 2.0, size=5000)) * rng.choice([-1, 1], 5000)
    for scale in (1.0, 2.0 ** 8):
        naive = sum(float(np.float16(v * scale)) == 0.0 for v in g) / g.size
        assert mp.underflow_fraction(g, scale) == pytest.approx(naive)
    assert mp.underflow_fraction(g, 2.0 ** 8) < 0.05 < 0.3 < mp.underflow_fraction(g)


def test_update_loss_scale_rules():
    assert mp.update_loss_scale(65536.0, 1999, False) == (131072.0, 0)   # PyTorch's defaults
    assert mp.update_loss_scale(65536.0, 10, False) == (65536.0, 11)
    assert mp.update_loss_scale(65536.0, 1999, True) == (32768.0, 0)
    scaler = torch.amp.GradScaler("cpu")                                   # the defaults the post quotes
    assert scaler.get_growth_factor() == 2.0 and scaler.get_backoff_factor() == 0.5
    assert scaler.get_growth_interval() == 2000
    scaler.scale(torch.tensor(1.0))
    assert scaler.get_scale() == 2.0 ** 16 == 65536


def overflow_sequence():
    """A gradient stream with a burst of large gradients in the middle (steps 6-8)."""
    rng = np.random.default_rng(1)
    g = rng.normal(scale=1e-3, size=(20, 4))
    g[6:9, 1] = [30.0, 60.0, 20.0]
    return g


def test_dynamic_scaler_on_overflow_sequence():
    g = overflow_sequence()
    w, scales, skipped = mp.loss_scaled_sgd(np.ones(4), g, 0.1, 2.0 ** 14, growth_interval=3)
    # steps 6-8: 30 * 2^16, 60 * 2^15 and 20 * 2^14 all exceed 65504; at step 9 the burst is over
    assert np.flatnonzero(skipped).tolist() == [6, 7, 8]
    assert (scales[:13] / 1024).tolist() == [16, 16, 16, 32, 32, 32, 64, 32, 16, 8, 8, 8, 16]
    for t, s in enumerate(skipped):
        assert s == (np.max(np.abs(g[t])) * scales[t] > 65519.0)
    assert np.all(np.isfinite(w))
    # a skipped step leaves the weights unchanged and halves the scale
    for t in np.flatnonzero(skipped):
        assert np.array_equal(w[t + 1], w[t])
        assert scales[t + 1] == scales[t] / 2
    assert 30 * scales[6] == pytest.approx(2.0e6, abs=0.05e6)              # the numbers in the text
    assert 20 * scales[8] == pytest.approx(3.3e5, abs=0.05e5)


def test_dynamic_scaler_matches_torch_grad_scaler():
    g = overflow_sequence()
    init, interval, lr = 2.0 ** 14, 3, 0.1
    w, scales, skipped = mp.loss_scaled_sgd(np.ones(4), g, lr, init, growth_interval=interval)
    p = torch.nn.Parameter(torch.ones(4))
    opt = torch.optim.SGD([p], lr=lr)
    scaler = torch.amp.GradScaler("cpu", init_scale=init, growth_interval=interval)
    for t in range(len(g)):
        opt.zero_grad()
        scaler.scale(torch.tensor(1.0))                  # initialises the scale, as a loss would
        assert scaler.get_scale() == scales[t]
        with np.errstate(over="ignore"):
            g16 = (g[t] * scaler.get_scale()).astype(np.float16)   # the FP16 backward pass
        p.grad = torch.tensor(g16.astype(np.float32))
        scaler.step(opt)                                  # unscales, skips on inf
        scaler.update()
        assert np.allclose(p.detach().numpy(), w[t + 1], rtol=1e-6, atol=1e-7), t
    assert scaler.get_scale() == scales[-1]
    assert skipped.sum() >= 2


def test_unscaled_update_equals_fp32_update_without_underflow():
    """Loss scaling is exact (powers of two) when nothing under- or overflows."""
    g = np.full((1, 3), 3e-6)                            # subnormal in FP16 without scaling
    w_scaled, _, _ = mp.loss_scaled_sgd(np.zeros(3), g, 1.0, 2.0 ** 16, growth_interval=10)
    w_unscaled, _, _ = mp.loss_scaled_sgd(np.zeros(3), g, 1.0, 1.0, growth_interval=10)
    assert w_scaled[1] == pytest.approx(-3e-6, rel=1e-3)
    assert abs(w_unscaled[1, 0] + 3e-6) > 1e-8              # subnormal rounding error
    g = np.full((1, 3), 1e-8)
    w_lost, _, _ = mp.loss_scaled_sgd(np.zeros(3), g, 1.0, 1.0, growth_interval=10)
    assert np.all(w_lost[1] == 0.0)                         # underflowed: no update at all


def test_autocast_cpu_runs_matmul_in_bfloat16():
    a = torch.randn(4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = a @ a
    assert a.dtype == torch.float32 and out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), a @ a, rtol=2e-2, atol=5e-2)


def test_histogram_numbers_in_caption():
    rng = np.random.default_rng(0)
    g = 2.0 ** rng.normal(-22.0, 3.0, size=20000)
    assert mp.underflow_fraction(g) == pytest.approx(0.16, abs=0.005)          # "about 16%"
    assert mp.underflow_fraction(g, 2.0 ** 8) == pytest.approx(0.0002, abs=0.0001)   # "about 0.02%"
    assert np.max(g * 2.0 ** 8) < 65504


def _fp16_sum(w: np.ndarray, d: np.ndarray) -> np.ndarray:
    """w + d rounded once to FP16 (the float64 sum of these operands is exact or far from a tie)."""
    with np.errstate(over="ignore"):
        return (w.astype(np.float64) + d).astype(np.float16)


def test_update_lost_exactly_when_at_most_half_an_ulp_fp16():
    """The exact rule in the post, checked on every positive normal FP16 weight."""
    bits = np.arange(0x0400, 0x7C00, dtype=np.uint16)             # 2^-14 .. 65504
    w = bits.view(np.float16)
    k = np.floor(np.log2(w.astype(np.float64)))
    ulp = 2.0 ** (k - 10)
    assert np.array_equal(np.spacing(w[:-1]).astype(np.float64), ulp[:-1])  # gap above |w| (65504: inf)
    even = (bits & 1) == 0
    pow2_above_min = (bits & 0x3FF) == 0
    pow2_above_min[0] = False                                       # below 2^-14 the gap is 2^-24 too
    for f in (0.24, 0.25, 0.26, 0.49, 0.5, 0.51):
        away = _fp16_sum(w, f * ulp) == w                           # pushed away from 0
        toward = _fp16_sum(w, -f * ulp) == w                        # pushed toward 0
        expect = (f < 0.5) | ((f == 0.5) & even)
        assert np.array_equal(away, expect), f
        expect_toward = np.where(pow2_above_min, f <= 0.25, expect)  # a tie at w = 2^k goes to w
        assert np.array_equal(toward, expect_toward), f


def test_weight_to_update_ratio_thresholds():
    """Below 2^(m+1) an update is never lost, from 2^(m+2) on it always is; in between it depends."""
    assert 2 ** 11 == 2048 and 2 ** 12 == 4096 and 2 ** 8 == 256 and 2 ** 9 == 512
    rng = np.random.default_rng(0)
    w = np.arange(0x0400, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float64)
    for sign in (1.0, -1.0):
        small = rng.uniform(1.0, 2047.9, size=w.size)
        large = rng.uniform(4096.0, 1e5, size=w.size)
        assert np.all(_fp16_sum(w, sign * w / small) != w)
        assert np.all(_fp16_sum(w, sign * w / large) == w)
    between = _fp16_sum(w, w / 3000.0) == w
    assert between.any() and not between.all()                     # 2048 is only approximate
    # BF16 (7 mantissa bits): the thresholds are 2^8 and 2^9
    wb = np.array([(1 + m / 128) * 2.0 ** k for m in range(128) for k in range(-20, 21)])
    assert np.array_equal(torch.tensor(wb).to(torch.bfloat16).double().numpy(), wb)

    def bf16_sum(d):
        return torch.tensor((wb + d).astype(np.float32)).to(torch.bfloat16).double().numpy()

    for sign in (1.0, -1.0):
        assert np.all(bf16_sum(sign * wb / rng.uniform(1.0, 255.9, size=wb.size)) != wb)
        assert np.all(bf16_sum(sign * wb / rng.uniform(512.0, 1e4, size=wb.size)) == wb)
    between = bf16_sum(wb / 384.0) == wb
    assert between.any() and not between.all()
