"""mlnotes.xgboost_lite against hand calculation (the worked example of posts/gbdt-to-xgboost.md),
finite differences, brute force and the xgboost library itself."""

import json

import numpy as np
import pytest
import xgboost as xgb

from mlnotes import xgboost_lite as xg

# The worked example of the post: four points, squared loss, base score 0, lambda = 1, gamma = 0.
X4 = np.array([[1.0], [2.0], [3.0], [4.0]])
Y4 = np.array([1.0, 1.0, 3.0, 5.0])


def test_worked_example_gradients_and_root():
    g, h = xg.squared_grad_hess(Y4, np.zeros(4))
    assert g.tolist() == [-1.0, -1.0, -3.0, -5.0]
    assert h.tolist() == [1.0, 1.0, 1.0, 1.0]
    G, H = g.sum(), h.sum()                                          # -10, 4
    assert xg.leaf_weight(G, H, 1.0) == pytest.approx(2.0)           # 10 / 5
    assert xg.structure_score(G, H, 1.0, 0.0) == pytest.approx(-10.0)  # -1/2 * 100 / 5


def test_worked_example_split_gains():
    g, h = xg.squared_grad_hess(Y4, np.zeros(4))
    GL, HL = np.cumsum(g)[:-1], np.cumsum(h)[:-1]                    # cuts at 1.5, 2.5, 3.5
    gains = xg.split_gain(GL, HL, g.sum() - GL, h.sum() - HL, lam=1.0, gamma=0.0)
    assert gains == pytest.approx([0.375, 4 / 3, -0.625])
    assert gains[1] == pytest.approx(1.333, abs=5e-4)
    # the bracket terms printed for each cut: G_L^2/(H_L+lambda), G_R^2/(H_R+lambda); parent 100/5
    terms = np.stack([GL**2 / (HL + 1.0), (g.sum() - GL) ** 2 / (h.sum() - HL + 1.0)], axis=1)
    assert terms.ravel() == pytest.approx([0.5, 20.25, 4 / 3, 64 / 3, 6.25, 12.5])
    assert g.sum() ** 2 / (h.sum() + 1.0) == pytest.approx(20.0)
    gain, thr, _ = xg.best_split(X4[:, 0], g, h, lam=1.0, gamma=0.0)
    assert (gain, thr) == pytest.approx((4 / 3, 2.5))
    # gain = score(parent) - score(children)
    children = xg.structure_score(np.array([-2.0, -8.0]), np.array([2.0, 2.0]), 1.0, 0.0)
    assert children == pytest.approx(-34 / 3)
    assert xg.structure_score(-10.0, 4.0, 1.0, 0.0) - children == pytest.approx(gain)
    # without regularisation the same cut gains 4.5 and the leaves are the plain means 1 and 4
    assert xg.best_split(X4[:, 0], g, h, lam=0.0, gamma=0.0)[0] == pytest.approx(4.5)


def test_worked_example_tree_and_gamma():
    g, h = xg.squared_grad_hess(Y4, np.zeros(4))
    tree = xg.fit_tree(X4, g, h, max_depth=1, lam=1.0, gamma=0.0)
    assert xg.tree_predict(tree, X4) == pytest.approx([2 / 3, 2 / 3, 8 / 3, 8 / 3])
    assert xg.tree_predict(xg.fit_tree(X4, g, h, max_depth=1, lam=0.0), X4) == pytest.approx([1, 1, 4, 4])
    # gamma = 1: gain 4/3 - 1 > 0, still split; gamma = 1.5: pruned, one leaf with weight 2
    assert xg.fit_tree(X4, g, h, max_depth=1, lam=1.0, gamma=1.0)["feature"][0] == 0
    pruned = xg.fit_tree(X4, g, h, max_depth=1, lam=1.0, gamma=1.5)
    assert pruned["feature"].tolist() == [-1]
    assert xg.tree_predict(pruned, X4) == pytest.approx([2.0] * 4)


def test_worked_example_one_round_of_boosting():
    """eta = 1: the mean loss drops from 36/8 = 4.5 to 0.7222 after one round (boost's doctest too)."""
    history = xg.boost(X4, Y4, "squared", n_rounds=1, eta=1.0, max_depth=1, lam=1.0)["history"]
    assert history[0] == pytest.approx(36 / 8) == 4.5
    assert history[1] == pytest.approx(0.7222, abs=5e-5)


def test_one_leaf_without_lambda_is_the_mean_residual():
    rng = np.random.default_rng(0)
    y, margin = rng.standard_normal((2, 50))
    g, h = xg.squared_grad_hess(y, margin)
    tree = xg.fit_tree(rng.standard_normal((50, 3)), g, h, max_depth=0, lam=0.0)
    assert tree["value"][0] == pytest.approx(np.mean(y - margin))
    assert xg.leaf_weight(g.sum(), h.sum(), 0.0) == pytest.approx(np.mean(y - margin))


@pytest.mark.parametrize("name", ["squared", "logistic"])
def test_grad_hess_by_finite_differences(name):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 30).astype(float) if name == "logistic" else rng.standard_normal(30)
    m = 2 * rng.standard_normal(30)
    g, h = {"squared": xg.squared_grad_hess, "logistic": xg.logistic_grad_hess}[name](y, m)
    eps = 1e-4

    def per_point(mm):
        return np.array([xg.loss(name, y[i:i + 1], mm[i:i + 1]) for i in range(len(y))])

    fd_g = (per_point(m + eps) - per_point(m - eps)) / (2 * eps)
    fd_h = (per_point(m + eps) - 2 * per_point(m) + per_point(m - eps)) / eps**2
    assert np.allclose(g, fd_g, atol=1e-6)
    assert np.allclose(h, fd_h, atol=1e-4)


def test_logistic_worked_numbers():
    g, h = xg.logistic_grad_hess(np.array([1.0, 0.0]), np.array([0.0, np.log(3.0)]))
    assert g == pytest.approx([-0.5, 0.75])                         # p = 1/2 and p = 3/4
    assert h == pytest.approx([0.25, 0.1875])


def test_leaf_weight_minimises_the_quadratic():
    rng = np.random.default_rng(2)
    for G, H, lam in zip(rng.normal(size=5), rng.uniform(0.1, 5, 5), rng.uniform(0, 2, 5), strict=True):
        w = np.linspace(-20, 20, 400_001)
        q = G * w + 0.5 * (H + lam) * w**2
        assert w[np.argmin(q)] == pytest.approx(xg.leaf_weight(G, H, lam), abs=1e-4)
        assert q.min() == pytest.approx(-0.5 * G**2 / (H + lam), rel=1e-6)


def test_best_split_matches_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(10):
        x = np.round(rng.standard_normal(30), 1)
        x[rng.random(30) < 0.2] = np.nan
        g, h = rng.standard_normal(30), rng.uniform(0.1, 1, 30)
        miss = np.isnan(x)
        best = -np.inf
        for thr in np.unique(x[~miss]):
            for default_left in (False, True):
                left = np.where(miss, default_left, x < thr)
                if left.all() or not left.any() or not (x[~miss] < thr).any():
                    continue
                score = [-0.5 * g[m].sum() ** 2 / (h[m].sum() + 1.0)
                         for m in (np.ones(30, bool), left, ~left)]
                best = max(best, score[0] - score[1] - score[2] - 0.1)
        assert xg.best_split(x, g, h, lam=1.0, gamma=0.1)[0] == pytest.approx(best)


def test_missing_values_learn_their_direction():
    x = np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.nan])
    h = np.ones(6)
    # missing points behave like the large-x points (positive gradient): they should go right
    g = np.array([-1.0, -1.0, 1.0, 1.0, 1.0, 1.0])
    gain, thr, default_left = xg.best_split(x, g, h, lam=1.0, gamma=0.0)
    assert (thr, default_left) == (2.5, False)
    # ... and here they behave like the small-x points: they should go left
    g2 = np.array([-1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    gain, thr, default_left = xg.best_split(x, g2, h, lam=1.0, gamma=0.0)
    assert (thr, default_left) == (2.5, True)
    tree = xg.fit_tree(x[:, None], g2, h, max_depth=1, lam=1.0)
    pred = xg.tree_predict(tree, np.array([[np.nan], [1.0], [4.0]]))
    assert pred[0] == pred[1] != pred[2]


def test_second_order_model_is_exact_for_squared_loss():
    """For squared loss the Taylor expansion has no remainder: the loss drops by exactly -obj/n."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 2))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(60)
    margin = np.zeros(60)
    g, h = xg.squared_grad_hess(y, margin)
    tree = xg.fit_tree(X, g, h, max_depth=3, lam=0.0)
    f = xg.tree_predict(tree, X)
    taylor = xg.loss("squared", y, margin) + np.mean(g * f + 0.5 * h * f**2)
    assert xg.loss("squared", y, margin + f) == pytest.approx(taylor)


@pytest.mark.parametrize("eta", [1.0, 0.3, 0.1])
def test_boosting_reduces_squared_loss_monotonically(eta):
    rng = np.random.default_rng(5)
    X = rng.uniform(0, 6, (80, 1))
    y = np.sin(X[:, 0]) + 0.2 * rng.standard_normal(80)
    hist = xg.boost(X, y, "squared", n_rounds=40, eta=eta, max_depth=2, lam=1.0)["history"]
    assert np.all(np.diff(hist) < 0)


def test_boosting_reduces_logistic_loss_monotonically():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((120, 2))
    y = (X[:, 0] * X[:, 1] + 0.3 * rng.standard_normal(120) > 0).astype(float)
    model = xg.boost(X, y, "logistic", n_rounds=30, eta=0.3, max_depth=3, lam=1.0)
    assert model["history"][0] == pytest.approx(np.log(2.0))
    assert np.all(np.diff(model["history"]) < 0)
    assert np.mean((xg.predict(model, X) > 0) != y) < 0.1


def test_column_subsampling_uses_a_subset_of_features():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((100, 6))
    g, h = rng.standard_normal(100), np.ones(100)
    tree = xg.fit_tree(X, g, h, max_depth=4, colsample=0.5, rng=rng)
    used = set(tree["feature"][tree["feature"] >= 0].tolist())
    assert 0 < len(used) <= 3


def test_weighted_quantile_candidates_follow_the_hessian():
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 1, 2000)
    h = np.where(x < 0.5, 0.01, 1.0)                                 # nearly all hessian mass right of 0.5
    cand = xg.weighted_quantile_candidates(x, h, eps=0.05)
    assert 15 <= len(cand) <= 25
    assert np.sum(cand > 0.5) > 4 * np.sum(cand < 0.5)
    rank = lambda z: h[x < z].sum() / h.sum()                        # noqa: E731
    gaps = np.diff([rank(c) for c in cand])
    assert np.all(gaps <= 0.05 + h.max() / h.sum())


def _sine_data():
    """The 1-D data of the post's figure: 80 training points and 500 validation points."""
    rng = np.random.default_rng(0)
    X = np.sort(rng.uniform(0, 6, 80))[:, None]
    y = np.sin(X[:, 0]) + 0.2 * rng.standard_normal(80)
    Xv = rng.uniform(0, 6, (500, 1))
    yv = np.sin(Xv[:, 0]) + 0.2 * rng.standard_normal(500)
    return X, y, Xv, yv


def test_shrinkage_experiment_in_post():
    X, y, Xv, yv = _sine_data()
    best = {}
    for eta in (1.0, 0.3, 0.1):
        model = xg.boost(X, y, "squared", n_rounds=100, eta=eta, max_depth=2, lam=1.0)
        val = [xg.loss("squared", yv, xg.predict(model, Xv, rounds=T)) for T in range(101)]
        best[eta] = (int(np.argmin(val)), round(min(val), 4), round(val[-1], 4))
    assert best[1.0] == (4, 0.0272, 0.0375)      # eta = 1: best after 4 rounds, then overfits
    assert best[0.3] == (15, 0.0241, 0.0308)
    assert best[0.1] == (57, 0.025, 0.0258)


# ---------------------------------------------------------------------------------------------
# Against the real library (xgboost, CPU build, pinned in requirements-test.txt).  The exact greedy
# updater ("grow_colmaker,prune") is the one the NumPy version mirrors.  base_score = 0: since 2.0
# the library would otherwise estimate the intercept from the labels (2.5 here); min_child_weight
# = 0 matches fit_tree's default (the library's default is 1).

def _xgb_params(**kw):
    return {"objective": "reg:squarederror", "tree_method": "exact", "base_score": 0.0, "eta": 1.0,
            "max_depth": 1, "lambda": 1.0, "min_child_weight": 0.0, "gamma": 0.0, **kw}


def _xgb_train(X, y, n_rounds=1, **kw):
    return xgb.train(_xgb_params(**kw), xgb.DMatrix(X, label=y), num_boost_round=n_rounds)


# The dump quoted in the post (XGBoost 3.2, float32 statistics).
XGB_DUMP = ("0:[f0<2.5] yes=1,no=2,missing=1,gain=2.66666794,cover=4\n"
            "\t1:leaf=0.666666687,cover=2\n"
            "\t2:leaf=2.66666675,cover=2\n")


def test_xgboost_library_worked_example():
    booster = _xgb_train(X4, Y4)
    assert booster.get_dump(with_stats=True)[0] == XGB_DUMP
    node = json.loads(booster.get_dump(dump_format="json", with_stats=True)[0])
    g, h = xg.squared_grad_hess(Y4, np.zeros(4))
    gain, thr, _ = xg.best_split(X4[:, 0], g, h, lam=1.0, gamma=0.0)
    tree = xg.fit_tree(X4, g, h, max_depth=1, lam=1.0)
    # same cut, same leaves; the library's "gain" is the bracket without the 1/2, i.e. twice ours
    assert node["split_condition"] == thr == 2.5
    assert [c["leaf"] for c in node["children"]] == pytest.approx(tree["value"][1:].tolist(), rel=1e-6)
    assert node["gain"] == pytest.approx(2 * gain, rel=1e-6)              # 8/3 = 2 * 4/3
    assert booster.predict(xgb.DMatrix(X4)) == pytest.approx(xg.tree_predict(tree, X4), rel=1e-6)


def test_xgboost_library_estimates_base_score_unless_given():
    params = {k: v for k, v in _xgb_params().items() if k != "base_score"}
    booster = xgb.train(params, xgb.DMatrix(X4, label=Y4), num_boost_round=1)
    config = json.loads(booster.save_config())["learner"]["learner_model_param"]
    assert float(config["base_score"].strip("[]")) == 2.5                # mean of y, one Newton step
    node = json.loads(booster.get_dump(dump_format="json", with_stats=True)[0])
    g, h = xg.squared_grad_hess(Y4, np.full(4, 2.5))
    assert node["gain"] == pytest.approx(2 * xg.best_split(X4[:, 0], g, h, lam=1.0, gamma=0.0)[0])  # 6 = 2*3


def test_xgboost_library_gamma_is_compared_with_twice_our_gain():
    g, h = xg.squared_grad_hess(Y4, np.zeros(4))
    for gamma in (0.0, 0.75, 1.3, 1.4, 1.5, 2.0):
        ours = xg.fit_tree(X4, g, h, max_depth=1, lam=1.0, gamma=gamma)
        lib = _xgb_train(X4, Y4, gamma=2 * gamma).get_dump()[0]
        assert (ours["feature"][0] == 0) == lib.startswith("0:[f0<2.5]"), gamma
    # the post's gamma = 1.5 prunes our tree, but the library still splits: 8/3 > 1.5
    assert _xgb_train(X4, Y4, gamma=1.5).get_dump()[0].startswith("0:[f0<2.5]")
    assert _xgb_train(X4, Y4, gamma=3.0).get_dump()[0] == "0:leaf=2\n"


def test_xgboost_library_hist_default_cuts_at_a_bin_boundary():
    params = {k: v for k, v in _xgb_params().items() if k != "tree_method"}   # the default is hist
    booster = xgb.train(params, xgb.DMatrix(X4, label=Y4), num_boost_round=1)
    hist = _xgb_train(X4, Y4, tree_method="hist")
    assert booster.get_dump(with_stats=True) == hist.get_dump(with_stats=True)
    node = json.loads(booster.get_dump(dump_format="json")[0])
    assert node["split_condition"] == 3.0                                # exact: 2.5; same partition
    assert [c["leaf"] for c in node["children"]] == pytest.approx([2 / 3, 8 / 3], rel=1e-6)


def test_xgboost_library_exact_prunes_after_growing():
    """A weak root split above two strong ones: the exact method grows the tree and then prunes only
    nodes whose children are both leaves, so it keeps the root; fit_tree (like tree_method="hist")
    stops at the root."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([1.0, -1.0, -1.0, 1.5])
    g, h = xg.squared_grad_hess(y, np.zeros(4))
    assert xg.fit_tree(X, g, h, max_depth=2, lam=1.0, gamma=0.25)["feature"].tolist() == [-1]
    exact = _xgb_train(X, y, max_depth=2, gamma=0.5)
    root = json.loads(exact.get_dump(dump_format="json", with_stats=True)[0])
    assert root["split"] == "f0" and root["gain"] < 0.5                   # kept although gain < gamma
    assert all(c["gain"] > 0.5 for c in root["children"])
    assert exact.predict(xgb.DMatrix(X)) == pytest.approx(
        xg.tree_predict(xg.fit_tree(X, g, h, max_depth=2, lam=1.0), X), rel=1e-6)
    hist = _xgb_train(X, y, max_depth=2, gamma=0.5, tree_method="hist")
    assert hist.get_dump()[0] == "0:leaf=0.100000001\n"


@pytest.mark.parametrize("loss_name", ["squared", "logistic"])
def test_xgboost_library_agrees_over_many_rounds(loss_name):
    rng = np.random.default_rng(9)
    X = rng.standard_normal((150, 3)).astype(np.float32).astype(float)  # the library stores float32
    noise = rng.standard_normal(150)
    if loss_name == "squared":
        y, kw = np.sin(2 * X[:, 0]) + X[:, 1] + 0.2 * noise, {}
    else:                                                                # base_score 0.5 = margin 0
        y, kw = (X[:, 0] * X[:, 1] + 0.3 * noise > 0).astype(float), {"objective": "binary:logistic",
                                                                      "base_score": 0.5}
    booster = _xgb_train(X, y, n_rounds=20, eta=0.3, max_depth=3, **kw)
    model = xg.boost(X, y, loss_name, n_rounds=20, eta=0.3, max_depth=3, lam=1.0)
    margin = booster.predict(xgb.DMatrix(X), output_margin=True)
    assert np.max(np.abs(margin - xg.predict(model, X))) < 1e-5
