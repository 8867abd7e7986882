"""mlnotes.flash_attention against naive attention, PyTorch, and the numbers in posts/flashattention.md."""

import math

import numpy as np
import pytest
import torch

from mlnotes import flash_attention as fa


def qkv(seed, n=37, n_k=None, d=8, d_v=5, scale=1.0):
    rng = np.random.default_rng(seed)
    n_k = n if n_k is None else n_k
    return (rng.normal(scale=scale, size=(n, d)), rng.normal(scale=scale, size=(n_k, d)),
            rng.normal(size=(n_k, d_v)))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(("block_q", "block_k"), [(1, 1), (4, 4), (5, 3), (16, 7), (37, 37), (64, 64)])
def test_tiled_equals_naive(block_q, block_k, causal):
    q, k, v = qkv(0)
    o_ref, lse_ref = fa.attention_naive(q, k, v, causal)
    o, lse = fa.attention_tiled(q, k, v, block_q, block_k, causal)
    assert np.allclose(o, o_ref, rtol=1e-12, atol=1e-12)
    assert np.allclose(lse, lse_ref, rtol=1e-12, atol=1e-12)


def test_tiled_with_more_keys_than_queries_and_large_scores():
    q, k, v = qkv(1, n=9, n_k=50, scale=30.0)     # scores in the thousands: naive exp would overflow
    o_ref, lse_ref = fa.attention_naive(q, k, v)
    for bq, bk in [(2, 3), (9, 50), (4, 11)]:
        o, lse = fa.attention_tiled(q, k, v, bq, bk)
        assert np.all(np.isfinite(o))
        assert np.allclose(o, o_ref, rtol=1e-10, atol=1e-12) and np.allclose(lse, lse_ref, rtol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
def test_naive_attention_matches_pytorch(causal):
    q, k, v = qkv(2, n=20)
    o, lse = fa.attention_naive(q, k, v, causal)
    tq, tk, tv = (torch.tensor(a) for a in (q, k, v))
    o_t = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    s_t = tq @ tk.T / math.sqrt(q.shape[1])
    if causal:
        s_t = s_t.masked_fill(torch.ones(20, 20, dtype=torch.bool).triu(1), float("-inf"))
    assert np.allclose(o, o_t.numpy(), rtol=1e-10, atol=1e-12)
    assert np.allclose(lse, torch.logsumexp(s_t, dim=1).numpy(), rtol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
def test_backward_from_lse_matches_autograd(causal):
    q, k, v = qkv(3, n=16)
    do = np.random.default_rng(4).normal(size=(16, v.shape[1]))
    o, lse = fa.attention_tiled(q, k, v, 5, 3, causal)
    dq, dk, dv = fa.attention_backward(q, k, v, o, do, lse, causal)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal).backward(torch.tensor(do))
    for mine, ref in [(dq, tq.grad), (dk, tk.grad), (dv, tv.grad)]:
        assert np.allclose(mine, ref.numpy(), rtol=1e-9, atol=1e-12)


def test_probs_recomputed_from_lse():
    q, k, v = qkv(5, n=12)
    _, lse = fa.attention_tiled(q, k, v, 4, 4, causal=True)
    p = fa.attention_probs_from_lse(q, k, lse, causal=True)
    assert np.allclose(p.sum(axis=1), 1.0) and np.all(np.triu(p, 1) == 0)
    assert np.allclose(p @ v, fa.attention_naive(q, k, v, causal=True)[0])


def test_worked_example_in_post():
    # one query, scores (1, 2 | 3) in two key blocks, values (10, 20 | 30)
    m, ell, acc = fa.block_update(np.array([-np.inf]), np.zeros(1), np.zeros((1, 1)),
                                np.array([[1.0, 2.0]]), np.array([[10.0], [20.0]]))
    # each number to half a unit in its last printed digit
    assert m[0] == 2.0
    assert ell[0] == pytest.approx(1.3679, abs=5e-5) and acc[0, 0] == pytest.approx(23.679, abs=5e-4)
    m_old = m
    m, ell, acc = fa.block_update(m, ell, acc, np.array([[3.0]]), np.array([[30.0]]))
    assert np.exp(m_old[0] - m[0]) == pytest.approx(0.3679, abs=5e-5)          # the rescaling factor
    assert m[0] == 3.0
    assert ell[0] == pytest.approx(1.5032, abs=5e-5) and acc[0, 0] == pytest.approx(38.711, abs=5e-4)
    o = acc[0, 0] / ell[0]
    assert o == pytest.approx(25.752, abs=5e-4)
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert o == pytest.approx(p @ [10.0, 20.0, 30.0], rel=1e-12)
    assert m[0] + np.log(ell[0]) == pytest.approx(3.4076, abs=5e-5)
    # the direct computation: softmax(1, 2, 3) and the weighted sum 0.900 + 4.895 + 19.957 = 25.75
    assert np.allclose(p, [0.0900, 0.2447, 0.6652], rtol=0, atol=5e-5)
    assert np.allclose(p * [10.0, 20.0, 30.0], [0.900, 4.895, 19.957], rtol=0, atol=5e-4)
    assert o == pytest.approx(25.75, abs=5e-3)


def test_causal_block_schedule():
    sched = fa.causal_block_schedule(10, 3, 4)
    assert sched.tolist() == [[1, 0, 0], [2, 1, 0], [2, 1, 1], [2, 2, 2]]
    n, b = 1024, 128                                # square blocks: T(T+1)/2 of T^2 blocks computed
    t = n // b
    assert (fa.causal_block_schedule(n, b, b) > 0).sum() == t * (t + 1) // 2
    assert (fa.causal_block_schedule(n, b, b) == 1).sum() == t         # only the diagonal is masked


def test_hbm_counts():
    assert fa.hbm_accesses_standard(1024, 64) == 4 * 1024**2 + 4 * 1024 * 64
    # N = 4096, d = 64: 4 N^2 is about 6.7e7 and 4 N d about 1.0e6
    total = fa.hbm_accesses_standard(4096, 64)
    assert total - 4 * 4096 * 64 == 4 * 4096**2 == pytest.approx(6.7e7, abs=0.05e7)
    assert total - 4 * 4096**2 == pytest.approx(1.0e6, abs=0.05e6)
    # N = 8192: S and P each have "六千七百万" (6.7e7) entries per head
    n_8192 = 8192
    assert n_8192**2 == pytest.approx(6.7e7, abs=0.05e7)
    # M: one SM's 192 KB of SRAM in 2-byte half precision
    assert 192 * 1024 // 2 == 98304
    n, d, sram = 1 << 14, 64, 98304
    ratio = fa.hbm_accesses_flash(n, d, sram) / (12 * n * n * d * d / sram)
    assert 0.95 < ratio < 1.1                       # leading term 12 N^2 d^2 / M
    # numbers quoted in the post: about 8x fewer accesses at d = 64, about 2x at d = 128
    assert fa.hbm_accesses_standard(n, 64) / fa.hbm_accesses_flash(n, 64, sram) == pytest.approx(8, rel=0.1)
    ratio64 = fa.hbm_accesses_standard(n, 64) / fa.hbm_accesses_flash(n, 64, sram)
    assert ratio64 == pytest.approx(7.6, abs=0.05)                # "1/7.6" in the post
    assert ratio64 == pytest.approx(8, abs=0.5)                   # the figure's alt text, at N = 16384
    ratio128 = fa.hbm_accesses_standard(n, 128) / fa.hbm_accesses_flash(n, 128, sram)
    assert ratio128 == pytest.approx(2, abs=0.5)                  # "约 1/2"
    # non-matmul FLOPs on the A100: 312 / 19.5 TFLOPs/s, 16 times as expensive
    matmul_peak, other_peak = 312, 19.5
    assert matmul_peak / other_peak == pytest.approx(16, abs=0.5)


def test_a100_capacity_ratios_in_post():
    """HBM 40-80 GB vs 192 KB SRAM per SM x 108 SMs (A100), as quoted in the post."""
    sm, n_sm = 192 * 1024, 108
    total = sm * n_sm
    assert total / 1e6 == pytest.approx(21, abs=0.5)                 # about 21 MB
    lo, hi = 40e9 / total, 80e9 / total
    assert round(lo, -2) == 1900 and round(hi, -2) == 3800            # about 1900-3800x
    assert round(math.log10(lo), 1) == 3.3 and round(math.log10(hi), 1) == 3.6   # 3.3-3.6 orders of magnitude
    assert round(40e9 / sm, -5) == 2e5 and round(80e9 / sm, -5) == 4e5
    assert round(math.log10(40e9 / sm), 1) == 5.3 and round(math.log10(80e9 / sm), 1) == 5.6
