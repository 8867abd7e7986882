"""mlnotes.ensemble against brute force, closed forms and the numbers in posts/ensemble-learning.md."""

import itertools

import numpy as np
import pytest

from mlnotes import ensemble as e


def test_worked_example_in_post():
    """Five points, uniform weights, the stump gets the last one wrong: eps = 0.2."""
    w = np.full(5, 0.2)
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    h = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
    eps = float(np.sum(w * (h != y)))
    assert eps == pytest.approx(0.2)
    alpha = e.adaboost_alpha(eps)
    assert alpha == pytest.approx(np.log(2.0))                       # 0.5 ln(0.8 / 0.2) = ln 2
    w_new, z_norm = e.adaboost_reweight(w, y, h, alpha)
    # correct points: 0.2 * e^{-ln 2} = 0.1; the wrong one: 0.2 * e^{ln 2} = 0.4; Z = 0.8
    assert z_norm == pytest.approx(0.8)
    assert z_norm == pytest.approx(2 * np.sqrt(eps * (1 - eps)))
    assert w_new == pytest.approx([0.125, 0.125, 0.125, 0.125, 0.5])


@pytest.mark.parametrize("eps", [0.05, 0.2, 0.3, 0.45])
def test_alpha_minimises_exponential_loss(eps):
    """alpha = 0.5 ln((1-eps)/eps) is the minimiser of Z(alpha) = (1-eps) e^-alpha + eps e^alpha."""
    grid = np.linspace(-1, 3, 400_001)
    Z = (1 - eps) * np.exp(-grid) + eps * np.exp(grid)
    assert grid[np.argmin(Z)] == pytest.approx(e.adaboost_alpha(eps), abs=1e-4)
    assert Z.min() == pytest.approx(2 * np.sqrt(eps * (1 - eps)), rel=1e-8)


def test_reweighting_makes_the_last_learner_a_coin_flip():
    """Under the new weights the stump just used has weighted error exactly 1/2."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = 30
        y = rng.choice([-1.0, 1.0], n)
        h = np.where(rng.random(n) < 0.3, -y, y)
        w = rng.random(n)
        w /= w.sum()
        eps = float(np.sum(w * (h != y)))
        w_new, z_norm = e.adaboost_reweight(w, y, h, e.adaboost_alpha(eps))
        assert np.sum(w_new * (h != y)) == pytest.approx(0.5)
        assert z_norm == pytest.approx(2 * np.sqrt(eps * (1 - eps)))
        assert w_new.sum() == pytest.approx(1.0)


def test_stump_matches_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(10):
        X = np.round(rng.standard_normal((25, 3)), 1)                # rounding creates ties
        y = rng.choice([-1.0, 1.0], 25)
        w = rng.random(25)
        w /= w.sum()
        stump = e.fit_stump(X, y, w)
        best = np.inf
        for j in range(3):
            values = np.unique(X[:, j])
            for theta, s in itertools.product(np.concatenate([[values[0] - 1], values]), (1.0, -1.0)):
                h = s * np.where(X[:, j] >= theta, 1.0, -1.0)
                best = min(best, float(np.sum(w * (h != y))))
        assert stump[3] == pytest.approx(best)
        assert np.sum(w * (e.stump_predict(stump, X) != y)) == pytest.approx(stump[3])


def test_tree_split_matches_brute_force():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 2))
    y = rng.choice([-1.0, 1.0], 40)
    tree = e.fit_tree(X, y, max_depth=1)
    f = e.tree_predict(tree, X)
    best = np.inf
    for j in range(2):
        for theta in X[:, j]:
            left = X[:, j] < theta
            if left.all() or not left.any():
                continue
            sse = np.sum((y[left] - y[left].mean()) ** 2) + np.sum((y[~left] - y[~left].mean()) ** 2)
            best = min(best, sse)
    assert np.sum((y - f) ** 2) == pytest.approx(best)


def test_deep_tree_memorises_distinct_points():
    X, y = e.two_moons(80, noise=0.3, seed=3)
    assert np.array_equal(e.tree_predict(e.fit_tree(X, y, max_depth=30), X), y)


def test_adaboost_training_error_and_bound():
    X, y = e.two_moons(200, noise=0.25, seed=0)
    model = e.adaboost_fit(X, y, n_rounds=60)
    bound = e.adaboost_bound(model["errors"])
    assert np.all(np.asarray(model["errors"]) < 0.5)
    assert np.all(np.diff(bound) < 0)                                # the bound strictly decreases
    exp_loss, zero_one = [], []
    for T in range(1, 61):
        F = e.adaboost_predict(model, X, rounds=T)
        exp_loss.append(np.mean(np.exp(-y * F)))
        zero_one.append(np.mean(np.sign(F) != y))
    # mean exponential loss after T rounds is exactly prod Z_t = prod 2 sqrt(eps (1 - eps))
    assert np.allclose(exp_loss, np.cumprod(model["Z"]))
    assert np.allclose(exp_loss, bound)
    assert np.all(np.asarray(zero_one) <= bound + 1e-12)             # 1[yF<=0] <= exp(-yF)
    assert np.all(np.diff(exp_loss) < 0)
    assert zero_one[-1] < zero_one[0] / 2                            # well below a single stump


def test_averaged_variance_closed_form_by_monte_carlo():
    rng = np.random.default_rng(4)
    sigma2, rho, B = 2.0, 0.3, 10
    cov = sigma2 * (rho * np.ones((B, B)) + (1 - rho) * np.eye(B))
    f = rng.multivariate_normal(np.zeros(B), cov, size=200_000)      # (N, B)
    assert f.mean(axis=1).var() == pytest.approx(e.averaged_variance(sigma2, rho, B), rel=0.02)
    assert e.averaged_variance(sigma2, 0.0, B) == pytest.approx(sigma2 / B)
    assert e.averaged_variance(sigma2, 1.0, B) == pytest.approx(sigma2)
    # the post's example: sigma^2 = 1, rho = 0.25, B = 10 gives 0.25 + 0.075 = 0.325
    assert e.averaged_variance(1.0, 0.25, 10) == pytest.approx(0.325, abs=5e-4)
    assert e.averaged_variance(1.0, 0.25, 10) - 0.25 == pytest.approx(0.075, abs=5e-4)


def test_bagging_reduces_variance_of_predictions():
    """Across 20 training sets, bagged deep trees vary much less at fixed test points than one tree."""
    X_test, _ = e.two_moons(50, noise=0.25, seed=999)
    single, bagged = [], []
    for seed in range(20):
        X, y = e.two_moons(100, noise=0.25, seed=seed)
        single.append(e.tree_predict(e.fit_tree(X, y, max_depth=8), X_test))
        bagged.append(e.bagging_predict(e.bagging_fit(X, y, 25, 8, seed=seed), X_test))
    var_single = np.var(single, axis=0).mean()
    var_bagged = np.var(bagged, axis=0).mean()
    assert var_bagged < 0.6 * var_single


def _tree_learner(depth):
    return (lambda X, y: e.fit_tree(X, y, depth), e.tree_predict)


def test_out_of_fold_prediction_never_sees_its_own_label():
    X, y = e.two_moons(60, noise=0.3, seed=5)
    fit, predict = _tree_learner(6)
    oof, fold = e.out_of_fold_predictions(X, y, fit, predict, n_folds=5, seed=0)
    for i in (0, 17, 42):
        y2 = y.copy()
        y2[i] = -y2[i]
        oof2, _ = e.out_of_fold_predictions(X, y2, fit, predict, n_folds=5, seed=0)
        assert oof2[i] == oof[i]                                     # its own label cannot leak in
        assert not np.array_equal(oof2[fold != fold[i]], oof[fold != fold[i]])  # but it is used elsewhere
    # each fold is predicted by a model refitted without it
    for k in range(5):
        held = fold == k
        assert np.array_equal(oof[held], predict(fit(X[~held], y[~held]), X[held]))


def test_stacking_in_sample_trusts_the_memoriser():
    """In-sample level-1 data make the meta-learner copy the tree that memorised the labels."""
    X, y = e.two_moons(120, noise=0.35, seed=7)
    learners = [_tree_learner(30),
                (lambda X, y: e.adaboost_fit(X, y, 30), e.adaboost_predict)]
    leaky = e.stacking_fit(X, y, learners, out_of_fold=False)
    honest = e.stacking_fit(X, y, learners, out_of_fold=True)
    assert leaky["beta"][1] == pytest.approx(1.0, abs=1e-4)          # all weight on the memoriser
    assert abs(leaky["beta"][2]) < 1e-4
    assert honest["beta"][1] < 0.6
    assert honest["beta"][2] > 0.05
    # and the honest stack has a much smaller squared error (the level-1 objective) on fresh data
    X_test, y_test = e.two_moons(2000, noise=0.35, seed=100)
    mse = {k: np.mean((y_test - e.stacking_predict(m, X_test)) ** 2)
           for k, m in (("leaky", leaky), ("honest", honest))}
    assert mse["honest"] < 0.8 * mse["leaky"]


def test_majority_vote_of_independent_classifiers():
    """21 independent classifiers with error 0.3: the vote errs with probability about 0.026."""
    assert e.majority_vote_error(0.3, 21) == pytest.approx(0.0264, abs=1e-4)
    assert e.majority_vote_error(0.3, 21) == pytest.approx(0.026, abs=5e-4)    # printed "约 0.026"
    assert e.majority_vote_error(0.3, 1) == pytest.approx(0.3)
    assert e.majority_vote_error(0.6, 21) > 0.6                      # worse than chance: voting hurts
    rng = np.random.default_rng(8)
    wrong = rng.random((200_000, 21)) < 0.3
    assert np.mean(wrong.sum(axis=1) > 10) == pytest.approx(e.majority_vote_error(0.3, 21), abs=2e-3)


def test_experiment_numbers_in_post():
    # AdaBoost on 200 two-moons points, 60 rounds
    X, y = e.two_moons(200, noise=0.25, seed=0)
    model = e.adaboost_fit(X, y, n_rounds=60)
    assert model["errors"][0] == pytest.approx(0.22)
    bound = e.adaboost_bound(model["errors"])
    assert bound[[0, 9, 59]] == pytest.approx([0.828, 0.432, 0.245], abs=5e-4)
    zero_one = [np.mean(np.sign(e.adaboost_predict(model, X, rounds=T)) != y) for T in (1, 10, 60)]
    assert zero_one == pytest.approx([0.22, 0.095, 0.06])
    # bagging: the variance across 20 training sets of test_bagging_reduces_variance_of_predictions
    X_test, _ = e.two_moons(50, noise=0.25, seed=999)
    single, bagged = [], []
    for seed in range(20):
        X, y = e.two_moons(100, noise=0.25, seed=seed)
        single.append(e.tree_predict(e.fit_tree(X, y, max_depth=8), X_test))
        bagged.append(e.bagging_predict(e.bagging_fit(X, y, 25, 8, seed=seed), X_test))
    var_single, var_bagged = np.var(single, axis=0).mean(), np.var(bagged, axis=0).mean()
    assert var_single == pytest.approx(0.219, abs=5e-4)
    assert var_bagged == pytest.approx(0.064, abs=5e-4)
    assert var_bagged < var_single / 3                               # "不到三分之一"
    # stacking: weights and fresh-data errors quoted in the post
    X, y = e.two_moons(120, noise=0.35, seed=7)
    learners = [_tree_learner(30), (lambda X, y: e.adaboost_fit(X, y, 30), e.adaboost_predict)]
    X_test, y_test = e.two_moons(2000, noise=0.35, seed=100)
    leaky = e.stacking_fit(X, y, learners, out_of_fold=False)
    honest = e.stacking_fit(X, y, learners)
    assert leaky["beta"] == pytest.approx([0, 1, 0], abs=0.5)       # printed beta = (0, 1, 0)
    assert honest["beta"][1:] == pytest.approx([0.223, 0.196], abs=5e-4)
    # 0.1595 is 319 of 2000 points: printed as 16.0%, exactly on the rounding boundary
    for m, mse, err in ((leaky, 0.638, 0.1595), (honest, 0.419, 0.138)):
        F = e.stacking_predict(m, X_test)
        assert np.mean((y_test - F) ** 2) == pytest.approx(mse, abs=5e-4)
        assert np.mean(np.sign(F) != y_test) == pytest.approx(err)
