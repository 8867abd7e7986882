"""mlnotes.segmentation_metrics against a naive per-pixel loop and the worked examples of
posts/segmentation-metrics.md."""

import numpy as np
import pytest

from mlnotes import segmentation_metrics as S

# The 4x4 worked example of the post; 255 marks the one ignored pixel.
TARGET = np.array([[0, 0, 0, 0],
                   [0, 0, 1, 1],
                   [0, 0, 1, 1],
                   [2, 2, 255, 1]])
PRED = np.array([[0, 0, 0, 0],
                 [0, 0, 0, 1],
                 [0, 1, 1, 1],
                 [2, 0, 1, 1]])


def naive_confusion(target, pred, k, ignore=255):
    cm = np.zeros((k, k), dtype=np.int64)
    for y, yhat in zip(np.ravel(target), np.ravel(pred), strict=True):
        if y != ignore:
            cm[y, yhat] += 1
    return cm


def naive_metrics(target, pred, k, ignore=255):
    """Every metric straight from its set definition, one class at a time."""
    t, p = np.ravel(target), np.ravel(pred)
    keep = t != ignore
    t, p = t[keep], p[keep]
    acc, iou, weights = [], [], []
    for c in range(k):
        gt, pr = t == c, p == c
        acc.append(np.nan if gt.sum() == 0 else (gt & pr).sum() / gt.sum())
        union = (gt | pr).sum()
        iou.append(np.nan if union == 0 else (gt & pr).sum() / union)
        weights.append(gt.sum() / t.size)
    fw = sum(w * i for w, i in zip(weights, iou, strict=True) if w > 0)
    return dict(PA=(t == p).mean(), MPA=np.nanmean(acc), MIoU=np.nanmean(iou), FWIoU=fw), acc, iou


@pytest.mark.parametrize("seed", range(5))
def test_against_naive_loop_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    k = 6
    target = rng.integers(0, k, size=(2, 17, 13))
    pred = np.where(rng.random(target.shape) < 0.6, target, rng.integers(0, k, size=target.shape))
    target[rng.random(target.shape) < 0.1] = 255          # some ignored pixels
    target[target == 5] = 0                                # class 5 never in the ground truth ...
    if seed % 2:
        pred[pred == 5] = 1                                # ... and, for odd seeds, never predicted either
    cm = S.confusion_matrix(target, pred, k)
    assert np.array_equal(cm, naive_confusion(target, pred, k))
    expected, acc, iou = naive_metrics(target, pred, k)
    assert np.allclose(S.class_pixel_accuracy(cm), acc, equal_nan=True)
    assert np.allclose(S.class_iou(cm), iou, equal_nan=True)
    for name, value in S.segmentation_report(cm).items():
        assert value == pytest.approx(expected[name], rel=1e-12), name


def test_worked_example_numbers():
    cm = S.confusion_matrix(TARGET, PRED, 3)
    assert cm.tolist() == [[7, 1, 0], [1, 4, 0], [1, 0, 1]]
    assert cm.sum() == 15                                  # 16 pixels, one ignored
    assert np.allclose(S.class_pixel_accuracy(cm), [7 / 8, 4 / 5, 1 / 2])
    assert np.allclose(S.class_iou(cm), [7 / 10, 4 / 6, 1 / 2])
    # as printed: t = (8, 5, 2), p = (9, 5, 1), IoU_1 ≈ 0.6667, sum_i t_i IoU_i ≈ 9.9333
    assert cm.sum(axis=1).tolist() == [8, 5, 2] and cm.sum(axis=0).tolist() == [9, 5, 1]
    assert S.class_iou(cm)[1] == pytest.approx(0.6667, abs=5e-5)
    assert S.class_pixel_accuracy(cm).sum() == pytest.approx(2.175)
    assert (cm.sum(axis=1) * S.class_iou(cm)).sum() == pytest.approx(9.9333, abs=5e-5)
    r = S.segmentation_report(cm)
    assert r["PA"] == pytest.approx(0.8)
    assert r["MPA"] == pytest.approx(0.725)
    assert r["MIoU"] == pytest.approx(0.6222, abs=5e-5)
    assert r["FWIoU"] == pytest.approx(0.6622, abs=5e-5)
    assert (r["FWIoU"], r["MIoU"]) == pytest.approx((0.662, 0.622), abs=5e-4)


def test_absent_class_is_nan_and_skipped():
    cm4 = S.confusion_matrix(TARGET, PRED, 4)              # a 4th class that occurs nowhere
    assert np.isnan(S.class_iou(cm4)[3]) and np.isnan(S.class_pixel_accuracy(cm4)[3])
    cm3 = S.confusion_matrix(TARGET, PRED, 3)
    assert S.segmentation_report(cm4) == pytest.approx(S.segmentation_report(cm3))


def test_predicted_but_absent_class_counts_as_zero():
    """A false positive of a class missing from the ground truth: IoU 0 (pulls MIoU down), accuracy NaN."""
    cm = S.confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1]), 3)
    assert np.isnan(S.class_pixel_accuracy(cm)[2])
    assert S.class_iou(cm)[2] == 0.0
    assert S.mean_iou(cm) == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_ignore_index_changes_nothing_but_the_count():
    cm = S.confusion_matrix(TARGET, PRED, 3)
    flipped = PRED.copy()
    flipped[3, 2] = 2                                      # change the prediction under the ignored pixel
    assert np.array_equal(S.confusion_matrix(TARGET, flipped, 3), cm)


def test_imbalance_pa_vs_miou():
    """Predicting 'background' everywhere: PA = 0.95 looks fine, MIoU = 0.475 does not."""
    cm = np.array([[95, 0], [5, 0]])
    assert S.pixel_accuracy(cm) == pytest.approx(0.95)
    assert S.mean_iou(cm) == pytest.approx(0.475)
    # the figure's alt text: at r = 0 MPA is 0.5; at r = 1 every metric is 1
    assert S.mean_pixel_accuracy(cm) == pytest.approx(0.5)
    assert S.segmentation_report(np.array([[95.0, 0.0], [0.0, 5.0]])) == pytest.approx(
        dict(PA=1.0, MPA=1.0, MIoU=1.0, FWIoU=1.0))


def test_bad_labels_raise():
    with pytest.raises(ValueError):
        S.confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


def test_sum_matrices_before_averaging():
    """The two-image example of the post: per-image MIoU averages 0.7198, the summed matrix gives 0.9039."""
    a = np.array([[90, 0], [1, 9]])
    b = np.array([[99, 1], [0, 0]])
    assert S.mean_iou(a) == pytest.approx(0.9445, abs=5e-5)
    assert S.class_iou(b).tolist() == pytest.approx([0.99, 0.0])
    assert S.mean_iou(b) == pytest.approx(0.495)
    per_image = (S.mean_iou(a) + S.mean_iou(b)) / 2
    assert per_image == pytest.approx(0.7198, abs=5e-5)
    assert 0.2 < S.mean_iou(a) - per_image < 0.3                # "掉了两成多"
    assert S.class_iou(a + b)[1] == pytest.approx(9 / 11)
    assert S.mean_iou(a + b) == pytest.approx(0.9039, abs=5e-5)
