"""Salient-object metrics (evaluation/saliency.py): known answers and bad input."""

import numpy as np
import pytest

from tf_cbam_style.evaluation import saliency as sal


def _mask(h=8, w=10):
    m = np.zeros((h, w), np.float32)
    m[2:6, 3:7] = 1.0  # 16 of 80 pixels
    return m


def _auc_by_pairs(s, g):
    q = np.round(np.asarray(s, np.float64) * 255)
    pos, neg = q[g > 0.5], q[g <= 0.5]
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return greater + 0.5 * ties


def test_perfect_map():
    g = _mask()
    assert sal.mean_absolute_error(g, g) == 0.0
    assert sal.max_f_measure(g, g) == 1.0
    assert sal.roc_auc(g, g) == 1.0
    assert sal.iou(g, g) == 1.0


def test_inverted_map():
    g = _mask()
    s = 1.0 - g
    assert sal.mean_absolute_error(s, g) == 1.0
    assert sal.max_f_measure(s, g) == 0.0
    assert sal.roc_auc(s, g) == 0.0
    assert sal.iou(s, g) == 0.0


def test_constant_maps():
    g = _mask()  # object fraction 0.2
    for value in (0.0, 0.4, 1.0):
        s = np.full_like(g, value)
        assert sal.mean_absolute_error(s, g) == pytest.approx(0.2 * (1 - value) + 0.8 * value)
        assert sal.roc_auc(s, g) == pytest.approx(0.5)
    # Constant 1 is "everything is the object": P = 0.2, R = 1.
    assert sal.max_f_measure(np.ones_like(g), g) == pytest.approx(1.3 * 0.2 / (0.3 * 0.2 + 1.0))
    # Constant 0 is below every threshold k >= 1: nothing predicted.
    assert sal.max_f_measure(np.zeros_like(g), g) == 0.0


def test_hand_computed_small_case():
    g = np.array([[1, 1, 0, 0]], np.float32)
    s = np.array([[1.0, 0.5, 0.5, 0.0]], np.float32)  # q = 255, 128, 128, 0
    assert sal.mean_absolute_error(s, g) == pytest.approx((0 + 0.5 + 0.5 + 0) / 4)
    p, r = sal.precision_recall_curve(s, g)
    assert p.shape == r.shape == (255,)
    # k = 1..128: {0, 1, 2} predicted -> P = 2/3, R = 1; k = 129..255: {0} -> P = 1, R = 1/2.
    np.testing.assert_allclose(p[:128], 2 / 3)
    np.testing.assert_allclose(r[:128], 1.0)
    np.testing.assert_allclose(p[128:], 1.0)
    np.testing.assert_allclose(r[128:], 0.5)
    f_low = 1.3 * (2 / 3) / (0.3 * 2 / 3 + 1)
    f_high = 1.3 * 0.5 / (0.3 + 0.5)
    assert sal.max_f_measure(s, g) == pytest.approx(max(f_low, f_high))
    # ROC (FPR, TPR): (0, 0) -> (0, 1/2) -> (1/2, 1) -> (1, 1): area 3/8 + 1/2; by pairs:
    # object 1 beats both background pixels, object .5 ties one and beats one: 3.5 / 4.
    assert sal.roc_auc(s, g) == pytest.approx(0.875)
    assert sal.iou(s, g) == pytest.approx(2 / 3)  # matte >= 0.5 is {0, 1, 2}


def test_auc_equals_mann_whitney(rng):
    g = (rng.uniform(size=(12, 9)) > 0.6).astype(np.float32)
    s = np.clip(0.3 * g + rng.uniform(size=g.shape) * 0.7, 0, 1)
    assert sal.roc_auc(s, g) == pytest.approx(_auc_by_pairs(s, g), abs=1e-12)


def test_f_measure_matches_direct_thresholding(rng):
    g = (rng.uniform(size=(7, 11)) > 0.5).astype(np.float32)
    s = rng.uniform(size=g.shape).astype(np.float32)
    curve = sal.f_measure_curve(s, g)
    q = np.round(s * 255)
    for k in (1, 50, 128, 200, 255):
        b = q >= k
        tp = (b & (g > 0.5)).sum()
        precision = tp / b.sum() if b.sum() else 0.0
        recall = tp / (g > 0.5).sum()
        expected = 0.0 if precision + recall == 0 else 1.3 * precision * recall / (0.3 * precision + recall)
        assert curve[k - 1] == pytest.approx(expected)


def test_uint8_inputs_follow_the_array_rule():
    g = (_mask() * 255).astype(np.uint8)
    assert sal.max_f_measure(g, g) == 1.0
    assert sal.mean_absolute_error(np.zeros_like(g), g) == pytest.approx(0.2)


def test_iou_known_answers():
    a = np.zeros((4, 4), np.float32)
    b = np.zeros((4, 4), np.float32)
    assert sal.iou(a, b) == 1.0  # both empty
    a[0, :2] = 1.0
    b[0, 1:3] = 1.0
    assert sal.iou(a, b) == pytest.approx(1 / 3)
    a[0, 2] = 0.49  # below the threshold
    assert sal.iou(a, b) == pytest.approx(1 / 3)
    assert sal.iou(a, b, threshold=0.4) == pytest.approx(2 / 3)


def test_accumulator_averages_f_curves_before_the_max():
    g1 = np.array([[1, 0]], np.float32)
    g2 = np.array([[0, 1]], np.float32)
    s = np.array([[0.8, 0.2]], np.float32)  # perfect for g1, inverted for g2
    acc = sal.SaliencyAccumulator()
    assert acc.add(s, g1) == pytest.approx((0.2, 1.0, 1.0))
    low = 1.3 * 0.5 / (0.3 * 0.5 + 1.0)  # both pixels predicted: P = 1/2, R = 1
    assert acc.add(s, g2) == pytest.approx((0.8, low, 0.0))
    scores = acc.result()
    assert scores.count == 2
    assert scores.mae == pytest.approx(0.5)
    assert scores.auc == pytest.approx(0.5)
    # k <= 51 (q >= k holds both pixels): each image P = 1/2, R = 1 -> F = 0.65/1.15;
    # that beats the mean of the curves at higher k, (1 + 0) / 2 = 0.5.
    assert scores.max_f == pytest.approx(low)
    assert scores.mean_max_f == pytest.approx((1.0 + low) / 2)  # each image at its own threshold


def test_min_max_normalize():
    out = sal.min_max_normalize(np.array([[2.0, 4.0], [3.0, 6.0]]))
    np.testing.assert_allclose(out, [[0.0, 0.5], [0.25, 1.0]])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(sal.min_max_normalize(np.full((3, 3, 1), 7.0)), np.zeros((3, 3)))


@pytest.mark.parametrize("call", [
    lambda: sal.mean_absolute_error(np.zeros((4, 4)), np.zeros((4, 5))),
    lambda: sal.max_f_measure(np.zeros((4, 4)), np.zeros((4, 4))),   # no object
    lambda: sal.roc_auc(np.zeros((4, 4)), np.ones((4, 4))),          # no background
    lambda: sal.mean_absolute_error(np.full((4, 4), 2.0), np.zeros((4, 4))),  # out of range
    lambda: sal.roc_auc(np.full((4, 4), np.nan), np.eye(4)),
    lambda: sal.iou(np.eye(4), np.eye(4), threshold=0.0),
    lambda: sal.iou(np.eye(4), np.eye(3)),
    lambda: sal.f_measure_curve(np.eye(4), np.eye(4), beta_squared=0.0),
    lambda: sal.min_max_normalize(np.zeros((2, 2, 2))),
    lambda: sal.SaliencyAccumulator().result(),
])
def test_bad_input(call):
    with pytest.raises(ValueError, match="Received"):
        call()
