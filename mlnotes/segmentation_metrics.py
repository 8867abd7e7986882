r"""Semantic segmentation metrics, all computed from one confusion matrix.

The confusion matrix :math:`n` has shape ``(K, K)``: :math:`n_{ij}` is the
number of pixels whose true class is :math:`i` and whose predicted class is
:math:`j` (rows = ground truth, columns = prediction).  With the row sums
:math:`t_i=\sum_j n_{ij}` (pixels of class :math:`i`), the column sums
:math:`p_j=\sum_i n_{ij}` (pixels predicted as :math:`j`) and the total
:math:`N=\sum_i t_i`, the metrics of Long, Shelhamer & Darrell (2015) are

* pixel accuracy :math:`\mathrm{PA}=\sum_i n_{ii}/N`,
* class pixel accuracy :math:`n_{ii}/t_i` and its mean (MPA),
* intersection over union :math:`\mathrm{IoU}_i=n_{ii}/(t_i+p_i-n_{ii})` and its mean (MIoU),
* frequency weighted IoU :math:`\mathrm{FWIoU}=\sum_i (t_i/N)\,\mathrm{IoU}_i`.

A class that never occurs (neither in the ground truth nor in the prediction)
has an undefined ratio :math:`0/0`; it is reported as NaN and left out of the
means.  Pixels labelled ``ignore_index`` (255 in PASCAL VOC and Cityscapes) do
not enter the matrix at all.

Explained in the post ``posts/segmentation-metrics``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "confusion_matrix",
    "pixel_accuracy",
    "class_pixel_accuracy",
    "mean_pixel_accuracy",
    "class_iou",
    "mean_iou",
    "frequency_weighted_iou",
    "segmentation_report",
]


def confusion_matrix(target: np.ndarray, pred: np.ndarray, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    r"""Confusion matrix :math:`n_{ij}=\#\{\text{pixels}: y=i,\ \hat y=j\}` via one ``np.bincount``.

    Each kept pixel is mapped to the flat index :math:`K\,y+\hat y` of a
    :math:`K\times K` table; counting these indices fills the table at once.
    Pixels whose target equals ``ignore_index`` are dropped before counting.

    Parameters
    ----------
    target, pred : integer arrays of the same shape (any shape, e.g. ``(B, H, W)``)
        Ground-truth and predicted class indices.
    num_classes : int
        :math:`K`; valid labels are ``0 .. K-1``.
    ignore_index : int
        Target value of pixels that do not count.

    Returns
    -------
    ndarray of int64, shape ``(K, K)``
        Rows are true classes, columns predicted classes.

    Examples
    --------
    >>> confusion_matrix(np.array([0, 0, 1, 255]), np.array([0, 1, 1, 0]), 2)
    array([[1, 1],
           [0, 1]])
    """
    target = np.asarray(target).ravel()                 # (P,)
    pred = np.asarray(pred).ravel()                     # (P,)
    keep = target != ignore_index
    target, pred = target[keep].astype(np.int64), pred[keep].astype(np.int64)
    if target.size and (target.min() < 0 or target.max() >= num_classes
                        or pred.min() < 0 or pred.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1} (or be {ignore_index} in target)")
    flat = num_classes * target + pred                  # (P',) index into the K*K table
    counts = np.bincount(flat, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)     # (K, K)


def pixel_accuracy(cm: np.ndarray) -> float:
    r"""Pixel accuracy :math:`\mathrm{PA}=\sum_i n_{ii}\,/\sum_{i,j} n_{ij}` (trace over total).

    Examples
    --------
    >>> pixel_accuracy(np.array([[3, 1], [0, 4]]))
    0.875
    """
    cm = np.asarray(cm, dtype=float)
    total = cm.sum()
    return float(np.trace(cm) / total) if total > 0 else float("nan")


def class_pixel_accuracy(cm: np.ndarray) -> np.ndarray:
    r"""Per-class pixel accuracy (recall) :math:`n_{ii}/t_i`, NaN where :math:`t_i=0`.

    Examples
    --------
    >>> class_pixel_accuracy(np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))
    array([0.75, 1.  ,  nan])
    """
    cm = np.asarray(cm, dtype=float)
    t = cm.sum(axis=1)                                  # (K,) true pixels per class
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, np.diag(cm) / t, np.nan)


def mean_pixel_accuracy(cm: np.ndarray) -> float:
    r"""MPA: the mean of :func:`class_pixel_accuracy` over the classes present in the ground truth.

    .. math:: \mathrm{MPA}=\frac1{K'}\sum_{i:\,t_i>0}\frac{n_{ii}}{t_i}

    Examples
    --------
    >>> mean_pixel_accuracy(np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))
    0.875
    """
    acc = class_pixel_accuracy(cm)
    return float(np.nanmean(acc)) if np.any(~np.isnan(acc)) else float("nan")


def class_iou(cm: np.ndarray) -> np.ndarray:
    r"""Per-class intersection over union :math:`n_{ii}/(t_i+p_i-n_{ii})`.

    The intersection is the diagonal entry; the union is row sum plus column
    sum minus the diagonal (counted twice).  NaN where the union is empty.

    Examples
    --------
    >>> class_iou(np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))
    array([0.75, 0.8 ,  nan])
    """
    cm = np.asarray(cm, dtype=float)
    inter = np.diag(cm)                                 # (K,)
    union = cm.sum(axis=1) + cm.sum(axis=0) - inter     # (K,) t_i + p_i - n_ii
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def mean_iou(cm: np.ndarray) -> float:
    r"""MIoU: the mean of :func:`class_iou` over the classes whose IoU is defined.

    Examples
    --------
    >>> round(mean_iou(np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]])), 3)
    0.775
    """
    iou = class_iou(cm)
    return float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else float("nan")


def frequency_weighted_iou(cm: np.ndarray) -> float:
    r"""FWIoU: IoU weighted by the class frequency in the ground truth.

    .. math:: \mathrm{FWIoU}=\sum_i\frac{t_i}{N}\,\frac{n_{ii}}{t_i+p_i-n_{ii}}

    Classes with :math:`t_i=0` get weight zero (their IoU is 0 or NaN and is skipped).

    Examples
    --------
    >>> round(frequency_weighted_iou(np.array([[3, 1], [0, 4]])), 4)
    0.775
    """
    cm = np.asarray(cm, dtype=float)
    t = cm.sum(axis=1)                                  # (K,)
    present = t > 0
    if not np.any(present):
        return float("nan")
    iou = class_iou(cm)
    return float(np.sum(t[present] * iou[present]) / t.sum())


def segmentation_report(cm: np.ndarray) -> dict[str, float]:
    """The four summary numbers of one confusion matrix.

    Examples
    --------
    >>> sorted(segmentation_report(np.eye(2, dtype=int)).items())
    [('FWIoU', 1.0), ('MIoU', 1.0), ('MPA', 1.0), ('PA', 1.0)]
    """
    return {"PA": pixel_accuracy(cm), "MPA": mean_pixel_accuracy(cm),
            "MIoU": mean_iou(cm), "FWIoU": frequency_weighted_iou(cm)}
