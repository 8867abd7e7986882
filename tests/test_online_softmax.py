"""mlnotes.online_softmax against the two-pass safe softmax, on random, extreme and masked inputs."""

import numpy as np
import pytest

from mlnotes import online_softmax as osm


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def test_worked_example_on_concept_page():
    x = np.array([1.0, 3.0, 2.0])
    m, d = osm.online_normalizer(x)
    assert m == 3.0
    assert d == pytest.approx(1 + np.exp(-2) + np.exp(-1))
    assert d == pytest.approx(1.5032, abs=5e-5)
    assert osm.softmax_online(x) == pytest.approx([0.0900, 0.6652, 0.2447], abs=5e-5)
    # the table: factors e^{-2}, e^{-1} and the running sums d_1, d_2, d_3
    assert (np.exp(-2.0), np.exp(-1.0)) == pytest.approx((0.1353, 0.3679), abs=5e-5)
    running = [osm.online_normalizer(x[:j])[1] for j in (1, 2, 3)]
    assert running == pytest.approx([1, 1.1353, 1.5032], abs=5e-5)
    # logsumexp = m_n + log d_n
    assert m + np.log(d) == pytest.approx(logsumexp(x)) and m + np.log(d) == pytest.approx(3.4076, abs=5e-5)
    # (1000, 1001, 1002) shifts to (-2, -1, 0): the softmax of (1, 2, 3)
    for x3 in ([1000.0, 1001.0, 1002.0], [1.0, 2.0, 3.0]):
        assert osm.softmax_two_pass(np.array(x3)) == pytest.approx([0.0900, 0.2447, 0.6652], abs=5e-5)
    # the merge of [1, 3] and [2] on the page
    assert osm.merge_states(3.0, 1 + np.exp(-2.0), 2.0, 1.0)[1] == pytest.approx(d)


def test_one_pass_equals_two_pass_on_random_inputs():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        x = rng.normal(scale=rng.choice([0.1, 1.0, 30.0]), size=n)
        assert np.allclose(osm.softmax_online(x), osm.softmax_two_pass(x), rtol=1e-12, atol=0)
        m, d = osm.online_normalizer(x)
        assert m == x.max()
        assert m + np.log(d) == pytest.approx(logsumexp(x), rel=1e-12)


@pytest.mark.parametrize("x", [
    [1000.0, 1001.0, 1002.0],                # naive exp overflows
    [-1000.0, -1001.0, -1002.0],             # naive exp underflows to 0/0
    [800.0, -800.0, 0.0, 799.0],             # huge spread
    [1e308, 1e308],                          # near the float64 limit
    [5.0, -np.inf, 2.0, -np.inf],            # masked entries
    [-np.inf, -np.inf, 0.0],                 # masked before the first finite entry
    [-np.inf, 3.0],
])
def test_extreme_and_masked_inputs(x):
    x = np.array(x)
    y2, y1 = osm.softmax_two_pass(x), osm.softmax_online(x)
    assert np.all(np.isfinite(y1)) and y1.sum() == pytest.approx(1.0)
    assert np.allclose(y1, y2, rtol=1e-12, atol=1e-300)
    assert np.all(y1[np.isneginf(x)] == 0)


def test_naive_softmax_fails_where_safe_softmax_does_not():
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(osm.softmax_naive(np.array([1000.0, 1001.0]))).all()
        assert np.isnan(osm.softmax_naive(np.array([-1000.0, -1001.0]))).all()
    expected = [1 / (1 + np.e), np.e / (1 + np.e)]
    assert osm.softmax_two_pass(np.array([-1000.0, -999.0])) == pytest.approx(expected)


def test_all_masked_gives_nan_in_both():
    x = np.full(3, -np.inf)
    assert np.isnan(osm.softmax_two_pass(x)).all()
    assert np.isnan(osm.softmax_online(x)).all()
    assert osm.online_normalizer(x) == (-np.inf, 0.0)


def test_merging_any_split_equals_the_whole():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        x = rng.normal(scale=10.0, size=n)
        x[rng.random(n) < 0.2] = -np.inf
        x[rng.integers(n)] = rng.normal()              # at least one finite entry
        k = int(rng.integers(0, n))                    # number of cuts, 0 .. n-1
        cuts = sorted(rng.choice(np.arange(1, n), size=k, replace=False).tolist())
        m, d = osm.blockwise_normalizer(x, cuts)
        m_all, d_all = osm.online_normalizer(x)
        assert m == m_all and d == pytest.approx(d_all, rel=1e-12)


def test_merge_is_commutative_associative_with_identity():
    rng = np.random.default_rng(2)
    a, b, c = (osm.online_normalizer(rng.normal(scale=5, size=7)) for _ in range(3))
    ab_c = osm.merge_states(*osm.merge_states(*a, *b), *c)
    a_bc = osm.merge_states(*a, *osm.merge_states(*b, *c))
    assert np.allclose(ab_c, a_bc, rtol=1e-12)
    assert np.allclose(osm.merge_states(*a, *b), osm.merge_states(*b, *a), rtol=1e-12)
    assert np.allclose(osm.merge_states(*a, -np.inf, 0.0), a)


def test_merge_is_elementwise_over_rows():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 12))
    left = [osm.online_normalizer(r[:4]) for r in x]
    right = [osm.online_normalizer(r[4:]) for r in x]
    m, d = osm.merge_states(np.array([s[0] for s in left]), np.array([s[1] for s in left]),
                            np.array([s[0] for s in right]), np.array([s[1] for s in right]))
    for i, row in enumerate(x):
        assert m[i] == row.max() and d[i] == pytest.approx(np.exp(row - row.max()).sum())


def test_exp_underflow_thresholds():
    """The table on the concept page: where exp leaves the normal range and where it rounds to 0."""
    assert float(np.finfo(np.float64).max) / 1e308 == pytest.approx(1.8, abs=0.05)   # about 1.8e308
    for dtype, overflow, subnormal, zero in [(np.float64, 709.78, -708.40, -745.13),
                                             (np.float32, 88.72, -87.34, -103.97)]:
        fi = np.finfo(dtype)
        assert np.log(float(fi.max)) == pytest.approx(overflow, abs=0.005)
        assert np.log(float(fi.tiny)) == pytest.approx(subnormal, abs=0.005)          # ln 2^-1022, ln 2^-126
        half_smallest = np.log(float(fi.smallest_subnormal)) - np.log(2)              # ln 2^-1075, ln 2^-150
        assert half_smallest == pytest.approx(zero, abs=0.005)
        with np.errstate(under="ignore", over="ignore"):
            assert np.isinf(np.exp(dtype(overflow + 0.01)))
            assert np.isfinite(np.exp(dtype(overflow - 0.01)))
            assert np.exp(dtype(subnormal + 0.01)) >= fi.tiny                          # still normal
            assert 0 < np.exp(dtype(subnormal - 0.01)) < fi.tiny                       # subnormal
            assert np.exp(dtype(zero + 0.01)) > 0
            assert np.exp(dtype(zero - 0.01)) == 0
